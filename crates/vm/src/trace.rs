//! The host-call log of one execution, for auditors (`jjj audit trace`): what each frame read
//! and wrote, the events, transfers and nested calls, with the gas left at each step. Kept
//! only when the invocation asks (`Invocation::trace`), never in blocks; recording charges no
//! gas, so a traced run ends exactly as the block's did.
use jjj_primitives::{AccountId, Hash};

/// Most steps one trace keeps; past it a final [`TraceStep::Truncated`] says so. A trace lives
/// in an auditor's process, yet its size follows the contract's doing.
pub const MAX_TRACE_STEPS: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceStep {
    /// A frame starts: `depth` 0 is the transaction's own call.
    Call {
        depth: usize,
        contract: AccountId,
        caller: AccountId,
        value: u64,
        input: Vec<u8>,
        gas_left: u64,
    },
    /// The frame ends: `Ok` with its output, or the failure (a revert's message, a trap).
    Return {
        depth: usize,
        contract: AccountId,
        end: Result<Vec<u8>, String>,
        gas_used: u64,
    },
    StorageRead {
        depth: usize,
        contract: AccountId,
        key: Vec<u8>,
        value: Option<Vec<u8>>,
        gas_left: u64,
    },
    /// `after` `None`: removed.
    StorageWrite {
        depth: usize,
        contract: AccountId,
        key: Vec<u8>,
        before: Option<Vec<u8>>,
        after: Option<Vec<u8>>,
        gas_left: u64,
    },
    Event {
        depth: usize,
        contract: AccountId,
        topics: Vec<Hash>,
        data: Vec<u8>,
    },
    Transfer {
        depth: usize,
        from: AccountId,
        to: AccountId,
        amount: u64,
        ok: bool,
    },
    Truncated,
}

/// A trace being recorded.
#[derive(Debug, Default)]
pub struct Trace {
    pub steps: Vec<TraceStep>,
}

impl Trace {
    pub fn push(&mut self, step: TraceStep) {
        match self.steps.len() {
            n if n < MAX_TRACE_STEPS => self.steps.push(step),
            n if n == MAX_TRACE_STEPS => self.steps.push(TraceStep::Truncated),
            _ => {}
        }
    }
}
