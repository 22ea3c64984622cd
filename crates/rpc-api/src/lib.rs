//! jjj-rpc-api: the JSON-RPC interface of a jjj node, shared by the server (`jjj-node`), the CLI
//! and the tests.
//!
//! - [`NodeApi`]: every method and subscription, declared once as a jsonrpsee `#[rpc]` trait. The
//!   macro generates `NodeApiClient` (typed calls over any jsonrpsee client) and, with the feature
//!   `server` (which only the node enables), `NodeApiServer`, which the node implements.
//! - The responses as types (`HeaderJson`, `ReceiptJson`, `BlockJson`…) and the one [`ErrorCode`]
//!   enum every error carries.
//! - [`Rpc`]: the HTTP client the CLI and tests hold.
//!
//! Parameters are accepted by name (a JSON object) or by position (an array, in declaration
//! order); optional ones may be left out. Bytes are 0x-hex; transactions and raw blocks are SCALE.
// Input from outside the process must never panic this crate: no unwrap/expect/panic! outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
mod api;
pub mod client;

pub use api::*;
pub use client::{ws_url, Rpc, WsRpc};

use jjj_primitives::access::{AccessDecision, AccessEntry};
use jjj_primitives::params::MAX_TX_SIZE;
use jjj_primitives::{Event, Hash, HashAlgo, Header, Receipt, ReceiptStatus};
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned};
use parity_scale_codec::Encode;
use serde::{Deserialize, Serialize};

/// Every error code a node answers with, in one place. Clients match on these numbers; they
/// never change meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrorCode {
    /// The request is not JSON (JSON-RPC's own code).
    ParseError = -32700,
    /// Unknown method (JSON-RPC's own code).
    MethodNotFound = -32601,
    /// The parameters do not fit the method (JSON-RPC's own code).
    InvalidParams = -32602,
    /// The transaction is refused for a reason without a code of its own.
    TxRefused = 1000,
    BadSignature = 1001,
    WrongNetwork = 1002,
    /// Stale, duplicate or too-far nonce.
    BadNonce = 1003,
    TooLarge = 1004,
    /// Gas limit above the maximum or below the transaction's intrinsic cost.
    GasLimitOutOfRange = 1005,
    DuplicateTransaction = 1006,
    UnknownSender = 1007,
    /// The mempool, or the sender's share of it, is full.
    MempoolFull = 1008,
    /// The sender is suspended by its member, frozen by governance, or its member is suspended.
    AccountBlocked = 1009,
    UnknownNetwork = 2001,
    /// Bad hex, bad SCALE, a malformed account or hash.
    BadEncoding = 2003,
    /// Execution was aborted by the node (a resource limit); it says nothing about the call.
    ExecutionAborted = 2004,
    Storage = 2005,
    /// Waiting for finality timed out.
    Timeout = 2006,
    /// The node is running as many RPC calls of this kind as it allows; retry shortly.
    Busy = 2007,
    /// A subscriber fell behind and missed items: the notice says where to resubscribe from.
    Lagged = 2008,
    /// A signed read request was refused: its signature, its time or its nonce (the message
    /// says which); the refusal is in the access log.
    ReadRefused = 2009,
}

impl ErrorCode {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The JSON-RPC error object with this code.
    pub fn error(self, message: impl Into<String>) -> ErrorObjectOwned {
        ErrorObject::owned(self.code(), message.into(), None::<()>)
    }
}

/// Longest a `tx_receipt` call may wait for finality.
pub const MAX_RECEIPT_WAIT_MS: u64 = 60_000;
/// Largest request body: a maximal transaction as hex, plus room.
pub const MAX_REQUEST_BYTES: u32 = (MAX_TX_SIZE as u32) * 2 + 64 * 1024;
/// Most transactions one `tx_submitBatch` takes (together they also fit in
/// [`MAX_REQUEST_BYTES`]): 2,000 bill payments are about 1 MB of hex.
pub const MAX_SUBMIT_BATCH: usize = 2_000;

pub fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

/// Bytes from `0x`-hex (the prefix is optional).
pub fn unhex(s: &str) -> Result<Vec<u8>, hex::FromHexError> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s))
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HeaderJson {
    pub network: String,
    pub height: u64,
    pub hash: String,
    pub parent_hash: String,
    pub timestamp: u64,
    pub proposer: String,
    pub tx_root: String,
    pub receipts_root: String,
    pub state_root: String,
}

impl HeaderJson {
    /// The header as JSON, with its hash by the network's hash function.
    pub fn new(h: &Header, algo: jjj_primitives::HashAlgo) -> Self {
        HeaderJson {
            network: h.network.to_string(),
            height: h.height,
            hash: h.hash(algo).to_string(),
            parent_hash: h.parent_hash.to_string(),
            timestamp: h.timestamp,
            proposer: h.proposer.to_string(),
            tx_root: h.tx_root.to_string(),
            receipts_root: h.receipts_root.to_string(),
            state_root: h.state_root.to_string(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventJson {
    pub height: u64,
    pub tx_index: u32,
    pub tx_hash: String,
    pub contract: String,
    pub topics: Vec<String>,
    pub data: String,
}

impl EventJson {
    pub fn new(height: u64, tx_index: u32, tx_hash: &Hash, event: &Event) -> Self {
        EventJson {
            height,
            tx_index,
            tx_hash: tx_hash.to_string(),
            contract: event.contract.to_string(),
            topics: event.topics.iter().map(|t| t.to_string()).collect(),
            data: hex0x(&event.data),
        }
    }
}

/// `state_getProof`: a state key's value (or absence) at a height in a certified block. The
/// format `jjj state proof --out` saves and `jjj audit verify-receipt` reads.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StateProofJson {
    pub network: String,
    pub height: u64,
    /// The raw state key, 0x-hex.
    pub key: String,
    /// Its value at `height`, 0x-hex; null: the key is absent (the proof shows it).
    pub value: Option<String>,
    /// The tree branch (`jjj_state::verify_proof`'s encoding), 0x-hex.
    pub proof: String,
    /// The block header of `height` (`Header`), 0x-hex.
    pub header: String,
    /// Its `CommitCertificate`, 0x-hex; null for the genesis header (checked by its hash).
    pub certificate: Option<String>,
}

/// `light_getHeader`: a certified header and the validator schedule it commits to, 0x-hex SCALE.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LightHeaderJson {
    pub height: u64,
    /// `Header`.
    pub header: String,
    /// `CommitCertificate`; null for genesis.
    pub certificate: Option<String>,
    /// The validator schedule (`Vec<(u64, Vec<AccountId>)>`) in the state of this height; null
    /// when none was ever scheduled.
    pub schedule: Option<String>,
    /// Its proof against the header's state root.
    pub schedule_proof: String,
}

/// `tx_getProof`: a transaction and its receipt in a certified block, everything SCALE-encoded
/// as the chain hashes it, 0x-hex. The format `jjj audit receipt --out` saves and `jjj audit
/// verify-receipt` reads.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TxProofJson {
    pub network: String,
    pub height: u64,
    /// The block header (`Header`).
    pub header: String,
    /// The block's `CommitCertificate`.
    pub certificate: String,
    /// The `SignedTransaction`.
    pub transaction: String,
    /// The `Receipt`.
    pub receipt: String,
    /// The transaction's position in the block and the block's transaction count (its receipt
    /// has the same).
    pub index: u32,
    pub count: u32,
    /// Sibling hashes from the transaction's leaf up to `tx_root` (`jjj_primitives::MerkleProof`).
    pub tx_siblings: Vec<String>,
    /// Sibling hashes from the receipt's leaf up to `receipts_root`.
    pub receipt_siblings: Vec<String>,
}

/// `audit_accessLog`: a page of one node's access log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessLogJson {
    pub network: String,
    /// The node that keeps the log (its key).
    pub node: String,
    /// How many entries the log holds, and the hash of its last (zero when empty).
    pub length: u64,
    pub head: String,
    /// What the finalised state holds of this log: the entry its node last anchored on chain
    /// (`Call::AnchorAccessLog`), or null before the first anchor.
    pub anchor: Option<AccessAnchorJson>,
    pub entries: Vec<AccessEntryJson>,
}

/// An access-log anchor on chain: entry `seq` hashes to `head`, committed at `height`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessAnchorJson {
    pub seq: u64,
    pub head: String,
    pub height: u64,
}

/// One access-log entry (`jjj_primitives::access::AccessEntry`), readable, with the SCALE bytes
/// (`raw`) its `hash` is taken over.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessEntryJson {
    pub seq: u64,
    pub prev: String,
    pub hash: String,
    pub time_ms: u64,
    pub height: u64,
    pub reader: Option<String>,
    pub signed: bool,
    pub contract: String,
    /// The message's selector, 0x-hex.
    pub selector: String,
    /// "allowed", "denied" (by the contract's read policy) or "refused" (before it ran).
    pub decision: String,
    pub reason: Option<String>,
    pub raw: String,
}

impl AccessEntryJson {
    pub fn new(e: &AccessEntry, algo: HashAlgo) -> AccessEntryJson {
        let r = &e.read;
        let (decision, reason) = match &r.decision {
            AccessDecision::Allowed => ("allowed", None),
            AccessDecision::Denied(m) => ("denied", Some(m.clone())),
            AccessDecision::Refused(m) => ("refused", Some(m.clone())),
        };
        AccessEntryJson {
            seq: e.seq,
            prev: e.prev.to_string(),
            hash: e.hash(algo).to_string(),
            time_ms: r.time_ms,
            height: r.height,
            reader: r.reader.map(|a| a.to_string()),
            signed: r.signed,
            contract: r.contract.to_string(),
            selector: hex0x(&r.selector),
            decision: decision.into(),
            reason,
            raw: hex0x(&e.encode()),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReceiptJson {
    pub tx_hash: String,
    pub height: Option<u64>,
    pub index: Option<u32>,
    /// "success", "reverted" or "failed".
    pub status: String,
    pub reason: Option<String>,
    pub gas_used: u64,
    pub output: String,
    pub events: Vec<EventJson>,
    /// Debug messages (dry runs only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub debug: Vec<String>,
}

impl ReceiptJson {
    pub fn new(r: &Receipt, height: Option<u64>, index: Option<u32>) -> Self {
        let (status, reason) = match &r.status {
            ReceiptStatus::Success => ("success", None),
            ReceiptStatus::Reverted(m) => ("reverted", Some(m.clone())),
            ReceiptStatus::Failed(m) => ("failed", Some(m.clone())),
        };
        let events =
            r.events.iter().map(|e| EventJson::new(height.unwrap_or(0), index.unwrap_or(0), &r.tx_hash, e)).collect();
        ReceiptJson {
            tx_hash: r.tx_hash.to_string(),
            height,
            index,
            status: status.into(),
            reason,
            gas_used: r.gas_used,
            output: hex0x(&r.output),
            events,
            debug: vec![],
        }
    }
}

/// The last notification of a subscription whose subscriber fell behind (the node keeps a
/// bounded backlog per subscription): items were missed, the subscription ends, and the
/// subscriber resubscribes and fills the gap from `resubscribe_from` (for events with
/// `contract_events`, for heads with `chain_getBlock`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LaggedJson {
    /// Always `ErrorCode::Lagged` (2008).
    pub code: i32,
    pub message: String,
    /// How many items were dropped.
    pub missed: u64,
    /// The first height whose items this subscriber may not have received.
    pub resubscribe_from: u64,
}

/// A transaction as `chain_getBlock` lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockTxJson {
    pub hash: String,
    pub sender: String,
    pub nonce: u64,
    /// What the transaction does: "transfer", "call", …
    pub call: String,
}

/// A finalised block (`chain_getBlock`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockJson {
    pub header: HeaderJson,
    pub transactions: Vec<BlockTxJson>,
    /// With `raw`: the SCALE-encoded block, certificate, header and receipts (`Vec<Receipt>`),
    /// for auditors (`jjj audit export`, `jjj audit replay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_block: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_certificate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_receipts: Option<String>,
}

/// A block's commit certificate (`chain_getCertificate`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CertificateJson {
    pub height: u64,
    pub view: u64,
    pub block_hash: String,
    pub signers: Vec<String>,
    /// Whether the node checked it against the network's validators.
    pub verified: bool,
    /// SCALE-encoded.
    pub raw: String,
}

/// An account's balance (fen) and next nonce (`state_getAccount`); zero for an unknown account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountJson {
    pub account: String,
    pub balance: u64,
    pub nonce: u64,
}

/// A member organisation (`gov_members`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemberJson {
    pub id: String,
    pub name: String,
    /// beijing / tianjin / hebei.
    pub region: String,
    /// 京 / 津 / 冀.
    pub region_name: String,
    pub admins: Vec<String>,
    pub admin_threshold: u32,
    /// Active, Suspended or Removed.
    pub status: String,
    pub joined_at: u64,
    /// "height: fine fen: reason" for each penalty.
    pub penalties: Vec<String>,
}

/// A registered account (`gov_account`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegistrationJson {
    pub account: String,
    pub member: String,
    /// The key that signs for it now.
    pub key: String,
    pub roles: Vec<String>,
    pub suspended: bool,
    pub frozen: bool,
    pub registered_at: u64,
}

/// A proposal and where it stands (`gov_proposal`, `gov_proposals`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProposalJson {
    pub id: u64,
    /// What approvals sign (`jjj proposal approve --offline` signs it).
    pub hash: String,
    pub proposer: String,
    /// The action kind (add_member, grant_role…, or multisig_call).
    pub kind: String,
    /// The action, readable.
    pub action: String,
    /// The proposal body, SCALE, 0x-hex.
    pub body: String,
    pub memo: String,
    pub created_at: u64,
    pub expires_at: u64,
    pub approvals: Vec<String>,
    /// Approving members (or multisig members) so far, and how many it needs.
    pub approving: u64,
    pub needed: u64,
    /// open, executed or failed.
    pub status: String,
    /// The height it executed or failed at.
    pub closed_at: Option<u64>,
    /// Why its action failed.
    pub failure: Option<String>,
}

/// Who may perform an action (`gov_permissions`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PermissionJson {
    /// upload, instantiate, or CONTRACT:0xSELECTOR.
    pub action: String,
    pub roles: Vec<String>,
    pub members: Vec<String>,
    /// Set by governance (false: the default).
    pub set: bool,
}

/// The rules of governance (`gov_thresholds`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GovRulesJson {
    /// Each action kind and its threshold (ANY, MAJORITY, ALL or m).
    pub thresholds: Vec<(String, String)>,
    /// Roles a member may give its own accounts at registration.
    pub member_grantable_roles: Vec<String>,
    /// The block limits governance set (`set_block_limits`); absent: the genesis values.
    #[serde(default)]
    pub block_limits: Option<BlockLimitsJson>,
}

/// What one block may hold (`gov_rules`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlockLimitsJson {
    pub max_txs: u32,
    pub max_bytes: u32,
    pub max_gas: u64,
}

/// An official contract name (`gov_registry`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegistryEntryJson {
    pub name: String,
    pub address: String,
    pub frozen: bool,
}

/// One code a contract ran (`gov_codeHistory`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CodeChangeJson {
    pub height: u64,
    pub code_hash: String,
    /// The upgrade proposal (0: instantiation).
    pub proposal: u64,
}

/// A deployed contract (`contract_info`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractInfoJson {
    pub address: String,
    pub code_hash: String,
    pub deployer: String,
    pub instantiated_at: u64,
    pub code_size: Option<u32>,
    pub reentrant: Option<bool>,
    /// Frozen by governance: calls to it fail.
    #[serde(default)]
    pub frozen: bool,
}

/// The node and each network it serves (`node_health`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HealthJson {
    pub ok: bool,
    pub name: String,
    pub id: String,
    pub peers: usize,
    pub uptime_ms: u64,
    /// Peer messages about networks this node does not serve, since it started: 0 when every
    /// peer keeps each network's data to that network's nodes.
    #[serde(default)]
    pub unserved_network_messages: u64,
    pub networks: Vec<NetworkHealthJson>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetworkHealthJson {
    pub network: String,
    pub height: u64,
    pub head: String,
    pub view: u64,
    pub mempool: u64,
    pub validator: bool,
    /// The validators of the next height, in leader order.
    #[serde(default)]
    pub validators: Vec<String>,
    /// Block timestamp to commit on this node, since it started (the Prometheus histogram
    /// `jjj_finality_latency_ms`).
    #[serde(default)]
    pub finality: FinalityJson,
    /// View changes since the node started.
    #[serde(default)]
    pub view_changes: u64,
    /// Peer messages dropped since the node started: only once a driver has stopped (the
    /// queue holds each message the transport accepted, its sender waiting in TCP past its share).
    #[serde(default)]
    pub dropped_peer_messages: u64,
    /// Leaders' compact proposals this node rebuilt from its mempool, and those it lacked a
    /// transaction of (then asked of the leader whole).
    #[serde(default)]
    pub compact_proposals_rebuilt: u64,
    #[serde(default)]
    pub compact_proposals_missed: u64,
    /// Peer messages about this network refused because their sender is none of its nodes.
    #[serde(default)]
    pub refused_outsider_messages: u64,
    #[serde(default)]
    pub block_times: BlockTimesJson,
}

/// Finality latency since the node started: a histogram, as the metrics page has it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FinalityJson {
    /// Blocks finalised and their latencies summed, ms.
    pub count: u64,
    pub sum_ms: u64,
    /// (upper bound in ms, blocks at or under it), cumulative.
    pub buckets: Vec<(u64, u64)>,
}

/// Where this node's block time went since it started, summed: divide by the blocks.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BlockTimesJson {
    /// Blocks built or checked (a block proposed in several views counts each time).
    pub executed: u64,
    /// Signature checks before running the transactions.
    pub verify_us: u64,
    /// Running the transactions.
    pub execute_us: u64,
    /// State, tx and receipts roots.
    pub root_us: u64,
    /// Blocks stored.
    pub committed: u64,
    /// Storing them: tree writes staged, batch written and synced.
    pub commit_us: u64,
    /// Of which the synced batch write.
    pub write_us: u64,
    /// Bytes of the written batches.
    pub bytes_written: u64,
    /// State-tree nodes written or deleted.
    pub tree_nodes: u64,
}

/// One transaction's answer in `tx_submitBatch`: its hash, or the refusal (message and
/// `ErrorCode`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SubmitResultJson {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<i32>,
}

/// A connected peer (`node_peers`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PeerJson {
    pub id: String,
    pub addr: String,
    pub outbound: bool,
    pub connected_since_ms: u64,
}
