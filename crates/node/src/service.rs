//! The node: one process serving several networks behind one p2p port and one RPC port.
//! Loads the config, key and genesis files, opens one RocksDB per network, starts the transport,
//! one chain (consensus driver) per network, the p2p dispatcher, JSON-RPC and the metrics page.
use crate::chain::{now_ms, Chain, ChainOptions};
use crate::wire::WireMessage;
use jjj_config::{load_key, NodeConfig};
use jjj_config::{parse_account, Genesis};
use jjj_executive::Runtime;
use jjj_p2p::{P2p, P2pConfig, P2pHandle};
use jjj_primitives::params::MAX_PEER_MESSAGE;
use jjj_primitives::AccountId;
use jjj_rpc_api::{FinalityJson, HealthJson, NetworkHealthJson};
use jjj_store::{ChainStore, RocksStore};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Node {
    pub name: String,
    pub id: AccountId,
    pub chains: BTreeMap<String, Arc<Chain>>,
    pub net: P2pHandle,
    pub started_ms: u64,
    /// Peer messages about networks this node does not serve (none, when every node keeps each
    /// network's data to that network's nodes).
    pub unserved_network_messages: AtomicU64,
}

impl Node {
    /// The node and each network it serves: what `node_health` and `GET /health` answer.
    pub fn health(&self) -> HealthJson {
        let networks = self
            .chains
            .values()
            .map(|c| {
                let (height, hash) = c.head();
                NetworkHealthJson {
                    network: c.network.to_string(),
                    height,
                    head: hash.to_string(),
                    view: c.metrics.view.load(Relaxed),
                    mempool: c.metrics.mempool.load(Relaxed),
                    validator: c.validators_at(c.head().0 + 1).contains(&self.id),
                    validators: c.validators_at(c.head().0 + 1).validators.iter().map(ToString::to_string).collect(),
                    finality: {
                        let (count, sum_ms, buckets) = c.metrics.finality();
                        FinalityJson { count, sum_ms, buckets }
                    },
                    view_changes: c.metrics.view_changes.load(Relaxed),
                    dropped_peer_messages: c.dropped_peer_messages(),
                    compact_proposals_rebuilt: c.metrics.compact_rebuilt.load(Relaxed),
                    compact_proposals_missed: c.metrics.compact_missed.load(Relaxed),
                    refused_outsider_messages: c.metrics.refused_outsiders.load(Relaxed),
                    block_times: c.block_times(),
                }
            })
            .collect();
        HealthJson {
            ok: true,
            name: self.name.clone(),
            id: self.id.to_string(),
            peers: self.net.peers().len(),
            uptime_ms: now_ms().saturating_sub(self.started_ms),
            unserved_network_messages: self.unserved_network_messages.load(Relaxed),
            networks,
        }
    }

    pub fn metrics_page(&self) -> String {
        let mut out = String::new();
        let peers = self.net.peers().len() as u64;
        for (name, c) in &self.chains {
            c.metrics.peers.store(peers, Relaxed);
            if let Ok(pool) = c.mempool.lock() {
                c.metrics.mempool_bytes.store(pool.encoded_bytes() as u64, Relaxed);
            }
            c.metrics.render(name, &mut out);
        }
        out
    }
}

/// How long a shutdown waits for a network's driver to finish its step.
const DRIVER_STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A running node; dropping it does not stop it: call `shutdown`.
pub struct RunningNode {
    pub node: Arc<Node>,
    pub rpc: jsonrpsee::server::ServerHandle,
    pub rpc_addr: std::net::SocketAddr,
}

impl RunningNode {
    /// Stops the transport and the RPC server, then waits for every network's driver to finish
    /// its current step (a block being committed is written whole) and stop.
    pub async fn shutdown(self) {
        self.node.net.shutdown();
        let _ = self.rpc.stop();
        self.rpc.stopped().await;
        for (name, chain) in &self.node.chains {
            if !chain.wait_driver_stopped(DRIVER_STOP_WAIT).await {
                tracing::warn!(network = %name, "the driver did not stop within {DRIVER_STOP_WAIT:?}: exiting anyway");
            }
        }
    }
}

/// What the operator says on the command line, beside the config file.
#[derive(Clone, Copy, Debug, Default)]
pub struct StartFlags {
    /// Start validators whose consensus record is unreadable (see `ChainOptions`).
    pub reset_safety_record: bool,
}

pub async fn start(config: NodeConfig) -> Result<RunningNode, String> {
    start_with(config, StartFlags::default()).await
}

pub async fn start_with(config: NodeConfig, flags: StartFlags) -> Result<RunningNode, String> {
    let key = load_key(&config.key_file)?;
    let id = key.account();
    let mut genesis = Vec::new();
    for path in &config.genesis {
        genesis.push(Genesis::load(path)?);
    }
    let mut allowed = BTreeSet::new();
    for g in &genesis {
        allowed.extend(g.validator_ids()?);
    }
    let mut peers = Vec::new();
    let mut followers: BTreeMap<&str, Vec<AccountId>> = BTreeMap::new();
    for p in &config.peers {
        let pid = parse_account(&p.id).map_err(|e| format!("peer {}: {e}", p.addr))?;
        allowed.insert(pid);
        peers.push((pid, p.addr));
        for network in &p.follows {
            followers.entry(network.as_str()).or_default().push(pid);
        }
    }
    allowed.remove(&id);
    let mut net_config = P2pConfig::new(config.p2p_listen, key.clone());
    net_config.peers = peers;
    net_config.allowed = allowed.into_iter().collect();
    net_config.max_message_bytes = MAX_PEER_MESSAGE;
    // One connection per peer carries every network; each message names its network.
    net_config.network_tag = b"jjj/p2p".to_vec();
    let (net, mut inbound) = P2p::start(net_config).await.map_err(|e| format!("p2p on {}: {e}", config.p2p_listen))?;

    let runtime = Runtime::new().map_err(|e| e.to_string())?;
    let mut chains = BTreeMap::new();
    for g in genesis {
        let name = g.network.clone();
        let dir = config.data_dir.join(&name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let store: Arc<dyn ChainStore> = Arc::new(
            RocksStore::open(&dir, g.suite()?.hash_algo()).map_err(|e| format!("ledger {}: {e}", dir.display()))?,
        );
        let options = ChainOptions {
            reset_safety_record: flags.reset_safety_record,
            mempool_max_bytes: config.mempool_max_bytes,
            mempool_sender_max_bytes: config.mempool_sender_max_bytes,
            followers: followers.get(name.as_str()).cloned().unwrap_or_default(),
            ..ChainOptions::new(config.view_timeout_ms, config.mempool_capacity, config.mempool_per_sender)
        };
        let chain = Chain::start(g, store, runtime.clone(), key.clone(), net.clone(), options)?;
        tracing::info!(network = %name, height = chain.head().0, "serving network");
        // The access log's head goes on chain as it grows (validators only).
        let anchoring = chain.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(crate::chain::ANCHOR_INTERVAL);
            loop {
                every.tick().await;
                let c = anchoring.clone();
                match tokio::task::spawn_blocking(move || c.anchor_access_log()).await {
                    Ok(Ok(Some(hash))) => {
                        tracing::debug!(network = %anchoring.network, tx = %hash, "access log anchored")
                    }
                    Ok(Ok(None)) => {}
                    Ok(Err(e)) => tracing::warn!(network = %anchoring.network, "cannot anchor the access log: {e}"),
                    Err(_) => break,
                }
            }
        });
        chains.insert(name, chain);
    }
    let node = Arc::new(Node {
        name: config.name.clone(),
        id,
        chains,
        net,
        started_ms: now_ms(),
        unserved_network_messages: AtomicU64::new(0),
    });

    // p2p dispatcher: authenticated bytes → the network they belong to.
    let dispatch = node.clone();
    tokio::spawn(async move {
        while let Some(msg) = inbound.recv().await {
            match WireMessage::decode_bounded(&msg.bytes) {
                Ok(m) => match dispatch.chains.get(m.network().as_str()) {
                    Some(c) => {
                        c.deliver(msg.from, m, Some(msg.permit()));
                    }
                    None => {
                        // Nodes send a network's data to its own nodes only: one arriving here
                        // is a peer's fault (or a misconfiguration), counted in `node_health`.
                        dispatch.unserved_network_messages.fetch_add(1, Relaxed);
                        tracing::debug!(peer = %msg.from, network = %m.network(), "message for a network this node does not serve")
                    }
                },
                Err(e) => tracing::warn!(peer = %msg.from, "{e}"),
            }
        }
    });

    let rpc_config = jsonrpsee::server::ServerConfig::builder()
        .max_request_body_size(jjj_rpc_api::MAX_REQUEST_BYTES)
        .max_response_body_size(64 * 1024 * 1024)
        .max_connections(config.rpc.max_connections)
        .max_subscriptions_per_connection(config.rpc.max_subscriptions_per_connection)
        .set_batch_request_config(jsonrpsee::server::BatchRequestConfig::Limit(config.rpc.max_batch_len))
        .build();
    if let Some(dir) = &config.web_dir {
        tracing::info!(dir = %dir.display(), "serving the web pages on the RPC port");
    }
    let server = jsonrpsee::server::Server::builder()
        .set_config(rpc_config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(crate::web::WebLayer::new(config.web_dir.clone())))
        .build(config.rpc_listen)
        .await
        .map_err(|e| format!("RPC on {}: {e}", config.rpc_listen))?;
    let rpc_addr = server.local_addr().map_err(|e| e.to_string())?;
    let rpc = server.start(crate::rpc::module(node.clone(), &config.rpc)?);
    tracing::info!(%rpc_addr, p2p = %node.net.local_addr(), id = %node.id, "node {} started", node.name);

    if let Some(addr) = config.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("metrics on {addr}: {e}"))?;
        let n = node.clone();
        tokio::spawn(serve_metrics(listener, n));
    }
    Ok(RunningNode { node, rpc, rpc_addr })
}

/// A minimal HTTP/1.1 endpoint: `GET /metrics` (Prometheus text) and `GET /health` (JSON).
async fn serve_metrics(listener: tokio::net::TcpListener, node: Arc<Node>) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else { continue };
        let node = node.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let n = match tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf)).await {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let req = String::from_utf8_lossy(&buf[..n]);
            let path = req.split_whitespace().nth(1).unwrap_or("");
            let (status, kind, body) = match path {
                "/metrics" => ("200 OK", "text/plain; version=0.0.4", node.metrics_page()),
                "/health" => ("200 OK", "application/json", serde_json::to_string(&node.health()).unwrap_or_default()),
                _ => ("404 Not Found", "text/plain", "try /metrics or /health\n".to_string()),
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        });
    }
}
