//! Data permissions end to end: four real validators, utility-bills deployed, and the read-policy
//! matrix of one bill over JSON-RPC — its resident, its provider and an auditor read it with
//! signed read requests; another resident is denied by the contract; an unsigned read, a forged
//! signature, a request signed by another key, a replayed, a stale and a misdirected request are
//! refused before it runs — each in the access log of the node that answered, in order, hash
//! chained, its head anchored on chain by the node, and printed and checked by `jjj audit access`.
use jjj_crypto::Keypair;
use jjj_primitives::access::SignedRead;
use jjj_primitives::{AccountId, NetworkId};
use jjj_rpc_api::{hex0x, ErrorCode, NodeApiClient, ReceiptJson, Rpc};
use jjj_tests::bills::{genesis_accounts, issued_bill_id, submit_and_wait, Bills};
use jjj_tests::devnet::{Devnet, DevnetConfig, NET};
use parity_scale_codec::Encode;
use serde_json::json;

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A read request for `input` by `key`, with a nonce never used before in this test.
fn signed(key: &Keypair, contract: AccountId, input: &[u8], at: u64) -> SignedRead {
    static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let nonce = NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    key.sign_read(NetworkId::new(NET).expect("net"), contract, input, at, nonce)
}

/// `contract_query` of `input`, with a read request or a bare sender.
async fn query(
    rpc: &Rpc,
    contract: AccountId,
    input: &[u8],
    sender: Option<AccountId>,
    read: Option<&SignedRead>,
) -> Result<ReceiptJson, String> {
    rpc.api()
        .contract_query(
            NET.into(),
            contract.to_string(),
            hex0x(input),
            sender.map(|s| s.to_string()),
            None,
            None,
            None,
            read.map(|r| hex0x(&r.encode())),
        )
        .await
        .map_err(|e| rpc.explain(e))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_reads_follow_the_read_policy_and_every_one_is_logged() {
    let mut accounts = genesis_accounts(2);
    accounts.push(("bills-auditor@tianjin+auditor".into(), 0));
    let net = Devnet::start(DevnetConfig::direct(31500, accounts)).await.expect("devnet");
    let rpc = net.rpc(0).expect("rpc");
    let bills = Bills::deploy(&rpc, NET, 2).await.expect("deploy utility-bills");
    let c = bills.contract;
    let issued = submit_and_wait(&rpc, NET, &bills.issue(0, 0, 4_280, now_ms()).expect("issue")).await.expect("issued");
    let id = issued_bill_id(&issued).expect("bill id");
    let input = bills.encode("bill", json!([id])).expect("bill");
    let (resident, other) = (&bills.residents[0], &bills.residents[1]);
    let auditor = jjj_tests::dev_key("bills-auditor");

    // Allowed: the resident, the provider, the auditor; the output is the bill.
    for reader in [resident, &bills.provider, &auditor] {
        let r = query(&rpc, c, &input, None, Some(&signed(reader, c, &input, now_ms()))).await.expect("answered");
        assert_eq!(r.status, "success", "{:?}", r.reason);
        assert!(r.output.len() > 10, "the bill comes back: {}", r.output);
    }
    // Denied by the contract's policy: another resident, who signed properly.
    let r = query(&rpc, c, &input, None, Some(&signed(other, c, &input, now_ms()))).await.expect("answered");
    assert_eq!(r.status, "reverted");
    assert!(r.reason.as_deref().unwrap_or("").contains("read refused"), "{:?}", r.reason);
    // Unsigned, claiming to be the resident: refused before the policy runs.
    let r = query(&rpc, c, &input, Some(resident.account()), None).await.expect("answered");
    assert_eq!(r.status, "failed");
    assert!(r.reason.as_deref().unwrap_or("").contains("only a signed read request"), "{:?}", r.reason);

    // Refused read requests: an error with its code, and nothing runs.
    let code = format!("code {}", ErrorCode::ReadRefused.code());
    let mut forged = signed(resident, c, &input, now_ms());
    forged.signature.signature[0] ^= 1;
    let e = query(&rpc, c, &input, None, Some(&forged)).await.unwrap_err();
    assert!(e.contains("does not verify") && e.contains(&code), "{e}");
    let mut other_key = signed(other, c, &input, now_ms());
    other_key.request.reader = resident.account();
    other_key.signature = other.sign(&other_key.request.signing_payload());
    let e = query(&rpc, c, &input, None, Some(&other_key)).await.unwrap_err();
    assert!(e.contains("is signed for by key") && e.contains(&code), "{e}");
    let once = signed(resident, c, &input, now_ms());
    assert_eq!(query(&rpc, c, &input, None, Some(&once)).await.expect("first").status, "success");
    let e = query(&rpc, c, &input, None, Some(&once)).await.unwrap_err();
    assert!(e.contains("used already") && e.contains(&code), "{e}");
    let stale = signed(resident, c, &input, now_ms() - 60_000);
    let e = query(&rpc, c, &input, None, Some(&stale)).await.unwrap_err();
    assert!(e.contains("stale"), "{e}");
    let elsewhere = signed(resident, c, &bills.encode("bill", json!([id + 1])).expect("bill"), now_ms());
    let e = query(&rpc, c, &input, None, Some(&elsewhere)).await.unwrap_err();
    assert!(e.contains("another message"), "{e}");
    // Public data needs no signature and is not logged.
    let providers = bills.encode("providers", json!([])).expect("providers");
    assert_eq!(query(&rpc, c, &providers, None, None).await.expect("public").status, "success");

    // The access log of node 1 (0-based 0): every read above but the public one, in order.
    let log = rpc.api().access_log(NET.into(), None, None).await.expect("access log");
    let got: Vec<(Option<String>, &str)> =
        log.entries.iter().map(|e| (e.reader.clone(), e.decision.as_str())).collect();
    let who = |k: &Keypair| Some(k.account().to_string());
    let want = vec![
        (who(resident), "allowed"),
        (who(&bills.provider), "allowed"),
        (who(&auditor), "allowed"),
        (who(other), "denied"),
        (who(resident), "refused"), // unsigned
        (who(resident), "refused"), // forged signature
        (who(resident), "refused"), // another key
        (who(resident), "allowed"), // the first use of a request
        (who(resident), "refused"), // its replay
        (who(resident), "refused"), // stale
        (who(resident), "refused"), // signed for another message
    ];
    assert_eq!(got, want, "{:#?}", log.entries);
    assert_eq!(log.length, want.len() as u64);
    assert!(log.entries.iter().all(|e| e.contract == c.to_string() && e.height >= issued.height.unwrap_or(0)));
    assert!(!log.entries[4].signed && log.entries[0].signed);
    assert_eq!(log.node, Devnet::validator_id(0));
    // The other nodes answered nothing: their logs are empty.
    let log2 = net.rpc(1).expect("rpc").api().access_log(NET.into(), None, None).await.expect("log of node 2");
    assert_eq!(log2.length, 0);

    // Validator 1 anchors its log's head on chain within a few seconds (every 5 s when it grew).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let anchor = loop {
        let log = rpc.api().access_log(NET.into(), Some(0), Some(1)).await.expect("access log");
        if let Some(a) = log.anchor.clone().filter(|a| a.seq == 10) {
            break a;
        }
        assert!(std::time::Instant::now() < deadline, "no anchor of entry 10 on chain: {:?}", log.anchor);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(anchor.head, log.head, "the anchor is the head of the log");
    // Every node holds the same anchor: it is chain state.
    net.wait_same_head(std::time::Duration::from_secs(30)).await.expect("same head");
    let elsewhere = net.rpc(2).expect("rpc").api().access_log(NET.into(), None, None).await.expect("log of node 3");
    assert_eq!(elsewhere.length, 0);

    // `jjj audit access` checks the chain and prints the resident's reads, messages named.
    let meta = jjj_tests::bills::contracts_dir().join("utility_bills.json").display().to_string();
    let resident_id = resident.account().to_string();
    let out = net.jjj_ok(0, &["audit", "access", "--reader", &resident_id, "--metadata", &meta]);
    assert!(out.contains("11 entries, hash chain intact"), "{out}");
    assert!(out.contains(&format!("anchored on chain at height {} through entry 10", anchor.height)), "{out}");
    assert!(out.contains("read UtilityBills.bill of"), "{out}");
    assert!(out.contains("8 shown: 2 allowed, 0 denied by a read policy, 6 refused before it"), "{out}");
    let out = net.jjj_ok(0, &["audit", "access", "--reader", &other.account().to_string()]);
    assert!(out.contains("DENIED: read refused"), "{out}");
    // The CLI signs for its key: the resident reads the bill, the other resident is refused.
    let key = |name: &str| net.key_file(name);
    let args = |k: &str| {
        vec![
            "contract".to_string(),
            "query".into(),
            "--key".into(),
            k.to_string(),
            "--contract".into(),
            c.to_string(),
            "--metadata".into(),
            meta.clone(),
            "--message".into(),
            "bill".into(),
            "--args".into(),
            format!("[{id}]"),
        ]
    };
    let run = |k: &str| {
        let a = args(k);
        net.jjj(0, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (success, out) = run(&key(&jjj_tests::bills::resident_name(0)));
    assert!(success && out.contains("4280"), "{out}");
    let (success, out) = run(&key(&jjj_tests::bills::resident_name(1)));
    assert!(!success && out.contains("read refused"), "{out}");

    // Protected events (BillIssued): withheld from an unsigned caller and another resident,
    // served to the resident and the auditor; each such call logged.
    let events = |read: Option<String>| {
        let rpc = &rpc;
        async move {
            rpc.api()
                .contract_events(NET.into(), Some(c.to_string()), None, None, None, None, read)
                .await
                .map_err(|e| rpc.explain(e))
        }
    };
    let events_read = |k: &Keypair| {
        let r = k.sign_read(
            NetworkId::new(NET).expect("net"),
            c,
            jjj_primitives::access::EVENTS_INPUT,
            now_ms(),
            rand_nonce(),
        );
        Some(hex0x(&r.encode()))
    };
    let before = rpc.api().access_log(NET.into(), None, None).await.expect("log").length;
    assert!(events(None).await.expect("unsigned").is_empty(), "protected events withheld");
    assert_eq!(events(events_read(resident)).await.expect("resident").len(), 1, "the resident's BillIssued");
    assert_eq!(events(events_read(&auditor)).await.expect("auditor").len(), 1);
    assert!(events(events_read(other)).await.expect("other").is_empty());
    let log = rpc.api().access_log(NET.into(), Some(before), None).await.expect("log");
    let got: Vec<&str> = log.entries.iter().map(|e| e.decision.as_str()).collect();
    assert_eq!(got, vec!["refused", "allowed", "allowed", "denied"], "{:#?}", log.entries);
    assert!(log.entries.iter().all(|e| e.selector == "0xffffffff"));
}

/// A nonce no other read of this test used.
fn rand_nonce() -> u64 {
    static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 40);
    NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
