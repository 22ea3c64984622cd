//! jjj-primitives: what every part of the chain agrees on, and nothing else.
//!
//! - the chain's data types ([`NetworkId`], [`Transaction`], [`Block`], [`Receipt`], …), SCALE
//!   encoded on the wire, on disk and for hashing;
//! - their hashes ([`HashAlgo`]: BLAKE2b-256 or SM3, the network's choice) and the binary Merkle
//!   root over them ([`merkle_root`]) and proofs of one leaf ([`merkle_proof`], [`verify_merkle_proof`]);
//! - [`params`]: every chain-wide limit, in one place.
//!
//! `no_std` (with `alloc`), so a light client or a contract could share these definitions.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod access;
pub mod gov;
mod hash;
pub mod params;
mod types;

pub use hash::{blake2_256, sm3, HashAlgo};
pub use types::*;
