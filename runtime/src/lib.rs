//! jjj-runtime: the deterministic state transition of a jjj network.
//!
//! - [`types`]: transactions, receipts, blocks (SCALE).
//! - [`state`]: key-value state with nested checkpoints and a sparse-Merkle commitment.
//! - [`sandbox`]: the wasmtime sandbox: engine config, validation, gas, host functions.
//! - [`execute`]: `apply_transaction`, `build_block`, `apply_block`, `dry_run`.
//! - [`testkit`]: an in-memory chain for contract tests against real wasm.
//!
//! Nothing here knows about networking, RocksDB or clocks: the node feeds blocks and state in.
pub mod crypto;
pub mod execute;
pub mod sandbox;
pub mod state;
pub mod testkit;
pub mod types;

pub use execute::{
    contract_address, genesis_changes, multisig_address, BlockError, BlockExecution, BlockTemplate, DryRun, Runtime,
    TxError,
};
