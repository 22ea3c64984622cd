//! The region's workflow engine (一网通办, 只需跑一次): a resident applies once, and every
//! department acts on the same record instead of asking for the same papers again.
//!
//! 1. An account with the alliance's role `workflow-admin` publishes a template: named steps,
//!    each acted on by one department (a member organisation and a role within it), waiting for
//!    earlier steps only (so a template is acyclic by construction; steps that do not wait for
//!    each other run in parallel), with a deadline in hours from when it becomes ready and the
//!    document kinds it needs. Templates never change: a new version is a new template. The
//!    admin retires a template, which then takes no new applications.
//! 2. Any account the alliance registered applies once to a template with a subject (e.g. the
//!    property's address) and the hashes of its documents. Steps waiting for nothing are ready
//!    at once.
//! 3. The step's department approves a ready step when its documents are there; the steps
//!    waiting for it become ready when all their predecessors are approved; when every step is
//!    approved the case is complete. An approval past the deadline is recorded as late. The
//!    department may return a ready step to the applicant (a wrong document); the applicant
//!    attaches the document (replacing that kind's hash), which makes returned steps ready again.
//!    The applicant may withdraw an incomplete case.
//! 4. Anyone flags a case's overdue steps, once per step each time it is ready, so supervising
//!    governments see them (a late approval of an unflagged step flags it too).
//!
//! A case is personal data: read (`#[message(query, protected)]`) by its applicant, by the
//! departments of its template's steps and by auditors. Templates are public.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use jjj_sdk::prelude::*;

/// Publishes and retires templates.
pub const WORKFLOW_ADMIN: &str = "workflow-admin";
/// Most steps of one template.
pub const MAX_STEPS: usize = 16;
/// Most document kinds one step requires.
pub const MAX_STEP_DOCS: usize = 8;
/// Most documents one case holds (one hash per kind).
pub const MAX_CASE_DOCS: usize = 16;
/// Longest name of a template or step, member id or role, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Longest document kind ("房产证" is 9 bytes), in bytes.
pub const MAX_KIND_LEN: usize = 32;
/// Longest subject, approval note or return reason, in bytes.
pub const MAX_TEXT_LEN: usize = 256;
/// Longest deadline of a step: a year.
pub const MAX_DEADLINE_HOURS: u32 = 24 * 366;
pub const MAX_PAGE: u32 = 100;
const HOUR_MS: u64 = 3_600_000;

/// One step of a template.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct StepSpec {
    /// E.g. "不动产登记".
    pub name: String,
    /// The member organisation that acts (`beijing`…).
    pub org: String,
    /// The role within it that acts (`real-estate-registry`…).
    pub role: String,
    /// Indices of the earlier steps this one waits for.
    pub after: Vec<u8>,
    /// Hours the department has once the step is ready.
    pub deadline_hours: u32,
    /// Document kinds the step needs ("房产证", "身份证"…).
    pub documents: Vec<String>,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub id: u64,
    pub name: String,
    pub steps: Vec<StepSpec>,
    pub publisher: AccountId,
    /// Block time (ms).
    pub published_at: u64,
    /// Retired: takes no new applications (its open cases go on).
    pub retired: bool,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    /// Some predecessor is not approved yet.
    Waiting,
    /// With its department since `since` (ms); `flagged` once reported overdue.
    Ready {
        since: u64,
        flagged: bool,
    },
    Approved {
        by: AccountId,
        at: u64,
        note: String,
        late: bool,
    },
    /// Sent back to the applicant; ready again when the applicant attaches a document.
    Returned {
        by: AccountId,
        at: u64,
        reason: String,
    },
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub enum CaseStatus {
    Open,
    Complete { at: u64 },
    Withdrawn { at: u64 },
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: u64,
    pub template: u64,
    pub applicant: AccountId,
    /// E.g. the property's address.
    pub subject: String,
    /// (kind, hash), one per kind.
    pub documents: Vec<(String, Hash)>,
    /// Block time (ms).
    pub applied_at: u64,
    /// One per template step, in the template's order.
    pub steps: Vec<StepState>,
    pub status: CaseStatus,
}

/// A ready step in a department's inbox.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    pub case: u64,
    pub step: u8,
    pub name: String,
    /// Ready since (ms).
    pub since: u64,
    /// Deadline (ms).
    pub due: u64,
}

/// A page of a department's inbox: the ready steps among index entries `start..next` of
/// `total`; continue from `next` while it is below `total`.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct InboxPage {
    pub items: Vec<InboxItem>,
    pub next: u32,
    pub total: u32,
}

/// A ready step past its deadline.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct OverdueStep {
    pub step: u8,
    pub name: String,
    pub org: String,
    pub role: String,
    /// Deadline (ms).
    pub due: u64,
    pub flagged: bool,
}

/// Events carry ids, departments and kinds, never a case's subject, notes or reasons: those are
/// personal and read through the protected queries.
#[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, Clone, PartialEq, Eq)]
pub enum WorkflowEvent {
    TemplatePublished {
        #[topic]
        template: u64,
        #[topic]
        by: AccountId,
        name: String,
        steps: u8,
    },
    TemplateRetired {
        #[topic]
        template: u64,
        #[topic]
        by: AccountId,
    },
    Applied {
        #[topic]
        case: u64,
        #[topic]
        template: u64,
        #[topic]
        applicant: AccountId,
    },
    StepApproved {
        #[topic]
        case: u64,
        #[topic]
        by: AccountId,
        step: u8,
        late: bool,
    },
    StepReturned {
        #[topic]
        case: u64,
        #[topic]
        by: AccountId,
        step: u8,
    },
    DocumentAttached {
        #[topic]
        case: u64,
        kind: String,
        /// Returned steps this made ready again.
        reopened: Vec<u8>,
    },
    Completed {
        #[topic]
        case: u64,
        #[topic]
        applicant: AccountId,
        /// From application to the last approval.
        took_ms: u64,
    },
    Overdue {
        #[topic]
        case: u64,
        step: u8,
        org: String,
        role: String,
        due: u64,
    },
    Withdrawn {
        #[topic]
        case: u64,
        #[topic]
        applicant: AccountId,
    },
}

jjj_sdk::storage! {
    static LAST_TEMPLATE: Item<u64> = b"last_template";
    static TEMPLATES: Map<u64, Template> = b"templates";
    static LAST_CASE: Item<u64> = b"last_case";
    static CASES: Map<u64, Case> = b"cases";
    /// Case ids by applicant, in application order.
    static CASES_OF: ListMap<AccountId, u64> = b"cases_of";
    /// (case, step) per department (org, role), in the order the steps first became ready:
    /// the inbox reads this instead of every case.
    static INBOX: ListMap<(String, String), (u64, u8)> = b"inbox";
}

pub struct Workflow;

fn template(id: u64) -> Result<Template> {
    TEMPLATES.get(&id).ok_or_else(|| Error::new(format!("no template #{id}")))
}

fn case(id: u64) -> Result<Case> {
    CASES.get(&id).ok_or_else(|| Error::new(format!("no case #{id}")))
}

fn text(what: &str, s: &str, max: usize) -> Result<()> {
    ensure!(!s.is_empty() && s.len() <= max, "{} has 1 to {} bytes, not {}", what, max, s.len());
    Ok(())
}

fn check_admin() -> Result<AccountId> {
    let caller = env::caller();
    ensure!(
        env::has_role(&caller, WORKFLOW_ADMIN),
        "{} lacks the alliance's role {}: only a workflow admin publishes and retires templates",
        caller,
        WORKFLOW_ADMIN
    );
    Ok(caller)
}

fn check_step(i: usize, s: &StepSpec, earlier: &[StepSpec]) -> Result<()> {
    text(&format!("step {i}'s name"), &s.name, MAX_NAME_LEN)?;
    ensure!(!earlier.iter().any(|e| e.name == s.name), "two steps are named {}", s.name);
    text(&format!("step {i} ({})'s member", s.name), &s.org, MAX_NAME_LEN)?;
    text(&format!("step {i} ({})'s role", s.name), &s.role, MAX_NAME_LEN)?;
    for (k, &a) in s.after.iter().enumerate() {
        ensure!(usize::from(a) != i, "step {} ({}) waits for itself", i, s.name);
        ensure!(
            usize::from(a) < i,
            "step {} ({}) waits for step {}, which is not earlier: a step waits only for earlier steps",
            i,
            s.name,
            a
        );
        ensure!(!s.after[..k].contains(&a), "step {} ({}) names step {} twice among its predecessors", i, s.name, a);
    }
    ensure!(
        (1..=MAX_DEADLINE_HOURS).contains(&s.deadline_hours),
        "step {} ({})'s deadline is 1 to {} hours, not {}",
        i,
        s.name,
        MAX_DEADLINE_HOURS,
        s.deadline_hours
    );
    ensure!(
        s.documents.len() <= MAX_STEP_DOCS,
        "step {} ({}) requires at most {} document kinds, not {}",
        i,
        s.name,
        MAX_STEP_DOCS,
        s.documents.len()
    );
    for (k, kind) in s.documents.iter().enumerate() {
        text(&format!("step {i} ({})'s document kind", s.name), kind, MAX_KIND_LEN)?;
        ensure!(!s.documents[..k].contains(kind), "step {} ({}) requires {} twice", i, s.name, kind);
    }
    Ok(())
}

/// Refuses `who` unless it belongs to the step's member and holds the step's role.
fn check_department(who: &AccountId, i: u8, s: &StepSpec) -> Result<()> {
    let member = env::member_of(who);
    ensure!(
        member.as_deref() == Some(s.org.as_str()),
        "step {} ({}) is acted on by member {}'s {}; {} belongs to {}",
        i,
        s.name,
        s.org,
        s.role,
        who,
        member.map_or_else(|| String::from("no member"), |m| format!("member {m}"))
    );
    ensure!(
        env::has_role(who, &s.role),
        "step {} ({}) is acted on by member {}'s {}; {} lacks the role {}",
        i,
        s.name,
        s.org,
        s.role,
        who,
        s.role
    );
    Ok(())
}

/// Whether `who` acts for some step of `t`.
fn is_department(who: &AccountId, t: &Template) -> bool {
    let Some(member) = env::member_of(who) else { return false };
    t.steps.iter().any(|s| s.org == member && env::has_role(who, &s.role))
}

/// The read policy of one case.
fn check_reader(c: &Case, t: &Template) -> Result<()> {
    let who = env::caller();
    ensure!(
        who == c.applicant || env::has_role(&who, roles::AUDITOR) || is_department(&who, t),
        "case #{} is personal data: read by its applicant, the departments of its steps and auditors, not {}",
        c.id,
        who
    );
    Ok(())
}

fn check_open(c: &Case) -> Result<()> {
    match c.status {
        CaseStatus::Open => Ok(()),
        CaseStatus::Complete { .. } => fail!("case #{} is complete: its steps are all approved", c.id),
        CaseStatus::Withdrawn { .. } => fail!("case #{} was withdrawn by its applicant", c.id),
    }
}

fn step_spec(t: &Template, case: u64, step: u8) -> Result<&StepSpec> {
    t.steps.get(usize::from(step)).ok_or_else(|| {
        Error::new(format!("case #{case} has steps 0 to {}, not step {step}", t.steps.len().saturating_sub(1)))
    })
}

/// Case `case`, its template and the caller, once the caller is step `step`'s department and
/// the case is open: what a department checks before it acts on a step.
fn acting_department(case: u64, step: u8) -> Result<(Case, Template, AccountId)> {
    let c = self::case(case)?;
    let t = template(c.template)?;
    let by = env::caller();
    check_department(&by, step, step_spec(&t, case, step)?)?;
    check_open(&c)?;
    Ok((c, t, by))
}

/// Step `step`'s state in case `c` (checked against the template by `step_spec` first; a case
/// has one state per template step).
fn state_of(c: &Case, step: u8) -> Result<StepState> {
    c.steps.get(usize::from(step)).cloned().ok_or_else(|| Error::new(format!("case #{} has no step {step}", c.id)))
}

fn set_state(c: &mut Case, step: u8, state: StepState) {
    if let Some(s) = c.steps.get_mut(usize::from(step)) {
        *s = state;
    }
}

fn due(since: u64, s: &StepSpec) -> u64 {
    since.saturating_add(u64::from(s.deadline_hours) * HOUR_MS)
}

fn overdue_steps(c: &Case, t: &Template, now: u64) -> Vec<OverdueStep> {
    if c.status != CaseStatus::Open {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, (state, s)) in c.steps.iter().zip(&t.steps).enumerate() {
        if let StepState::Ready { since, flagged } = state {
            if now > due(*since, s) {
                out.push(OverdueStep {
                    step: i as u8,
                    name: s.name.clone(),
                    org: s.org.clone(),
                    role: s.role.clone(),
                    due: due(*since, s),
                    flagged: *flagged,
                });
            }
        }
    }
    out
}

fn overdue_event(case: u64, i: u8, s: &StepSpec, due: u64) {
    env::emit(&WorkflowEvent::Overdue { case, step: i, org: s.org.clone(), role: s.role.clone(), due });
}

/// Makes ready every waiting step whose predecessors are all approved, indexing it in its
/// department's inbox (a step is waiting only once, so it is indexed once).
fn release(c: &mut Case, t: &Template, now: u64) -> Result<()> {
    for (i, s) in t.steps.iter().enumerate() {
        let approved = |a: &u8| matches!(c.steps.get(usize::from(*a)), Some(StepState::Approved { .. }));
        if c.steps.get(i) == Some(&StepState::Waiting) && s.after.iter().all(approved) {
            set_state(c, i as u8, StepState::Ready { since: now, flagged: false });
            INBOX.push(&(s.org.clone(), s.role.clone()), &(c.id, i as u8))?;
        }
    }
    Ok(())
}

#[jjj_sdk::contract(events = WorkflowEvent)]
impl Workflow {
    /// Creates the engine. No admin of its own: the alliance's `workflow-admin` role publishes.
    #[constructor]
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Result<()> {
        Ok(())
    }

    /// A workflow admin publishes a template; returns its id. Checks every step: names, member,
    /// role, predecessors (earlier steps only, no repeats), deadline, document kinds.
    #[message]
    pub fn publish_template(name: String, steps: Vec<StepSpec>) -> Result<u64> {
        let by = check_admin()?;
        text("a template's name", &name, MAX_NAME_LEN)?;
        ensure!(
            !steps.is_empty() && steps.len() <= MAX_STEPS,
            "a template has 1 to {} steps, not {}",
            MAX_STEPS,
            steps.len()
        );
        for (i, s) in steps.iter().enumerate() {
            check_step(i, s, &steps[..i])?;
        }
        let id = LAST_TEMPLATE.get_or(0) + 1;
        LAST_TEMPLATE.set(&id);
        let n = steps.len() as u8;
        let t =
            Template { id, name: name.clone(), steps, publisher: by, published_at: env::block_time(), retired: false };
        TEMPLATES.set(&id, &t);
        env::emit(&WorkflowEvent::TemplatePublished { template: id, by, name, steps: n });
        Ok(id)
    }

    /// A workflow admin retires template `id`: no new applications; open cases go on.
    #[message]
    pub fn retire_template(id: u64) -> Result<()> {
        let by = check_admin()?;
        let mut t = template(id)?;
        ensure!(!t.retired, "template #{} was retired already", id);
        t.retired = true;
        TEMPLATES.set(&id, &t);
        env::emit(&WorkflowEvent::TemplateRetired { template: id, by });
        Ok(())
    }

    /// An account the alliance registered applies to template `template` with a subject and its
    /// documents (kind, hash), one per kind; returns the case id. Steps that wait for nothing
    /// are ready at once.
    #[message]
    pub fn apply(template: u64, subject: String, documents: Vec<(String, Hash)>) -> Result<u64> {
        let t = self::template(template)?;
        let applicant = env::caller();
        ensure!(
            env::member_of(&applicant).is_some(),
            "{} is not an account the alliance registered: register with a member to apply",
            applicant
        );
        ensure!(!t.retired, "template #{} ({}) is retired: it takes no new applications", template, t.name);
        text("a case's subject", &subject, MAX_TEXT_LEN)?;
        ensure!(
            documents.len() <= MAX_CASE_DOCS,
            "a case holds at most {} documents, not {}",
            MAX_CASE_DOCS,
            documents.len()
        );
        for (k, (kind, _)) in documents.iter().enumerate() {
            text("a document kind", kind, MAX_KIND_LEN)?;
            ensure!(!documents[..k].iter().any(|(d, _)| d == kind), "document {} is given twice", kind);
        }
        let id = LAST_CASE.get_or(0) + 1;
        LAST_CASE.set(&id);
        let now = env::block_time();
        let mut c = Case {
            id,
            template,
            applicant,
            subject,
            documents,
            applied_at: now,
            steps: vec![StepState::Waiting; t.steps.len()],
            status: CaseStatus::Open,
        };
        release(&mut c, &t, now)?;
        CASES.set(&id, &c);
        CASES_OF.push(&applicant, &id)?;
        env::emit(&WorkflowEvent::Applied { case: id, template, applicant });
        Ok(id)
    }

    /// The step's department (an account of the step's member holding the step's role) approves
    /// ready step `step` of case `case`, with an optional note: refused before its predecessors
    /// are approved, without its documents, twice, once returned, on a closed case. Past the
    /// deadline it is recorded late (and flagged overdue if it was not). Returns the case.
    #[message]
    pub fn approve(case: u64, step: u8, note: String) -> Result<Case> {
        let (mut c, t, by) = acting_department(case, step)?;
        let s = step_spec(&t, case, step)?;
        ensure!(note.len() <= MAX_TEXT_LEN, "a note has at most {} bytes, not {}", MAX_TEXT_LEN, note.len());
        let (since, flagged) = match state_of(&c, step)? {
            StepState::Ready { since, flagged } => (since, flagged),
            StepState::Waiting => {
                let waits: Vec<String> = s
                    .after
                    .iter()
                    .filter(|a| !matches!(c.steps.get(usize::from(**a)), Some(StepState::Approved { .. })))
                    .map(|a| format!("step {a} ({})", t.steps.get(usize::from(*a)).map_or("", |p| &p.name)))
                    .collect();
                fail!("step {} ({}) waits for {}", step, s.name, waits.join(", "))
            }
            StepState::Approved { by, .. } => {
                fail!("step {} ({}) of case #{} was approved already by {}", step, s.name, case, by)
            }
            StepState::Returned { .. } => fail!(
                "step {} ({}) of case #{} was returned to the applicant: it is ready again once a document is attached",
                step,
                s.name,
                case
            ),
        };
        if let Some(kind) = s.documents.iter().find(|k| !c.documents.iter().any(|(d, _)| d == *k)) {
            fail!("step {} ({}) requires document {}, which case #{} lacks", step, s.name, kind, case);
        }
        let now = env::block_time();
        let late = now > due(since, s);
        set_state(&mut c, step, StepState::Approved { by, at: now, note, late });
        if late && !flagged {
            overdue_event(case, step, s, due(since, s));
        }
        env::emit(&WorkflowEvent::StepApproved { case, by, step, late });
        release(&mut c, &t, now)?;
        if c.steps.iter().all(|st| matches!(st, StepState::Approved { .. })) {
            c.status = CaseStatus::Complete { at: now };
            env::emit(&WorkflowEvent::Completed {
                case,
                applicant: c.applicant,
                took_ms: now.saturating_sub(c.applied_at),
            });
        }
        CASES.set(&case, &c);
        Ok(c)
    }

    /// The step's department returns ready step `step` to the applicant with a reason (a wrong
    /// or missing document); the step waits for the applicant's `attach`.
    #[message]
    pub fn return_step(case: u64, step: u8, reason: String) -> Result<()> {
        let (mut c, t, by) = acting_department(case, step)?;
        let s = step_spec(&t, case, step)?;
        text("a reason", &reason, MAX_TEXT_LEN)?;
        match state_of(&c, step)? {
            StepState::Ready { .. } => {}
            StepState::Waiting => fail!("step {} ({}) is not ready yet: nothing to return", step, s.name),
            StepState::Approved { .. } => fail!("step {} ({}) was approved already: it is not returned", step, s.name),
            StepState::Returned { .. } => fail!("step {} ({}) was returned already", step, s.name),
        }
        set_state(&mut c, step, StepState::Returned { by, at: env::block_time(), reason });
        CASES.set(&case, &c);
        env::emit(&WorkflowEvent::StepReturned { case, by, step });
        Ok(())
    }

    /// The applicant attaches a document (replacing the hash of that kind, if any); every
    /// returned step is ready again, its deadline counted anew. Returns the steps made ready.
    #[message]
    pub fn attach(case: u64, kind: String, hash: Hash) -> Result<Vec<u8>> {
        let mut c = self::case(case)?;
        ensure!(env::caller() == c.applicant, "only case #{}'s applicant attaches documents", case);
        check_open(&c)?;
        text("a document kind", &kind, MAX_KIND_LEN)?;
        if let Some(d) = c.documents.iter_mut().find(|(d, _)| *d == kind) {
            d.1 = hash;
        } else {
            ensure!(c.documents.len() < MAX_CASE_DOCS, "case #{} holds {} documents already", case, MAX_CASE_DOCS);
            c.documents.push((kind.clone(), hash));
        }
        let now = env::block_time();
        let mut reopened = Vec::new();
        for (i, st) in c.steps.iter_mut().enumerate() {
            if matches!(st, StepState::Returned { .. }) {
                *st = StepState::Ready { since: now, flagged: false };
                reopened.push(i as u8);
            }
        }
        CASES.set(&case, &c);
        env::emit(&WorkflowEvent::DocumentAttached { case, kind, reopened: reopened.clone() });
        Ok(reopened)
    }

    /// The applicant withdraws its incomplete case: nothing more is approved on it.
    #[message]
    pub fn withdraw(case: u64) -> Result<()> {
        let mut c = self::case(case)?;
        let applicant = env::caller();
        ensure!(applicant == c.applicant, "only case #{}'s applicant withdraws it", case);
        check_open(&c)?;
        c.status = CaseStatus::Withdrawn { at: env::block_time() };
        CASES.set(&case, &c);
        env::emit(&WorkflowEvent::Withdrawn { case, applicant });
        Ok(())
    }

    /// Anyone flags the overdue steps of case `case` not flagged yet: an `Overdue` event each,
    /// for supervising governments. Returns the steps flagged (none when all were).
    #[message]
    pub fn flag_overdue(case: u64) -> Result<Vec<u8>> {
        let mut c = self::case(case)?;
        let t = template(c.template)?;
        let mut flagged = Vec::new();
        for o in overdue_steps(&c, &t, env::block_time()).into_iter().filter(|o| !o.flagged) {
            if let Some(StepState::Ready { flagged: f, .. }) = c.steps.get_mut(usize::from(o.step)) {
                *f = true;
            }
            env::emit(&WorkflowEvent::Overdue { case, step: o.step, org: o.org, role: o.role, due: o.due });
            flagged.push(o.step);
        }
        if !flagged.is_empty() {
            CASES.set(&case, &c);
        }
        Ok(flagged)
    }

    /// Template `id` (public: how a service runs is everyone's to know).
    #[message(query)]
    pub fn template(id: u64) -> Result<Option<Template>> {
        Ok(TEMPLATES.get(&id))
    }

    /// Templates from id `start` on (retired ones included).
    #[message(query)]
    pub fn templates(start: u64, limit: u32) -> Result<Vec<Template>> {
        let from = start.max(1);
        let to = LAST_TEMPLATE.get_or(0).saturating_add(1).min(from.saturating_add(u64::from(limit.min(MAX_PAGE))));
        Ok((from..to).filter_map(|id| TEMPLATES.get(&id)).collect())
    }

    /// Case `id`. Read policy: its applicant, an account of a step's member holding that step's
    /// role, auditors.
    #[message(query, protected)]
    pub fn case(id: u64) -> Result<Option<Case>> {
        let Some(c) = CASES.get(&id) else { return Ok(None) };
        check_reader(&c, &template(c.template)?)?;
        Ok(Some(c))
    }

    /// The cases `applicant` applied for, from its `start`-th. Read policy: the applicant,
    /// auditors.
    #[message(query, protected)]
    pub fn cases_of(applicant: AccountId, start: u32, limit: u32) -> Result<Vec<Case>> {
        let who = env::caller();
        ensure!(
            who == applicant || env::has_role(&who, roles::AUDITOR),
            "an applicant's cases are read by the applicant and auditors, not {}",
            who
        );
        Ok(CASES_OF.page(&applicant, start, limit.min(MAX_PAGE)).iter().filter_map(|id| CASES.get(id)).collect())
    }

    /// The inbox of department (`org`, `role`): its steps still ready, among the `limit` index
    /// entries from `start`. Read policy: an account of `org` holding `role`, auditors.
    #[message(query, protected)]
    pub fn inbox(org: String, role: String, start: u32, limit: u32) -> Result<InboxPage> {
        let who = env::caller();
        ensure!(
            (env::member_of(&who).as_deref() == Some(org.as_str()) && env::has_role(&who, &role))
                || env::has_role(&who, roles::AUDITOR),
            "member {}'s {} inbox is read by its accounts with that role and auditors, not {}",
            org,
            role,
            who
        );
        let key = (org, role);
        let total = INBOX.len(&key);
        let entries = INBOX.page(&key, start, limit.min(MAX_PAGE));
        let next = start.min(total).saturating_add(entries.len() as u32);
        let mut items = Vec::new();
        for (id, step) in entries {
            let Some(c) = CASES.get(&id) else { continue };
            let Some(StepState::Ready { since, .. }) = c.steps.get(usize::from(step)) else { continue };
            if c.status != CaseStatus::Open {
                continue;
            }
            let t = template(c.template)?;
            let s = step_spec(&t, id, step)?;
            items.push(InboxItem { case: id, step, name: s.name.clone(), since: *since, due: due(*since, s) });
        }
        Ok(InboxPage { items, next, total })
    }

    /// The ready steps of case `case` past their deadline at the current block time (public,
    /// as the `Overdue` events are: steps and departments, nothing personal).
    #[message(query)]
    pub fn overdue(case: u64) -> Result<Vec<OverdueStep>> {
        let c = self::case(case)?;
        Ok(overdue_steps(&c, &template(c.template)?, env::block_time()))
    }
}
