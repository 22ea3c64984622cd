//! JSON-RPC (jsonrpsee; HTTP and WebSocket on one port).
//!
//! The interface — method names, parameters, responses, error codes — is `jjj_rpc_api`'s
//! `NodeApi` trait; this is its server over a node.
// Input from outside the process must never panic this crate: no unwrap/expect/panic! outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
use crate::access_log::ReadRefusal;
use crate::chain::{now_ms, Chain};
use crate::gov_views;
use crate::service::Node;
use jjj_executive::ReadAccess;
use jjj_primitives::access::{self, AccessDecision, AccessRead, SignedRead};
use jjj_primitives::params::{MAX_TX_GAS, MAX_TX_SIZE};
use jjj_primitives::*;
use jjj_rpc_api::*;
use jjj_state::{decode_record, keys, CodeInfo, ContractInfo, StateReader};
use jjj_store::{EventFilter, EventRecord};
use jsonrpsee::core::{async_trait, RpcResult, SubscriptionResult};
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionMessage};
use parity_scale_codec::{Decode, DecodeAll, DecodeLimit, Encode};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Events a `contract_events` call returns when it names no limit, and the most it may ask for.
const DEFAULT_EVENTS_LIMIT: usize = 1_000;
const MAX_EVENTS_LIMIT: usize = 10_000;

/// Most RPC calls reading the store (blocks, accounts, events…) at once; more are answered
/// "busy" rather than queued behind them.
const MAX_CONCURRENT_READS: usize = 16;
/// Most access-log entries one `audit_accessLog` call returns.
const MAX_ACCESS_LOG_PAGE: usize = 1_000;
/// Most blocks one `contract_events` call may scan: the store walks the index height by height,
/// so the range bounds the rows a filter that matches little can make it read.
pub const MAX_EVENTS_BLOCK_RANGE: u64 = 10_000;
/// Most events one `contract_events` call may read from the index (matching or not) before it
/// answers "ask for a narrower range, continue from height H": a filter by topic and contract
/// may otherwise read a busy topic's whole history to find a few events.
pub const MAX_EVENTS_SCANNED: usize = 100_000;

/// The RPC methods over a running node. Contract queries and dry runs execute on a runtime of
/// their own (its own engine and instance pool), so RPC load can never take an instance a block
/// needs and turn into a failed receipt.
pub fn module(node: Arc<Node>, limits: &jjj_config::RpcLimits) -> Result<RpcModule<NodeRpc>, String> {
    Ok(NodeRpc::new(node, limits)?.into_rpc())
}

pub struct NodeRpc {
    node: Arc<Node>,
    /// Executes `contract_query`/`contract_dryRun`: never the runtime blocks are built with.
    runtime: jjj_executive::Runtime,
    /// Permits for contract executions, and for store reads: blocking work runs on tokio's
    /// blocking pool only while holding one, and a call finding none is refused at once.
    executions: Arc<Semaphore>,
    reads: Arc<Semaphore>,
    /// Gas of a query or dry run that names none, and the most one may ask for.
    call_gas_limit: u64,
}

impl NodeRpc {
    fn new(node: Arc<Node>, limits: &jjj_config::RpcLimits) -> Result<NodeRpc, String> {
        // Its own engine and instance pool, sized for the calls it may run at once (each uses at
        // most MAX_INSTANCES_PER_TX instances): RPC load never reaches the block runtime's pool.
        let calls = limits.max_concurrent_calls.max(1);
        let pooled_instances =
            u32::try_from(calls.saturating_mul(jjj_executive::MAX_INSTANCES_PER_TX)).unwrap_or(u32::MAX);
        let config = jjj_executive::VmConfig { pooled_instances, ..Default::default() };
        let runtime = jjj_executive::Runtime::with_config(config).map_err(|e| format!("RPC runtime: {e}"))?;
        Ok(NodeRpc {
            node,
            runtime,
            executions: Arc::new(Semaphore::new(calls)),
            reads: Arc::new(Semaphore::new(MAX_CONCURRENT_READS)),
            call_gas_limit: limits.call_gas_limit.min(MAX_TX_GAS),
        })
    }

    /// Runs blocking work off the async workers, under a permit of `permits`; none free means
    /// `ErrorCode::Busy`, never an unbounded wait.
    async fn offload<T: Send + 'static>(
        &self,
        permits: &Arc<Semaphore>,
        what: &str,
        work: impl FnOnce(&Node) -> RpcResult<T> + Send + 'static,
    ) -> RpcResult<T> {
        let permit = permits.clone().try_acquire_owned().map_err(|_| {
            ErrorCode::Busy.error(format!("the node is running as many {what} as it allows; retry shortly"))
        })?;
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&node)
        })
        .await
        .map_err(|e| ErrorCode::Storage.error(format!("the call did not finish: {e}")))?
    }

    async fn read<T: Send + 'static>(&self, work: impl FnOnce(&Node) -> RpcResult<T> + Send + 'static) -> RpcResult<T> {
        self.offload(&self.reads, "store reads", work).await
    }

    /// A governance view over the finalised state, off the async workers like other reads.
    async fn gov<T: Send + 'static>(
        &self,
        network: String,
        view: impl FnOnce(&jjj_state::Overlay) -> Result<T, jjj_executive::TxError> + Send + 'static,
    ) -> RpcResult<T> {
        self.read(move |node| {
            let c = chain(node, &network)?;
            storage(view(&head_overlay(&c)))
        })
        .await
    }

    async fn execute(&self, p: CallRequest, query: bool) -> RpcResult<ReceiptJson> {
        let gas = p.gas_limit.unwrap_or(self.call_gas_limit);
        if gas > self.call_gas_limit {
            return Err(ErrorCode::InvalidParams.error(format!(
                "gas_limit {gas} is over this node's limit of {} for queries and dry runs",
                self.call_gas_limit
            )));
        }
        let runtime = self.runtime.clone();
        self.offload(&self.executions, "contract queries and dry runs", move |node| call(node, &runtime, p, gas, query))
            .await
    }
}

fn unhex(what: &str, s: &str) -> RpcResult<Vec<u8>> {
    jjj_rpc_api::unhex(s).map_err(|e| ErrorCode::BadEncoding.error(format!("{what} is not hex: {e}")))
}

fn account_param(what: &str, s: &str) -> RpcResult<AccountId> {
    jjj_config::parse_account(s).map_err(|e| ErrorCode::BadEncoding.error(format!("{what}: {e}")))
}

fn hash_param(s: &str) -> RpcResult<Hash> {
    jjj_config::parse_hash(s).map_err(|e| ErrorCode::BadEncoding.error(e))
}

fn event_json(r: &EventRecord) -> EventJson {
    EventJson::new(r.height, r.tx_index, &r.tx_hash, &r.event)
}

fn chain(node: &Node, network: &str) -> RpcResult<Arc<Chain>> {
    node.chains.get(network).cloned().ok_or_else(|| {
        let known: Vec<&String> = node.chains.keys().collect();
        ErrorCode::UnknownNetwork.error(format!("this node does not serve network {network:?}; it serves {known:?}"))
    })
}

/// The finalised state as the governance records read it.
fn head_overlay(c: &Chain) -> jjj_state::Overlay {
    jjj_state::Overlay::new(c.store.state())
}

fn storage<T, E: ToString>(r: Result<T, E>) -> RpcResult<T> {
    r.map_err(|e| ErrorCode::Storage.error(e.to_string()))
}

fn receipt_of(c: &Chain, hash: &Hash) -> RpcResult<Option<ReceiptJson>> {
    let Some(loc) = storage(c.store.tx_location(hash))? else { return Ok(None) };
    let receipts = storage(c.store.receipts(loc.height))?;
    Ok(receipts.get(loc.index as usize).map(|r| ReceiptJson::new(r, Some(loc.height), Some(loc.index))))
}

/// The proof of a finalised transaction and its receipt (`tx_getProof`).
fn tx_proof_of(c: &Chain, hash: &Hash) -> RpcResult<Option<TxProofJson>> {
    let Some(loc) = storage(c.store.tx_location(hash))? else { return Ok(None) };
    let missing =
        |what: &str| ErrorCode::Storage.error(format!("block {} has no {what} in this node's store", loc.height));
    let header = storage(c.store.header(loc.height))?.ok_or_else(|| missing("header"))?;
    let certificate = storage(c.store.certificate(loc.height))?.ok_or_else(|| missing("certificate"))?;
    let block = storage(c.store.block(loc.height))?.ok_or_else(|| missing("body"))?;
    let receipts = storage(c.store.receipts(loc.height))?;
    let algo = c.algo();
    let index = loc.index as usize;
    let tx_leaves: Vec<Hash> = block.transactions.iter().map(|t| t.hash(algo)).collect();
    let receipt_leaves: Vec<Hash> = receipts.iter().map(|r| r.hash(algo)).collect();
    let (Some(tx), Some(receipt), Some(tx_branch), Some(receipt_branch)) = (
        block.transactions.get(index),
        receipts.get(index),
        merkle_proof(algo, &tx_leaves, index),
        merkle_proof(algo, &receipt_leaves, index),
    ) else {
        return Err(missing("transaction or receipt at the indexed position"));
    };
    let hex_all = |hs: &[Hash]| hs.iter().map(|h| h.to_string()).collect();
    Ok(Some(TxProofJson {
        network: c.network.to_string(),
        height: loc.height,
        header: hex0x(&header.encode()),
        certificate: hex0x(&certificate),
        transaction: hex0x(&tx.encode()),
        receipt: hex0x(&receipt.encode()),
        index: tx_branch.index,
        count: tx_branch.count,
        tx_siblings: hex_all(&tx_branch.siblings),
        receipt_siblings: hex_all(&receipt_branch.siblings),
    }))
}

/// `state_getProof`: a key's value at `height` with its branch, header and certificate. A
/// contract's storage only for an auditor's signed read request, logged either way.
fn state_proof_of(c: &Chain, key: &[u8], height: Option<u64>, read: Option<&str>) -> RpcResult<StateProofJson> {
    let head = c.head().0;
    let height = height.unwrap_or(head);
    if height > head {
        return Err(ErrorCode::InvalidParams.error(format!("height {height} is not finalised (the head is {head})")));
    }
    if key.first() == Some(&keys::STORAGE) {
        let (contract, input) =
            keys::storage_parts(key).ok_or_else(|| ErrorCode::BadEncoding.error("a storage key names its contract"))?;
        let log = access_logger(c, height, contract, access::STATE_PROOF_SELECTOR);
        let private = "a contract's storage is its private data: its proof is served only to an auditor's signed \
                       read request (`read`, input: the storage key)";
        let Some(hex) = read else {
            log(None, false, AccessDecision::Refused("unsigned".into()))?;
            return Err(ErrorCode::ReadRefused.error(private));
        };
        let asked = Asked { contract: &contract, input, claimed: None };
        let reader = signed_reader(c, hex, asked, c.store.state(), &log)?;
        if !storage(jjj_executive::has_role(&head_overlay(c), &reader, jjj_primitives::gov::roles::AUDITOR))? {
            log(Some(reader), true, AccessDecision::Denied("not an auditor".into()))?;
            return Err(ErrorCode::ReadRefused.error(format!("{private}; {reader} is not an auditor")));
        }
        log(Some(reader), true, AccessDecision::Allowed)?;
    }
    let p = storage(c.store.prove_at(key, height))?;
    let missing = |what: &str| ErrorCode::Storage.error(format!("block {height} has no {what} in this node's store"));
    let header = storage(c.store.header(height))?.ok_or_else(|| missing("header"))?;
    let certificate = match height {
        0 => None,
        _ => Some(hex0x(&storage(c.store.certificate(height))?.ok_or_else(|| missing("certificate"))?)),
    };
    Ok(StateProofJson {
        network: c.network.to_string(),
        height,
        key: hex0x(key),
        value: p.value.as_deref().map(hex0x),
        proof: hex0x(&p.proof),
        header: hex0x(&header.encode()),
        certificate,
    })
}

/// A contract call that is executed but never stored: `contract_query` and `contract_dryRun`.
struct CallRequest {
    network: String,
    contract: String,
    input: String,
    sender: Option<String>,
    value: Option<u64>,
    gas_limit: Option<u64>,
    at: Option<u64>,
    /// A SCALE `SignedRead`, 0x-hex.
    read: Option<String>,
}

/// Runs a call on `runtime`; blocking (contract execution), so never on the async workers.
fn call(
    node: &Node,
    runtime: &jjj_executive::Runtime,
    p: CallRequest,
    gas: u64,
    query: bool,
) -> RpcResult<ReceiptJson> {
    let c = chain(node, &p.network)?;
    let contract = account_param("contract", &p.contract)?;
    let claimed = p.sender.as_deref().map(|s| account_param("sender", s)).transpose()?;
    let input = unhex("input", &p.input)?;
    let (state, height, time): (Arc<dyn StateReader>, u64, u64) = match p.at {
        Some(h) => {
            let header = storage(c.store.header(h))?
                .ok_or_else(|| ErrorCode::InvalidParams.error(format!("no finalised block at height {h}")))?;
            (storage(c.store.state_at(h))?, h, header.timestamp)
        }
        None => {
            let (h, _) = c.head();
            let t = storage(c.store.header(h))?.map(|x| x.timestamp).unwrap_or(0);
            (c.store.state(), h, t.max(crate::chain::now_ms()))
        }
    };
    let log = access_logger(&c, height, contract, access::selector_of(&input));
    // A signed read request makes its reader the caller; anything wrong with it is refused
    // (and logged) before the contract runs.
    let (sender, reads) = match &p.read {
        None => (claimed.unwrap_or_default(), ReadAccess::Anonymous),
        Some(hex) => {
            let asked = Asked { contract: &contract, input: &input, claimed: claimed.as_ref() };
            (signed_reader(&c, hex, asked, state.clone(), &log)?, ReadAccess::Signed)
        }
    };
    let ctx = BlockContext { network: c.network.clone(), height: height + 1, timestamp: time };
    let value = if query { 0 } else { p.value.unwrap_or(0) };
    let call = Call::Call { contract, input, value };
    // A query runs read-only: a message that would change state fails, saying so.
    let dry = if query {
        runtime.query(state, &ctx, sender, call, gas, reads)
    } else {
        runtime.dry_run(state, &ctx, sender, call, gas, reads)
    }
    .map_err(|e| ErrorCode::ExecutionAborted.error(e.to_string()))?;
    if dry.protected {
        let signed = reads == ReadAccess::Signed;
        let decision = match (&dry.receipt.status, signed) {
            (_, false) => AccessDecision::Refused("unsigned: no read request".into()),
            (ReceiptStatus::Success, true) => AccessDecision::Allowed,
            (_, true) => AccessDecision::Denied(dry.receipt.reason().unwrap_or_default().to_string()),
        };
        log(claimed.or(signed.then_some(sender)), signed, decision)?;
    }
    let mut json = ReceiptJson::new(&dry.receipt, None, None);
    json.debug = dry.debug;
    Ok(json)
}

/// The events of `records` the asker may see: public ones, and protected ones only for a signed
/// reader (`read`, for the input `contract_events` and the filter's contract) whose account is
/// one of the event's topics, or who holds the auditor role. A call that met protected events
/// is logged once: allowed (all shown), denied (some withheld) or refused (unsigned).
fn readable_events(
    c: &Chain,
    records: Vec<EventRecord>,
    contract: Option<AccountId>,
    read: Option<&str>,
) -> RpcResult<Vec<EventJson>> {
    let protected = records.iter().filter(|r| is_protected(&r.event)).count();
    if protected == 0 && read.is_none() {
        return Ok(records.iter().map(event_json).collect());
    }
    let target = contract.unwrap_or_default();
    let log = access_logger(c, c.head().0, target, access::EVENTS_SELECTOR);
    let reader = match read {
        Some(hex) => {
            let asked = Asked { contract: &target, input: access::EVENTS_INPUT, claimed: None };
            Some(signed_reader(c, hex, asked, c.store.state(), &log)?)
        }
        None => None,
    };
    let overlay = head_overlay(c);
    let auditor = match &reader {
        Some(r) => storage(jjj_executive::has_role(&overlay, r, jjj_primitives::gov::roles::AUDITOR))?,
        None => false,
    };
    let may_read = |r: &EventRecord| {
        !is_protected(&r.event) || auditor || reader.is_some_and(|who| r.event.topics.iter().any(|t| t.0 == who.0))
    };
    let shown: Vec<EventJson> = records.iter().filter(|r| may_read(r)).map(event_json).collect();
    let withheld = records.len() - shown.len();
    if protected > 0 {
        let decision = match (reader, withheld) {
            (None, _) => AccessDecision::Refused(format!("unsigned: {withheld} protected events withheld")),
            (Some(_), 0) => AccessDecision::Allowed,
            (Some(_), _) => AccessDecision::Denied(format!("{withheld} of {protected} protected events withheld")),
        };
        log(reader, reader.is_some(), decision)?;
    }
    Ok(shown)
}

/// Logs a read of `selector` of `contract` against the state at `height` in `c`'s access log:
/// called with the reader, whether it signed, and the decision.
fn access_logger(
    c: &Chain,
    height: u64,
    contract: AccountId,
    selector: [u8; 4],
) -> impl Fn(Option<AccountId>, bool, AccessDecision) -> RpcResult<()> + '_ {
    move |reader, signed, decision| {
        let read = AccessRead { time_ms: now_ms(), height, reader, signed, contract, selector, decision };
        storage(c.access.log(read))
    }
}

/// What a signed read request is asked to cover.
struct Asked<'a> {
    contract: &'a AccountId,
    input: &'a [u8],
    /// The `sender` the call named, if any.
    claimed: Option<&'a AccountId>,
}

/// The reader of signed read request `hex` (0x SCALE `SignedRead`) for what was `asked`, or why
/// not (`ReadRefused`), the refusal logged with `log` (reader, signed, decision).
fn signed_reader(
    c: &Chain,
    hex: &str,
    asked: Asked<'_>,
    state: Arc<dyn StateReader>,
    log: &dyn Fn(Option<AccountId>, bool, AccessDecision) -> RpcResult<()>,
) -> RpcResult<AccountId> {
    let read = SignedRead::decode_all(&mut &unhex("read", hex)?[..])
        .map_err(|e| ErrorCode::BadEncoding.error(format!("read is not a SCALE SignedRead: {e}")))?;
    let reader = read.request.reader;
    if let Err(why) = check_read_request(c, &read, asked.contract, asked.input, asked.claimed, state) {
        log(Some(reader), false, AccessDecision::Refused(why.clone()))?;
        return Err(ErrorCode::ReadRefused.error(why));
    }
    match c.access.admit_read(&read.request, now_ms()) {
        Ok(()) => Ok(reader),
        Err(ReadRefusal::Busy) => {
            Err(ErrorCode::Busy.error("this node remembers as many read requests as it may; retry shortly"))
        }
        Err(ReadRefusal::Refused(why)) => {
            log(Some(reader), true, AccessDecision::Refused(why.clone()))?;
            Err(ErrorCode::ReadRefused.error(why))
        }
    }
}

/// Whether `event` is protected (`#[event(protected)]`: its last topic is the mark).
fn is_protected(event: &Event) -> bool {
    event.topics.last().is_some_and(|t| t.0 == PROTECTED_EVENT_TOPIC)
}

/// What a signed read request must match before its reader's key is even looked up: this
/// network, this contract and input, the sender named (if any); then its signature, by a key
/// account that may act, in this network's scheme.
fn check_read_request(
    c: &Chain,
    read: &SignedRead,
    contract: &AccountId,
    input: &[u8],
    claimed: Option<&AccountId>,
    state: Arc<dyn StateReader>,
) -> Result<(), String> {
    let r = &read.request;
    if r.network != c.network {
        return Err(format!("the read request is for network {}, not {}", r.network, c.network));
    }
    if r.contract != *contract {
        return Err(format!("the read request is for contract {}, not {contract}", r.contract));
    }
    if r.input_hash != c.algo().hash(input) {
        return Err("the read request was signed for another message (its input hash differs)".into());
    }
    if claimed.is_some_and(|s| *s != r.reader) {
        return Err(format!("sender differs from the read request's reader {}", r.reader));
    }
    c.runtime.check_reader(state, read).map_err(|e| e.to_string())
}

/// `chain_getBlock`.
fn block(
    node: &Node,
    network: String,
    height: Option<u64>,
    hash: Option<String>,
    raw: Option<bool>,
) -> RpcResult<Option<BlockJson>> {
    let c = chain(node, &network)?;
    let height = match (height, &hash) {
        (Some(h), _) => h,
        (None, Some(s)) => match storage(c.store.height_of(&hash_param(s)?))? {
            Some(h) => h,
            None => return Ok(None),
        },
        (None, None) => c.head().0,
    };
    let Some(header) = storage(c.store.header(height))? else { return Ok(None) };
    let block = storage(c.store.block(height))?;
    let transactions = block
        .as_ref()
        .map(|b| {
            b.transactions
                .iter()
                .map(|t| BlockTxJson {
                    hash: t.hash(c.algo()).to_string(),
                    sender: t.tx.sender.to_string(),
                    nonce: t.tx.nonce,
                    call: t.tx.call.kind().to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = BlockJson {
        header: HeaderJson::new(&header, c.algo()),
        transactions,
        raw_block: None,
        raw_certificate: None,
        raw_header: None,
        raw_receipts: None,
    };
    if raw.unwrap_or(false) {
        out.raw_block = block.map(|b| hex0x(&b.encode()));
        out.raw_certificate = storage(c.store.certificate(height))?.map(|b| hex0x(&b));
        out.raw_header = Some(hex0x(&header.encode()));
        out.raw_receipts = Some(hex0x(&storage(c.store.receipts(height))?.encode()));
    }
    Ok(Some(out))
}

/// Forwards `updates` to a subscriber as they come, until either side closes. A subscriber
/// that falls behind (the channel's backlog is bounded) gets a [`LaggedJson`] notice saying
/// from which height to resubscribe, and the subscription ends: never a silent gap.
/// `height_of` gives an update's height; `resume_after` is the height of the last update
/// delivered (or, before any, the finalised head when the subscription began) and
/// `next_height` turns it into the first height that may be missing.
async fn forward<T: Clone, J: serde::Serialize>(
    pending: PendingSubscriptionSink,
    mut updates: tokio::sync::broadcast::Receiver<T>,
    mut resume_after: u64,
    next_height: fn(u64) -> u64,
    height_of: impl Fn(&T) -> u64,
    to_json: impl Fn(&T) -> Option<J>,
) -> SubscriptionResult {
    let sink = pending.accept().await?;
    loop {
        tokio::select! {
            _ = sink.closed() => break,
            update = updates.recv() => match update {
                Ok(u) => {
                    let Some(json) = to_json(&u) else { continue };
                    let msg: SubscriptionMessage = serde_json::value::to_raw_value(&json)?.into();
                    if sink.send(msg).await.is_err() {
                        break;
                    }
                    resume_after = height_of(&u);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    let from = next_height(resume_after);
                    let notice = LaggedJson {
                        code: ErrorCode::Lagged.code(),
                        message: format!(
                            "this subscriber fell behind and missed {missed} items; resubscribe and fill the gap from height {from}"
                        ),
                        missed,
                        resubscribe_from: from,
                    };
                    tracing::debug!(missed, from, "a subscriber lagged: subscription ended with a notice");
                    let msg: SubscriptionMessage = serde_json::value::to_raw_value(&notice)?.into();
                    let _ = sink.send(msg).await;
                    break;
                }
                Err(_) => break,
            }
        }
    }
    Ok(())
}

/// A signed transaction from its 0x-hex SCALE encoding, within the size limit.
fn decode_tx(tx: &str) -> RpcResult<SignedTransaction> {
    if tx.len() > MAX_TX_SIZE * 2 + 2 {
        return Err(ErrorCode::TooLarge.error(format!("transaction is over the limit of {MAX_TX_SIZE} bytes")));
    }
    let bytes = unhex("tx", tx)?;
    SignedTransaction::decode_all_with_depth_limit(16, &mut &bytes[..])
        .map_err(|e| ErrorCode::BadEncoding.error(format!("tx is not a SCALE-encoded signed transaction: {e}")))
}

fn refusal(e: jsonrpsee::types::ErrorObjectOwned) -> SubmitResultJson {
    SubmitResultJson { hash: None, error: Some(e.message().to_string()), code: Some(e.code()) }
}

#[async_trait]
impl NodeApiServer for NodeRpc {
    fn submit_tx(&self, network: String, tx: String) -> RpcResult<String> {
        let c = chain(&self.node, &network)?;
        let stx = decode_tx(&tx)?;
        let hash = c.submit(stx).map_err(|e| e.code().error(e.to_string()))?;
        Ok(hash.to_string())
    }

    async fn submit_batch(&self, network: String, txs: Vec<String>) -> RpcResult<Vec<SubmitResultJson>> {
        let c = chain(&self.node, &network)?;
        if txs.len() > MAX_SUBMIT_BATCH {
            return Err(ErrorCode::TooLarge
                .error(format!("{} transactions in one batch; at most {MAX_SUBMIT_BATCH}: send several", txs.len())));
        }
        // Decoding and the signature batch are CPU work: off the async workers.
        self.read(move |_| {
            // Malformed ones are answered here; the rest, in order, by the chain.
            let mut decoded = Vec::with_capacity(txs.len());
            let slots: Vec<Option<SubmitResultJson>> =
                txs.iter().map(|tx| decode_tx(tx).map(|stx| decoded.push(stx)).err().map(refusal)).collect();
            let mut answers = c.submit_batch(decoded).into_iter().map(|r| match r {
                Ok(hash) => SubmitResultJson { hash: Some(hash.to_string()), error: None, code: None },
                Err(e) => refusal(e.code().error(e.to_string())),
            });
            Ok(slots
                .into_iter()
                .map(|slot| {
                    slot.or_else(|| answers.next()).unwrap_or_else(|| refusal(ErrorCode::TxRefused.error("no answer")))
                })
                .collect())
        })
        .await
    }

    async fn tx_proof(&self, network: String, hash: String) -> RpcResult<Option<TxProofJson>> {
        let c = chain(&self.node, &network)?;
        tx_proof_of(&c, &hash_param(&hash)?)
    }

    async fn light_header(&self, network: String, height: u64) -> RpcResult<Option<LightHeaderJson>> {
        let c = chain(&self.node, &network)?;
        if height > c.head().0 {
            return Ok(None);
        }
        let p = state_proof_of(&c, &jjj_state::gov::keys::validator_schedule(), Some(height), None)?;
        Ok(Some(LightHeaderJson {
            height,
            header: p.header,
            certificate: p.certificate,
            schedule: p.value,
            schedule_proof: p.proof,
        }))
    }

    async fn state_proof(
        &self,
        network: String,
        key: String,
        height: Option<u64>,
        read: Option<String>,
    ) -> RpcResult<StateProofJson> {
        let c = chain(&self.node, &network)?;
        state_proof_of(&c, &unhex("key", &key)?, height, read.as_deref())
    }

    async fn receipt(&self, network: String, hash: String, wait_ms: Option<u64>) -> RpcResult<Option<ReceiptJson>> {
        let c = chain(&self.node, &network)?;
        let hash = hash_param(&hash)?;
        // Subscribed before looking, so a block finalised in between is not missed.
        let mut heads = c.heads.subscribe();
        if let Some(r) = receipt_of(&c, &hash)? {
            return Ok(Some(r));
        }
        let wait = wait_ms.unwrap_or(0).min(MAX_RECEIPT_WAIT_MS);
        if wait == 0 {
            return Ok(None);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(wait);
        loop {
            match tokio::time::timeout_at(deadline, heads.recv()).await {
                Err(_) => {
                    return Err(
                        ErrorCode::Timeout.error(format!("transaction {hash} was not finalised within {wait} ms"))
                    )
                }
                Ok(_) => {
                    if let Some(r) = receipt_of(&c, &hash)? {
                        return Ok(Some(r));
                    }
                }
            }
        }
    }

    async fn block(
        &self,
        network: String,
        height: Option<u64>,
        hash: Option<String>,
        raw: Option<bool>,
    ) -> RpcResult<Option<BlockJson>> {
        self.read(move |node| block(node, network, height, hash, raw)).await
    }

    async fn finalized_head(&self, network: String) -> RpcResult<HeaderJson> {
        self.read(move |node| {
            let c = chain(node, &network)?;
            let (h, _) = c.head();
            storage(c.store.header(h))?
                .map(|header| HeaderJson::new(&header, c.algo()))
                .ok_or_else(|| ErrorCode::Storage.error("the finalised head has no header"))
        })
        .await
    }

    async fn certificate(&self, network: String, height: u64) -> RpcResult<Option<CertificateJson>> {
        self.read(move |node| {
            let c = chain(node, &network)?;
            let Some(raw) = storage(c.store.certificate(height))? else { return Ok(None) };
            let cert = jjj_consensus::CommitCertificate::decode(&mut &raw[..])
                .map_err(|e| ErrorCode::Storage.error(format!("stored certificate: {e}")))?;
            let verified = cert.verify(c.runtime.suite(), &c.network, &c.validators_at(cert.height)).is_ok();
            Ok(Some(CertificateJson {
                height: cert.height,
                view: cert.view,
                block_hash: cert.block_hash.to_string(),
                signers: cert.signatures.iter().map(|(a, _)| a.to_string()).collect(),
                verified,
                raw: hex0x(&raw),
            }))
        })
        .await
    }

    async fn account(&self, network: String, account: String) -> RpcResult<AccountJson> {
        self.read(move |node| {
            let c = chain(node, &network)?;
            let who = account_param("account", &account)?;
            let key = keys::account(&who);
            let acct = match storage(c.store.state().get(&key))? {
                Some(b) => storage(decode_record::<jjj_state::Account>(&key, &b))?,
                None => Default::default(),
            };
            Ok(AccountJson { account: who.to_string(), balance: acct.balance, nonce: acct.nonce })
        })
        .await
    }

    async fn contract_query(
        &self,
        network: String,
        contract: String,
        input: String,
        sender: Option<String>,
        value: Option<u64>,
        gas_limit: Option<u64>,
        at: Option<u64>,
        read: Option<String>,
    ) -> RpcResult<ReceiptJson> {
        self.execute(CallRequest { network, contract, input, sender, value, gas_limit, at, read }, true).await
    }

    async fn contract_dry_run(
        &self,
        network: String,
        contract: String,
        input: String,
        sender: Option<String>,
        value: Option<u64>,
        gas_limit: Option<u64>,
        at: Option<u64>,
        read: Option<String>,
    ) -> RpcResult<ReceiptJson> {
        self.execute(CallRequest { network, contract, input, sender, value, gas_limit, at, read }, false).await
    }

    async fn access_log(&self, network: String, from: Option<u64>, limit: Option<usize>) -> RpcResult<AccessLogJson> {
        self.read(move |node| {
            let c = chain(node, &network)?;
            let limit = limit.unwrap_or(MAX_ACCESS_LOG_PAGE).min(MAX_ACCESS_LOG_PAGE);
            let (length, head) = c.access.head();
            let entries = storage(c.access.entries(from.unwrap_or(0), limit))?;
            let key = keys::access_anchor(&c.access.node());
            let anchor = match storage(c.store.state().get(&key))? {
                Some(bytes) => {
                    let a: access::AccessAnchor = storage(decode_record(&key, &bytes))?;
                    Some(AccessAnchorJson { seq: a.seq, head: a.head.to_string(), height: a.height })
                }
                None => None,
            };
            Ok(AccessLogJson {
                network: c.network.to_string(),
                node: c.access.node().to_string(),
                length,
                head: head.to_string(),
                anchor,
                entries: entries.iter().map(|e| AccessEntryJson::new(e, c.algo())).collect(),
            })
        })
        .await
    }

    async fn contract_events(
        &self,
        network: String,
        contract: Option<String>,
        topic: Option<String>,
        from: Option<u64>,
        to: Option<u64>,
        limit: Option<usize>,
        read: Option<String>,
    ) -> RpcResult<Vec<EventJson>> {
        self.read(move |node| {
            let c = chain(node, &network)?;
            let from_height = from.unwrap_or(0);
            let to_height = to.unwrap_or_else(|| c.head().0);
            if to_height.saturating_sub(from_height) >= MAX_EVENTS_BLOCK_RANGE {
                return Err(ErrorCode::InvalidParams.error(format!(
                    "heights {from_height} to {to_height} span more than {MAX_EVENTS_BLOCK_RANGE} blocks: \
                     name `from` and `to` and ask in parts"
                )));
            }
            let filter = EventFilter {
                contract: contract.as_deref().map(|s| account_param("contract", s)).transpose()?,
                topic: topic.as_deref().map(hash_param).transpose()?,
                from_height,
                to_height: Some(to_height),
                limit: limit.unwrap_or(DEFAULT_EVENTS_LIMIT).min(MAX_EVENTS_LIMIT),
                max_scanned: MAX_EVENTS_SCANNED,
            };
            let records = match c.store.events(&filter) {
                Ok(records) => records,
                Err(e @ jjj_store::StoreError::ScanLimit { .. }) => {
                    return Err(ErrorCode::InvalidParams.error(e.to_string()))
                }
                Err(e) => return Err(ErrorCode::Storage.error(e.to_string())),
            };
            readable_events(&c, records, filter.contract, read.as_deref())
        })
        .await
    }

    async fn contract_info(&self, network: String, account: String) -> RpcResult<Option<ContractInfoJson>> {
        self.read(move |node| {
            let c = chain(node, &network)?;
            let who = account_param("account", &account)?;
            let state = c.store.state();
            let key = keys::contract(&who);
            let Some(b) = storage(state.get(&key))? else { return Ok(None) };
            let info: ContractInfo = storage(decode_record(&key, &b))?;
            let code_key = keys::code_info(&info.code_hash);
            let code: Option<CodeInfo> = match storage(state.get(&code_key))? {
                Some(b) => Some(storage(decode_record(&code_key, &b))?),
                None => None,
            };
            Ok(Some(ContractInfoJson {
                address: who.to_string(),
                code_hash: info.code_hash.to_string(),
                deployer: info.deployer.to_string(),
                instantiated_at: info.instantiated_at,
                code_size: code.as_ref().map(|c| c.size),
                reentrant: code.map(|c| c.reentrant),
                frozen: storage(jjj_state::gov::is_frozen(&head_overlay(&c), &who))?,
            }))
        })
        .await
    }

    async fn gov_members(&self, network: String) -> RpcResult<Vec<MemberJson>> {
        self.gov(network, gov_views::members).await
    }

    async fn gov_account(&self, network: String, account: String) -> RpcResult<Option<RegistrationJson>> {
        let who = account_param("account", &account)?;
        self.gov(network, move |o| gov_views::account(o, &who)).await
    }

    async fn gov_proposal(&self, network: String, id: u64) -> RpcResult<Option<ProposalJson>> {
        self.gov(network, move |o| gov_views::proposal(o, id)).await
    }

    async fn gov_proposals(
        &self,
        network: String,
        before: Option<u64>,
        limit: Option<u64>,
        open_only: Option<bool>,
    ) -> RpcResult<Vec<ProposalJson>> {
        self.gov(network, move |o| gov_views::proposals(o, before, limit, open_only.unwrap_or(false))).await
    }

    async fn gov_permissions(&self, network: String) -> RpcResult<Vec<PermissionJson>> {
        self.gov(network, gov_views::permissions).await
    }

    async fn gov_rules(&self, network: String) -> RpcResult<GovRulesJson> {
        self.gov(network, gov_views::rules).await
    }

    async fn gov_registry(&self, network: String) -> RpcResult<Vec<RegistryEntryJson>> {
        self.gov(network, gov_views::registry).await
    }

    async fn gov_code_history(&self, network: String, contract: String) -> RpcResult<Vec<CodeChangeJson>> {
        let who = account_param("contract", &contract)?;
        self.gov(network, move |o| gov_views::history(o, &who)).await
    }

    fn health(&self) -> RpcResult<HealthJson> {
        Ok(self.node.health())
    }

    fn peers(&self) -> RpcResult<Vec<PeerJson>> {
        Ok(self
            .node
            .net
            .peers()
            .iter()
            .map(|p| PeerJson {
                id: p.id.to_string(),
                addr: p.addr.to_string(),
                outbound: p.outbound,
                connected_since_ms: p.connected_since_ms,
            })
            .collect())
    }

    async fn subscribe_finalized_heads(&self, pending: PendingSubscriptionSink, network: String) -> SubscriptionResult {
        let c = match chain(&self.node, &network) {
            Ok(c) => c,
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let updates = c.heads.subscribe();
        let algo = c.algo();
        // Heads come whole: after head h, the first one that can be missing is h + 1.
        forward(
            pending,
            updates,
            c.head().0,
            |h| h + 1,
            |h: &Header| h.height,
            move |h: &Header| Some(HeaderJson::new(h, algo)),
        )
        .await
    }

    async fn subscribe_contract_events(
        &self,
        pending: PendingSubscriptionSink,
        network: String,
        contract: Option<String>,
    ) -> SubscriptionResult {
        let parsed = chain(&self.node, &network)
            .and_then(|c| Ok((c, contract.as_deref().map(|s| account_param("contract", s)).transpose()?)));
        let (c, only) = match parsed {
            Ok(x) => x,
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let events = c.events.subscribe();
        // Events of one block may be split by a lag: resume from the last delivered event's own
        // height (the subscriber drops what it already has); before any, after the head.
        let (head, _) = c.head();
        forward(
            pending,
            events,
            head + 1,
            |h| h,
            |r: &EventRecord| r.height,
            |r: &EventRecord| {
                // A subscription has no reader: protected events go only to `contract_events`
                // with a read request.
                if only.is_some_and(|c| c != r.event.contract) || is_protected(&r.event) {
                    None
                } else {
                    Some(event_json(r))
                }
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::RunningNode;
    use jjj_config::{Genesis, GenesisAccount, GenesisValidator, NodeConfig, RpcLimits};
    use jjj_crypto::Keypair;
    use jsonrpsee::core::params::ObjectParams;
    use jsonrpsee::MethodsError;

    /// A one-validator node in this process, on free ports, with `rpc` limits, of the suite the
    /// tests run with (`JJJ_TEST_SUITE`).
    async fn start(dir: &std::path::Path, rpc: RpcLimits) -> RunningNode {
        start_serving(dir, rpc, None).await
    }

    /// [`start`], serving the web pages in `web_dir`.
    async fn start_serving(dir: &std::path::Path, rpc: RpcLimits, web_dir: Option<std::path::PathBuf>) -> RunningNode {
        let suite = jjj_testkit::test_suite();
        let key = Keypair::named(suite.scheme(), "validator");
        jjj_config::save_key(&dir.join("v.key"), &key).expect("key");
        let account = GenesisAccount {
            id: Keypair::named(suite.scheme(), "a").account().to_string(),
            name: "a".into(),
            balance: 1_000,
            member: String::new(),
            roles: vec![],
        };
        let validator = GenesisValidator { id: key.account().to_string(), name: "v".into(), addr: None };
        let genesis = Genesis {
            crypto: suite.name().into(),
            max_block_txs: 100,
            max_block_bytes: 1 << 20,
            ..Genesis::dev("jj", 1_000, vec![validator], vec![account])
        };
        std::fs::write(dir.join("genesis.json"), serde_json::to_string(&genesis).expect("json")).expect("genesis");
        let config = NodeConfig {
            name: "v".into(),
            key_file: dir.join("v.key"),
            data_dir: dir.join("data"),
            p2p_listen: "127.0.0.1:0".parse().expect("addr"),
            rpc_listen: "127.0.0.1:0".parse().expect("addr"),
            metrics_listen: None,
            genesis: vec![dir.join("genesis.json")],
            peers: vec![],
            view_timeout_ms: 2_000,
            mempool_capacity: 100,
            mempool_per_sender: 10,
            mempool_max_bytes: jjj_config::DEFAULT_MEMPOOL_MAX_BYTES,
            mempool_sender_max_bytes: jjj_config::DEFAULT_MEMPOOL_SENDER_MAX_BYTES,
            rpc,
            web_dir,
        };
        crate::service::start(config).await.expect("node starts")
    }

    fn params(pairs: &[(&str, serde_json::Value)]) -> ObjectParams {
        let mut p = ObjectParams::new();
        for (k, v) in pairs {
            p.insert(k, v.clone()).expect("param");
        }
        p
    }

    fn dry_run(gas: Option<u64>) -> ObjectParams {
        let mut p = vec![
            ("network", serde_json::json!("jj")),
            ("contract", serde_json::json!(AccountId([9; 32]).to_string())),
            ("input", serde_json::json!("0x")),
        ];
        if let Some(g) = gas {
            p.push(("gas_limit", serde_json::json!(g)));
        }
        params(&p)
    }

    fn code_of(e: MethodsError) -> i32 {
        match e {
            MethodsError::JsonRpc(obj) => obj.code(),
            other => panic!("not an RPC error: {other}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dry_runs_over_the_cap_are_busy_and_never_touch_the_block_runtime() {
        let dir = tempfile::tempdir().expect("dir");
        let limits = RpcLimits { max_concurrent_calls: 2, ..RpcLimits::default() };
        let node = start(dir.path(), limits.clone()).await;
        let rpc = NodeRpc::new(node.node.clone(), &limits).expect("rpc");
        let executions = rpc.executions.clone();
        let module = rpc.into_rpc();
        // Two dry runs in flight (their permits held): a third is refused at once, not queued.
        let held = [executions.clone().try_acquire_owned().expect("1"), executions.try_acquire_owned().expect("2")];
        for method in ["contract_dryRun", "contract_query"] {
            let err = module.call::<_, ReceiptJson>(method, dry_run(None)).await.expect_err("busy");
            assert_eq!(code_of(err), ErrorCode::Busy.code(), "{method}");
        }
        // Store reads have their own permits: they still answer.
        let acct: AccountJson = module
            .call(
                "state_getAccount",
                params(&[("network", "jj".into()), ("account", AccountId([1; 32]).to_string().into())]),
            )
            .await
            .expect("reads are not starved by executions");
        assert_eq!(acct.balance, 0);
        drop(held);
        let receipt: ReceiptJson = module.call("contract_dryRun", dry_run(None)).await.expect("a permit is free again");
        assert_eq!(receipt.status, "failed", "there is no contract at that address");
        node.shutdown().await;
    }

    /// A batch answers each transaction in order: good ones admitted (and finalised), bad ones
    /// refused with their own reason, malformed ones too; over the count limit the batch is
    /// refused whole.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_submitted_batch_answers_each_transaction() {
        let dir = tempfile::tempdir().expect("dir");
        let node = start(dir.path(), RpcLimits::default()).await;
        let module = module(node.node.clone(), &RpcLimits::default()).expect("rpc");
        let suite = jjj_testkit::test_suite();
        let a = Keypair::named(suite.scheme(), "a");
        let net = NetworkId::new("jj").expect("id");
        let tx = |nonce: u64| {
            a.sign_tx(jjj_primitives::Transaction {
                network: net.clone(),
                sender: a.account(),
                nonce,
                gas_limit: 100_000,
                call: jjj_primitives::Call::Transfer { to: AccountId([3; 32]), amount: 1 },
            })
        };
        let mut forged = tx(2);
        forged.signatures[0].signature[7] ^= 1;
        let txs = vec![
            hex0x(&tx(0).encode()),
            hex0x(&forged.encode()),
            "0x1234".to_string(),
            hex0x(&tx(1).encode()),
            hex0x(&tx(0).encode()),
        ];
        let results: Vec<SubmitResultJson> = module
            .call("tx_submitBatch", params(&[("network", "jj".into()), ("txs", serde_json::json!(txs))]))
            .await
            .expect("answered");
        assert_eq!(results.len(), 5);
        assert_eq!(results[0].hash, Some(tx(0).hash(suite.hash_algo()).to_string()));
        assert_eq!(results[1].code, Some(ErrorCode::BadSignature.code()), "{:?}", results[1]);
        assert_eq!(results[2].code, Some(ErrorCode::BadEncoding.code()), "{:?}", results[2]);
        assert_eq!(results[3].hash, Some(tx(1).hash(suite.hash_algo()).to_string()));
        assert_eq!(results[4].code, Some(ErrorCode::DuplicateTransaction.code()), "{:?}", results[4]);
        let r: Option<ReceiptJson> = module
            .call(
                "tx_receipt",
                params(&[
                    ("network", "jj".into()),
                    ("hash", results[3].hash.clone().expect("hash").into()),
                    ("wait_ms", 20_000.into()),
                ]),
            )
            .await
            .expect("receipt");
        assert_eq!(r.expect("finalised").status, "success");
        let too_many = vec!["0x00".to_string(); MAX_SUBMIT_BATCH + 1];
        let err = module
            .call::<_, Vec<SubmitResultJson>>(
                "tx_submitBatch",
                params(&[("network", "jj".into()), ("txs", serde_json::json!(too_many))]),
            )
            .await
            .expect_err("too many");
        assert_eq!(code_of(err), ErrorCode::TooLarge.code());
        node.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_are_bounded_in_gas_and_event_scans_in_blocks() {
        let dir = tempfile::tempdir().expect("dir");
        let limits = RpcLimits { call_gas_limit: 5_000_000, ..RpcLimits::default() };
        let node = start(dir.path(), limits.clone()).await;
        let module = module(node.node.clone(), &limits).expect("rpc");
        let err = module.call::<_, ReceiptJson>("contract_dryRun", dry_run(Some(100_000_000))).await.expect_err("gas");
        assert_eq!(code_of(err), ErrorCode::InvalidParams.code());
        let err = module.call::<_, ReceiptJson>("contract_query", dry_run(Some(5_000_001))).await.expect_err("gas");
        assert_eq!(code_of(err), ErrorCode::InvalidParams.code());
        module.call::<_, ReceiptJson>("contract_dryRun", dry_run(Some(5_000_000))).await.expect("at the limit");
        let events = |from: u64, to: u64| params(&[("network", "jj".into()), ("from", from.into()), ("to", to.into())]);
        let err = module.call::<_, Vec<EventJson>>("contract_events", events(0, MAX_EVENTS_BLOCK_RANGE)).await;
        assert_eq!(code_of(err.expect_err("too wide")), ErrorCode::InvalidParams.code());
        let ok: Vec<EventJson> =
            module.call("contract_events", events(5, 4 + MAX_EVENTS_BLOCK_RANGE)).await.expect("within range");
        assert!(ok.is_empty());
        node.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lagging_subscriber_is_told_where_to_resubscribe() {
        let dir = tempfile::tempdir().expect("dir");
        let node = start(dir.path(), RpcLimits::default()).await;
        let module = module(node.node.clone(), &RpcLimits::default()).expect("rpc");
        // A subscriber that reads nothing while far more heads than the backlog go by.
        let mut sub = module
            .subscribe("chain_subscribeFinalizedHeads", params(&[("network", "jj".into())]), 1)
            .await
            .expect("subscribed");
        let chain = node.node.chains.get("jj").expect("chain").clone();
        let template = chain.store.header(0).expect("store").expect("genesis");
        for height in 1..=5_000u64 {
            let mut h = template.clone();
            h.height = height;
            let _ = chain.heads.send(h);
        }
        let mut last_delivered = 0;
        let notice = loop {
            let (item, _) = sub.next::<serde_json::Value>().await.expect("a notice before the end").expect("json");
            if item.get("code").is_some() {
                break item;
            }
            let height = item["height"].as_u64().expect("a header");
            assert_eq!(height, last_delivered + 1, "a silent gap in the heads");
            last_delivered = height;
        };
        let notice: LaggedJson = serde_json::from_value(notice).expect("notice");
        assert_eq!(notice.code, ErrorCode::Lagged.code());
        assert!(notice.missed > 0);
        assert_eq!(notice.resubscribe_from, last_delivered + 1, "nothing before it was skipped");
        assert!(sub.next::<serde_json::Value>().await.is_none(), "the subscription ends after the notice");
        node.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_are_capped() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().expect("dir");
        let node = start(dir.path(), RpcLimits { max_batch_len: 2, ..RpcLimits::default() }).await;
        let post = |n: usize| {
            let calls: Vec<String> =
                (0..n).map(|i| format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"node_health","params":[]}}"#)).collect();
            let body = format!("[{}]", calls.join(","));
            let addr = node.rpc_addr;
            async move {
                let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
                let req = format!(
                    "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                sock.write_all(req.as_bytes()).await.expect("send");
                let mut out = String::new();
                sock.read_to_string(&mut out).await.expect("read");
                out
            }
        };
        let two = post(2).await;
        assert_eq!(two.matches("\"result\"").count(), 2, "{two}");
        let three = post(3).await;
        assert!(three.contains("too large") && !three.contains("\"result\""), "{three}");
        node.shutdown().await;
    }

    /// `max_connections` caps what holds a server permit: open WebSocket sessions and HTTP
    /// requests in flight (jsonrpsee takes the permit per request, not per idle TCP socket).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_are_capped() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().expect("dir");
        let node = start(dir.path(), RpcLimits { max_connections: 2, ..RpcLimits::default() }).await;
        let addr = node.rpc_addr;
        // A WebSocket session, opened by hand: the answer's status line.
        let open_ws = || async move {
            let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let req = "GET / HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
                       sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n";
            sock.write_all(req.as_bytes()).await.expect("send");
            let mut buf = vec![0u8; 1024];
            let n = sock.read(&mut buf).await.expect("read");
            let status = String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_string();
            (sock, status)
        };
        let (first, s1) = open_ws().await;
        let (second, s2) = open_ws().await;
        assert!(s1.contains("101") && s2.contains("101"), "{s1} / {s2}");
        let (_, s3) = open_ws().await;
        assert!(s3.contains("429"), "a third session was not refused: {s3}");
        drop((first, second));
        // The sessions' permits come back once the server sees them closed.
        let mut status = String::new();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (_, s) = open_ws().await;
            status = s;
            if status.contains("101") {
                break;
            }
        }
        assert!(status.contains("101"), "a session under the cap was refused: {status}");
        node.shutdown().await;
    }

    /// `max_subscriptions_per_connection` caps the subscriptions one WebSocket session holds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn subscriptions_per_session_are_capped() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().expect("dir");
        // With web pages served on the same port: a WebSocket upgrade still reaches JSON-RPC.
        let web = tempfile::tempdir().expect("web dir");
        std::fs::write(web.path().join("index.html"), "<!doctype html>").expect("page");
        let limits = RpcLimits { max_subscriptions_per_connection: 1, ..RpcLimits::default() };
        let node = start_serving(dir.path(), limits, Some(web.path().to_path_buf())).await;
        let mut sock = tokio::net::TcpStream::connect(node.rpc_addr).await.expect("connect");
        let req = "GET / HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
                   sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n";
        sock.write_all(req.as_bytes()).await.expect("send");
        let mut buf = vec![0u8; 4096];
        let n = sock.read(&mut buf).await.expect("read");
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101"), "no WebSocket");
        // One masked text frame per call (a zero mask: the payload goes as it is); the answer is
        // an unmasked text frame.
        fn call(id: u32) -> Vec<u8> {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"chain_subscribeFinalizedHeads","params":{{"network":"jj"}}}}"#
            );
            let mut frame = vec![0x81, 0x80 | body.len() as u8, 0, 0, 0, 0];
            frame.extend_from_slice(body.as_bytes());
            frame
        }
        async fn answer(sock: &mut tokio::net::TcpStream) -> String {
            let mut head = [0u8; 2];
            sock.read_exact(&mut head).await.expect("frame");
            let len = match head[1] & 0x7f {
                126 => {
                    let mut l = [0u8; 2];
                    sock.read_exact(&mut l).await.expect("len");
                    u16::from_be_bytes(l) as usize
                }
                l => l as usize,
            };
            let mut body = vec![0u8; len];
            sock.read_exact(&mut body).await.expect("body");
            String::from_utf8_lossy(&body).to_string()
        }
        sock.write_all(&call(1)).await.expect("send");
        let first = answer(&mut sock).await;
        assert!(first.contains("\"result\""), "the first subscription was refused: {first}");
        sock.write_all(&call(2)).await.expect("send");
        let second = answer(&mut sock).await;
        assert!(second.contains("\"error\""), "a second subscription was accepted: {second}");
        node.shutdown().await;
    }

    /// The web pages and JSON-RPC share the port: a GET is a page (only plain names under the
    /// web directory), a POST is JSON-RPC.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_node_serves_its_web_pages_beside_json_rpc() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().expect("dir");
        let web = tempfile::tempdir().expect("web dir");
        std::fs::write(web.path().join("index.html"), "<!doctype html><title>jjj</title>").expect("page");
        std::fs::create_dir(web.path().join("metadata")).expect("dir");
        std::fs::write(web.path().join("metadata/utility_bills.json"), "{}").expect("meta");
        std::fs::write(dir.path().join("secret.key"), "0x00").expect("outside");
        let node = start_serving(dir.path(), RpcLimits::default(), Some(web.path().to_path_buf())).await;
        async fn http(addr: std::net::SocketAddr, req: String) -> String {
            let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
            sock.write_all(req.as_bytes()).await.expect("send");
            let mut out = Vec::new();
            sock.read_to_end(&mut out).await.expect("read");
            String::from_utf8_lossy(&out).to_string()
        }
        let get = |path: &str| format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        let page = http(node.rpc_addr, get("/")).await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.contains("content-type: text/html") && page.contains("<title>jjj</title>"), "{page}");
        assert!(page.contains("content-security-policy: default-src 'self'"), "{page}");
        let meta = http(node.rpc_addr, get("/metadata/utility_bills.json")).await;
        assert!(meta.starts_with("HTTP/1.1 200") && meta.contains("application/json"), "{meta}");
        for bad in ["/../secret.key", "/metadata/../../secret.key", "/.hidden", "/missing.js"] {
            let r = http(node.rpc_addr, get(bad)).await;
            assert!(r.starts_with("HTTP/1.1 404"), "{bad}: {r}");
            assert!(!r.contains("0x00"), "{bad} leaked a file outside the web directory");
        }
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"node_health","params":[]}"#;
        let post = format!(
            "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let rpc = http(node.rpc_addr, post).await;
        assert!(rpc.starts_with("HTTP/1.1 200") && rpc.contains("\"networks\""), "{rpc}");
        node.shutdown().await;
    }
}
