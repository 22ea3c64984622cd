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

/// Blocks finalised under each fault (the fault is held that long): enough that the first ones,
/// possibly agreed before the fault took hold, are not all there is.
const BLOCKS_PER_PHASE: u64 = 5;

/// Waits for `BLOCKS_PER_PHASE` new finalised blocks (blocks are only made for transactions, and
/// the load keeps them coming, so this is progress on the load); returns the heights before and
/// after.
async fn progress(net: &Devnet, what: &str) -> (u64, u64) {
    let from = net.max_height().await;
    let mut at = from;
    while at < from + BLOCKS_PER_PHASE {
        at = net.wait_progress_past(at, BOUND).await.unwrap_or_else(|e| panic!("{what}: {e}\n{}", net.logs(20)));
    }
    println!("{what}: finalised {from} -> {at}");
    (from, at)
}

/// Waits until every validator has reached the highest height any of them reports.
async fn all_caught_up(net: &Devnet, what: &str) {
    let target = net.max_height().await;
    for i in 0..VALIDATORS {
        net.wait_node_at(i, target, BOUND).await.unwrap_or_else(|e| panic!("{what}: {e}\n{}", net.logs(20)));
    }
}

/// The proposers (0-based validators) of blocks `from..=to`, read from validator `node`.
async fn proposers(net: &Devnet, node: usize, from: u64, to: u64) -> Vec<usize> {
    let mut out = Vec::new();
    for h in from..=to {
        let b = net
            .block(node, h)
            .await
            .expect("block")
            .unwrap_or_else(|| panic!("no block {h} on validator {}", node + 1));
        out.push(Devnet::validator_of(&b.header.proposer).expect("a validator proposed it"));
    }
    out
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
        LoadConfig { rate_per_s: 15.0, max_pending_per_sender: 32, resubmit_after: Duration::from_secs(3), seed: 7 },
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
    let cut_at = net.head(follower).await.expect("the cut validator still answers RPC").height;
    progress(&net, &format!("validator {} cut off", follower + 1)).await;
    // Sanity of the proxy: the cut validator heard nothing, so it can have finalised at most
    // what was already in flight.
    let stuck = net.head(follower).await.expect("head").height;
    assert!(stuck <= cut_at + 1, "validator {} finalised {cut_at} -> {stuck} while cut off", follower + 1);
    proxy.heal();
    progress(&net, "healed").await;
    all_caught_up(&net, &format!("validator {} catching up after the cut", follower + 1)).await;

    // One-way partition of the leader: it hears everyone, nobody hears it.
    let leader = net.latest_proposer().await;
    proxy.block_outbound(leader);
    let (from, to) = progress(&net, &format!("leader (validator {}) partitioned one way", leader + 1)).await;
    // Nobody hears it, so the others went on under another leader: past the first two blocks
    // (which may have been proposed before the partition), none is its.
    let other = (leader + 1) % VALIDATORS;
    let by = proposers(&net, other, from + 3, to).await;
    assert!(
        !by.contains(&leader),
        "blocks {}..={to} were proposed by {by:?}; validator {} could not be heard",
        from + 3,
        leader + 1
    );
    proxy.heal();
    progress(&net, "healed").await;
    all_caught_up(&net, "every validator after the one-way partition").await;

    // The leader cut off entirely.
    let leader = net.latest_proposer().await;
    proxy.isolate(leader);
    let (from, to) = progress(&net, &format!("leader (validator {}) isolated", leader + 1)).await;
    let other = (leader + 1) % VALIDATORS;
    let by = proposers(&net, other, from + 3, to).await;
    assert!(
        !by.contains(&leader),
        "blocks {}..={to} were proposed by {by:?}; validator {} was isolated",
        from + 3,
        leader + 1
    );
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
    assert!(
        stats.bytes_dropped > 0 && stats.refused > 0 && stats.closed_by_fault > 0,
        "the faults happened: {stats:?}"
    );
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
