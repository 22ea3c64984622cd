//! The consortium layer end to end: four real validators, the `jjj` CLI and JSON-RPC.
//! - an unregistered key is refused (1007), registered by its member's registrar, then accepted;
//! - every role tries to upload code over RPC: only the deployer may;
//! - a role granted by a 2-of-3 proposal (on chain), an official name registered with an
//!   approval gathered off chain, a contract frozen and unfrozen, all through `jjj` commands;
//! - a method policy set by proposal (`jjj permission set`): every role calls the method over
//!   RPC and only the role it names reaches the contract;
//! - the governance history over `gov_proposals`.
use jjj_crypto::Keypair;
use jjj_primitives::gov::roles;
use jjj_primitives::{Call, NetworkId, Transaction};
use jjj_rpc_api::{hex0x, ErrorCode, NodeApiClient, Rpc};
use jjj_tests::devnet::{proposal_id, Devnet, DevnetConfig, NET};
use parity_scale_codec::Encode;

fn jjj(net: &Devnet, args: &[&str]) -> (bool, String) {
    net.jjj(0, args)
}

fn ok(net: &Devnet, args: &[&str]) -> String {
    let (success, text) = jjj(net, args);
    assert!(success, "jjj {args:?} failed:\n{text}");
    text
}

fn key(net: &Devnet, name: &str) -> String {
    net.key_file(name)
}

fn counter_wasm() -> String {
    jjj_tests::bills::contracts_dir().join("counter.wasm").display().to_string()
}

/// Submits a signed call; `Err` is the node's refusal, "message (code N)".
async fn send(rpc: &Rpc, k: &Keypair, nonce: u64, call: Call) -> Result<String, String> {
    let network = NetworkId::new(NET).expect("net");
    let tx = Transaction { network, sender: k.account(), nonce, gas_limit: 150_000_000, call };
    rpc.api().submit_tx(NET.into(), hex0x(&k.sign_tx(tx).encode())).await.map_err(|e| rpc.explain(e))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_register_accounts_roles_gate_actions_and_proposals_govern() {
    let mut accounts: Vec<(String, u64)> =
        vec![("bj-registrar@beijing+registrar".into(), 0), ("deployer@beijing+deployer".into(), 1_000)];
    for role in roles::KNOWN {
        accounts.push((format!("has-{role}@hebei+{role}"), 0));
    }
    let net = Devnet::start(DevnetConfig::direct(32600, accounts)).await.expect("devnet");
    let rpc = net.rpc(0).expect("rpc");

    // An unregistered key is refused with its code; the registrar registers it; then it sends.
    let nk = net.dir.join("newcomer.key").display().to_string();
    let scheme = jjj_tests::suite().scheme().name();
    let id = ok(&net, &["key", "new", "--scheme", scheme, "--out", &nk]).trim().to_string();
    let (success, text) = jjj(&net, &["transfer", "--key", &nk, "--to", &id, "--amount", "0"]);
    assert!(!success && text.contains(&format!("code {}", ErrorCode::UnknownSender.code())), "{text}");
    assert!(text.contains("registered"), "{text}");
    let registrar = key(&net, "bj-registrar");
    let (success, text) = jjj(
        &net,
        &["account", "register", "--key", &registrar, "--account", &id, "--member", "beijing", "--role", "deployer"],
    );
    assert!(!success && text.contains("granted by proposal"), "members may not give deployer:\n{text}");
    ok(
        &net,
        &["account", "register", "--key", &registrar, "--account", &id, "--member", "beijing", "--role", "resident"],
    );
    ok(&net, &["transfer", "--key", &nk, "--to", &id, "--amount", "0"]);
    let reg = rpc.api().gov_account(NET.into(), id.clone()).await.expect("gov_account").expect("registered");
    assert_eq!((reg.member.as_str(), reg.roles.clone()), ("beijing", vec!["resident".to_string()]));

    // The permission matrix over RPC: every role uploads the same code at once; only the
    // deployer's upload succeeds, every other is a failed receipt naming the missing role.
    let code = std::fs::read(counter_wasm()).expect("counter.wasm");
    let mut pending = Vec::new();
    for role in roles::KNOWN {
        let k = jjj_tests::dev_key(&format!("has-{role}"));
        let h = send(&rpc, &k, 0, Call::UploadCode { code: code.clone() }).await.expect("admitted");
        pending.push((role, h));
    }
    for (role, h) in pending {
        let r = rpc.api().receipt(NET.into(), h, Some(30_000)).await.expect("receipt").expect("final");
        if role == roles::DEPLOYER {
            assert_eq!(r.status, "success", "{role}: {r:?}");
        } else {
            let why = r.reason.unwrap_or_default();
            assert!(why.contains("upload needs role deployer") && why.contains(role), "{role}: {why}");
        }
    }

    // A refused deploy through the CLI, then the role granted by proposal: Beijing proposes
    // (1 of 3 members), Tianjin approves (2 of 3: executed), and the deploy goes through.
    let wasm = counter_wasm();
    let (success, text) = jjj(&net, &["contract", "deploy", "--key", &nk, "--wasm", &wasm, "--args", "[1]"]);
    assert!(!success && text.contains("permission denied"), "{text}");
    let bj = key(&net, "beijing-admin");
    let tj = key(&net, "tianjin-admin");
    let text = ok(&net, &["role", "grant", "--key", &bj, "--account", &id, "--role", "deployer", "--memo", "e2e"]);
    assert!(text.contains("grant_role [1/2 approving"), "{text}");
    let pid = proposal_id(&text);
    let text = ok(&net, &["proposal", "approve", &pid, "--key", &tj]);
    assert!(text.contains("executed"), "{text}");
    let out = ok(&net, &["contract", "deploy", "--key", &nk, "--wasm", &wasm, "--args", "[1]"]);
    let address = out.lines().last().expect("address").trim().to_string();

    // An official name with an approval gathered off chain: executes as it is proposed. The
    // hash and the submission carry the same expiry height.
    let register_name = |before: &[&str]| {
        let mut args = vec!["proposal", "new", "--key", &bj, "--expires-at", "100000"];
        args.extend_from_slice(before);
        args.extend_from_slice(&["register-name", "counter", "--address", &address]);
        ok(&net, &args)
    };
    let hash = register_name(&["--hash-only"]);
    let hash = hash.lines().next().expect("hash").trim().to_string();
    let approval = ok(&net, &["proposal", "sign", "--hash", &hash, "--key", &tj]);
    let approval = approval.lines().next().expect("approval").trim().to_string();
    let text = register_name(&["--approval", &approval]);
    assert!(text.contains("executed"), "{text}");
    assert_eq!(ok(&net, &["registry", "counter"]).trim(), address);

    // Freeze: a call fails with the reason; unfreeze: it works again.
    ok(&net, &["contract", "freeze", "--key", &bj, &address]);
    let text = ok(&net, &["proposal", "approve", &(pid.parse::<u64>().expect("id") + 2).to_string(), "--key", &tj]);
    assert!(text.contains("executed"), "{text}");
    let info = rpc.api().contract_info(NET.into(), address.clone()).await.expect("info").expect("contract");
    assert!(info.frozen);
    let metadata = jjj_tests::bills::contracts_dir().join("counter.json").display().to_string();
    let call = [
        "contract",
        "call",
        "--key",
        &nk,
        "--contract",
        &address,
        "--metadata",
        &metadata,
        "--message",
        "bump",
        "--args",
        "[1]",
    ];
    let (success, text) = jjj(&net, &call);
    assert!(!success && text.contains("frozen by governance"), "{text}");
    ok(&net, &["contract", "unfreeze", "--key", &bj, &address]);
    let text = ok(&net, &["proposal", "approve", &(pid.parse::<u64>().expect("id") + 3).to_string(), "--key", &tj]);
    assert!(text.contains("executed"), "{text}");
    ok(&net, &call);

    // A function permission over RPC: `bump` only for residents, set by proposal; then every
    // role calls it at once and exactly the resident's call reaches the contract.
    let text =
        ok(&net, &["permission", "set", "--key", &bj, "--action", &format!("{address}:bump"), "--role", "resident"]);
    let p = proposal_id(&text);
    assert!(ok(&net, &["proposal", "approve", &p, "--key", &tj]).contains("executed"));
    let bytes: [u8; 32] = jjj_rpc_api::unhex(&address).expect("hex").try_into().expect("32 bytes");
    let contract = jjj_primitives::AccountId(bytes);
    let mut bump = jjj_crypto::blake2_256(b"bump").0[..4].to_vec();
    bump.extend(1u64.encode());
    let mut pending = Vec::new();
    for role in roles::KNOWN {
        let k = jjj_tests::dev_key(&format!("has-{role}"));
        let nonce = rpc.api().account(NET.into(), k.account().to_string()).await.expect("account").nonce;
        let call = Call::Call { contract, input: bump.clone(), value: 0 };
        pending.push((role, send(&rpc, &k, nonce, call).await.expect("admitted")));
    }
    for (role, h) in pending {
        let r = rpc.api().receipt(NET.into(), h, Some(30_000)).await.expect("receipt").expect("final");
        let why = r.reason.clone().unwrap_or_default();
        if role == roles::RESIDENT {
            assert_eq!(r.status, "success", "{role}: {r:?}");
        } else {
            assert!(why.contains("permission denied") && why.contains("needs role resident"), "{role}: {why}");
        }
    }

    // The history, newest first, and the rules as the CLI prints them.
    let history = rpc.api().gov_proposals(NET.into(), None, None, None).await.expect("proposals");
    let kinds: Vec<&str> = history.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(kinds, ["set_permission", "unfreeze", "freeze", "register_name", "grant_role"]);
    assert!(history.iter().all(|p| p.status == "executed"), "{history:?}");
    let text = ok(&net, &["permission", "show"]);
    assert!(text.contains("upload") && text.contains("role deployer (default)"), "{text}");
    let text = ok(&net, &["member", "list"]);
    assert!(text.contains("京 beijing") && text.contains("冀 hebei"), "{text}");
}
