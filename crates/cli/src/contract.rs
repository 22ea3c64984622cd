//! `jjj contract …`: scaffold, build, check, deploy, call, query, dry-run contracts and read their events,
//! with arguments and results as JSON through the contract's metadata.
use crate::tx::{now_ms, status_to_result, submit_and_wait};
use clap::{Args, Subcommand};
use jjj_config::{load_key, parse_account};
use jjj_crypto::blake2_256;
use jjj_executive::Runtime;
use jjj_primitives::access;
use jjj_primitives::gov::{GovAction, ProposalBody};
use jjj_primitives::*;
use jjj_rpc_api::{hex0x, NodeApiClient, ReceiptJson, Rpc};
use parity_scale_codec::{Decode, Encode};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum ContractCmd {
    /// Write a new contract crate to start from: DIR/NAME, standalone (its own workspace), with
    /// a native and a wasm test.
    New {
        name: String,
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The SDK as a path dependency: a jjj checkout's sdk-contracts (default: the checkout
        /// of this jjj binary).
        #[arg(long)]
        sdk_path: Option<PathBuf>,
        /// The SDK (and testkit) as a git dependency from this repository instead.
        #[arg(long)]
        sdk_git: Option<String>,
    },
    /// Build contracts to wasm reproducibly (prints size and code hash) and write each one's
    /// metadata JSON next to its wasm.
    Build {
        /// Contract packages (default: every contract crate of the workspace).
        contracts: Vec<String>,
        /// A contract's Cargo.toml, or a workspace's (default: the workspace of the current
        /// directory).
        #[arg(long)]
        manifest_path: Option<PathBuf>,
        /// Output directory (default: $JJJ_CONTRACTS_DIR, or target/contracts under the
        /// workspace root).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Validate a wasm file as the chain would at upload: size, code hash, limits, imports.
    Check { wasm: PathBuf },
    /// Upload (if new) and instantiate a contract; prints its address.
    Deploy {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        wasm: PathBuf,
        /// Metadata JSON (default: the wasm path with .json).
        #[arg(long)]
        metadata: Option<PathBuf>,
        #[arg(long, default_value = "new")]
        constructor: String,
        /// Constructor arguments as JSON (array or object).
        #[arg(long, default_value = "[]")]
        args: String,
        #[arg(long, default_value_t = 0)]
        value: u64,
    },
    /// Call a message in a transaction and wait for its receipt.
    Call(CallArgs),
    /// Read-only call at the latest (or a given) height; nothing is stored. With --key, a
    /// signed read request makes the key's account the caller, so protected messages (bills,
    /// manifests…) apply their read policy to it; each such read is in the node's access log.
    Query(CallArgs),
    /// Execute without storing: exact gas, output or revert reason, debug messages.
    DryRun(CallArgs),
    /// Propose new code for a contract (uploaded first if new); its storage is kept. The chain
    /// refuses code whose storage layout cannot read the contract's data, naming the item.
    Upgrade {
        #[command(flatten)]
        opts: crate::gov::ProposeOpts,
        #[arg(long)]
        contract: String,
        /// The new code, built by `jjj contract build` (which embeds the storage layout the
        /// chain checks the upgrade against).
        #[arg(long)]
        wasm: PathBuf,
        /// A key with the deployer role that uploads the code, when the proposer (often a
        /// member's admin) may not upload (default: --key).
        #[arg(long)]
        uploader: Option<PathBuf>,
    },
    /// Propose to freeze a contract: every call to it fails until unfrozen.
    Freeze {
        #[command(flatten)]
        opts: crate::gov::ProposeOpts,
        contract: String,
    },
    /// Propose to unfreeze a contract.
    Unfreeze {
        #[command(flatten)]
        opts: crate::gov::ProposeOpts,
        contract: String,
    },
    /// The code a contract ran: instantiation, then each upgrade.
    History { contract: String },
    /// Events of a contract, decoded with its metadata (protected ones only with --key, for
    /// the accounts they name and auditors).
    Events {
        #[arg(long)]
        contract: String,
        #[arg(long)]
        metadata: Option<PathBuf>,
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long)]
        to: Option<u64>,
        /// Sign a read request with this key: protected events (bills…) whose topics name its
        /// account, or all of them for an auditor, are shown too.
        #[arg(long)]
        key: Option<PathBuf>,
    },
}

#[derive(Args, Clone)]
pub struct CallArgs {
    /// Signing key. A call is signed with it; a query or dry run sends a read request signed
    /// with it, so the contract sees its account as the caller and a protected message
    /// (`#[message(query, protected)]`: bills, manifests…) applies its read policy to it.
    /// Without a key, a query runs as nobody and protected messages are refused.
    #[arg(long)]
    pub key: Option<PathBuf>,
    #[arg(long)]
    pub contract: String,
    #[arg(long)]
    pub metadata: PathBuf,
    #[arg(long)]
    pub message: String,
    /// Arguments as JSON (array or object).
    #[arg(long, default_value = "[]")]
    pub args: String,
    #[arg(long, default_value_t = 0)]
    pub value: u64,
    /// Gas limit (default: a dry run's gas plus 20 %).
    #[arg(long)]
    pub gas: Option<u64>,
    /// Query at this finalised height.
    #[arg(long)]
    pub at: Option<u64>,
}

pub fn report_receipt(r: &ReceiptJson, meta: Option<&jjj_transcode::LoadedMetadata>, message: Option<&str>) {
    match r.height {
        Some(h) => println!("{} in block {h} (tx {}), gas {}", r.status, r.tx_hash, r.gas_used),
        None => println!("{} (dry run), gas {}", r.status, r.gas_used),
    }
    if let Some(reason) = &r.reason {
        println!("reason: {reason}");
    }
    if r.status == "success" {
        if let (Some(meta), Some(msg)) = (meta, message) {
            let out = hex::decode(r.output.trim_start_matches("0x")).unwrap_or_default();
            match jjj_transcode::decode_output(meta, msg, &out) {
                Ok(v) if !v.is_null() => println!("output: {v}"),
                Ok(_) => {}
                Err(e) => println!("output: {} (undecoded: {e})", r.output),
            }
        }
    }
    for e in &r.events {
        let data = hex::decode(e.data.trim_start_matches("0x")).unwrap_or_default();
        match meta.map(|m| jjj_transcode::decode_event(m, &data)) {
            Some(Ok(v)) => println!("event: {v}"),
            _ => println!("event from {}: {}", e.contract, e.data),
        }
    }
    for d in &r.debug {
        println!("debug: {d}");
    }
}

pub fn load_metadata(path: &Path) -> Result<jjj_transcode::LoadedMetadata, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read metadata {}: {e}", path.display()))?;
    jjj_transcode::LoadedMetadata::from_json(&text)
        .map_err(|e| format!("metadata {} is not valid: {e}", path.display()))
}

pub async fn run(rpc_url: &str, net: &str, c: ContractCmd) -> Result<(), String> {
    match c {
        ContractCmd::New { name, dir, sdk_path, sdk_git } => {
            crate::scaffold::new_contract(crate::scaffold::NewContract { name, dir, sdk_path, sdk_git })
        }
        ContractCmd::Build { contracts, manifest_path, out } => {
            crate::build::build(crate::build::BuildRequest { manifest_path, contracts, out })
        }
        ContractCmd::Check { wasm } => {
            let code = std::fs::read(&wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
            let runtime = Runtime::new().map_err(|e| e.to_string())?;
            let (blake, sm3) = (blake2_256(&code), jjj_crypto::sm3(&code));
            match runtime.vm().compile(&code) {
                Ok(c) => {
                    println!(
                        "ok: {} bytes, code hash {blake} (ed25519+blake2b networks), {sm3} (sm2+sm3), re-entrant: {}",
                        code.len(),
                        c.summary.reentrant
                    );
                    Ok(())
                }
                Err(e) => Err(format!("{}: {e}", wasm.display())),
            }
        }
        ContractCmd::Deploy { key, wasm, metadata, constructor, args, value } => {
            let rpc = Rpc::new(rpc_url)?;
            let key = load_key(&key)?;
            let code = std::fs::read(&wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
            let meta = load_metadata(&metadata.unwrap_or_else(|| wasm.with_extension("json")))?;
            let args: serde_json::Value =
                serde_json::from_str(&args).map_err(|e| format!("--args is not JSON: {e}"))?;
            let input = jjj_transcode::encode_constructor(&meta, &constructor, &args).map_err(|e| e.to_string())?;
            // A key signs only on networks of its scheme: the code hash is that suite's.
            let code_hash = key.scheme().suite().hash_algo().hash(&code);
            let r = submit_and_wait(&rpc, net, &key, Call::UploadCode { code }, 100_000_000).await?;
            match (&r.status[..], &r.reason) {
                ("success", _) => println!("uploaded code {code_hash} in block {}", r.height.unwrap_or(0)),
                (_, Some(reason)) if reason.contains("already uploaded") => {
                    println!("code {code_hash} is already on chain")
                }
                _ => return status_to_result(&r),
            }
            let r = submit_and_wait(&rpc, net, &key, Call::Instantiate { code_hash, input, value }, 50_000_000).await?;
            status_to_result(&r)?;
            let out = hex::decode(r.output.trim_start_matches("0x")).map_err(|e| e.to_string())?;
            let address = AccountId::decode(&mut &out[..]).map_err(|e| e.to_string())?;
            println!("{address}");
            Ok(())
        }
        ContractCmd::Upgrade { opts, contract, wasm, uploader } => {
            let rpc = Rpc::new(rpc_url)?;
            let code = std::fs::read(&wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
            let key = load_key(uploader.as_ref().unwrap_or(&opts.key))?;
            let code_hash = key.scheme().suite().hash_algo().hash(&code);
            let r = submit_and_wait(&rpc, net, &key, Call::UploadCode { code }, 100_000_000).await?;
            match (&r.status[..], &r.reason) {
                ("success", _) => println!("uploaded code {code_hash} in block {}", r.height.unwrap_or(0)),
                (_, Some(reason)) if reason.contains("already uploaded") => {
                    println!("code {code_hash} is already on chain")
                }
                _ => return status_to_result(&r),
            }
            let action = GovAction::UpgradeContract { contract: parse_account(&contract)?, code_hash };
            crate::gov::propose(rpc_url, net, opts, ProposalBody::Gov(action)).await
        }
        ContractCmd::Freeze { opts, contract } => {
            let action = GovAction::Freeze { target: parse_account(&contract)? };
            crate::gov::propose(rpc_url, net, opts, ProposalBody::Gov(action)).await
        }
        ContractCmd::Unfreeze { opts, contract } => {
            let action = GovAction::Unfreeze { target: parse_account(&contract)? };
            crate::gov::propose(rpc_url, net, opts, ProposalBody::Gov(action)).await
        }
        ContractCmd::History { contract } => {
            let rpc = Rpc::new(rpc_url)?;
            for c in rpc.api().gov_code_history(net.into(), contract).await.map_err(|e| rpc.explain(e))? {
                let how = if c.proposal == 0 {
                    "instantiated".to_string()
                } else {
                    format!("upgraded by proposal {}", c.proposal)
                };
                println!("height {:>8}  {}  {how}", c.height, c.code_hash);
            }
            Ok(())
        }
        ContractCmd::Call(a) => {
            let rpc = Rpc::new(rpc_url)?;
            let keyfile = a.key.clone().ok_or("--key is needed to sign a call")?;
            let key = load_key(&keyfile)?;
            let meta = load_metadata(&a.metadata)?;
            let input = encode_args(&meta, &a)?;
            let contract = parse_account(&a.contract)?;
            let gas = match a.gas {
                Some(g) => g,
                None => {
                    // Signed as a read too: a call that reads protected data estimates as it will run.
                    let read = key.sign_read(NetworkId::new(net)?, contract, &input, now_ms(), rand::random());
                    let dry: ReceiptJson = rpc
                        .call("contract_dryRun", json!({"network": net, "contract": a.contract, "input": hex0x(&input), "sender": key.account().to_string(), "value": a.value, "read": hex0x(&read.encode())}))
                        .await?;
                    if dry.status != "success" {
                        report_receipt(&dry, Some(&meta), Some(&a.message));
                        return Err(format!("the dry run {}: not sending the transaction", dry.status));
                    }
                    // Intrinsic gas grows with the signed size; 20 % covers it and state drift.
                    dry.gas_used + dry.gas_used / 5 + 20_000
                }
            };
            let r = submit_and_wait(&rpc, net, &key, Call::Call { contract, input, value: a.value }, gas).await?;
            report_receipt(&r, Some(&meta), Some(&a.message));
            status_to_result(&r)
        }
        ContractCmd::Query(a) => read_call(rpc_url, net, a, true).await,
        ContractCmd::DryRun(a) => read_call(rpc_url, net, a, false).await,
        ContractCmd::Events { contract, metadata, from, to, key } => {
            let rpc = Rpc::new(rpc_url)?;
            let meta = metadata.map(|m| load_metadata(&m)).transpose()?;
            let read = match key {
                Some(k) => {
                    let key = load_key(&k)?;
                    let (at, nonce) = (now_ms(), rand::random());
                    let read =
                        key.sign_read(NetworkId::new(net)?, parse_account(&contract)?, access::EVENTS_INPUT, at, nonce);
                    Some(hex0x(&read.encode()))
                }
                None => None,
            };
            let events: Vec<jjj_rpc_api::EventJson> = rpc
                .call(
                    "contract_events",
                    json!({"network": net, "contract": contract, "from": from, "to": to, "read": read}),
                )
                .await?;
            for e in events {
                let data = hex::decode(e.data.trim_start_matches("0x")).unwrap_or_default();
                let decoded = meta.as_ref().and_then(|m| jjj_transcode::decode_event(m, &data).ok());
                match decoded {
                    Some(v) => println!("#{} tx {}: {v}", e.height, e.tx_index),
                    None => println!("#{} tx {}: {}", e.height, e.tx_index, e.data),
                }
            }
            Ok(())
        }
    }
}

/// `jjj contract query` (`query`) and `jjj contract dry-run`.
async fn read_call(rpc_url: &str, net: &str, a: CallArgs, query: bool) -> Result<(), String> {
    let rpc = Rpc::new(rpc_url)?;
    let meta = load_metadata(&a.metadata)?;
    let input = encode_args(&meta, &a)?;
    let contract = parse_account(&a.contract)?;
    let (sender, read) = match &a.key {
        Some(k) => {
            let key = load_key(k)?;
            let read = key.sign_read(NetworkId::new(net)?, contract, &input, now_ms(), rand::random());
            (Some(key.account().to_string()), Some(hex0x(&read.encode())))
        }
        // Nobody: the contract sees the zero account, the access log no claimed reader.
        None => (None, None),
    };
    let method = if query { "contract_query" } else { "contract_dryRun" };
    let r: ReceiptJson = rpc
        .call(method, json!({"network": net, "contract": a.contract, "input": hex0x(&input), "sender": sender, "value": a.value, "gas_limit": a.gas, "at": a.at, "read": read}))
        .await?;
    report_receipt(&r, Some(&meta), Some(&a.message));
    status_to_result(&r)
}

fn encode_args(meta: &jjj_transcode::LoadedMetadata, a: &CallArgs) -> Result<Vec<u8>, String> {
    let args: serde_json::Value = serde_json::from_str(&a.args).map_err(|e| format!("--args is not JSON: {e}"))?;
    jjj_transcode::encode_call(meta, &a.message, &args).map_err(|e| e.to_string())
}
