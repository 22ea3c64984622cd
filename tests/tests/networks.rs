//! The region's four networks on six nodes (`jjj network init --preset jingjinji`), as real
//! processes: each network finalises its own transactions with its own regions' validators, a
//! transfer on one leaves the others' ledgers untouched, and a node outside a network refuses
//! that network's transactions, naming what it serves.
use jjj_rpc_api::{NodeApiClient, Rpc};
use jjj_tests::{bin, suite};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const P2P: u16 = 31300;
const RPC: u16 = 31310;
const METRICS: u16 = 31320;
const NODES: usize = 6;
/// Each network and its nodes (1-based; 0 pads).
const NETWORKS: [(&str, [usize; 6]); 4] = [
    ("jingjin", [1, 2, 3, 4, 0, 0]),
    ("jingji", [1, 2, 5, 6, 0, 0]),
    ("jinji", [3, 4, 5, 6, 0, 0]),
    ("jingjinji", [1, 2, 3, 4, 5, 6]),
];

/// The six node processes, killed when the test ends however it ends.
struct Nodes(Vec<Child>);

impl Nodes {
    /// Starts `jjj-node --config CONFIG`, its log in `log`.
    fn start(&mut self, config: &Path, log: &Path) {
        let log = std::fs::File::create(log).expect("log");
        let child = Command::new(bin("jjj-node"))
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn jjj-node");
        self.0.push(child);
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn jjj(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin("jjj")).current_dir(dir).args(args).output().expect("run jjj")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn rpc_url(node: usize) -> String {
    format!("http://127.0.0.1:{}", RPC + node as u16 - 1)
}

/// The finalised height of `network` on `node` (1-based), if the node serves it.
async fn height(node: usize, network: &str) -> Option<u64> {
    let rpc = Rpc::new(&rpc_url(node)).ok()?;
    rpc.api().finalized_head(network.into()).await.ok().map(|h| h.height)
}

async fn balance(node: usize, network: &str, account: &str) -> Option<u64> {
    let rpc = Rpc::new(&rpc_url(node)).ok()?;
    rpc.api().account(network.into(), account.into()).await.ok().map(|a| a.balance)
}

/// `jjj transfer` of `amount` fen from `payer`'s key to `to` on `network`, sent to `node`.
fn transfer(dir: &Path, node: usize, network: &str, payer: &str, to: &str, amount: u64) -> Output {
    let key = dir.join(format!("keys/{payer}.key"));
    let key = key.to_string_lossy();
    let amount = amount.to_string();
    jjj(
        dir,
        &["--rpc", &rpc_url(node), "--network", network, "transfer", "--key", &key, "--to", to, "--amount", &amount],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_networks_on_six_nodes_each_with_its_own_validators_and_ledger() {
    let tmp = tempfile::Builder::new().prefix("jjj-jingjinji.").tempdir().expect("tempdir");
    let dir = tmp.path();
    let init = Command::new(bin("jjj"))
        .args(["network", "init", "--preset", "jingjinji", "--dev-keys", "--crypto", suite().name()])
        .arg("--dir")
        .arg(dir)
        .args(["--p2p-port", &P2P.to_string(), "--rpc-port", &RPC.to_string()])
        .args(["--metrics-port", &METRICS.to_string(), "--view-timeout-ms", "1000"])
        // A payer per region, and an account with no member, which every network holds.
        .args(["--account", "beijing-payer=1000000@beijing", "--account", "tianjin-payer=1000000@tianjin"])
        .args(["--account", "hebei-payer=1000000@hebei", "--account", "everyone=0"])
        .output()
        .expect("jjj network init");
    assert!(init.status.success(), "init: {}", text(&init));

    let mut nodes = Nodes(Vec::new());
    for i in 1..=NODES {
        nodes.start(&dir.join(format!("validator-{i}.toml")), &dir.join(format!("validator-{i}.log")));
    }
    let logs = || {
        (1..=NODES)
            .map(|i| {
                let t = std::fs::read_to_string(dir.join(format!("validator-{i}.log"))).unwrap_or_default();
                let tail: Vec<&str> = t.lines().rev().take(8).collect();
                format!("--- validator-{i}\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };

    // Every node serves exactly its networks.
    let deadline = Instant::now() + Duration::from_secs(60);
    for (network, members) in NETWORKS {
        for node in 1..=NODES {
            let serves = members.contains(&node);
            while height(node, network).await.is_some() != serves {
                let what = if serves { "does not answer for" } else { "answers for" };
                assert!(Instant::now() < deadline, "node {node} {what} {network}\n{}", logs());
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    // A transfer on each network (a different amount each), sent to one of its nodes: final on
    // every node of that network, and no other network's ledger sees it.
    let to = jjj_tests::dev_key("everyone").account().to_string();
    let mut tx_hashes = Vec::new();
    for (k, (network, members)) in NETWORKS.iter().enumerate() {
        let payer = if *network == "jinji" { "tianjin-payer" } else { "beijing-payer" };
        let out = transfer(dir, members[k], network, payer, &to, 100 + k as u64);
        assert!(out.status.success(), "transfer on {network} via node {}: {}\n{}", members[k], text(&out), logs());
        let printed = text(&out);
        let tx = printed.split("(tx ").nth(1).and_then(|t| t.split(')').next()).expect("the transfer names its tx");
        tx_hashes.push(tx.to_string());
    }
    // An auditor verifies each receipt from a proof another node of the network sends, against
    // its own copy of the genesis: the Merkle branch and the certificate.
    for (k, (network, members)) in NETWORKS.iter().enumerate() {
        let genesis = dir.join(format!("genesis-{network}.json"));
        let node = members[(k + 1) % 4];
        let saved = dir.join(format!("proof-{network}.json"));
        let (genesis, saved) = (genesis.to_string_lossy().to_string(), saved.to_string_lossy().to_string());
        let out = jjj(
            dir,
            &["--rpc", &rpc_url(node), "audit", "receipt", &tx_hashes[k], "--genesis", &genesis, "--out", &saved],
        );
        assert!(out.status.success() && text(&out).contains("verified"), "{network}: {}", text(&out));
        // The saved proof checks offline, with no node at all.
        let out = jjj(dir, &["audit", "verify-receipt", &saved, "--genesis", &genesis]);
        assert!(out.status.success() && text(&out).contains("verified"), "{network} offline: {}", text(&out));
        // The same transaction is no receipt of another network.
        let other = NETWORKS[(k + 1) % 4].0;
        let genesis = dir.join(format!("genesis-{other}.json"));
        let node = NETWORKS[(k + 1) % 4].1[0];
        let out = jjj(
            dir,
            &["--rpc", &rpc_url(node), "audit", "receipt", &tx_hashes[k], "--genesis", &genesis.to_string_lossy()],
        );
        assert!(!out.status.success(), "{network}'s transaction verified on {other}: {}", text(&out));
    }
    for (k, (network, members)) in NETWORKS.iter().enumerate() {
        for node in members.iter().copied().filter(|n| *n > 0) {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let got = balance(node, network, &to).await;
                if got == Some(100 + k as u64) {
                    break;
                }
                assert!(Instant::now() < deadline, "{network} on node {node}: balance {got:?}\n{}", logs());
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    // Isolation on the wire: no node was sent a message of a network it does not serve, and no
    // network took one from a node outside it.
    for node in 1..=NODES {
        let rpc = Rpc::new(&rpc_url(node)).expect("rpc");
        let health = rpc.api().health().await.expect("health");
        assert_eq!(health.unserved_network_messages, 0, "node {node} was sent another network's data");
        for n in &health.networks {
            assert_eq!(n.refused_outsider_messages, 0, "node {node}, {}: messages from outside", n.network);
        }
    }

    // A node outside a network refuses its transactions, naming what it serves.
    let out = transfer(dir, 5, "jingjin", "hebei-payer", &to, 1);
    let t = text(&out);
    assert!(!out.status.success(), "node 5 (Hebei) took a 京津 transaction: {t}");
    assert!(t.contains("does not serve network") && t.contains("jingji") && t.contains("jinji"), "{t}");
    // An account of a region outside a network is not on it: Hebei's payer on 京津.
    let out = transfer(dir, 1, "jingjin", "hebei-payer", &to, 1);
    assert!(!out.status.success(), "a Hebei account paid on 京津: {}", text(&out));
}

/// Four member organisations assemble a network the way real members do: each makes its own
/// node and admin keys in its own directory, only public keys and addresses go into the genesis
/// (`jjj genesis new / add-member / add-validator / add-account`), each checks the genesis hash,
/// writes its own node config from it and starts its validator on an address of its own
/// (127.0.0.2 … 127.0.0.5): nothing assumes one host, and the network finalises a transfer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_assemble_a_genesis_from_public_keys_and_run_on_their_own_addresses() {
    const P2P_PORT: u16 = 31400;
    const RPC_PORT: u16 = 31410;
    let tmp = tempfile::Builder::new().prefix("jjj-members.").tempdir().expect("tempdir");
    let root = tmp.path();
    let scheme = if suite().name().starts_with("sm2") { "sm2" } else { "ed25519" };
    let run = |dir: &Path, args: &[&str]| -> String {
        let out = jjj(dir, args);
        assert!(out.status.success(), "jjj {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // (member, region, its node's host): Beijing runs two validators.
    let members = [("beijing", "京", "127.0.0.2"), ("tianjin", "津", "127.0.0.3"), ("hebei", "冀", "127.0.0.4")];
    let hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];
    let owner_of = |node: usize| members[node.min(2)].0;
    let mut node_ids = Vec::new();
    for (node, _) in hosts.iter().enumerate() {
        let dir = root.join(format!("node-{}", node + 1));
        std::fs::create_dir_all(&dir).expect("dir");
        run(&dir, &["key", "new", "--out", "node.key", "--scheme", scheme]);
        node_ids.push(run(&dir, &["key", "show", "node.key"]));
    }
    let mut admin_ids = Vec::new();
    for (member, _, _) in members {
        let dir = root.join(member);
        std::fs::create_dir_all(&dir).expect("dir");
        run(&dir, &["key", "new", "--out", "admin.key", "--scheme", scheme]);
        admin_ids.push(run(&dir, &["key", "show", "admin.key"]));
    }

    // The draft, from public keys only.
    let g = root.join("genesis-jjj.json");
    let g_str = g.to_string_lossy().to_string();
    run(root, &["genesis", "new", "jjj", "--crypto", suite().name(), "--file", &g_str]);
    for ((member, region, _), admin) in members.iter().zip(&admin_ids) {
        let name = format!("{member} bureau");
        run(
            root,
            &["genesis", "add-member", member, "--region", region, "--name", &name, "--admin", admin, "--file", &g_str],
        );
    }
    for (node, id) in node_ids.iter().enumerate() {
        let addr = format!("{}:{P2P_PORT}", hosts[node]);
        let name = format!("{}-{}", owner_of(node), node + 1);
        run(root, &["genesis", "add-validator", &name, "--addr", &addr, "--key", id, "--file", &g_str]);
    }
    // Beijing's admin key doubles as a funded account here.
    let payer = &admin_ids[0];
    run(
        root,
        &[
            "genesis",
            "add-account",
            "payer",
            "--key",
            payer,
            "--member",
            "beijing",
            "--balance",
            "1000000",
            "--file",
            &g_str,
        ],
    );
    // A key of the wrong kind and an unknown member are refused with reasons.
    let bad = jjj(root, &["genesis", "add-account", "x", "--key", "0x12", "--member", "beijing", "--file", &g_str]);
    assert!(!bad.status.success() && text(&bad).contains("not 32 bytes"), "{}", text(&bad));
    let bad =
        jjj(root, &["genesis", "add-account", "y", "--key", &admin_ids[1], "--member", "macau", "--file", &g_str]);
    assert!(!bad.status.success() && text(&bad).contains("no member macau"), "{}", text(&bad));

    // Every member checks the same hash, then writes its own node config.
    let hashes: Vec<String> = hosts
        .iter()
        .enumerate()
        .map(|(node, _)| {
            let dir = root.join(format!("node-{}", node + 1));
            let out = run(&dir, &["genesis", "check", "--file", &g_str]);
            out.lines().last().unwrap_or_default().to_string()
        })
        .collect();
    assert!(hashes[0].starts_with("genesis hash 0x") && hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
    let mut nodes = Nodes(Vec::new());
    for (node, host) in hosts.iter().enumerate() {
        let dir = root.join(format!("node-{}", node + 1));
        let (p2p, rpc) = (format!("{host}:{P2P_PORT}"), format!("{host}:{RPC_PORT}"));
        let name = format!("{}-{}", owner_of(node), node + 1);
        run(
            &dir,
            &[
                "genesis",
                "node-config",
                "--genesis",
                &g_str,
                "--key",
                "node.key",
                "--name",
                &name,
                "--p2p-listen",
                &p2p,
                "--rpc-listen",
                &rpc,
                "--data-dir",
                "data",
                "--out",
                "node.toml",
            ],
        );
        let config = std::fs::read_to_string(dir.join("node.toml")).expect("config");
        assert_eq!(config.matches("[[peers]]").count(), 3, "{config}");
        nodes.start(&dir.join("node.toml"), &dir.join("node.log"));
    }
    let logs = || {
        (1..=hosts.len())
            .map(|i| std::fs::read_to_string(root.join(format!("node-{i}/node.log"))).unwrap_or_default())
            .map(|t| t.lines().rev().take(6).collect::<Vec<_>>().join("\n"))
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    let url = |host: &str| format!("http://{host}:{RPC_PORT}");
    let deadline = Instant::now() + Duration::from_secs(60);
    for host in hosts {
        while Rpc::new(&url(host)).ok().is_none()
            || Rpc::new(&url(host)).expect("rpc").api().finalized_head("jjj".into()).await.is_err()
        {
            assert!(Instant::now() < deadline, "{host} does not answer\n{}", logs());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let key = root.join("beijing/admin.key");
    let to = node_ids[3].clone();
    let out = jjj(
        root,
        &[
            "--rpc",
            &url(hosts[2]),
            "--network",
            "jjj",
            "transfer",
            "--key",
            &key.to_string_lossy(),
            "--to",
            &to,
            "--amount",
            "777",
        ],
    );
    assert!(out.status.success(), "transfer: {}\n{}", text(&out), logs());
    for host in hosts {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let rpc = Rpc::new(&url(host)).expect("rpc");
            if rpc.api().account("jjj".into(), to.clone()).await.ok().map(|a| a.balance) == Some(777) {
                break;
            }
            assert!(Instant::now() < deadline, "{host} did not finalise the transfer\n{}", logs());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
