//! Typed events. An event is SCALE-encoded as its data; its first topic is the blake2b-256 hash
//! of its name, so indexers can filter by kind, and `indexed` adds up to three more topics.
use crate::{AccountId, Hash};
use alloc::vec::Vec;
use parity_scale_codec::Encode;

pub trait ContractEvent: Encode {
    /// The event's name, e.g. "BillPaid".
    fn name(&self) -> &'static str;
    /// Up to three extra topics to filter on (accounts, ids).
    fn indexed(&self) -> Vec<Hash> {
        Vec::new()
    }
}

/// The topic that names an event kind.
pub fn name_topic(name: &str) -> Hash {
    crate::backend::hash_blake2_256(name.as_bytes())
}

/// A topic for an account.
pub fn account_topic(account: &AccountId) -> Hash {
    Hash(account.0)
}

/// A topic for a number (big-endian in the last eight bytes, so it sorts).
pub fn u64_topic(n: u64) -> Hash {
    let mut t = [0u8; 32];
    t[24..].copy_from_slice(&n.to_be_bytes());
    Hash(t)
}
