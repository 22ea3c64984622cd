//! One network's chain on this node: the consensus core driven by real IO.
//!
//! The core (`consensus`) is pure; this driver carries out its effects in order — persist the
//! safety record (synced) before any vote leaves, build and validate blocks with the runtime,
//! commit finalised blocks to the store in one synced batch, schedule timers, catch up from
//! peers — and feeds the answers back. Execution results are cached by block hash so a block
//! validated (or built) here is not executed again at commit.
use crate::mempool::{Mempool, MempoolError};
use crate::metrics::Metrics;
use crate::wire::{CertifiedBlock, WireMessage, MAX_GOSSIP_TXS, MAX_SYNC_BLOCKS};
use jjj_config::Genesis;
use jjj_consensus::{Core, CoreConfig, Effect, Input, SafetyState, Timeout, ValidatorSet};
use jjj_crypto::Keypair;
use jjj_executive::{BlockExecution, BlockTemplate, Runtime};
use jjj_p2p::P2pHandle;
use jjj_primitives::params::MAX_CLOCK_DRIFT_MS;
use jjj_primitives::{AccountId, Block, Hash, Header, NetworkId, SignedTransaction};
use jjj_state::{keys, Account, StateReader};
use jjj_store::{ChainStore, EventRecord};
use parity_scale_codec::{Decode, Encode};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, mpsc};

/// Inputs waiting for the driver.
const INPUT_QUEUE: usize = 20_000;

/// Where the driver reads the time (block timestamps, the empty-block interval, finality
/// metrics): the system clock in a node, a virtual one when the driver runs under a simulation.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        // A clock before 1970 reads as 0: timestamps then only ever grow from their parent's.
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }
}

/// The system clock's time, for node code outside the driver (RPC, service uptime).
pub fn now_ms() -> u64 {
    SystemClock.now_ms()
}

/// What reaches the driver from outside.
#[derive(Debug)]
pub enum DriverInput {
    /// Boxed: the queue holds many inputs, most of them small.
    Consensus(Box<jjj_consensus::ConsensusMessage>),
    Timeout(Timeout),
    /// New transactions in the mempool.
    Transactions,
    SyncRequest {
        from_peer: AccountId,
        from: u64,
    },
    SyncResponse {
        blocks: Vec<CertifiedBlock>,
    },
    EmptyBlockTick,
    /// Once a second: ask peers for blocks this node lacks (a restarted node on an idle
    /// network hears no consensus message that would tell it it is behind) and re-gossip
    /// transactions still waiting (gossip sent while a peer was away is lost).
    Housekeeping,
}

/// How often the driver asks for missing blocks and re-gossips waiting transactions.
const HOUSEKEEPING_MS: u64 = 1_000;

/// The state of one network that RPC, p2p and the driver share.
pub struct Chain {
    pub network: NetworkId,
    pub genesis: Genesis,
    pub genesis_hash: Hash,
    pub validators: ValidatorSet,
    pub store: Arc<dyn ChainStore>,
    pub runtime: Runtime,
    pub mempool: Mutex<Mempool>,
    pub metrics: Metrics,
    pub heads: broadcast::Sender<Header>,
    pub events: broadcast::Sender<EventRecord>,
    inputs: mpsc::Sender<DriverInput>,
    net: P2pHandle,
    /// The only source of time for this chain's driver.
    clock: Arc<dyn Clock>,
}

impl Chain {
    /// Opens (or initialises from genesis) one network's chain and starts its driver on the
    /// system clock.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        genesis: Genesis,
        store: Arc<dyn ChainStore>,
        runtime: Runtime,
        key: Keypair,
        net: P2pHandle,
        view_timeout_ms: u64,
        mempool_capacity: usize,
        mempool_per_sender: usize,
    ) -> Result<Arc<Chain>, String> {
        let clock = Arc::new(SystemClock);
        Chain::start_with_clock(
            genesis,
            store,
            runtime,
            key,
            net,
            view_timeout_ms,
            mempool_capacity,
            mempool_per_sender,
            clock,
        )
    }

    /// `start`, with the driver reading time from `clock`.
    #[allow(clippy::too_many_arguments)]
    pub fn start_with_clock(
        genesis: Genesis,
        store: Arc<dyn ChainStore>,
        runtime: Runtime,
        key: Keypair,
        net: P2pHandle,
        view_timeout_ms: u64,
        mempool_capacity: usize,
        mempool_per_sender: usize,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Chain>, String> {
        let network = genesis.network_id()?;
        let header = genesis.header()?;
        let genesis_hash = header.hash();
        match store.head().map_err(|e| e.to_string())? {
            None => {
                store.init_genesis(&header, &genesis.state_changes()?).map_err(|e| format!("genesis: {e}"))?;
                tracing::info!(%network, genesis = %genesis_hash, "initialised the ledger from genesis");
            }
            Some(_) => {
                let stored = store.header(0).map_err(|e| e.to_string())?;
                if stored.map(|h| h.hash()) != Some(genesis_hash) {
                    return Err(format!(
                        "the ledger in the data directory belongs to another genesis of network {network}"
                    ));
                }
            }
        }
        let validators = ValidatorSet::new(genesis.validator_ids()?).map_err(|e| e.to_string())?;
        let (inputs, rx) = mpsc::channel(INPUT_QUEUE);
        let chain = Arc::new(Chain {
            network: network.clone(),
            genesis_hash,
            validators: validators.clone(),
            store: store.clone(),
            runtime,
            mempool: Mutex::new(Mempool::new(network.clone(), mempool_capacity, mempool_per_sender)),
            metrics: Metrics::default(),
            heads: broadcast::channel(1024).0,
            events: broadcast::channel(8192).0,
            inputs,
            net,
            genesis,
            clock,
        });
        let (head, _) = store.head().map_err(|e| e.to_string())?.unwrap_or((0, genesis_hash));
        chain.metrics.height.store(head, Relaxed);
        if validators.contains(&key.account()) {
            let local = key.account();
            let config = CoreConfig {
                network,
                validators,
                key,
                base_timeout_ms: view_timeout_ms,
                max_timeout_ms: view_timeout_ms.saturating_mul(32),
            };
            let saved =
                store.load_consensus().map_err(|e| e.to_string())?.and_then(|b| SafetyState::decode(&mut &b[..]).ok());
            let core = match saved {
                // A record for a height already committed is stale: start at the next height.
                Some(s) if s.height == head + 1 => Core::restore(config, s),
                _ => Core::new(config, head + 1),
            };
            let last_block_ms = chain.clock.now_ms();
            let driver = Driver {
                chain: chain.clone(),
                core,
                local,
                queue: VecDeque::new(),
                executed: HashMap::new(),
                last_block_ms,
            };
            tokio::spawn(driver.run(rx));
        } else {
            tracing::info!(network = %chain.network, "not a validator of this network: following only");
            tokio::spawn(follow(chain.clone(), rx));
        }
        if chain.genesis.empty_block_interval_ms > 0 {
            let tx = chain.inputs.clone();
            let every = Duration::from_millis(chain.genesis.empty_block_interval_ms);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if tx.send(DriverInput::EmptyBlockTick).await.is_err() {
                        break;
                    }
                }
            });
        }
        // Catch up with whatever the peers finalised while this node was away, and keep asking.
        chain.request_sync(head + 1);
        let tx = chain.inputs.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(HOUSEKEEPING_MS)).await;
                if tx.send(DriverInput::Housekeeping).await.is_err() {
                    break;
                }
            }
        });
        Ok(chain)
    }

    pub fn head(&self) -> (u64, Hash) {
        self.store.head().ok().flatten().unwrap_or((0, self.genesis_hash))
    }

    pub fn next_nonce(&self, who: &AccountId) -> u64 {
        account(&*self.store.state(), who).nonce
    }

    /// Admits a transaction (RPC), gossips it and wakes the proposer.
    pub fn submit(&self, stx: SignedTransaction) -> Result<Hash, MempoolError> {
        let result = self.admit(stx.clone());
        if result.is_ok() {
            self.net.broadcast(WireMessage::Transactions { network: self.network.clone(), txs: vec![stx] }.encode());
            let _ = self.inputs.try_send(DriverInput::Transactions);
        } else {
            self.metrics.tx_refused.fetch_add(1, Relaxed);
        }
        result
    }

    fn admit(&self, stx: SignedTransaction) -> Result<Hash, MempoolError> {
        let r = crate::mempool::admit(&self.mempool, &self.runtime, self.store.state(), stx);
        if let Ok(pool) = self.mempool.lock() {
            self.metrics.mempool.store(pool.len() as u64, Relaxed);
        }
        r
    }

    /// A message from a peer, already authenticated as `from` by the transport.
    pub fn deliver(&self, from: AccountId, msg: WireMessage) {
        let input = match msg {
            WireMessage::Consensus { message, .. } => {
                if !self.validators.contains(&from) {
                    return;
                }
                DriverInput::Consensus(Box::new(message))
            }
            WireMessage::Transactions { txs, .. } => {
                let mut any = false;
                for stx in txs.into_iter().take(MAX_GOSSIP_TXS) {
                    any |= self.admit(stx).is_ok();
                }
                if !any {
                    return;
                }
                DriverInput::Transactions
            }
            WireMessage::SyncRequest { from: height, .. } => DriverInput::SyncRequest { from_peer: from, from: height },
            WireMessage::SyncResponse { blocks, .. } => DriverInput::SyncResponse { blocks },
        };
        if self.inputs.try_send(input).is_err() {
            tracing::warn!(network = %self.network, "driver queue full: dropped a peer message");
        }
    }

    fn request_sync(&self, from: u64) {
        self.net.broadcast(WireMessage::SyncRequest { network: self.network.clone(), from }.encode());
    }

    fn answer_sync(&self, to: &AccountId, from: u64) {
        let (head, _) = self.head();
        let mut blocks = Vec::new();
        let mut h = from.max(1);
        while h <= head && (blocks.len() as u64) < MAX_SYNC_BLOCKS {
            let (Ok(Some(block)), Ok(Some(cert))) = (self.store.block(h), self.store.certificate(h)) else { break };
            let Ok(certificate) = jjj_consensus::CommitCertificate::decode(&mut &cert[..]) else { break };
            blocks.push(CertifiedBlock { block, certificate });
            h += 1;
        }
        if !blocks.is_empty() {
            self.net.send(to, WireMessage::SyncResponse { network: self.network.clone(), blocks }.encode());
        }
    }

    /// Stores a finalised block and tells everyone who listens.
    fn commit(
        &self,
        block: &Block,
        certificate: &jjj_consensus::CommitCertificate,
        execution: &BlockExecution,
    ) -> Result<(), String> {
        self.store
            .commit_block(block, &certificate.encode(), &execution.receipts, &execution.changes)
            .map_err(|e| format!("cannot store block {}: {e}", block.header.height))?;
        let h = &block.header;
        self.metrics.height.store(h.height, Relaxed);
        self.metrics.blocks.fetch_add(1, Relaxed);
        self.metrics.transactions.fetch_add(block.transactions.len() as u64, Relaxed);
        self.metrics.observe_finality(self.clock.now_ms().saturating_sub(h.timestamp));
        if let Ok(mut pool) = self.mempool.lock() {
            let state = self.store.state();
            pool.prune(&block.transactions, |who| account(&*state, who).nonce);
            self.metrics.mempool.store(pool.len() as u64, Relaxed);
        }
        let _ = self.heads.send(h.clone());
        for (i, (stx, r)) in block.transactions.iter().zip(&execution.receipts).enumerate() {
            for event in &r.events {
                let _ = self.events.send(EventRecord {
                    height: h.height,
                    tx_index: i as u32,
                    tx_hash: stx.hash(),
                    event: event.clone(),
                });
            }
        }
        tracing::info!(network = %self.network, height = h.height, txs = block.transactions.len(), hash = %h.hash(), "finalised");
        Ok(())
    }

    /// Checks a certified block from a peer and applies it: certificate, parent, re-execution.
    fn apply_certified(&self, certified: &CertifiedBlock) -> Result<(), String> {
        let (head, head_hash) = self.head();
        let block = &certified.block;
        let header = &block.header;
        if header.height != head + 1 || header.parent_hash != head_hash || header.network != self.network {
            return Err(format!("block {} does not extend the finalised head {head}", header.height));
        }
        let certificate = &certified.certificate;
        if certificate.height != header.height || certificate.block_hash != header.hash() {
            return Err("the certificate is for another block".into());
        }
        certificate.verify(&self.network, &self.validators).map_err(|e| e.to_string())?;
        let execution = self.runtime.apply_block(self.store.state(), block).map_err(|e| e.to_string())?;
        self.commit(block, certificate, &execution)
    }
}

impl Chain {
    fn housekeeping(&self) {
        self.request_sync(self.head().0 + 1);
        let state = self.store.state();
        let waiting = match self.mempool.lock() {
            Ok(mut pool) => pool.batch(MAX_GOSSIP_TXS, 4 * 1024 * 1024, |who| account(&*state, who).nonce),
            Err(_) => Vec::new(),
        };
        if !waiting.is_empty() {
            self.net.broadcast(WireMessage::Transactions { network: self.network.clone(), txs: waiting }.encode());
        }
    }

    /// Whether the mempool holds a transaction a block could include now.
    fn has_work(&self) -> bool {
        let state = self.store.state();
        self.mempool.lock().map(|m| m.has_runnable(|who| account(&*state, who).nonce)).unwrap_or(false)
    }
}

fn account(state: &dyn StateReader, who: &AccountId) -> Account {
    state.get(&keys::account(who)).ok().flatten().and_then(|b| Account::decode(&mut &b[..]).ok()).unwrap_or_default()
}

/// A node that serves a network without validating it: applies certified blocks from peers.
async fn follow(chain: Arc<Chain>, mut rx: mpsc::Receiver<DriverInput>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            input = rx.recv() => match input {
                None => break,
                Some(DriverInput::SyncResponse { blocks }) => {
                    for certified in &blocks {
                        if let Err(e) = chain.apply_certified(certified) {
                            tracing::debug!(network = %chain.network, "sync: {e}");
                            break;
                        }
                    }
                }
                Some(DriverInput::SyncRequest { from_peer, from }) => chain.answer_sync(&from_peer, from),
                Some(_) => {}
            },
            _ = tick.tick() => chain.request_sync(chain.head().0 + 1),
        }
    }
}

struct Driver {
    chain: Arc<Chain>,
    core: Core,
    /// This validator's account (its node key).
    local: AccountId,
    queue: VecDeque<Input>,
    executed: HashMap<Hash, BlockExecution>,
    /// When this node last committed a block (or started): paces empty blocks.
    last_block_ms: u64,
}

impl Driver {
    async fn run(mut self, mut rx: mpsc::Receiver<DriverInput>) {
        self.queue.push_back(Input::Start);
        loop {
            while let Some(input) = self.queue.pop_front() {
                let before = self.core.view();
                let effects = self.core.handle(input);
                if self.core.view() > before {
                    self.chain.metrics.view_changes.fetch_add(self.core.view() - before, Relaxed);
                }
                self.chain.metrics.view.store(self.core.view(), Relaxed);
                if let Err(e) = self.carry_out(effects) {
                    // Storage failed: continuing could sign without a durable record. Stop.
                    tracing::error!(network = %self.chain.network, "stopping consensus: {e}");
                    return;
                }
            }
            let Some(input) = rx.recv().await else { return };
            self.on_input(input);
        }
    }

    fn on_input(&mut self, input: DriverInput) {
        match input {
            DriverInput::Consensus(message) => self.queue.push_back(Input::Message(*message)),
            DriverInput::Timeout(timeout) => self.queue.push_back(Input::Timeout(timeout)),
            DriverInput::Transactions => {
                if !self.chain.has_work() {
                    // Only transactions behind a nonce gap: nothing to propose or wait for.
                } else if let Some((height, view)) = self.core.proposal_to_build() {
                    // The core asked for a block and we held it back for transactions: build now.
                    self.build(height, view);
                } else {
                    self.queue.push_back(Input::TransactionsPending);
                }
            }
            DriverInput::EmptyBlockTick => {
                let due = self.chain.clock.now_ms().saturating_sub(self.last_block_ms)
                    >= self.chain.genesis.empty_block_interval_ms;
                if let (Some((height, view)), true) = (self.core.proposal_to_build(), due) {
                    self.build(height, view);
                }
            }
            DriverInput::SyncRequest { from_peer, from } => self.chain.answer_sync(&from_peer, from),
            DriverInput::Housekeeping => self.chain.housekeeping(),
            DriverInput::SyncResponse { blocks } => {
                let before = self.chain.head().0;
                for certified in &blocks {
                    if certified.block.header.height <= self.chain.head().0 {
                        continue;
                    }
                    if let Err(e) = self.chain.apply_certified(certified) {
                        tracing::debug!(network = %self.chain.network, "sync: {e}");
                        break;
                    }
                }
                let after = self.chain.head().0;
                if after > before {
                    tracing::info!(network = %self.chain.network, from = before, to = after, "caught up from peers");
                    self.executed.clear();
                    if blocks.len() as u64 == MAX_SYNC_BLOCKS {
                        self.chain.request_sync(after + 1);
                    }
                }
                // Even when nothing applied: the core then asks again at the next sign of lag.
                self.queue.push_back(Input::Synced { height: after });
            }
        }
    }

    fn carry_out(&mut self, effects: Vec<Effect>) -> Result<(), String> {
        for effect in effects {
            match effect {
                Effect::Persist(state) => {
                    self.chain
                        .store
                        .save_consensus(&state.encode())
                        .map_err(|e| format!("cannot persist the consensus record: {e}"))?;
                }
                Effect::Broadcast(message) => {
                    let bytes = WireMessage::Consensus { network: self.chain.network.clone(), message }.encode();
                    self.chain.net.broadcast(bytes);
                }
                Effect::BuildProposal { height, view } => {
                    // View 0 waits for transactions (or the empty-block tick): the core keeps the
                    // request until it is answered, see `Core::proposal_to_build`.
                    if view > 0 || self.chain.has_work() {
                        self.build(height, view);
                    }
                }
                Effect::ValidateProposal { height, view, block } => {
                    let hash = block.header.hash();
                    let valid = self.validate(&block);
                    self.queue.push_back(Input::ProposalValidated { height, view, block_hash: hash, valid });
                }
                Effect::Commit { block, certificate } => {
                    let hash = block.header.hash();
                    let execution = match self.executed.remove(&hash) {
                        Some(e) => e,
                        None => self
                            .chain
                            .runtime
                            .apply_block(self.chain.store.state(), &block)
                            .map_err(|e| format!("re-executing a certified block failed: {e}"))?,
                    };
                    self.chain.commit(&block, &certificate, &execution)?;
                    self.executed.clear();
                    self.last_block_ms = self.chain.clock.now_ms();
                    if self.chain.has_work() {
                        let _ = self.chain.inputs.try_send(DriverInput::Transactions);
                    }
                }
                Effect::ScheduleTimeout { timeout, after_ms } => {
                    let tx = self.chain.inputs.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(after_ms)).await;
                        let _ = tx.send(DriverInput::Timeout(timeout)).await;
                    });
                }
                Effect::Sync { height } => {
                    tracing::info!(network = %self.chain.network, behind_to = height, "behind the network: catching up");
                    self.chain.request_sync(self.chain.head().0 + 1);
                }
            }
        }
        Ok(())
    }

    fn build(&mut self, height: u64, view: u64) {
        let chain = self.chain.clone();
        let (head, parent_hash) = chain.head();
        if head + 1 != height {
            return;
        }
        let parent_time = chain.store.header(head).ok().flatten().map(|h| h.timestamp).unwrap_or(0);
        let state = chain.store.state();
        let batch = match chain.mempool.lock() {
            Ok(mut pool) => pool
                .batch(chain.genesis.max_block_txs, chain.genesis.max_block_bytes, |who| account(&*state, who).nonce),
            Err(_) => Vec::new(),
        };
        let template = BlockTemplate {
            network: chain.network.clone(),
            height,
            parent_hash,
            timestamp: chain.clock.now_ms().max(parent_time + 1),
            proposer: self.local,
        };
        match chain.runtime.build_block(state, template, batch) {
            Ok((block, execution, refused)) => {
                if !refused.is_empty() {
                    tracing::debug!(network = %chain.network, refused = refused.len(), "left transactions out of the block");
                    if let Ok(mut pool) = chain.mempool.lock() {
                        let txs: Vec<_> = refused.into_iter().map(|(t, _)| t).collect();
                        let st = chain.store.state();
                        pool.prune(&txs, |who| account(&*st, who).nonce);
                    }
                }
                self.executed.insert(block.header.hash(), execution);
                self.queue.push_back(Input::ProposalBuilt { height, view, block });
            }
            Err(e) => tracing::error!(network = %chain.network, "cannot build a block: {e}"),
        }
    }

    /// Re-executes a proposal on the finalised head; true if every root matches.
    fn validate(&mut self, block: &Block) -> bool {
        let hash = block.header.hash();
        if self.executed.contains_key(&hash) {
            return true;
        }
        let (head, head_hash) = self.chain.head();
        let h = &block.header;
        let parent_time = self.chain.store.header(head).ok().flatten().map(|h| h.timestamp).unwrap_or(0);
        if h.network != self.chain.network || h.height != head + 1 || h.parent_hash != head_hash {
            tracing::warn!(network = %self.chain.network, height = h.height, "proposal does not extend the finalised head");
            return false;
        }
        if h.timestamp <= parent_time || h.timestamp > self.chain.clock.now_ms() + MAX_CLOCK_DRIFT_MS {
            tracing::warn!(network = %self.chain.network, height = h.height, "proposal timestamp out of range");
            return false;
        }
        match self.chain.runtime.apply_block(self.chain.store.state(), block) {
            Ok(execution) => {
                self.executed.insert(hash, execution);
                true
            }
            Err(e) => {
                tracing::warn!(network = %self.chain.network, height = h.height, "proposal refused: {e}");
                false
            }
        }
    }
}
