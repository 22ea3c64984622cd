//! Eco-compliance as real wasm on the runtime's test chain, with the real `tender` wasm as the
//! penalty register: the Hebei steel works over its SO2 limit graded D, fined and entered in the
//! register by a cross-contract call; the Tianjin chemical plant graded A and rewarded once; the
//! alert its reading raised acknowledged by Beijing and Tianjin; forbidden paths refused.
use eco_compliance::{msg, AlertStatus, Assessment, Grade, Level, Region, RegionSummary, ENVIRONMENT_AGENCY};
use jjj_primitives::gov::Region as GovRegion;
use jjj_sdk::Hash;
use jjj_testkit::{contract_wasm, decode_output, TestChain};
use tender::Penalty;

const FUNDS: u64 = 10_000_000;
const DAY: u64 = 86_400_000;
const REWARD_A: u64 = 20_000;

#[test]
fn a_polluter_is_fined_into_the_penalty_register_and_a_good_performer_rewarded_as_wasm() {
    let mut chain = TestChain::new();
    let deployer = chain.account("deployer", FUNDS);
    let bj = chain.account("beijing-eeb", FUNDS);
    let tj = chain.account("tianjin-eeb", FUNDS);
    let hb = chain.account("hebei-eeb", FUNDS);
    let steel = chain.account("tangshan-steel-works", FUNDS);
    let steel_station = chain.account("tangshan-steel-stack-1", FUNDS);
    let chem = chain.account("tianjin-chemical-plant", FUNDS);
    let chem_station = chain.account("tianjin-chemical-stack-1", FUNDS);
    let government = chain.account("jjj-coordination-office", FUNDS);
    for b in [&bj, &tj, &hb] {
        chain.set_roles(&b.id, &[ENVIRONMENT_AGENCY]);
    }
    // The test chain's accounts belong to a Beijing member; move the others to their regions.
    for a in [&hb, &steel, &steel_station] {
        chain.set_member(&a.id, "hebei", GovRegion::Hebei);
    }
    for a in [&tj, &chem, &chem_station] {
        chain.set_member(&a.id, "tianjin", GovRegion::Tianjin);
    }
    let code = chain.upload(&deployer, &contract_wasm("tender")).expect("upload tender");
    let register = chain.instantiate(&deployer, code, 0, tender::msg::new()).expect("instantiate tender");
    let code = chain.upload(&deployer, &contract_wasm("eco_compliance")).expect("upload");
    let thresholds = vec![("SO2".into(), 45_000), ("NOx".into(), 100_000), ("PM2.5".into(), 20_000)];
    let c = chain
        .instantiate(&deployer, code, 0, msg::new(thresholds, 1_000, REWARD_A, 10_000, Some(register)))
        .expect("instantiate");
    chain.register_address(&c, &["penalty-recorder"]);
    chain.advance_time(305 * DAY); // 2026-11-02

    let steel_limits = vec![("SO2".into(), 35_000), ("NOx".into(), 50_000), ("PM2.5".into(), 10_000)];
    let e = chain.call_err(
        &bj,
        &c,
        0,
        msg::register_enterprise(
            steel.id,
            "唐山钢铁厂".into(),
            "2026-11".into(),
            steel_limits.clone(),
            vec![steel_station.id],
        ),
    );
    assert!(e.contains("is not registered by a member of Beijing"), "{e}");
    let e = chain.call_err(
        &government,
        &c,
        0,
        msg::register_enterprise(
            steel.id,
            "唐山钢铁厂".into(),
            "2026-11".into(),
            steel_limits.clone(),
            vec![steel_station.id],
        ),
    );
    assert!(e.contains("lacks the alliance's role environment-agency"), "{e}");
    chain.call_ok::<()>(
        &hb,
        &c,
        0,
        msg::register_enterprise(steel.id, "唐山钢铁厂".into(), "2026-11".into(), steel_limits, vec![steel_station.id]),
    );
    let chem_limits = vec![("NOx".into(), 100_000), ("VOCs".into(), 60_000)];
    chain.call_ok::<()>(
        &tj,
        &c,
        0,
        msg::register_enterprise(chem.id, "天津化工厂".into(), "2026-11".into(), chem_limits, vec![chem_station.id]),
    );
    assert_eq!(chain.call_ok::<u64>(&steel, &c, 100_000, msg::deposit(steel.id)), 100_000);
    assert_eq!(chain.call_ok::<u64>(&chem, &c, 30_000, msg::deposit(chem.id)), 30_000);
    assert_eq!(chain.call_ok::<u64>(&government, &c, 10_000, msg::fund_rewards()), 10_000);

    // Readings, each signed by its station.
    let r =
        chain.call(&steel_station, &c, 0, msg::submit_reading("SO2".into(), 50_000, "2026-11".into(), Hash([1; 32])));
    let reading_gas = r.gas_used;
    assert_eq!(decode_output::<Option<u64>>(&r), Ok(Some(1)), "over the joint threshold: alert #1");
    assert_eq!(
        chain.call_ok::<Option<u64>>(
            &steel_station,
            &c,
            0,
            msg::submit_reading("NOx".into(), 30_000, "2026-11".into(), Hash([2; 32]))
        ),
        None
    );
    assert_eq!(
        chain.call_ok::<Option<u64>>(
            &steel_station,
            &c,
            0,
            msg::submit_reading("PM2.5".into(), 5_000, "2026-11".into(), Hash([3; 32]))
        ),
        None
    );
    assert_eq!(
        chain.call_ok::<Option<u64>>(
            &chem_station,
            &c,
            0,
            msg::submit_reading("NOx".into(), 20_000, "2026-11".into(), Hash([4; 32]))
        ),
        None
    );
    assert_eq!(
        chain.call_ok::<Option<u64>>(
            &chem_station,
            &c,
            0,
            msg::submit_reading("VOCs".into(), 12_000, "2026-11".into(), Hash([5; 32]))
        ),
        None
    );
    let e =
        chain.call_err(&steel_station, &c, 0, msg::submit_reading("SO2".into(), 1, "2026-11".into(), Hash([6; 32])));
    assert!(e.contains("has read SO2 for period 2026-11 already"), "{e}");
    let e = chain.call_err(&government, &c, 0, msg::submit_reading("SO2".into(), 1, "2026-11".into(), Hash([6; 32])));
    assert!(e.contains("is not a registered monitoring station"), "{e}");
    let e = chain.call_err(&chem_station, &c, 0, msg::submit_reading("NOx".into(), 1, "2026-1".into(), Hash([6; 32])));
    assert!(e.contains("is not a month written YYYY-MM"), "{e}");

    // The alert: Hebei's bureau may not acknowledge its own; Beijing's and Tianjin's close it.
    let e = chain.call_err(&hb, &c, 0, msg::acknowledge(1));
    assert!(e.contains("alert #1 is Hebei's own"), "{e}");
    let a: AlertStatus = chain.call_ok(&bj, &c, 0, msg::acknowledge(1));
    assert_eq!((a.pending, a.alert.closed_at), (vec![Region::Tianjin], None));
    let e = chain.call_err(&bj, &c, 0, msg::acknowledge(1));
    assert!(e.contains("Beijing acknowledged alert #1 already"), "{e}");
    let a: AlertStatus = chain.call_ok(&tj, &c, 0, msg::acknowledge(1));
    assert!(a.pending.is_empty() && a.alert.closed_at.is_some(), "{a:?}");

    // December: the grades. The steel works' D enters the register through the contract call.
    let e = chain.call_err(&government, &c, 0, msg::grade(steel.id, "2026-11".into()));
    assert!(e.contains("is not over: it is graded from 2026-12 on"), "{e}");
    chain.advance_time(30 * DAY);
    let r = chain.call(&government, &c, 0, msg::grade(steel.id, "2026-11".into()));
    let grade_gas = r.gas_used;
    let g: Grade = decode_output(&r).expect("grade");
    assert_eq!(
        (g.assessment.level, g.assessment.worst_ratio_bps, g.fine_due, g.fine_taken, g.penalty),
        (Level::D, 14_286, 43_000, 43_000, Some(1))
    );
    let entries: Vec<Penalty> =
        chain.query(&government.id, &register, tender::msg::penalties(steel.id, 0, 10)).expect("penalties");
    assert_eq!(entries.iter().map(|p| (p.recorder, p.amount)).collect::<Vec<_>>(), [(c, 43_000)]);
    assert_eq!(entries[0].reason, "eco-compliance grade D for 2026-11: SO2 at 143% of its limit");
    let e = chain.call_err(&hb, &c, 0, msg::grade(steel.id, "2026-11".into()));
    assert!(e.contains("a grade is final"), "{e}");
    let again: Assessment =
        chain.query(&government.id, &c, msg::recompute_grade(steel.id, "2026-11".into())).expect("recompute");
    assert_eq!(again, g.assessment, "reproducible from the recorded readings");
    assert_eq!(chain.query::<u64>(&government.id, &c, msg::reward_fund()), Ok(53_000));

    let g: Grade = chain.call_ok(&government, &c, 0, msg::grade(chem.id, "2026-11".into()));
    assert_eq!((g.assessment.level, g.penalty), (Level::A, None));
    let before = chain.balance(&chem.id);
    assert_eq!(chain.call_ok::<u64>(&chem, &c, 0, msg::claim_reward("2026-11".into())), REWARD_A);
    assert_eq!(chain.balance(&chem.id), before + REWARD_A);
    let e = chain.call_err(&chem, &c, 0, msg::claim_reward("2026-11".into()));
    assert!(e.contains("was claimed already"), "{e}");
    let e = chain.call_err(&steel, &c, 0, msg::claim_reward("2026-11".into()));
    assert!(e.contains("grade D for period 2026-11 earns no reward"), "{e}");
    let s: RegionSummary =
        chain.query(&government.id, &c, msg::region_summary(Region::Hebei, "2026-11".into())).expect("summary");
    assert_eq!(s, RegionSummary { a: 0, b: 0, c: 0, d: 1 });
    assert_eq!(chain.balance(&c), 57_000 + 30_000 + 53_000 - REWARD_A, "deposits and fund");
    let count: u32 = chain.query(&government.id, &register, tender::msg::penalty_count(chem.id)).expect("count");
    assert_eq!(count, 0);
    println!("gas: submit_reading (with an alert) {reading_gas}, grade (D, with the register call) {grade_gas}");
}
