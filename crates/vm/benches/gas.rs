//! Gas calibration: runs the worst-case loop of each priced operation until it runs out of gas
//! and prints how many nanoseconds one gas buys, as a table and as one JSON line.
//!
//! A gas is meant to be worth about the same time whatever the contract does: a block's gas
//! limit times the worst ns/gas must stay well under the consensus view timeout. The plain
//! instruction loop is the reference; every other row should be within 2x of it.
//!
//! Run: `cargo bench -p jjj-vm --bench gas` (also part of `scripts/bench.sh`).
use jjj_primitives::{AccountId, BlockContext, Hash, NetworkId};
use jjj_vm::{ContractCode, Entry, Host, HostError, Invocation, Vm};
use std::collections::BTreeMap;
use std::time::Instant;

/// Gas each measured call burns; enough for tens of milliseconds.
const GAS_PER_RUN: u64 = 20_000_000;
/// Runs per case; the median is reported.
const RUNS: usize = 5;

/// The least a host can be: no storage, no balances, the contracts under test.
#[derive(Default)]
struct BenchHost {
    contracts: BTreeMap<AccountId, ContractCode>,
    code: BTreeMap<Hash, Vec<u8>>,
}

impl Host for BenchHost {
    fn storage_get(&self, _: &AccountId, _: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        Ok(None)
    }
    fn storage_set(&mut self, _: &AccountId, _: &[u8], _: Vec<u8>) {}
    fn storage_remove(&mut self, _: &AccountId, _: &[u8]) {}
    fn balance(&self, _: &AccountId) -> Result<u64, HostError> {
        Ok(0)
    }
    fn transfer(&mut self, _: &AccountId, _: &AccountId, amount: u64) -> Result<bool, HostError> {
        Ok(amount == 0)
    }
    fn contract(&self, address: &AccountId) -> Result<Option<ContractCode>, HostError> {
        Ok(self.contracts.get(address).copied())
    }
    fn code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.code.get(code_hash).cloned())
    }
    fn checkpoint(&mut self) {}
    fn commit_checkpoint(&mut self) {}
    fn revert_checkpoint(&mut self) {}
}

/// (name, memory and table declarations plus helpers, the loop body run until gas runs out).
const CASES: &[(&str, &str, &str)] = &[
    ("plain loop (add)", "(memory 1)", "(local.set 0 (i32.add (local.get 0) (i32.const 1)))"),
    ("memory.grow failing", "(memory 1 1)", "(drop (memory.grow (i32.const 1)))"),
    ("memory.grow 0 pages", "(memory 1)", "(drop (memory.grow (i32.const 0)))"),
    ("memory.size", "(memory 1)", "(drop (memory.size))"),
    ("memory.fill 0 bytes", "(memory 1)", "(memory.fill (i32.const 0) (i32.const 0) (i32.const 0))"),
    ("memory.fill 64 KiB", "(memory 1)", "(memory.fill (i32.const 0) (i32.const 7) (i32.const 65536))"),
    ("memory.copy 0 bytes", "(memory 1)", "(memory.copy (i32.const 0) (i32.const 8) (i32.const 0))"),
    ("memory.copy 32 KiB", "(memory 1)", "(memory.copy (i32.const 0) (i32.const 32768) (i32.const 32768))"),
    (
        "memory.init 0 bytes",
        "(memory 1) (data $d \"0123456789abcdef\")",
        "(memory.init $d (i32.const 0) (i32.const 0) (i32.const 0))",
    ),
    ("data.drop", "(memory 1) (data $d \"0123456789abcdef\")", "(data.drop $d)"),
    ("table.grow failing", "(memory 1) (table 1 1 funcref)", "(drop (table.grow (ref.null func) (i32.const 1)))"),
    ("table.fill 0", "(memory 1) (table 8 funcref)", "(table.fill (i32.const 0) (ref.null func) (i32.const 0))"),
    ("table.fill 8", "(memory 1) (table 8 funcref)", "(table.fill (i32.const 0) (ref.null func) (i32.const 8))"),
    ("table.copy 0", "(memory 1) (table 8 funcref)", "(table.copy (i32.const 0) (i32.const 1) (i32.const 0))"),
    ("table.get/set", "(memory 1) (table 8 funcref)", "(table.set (i32.const 1) (table.get (i32.const 0)))"),
    ("table.size", "(memory 1) (table 8 funcref)", "(drop (table.size))"),
    ("elem.drop", "(memory 1) (table 8 funcref) (elem $e func $nop)", "(elem.drop $e)"),
    ("call (empty function)", "(memory 1)", "(call $nop)"),
    ("call_indirect", "(memory 1) (table 1 funcref) (elem (i32.const 0) $nop)", "(call_indirect (i32.const 0))"),
    ("host call gas_left", "(memory 1)", "(drop (call $gas_left))"),
    ("host call caller", "(memory 1)", "(call $caller (i32.const 0))"),
    ("host call input (empty)", "(memory 1)", "(drop (call $input (i32.const 0) (i32.const 0)))"),
    (
        "host call storage_get (miss)",
        "(memory 1)",
        "(drop (call $get (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 0)))",
    ),
];

fn module(decls: &str, body: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "jjj" "gas_left" (func $gas_left (result i64)))
  (import "jjj" "caller" (func $caller (param i32)))
  (import "jjj" "input" (func $input (param i32 i32) (result i32)))
  (import "jjj" "storage_get" (func $get (param i32 i32 i32 i32) (result i32)))
  {decls}
  (export "memory" (memory 0))
  (func $nop)
  (func (export "deploy"))
  (func (export "call") (local i32) (loop {body} (br 0))))"#
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("bad bench WAT: {e}\n{wat}"))
}

/// The one-off worst case of memory growth: grow to the limit and touch every page.
fn grow_to_limit() -> Vec<u8> {
    let pages = jjj_vm::limits::MAX_MEMORY_PAGES - 1;
    let wat = format!(
        r#"(module (memory (export "memory") 1) (func (export "deploy"))
  (func (export "call") (local i32)
    (drop (memory.grow (i32.const {pages})))
    (loop (i32.store8 (i32.mul (local.get 0) (i32.const 65536)) (i32.const 1))
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get 0) (i32.const {total}))))))"#,
        total = pages + 1
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("bad bench WAT: {e}"))
}

struct Row {
    name: String,
    gas: u64,
    ns: f64,
}

fn measure(vm: &Vm<BenchHost>, name: &str, code: Vec<u8>, gas_limit: u64, seed: u8) -> Row {
    let address = AccountId([seed; 32]);
    let hash = Hash([seed; 32]);
    let mut samples = Vec::new();
    let mut gas = 0;
    for _ in 0..RUNS + 1 {
        let mut host = BenchHost::default();
        host.code.insert(hash, code.clone());
        host.contracts.insert(address, ContractCode { code_hash: hash, reentrant: false });
        let call = Invocation {
            ctx: BlockContext { network: NetworkId::new("bench").expect("id"), height: 1, timestamp: 0 },
            entry: Entry::Call,
            address,
            caller: AccountId([0; 32]),
            value: 0,
            input: vec![],
            gas_limit,
            debug: false,
            trace: false,
            read_only: false,
            reads: jjj_vm::ReadAccess::Signed,
        };
        let start = Instant::now();
        let out = vm.execute(host, call);
        let elapsed = start.elapsed().as_nanos() as f64;
        assert!(!out.aborted, "{name}: aborted");
        gas = out.gas_used;
        samples.push(elapsed);
    }
    // The first run compiles the module: left out.
    samples.remove(0);
    samples.sort_by(|a, b| a.total_cmp(b));
    Row { name: name.to_string(), gas, ns: samples[samples.len() / 2] }
}

fn main() {
    let vm = Vm::<BenchHost>::new().expect("vm");
    let mut rows = Vec::new();
    for (i, (name, decls, body)) in CASES.iter().enumerate() {
        rows.push(measure(&vm, name, module(decls, body), GAS_PER_RUN, i as u8 + 1));
    }
    let empty =
        wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#)
            .expect("wat");
    rows.push(measure(&vm, "empty call (instantiate only, 1 page)", empty, GAS_PER_RUN, 199));
    rows.push(measure(&vm, "memory.grow to the limit, touch each page", grow_to_limit(), GAS_PER_RUN, 200));
    let plain = rows[0].ns / rows[0].gas as f64;
    println!("| operation | gas used | ms | ns/gas | × plain |");
    println!("|---|---:|---:|---:|---:|");
    let mut worst = ("", 0.0f64);
    for r in &rows {
        let per = r.ns / r.gas.max(1) as f64;
        if per > worst.1 {
            worst = (&r.name, per);
        }
        println!("| {} | {} | {:.2} | {:.3} | {:.2} |", r.name, r.gas, r.ns / 1e6, per, per / plain);
    }
    println!("\nworst: {} at {:.3} ns/gas, {:.2}x the plain loop", worst.0, worst.1, worst.1 / plain);
    let json: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{{\"operation\":\"{}\",\"gas\":{},\"ns\":{:.0},\"ns_per_gas\":{:.4}}}",
                r.name,
                r.gas,
                r.ns,
                r.ns / r.gas.max(1) as f64
            )
        })
        .collect();
    println!(
        "{{\"plain_ns_per_gas\":{plain:.4},\"worst_ns_per_gas\":{:.4},\"worst_over_plain\":{:.3},\"rows\":[{}]}}",
        worst.1,
        worst.1 / plain,
        json.join(",")
    );
}
