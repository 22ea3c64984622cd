//! [`ChainStore`] over RocksDB: one database per network.
//!
//! Column families and their keys (heights big-endian, so key order is chain order):
//!
//! | column family | key | value |
//! |---|---|---|
//! | `meta` | `head`, `schema` | height ++ header hash ++ state root; schema version |
//! | `headers` | height | SCALE [`Header`] (genesis at 0) |
//! | `blocks` | height | SCALE transactions of the block (the header lives in `headers`) |
//! | `block_hashes` | header hash | height |
//! | `certificates` | height | the consensus certificate, opaque |
//! | `receipts` | height | SCALE `Vec<Receipt>` |
//! | `tx_index` | tx hash | height ++ index (u32) |
//! | `events` | height ++ tx index ++ event index | SCALE [`EventRecord`] |
//! | `events_by_contract` | contract ++ height ++ tx index ++ event index | empty |
//! | `events_by_topic` | topic ++ height ++ tx index ++ event index | empty |
//! | `state` | state key | latest value |
//! | `history` | len(key) as u32 ++ key ++ (u64::MAX − height) | 0 (removed) or 1 ++ value |
//! | `state_tree` | the node's path ([`NodeKey`]: depth ++ nibbles) | the node ([`Node::encode`]) |
//! | `tree_history` | the node's path ++ (u64::MAX − height) | 0 (removed) or 1 ++ the node written at that height |
//! | `access_log` | sequence number | SCALE `AccessEntry`: the node's log of protected reads |
//! | `consensus` | `record` | the consensus core's safety record before it moved to its own files (read once, to carry it over) |
//!
//! The safety record itself lives beside the database, in [`RecordFiles`]: its synced saves, several
//! per height, then never wait on or add to the ledger's WAL.
//!
//! The history keys invert the height so one forward seek finds the latest change of a key (or a
//! tree node) at or before a height; the length prefix keeps one key's entries from mixing with a
//! longer key's (node paths all have one length). The tree's history is what proves a key at an
//! older height (`prove_at`): the tree as of that height, read node by node.
use super::record_files::RecordFiles;
use super::{
    check_genesis_header, check_next, decode_stored, event_records, ChainStore, CommitStats, EventFilter, EventRecord,
    StateHandle, StoreError, Tip, TxLocation,
};
use jjj_primitives::{Block, Hash, HashAlgo, Header, Receipt, SignedTransaction};
use jjj_state::{
    prove_in, update_tree, ChangeSet, Node, NodeKey, NodeReader, NodeWrites, Slots, StateCommitment, StateError,
    StateProof, StateReader, NODE_KEY_BYTES,
};
use parity_scale_codec::{Decode, Encode};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Options, WriteBatch,
    WriteOptions, DB,
};
use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

const CF_META: &str = "meta";
const CF_HEADERS: &str = "headers";
const CF_BLOCKS: &str = "blocks";
const CF_BLOCK_HASHES: &str = "block_hashes";
const CF_CERTIFICATES: &str = "certificates";
const CF_RECEIPTS: &str = "receipts";
const CF_TX_INDEX: &str = "tx_index";
const CF_EVENTS: &str = "events";
const CF_EVENTS_BY_CONTRACT: &str = "events_by_contract";
const CF_EVENTS_BY_TOPIC: &str = "events_by_topic";
const CF_STATE: &str = "state";
const CF_HISTORY: &str = "history";
const CF_TREE: &str = "state_tree";
const CF_TREE_HISTORY: &str = "tree_history";
const CF_CONSENSUS: &str = "consensus";
const CF_ACCESS_LOG: &str = "access_log";

const ALL_CFS: [&str; 16] = [
    CF_META,
    CF_HEADERS,
    CF_BLOCKS,
    CF_BLOCK_HASHES,
    CF_CERTIFICATES,
    CF_RECEIPTS,
    CF_TX_INDEX,
    CF_EVENTS,
    CF_EVENTS_BY_CONTRACT,
    CF_EVENTS_BY_TOPIC,
    CF_STATE,
    CF_HISTORY,
    CF_TREE,
    CF_TREE_HISTORY,
    CF_CONSENSUS,
    CF_ACCESS_LOG,
];

const KEY_HEAD: &[u8] = b"head";
const KEY_SCHEMA: &[u8] = b"schema";
const KEY_HASH: &[u8] = b"hash";
const KEY_CONSENSUS: &[u8] = b"record";
/// 4: the tree's history (proofs at older heights); 3: the 16-ary state tree, nodes stored at
/// their path (2: the binary tree, `smt_*` families).
const SCHEMA_VERSION: u32 = 4;

/// Memtables of all column families together: several networks share one process.
const WRITE_BUFFER_BYTES: usize = 64 << 20;
/// Uncompressed blocks cached per database (all its column families share it).
const BLOCK_CACHE_BYTES: usize = 64 << 20;
/// Bloom filter bits per key: most reads of the tree and of absent keys (a multisig record, a
/// registration) then skip the files that cannot hold them.
const BLOOM_BITS_PER_KEY: f64 = 10.0;

/// The ledger of one network in RocksDB. Cheap to clone (shares the database).
#[derive(Clone)]
pub struct RocksStore {
    inner: Arc<Inner>,
}

/// The in-memory tip and a version that changes with every commit: a state handle whose
/// version still matches reads the latest values directly, an older one reads the history.
struct TipState {
    version: u64,
    tip: Option<Tip>,
    /// A commit's batch is being written (without this lock held): the `state` and tree
    /// families may already hold the next height's entries, so a reader of the current
    /// version reads its values from the history instead.
    writing: bool,
}

struct Inner {
    db: DB,
    path: PathBuf,
    /// The network's hash: header ids, roots, the state tree.
    algo: HashAlgo,
    /// Write-locked only to start a commit's write and to move the tip after it, never across
    /// the synced write itself: readers (RPC, admission, gossip) are not held up by the disk.
    tip: RwLock<TipState>,
    /// Serialises commits, and keeps the tree's readers (roots, proofs) out of a commit's
    /// write: validation and root computation happen outside the tip lock.
    commit: Mutex<()>,
    /// State-tree nodes as committed, read through from RocksDB: every update and proof starts
    /// at the root and walks down the same upper levels. Updated only after a commit's batch is
    /// written.
    nodes: Mutex<TwoGenerationCache<NodeKey, Option<Node>>>,
    /// The tree writes of the roots `root_after` computed on the latest state (a proposal built,
    /// a peer's block validated), so committing one of those blocks writes them instead of
    /// walking the tree a second time. Emptied at every commit.
    staged_roots: Mutex<Vec<StagedRoot>>,
    stats: Mutex<CommitStats>,
    /// State values at the tip, read through from RocksDB (absent ones too) and written through
    /// at every commit, under the tip lock: accounts, bills and contract records are read by
    /// every transaction that touches them, and each RocksDB read walks memtables and files.
    values: Mutex<TwoGenerationCache<Vec<u8>, Option<Vec<u8>>>>,
    record: RecordFiles,
}

/// What an entry of a [`TwoGenerationCache`] costs in memory, in bytes.
trait Weigh {
    fn weight(&self) -> usize;
}

/// Per-entry bookkeeping of a hash map, counted with every entry.
const ENTRY_OVERHEAD_BYTES: usize = 64;

impl Weigh for Vec<u8> {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl Weigh for NodeKey {
    fn weight(&self) -> usize {
        NODE_KEY_BYTES
    }
}

impl Weigh for Node {
    fn weight(&self) -> usize {
        std::mem::size_of::<Node>()
            + if matches!(self, Node::Internal { .. }) { std::mem::size_of::<Slots>() } else { 0 }
    }
}

impl<T: Weigh> Weigh for Option<T> {
    fn weight(&self) -> usize {
        self.as_ref().map_or(0, Weigh::weight)
    }
}

/// A read cache bounded in bytes, in two generations: when the newer fills its half of the
/// budget it becomes the older and the oldest is dropped, so what is still read survives
/// (a hit in the older generation moves to the newer).
struct TwoGenerationCache<K, V> {
    newer: HashMap<K, V>,
    older: HashMap<K, V>,
    newer_bytes: usize,
    budget_bytes: usize,
}

/// Bytes of keys and values the state-value cache holds, both generations together.
const VALUE_CACHE_BYTES: usize = 64 << 20;
/// Bytes the state-tree node cache holds: the upper levels of a tree of millions of keys.
const NODE_CACHE_BYTES: usize = 64 << 20;

impl<K: std::hash::Hash + Eq + Weigh, V: Clone + Weigh> TwoGenerationCache<K, V> {
    fn new(budget_bytes: usize) -> Self {
        TwoGenerationCache { newer: HashMap::new(), older: HashMap::new(), newer_bytes: 0, budget_bytes }
    }

    fn get<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        if let Some(v) = self.newer.get(key) {
            return Some(v.clone());
        }
        let (k, v) = self.older.remove_entry(key)?;
        self.insert(k, v.clone());
        Some(v)
    }

    fn insert(&mut self, key: K, value: V) {
        let size = key.weight() + value.weight() + ENTRY_OVERHEAD_BYTES;
        if self.newer_bytes + size > self.budget_bytes / 2 {
            self.older = std::mem::take(&mut self.newer);
            self.newer_bytes = 0;
        }
        self.newer_bytes += size;
        if let Some(old) = self.newer.insert(key, value) {
            self.newer_bytes = self.newer_bytes.saturating_sub(old.weight());
        }
    }

    /// Forgets everything (what a restarted node starts with).
    #[cfg(test)]
    fn clear(&mut self) {
        *self = TwoGenerationCache::new(self.budget_bytes);
    }

    /// A commit's writes: the new values replace the cached ones.
    fn write<'a>(&mut self, writes: impl IntoIterator<Item = (&'a K, &'a V)>)
    where
        K: Clone + 'a,
        V: 'a,
    {
        for (k, v) in writes {
            self.older.remove(k);
            self.insert(k.clone(), v.clone());
        }
    }
}

/// Tree writes computed for `changes` (by digest) on the tree of `base`, giving `root`.
struct StagedRoot {
    base: Hash,
    changes: Hash,
    root: Hash,
    writes: NodeWrites,
}

/// Roots kept for commit: a proposal and the candidates of a few views.
const STAGED_ROOTS: usize = 4;

/// What identifies a change set for [`StagedRoot`].
fn changes_digest(algo: HashAlgo, changes: &ChangeSet) -> Hash {
    algo.hash(&changes.encode())
}

fn db_err(context: impl Into<String>) -> impl FnOnce(rocksdb::Error) -> StoreError {
    let context = context.into();
    move |e| StoreError::Db { context, message: e.to_string() }
}

fn corrupt(what: impl Into<String>, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { what: what.into(), reason: reason.into() }
}

fn history_prefix(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + key.len() + 8);
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key);
    k
}

fn history_key(key: &[u8], height: u64) -> Vec<u8> {
    let mut k = history_prefix(key);
    k.extend_from_slice(&(u64::MAX - height).to_be_bytes());
    k
}

fn tree_history_key(node: &NodeKey, height: u64) -> [u8; NODE_KEY_BYTES + 8] {
    let mut k = [0u8; NODE_KEY_BYTES + 8];
    k[..NODE_KEY_BYTES].copy_from_slice(node.as_bytes());
    k[NODE_KEY_BYTES..].copy_from_slice(&(u64::MAX - height).to_be_bytes());
    k
}

fn event_key(height: u64, tx_index: u32, event_index: u32) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&height.to_be_bytes());
    k[8..12].copy_from_slice(&tx_index.to_be_bytes());
    k[12..].copy_from_slice(&event_index.to_be_bytes());
    k
}

fn encode_head(tip: &Tip) -> Vec<u8> {
    let mut v = Vec::with_capacity(72);
    v.extend_from_slice(&tip.height.to_be_bytes());
    v.extend_from_slice(&tip.hash.0);
    v.extend_from_slice(&tip.state_root.0);
    v
}

fn array32(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

fn decode_head(bytes: &[u8]) -> Result<(u64, Hash, Hash), StoreError> {
    if bytes.len() != 72 {
        return Err(corrupt("head record", format!("{} bytes, expected 72", bytes.len())));
    }
    let mut h = [0u8; 8];
    h.copy_from_slice(&bytes[..8]);
    let hash = array32(&bytes[8..40]).map(Hash).ok_or_else(|| corrupt("head record", "hash"))?;
    let root = array32(&bytes[40..72]).map(Hash).ok_or_else(|| corrupt("head record", "state root"))?;
    Ok((u64::from_be_bytes(h), hash, root))
}

fn decode_u64(what: &str, bytes: &[u8]) -> Result<u64, StoreError> {
    let b: [u8; 8] = bytes.try_into().map_err(|_| corrupt(what, format!("{} bytes, expected 8", bytes.len())))?;
    Ok(u64::from_be_bytes(b))
}

/// Hash buckets of the tree's memtable (8 bytes each): a memtable's worth of nodes, spread.
const TREE_MEMTABLE_BUCKETS: usize = 1 << 20;

/// The tree's nodes as read from RocksDB, through the node cache.
struct RocksTree<'a> {
    db: &'a DB,
    cache: &'a Mutex<TwoGenerationCache<NodeKey, Option<Node>>>,
    cf: &'a ColumnFamily,
    algo: HashAlgo,
    failure: FirstFailure,
}

impl<'a> RocksTree<'a> {
    fn new(inner: &'a Inner) -> Result<Self, StoreError> {
        Ok(RocksTree {
            db: &inner.db,
            cache: &inner.nodes,
            cf: inner.cf(CF_TREE)?,
            algo: inner.algo,
            failure: FirstFailure::default(),
        })
    }

    fn fail(&self, e: StoreError) -> StateError {
        self.failure.fail(e)
    }

    fn error(&self, e: StateError) -> StoreError {
        self.failure.error(e)
    }
}

/// The first store error a tree reader met: the tree's error type is the state's, so the store
/// error is kept aside and returned in its place (a `Corrupt` stays a `Corrupt`).
#[derive(Default)]
struct FirstFailure(RefCell<Option<StoreError>>);

impl FirstFailure {
    fn fail(&self, e: StoreError) -> StateError {
        let message = e.to_string();
        self.0.borrow_mut().get_or_insert(e);
        StateError::Backend(message)
    }

    /// The kept error, or the tree's own.
    fn error(&self, e: StateError) -> StoreError {
        self.0.borrow_mut().take().unwrap_or(StoreError::State(e))
    }
}

impl NodeReader for RocksTree<'_> {
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, StateError> {
        if let Some(hit) = self.cache.lock().unwrap_or_else(PoisonError::into_inner).get(key) {
            return Ok(hit);
        }
        let node = match self.db.get_pinned_cf(self.cf, key.as_bytes()) {
            Err(e) => {
                return Err(
                    self.fail(StoreError::Db { context: "read a state tree node".into(), message: e.to_string() })
                )
            }
            Ok(None) => None,
            Ok(Some(bytes)) => Some(Node::decode(self.algo, &bytes).map_err(|reason| {
                self.fail(corrupt(format!("state tree node {}", hex::encode(key.as_bytes())), reason))
            })?),
        };
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).insert(*key, node.clone());
        Ok(node)
    }
}

/// The tree as it was at a height, read from the tree's history (no cache: proofs of older
/// heights are rare next to commits).
struct HistoricTree<'a> {
    inner: &'a Inner,
    height: u64,
    failure: FirstFailure,
}

impl NodeReader for HistoricTree<'_> {
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, StateError> {
        let cf = self.inner.cf(CF_TREE_HISTORY).map_err(|e| self.failure.fail(e))?;
        let mut it = self.inner.db.raw_iterator_cf(cf);
        it.seek(tree_history_key(key, self.height));
        let Some((k, v)) = it.item() else {
            it.status().map_err(|e| self.failure.fail(db_err("read the tree's history")(e)))?;
            return Ok(None);
        };
        if !k.starts_with(key.as_bytes()) {
            return Ok(None); // no node at this path at or before the height
        }
        let what = || format!("tree history of node {}", hex::encode(key.as_bytes()));
        match v.split_first() {
            Some((0, [])) => Ok(None),
            Some((1, bytes)) => Node::decode(self.inner.algo, bytes)
                .map(Some)
                .map_err(|reason| self.failure.fail(corrupt(what(), reason))),
            _ => Err(self.failure.fail(corrupt(what(), "bad value tag"))),
        }
    }
}

impl Inner {
    fn cf(&self, name: &'static str) -> Result<&ColumnFamily, StoreError> {
        // Every family is created at open, so a missing one means the database is not ours.
        self.db.cf_handle(name).ok_or_else(|| {
            corrupt(format!("database {}", self.path.display()), format!("column family {name} is missing"))
        })
    }

    fn get(&self, cf: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let handle = self.cf(cf)?;
        self.db.get_cf(handle, key).map_err(db_err(format!("read {cf}")))
    }

    fn tip(&self) -> RwLockReadGuard<'_, TipState> {
        // No code panics while holding the lock, so a poisoned lock still guards sound data.
        self.tip.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn header(&self, height: u64) -> Result<Option<Header>, StoreError> {
        match self.get(CF_HEADERS, &height.to_be_bytes())? {
            None => Ok(None),
            Some(b) => decode_stored(|| format!("header at height {height}"), &b).map(Some),
        }
    }

    /// The value of `key` as of `height`: the latest change at or before it.
    fn history_get(&self, key: &[u8], height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let prefix = history_prefix(key);
        let mut it = self.db.raw_iterator_cf(self.cf(CF_HISTORY)?);
        it.seek(history_key(key, height));
        let Some((k, v)) = it.item() else {
            it.status().map_err(db_err("read state history"))?;
            return Ok(None);
        };
        if k.len() != prefix.len() + 8 || !k.starts_with(&prefix) {
            return Ok(None); // no change of this key at or before `height`
        }
        match v.split_first() {
            Some((0, [])) => Ok(None),
            Some((1, value)) => Ok(Some(value.to_vec())),
            _ => Err(corrupt(format!("state history of key {}", hex::encode(key)), "bad value tag")),
        }
    }

    /// Computes the root of `changes` over the committed tree and puts the tree writes, the new
    /// values and their history at `height` into `batch`. Returns the root and the tree writes
    /// (for the node cache, once the batch is written).
    fn stage_state(
        &self,
        batch: &mut WriteBatch,
        root: Hash,
        changes: &ChangeSet,
        height: u64,
    ) -> Result<(Hash, NodeWrites), StoreError> {
        let digest = changes_digest(self.algo, changes);
        let cached = {
            let mut staged = self.staged_roots.lock().unwrap_or_else(PoisonError::into_inner);
            let hit = staged.iter().position(|r| r.base == root && r.changes == digest);
            hit.map(|i| staged.swap_remove(i))
        };
        let (new_root, writes) = match cached {
            Some(r) => (r.root, r.writes),
            None => {
                let tree = RocksTree::new(self)?;
                let update = update_tree(&tree, self.algo, root, changes).map_err(|e| tree.error(e))?;
                (update.root, update.writes)
            }
        };
        let (cf, tree_history) = (self.cf(CF_TREE)?, self.cf(CF_TREE_HISTORY)?);
        for (k, v) in &writes {
            match v {
                Some(node) => {
                    let bytes = node.encode();
                    let mut h = Vec::with_capacity(1 + bytes.len());
                    h.push(1);
                    h.extend_from_slice(&bytes);
                    batch.put_cf(tree_history, tree_history_key(k, height), h);
                    batch.put_cf(cf, k.as_bytes(), bytes);
                }
                None => {
                    batch.delete_cf(cf, k.as_bytes());
                    batch.put_cf(tree_history, tree_history_key(k, height), [0u8]);
                }
            }
        }
        let (state, history) = (self.cf(CF_STATE)?, self.cf(CF_HISTORY)?);
        for (k, v) in changes {
            match v {
                Some(value) => {
                    batch.put_cf(state, k, value);
                    let mut h = Vec::with_capacity(1 + value.len());
                    h.push(1);
                    h.extend_from_slice(value);
                    batch.put_cf(history, history_key(k, height), h);
                }
                None => {
                    batch.delete_cf(state, k);
                    batch.put_cf(history, history_key(k, height), [0u8]);
                }
            }
        }
        Ok((new_root, writes))
    }

    /// Writes `batch` synced and then moves the tip. Readers go on during the write: marked
    /// `writing`, they read the current height's values from the history (see `RocksState`).
    /// The caller holds the commit lock; `tree_writes` are the batch's tree nodes, for the cache.
    fn write_tip(
        &self,
        mut batch: WriteBatch,
        tip: Tip,
        changes: &ChangeSet,
        tree_writes: &NodeWrites,
    ) -> Result<(), StoreError> {
        batch.put_cf(self.cf(CF_META)?, KEY_HEAD, encode_head(&tip));
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        let bytes = batch.size_in_bytes() as u64;
        self.tip.write().unwrap_or_else(PoisonError::into_inner).writing = true;
        let started = std::time::Instant::now();
        let written = self.db.write_opt(batch, &opts);
        let write_ns = started.elapsed().as_nanos() as u64;
        let mut guard = self.tip.write().unwrap_or_else(PoisonError::into_inner);
        guard.writing = false;
        // A failed batch is not applied (RocksDB writes a batch whole or not at all).
        written.map_err(db_err(format!("commit height {}", tip.height)))?;
        self.values.lock().unwrap_or_else(PoisonError::into_inner).write(changes);
        {
            let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
            stats.blocks += 1;
            stats.write_ns += write_ns;
            stats.bytes += bytes;
            stats.tree_nodes += tree_writes.len() as u64;
        }
        // Computed on the tree this commit changed: none can apply any more.
        self.staged_roots.lock().unwrap_or_else(PoisonError::into_inner).clear();
        self.nodes.lock().unwrap_or_else(PoisonError::into_inner).write(tree_writes);
        guard.version += 1;
        guard.tip = Some(tip);
        Ok(())
    }

    /// Records the hash in a new database; refuses one made with another.
    fn check_hash_algo(&self) -> Result<(), StoreError> {
        let algo = self.algo.encode();
        match self.get(CF_META, KEY_HASH)? {
            None => self.db.put_cf(self.cf(CF_META)?, KEY_HASH, &algo).map_err(db_err("record the hash")),
            Some(stored) if stored == algo => Ok(()),
            Some(stored) => {
                let name = HashAlgo::decode(&mut &stored[..]).map(HashAlgo::name).unwrap_or("an unknown hash");
                Err(corrupt(
                    "hash record",
                    format!(
                        "the database at {} was made with {name}, the genesis says {}",
                        self.path.display(),
                        self.algo.name()
                    ),
                ))
            }
        }
    }

    fn load_tip(&self) -> Result<Option<Tip>, StoreError> {
        if let Some(v) = self.get(CF_META, KEY_SCHEMA)? {
            let version: [u8; 4] = v.as_slice().try_into().map_err(|_| corrupt("schema version", "not 4 bytes"))?;
            let version = u32::from_be_bytes(version);
            if version != SCHEMA_VERSION {
                return Err(corrupt(
                    "schema version",
                    format!("the database has schema {version}, this node reads {SCHEMA_VERSION}"),
                ));
            }
        }
        let Some(head) = self.get(CF_META, KEY_HEAD)? else { return Ok(None) };
        let (height, hash, state_root) = decode_head(&head)?;
        let genesis = self.header(0)?.ok_or_else(|| corrupt("genesis header", "missing under a head"))?;
        let top = self
            .header(height)?
            .ok_or_else(|| corrupt(format!("header at height {height}"), "the head's header is missing"))?;
        if top.hash(self.algo) != hash || top.state_root != state_root {
            return Err(corrupt("head record", format!("does not match the header at height {height}")));
        }
        Ok(Some(Tip { height, hash, state_root, network: genesis.network }))
    }

    fn event_at(&self, key: &[u8]) -> Result<EventRecord, StoreError> {
        let what = || format!("event {}", hex::encode(key));
        let bytes = self.get(CF_EVENTS, key)?.ok_or_else(|| corrupt(what(), "an index names a missing event"))?;
        decode_stored(what, &bytes)
    }
}

impl RocksStore {
    /// Opens (creating if needed) the database of one network at `path`, whose hash is `algo`
    /// (the genesis's suite). A database made with another hash is refused, not misread.
    pub fn open(path: impl AsRef<Path>, algo: HashAlgo) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(DBCompressionType::Lz4);
        opts.set_db_write_buffer_size(WRITE_BUFFER_BYTES);
        opts.set_keep_log_file_num(4);
        // One writer (commits are serialised); the tree's hashed memtable requires it.
        opts.set_allow_concurrent_memtable_write(false);
        // Flushes and compactions in the background on a 2-core machine, not on the writer.
        opts.set_max_background_jobs(2);
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
        table.set_cache_index_and_filter_blocks(true);
        let cfs = ALL_CFS.iter().map(|name| {
            let mut cf_opts = Options::default();
            cf_opts.set_compression_type(DBCompressionType::Lz4);
            cf_opts.set_block_based_table_factory(&table);
            if *name == CF_TREE || *name == CF_TREE_HISTORY {
                // Tree nodes (and their history, seeked within one node's path) are much of what a block writes and are only ever
                // read by key: a memtable hashed on the whole key inserts each without walking a
                // skip list of everything unflushed (that walk was a quarter of a validator's CPU
                // under load). Whole-table iteration, which only tests do, still works.
                cf_opts.set_prefix_extractor(rocksdb::SliceTransform::create_fixed_prefix(NODE_KEY_BYTES));
                cf_opts.set_memtable_factory(rocksdb::MemtableFactory::HashSkipList {
                    bucket_count: TREE_MEMTABLE_BUCKETS,
                    height: 4,
                    branching_factor: 4,
                });
            }
            ColumnFamilyDescriptor::new(*name, cf_opts)
        });
        let db = DB::open_cf_descriptors(&opts, &path, cfs).map_err(db_err(format!("open {}", path.display())))?;
        let record = RecordFiles::open(&path, algo)?;
        let inner = Inner {
            db,
            path,
            algo,
            tip: RwLock::new(TipState { version: 0, tip: None, writing: false }),
            commit: Mutex::new(()),
            nodes: Mutex::new(TwoGenerationCache::new(NODE_CACHE_BYTES)),
            stats: Mutex::default(),
            values: Mutex::new(TwoGenerationCache::new(VALUE_CACHE_BYTES)),
            staged_roots: Mutex::default(),
            record,
        };
        inner.check_hash_algo()?;
        let tip = inner.load_tip()?;
        match &tip {
            Some(t) => {
                tracing::info!(path = %inner.path.display(), network = %t.network, height = t.height, "opened the ledger")
            }
            None => tracing::info!(path = %inner.path.display(), "opened an empty ledger"),
        }
        inner.tip.write().unwrap_or_else(PoisonError::into_inner).tip = tip;
        Ok(RocksStore { inner: Arc::new(inner) })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Checks that the latest state values are exactly what the state root commits to: every
    /// value's proof leads to the root, and the tree holds no key besides them. For a state
    /// someone else kept (an auditor's checkpoint): a changed, added or removed value is named
    /// by its key. `progress` is called with the number of keys checked, every 10,000.
    pub fn audit_state(&self, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
        let inner = &*self.inner;
        let _commit = inner.commit.lock().unwrap_or_else(PoisonError::into_inner);
        let root = inner.tip().tip.as_ref().ok_or(StoreError::NotInitialised)?.state_root;
        let tree = RocksTree::new(inner)?;
        let mut it = inner.db.raw_iterator_cf(inner.cf(CF_STATE)?);
        it.seek_to_first();
        let mut keys = 0u64;
        while let Some((k, v)) = it.item() {
            let proof = prove_in(&tree, inner.algo, root, k).map_err(|e| tree.error(e))?;
            if !jjj_state::verify_proof(inner.algo, &root, k, Some(v), &proof) {
                return Err(corrupt(
                    format!("state key 0x{}", hex::encode(k)),
                    format!("its value 0x{} is not the one the state root {root} commits to", hex::encode(v)),
                ));
            }
            keys += 1;
            if keys.is_multiple_of(10_000) {
                progress(keys);
            }
            it.next();
        }
        it.status().map_err(db_err("read the state"))?;
        let mut leaves = 0u64;
        let mut opts = rocksdb::ReadOptions::default();
        opts.set_total_order_seek(true);
        let mut it = inner.db.raw_iterator_cf_opt(inner.cf(CF_TREE)?, opts);
        it.seek_to_first();
        while let Some((k, v)) = it.item() {
            let node = Node::decode(inner.algo, v)
                .map_err(|reason| corrupt(format!("state tree node {}", hex::encode(k)), reason))?;
            leaves += u64::from(matches!(node, Node::Leaf { .. }));
            it.next();
        }
        it.status().map_err(db_err("read the state tree"))?;
        if leaves != keys {
            return Err(corrupt(
                "state",
                format!("the state root commits to {leaves} keys, the state holds {keys}: a value was removed"),
            ));
        }
        Ok(keys)
    }
}

impl ChainStore for RocksStore {
    fn hash_algo(&self) -> HashAlgo {
        self.inner.algo
    }

    fn commit_stats(&self) -> CommitStats {
        *self.inner.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn head(&self) -> Result<Option<(u64, Hash)>, StoreError> {
        Ok(self.inner.tip().tip.as_ref().map(|t| (t.height, t.hash)))
    }

    fn header(&self, height: u64) -> Result<Option<Header>, StoreError> {
        self.inner.header(height)
    }

    fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        if height == 0 {
            return Ok(None);
        }
        let Some(header) = self.inner.header(height)? else { return Ok(None) };
        let body = self
            .inner
            .get(CF_BLOCKS, &height.to_be_bytes())?
            .ok_or_else(|| corrupt(format!("block at height {height}"), "the header is stored but the block is not"))?;
        let transactions: Vec<SignedTransaction> = decode_stored(|| format!("block at height {height}"), &body)?;
        Ok(Some(Block { header, transactions }))
    }

    fn height_of(&self, block_hash: &Hash) -> Result<Option<u64>, StoreError> {
        match self.inner.get(CF_BLOCK_HASHES, &block_hash.0)? {
            None => Ok(None),
            Some(b) => decode_u64(&format!("height of block {block_hash}"), &b).map(Some),
        }
    }

    fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(CF_CERTIFICATES, &height.to_be_bytes())
    }

    fn receipts(&self, height: u64) -> Result<Vec<Receipt>, StoreError> {
        match self.inner.get(CF_RECEIPTS, &height.to_be_bytes())? {
            None => Ok(Vec::new()),
            Some(b) => decode_stored(|| format!("receipts at height {height}"), &b),
        }
    }

    fn tx_location(&self, tx_hash: &Hash) -> Result<Option<TxLocation>, StoreError> {
        let Some(b) = self.inner.get(CF_TX_INDEX, &tx_hash.0)? else { return Ok(None) };
        let what = || format!("location of transaction {tx_hash}");
        if b.len() != 12 {
            return Err(corrupt(what(), format!("{} bytes, expected 12", b.len())));
        }
        let height = decode_u64(&what(), &b[..8])?;
        let index: [u8; 4] = b[8..].try_into().map_err(|_| corrupt(what(), "index"))?;
        Ok(Some(TxLocation { height, index: u32::from_be_bytes(index) }))
    }

    fn events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>, StoreError> {
        let mut out = Vec::new();
        let to = filter.to_height.unwrap_or(u64::MAX);
        if filter.limit == 0 || filter.from_height > to {
            return Ok(out);
        }
        // The topic index is usually the narrower one; the other criterion is checked per record.
        let (cf, prefix, indexed) = match (filter.topic, filter.contract) {
            (Some(t), _) => (CF_EVENTS_BY_TOPIC, t.0.to_vec(), true),
            (None, Some(c)) => (CF_EVENTS_BY_CONTRACT, c.0.to_vec(), true),
            (None, None) => (CF_EVENTS, Vec::new(), false),
        };
        let mut it = self.inner.db.raw_iterator_cf(self.inner.cf(cf)?);
        let mut start = prefix.clone();
        start.extend_from_slice(&filter.from_height.to_be_bytes());
        it.seek(&start);
        let mut scanned = 0;
        while let Some((key, value)) = it.item() {
            if !key.starts_with(&prefix) {
                break;
            }
            let rest = &key[prefix.len()..];
            if rest.len() != 16 {
                return Err(corrupt(format!("{cf} entry {}", hex::encode(key)), "bad key length"));
            }
            let height = decode_u64(cf, &rest[..8])?;
            if height > to {
                break;
            }
            if scanned == filter.max_scanned {
                return Err(StoreError::ScanLimit { scanned, height });
            }
            scanned += 1;
            let record = if indexed {
                self.inner.event_at(rest)?
            } else {
                decode_stored(|| format!("event {}", hex::encode(key)), value)?
            };
            if filter.matches(&record) {
                out.push(record);
                if out.len() >= filter.limit {
                    break;
                }
            }
            it.next();
        }
        it.status().map_err(db_err(format!("scan {cf}")))?;
        Ok(out)
    }

    fn commit_block(
        &self,
        block: &Block,
        certificate: &[u8],
        receipts: &[Receipt],
        changes: &ChangeSet,
    ) -> Result<Hash, StoreError> {
        let inner = &*self.inner;
        let _commit = inner.commit.lock().unwrap_or_else(PoisonError::into_inner);
        let tip = inner.tip().tip.clone().ok_or(StoreError::NotInitialised)?;
        let tx_hashes = check_next(inner.algo, &tip, block, receipts)?;
        let header = &block.header;
        let height = header.height;
        let hk = height.to_be_bytes();

        let mut batch = WriteBatch::default();
        let (root, tree_writes) = inner.stage_state(&mut batch, tip.state_root, changes, height)?;
        if root != header.state_root {
            return Err(StoreError::StateRootMismatch { height, expected: header.state_root, got: root });
        }
        let hash = header.hash(inner.algo);
        batch.put_cf(inner.cf(CF_HEADERS)?, hk, header.encode());
        batch.put_cf(inner.cf(CF_BLOCKS)?, hk, block.transactions.encode());
        batch.put_cf(inner.cf(CF_BLOCK_HASHES)?, hash.0, hk);
        batch.put_cf(inner.cf(CF_CERTIFICATES)?, hk, certificate);
        batch.put_cf(inner.cf(CF_RECEIPTS)?, hk, receipts.encode());
        let tx_index = inner.cf(CF_TX_INDEX)?;
        for (i, tx_hash) in tx_hashes.iter().enumerate() {
            let mut loc = [0u8; 12];
            loc[..8].copy_from_slice(&hk);
            loc[8..].copy_from_slice(&(i as u32).to_be_bytes());
            batch.put_cf(tx_index, tx_hash.0, loc);
        }
        let (events, by_contract, by_topic) =
            (inner.cf(CF_EVENTS)?, inner.cf(CF_EVENTS_BY_CONTRACT)?, inner.cf(CF_EVENTS_BY_TOPIC)?);
        let records = event_records(height, &tx_hashes, receipts);
        for (event_index, record) in &records {
            let key = event_key(height, record.tx_index, *event_index);
            batch.put_cf(events, key, record.encode());
            batch.put_cf(by_contract, [&record.event.contract.0[..], &key[..]].concat(), b"");
            for topic in &record.event.topics {
                batch.put_cf(by_topic, [&topic.0[..], &key[..]].concat(), b"");
            }
        }
        inner.write_tip(batch, Tip { height, hash, state_root: root, network: tip.network }, changes, &tree_writes)?;
        tracing::debug!(height, %hash, txs = block.transactions.len(), events = records.len(), %root, "committed block");
        Ok(root)
    }

    fn init_genesis(&self, genesis_header: &Header, changes: &ChangeSet) -> Result<Hash, StoreError> {
        let inner = &*self.inner;
        let _commit = inner.commit.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = &inner.tip().tip {
            return Err(StoreError::AlreadyInitialised { height: t.height });
        }
        check_genesis_header(genesis_header)?;
        let mut batch = WriteBatch::default();
        let (root, tree_writes) = inner.stage_state(&mut batch, Hash::default(), changes, 0)?;
        if root != genesis_header.state_root {
            return Err(StoreError::StateRootMismatch { height: 0, expected: genesis_header.state_root, got: root });
        }
        let hash = genesis_header.hash(inner.algo);
        batch.put_cf(inner.cf(CF_META)?, KEY_SCHEMA, SCHEMA_VERSION.to_be_bytes());
        batch.put_cf(inner.cf(CF_HEADERS)?, 0u64.to_be_bytes(), genesis_header.encode());
        batch.put_cf(inner.cf(CF_BLOCK_HASHES)?, hash.0, 0u64.to_be_bytes());
        inner.write_tip(
            batch,
            Tip { height: 0, hash, state_root: root, network: genesis_header.network.clone() },
            changes,
            &tree_writes,
        )?;
        tracing::info!(network = %genesis_header.network, %hash, %root, keys = changes.len(), "wrote genesis");
        Ok(root)
    }

    fn state(&self) -> Arc<StateHandle> {
        let guard = self.inner.tip();
        let (height, root) = match &guard.tip {
            Some(t) => (Some(t.height), t.state_root),
            None => (None, Hash::default()),
        };
        let state = RocksState { inner: self.inner.clone(), version: guard.version, height, root };
        Arc::new(StateHandle::new(Arc::new(state)))
    }

    fn state_at(&self, height: u64) -> Result<Arc<dyn StateReader>, StoreError> {
        let guard = self.inner.tip();
        let tip = guard.tip.as_ref().ok_or(StoreError::NotInitialised)?;
        if height > tip.height {
            return Err(StoreError::UnknownHeight { height, head: tip.height });
        }
        let (version, root) = if height == tip.height {
            (guard.version, tip.state_root)
        } else {
            let header = self
                .inner
                .header(height)?
                .ok_or_else(|| corrupt(format!("header at height {height}"), "missing below the head"))?;
            (u64::MAX, header.state_root) // never current: always reads the history
        };
        Ok(Arc::new(RocksState { inner: self.inner.clone(), version, height: Some(height), root }))
    }

    fn prove(&self, key: &[u8]) -> Result<StateProof, StoreError> {
        // Not during a commit's write: the tree family may hold some of the next height's nodes.
        let _commit = self.inner.commit.lock().unwrap_or_else(PoisonError::into_inner);
        let guard = self.inner.tip();
        let root = guard.tip.as_ref().ok_or(StoreError::NotInitialised)?.state_root;
        let value = self.inner.get(CF_STATE, key)?;
        let tree = RocksTree::new(&self.inner)?;
        let proof = prove_in(&tree, self.inner.algo, root, key).map_err(|e| tree.error(e))?;
        Ok(StateProof { key: key.to_vec(), value, proof })
    }

    fn prove_at(&self, key: &[u8], height: u64) -> Result<StateProof, StoreError> {
        let head = self.inner.tip().tip.as_ref().ok_or(StoreError::NotInitialised)?.height;
        if height >= head {
            if height > head {
                return Err(StoreError::UnknownHeight { height, head });
            }
            return self.prove(key);
        }
        let header = self
            .inner
            .header(height)?
            .ok_or_else(|| corrupt(format!("header at height {height}"), "missing below the head"))?;
        let value = self.inner.history_get(key, height)?;
        let tree = HistoricTree { inner: &self.inner, height, failure: FirstFailure::default() };
        let proof = prove_in(&tree, self.inner.algo, header.state_root, key).map_err(|e| tree.failure.error(e))?;
        Ok(StateProof { key: key.to_vec(), value, proof })
    }

    fn save_consensus(&self, record: &[u8]) -> Result<(), StoreError> {
        self.inner.record.save(record)
    }

    fn load_consensus(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match self.inner.record.load()? {
            Some(record) => Ok(Some(record)),
            // A ledger from before the record had its own files: its last record is in RocksDB.
            None => self.inner.get(CF_CONSENSUS, KEY_CONSENSUS),
        }
    }

    fn append_access(&self, seq: u64, entry: &[u8]) -> Result<(), StoreError> {
        let cf = self.inner.cf(CF_ACCESS_LOG)?;
        self.inner.db.put_cf(cf, seq.to_be_bytes(), entry).map_err(db_err("append to the access log"))
    }

    fn access_entries(&self, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut it = self.inner.db.raw_iterator_cf(self.inner.cf(CF_ACCESS_LOG)?);
        it.seek(from.to_be_bytes());
        let mut out = Vec::new();
        while let Some((key, value)) = it.item() {
            if out.len() >= limit {
                break;
            }
            out.push((access_seq(key)?, value.to_vec()));
            it.next();
        }
        it.status().map_err(db_err("read the access log"))?;
        Ok(out)
    }

    fn last_access_entry(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let mut it = self.inner.db.raw_iterator_cf(self.inner.cf(CF_ACCESS_LOG)?);
        it.seek_to_last();
        let last = match it.item() {
            Some((key, value)) => Some((access_seq(key)?, value.to_vec())),
            None => None,
        };
        it.status().map_err(db_err("read the access log"))?;
        Ok(last)
    }
}

/// An access-log key: the entry's sequence number, big-endian.
fn access_seq(key: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = key.try_into().map_err(|_| StoreError::Corrupt {
        what: "an access-log key".into(),
        reason: format!("{} bytes, not 8", key.len()),
    })?;
    Ok(u64::from_be_bytes(bytes))
}

/// A view of the state at one height. While no commit has happened since it was taken it reads
/// the `state` family directly; afterwards it reads the history at its height.
struct RocksState {
    inner: Arc<Inner>,
    version: u64,
    /// `None`: taken before genesis, so nothing exists at its height.
    height: Option<u64>,
    root: Hash,
}

impl StateReader for RocksState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let guard = self.inner.tip();
        if guard.version == self.version {
            // Under the tip lock: a commit updates the cache only with it held for writing.
            if let Some(v) = self.inner.values.lock().unwrap_or_else(PoisonError::into_inner).get(key) {
                return Ok(v);
            }
            if guard.writing {
                // The next height's batch is being written: the `state` family may hold its
                // values already. This height's are in the history; the cache is left alone.
                return match self.height {
                    Some(h) => Ok(self.inner.history_get(key, h)?),
                    None => Ok(None),
                };
            }
            let v = self.inner.get(CF_STATE, key)?;
            self.inner.values.lock().unwrap_or_else(PoisonError::into_inner).insert(key.to_vec(), v.clone());
            return Ok(v);
        }
        drop(guard);
        match self.height {
            Some(h) => Ok(self.inner.history_get(key, h)?),
            None => Ok(None),
        }
    }
}

impl StateCommitment for RocksState {
    fn state_root(&self) -> Hash {
        self.root
    }

    fn root_after(&self, changes: &ChangeSet) -> Result<Hash, StateError> {
        // Not during a commit's write: the tree family may hold some of the next height's nodes.
        let _commit = self.inner.commit.lock().unwrap_or_else(PoisonError::into_inner);
        let guard = self.inner.tip();
        if guard.version != self.version {
            // The tree holds only the latest nodes; an older root's are gone.
            let now = guard.tip.as_ref().map(|t| t.height);
            return Err(StateError::Backend(format!(
                "stale state handle: taken at height {:?}, the head is now at {now:?}",
                self.height
            )));
        }
        let tree = RocksTree::new(&self.inner)?;
        let update = update_tree(&tree, self.inner.algo, self.root, changes).map_err(|e| tree.error(e))?;
        let root = update.root;
        // Kept for the commit of this block (see `Inner::staged_roots`), under the tip lock
        // still held, so it is never kept for a tree a commit has already changed.
        let kept = StagedRoot {
            base: self.root,
            changes: changes_digest(self.inner.algo, changes),
            root,
            writes: update.writes,
        };
        let mut roots = self.inner.staged_roots.lock().unwrap_or_else(PoisonError::into_inner);
        if roots.len() >= STAGED_ROOTS {
            roots.remove(0);
        }
        roots.push(kept);
        Ok(root)
    }

    fn hash_algo(&self) -> HashAlgo {
        self.inner.algo
    }
}

#[cfg(test)]
mod tests {
    /// The value cache answers what RocksDB would, follows commits, and stays within its byte
    /// budget, keeping what is still read.
    #[test]
    fn the_value_cache_is_bounded_and_written_through() {
        let mut c = TwoGenerationCache::new(VALUE_CACHE_BYTES);
        c.insert(b"hot".to_vec(), Some(vec![1]));
        c.insert(b"gone".to_vec(), None);
        assert_eq!(c.get(&b"gone"[..]), Some(None), "an absent key is cached as absent");
        let big = vec![0u8; 1 << 20];
        for i in 0..(VALUE_CACHE_BYTES >> 20) {
            c.insert(format!("big{i}").into_bytes(), Some(big.clone()));
            assert_eq!(c.get(&b"hot"[..]), Some(Some(vec![1])), "read on every round: kept");
        }
        let held: usize =
            c.newer.iter().chain(c.older.iter()).map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len)).sum();
        assert!(held <= VALUE_CACHE_BYTES, "{held} bytes held");
        assert_eq!(c.get(&b"big0"[..]), None, "the oldest went");
        let mut changes = ChangeSet::new();
        changes.insert(b"hot".to_vec(), None);
        c.write(&changes);
        assert_eq!(c.get(&b"hot"[..]), Some(None));
    }

    /// Reads of every key of a column family, whatever its memtable (the tree's is hashed).
    fn total_order() -> rocksdb::ReadOptions {
        let mut o = rocksdb::ReadOptions::default();
        o.set_total_order_seek(true);
        o
    }

    use super::*;

    /// An auditor's checkpoint is checked value by value against its root: a changed value and a
    /// removed one are each found, the first by its key.
    #[test]
    fn audit_state_names_a_changed_value_and_counts_a_removed_one() {
        use super::super::tests::{algo, init, transfer_blocks};
        let dir = tempfile::TempDir::new().expect("tempdir");
        let store = RocksStore::open(dir.path(), algo()).expect("open");
        init(&store);
        transfer_blocks(&store, 3);
        let keys = store.audit_state(&mut |_| {}).expect("a whole state");
        assert!(keys > 2, "{keys}");
        let inner = &*store.inner;
        let cf = inner.cf(CF_STATE).expect("cf");
        let mut it = inner.db.raw_iterator_cf(cf);
        it.seek_to_first();
        let (k, v) = it.item().map(|(k, v)| (k.to_vec(), v.to_vec())).expect("a value");
        drop(it);
        let mut changed = v.clone();
        changed[0] ^= 1;
        inner.db.put_cf(cf, &k, &changed).expect("put");
        let e = store.audit_state(&mut |_| {}).expect_err("changed").to_string();
        assert!(e.contains(&format!("state key 0x{}", hex::encode(&k))) && e.contains("is not the one"), "{e}");
        inner.db.delete_cf(cf, &k).expect("delete");
        let e = store.audit_state(&mut |_| {}).expect_err("removed").to_string();
        assert!(e.contains(&format!("commits to {keys} keys, the state holds {}", keys - 1)), "{e}");
        inner.db.put_cf(cf, &k, &v).expect("put");
        assert_eq!(store.audit_state(&mut |_| {}).expect("restored"), keys);
    }

    /// A ledger whose record is still in RocksDB (made before the record files) starts from it,
    /// and the first save moves it to the files.
    #[test]
    fn a_record_left_in_rocksdb_is_carried_over() {
        use super::super::tests::algo;
        let dir = tempfile::TempDir::new().expect("tempdir");
        {
            let store = RocksStore::open(dir.path(), algo()).expect("open");
            let cf = store.inner.cf(CF_CONSENSUS).expect("cf");
            store.inner.db.put_cf(cf, KEY_CONSENSUS, b"voted at 9").expect("put");
        }
        let store = RocksStore::open(dir.path(), algo()).expect("reopen");
        assert_eq!(store.load_consensus().expect("load"), Some(b"voted at 9".to_vec()));
        store.save_consensus(b"voted at 10").expect("save");
        assert_eq!(store.load_consensus().expect("load"), Some(b"voted at 10".to_vec()));
        drop(store);
        let store = RocksStore::open(dir.path(), algo()).expect("reopen");
        assert_eq!(store.load_consensus().expect("load"), Some(b"voted at 10".to_vec()));
    }

    #[test]
    fn a_root_computed_while_validating_is_written_at_commit_without_walking_again() {
        use super::super::tests::{algo, certificate, init, transfer_block, transfer_blocks};
        let dir = tempfile::TempDir::new().expect("tempdir");
        let store = RocksStore::open(dir.path(), algo()).expect("open");
        init(&store);
        transfer_blocks(&store, 2);
        // Building the block computed its root (`root_after`) and kept the tree writes.
        let (next, exec) = transfer_block(&store);
        assert_eq!(store.inner.staged_roots.lock().unwrap_or_else(PoisonError::into_inner).len(), 1);
        // Proof that the commit does not read the tree: every tree node on disk is
        // garbage now, and the commit still succeeds with the right root.
        let inner = &*store.inner;
        let cf = inner.cf(CF_TREE).expect("cf");
        let mut it = inner.db.raw_iterator_cf_opt(cf, total_order());
        it.seek_to_first();
        let mut keys = Vec::new();
        while let Some(k) = it.key() {
            keys.push(k.to_vec());
            it.next();
        }
        drop(it);
        assert!(!keys.is_empty());
        let saved: Vec<(Vec<u8>, Vec<u8>)> =
            keys.iter().map(|k| (k.clone(), inner.db.get_cf(cf, k).expect("get").expect("present"))).collect();
        for k in &keys {
            inner.db.put_cf(cf, k, b"\x05").expect("put");
        }
        inner.nodes.lock().unwrap_or_else(PoisonError::into_inner).clear();
        let h = next.header.height;
        let root = store.commit_block(&next, &certificate(h), &exec.receipts, &exec.changes).expect("commit");
        assert_eq!(root, next.header.state_root);
        assert!(inner.staged_roots.lock().unwrap_or_else(PoisonError::into_inner).is_empty(), "dropped at commit");
        // Another change set on the same base would not have matched: restore the nodes the
        // commit did not rewrite and check the tree is whole and the next block commits by walking.
        for (k, v) in saved {
            if inner.db.get_cf(cf, &k).expect("get").as_deref() == Some(&b"\x05"[..]) {
                inner.db.put_cf(cf, &k, v).expect("put");
            }
        }
        inner.nodes.lock().unwrap_or_else(PoisonError::into_inner).clear();
        transfer_blocks(&store, 1);
        assert!(store.prove(b"anything").is_ok());
    }

    #[test]
    fn corrupt_bytes_on_disk_are_errors_not_panics() {
        use super::super::tests::{algo, init, transfer_block, transfer_blocks};
        use jjj_primitives::AccountId;
        let dir = tempfile::TempDir::new().expect("tempdir");
        let store = RocksStore::open(dir.path(), algo()).expect("open");
        init(&store);
        transfer_blocks(&store, 2);
        let (next, exec) = transfer_block(&store);
        let head = store.head().expect("head");
        let inner = &*store.inner;
        let put = |cf: &'static str, key: &[u8], value: &[u8]| {
            inner.db.put_cf(inner.cf(cf).expect("cf"), key, value).expect("put")
        };
        let is_corrupt = |r: Result<_, StoreError>| matches!(r, Err(StoreError::Corrupt { .. }));

        put(CF_HEADERS, &1u64.to_be_bytes(), b"\xff\xff");
        assert!(is_corrupt(store.header(1).map(|_| ())));
        assert!(is_corrupt(store.block(1).map(|_| ())));
        put(CF_BLOCKS, &2u64.to_be_bytes(), b"\x09");
        assert!(is_corrupt(store.block(2).map(|_| ())));
        put(CF_RECEIPTS, &2u64.to_be_bytes(), b"\x04\x01");
        assert!(is_corrupt(store.receipts(2).map(|_| ())));
        put(CF_TX_INDEX, &[5u8; 32], b"abc");
        assert!(is_corrupt(store.tx_location(&Hash([5; 32])).map(|_| ())));
        put(CF_BLOCK_HASHES, &[6u8; 32], b"abc");
        assert!(is_corrupt(store.height_of(&Hash([6; 32])).map(|_| ())));
        let key = event_key(2, 0, 0);
        put(CF_EVENTS, &key, b"\x01");
        put(CF_EVENTS_BY_CONTRACT, &[&[7u8; 32][..], &key[..]].concat(), b"");
        put(CF_EVENTS_BY_TOPIC, &[&[8u8; 32][..], &key[..], &[0]].concat(), b"");
        let filter = |contract: Option<AccountId>, topic: Option<Hash>| EventFilter {
            contract,
            topic,
            from_height: 0,
            to_height: None,
            limit: 10,
            max_scanned: usize::MAX,
        };
        assert!(is_corrupt(store.events(&filter(None, None)).map(|_| ())), "a bad record");
        assert!(
            is_corrupt(store.events(&filter(Some(AccountId([7; 32])), None)).map(|_| ())),
            "an index to a bad record"
        );
        assert!(is_corrupt(store.events(&filter(None, Some(Hash([8; 32])))).map(|_| ())), "a bad index key");
        put(CF_HISTORY, &history_key(b"zz", 0), b"\x07");
        let at = store.state_at(0).expect("state_at");
        assert!(matches!(at.get(b"zz"), Err(StateError::Corrupt { .. })));
        drop(at); // it shares the database, which must close before the reopen below

        // Garble every node of the state tree.
        let branches: Vec<Vec<u8>> = {
            let mut it = inner.db.raw_iterator_cf_opt(inner.cf(CF_TREE).expect("cf"), total_order());
            it.seek_to_first();
            let mut keys = Vec::new();
            while let Some(k) = it.key() {
                keys.push(k.to_vec());
                it.next();
            }
            keys
        };
        assert!(!branches.is_empty());
        for k in &branches {
            put(CF_TREE, k, b"\x05");
        }
        // What a restarted node would find: nothing cached, only the disk.
        inner.nodes.lock().unwrap_or_else(PoisonError::into_inner).clear();
        inner.staged_roots.lock().unwrap_or_else(PoisonError::into_inner).clear();
        assert!(is_corrupt(store.prove(b"anything").map(|_| ())));
        let changes: ChangeSet = [(b"k".to_vec(), Some(b"v".to_vec()))].into_iter().collect();
        assert!(matches!(store.state().root_after(&changes), Err(StateError::Corrupt { .. })));
        assert!(is_corrupt(store.commit_block(&next, b"", &exec.receipts, &exec.changes).map(|_| ())));
        assert_eq!(store.head().expect("head"), head, "nothing committed");

        put(CF_META, KEY_HEAD, b"short");
        drop(store);
        assert!(matches!(RocksStore::open(dir.path(), algo()), Err(StoreError::Corrupt { .. })));
    }

    /// While a commit's batch is written (the tip lock not held), a reader of the current height
    /// reads that height's values from the history, never the next height's that the `state`
    /// family may already hold.
    #[test]
    fn a_reader_during_a_commits_write_reads_its_own_height() {
        use super::super::tests::{algo, init, transfer_blocks};
        let dir = tempfile::TempDir::new().expect("tempdir");
        let store = RocksStore::open(dir.path(), algo()).expect("open");
        init(&store);
        transfer_blocks(&store, 2);
        let inner = &*store.inner;
        let cf = inner.cf(CF_STATE).expect("cf");
        let (key, value) = {
            let mut it = inner.db.raw_iterator_cf(cf);
            it.seek_to_first();
            let (k, v) = it.item().expect("a state value");
            (k.to_vec(), v.to_vec())
        };
        let state = store.state();
        // What the write of the next height leaves in `state` before the tip moves.
        inner.db.put_cf(cf, &key, b"next height").expect("put");
        inner.values.lock().unwrap_or_else(PoisonError::into_inner).clear();
        inner.tip.write().unwrap_or_else(PoisonError::into_inner).writing = true;
        assert_eq!(state.get(&key).expect("get"), Some(value.clone()), "this height's value, from the history");
        assert_eq!(state.get(&key).expect("get"), Some(value), "and it was not cached");
        inner.tip.write().unwrap_or_else(PoisonError::into_inner).writing = false;
        assert_eq!(state.get(&key).expect("get").as_deref(), Some(&b"next height"[..]), "outside a write: `state`");
    }

    #[test]
    fn history_keys_of_different_keys_never_interleave() {
        // "a" at any height sorts before "ab" at any height: the length prefix separates them.
        assert!(history_key(b"a", 0) < history_key(b"ab", u64::MAX));
        assert!(history_key(b"b", 0) < history_key(b"ab", u64::MAX), "shorter keys first");
        assert!(history_key(b"aa", 0) < history_key(b"ab", u64::MAX), "same length: by key");
        // A later height sorts first, so a forward seek finds the newest change at or before it.
        assert!(history_key(b"k", 9) < history_key(b"k", 3));
    }
}
