//! `jjj network init`: keys, one genesis per network and one node config per validator.
use crate::tx::now_ms;
use crate::InitArgs;
use crate::Preset;
use jjj_config::{save_key, Genesis, GenesisAccount, GenesisMember, GenesisValidator, NodeConfig, PeerConfig};
use jjj_crypto::Keypair;
use jjj_primitives::gov::Region;
use std::path::PathBuf;

/// `--preset jingjinji`: the region's four networks on six nodes, two per region (nodes 1–2
/// Beijing's, 3–4 Tianjin's, 5–6 Hebei's). Each network is validated by its regions' nodes and
/// governed by its regions' members: (id, name, regions).
const JINGJINJI: [(&str, &str, &[Region]); 4] = [
    ("jingjin", "京津", &[Region::Beijing, Region::Tianjin]),
    ("jingji", "京冀", &[Region::Beijing, Region::Hebei]),
    ("jinji", "津冀", &[Region::Tianjin, Region::Hebei]),
    ("jingjinji", "京津冀", &[Region::Beijing, Region::Tianjin, Region::Hebei]),
];
const JINGJINJI_NODE_REGIONS: [Region; 6] =
    [Region::Beijing, Region::Beijing, Region::Tianjin, Region::Tianjin, Region::Hebei, Region::Hebei];

/// One network to write: its validators (0-based node numbers) and, for a preset, the regions
/// whose members govern it (`None`: every member).
struct NetworkPlan {
    name: String,
    title: Option<&'static str>,
    validators: Vec<usize>,
    regions: Option<&'static [Region]>,
}

/// The alliance when `--member` is not given: the three regions' government service bureaus.
const DEFAULT_MEMBERS: [&str; 3] = [
    "beijing=beijing:北京市政务服务和数据管理局",
    "tianjin=tianjin:天津市政务服务办公室",
    "hebei=hebei:河北省政务服务管理办公室",
];

pub fn init(a: &InitArgs) -> Result<(), String> {
    let (node_count, plans) = plan(a)?;
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
    for i in 1..=node_count {
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
    let now = now_ms();
    let mut serves: Vec<Vec<PathBuf>> = vec![Vec::new(); node_count];
    for plan in &plans {
        let (name, members) = (plan.name.clone(), plan.validators.clone());
        // A preset network is governed by its regions' members and holds the accounts they
        // register; an account without a member is on every network (its first member's).
        let in_network = |m: &GenesisMember| {
            plan.regions.is_none_or(|regions| Region::parse(&m.region).is_ok_and(|r| regions.contains(&r)))
        };
        let network_members: Vec<GenesisMember> = alliance.iter().filter(|m| in_network(m)).cloned().collect();
        let network_accounts: Vec<GenesisAccount> = accounts
            .iter()
            .filter(|acc| {
                plan.regions.is_none() || acc.member.is_empty() || network_members.iter().any(|m| m.id == acc.member)
            })
            .cloned()
            .collect();
        let genesis = Genesis {
            network: name.clone(),
            crypto: a.crypto.name().into(),
            timestamp: now,
            validators: members
                .iter()
                .map(|i| GenesisValidator {
                    id: validators[*i].1.account().to_string(),
                    name: validators[*i].0.clone(),
                    addr: Some(format!("{}:{}", a.host, a.p2p_port + *i as u16)),
                })
                .collect(),
            members: network_members,
            accounts: network_accounts,
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
        let title = plan.title.map(|t| format!(" {t}")).unwrap_or_default();
        let nodes: Vec<String> = plan.validators.iter().map(|i| (i + 1).to_string()).collect();
        println!(
            "network {name}{title}: genesis-{name}.json ({}), validators {}, header {}",
            a.crypto,
            nodes.join(","),
            genesis.header()?.hash(a.crypto.hash_algo())
        );
    }
    // The networks each node follows without validating: every other node's config names them,
    // so it sends that node those networks' data (and no other network's).
    let mut follows: Vec<Vec<String>> = vec![Vec::new(); node_count];
    for spec in &a.follow {
        let (name, nodes) =
            spec.split_once('=').ok_or_else(|| format!("--follow {spec:?}: expected NAME=NODE[,NODE…]"))?;
        let file = PathBuf::from(format!("genesis-{name}.json"));
        if !plans.iter().any(|p| p.name == name) {
            return Err(format!("--follow {spec:?}: no --network {name}"));
        }
        for part in nodes.split(',') {
            let i: usize =
                part.trim().parse().map_err(|_| format!("--follow {spec:?}: {part:?} is not a node number"))?;
            if i == 0 || i > node_count {
                return Err(format!("--follow {spec:?}: node {i} does not exist (1..={node_count})"));
            }
            if !serves[i - 1].contains(&file) {
                serves[i - 1].push(file.clone());
                follows[i - 1].push(name.to_string());
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
                peers.push(PeerConfig { id: k.account().to_string(), addr, follows: follows[j].clone() });
            }
        }
        let sock = |port: u16| format!("{}:{port}", a.host).parse().map_err(|e| format!("{e}"));
        let cfg = NodeConfig {
            metrics_listen: Some(sock(a.metrics_port + i as u16)?),
            view_timeout_ms: a.view_timeout_ms,
            ..NodeConfig::with_defaults(
                name.clone(),
                PathBuf::from(format!("keys/{name}.key")),
                PathBuf::from(format!("data/{name}")),
                sock(a.p2p_port + i as u16)?,
                sock(a.rpc_port + i as u16)?,
                serves[i].clone(),
                peers,
            )
        };
        std::fs::write(a.dir.join(format!("{name}.toml")), cfg.to_toml()?).map_err(|e| e.to_string())?;
        let region = match a.preset {
            Some(Preset::Jingjinji) => format!(" {}", JINGJINJI_NODE_REGIONS[i].chinese()),
            None => String::new(),
        };
        println!(
            "{name}{region}: {} (p2p {}, rpc http://{}:{})",
            key.account(),
            a.p2p_port + i as u16,
            a.host,
            a.rpc_port + i as u16
        );
    }
    Ok(())
}

/// The nodes and networks to write: from `--preset`, or from `--validators` and `--network`.
fn plan(a: &InitArgs) -> Result<(usize, Vec<NetworkPlan>), String> {
    if let Some(Preset::Jingjinji) = a.preset {
        if !a.networks.is_empty() {
            return Err("--preset jingjinji writes its own four networks: leave out --network".into());
        }
        let plans = JINGJINJI
            .iter()
            .map(|(name, title, regions)| NetworkPlan {
                name: name.to_string(),
                title: Some(title),
                validators: (0..JINGJINJI_NODE_REGIONS.len())
                    .filter(|i| regions.contains(&JINGJINJI_NODE_REGIONS[*i]))
                    .collect(),
                regions: Some(regions),
            })
            .collect();
        return Ok((JINGJINJI_NODE_REGIONS.len(), plans));
    }
    let nodes = a.validators;
    if nodes == 0 || nodes > 64 {
        return Err("--validators must be 1 to 64".into());
    }
    let specs = if a.networks.is_empty() { vec!["jjj".to_string()] } else { a.networks.clone() };
    let mut plans = Vec::new();
    for spec in &specs {
        let (name, validators) = match spec.split_once('=') {
            Some((n, m)) => {
                let mut idx = Vec::new();
                for part in m.split(',') {
                    let i: usize = part
                        .trim()
                        .parse()
                        .map_err(|_| format!("--network {spec:?}: {part:?} is not a validator number"))?;
                    if i == 0 || i > nodes {
                        return Err(format!("--network {spec:?}: validator {i} does not exist (1..={nodes})"));
                    }
                    idx.push(i - 1);
                }
                (n.to_string(), idx)
            }
            None => (spec.clone(), (0..nodes).collect()),
        };
        plans.push(NetworkPlan { name, title: None, validators, regions: None });
    }
    Ok((nodes, plans))
}
