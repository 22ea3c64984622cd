//! jjj-vm: the wasm sandbox. A deterministic wasmtime engine, upload-time validation, a
//! compiled-module cache, the gas schedule and the host functions of the jjj ABI.
//!
//! The VM sees the chain only through [`Host`] (storage, balances, contract lookup, code,
//! checkpoints), the way cosmwasm-vm's `Backend` and nearcore's `External` keep their VMs
//! ignorant of the chain: `jjj_executive` implements it over the state overlay.
// Input from outside the process must never panic this crate: no unwrap/expect/panic! outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
pub mod frame;
pub mod host;
mod imports;
pub mod limits;
pub mod trace;
pub mod validate;

pub use frame::{Entry, ExecutionState, FrameEnd};
pub use host::{ContractCode, Host, HostError};
pub use trace::TraceStep;
// What `Host::verify_receipt` answers, in the ABI's own types.
pub use jjj_abi::{ProvenCall, ProvenEvent, ProvenReceipt};

use jjj_primitives::{AccountId, BlockContext, Event, Hash};
use limits::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use validate::{ModuleSummary, ValidationError};
use wasmtime::{Config, Engine, InstancePre, Linker, Module, OptLevel, PoolingAllocationConfig, Store};

#[derive(Debug, thiserror::Error)]
pub enum VmError {
    #[error("engine setup: {0}")]
    Setup(String),
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("code {0} is not uploaded")]
    NoCode(Hash),
    #[error("state: {0}")]
    State(String),
}

/// What may differ between two VMs of one node: local capacity, never a consensus rule. A node
/// runs one VM for blocks and may run a second, smaller one for RPC dry runs and queries, so a
/// flood of queries cannot take the instances blocks need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmConfig {
    /// Instances the pooling allocator keeps ready, across concurrent executions. An execution
    /// that finds none free is aborted, never failed.
    pub pooled_instances: u32,
    /// Compiled modules kept in memory.
    pub module_cache_capacity: usize,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig { pooled_instances: POOLED_INSTANCES, module_cache_capacity: MODULE_CACHE_CAPACITY }
    }
}

/// The engine configuration. Every choice here but the pool's size is a consensus rule: two
/// nodes must execute the same code to the same result and the same gas.
fn engine_config(config: &VmConfig) -> Config {
    let instances = config.pooled_instances.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(instances)
        .total_memories(instances)
        .total_tables(instances)
        .max_memories_per_module(1)
        .max_tables_per_module(MAX_TABLES)
        .table_elements(MAX_TABLE_ELEMENTS as usize)
        .max_memory_size(MAX_MEMORY_BYTES)
        .linear_memory_keep_resident(limits::KEEP_RESIDENT_MEMORY_BYTES)
        .table_keep_resident(limits::KEEP_RESIDENT_TABLE_BYTES);

    // Threads, GC, exceptions and function references are off: wasmtime is built without those features.
    let mut c = Config::new();
    c.consume_fuel(true)
        .operator_cost(operator_costs())
        .epoch_interruption(true)
        .cranelift_nan_canonicalization(true)
        .cranelift_opt_level(OptLevel::Speed)
        .max_wasm_stack(MAX_WASM_STACK)
        .wasm_shared_everything_threads(false)
        .wasm_relaxed_simd(false)
        .wasm_simd(false)
        .wasm_memory64(false)
        .wasm_multi_memory(false)
        .wasm_tail_call(false)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false)
        .wasm_stack_switching(false)
        // What rustc emits for wasm32-unknown-unknown by default (reference-types encodings stay
        // on without the gc feature); all deterministic.
        .wasm_bulk_memory(true)
        .allocation_strategy(pool);
    c
}

pub(crate) struct VmInner<H: Host> {
    pub engine: Engine,
    pub linker: Linker<ExecutionState<H>>,
    cache: Mutex<HashMap<Hash, InstancePre<ExecutionState<H>>>>,
    cache_capacity: usize,
    stop_ticker: Arc<AtomicBool>,
}

impl<H: Host> Drop for VmInner<H> {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// A compiled, validated module ready to instantiate.
pub struct Compiled<H: Host> {
    pub pre: InstancePre<ExecutionState<H>>,
    pub summary: ModuleSummary,
}

/// One top-level contract call to run.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub ctx: BlockContext,
    pub entry: Entry,
    pub address: AccountId,
    pub caller: AccountId,
    pub value: u64,
    pub input: Vec<u8>,
    /// Gas for the whole call tree.
    pub gas_limit: u64,
    /// Keep the contract's debug messages (dry runs).
    pub debug: bool,
    /// Keep the host-call log ([`TraceStep`]s): an auditor's re-execution.
    pub trace: bool,
    /// A query: storage writes, transfers and value-carrying calls are refused.
    pub read_only: bool,
    /// Whether protected messages may run (`protected_read`).
    pub reads: ReadAccess,
}

pub use jjj_abi::PROTECTED_READ_REFUSAL;

/// Who may read protected data in one execution: what the host function `protected_read`,
/// which every `#[message(query, protected)]` calls first, checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadAccess {
    /// The caller signed: a transaction's sender, or the reader of a verified read request.
    Signed,
    /// A query or dry run that no reader signed for: a protected message fails.
    Anonymous,
}

/// What running an [`Invocation`] gave: the host back (with the writes of the frames that
/// succeeded), how the call ended, the gas it used, its events and debug lines.
pub struct Outcome<H> {
    pub host: H,
    pub end: FrameEnd,
    pub gas_used: u64,
    pub events: Vec<Event>,
    pub debug: Vec<String>,
    /// The host-call log, when the invocation asked for one.
    pub trace: Vec<TraceStep>,
    /// A local resource error (the wall-clock backstop, an exhausted instance pool) cut the
    /// execution short: the result is void and must not decide anything.
    pub aborted: bool,
    /// Why, when `aborted`.
    pub abort_reason: Option<String>,
    /// A protected message ran (or was refused): the node logs the read.
    pub protected: bool,
}

/// The VM: cheap to clone, shared by every execution of a node.
pub struct Vm<H: Host> {
    pub(crate) inner: Arc<VmInner<H>>,
}

impl<H: Host> Clone for Vm<H> {
    fn clone(&self) -> Self {
        Vm { inner: self.inner.clone() }
    }
}

impl<H: Host> Vm<H> {
    pub fn new() -> Result<Self, VmError> {
        Self::with_config(VmConfig::default())
    }

    /// A VM with its own engine, instance pool and module cache.
    pub fn with_config(config: VmConfig) -> Result<Self, VmError> {
        let engine = Engine::new(&engine_config(&config)).map_err(|e| VmError::Setup(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        imports::define(&mut linker).map_err(|e| VmError::Setup(format!("{e:#}")))?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (ticking_engine, stop) = (engine.clone(), stop_ticker.clone());
        std::thread::Builder::new()
            .name("jjj-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(EPOCH_TICK_MS));
                    ticking_engine.increment_epoch();
                }
            })
            .map_err(|e| VmError::Setup(format!("epoch thread: {e}")))?;
        Ok(Vm {
            inner: Arc::new(VmInner {
                engine,
                linker,
                cache: Mutex::new(HashMap::new()),
                cache_capacity: config.module_cache_capacity.max(1),
                stop_ticker,
            }),
        })
    }

    /// Validates and compiles code; the result is what `UploadCode` stores.
    pub fn compile(&self, code: &[u8]) -> Result<Compiled<H>, VmError> {
        self.inner.compile(code)
    }

    /// Caches a compiled module under its code hash (after an upload, or to warm a cache).
    pub fn insert(&self, hash: Hash, compiled: &Compiled<H>) {
        self.inner.insert(hash, compiled.pre.clone())
    }

    /// How many modules are compiled and cached.
    pub fn cached_modules(&self) -> usize {
        self.inner.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Every host function the linker defines, as `module::name` (a test checks it is the ABI).
    pub fn linked_functions(&self) -> Result<Vec<String>, VmError>
    where
        H: Default,
    {
        let network = jjj_primitives::NetworkId::new("probe").map_err(VmError::Setup)?;
        let ctx = BlockContext { network, height: 0, timestamp: 0 };
        let probe = ExecutionState::new(self.inner.clone(), H::default(), ctx, false, false);
        let mut store = Store::new(&self.inner.engine, probe);
        Ok(self.inner.linker.iter(&mut store).map(|(module, name, _)| format!("{module}::{name}")).collect())
    }

    /// Forgets every compiled module (benchmarks use it to measure cold starts).
    pub fn clear_cache(&self) {
        if let Ok(mut c) = self.inner.cache.lock() {
            c.clear()
        }
    }

    /// Runs one contract call (and every call it makes) over `host` under the engine's limits
    /// and the wall-clock backstop, and gives the host back.
    pub fn execute(&self, host: H, call: Invocation) -> Outcome<H> {
        let mut state = ExecutionState::new(self.inner.clone(), host, call.ctx, call.debug, call.read_only);
        state.reads = call.reads;
        state.trace = call.trace.then(trace::Trace::default);
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(EPOCH_DEADLINE_TICKS);
        let (end, gas_used) = match store.set_fuel(call.gas_limit) {
            Ok(()) => frame::invoke(&mut store, call.entry, call.address, call.caller, call.value, call.input, 0),
            Err(e) => (FrameEnd::Failed(format!("fuel: {e}")), 0),
        };
        let state = store.into_data();
        Outcome {
            host: state.host,
            end,
            gas_used,
            events: state.events,
            debug: state.debug.unwrap_or_default(),
            trace: state.trace.map(|t| t.steps).unwrap_or_default(),
            aborted: state.aborted,
            abort_reason: state.abort_reason,
            protected: state.protected,
        }
    }
}

impl<H: Host> VmInner<H> {
    fn compile(&self, code: &[u8]) -> Result<Compiled<H>, VmError> {
        validate::check_structure(code)?;
        let module = Module::new(&self.engine, code).map_err(|e| ValidationError::Invalid(root_cause(&e)))?;
        let summary = validate::check_interface(&module)?;
        let pre = self.linker.instantiate_pre(&module).map_err(|e| ValidationError::Invalid(format!("{e:#}")))?;
        Ok(Compiled { pre, summary })
    }

    fn insert(&self, hash: Hash, pre: InstancePre<ExecutionState<H>>) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= self.cache_capacity {
                // Evict an arbitrary entry; a miss costs one compile, never a wrong result.
                if let Some(k) = cache.keys().next().copied() {
                    cache.remove(&k);
                }
            }
            cache.insert(hash, pre);
        }
    }

    /// The ready-to-instantiate module for a code hash: from the cache, or compiled from the
    /// code the host holds.
    pub fn instance_pre(&self, host: &H, hash: &Hash) -> Result<InstancePre<ExecutionState<H>>, VmError> {
        if let Some(pre) = self.cache.lock().ok().and_then(|c| c.get(hash).cloned()) {
            return Ok(pre);
        }
        let code = host.code(hash).map_err(|e| VmError::State(e.to_string()))?.ok_or(VmError::NoCode(*hash))?;
        let compiled = self.compile(&code)?;
        self.insert(*hash, compiled.pre.clone());
        Ok(compiled.pre)
    }
}

/// wasmtime's validation errors nest; the innermost says what is wrong.
fn root_cause(e: &wasmtime::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        msg = format!("{msg}: {cause}");
    }
    msg
}
