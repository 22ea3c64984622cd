//! One signature check of each scheme and one 32-byte hash of each suite.
//!
//! `cargo bench -p jjj-crypto --bench verify`
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use jjj_crypto::{verify, verify_batch, Keypair, PublicKey, Scheme, Suite};

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

/// A batch of 64 signatures by 64 keys (a gossip message's worth): per batch; divide by 64 for
/// the cost per signature.
fn verify_batches(c: &mut Criterion) {
    for scheme in Scheme::ALL {
        let keys: Vec<Keypair> = (0..64).map(|i| Keypair::named(scheme, &format!("bench-{i}"))).collect();
        let messages: Vec<[u8; 32]> = (0..64u8).map(|i| [i; 32]).collect();
        let signed: Vec<(jjj_primitives::AccountId, [u8; 64])> =
            keys.iter().zip(&messages).map(|(k, m)| (k.account(), k.sign(m).signature)).collect();
        let items: Vec<jjj_crypto::BatchItem> =
            signed.iter().zip(&messages).map(|((a, s), m)| (a, &m[..], s)).collect();
        assert!(verify_batch(scheme, &items));
        c.bench_function(&format!("verify-batch-64/{scheme}"), |b| {
            b.iter(|| verify_batch(black_box(scheme), black_box(&items)))
        });
    }
}

fn hash_each_suite(c: &mut Criterion) {
    let data = [0xa5u8; 32];
    for suite in Suite::ALL {
        c.bench_function(&format!("hash32/{suite}"), |b| b.iter(|| black_box(suite).hash(black_box(&data))));
    }
}

criterion_group!(benches, verify_each_scheme, verify_batches, hash_each_suite);
criterion_main!(benches);
