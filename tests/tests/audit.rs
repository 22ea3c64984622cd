//! Auditors end to end, on four real validators: a history of thousands of signed bill payments,
//! a contract upgrade voted 2 of 3 and a validator removed by governance is exported, replayed
//! (from genesis and from a checkpoint, over RPC and from the export), followed by the light
//! client and proven offline. Every kind of tampering is caught and named: a block, a receipt,
//! a certificate signature and a governance record in an export (checksums fixed, as a forger
//! would), a state value in a checkpoint, a raw byte, and a node that forges a block over RPC.
use jjj_consensus::{CommitCertificate, Vote, VoteKind};
use jjj_primitives::{Block, HashAlgo, Receipt};
use jjj_rpc_api::{hex0x, unhex, NodeApiClient};
use jjj_tests::devnet::{proposal_id, Devnet, DevnetConfig, NET};
use jjj_tests::forging_rpc::{ForgingRpc, Rewrite};
use parity_scale_codec::{Decode, DecodeAll, Encode};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Bill payments the history holds (`JJJ_AUDIT_TEST_TXS`; CI's bound): with their bills and
/// the residents' setup, about twice as many transactions.
fn payments() -> usize {
    std::env::var("JJJ_AUDIT_TEST_TXS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000)
}

/// The export's record of one height (`jjj audit export`'s format, version 1).
#[derive(Encode, Decode)]
struct ExportedBlock {
    block: Block,
    certificate: Vec<u8>,
    receipts: Vec<Receipt>,
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Copies an export directory.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

/// Rewrites the record of `height` in an export with `change`, and fixes the range file's
/// checksum and size in the manifest, as someone forging the export would.
fn forge_record(dir: &Path, height: u64, change: impl FnOnce(&mut ExportedBlock)) {
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).expect("manifest")).expect("json");
    let ranges = manifest["ranges"].as_array_mut().expect("ranges");
    let range = ranges
        .iter_mut()
        .find(|r| r["from"].as_u64() <= Some(height) && r["to"].as_u64() >= Some(height))
        .expect("a range holds the height");
    let path = dir.join(range["file"].as_str().expect("file"));
    let bytes = std::fs::read(&path).expect("range file");
    let mut out = bytes[..8].to_vec();
    let mut rest = &bytes[8..];
    let mut change = Some(change);
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().expect("len")) as usize;
        let mut record = ExportedBlock::decode_all(&mut &rest[4..4 + len]).expect("record");
        rest = &rest[4 + len..];
        if record.block.header.height == height {
            (change.take().expect("one record per height"))(&mut record);
        }
        let encoded = record.encode();
        out.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
        out.extend_from_slice(&encoded);
    }
    assert!(change.is_none(), "height {height} is in the file");
    std::fs::write(&path, &out).expect("write");
    range["blake2b"] = HashAlgo::Blake2b256.hash(&out).to_string().into();
    range["bytes"] = out.len().into();
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest).expect("json")).expect("manifest");
}

/// The first height at or after `from` whose block holds at least `txs` transactions.
async fn block_with(net: &Devnet, from: u64, txs: usize) -> u64 {
    let mut h = from;
    loop {
        let b = net.block(0, h).await.expect("block").expect("final");
        if b.transactions.len() >= txs {
            return h;
        }
        h += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_export_replay_follow_and_prove_a_history_and_catch_every_forgery() {
    let accounts = vec![
        ("bank@tianjin+bank,deployer,registrar".to_string(), 1_000_000_000_000_000),
        ("bench-provider-1@tianjin+utility-provider".to_string(), 0),
        ("bench-provider-2@beijing+utility-provider".to_string(), 0),
        ("inspector@beijing+auditor".to_string(), 0),
    ];
    let net = Devnet::start(DevnetConfig::direct(31100, accounts)).await.expect("devnet");
    let jjj = |args: &[&str]| net.jjj_ok(3, args);
    let key = |name: &str| net.key_file(name);
    let work = net.dir.join("audit");
    std::fs::create_dir_all(&work).expect("mkdir");
    let genesis = s(&net.dir.join(format!("genesis-{NET}.json")));
    let contracts = jjj_tests::bills::contracts_dir();

    // Thousands of signed bill payments (with their bills and the residents' registration).
    let txs = payments().to_string();
    let bench = net.jjj_ok(
        0,
        &[
            "bench",
            "--funder",
            &key("bank"),
            "--provider",
            &key("bench-provider-1"),
            "--provider",
            &key("bench-provider-2"),
            "--wasm",
            &s(&contracts.join("utility_bills.wasm")),
            "--accounts",
            "200",
            "--mode",
            "fixed",
            "--txs",
            &txs,
            "--rate",
            "800",
        ],
    );
    println!("{}", bench.lines().last().unwrap_or_default());

    // A contract upgraded by a 2-of-3 vote, and called before and after.
    let counter = s(&contracts.join("counter.wasm"));
    let out = jjj(&["contract", "deploy", "--key", &key("bank"), "--wasm", &counter, "--args", "[1]"]);
    let address = out.lines().last().expect("address").trim().to_string();
    let v2 = work.join("counter_v2.wasm");
    let mut code = std::fs::read(&counter).expect("counter.wasm");
    code.extend_from_slice(b"\x00\x05\x02v2\x01\x02"); // a custom section: new code hash, same behaviour
    std::fs::write(&v2, code).expect("write");
    let counter_meta = s(&contracts.join("counter.json"));
    let call = |message: &str, args: &str| {
        let k = key("bank");
        let call = ["contract", "call", "--key", &k, "--contract", &address, "--metadata", &counter_meta];
        // An explicit gas limit: no dry run first, so a failing call is sent too.
        let (_, out) = net.jjj(3, &[&call[..], &["--message", message, "--args", args, "--gas", "2000000"]].concat());
        let tx = out.split("(tx ").nth(1).and_then(|t| t.split(')').next());
        tx.unwrap_or_else(|| panic!("no transaction in {out}")).to_string()
    };
    call("bump", "[2]");
    let divided_by_zero = call("divide", "[0]");
    let out = jjj(&[
        "contract",
        "upgrade",
        "--key",
        &key("beijing-admin"),
        "--uploader",
        &key("bank"),
        "--contract",
        &address,
        "--wasm",
        &s(&v2),
        "--memo",
        "v2",
    ]);
    let line = out.lines().find(|l| l.starts_with('#')).expect("the proposal");
    let upgrade = proposal_id(line);
    assert!(jjj(&["proposal", "approve", &upgrade, "--key", &key("tianjin-admin")]).contains("executed"));
    let bumped = call("bump", "[2]");

    // Validator 4 removed by governance from a stated height; payments go on after it.
    let id = Devnet::validator_id;
    let from = net.max_height().await + 8;
    let (from_text, v1, v2_, v3) = (from.to_string(), id(0), id(1), id(2));
    let text = jjj(&[
        "proposal",
        "new",
        "--key",
        &key("beijing-admin"),
        "set-validators",
        "--validator",
        &v1,
        "--validator",
        &v2_,
        "--validator",
        &v3,
        "--from-height",
        &from_text,
    ]);
    let pid = proposal_id(&text);
    assert!(jjj(&["proposal", "approve", &pid, "--key", &key("tianjin-admin")]).contains("executed"));
    let mut after_switch = String::new();
    while net.max_height().await < from + 4 {
        let out = jjj(&["transfer", "--key", &key("bank"), "--to", &v1, "--amount", "1"]);
        after_switch = out.split("(tx ").nth(1).and_then(|t| t.split(')').next()).expect("tx hash").to_string();
    }
    let head = net.wait_same_head(Duration::from_secs(60)).await.expect("one head").height;
    let checkpoint_height = from - 4;
    println!("history: {head} blocks; validator 4 out from height {from}");

    // Replay over RPC from genesis to a checkpoint, then from the checkpoint to the head.
    let db = work.join("checkpoint");
    let out = jjj(&["audit", "replay", "--genesis", &genesis, "--to", &checkpoint_height.to_string(), "--db", &s(&db)]);
    assert!(out.contains(&format!("heights 1..={checkpoint_height}")) && out.contains("0 set change(s)"), "{out}");
    let cp_copy = work.join("checkpoint-copy");
    copy_dir(&db, &cp_copy);
    let sets_from_replay = work.join("sets-replay.json");
    let out = jjj(&[
        "audit",
        "replay",
        "--genesis",
        &genesis,
        "--state-at",
        &s(&db),
        "--from",
        &(checkpoint_height + 1).to_string(),
        "--sets-out",
        &s(&sets_from_replay),
    ]);
    assert!(out.contains(&format!("heights {}..={head}", checkpoint_height + 1)), "{out}");
    assert!(out.contains("1 set change(s) followed") && out.contains("keys checked"), "{out}");
    println!("{out}");

    // Export (twice: the second run resumes and rewrites nothing whole), then replay the export.
    let export = work.join("export");
    jjj(&["audit", "export", "--genesis", &genesis, "--out", &s(&export), "--to", &(head - 2).to_string()]);
    let out = jjj(&["audit", "export", "--genesis", &genesis, "--out", &s(&export)]);
    assert!(out.contains(&format!("heights 1..={head}")), "{out}");
    let out = jjj(&["audit", "replay", "--dir", &s(&export)]);
    assert!(out.contains(&format!("heights 1..={head}")) && out.contains("1 set change(s) followed"), "{out}");
    assert!(out.contains("governance records match the replayed state"), "{out}");
    let contracts_touched: usize = out
        .split(" contracts touched")
        .next()
        .and_then(|t| t.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("contracts touched");
    assert!(contracts_touched >= 3, "two bills contracts and the counter: {out}");
    println!("{out}");

    // The light client follows the same history without executing, and agrees.
    let sets = work.join("sets.json");
    let out = jjj(&["follow", "--genesis", &genesis, "--sets", &s(&sets)]);
    assert!(out.contains(&format!("to height {head}")) && out.contains("1 validator-set change(s) scheduled"), "{out}");
    assert!(out.contains(&format!("3 validators from height {}", head + 1)), "{out}");

    // One transaction re-executed on the proven state before it, with its host-call log: the
    // counter's storage named through its metadata, before and after; a failing one shows where.
    let inspector = key("inspector");
    let sets_s = s(&sets);
    let trace = |tx: &str, with_key: bool| {
        let mut args =
            vec!["audit", "trace", tx, "--genesis", &genesis, "--sets", &sets_s, "--metadata", &counter_meta];
        if with_key {
            args.extend(["--key", &inspector]);
        }
        net.jjj(3, &args)
    };
    let (ok, out) = trace(&bumped, true);
    assert!(ok && out.contains("call Counter.bump("), "{out}");
    assert!(out.contains("write  count: 3 -> 5"), "the counter before and after: {out}");
    assert!(out.contains("the traced run gives exactly the certified receipt"), "{out}");
    let (ok, out) = trace(&bumped, false);
    assert!(!ok && out.contains("trace with an auditor's --key"), "{out}");
    let (ok, out) = trace(&divided_by_zero, true);
    assert!(
        ok && out.contains("receipt: FAILED") && out.contains("failed in ") && out.contains("divide by zero"),
        "{out}"
    );
    println!("{out}");

    // The counter's history: instantiation, the upgrade with its proposal, every call.
    let history = |extra: &[&str]| {
        let mut args =
            vec!["audit", "contract", &address, "--genesis", &genesis, "--sets", &sets_s, "--metadata", &counter_meta];
        args.extend_from_slice(extra);
        jjj(&args)
    };
    let out = history(&[]);
    assert!(
        out.contains(&format!("upgrade approved by proposal #{upgrade}")) && out.contains("instantiated at height"),
        "{out}"
    );
    // Both code uploads, the instantiation, two bumps and the failed division.
    assert!(out.contains("6 transaction(s)") && out.contains("blocks checked against the validator set"), "{out}");
    assert_eq!(out.matches(" upload upload_code(").count(), 2, "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&history(&["--format", "json", "--method", "bump"])).expect("json");
    let bumps = json["calls"].as_array().expect("calls");
    assert_eq!(bumps.len(), 2, "{json}");
    assert!(bumps.iter().all(|c| c["status"] == "success" && c["args"]["by"] == 2), "{json}");
    let csv = history(&["--format", "csv"]);
    assert_eq!(csv.lines().count(), 7, "a header and six rows: {csv}");
    assert!(csv.lines().any(|l| l.contains(",divide,") && l.contains("reverted")), "{csv}");

    // A payment after the switch, proven offline against the followed history.
    let proof = work.join("proof.json");
    jjj(&["audit", "receipt", &after_switch, "--genesis", &genesis, "--sets", &s(&sets), "--out", &s(&proof)]);
    for history in [&sets, &sets_from_replay] {
        let out = jjj(&["audit", "verify-receipt", &s(&proof), "--genesis", &genesis, "--sets", &s(history)]);
        assert!(out.contains("verified") && out.contains("validator set of its height"), "{out}");
    }
    // The same block certified by the replaced set (validators 1, 2 and the removed 4): a check
    // against the genesis validators alone is fooled; against the history it is refused.
    let mut p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).expect("proof")).expect("json");
    let mut cert = CommitCertificate::decode(&mut &unhex(p["certificate"].as_str().expect("cert")).expect("hex")[..])
        .expect("certificate");
    let network = jjj_primitives::NetworkId::new(NET).expect("net");
    cert.signatures = [1, 2, 4]
        .iter()
        .map(|n| {
            let k = jjj_tests::dev_key(&format!("validator-{n}"));
            let v = Vote::sign(&network, &k, VoteKind::Commit, cert.height, cert.view, cert.block_hash);
            (v.voter, v.signature)
        })
        .collect();
    p["certificate"] = hex0x(&cert.encode()).into();
    let outdated = work.join("outdated.json");
    std::fs::write(&outdated, p.to_string()).expect("write");
    let fooled = jjj(&["audit", "verify-receipt", &s(&outdated), "--genesis", &genesis]);
    assert!(fooled.contains("verified") && fooled.contains("no --sets"), "{fooled}");
    let (ok, text) =
        net.jjj(3, &["audit", "verify-receipt", &s(&outdated), "--genesis", &genesis, "--sets", &s(&sets)]);
    assert!(!ok && text.contains("not signed by a quorum of the validator set in force at that height"), "{text}");

    // State proofs: the bank's account at the checkpoint height, offline; contract storage only
    // for an auditor's signed read.
    let bank = jjj_tests::dev_key("bank").account().to_string();
    let state = work.join("state.json");
    let h = checkpoint_height.to_string();
    jjj(&["audit", "state-proof", "--account", &bank, "--height", &h, "--genesis", &genesis, "--out", &s(&state)]);
    let out = jjj(&["audit", "verify-receipt", &s(&state), "--genesis", &genesis, "--sets", &s(&sets)]);
    assert!(out.contains(&format!("at height {checkpoint_height} verified: account: balance")), "{out}");
    let (ok, text) =
        net.jjj(3, &["audit", "state-proof", "--contract", &address, "--storage", "0x00", "--genesis", &genesis]);
    assert!(!ok && text.contains("private data"), "{text}");

    // Tampering an export, checksums fixed as a forger would: each caught at its place.
    let forged = |name: &str, height: u64, change: &dyn Fn(&mut ExportedBlock)| -> String {
        let dir = work.join(name);
        copy_dir(&export, &dir);
        forge_record(&dir, height, change);
        let (ok, text) = net.jjj(3, &["audit", "replay", "--dir", &s(&dir)]);
        assert!(!ok, "{name}: the replay passed:\n{text}");
        text
    };
    let busy = block_with(&net, 3, 2).await;
    let text = forged("forged-tx", busy, &|r| r.block.transactions[1].tx.gas_limit += 1);
    assert!(
        text.contains(&format!("height {busy}, tx 1: transaction")) && text.contains("is not the certified one"),
        "{text}"
    );
    let text = forged("forged-receipt", busy, &|r| r.receipts[1].gas_used += 1);
    assert!(
        text.contains(&format!("height {busy}, tx 1 (")) && text.contains("receipt field gas_used: the source says"),
        "{text}"
    );
    let text = forged("forged-signature", busy, &|r| {
        let mut c = CommitCertificate::decode(&mut &r.certificate[..]).expect("certificate");
        c.signatures[0].1[5] ^= 1;
        r.certificate = c.encode();
    });
    assert!(
        text.contains(&format!("height {busy}: the commit certificate is not valid")) && text.contains("signature by"),
        "{text}"
    );
    // A governance record: the upgrade's proposal says something else.
    let dir = work.join("forged-governance");
    copy_dir(&export, &dir);
    let path = dir.join("governance.json");
    let mut gov: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("gov")).expect("json");
    let record = gov["records"]
        .as_array_mut()
        .expect("records")
        .iter_mut()
        .find(|r| r["name"] == format!("proposal {upgrade}"))
        .expect("the upgrade's record");
    let value = record["value"].as_str().expect("value").to_string();
    let flipped = if value.ends_with('0') { "1" } else { "0" };
    record["value"] = format!("{}{flipped}", &value[..value.len() - 1]).into();
    std::fs::write(&path, gov.to_string()).expect("write");
    let (ok, text) = net.jjj(3, &["audit", "replay", "--dir", &s(&dir)]);
    assert!(
        !ok && text.contains(&format!("governance record proposal {upgrade}")) && text.contains("the export says"),
        "{text}"
    );
    // A raw byte flipped, checksum left: named as altered after export.
    let dir = work.join("flipped");
    copy_dir(&export, &dir);
    let ranges = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jjjx"))
        .collect::<Vec<_>>();
    assert_eq!(ranges.len(), 1, "the resumed export left only the files its manifest lists: {ranges:?}");
    let first = &ranges[0];
    let mut bytes = std::fs::read(first).expect("read");
    let at = bytes.len() - 3;
    bytes[at] ^= 0x40;
    std::fs::write(first, bytes).expect("write");
    let (ok, text) = net.jjj(3, &["audit", "replay", "--dir", &s(&dir)]);
    assert!(!ok && text.contains("differ from the export's checksums"), "{text}");

    // A state value changed in a checkpoint: named by its key before anything replays.
    tamper_checkpoint(&cp_copy);
    let (ok, text) = net.jjj(3, &["audit", "replay", "--genesis", &genesis, "--state-at", &s(&cp_copy)]);
    assert!(!ok && text.contains("state key 0x") && text.contains("is not the one the state root"), "{text}");

    // A node that forges a block over RPC: its transactions no longer match the certified root.
    let node: std::net::SocketAddr = net.rpc_url(0).trim_start_matches("http://").parse().expect("addr");
    let target = busy;
    let rewrite: Rewrite = Arc::new(move |req, answer| {
        if req["method"] != "chain_getBlock" || req["params"]["height"] != target {
            return None;
        }
        let raw = answer["result"]["raw_block"].as_str()?;
        let mut block = Block::decode(&mut &unhex(raw).ok()?[..]).ok()?;
        block.transactions[0].tx.nonce += 1;
        let mut forged = answer.clone();
        forged["result"]["raw_block"] = hex0x(&block.encode()).into();
        Some(forged)
    });
    let liar = ForgingRpc::start("127.0.0.1:31130".parse().expect("addr"), node, rewrite).await.expect("proxy");
    let out = std::process::Command::new(jjj_tests::bin("jjj"))
        .args(["--rpc", &liar.url, "--network", NET, "audit", "replay", "--genesis", &genesis])
        .output()
        .expect("run jjj");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && text.contains(&format!("height {target}, tx 0: transaction")), "{text}");
    println!("forged block caught: {}", text.lines().last().unwrap_or_default());

    // A node that forges the validator schedule a light client is given: its proof no longer
    // matches the certified state root, and `jjj follow` stops there.
    let forged_at = head;
    let rewrite: Rewrite = Arc::new(move |req, answer| {
        if req["method"] != "light_getHeader" || req["params"]["height"] != forged_at {
            return None;
        }
        let schedule = answer["result"]["schedule"].as_str()?;
        let last = if schedule.ends_with('0') { "1" } else { "0" };
        let mut forged = answer.clone();
        forged["result"]["schedule"] = format!("{}{last}", &schedule[..schedule.len() - 1]).into();
        Some(forged)
    });
    let liar = ForgingRpc::start("127.0.0.1:31131".parse().expect("addr"), node, rewrite).await.expect("proxy");
    let out = std::process::Command::new(jjj_tests::bin("jjj"))
        .args(["--rpc", &liar.url, "--network", NET, "follow", "--genesis", &genesis])
        .output()
        .expect("run jjj");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        !out.status.success() && text.contains(&format!("height {forged_at}: the validator schedule's state proof")),
        "{text}"
    );
    let _ = net.rpc(0).expect("rpc").api().health().await.expect("the honest node is fine");
}

/// Changes one value in the `state` column family of a kept replay state, through RocksDB.
fn tamper_checkpoint(dir: &PathBuf) {
    let names = rocksdb::DB::list_cf(&rocksdb::Options::default(), dir).expect("column families");
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir, &names).expect("open");
    let cf = db.cf_handle("state").expect("state family");
    let (k, mut v) = db
        .iterator_cf(cf, rocksdb::IteratorMode::Start)
        .next()
        .expect("a value")
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .expect("read");
    v[0] ^= 1;
    db.put_cf(cf, k, v).expect("put");
}
