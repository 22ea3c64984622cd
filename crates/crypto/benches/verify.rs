//! One signature check of each scheme and one 32-byte hash of each suite.
//!
//! `cargo bench -p jjj-crypto --bench verify`
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use jjj_crypto::{verify, Keypair, PublicKey, Scheme, Suite};

fn verify_each_scheme(c: &mut Criterion) {
    let message = [0x5au8; 32];
    for scheme in Scheme::ALL {
        let key = Keypair::named(scheme, "bench");
        let account = key.account();
        let signature = key.sign(&message).signature;
        assert!(verify(scheme, &account, &message, &signature));
        c.bench_function(&format!("verify/{scheme}"), |b| {
            b.iter(|| verify(black_box(scheme), black_box(&account), black_box(&message), black_box(&signature)))
        });
        // What consensus pays per vote: the key parsed once per validator.
        let parsed = PublicKey::parse(scheme, &account).expect("a valid key");
        c.bench_function(&format!("verify-parsed/{scheme}"), |b| {
            b.iter(|| black_box(&parsed).verify(black_box(&message), black_box(&signature)))
        });
    }
}

fn hash_each_suite(c: &mut Criterion) {
    let data = [0xa5u8; 32];
    for suite in Suite::ALL {
        c.bench_function(&format!("hash32/{suite}"), |b| b.iter(|| black_box(suite).hash(black_box(&data))));
    }
}

criterion_group!(benches, verify_each_scheme, hash_each_suite);
criterion_main!(benches);
