//! jjj-store: the node's ledger: finalised blocks, their certificates and receipts, the indexes the RPC
//! reads (transaction locations, events by contract and by topic), the world state with its
//! state tree and per-height history, and the consensus core's safety record.
//!
//! [`ChainStore`] is the one interface; [`RocksStore`] keeps one RocksDB per network,
//! [`MemoryStore`] keeps the same data in memory for tests and the consensus simulation. Both
//! commit a finalised block atomically (RocksDB: one synced write batch) and give the same state
//! roots as the runtime's `MemoryState` for the same changes.
//!
//! Execution glue: `Runtime::build_block/apply_block` are generic over a *sized*
//! `S: StateReader + StateCommitment`, which `dyn StateView` is not. [`ChainStore::state`]
//! therefore returns `Arc<StateHandle>`, a concrete wrapper around `Arc<dyn StateView>` that
//! implements both traits (and coerces to `Arc<dyn StateReader>` for `dry_run`).
// Input from outside the process must never panic this crate: no unwrap/expect/panic! outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
mod memory;
mod record_files;
mod rocks;

pub use memory::MemoryStore;
pub use rocks::RocksStore;

use jjj_primitives::{merkle_root, AccountId, Block, Event, Hash, HashAlgo, Header, NetworkId, Receipt};
use jjj_state::{ChangeSet, StateCommitment, StateError, StateProof, StateReader};
use parity_scale_codec::{Decode, DecodeAll, Encode};
use std::sync::Arc;

/// A finalised block with what proves and describes it. The certificate is opaque to the store:
/// the consensus core's commit certificate arrives SCALE-encoded.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StoredBlock {
    pub block: Block,
    pub certificate: Vec<u8>,
    pub receipts: Vec<Receipt>,
}

/// Where a transaction landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct TxLocation {
    pub height: u64,
    /// Position in the block's transaction list (and receipt list).
    pub index: u32,
}

/// One event with the place it was emitted.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct EventRecord {
    pub height: u64,
    pub tx_index: u32,
    pub tx_hash: Hash,
    pub event: Event,
}

/// Which events [`ChainStore::events`] returns: those of `contract` (if set) carrying `topic`
/// (if set) in heights `from_height..=to_height` (open-ended without `to_height`), in chain
/// order, at most `limit` of them (`limit == 0` returns none: callers always bound a query).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFilter {
    pub contract: Option<AccountId>,
    pub topic: Option<Hash>,
    pub from_height: u64,
    pub to_height: Option<u64>,
    pub limit: usize,
    /// Most events read (matching or not) before the scan gives up with
    /// [`StoreError::ScanLimit`]: a filter by topic and contract may read many to find few.
    pub max_scanned: usize,
}

impl EventFilter {
    fn matches(&self, r: &EventRecord) -> bool {
        self.contract.is_none_or(|c| r.event.contract == c)
            && self.topic.is_none_or(|t| r.event.topics.contains(&t))
            && r.height >= self.from_height
            && self.to_height.is_none_or(|to| r.height <= to)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed; the message is the backend's (the trait names no backend type).
    #[error("database: {context}: {message}")]
    Db { context: String, message: String },
    #[error("corrupt {what}: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("the store holds no genesis yet")]
    NotInitialised,
    #[error("the store already holds a chain (head at height {height})")]
    AlreadyInitialised { height: u64 },
    #[error("block at height {got} does not follow the head at height {head}")]
    NotNext { head: u64, got: u64 },
    #[error("block {height} names parent {got}, the head is {expected}")]
    WrongParent { height: u64, expected: Hash, got: Hash },
    #[error("state root mismatch at height {height}: the header says {expected}, the changes give {got}")]
    StateRootMismatch { height: u64, expected: Hash, got: Hash },
    #[error("block {height} is inconsistent: {reason}")]
    Inconsistent { height: u64, reason: String },
    #[error("no state at height {height}: the head is at height {head}")]
    UnknownHeight { height: u64, head: u64 },
    #[error(
        "read {scanned} events up to height {height} without filling the page: ask for a narrower range \
         (continue from height {height})"
    )]
    ScanLimit { scanned: usize, height: u64 },
    #[error("state: {0}")]
    State(#[from] StateError),
}

impl From<StoreError> for StateError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt { what, reason } => StateError::Corrupt { key: what, reason },
            StoreError::State(e) => e,
            other => StateError::Backend(other.to_string()),
        }
    }
}

/// State that can execute a block: reads plus the Merkle commitment.
pub trait StateView: StateReader + StateCommitment + Send + Sync {}
impl<T: StateReader + StateCommitment + Send + Sync + ?Sized> StateView for T {}

/// The latest finalised state as one concrete, cheaply cloned type, so it satisfies the
/// runtime's `S: StateReader + StateCommitment + 'static` (sized) bound.
#[derive(Clone)]
pub struct StateHandle(Arc<dyn StateView>);

impl StateHandle {
    pub fn new(inner: Arc<dyn StateView>) -> Self {
        StateHandle(inner)
    }
    pub fn inner(&self) -> &Arc<dyn StateView> {
        &self.0
    }
}

impl StateReader for StateHandle {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.0.get(key)
    }
}

impl StateCommitment for StateHandle {
    fn state_root(&self) -> Hash {
        self.0.state_root()
    }
    fn root_after(&self, changes: &ChangeSet) -> Result<Hash, StateError> {
        self.0.root_after(changes)
    }
    fn hash_algo(&self) -> HashAlgo {
        self.0.hash_algo()
    }
}

/// What committing blocks wrote and how long the synced write took, summed since the store
/// opened (`jjj bench` prints them per block and per transaction).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    pub blocks: u64,
    /// The synced batch write (the WAL's fsync included).
    pub write_ns: u64,
    /// Bytes of the written batches (keys and values as RocksDB counts them).
    pub bytes: u64,
    /// State-tree nodes written or deleted.
    pub tree_nodes: u64,
}

/// The ledger of one network. Heights: genesis is height 0 (a header and the initial state, no
/// block); blocks start at 1.
pub trait ChainStore: Send + Sync + 'static {
    /// The network's hash, fixed when the store was created: block ids, roots and the state tree.
    fn hash_algo(&self) -> HashAlgo;
    /// Commit statistics (zero for a store that keeps none).
    fn commit_stats(&self) -> CommitStats {
        CommitStats::default()
    }
    /// Finalised height and header hash; `None` before genesis.
    fn head(&self) -> Result<Option<(u64, Hash)>, StoreError>;
    fn header(&self, height: u64) -> Result<Option<Header>, StoreError>;
    /// The block at `height` (`None` for genesis, which has no block).
    fn block(&self, height: u64) -> Result<Option<Block>, StoreError>;
    /// Height of a block (or the genesis header) by its header hash.
    fn height_of(&self, block_hash: &Hash) -> Result<Option<u64>, StoreError>;
    fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// The block's receipts (empty for genesis and unknown heights).
    fn receipts(&self, height: u64) -> Result<Vec<Receipt>, StoreError>;
    fn tx_location(&self, tx_hash: &Hash) -> Result<Option<TxLocation>, StoreError>;
    fn events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>, StoreError>;
    /// Everything of one finalised block in ONE synced write batch: header, block, certificate,
    /// receipts, tx index, event index (by contract and by topic), state values, state-tree
    /// nodes, state history, head. Refuses (writing nothing) a block whose height is not
    /// head+1, whose parent is not the head, whose network is not genesis's, whose receipts do
    /// not match its transactions and header roots, or whose header.state_root differs from the
    /// root the changes give. Returns the new state root.
    fn commit_block(
        &self,
        block: &Block,
        certificate: &[u8],
        receipts: &[Receipt],
        changes: &ChangeSet,
    ) -> Result<Hash, StoreError>;
    /// Genesis: the initial state (height 0, no block). Only on an empty store; the header's
    /// height must be 0 and its state root the root of `changes`.
    fn init_genesis(&self, genesis_header: &Header, changes: &ChangeSet) -> Result<Hash, StoreError>;
    /// The latest finalised state, for execution. A handle taken before a later commit keeps
    /// reading its own height's values; its `root_after` then fails on [`RocksStore`] (whose
    /// tree holds only the latest nodes) and still works on [`MemoryStore`] (a snapshot).
    fn state(&self) -> Arc<StateHandle>;
    /// Read-only state as of a finalised height.
    fn state_at(&self, height: u64) -> Result<Arc<dyn StateReader>, StoreError>;
    /// A key's value and its proof against the latest state root.
    fn prove(&self, key: &[u8]) -> Result<StateProof, StoreError>;
    /// A key's value and its proof against the state root of the header at `height` (a
    /// finalised height, genesis included).
    fn prove_at(&self, key: &[u8], height: u64) -> Result<StateProof, StoreError>;
    /// Persists the consensus core's safety record (synced write).
    fn save_consensus(&self, record: &[u8]) -> Result<(), StoreError>;
    /// Appends entry `seq` (SCALE `AccessEntry`) to this node's access log: its own record of
    /// protected reads, kept beside the ledger, never part of consensus. Entries go in order.
    fn append_access(&self, seq: u64, entry: &[u8]) -> Result<(), StoreError>;
    /// Access-log entries from `from` on, in order, at most `limit`.
    fn access_entries(&self, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// The access log's last entry.
    fn last_access_entry(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError>;
    fn load_consensus(&self) -> Result<Option<Vec<u8>>, StoreError>;

    /// A block with its certificate and receipts, for a lagging peer's catch-up.
    fn stored_block(&self, height: u64) -> Result<Option<StoredBlock>, StoreError> {
        let Some(block) = self.block(height)? else { return Ok(None) };
        let certificate = self.certificate(height)?.unwrap_or_default();
        let receipts = self.receipts(height)?;
        Ok(Some(StoredBlock { block, certificate, receipts }))
    }
}

/// The finalised tip, cached in memory by both stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tip {
    pub height: u64,
    pub hash: Hash,
    pub state_root: Hash,
    pub network: NetworkId,
}

/// Checks that `block` may follow `tip`: height, parent, network, and that the receipts belong
/// to the transactions and match the header's roots. Returns the transactions' hashes.
pub(crate) fn check_next(
    algo: HashAlgo,
    tip: &Tip,
    block: &Block,
    receipts: &[Receipt],
) -> Result<Vec<Hash>, StoreError> {
    let h = &block.header;
    if h.height != tip.height.saturating_add(1) || tip.height == u64::MAX {
        return Err(StoreError::NotNext { head: tip.height, got: h.height });
    }
    if h.parent_hash != tip.hash {
        return Err(StoreError::WrongParent { height: h.height, expected: tip.hash, got: h.parent_hash });
    }
    let inconsistent = |reason: String| StoreError::Inconsistent { height: h.height, reason };
    if h.network != tip.network {
        return Err(inconsistent(format!("it is for network {}, this store holds {}", h.network, tip.network)));
    }
    if receipts.len() != block.transactions.len() {
        return Err(inconsistent(format!("{} transactions but {} receipts", block.transactions.len(), receipts.len())));
    }
    if u32::try_from(receipts.len()).is_err() {
        return Err(inconsistent("too many transactions".into()));
    }
    let tx_hashes: Vec<Hash> = block.transactions.iter().map(|t| t.hash(algo)).collect();
    if let Some(i) = receipts.iter().zip(&tx_hashes).position(|(r, t)| r.tx_hash != *t) {
        return Err(inconsistent(format!("receipt {i} is not for transaction {i}")));
    }
    let tx_root = merkle_root(algo, tx_hashes.iter().copied());
    if tx_root != h.tx_root {
        return Err(inconsistent(format!("tx root {tx_root} differs from the header's {}", h.tx_root)));
    }
    let receipts_root = merkle_root(algo, receipts.iter().map(|r| r.hash(algo)));
    if receipts_root != h.receipts_root {
        return Err(inconsistent(format!(
            "receipts root {receipts_root} differs from the header's {}",
            h.receipts_root
        )));
    }
    Ok(tx_hashes)
}

/// Checks a genesis header before anything is computed.
pub(crate) fn check_genesis_header(header: &Header) -> Result<(), StoreError> {
    if header.height != 0 {
        return Err(StoreError::Inconsistent { height: header.height, reason: "a genesis header has height 0".into() });
    }
    Ok(())
}

/// A block's events, each with its position in the receipt (which makes index keys unique).
pub(crate) fn event_records(height: u64, tx_hashes: &[Hash], receipts: &[Receipt]) -> Vec<(u32, EventRecord)> {
    let mut out = Vec::new();
    for (tx_index, (receipt, tx_hash)) in receipts.iter().zip(tx_hashes).enumerate() {
        for (event_index, event) in receipt.events.iter().enumerate() {
            out.push((
                event_index as u32,
                EventRecord { height, tx_index: tx_index as u32, tx_hash: *tx_hash, event: event.clone() },
            ));
        }
    }
    out
}

/// Decodes bytes read back from storage, rejecting trailing bytes; never panics.
pub(crate) fn decode_stored<T: Decode>(what: impl FnOnce() -> String, bytes: &[u8]) -> Result<T, StoreError> {
    T::decode_all(&mut &bytes[..]).map_err(|e| StoreError::Corrupt { what: what(), reason: e.to_string() })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jjj_crypto::Keypair;
    use jjj_executive::{genesis_changes, BlockExecution, BlockTemplate, Runtime};
    use jjj_primitives::{Call, ReceiptStatus, SignedTransaction, Transaction};
    use jjj_state::{keys, verify_proof, Account, MemoryState};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;
    use tempfile::TempDir;

    const START: u64 = 1_000_000;
    const T0: u64 = 1_767_225_600_000;

    // The suite the tests run with (`JJJ_TEST_SUITE`): every store, state, key and id uses it.
    pub(super) use jjj_testkit::{test_hash_algo as algo, test_suite as suite};

    fn runtime() -> &'static Runtime {
        static RUNTIME: OnceLock<Runtime> = OnceLock::new();
        RUNTIME.get_or_init(|| Runtime::new().expect("runtime").with_suite(suite()))
    }

    fn net() -> NetworkId {
        NetworkId::new("jj").expect("network id")
    }

    fn who(name: &str) -> Keypair {
        Keypair::named(suite().scheme(), name)
    }

    pub(super) fn genesis() -> (Header, ChangeSet) {
        let balances: Vec<_> = ["alice", "bob", "carol"].iter().map(|n| (who(n).account(), START)).collect();
        let changes = genesis_changes(&balances);
        let state_root = MemoryState::new(algo()).apply(&changes).expect("apply");
        let header = Header {
            network: net(),
            height: 0,
            parent_hash: Hash::default(),
            timestamp: T0,
            proposer: AccountId::default(),
            tx_root: Hash::default(),
            receipts_root: Hash::default(),
            state_root,
        };
        (header, changes)
    }

    pub(super) fn init(store: &dyn ChainStore) -> Header {
        let (header, changes) = genesis();
        assert_eq!(store.init_genesis(&header, &changes).expect("genesis"), header.state_root);
        header
    }

    fn account(state: &dyn StateReader, name: &str) -> Account {
        state
            .get(&keys::account(&who(name).account()))
            .expect("read")
            .map(|b| Account::decode(&mut &b[..]).expect("an account record"))
            .unwrap_or_default()
    }

    fn transfer(store: &dyn ChainStore, from: &str, to: &str, amount: u64) -> SignedTransaction {
        let key = who(from);
        let nonce = account(&*store.state(), from).nonce;
        let call = Call::Transfer { to: who(to).account(), amount };
        key.sign_tx(Transaction { network: net(), sender: key.account(), nonce, gas_limit: 100_000, call })
    }

    /// The next block, built by the real runtime over the store's latest state.
    fn build(store: &dyn ChainStore, txs: Vec<SignedTransaction>) -> (Block, BlockExecution) {
        let (height, parent_hash) = store.head().expect("head").expect("genesis");
        let template = BlockTemplate {
            network: net(),
            height: height + 1,
            parent_hash,
            timestamp: T0 + (height + 1) * 1000,
            proposer: who("alice").account(),
        };
        let (block, exec, refused) = runtime().build_block(store.state(), template, txs).expect("build");
        assert!(refused.is_empty(), "refused: {refused:?}");
        (block, exec)
    }

    pub(super) fn certificate(height: u64) -> Vec<u8> {
        format!("certificate of {height}").into_bytes()
    }

    /// Block h: alice pays bob h fen, bob pays carol 2h fen.
    pub(super) fn transfer_block(store: &dyn ChainStore) -> (Block, BlockExecution) {
        let h = store.head().expect("head").expect("genesis").0 + 1;
        build(store, vec![transfer(store, "alice", "bob", h), transfer(store, "bob", "carol", 2 * h)])
    }

    pub(super) fn transfer_blocks(store: &dyn ChainStore, count: u64) -> Vec<(Block, Vec<Receipt>)> {
        (0..count)
            .map(|_| {
                let (block, exec) = transfer_block(store);
                let h = block.header.height;
                let root = store.commit_block(&block, &certificate(h), &exec.receipts, &exec.changes).expect("commit");
                assert_eq!(root, block.header.state_root);
                (block, exec.receipts)
            })
            .collect()
    }

    /// Balances and nonces after blocks 1..=n of `transfer_blocks`.
    fn check_balances(state: &dyn StateReader, n: u64) {
        let sum: u64 = (1..=n).sum();
        let (alice, bob, carol) = (account(state, "alice"), account(state, "bob"), account(state, "carol"));
        assert_eq!((alice.balance, alice.nonce), (START - sum, n));
        assert_eq!((bob.balance, bob.nonce), (START - sum, n));
        assert_eq!((carol.balance, carol.nonce), (START + 2 * sum, 0));
    }

    fn commits_and_reads_back(store: &dyn ChainStore) {
        let genesis = init(store);
        assert_eq!(store.head().expect("head"), Some((0, genesis.hash(algo()))));
        let chain = transfer_blocks(store, 5);
        let last = &chain[4].0;
        assert_eq!(store.head().expect("head"), Some((5, last.header.hash(algo()))));
        assert_eq!(store.header(0).expect("header"), Some(genesis.clone()));
        assert_eq!(store.block(0).expect("block"), None, "genesis has no block");
        assert_eq!(store.height_of(&genesis.hash(algo())).expect("height_of"), Some(0));
        assert_eq!(store.certificate(0).expect("certificate"), None);
        assert!(store.receipts(0).expect("receipts").is_empty());
        for (block, receipts) in &chain {
            let h = block.header.height;
            assert_eq!(store.header(h).expect("header").as_ref(), Some(&block.header));
            assert_eq!(store.block(h).expect("block").as_ref(), Some(block));
            assert_eq!(store.height_of(&block.header.hash(algo())).expect("height_of"), Some(h));
            assert_eq!(store.certificate(h).expect("certificate"), Some(certificate(h)));
            assert_eq!(&store.receipts(h).expect("receipts"), receipts);
            assert_eq!(receipts.len(), 2);
            assert!(receipts.iter().all(|r| r.is_success()));
            for (i, tx) in block.transactions.iter().enumerate() {
                assert_eq!(
                    store.tx_location(&tx.hash(algo())).expect("tx"),
                    Some(TxLocation { height: h, index: i as u32 })
                );
            }
            let stored = store.stored_block(h).expect("stored block").expect("present");
            assert_eq!(
                stored,
                StoredBlock { block: block.clone(), certificate: certificate(h), receipts: receipts.clone() }
            );
        }
        assert_eq!(store.header(6).expect("header"), None);
        assert_eq!(store.block(6).expect("block"), None);
        assert_eq!(store.certificate(6).expect("certificate"), None);
        assert!(store.receipts(6).expect("receipts").is_empty());
        assert_eq!(store.stored_block(6).expect("stored block"), None);
        assert_eq!(store.height_of(&Hash([9; 32])).expect("height_of"), None);
        assert_eq!(store.tx_location(&Hash([9; 32])).expect("tx"), None);
        let state = store.state();
        check_balances(&*state, 5);
        assert_eq!(state.state_root(), last.header.state_root);
    }

    #[test]
    fn rocks_store_commits_and_reads_back() {
        let dir = TempDir::new().expect("tempdir");
        commits_and_reads_back(&RocksStore::open(dir.path(), algo()).expect("open"));
    }

    #[test]
    fn memory_store_commits_and_reads_back() {
        commits_and_reads_back(&MemoryStore::new(algo()));
    }

    fn genesis_rules(store: &dyn ChainStore) {
        let (header, changes) = genesis();
        assert_eq!(store.head().expect("head"), None);
        let orphan = Block { header: Header { height: 1, ..header.clone() }, transactions: vec![] };
        assert!(matches!(store.commit_block(&orphan, b"", &[], &ChangeSet::new()), Err(StoreError::NotInitialised)));
        assert!(matches!(store.state_at(0), Err(StoreError::NotInitialised)));
        assert!(matches!(store.prove(b"k"), Err(StoreError::NotInitialised)));

        let wrong_root = Header { state_root: Hash([3; 32]), ..header.clone() };
        assert!(matches!(
            store.init_genesis(&wrong_root, &changes),
            Err(StoreError::StateRootMismatch { height: 0, .. })
        ));
        let wrong_height = Header { height: 1, ..header.clone() };
        assert!(matches!(store.init_genesis(&wrong_height, &changes), Err(StoreError::Inconsistent { .. })));
        assert_eq!(store.head().expect("head"), None, "a refused genesis writes nothing");
        assert_eq!(store.header(0).expect("header"), None);
        assert_eq!(account(&*store.state(), "alice"), Account::default());

        assert_eq!(store.init_genesis(&header, &changes).expect("genesis"), header.state_root);
        assert_eq!(store.head().expect("head"), Some((0, header.hash(algo()))));
        assert_eq!(store.state().state_root(), header.state_root);
        assert_eq!(account(&*store.state_at(0).expect("state at 0"), "alice").balance, START);
        assert!(matches!(store.init_genesis(&header, &changes), Err(StoreError::AlreadyInitialised { height: 0 })));
    }

    #[test]
    fn genesis_is_checked_and_written_once() {
        let dir = TempDir::new().expect("tempdir");
        genesis_rules(&RocksStore::open(dir.path(), algo()).expect("open"));
        genesis_rules(&MemoryStore::new(algo()));
    }

    /// What a refused commit must leave alone.
    #[derive(Debug, PartialEq)]
    struct Snapshot {
        head: Option<(u64, Hash)>,
        root: Hash,
        alice: Account,
        bob: Account,
        next_header: Option<Header>,
        events: Vec<EventRecord>,
    }

    fn snapshot(store: &dyn ChainStore) -> Snapshot {
        let state = store.state();
        let head = store.head().expect("head");
        let next = head.map_or(0, |(h, _)| h + 1);
        let all = EventFilter {
            contract: None,
            topic: None,
            from_height: 0,
            to_height: None,
            limit: 1000,
            max_scanned: usize::MAX,
        };
        Snapshot {
            head,
            root: state.state_root(),
            alice: account(&*state, "alice"),
            bob: account(&*state, "bob"),
            next_header: store.header(next).expect("header"),
            events: store.events(&all).expect("events"),
        }
    }

    /// Tries every kind of bad commit on a chain at height 1; returns the good block 2 (not
    /// committed) and what the store looked like.
    fn refusals(store: &dyn ChainStore) -> (Block, BlockExecution, Snapshot) {
        init(store);
        transfer_blocks(store, 1);
        let before = snapshot(store);
        let (good, exec) = build(store, vec![transfer(store, "alice", "bob", 7)]);
        let cert = certificate(2);
        let commit = |block: &Block, receipts: &[Receipt], changes: &ChangeSet| {
            store.commit_block(block, &cert, receipts, changes)
        };

        let mut b = good.clone();
        b.header.parent_hash = Hash([7; 32]);
        assert!(matches!(commit(&b, &exec.receipts, &exec.changes), Err(StoreError::WrongParent { height: 2, .. })));
        let mut b = good.clone();
        b.header.height = 3;
        assert!(matches!(commit(&b, &exec.receipts, &exec.changes), Err(StoreError::NotNext { head: 1, got: 3 })));
        let mut b = good.clone();
        b.header.height = 1;
        assert!(matches!(commit(&b, &exec.receipts, &exec.changes), Err(StoreError::NotNext { head: 1, got: 1 })));
        let mut b = good.clone();
        b.header.state_root = Hash([8; 32]);
        match commit(&b, &exec.receipts, &exec.changes) {
            Err(StoreError::StateRootMismatch { height: 2, expected, got }) => {
                assert_eq!((expected, got), (Hash([8; 32]), good.header.state_root));
            }
            other => panic!("expected a state root mismatch, got {other:?}"),
        }
        let mut more = exec.changes.clone();
        more.insert(b"extra".to_vec(), Some(b"1".to_vec()));
        assert!(matches!(commit(&good, &exec.receipts, &more), Err(StoreError::StateRootMismatch { .. })));
        assert!(matches!(commit(&good, &[], &exec.changes), Err(StoreError::Inconsistent { .. })), "receipts missing");
        let mut wrong_receipt = exec.receipts.clone();
        wrong_receipt[0].gas_used += 1;
        assert!(
            matches!(commit(&good, &wrong_receipt, &exec.changes), Err(StoreError::Inconsistent { .. })),
            "receipts root"
        );
        let mut b = good.clone();
        b.header.network = NetworkId::new("other").expect("id");
        assert!(matches!(commit(&b, &exec.receipts, &exec.changes), Err(StoreError::Inconsistent { .. })), "network");

        assert_eq!(snapshot(store), before, "a refused block writes nothing");
        assert_eq!(store.tx_location(&good.transactions[0].hash(algo())).expect("tx"), None);
        assert_eq!(store.height_of(&good.header.hash(algo())).expect("height_of"), None);
        assert_eq!(store.certificate(2).expect("certificate"), None);
        assert!(matches!(store.state_at(2), Err(StoreError::UnknownHeight { height: 2, head: 1 })));
        (good, exec, before)
    }

    fn commit_good(store: &dyn ChainStore, good: &Block, exec: &BlockExecution) {
        let root =
            store.commit_block(good, &certificate(2), &exec.receipts, &exec.changes).expect("the good block commits");
        assert_eq!(root, good.header.state_root);
        assert_eq!(store.head().expect("head"), Some((2, good.header.hash(algo()))));
        assert_eq!(account(&*store.state(), "bob").balance, START - 1 + 7);
    }

    #[test]
    fn memory_store_refuses_bad_blocks_and_writes_nothing() {
        let store = MemoryStore::new(algo());
        let (good, exec, _) = refusals(&store);
        commit_good(&store, &good, &exec);
    }

    #[test]
    fn rocks_store_refuses_bad_blocks_and_writes_nothing() {
        let dir = TempDir::new().expect("tempdir");
        let (good, exec, before) = refusals(&RocksStore::open(dir.path(), algo()).expect("open"));
        // Nothing reached the disk either.
        let store = RocksStore::open(dir.path(), algo()).expect("reopen");
        assert_eq!(snapshot(&store), before);
        commit_good(&store, &good, &exec);
    }

    /// A block the store cannot tell from an executed one: its roots are those of the given
    /// transactions, receipts and state changes (the store does not execute). One transaction
    /// per entry of `events`.
    fn synthetic(
        parent: (u64, Hash),
        mirror: &MemoryState,
        events: Vec<Vec<Event>>,
        changes: &ChangeSet,
    ) -> (Block, Vec<Receipt>) {
        let height = parent.0 + 1;
        let transactions: Vec<SignedTransaction> = (0..events.len() as u64)
            .map(|i| SignedTransaction {
                tx: Transaction {
                    network: net(),
                    sender: who("alice").account(),
                    nonce: height * 1000 + i,
                    gas_limit: 1,
                    call: Call::Transfer { to: AccountId::default(), amount: 0 },
                },
                signatures: vec![],
            })
            .collect();
        let receipts: Vec<Receipt> = transactions
            .iter()
            .zip(events)
            .map(|(tx, events)| Receipt {
                tx_hash: tx.hash(algo()),
                status: ReceiptStatus::Success,
                gas_used: 1,
                events,
                output: vec![],
            })
            .collect();
        let header = Header {
            network: net(),
            height,
            parent_hash: parent.1,
            timestamp: T0 + height,
            proposer: AccountId::default(),
            tx_root: merkle_root(algo(), transactions.iter().map(|t| t.hash(algo()))),
            receipts_root: merkle_root(algo(), receipts.iter().map(|r| r.hash(algo()))),
            state_root: mirror.root_after(changes).expect("root"),
        };
        (Block { header, transactions }, receipts)
    }

    fn set(pairs: &[(&str, Option<&str>)]) -> ChangeSet {
        pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()))).collect()
    }

    /// Commits the same synthetic block to every store and the mirror; checks the roots agree.
    fn commit_everywhere(
        stores: &[&dyn ChainStore],
        mirror: &mut MemoryState,
        events: Vec<Vec<Event>>,
        changes: &ChangeSet,
    ) -> Block {
        let head = stores[0].head().expect("head").expect("genesis");
        let (block, receipts) = synthetic(head, mirror, events, changes);
        let expected = mirror.apply(changes).expect("apply");
        for store in stores {
            assert_eq!(store.commit_block(&block, b"cert", &receipts, changes).expect("commit"), expected);
            assert_eq!(store.state().state_root(), expected);
        }
        block
    }

    #[test]
    fn state_at_reads_history_and_old_handles_keep_their_height() {
        let dir = TempDir::new().expect("tempdir");
        let rocks = RocksStore::open(dir.path(), algo()).expect("open");
        let memory = MemoryStore::new(algo());
        let stores: [&dyn ChainStore; 2] = [&rocks, &memory];
        let (header, changes) = genesis();
        let mut mirror = MemoryState::new(algo());
        mirror.apply(&changes).expect("apply");
        for s in stores {
            s.init_genesis(&header, &changes).expect("genesis");
        }
        // x over heights 0..=5: absent, 1, 2, removed, (untouched), 5. A longer key "xx" and a
        // shorter one "" change at other heights and must not leak into x's history.
        let steps = [
            set(&[("x", Some("1"))]),
            set(&[("x", Some("2")), ("xx", Some("a"))]),
            set(&[("x", None), ("", Some("e"))]),
            set(&[("y", Some("1")), ("xx", None)]),
            set(&[("x", Some("5"))]),
        ];
        let expected_x = [None, Some("1"), Some("2"), None, None, Some("5")];
        let expected_xx = [None, None, Some("a"), Some("a"), None, None];
        let mut handles_at_2 = Vec::new();
        for (i, changes) in steps.iter().enumerate() {
            commit_everywhere(&stores, &mut mirror, vec![], changes);
            if i == 1 {
                handles_at_2 = stores.iter().map(|s| s.state()).collect();
            }
        }
        for s in stores {
            for h in 0..=5u64 {
                let at = s.state_at(h).expect("state_at");
                let x = at.get(b"x").expect("get");
                assert_eq!(x.as_deref(), expected_x[h as usize].map(str::as_bytes), "x at height {h}");
                let xx = at.get(b"xx").expect("get");
                assert_eq!(xx.as_deref(), expected_xx[h as usize].map(str::as_bytes), "xx at height {h}");
                assert_eq!(account(&*at, "alice").balance, START, "untouched keys read their genesis value");
            }
            assert_eq!(s.state_at(2).expect("state_at").get(b"").expect("get"), None);
            assert_eq!(s.state_at(3).expect("state_at").get(b"").expect("get"), Some(b"e".to_vec()));
            assert!(matches!(s.state_at(6), Err(StoreError::UnknownHeight { height: 6, head: 5 })));
        }
        for handle in &handles_at_2 {
            assert_eq!(handle.get(b"x").expect("get"), Some(b"2".to_vec()), "a handle keeps reading its own height");
            assert_eq!(handle.get(b"y").expect("get"), None);
        }
        // The RocksDB tree holds only the latest nodes: an old handle cannot compute new roots.
        assert!(handles_at_2[0].root_after(&set(&[("z", Some("1"))])).is_err());
    }

    #[test]
    fn events_are_found_by_contract_topic_and_height() {
        let dir = TempDir::new().expect("tempdir");
        let rocks = RocksStore::open(dir.path(), algo()).expect("open");
        let memory = MemoryStore::new(algo());
        let stores: [&dyn ChainStore; 2] = [&rocks, &memory];
        let (header, changes) = genesis();
        let mut mirror = MemoryState::new(algo());
        mirror.apply(&changes).expect("apply");
        for s in stores {
            s.init_genesis(&header, &changes).expect("genesis");
        }
        let (c1, c2) = (AccountId([1; 32]), AccountId([2; 32]));
        let (t1, t2) = (Hash([0x11; 32]), Hash([0x22; 32]));
        let ev =
            |contract: AccountId, topics: &[Hash], n: u8| Event { contract, topics: topics.to_vec(), data: vec![n] };
        let blocks = [
            commit_everywhere(
                &stores,
                &mut mirror,
                vec![vec![ev(c1, &[t1], 1), ev(c2, &[t2], 2)], vec![ev(c1, &[t1, t2], 3)]],
                &set(&[("a", Some("1"))]),
            ),
            commit_everywhere(&stores, &mut mirror, vec![vec![], vec![ev(c2, &[t1], 4)]], &ChangeSet::new()),
            commit_everywhere(&stores, &mut mirror, vec![vec![ev(c1, &[], 5)]], &ChangeSet::new()),
            commit_everywhere(&stores, &mut mirror, vec![vec![ev(c2, &[t2, t2], 6)]], &ChangeSet::new()),
        ];
        for s in stores {
            let q = |contract: Option<AccountId>,
                     topic: Option<Hash>,
                     from_height: u64,
                     to_height: Option<u64>,
                     limit: usize|
             -> Vec<u8> {
                let f = EventFilter { contract, topic, from_height, to_height, limit, max_scanned: usize::MAX };
                s.events(&f).expect("events").iter().map(|r| r.event.data[0]).collect()
            };
            assert_eq!(q(None, None, 0, None, 100), [1, 2, 3, 4, 5, 6]);
            assert_eq!(q(Some(c1), None, 0, None, 100), [1, 3, 5]);
            assert_eq!(q(Some(c2), None, 0, None, 100), [2, 4, 6]);
            assert_eq!(q(None, Some(t1), 0, None, 100), [1, 3, 4]);
            assert_eq!(q(None, Some(t2), 0, None, 100), [2, 3, 6], "a topic listed twice is found once");
            assert_eq!(q(Some(c1), Some(t2), 0, None, 100), [3]);
            assert_eq!(q(Some(c2), Some(t1), 0, None, 100), [4]);
            assert_eq!(q(None, None, 2, Some(3), 100), [4, 5]);
            assert_eq!(q(Some(c1), None, 2, None, 100), [5]);
            assert_eq!(q(None, Some(t2), 4, Some(4), 100), [6]);
            assert_eq!(q(None, Some(t1), 3, None, 100), Vec::<u8>::new());
            assert_eq!(q(None, None, 0, None, 2), [1, 2]);
            assert_eq!(q(Some(c2), None, 0, None, 1), [2]);
            assert_eq!(q(None, None, 0, None, 0), Vec::<u8>::new(), "limit 0");
            assert_eq!(q(None, None, 3, Some(2), 100), Vec::<u8>::new(), "empty range");
            assert_eq!(q(Some(AccountId([3; 32])), None, 0, None, 100), Vec::<u8>::new());
            assert_eq!(q(None, None, 5, None, 100), Vec::<u8>::new(), "past the head");

            // A scan that must read many events to find few stops at `max_scanned`, saying where
            // to continue; within the budget it answers.
            let capped = |max_scanned| EventFilter {
                contract: Some(c2),
                topic: Some(t2),
                from_height: 0,
                to_height: None,
                limit: 100,
                max_scanned,
            };
            match s.events(&capped(2)) {
                Err(StoreError::ScanLimit { scanned: 2, height }) => assert!(height <= 4, "continue from {height}"),
                other => panic!("expected the scan limit, got {other:?}"),
            }
            let found: Vec<u8> = s.events(&capped(3)).expect("within budget").iter().map(|r| r.event.data[0]).collect();
            assert_eq!(found, [2, 6]);

            let all = s
                .events(&EventFilter {
                    contract: None,
                    topic: None,
                    from_height: 0,
                    to_height: None,
                    limit: 100,
                    max_scanned: usize::MAX,
                })
                .expect("events");
            assert_eq!(
                all[0],
                EventRecord {
                    height: 1,
                    tx_index: 0,
                    tx_hash: blocks[0].transactions[0].hash(algo()),
                    event: ev(c1, &[t1], 1)
                }
            );
            assert_eq!(
                (all[2].height, all[2].tx_index, all[2].tx_hash),
                (1, 1, blocks[0].transactions[1].hash(algo()))
            );
            assert_eq!(
                (all[3].height, all[3].tx_index, all[3].tx_hash),
                (2, 1, blocks[1].transactions[1].hash(algo()))
            );
        }
    }

    fn proofs_verify(store: &dyn ChainStore) -> StateProof {
        init(store);
        transfer_blocks(store, 3);
        let root = store.header(3).expect("header").expect("present").state_root;
        let old_root = store.header(2).expect("header").expect("present").state_root;
        let bob = keys::account(&who("bob").account());
        let p = store.prove(&bob).expect("prove");
        assert_eq!(p.value, store.state().get(&bob).expect("get"));
        assert!(p.value.is_some());
        assert!(verify_proof(algo(), &root, &bob, p.value.as_deref(), &p.proof));
        assert!(
            !verify_proof(algo(), &old_root, &bob, p.value.as_deref(), &p.proof),
            "bob's balance changed since height 2"
        );
        assert!(!verify_proof(algo(), &root, &bob, Some(b"forged"), &p.proof));
        assert!(!verify_proof(algo(), &root, &bob, None, &p.proof));
        let dave = keys::account(&who("dave").account());
        let absent = store.prove(&dave).expect("prove");
        assert_eq!(absent.value, None);
        assert!(verify_proof(algo(), &root, &dave, None, &absent.proof));
        assert!(!verify_proof(algo(), &root, &dave, Some(b"x"), &absent.proof));
        p
    }

    #[test]
    fn proofs_verify_against_header_state_roots() {
        let dir = TempDir::new().expect("tempdir");
        let from_rocks = proofs_verify(&RocksStore::open(dir.path(), algo()).expect("open"));
        let from_memory = proofs_verify(&MemoryStore::new(algo()));
        assert_eq!(from_rocks, from_memory, "the same tree gives the same proof");
    }

    #[test]
    fn rocks_and_memory_agree_with_the_runtime() {
        let dir = TempDir::new().expect("tempdir");
        let rocks = RocksStore::open(dir.path(), algo()).expect("open");
        let memory = MemoryStore::new(algo());
        let (_, changes) = genesis();
        let mut mirror = MemoryState::new(algo());
        let genesis_root = mirror.apply(&changes).expect("apply");
        assert_eq!(init(&rocks).state_root, genesis_root);
        assert_eq!(init(&memory).state_root, genesis_root);
        for _ in 0..4 {
            let (block_r, exec_r) = transfer_block(&rocks);
            let (block_m, exec_m) = transfer_block(&memory);
            assert_eq!(block_r, block_m, "the same state gives the same block");
            assert_eq!(exec_r, exec_m);
            let h = block_r.header.height;
            let root_r =
                rocks.commit_block(&block_r, &certificate(h), &exec_r.receipts, &exec_r.changes).expect("commit");
            let root_m =
                memory.commit_block(&block_m, &certificate(h), &exec_m.receipts, &exec_m.changes).expect("commit");
            assert_eq!(root_r, root_m);
            assert_eq!(mirror.apply(&exec_r.changes).expect("apply"), root_r);
        }
        // Removals and re-insertions take the tree through merges and splits.
        let stores: [&dyn ChainStore; 2] = [&rocks, &memory];
        let many: ChangeSet = (0..200).map(|i| (format!("k{i}").into_bytes(), Some(vec![i as u8]))).collect();
        commit_everywhere(&stores, &mut mirror, vec![], &many);
        let fewer: ChangeSet = (0..200).filter(|i| i % 3 != 0).map(|i| (format!("k{i}").into_bytes(), None)).collect();
        commit_everywhere(&stores, &mut mirror, vec![], &fewer);
        let again: ChangeSet = (0..50).map(|i| (format!("k{i}").into_bytes(), Some(b"again".to_vec()))).collect();
        commit_everywhere(&stores, &mut mirror, vec![], &again);
        let k = b"k7";
        let p = rocks.prove(k).expect("prove");
        assert_eq!(p, memory.prove(k).expect("prove"));
        assert!(verify_proof(algo(), &mirror.state_root(), k, Some(b"again"), &p.proof));
        // Every key at every older height: proven against that height's header, with that
        // height's value (the tree's history, through the merges and splits above).
        let head = rocks.head().expect("head").expect("some").0;
        for height in 0..=head {
            let root = rocks.header(height).expect("header").expect("present").state_root;
            for i in [0usize, 1, 7, 99, 150, 250] {
                let k = format!("k{i}").into_bytes();
                let p = rocks.prove_at(&k, height).expect("prove at");
                assert_eq!(p, memory.prove_at(&k, height).expect("prove at"), "k{i} at {height}");
                assert_eq!(p.value, rocks.state_at(height).expect("state").get(&k).expect("get"));
                assert!(verify_proof(algo(), &root, &k, p.value.as_deref(), &p.proof), "k{i} at {height}");
            }
        }
        assert!(matches!(rocks.prove_at(k, head + 1), Err(StoreError::UnknownHeight { .. })));
    }

    #[test]
    fn readers_see_one_height_while_blocks_commit() {
        let dir = TempDir::new().expect("tempdir");
        let store = RocksStore::open(dir.path(), algo()).expect("open");
        init(&store);
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut reads = 0u32;
                while !done.load(Ordering::Acquire) || reads == 0 {
                    let state = store.state();
                    let alice = account(&*state, "alice");
                    let n = alice.nonce;
                    // Every value of one handle comes from the same height, even across commits.
                    check_balances(&*state, n);
                    reads += 1;
                }
                reads
            });
            transfer_blocks(&store, 6);
            done.store(true, Ordering::Release);
            assert!(reader.join().expect("the reader thread") > 0);
        });
        check_balances(&*store.state(), 6);
    }

    #[test]
    fn consensus_record_round_trips_and_survives_reopen() {
        let dir = TempDir::new().expect("tempdir");
        {
            let rocks = RocksStore::open(dir.path(), algo()).expect("open");
            let memory = MemoryStore::new(algo());
            for s in [&rocks as &dyn ChainStore, &memory] {
                assert_eq!(s.load_consensus().expect("load"), None);
                s.save_consensus(b"view 1").expect("save");
                assert_eq!(s.load_consensus().expect("load"), Some(b"view 1".to_vec()));
                s.save_consensus(b"view 2").expect("save");
                assert_eq!(s.load_consensus().expect("load"), Some(b"view 2".to_vec()));
            }
        }
        let rocks = RocksStore::open(dir.path(), algo()).expect("reopen");
        assert_eq!(rocks.load_consensus().expect("load"), Some(b"view 2".to_vec()));
    }

    #[test]
    fn rocks_store_refuses_a_database_made_with_another_hash() {
        for made in HashAlgo::ALL {
            let other = HashAlgo::ALL.into_iter().find(|a| *a != made).expect("two hashes");
            // One database with a chain, one opened but still empty: the hash is recorded on
            // the first open, before any genesis.
            let (full, empty) = (TempDir::new().expect("tempdir"), TempDir::new().expect("tempdir"));
            let (head, root) = {
                let store = RocksStore::open(full.path(), made).expect("open");
                assert_eq!(store.hash_algo(), made);
                if made == algo() {
                    init(&store);
                    transfer_blocks(&store, 2);
                } else {
                    let (header, changes) = genesis();
                    let header =
                        Header { state_root: MemoryState::new(made).apply(&changes).expect("apply"), ..header };
                    store.init_genesis(&header, &changes).expect("genesis");
                }
                // A saved record, too, must not get in the way of the refusal naming the hash.
                store.save_consensus(b"voted").expect("save");
                (store.head().expect("head"), store.state().state_root())
            };
            drop(RocksStore::open(empty.path(), made).expect("open"));
            for dir in [&full, &empty] {
                match RocksStore::open(dir.path(), other) {
                    Err(e @ StoreError::Corrupt { .. }) => {
                        let message = e.to_string();
                        assert!(
                            message.contains(&format!("was made with {}", made.name())),
                            "{}: {message}",
                            made.name()
                        );
                        assert!(message.contains(other.name()), "{message}");
                    }
                    Err(e) => panic!("expected a refusal naming the hash, got {e}"),
                    Ok(_) => panic!("a {} database opened as {}", made.name(), other.name()),
                }
            }
            // The refusal changed nothing: the database still opens with its own hash.
            let store = RocksStore::open(full.path(), made).expect("reopen with its own hash");
            assert_eq!(store.hash_algo(), made);
            assert_eq!(store.head().expect("head"), head);
            assert_eq!(store.state().state_root(), root);
            drop(store);
            let store = RocksStore::open(empty.path(), made).expect("reopen with its own hash");
            assert_eq!(store.head().expect("head"), None);
        }
    }

    const CRASH_DIR_ENV: &str = "JJJ_STORE_TEST_CRASH_DIR";

    /// Does nothing as a test of its own: it is the child process of
    /// `rocks_store_survives_a_crash`, which sets the variable.
    #[test]
    fn crash_child() {
        let Some(dir) = std::env::var_os(CRASH_DIR_ENV) else { return };
        let store = RocksStore::open(PathBuf::from(dir).join("db"), algo()).expect("open");
        init(&store);
        transfer_blocks(&store, 4);
        store.save_consensus(b"voted at 4").expect("save");
        // Die without closing the database: only the synced writes stand between the commits
        // and their loss.
        std::process::abort();
    }

    #[test]
    fn rocks_store_survives_a_crash() {
        let dir = TempDir::new().expect("tempdir");
        let module = module_path!();
        let test = format!("{}::crash_child", module.split_once("::").map_or(module, |(_, rest)| rest));
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
            .env(CRASH_DIR_ENV, dir.path())
            .current_dir(dir.path())
            .output()
            .expect("run the child");
        let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "the child should have aborted: {output}");

        // The same blocks again, in memory, to know what the crashed store must hold.
        let memory = MemoryStore::new(algo());
        init(&memory);
        transfer_blocks(&memory, 4);

        let store = RocksStore::open(dir.path().join("db"), algo()).expect("reopen after the crash");
        let top = memory.header(4).expect("header").expect("present");
        assert_eq!(store.head().expect("head"), Some((4, top.hash(algo()))), "child output: {output}");
        for h in 0..=4 {
            assert_eq!(store.header(h).expect("header"), memory.header(h).expect("header"));
            assert_eq!(store.stored_block(h).expect("block"), memory.stored_block(h).expect("block"));
        }
        assert_eq!(store.state().state_root(), top.state_root);
        check_balances(&*store.state(), 4);
        assert_eq!(store.load_consensus().expect("load"), Some(b"voted at 4".to_vec()));
        let carol = keys::account(&who("carol").account());
        let p = store.prove(&carol).expect("prove");
        assert!(verify_proof(algo(), &top.state_root, &carol, p.value.as_deref(), &p.proof));

        // The tree on disk is whole: the next block builds and commits on top of it.
        transfer_blocks(&store, 1);
        let root5 = store.state().state_root();
        drop(store);
        let store = RocksStore::open(dir.path().join("db"), algo()).expect("reopen");
        assert_eq!(store.head().expect("head").map(|(h, _)| h), Some(5));
        assert_eq!(store.state().state_root(), root5);
        check_balances(&*store.state(), 5);
    }
}
