//! Electronic invoices (电子发票), with the double reimbursement 深圳税链 put an end to refused.
//!
//! 1. The tax bureau (role `tax-bureau`) authorises issuers (and may revoke them).
//! 2. An authorised issuer issues an invoice to a buyer: amount (tax included), tax, items and
//!    the billing period (`YYYY-MM`).
//! 3. The buyer, or its organisation's finance department (an account of the buyer's member
//!    with the role `finance`), claims the invoice for reimbursement: once. Whoever claims it
//!    again — the same organisation or another — is refused, naming the first claim.
//! 4. The issuer reverses an unclaimed invoice with a reason (红冲): a red-letter invoice
//!    records the reversal and the original can no longer be claimed.
//!
//! 5. A receipt contract the tax bureau authorised as a source (the official `utility-bills`)
//!    turns a paid bill into an invoice by a cross-contract call (`issue_from_source`): issued
//!    by the bill's provider, which must be an authorised issuer, to the resident who paid;
//!    each receipt invoiced once.
//!
//! Invoices are business data: read by their issuer, their buyer, the buyer's finance, the tax
//! bureau and auditors (`#[message(query, protected)]`).
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use jjj_sdk::prelude::*;

/// Authorises issuers and reads every invoice.
pub const TAX_BUREAU: &str = "tax-bureau";
/// Claims invoices for reimbursement on behalf of its member organisation.
pub const FINANCE: &str = "finance";
pub const MAX_NAME_LEN: usize = 64;
pub const MAX_ITEMS_LEN: usize = 256;
pub const MAX_REASON_LEN: usize = 256;
pub const MAX_PAGE: u32 = 200;

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    pub account: AccountId,
    pub name: String,
    pub authorised_by: AccountId,
    pub since: u64,
    pub active: bool,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub enum InvoiceState {
    Issued,
    /// Claimed for reimbursement by `by`, for its member organisation.
    Claimed {
        by: AccountId,
        member: String,
        at: u64,
        height: u64,
    },
    /// Reversed (红冲) by red-letter invoice `red`.
    Reversed {
        red: u64,
        reason: String,
        at: u64,
    },
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub id: u64,
    pub issuer: AccountId,
    pub buyer: AccountId,
    /// Fen, tax included.
    pub amount: u64,
    pub tax: u64,
    pub items: String,
    /// `YYYY-MM`.
    pub period: String,
    pub issued_at: u64,
    pub height: u64,
    pub state: InvoiceState,
    /// A red-letter invoice: the invoice it reverses.
    pub reverses: Option<u64>,
}

#[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, Clone, PartialEq, Eq)]
pub enum InvoiceEvent {
    IssuerAuthorised {
        #[topic]
        issuer: AccountId,
        name: String,
    },
    IssuerRevoked {
        #[topic]
        issuer: AccountId,
    },
    Issued {
        #[topic]
        id: u64,
        #[topic]
        issuer: AccountId,
        #[topic]
        buyer: AccountId,
        amount: u64,
        period: String,
    },
    Claimed {
        #[topic]
        id: u64,
        #[topic]
        by: AccountId,
        member: String,
    },
    Reversed {
        #[topic]
        id: u64,
        red: u64,
        reason: String,
    },
    SourceAuthorised {
        #[topic]
        source: AccountId,
        authorised: bool,
    },
    /// Invoice `id` was issued for receipt `reference` of source contract `source`.
    FromSource {
        #[topic]
        id: u64,
        #[topic]
        source: AccountId,
        reference: u64,
    },
}

jjj_sdk::storage! {
    static LAST_ID: Item<u64> = b"last_id";
    static ISSUERS: Map<AccountId, Issuer> = b"issuers";
    static INVOICES: Map<u64, Invoice> = b"invoices";
    /// Invoice ids by (issuer, period) and by (buyer, period), in issue order.
    static BY_ISSUER: ListMap<(AccountId, String), u64> = b"by_issuer";
    static BY_BUYER: ListMap<(AccountId, String), u64> = b"by_buyer";
    /// Receipt contracts the tax bureau authorised, with the bureau account that did.
    static SOURCES: Map<AccountId, AccountId> = b"sources";
    /// (source contract, its receipt reference) → invoice, and back.
    static FROM_SOURCE: Map<(AccountId, u64), u64> = b"from_source";
    static SOURCE_OF: Map<u64, (AccountId, u64)> = b"source_of";
}

pub struct EInvoice;

fn invoice(id: u64) -> Result<Invoice> {
    INVOICES.get(&id).ok_or_else(|| Error::new(format!("no invoice #{id}")))
}

fn check_period(period: &str) -> Result<()> {
    let b = period.as_bytes();
    let digits = |r: core::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    ensure!(
        b.len() == 7 && b[4] == b'-' && digits(0..4) && digits(5..7) && (b"01"[..] <= b[5..7] && b[5..7] <= b"12"[..]),
        "a period is YYYY-MM, not {:?}",
        period
    );
    Ok(())
}

/// Whether `who` claims for `buyer`: the buyer itself, or the finance of the buyer's member.
fn claims_for(who: &AccountId, buyer: &AccountId) -> Option<String> {
    let member = env::member_of(buyer).unwrap_or_default();
    if who == buyer {
        return Some(member);
    }
    let same_member = !member.is_empty() && env::member_of(who).as_ref() == Some(&member);
    (same_member && env::has_role(who, FINANCE)).then_some(member)
}

/// The read policy of one invoice.
fn check_reader(i: &Invoice) -> Result<()> {
    let who = env::caller();
    ensure!(
        who == i.issuer
            || who == i.buyer
            || claims_for(&who, &i.buyer).is_some()
            || env::has_role(&who, TAX_BUREAU)
            || env::has_role(&who, roles::AUDITOR),
        "an invoice is read by its issuer, its buyer, the buyer's finance, the tax bureau and auditors"
    );
    Ok(())
}

fn page(list: &ListMap<(AccountId, String), u64>, key: &(AccountId, String), start: u32, limit: u32) -> Vec<Invoice> {
    list.page(key, start, limit.min(MAX_PAGE)).iter().filter_map(|id| INVOICES.get(id)).collect()
}

fn new_invoice(
    issuer: AccountId,
    buyer: AccountId,
    amount: u64,
    tax: u64,
    items: String,
    period: String,
) -> Result<Invoice> {
    let id = LAST_ID.get_or(0) + 1;
    LAST_ID.set(&id);
    let i = Invoice {
        id,
        issuer,
        buyer,
        amount,
        tax,
        items,
        period: period.clone(),
        issued_at: env::block_time(),
        height: env::block_height(),
        state: InvoiceState::Issued,
        reverses: None,
    };
    INVOICES.set(&id, &i);
    BY_ISSUER.push(&(issuer, period.clone()), &id)?;
    BY_BUYER.push(&(buyer, period), &id)?;
    Ok(i)
}

/// The caller, if it holds the tax bureau's role; `what` names what only the bureau does.
fn tax_bureau(what: &str) -> Result<AccountId> {
    let caller = env::caller();
    ensure!(
        env::has_role(&caller, TAX_BUREAU),
        "{} lacks the alliance's role {}: only the tax bureau {}",
        caller,
        TAX_BUREAU,
        what
    );
    Ok(caller)
}

/// Issues an invoice by `issuer`, which must be an authorised issuer, to `buyer`.
fn issue_as(issuer: AccountId, buyer: AccountId, amount: u64, tax: u64, items: String, period: String) -> Result<u64> {
    ensure!(ISSUERS.get(&issuer).is_some_and(|i| i.active), "{} is not an issuer the tax bureau authorised", issuer);
    ensure!(
        amount > 0 && tax <= amount,
        "an invoice's amount is above zero and includes its tax ({} of {})",
        tax,
        amount
    );
    ensure!(!items.is_empty() && items.len() <= MAX_ITEMS_LEN, "an invoice's items have 1 to {} bytes", MAX_ITEMS_LEN);
    ensure!(buyer != issuer, "an issuer does not invoice itself");
    check_period(&period)?;
    let i = new_invoice(issuer, buyer, amount, tax, items, period.clone())?;
    env::emit(&InvoiceEvent::Issued { id: i.id, issuer, buyer, amount, period });
    Ok(i.id)
}

#[jjj_sdk::contract(events = InvoiceEvent)]
impl EInvoice {
    /// Creates the invoice platform. No admin: the tax bureau authorises issuers.
    #[constructor]
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Result<()> {
        Ok(())
    }

    /// The tax bureau authorises `issuer` (again, after a revocation).
    #[message]
    pub fn authorise_issuer(issuer: AccountId, name: String) -> Result<()> {
        let caller = tax_bureau("authorises issuers")?;
        ensure!(!name.is_empty() && name.len() <= MAX_NAME_LEN, "an issuer's name has 1 to {} bytes", MAX_NAME_LEN);
        let record = Issuer {
            account: issuer,
            name: name.clone(),
            authorised_by: caller,
            since: env::block_time(),
            active: true,
        };
        ISSUERS.set(&issuer, &record);
        env::emit(&InvoiceEvent::IssuerAuthorised { issuer, name });
        Ok(())
    }

    /// The tax bureau revokes `issuer`: its invoices stay, it issues no more.
    #[message]
    pub fn revoke_issuer(issuer: AccountId) -> Result<()> {
        let caller = env::caller();
        ensure!(env::has_role(&caller, TAX_BUREAU), "only the tax bureau revokes issuers, not {}", caller);
        let Some(mut record) = ISSUERS.get(&issuer) else { fail!("{} is not an issuer", issuer) };
        record.active = false;
        ISSUERS.set(&issuer, &record);
        env::emit(&InvoiceEvent::IssuerRevoked { issuer });
        Ok(())
    }

    /// An authorised issuer issues an invoice to `buyer`; returns its id.
    #[message]
    pub fn issue(buyer: AccountId, amount: u64, tax: u64, items: String, period: String) -> Result<u64> {
        issue_as(env::caller(), buyer, amount, tax, items, period)
    }

    /// The tax bureau authorises (or withdraws) contract `source` to turn its receipts into
    /// invoices with `issue_from_source`.
    #[message]
    pub fn authorise_source(source: AccountId, authorised: bool) -> Result<()> {
        let caller = tax_bureau("authorises receipt sources")?;
        if authorised {
            SOURCES.set(&source, &caller);
        } else {
            SOURCES.remove(&source);
        }
        env::emit(&InvoiceEvent::SourceAuthorised { source, authorised });
        Ok(())
    }

    /// An authorised source contract (the caller) has its receipt `reference` invoiced: issued
    /// by `issuer` (an authorised issuer the source vouches for: the bill's provider, which
    /// asked it to) to `buyer`. Each receipt once. Returns the invoice's id.
    #[message]
    #[allow(clippy::too_many_arguments)]
    pub fn issue_from_source(
        issuer: AccountId,
        buyer: AccountId,
        amount: u64,
        tax: u64,
        items: String,
        period: String,
        reference: u64,
    ) -> Result<u64> {
        let source = env::caller();
        ensure!(SOURCES.contains(&source), "{} is not a receipt source the tax bureau authorised", source);
        if let Some(id) = FROM_SOURCE.get(&(source, reference)) {
            fail!("receipt {} of {} is invoiced already, as invoice #{}", reference, source, id);
        }
        let id = issue_as(issuer, buyer, amount, tax, items, period)?;
        FROM_SOURCE.set(&(source, reference), &id);
        SOURCE_OF.set(&id, &(source, reference));
        env::emit(&InvoiceEvent::FromSource { id, source, reference });
        Ok(id)
    }

    /// The source contract and receipt invoice `id` was issued for, if any. Read policy: the
    /// invoice's.
    #[message(query, protected)]
    pub fn source_of(id: u64) -> Result<Option<(AccountId, u64)>> {
        check_reader(&invoice(id)?)?;
        Ok(SOURCE_OF.get(&id))
    }

    /// The buyer, or its organisation's finance, claims invoice `id` for reimbursement: once.
    #[message]
    pub fn claim(id: u64) -> Result<()> {
        let mut i = invoice(id)?;
        let caller = env::caller();
        let Some(member) = claims_for(&caller, &i.buyer) else {
            fail!("{} does not claim for buyer {}: the buyer or its organisation's finance does", caller, i.buyer);
        };
        match &i.state {
            InvoiceState::Issued => {}
            InvoiceState::Claimed { by, member: m, height, .. } => fail!(
                "double reimbursement: invoice #{} was claimed already by {} (member {}) at height {}",
                id,
                by,
                m,
                height
            ),
            InvoiceState::Reversed { red, .. } => fail!("invoice #{} was reversed by red-letter invoice #{}", id, red),
        }
        ensure!(i.reverses.is_none(), "invoice #{} is a red-letter invoice: nothing to reimburse", id);
        i.state = InvoiceState::Claimed {
            by: caller,
            member: member.clone(),
            at: env::block_time(),
            height: env::block_height(),
        };
        INVOICES.set(&id, &i);
        env::emit(&InvoiceEvent::Claimed { id, by: caller, member });
        Ok(())
    }

    /// The issuer reverses (红冲) unclaimed invoice `id` with `reason`; returns the red-letter
    /// invoice's id.
    #[message]
    pub fn reverse(id: u64, reason: String) -> Result<u64> {
        let mut i = invoice(id)?;
        let caller = env::caller();
        ensure!(caller == i.issuer, "only invoice #{}'s issuer reverses it, not {}", id, caller);
        ensure!(!reason.is_empty() && reason.len() <= MAX_REASON_LEN, "a reason has 1 to {} bytes", MAX_REASON_LEN);
        ensure!(i.reverses.is_none(), "invoice #{} is itself a red-letter invoice", id);
        match &i.state {
            InvoiceState::Issued => {}
            InvoiceState::Claimed { by, .. } => {
                fail!("invoice #{} is claimed for reimbursement by {}: it is not reversed", id, by)
            }
            InvoiceState::Reversed { red, .. } => fail!("invoice #{} was reversed already (#{})", id, red),
        }
        let mut red = new_invoice(i.issuer, i.buyer, i.amount, i.tax, i.items.clone(), i.period.clone())?;
        red.reverses = Some(id);
        INVOICES.set(&red.id, &red);
        i.state = InvoiceState::Reversed { red: red.id, reason: reason.clone(), at: env::block_time() };
        INVOICES.set(&id, &i);
        env::emit(&InvoiceEvent::Reversed { id, red: red.id, reason });
        Ok(red.id)
    }

    /// Invoice `id`. Read policy: its issuer, its buyer, the buyer's finance, the tax bureau,
    /// auditors.
    #[message(query, protected)]
    pub fn invoice(id: u64) -> Result<Option<Invoice>> {
        let i = INVOICES.get(&id);
        if let Some(i) = &i {
            check_reader(i)?;
        }
        Ok(i)
    }

    /// The invoices `issuer` issued in `period` (red-letter ones included), from the `start`-th.
    /// Read policy: the issuer, the tax bureau, auditors.
    #[message(query, protected)]
    pub fn by_issuer(issuer: AccountId, period: String, start: u32, limit: u32) -> Result<Vec<Invoice>> {
        let who = env::caller();
        ensure!(
            who == issuer || env::has_role(&who, TAX_BUREAU) || env::has_role(&who, roles::AUDITOR),
            "an issuer's invoices are read by the issuer, the tax bureau and auditors"
        );
        Ok(page(&BY_ISSUER, &(issuer, period), start, limit))
    }

    /// The invoices issued to `buyer` in `period`, from the `start`-th. Read policy: the buyer,
    /// its finance, the tax bureau, auditors.
    #[message(query, protected)]
    pub fn by_buyer(buyer: AccountId, period: String, start: u32, limit: u32) -> Result<Vec<Invoice>> {
        let who = env::caller();
        ensure!(
            claims_for(&who, &buyer).is_some()
                || env::has_role(&who, TAX_BUREAU)
                || env::has_role(&who, roles::AUDITOR),
            "a buyer's invoices are read by the buyer, its finance, the tax bureau and auditors"
        );
        Ok(page(&BY_BUYER, &(buyer, period), start, limit))
    }

    /// An issuer's record (public: who may issue is everyone's to know).
    #[message(query)]
    pub fn issuer(account: AccountId) -> Result<Option<Issuer>> {
        Ok(ISSUERS.get(&account))
    }
}
