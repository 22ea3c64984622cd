//! The PBFT core: a pure state machine, `(state, input) -> effects`.
//!
//! No IO, no clock, no randomness: the node feeds inputs (messages, timeouts, execution results)
//! and carries out the returned effects in order. Block-level PBFT: each height is decided by
//! PRE-PREPARE (proposal) → PREPARE → COMMIT in views 0, 1, 2…; the leader of view v is
//! `validators[v mod n]`; 2f + 1 COMMITs form the commit certificate that makes a block final.
//!
//! Safety rules, each relied upon by the view-change argument:
//! - a node votes only in its current view, at most one PREPARE and one COMMIT per view, and
//!   only after it has entered the view (view 0, or a verified NEW-VIEW);
//! - it COMMITs only a block it PREPAREd in the same view and saw 2f + 1 PREPAREs for;
//! - views only grow within a height, and every signature is persisted before it is sent
//!   (`Effect::Persist` precedes the `Effect::Broadcast`s of one `handle` call);
//! - a view change carries the highest prepared certificate, and a NEW-VIEW must re-propose the
//!   highest prepared block among its 2f + 1 view changes.
//!
//! Liveness rules:
//! - a view's timer runs only when there is work: a proposal, vote or view change seen for the
//!   height, or `on_pending_transactions` (an idle chain never changes view);
//! - on expiry the node moves to the next view, unless the view progressed since the timer was
//!   set (quorum of view changes, NEW-VIEW, prepared: one more period), or the node is waiting in
//!   a view change that fewer than 2f + 1 validators joined (it re-sends its view change every
//!   base timeout instead, so no node races ahead of the others);
//! - f + 1 view changes for higher views pull a node up to them;
//! - f + 1 validators seen at higher heights, or a commit certificate for an unknown block,
//!   make the node ask for a `Sync`.
use super::messages::{
    Checker, CommitCertificate, ConsensusMessage, KeyCache, NewView, PreparedCertificate, Proposal, ValidatorSet,
    ViewChange, Vote, VoteKind,
};
use jjj_crypto::Keypair;
use jjj_primitives::{AccountId, Block, Hash, NetworkId};
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode};
use std::collections::{BTreeMap, BTreeSet};
use tracing::{debug, warn};

/// Messages for heights up to this far above ours are kept and replayed when we get there.
const FUTURE_HEIGHTS: u64 = 3;
/// Per sender and future height: bounds what a faulty validator can make us buffer.
const FUTURE_PER_SENDER: usize = 16;
/// Votes and view changes for views further than this above ours are not stored.
const VIEW_WINDOW: u64 = 64;
/// Candidate blocks kept per height (proposals of all views, blocks of prepared certificates).
const MAX_BLOCKS: usize = 256;

#[derive(Clone, Debug)]
pub struct CoreConfig {
    pub network: NetworkId,
    pub validators: ValidatorSet,
    pub key: Keypair,
    /// View 0's timeout; view v waits `base · 2^v`, capped at `max_timeout_ms`.
    pub base_timeout_ms: u64,
    pub max_timeout_ms: u64,
}

/// A view timer: fires when (height, view) has not decided in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, DecodeWithMemTracking)]
pub struct Timeout {
    pub height: u64,
    pub view: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Once, after `new` or `restore`.
    Start,
    /// A message from another validator (never trusted: every signature is checked).
    Message(ConsensusMessage),
    /// A timer scheduled by `Effect::ScheduleTimeout` fired.
    Timeout(Timeout),
    /// The node's answer to `Effect::BuildProposal`.
    ProposalBuilt { height: u64, view: u64, block: Block },
    /// The node's answer to `Effect::ValidateProposal`: it re-executed the block and reached
    /// the roots in its header (`valid`), or not.
    ProposalValidated { height: u64, view: u64, block_hash: Hash, valid: bool },
    /// The node fetched, verified and applied blocks up to and including `height`.
    Synced { height: u64 },
}

// A `Persist` per handled input at most; boxing it would buy nothing but an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Write durably before carrying out any later effect of the same batch: a restart must
    /// restore from it with `Core::restore`.
    Persist(SafetyState),
    /// Send to all other validators.
    Broadcast(ConsensusMessage),
    /// Build a block for (height, view) on top of the last committed block and answer with
    /// `Input::ProposalBuilt`. For view 0 the node may wait for transactions; for a later view a
    /// view change already happened, so it should answer at once (an empty block will do).
    BuildProposal { height: u64, view: u64 },
    /// Re-execute the block on top of the last committed block and answer with
    /// `Input::ProposalValidated`.
    ValidateProposal { height: u64, view: u64, block: Block },
    /// The block is final: apply and store it with its certificate.
    Commit { block: Block, certificate: CommitCertificate },
    /// Feed `Input::Timeout(timeout)` after `after_ms` milliseconds.
    ScheduleTimeout { timeout: Timeout, after_ms: u64 },
    /// Validators are ahead: fetch blocks and commit certificates up to at least `height` from
    /// peers, verify and apply them, then feed `Input::Synced`.
    Sync { height: u64 },
}

/// What a validator must remember across a crash so it never signs two conflicting messages.
///
/// Votes are only ever cast in the current (height, view) and views only grow within a height,
/// so the votes of the current view, the view itself and the height are enough to refuse any
/// conflicting vote; the prepared certificate keeps a prepared block alive through view changes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct SafetyState {
    /// The height being decided (last committed + 1).
    pub height: u64,
    /// The current view at `height`.
    pub view: u64,
    /// This node's votes at (height, view): at most one PREPARE and one COMMIT.
    pub votes: Vec<Vote>,
    /// The block hash of the proposal this node signed at (height, view), if it leads the view.
    pub proposed: Option<Hash>,
    /// The latest view change this node signed at `height`.
    pub view_change: Option<ViewChange>,
    /// The highest-view prepared certificate this node formed at `height`, with its block.
    pub prepared: Option<(PreparedCertificate, Block)>,
}

impl SafetyState {
    pub fn new(height: u64) -> SafetyState {
        SafetyState { height, view: 0, votes: Vec::new(), proposed: None, view_change: None, prepared: None }
    }

    /// Whether this state, once persisted, already accounts for `vote`: it holds the vote, or
    /// has moved past its (height, view), after which no vote there can be signed again.
    pub fn covers_vote(&self, vote: &Vote) -> bool {
        (self.height, self.view) > (vote.height, vote.view) || self.votes.contains(vote)
    }

    /// Whether this state accounts for this node's view change `vc`.
    pub fn covers_view_change(&self, vc: &ViewChange) -> bool {
        match &self.view_change {
            _ if self.height > vc.height => true,
            Some(own) => own == vc || (own.height, own.new_view) > (vc.height, vc.new_view),
            None => false,
        }
    }

    /// Whether this state accounts for this node's proposal of `block_hash` at (height, view).
    pub fn covers_proposal(&self, height: u64, view: u64, block_hash: &Hash) -> bool {
        (self.height, self.view) > (height, view)
            || (self.height == height && self.view == view && self.proposed == Some(*block_hash))
    }
}

/// Effects gathered while handling one input. Broadcasts wait in `outbox` so one Persist,
/// covering every signature made, goes before all of them.
#[derive(Default)]
struct Fx {
    effects: Vec<Effect>,
    outbox: Vec<ConsensusMessage>,
    dirty: bool,
}

impl Fx {
    fn finish(mut self, safety: &SafetyState) -> Vec<Effect> {
        if self.dirty {
            self.effects.push(Effect::Persist(safety.clone()));
        }
        self.effects.extend(self.outbox.into_iter().map(Effect::Broadcast));
        self.effects
    }
}

/// The PBFT state machine of one validator for one network.
pub struct Core {
    cfg: CoreConfig,
    keys: KeyCache,
    me: AccountId,
    height: u64,
    view: u64,
    /// Whether the current view has begun: view 0, or a verified NEW-VIEW for it. Votes and
    /// proposals of a view are only acted upon once it has.
    entered: bool,
    started: bool,
    safety: SafetyState,
    /// The highest view a timer has been scheduled for at this height.
    timer_view: Option<u64>,
    /// The view whose `BuildProposal` is awaiting its `ProposalBuilt`.
    pending_build: Option<u64>,
    /// Per view, the hash of the verified proposal of that view (the first one seen).
    proposals: BTreeMap<u64, Hash>,
    /// Candidate blocks of this height, by header hash.
    blocks: BTreeMap<Hash, Block>,
    /// Blocks the node reported valid (validity does not depend on the view).
    validated: BTreeSet<Hash>,
    /// Verified votes: (kind, view, block) → voter → signature.
    tallies: BTreeMap<(VoteKind, u64, Hash), BTreeMap<AccountId, [u8; 64]>>,
    /// The first vote of each (kind, view, voter): later ones are duplicates or equivocation.
    voted: BTreeMap<(VoteKind, u64, AccountId), Hash>,
    /// Verified view changes by the view they ask for.
    view_changes: BTreeMap<u64, BTreeMap<AccountId, ViewChange>>,
    /// The highest view each validator asked for (signature checked): drives joining a view
    /// change that f + 1 validators already started.
    vc_views: BTreeMap<AccountId, u64>,
    /// Messages for heights above ours, replayed on arrival there.
    future: BTreeMap<u64, Vec<ConsensusMessage>>,
    /// The highest height each validator was seen signing at (signature checked).
    ahead: BTreeMap<AccountId, u64>,
    /// The highest height a `Sync` was requested for.
    sync_requested: u64,
    /// A commit certificate for this height exists but its block is unknown.
    missing_committed_block: bool,
    /// The current view moved forward (a quorum of view changes gathered, the view entered,
    /// the block prepared) since its timer was set: the next expiry grants one more period.
    progressed: bool,
    /// A quorum of validators asked for the current view or a later one.
    vc_quorum: bool,
}

impl Core {
    /// A validator that has committed up to `next_height − 1` and never voted at `next_height`.
    pub fn new(config: CoreConfig, next_height: u64) -> Core {
        let me = config.key.account();
        Core {
            keys: KeyCache::new(&config.validators),
            cfg: config,
            me,
            height: next_height,
            view: 0,
            entered: true,
            started: false,
            safety: SafetyState::new(next_height),
            timer_view: None,
            pending_build: None,
            proposals: BTreeMap::new(),
            blocks: BTreeMap::new(),
            validated: BTreeSet::new(),
            tallies: BTreeMap::new(),
            voted: BTreeMap::new(),
            view_changes: BTreeMap::new(),
            vc_views: BTreeMap::new(),
            future: BTreeMap::new(),
            ahead: BTreeMap::new(),
            sync_requested: 0,
            missing_committed_block: false,
            progressed: false,
            vc_quorum: false,
        }
    }

    /// A validator restarting from its last persisted `SafetyState`. If the ledger committed
    /// blocks at or past `saved.height` before the crash, feed `Input::Synced` with the last
    /// committed height right after (before or after `Start`).
    pub fn restore(config: CoreConfig, saved: SafetyState) -> Core {
        let mut core = Core::new(config, saved.height);
        let me = core.me;
        let SafetyState { height, view, votes, proposed, view_change, prepared } = saved;
        // Disk contents are ours, but keep only what is coherent with (height, view).
        let votes = votes.into_iter().filter(|v| v.height == height && v.view == view && v.voter == me).collect();
        let view_change = view_change.filter(|vc| vc.height == height && vc.voter == me && vc.new_view <= view);
        let prepared =
            prepared.filter(|(c, b)| c.height == height && c.view <= view && b.header.hash() == c.block_hash);
        core.view = view;
        // A NEW-VIEW entered before the crash is not remembered: wait for it (or the next view)
        // again rather than vote without knowing the view's proposal.
        core.entered = view == 0;
        core.safety = SafetyState { height, view, votes, proposed, view_change, prepared };
        core
    }

    /// The height being decided (last committed + 1).
    pub fn height(&self) -> u64 {
        self.height
    }

    pub fn view(&self) -> u64 {
        self.view
    }

    /// What would be persisted now.
    pub fn safety_state(&self) -> &SafetyState {
        &self.safety
    }

    /// The node's mempool holds transactions: start the view timer if it is not running, so a
    /// silent leader is replaced when there is work to do.
    pub fn on_pending_transactions(&mut self) -> Vec<Effect> {
        let mut fx = Fx::default();
        self.arm_timer(&mut fx);
        fx.finish(&self.safety)
    }

    /// The state transition.
    pub fn handle(&mut self, input: Input) -> Vec<Effect> {
        let mut fx = Fx::default();
        match input {
            Input::Start => self.on_start(&mut fx),
            Input::Message(m) => self.on_message(m, &mut fx),
            Input::Timeout(t) => self.on_timeout(t, &mut fx),
            Input::ProposalBuilt { height, view, block } => self.on_built(height, view, block, &mut fx),
            Input::ProposalValidated { height, view, block_hash, valid } => {
                self.on_validated(height, view, block_hash, valid, &mut fx)
            }
            Input::Synced { height } => self.on_synced(height, &mut fx),
        }
        fx.finish(&self.safety)
    }

    // ----- helpers -------------------------------------------------------------------------

    fn quorum(&self) -> usize {
        self.cfg.validators.quorum()
    }

    fn f(&self) -> usize {
        self.cfg.validators.f()
    }

    fn leads(&self, view: u64) -> bool {
        self.cfg.validators.leader(view) == self.me
    }

    fn timeout_for(&self, view: u64) -> u64 {
        let max = self.cfg.max_timeout_ms.max(self.cfg.base_timeout_ms);
        self.cfg.base_timeout_ms.saturating_mul(1u64 << view.min(32)).min(max)
    }

    /// Starts the timer of the current view unless one is already scheduled for it.
    fn arm_timer(&mut self, fx: &mut Fx) {
        if self.timer_view.is_some_and(|v| v >= self.view) {
            return;
        }
        self.rearm_timer(self.timeout_for(self.view), fx);
    }

    /// Schedules another expiry of the current view's timer (the previous one just fired).
    fn rearm_timer(&mut self, after_ms: u64, fx: &mut Fx) {
        self.timer_view = Some(self.view);
        self.progressed = false;
        let timeout = Timeout { height: self.height, view: self.view };
        fx.effects.push(Effect::ScheduleTimeout { timeout, after_ms });
    }

    /// Validators (us included) that asked for the current view or a later one.
    fn asking_for_current_view_or_later(&self) -> usize {
        let others = self.vc_views.iter().filter(|(a, v)| **a != self.me && **v >= self.view).count();
        others + usize::from(!self.entered && self.view > 0)
    }

    /// Notes a quorum of view changes for the current view or later, once per view.
    fn note_vc_quorum(&mut self) {
        if !self.vc_quorum && self.asking_for_current_view_or_later() >= self.quorum() {
            self.vc_quorum = true;
            self.progressed = true;
        }
    }

    fn checker(&self) -> Checker<'_> {
        Checker::plain(&self.cfg.network, &self.cfg.validators, &self.keys)
    }

    /// Whether exactly this signature was verified as a vote of this height.
    fn knows_vote(&self, kind: VoteKind, view: u64, hash: &Hash, voter: &AccountId, sig: &[u8; 64]) -> bool {
        self.tallies.get(&(kind, view, *hash)).and_then(|t| t.get(voter)).is_some_and(|s| s == sig)
    }

    fn add_block(&mut self, hash: Hash, block: Block) -> bool {
        if self.blocks.contains_key(&hash) || self.blocks.len() >= MAX_BLOCKS {
            return false;
        }
        self.blocks.insert(hash, block);
        true
    }

    /// Moves to `view` at this height: the votes and proposal of the old view are done with.
    fn set_view(&mut self, view: u64, entered: bool, fx: &mut Fx) {
        self.view = view;
        self.entered = entered;
        self.pending_build = None;
        self.safety.view = view;
        self.safety.votes.clear();
        self.safety.proposed = None;
        fx.dirty = true;
        self.view_changes = self.view_changes.split_off(&view);
        self.vc_quorum = false;
        self.progressed = false;
    }

    // ----- inputs --------------------------------------------------------------------------

    fn on_start(&mut self, fx: &mut Fx) {
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
            self.arm_timer(fx);
            fx.outbox.extend(self.safety.votes.iter().cloned().map(ConsensusMessage::Vote));
            if let Some(vc) = self.safety.view_change.as_ref().filter(|vc| vc.new_view == self.view) {
                fx.outbox.push(ConsensusMessage::ViewChange(vc.clone()));
            }
            // Our own votes count towards our certificates.
            for vote in self.safety.votes.clone() {
                self.record_vote(vote, fx);
            }
            if let Some(vc) = self.safety.view_change.clone().filter(|vc| vc.new_view == self.view) {
                self.record_view_change(vc, fx);
            }
        }
        self.maybe_build(fx);
    }

    /// Asks the node for a view-0 block if we lead it and have not proposed.
    fn maybe_build(&mut self, fx: &mut Fx) {
        if self.view == 0
            && self.entered
            && self.leads(0)
            && self.safety.proposed.is_none()
            && self.pending_build.is_none()
        {
            self.pending_build = Some(0);
            fx.effects.push(Effect::BuildProposal { height: self.height, view: 0 });
        }
    }

    fn on_timeout(&mut self, t: Timeout, fx: &mut Fx) {
        if t.height != self.height || t.view != self.view {
            return; // a timer of a view or height already left
        }
        // Stuck perhaps because we are behind: ask again.
        if self.missing_committed_block {
            fx.effects.push(Effect::Sync { height: self.height });
        }
        self.check_behind(true, fx);
        if self.progressed {
            // The view got somewhere since its timer was set (e.g. it was entered late in
            // the period): give it one more period before giving up on it.
            self.rearm_timer(self.timeout_for(self.view), fx);
            self.resend_view_change(fx);
            return;
        }
        if !self.entered && self.view > 0 && self.asking_for_current_view_or_later() < self.quorum() {
            // Too few validators asked for this view yet. Moving further alone would only put
            // us out of step with them (a node one view ahead of the rest, timing out first
            // every time, can starve every view of its quorum): re-send our view change, which
            // may have been lost, and keep waiting; f + 1 view changes above us still pull us up.
            self.rearm_timer(self.cfg.base_timeout_ms.min(self.timeout_for(self.view)), fx);
            self.resend_view_change(fx);
            return;
        }
        debug!(height = t.height, view = t.view, "view timed out");
        self.start_view_change(self.view.saturating_add(1), fx);
    }

    /// Broadcasts our view change for the current view again (the same signed message).
    fn resend_view_change(&mut self, fx: &mut Fx) {
        if let Some(vc) = self.safety.view_change.as_ref().filter(|vc| vc.new_view == self.view && !self.entered) {
            fx.outbox.push(ConsensusMessage::ViewChange(vc.clone()));
        }
    }

    fn on_built(&mut self, height: u64, view: u64, block: Block, fx: &mut Fx) {
        if height != self.height
            || view != self.view
            || self.pending_build != Some(view)
            || self.safety.proposed.is_some()
        {
            return;
        }
        if block.header.height != height || block.header.network != self.cfg.network {
            warn!(height, view, "the node built a block for another height or network; not proposing it");
            return;
        }
        self.pending_build = None;
        if view == 0 {
            if !self.entered {
                return;
            }
            let hash = block.header.hash();
            let proposal = Proposal::sign(&self.cfg.network, &self.cfg.key, height, 0, block.clone());
            self.safety.proposed = Some(hash);
            fx.dirty = true;
            fx.outbox.push(ConsensusMessage::Proposal(proposal));
            self.blocks.entry(hash).or_insert(block);
            self.proposals.insert(0, hash);
            // We built it, so it is valid by our own execution.
            self.validated.insert(hash);
            self.arm_timer(fx);
            self.try_vote_prepare(fx);
        } else {
            // A view change may have brought a prepared block meanwhile: that one must go.
            let block = self.required_block().unwrap_or(block);
            self.send_new_view(block, fx);
        }
    }

    fn on_validated(&mut self, height: u64, view: u64, block_hash: Hash, valid: bool, fx: &mut Fx) {
        if height != self.height {
            return;
        }
        if !valid {
            warn!(height, view, block = %block_hash, "proposed block is invalid; not voting for it");
            return;
        }
        self.validated.insert(block_hash);
        if view == self.view && self.proposals.get(&view) == Some(&block_hash) {
            self.try_vote_prepare(fx);
            if self.height == height {
                self.check_prepared(view, block_hash, fx);
            }
        }
    }

    fn on_synced(&mut self, height: u64, fx: &mut Fx) {
        if height < self.height {
            // The fetch fell short: let the next sign of being behind ask again.
            self.sync_requested = self.sync_requested.min(self.height.saturating_sub(1));
            return;
        }
        debug!(height, "synced");
        self.advance_to(height.saturating_add(1), fx);
    }

    fn on_message(&mut self, msg: ConsensusMessage, fx: &mut Fx) {
        let h = msg.height();
        if h < self.height {
            return; // stale: that height is decided
        }
        if h > self.height {
            self.on_future(msg, fx);
            return;
        }
        match msg {
            ConsensusMessage::Proposal(p) => self.on_proposal(p, fx),
            ConsensusMessage::Vote(v) => self.on_vote(v, fx),
            ConsensusMessage::ViewChange(vc) => self.on_view_change(vc, fx),
            ConsensusMessage::NewView(nv) => self.on_new_view(nv, fx),
        }
    }

    fn on_future(&mut self, msg: ConsensusMessage, fx: &mut Fx) {
        let h = msg.height();
        let sender = msg.sender();
        if sender == self.me {
            return;
        }
        let buffer_it = h <= self.height.saturating_add(FUTURE_HEIGHTS);
        if buffer_it && self.future.get(&h).is_some_and(|buf| buf.contains(&msg)) {
            return;
        }
        if !msg.verify_sender_by(&self.keys, &self.cfg.network, &self.cfg.validators) {
            return;
        }
        let seen = self.ahead.entry(sender).or_insert(0);
        *seen = (*seen).max(h);
        if buffer_it {
            let buf = self.future.entry(h).or_default();
            if buf.iter().filter(|m| m.sender() == sender).count() < FUTURE_PER_SENDER {
                buf.push(msg);
            }
        }
        self.check_behind(false, fx);
    }

    /// If f + 1 validators signed at heights above ours, at least one honest one is there, so
    /// the heights below it are committed: ask the node to fetch them.
    fn check_behind(&mut self, retry: bool, fx: &mut Fx) {
        let mut above: Vec<u64> = self.ahead.values().copied().filter(|&h| h > self.height).collect();
        let f = self.f();
        if above.len() <= f {
            return;
        }
        above.sort_unstable_by(|a, b| b.cmp(a));
        let target = above[f] - 1;
        if retry || target > self.sync_requested {
            self.sync_requested = self.sync_requested.max(target);
            fx.effects.push(Effect::Sync { height: target });
        }
    }

    fn on_proposal(&mut self, p: Proposal, fx: &mut Fx) {
        // A later view's proposal is only believed inside the NEW-VIEW that justifies it.
        if p.view != 0 {
            return;
        }
        let hash = p.block_hash();
        if let Some(known) = self.proposals.get(&0) {
            // Only a correctly signed second proposal is evidence worth a warning.
            if *known != hash && p.check(&self.checker()).is_ok() {
                warn!(height = self.height, leader = %p.proposer, "leader equivocates: second proposal for view 0 ignored");
            }
            return;
        }
        if let Err(e) = p.check(&self.checker()) {
            debug!(height = self.height, "proposal rejected: {e}");
            return;
        }
        let height = self.height;
        self.proposals.insert(0, hash);
        self.blocks.entry(hash).or_insert(p.block);
        self.arm_timer(fx);
        self.check_commits_for(hash, fx);
        if self.height == height && self.view == 0 && self.entered {
            self.consider_proposal(hash, fx);
        }
    }

    /// The proposal of the current view is known: have it validated, or vote at once if it
    /// already was (the same block re-proposed in a later view).
    fn consider_proposal(&mut self, hash: Hash, fx: &mut Fx) {
        if self.validated.contains(&hash) {
            let height = self.height;
            self.try_vote_prepare(fx);
            if self.height == height {
                self.check_prepared(self.view, hash, fx);
            }
        } else if let Some(block) = self.blocks.get(&hash) {
            fx.effects.push(Effect::ValidateProposal { height: self.height, view: self.view, block: block.clone() });
        }
    }

    fn try_vote_prepare(&mut self, fx: &mut Fx) {
        if !self.entered {
            return;
        }
        let Some(&hash) = self.proposals.get(&self.view) else { return };
        if !self.validated.contains(&hash) || self.safety.votes.iter().any(|v| v.kind == VoteKind::Prepare) {
            return;
        }
        self.sign_vote(VoteKind::Prepare, hash, fx);
    }

    /// Signs, records for persistence, queues for sending, and counts our own vote.
    fn sign_vote(&mut self, kind: VoteKind, hash: Hash, fx: &mut Fx) {
        let vote = Vote::sign(&self.cfg.network, &self.cfg.key, kind, self.height, self.view, hash);
        self.safety.votes.push(vote.clone());
        fx.dirty = true;
        fx.outbox.push(ConsensusMessage::Vote(vote.clone()));
        self.record_vote(vote, fx);
    }

    fn on_vote(&mut self, vote: Vote, fx: &mut Fx) {
        if !self.cfg.validators.contains(&vote.voter) || vote.view > self.view.saturating_add(VIEW_WINDOW) {
            return;
        }
        if self.voted.contains_key(&(vote.kind, vote.view, vote.voter)) {
            return; // duplicate, or a second vote by an equivocator: the first one counts
        }
        if !vote.verify_by(&self.keys, &self.cfg.network) {
            debug!(voter = %vote.voter, "vote with a bad signature ignored");
            return;
        }
        self.arm_timer(fx);
        self.record_vote(vote, fx);
    }

    /// Counts a verified vote of this height.
    fn record_vote(&mut self, vote: Vote, fx: &mut Fx) {
        let key = (vote.kind, vote.view, vote.voter);
        if self.voted.contains_key(&key) {
            return;
        }
        self.voted.insert(key, vote.block_hash);
        self.tallies.entry((vote.kind, vote.view, vote.block_hash)).or_default().insert(vote.voter, vote.signature);
        match vote.kind {
            VoteKind::Prepare => self.check_prepared(vote.view, vote.block_hash, fx),
            VoteKind::Commit => self.check_committed(vote.view, vote.block_hash, fx),
        }
    }

    fn signatures(&self, kind: VoteKind, view: u64, hash: Hash) -> Vec<(AccountId, [u8; 64])> {
        self.tallies.get(&(kind, view, hash)).map(|t| t.iter().map(|(a, s)| (*a, *s)).collect()).unwrap_or_default()
    }

    fn count(&self, kind: VoteKind, view: u64, hash: Hash) -> usize {
        self.tallies.get(&(kind, view, hash)).map_or(0, |t| t.len())
    }

    /// 2f + 1 PREPAREs for the current view's proposal: prepared. Remember the certificate and,
    /// if we PREPAREd that block ourselves, COMMIT.
    fn check_prepared(&mut self, view: u64, hash: Hash, fx: &mut Fx) {
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
                fx.dirty = true;
            }
        }
        let i_prepared = self.safety.votes.iter().any(|v| v.kind == VoteKind::Prepare && v.block_hash == hash);
        let i_committed = self.safety.votes.iter().any(|v| v.kind == VoteKind::Commit);
        if i_prepared && !i_committed {
            self.sign_vote(VoteKind::Commit, hash, fx);
        }
    }

    /// 2f + 1 COMMITs for a block, in any view: it is final.
    fn check_committed(&mut self, view: u64, hash: Hash, fx: &mut Fx) {
        if self.count(VoteKind::Commit, view, hash) < self.quorum() {
            return;
        }
        let Some(block) = self.blocks.get(&hash).cloned() else {
            // Decided without us seeing the block: fetch it with its certificate.
            self.missing_committed_block = true;
            if self.sync_requested < self.height {
                self.sync_requested = self.height;
                fx.effects.push(Effect::Sync { height: self.height });
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
        fx.effects.push(Effect::Commit { block, certificate });
        self.advance_to(self.height.saturating_add(1), fx);
    }

    /// A block just became known: it may complete a commit certificate.
    fn check_commits_for(&mut self, hash: Hash, fx: &mut Fx) {
        let views: Vec<u64> = self
            .tallies
            .iter()
            .filter(|((kind, _, h), t)| *kind == VoteKind::Commit && *h == hash && t.len() >= self.quorum())
            .map(|((_, view, _), _)| *view)
            .collect();
        if let Some(view) = views.first() {
            self.check_committed(*view, hash, fx);
        }
    }

    /// Garbage-collects everything of the decided heights and starts `height` at view 0.
    fn advance_to(&mut self, height: u64, fx: &mut Fx) {
        self.height = height;
        self.view = 0;
        self.entered = true;
        self.timer_view = None;
        self.pending_build = None;
        self.proposals.clear();
        self.blocks.clear();
        self.validated.clear();
        self.tallies.clear();
        self.voted.clear();
        self.view_changes.clear();
        self.vc_views.clear();
        self.missing_committed_block = false;
        self.progressed = false;
        self.vc_quorum = false;
        self.safety = SafetyState::new(height);
        fx.dirty = true;
        let buffered = self.future.remove(&height).unwrap_or_default();
        self.future = self.future.split_off(&height);
        self.maybe_build(fx);
        for msg in buffered {
            if self.height != height {
                break; // the replay itself decided this height
            }
            self.on_message(msg, fx);
        }
        if self.height == height {
            self.check_behind(false, fx);
        }
    }

    // ----- view change ---------------------------------------------------------------------

    fn start_view_change(&mut self, new_view: u64, fx: &mut Fx) {
        if new_view <= self.view {
            return;
        }
        debug!(height = self.height, new_view, "view change");
        self.set_view(new_view, false, fx);
        let vc =
            ViewChange::sign(&self.cfg.network, &self.cfg.key, self.height, new_view, self.safety.prepared.clone());
        self.safety.view_change = Some(vc.clone());
        fx.outbox.push(ConsensusMessage::ViewChange(vc.clone()));
        self.arm_timer(fx);
        self.record_view_change(vc, fx);
        if self.view == new_view && !self.entered {
            // A quorum already there at entry needs no extra period: the timer is fresh.
            self.note_vc_quorum();
            self.progressed = false;
        }
    }

    fn on_view_change(&mut self, vc: ViewChange, fx: &mut Fx) {
        let nv = vc.new_view;
        if nv == 0 || !self.cfg.validators.contains(&vc.voter) || vc.voter == self.me {
            return;
        }
        if nv < self.view || (nv == self.view && self.entered) {
            return; // we are past it
        }
        if self.vc_views.get(&vc.voter).is_some_and(|&v| v >= nv) {
            return; // duplicate, or older than what this validator already asked for
        }
        if !vc.signed_by(&self.keys, &self.cfg.network) {
            debug!(voter = %vc.voter, "view change with a bad signature ignored");
            return;
        }
        self.arm_timer(fx);
        self.vc_views.insert(vc.voter, nv);
        if !self.entered {
            self.note_vc_quorum();
        }
        if nv <= self.view.saturating_add(VIEW_WINDOW) {
            let valid = {
                let known = |kind: VoteKind, view: u64, hash: &Hash, voter: &AccountId, sig: &[u8; 64]| {
                    self.knows_vote(kind, view, hash, voter, sig)
                };
                let mut c = self.checker();
                c.known_sig = &known;
                vc.check(&c)
            };
            match valid {
                Ok(()) => self.record_view_change(vc, fx),
                Err(e) => debug!("view change rejected: {e}"),
            }
        }
        self.maybe_join_view_change(fx);
    }

    /// Stores a verified view change (ours or another's) and acts on it.
    fn record_view_change(&mut self, vc: ViewChange, fx: &mut Fx) {
        let height = self.height;
        let nv = vc.new_view;
        if let Some((cert, block)) = &vc.prepared {
            let hash = cert.block_hash;
            if self.add_block(hash, block.clone()) {
                self.check_commits_for(hash, fx);
                if self.height != height {
                    return;
                }
            }
        }
        if nv >= self.view {
            self.view_changes.entry(nv).or_default().entry(vc.voter).or_insert(vc);
        }
        self.try_new_view(fx);
    }

    /// f + 1 validators asked for views above ours: at least one honest one gave up on our
    /// view, so join them at the highest view that f + 1 of them reached.
    fn maybe_join_view_change(&mut self, fx: &mut Fx) {
        let mut higher: Vec<u64> =
            self.vc_views.iter().filter(|(a, v)| **a != self.me && **v > self.view).map(|(_, v)| *v).collect();
        let f = self.f();
        if higher.len() <= f {
            return;
        }
        higher.sort_unstable_by(|a, b| b.cmp(a));
        self.start_view_change(higher[f], fx);
    }

    /// The block the NEW-VIEW for the current view must carry, per the view changes we hold.
    fn required_block(&self) -> Option<Block> {
        let vcs: Vec<ViewChange> =
            self.view_changes.get(&self.view).map(|m| m.values().cloned().collect()).unwrap_or_default();
        let (view, hash) = NewView::required_block(&vcs)?;
        vcs.into_iter().find_map(|vc| match vc.prepared {
            Some((c, b)) if c.view == view && c.block_hash == hash => Some(b),
            _ => None,
        })
    }

    /// As the new leader with 2f + 1 view changes: re-propose the highest prepared block, or
    /// ask the node for a new one.
    fn try_new_view(&mut self, fx: &mut Fx) {
        if self.entered || self.view == 0 || !self.leads(self.view) || self.safety.proposed.is_some() {
            return;
        }
        if self.view_changes.get(&self.view).map_or(0, |m| m.len()) < self.quorum() {
            return;
        }
        match self.required_block() {
            Some(block) => self.send_new_view(block, fx),
            None => {
                if self.pending_build != Some(self.view) {
                    self.pending_build = Some(self.view);
                    fx.effects.push(Effect::BuildProposal { height: self.height, view: self.view });
                }
            }
        }
    }

    fn send_new_view(&mut self, block: Block, fx: &mut Fx) {
        let view_changes: Vec<ViewChange> =
            self.view_changes.get(&self.view).map(|m| m.values().cloned().collect()).unwrap_or_default();
        if self.entered || view_changes.len() < self.quorum() || self.safety.proposed.is_some() {
            return;
        }
        let hash = block.header.hash();
        let proposal = Proposal::sign(&self.cfg.network, &self.cfg.key, self.height, self.view, block.clone());
        self.safety.proposed = Some(hash);
        self.pending_build = None;
        fx.dirty = true;
        fx.outbox.push(ConsensusMessage::NewView(NewView {
            height: self.height,
            view: self.view,
            view_changes,
            proposal,
        }));
        debug!(height = self.height, view = self.view, block = %hash, "new view");
        self.entered = true;
        self.progressed = true;
        self.blocks.entry(hash).or_insert(block);
        self.proposals.insert(self.view, hash);
        // Either built by us or prepared by a quorum: valid either way.
        self.validated.insert(hash);
        self.try_vote_prepare(fx);
    }

    fn on_new_view(&mut self, nv: NewView, fx: &mut Fx) {
        if nv.view == 0 || nv.view > self.view.saturating_add(VIEW_WINDOW) {
            return;
        }
        let hash = nv.proposal.block_hash();
        let height = self.height;
        if nv.view < self.view || (nv.view == self.view && self.entered) {
            // Too late to vote in it, but its block may complete a commit certificate.
            // One block per view: a faulty leader cannot flood us with its proposals.
            if !self.proposals.contains_key(&nv.view) && nv.proposal.check(&self.checker()).is_ok() {
                self.proposals.insert(nv.view, hash);
                if self.add_block(hash, nv.proposal.block) {
                    self.check_commits_for(hash, fx);
                }
            }
            return;
        }
        let verdict = {
            let known_vcs = self.view_changes.get(&nv.view);
            let known_vc = |vc: &ViewChange| known_vcs.and_then(|m| m.get(&vc.voter)).is_some_and(|k| k == vc);
            let known_sig = |kind: VoteKind, view: u64, hash: &Hash, voter: &AccountId, sig: &[u8; 64]| {
                self.knows_vote(kind, view, hash, voter, sig)
            };
            let mut c = self.checker();
            c.known_sig = &known_sig;
            c.known_vc = &known_vc;
            nv.check(&c)
        };
        if let Err(e) = verdict {
            debug!(height = nv.height, view = nv.view, "NEW-VIEW rejected: {e}");
            return;
        }
        if nv.view > self.view {
            self.set_view(nv.view, true, fx);
        } else {
            self.entered = true;
            self.progressed = true;
        }
        self.pending_build = None;
        // The current view's proposal is always kept, whatever the bound.
        self.blocks.entry(hash).or_insert(nv.proposal.block);
        self.proposals.insert(nv.view, hash);
        self.arm_timer(fx);
        self.check_commits_for(hash, fx);
        if self.height == height && self.blocks.contains_key(&hash) {
            self.consider_proposal(hash, fx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{app_accepts, make_block, tip_hash};
    use std::collections::VecDeque;

    const BASE: u64 = 1_000;

    struct Node {
        core: Option<Core>,
        cfg: CoreConfig,
        disk: Option<SafetyState>,
        chain: Vec<(Block, CommitCertificate)>,
        timers: Vec<Timeout>,
        syncs: Vec<u64>,
        builds: Vec<(u64, u64)>,
        sent: Vec<ConsensusMessage>,
    }

    type Filter = Box<dyn FnMut(usize, usize, &ConsensusMessage) -> bool>;

    /// Runs Cores against each other synchronously: FIFO delivery, instant app answers,
    /// timers fired only on request.
    struct Harness {
        net: NetworkId,
        keys: Vec<Keypair>,
        set: ValidatorSet,
        nodes: Vec<Node>,
        work: VecDeque<(usize, Input)>,
        /// Blocks are built for heights up to this one.
        build_until: u64,
        /// Whether a message from one node reaches another.
        filter: Filter,
    }

    impl Harness {
        fn new(n: usize) -> Harness {
            let net = NetworkId::new("test").expect("id");
            let keys: Vec<Keypair> = (0..n).map(|i| Keypair::from_name(&format!("core-test-{i}"))).collect();
            let set = ValidatorSet::new(keys.iter().map(|k| k.account()).collect()).expect("set");
            let nodes = keys
                .iter()
                .map(|key| {
                    let cfg = CoreConfig {
                        network: net.clone(),
                        validators: set.clone(),
                        key: key.clone(),
                        base_timeout_ms: BASE,
                        max_timeout_ms: 8 * BASE,
                    };
                    Node {
                        core: Some(Core::new(cfg.clone(), 1)),
                        cfg,
                        disk: None,
                        chain: vec![],
                        timers: vec![],
                        syncs: vec![],
                        builds: vec![],
                        sent: vec![],
                    }
                })
                .collect();
            Harness { net, keys, set, nodes, work: VecDeque::new(), build_until: 1, filter: Box::new(|_, _, _| true) }
        }

        fn start(&mut self, ids: &[usize]) {
            for &i in ids {
                self.work.push_back((i, Input::Start));
            }
            self.run();
        }

        fn pending(&mut self, ids: &[usize]) {
            for &i in ids {
                let fx = self.nodes[i].core.as_mut().map(|c| c.on_pending_transactions()).unwrap_or_default();
                self.apply(i, fx);
            }
            self.run();
        }

        /// Feeds one input and returns its effects (also carried out).
        fn feed(&mut self, i: usize, input: Input) -> Vec<Effect> {
            let Some(core) = self.nodes[i].core.as_mut() else { return vec![] };
            let fx = core.handle(input);
            self.apply(i, fx.clone());
            fx
        }

        fn run(&mut self) {
            let mut steps = 0;
            while let Some((i, input)) = self.work.pop_front() {
                self.feed(i, input);
                steps += 1;
                assert!(steps < 100_000, "the harness does not settle");
            }
        }

        /// Fires the timer of the current (height, view) at each node that scheduled it.
        fn timeout(&mut self, ids: &[usize]) {
            for &i in ids {
                let Some(core) = self.nodes[i].core.as_ref() else { continue };
                let t = Timeout { height: core.height(), view: core.view() };
                if self.nodes[i].timers.contains(&t) {
                    self.work.push_back((i, Input::Timeout(t)));
                }
            }
            self.run();
        }

        fn apply(&mut self, i: usize, effects: Vec<Effect>) {
            for e in effects {
                match e {
                    Effect::Persist(s) => self.nodes[i].disk = Some(s),
                    Effect::Broadcast(m) => {
                        let disk = self.nodes[i].disk.as_ref().expect("persisted before the first broadcast");
                        let covered = match &m {
                            ConsensusMessage::Vote(v) => disk.covers_vote(v),
                            ConsensusMessage::ViewChange(vc) => disk.covers_view_change(vc),
                            ConsensusMessage::Proposal(p) => disk.covers_proposal(p.height, p.view, &p.block_hash()),
                            ConsensusMessage::NewView(nv) => {
                                disk.covers_proposal(nv.height, nv.view, &nv.proposal.block_hash())
                            }
                        };
                        assert!(covered, "node {i} sent {m:?} before persisting it");
                        self.nodes[i].sent.push(m.clone());
                        for j in 0..self.nodes.len() {
                            if j != i && self.nodes[j].core.is_some() && (self.filter)(i, j, &m) {
                                self.work.push_back((j, Input::Message(m.clone())));
                            }
                        }
                    }
                    Effect::BuildProposal { height, view } => {
                        self.nodes[i].builds.push((height, view));
                        let chain = &self.nodes[i].chain;
                        if height <= self.build_until && chain.len() as u64 + 1 == height {
                            let block = make_block(&self.net, height, tip_hash(chain), self.keys[i].account(), 0);
                            self.work.push_back((i, Input::ProposalBuilt { height, view, block }));
                        }
                    }
                    Effect::ValidateProposal { height, view, block } => {
                        let valid = app_accepts(&self.net, &self.nodes[i].chain, &block);
                        let block_hash = block.header.hash();
                        self.work.push_back((i, Input::ProposalValidated { height, view, block_hash, valid }));
                    }
                    Effect::Commit { block, certificate } => {
                        certificate.verify(&self.net, &self.set).expect("a valid commit certificate");
                        assert_eq!(certificate.block_hash, block.header.hash());
                        let chain = &mut self.nodes[i].chain;
                        assert_eq!(block.header.height, chain.len() as u64 + 1);
                        assert_eq!(block.header.parent_hash, tip_hash(chain));
                        chain.push((block, certificate));
                    }
                    Effect::ScheduleTimeout { timeout, .. } => self.nodes[i].timers.push(timeout),
                    Effect::Sync { height } => self.nodes[i].syncs.push(height),
                }
            }
        }

        fn committed(&self, i: usize) -> Vec<Hash> {
            self.nodes[i].chain.iter().map(|(b, _)| b.header.hash()).collect()
        }

        fn crash(&mut self, i: usize) {
            self.nodes[i].core = None;
            self.work.retain(|(j, _)| *j != i);
        }

        fn restore(&mut self, i: usize) {
            let saved = self.nodes[i].disk.clone().expect("something persisted");
            self.nodes[i].core = Some(Core::restore(self.nodes[i].cfg.clone(), saved));
            self.nodes[i].timers.clear();
        }

        fn block(&self, height: u64, proposer: usize, salt: u64) -> Block {
            let parent = self
                .nodes
                .iter()
                .find(|n| n.chain.len() as u64 + 1 == height)
                .map(|n| tip_hash(&n.chain))
                .unwrap_or_default();
            make_block(&self.net, height, parent, self.keys[proposer].account(), salt)
        }

        fn vote(&self, signer: usize, kind: VoteKind, height: u64, view: u64, hash: Hash) -> ConsensusMessage {
            ConsensusMessage::Vote(Vote::sign(&self.net, &self.keys[signer], kind, height, view, hash))
        }

        fn votes_sent(&self, i: usize, kind: VoteKind) -> Vec<(u64, u64, Hash)> {
            self.nodes[i]
                .sent
                .iter()
                .filter_map(|m| match m {
                    ConsensusMessage::Vote(v) if v.kind == kind => Some((v.height, v.view, v.block_hash)),
                    _ => None,
                })
                .collect()
        }
    }

    #[test]
    fn four_validators_commit_in_the_normal_case() {
        let mut h = Harness::new(4);
        h.build_until = 3;
        h.start(&[0, 1, 2, 3]);
        for i in 0..4 {
            assert_eq!(h.nodes[i].chain.len(), 3, "node {i}");
            assert_eq!(h.committed(i), h.committed(0));
            let core = h.nodes[i].core.as_ref().expect("up");
            assert_eq!((core.height(), core.view()), (4, 0));
        }
        // The leader of view 0 proposed every block; nobody needed a view change.
        assert!(h.nodes[0].chain.iter().all(|(b, _)| b.header.proposer == h.keys[0].account()));
        assert!(h.nodes.iter().all(|n| !n.sent.iter().any(|m| matches!(m, ConsensusMessage::ViewChange(_)))));
        assert_eq!(h.nodes[0].builds, vec![(1, 0), (2, 0), (3, 0), (4, 0)]);
        // Each validator signed one PREPARE and one COMMIT per height.
        for i in 0..4 {
            assert_eq!(h.votes_sent(i, VoteKind::Prepare).len(), 3);
            assert_eq!(h.votes_sent(i, VoteKind::Commit).len(), 3);
        }
    }

    #[test]
    fn an_idle_chain_schedules_no_timer_until_there_is_work() {
        let mut h = Harness::new(4);
        h.build_until = 0; // the leader's node waits for transactions
        h.start(&[0, 1, 2, 3]);
        assert_eq!(h.nodes[0].builds, vec![(1, 0)]);
        assert!(h.nodes.iter().all(|n| n.timers.is_empty()), "no timer on an idle chain");
        h.pending(&[1]);
        assert_eq!(h.nodes[1].timers, vec![Timeout { height: 1, view: 0 }]);
        h.pending(&[1]);
        assert_eq!(h.nodes[1].timers.len(), 1, "one timer per view");
    }

    #[test]
    fn a_dead_leader_is_replaced_by_a_view_change() {
        let mut h = Harness::new(4);
        h.crash(0);
        h.start(&[1, 2, 3]);
        h.pending(&[1, 2, 3]);
        assert!(h.nodes[1].chain.is_empty());
        h.timeout(&[1, 2, 3]);
        for i in 1..4 {
            assert_eq!(h.nodes[i].chain.len(), 1, "node {i} committed through view 1");
            assert_eq!(h.committed(i), h.committed(1));
            assert_eq!(h.nodes[i].chain[0].1.view, 1);
        }
        assert_eq!(h.nodes[1].chain[0].0.header.proposer, h.keys[1].account(), "the leader of view 1 proposed");
        assert_eq!(h.nodes[1].builds, vec![(1, 1)]);
    }

    #[test]
    fn the_view_timer_backs_off_exponentially() {
        let mut h = Harness::new(4);
        h.filter = Box::new(|_, _, _| false);
        h.start(&[0, 1, 2, 3]);
        let mut after = vec![];
        for view in 1..=6 {
            // f + 1 = 2 validators ask for `view`: validator 2 joins them.
            for j in [1, 3] {
                let vc = ViewChange::sign(&h.net, &h.keys[j], 1, view, None);
                let fx = h.feed(2, Input::Message(ConsensusMessage::ViewChange(vc)));
                after.extend(fx.iter().filter_map(|e| match e {
                    Effect::ScheduleTimeout { timeout, after_ms } if timeout.view == view => Some(*after_ms),
                    _ => None,
                }));
            }
            assert_eq!(h.nodes[2].core.as_ref().map(|c| c.view()), Some(view));
        }
        assert_eq!(after, vec![2 * BASE, 4 * BASE, 8 * BASE, 8 * BASE, 8 * BASE, 8 * BASE]);
    }

    #[test]
    fn a_validator_alone_in_a_view_change_waits_and_re_sends() {
        let mut h = Harness::new(4);
        h.crash(0);
        h.filter = Box::new(|_, _, _| false); // validator 2 hears nobody
        h.start(&[1, 2, 3]);
        h.pending(&[2]);
        h.timeout(&[2]);
        assert_eq!(h.nodes[2].core.as_ref().map(|c| c.view()), Some(1));
        for _ in 0..3 {
            let fx = h.feed(2, Input::Timeout(Timeout { height: 1, view: 1 }));
            // Still view 1: the same signed view change again, and a short wait.
            assert_eq!(h.nodes[2].core.as_ref().map(|c| c.view()), Some(1));
            let vc = h.nodes[2].disk.as_ref().and_then(|d| d.view_change.clone()).expect("signed");
            assert!(fx.contains(&Effect::Broadcast(ConsensusMessage::ViewChange(vc))));
            let timeout = Timeout { height: 1, view: 1 };
            assert!(fx.contains(&Effect::ScheduleTimeout { timeout, after_ms: BASE }));
        }
        // Once a quorum asked for view 1 (or later), its expiry moves on to view 2.
        for j in [1, 3] {
            let vc = ViewChange::sign(&h.net, &h.keys[j], 1, 1, None);
            h.feed(2, Input::Message(ConsensusMessage::ViewChange(vc)));
        }
        h.feed(2, Input::Timeout(Timeout { height: 1, view: 1 })); // the quorum is new: one more period
        assert_eq!(h.nodes[2].core.as_ref().map(|c| c.view()), Some(1));
        h.feed(2, Input::Timeout(Timeout { height: 1, view: 1 }));
        assert_eq!(h.nodes[2].core.as_ref().map(|c| c.view()), Some(2));
    }

    #[test]
    fn a_prepared_block_is_re_proposed_after_a_view_change() {
        let mut h = Harness::new(4);
        // Every COMMIT is lost: validators get prepared but cannot finish view 0.
        h.filter =
            Box::new(|_, _, m| !matches!(m, ConsensusMessage::Vote(v) if v.kind == VoteKind::Commit && v.view == 0));
        h.start(&[0, 1, 2, 3]);
        let prepared = h.nodes[2].disk.as_ref().and_then(|d| d.prepared.clone()).expect("node 2 prepared");
        let x = prepared.0.block_hash;
        assert!(h.nodes.iter().all(|n| n.chain.is_empty()));
        h.pending(&[0, 1, 2, 3]);
        // Being prepared is progress: the first expiry grants the view one more period.
        h.timeout(&[0, 1, 2, 3]);
        assert!(h.nodes.iter().all(|n| n.core.as_ref().is_some_and(|c| c.view() == 0)));
        h.timeout(&[0, 1, 2, 3]);
        for i in 0..4 {
            assert_eq!(h.committed(i), vec![x], "node {i} commits the block prepared in view 0");
        }
        assert!(h.nodes[1].builds.is_empty(), "the new leader re-proposes instead of building");
    }

    #[test]
    fn an_equivocating_leader_cannot_make_two_blocks_final() {
        let mut h = Harness::new(4);
        h.crash(0); // validator 0 is byzantine: driven by hand below
        h.start(&[1, 2, 3]);
        let x = h.block(1, 0, 1);
        let y = h.block(1, 0, 2);
        let (hx, hy) = (x.header.hash(), y.header.hash());
        // Validator 1 only hears X; 2 and 3 only hear Y (and talk among themselves).
        h.filter = Box::new(|from, to, _| !(from == 1 || to == 1));
        let px = ConsensusMessage::Proposal(Proposal::sign(&h.net, &h.keys[0], 1, 0, x));
        let py = ConsensusMessage::Proposal(Proposal::sign(&h.net, &h.keys[0], 1, 0, y));
        h.work.push_back((1, Input::Message(px.clone())));
        h.work.push_back((2, Input::Message(py.clone())));
        h.work.push_back((3, Input::Message(py)));
        h.run();
        // Validator 1 now also sees Y proposed: ignored as equivocation.
        let before = h.nodes[1].sent.len();
        let p2 = ConsensusMessage::Proposal(Proposal::sign(&h.net, &h.keys[0], 1, 0, h.block(1, 0, 2)));
        assert!(h.feed(1, Input::Message(p2)).is_empty());
        assert_eq!(h.nodes[1].sent.len(), before);
        // The byzantine validator votes for both, to each side.
        for kind in [VoteKind::Prepare, VoteKind::Commit] {
            if kind == VoteKind::Prepare {
                let vx = h.vote(0, kind, 1, 0, hx);
                h.work.push_back((1, Input::Message(vx)));
            }
            for j in [2, 3] {
                let vy = h.vote(0, kind, 1, 0, hy);
                h.work.push_back((j, Input::Message(vy)));
            }
            h.run();
        }
        assert_eq!(h.committed(2), vec![hy]);
        assert_eq!(h.committed(3), vec![hy]);
        assert!(h.nodes[1].chain.is_empty(), "X never gathers a quorum");
        assert_eq!(h.votes_sent(1, VoteKind::Prepare), vec![(1, 0, hx)]);
        // Once 1 hears the others' COMMITs for Y it knows Y is final but lacks the block.
        h.filter = Box::new(|_, _, _| true);
        for j in [0, 2, 3] {
            let v = h.vote(j, VoteKind::Commit, 1, 0, hy);
            h.feed(1, Input::Message(v));
        }
        assert!(h.nodes[1].chain.is_empty());
        assert_eq!(h.nodes[1].syncs, vec![1], "validator 1 fetches the final block");
        assert_eq!(h.votes_sent(1, VoteKind::Commit), vec![], "1 never commits X");
    }

    #[test]
    fn forged_and_foreign_messages_are_ignored() {
        let mut h = Harness::new(4);
        h.start(&[1]);
        let x = h.block(1, 0, 0);
        let hx = x.header.hash();
        let outsider = Keypair::from_name("outsider");

        // A vote with a bad signature, and one by a non-validator.
        let mut bad = Vote::sign(&h.net, &h.keys[2], VoteKind::Prepare, 1, 0, hx);
        bad.signature[5] ^= 0x40;
        assert!(h.feed(1, Input::Message(ConsensusMessage::Vote(bad))).is_empty());
        let foreign = Vote::sign(&h.net, &outsider, VoteKind::Commit, 1, 0, hx);
        assert!(h.feed(1, Input::Message(ConsensusMessage::Vote(foreign))).is_empty());
        // A vote signed for another network.
        let other_net = NetworkId::new("other").expect("id");
        let wrong_net = Vote::sign(&other_net, &h.keys[2], VoteKind::Prepare, 1, 0, hx);
        assert!(h.feed(1, Input::Message(ConsensusMessage::Vote(wrong_net))).is_empty());
        // A proposal by a validator that does not lead view 0.
        let p = Proposal::sign(&h.net, &h.keys[2], 1, 0, x.clone());
        assert!(h.feed(1, Input::Message(ConsensusMessage::Proposal(p))).is_empty());
        // A proposal for view 1 outside a NEW-VIEW.
        let p = Proposal::sign(&h.net, &h.keys[1], 1, 1, x.clone());
        assert!(h.feed(2, Input::Message(ConsensusMessage::Proposal(p.clone()))).is_empty());
        // A NEW-VIEW with too few view changes, and one with a forged view change.
        let (net, keys) = (h.net.clone(), h.keys.clone());
        let vc = |i: usize| ViewChange::sign(&net, &keys[i], 1, 1, None);
        let short = NewView { height: 1, view: 1, view_changes: vec![vc(0), vc(1)], proposal: p.clone() };
        assert!(h.feed(2, Input::Message(ConsensusMessage::NewView(short))).is_empty());
        let mut forged = vc(3);
        forged.signature[0] ^= 1;
        let nv = NewView { height: 1, view: 1, view_changes: vec![vc(0), vc(1), forged], proposal: p };
        assert!(h.feed(2, Input::Message(ConsensusMessage::NewView(nv))).is_empty());
        assert_eq!(h.nodes[2].core.as_ref().map(|c| c.view()), Some(0));
        // A view change carrying a prepared certificate with a forged signature does not count
        // towards a NEW-VIEW: leader 1 of view 1 holds its own and one valid one only.
        let sigs: Vec<(AccountId, [u8; 64])> = [0, 2, 3]
            .iter()
            .map(|&i| {
                let v = Vote::sign(&h.net, &h.keys[i], VoteKind::Prepare, 1, 0, hx);
                (v.voter, v.signature)
            })
            .collect();
        let mut cert = PreparedCertificate { height: 1, view: 0, block_hash: hx, signatures: sigs };
        cert.signatures[2].1[9] ^= 2;
        let with_bad_cert = ViewChange::sign(&h.net, &h.keys[3], 1, 1, Some((cert, x)));
        h.feed(1, Input::Timeout(Timeout { height: 1, view: 0 }));
        h.feed(1, Input::Message(ConsensusMessage::ViewChange(with_bad_cert)));
        h.feed(1, Input::Message(ConsensusMessage::ViewChange(vc(2))));
        assert!(h.nodes[1].builds.is_empty(), "only 2 valid view changes: no NEW-VIEW yet");
        h.feed(1, Input::Message(ConsensusMessage::ViewChange(vc(0))));
        assert_eq!(h.nodes[1].builds, vec![(1, 1)], "the third valid view change completes the quorum");
    }

    #[test]
    fn stale_and_duplicate_messages_are_ignored() {
        let mut h = Harness::new(4);
        h.build_until = 1;
        h.start(&[0, 1, 2, 3]);
        assert_eq!(h.nodes[1].chain.len(), 1);
        let stale_vote = h.vote(2, VoteKind::Commit, 1, 0, h.committed(0)[0]);
        assert!(h.feed(1, Input::Message(stale_vote)).is_empty());
        let stale_vc = ConsensusMessage::ViewChange(ViewChange::sign(&h.net, &h.keys[2], 1, 1, None));
        assert!(h.feed(1, Input::Message(stale_vc)).is_empty());
        let stale_timer = Input::Timeout(Timeout { height: 1, view: 0 });
        assert!(h.feed(1, stale_timer).is_empty());
        // Height 2: a vote counts once however often it arrives.
        let v = h.vote(2, VoteKind::Prepare, 2, 0, Hash([7; 32]));
        assert!(!h.feed(1, Input::Message(v.clone())).is_empty(), "the first copy starts the timer");
        assert!(h.feed(1, Input::Message(v)).is_empty());
    }

    #[test]
    fn a_restarted_validator_never_signs_a_conflicting_vote() {
        let mut h = Harness::new(4);
        h.crash(0); // byzantine leader, by hand
        h.start(&[1, 2, 3]);
        let x = h.block(1, 0, 1);
        let y = h.block(1, 0, 2);
        let px = Proposal::sign(&h.net, &h.keys[0], 1, 0, x.clone());
        let py = Proposal::sign(&h.net, &h.keys[0], 1, 0, y.clone());
        h.filter = Box::new(|_, _, _| false); // node 2 alone
        h.feed(2, Input::Message(ConsensusMessage::Proposal(px)));
        h.run();
        assert_eq!(h.votes_sent(2, VoteKind::Prepare), vec![(1, 0, x.header.hash())]);

        h.crash(2);
        h.restore(2);
        let fx = h.feed(2, Input::Start);
        // It re-sends the vote it had signed (identical), and nothing else.
        let resent: Vec<&Effect> = fx.iter().filter(|e| matches!(e, Effect::Broadcast(_))).collect();
        assert_eq!(resent.len(), 1);
        assert_eq!(h.votes_sent(2, VoteKind::Prepare), vec![(1, 0, x.header.hash()); 2]);
        // The equivocating leader's other block, though valid, gets no PREPARE.
        h.feed(2, Input::Message(ConsensusMessage::Proposal(py)));
        h.run();
        h.feed(2, Input::ProposalValidated { height: 1, view: 0, block_hash: y.header.hash(), valid: true });
        assert!(h.votes_sent(2, VoteKind::Prepare).iter().all(|(_, _, b)| *b == x.header.hash()));
        // Even with a quorum of PREPAREs for Y it does not COMMIT Y: it never prepared it.
        for j in [0, 1, 3] {
            let v = h.vote(j, VoteKind::Prepare, 1, 0, y.header.hash());
            h.feed(2, Input::Message(v));
        }
        assert!(h.votes_sent(2, VoteKind::Commit).is_empty());

        // After a view change, a restart keeps the view: no vote in view 0 any more. (Y got
        // prepared meanwhile, which earns view 0 one more timer period: two expiries.)
        h.feed(2, Input::Timeout(Timeout { height: 1, view: 0 }));
        h.feed(2, Input::Timeout(Timeout { height: 1, view: 0 }));
        assert_eq!(h.nodes[2].disk.as_ref().map(|d| d.view), Some(1));
        h.crash(2);
        h.restore(2);
        h.feed(2, Input::Start);
        assert_eq!(h.nodes[2].core.as_ref().map(|c| (c.height(), c.view())), Some((1, 1)));
        let p0 = Proposal::sign(&h.net, &h.keys[0], 1, 0, x.clone());
        h.feed(2, Input::Message(ConsensusMessage::Proposal(p0)));
        h.feed(2, Input::ProposalValidated { height: 1, view: 0, block_hash: x.header.hash(), valid: true });
        assert!(h.votes_sent(2, VoteKind::Prepare).iter().all(|(_, v, _)| *v == 0));
        assert_eq!(h.votes_sent(2, VoteKind::Prepare).len(), 2, "no new vote after the restart");
    }

    #[test]
    fn a_lagging_validator_catches_up_through_sync() {
        let mut h = Harness::new(4);
        h.build_until = 2;
        h.crash(3);
        h.start(&[0, 1, 2]);
        assert_eq!(h.nodes[0].chain.len(), 2);
        // Validator 3 comes back at height 1 and hears height 3's traffic.
        h.nodes[3].core = Some(Core::new(h.nodes[3].cfg.clone(), 1));
        h.build_until = 3;
        h.start(&[3]);
        let b3 = h.block(3, 0, 0);
        let p = ConsensusMessage::Proposal(Proposal::sign(&h.net, &h.keys[0], 3, 0, b3.clone()));
        h.feed(3, Input::Message(p.clone()));
        assert!(h.nodes[3].syncs.is_empty(), "one validator ahead proves nothing");
        let v = h.vote(1, VoteKind::Prepare, 3, 0, b3.header.hash());
        h.feed(3, Input::Message(v));
        assert_eq!(h.nodes[3].syncs, vec![2], "f + 1 validators at height 3: heights up to 2 are final");
        // The node fetches, verifies and applies the blocks, then reports.
        let fetched = h.nodes[0].chain.clone();
        for (b, c) in fetched {
            c.verify(&h.net, &h.set).expect("certificate");
            h.nodes[3].chain.push((b, c));
        }
        h.feed(3, Input::Synced { height: 2 });
        h.run();
        // The buffered height-3 proposal was replayed: validator 3 validated and voted.
        assert_eq!(h.nodes[3].core.as_ref().map(|c| c.height()), Some(3));
        assert_eq!(h.votes_sent(3, VoteKind::Prepare), vec![(3, 0, b3.header.hash())]);
    }
}
