//! Native tests of project fund supervision on the mock host: a Xiong'an project funded by its
//! owner, wages paid to each registered worker against work items, a large supplier payment
//! approved by owner and bureau, a freeze, the trail of every fen; every forbidden path refused.
use fund_supervision::{msg, FundSupervision, PayeeKind, Payout, Project, TrailEntry, FUND_SUPERVISOR};
use jjj_sdk::testing::TestEnv;
use jjj_sdk::AccountId;

const FUNDS: u64 = 10_000_000;
const THRESHOLD: u64 = 100_000;

struct World {
    env: TestEnv,
    c: AccountId,
    owner: AccountId,
    contractor: AccountId,
    bureau: AccountId,
    worker: AccountId,
    supplier: AccountId,
    stranger: AccountId,
}

fn world() -> World {
    let env = TestEnv::new();
    let deployer = TestEnv::account("deployer");
    let w = World {
        c: env.deploy(FundSupervision::ENTRY, &deployer, 0, msg::new()).expect("deploy"),
        owner: TestEnv::account("xiongan-construction-group"),
        contractor: TestEnv::account("hebei-builder"),
        bureau: TestEnv::account("xiongan-housing-bureau"),
        worker: TestEnv::account("worker-zhang"),
        supplier: TestEnv::account("tianjin-steel"),
        stranger: TestEnv::account("not-a-member"),
        env,
    };
    w.env.register(&w.owner, "hebei", &[]);
    w.env.register(&w.contractor, "hebei", &[]);
    w.env.register(&w.bureau, "hebei", &[FUND_SUPERVISOR]);
    w.env.register(&w.worker, "hebei", &[]);
    w.env.register(&w.supplier, "tianjin", &[]);
    w.env.set_balance(&w.owner, FUNDS);
    w
}

impl World {
    fn err(&self, who: &AccountId, value: u64, input: Vec<u8>) -> String {
        self.env.call(who, &self.c, value, input).expect_err("must be refused")
    }
    fn project(&self) -> Project {
        let p: Option<Project> = self.env.call_decode(&self.stranger, &self.c, 0, msg::project(1)).expect("query");
        p.expect("project 1")
    }
    /// A funded project with a worker and a supplier and two work items.
    fn ready(&self) {
        let create = msg::create_project("雄安安置房 3 号楼".into(), self.contractor, self.bureau, THRESHOLD);
        let id: u64 = self.env.call_decode(&self.owner, &self.c, 0, create).expect("create");
        assert_eq!(id, 1);
        let left: u64 = self.env.call_decode(&self.owner, &self.c, 1_000_000, msg::fund(1)).expect("fund");
        assert_eq!(left, 1_000_000);
        self.env
            .call(&self.contractor, &self.c, 0, msg::register_payee(1, self.worker, PayeeKind::Worker))
            .expect("payee");
        self.env
            .call(&self.contractor, &self.c, 0, msg::register_payee(1, self.supplier, PayeeKind::Supplier))
            .expect("payee");
        let item: u32 = self
            .env
            .call_decode(&self.contractor, &self.c, 0, msg::record_work(1, "11 月工资".into(), 50_000))
            .expect("work");
        assert_eq!(item, 0);
        let item: u32 = self
            .env
            .call_decode(&self.contractor, &self.c, 0, msg::record_work(1, "钢材".into(), 600_000))
            .expect("work");
        assert_eq!(item, 1);
    }
}

fn assert_contains(err: &str, needle: &str) {
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
}

#[test]
fn wages_reach_the_worker_a_large_payment_needs_both_and_every_fen_is_traced() {
    let w = world();
    w.ready();
    // Wages: below the threshold, paid at once, straight to the worker.
    let p: Payout = w.env.call_decode(&w.contractor, &w.c, 0, msg::pay(1, 0, w.worker, 30_000)).expect("wages");
    assert!(p.paid_at.is_some());
    assert_eq!(w.env.balance(&w.worker), 30_000);
    // Steel: above the threshold, waits for the owner and the bureau.
    let p: Payout = w.env.call_decode(&w.contractor, &w.c, 0, msg::pay(1, 1, w.supplier, 500_000)).expect("pending");
    assert_eq!((p.paid_at, w.env.balance(&w.supplier)), (None, 0));
    let p: Payout = w.env.call_decode(&w.owner, &w.c, 0, msg::approve(p.id)).expect("owner");
    assert_eq!(p.paid_at, None, "one approval of two");
    assert_contains(&w.err(&w.owner, 0, msg::approve(p.id)), "approved payout #2 already");
    let p: Payout = w.env.call_decode(&w.bureau, &w.c, 0, msg::approve(p.id)).expect("bureau");
    assert!(p.paid_at.is_some());
    assert_eq!(w.env.balance(&w.supplier), 500_000);
    assert_eq!(w.project().balance(), 470_000);
    // The trail: in from the owner, out to the worker and the supplier, by work item.
    let t: Vec<TrailEntry> = w.env.call_decode(&w.stranger, &w.c, 0, msg::trail(1, 0, 10)).expect("trail");
    assert!(matches!(t[0], TrailEntry::Funded { from, amount: 1_000_000, .. } if from == w.owner));
    assert!(
        matches!(t[1], TrailEntry::Paid { to, kind: PayeeKind::Worker, item: 0, amount: 30_000, .. } if to == w.worker)
    );
    assert!(
        matches!(t[2], TrailEntry::Paid { to, kind: PayeeKind::Supplier, item: 1, amount: 500_000, .. } if to == w.supplier)
    );
    let got: Vec<Payout> = w.env.call_decode(&w.stranger, &w.c, 0, msg::received(w.worker, 0, 10)).expect("received");
    assert_eq!(got.iter().map(|p| p.amount).collect::<Vec<_>>(), [30_000]);
}

#[test]
fn freezes_budgets_and_strangers_stop_payouts() {
    let w = world();
    w.ready();
    // Only registered payees, only existing items, never past a budget or the balance.
    assert_contains(&w.err(&w.contractor, 0, msg::pay(1, 0, w.stranger, 10)), "is not a registered worker or supplier");
    assert_contains(&w.err(&w.contractor, 0, msg::pay(1, 7, w.worker, 10)), "no work item 7");
    assert_contains(&w.err(&w.contractor, 0, msg::pay(1, 0, w.worker, 60_000)), "50000 fen of its budget left");
    // Only the contractor pays, registers and records; only the owner or the bureau approves.
    assert_contains(&w.err(&w.owner, 0, msg::pay(1, 0, w.worker, 10)), "only project #1's contractor pays out");
    assert_contains(
        &w.err(&w.owner, 0, msg::register_payee(1, w.owner, PayeeKind::Worker)),
        "contractor registers payees",
    );
    assert_contains(
        &w.err(&w.contractor, 0, msg::register_payee(1, w.stranger, PayeeKind::Worker)),
        "not an account the alliance registered",
    );
    let pending: Payout =
        w.env.call_decode(&w.contractor, &w.c, 0, msg::pay(1, 1, w.supplier, 200_000)).expect("pending");
    assert_contains(&w.err(&w.contractor, 0, msg::approve(pending.id)), "owner or supervisor approves");
    // Frozen by the bureau: nothing is paid, not even an approved payout; unfrozen, it is.
    assert_contains(&w.err(&w.owner, 0, msg::set_frozen(1, true)), "only project #1's supervisor freezes it");
    w.env.call(&w.bureau, &w.c, 0, msg::set_frozen(1, true)).expect("freeze");
    assert_contains(&w.err(&w.contractor, 0, msg::pay(1, 0, w.worker, 10)), "frozen by its supervisor");
    w.env.call(&w.owner, &w.c, 0, msg::approve(pending.id)).expect("owner approves");
    assert_contains(&w.err(&w.bureau, 0, msg::approve(pending.id)), "frozen by its supervisor");
    w.env.call(&w.bureau, &w.c, 0, msg::set_frozen(1, false)).expect("unfreeze");
    w.env.call(&w.bureau, &w.c, 0, msg::approve(pending.id)).expect("paid now");
    assert_eq!(w.env.balance(&w.supplier), 200_000);
    // A supervisor must hold the role; funding needs fen.
    let create = msg::create_project("x".into(), w.contractor, w.stranger, 1);
    assert_contains(&w.err(&w.owner, 0, create), "lacks the alliance's role fund-supervisor");
    assert_contains(&w.err(&w.owner, 0, msg::fund(1)), "attach the fen");
    assert_eq!(w.project().paid, 200_000, "only what was paid");
}
