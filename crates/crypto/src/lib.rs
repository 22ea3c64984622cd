//! jjj-crypto: the chain's signature suites, and the hashes contracts may ask for.
//!
//! A network runs one [`Suite`]: a signature [`Scheme`] paired with the 32-byte hash it goes with.
//!
//! - `ed25519+blake2b` ([`Suite::Ed25519Blake2b`]): ed25519 (strict verification: no malleable
//!   signatures, no small-order keys) and BLAKE2b-256 ([`blake2_256`], the chain's own hash, which
//!   lives in `jjj_primitives` and is re-exported here). An account id is the 32-byte public key.
//! - `sm2+sm3` ([`Suite::Sm2Sm3`]): the 国密 suite. SM2 signatures as GM/T 0003 defines them (the
//!   signer's Z value from the default distinguishing ID [`SM2_DEFAULT_DISTID`], then SM3 of
//!   `Z ‖ M`) and the SM3 hash ([`sm3()`], GM/T 0004). An SM2 public key is 33 bytes (compressed
//!   SEC1); an account id stays 32 bytes: [`sm2_account_id`] is SM3 of a domain tag and the key.
//!
//! Signatures are 64 bytes in both schemes (ed25519's `R ‖ S`, SM2's `r ‖ s`), so
//! `jjj_primitives::Signature` fits either. [`SchemeKeypair`] signs and [`verify`] checks for
//! either scheme; [`verify`] returns `false` on any malformed input and never panics.
//!
//! [`Keypair`] and [`ed25519_verify`] are the ed25519-only API the rest of the workspace signs
//! transactions, consensus votes and p2p identities with. [`sha256`] is for contracts.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
pub use jjj_primitives::blake2_256;
use jjj_primitives::{AccountId, Signature, SignedTransaction, Transaction};
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use sha2::Digest;
use sm2::dsa::signature::{RandomizedSigner as _, Verifier as _};
use sm2::elliptic_curve::rand_core::{self, CryptoRng, RngCore};

pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// SM3 (GM/T 0004-2012): the 国密 suite's 256-bit hash.
pub fn sm3(data: &[u8]) -> [u8; 32] {
    sm3::Sm3::digest(data).into()
}

/// The distinguishing ID every jjj SM2 signature is made and checked with: GM/T 0009's default
/// user ID, the one other SM2 implementations use when none is agreed.
pub const SM2_DEFAULT_DISTID: &str = "1234567812345678";

/// The domain tag hashed before an SM2 public key to make its account id.
pub const SM2_ACCOUNT_TAG: &[u8] = b"jjj/sm2-account";

/// The account of an SM2 key: SM3(`"jjj/sm2-account"` ‖ the 33-byte compressed public key).
pub fn sm2_account_id(pubkey: &[u8; 33]) -> AccountId {
    let mut h = sm3::Sm3::new();
    h.update(SM2_ACCOUNT_TAG);
    h.update(pubkey);
    AccountId(h.finalize().into())
}

/// A signature scheme a network may choose.
///
/// SCALE-encoded as one byte (0 = ed25519, 1 = sm2); written as `ed25519` / `sm2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen)]
pub enum Scheme {
    #[codec(index = 0)]
    Ed25519,
    #[codec(index = 1)]
    Sm2,
}

impl Scheme {
    pub const ALL: [Scheme; 2] = [Scheme::Ed25519, Scheme::Sm2];

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Ed25519 => "ed25519",
            Scheme::Sm2 => "sm2",
        }
    }
    /// The length of a public key: 32 for ed25519, 33 (compressed SEC1) for SM2.
    pub fn public_key_len(self) -> usize {
        match self {
            Scheme::Ed25519 => 32,
            Scheme::Sm2 => 33,
        }
    }
    /// The suite this scheme belongs to.
    pub fn suite(self) -> Suite {
        match self {
            Scheme::Ed25519 => Suite::Ed25519Blake2b,
            Scheme::Sm2 => Suite::Sm2Sm3,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheme {
    type Err = ParseError;
    /// Parses `ed25519` or `sm2` (ASCII case ignored).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Scheme::ALL
            .into_iter()
            .find(|x| x.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseError::new("signature scheme", s, Scheme::ALL.map(Scheme::name)))
    }
}

/// A hash and signature pair a network may choose.
///
/// SCALE-encoded as one byte (0 = ed25519+blake2b, 1 = sm2+sm3); written as `ed25519+blake2b` /
/// `sm2+sm3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen)]
pub enum Suite {
    #[codec(index = 0)]
    Ed25519Blake2b,
    #[codec(index = 1)]
    Sm2Sm3,
}

impl Suite {
    pub const ALL: [Suite; 2] = [Suite::Ed25519Blake2b, Suite::Sm2Sm3];

    pub fn name(self) -> &'static str {
        match self {
            Suite::Ed25519Blake2b => "ed25519+blake2b",
            Suite::Sm2Sm3 => "sm2+sm3",
        }
    }
    pub fn scheme(self) -> Scheme {
        match self {
            Suite::Ed25519Blake2b => Scheme::Ed25519,
            Suite::Sm2Sm3 => Scheme::Sm2,
        }
    }
    /// The suite's 32-byte hash: BLAKE2b-256 or SM3.
    pub fn hash(self, data: &[u8]) -> [u8; 32] {
        match self {
            Suite::Ed25519Blake2b => blake2_256(data).0,
            Suite::Sm2Sm3 => sm3(data),
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Suite {
    type Err = ParseError;
    /// Parses `ed25519+blake2b` or `sm2+sm3` (ASCII case ignored).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Suite::ALL
            .into_iter()
            .find(|x| x.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseError::new("crypto suite", s, Suite::ALL.map(Suite::name)))
    }
}

/// A name that is no [`Scheme`] or [`Suite`]; its message lists the choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    what: &'static str,
    given: String,
    choices: [&'static str; 2],
}

impl ParseError {
    fn new(what: &'static str, given: &str, choices: [&'static str; 2]) -> Self {
        ParseError { what, given: given.to_string(), choices }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}: expected one of {}", self.what, self.given, self.choices.join(", "))
    }
}

impl std::error::Error for ParseError {}

/// The operating system's random number generator failed (see [`SchemeKeypair::generate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntropyError(String);

impl fmt::Display for EntropyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot draw a random key seed: {}", self.0)
    }
}

impl std::error::Error for EntropyError {}

/// Checks an ed25519 signature (strict: no malleable or small-order keys).
pub fn ed25519_verify(signer: &AccountId, message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(&signer.0) else { return false };
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature)).is_ok()
}

/// Checks an SM2 signature (`r ‖ s`, GM/T 0003 with [`SM2_DEFAULT_DISTID`]) by a 33-byte
/// compressed public key. `false` for a key off the curve, or `r`/`s` zero or not below the order.
pub fn sm2_verify(public_key: &[u8; 33], message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(key) = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DEFAULT_DISTID, public_key) else { return false };
    let Ok(sig) = sm2::dsa::Signature::from_bytes(signature) else { return false };
    key.verify(message, &sig).is_ok()
}

/// Checks `signature` over `message` by `public_key` under `scheme`. `false` (never a panic) for
/// anything malformed: a key of the wrong length or not on the curve, a zero or out-of-range
/// scalar, a non-canonical encoding.
pub fn verify(scheme: Scheme, public_key: &[u8], message: &[u8], signature: &[u8; 64]) -> bool {
    match scheme {
        Scheme::Ed25519 => match <[u8; 32]>::try_from(public_key) {
            Ok(key) => ed25519_verify(&AccountId(key), message, signature),
            Err(_) => false,
        },
        Scheme::Sm2 => match <&[u8; 33]>::try_from(public_key) {
            Ok(key) => sm2_verify(key, message, signature),
            Err(_) => false,
        },
    }
}

/// The account a public key signs for: the key itself (ed25519), [`sm2_account_id`] (SM2).
/// `None` when the key has the wrong length for the scheme (the key is not checked further).
pub fn account_id(scheme: Scheme, public_key: &[u8]) -> Option<AccountId> {
    match scheme {
        Scheme::Ed25519 => <[u8; 32]>::try_from(public_key).ok().map(AccountId),
        Scheme::Sm2 => <&[u8; 33]>::try_from(public_key).ok().map(sm2_account_id),
    }
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

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.account())
    }
}

/// A key pair of either [`Scheme`], made from a 32-byte seed (what a key file stores).
///
/// ed25519: the seed is the ed25519 secret key, exactly as [`Keypair::from_seed`] takes it.
/// SM2: the seed, read big-endian, is the secret scalar `d` when `1 ≤ d ≤ n − 2` (GM/T 0003's
/// range; so a key file holds the same private key other SM2 tools import and export). The other
/// seeds — about one in 2³² — are hashed with SM3 and a counter until they give such a `d`, so
/// every seed makes a key and the same seed always makes the same key.
#[derive(Clone)]
pub struct SchemeKeypair(Inner);

#[derive(Clone)]
enum Inner {
    Ed25519(Keypair),
    Sm2 { seed: [u8; 32], key: sm2::dsa::SigningKey, public: [u8; 33] },
}

impl SchemeKeypair {
    /// A key from the operating system's random number generator.
    pub fn generate(scheme: Scheme) -> Result<Self, EntropyError> {
        let mut seed = [0u8; 32];
        rand_core::OsRng.try_fill_bytes(&mut seed).map_err(|e| EntropyError(e.to_string()))?;
        Ok(Self::from_seed(scheme, seed))
    }

    pub fn from_seed(scheme: Scheme, seed: [u8; 32]) -> Self {
        match scheme {
            Scheme::Ed25519 => SchemeKeypair(Inner::Ed25519(Keypair::from_seed(seed))),
            Scheme::Sm2 => {
                let key = sm2_signing_key(&seed);
                let point = sm2::CompressedPoint::from(&sm2::PublicKey::from(key.verifying_key()));
                let mut public = [0u8; 33];
                public.copy_from_slice(point.as_slice());
                SchemeKeypair(Inner::Sm2 { seed, key, public })
            }
        }
    }

    /// A deterministic key for tests, devnets and demos. ed25519: the same key as
    /// [`Keypair::from_name`]. SM2: the seed is SM3 of `"jjj/sm2-dev-key/"` ‖ the name.
    pub fn from_name(scheme: Scheme, name: &str) -> Self {
        match scheme {
            Scheme::Ed25519 => SchemeKeypair(Inner::Ed25519(Keypair::from_name(name))),
            Scheme::Sm2 => Self::from_seed(scheme, sm3(format!("jjj/sm2-dev-key/{name}").as_bytes())),
        }
    }

    pub fn scheme(&self) -> Scheme {
        match &self.0 {
            Inner::Ed25519(_) => Scheme::Ed25519,
            Inner::Sm2 { .. } => Scheme::Sm2,
        }
    }

    pub fn seed(&self) -> [u8; 32] {
        match &self.0 {
            Inner::Ed25519(k) => k.seed(),
            Inner::Sm2 { seed, .. } => *seed,
        }
    }

    /// The public key: 32 bytes (ed25519) or 33 bytes (SM2, compressed SEC1).
    pub fn public_key(&self) -> Vec<u8> {
        match &self.0 {
            Inner::Ed25519(k) => k.account().0.to_vec(),
            Inner::Sm2 { public, .. } => public.to_vec(),
        }
    }

    /// The account this key signs for: the public key (ed25519), [`sm2_account_id`] (SM2).
    pub fn account(&self) -> AccountId {
        match &self.0 {
            Inner::Ed25519(k) => k.account(),
            Inner::Sm2 { public, .. } => sm2_account_id(public),
        }
    }

    /// A 64-byte signature of `message`, for [`verify`] with [`Self::public_key`].
    ///
    /// SM2 signatures are deterministic (the nonce comes from RFC 6979 with SM3).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        match &self.0 {
            Inner::Ed25519(k) => k.key.sign(message).to_bytes(),
            Inner::Sm2 { key, .. } => sm2_sign(key, message),
        }
    }

    /// The ed25519 [`Keypair`] inside, for the APIs that take one; `None` for an SM2 key.
    pub fn as_ed25519(&self) -> Option<&Keypair> {
        match &self.0 {
            Inner::Ed25519(k) => Some(k),
            Inner::Sm2 { .. } => None,
        }
    }
}

impl From<Keypair> for SchemeKeypair {
    fn from(k: Keypair) -> Self {
        SchemeKeypair(Inner::Ed25519(k))
    }
}

impl fmt::Debug for SchemeKeypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SchemeKeypair({}, {})", self.scheme(), self.account())
    }
}

/// The SM2 signing key a seed makes (see [`SchemeKeypair`]).
fn sm2_signing_key(seed: &[u8; 32]) -> sm2::dsa::SigningKey {
    let mut candidate = *seed;
    let mut counter: u32 = 0;
    loop {
        if let Some(key) = sm2_key_in_range(&candidate) {
            return key;
        }
        // Out of range (zero, n − 1, or ≥ n): rehash. Each try fails with probability ~2⁻³².
        let mut h = sm3::Sm3::new();
        h.update(b"jjj/sm2-seed");
        h.update(seed);
        h.update(counter.to_be_bytes());
        candidate = h.finalize().into();
        counter = counter.wrapping_add(1);
    }
}

/// `d` read big-endian as an SM2 signing key, when `1 ≤ d ≤ n − 2` (at `n − 1`, `1 + d` has no
/// inverse and no signature could be made).
fn sm2_key_in_range(d: &[u8; 32]) -> Option<sm2::dsa::SigningKey> {
    let scalar = sm2::NonZeroScalar::try_from(d.as_slice()).ok()?;
    if bool::from((*scalar + sm2::Scalar::ONE).is_zero()) {
        return None;
    }
    sm2::dsa::SigningKey::from_nonzero_scalar(SM2_DEFAULT_DISTID, scalar).ok()
}

/// Signs with RFC 6979's deterministic nonce. GM/T 0003 says to draw a new nonce when `r = 0`,
/// `r + k = n` or `s = 0`; the `sm2` crate returns an error there instead, so a retry mixes a
/// counter into the nonce derivation. Each retry is needed with probability ~2⁻²⁵⁶.
fn sm2_sign(key: &sm2::dsa::SigningKey, message: &[u8]) -> [u8; 64] {
    if let Ok(sig) = key.try_sign(message) {
        return sig.to_bytes();
    }
    for retry in 1..=16u64 {
        if let Ok(sig) = key.try_sign_with_rng(&mut RetryNonce(retry), message) {
            return sig.to_bytes();
        }
    }
    // Unreachable in practice; an all-zero signature is one `verify` rejects (r = 0).
    [0u8; 64]
}

/// The extra data RFC 6979 mixes into a retried SM2 nonce: a counter, so retries stay
/// deterministic. Only ever fed to `RandomizedSigner`, which uses it as added entropy, not as the
/// nonce itself.
struct RetryNonce(u64);

impl RngCore for RetryNonce {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for (i, b) in dest.iter_mut().enumerate() {
            *b = self.0.to_be_bytes()[i % 8];
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for RetryNonce {}

#[cfg(test)]
mod tests;
