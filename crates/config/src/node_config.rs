//! The node's TOML configuration: one file per node, written by `jjj network init`.
//!
//! ```toml
//! name = "validator-1"
//! key_file = "validator-1.key"        # 32-byte seed, hex (`sm2:` first: an SM2 key)
//! data_dir = "data/validator-1"       # one RocksDB per network below it
//! p2p_listen = "127.0.0.1:30301"
//! rpc_listen = "127.0.0.1:9944"       # JSON-RPC, HTTP and WebSocket
//! metrics_listen = "127.0.0.1:9615"   # Prometheus /metrics and /health
//! genesis = ["genesis-jjj.json"]      # every network this node serves
//!
//! [[peers]]
//! id = "0x…"                          # the peer's node key
//! addr = "127.0.0.1:30302"
//! follows = ["jjj"]                   # networks it follows without validating (optional)
//! ```
//! A node sends a network's data (blocks, transactions, consensus traffic, catch-up answers)
//! only to that network's validators and to the peers listed as following it, and takes that
//! network's messages only from them.
//! Relative paths are relative to the config file.
use jjj_crypto::{KeyTextError, Keypair, Scheme};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PeerConfig {
    pub id: String,
    pub addr: SocketAddr,
    /// Networks this peer may follow without being one of their validators (it is sent their
    /// blocks, transactions and consensus traffic). A network's validators need not be listed:
    /// a node sends a network's data to its validators and these followers only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follows: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeConfig {
    pub name: String,
    pub key_file: PathBuf,
    pub data_dir: PathBuf,
    pub p2p_listen: SocketAddr,
    pub rpc_listen: SocketAddr,
    pub metrics_listen: Option<SocketAddr>,
    pub genesis: Vec<PathBuf>,
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
    /// Base view timeout of consensus, ms (doubles per failed view).
    #[serde(default = "default_view_timeout")]
    pub view_timeout_ms: u64,
    /// Most transactions waiting in one network's mempool.
    #[serde(default = "default_mempool_capacity")]
    pub mempool_capacity: usize,
    /// Most pending transactions of one sender.
    #[serde(default = "default_per_sender")]
    pub mempool_per_sender: usize,
    /// Most encoded bytes of transactions waiting in one network's mempool. When full, the
    /// senders holding the most bytes lose their highest nonces to make room.
    #[serde(default = "default_mempool_max_bytes")]
    pub mempool_max_bytes: usize,
    /// Most encoded bytes of one sender's pending transactions.
    #[serde(default = "default_mempool_sender_max_bytes")]
    pub mempool_sender_max_bytes: usize,
    /// What one RPC client may cost the node (the `[rpc]` table).
    #[serde(default)]
    pub rpc: RpcLimits,
    /// The web pages served on the RPC port (`scripts/build-web.sh` writes them); none served
    /// when unset.
    #[serde(default)]
    pub web_dir: Option<PathBuf>,
}

/// Default of `mempool_max_bytes`: 64 blocks of the default 4 MiB.
pub const DEFAULT_MEMPOOL_MAX_BYTES: usize = 256 * 1024 * 1024;
/// Default of `mempool_sender_max_bytes`: room for dozens of the largest transactions.
pub const DEFAULT_MEMPOOL_SENDER_MAX_BYTES: usize = 16 * 1024 * 1024;

/// The RPC server's limits (`[rpc]` in the node config); every field may be left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RpcLimits {
    /// Most simultaneous HTTP/WebSocket connections.
    pub max_connections: u32,
    /// Most subscriptions one WebSocket connection may hold.
    pub max_subscriptions_per_connection: u32,
    /// Most calls in one JSON-RPC batch.
    pub max_batch_len: u32,
    /// Most RPC calls doing blocking work (contract queries and dry runs, storage reads) at
    /// once; more are answered "busy, retry" at once instead of queueing.
    pub max_concurrent_calls: usize,
    /// Gas of a `contract_query`/`contract_dryRun` that names none, and the most one may ask for.
    pub call_gas_limit: u64,
}

impl Default for RpcLimits {
    fn default() -> Self {
        RpcLimits {
            max_connections: 256,
            max_subscriptions_per_connection: 32,
            max_batch_len: 32,
            max_concurrent_calls: 4,
            call_gas_limit: 20_000_000,
        }
    }
}

fn default_view_timeout() -> u64 {
    2_000
}
fn default_mempool_capacity() -> usize {
    100_000
}
fn default_per_sender() -> usize {
    1_024
}
fn default_mempool_max_bytes() -> usize {
    DEFAULT_MEMPOOL_MAX_BYTES
}
fn default_mempool_sender_max_bytes() -> usize {
    DEFAULT_MEMPOOL_SENDER_MAX_BYTES
}

impl NodeConfig {
    /// A node's config with every knob at its default (what a file that leaves them out gets).
    pub fn with_defaults(
        name: String,
        key_file: PathBuf,
        data_dir: PathBuf,
        p2p_listen: SocketAddr,
        rpc_listen: SocketAddr,
        genesis: Vec<PathBuf>,
        peers: Vec<PeerConfig>,
    ) -> NodeConfig {
        NodeConfig {
            name,
            key_file,
            data_dir,
            p2p_listen,
            rpc_listen,
            metrics_listen: None,
            genesis,
            peers,
            view_timeout_ms: default_view_timeout(),
            mempool_capacity: default_mempool_capacity(),
            mempool_per_sender: default_per_sender(),
            mempool_max_bytes: default_mempool_max_bytes(),
            mempool_sender_max_bytes: default_mempool_sender_max_bytes(),
            rpc: RpcLimits::default(),
            web_dir: None,
        }
    }

    pub fn load(path: &Path) -> Result<NodeConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        let mut c: NodeConfig =
            toml::from_str(&text).map_err(|e| format!("config {} is not valid: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let rel = |p: &PathBuf| if p.is_relative() { base.join(p) } else { p.clone() };
        c.key_file = rel(&c.key_file);
        c.data_dir = rel(&c.data_dir);
        c.genesis = c.genesis.iter().map(rel).collect();
        c.web_dir = c.web_dir.as_ref().map(rel);
        if c.genesis.is_empty() {
            return Err(format!("config {} serves no network: list at least one genesis file", path.display()));
        }
        Ok(c)
    }

    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string_pretty(self).map_err(|e| e.to_string())
    }
}

/// Reads a key file of either scheme: `sm2:` and the 32-byte seed as hex (SM2), or the hex seed
/// alone (ed25519); see [`Keypair::from_key_text`].
pub fn load_key(path: &Path) -> Result<Keypair, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read key {}: {e}", path.display()))?;
    Keypair::from_key_text(&text).map_err(|e| match e {
        KeyTextError::NotHex(why) => format!("key {} is not hex: {why}", path.display()),
        KeyTextError::NotSeed => format!("key {} is not a 32-byte seed", path.display()),
    })
}

/// Reads a key file that must be of `scheme` (the network's): a key of the other scheme would
/// only make signatures the network refuses.
pub fn load_key_for(path: &Path, scheme: Scheme) -> Result<Keypair, String> {
    let key = load_key(path)?;
    if key.scheme() != scheme {
        return Err(format!(
            "key {} is an {} key but the network signs with {scheme}: make one with `jjj key new --scheme {scheme}`",
            path.display(),
            key.scheme()
        ));
    }
    Ok(key)
}

/// Writes a key file of either scheme (readable by its owner only).
pub fn save_key(path: &Path, key: &Keypair) -> Result<(), String> {
    write_private(path, &format!("{}\n", key.key_text()))
}

/// Creates (or truncates) the file readable and writable by its owner only, from the start.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        // An existing file keeps its mode on open: narrow it too.
        if path.exists() {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
    }
    let mut file = options.open(path).map_err(|e| format!("cannot write key {}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| format!("cannot write key {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
name = "v"
key_file = "v.key"
data_dir = "data"
p2p_listen = "127.0.0.1:30301"
rpc_listen = "127.0.0.1:9944"
genesis = ["genesis.json"]
"#;

    #[test]
    fn limits_default_when_left_out_and_may_be_set_one_by_one() {
        let c: NodeConfig = toml::from_str(BASE).expect("an older config still loads");
        assert_eq!(c.mempool_max_bytes, DEFAULT_MEMPOOL_MAX_BYTES);
        assert_eq!(c.mempool_sender_max_bytes, DEFAULT_MEMPOOL_SENDER_MAX_BYTES);
        assert_eq!(c.rpc, RpcLimits::default());
        let text = format!("{BASE}mempool_max_bytes = 1000\n\n[rpc]\nmax_batch_len = 4\n");
        let c: NodeConfig = toml::from_str(&text).expect("config");
        assert_eq!(c.mempool_max_bytes, 1000);
        assert_eq!(c.rpc, RpcLimits { max_batch_len: 4, ..RpcLimits::default() });
        let back: NodeConfig = toml::from_str(&c.to_toml().expect("toml")).expect("round trip");
        assert_eq!(back.rpc, c.rpc);
    }

    #[test]
    fn key_files_of_both_schemes_round_trip_and_sm2_is_refused_for_signing() {
        use jjj_crypto::{Keypair, Scheme};
        let dir = std::env::temp_dir().join(format!("jjj-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (ed, sm) = (dir.join("ed.key"), dir.join("sm.key"));
        let ed_key = Keypair::named(Scheme::Ed25519, "a");
        let sm_key = Keypair::named(Scheme::Sm2, "a");
        save_key(&ed, &ed_key).expect("save");
        save_key(&sm, &sm_key).expect("save");
        assert_eq!(load_key(&ed).expect("load").account(), ed_key.account());
        let loaded = load_key(&sm).expect("load");
        assert_eq!((loaded.scheme(), loaded.account()), (Scheme::Sm2, sm_key.account()));
        assert_ne!(sm_key.account(), ed_key.account());
        // A key of the other scheme than the network's is refused with the way out.
        assert_eq!(load_key_for(&ed, Scheme::Ed25519).expect("ed25519").account(), ed_key.account());
        let err = load_key_for(&sm, Scheme::Ed25519).expect_err("sm2 on an ed25519 network");
        assert!(err.contains("signs with ed25519") && err.contains("--scheme ed25519"), "{err}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&sm).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "key files are private");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn key_files_that_hold_no_key_are_refused_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("jjj-bad-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("bad.key");
        for (text, why) in [
            ("zz\n", "is not hex: Invalid character 'z' at position 0"),
            ("sm2:abc", "is not hex: Odd number of digits"),
            ("0xabcd\n", "is not a 32-byte seed"),
        ] {
            std::fs::write(&path, text).expect("write");
            let err = load_key(&path).map(|k| k.account()).expect_err(text);
            assert_eq!(err, format!("key {} {why}", path.display()));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
