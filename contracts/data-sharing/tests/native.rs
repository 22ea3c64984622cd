//! Native tests of the data-sharing platform on the mock host: the whole story (a Beijing bureau
//! publishes, a Hebei agency pays, is granted three uses, uses them), and every refusal.
use data_sharing::{msg, AccessRequest, DataSharing, Dataset, RequestState, SharingEvent};
use jjj_sdk::testing::TestEnv;
use jjj_sdk::{regions, roles, AccountId, Hash};

const DAY: u64 = 86_400_000;
const START: u64 = 1_000_000;
const PRICE: u64 = 5_000;

struct World {
    env: TestEnv,
    c: AccountId,
    owner: AccountId,
    user: AccountId,
    other: AccountId,
    stranger: AccountId,
}

fn content() -> Hash {
    Hash(TestEnv::account("2026 年北京市空气质量小时数据 v3").0)
}

fn world() -> World {
    let env = TestEnv::new();
    let deployer = TestEnv::account("deployer");
    let w = World {
        c: env.deploy(DataSharing::ENTRY, &deployer, 0, msg::new()).expect("deploy"),
        owner: TestEnv::account("beijing-ecology-bureau"),
        user: TestEnv::account("hebei-environment-agency"),
        other: TestEnv::account("tianjin-research-institute"),
        stranger: TestEnv::account("not-a-member"),
        env,
    };
    w.env.register(&w.owner, "beijing", &[]);
    w.env.register(&w.user, "hebei", &[]);
    w.env.register(&w.other, "tianjin", &[]);
    for a in [w.owner, w.user, w.other, w.stranger] {
        w.env.set_balance(&a, START);
    }
    w
}

impl World {
    fn publish(&self, price: u64) -> u64 {
        self.env
            .call_decode(
                &self.owner,
                &self.c,
                0,
                msg::publish(
                    "北京市空气质量小时数据".into(),
                    "station, time, pm25, pm10, o3 (CSV)".into(),
                    content(),
                    "https://data.beijing.example/air/2026".into(),
                    price,
                ),
            )
            .expect("publish")
    }
    fn request(&self, who: &AccountId, dataset: u64, fee: u64) -> Result<u64, String> {
        self.env
            .call(who, &self.c, fee, msg::request_access(dataset, "京津冀 PM2.5 传输通道研究".into()))
            .map(|out| jjj_sdk::codec::Decode::decode(&mut &out[..]).expect("decodes"))
    }
    fn dataset(&self, id: u64) -> Dataset {
        let d: Option<Dataset> = self.env.call_decode(&self.stranger, &self.c, 0, msg::dataset(id)).expect("query");
        d.expect("dataset exists")
    }
    /// Read as the dataset's owner (the read policy lets it).
    fn req(&self, id: u64) -> AccessRequest {
        let r: Option<AccessRequest> =
            self.env.call_decode(&self.owner, &self.c, 0, msg::access_request(id)).expect("query");
        r.expect("request exists")
    }
    fn may_use(&self, id: u64) -> bool {
        self.env.call_decode(&self.stranger, &self.c, 0, msg::may_use(id)).expect("query")
    }
    fn err(&self, who: &AccountId, value: u64, input: Vec<u8>) -> String {
        self.env.call(who, &self.c, value, input).expect_err("must be refused")
    }
    fn events(&self) -> Vec<SharingEvent> {
        self.env.take_events().iter().map(|e| e.decode::<SharingEvent>().expect("decodes")).collect()
    }
}

fn assert_contains(err: &str, needle: &str) {
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
}

#[test]
fn a_dataset_is_published_paid_for_granted_used_and_logged() {
    let w = world();
    let id = w.publish(PRICE);
    let d = w.dataset(id);
    assert_eq!((d.owner, d.region, d.price, d.published), (w.owner, regions::BEIJING, PRICE, true));
    let ok: bool = w.env.call_decode(&w.stranger, &w.c, 0, msg::verify_content(id, content())).expect("query");
    assert!(ok, "the published hash verifies");
    let tampered: bool =
        w.env.call_decode(&w.stranger, &w.c, 0, msg::verify_content(id, Hash([9; 32]))).expect("query");
    assert!(!tampered, "another content does not");

    let r = w.request(&w.user, id, PRICE).expect("request");
    assert_eq!(w.req(r).state, RequestState::Pending);
    assert_eq!(w.env.balance(&w.c), PRICE, "the fee waits in the contract");
    assert!(!w.may_use(r), "not before the grant");

    let expires = w.env.block_time() + 30 * DAY;
    w.env.call(&w.owner, &w.c, 0, msg::grant(r, 3, expires)).expect("grant");
    assert_eq!(w.env.balance(&w.owner), START + PRICE, "the fee went to the owner");
    assert_eq!(w.env.balance(&w.c), 0);
    assert!(w.may_use(r));
    for left in [2u32, 1, 0] {
        let got: u32 =
            w.env.call_decode(&w.user, &w.c, 0, msg::record_use(r, "月度传输分析".into())).expect("record use");
        assert_eq!(got, left);
    }
    assert!(!w.may_use(r), "used up");
    assert_contains(&w.err(&w.user, 0, msg::record_use(r, "once more".into())), "used up (3 uses)");
    assert_eq!(w.req(r).uses, 3);

    let events = w.events();
    let used = events.iter().filter(|e| matches!(e, SharingEvent::Used { user, .. } if *user == w.user)).count();
    assert_eq!(used, 3, "every use is in the log: {events:?}");
    assert!(matches!(events[0], SharingEvent::Published { dataset, .. } if dataset == id));
    assert!(events.iter().any(|e| matches!(e, SharingEvent::Granted { max_uses: 3, .. })));

    let mine: Vec<u64> = w.env.call_decode(&w.stranger, &w.c, 0, msg::datasets_of(w.owner, 0, 10)).expect("query");
    assert_eq!(mine, vec![id]);
    let by: Vec<u64> = w.env.call_decode(&w.user, &w.c, 0, msg::requests_by(w.user, 0, 10)).expect("query");
    assert_eq!(by, vec![r]);
    let on: Vec<u64> = w.env.call_decode(&w.stranger, &w.c, 0, msg::requests_for(id, 0, 10)).expect("query");
    assert_eq!(on, vec![r]);
}

#[test]
fn refusal_and_withdrawal_give_the_fee_back() {
    let w = world();
    let id = w.publish(PRICE);
    let r = w.request(&w.user, id, PRICE).expect("request");
    w.env.call(&w.owner, &w.c, 0, msg::refuse(r, "个人信息未脱敏, 暂不共享".into())).expect("refuse");
    assert!(matches!(w.req(r).state, RequestState::Refused { ref reason, .. } if reason.contains("脱敏")));
    assert_eq!(w.env.balance(&w.user), START, "refunded");
    assert_contains(&w.err(&w.owner, 0, msg::grant(r, 1, w.env.block_time() + DAY)), "is refused, not pending");

    let r2 = w.request(&w.other, id, PRICE).expect("request");
    assert_contains(&w.err(&w.user, 0, msg::withdraw(r2)), "did not make access request");
    w.env.call(&w.other, &w.c, 0, msg::withdraw(r2)).expect("withdraw");
    assert_eq!(w.env.balance(&w.other), START, "refunded");
    assert_contains(&w.err(&w.other, 0, msg::withdraw(r2)), "only a pending one can be withdrawn");
    assert_eq!(w.env.balance(&w.c), 0);
}

#[test]
fn a_grant_expires_and_can_be_revoked() {
    let w = world();
    let id = w.publish(0);
    let r = w.request(&w.user, id, 0).expect("a free dataset takes no fee");
    let expires = w.env.block_time() + DAY;
    w.env.call(&w.owner, &w.c, 0, msg::grant(r, 10, expires)).expect("grant");
    w.env.call(&w.user, &w.c, 0, msg::record_use(r, "first".into())).expect("use");
    w.env.advance_time(DAY);
    assert!(!w.may_use(r), "expired");
    assert_contains(&w.err(&w.user, 0, msg::record_use(r, "late".into())), "expired");

    let r2 = w.request(&w.other, id, 0).expect("request");
    w.env.call(&w.owner, &w.c, 0, msg::grant(r2, 10, w.env.block_time() + DAY)).expect("grant");
    assert_contains(&w.err(&w.user, 0, msg::revoke(r2)), "does not own dataset");
    w.env.call(&w.owner, &w.c, 0, msg::revoke(r2)).expect("revoke");
    assert!(!w.may_use(r2));
    assert_contains(&w.err(&w.other, 0, msg::record_use(r2, "after".into())), "is revoked, not granted");
    assert_contains(&w.err(&w.owner, 0, msg::revoke(r2)), "is revoked, not granted");
}

#[test]
fn who_may_do_what() {
    let w = world();
    // Only members' accounts publish; a title and a real content hash are needed.
    let publish = |title: &str, hash: Hash| msg::publish(title.into(), "".into(), hash, "".into(), 0);
    assert_contains(&w.err(&w.stranger, 0, publish("x", content())), "belongs to no member organisation");
    assert_contains(&w.err(&w.owner, 0, publish("", content())), "needs a title");
    assert_contains(&w.err(&w.owner, 0, publish("x", Hash::default())), "must not be all zeros");
    let long = "字".repeat(200);
    assert_contains(&w.err(&w.owner, 0, publish(&long, content())), "over the limit of 512");

    let id = w.publish(PRICE);
    assert_contains(&w.request(&w.owner, id, PRICE).expect_err("own dataset"), "no request needed");
    assert_contains(
        &w.request(&w.user, id, PRICE - 1).expect_err("fee short"),
        "costs 5000 fen per request, attached 4999",
    );
    assert_contains(&w.request(&w.user, 99, 0).expect_err("no dataset"), "no dataset 99");
    let empty = w.err(&w.user, PRICE, msg::request_access(id, "".into()));
    assert_contains(&empty, "states its purpose");

    let r = w.request(&w.user, id, PRICE).expect("request");
    let later = w.env.block_time() + DAY;
    assert_contains(&w.err(&w.other, 0, msg::grant(r, 1, later)), "does not own dataset");
    assert_contains(&w.err(&w.owner, 0, msg::grant(r, 0, later)), "1 to 1000000 uses");
    assert_contains(&w.err(&w.owner, 0, msg::grant(r, 1, w.env.block_time())), "not in the future");
    assert_contains(&w.err(&w.owner, 0, msg::refuse(r, "".into())), "states its reason");
    assert_contains(&w.err(&w.user, 0, msg::record_use(r, "too soon".into())), "is pending, not granted");
    assert_contains(&w.err(&w.owner, 0, msg::grant(77, 1, later)), "no access request 77");
    w.env.call(&w.owner, &w.c, 0, msg::grant(r, 1, later)).expect("grant");
    assert_contains(&w.err(&w.other, 0, msg::record_use(r, "not mine".into())), "was not granted access request");

    // Unpublished: no new requests, the grant stands.
    assert_contains(&w.err(&w.user, 0, msg::unpublish(id)), "does not own dataset");
    w.env.call(&w.owner, &w.c, 0, msg::unpublish(id)).expect("unpublish");
    assert!(!w.dataset(id).published);
    assert_contains(&w.err(&w.owner, 0, msg::unpublish(id)), "already unpublished");
    assert_contains(&w.request(&w.other, id, PRICE).expect_err("unpublished"), "takes no new requests");
    assert!(w.may_use(r), "a grant made before stands");
}

/// Read policy of requests: requester, dataset owner, auditors read a request; a stranger and
/// an unrelated member are refused; an unsigned read of a protected message fails before it.
#[test]
fn requests_are_read_by_their_requester_the_owner_and_auditors() {
    let w = world();
    let id = w.publish(0);
    let r = w.request(&w.user, id, 0).expect("request");
    let auditor = TestEnv::account("alliance-auditor");
    w.env.register(&auditor, "beijing", &[roles::AUDITOR]);
    for reader in [w.user, w.owner, auditor] {
        let got: Option<AccessRequest> = w.env.call_decode(&reader, &w.c, 0, msg::access_request(r)).expect("allowed");
        assert_eq!(got.map(|g| g.requester), Some(w.user));
    }
    for reader in [w.stranger, w.other] {
        let e = w.err(&reader, 0, msg::access_request(r));
        assert!(e.contains("read refused"), "{e}");
    }
    let listed: Vec<u64> = w.env.call_decode(&w.user, &w.c, 0, msg::requests_by(w.user, 0, 10)).expect("own list");
    assert_eq!(listed, vec![r]);
    assert!(w.err(&w.other, 0, msg::requests_by(w.user, 0, 10)).contains("read refused"));
    // The catalogue stays public.
    assert_eq!(w.dataset(id).owner, w.owner);
    w.env.set_unsigned_reads(true);
    assert!(w.err(&w.user, 0, msg::access_request(r)).contains("signed read request"));
    assert_eq!(w.dataset(id).owner, w.owner, "public queries need no signature");
}
