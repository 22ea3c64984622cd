//! What the node feeds the core.
use crate::messages::{ConsensusMessage, ValidatorSet};
use jjj_primitives::{Block, Hash};
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode};

/// A view timer: fires when (height, view) has not decided in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, DecodeWithMemTracking)]
pub struct Timeout {
    pub height: u64,
    pub view: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Once, after `new` or `restore`.
    Start,
    /// A message from another validator (never trusted: every signature is checked).
    Message(ConsensusMessage),
    /// A timer scheduled by `Effect::ScheduleTimeout` fired.
    Timeout(Timeout),
    /// The node's answer to `Effect::BuildProposal`.
    ProposalBuilt { height: u64, view: u64, block: Block },
    /// The node's answer to `Effect::ValidateProposal`: it re-executed the block and reached
    /// the roots in its header (`valid`), or not.
    ProposalValidated { height: u64, view: u64, block_hash: Hash, valid: bool },
    /// The node fetched, verified and applied blocks up to and including `height`.
    Synced { height: u64 },
    /// The node's mempool holds transactions a block could include: the view timer starts if it
    /// is not running, so a silent leader is replaced when there is work to do.
    TransactionsPending,
    /// The validator set from `from_height` on, as the ledger scheduled it (a governance
    /// change, executed at least two heights before `from_height`, so every validator learns
    /// it before that height starts). A schedule for a height already begun is ignored.
    ValidatorsScheduled { from_height: u64, validators: ValidatorSet },
}
