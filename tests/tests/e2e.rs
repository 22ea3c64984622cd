//! End to end: real `jjj-node` processes on 127.0.0.1 with RocksDB in a temporary directory,
//! driven over JSON-RPC, killed with SIGKILL and restarted.
use jjj_crypto::Keypair;
use jjj_primitives::{AccountId, Call, NetworkId, SignedTransaction, Transaction};
use jjj_rpc_api::{hex0x, ErrorCode, HeaderJson, NodeApiClient, Rpc};
use jjj_tests::bin;
use jjj_tests::dev_key;
use parity_scale_codec::Encode;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NET: &str = "jjj";

/// Each devnet runs four node processes: on a 2-core machine two at once only measure contention,
/// so the tests take turns.
static ONE_DEVNET_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Devnet {
    _turn: std::sync::MutexGuard<'static, ()>,
    dir: tempfile::TempDir,
    base_rpc: u16,
    nodes: Vec<Option<Child>>,
}

impl Devnet {
    /// `base` picks a port range of its own so tests can run side by side.
    fn start(base: u16, senders: usize) -> Devnet {
        let turn = ONE_DEVNET_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut init = Command::new(bin("jjj"));
        init.args(["network", "init", "--dev-keys", "--validators", "4", "--network", NET, "--view-timeout-ms", "500"])
            .args(["--crypto", jjj_tests::suite().name()])
            .arg("--dir")
            .arg(dir.path())
            .args([
                "--p2p-port",
                &(base).to_string(),
                "--rpc-port",
                &(base + 10).to_string(),
                "--metrics-port",
                &(base + 20).to_string(),
            ]);
        for i in 0..senders {
            init.args(["--account", &format!("sender-{i}=1000000000")]);
        }
        init.args(["--account", "sink=0"]);
        let out = init.output().expect("jjj network init");
        assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
        let mut net = Devnet { _turn: turn, dir, base_rpc: base + 10, nodes: vec![None, None, None, None] };
        for i in 0..4 {
            net.start_node(i);
        }
        for i in 0..4 {
            net.wait_rpc(i);
        }
        net
    }

    fn start_node(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("validator-{}.log", i + 1)))
            .expect("log");
        let child = Command::new(bin("jjj-node"))
            .arg("--config")
            .arg(self.dir.path().join(format!("validator-{}.toml", i + 1)))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn jjj-node");
        self.nodes[i] = Some(child);
    }

    fn kill9(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }

    fn rpc(&self, i: usize) -> Rpc {
        Rpc::new(&format!("http://127.0.0.1:{}", self.base_rpc + i as u16)).expect("rpc")
    }

    fn wait_rpc(&self, i: usize) {
        let rt = rt();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if rt.block_on(self.rpc(i).api().health()).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("validator {} did not answer RPC; log:\n{}", i + 1, self.log(i));
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("validator-{}.log", i + 1))).unwrap_or_default()
    }

    fn head(&self, i: usize) -> Option<HeaderJson> {
        rt().block_on(self.rpc(i).api().finalized_head(NET.into())).ok()
    }

    /// Waits until every running node is at least at `height`.
    fn wait_height(&self, height: u64, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let heights: Vec<Option<u64>> =
                (0..4).filter(|i| self.nodes[*i].is_some()).map(|i| self.head(i).map(|h| h.height)).collect();
            if heights.iter().all(|h| h.is_some_and(|h| h >= height)) {
                return;
            }
            if Instant::now() > deadline {
                panic!("nodes did not reach height {height}: {heights:?}\nlog of validator 1:\n{}", tail(&self.log(0)));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        for i in 0..4 {
            self.kill9(i);
        }
    }
}

fn tail(s: &str) -> String {
    s.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

fn transfer(key: &Keypair, nonce: u64, to: AccountId, amount: u64) -> SignedTransaction {
    key.sign_tx(Transaction {
        network: NetworkId::new(NET).expect("id"),
        sender: key.account(),
        nonce,
        gas_limit: 100_000,
        call: Call::Transfer { to, amount },
    })
}

/// Submits `per_sender` transfers from each sender, round-robin over the running nodes; returns hashes.
fn submit_batch(net: &Devnet, senders: &[Keypair], start_nonce: u64, per_sender: u64, nodes: &[usize]) -> Vec<String> {
    let rt = rt();
    let sink = dev_key("sink").account();
    let mut hashes = Vec::new();
    let mut k = 0;
    for n in start_nonce..start_nonce + per_sender {
        for s in senders {
            let stx = transfer(s, n, sink, 1);
            let node = nodes[k % nodes.len()];
            k += 1;
            let h = rt.block_on(net.rpc(node).api().submit_tx(NET.into(), hex0x(&stx.encode()))).expect("submit");
            hashes.push(h);
        }
    }
    hashes
}

fn wait_receipts(net: &Devnet, node: usize, hashes: &[String]) {
    let rt = rt();
    for h in hashes {
        let r = rt.block_on(net.rpc(node).api().receipt(NET.into(), h.clone(), Some(30_000))).unwrap_or_else(|e| {
            let logs: Vec<String> =
                (0..4).map(|i| format!("--- validator {}:\n{}", i + 1, tail(&net.log(i)))).collect();
            panic!("receipt of {h} from validator {}: {e}\n{}", node + 1, logs.join("\n"))
        });
        let r = r.unwrap_or_else(|| panic!("no receipt for {h}"));
        assert_eq!(r.status, "success", "{r:?}");
    }
}

fn senders(n: usize) -> Vec<Keypair> {
    (0..n).map(|i| dev_key(&format!("sender-{i}"))).collect()
}

fn balance(net: &Devnet, node: usize, who: &AccountId) -> u64 {
    rt().block_on(net.rpc(node).api().account(NET.into(), who.to_string())).expect("account").balance
}

fn same_head_everywhere(net: &Devnet) -> HeaderJson {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let heads: Vec<HeaderJson> = (0..4).filter_map(|i| net.head(i)).collect();
        if heads.len() == 4 && heads.iter().all(|h| h.hash == heads[0].hash) {
            return heads[0].clone();
        }
        if Instant::now() > deadline {
            panic!("heads differ: {:?}", heads.iter().map(|h| (h.height, h.hash.clone())).collect::<Vec<_>>());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn four_validators_finalise_1000_transactions_with_equal_roots() {
    let net = Devnet::start(32000, 10);
    let keys = senders(10);
    let hashes = submit_batch(&net, &keys, 0, 100, &[0, 1, 2, 3]);
    assert_eq!(hashes.len(), 1000);
    wait_receipts(&net, 2, &hashes);
    let head = same_head_everywhere(&net);
    assert!(head.height >= 1);
    // Every node holds the same state root and the same balances.
    let sink = dev_key("sink").account();
    for i in 0..4 {
        assert_eq!(balance(&net, i, &sink), 1000, "node {i}");
    }
    // Certificates verify and blocks chain up on another node.
    let cert =
        rt().block_on(net.rpc(3).api().certificate(NET.into(), head.height)).expect("cert").expect("a certificate");
    assert!(cert.verified);
    assert!(cert.signers.len() >= 3);
}

#[test]
fn kill_9_leader_and_follower_under_load_then_restart() {
    let mut net = Devnet::start(32100, 4);
    let keys = senders(4);
    let first = submit_batch(&net, &keys, 0, 10, &[0, 1, 2, 3]);
    wait_receipts(&net, 1, &first);
    let before = net.head(1).map(|h| h.height).unwrap_or(0);
    // The leader of view 0 is validator 1 (index 0): kill it under load.
    net.kill9(0);
    let second = submit_batch(&net, &keys, 10, 10, &[1, 2, 3]);
    wait_receipts(&net, 1, &second);
    assert!(net.head(1).map(|h| h.height).unwrap_or(0) > before, "3 of 4 keep finalising");
    // And a follower too, after restarting the first: never more than one down.
    net.start_node(0);
    net.wait_rpc(0);
    net.kill9(2);
    let third = submit_batch(&net, &keys, 20, 10, &[0, 1, 3]);
    wait_receipts(&net, 3, &third);
    net.start_node(2);
    net.wait_rpc(2);
    let target = net.head(1).map(|h| h.height).unwrap_or(0);
    net.wait_height(target, Duration::from_secs(30));
    let head = same_head_everywhere(&net);
    assert!(head.height >= target);
    let sink = dev_key("sink").account();
    for i in 0..4 {
        assert_eq!(balance(&net, i, &sink), 120, "node {i} lost nothing and caught up");
    }
}

#[test]
fn kill_9_all_four_and_restart_keeps_the_finalised_head() {
    let mut net = Devnet::start(32200, 2);
    let keys = senders(2);
    let hashes = submit_batch(&net, &keys, 0, 20, &[0, 1, 2, 3]);
    wait_receipts(&net, 0, &hashes);
    let head = same_head_everywhere(&net);
    for i in 0..4 {
        net.kill9(i);
    }
    for i in 0..4 {
        net.start_node(i);
    }
    for i in 0..4 {
        net.wait_rpc(i);
        let h = net.head(i).expect("head");
        assert!(h.height >= head.height, "node {i} lost finalised blocks: {} < {}", h.height, head.height);
    }
    let more = submit_batch(&net, &keys, 20, 5, &[0, 1, 2, 3]);
    wait_receipts(&net, 0, &more);
    let after = same_head_everywhere(&net);
    assert!(after.height > head.height, "the network makes progress after a full restart");
}

fn raw_post(port: u16, body: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let head = format!("POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn bad_input_gets_clear_errors_and_the_node_stays_up() {
    let net = Devnet::start(32300, 1);
    let rt = rt();
    let rpc = net.rpc(0);
    let port = net.base_rpc;
    // Malformed JSON, bad params, unknown method, oversize request.
    assert!(raw_post(port, b"{not json").contains("Parse error"));
    let code = |c: ErrorCode| c.code().to_string();
    assert!(raw_post(port, br#"{"jsonrpc":"2.0","id":1,"method":"state_getAccount","params":{"network":5}}"#)
        .contains(&code(ErrorCode::InvalidParams)));
    assert!(raw_post(port, br#"{"jsonrpc":"2.0","id":1,"method":"no_such_method","params":[]}"#)
        .contains(&code(ErrorCode::MethodNotFound)));
    let huge = vec![b'x'; 4 * 1024 * 1024];
    let r = raw_post(port, &huge);
    assert!(r.contains("413") || r.is_empty() || r.contains("too big"), "{r}");
    let submit =
        |network: &str, tx: String| rt.block_on(rpc.api().submit_tx(network.into(), tx)).map_err(|e| rpc.explain(e));
    let call = |tx: String| submit(NET, tx);
    // Not hex, not SCALE, unknown network.
    assert!(call("zz".into()).unwrap_err().contains("not hex"));
    assert!(call("0x0102".into()).unwrap_err().contains("not a SCALE-encoded"));
    let e = submit("nope", "0x00".into()).unwrap_err();
    assert!(e.contains("does not serve network") && e.contains(&code(ErrorCode::UnknownNetwork)), "{e}");
    // Bad signature, wrong network id, replayed nonce.
    let k = dev_key("sender-0");
    let sink = dev_key("sink").account();
    let mut bad = transfer(&k, 0, sink, 1);
    bad.signatures[0].signature[0] ^= 1;
    let e = call(hex0x(&bad.encode())).unwrap_err();
    assert!(e.contains("does not verify") && e.contains(&code(ErrorCode::BadSignature)), "{e}");
    let other = k.sign_tx(Transaction {
        network: NetworkId::new("jj").expect("id"),
        sender: k.account(),
        nonce: 0,
        gas_limit: 100_000,
        call: Call::Transfer { to: sink, amount: 1 },
    });
    assert!(call(hex0x(&other.encode())).unwrap_err().contains(&code(ErrorCode::WrongNetwork)));
    let good = transfer(&k, 0, sink, 1);
    let h = call(hex0x(&good.encode())).expect("good tx");
    let r = rt.block_on(rpc.api().receipt(NET.into(), h, Some(20_000))).expect("receipt");
    assert_eq!(r.map(|r| r.status), Some("success".into()));
    let e = call(hex0x(&good.encode())).unwrap_err();
    assert!(e.contains("nonce 0 is already used") && e.contains(&code(ErrorCode::BadNonce)), "a replay: {e}");
    // Still serving.
    let health = rt.block_on(rpc.api().health()).expect("health");
    assert!(health.ok);
    // Parameters by position as well as by name; optional ones may be left out.
    let by_position = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"state_getAccount","params":["{NET}","{sink}"]}}"#);
    let r = raw_post(port, by_position.as_bytes());
    assert!(r.contains(r#""balance":1,"#), "{r}");
    let wrong_type = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"state_getAccount","params":["{NET}",5]}}"#);
    assert!(raw_post(port, wrong_type.as_bytes()).contains(&code(ErrorCode::InvalidParams)));
    let head: HeaderJson =
        rt.block_on(rpc.call("chain_getFinalizedHead", serde_json::json!({"network": NET}))).expect("by name");
    let block: serde_json::Value = rt
        .block_on(rpc.call("chain_getBlock", serde_json::json!({"network": NET, "height": head.height})))
        .expect("block");
    assert_eq!(block["header"]["hash"], serde_json::json!(head.hash));
    assert!(block.get("raw_block").is_none(), "raw parts only when asked for");
    let _ = Path::new(".");
}
