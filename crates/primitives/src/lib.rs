//! jjj-primitives: what every part of the chain agrees on, and nothing else.
//!
//! - the chain's data types ([`NetworkId`], [`Transaction`], [`Block`], [`Receipt`], …), SCALE
//!   encoded on the wire, on disk and for hashing;
//! - their hashes ([`blake2_256`]) and the binary Merkle root over them ([`merkle_root`]);
//! - [`params`]: every chain-wide limit, in one place.
//!
//! `no_std` (with `alloc`), so a light client or a contract could share these definitions.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod gov;
pub mod params;
mod types;

pub use types::*;

use blake2::digest::{consts::U32, Digest};

/// blake2b-256: the hash of transactions, blocks, receipts, code and state keys.
pub fn blake2_256(data: &[u8]) -> Hash {
    Hash(blake2::Blake2b::<U32>::digest(data).into())
}
