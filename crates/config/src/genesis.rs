//! A network's genesis: its id, validators, initial accounts and parameters. JSON on disk,
//! written by `jjj network init`; every member of the network must hold the same file (its hash
//! is the genesis header's, so a node with a different file cannot join).
use jjj_crypto::{PublicKey, Suite};
use jjj_executive::{BlockLimits, GenesisAccountSpec, GenesisSpec};
use jjj_primitives::gov::{MemberSpec, Region, Threshold};
use jjj_primitives::{AccountId, Hash, Header, NetworkId};
use jjj_state::{ChangeSet, MemoryState, StateCommitment};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisValidator {
    /// The node key (ed25519 public key, 0x-hex).
    pub id: String,
    pub name: String,
    /// Where its node listens for peers (HOST:PORT), so members can write their node configs
    /// from the genesis (`jjj genesis node-config`). Not part of the genesis hash: an address
    /// may change without a new genesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    pub id: String,
    pub name: String,
    /// Initial balance in fen.
    pub balance: u64,
    /// The member organisation that registers it (default: the first member).
    #[serde(default)]
    pub member: String,
    /// Its roles from the start (deployer, bank, utility-provider…).
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A member organisation of the alliance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisMember {
    /// Machine name: lowercase ASCII letters, digits and '-' (e.g. `beijing`).
    pub id: String,
    /// Display name (e.g. 北京市政务服务和数据管理局).
    pub name: String,
    /// beijing / tianjin / hebei (or 京 / 津 / 冀).
    pub region: String,
    /// Admin keys (0x-hex account ids): they approve proposals and register accounts.
    pub admins: Vec<String>,
    /// How many of the admins make the member's approval.
    #[serde(default = "one")]
    pub admin_threshold: u32,
}

fn one() -> u32 {
    1
}

fn default_member_grantable() -> Vec<String> {
    vec![jjj_primitives::gov::roles::RESIDENT.into()]
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub network: String,
    /// The network's crypto suite: `ed25519+blake2b` (the default) or `sm2+sm3` (国密: SM2
    /// signatures for accounts, votes and node identities, SM3 for every hash in a root).
    #[serde(default = "default_crypto")]
    pub crypto: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    pub validators: Vec<GenesisValidator>,
    /// The alliance's member organisations (at least one).
    #[serde(default)]
    pub members: Vec<GenesisMember>,
    pub accounts: Vec<GenesisAccount>,
    /// Approvals each governance action kind needs: ANY, MAJORITY, ALL or m (MAJORITY when not
    /// named).
    #[serde(default)]
    pub thresholds: std::collections::BTreeMap<String, String>,
    /// Roles a member's admins may give their own accounts without a proposal.
    #[serde(default = "default_member_grantable")]
    pub member_grantable_roles: Vec<String>,
    /// Most transactions in one block.
    #[serde(default = "default_max_block_txs")]
    pub max_block_txs: usize,
    /// Most bytes of transactions in one block; with `BLOCK_MESSAGE_OVERHEAD` it must fit in
    /// one peer message (`MAX_PEER_MESSAGE`).
    #[serde(default = "default_max_block_bytes")]
    pub max_block_bytes: usize,
    /// Most gas one block's transactions may use together: each transaction's gas limit must fit
    /// in what those before it left. Between `MAX_TX_GAS` and `MAX_BLOCK_GAS_LIMIT`.
    #[serde(default = "default_block_gas_limit")]
    pub block_gas_limit: u64,
    /// Propose an empty block after this many ms without transactions (0 = never).
    #[serde(default)]
    pub empty_block_interval_ms: u64,
    /// How far behind a validator's clock a live proposal's timestamp may be, ms (at least
    /// `MAX_CLOCK_DRIFT_MS`): a proposer cannot hold contract time back (no late fees) by stamping
    /// blocks just above their parent. Catch-up and replay never read the clock.
    #[serde(default = "default_max_timestamp_lag_ms")]
    pub max_timestamp_lag_ms: u64,
}

/// `max_timestamp_lag_ms` unless the genesis says otherwise: the clock skew validators already
/// tolerate ahead (`MAX_CLOCK_DRIFT_MS`, 10 s) plus 20 s for a proposal to be built, delivered
/// (4 MiB over a slow link) and validated, or replayed from the buffer of a validator that
/// reached the height a little late.
pub const DEFAULT_MAX_TIMESTAMP_LAG_MS: u64 = 30_000;

fn default_crypto() -> String {
    Suite::Ed25519Blake2b.name().into()
}
fn default_max_block_txs() -> usize {
    jjj_primitives::params::DEFAULT_MAX_BLOCK_TXS
}
fn default_max_block_bytes() -> usize {
    jjj_primitives::params::DEFAULT_MAX_BLOCK_BYTES
}
fn default_max_timestamp_lag_ms() -> u64 {
    DEFAULT_MAX_TIMESTAMP_LAG_MS
}
fn default_block_gas_limit() -> u64 {
    jjj_primitives::params::DEFAULT_BLOCK_GAS_LIMIT
}

pub fn parse_account(s: &str) -> Result<AccountId, String> {
    let hex_part = s.strip_prefix("0x").unwrap_or(s);
    let bytes = hex::decode(hex_part).map_err(|e| format!("{s:?} is not hex: {e}"))?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| format!("{s:?} is not 32 bytes"))?;
    Ok(AccountId(arr))
}

pub fn parse_hash(s: &str) -> Result<Hash, String> {
    parse_account(s).map(|a| Hash(a.0))
}

impl Genesis {
    /// A genesis to assemble (`jjj genesis new`): no validators, members or accounts yet, the
    /// default limits and thresholds.
    pub fn draft(network: &str, crypto: Suite, timestamp: u64) -> Genesis {
        Genesis {
            network: network.into(),
            crypto: crypto.name().into(),
            timestamp,
            validators: Vec::new(),
            members: Vec::new(),
            accounts: Vec::new(),
            thresholds: Default::default(),
            member_grantable_roles: default_member_grantable(),
            max_block_txs: default_max_block_txs(),
            max_block_bytes: default_max_block_bytes(),
            block_gas_limit: default_block_gas_limit(),
            empty_block_interval_ms: 0,
            max_timestamp_lag_ms: DEFAULT_MAX_TIMESTAMP_LAG_MS,
        }
    }

    /// A test or devnet genesis with default limits: one member, `dev` (its admin the first
    /// account), registering every account with the deployer role.
    pub fn dev(
        network: &str,
        timestamp: u64,
        validators: Vec<GenesisValidator>,
        accounts: Vec<GenesisAccount>,
    ) -> Genesis {
        let admins = accounts.first().map(|a| vec![a.id.clone()]).unwrap_or_default();
        let accounts = accounts
            .into_iter()
            .map(|mut a| {
                a.member = jjj_executive::DEV_MEMBER.into();
                a.roles = vec![jjj_primitives::gov::roles::DEPLOYER.into()];
                a
            })
            .collect();
        Genesis {
            validators,
            members: vec![GenesisMember {
                id: jjj_executive::DEV_MEMBER.into(),
                name: "开发网".into(),
                region: "beijing".into(),
                admins,
                admin_threshold: 1,
            }],
            accounts,
            ..Genesis::draft(network, Suite::Ed25519Blake2b, timestamp)
        }
    }

    pub fn load(path: &Path) -> Result<Genesis, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read genesis {}: {e}", path.display()))?;
        let g: Genesis =
            serde_json::from_str(&text).map_err(|e| format!("genesis {} is not valid: {e}", path.display()))?;
        g.check()?;
        Ok(g)
    }

    pub fn check(&self) -> Result<(), String> {
        NetworkId::new(&self.network)?;
        let suite = self.suite()?;
        if self.validators.is_empty() {
            return Err(format!("network {} has no validators", self.network));
        }
        let ids = self.validator_ids()?;
        for (id, v) in ids.iter().zip(&self.validators) {
            if PublicKey::parse(suite.scheme(), id).is_none() {
                return Err(format!("validator {} ({}) is no {} key", v.name, v.id, suite.scheme()));
            }
        }
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != ids.len() {
            return Err(format!("network {} lists a validator twice", self.network));
        }
        self.balances()?;
        self.state_changes().map_err(|e| format!("network {}: {e}", self.network))?;
        let drift = jjj_primitives::params::MAX_CLOCK_DRIFT_MS;
        if self.max_timestamp_lag_ms < drift {
            // Clocks may differ by the drift either way: a fresh proposal from a validator whose
            // clock is behind ours would look that old.
            return Err(format!(
                "max_timestamp_lag_ms is {} but must be at least the tolerated clock drift, {drift} ms",
                self.max_timestamp_lag_ms
            ));
        }
        self.block_limits_spec()?.check().map_err(|e| {
            format!("network {}: block limits (max_block_txs, max_block_bytes, block_gas_limit): {e}", self.network)
        })?;
        Ok(())
    }

    /// The network's crypto suite.
    pub fn suite(&self) -> Result<Suite, String> {
        self.crypto.parse::<Suite>().map_err(|e| format!("network {}: crypto: {e}", self.network))
    }

    /// The genesis block limits in the form governance changes them (`u32` counts and bytes).
    pub fn block_limits_spec(&self) -> Result<jjj_primitives::gov::BlockLimitsSpec, String> {
        let narrow = |what: &str, v: usize| u32::try_from(v).map_err(|_| format!("{what} {v} is over {}", u32::MAX));
        Ok(jjj_primitives::gov::BlockLimitsSpec {
            max_txs: narrow("max_block_txs", self.max_block_txs)?,
            max_bytes: narrow("max_block_bytes", self.max_block_bytes)?,
            max_gas: self.block_gas_limit,
        })
    }

    /// What one block of this network may hold, for the runtime (`Runtime::with_block_limits`).
    pub fn block_limits(&self) -> BlockLimits {
        BlockLimits { max_txs: self.max_block_txs, max_bytes: self.max_block_bytes, max_gas: self.block_gas_limit }
    }

    pub fn network_id(&self) -> Result<NetworkId, String> {
        NetworkId::new(&self.network)
    }

    /// Validators in genesis order: the leader of view v is `validators[v mod n]`.
    pub fn validator_ids(&self) -> Result<Vec<AccountId>, String> {
        self.validators.iter().map(|v| parse_account(&v.id)).collect()
    }

    pub fn balances(&self) -> Result<Vec<(AccountId, u64)>, String> {
        let mut total: u64 = 0;
        let mut out = Vec::new();
        for a in &self.accounts {
            total = total.checked_add(a.balance).ok_or("genesis balances overflow u64")?;
            out.push((parse_account(&a.id)?, a.balance));
        }
        Ok(out)
    }

    /// The consortium layer and balances as the state transition takes them.
    pub fn spec(&self) -> Result<GenesisSpec, String> {
        let members = self
            .members
            .iter()
            .map(|m| {
                Ok(MemberSpec {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    region: Region::parse(&m.region)?,
                    admins: m.admins.iter().map(|a| parse_account(a)).collect::<Result<_, String>>()?,
                    admin_threshold: m.admin_threshold,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let first = members.first().map(|m| m.id.clone()).unwrap_or_default();
        let accounts = self
            .accounts
            .iter()
            .map(|a| {
                Ok(GenesisAccountSpec {
                    account: parse_account(&a.id)?,
                    member: if a.member.is_empty() { first.clone() } else { a.member.clone() },
                    roles: a.roles.clone(),
                    balance: a.balance,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let thresholds = self
            .thresholds
            .iter()
            .map(|(k, v)| Ok((k.clone(), Threshold::parse(v)?)))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(GenesisSpec { members, accounts, thresholds, member_grantable: self.member_grantable_roles.clone() })
    }

    pub fn state_changes(&self) -> Result<ChangeSet, String> {
        self.spec()?.changes()
    }

    /// The genesis header (height 0): commits to the initial state; its hash is the parent of
    /// block 1 and identifies the network's history.
    pub fn header(&self) -> Result<Header, String> {
        let mut state = MemoryState::new(self.suite()?.hash_algo());
        state.apply(&self.state_changes()?).map_err(|e| e.to_string())?;
        Ok(Header {
            network: self.network_id()?,
            height: 0,
            parent_hash: Hash::default(),
            timestamp: self.timestamp,
            proposer: AccountId::default(),
            tx_root: Hash::default(),
            receipts_root: Hash::default(),
            state_root: state.state_root(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jjj_primitives::params::{BLOCK_MESSAGE_OVERHEAD, MAX_BLOCK_GAS_LIMIT, MAX_PEER_MESSAGE, MAX_TX_GAS};

    fn genesis(extra: &str) -> Result<Genesis, String> {
        let json = format!(
            r#"{{"network": "jj", "timestamp": 0, "accounts": [],
                "members": [{{"id": "beijing", "name": "北京", "region": "京", "admins": ["0x{}"]}}],
                "validators": [{{"id": "0x{}", "name": "v"}}] {extra}}}"#,
            "22".repeat(32),
            "11".repeat(32)
        );
        let g: Genesis = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        g.check().map(|()| g)
    }

    #[test]
    fn block_gas_limit_has_a_default_and_is_checked() {
        let g = genesis("").expect("defaults");
        assert_eq!(g.block_gas_limit, jjj_primitives::params::DEFAULT_BLOCK_GAS_LIMIT);
        assert_eq!(g.block_limits(), BlockLimits::default());
        let err = genesis(&format!(r#", "block_gas_limit": {}"#, MAX_TX_GAS - 1)).expect_err("too low");
        assert!(err.contains("block_gas_limit"), "{err}");
        let err = genesis(&format!(r#", "block_gas_limit": {}"#, MAX_BLOCK_GAS_LIMIT + 1)).expect_err("too high");
        assert!(err.contains("block_gas_limit"), "{err}");
    }

    #[test]
    fn the_crypto_suite_is_named_and_checked() {
        assert_eq!(genesis("").expect("default").suite(), Ok(Suite::Ed25519Blake2b));
        let err = genesis(r#", "crypto": "rsa+md5""#).expect_err("unknown suite");
        assert!(err.contains("sm2+sm3"), "{err}");
        // The validator 0x11…11 is an ed25519 point but no SM2 x coordinate.
        let err = genesis(r#", "crypto": "sm2+sm3""#).expect_err("an ed25519-only key");
        assert!(err.contains("is no sm2 key"), "{err}");
        // The same accounts hashed with SM3 give another genesis.
        let mut g = genesis("").expect("default");
        let blake = g.header().expect("header");
        g.crypto = "sm2+sm3".into();
        assert_ne!(g.header().expect("header").state_root, blake.state_root);
    }

    #[test]
    fn a_block_must_fit_in_a_peer_message() {
        let err = genesis(&format!(r#", "max_block_bytes": {MAX_PEER_MESSAGE}"#)).expect_err("too large");
        assert!(err.contains("does not fit in a peer message"), "{err}");
        let fits = MAX_PEER_MESSAGE - BLOCK_MESSAGE_OVERHEAD;
        assert!(genesis(&format!(r#", "max_block_bytes": {fits}"#)).is_ok());
    }
}
