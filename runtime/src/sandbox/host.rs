//! The host side of the ABI: the state a running transaction carries through wasmtime, the
//! host functions, and `invoke`, which runs one contract frame (the transaction's own call and
//! every nested `call_contract`) with its own checkpoint, value transfer and gas budget.
use super::limits::{gas, HostCost, MAX_INSTANCES_PER_TX, MAX_MEMORY_BYTES, MAX_TABLE_ELEMENTS};
use super::SandboxInner;
use crate::state::{decode_record, keys, Account, ContractInfo, Overlay, StateError};
use crate::types::{AccountId, BlockContext, Event, Hash};
use jjj_abi::{limits::*, names, ReturnCode, NOT_FOUND};
use std::sync::Arc;
use wasmtime::{AsContextMut, Caller, Linker, Memory, StoreLimits, StoreLimitsBuilder, Trap};

/// Why a frame stopped early. Carried through wasmtime as the error of a host call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostTrap {
    #[error("reverted: {0}")]
    Revert(String),
    #[error("out of gas")]
    OutOfGas,
    #[error("{0}")]
    Failed(String),
}

/// How a frame ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameEnd {
    Success(Vec<u8>),
    Reverted(String),
    Failed(String),
}

/// One contract call on the stack.
pub struct Frame {
    pub address: AccountId,
    pub caller: AccountId,
    pub value: u64,
    pub input: Vec<u8>,
    pub output: Vec<u8>,
    /// Output or failure reason of this frame's last `call_contract`.
    pub return_data: Vec<u8>,
    pub memory: Option<Memory>,
}

/// Everything a transaction's execution owns while wasm runs.
pub struct HostState {
    pub overlay: Overlay,
    pub ctx: BlockContext,
    pub frames: Vec<Frame>,
    pub events: Vec<Event>,
    /// Debug lines; `Some` only in dry runs.
    pub debug: Option<Vec<String>>,
    debug_bytes: usize,
    /// The wall-clock backstop fired: the whole execution is void.
    pub aborted: bool,
    pub limits: StoreLimits,
    pub(crate) sandbox: Arc<SandboxInner>,
}

impl HostState {
    pub(crate) fn new(sandbox: Arc<SandboxInner>, overlay: Overlay, ctx: BlockContext, debug: bool) -> Self {
        HostState {
            overlay,
            ctx,
            frames: Vec::new(),
            events: Vec::new(),
            debug: debug.then(Vec::new),
            debug_bytes: 0,
            aborted: false,
            limits: StoreLimitsBuilder::new()
                .memory_size(MAX_MEMORY_BYTES)
                .table_elements(MAX_TABLE_ELEMENTS as usize)
                .instances(MAX_INSTANCES_PER_TX)
                .memories(MAX_INSTANCES_PER_TX)
                .tables(MAX_INSTANCES_PER_TX)
                .build(),
            sandbox,
        }
    }

    fn frame(&self) -> Result<&Frame, wasmtime::Error> {
        self.frames.last().ok_or_else(|| failed("host function called outside a contract frame"))
    }

    fn frame_mut(&mut self) -> Result<&mut Frame, wasmtime::Error> {
        self.frames.last_mut().ok_or_else(|| failed("host function called outside a contract frame"))
    }
}

fn failed(msg: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap::Failed(msg.into()))
}

fn state_err(e: StateError) -> wasmtime::Error {
    failed(format!("state: {e}"))
}

// ---- accounts, shared with transaction dispatch ----

pub fn load_account(overlay: &Overlay, who: &AccountId) -> Result<Account, StateError> {
    let key = keys::account(who);
    match overlay.get(&key)? {
        Some(bytes) => decode_record(&key, &bytes),
        None => Ok(Account::default()),
    }
}

pub fn store_account(overlay: &mut Overlay, who: &AccountId, account: &Account) {
    use parity_scale_codec::Encode;
    overlay.set(keys::account(who), account.encode());
}

/// Moves fen; `Ok(false)` when `from` has too little.
pub fn move_balance(overlay: &mut Overlay, from: &AccountId, to: &AccountId, amount: u64) -> Result<bool, StateError> {
    if amount == 0 || from == to {
        return Ok(load_account(overlay, from)?.balance >= amount);
    }
    let mut a = load_account(overlay, from)?;
    let Some(left) = a.balance.checked_sub(amount) else { return Ok(false) };
    a.balance = left;
    store_account(overlay, from, &a);
    let mut b = load_account(overlay, to)?;
    // Total supply is bounded by u64 at genesis, so this cannot overflow; saturate anyway.
    b.balance = b.balance.saturating_add(amount);
    store_account(overlay, to, &b);
    Ok(true)
}

pub fn load_contract(overlay: &Overlay, address: &AccountId) -> Result<Option<ContractInfo>, StateError> {
    let key = keys::contract(address);
    match overlay.get(&key)? {
        Some(bytes) => decode_record(&key, &bytes).map(Some),
        None => Ok(None),
    }
}

// ---- gas and memory ----

fn charge(caller: &mut Caller<'_, HostState>, amount: u64) -> Result<(), wasmtime::Error> {
    let left = caller.get_fuel()?;
    if left < amount {
        caller.set_fuel(0)?;
        return Err(wasmtime::Error::new(HostTrap::OutOfGas));
    }
    caller.set_fuel(left - amount)
}

fn charge_cost(caller: &mut Caller<'_, HostState>, cost: HostCost, bytes: usize) -> Result<(), wasmtime::Error> {
    charge(caller, cost.of(bytes))
}

fn memory(caller: &Caller<'_, HostState>) -> Result<Memory, wasmtime::Error> {
    caller.data().frame()?.memory.ok_or_else(|| failed("the contract has no memory"))
}

fn read(caller: &mut Caller<'_, HostState>, ptr: u32, len: u32) -> Result<Vec<u8>, wasmtime::Error> {
    let mem = memory(caller)?;
    let mut buf = vec![0u8; len as usize];
    mem.read(&*caller, ptr as usize, &mut buf)
        .map_err(|_| failed(format!("the contract passed memory [{ptr}, +{len}) outside its linear memory")))?;
    Ok(buf)
}

fn read_array<const N: usize>(caller: &mut Caller<'_, HostState>, ptr: u32) -> Result<[u8; N], wasmtime::Error> {
    let mem = memory(caller)?;
    let mut buf = [0u8; N];
    mem.read(&*caller, ptr as usize, &mut buf)
        .map_err(|_| failed(format!("the contract passed memory [{ptr}, +{N}) outside its linear memory")))?;
    Ok(buf)
}

fn write(caller: &mut Caller<'_, HostState>, ptr: u32, data: &[u8]) -> Result<(), wasmtime::Error> {
    let mem = memory(caller)?;
    mem.write(&mut *caller, ptr as usize, data)
        .map_err(|_| failed(format!("the contract passed memory [{ptr}, +{}) outside its linear memory", data.len())))
}

/// The `(out_ptr, out_cap) -> len` convention: copy what fits, return the full length.
fn write_out(
    caller: &mut Caller<'_, HostState>,
    out_ptr: u32,
    out_cap: u32,
    data: &[u8],
) -> Result<u32, wasmtime::Error> {
    let n = data.len().min(out_cap as usize);
    write(caller, out_ptr, &data[..n])?;
    Ok(data.len() as u32)
}

fn bounded(what: &str, len: u32, limit: u32) -> Result<(), wasmtime::Error> {
    if len > limit {
        return Err(failed(format!("{what} of {len} bytes is over the limit of {limit} bytes")));
    }
    Ok(())
}

fn storage_key(caller: &mut Caller<'_, HostState>, key_ptr: u32, key_len: u32) -> Result<Vec<u8>, wasmtime::Error> {
    bounded("storage key", key_len, MAX_STORAGE_KEY_LEN)?;
    let key = read(caller, key_ptr, key_len)?;
    let address = caller.data().frame()?.address;
    Ok(keys::storage(&address, &key))
}

// ---- running a frame ----

/// Classifies the error a frame's wasm call ended with.
pub fn classify(e: &wasmtime::Error, state: &mut HostState) -> FrameEnd {
    if let Some(t) = e.downcast_ref::<HostTrap>() {
        return match t {
            HostTrap::Revert(m) => FrameEnd::Reverted(m.clone()),
            HostTrap::OutOfGas => FrameEnd::Failed("out of gas".into()),
            HostTrap::Failed(m) => FrameEnd::Failed(m.clone()),
        };
    }
    if let Some(trap) = e.downcast_ref::<Trap>() {
        return FrameEnd::Failed(match trap {
            Trap::OutOfFuel => "out of gas".into(),
            Trap::StackOverflow => "call stack exhausted: recursion too deep".into(),
            Trap::Interrupt => {
                state.aborted = true;
                "execution exceeded the wall-clock backstop".into()
            }
            Trap::UnreachableCodeReached => "trapped: unreachable executed (an abort without a message)".into(),
            other => format!("trapped: {other}"),
        });
    }
    FrameEnd::Failed(format!("{e:#}"))
}

/// Which entry point to run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Entry {
    Deploy,
    Call,
}

impl Entry {
    fn export(self) -> &'static str {
        match self {
            Entry::Deploy => jjj_abi::exports::DEPLOY,
            Entry::Call => jjj_abi::exports::CALL,
        }
    }
}

/// Runs `entry` of the contract at `address` as a new frame: checkpoint, value transfer,
/// instantiate, call, then commit or revert. `gas_limit` 0 means all the gas that is left.
/// Returns how the frame ended and the gas it used; never an error for anything the contract did.
pub fn invoke(
    mut ctx: impl AsContextMut<Data = HostState>,
    entry: Entry,
    address: AccountId,
    caller: AccountId,
    value: u64,
    input: Vec<u8>,
    gas_limit: u64,
) -> (FrameEnd, u64) {
    let mut store = ctx.as_context_mut();
    let before = store.get_fuel().unwrap_or(0);
    let budget = if gas_limit == 0 || gas_limit > before { before } else { gas_limit };
    if store.set_fuel(budget).is_err() {
        return (FrameEnd::Failed("fuel is not enabled".into()), 0);
    }
    let events_before = store.data().events.len();
    store.data_mut().overlay.checkpoint();

    let end = run_frame(&mut store, entry, address, caller, value, input);

    let left = store.get_fuel().unwrap_or(0);
    let used = budget.saturating_sub(left);
    let _ = store.set_fuel(before.saturating_sub(used));
    let state = store.data_mut();
    match &end {
        FrameEnd::Success(_) => state.overlay.commit_checkpoint(),
        _ => {
            state.overlay.revert_checkpoint();
            state.events.truncate(events_before);
        }
    }
    (end, used)
}

fn run_frame(
    store: &mut wasmtime::StoreContextMut<'_, HostState>,
    entry: Entry,
    address: AccountId,
    caller: AccountId,
    value: u64,
    input: Vec<u8>,
) -> FrameEnd {
    let setup = (|| -> Result<_, String> {
        let state = store.data_mut();
        let info = load_contract(&state.overlay, &address)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no contract at {address}"))?;
        let pre = state.sandbox.clone().instance_pre(&state.overlay, &info.code_hash).map_err(|e| e.to_string())?;
        if !move_balance(&mut state.overlay, &caller, &address, value).map_err(|e| e.to_string())? {
            return Err(format!("insufficient balance: {caller} cannot send {value} fen"));
        }
        Ok(pre)
    })();
    let pre = match setup {
        Ok(p) => p,
        Err(m) => return FrameEnd::Failed(m),
    };
    if let Err(e) = store.charge_setup(input.len()) {
        return classify(&e, store.data_mut());
    }
    store.data_mut().frames.push(Frame {
        address,
        caller,
        value,
        input,
        output: Vec::new(),
        return_data: Vec::new(),
        memory: None,
    });
    let result = (|| {
        let instance = pre.instantiate(&mut *store)?;
        let memory = instance.get_memory(&mut *store, jjj_abi::exports::MEMORY);
        if let Some(f) = store.data_mut().frames.last_mut() {
            f.memory = memory;
        }
        let func = instance.get_typed_func::<(), ()>(&mut *store, entry.export())?;
        func.call(&mut *store, ())
    })();
    let frame = store.data_mut().frames.pop();
    match result {
        Ok(()) => FrameEnd::Success(frame.map(|f| f.output).unwrap_or_default()),
        Err(e) => classify(&e, store.data_mut()),
    }
}

trait ChargeSetup {
    fn charge_setup(&mut self, input_len: usize) -> Result<(), wasmtime::Error>;
}

impl ChargeSetup for wasmtime::StoreContextMut<'_, HostState> {
    fn charge_setup(&mut self, input_len: usize) -> Result<(), wasmtime::Error> {
        let cost = gas::INVOKE.of(input_len);
        let left = self.get_fuel()?;
        if left < cost {
            self.set_fuel(0)?;
            return Err(wasmtime::Error::new(HostTrap::OutOfGas));
        }
        self.set_fuel(left - cost)
    }
}

// ---- the host functions ----

type C<'a> = Caller<'a, HostState>;
type R<T> = Result<T, wasmtime::Error>;

/// Links every function of the ABI. The names come from `jjj_abi::names`; a test checks the
/// linker defines exactly `jjj_abi::HOST_FUNCTIONS`.
pub fn define(linker: &mut Linker<HostState>) -> R<()> {
    let m = jjj_abi::HOST_MODULE;

    linker.func_wrap(m, names::input, |mut c: C<'_>, out_ptr: u32, out_cap: u32| -> R<u32> {
        let input = c.data().frame()?.input.clone();
        charge_cost(&mut c, gas::INPUT, input.len().min(out_cap as usize))?;
        write_out(&mut c, out_ptr, out_cap, &input)
    })?;

    linker.func_wrap(m, names::set_output, |mut c: C<'_>, ptr: u32, len: u32| -> R<()> {
        bounded("output", len, MAX_OUTPUT_LEN)?;
        charge_cost(&mut c, gas::SET_OUTPUT, len as usize)?;
        let data = read(&mut c, ptr, len)?;
        c.data_mut().frame_mut()?.output = data;
        Ok(())
    })?;

    linker.func_wrap(m, names::revert, |mut c: C<'_>, ptr: u32, len: u32| -> R<()> {
        // An over-long message is cut, not refused: the revert is what matters.
        let len = len.min(MAX_OUTPUT_LEN);
        charge_cost(&mut c, gas::REVERT, len as usize)?;
        let msg = read(&mut c, ptr, len)?;
        Err(wasmtime::Error::new(HostTrap::Revert(String::from_utf8_lossy(&msg).into_owned())))
    })?;

    linker.func_wrap(
        m,
        names::storage_get,
        |mut c: C<'_>, key_ptr: u32, key_len: u32, out_ptr: u32, out_cap: u32| -> R<u32> {
            charge_cost(&mut c, gas::STORAGE_GET, key_len as usize)?;
            let key = storage_key(&mut c, key_ptr, key_len)?;
            match c.data().overlay.get(&key).map_err(state_err)? {
                None => Ok(NOT_FOUND),
                Some(v) => {
                    charge(&mut c, gas::STORAGE_GET.per_byte.saturating_mul(v.len() as u64))?;
                    write_out(&mut c, out_ptr, out_cap, &v)
                }
            }
        },
    )?;

    linker.func_wrap(
        m,
        names::storage_set,
        |mut c: C<'_>, key_ptr: u32, key_len: u32, value_ptr: u32, value_len: u32| -> R<()> {
            bounded("storage value", value_len, MAX_STORAGE_VALUE_LEN)?;
            charge_cost(&mut c, gas::STORAGE_SET, key_len as usize + value_len as usize)?;
            let key = storage_key(&mut c, key_ptr, key_len)?;
            let value = read(&mut c, value_ptr, value_len)?;
            c.data_mut().overlay.set(key, value);
            Ok(())
        },
    )?;

    linker.func_wrap(m, names::storage_remove, |mut c: C<'_>, key_ptr: u32, key_len: u32| -> R<()> {
        charge_cost(&mut c, gas::STORAGE_REMOVE, key_len as usize)?;
        let key = storage_key(&mut c, key_ptr, key_len)?;
        c.data_mut().overlay.remove(key);
        Ok(())
    })?;

    linker.func_wrap(m, names::storage_contains, |mut c: C<'_>, key_ptr: u32, key_len: u32| -> R<u32> {
        charge_cost(&mut c, gas::STORAGE_CONTAINS, key_len as usize)?;
        let key = storage_key(&mut c, key_ptr, key_len)?;
        Ok(u32::from(c.data().overlay.get(&key).map_err(state_err)?.is_some()))
    })?;

    linker.func_wrap(m, names::caller, |mut c: C<'_>, out_ptr: u32| -> R<()> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        let who = c.data().frame()?.caller;
        write(&mut c, out_ptr, &who.0)
    })?;

    linker.func_wrap(m, names::self_address, |mut c: C<'_>, out_ptr: u32| -> R<()> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        let who = c.data().frame()?.address;
        write(&mut c, out_ptr, &who.0)
    })?;

    linker.func_wrap(m, names::value_transferred, |mut c: C<'_>| -> R<u64> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        Ok(c.data().frame()?.value)
    })?;

    linker.func_wrap(m, names::balance, |mut c: C<'_>, account_ptr: u32| -> R<u64> {
        charge_cost(&mut c, gas::BALANCE, 0)?;
        let who = AccountId(read_array::<32>(&mut c, account_ptr)?);
        Ok(load_account(&c.data().overlay, &who).map_err(state_err)?.balance)
    })?;

    linker.func_wrap(m, names::transfer, |mut c: C<'_>, to_ptr: u32, amount: u64| -> R<u32> {
        charge_cost(&mut c, gas::TRANSFER, 0)?;
        let to = AccountId(read_array::<32>(&mut c, to_ptr)?);
        let from = c.data().frame()?.address;
        let ok = move_balance(&mut c.data_mut().overlay, &from, &to, amount).map_err(state_err)?;
        Ok(if ok { ReturnCode::Success } else { ReturnCode::InsufficientBalance } as u32)
    })?;

    linker.func_wrap(m, names::block_height, |mut c: C<'_>| -> R<u64> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        Ok(c.data().ctx.height)
    })?;

    linker.func_wrap(m, names::block_time, |mut c: C<'_>| -> R<u64> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        Ok(c.data().ctx.timestamp)
    })?;

    linker.func_wrap(
        m,
        names::emit_event,
        |mut c: C<'_>, topics_ptr: u32, topics_count: u32, data_ptr: u32, data_len: u32| -> R<()> {
            if topics_count > MAX_EVENT_TOPICS {
                return Err(failed(format!(
                    "an event has at most {MAX_EVENT_TOPICS} topics, the contract gave {topics_count}"
                )));
            }
            bounded("event data", data_len, MAX_EVENT_DATA_LEN)?;
            if c.data().events.len() >= MAX_EVENTS_PER_TX as usize {
                return Err(failed(format!("a transaction emits at most {MAX_EVENTS_PER_TX} events")));
            }
            charge_cost(&mut c, gas::EMIT_EVENT, topics_count as usize * 32 + data_len as usize)?;
            let raw = read(&mut c, topics_ptr, topics_count * 32)?;
            let topics = raw.chunks_exact(32).map(|t| Hash(t.try_into().unwrap_or([0; 32]))).collect();
            let data = read(&mut c, data_ptr, data_len)?;
            let contract = c.data().frame()?.address;
            c.data_mut().events.push(Event { contract, topics, data });
            Ok(())
        },
    )?;

    linker.func_wrap(
        m,
        names::call_contract,
        |mut c: C<'_>, address_ptr: u32, input_ptr: u32, input_len: u32, value: u64, gas_limit: u64| -> R<u32> {
            bounded("call input", input_len, MAX_INPUT_LEN)?;
            charge_cost(&mut c, gas::CALL_CONTRACT, input_len as usize)?;
            let target = AccountId(read_array::<32>(&mut c, address_ptr)?);
            let input = read(&mut c, input_ptr, input_len)?;
            let me = c.data().frame()?.address;
            let refuse = |c: &mut C<'_>, code: ReturnCode| -> R<u32> {
                c.data_mut().frame_mut()?.return_data = code.describe().as_bytes().to_vec();
                Ok(code as u32)
            };
            if c.data().frames.len() >= MAX_CALL_DEPTH as usize {
                return refuse(&mut c, ReturnCode::CallDepthExceeded);
            }
            let Some(info) = load_contract(&c.data().overlay, &target).map_err(state_err)? else {
                return refuse(&mut c, ReturnCode::NotAContract);
            };
            if c.data().frames.iter().any(|f| f.address == target) {
                let st = c.data();
                let reentrant = st.sandbox.code_info(&st.overlay, &info.code_hash).ok().flatten().map(|i| i.reentrant);
                if reentrant != Some(true) {
                    return refuse(&mut c, ReturnCode::ReentrancyDenied);
                }
            }
            if load_account(&c.data().overlay, &me).map_err(state_err)?.balance < value {
                return refuse(&mut c, ReturnCode::InsufficientBalance);
            }
            let (end, _used) = invoke(&mut c, Entry::Call, target, me, value, input, gas_limit);
            if c.data().aborted {
                return Err(wasmtime::Error::new(Trap::Interrupt));
            }
            let (code, data) = match end {
                FrameEnd::Success(out) => (ReturnCode::Success, out),
                FrameEnd::Reverted(m) => (ReturnCode::CalleeReverted, m.into_bytes()),
                FrameEnd::Failed(m) => (ReturnCode::CalleeFailed, m.into_bytes()),
            };
            c.data_mut().frame_mut()?.return_data = data;
            Ok(code as u32)
        },
    )?;

    linker.func_wrap(m, names::return_data, |mut c: C<'_>, out_ptr: u32, out_cap: u32| -> R<u32> {
        let data = c.data().frame()?.return_data.clone();
        charge_cost(&mut c, gas::RETURN_DATA, data.len().min(out_cap as usize))?;
        write_out(&mut c, out_ptr, out_cap, &data)
    })?;

    linker.func_wrap(m, names::hash_blake2_256, |mut c: C<'_>, ptr: u32, len: u32, out_ptr: u32| -> R<()> {
        bounded("hash input", len, MAX_CRYPTO_INPUT_LEN)?;
        charge_cost(&mut c, gas::HASH_BLAKE2_256, len as usize)?;
        let data = read(&mut c, ptr, len)?;
        write(&mut c, out_ptr, &crate::crypto::blake2_256(&data).0)
    })?;

    linker.func_wrap(m, names::hash_sha256, |mut c: C<'_>, ptr: u32, len: u32, out_ptr: u32| -> R<()> {
        bounded("hash input", len, MAX_CRYPTO_INPUT_LEN)?;
        charge_cost(&mut c, gas::HASH_SHA256, len as usize)?;
        let data = read(&mut c, ptr, len)?;
        write(&mut c, out_ptr, &crate::crypto::sha256(&data))
    })?;

    linker.func_wrap(
        m,
        names::ed25519_verify,
        |mut c: C<'_>, signature_ptr: u32, public_key_ptr: u32, msg_ptr: u32, msg_len: u32| -> R<u32> {
            bounded("signed message", msg_len, MAX_CRYPTO_INPUT_LEN)?;
            charge_cost(&mut c, gas::ED25519_VERIFY, msg_len as usize)?;
            let sig = read_array::<64>(&mut c, signature_ptr)?;
            let key = AccountId(read_array::<32>(&mut c, public_key_ptr)?);
            let msg = read(&mut c, msg_ptr, msg_len)?;
            Ok(u32::from(crate::crypto::ed25519_verify(&key, &msg, &sig)))
        },
    )?;

    linker.func_wrap(m, names::debug_message, |mut c: C<'_>, ptr: u32, len: u32| -> R<()> {
        charge_cost(&mut c, gas::DEBUG_MESSAGE, len as usize)?;
        let st = c.data();
        if st.debug.is_none() || st.debug_bytes + len as usize > MAX_DEBUG_BUFFER_LEN as usize {
            return Ok(());
        }
        let msg = read(&mut c, ptr, len)?;
        let st = c.data_mut();
        st.debug_bytes += msg.len();
        if let Some(d) = st.debug.as_mut() {
            d.push(String::from_utf8_lossy(&msg).into_owned());
        }
        Ok(())
    })?;

    linker.func_wrap(m, names::gas_left, |mut c: C<'_>| -> R<u64> {
        charge_cost(&mut c, gas::ENV_READ, 0)?;
        c.get_fuel()
    })?;

    Ok(())
}
