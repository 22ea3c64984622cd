//! Fuzz targets of the state transition (see `jjj-fuzz-harness`; `scripts/fuzz.sh` runs them all).
//!
//! - `executive_tx`: SCALE bytes → `SignedTransaction` (decoded as the RPC does) →
//!   `Runtime::check_transaction` against a small state; a transaction that passes is applied.
//!   Half the inputs are mutated encodings re-signed by the key they name, so the signature check
//!   does not stop them and the call itself (transfers, uploads, multisigs, contract calls) runs.
//! - `executive_host_abi`: a contract that turns its input into host calls with arguments taken
//!   from the input (pointers, lengths, values, nested calls), run in a block and as a query:
//!   hostile arguments must end the call with a receipt, never the node.
use jjj_abi::{AbiType, HOST_FUNCTIONS};
use jjj_crypto::Keypair;
use jjj_executive::{genesis_changes, multisig_address, Runtime, TxError};
use jjj_fuzz_harness::rand::rngs::StdRng;
use jjj_fuzz_harness::rand::Rng;
use jjj_fuzz_harness::{from_hex, mutate, mutate_from, Target};
use jjj_primitives::params::{MAX_CODE_SIZE, MAX_MULTISIG_MEMBERS, MAX_TX_GAS, MAX_TX_SIZE};
use jjj_primitives::*;
use jjj_state::{keys, CodeInfo, ContractInfo, MemoryState, Multisig, Overlay, StateReader};
use parity_scale_codec::{DecodeLimit, Encode};
use std::sync::Arc;

/// The RPC's decoding depth limit for a submitted transaction.
const TX_DECODE_DEPTH: u32 = 16;
/// Gas of a host-ABI run: enough for thousands of host calls, small enough to keep cases fast.
const HOST_ABI_GAS: u64 = 20_000_000;
/// Where the interpreter keeps the two contract addresses an input can point nested calls at.
const ADDRESSES_AT: u32 = 65_536;
/// Limits worth hitting exactly (mutations write them, ±1, into the bytes).
const LIMITS: &[u64] = &[
    MAX_TX_GAS,
    MAX_TX_SIZE as u64,
    MAX_CODE_SIZE as u64,
    MAX_MULTISIG_MEMBERS as u64,
    128,
    16 * 1024,
    64 * 1024,
    ADDRESSES_AT as u64,
];

/// Inputs that once failed `executive_tx` (hex, re-signed where needed).
const REGRESSIONS: &[&str] = &[
    // CreateMultisig charged its cost past the gas limit (gas used 28,600 of a 19,158 limit):
    // its cost was not checked against what the limit left.
    concat!(
        "1066757a7a49ccc1160a412fa7b020c6dfd40e7f22053c9c878bdafb08bf071f44deab24d80000000000000000d64a00",
        "000000000004083da2b4afa9ea9da00d1b9d8b76d5018d5132b0e6358cd547a8702ff59bd0580af6a9cfb644fef1fc82",
        "ede2a5193602c9df8c345f947a15b082d141adb2668ebf010000000449ccc1160a412fa7b020c6dfd40e7f22053c9c87",
        "8bdafb08bf071f44deab24d872c8dcf0c28675b868a2af616cb8ae20547782ae7b6f5a3d1b548724d294c6633d656951",
        "edc83b41e963ec68340b862c574644ea53ae2ef3454057d1ce0bb904"
    ),
];

/// A small state: funded key accounts, a 2-of-3 multisig of the first three, and two instances
/// of the host-call interpreter.
struct World {
    runtime: Runtime,
    state: Arc<MemoryState>,
    network: NetworkId,
    keys: Vec<Keypair>,
    multisig: AccountId,
    interpreters: [AccountId; 2],
    interpreter_code: Hash,
}

impl World {
    fn new() -> World {
        let suite = jjj_crypto::test_suite();
        let algo = suite.hash_algo();
        let runtime = Runtime::new().expect("runtime").with_suite(suite);
        let network = NetworkId::new("fuzz").expect("network id");
        let keys: Vec<Keypair> = (0..4).map(|i| Keypair::named(suite.scheme(), &format!("fuzz-{i}"))).collect();
        let members: Vec<AccountId> = keys[..3].iter().map(|k| k.account()).collect();
        let multisig = multisig_address(algo, &members, 2);
        let interpreters = [AccountId([0xc1; 32]), AccountId([0xc2; 32])];
        let code = interpreter_wasm(&interpreters);
        runtime.vm().compile(&code).expect("the interpreter is a valid contract");
        let code_hash = algo.hash(&code);

        let mut balances: Vec<(AccountId, u64)> = keys.iter().map(|k| (k.account(), 1_000_000_000)).collect();
        balances.push((multisig, 1_000_000_000));
        let mut changes = genesis_changes(&balances);
        changes.insert(keys::multisig(&multisig), Some(Multisig { members, threshold: 2 }.encode()));
        let info = CodeInfo { uploader: keys[0].account(), size: code.len() as u32, reentrant: false, uploaded_at: 0 };
        changes.insert(keys::code(&code_hash), Some(code));
        changes.insert(keys::code_info(&code_hash), Some(info.encode()));
        for address in &interpreters {
            let contract = ContractInfo { code_hash, deployer: keys[0].account(), instantiated_at: 0 };
            changes.insert(keys::contract(address), Some(contract.encode()));
        }
        let mut state = MemoryState::new(algo);
        state.apply(&changes).expect("genesis");
        World { runtime, state: Arc::new(state), network, keys, multisig, interpreters, interpreter_code: code_hash }
    }

    fn overlay(&self) -> Overlay {
        Overlay::new(self.state.clone() as Arc<dyn StateReader>)
    }

    fn ctx(&self) -> BlockContext {
        BlockContext { network: self.network.clone(), height: 1, timestamp: 1_767_225_600_000 }
    }

    fn tx(&self, sender: AccountId, gas_limit: u64, call: Call) -> Transaction {
        Transaction { network: self.network.clone(), sender, nonce: 0, gas_limit, call }
    }

    /// Valid signed transactions of every kind: the seeds the mutations start from.
    fn corpus(&self) -> Vec<Vec<u8>> {
        let k = &self.keys;
        let small_module =
            wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "deploy")) (func (export "call")))"#)
                .expect("wat");
        let calls = [
            Call::Transfer { to: k[1].account(), amount: 1_000 },
            Call::UploadCode { code: small_module },
            Call::Instantiate { code_hash: self.interpreter_code, input: vec![], value: 0 },
            Call::Call { contract: self.interpreters[0], input: vec![1, 2, 3], value: 10 },
            Call::CreateMultisig { members: vec![k[0].account(), k[3].account()], threshold: 1 },
        ];
        let mut corpus: Vec<Vec<u8>> =
            calls.iter().map(|c| k[0].sign_tx(self.tx(k[0].account(), 5_000_000, c.clone())).encode()).collect();
        // A multisig's transaction, with two members' signatures.
        let tx = self.tx(self.multisig, 1_000_000, calls[0].clone());
        let payload = tx.signing_payload();
        let signatures = vec![k[0].sign(&payload), k[2].sign(&payload)];
        corpus.push(SignedTransaction { tx, signatures }.encode());
        corpus
    }

    /// Makes a decoded transaction pass the signature check: a known sender, usually the right
    /// network and nonce, signed by the sender's key (or two or three multisig members).
    fn resign(&self, rng: &mut StdRng, mut stx: SignedTransaction) -> SignedTransaction {
        if rng.gen_bool(0.8) {
            stx.tx.network = self.network.clone();
        }
        if rng.gen_bool(0.8) {
            stx.tx.nonce = 0;
        }
        if rng.gen_bool(0.5) {
            stx.tx.gas_limit = rng.gen_range(0..=MAX_TX_GAS / 10);
        }
        let payload_of = |tx: &Transaction| tx.signing_payload();
        if rng.gen_bool(0.75) {
            let key = &self.keys[rng.gen_range(0..self.keys.len())];
            stx.tx.sender = key.account();
            stx.signatures = vec![key.sign(&payload_of(&stx.tx))];
        } else {
            stx.tx.sender = self.multisig;
            let payload = payload_of(&stx.tx);
            let signers = rng.gen_range(1..=4);
            stx.signatures = self.keys[..signers].iter().map(|k| k.sign(&payload)).collect();
        }
        stx
    }

    /// Decodes as the RPC does, checks, and applies what passes; asserts what must hold after.
    fn check_and_apply(&self, bytes: &[u8]) {
        let Ok(stx) = SignedTransaction::decode_all_with_depth_limit(TX_DECODE_DEPTH, &mut &bytes[..]) else {
            return;
        };
        let mut overlay = self.overlay();
        let Ok(intrinsic) = self.runtime.check_transaction(&overlay, &self.network, &stx) else { return };
        let receipt = match self.runtime.apply_transaction(&mut overlay, &self.ctx(), &stx) {
            Ok(r) => r,
            Err(TxError::Aborted(_)) => return, // the wall-clock backstop: a busy machine
            Err(e) => panic!("check_transaction passed but apply_transaction refused: {e}"),
        };
        assert!(receipt.gas_used >= intrinsic, "gas used {} below the intrinsic {intrinsic}", receipt.gas_used);
        assert!(
            receipt.gas_used <= stx.tx.gas_limit,
            "gas used {} over the limit {}",
            receipt.gas_used,
            stx.tx.gas_limit
        );
        // Replay within the block: the nonce moved on.
        let again = self.runtime.check_transaction(&overlay, &self.network, &stx);
        assert!(matches!(again, Err(TxError::BadNonce { .. })), "a replay was not refused for its nonce: {again:?}");
    }
}

#[test]
fn fuzz_executive_tx() {
    let world = World::new();
    let corpus = world.corpus();
    Target::new("executive_tx").regressions(REGRESSIONS.iter().map(|h| from_hex(h))).run(
        |rng| {
            let bytes = mutate_from(rng, &corpus, LIMITS);
            if rng.gen_bool(0.5) {
                if let Ok(stx) = SignedTransaction::decode_all_with_depth_limit(TX_DECODE_DEPTH, &mut &bytes[..]) {
                    return world.resign(rng, stx).encode();
                }
            }
            bytes
        },
        |bytes| world.check_and_apply(bytes),
    );
}

#[test]
fn fuzz_executive_host_abi() {
    let world = World::new();
    let ops = HostOps;
    Target::new("executive_host_abi").run(
        |rng| {
            let mut input = ops.program(rng);
            if rng.gen_bool(0.3) {
                mutate(rng, &mut input, &[], LIMITS);
            }
            input
        },
        |input| {
            let caller = &world.keys[0];
            let call = Call::Call { contract: world.interpreters[0], input: input.to_vec(), value: 7 };
            let stx = caller.sign_tx(world.tx(caller.account(), HOST_ABI_GAS, call.clone()));
            world.check_and_apply(&stx.encode());
            let query = world.runtime.query(
                world.state.clone(),
                &world.ctx(),
                caller.account(),
                call,
                HOST_ABI_GAS,
                jjj_executive::ReadAccess::Signed,
            );
            if let Ok(dry) = query {
                assert!(dry.receipt.gas_used <= HOST_ABI_GAS, "a query used {} gas", dry.receipt.gas_used);
            }
        },
    );
}

/// Writes programs for the interpreter: op bytes, each followed by its host function's
/// arguments, chosen to land near the interesting cases (real addresses, key and value limits,
/// zero and huge lengths, pointers at the end of memory).
struct HostOps;

impl HostOps {
    fn program(&self, rng: &mut StdRng) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..rng.gen_range(1..24) {
            let f = rng.gen_range(0..HOST_FUNCTIONS.len());
            let mut op = f as u8;
            if rng.gen_bool(0.7) {
                op |= MASK_POINTERS; // keep arguments inside memory, mostly
            }
            if HOST_FUNCTIONS[f].name == "revert" && rng.gen_bool(0.7) {
                op |= REALLY_REVERT;
            }
            out.push(op);
            for param in HOST_FUNCTIONS[f].params {
                match param {
                    AbiType::I32 => out.extend_from_slice(&self.i32_arg(rng).to_le_bytes()),
                    AbiType::I64 => out.extend_from_slice(&self.i64_arg(rng).to_le_bytes()),
                }
            }
        }
        // Nested calls run the same interpreter on an input taken from memory: sometimes give
        // them a program too, at a place the pointers above often use.
        if rng.gen_bool(0.3) {
            let nested = self.program_without_nesting(rng);
            out.resize(out.len().max(1024), 0);
            out.extend_from_slice(&nested);
        }
        out
    }

    fn program_without_nesting(&self, rng: &mut StdRng) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..rng.gen_range(1..8) {
            let f = rng.gen_range(0..HOST_FUNCTIONS.len());
            out.push(f as u8 | MASK_POINTERS);
            for param in HOST_FUNCTIONS[f].params {
                match param {
                    AbiType::I32 => out.extend_from_slice(&self.i32_arg(rng).to_le_bytes()),
                    AbiType::I64 => out.extend_from_slice(&self.i64_arg(rng).to_le_bytes()),
                }
            }
        }
        out
    }

    fn i32_arg(&self, rng: &mut StdRng) -> u32 {
        match rng.gen_range(0..10) {
            0 => ADDRESSES_AT,      // the first interpreter's address
            1 => ADDRESSES_AT + 32, // the second's
            2 => rng.gen_range(0..64),
            3 => [0, 1, 32, 127, 128, 129, 4096, 16 * 1024, 16 * 1024 + 1, 64 * 1024][rng.gen_range(0..10)],
            4 => 2 * 65_536 - rng.gen_range(0..64), // the end of memory
            5 => u32::MAX - rng.gen_range(0..64),
            6 => 1024,
            7 => rng.gen_range(0..4096),
            _ => rng.gen_range(0..160), // around the 128-byte key limit
        }
    }

    fn i64_arg(&self, rng: &mut StdRng) -> u64 {
        match rng.gen_range(0..5) {
            0 => 0,
            1 => rng.gen_range(0..1000),
            2 => u64::MAX - rng.gen_range(0..2),
            3 => 1_000_000_000 + rng.gen_range(0..2),
            _ => rng.gen(),
        }
    }
}

/// Op bit: mask pointer and length arguments to 17 bits (inside the two pages, mostly).
const MASK_POINTERS: u8 = 0x40;
/// Op bit: a `revert` op really reverts (otherwise it is skipped, so programs run longer).
const REALLY_REVERT: u8 = 0x80;

/// A contract whose `call` (and `deploy`) copies its input to memory and runs it as a program:
/// each op byte picks a host function (`op & 0x3f`, modulo their number) whose arguments follow
/// as little-endian i32/i64 values. Generated from the ABI table, so every host function is
/// reachable. Memory: two pages; the two interpreters' addresses sit at `ADDRESSES_AT`.
fn interpreter_wasm(addresses: &[AccountId; 2]) -> Vec<u8> {
    let n = HOST_FUNCTIONS.len();
    let mut imports = String::new();
    let mut cases = String::new();
    for (i, f) in HOST_FUNCTIONS.iter().enumerate() {
        let wat_type = |t: &AbiType| match t {
            AbiType::I32 => "i32",
            AbiType::I64 => "i64",
        };
        let params: Vec<&str> = f.params.iter().map(wat_type).collect();
        let results: Vec<&str> = f.results.iter().map(wat_type).collect();
        imports.push_str(&format!(
            "(import \"jjj\" \"{}\" (func $f{i} (param {}) (result {})))\n",
            f.name,
            params.join(" "),
            results.join(" ")
        ));
        // Close the block of case i, then its body.
        cases.push_str(")\n");
        if f.name == "revert" {
            cases.push_str(&format!("(br_if $end (i32.eqz (i32.and (local.get $op) (i32.const {REALLY_REVERT}))))\n"));
        }
        for p in f.params {
            let (load, size) = match p {
                AbiType::I32 => ("(i32.and (i32.load (local.get $pc)) (local.get $mask))", 4),
                AbiType::I64 => ("(i64.load (local.get $pc))", 8),
            };
            cases.push_str(&format!("{load} (local.set $pc (i32.add (local.get $pc) (i32.const {size})))\n"));
        }
        cases.push_str(&format!("(call $f{i})\n"));
        for _ in f.results {
            cases.push_str("drop\n");
        }
        cases.push_str("(br $end)\n");
    }
    let labels: Vec<String> = (0..n).map(|i| format!("$c{i}")).collect();
    let opens: String = (0..n).rev().map(|i| format!("(block $c{i} ")).collect();
    let data: String = addresses.iter().flat_map(|a| a.0).map(|b| format!("\\{b:02x}")).collect();
    let input_index = HOST_FUNCTIONS.iter().position(|f| f.name == "input").expect("input is a host function");
    let wat = format!(
        r#"(module
{imports}
(memory (export "memory") 2 2)
(data (i32.const {ADDRESSES_AT}) "{data}")
(func $run (local $n i32) (local $pc i32) (local $op i32) (local $mask i32)
  (local.set $n (call $f{input_index} (i32.const 0) (i32.const 65536)))
  (if (i32.gt_u (local.get $n) (i32.const 65536)) (then (local.set $n (i32.const 65536))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $pc) (local.get $n)))
      (local.set $op (i32.load8_u (local.get $pc)))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (local.set $mask (select (i32.const 0x1ffff) (i32.const -1)
        (i32.and (local.get $op) (i32.const {MASK_POINTERS}))))
      (block $end {opens}
        (br_table {labels} (i32.rem_u (i32.and (local.get $op) (i32.const 0x3f)) (i32.const {n})))
{cases}      )
      (br $next))))
(func (export "deploy") (call $run))
(func (export "call") (call $run)))"#,
        labels = labels.join(" "),
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("bad interpreter WAT: {e}\n{wat}"))
}
