//! `Input::Start`: a fresh validator asks to build if it leads view 0; a restarted one re-sends
//! what it signed before the crash and counts its own votes and view change again.
use super::{Core, Effects};
use crate::messages::ConsensusMessage;

impl Core {
    pub(super) fn on_start(&mut self, effects: &mut Effects) {
        if self.started {
            return;
        }
        self.started = true;
        let s = &self.safety;
        let active = s.view > 0
            || !s.votes.is_empty()
            || s.view_change.is_some()
            || s.prepared.is_some()
            || s.proposed.is_some();
        if active {
            // Restarted mid-height: the round has work, and what we signed may not have left
            // before the crash. Re-sending the same signed messages is safe.
            self.arm_timer(effects);
            for vote in &self.safety.votes {
                effects.broadcast(ConsensusMessage::Vote(vote.clone()));
            }
            if let Some(vc) = self.safety.view_change.as_ref().filter(|vc| vc.new_view == self.view) {
                effects.broadcast(ConsensusMessage::ViewChange(vc.clone()));
            }
            // Our own votes count towards our certificates.
            for vote in self.safety.votes.clone() {
                self.record_vote(vote, effects);
            }
            if let Some(vc) = self.safety.view_change.clone().filter(|vc| vc.new_view == self.view) {
                self.record_view_change(vc, effects);
            }
        }
        self.maybe_build(effects);
    }
}
