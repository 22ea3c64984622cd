//! Native tests of the workflow engine on the mock host: a property transfer (不动产登记, then
//! 电力过户 and 水务过户 in parallel) applied for once by a resident and acted on by each Beijing
//! department; every forbidden path refused with its reason; returns and re-attached documents;
//! late approvals and overdue flags; the read policy; the inbox; the CLI's JSON forms.
use jjj_sdk::testing::TestEnv;
use jjj_sdk::{roles, AccountId, Hash};
use jjj_transcode::LoadedMetadata;
use serde_json::json;
use workflow::{
    msg, Case, CaseStatus, InboxItem, InboxPage, OverdueStep, StepSpec, StepState, Template, Workflow, WorkflowEvent,
    MAX_STEPS, WORKFLOW_ADMIN,
};

const REGISTRY: &str = "real-estate-registry";
const POWER: &str = "power-utility";
const WATER: &str = "water-utility";
const HOUR: u64 = 3_600_000;
const T0: u64 = 1_767_225_600_000;

fn h(n: u8) -> Hash {
    Hash([n; 32])
}

fn step(name: &str, org: &str, role: &str, after: &[u8], hours: u32, docs: &[&str]) -> StepSpec {
    StepSpec {
        name: name.into(),
        org: org.into(),
        role: role.into(),
        after: after.to_vec(),
        deadline_hours: hours,
        documents: docs.iter().map(|d| d.to_string()).collect(),
    }
}

/// 不动产登记 (72 h), then 电力过户 and 水务过户 (48 h each), in parallel.
fn transfer_steps() -> Vec<StepSpec> {
    vec![
        step("不动产登记", "beijing", REGISTRY, &[], 72, &["房产证", "身份证", "购房合同"]),
        step("电力过户", "beijing", POWER, &[0], 48, &["身份证"]),
        step("水务过户", "beijing", WATER, &[0], 48, &["身份证"]),
    ]
}

fn all_documents() -> Vec<(String, Hash)> {
    vec![("房产证".into(), h(1)), ("身份证".into(), h(2)), ("购房合同".into(), h(3))]
}

struct World {
    env: TestEnv,
    c: AccountId,
    admin: AccountId,
    registry: AccountId,
    power: AccountId,
    water: AccountId,
    /// The right role in the wrong member.
    tianjin_registry: AccountId,
    resident: AccountId,
    /// Registered, but neither applicant nor department.
    neighbour: AccountId,
    auditor: AccountId,
    stranger: AccountId,
}

fn world() -> World {
    let env = TestEnv::new();
    let deployer = TestEnv::account("deployer");
    let w = World {
        c: env.deploy(Workflow::ENTRY, &deployer, 0, msg::new()).expect("deploy"),
        admin: TestEnv::account("beijing-government-services"),
        registry: TestEnv::account("beijing-real-estate-registry"),
        power: TestEnv::account("state-grid-beijing"),
        water: TestEnv::account("beijing-waterworks"),
        tianjin_registry: TestEnv::account("tianjin-real-estate-registry"),
        resident: TestEnv::account("resident-li"),
        neighbour: TestEnv::account("resident-wang"),
        auditor: TestEnv::account("tianjin-audit"),
        stranger: TestEnv::account("not-a-member"),
        env,
    };
    w.env.register(&w.admin, "beijing", &[WORKFLOW_ADMIN]);
    w.env.register(&w.registry, "beijing", &[REGISTRY]);
    w.env.register(&w.power, "beijing", &[POWER]);
    w.env.register(&w.water, "beijing", &[WATER]);
    w.env.register(&w.tianjin_registry, "tianjin", &[REGISTRY]);
    w.env.register(&w.resident, "hebei", &[]);
    w.env.register(&w.neighbour, "beijing", &[]);
    w.env.register(&w.auditor, "tianjin", &[roles::AUDITOR]);
    w.env.set_block(1, T0);
    w
}

impl World {
    fn err(&self, who: &AccountId, input: Vec<u8>) -> String {
        self.env.call(who, &self.c, 0, input).expect_err("must be refused")
    }
    fn ok(&self, who: &AccountId, input: Vec<u8>) {
        self.env.call(who, &self.c, 0, input).expect("must succeed");
    }
    fn events(&self) -> Vec<WorkflowEvent> {
        self.env.take_events().iter().map(|e| e.decode::<WorkflowEvent>().expect("event decodes")).collect()
    }
    fn publish(&self) -> u64 {
        self.env
            .call_decode(&self.admin, &self.c, 0, msg::publish_template("房产过户(含水电)".into(), transfer_steps()))
            .expect("publish")
    }
    fn apply(&self, documents: Vec<(String, Hash)>) -> u64 {
        self.env
            .call_decode(&self.resident, &self.c, 0, msg::apply(1, "北京市朝阳区幸福路 8 号 3-502".into(), documents))
            .expect("apply")
    }
    /// The template published, a case applied for with every document; events taken.
    fn applied(&self) -> u64 {
        self.publish();
        let id = self.apply(all_documents());
        self.env.take_events();
        id
    }
    fn approve(&self, who: &AccountId, case: u64, step: u8) -> Case {
        self.env.call_decode(who, &self.c, 0, msg::approve(case, step, "材料齐全".into())).expect("approve")
    }
    fn read(&self, who: &AccountId, case: u64) -> Result<Option<Case>, String> {
        self.env.call_decode(who, &self.c, 0, msg::case(case))
    }
    fn case(&self, case: u64) -> Case {
        self.read(&self.auditor, case).expect("read").expect("case exists")
    }
    fn inbox(&self, who: &AccountId, role: &str) -> Vec<(u64, u8)> {
        let page: InboxPage =
            self.env.call_decode(who, &self.c, 0, msg::inbox("beijing".into(), role.into(), 0, 100)).expect("inbox");
        page.items.iter().map(|i| (i.case, i.step)).collect()
    }
}

fn assert_contains(err: &str, needle: &str) {
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
}

#[test]
fn a_property_transfer_is_applied_for_once_and_every_department_acts_on_it() {
    let w = world();
    let id = w.publish();
    assert_eq!(id, 1);
    assert_eq!(
        w.events(),
        [WorkflowEvent::TemplatePublished {
            template: 1, by: w.admin, name: "房产过户(含水电)".into(), steps: 3
        }]
    );
    let t: Option<Template> = w.env.call_decode(&w.stranger, &w.c, 0, msg::template(1)).expect("public");
    let t = t.expect("template 1");
    assert_eq!((t.steps, t.retired, t.publisher), (transfer_steps(), false, w.admin));

    // The resident applies once, with every document.
    let case = w.apply(all_documents());
    assert_eq!(case, 1);
    assert_eq!(w.events(), [WorkflowEvent::Applied { case: 1, template: 1, applicant: w.resident }]);
    let c = w.case(case);
    assert_eq!(c.subject, "北京市朝阳区幸福路 8 号 3-502");
    assert_eq!(c.documents, all_documents());
    assert_eq!(c.applied_at, T0);
    assert_eq!(c.steps, [StepState::Ready { since: T0, flagged: false }, StepState::Waiting, StepState::Waiting]);
    assert_eq!(c.status, CaseStatus::Open);
    assert_eq!(w.inbox(&w.registry, REGISTRY), [(1, 0)]);
    assert!(w.inbox(&w.power, POWER).is_empty(), "electricity waits for the registration");

    // Electricity cannot go first.
    assert_contains(
        &w.err(&w.power, msg::approve(case, 1, String::new())),
        "step 1 (电力过户) waits for step 0 (不动产登记)",
    );

    // The registry approves an hour later: electricity and water are ready, in parallel.
    w.env.set_block(2, T0 + HOUR);
    let c = w.approve(&w.registry, case, 0);
    assert_eq!(c.steps[0], StepState::Approved { by: w.registry, at: T0 + HOUR, note: "材料齐全".into(), late: false });
    let ready = StepState::Ready { since: T0 + HOUR, flagged: false };
    assert_eq!((&c.steps[1], &c.steps[2]), (&ready, &ready));
    assert_eq!(w.events(), [WorkflowEvent::StepApproved { case, by: w.registry, step: 0, late: false }]);
    assert!(w.inbox(&w.registry, REGISTRY).is_empty(), "approved: out of the registry's inbox");
    let page: InboxPage =
        w.env.call_decode(&w.power, &w.c, 0, msg::inbox("beijing".into(), POWER.into(), 0, 10)).expect("inbox");
    assert_eq!(
        page,
        InboxPage {
            items: vec![InboxItem {
                case, step: 1, name: "电力过户".into(), since: T0 + HOUR, due: T0 + 49 * HOUR
            }],
            next: 1,
            total: 1,
        }
    );

    // Water first, then electricity: the case is complete.
    w.env.set_block(3, T0 + 2 * HOUR);
    let c = w.approve(&w.water, case, 2);
    assert_eq!(c.status, CaseStatus::Open);
    assert_eq!(w.events(), [WorkflowEvent::StepApproved { case, by: w.water, step: 2, late: false }]);
    w.env.set_block(4, T0 + 5 * HOUR);
    let c = w.approve(&w.power, case, 1);
    assert_eq!(c.status, CaseStatus::Complete { at: T0 + 5 * HOUR });
    assert!(c.steps.iter().all(|s| matches!(s, StepState::Approved { late: false, .. })));
    assert!(matches!(c.steps[1], StepState::Approved { by, .. } if by == w.power));
    assert_eq!(
        w.events(),
        [
            WorkflowEvent::StepApproved { case, by: w.power, step: 1, late: false },
            WorkflowEvent::Completed { case, applicant: w.resident, took_ms: 5 * HOUR },
        ]
    );
    assert_eq!(w.case(case), c, "what approve returned is what is stored");
    let mine: Vec<Case> = w.env.call_decode(&w.resident, &w.c, 0, msg::cases_of(w.resident, 0, 10)).expect("mine");
    assert_eq!(mine, [c]);

    // Nothing more happens on a complete case.
    assert_contains(&w.err(&w.power, msg::approve(case, 1, String::new())), "case #1 is complete");
    assert_contains(&w.err(&w.registry, msg::return_step(case, 0, "再看看".into())), "case #1 is complete");
    assert_contains(&w.err(&w.resident, msg::withdraw(case)), "case #1 is complete");
    assert_contains(&w.err(&w.resident, msg::attach(case, "户口本".into(), h(9))), "case #1 is complete");
}

#[test]
fn only_a_workflow_admin_publishes_and_bad_templates_are_refused() {
    let w = world();
    let publish = |name: &str, steps: Vec<StepSpec>| w.err(&w.admin, msg::publish_template(name.into(), steps));
    assert_contains(
        &w.err(&w.registry, msg::publish_template("x".into(), transfer_steps())),
        "lacks the alliance's role workflow-admin",
    );
    assert_contains(&publish("", transfer_steps()), "a template's name has 1 to 64 bytes, not 0");
    assert_contains(&publish(&"名".repeat(30), transfer_steps()), "a template's name has 1 to 64 bytes, not 90");
    assert_contains(&publish("x", vec![]), "a template has 1 to 16 steps, not 0");
    let many = (0..=MAX_STEPS).map(|i| step(&format!("s{i}"), "beijing", REGISTRY, &[], 1, &[])).collect();
    assert_contains(&publish("x", many), "a template has 1 to 16 steps, not 17");
    let with = |i: usize, s: StepSpec| {
        let mut steps = transfer_steps();
        steps[i] = s;
        publish("x", steps)
    };
    assert_contains(&with(1, step("电力过户", "beijing", POWER, &[1], 48, &[])), "step 1 (电力过户) waits for itself");
    assert_contains(
        &with(1, step("电力过户", "beijing", POWER, &[2], 48, &[])),
        "step 1 (电力过户) waits for step 2, which is not earlier",
    );
    assert_contains(
        &with(0, step("不动产登记", "beijing", REGISTRY, &[7], 48, &[])),
        "step 0 (不动产登记) waits for step 7, which is not earlier",
    );
    assert_contains(
        &with(2, step("水务过户", "beijing", WATER, &[0, 1, 0], 48, &[])),
        "step 2 (水务过户) names step 0 twice among its predecessors",
    );
    assert_contains(&with(2, step("电力过户", "beijing", WATER, &[0], 48, &[])), "two steps are named 电力过户");
    assert_contains(&with(1, step("", "beijing", POWER, &[0], 48, &[])), "step 1's name has 1 to 64 bytes");
    assert_contains(&with(1, step("电力过户", "", POWER, &[0], 48, &[])), "step 1 (电力过户)'s member has 1 to 64");
    assert_contains(&with(1, step("电力过户", "beijing", "", &[0], 48, &[])), "step 1 (电力过户)'s role has 1 to 64");
    assert_contains(
        &with(1, step("电力过户", "beijing", POWER, &[0], 0, &[])),
        "step 1 (电力过户)'s deadline is 1 to 8784 hours, not 0",
    );
    assert_contains(
        &with(1, step("电力过户", "beijing", POWER, &[0], 48, &["a", "b", "c", "d", "e", "f", "g", "h", "i"])),
        "step 1 (电力过户) requires at most 8 document kinds, not 9",
    );
    assert_contains(
        &with(1, step("电力过户", "beijing", POWER, &[0], 48, &["身份证", "身份证"])),
        "step 1 (电力过户) requires 身份证 twice",
    );
    assert_contains(
        &with(1, step("电力过户", "beijing", POWER, &[0], 48, &[""])),
        "step 1 (电力过户)'s document kind has 1 to 32 bytes",
    );
    assert!(w.events().is_empty(), "nothing was published");

    // Published; retired by an admin only, once; then it takes no applications.
    assert_eq!(w.publish(), 1);
    assert_contains(&w.err(&w.registry, msg::retire_template(1)), "lacks the alliance's role workflow-admin");
    assert_contains(&w.err(&w.admin, msg::retire_template(2)), "no template #2");
    w.ok(&w.admin, msg::retire_template(1));
    assert_contains(&w.err(&w.admin, msg::retire_template(1)), "template #1 was retired already");
    let input = msg::apply(1, "地址".into(), all_documents());
    assert_contains(
        &w.err(&w.resident, input),
        "template #1 (房产过户(含水电)) is retired: it takes no new applications",
    );
    // A new version is a new template; the list shows both.
    assert_eq!(w.publish(), 2);
    let all: Vec<Template> = w.env.call_decode(&w.stranger, &w.c, 0, msg::templates(0, 10)).expect("templates");
    assert_eq!(all.iter().map(|t| (t.id, t.retired)).collect::<Vec<_>>(), [(1, true), (2, false)]);
    let second: Vec<Template> = w.env.call_decode(&w.stranger, &w.c, 0, msg::templates(2, 1)).expect("templates");
    assert_eq!(second.iter().map(|t| t.id).collect::<Vec<_>>(), [2]);
}

#[test]
fn applications_need_a_registered_applicant_and_a_sound_file() {
    let w = world();
    w.publish();
    w.env.take_events();
    let apply = |who: &AccountId, template: u64, subject: &str, docs: Vec<(String, Hash)>| {
        w.err(who, msg::apply(template, subject.into(), docs))
    };
    assert_contains(
        &apply(&w.stranger, 1, "地址", all_documents()),
        "is not an account the alliance registered: register with a member to apply",
    );
    assert_contains(&apply(&w.resident, 9, "地址", all_documents()), "no template #9");
    assert_contains(&apply(&w.resident, 1, "", all_documents()), "a case's subject has 1 to 256 bytes, not 0");
    let twice = vec![("身份证".into(), h(1)), ("身份证".into(), h(2))];
    assert_contains(&apply(&w.resident, 1, "地址", twice), "document 身份证 is given twice");
    let many = (0..17).map(|i| (format!("k{i}"), h(i))).collect();
    assert_contains(&apply(&w.resident, 1, "地址", many), "a case holds at most 16 documents, not 17");
    assert_contains(&apply(&w.resident, 1, "地址", vec![(String::new(), h(1))]), "a document kind has 1 to 32 bytes");
    assert!(w.events().is_empty());
}

#[test]
fn departments_act_only_on_their_own_ready_steps_with_the_documents_there() {
    let w = world();
    w.publish();
    // Applied without the purchase contract.
    let case = w.apply(vec![("房产证".into(), h(1)), ("身份证".into(), h(2))]);
    let approve = |who: &AccountId, step: u8| w.err(who, msg::approve(case, step, String::new()));
    assert_contains(
        &approve(&w.tianjin_registry, 0),
        "step 0 (不动产登记) is acted on by member beijing's real-estate-registry; ",
    );
    assert_contains(&approve(&w.tianjin_registry, 0), "belongs to member tianjin");
    assert_contains(&approve(&w.water, 0), "lacks the role real-estate-registry");
    assert_contains(&approve(&w.power, 2), "step 2 (水务过户) is acted on by member beijing's water-utility");
    assert_contains(&approve(&w.power, 2), "lacks the role water-utility");
    assert_contains(&approve(&w.stranger, 0), "belongs to no member");
    assert_contains(&approve(&w.registry, 5), "case #1 has steps 0 to 2, not step 5");
    assert_contains(&w.err(&w.registry, msg::approve(9, 0, String::new())), "no case #9");
    assert_contains(&approve(&w.registry, 0), "step 0 (不动产登记) requires document 购房合同, which case #1 lacks");
    let long = w.err(&w.registry, msg::approve(case, 0, "x".repeat(257)));
    assert_contains(&long, "a note has at most 256 bytes, not 257");
    w.env.take_events();
    // The applicant attaches it; now the registry approves, once.
    assert_contains(
        &w.err(&w.neighbour, msg::attach(case, "购房合同".into(), h(3))),
        "only case #1's applicant attaches",
    );
    let reopened: Vec<u8> =
        w.env.call_decode(&w.resident, &w.c, 0, msg::attach(case, "购房合同".into(), h(3))).expect("attach");
    assert!(reopened.is_empty(), "nothing was returned");
    assert_eq!(w.events(), [WorkflowEvent::DocumentAttached { case, kind: "购房合同".into(), reopened: vec![] }]);
    assert_eq!(w.case(case).documents, all_documents());
    w.approve(&w.registry, case, 0);
    assert_contains(&approve(&w.registry, 0), "step 0 (不动产登记) of case #1 was approved already by");
    // Withdrawn by its applicant only, then nothing is approved, attached or withdrawn again.
    assert_contains(&w.err(&w.neighbour, msg::withdraw(case)), "only case #1's applicant withdraws it");
    w.env.take_events();
    w.env.set_block(5, T0 + HOUR);
    w.ok(&w.resident, msg::withdraw(case));
    assert_eq!(w.events(), [WorkflowEvent::Withdrawn { case, applicant: w.resident }]);
    assert_eq!(w.case(case).status, CaseStatus::Withdrawn { at: T0 + HOUR });
    assert_contains(&approve(&w.power, 1), "case #1 was withdrawn by its applicant");
    assert_contains(&w.err(&w.resident, msg::attach(case, "身份证".into(), h(8))), "case #1 was withdrawn");
    assert_contains(&w.err(&w.resident, msg::withdraw(case)), "case #1 was withdrawn");
    assert!(w.inbox(&w.power, POWER).is_empty(), "a withdrawn case leaves every inbox");
    w.env.set_block(6, T0 + 1000 * HOUR);
    let flagged: Vec<u8> = w.env.call_decode(&w.stranger, &w.c, 0, msg::flag_overdue(case)).expect("flag");
    assert!(flagged.is_empty(), "a withdrawn case is overdue nowhere");
}

#[test]
fn a_returned_step_waits_for_the_applicant_and_is_ready_again_with_the_new_document() {
    let w = world();
    let case = w.applied();
    assert_contains(&w.err(&w.power, msg::return_step(case, 1, "缺材料".into())), "step 1 (电力过户) is not ready yet");
    assert_contains(
        &w.err(&w.water, msg::return_step(case, 0, "缺材料".into())),
        "lacks the role real-estate-registry",
    );
    assert_contains(&w.err(&w.registry, msg::return_step(case, 0, String::new())), "a reason has 1 to 256 bytes");
    w.env.set_block(2, T0 + HOUR);
    w.ok(&w.registry, msg::return_step(case, 0, "房产证照片不清晰".into()));
    assert_eq!(w.events(), [WorkflowEvent::StepReturned { case, by: w.registry, step: 0 }]);
    assert_eq!(
        w.case(case).steps[0],
        StepState::Returned { by: w.registry, at: T0 + HOUR, reason: "房产证照片不清晰".into() }
    );
    assert!(w.inbox(&w.registry, REGISTRY).is_empty(), "returned: with the applicant, not the registry");
    assert_contains(
        &w.err(&w.registry, msg::approve(case, 0, String::new())),
        "step 0 (不动产登记) of case #1 was returned to the applicant",
    );
    assert_contains(&w.err(&w.registry, msg::return_step(case, 0, "again".into())), "was returned already");
    // A clear scan replaces the old one: ready again, its deadline counted from now.
    w.env.set_block(3, T0 + 30 * HOUR);
    let reopened: Vec<u8> =
        w.env.call_decode(&w.resident, &w.c, 0, msg::attach(case, "房产证".into(), h(7))).expect("attach");
    assert_eq!(reopened, [0]);
    assert_eq!(w.events(), [WorkflowEvent::DocumentAttached { case, kind: "房产证".into(), reopened: vec![0] }]);
    let c = w.case(case);
    assert_eq!(c.documents, [("房产证".into(), h(7)), ("身份证".into(), h(2)), ("购房合同".into(), h(3))]);
    assert_eq!(c.steps[0], StepState::Ready { since: T0 + 30 * HOUR, flagged: false });
    assert_eq!(w.inbox(&w.registry, REGISTRY), [(case, 0)], "back once, not twice");
    // 80 hours after applying, but 50 after the new scan: on time.
    w.env.set_block(4, T0 + 80 * HOUR);
    let c = w.approve(&w.registry, case, 0);
    assert!(matches!(c.steps[0], StepState::Approved { late: false, .. }));
    assert_contains(
        &w.err(&w.registry, msg::return_step(case, 0, "x".into())),
        "was approved already: it is not returned",
    );
}

#[test]
fn late_approvals_are_recorded_and_overdue_steps_flagged_once() {
    let w = world();
    let case = w.applied();
    let overdue = |w: &World| -> Vec<OverdueStep> {
        w.env.call_decode(&w.stranger, &w.c, 0, msg::overdue(case)).expect("overdue")
    };
    let flag =
        |w: &World| -> Vec<u8> { w.env.call_decode(&w.stranger, &w.c, 0, msg::flag_overdue(case)).expect("flag") };
    w.env.set_block(2, T0 + 72 * HOUR);
    assert!(overdue(&w).is_empty(), "due at 72 hours is not yet overdue");
    assert!(flag(&w).is_empty());
    w.env.set_block(3, T0 + 73 * HOUR);
    let registration = OverdueStep {
        step: 0,
        name: "不动产登记".into(),
        org: "beijing".into(),
        role: REGISTRY.into(),
        due: T0 + 72 * HOUR,
        flagged: false,
    };
    assert_eq!(overdue(&w), std::slice::from_ref(&registration));
    // Anyone flags it: one event; flagging again adds none.
    assert_eq!(flag(&w), [0]);
    let event =
        WorkflowEvent::Overdue { case, step: 0, org: "beijing".into(), role: REGISTRY.into(), due: T0 + 72 * HOUR };
    assert_eq!(w.events(), [event]);
    assert!(flag(&w).is_empty());
    assert!(w.events().is_empty(), "flagged once");
    assert_eq!(overdue(&w), [OverdueStep { flagged: true, ..registration }]);
    // The registry approves late: recorded, no second Overdue.
    let c = w.approve(&w.registry, case, 0);
    assert!(matches!(c.steps[0], StepState::Approved { late: true, .. }));
    assert_eq!(w.events(), [WorkflowEvent::StepApproved { case, by: w.registry, step: 0, late: true }]);
    assert!(overdue(&w).is_empty());
    // Electricity, late and never flagged: the approval reports it overdue itself.
    w.env.set_block(4, T0 + 122 * HOUR);
    let c = w.approve(&w.power, case, 1);
    assert!(matches!(c.steps[1], StepState::Approved { late: true, .. }));
    let due = T0 + 121 * HOUR;
    assert_eq!(
        w.events(),
        [
            WorkflowEvent::Overdue { case, step: 1, org: "beijing".into(), role: POWER.into(), due },
            WorkflowEvent::StepApproved { case, by: w.power, step: 1, late: true },
        ]
    );
    // Water is overdue too: flagged once, then its late approval adds no second Overdue.
    assert_eq!(overdue(&w).iter().map(|o| (o.step, o.due)).collect::<Vec<_>>(), [(2, due)]);
    assert_eq!(flag(&w), [2]);
    assert_eq!(w.events().len(), 1);
    assert!(flag(&w).is_empty());
    w.approve(&w.water, case, 2);
    assert_eq!(
        w.events(),
        [
            WorkflowEvent::StepApproved { case, by: w.water, step: 2, late: true },
            WorkflowEvent::Completed { case, applicant: w.resident, took_ms: 122 * HOUR },
        ]
    );
}

#[test]
fn a_case_is_read_by_its_applicant_its_departments_and_auditors_only() {
    let w = world();
    let case = w.applied();
    for who in [&w.resident, &w.registry, &w.power, &w.water, &w.auditor] {
        let c = w.read(who, case).expect("may read").expect("exists");
        assert_eq!(c.applicant, w.resident);
    }
    for who in [&w.stranger, &w.neighbour, &w.tianjin_registry, &w.admin] {
        let e = w.read(who, case).expect_err("refused");
        assert_contains(
            &e,
            "case #1 is personal data: read by its applicant, the departments of its steps and auditors",
        );
    }
    assert_eq!(w.read(&w.stranger, 9).expect("no case, nothing to protect"), None);
    // A read no one signed is refused by the host, even the applicant's.
    w.env.set_unsigned_reads(true);
    assert_contains(&w.read(&w.resident, case).expect_err("unsigned"), "only a signed read request may read it");
    let t: Option<Template> = w.env.call_decode(&w.stranger, &w.c, 0, msg::template(1)).expect("templates are public");
    assert!(t.is_some());
    let o: Vec<OverdueStep> = w.env.call_decode(&w.stranger, &w.c, 0, msg::overdue(case)).expect("public");
    assert!(o.is_empty());
    w.env.set_unsigned_reads(false);
    // An applicant's cases: the applicant and auditors.
    let e = w.err(&w.neighbour, msg::cases_of(w.resident, 0, 10));
    assert_contains(&e, "an applicant's cases are read by the applicant and auditors");
    let theirs: Vec<Case> = w.env.call_decode(&w.auditor, &w.c, 0, msg::cases_of(w.resident, 0, 10)).expect("audit");
    assert_eq!(theirs.iter().map(|c| c.id).collect::<Vec<_>>(), [case]);
    // An inbox: its department and auditors.
    let inbox = |who: &AccountId, org: &str| w.err(who, msg::inbox(org.into(), REGISTRY.into(), 0, 10));
    assert_contains(&inbox(&w.tianjin_registry, "beijing"), "member beijing's real-estate-registry inbox is read by");
    assert_contains(&inbox(&w.power, "beijing"), "inbox is read by its accounts with that role and auditors");
    assert_contains(&inbox(&w.stranger, "beijing"), "inbox is read by");
    assert_eq!(w.inbox(&w.auditor, REGISTRY), [(case, 0)]);
}

#[test]
fn the_inbox_shows_only_ready_steps_of_open_cases() {
    let w = world();
    w.publish();
    let first = w.apply(all_documents());
    let second = w.apply(all_documents());
    let third = w.apply(all_documents());
    assert_eq!((first, second, third), (1, 2, 3));
    assert_eq!(w.inbox(&w.registry, REGISTRY), [(1, 0), (2, 0), (3, 0)]);
    w.approve(&w.registry, first, 0);
    w.ok(&w.registry, msg::return_step(second, 0, "购房合同缺页".into()));
    w.ok(&w.resident, msg::withdraw(third));
    assert!(w.inbox(&w.registry, REGISTRY).is_empty(), "approved, returned, withdrawn");
    assert_eq!(w.inbox(&w.power, POWER), [(1, 1)]);
    assert_eq!(w.inbox(&w.water, WATER), [(1, 2)]);
    w.ok(&w.resident, msg::attach(second, "购房合同".into(), h(4)));
    assert_eq!(w.inbox(&w.registry, REGISTRY), [(2, 0)]);
    // Paged over the index: entries 1..2 of 3.
    let page: InboxPage =
        w.env.call_decode(&w.registry, &w.c, 0, msg::inbox("beijing".into(), REGISTRY.into(), 1, 1)).expect("page");
    assert_eq!((page.items.iter().map(|i| i.case).collect::<Vec<_>>(), page.next, page.total), (vec![2], 2, 3));
    let past: InboxPage =
        w.env.call_decode(&w.registry, &w.c, 0, msg::inbox("beijing".into(), REGISTRY.into(), 9, 5)).expect("past");
    assert_eq!((past.items.len(), past.next, past.total), (0, 3, 3));
    let mine: Vec<Case> = w.env.call_decode(&w.resident, &w.c, 0, msg::cases_of(w.resident, 1, 5)).expect("mine");
    assert_eq!(mine.iter().map(|c| c.id).collect::<Vec<_>>(), [2, 3]);
}

/// The JSON the CLI takes (transcoded by the metadata) encodes the same calls as `msg::`.
#[test]
fn the_cli_json_forms_encode_the_same_calls() {
    let meta = LoadedMetadata::from_json(&Workflow::metadata().to_json()).expect("metadata");
    let encode =
        |message: &str, args: serde_json::Value| jjj_transcode::encode_call(&meta, message, &args).expect("encodes");
    let steps = json!([
        {"name": "不动产登记", "org": "beijing", "role": REGISTRY, "after": [], "deadline_hours": 72,
         "documents": ["房产证", "身份证", "购房合同"]},
        {"name": "电力过户", "org": "beijing", "role": POWER, "after": [0], "deadline_hours": 48, "documents": ["身份证"]},
        {"name": "水务过户", "org": "beijing", "role": WATER, "after": [0], "deadline_hours": 48, "documents": ["身份证"]}
    ]);
    assert_eq!(
        encode("publish_template", json!(["房产过户(含水电)", steps])),
        msg::publish_template("房产过户(含水电)".into(), transfer_steps())
    );
    let hex = |n: u8| format!("0x{}", format!("{n:02x}").repeat(32));
    let docs = json!([["房产证", hex(1)], ["身份证", hex(2)], ["购房合同", hex(3)]]);
    assert_eq!(
        encode("apply", json!({"template": 1, "subject": "北京市朝阳区幸福路 8 号 3-502", "documents": docs})),
        msg::apply(1, "北京市朝阳区幸福路 8 号 3-502".into(), all_documents())
    );
    assert_eq!(encode("approve", json!([1, 0, "材料齐全"])), msg::approve(1, 0, "材料齐全".into()));
    assert_eq!(encode("attach", json!([1, "房产证", hex(7)])), msg::attach(1, "房产证".into(), h(7)));
}
