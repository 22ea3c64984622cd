//! The data-sharing platform as real wasm on the runtime's test chain: a Beijing bureau's dataset
//! paid for, granted and used by a Hebei agency with each use in the receipts' events, then the
//! main refusals. Exact balance checks are on accounts that did not send the measured
//! transaction (and on the contract), so they hold whatever the chain charges for gas.
use data_sharing::{msg, AccessRequest, Dataset, RequestState, SharingEvent};
use jjj_primitives::gov::Region;
use jjj_primitives::Receipt;
use jjj_sdk::codec::Decode;
use jjj_sdk::{AccountId, Hash};
use jjj_testkit::{contract_wasm, TestAccount, TestChain};

const DAY: u64 = 86_400_000;
const FUNDS: u64 = 10_000_000;
const PRICE: u64 = 5_000;

fn content() -> Hash {
    Hash(jjj_sdk::testing::TestEnv::account("2026 年北京市空气质量小时数据 v3").0)
}

fn events(r: &Receipt) -> Vec<SharingEvent> {
    r.events.iter().map(|e| SharingEvent::decode(&mut &e.data[..]).expect("event decodes")).collect()
}

fn assert_contains(err: &str, needle: &str) {
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
}

struct World {
    chain: TestChain,
    c: AccountId,
    owner: TestAccount,
    user: TestAccount,
    outsider: TestAccount,
}

fn world() -> World {
    let mut chain = TestChain::new();
    let deployer = chain.account("deployer", FUNDS);
    let owner = chain.account("beijing-ecology-bureau", FUNDS);
    let user = chain.account("hebei-environment-agency", FUNDS);
    let outsider = chain.account("tianjin-research-institute", FUNDS);
    chain.set_member(&owner.id, "beijing", Region::Beijing);
    chain.set_member(&user.id, "hebei", Region::Hebei);
    let code = chain.upload(&deployer, &contract_wasm("data_sharing")).expect("upload");
    let c = chain.instantiate(&deployer, code, 0, msg::new()).expect("instantiate");
    World { chain, c, owner, user, outsider }
}

#[test]
fn a_dataset_shared_used_and_logged_as_wasm() {
    let World { mut chain, c, owner, user, outsider } = world();
    let publish = msg::publish(
        "北京市空气质量小时数据".into(),
        "station, time, pm25, pm10, o3 (CSV)".into(),
        content(),
        "https://data.beijing.example/air/2026".into(),
        PRICE,
    );
    let id: u64 = chain.call_ok(&owner, &c, 0, publish);
    let d: Option<Dataset> = chain.query(&outsider.id, &c, msg::dataset(id)).expect("query");
    assert_eq!(d.map(|d| (d.owner, d.region)), Some((owner.id, jjj_sdk::regions::BEIJING)));
    assert!(chain.query::<bool>(&outsider.id, &c, msg::verify_content(id, content())).expect("query"));

    // The fee must be exact; paid, it waits in the contract until the owner decides.
    let err = chain.call_err(&user, &c, PRICE - 1, msg::request_access(id, "京津冀 PM2.5 传输研究".into()));
    assert_contains(&err, "costs 5000 fen per request");
    assert_eq!(chain.balance(&c), 0);
    let r: u64 = chain.call_ok(&user, &c, PRICE, msg::request_access(id, "京津冀 PM2.5 传输研究".into()));
    assert_eq!(chain.balance(&c), PRICE);

    let owner_before = chain.balance(&owner.id);
    assert_contains(&chain.call_err(&outsider, &c, 0, msg::grant(r, 2, chain.time() + DAY)), "does not own dataset");
    let expires = chain.time() + 30 * DAY;
    let receipt = chain.call(&owner, &c, 0, msg::grant(r, 2, expires));
    assert!(receipt.is_success(), "{:?}", receipt.reason());
    assert_eq!(
        events(&receipt),
        vec![SharingEvent::Granted { request: r, dataset: id, max_uses: 2, expires_at: expires }]
    );
    assert_eq!(chain.balance(&c), 0);
    assert_eq!(chain.balance(&owner.id), owner_before + PRICE, "the fee reached the owner");

    let receipt = chain.call(&user, &c, 0, msg::record_use(r, "月度传输分析".into()));
    assert!(receipt.is_success(), "{:?}", receipt.reason());
    assert_eq!(
        events(&receipt),
        vec![SharingEvent::Used {
            request: r, dataset: id, user: user.id, what: "月度传输分析".into(), uses_left: 1
        }]
    );
    let left: u32 = chain.call_ok(&user, &c, 0, msg::record_use(r, "季度报告".into()));
    assert_eq!(left, 0);
    assert_contains(&chain.call_err(&user, &c, 0, msg::record_use(r, "again".into())), "used up (2 uses)");
    assert!(!chain.query::<bool>(&outsider.id, &c, msg::may_use(r)).expect("query"));
    // The read policy, in wasm: the requester reads its request; an outsider is refused by the
    // contract; a read nobody signed is refused before the contract looks.
    assert_contains(
        &chain.query::<Option<AccessRequest>>(&outsider.id, &c, msg::access_request(r)).unwrap_err(),
        "read refused",
    );
    assert_contains(
        &chain.query_unsigned::<Option<AccessRequest>>(&user.id, &c, msg::access_request(r)).unwrap_err(),
        "only a signed read request may read it",
    );
    let req: Option<AccessRequest> = chain.query(&user.id, &c, msg::access_request(r)).expect("query");
    let req = req.expect("request exists");
    assert_eq!(req.uses, 2);
    assert!(matches!(req.state, RequestState::Granted { uses_left: 0, .. }));

    // A refused request gets its fee back.
    let r2: u64 = chain.call_ok(&outsider, &c, PRICE, msg::request_access(id, "教学".into()));
    let before = chain.balance(&outsider.id);
    chain.call_ok::<()>(&owner, &c, 0, msg::refuse(r2, "仅限环境监管用途".into()));
    assert_eq!(chain.balance(&outsider.id), before + PRICE, "refunded");
    assert_eq!(chain.balance(&c), 0);
}
