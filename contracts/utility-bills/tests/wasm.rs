//! The real wasm on the real runtime: the utility-bills story across Beijing, Tianjin and Hebei,
//! and the main refused paths, with exact balances, events and receipts.
use jjj_primitives::{Event, Receipt};
use jjj_sdk::AccountId;
use jjj_testkit::{contract_wasm, TestAccount, TestChain};
use parity_scale_codec::Decode;
use utility_bills::{msg, Bill, PaymentReceipt, Provider, Region, UtilityEvent, UtilityKind, DAY_MS};

const FUNDS: u64 = 1_000_000;

struct Story {
    chain: TestChain,
    c: AccountId,
    admin: TestAccount,
    bj_water: TestAccount,
    tj_grid: TestAccount,
    hebei_resident: TestAccount,
    beijing_resident: TestAccount,
    stranger: TestAccount,
    /// Holds the alliance's auditor role: reads every bill under the read policy.
    auditor: TestAccount,
}

fn story() -> Story {
    let mut chain = TestChain::new();
    let admin = chain.account("admin", FUNDS);
    let bj_water = chain.account("beijing-water", FUNDS);
    let tj_grid = chain.account("tianjin-grid", FUNDS);
    let hebei_resident = chain.account("resident-langfang", FUNDS);
    let beijing_resident = chain.account("resident-chaoyang", FUNDS);
    let stranger = chain.account("stranger", FUNDS);
    let auditor = chain.account("auditor", FUNDS);
    chain.set_roles(&auditor.id, &["auditor"]);
    let code = chain.upload(&admin, &contract_wasm("utility_bills")).expect("upload");
    let c = chain.instantiate(&admin, code, 0, msg::new()).expect("instantiate");
    // The alliance made the two companies utility providers; each registers itself.
    chain.set_roles(&bj_water.id, &["utility-provider"]);
    chain.set_roles(&tj_grid.id, &["utility-provider"]);
    // The test chain's accounts belong to a Beijing member; the grid company to Tianjin's.
    chain.set_member(&tj_grid.id, "tianjin", jjj_primitives::gov::Region::Tianjin);
    let r = chain.call(
        &bj_water,
        &c,
        0,
        msg::register_provider(bj_water.id, "北京市自来水集团".into(), Region::Beijing, vec![UtilityKind::Water], 30),
    );
    assert!(r.is_success(), "{:?}", r.reason());
    let r = chain.call(
        &tj_grid,
        &c,
        0,
        msg::register_provider(
            tj_grid.id,
            "国网天津市电力公司".into(),
            Region::Tianjin,
            vec![UtilityKind::Electricity],
            50,
        ),
    );
    assert!(r.is_success(), "{:?}", r.reason());
    Story { chain, c, admin, bj_water, tj_grid, hebei_resident, beijing_resident, stranger, auditor }
}

fn events_of(r: &Receipt) -> Vec<UtilityEvent> {
    r.events.iter().map(|e: &Event| UtilityEvent::decode(&mut &e.data[..]).expect("event decodes")).collect()
}

impl Story {
    fn bill(&self, id: u64) -> Option<Bill> {
        self.chain.query(&self.auditor.id, &self.c, msg::bill(id)).expect("query bill")
    }
    fn bal(&self, a: &AccountId) -> u64 {
        self.chain.balance(a)
    }
}

#[test]
fn cross_region_bills_are_paid_on_chain() {
    let mut s = story();
    let c = s.c;

    // A Hebei resident pays the Beijing water company.
    let due = s.chain.time() + 15 * DAY_MS;
    let r = s.chain.call(
        &s.bj_water,
        &c,
        0,
        msg::issue_bill(s.hebei_resident.id, UtilityKind::Water, 4_280, "2026-01".into(), due),
    );
    assert!(r.is_success(), "{:?}", r.reason());
    let water_bill = u64::decode(&mut &r.output[..]).unwrap();
    assert_eq!(water_bill, 1);
    assert_eq!(
        events_of(&r),
        vec![UtilityEvent::BillIssued {
            bill_id: 1,
            provider: s.bj_water.id,
            resident: s.hebei_resident.id,
            amount: 4_280,
            due
        }]
    );
    assert_eq!(r.events[0].contract, c);
    // Name, bill, provider, resident, and the protected-event mark the node filters on.
    assert_eq!(r.events[0].topics.len(), 5);
    assert_eq!(r.events[0].topics[4].0, jjj_sdk::PROTECTED_EVENT_TOPIC);

    let unpaid: Vec<Bill> = s.chain.query(&s.auditor.id, &c, msg::unpaid_bills_of(s.hebei_resident.id)).unwrap();
    assert_eq!(unpaid.len(), 1);
    assert_eq!(unpaid[0].provider, s.bj_water.id);
    assert_eq!(unpaid[0].amount, 4_280);

    let (hebei0, water0) = (s.bal(&s.hebei_resident.id), s.bal(&s.bj_water.id));
    // Overpay by 720: the excess comes back in the same transaction.
    let r = s.chain.call(&s.hebei_resident, &c, 5_000, msg::pay(water_bill));
    assert!(r.is_success(), "{:?}", r.reason());
    let receipt = PaymentReceipt::decode(&mut &r.output[..]).unwrap();
    assert_eq!(
        (receipt.bill_id, receipt.payer, receipt.amount_paid, receipt.late_fee),
        (1, s.hebei_resident.id, 4_280, 0)
    );
    assert_eq!(
        events_of(&r),
        vec![UtilityEvent::BillPaid {
            bill_id: 1,
            provider: s.bj_water.id,
            payer: s.hebei_resident.id,
            amount: 4_280,
            late_fee: 0
        }]
    );
    assert_eq!(s.bal(&s.hebei_resident.id), hebei0 - 4_280);
    assert_eq!(s.bal(&s.bj_water.id), water0 + 4_280);
    assert_eq!(s.bal(&c), 0);

    // Paid once.
    let reason = s.chain.call_err(&s.hebei_resident, &c, 4_280, msg::pay(water_bill));
    assert!(reason.contains("bill 1 is already paid"), "{reason}");
    assert_eq!(s.bal(&s.hebei_resident.id), hebei0 - 4_280);
    assert_eq!(s.bal(&s.bj_water.id), water0 + 4_280);

    // A Beijing resident pays the Tianjin grid company, exactly.
    let due = s.chain.time() + 20 * DAY_MS;
    let power_bill: u64 = s.chain.call_ok(
        &s.tj_grid,
        &c,
        0,
        msg::issue_bill(s.beijing_resident.id, UtilityKind::Electricity, 15_630, "2026-01".into(), due),
    );
    assert_eq!(power_bill, 2);
    let (bj0, grid0) = (s.bal(&s.beijing_resident.id), s.bal(&s.tj_grid.id));

    // Wrong payer: refused, nothing moves.
    let reason = s.chain.call_err(&s.hebei_resident, &c, 15_630, msg::pay(power_bill));
    assert!(reason.contains("only the resident of bill 2 may pay it"), "{reason}");
    // Underpayment: refused, naming the amount due, nothing moves.
    let reason = s.chain.call_err(&s.beijing_resident, &c, 15_000, msg::pay(power_bill));
    assert!(reason.contains("bill 2 needs 15630 fen, only 15000 fen attached"), "{reason}");
    assert_eq!(s.bal(&s.beijing_resident.id), bj0);
    assert_eq!(s.bal(&s.tj_grid.id), grid0);
    assert_eq!(s.bal(&s.hebei_resident.id), hebei0 - 4_280);
    assert_eq!(s.bal(&c), 0);
    assert!(!s.bill(power_bill).unwrap().is_paid());

    let receipt: PaymentReceipt = s.chain.call_ok(&s.beijing_resident, &c, 15_630, msg::pay(power_bill));
    assert_eq!(receipt.amount_paid, 15_630);
    assert_eq!(s.bal(&s.beijing_resident.id), bj0 - 15_630);
    assert_eq!(s.bal(&s.tj_grid.id), grid0 + 15_630);

    let grid_receipts: Vec<PaymentReceipt> = s.chain.query(&s.auditor.id, &c, msg::receipts_of(s.tj_grid.id)).unwrap();
    assert_eq!(grid_receipts, vec![receipt]);
    let water_receipts: Vec<PaymentReceipt> =
        s.chain.query(&s.auditor.id, &c, msg::receipts_of(s.bj_water.id)).unwrap();
    assert_eq!(water_receipts.len(), 1);
    assert_eq!(water_receipts[0].payer, s.hebei_resident.id);
    let hebei_bills: Vec<Bill> = s.chain.query(&s.auditor.id, &c, msg::bills_of(s.hebei_resident.id)).unwrap();
    assert_eq!(hebei_bills.iter().map(|b| (b.id, b.is_paid())).collect::<Vec<_>>(), vec![(1, true)]);
    let p: Option<Provider> = s.chain.query(&s.stranger.id, &c, msg::provider(s.tj_grid.id)).unwrap();
    assert_eq!(p.map(|p| (p.region, p.kinds)), Some((Region::Tianjin, vec![UtilityKind::Electricity])));
}

#[test]
fn late_payment_pays_the_exact_late_fee_on_chain() {
    let mut s = story();
    let c = s.c;
    let due = s.chain.time() + DAY_MS;
    let id: u64 = s.chain.call_ok(
        &s.bj_water,
        &c,
        0,
        msg::issue_bill(s.hebei_resident.id, UtilityKind::Water, 12_345, "2026-02".into(), due),
    );
    // Two days and one hour after the due date: three started days at 30 bps per day.
    // floor(12_345 * 30 * 3 / 10_000) = 111 fen.
    let target = due + 2 * DAY_MS + 3_600_000;
    s.chain.advance_time(target - s.chain.time());
    assert_eq!(s.chain.query::<u64>(&s.auditor.id, &c, msg::amount_due(id)), Ok(12_456));

    let (hebei0, water0) = (s.bal(&s.hebei_resident.id), s.bal(&s.bj_water.id));
    let reason = s.chain.call_err(&s.hebei_resident, &c, 12_345, msg::pay(id));
    assert!(
        reason.contains("bill 1 needs 12456 fen (12345 fen + 111 fen late fee), only 12345 fen attached"),
        "{reason}"
    );
    assert_eq!(s.bal(&s.hebei_resident.id), hebei0);

    let r = s.chain.call(&s.hebei_resident, &c, 12_456, msg::pay(id));
    assert!(r.is_success(), "{:?}", r.reason());
    assert_eq!(
        events_of(&r),
        vec![UtilityEvent::BillPaid {
            bill_id: id,
            provider: s.bj_water.id,
            payer: s.hebei_resident.id,
            amount: 12_456,
            late_fee: 111
        }]
    );
    assert_eq!(s.bal(&s.hebei_resident.id), hebei0 - 12_456);
    assert_eq!(s.bal(&s.bj_water.id), water0 + 12_456);
    assert_eq!(s.bal(&c), 0);
    let bill = s.bill(id).unwrap();
    assert_eq!(bill.payment.map(|p| (p.amount_paid, p.late_fee)), Some((12_456, 111)));
}

#[test]
fn forbidden_issuing_on_chain() {
    let mut s = story();
    let c = s.c;
    let due = s.chain.time() + 10 * DAY_MS;
    // Not a provider.
    let reason = s.chain.call_err(
        &s.stranger,
        &c,
        0,
        msg::issue_bill(s.beijing_resident.id, UtilityKind::Water, 100, "2026-01".into(), due),
    );
    assert!(reason.contains("only a registered provider may issue bills"), "{reason}");
    // A kind the provider does not supply.
    let reason = s.chain.call_err(
        &s.bj_water,
        &c,
        0,
        msg::issue_bill(s.beijing_resident.id, UtilityKind::Gas, 100, "2026-01".into(), due),
    );
    assert!(reason.contains("does not supply gas"), "{reason}");
    // Only accounts the alliance made utility providers may register, even for themselves.
    let reason = s.chain.call_err(
        &s.stranger,
        &c,
        0,
        msg::register_provider(s.stranger.id, "fake".into(), Region::Hebei, vec![UtilityKind::Gas], 0),
    );
    assert!(reason.contains("lacks the role utility-provider"), "{reason}");
    // Value sent to a non-payable message is refused and stays with the sender.
    let before = s.bal(&s.bj_water.id);
    let r = s.chain.call(
        &s.bj_water,
        &c,
        50,
        msg::issue_bill(s.beijing_resident.id, UtilityKind::Water, 100, "2026-01".into(), due),
    );
    assert!(!r.is_success());
    assert!(r.reason().unwrap_or("").contains("does not accept value"), "{:?}", r.reason());
    assert_eq!(s.bal(&s.bj_water.id), before);
    let bills: Vec<Bill> = s.chain.query(&s.auditor.id, &c, msg::bills_of(s.beijing_resident.id)).unwrap();
    assert!(bills.is_empty());
}

/// The read policy as the node runs it: a bill is read by its resident, its provider and an
/// auditor; the deployer (admin) and a stranger are refused by the contract; a read nobody
/// signed is refused before the contract looks, even for the resident.
#[test]
fn bills_are_read_under_their_policy_on_chain() {
    let mut s = story();
    let c = s.c;
    let due = s.chain.time() + 15 * DAY_MS;
    let id: u64 = s.chain.call_ok(
        &s.bj_water,
        &c,
        0,
        msg::issue_bill(s.hebei_resident.id, UtilityKind::Water, 100, "2026-02".into(), due),
    );
    for allowed in [&s.hebei_resident, &s.bj_water, &s.auditor] {
        let bill: Option<Bill> = s.chain.query(&allowed.id, &c, msg::bill(id)).expect("allowed");
        assert_eq!(bill.map(|b| b.amount), Some(100));
    }
    for refused in [&s.admin, &s.stranger, &s.tj_grid, &s.beijing_resident] {
        let e = s.chain.query::<Option<Bill>>(&refused.id, &c, msg::bill(id)).unwrap_err();
        assert!(e.contains("read refused"), "{e}");
    }
    let e = s.chain.query_unsigned::<Option<Bill>>(&s.hebei_resident.id, &c, msg::bill(id)).unwrap_err();
    assert!(e.contains("only a signed read request may read it"), "{e}");
    let providers: Vec<Provider> = s.chain.query_unsigned(&s.stranger.id, &c, msg::providers()).expect("public");
    assert_eq!(providers.len(), 2);
}

#[test]
fn a_paid_bill_becomes_an_e_invoice_by_a_cross_contract_call() {
    let mut s = story();
    let c = s.c;
    let bureau = s.chain.account("tax-bureau", FUNDS);
    s.chain.set_roles(&bureau.id, &["tax-bureau"]);
    let code = s.chain.upload(&s.admin, &contract_wasm("e_invoice")).expect("upload e-invoice");
    let inv = s.chain.instantiate(&s.admin, code, 0, e_invoice::msg::new()).expect("instantiate e-invoice");
    let due = s.chain.time() + DAY_MS;
    let bill: u64 = s.chain.call_ok(
        &s.bj_water,
        &c,
        0,
        msg::issue_bill(s.hebei_resident.id, UtilityKind::Water, 4_280, "2026-11".into(), due),
    );
    let e = s.chain.call_err(&s.bj_water, &c, 0, msg::invoice_payment(bill, inv, 0));
    assert!(e.contains("bill 1 is not paid yet"), "{e}");
    s.chain.call_ok::<PaymentReceipt>(&s.hebei_resident, &c, 4_280, msg::pay(bill));
    // Neither a source nor an issuer the bureau authorised yet: the e-invoice contract refuses,
    // and its reason comes back through the bills contract.
    let e = s.chain.call_err(&s.bj_water, &c, 0, msg::invoice_payment(bill, inv, 0));
    assert!(e.contains("is not a receipt source the tax bureau authorised"), "{e}");
    s.chain.call_ok::<()>(&bureau, &inv, 0, e_invoice::msg::authorise_source(c, true));
    let e = s.chain.call_err(&s.bj_water, &c, 0, msg::invoice_payment(bill, inv, 0));
    assert!(e.contains("is not an issuer the tax bureau authorised"), "{e}");
    s.chain.call_ok::<()>(&bureau, &inv, 0, e_invoice::msg::authorise_issuer(s.bj_water.id, "北京自来水".into()));
    let e = s.chain.call_err(&s.tj_grid, &c, 0, msg::invoice_payment(bill, inv, 0));
    assert!(e.contains("only the provider itself"), "{e}");
    let r = s.chain.call(&s.bj_water, &c, 0, msg::invoice_payment(bill, inv, 246));
    assert!(r.is_success(), "{:?}", r.reason());
    let invoice = u64::decode(&mut &r.output[..]).expect("invoice id");
    let ours: Vec<UtilityEvent> = r
        .events
        .iter()
        .filter(|e| e.contract == c)
        .map(|e| UtilityEvent::decode(&mut &e.data[..]).expect("event decodes"))
        .collect();
    assert_eq!(ours, [UtilityEvent::Invoiced { bill_id: bill, provider: s.bj_water.id, e_invoice: inv, invoice }]);
    let got: Option<e_invoice::Invoice> =
        s.chain.query(&s.hebei_resident.id, &inv, e_invoice::msg::invoice(invoice)).expect("read");
    let got = got.expect("the invoice");
    assert_eq!((got.issuer, got.buyer, got.amount, got.tax), (s.bj_water.id, s.hebei_resident.id, 4_280, 246));
    assert_eq!(got.items, "water 2026-11");
    let e = s.chain.call_err(&s.bj_water, &c, 0, msg::invoice_payment(bill, inv, 246));
    assert!(e.contains(&format!("bill 1 is invoiced already, as invoice #{invoice}")), "{e}");
    let link: Option<(AccountId, u64)> =
        s.chain.query(&s.hebei_resident.id, &c, msg::invoice_of(bill)).expect("read the link");
    assert_eq!(link, Some((inv, invoice)));
}
