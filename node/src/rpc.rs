//! JSON-RPC (jsonrpsee; HTTP and WebSocket on one port).
//!
//! Parameters are one object per method (named) or the same fields as an array (positional).
//! Bytes are 0x-hex; transactions and raw blocks are SCALE. Every error is a JSON-RPC error with
//! a stable code: -32602 bad parameters, 1000–1008 transaction refused (see `MempoolError::code`),
//! 2001 unknown network, 2003 bad encoding, 2004 execution aborted, 2005 storage, 2006 timeout.
use crate::chain::Chain;
use crate::service::Node;
use crate::store::EventFilter;
use jjj_runtime::sandbox::limits::{MAX_TX_GAS, MAX_TX_SIZE};
use jjj_runtime::state::{decode_record, keys, ContractInfo, CodeInfo, StateReader};
use jjj_runtime::types::*;
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned};
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionMessage};
use parity_scale_codec::{Decode, DecodeLimit, Encode};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

pub const UNKNOWN_NETWORK: i32 = 2001;
pub const BAD_ENCODING: i32 = 2003;
pub const EXECUTION: i32 = 2004;
pub const STORAGE: i32 = 2005;
pub const TIMEOUT: i32 = 2006;
/// Longest a `tx_receipt` call may wait for finality.
pub const MAX_RECEIPT_WAIT_MS: u64 = 60_000;
/// Largest request body: a maximal transaction as hex, plus room.
pub const MAX_REQUEST_BYTES: u32 = (MAX_TX_SIZE as u32) * 2 + 64 * 1024;

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn err(code: i32, msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(code, msg.into(), None::<()>)
}

pub fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

pub fn unhex(what: &str, s: &str) -> RpcResult<Vec<u8>> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|e| err(BAD_ENCODING, format!("{what} is not hex: {e}")))
}

fn account_param(what: &str, s: &str) -> RpcResult<AccountId> {
    crate::genesis::parse_account(s).map_err(|e| err(BAD_ENCODING, format!("{what}: {e}")))
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HeaderJson {
    pub network: String,
    pub height: u64,
    pub hash: String,
    pub parent_hash: String,
    pub timestamp: u64,
    pub proposer: String,
    pub tx_root: String,
    pub receipts_root: String,
    pub state_root: String,
}

impl From<&Header> for HeaderJson {
    fn from(h: &Header) -> Self {
        HeaderJson {
            network: h.network.to_string(),
            height: h.height,
            hash: h.hash().to_string(),
            parent_hash: h.parent_hash.to_string(),
            timestamp: h.timestamp,
            proposer: h.proposer.to_string(),
            tx_root: h.tx_root.to_string(),
            receipts_root: h.receipts_root.to_string(),
            state_root: h.state_root.to_string(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventJson {
    pub height: u64,
    pub tx_index: u32,
    pub tx_hash: String,
    pub contract: String,
    pub topics: Vec<String>,
    pub data: String,
}

impl From<&crate::store::EventRecord> for EventJson {
    fn from(r: &crate::store::EventRecord) -> Self {
        EventJson {
            height: r.height,
            tx_index: r.tx_index,
            tx_hash: r.tx_hash.to_string(),
            contract: r.event.contract.to_string(),
            topics: r.event.topics.iter().map(|t| t.to_string()).collect(),
            data: hex0x(&r.event.data),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReceiptJson {
    pub tx_hash: String,
    pub height: Option<u64>,
    pub index: Option<u32>,
    /// "success", "reverted" or "failed".
    pub status: String,
    pub reason: Option<String>,
    pub gas_used: u64,
    pub output: String,
    pub events: Vec<EventJson>,
    /// Debug messages (dry runs only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub debug: Vec<String>,
}

impl ReceiptJson {
    pub fn new(r: &Receipt, height: Option<u64>, index: Option<u32>) -> Self {
        let (status, reason) = match &r.status {
            ReceiptStatus::Success => ("success", None),
            ReceiptStatus::Reverted(m) => ("reverted", Some(m.clone())),
            ReceiptStatus::Failed(m) => ("failed", Some(m.clone())),
        };
        let events = r
            .events
            .iter()
            .map(|e| EventJson {
                height: height.unwrap_or(0),
                tx_index: index.unwrap_or(0),
                tx_hash: r.tx_hash.to_string(),
                contract: e.contract.to_string(),
                topics: e.topics.iter().map(|t| t.to_string()).collect(),
                data: hex0x(&e.data),
            })
            .collect();
        ReceiptJson { tx_hash: r.tx_hash.to_string(), height, index, status: status.into(), reason, gas_used: r.gas_used, output: hex0x(&r.output), events, debug: vec![] }
    }
}

#[derive(Deserialize)]
struct NetworkParam {
    network: String,
}
#[derive(Deserialize)]
struct SubmitParams {
    network: String,
    tx: String,
}
#[derive(Deserialize)]
struct ReceiptParams {
    network: String,
    hash: String,
    #[serde(default)]
    wait_ms: Option<u64>,
}
#[derive(Deserialize)]
struct BlockParams {
    network: String,
    #[serde(default)]
    height: Option<u64>,
    #[serde(default)]
    hash: Option<String>,
    /// Include the SCALE-encoded block and certificate (for auditors).
    #[serde(default)]
    raw: bool,
}
#[derive(Deserialize)]
struct HeightParams {
    network: String,
    height: u64,
}
#[derive(Deserialize)]
struct AccountParams {
    network: String,
    account: String,
}
#[derive(Deserialize)]
struct CallParams {
    network: String,
    contract: String,
    input: String,
    #[serde(default)]
    sender: Option<String>,
    #[serde(default)]
    value: u64,
    #[serde(default)]
    gas_limit: Option<u64>,
    /// Query the state as of this finalised height (default: the latest).
    #[serde(default)]
    at: Option<u64>,
}
#[derive(Deserialize)]
struct EventsParams {
    network: String,
    #[serde(default)]
    contract: Option<String>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    from: u64,
    #[serde(default)]
    to: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}
#[derive(Deserialize)]
struct SubscribeEventsParams {
    network: String,
    #[serde(default)]
    contract: Option<String>,
}

fn chain(node: &Node, network: &str) -> RpcResult<Arc<Chain>> {
    node.chains.get(network).cloned().ok_or_else(|| {
        let known: Vec<&String> = node.chains.keys().collect();
        err(UNKNOWN_NETWORK, format!("this node does not serve network {network:?}; it serves {known:?}"))
    })
}

fn storage<T>(r: Result<T, crate::store::StoreError>) -> RpcResult<T> {
    r.map_err(|e| err(STORAGE, e.to_string()))
}

fn receipt_of(c: &Chain, hash: &Hash) -> RpcResult<Option<ReceiptJson>> {
    let Some(loc) = storage(c.store.tx_location(hash))? else { return Ok(None) };
    let receipts = storage(c.store.receipts(loc.height))?;
    Ok(receipts.get(loc.index as usize).map(|r| ReceiptJson::new(r, Some(loc.height), Some(loc.index))))
}

fn call(node: &Node, p: CallParams, query: bool) -> RpcResult<ReceiptJson> {
    let c = chain(node, &p.network)?;
    let contract = account_param("contract", &p.contract)?;
    let sender = match &p.sender {
        Some(s) => account_param("sender", s)?,
        None => AccountId::default(),
    };
    let input = unhex("input", &p.input)?;
    let (state, height, time): (Arc<dyn StateReader>, u64, u64) = match p.at {
        Some(h) => {
            let header = storage(c.store.header(h))?.ok_or_else(|| err(-32602, format!("no finalised block at height {h}")))?;
            (storage(c.store.state_at(h))?, h, header.timestamp)
        }
        None => {
            let (h, _) = c.head();
            let t = storage(c.store.header(h))?.map(|x| x.timestamp).unwrap_or(0);
            (c.store.state(), h, t.max(crate::chain::now_ms()))
        }
    };
    let ctx = BlockContext { network: c.network.clone(), height: height + 1, timestamp: time };
    let value = if query { 0 } else { p.value };
    let gas = p.gas_limit.unwrap_or(MAX_TX_GAS);
    let dry = c
        .runtime
        .dry_run(state, &ctx, sender, Call::Call { contract, input, value }, gas)
        .map_err(|e| err(EXECUTION, e.to_string()))?;
    let mut json = ReceiptJson::new(&dry.receipt, None, None);
    json.debug = dry.debug;
    Ok(json)
}

/// A subscription's parameters and the chain they name; the caller rejects the subscription
/// with the error.
fn subscription_params<P: serde::de::DeserializeOwned>(
    params: &jsonrpsee::types::Params<'_>,
    node: &Node,
    network: impl Fn(&P) -> &String,
) -> RpcResult<(P, Arc<Chain>)> {
    let p: P = params.parse()?;
    let c = chain(node, network(&p))?;
    Ok((p, c))
}

/// Builds the RPC module over a running node.
pub fn module(node: Arc<Node>) -> Result<RpcModule<Node>, String> {
    let mut m = RpcModule::from_arc(node);
    let reg = |e: jsonrpsee::core::RegisterMethodError| e.to_string();

    m.register_method("tx_submit", |params, node, _| -> RpcResult<String> {
        let p: SubmitParams = params.parse()?;
        let c = chain(node, &p.network)?;
        if p.tx.len() > MAX_TX_SIZE * 2 + 2 {
            return Err(err(1004, format!("transaction is over the limit of {MAX_TX_SIZE} bytes")));
        }
        let bytes = unhex("tx", &p.tx)?;
        let stx = SignedTransaction::decode_all_with_depth_limit(16, &mut &bytes[..])
            .map_err(|e| err(BAD_ENCODING, format!("tx is not a SCALE-encoded signed transaction: {e}")))?;
        let hash = c.submit(stx).map_err(|e| err(e.code(), e.to_string()))?;
        Ok(hash.to_string())
    })
    .map_err(reg)?;

    m.register_async_method("tx_receipt", |params, node, _| async move {
        let p: ReceiptParams = params.parse()?;
        let c = chain(&node, &p.network)?;
        let hash = crate::genesis::parse_hash(&p.hash).map_err(|e| err(BAD_ENCODING, e))?;
        let mut heads = c.heads.subscribe();
        if let Some(r) = receipt_of(&c, &hash)? {
            return Ok(Some(r));
        }
        let wait = p.wait_ms.unwrap_or(0).min(MAX_RECEIPT_WAIT_MS);
        if wait == 0 {
            return Ok(None);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(wait);
        loop {
            match tokio::time::timeout_at(deadline, heads.recv()).await {
                Err(_) => return Err(err(TIMEOUT, format!("transaction {hash} was not finalised within {wait} ms"))),
                Ok(_) => {
                    if let Some(r) = receipt_of(&c, &hash)? {
                        return Ok(Some(r));
                    }
                }
            }
        }
    })
    .map_err(reg)?;

    m.register_method("chain_getBlock", |params, node, _| -> RpcResult<Option<serde_json::Value>> {
        let p: BlockParams = params.parse()?;
        let c = chain(node, &p.network)?;
        let height = match (p.height, &p.hash) {
            (Some(h), _) => h,
            (None, Some(s)) => {
                let hash = crate::genesis::parse_hash(s).map_err(|e| err(BAD_ENCODING, e))?;
                match storage(c.store.height_of(&hash))? {
                    Some(h) => h,
                    None => return Ok(None),
                }
            }
            (None, None) => c.head().0,
        };
        let Some(header) = storage(c.store.header(height))? else { return Ok(None) };
        let block = storage(c.store.block(height))?;
        let txs: Vec<serde_json::Value> = block
            .as_ref()
            .map(|b| {
                b.transactions
                    .iter()
                    .map(|t| serde_json::json!({"hash": t.hash().to_string(), "sender": t.tx.sender.to_string(), "nonce": t.tx.nonce, "call": t.tx.call.kind()}))
                    .collect()
            })
            .unwrap_or_default();
        let mut out = serde_json::json!({"header": HeaderJson::from(&header), "transactions": txs});
        if p.raw {
            out["raw_block"] = serde_json::json!(block.map(|b| hex0x(&b.encode())));
            out["raw_certificate"] = serde_json::json!(storage(c.store.certificate(height))?.map(|b| hex0x(&b)));
            out["raw_header"] = serde_json::json!(hex0x(&header.encode()));
        }
        Ok(Some(out))
    })
    .map_err(reg)?;

    m.register_method("chain_getFinalizedHead", |params, node, _| -> RpcResult<HeaderJson> {
        let p: NetworkParam = params.parse()?;
        let c = chain(node, &p.network)?;
        let (h, _) = c.head();
        let header = storage(c.store.header(h))?.ok_or_else(|| err(STORAGE, "the finalised head has no header"))?;
        Ok(HeaderJson::from(&header))
    })
    .map_err(reg)?;

    m.register_method("chain_getCertificate", |params, node, _| -> RpcResult<Option<serde_json::Value>> {
        let p: HeightParams = params.parse()?;
        let c = chain(node, &p.network)?;
        let Some(raw) = storage(c.store.certificate(p.height))? else { return Ok(None) };
        let cert = crate::consensus::CommitCertificate::decode(&mut &raw[..]).map_err(|e| err(STORAGE, format!("stored certificate: {e}")))?;
        let verified = cert.verify(&c.network, &c.validators).is_ok();
        Ok(Some(serde_json::json!({
            "height": cert.height, "view": cert.view, "block_hash": cert.block_hash.to_string(),
            "signers": cert.signatures.iter().map(|(a, _)| a.to_string()).collect::<Vec<_>>(),
            "verified": verified, "raw": hex0x(&raw),
        })))
    })
    .map_err(reg)?;

    m.register_method("state_getAccount", |params, node, _| -> RpcResult<serde_json::Value> {
        let p: AccountParams = params.parse()?;
        let c = chain(node, &p.network)?;
        let who = account_param("account", &p.account)?;
        let state = c.store.state();
        let key = keys::account(&who);
        let acct = match state.get(&key).map_err(|e| err(STORAGE, e.to_string()))? {
            Some(b) => decode_record::<jjj_runtime::state::Account>(&key, &b).map_err(|e| err(STORAGE, e.to_string()))?,
            None => Default::default(),
        };
        Ok(serde_json::json!({"account": who.to_string(), "balance": acct.balance, "nonce": acct.nonce}))
    })
    .map_err(reg)?;

    m.register_blocking_method("contract_query", |params, node, _| -> RpcResult<ReceiptJson> {
        let p: CallParams = params.parse()?;
        call(&node, p, true)
    })
    .map_err(reg)?;

    m.register_blocking_method("contract_dryRun", |params, node, _| -> RpcResult<ReceiptJson> {
        let p: CallParams = params.parse()?;
        call(&node, p, false)
    })
    .map_err(reg)?;

    m.register_method("contract_events", |params, node, _| -> RpcResult<Vec<EventJson>> {
        let p: EventsParams = params.parse()?;
        let c = chain(node, &p.network)?;
        let filter = EventFilter {
            contract: p.contract.as_deref().map(|s| account_param("contract", s)).transpose()?,
            topic: p.topic.as_deref().map(|s| crate::genesis::parse_hash(s).map_err(|e| err(BAD_ENCODING, e))).transpose()?,
            from_height: p.from,
            to_height: p.to,
            limit: p.limit.unwrap_or(1_000).min(10_000),
        };
        Ok(storage(c.store.events(&filter))?.iter().map(EventJson::from).collect())
    })
    .map_err(reg)?;

    m.register_method("contract_info", |params, node, _| -> RpcResult<Option<serde_json::Value>> {
        let p: AccountParams = params.parse()?;
        let c = chain(node, &p.network)?;
        let who = account_param("account", &p.account)?;
        let state = c.store.state();
        let key = keys::contract(&who);
        let Some(b) = state.get(&key).map_err(|e| err(STORAGE, e.to_string()))? else { return Ok(None) };
        let info: ContractInfo = decode_record(&key, &b).map_err(|e| err(STORAGE, e.to_string()))?;
        let ckey = keys::code_info(&info.code_hash);
        let code: Option<CodeInfo> = match state.get(&ckey).map_err(|e| err(STORAGE, e.to_string()))? {
            Some(b) => Some(decode_record(&ckey, &b).map_err(|e| err(STORAGE, e.to_string()))?),
            None => None,
        };
        Ok(Some(serde_json::json!({
            "address": who.to_string(), "code_hash": info.code_hash.to_string(), "deployer": info.deployer.to_string(),
            "instantiated_at": info.instantiated_at, "code_size": code.as_ref().map(|c| c.size), "reentrant": code.map(|c| c.reentrant),
        })))
    })
    .map_err(reg)?;

    m.register_method("node_health", |_, node, _| -> RpcResult<serde_json::Value> { Ok(node.health()) }).map_err(reg)?;

    m.register_method("node_peers", |_, node, _| -> RpcResult<serde_json::Value> {
        let peers: Vec<serde_json::Value> = node
            .net
            .peers()
            .iter()
            .map(|p| serde_json::json!({"id": p.id.to_string(), "addr": p.addr.to_string(), "outbound": p.outbound, "connected_since_ms": p.connected_since_ms}))
            .collect();
        Ok(serde_json::json!(peers))
    })
    .map_err(reg)?;

    m.register_subscription("chain_subscribeFinalizedHeads", "chain_finalizedHead", "chain_unsubscribeFinalizedHeads", |params, pending: PendingSubscriptionSink, node, _| async move {
        let c = match subscription_params::<NetworkParam>(&params, &node, |p| &p.network) {
            Ok((_, c)) => c,
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let mut heads = c.heads.subscribe();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                _ = sink.closed() => break,
                h = heads.recv() => match h {
                    Ok(h) => {
                        let msg: SubscriptionMessage = serde_json::value::to_raw_value(&HeaderJson::from(&h))?.into();
                        if sink.send(msg).await.is_err() { break }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
        }
        Ok(())
    })
    .map_err(reg)?;

    m.register_subscription("contract_subscribeEvents", "contract_event", "contract_unsubscribeEvents", |params, pending: PendingSubscriptionSink, node, _| async move {
        let parsed = subscription_params::<SubscribeEventsParams>(&params, &node, |p| &p.network).and_then(|(p, c)| {
            let only = p.contract.as_deref().map(|s| account_param("contract", s)).transpose()?;
            Ok((c, only))
        });
        let (c, only) = match parsed {
            Ok(x) => x,
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let mut events = c.events.subscribe();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                _ = sink.closed() => break,
                e = events.recv() => match e {
                    Ok(r) => {
                        if only.is_some_and(|c| c != r.event.contract) { continue }
                        let msg: SubscriptionMessage = serde_json::value::to_raw_value(&EventJson::from(&r))?.into();
                        if sink.send(msg).await.is_err() { break }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
        }
        Ok(())
    })
    .map_err(reg)?;

    Ok(m)
}
