//! A seeded, deterministic simulation of PBFT validators (`Core`s) over an in-memory network
//! with virtual time.
//!
//! Everything random comes from one `StdRng` seeded by the scenario's seed and every collection
//! iterated is ordered, so a seed always replays the same trace (see `Outcome::trace_hash`).
//! Faults: crash and restart from the persisted `SafetyState` (plus the committed chain),
//! partitions, dropped, duplicated and reordered messages, and one equivocating validator run as
//! two "twins" sharing its key, each talking to one half of the others; or one validator
//! running a Byzantine `Behaviour` (`byzantine.rs`: body swapping, withholding, view-change and
//! future-message floods). Checked all along:
//! agreement (one block per height across honest validators), every commit certificate, that a
//! vote was persisted before it was sent, and that no honest validator ever signs two
//! conflicting messages, across restarts; and progress once the faults heal.
mod byzantine;

pub use self::byzantine::Behaviour;
use super::core::{Core, CoreConfig, Effect, Input, SafetyState, Timeout};
use super::messages::{verify_quorum, Checker, CommitCertificate, ConsensusMessage, KeyCache, ValidatorSet, VoteKind};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use jjj_crypto::{blake2_256, Keypair, Suite};
use jjj_primitives::{
    merkle_root, AccountId, Block, Call, Hash, HashAlgo, Header, NetworkId, SignedTransaction, Transaction,
};
use parity_scale_codec::Encode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// The validator set changing at a height, as governance schedules it: `genesis` (indices of
/// the scenario's validators) decide until `from_height`, `later` from there on. Every node
/// knows the change from its start (in a ledger it is final at least two heights ahead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetChange {
    pub genesis: Vec<usize>,
    pub later: Vec<usize>,
    pub from_height: u64,
}

/// A validator down from `at_ms` until `restart_at_ms`, restarting from its disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crash {
    pub validator: usize,
    pub at_ms: u64,
    pub restart_at_ms: u64,
}

/// Messages between `side_a` and the other validators are lost during [from_ms, to_ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    pub side_a: Vec<usize>,
    pub from_ms: u64,
    pub to_ms: u64,
}

/// One simulated run. All faults end by `heal_at_ms` (the twin stays faulty for good).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub seed: u64,
    pub validators: usize,
    /// A validator run as two twins sharing its key, each with its own state, proposing its own
    /// blocks and voting its own way, each heard only by one half of the others.
    pub twin: Option<usize>,
    /// A validator running a Byzantine behaviour for good (its own core, its messages altered).
    pub byzantine: Option<(usize, Behaviour)>,
    pub crashes: Vec<Crash>,
    pub partitions: Vec<Partition>,
    /// Before healing: chance per message (‰) to be dropped, and to be delivered twice.
    pub drop_per_mille: u32,
    pub duplicate_per_mille: u32,
    /// Delivery delays are uniform in [min, max]: messages overtake each other.
    pub min_latency_ms: u64,
    pub max_latency_ms: u64,
    pub heal_at_ms: u64,
    /// Transactions for one more block arrive every `block_interval_ms`: a validator has work
    /// (and says so with `Input::TransactionsPending`) while its chain is below
    /// `1 + now / block_interval_ms`, and a leader builds only then, like a node waiting for
    /// transactions. Between bursts the chain idles, without view changes.
    pub block_interval_ms: u64,
    /// Every honest validator must reach this height, and two heights past the highest one at
    /// healing time, within `progress_bound_ms` after healing.
    pub target_height: u64,
    pub progress_bound_ms: u64,
    pub base_timeout_ms: u64,
    pub max_timeout_ms: u64,
    pub set_change: Option<SetChange>,
    /// The network's suite: the validators' keys and every block hash. [`env_suite`] by default.
    pub suite: Suite,
}

/// The suite scenarios run with: `JJJ_TEST_SUITE` (`ed25519+blake2b`, the default, or `sm2+sm3`).
pub fn env_suite() -> Suite {
    jjj_crypto::test_suite()
}

impl Scenario {
    /// No faults: n validators, reliable network with small random delays.
    pub fn calm(seed: u64, validators: usize) -> Scenario {
        Scenario {
            seed,
            validators,
            twin: None,
            byzantine: None,
            crashes: vec![],
            partitions: vec![],
            drop_per_mille: 0,
            duplicate_per_mille: 0,
            min_latency_ms: 1,
            max_latency_ms: 30,
            heal_at_ms: 0,
            block_interval_ms: 200,
            target_height: 5,
            progress_bound_ms: 30_000,
            base_timeout_ms: 1_000,
            max_timeout_ms: 8_000,
            set_change: None,
            suite: env_suite(),
        }
    }

    /// A random mix of faults drawn from the seed; at most f validators are byzantine (the
    /// twin) and every crashed validator restarts before healing.
    pub fn from_seed(seed: u64) -> Scenario {
        let mut r = StdRng::seed_from_u64(seed ^ 0x6a6a_6a2f_7363_656e);
        let n = [4usize, 4, 4, 5, 7][r.gen_range(0..5)];
        let heal_at_ms = r.gen_range(1_000..=8_000u64);
        let twin = if r.gen_bool(0.3) { Some(if r.gen_bool(0.5) { 0 } else { r.gen_range(0..n) }) } else { None };
        let honest: Vec<usize> = (0..n).filter(|v| Some(*v) != twin).collect();
        let mut crashes = vec![];
        for _ in 0..r.gen_range(0..=3) {
            let validator = honest[r.gen_range(0..honest.len())];
            let at_ms = r.gen_range(0..heal_at_ms - 100);
            let restart_at_ms = r.gen_range(at_ms + 100..=heal_at_ms);
            crashes.push(Crash { validator, at_ms, restart_at_ms });
        }
        let mut partitions = vec![];
        if r.gen_bool(0.4) {
            let side_a: Vec<usize> = loop {
                let side: Vec<usize> = (0..n).filter(|_| r.gen_bool(0.5)).collect();
                if !side.is_empty() && side.len() < n {
                    break side;
                }
            };
            let from_ms = r.gen_range(0..heal_at_ms);
            let to_ms = r.gen_range(from_ms..=heal_at_ms);
            partitions.push(Partition { side_a, from_ms, to_ms });
        }
        Scenario {
            seed,
            validators: n,
            twin,
            byzantine: None,
            crashes,
            partitions,
            drop_per_mille: if r.gen_bool(0.5) { r.gen_range(0..=150) } else { 0 },
            duplicate_per_mille: r.gen_range(0..=100),
            min_latency_ms: 1,
            max_latency_ms: r.gen_range(5..=150),
            heal_at_ms,
            block_interval_ms: 1_000,
            target_height: 4,
            progress_bound_ms: 60_000,
            base_timeout_ms: 1_000,
            max_timeout_ms: 8_000,
            set_change: None,
            suite: env_suite(),
        }
    }
}

impl Scenario {
    /// `from_seed`'s network faults and crashes, with one validator (drawn from the seed)
    /// running `behaviour` for good instead of the random twin.
    /// `from_seed`'s faults across a validator set change drawn from the seed: the last
    /// validator removed, or added (following until then), at height 2 to 5. Faults stay within
    /// what both sets tolerate: no equivocating twin when one set has fewer than 4 validators.
    pub fn with_set_change(seed: u64) -> Scenario {
        let mut s = Scenario::from_seed(seed);
        let mut r = StdRng::seed_from_u64(seed ^ 0x7365_745f_6368_616e);
        let n = s.validators;
        let all: Vec<usize> = (0..n).collect();
        let fewer: Vec<usize> = (0..n - 1).collect();
        let (genesis, later) = if r.gen_bool(0.5) { (all, fewer) } else { (fewer, all) };
        if n - 1 < 4 {
            s.twin = None;
        }
        s.set_change = Some(SetChange { genesis, later, from_height: r.gen_range(2..=5) });
        s.target_height = s.target_height.max(8);
        s
    }

    pub fn byzantine(seed: u64, behaviour: Behaviour) -> Scenario {
        let mut s = Scenario::from_seed(seed);
        let mut r = StdRng::seed_from_u64(seed ^ 0x6279_7a61_6e74_696e);
        let v = r.gen_range(0..s.validators);
        // At most f faulty validators: the byzantine one, and no honest one down for good.
        s.crashes.retain(|c| c.validator != v);
        s.twin = None;
        if behaviour == Behaviour::Equivocator {
            s.twin = Some(v);
        } else {
            s.byzantine = Some((v, behaviour));
        }
        s
    }
}

/// What a run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub seed: u64,
    pub validators: usize,
    pub twin: bool,
    /// `Commit` effects at honest validators.
    pub commits: u64,
    /// Blocks honest validators took from others through `Sync`.
    pub synced_blocks: u64,
    /// View changes signed by honest validators.
    pub view_changes: u64,
    pub crashes: u64,
    pub messages_delivered: u64,
    /// Messages the byzantine validator sent beyond (or instead of) what its core asked for.
    pub byzantine_messages: u64,
    /// The most bytes any honest core held in messages for later heights.
    pub max_future_bytes: usize,
    /// The lowest committed height among honest validators at the end.
    pub min_height: u64,
    pub end_ms: u64,
    /// Virtual time from healing until every honest validator reached the required height.
    pub recovery_ms: u64,
    /// blake2b-256 over every event handled and every effect produced, in order.
    pub trace_hash: [u8; 32],
}

/// Totals over many seeds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub seeds: u64,
    pub commits: u64,
    pub synced_blocks: u64,
    pub view_changes: u64,
    pub crashes: u64,
    pub twins: u64,
    pub messages_delivered: u64,
    pub byzantine_messages: u64,
    pub max_future_bytes: usize,
    /// The longest virtual time any seed took from healing to the required height.
    pub max_recovery_ms: u64,
    /// "seed N: what went wrong", ordered by seed.
    pub failures: Vec<String>,
}

/// Runs `Scenario::from_seed` for every seed, on up to `threads` threads.
pub fn run_seeds(seeds: std::ops::Range<u64>, threads: usize) -> Summary {
    run_many(seeds, threads, Scenario::from_seed)
}

/// Runs the scenario `scenario(seed)` for every seed, on up to `threads` threads.
pub fn run_many(seeds: std::ops::Range<u64>, threads: usize, scenario: impl Fn(u64) -> Scenario + Sync) -> Summary {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;
    let next = AtomicU64::new(seeds.start);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= seeds.end {
                    break;
                }
                let result = run(&scenario(seed));
                results.lock().unwrap_or_else(|p| p.into_inner()).push((seed, result));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(seed, _)| *seed);
    let mut summary = Summary::default();
    for (seed, result) in results {
        summary.seeds += 1;
        match result {
            Ok(o) => {
                summary.commits += o.commits;
                summary.synced_blocks += o.synced_blocks;
                summary.view_changes += o.view_changes;
                summary.crashes += o.crashes;
                summary.twins += u64::from(o.twin);
                summary.messages_delivered += o.messages_delivered;
                summary.byzantine_messages += o.byzantine_messages;
                summary.max_future_bytes = summary.max_future_bytes.max(o.max_future_bytes);
                summary.max_recovery_ms = summary.max_recovery_ms.max(o.recovery_ms);
            }
            Err(e) => summary.failures.push(format!("seed {seed}: {e}")),
        }
    }
    summary
}

/// Runs one scenario to completion: Ok once every honest validator reached the required height
/// after healing, Err naming the first broken invariant or the missed progress bound.
pub fn run(scenario: &Scenario) -> Result<Outcome, String> {
    let mut sim = Sim::new(scenario.clone());
    sim.run().map_err(|e| format!("{e} (at {} ms; scenario {:?})", sim.now, scenario))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Honest,
    TwinA,
    TwinB,
    Byzantine(Behaviour),
}

/// One running copy of a validator (two for the twin), with its fake disk and app.
struct Instance {
    validator: usize,
    role: Role,
    key: Keypair,
    core: Option<Core>,
    /// Bumped on crash: timers and app answers of a previous life are dropped.
    incarnation: u64,
    /// The last `Persist`: all that survives a crash, with the chain.
    disk: Option<SafetyState>,
    chain: Vec<(Block, CommitCertificate)>,
    sync_pending: bool,
}

enum Event {
    Deliver {
        to: usize,
        msg: Rc<ConsensusMessage>,
    },
    Timer {
        to: usize,
        life: u64,
        timeout: Timeout,
    },
    Built {
        to: usize,
        life: u64,
        height: u64,
        view: u64,
    },
    Validated {
        to: usize,
        life: u64,
        height: u64,
        view: u64,
        block: Box<Block>,
    },
    SyncDone {
        to: usize,
        life: u64,
    },
    Crash {
        validator: usize,
    },
    Restart {
        validator: usize,
    },
    Heal,
    /// Transactions for one more block arrive.
    Tick,
}

struct Sim {
    scenario: Scenario,
    network: NetworkId,
    /// The genesis set, and the set from each height on (`0` → genesis).
    validators: ValidatorSet,
    schedule: BTreeMap<u64, ValidatorSet>,
    keys: KeyCache,
    instances: Vec<Instance>,
    /// For the twin: which validators hear twin A (true) or twin B (false).
    hears_twin_a: Vec<bool>,
    rng: StdRng,
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Event>,
    healed: bool,
    required_height: u64,
    deadline_ms: u64,
    trace: Blake2b<U32>,
    /// Height → the block hash honest validators committed there.
    decided: BTreeMap<u64, Hash>,
    /// (validator, what, height, view) → digest of what it signed, across restarts.
    signed: BTreeMap<(usize, u8, u64, u64), Hash>,
    /// Commit signatures already verified: (height, view, block, voter, signature).
    verified: BTreeSet<(u64, u64, Hash, AccountId, [u8; 64])>,
    /// The future flooder sent its one message above the per-sender byte budget.
    oversize_sent: bool,
    outcome: Outcome,
}

impl Sim {
    fn new(scenario: Scenario) -> Sim {
        let network = NetworkId::new("sim").unwrap_or_else(|_| unreachable!("a valid literal id"));
        let keys: Vec<Keypair> = (0..scenario.validators)
            .map(|i| Keypair::named(scenario.suite.scheme(), &format!("sim-validator-{i}")))
            .collect();
        let all = ValidatorSet { validators: keys.iter().map(|k| k.account()).collect() };
        let set_of =
            |members: &[usize]| ValidatorSet { validators: members.iter().map(|&i| keys[i].account()).collect() };
        let (validators, schedule) = match &scenario.set_change {
            Some(c) => {
                let genesis = set_of(&c.genesis);
                (genesis.clone(), BTreeMap::from([(0, genesis), (c.from_height, set_of(&c.later))]))
            }
            None => (all.clone(), BTreeMap::from([(0, all.clone())])),
        };
        let mut rng = StdRng::seed_from_u64(scenario.seed);
        let mut instances = vec![];
        for (v, key) in keys.iter().enumerate() {
            let roles: Vec<Role> = match scenario.byzantine {
                _ if scenario.twin == Some(v) => vec![Role::TwinA, Role::TwinB],
                Some((b, behaviour)) if b == v => vec![Role::Byzantine(behaviour)],
                _ => vec![Role::Honest],
            };
            for role in roles {
                instances.push(Instance {
                    validator: v,
                    role,
                    key: key.clone(),
                    core: None,
                    incarnation: 0,
                    disk: None,
                    chain: vec![],
                    sync_pending: false,
                });
            }
        }
        let hears_twin_a = (0..scenario.validators).map(|_| rng.gen_bool(0.5)).collect();
        let outcome = Outcome {
            seed: scenario.seed,
            validators: scenario.validators,
            twin: scenario.twin.is_some(),
            commits: 0,
            synced_blocks: 0,
            view_changes: 0,
            crashes: 0,
            messages_delivered: 0,
            byzantine_messages: 0,
            max_future_bytes: 0,
            min_height: 0,
            end_ms: 0,
            recovery_ms: 0,
            trace_hash: [0; 32],
        };
        Sim {
            keys: KeyCache::new(scenario.suite, &all),
            schedule,
            required_height: scenario.target_height,
            deadline_ms: scenario.heal_at_ms + scenario.progress_bound_ms,
            scenario,
            network,
            validators,
            instances,
            hears_twin_a,
            rng,
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            healed: false,
            trace: Blake2b::new(),
            decided: BTreeMap::new(),
            signed: BTreeMap::new(),
            verified: BTreeSet::new(),
            oversize_sent: false,
            outcome,
        }
    }

    fn algo(&self) -> HashAlgo {
        self.scenario.suite.hash_algo()
    }

    /// The set deciding `height`.
    fn set_at(&self, height: u64) -> &ValidatorSet {
        self.schedule.range(..=height).next_back().map_or(&self.validators, |(_, set)| set)
    }

    /// A core's configuration for starting at `height`: the set of that height (as a node reads
    /// it from its ledger); later sets are fed with `scheduled_after`.
    fn config(&self, i: usize, height: u64) -> CoreConfig {
        CoreConfig {
            network: self.network.clone(),
            suite: self.scenario.suite,
            validators: self.set_at(height).clone(),
            key: self.instances[i].key.clone(),
            base_timeout_ms: self.scenario.base_timeout_ms,
            max_timeout_ms: self.scenario.max_timeout_ms,
        }
    }

    /// The scheduled sets a core starting at `height` must still be told about.
    fn scheduled_after(&self, height: u64) -> Vec<Input> {
        self.schedule
            .range(height + 1..)
            .map(|(h, set)| Input::ValidatorsScheduled { from_height: *h, validators: set.clone() })
            .collect()
    }

    fn schedule(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.insert((at, self.seq), event);
    }

    fn trace(&mut self, item: impl Encode) {
        self.trace.update(item.encode());
    }

    fn honest(&self, i: usize) -> bool {
        self.instances[i].role == Role::Honest
    }

    fn run(&mut self) -> Result<Outcome, String> {
        for c in self.scenario.crashes.clone() {
            self.schedule(c.at_ms, Event::Crash { validator: c.validator });
            self.schedule(c.restart_at_ms, Event::Restart { validator: c.validator });
        }
        self.schedule(self.scenario.heal_at_ms, Event::Heal);
        self.schedule(self.interval(), Event::Tick);
        for i in 0..self.instances.len() {
            let core = Core::new(self.config(i, 1), 1);
            self.instances[i].core = Some(core);
            for input in self.scheduled_after(1) {
                self.input(i, input)?;
            }
            self.input(i, Input::Start)?;
        }
        while let Some(((at, seq), event)) = self.queue.pop_first() {
            if at > self.deadline_ms {
                break;
            }
            self.now = at;
            self.trace((at, seq));
            self.event(event)?;
            if self.healed && self.progress_done() {
                self.outcome.end_ms = self.now;
                self.outcome.recovery_ms = self.now.saturating_sub(self.scenario.heal_at_ms);
                self.outcome.min_height = self.honest_heights().into_iter().min().unwrap_or(0);
                self.outcome.trace_hash = self.trace.clone().finalize().into();
                return Ok(self.outcome.clone());
            }
        }
        Err(format!(
            "no progress: honest heights {:?}, required {} by {} ms",
            self.honest_heights(),
            self.required_height,
            self.deadline_ms
        ))
    }

    fn interval(&self) -> u64 {
        self.scenario.block_interval_ms.max(1)
    }

    /// The highest height there are transactions for.
    fn demand(&self) -> u64 {
        1 + self.now / self.interval()
    }

    fn has_work(&self, i: usize) -> bool {
        (self.instances[i].chain.len() as u64) < self.demand()
    }

    fn honest_heights(&self) -> Vec<u64> {
        self.instances.iter().filter(|x| x.role == Role::Honest).map(|x| x.chain.len() as u64).collect()
    }

    fn progress_done(&self) -> bool {
        self.honest_heights().iter().all(|&h| h >= self.required_height)
    }

    fn event(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Deliver { to, msg } => {
                if self.instances[to].core.is_none() {
                    return Ok(()); // down: lost
                }
                self.outcome.messages_delivered += 1;
                self.trace((1u8, to as u32, msg.kind(), msg.height(), msg.view(), msg.sender()));
                self.input(to, Input::Message((*msg).clone()))?;
                if let Role::Byzantine(behaviour) = self.instances[to].role {
                    self.byzantine_heard(to, behaviour, &msg);
                }
                if self.honest(to) {
                    self.check_future_bytes(to)?;
                }
                Ok(())
            }
            Event::Timer { to, life, timeout } => {
                if !self.alive(to, life) {
                    return Ok(());
                }
                self.trace((2u8, to as u32, timeout));
                self.input(to, Input::Timeout(timeout))
            }
            Event::Built { to, life, height, view } => {
                if !self.alive(to, life) {
                    return Ok(());
                }
                if height > self.demand() {
                    // No transactions yet: the node waits for them before building.
                    let at = (height - 1) * self.interval() + self.rng.gen_range(1..=20);
                    self.schedule(at, Event::Built { to, life, height, view });
                    return Ok(());
                }
                let x = &self.instances[to];
                if x.chain.len() as u64 + 1 != height {
                    return Ok(()); // behind (or ahead): it cannot build on the right parent
                }
                let salt = match x.role {
                    Role::Honest => 0,
                    Role::TwinA => 1,
                    Role::TwinB => 2,
                    Role::Byzantine(_) => 3,
                };
                let block = make_block(
                    self.algo(),
                    &self.network,
                    height,
                    tip_hash(self.algo(), &x.chain),
                    x.key.account(),
                    salt,
                );
                self.trace((3u8, to as u32, height, view, block.header.hash(self.algo())));
                self.input(to, Input::ProposalBuilt { height, view, block })
            }
            Event::Validated { to, life, height, view, block } => {
                if !self.alive(to, life) {
                    return Ok(());
                }
                let valid = app_accepts(self.algo(), &self.network, &self.instances[to].chain, &block);
                let block_hash = block.header.hash(self.algo());
                self.trace((4u8, to as u32, height, view, valid));
                self.input(to, Input::ProposalValidated { height, view, block_hash, valid })
            }
            Event::SyncDone { to, life } => {
                if !self.alive(to, life) {
                    return Ok(());
                }
                self.instances[to].sync_pending = false;
                let height = self.sync_from_peers(to)?;
                self.trace((5u8, to as u32, height));
                self.input(to, Input::Synced { height })
            }
            Event::Crash { validator } => {
                self.trace((6u8, validator as u32));
                for x in self.instances.iter_mut().filter(|x| x.validator == validator) {
                    if x.core.take().is_some() {
                        x.incarnation += 1;
                        x.sync_pending = false;
                        self.outcome.crashes += 1;
                    }
                }
                Ok(())
            }
            Event::Restart { validator } => {
                self.trace((7u8, validator as u32));
                let ids: Vec<usize> =
                    (0..self.instances.len()).filter(|&i| self.instances[i].validator == validator).collect();
                for i in ids {
                    if self.instances[i].core.is_some() {
                        continue; // overlapping crash windows: already back
                    }
                    let committed = self.instances[i].chain.len() as u64;
                    let first = self.instances[i].disk.as_ref().map_or(committed + 1, |saved| saved.height);
                    let config = self.config(i, first);
                    let core = match self.instances[i].disk.clone() {
                        Some(saved) => Core::restore(config, saved),
                        None => Core::new(config, committed + 1),
                    };
                    let behind = core.height() <= committed;
                    self.instances[i].core = Some(core);
                    for input in self.scheduled_after(first) {
                        self.input(i, input)?;
                    }
                    if behind {
                        self.input(i, Input::Synced { height: committed })?;
                    }
                    self.input(i, Input::Start)?;
                }
                Ok(())
            }
            Event::Tick => {
                self.trace(9u8);
                for i in 0..self.instances.len() {
                    if self.instances[i].core.is_some() && self.has_work(i) {
                        let effects = self.instances[i]
                            .core
                            .as_mut()
                            .map(|c| c.handle(Input::TransactionsPending))
                            .unwrap_or_default();
                        self.effects(i, effects)?;
                    }
                    if let Role::Byzantine(behaviour) = self.instances[i].role {
                        self.byzantine_tick(i, behaviour);
                    }
                }
                self.schedule(self.now + self.interval(), Event::Tick);
                Ok(())
            }
            Event::Heal => {
                self.healed = true;
                let highest = self.honest_heights().into_iter().max().unwrap_or(0);
                self.required_height = self.scenario.target_height.max(highest + 2);
                self.trace((8u8, self.required_height));
                Ok(())
            }
        }
    }

    fn alive(&self, i: usize, life: u64) -> bool {
        self.instances[i].core.is_some() && self.instances[i].incarnation == life
    }

    /// Feeds one input, then the mempool nudge if the node has transactions waiting, and
    /// carries out the effects.
    fn input(&mut self, i: usize, input: Input) -> Result<(), String> {
        let work = self.has_work(i);
        let Some(core) = self.instances[i].core.as_mut() else { return Ok(()) };
        let mut effects = core.handle(input);
        if work {
            effects.extend(core.handle(Input::TransactionsPending));
        }
        self.effects(i, effects)
    }

    fn effects(&mut self, i: usize, effects: Vec<Effect>) -> Result<(), String> {
        let life = self.instances[i].incarnation;
        for effect in effects {
            match effect {
                Effect::Persist(state) => {
                    self.trace((10u8, i as u32, state.height, state.view));
                    self.instances[i].disk = Some(state);
                }
                Effect::Broadcast(msg) => {
                    self.trace((11u8, i as u32, msg.kind(), msg.height(), msg.view()));
                    if self.honest(i) {
                        if msg.sender() == self.instances[i].key.account() {
                            self.check_signed(i, &msg)?;
                        } else {
                            self.check_relayed(i, &msg)?;
                        }
                    }
                    match self.instances[i].role {
                        Role::Byzantine(behaviour) => self.byzantine_send(i, behaviour, msg),
                        _ => self.send(i, Rc::new(msg)),
                    }
                }
                Effect::BuildProposal { height, view } => {
                    self.trace((12u8, i as u32, height, view));
                    let at = self.now + self.rng.gen_range(1..=20);
                    self.schedule(at, Event::Built { to: i, life, height, view });
                }
                Effect::ValidateProposal { height, view, block } => {
                    self.trace((13u8, i as u32, height, view, block.header.hash(self.algo())));
                    let at = self.now + self.rng.gen_range(1..=10);
                    self.schedule(at, Event::Validated { to: i, life, height, view, block: Box::new(block) });
                }
                Effect::Commit { block, certificate } => {
                    self.trace((14u8, i as u32, block.header.height, block.header.hash(self.algo())));
                    self.commit(i, block, certificate, false)?;
                }
                Effect::ScheduleTimeout { timeout, after_ms } => {
                    self.trace((15u8, i as u32, timeout, after_ms));
                    self.schedule(self.now + after_ms, Event::Timer { to: i, life, timeout });
                }
                Effect::Sync { height } => {
                    self.trace((16u8, i as u32, height));
                    if !self.instances[i].sync_pending {
                        self.instances[i].sync_pending = true;
                        let at = self.now + self.rng.gen_range(5..=50);
                        self.schedule(at, Event::SyncDone { to: i, life });
                    }
                }
            }
        }
        Ok(())
    }

    /// Persisted before sent, and never two different things signed for the same slot.
    fn check_signed(&mut self, i: usize, msg: &ConsensusMessage) -> Result<(), String> {
        let x = &self.instances[i];
        let me = x.key.account();
        if msg.sender() != me {
            return Err(format!("validator {} broadcast a message signed by {}", x.validator, msg.sender()));
        }
        let Some(disk) = &x.disk else {
            return Err(format!("validator {} sent a {} before persisting anything", x.validator, msg.kind()));
        };
        let (what, view, digest, covered) = match msg {
            ConsensusMessage::Vote(v) => {
                let what = match v.kind {
                    VoteKind::Prepare => 0,
                    VoteKind::Commit => 1,
                };
                (what, v.view, v.block_hash, disk.covers_vote(v))
            }
            ConsensusMessage::Proposal(p) => (
                2,
                p.view,
                p.block_hash(self.algo()),
                disk.covers_proposal(p.height, p.view, &p.block_hash(self.algo())),
            ),
            ConsensusMessage::NewView(nv) => {
                let h = nv.proposal.block_hash(self.algo());
                (2, nv.view, h, disk.covers_proposal(nv.height, nv.view, &h))
            }
            ConsensusMessage::ViewChange(vc) => {
                (3, vc.new_view, blake2_256(&vc.prepared_summary().encode()), disk.covers_view_change(vc))
            }
        };
        if !covered {
            return Err(format!(
                "validator {} sent a {} at ({}, {}) not covered by its persisted state",
                x.validator,
                msg.kind(),
                msg.height(),
                view
            ));
        }
        let validator = x.validator;
        match self.signed.insert((validator, what, msg.height(), view), digest) {
            Some(before) if before != digest => {
                return Err(format!(
                    "validator {validator} signed two conflicting {}s at ({}, {view})",
                    msg.kind(),
                    msg.height()
                ))
            }
            None if what == 3 => self.outcome.view_changes += 1,
            _ => {}
        }
        Ok(())
    }

    /// An honest validator sends others' signatures only as the COMMITs of a decided height.
    fn check_relayed(&self, i: usize, msg: &ConsensusMessage) -> Result<(), String> {
        match msg {
            ConsensusMessage::Vote(v)
                if v.kind == VoteKind::Commit && self.decided.get(&v.height) == Some(&v.block_hash) =>
            {
                Ok(())
            }
            _ => Err(format!(
                "validator {} relayed a {} by {} that is not a COMMIT of a decided height",
                self.instances[i].validator,
                msg.kind(),
                msg.sender()
            )),
        }
    }

    /// Broadcast to all other validators' instances; a twin only reaches its half.
    fn send(&mut self, from: usize, msg: Rc<ConsensusMessage>) {
        let (from_validator, role) = (self.instances[from].validator, self.instances[from].role);
        for to in 0..self.instances.len() {
            let target = self.instances[to].validator;
            if target == from_validator {
                continue;
            }
            match role {
                Role::TwinA if !self.hears_twin_a[target] => continue,
                Role::TwinB if self.hears_twin_a[target] => continue,
                _ => {}
            }
            self.send_to(from, to, msg.clone(), false);
        }
    }

    /// One message over the faulty network; `fast`: at the least latency (a byzantine
    /// validator racing an honest message).
    fn send_to(&mut self, from: usize, to: usize, msg: Rc<ConsensusMessage>, fast: bool) {
        let from_validator = self.instances[from].validator;
        let target = self.instances[to].validator;
        if !self.healed {
            if self.partitioned(from_validator, target) {
                return;
            }
            if self.rng.gen_range(0..1000) < self.scenario.drop_per_mille {
                return;
            }
        }
        let latency = match fast {
            true => self.scenario.min_latency_ms,
            false => self.rng.gen_range(self.scenario.min_latency_ms..=self.scenario.max_latency_ms),
        };
        self.schedule(self.now + latency, Event::Deliver { to, msg: msg.clone() });
        if !self.healed && self.rng.gen_range(0..1000) < self.scenario.duplicate_per_mille {
            let at = self.now + self.rng.gen_range(self.scenario.min_latency_ms..=self.scenario.max_latency_ms * 2);
            self.schedule(at, Event::Deliver { to, msg });
        }
    }

    fn partitioned(&self, a: usize, b: usize) -> bool {
        self.scenario
            .partitions
            .iter()
            .any(|p| p.from_ms <= self.now && self.now < p.to_ms && p.side_a.contains(&a) != p.side_a.contains(&b))
    }

    /// Appends a block to an instance's chain, checking it against the certificate, the chain
    /// and (for honest validators) every other honest validator's chain.
    fn commit(&mut self, i: usize, block: Block, cert: CommitCertificate, synced: bool) -> Result<(), String> {
        let honest = self.honest(i);
        let x = &self.instances[i];
        let height = x.chain.len() as u64 + 1;
        let hash = block.header.hash(self.algo());
        if honest {
            let who = x.validator;
            if block.header.height != height || cert.height != height {
                return Err(format!(
                    "validator {who} committed height {} / certificate {} at chain height {height}",
                    block.header.height, cert.height
                ));
            }
            if block.header.parent_hash != tip_hash(self.algo(), &x.chain) {
                return Err(format!("validator {who} committed a block at {height} that does not extend its chain"));
            }
            if cert.block_hash != hash {
                return Err(format!("validator {who} committed a block at {height} its certificate is not for"));
            }
            // Validity: what is final is a block its node can apply (a body swapped under the
            // header would make the node's commit fail).
            if !app_accepts(self.algo(), &self.network, &x.chain, &block) {
                return Err(format!("validator {who} committed a block at {height} that its node cannot apply"));
            }
            self.verify_certificate(&cert).map_err(|e| format!("validator {who}: {e}"))?;
            match self.decided.get(&height) {
                Some(h) if *h != hash => return Err(format!("agreement violated at height {height}: {h} and {hash}")),
                Some(_) => {}
                None => {
                    self.decided.insert(height, hash);
                }
            }
            if synced {
                self.outcome.synced_blocks += 1;
            } else {
                self.outcome.commits += 1;
            }
        }
        self.instances[i].chain.push((block, cert));
        Ok(())
    }

    fn verify_certificate(&mut self, cert: &CommitCertificate) -> Result<(), String> {
        let known = |kind: VoteKind, view: u64, hash: &Hash, voter: &AccountId, sig: &[u8; 64]| {
            kind == VoteKind::Commit && self.verified.contains(&(cert.height, view, *hash, *voter, *sig))
        };
        let mut c = Checker::plain(&self.network, self.set_at(cert.height), &self.keys);
        c.known_signature = &known;
        verify_quorum(&c, VoteKind::Commit, cert.height, cert.view, &cert.block_hash, &cert.signatures)
            .map_err(|e| e.to_string())?;
        for (voter, sig) in &cert.signatures {
            self.verified.insert((cert.height, cert.view, cert.block_hash, *voter, *sig));
        }
        Ok(())
    }

    /// Serves a `Sync`: blocks and certificates from the honest instance with the longest chain,
    /// each verified before it is applied. Returns the new committed height.
    fn sync_from_peers(&mut self, to: usize) -> Result<u64, String> {
        let mut source = None;
        for (j, x) in self.instances.iter().enumerate() {
            if j != to
                && x.role == Role::Honest
                && source.is_none_or(|s: usize| self.instances[s].chain.len() < x.chain.len())
            {
                source = Some(j);
            }
        }
        let mine = self.instances[to].chain.len();
        if let Some(s) = source {
            let missing: Vec<(Block, CommitCertificate)> = self.instances[s].chain.iter().skip(mine).cloned().collect();
            for (block, cert) in missing {
                // What any node does with fetched blocks: verify, then apply.
                let x = &self.instances[to];
                let fits = block.header.parent_hash == tip_hash(self.algo(), &x.chain)
                    && cert.block_hash == block.header.hash(self.algo())
                    && cert.height == x.chain.len() as u64 + 1;
                if !fits || self.verify_certificate(&cert).is_err() {
                    break;
                }
                self.commit(to, block, cert, true)?;
            }
        }
        Ok(self.instances[to].chain.len() as u64)
    }
}

pub(crate) fn tip_hash(algo: HashAlgo, chain: &[(Block, CommitCertificate)]) -> Hash {
    chain.last().map(|(b, _)| b.header.hash(algo)).unwrap_or_default()
}

/// What the fake execution would reach on top of `parent`.
fn state_root(parent: &Hash, height: u64) -> Hash {
    blake2_256(&(b"jjj/sim/state", parent, height).encode())
}

/// A block of one transaction on top of `parent`; `salt` makes a twin's blocks differ.
pub(crate) fn make_block(
    algo: HashAlgo,
    network: &NetworkId,
    height: u64,
    parent: Hash,
    proposer: AccountId,
    salt: u64,
) -> Block {
    make_block_with_body(algo, network, height, parent, proposer, salt, 0)
}

/// `make_block` whose transaction carries `payload` bytes of call input (a large body).
pub fn make_block_with_body(
    algo: HashAlgo,
    network: &NetworkId,
    height: u64,
    parent: Hash,
    proposer: AccountId,
    salt: u64,
    payload: usize,
) -> Block {
    // Unsigned: the core never looks inside transactions, and the fake execution checks the
    // body only against the header's tx root, as the executive does.
    let tx = SignedTransaction {
        tx: Transaction {
            network: network.clone(),
            sender: proposer,
            nonce: height,
            gas_limit: salt,
            call: Call::Call { contract: AccountId::default(), input: vec![0x5a; payload], value: 0 },
        },
        signatures: vec![],
    };
    Block {
        header: Header {
            network: network.clone(),
            height,
            parent_hash: parent,
            timestamp: height.wrapping_mul(1_000).wrapping_add(salt),
            proposer,
            tx_root: merkle_root(algo, [tx.hash(algo)]),
            receipts_root: Hash::default(),
            state_root: state_root(&parent, height),
        },
        transactions: vec![tx],
    }
}

/// The same header with another body: what a body-swapping relayer forwards.
pub fn swap_body(block: &Block, salt: u64) -> Block {
    let transactions = match salt % 2 {
        0 => vec![],
        _ => {
            let mut txs = block.transactions.clone();
            txs.push(SignedTransaction {
                tx: Transaction {
                    network: block.header.network.clone(),
                    sender: AccountId::default(),
                    nonce: salt,
                    gas_limit: 0,
                    call: Call::Transfer { to: AccountId::default(), amount: salt },
                },
                signatures: vec![],
            });
            txs
        }
    };
    Block { header: block.header.clone(), transactions }
}

/// The fake re-execution: valid when it extends our chain, its body is the one its header
/// commits to, and it reaches the expected root.
pub(crate) fn app_accepts(
    algo: HashAlgo,
    network: &NetworkId,
    chain: &[(Block, CommitCertificate)],
    block: &Block,
) -> bool {
    let parent = tip_hash(algo, chain);
    let h = &block.header;
    &h.network == network
        && h.height == chain.len() as u64 + 1
        && h.parent_hash == parent
        && h.state_root == state_root(&parent, h.height)
        && h.tx_root == merkle_root(algo, block.transactions.iter().map(|t| t.hash(algo)))
}
