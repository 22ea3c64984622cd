//! Native tests of utility-bills against the SDK's mock host: the whole story across regions
//! and every refused path, with exact balances, events and unchanged state after refusals.
use jjj_sdk::prelude::*;
use jjj_sdk::testing::{EmittedEvent, TestEnv};
use utility_bills::{msg, Bill, PaymentReceipt, Provider, Region, UtilityBills, UtilityEvent, UtilityKind, DAY_MS};

const START_BALANCE: u64 = 10_000_000;

struct World {
    env: TestEnv,
    c: AccountId,
    admin: AccountId,
    /// 北京自来水 — Beijing water company, 30 bps (0.3%) per day late.
    bj_water: AccountId,
    /// 天津电网 — Tianjin grid company, 50 bps per day late.
    tj_grid: AccountId,
    /// 河北燃气/供热 — Hebei gas + heating, no late fee.
    hb_gas: AccountId,
    hebei_resident: AccountId,
    beijing_resident: AccountId,
    stranger: AccountId,
    /// Holds the alliance's auditor role: reads every bill (the helpers below read as it).
    auditor: AccountId,
}

fn world() -> World {
    let env = TestEnv::new();
    // The member-admin of Tianjin (the contract has no admin of its own).
    let admin = TestEnv::account("tianjin-admin");
    let bj_water = TestEnv::account("beijing-water");
    let tj_grid = TestEnv::account("tianjin-grid");
    let hb_gas = TestEnv::account("hebei-gas");
    let hebei_resident = TestEnv::account("resident-langfang");
    let beijing_resident = TestEnv::account("resident-chaoyang");
    let stranger = TestEnv::account("stranger");
    let auditor = TestEnv::account("alliance-auditor");
    for a in [&admin, &bj_water, &tj_grid, &hb_gas, &hebei_resident, &beijing_resident, &stranger] {
        env.set_balance(a, START_BALANCE);
    }
    // The alliance's registry: who registered whom, with which roles.
    env.register(&admin, "tianjin", &[roles::MEMBER_ADMIN]);
    env.register(&auditor, "beijing", &[roles::AUDITOR]);
    env.register(&bj_water, "beijing", &[roles::UTILITY_PROVIDER]);
    env.register(&tj_grid, "tianjin", &[roles::UTILITY_PROVIDER]);
    env.register(&hb_gas, "hebei", &[roles::UTILITY_PROVIDER]);
    for r in [&hebei_resident, &beijing_resident] {
        env.register(r, "hebei", &[roles::RESIDENT]);
    }
    let c = env.deploy(UtilityBills::ENTRY, &admin, 0, msg::new()).expect("deploy");
    // Beijing's water company registers itself; Tianjin's grid is registered by its member's
    // admin; Hebei's gas company registers itself.
    env.call(
        &bj_water,
        &c,
        0,
        msg::register_provider(bj_water, "北京市自来水集团".into(), Region::Beijing, vec![UtilityKind::Water], 30),
    )
    .expect("register beijing water");
    env.call(
        &admin,
        &c,
        0,
        msg::register_provider(
            tj_grid,
            "国网天津市电力公司".into(),
            Region::Tianjin,
            vec![UtilityKind::Electricity],
            50,
        ),
    )
    .expect("register tianjin grid");
    env.call(
        &hb_gas,
        &c,
        0,
        msg::register_provider(
            hb_gas,
            "河北燃气热力".into(),
            Region::Hebei,
            vec![UtilityKind::Gas, UtilityKind::Heating],
            0,
        ),
    )
    .expect("register hebei gas");
    World { env, c, admin, bj_water, tj_grid, hb_gas, hebei_resident, beijing_resident, stranger, auditor }
}

impl World {
    fn issue(
        &self,
        provider: &AccountId,
        resident: AccountId,
        kind: UtilityKind,
        amount: u64,
        period: &str,
        due: u64,
    ) -> Result<u64, String> {
        self.env.call_decode(provider, &self.c, 0, msg::issue_bill(resident, kind, amount, period.into(), due))
    }
    fn due_in_days(&self, days: u64) -> u64 {
        self.env.block_time() + days * DAY_MS
    }
    fn bill(&self, id: u64) -> Option<Bill> {
        self.env.call_decode(&self.auditor, &self.c, 0, msg::bill(id)).unwrap()
    }
    fn amount_due(&self, id: u64) -> Result<u64, String> {
        self.env.call_decode(&self.auditor, &self.c, 0, msg::amount_due(id))
    }
    fn pay(&self, payer: &AccountId, id: u64, value: u64) -> Result<PaymentReceipt, String> {
        self.env.call_decode(payer, &self.c, value, msg::pay(id))
    }
    fn bills_of(&self, r: AccountId) -> Vec<Bill> {
        self.env.call_decode(&self.auditor, &self.c, 0, msg::bills_of(r)).unwrap()
    }
    fn unpaid_bills_of(&self, r: AccountId) -> Vec<Bill> {
        self.env.call_decode(&self.auditor, &self.c, 0, msg::unpaid_bills_of(r)).unwrap()
    }
    fn receipts_of(&self, p: AccountId) -> Vec<PaymentReceipt> {
        self.env.call_decode(&self.auditor, &self.c, 0, msg::receipts_of(p)).unwrap()
    }
    fn bal(&self, a: &AccountId) -> u64 {
        self.env.balance(a)
    }
}

fn decode_events(events: &[EmittedEvent]) -> Vec<UtilityEvent> {
    events.iter().map(|e| e.decode::<UtilityEvent>().expect("decodes")).collect()
}

#[test]
fn hebei_resident_pays_a_beijing_water_company() {
    let w = world();
    let now = w.env.block_time();
    let due = w.due_in_days(15);
    let id = w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Water, 4_280, "2026-01", due).unwrap();
    assert_eq!(id, 1);

    let events = w.env.take_events();
    assert_eq!(events.len(), 1);
    assert!(events[0].is("BillIssued"));
    assert_eq!(events[0].contract, w.c);
    assert_eq!(
        events[0].decode::<UtilityEvent>(),
        Some(UtilityEvent::BillIssued {
            bill_id: 1,
            provider: w.bj_water,
            resident: w.hebei_resident,
            amount: 4_280,
            due
        })
    );
    // Name, bill, provider, resident, and the mark of a protected event.
    assert_eq!(events[0].topics.len(), 5);
    assert_eq!(events[0].topics[4], jjj_sdk::Hash(jjj_sdk::PROTECTED_EVENT_TOPIC));
    assert_eq!(events[0].topics[1], jjj_sdk::event::u64_topic(1));
    assert_eq!(events[0].topics[2], jjj_sdk::event::account_topic(&w.bj_water));
    assert_eq!(events[0].topics[3], jjj_sdk::event::account_topic(&w.hebei_resident));

    let bill = w.bill(1).expect("bill 1");
    assert_eq!(
        bill,
        Bill {
            id: 1,
            provider: w.bj_water,
            resident: w.hebei_resident,
            kind: UtilityKind::Water,
            amount: 4_280,
            period: "2026-01".into(),
            issued_at: now,
            due,
            late_fee_bps_per_day: 30,
            payment: None,
        }
    );
    assert_eq!(w.unpaid_bills_of(w.hebei_resident), vec![bill.clone()]);
    assert_eq!(w.amount_due(1), Ok(4_280));

    // Ten days later, still before the due date: exactly the amount, no fee.
    w.env.advance_time(10 * DAY_MS);
    let paid_at = w.env.block_time();
    let receipt = w.pay(&w.hebei_resident, 1, 4_280).unwrap();
    let expected = PaymentReceipt { bill_id: 1, payer: w.hebei_resident, amount_paid: 4_280, late_fee: 0, paid_at };
    assert_eq!(receipt, expected);
    assert_eq!(w.bal(&w.hebei_resident), START_BALANCE - 4_280);
    assert_eq!(w.bal(&w.bj_water), START_BALANCE + 4_280);
    assert_eq!(w.bal(&w.c), 0, "the contract keeps nothing");

    let events = w.env.take_events();
    assert_eq!(events.len(), 1);
    assert!(events[0].is("BillPaid"));
    assert_eq!(
        decode_events(&events),
        vec![UtilityEvent::BillPaid {
            bill_id: 1,
            provider: w.bj_water,
            payer: w.hebei_resident,
            amount: 4_280,
            late_fee: 0
        }]
    );
    assert_eq!(events[0].topics[3], jjj_sdk::event::account_topic(&w.hebei_resident));

    let paid = w.bill(1).unwrap();
    assert_eq!(paid.payment, Some(expected.clone()));
    assert!(paid.is_paid());
    assert_eq!(w.bills_of(w.hebei_resident), vec![paid]);
    assert!(w.unpaid_bills_of(w.hebei_resident).is_empty());
    assert_eq!(w.receipts_of(w.bj_water), vec![expected]);
    assert_eq!(w.amount_due(1), Ok(0), "nothing is due on a paid bill");
    assert!(w.receipts_of(w.tj_grid).is_empty());
}

#[test]
fn beijing_resident_pays_a_tianjin_grid_company_and_bills_stay_apart() {
    let w = world();
    let e1 = w
        .issue(&w.tj_grid, w.beijing_resident, UtilityKind::Electricity, 15_630, "2026-01", w.due_in_days(20))
        .unwrap();
    let w1 = w.issue(&w.bj_water, w.beijing_resident, UtilityKind::Water, 3_900, "2026-01", w.due_in_days(20)).unwrap();
    let h1 = w
        .issue(&w.hb_gas, w.hebei_resident, UtilityKind::Heating, 240_000, "2025-2026 采暖季", w.due_in_days(30))
        .unwrap();
    assert_eq!((e1, w1, h1), (1, 2, 3));

    let receipt = w.pay(&w.beijing_resident, e1, 15_630).unwrap();
    assert_eq!(receipt.amount_paid, 15_630);
    assert_eq!(receipt.late_fee, 0);
    assert_eq!(w.bal(&w.beijing_resident), START_BALANCE - 15_630);
    assert_eq!(w.bal(&w.tj_grid), START_BALANCE + 15_630);
    assert_eq!(w.bal(&w.bj_water), START_BALANCE, "the other provider got nothing");

    let mine: Vec<u64> = w.bills_of(w.beijing_resident).iter().map(|b| b.id).collect();
    assert_eq!(mine, vec![e1, w1]);
    let unpaid: Vec<u64> = w.unpaid_bills_of(w.beijing_resident).iter().map(|b| b.id).collect();
    assert_eq!(unpaid, vec![w1]);
    let hebei: Vec<u64> = w.bills_of(w.hebei_resident).iter().map(|b| b.id).collect();
    assert_eq!(hebei, vec![h1]);
    assert_eq!(w.receipts_of(w.tj_grid).len(), 1);
    assert_eq!(w.receipts_of(w.tj_grid)[0].payer, w.beijing_resident);
    assert!(w.receipts_of(w.bj_water).is_empty());

    // The Hebei resident's heating bill goes to the Hebei company the same way.
    w.pay(&w.hebei_resident, h1, 240_000).unwrap();
    assert_eq!(w.bal(&w.hb_gas), START_BALANCE + 240_000);
    assert_eq!(w.bal(&w.c), 0);
}

#[test]
fn late_payment_adds_the_exact_late_fee() {
    let w = world();
    let due = w.due_in_days(15);
    let id = w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Water, 12_345, "2026-02", due).unwrap();

    // At exactly the due time: no fee.
    w.env.set_block(10, due);
    assert_eq!(w.amount_due(id), Ok(12_345));
    // One millisecond late counts as one started day: floor(12_345 * 30 * 1 / 10_000) = 37.
    w.env.set_block(11, due + 1);
    assert_eq!(w.amount_due(id), Ok(12_345 + 37));
    // Exactly one day late: still one day.
    w.env.set_block(12, due + DAY_MS);
    assert_eq!(w.amount_due(id), Ok(12_345 + 37));
    // Two days and one hour late: three started days: floor(12_345 * 90 / 10_000) = floor(111.105) = 111.
    w.env.set_block(13, due + 2 * DAY_MS + 3_600_000);
    assert_eq!(w.amount_due(id), Ok(12_345 + 111));

    let before = w.bal(&w.hebei_resident);
    let receipt = w.pay(&w.hebei_resident, id, 12_456).unwrap();
    assert_eq!(receipt.amount_paid, 12_456);
    assert_eq!(receipt.late_fee, 111);
    assert_eq!(receipt.paid_at, due + 2 * DAY_MS + 3_600_000);
    assert_eq!(w.bal(&w.hebei_resident), before - 12_456);
    assert_eq!(w.bal(&w.bj_water), START_BALANCE + 12_456);
    let events = decode_events(&w.env.take_events());
    assert_eq!(
        events.last(),
        Some(&UtilityEvent::BillPaid {
            bill_id: id,
            provider: w.bj_water,
            payer: w.hebei_resident,
            amount: 12_456,
            late_fee: 111
        })
    );
    assert_eq!(w.receipts_of(w.bj_water), vec![receipt]);
}

#[test]
fn late_underpayment_names_the_amount_and_the_fee() {
    let w = world();
    let due = w.due_in_days(1);
    let id = w.issue(&w.tj_grid, w.beijing_resident, UtilityKind::Electricity, 20_000, "2026-01", due).unwrap();
    w.env.set_block(5, due + 4 * DAY_MS); // 4 days: 20_000 * 50 * 4 / 10_000 = 400
    let err = w.pay(&w.beijing_resident, id, 20_000).unwrap_err();
    assert_eq!(err, "bill 1 needs 20400 fen (20000 fen + 400 fen late fee), only 20000 fen attached");
    assert_eq!(w.bal(&w.beijing_resident), START_BALANCE);
    assert_eq!(w.bal(&w.tj_grid), START_BALANCE);
    // Over-paying late: the fee goes to the provider, the rest comes back.
    let r = w.pay(&w.beijing_resident, id, 21_000).unwrap();
    assert_eq!((r.amount_paid, r.late_fee), (20_400, 400));
    assert_eq!(w.bal(&w.beijing_resident), START_BALANCE - 20_400);
    assert_eq!(w.bal(&w.tj_grid), START_BALANCE + 20_400);
    assert_eq!(w.bal(&w.c), 0);
}

#[test]
fn late_fee_is_capped_at_the_bill_amount() {
    let w = world();
    let harsh = TestEnv::account("harsh-waste");
    w.env.register(&harsh, "hebei", &[roles::UTILITY_PROVIDER]);
    w.env
        .call(
            &harsh,
            &w.c,
            0,
            msg::register_provider(harsh, "廊坊环卫".into(), Region::Hebei, vec![UtilityKind::WasteFee], 10_000),
        )
        .unwrap();
    let due = w.due_in_days(1);
    let id = w.issue(&harsh, w.hebei_resident, UtilityKind::WasteFee, 1_000, "2026", due).unwrap();
    w.env.set_block(5, due + DAY_MS / 2);
    assert_eq!(w.amount_due(id), Ok(2_000), "100% per day, one started day");
    w.env.set_block(6, due + 365 * DAY_MS);
    assert_eq!(w.amount_due(id), Ok(2_000), "capped at 100% of the amount");
    let r = w.pay(&w.hebei_resident, id, 2_000).unwrap();
    assert_eq!(r.late_fee, 1_000);
    assert_eq!(w.bal(&harsh), 2_000);
}

#[test]
fn a_provider_without_late_fee_charges_none() {
    let w = world();
    let due = w.due_in_days(1);
    let id = w.issue(&w.hb_gas, w.hebei_resident, UtilityKind::Gas, 8_800, "2026-01", due).unwrap();
    w.env.set_block(5, due + 90 * DAY_MS);
    assert_eq!(w.amount_due(id), Ok(8_800));
    assert_eq!(w.pay(&w.hebei_resident, id, 8_800).unwrap().late_fee, 0);
}

#[test]
fn the_bill_carries_the_providers_rate() {
    let w = world();
    let due = w.due_in_days(1);
    let id = w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Water, 10_000, "2026-01", due).unwrap();
    assert_eq!(w.bill(id).unwrap().late_fee_bps_per_day, 30);
    w.env.set_block(5, due + 2 * DAY_MS);
    assert_eq!(w.amount_due(id), Ok(10_060));
}

#[test]
fn overpayment_is_refunded_exactly() {
    let w = world();
    let id = w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Water, 4_280, "2026-01", w.due_in_days(15)).unwrap();
    let receipt = w.pay(&w.hebei_resident, id, 5_000).unwrap();
    assert_eq!(receipt.amount_paid, 4_280);
    assert_eq!(w.bal(&w.hebei_resident), START_BALANCE - 4_280, "720 fen came back");
    assert_eq!(w.bal(&w.bj_water), START_BALANCE + 4_280);
    assert_eq!(w.bal(&w.c), 0);
    let events = decode_events(&w.env.take_events());
    assert_eq!(
        events.last(),
        Some(&UtilityEvent::BillPaid {
            bill_id: id,
            provider: w.bj_water,
            payer: w.hebei_resident,
            amount: 4_280,
            late_fee: 0
        })
    );
}

#[test]
fn underpayment_is_refused_and_nothing_moves() {
    let w = world();
    let id = w
        .issue(&w.tj_grid, w.beijing_resident, UtilityKind::Electricity, 15_630, "2026-01", w.due_in_days(20))
        .unwrap();
    w.env.take_events();
    let bill_before = w.bill(id).unwrap();
    let err = w.pay(&w.beijing_resident, id, 15_629).unwrap_err();
    assert_eq!(err, "bill 1 needs 15630 fen, only 15629 fen attached");
    let err = w.pay(&w.beijing_resident, id, 0).unwrap_err();
    assert!(err.contains("needs 15630 fen"), "{err}");
    assert_eq!(w.bal(&w.beijing_resident), START_BALANCE);
    assert_eq!(w.bal(&w.tj_grid), START_BALANCE);
    assert_eq!(w.bal(&w.c), 0);
    assert_eq!(w.bill(id), Some(bill_before));
    assert!(w.receipts_of(w.tj_grid).is_empty());
    assert!(w.env.events().is_empty(), "no BillPaid");
    // Then the exact amount works.
    w.pay(&w.beijing_resident, id, 15_630).unwrap();
    assert_eq!(w.bal(&w.tj_grid), START_BALANCE + 15_630);
}

#[test]
fn a_bill_is_paid_once() {
    let w = world();
    let id = w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Water, 4_280, "2026-01", w.due_in_days(15)).unwrap();
    w.pay(&w.hebei_resident, id, 4_280).unwrap();
    w.env.take_events();
    let err = w.pay(&w.hebei_resident, id, 4_280).unwrap_err();
    assert_eq!(err, "bill 1 is already paid");
    assert_eq!(w.bal(&w.hebei_resident), START_BALANCE - 4_280);
    assert_eq!(w.bal(&w.bj_water), START_BALANCE + 4_280);
    assert_eq!(w.receipts_of(w.bj_water).len(), 1);
    assert!(w.env.events().is_empty());
}

#[test]
fn only_the_bills_resident_may_pay() {
    let w = world();
    let id = w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Water, 4_280, "2026-01", w.due_in_days(15)).unwrap();
    for payer in [w.beijing_resident, w.stranger, w.bj_water, w.admin] {
        let err = w.pay(&payer, id, 4_280).unwrap_err();
        assert_eq!(err, "only the resident of bill 1 may pay it");
        assert_eq!(w.bal(&payer), START_BALANCE);
    }
    assert_eq!(w.bal(&w.bj_water), START_BALANCE);
    assert!(!w.bill(id).unwrap().is_paid());
}

#[test]
fn paying_or_quoting_a_missing_bill_is_refused() {
    let w = world();
    assert_eq!(w.pay(&w.hebei_resident, 42, 100).unwrap_err(), "there is no bill 42");
    assert_eq!(w.bal(&w.hebei_resident), START_BALANCE);
    assert_eq!(w.amount_due(42).unwrap_err(), "there is no bill 42");
    assert_eq!(w.bill(42), None);
}

#[test]
fn only_a_registered_provider_issues_bills() {
    let w = world();
    for who in [w.stranger, w.hebei_resident, w.admin] {
        let err = w.issue(&who, w.beijing_resident, UtilityKind::Water, 100, "2026-01", w.due_in_days(5)).unwrap_err();
        assert_eq!(err, format!("only a registered provider may issue bills; {who} is not one"));
    }
    assert!(w.bills_of(w.beijing_resident).is_empty());
    assert!(w.env.events().iter().all(|e| !e.is("BillIssued")));
}

#[test]
fn a_provider_bills_only_the_kinds_it_supplies() {
    let w = world();
    let err =
        w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Electricity, 100, "2026-01", w.due_in_days(5)).unwrap_err();
    assert_eq!(err, "provider 北京市自来水集团 does not supply electricity, so it may not bill it");
    let err =
        w.issue(&w.tj_grid, w.hebei_resident, UtilityKind::Heating, 100, "2026-01", w.due_in_days(5)).unwrap_err();
    assert!(err.contains("does not supply heating"), "{err}");
    assert!(w.bills_of(w.hebei_resident).is_empty());
    // Both kinds of the Hebei company work.
    w.issue(&w.hb_gas, w.hebei_resident, UtilityKind::Gas, 100, "2026-01", w.due_in_days(5)).unwrap();
    w.issue(&w.hb_gas, w.hebei_resident, UtilityKind::Heating, 100, "2026-01", w.due_in_days(5)).unwrap();
    assert_eq!(w.bills_of(w.hebei_resident).len(), 2);
}

#[test]
fn bill_contents_are_validated() {
    let w = world();
    let r = w.hebei_resident;
    let due = w.due_in_days(5);
    assert_eq!(
        w.issue(&w.bj_water, r, UtilityKind::Water, 0, "2026-01", due).unwrap_err(),
        "a bill's amount must be more than 0 fen"
    );
    assert_eq!(w.issue(&w.bj_water, r, UtilityKind::Water, 100, "", due).unwrap_err(), "the billing period is empty");
    let long = "x".repeat(65);
    assert_eq!(
        w.issue(&w.bj_water, r, UtilityKind::Water, 100, &long, due).unwrap_err(),
        "the billing period is 65 bytes, over the limit of 64"
    );
    assert!(w.issue(&w.bj_water, r, UtilityKind::Water, 100, &"x".repeat(64), due).is_ok());
    let now = w.env.block_time();
    let err = w.issue(&w.bj_water, r, UtilityKind::Water, 100, "2026-01", now).unwrap_err();
    assert_eq!(err, format!("the due date {now} is not after the current time {now}"));
    let err = w.issue(&w.bj_water, w.bj_water, UtilityKind::Water, 100, "2026-01", due).unwrap_err();
    assert_eq!(err, "a provider may not bill itself");
    assert_eq!(w.bills_of(r).len(), 1, "only the valid bill exists");
    // Issuing is not payable.
    let err = w
        .env
        .call(&w.bj_water, &w.c, 5, msg::issue_bill(r, UtilityKind::Water, 100, "2026-01".into(), due))
        .unwrap_err();
    assert!(err.contains("does not accept value"), "{err}");
    assert_eq!(w.bal(&w.bj_water), START_BALANCE);
}

#[test]
fn a_deactivated_provider_issues_nothing_but_its_bills_stay_payable() {
    let w = world();
    let id = w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Water, 4_280, "2026-01", w.due_in_days(15)).unwrap();
    let err = w.env.call(&w.stranger, &w.c, 0, msg::set_provider_active(w.bj_water, false)).unwrap_err();
    assert_eq!(err, "only the provider itself or a member-admin of its member may activate or deactivate it");
    // Tianjin's admin does not speak for a Beijing company.
    let err = w.env.call(&w.admin, &w.c, 0, msg::set_provider_active(w.bj_water, false)).unwrap_err();
    assert_eq!(err, "only the provider itself or a member-admin of its member may activate or deactivate it");
    w.env.call(&w.bj_water, &w.c, 0, msg::set_provider_active(w.bj_water, false)).unwrap();
    let err = w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Water, 1, "2026-02", w.due_in_days(15)).unwrap_err();
    assert_eq!(err, "provider 北京市自来水集团 is deactivated and may not issue bills");
    w.pay(&w.hebei_resident, id, 4_280).unwrap();
    assert_eq!(w.bal(&w.bj_water), START_BALANCE + 4_280);
    w.env.call(&w.bj_water, &w.c, 0, msg::set_provider_active(w.bj_water, true)).unwrap();
    assert_eq!(w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Water, 1, "2026-02", w.due_in_days(15)), Ok(2));
    // Tianjin's admin for Tianjin's grid.
    w.env.call(&w.admin, &w.c, 0, msg::set_provider_active(w.tj_grid, false)).unwrap();
    let err = w.env.call(&w.stranger, &w.c, 0, msg::set_provider_active(w.stranger, true)).unwrap_err();
    assert_eq!(err, format!("{} is not a registered provider", w.stranger));
}

#[test]
fn provider_registration_rules() {
    let w = world();
    let p = TestEnv::account("new-provider");
    w.env.register(&p, "tianjin", &[roles::UTILITY_PROVIDER]);
    let reg = |who: &AccountId, name: &str, kinds: Vec<UtilityKind>, bps: u32| {
        w.env.call(who, &w.c, 0, msg::register_provider(p, name.into(), Region::Tianjin, kinds, bps))
    };
    let not_for_caller = "only the provider itself or a member-admin of its member may register it";
    assert_eq!(reg(&w.stranger, "x", vec![UtilityKind::Gas], 0).unwrap_err(), not_for_caller);
    assert_eq!(reg(&w.bj_water, "x", vec![UtilityKind::Gas], 0).unwrap_err(), not_for_caller);
    assert_eq!(reg(&w.admin, "", vec![UtilityKind::Gas], 0).unwrap_err(), "the provider name is empty");
    assert_eq!(
        reg(&w.admin, &"名".repeat(43), vec![UtilityKind::Gas], 0).unwrap_err(),
        "the provider name is 129 bytes, over the limit of 128"
    );
    assert_eq!(reg(&w.admin, "x", vec![], 0).unwrap_err(), "a provider must supply at least one kind of utility");
    assert_eq!(
        reg(&w.admin, "x", vec![UtilityKind::Gas, UtilityKind::Water, UtilityKind::Gas], 0).unwrap_err(),
        "utility kind gas is listed twice"
    );
    assert_eq!(
        reg(&w.admin, "x", vec![UtilityKind::Gas], 10_001).unwrap_err(),
        "the late fee rate of 10001 bps per day is over the limit of 10000"
    );
    assert_eq!(w.env.call_decode::<Option<Provider>>(&w.stranger, &w.c, 0, msg::provider(p)), Ok(None));

    reg(&w.admin, "天津燃气", vec![UtilityKind::Gas], 10_000).unwrap();
    let got: Option<Provider> = w.env.call_decode(&w.stranger, &w.c, 0, msg::provider(p)).unwrap();
    assert_eq!(
        got,
        Some(Provider {
            account: p,
            name: "天津燃气".into(),
            region: Region::Tianjin,
            member: "tianjin".into(),
            kinds: vec![UtilityKind::Gas],
            late_fee_bps_per_day: 10_000,
            active: true,
            registered_at: w.env.block_time(),
        })
    );
    assert_eq!(
        reg(&w.admin, "again", vec![UtilityKind::Water], 0).unwrap_err(),
        format!("{p} is already a registered provider")
    );

    let all: Vec<Provider> = w.env.call_decode(&w.stranger, &w.c, 0, msg::providers()).unwrap();
    let regions: Vec<(AccountId, Region)> = all.iter().map(|p| (p.account, p.region)).collect();
    assert_eq!(
        regions,
        vec![
            (w.bj_water, Region::Beijing),
            (w.tj_grid, Region::Tianjin),
            (w.hb_gas, Region::Hebei),
            (p, Region::Tianjin)
        ]
    );
}

#[test]
fn the_alliance_decides_who_is_a_provider() {
    let w = world();
    // A copycat "北京自来水" the alliance never gave the role cannot register, even by itself.
    let fake = TestEnv::account("fake-water");
    w.env.register(&fake, "beijing", &[roles::RESIDENT]);
    let input = msg::register_provider(fake, "北京自来水".into(), Region::Beijing, vec![UtilityKind::Water], 0);
    let err = w.env.call(&fake, &w.c, 0, input.clone()).unwrap_err();
    assert_eq!(
        err,
        format!("{fake} is not registered by the alliance as a utility provider (it lacks the role utility-provider)")
    );
    // A real utility cannot claim another region than its member's.
    let heat = TestEnv::account("beijing-heat");
    w.env.register(&heat, "beijing", &[roles::UTILITY_PROVIDER]);
    let input = msg::register_provider(heat, "北京热力".into(), Region::Hebei, vec![UtilityKind::Heating], 0);
    assert_eq!(
        w.env.call(&heat, &w.c, 0, input).unwrap_err(),
        format!("{heat} is not registered by a member of Hebei")
    );
    let input = msg::register_provider(fake, "北京自来水".into(), Region::Beijing, vec![UtilityKind::Water], 0);
    // Nor can an account no member registered at all.
    let err = w.env.call(&w.stranger, &w.c, 0, input).unwrap_err();
    assert!(err.starts_with("only the provider itself"), "{err}");

    // The alliance revokes Beijing water's role: it stops billing at once; what it billed stays payable.
    let id = w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Water, 500, "2026-01", w.due_in_days(15)).unwrap();
    w.env.register(&w.bj_water, "beijing", &[]);
    let err = w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Water, 1, "2026-02", w.due_in_days(15)).unwrap_err();
    assert!(err.contains("lacks the role utility-provider"), "{err}");
    w.pay(&w.hebei_resident, id, 500).unwrap();
}

/// The read-policy matrix of bills and payments: resident, provider and auditor read a bill;
/// another resident, another provider, a member admin and a stranger are refused; a provider
/// sees only the bills it issued; an unsigned read is refused before the policy runs; public
/// data (providers, counts) needs no signature.
#[test]
fn bills_and_payments_are_read_under_their_policy() {
    let w = world();
    let due = w.due_in_days(30);
    let id = w.issue(&w.bj_water, w.hebei_resident, UtilityKind::Water, 4_280, "2026-05", due).unwrap();
    w.issue(&w.hb_gas, w.hebei_resident, UtilityKind::Gas, 900, "2026-05", due).unwrap();
    w.pay(&w.hebei_resident, id, 4_280).unwrap();
    let read = |who: &AccountId, input: Vec<u8>| w.env.call(who, &w.c, 0, input);
    for allowed in [w.hebei_resident, w.bj_water, w.auditor] {
        let bill: Option<Bill> = w.env.call_decode(&allowed, &w.c, 0, msg::bill(id)).expect("allowed");
        assert_eq!(bill.map(|b| b.id), Some(id));
        assert!(read(&allowed, msg::amount_due(id)).is_ok());
    }
    for refused in [w.beijing_resident, w.tj_grid, w.admin, w.stranger] {
        let e = read(&refused, msg::bill(id)).unwrap_err();
        assert_eq!(e, "read refused: a bill is read by its resident, its provider and auditors");
        assert!(read(&refused, msg::amount_due(id)).unwrap_err().starts_with("read refused"));
    }
    // A resident's list: all of it for the resident and auditors, its own bills for a provider.
    let as_list = |who: &AccountId| w.env.call_decode::<Vec<Bill>>(who, &w.c, 0, msg::bills_of(w.hebei_resident));
    assert_eq!(as_list(&w.hebei_resident).unwrap().len(), 2);
    assert_eq!(as_list(&w.auditor).unwrap().len(), 2);
    assert_eq!(as_list(&w.bj_water).unwrap().iter().map(|b| b.id).collect::<Vec<_>>(), vec![id]);
    assert!(as_list(&w.beijing_resident).unwrap_err().starts_with("read refused"));
    assert!(as_list(&w.stranger).unwrap_err().starts_with("read refused"));
    // Payments: the provider and auditors.
    assert_eq!(
        w.env.call_decode::<Vec<PaymentReceipt>>(&w.bj_water, &w.c, 0, msg::receipts_of(w.bj_water)).unwrap().len(),
        1
    );
    assert!(read(&w.tj_grid, msg::receipts_of(w.bj_water)).unwrap_err().starts_with("read refused"));
    assert!(read(&w.hebei_resident, msg::receipts_of_page(w.bj_water, 0, 10)).unwrap_err().starts_with("read refused"));
    // Unsigned: refused before the policy, even for the resident; public queries still answer.
    w.env.set_unsigned_reads(true);
    assert!(read(&w.hebei_resident, msg::bill(id)).unwrap_err().contains("signed read request"));
    assert!(w.env.call_decode::<Vec<Provider>>(&w.stranger, &w.c, 0, msg::providers()).is_ok());
    assert_eq!(w.env.call_decode::<u32>(&w.stranger, &w.c, 0, msg::bill_count_of(w.hebei_resident)), Ok(2));
}
