//! Every limit of the sandbox and the gas schedule, named in one place.
//! ARCHITECTURE.md shows these as a table; keep the two in step.
use jjj_abi::names as host;

/// Largest wasm code accepted by `UploadCode` (a protocol parameter, defined with the others).
pub use jjj_primitives::params::MAX_CODE_SIZE;
/// Most functions (imported and defined) in a module.
pub const MAX_FUNCTIONS: u32 = 4096;
/// Most locals in one function.
pub const MAX_LOCALS_PER_FUNCTION: u32 = 1024;
/// Most globals in a module.
pub const MAX_GLOBALS: u32 = 256;
/// Most tables in a module (call_indirect needs one).
pub const MAX_TABLES: u32 = 1;
/// Most elements of a table, initial or grown.
pub const MAX_TABLE_ELEMENTS: u32 = 4096;
/// Most data and element segments.
pub const MAX_SEGMENTS: u32 = 1024;
/// Largest linear memory of an instance: 64 pages of 64 KiB.
pub const MAX_MEMORY_PAGES: u64 = 64;
pub const MAX_MEMORY_BYTES: usize = MAX_MEMORY_PAGES as usize * WASM_PAGE_BYTES;
/// Native stack the wasm code may use; deeper recursion traps with "call stack exhausted".
pub const MAX_WASM_STACK: usize = 256 * 1024;
/// Most contract instances one transaction may create (each call makes one).
pub const MAX_INSTANCES_PER_TX: usize = 32;
/// Instances the pooling allocator keeps ready, across concurrent executions.
pub const POOLED_INSTANCES: u32 = 256;
/// Modules kept compiled in memory.
pub const MODULE_CACHE_CAPACITY: usize = 128;
/// Bytes of each pooled linear memory reset with `memset` rather than `madvise` when an instance
/// is freed: a contract call's working set stays resident and the next call takes no page faults
/// for it (not a consensus rule: memory reads zero either way). Two Rust contracts' initial
/// memories (stack and data) fit.
pub const KEEP_RESIDENT_MEMORY_BYTES: usize = 2 * 1024 * 1024;
/// The same for each pooled table.
pub const KEEP_RESIDENT_TABLE_BYTES: usize = 64 * 1024;
/// Wall-clock backstop: the engine's epoch ticks every `EPOCH_TICK_MS`; a transaction still
/// running after `EPOCH_DEADLINE_TICKS` is aborted (not failed: its block is not voted for).
/// Fuel ends every honest execution long before.
pub const EPOCH_TICK_MS: u64 = 50;
pub const EPOCH_DEADLINE_TICKS: u64 = 100;

/// Bytes in a wasm page.
pub const WASM_PAGE_BYTES: usize = 65536;

/// Gas of one host function: a base plus a price per byte it touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostCost {
    pub base: u64,
    pub per_byte: u64,
}

impl HostCost {
    const fn new(base: u64, per_byte: u64) -> Self {
        HostCost { base, per_byte }
    }
    pub fn of(&self, bytes: usize) -> u64 {
        self.base.saturating_add(self.per_byte.saturating_mul(bytes as u64))
    }
}

/// Gas outside contract code, and the wasm operators that cost more than the 1 gas (wasmtime
/// fuel) of an ordinary instruction.
pub mod gas {
    use super::HostCost;

    /// Wasm operators priced by what they cost, not 1 each: those that leave compiled code
    /// (libcalls into the runtime, calls) or whose work grows with an operand. Calibrated by
    /// `cargo bench -p jjj-vm --bench gas`, which runs the worst-case loop of each and prints
    /// ns per gas: each stays within 2x of a plain instruction loop. Fuel costs are `u8`.
    pub mod wasm {
        /// `memory.grow`, even when it fails: a call into the runtime and its limiter. The
        /// pages it adds are charged apart, as `gas::MEMORY_PAGE` each.
        pub const MEMORY_GROW: u8 = 200;
        /// `memory.size` reads the runtime's memory definition.
        pub const MEMORY_SIZE: u8 = 4;
        /// `memory.fill`, `memory.copy`, `memory.init`, `data.drop`: a call into the runtime.
        pub const MEMORY_BULK: u8 = 30;
        /// Per byte that `memory.fill`, `memory.copy` or `memory.init` touches.
        pub const MEMORY_BULK_PER_BYTE: u8 = 1;
        /// `table.grow`, `table.fill`, `table.copy`, `table.init`, `elem.drop`: runtime calls.
        pub const TABLE_BULK: u8 = 100;
        /// Per element a table operation touches or asks for.
        pub const TABLE_BULK_PER_ELEMENT: u8 = 2;
        /// `table.get`, `table.set`, `table.size`.
        pub const TABLE_ACCESS: u8 = 4;
        /// `call`: frame setup and the stack check.
        pub const CALL: u8 = 30;
        /// `call_indirect`: a bounds and signature check on top of a call (measured no
        /// slower than `call`).
        pub const CALL_INDIRECT: u8 = 30;
    }

    /// Per 64 KiB page of linear memory an instance gets, initial or grown: the first touch
    /// of each page costs the OS page faults and zeroing. Charged at the next host call or
    /// when the frame ends, whichever comes first.
    pub const MEMORY_PAGE: u64 = 5_000;

    /// Every transaction: base plus per byte of its encoding.
    pub const TX: HostCost = HostCost::new(10_000, 10);
    /// Per signature checked beyond the first (multisig).
    pub const EXTRA_SIGNATURE: u64 = 5_000;
    /// Upload: per byte of code (validation and compilation).
    pub const UPLOAD_CODE: HostCost = HostCost::new(50_000, 100);
    /// Instantiate or call: setting up an instance, plus per byte of input.
    pub const INVOKE: HostCost = HostCost::new(5_000, 2);
    pub const CREATE_MULTISIG: HostCost = HostCost::new(10_000, 100);
    /// A validator's access-log anchor: a set read and one record written.
    pub const ANCHOR_ACCESS_LOG: HostCost = HostCost::new(5_000, 0);
    /// A consortium call (register, suspend, rotate, propose, approve): a handful of record
    /// reads and writes, per byte of the call; each approval signature checked adds
    /// `EXTRA_SIGNATURE`.
    pub const GOVERNANCE: HostCost = HostCost::new(20_000, 20);

    pub const INPUT: HostCost = HostCost::new(100, 1);
    pub const SET_OUTPUT: HostCost = HostCost::new(100, 1);
    pub const REVERT: HostCost = HostCost::new(100, 1);
    /// Per byte of key and of value read.
    pub const STORAGE_GET: HostCost = HostCost::new(1_000, 2);
    /// Per byte of key and of value written.
    pub const STORAGE_SET: HostCost = HostCost::new(3_000, 20);
    pub const STORAGE_REMOVE: HostCost = HostCost::new(2_000, 2);
    pub const STORAGE_CONTAINS: HostCost = HostCost::new(1_000, 2);
    /// Every host call costs at least 100: entering and leaving the host takes as long as
    /// about a hundred plain instructions (see the gas bench).
    pub const ENV_READ: HostCost = HostCost::new(100, 0);
    pub const BALANCE: HostCost = HostCost::new(500, 0);
    /// Two record reads (the registration, its member's status); per byte of the role name.
    pub const HAS_ROLE: HostCost = HostCost::new(2_000, 2);
    /// One record read; per byte of the member id copied out.
    pub const MEMBER_OF: HostCost = HostCost::new(1_000, 1);
    /// Two record reads (the registration, its member).
    pub const MEMBER_REGION: HostCost = HostCost::new(2_000, 0);
    pub const TRANSFER: HostCost = HostCost::new(3_000, 0);
    /// Per topic counts 32 bytes; per byte of data.
    pub const EMIT_EVENT: HostCost = HostCost::new(1_000, 8);
    /// Per byte of input; the callee's own execution is charged as it runs.
    pub const CALL_CONTRACT: HostCost = HostCost::new(10_000, 2);
    pub const RETURN_DATA: HostCost = HostCost::new(100, 1);
    pub const HASH_BLAKE2_256: HostCost = HostCost::new(200, 1);
    pub const HASH_SHA256: HostCost = HostCost::new(200, 2);
    pub const ED25519_VERIFY: HostCost = HostCost::new(30_000, 1);
    /// Decoding the proof and hashing its Merkle branches and header, per byte; the
    /// certificate's signatures are charged after, at `ED25519_VERIFY`'s base each.
    pub const VERIFY_RECEIPT: HostCost = HostCost::new(10_000, 3);
    pub const DEBUG_MESSAGE: HostCost = HostCost::new(100, 1);
}

/// The fuel wasmtime charges per operator: 1 for ordinary instructions (0 for `nop`, `drop` and
/// block structure, as wasmtime does by default), the prices of [`gas::wasm`] for the rest.
pub fn operator_costs() -> wasmtime::OperatorCost {
    use gas::wasm::*;
    let mut c = wasmtime::OperatorCost::new();
    c.MemoryGrow = MEMORY_GROW;
    c.MemorySize = MEMORY_SIZE;
    c.MemoryFill = MEMORY_BULK;
    c.MemoryCopy = MEMORY_BULK;
    c.MemoryInit = MEMORY_BULK;
    c.DataDrop = MEMORY_BULK;
    c.TableGrow = TABLE_BULK;
    c.TableFill = TABLE_BULK;
    c.TableCopy = TABLE_BULK;
    c.TableInit = TABLE_BULK;
    c.ElemDrop = TABLE_BULK;
    c.TableGet = TABLE_ACCESS;
    c.TableSet = TABLE_ACCESS;
    c.TableSize = TABLE_ACCESS;
    c.Call = CALL;
    c.CallIndirect = CALL_INDIRECT;
    let v = &mut c.variable;
    // Grown pages are charged by the store's limiter (`gas::MEMORY_PAGE`), initial ones too.
    v.memory_grow_per_page = 0;
    v.memory_fill_per_byte = MEMORY_BULK_PER_BYTE;
    v.memory_copy_per_byte = MEMORY_BULK_PER_BYTE;
    v.memory_init_per_byte = MEMORY_BULK_PER_BYTE;
    v.table_grow_per_element = TABLE_BULK_PER_ELEMENT;
    v.table_fill_per_element = TABLE_BULK_PER_ELEMENT;
    v.table_copy_per_element = TABLE_BULK_PER_ELEMENT;
    v.table_init_per_element = TABLE_BULK_PER_ELEMENT;
    c
}

/// The gas schedule of every host function, by ABI name. A test checks it covers the ABI.
pub const HOST_GAS_SCHEDULE: &[(&str, HostCost, &str)] = &[
    (host::input, gas::INPUT, "bytes copied"),
    (host::set_output, gas::SET_OUTPUT, "bytes of output"),
    (host::revert, gas::REVERT, "bytes of message"),
    (host::storage_get, gas::STORAGE_GET, "key + value bytes"),
    (host::storage_set, gas::STORAGE_SET, "key + value bytes"),
    (host::storage_remove, gas::STORAGE_REMOVE, "key bytes"),
    (host::storage_contains, gas::STORAGE_CONTAINS, "key bytes"),
    (host::caller, gas::ENV_READ, "-"),
    (host::self_address, gas::ENV_READ, "-"),
    (host::value_transferred, gas::ENV_READ, "-"),
    (host::balance, gas::BALANCE, "-"),
    (host::transfer, gas::TRANSFER, "-"),
    (host::block_height, gas::ENV_READ, "-"),
    (host::block_time, gas::ENV_READ, "-"),
    (host::emit_event, gas::EMIT_EVENT, "32 per topic + data bytes"),
    (host::call_contract, gas::CALL_CONTRACT, "input bytes (+ the callee's own gas)"),
    (host::return_data, gas::RETURN_DATA, "bytes copied"),
    (host::hash_blake2_256, gas::HASH_BLAKE2_256, "input bytes"),
    (host::hash_sha256, gas::HASH_SHA256, "input bytes"),
    (host::ed25519_verify, gas::ED25519_VERIFY, "message bytes"),
    (host::debug_message, gas::DEBUG_MESSAGE, "message bytes"),
    (host::gas_left, gas::ENV_READ, "-"),
    (host::has_role, gas::HAS_ROLE, "role name bytes"),
    (host::member_of, gas::MEMBER_OF, "member id bytes copied"),
    (host::member_region, gas::MEMBER_REGION, "-"),
    (host::protected_read, gas::ENV_READ, "-"),
    (host::verify_receipt, gas::VERIFY_RECEIPT, "proof bytes (+ 30,000 per certificate signature)"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_schedule_covers_every_host_function_once() {
        for f in jjj_abi::HOST_FUNCTIONS {
            let n = HOST_GAS_SCHEDULE.iter().filter(|(name, _, _)| *name == f.name).count();
            assert_eq!(n, 1, "host function {} has {n} gas schedule entries", f.name);
        }
        assert_eq!(HOST_GAS_SCHEDULE.len(), jjj_abi::HOST_FUNCTIONS.len());
    }
}
