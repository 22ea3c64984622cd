//! What the core asks the node to do, and how one `handle` call gathers it.
use super::{SafetyState, Timeout};
use crate::messages::{CommitCertificate, ConsensusMessage};
use jjj_primitives::Block;

// A `Persist` per handled input at most; boxing it would buy nothing but an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Write durably before carrying out any later effect of the same batch: a restart must
    /// restore from it with `Core::restore`.
    Persist(SafetyState),
    /// Send to all other validators.
    Broadcast(ConsensusMessage),
    /// Build a block for (height, view) on top of the last committed block and answer with
    /// `Input::ProposalBuilt`. For view 0 the node may wait for transactions; for a later view a
    /// view change already happened, so it should answer at once (an empty block will do).
    /// Until answered, `Core::proposal_to_build` says which (height, view) is awaited.
    BuildProposal { height: u64, view: u64 },
    /// Re-execute the block on top of the last committed block and answer with
    /// `Input::ProposalValidated`.
    ValidateProposal { height: u64, view: u64, block: Block },
    /// The block is final: apply and store it with its certificate.
    Commit { block: Block, certificate: CommitCertificate },
    /// Feed `Input::Timeout(timeout)` after `after_ms` milliseconds.
    ScheduleTimeout { timeout: Timeout, after_ms: u64 },
    /// Validators are ahead: fetch blocks and commit certificates up to at least `height` from
    /// peers, verify and apply them, then feed `Input::Synced`.
    Sync { height: u64 },
}

/// The effects of handling one input, in order. Broadcasts wait apart so one `Persist`,
/// covering every signature made, goes before all of them.
#[derive(Default)]
pub(super) struct Effects {
    effects: Vec<Effect>,
    broadcasts: Vec<ConsensusMessage>,
    safety_changed: bool,
}

impl Effects {
    /// An effect other than a broadcast, carried out in the order pushed.
    pub(super) fn push(&mut self, effect: Effect) {
        self.effects.push(effect);
    }

    /// A message to send once the safety state is persisted.
    pub(super) fn broadcast(&mut self, message: ConsensusMessage) {
        self.broadcasts.push(message);
    }

    /// The safety state changed: persist it before any broadcast.
    pub(super) fn persist_safety(&mut self) {
        self.safety_changed = true;
    }

    /// The effects in the order the node must carry them out.
    pub(super) fn finish(mut self, safety: &SafetyState) -> Vec<Effect> {
        if self.safety_changed {
            self.effects.push(Effect::Persist(safety.clone()));
        }
        self.effects.extend(self.broadcasts.into_iter().map(Effect::Broadcast));
        self.effects
    }
}
