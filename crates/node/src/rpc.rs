//! JSON-RPC (jsonrpsee; HTTP and WebSocket on one port).
//!
//! The interface — method names, parameters, responses, error codes — is `jjj_rpc_api`'s
//! `NodeApi` trait; this is its server over a node.
// Input from outside the process must never panic this crate: no unwrap/expect/panic! outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
use crate::chain::Chain;
use crate::service::Node;
use jjj_primitives::params::{MAX_TX_GAS, MAX_TX_SIZE};
use jjj_primitives::*;
use jjj_rpc_api::*;
use jjj_state::{decode_record, keys, CodeInfo, ContractInfo, StateReader};
use jjj_store::{EventFilter, EventRecord};
use jsonrpsee::core::{async_trait, RpcResult, SubscriptionResult};
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionMessage};
use parity_scale_codec::{Decode, DecodeLimit, Encode};
use std::sync::Arc;
use std::time::Duration;

/// Events a `contract_events` call returns when it names no limit, and the most it may ask for.
const DEFAULT_EVENTS_LIMIT: usize = 1_000;
const MAX_EVENTS_LIMIT: usize = 10_000;

/// The RPC methods over a running node.
pub fn module(node: Arc<Node>) -> RpcModule<NodeRpc> {
    NodeRpc { node }.into_rpc()
}

pub struct NodeRpc {
    node: Arc<Node>,
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

fn storage<T, E: ToString>(r: Result<T, E>) -> RpcResult<T> {
    r.map_err(|e| ErrorCode::Storage.error(e.to_string()))
}

fn receipt_of(c: &Chain, hash: &Hash) -> RpcResult<Option<ReceiptJson>> {
    let Some(loc) = storage(c.store.tx_location(hash))? else { return Ok(None) };
    let receipts = storage(c.store.receipts(loc.height))?;
    Ok(receipts.get(loc.index as usize).map(|r| ReceiptJson::new(r, Some(loc.height), Some(loc.index))))
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
}

/// Runs a call; blocking (contract execution), so never on the async workers.
fn call(node: &Node, p: CallRequest, query: bool) -> RpcResult<ReceiptJson> {
    let c = chain(node, &p.network)?;
    let contract = account_param("contract", &p.contract)?;
    let sender = match &p.sender {
        Some(s) => account_param("sender", s)?,
        None => AccountId::default(),
    };
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
    let ctx = BlockContext { network: c.network.clone(), height: height + 1, timestamp: time };
    let value = if query { 0 } else { p.value.unwrap_or(0) };
    let gas = p.gas_limit.unwrap_or(MAX_TX_GAS);
    let call = Call::Call { contract, input, value };
    // A query runs read-only: a message that would change state fails, saying so.
    let dry = if query {
        c.runtime.query(state, &ctx, sender, call, gas)
    } else {
        c.runtime.dry_run(state, &ctx, sender, call, gas)
    }
    .map_err(|e| ErrorCode::ExecutionAborted.error(e.to_string()))?;
    let mut json = ReceiptJson::new(&dry.receipt, None, None);
    json.debug = dry.debug;
    Ok(json)
}

/// Forwards `updates` to a subscriber as they come, until either side closes; a subscriber
/// that falls behind skips what it missed.
async fn forward<T: Clone, J: serde::Serialize>(
    pending: PendingSubscriptionSink,
    mut updates: tokio::sync::broadcast::Receiver<T>,
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
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
    }
    Ok(())
}

#[async_trait]
impl NodeApiServer for NodeRpc {
    fn submit_tx(&self, network: String, tx: String) -> RpcResult<String> {
        let c = chain(&self.node, &network)?;
        if tx.len() > MAX_TX_SIZE * 2 + 2 {
            return Err(ErrorCode::TooLarge.error(format!("transaction is over the limit of {MAX_TX_SIZE} bytes")));
        }
        let bytes = unhex("tx", &tx)?;
        let stx = SignedTransaction::decode_all_with_depth_limit(16, &mut &bytes[..])
            .map_err(|e| ErrorCode::BadEncoding.error(format!("tx is not a SCALE-encoded signed transaction: {e}")))?;
        let hash = c.submit(stx).map_err(|e| e.code().error(e.to_string()))?;
        Ok(hash.to_string())
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

    fn block(
        &self,
        network: String,
        height: Option<u64>,
        hash: Option<String>,
        raw: Option<bool>,
    ) -> RpcResult<Option<BlockJson>> {
        let c = chain(&self.node, &network)?;
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
                        hash: t.hash().to_string(),
                        sender: t.tx.sender.to_string(),
                        nonce: t.tx.nonce,
                        call: t.tx.call.kind().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut out = BlockJson {
            header: HeaderJson::from(&header),
            transactions,
            raw_block: None,
            raw_certificate: None,
            raw_header: None,
        };
        if raw.unwrap_or(false) {
            out.raw_block = block.map(|b| hex0x(&b.encode()));
            out.raw_certificate = storage(c.store.certificate(height))?.map(|b| hex0x(&b));
            out.raw_header = Some(hex0x(&header.encode()));
        }
        Ok(Some(out))
    }

    fn finalized_head(&self, network: String) -> RpcResult<HeaderJson> {
        let c = chain(&self.node, &network)?;
        let (h, _) = c.head();
        let header =
            storage(c.store.header(h))?.ok_or_else(|| ErrorCode::Storage.error("the finalised head has no header"))?;
        Ok(HeaderJson::from(&header))
    }

    fn certificate(&self, network: String, height: u64) -> RpcResult<Option<CertificateJson>> {
        let c = chain(&self.node, &network)?;
        let Some(raw) = storage(c.store.certificate(height))? else { return Ok(None) };
        let cert = jjj_consensus::CommitCertificate::decode(&mut &raw[..])
            .map_err(|e| ErrorCode::Storage.error(format!("stored certificate: {e}")))?;
        let verified = cert.verify(&c.network, &c.validators).is_ok();
        Ok(Some(CertificateJson {
            height: cert.height,
            view: cert.view,
            block_hash: cert.block_hash.to_string(),
            signers: cert.signatures.iter().map(|(a, _)| a.to_string()).collect(),
            verified,
            raw: hex0x(&raw),
        }))
    }

    fn account(&self, network: String, account: String) -> RpcResult<AccountJson> {
        let c = chain(&self.node, &network)?;
        let who = account_param("account", &account)?;
        let key = keys::account(&who);
        let acct = match storage(c.store.state().get(&key))? {
            Some(b) => storage(decode_record::<jjj_state::Account>(&key, &b))?,
            None => Default::default(),
        };
        Ok(AccountJson { account: who.to_string(), balance: acct.balance, nonce: acct.nonce })
    }

    fn contract_query(
        &self,
        network: String,
        contract: String,
        input: String,
        sender: Option<String>,
        value: Option<u64>,
        gas_limit: Option<u64>,
        at: Option<u64>,
    ) -> RpcResult<ReceiptJson> {
        call(&self.node, CallRequest { network, contract, input, sender, value, gas_limit, at }, true)
    }

    fn contract_dry_run(
        &self,
        network: String,
        contract: String,
        input: String,
        sender: Option<String>,
        value: Option<u64>,
        gas_limit: Option<u64>,
        at: Option<u64>,
    ) -> RpcResult<ReceiptJson> {
        call(&self.node, CallRequest { network, contract, input, sender, value, gas_limit, at }, false)
    }

    fn contract_events(
        &self,
        network: String,
        contract: Option<String>,
        topic: Option<String>,
        from: Option<u64>,
        to: Option<u64>,
        limit: Option<usize>,
    ) -> RpcResult<Vec<EventJson>> {
        let c = chain(&self.node, &network)?;
        let filter = EventFilter {
            contract: contract.as_deref().map(|s| account_param("contract", s)).transpose()?,
            topic: topic.as_deref().map(hash_param).transpose()?,
            from_height: from.unwrap_or(0),
            to_height: to,
            limit: limit.unwrap_or(DEFAULT_EVENTS_LIMIT).min(MAX_EVENTS_LIMIT),
        };
        Ok(storage(c.store.events(&filter))?.iter().map(event_json).collect())
    }

    fn contract_info(&self, network: String, account: String) -> RpcResult<Option<ContractInfoJson>> {
        let c = chain(&self.node, &network)?;
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
        }))
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
        forward(pending, c.heads.subscribe(), |h: &Header| Some(HeaderJson::from(h))).await
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
        forward(
            pending,
            events,
            |r: &EventRecord| {
                if only.is_some_and(|c| c != r.event.contract) {
                    None
                } else {
                    Some(event_json(r))
                }
            },
        )
        .await
    }
}
