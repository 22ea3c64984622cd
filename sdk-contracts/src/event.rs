//! Typed events. An event is SCALE-encoded as its data; its first topic is the blake2b-256 hash
//! of its name, so indexers can filter by kind, and up to three more topics come from its fields.
//!
//! Derive it, marking the fields to filter on:
//!
//! ```ignore
//! #[derive(Encode, Decode, TypeInfo, ContractEvent)]
//! pub enum UtilityEvent {
//!     BillPaid { #[topic] bill_id: u64, #[topic] provider: AccountId, amount: u64 },
//! }
//! ```
//!
//! The name is the variant's (or, for a struct, the type's); each `#[topic]` field becomes a
//! topic through [`Topic`]. `#[topic(distinct)]` leaves a topic out when it equals an earlier one
//! of the same event.
use crate::{AccountId, Hash};
use alloc::vec::Vec;
use parity_scale_codec::Encode;

pub use jjj_sdk_macros::ContractEvent;

/// Most topic fields of one event: the host's topic limit minus the name topic and the mark of a
/// protected event.
pub const MAX_TOPIC_FIELDS: usize = jjj_abi::limits::MAX_EVENT_TOPICS as usize - 2;

pub trait ContractEvent: Encode {
    /// Every kind of event this type holds, with its topic fields: for metadata.
    const SPECS: &'static [EventSpec] = &[];
    /// The event's name, e.g. "BillPaid".
    fn name(&self) -> &'static str;
    /// Up to three extra topics to filter on (accounts, ids).
    fn indexed(&self) -> Vec<Hash> {
        Vec::new()
    }
    /// `#[event(protected)]`: read only by the accounts among its topics and auditors.
    fn protected(&self) -> bool {
        false
    }
}

/// One kind of event as the derive describes it: its name and its topic fields, in topic order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventSpec {
    pub name: &'static str,
    pub topics: &'static [&'static str],
    /// `#[event(protected)]`.
    pub protected: bool,
}

/// A value that can be an event topic: 32 bytes an indexer can match exactly.
pub trait Topic {
    /// The topic, or `None` to add no topic (an absent `Option`).
    fn topic(&self) -> Option<Hash>;
}

impl Topic for AccountId {
    fn topic(&self) -> Option<Hash> {
        Some(account_topic(self))
    }
}

impl Topic for Hash {
    fn topic(&self) -> Option<Hash> {
        Some(*self)
    }
}

impl Topic for u64 {
    fn topic(&self) -> Option<Hash> {
        Some(u64_topic(*self))
    }
}

/// Smaller unsigned numbers are topics as the same number in a `u64`, so `7u32` and `7u64`
/// match the same filter.
macro_rules! widened_topic {
    ($($t:ty),*) => {$(
        impl Topic for $t {
            fn topic(&self) -> Option<Hash> {
                Some(u64_topic(u64::from(*self)))
            }
        }
    )*};
}
widened_topic!(u8, u16, u32, bool);

impl<T: Topic> Topic for Option<T> {
    fn topic(&self) -> Option<Hash> {
        self.as_ref().and_then(Topic::topic)
    }
}

impl<T: Topic + ?Sized> Topic for &T {
    fn topic(&self) -> Option<Hash> {
        (**self).topic()
    }
}

/// Used by the derive: appends a field's topic, if it has one.
#[doc(hidden)]
pub fn push_topic<T: Topic + ?Sized>(topics: &mut Vec<Hash>, value: &T) {
    topics.extend(value.topic());
}

/// Used by the derive for `#[topic(distinct)]`: appends a field's topic unless already there.
#[doc(hidden)]
pub fn push_distinct_topic<T: Topic + ?Sized>(topics: &mut Vec<Hash>, value: &T) {
    if let Some(t) = value.topic() {
        if !topics.contains(&t) {
            topics.push(t);
        }
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
