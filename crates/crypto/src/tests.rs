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

#[test]
fn sign_verify_roundtrip_both_schemes() {
    for scheme in Scheme::ALL {
        let k = SchemeKeypair::from_name(scheme, "alice");
        assert_eq!(k.scheme(), scheme);
        assert_eq!(k.public_key().len(), scheme.public_key_len());
        for msg in [&b""[..], b"hello", &[7u8; 1000]] {
            let sig = k.sign(msg);
            assert!(verify(scheme, &k.public_key(), msg, &sig), "{scheme}");
            // The other scheme does not accept it.
            let other = if scheme == Scheme::Sm2 { Scheme::Ed25519 } else { Scheme::Sm2 };
            assert!(!verify(other, &k.public_key(), msg, &sig), "{scheme}");
        }
        // A seed round trip gives the same key.
        let again = SchemeKeypair::from_seed(scheme, k.seed());
        assert_eq!(again.public_key(), k.public_key());
        assert_eq!(again.account(), k.account());
    }
}

#[test]
fn flipped_bits_fail() {
    for scheme in Scheme::ALL {
        let k = SchemeKeypair::from_name(scheme, "bob");
        let msg = b"transfer 10 to carol";
        let sig = k.sign(msg);
        let key = k.public_key();
        for bit in [0, 7, 8 * msg.len() - 1] {
            assert!(!verify(scheme, &key, &flip(msg, bit), &sig), "{scheme} msg bit {bit}");
        }
        for bit in [0, 100, 255, 256, 300, 511] {
            let bad: [u8; 64] = flip(&sig, bit).try_into().unwrap();
            assert!(!verify(scheme, &key, msg, &bad), "{scheme} sig bit {bit}");
        }
        for bit in 0..8 * key.len() {
            assert!(!verify(scheme, &flip(&key, bit), msg, &sig), "{scheme} key bit {bit}");
        }
    }
}

#[test]
fn malformed_keys_and_signatures_are_false_not_panics() {
    let msg = b"m";
    for scheme in Scheme::ALL {
        let k = SchemeKeypair::from_name(scheme, "dave");
        let sig = k.sign(msg);
        let key = k.public_key();
        for len in [0, 1, 31, 32, 33, 34, 64, 65] {
            if len == key.len() {
                continue;
            }
            let mut wrong = key.clone();
            wrong.resize(len, 0);
            assert!(!verify(scheme, &wrong, msg, &sig), "{scheme} len {len}");
            assert!(account_id(scheme, &wrong).is_none());
        }
        for fill in [0x00u8, 0x02, 0x03, 0x04, 0xff] {
            assert!(!verify(scheme, &vec![fill; key.len()], msg, &sig), "{scheme} fill {fill:#x}");
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
    // SM2: a compressed x with no point on the curve, and the uncompressed tag on 33 bytes.
    let mut off_curve = 0;
    for x in 0u8..=255 {
        let mut key = [0x02u8; 33];
        key[1..].fill(x);
        if sm2::PublicKey::from_sec1_bytes(&key).is_err() {
            off_curve += 1;
            assert!(!verify(Scheme::Sm2, &key, msg, &[1u8; 64]));
        }
    }
    assert!(off_curve > 0);
    let k = SchemeKeypair::from_name(Scheme::Sm2, "dave");
    let mut tagged = k.public_key();
    tagged[0] = 0x04;
    assert!(!verify(Scheme::Sm2, &tagged, msg, &k.sign(msg)));
}

#[test]
fn sm2_dev_keys_are_deterministic_and_distinct() {
    let a = SchemeKeypair::from_name(Scheme::Sm2, "alice");
    let b = SchemeKeypair::from_name(Scheme::Sm2, "alice");
    assert_eq!(a.seed(), b.seed());
    assert_eq!(a.public_key(), b.public_key());
    assert_eq!(a.sign(b"x"), b.sign(b"x"), "RFC 6979 nonces: the same signature twice");
    assert_eq!(a.seed(), sm3(b"jjj/sm2-dev-key/alice"));
    let c = SchemeKeypair::from_name(Scheme::Sm2, "bob");
    assert_ne!(a.public_key(), c.public_key());
    assert_ne!(a.account(), c.account());
    // An SM2 key's account is the tagged SM3 of its key, not the key.
    let public: [u8; 33] = a.public_key().try_into().unwrap();
    assert_eq!(a.account(), sm2_account_id(&public));
    assert_eq!(account_id(Scheme::Sm2, &public), Some(a.account()));
    assert!(public[0] == 0x02 || public[0] == 0x03);
    assert!(a.as_ed25519().is_none());
}

#[test]
fn ed25519_scheme_key_is_the_workspace_keypair() {
    let s = SchemeKeypair::from_name(Scheme::Ed25519, "alice");
    let k = Keypair::from_name("alice");
    assert_eq!(s.seed(), k.seed());
    assert_eq!(s.account(), k.account());
    assert_eq!(s.public_key(), k.account().0.to_vec());
    assert_eq!(s.sign(b"vote").to_vec(), k.sign(b"vote").signature.to_vec());
    assert!(ed25519_verify(&k.account(), b"vote", &s.sign(b"vote")));
    assert_eq!(s.as_ed25519().map(Keypair::account), Some(k.account()));
    assert_eq!(SchemeKeypair::from(k.clone()).account(), k.account());
}

#[test]
fn sm2_seeds_out_of_range_still_make_keys() {
    // n − 1, n and 2²⁵⁶ − 1 are no usable SM2 scalars; zero neither.
    let n_minus_1 = unhex::<32>("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF 7203DF6B 21C6052B 53BBF409 39D54122");
    let n = unhex::<32>("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF 7203DF6B 21C6052B 53BBF409 39D54123");
    for seed in [[0u8; 32], n_minus_1, n, [0xff; 32]] {
        let k = SchemeKeypair::from_seed(Scheme::Sm2, seed);
        assert_eq!(k.seed(), seed);
        let sig = k.sign(b"m");
        assert!(verify(Scheme::Sm2, &k.public_key(), b"m", &sig));
        assert_eq!(SchemeKeypair::from_seed(Scheme::Sm2, seed).public_key(), k.public_key());
    }
    // An in-range seed is the secret scalar itself: d = 1 gives the generator G (Gy is even).
    let mut one = [0u8; 32];
    one[31] = 1;
    let g = unhex::<33>("02 32C4AE2C 1F198119 5F990446 6A39C994 8FE30BBF F2660BE1 715A4589 334C74C7");
    assert_eq!(SchemeKeypair::from_seed(Scheme::Sm2, one).public_key(), g.to_vec());
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
    let k = SchemeKeypair::from_seed(Scheme::Sm2, d);
    assert!(verify(Scheme::Sm2, &k.public_key(), b"message digest", &sig));
    assert!(!verify(Scheme::Sm2, &k.public_key(), b"message digesT", &sig));
}

#[test]
fn sm3_known_answers() {
    // GM/T 0004-2012, examples 1 and 2.
    assert_eq!(sm3(b"abc"), unhex("66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0"));
    assert_eq!(
        sm3(&b"abcd".repeat(16)),
        unhex("debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732")
    );
}

#[test]
fn suite_hashes_differ() {
    let data = [42u8; 32];
    assert_eq!(Suite::Ed25519Blake2b.hash(&data), blake2_256(&data).0);
    assert_eq!(Suite::Sm2Sm3.hash(&data), sm3(&data));
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
    }
    for s in Suite::ALL {
        assert_eq!(Suite::decode(&mut &s.encode()[..]), Ok(s));
    }
    assert!(Scheme::decode(&mut &[2u8][..]).is_err());
    assert_eq!(Scheme::max_encoded_len(), 1);
}

#[test]
fn generated_keys_work() {
    for scheme in Scheme::ALL {
        let a = SchemeKeypair::generate(scheme).unwrap();
        let b = SchemeKeypair::generate(scheme).unwrap();
        assert_ne!(a.seed(), b.seed());
        assert!(verify(scheme, &a.public_key(), b"m", &a.sign(b"m")));
    }
}
