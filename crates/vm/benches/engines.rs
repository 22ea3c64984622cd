//! One bill payment (`pay` of the utility-bills contract) three ways, side by side, over one
//! map-based [`Host`]:
//!
//! - wasmtime (jjj): through `jjj_vm::Vm`, exactly as the chain runs it: an instance of the
//!   cached module from the pool per call, fuel metering, the host functions of `imports.rs`.
//! - wasmi: the interpreter Substrate's contracts pallet runs, on the same wasm bytes, fuel
//!   metering on, a fresh instance of the once-compiled module per call, and the jjj ABI's host
//!   functions (those the contract imports) written again below over the same host.
//! - native: the contract's native build (what its `cargo test` runs), its host calls served by
//!   the same host through the SDK's `NativeHost`: no engine, no metering; the floor.
//!
//! Every call pays a fresh, unpaid bill (each engine starts from one state holding enough of
//! them), so each does the same work: read the bill, mark it paid, append the receipt, move the
//! money, emit `BillPaid`. Before timing, one payment on each engine must leave the same
//! storage, balances, events and output as wasmtime's. The engines take turns run by run, so a
//! load that comes and goes on the machine spreads over all three.
//!
//! Prints a table of medians, then one JSON line (the last line). Needs the contracts built:
//! `scripts/build-contracts.sh`. Run: `cargo bench -p jjj-vm --bench engines` (also part of
//! `scripts/bench.sh`); `cargo test --benches` runs it once, small.
use jjj_abi::limits::{
    MAX_CRYPTO_INPUT_LEN, MAX_EVENTS_PER_TX, MAX_EVENT_DATA_LEN, MAX_EVENT_TOPICS, MAX_OUTPUT_LEN, MAX_STORAGE_KEY_LEN,
    MAX_STORAGE_VALUE_LEN,
};
use jjj_abi::{names, ReturnCode, NOT_FOUND};
use jjj_primitives::{AccountId, BlockContext, Event, Hash, NetworkId};
use jjj_sdk::codec::Decode;
use jjj_sdk::testing::{run_entry, with_native_host, ContractEntry, NativeHost};
use jjj_vm::limits::{gas, HostCost};
use jjj_vm::{ContractCode, Entry, FrameEnd, Host, HostError, Invocation, Vm};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Instant;
use utility_bills::{msg, PaymentReceipt, Region, UtilityBills, UtilityKind};

/// The contract's native build: its source compiled into this bench, as its own `cargo test`
/// compiles it. Not the `utility-bills` crate as a dev-dependency: a contract crate is also a
/// cdylib, whose files carry no hash in their names, so its builds for different selections of
/// packages (`-p jjj-vm`, `--workspace`: other features of its dependencies) overwrite one
/// another in the target directory, and the next build of the other selection, taking its own
/// as fresh, links the wrong one ("multiple different versions of crate `jjj_abi`"). What the
/// bench does not use of it is not dead code in the contract.
#[allow(dead_code)]
#[path = "../../../contracts/utility-bills/src/lib.rs"]
mod utility_bills;

const BILL_AMOUNT: u64 = 12_345;
/// What `crates/executive/benches/runtime.rs` gives the same payment.
const GAS_LIMIT: u64 = 5_000_000;
/// Block time of every call (2026-01-01), before the bills fall due: no late fee.
const NOW_MS: u64 = 1_767_225_600_000;
const HEIGHT: u64 = 2;

/// How much to measure: `runs` timed runs of `calls_per_run` payments per engine (the median
/// run is reported), after `warmup` untimed payments.
struct Sizes {
    runs: usize,
    calls_per_run: usize,
    warmup: usize,
}

const FULL: Sizes = Sizes { runs: 5, calls_per_run: 2_000, warmup: 200 };
/// `cargo test --benches`: proves the bench runs, in well under a second.
const QUICK: Sizes = Sizes { runs: 3, calls_per_run: 10, warmup: 2 };

// ---------------------------------------------------------------------------------------------
// The host: the chain as maps.

/// What a call can change; compared across engines after one payment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Ledger {
    storage: BTreeMap<AccountId, BTreeMap<Vec<u8>, Vec<u8>>>,
    balances: BTreeMap<AccountId, u64>,
}

/// How to undo one write: the value before it.
#[derive(Clone)]
enum Undo {
    Storage { contract: AccountId, key: Vec<u8>, before: Option<Vec<u8>> },
    Balance { account: AccountId, before: Option<u64> },
}

/// An alliance registration: the member that registered the account, and the account's roles.
#[derive(Clone)]
struct Registration {
    member: String,
    roles: Vec<String>,
}

/// The chain as maps: the ledger, contracts and their code, the alliance's registry. A
/// checkpoint is an undo log; committing one hands its log to the checkpoint below.
#[derive(Clone, Default)]
struct MapHost {
    ledger: Ledger,
    contracts: BTreeMap<AccountId, ContractCode>,
    code: BTreeMap<Hash, Vec<u8>>,
    registry: BTreeMap<AccountId, Registration>,
    member_regions: BTreeMap<String, u8>,
    /// One undo log per open checkpoint, innermost last.
    undo: Vec<Vec<Undo>>,
}

impl MapHost {
    fn log(&mut self, undo: Undo) {
        if let Some(top) = self.undo.last_mut() {
            top.push(undo);
        }
    }

    fn set_balance(&mut self, account: AccountId, fen: u64) {
        let before = self.ledger.balances.insert(account, fen);
        self.log(Undo::Balance { account, before });
    }
}

impl Host for MapHost {
    fn storage_get(&self, contract: &AccountId, key: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.ledger.storage.get(contract).and_then(|s| s.get(key)).cloned())
    }
    fn storage_set(&mut self, contract: &AccountId, key: &[u8], value: Vec<u8>) {
        let before = self.ledger.storage.entry(*contract).or_default().insert(key.to_vec(), value);
        self.log(Undo::Storage { contract: *contract, key: key.to_vec(), before });
    }
    fn storage_remove(&mut self, contract: &AccountId, key: &[u8]) {
        let before = self.ledger.storage.get_mut(contract).and_then(|s| s.remove(key));
        if before.is_some() {
            self.log(Undo::Storage { contract: *contract, key: key.to_vec(), before });
        }
    }
    fn balance(&self, account: &AccountId) -> Result<u64, HostError> {
        Ok(self.ledger.balances.get(account).copied().unwrap_or(0))
    }
    fn transfer(&mut self, from: &AccountId, to: &AccountId, amount: u64) -> Result<bool, HostError> {
        let have = self.balance(from)?;
        if have < amount {
            return Ok(false);
        }
        let to_have = if from == to { have - amount } else { self.balance(to)? };
        let credited =
            to_have.checked_add(amount).ok_or_else(|| HostError(format!("the balance of {to} overflows")))?;
        self.set_balance(*from, have - amount);
        self.set_balance(*to, credited);
        Ok(true)
    }
    fn contract(&self, address: &AccountId) -> Result<Option<ContractCode>, HostError> {
        Ok(self.contracts.get(address).copied())
    }
    fn code(&self, code_hash: &Hash) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.code.get(code_hash).cloned())
    }
    fn has_role(&self, account: &AccountId, role: &str) -> Result<bool, HostError> {
        Ok(self.registry.get(account).is_some_and(|r| r.roles.iter().any(|have| have == role)))
    }
    fn member_of(&self, account: &AccountId) -> Result<Option<String>, HostError> {
        Ok(self.registry.get(account).map(|r| r.member.clone()))
    }
    fn member_region(&self, account: &AccountId) -> Result<Option<u8>, HostError> {
        Ok(self.registry.get(account).and_then(|r| self.member_regions.get(&r.member).copied()))
    }
    fn checkpoint(&mut self) {
        self.undo.push(Vec::new());
    }
    fn commit_checkpoint(&mut self) {
        if let Some(top) = self.undo.pop() {
            if let Some(below) = self.undo.last_mut() {
                below.extend(top);
            }
        }
    }
    fn revert_checkpoint(&mut self) {
        for undo in self.undo.pop().unwrap_or_default().into_iter().rev() {
            match undo {
                Undo::Storage { contract, key, before } => {
                    let storage = self.ledger.storage.entry(contract).or_default();
                    match before {
                        Some(v) => storage.insert(key, v),
                        None => storage.remove(&key),
                    };
                }
                Undo::Balance { account, before } => {
                    match before {
                        Some(fen) => self.ledger.balances.insert(account, fen),
                        None => self.ledger.balances.remove(&account),
                    };
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The engines.

/// One contract call to run, as a transaction would carry it.
struct Call {
    entry: Entry,
    contract: AccountId,
    caller: AccountId,
    value: u64,
    input: Vec<u8>,
}

impl Call {
    fn pay(contract: AccountId, resident: AccountId, bill_id: u64) -> Self {
        Call { entry: Entry::Call, contract, caller: resident, value: BILL_AMOUNT, input: msg::pay(bill_id) }
    }
}

/// What a call did: the host back, its output or why it failed, its events, its gas (none
/// natively).
struct Done {
    host: MapHost,
    result: Result<Vec<u8>, String>,
    events: Vec<Event>,
    gas: Option<u64>,
}

trait Engine {
    fn name(&self) -> &'static str;
    /// Runs `call` over `host` as one top-level frame: checkpoint, value transfer, the contract,
    /// then commit or revert.
    fn run(&mut self, host: MapHost, call: Call) -> Done;
}

fn block_context() -> BlockContext {
    BlockContext { network: NetworkId::new("bench").expect("network id"), height: HEIGHT, timestamp: NOW_MS }
}

/// jjj's own VM, as the chain builds and runs it.
struct Wasmtime {
    vm: Vm<MapHost>,
    ctx: BlockContext,
}

impl Engine for Wasmtime {
    fn name(&self) -> &'static str {
        "wasmtime (jjj)"
    }
    fn run(&mut self, host: MapHost, call: Call) -> Done {
        let out = self.vm.execute(
            host,
            Invocation {
                ctx: self.ctx.clone(),
                entry: call.entry,
                address: call.contract,
                caller: call.caller,
                value: call.value,
                input: call.input,
                gas_limit: GAS_LIMIT,
                debug: false,
                trace: false,
                read_only: false,
                reads: jjj_vm::ReadAccess::Signed,
            },
        );
        let result = match out.end {
            _ if out.aborted => Err(format!("aborted: {}", out.abort_reason.unwrap_or_default())),
            FrameEnd::Success(output) => Ok(output),
            FrameEnd::Reverted(m) => Err(format!("reverted: {m}")),
            FrameEnd::Failed(m) => Err(format!("failed: {m}")),
        };
        Done { host: out.host, result, events: out.events, gas: Some(out.gas_used) }
    }
}

/// The parts of a frame every engine keeps for the running call.
struct Frame {
    address: AccountId,
    caller: AccountId,
    value: u64,
    input: Vec<u8>,
    output: Vec<u8>,
}

/// Sets up a top-level frame as `jjj_vm::frame::invoke` does: the contract's code, a
/// checkpoint, the attached value moved to the contract; then the frame its host calls see.
/// `Err` when the call cannot start.
fn open_frame(host: &mut MapHost, call: Call) -> Result<(Hash, Entry, Frame), String> {
    let code = host.contract(&call.contract).map_err(|e| e.to_string())?;
    let code = code.ok_or_else(|| format!("no contract at {}", call.contract))?;
    host.checkpoint();
    if !host.transfer(&call.caller, &call.contract, call.value).map_err(|e| e.to_string())? {
        host.revert_checkpoint();
        return Err(format!("insufficient balance: {} cannot send {} fen", call.caller, call.value));
    }
    let frame =
        Frame { address: call.contract, caller: call.caller, value: call.value, input: call.input, output: Vec::new() };
    Ok((code.code_hash, call.entry, frame))
}

/// Ends a frame: its writes kept on success, undone (events too) otherwise.
fn close_frame(host: &mut MapHost, result: &Result<Vec<u8>, String>, events: &mut Vec<Event>) {
    if result.is_ok() {
        host.commit_checkpoint();
    } else {
        host.revert_checkpoint();
        events.clear();
    }
}

// --- wasmi ---------------------------------------------------------------------------------

/// Why a wasmi frame stopped early, carried through wasmi as a host error.
#[derive(Debug)]
enum Stop {
    Revert(String),
    OutOfGas,
    Failed(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Revert(m) => write!(f, "reverted: {m}"),
            Stop::OutOfGas => f.write_str("failed: out of gas"),
            Stop::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl wasmi::core::HostError for Stop {}

fn stop(s: Stop) -> wasmi::Error {
    wasmi::Error::host(s)
}

fn failed(msg: impl Into<String>) -> wasmi::Error {
    stop(Stop::Failed(msg.into()))
}

fn state_err(e: HostError) -> wasmi::Error {
    failed(format!("state: {e}"))
}

/// A wasmi store's data: one call's frame over the host.
struct WasmiCall {
    host: MapHost,
    frame: Frame,
    memory: Option<wasmi::Memory>,
    events: Vec<Event>,
}

type WasmiCaller<'a> = wasmi::Caller<'a, WasmiCall>;
type WasmiResult<T> = Result<T, wasmi::Error>;

/// Takes `amount` gas from the fuel, as `imports.rs` does; out of gas leaves none.
fn burn(c: &mut WasmiCaller<'_>, amount: u64) -> WasmiResult<()> {
    let left = c.get_fuel()?;
    if left < amount {
        c.set_fuel(0)?;
        return Err(stop(Stop::OutOfGas));
    }
    c.set_fuel(left - amount)
}

fn charge(c: &mut WasmiCaller<'_>, cost: HostCost, bytes: usize) -> WasmiResult<()> {
    burn(c, cost.of(bytes))
}

fn memory(c: &WasmiCaller<'_>) -> WasmiResult<wasmi::Memory> {
    c.data().memory.ok_or_else(|| failed("the contract has no memory"))
}

fn read(c: &WasmiCaller<'_>, ptr: u32, len: u32) -> WasmiResult<Vec<u8>> {
    let mut buf = vec![0u8; len as usize];
    memory(c)?
        .read(c, ptr as usize, &mut buf)
        .map_err(|_| failed(format!("the contract passed memory [{ptr}, +{len}) outside its linear memory")))?;
    Ok(buf)
}

fn read_account(c: &WasmiCaller<'_>, ptr: u32) -> WasmiResult<AccountId> {
    let mut buf = [0u8; 32];
    memory(c)?
        .read(c, ptr as usize, &mut buf)
        .map_err(|_| failed(format!("the contract passed memory [{ptr}, +32) outside its linear memory")))?;
    Ok(AccountId(buf))
}

fn write(c: &mut WasmiCaller<'_>, ptr: u32, data: &[u8]) -> WasmiResult<()> {
    memory(c)?
        .write(&mut *c, ptr as usize, data)
        .map_err(|_| failed(format!("the contract passed memory [{ptr}, +{}) outside its linear memory", data.len())))
}

/// The `(out_ptr, out_cap) -> len` convention: copy what fits, return the full length.
fn write_out(c: &mut WasmiCaller<'_>, out_ptr: u32, out_cap: u32, data: &[u8]) -> WasmiResult<u32> {
    let n = data.len().min(out_cap as usize);
    write(c, out_ptr, &data[..n])?;
    Ok(data.len() as u32)
}

fn bounded(what: &str, len: u32, limit: u32) -> WasmiResult<()> {
    if len > limit {
        return Err(failed(format!("{what} of {len} bytes is over the limit of {limit} bytes")));
    }
    Ok(())
}

/// The running contract's address and the key it passed.
fn storage_key(c: &WasmiCaller<'_>, key_ptr: u32, key_len: u32) -> WasmiResult<(AccountId, Vec<u8>)> {
    bounded("storage key", key_len, MAX_STORAGE_KEY_LEN)?;
    Ok((c.data().frame.address, read(c, key_ptr, key_len)?))
}

/// The jjj ABI's host functions that the utility-bills wasm imports, over the same [`Host`],
/// with the semantics and gas of `crates/vm/src/imports.rs` (the schedule of `limits.rs`; each
/// charges before it works). What is left out: queries (this bench runs none, so there is no
/// read-only refusal), the debug buffer, and the functions the contract does not import; the
/// bench checks the module's imports against this list. Cross-contract calls (`call_contract`,
/// `return_data`: invoicing a paid bill) are linked as traps: a payment makes none.
const WASMI_HOST_FUNCTIONS: &[&str] = &[
    names::input,
    names::set_output,
    names::revert,
    names::storage_get,
    names::storage_set,
    names::storage_contains,
    names::caller,
    names::value_transferred,
    names::block_time,
    names::has_role,
    names::member_of,
    names::member_region,
    names::protected_read,
    names::transfer,
    names::emit_event,
    names::hash_blake2_256,
    names::call_contract,
    names::return_data,
];

fn link_wasmi(linker: &mut wasmi::Linker<WasmiCall>) -> WasmiResult<()> {
    let m = jjj_abi::HOST_MODULE;

    linker.func_wrap(m, names::input, |mut c: WasmiCaller<'_>, out_ptr: u32, out_cap: u32| -> WasmiResult<u32> {
        let len = c.data().frame.input.len();
        charge(&mut c, gas::INPUT, len)?;
        // Straight from the frame into linear memory, as `imports.rs`'s `copy_out` does.
        let (bytes, call) = memory(&c)?.data_and_store_mut(&mut c);
        let n = len.min(out_cap as usize);
        let start = out_ptr as usize;
        let dst = start
            .checked_add(n)
            .and_then(|end| bytes.get_mut(start..end))
            .ok_or_else(|| failed(format!("the contract passed memory [{out_ptr}, +{n}) outside its linear memory")))?;
        dst.copy_from_slice(&call.frame.input[..n]);
        Ok(len as u32)
    })?;

    linker.func_wrap(m, names::set_output, |mut c: WasmiCaller<'_>, ptr: u32, len: u32| -> WasmiResult<()> {
        bounded("output", len, MAX_OUTPUT_LEN)?;
        charge(&mut c, gas::SET_OUTPUT, len as usize)?;
        c.data_mut().frame.output = read(&c, ptr, len)?;
        Ok(())
    })?;

    linker.func_wrap(m, names::revert, |mut c: WasmiCaller<'_>, ptr: u32, len: u32| -> WasmiResult<()> {
        let len = len.min(MAX_OUTPUT_LEN);
        charge(&mut c, gas::REVERT, len as usize)?;
        let message = read(&c, ptr, len)?;
        Err(stop(Stop::Revert(String::from_utf8_lossy(&message).into_owned())))
    })?;

    linker.func_wrap(
        m,
        names::storage_get,
        |mut c: WasmiCaller<'_>, key_ptr: u32, key_len: u32, out_ptr: u32, out_cap: u32| -> WasmiResult<u32> {
            charge(&mut c, gas::STORAGE_GET, key_len as usize)?;
            let (contract, key) = storage_key(&c, key_ptr, key_len)?;
            match c.data().host.storage_get(&contract, &key).map_err(state_err)? {
                None => Ok(NOT_FOUND),
                Some(v) => {
                    burn(&mut c, gas::STORAGE_GET.per_byte.saturating_mul(v.len() as u64))?;
                    write_out(&mut c, out_ptr, out_cap, &v)
                }
            }
        },
    )?;

    linker.func_wrap(
        m,
        names::storage_set,
        |mut c: WasmiCaller<'_>, key_ptr: u32, key_len: u32, value_ptr: u32, value_len: u32| -> WasmiResult<()> {
            bounded("storage value", value_len, MAX_STORAGE_VALUE_LEN)?;
            charge(&mut c, gas::STORAGE_SET, key_len as usize + value_len as usize)?;
            let (contract, key) = storage_key(&c, key_ptr, key_len)?;
            let value = read(&c, value_ptr, value_len)?;
            c.data_mut().host.storage_set(&contract, &key, value);
            Ok(())
        },
    )?;

    linker.func_wrap(
        m,
        names::storage_contains,
        |mut c: WasmiCaller<'_>, key_ptr: u32, key_len: u32| -> WasmiResult<u32> {
            charge(&mut c, gas::STORAGE_CONTAINS, key_len as usize)?;
            let (contract, key) = storage_key(&c, key_ptr, key_len)?;
            Ok(u32::from(c.data().host.storage_get(&contract, &key).map_err(state_err)?.is_some()))
        },
    )?;

    linker.func_wrap(m, names::caller, |mut c: WasmiCaller<'_>, out_ptr: u32| -> WasmiResult<()> {
        charge(&mut c, gas::ENV_READ, 0)?;
        let who = c.data().frame.caller;
        write(&mut c, out_ptr, &who.0)
    })?;

    linker.func_wrap(m, names::value_transferred, |mut c: WasmiCaller<'_>| -> WasmiResult<u64> {
        charge(&mut c, gas::ENV_READ, 0)?;
        Ok(c.data().frame.value)
    })?;

    linker.func_wrap(m, names::block_time, |mut c: WasmiCaller<'_>| -> WasmiResult<u64> {
        charge(&mut c, gas::ENV_READ, 0)?;
        Ok(NOW_MS)
    })?;

    linker.func_wrap(
        m,
        names::has_role,
        |mut c: WasmiCaller<'_>, account_ptr: u32, role_ptr: u32, role_len: u32| -> WasmiResult<u32> {
            charge(&mut c, gas::HAS_ROLE, role_len as usize)?;
            let who = read_account(&c, account_ptr)?;
            if role_len as usize > jjj_primitives::gov::MAX_NAME_LEN {
                return Ok(0); // no role has so long a name
            }
            let role = read(&c, role_ptr, role_len)?;
            let Ok(role) = std::str::from_utf8(&role) else { return Ok(0) };
            Ok(u32::from(c.data().host.has_role(&who, role).map_err(state_err)?))
        },
    )?;

    linker.func_wrap(
        m,
        names::member_of,
        |mut c: WasmiCaller<'_>, account_ptr: u32, out_ptr: u32, out_cap: u32| -> WasmiResult<u32> {
            charge(&mut c, gas::MEMBER_OF, 0)?;
            let who = read_account(&c, account_ptr)?;
            match c.data().host.member_of(&who).map_err(state_err)? {
                None => Ok(NOT_FOUND),
                Some(member) => {
                    burn(&mut c, gas::MEMBER_OF.per_byte.saturating_mul(member.len() as u64))?;
                    write_out(&mut c, out_ptr, out_cap, member.as_bytes())
                }
            }
        },
    )?;

    linker.func_wrap(m, names::member_region, |mut c: WasmiCaller<'_>, account_ptr: u32| -> WasmiResult<u32> {
        charge(&mut c, gas::MEMBER_REGION, 0)?;
        let who = read_account(&c, account_ptr)?;
        Ok(c.data().host.member_region(&who).map_err(state_err)?.map_or(NOT_FOUND, u32::from))
    })?;

    // The bench's calls are transactions: their senders signed, so a protected read is allowed.
    linker.func_wrap(m, names::protected_read, |mut c: WasmiCaller<'_>| -> WasmiResult<()> {
        charge(&mut c, gas::ENV_READ, 0)
    })?;

    linker.func_wrap(m, names::transfer, |mut c: WasmiCaller<'_>, to_ptr: u32, amount: u64| -> WasmiResult<u32> {
        charge(&mut c, gas::TRANSFER, 0)?;
        let to = read_account(&c, to_ptr)?;
        let from = c.data().frame.address;
        let moved = c.data_mut().host.transfer(&from, &to, amount).map_err(state_err)?;
        Ok(if moved { ReturnCode::Success } else { ReturnCode::InsufficientBalance } as u32)
    })?;

    linker.func_wrap(
        m,
        names::emit_event,
        |mut c: WasmiCaller<'_>, topics_ptr: u32, topics_count: u32, data_ptr: u32, data_len: u32| -> WasmiResult<()> {
            if topics_count > MAX_EVENT_TOPICS {
                return Err(failed(format!(
                    "an event has at most {MAX_EVENT_TOPICS} topics, the contract gave {topics_count}"
                )));
            }
            bounded("event data", data_len, MAX_EVENT_DATA_LEN)?;
            if c.data().events.len() >= MAX_EVENTS_PER_TX as usize {
                return Err(failed(format!("a transaction emits at most {MAX_EVENTS_PER_TX} events")));
            }
            charge(&mut c, gas::EMIT_EVENT, topics_count as usize * 32 + data_len as usize)?;
            let raw = read(&c, topics_ptr, topics_count * 32)?;
            let topics = raw.chunks_exact(32).map(|t| Hash(t.try_into().unwrap_or([0; 32]))).collect();
            let data = read(&c, data_ptr, data_len)?;
            let contract = c.data().frame.address;
            c.data_mut().events.push(Event { contract, topics, data });
            Ok(())
        },
    )?;

    linker.func_wrap(
        m,
        names::hash_blake2_256,
        |mut c: WasmiCaller<'_>, ptr: u32, len: u32, out_ptr: u32| -> WasmiResult<()> {
            bounded("hash input", len, MAX_CRYPTO_INPUT_LEN)?;
            charge(&mut c, gas::HASH_BLAKE2_256, len as usize)?;
            let data = read(&c, ptr, len)?;
            write(&mut c, out_ptr, &jjj_crypto::blake2_256(&data).0)
        },
    )?;

    let not_here = || wasmi::Error::new("cross-contract calls are not part of this bench");
    linker.func_wrap(
        m,
        names::call_contract,
        move |_: WasmiCaller<'_>, _: u32, _: u32, _: u32, _: u64, _: u64| -> WasmiResult<u32> { Err(not_here()) },
    )?;
    linker.func_wrap(m, names::return_data, move |_: WasmiCaller<'_>, _: u32, _: u32| -> WasmiResult<u32> {
        Err(not_here())
    })?;

    Ok(())
}

/// wasmi with fuel metering, the same host functions and gas schedule as jjj's VM for what the
/// contract imports, plus jjj's per-call `gas::INVOKE` and `gas::MEMORY_PAGE` for the pages an
/// instance starts with (pages grown later are not charged: a payment grows none). The wasm
/// instructions themselves cost wasmi's own fuel (1 per instruction of its register bytecode,
/// more for calls, loads, stores and bulk copies) instead of jjj's `operator_costs` per wasm
/// operator: the gas used differs, not the work.
struct Wasmi {
    engine: wasmi::Engine,
    linker: wasmi::Linker<WasmiCall>,
    /// Compiled once, by code hash: what jjj's module cache is to wasmtime.
    modules: HashMap<Hash, wasmi::Module>,
}

impl Wasmi {
    fn new() -> Self {
        let mut config = wasmi::Config::default();
        // Eager: the whole module is translated when compiled, not on first use in the timing.
        config.consume_fuel(true).compilation_mode(wasmi::CompilationMode::Eager).wasm_tail_call(false);
        let engine = wasmi::Engine::new(&config);
        let mut linker = wasmi::Linker::new(&engine);
        link_wasmi(&mut linker).expect("link the host functions into wasmi");
        Wasmi { engine, linker, modules: HashMap::new() }
    }

    fn compile(&mut self, code_hash: Hash, wasm: &[u8]) {
        let module = wasmi::Module::new(&self.engine, wasm).expect("wasmi compiles the contract");
        self.modules.insert(code_hash, module);
    }

    /// Instantiates the module in `store` and runs `entry`, as `frame::run_frame` does.
    fn call_in(&self, store: &mut wasmi::Store<WasmiCall>, module: &wasmi::Module, entry: Entry) -> WasmiResult<()> {
        let input_len = store.data().frame.input.len();
        let left = store.get_fuel()?.checked_sub(gas::INVOKE.of(input_len)).ok_or_else(|| stop(Stop::OutOfGas))?;
        store.set_fuel(left)?;
        let instance = self.linker.instantiate(&mut *store, module)?.start(&mut *store)?;
        let memory = instance.get_memory(&*store, jjj_abi::exports::MEMORY);
        if let Some(memory) = memory {
            // jjj charges the pages an instance starts with (its limiter counts them).
            let pages = u64::from(memory.size(&*store));
            let left = store.get_fuel()?.checked_sub(gas::MEMORY_PAGE * pages).ok_or_else(|| stop(Stop::OutOfGas))?;
            store.set_fuel(left)?;
        }
        store.data_mut().memory = memory;
        let export = if entry == Entry::Deploy { jjj_abi::exports::DEPLOY } else { jjj_abi::exports::CALL };
        instance.get_typed_func::<(), ()>(&*store, export)?.call(&mut *store, ())
    }
}

/// How a wasmi call ended, in the words `jjj_vm::frame::classify` uses.
fn wasmi_failure(e: &wasmi::Error) -> String {
    if let Some(s) = e.downcast_ref::<Stop>() {
        return s.to_string();
    }
    match e.as_trap_code() {
        Some(wasmi::core::TrapCode::OutOfFuel) => "failed: out of gas".into(),
        Some(code) => format!("failed: trapped: {code}"),
        None => format!("failed: {e}"),
    }
}

impl Engine for Wasmi {
    fn name(&self) -> &'static str {
        "wasmi"
    }
    fn run(&mut self, mut host: MapHost, call: Call) -> Done {
        let (code_hash, entry, frame) = match open_frame(&mut host, call) {
            Ok(opened) => opened,
            Err(m) => return Done { host, result: Err(format!("failed: {m}")), events: Vec::new(), gas: Some(0) },
        };
        let mut store = wasmi::Store::new(&self.engine, WasmiCall { host, frame, memory: None, events: Vec::new() });
        let outcome = match (store.set_fuel(GAS_LIMIT), self.modules.get(&code_hash)) {
            (Err(e), _) => Err(format!("failed: fuel: {e}")),
            (_, None) => Err(format!("failed: code {code_hash} is not compiled")),
            (Ok(()), Some(module)) => self.call_in(&mut store, module, entry).map_err(|e| wasmi_failure(&e)),
        };
        let gas = GAS_LIMIT.saturating_sub(store.get_fuel().unwrap_or(0));
        let WasmiCall { mut host, frame, mut events, .. } = store.into_data();
        let result = outcome.map(|()| frame.output);
        close_frame(&mut host, &result, &mut events);
        Done { host, result, events, gas: Some(gas) }
    }
}

// --- native --------------------------------------------------------------------------------

/// The SDK's native backend served by the map host: one call's frame over it, the
/// `NativeHost` counterpart of [`WasmiCall`]. Same checks and limits as `imports.rs`; no gas.
struct NativeCall {
    host: MapHost,
    frame: Frame,
    events: Vec<Event>,
    /// The query the running message declared itself, if any: writes are refused then.
    query: Option<String>,
}

impl NativeCall {
    fn refuse_in_query(&self, what: &str) -> Result<(), String> {
        match &self.query {
            Some(q) => Err(format!("`{q}` is a query and may not {what}")),
            None => Ok(()),
        }
    }
}

fn state_message(e: HostError) -> String {
    format!("state: {e}")
}

impl NativeHost for NativeCall {
    fn input(&self) -> Vec<u8> {
        self.frame.input.clone()
    }
    fn set_output(&mut self, data: &[u8]) {
        self.frame.output = data.to_vec();
    }
    fn storage_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.host.storage_get(&self.frame.address, key).map_err(state_message)
    }
    fn storage_set(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.refuse_in_query("write storage")?;
        if key.len() > MAX_STORAGE_KEY_LEN as usize || value.len() > MAX_STORAGE_VALUE_LEN as usize {
            return Err(format!("a storage key or value is over its limit ({} and {} bytes)", key.len(), value.len()));
        }
        self.host.storage_set(&self.frame.address, key, value.to_vec());
        Ok(())
    }
    fn storage_remove(&mut self, key: &[u8]) -> Result<(), String> {
        self.refuse_in_query("remove storage")?;
        self.host.storage_remove(&self.frame.address, key);
        Ok(())
    }
    fn caller(&self) -> AccountId {
        self.frame.caller
    }
    fn self_address(&self) -> AccountId {
        self.frame.address
    }
    fn value_transferred(&self) -> u64 {
        self.frame.value
    }
    fn balance(&self, of: &AccountId) -> Result<u64, String> {
        self.host.balance(of).map_err(state_message)
    }
    fn transfer(&mut self, to: &AccountId, amount: u64) -> Result<ReturnCode, String> {
        self.refuse_in_query("transfer value")?;
        let moved = self.host.transfer(&self.frame.address, to, amount).map_err(state_message)?;
        Ok(if moved { ReturnCode::Success } else { ReturnCode::InsufficientBalance })
    }
    fn block_height(&self) -> u64 {
        HEIGHT
    }
    fn block_time(&self) -> u64 {
        NOW_MS
    }
    fn emit_event(&mut self, topics: &[Hash], data: &[u8]) -> Result<(), String> {
        self.refuse_in_query("emit events")?;
        if topics.len() > MAX_EVENT_TOPICS as usize || data.len() > MAX_EVENT_DATA_LEN as usize {
            return Err(format!("an event of {} topics and {} bytes is over the limits", topics.len(), data.len()));
        }
        if self.events.len() >= MAX_EVENTS_PER_TX as usize {
            return Err(format!("a transaction emits at most {MAX_EVENTS_PER_TX} events"));
        }
        self.events.push(Event { contract: self.frame.address, topics: topics.to_vec(), data: data.to_vec() });
        Ok(())
    }
    fn has_role(&self, account: &AccountId, role: &str) -> Result<bool, String> {
        self.host.has_role(account, role).map_err(state_message)
    }
    fn member_of(&self, account: &AccountId) -> Result<Option<String>, String> {
        self.host.member_of(account).map_err(state_message)
    }
    fn member_region(&self, account: &AccountId) -> Result<Option<u8>, String> {
        self.host.member_region(account).map_err(state_message)
    }
    fn enter_query(&mut self, message: &str) {
        self.query.get_or_insert_with(|| message.to_string());
    }
}

/// The contract's native build, its host calls served by the map host.
struct Native {
    /// By code hash, as wasmi's modules: the native build of the code deployed there.
    entries: HashMap<Hash, ContractEntry>,
}

impl Engine for Native {
    fn name(&self) -> &'static str {
        "native"
    }
    fn run(&mut self, mut host: MapHost, call: Call) -> Done {
        let (code_hash, entry, frame) = match open_frame(&mut host, call) {
            Ok(opened) => opened,
            Err(m) => return Done { host, result: Err(format!("failed: {m}")), events: Vec::new(), gas: None },
        };
        let mut native = NativeCall { host, frame, events: Vec::new(), query: None };
        let outcome = match self.entries.get(&code_hash) {
            None => Err(format!("failed: no native build of code {code_hash}")),
            Some(build) => {
                let run = if entry == Entry::Deploy { build.deploy } else { build.call };
                with_native_host(&mut native, || run_entry(run)).map_err(|m| format!("reverted: {m}"))
            }
        };
        let NativeCall { mut host, frame, mut events, .. } = native;
        let result = outcome.map(|()| frame.output);
        close_frame(&mut host, &result, &mut events);
        Done { host, result, events, gas: None }
    }
}

// ---------------------------------------------------------------------------------------------
// Setup, checks, timing.

fn account(name: &str) -> AccountId {
    AccountId(jjj_crypto::blake2_256(name.as_bytes()).0)
}

/// Where `scripts/build-contracts.sh` writes the wasm, as `jjj_testkit::contracts_dir` finds it.
fn contract_wasm(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("JJJ_CONTRACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/contracts"));
    let path = dir.join(format!("{name}.wasm"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run scripts/build-contracts.sh first", path.display()))
}

/// Every function the module imports from the jjj host module.
fn imported_functions(wasm: &[u8]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ImportSection(section) = payload.expect("the contract parses") {
            for import in section.into_imports() {
                let import = import.expect("the contract's imports parse");
                assert_eq!(import.module, jjj_abi::HOST_MODULE, "the contract imports from another module");
                names.insert(import.name.to_string());
            }
        }
    }
    names
}

/// The state every engine starts from: the contract deployed by wasmtime, its provider
/// registered, and `bills` unpaid bills (ids 1..=bills) issued to one resident.
struct World {
    host: MapHost,
    contract: AccountId,
    resident: AccountId,
    provider: AccountId,
    code_hash: Hash,
    wasm: Vec<u8>,
}

fn world(wasmtime: &mut Wasmtime, bills: u64) -> World {
    let wasm = contract_wasm("utility_bills");
    let code_hash = jjj_crypto::blake2_256(&wasm);
    let (admin, provider, resident) = (account("admin"), account("beijing-water"), account("hebei-resident"));
    let contract = account("contract:utility-bills");
    let mut host = MapHost::default();
    host.code.insert(code_hash, wasm.clone());
    host.contracts.insert(contract, ContractCode { code_hash, reentrant: false });
    host.ledger.balances.insert(resident, u64::MAX / 2);
    host.member_regions.insert("beijing".into(), jjj_abi::regions::BEIJING);
    host.registry.insert(
        provider,
        Registration { member: "beijing".into(), roles: vec![jjj_abi::roles::UTILITY_PROVIDER.into()] },
    );
    let mut run = |host: MapHost, entry: Entry, caller: AccountId, input: Vec<u8>| -> MapHost {
        let done = wasmtime.run(host, Call { entry, contract, caller, value: 0, input });
        if let Err(e) = &done.result {
            panic!("setup call failed: {e}");
        }
        done.host
    };
    host = run(host, Entry::Deploy, admin, msg::new());
    let register = msg::register_provider(provider, "北京自来水".into(), Region::Beijing, vec![UtilityKind::Water], 5);
    host = run(host, Entry::Call, provider, register);
    let due = NOW_MS + 30 * utility_bills::DAY_MS;
    for _ in 0..bills {
        host = run(
            host,
            Entry::Call,
            provider,
            msg::issue_bill(resident, UtilityKind::Water, BILL_AMOUNT, "2026-01".into(), due),
        );
    }
    World { host, contract, resident, provider, code_hash, wasm }
}

/// One engine's copy of the world and the next bill it pays.
struct Lane {
    host: MapHost,
    next_bill: u64,
}

impl Lane {
    /// Pays the next bill, untimed; what it did comes back with a copy of the host, to compare.
    fn pay_next(&mut self, engine: &mut impl Engine, w: &World) -> Done {
        let done = engine.run(std::mem::take(&mut self.host), Call::pay(w.contract, w.resident, self.next_bill));
        self.next_bill += 1;
        self.host = done.host.clone();
        done
    }
}

/// Pays the lane's next `calls` bills; returns µs per payment. Panics if one failed.
fn timed_run(engine: &mut impl Engine, lane: &mut Lane, w: &World, calls: usize) -> f64 {
    let mut host = std::mem::take(&mut lane.host);
    let mut first_failure = None;
    let start = Instant::now();
    for _ in 0..calls {
        let done = engine.run(host, Call::pay(w.contract, w.resident, lane.next_bill));
        lane.next_bill += 1;
        if let Err(e) = done.result {
            first_failure.get_or_insert(e);
        }
        host = done.host;
    }
    let elapsed = start.elapsed();
    lane.host = host;
    if let Some(e) = first_failure {
        panic!("{}: a bill payment failed: {e}", engine.name());
    }
    elapsed.as_secs_f64() * 1e6 / calls as f64
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Checks that `done` (the first payment on an engine) did what wasmtime's did.
fn check_same(name: &str, done: &Done, reference: &Done) {
    assert_eq!(done.result, reference.result, "{name}: the payment's output differs from wasmtime's");
    assert_eq!(done.events, reference.events, "{name}: the payment's events differ from wasmtime's");
    assert!(
        done.host.ledger == reference.host.ledger,
        "{name}: the payment left other storage or balances than wasmtime's"
    );
}

fn main() {
    // `cargo test --benches` passes no --bench flag: run everything once, small.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes = if quick { QUICK } else { FULL };
    let bills = 1 + sizes.warmup + sizes.runs * sizes.calls_per_run;

    let mut wasmtime = Wasmtime { vm: Vm::new().expect("wasmtime VM"), ctx: block_context() };
    let w = world(&mut wasmtime, bills as u64);

    let imports = imported_functions(&w.wasm);
    let missing: Vec<_> = imports.iter().filter(|f| !WASMI_HOST_FUNCTIONS.contains(&f.as_str())).collect();
    assert!(missing.is_empty(), "the wasmi linker lacks host functions the contract imports: {missing:?}");
    let mut wasmi = Wasmi::new();
    wasmi.compile(w.code_hash, &w.wasm);
    let mut native = Native { entries: HashMap::from([(w.code_hash, UtilityBills::ENTRY)]) };

    // Bill 1 on each engine from the same state: the same output, events, storage and balances.
    let mut lanes: Vec<Lane> = (0..3).map(|_| Lane { host: w.host.clone(), next_bill: 1 }).collect();
    let reference = lanes[0].pay_next(&mut wasmtime, &w);
    let receipt = match &reference.result {
        Ok(out) => PaymentReceipt::decode(&mut &out[..]).expect("the payment returns a receipt"),
        Err(e) => panic!("wasmtime: the bill payment failed: {e}"),
    };
    assert_eq!((receipt.bill_id, receipt.payer, receipt.amount_paid), (1, w.resident, BILL_AMOUNT));
    assert_eq!(reference.events.len(), 1, "one BillPaid event");
    assert_eq!(reference.host.ledger.balances.get(&w.provider), Some(&BILL_AMOUNT), "the provider got the payment");
    let wasmi_first = lanes[1].pay_next(&mut wasmi, &w);
    check_same(wasmi.name(), &wasmi_first, &reference);
    let native_first = lanes[2].pay_next(&mut native, &w);
    check_same(native.name(), &native_first, &reference);
    let gas = [reference.gas, wasmi_first.gas, native_first.gas];

    // The warm-up is a run like the timed ones whose time is dropped.
    timed_run(&mut wasmtime, &mut lanes[0], &w, sizes.warmup);
    timed_run(&mut wasmi, &mut lanes[1], &w, sizes.warmup);
    timed_run(&mut native, &mut lanes[2], &w, sizes.warmup);
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..sizes.runs {
        samples[0].push(timed_run(&mut wasmtime, &mut lanes[0], &w, sizes.calls_per_run));
        samples[1].push(timed_run(&mut wasmi, &mut lanes[1], &w, sizes.calls_per_run));
        samples[2].push(timed_run(&mut native, &mut lanes[2], &w, sizes.calls_per_run));
    }
    // Every lane paid every bill it was given: the same state at the end.
    assert!(lanes.iter().all(|l| l.next_bill == bills as u64 + 1));
    assert!(
        lanes[1].host.ledger == lanes[0].host.ledger && lanes[2].host.ledger == lanes[0].host.ledger,
        "the engines ended in different states"
    );

    let [wasmtime_us, wasmi_us, native_us] = samples.map(median);
    println!(
        "\nbill payment (utility-bills `pay`), median of {} runs × {} calls, µs per call (instantiation included)\n",
        sizes.runs, sizes.calls_per_run
    );
    println!("| engine | µs per call | gas per call | × native | × wasmtime |");
    println!("|---|---:|---:|---:|---:|");
    for ((name, us), gas) in
        [(wasmtime.name(), wasmtime_us), (wasmi.name(), wasmi_us), (native.name(), native_us)].iter().zip(gas)
    {
        let gas = gas.map_or("-".to_string(), |g| g.to_string());
        println!("| {name} | {us:.2} | {gas} | {:.2} | {:.2} |", us / native_us, us / wasmtime_us);
    }
    println!(
        "{{\"wasmtime_us\":{wasmtime_us:.3},\"wasmi_us\":{wasmi_us:.3},\"native_us\":{native_us:.3},\
         \"wasmi_over_wasmtime\":{:.3},\"wasmtime_over_native\":{:.3},\"wasmi_over_native\":{:.3},\
         \"runs\":{},\"calls_per_run\":{}}}",
        wasmi_us / wasmtime_us,
        wasmtime_us / native_us,
        wasmi_us / native_us,
        sizes.runs,
        sizes.calls_per_run
    );
}
