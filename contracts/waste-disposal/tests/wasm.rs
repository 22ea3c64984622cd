//! The real wasm on the real runtime: the stories of the native tests, played as signed
//! transactions against the compiled contract (build it first with scripts/build-contracts.sh).
use jjj_primitives::Receipt;
use jjj_sdk::event::{account_topic, name_topic, u64_topic};
use jjj_sdk::AccountId;
use jjj_testkit::{contract_wasm, TestAccount, TestChain};
use parity_scale_codec::Decode;
use waste_disposal::{msg, HistoryEntry, Manifest, Region, Status, Step, WasteCategory, WasteEvent};

const FUNDS: u64 = 10_000_000;

struct World {
    chain: TestChain,
    c: AccountId,
    admin: TestAccount,
    bj_agency: TestAccount,
    hb_agency: TestAccount,
    generator: TestAccount,
    transporter: TestAccount,
    bj_facility: TestAccount,
    hb_facility: TestAccount,
}

fn world() -> World {
    let mut chain = TestChain::new();
    let admin = chain.account("admin", FUNDS);
    let bj_agency = chain.account("beijing-epb", FUNDS);
    let hb_agency = chain.account("hebei-epb", FUNDS);
    let generator = chain.account("shougang-factory", FUNDS);
    let transporter = chain.account("jingjin-logistics", FUNDS);
    let bj_facility = chain.account("gaoantun-incinerator", FUNDS);
    let hb_facility = chain.account("tangshan-landfill", FUNDS);
    let code = chain.upload(&admin, &contract_wasm("waste_disposal")).expect("upload");
    let c = chain.instantiate(&admin, code, 0, msg::new(500)).expect("instantiate");
    // The alliance's roles (these accounts belong to the test member "dev", whose admin
    // registers the Beijing ones here; Hebei's register themselves).
    // The admin audits too: the helpers below read manifests as it, under the read policy.
    chain.set_roles(&admin.id, &["deployer", "member-admin", "auditor"]);
    chain.set_roles(&bj_agency.id, &["environment-agency"]);
    chain.set_roles(&hb_agency.id, &["environment-agency"]);
    chain.set_roles(&transporter.id, &["transporter"]);
    chain.set_roles(&bj_facility.id, &["facility"]);
    chain.set_roles(&hb_facility.id, &["facility"]);
    // The test chain's accounts belong to a Beijing member; Hebei's agency and facility to Hebei's.
    chain.set_member(&hb_agency.id, "hebei", jjj_primitives::gov::Region::Hebei);
    chain.set_member(&hb_facility.id, "hebei", jjj_primitives::gov::Region::Hebei);
    let _: () = chain.call_ok(&admin, &c, 0, msg::register_agency(Region::Beijing, bj_agency.id));
    let _: () = chain.call_ok(&hb_agency, &c, 0, msg::register_agency(Region::Hebei, hb_agency.id));
    let _: () = chain.call_ok(&admin, &c, 0, msg::register_transporter(transporter.id, "京津物流".into()));
    let _: () =
        chain.call_ok(&admin, &c, 0, msg::register_facility(bj_facility.id, "高安屯焚烧厂".into(), Region::Beijing));
    let _: () =
        chain.call_ok(&hb_facility, &c, 0, msg::register_facility(hb_facility.id, "唐山填埋场".into(), Region::Hebei));
    World { chain, c, admin, bj_agency, hb_agency, generator, transporter, bj_facility, hb_facility }
}

impl World {
    fn manifest(&self, id: u64) -> Manifest {
        let m: Option<Manifest> = self.chain.query(&self.admin.id, &self.c, msg::manifest(id)).expect("query");
        m.expect("manifest exists")
    }
    fn history(&self, id: u64) -> Vec<HistoryEntry> {
        self.chain.query(&self.admin.id, &self.c, msg::history(id)).expect("query")
    }
    fn bal(&self, a: &TestAccount) -> u64 {
        self.chain.balance(&a.id)
    }
    /// Calls and expects a refusal naming `needle`, with the contract's escrow untouched.
    fn refused(&mut self, who: &TestAccount, value: u64, input: Vec<u8>, needle: &str) {
        let escrow = self.chain.balance(&self.c);
        let reason = self.chain.call_err(who, &self.c, value, input);
        assert!(reason.contains(needle), "expected {needle:?} in {reason:?}");
        assert_eq!(self.chain.balance(&self.c), escrow, "a refused call moved escrow");
    }
}

fn events(r: &Receipt) -> Vec<WasteEvent> {
    r.events.iter().map(|e| WasteEvent::decode(&mut &e.data[..]).expect("event decodes")).collect()
}

#[test]
fn cross_region_story_with_flag_on_the_real_runtime() {
    let mut w = world();
    let fee = 123_457;
    let input = msg::create_manifest(
        WasteCategory::Hazardous,
        1_000,
        Region::Beijing,
        Region::Hebei,
        w.transporter.id,
        w.hb_facility.id,
        6_667,
    );
    let r = w.chain.call(&w.generator, &w.c, fee, input);
    assert!(r.is_success(), "{:?}", r.reason());
    let id = u64::decode(&mut &r.output[..]).expect("id");
    assert_eq!(id, 1);
    assert_eq!(w.chain.balance(&w.c), fee, "fee in escrow");
    assert_eq!(w.manifest(id).status, Status::AwaitingApproval);
    assert!(matches!(events(&r)[..], [WasteEvent::ManifestCreated { id: 1, needs_approval: true, .. }]));
    assert_eq!(r.events[0].topics[0], name_topic("ManifestCreated"));

    // No pickup before approval; only Hebei's agency approves.
    w.refused(&w.transporter.clone(), 0, msg::confirm_pickup(id), "awaiting the destination agency's approval");
    w.refused(&w.bj_agency.clone(), 0, msg::approve(id), "only the environment agency of Hebei may approve manifest 1");
    w.refused(&w.generator.clone(), 0, msg::approve(id), "only the environment agency of Hebei");
    let _: () = w.chain.call_ok(&w.hb_agency, &w.c, 0, msg::approve(id));
    let pending: Vec<u64> = w.chain.query(&w.admin.id, &w.c, msg::pending_approvals(Region::Hebei)).expect("query");
    assert!(pending.is_empty());

    // Each step only by its role, in order.
    w.refused(
        &w.hb_facility.clone(),
        0,
        msg::confirm_pickup(id),
        "only the transporter of manifest 1 may confirm pickup",
    );
    w.refused(&w.hb_facility.clone(), 0, msg::confirm_receipt(id, 1_000), "cannot be received: it is approved");
    let _: () = w.chain.call_ok(&w.transporter, &w.c, 0, msg::confirm_pickup(id));
    w.refused(&w.transporter.clone(), 0, msg::confirm_pickup(id), "cannot be picked up: it is picked up");
    w.refused(
        &w.transporter.clone(),
        0,
        msg::confirm_receipt(id, 1_000),
        "only the facility of manifest 1 may confirm receipt",
    );
    w.refused(
        &w.hb_facility.clone(),
        0,
        msg::confirm_disposal(id),
        "cannot be disposed: it is picked up and not yet received",
    );

    // 1 200 kg measured against 1 000 declared: flagged to both agencies.
    w.chain.advance_time(3_600_000);
    let r = w.chain.call(&w.hb_facility, &w.c, 0, msg::confirm_receipt(id, 1_200));
    assert!(r.is_success(), "{:?}", r.reason());
    assert_eq!(bool::decode(&mut &r.output[..]), Ok(true));
    let ev = events(&r);
    assert_eq!(ev.len(), 2);
    assert_eq!(
        ev[1],
        WasteEvent::Flagged {
            id,
            declared_kg: 1_000,
            measured_kg: 1_200,
            origin: Region::Beijing,
            destination: Region::Hebei,
            origin_agency: Some(w.bj_agency.id),
            destination_agency: Some(w.hb_agency.id),
        }
    );
    assert_eq!(
        r.events[1].topics,
        vec![name_topic("Flagged"), u64_topic(id), account_topic(&w.bj_agency.id), account_topic(&w.hb_agency.id)]
    );
    let flagged: Vec<u64> = w.chain.query(&w.admin.id, &w.c, msg::flagged_manifests()).expect("query");
    assert_eq!(flagged, vec![id]);
    assert_eq!(w.manifest(id).status, Status::Flagged);

    // Held until an agency clears it.
    w.refused(&w.hb_facility.clone(), 0, msg::confirm_disposal(id), "flagged for a weight discrepancy");
    w.refused(
        &w.generator.clone(),
        0,
        msg::clear_flag(id, "fine".into()),
        "only the environment agency of Beijing or Hebei",
    );
    let _: () = w.chain.call_ok(&w.bj_agency, &w.c, 0, msg::clear_flag(id, "moisture; scale checked".into()));

    // Disposal: 123 457 × 6 667 / 10 000 = 82 308 to the transporter, 41 149 to the facility.
    let transporter_before = w.bal(&w.transporter);
    let facility_before = w.bal(&w.hb_facility);
    let r = w.chain.call(&w.hb_facility, &w.c, 0, msg::confirm_disposal(id));
    assert!(r.is_success(), "{:?}", r.reason());
    assert_eq!(<(u64, u64)>::decode(&mut &r.output[..]), Ok((82_308, 41_149)));
    assert_eq!(w.bal(&w.transporter), transporter_before + 82_308);
    assert_eq!(w.bal(&w.hb_facility), facility_before + 41_149);
    assert_eq!(w.chain.balance(&w.c), 0, "escrow fully paid out");
    w.refused(&w.hb_facility.clone(), 0, msg::confirm_disposal(id), "already disposed");

    let h = w.history(id);
    let steps: Vec<Step> = h.iter().map(|e| e.step).collect();
    assert_eq!(
        steps,
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
    let by: Vec<AccountId> = h.iter().map(|e| e.by).collect();
    assert_eq!(
        by,
        vec![
            w.generator.id,
            w.hb_agency.id,
            w.transporter.id,
            w.hb_facility.id,
            w.hb_facility.id,
            w.bj_agency.id,
            w.hb_facility.id
        ]
    );
    assert!(h.windows(2).all(|p| p[0].at <= p[1].at), "history in time order");
    assert!(h[3].at >= h[2].at + 3_600_000);
    let m = w.manifest(id);
    assert_eq!((m.status, m.flagged, m.measured_weight_kg), (Status::Disposed, true, Some(1_200)));
    assert_eq!((m.transporter_paid, m.facility_paid), (82_308, 41_149));
    let mine: Vec<u64> = w.chain.query(&w.admin.id, &w.c, msg::manifests_of(w.transporter.id)).expect("query");
    assert_eq!(mine, vec![id]);
}

#[test]
fn same_region_story_refusals_and_refunds_on_the_real_runtime() {
    let mut w = world();
    let mk = |w: &World, dest: Region, share: u32| {
        let facility = if dest == Region::Hebei { w.hb_facility.id } else { w.bj_facility.id };
        msg::create_manifest(WasteCategory::Medical, 500, Region::Beijing, dest, w.transporter.id, facility, share)
    };

    // Bad manifests: no fee, facility outside the destination region.
    w.refused(&w.generator.clone(), 0, mk(&w, Region::Beijing, 3_000), "attach the disposal fee");
    let bad = msg::create_manifest(
        WasteCategory::Medical,
        500,
        Region::Beijing,
        Region::Hebei,
        w.transporter.id,
        w.bj_facility.id,
        0,
    );
    w.refused(&w.generator.clone(), 1_000, bad, "not in the destination region Hebei");
    assert_eq!(w.chain.balance(&w.c), 0);

    // Same region: straight to pickup.
    let input = mk(&w, Region::Beijing, 3_000);
    let id: u64 = w.chain.call_ok(&w.generator, &w.c, 10_001, input);
    assert_eq!(w.manifest(id).status, Status::Created);
    w.refused(&w.bj_facility.clone(), 0, msg::confirm_disposal(id), "cannot be disposed: it is created");
    w.refused(&w.bj_facility.clone(), 0, msg::confirm_receipt(id, 500), "cannot be received: it is created");
    w.refused(&w.bj_agency.clone(), 0, msg::approve(id), "needs no approval");
    w.refused(&w.transporter.clone(), 5, msg::confirm_pickup(id), "does not accept value");
    w.refused(&w.generator.clone(), 0, msg::confirm_pickup(id), "only the transporter of manifest");
    let _: () = w.chain.call_ok(&w.transporter, &w.c, 0, msg::confirm_pickup(id));
    let flagged: bool = w.chain.call_ok(&w.bj_facility, &w.c, 0, msg::confirm_receipt(id, 520)); // +4 %
    assert!(!flagged);
    w.refused(&w.transporter.clone(), 0, msg::confirm_disposal(id), "only the facility of manifest");
    let transporter_before = w.bal(&w.transporter);
    let facility_before = w.bal(&w.bj_facility);
    let paid: (u64, u64) = w.chain.call_ok(&w.bj_facility, &w.c, 0, msg::confirm_disposal(id));
    assert_eq!(paid, (3_000, 7_001)); // 10 001 × 30 % = 3 000.3 → 3 000; the facility gets 7 001
    assert_eq!(w.bal(&w.transporter), transporter_before + 3_000);
    assert_eq!(w.bal(&w.bj_facility), facility_before + 7_001);
    assert_eq!(w.chain.balance(&w.c), 0);

    // Cross-region, rejected: the generator gets the whole fee back.
    let input = mk(&w, Region::Hebei, 5_000);
    let id2: u64 = w.chain.call_ok(&w.generator, &w.c, 40_000, input);
    assert_eq!(w.chain.balance(&w.c), 40_000);
    let generator_before = w.bal(&w.generator);
    w.refused(
        &w.bj_agency.clone(),
        0,
        msg::reject(id2, "no".into()),
        "only the environment agency of Hebei may reject",
    );
    let r = w.chain.call(&w.hb_agency, &w.c, 0, msg::reject(id2, "landfill full".into()));
    assert!(r.is_success(), "{:?}", r.reason());
    assert_eq!(w.bal(&w.generator), generator_before + 40_000);
    assert_eq!(w.chain.balance(&w.c), 0);
    assert_eq!(w.manifest(id2).status, Status::Rejected);
    w.refused(&w.transporter.clone(), 0, msg::confirm_pickup(id2), "cannot be picked up: it is rejected");

    // Cancel before pickup refunds too; only the generator may.
    let input = mk(&w, Region::Beijing, 0);
    let id3: u64 = w.chain.call_ok(&w.generator, &w.c, 999, input);
    w.refused(&w.transporter.clone(), 0, msg::cancel(id3), "only the generator of manifest 3 may cancel it");
    let generator_before = w.bal(&w.generator);
    let r = w.chain.call(&w.generator, &w.c, 0, msg::cancel(id3));
    assert!(r.is_success(), "{:?}", r.reason());
    assert_eq!(w.chain.balance(&w.c), 0);
    assert_eq!(w.bal(&w.generator), generator_before + 999, "the whole fee back (the chain charges no fees)");

    let mine: Vec<u64> = w.chain.query(&w.admin.id, &w.c, msg::manifests_of(w.generator.id)).expect("query");
    assert_eq!(mine, vec![id, id2, id3]);
    let h = w.history(id);
    assert_eq!(
        h.iter().map(|e| e.step).collect::<Vec<_>>(),
        vec![Step::Created, Step::PickedUp, Step::Received, Step::Disposed]
    );
}
