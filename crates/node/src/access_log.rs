//! One network's access log on this node, and the read requests it has seen.
//!
//! Every read of protected data this node answers (or refuses), and every signed read request it
//! refuses, becomes an [`AccessEntry`] in the store's `access_log`. Entries are hash-chained
//! (each names the hash of the one before), so removing or changing one breaks every later link;
//! `jjj audit access` walks the chain from the first entry and says where it breaks.
//!
//! Refusals nobody answers for — unsigned reads of protected data, signatures that do not
//! verify — are logged one by one up to [`UNVERIFIED_PER_WINDOW`] per [`UNVERIFIED_WINDOW_MS`];
//! past that they are counted, and the count becomes one entry when the window ends. A client
//! without a key cannot grow the log faster than that; a reader who signed is logged every time.
//!
//! A signed read request is fresh within [`READ_REQUEST_WINDOW_MS`] of this node's clock, and
//! its nonce is remembered for twice that, so it cannot be replayed: neither while it would be
//! fresh nor after (then it is stale). At most [`MAX_REMEMBERED_READS`] are remembered; past
//! that, reads wait (`Busy`) until the oldest expire rather than forgetting a live nonce.
use jjj_primitives::access::{AccessDecision, AccessEntry, AccessRead, ReadRequest};
use jjj_primitives::params::{MAX_REMEMBERED_READS, READ_REQUEST_WINDOW_MS};
use jjj_primitives::{AccountId, Hash, HashAlgo};
use jjj_store::{ChainStore, StoreError};
use parity_scale_codec::{Decode, Encode};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

/// Why a signed read request was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadRefusal {
    /// Too old, too far ahead, or a nonce seen before: the message says which.
    Refused(String),
    /// This node remembers as many nonces as it may: retry shortly.
    Busy,
}

struct Tail {
    next: u64,
    last: Hash,
}

/// Most unverified refusals logged one by one per window.
pub const UNVERIFIED_PER_WINDOW: u64 = 100;
/// The window of [`UNVERIFIED_PER_WINDOW`], ms.
pub const UNVERIFIED_WINDOW_MS: u64 = 10_000;

/// Unverified refusals of the current window.
#[derive(Default)]
struct Unverified {
    started_ms: u64,
    logged: u64,
    /// Refused past the limit: counted, logged as one entry when the window ends.
    counted: u64,
    /// The height of the last one counted (for the summary entry).
    height: u64,
}

/// The nonces of signed reads seen within twice the window, oldest first.
#[derive(Default)]
struct SeenReads {
    keys: HashSet<(AccountId, u64)>,
    /// (when to forget, key), in the order they were seen: expiry only grows along it.
    order: VecDeque<(u64, (AccountId, u64))>,
}

pub struct AccessLog {
    store: Arc<dyn ChainStore>,
    algo: HashAlgo,
    node: AccountId,
    /// Appends are serialised here, so sequence numbers and links never interleave.
    tail: Mutex<Tail>,
    seen: Mutex<SeenReads>,
    unverified: Mutex<Unverified>,
}

impl AccessLog {
    /// Opens the log in `store`, continuing after its last entry.
    pub fn open(store: Arc<dyn ChainStore>, algo: HashAlgo, node: AccountId) -> Result<AccessLog, String> {
        let tail = match store.last_access_entry().map_err(|e| format!("cannot read the access log: {e}"))? {
            None => Tail { next: 0, last: Hash::default() },
            Some((seq, bytes)) => {
                let entry = AccessEntry::decode(&mut &bytes[..])
                    .map_err(|e| format!("the access log's last entry ({seq}) is corrupt: {e}"))?;
                Tail { next: seq + 1, last: entry.hash(algo) }
            }
        };
        Ok(AccessLog {
            store,
            algo,
            node,
            tail: Mutex::new(tail),
            seen: Mutex::default(),
            unverified: Mutex::default(),
        })
    }

    /// Logs one read: a signed reader's always; an unverified one within the window's limit, or
    /// counted (see the module's notes).
    pub fn log(&self, read: AccessRead) -> Result<(), StoreError> {
        if read.signed {
            return self.record(read).map(|_| ());
        }
        let now = read.time_ms;
        self.flush_unverified(now)?;
        let mut w = self.unverified.lock().unwrap_or_else(PoisonError::into_inner);
        if w.logged < UNVERIFIED_PER_WINDOW {
            w.logged += 1;
            drop(w);
            return self.record(read).map(|_| ());
        }
        w.counted += 1;
        w.height = read.height;
        Ok(())
    }

    /// Ends the window of unverified refusals if it is over at `now_ms`, logging how many were
    /// counted past the limit (the node also calls it on its anchoring tick).
    pub fn flush_unverified(&self, now_ms: u64) -> Result<(), StoreError> {
        let mut w = self.unverified.lock().unwrap_or_else(PoisonError::into_inner);
        if now_ms < w.started_ms.saturating_add(UNVERIFIED_WINDOW_MS) {
            return Ok(());
        }
        let (counted, height) = (w.counted, w.height);
        *w = Unverified { started_ms: now_ms, ..Unverified::default() };
        drop(w);
        if counted > 0 {
            self.record(AccessRead {
                time_ms: now_ms,
                height,
                reader: None,
                signed: false,
                contract: AccountId::default(),
                selector: [0; 4],
                decision: AccessDecision::Refused(format!(
                    "{counted} more unsigned or unverifiable reads refused within {} s, counted, not logged one by one",
                    UNVERIFIED_WINDOW_MS / 1000
                )),
            })?;
        }
        Ok(())
    }

    /// Appends one read to the log and returns its entry.
    pub fn record(&self, read: AccessRead) -> Result<AccessEntry, StoreError> {
        let mut tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = AccessEntry { seq: tail.next, prev: tail.last, node: self.node, read };
        self.store.append_access(entry.seq, &entry.encode())?;
        tail.next += 1;
        tail.last = entry.hash(self.algo);
        tracing::debug!(seq = entry.seq, decision = ?entry.read.decision, "access logged");
        Ok(entry)
    }

    /// Entries from `from` on, at most `limit`.
    pub fn entries(&self, from: u64, limit: usize) -> Result<Vec<AccessEntry>, StoreError> {
        self.store
            .access_entries(from, limit)?
            .into_iter()
            .map(|(seq, bytes)| {
                AccessEntry::decode(&mut &bytes[..])
                    .map_err(|e| StoreError::Corrupt { what: format!("access-log entry {seq}"), reason: e.to_string() })
            })
            .collect()
    }

    /// The node keeping the log.
    pub fn node(&self) -> AccountId {
        self.node
    }

    /// How many entries the log holds, and the hash of the last.
    pub fn head(&self) -> (u64, Hash) {
        let tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        (tail.next, tail.last)
    }

    /// Admits a signed read request's time and nonce at `now_ms` (its signature is checked
    /// first, so nobody can use up another reader's nonces).
    pub fn admit_read(&self, request: &ReadRequest, now_ms: u64) -> Result<(), ReadRefusal> {
        let at = request.issued_at_ms;
        if at.saturating_add(READ_REQUEST_WINDOW_MS) < now_ms {
            return Err(ReadRefusal::Refused(format!(
                "the read request is stale: signed {} s ago, at most {} s are accepted (sign it again)",
                (now_ms - at) / 1000,
                READ_REQUEST_WINDOW_MS / 1000
            )));
        }
        if at > now_ms.saturating_add(READ_REQUEST_WINDOW_MS) {
            return Err(ReadRefusal::Refused(format!(
                "the read request is dated {} s ahead of this node's clock (at most {} s): check the clock",
                (at - now_ms) / 1000,
                READ_REQUEST_WINDOW_MS / 1000
            )));
        }
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        while seen.order.front().is_some_and(|(forget_at, _)| *forget_at <= now_ms) {
            if let Some((_, key)) = seen.order.pop_front() {
                seen.keys.remove(&key);
            }
        }
        let key = (request.reader, request.nonce);
        if seen.keys.contains(&key) {
            return Err(ReadRefusal::Refused(format!(
                "read request nonce {} of {} was used already: a read request is good for one read",
                request.nonce, request.reader
            )));
        }
        if seen.keys.len() >= MAX_REMEMBERED_READS {
            return Err(ReadRefusal::Busy);
        }
        seen.keys.insert(key);
        // Past twice the window the request would be refused as stale anyway.
        let forget_at = now_ms.max(seen.order.back().map_or(0, |(t, _)| *t)) + 2 * READ_REQUEST_WINDOW_MS;
        seen.order.push_back((forget_at, key));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jjj_primitives::NetworkId;
    use jjj_store::MemoryStore;

    fn log() -> AccessLog {
        let store: Arc<dyn ChainStore> = Arc::new(MemoryStore::new(HashAlgo::Blake2b256));
        AccessLog::open(store, HashAlgo::Blake2b256, AccountId([9; 32])).expect("open")
    }

    fn request(reader: u8, nonce: u64, at: u64) -> ReadRequest {
        ReadRequest {
            network: NetworkId::new("jj").expect("id"),
            reader: AccountId([reader; 32]),
            contract: AccountId([1; 32]),
            input_hash: Hash::default(),
            issued_at_ms: at,
            nonce,
        }
    }

    fn record(decision: AccessDecision) -> AccessRead {
        AccessRead {
            time_ms: 5,
            height: 3,
            reader: Some(AccountId([2; 32])),
            signed: true,
            contract: AccountId([1; 32]),
            selector: [1, 2, 3, 4],
            decision,
        }
    }

    #[test]
    fn entries_chain_and_the_log_continues_after_a_reopen() {
        let store: Arc<dyn ChainStore> = Arc::new(MemoryStore::new(HashAlgo::Blake2b256));
        let log = AccessLog::open(store.clone(), HashAlgo::Blake2b256, AccountId([9; 32])).expect("open");
        let a = log.record(record(AccessDecision::Allowed)).expect("a");
        let b = log.record(record(AccessDecision::Denied("not yours".into()))).expect("b");
        assert_eq!((a.seq, a.prev), (0, Hash::default()));
        assert_eq!((b.seq, b.prev), (1, a.hash(HashAlgo::Blake2b256)));
        let reopened = AccessLog::open(store, HashAlgo::Blake2b256, AccountId([9; 32])).expect("reopen");
        assert_eq!(reopened.head(), (2, b.hash(HashAlgo::Blake2b256)));
        let c = reopened.record(record(AccessDecision::Allowed)).expect("c");
        assert_eq!((c.seq, c.prev), (2, b.hash(HashAlgo::Blake2b256)));
        assert_eq!(reopened.entries(1, 10).expect("entries"), vec![b, c]);
    }

    /// An unsigned flood is logged one by one up to the limit, then counted: one summary entry
    /// when the window ends. A signed reader's reads are never counted away.
    #[test]
    fn unverified_refusals_are_bounded_per_window() {
        let log = log();
        let t0 = 1_000_000;
        let unsigned =
            |t: u64| AccessRead { time_ms: t, signed: false, ..record(AccessDecision::Refused("unsigned".into())) };
        for i in 0..UNVERIFIED_PER_WINDOW + 50 {
            log.log(unsigned(t0 + i)).expect("log");
        }
        log.log(AccessRead { time_ms: t0 + 200, ..record(AccessDecision::Allowed) }).expect("signed");
        assert_eq!(log.head().0, UNVERIFIED_PER_WINDOW + 1, "the limit, then the signed read");
        log.flush_unverified(t0 + UNVERIFIED_WINDOW_MS - 1).expect("not yet");
        assert_eq!(log.head().0, UNVERIFIED_PER_WINDOW + 1);
        log.log(unsigned(t0 + UNVERIFIED_WINDOW_MS)).expect("next window");
        let entries = log.entries(UNVERIFIED_PER_WINDOW + 1, 10).expect("entries");
        assert_eq!(entries.len(), 2, "the summary, then the new window's first");
        assert!(
            matches!(&entries[0].read.decision, AccessDecision::Refused(m) if m.starts_with("50 more")),
            "{entries:?}"
        );
        assert_eq!(entries[1].read.time_ms, t0 + UNVERIFIED_WINDOW_MS);
    }

    #[test]
    fn a_read_request_is_fresh_once() {
        let log = log();
        let now = 1_000_000;
        assert_eq!(log.admit_read(&request(2, 7, now - 1_000), now), Ok(()));
        assert!(
            matches!(log.admit_read(&request(2, 7, now - 1_000), now), Err(ReadRefusal::Refused(m)) if m.contains("used already"))
        );
        // Another reader's nonce 7 is its own.
        assert_eq!(log.admit_read(&request(3, 7, now), now), Ok(()));
        assert!(
            matches!(log.admit_read(&request(2, 8, now - READ_REQUEST_WINDOW_MS - 1), now), Err(ReadRefusal::Refused(m)) if m.contains("stale"))
        );
        assert!(
            matches!(log.admit_read(&request(2, 9, now + READ_REQUEST_WINDOW_MS + 1), now), Err(ReadRefusal::Refused(m)) if m.contains("ahead"))
        );
        // Forgotten only once it could no longer be fresh.
        let later = now + 2 * READ_REQUEST_WINDOW_MS;
        assert!(
            matches!(log.admit_read(&request(2, 7, now - 1_000), later), Err(ReadRefusal::Refused(m)) if m.contains("stale"))
        );
    }

    #[test]
    fn remembered_nonces_are_bounded_and_expire() {
        let log = log();
        let now = 1_000_000;
        for n in 0..MAX_REMEMBERED_READS as u64 {
            assert_eq!(log.admit_read(&request(2, n, now), now), Ok(()));
        }
        assert_eq!(log.admit_read(&request(2, u64::MAX, now), now), Err(ReadRefusal::Busy));
        let later = now + 2 * READ_REQUEST_WINDOW_MS;
        assert_eq!(log.admit_read(&request(2, u64::MAX, later), later), Ok(()));
    }
}
