//! `Input::TransactionsPending`: the node has transactions to include, so the current view has
//! work and its timer must run (an idle chain never changes view).
use super::{Core, Effects};

impl Core {
    pub(super) fn on_transactions_pending(&mut self, effects: &mut Effects) {
        self.arm_timer(effects);
    }
}
