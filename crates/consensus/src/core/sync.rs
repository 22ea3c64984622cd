//! Catching up: noticing that f + 1 validators are at higher heights (`Effect::Sync`), and
//! `Input::Synced`, after which the core moves to the height after the synced one.
use super::{Core, Effect, Effects};
use tracing::debug;

impl Core {
    /// If f + 1 validators signed at heights above ours, at least one honest one is there, so
    /// the heights below it are committed: ask the node to fetch them.
    pub(super) fn check_behind(&mut self, retry: bool, effects: &mut Effects) {
        let mut above: Vec<u64> = self.heights_seen.values().copied().filter(|&h| h > self.height).collect();
        let f = self.f();
        if above.len() <= f {
            return;
        }
        above.sort_unstable_by(|a, b| b.cmp(a));
        let target = above[f] - 1;
        if retry || target > self.sync_requested {
            self.sync_requested = self.sync_requested.max(target);
            effects.push(Effect::Sync { height: target });
        }
    }

    pub(super) fn on_synced(&mut self, height: u64, effects: &mut Effects) {
        if height < self.height {
            // The fetch fell short: let the next sign of being behind ask again.
            self.sync_requested = self.sync_requested.min(self.height.saturating_sub(1));
            return;
        }
        debug!(height, "synced");
        self.advance_to(height.saturating_add(1), effects);
    }
}
