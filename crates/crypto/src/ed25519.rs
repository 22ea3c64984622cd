//! ed25519 verification under one rule for single and batch checks: ZIP-215.
//!
//! A block's validity must not depend on how its signatures were grouped, so a signature that
//! passes alone passes in any batch and one that fails alone fails every batch it is in. The
//! cofactorless rule (`verify_strict`) cannot promise that: a key or `R` with a small-order
//! component can pass one equation and fail the other. ZIP-215 (the rule Zcash and
//! `ed25519-consensus` use) can, because it multiplies by the cofactor in both:
//!
//! - `A` and `R` are decoded as curve25519-dalek decodes them (a non-canonical `y` is reduced,
//!   "negative zero" accepted); a 32-byte string that is no point fails;
//! - `s` must be canonical (`s < ℓ`), which rules out malleating `s`;
//! - `k = SHA-512(R_bytes ‖ A_bytes ‖ M)` over the bytes as sent;
//! - single: `[8]([s]B − R − [k]A) = 0`; batch: `[8] Σ zᵢ([sᵢ]B − Rᵢ − [kᵢ]Aᵢ) = 0` with 128-bit
//!   `zᵢ` drawn from a hash of the whole batch (deterministic, and unknown until every item is
//!   fixed).
//!
//! Every signature an ed25519 signer makes passes; what the cofactor forgives (small-order
//! components, which a signer can add to its own key or `R`) gains an attacker nothing: it cannot
//! sign for a key it does not hold.
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};

/// A decoded verification key: the point, and the bytes the challenge hashes.
#[derive(Clone, Debug)]
pub struct VerifyKey {
    point: EdwardsPoint,
    bytes: [u8; 32],
}

impl VerifyKey {
    /// `None` when the bytes encode no curve point.
    pub fn parse(bytes: &[u8; 32]) -> Option<VerifyKey> {
        Some(VerifyKey { point: CompressedEdwardsY(*bytes).decompress()?, bytes: *bytes })
    }

    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Some((r, s)) = split(signature) else { return false };
        let k = challenge(&signature_r(signature), &self.bytes, message);
        // [s]B − [k]A − R, then the cofactor.
        let e = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-self.point, &s) - r;
        e.mul_by_cofactor().is_identity()
    }
}

/// One signature check (see the module's rule).
pub fn verify(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    VerifyKey::parse(key).is_some_and(|k| k.verify(message, signature))
}

/// One signature to check: `(key, message, signature)`.
pub type BatchItem<'a> = (&'a [u8; 32], &'a [u8], &'a [u8; 64]);

/// True exactly when every `(key, message, signature)` passes [`verify`] (up to a 2⁻¹²⁸ chance
/// that a batch holding a bad signature passes); cheaper per signature than one at a time from
/// a few signatures on. An empty batch passes.
pub fn verify_batch(items: &[BatchItem]) -> bool {
    if items.len() == 1 {
        let (key, message, signature) = items[0];
        return verify(key, message, signature);
    }
    // The weights come from everything in the batch, so no item can be chosen knowing them.
    let mut seed = Sha512::new();
    seed.update(b"jjj ed25519 batch weights");
    for (key, message, signature) in items {
        seed.update(key);
        seed.update(signature);
        seed.update(Sha512::digest(message));
    }
    let seed = seed.finalize();
    let mut scalars = Vec::with_capacity(2 * items.len() + 1);
    let mut points = Vec::with_capacity(2 * items.len() + 1);
    let mut basepoint_weight = Scalar::ZERO;
    for (i, (key, message, signature)) in items.iter().enumerate() {
        let Some(a) = CompressedEdwardsY(**key).decompress() else { return false };
        let Some((r, s)) = split(signature) else { return false };
        let k = challenge(&signature_r(signature), key, message);
        let mut z = [0u8; 32];
        let digest = Sha512::new().chain_update(seed).chain_update((i as u64).to_le_bytes()).finalize();
        z[..16].copy_from_slice(&digest[..16]);
        let z = Scalar::from_bytes_mod_order(z);
        basepoint_weight += z * s;
        scalars.push(-z);
        points.push(r);
        scalars.push(-(z * k));
        points.push(a);
    }
    scalars.push(basepoint_weight);
    points.push(curve25519_dalek::constants::ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).mul_by_cofactor().is_identity()
}

fn signature_r(signature: &[u8; 64]) -> [u8; 32] {
    let mut r = [0u8; 32];
    r.copy_from_slice(&signature[..32]);
    r
}

/// `R` decoded and `s` canonical, or `None`.
fn split(signature: &[u8; 64]) -> Option<(EdwardsPoint, Scalar)> {
    let r = CompressedEdwardsY(signature_r(signature)).decompress()?;
    let mut s = [0u8; 32];
    s.copy_from_slice(&signature[32..]);
    Option::from(Scalar::from_canonical_bytes(s)).map(|s| (r, s))
}

fn challenge(r: &[u8; 32], key: &[u8; 32], message: &[u8]) -> Scalar {
    Scalar::from_hash(Sha512::new().chain_update(r).chain_update(key).chain_update(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};

    /// A signature made by hand with secret scalar `a` and nonce `r` for the key `a_point` (which
    /// may carry a small-order part the secret does not know of) and nonce point `r_point`.
    fn sign_raw(
        a: Scalar,
        a_point: EdwardsPoint,
        r: Scalar,
        r_point: EdwardsPoint,
        msg: &[u8],
    ) -> ([u8; 32], [u8; 64]) {
        let key = a_point.compress().to_bytes();
        let r_bytes = r_point.compress().to_bytes();
        let k = challenge(&r_bytes, &key, msg);
        let s = r + k * a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice(s.as_bytes());
        (key, sig)
    }

    type Case = (&'static str, [u8; 32], Vec<u8>, [u8; 64]);

    /// Valid signatures, the small-order and non-canonical cases that separate the cofactored
    /// and cofactorless rules, and outright forgeries.
    fn cases() -> Vec<Case> {
        let msg = b"pay bill 7".to_vec();
        let a = Scalar::from(12345u64);
        let r = Scalar::from(777u64);
        let mut out = Vec::new();
        let (k, s) = sign_raw(a, a * B, r, r * B, &msg);
        out.push(("valid", k, msg.clone(), s));
        // A key with an 8-torsion part: passes cofactored, fails cofactorless.
        let (k, s) = sign_raw(a, a * B + EIGHT_TORSION[1], r, r * B, &msg);
        out.push(("mixed-order key", k, msg.clone(), s));
        // R with a torsion part.
        let (k, s) = sign_raw(a, a * B, r, r * B + EIGHT_TORSION[3], &msg);
        out.push(("mixed-order R", k, msg.clone(), s));
        // A small-order key and R with s = 0: anyone can make it; ZIP-215 accepts it.
        let (k, mut s) = sign_raw(Scalar::ZERO, EIGHT_TORSION[2], Scalar::ZERO, EIGHT_TORSION[4], &msg);
        s[32..].copy_from_slice(Scalar::ZERO.as_bytes());
        out.push(("small-order key and R", k, msg.clone(), s));
        // s + ℓ: the same point, a non-canonical scalar: refused.
        let (k, mut s) = sign_raw(a, a * B, r, r * B, &msg);
        let mut wide = [0u8; 32];
        wide.copy_from_slice(&s[32..]);
        let l = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for i in 0..32 {
            let v = wide[i] as u16 + l[i] as u16 + carry;
            wide[i] = v as u8;
            carry = v >> 8;
        }
        s[32..].copy_from_slice(&wide);
        out.push(("non-canonical s", k, msg.clone(), s));
        // The identity's non-canonical encoding y = p + 1 (canonical: y = 1) as the key.
        let mut noncanon = [0xffu8; 32];
        noncanon[0] = 0xee;
        noncanon[31] = 0x7f;
        let (_, sig) = sign_raw(Scalar::ZERO, EdwardsPoint::default(), Scalar::ZERO, EdwardsPoint::default(), &msg);
        // With the identity as key and R, and s = 0, every term is zero whatever k is.
        out.push(("non-canonical identity key", noncanon, msg.clone(), sig));
        // Forgeries: wrong message, flipped bit in s, a key that is no point.
        let (k, s) = sign_raw(a, a * B, r, r * B, &msg);
        out.push(("wrong message", k, b"pay bill 8".to_vec(), s));
        let mut bad = s;
        bad[40] ^= 1;
        out.push(("flipped s", k, msg.clone(), bad));
        let mut off_curve = k;
        let mut found = false;
        for b in 0..=255u8 {
            off_curve[0] = b;
            if CompressedEdwardsY(off_curve).decompress().is_none() {
                found = true;
                break;
            }
        }
        assert!(found);
        out.push(("key off the curve", off_curve, msg, s));
        out
    }

    #[test]
    fn the_cofactored_rule_on_edge_cases() {
        let verdicts: Vec<(&str, bool)> = cases().iter().map(|(n, k, m, s)| (*n, verify(k, m, s))).collect();
        let expect = [
            ("valid", true),
            ("mixed-order key", true),
            ("mixed-order R", true),
            ("small-order key and R", true),
            ("non-canonical s", false),
            ("non-canonical identity key", true),
            ("wrong message", false),
            ("flipped s", false),
            ("key off the curve", false),
        ];
        assert_eq!(verdicts, expect);
    }

    /// Every subset of the cases, batched, passes exactly when each of its items passes alone.
    #[test]
    fn single_and_batch_verdicts_agree() {
        let cases = cases();
        assert!(verify_batch(&[]));
        for mask in 1u32..(1 << cases.len()) {
            let items: Vec<BatchItem> = cases
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, (_, k, m, s))| (k, &m[..], s))
                .collect();
            let alone = items.iter().all(|(k, m, s)| verify(k, m, s));
            assert_eq!(verify_batch(&items), alone, "subset {mask:#b}");
        }
    }

    /// What the signer makes verifies under this rule, alone and in a batch of many.
    #[test]
    fn dalek_signatures_verify() {
        use ed25519_dalek::Signer as _;
        let keys: Vec<ed25519_dalek::SigningKey> =
            (0..40u8).map(|i| ed25519_dalek::SigningKey::from_bytes(&[i; 32])).collect();
        let msgs: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; i as usize]).collect();
        let sigs: Vec<[u8; 64]> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m).to_bytes()).collect();
        let pubs: Vec<[u8; 32]> = keys.iter().map(|k| k.verifying_key().to_bytes()).collect();
        let items: Vec<BatchItem> = (0..40).map(|i| (&pubs[i], &msgs[i][..], &sigs[i])).collect();
        assert!(items.iter().all(|(k, m, s)| verify(k, m, s)));
        assert!(verify_batch(&items));
        let mut bad = sigs.clone();
        bad[17][3] ^= 1;
        let items: Vec<BatchItem> = (0..40).map(|i| (&pubs[i], &msgs[i][..], &bad[i])).collect();
        assert!(!verify_batch(&items), "one bad signature fails the batch");
    }
}
