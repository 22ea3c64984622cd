//! `jjj`, the command line: keys, networks, contracts, transfers, audits, load.
//!
//! It talks to nodes over JSON-RPC only; it links no p2p. RocksDB is linked for one job: an
//! auditor's replay keeps its state on disk (`jjj audit replay`), so histories past RAM replay.
mod audit;
mod bench;
mod build;
mod contract;
mod contract_history;
mod follow;
mod genesis;
mod gov;
mod history;
mod network;
mod replay;
mod scaffold;
mod trace;
mod tx;

use clap::{Args, Parser, Subcommand};
use jjj_config::{load_key, parse_account};
use jjj_primitives::*;
use jjj_rpc_api::{NodeApiClient, Rpc};
use std::path::PathBuf;

/// jjj: talk to a jjj network — keys, networks, contracts, transfers, audits, load tests.
///
/// Most commands talk JSON-RPC to a node (--rpc) about one network (--network). Keys are files
/// holding a 32-byte seed in hex, `sm2:`-prefixed for an SM2 key (`jjj key new`); a network takes
/// keys of its suite's scheme. Amounts are in fen (1/100 yuan).
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
    /// Assemble a genesis from the members' public keys (no private key ever leaves its
    /// member's machine): new, add-member, add-validator, add-account, check, node-config.
    #[command(subcommand)]
    Genesis(genesis::GenesisCmd),
    /// The node's health: networks, heights, peers.
    Status,
    /// A finalised block (default: the head).
    Block { height: Option<u64> },
    /// An account's balance and nonce (`jjj account ACCOUNT`), or register, suspend or rotate
    /// the key of one.
    Account(AccountArgs),
    /// Member organisations: list, show, or propose to add, suspend or resume one.
    #[command(subcommand)]
    Member(gov::MemberCmd),
    /// Propose to grant or revoke a role.
    #[command(subcommand)]
    Role(gov::RoleCmd),
    /// Function permissions: who may upload, instantiate, or call a contract method.
    #[command(subcommand)]
    Permission(gov::PermissionCmd),
    /// Proposals: open, approve (on chain or signed off chain), show, list the history.
    #[command(subcommand)]
    Proposal(gov::ProposalCmd),
    /// The official contract names (`jjj registry utility-bills` prints its address).
    Registry { name: Option<String> },
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
    Contract(contract::ContractCmd),
    /// For auditors: export a network's history, replay and verify it, prove and check
    /// transactions and state, read the access log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// The light client: verify a network's certified headers from genesis, following every
    /// validator-set change governance made, without executing a block (each header's
    /// certificate is checked against the set of its height, learnt from a state proof of the
    /// validator schedule). `--sets FILE` keeps what it verified, to resume from and to check
    /// proofs against (`jjj audit verify-receipt --sets FILE`).
    Follow {
        /// The network's genesis file (the auditor's own copy).
        #[arg(long, env = "JJJ_GENESIS")]
        genesis: PathBuf,
        /// The validator-set history: resumed from if it exists, written as headers verify.
        #[arg(long)]
        sets: Option<PathBuf>,
        /// Stop at this height (default: the finalised head).
        #[arg(long)]
        to: Option<u64>,
        /// Keep following as new blocks are finalised (until interrupted).
        #[arg(long)]
        watch: bool,
    },
    /// Load test: signed bill payments, end to end (see `scripts/bench.sh --e2e`). Prints a table
    /// per step (finalised and offered tx/s, success, finality p50/p99/max, block size, view
    /// changes, dropped peer messages, CPU per transaction) and, last, one JSON line. A flag
    /// given twice takes its last value (scripts/bench.sh appends yours to its own).
    #[command(args_override_self = true)]
    Bench(bench::BenchFlags),
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AccountArgs {
    #[command(subcommand)]
    pub command: Option<gov::AccountCmd>,
    /// The account (0x-hex) whose balance and nonce to print.
    pub account: Option<String>,
}

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Create a random key; print its account id.
    ///
    /// `--scheme sm2` makes an SM2 (GM/T 0003, 国密) key, for networks of the sm2+sm3 suite; its
    /// public point has an even y and its account id is the x coordinate.
    New {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = KeyScheme::Ed25519)]
        scheme: KeyScheme,
    },
    /// Print the account id of a key file (either scheme); `--public` prints the public key too.
    Show {
        file: PathBuf,
        #[arg(long)]
        public: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum KeyScheme {
    Ed25519,
    Sm2,
}

#[derive(Subcommand)]
pub enum NetworkCmd {
    /// Write keys, genesis files and one node config per validator into a directory.
    ///
    /// Example: four validators serving 京津冀 (all four) and 京津 (the first two):
    ///   jjj network init --dir devnet --validators 4 --network jjj=1,2,3,4 --network jj=1,2 \
    ///       --account beijing-water=0@beijing+utility-provider --account hebei-resident=100000@hebei+resident
    Init(InitArgs),
}

#[derive(Args)]
pub struct InitArgs {
    #[arg(long)]
    pub dir: PathBuf,
    /// A ready-made layout instead of --validators/--network. `jingjinji`: six nodes, two per
    /// region (1–2 Beijing, 3–4 Tianjin, 5–6 Hebei), and the region's four networks, each
    /// validated by its regions' nodes and governed by its regions' members: jingjin 京津
    /// (nodes 1–4), jingji 京冀 (1, 2, 5, 6), jinji 津冀 (3–6) and jingjinji 京津冀 (all six).
    /// An account is written into the networks its member governs.
    #[arg(long, value_enum, value_name = "PRESET")]
    pub preset: Option<Preset>,
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// NAME or NAME=i,j,k (1-based validator numbers; default all). Repeatable.
    #[arg(long = "network", value_name = "NAME[=VALIDATORS]")]
    pub networks: Vec<String>,
    /// NAME=i,j: nodes (1-based) that serve network NAME without being its genesis
    /// validators — they follow it, and start validating when governance adds them to the set
    /// (`jjj proposal new set-validators`). Repeatable.
    #[arg(long = "follow", value_name = "NAME=NODES")]
    pub follow: Vec<String>,
    /// NAME=FEN[@MEMBER][+ROLE,ROLE…]: an account with a generated key in DIR/keys/NAME.key,
    /// registered by MEMBER (default: the first) with the roles given (deployer, bank,
    /// utility-provider, registrar…). Repeatable.
    #[arg(long = "account", value_name = "NAME=FEN[@MEMBER][+ROLES]")]
    pub accounts: Vec<String>,
    /// ID=REGION:NAME: a member organisation (REGION beijing/tianjin/hebei or 京/津/冀), with an
    /// admin key in DIR/keys/ID-admin.key. Repeatable; default: beijing, tianjin and hebei.
    #[arg(long = "member", value_name = "ID=REGION:NAME")]
    pub members: Vec<String>,
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
    /// The crypto suite of every network written: ed25519+blake2b, or sm2+sm3 (国密: SM2 keys
    /// and signatures, SM3 for every hash in a root). Keys are made in the suite's scheme.
    #[arg(long, default_value = "ed25519+blake2b", value_name = "SUITE")]
    pub crypto: jjj_crypto::Suite,
    /// Base consensus view timeout, ms.
    #[arg(long, default_value_t = 2000)]
    pub view_timeout_ms: u64,
}

/// Ready-made network layouts for `jjj network init --preset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// Four networks (京津, 京冀, 津冀, 京津冀) on six nodes, two per region.
    Jingjinji,
}

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Write a network's history to a directory: genesis, blocks, certificates, receipts and
    /// governance records, in range files of 1,000 heights with BLAKE2b checksums
    /// (format: `jjj-export` version 1, see the README). Resumable: run again to continue.
    Export {
        /// The network's genesis file: checked against the node's and copied into the export
        /// (without it the export names the node's genesis hash, and a replay needs --genesis).
        #[arg(long, env = "JJJ_GENESIS")]
        genesis: Option<PathBuf>,
        /// The export directory.
        #[arg(long)]
        out: PathBuf,
        /// First height (default 1).
        #[arg(long)]
        from: Option<u64>,
        /// Last height (default: the finalised head).
        #[arg(long)]
        to: Option<u64>,
    },
    /// Re-verify a network's history from a node (--rpc, never trusted) or an export (--dir):
    /// every block extends the last, its certificate is signed by a quorum of the validator set
    /// of its height (following governance), re-executed with the chain's executive every
    /// receipt equals the source's field by field and every root the certified header's. The
    /// state is kept in RocksDB (--db to keep it as a checkpoint, --state-at to continue one).
    /// The first difference exits non-zero naming the height, the transaction and the receipt
    /// field or state key, with both values.
    Replay {
        /// The network's genesis file (the auditor's own copy); with --dir, default DIR/genesis.json.
        #[arg(long, env = "JJJ_GENESIS")]
        genesis: Option<PathBuf>,
        /// An export directory (`jjj audit export`) to replay instead of the node at --rpc.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Continue a checkpoint: the state an earlier replay kept with --db (checked value by
        /// value against its certified root first).
        #[arg(long = "state-at")]
        state_at: Option<PathBuf>,
        /// With --state-at: the first height to replay (the checkpoint's height + 1).
        #[arg(long)]
        from: Option<u64>,
        /// Stop at this height (default: the source's last).
        #[arg(long)]
        to: Option<u64>,
        /// Keep the replayed state here (a new directory), to continue later with --state-at.
        #[arg(long)]
        db: Option<PathBuf>,
        /// An auditor's key: lets the replay fetch proven contract storage to name a differing
        /// key of a state-root mismatch.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Save the validator-set history the replay followed (for `verify-receipt --sets`).
        #[arg(long = "sets-out")]
        sets_out: Option<PathBuf>,
    },
    /// Verify one finalised transaction and its receipt without trusting the node: their Merkle
    /// branches to the block's tx and receipts roots, and the block's commit certificate against
    /// the validator set of its height (from --sets; without it, the genesis validators).
    Receipt {
        /// The transaction's hash.
        tx: String,
        /// The network's genesis file (the auditor's own copy).
        #[arg(long, env = "JJJ_GENESIS")]
        genesis: PathBuf,
        /// The validator-set history (`jjj follow --sets`, `replay --sets-out`).
        #[arg(long)]
        sets: Option<PathBuf>,
        /// Also save the proof (JSON) here: anyone can check it later, offline, with
        /// `verify-receipt` — a resident proving a bill was paid.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also print the proof as one SCALE value (0x-hex, last line): what a contract on
        /// another network passes to `env::verify_receipt` (e.g. environment-ledger's
        /// `record_disposal`).
        #[arg(long)]
        scale: bool,
    },
    /// Fetch and verify a state key's value (or absence) at a height: an account's balance, a
    /// governance record, a contract's storage (auditors only, with --key). `--out` saves the
    /// proof for `verify-receipt`.
    StateProof {
        /// An account whose record to prove.
        #[arg(long, conflicts_with_all = ["raw_key", "contract"])]
        account: Option<String>,
        /// A contract whose storage key (--storage, 0x-hex) to prove.
        #[arg(long, requires = "storage")]
        contract: Option<String>,
        #[arg(long)]
        storage: Option<String>,
        /// A raw state key, 0x-hex.
        #[arg(long = "raw-key")]
        raw_key: Option<String>,
        /// The height (default: the finalised head).
        #[arg(long)]
        height: Option<u64>,
        /// The network's genesis file (the auditor's own copy).
        #[arg(long, env = "JJJ_GENESIS")]
        genesis: PathBuf,
        /// The validator-set history (`jjj follow --sets`).
        #[arg(long)]
        sets: Option<PathBuf>,
        /// An auditor's key, to sign the read request contract storage needs.
        #[arg(long)]
        key: Option<PathBuf>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Re-execute one finalised transaction on the state before it, trusting no node, and print
    /// its host-call log: each storage read and write (value before and after, named and
    /// decoded through --metadata where it fits), events, transfers, nested calls with the gas
    /// left at each step, and where a failed one failed. The state is read key by key, each
    /// value proven against the certified state root of the block before; contract storage
    /// needs an auditor's --key. The traced receipt must equal the certified one.
    Trace {
        /// The transaction's hash.
        tx: String,
        /// The network's genesis file (the auditor's own copy).
        #[arg(long, env = "JJJ_GENESIS")]
        genesis: PathBuf,
        /// The validator-set history (`jjj follow --sets`).
        #[arg(long)]
        sets: Option<PathBuf>,
        /// An auditor's key (role auditor): signs the reads of contract storage.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Contract metadata (JSON, repeatable) to name messages, storage and events.
        #[arg(long)]
        metadata: Vec<PathBuf>,
    },
    /// One contract's history: its code (instantiation and each upgrade with the proposal that
    /// approved it, proven from the state) and every transaction that called it or reached it
    /// through another contract — sender, decoded message and arguments (--metadata), result,
    /// events, value received, its balance after the block (proven). From a node (--rpc) or an
    /// export (--dir); with --sets every block is checked against its certificate.
    Contract(contract_history::ContractArgs),
    /// Verify a saved proof offline — a transaction and its receipt (`receipt --out`,
    /// `tx_getProof`) or a state value (`state-proof --out`, `state_getProof`) — against the
    /// genesis and the validator-set history alone.
    VerifyReceipt {
        file: PathBuf,
        #[arg(long, env = "JJJ_GENESIS")]
        genesis: PathBuf,
        /// The validator-set history (`jjj follow --sets`, `replay --sets-out`); without it the
        /// genesis validators are assumed for every height.
        #[arg(long)]
        sets: Option<PathBuf>,
        /// Contract metadata (JSON, repeatable): decode a proven call and its events.
        #[arg(long)]
        metadata: Vec<PathBuf>,
    },
    /// Print a node's access log of the network (--network): every read of protected data it
    /// answered or refused, and every signed read request it refused — who, what, when, at which
    /// height, and the decision. The whole hash chain is fetched and checked first (a removed,
    /// reordered or altered entry is reported with its sequence number), then against the head
    /// the node anchored on chain.
    Access {
        /// Only the reads of this account.
        #[arg(long)]
        reader: Option<String>,
        /// Only reads against the state of this height or later.
        #[arg(long)]
        from: Option<u64>,
        /// Contract metadata (JSON, repeatable) to name messages instead of showing selectors.
        #[arg(long)]
        metadata: Vec<PathBuf>,
    },
}
fn main() {
    // `jjj … | head` closes our stdout early. Rust ignores SIGPIPE, so every later print would
    // fail, and `println!` panics on that; like other command-line tools, end quietly instead.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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

/// Prints a node's answer as indented JSON.
fn print(answer: serde_json::Result<serde_json::Value>) -> Result<(), String> {
    let v = answer.map_err(|e| format!("cannot print the answer: {e}"))?;
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string()));
    Ok(())
}

pub async fn run(cli: Cli) -> Result<(), String> {
    let net = cli.network.clone();
    match cli.command {
        Command::Key(KeyCmd::New { out, scheme }) => {
            let scheme = match scheme {
                KeyScheme::Ed25519 => jjj_crypto::Scheme::Ed25519,
                KeyScheme::Sm2 => jjj_crypto::Scheme::Sm2,
            };
            let key = jjj_crypto::Keypair::generate(scheme).map_err(|e| e.to_string())?;
            jjj_config::save_key(&out, &key)?;
            println!("{}", key.account());
            Ok(())
        }
        Command::Key(KeyCmd::Show { file, public }) => {
            let key = jjj_config::load_key(&file)?;
            println!("{}", key.account());
            if public {
                println!("{} public key 0x{}", key.scheme(), hex::encode(key.public_key()));
            }
            Ok(())
        }
        Command::Network(NetworkCmd::Init(a)) => network::init(&a),
        Command::Genesis(c) => genesis::run(c),
        Command::Status => {
            let rpc = Rpc::new(&cli.rpc)?;
            print(serde_json::to_value(rpc.api().health().await.map_err(|e| rpc.explain(e))?))
        }
        Command::Block { height } => {
            let rpc = Rpc::new(&cli.rpc)?;
            print(serde_json::to_value(rpc.api().block(net, height, None, None).await.map_err(|e| rpc.explain(e))?))
        }
        Command::Account(AccountArgs { command: Some(c), .. }) => gov::account(&cli.rpc, &net, c).await,
        Command::Account(AccountArgs { command: None, account }) => {
            let account = account.ok_or("name an account, or see `jjj account --help`")?;
            let rpc = Rpc::new(&cli.rpc)?;
            print(serde_json::to_value(rpc.api().account(net, account).await.map_err(|e| rpc.explain(e))?))
        }
        Command::Member(c) => gov::member(&cli.rpc, &net, c).await,
        Command::Role(c) => gov::role(&cli.rpc, &net, c).await,
        Command::Permission(c) => gov::permission(&cli.rpc, &net, c).await,
        Command::Proposal(c) => gov::proposal(&cli.rpc, &net, c).await,
        Command::Registry { name } => gov::registry(&cli.rpc, &net, name).await,
        Command::Transfer { key, to, amount } => {
            let rpc = Rpc::new(&cli.rpc)?;
            let key = load_key(&key)?;
            let to = parse_account(&to)?;
            let r = tx::submit_and_wait(&rpc, &net, &key, Call::Transfer { to, amount }, 100_000).await?;
            contract::report_receipt(&r, None, None);
            tx::status_to_result(&r)
        }
        Command::Contract(c) => contract::run(&cli.rpc, &net, c).await,
        Command::Audit(AuditCmd::Export { genesis, out, from, to }) => {
            history::export(&cli.rpc, &net, genesis.as_deref(), &out, from, to).await
        }
        Command::Audit(AuditCmd::Replay { genesis, dir, state_at, from, to, db, key, sets_out }) => {
            let rpc = if dir.is_none() { Some(cli.rpc.clone()) } else { None };
            replay::replay(replay::ReplayArgs { genesis, rpc, dir, from, to, state_at, db, key, sets_out }).await
        }
        Command::Audit(AuditCmd::Receipt { tx, genesis, sets, out, scale }) => {
            audit::receipt(&cli.rpc, &genesis, sets.as_deref(), &tx, out.as_deref(), scale).await
        }
        Command::Audit(AuditCmd::StateProof {
            account,
            contract,
            storage,
            raw_key,
            height,
            genesis,
            sets,
            key,
            out,
        }) => {
            let state_key = match (account, contract.zip(storage), raw_key) {
                (Some(a), _, _) => jjj_state::keys::account(&parse_account(&a)?),
                (_, Some((c, k)), _) => jjj_state::keys::storage(
                    &parse_account(&c)?,
                    &jjj_rpc_api::unhex(&k).map_err(|e| format!("--storage: {e}"))?,
                ),
                (_, _, Some(k)) => jjj_rpc_api::unhex(&k).map_err(|e| format!("--raw-key: {e}"))?,
                _ => return Err("say which key: --account, --contract with --storage, or --raw-key".into()),
            };
            audit::state_proof(&cli.rpc, &genesis, sets.as_deref(), &state_key, height, key.as_deref(), out.as_deref())
                .await
        }
        Command::Audit(AuditCmd::Contract(args)) => contract_history::run(&cli.rpc, args).await,
        Command::Audit(AuditCmd::Trace { tx, genesis, sets, key, metadata }) => {
            trace::trace(&cli.rpc, &genesis, sets.as_deref(), &tx, key.as_deref(), &metadata).await
        }
        Command::Audit(AuditCmd::VerifyReceipt { file, genesis, sets, metadata }) => {
            audit::verify_receipt_file(&genesis, sets.as_deref(), &file, &metadata)
        }
        Command::Follow { genesis, sets, to, watch } => {
            follow::follow(&cli.rpc, &genesis, sets.as_deref(), to, watch).await
        }
        Command::Audit(AuditCmd::Access { reader, from, metadata }) => {
            audit::access(&cli.rpc, &net, reader.as_deref(), from, &metadata).await
        }
        Command::Bench(flags) => bench::run_flags(cli.rpc.clone(), net, flags).await,
    }
}
