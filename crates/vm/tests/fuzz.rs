//! Fuzz target `vm_wasm` (see `jjj-fuzz-harness`; `scripts/fuzz.sh` runs them all): bytes →
//! the upload path (`validate::check_structure`, then `Vm::compile`: wasmtime's validation and
//! compilation, imports and exports against the ABI). Code comes from any client, so it must
//! only ever be refused, never panic the node. A module that is accepted is also run (`deploy`
//! and `call`, little gas) over an empty host: accepted code must run to a result too.
//!
//! Seeds: the built contracts when present, plus small hand-written modules that reach each
//! structural limit and each import/export rule, mutated (LEB128 counts and sizes included).
use jjj_fuzz_harness::{built_contracts, mutate_from, verbose, Target};
use jjj_primitives::{AccountId, BlockContext, Hash, NetworkId};
use jjj_vm::limits::*;
use jjj_vm::validate::check_structure;
use jjj_vm::{ContractCode, Entry, Host, HostError, Invocation, Vm};
use std::sync::atomic::{AtomicU64, Ordering};

/// Compiling is the expensive part (milliseconds per accepted module): fewer cases by default.
const DEFAULT_CASES: u64 = 400;
const GAS: u64 = 1_000_000;
const LIMITS: &[u64] = &[
    MAX_FUNCTIONS as u64,
    MAX_LOCALS_PER_FUNCTION as u64,
    MAX_GLOBALS as u64,
    MAX_TABLE_ELEMENTS as u64,
    MAX_SEGMENTS as u64,
    MAX_MEMORY_PAGES,
    65_536,
    256 * 1024,
];

/// A host with one contract (the module under test) and nothing stored.
struct OneContract {
    code_hash: Hash,
}

impl Host for OneContract {
    fn storage_get(&self, _: &AccountId, _: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        Ok(None)
    }
    fn storage_set(&mut self, _: &AccountId, _: &[u8], _: Vec<u8>) {}
    fn storage_remove(&mut self, _: &AccountId, _: &[u8]) {}
    fn balance(&self, _: &AccountId) -> Result<u64, HostError> {
        Ok(1_000)
    }
    fn transfer(&mut self, _: &AccountId, _: &AccountId, _: u64) -> Result<bool, HostError> {
        Ok(true)
    }
    fn contract(&self, _: &AccountId) -> Result<Option<ContractCode>, HostError> {
        Ok(Some(ContractCode { code_hash: self.code_hash, reentrant: false }))
    }
    fn code(&self, _: &Hash) -> Result<Option<Vec<u8>>, HostError> {
        Ok(None)
    }
    fn checkpoint(&mut self) {}
    fn commit_checkpoint(&mut self) {}
    fn revert_checkpoint(&mut self) {}
}

fn wat(source: &str) -> Vec<u8> {
    wat::parse_str(source).unwrap_or_else(|e| panic!("bad seed WAT: {e}\n{source}"))
}

/// Small modules, each near one rule: a minimal contract, host imports used for real, a table
/// with elements, data and globals, and modules the rules refuse (a start function, a foreign
/// import, a memory import, a wrong export type, memory past the limit).
fn seeds() -> Vec<Vec<u8>> {
    let contract = |body: &str| {
        format!(
            r#"(module
  (import "jjj" "input" (func $input (param i32 i32) (result i32)))
  (import "jjj" "set_output" (func $set_output (param i32 i32)))
  (import "jjj" "storage_set" (func $storage_set (param i32 i32 i32 i32)))
  (memory (export "memory") 1 {MAX_MEMORY_PAGES})
  (global $g (mut i32) (i32.const 0))
  (table 4 funcref)
  (elem (i32.const 0) $deploy $call)
  (data (i32.const 16) "jjj fuzz")
  (func $deploy (export "deploy"))
  (func $call (export "call") (local i32) {body}))"#
        )
    };
    let mut seeds = vec![
        wat(r#"(module (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#),
        wat(&contract(
            "(drop (call $input (i32.const 0) (i32.const 1024))) (call $set_output (i32.const 0) (i32.const 8))",
        )),
        wat(&contract("(call $storage_set (i32.const 16) (i32.const 3) (i32.const 16) (i32.const 8))")),
        wat(&contract("(loop (br 0))")),
        wat(&contract("(drop (memory.grow (i32.const 100)))")),
        wat(&contract("(call_indirect (i32.const 1)) (global.set $g (i32.const 1))")),
        wat(&contract("unreachable")),
        wat(
            r#"(module (memory (export "memory") 1) (func $s) (start $s) (func (export "deploy")) (func (export "call")))"#,
        ),
        wat(
            r#"(module (import "env" "f" (func)) (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#,
        ),
        wat(r#"(module (import "jjj" "m" (memory 1)) (func (export "deploy")) (func (export "call")))"#),
        wat(
            r#"(module (memory (export "memory") 1) (global (export "deploy") i32 (i32.const 0)) (func (export "call")))"#,
        ),
        wat(r#"(module (memory (export "memory") 65) (func (export "deploy")) (func (export "call")))"#),
        wat(r#"(module (memory (export "memory") 1) (func (export "deploy") (param i32)) (func (export "call")))"#),
    ];
    seeds.extend(built_contracts());
    seeds
}

#[test]
fn fuzz_vm_wasm() {
    let vm: Vm<OneContract> = Vm::new().expect("vm");
    let corpus = seeds();
    let accepted = AtomicU64::new(0);
    let ctx = BlockContext { network: NetworkId::new("fuzz").expect("id"), height: 1, timestamp: 0 };
    Target::with_default_cases("vm_wasm", DEFAULT_CASES).run(
        |rng| mutate_from(rng, &corpus, LIMITS),
        |code| {
            let structure = check_structure(code);
            let Ok(compiled) = vm.compile(code) else { return };
            assert!(structure.is_ok(), "compiled a module the structural check refuses: {structure:?}");
            accepted.fetch_add(1, Ordering::Relaxed);
            let code_hash = jjj_primitives::blake2_256(code);
            vm.insert(code_hash, &compiled);
            for entry in [Entry::Deploy, Entry::Call] {
                let call = Invocation {
                    ctx: ctx.clone(),
                    entry,
                    address: AccountId([1; 32]),
                    caller: AccountId([2; 32]),
                    value: 0,
                    input: code[..code.len().min(64)].to_vec(),
                    gas_limit: GAS,
                    debug: true,
                    trace: false,
                    read_only: false,
                    reads: jjj_vm::ReadAccess::Signed,
                };
                let outcome = vm.execute(OneContract { code_hash }, call);
                assert!(outcome.gas_used <= GAS, "used {} gas of {GAS}", outcome.gas_used);
            }
        },
    );
    if verbose() {
        println!("vm_wasm: {} mutated modules accepted and run", accepted.load(Ordering::Relaxed));
    }
}
