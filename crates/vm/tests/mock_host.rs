//! The VM against a mock host: what a contract does reaches the chain only through `Host`, and
//! the VM keeps its promises about frames (a failed call's writes and events are undone), gas and
//! queries (read-only) without any chain behind it.
use jjj_primitives::{AccountId, BlockContext, Hash, NetworkId};
use jjj_vm::{ContractCode, Entry, FrameEnd, Host, HostError, Invocation, Vm};
use std::collections::BTreeMap;

type Storage = BTreeMap<(AccountId, Vec<u8>), Vec<u8>>;
type Balances = BTreeMap<AccountId, u64>;

/// A map of storage and balances with a stack of undo snapshots as checkpoints.
#[derive(Default, Clone)]
struct MapHost {
    storage: Storage,
    balances: Balances,
    contracts: BTreeMap<AccountId, ContractCode>,
    code: BTreeMap<Hash, Vec<u8>>,
    snapshots: Vec<(Storage, Balances)>,
    /// account → (member, roles)
    registry: BTreeMap<AccountId, (String, Vec<String>)>,
}

impl Host for MapHost {
    fn storage_get(&self, contract: &AccountId, key: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.storage.get(&(*contract, key.to_vec())).cloned())
    }
    fn storage_set(&mut self, contract: &AccountId, key: &[u8], value: Vec<u8>) {
        self.storage.insert((*contract, key.to_vec()), value);
    }
    fn storage_remove(&mut self, contract: &AccountId, key: &[u8]) {
        self.storage.remove(&(*contract, key.to_vec()));
    }
    fn balance(&self, account: &AccountId) -> Result<u64, HostError> {
        Ok(self.balances.get(account).copied().unwrap_or(0))
    }
    fn transfer(&mut self, from: &AccountId, to: &AccountId, amount: u64) -> Result<bool, HostError> {
        let have = self.balance(from)?;
        if have < amount {
            return Ok(false);
        }
        if amount > 0 && from != to {
            self.balances.insert(*from, have - amount);
            *self.balances.entry(*to).or_default() += amount;
        }
        Ok(true)
    }
    fn contract(&self, address: &AccountId) -> Result<Option<ContractCode>, HostError> {
        Ok(self.contracts.get(address).copied())
    }
    fn code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.code.get(code_hash).cloned())
    }
    fn has_role(&self, account: &AccountId, role: &str) -> Result<bool, HostError> {
        Ok(self.registry.get(account).is_some_and(|(_, roles)| roles.iter().any(|r| r == role)))
    }
    fn member_of(&self, account: &AccountId) -> Result<Option<String>, HostError> {
        Ok(self.registry.get(account).map(|(m, _)| m.clone()))
    }
    fn checkpoint(&mut self) {
        self.snapshots.push((self.storage.clone(), self.balances.clone()));
    }
    fn commit_checkpoint(&mut self) {
        self.snapshots.pop();
    }
    fn revert_checkpoint(&mut self) {
        if let Some((s, b)) = self.snapshots.pop() {
            self.storage = s;
            self.balances = b;
        }
    }
}

/// A contract that stores "v" under key "k", emits one event, pays 5 fen to its caller, then
/// reverts when its input's first byte is 1.
const WRITER: &str = r#"
(module
  (import "jjj" "input" (func $input (param i32 i32) (result i32)))
  (import "jjj" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "jjj" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (import "jjj" "caller" (func $caller (param i32)))
  (import "jjj" "transfer" (func $transfer (param i32 i64) (result i32)))
  (import "jjj" "revert" (func $revert (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "kv")
  (data (i32.const 16) "no")
  (func (export "deploy"))
  (func (export "call")
    (drop (call $input (i32.const 100) (i32.const 1)))
    (call $set (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1))
    (call $emit (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 2))
    (call $caller (i32.const 200))
    (drop (call $transfer (i32.const 200) (i64.const 5)))
    (if (i32.eq (i32.load8_u (i32.const 100)) (i32.const 1))
      (then (call $revert (i32.const 16) (i32.const 2))))))
"#;

fn setup() -> (Vm<MapHost>, MapHost, AccountId, AccountId) {
    let vm = Vm::<MapHost>::new().expect("vm");
    let code = wat::parse_str(WRITER).expect("wat");
    let hash = Hash([7; 32]);
    let contract = AccountId([1; 32]);
    let user = AccountId([2; 32]);
    let mut host = MapHost::default();
    host.code.insert(hash, code);
    host.contracts.insert(contract, ContractCode { code_hash: hash, reentrant: false });
    host.balances.insert(contract, 100);
    (vm, host, contract, user)
}

fn call(contract: AccountId, caller: AccountId, input: Vec<u8>, read_only: bool) -> Invocation {
    Invocation {
        ctx: BlockContext { network: NetworkId::new("test").expect("id"), height: 1, timestamp: 0 },
        entry: Entry::Call,
        address: contract,
        caller,
        value: 0,
        input,
        gas_limit: 1_000_000,
        debug: false,
        trace: false,
        read_only,
        reads: jjj_vm::ReadAccess::Signed,
    }
}

#[test]
fn writes_events_and_transfers_reach_the_host() {
    let (vm, host, contract, user) = setup();
    let out = vm.execute(host, call(contract, user, vec![0], false));
    assert_eq!(out.end, FrameEnd::Success(vec![]));
    assert_eq!(out.host.storage.get(&(contract, b"k".to_vec())), Some(&b"v".to_vec()));
    assert_eq!(out.host.balances.get(&user), Some(&5));
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].data, b"kv");
    assert!(out.gas_used > 0 && !out.aborted);
}

#[test]
fn a_revert_undoes_the_frame_through_the_host() {
    let (vm, host, contract, user) = setup();
    let out = vm.execute(host, call(contract, user, vec![1], false));
    assert_eq!(out.end, FrameEnd::Reverted("no".into()));
    assert!(out.host.storage.is_empty(), "the write was reverted");
    assert_eq!(out.host.balances.get(&user), None, "the transfer was reverted");
    assert!(out.events.is_empty());
    assert!(out.host.snapshots.is_empty(), "every checkpoint was closed");
}

#[test]
fn a_query_cannot_write() {
    let (vm, host, contract, user) = setup();
    let out = vm.execute(host, call(contract, user, vec![0], true));
    match out.end {
        FrameEnd::Failed(reason) => assert!(reason.contains("a query cannot write storage"), "{reason}"),
        other => panic!("a query wrote: {other:?}"),
    }
    assert!(out.host.storage.is_empty());
}

#[test]
fn a_missing_contract_or_code_fails_readably() {
    let (vm, mut host, contract, user) = setup();
    let out = vm.execute(host.clone(), call(AccountId([9; 32]), user, vec![], false));
    assert!(matches!(&out.end, FrameEnd::Failed(r) if r.starts_with("no contract at")), "{:?}", out.end);
    host.code.clear();
    let out = vm.execute(host, call(contract, user, vec![], false));
    assert!(matches!(&out.end, FrameEnd::Failed(r) if r.contains("is not uploaded")), "{:?}", out.end);
}

#[test]
fn the_linker_defines_exactly_the_abi() {
    let vm = Vm::<MapHost>::new().expect("vm");
    let linked = vm.linked_functions().expect("linked");
    for f in jjj_abi::HOST_FUNCTIONS {
        assert!(linked.contains(&format!("jjj::{}", f.name)), "{} is in the ABI but not linked", f.name);
    }
    assert_eq!(linked.len(), jjj_abi::HOST_FUNCTIONS.len(), "linked: {linked:?}");
}

/// Deploys `wat` at a fresh address of `host`; returns the address.
fn deploy(host: &mut MapHost, seed: u8, wat: &str) -> AccountId {
    let hash = Hash([seed; 32]);
    let address = AccountId([seed; 32]);
    host.code.insert(hash, wat::parse_str(wat).expect("wat"));
    host.contracts.insert(address, ContractCode { code_hash: hash, reentrant: false });
    address
}

#[test]
fn input_is_charged_for_its_full_length_before_copying() {
    // Asks for the input's length only (a zero-capacity buffer): the host used to copy the
    // whole input first and charge for none of it.
    let probe = r#"(module
      (import "jjj" "input" (func $input (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "deploy"))
      (func (export "call") (drop (call $input (i32.const 0) (i32.const 0)))))"#;
    let (vm, mut host, _, user) = setup();
    let contract = deploy(&mut host, 3, probe);
    let gas = |len: usize| {
        let out = vm.execute(host.clone(), call(contract, user, vec![7; len], false));
        assert_eq!(out.end, FrameEnd::Success(vec![]));
        out.gas_used
    };
    let (small, big) = (gas(10), gas(60_010));
    let per_byte = jjj_vm::limits::gas::INVOKE.per_byte + jjj_vm::limits::gas::INPUT.per_byte;
    assert_eq!(big - small, 60_000 * per_byte, "call setup and `input` both charge per byte of input");
}

#[test]
fn a_failing_memory_grow_costs_gas() {
    // A memory already at its maximum: every grow fails. A failing grow costs the host a call
    // into the limiter; it used to cost one gas like an add.
    let module = |body: &str| {
        format!(
            r#"(module (memory (export "memory") 1 1) (func (export "deploy"))
               (func (export "call") {body}))"#
        )
    };
    let (vm, mut host, _, user) = setup();
    let plain = deploy(&mut host, 4, &module("(drop (i32.const 1))"));
    let grow = deploy(&mut host, 5, &module("(drop (memory.grow (i32.const 1)))"));
    let run = |c| vm.execute(host.clone(), call(c, user, vec![], false));
    let (a, b) = (run(plain), run(grow));
    assert_eq!(b.end, FrameEnd::Success(vec![]));
    assert!(b.gas_used - a.gas_used >= 20, "a failing memory.grow cost {} gas", b.gas_used - a.gas_used);
    assert_eq!(b.gas_used - a.gas_used, u64::from(jjj_vm::limits::gas::wasm::MEMORY_GROW));
}

#[test]
fn memory_pages_cost_gas_initial_and_grown() {
    use jjj_vm::limits::gas::{wasm, MEMORY_PAGE};
    let module = |pages: u32, body: &str| {
        format!(r#"(module (memory (export "memory") {pages}) (func (export "deploy")) (func (export "call") {body}))"#)
    };
    let (vm, mut host, _, user) = setup();
    let one = deploy(&mut host, 6, &module(1, ""));
    let two = deploy(&mut host, 7, &module(2, ""));
    let grow0 = deploy(&mut host, 8, &module(1, "(drop (memory.grow (i32.const 0)))"));
    let grow3 = deploy(&mut host, 9, &module(1, "(drop (memory.grow (i32.const 3)))"));
    let run = |c, gas_limit| {
        let mut inv = call(c, user, vec![], false);
        inv.gas_limit = gas_limit;
        vm.execute(host.clone(), inv)
    };
    let gas = |c| {
        let out = run(c, 1_000_000);
        assert_eq!(out.end, FrameEnd::Success(vec![]));
        out.gas_used
    };
    assert_eq!(gas(two) - gas(one), MEMORY_PAGE, "an initial page");
    assert_eq!(gas(grow3) - gas(grow0), 3 * MEMORY_PAGE, "grown pages");
    assert!(gas(grow0) > u64::from(wasm::MEMORY_GROW) + MEMORY_PAGE);
    // Pages are paid for even when no host call follows: the frame fails when it cannot pay.
    let out = run(grow3, gas(grow3) - 1);
    assert_eq!(out.end, FrameEnd::Failed("out of gas".into()));
}

/// Outputs `has_role(caller, "utility-provider")` as one byte, then what `member_of(caller)`
/// wrote into a 4-byte buffer and the length it returned (little-endian u32).
const ASKS_THE_REGISTRY: &str = r#"
(module
  (import "jjj" "caller" (func $caller (param i32)))
  (import "jjj" "has_role" (func $has_role (param i32 i32 i32) (result i32)))
  (import "jjj" "member_of" (func $member_of (param i32 i32 i32) (result i32)))
  (import "jjj" "set_output" (func $out (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "utility-provider")
  (func (export "deploy"))
  (func (export "call")
    (call $caller (i32.const 32))
    (i32.store8 (i32.const 100) (call $has_role (i32.const 32) (i32.const 0) (i32.const 16)))
    (i32.store (i32.const 105) (call $member_of (i32.const 32) (i32.const 101) (i32.const 4)))
    (call $out (i32.const 100) (i32.const 9))))
"#;

#[test]
fn contracts_ask_the_hosts_registry_for_roles_and_members() {
    let vm = Vm::<MapHost>::new().expect("vm");
    let hash = Hash([9; 32]);
    let contract = AccountId([1; 32]);
    let (water, stranger) = (AccountId([2; 32]), AccountId([3; 32]));
    let mut host = MapHost::default();
    host.code.insert(hash, wat::parse_str(ASKS_THE_REGISTRY).expect("wat"));
    host.contracts.insert(contract, ContractCode { code_hash: hash, reentrant: false });
    host.registry.insert(water, ("beijing".into(), vec!["utility-provider".into()]));

    let out = vm.execute(host, call(contract, water, vec![], false));
    let FrameEnd::Success(bytes) = out.end else { panic!("{:?}", out.end) };
    assert_eq!(bytes[0], 1, "the registered utility holds the role");
    assert_eq!(&bytes[1..5], b"beij", "the member id, cut to the buffer");
    assert_eq!(u32::from_le_bytes(bytes[5..9].try_into().expect("4")), 7, "its full length");

    let out = vm.execute(out.host, call(contract, stranger, vec![], false));
    let FrameEnd::Success(bytes) = out.end else { panic!("{:?}", out.end) };
    assert_eq!(bytes[0], 0, "an unregistered account holds no role");
    assert_eq!(u32::from_le_bytes(bytes[5..9].try_into().expect("4")), jjj_abi::NOT_FOUND);
}
