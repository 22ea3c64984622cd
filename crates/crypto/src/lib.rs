//! jjj-crypto: the chain's signature suites, and the hashes contracts may ask for.
//!
//! A network runs one [`Suite`]: a signature [`Scheme`] paired with the 32-byte hash it goes with.
//!
//! - `ed25519+blake2b` ([`Suite::Ed25519Blake2b`]): ed25519, verified under ZIP-215's cofactored
//!   rule so that one signature and a batch always agree (see [`ed25519`]), and BLAKE2b-256 ([`blake2_256`], the chain's own hash, which
//!   lives in `jjj_primitives` and is re-exported here). An account id is the 32-byte public key.
//! - `sm2+sm3` ([`Suite::Sm2Sm3`]): the 国密 suite. SM2 signatures as GM/T 0003 defines them (the
//!   signer's Z value from the default distinguishing ID [`SM2_DEFAULT_DISTID`], then SM3 of
//!   `Z ‖ M`) and the SM3 hash ([`sm3()`], GM/T 0004). A jjj SM2 key's point has an even y, so
//!   its 32-byte x is its account id (see [`Keypair`]).
//!
//! Account ids are 32 bytes and signatures 64 bytes in both schemes (ed25519's `R ‖ S`, SM2's
//! `r ‖ s`), so `jjj_primitives::Signature` fits either. [`Keypair`] signs transactions,
//! approvals, consensus votes and p2p identities; [`verify`] (or a [`PublicKey`] parsed once)
//! checks them under the network's scheme, returning `false` on any malformed input, never
//! panicking. [`sha256`] is for contracts.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::fmt;
use std::str::FromStr;

pub mod ed25519;

use ed25519_dalek::{Signer as _, SigningKey};
use jjj_primitives::access::{ReadRequest, SignedRead};
pub use jjj_primitives::blake2_256;
use jjj_primitives::{AccountId, NetworkId, Signature, SignedTransaction, Transaction};
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use sha2::Digest;
use sm2::dsa::signature::{RandomizedSigner as _, Verifier as _};
use sm2::elliptic_curve::rand_core::{self, CryptoRng, RngCore};

pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

pub use jjj_primitives::{sm3, HashAlgo};

/// The distinguishing ID every jjj SM2 signature is made and checked with: GM/T 0009's default
/// user ID, the one other SM2 implementations use when none is agreed.
pub const SM2_DEFAULT_DISTID: &str = "1234567812345678";

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
    /// The scheme's one-byte code: its SCALE encoding (0 ed25519, 1 sm2).
    pub fn code(self) -> u8 {
        match self {
            Scheme::Ed25519 => 0,
            Scheme::Sm2 => 1,
        }
    }

    pub fn from_code(code: u8) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.code() == code)
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
    pub fn hash_algo(self) -> HashAlgo {
        match self {
            Suite::Ed25519Blake2b => HashAlgo::Blake2b256,
            Suite::Sm2Sm3 => HashAlgo::Sm3,
        }
    }
    pub fn hash(self, data: &[u8]) -> [u8; 32] {
        self.hash_algo().hash(data).0
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

/// The environment variable that picks the suite of the chain-level tests.
pub const TEST_SUITE_VAR: &str = "JJJ_TEST_SUITE";

/// The suite chain-level tests run with: `JJJ_TEST_SUITE` = `ed25519+blake2b` (the default) or
/// `sm2+sm3`. `scripts/test.sh` runs them under both. For tests and simulations only: a node
/// takes its suite from the genesis.
#[allow(clippy::panic)] // Tests only: a typo must fail them, not silently run the default.
pub fn test_suite() -> Suite {
    match std::env::var(TEST_SUITE_VAR) {
        Ok(s) if !s.trim().is_empty() => s.parse().unwrap_or_else(|e| panic!("{TEST_SUITE_VAR}: {e}")),
        _ => Suite::Ed25519Blake2b,
    }
}

/// The hash of [`test_suite`].
pub fn test_hash_algo() -> HashAlgo {
    test_suite().hash_algo()
}

/// A deterministic key named `name` in the scheme of [`test_suite`].
pub fn test_key(name: &str) -> Keypair {
    Keypair::named(test_suite().scheme(), name)
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

/// The operating system's random number generator failed (see [`Keypair::generate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntropyError(String);

impl fmt::Display for EntropyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot draw a random key seed: {}", self.0)
    }
}

impl std::error::Error for EntropyError {}

/// Checks an SM2 signature (`r ‖ s`, GM/T 0003 with [`SM2_DEFAULT_DISTID`]) by a 33-byte
/// compressed public key of any y parity (as other SM2 tools write them). `false` for a key off
/// the curve, or `r`/`s` zero or not below the order.
pub fn sm2_verify(public_key: &[u8; 33], message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(key) = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DEFAULT_DISTID, public_key) else { return false };
    let Ok(sig) = sm2::dsa::Signature::from_bytes(signature) else { return false };
    key.verify(message, &sig).is_ok()
}

/// The 33-byte compressed SEC1 point of a jjj SM2 key: even y (`0x02`), then x = the account id.
pub fn sm2_public_key(account: &AccountId) -> [u8; 33] {
    let mut key = [0x02u8; 33];
    key[1..].copy_from_slice(&account.0);
    key
}

/// Checks `signature` over `message` by the key `signer` names under `scheme`. `false` (never a
/// panic) for anything malformed: a key not on the curve, a zero or out-of-range scalar, a
/// non-canonical encoding.
pub fn verify(scheme: Scheme, signer: &AccountId, message: &[u8], signature: &[u8; 64]) -> bool {
    match scheme {
        Scheme::Ed25519 => ed25519::verify(&signer.0, message, signature),
        Scheme::Sm2 => sm2_verify(&sm2_public_key(signer), message, signature),
    }
}

/// One signature to check: `(signer, message, signature)`.
pub type BatchItem<'a> = (&'a AccountId, &'a [u8], &'a [u8; 64]);

/// True exactly when every `(signer, message, signature)` passes [`verify`]: ed25519 checks them
/// in one batch (about half the work per signature from a few dozen on; the verdict is the
/// same, see [`ed25519`]); SM2, which has no batch equation, one at a time. A caller that needs
/// to know which failed asks [`verify`] for each after a `false`.
pub fn verify_batch(scheme: Scheme, items: &[BatchItem]) -> bool {
    match scheme {
        Scheme::Ed25519 => {
            let items: Vec<ed25519::BatchItem> = items.iter().map(|(a, m, s)| (&a.0, *m, *s)).collect();
            ed25519::verify_batch(&items)
        }
        Scheme::Sm2 => items.iter().all(|(a, m, s)| verify(scheme, a, m, s)),
    }
}

/// A public key parsed once (an ed25519 point decompressed, an SM2 point with its Z value), for a
/// verifier that checks many signatures by the same keys: consensus votes by validators.
#[derive(Clone, Debug)]
pub struct PublicKey(ParsedKey);

#[derive(Clone, Debug)]
enum ParsedKey {
    Ed25519(ed25519::VerifyKey),
    Sm2(Box<sm2::dsa::VerifyingKey>),
}

impl PublicKey {
    /// `None` when `signer` is no valid key of `scheme`.
    pub fn parse(scheme: Scheme, signer: &AccountId) -> Option<PublicKey> {
        Some(PublicKey(match scheme {
            Scheme::Ed25519 => ParsedKey::Ed25519(ed25519::VerifyKey::parse(&signer.0)?),
            Scheme::Sm2 => ParsedKey::Sm2(Box::new(
                sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DEFAULT_DISTID, &sm2_public_key(signer)).ok()?,
            )),
        }))
    }

    /// The same answer as [`verify`] with the key this was parsed from.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        match &self.0 {
            ParsedKey::Ed25519(k) => k.verify(message, signature),
            ParsedKey::Sm2(k) => match sm2::dsa::Signature::from_bytes(signature) {
                Ok(sig) => k.verify(message, &sig).is_ok(),
                Err(_) => false,
            },
        }
    }
}

/// A key pair of either [`Scheme`], made from a 32-byte seed (what a key file stores). It signs
/// transactions, approvals, consensus votes and p2p identities; the network's suite says which
/// scheme its keys must be.
///
/// ed25519: the seed is the ed25519 secret key; the account id is the public key.
/// SM2: the account id is the public point's x coordinate, and the point's y is always even, so
/// the id alone names the key (as BIP 340 does for Schnorr keys) and ids stay 32 bytes in both
/// schemes. The seed, read big-endian, is the secret scalar `d` when `1 ≤ d ≤ n − 2` (GM/T 0003's
/// range) and `d·G` has an even y; when y is odd the key is `n − d` (the same x, even y). Other
/// seeds — about one in 2³² — are hashed with SM3 and a counter until they give such a `d`, so
/// every seed makes a key and the same seed always makes the same key.
#[derive(Clone)]
pub struct Keypair(Inner);

#[derive(Clone)]
enum Inner {
    Ed25519(SigningKey),
    Sm2 { seed: [u8; 32], key: sm2::dsa::SigningKey, x: [u8; 32] },
}

impl Keypair {
    /// An ed25519 key from its seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Keypair(Inner::Ed25519(SigningKey::from_bytes(&seed)))
    }

    /// A deterministic ed25519 key for tests, devnets and demos: the seed is blake2b-256 of the name.
    pub fn from_name(name: &str) -> Self {
        Self::from_seed(blake2_256(format!("jjj/dev-key/{name}").as_bytes()).0)
    }

    /// A key of `scheme` from its seed.
    pub fn new(scheme: Scheme, seed: [u8; 32]) -> Self {
        match scheme {
            Scheme::Ed25519 => Self::from_seed(seed),
            Scheme::Sm2 => {
                let (key, x) = sm2_signing_key(&seed);
                Keypair(Inner::Sm2 { seed, key, x })
            }
        }
    }

    /// A deterministic key of `scheme` for tests, devnets and demos. ed25519: [`Keypair::from_name`].
    /// SM2: the seed is SM3 of `"jjj/sm2-dev-key/"` ‖ the name.
    pub fn named(scheme: Scheme, name: &str) -> Self {
        match scheme {
            Scheme::Ed25519 => Self::from_name(name),
            Scheme::Sm2 => Self::new(scheme, sm3(format!("jjj/sm2-dev-key/{name}").as_bytes()).0),
        }
    }

    /// A key from the operating system's random number generator.
    pub fn generate(scheme: Scheme) -> Result<Self, EntropyError> {
        let mut seed = [0u8; 32];
        rand_core::OsRng.try_fill_bytes(&mut seed).map_err(|e| EntropyError(e.to_string()))?;
        Ok(Self::new(scheme, seed))
    }

    pub fn scheme(&self) -> Scheme {
        match &self.0 {
            Inner::Ed25519(_) => Scheme::Ed25519,
            Inner::Sm2 { .. } => Scheme::Sm2,
        }
    }

    pub fn seed(&self) -> [u8; 32] {
        match &self.0 {
            Inner::Ed25519(k) => k.to_bytes(),
            Inner::Sm2 { seed, .. } => *seed,
        }
    }

    /// The account this key signs for: the ed25519 public key, or the SM2 point's x.
    pub fn account(&self) -> AccountId {
        match &self.0 {
            Inner::Ed25519(k) => AccountId(k.verifying_key().to_bytes()),
            Inner::Sm2 { x, .. } => AccountId(*x),
        }
    }

    /// The public key as other tools write it: 32 bytes (ed25519), 33 (SM2, compressed SEC1).
    pub fn public_key(&self) -> Vec<u8> {
        match &self.0 {
            Inner::Ed25519(k) => k.verifying_key().to_bytes().to_vec(),
            Inner::Sm2 { x, .. } => sm2_public_key(&AccountId(*x)).to_vec(),
        }
    }

    /// A 64-byte signature of `message` with this key's account, for [`verify`].
    /// Both schemes sign deterministically (SM2's nonce comes from RFC 6979 with SM3).
    pub fn sign(&self, message: &[u8]) -> Signature {
        let signature = match &self.0 {
            Inner::Ed25519(k) => k.sign(message).to_bytes(),
            Inner::Sm2 { key, .. } => sm2_sign(key, message),
        };
        Signature { signer: self.account(), signature }
    }

    /// Signs a transaction alone (a key account's transaction).
    pub fn sign_tx(&self, tx: Transaction) -> SignedTransaction {
        let signature = self.sign(&tx.signing_payload());
        SignedTransaction { tx, signatures: vec![signature] }
    }

    /// A read request for `input` to `contract` on `network`, by this key's account, signed:
    /// what a protected query needs (`contract_query`'s `read`). `nonce` must be new for this
    /// reader within the node's window; `issued_at_ms` is now.
    pub fn sign_read(
        &self,
        network: NetworkId,
        contract: AccountId,
        input: &[u8],
        issued_at_ms: u64,
        nonce: u64,
    ) -> SignedRead {
        let input_hash = self.scheme().suite().hash_algo().hash(input);
        let request = ReadRequest { network, reader: self.account(), contract, input_hash, issued_at_ms, nonce };
        SignedRead { signature: self.sign(&request.signing_payload()), request }
    }
}

/// What starts the text of an SM2 key (`sm2:` and the hex seed); an ed25519 key's text is the
/// hex seed alone. See [`Keypair::from_key_text`].
pub const SM2_KEY_PREFIX: &str = "sm2:";

/// Why a key's text is no key (see [`Keypair::from_key_text`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyTextError {
    /// The seed is not hex: why, worded as the `hex` crate words it ("Odd number of digits",
    /// "Invalid character 'x' at position 3").
    NotHex(String),
    /// The seed is hex but not 32 bytes.
    NotSeed,
}

impl fmt::Display for KeyTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyTextError::NotHex(why) => write!(f, "key text is not hex: {why}"),
            KeyTextError::NotSeed => f.write_str("key text is not a 32-byte seed"),
        }
    }
}

impl std::error::Error for KeyTextError {}

impl Keypair {
    /// A key from its text, what a key file holds (`jjj key new`, `jjj_config::load_key`):
    /// [`SM2_KEY_PREFIX`] and the 32-byte seed as hex for an SM2 key, the hex seed alone for an
    /// ed25519 key. Surrounding whitespace and a `0x` before the hex are allowed; hex digits of
    /// either case.
    pub fn from_key_text(text: &str) -> Result<Keypair, KeyTextError> {
        let t = text.trim();
        let (scheme, hex_seed) = match t.strip_prefix(SM2_KEY_PREFIX) {
            Some(rest) => (Scheme::Sm2, rest),
            None => (Scheme::Ed25519, t),
        };
        let bytes = decode_hex(hex_seed.strip_prefix("0x").unwrap_or(hex_seed)).map_err(KeyTextError::NotHex)?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyTextError::NotSeed)?;
        Ok(Keypair::new(scheme, seed))
    }

    /// This key's text, the inverse of [`Keypair::from_key_text`] (one line, no newline):
    /// `sm2:` and the lowercase hex seed for SM2, the hex seed alone for ed25519. It holds the
    /// secret seed.
    pub fn key_text(&self) -> String {
        let prefix = match self.scheme() {
            Scheme::Sm2 => SM2_KEY_PREFIX,
            Scheme::Ed25519 => "",
        };
        let mut text = String::with_capacity(prefix.len() + 64);
        text.push_str(prefix);
        for b in self.seed() {
            text.push(HEX_DIGITS[usize::from(b >> 4)] as char);
            text.push(HEX_DIGITS[usize::from(b & 0xf)] as char);
        }
        text
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Hex (either case) to bytes, failing as `hex::decode` does and with its words, so key errors
/// read the same as before the parsing moved here (this crate does not depend on `hex`).
fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digits = hex.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err("Odd number of digits".to_string());
    }
    let val = |c: u8, index: usize| match c {
        b'A'..=b'F' => Ok(c - b'A' + 10),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'0'..=b'9' => Ok(c - b'0'),
        _ => Err(format!("Invalid character {:?} at position {index}", c as char)),
    };
    digits
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| Ok((val(pair[0], 2 * i)? << 4) | val(pair[1], 2 * i + 1)?))
        .collect()
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({}, {})", self.scheme(), self.account())
    }
}

/// The SM2 signing key a seed makes and its x (see [`Keypair`]).
fn sm2_signing_key(seed: &[u8; 32]) -> (sm2::dsa::SigningKey, [u8; 32]) {
    let mut candidate = *seed;
    let mut counter: u32 = 0;
    loop {
        if let Some(key) = sm2_even_key(&candidate) {
            return key;
        }
        // Out of range (zero, 1, n − 1, or ≥ n): rehash. Each try fails with probability ~2⁻³².
        let mut h = sm3::Sm3::new();
        h.update(b"jjj/sm2-seed");
        h.update(seed);
        h.update(counter.to_be_bytes());
        candidate = h.finalize().into();
        counter = counter.wrapping_add(1);
    }
}

/// `d` read big-endian, or `n − d` when `d·G` has an odd y, as an SM2 signing key with its x;
/// `None` unless both `d` and `n − d` lie in `1 ..= n − 2` (at `n − 1`, `1 + d` has no inverse and
/// no signature could be made).
fn sm2_even_key(d: &[u8; 32]) -> Option<(sm2::dsa::SigningKey, [u8; 32])> {
    let scalar = sm2::NonZeroScalar::try_from(d.as_slice()).ok()?;
    let negated = Option::<sm2::NonZeroScalar>::from(sm2::NonZeroScalar::new(-*scalar))?;
    for s in [scalar, negated] {
        if bool::from((*s + sm2::Scalar::ONE).is_zero()) {
            return None;
        }
    }
    let point = sm2::CompressedPoint::from(&sm2::PublicKey::from_secret_scalar(&scalar));
    let even = if point[0] == 0x02 { scalar } else { negated };
    let key = sm2::dsa::SigningKey::from_nonzero_scalar(SM2_DEFAULT_DISTID, even).ok()?;
    let mut x = [0u8; 32];
    x.copy_from_slice(&point[1..]);
    Some((key, x))
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

#[cfg(test)]
mod key_text_tests {
    use super::*;

    #[test]
    fn key_text_round_trips_in_both_schemes_and_refuses_what_is_no_seed() {
        for scheme in Scheme::ALL {
            let key = Keypair::named(scheme, "key-text");
            let text = key.key_text();
            assert_eq!(text.starts_with(SM2_KEY_PREFIX), scheme == Scheme::Sm2);
            let back = Keypair::from_key_text(&format!("  {text}\n")).expect("round trip");
            assert_eq!((back.scheme(), back.account(), back.seed()), (scheme, key.account(), key.seed()));
            let upper = text.to_uppercase().replace("SM2:", SM2_KEY_PREFIX);
            let prefixed = match text.strip_prefix(SM2_KEY_PREFIX) {
                Some(hex) => format!("{SM2_KEY_PREFIX}0x{hex}"),
                None => format!("0x{text}"),
            };
            for variant in [upper, prefixed] {
                assert_eq!(Keypair::from_key_text(&variant).expect("variant").account(), key.account(), "{variant}");
            }
        }
        let err = |t: &str| Keypair::from_key_text(t).map(|k| k.account()).expect_err(t);
        assert_eq!(err("abc"), KeyTextError::NotHex("Odd number of digits".into()));
        assert_eq!(err("00zz"), KeyTextError::NotHex("Invalid character 'z' at position 2".into()));
        assert_eq!(err("sm2:0011"), KeyTextError::NotSeed);
        assert_eq!(err(""), KeyTextError::NotSeed);
        assert_eq!(err("ed25519:00").to_string(), "key text is not hex: Invalid character ':' at position 7");
    }
}
