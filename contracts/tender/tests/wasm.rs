//! A call for projects as real wasm on the runtime's test chain: sealed bids, a reveal checked
//! against its seal, a committee's scores, the best bid funded in milestones, the unrevealed
//! bidder's deposit forfeited into the penalty register; forbidden paths refused.
use jjj_primitives::Hash;
use jjj_testkit::{contract_wasm, TestChain};
use tender::{msg, seal, Bid, BidStatus, CallSpec, Criterion, Penalty, Ranked, FUNDING_BODY, PENALTY_RECORDER};

const FUNDS: u64 = 10_000_000;
const DEPOSIT: u64 = 10_000;
const HOUR: u64 = 3_600_000;

#[test]
fn a_call_funds_the_best_sealed_bid_and_registers_the_one_that_never_revealed_as_wasm() {
    let mut chain = TestChain::new();
    let deployer = chain.account("deployer", FUNDS);
    let fund = chain.account("jingjinji-development-fund", FUNDS);
    let experts = [chain.account("expert-1", 0), chain.account("expert-2", 0)];
    let builder = chain.account("hebei-builder", FUNDS);
    let chem = chain.account("tianjin-chem", FUNDS);
    let late = chain.account("beijing-logistics", FUNDS);
    let bureau = chain.account("hebei-environment-bureau", 0);
    chain.set_roles(&fund.id, &[FUNDING_BODY]);
    let code = chain.upload(&deployer, &contract_wasm("tender")).expect("upload");
    let c = chain.instantiate(&deployer, code, 0, msg::new()).expect("instantiate");

    let now = chain.time();
    let spec = CallSpec {
        title: "京津冀协同发展: 区域节能改造项目".into(),
        criteria: vec![
            Criterion { name: "技术方案".into(), weight: 70 },
            Criterion { name: "报价".into(), weight: 30 },
        ],
        deposit: DEPOSIT,
        bid_deadline: now + HOUR,
        reveal_deadline: now + 2 * HOUR,
        evaluators: experts.iter().map(|e| e.id).collect(),
        quorum: 2,
        max_winners: 1,
        milestones: vec![40, 60],
        max_penalties: 0,
    };
    let e = chain.call_err(&builder, &c, 1_000_000, msg::open_call(spec.clone()));
    assert!(e.contains("only a funding body"), "{e}");
    let id: u64 = chain.call_ok(&fund, &c, 1_000_000, msg::open_call(spec));
    let proposal = Hash([7; 32]);
    let salts = [Hash([1; 32]), Hash([2; 32]), Hash([3; 32])];
    for (who, amount, salt) in [(&builder, 800_000, salts[0]), (&chem, 700_000, salts[1]), (&late, 1, salts[2])] {
        chain.call_ok::<()>(who, &c, DEPOSIT, msg::bid(id, seal(id, &who.id, amount, &proposal, &salt)));
    }
    let bids: Vec<Bid> = chain.query(&experts[0].id, &c, msg::bids(id, 0, 10)).expect("bids");
    assert!(bids.iter().all(|b| b.amount.is_none()), "before the reveal, nobody sees an amount: {bids:?}");
    let e = chain.call_err(&builder, &c, 0, msg::reveal(id, 800_000, proposal, salts[0]));
    assert!(e.contains("after the bidding deadline"), "{e}");

    chain.advance_time(HOUR);
    let e = chain.call_err(&builder, &c, 0, msg::reveal(id, 700_000, proposal, salts[0]));
    assert!(e.contains("do not match"), "{e}");
    chain.call_ok::<()>(&builder, &c, 0, msg::reveal(id, 800_000, proposal, salts[0]));
    chain.call_ok::<()>(&chem, &c, 0, msg::reveal(id, 700_000, proposal, salts[1]));

    chain.advance_time(HOUR);
    for ex in &experts {
        chain.call_ok::<u32>(ex, &c, 0, msg::score(id, builder.id, vec![90, 60]));
        chain.call_ok::<u32>(ex, &c, 0, msg::score(id, chem.id, vec![80, 80]));
    }
    let e = chain.call_err(&builder, &c, 0, msg::score(id, builder.id, vec![100, 100]));
    assert!(e.contains("not on call #1's committee"), "{e}");
    let results: Vec<Ranked> = chain.call_ok(&fund, &c, 0, msg::publish(id));
    // 90×70 + 60×30 = 8,100 beats 80×70 + 80×30 = 8,000: the builder is funded first.
    assert_eq!(results.iter().map(|r| (r.score, r.funded)).collect::<Vec<_>>(), [(8_100, true), (8_000, false)]);
    assert_eq!(chain.balance(&chem.id), FUNDS, "the loser's deposit is back");
    assert_eq!(chain.call_ok::<u64>(&fund, &c, 0, msg::accept_milestone(id, builder.id)), 320_000);
    assert_eq!(chain.call_ok::<u64>(&fund, &c, 0, msg::accept_milestone(id, builder.id)), 480_000);
    assert_eq!(chain.balance(&builder.id), FUNDS + 800_000, "the award and the deposit");
    let bids: Vec<Bid> = chain.query(&experts[0].id, &c, msg::bids(id, 0, 10)).expect("bids");
    assert_eq!(
        bids.iter().map(|b| b.status).collect::<Vec<_>>(),
        [BidStatus::Completed, BidStatus::Lost, BidStatus::Forfeited]
    );

    // The register: the bidder that never revealed, and a penalty from a recorder the
    // alliance named; anyone else refused.
    let e = chain.call_err(&bureau, &c, 0, msg::record_penalty(chem.id, 0, "SO2 超标".into()));
    assert!(e.contains("lacks the alliance's role penalty-recorder"), "{e}");
    chain.set_roles(&bureau.id, &[PENALTY_RECORDER]);
    let _: u64 = chain.call_ok(&bureau, &c, 0, msg::record_penalty(chem.id, 0, "SO2 超标".into()));
    let all: Vec<Penalty> = chain.query(&deployer.id, &c, msg::penalty_register(1, 10)).expect("register");
    assert_eq!(all.iter().map(|p| (p.subject, p.amount)).collect::<Vec<_>>(), [(late.id, DEPOSIT), (chem.id, 0)]);
}
