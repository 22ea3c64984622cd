//! `jjj genesis`: a genesis assembled by the members themselves, from public keys only.
//!
//! Each member makes its own node and admin keys on its own machine (`jjj key new`) and sends
//! the public parts (account ids, the node's address) to whoever assembles the draft; every
//! member then runs `jjj genesis check` on the final file and compares the hash it prints
//! before starting its node. No step needs another member's private key.
use crate::tx::now_ms;
use jjj_config::PeerConfig;
use jjj_config::{load_key, parse_account, Genesis, GenesisAccount, GenesisMember, GenesisValidator, NodeConfig};
use jjj_crypto::{PublicKey, Suite};
use jjj_primitives::gov::Region;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum GenesisCmd {
    /// Start a draft genesis for network NETWORK (ASCII letters, digits, '-'): no members,
    /// validators or accounts yet, the default limits. Written to --file.
    New {
        network: String,
        /// ed25519+blake2b, or sm2+sm3 (国密).
        #[arg(long, default_value = "ed25519+blake2b", value_name = "SUITE")]
        crypto: Suite,
        #[arg(long)]
        file: PathBuf,
    },
    /// Add a member organisation: ID (lowercase ASCII), its region (beijing/tianjin/hebei or
    /// 京/津/冀), display name, and its admins' public keys (account ids).
    AddMember {
        id: String,
        #[arg(long)]
        region: String,
        /// Display name, e.g. 北京市政务服务和数据管理局.
        #[arg(long)]
        name: String,
        /// An admin's account id (0x…, from `jjj key show`). Repeatable.
        #[arg(long = "admin", required = true)]
        admins: Vec<String>,
        /// How many of the admins make the member's approval.
        #[arg(long, default_value_t = 1)]
        admin_threshold: u32,
        #[arg(long)]
        file: PathBuf,
    },
    /// Add a validator: its name, where its node listens for peers, and its node key's
    /// account id.
    AddValidator {
        name: String,
        #[arg(long, value_name = "HOST:PORT")]
        addr: SocketAddr,
        #[arg(long, value_name = "PUBKEY")]
        key: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Add an account registered by a member: its name, key's account id, balance and roles.
    AddAccount {
        name: String,
        #[arg(long, value_name = "PUBKEY")]
        key: String,
        /// The member that registers it.
        #[arg(long)]
        member: String,
        /// Initial balance, fen.
        #[arg(long, default_value_t = 0)]
        balance: u64,
        /// A role from the start (deployer, bank, utility-provider…). Repeatable.
        #[arg(long = "role")]
        roles: Vec<String>,
        #[arg(long)]
        file: PathBuf,
    },
    /// Check a genesis as a node would load it and print what it holds and its hash: every
    /// member compares the hash before starting its node.
    Check {
        #[arg(long)]
        file: PathBuf,
    },
    /// Write this member's node config from genesis files: its peers are the validators those
    /// files list (with their addresses), its key file stays where it is.
    NodeConfig {
        /// A network this node serves. Repeatable.
        #[arg(long = "genesis", required = true)]
        genesis: Vec<PathBuf>,
        /// This node's key file (its private key never leaves this machine).
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        name: String,
        /// Where this node listens for peers (the address its validator entry names).
        #[arg(long, value_name = "HOST:PORT")]
        p2p_listen: SocketAddr,
        /// Where it serves JSON-RPC (`--rpc-listen`: the global `--rpc` is the endpoint a
        /// command talks to).
        #[arg(long, value_name = "HOST:PORT")]
        rpc_listen: SocketAddr,
        /// Where it serves Prometheus /metrics and /health.
        #[arg(long, value_name = "HOST:PORT")]
        metrics_listen: Option<SocketAddr>,
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(cmd: GenesisCmd) -> Result<(), String> {
    match cmd {
        GenesisCmd::New { network, crypto, file } => {
            if file.exists() {
                return Err(format!("{} exists: a new draft does not overwrite it", file.display()));
            }
            jjj_primitives::NetworkId::new(&network)?;
            save(&file, &Genesis::draft(&network, crypto, now_ms()))?;
            println!("draft genesis of network {network} ({crypto}) in {}", file.display());
            Ok(())
        }
        GenesisCmd::AddMember { id, region, name, admins, admin_threshold, file } => {
            let mut g = load(&file)?;
            let region = Region::parse(&region)?;
            jjj_primitives::gov::check_name("member id", &id)?;
            if g.members.iter().any(|m| m.id == id) {
                return Err(format!("{} already has a member {id}", file.display()));
            }
            for admin in &admins {
                key_of(&g, admin, &format!("admin of {id}"))?;
            }
            if admin_threshold == 0 || admin_threshold as usize > admins.len() {
                return Err(format!("--admin-threshold must be 1 to {} (the admins given)", admins.len()));
            }
            g.members.push(GenesisMember { id: id.clone(), name, region: region.to_string(), admins, admin_threshold });
            save(&file, &g)?;
            println!("member {id} ({}) added to {}", region.chinese(), file.display());
            Ok(())
        }
        GenesisCmd::AddValidator { name, addr, key, file } => {
            let mut g = load(&file)?;
            key_of(&g, &key, &format!("validator {name}"))?;
            if g.validators.iter().any(|v| v.id == key || v.name == name) {
                return Err(format!("{} already has validator {name} or key {key}", file.display()));
            }
            g.validators.push(GenesisValidator { id: key, name: name.clone(), addr: Some(addr.to_string()) });
            save(&file, &g)?;
            println!("validator {name} ({addr}) added to {}", file.display());
            Ok(())
        }
        GenesisCmd::AddAccount { name, key, member, balance, roles, file } => {
            let mut g = load(&file)?;
            key_of(&g, &key, &format!("account {name}"))?;
            if !g.members.iter().any(|m| m.id == member) {
                return Err(format!(
                    "{} has no member {member}: add it first (jjj genesis add-member)",
                    file.display()
                ));
            }
            if g.accounts.iter().any(|a| a.id == key || a.name == name) {
                return Err(format!("{} already has account {name} or key {key}", file.display()));
            }
            g.accounts.push(GenesisAccount { id: key, name: name.clone(), balance, member: member.clone(), roles });
            save(&file, &g)?;
            println!("account {name} (registered by {member}) added to {}", file.display());
            Ok(())
        }
        GenesisCmd::Check { file } => {
            let g = Genesis::load(&file)?;
            g.check()?;
            let hash = g.header()?.hash(g.suite()?.hash_algo());
            println!("network {} ({}), created at {} ms", g.network, g.crypto, g.timestamp);
            for m in &g.members {
                println!(
                    "  member {} ({}, {}): {} admin(s), {} to approve",
                    m.id,
                    m.region,
                    m.name,
                    m.admins.len(),
                    m.admin_threshold
                );
            }
            for v in &g.validators {
                println!("  validator {} {} at {}", v.name, v.id, v.addr.as_deref().unwrap_or("(no address)"));
            }
            for a in &g.accounts {
                println!(
                    "  account {} {} of {}: {} fen, roles [{}]",
                    a.name,
                    a.id,
                    a.member,
                    a.balance,
                    a.roles.join(", ")
                );
            }
            println!("genesis hash {hash}");
            Ok(())
        }
        GenesisCmd::NodeConfig { genesis, key, name, p2p_listen, rpc_listen, metrics_listen, data_dir, out } => {
            let own = load_key(&key)?.account().to_string();
            let mut peers: BTreeMap<String, SocketAddr> = BTreeMap::new();
            for file in &genesis {
                let g = Genesis::load(file)?;
                g.check()?;
                for v in g.validators.iter().filter(|v| v.id != own) {
                    let addr = v.addr.as_deref().ok_or_else(|| {
                        format!(
                            "{}: validator {} has no address (jjj genesis add-validator --addr)",
                            file.display(),
                            v.name
                        )
                    })?;
                    let addr: SocketAddr = addr
                        .parse()
                        .map_err(|e| format!("{}: validator {}'s address {addr:?}: {e}", file.display(), v.name))?;
                    peers.insert(v.id.clone(), addr);
                }
            }
            let base = match out.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let relative = |p: &Path| -> PathBuf {
                // Paths in a node config are relative to the config file.
                let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
                let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
                abs.strip_prefix(&base).map(Path::to_path_buf).unwrap_or(abs)
            };
            let peers = peers.into_iter().map(|(id, addr)| PeerConfig { id, addr, follows: Vec::new() }).collect();
            let genesis = genesis.iter().map(|g| relative(g)).collect();
            let config = NodeConfig {
                metrics_listen,
                ..NodeConfig::with_defaults(name, relative(&key), data_dir, p2p_listen, rpc_listen, genesis, peers)
            };
            std::fs::write(&out, config.to_toml()?).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            println!("node config {} ({} peers) in {}", config.name, config.peers.len(), out.display());
            Ok(())
        }
    }
}

/// Checks that `id` is a public key of the genesis's scheme.
fn key_of(g: &Genesis, id: &str, what: &str) -> Result<(), String> {
    let scheme = g.suite()?.scheme();
    let account = parse_account(id).map_err(|e| format!("{what}: {e}"))?;
    if PublicKey::parse(scheme, &account).is_none() {
        return Err(format!("{what}: {id} is no {scheme} key (network {} runs {})", g.network, g.crypto));
    }
    Ok(())
}

/// A draft as written so far (not checked: it may lack validators or members yet).
fn load(file: &Path) -> Result<Genesis, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a genesis: {e}", file.display()))
}

fn save(file: &Path, g: &Genesis) -> Result<(), String> {
    let text = serde_json::to_string_pretty(g).map_err(|e| e.to_string())?;
    std::fs::write(file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))
}
