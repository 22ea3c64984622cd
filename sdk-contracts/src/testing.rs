//! A native mock host: run contract code with plain `cargo test`, no wasm, no node.
//!
//! ```ignore
//! let env = TestEnv::new();
//! let admin = TestEnv::account("admin");
//! env.set_balance(&admin, 10_000);
//! let bills = env.deploy(UtilityBills::ENTRY, &admin, 0, utility_bills::msg::new(admin)).unwrap();
//! let out: u64 = env.call_decode(&admin, &bills, 0, utility_bills::msg::issue_bill(..)).unwrap();
//! ```
//!
//! Several contracts can be deployed in one `TestEnv` and call each other through
//! [`crate::call::CallBuilder`], so multi-contract flows are tested natively too. A call that
//! reverts or panics rolls back every change it made (storage, balances, events), as on chain.
//!
//! The native backend reaches its host through the [`NativeHost`] trait. `TestEnv`'s mock host
//! serves it by default; [`with_native_host`] hands it to another host for a while (a benchmark
//! runs a contract's native build over the same state a wasm engine uses), and [`run_entry`]
//! runs one entry point there.
use crate::{AccountId, Hash};
use jjj_abi::limits::*;
use jjj_abi::ReturnCode;
use parity_scale_codec::Decode;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

/// The chain as a contract's native build sees it: one method per function of the SDK's
/// backend that needs a host (hashes and signature checks are computed in place; a revert is a
/// panic that [`run_entry`] catches). The host keeps the running call's frame (input, caller,
/// value, address, output) and its checkpoints itself.
///
/// A method that returns `Err` ends the running call as reverted with that message, as the node
/// fails a frame whose host call failed. A method must not run contract code: the backend does
/// not re-enter a host that is in the middle of a method.
pub trait NativeHost {
    /// The running call's input: the 4-byte selector and the SCALE-encoded arguments.
    fn input(&self) -> Vec<u8>;
    /// Replaces the running call's output.
    fn set_output(&mut self, data: &[u8]);
    /// The running contract's storage value under `key`.
    fn storage_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String>;
    fn storage_contains(&self, key: &[u8]) -> Result<bool, String> {
        Ok(self.storage_get(key)?.is_some())
    }
    fn storage_set(&mut self, key: &[u8], value: &[u8]) -> Result<(), String>;
    fn storage_remove(&mut self, key: &[u8]) -> Result<(), String>;
    /// The account that called the running contract.
    fn caller(&self) -> AccountId;
    /// The running contract's address.
    fn self_address(&self) -> AccountId;
    /// Fen attached to the running call (already credited to the contract).
    fn value_transferred(&self) -> u64;
    /// Any account's balance in fen.
    fn balance(&self, of: &AccountId) -> Result<u64, String>;
    /// Pays `amount` fen from the running contract to `to`.
    fn transfer(&mut self, to: &AccountId, amount: u64) -> Result<ReturnCode, String>;
    fn block_height(&self) -> u64;
    /// Milliseconds since the Unix epoch.
    fn block_time(&self) -> u64;
    fn emit_event(&mut self, topics: &[Hash], data: &[u8]) -> Result<(), String>;
    /// Calls another contract; its output or failure reason is then [`NativeHost::return_data`].
    /// The default knows no other contract.
    fn call_contract(
        &mut self,
        to: &AccountId,
        input: &[u8],
        value: u64,
        gas_limit: u64,
    ) -> Result<ReturnCode, String> {
        let _ = (to, input, value, gas_limit);
        Ok(ReturnCode::NotAContract)
    }
    /// The output or failure reason of the running contract's last `call_contract`.
    fn return_data(&self) -> Vec<u8> {
        Vec::new()
    }
    /// A line for the debug buffer; the default drops it.
    fn debug_message(&mut self, message: &str) {
        let _ = message;
    }
    /// Gas left for the running call; the default meters none.
    fn gas_left(&self) -> u64 {
        u64::MAX
    }
    fn has_role(&self, account: &AccountId, role: &str) -> Result<bool, String>;
    fn member_of(&self, account: &AccountId) -> Result<Option<String>, String>;
    /// The `jjj_abi::regions` code of the member that registered `account`.
    fn member_region(&self, account: &AccountId) -> Result<Option<u8>, String>;
    /// The running message is the query `message`: its writes, transfers and events are refused
    /// from now on (the node runs queries read-only).
    fn enter_query(&mut self, message: &str);
    /// The running message reads protected data: refused unless the reader signed (the
    /// default host has every caller sign).
    fn protected_read(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Verifies another network's receipt proof: the SCALE `ProvenReceipt`, or why not. The
    /// default host knows no other network.
    fn verify_receipt(&mut self, proof: &[u8]) -> Result<Vec<u8>, String> {
        let _ = proof;
        Err("this host keeps no record of other networks".into())
    }
}

/// Which host serves this thread's native backend.
#[derive(Clone, Copy)]
enum Serving {
    /// `TestEnv`'s mock host.
    TestEnv,
    /// The host lent to [`with_native_host`], while that call runs.
    Installed(NonNull<dyn NativeHost>),
    /// The lent host is inside one of its methods.
    Busy,
}

thread_local! {
    static SERVING: Cell<Serving> = const { Cell::new(Serving::TestEnv) };
}

/// Serves this thread's native backend from `host` while `f` runs (then from whatever served it
/// before, also when `f` panics). `TestEnv` keeps its own state but its contracts' host calls go
/// to `host` meanwhile.
pub fn with_native_host<H: NativeHost + 'static, R>(host: &mut H, f: impl FnOnce() -> R) -> R {
    /// Puts back what served before.
    struct Restore(Serving);
    impl Drop for Restore {
        fn drop(&mut self) {
            SERVING.with(|s| s.set(self.0));
        }
    }
    let host: &mut (dyn NativeHost + 'static) = host;
    let _restore = Restore(SERVING.with(|s| s.replace(Serving::Installed(NonNull::from(host)))));
    f()
}

/// Runs `f` on the lent host, marked busy meanwhile.
fn on_lent_host<R>(mut host: NonNull<dyn NativeHost>, f: impl FnOnce(&mut dyn NativeHost) -> R) -> R {
    /// Marks the host lent again, also when `f` panics.
    struct Release(NonNull<dyn NativeHost>);
    impl Drop for Release {
        fn drop(&mut self) {
            SERVING.with(|s| s.set(Serving::Installed(self.0)));
        }
    }
    SERVING.with(|s| s.set(Serving::Busy));
    let _release = Release(host);
    // SAFETY: the pointer is the `&mut` that `with_native_host` borrowed for as long as the
    // pointer is installed (its guard uninstalls it before that borrow ends, unwinding too), and
    // while this reference lives the slot reads `Busy`, so no other reference to the host exists.
    f(unsafe { host.as_mut() })
}

/// Runs `f` on the host that serves this thread's native backend.
pub(crate) fn with_native<R>(f: impl FnOnce(&mut dyn NativeHost) -> R) -> R {
    match SERVING.with(Cell::get) {
        Serving::TestEnv => with_host(|h| f(h)),
        Serving::Installed(host) => on_lent_host(host, f),
        Serving::Busy => panic!("contract code ran inside a method of the NativeHost lent to with_native_host"),
    }
}

/// The two generated entry points of a contract, for the mock host to run.
#[derive(Clone, Copy)]
pub struct ContractEntry {
    pub name: &'static str,
    pub deploy: fn(),
    pub call: fn(),
}

/// An event as the mock host recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmittedEvent {
    pub contract: AccountId,
    pub topics: Vec<Hash>,
    pub data: Vec<u8>,
}

impl EmittedEvent {
    /// Whether this event's first topic names `name`.
    pub fn is(&self, name: &str) -> bool {
        self.topics.first() == Some(&Hash(blake2_256(name.as_bytes())))
    }
    /// Decodes the payload as a contract's event type.
    pub fn decode<E: Decode>(&self) -> Option<E> {
        E::decode(&mut &self.data[..]).ok()
    }
}

#[doc(hidden)]
#[derive(Clone, Default)]
pub struct Frame {
    pub address: AccountId,
    pub caller: AccountId,
    pub value: u64,
    pub input: Vec<u8>,
    pub output: Vec<u8>,
    pub return_data: Vec<u8>,
    /// The query this frame runs under (its own, or its caller's): no writes allowed.
    pub query: Option<String>,
}

/// The part of the host that a failed call rolls back.
#[derive(Clone, Default)]
struct Ledger {
    balances: BTreeMap<AccountId, u64>,
    storage: BTreeMap<(AccountId, Vec<u8>), Vec<u8>>,
    events: Vec<EmittedEvent>,
}

#[doc(hidden)]
#[derive(Default)]
pub struct Host {
    ledger: Ledger,
    contracts: BTreeMap<AccountId, ContractEntry>,
    frames: Vec<Frame>,
    pub block_height: u64,
    pub block_time: u64,
    pub debug: Vec<String>,
    deployed: u64,
    /// The alliance's registry as contracts see it: account → (member, roles it may use).
    registry: BTreeMap<AccountId, (String, Vec<String>)>,
    /// Each member's region code (`jjj_abi::regions`).
    member_regions: BTreeMap<String, u8>,
    /// Queries run as if no reader signed: protected messages fail, as on a node.
    unsigned_reads: bool,
    /// Receipt proofs `env::verify_receipt` accepts, and what each proves.
    proven: BTreeMap<Vec<u8>, crate::ProvenReceipt>,
}

thread_local! {
    static HOST: RefCell<Host> = RefCell::new(Host::default());
}

/// Runs `f` on this thread's mock host. Outside a call (no frame), contract code has no context.
#[doc(hidden)]
pub fn with_host<R>(f: impl FnOnce(&mut Host) -> R) -> R {
    HOST.with(|h| f(&mut h.borrow_mut()))
}

/// The panic payload that carries a revert natively.
struct Revert(String);

#[doc(hidden)]
pub fn revert_native(message: &str) -> ! {
    std::panic::panic_any(Revert(message.to_string()))
}

pub(crate) fn blake2_256(data: &[u8]) -> [u8; 32] {
    use blake2::digest::{consts::U32, Digest};
    blake2::Blake2b::<U32>::digest(data).into()
}

fn quiet_reverts() {
    // Reverts travel as panics natively; keep them out of test output, keep real panics loud.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Revert>().is_none() {
                previous(info)
            }
        }));
    });
}

impl Host {
    pub fn has_role(&self, account: &AccountId, role: &str) -> bool {
        self.registry.get(account).is_some_and(|(_, roles)| roles.iter().any(|r| r == role))
    }
    pub fn member_of(&self, account: &AccountId) -> Option<String> {
        self.registry.get(account).map(|(member, _)| member.clone())
    }
    pub fn member_region(&self, account: &AccountId) -> Option<u8> {
        self.registry.get(account).and_then(|(member, _)| self.member_regions.get(member).copied())
    }
    pub fn frame(&self) -> &Frame {
        match self.frames.last() {
            Some(f) => f,
            None => panic!("contract code ran outside a call: use TestEnv::call or TestEnv::deploy"),
        }
    }
    pub fn frame_mut(&mut self) -> &mut Frame {
        match self.frames.last_mut() {
            Some(f) => f,
            None => panic!("contract code ran outside a call: use TestEnv::call or TestEnv::deploy"),
        }
    }
    pub fn storage_get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.ledger.storage.get(&(self.frame().address, key.to_vec())).cloned()
    }
    /// Refuses a state change inside a query, naming the query and the change.
    pub fn refuse_in_query(&self, what: &str) -> Result<(), String> {
        match &self.frame().query {
            Some(q) => Err(format!("`{q}` is a query and may not {what}")),
            None => Ok(()),
        }
    }
    pub fn storage_set(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.refuse_in_query("write storage")?;
        if key.len() > MAX_STORAGE_KEY_LEN as usize {
            return Err(format!("storage key of {} bytes is over the limit of {MAX_STORAGE_KEY_LEN}", key.len()));
        }
        if value.len() > MAX_STORAGE_VALUE_LEN as usize {
            return Err(format!("storage value of {} bytes is over the limit of {MAX_STORAGE_VALUE_LEN}", value.len()));
        }
        let address = self.frame().address;
        self.ledger.storage.insert((address, key.to_vec()), value.to_vec());
        Ok(())
    }
    pub fn storage_remove(&mut self, key: &[u8]) -> Result<(), String> {
        self.refuse_in_query("remove storage")?;
        let address = self.frame().address;
        self.ledger.storage.remove(&(address, key.to_vec()));
        Ok(())
    }
    pub fn balance(&self, of: &AccountId) -> u64 {
        self.ledger.balances.get(of).copied().unwrap_or(0)
    }
    pub fn move_balance(&mut self, from: &AccountId, to: &AccountId, amount: u64) -> ReturnCode {
        let have = self.balance(from);
        if have < amount {
            return ReturnCode::InsufficientBalance;
        }
        self.ledger.balances.insert(*from, have - amount);
        let to_have = self.balance(to);
        self.ledger.balances.insert(*to, to_have.saturating_add(amount));
        ReturnCode::Success
    }
    pub fn emit(&mut self, topics: &[Hash], data: &[u8]) -> Result<(), String> {
        self.refuse_in_query("emit events")?;
        if topics.len() > MAX_EVENT_TOPICS as usize {
            return Err(format!("an event has at most {MAX_EVENT_TOPICS} topics, got {}", topics.len()));
        }
        if data.len() > MAX_EVENT_DATA_LEN as usize {
            return Err(format!("event data of {} bytes is over the limit of {MAX_EVENT_DATA_LEN}", data.len()));
        }
        let contract = self.frame().address;
        self.ledger.events.push(EmittedEvent { contract, topics: topics.to_vec(), data: data.to_vec() });
        Ok(())
    }
}

/// `TestEnv`'s mock host behind the trait. Its methods of the same names are the ones
/// `TestEnv` uses itself.
impl NativeHost for Host {
    fn input(&self) -> Vec<u8> {
        self.frame().input.clone()
    }
    fn set_output(&mut self, data: &[u8]) {
        self.frame_mut().output = data.to_vec();
    }
    fn storage_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        Ok(Host::storage_get(self, key))
    }
    fn storage_set(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
        Host::storage_set(self, key, value)
    }
    fn storage_remove(&mut self, key: &[u8]) -> Result<(), String> {
        Host::storage_remove(self, key)
    }
    fn caller(&self) -> AccountId {
        self.frame().caller
    }
    fn self_address(&self) -> AccountId {
        self.frame().address
    }
    fn value_transferred(&self) -> u64 {
        self.frame().value
    }
    fn balance(&self, of: &AccountId) -> Result<u64, String> {
        Ok(Host::balance(self, of))
    }
    fn transfer(&mut self, to: &AccountId, amount: u64) -> Result<ReturnCode, String> {
        self.refuse_in_query("transfer value")?;
        let from = self.frame().address;
        Ok(self.move_balance(&from, to, amount))
    }
    fn block_height(&self) -> u64 {
        self.block_height
    }
    fn block_time(&self) -> u64 {
        self.block_time
    }
    fn emit_event(&mut self, topics: &[Hash], data: &[u8]) -> Result<(), String> {
        self.emit(topics, data)
    }
    // `call_contract` keeps the default: `TestEnv` runs the callee in `call_contract` below,
    // outside this host's borrow, since the callee's code uses the host too.
    fn return_data(&self) -> Vec<u8> {
        self.frame().return_data.clone()
    }
    fn debug_message(&mut self, message: &str) {
        self.debug.push(message.into());
    }
    fn has_role(&self, account: &AccountId, role: &str) -> Result<bool, String> {
        Ok(Host::has_role(self, account, role))
    }
    fn member_of(&self, account: &AccountId) -> Result<Option<String>, String> {
        Ok(Host::member_of(self, account))
    }
    fn member_region(&self, account: &AccountId) -> Result<Option<u8>, String> {
        Ok(Host::member_region(self, account))
    }
    fn verify_receipt(&mut self, proof: &[u8]) -> Result<Vec<u8>, String> {
        match self.proven.get(proof) {
            Some(r) => Ok(parity_scale_codec::Encode::encode(r)),
            None => Err("not a receipt proof this test accepts (TestEnv::accept_receipt_proof)".into()),
        }
    }
    fn protected_read(&mut self) -> Result<(), String> {
        if self.unsigned_reads {
            return Err(jjj_abi::PROTECTED_READ_REFUSAL.into());
        }
        Ok(())
    }
    fn enter_query(&mut self, message: &str) {
        let frame = self.frame_mut();
        if frame.query.is_none() {
            frame.query = Some(message.to_string());
        }
    }
}

/// Runs one generated entry point (`ContractEntry::call` or `::deploy`) on this thread's native
/// host, a revert or a panic becoming `Err(message)`. It sets up no frame and rolls nothing
/// back: `TestEnv` does both around it, and a host lent to [`with_native_host`] keeps its own.
pub fn run_entry(entry: fn()) -> Result<(), String> {
    quiet_reverts();
    catch_unwind(AssertUnwindSafe(entry)).map_err(|payload| revert_message(payload.as_ref()))
}

/// What a revert or a panic said.
fn revert_message(payload: &(dyn Any + Send)) -> String {
    if let Some(Revert(m)) = payload.downcast_ref::<Revert>() {
        m.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

/// Outcome of running an entry point in a frame.
enum Run {
    Done(Vec<u8>),
    Reverted(String),
}

/// Runs one entry point of `contract` as a new frame; on failure restores the ledger.
fn run_frame(entry: fn(), contract: AccountId, caller: AccountId, value: u64, input: Vec<u8>) -> Run {
    let snapshot = with_host(|h| h.ledger.clone());
    let depth = with_host(|h| h.frames.len());
    if depth as u32 >= MAX_CALL_DEPTH {
        return Run::Reverted(ReturnCode::CallDepthExceeded.describe().into());
    }
    let paid = with_host(|h| h.move_balance(&caller, &contract, value));
    if paid != ReturnCode::Success {
        return Run::Reverted(format!("caller cannot pay the {value} fen attached"));
    }
    with_host(|h| {
        // A contract called from a query runs under it too, as the node runs the whole call read-only.
        let query = h.frames.last().and_then(|f| f.query.clone());
        h.frames.push(Frame { address: contract, caller, value, input, query, ..Frame::default() })
    });
    let result = run_entry(entry);
    let frame = with_host(|h| {
        h.frames.truncate(depth + 1);
        h.frames.pop()
    });
    match result {
        Ok(()) => Run::Done(frame.map(|f| f.output).unwrap_or_default()),
        Err(message) => {
            with_host(|h| h.ledger = snapshot);
            Run::Reverted(message)
        }
    }
}

/// The generated dispatch of a `#[message(query)]` calls this before running it.
#[doc(hidden)]
pub fn enter_query(message: &str) {
    with_native(|h| h.enter_query(message))
}

/// The backend's `call_contract`: the lent host's, or `TestEnv` running the callee itself.
pub(crate) fn call_contract(to: &AccountId, input: &[u8], value: u64, gas_limit: u64) -> Result<ReturnCode, String> {
    match SERVING.with(Cell::get) {
        Serving::Installed(host) => on_lent_host(host, |h| h.call_contract(to, input, value, gas_limit)),
        // `with_native` says what went wrong.
        Serving::Busy => with_native(|h| h.call_contract(to, input, value, gas_limit)),
        Serving::TestEnv => {
            if value > 0 {
                with_host(|h| h.refuse_in_query("transfer value"))?;
            }
            Ok(nested_call(to, input, value))
        }
    }
}

#[doc(hidden)]
pub fn nested_call(to: &AccountId, input: &[u8], value: u64) -> ReturnCode {
    let (entry, caller, on_stack) = with_host(|h| {
        let caller = h.frame().address;
        let on_stack = h.frames.iter().any(|f| f.address == *to);
        (h.contracts.get(to).map(|e| e.call), caller, on_stack)
    });
    let Some(entry) = entry else {
        with_host(|h| h.frame_mut().return_data.clear());
        return ReturnCode::NotAContract;
    };
    if on_stack {
        with_host(|h| h.frame_mut().return_data.clear());
        return ReturnCode::ReentrancyDenied;
    }
    if with_host(|h| h.balance(&caller)) < value {
        return ReturnCode::InsufficientBalance;
    }
    let (code, data) = match run_frame(entry, *to, caller, value, input.to_vec()) {
        Run::Done(out) => (ReturnCode::Success, out),
        Run::Reverted(m) => (ReturnCode::CalleeReverted, m.into_bytes()),
    };
    with_host(|h| h.frame_mut().return_data = data);
    code
}

/// A test chain with accounts, balances, block height/time, contracts and their events.
/// Each `TestEnv::new()` starts from an empty ledger (per thread, as `cargo test` runs tests).
pub struct TestEnv {
    _private: (),
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    pub fn new() -> Self {
        with_host(|h| {
            *h = Host::default();
            h.block_height = 1;
            h.block_time = 1_767_225_600_000; // 2026-01-01T00:00:00Z
                                              // The three regional members under their usual ids; others via `set_member_region`.
            for (member, region) in [
                ("beijing", jjj_abi::regions::BEIJING),
                ("tianjin", jjj_abi::regions::TIANJIN),
                ("hebei", jjj_abi::regions::HEBEI),
            ] {
                h.member_regions.insert(member.into(), region);
            }
        });
        TestEnv { _private: () }
    }

    /// A deterministic account for a name ("alice", "beijing-water"…).
    pub fn account(name: &str) -> AccountId {
        AccountId(blake2_256(name.as_bytes()))
    }

    /// Registers `account` as the alliance would: by `member`, with `roles` (what
    /// `env::member_of` and `env::has_role` answer). Registering again replaces both.
    pub fn register(&self, account: &AccountId, member: &str, roles: &[&str]) {
        let roles = roles.iter().map(|r| r.to_string()).collect();
        with_host(|h| h.registry.insert(*account, (member.to_string(), roles)));
    }
    /// Makes `env::verify_receipt(proof)` prove `receipt` (every other proof is refused): the
    /// native stand-in for the chain's light-client check, which the wasm tests exercise.
    pub fn accept_receipt_proof(&self, proof: Vec<u8>, receipt: crate::ProvenReceipt) {
        with_host(|h| h.proven.insert(proof, receipt));
    }

    /// From now on, calls run as unsigned reads (`true`): a `#[message(query, protected)]`
    /// fails as it does on a node for a query no reader signed. `false` (the default) has
    /// every caller sign.
    pub fn set_unsigned_reads(&self, unsigned: bool) {
        with_host(|h| h.unsigned_reads = unsigned);
    }

    /// Sets the region of member `member` (`jjj_abi::regions` code), what `env::member_region`
    /// answers for its accounts. `beijing`, `tianjin` and `hebei` are set from the start.
    pub fn set_member_region(&self, member: &str, region: u8) {
        with_host(|h| h.member_regions.insert(member.to_string(), region));
    }
    /// Takes `account` out of the registry (as a suspension or revocation would for `has_role`).
    pub fn unregister(&self, account: &AccountId) {
        with_host(|h| h.registry.remove(account));
    }

    pub fn set_balance(&self, account: &AccountId, fen: u64) {
        with_host(|h| h.ledger.balances.insert(*account, fen));
    }
    pub fn balance(&self, account: &AccountId) -> u64 {
        with_host(|h| h.balance(account))
    }
    pub fn block_height(&self) -> u64 {
        with_host(|h| h.block_height)
    }
    pub fn block_time(&self) -> u64 {
        with_host(|h| h.block_time)
    }
    pub fn set_block(&self, height: u64, time_ms: u64) {
        with_host(|h| {
            h.block_height = height;
            h.block_time = time_ms;
        });
    }
    /// Moves to the next block, `ms` later.
    pub fn advance_time(&self, ms: u64) {
        with_host(|h| {
            h.block_height += 1;
            h.block_time += ms;
        });
    }

    /// Deploys a contract: runs its constructor with `input`; returns its address.
    pub fn deploy(
        &self,
        entry: ContractEntry,
        deployer: &AccountId,
        value: u64,
        input: Vec<u8>,
    ) -> Result<AccountId, String> {
        let n = with_host(|h| {
            h.deployed += 1;
            h.deployed
        });
        let address = AccountId(blake2_256(format!("contract:{}:{n}", entry.name).as_bytes()));
        with_host(|h| h.contracts.insert(address, entry));
        match run_frame(entry.deploy, address, *deployer, value, input) {
            Run::Done(_) => Ok(address),
            Run::Reverted(m) => {
                with_host(|h| h.contracts.remove(&address));
                Err(m)
            }
        }
    }

    /// Calls a deployed contract as `caller` with `value` fen attached; returns the raw output
    /// or the revert message. The argument order is `TestChain::call`'s (who, whom, value, what),
    /// so a test moves between the native host and the wasm chain without reordering.
    pub fn call(
        &self,
        caller: &AccountId,
        contract: &AccountId,
        value: u64,
        input: Vec<u8>,
    ) -> Result<Vec<u8>, String> {
        let Some(entry) = with_host(|h| h.contracts.get(contract).copied()) else {
            return Err(format!("no contract at {contract}"));
        };
        match run_frame(entry.call, *contract, *caller, value, input) {
            Run::Done(out) => Ok(out),
            Run::Reverted(m) => Err(m),
        }
    }

    /// Calls and decodes the output as `R`.
    pub fn call_decode<R: Decode>(
        &self,
        caller: &AccountId,
        contract: &AccountId,
        value: u64,
        input: Vec<u8>,
    ) -> Result<R, String> {
        let out = self.call(caller, contract, value, input)?;
        R::decode(&mut &out[..]).map_err(|e| format!("cannot decode the output: {e}"))
    }

    /// Every event emitted so far (by calls that succeeded).
    pub fn events(&self) -> Vec<EmittedEvent> {
        with_host(|h| h.ledger.events.clone())
    }
    /// Events emitted so far, and forgets them.
    pub fn take_events(&self) -> Vec<EmittedEvent> {
        with_host(|h| std::mem::take(&mut h.ledger.events))
    }
    /// Debug messages written so far.
    pub fn debug_messages(&self) -> Vec<String> {
        with_host(|h| h.debug.clone())
    }
    /// Raw storage of a contract under a key, for tests that inspect layout.
    pub fn storage(&self, contract: &AccountId, key: &[u8]) -> Option<Vec<u8>> {
        with_host(|h| h.ledger.storage.get(&(*contract, key.to_vec())).cloned())
    }
    /// Overwrites raw storage of a contract, for tests of damaged or migrated state.
    pub fn set_storage(&self, contract: &AccountId, key: &[u8], value: &[u8]) {
        with_host(|h| h.ledger.storage.insert((*contract, key.to_vec()), value.to_vec()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend;

    /// A host of one contract's storage, for the lent-host tests.
    #[derive(Default)]
    struct OneContract {
        input: Vec<u8>,
        output: Vec<u8>,
        storage: BTreeMap<Vec<u8>, Vec<u8>>,
        paid: Vec<(AccountId, u64)>,
        frozen: bool,
    }

    impl NativeHost for OneContract {
        fn input(&self) -> Vec<u8> {
            self.input.clone()
        }
        fn set_output(&mut self, data: &[u8]) {
            self.output = data.to_vec();
        }
        fn storage_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
            Ok(self.storage.get(key).cloned())
        }
        fn storage_set(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
            if self.frozen {
                return Err("storage is frozen".into());
            }
            self.storage.insert(key.to_vec(), value.to_vec());
            Ok(())
        }
        fn storage_remove(&mut self, key: &[u8]) -> Result<(), String> {
            self.storage.remove(key);
            Ok(())
        }
        fn caller(&self) -> AccountId {
            AccountId([1; 32])
        }
        fn self_address(&self) -> AccountId {
            AccountId([2; 32])
        }
        fn value_transferred(&self) -> u64 {
            7
        }
        fn balance(&self, _: &AccountId) -> Result<u64, String> {
            Ok(100)
        }
        fn transfer(&mut self, to: &AccountId, amount: u64) -> Result<ReturnCode, String> {
            self.paid.push((*to, amount));
            Ok(ReturnCode::Success)
        }
        fn block_height(&self) -> u64 {
            3
        }
        fn block_time(&self) -> u64 {
            4
        }
        fn emit_event(&mut self, _: &[Hash], _: &[u8]) -> Result<(), String> {
            Ok(())
        }
        fn has_role(&self, _: &AccountId, _: &str) -> Result<bool, String> {
            Ok(false)
        }
        fn member_of(&self, _: &AccountId) -> Result<Option<String>, String> {
            Ok(None)
        }
        fn member_region(&self, _: &AccountId) -> Result<Option<u8>, String> {
            Ok(None)
        }
        fn enter_query(&mut self, _: &str) {}
    }

    /// Stores its input under "k", pays the caller the attached value, outputs the block time.
    fn store_and_pay() {
        backend::storage_set(b"k", &backend::input());
        backend::transfer(&backend::caller(), backend::value_transferred());
        backend::set_output(&backend::block_time().to_le_bytes());
    }

    fn write_then_revert() {
        backend::storage_set(b"k", b"lost");
        backend::revert("changed my mind")
    }

    fn serving_test_env() -> bool {
        matches!(SERVING.with(Cell::get), Serving::TestEnv)
    }

    #[test]
    fn a_lent_host_serves_the_backend_then_test_env_does_again() {
        let mut host = OneContract { input: b"hello".to_vec(), ..OneContract::default() };
        let result = with_native_host(&mut host, || run_entry(store_and_pay));
        assert_eq!(result, Ok(()));
        assert_eq!(host.storage.get(&b"k"[..]), Some(&b"hello".to_vec()));
        assert_eq!(host.paid, vec![(AccountId([1; 32]), 7)]);
        assert_eq!(host.output, 4u64.to_le_bytes());
        assert!(serving_test_env());
    }

    #[test]
    fn reverts_and_refused_writes_end_the_entry_and_leave_the_host_lendable() {
        let mut host = OneContract::default();
        let reverted = with_native_host(&mut host, || run_entry(write_then_revert));
        assert_eq!(reverted, Err("changed my mind".into()));
        // Rolling back is the lent host's business: the write happened.
        assert_eq!(host.storage.get(&b"k"[..]), Some(&b"lost".to_vec()));
        host.frozen = true;
        let refused = with_native_host(&mut host, || run_entry(store_and_pay));
        assert_eq!(refused, Err("storage is frozen".into()));
        assert!(host.paid.is_empty());
        assert!(serving_test_env());
    }

    #[test]
    fn test_env_is_untouched_by_a_lent_host() {
        let env = TestEnv::new();
        let who = TestEnv::account("who");
        env.set_balance(&who, 5);
        let mut host = OneContract::default();
        let balance_seen = with_native_host(&mut host, || backend::balance(&who));
        assert_eq!(balance_seen, 100);
        assert_eq!(env.balance(&who), 5);
    }
}
