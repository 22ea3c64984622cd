//! PREPARE and COMMIT: signing our votes, counting verified ones, and the two thresholds they
//! lead to — prepared (2f + 1 PREPAREs: COMMIT) and committed (2f + 1 COMMITs: `Effect::Commit`).
use super::{Core, Effect, Effects, VIEW_WINDOW};
use crate::messages::{CommitCertificate, ConsensusMessage, PreparedCertificate, Vote, VoteKind};
use jjj_primitives::{AccountId, Hash};
use tracing::debug;

impl Core {
    pub(super) fn try_vote_prepare(&mut self, effects: &mut Effects) {
        if !self.entered {
            return;
        }
        let Some(&hash) = self.proposals.get(&self.view) else { return };
        if !self.validated.contains(&hash) || self.safety.votes.iter().any(|v| v.kind == VoteKind::Prepare) {
            return;
        }
        self.sign_vote(VoteKind::Prepare, hash, effects);
    }

    /// Signs, records for persistence, queues for sending, and counts our own vote. A node
    /// that is not a validator of this height signs nothing (its vote would count for nobody,
    /// and its own certificate would name a signer the others refuse).
    pub(super) fn sign_vote(&mut self, kind: VoteKind, hash: Hash, effects: &mut Effects) {
        if !self.is_member() {
            return;
        }
        let vote = Vote::sign(&self.config.network, &self.config.key, kind, self.height, self.view, hash);
        self.safety.votes.push(vote.clone());
        effects.persist_safety();
        effects.broadcast(ConsensusMessage::Vote(vote.clone()));
        self.record_vote(vote, effects);
    }

    pub(super) fn on_vote(&mut self, vote: Vote, effects: &mut Effects) {
        if !self.validators().contains(&vote.voter) || vote.view > self.view.saturating_add(VIEW_WINDOW) {
            return;
        }
        if self.voted.contains_key(&(vote.kind, vote.view, vote.voter)) {
            return; // duplicate, or a second vote by an equivocator: the first one counts
        }
        if !vote.verify_by(&self.keys, &self.config.network) {
            debug!(voter = %vote.voter, "vote with a bad signature ignored");
            return;
        }
        self.arm_timer(effects);
        self.record_vote(vote, effects);
    }

    /// Counts a verified vote of this height.
    pub(super) fn record_vote(&mut self, vote: Vote, effects: &mut Effects) {
        let key = (vote.kind, vote.view, vote.voter);
        if self.voted.contains_key(&key) {
            return;
        }
        self.voted.insert(key, vote.block_hash);
        self.tallies.entry((vote.kind, vote.view, vote.block_hash)).or_default().insert(vote.voter, vote.signature);
        match vote.kind {
            VoteKind::Prepare => self.check_prepared(vote.view, vote.block_hash, effects),
            VoteKind::Commit => self.check_committed(vote.view, vote.block_hash, effects),
        }
    }

    pub(super) fn signatures(&self, kind: VoteKind, view: u64, hash: Hash) -> Vec<(AccountId, [u8; 64])> {
        self.tallies.get(&(kind, view, hash)).map(|t| t.iter().map(|(a, s)| (*a, *s)).collect()).unwrap_or_default()
    }

    pub(super) fn count(&self, kind: VoteKind, view: u64, hash: Hash) -> usize {
        self.tallies.get(&(kind, view, hash)).map_or(0, |t| t.len())
    }

    /// 2f + 1 PREPAREs for the current view's proposal: prepared. Remember the certificate and,
    /// if we PREPAREd that block ourselves, COMMIT.
    pub(super) fn check_prepared(&mut self, view: u64, hash: Hash, effects: &mut Effects) {
        if view != self.view || !self.entered || self.proposals.get(&view) != Some(&hash) {
            return;
        }
        if self.count(VoteKind::Prepare, view, hash) < self.quorum() {
            return;
        }
        if self.safety.prepared.as_ref().is_none_or(|(c, _)| c.view < view) {
            if let Some(block) = self.blocks.get(&hash) {
                self.progressed = true;
                let cert = PreparedCertificate {
                    height: self.height,
                    view,
                    block_hash: hash,
                    signatures: self.signatures(VoteKind::Prepare, view, hash),
                };
                self.safety.prepared = Some((cert, block.clone()));
                effects.persist_safety();
            }
        }
        let i_prepared = self.safety.votes.iter().any(|v| v.kind == VoteKind::Prepare && v.block_hash == hash);
        let i_committed = self.safety.votes.iter().any(|v| v.kind == VoteKind::Commit);
        if i_prepared && !i_committed {
            self.sign_vote(VoteKind::Commit, hash, effects);
        }
    }

    /// 2f + 1 COMMITs for a block, in any view: it is final.
    pub(super) fn check_committed(&mut self, view: u64, hash: Hash, effects: &mut Effects) {
        if self.count(VoteKind::Commit, view, hash) < self.quorum() {
            return;
        }
        let Some(block) = self.blocks.get(&hash).cloned() else {
            // Decided without us seeing the block: fetch it with its certificate.
            self.missing_committed_block = true;
            if self.sync_requested < self.height {
                self.sync_requested = self.height;
                effects.push(Effect::Sync { height: self.height });
            }
            return;
        };
        let certificate = CommitCertificate {
            height: self.height,
            view,
            block_hash: hash,
            signatures: self.signatures(VoteKind::Commit, view, hash),
        };
        debug!(height = self.height, view, block = %hash, "committed");
        self.last_commit = Some(certificate.clone());
        effects.push(Effect::Commit { block, certificate });
        self.advance_to(self.height.saturating_add(1), effects);
    }

    /// A block just became known: it may complete a commit certificate.
    pub(super) fn check_commits_for(&mut self, hash: Hash, effects: &mut Effects) {
        let views: Vec<u64> = self
            .tallies
            .iter()
            .filter(|((kind, _, h), t)| *kind == VoteKind::Commit && *h == hash && t.len() >= self.quorum())
            .map(|((_, view, _), _)| *view)
            .collect();
        if let Some(view) = views.first() {
            self.check_committed(*view, hash, effects);
        }
    }
}
