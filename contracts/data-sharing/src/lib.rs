//! Data-sharing platform (数据共享平台): member organisations of the three regions publish the
//! datasets they hold, others ask to use one for a stated purpose, the owner decides, and every
//! grant, refusal, use and revocation is on the ledger for auditors.
//!
//! The data stays off chain, with its owner: an entry holds the hash of the content and where to
//! fetch it. Whoever downloads the data checks it against `content_hash` (`verify_content`), and
//! the owner's server checks `may_use(request)` before it serves anyone.
//!
//! Life of a request:
//! 1. `publish` (any account of a member organisation; its region is recorded): title, schema,
//!    content hash, location, price in fen (0: free). `unpublish` stops new requests.
//! 2. `request_access` by another account, with a purpose, attaching exactly the price: the fee
//!    waits in this contract.
//! 3. The owner `grant`s (at most N uses, until a time; the fee goes to the owner) or `refuse`s
//!    with a reason (the fee goes back). The requester may `withdraw` while it is pending (fee
//!    back).
//! 4. Each use of granted data is recorded by the user with `record_use` (what for), counted
//!    against the grant: the access log. The owner may `revoke` a grant at any time; the fee is
//!    not returned (it bought the uses made so far).
//!
//! An owner may be a multisig account, so that several organisations decide together.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use jjj_sdk::prelude::*;

/// Longest title, schema, location, purpose or reason, in bytes (UTF-8).
pub const MAX_TEXT_LEN: usize = 512;
/// Most uses one grant may allow.
pub const MAX_USES: u32 = 1_000_000;
/// Most ids returned by one page query.
pub const MAX_PAGE: u32 = 500;

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pub id: u64,
    pub owner: AccountId,
    /// The owner's region when it published (`jjj_sdk::regions`: 0 京, 1 津, 2 冀).
    pub region: u8,
    pub title: String,
    /// What the data holds (field names and types, a standard's name): free text.
    pub schema: String,
    /// Hash of the content: what a downloader checks the data against.
    pub content_hash: Hash,
    /// Where the owner serves it (a URL, a data-room reference).
    pub location: String,
    /// Fen per request (0: free).
    pub price: u64,
    pub published_at: u64,
    /// No new requests once unpublished; existing grants stand.
    pub published: bool,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub enum RequestState {
    /// Waiting for the owner; the fee is held here.
    Pending,
    Granted {
        uses_left: u32,
        expires_at: u64,
        at: u64,
    },
    Refused {
        reason: String,
        at: u64,
    },
    /// Withdrawn by the requester before a decision; the fee went back.
    Withdrawn {
        at: u64,
    },
    /// Revoked by the owner after a grant.
    Revoked {
        at: u64,
    },
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    pub id: u64,
    pub dataset: u64,
    pub requester: AccountId,
    pub purpose: String,
    /// Fen attached with the request.
    pub fee: u64,
    pub state: RequestState,
    /// Uses recorded so far.
    pub uses: u32,
    pub requested_at: u64,
}

#[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, Clone, PartialEq, Eq)]
pub enum SharingEvent {
    Published {
        #[topic]
        dataset: u64,
        #[topic]
        owner: AccountId,
        content_hash: Hash,
        price: u64,
    },
    Unpublished {
        #[topic]
        dataset: u64,
    },
    Requested {
        #[topic]
        request: u64,
        #[topic]
        dataset: u64,
        #[topic]
        requester: AccountId,
        purpose: String,
        fee: u64,
    },
    Granted {
        #[topic]
        request: u64,
        #[topic]
        dataset: u64,
        max_uses: u32,
        expires_at: u64,
    },
    Refused {
        #[topic]
        request: u64,
        #[topic]
        dataset: u64,
        reason: String,
    },
    Withdrawn {
        #[topic]
        request: u64,
    },
    /// One use of granted data: the access log.
    Used {
        #[topic]
        request: u64,
        #[topic]
        dataset: u64,
        #[topic]
        user: AccountId,
        what: String,
        uses_left: u32,
    },
    Revoked {
        #[topic]
        request: u64,
        #[topic]
        dataset: u64,
    },
}

jjj_sdk::storage! {
    static NEXT_DATASET: Item<u64> = b"next_dataset";
    static NEXT_REQUEST: Item<u64> = b"next_request";
    static DATASETS: Map<u64, Dataset> = b"datasets";
    static REQUESTS: Map<u64, AccessRequest> = b"requests";
    /// Each owner's datasets, oldest first.
    static DATASETS_OF: ListMap<AccountId, u64> = b"datasets_of";
    /// Each dataset's requests, oldest first.
    static REQUESTS_FOR: ListMap<u64, u64> = b"requests_for";
    /// Each requester's requests, oldest first.
    static REQUESTS_BY: ListMap<AccountId, u64> = b"requests_by";
}

fn dataset(id: u64) -> Result<Dataset> {
    match DATASETS.get(&id) {
        Some(d) => Ok(d),
        None => fail!("no dataset {id}"),
    }
}

fn request(id: u64) -> Result<AccessRequest> {
    match REQUESTS.get(&id) {
        Some(r) => Ok(r),
        None => fail!("no access request {id}"),
    }
}

fn text(what: &str, value: &str) -> Result<()> {
    ensure!(value.len() <= MAX_TEXT_LEN, "the {what} is {} bytes, over the limit of {MAX_TEXT_LEN}", value.len());
    Ok(())
}

fn next_dataset_id() -> Result<u64> {
    let id = NEXT_DATASET.get_or(1);
    NEXT_DATASET.set(&id.checked_add(1).ok_or_else(|| Error::new("dataset ids exhausted"))?);
    Ok(id)
}

fn next_request_id() -> Result<u64> {
    let id = NEXT_REQUEST.get_or(1);
    NEXT_REQUEST.set(&id.checked_add(1).ok_or_else(|| Error::new("request ids exhausted"))?);
    Ok(id)
}

fn state_name(s: &RequestState) -> &'static str {
    match s {
        RequestState::Pending => "pending",
        RequestState::Granted { .. } => "granted",
        RequestState::Refused { .. } => "refused",
        RequestState::Withdrawn { .. } => "withdrawn",
        RequestState::Revoked { .. } => "revoked",
    }
}

/// The request, after checking the caller owns its dataset and the request waits for a decision.
fn pending_for_owner(request_id: u64) -> Result<(AccessRequest, Dataset)> {
    let r = request(request_id)?;
    let d = dataset(r.dataset)?;
    let caller = env::caller();
    ensure!(caller == d.owner, "{caller} does not own dataset {} (its owner decides its requests)", d.id);
    ensure!(r.state == RequestState::Pending, "access request {request_id} is {}, not pending", state_name(&r.state));
    Ok((r, d))
}

fn refund(r: &AccessRequest) -> Result<()> {
    if r.fee > 0 {
        env::transfer(&r.requester, r.fee)?;
    }
    Ok(())
}

pub struct DataSharing;

#[jjj_sdk::contract(events = SharingEvent)]
impl DataSharing {
    /// Creates the platform. No admin: each dataset is governed by its owner.
    #[constructor]
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Result<()> {
        NEXT_DATASET.set(&1);
        NEXT_REQUEST.set(&1);
        Ok(())
    }

    /// Publishes a dataset entry; returns its id. The caller must be an account of a member
    /// organisation (its region is recorded); the content hash must not be all zeros.
    #[message]
    pub fn publish(title: String, schema: String, content_hash: Hash, location: String, price: u64) -> Result<u64> {
        let owner = env::caller();
        let Some(region) = env::member_region(&owner) else {
            fail!("{owner} belongs to no member organisation: only members' accounts publish datasets")
        };
        ensure!(!title.is_empty(), "a dataset needs a title");
        text("title", &title)?;
        text("schema", &schema)?;
        text("location", &location)?;
        ensure!(content_hash != Hash::default(), "the content hash must not be all zeros");
        let id = next_dataset_id()?;
        DATASETS_OF.push(&owner, &id)?;
        DATASETS.set(
            &id,
            &Dataset {
                id,
                owner,
                region,
                title,
                schema,
                content_hash,
                location,
                price,
                published_at: env::block_time(),
                published: true,
            },
        );
        env::emit(&SharingEvent::Published { dataset: id, owner, content_hash, price });
        Ok(id)
    }

    /// Stops new requests for dataset `id` (owner only). Grants already made stand.
    #[message]
    pub fn unpublish(id: u64) -> Result<()> {
        let mut d = dataset(id)?;
        let caller = env::caller();
        ensure!(caller == d.owner, "{caller} does not own dataset {id}");
        ensure!(d.published, "dataset {id} is already unpublished");
        d.published = false;
        DATASETS.set(&id, &d);
        env::emit(&SharingEvent::Unpublished { dataset: id });
        Ok(())
    }

    /// Asks to use dataset `dataset` for `purpose`, attaching exactly its price; returns the
    /// request's id. Not the owner's own dataset; not an unpublished one.
    #[message(payable)]
    pub fn request_access(dataset_id: u64, purpose: String) -> Result<u64> {
        let d = dataset(dataset_id)?;
        let requester = env::caller();
        let fee = env::value();
        ensure!(d.published, "dataset {dataset_id} is unpublished: it takes no new requests");
        ensure!(requester != d.owner, "{requester} owns dataset {dataset_id}: no request needed");
        ensure!(!purpose.is_empty(), "a request states its purpose");
        text("purpose", &purpose)?;
        ensure!(fee == d.price, "dataset {dataset_id} costs {} fen per request, attached {fee}", d.price);
        let id = next_request_id()?;
        REQUESTS_FOR.push(&dataset_id, &id)?;
        REQUESTS_BY.push(&requester, &id)?;
        REQUESTS.set(
            &id,
            &AccessRequest {
                id,
                dataset: dataset_id,
                requester,
                purpose: purpose.clone(),
                fee,
                state: RequestState::Pending,
                uses: 0,
                requested_at: env::block_time(),
            },
        );
        env::emit(&SharingEvent::Requested { request: id, dataset: dataset_id, requester, purpose, fee });
        Ok(id)
    }

    /// Grants request `request_id` (the dataset's owner): at most `max_uses` uses (1 to
    /// 1,000,000) until `expires_at` (ms, in the future). The fee goes to the owner.
    #[message]
    pub fn grant(request_id: u64, max_uses: u32, expires_at: u64) -> Result<()> {
        let (mut r, d) = pending_for_owner(request_id)?;
        let now = env::block_time();
        ensure!(max_uses > 0 && max_uses <= MAX_USES, "a grant allows 1 to {MAX_USES} uses, not {max_uses}");
        ensure!(expires_at > now, "the grant's expiry {expires_at} is not in the future (now {now})");
        r.state = RequestState::Granted { uses_left: max_uses, expires_at, at: now };
        REQUESTS.set(&request_id, &r);
        if r.fee > 0 {
            env::transfer(&d.owner, r.fee)?;
        }
        env::emit(&SharingEvent::Granted { request: request_id, dataset: d.id, max_uses, expires_at });
        Ok(())
    }

    /// Refuses request `request_id` with a reason (the dataset's owner); the fee goes back.
    #[message]
    pub fn refuse(request_id: u64, reason: String) -> Result<()> {
        let (mut r, d) = pending_for_owner(request_id)?;
        ensure!(!reason.is_empty(), "a refusal states its reason");
        text("reason", &reason)?;
        r.state = RequestState::Refused { reason: reason.clone(), at: env::block_time() };
        REQUESTS.set(&request_id, &r);
        refund(&r)?;
        env::emit(&SharingEvent::Refused { request: request_id, dataset: d.id, reason });
        Ok(())
    }

    /// Withdraws the caller's pending request; the fee goes back.
    #[message]
    pub fn withdraw(request_id: u64) -> Result<()> {
        let mut r = request(request_id)?;
        let caller = env::caller();
        ensure!(caller == r.requester, "{caller} did not make access request {request_id}");
        ensure!(
            r.state == RequestState::Pending,
            "access request {request_id} is {}: only a pending one can be withdrawn",
            state_name(&r.state)
        );
        r.state = RequestState::Withdrawn { at: env::block_time() };
        REQUESTS.set(&request_id, &r);
        refund(&r)?;
        env::emit(&SharingEvent::Withdrawn { request: request_id });
        Ok(())
    }

    /// Records one use of granted data by its requester, saying what it was for: counted
    /// against the grant, refused once it is used up, expired or revoked.
    #[message]
    pub fn record_use(request_id: u64, what: String) -> Result<u32> {
        let mut r = request(request_id)?;
        let caller = env::caller();
        ensure!(caller == r.requester, "{caller} was not granted access request {request_id}");
        text("description of the use", &what)?;
        let now = env::block_time();
        let RequestState::Granted { uses_left, expires_at, at } = r.state else {
            fail!("access request {request_id} is {}, not granted", state_name(&r.state))
        };
        ensure!(now < expires_at, "the grant of access request {request_id} expired at {expires_at}");
        ensure!(uses_left > 0, "the grant of access request {request_id} is used up ({} uses)", r.uses);
        let uses_left = uses_left - 1;
        r.state = RequestState::Granted { uses_left, expires_at, at };
        r.uses = r.uses.saturating_add(1);
        REQUESTS.set(&request_id, &r);
        env::emit(&SharingEvent::Used { request: request_id, dataset: r.dataset, user: caller, what, uses_left });
        Ok(uses_left)
    }

    /// Revokes a grant (the dataset's owner). The fee is not returned.
    #[message]
    pub fn revoke(request_id: u64) -> Result<()> {
        let mut r = request(request_id)?;
        let d = dataset(r.dataset)?;
        let caller = env::caller();
        ensure!(caller == d.owner, "{caller} does not own dataset {}", d.id);
        ensure!(
            matches!(r.state, RequestState::Granted { .. }),
            "access request {request_id} is {}, not granted",
            state_name(&r.state)
        );
        r.state = RequestState::Revoked { at: env::block_time() };
        REQUESTS.set(&request_id, &r);
        env::emit(&SharingEvent::Revoked { request: request_id, dataset: d.id });
        Ok(())
    }

    #[message(query)]
    pub fn dataset(id: u64) -> Result<Option<Dataset>> {
        Ok(DATASETS.get(&id))
    }

    /// A request, with its purpose and state. Read policy: its requester, the dataset's owner,
    /// auditors.
    #[message(query, protected)]
    pub fn access_request(id: u64) -> Result<Option<AccessRequest>> {
        let r = REQUESTS.get(&id);
        if let Some(r) = &r {
            let reader = env::caller();
            let owner = DATASETS.get(&r.dataset).map(|d| d.owner);
            ensure!(
                reader == r.requester || owner == Some(reader) || env::has_role(&reader, roles::AUDITOR),
                "read refused: request {} is read by its requester, the dataset's owner and auditors",
                id
            );
        }
        Ok(r)
    }

    /// Whether request `id` may use its data now: granted, not expired, uses left. What an
    /// owner's server asks before serving the data.
    #[message(query)]
    pub fn may_use(id: u64) -> Result<bool> {
        let now = env::block_time();
        Ok(matches!(
            REQUESTS.get(&id).map(|r| r.state),
            Some(RequestState::Granted { uses_left, expires_at, .. }) if uses_left > 0 && now < expires_at
        ))
    }

    /// Whether `content_hash` is dataset `id`'s: a downloader's integrity check.
    #[message(query)]
    pub fn verify_content(id: u64, content_hash: Hash) -> Result<bool> {
        Ok(DATASETS.get(&id).is_some_and(|d| d.content_hash == content_hash))
    }

    /// Dataset ids of `owner`, from `start`, at most `limit` (≤ 500).
    #[message(query)]
    pub fn datasets_of(owner: AccountId, start: u32, limit: u32) -> Result<Vec<u64>> {
        Ok(DATASETS_OF.page(&owner, start, limit.min(MAX_PAGE)))
    }

    /// Request ids for dataset `id`, from `start`, at most `limit` (≤ 500).
    #[message(query)]
    pub fn requests_for(id: u64, start: u32, limit: u32) -> Result<Vec<u64>> {
        Ok(REQUESTS_FOR.page(&id, start, limit.min(MAX_PAGE)))
    }

    /// Request ids made by `requester`, from `start`, at most `limit` (≤ 500). Read policy: the
    /// requester and auditors.
    #[message(query, protected)]
    pub fn requests_by(requester: AccountId, start: u32, limit: u32) -> Result<Vec<u64>> {
        let reader = env::caller();
        ensure!(
            reader == requester || env::has_role(&reader, roles::AUDITOR),
            "read refused: an organisation's requests are listed for it and auditors"
        );
        Ok(REQUESTS_BY.page(&requester, start, limit.min(MAX_PAGE)))
    }
}
