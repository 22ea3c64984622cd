//! JSON-RPC (jsonrpsee; HTTP and WebSocket on one port).
//!
//! The types, parameters and error codes are `jjj_rpc_api`'s; this is the server over a node.
use crate::chain::Chain;
use crate::service::Node;
use jjj_primitives::params::{MAX_TX_GAS, MAX_TX_SIZE};
use jjj_primitives::*;
use jjj_rpc_api::*;
use jjj_state::{decode_record, keys, CodeInfo, ContractInfo, StateReader};
use jjj_store::{EventFilter, EventRecord};
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned};
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionMessage};
use parity_scale_codec::{Decode, DecodeLimit, Encode};
use std::sync::Arc;
use std::time::Duration;

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn err(code: ErrorCode, msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(code.code(), msg.into(), None::<()>)
}

fn unhex(what: &str, s: &str) -> RpcResult<Vec<u8>> {
    jjj_rpc_api::unhex(s).map_err(|e| err(ErrorCode::BadEncoding, format!("{what} is not hex: {e}")))
}

fn account_param(what: &str, s: &str) -> RpcResult<AccountId> {
    jjj_config::parse_account(s).map_err(|e| err(ErrorCode::BadEncoding, format!("{what}: {e}")))
}

fn event_json(r: &EventRecord) -> EventJson {
    EventJson::new(r.height, r.tx_index, &r.tx_hash, &r.event)
}

fn chain(node: &Node, network: &str) -> RpcResult<Arc<Chain>> {
    node.chains.get(network).cloned().ok_or_else(|| {
        let known: Vec<&String> = node.chains.keys().collect();
        err(ErrorCode::UnknownNetwork, format!("this node does not serve network {network:?}; it serves {known:?}"))
    })
}

fn storage<T>(r: Result<T, jjj_store::StoreError>) -> RpcResult<T> {
    r.map_err(|e| err(ErrorCode::Storage, e.to_string()))
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
            let header = storage(c.store.header(h))?.ok_or_else(|| err(ErrorCode::InvalidParams, format!("no finalised block at height {h}")))?;
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
    let call = Call::Call { contract, input, value };
    // A query runs read-only: a message that would change state fails, saying so.
    let dry = if query { c.runtime.query(state, &ctx, sender, call, gas) } else { c.runtime.dry_run(state, &ctx, sender, call, gas) }
        .map_err(|e| err(ErrorCode::ExecutionAborted, e.to_string()))?;
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
            return Err(err(ErrorCode::TooLarge, format!("transaction is over the limit of {MAX_TX_SIZE} bytes")));
        }
        let bytes = unhex("tx", &p.tx)?;
        let stx = SignedTransaction::decode_all_with_depth_limit(16, &mut &bytes[..])
            .map_err(|e| err(ErrorCode::BadEncoding, format!("tx is not a SCALE-encoded signed transaction: {e}")))?;
        let hash = c.submit(stx).map_err(|e| err(e.code(), e.to_string()))?;
        Ok(hash.to_string())
    })
    .map_err(reg)?;

    m.register_async_method("tx_receipt", |params, node, _| async move {
        let p: ReceiptParams = params.parse()?;
        let c = chain(&node, &p.network)?;
        let hash = jjj_config::parse_hash(&p.hash).map_err(|e| err(ErrorCode::BadEncoding, e))?;
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
                Err(_) => return Err(err(ErrorCode::Timeout, format!("transaction {hash} was not finalised within {wait} ms"))),
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
                let hash = jjj_config::parse_hash(s).map_err(|e| err(ErrorCode::BadEncoding, e))?;
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
        let header = storage(c.store.header(h))?.ok_or_else(|| err(ErrorCode::Storage, "the finalised head has no header"))?;
        Ok(HeaderJson::from(&header))
    })
    .map_err(reg)?;

    m.register_method("chain_getCertificate", |params, node, _| -> RpcResult<Option<serde_json::Value>> {
        let p: HeightParams = params.parse()?;
        let c = chain(node, &p.network)?;
        let Some(raw) = storage(c.store.certificate(p.height))? else { return Ok(None) };
        let cert = jjj_consensus::CommitCertificate::decode(&mut &raw[..]).map_err(|e| err(ErrorCode::Storage, format!("stored certificate: {e}")))?;
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
        let acct = match state.get(&key).map_err(|e| err(ErrorCode::Storage, e.to_string()))? {
            Some(b) => decode_record::<jjj_state::Account>(&key, &b).map_err(|e| err(ErrorCode::Storage, e.to_string()))?,
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
            topic: p.topic.as_deref().map(|s| jjj_config::parse_hash(s).map_err(|e| err(ErrorCode::BadEncoding, e))).transpose()?,
            from_height: p.from,
            to_height: p.to,
            limit: p.limit.unwrap_or(1_000).min(10_000),
        };
        Ok(storage(c.store.events(&filter))?.iter().map(event_json).collect())
    })
    .map_err(reg)?;

    m.register_method("contract_info", |params, node, _| -> RpcResult<Option<serde_json::Value>> {
        let p: AccountParams = params.parse()?;
        let c = chain(node, &p.network)?;
        let who = account_param("account", &p.account)?;
        let state = c.store.state();
        let key = keys::contract(&who);
        let Some(b) = state.get(&key).map_err(|e| err(ErrorCode::Storage, e.to_string()))? else { return Ok(None) };
        let info: ContractInfo = decode_record(&key, &b).map_err(|e| err(ErrorCode::Storage, e.to_string()))?;
        let ckey = keys::code_info(&info.code_hash);
        let code: Option<CodeInfo> = match state.get(&ckey).map_err(|e| err(ErrorCode::Storage, e.to_string()))? {
            Some(b) => Some(decode_record(&ckey, &b).map_err(|e| err(ErrorCode::Storage, e.to_string()))?),
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
                        let msg: SubscriptionMessage = serde_json::value::to_raw_value(&event_json(&r))?.into();
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
