//! The chain's data types, SCALE-encoded on the wire, on disk and for hashing.
use crate::HashAlgo;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode};

use crate::gov::{Approval, ProposalSpec};
pub use jjj_abi::{AccountId, Hash, PROTECTED_EVENT_TOPIC};

/// Which network (ledger) a transaction or block belongs to: "jj", "jjj", "jh", "th"…
/// At most [`NetworkId::MAX_LEN`] bytes of ASCII letters, digits and '-'.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, DecodeWithMemTracking)]
pub struct NetworkId(String);

impl NetworkId {
    pub const MAX_LEN: usize = 32;

    pub fn new(name: &str) -> Result<Self, String> {
        if name.is_empty() || name.len() > Self::MAX_LEN {
            return Err(format!("a network id has 1 to {} characters, got {}", Self::MAX_LEN, name.len()));
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!("network id {name:?} may only hold ASCII letters, digits and '-'"));
        }
        Ok(NetworkId(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetworkId({})", self.0)
    }
}

/// What a transaction does.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub enum Call {
    /// Moves fen between accounts.
    Transfer { to: AccountId, amount: u64 },
    /// Stores wasm code under its blake2b-256 hash, after validation. Uploading the same code
    /// twice is refused: code is uploaded once and instantiated many times.
    UploadCode { code: Vec<u8> },
    /// Creates a contract from uploaded code, running its constructor with `input`.
    Instantiate { code_hash: Hash, input: Vec<u8>, value: u64 },
    /// Calls a contract.
    Call { contract: AccountId, input: Vec<u8>, value: u64 },
    /// Registers a multisig account of `members` needing `threshold` of their signatures.
    CreateMultisig { members: Vec<AccountId>, threshold: u32 },
    /// Registers a key as an account of `member`, with roles the member may give: sent by an
    /// admin or registrar of that member. Only registered accounts can send transactions.
    RegisterAccount { account: AccountId, member: String, roles: Vec<String> },
    /// Suspends (or resumes) an account: sent by an admin or registrar of its member.
    SetAccountSuspended { account: AccountId, suspended: bool },
    /// The account keeps its id and everything it holds; from now on `new_key` signs for it.
    /// Sent by the account itself or by an admin of its member (a lost or stolen key).
    RotateKey { account: AccountId, new_key: AccountId },
    /// Opens a proposal, with approvals gathered off chain (the proposer's own counts when it
    /// may approve). Executes at once when they reach the threshold.
    Propose { spec: ProposalSpec, approvals: Vec<Approval> },
    /// Approves a proposal: the sender's own approval, plus any gathered off chain.
    Approve { proposal: u64, approvals: Vec<Approval> },
    /// A validator commits the head of its node's access log (`access::AccessEntry`): entry
    /// `seq` hashes to `head`. Sent and signed by the validator's node key, which needs no
    /// registration but must be in the validator set; `seq` only grows. Once on chain, no entry
    /// up to `seq` can change without the log disagreeing with the chain.
    AnchorAccessLog { seq: u64, head: Hash },
}

impl Call {
    pub fn kind(&self) -> &'static str {
        match self {
            Call::Transfer { .. } => "transfer",
            Call::UploadCode { .. } => "upload_code",
            Call::Instantiate { .. } => "instantiate",
            Call::Call { .. } => "call",
            Call::CreateMultisig { .. } => "create_multisig",
            Call::RegisterAccount { .. } => "register_account",
            Call::SetAccountSuspended { .. } => "set_account_suspended",
            Call::RotateKey { .. } => "rotate_key",
            Call::Propose { .. } => "propose",
            Call::Approve { .. } => "approve",
            Call::AnchorAccessLog { .. } => "anchor_access_log",
        }
    }
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Transaction {
    pub network: NetworkId,
    /// A key account (the id of the key it was registered with) or a multisig account.
    pub sender: AccountId,
    /// Must equal the sender's next nonce.
    pub nonce: u64,
    /// Most gas this transaction may use; fails with "out of gas" past it.
    pub gas_limit: u64,
    pub call: Call,
}

impl Transaction {
    /// The bytes a signer signs: a domain tag, so a transaction signature can never be replayed
    /// as any other kind of signed message, then the SCALE encoding.
    pub fn signing_payload(&self) -> Vec<u8> {
        let mut payload = b"jjj/tx/v1:".to_vec();
        self.encode_to(&mut payload);
        payload
    }
}

/// One signature in the network's scheme and the key that made it: an ed25519 public key, or an
/// SM2 key's x coordinate (jjj's SM2 keys have an even y, so x alone names the point).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Signature {
    pub signer: AccountId,
    pub signature: [u8; 64],
}

/// A transaction with its signatures: one for a key account, `threshold` distinct members'
/// for a multisig account.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct SignedTransaction {
    pub tx: Transaction,
    pub signatures: Vec<Signature>,
}

impl SignedTransaction {
    pub fn hash(&self, algo: HashAlgo) -> Hash {
        algo.hash(&self.encode())
    }
}

/// How a transaction ended.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub enum ReceiptStatus {
    Success,
    /// The contract chose to fail (an `Err`, `revert` or a panic): its message.
    Reverted(String),
    /// Execution failed: out of gas, a trap, a limit, insufficient balance…: the reason.
    Failed(String),
}

/// An event emitted by a contract.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Event {
    pub contract: AccountId,
    pub topics: Vec<Hash>,
    pub data: Vec<u8>,
}

/// What a transaction did.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Receipt {
    pub tx_hash: Hash,
    pub status: ReceiptStatus,
    pub gas_used: u64,
    /// Events of the calls that succeeded (a reverted call's events are dropped with it).
    pub events: Vec<Event>,
    /// The call's output (SCALE of the method's `Ok` value); for instantiate, the new address.
    pub output: Vec<u8>,
}

impl Receipt {
    pub fn is_success(&self) -> bool {
        self.status == ReceiptStatus::Success
    }
    /// The revert message or failure reason.
    pub fn reason(&self) -> Option<&str> {
        match &self.status {
            ReceiptStatus::Success => None,
            ReceiptStatus::Reverted(m) | ReceiptStatus::Failed(m) => Some(m),
        }
    }
    pub fn hash(&self, algo: HashAlgo) -> Hash {
        algo.hash(&self.encode())
    }
}

/// A block header: commits to the transactions, their receipts and the state after them.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Header {
    pub network: NetworkId,
    pub height: u64,
    pub parent_hash: Hash,
    /// Milliseconds since the Unix epoch, chosen by the proposer.
    pub timestamp: u64,
    pub proposer: AccountId,
    pub tx_root: Hash,
    pub receipts_root: Hash,
    pub state_root: Hash,
}

impl Header {
    pub fn hash(&self, algo: HashAlgo) -> Hash {
        algo.hash(&self.encode())
    }
    pub fn context(&self) -> BlockContext {
        BlockContext { network: self.network.clone(), height: self.height, timestamp: self.timestamp }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Block {
    pub header: Header,
    pub transactions: Vec<SignedTransaction>,
}

/// What contracts see of the block they run in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockContext {
    pub network: NetworkId,
    pub height: u64,
    pub timestamp: u64,
}

/// A binary Merkle root over hashes (with the network's hash; an odd node is promoted; empty →
/// zero hash). Leaves and inner nodes are domain-separated so a leaf can never pose as a node.
pub fn merkle_root(algo: HashAlgo, leaves: impl IntoIterator<Item = Hash>) -> Hash {
    let mut level: Vec<Hash> = leaves.into_iter().map(|h| merkle_leaf(algo, &h)).collect();
    if level.is_empty() {
        return Hash::default();
    }
    while level.len() > 1 {
        level = merkle_level_up(algo, &level);
    }
    level[0]
}

fn merkle_leaf(algo: HashAlgo, h: &Hash) -> Hash {
    algo.hash_parts(&[&[0], &h.0])
}

fn merkle_node(algo: HashAlgo, left: &Hash, right: &Hash) -> Hash {
    algo.hash_parts(&[&[1], &left.0, &right.0])
}

/// The level above `level`: pairs hashed, an odd last node promoted.
fn merkle_level_up(algo: HashAlgo, level: &[Hash]) -> Vec<Hash> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [a, b] => merkle_node(algo, a, b),
            [a, ..] => *a,
            [] => Hash::default(),
        })
        .collect()
}

/// That one leaf is at `index` among `count` under a [`merkle_root`]: the sibling at each level
/// where it has one (an odd last node is promoted, so that level has none).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct MerkleProof {
    pub index: u32,
    pub count: u32,
    pub siblings: Vec<Hash>,
}

/// The proof for leaf `index` of `leaves`, or `None` if there is no such leaf.
pub fn merkle_proof(algo: HashAlgo, leaves: &[Hash], index: usize) -> Option<MerkleProof> {
    if index >= leaves.len() {
        return None;
    }
    let mut level: Vec<Hash> = leaves.iter().map(|h| merkle_leaf(algo, h)).collect();
    let mut at = index;
    let mut siblings = Vec::new();
    while level.len() > 1 {
        let sibling = at ^ 1;
        if sibling < level.len() {
            siblings.push(level[sibling]);
        }
        level = merkle_level_up(algo, &level);
        at /= 2;
    }
    Some(MerkleProof { index: u32::try_from(index).ok()?, count: u32::try_from(leaves.len()).ok()?, siblings })
}

/// Whether `proof` shows `leaf` under `root` (as [`merkle_root`] computes it) at its index.
pub fn verify_merkle_proof(algo: HashAlgo, root: &Hash, leaf: &Hash, proof: &MerkleProof) -> bool {
    let (mut at, mut width) = (proof.index as usize, proof.count as usize);
    if at >= width {
        return false;
    }
    let mut node = merkle_leaf(algo, leaf);
    let mut siblings = proof.siblings.iter();
    while width > 1 {
        let sibling = at ^ 1;
        if sibling < width {
            let Some(s) = siblings.next() else { return false };
            node = if at % 2 == 0 { merkle_node(algo, &node, s) } else { merkle_node(algo, s, &node) };
        }
        at /= 2;
        width = width.div_ceil(2);
    }
    siblings.next().is_none() && node == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_ids_are_checked() {
        assert!(NetworkId::new("jjj").is_ok());
        assert!(NetworkId::new("").is_err());
        assert!(NetworkId::new("京津").is_err());
        assert!(NetworkId::new(&"x".repeat(33)).is_err());
    }

    const A: HashAlgo = HashAlgo::Blake2b256;

    #[test]
    fn merkle_proofs_verify_every_leaf_and_nothing_else() {
        for algo in HashAlgo::ALL {
            for n in 1..=17u8 {
                let leaves: Vec<Hash> = (0..n).map(|i| Hash([i; 32])).collect();
                let root = merkle_root(algo, leaves.iter().copied());
                for (i, leaf) in leaves.iter().enumerate() {
                    let proof = merkle_proof(algo, &leaves, i).expect("a leaf");
                    assert!(verify_merkle_proof(algo, &root, leaf, &proof), "{n} leaves, leaf {i}");
                    // Another leaf, another index, a changed sibling, a missing or extra one: no.
                    assert!(!verify_merkle_proof(algo, &root, &Hash([99; 32]), &proof));
                    if n > 1 {
                        let moved = MerkleProof { index: (proof.index + 1) % proof.count, ..proof.clone() };
                        assert!(!verify_merkle_proof(algo, &root, leaf, &moved), "{n} leaves, leaf {i} moved");
                        let mut changed = proof.clone();
                        changed.siblings[0].0[0] ^= 1;
                        assert!(!verify_merkle_proof(algo, &root, leaf, &changed));
                        let mut short = proof.clone();
                        short.siblings.pop();
                        assert!(!verify_merkle_proof(algo, &root, leaf, &short));
                    }
                    let mut long = proof.clone();
                    long.siblings.push(Hash([7; 32]));
                    assert!(!verify_merkle_proof(algo, &root, leaf, &long));
                }
                assert_eq!(merkle_proof(algo, &leaves, n as usize), None);
            }
        }
    }

    #[test]
    fn merkle_root_depends_on_every_leaf_and_order() {
        let h = |n: u8| Hash([n; 32]);
        let r = merkle_root(A, [h(1), h(2), h(3)]);
        assert_ne!(r, merkle_root(A, [h(1), h(2)]));
        assert_ne!(r, merkle_root(A, [h(2), h(1), h(3)]));
        assert_ne!(r, merkle_root(A, [h(1), h(2), h(4)]));
        assert_eq!(r, merkle_root(A, [h(1), h(2), h(3)]));
        assert_eq!(merkle_root(A, []), Hash::default());
        assert_ne!(merkle_root(A, [h(1)]), h(1), "a single leaf is hashed as a leaf");
    }
}
