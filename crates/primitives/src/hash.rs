//! The chain's 32-byte hashes. A network hashes with one [`HashAlgo`], chosen in its genesis
//! with its signature scheme: BLAKE2b-256 or SM3 (国密, GM/T 0004). Every hash that enters a
//! root — transaction ids, receipts, headers, Merkle roots, the state tree, code hashes, derived
//! addresses — is the network's.
use crate::Hash;
use blake2::digest::{consts::U32, Digest};
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};

/// A network's hash function. SCALE-encoded as one byte (0 = blake2b-256, 1 = sm3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen)]
pub enum HashAlgo {
    #[codec(index = 0)]
    Blake2b256,
    #[codec(index = 1)]
    Sm3,
}

impl HashAlgo {
    pub const ALL: [HashAlgo; 2] = [HashAlgo::Blake2b256, HashAlgo::Sm3];

    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Blake2b256 => "blake2b-256",
            HashAlgo::Sm3 => "sm3",
        }
    }

    pub fn hash(self, data: &[u8]) -> Hash {
        match self {
            HashAlgo::Blake2b256 => blake2_256(data),
            HashAlgo::Sm3 => sm3(data),
        }
    }

    /// The hash of several parts, as of their concatenation, without copying them together.
    pub fn hash_parts(self, parts: &[&[u8]]) -> Hash {
        match self {
            HashAlgo::Blake2b256 => Hash(digest_parts::<blake2::Blake2b<U32>>(parts)),
            HashAlgo::Sm3 => Hash(digest_parts::<sm3::Sm3>(parts)),
        }
    }
}

fn digest_parts<D: Digest>(parts: &[&[u8]]) -> [u8; 32] {
    let mut d = D::new();
    for p in parts {
        d.update(p);
    }
    let out = d.finalize();
    let mut h = [0u8; 32];
    h.copy_from_slice(&out[..32]);
    h
}

/// BLAKE2b-256: the hash of `ed25519+blake2b` networks.
pub fn blake2_256(data: &[u8]) -> Hash {
    Hash(blake2::Blake2b::<U32>::digest(data).into())
}

/// SM3 (GM/T 0004-2012): the hash of `sm2+sm3` networks.
pub fn sm3(data: &[u8]) -> Hash {
    Hash(sm3::Sm3::digest(data).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_and_blake2b_match_their_standard_vectors() {
        // GM/T 0004-2012, appendix A.1: SM3("abc").
        let abc = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0";
        assert_eq!(sm3(b"abc").0, <[u8; 32]>::try_from(hex_bytes(abc)).unwrap_or_default());
        assert_eq!(HashAlgo::Sm3.hash(b"abc"), sm3(b"abc"));
        assert_eq!(HashAlgo::Blake2b256.hash(b"abc"), blake2_256(b"abc"));
        assert_ne!(sm3(b"abc"), blake2_256(b"abc"));
        for algo in HashAlgo::ALL {
            assert_eq!(algo.hash_parts(&[b"ab", b"", b"c"]), algo.hash(b"abc"), "{}", algo.name());
        }
    }

    fn hex_bytes(s: &str) -> alloc::vec::Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0)).collect()
    }
}
