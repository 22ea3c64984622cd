//! Messages for heights above ours: verified by their sender's signature, counted as evidence that
//! we are behind, and kept (bounded per sender and in total, in messages and in bytes) to be
//! replayed when we reach their height.
use super::{Core, Effects};
use crate::messages::ConsensusMessage;
use jjj_primitives::params::MAX_PEER_MESSAGE;
use jjj_primitives::AccountId;
use parity_scale_codec::Encode;

/// Messages for heights up to this far above ours are kept and replayed when we get there.
const FUTURE_HEIGHTS: u64 = 3;
/// Per sender and future height: bounds the duplicate scan, and the count a faulty validator
/// can make us keep.
const FUTURE_PER_SENDER: usize = 16;
/// Bytes kept per sender (encoded size): one message of the largest size a peer may send (a
/// proposal of the largest block) fits. Only the sender's signature is checked before a message
/// is kept, so without a byte bound one faulty validator could make us hold
/// `FUTURE_HEIGHTS · FUTURE_PER_SENDER` messages of that size.
pub const FUTURE_BYTES_PER_SENDER: usize = MAX_PEER_MESSAGE;
/// Bytes kept in all, whatever the number of validators.
pub const FUTURE_BYTES_TOTAL: usize = 4 * MAX_PEER_MESSAGE;

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
        if !message.verify_sender_by(&self.keys, &self.config.network, self.validators_at(height)) {
            return;
        }
        let seen = self.heights_seen.entry(sender).or_insert(0);
        *seen = (*seen).max(height);
        if buffer_it {
            self.keep_future(message, sender);
        }
        self.check_behind(false, effects);
    }

    /// Bytes held in messages kept for later heights (encoded size).
    pub fn future_buffer_bytes(&self) -> usize {
        self.future_total
    }

    /// Keeps a verified message for a later height, then drops messages until the sender and
    /// the whole buffer are within their byte budgets.
    fn keep_future(&mut self, message: ConsensusMessage, sender: AccountId) {
        let size = message.encoded_size();
        let buffer = self.future.entry(message.height()).or_default();
        if size > FUTURE_BYTES_PER_SENDER || buffer.iter().filter(|m| m.sender() == sender).count() >= FUTURE_PER_SENDER
        {
            return;
        }
        buffer.push(message);
        *self.future_bytes.entry(sender).or_insert(0) += size;
        self.future_total += size;
        while self.future_bytes.get(&sender).is_some_and(|&b| b > FUTURE_BYTES_PER_SENDER) {
            if !self.drop_future_of(sender) {
                break;
            }
        }
        while self.future_total > FUTURE_BYTES_TOTAL {
            // The sender holding the most gives way: honest validators, a height ahead at
            // most and sending a proposal and votes there, keep theirs.
            let biggest = self.future_bytes.iter().max_by_key(|(a, b)| (**b, std::cmp::Reverse(**a))).map(|(a, _)| *a);
            match biggest {
                Some(biggest) if self.drop_future_of(biggest) => {}
                _ => break,
            }
        }
    }

    /// Drops the sender's message for the farthest height, the latest there: nearer heights are
    /// needed sooner, and at one height an honest validator's first messages (the proposal, its
    /// votes) come before any flood. Whether there was one to drop.
    fn drop_future_of(&mut self, sender: AccountId) -> bool {
        for buffer in self.future.values_mut().rev() {
            if let Some(i) = buffer.iter().rposition(|m| m.sender() == sender) {
                let size = buffer.remove(i).encoded_size();
                self.future_total = self.future_total.saturating_sub(size);
                if let Some(held) = self.future_bytes.get_mut(&sender) {
                    *held = held.saturating_sub(size);
                    if *held == 0 {
                        self.future_bytes.remove(&sender);
                    }
                }
                return true;
            }
        }
        false
    }

    /// The messages kept for `height`, to replay now that we are there; those of lower heights
    /// are dropped.
    pub(super) fn take_future(&mut self, height: u64) -> Vec<ConsensusMessage> {
        let buffered = self.future.remove(&height).unwrap_or_default();
        self.future = self.future.split_off(&height);
        // What is left is within budget already: count it again rather than track each removal.
        self.future_bytes.clear();
        self.future_total = 0;
        for m in self.future.values().flatten() {
            let size = m.encoded_size();
            *self.future_bytes.entry(m.sender()).or_insert(0) += size;
            self.future_total += size;
        }
        buffered
    }
}
