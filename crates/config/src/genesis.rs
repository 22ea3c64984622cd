//! A network's genesis: its id, validators, initial accounts and parameters. JSON on disk,
//! written by `jjj network init`; every member of the network must hold the same file (its hash
//! is the genesis header's, so a node with a different file cannot join).
use jjj_executive::genesis_changes;
use jjj_primitives::{AccountId, Hash, Header, NetworkId};
use jjj_state::{ChangeSet, MemoryState, StateCommitment};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisValidator {
    /// The node key (ed25519 public key, 0x-hex).
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    pub id: String,
    pub name: String,
    /// Initial balance in fen.
    pub balance: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub network: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    pub validators: Vec<GenesisValidator>,
    pub accounts: Vec<GenesisAccount>,
    /// Most transactions in one block.
    #[serde(default = "default_max_block_txs")]
    pub max_block_txs: usize,
    /// Most bytes of transactions in one block.
    #[serde(default = "default_max_block_bytes")]
    pub max_block_bytes: usize,
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

fn default_max_block_txs() -> usize {
    jjj_primitives::params::DEFAULT_MAX_BLOCK_TXS
}
fn default_max_block_bytes() -> usize {
    jjj_primitives::params::DEFAULT_MAX_BLOCK_BYTES
}
fn default_max_timestamp_lag_ms() -> u64 {
    DEFAULT_MAX_TIMESTAMP_LAG_MS
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
    pub fn load(path: &Path) -> Result<Genesis, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read genesis {}: {e}", path.display()))?;
        let g: Genesis =
            serde_json::from_str(&text).map_err(|e| format!("genesis {} is not valid: {e}", path.display()))?;
        g.check()?;
        Ok(g)
    }

    pub fn check(&self) -> Result<(), String> {
        NetworkId::new(&self.network)?;
        if self.validators.is_empty() {
            return Err(format!("network {} has no validators", self.network));
        }
        let ids = self.validator_ids()?;
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != ids.len() {
            return Err(format!("network {} lists a validator twice", self.network));
        }
        self.balances()?;
        if self.max_block_txs == 0 || self.max_block_bytes == 0 {
            return Err("block limits must be positive".into());
        }
        let drift = jjj_primitives::params::MAX_CLOCK_DRIFT_MS;
        if self.max_timestamp_lag_ms < drift {
            // Clocks may differ by the drift either way: a fresh proposal from a validator whose
            // clock is behind ours would look that old.
            return Err(format!(
                "max_timestamp_lag_ms is {} but must be at least the tolerated clock drift, {drift} ms",
                self.max_timestamp_lag_ms
            ));
        }
        Ok(())
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

    pub fn state_changes(&self) -> Result<ChangeSet, String> {
        Ok(genesis_changes(&self.balances()?))
    }

    /// The genesis header (height 0): commits to the initial state; its hash is the parent of
    /// block 1 and identifies the network's history.
    pub fn header(&self) -> Result<Header, String> {
        let mut state = MemoryState::new();
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
