//! Native tests of evidence anchoring on the mock host: a court registers a contract's hash, the
//! owner hands it to a lawyer, a notary annotates it; duplicates and every forbidden path refused.
use evidence::{msg, CustodyEntry, Evidence, EvidenceEvent, Record, Step, MAX_KIND_LEN, MAX_NOTE_LEN, NOTARY};
use jjj_sdk::testing::TestEnv;
use jjj_sdk::{AccountId, Hash};

struct World {
    env: TestEnv,
    c: AccountId,
    court: AccountId,
    owner: AccountId,
    lawyer: AccountId,
    stranger: AccountId,
}

fn document(text: &str) -> Hash {
    Hash(TestEnv::account(text).0)
}

fn world() -> World {
    let env = TestEnv::new();
    let deployer = TestEnv::account("deployer");
    let w = World {
        c: env.deploy(Evidence::ENTRY, &deployer, 0, msg::new()).expect("deploy"),
        court: TestEnv::account("beijing-internet-court"),
        owner: TestEnv::account("hebei-seller"),
        lawyer: TestEnv::account("tianjin-law-firm"),
        stranger: TestEnv::account("not-a-member"),
        env,
    };
    w.env.register(&w.court, "beijing", &[NOTARY]);
    w.env.register(&w.owner, "hebei", &[]);
    w.env.register(&w.lawyer, "tianjin", &[]);
    w
}

impl World {
    fn register(&self, hash: Hash) -> Result<u64, String> {
        self.env
            .call(&self.court, &self.c, 0, msg::register(hash, "买卖合同".into(), self.owner))
            .map(|out| jjj_sdk::codec::Decode::decode(&mut &out[..]).expect("decodes"))
    }
    fn record(&self, id: u64) -> Record {
        let r: Option<Record> = self.env.call_decode(&self.stranger, &self.c, 0, msg::evidence(id)).expect("query");
        r.expect("registered")
    }
    fn custody(&self, id: u64) -> Vec<CustodyEntry> {
        self.env.call_decode(&self.stranger, &self.c, 0, msg::custody(id, 0, 100)).expect("query")
    }
    fn err(&self, who: &AccountId, input: Vec<u8>) -> String {
        self.env.call(who, &self.c, 0, input).expect_err("must be refused")
    }
}

fn assert_contains(err: &str, needle: &str) {
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
}

#[test]
fn evidence_is_registered_handed_on_annotated_and_found_by_its_hash() {
    let w = world();
    w.env.set_block(40, 1_000);
    let hash = document("买卖合同 2026-11 v1.pdf");
    let id = w.register(hash).expect("register");
    assert_eq!(id, 1);
    let r = w.record(id);
    assert_eq!((r.hash, r.owner, r.registered_by, r.height, r.registered_at), (hash, w.owner, w.court, 40, 1_000));
    assert_eq!(r.kind, "买卖合同");
    let events: Vec<EvidenceEvent> = w.env.take_events().iter().map(|e| e.decode().expect("event")).collect();
    assert_eq!(events, [EvidenceEvent::Registered { id, hash, owner: w.owner, kind: "买卖合同".into() }]);

    w.env.set_block(41, 2_000);
    w.env.call(&w.owner, &w.c, 0, msg::transfer(id, w.lawyer)).expect("transfer");
    let opinion = document("鉴定意见书");
    w.env.call(&w.court, &w.c, 0, msg::annotate(id, "鉴定意见已附".into(), Some(opinion))).expect("notary notes");
    w.env.call(&w.lawyer, &w.c, 0, msg::annotate(id, "提交法庭".into(), None)).expect("owner notes");
    let steps: Vec<Step> = w.custody(id).into_iter().map(|e| e.step).collect();
    assert_eq!(
        steps,
        [
            Step::Registered { owner: w.owner },
            Step::Transferred { from: w.owner, to: w.lawyer },
            Step::Annotated { note: "鉴定意见已附".into(), document: Some(opinion) },
            Step::Annotated { note: "提交法庭".into(), document: None },
        ]
    );
    assert_eq!(w.custody(id)[1].height, 41);
    assert_eq!(w.record(id).owner, w.lawyer);

    // Found by its hash (a court checks existence and time); an unknown hash is not.
    let found: Option<Record> = w.env.call_decode(&w.stranger, &w.c, 0, msg::by_hash(hash)).expect("query");
    assert_eq!(found.map(|r| (r.id, r.height)), Some((id, 40)));
    let none: Option<Record> = w.env.call_decode(&w.stranger, &w.c, 0, msg::by_hash(document("x"))).expect("query");
    assert_eq!(none, None);
    let held: Vec<Record> = w.env.call_decode(&w.stranger, &w.c, 0, msg::held_by(w.lawyer, 0, 10)).expect("query");
    assert_eq!(held.iter().map(|r| r.id).collect::<Vec<_>>(), [id]);
    let held: Vec<Record> = w.env.call_decode(&w.stranger, &w.c, 0, msg::held_by(w.owner, 0, 10)).expect("query");
    assert!(held.is_empty(), "handed on: the seller holds it no more");
    // Back to the seller: listed once.
    w.env.call(&w.lawyer, &w.c, 0, msg::transfer(id, w.owner)).expect("back");
    let held: Vec<Record> = w.env.call_decode(&w.stranger, &w.c, 0, msg::held_by(w.owner, 0, 10)).expect("query");
    assert_eq!(held.len(), 1);
    let count: u64 = w.env.call_decode(&w.stranger, &w.c, 0, msg::count()).expect("query");
    assert_eq!(count, 1);
}

#[test]
fn duplicates_and_every_forbidden_path_are_refused() {
    let w = world();
    let hash = document("合同");
    let id = w.register(hash).expect("register");
    // The same hash again, even by another notary for another owner: refused, naming the first.
    let e = w.register(hash).expect_err("duplicate");
    assert_contains(&e, &format!("duplicate: hash {hash} is evidence #{id} already"));
    // Only a notary registers.
    assert_contains(&w.err(&w.owner, msg::register(document("b"), "照片".into(), w.owner)), "only a notary");
    assert_contains(
        &w.err(&w.stranger, msg::register(document("c"), "照片".into(), w.owner)),
        "lacks the alliance's role notary",
    );
    // Bad sizes.
    assert_contains(&w.err(&w.court, msg::register(document("d"), String::new(), w.owner)), "1 to 64 bytes");
    let long = "x".repeat(MAX_KIND_LEN + 1);
    assert_contains(&w.err(&w.court, msg::register(document("e"), long, w.owner)), "1 to 64 bytes");
    // Only the owner hands it on; not to itself; unknown ids.
    assert_contains(&w.err(&w.court, msg::transfer(id, w.lawyer)), "only evidence #1's owner");
    assert_contains(&w.err(&w.lawyer, msg::transfer(id, w.lawyer)), "only evidence #1's owner");
    assert_contains(&w.err(&w.owner, msg::transfer(id, w.owner)), "'s already");
    assert_contains(&w.err(&w.owner, msg::transfer(9, w.lawyer)), "no evidence #9");
    // Only the owner or a notary annotates; notes are bounded.
    assert_contains(&w.err(&w.lawyer, msg::annotate(id, "改".into(), None)), "owner or a notary");
    let long = "注".repeat(MAX_NOTE_LEN);
    assert_contains(&w.err(&w.owner, msg::annotate(id, long, None)), "1 to 256 bytes");
    assert_contains(&w.err(&w.owner, msg::annotate(id, String::new(), None)), "1 to 256 bytes");
    // Nothing refused left a trace.
    assert_eq!(w.custody(id).len(), 1);
    assert_eq!(w.record(id).owner, w.owner);
}
