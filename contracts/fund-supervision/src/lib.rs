//! Project fund supervision (资金监管), as 雄安 and 贵州 trace project money to each worker.
//!
//! 1. An owner creates a project naming its contractor, the supervising bureau (an account
//!    with the role `fund-supervisor`) and the threshold above which a payout needs both the
//!    owner's and the bureau's approval; the owner (or anyone) funds it.
//! 2. The contractor registers the project's payees — workers and suppliers, accounts the
//!    alliance registered — and records work items with their budgets.
//! 3. The contractor pays a payee against a work item: never more than the item's budget left
//!    or the project's balance; a payout over the threshold waits for the owner's and the
//!    bureau's approvals and is paid with the second. Wages go straight to each worker.
//! 4. The bureau freezes the project (nothing is paid out) and unfreezes it.
//! 5. The trail: every fen in (who funded) and out (to whom, for which work item, approved by
//!    whom), in order; a payee's receipts across projects.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use jjj_sdk::prelude::*;

/// The supervising bureau's role.
pub const FUND_SUPERVISOR: &str = "fund-supervisor";
pub const MAX_TEXT_LEN: usize = 128;
pub const MAX_PAGE: u32 = 200;
/// Most trail entries, payees and work items one project keeps.
pub const MAX_ENTRIES: u32 = 10_000;

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: u64,
    pub name: String,
    pub owner: AccountId,
    pub contractor: AccountId,
    pub supervisor: AccountId,
    /// Payouts above this many fen need the owner's and the supervisor's approvals.
    pub threshold: u64,
    pub funded: u64,
    pub paid: u64,
    pub frozen: bool,
}

impl Project {
    pub fn balance(&self) -> u64 {
        self.funded - self.paid
    }
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayeeKind {
    Worker,
    Supplier,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub id: u32,
    pub description: String,
    pub budget: u64,
    pub paid: u64,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    pub id: u64,
    pub project: u64,
    pub item: u32,
    pub to: AccountId,
    pub amount: u64,
    pub approvals: Vec<AccountId>,
    /// Height paid at; `None` while waiting for approvals.
    pub paid_at: Option<u64>,
}

/// One movement of the project's money.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub enum TrailEntry {
    Funded { from: AccountId, amount: u64, height: u64 },
    Paid { payout: u64, to: AccountId, kind: PayeeKind, item: u32, amount: u64, height: u64 },
}

#[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, Clone, PartialEq, Eq)]
pub enum FundEvent {
    ProjectCreated {
        #[topic]
        project: u64,
        #[topic]
        owner: AccountId,
        #[topic]
        contractor: AccountId,
    },
    Funded {
        #[topic]
        project: u64,
        #[topic]
        from: AccountId,
        amount: u64,
    },
    PayoutPending {
        #[topic]
        project: u64,
        payout: u64,
        amount: u64,
    },
    Paid {
        #[topic]
        project: u64,
        #[topic]
        to: AccountId,
        payout: u64,
        item: u32,
        amount: u64,
    },
    Frozen {
        #[topic]
        project: u64,
        frozen: bool,
    },
}

jjj_sdk::storage! {
    static LAST_PROJECT: Item<u64> = b"last_project";
    static LAST_PAYOUT: Item<u64> = b"last_payout";
    static PROJECTS: Map<u64, Project> = b"projects";
    static PAYEES: Map<(u64, AccountId), PayeeKind> = b"payees";
    static ITEMS: Map<(u64, u32), WorkItem> = b"items";
    static ITEM_COUNT: Map<u64, u32> = b"item_count";
    static PAYOUTS: Map<u64, Payout> = b"payouts";
    static TRAIL: ListMap<u64, TrailEntry> = b"trail";
    /// Payout ids each account received, across projects.
    static RECEIVED: ListMap<AccountId, u64> = b"received";
}

pub struct FundSupervision;

fn project(id: u64) -> Result<Project> {
    PROJECTS.get(&id).ok_or_else(|| Error::new(format!("no project #{id}")))
}

fn text(what: &str, s: &str) -> Result<()> {
    ensure!(!s.is_empty() && s.len() <= MAX_TEXT_LEN, "{} has 1 to {} bytes", what, MAX_TEXT_LEN);
    Ok(())
}

fn trail(project: u64, entry: TrailEntry) -> Result<()> {
    ensure!(TRAIL.len(&project) < MAX_ENTRIES, "project #{} keeps at most {} movements", project, MAX_ENTRIES);
    TRAIL.push(&project, &entry)?;
    Ok(())
}

/// Sends an approved (or small) payout and records it.
fn pay_out(p: &mut Project, payout: &mut Payout) -> Result<()> {
    ensure!(!p.frozen, "project #{} is frozen by its supervisor: nothing is paid out", p.id);
    ensure!(
        p.balance() >= payout.amount,
        "project #{} holds {} fen, the payout is {}",
        p.id,
        p.balance(),
        payout.amount
    );
    let Some(mut item) = ITEMS.get(&(p.id, payout.item)) else { fail!("no work item {}", payout.item) };
    ensure!(
        item.paid + payout.amount <= item.budget,
        "work item {} has {} fen of its budget left, the payout is {}",
        item.id,
        item.budget - item.paid,
        payout.amount
    );
    let Some(kind) = PAYEES.get(&(p.id, payout.to)) else { fail!("{} is not a payee of project #{}", payout.to, p.id) };
    env::transfer(&payout.to, payout.amount)?;
    item.paid += payout.amount;
    ITEMS.set(&(p.id, payout.item), &item);
    p.paid += payout.amount;
    PROJECTS.set(&p.id, p);
    let height = env::block_height();
    payout.paid_at = Some(height);
    PAYOUTS.set(&payout.id, payout);
    RECEIVED.push(&payout.to, &payout.id)?;
    trail(
        p.id,
        TrailEntry::Paid { payout: payout.id, to: payout.to, kind, item: payout.item, amount: payout.amount, height },
    )?;
    env::emit(&FundEvent::Paid {
        project: p.id,
        to: payout.to,
        payout: payout.id,
        item: payout.item,
        amount: payout.amount,
    });
    Ok(())
}

#[jjj_sdk::contract(events = FundEvent)]
impl FundSupervision {
    #[constructor]
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Result<()> {
        Ok(())
    }

    /// The caller (the owner) creates a project; returns its id.
    #[message]
    pub fn create_project(name: String, contractor: AccountId, supervisor: AccountId, threshold: u64) -> Result<u64> {
        text("a project's name", &name)?;
        ensure!(
            env::has_role(&supervisor, FUND_SUPERVISOR),
            "{} lacks the alliance's role {}: a project is supervised by a bureau",
            supervisor,
            FUND_SUPERVISOR
        );
        let owner = env::caller();
        let id = LAST_PROJECT.get_or(0) + 1;
        LAST_PROJECT.set(&id);
        let p = Project { id, name, owner, contractor, supervisor, threshold, funded: 0, paid: 0, frozen: false };
        PROJECTS.set(&id, &p);
        env::emit(&FundEvent::ProjectCreated { project: id, owner, contractor });
        Ok(id)
    }

    /// Adds the attached fen to project `id`'s funds.
    #[message(payable)]
    pub fn fund(id: u64) -> Result<u64> {
        let mut p = project(id)?;
        let amount = env::value();
        ensure!(amount > 0, "attach the fen to fund project #{} with", id);
        p.funded += amount;
        PROJECTS.set(&id, &p);
        let from = env::caller();
        trail(id, TrailEntry::Funded { from, amount, height: env::block_height() })?;
        env::emit(&FundEvent::Funded { project: id, from, amount });
        Ok(p.balance())
    }

    /// The contractor registers a worker or supplier (an account the alliance registered).
    #[message]
    pub fn register_payee(id: u64, account: AccountId, kind: PayeeKind) -> Result<()> {
        let p = project(id)?;
        ensure!(env::caller() == p.contractor, "only project #{}'s contractor registers payees", id);
        ensure!(env::member_of(&account).is_some(), "{} is not an account the alliance registered", account);
        PAYEES.set(&(id, account), &kind);
        Ok(())
    }

    /// The contractor records a work item with its budget; returns its number.
    #[message]
    pub fn record_work(id: u64, description: String, budget: u64) -> Result<u32> {
        let p = project(id)?;
        ensure!(env::caller() == p.contractor, "only project #{}'s contractor records work", id);
        text("a work item's description", &description)?;
        ensure!(budget > 0, "a work item has a budget");
        let item = ITEM_COUNT.get(&id).unwrap_or(0);
        ensure!(item < MAX_ENTRIES, "project #{} keeps at most {} work items", id, MAX_ENTRIES);
        ITEMS.set(&(id, item), &WorkItem { id: item, description, budget, paid: 0 });
        ITEM_COUNT.set(&id, &(item + 1));
        Ok(item)
    }

    /// The contractor pays `amount` fen to payee `to` against work item `item`: at once up to
    /// the threshold, otherwise once the owner and the supervisor approved. Returns the payout.
    #[message]
    pub fn pay(id: u64, item: u32, to: AccountId, amount: u64) -> Result<Payout> {
        let mut p = project(id)?;
        ensure!(env::caller() == p.contractor, "only project #{}'s contractor pays out", id);
        ensure!(amount > 0, "a payout is above zero");
        ensure!(PAYEES.contains(&(id, to)), "{} is not a registered worker or supplier of project #{}", to, id);
        ensure!(ITEMS.contains(&(id, item)), "no work item {} in project #{}", item, id);
        let payout_id = LAST_PAYOUT.get_or(0) + 1;
        LAST_PAYOUT.set(&payout_id);
        let mut payout = Payout { id: payout_id, project: id, item, to, amount, approvals: vec![], paid_at: None };
        if amount > p.threshold {
            ensure!(!p.frozen, "project #{} is frozen by its supervisor: nothing is paid out", id);
            PAYOUTS.set(&payout_id, &payout);
            env::emit(&FundEvent::PayoutPending { project: id, payout: payout_id, amount });
            return Ok(payout);
        }
        pay_out(&mut p, &mut payout)?;
        Ok(payout)
    }

    /// The owner or the supervisor approves a pending payout; the second approval pays it.
    #[message]
    pub fn approve(payout: u64) -> Result<Payout> {
        let Some(mut po) = PAYOUTS.get(&payout) else { fail!("no payout #{}", payout) };
        let mut p = project(po.project)?;
        let who = env::caller();
        ensure!(who == p.owner || who == p.supervisor, "only project #{}'s owner or supervisor approves payouts", p.id);
        ensure!(po.paid_at.is_none(), "payout #{} is paid already", payout);
        ensure!(!po.approvals.contains(&who), "{} approved payout #{} already", who, payout);
        po.approvals.push(who);
        if po.approvals.contains(&p.owner) && po.approvals.contains(&p.supervisor) {
            pay_out(&mut p, &mut po)?;
        } else {
            PAYOUTS.set(&payout, &po);
        }
        Ok(po)
    }

    /// The supervisor freezes (`true`) or unfreezes project `id`.
    #[message]
    pub fn set_frozen(id: u64, frozen: bool) -> Result<()> {
        let mut p = project(id)?;
        ensure!(env::caller() == p.supervisor, "only project #{}'s supervisor freezes it", id);
        p.frozen = frozen;
        PROJECTS.set(&id, &p);
        env::emit(&FundEvent::Frozen { project: id, frozen });
        Ok(())
    }

    #[message(query)]
    pub fn project(id: u64) -> Result<Option<Project>> {
        Ok(PROJECTS.get(&id))
    }

    #[message(query)]
    pub fn work_items(id: u64, start: u32, limit: u32) -> Result<Vec<WorkItem>> {
        let end = ITEM_COUNT.get(&id).unwrap_or(0).min(start.saturating_add(limit.min(MAX_PAGE)));
        Ok((start..end).filter_map(|i| ITEMS.get(&(id, i))).collect())
    }

    /// Every fen in and out of project `id`, in order, from the `start`-th movement.
    #[message(query)]
    pub fn trail(id: u64, start: u32, limit: u32) -> Result<Vec<TrailEntry>> {
        Ok(TRAIL.page(&id, start, limit.min(MAX_PAGE)))
    }

    #[message(query)]
    pub fn payout(id: u64) -> Result<Option<Payout>> {
        Ok(PAYOUTS.get(&id))
    }

    /// The payouts `account` received, across projects, from the `start`-th.
    #[message(query)]
    pub fn received(account: AccountId, start: u32, limit: u32) -> Result<Vec<Payout>> {
        Ok(RECEIVED.page(&account, start, limit.min(MAX_PAGE)).iter().filter_map(|id| PAYOUTS.get(id)).collect())
    }
}
