//! jjj-config: the files an operator keeps. A network's genesis (JSON, the same file on every
//! member), a validator's node config (TOML) and key files; `jjj network init` writes them all,
//! `jjj-node` reads them.
pub mod genesis;
pub mod node_config;

pub use genesis::{parse_account, parse_hash, Genesis, GenesisAccount, GenesisMember, GenesisValidator};
pub use node_config::{
    load_key, load_key_for, save_key, NodeConfig, PeerConfig, RpcLimits, DEFAULT_MEMPOOL_MAX_BYTES,
    DEFAULT_MEMPOOL_SENDER_MAX_BYTES,
};
