//! jjj-crypto: signatures and the hashes contracts may ask for.
//!
//! ed25519 signs transactions, consensus votes and p2p identities; blake2b-256 (the chain's own
//! hash) lives in `jjj_primitives` and is re-exported here. The 国密 suite (SM2/SM3) will sit
//! beside ed25519 here, chosen per network.
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
pub use jjj_primitives::blake2_256;
use jjj_primitives::{AccountId, Signature, SignedTransaction, Transaction};
use sha2::Digest;

pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// Checks an ed25519 signature (strict: no malleable or small-order keys).
pub fn ed25519_verify(signer: &AccountId, message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(&signer.0) else { return false };
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature)).is_ok()
}

/// An ed25519 key pair that signs transactions.
#[derive(Clone)]
pub struct Keypair {
    key: SigningKey,
}

impl Keypair {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Keypair { key: SigningKey::from_bytes(&seed) }
    }
    /// A deterministic key for tests, devnets and demos: the seed is blake2b-256 of the name.
    pub fn from_name(name: &str) -> Self {
        Self::from_seed(blake2_256(format!("jjj/dev-key/{name}").as_bytes()).0)
    }
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }
    pub fn account(&self) -> AccountId {
        AccountId(self.key.verifying_key().to_bytes())
    }
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature { signer: self.account(), signature: self.key.sign(message).to_bytes() }
    }
    /// Signs a transaction alone (a key account's transaction).
    pub fn sign_tx(&self, tx: Transaction) -> SignedTransaction {
        let signature = self.sign(&tx.signing_payload());
        SignedTransaction { tx, signatures: vec![signature] }
    }
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", self.account())
    }
}
