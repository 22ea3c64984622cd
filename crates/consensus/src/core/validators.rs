//! `Input::ValidatorsScheduled`: the validator set by height. Every rule that counts or names
//! validators (quorum, f, the leader, who may vote, sign a view change or be buffered for a
//! later height) asks the set of the height it is about, so a set scheduled for height `h`
//! takes over exactly at `h`: certificates of earlier heights keep their signers.
use super::Core;
use crate::messages::ValidatorSet;
use tracing::{info, warn};

impl Core {
    /// The set deciding the current height.
    pub(super) fn validators(&self) -> &ValidatorSet {
        self.validators_at(self.height)
    }

    /// The set deciding `height`: the latest one scheduled at or below it.
    pub(super) fn validators_at(&self, height: u64) -> &ValidatorSet {
        self.schedule.range(..=height).next_back().map_or(&self.config.validators, |(_, set)| set)
    }

    /// Whether this node is one of the validators deciding the current height. A node that is
    /// not (not yet added, or removed) still follows the votes and commits, but what it signs
    /// counts for nobody: the node should not send it.
    pub fn is_member(&self) -> bool {
        self.validators().contains(&self.me)
    }

    pub(super) fn on_validators_scheduled(&mut self, from_height: u64, validators: ValidatorSet) {
        if from_height <= self.height {
            // The height has begun (or passed) under the old set: switching now would count its
            // votes against two sets. A core started after the switch already has this set.
            if self.validators_at(from_height) != &validators {
                warn!(
                    height = self.height,
                    from_height, "a validator set scheduled for a height already begun is ignored"
                );
            }
            return;
        }
        info!(from_height, validators = validators.len(), "validator set scheduled");
        self.keys.extend(&validators);
        // A later decision replaces what was scheduled from the same height on.
        self.schedule.split_off(&from_height);
        self.schedule.insert(from_height, validators);
    }
}
