//! The mempool of one network: bounded, refuses with a clear reason what can never be included,
//! orders each sender's transactions by nonce, and hands the proposer batches taken round-robin
//! across senders (so one busy account cannot starve the others).
use jjj_config::{DEFAULT_MEMPOOL_MAX_BYTES, DEFAULT_MEMPOOL_SENDER_MAX_BYTES};
use jjj_executive::{Runtime, TxError};
use jjj_primitives::params::MAX_TX_SIZE;
use jjj_primitives::{AccountId, Hash, NetworkId, SignedTransaction};
use jjj_rpc_api::ErrorCode;
use jjj_state::{load_account, Overlay, StateReader};
use parity_scale_codec::Encode;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    #[error("{0}")]
    Invalid(TxError),
    #[error("transaction {0} is already pending")]
    Duplicate(Hash),
    #[error("nonce {got} is already used: the sender's next nonce is {expected}")]
    StaleNonce { expected: u64, got: u64 },
    #[error("nonce {got} is already pending for this sender with another transaction")]
    NonceTaken { got: u64 },
    #[error("nonce {got} is too far ahead of the sender's next nonce {expected} (at most {window} ahead)")]
    NonceTooFar { expected: u64, got: u64, window: u64 },
    #[error("unknown sender {0}: only accounts a member registered on this network may send transactions")]
    UnknownSender(AccountId),
    #[error("the sender has {0} transactions pending, the most allowed")]
    SenderFull(usize),
    #[error("the sender has {0} bytes of transactions pending, the most allowed")]
    SenderBytesFull(usize),
    #[error("the mempool is full ({0} transactions) and no sender holds more of it than this one would")]
    Full(usize),
    #[error("the mempool is full ({0} bytes) and no sender holds more of it than this one would")]
    FullBytes(usize),
    #[error("state: {0}")]
    State(String),
}

impl MempoolError {
    /// The RPC error code of this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            MempoolError::Invalid(TxError::BadSignature(_)) => ErrorCode::BadSignature,
            MempoolError::Invalid(TxError::WrongNetwork { .. }) => ErrorCode::WrongNetwork,
            MempoolError::Invalid(TxError::BadNonce { .. })
            | MempoolError::StaleNonce { .. }
            | MempoolError::NonceTaken { .. }
            | MempoolError::NonceTooFar { .. } => ErrorCode::BadNonce,
            MempoolError::Invalid(TxError::TooLarge { .. }) => ErrorCode::TooLarge,
            MempoolError::Invalid(TxError::GasLimitTooHigh { .. } | TxError::GasLimitTooLow { .. }) => {
                ErrorCode::GasLimitOutOfRange
            }
            MempoolError::Duplicate(_) => ErrorCode::DuplicateTransaction,
            MempoolError::UnknownSender(_) | MempoolError::Invalid(TxError::NotRegistered { .. }) => {
                ErrorCode::UnknownSender
            }
            MempoolError::Invalid(TxError::Blocked(_)) => ErrorCode::AccountBlocked,
            MempoolError::SenderFull(_)
            | MempoolError::SenderBytesFull(_)
            | MempoolError::Full(_)
            | MempoolError::FullBytes(_) => ErrorCode::MempoolFull,
            MempoolError::Invalid(_) | MempoolError::State(_) => ErrorCode::TxRefused,
        }
    }
}

pub struct Mempool {
    network: NetworkId,
    capacity: usize,
    per_sender: usize,
    /// Most encoded bytes pending in all; the count alone would let 266 KB transactions take
    /// tens of GB.
    max_bytes: usize,
    /// Most encoded bytes one sender may have pending.
    max_sender_bytes: usize,
    /// Each sender's pending transactions by nonce, with their hashes (computed once, at admission).
    senders: BTreeMap<AccountId, BTreeMap<u64, (Hash, SignedTransaction)>>,
    by_hash: HashMap<Hash, (AccountId, u64)>,
    /// Encoded bytes pending, in all and per sender; `by_weight` orders senders by their bytes,
    /// so the heaviest is found in O(log n) when the pool must make room.
    bytes: usize,
    sender_bytes: HashMap<AccountId, usize>,
    by_weight: BTreeSet<(usize, AccountId)>,
    /// Where the next batch starts its round-robin, so senders take turns going first.
    cursor: Option<AccountId>,
}

impl Mempool {
    pub fn new(network: NetworkId, capacity: usize, per_sender: usize) -> Self {
        Mempool {
            network,
            capacity,
            per_sender: per_sender.max(1),
            max_bytes: DEFAULT_MEMPOOL_MAX_BYTES,
            max_sender_bytes: DEFAULT_MEMPOOL_SENDER_MAX_BYTES,
            senders: BTreeMap::new(),
            by_hash: HashMap::new(),
            bytes: 0,
            sender_bytes: HashMap::new(),
            by_weight: BTreeSet::new(),
            cursor: None,
        }
    }

    /// Sets the byte limits (in all, per sender); a limit below one transaction's size keeps
    /// such transactions out.
    pub fn set_byte_limits(&mut self, max_bytes: usize, max_sender_bytes: usize) {
        self.max_bytes = max_bytes;
        self.max_sender_bytes = max_sender_bytes.min(max_bytes);
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The pending transaction with this hash.
    pub fn get(&self, hash: &Hash) -> Option<&SignedTransaction> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        self.senders.get(sender)?.get(nonce).map(|(_, stx)| stx)
    }

    /// The cheap refusals, under the lock: a transaction already pending costs a hash lookup.
    fn precheck(&self, hash: &Hash, stx: &SignedTransaction) -> Result<(), MempoolError> {
        if self.by_hash.contains_key(hash) {
            return Err(MempoolError::Duplicate(*hash));
        }
        let size = stx.encoded_size();
        if size > MAX_TX_SIZE {
            return Err(MempoolError::Invalid(TxError::TooLarge { size }));
        }
        Ok(())
    }

    /// Everything about a transaction that needs state or signatures but not the pool: who
    /// signed (cheap) and the nonce against the state, then signature verification, the
    /// expensive part, last. Returns the sender's next nonce. Runs without the mempool lock.
    fn check(
        runtime: &Runtime,
        network: &NetworkId,
        window: u64,
        state: Arc<dyn StateReader>,
        stx: &SignedTransaction,
        hash: &Hash,
    ) -> Result<u64, MempoolError> {
        let overlay = Overlay::new(state);
        let sender = stx.tx.sender;
        let st = |e: jjj_state::StateError| MempoolError::State(e.to_string());
        let known = runtime.sender_known(&overlay, &stx.tx).map_err(|e| MempoolError::State(e.to_string()))?;
        if !known {
            // Signatures first, so a stranger learns nothing before proving a key.
            return match runtime.check_structure(&overlay, network, stx) {
                Err(e @ (TxError::BadSignature(_) | TxError::WrongNetwork { .. })) => Err(MempoolError::Invalid(e)),
                Ok(_) => match runtime.verify_hashed_signatures(stx, hash) {
                    Err(e) => Err(MempoolError::Invalid(e)),
                    Ok(()) => Err(MempoolError::UnknownSender(sender)),
                },
                Err(_) => Err(MempoolError::UnknownSender(sender)),
            };
        }
        runtime.check_structure(&overlay, network, stx).map_err(MempoolError::Invalid)?;
        let expected = load_account(&overlay, &sender).map_err(st)?.nonce;
        let got = stx.tx.nonce;
        if got < expected {
            return Err(MempoolError::StaleNonce { expected, got });
        }
        if got >= expected.saturating_add(window) {
            return Err(MempoolError::NonceTooFar { expected, got, window });
        }
        runtime.verify_hashed_signatures(stx, hash).map_err(MempoolError::Invalid)?;
        Ok(expected)
    }

    /// [`admit`] without a lock around the pool (tests).
    #[cfg(test)]
    fn insert(
        &mut self,
        runtime: &Runtime,
        state: Arc<dyn StateReader>,
        stx: SignedTransaction,
    ) -> Result<Hash, MempoolError> {
        let hash = stx.hash(runtime.hash_algo());
        self.precheck(&hash, &stx)?;
        Mempool::check(runtime, &self.network, self.per_sender as u64, state, &stx, &hash)?;
        self.insert_checked(hash, stx)
    }

    /// The pool's own rules, under the lock, for a transaction that passed [`Mempool::check`].
    fn insert_checked(&mut self, hash: Hash, stx: SignedTransaction) -> Result<Hash, MempoolError> {
        // Checked again: another thread may have admitted the same transaction meanwhile.
        if self.by_hash.contains_key(&hash) {
            return Err(MempoolError::Duplicate(hash));
        }
        let sender = stx.tx.sender;
        let queue = self.senders.get(&sender);
        if queue.is_some_and(|q| q.contains_key(&stx.tx.nonce)) {
            return Err(MempoolError::NonceTaken { got: stx.tx.nonce });
        }
        if queue.map_or(0, |q| q.len()) >= self.per_sender {
            return Err(MempoolError::SenderFull(self.per_sender));
        }
        let size = stx.encoded_size();
        let held = self.sender_bytes.get(&sender).copied().unwrap_or(0);
        if held + size > self.max_sender_bytes {
            return Err(MempoolError::SenderBytesFull(self.max_sender_bytes));
        }
        self.make_room(&sender, held + size, size)?;
        self.by_hash.insert(hash, (sender, stx.tx.nonce));
        self.senders.entry(sender).or_default().insert(stx.tx.nonce, (hash, stx));
        self.bytes += size;
        self.reweigh(sender, held, held + size);
        Ok(hash)
    }

    /// Frees room for `size` more bytes and one more transaction, when the pool is full, by
    /// evicting the highest nonces of the senders holding the most bytes — only of senders
    /// holding more than the newcomer's sender would (`weight`), so a sender can never push
    /// out someone with a smaller share, and whoever holds the most waits.
    fn make_room(&mut self, sender: &AccountId, weight: usize, size: usize) -> Result<(), MempoolError> {
        loop {
            let over_count = self.len() >= self.capacity;
            let over_bytes = self.bytes + size > self.max_bytes;
            if !over_count && !over_bytes {
                return Ok(());
            }
            let refusal =
                if over_bytes { MempoolError::FullBytes(self.max_bytes) } else { MempoolError::Full(self.capacity) };
            let Some(&(heaviest, victim)) = self.by_weight.last() else { return Err(refusal) };
            if victim == *sender || heaviest <= weight {
                return Err(refusal);
            }
            let Some(nonce) = self.senders.get(&victim).and_then(|q| q.keys().next_back().copied()) else {
                return Err(refusal);
            };
            tracing::debug!(network = %self.network, %victim, nonce, "mempool full: evicted the heaviest sender's highest nonce");
            self.remove(&victim, nonce);
        }
    }

    /// Removes one pending transaction, keeping every index and byte count in step.
    fn remove(&mut self, sender: &AccountId, nonce: u64) -> Option<SignedTransaction> {
        let queue = self.senders.get_mut(sender)?;
        let (hash, tx) = queue.remove(&nonce)?;
        if queue.is_empty() {
            self.senders.remove(sender);
        }
        self.by_hash.remove(&hash);
        let size = tx.encoded_size();
        self.bytes = self.bytes.saturating_sub(size);
        let held = self.sender_bytes.get(sender).copied().unwrap_or(0);
        self.reweigh(*sender, held, held.saturating_sub(size));
        Some(tx)
    }

    fn reweigh(&mut self, sender: AccountId, old: usize, new: usize) {
        self.by_weight.remove(&(old, sender));
        if new == 0 {
            self.sender_bytes.remove(&sender);
        } else {
            self.sender_bytes.insert(sender, new);
            self.by_weight.insert((new, sender));
        }
    }

    /// A batch for the next block: for each sender, consecutive nonces from its next nonce,
    /// senders taking turns, within the count and byte limits.
    pub fn batch(
        &mut self,
        max_txs: usize,
        max_bytes: usize,
        next_nonce: impl Fn(&AccountId) -> u64,
    ) -> Vec<SignedTransaction> {
        let mut runs: Vec<(AccountId, Vec<&SignedTransaction>)> = Vec::new();
        let start = self.cursor;
        let ordered =
            self.senders.range(start.unwrap_or_default()..).chain(self.senders.range(..start.unwrap_or_default()));
        for (sender, queue) in ordered {
            let mut n = next_nonce(sender);
            let mut run = Vec::new();
            while let Some((_, tx)) = queue.get(&n) {
                run.push(tx);
                n += 1;
            }
            if !run.is_empty() {
                runs.push((*sender, run));
            }
        }
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut depth = 0usize;
        'fill: loop {
            let mut any = false;
            for (_, run) in &runs {
                if let Some(tx) = run.get(depth) {
                    any = true;
                    let size = tx.encoded_size();
                    if out.len() >= max_txs || bytes + size > max_bytes {
                        break 'fill;
                    }
                    bytes += size;
                    out.push((*tx).clone());
                }
            }
            if !any {
                break;
            }
            depth += 1;
        }
        // Next time, start after the first sender served this time.
        self.cursor = runs.get(1).map(|(s, _)| *s);
        out
    }

    /// Whether a block could take anything now: some sender's next nonce is pending. A pool
    /// holding only transactions behind a nonce gap has nothing to propose.
    pub fn has_runnable(&self, next_nonce: impl Fn(&AccountId) -> u64) -> bool {
        self.senders.iter().any(|(sender, q)| q.contains_key(&next_nonce(sender)))
    }

    /// Drops what a finalised block included, and every transaction whose nonce is now used:
    /// an included transaction's nonce is below its sender's next, so dropping every used nonce
    /// of the block's senders drops it too (and any other transaction with the same nonce).
    pub fn prune(&mut self, included: &[SignedTransaction], next_nonce: impl Fn(&AccountId) -> u64) {
        let mut touched: Vec<AccountId> = included.iter().map(|stx| stx.tx.sender).collect();
        touched.sort();
        touched.dedup();
        for sender in touched {
            let next = next_nonce(&sender);
            let stale: Vec<u64> =
                self.senders.get(&sender).map(|q| q.range(..next).map(|(n, _)| *n).collect()).unwrap_or_default();
            for n in stale {
                self.remove(&sender, n);
            }
        }
    }

    /// Every pending transaction's hash (for RPC and tests).
    pub fn hashes(&self) -> Vec<Hash> {
        self.by_hash.keys().copied().collect()
    }

    /// Encoded bytes of every pending transaction.
    pub fn encoded_bytes(&self) -> usize {
        self.bytes
    }
}

/// Admits a transaction into `pool` after every check that does not need execution. The lock
/// is held only for the cheap parts: a duplicate costs a hash lookup, and signatures are
/// verified with the lock released, so one expensive transaction never stalls the others.
pub fn admit(
    pool: &Mutex<Mempool>,
    runtime: &Runtime,
    state: Arc<dyn StateReader>,
    stx: SignedTransaction,
) -> Result<Hash, MempoolError> {
    let hash = stx.hash(runtime.hash_algo());
    admit_hashed(pool, runtime, state, stx, hash)
}

/// [`admit`] of a transaction whose hash (`stx.hash(algo)`) the caller already has.
pub fn admit_hashed(
    pool: &Mutex<Mempool>,
    runtime: &Runtime,
    state: Arc<dyn StateReader>,
    stx: SignedTransaction,
    hash: Hash,
) -> Result<Hash, MempoolError> {
    let (network, window) = {
        let p = lock(pool)?;
        p.precheck(&hash, &stx)?;
        (p.network.clone(), p.per_sender as u64)
    };
    Mempool::check(runtime, &network, window, state, &stx, &hash)?;
    lock(pool)?.insert_checked(hash, stx)
}

fn lock(pool: &Mutex<Mempool>) -> Result<std::sync::MutexGuard<'_, Mempool>, MempoolError> {
    pool.lock().map_err(|_| MempoolError::State("mempool lock poisoned".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jjj_crypto::Keypair;
    use jjj_executive::genesis_changes;
    use jjj_primitives::{Call, Transaction};
    use jjj_state::keys;
    use jjj_state::MemoryState;

    // The suite the tests run with (`JJJ_TEST_SUITE`).
    use jjj_testkit::{test_hash_algo as algo, test_key as key, test_suite as suite};

    fn setup() -> (Runtime, Arc<MemoryState>, Keypair, Keypair, NetworkId) {
        let a = key("a");
        let b = key("b");
        let mut s = MemoryState::new(algo());
        s.apply(&genesis_changes(&[(a.account(), 1_000), (b.account(), 1_000)])).expect("genesis");
        (Runtime::new().expect("runtime").with_suite(suite()), Arc::new(s), a, b, NetworkId::new("jj").expect("id"))
    }

    fn tx(k: &Keypair, net: &NetworkId, nonce: u64) -> SignedTransaction {
        k.sign_tx(Transaction {
            network: net.clone(),
            sender: k.account(),
            nonce,
            gas_limit: 100_000,
            call: Call::Transfer { to: AccountId([1; 32]), amount: 1 },
        })
    }

    #[test]
    fn refuses_with_clear_reasons() {
        let (rt, s, a, _, net) = setup();
        let mut m = Mempool::new(net.clone(), 10, 3);
        let ok = tx(&a, &net, 0);
        m.insert(&rt, s.clone(), ok.clone()).expect("admit");
        assert_eq!(m.insert(&rt, s.clone(), ok.clone()), Err(MempoolError::Duplicate(ok.hash(algo()))));
        let mut bad = tx(&a, &net, 1);
        bad.signatures[0].signature[3] ^= 1;
        assert!(matches!(m.insert(&rt, s.clone(), bad), Err(MempoolError::Invalid(TxError::BadSignature(_)))));
        let other = NetworkId::new("other").expect("id");
        assert!(matches!(
            m.insert(&rt, s.clone(), tx(&a, &other, 1)),
            Err(MempoolError::Invalid(TxError::WrongNetwork { .. }))
        ));
        let stranger = key("stranger");
        assert!(matches!(m.insert(&rt, s.clone(), tx(&stranger, &net, 0)), Err(MempoolError::UnknownSender(_))));
        assert!(matches!(m.insert(&rt, s.clone(), tx(&a, &net, 9)), Err(MempoolError::NonceTooFar { .. })));
        let mut twin = tx(&a, &net, 0);
        twin.tx.gas_limit += 1;
        let twin = a.sign_tx(twin.tx);
        assert_eq!(m.insert(&rt, s.clone(), twin), Err(MempoolError::NonceTaken { got: 0 }));
        m.insert(&rt, s.clone(), tx(&a, &net, 1)).expect("future nonce admitted");
        m.insert(&rt, s.clone(), tx(&a, &net, 2)).expect("future nonce admitted");
        assert_eq!(
            m.insert(&rt, s.clone(), tx(&a, &net, 3)),
            Err(MempoolError::NonceTooFar { expected: 0, got: 3, window: 3 })
        );
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn batches_follow_nonces_and_take_turns() {
        let (rt, s, a, b, net) = setup();
        let mut m = Mempool::new(net.clone(), 100, 10);
        for n in [2, 0, 1] {
            m.insert(&rt, s.clone(), tx(&a, &net, n)).expect("a");
        }
        m.insert(&rt, s.clone(), tx(&b, &net, 1)).expect("b future");
        let batch = m.batch(10, usize::MAX, |_| 0);
        let nonces: Vec<(bool, u64)> = batch.iter().map(|t| (t.tx.sender == a.account(), t.tx.nonce)).collect();
        assert_eq!(nonces, vec![(true, 0), (true, 1), (true, 2)], "b's nonce 1 waits for its nonce 0");
        m.insert(&rt, s.clone(), tx(&b, &net, 0)).expect("b");
        let batch = m.batch(3, usize::MAX, |_| 0);
        assert_eq!(batch.len(), 3);
        let from_b = batch.iter().filter(|t| t.tx.sender == b.account()).count();
        assert!(from_b >= 1, "senders take turns");
        // As if the batch were committed: each sender's next nonce is how many it had in it.
        let committed = |who: &AccountId| batch.iter().filter(|t| t.tx.sender == *who).count() as u64;
        m.prune(&batch, committed);
        assert_eq!(m.len(), 2, "the two transactions left out of the batch remain");
        assert!(batch.iter().all(|t| !m.contains(&t.hash(algo()))));
    }

    #[test]
    fn cheap_refusals_verify_no_signature() {
        let (rt, s, a, b, net) = setup();
        let m = Mutex::new(Mempool::new(net.clone(), 10, 3));
        let ok = tx(&a, &net, 0);
        admit(&m, &rt, s.clone(), ok.clone()).expect("admit");
        let verified = Runtime::signatures_verified_on_this_thread;
        let before = verified();
        assert_eq!(admit(&m, &rt, s.clone(), ok.clone()), Err(MempoolError::Duplicate(ok.hash(algo()))));
        assert_eq!(verified(), before, "a duplicate costs a hash lookup");
        // 2,700 valid-looking signatures on a key account's transaction.
        let mut many = tx(&a, &net, 1);
        many.tx.gas_limit = 20_000_000;
        let sig = a.sign(&many.tx.signing_payload());
        many.signatures = vec![sig; 2_700];
        let err = admit(&m, &rt, s.clone(), many).expect_err("refused");
        assert!(err.to_string().contains("no account takes more than"), "{err}");
        let mut stranger_signed = tx(&a, &net, 1);
        stranger_signed.signatures = vec![b.sign(&stranger_signed.tx.signing_payload())];
        let err = admit(&m, &rt, s.clone(), stranger_signed).expect_err("refused");
        // Refused by the registration's key (the account's key since genesis), before the
        // structural check would name it.
        assert!(err.to_string().contains("is signed for by key"), "{err}");
        assert_eq!(verified(), before, "refused on who signed, before verifying");
        // A nonce already used on chain (a replay of an included transaction).
        let mut st = (*s).clone();
        st.apply(
            &[(keys::account(&b.account()), Some(jjj_state::Account { nonce: 5, balance: 1_000 }.encode()))]
                .into_iter()
                .collect(),
        )
        .expect("bump");
        let st = Arc::new(st);
        assert_eq!(admit(&m, &rt, st.clone(), tx(&b, &net, 4)), Err(MempoolError::StaleNonce { expected: 5, got: 4 }));
        assert!(matches!(admit(&m, &rt, st.clone(), tx(&b, &net, 9)), Err(MempoolError::NonceTooFar { .. })));
        assert_eq!(verified(), before, "nonce refusals come before verification");
        admit(&m, &rt, st, tx(&b, &net, 5)).expect("admit");
        assert_eq!(verified(), before + 1);
    }

    /// A transaction of `code` bytes of payload (admission does not execute it).
    fn sized(k: &Keypair, net: &NetworkId, nonce: u64, code: usize) -> SignedTransaction {
        k.sign_tx(Transaction {
            network: net.clone(),
            sender: k.account(),
            nonce,
            gas_limit: 2_000_000,
            call: Call::UploadCode { code: vec![0; code] },
        })
    }

    #[test]
    fn a_sender_cannot_fill_the_pool_alone() {
        let (rt, s, a, b, net) = setup();
        let size = sized(&a, &net, 0, 1_000).encoded_size();
        let mut m = Mempool::new(net.clone(), 100, 100);
        m.set_byte_limits(6 * size, 4 * size);
        for n in 0..4 {
            m.insert(&rt, s.clone(), sized(&a, &net, n, 1_000)).expect("within the sender's bytes");
        }
        let err = m.insert(&rt, s.clone(), sized(&a, &net, 4, 1_000)).expect_err("over the sender's bytes");
        assert_eq!(err, MempoolError::SenderBytesFull(4 * size));
        assert_eq!(err.code(), ErrorCode::MempoolFull);
        assert!(err.to_string().contains("bytes"), "says which limit: {err}");
        assert_eq!(m.encoded_bytes(), 4 * size);
        m.insert(&rt, s.clone(), sized(&b, &net, 0, 1_000)).expect("another sender still gets in");
        assert_eq!(m.encoded_bytes(), 5 * size);
    }

    #[test]
    fn a_full_pool_evicts_the_heaviest_senders_highest_nonce() {
        let (rt, s, a, b, net) = setup();
        let c = key("c");
        let mut st = (*s).clone();
        st.apply(&genesis_changes(&[(c.account(), 1_000)])).expect("c");
        let s = Arc::new(st);
        let size = sized(&a, &net, 0, 1_000).encoded_size();
        let mut m = Mempool::new(net.clone(), 100, 100);
        m.set_byte_limits(6 * size, 4 * size);
        for n in 0..4 {
            m.insert(&rt, s.clone(), sized(&a, &net, n, 1_000)).expect("a");
        }
        for n in 0..2 {
            m.insert(&rt, s.clone(), sized(&b, &net, n, 1_000)).expect("b");
        }
        assert_eq!(m.encoded_bytes(), 6 * size, "full");
        let newcomer = sized(&c, &net, 0, 1_000);
        m.insert(&rt, s.clone(), newcomer.clone()).expect("c displaces the heaviest sender");
        assert!(m.contains(&newcomer.hash(algo())));
        assert!(!m.contains(&sized(&a, &net, 3, 1_000).hash(algo())), "a's highest nonce went");
        assert!(m.contains(&sized(&a, &net, 2, 1_000).hash(algo())), "a keeps a run without gaps");
        assert_eq!(m.encoded_bytes(), 6 * size, "the byte limit holds");
        // a and b now hold 3 and 2: b's third would make it as heavy as a, so it must wait.
        let err = m.insert(&rt, s.clone(), sized(&b, &net, 2, 1_000)).expect_err("no heavier sender to evict");
        assert_eq!(err, MempoolError::FullBytes(6 * size));
        // The count limit evicts the same way.
        let mut m = Mempool::new(net.clone(), 3, 100);
        for n in 0..3 {
            m.insert(&rt, s.clone(), tx(&a, &net, n)).expect("a");
        }
        m.insert(&rt, s.clone(), tx(&b, &net, 0)).expect("b displaces a's highest nonce");
        assert!(!m.contains(&tx(&a, &net, 2).hash(algo())));
        assert_eq!(m.len(), 3);
        m.insert(&rt, s.clone(), tx(&c, &net, 0)).expect("a holds 2, c would hold 1");
        assert!(!m.contains(&tx(&a, &net, 1).hash(algo())));
        assert_eq!(m.insert(&rt, s.clone(), tx(&b, &net, 1)), Err(MempoolError::Full(3)), "b would hold the most");
    }
}
