//! `jjj bench`: end-to-end load of signed bill payments, measured the CAICT way.
//!
//! Setup (not measured): deploy one utility-bills contract per provider (so each issues its
//! bills in its own id sequence, which the load generator can predict), register and fund the
//! residents (the funder needs `deployer`, and `registrar` of its member), register each provider
//! (an account the alliance made a `utility-provider`) with its contract, and issue bills. Load
//! (measured): payments pre-signed, then offered at a rate in batches (`tx_submitBatch` over
//! WebSocket, every 20 ms, spread over the endpoints); finality observed by following the
//! finalised blocks. Modes:
//!
//! - `fixed`: one run of `--txs` payments at `--rate`;
//! - `pressure`: steps of `--step-secs` from `--rate` up by half each time, until one is not
//!   sustained (finalised < 95 % of offered, success < 95 % or not drained in time); the answer
//!   is the highest sustained step;
//! - `spike`: 2× the peak (from `--peak` or a pressure search) for 10 s; success ≥ 75 % passes;
//! - `stability`: 20 % of the peak for `--duration-secs`.
//!
//! Each step prints finalised and offered tx/s, success, finality p50/p99/max, blocks and their
//! mean size, view changes, dropped peer messages and compact proposals rebuilt or missed (from
//! every endpoint's `node_health`), CPU per finalised transaction per validator and for this
//! client, RSS and bytes written (from /proc of `--node-pid`s), and per-block times; the last
//! line printed is one JSON object.
use crate::tx::now_ms;
use jjj_crypto::Keypair;
use jjj_primitives::*;
use jjj_rpc_api::{hex0x, ws_url, HeaderJson, NodeApiClient, ReceiptJson, Rpc, WsRpc, MAX_SUBMIT_BATCH};
use parity_scale_codec::{Decode, Encode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DAY_MS: u64 = 86_400_000;
/// Payments are offered in one batch per tick.
const TICK: Duration = Duration::from_millis(20);
/// Setup transactions per sender in flight (below the mempool's per-sender window of 1,024).
const SETUP_WINDOW: usize = 1_000;
/// Gas limits: a bill payment, a setup call.
const PAY_GAS: u64 = 2_000_000;
const SETUP_GAS: u64 = 5_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Fixed,
    Pressure,
    Spike,
    Stability,
}

/// `jjj bench`'s flags (the command's help says what each is for).
#[derive(clap::Args)]
pub struct BenchFlags {
    /// A funded key that deploys the contracts (role deployer), and registers (role registrar
    /// of its member) and funds the residents.
    #[arg(long)]
    pub funder: PathBuf,
    /// Keys of accounts the alliance made utility providers (role utility-provider); each
    /// gets its own contract and issues bills there. Repeatable.
    #[arg(long, required = true)]
    pub provider: Vec<PathBuf>,
    /// The utility-bills wasm.
    #[arg(long, default_value = "target/contracts/utility_bills.wasm")]
    pub wasm: PathBuf,
    /// Its metadata JSON (default: the wasm path with .json).
    #[arg(long)]
    pub metadata: Option<PathBuf>,
    /// Residents paying (each pays its bills in nonce order).
    #[arg(long, default_value_t = 2_000)]
    pub accounts: usize,
    /// Bills issued before the load (steps that need more issue them first, unmeasured).
    #[arg(long, default_value_t = 0)]
    pub bills: usize,
    /// fixed: --txs at --rate; pressure: from --rate up by half per step until not
    /// sustained; spike: 2× the peak for 10 s; stability: 20 % of the peak for
    /// --duration-secs.
    #[arg(long, value_enum, default_value = "fixed")]
    pub mode: Mode,
    /// Payments to send (fixed mode).
    #[arg(long, default_value_t = 2_000)]
    pub txs: usize,
    /// Offered tx/s (fixed mode), or the first step's (pressure).
    #[arg(long, default_value_t = 1_000)]
    pub rate: u64,
    /// Length of a pressure step.
    #[arg(long, default_value_t = 60)]
    pub step_secs: u64,
    /// Length of the stability run.
    #[arg(long, default_value_t = 600)]
    pub duration_secs: u64,
    /// The sustained peak (spike and stability); without it a pressure search finds it.
    #[arg(long)]
    pub peak: Option<u64>,
    /// More RPC endpoints to spread the load over (besides --rpc). Repeatable.
    #[arg(long = "also-rpc")]
    pub also_rpc: Vec<String>,
    /// Process ids of the validators, for CPU, RSS and disk writes from /proc. Repeatable.
    #[arg(long = "node-pid")]
    pub node_pid: Vec<u32>,
}

/// What a run works with: the flags, and what they name, loaded.
pub struct BenchArgs {
    pub rpcs: Vec<String>,
    pub network: String,
    pub funder: Keypair,
    pub providers: Vec<Keypair>,
    pub wasm: Vec<u8>,
    /// utility-bills' metadata (`jjj contract build` writes it next to the wasm).
    pub metadata: jjj_transcode::LoadedMetadata,
    pub flags: BenchFlags,
}

/// `jjj bench`: loads the keys, the wasm and its metadata the flags name, then runs.
pub async fn run_flags(rpc: String, network: String, mut flags: BenchFlags) -> Result<(), String> {
    let mut rpcs = vec![rpc];
    rpcs.append(&mut flags.also_rpc);
    let wasm = std::fs::read(&flags.wasm).map_err(|e| format!("cannot read {}: {e}", flags.wasm.display()))?;
    let metadata =
        crate::contract::load_metadata(&flags.metadata.clone().unwrap_or_else(|| flags.wasm.with_extension("json")))?;
    let funder = jjj_config::load_key(&flags.funder)?;
    let providers = flags.provider.iter().map(|p| jjj_config::load_key(p)).collect::<Result<_, _>>()?;
    flags.accounts = flags.accounts.max(1);
    run(BenchArgs { rpcs, network, funder, providers, wasm, metadata, flags }).await
}

/// The chain as the load generator sees it.
struct Ctx {
    http: Vec<Rpc>,
    ws: Vec<Arc<WsRpc>>,
    network: String,
    netid: NetworkId,
    algo: HashAlgo,
    meta: jjj_transcode::LoadedMetadata,
    residents: Vec<Keypair>,
    nonces: Vec<u64>,
    providers: Vec<Keypair>,
    contracts: Vec<AccountId>,
    /// Per contract: bills issued, bills paid (ids are 1, 2, … in issue order).
    issued: Vec<u64>,
    paid: Vec<u64>,
    pids: Vec<u32>,
}

impl Ctx {
    /// Bill `id` of contract `k`: its resident and amount.
    fn bill(&self, k: usize, id: u64) -> (usize, u64) {
        let n = (id as usize - 1) * self.contracts.len() + k;
        (n % self.residents.len(), 100 + (n as u64 % 900))
    }

    async fn nonce(&self, who: &AccountId) -> Result<u64, String> {
        let rpc = &self.http[0];
        Ok(rpc.api().account(self.network.clone(), who.to_string()).await.map_err(|e| rpc.explain(e))?.nonce)
    }
}

/// `call` as the key's own transaction.
fn sign(key: &Keypair, network: &NetworkId, nonce: u64, gas_limit: u64, call: Call) -> SignedTransaction {
    key.sign_tx(Transaction { network: network.clone(), sender: key.account(), nonce, gas_limit, call })
}

/// Sends `calls` from one sender in windows its mempool share takes, each window in batches,
/// waiting for the window's last transaction to be final; fails on any refusal or failure.
async fn send_many(
    http: &Rpc,
    ws: &WsRpc,
    network: &str,
    netid: &NetworkId,
    key: &Keypair,
    calls: Vec<Call>,
) -> Result<(), String> {
    let mut nonce =
        http.api().account(network.into(), key.account().to_string()).await.map_err(|e| http.explain(e))?.nonce;
    for window in calls.chunks(SETUP_WINDOW) {
        let txs: Vec<String> = window
            .iter()
            .map(|call| {
                let stx = sign(key, netid, nonce, SETUP_GAS, call.clone());
                nonce += 1;
                hex0x(&stx.encode())
            })
            .collect();
        let results = ws.api().submit_batch(network.into(), txs).await.map_err(|e| ws.explain(e))?;
        if let Some(e) = results.iter().find_map(|r| r.error.clone()) {
            return Err(format!("setup transaction refused: {e}"));
        }
        let last = results.last().and_then(|r| r.hash.clone()).ok_or("setup: no hash")?;
        let r: Option<ReceiptJson> =
            http.api().receipt(network.into(), last, Some(60_000)).await.map_err(|e| http.explain(e))?;
        match r {
            Some(r) if r.status == "success" => {}
            Some(r) => return Err(format!("setup transaction failed: {:?}", r.reason)),
            None => return Err("setup transaction not finalised".into()),
        }
    }
    Ok(())
}

fn encode(meta: &jjj_transcode::LoadedMetadata, message: &str, args: Value) -> Result<Vec<u8>, String> {
    jjj_transcode::encode_call(meta, message, &args).map_err(|e| format!("{message}: {e}"))
}

async fn setup(a: &BenchArgs) -> Result<Ctx, String> {
    let http: Vec<Rpc> = a.rpcs.iter().map(|u| Rpc::new(u)).collect::<Result<_, _>>()?;
    let mut ws = Vec::new();
    for u in &a.rpcs {
        ws.push(Arc::new(WsRpc::connect(&ws_url(u)).await?));
    }
    let rpc = &http[0];
    let net = a.network.as_str();
    let netid = NetworkId::new(net)?;
    let started = Instant::now();
    eprintln!("setup: {} contract(s), {} residents, {} bills…", a.providers.len(), a.flags.accounts, a.flags.bills);
    let funder_reg = rpc
        .api()
        .gov_account(net.into(), a.funder.account().to_string())
        .await
        .map_err(|e| rpc.explain(e))?
        .ok_or_else(|| format!("the funder {} is not registered on {net}", a.funder.account()))?;
    // The funder's scheme is the network's: the residents' keys and the code hash follow it.
    let suite = a.funder.scheme().suite();
    let algo = suite.hash_algo();
    let code_hash = algo.hash(&a.wasm);
    let r =
        crate::tx::submit_and_wait(rpc, net, &a.funder, Call::UploadCode { code: a.wasm.clone() }, 100_000_000).await?;
    if r.status != "success" && !r.reason.as_deref().unwrap_or("").contains("already uploaded") {
        return Err(format!("upload: {:?}", r.reason));
    }
    let input = jjj_transcode::encode_constructor(&a.metadata, "new", &json!([])).map_err(|e| format!("new: {e}"))?;
    let mut contracts = Vec::new();
    for _ in &a.providers {
        let call = Call::Instantiate { code_hash, input: input.clone(), value: 0 };
        let r = crate::tx::submit_and_wait(rpc, net, &a.funder, call, 50_000_000).await?;
        let out = hex::decode(r.output.trim_start_matches("0x")).map_err(|e| e.to_string())?;
        contracts.push(AccountId::decode(&mut &out[..]).map_err(|e| format!("instantiate: {e} ({:?})", r.reason))?);
    }
    let residents: Vec<Keypair> =
        (0..a.flags.accounts).map(|i| Keypair::named(suite.scheme(), &format!("bench-resident-{i}"))).collect();
    // Residents new to the chain are registered (an earlier run may have done it), then funded.
    let mut funding: Vec<Call> = Vec::new();
    for k in &residents {
        let known = rpc.api().gov_account(net.into(), k.account().to_string()).await.map_err(|e| rpc.explain(e))?;
        if known.is_none() {
            funding.push(Call::RegisterAccount {
                account: k.account(),
                member: funder_reg.member.clone(),
                roles: vec!["resident".into()],
            });
        }
    }
    funding.extend(residents.iter().map(|k| Call::Transfer { to: k.account(), amount: 10_000_000 }));
    send_many(rpc, &ws[0], net, &netid, &a.funder, funding).await?;
    let members = rpc.api().gov_members(net.into()).await.map_err(|e| rpc.explain(e))?;
    for (provider, contract) in a.providers.iter().zip(&contracts) {
        // The contract takes a provider's region only if it is its member's.
        let reg = rpc
            .api()
            .gov_account(net.into(), provider.account().to_string())
            .await
            .map_err(|e| rpc.explain(e))?
            .ok_or_else(|| format!("the provider {} is not registered on {net}", provider.account()))?;
        let region = members
            .iter()
            .find(|m| m.id == reg.member)
            .map(|m| match m.region.as_str() {
                "tianjin" => "Tianjin",
                "hebei" => "Hebei",
                _ => "Beijing",
            })
            .ok_or_else(|| format!("no member {} on {net}", reg.member))?;
        let register = encode(
            &a.metadata,
            "register_provider",
            json!([provider.account().to_string(), "bench water", region, ["Water"], 0]),
        )?;
        let call = Call::Call { contract: *contract, input: register, value: 0 };
        send_many(rpc, &ws[0], net, &netid, provider, vec![call]).await?;
    }
    let mut ctx = Ctx {
        http,
        ws,
        network: net.to_string(),
        netid,
        algo,
        meta: a.metadata.clone(),
        nonces: vec![0; residents.len()],
        residents,
        providers: a.providers.clone(),
        issued: vec![0; contracts.len()],
        paid: vec![0; contracts.len()],
        contracts,
        pids: a.flags.node_pid.clone(),
    };
    for i in 0..ctx.residents.len() {
        ctx.nonces[i] = ctx.nonce(&ctx.residents[i].account()).await?;
    }
    ensure_bills(&mut ctx, a.flags.bills).await?;
    eprintln!("setup done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ctx)
}

/// Issues bills until each provider has its share of `needed` unpaid (payments go round-robin
/// over the providers, so the first ones may take one more than the others in each step: each
/// provider is topped up on its own). Providers issue in parallel.
async fn ensure_bills(ctx: &mut Ctx, needed: usize) -> Result<(), String> {
    let k_n = ctx.contracts.len();
    let share = (needed as u64).div_ceil(k_n as u64);
    let top_up: Vec<u64> =
        ctx.issued.iter().zip(&ctx.paid).map(|(i, p)| share.saturating_sub(i.saturating_sub(*p))).collect();
    if top_up.iter().all(|n| *n == 0) {
        return Ok(());
    }
    let started = Instant::now();
    let due = now_ms() + 30 * DAY_MS;
    let mut tasks = Vec::new();
    for (k, n) in top_up.iter().enumerate() {
        let calls: Vec<Call> = (ctx.issued[k] + 1..=ctx.issued[k] + n)
            .map(|id| {
                let (r, amount) = ctx.bill(k, id);
                let args = json!([ctx.residents[r].account().to_string(), "Water", amount, "2026-12", due]);
                Ok(Call::Call { contract: ctx.contracts[k], input: encode(&ctx.meta, "issue_bill", args)?, value: 0 })
            })
            .collect::<Result<_, String>>()?;
        let (http, ws, net, netid, key) = (
            ctx.http[k % ctx.http.len()].clone(),
            ctx.ws[k % ctx.ws.len()].clone(),
            ctx.network.clone(),
            ctx.netid.clone(),
            ctx.providers[k].clone(),
        );
        tasks.push(tokio::spawn(async move { send_many(&http, &ws, &net, &netid, &key, calls).await }));
    }
    for t in tasks {
        t.await.map_err(|e| format!("issuing bills: {e}"))??;
    }
    for (issued, n) in ctx.issued.iter_mut().zip(&top_up) {
        *issued += n;
    }
    eprintln!("issued {} bills in {:.1} s", top_up.iter().sum::<u64>(), started.elapsed().as_secs_f64());
    Ok(())
}

/// The next `n` payments, pre-signed, round-robin over the contracts: (hash, hex).
fn sign_payments(ctx: &mut Ctx, n: usize) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let k = i % ctx.contracts.len();
        let id = ctx.paid[k] + 1;
        ctx.paid[k] = id;
        let (r, amount) = ctx.bill(k, id);
        let input = encode(&ctx.meta, "pay", json!([id]))?;
        let nonce = ctx.nonces[r];
        ctx.nonces[r] += 1;
        let call = Call::Call { contract: ctx.contracts[k], input, value: amount };
        let stx = sign(&ctx.residents[r], &ctx.netid, nonce, PAY_GAS, call);
        out.push((stx.hash(ctx.algo).to_string(), hex0x(&stx.encode())));
    }
    Ok(out)
}

/// What /proc says of a process: CPU (µs, user + system), RSS (bytes), bytes written to disk.
#[derive(Clone, Copy, Default, Debug)]
struct ProcStat {
    cpu_us: u64,
    rss: u64,
    written: u64,
}

/// Linux's USER_HZ on every architecture jjj runs on.
const CLOCK_TICKS_PER_SEC: u64 = 100;

fn proc_stat(pid: &str) -> ProcStat {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0)).collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    let field = |file: &str, name: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0)))
            .unwrap_or(0)
    };
    ProcStat {
        cpu_us: ticks * 1_000_000 / CLOCK_TICKS_PER_SEC,
        rss: field("status", "VmRSS:") * 1024,
        written: field("io", "write_bytes:"),
    }
}

/// Counters summed over the endpoints' nodes, and /proc of the node processes and this client.
#[derive(Default)]
struct Snapshot {
    view_changes: u64,
    dropped: u64,
    compact_rebuilt: u64,
    compact_missed: u64,
    times: jjj_rpc_api::BlockTimesJson,
    nodes: Vec<ProcStat>,
    client: ProcStat,
}

async fn snapshot(ctx: &Ctx) -> Snapshot {
    let mut s = Snapshot::default();
    for rpc in &ctx.http {
        let Ok(h) = rpc.api().health().await else { continue };
        for n in h.networks.iter().filter(|n| n.network == ctx.network) {
            s.view_changes += n.view_changes;
            s.dropped += n.dropped_peer_messages;
            s.compact_rebuilt += n.compact_proposals_rebuilt;
            s.compact_missed += n.compact_proposals_missed;
            let (t, b) = (&mut s.times, &n.block_times);
            t.executed += b.executed;
            t.verify_us += b.verify_us;
            t.execute_us += b.execute_us;
            t.root_us += b.root_us;
            t.committed += b.committed;
            t.commit_us += b.commit_us;
            t.write_us += b.write_us;
            t.bytes_written += b.bytes_written;
            t.tree_nodes += b.tree_nodes;
        }
    }
    s.nodes = ctx.pids.iter().map(|p| proc_stat(&p.to_string())).collect();
    s.client = proc_stat("self");
    s
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

/// Waits (up to `DRAIN_WAIT`) until no endpoint's mempool holds a transaction of the network:
/// a step past the peak leaves a backlog, and the next step (its bills first) must not be
/// measured behind it.
async fn drain(ctx: &Ctx) {
    let started = Instant::now();
    let mut said = false;
    while started.elapsed() < DRAIN_WAIT {
        let mut waiting = 0;
        for rpc in &ctx.http {
            if let Ok(h) = rpc.api().health().await {
                waiting += h.networks.iter().filter(|n| n.network == ctx.network).map(|n| n.mempool).sum::<u64>();
            }
        }
        if waiting == 0 {
            return;
        }
        if !said {
            eprintln!("waiting for the backlog of the last step to clear ({waiting} transactions in the mempools)…");
            said = true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("the backlog did not clear in {} s: going on", DRAIN_WAIT.as_secs());
}

/// Longest wait for a backlog to clear between steps.
const DRAIN_WAIT: Duration = Duration::from_secs(180);

/// One measured run at `rate` for `secs`; `pass_success` is the success rate it must reach.
async fn step(ctx: &mut Ctx, name: &str, rate: u64, secs: u64, pass_success: f64) -> Result<Value, String> {
    let n = (rate * secs) as usize;
    drain(ctx).await;
    ensure_bills(ctx, n).await?;
    let payments = sign_payments(ctx, n)?;
    let rpc = ctx.http[0].clone();
    let net = ctx.network.clone();
    let start_head = rpc.api().finalized_head(net.clone()).await.map_err(|e| rpc.explain(e))?;
    let before = snapshot(ctx).await;
    eprintln!("{name}: offering {rate} tx/s for {secs} s ({n} payments)…");

    let submitted: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let refused = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let mut feeder = {
        let (ws, submitted, refused, net) = (ctx.ws.clone(), submitted.clone(), refused.clone(), net.clone());
        tokio::spawn(async move {
            let mut sends = Vec::new();
            let mut sent = 0usize;
            let mut tick = tokio::time::interval(TICK);
            let mut payments = payments.into_iter();
            let mut round = 0usize;
            while sent < n {
                tick.tick().await;
                let due = ((started.elapsed().as_secs_f64() * rate as f64) as usize).min(n);
                while sent < due {
                    let take = (due - sent).min(MAX_SUBMIT_BATCH);
                    let batch: Vec<(String, String)> = payments.by_ref().take(take).collect();
                    sent += take;
                    let client = ws[round % ws.len()].clone();
                    round += 1;
                    let (submitted, refused, net) = (submitted.clone(), refused.clone(), net.clone());
                    sends.push(tokio::spawn(async move {
                        let t = Instant::now();
                        let (hashes, txs): (Vec<String>, Vec<String>) = batch.into_iter().unzip();
                        match client.api().submit_batch(net, txs).await {
                            Ok(results) => {
                                let mut m = submitted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                                for (h, r) in hashes.into_iter().zip(results) {
                                    if r.hash.is_some() {
                                        m.insert(h, t);
                                    } else if refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 3 {
                                        eprintln!("refused: {}", r.error.unwrap_or_default());
                                    }
                                }
                            }
                            Err(e) => {
                                refused.fetch_add(hashes.len() as u64, std::sync::atomic::Ordering::Relaxed);
                                eprintln!("batch refused: {}", client.explain(e));
                            }
                        }
                    }));
                }
            }
            let offered_secs = started.elapsed().as_secs_f64();
            for s in sends {
                let _ = s.await;
            }
            offered_secs
        })
    };
    // Follow finalised blocks until every accepted payment is final, or the drain time is up.
    let drain = Duration::from_secs(secs.clamp(20, 60));
    let mut finalised_at: HashMap<String, Instant> = HashMap::new();
    let mut next = start_head.height + 1;
    let mut offered_secs = None;
    let mut fed_at = None;
    let (mut blocks, mut block_txs) = (0u64, 0u64);
    let mut last_final = started;
    loop {
        let head: HeaderJson = rpc.api().finalized_head(net.clone()).await.map_err(|e| rpc.explain(e))?;
        while next <= head.height {
            let b = rpc.api().block(net.clone(), Some(next), None, None).await.map_err(|e| rpc.explain(e))?;
            let now = Instant::now();
            if let Some(b) = b {
                blocks += 1;
                block_txs += b.transactions.len() as u64;
                for t in b.transactions {
                    finalised_at.insert(t.hash, now);
                }
            }
            next += 1;
            last_final = now;
        }
        if offered_secs.is_none() && feeder.is_finished() {
            offered_secs = Some((&mut feeder).await.map_err(|e| format!("feeder: {e}"))?);
            fed_at = Some(Instant::now());
            continue;
        }
        if let Some(fed) = fed_at {
            let m = submitted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if m.keys().all(|h| finalised_at.contains_key(h)) || fed.elapsed() > drain {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = snapshot(ctx).await;
    let offered_secs = offered_secs.unwrap_or(secs as f64).max(1e-9);
    let submitted = submitted.lock().map_err(|_| "lock")?.clone();
    let mut latencies: Vec<Duration> =
        submitted.iter().filter_map(|(h, t)| finalised_at.get(h).map(|f| f.duration_since(*t))).collect();
    latencies.sort();
    let finalised = latencies.len() as u64;
    // Receipts of a sample of the finalised payments: the share that succeeded.
    let sample: Vec<&String> = submitted.keys().filter(|h| finalised_at.contains_key(*h)).take(300).collect();
    let mut ok = 0usize;
    for h in &sample {
        let r = rpc.api().receipt(net.clone(), (*h).clone(), None).await.map_err(|e| rpc.explain(e))?;
        if r.is_some_and(|r| r.status == "success") {
            ok += 1;
        }
    }
    let ok_share = if sample.is_empty() { 0.0 } else { ok as f64 / sample.len() as f64 };
    let success = finalised as f64 / n.max(1) as f64 * ok_share;
    let final_secs = last_final.duration_since(started).as_secs_f64().max(1e-9);
    let offered_tps = n as f64 / offered_secs;
    let finalised_tps = finalised as f64 / final_secs.max(offered_secs);
    let per_tx = |x: u64| if finalised == 0 { 0.0 } else { x as f64 / finalised as f64 };
    let node_cpu: Vec<u64> =
        after.nodes.iter().zip(&before.nodes).map(|(a, b)| a.cpu_us.saturating_sub(b.cpu_us)).collect();
    let nodes_cpu: u64 = node_cpu.iter().sum();
    let client_cpu = after.client.cpu_us.saturating_sub(before.client.cpu_us);
    let validators = ctx.pids.len().max(1) as f64;
    let written: u64 = after.nodes.iter().zip(&before.nodes).map(|(a, b)| a.written.saturating_sub(b.written)).sum();
    let t = |f: fn(&jjj_rpc_api::BlockTimesJson) -> u64| f(&after.times).saturating_sub(f(&before.times));
    let executed = t(|b| b.executed).max(1) as f64;
    let committed = t(|b| b.committed).max(1) as f64;
    let sustained = finalised_tps >= 0.95 * offered_tps && success >= pass_success;
    Ok(json!({
        "step": name,
        "offered_tps": offered_tps.round(),
        "finalised_tps": finalised_tps.round(),
        "success": (success * 1000.0).round() / 1000.0,
        "sustained": sustained,
        "payments": n,
        "refused": refused.load(std::sync::atomic::Ordering::Relaxed),
        "finalised": finalised,
        "p50_ms": percentile(&latencies, 0.5).round(),
        "p99_ms": percentile(&latencies, 0.99).round(),
        "max_ms": percentile(&latencies, 1.0).round(),
        "blocks": blocks,
        "mean_block_txs": block_txs.checked_div(blocks).unwrap_or(0),
        "view_changes": after.view_changes.saturating_sub(before.view_changes),
        "dropped_msgs": after.dropped.saturating_sub(before.dropped),
        "compact_proposals_rebuilt": after.compact_rebuilt.saturating_sub(before.compact_rebuilt),
        "compact_proposals_missed": after.compact_missed.saturating_sub(before.compact_missed),
        "cpu_us_per_tx_per_validator": (per_tx(nodes_cpu) / validators).round(),
        "client_cpu_us_per_tx": per_tx(client_cpu).round(),
        "client_cpu_share": if nodes_cpu + client_cpu == 0 { 0.0 } else {
            (client_cpu as f64 / (nodes_cpu + client_cpu) as f64 * 1000.0).round() / 1000.0
        },
        "rss_mb_max": after.nodes.iter().map(|p| p.rss).max().unwrap_or(0) / (1024 * 1024),
        "disk_bytes_per_tx_per_node": (per_tx(written) / validators).round(),
        "rocksdb_batch_bytes_per_tx_per_node": (per_tx(t(|b| b.bytes_written)) / ctx.http.len() as f64).round(),
        "tree_nodes_per_tx": (per_tx(t(|b| b.tree_nodes)) / ctx.http.len() as f64 * 10.0).round() / 10.0,
        "block_ms": {
            "verify": (t(|b| b.verify_us) as f64 / executed / 1e3 * 10.0).round() / 10.0,
            "execute": (t(|b| b.execute_us) as f64 / executed / 1e3 * 10.0).round() / 10.0,
            "root": (t(|b| b.root_us) as f64 / executed / 1e3 * 10.0).round() / 10.0,
            "commit": (t(|b| b.commit_us) as f64 / committed / 1e3 * 10.0).round() / 10.0,
            "fsync_write": (t(|b| b.write_us) as f64 / committed / 1e3 * 10.0).round() / 10.0,
        },
    }))
}

const COLUMNS: [(&str, &str); 12] = [
    ("step", "step"),
    ("offered_tps", "offered/s"),
    ("finalised_tps", "final/s"),
    ("success", "success"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("max_ms", "max ms"),
    ("mean_block_txs", "txs/block"),
    ("view_changes", "views±"),
    ("dropped_msgs", "dropped"),
    ("cpu_us_per_tx_per_validator", "µs/tx/node"),
    ("client_cpu_share", "client cpu"),
];

fn print_row(r: &Value) {
    let cells: Vec<String> = COLUMNS
        .iter()
        .map(|(k, _)| match &r[k] {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        })
        .collect();
    println!("| {} |", cells.join(" | "));
}

/// Steps up from `start` tx/s by half each time until one is not sustained, then tries once
/// halfway back; the best sustained step.
async fn search_peak(ctx: &mut Ctx, steps: &mut Vec<Value>, start: u64, secs: u64) -> Result<Option<Value>, String> {
    let mut best: Option<(u64, Value)> = None;
    let mut rate = start.max(1);
    for i in 0..10 {
        let r = step(ctx, &format!("pressure {}", i + 1), rate, secs, 0.95).await?;
        print_row(&r);
        steps.push(r.clone());
        if r["sustained"] != json!(true) {
            // One more step halfway between the last sustained offer and this one.
            if let Some((good, _)) = &best {
                let mid = (good + rate) / 2;
                if mid > good + good / 10 {
                    let r = step(ctx, &format!("pressure {}", i + 2), mid, secs, 0.95).await?;
                    print_row(&r);
                    steps.push(r.clone());
                    if r["sustained"] == json!(true) {
                        best = Some((mid, r));
                    }
                }
            }
            break;
        }
        best = Some((rate, r));
        rate = rate * 3 / 2;
    }
    Ok(best.map(|(_, r)| r))
}

pub async fn run(a: BenchArgs) -> Result<(), String> {
    let mut ctx = setup(&a).await?;
    println!("| {} |", COLUMNS.iter().map(|(_, h)| *h).collect::<Vec<_>>().join(" | "));
    println!("|{}", "---|".repeat(COLUMNS.len()));
    let mut steps = Vec::new();
    let secs = a.flags.step_secs.max(1);
    let summary = match a.flags.mode {
        Mode::Fixed => {
            let secs = (a.flags.txs as u64).div_ceil(a.flags.rate.max(1)).max(1);
            let r = step(&mut ctx, "fixed", a.flags.rate.max(1), secs, 0.95).await?;
            print_row(&r);
            steps.push(r.clone());
            r
        }
        Mode::Pressure => {
            let best = search_peak(&mut ctx, &mut steps, a.flags.rate, secs).await?;
            best.or_else(|| steps.last().cloned()).ok_or("no step ran")?
        }
        Mode::Spike | Mode::Stability => {
            let peak = match a.flags.peak {
                Some(p) => p,
                None => search_peak(&mut ctx, &mut steps, a.flags.rate, secs)
                    .await?
                    .and_then(|b| b["finalised_tps"].as_f64())
                    .map(|f| f as u64)
                    .unwrap_or(a.flags.rate),
            };
            let r = if a.flags.mode == Mode::Spike {
                step(&mut ctx, "spike 2×", (peak * 2).max(1), 10, 0.75).await?
            } else {
                step(&mut ctx, "stability 20 %", (peak / 5).max(1), a.flags.duration_secs.max(1), 0.95).await?
            };
            print_row(&r);
            steps.push(r.clone());
            r
        }
    };
    println!();
    println!("per block (ms): {}", summary["block_ms"]);
    println!(
        "per finalised payment: {} µs CPU per validator, {} µs for this client; {} bytes written to disk and {} RocksDB batch bytes per node; {} state-tree nodes written; max RSS {} MB",
        summary["cpu_us_per_tx_per_validator"],
        summary["client_cpu_us_per_tx"],
        summary["disk_bytes_per_tx_per_node"],
        summary["rocksdb_batch_bytes_per_tx_per_node"],
        summary["tree_nodes_per_tx"],
        summary["rss_mb_max"],
    );
    let mut out = summary;
    out["mode"] = json!(format!("{:?}", a.flags.mode).to_lowercase());
    out["validators"] = json!(a.flags.node_pid.len());
    out["steps"] = json!(steps.len());
    println!("{out}");
    Ok(())
}
