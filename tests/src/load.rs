//! The load generator: utility-bills contract calls (the provider issues bills, residents pay
//! the bills issued to them once they are final), spread over random validators, with every
//! transaction followed to finality.
//!
//! A validator's mempool is not durable: a transaction it accepted is gone if it is killed
//! before gossiping it. So, like a real client, the generator resubmits the same signed bytes
//! (to another random validator) until the transaction is final; it never signs a second
//! transaction for a nonce, so a resubmission either lands or is refused as a used nonce.
//! It follows the finalised chain block by block, records the height at which it saw each of
//! its transactions final and the hash of every block it saw, and flags any node that ever
//! shows a different block at a height already seen.
use crate::bills::{issued_bill_id, Bills};
use crate::devnet::NET;
use crate::rng::Rng;
use jjj_rpc_api::{hex0x, ErrorCode, NodeApiClient, ReceiptJson, Rpc};
use parity_scale_codec::Encode;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A single RPC must not hold the generator up: a validator may be killed mid-request.
const RPC_TIMEOUT: Duration = Duration::from_secs(5);

pub struct LoadConfig {
    /// New transactions per second.
    pub rate_per_s: f64,
    /// Most unfinalised transactions per sender.
    pub max_pending_per_sender: usize,
    /// Resubmit a transaction not final after this long.
    pub resubmit_after: Duration,
    pub seed: u64,
}

#[derive(Clone, Debug)]
pub enum Kind {
    Issue { resident: usize, amount: u64 },
    Pay { resident: usize, bill: u64, amount: u64 },
}

#[derive(Clone, Debug)]
pub struct TxRecord {
    pub hash: String,
    /// 0: the provider; 1 + r: resident r.
    pub sender: usize,
    pub nonce: u64,
    pub kind: Kind,
    hex: String,
    /// Some validator admitted it to its mempool.
    pub accepted: bool,
    /// Refused for good (a reason that resubmitting cannot change), with the reason.
    pub refused: Option<String>,
    /// The last transient refusal (mempool full, nonce ahead…), for reports.
    pub last_refusal: Option<String>,
    pub final_height: Option<u64>,
    /// "success", "reverted" or "failed", and the reason, from the receipt.
    pub status: Option<String>,
    pub reason: Option<String>,
    pub submits: u32,
    last_submit: Option<Instant>,
    /// The validator it was last sent to: a resubmission goes to another, as a client that
    /// fails over would (the last one may be cut off, holding the transaction where no leader
    /// can see it and the sender's later ones behind a nonce gap).
    last_node: Option<usize>,
}

/// Counters the campaign reads while the load runs.
#[derive(Default)]
pub struct LoadProgress {
    pub created: AtomicU64,
    pub accepted: AtomicU64,
    pub finalised: AtomicU64,
    pub height: AtomicU64,
    pub resubmits: AtomicU64,
}

/// What the generator saw, handed back when it stops.
pub struct LoadReport {
    pub txs: Vec<TxRecord>,
    /// The block hash first seen at each height.
    pub seen_blocks: BTreeMap<u64, String>,
    /// Different blocks seen at one height (on one node or across nodes).
    pub divergences: Vec<String>,
    pub start_height: u64,
    /// Accepted transactions still not final when the drain gave up.
    pub drained: bool,
}

impl LoadReport {
    pub fn accepted(&self) -> usize {
        self.txs.iter().filter(|t| t.accepted || t.final_height.is_some()).count()
    }
    pub fn finalised(&self) -> usize {
        self.txs.iter().filter(|t| t.final_height.is_some()).count()
    }
}

/// A running generator. [`Load::stop`] stops new transactions, drains and returns the report.
pub struct Load {
    pub progress: Arc<LoadProgress>,
    generate: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<LoadReport>,
}

impl Load {
    /// Starts generating against `rpc_urls` (all validators), from the current finalised head.
    pub fn start(
        rpc_urls: Vec<String>,
        bills: Arc<Bills>,
        cfg: LoadConfig,
        drain_within: Duration,
    ) -> Result<Load, String> {
        let rpcs: Vec<Rpc> = rpc_urls.iter().map(|u| Rpc::new(u)).collect::<Result<_, _>>()?;
        let progress = Arc::new(LoadProgress::default());
        let generate = Arc::new(AtomicBool::new(true));
        let gen = Generator {
            rng: Rng::new(cfg.seed),
            next_nonce: vec![0; bills.residents.len() + 1],
            unpaid: vec![VecDeque::new(); bills.residents.len()],
            bills,
            rpcs,
            cfg,
            txs: HashMap::new(),
            order: Vec::new(),
            seen_blocks: BTreeMap::new(),
            divergences: Vec::new(),
            next_height: 0,
            start_height: 0,
            issued: 0,
            next_resident: 0,
            progress: progress.clone(),
        };
        let task = tokio::spawn(gen.run(generate.clone(), drain_within));
        Ok(Load { progress, generate, task })
    }

    /// Stops new transactions, resubmits the outstanding ones until all are final (or the drain
    /// time passes without progress) and returns what was seen.
    pub async fn stop(self) -> Result<LoadReport, String> {
        self.generate.store(false, Ordering::SeqCst);
        self.task.await.map_err(|e| format!("the load generator failed: {e}"))
    }
}

struct Generator {
    rng: Rng,
    bills: Arc<Bills>,
    rpcs: Vec<Rpc>,
    cfg: LoadConfig,
    /// By hash.
    txs: HashMap<String, TxRecord>,
    /// Hashes in creation order.
    order: Vec<String>,
    next_nonce: Vec<u64>,
    /// Per resident: final, unpaid bills (id, amount).
    unpaid: Vec<VecDeque<(u64, u64)>>,
    seen_blocks: BTreeMap<u64, String>,
    divergences: Vec<String>,
    next_height: u64,
    start_height: u64,
    issued: u64,
    next_resident: usize,
    progress: Arc<LoadProgress>,
}

async fn timed<T, E: std::fmt::Display>(f: impl Future<Output = Result<T, E>>) -> Result<T, String> {
    match tokio::time::timeout(RPC_TIMEOUT, f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Generator {
    async fn run(mut self, generate: Arc<AtomicBool>, drain_within: Duration) -> LoadReport {
        // Start following at the current head of whichever validator answers.
        for i in 0..self.rpcs.len() {
            if let Ok(h) = timed(self.rpcs[i].api().finalized_head(NET.into())).await {
                self.start_height = h.height;
                self.next_height = h.height + 1;
                break;
            }
        }
        let mut budget = 0.0f64;
        let mut last_tick = Instant::now();
        let mut last_progress = Instant::now();
        let mut drain_started: Option<Instant> = None;
        loop {
            let before = self.progress.finalised.load(Ordering::Relaxed);
            self.follow().await;
            if self.progress.finalised.load(Ordering::Relaxed) > before {
                last_progress = Instant::now();
            }
            if generate.load(Ordering::SeqCst) {
                let now = Instant::now();
                budget = (budget + now.duration_since(last_tick).as_secs_f64() * self.cfg.rate_per_s).min(50.0);
                last_tick = now;
                while budget >= 1.0 {
                    budget -= 1.0;
                    if !self.create_one().await {
                        break;
                    }
                }
            } else {
                if drain_started.is_none() {
                    // The drain gets its own full window, whatever happened before.
                    drain_started = Some(Instant::now());
                    last_progress = Instant::now();
                }
                let outstanding = self.txs.values().any(|t| t.final_height.is_none() && t.refused.is_none());
                if !outstanding || last_progress.elapsed() > drain_within {
                    break;
                }
            }
            self.resubmit().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let drained = !self.txs.values().any(|t| t.accepted && t.final_height.is_none());
        let txs = self.order.iter().filter_map(|h| self.txs.get(h).cloned()).collect();
        LoadReport {
            txs,
            seen_blocks: self.seen_blocks,
            divergences: self.divergences,
            start_height: self.start_height,
            drained,
        }
    }

    fn pending(&self, sender: usize) -> usize {
        // Transactions of this sender not yet final; the order vector is short-lived enough that
        // a scan is cheap at test rates.
        self.order
            .iter()
            .rev()
            .take(4096)
            .filter_map(|h| self.txs.get(h))
            .filter(|t| t.sender == sender && t.final_height.is_none() && t.refused.is_none())
            .count()
    }

    /// Creates and submits one transaction: a payment if some resident has a final unpaid bill
    /// and room, else a new bill. False when every sender is at its pending limit.
    async fn create_one(&mut self) -> bool {
        let n = self.bills.residents.len();
        let max = self.cfg.max_pending_per_sender;
        for k in 0..n {
            let r = (self.next_resident + k) % n;
            if self.unpaid[r].is_empty() || self.pending(r + 1) >= max {
                continue;
            }
            let Some((bill, amount)) = self.unpaid[r].pop_front() else { continue };
            self.next_resident = (r + 1) % n;
            let nonce = self.next_nonce[r + 1];
            match self.bills.pay(r, nonce, bill, amount) {
                Ok(stx) => {
                    self.next_nonce[r + 1] += 1;
                    self.add(r + 1, nonce, Kind::Pay { resident: r, bill, amount }, stx).await;
                    return true;
                }
                Err(_) => return false,
            }
        }
        if self.pending(0) >= max {
            return false;
        }
        let resident = (self.issued % n as u64) as usize;
        let amount = 100 + self.issued % 900;
        let nonce = self.next_nonce[0];
        match self.bills.issue(nonce, resident, amount, now_ms()) {
            Ok(stx) => {
                self.next_nonce[0] += 1;
                self.issued += 1;
                self.add(0, nonce, Kind::Issue { resident, amount }, stx).await;
                true
            }
            Err(_) => false,
        }
    }

    async fn add(&mut self, sender: usize, nonce: u64, kind: Kind, stx: jjj_primitives::SignedTransaction) {
        let hash = stx.hash(self.bills.algo).to_string();
        let rec = TxRecord {
            hash: hash.clone(),
            sender,
            nonce,
            kind,
            hex: hex0x(&stx.encode()),
            accepted: false,
            refused: None,
            last_refusal: None,
            final_height: None,
            status: None,
            reason: None,
            submits: 0,
            last_submit: None,
            last_node: None,
        };
        self.txs.insert(hash.clone(), rec);
        self.order.push(hash.clone());
        self.progress.created.fetch_add(1, Ordering::Relaxed);
        self.submit(&hash).await;
    }

    /// Sends `hash` to a random validator and classifies the answer.
    async fn submit(&mut self, hash: &str) {
        let Some((hex, last)) = self.txs.get(hash).map(|t| (t.hex.clone(), t.last_node)) else { return };
        let n = self.rpcs.len();
        let node = match last {
            Some(last) if n > 1 => (last + 1 + self.rng.below(n as u64 - 1) as usize) % n,
            _ => self.rng.below(n as u64) as usize,
        };
        let rpc = self.rpcs[node].clone();
        let answer = tokio::time::timeout(RPC_TIMEOUT, rpc.api().submit_tx(NET.into(), hex)).await;
        let Some(t) = self.txs.get_mut(hash) else { return };
        t.submits += 1;
        t.last_submit = Some(Instant::now());
        t.last_node = Some(node);
        match answer {
            Ok(Ok(_)) => {
                if !t.accepted {
                    self.progress.accepted.fetch_add(1, Ordering::Relaxed);
                }
                t.accepted = true;
            }
            Ok(Err(jsonrpsee_error)) => {
                let text = rpc.explain(jsonrpsee_error);
                let code = error_code(&text);
                match code {
                    // Already in that mempool: accepted.
                    Some(c) if c == ErrorCode::DuplicateTransaction.code() => {
                        if !t.accepted {
                            self.progress.accepted.fetch_add(1, Ordering::Relaxed);
                        }
                        t.accepted = true;
                    }
                    // A used nonce: this very transaction is final (we sign one per nonce); the
                    // follower will find it in its block.
                    Some(c) if c == ErrorCode::BadNonce.code() && text.contains("already used") => {
                        t.last_refusal = Some(text);
                    }
                    // Worth retrying: nonce ahead of a lost predecessor, full mempool, or no
                    // answer (the validator is down).
                    Some(c)
                        if c == ErrorCode::BadNonce.code()
                            || c == ErrorCode::MempoolFull.code()
                            || c == ErrorCode::TxRefused.code() =>
                    {
                        t.last_refusal = Some(text);
                    }
                    Some(_) => t.refused = Some(text),
                    None => {
                        // Transport error: try another validator soon.
                        t.last_submit = None;
                    }
                }
            }
            Err(_) => t.last_submit = None,
        }
    }

    /// Resubmits transactions not final after `resubmit_after` (at once if no validator
    /// answered), a bounded number per round.
    async fn resubmit(&mut self) {
        let after = self.cfg.resubmit_after;
        let due: Vec<String> = self
            .order
            .iter()
            .filter_map(|h| self.txs.get(h))
            .filter(|t| t.final_height.is_none() && t.refused.is_none())
            // Backing off (3, 6, 12… s, at most 30 s): a slow chain is not a lost transaction,
            // and resubmitting everything every few seconds would only add load.
            .filter(|t| {
                let wait = after.saturating_mul(1 << t.submits.saturating_sub(1).min(4)).min(Duration::from_secs(30));
                t.last_submit.is_none_or(|s| s.elapsed() > wait)
            })
            .take(50)
            .map(|t| t.hash.clone())
            .collect();
        for h in due {
            self.progress.resubmits.fetch_add(1, Ordering::Relaxed);
            self.submit(&h).await;
        }
    }

    /// Reads new finalised blocks from a random validator that answers, records our
    /// transactions' heights and receipts, and checks no block differs from one seen before.
    async fn follow(&mut self) {
        let n = self.rpcs.len();
        let first = self.rng.below(n as u64) as usize;
        for k in 0..n {
            let node = (first + k) % n;
            let rpc = self.rpcs[node].clone();
            let Ok(head) = timed(rpc.api().finalized_head(NET.into())).await else { continue };
            // Re-check the last block this node shows against what was seen: a node that
            // switched blocks at a final height is a safety failure.
            if let Some(seen) = self.seen_blocks.get(&head.height) {
                if *seen != head.hash {
                    self.divergences.push(format!(
                        "validator {} shows block {} at height {}, {} was seen there before",
                        node + 1,
                        head.hash,
                        head.height,
                        seen
                    ));
                }
            }
            let mut h = self.next_height;
            // Bounded per round so submissions keep flowing while a long chain is read.
            while h <= head.height && h < self.next_height + 100 {
                let Ok(Some(block)) = timed(rpc.api().block(NET.into(), Some(h), None, None)).await else { break };
                match self.seen_blocks.get(&h) {
                    Some(seen) if *seen != block.header.hash => self.divergences.push(format!(
                        "validator {} shows block {} at height {h}, {seen} was seen there before",
                        node + 1,
                        block.header.hash
                    )),
                    Some(_) => {}
                    None => {
                        self.seen_blocks.insert(h, block.header.hash.clone());
                    }
                }
                let mut ours = Vec::new();
                for tx in &block.transactions {
                    if let Some(t) = self.txs.get_mut(&tx.hash) {
                        if t.final_height.is_none() {
                            t.final_height = Some(h);
                            ours.push(tx.hash.clone());
                        }
                    }
                }
                for hash in ours {
                    self.progress.finalised.fetch_add(1, Ordering::Relaxed);
                    let receipt = timed(rpc.api().receipt(NET.into(), hash.clone(), None)).await;
                    self.record_receipt(&hash, receipt.ok().flatten());
                }
                h += 1;
            }
            self.next_height = h;
            self.progress.height.store(h.saturating_sub(1), Ordering::Relaxed);
            return;
        }
    }

    fn record_receipt(&mut self, hash: &str, receipt: Option<ReceiptJson>) {
        let Some(t) = self.txs.get_mut(hash) else { return };
        let Some(r) = receipt else {
            t.status = Some("no receipt".into());
            return;
        };
        t.status = Some(r.status.clone());
        t.reason = r.reason.clone();
        if let Kind::Issue { resident, amount } = t.kind {
            if r.status == "success" {
                if let Some(id) = issued_bill_id(&r) {
                    self.unpaid[resident].push_back((id, amount));
                }
            }
        }
    }
}

/// The error code in a message formatted by [`Rpc::explain`] ("… (code N)"); None for a
/// transport error.
fn error_code(text: &str) -> Option<i32> {
    let start = text.rfind("(code ")? + "(code ".len();
    let end = start + text[start..].find(')')?;
    text[start..end].trim().parse().ok()
}
