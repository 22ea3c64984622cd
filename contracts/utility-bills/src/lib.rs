//! # utility-bills: utility bills across Beijing, Tianjin and Hebei (京津冀)
//!
//! Utility **providers** (water, electricity, gas, heating, waste fee) register here with their
//! region, the kinds of utility they supply and their late-fee rate — but only accounts the
//! alliance registered with the `utility-provider` role: an official Beijing water company is
//! one a member of the alliance vouched for, not one a contract admin typed in (there is no
//! contract admin). A provider issues **bills** to resident accounts (amount in fen, billing period, due date); the resident pays
//! a bill by calling [`UtilityBills::pay`] with the amount due attached. The money goes straight
//! from the contract to the provider in the same call: the contract keeps no balance.
//!
//! Regions do not matter for payment: a Hebei resident pays a Beijing provider exactly the
//! way a Beijing resident does. The region is the provider's, for display and filtering.
//!
//! ## Rules
//! - A provider is registered, activated or deactivated by itself or by a `member-admin` of
//!   the member that registered it, and must hold the alliance's `utility-provider` role to be
//!   registered and to issue bills (a role the alliance revokes stops its billing at once). A
//!   deactivated provider issues no new bills; its bills already issued stay payable, to it.
//!   Its region is the one of the member that registered it.
//! - Only an active provider that supplies `kind` may issue a bill of that kind; `amount > 0`;
//!   `period` is 1..=64 bytes; `due` is strictly after the current block time; a provider does
//!   not bill itself.
//! - **Only the bill's resident may pay it** (a payment by anyone else is refused), and a bill
//!   is paid once.
//! - **Late fee.** The provider's rate (basis points of the bill's amount per day overdue) is
//!   fixed into the bill when it is issued. Paying at or before `due` costs no fee. After `due`,
//!   every started day counts as a full day: `days = ceil((now - due) / 86_400_000 ms)`, and
//!   `late_fee = floor(amount * rate_bps * days / 10_000)`, capped at `amount` (the fee never
//!   exceeds 100% of the bill). `amount_due = amount + late_fee`.
//! - **Payment.** Attached value equal to `amount_due`: paid. More: the bill is paid and the
//!   excess is refunded to the payer in the same call. Less: refused, naming the amount due;
//!   nothing moves.
//!
//! - **Invoice.** The provider turns a paid bill into an electronic invoice (电子发票) to the
//!   resident who paid ([`UtilityBills::invoice_payment`]): a cross-contract call of the
//!   `e-invoice` contract's `issue_from_source`, which accepts it only from a source the tax
//!   bureau authorised and a provider it authorised as an issuer. Each bill is invoiced once.
//!
//! Events: `BillIssued`, `BillPaid`, `Invoiced`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use jjj_sdk::prelude::*;

/// One day, in milliseconds: the late-fee unit.
pub const DAY_MS: u64 = 86_400_000;
/// Basis points in 100%.
pub const BPS_DENOMINATOR: u64 = 10_000;
/// Highest late-fee rate a provider may have: 100% of the bill per day (the total fee is capped
/// at 100% of the bill anyway).
pub const MAX_LATE_FEE_BPS_PER_DAY: u32 = 10_000;
/// Longest provider name, in bytes (UTF-8).
pub const MAX_NAME_LEN: usize = 128;
/// Longest billing period label, in bytes (UTF-8), e.g. "2026-01" or "2025-2026 采暖季".
pub const MAX_PERIOD_LEN: usize = 64;
/// Most entries returned by one page of a paged query.
pub const MAX_PAGE: u32 = 50;

/// The region a provider serves.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    Beijing,
    Tianjin,
    Hebei,
}

/// A kind of utility.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, PartialEq, Eq)]
pub enum UtilityKind {
    Water,
    Electricity,
    Gas,
    Heating,
    WasteFee,
}

/// A registered utility provider.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub account: AccountId,
    pub name: String,
    pub region: Region,
    /// The alliance member that registered the account (`beijing`, `tianjin`…).
    pub member: String,
    /// The kinds of utility it may bill.
    pub kinds: Vec<UtilityKind>,
    /// Late fee in basis points of a bill's amount per day overdue (fixed into each bill at issue).
    pub late_fee_bps_per_day: u32,
    /// Whether it may issue new bills.
    pub active: bool,
    /// Block time (ms) of registration.
    pub registered_at: u64,
}

/// Proof of a payment, kept on the bill and in the provider's receipt list.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct PaymentReceipt {
    pub bill_id: u64,
    pub payer: AccountId,
    /// Total fen paid to the provider: the bill's amount plus the late fee (refunds excluded).
    pub amount_paid: u64,
    /// The part of `amount_paid` that is late fee.
    pub late_fee: u64,
    /// Block time (ms) of payment.
    pub paid_at: u64,
}

/// A bill issued by a provider to a resident.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub id: u64,
    pub provider: AccountId,
    pub resident: AccountId,
    pub kind: UtilityKind,
    /// Amount in fen, before any late fee.
    pub amount: u64,
    /// Billing period label, e.g. "2026-01".
    pub period: String,
    /// Block time (ms) of issue.
    pub issued_at: u64,
    /// Due date (ms since the Unix epoch); paying after it adds the late fee.
    pub due: u64,
    /// The provider's late-fee rate when the bill was issued.
    pub late_fee_bps_per_day: u32,
    /// Set once the bill is paid.
    pub payment: Option<PaymentReceipt>,
}

impl Bill {
    pub fn is_paid(&self) -> bool {
        self.payment.is_some()
    }

    /// The late fee if paid at `now` (ms), by the rule in the crate docs.
    pub fn late_fee_at(&self, now: u64) -> u64 {
        if now <= self.due || self.late_fee_bps_per_day == 0 {
            return 0;
        }
        let late_ms = now - self.due;
        let days = late_ms / DAY_MS + u64::from(!late_ms.is_multiple_of(DAY_MS));
        // amount < 2^64, bps <= 10^4 < 2^14, days < 2^38: the product fits in u128.
        let fee = u128::from(self.amount) * u128::from(self.late_fee_bps_per_day) * u128::from(days)
            / u128::from(BPS_DENOMINATOR);
        if fee > u128::from(self.amount) {
            self.amount
        } else {
            fee as u64
        }
    }
}

/// Events of the utility-bills contract: protected, like the bills. A node serves them only to
/// the provider and the resident (their `#[topic]` accounts) and to auditors.
#[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, Clone, PartialEq, Eq)]
#[event(protected)]
pub enum UtilityEvent {
    BillIssued {
        #[topic]
        bill_id: u64,
        #[topic]
        provider: AccountId,
        #[topic]
        resident: AccountId,
        amount: u64,
        due: u64,
    },
    /// `amount` is the total paid to the provider, late fee included; `late_fee` is its late-fee
    /// part.
    BillPaid {
        #[topic]
        bill_id: u64,
        #[topic]
        provider: AccountId,
        #[topic]
        payer: AccountId,
        amount: u64,
        late_fee: u64,
    },
    Invoiced {
        #[topic]
        bill_id: u64,
        #[topic]
        provider: AccountId,
        e_invoice: AccountId,
        invoice: u64,
    },
}

/// Why a call was refused. Its `Display` text is the revert reason in the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillError {
    /// The caller neither is the provider nor an admin of its member; says what it tried.
    NotForCaller(&'static str),
    /// The account lacks the alliance's `utility-provider` role.
    NotAUtility(AccountId),
    /// The region given is not the one of the member that registered the provider.
    NotItsRegion(AccountId, Region),
    NoSuchBill(u64),
    NotAProvider(AccountId),
    AlreadyAProvider(AccountId),
    EmptyName,
    NameTooLong(usize),
    NoKinds,
    KindListedTwice(UtilityKind),
    LateFeeTooHigh(u32),
    NotAnIssuer(AccountId),
    /// Carries the provider's name.
    ProviderInactive(String),
    KindNotSupplied {
        provider: String,
        kind: UtilityKind,
    },
    BillsItself,
    ZeroAmount,
    EmptyPeriod,
    PeriodTooLong(usize),
    DueNotAfterNow {
        due: u64,
        now: u64,
    },
    BillIdsExhausted,
    NotTheResident(u64),
    /// The read policy refused the caller: bills are read by their resident, their provider
    /// and the alliance's auditors; payments by their provider and auditors. Says what.
    NotYoursToRead(&'static str),
    AlreadyPaid(u64),
    /// Less attached than the amount due (`amount` + `late_fee`).
    Underpaid {
        bill_id: u64,
        total: u64,
        amount: u64,
        late_fee: u64,
        attached: u64,
    },
    AmountDueOverflows(u64),
    NotPaidYet(u64),
    AlreadyInvoiced {
        bill_id: u64,
        e_invoice: AccountId,
        invoice: u64,
    },
    /// A failure reported by the SDK (a transfer, a full list).
    Sdk(Error),
}

impl core::fmt::Display for BillError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use BillError::*;
        match self {
            NotForCaller(action) => {
                write!(f, "only the provider itself or a member-admin of its member may {action}")
            }
            NotItsRegion(a, r) => write!(f, "{a} is not registered by a member of {}", region_name(*r)),
            NotAUtility(a) => write!(
                f,
                "{a} is not registered by the alliance as a utility provider (it lacks the role {})",
                roles::UTILITY_PROVIDER
            ),
            NoSuchBill(id) => write!(f, "there is no bill {id}"),
            NotAProvider(a) => write!(f, "{a} is not a registered provider"),
            AlreadyAProvider(a) => write!(f, "{a} is already a registered provider"),
            EmptyName => f.write_str("the provider name is empty"),
            NameTooLong(n) => write!(f, "the provider name is {n} bytes, over the limit of {MAX_NAME_LEN}"),
            NoKinds => f.write_str("a provider must supply at least one kind of utility"),
            KindListedTwice(k) => write!(f, "utility kind {} is listed twice", kind_name(*k)),
            LateFeeTooHigh(bps) => write!(
                f,
                "the late fee rate of {bps} bps per day is over the limit of {MAX_LATE_FEE_BPS_PER_DAY}"
            ),
            NotAnIssuer(a) => write!(f, "only a registered provider may issue bills; {a} is not one"),
            ProviderInactive(name) => write!(f, "provider {name} is deactivated and may not issue bills"),
            KindNotSupplied { provider, kind } => {
                write!(f, "provider {provider} does not supply {}, so it may not bill it", kind_name(*kind))
            }
            BillsItself => f.write_str("a provider may not bill itself"),
            ZeroAmount => f.write_str("a bill's amount must be more than 0 fen"),
            EmptyPeriod => f.write_str("the billing period is empty"),
            PeriodTooLong(n) => write!(f, "the billing period is {n} bytes, over the limit of {MAX_PERIOD_LEN}"),
            DueNotAfterNow { due, now } => write!(f, "the due date {due} is not after the current time {now}"),
            BillIdsExhausted => f.write_str("bill ids are exhausted"),
            NotTheResident(id) => write!(f, "only the resident of bill {id} may pay it"),
            NotYoursToRead(what) => write!(f, "read refused: {what}"),
            AlreadyPaid(id) => write!(f, "bill {id} is already paid"),
            Underpaid { bill_id, total, amount, late_fee, attached } if *late_fee > 0 => write!(
                f,
                "bill {bill_id} needs {total} fen ({amount} fen + {late_fee} fen late fee), only {attached} fen attached"
            ),
            Underpaid { bill_id, total, attached, .. } => {
                write!(f, "bill {bill_id} needs {total} fen, only {attached} fen attached")
            }
            AmountDueOverflows(id) => write!(f, "the amount due on bill {id} overflows"),
            NotPaidYet(id) => write!(f, "bill {id} is not paid yet: only a payment is invoiced"),
            AlreadyInvoiced { bill_id, e_invoice, invoice } => {
                write!(f, "bill {bill_id} is invoiced already, as invoice #{invoice} of {e_invoice}")
            }
            Sdk(e) => write!(f, "{e}"),
        }
    }
}

impl From<Error> for BillError {
    fn from(e: Error) -> Self {
        BillError::Sdk(e)
    }
}

/// The result of this contract's messages.
pub type BillResult<T> = core::result::Result<T, BillError>;

jjj_sdk::storage! {
    /// The last bill id issued (ids start at 1).
    static LAST_BILL: Item<u64> = b"last_bill";
    static BILLS: Map<u64, Bill> = b"bills";
    static PROVIDERS: Map<AccountId, Provider> = b"providers";
    /// Providers in registration order.
    static PROVIDER_LIST: List<AccountId> = b"provider_list";
    /// Each resident's bill ids, oldest first.
    static RESIDENT_BILLS: ListMap<AccountId, u64> = b"resident_bills";
    /// Each provider's payment receipts, oldest first.
    static RECEIPTS: ListMap<AccountId, PaymentReceipt> = b"receipts";
    /// Bills turned into e-invoices: the e-invoice contract and the invoice's id there.
    static INVOICED: Map<u64, (AccountId, u64)> = b"invoiced";
}

fn acting_for(provider: &AccountId, action: &'static str) -> BillResult<()> {
    ensure!(env::caller_acts_for(provider), BillError::NotForCaller(action));
    Ok(())
}

fn load_bill(id: u64) -> BillResult<Bill> {
    BILLS.get(&id).ok_or(BillError::NoSuchBill(id))
}

fn load_provider(account: &AccountId) -> BillResult<Provider> {
    PROVIDERS.get(account).ok_or(BillError::NotAProvider(*account))
}

fn region_name(region: Region) -> &'static str {
    match region {
        Region::Beijing => "Beijing",
        Region::Tianjin => "Tianjin",
        Region::Hebei => "Hebei",
    }
}

fn kind_name(kind: UtilityKind) -> &'static str {
    match kind {
        UtilityKind::Water => "water",
        UtilityKind::Electricity => "electricity",
        UtilityKind::Gas => "gas",
        UtilityKind::Heating => "heating",
        UtilityKind::WasteFee => "waste fee",
    }
}

/// `amount + late fee` of an unpaid bill at `now`.
fn total_due(bill: &Bill, now: u64) -> BillResult<(u64, u64)> {
    let fee = bill.late_fee_at(now);
    let total = bill.amount.checked_add(fee).ok_or(BillError::AmountDueOverflows(bill.id))?;
    Ok((total, fee))
}

fn load_bills(ids: Vec<u64>) -> BillResult<Vec<Bill>> {
    ids.into_iter().map(load_bill).collect()
}

/// The alliance's auditors read every bill and payment.
fn reader_is_auditor() -> bool {
    env::has_role(&env::caller(), roles::AUDITOR)
}

/// The read policy of one bill: its resident, its provider, auditors.
fn check_bill_reader(bill: &Bill) -> BillResult<()> {
    let reader = env::caller();
    ensure!(
        reader == bill.resident || reader == bill.provider || reader_is_auditor(),
        BillError::NotYoursToRead("a bill is read by its resident, its provider and auditors")
    );
    Ok(())
}

/// The read policy of a resident's bills: the resident and auditors see all of them, a
/// provider the ones it issued, nobody else any.
fn readable_bills_of(resident: &AccountId, bills: Vec<Bill>) -> BillResult<Vec<Bill>> {
    let reader = env::caller();
    if reader == *resident || reader_is_auditor() {
        return Ok(bills);
    }
    ensure!(
        PROVIDERS.contains(&reader),
        BillError::NotYoursToRead("a resident's bills are read by the resident, their providers and auditors")
    );
    Ok(bills.into_iter().filter(|b| b.provider == reader).collect())
}

/// The read policy of a provider's payments: the provider and auditors.
fn check_receipts_reader(provider: &AccountId) -> BillResult<()> {
    ensure!(
        env::caller() == *provider || reader_is_auditor(),
        BillError::NotYoursToRead("a provider's payments are read by the provider and auditors")
    );
    Ok(())
}

pub struct UtilityBills;

#[jjj_sdk::contract(events = UtilityEvent)]
impl UtilityBills {
    /// Creates the contract. It has no admin: who may be a provider is the alliance's call.
    #[constructor]
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> BillResult<()> {
        LAST_BILL.set(&0);
        Ok(())
    }

    /// By the provider itself or a member-admin of its member: registers `provider` (an account
    /// the alliance gave the `utility-provider` role, not yet registered here) with its display
    /// `name` (1..=128 bytes), `region`, the utility `kinds` it supplies (at least one, no
    /// repeats) and its late-fee rate in basis points of the bill per day overdue
    /// (at most 10_000; the total late fee is capped at 100% of the bill).
    #[message]
    pub fn register_provider(
        provider: AccountId,
        name: String,
        region: Region,
        kinds: Vec<UtilityKind>,
        late_fee_bps_per_day: u32,
    ) -> BillResult<()> {
        acting_for(&provider, "register it")?;
        ensure!(env::has_role(&provider, roles::UTILITY_PROVIDER), BillError::NotAUtility(provider));
        ensure!(env::member_region(&provider) == Some(region as u8), BillError::NotItsRegion(provider, region));
        ensure!(!PROVIDERS.contains(&provider), BillError::AlreadyAProvider(provider));
        ensure!(!name.is_empty(), BillError::EmptyName);
        ensure!(name.len() <= MAX_NAME_LEN, BillError::NameTooLong(name.len()));
        ensure!(!kinds.is_empty(), BillError::NoKinds);
        for (i, k) in kinds.iter().enumerate() {
            ensure!(!kinds[..i].contains(k), BillError::KindListedTwice(*k));
        }
        ensure!(late_fee_bps_per_day <= MAX_LATE_FEE_BPS_PER_DAY, BillError::LateFeeTooHigh(late_fee_bps_per_day));
        PROVIDER_LIST.push(&provider)?;
        PROVIDERS.set(
            &provider,
            &Provider {
                account: provider,
                name,
                region,
                member: env::member_of(&provider).unwrap_or_default(),
                kinds,
                late_fee_bps_per_day,
                active: true,
                registered_at: env::block_time(),
            },
        );
        Ok(())
    }

    /// By the provider itself or a member-admin of its member: activates or deactivates it. A
    /// deactivated provider cannot issue bills; the bills it already issued stay payable to it.
    #[message]
    pub fn set_provider_active(provider: AccountId, active: bool) -> BillResult<()> {
        acting_for(&provider, "activate or deactivate it")?;
        let mut p = load_provider(&provider)?;
        p.active = active;
        PROVIDERS.set(&provider, &p);
        Ok(())
    }

    /// Provider only: issues a bill of `kind` for `amount` fen (> 0) to `resident`, for the
    /// billing `period` (1..=64 bytes), due at `due` (ms since the Unix epoch, after now).
    /// The caller must be an active provider supplying `kind`. Returns the new bill's id.
    #[message]
    pub fn issue_bill(
        resident: AccountId,
        kind: UtilityKind,
        amount: u64,
        period: String,
        due: u64,
    ) -> BillResult<u64> {
        let caller = env::caller();
        let provider = PROVIDERS.get(&caller).ok_or(BillError::NotAnIssuer(caller))?;
        ensure!(provider.active, BillError::ProviderInactive(provider.name));
        ensure!(env::has_role(&caller, roles::UTILITY_PROVIDER), BillError::NotAUtility(caller));
        ensure!(provider.kinds.contains(&kind), BillError::KindNotSupplied { provider: provider.name, kind });
        ensure!(resident != caller, BillError::BillsItself);
        ensure!(amount > 0, BillError::ZeroAmount);
        ensure!(!period.is_empty(), BillError::EmptyPeriod);
        ensure!(period.len() <= MAX_PERIOD_LEN, BillError::PeriodTooLong(period.len()));
        let now = env::block_time();
        ensure!(due > now, BillError::DueNotAfterNow { due, now });

        let id = LAST_BILL.get_or(0).checked_add(1).ok_or(BillError::BillIdsExhausted)?;
        LAST_BILL.set(&id);
        BILLS.set(
            &id,
            &Bill {
                id,
                provider: caller,
                resident,
                kind,
                amount,
                period,
                issued_at: now,
                due,
                late_fee_bps_per_day: provider.late_fee_bps_per_day,
                payment: None,
            },
        );
        RESIDENT_BILLS.push(&resident, &id)?;
        env::emit(&UtilityEvent::BillIssued { bill_id: id, provider: caller, resident, amount, due });
        Ok(id)
    }

    /// What paying bill `bill_id` costs now: its amount plus the late fee at the current block
    /// time. 0 for a bill already paid. Read policy: the bill's.
    #[message(query, protected)]
    pub fn amount_due(bill_id: u64) -> BillResult<u64> {
        let bill = load_bill(bill_id)?;
        check_bill_reader(&bill)?;
        if bill.is_paid() {
            return Ok(0);
        }
        Ok(total_due(&bill, env::block_time())?.0)
    }

    /// Resident only: pays bill `bill_id` with the attached value. Exactly the amount due:
    /// paid. More: paid, and the excess is refunded to the caller. Less: refused, naming the
    /// amount due. The amount due goes to the provider now. A bill is paid once.
    /// Returns the payment receipt.
    #[message(payable)]
    pub fn pay(bill_id: u64) -> BillResult<PaymentReceipt> {
        let mut bill = load_bill(bill_id)?;
        let payer = env::caller();
        ensure!(payer == bill.resident, BillError::NotTheResident(bill_id));
        ensure!(!bill.is_paid(), BillError::AlreadyPaid(bill_id));
        let now = env::block_time();
        let (total, late_fee) = total_due(&bill, now)?;
        let attached = env::value();
        ensure!(attached >= total, BillError::Underpaid { bill_id, total, amount: bill.amount, late_fee, attached });
        let receipt = PaymentReceipt { bill_id, payer, amount_paid: total, late_fee, paid_at: now };
        bill.payment = Some(receipt.clone());
        BILLS.set(&bill_id, &bill);
        RECEIPTS.push(&bill.provider, &receipt)?;

        env::transfer(&bill.provider, total)?;
        let excess = attached - total;
        if excess > 0 {
            env::transfer(&payer, excess)?;
        }
        env::emit(&UtilityEvent::BillPaid { bill_id, provider: bill.provider, payer, amount: total, late_fee });
        Ok(receipt)
    }

    /// The provider (or a member-admin of its member) has paid bill `bill_id` invoiced to the
    /// resident who paid it, by the e-invoice contract `e_invoice` (the official one:
    /// `jjj registry e-invoice`); `tax` is the tax included in the amount paid. Returns the
    /// invoice's id there. Once per bill.
    #[message]
    pub fn invoice_payment(bill_id: u64, e_invoice: AccountId, tax: u64) -> BillResult<u64> {
        let bill = load_bill(bill_id)?;
        acting_for(&bill.provider, "have its bills invoiced")?;
        let Some(paid) = &bill.payment else { return Err(BillError::NotPaidYet(bill_id)) };
        if let Some((e_invoice, invoice)) = INVOICED.get(&bill_id) {
            return Err(BillError::AlreadyInvoiced { bill_id, e_invoice, invoice });
        }
        let items = format!("{} {}", kind_name(bill.kind), bill.period);
        let mut input = env::selector("issue_from_source").to_vec();
        (bill.provider, paid.payer, paid.amount_paid, tax, items, &bill.period, bill_id).encode_to(&mut input);
        let invoice: u64 = CallBuilder::new(e_invoice).input(input).invoke_decode()?;
        INVOICED.set(&bill_id, &(e_invoice, invoice));
        env::emit(&UtilityEvent::Invoiced { bill_id, provider: bill.provider, e_invoice, invoice });
        Ok(invoice)
    }

    /// The e-invoice contract and invoice bill `id` was invoiced as, if it was. Read policy:
    /// the bill's.
    #[message(query, protected)]
    pub fn invoice_of(id: u64) -> BillResult<Option<(AccountId, u64)>> {
        check_bill_reader(&load_bill(id)?)?;
        Ok(INVOICED.get(&id))
    }

    /// The bill with id `id`, if any. Read policy: its resident, its provider, auditors.
    #[message(query, protected)]
    pub fn bill(id: u64) -> BillResult<Option<Bill>> {
        let bill = BILLS.get(&id);
        if let Some(b) = &bill {
            check_bill_reader(b)?;
        }
        Ok(bill)
    }

    /// All bills issued to `resident`, oldest first (for long histories use `bills_of_page`).
    /// Read policy: the resident and auditors see all, a provider the bills it issued.
    #[message(query, protected)]
    pub fn bills_of(resident: AccountId) -> BillResult<Vec<Bill>> {
        readable_bills_of(&resident, load_bills(RESIDENT_BILLS.iter(&resident).collect())?)
    }

    /// The bills issued to `resident` that are not yet paid, oldest first. Read policy as
    /// `bills_of`.
    #[message(query, protected)]
    pub fn unpaid_bills_of(resident: AccountId) -> BillResult<Vec<Bill>> {
        let mut all = readable_bills_of(&resident, load_bills(RESIDENT_BILLS.iter(&resident).collect())?)?;
        all.retain(|b| !b.is_paid());
        Ok(all)
    }

    /// Up to `limit` (at most 50) of `resident`'s bills, starting at its `start`-th (0-based),
    /// oldest first. Read policy as `bills_of`.
    #[message(query, protected)]
    pub fn bills_of_page(resident: AccountId, start: u32, limit: u32) -> BillResult<Vec<Bill>> {
        readable_bills_of(&resident, load_bills(RESIDENT_BILLS.page(&resident, start, limit.min(MAX_PAGE)))?)
    }

    /// How many bills were issued to `resident` (a count reveals no bill: public).
    #[message(query)]
    pub fn bill_count_of(resident: AccountId) -> BillResult<u32> {
        Ok(RESIDENT_BILLS.len(&resident))
    }

    /// Every payment received by `provider`, oldest first (for long lists use
    /// `receipts_of_page`). Read policy: the provider and auditors.
    #[message(query, protected)]
    pub fn receipts_of(provider: AccountId) -> BillResult<Vec<PaymentReceipt>> {
        check_receipts_reader(&provider)?;
        Ok(RECEIPTS.iter(&provider).collect())
    }

    /// Up to `limit` (at most 50) of `provider`'s receipts, starting at its `start`-th
    /// (0-based), oldest first. Read policy: the provider and auditors.
    #[message(query, protected)]
    pub fn receipts_of_page(provider: AccountId, start: u32, limit: u32) -> BillResult<Vec<PaymentReceipt>> {
        check_receipts_reader(&provider)?;
        Ok(RECEIPTS.page(&provider, start, limit.min(MAX_PAGE)))
    }

    /// The provider registered under `account`, if any.
    #[message(query)]
    pub fn provider(account: AccountId) -> BillResult<Option<Provider>> {
        Ok(PROVIDERS.get(&account))
    }

    /// Every registered provider, in registration order.
    #[message(query)]
    pub fn providers() -> BillResult<Vec<Provider>> {
        PROVIDER_LIST.iter().map(|account| load_provider(&account)).collect()
    }
}
