//! `jjj audit contract`: one contract's history — its code (instantiation and every upgrade
//! with the proposal that approved it, proven from the state), and every transaction that
//! called it or that it emitted events in, with the sender, the decoded message and arguments,
//! the result, the events, the value it received and its balance after the block.
use crate::history::{ExportedBlock, Fetched, Source};
use jjj_config::{parse_account, Genesis};
use jjj_light::SetHistory;
use jjj_primitives::*;
use jjj_rpc_api::{hex0x, NodeApiClient, Rpc};
use jjj_state::gov::{CodeChange, Proposal};
use jjj_transcode::LoadedMetadata;
use parity_scale_codec::DecodeAll;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(clap::Args)]
pub struct ContractArgs {
    /// The contract's address.
    pub address: String,
    /// The network's genesis file (the auditor's own copy).
    #[arg(long, env = "JJJ_GENESIS")]
    pub genesis: PathBuf,
    /// The validator-set history (`jjj follow --sets`): check every block read.
    #[arg(long)]
    pub sets: Option<PathBuf>,
    /// Read the blocks from an export instead of the node.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long)]
    pub from: Option<u64>,
    #[arg(long)]
    pub to: Option<u64>,
    /// Only calls of this message (its name, or its selector 0x… without metadata).
    #[arg(long)]
    pub method: Option<String>,
    /// Only transactions of this sender.
    #[arg(long)]
    pub sender: Option<String>,
    /// Contract metadata (JSON, repeatable) to decode messages, outputs and events.
    #[arg(long)]
    pub metadata: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Serialize)]
struct CodeVersion {
    height: u64,
    code_hash: String,
    /// 0: the instantiation.
    proposal: u64,
    proposer: Option<String>,
    approvals: Vec<String>,
}

#[derive(Serialize)]
struct CallRecord {
    height: u64,
    index: u32,
    tx: String,
    sender: String,
    /// "upload" (one of its code versions), "instantiate", "call", or "via" (another
    /// contract's call reached it).
    kind: &'static str,
    method: String,
    args: serde_json::Value,
    value: u64,
    status: String,
    reason: Option<String>,
    gas_used: u64,
    output: serde_json::Value,
    events: Vec<serde_json::Value>,
    /// The contract's balance (fen) after the block, proven; null when read from an export.
    balance_after_block: Option<u64>,
}

#[derive(Serialize)]
struct History {
    network: String,
    contract: String,
    code: Vec<CodeVersion>,
    calls: Vec<CallRecord>,
}

/// A state value at `height`, proven against that height's certified header.
async fn proven(
    rpc: &Rpc,
    genesis: &Genesis,
    history: &SetHistory,
    key: &[u8],
    height: u64,
) -> Result<Option<Vec<u8>>, String> {
    let p = rpc
        .api()
        .state_proof(genesis.network.clone(), hex0x(key), Some(height), None)
        .await
        .map_err(|e| rpc.explain(e))?;
    Ok(crate::audit::verify_state_proof(genesis, history, &p)?.value)
}

pub async fn run(rpc_url: &str, a: ContractArgs) -> Result<(), String> {
    let genesis = Genesis::load(&a.genesis)?;
    let suite = genesis.suite()?;
    let algo = suite.hash_algo();
    let (history, followed) = crate::follow::sets_or_genesis(&genesis, a.sets.as_deref())?;
    let contract = parse_account(&a.address)?;
    let sender_filter = a.sender.as_deref().map(parse_account).transpose()?;
    let metas = a.metadata.iter().map(|p| crate::contract::load_metadata(p)).collect::<Result<Vec<_>, String>>()?;
    let rpc = match &a.dir {
        None => Some(Rpc::new(rpc_url)?),
        Some(_) => None,
    };
    let source = match (&a.dir, &rpc) {
        (Some(dir), _) => Source::Dir { dir: dir.clone(), manifest: crate::history::Manifest::load(dir)? },
        (None, Some(_)) => Source::Rpc { rpc: Rpc::new(rpc_url)?, network: genesis.network.clone() },
        (None, None) => return Err("no source".into()),
    };
    let head = source.head().await?;
    let (from, to) = (a.from.unwrap_or(1).max(1), a.to.unwrap_or(head).min(head));

    // The code history, proven from the state at the last height (a node is needed for it).
    let mut code = Vec::new();
    if let Some(rpc) = &rpc {
        let changes = match proven(rpc, &genesis, &history, &jjj_state::gov::keys::code_history(&contract), to).await? {
            Some(bytes) => Vec::<CodeChange>::decode_all(&mut &bytes[..]).map_err(|e| format!("code history: {e}"))?,
            None => match proven(rpc, &genesis, &history, &jjj_state::keys::contract(&contract), to).await? {
                Some(bytes) => {
                    let info =
                        jjj_state::ContractInfo::decode_all(&mut &bytes[..]).map_err(|e| format!("contract: {e}"))?;
                    vec![CodeChange { height: info.instantiated_at, code_hash: info.code_hash, proposal: 0 }]
                }
                None => return Err(format!("no contract {contract} on {} at height {to}", genesis.network)),
            },
        };
        for c in changes {
            let (mut proposer, mut approvals) = (None, vec![]);
            if c.proposal > 0 {
                let key = jjj_state::gov::keys::proposal(c.proposal);
                if let Some(bytes) = proven(rpc, &genesis, &history, &key, to).await? {
                    let p =
                        Proposal::decode_all(&mut &bytes[..]).map_err(|e| format!("proposal {}: {e}", c.proposal))?;
                    proposer = Some(p.proposer.to_string());
                    approvals = p.approvals.iter().map(|a| a.to_string()).collect();
                }
            }
            code.push(CodeVersion {
                height: c.height,
                code_hash: c.code_hash.to_string(),
                proposal: c.proposal,
                proposer,
                approvals,
            });
        }
    }

    // Every transaction that reached the contract.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Fetched>(64);
    let altered = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = tokio::spawn(source.stream(from, to, tx, altered.clone()));
    let mut calls = Vec::new();
    let mut verified_blocks = 0u64;
    let code_hashes: Vec<&str> = code.iter().map(|c| c.code_hash.as_str()).collect();
    while let Some(item) = rx.recv().await {
        let (h, record) = item?;
        if followed {
            check_certified(suite, &history, &record)?;
            verified_blocks += 1;
        }
        collect(algo, &contract, &code_hashes, &metas, h, &record, &mut calls);
        if h == to {
            break;
        }
    }
    reader.abort();
    let altered = altered.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    if !altered.is_empty() {
        return Err(format!("range file(s) {} differ from the export's checksums", altered.join(", ")));
    }
    calls.retain(|c| {
        a.method.as_ref().is_none_or(|m| c.method == *m) && sender_filter.is_none_or(|s| c.sender == s.to_string())
    });
    // The contract's balance after each block it was called in, proven.
    if let Some(rpc) = &rpc {
        let mut balances: BTreeMap<u64, u64> = BTreeMap::new();
        for c in &mut calls {
            if let std::collections::btree_map::Entry::Vacant(e) = balances.entry(c.height) {
                let key = jjj_state::keys::account(&contract);
                let account = match proven(rpc, &genesis, &history, &key, c.height).await? {
                    Some(bytes) => jjj_state::Account::decode_all(&mut &bytes[..]).map_err(|e| e.to_string())?,
                    None => jjj_state::Account::default(),
                };
                e.insert(account.balance);
            }
            c.balance_after_block = balances.get(&c.height).copied();
        }
    }
    let out = History { network: genesis.network.clone(), contract: contract.to_string(), code, calls };
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?),
        Format::Csv => print_csv(&out),
        Format::Table => {
            print_table(&out, from, to);
            if followed {
                println!("{verified_blocks} blocks checked against the validator set of their height");
            } else {
                println!("(blocks not checked: give --sets from `jjj follow` to check each against its certificate)");
            }
        }
    }
    Ok(())
}

/// A block read from a source is the certified one: its certificate (by the set of its height)
/// and its transactions and receipts under the header's roots.
fn check_certified(suite: jjj_crypto::Suite, history: &SetHistory, r: &ExportedBlock) -> Result<(), String> {
    let algo = suite.hash_algo();
    let h = &r.block.header;
    let cert = jjj_consensus::CommitCertificate::decode_all(&mut &r.certificate[..])
        .map_err(|e| format!("height {}: certificate: {e}", h.height))?;
    history.verify_header(suite, h, Some(&cert)).map_err(|e| e.to_string())?;
    if merkle_root(algo, r.block.transactions.iter().map(|t| t.hash(algo))) != h.tx_root
        || merkle_root(algo, r.receipts.iter().map(|x| x.hash(algo))) != h.receipts_root
    {
        return Err(format!("height {}: the transactions or receipts are not the certified ones", h.height));
    }
    Ok(())
}

fn collect(
    algo: HashAlgo,
    contract: &AccountId,
    code_hashes: &[&str],
    metas: &[LoadedMetadata],
    height: u64,
    r: &ExportedBlock,
    out: &mut Vec<CallRecord>,
) {
    for (i, (stx, receipt)) in r.block.transactions.iter().zip(&r.receipts).enumerate() {
        if let Call::UploadCode { code } = &stx.tx.call {
            let hash = algo.hash(code).to_string();
            if code_hashes.contains(&hash.as_str()) {
                out.push(upload_record(algo, height, i as u32, stx, receipt, hash, code.len()));
            }
            continue;
        }
        let (kind, input, value) = match &stx.tx.call {
            Call::Call { contract: c, input, value } if c == contract => ("call", input.as_slice(), *value),
            Call::Instantiate { input, value, .. } if receipt.output.get(..32) == Some(&contract.0[..]) => {
                ("instantiate", input.as_slice(), *value)
            }
            _ if receipt.events.iter().any(|e| e.contract == *contract) => ("via", &[][..], 0),
            _ => continue,
        };
        let meta = metas.iter().find(|m| match kind {
            "instantiate" => jjj_transcode::decode_deploy(m, input).is_ok(),
            _ => jjj_transcode::decode_call(m, input).is_ok(),
        });
        let decoded = meta.and_then(|m| match kind {
            "instantiate" => jjj_transcode::decode_deploy(m, input).ok(),
            _ => jjj_transcode::decode_call(m, input).ok(),
        });
        let (method, args) = match (&decoded, kind) {
            (Some(d), _) => (d.name.clone(), d.args.clone()),
            (None, "via") => (format!("via {}", stx.tx.call.kind()), serde_json::Value::Null),
            (None, _) => (input.get(..4).map(hex0x).unwrap_or_default(), serde_json::Value::String(hex0x(input))),
        };
        let output = match (meta, &decoded, receipt.is_success(), kind) {
            (Some(m), Some(d), true, "call") => jjj_transcode::decode_output(m, &d.name, &receipt.output)
                .unwrap_or_else(|_| hex0x(&receipt.output).into()),
            _ => hex0x(&receipt.output).into(),
        };
        let event_meta = metas.iter().find(|m| m.events.is_some() && meta.is_none_or(|x| std::ptr::eq(*m, x)));
        let events = receipt
            .events
            .iter()
            .filter(|e| e.contract == *contract)
            .map(|e| {
                event_meta
                    .and_then(|m| jjj_transcode::decode_event(m, &e.data).ok())
                    .unwrap_or_else(|| hex0x(&e.data).into())
            })
            .collect();
        out.push(CallRecord {
            height,
            index: i as u32,
            tx: stx.hash(algo).to_string(),
            sender: stx.tx.sender.to_string(),
            kind,
            method,
            args,
            value,
            status: match &receipt.status {
                ReceiptStatus::Success => "success",
                ReceiptStatus::Reverted(_) => "reverted",
                ReceiptStatus::Failed(_) => "failed",
            }
            .into(),
            reason: receipt.reason().map(str::to_string),
            gas_used: receipt.gas_used,
            output,
            events,
            balance_after_block: None,
        });
    }
}

/// The upload of one of the contract's code versions.
fn upload_record(
    algo: HashAlgo,
    height: u64,
    index: u32,
    stx: &SignedTransaction,
    receipt: &Receipt,
    code_hash: String,
    bytes: usize,
) -> CallRecord {
    CallRecord {
        height,
        index,
        tx: stx.hash(algo).to_string(),
        sender: stx.tx.sender.to_string(),
        kind: "upload",
        method: "upload_code".into(),
        args: serde_json::json!({ "code_hash": code_hash, "bytes": bytes }),
        value: 0,
        status: if receipt.is_success() { "success" } else { "failed" }.into(),
        reason: receipt.reason().map(str::to_string),
        gas_used: receipt.gas_used,
        output: serde_json::Value::Null,
        events: vec![],
        balance_after_block: None,
    }
}

fn print_table(h: &History, from: u64, to: u64) {
    println!("contract {} on {}", h.contract, h.network);
    for c in &h.code {
        match c.proposal {
            0 => println!("  code {} instantiated at height {}", c.code_hash, c.height),
            p => println!(
                "  code {} from height {}: upgrade approved by proposal #{p} (proposed by {}, approved by {})",
                c.code_hash,
                c.height,
                c.proposer.as_deref().unwrap_or("?"),
                c.approvals.join(", ")
            ),
        }
    }
    println!("{} transaction(s) in heights {from}..={to}:", h.calls.len());
    for c in &h.calls {
        let outcome = match &c.reason {
            None => format!("{} → {}", c.status, c.output),
            Some(r) => format!("{}: {r}", c.status),
        };
        let balance = c.balance_after_block.map_or(String::new(), |b| format!(", balance after the block {b} fen"));
        println!(
            "  #{}.{} {} {} {}({}) value {} fen: {outcome}, {} gas, {} event(s){balance}",
            c.height,
            c.index,
            c.sender,
            c.kind,
            c.method,
            if c.args.is_null() { String::new() } else { c.args.to_string() },
            c.value,
            c.gas_used,
            c.events.len()
        );
        for e in &c.events {
            println!("      event {e}");
        }
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn print_csv(h: &History) {
    println!("height,index,tx,sender,kind,method,args,value,status,reason,gas_used,output,events,balance_after_block");
    for c in &h.calls {
        let fields = [
            c.height.to_string(),
            c.index.to_string(),
            c.tx.clone(),
            c.sender.clone(),
            c.kind.to_string(),
            c.method.clone(),
            if c.args.is_null() { String::new() } else { c.args.to_string() },
            c.value.to_string(),
            c.status.clone(),
            c.reason.clone().unwrap_or_default(),
            c.gas_used.to_string(),
            c.output.to_string(),
            serde_json::Value::Array(c.events.clone()).to_string(),
            c.balance_after_block.map(|b| b.to_string()).unwrap_or_default(),
        ];
        println!("{}", fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
    }
}
