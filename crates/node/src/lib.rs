//! jjj-node: the chain node.
//!
//! - [`access_log`]: this node's hash-chained log of protected reads, and read-request nonces.
//! - [`chain`]: one network's driver: carries out the consensus core's effects with the state
//!   transition, the store and the p2p transport; mempool admission; catch-up.
//! - [`mempool`]: per-network pool of admitted transactions.
//! - [`compact`]: proposals sent as transaction hashes, rebuilt from the mempool.
//! - [`wire`]: the messages peers exchange, tagged with their network.
//! - [`rpc`]: the JSON-RPC server (the interface is `jjj_rpc_api`'s).
//! - [`metrics`], [`service`]: Prometheus metrics, and starting everything from a config.
//! - [`web`]: the web pages, served on the RPC port beside JSON-RPC.
pub mod access_log;
pub mod chain;
pub mod compact;
pub mod gov_views;
pub mod mempool;
pub mod metrics;
pub mod rpc;
pub mod service;
pub mod web;
pub mod wire;
