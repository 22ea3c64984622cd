//! `Input::Timeout`: the view timer — when it runs, how long it waits, and what its expiry does
//! (one more period for a view that progressed, re-sending a lonely view change, or moving on).
use super::{Core, Effect, Effects, Timeout};
use tracing::debug;

impl Core {
    pub(super) fn timeout_for(&self, view: u64) -> u64 {
        let max = self.config.max_timeout_ms.max(self.config.base_timeout_ms);
        self.config.base_timeout_ms.saturating_mul(1u64 << view.min(32)).min(max)
    }

    /// Starts the timer of the current view unless one is already scheduled for it.
    pub(super) fn arm_timer(&mut self, effects: &mut Effects) {
        if self.timer_view.is_some_and(|v| v >= self.view) {
            return;
        }
        self.rearm_timer(self.timeout_for(self.view), effects);
    }

    /// Schedules another expiry of the current view's timer (the previous one just fired).
    pub(super) fn rearm_timer(&mut self, after_ms: u64, effects: &mut Effects) {
        self.timer_view = Some(self.view);
        self.progressed = false;
        let timeout = Timeout { height: self.height, view: self.view };
        effects.push(Effect::ScheduleTimeout { timeout, after_ms });
    }

    pub(super) fn on_timeout(&mut self, timeout: Timeout, effects: &mut Effects) {
        if timeout.height != self.height || timeout.view != self.view {
            return; // a timer of a view or height already left
        }
        // Stuck perhaps because we are behind: ask again.
        if self.missing_committed_block {
            effects.push(Effect::Sync { height: self.height });
        }
        self.check_behind(true, effects);
        if !self.is_member() {
            return; // a follower of this height waits for the validators' commits or a sync
        }
        if self.progressed {
            // The view got somewhere since its timer was set (e.g. it was entered late in
            // the period): give it one more period before giving up on it.
            self.rearm_timer(self.timeout_for(self.view), effects);
            self.resend_view_change(effects);
            return;
        }
        if !self.entered && self.view > 0 && self.asking_for_current_view_or_later() < self.quorum() {
            // Too few validators asked for this view yet. Moving further alone would only put
            // us out of step with them (a node one view ahead of the rest, timing out first
            // every time, can starve every view of its quorum): re-send our view change, which
            // may have been lost, and keep waiting; f + 1 view changes above us still pull us up.
            debug!(
                height = self.height,
                view = self.view,
                asking = self.asking_for_current_view_or_later(),
                quorum = self.quorum(),
                "too few validators asked for this view yet: re-sending our view change"
            );
            self.rearm_timer(self.config.base_timeout_ms.min(self.timeout_for(self.view)), effects);
            self.resend_view_change(effects);
            return;
        }
        debug!(height = timeout.height, view = timeout.view, "view timed out");
        self.start_view_change(self.view.saturating_add(1), effects);
    }
}
