//! Faults with real processes: four `jjj-node` validators whose every connection to each other
//! goes through a fault proxy, under a utility-bills load (bills issued and paid), through
//! delay, a cut validator, a one-way partition of the leader, an isolated leader and a kill -9,
//! each healed in turn; then the bounded kill -9 campaign. The checks are black-box, over RPC:
//! one block per height everywhere, equal state roots at equal heights, every accepted
//! transaction final (or refused with a reason), and new blocks within a bound after each fault.
use jjj_tests::bills::{genesis_accounts, Bills};
use jjj_tests::chaos::{run_campaign, CampaignConfig};
use jjj_tests::check::verify;
use jjj_tests::devnet::{Devnet, DevnetConfig, NET, VALIDATORS};
use jjj_tests::load::{Load, LoadConfig};
use jjj_tests::rng::Rng;
use std::sync::Arc;
use std::time::Duration;

/// Each devnet runs four node processes: on a 2-core machine two at once only measure
/// contention, so the tests take turns.
static ONE_DEVNET_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long the chain may take to finalise again after a fault or a heal.
const BOUND: Duration = Duration::from_secs(60);

/// Waits for at least two new finalised blocks (the load keeps transactions coming, and blocks
/// are only made for transactions, so this is progress on the load).
async fn progress(net: &Devnet, what: &str) -> u64 {
    let from = net.max_height().await;
    let h1 = net.wait_progress_past(from, BOUND).await.unwrap_or_else(|e| panic!("{what}: {e}\n{}", net.logs(20)));
    let h2 = net.wait_progress_past(h1, BOUND).await.unwrap_or_else(|e| panic!("{what}: {e}\n{}", net.logs(20)));
    println!("{what}: finalised {from} -> {h2}");
    h2
}

/// Waits until every validator has reached the highest height any of them reports.
async fn all_caught_up(net: &Devnet, what: &str) {
    let target = net.max_height().await;
    for i in 0..VALIDATORS {
        net.wait_node_at(i, target, BOUND).await.unwrap_or_else(|e| panic!("{what}: {e}\n{}", net.logs(20)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_cut_one_way_partition_isolation_and_kill_keep_the_chain_safe_and_live() {
    let _turn = ONE_DEVNET_AT_A_TIME.lock().await;
    let residents = 4;
    let net = Devnet::start(DevnetConfig {
        base_port: 32500,
        view_timeout_ms: 500,
        accounts: genesis_accounts(residents),
        proxied: true,
    })
    .await
    .expect("devnet");
    let bills = Bills::deploy(&net.rpc(0).expect("rpc"), NET, residents).await.expect("deploy utility-bills");
    let load = Load::start(
        net.rpc_urls(),
        Arc::new(bills),
        LoadConfig {
            rate_per_s: 15.0,
            max_pending_per_sender: 32,
            resubmit_after: Duration::from_secs(3),
            seed: 7,
        },
        BOUND,
    )
    .expect("load");
    let proxy = net.proxy.as_ref().expect("a proxied devnet");
    let mut rng = Rng::new(20261130);
    progress(&net, "baseline through the proxies").await;

    // Latency on every link, different per direction (under the 500 ms view timeout).
    for a in 0..VALIDATORS {
        for b in 0..VALIDATORS {
            if a != b {
                proxy.delay(a, b, Duration::from_millis(rng.range(20, 120)));
            }
        }
    }
    progress(&net, "20-120 ms of latency on every link").await;
    proxy.heal();

    // One validator cut off from all others: three of four go on; healed, it catches up.
    let leader = net.latest_proposer().await;
    let follower = (leader + 1 + rng.below(3) as usize) % VALIDATORS;
    proxy.isolate(follower);
    progress(&net, &format!("validator {} cut off", follower + 1)).await;
    proxy.heal();
    progress(&net, "healed").await;
    all_caught_up(&net, &format!("validator {} catching up after the cut", follower + 1)).await;

    // One-way partition of the leader: it hears everyone, nobody hears it.
    let leader = net.latest_proposer().await;
    proxy.block_outbound(leader);
    progress(&net, &format!("leader (validator {}) partitioned one way", leader + 1)).await;
    proxy.heal();
    progress(&net, "healed").await;
    all_caught_up(&net, "every validator after the one-way partition").await;

    // The leader cut off entirely.
    let leader = net.latest_proposer().await;
    proxy.isolate(leader);
    progress(&net, &format!("leader (validator {}) isolated", leader + 1)).await;
    proxy.heal();
    progress(&net, "healed").await;
    all_caught_up(&net, "every validator after isolating the leader").await;

    // kill -9 of the leader under load, restart.
    let leader = net.latest_proposer().await;
    net.kill9(leader);
    progress(&net, &format!("leader (validator {}) killed", leader + 1)).await;
    net.start_node(leader).expect("restart");
    net.wait_rpc(leader, Duration::from_secs(30)).await.expect("restarted validator answers");
    progress(&net, "restarted").await;
    all_caught_up(&net, "the restarted validator").await;

    let stats = proxy.stats();
    println!("proxy: {stats:?}");
    assert!(stats.bytes_dropped > 0 && stats.refused > 0 && stats.closed_by_fault > 0, "the faults happened: {stats:?}");
    let report = load.stop().await.expect("load report");
    let check = verify(&net, &report, BOUND).await;
    println!(
        "{} tx created, {} accepted, {} final; {} checked on 4 validators over {} heights; {} reverted",
        report.txs.len(),
        report.accepted(),
        report.finalised(),
        check.checked_tx,
        check.heights,
        check.reverted.len()
    );
    assert!(check.same_blocks, "one block per height on every validator: {:?}", check.problems);
    assert!(check.roots_equal, "equal state roots at equal heights: {:?}", check.problems);
    assert!(check.lost.is_empty(), "accepted transactions lost: {:?}", check.lost);
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert!(report.drained, "every accepted transaction final");
    assert!(check.checked_tx > 50, "the load ran: {} final transactions checked", check.checked_tx);
    // Payments only follow final bills with the exact amount: none may revert.
    assert!(check.reverted.is_empty(), "{:?}", check.reverted);
}

/// The bounded version of `scripts/chaos.sh`: a few kills of random validators (the leader
/// included). `JJJ_CHAOS_SEED` repeats a given run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_campaign_loses_nothing_and_keeps_roots_equal() {
    let _turn = ONE_DEVNET_AT_A_TIME.lock().await;
    let seed = std::env::var("JJJ_CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261130);
    let mut cfg = CampaignConfig::new(4, seed);
    cfg.base_port = 32600;
    cfg.rate_per_s = 10.0;
    let report = run_campaign(cfg, &|line: &str| println!("{line}")).await.expect("campaign");
    println!("{}", report.summary());
    assert_eq!(report.kills, 4, "stalls: {:?}", report.stalls);
    assert!(report.stalls.is_empty(), "the chain must go on after every restart: {:?}", report.stalls);
    assert!(report.check.lost.is_empty(), "lost: {:?}", report.check.lost);
    assert!(report.check.same_blocks && report.check.roots_equal, "{:?}", report.check.problems);
    assert!(report.check.problems.is_empty(), "{:?}", report.check.problems);
    assert!(report.check.checked_tx > 20, "the load ran: {}", report.check.checked_tx);
    assert!(report.check.reverted.is_empty(), "{:?}", report.check.reverted);
}
