//! Native tests of competitive calls for projects on the mock host: a Jing-Jin-Ji development
//! fund's call, three sealed bids (one never revealed), a committee of three scoring with a
//! quorum of two, priority funding within the budget, milestones, a breach, and the penalty
//! register; every forbidden path refused.
use jjj_sdk::testing::TestEnv;
use jjj_sdk::{AccountId, Hash};
use tender::{
    msg, seal, Bid, BidStatus, CallForProjects, CallSpec, CallStatus, Criterion, Penalty, Ranked, Tender, TenderEvent,
    FUNDING_BODY, PENALTY_RECORDER,
};

const BUDGET: u64 = 1_000_000;
const DEPOSIT: u64 = 10_000;
const START: u64 = 1_000_000;
const BID_DEADLINE: u64 = START + 3_600_000;
const REVEAL_DEADLINE: u64 = BID_DEADLINE + 3_600_000;

struct World {
    env: TestEnv,
    c: AccountId,
    funder: AccountId,
    experts: [AccountId; 3],
    /// Hebei builder, Tianjin chemical, Beijing logistics.
    bidders: [AccountId; 3],
    stranger: AccountId,
}

fn h(n: u8) -> Hash {
    Hash([n; 32])
}

fn spec(w: &World) -> CallSpec {
    CallSpec {
        title: "京津冀协同发展: 区域节能改造项目".into(),
        criteria: vec![
            Criterion { name: "技术方案".into(), weight: 50 },
            Criterion { name: "节能效果".into(), weight: 30 },
            Criterion { name: "报价".into(), weight: 20 },
        ],
        deposit: DEPOSIT,
        bid_deadline: BID_DEADLINE,
        reveal_deadline: REVEAL_DEADLINE,
        evaluators: w.experts.to_vec(),
        quorum: 2,
        max_winners: 2,
        milestones: vec![30, 70],
        max_penalties: 0,
    }
}

fn world() -> World {
    let env = TestEnv::new();
    env.set_block(1, START);
    let deployer = TestEnv::account("deployer");
    let w = World {
        c: env.deploy(Tender::ENTRY, &deployer, 0, msg::new()).expect("deploy"),
        funder: TestEnv::account("jingjinji-development-fund"),
        experts: [TestEnv::account("expert-1"), TestEnv::account("expert-2"), TestEnv::account("expert-3")],
        bidders: [
            TestEnv::account("hebei-builder"),
            TestEnv::account("tianjin-chem"),
            TestEnv::account("beijing-logistics"),
        ],
        stranger: TestEnv::account("not-a-member"),
        env,
    };
    w.env.register(&w.funder, "beijing", &[FUNDING_BODY]);
    for e in &w.experts {
        w.env.register(e, "tianjin", &[]);
    }
    for (b, member) in w.bidders.iter().zip(["hebei", "tianjin", "beijing"]) {
        w.env.register(b, member, &[]);
        w.env.set_balance(b, 100_000);
    }
    w.env.set_balance(&w.funder, 10 * BUDGET);
    for who in w.experts.iter().chain([&w.stranger]) {
        w.env.set_balance(who, 100_000);
    }
    w
}

impl World {
    fn err(&self, who: &AccountId, value: u64, input: Vec<u8>) -> String {
        self.env.call(who, &self.c, value, input).expect_err("must be refused")
    }
    fn ok(&self, who: &AccountId, value: u64, input: Vec<u8>) {
        self.env.call(who, &self.c, value, input).expect("accepted");
    }
    fn call_for(&self) -> CallForProjects {
        let c: Option<CallForProjects> =
            self.env.call_decode(&self.stranger, &self.c, 0, msg::call_for_projects(1)).expect("query");
        c.expect("call 1")
    }
    fn bid(&self, i: usize) -> Bid {
        let bids: Vec<Bid> = self.env.call_decode(&self.stranger, &self.c, 0, msg::bids(1, 0, 10)).expect("bids");
        bids.into_iter().find(|b| b.bidder == self.bidders[i]).expect("bid")
    }
    fn penalties(&self, who: &AccountId) -> Vec<Penalty> {
        self.env.call_decode(&self.stranger, &self.c, 0, msg::penalties(*who, 0, 10)).expect("penalties")
    }
    /// The call opened and three sealed bids: 600,000, 500,000 and 300,000 fen.
    fn bidding(&self) {
        let id: u64 = self.env.call_decode(&self.funder, &self.c, BUDGET, msg::open_call(spec(self))).expect("open");
        assert_eq!(id, 1);
        for (i, amount) in [600_000, 500_000, 300_000].into_iter().enumerate() {
            let b = self.bidders[i];
            self.ok(&b, DEPOSIT, msg::bid(1, seal(1, &b, amount, &h(i as u8), &h(100 + i as u8))));
        }
    }
    /// Bidders 0 and 1 reveal; bidder 2 does not.
    fn revealed(&self) {
        self.bidding();
        self.env.set_block(10, BID_DEADLINE);
        self.ok(&self.bidders[0], 0, msg::reveal(1, 600_000, h(0), h(100)));
        self.ok(&self.bidders[1], 0, msg::reveal(1, 500_000, h(1), h(101)));
        self.env.set_block(20, REVEAL_DEADLINE);
    }
    /// Two experts score: bidder 1 ahead of bidder 0.
    fn scored(&self) {
        self.revealed();
        for e in &self.experts[..2] {
            self.ok(e, 0, msg::score(1, self.bidders[0], vec![80, 70, 60]));
            self.ok(e, 0, msg::score(1, self.bidders[1], vec![90, 80, 70]));
        }
    }
}

fn assert_contains(err: &str, needle: &str) {
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
}

#[test]
fn sealed_bids_are_scored_and_the_best_are_funded_in_milestones() {
    let w = world();
    w.bidding();
    // Sealed: nothing but the commitment is on chain.
    let b = w.bid(0);
    assert_eq!((b.amount, b.proposal, b.status), (None, None, BidStatus::Sealed));
    assert_eq!(w.env.balance(&w.c), BUDGET + 3 * DEPOSIT, "the budget and the deposits in escrow");
    w.env.set_block(10, BID_DEADLINE);
    w.ok(&w.bidders[0], 0, msg::reveal(1, 600_000, h(0), h(100)));
    w.ok(&w.bidders[1], 0, msg::reveal(1, 500_000, h(1), h(101)));
    assert_eq!(w.bid(0).amount, Some(600_000));
    w.env.set_block(20, REVEAL_DEADLINE);
    let weighted: u32 =
        w.env.call_decode(&w.experts[0], &w.c, 0, msg::score(1, w.bidders[0], vec![80, 70, 60])).expect("s");
    assert_eq!(weighted, 80 * 50 + 70 * 30 + 60 * 20);
    w.ok(&w.experts[1], 0, msg::score(1, w.bidders[0], vec![60, 70, 60]));
    w.ok(&w.experts[0], 0, msg::score(1, w.bidders[1], vec![90, 80, 70]));
    w.ok(&w.experts[2], 0, msg::score(1, w.bidders[1], vec![90, 90, 90]));
    w.env.take_events();
    let funder_before = w.env.balance(&w.funder);
    let results: Vec<Ranked> = w.env.call_decode(&w.experts[2], &w.c, 0, msg::publish(1)).expect("publish");
    // Bidder 1 first (8,300 and 9,000 → 8,650), bidder 0 second (7,300 and 6,300 → 6,800); the
    // budget left after bidder 1 (500,000) is short of bidder 0's 600,000: only bidder 1 is funded.
    assert_eq!(
        results,
        vec![
            Ranked { bidder: w.bidders[1], amount: 500_000, score: 8_650, funded: true },
            Ranked { bidder: w.bidders[0], amount: 600_000, score: 6_800, funded: false },
        ]
    );
    // The loser's deposit back; the unrevealed deposit and the unawarded 500,000 to the funder.
    assert_eq!(w.env.balance(&w.bidders[0]), 100_000);
    assert_eq!(w.env.balance(&w.funder), funder_before + 500_000 + DEPOSIT);
    assert_eq!(w.bid(2).status, BidStatus::Forfeited);
    let p = w.penalties(&w.bidders[2]);
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].recorder, p[0].amount), (w.c, DEPOSIT));
    assert_contains(&p[0].reason, "did not reveal its bid in call #1");
    let c = w.call_for();
    assert_eq!((c.status, c.escrow), (CallStatus::Published, 500_000));
    let events: Vec<TenderEvent> = w.env.take_events().iter().map(|e| e.decode().expect("event")).collect();
    assert!(events.contains(&TenderEvent::Published { call: 1, funded: 1, awarded: 500_000 }), "{events:?}");
    // Milestones: 30 % then the rest, and the deposit back with the last.
    let paid: u64 = w.env.call_decode(&w.funder, &w.c, 0, msg::accept_milestone(1, w.bidders[1])).expect("m1");
    assert_eq!(paid, 150_000);
    let paid: u64 = w.env.call_decode(&w.funder, &w.c, 0, msg::accept_milestone(1, w.bidders[1])).expect("m2");
    assert_eq!(paid, 350_000);
    assert_eq!(w.env.balance(&w.bidders[1]), 100_000 + 500_000);
    assert_eq!(w.bid(1).status, BidStatus::Completed);
    assert_contains(&w.err(&w.funder, 0, msg::accept_milestone(1, w.bidders[1])), "no award in progress");
    assert_eq!(w.call_for().escrow, 0);
    assert_eq!(w.env.balance(&w.c), 0, "every fen paid out");
    let results: Vec<Ranked> = w.env.call_decode(&w.stranger, &w.c, 0, msg::results(1)).expect("results");
    assert_eq!(results.len(), 2, "the results are public");
}

#[test]
fn a_winner_in_breach_forfeits_and_is_refused_by_the_next_call() {
    let w = world();
    w.scored();
    let results: Vec<Ranked> = w.env.call_decode(&w.funder, &w.c, 0, msg::publish(1)).expect("publish");
    assert!(results[0].funded && results[0].bidder == w.bidders[1]);
    w.ok(&w.funder, 0, msg::accept_milestone(1, w.bidders[1]));
    let before = w.env.balance(&w.funder);
    assert_contains(
        &w.err(&w.bidders[0], 0, msg::declare_breach(1, w.bidders[1], "x".into())),
        "only call #1's funder",
    );
    let id: u64 = w
        .env
        .call_decode(&w.funder, &w.c, 0, msg::declare_breach(1, w.bidders[1], "二期未按期完工".into()))
        .expect("breach");
    assert_eq!(w.env.balance(&w.funder), before + 350_000 + DEPOSIT, "the unpaid award and the deposit");
    assert_eq!(w.bid(1).status, BidStatus::Breached);
    assert_eq!(w.penalties(&w.bidders[1])[0].id, id);
    assert_contains(&w.err(&w.funder, 0, msg::accept_milestone(1, w.bidders[1])), "no award in progress");
    let count: u32 = w.env.call_decode(&w.stranger, &w.c, 0, msg::penalty_count(w.bidders[1])).expect("count");
    assert_eq!(count, 1);
    // The next call admits no penalised bidder.
    w.env.set_block(30, REVEAL_DEADLINE + 1);
    let mut next = spec(&w);
    next.bid_deadline = REVEAL_DEADLINE + 10_000;
    next.reveal_deadline = REVEAL_DEADLINE + 20_000;
    w.ok(&w.funder, BUDGET, msg::open_call(next));
    let b = w.bidders[1];
    assert_contains(
        &w.err(&b, DEPOSIT, msg::bid(2, seal(2, &b, 1, &h(0), &h(0)))),
        "has 1 entries in the penalty register; call #2 admits at most 0",
    );
    let all: Vec<Penalty> = w.env.call_decode(&w.stranger, &w.c, 0, msg::penalty_register(0, 10)).expect("all");
    assert_eq!(all.iter().map(|p| p.subject).collect::<Vec<_>>(), [w.bidders[2], w.bidders[1]]);
}

#[test]
fn nobody_sees_or_forges_a_bid_and_every_phase_keeps_its_order() {
    let w = world();
    // Only a funding body opens a call, with a budget and a valid spec.
    assert_contains(&w.err(&w.stranger, 1, msg::open_call(spec(&w))), "only a funding body");
    assert_contains(&w.err(&w.funder, 0, msg::open_call(spec(&w))), "attach the call's budget");
    let mut bad = spec(&w);
    bad.criteria[0].weight = 40;
    assert_contains(&w.err(&w.funder, BUDGET, msg::open_call(bad)), "weights add up to 90, not 100");
    let mut bad = spec(&w);
    bad.milestones = vec![30, 60];
    assert_contains(&w.err(&w.funder, BUDGET, msg::open_call(bad)), "shares add up to 90 %");
    let mut bad = spec(&w);
    bad.quorum = 4;
    assert_contains(&w.err(&w.funder, BUDGET, msg::open_call(bad)), "the quorum is 1 to the committee's 3");
    let mut bad = spec(&w);
    bad.evaluators.push(w.experts[0]);
    assert_contains(&w.err(&w.funder, BUDGET, msg::open_call(bad)), "is named twice");
    let mut bad = spec(&w);
    bad.bid_deadline = START;
    assert_contains(&w.err(&w.funder, BUDGET, msg::open_call(bad)), "has passed");
    let mut bad = spec(&w);
    bad.reveal_deadline = BID_DEADLINE;
    assert_contains(&w.err(&w.funder, BUDGET, msg::open_call(bad)), "reveal deadline comes after");

    w.bidding();
    let b0 = w.bidders[0];
    // Bidding: members only, not the committee, one bid each, the exact deposit.
    let s = seal(1, &w.stranger, 1, &h(0), &h(0));
    assert_contains(&w.err(&w.stranger, DEPOSIT, msg::bid(1, s)), "not an organisation the alliance registered");
    w.env.register(&w.stranger, "hebei", &[]);
    assert_contains(&w.err(&w.stranger, 1, msg::bid(1, s)), "attach the deposit of 10000 fen");
    assert_contains(&w.err(&w.experts[0], DEPOSIT, msg::bid(1, s)), "the committee do not bid");
    assert_contains(&w.err(&b0, DEPOSIT, msg::bid(1, s)), "has a bid in call #1 already");
    // No reveal, score or publication before their time.
    assert_contains(&w.err(&b0, 0, msg::reveal(1, 600_000, h(0), h(100))), "revealed after the bidding deadline");
    assert_contains(&w.err(&w.experts[0], 0, msg::score(1, b0, vec![1, 1, 1])), "after the reveal deadline");
    assert_contains(&w.err(&w.funder, 0, msg::publish(1)), "still revealing");
    w.env.set_block(10, BID_DEADLINE);
    assert_contains(&w.err(&w.stranger, DEPOSIT, msg::bid(1, s)), "bidding in call #1 closed");
    // A reveal must match the seal: another amount, proposal or salt is refused, and so is a
    // copy of another bidder's commitment revealed as one's own.
    assert_contains(&w.err(&b0, 0, msg::reveal(1, 500_000, h(0), h(100))), "do not match");
    assert_contains(&w.err(&b0, 0, msg::reveal(1, 600_000, h(9), h(100))), "do not match");
    assert_contains(&w.err(&b0, 0, msg::reveal(1, 600_000, h(0), h(101))), "do not match");
    assert_contains(&w.err(&w.bidders[1], 0, msg::reveal(1, 600_000, h(0), h(100))), "do not match");
    w.ok(&b0, 0, msg::reveal(1, 600_000, h(0), h(100)));
    assert_contains(&w.err(&b0, 0, msg::reveal(1, 600_000, h(0), h(100))), "revealed already");
    // A bid over the budget cannot be revealed.
    let b2 = w.bidders[2];
    let mut over = spec(&w);
    over.bid_deadline = BID_DEADLINE + 1;
    over.reveal_deadline = REVEAL_DEADLINE;
    w.ok(&w.funder, 100, msg::open_call(over));
    w.ok(&b2, DEPOSIT, msg::bid(2, seal(2, &b2, 101, &h(0), &h(0))));
    w.env.set_block(11, BID_DEADLINE + 1);
    assert_contains(&w.err(&b2, 0, msg::reveal(2, 101, h(0), h(0))), "over call #2's budget of 100");
    w.env.set_block(20, REVEAL_DEADLINE);
    assert_contains(&w.err(&w.bidders[1], 0, msg::reveal(1, 500_000, h(1), h(101))), "reveal of call #1 closed");
    // Scoring: the committee only, revealed bids only, once each, one score per criterion.
    assert_contains(&w.err(&w.funder, 0, msg::score(1, b0, vec![1, 1, 1])), "not on call #1's committee");
    assert_contains(&w.err(&w.experts[0], 0, msg::score(1, w.bidders[1], vec![1, 1, 1])), "never revealed");
    assert_contains(&w.err(&w.experts[0], 0, msg::score(1, b0, vec![1, 1])), "3 criteria, 2 scores");
    assert_contains(&w.err(&w.experts[0], 0, msg::score(1, b0, vec![1, 1, 101])), "a score is 0 to 100");
    w.ok(&w.experts[0], 0, msg::score(1, b0, vec![1, 1, 1]));
    assert_contains(&w.err(&w.experts[0], 0, msg::score(1, b0, vec![1, 1, 1])), "scored");
    // Publication: the funder or the committee, once the quorum scored every revealed bid.
    assert_contains(&w.err(&w.stranger, 0, msg::publish(1)), "only call #1's funder or committee");
    assert_contains(&w.err(&w.funder, 0, msg::publish(1)), "1 of the 2 scores");
    w.ok(&w.experts[1], 0, msg::score(1, b0, vec![1, 1, 1]));
    w.ok(&w.funder, 0, msg::publish(1));
    assert_contains(&w.err(&w.funder, 0, msg::publish(1)), "published already");
    assert_contains(&w.err(&w.experts[2], 0, msg::score(1, b0, vec![1, 1, 1])), "results are published");
}

#[test]
fn the_register_takes_penalties_only_from_recorders_the_alliance_named() {
    let w = world();
    let polluter = w.bidders[0];
    let e = w.err(&w.stranger, 0, msg::record_penalty(polluter, 5_000, "SO2 超标".into()));
    assert_contains(&e, "lacks the alliance's role penalty-recorder");
    let bureau = TestEnv::account("hebei-environment-bureau");
    w.env.register(&bureau, "hebei", &[PENALTY_RECORDER]);
    assert_contains(&w.err(&bureau, 0, msg::record_penalty(polluter, 5_000, String::new())), "reason has 1 to");
    let id: u64 =
        w.env.call_decode(&bureau, &w.c, 0, msg::record_penalty(polluter, 5_000, "SO2 超标".into())).expect("record");
    let p = w.penalties(&polluter);
    assert_eq!((p[0].id, p[0].recorder, p[0].amount, p[0].reason.as_str()), (id, bureau, 5_000, "SO2 超标"));
    let none: Vec<Penalty> = w.env.call_decode(&w.stranger, &w.c, 0, msg::penalty_register(2, 10)).expect("page");
    assert!(none.is_empty());
}

#[test]
fn the_seal_is_blake2b_of_the_scale_tuple_so_a_bidder_computes_it_with_any_tool() {
    // The vector scripts/demo-lib.sh's `seal` (printf | b2sum -l 256) gives for the same input.
    let s = seal(1, &AccountId([1; 32]), 5, &h(2), &h(3));
    let hex: String = s.0.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "f1688c9b0d23e87cab489c9fb8fef5d1de1e70f98c2bbeda412104e98e7ab25f");
}
