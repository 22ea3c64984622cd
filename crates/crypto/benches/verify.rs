//! One signature check of each scheme and one 32-byte hash of each suite.
//!
//! `cargo bench -p jjj-crypto --bench verify`
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use jjj_crypto::{verify, Scheme, SchemeKeypair, Suite};

fn verify_each_scheme(c: &mut Criterion) {
    let message = [0x5au8; 32];
    for scheme in Scheme::ALL {
        let key = SchemeKeypair::from_name(scheme, "bench");
        let public_key = key.public_key();
        let signature = key.sign(&message);
        assert!(verify(scheme, &public_key, &message, &signature));
        c.bench_function(&format!("verify/{scheme}"), |b| {
            b.iter(|| verify(black_box(scheme), black_box(&public_key), black_box(&message), black_box(&signature)))
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
