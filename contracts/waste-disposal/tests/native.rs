//! Native tests of the waste transfer manifest contract: every story and every forbidden path,
//! through the SDK's mock host.
use jjj_sdk::event::{account_topic, u64_topic};
use jjj_sdk::testing::TestEnv;
use jjj_sdk::AccountId;
use jjj_sdk::{regions, roles};
use parity_scale_codec::Decode;
use waste_disposal::{
    msg, out_of_tolerance, transporter_amount, HistoryEntry, Manifest, Region, Status, Step, WasteCategory,
    WasteDisposal, WasteEvent,
};

const TOLERANCE: u32 = 500; // 5 %
const START: u64 = 1_000_000_000;

/// Every manifest, history lengths, balances, flagged ids and the event count: what a refused
/// call must leave as it was.
type Snapshot = (Vec<Option<Manifest>>, Vec<usize>, Vec<u64>, Vec<u64>, usize);

struct World {
    env: TestEnv,
    c: AccountId,
    admin: AccountId,
    bj_agency: AccountId,
    tj_agency: AccountId,
    hb_agency: AccountId,
    generator: AccountId,
    transporter: AccountId,
    bj_facility: AccountId,
    hb_facility: AccountId,
    stranger: AccountId,
}

fn world() -> World {
    let env = TestEnv::new();
    let a = TestEnv::account;
    let w = World {
        c: AccountId([0; 32]),
        admin: a("admin"),
        bj_agency: a("beijing-epb"),
        tj_agency: a("tianjin-epb"),
        hb_agency: a("hebei-epb"),
        generator: a("shougang-factory"),
        transporter: a("jingjin-logistics"),
        bj_facility: a("gaoantun-incinerator"),
        hb_facility: a("tangshan-landfill"),
        stranger: a("stranger"),
        env,
    };
    for acct in [
        w.admin,
        w.bj_agency,
        w.tj_agency,
        w.hb_agency,
        w.generator,
        w.transporter,
        w.bj_facility,
        w.hb_facility,
        w.stranger,
    ] {
        w.env.set_balance(&acct, START);
    }
    // The alliance's registry: each party registered by its region's member; Beijing's admin
    // registers Beijing's parties here, the others register themselves.
    // The admin audits too: the tests read manifests as it, under the read policy.
    w.env.register(&w.admin, "beijing", &[roles::MEMBER_ADMIN, roles::AUDITOR]);
    w.env.register(&w.bj_agency, "beijing", &[roles::ENVIRONMENT_AGENCY]);
    w.env.register(&w.tj_agency, "tianjin", &[roles::ENVIRONMENT_AGENCY]);
    w.env.register(&w.hb_agency, "hebei", &[roles::ENVIRONMENT_AGENCY]);
    w.env.register(&w.transporter, "beijing", &[roles::TRANSPORTER]);
    w.env.register(&w.bj_facility, "beijing", &[roles::FACILITY]);
    w.env.register(&w.hb_facility, "hebei", &[roles::FACILITY]);
    w.env.register(&TestEnv::account("tianjin-plant"), "tianjin", &[roles::FACILITY]);
    w.env.register(&w.generator, "beijing", &[]);
    let c = w.env.deploy(WasteDisposal::ENTRY, &w.admin, 0, msg::new(TOLERANCE)).expect("deploy");
    let w = World { c, ..w };
    w.ok(&w.admin, 0, msg::register_agency(Region::Beijing, w.bj_agency));
    w.ok(&w.tj_agency, 0, msg::register_agency(Region::Tianjin, w.tj_agency));
    w.ok(&w.hb_agency, 0, msg::register_agency(Region::Hebei, w.hb_agency));
    w.ok(&w.admin, 0, msg::register_transporter(w.transporter, "京津物流".into()));
    w.ok(&w.admin, 0, msg::register_facility(w.bj_facility, "高安屯焚烧厂".into(), Region::Beijing));
    w.ok(&w.hb_facility, 0, msg::register_facility(w.hb_facility, "唐山填埋场".into(), Region::Hebei));
    w.env.take_events();
    w
}

impl World {
    fn call(&self, who: &AccountId, value: u64, input: Vec<u8>) -> Result<Vec<u8>, String> {
        self.env.call(who, &self.c, value, input)
    }
    fn ok(&self, who: &AccountId, value: u64, input: Vec<u8>) -> Vec<u8> {
        self.call(who, value, input).unwrap_or_else(|e| panic!("call failed: {e}"))
    }
    fn ok_decode<R: Decode>(&self, who: &AccountId, value: u64, input: Vec<u8>) -> R {
        self.env.call_decode(who, &self.c, value, input).unwrap_or_else(|e| panic!("call failed: {e}"))
    }
    /// Expects a refusal whose message contains `needle`, and checks it changed nothing.
    fn refused(&self, who: &AccountId, value: u64, input: Vec<u8>, needle: &str) -> String {
        let before = self.snapshot();
        let err = self.call(who, value, input).expect_err("the call should have been refused");
        assert!(err.contains(needle), "expected {needle:?} in {err:?}");
        assert_eq!(self.snapshot(), before, "a refused call changed state: {err}");
        err
    }
    fn snapshot(&self) -> Snapshot {
        let n: u64 = self.ok_decode(&self.stranger, 0, msg::manifest_count());
        let ms = (1..=n).map(|id| self.manifest_opt(id)).collect();
        let hs = (1..=n).map(|id| self.history(id).len()).collect();
        let accts = [self.generator, self.transporter, self.bj_facility, self.hb_facility, self.stranger, self.c];
        let bals = accts.iter().map(|a| self.env.balance(a)).collect();
        let flagged = self.ok_decode(&self.stranger, 0, msg::flagged_manifests());
        (ms, hs, bals, flagged, self.env.events().len())
    }
    fn manifest_opt(&self, id: u64) -> Option<Manifest> {
        self.ok_decode(&self.admin, 0, msg::manifest(id))
    }
    fn manifest(&self, id: u64) -> Manifest {
        self.manifest_opt(id).expect("manifest exists")
    }
    fn history(&self, id: u64) -> Vec<HistoryEntry> {
        self.ok_decode(&self.admin, 0, msg::history(id))
    }
    fn steps(&self, id: u64) -> Vec<Step> {
        self.history(id).iter().map(|h| h.step).collect()
    }
    fn create(&self, weight: u64, origin: Region, dest: Region, fee: u64, share: u32) -> u64 {
        let facility = if dest == Region::Hebei { self.hb_facility } else { self.bj_facility };
        self.ok_decode(
            &self.generator,
            fee,
            msg::create_manifest(WasteCategory::Hazardous, weight, origin, dest, self.transporter, facility, share),
        )
    }
    fn bal(&self, a: &AccountId) -> u64 {
        self.env.balance(a)
    }
    fn events(&self) -> Vec<WasteEvent> {
        self.env
            .events()
            .iter()
            .filter(|e| e.contract == self.c)
            .map(|e| e.decode::<WasteEvent>().expect("decodes"))
            .collect()
    }
    fn event_names(&self) -> Vec<&'static str> {
        use jjj_sdk::prelude::ContractEvent;
        self.events().iter().map(|e| e.name()).collect()
    }
}

// ------------------------------------------------------------------ stories

#[test]
fn same_region_story_with_exact_split() {
    let w = world();
    let fee = 100_001;
    let t0 = w.env.block_time();
    let id = w.create(1_000, Region::Beijing, Region::Beijing, fee, 3_333);
    assert_eq!(id, 1);
    assert_eq!(w.bal(&w.generator), START - fee);
    assert_eq!(w.bal(&w.c), fee, "the fee sits in escrow");
    let m = w.manifest(id);
    assert_eq!(m.status, Status::Created);
    assert_eq!(m.generator, w.generator);
    assert_eq!(m.declared_weight_kg, 1_000);
    assert_eq!(m.measured_weight_kg, None);
    assert_eq!(m.fee, fee);
    assert_eq!(m.category, WasteCategory::Hazardous);
    assert_eq!(m.created_at, t0);
    assert!(w.ok_decode::<Vec<u64>>(&w.stranger, 0, msg::pending_approvals(Region::Beijing)).is_empty());

    w.env.advance_time(3_600_000);
    w.ok(&w.transporter, 0, msg::confirm_pickup(id));
    assert_eq!(w.manifest(id).status, Status::PickedUp);

    w.env.advance_time(7_200_000);
    let flagged: bool = w.ok_decode(&w.bj_facility, 0, msg::confirm_receipt(id, 1_040)); // 4 % < 5 %
    assert!(!flagged);
    let m = w.manifest(id);
    assert_eq!(m.status, Status::Received);
    assert_eq!(m.measured_weight_kg, Some(1_040));
    assert!(!m.flagged);
    assert_eq!(w.bal(&w.c), fee, "nothing paid before disposal");

    w.env.advance_time(86_400_000);
    let (t, f): (u64, u64) = w.ok_decode(&w.bj_facility, 0, msg::confirm_disposal(id));
    // 100 001 × 3 333 / 10 000 = 33 330.33… → 33 330; the facility gets the other 66 671.
    assert_eq!((t, f), (33_330, 66_671));
    assert_eq!(t + f, fee);
    assert_eq!(w.bal(&w.transporter), START + 33_330);
    assert_eq!(w.bal(&w.bj_facility), START + 66_671);
    assert_eq!(w.bal(&w.generator), START - fee);
    assert_eq!(w.bal(&w.c), 0, "escrow fully paid out");
    let m = w.manifest(id);
    assert_eq!(m.status, Status::Disposed);
    assert_eq!((m.transporter_paid, m.facility_paid), (33_330, 66_671));

    let h = w.history(id);
    assert_eq!(
        h.iter().map(|e| e.step).collect::<Vec<_>>(),
        vec![Step::Created, Step::PickedUp, Step::Received, Step::Disposed]
    );
    assert_eq!(
        h.iter().map(|e| e.by).collect::<Vec<_>>(),
        vec![w.generator, w.transporter, w.bj_facility, w.bj_facility]
    );
    assert_eq!(h.iter().map(|e| e.at).collect::<Vec<_>>(), vec![t0, t0 + 3_600_000, t0 + 10_800_000, t0 + 97_200_000]);
    assert!(h[2].note.contains("1040") && h[2].note.contains("1000"), "{}", h[2].note);
    assert!(h[3].note.contains("33330") && h[3].note.contains("66671"), "{}", h[3].note);

    assert_eq!(w.event_names(), vec!["ManifestCreated", "PickedUp", "Received", "Disposed"]);
    let ev = w.events();
    assert_eq!(
        ev[3],
        WasteEvent::Disposed {
            id,
            transporter: w.transporter,
            transporter_amount: 33_330,
            facility: w.bj_facility,
            facility_amount: 66_671
        }
    );
    match &ev[0] {
        WasteEvent::ManifestCreated {
            id: 1, generator, fee: 100_001, needs_approval: false, weight_kg: 1_000, ..
        } => {
            assert_eq!(*generator, w.generator)
        }
        other => panic!("unexpected {other:?}"),
    }
    let raw = w.env.events();
    assert!(raw[0].is("ManifestCreated"));
    assert_eq!(raw[0].topics[1..], [u64_topic(1), account_topic(&w.transporter), account_topic(&w.bj_facility)]);

    for acct in [w.generator, w.transporter, w.bj_facility] {
        assert_eq!(w.ok_decode::<Vec<u64>>(&w.admin, 0, msg::manifests_of(acct)), vec![1], "{acct:?}");
    }
    assert!(w.ok_decode::<Vec<u64>>(&w.admin, 0, msg::manifests_of(w.hb_facility)).is_empty());
    assert!(w.ok_decode::<Vec<u64>>(&w.stranger, 0, msg::flagged_manifests()).is_empty());
    assert_eq!(w.ok_decode::<u64>(&w.stranger, 0, msg::manifest_count()), 1);
}

#[test]
fn cross_region_needs_destination_approval() {
    let w = world();
    let fee = 50_000;
    let id = w.create(2_000, Region::Beijing, Region::Hebei, fee, 4_000);
    let m = w.manifest(id);
    assert_eq!(m.status, Status::AwaitingApproval);
    assert_eq!(w.ok_decode::<Vec<u64>>(&w.stranger, 0, msg::pending_approvals(Region::Hebei)), vec![id]);
    assert!(matches!(w.events()[0], WasteEvent::ManifestCreated { needs_approval: true, .. }));

    // No pickup before approval.
    let err = w.refused(&w.transporter, 0, msg::confirm_pickup(id), "cannot be picked up");
    assert!(err.contains("awaiting the destination agency's approval"), "{err}");
    // Only the destination (Hebei) agency approves: not the origin's, not another region's.
    w.refused(&w.bj_agency, 0, msg::approve(id), "only the environment agency of Hebei may approve manifest 1");
    w.refused(&w.tj_agency, 0, msg::approve(id), "only the environment agency of Hebei");
    for who in [w.generator, w.transporter, w.hb_facility, w.admin, w.stranger] {
        w.refused(&who, 0, msg::approve(id), "only the environment agency of Hebei");
    }

    w.env.advance_time(1_000);
    w.ok(&w.hb_agency, 0, msg::approve(id));
    assert_eq!(w.manifest(id).status, Status::Approved);
    assert!(w.ok_decode::<Vec<u64>>(&w.stranger, 0, msg::pending_approvals(Region::Hebei)).is_empty());
    w.refused(&w.hb_agency, 0, msg::approve(id), "cannot be approved: it is approved");
    w.refused(&w.hb_agency, 0, msg::reject(id, "too late".into()), "cannot be rejected");

    w.ok(&w.transporter, 0, msg::confirm_pickup(id));
    let flagged: bool = w.ok_decode(&w.hb_facility, 0, msg::confirm_receipt(id, 1_900)); // exactly 5 % under
    assert!(!flagged);
    let (t, f): (u64, u64) = w.ok_decode(&w.hb_facility, 0, msg::confirm_disposal(id));
    assert_eq!((t, f), (20_000, 30_000));
    assert_eq!(w.bal(&w.transporter), START + 20_000);
    assert_eq!(w.bal(&w.hb_facility), START + 30_000);
    assert_eq!(w.bal(&w.c), 0);

    assert_eq!(w.steps(id), vec![Step::Created, Step::Approved, Step::PickedUp, Step::Received, Step::Disposed]);
    assert_eq!(w.history(id)[1].by, w.hb_agency);
    assert_eq!(w.event_names(), vec!["ManifestCreated", "Approved", "PickedUp", "Received", "Disposed"]);
    assert_eq!(w.events()[1], WasteEvent::Approved { id, agency: w.hb_agency });
}

#[test]
fn same_region_manifest_needs_no_approval() {
    let w = world();
    let id = w.create(10, Region::Hebei, Region::Hebei, 1_000, 0);
    assert_eq!(w.manifest(id).status, Status::Created);
    w.refused(&w.hb_agency, 0, msg::approve(id), "stays within Hebei and needs no approval");
    w.refused(&w.hb_agency, 0, msg::reject(id, "no".into()), "needs no approval");
}

#[test]
fn cross_region_to_a_region_without_agency_is_refused() {
    let w = world();
    // A fresh contract with no Tianjin agency.
    let c2 = w.env.deploy(WasteDisposal::ENTRY, &w.admin, 0, msg::new(0)).unwrap();
    let tj_facility = TestEnv::account("tianjin-plant");
    w.env.call(&w.admin, &c2, 0, msg::register_transporter(w.transporter, "t".into())).unwrap();
    w.env.call(&tj_facility, &c2, 0, msg::register_facility(tj_facility, "plant".into(), Region::Tianjin)).unwrap();
    let input = msg::create_manifest(
        WasteCategory::Industrial,
        5,
        Region::Hebei,
        Region::Tianjin,
        w.transporter,
        tj_facility,
        0,
    );
    let err = w.env.call(&w.generator, &c2, 100, input.clone()).unwrap_err();
    assert!(err.contains("no environment agency is registered for Tianjin"), "{err}");
    assert_eq!(w.env.balance(&w.generator), START, "fee refunded by the revert");
    // A same-region manifest there needs no agency.
    let same = msg::create_manifest(
        WasteCategory::Industrial,
        5,
        Region::Tianjin,
        Region::Tianjin,
        w.transporter,
        tj_facility,
        0,
    );
    assert_eq!(w.env.call_decode::<u64>(&w.generator, &c2, 100, same), Ok(1));
    w.env.call(&w.tj_agency, &c2, 0, msg::register_agency(Region::Tianjin, w.tj_agency)).unwrap();
    assert_eq!(w.env.call_decode::<u64>(&w.generator, &c2, 100, input), Ok(2));
}

#[test]
fn rejection_refunds_the_generator_exactly() {
    let w = world();
    let fee = 77_777;
    let id = w.create(300, Region::Tianjin, Region::Hebei, fee, 2_500);
    assert_eq!(w.bal(&w.generator), START - fee);
    w.refused(
        &w.tj_agency,
        0,
        msg::reject(id, "no".into()),
        "only the environment agency of Hebei may reject manifest 1",
    );
    w.refused(&w.generator, 0, msg::reject(id, "no".into()), "only the environment agency of Hebei");
    w.refused(&w.hb_agency, 0, msg::reject(id, "   ".into()), "a reason is required");
    w.refused(&w.hb_agency, 0, msg::reject(id, "x".repeat(257)), "over the limit of 256 bytes");

    w.ok(&w.hb_agency, 0, msg::reject(id, "facility over capacity".into()));
    assert_eq!(w.bal(&w.generator), START, "whole fee back");
    assert_eq!(w.bal(&w.c), 0);
    assert_eq!(w.manifest(id).status, Status::Rejected);
    assert!(w.ok_decode::<Vec<u64>>(&w.stranger, 0, msg::pending_approvals(Region::Hebei)).is_empty());
    let h = w.history(id);
    assert_eq!(
        h.last().map(|e| (e.step, e.by, e.note.as_str())),
        Some((Step::Rejected, w.hb_agency, "facility over capacity"))
    );
    assert_eq!(
        w.events().last(),
        Some(&WasteEvent::Rejected { id, agency: w.hb_agency, reason: "facility over capacity".into(), refunded: fee })
    );

    // Nothing moves after a rejection.
    w.refused(&w.hb_agency, 0, msg::approve(id), "cannot be approved: it is rejected");
    w.refused(&w.transporter, 0, msg::confirm_pickup(id), "cannot be picked up: it is rejected");
    w.refused(&w.generator, 0, msg::cancel(id), "cannot be cancelled: it is rejected");
}

#[test]
fn generator_may_cancel_before_pickup_only() {
    let w = world();
    let a = w.create(100, Region::Beijing, Region::Beijing, 5_000, 5_000);
    let b = w.create(100, Region::Beijing, Region::Hebei, 6_000, 5_000);
    let c = w.create(100, Region::Beijing, Region::Beijing, 7_000, 5_000);
    assert_eq!(w.bal(&w.c), 18_000);
    for who in [w.transporter, w.bj_facility, w.bj_agency, w.admin, w.stranger] {
        w.refused(&who, 0, msg::cancel(a), "only the generator of manifest 1 may cancel it");
    }
    w.ok(&w.generator, 0, msg::cancel(a));
    w.ok(&w.generator, 0, msg::cancel(b)); // awaiting approval
    assert!(w.ok_decode::<Vec<u64>>(&w.stranger, 0, msg::pending_approvals(Region::Hebei)).is_empty());
    assert_eq!(w.bal(&w.generator), START - 7_000);
    assert_eq!(w.bal(&w.c), 7_000);
    w.refused(&w.generator, 0, msg::cancel(a), "cannot be cancelled: it is cancelled by the generator");
    w.refused(&w.transporter, 0, msg::confirm_pickup(a), "cannot be picked up: it is cancelled");
    w.refused(&w.hb_agency, 0, msg::approve(b), "cannot be approved: it is cancelled");

    w.ok(&w.transporter, 0, msg::confirm_pickup(c));
    w.refused(&w.generator, 0, msg::cancel(c), "cannot be cancelled: it is picked up");
    assert_eq!(w.steps(a), vec![Step::Created, Step::Cancelled]);
    assert_eq!(w.events().iter().filter(|e| matches!(e, WasteEvent::Cancelled { .. })).count(), 2);
}

#[test]
fn weight_discrepancy_is_flagged_and_needs_clearance() {
    let w = world();
    let fee = 90_000;
    let id = w.create(1_000, Region::Beijing, Region::Hebei, fee, 1_000);
    w.ok(&w.hb_agency, 0, msg::approve(id));
    w.ok(&w.transporter, 0, msg::confirm_pickup(id));
    w.env.take_events();

    let flagged: bool = w.ok_decode(&w.hb_facility, 0, msg::confirm_receipt(id, 1_200)); // +20 %
    assert!(flagged);
    let m = w.manifest(id);
    assert_eq!(m.status, Status::Flagged);
    assert!(m.flagged);
    assert_eq!(m.measured_weight_kg, Some(1_200));
    assert_eq!(w.ok_decode::<Vec<u64>>(&w.stranger, 0, msg::flagged_manifests()), vec![id]);
    assert_eq!(
        w.events(),
        vec![
            WasteEvent::Received { id, facility: w.hb_facility, declared_kg: 1_000, measured_kg: 1_200 },
            WasteEvent::Flagged {
                id,
                declared_kg: 1_000,
                measured_kg: 1_200,
                origin: Region::Beijing,
                destination: Region::Hebei,
                origin_agency: Some(w.bj_agency),
                destination_agency: Some(w.hb_agency),
            },
        ]
    );
    let raw = w.env.events();
    assert!(raw[1].is("Flagged"));
    assert_eq!(raw[1].topics[1..], [u64_topic(id), account_topic(&w.bj_agency), account_topic(&w.hb_agency)]);
    let h = w.history(id);
    assert_eq!(h.last().map(|e| e.step), Some(Step::Flagged));
    assert!(h.last().unwrap().note.contains("2000 bps"), "{}", h.last().unwrap().note);

    // Held until an agency of either end clears it.
    w.refused(
        &w.hb_facility,
        0,
        msg::confirm_disposal(id),
        "cannot be disposed: it is flagged for a weight discrepancy",
    );
    for who in [w.tj_agency, w.generator, w.transporter, w.hb_facility, w.admin] {
        w.refused(
            &who,
            0,
            msg::clear_flag(id, "ok".into()),
            "only the environment agency of Beijing or Hebei may clear manifest 1",
        );
    }
    w.refused(&w.bj_agency, 0, msg::clear_flag(id, "".into()), "a note is required");
    w.ok(&w.bj_agency, 0, msg::clear_flag(id, "scale recalibrated; difference is moisture".into()));
    assert_eq!(w.manifest(id).status, Status::Received);
    w.refused(&w.hb_agency, 0, msg::clear_flag(id, "again".into()), "cannot be cleared: it is received");

    let (t, f): (u64, u64) = w.ok_decode(&w.hb_facility, 0, msg::confirm_disposal(id));
    assert_eq!((t, f), (9_000, 81_000));
    assert_eq!(w.bal(&w.c), 0);
    let m = w.manifest(id);
    assert!(m.flagged, "the record keeps the flag");
    assert_eq!(w.ok_decode::<Vec<u64>>(&w.stranger, 0, msg::flagged_manifests()), vec![id]);
    assert_eq!(
        w.steps(id),
        vec![
            Step::Created,
            Step::Approved,
            Step::PickedUp,
            Step::Received,
            Step::Flagged,
            Step::FlagCleared,
            Step::Disposed
        ]
    );
    assert_eq!(w.history(id)[5].by, w.bj_agency);
}

#[test]
fn flag_on_same_region_names_the_agency_once_and_underweight_counts() {
    let w = world();
    let id = w.create(1_000, Region::Beijing, Region::Beijing, 1_000, 0);
    w.ok(&w.transporter, 0, msg::confirm_pickup(id));
    w.env.take_events();
    assert!(w.ok_decode::<bool>(&w.bj_facility, 0, msg::confirm_receipt(id, 949))); // −5.1 %
    let raw = w.env.events();
    assert_eq!(raw[1].topics[1..], [u64_topic(id), account_topic(&w.bj_agency)]);
    w.refused(&w.hb_agency, 0, msg::clear_flag(id, "x".into()), "only the environment agency of Beijing or Beijing");
    w.ok(&w.bj_agency, 0, msg::clear_flag(id, "x".into()));
    w.ok(&w.bj_facility, 0, msg::confirm_disposal(id));
    assert_eq!(w.bal(&w.bj_facility), START + 1_000, "share 0: the facility gets everything");
    assert_eq!(w.bal(&w.transporter), START);
}

#[test]
fn tolerance_boundaries() {
    assert!(!out_of_tolerance(1_000, 1_050, 500));
    assert!(out_of_tolerance(1_000, 1_051, 500));
    assert!(!out_of_tolerance(1_000, 950, 500));
    assert!(out_of_tolerance(1_000, 949, 500));
    assert!(!out_of_tolerance(1_000, 1_000, 0));
    assert!(out_of_tolerance(1_000, 1_001, 0));
    assert!(out_of_tolerance(1, u64::MAX, 10_000), "no overflow on huge weights");
    assert!(!out_of_tolerance(u64::MAX, u64::MAX, 0));
    assert!(!out_of_tolerance(1_000, 0, 10_000), "100 % tolerance accepts an empty truck");

    // Through the contract, per manifest, at the exact boundary.
    let w = world();
    let cases = [(1_050, false), (1_051, true), (950, false), (949, true), (0, true)];
    for (measured, expect) in cases {
        let id = w.create(1_000, Region::Beijing, Region::Beijing, 10, 0);
        w.ok(&w.transporter, 0, msg::confirm_pickup(id));
        let got: bool = w.ok_decode(&w.bj_facility, 0, msg::confirm_receipt(id, measured));
        assert_eq!(got, expect, "measured {measured}");
    }
    assert_eq!(w.ok_decode::<Vec<u64>>(&w.stranger, 0, msg::flagged_manifests()), vec![2, 4, 5]);

    // An environment agency tightens the tolerance; only an agency, and at most 100 %.
    w.refused(&w.stranger, 0, msg::set_tolerance(0), "only an environment agency may change the tolerance");
    w.refused(&w.admin, 0, msg::set_tolerance(0), "only an environment agency may change the tolerance");
    w.refused(&w.bj_agency, 0, msg::set_tolerance(10_001), "over 100%");
    w.ok(&w.bj_agency, 0, msg::set_tolerance(0));
    assert_eq!(w.ok_decode::<u32>(&w.stranger, 0, msg::tolerance_bps()), 0);
    let id = w.create(1_000, Region::Beijing, Region::Beijing, 10, 0);
    w.ok(&w.transporter, 0, msg::confirm_pickup(id));
    assert!(w.ok_decode::<bool>(&w.bj_facility, 0, msg::confirm_receipt(id, 1_001)));
}

#[test]
fn every_step_by_a_wrong_role_is_refused() {
    let w = world();
    let id = w.create(500, Region::Beijing, Region::Beijing, 10_000, 3_000);
    let not_transporter = [w.generator, w.bj_facility, w.hb_facility, w.bj_agency, w.admin, w.stranger];
    for who in not_transporter {
        w.refused(&who, 0, msg::confirm_pickup(id), "only the transporter of manifest 1 may confirm pickup");
    }
    w.ok(&w.transporter, 0, msg::confirm_pickup(id));
    let not_facility = [w.generator, w.transporter, w.hb_facility, w.bj_agency, w.admin, w.stranger];
    for who in not_facility {
        w.refused(&who, 0, msg::confirm_receipt(id, 500), "only the facility of manifest 1 may confirm receipt");
    }
    w.ok(&w.bj_facility, 0, msg::confirm_receipt(id, 500));
    for who in not_facility {
        w.refused(&who, 0, msg::confirm_disposal(id), "only the facility of manifest 1 may confirm disposal");
    }
    w.ok(&w.bj_facility, 0, msg::confirm_disposal(id));
    assert_eq!(w.bal(&w.transporter), START + 3_000);
    assert_eq!(w.bal(&w.bj_facility), START + 7_000);
}

#[test]
fn the_alliances_roles_say_who_registers() {
    let w = world();
    let newbie = TestEnv::account("newbie");
    // A second Hebei member (a district, say) registered the newcomer.
    w.env.set_member_region("langfang", regions::HEBEI);
    w.env.register(&newbie, "langfang", &[roles::ENVIRONMENT_AGENCY, roles::TRANSPORTER, roles::FACILITY]);
    // Nobody speaks for an account of another member but itself (Beijing's admin included).
    for who in [w.generator, w.bj_agency, w.transporter, w.stranger, w.admin] {
        let not_for = format!("only {newbie} itself or a member-admin of its member may register it as");
        w.refused(&who, 0, msg::register_agency(Region::Tianjin, newbie), &not_for);
        w.refused(&who, 0, msg::register_transporter(newbie, "x".into()), &not_for);
        w.refused(&who, 0, msg::register_facility(newbie, "x".into(), Region::Hebei), &not_for);
    }
    w.refused(&newbie, 0, msg::register_transporter(newbie, " ".into()), "a name is required");
    w.refused(&newbie, 0, msg::register_facility(newbie, "x".repeat(65), Region::Hebei), "over the limit of 64 bytes");
    // An agency or facility only where its member is: a Beijing agency cannot make itself
    // Hebei's, a Hebei account cannot claim a Tianjin facility.
    w.refused(
        &w.bj_agency,
        0,
        msg::register_agency(Region::Hebei, w.bj_agency),
        "is not registered by a member of Hebei, so it cannot be an environment agency there",
    );
    w.refused(
        &newbie,
        0,
        msg::register_facility(newbie, "x".into(), Region::Tianjin),
        "is not registered by a member of Tianjin",
    );
    // Without the role, not even by itself.
    let generator = w.generator;
    w.refused(
        &generator,
        0,
        msg::register_transporter(generator, "假运输".into()),
        "lacks the alliance's role transporter, so it cannot be a transporter",
    );
    assert_eq!(w.ok_decode::<Option<AccountId>>(&w.stranger, 0, msg::agency(Region::Tianjin)), Some(w.tj_agency));

    // A manifest names only parties that still hold their roles.
    w.env.register(&w.transporter, "beijing", &[]);
    let err = w.env.call(
        &w.generator,
        &w.c,
        10,
        msg::create_manifest(
            WasteCategory::Industrial,
            1,
            Region::Beijing,
            Region::Beijing,
            w.transporter,
            w.bj_facility,
            0,
        ),
    );
    assert!(err.unwrap_err().contains("no longer holds the alliance's role transporter"));
    w.env.register(&w.transporter, "beijing", &[roles::TRANSPORTER]);

    // Replacing an agency moves the power to approve (here the newcomer registers itself).
    w.ok(&newbie, 0, msg::register_agency(Region::Hebei, newbie));
    let id = w.create(1, Region::Tianjin, Region::Hebei, 1, 0);
    w.refused(&w.hb_agency, 0, msg::approve(id), "only the environment agency of Hebei");
    w.ok(&newbie, 0, msg::approve(id));
    assert_eq!(w.event_names(), vec!["AgencyRegistered", "ManifestCreated", "Approved"]);
    // Registration queries.
    let f: Option<waste_disposal::Facility> = w.ok_decode(&w.stranger, 0, msg::facility(w.hb_facility));
    assert_eq!(f.map(|f| f.region), Some(Region::Hebei));
    let t: Option<waste_disposal::Transporter> = w.ok_decode(&w.stranger, 0, msg::transporter(w.transporter));
    assert_eq!(t.map(|t| t.name), Some("京津物流".to_string()));
    assert_eq!(w.ok_decode::<Option<waste_disposal::Transporter>>(&w.stranger, 0, msg::transporter(newbie)), None);
}

#[test]
fn bad_manifests_are_refused_and_the_fee_stays_with_the_generator() {
    let w = world();
    let unregistered = TestEnv::account("fly-by-night-trucks");
    let mk = |cat, weight, origin, dest, t, f, share| msg::create_manifest(cat, weight, origin, dest, t, f, share);
    let h = WasteCategory::Hazardous;
    let (bj, hb) = (Region::Beijing, Region::Hebei);
    w.refused(&w.generator, 0, mk(h, 10, bj, bj, w.transporter, w.bj_facility, 0), "attach the disposal fee");
    w.refused(&w.generator, 100, mk(h, 0, bj, bj, w.transporter, w.bj_facility, 0), "declared weight must be positive");
    w.refused(
        &w.generator,
        100,
        mk(h, 10, bj, bj, w.transporter, w.bj_facility, 10_001),
        "transporter share of 10001 bps is over 100%",
    );
    w.refused(&w.generator, 100, mk(h, 10, bj, bj, unregistered, w.bj_facility, 0), "is not a registered transporter");
    w.refused(&w.generator, 100, mk(h, 10, bj, bj, w.transporter, unregistered, 0), "is not a registered facility");
    w.refused(&w.generator, 100, mk(h, 10, bj, bj, w.transporter, w.transporter, 0), "is not a registered facility");
    // The facility must be in the destination region.
    w.refused(
        &w.generator,
        100,
        mk(h, 10, bj, hb, w.transporter, w.bj_facility, 0),
        "is in Beijing, not in the destination region Hebei",
    );
    w.refused(
        &w.generator,
        100,
        mk(h, 10, hb, bj, w.transporter, w.hb_facility, 0),
        "not in the destination region Beijing",
    );
    assert_eq!(w.bal(&w.generator), START);
    assert_eq!(w.bal(&w.c), 0);
    assert_eq!(w.ok_decode::<u64>(&w.stranger, 0, msg::manifest_count()), 0);
}

#[test]
fn steps_out_of_order_are_refused() {
    let w = world();
    let id = w.create(100, Region::Beijing, Region::Beijing, 1_000, 5_000);
    // Created: no receipt, no disposal, no clearance.
    w.refused(
        &w.bj_facility,
        0,
        msg::confirm_receipt(id, 100),
        "manifest 1 cannot be received: it is created and not yet picked up",
    );
    w.refused(
        &w.bj_facility,
        0,
        msg::confirm_disposal(id),
        "manifest 1 cannot be disposed: it is created and not yet picked up",
    );
    w.refused(&w.bj_agency, 0, msg::clear_flag(id, "x".into()), "cannot be cleared");
    w.ok(&w.transporter, 0, msg::confirm_pickup(id));
    // Picked up: no second pickup, no disposal before receipt.
    w.refused(
        &w.transporter,
        0,
        msg::confirm_pickup(id),
        "manifest 1 cannot be picked up: it is picked up and not yet received",
    );
    w.refused(
        &w.bj_facility,
        0,
        msg::confirm_disposal(id),
        "manifest 1 cannot be disposed: it is picked up and not yet received",
    );
    w.ok(&w.bj_facility, 0, msg::confirm_receipt(id, 100));
    // Received: no second receipt, no pickup.
    w.refused(
        &w.bj_facility,
        0,
        msg::confirm_receipt(id, 100),
        "cannot be received: it is received and not yet disposed",
    );
    w.refused(&w.transporter, 0, msg::confirm_pickup(id), "cannot be picked up: it is received");
    w.ok(&w.bj_facility, 0, msg::confirm_disposal(id));
    // Disposed: nothing more, and no second payout.
    let paid = (w.bal(&w.transporter), w.bal(&w.bj_facility));
    w.refused(&w.bj_facility, 0, msg::confirm_disposal(id), "cannot be disposed: it is already disposed");
    w.refused(&w.bj_facility, 0, msg::confirm_receipt(id, 100), "already disposed");
    w.refused(&w.transporter, 0, msg::confirm_pickup(id), "already disposed");
    w.refused(&w.generator, 0, msg::cancel(id), "already disposed");
    assert_eq!((w.bal(&w.transporter), w.bal(&w.bj_facility)), paid);
    assert_eq!(paid, (START + 500, START + 500));
    // Unknown manifests.
    for input in
        [msg::confirm_pickup(9), msg::confirm_receipt(9, 1), msg::confirm_disposal(9), msg::approve(9), msg::cancel(9)]
    {
        w.refused(&w.transporter, 0, input, "manifest 9 does not exist");
    }
    assert_eq!(w.manifest_opt(9), None);
    assert_eq!(w.call(&w.stranger, 0, msg::history(9)).unwrap_err(), "manifest 9 does not exist");
}

#[test]
fn escrow_is_exact_across_concurrent_manifests() {
    let w = world();
    // (fee, share) → (transporter, facility)
    let cases: [(u64, u32, u64, u64); 5] = [
        (1, 5_000, 0, 1),
        (3, 3_333, 0, 3),
        (10_000, 10_000, 10_000, 0),
        (999_999, 1, 99, 999_900),
        (123_457, 6_667, 82_308, 41_149),
    ];
    let ids: Vec<u64> =
        cases.iter().map(|&(fee, share, _, _)| w.create(10, Region::Beijing, Region::Beijing, fee, share)).collect();
    let total: u64 = cases.iter().map(|c| c.0).sum();
    assert_eq!(w.bal(&w.c), total);
    assert_eq!(w.bal(&w.generator), START - total);
    let mut held = total;
    let (mut t_got, mut f_got) = (0, 0);
    for (id, &(fee, share, t, f)) in ids.iter().zip(cases.iter()) {
        assert_eq!(transporter_amount(fee, share), t);
        w.ok(&w.transporter, 0, msg::confirm_pickup(*id));
        w.ok(&w.bj_facility, 0, msg::confirm_receipt(*id, 10));
        let out: (u64, u64) = w.ok_decode(&w.bj_facility, 0, msg::confirm_disposal(*id));
        assert_eq!(out, (t, f), "fee {fee} share {share}");
        held -= fee;
        t_got += t;
        f_got += f;
        assert_eq!(w.bal(&w.c), held, "only this manifest's fee left escrow");
        assert_eq!(w.bal(&w.transporter), START + t_got);
        assert_eq!(w.bal(&w.bj_facility), START + f_got);
    }
    assert_eq!(w.bal(&w.c), 0);
    assert_eq!(transporter_amount(u64::MAX, 10_000), u64::MAX, "no overflow");
    assert_eq!(transporter_amount(u64::MAX, 9_999), u64::MAX / 10_000 * 9_999 + (u64::MAX % 10_000) * 9_999 / 10_000);
}

#[test]
fn non_payable_steps_refuse_value() {
    let w = world();
    let id = w.create(10, Region::Beijing, Region::Beijing, 10, 0);
    w.refused(&w.transporter, 5, msg::confirm_pickup(id), "does not accept value");
    w.refused(&w.admin, 5, msg::register_agency(Region::Beijing, w.bj_agency), "does not accept value");
    assert_eq!(w.bal(&w.transporter), START);
}

#[test]
fn indexes_page_across_chunks() {
    let w = world();
    let other = TestEnv::account("other-generator");
    w.env.set_balance(&other, START);
    for i in 0..300u64 {
        let who = if i % 3 == 2 { other } else { w.generator };
        let input = msg::create_manifest(
            WasteCategory::Household,
            1,
            Region::Beijing,
            Region::Beijing,
            w.transporter,
            w.bj_facility,
            0,
        );
        let id: u64 = w.ok_decode(&who, 1, input);
        assert_eq!(id, i + 1);
    }
    let mine: Vec<u64> = w.ok_decode(&w.admin, 0, msg::manifests_of(w.generator));
    let expect: Vec<u64> = (1..=300).filter(|i| i % 3 != 0).collect();
    assert_eq!(mine, expect);
    let theirs: Vec<u64> = w.ok_decode(&w.admin, 0, msg::manifests_of(other));
    assert_eq!(theirs, (1..=300).filter(|i| i % 3 == 0).collect::<Vec<_>>());
    let all: Vec<u64> = w.ok_decode(&w.admin, 0, msg::manifests_of(w.transporter));
    assert_eq!(all, (1..=300).collect::<Vec<_>>());
    let page: Vec<u64> = w.ok_decode(&w.admin, 0, msg::manifests_of_page(w.transporter, 126, 5));
    assert_eq!(page, vec![127, 128, 129, 130, 131]);
    let page: Vec<u64> = w.ok_decode(&w.admin, 0, msg::manifests_of_page(w.transporter, 298, 10));
    assert_eq!(page, vec![299, 300]);
    let page: Vec<u64> = w.ok_decode(&w.admin, 0, msg::manifests_of_page(w.transporter, 400, 10));
    assert!(page.is_empty());
    let page: Vec<u64> = w.ok_decode(&w.admin, 0, msg::manifests_of_page(w.transporter, 0, 0));
    assert!(page.is_empty());
    let page: Vec<u64> = w.ok_decode(&w.stranger, 0, msg::flagged_manifests_page(0, 10));
    assert!(page.is_empty());
}

#[test]
fn generator_can_also_be_the_facility_without_duplicate_index_entries() {
    let w = world();
    // A facility shipping its own residue to itself: indexed once.
    let input = msg::create_manifest(
        WasteCategory::Industrial,
        5,
        Region::Beijing,
        Region::Beijing,
        w.transporter,
        w.bj_facility,
        0,
    );
    let id: u64 = w.ok_decode(&w.bj_facility, 10, input);
    assert_eq!(w.ok_decode::<Vec<u64>>(&w.admin, 0, msg::manifests_of(w.bj_facility)), vec![id]);
}

#[test]
fn constructor_checks_the_tolerance() {
    let env = TestEnv::new();
    let admin = TestEnv::account("admin");
    let err = env.deploy(WasteDisposal::ENTRY, &admin, 0, msg::new(10_001)).unwrap_err();
    assert!(err.contains("tolerance of 10001 bps is over 100%"), "{err}");
}

#[test]
fn metadata_documents_every_message() {
    let meta = WasteDisposal::metadata();
    assert_eq!(meta.name, "WasteDisposal");
    for name in [
        "register_agency",
        "register_transporter",
        "register_facility",
        "set_tolerance",
        "create_manifest",
        "approve",
        "reject",
        "cancel",
        "confirm_pickup",
        "confirm_receipt",
        "clear_flag",
        "confirm_disposal",
        "manifest",
        "history",
        "manifests_of",
        "manifests_of_page",
        "flagged_manifests",
        "flagged_manifests_page",
        "pending_approvals",
        "agency",
        "transporter",
        "facility",
        "tolerance_bps",
        "manifest_count",
    ] {
        let m = meta.message(name).unwrap_or_else(|| panic!("no message {name}"));
        assert!(!m.docs.is_empty(), "{name} has no docs");
        assert_eq!(m.payable, name == "create_manifest", "{name}");
    }
    assert_eq!(meta.messages.len(), 24);
    assert!(meta.events.is_some());
    assert!(!meta.constructors[0].docs.is_empty());
}

/// The read-policy matrix of manifests: generator, transporter, facility, the agencies of the
/// origin and destination, and auditors read a manifest and its history; another region's
/// agency, another facility and a stranger are refused; an unsigned read is refused first.
#[test]
fn manifests_are_read_by_their_parties_agencies_and_auditors() {
    let w = world();
    let id = w.create(1_000, Region::Beijing, Region::Hebei, 5_000, 3_000);
    for allowed in [w.generator, w.transporter, w.hb_facility, w.bj_agency, w.hb_agency, w.admin] {
        let m: Option<Manifest> = w.ok_decode(&allowed, 0, msg::manifest(id));
        assert_eq!(m.map(|m| m.id), Some(id));
        assert!(w.call(&allowed, 0, msg::history(id)).is_ok());
    }
    for refused in [w.tj_agency, w.bj_facility, w.stranger] {
        let e = w.call(&refused, 0, msg::manifest(id)).unwrap_err();
        assert!(e.starts_with("read refused: manifest"), "{e}");
        assert!(w.call(&refused, 0, msg::history(id)).unwrap_err().starts_with("read refused"));
    }
    // Lists: the account itself, any agency, auditors.
    assert!(w.call(&w.generator, 0, msg::manifests_of(w.generator)).is_ok());
    assert!(w.call(&w.tj_agency, 0, msg::manifests_of(w.generator)).is_ok());
    assert!(w.call(&w.transporter, 0, msg::manifests_of(w.generator)).unwrap_err().starts_with("read refused"));
    w.env.set_unsigned_reads(true);
    assert!(w.call(&w.generator, 0, msg::manifest(id)).unwrap_err().contains("signed read request"));
    assert!(w.call(&w.stranger, 0, msg::manifest_count()).is_ok(), "public data needs no signature");
}
