//! The workflow engine as real wasm on the runtime's test chain: a property transfer template
//! published from the CLI's JSON, applied for once by a resident, approved by the Beijing
//! registry, then by the electricity and water utilities in parallel; the case complete. A
//! registry of the wrong member, electricity before the registration and a stranger's read are
//! refused.
use jjj_primitives::gov::Region;
use jjj_primitives::{AccountId, Hash, Receipt};
use jjj_sdk::codec::Decode;
use jjj_testkit::{contract_wasm, contracts_dir, TestAccount, TestChain};
use jjj_transcode::LoadedMetadata;
use serde_json::json;
use workflow::{msg, Case, CaseStatus, InboxPage, StepState, WorkflowEvent, WORKFLOW_ADMIN};

const FUNDS: u64 = 10_000_000;
const REGISTRY: &str = "real-estate-registry";
const POWER: &str = "power-utility";
const WATER: &str = "water-utility";

fn events(r: &Receipt) -> Vec<WorkflowEvent> {
    r.events.iter().map(|e| WorkflowEvent::decode(&mut &e.data[..]).expect("event decodes")).collect()
}

fn ok(chain: &mut TestChain, who: &TestAccount, c: &AccountId, input: Vec<u8>) -> Receipt {
    let r = chain.call(who, c, 0, input);
    assert!(r.is_success(), "{:?}", r.reason());
    r
}

fn beijing(chain: &mut TestChain, name: &str, roles: &[&str]) -> TestAccount {
    let a = chain.account(name, FUNDS);
    chain.set_member(&a.id, "beijing", Region::Beijing);
    chain.set_roles(&a.id, roles);
    a
}

#[test]
fn a_property_transfer_runs_through_three_departments_as_wasm() {
    let mut chain = TestChain::new();
    let deployer = chain.account("deployer", FUNDS);
    let admin = beijing(&mut chain, "beijing-government-services", &[WORKFLOW_ADMIN]);
    let registry = beijing(&mut chain, "beijing-real-estate-registry", &[REGISTRY]);
    let power = beijing(&mut chain, "state-grid-beijing", &[POWER]);
    let water = beijing(&mut chain, "beijing-waterworks", &[WATER]);
    let tianjin_registry = chain.account("tianjin-real-estate-registry", FUNDS);
    chain.set_member(&tianjin_registry.id, "tianjin", Region::Tianjin);
    chain.set_roles(&tianjin_registry.id, &[REGISTRY]);
    let resident = chain.account("resident-li", FUNDS);
    chain.set_member(&resident.id, "hebei", Region::Hebei);
    let stranger = chain.account("resident-wang", FUNDS);
    let code = chain.upload(&deployer, &contract_wasm("workflow")).expect("upload");
    let c = chain.instantiate(&deployer, code, 0, msg::new()).expect("instantiate");

    // Published as the CLI sends it: JSON transcoded by the metadata.
    let json = std::fs::read_to_string(contracts_dir().join("workflow.json")).expect("build the contracts first");
    let meta = LoadedMetadata::from_json(&json).expect("metadata");
    let steps = json!([
        {"name": "不动产登记", "org": "beijing", "role": REGISTRY, "after": [], "deadline_hours": 72,
         "documents": ["房产证", "身份证", "购房合同"]},
        {"name": "电力过户", "org": "beijing", "role": POWER, "after": [0], "deadline_hours": 48, "documents": ["身份证"]},
        {"name": "水务过户", "org": "beijing", "role": WATER, "after": [0], "deadline_hours": 48, "documents": ["身份证"]}
    ]);
    let input =
        jjj_transcode::encode_call(&meta, "publish_template", &json!(["房产过户(含水电)", steps])).expect("json");
    let r = ok(&mut chain, &admin, &c, input);
    let template = u64::decode(&mut &r.output[..]).expect("id");
    assert_eq!(
        events(&r),
        [WorkflowEvent::TemplatePublished { template, by: admin.id, name: "房产过户(含水电)".into(), steps: 3 }]
    );

    let documents =
        vec![("房产证".into(), Hash([1; 32])), ("身份证".into(), Hash([2; 32])), ("购房合同".into(), Hash([3; 32]))];
    let r = ok(&mut chain, &resident, &c, msg::apply(template, "北京市朝阳区幸福路 8 号 3-502".into(), documents));
    let case = u64::decode(&mut &r.output[..]).expect("case");
    assert_eq!(events(&r), [WorkflowEvent::Applied { case, template, applicant: resident.id }]);
    let apply_gas = r.gas_used;

    let e = chain.call_err(&power, &c, 0, msg::approve(case, 1, String::new()));
    assert!(e.contains("step 1 (电力过户) waits for step 0 (不动产登记)"), "{e}");
    let e = chain.call_err(&tianjin_registry, &c, 0, msg::approve(case, 0, String::new()));
    assert!(e.contains("is acted on by member beijing's real-estate-registry") && e.contains("member tianjin"), "{e}");
    let inbox: InboxPage =
        chain.query(&registry.id, &c, msg::inbox("beijing".into(), REGISTRY.into(), 0, 10)).expect("inbox");
    assert_eq!(inbox.items.iter().map(|i| (i.case, i.step)).collect::<Vec<_>>(), [(case, 0)]);

    chain.advance_time(3_600_000);
    let r = ok(&mut chain, &registry, &c, msg::approve(case, 0, "材料齐全".into()));
    assert_eq!(events(&r), [WorkflowEvent::StepApproved { case, by: registry.id, step: 0, late: false }]);
    let approve_gas = r.gas_used;
    let inbox: InboxPage =
        chain.query(&power.id, &c, msg::inbox("beijing".into(), POWER.into(), 0, 10)).expect("inbox");
    assert_eq!(inbox.items.iter().map(|i| (i.case, i.step)).collect::<Vec<_>>(), [(case, 1)]);
    let r = ok(&mut chain, &water, &c, msg::approve(case, 2, String::new()));
    assert_eq!(events(&r), [WorkflowEvent::StepApproved { case, by: water.id, step: 2, late: false }]);
    let r = ok(&mut chain, &power, &c, msg::approve(case, 1, String::new()));
    let Some(WorkflowEvent::Completed { took_ms, .. }) = events(&r).last().cloned() else {
        panic!("completed: {:?}", events(&r))
    };
    assert!(took_ms >= 3_600_000, "an hour at least: {took_ms}");

    // The record: read by the applicant and the departments, refused to a stranger.
    let read: Option<Case> = chain.query(&resident.id, &c, msg::case(case)).expect("applicant reads");
    let read = read.expect("case");
    assert!(matches!(read.status, CaseStatus::Complete { .. }));
    assert!(matches!(&read.steps[0], StepState::Approved { by, note, .. } if *by == registry.id && note == "材料齐全"));
    let by_water: Option<Case> = chain.query(&water.id, &c, msg::case(case)).expect("department reads");
    assert_eq!(by_water, Some(read));
    let e = chain.query::<Option<Case>>(&stranger.id, &c, msg::case(case)).expect_err("refused");
    assert!(e.contains("case #1 is personal data"), "{e}");
    assert!(chain.query_unsigned::<Option<Case>>(&resident.id, &c, msg::case(case)).is_err());
    let e = chain.call_err(&power, &c, 0, msg::approve(case, 1, String::new()));
    assert!(e.contains("case #1 is complete"), "{e}");
    eprintln!("gas: apply {apply_gas}, approve (the registration, releasing two steps) {approve_gas}");
}
