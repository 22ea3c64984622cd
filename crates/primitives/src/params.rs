//! Protocol parameters: every limit that is a consensus rule or that several crates must agree
//! on, named once. The engine's own limits (memory pages, stack, table sizes) live in
//! `jjj_vm::limits`; the ABI's (key, value, event sizes) in `jjj_abi::limits`.

/// Largest wasm module a transaction may upload.
pub const MAX_CODE_SIZE: usize = 256 * 1024;
/// Largest encoded signed transaction: an upload of the largest code plus room for the rest.
pub const MAX_TX_SIZE: usize = MAX_CODE_SIZE + 4096;
/// Most gas one transaction may ask for.
pub const MAX_TX_GAS: u64 = 200_000_000;
/// Most members of a multisig account.
pub const MAX_MULTISIG_MEMBERS: usize = 16;
/// Most validators in one set (a governance change may not name more).
pub const MAX_VALIDATORS: usize = 64;
/// A validator set change takes effect at least this many heights after the block that
/// executes it: every validator has then committed (and learned) it before the first height
/// the new set decides.
pub const VALIDATOR_CHANGE_DELAY: u64 = 2;
/// How far ahead of a validator's clock a block's timestamp may be.
pub const MAX_CLOCK_DRIFT_MS: u64 = 10_000;
/// Most transactions in a block, unless the genesis says otherwise.
pub const DEFAULT_MAX_BLOCK_TXS: usize = 5_000;
/// Most bytes of transactions in a block, unless the genesis says otherwise.
pub const DEFAULT_MAX_BLOCK_BYTES: usize = 4 * 1024 * 1024;
/// Largest message between peers (a block with its certificate must fit).
pub const MAX_PEER_MESSAGE: usize = 16 * 1024 * 1024;
/// Most gas the transactions of one block may use together, unless the genesis says otherwise.
/// A block's execution must end well inside the consensus view timeout (2 s by default): gas is
/// priced so that no operation costs more than about 1 ns per gas (`cargo bench -p jjj-vm
/// --bench gas`), so this many gas is at most about 0.4 s; `MAX_BLOCK_GAS_LIMIT` about 0.8 s.
pub const DEFAULT_BLOCK_GAS_LIMIT: u64 = 2 * MAX_TX_GAS;
/// Largest block gas limit a genesis may set (and at least `MAX_TX_GAS`, so every admissible
/// transaction fits in some block).
pub const MAX_BLOCK_GAS_LIMIT: u64 = 4 * MAX_TX_GAS;
/// Room a block message needs beyond its transactions' bytes: header, commit certificate
/// (a signature and key per validator), wire and SCALE framing. A genesis's `max_block_bytes`
/// plus this must fit in `MAX_PEER_MESSAGE`.
pub const BLOCK_MESSAGE_OVERHEAD: usize = 1024 * 1024;
/// How far a signed read request's time may be from the node's clock, either way: older is
/// refused as stale; the node remembers each reader's nonces for twice this long.
pub const READ_REQUEST_WINDOW_MS: u64 = 30_000;
/// Most read-request nonces a node remembers per network (about 80 bytes each): past it, signed
/// reads are answered `Busy` until the oldest expire.
pub const MAX_REMEMBERED_READS: usize = 100_000;
