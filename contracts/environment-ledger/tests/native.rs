//! The ledger's own rules, natively: the chain's proof check stands in as `accept_receipt_proof`
//! (the wasm tests run the real one). Sources only by an agency; what a proven receipt must be to
//! count; each transaction once.
use environment_ledger::{msg, Disposal, EnvironmentLedger};
use jjj_sdk::testing::TestEnv;
use jjj_sdk::{roles, AccountId, Hash, ProvenCall, ProvenReceipt};
use parity_scale_codec::Encode;

fn selector(name: &str) -> Vec<u8> {
    jjj_sdk::env::selector(name).to_vec()
}

fn disposal_call(contract: AccountId, manifest: u64) -> Option<ProvenCall> {
    let mut input = selector("confirm_disposal");
    input.extend(manifest.encode());
    Some(ProvenCall { contract, input, value: 0 })
}

fn receipt(tx: u8, call: Option<ProvenCall>, success: bool) -> ProvenReceipt {
    ProvenReceipt {
        network: b"jinji".to_vec(),
        height: 7,
        tx_hash: Hash([tx; 32]),
        sender: TestEnv::account("langfang-facility"),
        call,
        success,
        output: vec![],
        events: vec![],
    }
}

#[test]
fn proven_disposals_of_the_registered_source_are_recorded_once() {
    let env = TestEnv::new();
    let agency = TestEnv::account("hebei-epb");
    let stranger = TestEnv::account("stranger");
    let waste = TestEnv::account("waste-disposal-on-jinji");
    env.register(&agency, "hebei", &[roles::ENVIRONMENT_AGENCY]);
    let c = env.deploy(EnvironmentLedger::ENTRY, &agency, 0, msg::new()).expect("deploy");
    let e = env.call(&stranger, &c, 0, msg::register_source("jinji".into(), waste)).unwrap_err();
    assert!(e.contains("only an environment agency registers sources"), "{e}");
    env.call(&agency, &c, 0, msg::register_source("jinji".into(), waste)).expect("source");

    let cases: Vec<(u8, ProvenReceipt, &str)> = vec![
        (1, receipt(1, disposal_call(waste, 3), true), ""),
        (2, receipt(2, disposal_call(stranger, 3), true), "not the waste-disposal contract"),
        (3, receipt(3, disposal_call(waste, 3), false), "failed on jinji"),
        (4, receipt(4, None, true), "calls no contract"),
        (
            5,
            ProvenReceipt { network: b"jingjin".to_vec(), ..receipt(5, disposal_call(waste, 3), true) },
            "no waste-disposal contract is registered for network jingjin",
        ),
        (
            6,
            receipt(
                6,
                Some(ProvenCall {
                    contract: waste,
                    input: selector("confirm_receipt").into_iter().chain(3u64.encode()).collect(),
                    value: 0,
                }),
                true,
            ),
            "not confirm_disposal",
        ),
    ];
    for (n, r, why) in cases {
        let proof = vec![n; 8];
        env.accept_receipt_proof(proof.clone(), r);
        let got = env.call_decode::<Disposal>(&stranger, &c, 0, msg::record_disposal(proof));
        if why.is_empty() {
            let d = got.expect("recorded");
            assert_eq!((d.manifest_id, d.height, d.recorded_by, d.network.as_str()), (3, 7, stranger, "jinji"));
        } else {
            let e = got.unwrap_err();
            assert!(e.contains(why), "case {n}: expected {why:?} in {e:?}");
        }
    }
    let e = env.call(&stranger, &c, 0, msg::record_disposal(vec![1; 8])).unwrap_err();
    assert!(e.contains("recorded already"), "{e}");
    let e = env.call(&stranger, &c, 0, msg::record_disposal(vec![9; 8])).unwrap_err();
    assert!(e.contains("the proof does not hold"), "{e}");
    let all: Vec<Disposal> = env.call_decode(&stranger, &c, 0, msg::disposals(0, 10)).expect("list");
    assert_eq!(all.len(), 1);
}
