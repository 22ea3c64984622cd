//! Leading a view: asking the node for a block (`Effect::BuildProposal`), tracking that request
//! (the core is the only owner of it: the node asks `Core::proposal_to_build`), and
//! `Input::ProposalBuilt`, which turns the block into a signed proposal or NEW-VIEW.
use super::{Core, Effect, Effects};
use crate::messages::{ConsensusMessage, Proposal};
use jjj_primitives::Block;
use tracing::warn;

impl Core {
    /// The (height, view) whose `Effect::BuildProposal` has not been answered yet, if any: the
    /// node answers it when it has transactions (or an empty block is due), and a view change or
    /// a commit withdraws it.
    pub fn proposal_to_build(&self) -> Option<(u64, u64)> {
        self.pending_build.map(|view| (self.height, view))
    }

    /// Asks the node for a view-0 block if we lead it and have not proposed.
    pub(super) fn maybe_build(&mut self, effects: &mut Effects) {
        if self.view == 0
            && self.entered
            && self.leads(0)
            && self.safety.proposed.is_none()
            && self.pending_build.is_none()
        {
            self.pending_build = Some(0);
            effects.push(Effect::BuildProposal { height: self.height, view: 0 });
        }
    }

    pub(super) fn on_proposal_built(&mut self, height: u64, view: u64, block: Block, effects: &mut Effects) {
        if height != self.height
            || view != self.view
            || self.pending_build != Some(view)
            || self.safety.proposed.is_some()
        {
            return;
        }
        if block.header.height != height || block.header.network != self.config.network {
            warn!(height, view, "the node built a block for another height or network; not proposing it");
            return;
        }
        self.pending_build = None;
        if view == 0 {
            if !self.entered {
                return;
            }
            let hash = block.header.hash(self.keys.hash_algo());
            let proposal =
                Proposal::sign(self.keys.hash_algo(), &self.config.network, &self.config.key, height, 0, block.clone());
            self.safety.proposed = Some(hash);
            effects.persist_safety();
            effects.broadcast(ConsensusMessage::Proposal(proposal));
            self.keep_block(hash, block);
            self.proposals.insert(0, hash);
            // We built it, so it is valid by our own execution.
            self.validated.insert(hash);
            self.arm_timer(effects);
            self.try_vote_prepare(effects);
        } else {
            // A view change may have brought a prepared block meanwhile: `send_new_view`
            // re-proposes that one instead.
            self.send_new_view(Some(block), effects);
        }
    }
}
