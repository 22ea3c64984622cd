//! `jjj bench`: a load generator of signed bill payments over RPC.
//!
//! Setup (not measured): deploy utility-bills (the funder needs the `deployer` role), register
//! `accounts` residents under the funder's member (it needs `registrar` there) and fund them;
//! the provider (an account the alliance made a `utility-provider`) registers itself with the
//! contract and issues one bill per payment. Load (measured): every payment pre-signed, then sent at
//! `rate` tx/s spread over the given RPC endpoints; finality is observed by following the
//! finalised blocks. Reports submitted and finalised tx/s, success rate and p50/p99 latency from
//! submission to finality. Calls are encoded from JSON through the contract's metadata.
use crate::tx::{now_ms, submit_and_wait};
use jjj_crypto::Keypair;
use jjj_primitives::*;
use jjj_rpc_api::{hex0x, HeaderJson, NodeApiClient, ReceiptJson, Rpc};
use parity_scale_codec::{Decode, Encode};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DAY_MS: u64 = 86_400_000;

pub struct BenchArgs {
    pub rpcs: Vec<String>,
    pub network: String,
    pub funder: Keypair,
    /// An account holding the alliance's `utility-provider` role.
    pub provider: Keypair,
    pub wasm: Vec<u8>,
    /// utility-bills' metadata (`jjj contract build` writes it next to the wasm).
    pub metadata: jjj_transcode::LoadedMetadata,
    pub accounts: usize,
    pub txs: usize,
    pub rate: u64,
}

/// Sends many transactions from one sender, in windows the mempool accepts, waiting for each.
async fn send_many(rpc: &Rpc, network: &str, key: &Keypair, calls: Vec<Call>, gas: u64) -> Result<(), String> {
    let net = NetworkId::new(network)?;
    let acct: serde_json::Value =
        rpc.call("state_getAccount", json!({"network": network, "account": key.account().to_string()})).await?;
    let mut nonce = acct["nonce"].as_u64().unwrap_or(0);
    for chunk in calls.chunks(500) {
        let mut last = String::new();
        for call in chunk {
            let stx = key.sign_tx(Transaction {
                network: net.clone(),
                sender: key.account(),
                nonce,
                gas_limit: gas,
                call: call.clone(),
            });
            nonce += 1;
            last = rpc.call("tx_submit", json!({"network": network, "tx": hex0x(&stx.encode())})).await?;
        }
        let r: Option<ReceiptJson> =
            rpc.call("tx_receipt", json!({"network": network, "hash": last, "wait_ms": 60_000})).await?;
        match r {
            Some(r) if r.status == "success" => {}
            Some(r) => return Err(format!("setup transaction failed: {:?}", r.reason)),
            None => return Err("setup transaction not finalised".into()),
        }
    }
    Ok(())
}

/// The input of a call of `message` with JSON arguments.
fn encode(meta: &jjj_transcode::LoadedMetadata, message: &str, args: serde_json::Value) -> Result<Vec<u8>, String> {
    jjj_transcode::encode_call(meta, message, &args).map_err(|e| format!("{message}: {e}"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn run(a: BenchArgs) -> Result<(), String> {
    let rpcs: Vec<Rpc> = a.rpcs.iter().map(|u| Rpc::new(u)).collect::<Result<_, _>>()?;
    let rpc = &rpcs[0];
    let net = a.network.as_str();
    eprintln!("setup: deploying utility-bills, {} residents, {} bills…", a.accounts, a.txs);
    let setup_started = Instant::now();
    let provider = &a.provider;
    let funder_reg = rpc
        .api()
        .gov_account(net.into(), a.funder.account().to_string())
        .await
        .map_err(|e| rpc.explain(e))?
        .ok_or_else(|| format!("the funder {} is not registered on {net}", a.funder.account()))?;
    // The funder's scheme is the network's: the residents' keys and the code hash follow it.
    let suite = a.funder.scheme().suite();
    let residents: Vec<Keypair> =
        (0..a.accounts).map(|i| Keypair::named(suite.scheme(), &format!("bench-resident-{i}"))).collect();
    let code_hash = suite.hash_algo().hash(&a.wasm);
    let r = submit_and_wait(rpc, net, &a.funder, Call::UploadCode { code: a.wasm.clone() }, 100_000_000).await?;
    if r.status != "success" && !r.reason.as_deref().unwrap_or("").contains("already uploaded") {
        return Err(format!("upload: {:?}", r.reason));
    }
    let meta = &a.metadata;
    let input = jjj_transcode::encode_constructor(meta, "new", &json!([])).map_err(|e| format!("new: {e}"))?;
    let r = submit_and_wait(rpc, net, &a.funder, Call::Instantiate { code_hash, input, value: 0 }, 50_000_000).await?;
    let out = hex::decode(r.output.trim_start_matches("0x")).map_err(|e| e.to_string())?;
    let bills = AccountId::decode(&mut &out[..]).map_err(|e| format!("instantiate: {e} ({:?})", r.reason))?;
    // Residents new to the chain are registered (an earlier run may have done it), then funded.
    let mut funding: Vec<Call> = Vec::new();
    for k in &residents {
        let known = rpc.api().gov_account(net.into(), k.account().to_string()).await.map_err(|e| rpc.explain(e))?;
        if known.is_none() {
            funding.push(Call::RegisterAccount {
                account: k.account(),
                member: funder_reg.member.clone(),
                roles: vec!["resident".into()],
            });
        }
    }
    funding.extend(residents.iter().map(|k| Call::Transfer { to: k.account(), amount: 1_000_000 }));
    send_many(rpc, net, &a.funder, funding, 5_000_000).await?;
    // The contract takes a provider's region only if it is its member's.
    let provider_reg = rpc
        .api()
        .gov_account(net.into(), provider.account().to_string())
        .await
        .map_err(|e| rpc.explain(e))?
        .ok_or_else(|| format!("the provider {} is not registered on {net}", provider.account()))?;
    let members = rpc.api().gov_members(net.into()).await.map_err(|e| rpc.explain(e))?;
    let region = members
        .iter()
        .find(|m| m.id == provider_reg.member)
        .map(|m| match m.region.as_str() {
            "tianjin" => "Tianjin",
            "hebei" => "Hebei",
            _ => "Beijing",
        })
        .ok_or_else(|| format!("no member {} on {net}", provider_reg.member))?;
    let register = encode(
        meta,
        "register_provider",
        json!([provider.account().to_string(), "bench water", region, ["Water"], 0]),
    )?;
    send_many(rpc, net, provider, vec![Call::Call { contract: bills, input: register, value: 0 }], 5_000_000).await?;
    let due = now_ms() + 30 * DAY_MS;
    let issues: Vec<Call> = (0..a.txs)
        .map(|i| {
            let args = json!([
                residents[i % a.accounts].account().to_string(),
                "Water",
                100 + (i as u64 % 900),
                "2026-11",
                due
            ]);
            Ok(Call::Call { contract: bills, input: encode(meta, "issue_bill", args)?, value: 0 })
        })
        .collect::<Result<_, String>>()?;
    send_many(rpc, net, provider, issues, 5_000_000).await?;
    eprintln!("setup done in {:.1} s", setup_started.elapsed().as_secs_f64());

    // Pre-sign every payment: bill i+1 by resident i % accounts, in nonce order per resident.
    let netid = NetworkId::new(net)?;
    let mut nonces = vec![0u64; a.accounts];
    for (i, k) in residents.iter().enumerate() {
        let v: serde_json::Value =
            rpc.call("state_getAccount", json!({"network": net, "account": k.account().to_string()})).await?;
        nonces[i] = v["nonce"].as_u64().unwrap_or(0);
    }
    let mut payments = Vec::with_capacity(a.txs);
    for i in 0..a.txs {
        let r = i % a.accounts;
        let amount = 100 + (i as u64 % 900);
        let stx = residents[r].sign_tx(Transaction {
            network: netid.clone(),
            sender: residents[r].account(),
            nonce: nonces[r],
            gas_limit: 2_000_000,
            call: Call::Call { contract: bills, input: encode(meta, "pay", json!([i as u64 + 1]))?, value: amount },
        });
        nonces[r] += 1;
        payments.push((stx.hash(suite.hash_algo()).to_string(), hex0x(&stx.encode())));
    }
    let start_head: HeaderJson = rpc.call("chain_getFinalizedHead", json!({"network": net})).await?;

    // Load: paced submission, several concurrent senders.
    let submitted: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
    let refused = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / a.rate.max(1) as f64);
    let mut handles = Vec::new();
    let (tx, rx) = tokio::sync::mpsc::channel::<(String, String)>(10_000);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    for w in 0..32usize {
        let rx = rx.clone();
        let client = rpcs[w % rpcs.len()].clone();
        let submitted = submitted.clone();
        let refused = refused.clone();
        let network = net.to_string();
        handles.push(tokio::spawn(async move {
            loop {
                let next = rx.lock().await.recv().await;
                let Some((hash, hex)) = next else { break };
                let t = Instant::now();
                match client.call::<String>("tx_submit", json!({"network": network, "tx": hex})).await {
                    Ok(_) => {
                        if let Ok(mut m) = submitted.lock() {
                            m.insert(hash, t);
                        }
                    }
                    Err(e) => {
                        if refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 3 {
                            eprintln!("refused: {e}");
                        }
                    }
                }
            }
        }));
    }
    let feeder = tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for p in payments {
            tick.tick().await;
            if tx.send(p).await.is_err() {
                break;
            }
        }
    });
    // Follow finalised blocks until every accepted payment is final (or 60 s without progress).
    let mut latencies = Vec::new();
    let mut finalised_at = HashMap::new();
    let mut next = start_head.height + 1;
    let mut last_progress = Instant::now();
    let mut last_final = started;
    loop {
        let head: HeaderJson = rpc.call("chain_getFinalizedHead", json!({"network": net})).await?;
        while next <= head.height {
            let b: serde_json::Value = rpc.call("chain_getBlock", json!({"network": net, "height": next})).await?;
            let now = Instant::now();
            for t in b["transactions"].as_array().into_iter().flatten() {
                if let Some(h) = t["hash"].as_str() {
                    finalised_at.insert(h.to_string(), now);
                }
            }
            next += 1;
            last_progress = now;
            last_final = now;
        }
        let sent_done = feeder.is_finished() && handles.iter().all(|h| h.is_finished());
        let accepted = submitted.lock().map(|m| m.len()).unwrap_or(0);
        let done =
            finalised_at.keys().filter(|h| submitted.lock().map(|m| m.contains_key(*h)).unwrap_or(false)).count();
        if sent_done && done >= accepted {
            break;
        }
        if last_progress.elapsed() > Duration::from_secs(60) {
            eprintln!("no progress for 60 s: stopping");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let submit_secs = {
        let m = submitted.lock().map_err(|_| "lock")?;
        m.values().max().map(|t| t.duration_since(started).as_secs_f64()).unwrap_or(0.0).max(1e-9)
    };
    // A copy: the receipts below are awaited, and a lock must not be held across that.
    let m = submitted.lock().map_err(|_| "lock")?.clone();
    for (h, t) in m.iter() {
        if let Some(f) = finalised_at.get(h) {
            latencies.push(f.duration_since(*t));
        }
    }
    latencies.sort();
    // Success: receipts of a sample (all if ≤ 2,000).
    let mut ok = 0usize;
    let sample: Vec<&String> = m.keys().take(2_000).collect();
    for h in &sample {
        let r: Option<ReceiptJson> = rpc.call("tx_receipt", json!({"network": net, "hash": h})).await?;
        if r.is_some_and(|r| r.status == "success") {
            ok += 1;
        }
    }
    let final_secs = last_final.duration_since(started).as_secs_f64().max(1e-9);
    let refused = refused.load(std::sync::atomic::Ordering::Relaxed);
    println!("| metric | value |");
    println!("|---|---:|");
    println!("| payments sent | {} at a target of {} tx/s over {} endpoint(s) |", a.txs, a.rate, rpcs.len());
    println!("| accepted / refused | {} / {refused} |", m.len());
    println!("| submitted tx/s | {:.0} |", m.len() as f64 / submit_secs);
    println!("| finalised | {} |", latencies.len());
    println!("| finalised tx/s | {:.0} |", latencies.len() as f64 / final_secs);
    println!(
        "| success rate (receipts, {} checked) | {:.1} % |",
        sample.len(),
        100.0 * ok as f64 / sample.len().max(1) as f64
    );
    println!("| finality latency p50 | {:.0} ms |", percentile(&latencies, 0.5).as_secs_f64() * 1e3);
    println!("| finality latency p99 | {:.0} ms |", percentile(&latencies, 0.99).as_secs_f64() * 1e3);
    println!("| blocks | {} |", next - start_head.height - 1);
    Ok(())
}
