//! Giving up on a view: signing and re-sending our view change, receiving others' (with the
//! prepared certificate they carry), noting a quorum, and joining f + 1 validators ahead of us.
use super::{Core, Effects, VIEW_WINDOW};
use crate::messages::{ConsensusMessage, PreparedProof, ViewChange, VoteKind};
use jjj_primitives::{AccountId, Hash};
use tracing::debug;

impl Core {
    /// Validators (us included) that asked for the current view or a later one.
    pub(super) fn asking_for_current_view_or_later(&self) -> usize {
        let others = self.asked_views.iter().filter(|(a, v)| **a != self.me && **v >= self.view).count();
        others + usize::from(!self.entered && self.view > 0)
    }

    /// Notes a quorum of view changes for the current view or later, once per view.
    pub(super) fn note_view_change_quorum(&mut self) {
        if !self.view_change_quorum && self.asking_for_current_view_or_later() >= self.quorum() {
            self.view_change_quorum = true;
            self.progressed = true;
        }
    }

    /// Broadcasts our view change for the current view again (the same signed message).
    pub(super) fn resend_view_change(&mut self, effects: &mut Effects) {
        if let Some(vc) = self.safety.view_change.as_ref().filter(|vc| vc.new_view == self.view && !self.entered) {
            effects.broadcast(ConsensusMessage::ViewChange(vc.clone()));
        }
    }

    pub(super) fn start_view_change(&mut self, new_view: u64, effects: &mut Effects) {
        if new_view <= self.view || !self.is_member() {
            return;
        }
        debug!(height = self.height, new_view, "view change");
        self.set_view(new_view, false, effects);
        let vc = ViewChange::sign(
            &self.config.network,
            &self.config.key,
            self.height,
            new_view,
            self.safety.prepared.clone(),
        );
        self.safety.view_change = Some(vc.clone());
        effects.broadcast(ConsensusMessage::ViewChange(vc.clone()));
        self.arm_timer(effects);
        self.record_view_change(vc, effects);
        if self.view == new_view && !self.entered {
            // A quorum already there at entry needs no extra period: the timer is fresh.
            self.note_view_change_quorum();
            self.progressed = false;
        }
    }

    pub(super) fn on_view_change(&mut self, vc: ViewChange, effects: &mut Effects) {
        let asked_view = vc.new_view;
        if asked_view == 0 || !self.validators().contains(&vc.voter) || vc.voter == self.me {
            return;
        }
        if asked_view < self.view || (asked_view == self.view && self.entered) {
            return; // we are past it
        }
        if self.asked_views.get(&vc.voter).is_some_and(|&v| v >= asked_view) {
            return; // duplicate, or older than what this validator already asked for
        }
        if !vc.signed_by(&self.keys, &self.config.network) {
            debug!(voter = %vc.voter, "view change with a bad signature ignored");
            return;
        }
        self.arm_timer(effects);
        self.asked_views.insert(vc.voter, asked_view);
        if !self.entered {
            self.note_view_change_quorum();
        }
        if asked_view <= self.view.saturating_add(VIEW_WINDOW) {
            let valid = {
                let known = |kind: VoteKind, view: u64, hash: &Hash, voter: &AccountId, sig: &[u8; 64]| {
                    self.knows_vote(kind, view, hash, voter, sig)
                };
                let mut checker = self.checker();
                checker.known_signature = &known;
                vc.check(&checker)
            };
            match valid {
                Ok(()) => self.record_view_change(vc, effects),
                Err(e) => debug!("view change rejected: {e}"),
            }
        }
        self.maybe_join_view_change(effects);
    }

    /// Stores a verified view change (ours or another's) and acts on it.
    pub(super) fn record_view_change(&mut self, mut vc: ViewChange, effects: &mut Effects) {
        let height = self.height;
        let asked_view = vc.new_view;
        // The proof is kept apart, once per prepared block: a validator asking for each of the
        // next views with the same proof would otherwise make us hold one copy per view.
        if let Some(proof) = vc.proof.take() {
            let PreparedProof { certificate, block } = *proof;
            let hash = certificate.block_hash;
            self.prepared_certs.entry((certificate.view, hash)).or_insert(certificate);
            if !self.blocks.contains_key(&hash) {
                // 2f + 1 validators prepared it (at most one block per view): it may have to
                // be re-proposed, so it is kept whatever the byte budget of candidate blocks.
                self.keep_block(hash, block);
                self.check_commits_for(hash, effects);
                if self.height != height {
                    return;
                }
            }
        }
        if asked_view >= self.view {
            self.view_changes.entry(asked_view).or_default().entry(vc.voter).or_insert(vc);
        }
        self.try_new_view(effects);
    }

    /// f + 1 validators asked for views above ours: at least one honest one gave up on our
    /// view, so join them at the highest view that f + 1 of them reached.
    pub(super) fn maybe_join_view_change(&mut self, effects: &mut Effects) {
        let mut higher: Vec<u64> =
            self.asked_views.iter().filter(|(a, v)| **a != self.me && **v > self.view).map(|(_, v)| *v).collect();
        let f = self.f();
        if higher.len() <= f {
            return;
        }
        higher.sort_unstable_by(|a, b| b.cmp(a));
        self.start_view_change(higher[f], effects);
    }
}
