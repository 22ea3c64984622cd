//! The wasmtime sandbox: a deterministic engine, upload-time validation, a compiled-module
//! cache, and the host functions of the jjj ABI.
pub mod host;
pub mod limits;
pub mod validate;

use crate::state::{decode_record, keys, CodeInfo, Overlay};
use crate::types::Hash;
use host::HostState;
use limits::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use validate::{ModuleSummary, ValidationError};
use wasmtime::{Config, Engine, InstancePre, Linker, Module, OptLevel, PoolingAllocationConfig};

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("engine setup: {0}")]
    Setup(String),
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("code {0} is not uploaded")]
    NoCode(Hash),
    #[error("state: {0}")]
    State(String),
}

/// The engine configuration. Every choice here is a consensus rule: two nodes must execute the
/// same code to the same result and the same gas.
fn engine_config() -> Config {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(POOLED_INSTANCES)
        .total_memories(POOLED_INSTANCES)
        .total_tables(POOLED_INSTANCES)
        .max_memories_per_module(1)
        .max_tables_per_module(MAX_TABLES)
        .table_elements(MAX_TABLE_ELEMENTS as usize)
        .max_memory_size(MAX_MEMORY_BYTES);

    // Threads, GC, exceptions and function references are off: wasmtime is built without those features.
    let mut c = Config::new();
    c.consume_fuel(true)
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

pub(crate) struct SandboxInner {
    pub engine: Engine,
    pub linker: Linker<HostState>,
    cache: Mutex<HashMap<Hash, InstancePre<HostState>>>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for SandboxInner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// A compiled, validated module ready to instantiate.
pub struct Compiled {
    pub pre: InstancePre<HostState>,
    pub summary: ModuleSummary,
}

/// The sandbox: cheap to clone, shared by every execution of a node.
#[derive(Clone)]
pub struct Sandbox {
    pub(crate) inner: Arc<SandboxInner>,
}

impl Sandbox {
    pub fn new() -> Result<Self, SandboxError> {
        let engine = Engine::new(&engine_config()).map_err(|e| SandboxError::Setup(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        host::define(&mut linker).map_err(|e| SandboxError::Setup(format!("{e:#}")))?;
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
            .map_err(|e| SandboxError::Setup(format!("epoch thread: {e}")))?;
        Ok(Sandbox { inner: Arc::new(SandboxInner { engine, linker, cache: Mutex::new(HashMap::new()), stop_ticker }) })
    }

    /// Validates and compiles code; the result is what `UploadCode` stores.
    pub fn compile(&self, code: &[u8]) -> Result<Compiled, SandboxError> {
        self.inner.compile(code)
    }

    /// Compiles and caches code under its hash (after an upload, or to warm a cache).
    pub fn insert(&self, hash: Hash, compiled: &Compiled) {
        self.inner.insert(hash, compiled.pre.clone())
    }

    /// How many modules are compiled and cached.
    pub fn cached_modules(&self) -> usize {
        self.inner.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Forgets every compiled module (benchmarks use it to measure cold starts).
    pub fn clear_cache(&self) {
        if let Ok(mut c) = self.inner.cache.lock() {
            c.clear()
        }
    }
}

impl SandboxInner {
    fn compile(&self, code: &[u8]) -> Result<Compiled, SandboxError> {
        validate::check_structure(code)?;
        let module = Module::new(&self.engine, code).map_err(|e| ValidationError::Invalid(root_cause(&e)))?;
        let summary = validate::check_interface(&module)?;
        let pre = self.linker.instantiate_pre(&module).map_err(|e| ValidationError::Invalid(format!("{e:#}")))?;
        Ok(Compiled { pre, summary })
    }

    fn insert(&self, hash: Hash, pre: InstancePre<HostState>) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MODULE_CACHE_CAPACITY {
                // Evict an arbitrary entry; a miss costs one compile, never a wrong result.
                if let Some(k) = cache.keys().next().copied() {
                    cache.remove(&k);
                }
            }
            cache.insert(hash, pre);
        }
    }

    /// The ready-to-instantiate module for a code hash: from the cache, or compiled from state.
    pub fn instance_pre(&self, overlay: &Overlay, hash: &Hash) -> Result<InstancePre<HostState>, SandboxError> {
        if let Some(pre) = self.cache.lock().ok().and_then(|c| c.get(hash).cloned()) {
            return Ok(pre);
        }
        let code = overlay
            .get(&keys::code(hash))
            .map_err(|e| SandboxError::State(e.to_string()))?
            .ok_or(SandboxError::NoCode(*hash))?;
        let compiled = self.compile(&code)?;
        self.insert(*hash, compiled.pre.clone());
        Ok(compiled.pre)
    }

    pub fn code_info(&self, overlay: &Overlay, hash: &Hash) -> Result<Option<CodeInfo>, SandboxError> {
        let key = keys::code_info(hash);
        match overlay.get(&key).map_err(|e| SandboxError::State(e.to_string()))? {
            Some(bytes) => decode_record(&key, &bytes).map(Some).map_err(|e| SandboxError::State(e.to_string())),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linker_defines_exactly_the_abi() {
        let sandbox = Sandbox::new().expect("sandbox");
        let ctx = crate::types::BlockContext {
            network: crate::types::NetworkId::new("t").expect("id"),
            height: 0,
            timestamp: 0,
        };
        let state = HostState::new(sandbox.inner.clone(), Overlay::default(), ctx, false);
        let mut store = wasmtime::Store::new(&sandbox.inner.engine, state);
        let defined: Vec<String> = sandbox.inner.linker.iter(&mut store).map(|(m, n, _)| format!("{m}::{n}")).collect();
        for f in jjj_abi::HOST_FUNCTIONS {
            assert!(defined.contains(&format!("jjj::{}", f.name)), "{} is in the ABI but not linked", f.name);
        }
        assert_eq!(defined.len(), jjj_abi::HOST_FUNCTIONS.len(), "linked: {defined:?}");
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
