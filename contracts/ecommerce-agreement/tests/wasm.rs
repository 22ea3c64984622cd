//! The e-commerce agreement as real wasm on the runtime's test chain: the three-party story with
//! escrow, milestone release, a dispute split by the arbitrator, and the main forbidden paths.
//!
//! Exact balance checks are made on accounts that did not send the measured transaction (and on
//! the contract itself), so they hold whatever the chain charges its senders for gas.
use ecommerce_agreement::{msg, Agreement, AgreementEvent, MilestoneSpec, MilestoneState, Status};
use jjj_primitives::Receipt;
use jjj_sdk::codec::Decode;
use jjj_sdk::{AccountId, Hash};
use jjj_testkit::{contract_wasm, TestAccount, TestChain};

const DAY: u64 = 86_400_000;
const FUNDS: u64 = 10_000_000;
const TOTAL: u64 = 100_000;

/// The hash of a document text (any deterministic 32 bytes do for the test).
fn hash_of(text: &str) -> Hash {
    Hash(jjj_sdk::testing::TestEnv::account(text).0)
}

fn canonical() -> Hash {
    hash_of("购销合同 正本 v1: 100 箱, 北京 → 天津, 总价 1000 元")
}

struct World {
    chain: TestChain,
    c: AccountId,
    buyer: TestAccount,
    seller: TestAccount,
    logistics: TestAccount,
    arbitrator: TestAccount,
    outsider: TestAccount,
}

fn world() -> World {
    let mut chain = TestChain::new();
    let deployer = chain.account("deployer", FUNDS);
    let buyer = chain.account("buyer-tianjin-shop", FUNDS);
    let seller = chain.account("seller-beijing-factory", FUNDS);
    let logistics = chain.account("logistics-hebei", FUNDS);
    let arbitrator = chain.account("arbitrator-commission", FUNDS);
    chain.set_roles(&arbitrator.id, &["arbitrator"]);
    let outsider = chain.account("outsider", FUNDS);
    // Not a party: it reads the agreements as an auditor of the alliance, under the read policy.
    chain.set_roles(&outsider.id, &["auditor"]);
    let code = chain.upload(&deployer, &contract_wasm("ecommerce_agreement")).expect("upload");
    let c = chain.instantiate(&deployer, code, 0, msg::new()).expect("instantiate");
    World { chain, c, buyer, seller, logistics, arbitrator, outsider }
}

/// The seller proposes the 3-party agreement (buyer, seller, logistics firm); returns its id.
fn propose(w: &mut World) -> u64 {
    let now = w.chain.time();
    let input = msg::propose(
        canonical(),
        vec![w.buyer.id, w.seller.id, w.logistics.id],
        w.buyer.id,
        w.seller.id,
        w.arbitrator.id,
        vec![
            MilestoneSpec {
                description: "goods shipped from Beijing".into(),
                amount: 30_000,
                deadline: now + 10 * DAY,
            },
            MilestoneSpec { description: "goods received in Tianjin".into(), amount: 70_000, deadline: now + 20 * DAY },
        ],
        now + 3 * DAY,
    );
    w.chain.call_ok(&w.seller, &w.c, 0, input)
}

fn agreement(chain: &TestChain, who: &TestAccount, c: AccountId, id: u64) -> Agreement {
    let a: Option<Agreement> = chain.query(&who.id, &c, msg::agreement(id)).expect("query");
    a.expect("agreement exists")
}

fn events(r: &Receipt) -> Vec<AgreementEvent> {
    r.events.iter().map(|e| AgreementEvent::decode(&mut &e.data[..]).expect("event decodes")).collect()
}

fn assert_contains(err: &str, needle: &str) {
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
}

#[test]
fn three_parties_sign_one_document_escrow_released_and_dispute_split() {
    let mut w = world();
    let id = propose(&mut w);
    let World { mut chain, c, buyer, seller, logistics, arbitrator, outsider } = w;
    assert_eq!(id, 1);
    assert_eq!(agreement(&chain, &outsider, c, id).status, Status::Proposed);

    // The anti-阴阳合同 check: another text's hash cannot be signed.
    let shadow = hash_of("购销合同 阴本: 总价 500 元");
    let err = chain.call_err(&logistics, &c, 0, msg::sign(id, shadow));
    assert_contains(&err, "document differs");
    let err = chain.call_err(&buyer, &c, TOTAL, msg::sign(id, shadow));
    assert_contains(&err, "document differs");
    assert_eq!(chain.balance(&c), 0, "the refused escrow did not stay in the contract");
    assert!(chain.query::<bool>(&outsider.id, &c, msg::verify_document(id, canonical())).expect("query"));
    assert!(!chain.query::<bool>(&outsider.id, &c, msg::verify_document(id, shadow)).expect("query"));

    // Non-party, wrong escrow.
    assert_contains(&chain.call_err(&outsider, &c, 0, msg::sign(id, canonical())), "is not a party to agreement 1");
    assert_contains(&chain.call_err(&arbitrator, &c, 0, msg::sign(id, canonical())), "is not a party to agreement 1");
    let err = chain.call_err(&buyer, &c, TOTAL - 1, msg::sign(id, canonical()));
    assert_contains(&err, "the buyer must attach exactly the escrow of 100000 fen");
    let err = chain.call_err(&buyer, &c, TOTAL + 1, msg::sign(id, canonical()));
    assert_contains(&err, "attached 100001");
    assert_eq!(chain.balance(&c), 0);

    // Everyone signs; the buyer's signature funds the escrow; re-signing is refused.
    let r = chain.call(&seller, &c, 0, msg::sign(id, canonical()));
    assert!(r.is_success(), "{:?}", r.reason());
    assert_eq!(events(&r), vec![AgreementEvent::Signed { id, party: seller.id, escrowed: 0 }]);
    assert_contains(&chain.call_err(&seller, &c, 0, msg::sign(id, canonical())), "has already signed agreement 1");
    let r = chain.call(&buyer, &c, TOTAL, msg::sign(id, canonical()));
    assert!(r.is_success(), "{:?}", r.reason());
    assert_eq!(chain.balance(&c), TOTAL);
    assert_eq!(agreement(&chain, &outsider, c, id).status, Status::Proposed);
    let r = chain.call(&logistics, &c, 0, msg::sign(id, canonical()));
    assert!(r.is_success(), "{:?}", r.reason());
    assert_eq!(
        events(&r),
        vec![
            AgreementEvent::Signed { id, party: logistics.id, escrowed: 0 },
            AgreementEvent::Activated { id, escrow: TOTAL },
        ]
    );
    let a = agreement(&chain, &outsider, c, id);
    assert_eq!(a.status, Status::Active);
    assert_eq!(a.signatures.len(), 3);
    assert_eq!(a.escrow, TOTAL);

    // Active: no cancelling, only the buyer confirms.
    assert_contains(
        &chain.call_err(&logistics, &c, 0, msg::cancel(id)),
        "only an agreement still gathering signatures can be cancelled",
    );
    assert_contains(
        &chain.call_err(&seller, &c, 0, msg::confirm_delivery(id, 0)),
        "only the buyer of agreement 1 may confirm delivery",
    );
    assert_eq!(chain.balance(&c), TOTAL);

    // Milestone 0 released to the seller, exactly.
    let seller_before = chain.balance(&seller.id);
    let r = chain.call(&buyer, &c, 0, msg::confirm_delivery(id, 0));
    assert!(r.is_success(), "{:?}", r.reason());
    assert_eq!(
        events(&r),
        vec![AgreementEvent::DeliveryConfirmed { id, milestone: 0, amount: 30_000, seller: seller.id }]
    );
    assert_eq!(chain.balance(&seller.id), seller_before + 30_000);
    assert_eq!(chain.balance(&c), 70_000);
    assert_contains(&chain.call_err(&buyer, &c, 0, msg::confirm_delivery(id, 0)), "already released to the seller");

    // Milestone 1 runs late; the seller takes it to the arbitrator.
    chain.advance_time(21 * DAY);
    let overdue: Vec<u32> = chain.query(&outsider.id, &c, msg::overdue_milestones(id)).expect("query");
    assert_eq!(overdue, vec![1]);
    let r = chain.call(&seller, &c, 0, msg::open_dispute(id, 1, "delivered, buyer silent".into()));
    assert!(r.is_success(), "{:?}", r.reason());
    assert!(matches!(
        agreement(&chain, &outsider, c, id).milestones[1].state,
        MilestoneState::Disputed { overdue: true, .. }
    ));
    assert_contains(&chain.call_err(&buyer, &c, 0, msg::confirm_delivery(id, 1)), "is under dispute");
    for who in [&buyer, &seller, &logistics, &outsider] {
        assert_contains(
            &chain.call_err(who, &c, 0, msg::resolve_dispute(id, 1, 10_000)),
            "only the arbitrator of agreement 1 may resolve its disputes",
        );
    }
    assert_contains(
        &chain.call_err(&arbitrator, &c, 0, msg::resolve_dispute(id, 1, 70_001)),
        "exceeds the milestone amount",
    );
    assert_eq!(chain.balance(&c), 70_000);

    let seller_before = chain.balance(&seller.id);
    let buyer_before = chain.balance(&buyer.id);
    let r = chain.call(&arbitrator, &c, 0, msg::resolve_dispute(id, 1, 45_000));
    assert!(r.is_success(), "{:?}", r.reason());
    assert_eq!(
        events(&r),
        vec![
            AgreementEvent::DisputeResolved { id, milestone: 1, to_seller: 45_000, to_buyer: 25_000 },
            AgreementEvent::Completed { id }
        ]
    );
    assert_eq!(chain.balance(&seller.id), seller_before + 45_000);
    assert_eq!(chain.balance(&buyer.id), buyer_before + 25_000);
    assert_eq!(chain.balance(&c), 0);
    let a = agreement(&chain, &outsider, c, id);
    assert_eq!(a.status, Status::Completed);
    assert_eq!(a.escrow, 0);

    let ids: Vec<u64> = chain.query(&outsider.id, &c, msg::agreements_of(logistics.id)).expect("query");
    assert_eq!(ids, vec![1]);
    let ids: Vec<u64> = chain.query(&outsider.id, &c, msg::agreements_of(arbitrator.id)).expect("query");
    assert_eq!(ids, vec![1]);
}

#[test]
fn cancellation_before_all_signatures_refunds_the_buyer_exactly_and_late_signing_is_refused() {
    let mut w = world();
    let id = propose(&mut w);
    let World { mut chain, c, buyer, seller, logistics, outsider, .. } = w;
    chain.call_ok::<()>(&buyer, &c, TOTAL, msg::sign(id, canonical()));
    chain.call_ok::<()>(&seller, &c, 0, msg::sign(id, canonical()));
    assert_eq!(chain.balance(&c), TOTAL);

    chain.advance_time(3 * DAY + 1);
    assert_contains(
        &chain.call_err(&logistics, &c, 0, msg::sign(id, canonical())),
        "signing deadline of agreement 1 has passed",
    );
    assert_contains(&chain.call_err(&outsider, &c, 0, msg::cancel(id)), "only a party may cancel agreement 1");

    let buyer_before = chain.balance(&buyer.id);
    let r = chain.call(&logistics, &c, 0, msg::cancel(id));
    assert!(r.is_success(), "{:?}", r.reason());
    assert_eq!(u64::decode(&mut &r.output[..]).expect("output"), TOTAL);
    assert_eq!(events(&r), vec![AgreementEvent::Cancelled { id, by: logistics.id, refunded: TOTAL }]);
    assert_eq!(chain.balance(&buyer.id), buyer_before + TOTAL, "refunded to the fen");
    assert_eq!(chain.balance(&c), 0);
    assert_eq!(agreement(&chain, &outsider, c, id).status, Status::Cancelled);
    assert_contains(&chain.call_err(&buyer, &c, 0, msg::cancel(id)), "is cancelled");
    assert_contains(&chain.call_err(&buyer, &c, 0, msg::confirm_delivery(id, 0)), "is cancelled, not active");
}
