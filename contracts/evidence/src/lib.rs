//! Evidence anchoring (存证), as 北京互联网法院's 天平链 does it: the data stays with its owner, the
//! chain keeps its hash, type, owner and time, and everyone can later check that the hash existed
//! at that height.
//!
//! 1. A notary (an account the alliance gave the role `notary`: a court, a notary office, an
//!    arbitration body) registers evidence: the hash of the data, its type and its owner. The
//!    same hash registered twice is refused, naming the first registration.
//! 2. The chain of custody: the owner hands the evidence to another account (a lawyer, a court);
//!    the owner or a notary annotates it (a short note, and optionally the hash of a document).
//!    Every step is a custody entry with who, when and at which height.
//! 3. Verification: `by_hash` says whether and when a hash was registered. Offline, the
//!    registration transaction's proof (`jjj audit receipt TX --out`) shows the registration
//!    event with the hash under a certified block: `jjj audit verify-receipt` checks it with the
//!    genesis and the validator-set history alone.
//!
//! Records are public: a hash says nothing of the data, and a court's record is meant to be seen.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use jjj_sdk::prelude::*;

/// The role that may register evidence. Roles are data: governance grants it like any other.
pub const NOTARY: &str = "notary";
/// Longest evidence type ("合同", "invoice", "photo"…), in bytes.
pub const MAX_KIND_LEN: usize = 64;
/// Longest annotation, in bytes.
pub const MAX_NOTE_LEN: usize = 256;
/// Most custody entries one piece of evidence keeps.
pub const MAX_CUSTODY: u32 = 1_000;
/// Most records returned by one page.
pub const MAX_PAGE: u32 = 200;

/// One piece of evidence, as registered.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: u64,
    /// The hash of the data, computed off chain (SHA-256, SM3…: the registrant's choice).
    pub hash: Hash,
    pub kind: String,
    /// Who holds it now (custody moves it).
    pub owner: AccountId,
    pub registered_by: AccountId,
    /// Block time and height of the registration.
    pub registered_at: u64,
    pub height: u64,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Registered { owner: AccountId },
    Transferred { from: AccountId, to: AccountId },
    Annotated { note: String, document: Option<Hash> },
}

/// One step of the chain of custody.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct CustodyEntry {
    pub by: AccountId,
    pub at: u64,
    pub height: u64,
    pub step: Step,
}

#[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, Clone, PartialEq, Eq)]
pub enum EvidenceEvent {
    Registered {
        #[topic]
        id: u64,
        #[topic]
        hash: Hash,
        #[topic]
        owner: AccountId,
        kind: String,
    },
    Transferred {
        #[topic]
        id: u64,
        #[topic]
        from: AccountId,
        #[topic]
        to: AccountId,
    },
    Annotated {
        #[topic]
        id: u64,
        #[topic]
        by: AccountId,
        note: String,
        document: Option<Hash>,
    },
}

jjj_sdk::storage! {
    static LAST_ID: Item<u64> = b"last_id";
    static RECORDS: Map<u64, Record> = b"records";
    /// Which record holds each hash: duplicates are found here.
    static BY_HASH: Map<Hash, u64> = b"by_hash";
    static CUSTODY: ListMap<u64, CustodyEntry> = b"custody";
    /// Every record an account has held, in the order it came to it.
    static HELD: ListMap<AccountId, u64> = b"held";
}

pub struct Evidence;

fn entry(step: Step) -> CustodyEntry {
    CustodyEntry { by: env::caller(), at: env::block_time(), height: env::block_height(), step }
}

fn record(id: u64) -> Result<Record> {
    RECORDS.get(&id).ok_or_else(|| Error::new(format!("no evidence #{id}")))
}

fn add_custody(id: u64, step: Step) -> Result<()> {
    ensure!(CUSTODY.len(&id) < MAX_CUSTODY, "evidence #{} has {} custody entries, the most it keeps", id, MAX_CUSTODY);
    CUSTODY.push(&id, &entry(step))?;
    Ok(())
}

#[jjj_sdk::contract(events = EvidenceEvent)]
impl Evidence {
    /// Creates the registry. No admin: notaries register, owners hand evidence on.
    #[constructor]
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Result<()> {
        Ok(())
    }

    /// A notary registers the hash of some data as evidence of `kind`, held by `owner`; returns
    /// its id. A hash registered before is refused with the first registration.
    #[message]
    pub fn register(hash: Hash, kind: String, owner: AccountId) -> Result<u64> {
        let caller = env::caller();
        ensure!(
            env::has_role(&caller, NOTARY),
            "{} lacks the alliance's role {}: only a notary registers evidence",
            caller,
            NOTARY
        );
        ensure!(!kind.is_empty() && kind.len() <= MAX_KIND_LEN, "an evidence type has 1 to {} bytes", MAX_KIND_LEN);
        if let Some(first) = BY_HASH.get(&hash).and_then(|id| RECORDS.get(&id)) {
            fail!(
                "duplicate: hash {} is evidence #{} already, registered at height {} by {}",
                hash,
                first.id,
                first.height,
                first.registered_by
            );
        }
        let id = LAST_ID.get_or(0) + 1;
        LAST_ID.set(&id);
        let r = Record {
            id,
            hash,
            kind: kind.clone(),
            owner,
            registered_by: caller,
            registered_at: env::block_time(),
            height: env::block_height(),
        };
        RECORDS.set(&id, &r);
        BY_HASH.set(&hash, &id);
        HELD.push(&owner, &id)?;
        add_custody(id, Step::Registered { owner })?;
        env::emit(&EvidenceEvent::Registered { id, hash, owner, kind });
        Ok(id)
    }

    /// The owner hands evidence `id` to `to`.
    #[message]
    pub fn transfer(id: u64, to: AccountId) -> Result<()> {
        let mut r = record(id)?;
        let caller = env::caller();
        ensure!(r.owner == caller, "only evidence #{}'s owner {} hands it on, not {}", id, r.owner, caller);
        ensure!(to != caller, "evidence #{} is {}'s already", id, to);
        r.owner = to;
        RECORDS.set(&id, &r);
        HELD.push(&to, &id)?;
        add_custody(id, Step::Transferred { from: caller, to })?;
        env::emit(&EvidenceEvent::Transferred { id, from: caller, to });
        Ok(())
    }

    /// The owner or a notary annotates evidence `id`: a short note, and the hash of a document
    /// if there is one (an expert opinion, a court order).
    #[message]
    pub fn annotate(id: u64, note: String, document: Option<Hash>) -> Result<()> {
        let r = record(id)?;
        let caller = env::caller();
        ensure!(
            r.owner == caller || env::has_role(&caller, NOTARY),
            "only evidence #{}'s owner or a notary annotates it, not {}",
            id,
            caller
        );
        ensure!(!note.is_empty() && note.len() <= MAX_NOTE_LEN, "a note has 1 to {} bytes", MAX_NOTE_LEN);
        add_custody(id, Step::Annotated { note: note.clone(), document })?;
        env::emit(&EvidenceEvent::Annotated { id, by: caller, note, document });
        Ok(())
    }

    /// Evidence `id`, if registered.
    #[message(query)]
    pub fn evidence(id: u64) -> Result<Option<Record>> {
        Ok(RECORDS.get(&id))
    }

    /// The registration of `hash`, if any: whether, when (time and height) and by whom.
    #[message(query)]
    pub fn by_hash(hash: Hash) -> Result<Option<Record>> {
        Ok(BY_HASH.get(&hash).and_then(|id| RECORDS.get(&id)))
    }

    /// Evidence `id`'s chain of custody, oldest first: up to `limit` (at most 200) entries from
    /// the `start`-th.
    #[message(query)]
    pub fn custody(id: u64, start: u32, limit: u32) -> Result<Vec<CustodyEntry>> {
        Ok(CUSTODY.page(&id, start, limit.min(MAX_PAGE)))
    }

    /// The evidence `owner` holds now, from the `start`-th it ever held (at most 200 looked at).
    #[message(query)]
    pub fn held_by(owner: AccountId, start: u32, limit: u32) -> Result<Vec<Record>> {
        let mut ids = HELD.page(&owner, start, limit.min(MAX_PAGE));
        // Evidence that came back to its owner is listed once.
        let mut seen = Vec::with_capacity(ids.len());
        ids.retain(|id| {
            !seen.contains(id) && {
                seen.push(*id);
                true
            }
        });
        Ok(ids.iter().filter_map(|id| RECORDS.get(id)).filter(|r| r.owner == owner).collect())
    }

    /// How many pieces of evidence are registered.
    #[message(query)]
    pub fn count() -> Result<u64> {
        Ok(LAST_ID.get_or(0))
    }
}
