//! Messages for heights above ours: verified by their sender's signature, counted as evidence that
//! we are behind, and kept (bounded per sender) to be replayed when we reach their height.
use super::{Core, Effects};
use crate::messages::ConsensusMessage;

/// Messages for heights up to this far above ours are kept and replayed when we get there.
const FUTURE_HEIGHTS: u64 = 3;
/// Per sender and future height: bounds what a faulty validator can make us buffer.
const FUTURE_PER_SENDER: usize = 16;

impl Core {
    pub(super) fn on_future(&mut self, message: ConsensusMessage, effects: &mut Effects) {
        let height = message.height();
        let sender = message.sender();
        if sender == self.me {
            return;
        }
        let buffer_it = height <= self.height.saturating_add(FUTURE_HEIGHTS);
        if buffer_it && self.future.get(&height).is_some_and(|buffer| buffer.contains(&message)) {
            return;
        }
        if !message.verify_sender_by(&self.keys, &self.config.network, &self.config.validators) {
            return;
        }
        let seen = self.heights_seen.entry(sender).or_insert(0);
        *seen = (*seen).max(height);
        if buffer_it {
            let buffer = self.future.entry(height).or_default();
            if buffer.iter().filter(|m| m.sender() == sender).count() < FUTURE_PER_SENDER {
                buffer.push(message);
            }
        }
        self.check_behind(false, effects);
    }

    /// The messages kept for `height`, to replay now that we are there; those of lower heights
    /// are dropped.
    pub(super) fn take_future(&mut self, height: u64) -> Vec<ConsensusMessage> {
        let buffered = self.future.remove(&height).unwrap_or_default();
        self.future = self.future.split_off(&height);
        buffered
    }
}
