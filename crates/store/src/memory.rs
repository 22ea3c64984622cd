//! [`ChainStore`] in memory, for tests and the consensus simulation. Clones share one ledger,
//! so a simulated node can "crash" (drop everything else) and restart on the same store.
//!
//! The state is the runtime's own [`MemoryState`]: the roots are the runtime's by construction.
//! A commit copies it only while some state handle still holds the previous version.
use super::{
    check_genesis_header, check_next, event_records, ChainStore, EventFilter, EventRecord, StateHandle, StoreError,
    Tip, TxLocation,
};
use jjj_primitives::{Block, Hash, HashAlgo, Header, Receipt, SignedTransaction};
use jjj_state::{ChangeSet, MemoryState, StateCommitment, StateError, StateProof, StateReader};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[derive(Clone)]
pub struct MemoryStore {
    algo: HashAlgo,
    inner: Arc<RwLock<Ledger>>,
}

struct Ledger {
    tip: Option<Tip>,
    headers: BTreeMap<u64, Header>,
    bodies: BTreeMap<u64, Vec<SignedTransaction>>,
    hashes: HashMap<Hash, u64>,
    certificates: BTreeMap<u64, Vec<u8>>,
    receipts: BTreeMap<u64, Vec<Receipt>>,
    tx_index: HashMap<Hash, TxLocation>,
    /// In chain order (height, transaction, event), as committed.
    events: Vec<EventRecord>,
    state: Arc<MemoryState>,
    /// key → height → value (`None`: removed at that height).
    history: HashMap<Vec<u8>, BTreeMap<u64, Option<Vec<u8>>>>,
    consensus: Option<Vec<u8>>,
    access_log: BTreeMap<u64, Vec<u8>>,
}

impl Ledger {
    /// Applies state changes at `height` after the caller checked their root.
    fn apply_state(&mut self, changes: &ChangeSet, height: u64) -> Result<Hash, StoreError> {
        // `root_after` just walked the same tree, so applying cannot fail half-way in memory.
        let root = Arc::make_mut(&mut self.state).apply(changes)?;
        for (k, v) in changes {
            self.history.entry(k.clone()).or_default().insert(height, v.clone());
        }
        Ok(root)
    }
}

impl MemoryStore {
    /// An empty ledger of a network hashing with `algo`.
    pub fn new(algo: HashAlgo) -> Self {
        let ledger = Ledger {
            tip: None,
            headers: BTreeMap::new(),
            bodies: BTreeMap::new(),
            hashes: HashMap::new(),
            certificates: BTreeMap::new(),
            receipts: BTreeMap::new(),
            tx_index: HashMap::new(),
            events: Vec::new(),
            state: Arc::new(MemoryState::new(algo)),
            history: HashMap::new(),
            consensus: None,
            access_log: BTreeMap::new(),
        };
        MemoryStore { algo, inner: Arc::new(RwLock::new(ledger)) }
    }

    // No code panics while holding the lock, so a poisoned lock still guards sound data.
    fn read(&self) -> RwLockReadGuard<'_, Ledger> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Ledger> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ChainStore for MemoryStore {
    fn hash_algo(&self) -> HashAlgo {
        self.algo
    }

    fn head(&self) -> Result<Option<(u64, Hash)>, StoreError> {
        Ok(self.read().tip.as_ref().map(|t| (t.height, t.hash)))
    }

    fn header(&self, height: u64) -> Result<Option<Header>, StoreError> {
        Ok(self.read().headers.get(&height).cloned())
    }

    fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        let l = self.read();
        Ok(match (l.headers.get(&height), l.bodies.get(&height)) {
            (Some(header), Some(txs)) => Some(Block { header: header.clone(), transactions: txs.clone() }),
            _ => None,
        })
    }

    fn height_of(&self, block_hash: &Hash) -> Result<Option<u64>, StoreError> {
        Ok(self.read().hashes.get(block_hash).copied())
    }

    fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read().certificates.get(&height).cloned())
    }

    fn receipts(&self, height: u64) -> Result<Vec<Receipt>, StoreError> {
        Ok(self.read().receipts.get(&height).cloned().unwrap_or_default())
    }

    fn tx_location(&self, tx_hash: &Hash) -> Result<Option<TxLocation>, StoreError> {
        Ok(self.read().tx_index.get(tx_hash).copied())
    }

    fn events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>, StoreError> {
        let l = self.read();
        let start = l.events.partition_point(|r| r.height < filter.from_height);
        let to = filter.to_height.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        if filter.limit == 0 {
            return Ok(out);
        }
        // Read as RocksStore reads its narrowest index (topic, else contract, else all), so the
        // scan budget is spent the same way in both stores.
        let indexed = |r: &&EventRecord| match (filter.topic, filter.contract) {
            (Some(t), _) => r.event.topics.contains(&t),
            (None, Some(c)) => r.event.contract == c,
            (None, None) => true,
        };
        for (scanned, r) in l.events[start..].iter().take_while(|r| r.height <= to).filter(indexed).enumerate() {
            if scanned == filter.max_scanned {
                return Err(StoreError::ScanLimit { scanned, height: r.height });
            }
            if filter.matches(r) {
                out.push(r.clone());
                if out.len() >= filter.limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn commit_block(
        &self,
        block: &Block,
        certificate: &[u8],
        receipts: &[Receipt],
        changes: &ChangeSet,
    ) -> Result<Hash, StoreError> {
        let mut l = self.write();
        let tip = l.tip.clone().ok_or(StoreError::NotInitialised)?;
        let tx_hashes = check_next(self.algo, &tip, block, receipts)?;
        let header = &block.header;
        let height = header.height;
        let root = l.state.root_after(changes)?;
        if root != header.state_root {
            return Err(StoreError::StateRootMismatch { height, expected: header.state_root, got: root });
        }
        l.apply_state(changes, height)?;
        let hash = header.hash(self.algo);
        l.headers.insert(height, header.clone());
        l.bodies.insert(height, block.transactions.clone());
        l.hashes.insert(hash, height);
        l.certificates.insert(height, certificate.to_vec());
        l.receipts.insert(height, receipts.to_vec());
        for (i, tx_hash) in tx_hashes.iter().enumerate() {
            l.tx_index.insert(*tx_hash, TxLocation { height, index: i as u32 });
        }
        l.events.extend(event_records(height, &tx_hashes, receipts).into_iter().map(|(_, r)| r));
        l.tip = Some(Tip { height, hash, state_root: root, network: tip.network });
        Ok(root)
    }

    fn init_genesis(&self, genesis_header: &Header, changes: &ChangeSet) -> Result<Hash, StoreError> {
        let mut l = self.write();
        if let Some(t) = &l.tip {
            return Err(StoreError::AlreadyInitialised { height: t.height });
        }
        check_genesis_header(genesis_header)?;
        let root = l.state.root_after(changes)?;
        if root != genesis_header.state_root {
            return Err(StoreError::StateRootMismatch { height: 0, expected: genesis_header.state_root, got: root });
        }
        l.apply_state(changes, 0)?;
        let hash = genesis_header.hash(self.algo);
        l.headers.insert(0, genesis_header.clone());
        l.hashes.insert(hash, 0);
        l.tip = Some(Tip { height: 0, hash, state_root: root, network: genesis_header.network.clone() });
        Ok(root)
    }

    fn state(&self) -> Arc<StateHandle> {
        // A snapshot: later commits copy-on-write, so this handle stays whole (root_after too).
        Arc::new(StateHandle::new(self.read().state.clone()))
    }

    fn state_at(&self, height: u64) -> Result<Arc<dyn StateReader>, StoreError> {
        let l = self.read();
        let tip = l.tip.as_ref().ok_or(StoreError::NotInitialised)?;
        if height > tip.height {
            return Err(StoreError::UnknownHeight { height, head: tip.height });
        }
        if height == tip.height {
            return Ok(l.state.clone());
        }
        Ok(Arc::new(HistoricState { ledger: self.inner.clone(), height }))
    }

    fn prove(&self, key: &[u8]) -> Result<StateProof, StoreError> {
        let l = self.read();
        if l.tip.is_none() {
            return Err(StoreError::NotInitialised);
        }
        Ok(l.state.prove(key)?)
    }

    fn prove_at(&self, key: &[u8], height: u64) -> Result<StateProof, StoreError> {
        let l = self.read();
        let tip = l.tip.as_ref().ok_or(StoreError::NotInitialised)?;
        if height > tip.height {
            return Err(StoreError::UnknownHeight { height, head: tip.height });
        }
        if height == tip.height {
            return Ok(l.state.prove(key)?);
        }
        // Tests only: rebuild the state of that height from the history.
        let changes: ChangeSet = l
            .history
            .iter()
            .filter_map(|(k, h)| {
                h.range(..=height).next_back().and_then(|(_, v)| v.clone()).map(|v| (k.clone(), Some(v)))
            })
            .collect();
        let mut state = MemoryState::new(self.algo);
        state.apply(&changes)?;
        Ok(state.prove(key)?)
    }

    fn save_consensus(&self, record: &[u8]) -> Result<(), StoreError> {
        self.write().consensus = Some(record.to_vec());
        Ok(())
    }

    fn load_consensus(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read().consensus.clone())
    }

    fn append_access(&self, seq: u64, entry: &[u8]) -> Result<(), StoreError> {
        self.write().access_log.insert(seq, entry.to_vec());
        Ok(())
    }

    fn access_entries(&self, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        Ok(self.read().access_log.range(from..).take(limit).map(|(k, v)| (*k, v.clone())).collect())
    }

    fn last_access_entry(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        Ok(self.read().access_log.last_key_value().map(|(k, v)| (*k, v.clone())))
    }
}

/// The state as of a past height, read from the history.
struct HistoricState {
    ledger: Arc<RwLock<Ledger>>,
    height: u64,
}

impl StateReader for HistoricState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let l = self.ledger.read().unwrap_or_else(PoisonError::into_inner);
        Ok(l.history.get(key).and_then(|h| h.range(..=self.height).next_back()).and_then(|(_, v)| v.clone()))
    }
}
