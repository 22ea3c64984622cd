//! The kill -9 campaign: a fresh 4-validator devnet under a utility-bills load; validators
//! (the leader included) are killed with SIGKILL at random moments and restarted after a random
//! pause, one at a time, all chosen by a seeded generator. After each restart the chain must
//! finalise new blocks and the restarted validator must catch up, both within a bound. Then the
//! load drains and [`check::verify`](crate::check::verify) compares every validator.
use crate::bills::{genesis_accounts, Bills};
use crate::check::{verify, CheckReport};
use crate::devnet::{Devnet, DevnetConfig, NET, VALIDATORS};
use crate::load::{Load, LoadConfig};
use crate::rng::Rng;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct CampaignConfig {
    pub kills: usize,
    pub seed: u64,
    /// p2p base..base+3, RPC base+10.., metrics base+20...
    pub base_port: u16,
    pub residents: usize,
    pub rate_per_s: f64,
    pub view_timeout_ms: u64,
    /// Bound on "the chain finalises a new block" and "the restarted validator caught up".
    pub progress_within: Duration,
    /// Keep the devnet directory (logs, databases) when the campaign fails.
    pub keep_on_failure: bool,
    /// Route validator links through the fault proxy and, before each kill, run a random
    /// network perturbation half of the time (latency, a cut validator, a one-way partition or
    /// isolation of the leader), held for a random 1-5 s, then healed.
    pub perturb: bool,
}

impl CampaignConfig {
    pub fn new(kills: usize, seed: u64) -> Self {
        CampaignConfig {
            kills,
            seed,
            base_port: 31000,
            residents: 8,
            rate_per_s: 20.0,
            view_timeout_ms: 500,
            progress_within: Duration::from_secs(60),
            keep_on_failure: true,
            perturb: false,
        }
    }
}

pub struct CampaignReport {
    pub seed: u64,
    pub kills: usize,
    pub perturbations: usize,
    pub created: u64,
    pub accepted: usize,
    pub finalised: usize,
    pub resubmits: u64,
    pub check: CheckReport,
    /// Liveness failures during the kills (no progress, no catch-up, a crash).
    pub stalls: Vec<String>,
    pub elapsed: Duration,
    /// The devnet directory, when it was kept.
    pub kept: Option<PathBuf>,
}

impl CampaignReport {
    pub fn ok(&self) -> bool {
        self.stalls.is_empty() && self.check.ok()
    }

    /// The last line of the campaign's output.
    pub fn summary(&self) -> String {
        format!(
            "{} kills, {} finalised tx checked, {} lost, roots equal: {}",
            self.kills,
            self.check.checked_tx,
            self.check.lost.len(),
            if self.check.roots_equal && self.check.same_blocks { "yes" } else { "no" }
        )
    }
}

/// Runs the campaign; `say` receives each progress line (one per kill).
pub async fn run_campaign(cfg: CampaignConfig, say: &(dyn Fn(&str) + Sync)) -> Result<CampaignReport, String> {
    let started = Instant::now();
    let mut rng = Rng::new(cfg.seed);
    let mut net = Devnet::start(DevnetConfig {
        base_port: cfg.base_port,
        view_timeout_ms: cfg.view_timeout_ms,
        accounts: genesis_accounts(cfg.residents),
        proxied: cfg.perturb,
        followers: vec![],
        web_dir: None,
    })
    .await?;
    say(&format!("devnet: 4 validators in {} (seed {})", net.dir.display(), cfg.seed));
    let rpc = net.rpc(0)?;
    let bills = Arc::new(Bills::deploy(&rpc, NET, cfg.residents).await?);
    say(&format!("utility-bills deployed at {}", bills.contract));
    let load = Load::start(
        net.rpc_urls(),
        bills,
        LoadConfig {
            rate_per_s: cfg.rate_per_s,
            max_pending_per_sender: 64,
            resubmit_after: Duration::from_secs(3),
            seed: rng.next_u64(),
        },
        Duration::from_secs(60),
    )?;
    let mut stalls = Vec::new();
    let mut kills = 0;
    let mut perturbations = 0;
    for k in 1..=cfg.kills {
        tokio::time::sleep(Duration::from_millis(rng.range(300, 2500))).await;
        if cfg.perturb && rng.chance(1, 2) {
            perturbations += 1;
            match perturb(&net, &mut rng, cfg.progress_within).await {
                Ok(line) => say(&format!("perturbation {perturbations}: {line}")),
                Err(e) => {
                    stalls.push(format!("perturbation {perturbations}: {e}"));
                    break;
                }
            }
        }
        let leader = net.latest_proposer().await;
        let victim = if rng.chance(1, 3) { leader } else { rng.below(VALIDATORS as u64) as usize };
        let at = net.max_height().await;
        net.kill9(victim);
        kills += 1;
        let down = Duration::from_millis(rng.range(100, 3000));
        tokio::time::sleep(down).await;
        if let Err(e) = net.start_node(victim) {
            stalls.push(format!("kill {k}: restarting validator {}: {e}", victim + 1));
            break;
        }
        let restarted = Instant::now();
        if let Err(e) = net.wait_rpc(victim, Duration::from_secs(30)).await {
            stalls.push(format!("kill {k}: {e}"));
            break;
        }
        let from = net.max_height().await;
        let now = match net.wait_progress_past(from, cfg.progress_within).await {
            Ok(h) => h,
            Err(e) => {
                stalls.push(format!(
                    "kill {k}: after restarting validator {}: {e}; heads {:?}",
                    victim + 1,
                    net.heads().await.iter().map(|h| h.as_ref().map(|h| h.height)).collect::<Vec<_>>()
                ));
                break;
            }
        };
        if let Err(e) = net.wait_node_at(victim, from, cfg.progress_within).await {
            stalls.push(format!("kill {k}: the restarted validator did not catch up: {e}"));
            break;
        }
        let crashed = net.crashed();
        if !crashed.is_empty() {
            stalls.push(format!("kill {k}: validators exited on their own: {crashed:?}"));
            break;
        }
        say(&format!(
            "kill {k}/{}: validator {}{} at height {at}, down {:.1} s; chain at {now}, validator {} back at {from}+ in {:.1} s; {} tx final so far",
            cfg.kills,
            victim + 1,
            if victim == leader { " (leader)" } else { "" },
            down.as_secs_f64(),
            victim + 1,
            restarted.elapsed().as_secs_f64(),
            load.progress.finalised.load(Ordering::Relaxed),
        ));
    }
    for s in &stalls {
        say(&format!("STALL: {s}"));
    }
    let progress = load.progress.clone();
    // Every validator must be up for the final comparison (a failed restart left one down).
    for i in 0..VALIDATORS {
        if !net.is_running(i) {
            let _ = net.start_node(i);
        }
    }
    say("draining the load…");
    let report = load.stop().await?;
    let resubmits = progress.resubmits.load(Ordering::Relaxed);
    let check = verify(&net, &report, cfg.progress_within).await;
    for p in check.problems.iter().take(20) {
        say(&format!("PROBLEM: {p}"));
    }
    for l in check.lost.iter().take(20) {
        say(&format!("LOST: {l}"));
    }
    if !check.reverted.is_empty() {
        say(&format!("{} final transactions reverted, e.g. {}", check.reverted.len(), check.reverted[0]));
    }
    let mut out = CampaignReport {
        seed: cfg.seed,
        kills,
        perturbations,
        created: report.txs.len() as u64,
        accepted: report.accepted(),
        finalised: report.finalised(),
        resubmits,
        check,
        stalls,
        elapsed: started.elapsed(),
        kept: None,
    };
    if cfg.perturb {
        say(&format!("{} perturbations", out.perturbations));
    }
    say(&format!(
        "load: {} tx created, {} accepted, {} final ({} resubmissions); {} heights compared on 4 validators; {:.0} s",
        out.created,
        out.accepted,
        out.finalised,
        out.resubmits,
        out.check.heights,
        out.elapsed.as_secs_f64()
    ));
    if !out.ok() && cfg.keep_on_failure {
        let dir = net.keep();
        say(&format!("devnet kept for inspection: {}", dir.display()));
        out.kept = Some(dir);
    }
    Ok(out)
}

/// One random network fault through the proxy, held for 1-5 s, then healed; the chain must
/// finalise new blocks after the heal and every validator catch up, within `within`.
async fn perturb(net: &Devnet, rng: &mut Rng, within: Duration) -> Result<String, String> {
    let proxy = net.proxy.as_ref().ok_or("the devnet has no proxy")?;
    let leader = net.latest_proposer().await;
    let what = match rng.below(4) {
        0 => {
            let ms = rng.range(20, 150);
            proxy.delay_all(Duration::from_millis(ms));
            format!("{ms} ms of latency on every link")
        }
        1 => {
            let v = rng.below(VALIDATORS as u64) as usize;
            proxy.isolate(v);
            format!("validator {} cut off", v + 1)
        }
        2 => {
            proxy.block_outbound(leader);
            format!("leader (validator {}) partitioned one way", leader + 1)
        }
        _ => {
            proxy.isolate(leader);
            format!("leader (validator {}) isolated", leader + 1)
        }
    };
    let held = Duration::from_millis(rng.range(1000, 5000));
    tokio::time::sleep(held).await;
    let at = net.max_height().await;
    proxy.heal();
    let healed = Instant::now();
    let now = net.wait_progress_past(at, within).await.map_err(|e| format!("{what}, healed: {e}"))?;
    for i in 0..VALIDATORS {
        net.wait_node_at(i, now, within).await.map_err(|e| format!("{what}, healed: {e}"))?;
    }
    Ok(format!(
        "{what} for {:.1} s at height {at}; healed, all at {now}+ in {:.1} s",
        held.as_secs_f64(),
        healed.elapsed().as_secs_f64()
    ))
}
