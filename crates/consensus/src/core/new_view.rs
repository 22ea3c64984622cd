//! NEW-VIEW: as the new leader, proposing (the highest prepared block, or a new one) once 2f + 1
//! validators asked for the view; as anyone else, entering the view on a verified NEW-VIEW.
use super::{Core, Effect, Effects, VIEW_WINDOW};
use crate::messages::{ConsensusMessage, NewView, PreparedCertificate, Proposal, ViewChange, VoteKind};
use jjj_primitives::{AccountId, Block, Hash};
use tracing::debug;

impl Core {
    /// (view, hash) of the highest prepared block the view changes for the current view name.
    fn required_summary(&self) -> Option<(u64, Hash)> {
        self.view_changes.get(&self.view)?.values().filter_map(|vc| vc.prepared_summary()).max()
    }

    /// The certificate and block the NEW-VIEW for the current view must carry, per the view
    /// changes we hold (each verified with its proof on receipt, the proof kept apart).
    pub(super) fn required_block(&self) -> Option<(PreparedCertificate, Block)> {
        let required = self.required_summary()?;
        let cert = self.prepared_certs.get(&required)?;
        let block = self.blocks.get(&required.1)?;
        Some((cert.clone(), block.clone()))
    }

    /// As the new leader with 2f + 1 view changes: re-propose the highest prepared block, or
    /// ask the node for a new one.
    pub(super) fn try_new_view(&mut self, effects: &mut Effects) {
        if self.entered || self.view == 0 || !self.leads(self.view) || self.safety.proposed.is_some() {
            return;
        }
        if self.view_changes.get(&self.view).map_or(0, |m| m.len()) < self.quorum() {
            return;
        }
        if self.required_summary().is_some() {
            // Its proof came with the view change that named it, so `required_block` has it.
            self.send_new_view(None, effects);
        } else if self.pending_build != Some(self.view) {
            self.pending_build = Some(self.view);
            effects.push(Effect::BuildProposal { height: self.height, view: self.view });
        }
    }

    /// Proposes, as the leader of the current view, the highest prepared block the view changes
    /// name or else `built`, in a NEW-VIEW carrying that block and its certificate once.
    pub(super) fn send_new_view(&mut self, built: Option<Block>, effects: &mut Effects) {
        let Some(vcs) = self.view_changes.get(&self.view) else { return };
        if self.entered || vcs.len() < self.quorum() || self.safety.proposed.is_some() {
            return;
        }
        let view_changes: Vec<ViewChange> = vcs.values().map(ViewChange::without_proof).collect();
        let (prepared, block) = match (self.required_summary(), self.required_block(), built) {
            (Some(_), Some((cert, block)), _) => (Some(Box::new(cert)), block),
            (None, _, Some(block)) => (None, block),
            // A prepared block without its proof: never propose another in its place.
            _ => return,
        };
        let hash = block.header.hash(self.keys.hash_algo());
        let proposal = Proposal::sign(
            self.keys.hash_algo(),
            &self.config.network,
            &self.config.key,
            self.height,
            self.view,
            block.clone(),
        );
        self.safety.proposed = Some(hash);
        self.pending_build = None;
        effects.persist_safety();
        effects.broadcast(ConsensusMessage::NewView(NewView {
            height: self.height,
            view: self.view,
            view_changes,
            prepared,
            proposal,
        }));
        debug!(height = self.height, view = self.view, block = %hash, "new view");
        self.entered = true;
        self.progressed = true;
        self.keep_block(hash, block);
        self.proposals.insert(self.view, hash);
        // Either built by us or prepared by a quorum: valid either way.
        self.validated.insert(hash);
        self.try_vote_prepare(effects);
    }

    pub(super) fn on_new_view(&mut self, new_view: NewView, effects: &mut Effects) {
        if new_view.view == 0 || new_view.view > self.view.saturating_add(VIEW_WINDOW) {
            return;
        }
        let hash = new_view.proposal.block_hash(self.keys.hash_algo());
        let height = self.height;
        if new_view.view < self.view || (new_view.view == self.view && self.entered) {
            // Too late to vote in it, but its block may complete a commit certificate.
            // One block per view: a faulty leader cannot flood us with its proposals.
            if !self.proposals.contains_key(&new_view.view) && new_view.proposal.check(&self.checker()).is_ok() {
                self.proposals.insert(new_view.view, hash);
                if self.add_block(hash, new_view.proposal.block) {
                    self.check_commits_for(hash, effects);
                }
            }
            return;
        }
        let verdict = {
            let known_view_changes = self.view_changes.get(&new_view.view);
            let known_view_change =
                |vc: &ViewChange| known_view_changes.and_then(|m| m.get(&vc.voter)).is_some_and(|k| k.same_signed(vc));
            let known_signature = |kind: VoteKind, view: u64, hash: &Hash, voter: &AccountId, sig: &[u8; 64]| {
                self.knows_vote(kind, view, hash, voter, sig)
            };
            let mut checker = self.checker();
            checker.known_signature = &known_signature;
            checker.known_view_change = &known_view_change;
            new_view.check(&checker)
        };
        if let Err(e) = verdict {
            debug!(height = new_view.height, view = new_view.view, "NEW-VIEW rejected: {e}");
            return;
        }
        if new_view.view > self.view {
            self.set_view(new_view.view, true, effects);
        } else {
            self.entered = true;
            self.progressed = true;
        }
        self.pending_build = None;
        // The current view's proposal is always kept, whatever the bound.
        self.keep_block(hash, new_view.proposal.block);
        self.proposals.insert(new_view.view, hash);
        self.arm_timer(effects);
        self.check_commits_for(hash, effects);
        if self.height == height && self.blocks.contains_key(&hash) {
            self.consider_proposal(hash, effects);
        }
    }
}
