//! Running contract frames: the state one execution carries through wasmtime, and [`invoke`],
//! which runs one frame (the transaction's own call and every nested `call_contract`) with its
//! own checkpoint, value transfer and gas budget.
use crate::host::Host;
use crate::limits::{gas, MAX_INSTANCES_PER_TX, MAX_MEMORY_BYTES, MAX_TABLE_ELEMENTS, WASM_PAGE_BYTES};
use crate::trace::TraceStep;
use crate::{ReadAccess, VmInner};
use jjj_primitives::{AccountId, BlockContext, Event};
use std::sync::Arc;
use wasmtime::{
    AsContextMut, Instance, InstancePre, Memory, ResourceLimiter, StoreContextMut, StoreLimits, StoreLimitsBuilder,
    Trap,
};

/// The store's resource limiter: the engine's limits, and a count of the linear-memory pages
/// instances were given (initial and grown) that gas has not yet been charged for. The limiter
/// cannot reach the fuel, so the pages are charged at the next host call or frame end.
pub struct Limiter {
    limits: StoreLimits,
    pub(crate) unpaid_pages: u64,
    /// A memory growth the limits allowed failed anyway: the OS could not give the memory.
    pub(crate) memory_failure: Option<String>,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            let pages = desired.saturating_sub(current) / WASM_PAGE_BYTES;
            self.unpaid_pages = self.unpaid_pages.saturating_add(pages as u64);
        }
        Ok(allowed)
    }
    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        // `memory_growing` (through `StoreLimits`) refuses every growth past the module's
        // maximum or the engine's limit, so a growth it allowed fails only for want of memory
        // on this node: that must not become the contract's `-1`. Trap, and abort the call.
        self.memory_failure.get_or_insert_with(|| format!("this node could not grow a contract's memory: {error}"));
        Err(error)
    }
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
    fn instances(&self) -> usize {
        self.limits.instances()
    }
    fn tables(&self) -> usize {
        self.limits.tables()
    }
    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// Charges the memory pages given out since the last charge. Out of gas leaves no fuel.
pub(crate) fn charge_memory_pages<H: Host>(
    mut ctx: impl AsContextMut<Data = ExecutionState<H>>,
) -> Result<(), wasmtime::Error> {
    let mut store = ctx.as_context_mut();
    let pages = std::mem::take(&mut store.data_mut().limits.unpaid_pages);
    if pages == 0 {
        return Ok(());
    }
    let cost = gas::MEMORY_PAGE.saturating_mul(pages);
    let left = store.get_fuel()?;
    if left < cost {
        store.set_fuel(0)?;
        return Err(wasmtime::Error::new(HostTrap::OutOfGas));
    }
    store.set_fuel(left - cost)
}

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

/// Everything one execution owns while wasm runs: the host, the frames, the events.
pub struct ExecutionState<H: Host> {
    pub host: H,
    pub ctx: BlockContext,
    pub frames: Vec<Frame>,
    pub events: Vec<Event>,
    /// Debug lines; `Some` only in dry runs.
    pub debug: Option<Vec<String>>,
    pub(crate) debug_bytes: usize,
    /// A query: storage writes and transfers are refused.
    pub read_only: bool,
    /// The host-call log; `Some` only when traced.
    pub trace: Option<crate::trace::Trace>,
    /// Whether protected messages may run.
    pub reads: ReadAccess,
    /// A protected message ran or was refused.
    pub protected: bool,
    /// The execution was cut short by this node's resources (the wall-clock backstop, an
    /// exhausted instance pool): the whole execution is void and must decide nothing.
    pub aborted: bool,
    /// Why `aborted` is set: the first resource error met.
    pub abort_reason: Option<String>,
    /// Instances created so far; counted here so the per-transaction limit is a contract
    /// failure with its own message, never confused with the pool running dry.
    pub(crate) instances: usize,
    pub limits: Limiter,
    pub(crate) vm: Arc<VmInner<H>>,
}

impl<H: Host> ExecutionState<H> {
    pub(crate) fn new(vm: Arc<VmInner<H>>, host: H, ctx: BlockContext, debug: bool, read_only: bool) -> Self {
        ExecutionState {
            host,
            ctx,
            frames: Vec::new(),
            events: Vec::new(),
            debug: debug.then(Vec::new),
            debug_bytes: 0,
            read_only,
            trace: None,
            // The safe side until the invocation says who signed.
            reads: ReadAccess::Anonymous,
            protected: false,
            aborted: false,
            abort_reason: None,
            instances: 0,
            limits: Limiter {
                limits: StoreLimitsBuilder::new()
                    .memory_size(MAX_MEMORY_BYTES)
                    .table_elements(MAX_TABLE_ELEMENTS as usize)
                    .instances(MAX_INSTANCES_PER_TX)
                    .memories(MAX_INSTANCES_PER_TX)
                    .tables(MAX_INSTANCES_PER_TX)
                    .build(),
                unpaid_pages: 0,
                memory_failure: None,
            },
            vm,
        }
    }

    /// Marks the execution void because of a local resource error; the first reason wins.
    pub(crate) fn abort(&mut self, reason: String) {
        self.aborted = true;
        self.abort_reason.get_or_insert(reason);
    }

    /// Records a step when traced; `step` is only built then.
    pub(crate) fn trace(&mut self, step: impl FnOnce(usize) -> crate::trace::TraceStep) {
        let depth = self.frames.len().saturating_sub(1);
        if let Some(t) = self.trace.as_mut() {
            t.push(step(depth));
        }
    }

    pub(crate) fn frame(&self) -> Result<&Frame, wasmtime::Error> {
        self.frames.last().ok_or_else(|| failed("host function called outside a contract frame"))
    }

    pub(crate) fn frame_mut(&mut self) -> Result<&mut Frame, wasmtime::Error> {
        self.frames.last_mut().ok_or_else(|| failed("host function called outside a contract frame"))
    }
}

pub(crate) fn failed(msg: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap::Failed(msg.into()))
}

/// Classifies the error a frame's wasm call ended with.
pub fn classify<H: Host>(e: &wasmtime::Error, state: &mut ExecutionState<H>) -> FrameEnd {
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
                // Also how a nested call's abort unwinds its callers: the first reason is kept.
                state.abort("execution exceeded the wall-clock backstop".into());
                "execution aborted".into()
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
pub fn invoke<H: Host>(
    mut ctx: impl AsContextMut<Data = ExecutionState<H>>,
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
    store.data_mut().host.checkpoint();
    if store.data().trace.is_some() {
        let depth = store.data().frames.len();
        let step = TraceStep::Call { depth, contract: address, caller, value, input: input.clone(), gas_left: budget };
        if let Some(t) = store.data_mut().trace.as_mut() {
            t.push(step);
        }
    }

    let mut end = run_frame(&mut store, entry, address, caller, value, input);
    if let Some(reason) = store.data_mut().limits.memory_failure.take() {
        tracing::warn!("execution aborted: {reason}");
        store.data_mut().abort(reason);
    }
    // Pages this frame's instance got and no host call has paid for yet.
    if charge_memory_pages(&mut store).is_err() && matches!(end, FrameEnd::Success(_)) {
        end = FrameEnd::Failed("out of gas".into());
    }

    let left = store.get_fuel().unwrap_or(0);
    let used = budget.saturating_sub(left);
    let _ = store.set_fuel(before.saturating_sub(used));
    let state = store.data_mut();
    if let Some(t) = state.trace.as_mut() {
        let result = match &end {
            FrameEnd::Success(out) => Ok(out.clone()),
            FrameEnd::Reverted(m) => Err(format!("reverted: {m}")),
            FrameEnd::Failed(m) => Err(format!("failed: {m}")),
        };
        t.push(TraceStep::Return { depth: state.frames.len(), contract: address, end: result, gas_used: used });
    }
    match &end {
        FrameEnd::Success(_) => state.host.commit_checkpoint(),
        _ => {
            state.host.revert_checkpoint();
            state.events.truncate(events_before);
        }
    }
    (end, used)
}

fn run_frame<H: Host>(
    store: &mut StoreContextMut<'_, ExecutionState<H>>,
    entry: Entry,
    address: AccountId,
    caller: AccountId,
    value: u64,
    input: Vec<u8>,
) -> FrameEnd {
    let setup = (|| -> Result<_, String> {
        let state = store.data_mut();
        let code = state
            .host
            .contract(&address)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no contract at {address}"))?;
        let pre = state.vm.clone().instance_pre(&state.host, &code.code_hash).map_err(|e| e.to_string())?;
        if value > 0 && state.read_only {
            return Err(read_only_refusal("send value"));
        }
        if !state.host.transfer(&caller, &address, value).map_err(|e| e.to_string())? {
            return Err(format!("insufficient balance: {caller} cannot send {value} fen"));
        }
        Ok(pre)
    })();
    let pre = match setup {
        Ok(p) => p,
        Err(m) => return FrameEnd::Failed(m),
    };
    if let Err(e) = charge_setup(store, input.len()) {
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
        let instance = instantiate(store, &pre)?;
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

/// Instantiates a frame's module. The per-transaction instance limit is the contract's doing
/// (a failure); any other refusal to instantiate a validated module (the pool has no free slot,
/// the OS has no memory) is this node's load and aborts the whole execution.
fn instantiate<H: Host>(
    store: &mut StoreContextMut<'_, ExecutionState<H>>,
    pre: &InstancePre<ExecutionState<H>>,
) -> Result<Instance, wasmtime::Error> {
    let state = store.data_mut();
    if state.instances >= MAX_INSTANCES_PER_TX {
        return Err(failed(format!("a transaction creates at most {MAX_INSTANCES_PER_TX} contract instances")));
    }
    state.instances += 1;
    match pre.instantiate(&mut *store) {
        Ok(instance) => Ok(instance),
        // A trap while initialising (a segment out of bounds) is deterministic.
        Err(e) if e.downcast_ref::<Trap>().is_some() => Err(e),
        Err(e) => {
            let reason = format!("cannot instantiate a contract on this node: {}", crate::root_cause(&e));
            tracing::warn!("execution aborted: {reason}");
            store.data_mut().abort(reason);
            Err(wasmtime::Error::new(Trap::Interrupt))
        }
    }
}

/// The reason a query gets for trying to change state.
pub(crate) fn read_only_refusal(what: &str) -> String {
    format!("a query cannot {what}: call this message in a transaction (queries are read-only)")
}

fn charge_setup<H: Host>(
    store: &mut StoreContextMut<'_, ExecutionState<H>>,
    input_len: usize,
) -> Result<(), wasmtime::Error> {
    let cost = gas::INVOKE.of(input_len);
    let left = store.get_fuel()?;
    if left < cost {
        store.set_fuel(0)?;
        return Err(wasmtime::Error::new(HostTrap::OutOfGas));
    }
    store.set_fuel(left - cost)
}
