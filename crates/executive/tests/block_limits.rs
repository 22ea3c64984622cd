//! Bounds on a block's execution, and execution that the node's resources (not the contract)
//! cut short: the proposer keeps blocks within the genesis limits, replicas refuse blocks over
//! them, and a transaction aborted by a local resource error never becomes a receipt.
use jjj_primitives::params::{DEFAULT_MAX_BLOCK_TXS, MAX_TX_GAS};
use jjj_primitives::*;
use jjj_testkit::TestChain;

#[test]
fn blocks_keep_to_the_transaction_count_limit() {
    let mut chain = TestChain::new();
    let alice = chain.account("alice", 1_000_000_000);
    let bob = chain.account("bob", 0);
    let n = DEFAULT_MAX_BLOCK_TXS + 1;
    let txs: Vec<_> =
        (0..n as u64).map(|i| chain.sign(&alice, i, 100_000, Call::Transfer { to: bob.id, amount: 1 })).collect();
    let rt = chain.runtime();
    let (block, _, refused) = rt.build_block(chain.state(), chain.next_template(), txs.clone()).expect("build");
    assert_eq!(block.transactions.len(), DEFAULT_MAX_BLOCK_TXS, "the proposer stops at the limit");
    assert!(refused.is_empty(), "what does not fit waits for the next block: {:?}", refused.first());
    let mut forged = block;
    forged.transactions = txs;
    let err = rt.apply_block(chain.state(), &forged).expect_err("a replica refuses an over-full block");
    assert!(err.to_string().contains(&format!("over the limit of {DEFAULT_MAX_BLOCK_TXS}")), "{err}");
}

#[test]
fn blocks_keep_to_the_block_gas_limit() {
    let mut chain = TestChain::new();
    let dev = chain.account("dev", 1_000_000_000);
    let code = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "deploy")) (func (export "call") (loop (br 0))))"#,
    )
    .expect("wat");
    let hash = chain.upload(&dev, &code).expect("upload");
    let spinner = chain.instantiate(&dev, hash, 0, vec![]).expect("instantiate");
    let nonce = chain.nonce(&dev.id);
    // Each burns its whole gas limit; the default block gas limit holds two.
    let txs: Vec<_> = (0..3)
        .map(|i| chain.sign(&dev, nonce + i, MAX_TX_GAS, Call::Call { contract: spinner, input: vec![], value: 0 }))
        .collect();
    let rt = chain.runtime();
    let (block, exec, refused) = rt.build_block(chain.state(), chain.next_template(), txs.clone()).expect("build");
    assert_eq!(block.transactions.len(), 2);
    assert!(refused.is_empty(), "the third waits for the next block: {:?}", refused.first());
    assert!(exec.receipts.iter().all(|r| r.gas_used == MAX_TX_GAS));
    let mut forged = block;
    forged.transactions = txs;
    let err = rt.apply_block(chain.state(), &forged).expect_err("a replica refuses a block over the gas limit");
    assert!(err.to_string().contains("block gas limit"), "{err}");
}
