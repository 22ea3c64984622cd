//! E-commerce agreement (电子商务协议): two to sixteen parties agree on ONE document, sign it
//! call by call, and the buyer's payment sits in escrow until delivery is confirmed milestone by
//! milestone.
//!
//! The agreement is bound, at proposal, to the hash of the canonical text of the contract. Every
//! party must sign by passing that same hash: a party holding a different version of the text (a
//! second, "shadow" contract — the 阴阳合同 problem) cannot sign, because its hash differs, and
//! `verify_document` lets anyone check later which text was agreed.
//!
//! Life of an agreement:
//! 1. `propose` (by one of the parties): document hash, parties, buyer, seller, the arbitrator
//!    (not a party), milestones (description, amount in fen, deadline), signing deadline.
//! 2. `sign` by every party before the signing deadline. The buyer's signature is the funding:
//!    the buyer must attach exactly the sum of the milestone amounts (the escrow); every other
//!    party signs with no value attached. When the last party signs the agreement is `Active`.
//! 3. `cancel` by any party while signatures are still being gathered (`Proposed`): the escrow,
//!    if the buyer had already signed, goes back to the buyer in full.
//! 4. While `Active`: the buyer `confirm_delivery` of a milestone → its amount goes to the seller.
//!    Buyer or seller may instead `open_dispute` on a pending milestone (before or after its
//!    deadline; whether it was overdue is recorded); then only the arbitrator can
//!    `resolve_dispute`, deciding how much of that milestone goes to the seller, the rest going
//!    back to the buyer. When every milestone is paid out the agreement is `Completed`.
//!
//! Deadlines: the signing deadline is enforced (no signature after it). Milestone deadlines are the
//! contractual delivery dates: passing one moves no money by itself (the contract cannot know
//! whether goods arrived); it is what the arbitrator weighs, and `overdue_milestones` lists them.
//!
//! Amounts are in fen (u64), with checked arithmetic; every payout is a transfer from this
//! contract, which holds the escrow of all its agreements.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use jjj_sdk::prelude::*;

/// Most parties an agreement may have.
pub const MAX_PARTIES: usize = 16;
/// Most milestones an agreement may have.
pub const MAX_MILESTONES: usize = 16;
/// Longest milestone description, in bytes (UTF-8).
pub const MAX_DESCRIPTION_LEN: usize = 256;
/// Longest dispute reason, in bytes (UTF-8).
pub const MAX_REASON_LEN: usize = 512;
/// Most ids returned by one `agreements_of_page` call.
pub const MAX_PAGE: u32 = 500;

/// A milestone as proposed.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct MilestoneSpec {
    pub description: String,
    /// Fen paid to the seller when this milestone's delivery is confirmed.
    pub amount: u64,
    /// Contractual delivery date, milliseconds since the Unix epoch.
    pub deadline: u64,
}

/// Where a milestone's money stands.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub enum MilestoneState {
    /// In escrow, delivery not yet confirmed.
    Pending,
    /// The buyer confirmed delivery; the amount went to the seller.
    Released { at: u64 },
    /// Buyer or seller took it to the arbitrator; the amount stays in escrow.
    Disputed { by: AccountId, reason: String, at: u64, overdue: bool },
    /// The arbitrator split the amount.
    Resolved { to_seller: u64, to_buyer: u64, at: u64 },
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    pub description: String,
    pub amount: u64,
    pub deadline: u64,
    pub state: MilestoneState,
}

/// One party's signature: who signed, and when (block time, ms).
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub party: AccountId,
    pub at: u64,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Gathering signatures.
    Proposed,
    /// Signed by all, escrow funded; milestones being delivered.
    Active,
    /// Every milestone paid out.
    Completed,
    /// Cancelled before all signatures; escrow refunded.
    Cancelled,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    pub id: u64,
    /// Hash of the canonical text: the only version that can be signed.
    pub document_hash: Hash,
    pub proposer: AccountId,
    pub parties: Vec<AccountId>,
    pub buyer: AccountId,
    pub seller: AccountId,
    pub arbitrator: AccountId,
    pub milestones: Vec<Milestone>,
    /// No signature after this time (ms).
    pub sign_deadline: u64,
    /// In signing order.
    pub signatures: Vec<Signature>,
    /// Sum of the milestone amounts.
    pub total: u64,
    /// Fen this contract holds for this agreement right now.
    pub escrow: u64,
    pub status: Status,
    pub created_at: u64,
}

impl Agreement {
    fn is_party(&self, a: &AccountId) -> bool {
        self.parties.contains(a)
    }
    fn has_signed(&self, a: &AccountId) -> bool {
        self.signatures.iter().any(|s| s.party == *a)
    }
}

#[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, Clone, PartialEq, Eq)]
pub enum AgreementEvent {
    Proposed {
        #[topic]
        id: u64,
        #[topic]
        proposer: AccountId,
        document_hash: Hash,
        total: u64,
    },
    /// `escrowed` is the fen attached (the total for the buyer, 0 for the others).
    Signed {
        #[topic]
        id: u64,
        #[topic]
        party: AccountId,
        escrowed: u64,
    },
    Activated {
        #[topic]
        id: u64,
        escrow: u64,
    },
    DeliveryConfirmed {
        #[topic]
        id: u64,
        #[topic]
        milestone: u32,
        amount: u64,
        #[topic]
        seller: AccountId,
    },
    DisputeOpened {
        #[topic]
        id: u64,
        #[topic]
        milestone: u32,
        #[topic]
        by: AccountId,
        reason: String,
        overdue: bool,
    },
    DisputeResolved {
        #[topic]
        id: u64,
        #[topic]
        milestone: u32,
        to_seller: u64,
        to_buyer: u64,
    },
    Cancelled {
        #[topic]
        id: u64,
        #[topic]
        by: AccountId,
        refunded: u64,
    },
    Completed {
        #[topic]
        id: u64,
    },
}

jjj_sdk::storage! {
    static NEXT_ID: Item<u64> = b"next_id";
    static AGREEMENTS: Map<u64, Agreement> = b"agreements";
    /// The ids of the agreements each account is in (party or arbitrator), oldest first.
    static AGREEMENTS_OF: ListMap<AccountId, u64> = b"agreements_of";
}

fn load(id: u64) -> Result<Agreement> {
    match AGREEMENTS.get(&id) {
        Some(a) => Ok(a),
        None => fail!("no agreement {id}"),
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Proposed => "still gathering signatures",
        Status::Active => "active",
        Status::Completed => "completed",
        Status::Cancelled => "cancelled",
    }
}

fn pay(to: &AccountId, amount: u64) -> Result<()> {
    if amount > 0 {
        env::transfer(to, amount)?;
    }
    Ok(())
}

/// Checks the agreement is active and the milestone exists; returns its position.
fn active_milestone(a: &Agreement, milestone_index: u32) -> Result<usize> {
    ensure!(a.status == Status::Active, "agreement {} is {}, not active", a.id, status_name(a.status));
    let i = milestone_index as usize;
    ensure!(
        i < a.milestones.len(),
        "agreement {} has no milestone {milestone_index} (it has {})",
        a.id,
        a.milestones.len()
    );
    Ok(i)
}

fn milestone_state_name(s: &MilestoneState) -> &'static str {
    match s {
        MilestoneState::Pending => "pending",
        MilestoneState::Released { .. } => "already released to the seller",
        MilestoneState::Disputed { .. } => "under dispute",
        MilestoneState::Resolved { .. } => "already settled by the arbitrator",
    }
}

/// After a payout: completes the agreement when no milestone holds money any more.
fn settle(a: &mut Agreement, paid: u64) -> Result<()> {
    a.escrow = a.escrow.checked_sub(paid).ok_or_else(|| Error::new("escrow accounting underflow"))?;
    let done = a
        .milestones
        .iter()
        .all(|m| matches!(m.state, MilestoneState::Released { .. } | MilestoneState::Resolved { .. }));
    if done {
        a.status = Status::Completed;
        env::emit(&AgreementEvent::Completed { id: a.id });
    }
    Ok(())
}

pub struct EcommerceAgreement;

#[jjj_sdk::contract(events = AgreementEvent)]
impl EcommerceAgreement {
    /// Creates the registry of agreements. No admin: every agreement is governed by its own
    /// parties and arbitrator.
    #[constructor]
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Result<()> {
        NEXT_ID.set(&1);
        Ok(())
    }

    /// Proposes an agreement bound to `document_hash` (the hash of the canonical text); returns
    /// its id. The caller must be one of `parties`: 2 to 16 distinct accounts, among them `buyer`
    /// and `seller` (different accounts); `arbitrator` must not be a party. 1 to 16 milestones,
    /// each with an amount > 0 fen, a description of at most 256 bytes and a deadline after
    /// `sign_deadline`, which must be in the future. Proposing is not signing: the proposer signs
    /// with `sign` like everyone else.
    #[message]
    pub fn propose(
        document_hash: Hash,
        parties: Vec<AccountId>,
        buyer: AccountId,
        seller: AccountId,
        arbitrator: AccountId,
        milestones: Vec<MilestoneSpec>,
        sign_deadline: u64,
    ) -> Result<u64> {
        let caller = env::caller();
        let now = env::block_time();
        ensure!(document_hash != Hash::default(), "the document hash must not be all zeros");
        ensure!(
            parties.len() >= 2 && parties.len() <= MAX_PARTIES,
            "an agreement needs 2 to {MAX_PARTIES} parties, got {}",
            parties.len()
        );
        for (i, p) in parties.iter().enumerate() {
            ensure!(!parties[i + 1..].contains(p), "party {p} is listed twice");
        }
        ensure!(parties.contains(&caller), "only one of the parties may propose the agreement");
        ensure!(buyer != seller, "the buyer and the seller must be different accounts");
        ensure!(parties.contains(&buyer), "the buyer {buyer} is not among the parties");
        ensure!(parties.contains(&seller), "the seller {seller} is not among the parties");
        ensure!(!parties.contains(&arbitrator), "the arbitrator {arbitrator} must not be a party");
        ensure!(
            env::has_role(&arbitrator, roles::ARBITRATOR),
            "{arbitrator} is not an arbitrator the alliance registered (it lacks the role {})",
            roles::ARBITRATOR
        );
        ensure!(sign_deadline > now, "the signing deadline {sign_deadline} is not in the future (now {now})");
        ensure!(!milestones.is_empty(), "an agreement needs at least one milestone");
        ensure!(
            milestones.len() <= MAX_MILESTONES,
            "an agreement has at most {MAX_MILESTONES} milestones, got {}",
            milestones.len()
        );
        let mut total: u64 = 0;
        let mut ms = Vec::with_capacity(milestones.len());
        for (i, m) in milestones.into_iter().enumerate() {
            ensure!(m.amount > 0, "milestone {i} has an amount of 0 fen");
            ensure!(
                m.description.len() <= MAX_DESCRIPTION_LEN,
                "the description of milestone {i} is {} bytes, over the limit of {MAX_DESCRIPTION_LEN}",
                m.description.len()
            );
            ensure!(m.deadline > sign_deadline, "the deadline of milestone {i} must be after the signing deadline");
            total = match total.checked_add(m.amount) {
                Some(t) => t,
                None => fail!("the milestone amounts overflow"),
            };
            ms.push(Milestone {
                description: m.description,
                amount: m.amount,
                deadline: m.deadline,
                state: MilestoneState::Pending,
            });
        }

        let id = NEXT_ID.get_or(1);
        NEXT_ID.set(&id.checked_add(1).ok_or_else(|| Error::new("agreement ids exhausted"))?);
        for p in &parties {
            AGREEMENTS_OF.push(p, &id)?;
        }
        AGREEMENTS_OF.push(&arbitrator, &id)?;
        AGREEMENTS.set(
            &id,
            &Agreement {
                id,
                document_hash,
                proposer: caller,
                parties,
                buyer,
                seller,
                arbitrator,
                milestones: ms,
                sign_deadline,
                signatures: Vec::new(),
                total,
                escrow: 0,
                status: Status::Proposed,
                created_at: now,
            },
        );
        env::emit(&AgreementEvent::Proposed { id, proposer: caller, document_hash, total });
        Ok(id)
    }

    /// Signs agreement `id`, confirming the text whose hash is `document_hash`: it must be the
    /// hash the agreement was proposed with, or the signature is refused (the document differs).
    /// Only parties, once each, before the signing deadline, while the agreement is still
    /// gathering signatures. The buyer funds the escrow by signing: the buyer must attach exactly
    /// the sum of the milestone amounts; other parties attach nothing. The last signature
    /// activates the agreement.
    #[message(payable)]
    pub fn sign(id: u64, document_hash: Hash) -> Result<()> {
        let caller = env::caller();
        let now = env::block_time();
        let value = env::value();
        let mut a = load(id)?;
        ensure!(a.status == Status::Proposed, "agreement {id} is {}: signing is closed", status_name(a.status));
        ensure!(a.is_party(&caller), "{caller} is not a party to agreement {id}");
        ensure!(
            now <= a.sign_deadline,
            "the signing deadline of agreement {id} has passed ({} < now {now})",
            a.sign_deadline
        );
        ensure!(
            document_hash == a.document_hash,
            "the document differs: agreement {id} was proposed with document {}, not {document_hash}",
            a.document_hash
        );
        ensure!(!a.has_signed(&caller), "{caller} has already signed agreement {id}");
        if caller == a.buyer {
            ensure!(
                value == a.total,
                "the buyer must attach exactly the escrow of {} fen to sign agreement {id}, attached {value}",
                a.total
            );
            a.escrow = value;
        } else {
            ensure!(value == 0, "only the buyer attaches the escrow; {value} fen attached by {caller}");
        }
        a.signatures.push(Signature { party: caller, at: now });
        env::emit(&AgreementEvent::Signed { id, party: caller, escrowed: value });
        if a.signatures.len() == a.parties.len() {
            a.status = Status::Active;
            env::emit(&AgreementEvent::Activated { id, escrow: a.escrow });
        }
        AGREEMENTS.set(&id, &a);
        Ok(())
    }

    /// Cancels agreement `id`: any party, only while it is still gathering signatures (not once
    /// all parties have signed). Any escrow the buyer attached goes back to the buyer in full;
    /// returns the fen refunded.
    #[message]
    pub fn cancel(id: u64) -> Result<u64> {
        let caller = env::caller();
        let mut a = load(id)?;
        ensure!(a.is_party(&caller), "only a party may cancel agreement {id}");
        ensure!(
            a.status == Status::Proposed,
            "agreement {id} is {}: only an agreement still gathering signatures can be cancelled",
            status_name(a.status)
        );
        let refunded = a.escrow;
        a.escrow = 0;
        a.status = Status::Cancelled;
        AGREEMENTS.set(&id, &a);
        pay(&a.buyer, refunded)?;
        env::emit(&AgreementEvent::Cancelled { id, by: caller, refunded });
        Ok(refunded)
    }

    /// The buyer confirms delivery of milestone `milestone_index` (from 0) of active agreement
    /// `id`: its amount goes from escrow to the seller. The milestone must be pending (not
    /// released, not under dispute). Releasing the last milestone completes the agreement.
    #[message]
    pub fn confirm_delivery(id: u64, milestone_index: u32) -> Result<()> {
        let caller = env::caller();
        let mut a = load(id)?;
        ensure!(caller == a.buyer, "only the buyer of agreement {id} may confirm delivery");
        let i = active_milestone(&a, milestone_index)?;
        let m = &mut a.milestones[i];
        ensure!(
            m.state == MilestoneState::Pending,
            "milestone {milestone_index} of agreement {id} is {}",
            milestone_state_name(&m.state)
        );
        let amount = m.amount;
        m.state = MilestoneState::Released { at: env::block_time() };
        env::emit(&AgreementEvent::DeliveryConfirmed { id, milestone: milestone_index, amount, seller: a.seller });
        settle(&mut a, amount)?;
        AGREEMENTS.set(&id, &a);
        pay(&a.seller, amount)?;
        Ok(())
    }

    /// Buyer or seller takes pending milestone `milestone_index` of active agreement `id` to the
    /// arbitrator, with a `reason` of at most 512 bytes. Its amount stays in escrow until the
    /// arbitrator decides; whether the milestone's deadline had passed is recorded.
    #[message]
    pub fn open_dispute(id: u64, milestone_index: u32, reason: String) -> Result<()> {
        let caller = env::caller();
        let now = env::block_time();
        let mut a = load(id)?;
        ensure!(
            caller == a.buyer || caller == a.seller,
            "only the buyer or the seller of agreement {id} may open a dispute"
        );
        let i = active_milestone(&a, milestone_index)?;
        ensure!(
            reason.len() <= MAX_REASON_LEN,
            "the reason is {} bytes, over the limit of {MAX_REASON_LEN}",
            reason.len()
        );
        let m = &mut a.milestones[i];
        ensure!(
            m.state == MilestoneState::Pending,
            "milestone {milestone_index} of agreement {id} is {}",
            milestone_state_name(&m.state)
        );
        let overdue = now > m.deadline;
        m.state = MilestoneState::Disputed { by: caller, reason: reason.clone(), at: now, overdue };
        AGREEMENTS.set(&id, &a);
        env::emit(&AgreementEvent::DisputeOpened { id, milestone: milestone_index, by: caller, reason, overdue });
        Ok(())
    }

    /// The named arbitrator of agreement `id` decides the dispute on milestone `milestone_index`:
    /// `to_seller` fen (at most the milestone's amount) go to the seller, the rest back to the
    /// buyer. Settling the last milestone completes the agreement.
    #[message]
    pub fn resolve_dispute(id: u64, milestone_index: u32, to_seller: u64) -> Result<()> {
        let caller = env::caller();
        let mut a = load(id)?;
        ensure!(caller == a.arbitrator, "only the arbitrator of agreement {id} may resolve its disputes");
        ensure!(
            env::has_role(&caller, roles::ARBITRATOR),
            "the arbitrator of agreement {id} no longer holds the alliance's role {}",
            roles::ARBITRATOR
        );
        let i = active_milestone(&a, milestone_index)?;
        let m = &mut a.milestones[i];
        ensure!(
            matches!(m.state, MilestoneState::Disputed { .. }),
            "milestone {milestone_index} of agreement {id} is {}, not under dispute",
            milestone_state_name(&m.state)
        );
        ensure!(
            to_seller <= m.amount,
            "the seller's share {to_seller} fen exceeds the milestone amount of {} fen",
            m.amount
        );
        let amount = m.amount;
        let to_buyer = amount - to_seller;
        m.state = MilestoneState::Resolved { to_seller, to_buyer, at: env::block_time() };
        env::emit(&AgreementEvent::DisputeResolved { id, milestone: milestone_index, to_seller, to_buyer });
        settle(&mut a, amount)?;
        AGREEMENTS.set(&id, &a);
        pay(&a.seller, to_seller)?;
        pay(&a.buyer, to_buyer)?;
        Ok(())
    }

    /// Agreement `id` with its parties, signatures and milestone states, if it exists. Read
    /// policy: its parties, its arbitrator, auditors.
    #[message(query, protected)]
    pub fn agreement(id: u64) -> Result<Option<Agreement>> {
        let a = AGREEMENTS.get(&id);
        if let Some(a) = &a {
            let reader = env::caller();
            ensure!(
                a.is_party(&reader) || a.arbitrator == reader || env::has_role(&reader, roles::AUDITOR),
                "read refused: agreement {} is read by its parties, its arbitrator and auditors",
                id
            );
        }
        Ok(a)
    }

    /// Ids of the agreements `account` is in, as a party or as the arbitrator, oldest first:
    /// the first 500 of them; page through the rest with `agreements_of_page`. Read policy: the
    /// account itself, auditors.
    #[message(query, protected)]
    pub fn agreements_of(account: AccountId) -> Result<Vec<u64>> {
        Self::agreements_of_page(account, 0, MAX_PAGE)
    }

    /// Up to `limit` (at most 500) ids of agreements `account` is in, from position `from`
    /// (0 is its oldest), oldest first. Read policy as `agreements_of`.
    #[message(query, protected)]
    pub fn agreements_of_page(account: AccountId, from: u32, limit: u32) -> Result<Vec<u64>> {
        let reader = env::caller();
        ensure!(
            reader == account || env::has_role(&reader, roles::AUDITOR),
            "read refused: an account's agreements are listed for it and auditors"
        );
        Ok(AGREEMENTS_OF.page(&account, from, limit.min(MAX_PAGE)))
    }

    /// Whether `document_hash` is the document agreement `id` is bound to: the check that the
    /// text in hand is the one the parties signed, not another version. Fails if there is no
    /// such agreement.
    #[message(query)]
    pub fn verify_document(id: u64, document_hash: Hash) -> Result<bool> {
        Ok(load(id)?.document_hash == document_hash)
    }

    /// Indexes of the milestones of active agreement `id` that are still pending (not
    /// confirmed, not disputed) and whose deadline has passed; empty if it is not active.
    #[message(query)]
    pub fn overdue_milestones(id: u64) -> Result<Vec<u32>> {
        let a = load(id)?;
        let now = env::block_time();
        if a.status != Status::Active {
            return Ok(Vec::new());
        }
        Ok(a.milestones
            .iter()
            .enumerate()
            .filter(|(_, m)| m.state == MilestoneState::Pending && now > m.deadline)
            .map(|(i, _)| i as u32)
            .collect())
    }
}
