//! jjj-node: the chain node and the `jjj` CLI.
//!
//! - [`consensus`]: PBFT as a pure state machine (`Core::handle(input) -> effects`), no IO.
//! - [`chain`]: one network's driver: carries out the core's effects with the runtime, the
//!   store and the transport; mempool admission; catch-up.
//! - [`net`]: authenticated, encrypted p2p (Noise XX bound to the genesis node keys).
//! - [`store`]: the ledger: RocksDB per network, or memory for tests.
//! - [`mempool`], [`rpc`], [`metrics`], [`wire`], [`genesis`], [`config`], [`service`].
pub mod bench;
pub mod chain;
pub mod cli;
pub mod client;
pub mod codec;
pub mod config;
pub mod consensus;
pub mod genesis;
pub mod mempool;
pub mod metrics;
pub mod net;
pub mod rpc;
pub mod service;
pub mod store;
pub mod wire;
