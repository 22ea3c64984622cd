//! Project fund supervision as real wasm on the runtime's test chain: funded by the owner, wages
//! straight to a worker, a large supplier payment paid only with the owner's and the bureau's
//! approvals, a freeze; the trail of every fen; strangers refused.
use fund_supervision::{msg, PayeeKind, Payout, TrailEntry, FUND_SUPERVISOR};
use jjj_primitives::gov::Region;
use jjj_testkit::{contract_wasm, TestChain};

const FUNDS: u64 = 10_000_000;

#[test]
fn a_project_pays_its_worker_and_supplier_under_supervision_as_wasm() {
    let mut chain = TestChain::new();
    let deployer = chain.account("deployer", FUNDS);
    let owner = chain.account("xiongan-construction-group", FUNDS);
    let contractor = chain.account("hebei-builder", FUNDS);
    let bureau = chain.account("xiongan-housing-bureau", FUNDS);
    let worker = chain.account("worker-zhang", 0);
    let supplier = chain.account("tianjin-steel", 0);
    chain.set_roles(&bureau.id, &[FUND_SUPERVISOR]);
    chain.set_member(&supplier.id, "tianjin", Region::Tianjin);
    let code = chain.upload(&deployer, &contract_wasm("fund_supervision")).expect("upload");
    let c = chain.instantiate(&deployer, code, 0, msg::new()).expect("instantiate");

    let id: u64 = chain.call_ok(
        &owner,
        &c,
        0,
        msg::create_project("雄安安置房 3 号楼".into(), contractor.id, bureau.id, 100_000),
    );
    let _: u64 = chain.call_ok(&owner, &c, 1_000_000, msg::fund(id));
    chain.call_ok::<()>(&contractor, &c, 0, msg::register_payee(id, worker.id, PayeeKind::Worker));
    chain.call_ok::<()>(&contractor, &c, 0, msg::register_payee(id, supplier.id, PayeeKind::Supplier));
    let wages: u32 = chain.call_ok(&contractor, &c, 0, msg::record_work(id, "11 月工资".into(), 50_000));
    let steel: u32 = chain.call_ok(&contractor, &c, 0, msg::record_work(id, "钢材".into(), 600_000));

    let _: Payout = chain.call_ok(&contractor, &c, 0, msg::pay(id, wages, worker.id, 30_000));
    assert_eq!(chain.balance(&worker.id), 30_000, "wages straight to the worker");
    let pending: Payout = chain.call_ok(&contractor, &c, 0, msg::pay(id, steel, supplier.id, 500_000));
    assert_eq!(chain.balance(&supplier.id), 0, "waits for both approvals");
    let e = chain.call_err(&contractor, &c, 0, msg::approve(pending.id));
    assert!(e.contains("owner or supervisor approves"), "{e}");
    let _: Payout = chain.call_ok(&owner, &c, 0, msg::approve(pending.id));
    chain.call_ok::<()>(&bureau, &c, 0, msg::set_frozen(id, true));
    let e = chain.call_err(&bureau, &c, 0, msg::approve(pending.id));
    assert!(e.contains("frozen by its supervisor"), "{e}");
    chain.call_ok::<()>(&bureau, &c, 0, msg::set_frozen(id, false));
    let _: Payout = chain.call_ok(&bureau, &c, 0, msg::approve(pending.id));
    assert_eq!(chain.balance(&supplier.id), 500_000);
    let trail: Vec<TrailEntry> = chain.query(&worker.id, &c, msg::trail(id, 0, 10)).expect("trail");
    assert_eq!(trail.len(), 3, "in from the owner, out to the worker and the supplier: {trail:?}");
    let e = chain.call_err(&contractor, &c, 0, msg::pay(id, wages, deployer.id, 1));
    assert!(e.contains("is not a registered worker or supplier"), "{e}");
}
