//! Faults with real processes, under a utility-bills load (bills issued and paid):
//! - four `jjj-node` validators whose every connection to each other goes through a fault
//!   proxy, through delay, a cut validator, a one-way partition of the leader, an isolated
//!   leader and a kill -9, each healed in turn;
//! - an abusive client hammering one validator;
//! - two of four validators killed at once (quorum lost, then back);
//! - a validator removed, and one added, by governance at a stated height, under load (the new
//!   set decides from there; the auditor checks each certificate against the set of its height);
//! - the bounded kill -9 campaign with random perturbations (`scripts/chaos.sh --perturb`).
//!
//! The checks are black-box, over RPC: one block per height everywhere, equal state roots at
//! equal heights, every accepted transaction final (or refused with a reason), and new blocks
//! within a bound after each fault.
use jjj_rpc_api::NodeApiClient;
use jjj_tests::bills::{genesis_accounts, Bills};
use jjj_tests::chaos::{run_campaign, CampaignConfig};
use jjj_tests::check::verify;
use jjj_tests::devnet::{proposal_id, Devnet, DevnetConfig, NET, VALIDATORS};
use jjj_tests::load::{Load, LoadConfig};
use jjj_tests::rng::Rng;
use std::sync::atomic::Ordering;
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

/// ...and load transactions seen final under it, so a phase spans many consensus rounds.
const TXS_PER_PHASE: u64 = 40;

/// Waits for `BLOCKS_PER_PHASE` new finalised blocks and `TXS_PER_PHASE` more of the load's
/// transactions final, each step bounded; returns the heights before and after.
async fn progress(net: &Devnet, load: &Load, what: &str) -> (u64, u64) {
    let from = net.max_height().await;
    let txs_from = load.progress.finalised.load(Ordering::Relaxed);
    let mut at = from;
    while at < from + BLOCKS_PER_PHASE || load.progress.finalised.load(Ordering::Relaxed) < txs_from + TXS_PER_PHASE {
        at = net.wait_progress_past(at, BOUND).await.unwrap_or_else(|e| panic!("{what}: {e}\n{}", net.logs(60)));
        // Blocks only carry the load's transactions, so the follower must be seeing them.
        assert!(at < from + 500, "{what}: 500 blocks without {TXS_PER_PHASE} load transactions seen final");
    }
    let txs = load.progress.finalised.load(Ordering::Relaxed) - txs_from;
    println!("{what}: finalised {from} -> {at}, {txs} load transactions");
    (from, at)
}

/// Waits until every validator has reached the highest height any of them reports.
async fn all_caught_up(net: &Devnet, what: &str) {
    let target = net.max_height().await;
    for i in 0..VALIDATORS {
        net.wait_node_at(i, target, BOUND).await.unwrap_or_else(|e| panic!("{what}: {e}\n{}", net.logs(60)));
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

/// Residents paying bills in the load of these tests.
const RESIDENTS: usize = 4;

/// Starts the devnet, deploys utility-bills and starts the bill load (15 tx/s) with `seed`.
async fn loaded_devnet(cfg: DevnetConfig, seed: u64) -> (Devnet, Load) {
    let net = Devnet::start(cfg).await.expect("devnet");
    let bills = Bills::deploy(&net.rpc(0).expect("rpc"), NET, RESIDENTS).await.expect("deploy utility-bills");
    let load = Load::start(
        net.rpc_urls(),
        Arc::new(bills),
        LoadConfig { rate_per_s: 15.0, max_pending_per_sender: 32, resubmit_after: Duration::from_secs(3), seed },
        BOUND,
    )
    .expect("load");
    (net, load)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_cut_one_way_partition_isolation_and_kill_keep_the_chain_safe_and_live() {
    let _turn = ONE_DEVNET_AT_A_TIME.lock().await;
    let (net, load) = loaded_devnet(
        DevnetConfig {
            base_port: 32500,
            view_timeout_ms: 500,
            accounts: genesis_accounts(RESIDENTS),
            proxied: true,
            followers: vec![],
            web_dir: None,
        },
        7,
    )
    .await;
    let proxy = net.proxy.as_ref().expect("a proxied devnet");
    let mut rng = Rng::new(20261130);
    progress(&net, &load, "baseline through the proxies").await;

    // Latency on every link, different per direction (under the 500 ms view timeout).
    for a in 0..VALIDATORS {
        for b in 0..VALIDATORS {
            if a != b {
                proxy.delay(a, b, Duration::from_millis(rng.range(20, 120)));
            }
        }
    }
    progress(&net, &load, "20-120 ms of latency on every link").await;
    proxy.heal();

    // One validator cut off from all others: three of four go on; healed, it catches up.
    let leader = net.latest_proposer().await;
    let follower = (leader + 1 + rng.below(3) as usize) % VALIDATORS;
    proxy.isolate(follower);
    let cut_at = net.head(follower).await.expect("the cut validator still answers RPC").height;
    progress(&net, &load, &format!("validator {} cut off", follower + 1)).await;
    // Sanity of the proxy: the cut validator heard nothing, so it can have finalised at most
    // what was already in flight.
    let stuck = net.head(follower).await.expect("head").height;
    assert!(stuck <= cut_at + 1, "validator {} finalised {cut_at} -> {stuck} while cut off", follower + 1);
    proxy.heal();
    progress(&net, &load, "healed").await;
    all_caught_up(&net, &format!("validator {} catching up after the cut", follower + 1)).await;

    // One-way partition of the leader: it hears everyone, nobody hears it.
    let leader = net.latest_proposer().await;
    proxy.block_outbound(leader);
    let (from, to) = progress(&net, &load, &format!("leader (validator {}) partitioned one way", leader + 1)).await;
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
    progress(&net, &load, "healed").await;
    all_caught_up(&net, "every validator after the one-way partition").await;

    // The leader cut off entirely.
    let leader = net.latest_proposer().await;
    proxy.isolate(leader);
    let (from, to) = progress(&net, &load, &format!("leader (validator {}) isolated", leader + 1)).await;
    let other = (leader + 1) % VALIDATORS;
    let by = proposers(&net, other, from + 3, to).await;
    assert!(
        !by.contains(&leader),
        "blocks {}..={to} were proposed by {by:?}; validator {} was isolated",
        from + 3,
        leader + 1
    );
    proxy.heal();
    progress(&net, &load, "healed").await;
    all_caught_up(&net, "every validator after isolating the leader").await;

    // kill -9 of the leader under load, restart.
    let leader = net.latest_proposer().await;
    net.kill9(leader);
    progress(&net, &load, &format!("leader (validator {}) killed", leader + 1)).await;
    net.start_node(leader).expect("restart");
    net.wait_rpc(leader, Duration::from_secs(30)).await.expect("restarted validator answers");
    progress(&net, &load, "restarted").await;
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

    // The checker is not vacuous: a transaction recorded at the wrong height, or a block hash
    // other than the validators', is caught.
    let mut forged = report;
    let t = forged.txs.iter_mut().find(|t| t.final_height.is_some()).expect("a final transaction");
    t.final_height = t.final_height.map(|h| h + 1);
    let h = *forged.seen_blocks.keys().next().expect("a block seen");
    forged.seen_blocks.insert(h, format!("0x{}", "00".repeat(32)));
    let caught = verify(&net, &forged, BOUND).await;
    assert_eq!(caught.lost.len(), 1, "{:?}", caught.lost);
    assert!(!caught.same_blocks, "a different block at height {h} must be reported");
}

/// The bounded version of `scripts/chaos.sh --perturb`: a few kills of random validators (the
/// leader included), with random network perturbations between them. `JJJ_CHAOS_SEED` repeats
/// a given run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_campaign_loses_nothing_and_keeps_roots_equal() {
    let _turn = ONE_DEVNET_AT_A_TIME.lock().await;
    let seed = std::env::var("JJJ_CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261130);
    let mut cfg = CampaignConfig::new(4, seed);
    cfg.base_port = 32600;
    cfg.rate_per_s = 10.0;
    // Through the fault proxy, with random perturbations between the kills.
    cfg.perturb = true;
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

/// Requests of the abusive client that a node accepted (must stay 0) and refused.
#[derive(Default)]
struct AbuseCount {
    sent: std::sync::atomic::AtomicU64,
    accepted: std::sync::atomic::AtomicU64,
}

/// One client hammers validator 1 with junk while the bill load goes on through all four:
/// garbage, bad signatures, unknown senders, a sender filling its mempool quota with nonces that
/// can never execute, oversize bodies, and hundreds of receipt long-polls held open. The chain
/// must keep finalising, the abused validator must keep answering, and nothing of the real load
/// may be lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abusive_client_does_not_stop_the_chain() {
    use jjj_crypto::Keypair;
    use jjj_primitives::{Call, NetworkId, Transaction};
    use jjj_rpc_api::{hex0x, NodeApiClient};
    use parity_scale_codec::Encode;
    use std::sync::atomic::AtomicBool;

    let _turn = ONE_DEVNET_AT_A_TIME.lock().await;
    let residents = 4;
    let mut accounts = genesis_accounts(residents);
    accounts.push(("spammer".into(), 1_000_000_000));
    let net = Devnet::start(DevnetConfig::direct(32700, accounts)).await.expect("devnet");
    let bills = Bills::deploy(&net.rpc(1).expect("rpc"), NET, residents).await.expect("deploy utility-bills");
    let load = Load::start(
        net.rpc_urls(),
        Arc::new(bills),
        LoadConfig { rate_per_s: 15.0, max_pending_per_sender: 32, resubmit_after: Duration::from_secs(3), seed: 11 },
        BOUND,
    )
    .expect("load");
    progress(&net, &load, "before the abuse").await;

    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AbuseCount::default());
    let victim = net.rpc(0).expect("rpc");
    let rpc_port: u16 = 32710;
    let net_id = NetworkId::new(NET).expect("id");
    let spammer = jjj_tests::dev_key("spammer");
    let stranger = jjj_tests::dev_key("nobody-funded-me");
    let sink = jjj_tests::dev_key("bills-provider").account();
    let mut tasks = Vec::new();
    // Junk submissions, four at a time.
    for w in 0..4u64 {
        let (stop, count, rpc, net_id, spammer, stranger) =
            (stop.clone(), count.clone(), victim.clone(), net_id.clone(), spammer.clone(), stranger.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                i += 4;
                let tx = |key: &Keypair, nonce: u64| {
                    key.sign_tx(Transaction {
                        network: net_id.clone(),
                        sender: key.account(),
                        nonce,
                        gas_limit: 100_000,
                        call: Call::Transfer { to: sink, amount: 1 },
                    })
                };
                let body = match i % 4 {
                    0 => "0xdeadbeef".to_string(),
                    1 => {
                        let mut bad = tx(&spammer, 0);
                        bad.signatures[0].signature[i as usize % 64] ^= 1;
                        hex0x(&bad.encode())
                    }
                    2 => hex0x(&tx(&stranger, 0).encode()),
                    // Nonce 0 is never sent: these can never execute and only fill the
                    // spammer's own share of the mempool (and then get refused).
                    _ => hex0x(&tx(&spammer, 1 + i % 5000).encode()),
                };
                count.sent.fetch_add(1, Ordering::Relaxed);
                let r = tokio::time::timeout(Duration::from_secs(10), rpc.api().submit_tx(NET.into(), body)).await;
                if matches!(r, Ok(Ok(_))) && i % 4 != 3 {
                    count.accepted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // Long-polls for receipts that will never exist, held open.
    for k in 0..200u64 {
        let (stop, rpc) = (stop.clone(), victim.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let hash = format!("0x{:064x}", k);
                let _ =
                    tokio::time::timeout(Duration::from_secs(70), rpc.api().receipt(NET.into(), hash, Some(60_000)))
                        .await;
            }
        }));
    }
    // Oversize bodies over raw HTTP.
    {
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let body = vec![b'x'; 8 * 1024 * 1024];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", rpc_port)).await {
                    let head = format!(
                        "POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(head.as_bytes()).await;
                    let _ = s.write_all(&body).await;
                    let mut out = Vec::new();
                    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }));
    }
    progress(&net, &load, "validator 1 under abuse").await;
    let health = tokio::time::timeout(Duration::from_secs(10), victim.api().health()).await;
    assert!(matches!(health, Ok(Ok(ref h)) if h.ok), "the abused validator still answers: {health:?}");
    stop.store(true, Ordering::Relaxed);
    for t in &tasks {
        t.abort();
    }
    let sent = count.sent.load(Ordering::Relaxed);
    println!("abusive client: {sent} junk submissions, 200 receipt long-polls, oversize bodies");
    assert!(sent > 100, "the abuse ran: {sent} submissions");
    assert_eq!(count.accepted.load(Ordering::Relaxed), 0, "junk was admitted to the mempool");
    progress(&net, &load, "after the abuse").await;

    // An operator's stop under load: SIGTERM ends the process cleanly (status 0: a stop in the
    // middle of a commit once aborted in RocksDB's destructors), and it rejoins on restart.
    let status = net.stop(2, Duration::from_secs(60)).await.expect("stop validator 3");
    assert!(status.success(), "validator 3 exited with {status}:\n{}", net.log_tail(2, 20));
    net.start_node(2).expect("restart validator 3");
    net.wait_rpc(2, Duration::from_secs(30)).await.expect("validator 3 answers again");
    progress(&net, &load, "validator 3 stopped and restarted").await;

    let report = load.stop().await.expect("load report");
    let check = verify(&net, &report, BOUND).await;
    println!(
        "{} tx created, {} final; {} checked on 4 validators over {} heights",
        report.txs.len(),
        report.finalised(),
        check.checked_tx,
        check.heights
    );
    assert!(check.ok(), "lost {:?}; problems {:?}", check.lost, check.problems);
    assert!(report.drained, "every accepted transaction final");
    assert!(check.reverted.is_empty(), "{:?}", check.reverted);
}

/// Two of four validators killed at once (more than f = 1): no quorum, so the other two must
/// not finalise anything new (nothing is lost, nothing forks); once both are back, the chain
/// resumes within the bound, however many views timed out meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_quorum_halts_without_forking_and_the_chain_resumes_when_it_returns() {
    let _turn = ONE_DEVNET_AT_A_TIME.lock().await;
    let (net, load) = loaded_devnet(
        DevnetConfig {
            base_port: 31900,
            view_timeout_ms: 500,
            accounts: genesis_accounts(RESIDENTS),
            proxied: false,
            followers: vec![],
            web_dir: None,
        },
        5,
    )
    .await;
    progress(&net, &load, "four validators").await;
    let leader = net.latest_proposer().await;
    let other = (leader + 2) % VALIDATORS;
    net.kill9(leader);
    net.kill9(other);
    let alive: Vec<usize> = (0..VALIDATORS).filter(|i| *i != leader && *i != other).collect();
    let mut stopped_at = 0;
    for i in &alive {
        stopped_at = stopped_at.max(net.head(*i).await.expect("head").height);
    }
    // The outage is held long enough for several views to time out (500 ms, doubling) while
    // the load keeps submitting.
    tokio::time::sleep(Duration::from_secs(15)).await;
    for i in &alive {
        let h = net.head(*i).await.expect("head").height;
        // A block already committed by some before the kill may still complete: at most one.
        assert!(h <= stopped_at + 1, "validator {} finalised {stopped_at} -> {h} without a quorum", i + 1);
    }
    println!("validators {} and {} down: the others stayed at {stopped_at}", leader + 1, other + 1);
    net.start_node(leader).expect("restart");
    net.start_node(other).expect("restart");
    net.wait_rpc(leader, Duration::from_secs(30)).await.expect("restarted validator answers");
    net.wait_rpc(other, Duration::from_secs(30)).await.expect("restarted validator answers");
    progress(&net, &load, "both back").await;
    let report = load.stop().await.expect("load report");
    let check = verify(&net, &report, BOUND).await;
    println!(
        "{} tx final; {} checked on 4 validators over {} heights",
        report.finalised(),
        check.checked_tx,
        check.heights
    );
    assert!(check.ok(), "lost {:?}; problems {:?}", check.lost, check.problems);
    assert!(report.drained, "every accepted transaction final");
    assert!(check.reverted.is_empty(), "{:?}", check.reverted);
}

/// Governance removes a validator at a stated height while bills are paid: from that height the
/// other three decide alone (their certificates name no one else and verify against the set of
/// their height), the removed validator stops signing but keeps following, and the auditor's
/// replay checks every certificate against the set in force at its height.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_removed_by_governance_stops_signing_from_the_stated_height() {
    let _turn = ONE_DEVNET_AT_A_TIME.lock().await;
    let (net, load) = loaded_devnet(
        DevnetConfig {
            base_port: 31600,
            view_timeout_ms: 500,
            accounts: genesis_accounts(RESIDENTS),
            proxied: false,
            followers: vec![],
            web_dir: None,
        },
        11,
    )
    .await;
    progress(&net, &load, "four validators").await;

    // Beijing proposes the set without validator 4 from a height well ahead; Tianjin approves.
    let id = Devnet::validator_id;
    let from = net.max_height().await + 30;
    let jjj = |args: &[&str]| net.jjj_ok(0, args);
    let key = |name: &str| net.key_file(name);
    let from_text = from.to_string();
    let (v1, v2, v3) = (id(0), id(1), id(2));
    let text = jjj(&[
        "proposal",
        "new",
        "--key",
        &key("beijing-admin"),
        "set-validators",
        "--validator",
        &v1,
        "--validator",
        &v2,
        "--validator",
        &v3,
        "--from-height",
        &from_text,
    ]);
    let pid = proposal_id(&text);
    let text = jjj(&["proposal", "approve", &pid, "--key", &key("tianjin-admin")]);
    assert!(text.contains("executed"), "{text}");

    // Past the switch under load; validator 4 follows without signing.
    while net.max_height().await < from + 10 {
        progress(&net, &load, "three validators after the switch").await;
    }
    let removed = id(3);
    let rpc = net.rpc(0).expect("rpc");
    for h in from - 3..from + 10 {
        let cert = rpc.api().certificate(NET.into(), h).await.expect("certificate").expect("final");
        assert!(cert.verified, "height {h}: the node verifies it against the set of its height");
        if h >= from {
            assert!(!cert.signers.contains(&removed), "height {h}: signed by the removed validator");
            assert_eq!(cert.signers.len(), 3, "height {h}: {:?}", cert.signers);
        }
    }
    let health = net.rpc(3).expect("rpc").api().health().await.expect("health");
    assert!(health.networks.iter().all(|n| !n.validator), "the removed node no longer says it validates");

    // A validator killed and restarted after the switch counts with the set of its height (with
    // the genesis set it would expect another leader and another quorum, and three validators
    // need all three).
    net.kill9(0);
    net.start_node(0).expect("restart");
    net.wait_rpc(0, Duration::from_secs(30)).await.expect("restarted validator answers");
    progress(&net, &load, "validator 1 restarted after the switch").await;
    all_caught_up(&net, "every node after the restart").await;

    // The auditor replays from genesis against the removed node itself.
    drain_and_audit(&net, load, 3).await;
}

/// Governance adds a validator while bills are paid: node 4 follows a network whose genesis
/// set is nodes 1–3, starts consensus once the change is final, and from the stated height it
/// signs and counts — proved by killing node 2: three of the four (the newcomer among them)
/// keep finalising, which the three genesis validators alone could not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_added_by_governance_signs_from_the_stated_height() {
    let _turn = ONE_DEVNET_AT_A_TIME.lock().await;
    let (net, load) = loaded_devnet(
        DevnetConfig {
            base_port: 31700,
            view_timeout_ms: 500,
            accounts: genesis_accounts(RESIDENTS),
            proxied: false,
            followers: vec![3],
            web_dir: None,
        },
        13,
    )
    .await;
    progress(&net, &load, "three genesis validators, node 4 following").await;
    let health = net.rpc(3).expect("rpc").api().health().await.expect("health");
    assert!(health.networks.iter().all(|n| !n.validator), "node 4 follows at first");

    let id = Devnet::validator_id;
    let key = |name: &str| net.key_file(name);
    let jjj = |args: &[&str]| net.jjj_ok(0, args);
    let from = net.max_height().await + 30;
    let from_text = from.to_string();
    let ids: Vec<String> = (0..4).map(id).collect();
    let beijing = key("beijing-admin");
    let mut args = vec!["proposal", "new", "--key", beijing.as_str(), "set-validators"];
    for v in &ids {
        args.extend(["--validator", v.as_str()]);
    }
    args.extend(["--from-height", &from_text]);
    let text = jjj(&args);
    let pid = proposal_id(&text);
    assert!(jjj(&["proposal", "approve", &pid, "--key", &key("tianjin-admin")]).contains("executed"));

    while net.max_height().await < from + 10 {
        progress(&net, &load, "four validators after the switch").await;
    }
    let health = net.rpc(3).expect("rpc").api().health().await.expect("health");
    assert!(health.networks.iter().all(|n| n.validator), "node 4 validates now");
    let rpc = net.rpc(0).expect("rpc");
    let mut signed_by_newcomer = 0;
    for h in from..from + 10 {
        let cert = rpc.api().certificate(NET.into(), h).await.expect("certificate").expect("final");
        assert!(cert.verified, "height {h}");
        signed_by_newcomer += usize::from(cert.signers.contains(&ids[3]));
    }
    assert!(signed_by_newcomer > 0, "node 4 signed none of heights {from}..{}", from + 10);

    // With node 2 down, the chain goes on only because node 4 votes (3 of 4).
    net.kill9(1);
    progress(&net, &load, "node 2 down: nodes 1, 3 and 4 decide").await;
    net.start_node(1).expect("restart");
    net.wait_rpc(1, Duration::from_secs(30)).await.expect("restarted validator answers");
    progress(&net, &load, "node 2 back").await;
    all_caught_up(&net, "every node after the restart").await;

    drain_and_audit(&net, load, 0).await;
}

/// Stops the load; checks that nothing accepted was lost, the validators agree and every accepted
/// transaction is final; then replays the history from genesis against node `audited`, each
/// certificate checked against the set governance scheduled for its height.
async fn drain_and_audit(net: &Devnet, load: Load, audited: usize) {
    let report = load.stop().await.expect("load report");
    let check = verify(net, &report, BOUND).await;
    assert!(check.ok(), "lost {:?}; problems {:?}", check.lost, check.problems);
    assert!(report.drained, "every accepted transaction final");
    let genesis = net.dir.join(format!("genesis-{NET}.json")).display().to_string();
    let audit = net.jjj_ok(audited, &["audit", "replay", "--genesis", &genesis]);
    assert!(audit.contains("1 set change(s) followed"), "{audit}");
    println!("{audit}");
}
