use super::*;

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    let s: String = s.split_whitespace().collect();
    assert_eq!(s.len(), 2 * N, "{s}");
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v[bit / 8] ^= 1 << (bit % 8);
    v
}

fn other(scheme: Scheme) -> Scheme {
    if scheme == Scheme::Sm2 {
        Scheme::Ed25519
    } else {
        Scheme::Sm2
    }
}

#[test]
fn sign_verify_roundtrip_both_schemes() {
    for scheme in Scheme::ALL {
        let k = Keypair::named(scheme, "alice");
        assert_eq!(k.scheme(), scheme);
        for msg in [&b""[..], b"hello", &[7u8; 1000]] {
            let sig = k.sign(msg);
            assert_eq!(sig.signer, k.account());
            assert!(verify(scheme, &k.account(), msg, &sig.signature), "{scheme}");
            let parsed = PublicKey::parse(scheme, &k.account()).unwrap();
            assert!(parsed.verify(msg, &sig.signature), "{scheme}");
            // The other scheme does not accept it.
            assert!(!verify(other(scheme), &k.account(), msg, &sig.signature), "{scheme}");
        }
        // A seed round trip gives the same key.
        let again = Keypair::new(scheme, k.seed());
        assert_eq!(again.public_key(), k.public_key());
        assert_eq!(again.account(), k.account());
    }
}

#[test]
fn flipped_bits_fail() {
    for scheme in Scheme::ALL {
        let k = Keypair::named(scheme, "bob");
        let msg = b"transfer 10 to carol";
        let sig = k.sign(msg).signature;
        let key = k.account();
        let parsed = PublicKey::parse(scheme, &key).unwrap();
        for bit in [0, 7, 8 * msg.len() - 1] {
            assert!(!verify(scheme, &key, &flip(msg, bit), &sig), "{scheme} msg bit {bit}");
            assert!(!parsed.verify(&flip(msg, bit), &sig), "{scheme} msg bit {bit}");
        }
        for bit in [0, 100, 255, 256, 300, 511] {
            let bad: [u8; 64] = flip(&sig, bit).try_into().unwrap();
            assert!(!verify(scheme, &key, msg, &bad), "{scheme} sig bit {bit}");
            assert!(!parsed.verify(msg, &bad), "{scheme} sig bit {bit}");
        }
        for bit in 0..256 {
            let flipped = AccountId(flip(&key.0, bit).try_into().unwrap());
            assert!(!verify(scheme, &flipped, msg, &sig), "{scheme} key bit {bit}");
        }
    }
}

#[test]
fn malformed_keys_and_signatures_are_false_not_panics() {
    let msg = b"m";
    for scheme in Scheme::ALL {
        let k = Keypair::named(scheme, "dave");
        let sig = k.sign(msg).signature;
        let key = k.account();
        for fill in [0x00u8, 0x02, 0x03, 0x04, 0xff] {
            assert!(!verify(scheme, &AccountId([fill; 32]), msg, &sig), "{scheme} fill {fill:#x}");
        }
        // Zero, all-ones (not below the order) and half-zero signatures.
        let mut r_zero = sig;
        r_zero[..32].fill(0);
        let mut s_zero = sig;
        s_zero[32..].fill(0);
        for bad in [[0u8; 64], [0xff; 64], r_zero, s_zero] {
            assert!(!verify(scheme, &key, msg, &bad), "{scheme}");
        }
    }
    // SM2: an x with no point on the curve is no key.
    let mut off_curve = 0;
    for x in 0u8..=255 {
        let id = AccountId([x; 32]);
        if sm2::PublicKey::from_sec1_bytes(&sm2_public_key(&id)).is_err() {
            off_curve += 1;
            assert!(!verify(Scheme::Sm2, &id, msg, &[1u8; 64]));
            assert!(PublicKey::parse(Scheme::Sm2, &id).is_none());
        }
    }
    assert!(off_curve > 0);
    let k = Keypair::named(Scheme::Sm2, "dave");
    let mut tagged = k.public_key();
    tagged[0] = 0x04;
    let tagged: [u8; 33] = tagged.try_into().unwrap();
    assert!(!sm2_verify(&tagged, msg, &k.sign(msg).signature));
}

#[test]
fn sm2_dev_keys_are_deterministic_distinct_and_x_only() {
    let a = Keypair::named(Scheme::Sm2, "alice");
    let b = Keypair::named(Scheme::Sm2, "alice");
    assert_eq!(a.seed(), b.seed());
    assert_eq!(a.public_key(), b.public_key());
    assert_eq!(a.sign(b"x"), b.sign(b"x"), "RFC 6979 nonces: the same signature twice");
    assert_eq!(a.seed(), sm3(b"jjj/sm2-dev-key/alice").0);
    let c = Keypair::named(Scheme::Sm2, "bob");
    assert_ne!(a.account(), c.account());
    // Every jjj SM2 key has an even y, so its x is the whole key.
    for name in ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"] {
        let k = Keypair::named(Scheme::Sm2, name);
        let public = k.public_key();
        assert_eq!(public[0], 0x02, "{name}");
        assert_eq!(&public[1..], &k.account().0[..]);
        assert!(sm2_verify(&public.try_into().unwrap(), b"m", &k.sign(b"m").signature));
    }
}

#[test]
fn ed25519_keys_are_the_seed_and_the_public_key() {
    let s = Keypair::named(Scheme::Ed25519, "alice");
    let k = Keypair::from_name("alice");
    assert_eq!(s.seed(), k.seed());
    assert_eq!(s.account(), k.account());
    assert_eq!(s.public_key(), k.account().0.to_vec());
    assert_eq!(Keypair::new(Scheme::Ed25519, k.seed()).account(), k.account());
}

#[test]
fn sm2_seeds_out_of_range_still_make_keys() {
    // n − 1, n and 2²⁵⁶ − 1 are no usable SM2 scalars; zero neither; nor 1 (its negation is n − 1).
    let n_minus_1 = unhex::<32>("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF 7203DF6B 21C6052B 53BBF409 39D54122");
    let n = unhex::<32>("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF 7203DF6B 21C6052B 53BBF409 39D54123");
    let mut one = [0u8; 32];
    one[31] = 1;
    for seed in [[0u8; 32], one, n_minus_1, n, [0xff; 32]] {
        let k = Keypair::new(Scheme::Sm2, seed);
        assert_eq!(k.seed(), seed);
        let sig = k.sign(b"m");
        assert!(verify(Scheme::Sm2, &k.account(), b"m", &sig.signature));
        assert_eq!(Keypair::new(Scheme::Sm2, seed).public_key(), k.public_key());
    }
    // An in-range seed with an even point is the secret scalar itself: d = 2 gives 2G.
    let mut two = [0u8; 32];
    two[31] = 2;
    let two_g = sm2::CompressedPoint::from(&sm2::PublicKey::from_secret_scalar(
        &sm2::NonZeroScalar::try_from(two.as_slice()).unwrap(),
    ));
    let k = Keypair::new(Scheme::Sm2, two);
    assert_eq!(&k.public_key()[1..], &two_g[1..], "d and n − d share x");
}

#[test]
fn sm2_verifies_the_standard_example() {
    // GB/T 32918.2-2016 / GM/T 0003 example on the recommended curve: ID "1234567812345678",
    // message "message digest".
    let d = unhex::<32>("3945208F 7B2144B1 3F36E38A C6D39F95 88939369 2860B51A 42FB81EF 4DF7C5B8");
    let sig = unhex::<64>(
        "F5A03B06 48D2C463 0EEAC513 E1BB81A1 5944DA38 27D5B741 43AC7EAC EEE720B3
         B1B6AA29 DF212FD8 763182BC 0D421CA1 BB9038FD 1F7F42D4 840B69C4 85BBC1AA",
    );
    let point = sm2::CompressedPoint::from(&sm2::PublicKey::from_secret_scalar(
        &sm2::NonZeroScalar::try_from(d.as_slice()).unwrap(),
    ));
    let public: [u8; 33] = point.as_slice().try_into().unwrap();
    assert!(sm2_verify(&public, b"message digest", &sig));
    assert!(!sm2_verify(&public, b"message digesT", &sig));
    // jjj's key from the same seed has the same x, and signs what verifies under that x.
    let k = Keypair::new(Scheme::Sm2, d);
    assert_eq!(&k.account().0[..], &public[1..]);
    assert!(verify(Scheme::Sm2, &k.account(), b"message digest", &k.sign(b"message digest").signature));
}

#[test]
fn sm3_known_answers() {
    // GM/T 0004-2012, examples 1 and 2.
    assert_eq!(sm3(b"abc").0, unhex("66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0"));
    assert_eq!(
        sm3(&b"abcd".repeat(16)).0,
        unhex("debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732")
    );
}

#[test]
fn suite_hashes_differ() {
    let data = [42u8; 32];
    assert_eq!(Suite::Ed25519Blake2b.hash(&data), blake2_256(&data).0);
    assert_eq!(Suite::Sm2Sm3.hash(&data), sm3(&data).0);
    assert_ne!(Suite::Ed25519Blake2b.hash(&data), Suite::Sm2Sm3.hash(&data));
    assert_eq!(Suite::Sm2Sm3.scheme(), Scheme::Sm2);
    assert_eq!(Suite::Ed25519Blake2b.scheme(), Scheme::Ed25519);
    for s in Scheme::ALL {
        assert_eq!(s.suite().scheme(), s);
    }
}

#[test]
fn names_parse_and_print() {
    assert_eq!("sm2".parse::<Scheme>(), Ok(Scheme::Sm2));
    assert_eq!("ed25519".parse::<Scheme>(), Ok(Scheme::Ed25519));
    assert_eq!("SM2".parse::<Scheme>(), Ok(Scheme::Sm2));
    let err = "rsa".parse::<Scheme>().unwrap_err().to_string();
    assert!(err.contains("rsa") && err.contains("ed25519") && err.contains("sm2"), "{err}");
    for s in Scheme::ALL {
        assert_eq!(s.to_string().parse::<Scheme>(), Ok(s));
    }

    assert_eq!(Suite::Ed25519Blake2b.to_string(), "ed25519+blake2b");
    assert_eq!(Suite::Sm2Sm3.to_string(), "sm2+sm3");
    assert_eq!("sm2+sm3".parse::<Suite>(), Ok(Suite::Sm2Sm3));
    assert_eq!(Suite::from_str("ed25519+blake2b"), Ok(Suite::Ed25519Blake2b));
    let err = "sm2".parse::<Suite>().unwrap_err().to_string();
    assert!(err.contains("ed25519+blake2b") && err.contains("sm2+sm3"), "{err}");
}

#[test]
fn scale_encoding_is_one_pinned_byte() {
    assert_eq!(Scheme::Ed25519.encode(), [0]);
    assert_eq!(Scheme::Sm2.encode(), [1]);
    assert_eq!(Suite::Ed25519Blake2b.encode(), [0]);
    assert_eq!(Suite::Sm2Sm3.encode(), [1]);
    for s in Scheme::ALL {
        assert_eq!(Scheme::decode(&mut &s.encode()[..]), Ok(s));
        assert_eq!(s.encode(), [s.code()]);
        assert_eq!(Scheme::from_code(s.code()), Some(s));
    }
    assert_eq!(Scheme::from_code(2), None);
    for s in Suite::ALL {
        assert_eq!(Suite::decode(&mut &s.encode()[..]), Ok(s));
    }
    assert!(Scheme::decode(&mut &[2u8][..]).is_err());
    assert_eq!(Scheme::max_encoded_len(), 1);
}

#[test]
fn generated_keys_work() {
    for scheme in Scheme::ALL {
        let a = Keypair::generate(scheme).unwrap();
        let b = Keypair::generate(scheme).unwrap();
        assert_ne!(a.seed(), b.seed());
        assert!(verify(scheme, &a.account(), b"m", &a.sign(b"m").signature));
    }
}
