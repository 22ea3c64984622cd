//! A devnet of real `jjj-node` processes on 127.0.0.1 (RocksDB in a temporary directory),
//! optionally with every validator-to-validator link through a [`FaultNet`] proxy; validators
//! can be killed with SIGKILL and restarted.
use crate::bin;
use crate::proxy::FaultNet;
use jjj_rpc_api::{BlockJson, HeaderJson, NodeApiClient, Rpc};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub const NET: &str = "jjj";
pub const VALIDATORS: usize = 4;

pub struct DevnetConfig {
    /// p2p ports are base..base+3, RPC base+10.., metrics base+20.. (proxies use ephemeral ports).
    pub base_port: u16,
    pub view_timeout_ms: u64,
    /// Genesis accounts: dev-key name and balance in fen. A name may carry `@member+role,role`
    /// (`jjj network init --account` syntax); a bare name is a deployer of the first member.
    pub accounts: Vec<(String, u64)>,
    /// Route every validator-to-validator connection through a [`FaultNet`].
    pub proxied: bool,
    /// Nodes (0-based) that only follow the network at genesis (`jjj network init --follow`):
    /// governance may make them validators later.
    pub followers: Vec<usize>,
    /// Web pages every node serves on its RPC port (`jjj-node --web-dir`).
    pub web_dir: Option<PathBuf>,
}

impl DevnetConfig {
    /// Four validators on `base_port`, a 500 ms view timeout, direct connections, no followers.
    pub fn direct(base_port: u16, accounts: Vec<(String, u64)>) -> DevnetConfig {
        DevnetConfig { base_port, view_timeout_ms: 500, accounts, proxied: false, followers: vec![], web_dir: None }
    }
}

pub struct Devnet {
    tmp: Option<tempfile::TempDir>,
    pub dir: PathBuf,
    rpc_ports: Vec<u16>,
    nodes: Mutex<Vec<Option<Child>>>,
    /// Present when started with `proxied`.
    pub proxy: Option<FaultNet>,
    web_dir: Option<PathBuf>,
}

impl Devnet {
    /// Initialises the network with `jjj network init --dev-keys`, points each validator's peers
    /// at the proxies (if asked), starts the four validators and waits for their RPC.
    pub async fn start(cfg: DevnetConfig) -> Result<Devnet, String> {
        let tmp = tempfile::Builder::new().prefix("jjj-devnet.").tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let dir = tmp.path().to_path_buf();
        let base = cfg.base_port;
        let mut init = Command::new(bin("jjj"));
        let validating: Vec<String> =
            (0..VALIDATORS).filter(|i| !cfg.followers.contains(i)).map(|i| (i + 1).to_string()).collect();
        init.args(["network", "init", "--dev-keys", "--validators", "4", "--crypto", crate::suite().name()])
            .args(["--network", &format!("{NET}={}", validating.join(","))]);
        if !cfg.followers.is_empty() {
            let nodes: Vec<String> = cfg.followers.iter().map(|i| (i + 1).to_string()).collect();
            init.args(["--follow", &format!("{NET}={}", nodes.join(","))]);
        }
        init.args(["--view-timeout-ms", &cfg.view_timeout_ms.to_string()])
            .arg("--dir")
            .arg(&dir)
            .args(["--p2p-port", &base.to_string()])
            .args(["--rpc-port", &(base + 10).to_string()])
            .args(["--metrics-port", &(base + 20).to_string()]);
        for (name, balance) in &cfg.accounts {
            // "name@member+roles" keeps its member and roles; a bare name is a deployer of the
            // first member.
            let spec = match name.find(['@', '+']) {
                Some(i) => format!("{}={balance}{}", &name[..i], &name[i..]),
                None => format!("{name}={balance}+deployer"),
            };
            init.args(["--account", &spec]);
        }
        let out = init.output().map_err(|e| format!("jjj network init: {e}"))?;
        if !out.status.success() {
            return Err(format!("jjj network init failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let proxy = if cfg.proxied {
            let targets: Vec<SocketAddr> =
                (0..VALIDATORS).map(|i| SocketAddr::from(([127, 0, 0, 1], base + i as u16))).collect();
            let proxy = FaultNet::start(targets).await.map_err(|e| format!("proxy: {e}"))?;
            for i in 0..VALIDATORS {
                route_peers_through(&dir.join(format!("validator-{}.toml", i + 1)), i, &proxy)?;
            }
            Some(proxy)
        } else {
            None
        };
        let net = Devnet {
            tmp: Some(tmp),
            dir,
            rpc_ports: (0..VALIDATORS).map(|i| base + 10 + i as u16).collect(),
            nodes: Mutex::new((0..VALIDATORS).map(|_| None).collect()),
            proxy,
            web_dir: cfg.web_dir,
        };
        for i in 0..VALIDATORS {
            net.start_node(i)?;
        }
        for i in 0..VALIDATORS {
            net.wait_rpc(i, Duration::from_secs(30)).await?;
        }
        Ok(net)
    }

    /// Keeps the directory (logs, databases) after the devnet is dropped; returns it.
    pub fn keep(&mut self) -> PathBuf {
        if let Some(t) = self.tmp.take() {
            let _ = t.keep();
        }
        self.dir.clone()
    }

    fn nodes(&self) -> MutexGuard<'_, Vec<Option<Child>>> {
        self.nodes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn start_node(&self, i: usize) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .map_err(|e| format!("log of validator {}: {e}", i + 1))?;
        let mut node = Command::new(bin("jjj-node"));
        if let Some(web) = &self.web_dir {
            node.arg("--web-dir").arg(web);
        }
        let child = node
            .arg("--config")
            .arg(self.dir.join(format!("validator-{}.toml", i + 1)))
            // Consensus at debug: a few lines per block, and what a stalled view was waiting for.
            .env("RUST_LOG", std::env::var("JJJ_DEVNET_LOG").unwrap_or_else(|_| "info,jjj_consensus=debug".into()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawn jjj-node: {e}"))?;
        self.nodes()[i] = Some(child);
        Ok(())
    }

    /// SIGKILL, and reap the process.
    pub fn kill9(&self, i: usize) {
        let child = self.nodes()[i].take();
        if let Some(mut c) = child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// An operator's stop: SIGTERM, then wait (up to `within`) for the process to exit; its
    /// exit status.
    pub async fn stop(&self, i: usize, within: Duration) -> Result<std::process::ExitStatus, String> {
        let child = self.nodes()[i].take();
        let Some(mut child) = child else { return Err(format!("validator {} is not running", i + 1)) };
        let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        if !sent.is_ok_and(|s| s.success()) {
            let _ = child.kill();
            return Err(format!("cannot send SIGTERM to validator {}", i + 1));
        }
        let deadline = std::time::Instant::now() + within;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if std::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("validator {} did not exit within {within:?} of SIGTERM", i + 1));
                }
            }
        }
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.nodes()[i].is_some()
    }

    /// A validator process that exited on its own (crashed): its number and status.
    pub fn crashed(&self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (i, c) in self.nodes().iter_mut().enumerate() {
            if let Some(c) = c {
                if let Ok(Some(status)) = c.try_wait() {
                    out.push((i, status.to_string()));
                }
            }
        }
        out
    }

    pub fn rpc_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.rpc_ports[i])
    }

    pub fn rpc(&self, i: usize) -> Result<Rpc, String> {
        Rpc::new(&self.rpc_url(i))
    }

    pub fn rpc_urls(&self) -> Vec<String> {
        (0..VALIDATORS).map(|i| self.rpc_url(i)).collect()
    }

    pub fn log_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("validator-{}.log", i + 1))
    }

    /// The last `lines` lines of validator `i`'s log.
    pub fn log_tail(&self, i: usize, lines: usize) -> String {
        let s = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
        let v: Vec<&str> = s.lines().collect();
        v[v.len().saturating_sub(lines)..].join("\n")
    }

    /// Every validator's last log lines, for failure messages.
    pub fn logs(&self, lines: usize) -> String {
        (0..VALIDATORS)
            .map(|i| format!("--- validator {}:\n{}", i + 1, self.log_tail(i, lines)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub async fn wait_rpc(&self, i: usize, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let rpc = self.rpc(i)?;
        loop {
            if rpc.api().health().await.is_ok() {
                return Ok(());
            }
            // A validator that exited (a port taken by someone else, a bad database) will never
            // answer: say so at once, with its log.
            if let Some((_, status)) = self.crashed().into_iter().find(|(j, _)| *j == i) {
                return Err(format!("validator {} exited ({status}); log:\n{}", i + 1, self.log_tail(i, 30)));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "validator {} did not answer RPC within {within:?}; log:\n{}",
                    i + 1,
                    self.log_tail(i, 30)
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The finalised head of validator `i`, if it answers.
    pub async fn head(&self, i: usize) -> Option<HeaderJson> {
        let rpc = self.rpc(i).ok()?;
        rpc.api().finalized_head(NET.into()).await.ok()
    }

    /// The heads of all validators (None for one that does not answer).
    pub async fn heads(&self) -> Vec<Option<HeaderJson>> {
        let mut v = Vec::new();
        for i in 0..VALIDATORS {
            v.push(self.head(i).await);
        }
        v
    }

    /// The highest finalised height any validator reports.
    pub async fn max_height(&self) -> u64 {
        self.heads().await.iter().flatten().map(|h| h.height).max().unwrap_or(0)
    }

    /// Waits until some validator's head is above `height`.
    pub async fn wait_progress_past(&self, height: u64, within: Duration) -> Result<u64, String> {
        let deadline = Instant::now() + within;
        loop {
            let h = self.max_height().await;
            if h > height {
                return Ok(h);
            }
            if Instant::now() > deadline {
                return Err(format!("no block finalised above height {height} within {within:?}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until validator `i` has finalised `height`.
    pub async fn wait_node_at(&self, i: usize, height: u64, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            let h = self.head(i).await.map(|h| h.height);
            if h.is_some_and(|h| h >= height) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("validator {} is at {h:?}, not at {height}, after {within:?}", i + 1));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every validator reports the same finalised head; returns it.
    pub async fn wait_same_head(&self, within: Duration) -> Result<HeaderJson, String> {
        let deadline = Instant::now() + within;
        loop {
            let heads = self.heads().await;
            if let Some(Some(first)) = heads.first() {
                if heads.iter().all(|h| h.as_ref().is_some_and(|h| h.hash == first.hash)) {
                    return Ok(first.clone());
                }
            }
            if Instant::now() > deadline {
                let shown: Vec<_> = heads.iter().map(|h| h.as_ref().map(|h| h.height)).collect();
                return Err(format!("validators did not agree on one head within {within:?}: heights {shown:?}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Runs the `jjj` CLI against node `i`'s RPC on this network: (success, stdout + stderr).
    /// [`Devnet::jjj`] that must succeed: its output, or a panic naming the command (tests).
    pub fn jjj_ok(&self, i: usize, args: &[&str]) -> String {
        let (success, text) = self.jjj(i, args);
        assert!(success, "jjj {args:?}:\n{text}");
        text
    }

    pub fn jjj(&self, i: usize, args: &[&str]) -> (bool, String) {
        let out = match Command::new(bin("jjj")).args(["--rpc", &self.rpc_url(i), "--network", NET]).args(args).output()
        {
            Ok(out) => out,
            Err(e) => return (false, format!("cannot run jjj: {e}")),
        };
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    /// The path of key file `name` (`keys/NAME.key`) as a string for the CLI.
    pub fn key_file(&self, name: &str) -> String {
        self.dir.join("keys").join(format!("{name}.key")).display().to_string()
    }

    /// The account id of validator `i` (0-based).
    pub fn validator_id(i: usize) -> String {
        crate::dev_key(&format!("validator-{}", i + 1)).account().to_string()
    }

    /// The validator (0-based) whose key is `account`, e.g. a block's proposer.
    pub fn validator_of(account: &str) -> Option<usize> {
        (0..VALIDATORS).find(|i| crate::dev_key(&format!("validator-{}", i + 1)).account().to_string() == account)
    }

    /// The proposer of the latest finalised block any validator reports (validator 0 before the
    /// first block).
    pub async fn latest_proposer(&self) -> usize {
        let mut best: Option<HeaderJson> = None;
        for h in self.heads().await.into_iter().flatten() {
            if best.as_ref().is_none_or(|b| h.height > b.height) {
                best = Some(h);
            }
        }
        best.and_then(|h| Self::validator_of(&h.proposer)).unwrap_or(0)
    }

    pub async fn block(&self, i: usize, height: u64) -> Result<Option<BlockJson>, String> {
        let rpc = self.rpc(i)?;
        rpc.api().block(NET.into(), Some(height), None, None).await.map_err(|e| rpc.explain(e))
    }
}

/// The id of the proposal `jjj` described (its output starts "#ID kind [...]").
pub fn proposal_id(text: &str) -> String {
    text.split_whitespace().next().unwrap_or_default().trim_start_matches('#').to_string()
}

impl Drop for Devnet {
    fn drop(&mut self) {
        for i in 0..VALIDATORS {
            self.kill9(i);
        }
        // A failed test keeps the whole logs and databases: its message shows only the tails.
        if std::thread::panicking() {
            let dir = self.keep();
            eprintln!("devnet kept for inspection: {}", dir.display());
        }
    }
}

/// Rewrites validator `me`'s config so that each peer is reached through the proxy.
fn route_peers_through(config: &Path, me: usize, proxy: &FaultNet) -> Result<(), String> {
    let text = std::fs::read_to_string(config).map_err(|e| format!("{}: {e}", config.display()))?;
    let mut doc: toml::Table = text.parse().map_err(|e| format!("{}: {e}", config.display()))?;
    let peers = doc.get_mut("peers").and_then(|p| p.as_array_mut()).ok_or("config has no [[peers]]")?;
    for peer in peers.iter_mut() {
        let id = peer.get("id").and_then(|v| v.as_str()).ok_or("peer without id")?.to_string();
        let to = Devnet::validator_of(&id).ok_or_else(|| format!("peer {id} is not a dev validator"))?;
        let addr = proxy.addr(me, to).ok_or("no proxy for this pair")?;
        if let Some(t) = peer.as_table_mut() {
            t.insert("addr".into(), toml::Value::String(addr.to_string()));
        }
    }
    std::fs::write(config, doc.to_string()).map_err(|e| format!("{}: {e}", config.display()))
}
