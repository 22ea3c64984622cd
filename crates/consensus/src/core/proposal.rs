//! A proposal from the leader of view 0 (`ConsensusMessage::Proposal`; later views' proposals
//! arrive inside a NEW-VIEW), its validation by the node, and `Input::ProposalValidated`.
use super::{Core, Effect, Effects};
use crate::messages::Proposal;
use jjj_primitives::Hash;
use tracing::{debug, warn};

impl Core {
    pub(super) fn on_proposal(&mut self, proposal: Proposal, effects: &mut Effects) {
        // A later view's proposal is only believed inside the NEW-VIEW that justifies it.
        if proposal.view != 0 {
            return;
        }
        let hash = proposal.block_hash(self.keys.hash_algo());
        if let Some(known) = self.proposals.get(&0) {
            // Only a correctly signed second proposal is evidence worth a warning.
            if *known != hash && proposal.check(&self.checker()).is_ok() {
                warn!(height = self.height, leader = %proposal.proposer, "leader equivocates: second proposal for view 0 ignored");
            }
            return;
        }
        if let Err(e) = proposal.check(&self.checker()) {
            debug!(height = self.height, "proposal rejected: {e}");
            return;
        }
        let height = self.height;
        self.proposals.insert(0, hash);
        self.keep_block(hash, proposal.block);
        self.arm_timer(effects);
        self.check_commits_for(hash, effects);
        if self.height == height && self.view == 0 && self.entered {
            self.consider_proposal(hash, effects);
        }
    }

    /// The proposal of the current view is known: have it validated, or vote at once if it
    /// already was (the same block re-proposed in a later view).
    pub(super) fn consider_proposal(&mut self, hash: Hash, effects: &mut Effects) {
        if self.validated.contains(&hash) {
            let height = self.height;
            self.try_vote_prepare(effects);
            if self.height == height {
                self.check_prepared(self.view, hash, effects);
            }
        } else if let Some(block) = self.blocks.get(&hash) {
            effects.push(Effect::ValidateProposal { height: self.height, view: self.view, block: block.clone() });
        }
    }

    pub(super) fn on_proposal_validated(
        &mut self,
        height: u64,
        view: u64,
        block_hash: Hash,
        valid: bool,
        effects: &mut Effects,
    ) {
        if height != self.height {
            return;
        }
        if !valid {
            warn!(height, view, block = %block_hash, "proposed block is invalid; not voting for it");
            return;
        }
        self.validated.insert(block_hash);
        if view == self.view && self.proposals.get(&view) == Some(&block_hash) {
            self.try_vote_prepare(effects);
            if self.height == height {
                self.check_prepared(view, block_hash, effects);
            }
        }
    }
}
