//! Reads of protected contract data: the signed request a reader sends, and the entries of the
//! access log a node keeps of every protected read and every refusal.
//!
//! A protected query (`#[message(query, protected)]`) runs only for a reader who signed for it:
//! the signature covers the network, the contract, the hash of the exact input, a time and a
//! nonce, so it can be neither reused for another question nor replayed (the node keeps the
//! nonces it saw within [`crate::params::READ_REQUEST_WINDOW_MS`]).
use crate::{AccountId, Hash, HashAlgo, NetworkId, Signature};
use alloc::string::String;
use alloc::vec::Vec;
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode};

/// What a reader signs to read protected data.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct ReadRequest {
    pub network: NetworkId,
    /// The key account reading; the query runs with it as the caller.
    pub reader: AccountId,
    pub contract: AccountId,
    /// The network's hash of the call input (selector and arguments).
    pub input_hash: Hash,
    /// When the reader signed, in milliseconds since the Unix epoch.
    pub issued_at_ms: u64,
    /// Any number the reader has not used within the window.
    pub nonce: u64,
}

impl ReadRequest {
    /// The bytes signed: a domain tag (never a transaction's), then the SCALE encoding.
    pub fn signing_payload(&self) -> Vec<u8> {
        let mut payload = b"jjj/read/v1:".to_vec();
        self.encode_to(&mut payload);
        payload
    }
}

/// A read request and the reader key's signature over [`ReadRequest::signing_payload`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct SignedRead {
    pub request: ReadRequest,
    pub signature: Signature,
}

/// What the node decided about one read.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub enum AccessDecision {
    /// The contract's read policy let the reader see the data.
    Allowed,
    /// The contract's read policy refused the reader (its message).
    Denied(String),
    /// Refused before the contract ran its policy: unsigned, a bad or stale signature, a
    /// replayed nonce, a reader that may not act.
    Refused(String),
}

/// One entry of a node's access log. Entries form a hash chain: each names the hash of the one
/// before ([`AccessEntry::hash`]), so an entry removed or changed breaks every later link, and a
/// head committed on chain fixes everything up to it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct AccessEntry {
    /// 0 for the first entry, then one more each time.
    pub seq: u64,
    /// The hash of entry `seq - 1` (zero for the first).
    pub prev: Hash,
    /// The node that served (or refused) the read: its validator or node key.
    pub node: AccountId,
    pub read: AccessRead,
}

/// What one read was: who asked what, against which state, and what the node decided.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct AccessRead {
    /// The node's clock when it answered, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The finalised height whose state the read ran against.
    pub height: u64,
    /// Who asked: the signed reader, or the sender an unsigned request named (or none).
    pub reader: Option<AccountId>,
    /// Whether the reader's signature verified.
    pub signed: bool,
    pub contract: AccountId,
    /// The message's 4-byte selector (the input's first bytes).
    pub selector: [u8; 4],
    pub decision: AccessDecision,
}

impl AccessEntry {
    pub fn hash(&self, algo: HashAlgo) -> Hash {
        algo.hash(&self.encode())
    }
}

/// What the chain holds of one node's access log (`Call::AnchorAccessLog`): its entry `seq`
/// hashes to `head`, committed in the block at `height`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct AccessAnchor {
    pub seq: u64,
    pub head: Hash,
    pub height: u64,
}

/// The selector an access-log entry of an events read (`contract_events`) carries: no message
/// has it (its name would hash to it only by chance), and tools show it as "events".
pub const EVENTS_SELECTOR: [u8; 4] = [0xff; 4];
/// What a read request for protected events signs as its input (the contract is the filter's,
/// or zero for all).
pub const EVENTS_INPUT: &[u8] = b"contract_events";
/// The selector an access-log entry of a contract-storage proof (`state_getProof`) carries; the
/// read request signs the storage key (without its space tag and contract) as input.
pub const STATE_PROOF_SELECTOR: [u8; 4] = [0xfe, 0xff, 0xff, 0xff];

/// The first four bytes of a call input: its message selector (zero-padded when shorter).
pub fn selector_of(input: &[u8]) -> [u8; 4] {
    let mut s = [0u8; 4];
    let n = input.len().min(4);
    s[..n].copy_from_slice(&input[..n]);
    s
}
