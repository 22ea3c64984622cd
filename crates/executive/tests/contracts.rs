//! Real contracts (built by scripts/build-contracts.sh) through the real runtime: cross-contract
//! calls, re-entrancy, panics, dry runs with exact gas, and determinism across fresh engines.
use counter::msg;
use jjj_executive::{BlockTemplate, Runtime};
use jjj_primitives::*;
use jjj_state::{MemoryState, StateCommitment};
use jjj_testkit::{contract_wasm, decode_output, TestAccount, TestChain};
use parity_scale_codec::{Decode, Encode};
use std::sync::Arc;

fn counters() -> (TestChain, TestAccount, AccountId, AccountId) {
    let mut chain = TestChain::new();
    let dev = chain.account("dev", 1_000_000);
    let code = chain.upload(&dev, &contract_wasm("counter")).expect("upload");
    let a = chain.instantiate(&dev, code, 0, msg::new(0)).expect("a");
    let b = chain.instantiate(&dev, code, 0, msg::new(100)).expect("b");
    (chain, dev, a, b)
}

#[test]
fn same_code_is_uploaded_once_and_instantiated_many_times() {
    let (mut chain, dev, a, b) = counters();
    assert_ne!(a, b);
    let err = chain.upload(&dev, &contract_wasm("counter")).expect_err("second upload");
    assert!(err.contains("already uploaded"), "{err}");
    assert_eq!(chain.call_ok::<u64>(&dev, &a, 0, msg::bump(1)), 1);
    assert_eq!(chain.call_ok::<u64>(&dev, &b, 0, msg::bump(1)), 101);
}

#[test]
fn cross_contract_call_and_refused_reentrancy() {
    let (mut chain, dev, a, b) = counters();
    let r = chain.call(&dev, &a, 0, msg::bump_other(b, 5));
    assert!(r.is_success(), "{:?}", r.status);
    assert_eq!(u64::decode(&mut &r.output[..]).ok(), Some(105));
    assert_eq!(r.events.len(), 1, "the callee's event is kept");
    assert_eq!(r.events[0].contract, b);
    let err = chain.call_err(&dev, &a, 0, msg::bounce(b));
    assert!(err.contains("re-entrant call refused"), "{err}");
    assert_eq!(chain.query::<u64>(&dev.id, &a, msg::get()), Ok(0), "a's state untouched");
    assert_eq!(chain.query::<u64>(&dev.id, &b, msg::get()), Ok(105), "b's bump was rolled back with the failure");
}

#[test]
fn panics_and_errors_reach_the_receipt_with_their_message() {
    let (mut chain, dev, a, _) = counters();
    let r = chain.call(&dev, &a, 0, msg::divide(0));
    match &r.status {
        ReceiptStatus::Reverted(m) => {
            assert!(m.contains("divide by zero"), "{m}");
            assert!(m.starts_with("panicked at contracts/counter/src/lib.rs:"), "a path free of this machine: {m}");
        }
        other => panic!("expected a revert, got {other:?}"),
    }
    let stranger = chain.account("stranger", 10);
    assert_eq!(chain.call_err(&stranger, &a, 0, msg::reset()), "only the owner may reset the counter");
    assert_eq!(chain.call_err(&dev, &a, 0, vec![1, 2, 3, 4]), "unknown message selector 0x01020304");
    assert!(chain.call_err(&dev, &a, 5, msg::bump(1)).contains("does not accept value"));
    assert_eq!(chain.balance(&dev.id), 1_000_000, "refused value was returned");
}

#[test]
fn dry_run_gives_exact_gas_and_debug_messages() {
    let (mut chain, dev, a, _) = counters();
    let dry = chain.dry_run(&dev.id, &a, 0, msg::bump(7)).expect("dry run");
    assert!(dry.receipt.is_success());
    assert_eq!(dry.debug, vec!["bumped by 7 to 7".to_string()]);
    let real = chain.call(&dev, &a, 0, msg::bump(7));
    assert_eq!(real.gas_used, dry.receipt.gas_used, "a dry run on the same state predicts gas exactly");
    assert_eq!(real.output, dry.receipt.output);
    // Exactly the predicted gas is enough. (Wasmtime checks fuel at function entries and loop
    // headers, so a limit a few units short may still finish: gas is deterministic, not tight.)
    let predicted = chain.dry_run(&dev.id, &a, 0, msg::bump(1)).expect("dry").receipt.gas_used;
    chain.gas_limit = predicted;
    let r = chain.call(&dev, &a, 0, msg::bump(1));
    assert!(r.is_success());
    assert_eq!(r.gas_used, predicted);
    chain.gas_limit = predicted / 2;
    let r = chain.call(&dev, &a, 0, msg::bump(1));
    assert_eq!(r.status, ReceiptStatus::Failed("out of gas".into()));
}

#[test]
fn value_moves_with_calls_and_returns_on_failure() {
    let (mut chain, dev, a, _) = counters();
    assert_eq!(chain.call_ok::<u64>(&dev, &a, 250, msg::deposit()), 250);
    assert_eq!(chain.balance(&a), 250);
    assert_eq!(chain.balance(&dev.id), 1_000_000 - 250);
    let poor = chain.account("poor", 10);
    let r = chain.call(&poor, &a, 11, msg::deposit());
    assert!(r.reason().unwrap_or("").contains("insufficient balance"), "{:?}", r.status);
    assert_eq!(chain.balance(&poor.id), 10);
}

/// One block with uploads, instantiation, successes and failures, applied from the same state
/// by three runtimes, each with a fresh engine: identical receipts and roots.
#[test]
fn the_same_block_gives_the_same_result_on_fresh_engines() {
    let net = NetworkId::new("jjj").expect("id");
    let suite = jjj_testkit::test_suite();
    let dev = jjj_testkit::test_key("dev");
    let mut genesis = MemoryState::new(suite.hash_algo());
    genesis.apply(&jjj_executive::genesis_changes(&[(dev.account(), 1_000_000)])).expect("genesis");
    let genesis = Arc::new(genesis);
    let code = contract_wasm("counter");
    let code_hash = suite.hash_algo().hash(&code);
    let a = jjj_executive::contract_address(suite.hash_algo(), &dev.account(), 1);
    let calls = vec![
        Call::UploadCode { code },
        Call::Instantiate { code_hash, input: msg::new(3), value: 0 },
        Call::Call { contract: a, input: msg::bump(4), value: 0 },
        Call::Call { contract: a, input: msg::divide(0), value: 0 },
        Call::Call { contract: a, input: msg::deposit(), value: 77 },
        Call::Transfer { to: jjj_testkit::test_key("x").account(), amount: 5 },
        Call::Call { contract: a, input: msg::bump(u64::MAX), value: 0 },
    ];
    let txs: Vec<_> = calls
        .into_iter()
        .enumerate()
        .map(|(n, call)| {
            dev.sign_tx(Transaction {
                network: net.clone(),
                sender: dev.account(),
                nonce: n as u64,
                gas_limit: 50_000_000,
                call,
            })
        })
        .collect();
    let template = BlockTemplate {
        network: net,
        height: 1,
        parent_hash: Hash::default(),
        timestamp: 1_767_225_600_000,
        proposer: dev.account(),
    };
    let (block, built, refused) =
        Runtime::new().expect("rt").with_suite(suite).build_block(genesis.clone(), template, txs).expect("build");
    assert!(refused.is_empty(), "{refused:?}");
    let statuses: Vec<bool> = built.receipts.iter().map(|r| r.is_success()).collect();
    assert_eq!(statuses, vec![true, true, true, false, true, true, false]);
    assert_eq!(decode_output::<u64>(&built.receipts[2]), Ok(7));
    for _ in 0..2 {
        let again = Runtime::new().expect("rt").with_suite(suite).apply_block(genesis.clone(), &block).expect("apply");
        assert_eq!(again, built, "receipts, changes and roots must be identical");
    }
    let mut after = (*genesis).clone();
    after.apply(&built.changes).expect("apply");
    assert_eq!(after.state_root(), block.header.state_root);
    assert_eq!(block.encode().len(), block.encoded_size());
}

/// A traced transaction ends exactly as the block's run (receipt and state changes), and its
/// log shows the nested call, the storage read and write with the values before and after, the
/// event, and where a failing call failed.
#[test]
fn a_traced_transaction_matches_the_block_and_logs_every_host_call() {
    use jjj_executive::TraceStep;
    let (chain, dev, a, b) = counters();
    let rt = chain.runtime().clone();
    let ctx = chain.next_template();
    let ctx = BlockContext { network: ctx.network, height: ctx.height, timestamp: ctx.timestamp };
    let stx = chain.sign(
        &dev,
        chain.nonce(&dev.id),
        5_000_000,
        Call::Call { contract: a, input: msg::bump_other(b, 5), value: 0 },
    );
    let mut plain = jjj_state::Overlay::new(chain.state());
    let expected = rt.apply_transaction(&mut plain, &ctx, &stx).expect("applies");
    let mut traced_overlay = jjj_state::Overlay::new(chain.state());
    let traced = rt.trace_transaction(&mut traced_overlay, &ctx, &stx).expect("traces");
    assert_eq!(traced.receipt, expected, "the same receipt as in a block");
    assert_eq!(
        traced_overlay.into_effective_changes().expect("changes"),
        plain.into_effective_changes().expect("changes"),
        "the same state changes"
    );
    let steps = &traced.steps;
    assert!(matches!(&steps[0], TraceStep::Call { depth: 0, contract, .. } if *contract == a), "{steps:?}");
    assert!(
        steps.iter().any(|s| matches!(s, TraceStep::Call { depth: 1, contract, .. } if *contract == b)),
        "the nested call: {steps:?}"
    );
    let write = steps
        .iter()
        .find_map(|s| match s {
            TraceStep::StorageWrite { depth: 1, contract, before, after, .. } if *contract == b => {
                Some((before.clone(), after.clone()))
            }
            _ => None,
        })
        .expect("b's counter written");
    assert_eq!(write, (Some(100u64.encode()), Some(105u64.encode())), "before and after");
    assert!(steps.iter().any(|s| matches!(s, TraceStep::StorageRead { depth: 1, .. })), "{steps:?}");
    assert!(steps.iter().any(|s| matches!(s, TraceStep::Event { depth: 1, .. })), "{steps:?}");
    assert!(
        matches!(steps.last(), Some(TraceStep::Return { depth: 0, end: Ok(out), .. }) if *out == 105u64.encode()),
        "{steps:?}"
    );
    // A failing call: the frame's end names the failure.
    let stx =
        chain.sign(&dev, chain.nonce(&dev.id), 5_000_000, Call::Call { contract: a, input: msg::divide(0), value: 0 });
    let traced = rt.trace_transaction(&mut jjj_state::Overlay::new(chain.state()), &ctx, &stx).expect("traces");
    assert!(
        matches!(traced.steps.last(), Some(TraceStep::Return { end: Err(m), .. }) if m.contains("divide by zero")),
        "{:?}",
        traced.steps
    );
}
