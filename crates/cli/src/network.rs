//! `jjj network init`: keys, one genesis per network and one node config per validator.
use crate::tx::now_ms;
use crate::InitArgs;
use jjj_config::{save_key, Genesis, GenesisAccount, GenesisMember, GenesisValidator, NodeConfig, PeerConfig};
use jjj_crypto::Keypair;
use std::path::PathBuf;

/// The alliance when `--member` is not given: the three regions' government service bureaus.
const DEFAULT_MEMBERS: [&str; 3] = [
    "beijing=beijing:北京市政务服务和数据管理局",
    "tianjin=tianjin:天津市政务服务办公室",
    "hebei=hebei:河北省政务服务管理办公室",
];

pub fn init(a: &InitArgs) -> Result<(), String> {
    if a.validators == 0 || a.validators > 64 {
        return Err("--validators must be 1 to 64".into());
    }
    let keys_dir = a.dir.join("keys");
    std::fs::create_dir_all(&keys_dir).map_err(|e| format!("cannot create {}: {e}", keys_dir.display()))?;
    // Every key is of the suite's scheme: node keys sign votes and handshakes, account keys
    // transactions, admin keys approvals.
    let scheme = a.crypto.scheme();
    let new_key = |name: &str| -> Keypair {
        if a.dev_keys {
            Keypair::named(scheme, name)
        } else {
            let mut seed = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
            Keypair::new(scheme, seed)
        }
    };
    let mut validators = Vec::new();
    for i in 1..=a.validators {
        let name = format!("validator-{i}");
        let key = new_key(&name);
        save_key(&keys_dir.join(format!("{name}.key")), &key)?;
        validators.push((name, key));
    }
    let member_specs: Vec<String> =
        if a.members.is_empty() { DEFAULT_MEMBERS.iter().map(|s| s.to_string()).collect() } else { a.members.clone() };
    let mut alliance = Vec::new();
    for spec in &member_specs {
        let (id, rest) = spec.split_once('=').ok_or_else(|| format!("--member {spec:?}: expected ID=REGION:NAME"))?;
        let (region, name) =
            rest.split_once(':').ok_or_else(|| format!("--member {spec:?}: expected ID=REGION:NAME"))?;
        let admin = format!("{id}-admin");
        let key = new_key(&admin);
        save_key(&keys_dir.join(format!("{admin}.key")), &key)?;
        alliance.push(GenesisMember {
            id: id.to_string(),
            name: name.to_string(),
            region: region.to_string(),
            admins: vec![key.account().to_string()],
            admin_threshold: 1,
        });
    }
    let mut accounts = Vec::new();
    for spec in &a.accounts {
        let (name, rest) =
            spec.split_once('=').ok_or_else(|| format!("--account {spec:?}: expected NAME=FEN[@MEMBER][+ROLES]"))?;
        let (rest, roles) = match rest.split_once('+') {
            Some((r, roles)) => (r, roles.split(',').map(|s| s.trim().to_string()).collect()),
            None => (rest, vec![]),
        };
        let (bal, member) = rest.split_once('@').unwrap_or((rest, ""));
        let balance: u64 = bal.parse().map_err(|_| format!("--account {spec:?}: {bal:?} is not a number of fen"))?;
        let key = new_key(name);
        save_key(&keys_dir.join(format!("{name}.key")), &key)?;
        accounts.push(GenesisAccount {
            id: key.account().to_string(),
            name: name.to_string(),
            balance,
            member: member.to_string(),
            roles,
        });
    }
    let specs = if a.networks.is_empty() { vec!["jjj".to_string()] } else { a.networks.clone() };
    let now = now_ms();
    let mut serves: Vec<Vec<PathBuf>> = vec![Vec::new(); a.validators];
    for spec in &specs {
        let (name, members) = match spec.split_once('=') {
            Some((n, m)) => {
                let mut idx = Vec::new();
                for part in m.split(',') {
                    let i: usize = part
                        .trim()
                        .parse()
                        .map_err(|_| format!("--network {spec:?}: {part:?} is not a validator number"))?;
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
            crypto: a.crypto.name().into(),
            timestamp: now,
            validators: members
                .iter()
                .map(|i| GenesisValidator {
                    id: validators[*i].1.account().to_string(),
                    name: validators[*i].0.clone(),
                })
                .collect(),
            members: alliance.clone(),
            accounts: accounts.clone(),
            thresholds: Default::default(),
            member_grantable_roles: vec![jjj_primitives::gov::roles::RESIDENT.into()],
            max_block_txs: 5_000,
            max_block_bytes: 4 * 1024 * 1024,
            block_gas_limit: jjj_primitives::params::DEFAULT_BLOCK_GAS_LIMIT,
            empty_block_interval_ms: 0,
            max_timestamp_lag_ms: jjj_config::genesis::DEFAULT_MAX_TIMESTAMP_LAG_MS,
        };
        genesis.check()?;
        let file = format!("genesis-{name}.json");
        let text = serde_json::to_string_pretty(&genesis).map_err(|e| e.to_string())?;
        std::fs::write(a.dir.join(&file), text).map_err(|e| format!("cannot write {file}: {e}"))?;
        for i in members {
            serves[i].push(PathBuf::from(&file));
        }
        println!(
            "network {name}: genesis-{name}.json ({}), header {}",
            a.crypto,
            genesis.header()?.hash(a.crypto.hash_algo())
        );
    }
    for spec in &a.follow {
        let (name, nodes) =
            spec.split_once('=').ok_or_else(|| format!("--follow {spec:?}: expected NAME=NODE[,NODE…]"))?;
        let file = PathBuf::from(format!("genesis-{name}.json"));
        if !specs.iter().any(|s| s.split('=').next() == Some(name)) {
            return Err(format!("--follow {spec:?}: no --network {name}"));
        }
        for part in nodes.split(',') {
            let i: usize =
                part.trim().parse().map_err(|_| format!("--follow {spec:?}: {part:?} is not a node number"))?;
            if i == 0 || i > a.validators {
                return Err(format!("--follow {spec:?}: node {i} does not exist (1..={})", a.validators));
            }
            if !serves[i - 1].contains(&file) {
                serves[i - 1].push(file.clone());
            }
        }
    }
    for (i, (name, key)) in validators.iter().enumerate() {
        let mut peers = Vec::new();
        for (j, (_, k)) in validators.iter().enumerate() {
            if j != i {
                let addr = format!("{}:{}", a.host, a.p2p_port + j as u16)
                    .parse()
                    .map_err(|e| format!("--host {}: {e}", a.host))?;
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
            mempool_max_bytes: jjj_config::DEFAULT_MEMPOOL_MAX_BYTES,
            mempool_sender_max_bytes: jjj_config::DEFAULT_MEMPOOL_SENDER_MAX_BYTES,
            rpc: Default::default(),
        };
        std::fs::write(a.dir.join(format!("{name}.toml")), cfg.to_toml()?).map_err(|e| e.to_string())?;
        println!(
            "{name}: {} (p2p {}, rpc http://{}:{})",
            key.account(),
            a.p2p_port + i as u16,
            a.host,
            a.rpc_port + i as u16
        );
    }
    Ok(())
}
