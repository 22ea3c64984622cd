//! Hostile modules, hand-written in WAT: each is refused at upload or halted with a receipt a
//! human can read, and the runtime goes on serving the next call.
use jjj_primitives::{AccountId, ReceiptStatus};
use jjj_testkit::{TestAccount, TestChain};

/// A module importing what the probes use, with `deploy` empty and `call` = `call_body`.
fn module(call_body: &str, extra: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "jjj" "set_output" (func $set_output (param i32 i32)))
  (import "jjj" "revert" (func $revert (param i32 i32)))
  (import "jjj" "storage_set" (func $storage_set (param i32 i32 i32 i32)))
  (import "jjj" "emit_event" (func $emit_event (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "ok")
  (func (export "deploy"))
  (func (export "call") {call_body})
  {extra}
)"#
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("bad test WAT: {e}\n{wat}"))
}

fn raw(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).unwrap_or_else(|e| panic!("bad test WAT: {e}"))
}

struct Fixture {
    chain: TestChain,
    dev: TestAccount,
    healthy: AccountId,
}

/// A chain with one healthy contract that answers "ok", to show the runtime still serves.
fn fixture() -> Fixture {
    let mut chain = TestChain::new();
    let dev = chain.account("dev", 1_000_000);
    let code = chain.upload(&dev, &module("(call $set_output (i32.const 0) (i32.const 2))", "")).expect("upload");
    let healthy = chain.instantiate(&dev, code, 0, vec![]).expect("instantiate");
    Fixture { chain, dev, healthy }
}

impl Fixture {
    fn still_serving(&mut self) {
        let r = self.chain.call(&self.dev, &self.healthy, 0, vec![]);
        assert_eq!(r.status, ReceiptStatus::Success);
        assert_eq!(r.output, b"ok");
    }

    /// Uploads and instantiates; returns the address.
    fn deploy(&mut self, code: Vec<u8>) -> AccountId {
        let hash = self.chain.upload(&self.dev, &code).expect("upload");
        self.chain.instantiate(&self.dev, hash, 0, vec![]).expect("instantiate")
    }

    /// Deploys, calls, expects a failure; returns (status, gas used).
    fn run_failing(&mut self, code: Vec<u8>) -> (ReceiptStatus, u64) {
        let addr = self.deploy(code);
        let r = self.chain.call(&self.dev, &addr, 0, vec![]);
        assert!(!r.is_success(), "expected a failure");
        (r.status, r.gas_used)
    }

    fn refused(&mut self, code: Vec<u8>) -> String {
        let err = self.chain.upload(&self.dev, &code).expect_err("upload should be refused");
        self.still_serving();
        err
    }
}

#[test]
fn infinite_loop_runs_out_of_gas() {
    let mut f = fixture();
    let limit = f.chain.gas_limit;
    let (status, gas) = f.run_failing(module("(loop (br 0))", ""));
    assert_eq!(status, ReceiptStatus::Failed("out of gas".into()));
    assert_eq!(gas, limit, "an infinite loop uses its whole gas limit, no more");
    f.still_serving();
}

#[test]
fn memory_bomb_stops_at_the_memory_limit() {
    let mut f = fixture();
    // Grow one page at a time until refused, then report the memory size in pages.
    let body = r#"
        (loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
        (i32.store (i32.const 16) (memory.size))
        (call $set_output (i32.const 16) (i32.const 4))"#;
    let addr = f.deploy(module(body, ""));
    let r = f.chain.call(&f.dev, &addr, 0, vec![]);
    assert!(r.is_success(), "{:?}", r.status);
    let pages = u32::from_le_bytes(r.output[..4].try_into().expect("4 bytes"));
    assert_eq!(pages as u64, jjj_vm::limits::MAX_MEMORY_PAGES);
    // One huge grow is refused as well.
    let body = r#"(if (i32.eq (memory.grow (i32.const 60000)) (i32.const -1))
        (then (call $revert (i32.const 0) (i32.const 2))))"#;
    let (status, _) = f.run_failing(module(body, ""));
    assert_eq!(status, ReceiptStatus::Reverted("ok".into()));
    f.still_serving();
}

#[test]
fn initial_memory_over_the_limit_is_refused() {
    let mut f = fixture();
    let code = raw(r#"(module (memory (export "memory") 1000) (func (export "deploy")) (func (export "call")))"#);
    assert!(f.refused(code).contains("memory of 1000 initial pages is over the limit of 64"));
}

#[test]
fn deep_recursion_exhausts_the_stack() {
    let mut f = fixture();
    let (status, _) = f.run_failing(module(
        "(call $recurse (i32.const 0))",
        "(func $recurse (param i32) (call $recurse (i32.add (local.get 0) (i32.const 1))))",
    ));
    assert_eq!(status, ReceiptStatus::Failed("call stack exhausted: recursion too deep".into()));
    f.still_serving();
}

#[test]
fn huge_table_is_refused() {
    let mut f = fixture();
    let code = raw(
        r#"(module (table 100000 funcref) (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#,
    );
    assert!(f.refused(code).contains("table elements: 100000 is over the limit of 4096"));
}

#[test]
fn floats_give_canonical_nans() {
    let mut f = fixture();
    // 0/0 and sqrt(-1) are NaN; their bit patterns must be the canonical NaN on every machine.
    let body = r#"
        (i32.store (i32.const 16) (i32.reinterpret_f32 (f32.div (f32.const 0) (f32.const 0))))
        (i64.store (i32.const 20) (i64.reinterpret_f64 (f64.sqrt (f64.const -1))))
        (call $set_output (i32.const 16) (i32.const 12))"#;
    let addr = f.deploy(module(body, ""));
    let r = f.chain.call(&f.dev, &addr, 0, vec![]);
    assert!(r.is_success(), "{:?}", r.status);
    let f32_bits = u32::from_le_bytes(r.output[..4].try_into().expect("4"));
    let f64_bits = u64::from_le_bytes(r.output[4..12].try_into().expect("8"));
    assert_eq!(f32_bits & 0x7fff_ffff, 0x7fc0_0000, "canonical f32 NaN, got {f32_bits:#x}");
    assert_eq!(f64_bits & 0x7fff_ffff_ffff_ffff, 0x7ff8_0000_0000_0000, "canonical f64 NaN, got {f64_bits:#x}");
}

#[test]
fn unknown_and_mistyped_imports_are_refused() {
    let mut f = fixture();
    let code = raw(
        r#"(module (import "env" "getrandom" (func)) (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#,
    );
    assert!(f.refused(code).contains("import `env::getrandom` is not a jjj host function"));
    let code = raw(
        r#"(module (import "jjj" "open_file" (func)) (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#,
    );
    assert!(f.refused(code).contains("`jjj::open_file` is not a jjj host function"));
    let code = raw(
        r#"(module (import "jjj" "block_height" (func (result i32))) (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#,
    );
    let err = f.refused(code);
    assert!(err.contains("import `block_height` has the signature"), "{err}");
    let code = raw(r#"(module (import "jjj" "mem" (memory 1)) (func (export "deploy")) (func (export "call")))"#);
    assert!(f.refused(code).contains("not a jjj host function"));
}

#[test]
fn start_function_is_refused() {
    let mut f = fixture();
    let code = raw(
        r#"(module (memory (export "memory") 1) (func $s) (start $s) (func (export "deploy")) (func (export "call")))"#,
    );
    assert!(f.refused(code).contains("start function"));
}

#[test]
fn missing_exports_are_refused() {
    let mut f = fixture();
    assert!(f
        .refused(raw(r#"(module (memory (export "memory") 1) (func (export "deploy")))"#))
        .contains("missing export `call`"));
    assert!(f
        .refused(raw(r#"(module (func (export "deploy")) (func (export "call")))"#))
        .contains("missing export `memory`"));
    let err = f.refused(raw(
        r#"(module (memory (export "memory") 1) (func (export "deploy")) (func (export "call") (param i32)))"#,
    ));
    assert!(err.contains("export `call` must be a function taking and returning nothing"), "{err}");
    assert!(f.refused(b"\0asm garbage".to_vec()).contains("not a wasm module"));
}

#[test]
fn oversized_code_is_refused() {
    let mut f = fixture();
    // Just over the code limit: included, and refused with a failed receipt.
    let code = module("", &format!("(data (i32.const 100) \"{}\")", "a".repeat(258 * 1024)));
    let err = f.refused(code);
    assert!(err.contains("over the limit of 262144"), "{err}");
    // Over the transaction size limit: not even includable.
    use jjj_primitives::{Call, Transaction};
    let code = module("", &format!("(data (i32.const 100) \"{}\")", "a".repeat(300 * 1024)));
    let tx = Transaction {
        network: f.chain.network().clone(),
        sender: f.dev.id,
        nonce: f.chain.nonce(&f.dev.id),
        gas_limit: f.chain.gas_limit,
        call: Call::UploadCode { code },
    };
    let err = f.chain.submit_signed(f.dev.key.sign_tx(tx)).expect_err("refused");
    assert!(err.contains("over the limit of 266240"), "{err}");
    f.still_serving();
}

#[test]
fn huge_return_data_fails_readably() {
    let mut f = fixture();
    let (status, _) = f.run_failing(module("(call $set_output (i32.const 0) (i32.const 1048576))", ""));
    assert_eq!(status, ReceiptStatus::Failed("output of 1048576 bytes is over the limit of 16384 bytes".into()));
    let (status, _) = f.run_failing(module("(call $set_output (i32.const 65000) (i32.const 1000))", ""));
    assert!(matches!(&status, ReceiptStatus::Failed(m) if m.contains("outside its linear memory")), "{status:?}");
    f.still_serving();
}

#[test]
fn too_many_event_topics_fail_readably() {
    let mut f = fixture();
    let (status, _) =
        f.run_failing(module("(call $emit_event (i32.const 0) (i32.const 6) (i32.const 0) (i32.const 0))", ""));
    assert_eq!(status, ReceiptStatus::Failed("an event has at most 5 topics, the contract gave 6".into()));
    f.still_serving();
}

#[test]
fn storage_value_over_the_limit_fails_readably() {
    let mut f = fixture();
    let (status, _) =
        f.run_failing(module("(call $storage_set (i32.const 0) (i32.const 2) (i32.const 0) (i32.const 20000))", ""));
    assert_eq!(status, ReceiptStatus::Failed("storage value of 20000 bytes is over the limit of 16384 bytes".into()));
    f.still_serving();
}

#[test]
fn failed_calls_leave_no_writes() {
    let mut f = fixture();
    // Writes a value, then traps: the write must not survive.
    let body = "(call $storage_set (i32.const 0) (i32.const 2) (i32.const 0) (i32.const 2)) (unreachable)";
    let addr = f.deploy(module(body, ""));
    let root_before = f.chain.blocks.last().map(|b| b.header.state_root);
    let r = f.chain.call(&f.dev, &addr, 0, vec![]);
    assert!(matches!(&r.status, ReceiptStatus::Failed(m) if m.contains("unreachable")), "{:?}", r.status);
    let key = jjj_state::keys::storage(&addr, b"ok");
    use jjj_state::StateReader;
    assert_eq!(f.chain.state().get(&key).ok().flatten(), None);
    assert_ne!(f.chain.blocks.last().map(|b| b.header.state_root), None);
    let _ = root_before;
    assert_eq!(f.chain.nonce(&f.dev.id), 5, "the failed call still bumped the nonce");
}
