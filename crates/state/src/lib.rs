//! jjj-state: the world state, a key-value store with a Merkle commitment.
//!
//! Layout (every key starts with a one-byte space tag, so spaces can never collide):
//!
//! | key | value |
//! |---|---|
//! | `A ++ account` | [`Account`] (nonce, balance in fen) |
//! | `M ++ account` | [`Multisig`] (members, threshold) |
//! | `C ++ code_hash` | wasm code bytes |
//! | `I ++ code_hash` | [`CodeInfo`] |
//! | `K ++ address` | [`ContractInfo`] |
//! | `S ++ address ++ key` | a contract's storage value |
//!
//! Governance records (members, registrations, policies, proposals…) are in [`gov`].
pub mod gov;
mod overlay;
mod tree;

pub use overlay::Overlay;
pub use tree::{
    leaf_key, prove_in, update_tree, verify_proof, MemoryState, Node, NodeKey, NodeReader, NodeWrites, Slots,
    StateProof, TreeUpdate, NODE_KEY_BYTES,
};

use jjj_primitives::{AccountId, Hash, HashAlgo};
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode};
use std::collections::BTreeMap;

/// State changes of a block: key → new value, or `None` for a removal. Sorted, so applying and
/// hashing them is deterministic.
pub type ChangeSet = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state backend: {0}")]
    Backend(String),
    #[error("state is corrupt at key {key}: {reason}")]
    Corrupt { key: String, reason: String },
}

/// Read access to committed state. The node implements it over RocksDB; tests over memory.
pub trait StateReader: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
}

/// The state commitment: the root now, and the root a change set would give.
pub trait StateCommitment {
    fn state_root(&self) -> Hash;
    /// The root after applying `changes`, without applying them.
    fn root_after(&self, changes: &ChangeSet) -> Result<Hash, StateError>;
    /// The hash the tree is built with: the network's.
    fn hash_algo(&self) -> HashAlgo;
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Account {
    pub nonce: u64,
    pub balance: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Multisig {
    pub members: Vec<AccountId>,
    pub threshold: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct CodeInfo {
    pub uploader: AccountId,
    pub size: u32,
    /// The module exports the re-entrancy marker: calls into it while it is on the stack are allowed.
    pub reentrant: bool,
    pub uploaded_at: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct ContractInfo {
    pub code_hash: Hash,
    pub deployer: AccountId,
    pub instantiated_at: u64,
}

pub mod keys {
    use super::*;

    pub const ACCOUNT: u8 = b'A';
    pub const MULTISIG: u8 = b'M';
    pub const CODE: u8 = b'C';
    pub const CODE_INFO: u8 = b'I';
    pub const CONTRACT: u8 = b'K';
    pub const STORAGE: u8 = b'S';
    pub const ACCESS_ANCHOR: u8 = b'X';

    fn tagged(tag: u8, id: &[u8; 32]) -> Vec<u8> {
        let mut k = Vec::with_capacity(33);
        k.push(tag);
        k.extend_from_slice(id);
        k
    }
    pub fn account(a: &AccountId) -> Vec<u8> {
        tagged(ACCOUNT, &a.0)
    }
    pub fn multisig(a: &AccountId) -> Vec<u8> {
        tagged(MULTISIG, &a.0)
    }
    pub fn code(h: &Hash) -> Vec<u8> {
        tagged(CODE, &h.0)
    }
    pub fn code_info(h: &Hash) -> Vec<u8> {
        tagged(CODE_INFO, &h.0)
    }
    pub fn contract(a: &AccountId) -> Vec<u8> {
        tagged(CONTRACT, &a.0)
    }
    /// The access-log anchor of a node (`jjj_primitives::access::AccessAnchor`).
    pub fn access_anchor(node: &AccountId) -> Vec<u8> {
        tagged(ACCESS_ANCHOR, &node.0)
    }
    /// A storage key read back: its contract and the contract's own key (`None` for any other
    /// key).
    pub fn storage_parts(key: &[u8]) -> Option<(AccountId, &[u8])> {
        let (&STORAGE, rest) = key.split_first()? else { return None };
        let contract: [u8; 32] = rest.get(..32)?.try_into().ok()?;
        Some((AccountId(contract), &rest[32..]))
    }
    pub fn storage(contract: &AccountId, key: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(33 + key.len());
        k.push(STORAGE);
        k.extend_from_slice(&contract.0);
        k.extend_from_slice(key);
        k
    }
}

/// Decodes a state record, naming the key when it does not decode.
pub fn decode_record<T: Decode>(key: &[u8], bytes: &[u8]) -> Result<T, StateError> {
    T::decode(&mut &bytes[..]).map_err(|e| StateError::Corrupt { key: hex::encode(key), reason: e.to_string() })
}

/// An account's record; an account never seen has nonce 0 and no fen.
pub fn load_account(overlay: &Overlay, who: &AccountId) -> Result<Account, StateError> {
    let key = keys::account(who);
    match overlay.get(&key)? {
        Some(bytes) => decode_record(&key, &bytes),
        None => Ok(Account::default()),
    }
}

pub fn store_account(overlay: &mut Overlay, who: &AccountId, account: &Account) {
    overlay.set(keys::account(who), account.encode());
}

/// Moves fen; `Ok(false)` when `from` has too little, and then nothing moved.
pub fn move_balance(overlay: &mut Overlay, from: &AccountId, to: &AccountId, amount: u64) -> Result<bool, StateError> {
    if amount == 0 || from == to {
        return Ok(load_account(overlay, from)?.balance >= amount);
    }
    let mut a = load_account(overlay, from)?;
    let Some(left) = a.balance.checked_sub(amount) else { return Ok(false) };
    a.balance = left;
    store_account(overlay, from, &a);
    let mut b = load_account(overlay, to)?;
    // Total supply is bounded by u64 at genesis, so this cannot overflow; saturate anyway.
    b.balance = b.balance.saturating_add(amount);
    store_account(overlay, to, &b);
    Ok(true)
}

/// The record of the contract at `address`, if one lives there.
pub fn load_contract(overlay: &Overlay, address: &AccountId) -> Result<Option<ContractInfo>, StateError> {
    load_record(overlay, &keys::contract(address))
}

/// The record of uploaded code, if any.
pub fn load_code_info(overlay: &Overlay, code_hash: &Hash) -> Result<Option<CodeInfo>, StateError> {
    load_record(overlay, &keys::code_info(code_hash))
}

/// Reads and decodes a record, naming the key when it does not decode.
pub fn load_record<T: Decode>(overlay: &Overlay, key: &[u8]) -> Result<Option<T>, StateError> {
    match overlay.get(key)? {
        Some(bytes) => decode_record(key, &bytes).map(Some),
        None => Ok(None),
    }
}
