//! The PBFT core: a pure state machine, `(state, input) -> effects`.
//!
//! No IO, no clock, no randomness: the node feeds inputs (messages, timeouts, execution results)
//! and carries out the returned effects in order. Block-level PBFT: each height is decided by
//! PRE-PREPARE (proposal) → PREPARE → COMMIT in views 0, 1, 2…; the leader of (height, view) is
//! `validators[(height − 1 + view) mod n]` (`ValidatorSet::leader`); 2f + 1 COMMITs form the
//! commit certificate that makes a block final.
//!
//! Safety rules, each relied upon by the view-change argument:
//! - a node votes only in its current view, at most one PREPARE and one COMMIT per view, and
//!   only after it has entered the view (view 0, or a verified NEW-VIEW);
//! - it COMMITs only a block it PREPAREd in the same view and saw 2f + 1 PREPAREs for;
//! - views only grow within a height, and every signature is persisted before it is sent
//!   (`Effect::Persist` precedes the `Effect::Broadcast`s of one `handle` call);
//! - a view change signs (view, hash) of the highest prepared certificate it holds, and a
//!   NEW-VIEW must re-propose the highest prepared block among its 2f + 1 view changes, with
//!   that block's certificate (once: the view changes inside it carry no proof);
//! - a block body is kept only if it is the one its header's tx root commits to.
//!
//! Liveness rules:
//! - the leader rotates with the height: one faulty validator leads view 0 of one height in n;
//! - a view's timer runs only when there is work: a proposal, vote or view change seen for the
//!   height, or `Input::TransactionsPending` (an idle chain never changes view);
//! - on expiry the node moves to the next view, unless the view progressed since the timer was
//!   set (quorum of view changes, NEW-VIEW, prepared: one more period), or the node is waiting in
//!   a view change that fewer than 2f + 1 validators joined (it re-sends its view change every
//!   base timeout instead, so no node races ahead of the others);
//! - f + 1 view changes for higher views pull a node up to them;
//! - f + 1 validators seen at higher heights, or a commit certificate for an unknown block,
//!   make the node ask for a `Sync`;
//! - what a faulty validator can make us hold is bounded in bytes: messages for later heights
//!   (`FUTURE_BYTES_PER_SENDER`, `FUTURE_BYTES_TOTAL`) and candidate blocks (`MAX_BLOCK_BYTES`).
//!
//! Layout: this module holds the state, `Core::handle` (which dispatches each `Input` to its
//! handler) and the transitions several handlers share (`set_view`, `advance_to`). Each input
//! has its own module: `start`, `pending` (transactions waiting), `timer`, `proposal` (and its
//! validation), `build` (our own proposal), `vote`, `view_change`, `new_view`, `sync` and
//! `future` (messages for later heights). `input`, `effect` and `safety` define what goes in,
//! what comes out and what is persisted.
mod build;
mod effect;
mod future;
pub use self::future::{FUTURE_BYTES_PER_SENDER, FUTURE_BYTES_TOTAL};
mod input;
mod new_view;
mod pending;
mod proposal;
mod safety;
mod start;
mod sync;
#[cfg(test)]
mod tests;
mod timer;
mod validators;
mod view_change;
mod vote;

pub use self::effect::Effect;
use self::effect::Effects;
pub use self::input::{Input, Timeout};
pub use self::safety::SafetyState;
use crate::messages::{
    check_body, Checker, CommitCertificate, ConsensusMessage, KeyCache, PreparedCertificate, ValidatorSet, ViewChange,
    Vote, VoteKind,
};
use jjj_crypto::{Keypair, Suite};
use jjj_primitives::params::MAX_PEER_MESSAGE;
use jjj_primitives::{AccountId, Block, Hash, NetworkId};
use parity_scale_codec::Encode;
use std::collections::{BTreeMap, BTreeSet};
use tracing::debug;

/// Votes and view changes for views further than this above ours are not stored.
const VIEW_WINDOW: u64 = 64;
/// Candidate blocks kept per height (proposals of all views, blocks of prepared certificates).
const MAX_BLOCKS: usize = 256;
/// Bytes (encoded) of candidate blocks kept per height: several blocks of the largest size a
/// peer may send. Past it, only the current view's proposal and our own blocks are still kept:
/// a faulty leader of many past views cannot make us hold `MAX_BLOCKS` blocks of 16 MiB.
const MAX_BLOCK_BYTES: usize = 4 * MAX_PEER_MESSAGE;

#[derive(Clone, Debug)]
pub struct CoreConfig {
    pub network: NetworkId,
    /// The network's suite: votes are verified with its scheme, blocks hashed with its hash.
    pub suite: Suite,
    pub validators: ValidatorSet,
    pub key: Keypair,
    /// View 0's timeout; view v waits `base · 2^v`, capped at `max_timeout_ms`.
    pub base_timeout_ms: u64,
    pub max_timeout_ms: u64,
}

/// The PBFT state machine of one validator for one network.
pub struct Core {
    config: CoreConfig,
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
    /// The view whose `BuildProposal` is awaiting its `ProposalBuilt`. The core is its only
    /// owner: the node reads it through `proposal_to_build` rather than keeping its own copy.
    pending_build: Option<u64>,
    /// Per view, the hash of the verified proposal of that view (the first one seen).
    proposals: BTreeMap<u64, Hash>,
    /// Candidate blocks of this height, by header hash, and their bytes (encoded).
    blocks: BTreeMap<Hash, Block>,
    blocks_bytes: usize,
    /// Blocks the node reported valid (validity does not depend on the view).
    validated: BTreeSet<Hash>,
    /// Verified votes: (kind, view, block) → voter → signature.
    tallies: BTreeMap<(VoteKind, u64, Hash), BTreeMap<AccountId, [u8; 64]>>,
    /// The first vote of each (kind, view, voter): later ones are duplicates or equivocation.
    voted: BTreeMap<(VoteKind, u64, AccountId), Hash>,
    /// Verified view changes by the view they ask for, kept without their proofs.
    view_changes: BTreeMap<u64, BTreeMap<AccountId, ViewChange>>,
    /// Certificates of blocks prepared at this height, by (view, block hash), from verified view
    /// changes (the blocks go to `blocks`): one copy each, however many view changes name them.
    prepared_certs: BTreeMap<(u64, Hash), PreparedCertificate>,
    /// The highest view each validator asked for (signature checked): drives joining a view
    /// change that f + 1 validators already started.
    asked_views: BTreeMap<AccountId, u64>,
    /// Messages for heights above ours, replayed on arrival there.
    future: BTreeMap<u64, Vec<ConsensusMessage>>,
    /// Bytes (encoded) of `future` per sender, and in all.
    future_bytes: BTreeMap<AccountId, usize>,
    future_total: usize,
    /// The highest height each validator was seen signing at (signature checked).
    heights_seen: BTreeMap<AccountId, u64>,
    /// The commit certificate of the height before ours, if we decided it ourselves.
    last_commit: Option<CommitCertificate>,
    /// Per validator, the highest view it asked for at the height before ours that we answered
    /// with `last_commit`'s votes.
    helped: BTreeMap<AccountId, u64>,
    /// The highest height a `Sync` was requested for.
    sync_requested: u64,
    /// A commit certificate for this height exists but its block is unknown.
    missing_committed_block: bool,
    /// The current view moved forward (a quorum of view changes gathered, the view entered,
    /// the block prepared) since its timer was set: the next expiry grants one more period.
    progressed: bool,
    /// A quorum of validators asked for the current view or a later one.
    view_change_quorum: bool,
    /// The validator set from each height on: `0` → the configured (genesis) set, then the
    /// changes the node fed with `Input::ValidatorsScheduled`.
    schedule: BTreeMap<u64, ValidatorSet>,
}

impl Core {
    /// A validator that has committed up to `next_height − 1` and never voted at `next_height`.
    pub fn new(config: CoreConfig, next_height: u64) -> Core {
        let me = config.key.account();
        Core {
            keys: KeyCache::new(config.suite, &config.validators),
            schedule: BTreeMap::from([(0, config.validators.clone())]),
            config,
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
            blocks_bytes: 0,
            validated: BTreeSet::new(),
            tallies: BTreeMap::new(),
            voted: BTreeMap::new(),
            view_changes: BTreeMap::new(),
            prepared_certs: BTreeMap::new(),
            asked_views: BTreeMap::new(),
            future: BTreeMap::new(),
            future_bytes: BTreeMap::new(),
            future_total: 0,
            heights_seen: BTreeMap::new(),
            last_commit: None,
            helped: BTreeMap::new(),
            sync_requested: 0,
            missing_committed_block: false,
            progressed: false,
            view_change_quorum: false,
        }
    }

    /// A validator restarting from its last persisted `SafetyState`. If the ledger committed
    /// blocks at or past `saved.height` before the crash, feed `Input::Synced` with the last
    /// committed height right after (before or after `Start`).
    pub fn restore(config: CoreConfig, saved: SafetyState) -> Core {
        let config_algo = config.suite.hash_algo();
        let mut core = Core::new(config, saved.height);
        let me = core.me;
        let SafetyState { height, view, votes, proposed, view_change, prepared } = saved;
        // Disk contents are ours, but keep only what is coherent with (height, view).
        let votes = votes.into_iter().filter(|v| v.height == height && v.view == view && v.voter == me).collect();
        let view_change = view_change.filter(|vc| vc.height == height && vc.voter == me && vc.new_view <= view);
        let prepared = prepared.filter(|(c, b)| {
            c.height == height
                && c.view <= view
                && b.header.hash(config_algo) == c.block_hash
                && check_body(config_algo, b).is_ok()
        });
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

    /// The state transition.
    pub fn handle(&mut self, input: Input) -> Vec<Effect> {
        let mut effects = Effects::default();
        match input {
            Input::Start => self.on_start(&mut effects),
            Input::Message(message) => self.on_message(message, &mut effects),
            Input::Timeout(timeout) => self.on_timeout(timeout, &mut effects),
            Input::ProposalBuilt { height, view, block } => self.on_proposal_built(height, view, block, &mut effects),
            Input::ProposalValidated { height, view, block_hash, valid } => {
                self.on_proposal_validated(height, view, block_hash, valid, &mut effects)
            }
            Input::Synced { height } => self.on_synced(height, &mut effects),
            Input::TransactionsPending => self.on_transactions_pending(&mut effects),
            Input::ValidatorsScheduled { from_height, validators } => {
                self.on_validators_scheduled(from_height, validators)
            }
        }
        effects.finish(&self.safety)
    }

    fn quorum(&self) -> usize {
        self.validators().quorum()
    }

    fn f(&self) -> usize {
        self.validators().f()
    }

    /// Whether we lead `view` at the current height.
    fn leads(&self, view: u64) -> bool {
        self.validators().leader(self.height, view) == self.me
    }

    fn checker(&self) -> Checker<'_> {
        Checker::plain(&self.config.network, self.validators(), &self.keys)
    }

    /// Whether exactly this signature was verified as a vote of this height.
    fn knows_vote(&self, kind: VoteKind, view: u64, hash: &Hash, voter: &AccountId, sig: &[u8; 64]) -> bool {
        self.tallies.get(&(kind, view, *hash)).and_then(|t| t.get(voter)).is_some_and(|s| s == sig)
    }

    /// Keeps a candidate block (a late proposal, a prepared block) within the count and byte
    /// bounds; whether it is new and kept.
    fn add_block(&mut self, hash: Hash, block: Block) -> bool {
        if self.blocks.contains_key(&hash) || self.blocks.len() >= MAX_BLOCKS {
            return false;
        }
        if self.blocks_bytes.saturating_add(block.encoded_size()) > MAX_BLOCK_BYTES {
            debug!(height = self.height, block = %hash, "candidate blocks over their byte budget: block not kept");
            return false;
        }
        self.keep_block(hash, block);
        true
    }

    /// Keeps a block whatever the bounds: the current view's proposal, or our own.
    fn keep_block(&mut self, hash: Hash, block: Block) {
        if let std::collections::btree_map::Entry::Vacant(e) = self.blocks.entry(hash) {
            self.blocks_bytes = self.blocks_bytes.saturating_add(block.encoded_size());
            e.insert(block);
        }
    }

    /// Moves to `view` at this height: the votes and proposal of the old view are done with.
    fn set_view(&mut self, view: u64, entered: bool, effects: &mut Effects) {
        self.view = view;
        self.entered = entered;
        self.pending_build = None;
        self.safety.view = view;
        self.safety.votes.clear();
        self.safety.proposed = None;
        effects.persist_safety();
        self.view_changes = self.view_changes.split_off(&view);
        self.view_change_quorum = false;
        self.progressed = false;
    }

    /// `Input::Message`: stale heights are dropped, later ones buffered, and a message of this
    /// height goes to the handler of its kind.
    fn on_message(&mut self, message: ConsensusMessage, effects: &mut Effects) {
        let height = message.height();
        if height < self.height {
            // Stale: that height is decided. A validator still changing views there may be
            // unable to learn it any other way (too few others left at its height).
            if let ConsensusMessage::ViewChange(vc) = &message {
                self.help_behind(vc, effects);
            }
            return;
        }
        if height > self.height {
            self.on_future(message, effects);
            return;
        }
        match message {
            ConsensusMessage::Proposal(proposal) => self.on_proposal(proposal, effects),
            ConsensusMessage::Vote(vote) => self.on_vote(vote, effects),
            ConsensusMessage::ViewChange(view_change) => self.on_view_change(view_change, effects),
            ConsensusMessage::NewView(new_view) => self.on_new_view(new_view, effects),
        }
    }

    /// A validator asks for a view at the height we decided last: send it the COMMITs that
    /// decided it (each signed by its voter, so re-sending them is as good as the certificate),
    /// once per view it asks for. Nodes ahead otherwise ignore it, and with f others faulty it
    /// could wait forever for a quorum at its height.
    fn help_behind(&mut self, vc: &ViewChange, effects: &mut Effects) {
        let Some(cert) = self.last_commit.as_ref().filter(|c| c.height == vc.height) else { return };
        if self.helped.get(&vc.voter).is_some_and(|&v| v >= vc.new_view)
            || !self.validators_at(vc.height).contains(&vc.voter)
            || !vc.signed_by(&self.keys, &self.config.network)
        {
            return;
        }
        for (voter, signature) in &cert.signatures {
            effects.broadcast(ConsensusMessage::Vote(Vote {
                kind: VoteKind::Commit,
                height: cert.height,
                view: cert.view,
                block_hash: cert.block_hash,
                voter: *voter,
                signature: *signature,
            }));
        }
        self.helped.insert(vc.voter, vc.new_view);
    }

    /// Garbage-collects everything of the decided heights and starts `height` at view 0.
    fn advance_to(&mut self, height: u64, effects: &mut Effects) {
        self.height = height;
        self.view = 0;
        self.entered = true;
        self.timer_view = None;
        self.pending_build = None;
        self.proposals.clear();
        self.blocks.clear();
        self.blocks_bytes = 0;
        self.validated.clear();
        self.tallies.clear();
        self.voted.clear();
        self.view_changes.clear();
        self.prepared_certs.clear();
        self.asked_views.clear();
        self.missing_committed_block = false;
        self.progressed = false;
        self.view_change_quorum = false;
        self.helped.clear();
        if self.last_commit.as_ref().is_some_and(|c| c.height.saturating_add(1) != height) {
            self.last_commit = None; // synced past it
        }
        self.safety = SafetyState::new(height);
        effects.persist_safety();
        let buffered = self.take_future(height);
        self.maybe_build(effects);
        for message in buffered {
            if self.height != height {
                break; // the replay itself decided this height
            }
            self.on_message(message, effects);
        }
        if self.height == height {
            self.check_behind(false, effects);
        }
    }
}
