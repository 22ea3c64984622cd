//! Native tests of eco-compliance on the mock host, with the `tender` contract as the penalty
//! register: a Hebei steel works over its SO2 limit is graded D, fined from its deposit into the
//! reward fund and entered in the register; a Tianjin chemical plant well under its limits is
//! graded A and rewarded once; the steel works' reading over the joint threshold raises an alert
//! that the Beijing and Tianjin bureaus acknowledge. Every forbidden path is refused.
use eco_compliance::{
    month_of, msg, AlertStatus, Assessment, EcoCompliance, EcoEvent, Enterprise, Grade, Level, Reading, Region,
    RegionSummary, ENVIRONMENT_AGENCY, PENALTY_RECORDER,
};
use jjj_sdk::event::{account_topic, u64_topic};
use jjj_sdk::testing::TestEnv;
use jjj_sdk::{AccountId, Hash};
use tender::{Penalty, Tender};

const DAY: u64 = 86_400_000;
/// 2026-01-01T00:00:00Z, where TestEnv starts.
const JAN_2026: u64 = 1_767_225_600_000;
/// 2026-11-01 and 2026-12-01.
const NOV_2026: u64 = JAN_2026 + 304 * DAY;
const DEC_2026: u64 = NOV_2026 + 30 * DAY;
const FINE_PER_PERCENT: u64 = 1_000;
const REWARD_A: u64 = 20_000;
const REWARD_B: u64 = 10_000;

struct World {
    env: TestEnv,
    c: AccountId,
    register: AccountId,
    bj: AccountId,
    tj: AccountId,
    hb: AccountId,
    steel: AccountId,
    steel_station: AccountId,
    chem: AccountId,
    chem_station: AccountId,
    government: AccountId,
    stranger: AccountId,
}

fn thresholds() -> Vec<(String, u64)> {
    vec![("SO2".into(), 45_000), ("NOx".into(), 100_000), ("PM2.5".into(), 20_000)]
}

fn world_with(register: bool) -> World {
    let env = TestEnv::new();
    let deployer = TestEnv::account("deployer");
    let reg = env.deploy(Tender::ENTRY, &deployer, 0, tender::msg::new()).expect("deploy tender");
    let penalty_register = register.then_some(reg);
    let input = msg::new(thresholds(), FINE_PER_PERCENT, REWARD_A, REWARD_B, penalty_register);
    let c = env.deploy(EcoCompliance::ENTRY, &deployer, 0, input).expect("deploy");
    let w = World {
        env,
        c,
        register: reg,
        bj: TestEnv::account("beijing-eeb"),
        tj: TestEnv::account("tianjin-eeb"),
        hb: TestEnv::account("hebei-eeb"),
        steel: TestEnv::account("tangshan-steel-works"),
        steel_station: TestEnv::account("tangshan-steel-stack-1"),
        chem: TestEnv::account("tianjin-chemical-plant"),
        chem_station: TestEnv::account("tianjin-chemical-stack-1"),
        government: TestEnv::account("jjj-coordination-office"),
        stranger: TestEnv::account("not-a-member"),
    };
    w.env.register(&w.bj, "beijing", &[ENVIRONMENT_AGENCY]);
    w.env.register(&w.tj, "tianjin", &[ENVIRONMENT_AGENCY]);
    w.env.register(&w.hb, "hebei", &[ENVIRONMENT_AGENCY]);
    w.env.register(&w.steel, "hebei", &[]);
    w.env.register(&w.steel_station, "hebei", &[]);
    w.env.register(&w.chem, "tianjin", &[]);
    w.env.register(&w.chem_station, "tianjin", &[]);
    w.env.register(&w.government, "beijing", &[]);
    // The register takes entries only from a contract governance named a penalty recorder.
    w.env.register(&w.c, "beijing", &[PENALTY_RECORDER]);
    for a in [&w.steel, &w.chem, &w.government] {
        w.env.set_balance(a, 1_000_000);
    }
    w.env.set_block(100, NOV_2026 + DAY);
    w
}

fn assert_contains(err: &str, needle: &str) {
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
}

fn h(n: u8) -> Hash {
    Hash([n; 32])
}

fn steel_limits() -> Vec<(String, u64)> {
    vec![("SO2".into(), 35_000), ("NOx".into(), 50_000), ("PM2.5".into(), 10_000)]
}

fn chem_limits() -> Vec<(String, u64)> {
    vec![("NOx".into(), 100_000), ("VOCs".into(), 60_000)]
}

impl World {
    fn ok<R: parity_scale_codec::Decode>(&self, who: &AccountId, value: u64, input: Vec<u8>) -> R {
        self.env.call_decode(who, &self.c, value, input).unwrap_or_else(|e| panic!("call failed: {e}"))
    }
    fn err(&self, who: &AccountId, value: u64, input: Vec<u8>) -> String {
        self.env.call(who, &self.c, value, input).expect_err("must be refused")
    }
    fn enterprise(&self, a: &AccountId) -> Enterprise {
        let e: Option<Enterprise> = self.ok(&self.stranger, 0, msg::enterprise(*a));
        e.expect("registered")
    }
    fn fund(&self) -> u64 {
        self.ok(&self.stranger, 0, msg::reward_fund())
    }
    fn alert(&self, id: u64) -> AlertStatus {
        let a: Option<AlertStatus> = self.ok(&self.stranger, 0, msg::alert(id));
        a.expect("alert")
    }
    fn read(&self, station: &AccountId, pollutant: &str, value: u64, period: &str, record: u8) -> Option<u64> {
        self.ok(station, 0, msg::submit_reading(pollutant.into(), value, period.into(), h(record)))
    }
    /// Both enterprises registered with deposits, in November 2026.
    fn registered(&self) {
        let input = msg::register_enterprise(
            self.steel,
            "唐山钢铁厂".into(),
            "2026-11".into(),
            steel_limits(),
            vec![self.steel_station],
        );
        let () = self.ok(&self.hb, 0, input);
        let input = msg::register_enterprise(
            self.chem,
            "天津化工厂".into(),
            "2026-11".into(),
            chem_limits(),
            vec![self.chem_station],
        );
        let () = self.ok(&self.tj, 0, input);
        let d: u64 = self.ok(&self.steel, 100_000, msg::deposit(self.steel));
        assert_eq!(d, 100_000);
        let d: u64 = self.ok(&self.chem, 30_000, msg::deposit(self.chem));
        assert_eq!(d, 30_000);
        let fund: u64 = self.ok(&self.government, 10_000, msg::fund_rewards());
        assert_eq!(fund, 10_000);
    }
    /// November's readings: the steel works over its SO2 limit (and the joint threshold), the
    /// chemical plant at a fifth of its limits.
    fn readings(&self) {
        assert_eq!(self.read(&self.steel_station, "SO2", 50_000, "2026-11", 1), Some(1), "over the joint threshold");
        assert_eq!(self.read(&self.steel_station, "NOx", 30_000, "2026-11", 2), None);
        assert_eq!(self.read(&self.steel_station, "PM2.5", 5_000, "2026-11", 3), None);
        assert_eq!(self.read(&self.chem_station, "NOx", 20_000, "2026-11", 4), None);
        assert_eq!(self.read(&self.chem_station, "VOCs", 12_000, "2026-11", 5), None);
    }
}

#[test]
fn a_polluter_is_fined_and_registered_a_good_performer_rewarded_and_an_alert_acknowledged() {
    let w = world_with(true);
    w.registered();
    let e = w.enterprise(&w.steel);
    assert_eq!((e.region, e.since, e.registered_by, e.deposit), (Region::Hebei, 202611, w.hb, 100_000));
    let station: Option<AccountId> = w.ok(&w.stranger, 0, msg::station(w.steel_station));
    assert_eq!(station, Some(w.steel));
    let ev = w.env.take_events();
    let registered: Vec<EcoEvent> =
        ev.iter().filter(|e| e.is("EnterpriseRegistered")).filter_map(|e| e.decode()).collect();
    assert_eq!(registered.len(), 2);
    assert!(ev.iter().any(|e| e.is("StationRegistered") && e.topics.contains(&account_topic(&w.steel_station))));

    w.readings();
    let rs: Vec<Reading> = w.ok(&w.stranger, 0, msg::readings(w.steel, "2026-11".into(), 0, 10));
    assert_eq!(
        rs.iter().map(|r| (r.pollutant.as_str(), r.value)).collect::<Vec<_>>(),
        [("SO2", 50_000), ("NOx", 30_000), ("PM2.5", 5_000)]
    );
    assert_eq!((rs[0].station, rs[0].record), (w.steel_station, h(1)));
    let ev = w.env.take_events();
    assert_eq!(ev.iter().filter(|e| e.is("Reading")).count(), 5);
    assert!(ev.iter().any(|e| e.is("Reading") && e.topics.contains(&u64_topic(202611))));
    let raised: Vec<EcoEvent> = ev.iter().filter(|e| e.is("AlertRaised")).filter_map(|e| e.decode()).collect();
    assert_eq!(
        raised,
        [EcoEvent::AlertRaised {
            alert: 1,
            region: Region::Hebei,
            enterprise: w.steel,
            pollutant: "SO2".into(),
            value: 50_000,
            threshold: 45_000
        }]
    );

    // The alert: Hebei's own, pending Beijing and Tianjin; closed by the second.
    let a = w.alert(1);
    assert_eq!(
        (a.alert.region, a.pending.clone(), a.alert.closed_at),
        (Region::Hebei, vec![Region::Beijing, Region::Tianjin], None)
    );
    let a: AlertStatus = w.ok(&w.bj, 0, msg::acknowledge(1));
    assert_eq!(a.pending, [Region::Tianjin]);
    assert_eq!(
        a.alert.acknowledgements.iter().map(|x| (x.region, x.bureau)).collect::<Vec<_>>(),
        [(Region::Beijing, w.bj)]
    );
    let a: AlertStatus = w.ok(&w.tj, 0, msg::acknowledge(1));
    assert!(a.pending.is_empty());
    assert!(a.alert.closed_at.is_some());
    assert_eq!(w.alert(1), a, "stored as returned");
    let ev = w.env.take_events();
    assert_eq!(ev.iter().filter(|e| e.is("AlertAcknowledged")).count(), 2);
    assert!(ev.iter().any(|e| e.is("AlertClosed") && e.topics.contains(&u64_topic(1))));

    // December: grading November. The steel works: SO2 at 142.86 % (14 286 bps) → D, fined
    // 43 started percents × 1 000 fen, from its deposit into the reward fund, and registered.
    w.env.set_block(200, DEC_2026 + DAY);
    let g: Grade = w.ok(&w.stranger, 0, msg::grade(w.steel, "2026-11".into()));
    assert_eq!(
        g.assessment,
        Assessment {
            level: Level::D,
            readings: 3,
            worst_pollutant: Some("SO2".into()),
            worst_ratio_bps: 14_286,
            percent_over: 43,
            missing: vec![],
        }
    );
    assert_eq!((g.fine_due, g.fine_taken, g.penalty, g.graded_by), (43_000, 43_000, Some(1), w.stranger));
    assert_eq!(w.enterprise(&w.steel).deposit, 57_000);
    assert_eq!(w.enterprise(&w.steel).fined, 43_000);
    assert_eq!(w.fund(), 53_000, "10 000 from the government and the fine");
    let entries: Vec<Penalty> =
        w.env.call_decode(&w.stranger, &w.register, 0, tender::msg::penalties(w.steel, 0, 10)).expect("penalties");
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].id, entries[0].recorder, entries[0].amount), (1, w.c, 43_000));
    assert_eq!(entries[0].reason, "eco-compliance grade D for 2026-11: SO2 at 143% of its limit");
    let count: u32 = w.env.call_decode(&w.stranger, &w.register, 0, tender::msg::penalty_count(w.chem)).expect("count");
    assert_eq!(count, 0);
    let ev = w.env.take_events();
    let fined: Vec<EcoEvent> = ev.iter().filter(|e| e.is("Fined")).filter_map(|e| e.decode()).collect();
    assert_eq!(
        fined,
        [EcoEvent::Fined { enterprise: w.steel, period: 202611, due: 43_000, taken: 43_000, penalty: Some(1) }]
    );
    assert!(ev.iter().any(|e| e.is("Graded") && e.topics.contains(&account_topic(&w.steel))));

    // Every grade is reproducible from the recorded readings.
    let again: Assessment = w.ok(&w.stranger, 0, msg::recompute_grade(w.steel, "2026-11".into()));
    assert_eq!(again, g.assessment);
    let stored: Option<Grade> = w.ok(&w.stranger, 0, msg::grade_of(w.steel, "2026-11".into()));
    assert_eq!(stored, Some(g));

    // The chemical plant: both at 20 % → A; its reward once, from the fund.
    let g: Grade = w.ok(&w.tj, 0, msg::grade(w.chem, "2026-11".into()));
    assert_eq!(
        (g.assessment.level, g.assessment.worst_pollutant.as_deref(), g.assessment.worst_ratio_bps),
        (Level::A, Some("NOx"), 2_000)
    );
    assert_eq!((g.fine_due, g.fine_taken, g.penalty), (0, 0, None));
    let again: Assessment = w.ok(&w.stranger, 0, msg::recompute_grade(w.chem, "2026-11".into()));
    assert_eq!(again, g.assessment);
    let before = w.env.balance(&w.chem);
    let paid: u64 = w.ok(&w.chem, 0, msg::claim_reward("2026-11".into()));
    assert_eq!(paid, REWARD_A);
    assert_eq!(w.env.balance(&w.chem), before + REWARD_A);
    assert_eq!(w.fund(), 53_000 - REWARD_A);
    assert_contains(
        &w.err(&w.chem, 0, msg::claim_reward("2026-11".into())),
        "the reward for period 2026-11 was claimed already (20000 fen)",
    );
    assert_contains(
        &w.err(&w.steel, 0, msg::claim_reward("2026-11".into())),
        "grade D for period 2026-11 earns no reward: it was fined",
    );
    let stored: Option<Grade> = w.ok(&w.stranger, 0, msg::grade_of(w.chem, "2026-11".into()));
    assert_eq!(stored.expect("graded").reward, Some(REWARD_A));
    let rewarded: Vec<EcoEvent> =
        w.env.take_events().iter().filter(|e| e.is("Rewarded")).filter_map(|e| e.decode()).collect();
    assert_eq!(
        rewarded,
        [EcoEvent::Rewarded { enterprise: w.chem, period: 202611, level: Level::A, amount: REWARD_A }]
    );

    // Each region by severity.
    let s: RegionSummary = w.ok(&w.stranger, 0, msg::region_summary(Region::Hebei, "2026-11".into()));
    assert_eq!(s, RegionSummary { a: 0, b: 0, c: 0, d: 1 });
    let s: RegionSummary = w.ok(&w.stranger, 0, msg::region_summary(Region::Tianjin, "2026-11".into()));
    assert_eq!(s, RegionSummary { a: 1, b: 0, c: 0, d: 0 });
    let s: RegionSummary = w.ok(&w.stranger, 0, msg::region_summary(Region::Beijing, "2026-11".into()));
    assert_eq!(s, RegionSummary::default());
    let fines: Vec<Grade> = w.ok(&w.stranger, 0, msg::fines(0, 10));
    assert_eq!(fines.iter().map(|g| g.enterprise).collect::<Vec<_>>(), [w.steel]);

    // Money: the contract holds the two deposits left and the fund.
    assert_eq!(w.env.balance(&w.c), 57_000 + 30_000 + 33_000);
}

#[test]
fn registration_deposits_and_readings_refuse_every_forbidden_path() {
    let w = world_with(false);
    let reg = |who: &AccountId, e: AccountId, limits: Vec<(String, u64)>, stations: Vec<AccountId>| {
        w.err(who, 0, msg::register_enterprise(e, "厂".into(), "2026-11".into(), limits, stations))
    };
    // A permit is registered from its first month, never from a month still to come.
    let future =
        msg::register_enterprise(w.steel, "厂".into(), "2027-01".into(), steel_limits(), vec![w.steel_station]);
    assert_contains(&w.err(&w.hb, 0, future), "a permit from 2027-01 is not in force yet");
    let bad = msg::register_enterprise(w.steel, "厂".into(), "2026-13".into(), steel_limits(), vec![w.steel_station]);
    assert_contains(&w.err(&w.hb, 0, bad), "is not a month");
    // Only a bureau, only its own region's enterprises.
    assert_contains(
        &reg(&w.stranger, w.steel, steel_limits(), vec![w.steel_station]),
        "lacks the alliance's role environment-agency: only an environment bureau registers enterprises",
    );
    assert_contains(
        &reg(&w.steel, w.steel, steel_limits(), vec![w.steel_station]),
        "lacks the alliance's role environment-agency",
    );
    assert_contains(
        &reg(&w.bj, w.steel, steel_limits(), vec![w.steel_station]),
        "is not registered by a member of Beijing: the Beijing bureau registers its own region's enterprises",
    );
    assert_contains(
        &reg(&w.hb, w.stranger, steel_limits(), vec![w.steel_station]),
        "is not registered by a member of Hebei",
    );
    // Permits and stations that make sense.
    assert_contains(&reg(&w.hb, w.steel, vec![], vec![w.steel_station]), "permit limits name 1 to 8 pollutants, got 0");
    let twice = vec![("SO2".into(), 35_000), ("SO2".into(), 30_000)];
    assert_contains(&reg(&w.hb, w.steel, twice, vec![w.steel_station]), "permit limits name SO2 twice");
    assert_contains(
        &reg(&w.hb, w.steel, vec![("SO2".into(), 0)], vec![w.steel_station]),
        "give SO2 a value above zero",
    );
    assert_contains(
        &reg(&w.hb, w.steel, vec![("S O2".into(), 1)], vec![w.steel_station]),
        "is not 1 to 16 printable ASCII bytes",
    );
    assert_contains(&reg(&w.hb, w.steel, steel_limits(), vec![]), "at least one monitoring station");
    assert_contains(&reg(&w.hb, w.steel, steel_limits(), vec![w.steel]), "a station has an account of its own");
    assert_contains(
        &reg(&w.hb, w.steel, steel_limits(), vec![w.stranger]),
        "is not an account the alliance registered",
    );
    assert_contains(&reg(&w.hb, w.steel, steel_limits(), vec![w.steel_station, w.steel_station]), "is listed twice");
    let long = "钢".repeat(50);
    assert_contains(
        &w.err(
            &w.hb,
            0,
            msg::register_enterprise(w.steel, long, "2026-11".into(), steel_limits(), vec![w.steel_station]),
        ),
        "name has 1 to 128 bytes",
    );
    w.registered();
    assert_contains(&reg(&w.hb, w.steel, steel_limits(), vec![w.steel_station]), "is registered already");
    let other = TestEnv::account("hebei-cement");
    w.env.register(&other, "hebei", &[]);
    assert_contains(&reg(&w.hb, other, steel_limits(), vec![w.steel_station]), "already serves enterprise");
    assert_contains(
        &reg(&w.hb, w.steel_station, steel_limits(), vec![other]),
        "is a monitoring station, not an enterprise",
    );
    // More stations: by a bureau of the enterprise's region only.
    let stack2 = TestEnv::account("tangshan-steel-stack-2");
    w.env.register(&stack2, "hebei", &[]);
    assert_contains(
        &w.err(&w.tj, 0, msg::register_station(w.steel, stack2)),
        "is in Hebei: only a Hebei bureau registers its stations",
    );
    assert_contains(
        &w.err(&w.stranger, 0, msg::register_station(w.steel, stack2)),
        "only an environment bureau registers stations",
    );
    assert_contains(&w.err(&w.hb, 0, msg::register_station(w.steel, w.chem_station)), "already serves enterprise");
    let () = w.ok(&w.hb, 0, msg::register_station(w.steel, stack2));
    assert_eq!(w.enterprise(&w.steel).stations, [w.steel_station, stack2]);

    // Deposits: by the enterprise itself, with fen.
    assert_contains(&w.err(&w.government, 10, msg::deposit(w.steel)), "only enterprise");
    assert_contains(&w.err(&w.steel, 0, msg::deposit(w.steel)), "attach the fen to deposit");
    assert_contains(&w.err(&w.government, 10, msg::deposit(w.government)), "is not a registered enterprise");
    assert_contains(&w.err(&w.government, 0, msg::fund_rewards()), "attach the fen to add to the reward fund");

    // Readings: by a registered station, of its permit's pollutants, for a begun period of the
    // permit not graded yet, once.
    let read = |who: &AccountId, p: &str, v: u64, period: &str| {
        w.err(who, 0, msg::submit_reading(p.into(), v, period.into(), h(9)))
    };
    assert_contains(&read(&w.stranger, "SO2", 1, "2026-11"), "is not a registered monitoring station");
    assert_contains(&read(&w.steel, "SO2", 1, "2026-11"), "is not a registered monitoring station");
    assert_contains(&read(&w.hb, "SO2", 1, "2026-11"), "is not a registered monitoring station");
    for bad in ["2026-13", "2026-00", "2026/11", "26-11", "2026-1", "２０２６-11", "1969-12"] {
        assert_contains(&read(&w.steel_station, "SO2", 1, bad), &format!("period \"{bad}\" is not a month"));
    }
    assert_contains(&read(&w.steel_station, "SO2", 1, "2026-12"), "period 2026-12 has not begun (it is 2026-11)");
    assert_contains(&read(&w.steel_station, "SO2", 1, "2026-10"), "period 2026-10 precedes the permit");
    assert_contains(&read(&w.steel_station, "VOCs", 1, "2026-11"), "VOCs is not a pollutant of the permit");
    w.env.set_balance(&w.steel_station, 5);
    assert_contains(
        &w.err(&w.steel_station, 5, msg::submit_reading("SO2".into(), 1, "2026-11".into(), h(9))),
        "does not accept value",
    );
    w.readings();
    assert_contains(
        &read(&w.steel_station, "SO2", 20_000, "2026-11"),
        "has read SO2 for period 2026-11 already (reading #0)",
    );
    // A second station of the same enterprise reads the same pollutant: its own reading.
    assert_eq!(w.read(&stack2, "SO2", 20_000, "2026-11", 7), None);

    // Grading: after the period, once; late readings refused.
    assert_contains(
        &w.err(&w.stranger, 0, msg::grade(w.steel, "2026-11".into())),
        "period 2026-11 is not over: it is graded from 2026-12 on",
    );
    assert_contains(
        &w.err(&w.stranger, 0, msg::grade(w.government, "2026-11".into())),
        "is not a registered enterprise",
    );
    assert_contains(&w.err(&w.stranger, 0, msg::claim_reward("2026-11".into())), "is not a registered enterprise");
    w.env.set_block(200, DEC_2026);
    assert_contains(&w.err(&w.chem, 0, msg::claim_reward("2026-11".into())), "is not graded for period 2026-11 yet");
    assert_contains(
        &w.err(&w.stranger, 0, msg::grade(w.steel, "2026-10".into())),
        "period 2026-10 precedes the permit",
    );
    let g: Grade = w.ok(&w.stranger, 0, msg::grade(w.steel, "2026-11".into()));
    assert_eq!((g.assessment.level, g.assessment.readings, g.penalty), (Level::D, 4, None), "no register: no entry");
    assert_contains(
        &w.err(&w.hb, 0, msg::grade(w.steel, "2026-11".into())),
        "is graded for period 2026-11 already: a grade is final",
    );
    assert_contains(&read(&stack2, "NOx", 1, "2026-11"), "period 2026-11 of");
    assert_contains(&read(&stack2, "NOx", 1, "2026-11"), "is graded already: no more readings");
    let again: Assessment = w.ok(&w.stranger, 0, msg::recompute_grade(w.steel, "2026-11".into()));
    assert_eq!(again, g.assessment, "the late reading changed nothing");
}

#[test]
fn alerts_are_acknowledged_by_the_other_regions_bureaus_once_each() {
    let w = world_with(false);
    w.registered();
    w.readings();
    let ack = |who: &AccountId, id: u64| w.err(who, 0, msg::acknowledge(id));
    assert_contains(&ack(&w.hb, 1), "alert #1 is Hebei's own: the bureaus of the other two regions acknowledge it");
    assert_contains(&ack(&w.stranger, 1), "only an environment bureau acknowledges alerts");
    assert_contains(&ack(&w.steel, 1), "lacks the alliance's role environment-agency");
    assert_contains(&ack(&w.bj, 2), "no alert #2");
    // A bureau of a member outside the three regions has no region to acknowledge for.
    let langfang = TestEnv::account("langfang-eeb");
    w.env.register(&langfang, "langfang", &[ENVIRONMENT_AGENCY]);
    assert_contains(&ack(&langfang, 1), "is not registered by a member of Beijing, Tianjin or Hebei");
    let _: AlertStatus = w.ok(&w.tj, 0, msg::acknowledge(1));
    assert_contains(&ack(&w.tj, 1), "Tianjin acknowledged alert #1 already");
    // Another Tianjin bureau: the region acknowledged already.
    let binhai = TestEnv::account("binhai-eeb");
    w.env.register(&binhai, "tianjin", &[ENVIRONMENT_AGENCY]);
    assert_contains(&ack(&binhai, 1), "Tianjin acknowledged alert #1 already");
    assert_eq!(w.alert(1).pending, [Region::Beijing]);
    let a: AlertStatus = w.ok(&w.bj, 0, msg::acknowledge(1));
    assert!(a.pending.is_empty() && a.alert.closed_at.is_some());
    assert_contains(&ack(&w.bj, 1), "Beijing acknowledged alert #1 already");
    let all: Vec<AlertStatus> = w.ok(&w.stranger, 0, msg::alerts(0, 10));
    assert_eq!(all, [a]);
    // Readings under the thresholds raise none; a Tianjin reading over one is Tianjin's alert.
    let other = TestEnv::account("tianjin-coke-stack");
    w.env.register(&other, "tianjin", &[]);
    let () = w.ok(&w.tj, 0, msg::register_station(w.chem, other));
    assert_eq!(w.read(&other, "NOx", 100_000, "2026-11", 8), None, "at the threshold is no alert");
    assert_eq!(w.read(&other, "VOCs", 999_999, "2026-11", 9), None, "no joint threshold for VOCs");
    let third = TestEnv::account("tianjin-coke-stack-2");
    w.env.register(&third, "tianjin", &[]);
    let () = w.ok(&w.tj, 0, msg::register_station(w.chem, third));
    assert_eq!(w.read(&third, "NOx", 100_001, "2026-11", 10), Some(2));
    let a = w.alert(2);
    assert_eq!((a.alert.region, a.pending), (Region::Tianjin, vec![Region::Beijing, Region::Hebei]));
    assert_contains(&ack(&w.tj, 2), "alert #2 is Tianjin's own");
    let page: Vec<AlertStatus> = w.ok(&w.stranger, 0, msg::alerts(1, 10));
    assert_eq!(page.iter().map(|s| s.alert.id).collect::<Vec<_>>(), [2]);
}

#[test]
fn grades_follow_the_limits_missing_data_is_d_and_fines_stop_at_the_deposit() {
    let w = world_with(true);
    w.registered();
    // At the limit exactly is C; 80 % exactly is B; 50 % exactly is A.
    w.read(&w.chem_station, "NOx", 100_000, "2026-11", 1);
    w.read(&w.chem_station, "VOCs", 48_000, "2026-11", 2);
    w.read(&w.steel_station, "SO2", 28_000, "2026-11", 3);
    w.read(&w.steel_station, "NOx", 25_000, "2026-11", 4);
    w.read(&w.steel_station, "PM2.5", 8_000, "2026-11", 5);
    w.env.set_block(200, DEC_2026);
    let g: Grade = w.ok(&w.stranger, 0, msg::grade(w.chem, "2026-11".into()));
    assert_eq!((g.assessment.level, g.assessment.worst_ratio_bps, g.fine_due), (Level::C, 10_000, 0));
    assert_contains(
        &w.err(&w.chem, 0, msg::claim_reward("2026-11".into())),
        "grade C for period 2026-11 earns no reward",
    );
    let g: Grade = w.ok(&w.stranger, 0, msg::grade(w.steel, "2026-11".into()));
    assert_eq!(
        (g.assessment.level, g.assessment.worst_ratio_bps, g.assessment.worst_pollutant.as_deref()),
        (Level::B, 8_000, Some("SO2"))
    );
    let paid: u64 = w.ok(&w.steel, 0, msg::claim_reward("2026-11".into()));
    assert_eq!(paid, REWARD_B);
    assert_eq!(w.fund(), 0);

    // December: the chemical plant reads only NOx, the steel works nothing. In January both
    // are D for missing data; the steel works owes 3 × 100 % × 1 000 fen, more than its deposit.
    w.read(&w.chem_station, "NOx", 10_000, "2026-12", 6);
    w.env.set_block(300, DEC_2026 + 31 * DAY);
    assert_eq!(month_of(w.env.block_time()), 202701);
    let g: Grade = w.ok(&w.stranger, 0, msg::grade(w.steel, "2026-12".into()));
    assert_eq!(
        g.assessment,
        Assessment {
            level: Level::D,
            readings: 0,
            worst_pollutant: None,
            worst_ratio_bps: 0,
            percent_over: 300,
            missing: vec!["SO2".into(), "NOx".into(), "PM2.5".into()],
        }
    );
    assert_eq!((g.fine_due, g.fine_taken), (300_000, 100_000), "capped at the deposit");
    assert_eq!(w.enterprise(&w.steel).deposit, 0);
    let entries: Vec<Penalty> =
        w.env.call_decode(&w.stranger, &w.register, 0, tender::msg::penalties(w.steel, 0, 10)).expect("penalties");
    assert_eq!(entries.iter().map(|p| p.amount).collect::<Vec<_>>(), [300_000]);
    assert_eq!(entries[0].reason, "eco-compliance grade D for 2026-12: no readings of SO2, NOx, PM2.5");
    let g: Grade = w.ok(&w.stranger, 0, msg::grade(w.chem, "2026-12".into()));
    assert_eq!(
        (g.assessment.level, g.assessment.missing.clone(), g.fine_taken),
        (Level::D, vec!["VOCs".to_string()], 30_000)
    );
    assert_eq!(w.fund(), 130_000);
    let s: RegionSummary = w.ok(&w.stranger, 0, msg::region_summary(Region::Hebei, "2026-12".into()));
    assert_eq!(s.d, 1);
    assert_contains(&w.err(&w.steel, 0, msg::claim_reward("2026-12".into())), "earns no reward: it was fined");
}

#[test]
fn the_register_must_name_this_contract_a_penalty_recorder_and_the_fund_must_cover_a_reward() {
    let w = world_with(true);
    // Without the role, the register refuses, and the whole grade with it.
    w.env.register(&w.c, "beijing", &[]);
    w.registered();
    w.read(&w.steel_station, "SO2", 50_000, "2026-11", 1);
    w.read(&w.chem_station, "NOx", 1_000, "2026-11", 2);
    w.read(&w.chem_station, "VOCs", 1_000, "2026-11", 3);
    w.env.set_block(200, DEC_2026);
    // The chemical plant's A (20 000 fen) is more than the fund's 10 000: refused, kept.
    let _: Grade = w.ok(&w.stranger, 0, msg::grade(w.chem, "2026-11".into()));
    assert_contains(
        &w.err(&w.chem, 0, msg::claim_reward("2026-11".into())),
        "the reward fund holds 10000 fen, the grade A reward is 20000: claim again once it is topped up",
    );
    let e = w.err(&w.stranger, 0, msg::grade(w.steel, "2026-11".into()));
    assert_contains(&e, "did not record the fine");
    assert_contains(&e, "lacks the alliance's role penalty-recorder");
    let none: Option<Grade> = w.ok(&w.stranger, 0, msg::grade_of(w.steel, "2026-11".into()));
    assert_eq!(none, None);
    assert_eq!(w.enterprise(&w.steel).deposit, 100_000, "nothing taken");
    assert_eq!(w.fund(), 10_000);
    w.env.register(&w.c, "beijing", &[PENALTY_RECORDER]);
    let g: Grade = w.ok(&w.stranger, 0, msg::grade(w.steel, "2026-11".into()));
    assert_eq!(g.penalty, Some(1));
    // SO2 43 % over, NOx and PM2.5 missing (2 × 100 %): 243 000 fen due, the deposit's 100 000 taken.
    assert_eq!((g.assessment.percent_over, g.fine_due, g.fine_taken), (243, 243_000, 100_000));
    assert_eq!(w.fund(), 110_000);
    let paid: u64 = w.ok(&w.chem, 0, msg::claim_reward("2026-11".into()));
    assert_eq!(paid, REWARD_A);
    assert_eq!(w.fund(), 110_000 - REWARD_A);
}

#[test]
fn the_constructor_checks_the_agreement_and_months_are_computed_from_block_time() {
    let env = TestEnv::new();
    let d = TestEnv::account("deployer");
    let e = env.deploy(EcoCompliance::ENTRY, &d, 0, msg::new(vec![], 1, 1, 1, None)).expect_err("no thresholds");
    assert_contains(&e, "the joint-prevention thresholds name 1 to 16 pollutants");
    let e = env.deploy(EcoCompliance::ENTRY, &d, 0, msg::new(thresholds(), 0, 1, 1, None)).expect_err("no fine");
    assert_contains(&e, "the fine per percent over a limit is above zero");
    let e = env.deploy(EcoCompliance::ENTRY, &d, 0, msg::new(thresholds(), 1, 1, 2, None)).expect_err("A < B");
    assert_contains(&e, "an A grade earns at least a B grade's reward: 1 < 2");
    assert_eq!(month_of(JAN_2026), 202601);
    assert_eq!(month_of(JAN_2026 - 1), 202512);
    assert_eq!(month_of(NOV_2026 - 1), 202610);
    assert_eq!(month_of(NOV_2026), 202611);
    assert_eq!(month_of(DEC_2026), 202612);
    assert_eq!(month_of(0), 197001);
    // 2024-02-29 and 2024-03-01 (a leap year), 2100-03-01 (2100 is not one).
    assert_eq!(month_of(1_709_164_800_000), 202402);
    assert_eq!(month_of(1_709_251_200_000), 202403);
    assert_eq!(month_of(4_107_542_400_000), 210003);
    assert_eq!(month_of(4_107_542_400_000 - 1), 210002);
}

/// The JSON the CLI takes (transcoded by the metadata) encodes the same calls as `msg::`.
#[test]
fn the_cli_json_forms_encode_the_same_calls() {
    use serde_json::json;
    let meta = jjj_transcode::LoadedMetadata::from_json(&EcoCompliance::metadata().to_json()).expect("metadata");
    let call = |m: &str, args: serde_json::Value| jjj_transcode::encode_call(&meta, m, &args).expect("encodes");
    let a = AccountId([0x11; 32]);
    let hex = format!("0x{}", "11".repeat(32));
    let ctor = jjj_transcode::encode_constructor(
        &meta,
        "new",
        &json!([[["SO2", 45000], ["NOx", 100000], ["PM2.5", 20000]], 1000, 20000, 10000, hex]),
    )
    .expect("constructor");
    assert_eq!(ctor, msg::new(thresholds(), 1_000, 20_000, 10_000, Some(a)));
    let ctor = jjj_transcode::encode_constructor(&meta, "new", &json!([[["SO2", 45000]], 1000, 20000, 10000, null]))
        .expect("constructor");
    assert_eq!(ctor, msg::new(vec![("SO2".into(), 45_000)], 1_000, 20_000, 10_000, None));
    assert_eq!(
        call(
            "register_enterprise",
            json!([hex, "唐山钢铁厂", "2026-11", [["SO2", 35000], ["NOx", 50000], ["PM2.5", 10000]], [hex]])
        ),
        msg::register_enterprise(a, "唐山钢铁厂".into(), "2026-11".into(), steel_limits(), vec![a])
    );
    assert_eq!(
        call("submit_reading", json!(["SO2", 50000, "2026-11", hex])),
        msg::submit_reading("SO2".into(), 50_000, "2026-11".into(), Hash([0x11; 32]))
    );
    assert_eq!(call("grade", json!([hex, "2026-11"])), msg::grade(a, "2026-11".into()));
    assert_eq!(call("acknowledge", json!([1])), msg::acknowledge(1));
    assert_eq!(
        call("region_summary", json!(["Hebei", "2026-11"])),
        msg::region_summary(Region::Hebei, "2026-11".into())
    );
}
