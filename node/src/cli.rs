//! The `jjj` command line: keys, networks, contracts, transfers, audits, load.
use crate::client::Rpc;
use crate::config::{load_key, save_key, NodeConfig, PeerConfig};
use crate::genesis::{parse_account, Genesis, GenesisAccount, GenesisValidator};
use crate::rpc::{hex0x, HeaderJson, ReceiptJson};
use clap::{Args, Parser, Subcommand};
use jjj_runtime::crypto::{blake2_256, Keypair};
use jjj_runtime::state::{MemoryState, StateCommitment};
use jjj_runtime::types::*;
use jjj_runtime::Runtime;
use parity_scale_codec::{Decode, Encode};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// jjj: talk to a jjj network — keys, networks, contracts, transfers, audits, load tests.
///
/// Most commands talk JSON-RPC to a node (--rpc) about one network (--network). Keys are files
/// holding a 32-byte ed25519 seed in hex (`jjj key new`). Amounts are in fen (1/100 yuan).
#[derive(Parser)]
#[command(name = "jjj", version)]
pub struct Cli {
    /// JSON-RPC endpoint of a node.
    #[arg(long, global = true, env = "JJJ_RPC", default_value = "http://127.0.0.1:9941")]
    pub rpc: String,
    /// Network (ledger) to talk about: jjj, jj, jh, th…
    #[arg(long, global = true, env = "JJJ_NETWORK", default_value = "jjj")]
    pub network: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create or show keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Create networks (genesis, node configs, keys).
    #[command(subcommand)]
    Network(NetworkCmd),
    /// The node's health: networks, heights, peers.
    Status,
    /// A finalised block (default: the head).
    Block {
        height: Option<u64>,
    },
    /// An account's balance and nonce.
    Account {
        account: String,
    },
    /// Send fen to an account.
    Transfer {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        to: String,
        #[arg(long)]
        amount: u64,
    },
    /// Build, check, deploy and call contracts.
    #[command(subcommand)]
    Contract(ContractCmd),
    /// Replay and verify a network's history.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Load test: signed bill payments at a target rate; prints submitted and finalised tx/s,
    /// success rate and p50/p99 finality latency.
    Bench {
        /// A funded key that deploys the contract and funds the residents.
        #[arg(long)]
        funder: PathBuf,
        /// The utility-bills wasm.
        #[arg(long, default_value = "target/contracts/utility_bills.wasm")]
        wasm: PathBuf,
        /// Residents paying (each pays its bills in nonce order).
        #[arg(long, default_value_t = 200)]
        accounts: usize,
        /// Payments to send.
        #[arg(long, default_value_t = 2_000)]
        txs: usize,
        /// Target send rate, tx/s.
        #[arg(long, default_value_t = 1_000)]
        rate: u64,
        /// More RPC endpoints to spread the load over (besides --rpc). Repeatable.
        #[arg(long = "also-rpc")]
        also_rpc: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Create a random key; print its account id.
    New {
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the account id of a key file.
    Show { file: PathBuf },
}

#[derive(Subcommand)]
pub enum NetworkCmd {
    /// Write keys, genesis files and one node config per validator into a directory.
    ///
    /// Example: four validators serving 京津冀 (all four) and 京津 (the first two):
    ///   jjj network init --dir devnet --validators 4 --network jjj=1,2,3,4 --network jj=1,2 \
    ///       --account beijing-water=0 --account hebei-resident=100000
    Init(InitArgs),
}

#[derive(Args)]
pub struct InitArgs {
    #[arg(long)]
    pub dir: PathBuf,
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// NAME or NAME=i,j,k (1-based validator numbers; default all). Repeatable.
    #[arg(long = "network", value_name = "NAME[=VALIDATORS]")]
    pub networks: Vec<String>,
    /// NAME=BALANCE: an account with a generated key in DIR/keys/NAME.key. Repeatable.
    #[arg(long = "account", value_name = "NAME=FEN")]
    pub accounts: Vec<String>,
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, default_value_t = 30301)]
    pub p2p_port: u16,
    #[arg(long, default_value_t = 9941)]
    pub rpc_port: u16,
    #[arg(long, default_value_t = 9611)]
    pub metrics_port: u16,
    /// Deterministic keys from names (devnets and demos only).
    #[arg(long)]
    pub dev_keys: bool,
    /// Base consensus view timeout, ms.
    #[arg(long, default_value_t = 2000)]
    pub view_timeout_ms: u64,
}

#[derive(Subcommand)]
pub enum ContractCmd {
    /// Build contracts of this workspace to wasm (reproducibly; prints size and code hash) and
    /// write the metadata of the bundled ones next to the wasm. Run from the workspace.
    Build {
        /// Contract crates (default: all under contracts/).
        contracts: Vec<String>,
    },
    /// Validate a wasm file as the chain would at upload: size, code hash, limits, imports.
    Check { wasm: PathBuf },
    /// Print the metadata (messages, types, events) of a contract bundled with this CLI.
    Metadata { name: String },
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
    /// Read-only call at the latest (or a given) height; nothing is signed or stored.
    Query(CallArgs),
    /// Execute without storing: exact gas, output or revert reason, debug messages.
    DryRun(CallArgs),
    /// Events of a contract, decoded with its metadata.
    Events {
        #[arg(long)]
        contract: String,
        #[arg(long)]
        metadata: Option<PathBuf>,
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long)]
        to: Option<u64>,
    },
}

#[derive(Args, Clone)]
pub struct CallArgs {
    /// Signing key (call, dry-run) — for query, only its account is used as the caller.
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

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Fetch every block and certificate from a node (which need not be trusted), verify each
    /// certificate against the genesis validators, re-execute every block from genesis and
    /// compare every root. A mismatch names the height and what differs.
    Replay {
        /// The network's genesis file (the auditor's own copy).
        #[arg(long)]
        genesis: PathBuf,
        /// Stop at this height (default: the node's finalised head).
        #[arg(long)]
        to: Option<u64>,
    },
}

pub fn main() {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run(cli)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn print(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()));
}

pub async fn run(cli: Cli) -> Result<(), String> {
    let net = cli.network.clone();
    match cli.command {
        Command::Key(KeyCmd::New { out }) => {
            let mut seed = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
            let key = Keypair::from_seed(seed);
            save_key(&out, &key)?;
            println!("{}", key.account());
            Ok(())
        }
        Command::Key(KeyCmd::Show { file }) => {
            println!("{}", load_key(&file)?.account());
            Ok(())
        }
        Command::Network(NetworkCmd::Init(a)) => init_network(&a),
        Command::Status => {
            let rpc = Rpc::new(&cli.rpc)?;
            print(&rpc.call("node_health", json!({})).await?);
            Ok(())
        }
        Command::Block { height } => {
            let rpc = Rpc::new(&cli.rpc)?;
            print(&rpc.call::<serde_json::Value>("chain_getBlock", json!({"network": net, "height": height})).await?);
            Ok(())
        }
        Command::Account { account } => {
            let rpc = Rpc::new(&cli.rpc)?;
            print(&rpc.call("state_getAccount", json!({"network": net, "account": account})).await?);
            Ok(())
        }
        Command::Transfer { key, to, amount } => {
            let rpc = Rpc::new(&cli.rpc)?;
            let key = load_key(&key)?;
            let to = parse_account(&to)?;
            let r = submit_and_wait(&rpc, &net, &key, Call::Transfer { to, amount }, 100_000).await?;
            report_receipt(&r, None, None);
            status_to_result(&r)
        }
        Command::Contract(c) => contract(&cli.rpc, &net, c).await,
        Command::Audit(AuditCmd::Replay { genesis, to }) => audit_replay(&cli.rpc, &genesis, to).await,
        Command::Bench { funder, wasm, accounts, txs, rate, also_rpc } => {
            let mut rpcs = vec![cli.rpc.clone()];
            rpcs.extend(also_rpc);
            let code = std::fs::read(&wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
            crate::bench::run(crate::bench::BenchArgs { rpcs, network: net, funder: load_key(&funder)?, wasm: code, accounts: accounts.max(1), txs, rate }).await
        }
    }
}

fn status_to_result(r: &ReceiptJson) -> Result<(), String> {
    if r.status == "success" {
        Ok(())
    } else {
        Err(format!("transaction {}: {}", r.status, r.reason.clone().unwrap_or_default()))
    }
}

/// Signs with the next nonce, submits, and waits for the receipt.
pub async fn submit_and_wait(rpc: &Rpc, network: &str, key: &Keypair, call: Call, gas_limit: u64) -> Result<ReceiptJson, String> {
    let acct: serde_json::Value = rpc.call("state_getAccount", json!({"network": network, "account": key.account().to_string()})).await?;
    let nonce = acct["nonce"].as_u64().unwrap_or(0);
    let tx = Transaction { network: NetworkId::new(network)?, sender: key.account(), nonce, gas_limit, call };
    let stx = key.sign_tx(tx);
    let hash: String = rpc.call("tx_submit", json!({"network": network, "tx": hex0x(&stx.encode())})).await?;
    let r: Option<ReceiptJson> = rpc.call("tx_receipt", json!({"network": network, "hash": hash, "wait_ms": 30_000})).await?;
    r.ok_or_else(|| format!("no receipt for {hash}"))
}

fn report_receipt(r: &ReceiptJson, meta: Option<&crate::codec::LoadedMetadata>, message: Option<&str>) {
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
            match crate::codec::decode_output(meta, msg, &out) {
                Ok(v) if !v.is_null() => println!("output: {v}"),
                Ok(_) => {}
                Err(e) => println!("output: {} (undecoded: {e})", r.output),
            }
        }
    }
    for e in &r.events {
        let data = hex::decode(e.data.trim_start_matches("0x")).unwrap_or_default();
        match meta.map(|m| crate::codec::decode_event(m, &data)) {
            Some(Ok(v)) => println!("event: {v}"),
            _ => println!("event from {}: {}", e.contract, e.data),
        }
    }
    for d in &r.debug {
        println!("debug: {d}");
    }
}

fn load_metadata(path: &Path) -> Result<crate::codec::LoadedMetadata, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read metadata {}: {e}", path.display()))?;
    crate::codec::LoadedMetadata::from_json(&text).map_err(|e| format!("metadata {} is not valid: {e}", path.display()))
}

/// Metadata of the contracts bundled with this build of the CLI.
pub fn bundled_metadata(name: &str) -> Option<jjj_sdk::metadata::ContractMetadata> {
    match name.replace('_', "-").as_str() {
        "utility-bills" => Some(utility_bills::UtilityBills::metadata()),
        "waste-disposal" => Some(waste_disposal::WasteDisposal::metadata()),
        "ecommerce-agreement" => Some(ecommerce_agreement::EcommerceAgreement::metadata()),
        "counter" => Some(counter::Counter::metadata()),
        _ => None,
    }
}

async fn contract(rpc_url: &str, net: &str, c: ContractCmd) -> Result<(), String> {
    match c {
        ContractCmd::Build { contracts } => {
            let mut dir = std::env::current_dir().map_err(|e| e.to_string())?;
            while !dir.join("scripts/build-contracts.sh").exists() {
                if !dir.pop() {
                    return Err("run `jjj contract build` inside the jjj workspace (scripts/build-contracts.sh not found)".into());
                }
            }
            let status = std::process::Command::new("bash")
                .arg(dir.join("scripts/build-contracts.sh"))
                .args(&contracts)
                .current_dir(&dir)
                .status()
                .map_err(|e| format!("cannot run scripts/build-contracts.sh: {e}"))?;
            if !status.success() {
                return Err("building the contracts failed".into());
            }
            let out = std::env::var_os("JJJ_CONTRACTS_DIR").map(PathBuf::from).unwrap_or_else(|| dir.join("target/contracts"));
            for name in ["utility-bills", "waste-disposal", "ecommerce-agreement", "counter"] {
                if contracts.is_empty() || contracts.iter().any(|c| c == name) {
                    if let Some(m) = bundled_metadata(name) {
                        let path = out.join(format!("{}.json", name.replace('-', "_")));
                        std::fs::write(&path, m.to_json()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                        println!("metadata: {}", path.display());
                    }
                }
            }
            Ok(())
        }
        ContractCmd::Check { wasm } => {
            let code = std::fs::read(&wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
            let runtime = Runtime::new().map_err(|e| e.to_string())?;
            let hash = blake2_256(&code);
            match runtime.sandbox().compile(&code) {
                Ok(c) => {
                    println!("ok: {} bytes, code hash {hash}, re-entrant: {}", code.len(), c.summary.reentrant);
                    Ok(())
                }
                Err(e) => Err(format!("{}: {e}", wasm.display())),
            }
        }
        ContractCmd::Metadata { name } => {
            let m = bundled_metadata(&name).ok_or_else(|| format!("no bundled contract {name:?}: utility-bills, waste-disposal, ecommerce-agreement, counter"))?;
            println!("{}", m.to_json());
            Ok(())
        }
        ContractCmd::Deploy { key, wasm, metadata, constructor, args, value } => {
            let rpc = Rpc::new(rpc_url)?;
            let key = load_key(&key)?;
            let code = std::fs::read(&wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
            let meta = load_metadata(&metadata.unwrap_or_else(|| wasm.with_extension("json")))?;
            let args: serde_json::Value = serde_json::from_str(&args).map_err(|e| format!("--args is not JSON: {e}"))?;
            let input = crate::codec::encode_constructor(&meta, &constructor, &args).map_err(|e| e.to_string())?;
            let code_hash = blake2_256(&code);
            let r = submit_and_wait(&rpc, net, &key, Call::UploadCode { code }, 100_000_000).await?;
            match (&r.status[..], &r.reason) {
                ("success", _) => println!("uploaded code {code_hash} in block {}", r.height.unwrap_or(0)),
                (_, Some(reason)) if reason.contains("already uploaded") => println!("code {code_hash} is already on chain"),
                _ => return status_to_result(&r),
            }
            let r = submit_and_wait(&rpc, net, &key, Call::Instantiate { code_hash, input, value }, 50_000_000).await?;
            status_to_result(&r)?;
            let out = hex::decode(r.output.trim_start_matches("0x")).map_err(|e| e.to_string())?;
            let address = AccountId::decode(&mut &out[..]).map_err(|e| e.to_string())?;
            println!("{address}");
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
                    let dry: ReceiptJson = rpc
                        .call("contract_dryRun", json!({"network": net, "contract": a.contract, "input": hex0x(&input), "sender": key.account().to_string(), "value": a.value}))
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
        ContractCmd::Query(a) | ContractCmd::DryRun(a) => {
            let rpc = Rpc::new(rpc_url)?;
            let meta = load_metadata(&a.metadata)?;
            let input = encode_args(&meta, &a)?;
            let sender = match &a.key {
                Some(k) => load_key(k)?.account().to_string(),
                None => AccountId::default().to_string(),
            };
            let method = if a.at.is_some() || a.value == 0 && a.key.is_none() { "contract_query" } else { "contract_dryRun" };
            let r: ReceiptJson = rpc
                .call(method, json!({"network": net, "contract": a.contract, "input": hex0x(&input), "sender": sender, "value": a.value, "gas_limit": a.gas, "at": a.at}))
                .await?;
            report_receipt(&r, Some(&meta), Some(&a.message));
            status_to_result(&r)
        }
        ContractCmd::Events { contract, metadata, from, to } => {
            let rpc = Rpc::new(rpc_url)?;
            let meta = metadata.map(|m| load_metadata(&m)).transpose()?;
            let events: Vec<crate::rpc::EventJson> = rpc.call("contract_events", json!({"network": net, "contract": contract, "from": from, "to": to})).await?;
            for e in events {
                let data = hex::decode(e.data.trim_start_matches("0x")).unwrap_or_default();
                let decoded = meta.as_ref().and_then(|m| crate::codec::decode_event(m, &data).ok());
                match decoded {
                    Some(v) => println!("#{} tx {}: {v}", e.height, e.tx_index),
                    None => println!("#{} tx {}: {}", e.height, e.tx_index, e.data),
                }
            }
            Ok(())
        }
    }
}

fn encode_args(meta: &crate::codec::LoadedMetadata, a: &CallArgs) -> Result<Vec<u8>, String> {
    let args: serde_json::Value = serde_json::from_str(&a.args).map_err(|e| format!("--args is not JSON: {e}"))?;
    crate::codec::encode_call(meta, &a.message, &args).map_err(|e| e.to_string())
}

fn init_network(a: &InitArgs) -> Result<(), String> {
    if a.validators == 0 || a.validators > 64 {
        return Err("--validators must be 1 to 64".into());
    }
    let keys_dir = a.dir.join("keys");
    std::fs::create_dir_all(&keys_dir).map_err(|e| format!("cannot create {}: {e}", keys_dir.display()))?;
    let new_key = |name: &str| -> Keypair {
        if a.dev_keys {
            Keypair::from_name(name)
        } else {
            let mut seed = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
            Keypair::from_seed(seed)
        }
    };
    let mut validators = Vec::new();
    for i in 1..=a.validators {
        let name = format!("validator-{i}");
        let key = new_key(&name);
        save_key(&keys_dir.join(format!("{name}.key")), &key)?;
        validators.push((name, key));
    }
    let mut accounts = Vec::new();
    for spec in &a.accounts {
        let (name, bal) = spec.split_once('=').ok_or_else(|| format!("--account {spec:?}: expected NAME=FEN"))?;
        let balance: u64 = bal.parse().map_err(|_| format!("--account {spec:?}: {bal:?} is not a number of fen"))?;
        let key = new_key(name);
        save_key(&keys_dir.join(format!("{name}.key")), &key)?;
        accounts.push(GenesisAccount { id: key.account().to_string(), name: name.to_string(), balance });
    }
    let specs = if a.networks.is_empty() { vec!["jjj".to_string()] } else { a.networks.clone() };
    let now = crate::chain::now_ms();
    let mut serves: Vec<Vec<PathBuf>> = vec![Vec::new(); a.validators];
    for spec in &specs {
        let (name, members) = match spec.split_once('=') {
            Some((n, m)) => {
                let mut idx = Vec::new();
                for part in m.split(',') {
                    let i: usize = part.trim().parse().map_err(|_| format!("--network {spec:?}: {part:?} is not a validator number"))?;
                    if i == 0 || i > a.validators {
                        return Err(format!("--network {spec:?}: validator {i} does not exist (1..={})", a.validators));
                    }
                    idx.push(i - 1);
                }
                (n.to_string(), idx)
            }
            None => (spec.clone(), (0..a.validators).collect()),
        };
        let genesis = Genesis {
            network: name.clone(),
            timestamp: now,
            validators: members.iter().map(|i| GenesisValidator { id: validators[*i].1.account().to_string(), name: validators[*i].0.clone() }).collect(),
            accounts: accounts.clone(),
            max_block_txs: 5_000,
            max_block_bytes: 4 * 1024 * 1024,
            empty_block_interval_ms: 0,
        };
        genesis.check()?;
        let file = format!("genesis-{name}.json");
        let text = serde_json::to_string_pretty(&genesis).map_err(|e| e.to_string())?;
        std::fs::write(a.dir.join(&file), text).map_err(|e| format!("cannot write {file}: {e}"))?;
        for i in members {
            serves[i].push(PathBuf::from(&file));
        }
        println!("network {name}: genesis-{name}.json, header {}", genesis.header()?.hash());
    }
    for (i, (name, key)) in validators.iter().enumerate() {
        let mut peers = Vec::new();
        for (j, (_, k)) in validators.iter().enumerate() {
            if j != i {
                let addr = format!("{}:{}", a.host, a.p2p_port + j as u16).parse().map_err(|e| format!("--host {}: {e}", a.host))?;
                peers.push(PeerConfig { id: k.account().to_string(), addr });
            }
        }
        let sock = |port: u16| format!("{}:{port}", a.host).parse().map_err(|e| format!("{e}"));
        let cfg = NodeConfig {
            name: name.clone(),
            key_file: PathBuf::from(format!("keys/{name}.key")),
            data_dir: PathBuf::from(format!("data/{name}")),
            p2p_listen: sock(a.p2p_port + i as u16)?,
            rpc_listen: sock(a.rpc_port + i as u16)?,
            metrics_listen: Some(sock(a.metrics_port + i as u16)?),
            genesis: serves[i].clone(),
            peers,
            view_timeout_ms: a.view_timeout_ms,
            mempool_capacity: 100_000,
            mempool_per_sender: 1_024,
        };
        std::fs::write(a.dir.join(format!("{name}.toml")), cfg.to_toml()?).map_err(|e| e.to_string())?;
        println!("{name}: {} (p2p {}, rpc http://{}:{})", key.account(), a.p2p_port + i as u16, a.host, a.rpc_port + i as u16);
    }
    Ok(())
}

async fn audit_replay(rpc_url: &str, genesis_path: &Path, to: Option<u64>) -> Result<(), String> {
    let genesis = Genesis::load(genesis_path)?;
    let network = genesis.network.clone();
    let validators = crate::consensus::ValidatorSet::new(genesis.validator_ids()?)?;
    let net_id = genesis.network_id()?;
    let rpc = Rpc::new(rpc_url)?;
    let head: HeaderJson = rpc.call("chain_getFinalizedHead", json!({"network": network})).await?;
    let last = to.unwrap_or(head.height).min(head.height);
    let mut state = MemoryState::new();
    state.apply(&genesis.state_changes()?).map_err(|e| e.to_string())?;
    let mut parent = genesis.header()?.hash();
    let node_genesis: serde_json::Value = rpc.call("chain_getBlock", json!({"network": network, "height": 0})).await?;
    if node_genesis["header"]["hash"].as_str() != Some(&parent.to_string()) {
        return Err(format!("the node's genesis differs from {}: not the same network history", genesis_path.display()));
    }
    let runtime = Runtime::new().map_err(|e| e.to_string())?;
    let (mut txs, mut receipts_ok, mut receipts_failed) = (0usize, 0usize, 0usize);
    let started = std::time::Instant::now();
    for h in 1..=last {
        let v: serde_json::Value = rpc.call("chain_getBlock", json!({"network": network, "height": h, "raw": true})).await?;
        let raw = |k: &str| -> Result<Vec<u8>, String> {
            let s = v[k].as_str().ok_or_else(|| format!("height {h}: the node sent no {k}"))?;
            hex::decode(s.trim_start_matches("0x")).map_err(|e| format!("height {h}: {k}: {e}"))
        };
        let block = Block::decode(&mut &raw("raw_block")?[..]).map_err(|e| format!("height {h}: block does not decode: {e}"))?;
        let cert = crate::consensus::CommitCertificate::decode(&mut &raw("raw_certificate")?[..]).map_err(|e| format!("height {h}: certificate does not decode: {e}"))?;
        let bh = block.header.hash();
        if block.header.height != h || block.header.parent_hash != parent {
            return Err(format!("height {h}: block does not extend the previous block"));
        }
        if cert.height != h || cert.block_hash != bh {
            return Err(format!("height {h}: the certificate is for another block"));
        }
        cert.verify(&net_id, &validators).map_err(|e| format!("height {h}: certificate invalid: {e}"))?;
        let shared = Arc::new(state.clone());
        let exec = runtime.apply_block(shared, &block).map_err(|e| format!("height {h}: re-execution disagrees: {e}"))?;
        for (i, (stx, r)) in block.transactions.iter().zip(&exec.receipts).enumerate() {
            let node_r: Option<ReceiptJson> = rpc.call("tx_receipt", json!({"network": network, "hash": stx.hash().to_string()})).await?;
            let ours = ReceiptJson::new(r, Some(h), Some(i as u32));
            match node_r {
                Some(n) if n.status == ours.status && n.output == ours.output && n.gas_used == ours.gas_used && n.reason == ours.reason => {}
                Some(n) => return Err(format!("height {h}, tx {i} ({}): the node's receipt differs: node says {} {:?}, replay says {} {:?}", stx.hash(), n.status, n.reason, ours.status, ours.reason)),
                None => return Err(format!("height {h}, tx {i}: the node has no receipt for {}", stx.hash())),
            }
            if r.is_success() {
                receipts_ok += 1
            } else {
                receipts_failed += 1
            }
        }
        txs += block.transactions.len();
        state.apply(&exec.changes).map_err(|e| e.to_string())?;
        if state.state_root() != block.header.state_root {
            return Err(format!("height {h}: state root mismatch after applying"));
        }
        parent = bh;
    }
    println!(
        "audit of {network}: {last} blocks, {txs} transactions ({receipts_ok} succeeded, {receipts_failed} failed) replayed from genesis in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("every certificate verified against the {} genesis validators; every tx root, receipts root, state root and receipt matched", validators.len());
    println!("final state root {} at height {last}", state.state_root());
    Ok(())
}
