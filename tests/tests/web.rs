//! The web pages in a real browser (Debian's headless Chromium, through ChromeDriver) against a
//! real devnet of four `jjj-node` processes serving them on their RPC ports:
//! - a resident imports a key, sees two bills, pays one (encoded, dry-run and signed in the
//!   browser by wallet.wasm), sees it final with its certificate, unlocks again after a reload;
//! - a stranger sees none of the resident's bills, and the node refuses the stranger's read;
//! - the explorer shows the payment's block with its decoded call and certificate;
//! - governance shows a proposal with its approvals; operator and auditor pages work, the
//!   auditor's chain check passes and the access log lists the protected reads;
//! - on a phone-sized screen nothing overflows sideways; English is one click away.
//!
//! Each check prints `web check NAME: ok` or `web check NAME: FAILED: why` (what
//! `scripts/test-web.sh` counts); screenshots of each page go to `$JJJ_WEB_SCREENSHOTS` when set.
//! Needs the pages built (`scripts/build-web.sh`) and Chromium with its driver (installed by
//! `scripts/test-web.sh`).
use jjj_tests::devnet::{proposal_id, Devnet, DevnetConfig, NET};
use jjj_tests::webdriver::{Driver, Session};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const BASE_PORT: u16 = 31200;
const DRIVER_PORT: u16 = 31230;
const PASSPHRASE: &str = "京津冀 test passphrase";

fn web_dir() -> PathBuf {
    let dir = std::env::var_os("JJJ_WEB_DIR").map(PathBuf::from).unwrap_or_else(|| {
        jjj_tests::bills::contracts_dir().parent().map(|p| p.join("web")).unwrap_or_else(|| PathBuf::from("target/web"))
    });
    assert!(dir.join("index.html").is_file(), "no web pages in {}: run scripts/build-web.sh first", dir.display());
    dir
}

struct Checks {
    passed: usize,
    failed: Vec<String>,
}

impl Checks {
    fn run(&mut self, name: &str, f: impl FnOnce() -> Result<(), String>) {
        match f() {
            Ok(()) => {
                self.passed += 1;
                println!("web check {name}: ok");
            }
            Err(e) => {
                println!("web check {name}: FAILED: {e}");
                self.failed.push(format!("{name}: {e}"));
            }
        }
    }
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

const LONG: Duration = Duration::from_secs(40);

/// Ignored in a plain `cargo test`: it needs Chromium and the built pages, which
/// `scripts/test-web.sh` (run by `scripts/test.sh`) installs and builds before running it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and the built web pages: run scripts/test-web.sh"]
async fn residents_pay_bills_and_everyone_sees_the_chain_in_a_real_browser() {
    let shots = std::env::var_os("JJJ_WEB_SCREENSHOTS").map(PathBuf::from);
    let shots = shots.as_deref();
    let accounts = vec![
        ("deployer@beijing+deployer".to_string(), 0),
        ("bj-water@beijing+utility-provider".to_string(), 0),
        ("resident@hebei+resident".to_string(), 1_000_000),
        ("stranger@tianjin+resident".to_string(), 1_000_000),
    ];
    let cfg = DevnetConfig { web_dir: Some(web_dir()), ..DevnetConfig::direct(BASE_PORT, accounts) };
    let net = Devnet::start(cfg).await.expect("devnet");
    let contracts = jjj_tests::bills::contracts_dir();
    let wasm = contracts.join("utility_bills.wasm").display().to_string();
    let meta = contracts.join("utility_bills.json").display().to_string();
    let id = |name: &str| net.jjj_ok(0, &["key", "show", &net.key_file(name)]).trim().to_string();
    let (water, resident) = (id("bj-water"), id("resident"));

    // The utility-bills contract, its official name (2 of 3 members), a water company, two bills.
    let out =
        net.jjj_ok(0, &["contract", "deploy", "--key", &net.key_file("deployer"), "--wasm", &wasm, "--args", "[]"]);
    let bills = out.lines().last().expect("address").trim().to_string();
    let call = |who: &str, message: &str, args: String| {
        let key = net.key_file(who);
        let a = ["contract", "call", "--key", &key, "--contract", &bills, "--metadata", &meta, "--message", message];
        net.jjj_ok(0, &[&a[..], &["--args", &args]].concat())
    };
    call("bj-water", "register_provider", format!(r#"["{water}", "北京自来水集团", "Beijing", ["Water"], 5]"#));
    let due = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as u64
        + 30 * 86_400_000;
    call("bj-water", "issue_bill", format!(r#"["{resident}", "Water", 4280, "2026-11", {due}]"#));
    call("bj-water", "issue_bill", format!(r#"["{resident}", "Water", 3650, "2026-12", {due}]"#));
    let (bj, tj) = (net.key_file("beijing-admin"), net.key_file("tianjin-admin"));
    let text = net.jjj_ok(0, &["proposal", "new", "--key", &bj, "register-name", "utility-bills", "--address", &bills]);
    net.jjj_ok(0, &["proposal", "approve", &proposal_id(&text), "--key", &tj]);
    // A proposal left open, one approval of two, for the governance page.
    let open = net.jjj_ok(
        0,
        &["proposal", "new", "--key", &bj, "--memo", "网页测试提案", "register-name", "web-test", "--address", &bills],
    );
    let open_id = proposal_id(&open);

    let rt = tokio::runtime::Handle::current();
    let driver = Driver::start(DRIVER_PORT).expect("chromedriver");
    let downloads = tempfile::tempdir().expect("downloads");
    let base = net.rpc_url(0);
    let key_text = |name: &str| std::fs::read_to_string(net.key_file(name)).expect("key file").trim().to_string();
    let mut checks = Checks { passed: 0, failed: vec![] };
    let mut pay_height = 0u64;

    let s: Session = driver.session(1280, 1000, downloads.path()).expect("browser");
    checks.run("wallet shows the resident's two bills after importing a key", || {
        s.goto(&format!("{base}/#/wallet"))?;
        s.wait_for("#key-text", LONG)?;
        s.type_into("#key-text", &key_text("resident"))?;
        s.type_into("#key-pass", PASSPHRASE)?;
        s.click("#key-import")?;
        s.wait_for("tr.bill", LONG)?;
        let n = s.count("tr.bill")?;
        ensure(n == 2, || format!("{n} bills shown"))?;
        ensure(s.text("#account")? == resident, || "another account shown".into())?;
        s.screenshot(shots, "wallet")
    });
    checks.run("a bill paid in the browser is final with its certificate", || {
        s.click("button.pay")?;
        s.wait_for("#pay-confirm", LONG)?;
        let gas: u64 = s.text("#pay-gas")?.trim().parse().map_err(|e| format!("gas: {e}"))?;
        ensure(gas > 0, || "no dry-run gas shown".into())?;
        s.screenshot(shots, "wallet-confirm")?;
        s.click("#pay-send")?;
        s.wait_for("#pay-final, #pay-error", LONG)?;
        ensure(s.count("#pay-final")? == 1, || s.text("#pay-error").unwrap_or_default())?;
        let final_text = s.text("#pay-final")?;
        pay_height = final_text
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| !w.is_empty())
            .and_then(|w| w.parse().ok())
            .ok_or_else(|| format!("no height in {final_text:?}"))?;
        let cert = s.text("#pay-cert")?;
        ensure(cert.contains('3') || cert.contains('4'), || format!("certificate: {cert}"))?;
        s.screenshot(shots, "wallet-paid")?;
        // The payment's receipt proof, downloaded from the page, verifies offline with `jjj`.
        s.click("#pay-proof")?;
        let deadline = std::time::Instant::now() + LONG;
        let proof = loop {
            let found = std::fs::read_dir(downloads.path())
                .map_err(|e| e.to_string())?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "json"));
            if let Some(p) = found {
                break p;
            }
            ensure(std::time::Instant::now() < deadline, || "no receipt proof downloaded".into())?;
            std::thread::sleep(Duration::from_millis(200));
        };
        let genesis = net.dir.join(format!("genesis-{NET}.json"));
        let (verified, text) = net.jjj(
            0,
            &["audit", "verify-receipt", &proof.display().to_string(), "--genesis", &genesis.display().to_string()],
        );
        ensure(verified && text.contains("verified"), || format!("jjj audit verify-receipt: {text}"))?;
        // The chain agrees: the bill is paid, by the resident.
        let key = net.key_file("resident");
        let q = ["contract", "query", "--key", &key, "--contract", &bills, "--metadata", &meta];
        let out = net.jjj_ok(0, &[&q[..], &["--message", "bill", "--args", "[1]"]].concat());
        ensure(out.contains("\"payment\":{"), || format!("bill 1 on chain: {out}"))
    });
    checks.run("after a reload the key unlocks with its passphrase and the payment is in the history", || {
        s.goto(&format!("{base}/#/wallet"))?;
        s.run("location.reload()", json!([]))?;
        s.wait_for("#unlock-pass", LONG)?;
        s.type_into("#unlock-pass", "wrong")?;
        s.click("#unlock")?;
        std::thread::sleep(Duration::from_millis(500));
        ensure(s.count("#unlock-pass")? == 1, || "a wrong passphrase unlocked the key".into())?;
        s.type_into("#unlock-pass", PASSPHRASE)?;
        s.click("#unlock")?;
        s.wait_for("tr.payment", LONG)?;
        let paid = s.count("tr.bill[data-paid='1']")?;
        ensure(paid == 1, || format!("{paid} bills shown paid"))
    });
    drop(s);

    let s = driver.session(1280, 1000, downloads.path()).expect("browser");
    checks.run("a stranger sees none of the resident's bills and the node refuses its read", || {
        s.goto(&format!("{base}/#/wallet"))?;
        s.wait_for("#key-text", LONG)?;
        s.type_into("#key-text", &key_text("stranger"))?;
        s.type_into("#key-pass", PASSPHRASE)?;
        s.click("#key-import")?;
        s.wait_for("#bills", LONG)?;
        ensure(s.count("tr.bill")? == 0, || "the stranger sees bills".into())?;
        s.screenshot(shots, "wallet-stranger")?;
        // Asking for the resident's bills with the stranger's signed read: refused by the policy.
        let refused = s.run_async(
            "const done = arguments[arguments.length - 1];
             loadMeta('utility_bills')
               .then((m) => query(arguments[0], arguments[1], m, 'bills_of', [arguments[2]], true))
               .then((v) => done('answered: ' + JSON.stringify(v)), (e) => done('refused: ' + e.message));",
            json!([NET, bills, resident]),
        )?;
        let refused = refused.as_str().unwrap_or_default().to_string();
        ensure(refused.starts_with("refused") && refused.contains("read refused"), || refused)
    });
    drop(s);

    let s = driver.session(1280, 1000, downloads.path()).expect("browser");
    checks.run("the explorer shows the payment's block, its decoded call and its certificate", || {
        s.goto(&format!("{base}/#/block/{NET}/{pay_height}"))?;
        s.wait_for(".decoded-call", LONG)?;
        let call = s.text(".decoded-call")?;
        ensure(call.contains("utility-bills") && call.contains("pay"), || format!("call shown: {call}"))?;
        let signers = s.count("#cert-signers .signer")?;
        ensure(signers >= 3, || format!("{signers} certificate signers"))?;
        s.screenshot(shots, "explorer-block")
    });
    checks.run("the explorer lists networks, validators and the latest final blocks", || {
        s.goto(&format!("{base}/#/explorer"))?;
        s.wait_for("#heads tr.head", LONG)?;
        let validators = s.count("#validators .validator")?;
        ensure(validators == 4, || format!("{validators} validators shown"))?;
        s.screenshot(shots, "explorer")
    });
    checks.run("search by official name finds the contract", || {
        s.type_into("#search", "utility-bills")?;
        s.click("#search-go")?;
        s.wait_for("#contract-events", LONG)?;
        ensure(s.text("#contract-name")?.contains("utility-bills"), || "contract name not shown".into())?;
        s.screenshot(shots, "explorer-contract")
    });
    checks.run("governance shows the open proposal with its approvals", || {
        s.goto(&format!("{base}/#/governance"))?;
        let row = format!("tr.proposal[data-id='{open_id}'] .approvals");
        s.wait_for(&row, LONG)?;
        let approvals = s.text(&row)?;
        ensure(approvals.starts_with("1/2"), || format!("approvals shown: {approvals}"))?;
        ensure(s.count("#members tr.member")? >= 3, || "members missing".into())?;
        s.screenshot(shots, "governance")
    });
    checks.run("the operator page shows each network's health", || {
        s.goto(&format!("{base}/#/operator"))?;
        s.wait_for("#health tr.net-health", LONG)?;
        // The node's finality histogram: the blocks of this test, a mean above zero.
        let buckets = s.text("#latency-buckets")?;
        ensure(buckets.contains('%'), || format!("no finality distribution shown: {buckets}"))?;
        s.screenshot(shots, "operator")
    });
    checks.run("the auditor page lists protected reads and its chain check passes", || {
        s.goto(&format!("{base}/#/auditor"))?;
        s.wait_for("#access-log", LONG)?;
        let reads = s.count("#access-log tr.access")?;
        ensure(reads >= 1, || "no protected read in the access log".into())?;
        ensure(s.count("#log-chain.ok")? == 1, || s.text("#log-chain").unwrap_or_default())?;
        s.click("#replay-run")?;
        s.wait_for("#replay-verdict", LONG)?;
        ensure(s.count("#replay-verdict.ok")? == 1, || s.text("#replay-verdict").unwrap_or_default())?;
        s.screenshot(shots, "auditor")
    });
    checks.run("the auditor page catches a block header and a log entry a lying node altered", || {
        // A node (an HTTP proxy in front of validator 1) serving the pages and every answer as
        // they are, except one block's raw header, one byte changed.
        let head = tokio::task::block_in_place(|| rt.block_on(net.head(0))).ok_or("no head")?.height;
        let forged_at = head.saturating_sub(2).max(1);
        let rewrite: jjj_tests::forging_rpc::Rewrite = Arc::new(move |req, answer| {
            if req["method"] == "audit_accessLog" {
                // One logged read rewritten: its raw bytes no longer hash to the chain's link.
                let mut forged = answer.clone();
                let raw = forged["result"]["entries"][1]["raw"].as_str()?.to_string();
                let flipped = if raw.ends_with('0') { "1" } else { "0" };
                forged["result"]["entries"][1]["raw"] = json!(format!("{}{flipped}", &raw[..raw.len() - 1]));
                return Some(forged);
            }
            let at = req["params"]["height"].as_u64();
            if req["method"] != "chain_getBlock" || at != Some(forged_at) {
                return None;
            }
            let mut forged = answer.clone();
            let raw = forged["result"]["raw_header"].as_str()?.to_string();
            let i = raw.len() / 2;
            let flipped = if &raw[i..i + 1] == "0" { "1" } else { "0" };
            forged["result"]["raw_header"] = json!(format!("{}{flipped}{}", &raw[..i], &raw[i + 1..]));
            Some(forged)
        });
        let node: std::net::SocketAddr = base.trim_start_matches("http://").parse().map_err(|e| format!("{e}"))?;
        let liar = tokio::task::block_in_place(|| {
            rt.block_on(jjj_tests::forging_rpc::ForgingRpc::start(
                ([127, 0, 0, 1], DRIVER_PORT + 10).into(),
                node,
                rewrite,
            ))
        })?;
        s.goto(&format!("{}/#/auditor", liar.url))?;
        s.wait_for("#replay-run", LONG)?;
        ensure(s.count("#log-chain.bad")? == 1, || {
            format!("a rewritten log entry passed: {:?}", s.text("#log-chain"))
        })?;
        s.click("#replay-run")?;
        s.wait_for("#replay-verdict", LONG)?;
        let verdict = s.text("#replay-verdict")?;
        ensure(s.count("#replay-verdict.bad")? == 1 && verdict.contains(&forged_at.to_string()), || {
            format!("the forged header at height {forged_at} passed: {verdict}")
        })?;
        s.screenshot(shots, "auditor-forged")
    });
    checks.run("English is one click away", || {
        s.goto(&format!("{base}/#/auditor"))?;
        s.wait_for("#access-log", LONG)?;
        s.click("#lang")?;
        s.wait_for("#access-log", LONG)?;
        let nav = s.text("#nav")?;
        ensure(nav.contains("Wallet") && nav.contains("Explorer"), || format!("nav: {nav}"))?;
        s.click("#lang")?;
        Ok(())
    });
    drop(s);

    let s = driver.session(390, 844, downloads.path()).expect("browser");
    checks.run("on a phone-sized screen nothing overflows sideways", || {
        s.goto(&format!("{base}/#/explorer"))?;
        s.wait_for("#heads tr.head", LONG)?;
        let wide = s.run("return document.documentElement.scrollWidth - window.innerWidth", json!([]))?;
        ensure(wide.as_i64().unwrap_or(1) <= 0, || format!("the page is {wide} px wider than the screen"))?;
        s.screenshot(shots, "phone-explorer")?;
        s.goto(&format!("{base}/#/wallet"))?;
        s.wait_for("#key-text", LONG)?;
        s.screenshot(shots, "phone-wallet")
    });
    drop(s);

    println!("web checks: {} passed, {} failed", checks.passed, checks.failed.len());
    assert!(checks.failed.is_empty(), "failed web checks:\n{}\n{}", checks.failed.join("\n"), net.logs(20));
}
