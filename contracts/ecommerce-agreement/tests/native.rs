//! Native tests of the e-commerce agreement: the whole story (three parties sign one document,
//! escrow, two milestones released) and every forbidden path, on the mock host.
use ecommerce_agreement::{
    msg, Agreement, AgreementEvent, EcommerceAgreement, MilestoneSpec, MilestoneState, Signature, Status,
};
use jjj_sdk::roles;
use jjj_sdk::testing::TestEnv;
use jjj_sdk::{AccountId, Hash};

const DAY: u64 = 86_400_000;
const START: u64 = 1_000_000;

struct World {
    env: TestEnv,
    c: AccountId,
    buyer: AccountId,
    seller: AccountId,
    logistics: AccountId,
    arbitrator: AccountId,
    outsider: AccountId,
    /// Holds the alliance's auditor role: the helpers read agreements as it.
    auditor: AccountId,
}

fn doc(text: &str) -> Hash {
    Hash(TestEnv::account(text).0)
}

fn canonical() -> Hash {
    doc("购销合同 正本 v1: 100 箱 京东 → 天津, 总价 1000 元")
}

fn world() -> World {
    let env = TestEnv::new();
    let deployer = TestEnv::account("deployer");
    let w = World {
        c: env.deploy(EcommerceAgreement::ENTRY, &deployer, 0, msg::new()).expect("deploy"),
        buyer: TestEnv::account("buyer-tianjin-shop"),
        seller: TestEnv::account("seller-beijing-factory"),
        logistics: TestEnv::account("logistics-hebei"),
        arbitrator: TestEnv::account("arbitrator-commission"),
        outsider: TestEnv::account("outsider"),
        auditor: TestEnv::account("alliance-auditor"),
        env,
    };
    for a in [w.buyer, w.seller, w.logistics, w.arbitrator, w.outsider] {
        w.env.set_balance(&a, START);
    }
    // The arbitration commission is one the alliance registered as an arbitrator.
    w.env.register(&w.arbitrator, "beijing", &[roles::ARBITRATOR]);
    w.env.register(&w.auditor, "tianjin", &[roles::AUDITOR]);
    w
}

fn milestones(now: u64) -> Vec<MilestoneSpec> {
    vec![
        MilestoneSpec { description: "goods shipped from Beijing".into(), amount: 30_000, deadline: now + 10 * DAY },
        MilestoneSpec { description: "goods received in Tianjin".into(), amount: 70_000, deadline: now + 20 * DAY },
    ]
}
const TOTAL: u64 = 100_000;

impl World {
    fn parties(&self) -> Vec<AccountId> {
        vec![self.buyer, self.seller, self.logistics]
    }
    /// The seller proposes the standard 3-party agreement; returns its id.
    fn propose(&self) -> u64 {
        let now = self.env.block_time();
        self.env
            .call_decode(
                &self.seller,
                &self.c,
                0,
                msg::propose(
                    canonical(),
                    self.parties(),
                    self.buyer,
                    self.seller,
                    self.arbitrator,
                    milestones(now),
                    now + 3 * DAY,
                ),
            )
            .expect("propose")
    }
    fn sign(&self, who: &AccountId, id: u64, value: u64) -> Result<Vec<u8>, String> {
        self.env.call(who, &self.c, value, msg::sign(id, canonical()))
    }
    /// Proposed and signed by all three: active, escrow funded.
    fn active(&self) -> u64 {
        let id = self.propose();
        self.sign(&self.seller, id, 0).expect("seller signs");
        self.sign(&self.logistics, id, 0).expect("logistics signs");
        self.sign(&self.buyer, id, TOTAL).expect("buyer signs");
        id
    }
    fn agreement(&self, id: u64) -> Agreement {
        self.get(id).expect("agreement exists")
    }
    fn get(&self, id: u64) -> Option<Agreement> {
        self.env.call_decode(&self.auditor, &self.c, 0, msg::agreement(id)).expect("query")
    }
    fn bal(&self, a: &AccountId) -> u64 {
        self.env.balance(a)
    }
    fn events(&self) -> Vec<AgreementEvent> {
        self.env.take_events().iter().map(|e| e.decode::<AgreementEvent>().expect("decodes")).collect()
    }
    fn event_names(&self) -> Vec<String> {
        let names = [
            "Proposed",
            "Signed",
            "Activated",
            "DeliveryConfirmed",
            "DisputeOpened",
            "DisputeResolved",
            "Cancelled",
            "Completed",
        ];
        self.env
            .take_events()
            .iter()
            .map(|e| names.iter().find(|n| e.is(n)).map(|n| n.to_string()).unwrap_or_else(|| "?".into()))
            .collect()
    }
    fn err(&self, who: &AccountId, value: u64, input: Vec<u8>) -> String {
        self.env.call(who, &self.c, value, input).expect_err("must be refused")
    }
}

fn assert_contains(err: &str, needle: &str) {
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
}

#[test]
fn three_party_story_signed_by_all_two_milestones_released() {
    let w = world();
    let t0 = w.env.block_time();
    let id = w.propose();
    assert_eq!(id, 1);
    let a = w.agreement(id);
    assert_eq!(a.status, Status::Proposed);
    assert_eq!(a.document_hash, canonical());
    assert_eq!(a.proposer, w.seller);
    assert_eq!(a.total, TOTAL);
    assert_eq!(a.escrow, 0);
    assert!(a.signatures.is_empty(), "proposing is not signing");
    assert_eq!(a.milestones.len(), 2);
    assert_eq!(a.milestones[1].amount, 70_000);
    assert_eq!(a.milestones[1].deadline, t0 + 20 * DAY);
    assert!(a.milestones.iter().all(|m| m.state == MilestoneState::Pending));
    assert_eq!(
        w.events(),
        vec![AgreementEvent::Proposed { id, proposer: w.seller, document_hash: canonical(), total: TOTAL }]
    );

    w.env.advance_time(1_000);
    w.sign(&w.seller, id, 0).expect("seller signs");
    w.env.advance_time(1_000);
    w.sign(&w.logistics, id, 0).expect("logistics signs");
    assert_eq!(w.agreement(id).status, Status::Proposed, "two of three signatures");
    assert_eq!(w.bal(&w.c), 0);
    w.env.advance_time(1_000);
    w.sign(&w.buyer, id, TOTAL).expect("buyer signs with the escrow");
    let a = w.agreement(id);
    assert_eq!(a.status, Status::Active);
    assert_eq!(a.escrow, TOTAL);
    assert_eq!(
        a.signatures,
        vec![
            Signature { party: w.seller, at: t0 + 1_000 },
            Signature { party: w.logistics, at: t0 + 2_000 },
            Signature { party: w.buyer, at: t0 + 3_000 },
        ]
    );
    assert_eq!(w.bal(&w.buyer), START - TOTAL);
    assert_eq!(w.bal(&w.c), TOTAL);
    assert_eq!(
        w.events(),
        vec![
            AgreementEvent::Signed { id, party: w.seller, escrowed: 0 },
            AgreementEvent::Signed { id, party: w.logistics, escrowed: 0 },
            AgreementEvent::Signed { id, party: w.buyer, escrowed: TOTAL },
            AgreementEvent::Activated { id, escrow: TOTAL },
        ]
    );

    // Milestone 0: shipped.
    w.env.call(&w.buyer, &w.c, 0, msg::confirm_delivery(id, 0)).expect("confirm 0");
    assert_eq!(w.bal(&w.seller), START + 30_000);
    assert_eq!(w.bal(&w.c), 70_000);
    let a = w.agreement(id);
    assert_eq!(a.status, Status::Active);
    assert_eq!(a.escrow, 70_000);
    assert_eq!(a.milestones[0].state, MilestoneState::Released { at: t0 + 3_000 });
    assert_eq!(a.milestones[1].state, MilestoneState::Pending);
    assert_eq!(
        w.events(),
        vec![AgreementEvent::DeliveryConfirmed { id, milestone: 0, amount: 30_000, seller: w.seller }]
    );

    // Milestone 1: received. Completes.
    w.env.advance_time(5 * DAY);
    w.env.call(&w.buyer, &w.c, 0, msg::confirm_delivery(id, 1)).expect("confirm 1");
    assert_eq!(w.bal(&w.seller), START + TOTAL);
    assert_eq!(w.bal(&w.buyer), START - TOTAL);
    assert_eq!(w.bal(&w.logistics), START, "the logistics firm signs, is not paid by this escrow");
    assert_eq!(w.bal(&w.c), 0);
    let a = w.agreement(id);
    assert_eq!(a.status, Status::Completed);
    assert_eq!(a.escrow, 0);
    assert_eq!(
        w.events(),
        vec![
            AgreementEvent::DeliveryConfirmed { id, milestone: 1, amount: 70_000, seller: w.seller },
            AgreementEvent::Completed { id },
        ]
    );

    // Nothing moves any more.
    assert_contains(&w.err(&w.buyer, 0, msg::confirm_delivery(id, 1)), "is completed, not active");
    assert_contains(&w.err(&w.seller, 0, msg::open_dispute(id, 1, "late".into())), "is completed, not active");
    assert_contains(
        &w.err(&w.seller, 0, msg::cancel(id)),
        "only an agreement still gathering signatures can be cancelled",
    );

    // Queries.
    for p in [w.buyer, w.seller, w.logistics, w.arbitrator] {
        assert_eq!(w.env.call_decode::<Vec<u64>>(&w.auditor, &w.c, 0, msg::agreements_of(p)), Ok(vec![id]));
    }
    assert_eq!(w.env.call_decode::<Vec<u64>>(&w.outsider, &w.c, 0, msg::agreements_of(w.outsider)), Ok(vec![]));
    assert_eq!(w.env.call_decode::<bool>(&w.outsider, &w.c, 0, msg::verify_document(id, canonical())), Ok(true));
    assert_eq!(w.env.call_decode::<bool>(&w.outsider, &w.c, 0, msg::verify_document(id, doc("阴合同"))), Ok(false));
    assert_contains(&w.err(&w.outsider, 0, msg::verify_document(99, canonical())), "no agreement 99");
    assert_eq!(w.get(99), None);
}

#[test]
fn signing_a_different_document_is_refused() {
    let w = world();
    let id = w.propose();
    w.env.take_events();
    let shadow = doc("购销合同 阴本: 总价 500 元"); // the second version nobody agreed on
    let err = w.err(&w.buyer, TOTAL, msg::sign(id, shadow));
    assert_contains(&err, "document differs");
    assert_contains(&err, &format!("{}", canonical()));
    let err = w.err(&w.logistics, 0, msg::sign(id, shadow));
    assert_contains(&err, "document differs");
    let a = w.agreement(id);
    assert!(a.signatures.is_empty(), "nothing signed");
    assert_eq!(a.escrow, 0);
    assert_eq!(w.bal(&w.buyer), START, "the attached escrow stayed with the buyer");
    assert_eq!(w.bal(&w.c), 0);
    assert!(w.events().is_empty());
    // The right text still signs.
    w.sign(&w.logistics, id, 0).expect("same document signs");
}

#[test]
fn re_signing_is_refused() {
    let w = world();
    let id = w.propose();
    w.sign(&w.seller, id, 0).unwrap();
    assert_contains(&w.sign(&w.seller, id, 0).unwrap_err(), "has already signed agreement 1");
    w.sign(&w.buyer, id, TOTAL).unwrap();
    let err = w.sign(&w.buyer, id, TOTAL).unwrap_err();
    assert_contains(&err, "has already signed agreement 1");
    assert_eq!(w.bal(&w.buyer), START - TOTAL, "the escrow was taken once");
    assert_eq!(w.bal(&w.c), TOTAL);
    let a = w.agreement(id);
    assert_eq!(a.signatures.len(), 2);
    assert_eq!(a.status, Status::Proposed);
    assert_eq!(a.escrow, TOTAL);
    // After activation, signing is closed altogether.
    w.sign(&w.logistics, id, 0).unwrap();
    assert_contains(&w.sign(&w.logistics, id, 0).unwrap_err(), "is active: signing is closed");
}

#[test]
fn non_parties_cannot_sign() {
    let w = world();
    let id = w.propose();
    assert_contains(&w.sign(&w.outsider, id, 0).unwrap_err(), "is not a party to agreement 1");
    assert_contains(&w.sign(&w.arbitrator, id, 0).unwrap_err(), "is not a party to agreement 1");
    assert_contains(&w.sign(&w.outsider, 7, 0).unwrap_err(), "no agreement 7");
    assert!(w.agreement(id).signatures.is_empty());
}

#[test]
fn wrong_escrow_amount_is_refused() {
    let w = world();
    let id = w.propose();
    for wrong in [0, 1, TOTAL - 1, TOTAL + 1] {
        let err = w.sign(&w.buyer, id, wrong).unwrap_err();
        assert_contains(&err, &format!("the buyer must attach exactly the escrow of {TOTAL} fen"));
        assert_contains(&err, &format!("attached {wrong}"));
    }
    assert_eq!(w.bal(&w.buyer), START);
    assert_eq!(w.bal(&w.c), 0);
    // Other parties attach nothing.
    let err = w.sign(&w.seller, id, 5).unwrap_err();
    assert_contains(&err, "only the buyer attaches the escrow; 5 fen attached");
    assert_eq!(w.bal(&w.seller), START);
    assert!(w.agreement(id).signatures.is_empty());
    w.sign(&w.buyer, id, TOTAL).expect("exact amount");
    assert_eq!(w.bal(&w.c), TOTAL);
}

#[test]
fn signing_after_the_deadline_is_refused() {
    let w = world();
    let t0 = w.env.block_time();
    let id = w.propose();
    w.sign(&w.buyer, id, TOTAL).unwrap();
    w.env.set_block(10, t0 + 3 * DAY); // exactly at the deadline: still allowed
    w.sign(&w.seller, id, 0).expect("at the deadline");
    w.env.set_block(11, t0 + 3 * DAY + 1);
    let err = w.sign(&w.logistics, id, 0).unwrap_err();
    assert_contains(&err, "signing deadline of agreement 1 has passed");
    let a = w.agreement(id);
    assert_eq!(a.status, Status::Proposed);
    assert_eq!(a.signatures.len(), 2);
    // The stalled agreement can still be cancelled and the buyer refunded.
    assert_eq!(w.env.call_decode::<u64>(&w.logistics, &w.c, 0, msg::cancel(id)), Ok(TOTAL));
    assert_eq!(w.bal(&w.buyer), START);
}

#[test]
fn cancellation_before_all_signatures_refunds_exactly() {
    let w = world();
    let id = w.propose();
    w.sign(&w.buyer, id, TOTAL).unwrap();
    w.sign(&w.seller, id, 0).unwrap();
    assert_eq!(w.bal(&w.buyer), START - TOTAL);
    w.env.take_events();
    assert_contains(&w.err(&w.outsider, 0, msg::cancel(id)), "only a party may cancel agreement 1");
    assert_contains(&w.err(&w.arbitrator, 0, msg::cancel(id)), "only a party may cancel agreement 1");
    assert_eq!(w.env.call_decode::<u64>(&w.logistics, &w.c, 0, msg::cancel(id)), Ok(TOTAL));
    assert_eq!(w.bal(&w.buyer), START, "refunded to the fen");
    assert_eq!(w.bal(&w.c), 0);
    let a = w.agreement(id);
    assert_eq!(a.status, Status::Cancelled);
    assert_eq!(a.escrow, 0);
    assert_eq!(w.events(), vec![AgreementEvent::Cancelled { id, by: w.logistics, refunded: TOTAL }]);
    // Dead afterwards.
    assert_contains(&w.sign(&w.logistics, id, 0).unwrap_err(), "is cancelled: signing is closed");
    assert_contains(&w.err(&w.buyer, 0, msg::cancel(id)), "is cancelled: only an agreement still gathering");
    assert_contains(&w.err(&w.buyer, 0, msg::confirm_delivery(id, 0)), "is cancelled, not active");
    assert_eq!(w.bal(&w.buyer), START);
}

#[test]
fn cancellation_without_escrow_refunds_nothing() {
    let w = world();
    let id = w.propose();
    w.sign(&w.seller, id, 0).unwrap();
    assert_eq!(w.env.call_decode::<u64>(&w.buyer, &w.c, 0, msg::cancel(id)), Ok(0));
    assert_eq!(w.bal(&w.buyer), START);
    assert_eq!(w.agreement(id).status, Status::Cancelled);
}

#[test]
fn cancellation_after_activation_is_refused() {
    let w = world();
    let id = w.active();
    w.env.take_events();
    for p in [w.buyer, w.seller, w.logistics] {
        let err = w.err(&p, 0, msg::cancel(id));
        assert_contains(&err, "agreement 1 is active: only an agreement still gathering signatures can be cancelled");
    }
    assert_eq!(w.bal(&w.c), TOTAL, "escrow untouched");
    assert_eq!(w.bal(&w.buyer), START - TOTAL);
    assert_eq!(w.agreement(id).status, Status::Active);
    assert!(w.events().is_empty());
}

#[test]
fn dispute_goes_to_the_arbitrator_who_splits_exactly() {
    let w = world();
    let t0 = w.env.block_time();
    let id = w.active();
    w.env.take_events();
    // Milestone 1 is overdue (deadline t0 + 20 days); the seller says goods arrived, buyer won't confirm.
    w.env.set_block(5, t0 + 21 * DAY);
    assert_eq!(w.env.call_decode::<Vec<u32>>(&w.outsider, &w.c, 0, msg::overdue_milestones(id)), Ok(vec![0, 1]));
    w.env.call(&w.buyer, &w.c, 0, msg::confirm_delivery(id, 0)).expect("confirm 0 late is fine");
    assert_eq!(w.env.call_decode::<Vec<u32>>(&w.outsider, &w.c, 0, msg::overdue_milestones(id)), Ok(vec![1]));
    w.env.take_events();
    w.env
        .call(&w.seller, &w.c, 0, msg::open_dispute(id, 1, "delivered 100 boxes, buyer silent".into()))
        .expect("dispute");
    assert_eq!(
        w.events(),
        vec![AgreementEvent::DisputeOpened {
            id,
            milestone: 1,
            by: w.seller,
            reason: "delivered 100 boxes, buyer silent".into(),
            overdue: true
        }]
    );
    assert_eq!(
        w.agreement(id).milestones[1].state,
        MilestoneState::Disputed {
            by: w.seller,
            reason: "delivered 100 boxes, buyer silent".into(),
            at: t0 + 21 * DAY,
            overdue: true
        }
    );
    assert_eq!(w.env.call_decode::<Vec<u32>>(&w.outsider, &w.c, 0, msg::overdue_milestones(id)), Ok(vec![]));
    // The disputed amount is frozen: the buyer can no longer confirm it, nobody re-opens it.
    assert_contains(&w.err(&w.buyer, 0, msg::confirm_delivery(id, 1)), "milestone 1 of agreement 1 is under dispute");
    assert_contains(&w.err(&w.buyer, 0, msg::open_dispute(id, 1, "x".into())), "is under dispute");

    // Only the named arbitrator decides.
    for who in [w.buyer, w.seller, w.logistics, w.outsider] {
        let err = w.err(&who, 0, msg::resolve_dispute(id, 1, 35_000));
        assert_contains(&err, "only the arbitrator of agreement 1 may resolve its disputes");
    }
    assert_contains(
        &w.err(&w.arbitrator, 0, msg::resolve_dispute(id, 1, 70_001)),
        "the seller's share 70001 fen exceeds the milestone amount of 70000 fen",
    );
    assert_contains(
        &w.err(&w.arbitrator, 0, msg::resolve_dispute(id, 0, 1)),
        "already released to the seller, not under dispute",
    );
    assert_contains(&w.err(&w.arbitrator, 0, msg::resolve_dispute(id, 2, 1)), "agreement 1 has no milestone 2");
    assert_eq!(w.bal(&w.c), 70_000);
    let seller_before = w.bal(&w.seller);
    let buyer_before = w.bal(&w.buyer);

    w.env.call(&w.arbitrator, &w.c, 0, msg::resolve_dispute(id, 1, 45_000)).expect("resolve");
    assert_eq!(w.bal(&w.seller), seller_before + 45_000);
    assert_eq!(w.bal(&w.buyer), buyer_before + 25_000);
    assert_eq!(w.bal(&w.arbitrator), START);
    assert_eq!(w.bal(&w.c), 0);
    assert_eq!(w.bal(&w.seller), START + 30_000 + 45_000);
    assert_eq!(w.bal(&w.buyer), START - TOTAL + 25_000);
    let a = w.agreement(id);
    assert_eq!(a.status, Status::Completed);
    assert_eq!(
        a.milestones[1].state,
        MilestoneState::Resolved { to_seller: 45_000, to_buyer: 25_000, at: t0 + 21 * DAY }
    );
    assert_eq!(
        w.events(),
        vec![
            AgreementEvent::DisputeResolved { id, milestone: 1, to_seller: 45_000, to_buyer: 25_000 },
            AgreementEvent::Completed { id }
        ]
    );
    assert_contains(&w.err(&w.arbitrator, 0, msg::resolve_dispute(id, 1, 0)), "is completed, not active");
}

#[test]
fn arbitrator_may_give_all_to_either_side_and_agreement_stays_active_until_all_settled() {
    let w = world();
    let id = w.active();
    // Buyer disputes milestone 0 before its deadline: not overdue.
    w.env.call(&w.buyer, &w.c, 0, msg::open_dispute(id, 0, "boxes damaged".into())).unwrap();
    assert!(matches!(w.agreement(id).milestones[0].state, MilestoneState::Disputed { overdue: false, .. }));
    w.env.call(&w.arbitrator, &w.c, 0, msg::resolve_dispute(id, 0, 0)).unwrap();
    assert_eq!(w.bal(&w.buyer), START - TOTAL + 30_000, "all of milestone 0 back to the buyer");
    assert_eq!(w.bal(&w.seller), START);
    assert_eq!(w.agreement(id).status, Status::Active, "milestone 1 still pending");
    assert_eq!(w.agreement(id).escrow, 70_000);
    w.env.call(&w.seller, &w.c, 0, msg::open_dispute(id, 1, "paid nothing".into())).unwrap();
    w.env.call(&w.arbitrator, &w.c, 0, msg::resolve_dispute(id, 1, 70_000)).unwrap();
    assert_eq!(w.bal(&w.seller), START + 70_000, "all of milestone 1 to the seller");
    assert_eq!(w.bal(&w.c), 0);
    assert_eq!(w.agreement(id).status, Status::Completed);
}

#[test]
fn only_buyer_or_seller_open_disputes_and_only_on_pending_milestones_of_active_agreements() {
    let w = world();
    let id = w.propose();
    assert_contains(
        &w.err(&w.buyer, 0, msg::open_dispute(id, 0, "x".into())),
        "still gathering signatures, not active",
    );
    w.sign(&w.seller, id, 0).unwrap();
    w.sign(&w.logistics, id, 0).unwrap();
    w.sign(&w.buyer, id, TOTAL).unwrap();
    for who in [w.logistics, w.arbitrator, w.outsider] {
        assert_contains(
            &w.err(&who, 0, msg::open_dispute(id, 0, "x".into())),
            "only the buyer or the seller of agreement 1 may open a dispute",
        );
    }
    assert_contains(
        &w.err(&w.seller, 0, msg::open_dispute(id, 5, "x".into())),
        "agreement 1 has no milestone 5 (it has 2)",
    );
    let long = "长".repeat(200); // 600 bytes
    assert_contains(
        &w.err(&w.seller, 0, msg::open_dispute(id, 0, long)),
        "the reason is 600 bytes, over the limit of 512",
    );
    w.env.call(&w.buyer, &w.c, 0, msg::confirm_delivery(id, 0)).unwrap();
    assert_contains(&w.err(&w.seller, 0, msg::open_dispute(id, 0, "x".into())), "already released to the seller");
    assert_contains(
        &w.err(&w.arbitrator, 0, msg::resolve_dispute(id, 1, 0)),
        "milestone 1 of agreement 1 is pending, not under dispute",
    );
    assert_eq!(w.agreement(id).milestones[1].state, MilestoneState::Pending);
}

#[test]
fn only_the_buyer_confirms_delivery_once_per_milestone() {
    let w = world();
    let id = w.propose();
    w.sign(&w.buyer, id, TOTAL).unwrap();
    assert_contains(
        &w.err(&w.buyer, 0, msg::confirm_delivery(id, 0)),
        "agreement 1 is still gathering signatures, not active",
    );
    w.sign(&w.seller, id, 0).unwrap();
    w.sign(&w.logistics, id, 0).unwrap();
    w.env.take_events();
    for who in [w.seller, w.logistics, w.arbitrator, w.outsider] {
        assert_contains(
            &w.err(&who, 0, msg::confirm_delivery(id, 0)),
            "only the buyer of agreement 1 may confirm delivery",
        );
    }
    assert_eq!(w.bal(&w.seller), START);
    assert_eq!(w.bal(&w.c), TOTAL);
    assert!(w.events().is_empty());
    assert_contains(&w.err(&w.buyer, 0, msg::confirm_delivery(id, 2)), "agreement 1 has no milestone 2");
    w.env.call(&w.buyer, &w.c, 0, msg::confirm_delivery(id, 1)).expect("milestones in any order");
    assert_eq!(w.bal(&w.seller), START + 70_000);
    assert_contains(
        &w.err(&w.buyer, 0, msg::confirm_delivery(id, 1)),
        "milestone 1 of agreement 1 is already released to the seller",
    );
    assert_eq!(w.bal(&w.seller), START + 70_000, "paid once");
    assert_eq!(w.bal(&w.c), 30_000);
    // Non-payable messages refuse value.
    assert_contains(&w.err(&w.buyer, 10, msg::confirm_delivery(id, 0)), "does not accept value");
    assert_eq!(w.event_names(), vec!["DeliveryConfirmed"]);
}

#[test]
fn proposals_are_validated() {
    let w = world();
    let now = w.env.block_time();
    let dl = now + DAY;
    let ms = || milestones(now);
    let p = |parties: Vec<AccountId>,
             buyer: AccountId,
             seller: AccountId,
             arb: AccountId,
             ms: Vec<MilestoneSpec>,
             dl: u64| { msg::propose(canonical(), parties, buyer, seller, arb, ms, dl) };
    let (b, s, l, a, o) = (w.buyer, w.seller, w.logistics, w.arbitrator, w.outsider);
    let cases: Vec<(AccountId, Vec<u8>, &str)> = vec![
        (b, msg::propose(Hash::default(), vec![b, s], b, s, a, ms(), dl), "document hash must not be all zeros"),
        (b, p(vec![b], b, s, a, ms(), dl), "needs 2 to 16 parties, got 1"),
        (
            b,
            p((0..17).map(|i| TestEnv::account(&format!("p{i}"))).chain([b, s]).collect(), b, s, a, ms(), dl),
            "got 19",
        ),
        (b, p(vec![b, s, b], b, s, a, ms(), dl), "is listed twice"),
        (o, p(vec![b, s], b, s, a, ms(), dl), "only one of the parties may propose"),
        (b, p(vec![b, s], b, b, a, ms(), dl), "the buyer and the seller must be different"),
        (s, p(vec![l, s], b, s, a, ms(), dl), "the buyer"),
        (b, p(vec![b, l], b, s, a, ms(), dl), "is not among the parties"),
        (b, p(vec![b, s, a], b, s, a, ms(), dl), "must not be a party"),
        (b, p(vec![b, s], b, s, a, ms(), now), "signing deadline"),
        (b, p(vec![b, s], b, s, a, vec![], dl), "at least one milestone"),
        (
            b,
            p(vec![b, s], b, s, a, vec![MilestoneSpec { description: "x".into(), amount: 0, deadline: dl + 1 }], dl),
            "milestone 0 has an amount of 0 fen",
        ),
        (
            b,
            p(vec![b, s], b, s, a, vec![MilestoneSpec { description: "x".into(), amount: 5, deadline: dl }], dl),
            "the deadline of milestone 0 must be after the signing deadline",
        ),
        (
            b,
            p(
                vec![b, s],
                b,
                s,
                a,
                vec![
                    MilestoneSpec { description: "x".into(), amount: u64::MAX, deadline: dl + 1 },
                    MilestoneSpec { description: "y".into(), amount: 1, deadline: dl + 1 },
                ],
                dl,
            ),
            "amounts overflow",
        ),
        (
            b,
            p(
                vec![b, s],
                b,
                s,
                a,
                vec![MilestoneSpec { description: "x".repeat(257), amount: 1, deadline: dl + 1 }],
                dl,
            ),
            "257 bytes, over the limit of 256",
        ),
        (
            b,
            p(
                vec![b, s],
                b,
                s,
                a,
                (0..17).map(|_| MilestoneSpec { description: "x".into(), amount: 1, deadline: dl + 1 }).collect(),
                dl,
            ),
            "at most 16 milestones, got 17",
        ),
    ];
    for (who, input, needle) in cases {
        assert_contains(&w.err(&who, 0, input), needle);
    }
    assert_eq!(w.get(1), None, "nothing was stored");
    assert!(w.env.events().is_empty());
    // Sixteen parties is allowed; a two-party agreement too.
    let sixteen: Vec<AccountId> = (0..14).map(|i| TestEnv::account(&format!("p{i}"))).chain([b, s]).collect();
    assert_eq!(w.env.call_decode::<u64>(&b, &w.c, 0, p(sixteen, b, s, a, ms(), dl)), Ok(1));
    assert_eq!(w.env.call_decode::<u64>(&b, &w.c, 0, p(vec![s, b], b, s, a, ms(), dl)), Ok(2));
    assert_eq!(w.agreement(1).parties.len(), 16);
}

#[test]
fn one_instance_holds_many_agreements_with_separate_escrows() {
    let w = world();
    let first = w.active();
    let now = w.env.block_time();
    // A two-party agreement between the logistics firm (buyer of a service) and the seller.
    let second: u64 = w
        .env
        .call_decode(
            &w.logistics,
            &w.c,
            0,
            msg::propose(
                doc("运输服务合同"),
                vec![w.logistics, w.seller],
                w.logistics,
                w.seller,
                w.arbitrator,
                vec![MilestoneSpec { description: "truck hire".into(), amount: 5_000, deadline: now + 9 * DAY }],
                now + DAY,
            ),
        )
        .unwrap();
    assert_eq!(second, 2);
    // The first agreement's document does not sign the second.
    assert_contains(
        &w.err(&w.seller, 0, msg::sign(second, canonical())),
        "the document differs: agreement 2 was proposed with document",
    );
    w.env.call(&w.seller, &w.c, 0, msg::sign(second, doc("运输服务合同"))).unwrap();
    w.env.call(&w.logistics, &w.c, 5_000, msg::sign(second, doc("运输服务合同"))).unwrap();
    assert_eq!(w.bal(&w.c), TOTAL + 5_000);
    w.env.call(&w.logistics, &w.c, 0, msg::confirm_delivery(second, 0)).unwrap();
    assert_eq!(w.agreement(second).status, Status::Completed);
    assert_eq!(w.agreement(first).status, Status::Active);
    assert_eq!(w.agreement(first).escrow, TOTAL);
    assert_eq!(w.bal(&w.c), TOTAL);
    assert_contains(&w.err(&w.buyer, 0, msg::confirm_delivery(second, 0)), "only the buyer of agreement 2");
    let q = |a: AccountId| w.env.call_decode::<Vec<u64>>(&w.auditor, &w.c, 0, msg::agreements_of(a)).unwrap();
    assert_eq!(q(w.seller), vec![1, 2]);
    assert_eq!(q(w.logistics), vec![1, 2]);
    assert_eq!(q(w.arbitrator), vec![1, 2]);
    assert_eq!(q(w.buyer), vec![1]);
    let page = |from, limit| {
        w.env.call_decode::<Vec<u64>>(&w.auditor, &w.c, 0, msg::agreements_of_page(w.seller, from, limit)).unwrap()
    };
    assert_eq!(page(1, 10), vec![2]);
    assert_eq!(page(0, 1), vec![1]);
    assert_eq!(page(5, 10), Vec::<u64>::new());
    assert_eq!(page(u32::MAX, u32::MAX), Vec::<u64>::new());
}

#[test]
fn metadata_documents_every_message_and_sign_is_payable() {
    let meta = EcommerceAgreement::metadata();
    assert_eq!(meta.name, "EcommerceAgreement");
    assert!(meta.events.is_some());
    for m in meta.messages.iter().chain(&meta.constructors) {
        assert!(!m.docs.is_empty(), "{} has no doc comment", m.name);
        assert_eq!(m.payable, m.name == "sign", "{} payable?", m.name);
    }
    for name in [
        "propose",
        "sign",
        "cancel",
        "confirm_delivery",
        "open_dispute",
        "resolve_dispute",
        "agreement",
        "agreements_of",
        "agreements_of_page",
        "verify_document",
        "overdue_milestones",
    ] {
        assert!(meta.message(name).is_some(), "{name} missing");
    }
}

#[test]
fn the_largest_agreement_fits_in_storage_output_and_events() {
    let w = world();
    let now = w.env.block_time();
    let mut parties: Vec<AccountId> = (0..14).map(|i| TestEnv::account(&format!("party{i}"))).collect();
    parties.extend([w.buyer, w.seller]);
    for p in &parties {
        w.env.set_balance(p, START);
    }
    let specs: Vec<MilestoneSpec> = (0..16)
        .map(|i| MilestoneSpec { description: "描".repeat(85) + "x", amount: 1_000 + i, deadline: now + 10 * DAY })
        .collect();
    assert_eq!(specs[0].description.len(), 256);
    let total: u64 = specs.iter().map(|m| m.amount).sum();
    let id: u64 = w
        .env
        .call_decode(
            &w.buyer,
            &w.c,
            0,
            msg::propose(canonical(), parties.clone(), w.buyer, w.seller, w.arbitrator, specs, now + DAY),
        )
        .expect("propose the largest agreement");
    for p in &parties {
        let value = if *p == w.buyer { total } else { 0 };
        w.sign(p, id, value).expect("sign");
    }
    assert_eq!(w.agreement(id).status, Status::Active);
    let reason = "理".repeat(170) + "xx"; // 512 bytes
    assert_eq!(reason.len(), 512);
    for i in 0..16u32 {
        w.env.call(&w.seller, &w.c, 0, msg::open_dispute(id, i, reason.clone())).expect("dispute");
    }
    let raw = w.env.call(&w.auditor, &w.c, 0, msg::agreement(id)).expect("query");
    assert!(raw.len() > 14_000 && raw.len() <= 16 * 1024, "agreement is {} bytes", raw.len());
    let a = w.agreement(id);
    assert_eq!(a.signatures.len(), 16);
    assert!(a.milestones.iter().all(|m| matches!(m.state, MilestoneState::Disputed { .. })));
    for i in 0..16u32 {
        w.env.call(&w.arbitrator, &w.c, 0, msg::resolve_dispute(id, i, 500)).expect("resolve");
    }
    assert_eq!(w.agreement(id).status, Status::Completed);
    assert_eq!(w.bal(&w.seller), START + 16 * 500);
    assert_eq!(w.bal(&w.buyer), START - 16 * 500);
    assert_eq!(w.bal(&w.c), 0);
}

#[test]
fn only_an_arbitrator_the_alliance_registered_may_be_named_and_decide() {
    let w = world();
    // The buyer's friend is no arbitration commission.
    let now = w.env.block_time();
    let input = msg::propose(canonical(), w.parties(), w.buyer, w.seller, w.outsider, milestones(now), now + 3 * DAY);
    let err = w.env.call(&w.seller, &w.c, 0, input).unwrap_err();
    assert_contains(&err, "is not an arbitrator the alliance registered (it lacks the role arbitrator)");
    // A commission whose role the alliance withdrew can no longer decide the disputes it holds.
    let id = w.active();
    w.env.call(&w.buyer, &w.c, 0, msg::open_dispute(id, 0, "短少".into())).expect("dispute");
    w.env.register(&w.arbitrator, "beijing", &[]);
    assert_contains(
        &w.err(&w.arbitrator, 0, msg::resolve_dispute(id, 0, 1)),
        "no longer holds the alliance's role arbitrator",
    );
}

/// The read policy of agreements: parties, the arbitrator and auditors read one; an outsider
/// is refused, and lists only its own agreements; an unsigned read is refused before the policy.
#[test]
fn agreements_are_read_by_their_parties_arbitrator_and_auditors() {
    let w = world();
    let id = w.propose();
    for reader in [w.buyer, w.seller, w.logistics, w.arbitrator, w.auditor] {
        let a: Option<Agreement> = w.env.call_decode(&reader, &w.c, 0, msg::agreement(id)).expect("allowed");
        assert_eq!(a.map(|a| a.id), Some(id));
    }
    let e = w.env.call(&w.outsider, &w.c, 0, msg::agreement(id)).unwrap_err();
    assert_contains(&e, "read refused: agreement 1 is read by its parties, its arbitrator and auditors");
    assert_contains(&w.env.call(&w.outsider, &w.c, 0, msg::agreements_of(w.buyer)).unwrap_err(), "read refused");
    assert_eq!(w.env.call_decode::<Vec<u64>>(&w.buyer, &w.c, 0, msg::agreements_of(w.buyer)), Ok(vec![id]));
    w.env.set_unsigned_reads(true);
    assert_contains(&w.env.call(&w.buyer, &w.c, 0, msg::agreement(id)).unwrap_err(), "signed read request");
    assert_eq!(w.env.call_decode::<bool>(&w.outsider, &w.c, 0, msg::verify_document(id, canonical())), Ok(true));
}
