//! Execution cut short by this node's resources, not by the contract: an exhausted instance
//! pool aborts the transaction, which never becomes a receipt.
use jjj_executive::Runtime;
use jjj_primitives::*;
use jjj_testkit::TestChain;

/// A contract that calls the contract whose address is its input, and reverts if that fails.
const CALLER: &str = r#"(module
  (import "jjj" "input" (func $input (param i32 i32) (result i32)))
  (import "jjj" "call_contract" (func $call (param i32 i32 i32 i64 i64) (result i32)))
  (import "jjj" "revert" (func $revert (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "callee failed")
  (func (export "deploy"))
  (func (export "call")
    (drop (call $input (i32.const 0) (i32.const 32)))
    (if (i32.ne (call $call (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0) (i64.const 0)) (i32.const 0))
      (then (call $revert (i32.const 64) (i32.const 13))))))"#;

const CALLEE: &str = r#"(module (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#;

#[test]
fn a_transaction_aborted_by_an_exhausted_instance_pool_is_no_receipt() {
    // One pooled instance: the caller's frame holds it, so the callee cannot be instantiated.
    // That is this node's load, not the contract's doing: it must not decide a receipt.
    let config = jjj_executive::VmConfig { pooled_instances: 1, ..Default::default() };
    let mut chain =
        TestChain::with_runtime(Runtime::with_config(config).expect("runtime").with_suite(jjj_testkit::test_suite()));
    let dev = chain.account("dev", 1_000_000_000);
    let other = chain.account("other", 1_000);
    let caller = chain.upload(&dev, &wat::parse_str(CALLER).expect("wat")).expect("upload");
    let callee = chain.upload(&dev, &wat::parse_str(CALLEE).expect("wat")).expect("upload");
    let caller = chain.instantiate(&dev, caller, 0, vec![]).expect("instantiate");
    let callee = chain.instantiate(&dev, callee, 0, vec![]).expect("instantiate");

    let nested = chain.sign(
        &dev,
        chain.nonce(&dev.id),
        10_000_000,
        Call::Call { contract: caller, input: callee.0.to_vec(), value: 0 },
    );
    let pay = chain.sign(&other, 0, 100_000, Call::Transfer { to: dev.id, amount: 1 });
    let rt = chain.runtime();
    let (block, exec, refused) =
        rt.build_block(chain.state(), chain.next_template(), vec![nested.clone(), pay.clone()]).expect("build");
    assert_eq!(block.transactions, vec![pay], "the aborted transaction is left out");
    assert_eq!(exec.receipts.len(), 1);
    assert_eq!(refused.len(), 1);
    let reason = refused[0].1.to_string();
    assert!(reason.contains("aborted") && reason.contains("instance"), "{reason}");
    // Nothing of the aborted transaction (not even its nonce bump) is in the block's state.
    let replay = rt.apply_block(chain.state(), &block).expect("the block replays");
    assert_eq!(replay, exec);

    // A replica short of instances refuses to vouch for a block holding such a transaction,
    // and says it was aborted, not that the block is wrong.
    let mut forged = block.clone();
    forged.transactions = vec![nested.clone()];
    let err = rt.apply_block(chain.state(), &forged).expect_err("aborted");
    assert!(err.to_string().contains("aborted"), "{err}");

    // With instances to spare, the same transaction simply succeeds.
    let (block, exec, refused) = Runtime::new()
        .expect("runtime")
        .with_suite(jjj_testkit::test_suite())
        .build_block(chain.state(), chain.next_template(), vec![nested])
        .expect("build");
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(block.transactions.len(), 1);
    assert!(exec.receipts[0].is_success(), "{:?}", exec.receipts[0].status);
}
