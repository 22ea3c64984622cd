//! The consortium layer's rules: who may send a transaction (registration), who may perform an
//! action (function permissions), the member calls (register, suspend, rotate), and proposals
//! with their approvals and governance actions.
//!
//! Where each runs in the transaction path:
//! 1. [`check_sender`] — admission, a consensus rule: the sender is registered, neither it nor
//!    its member is suspended or frozen, and the key that signed is its current key. A refusal
//!    is a [`TxError`]: the transaction never enters a block.
//! 2. [`check_permission`] — in dispatch, before any contract code runs: the action's policy
//!    (or its default) names a role the sender holds or the sender's member. A denial is a
//!    failed receipt with the reason.
//! 3. The consortium calls themselves ([`Gov::dispatch`]): their failures are failed receipts.
use crate::TxError;
use jjj_crypto::{verify, Suite};
use jjj_primitives::gov::{
    approval_payload, check_name, proposal_hash, roles, Action, Approval, GovAction, Policy, ProposalBody,
    ProposalSpec, Threshold, TrustedNetwork, MAX_APPROVALS_PER_TX, MAX_PROPOSAL_LIFETIME, MAX_ROLES_AT_REGISTRATION,
};
use jjj_primitives::{AccountId, BlockContext, Call, NetworkId, Transaction};
use jjj_state::gov::{
    is_frozen, keys as gkeys, load_list, load_member, load_policy, load_proposal, load_registration, load_threshold,
    store, CodeChange, MemberRecord, MemberStatus, Proposal, ProposalStatus, Registration,
};
use jjj_state::{keys, load_account, load_contract, load_record, store_account, ContractInfo, Multisig, Overlay};
use std::collections::BTreeSet;

/// A consortium call's failure: becomes a failed receipt with this text.
pub type Refusal = String;

/// The sender's registration, checked for admission: registered, not suspended or frozen, its
/// member active, and (for a key account) signed by its current key. Multisig accounts are
/// registered too (by whoever created them); their signers are checked against the members.
pub fn check_sender(overlay: &Overlay, sender: &AccountId, signer: Option<&AccountId>) -> Result<(), TxError> {
    let Some(reg) = load_registration(overlay, sender)? else {
        return Err(TxError::NotRegistered { account: *sender });
    };
    if reg.suspended {
        return Err(TxError::Blocked(format!("account {sender} is suspended by its member {}", reg.member)));
    }
    if reg.frozen {
        return Err(TxError::Blocked(format!("account {sender} is frozen by governance")));
    }
    match load_member(overlay, &reg.member)? {
        Some(m) if m.status == MemberStatus::Active => {}
        Some(m) => {
            return Err(TxError::Blocked(format!(
                "account {sender} belongs to member {}, which is {:?}",
                reg.member, m.status
            )))
        }
        None => return Err(TxError::Blocked(format!("account {sender} belongs to unknown member {}", reg.member))),
    }
    if let Some(signer) = signer {
        if *signer != reg.key {
            return Err(TxError::BadSignature(format!(
                "account {sender} is signed for by key {}, not {signer}",
                reg.key
            )));
        }
    }
    Ok(())
}

/// The policy in force for an action: the one governance set, or the default (upload and
/// instantiate need the deployer role; a contract method is open to every registered account).
pub fn policy_of(overlay: &Overlay, action: &Action) -> Result<Policy, TxError> {
    if let Some(p) = load_policy(overlay, action)? {
        return Ok(p);
    }
    Ok(match action {
        Action::Upload | Action::Instantiate => Policy { roles: vec![roles::DEPLOYER.into()], members: vec![] },
        Action::Method { .. } => Policy::default(),
    })
}

/// Whether `sender` may perform `action`: `Err` is the denial's reason.
pub fn check_permission(
    overlay: &Overlay,
    sender: &AccountId,
    action: &Action,
) -> Result<Result<(), Refusal>, TxError> {
    let policy = policy_of(overlay, action)?;
    if policy.roles.is_empty() && policy.members.is_empty() {
        return Ok(Ok(()));
    }
    let reg = load_registration(overlay, sender)?;
    let allowed = reg
        .as_ref()
        .is_some_and(|r| policy.roles.iter().any(|role| r.has_role(role)) || policy.members.contains(&r.member));
    if allowed {
        return Ok(Ok(()));
    }
    let who = match &reg {
        Some(r) if r.roles.is_empty() => format!("{sender} (member {}, no roles)", r.member),
        Some(r) => format!("{sender} (member {}, roles {})", r.member, r.roles.join(", ")),
        None => format!("{sender} (not registered)"),
    };
    Ok(Err(format!("permission denied: {action} needs {policy}; {who} has neither")))
}

/// The action a call performs, for its permission check.
pub fn action_of(call: &Call) -> Option<Action> {
    match call {
        Call::UploadCode { .. } => Some(Action::Upload),
        Call::Instantiate { .. } => Some(Action::Instantiate),
        Call::Call { contract, input, .. } => {
            let mut selector = [0u8; 4];
            let n = input.len().min(4);
            selector[..n].copy_from_slice(&input[..n]);
            Some(Action::Method { contract: *contract, selector })
        }
        _ => None,
    }
}

/// The members that may approve a governance proposal: the active ones.
fn active_members(overlay: &Overlay) -> Result<Vec<MemberRecord>, TxError> {
    let mut out = Vec::new();
    for id in load_list::<String>(overlay, &gkeys::member_list())? {
        if let Some(m) = load_member(overlay, &id)? {
            if m.status == MemberStatus::Active {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// Whether `who` acts for member `member`: one of its admin keys, or an account of it that
/// holds `role` (member-admin, registrar).
fn acts_for(overlay: &Overlay, who: &AccountId, member: &MemberRecord, role: &str) -> Result<bool, TxError> {
    if member.spec.admins.contains(who) {
        return Ok(true);
    }
    Ok(load_registration(overlay, who)?
        .is_some_and(|r| r.member == member.spec.id && (r.has_role(role) || r.has_role(roles::MEMBER_ADMIN))))
}

fn active_member(overlay: &Overlay, id: &str) -> Result<Result<MemberRecord, Refusal>, TxError> {
    Ok(match load_member(overlay, id)? {
        Some(m) if m.status == MemberStatus::Active => Ok(m),
        Some(m) => Err(format!("member {id} is {:?}", m.status)),
        None => Err(format!("no member {id}")),
    })
}

/// Registers a key as an account of a member (genesis and `RegisterAccount`).
pub fn register(overlay: &mut Overlay, account: &AccountId, member: &str, roles: Vec<String>, height: u64) {
    let reg = Registration {
        member: member.into(),
        key: *account,
        roles,
        suspended: false,
        frozen: false,
        registered_at: height,
    };
    store(overlay, gkeys::registration(account), &reg);
}

/// Adds a member and registers its admin keys as its accounts with the member-admin role.
pub fn add_member(
    overlay: &mut Overlay,
    spec: jjj_primitives::gov::MemberSpec,
    height: u64,
) -> Result<Result<(), Refusal>, TxError> {
    if let Err(e) = spec.check() {
        return Ok(Err(e));
    }
    if load_member(overlay, &spec.id)?.is_some() {
        return Ok(Err(format!("member {} exists already", spec.id)));
    }
    for admin in &spec.admins {
        match load_registration(overlay, admin)? {
            Some(r) if r.member != spec.id => {
                return Ok(Err(format!("admin key {admin} is already an account of member {}", r.member)))
            }
            Some(_) => {}
            None => register(overlay, admin, &spec.id, vec![roles::MEMBER_ADMIN.into()], height),
        }
    }
    let mut list: Vec<String> = load_list(overlay, &gkeys::member_list())?;
    list.push(spec.id.clone());
    store(overlay, gkeys::member_list(), &list);
    let id = spec.id.clone();
    store(
        overlay,
        gkeys::member(&id),
        &MemberRecord { spec, status: MemberStatus::Active, joined_at: height, penalties: vec![] },
    );
    Ok(Ok(()))
}

/// The threshold of a governance action kind: set by genesis or proposal, MAJORITY otherwise.
pub fn threshold_of(overlay: &Overlay, kind: &str) -> Result<Threshold, TxError> {
    Ok(load_threshold(overlay, kind)?.unwrap_or(Threshold::Majority))
}

/// The consortium calls, run by `Runtime::dispatch`. Each returns the receipt's output or the
/// refusal that fails it.
pub struct Gov<'a> {
    pub overlay: &'a mut Overlay,
    pub ctx: &'a BlockContext,
    pub tx: &'a Transaction,
    /// The network's suite: approvals are verified with its scheme, proposals hashed with its hash.
    pub suite: Suite,
}

impl Gov<'_> {
    pub fn register_account(
        &mut self,
        account: &AccountId,
        member: &str,
        given: &[String],
    ) -> Result<Result<Vec<u8>, Refusal>, TxError> {
        let m = match active_member(self.overlay, member)? {
            Ok(m) => m,
            Err(e) => return Ok(Err(e)),
        };
        if !acts_for(self.overlay, &self.tx.sender, &m, roles::REGISTRAR)? {
            return Ok(Err(format!("{} is not a registrar or admin of member {member}", self.tx.sender)));
        }
        if let Some(r) = load_registration(self.overlay, account)? {
            return Ok(Err(format!("{account} is already registered by member {}", r.member)));
        }
        if given.len() > MAX_ROLES_AT_REGISTRATION {
            return Ok(Err(format!("at most {MAX_ROLES_AT_REGISTRATION} roles at registration")));
        }
        for role in given {
            if let Err(e) = check_name("role", role) {
                return Ok(Err(e));
            }
            if self.overlay.get(&gkeys::grantable(role))?.is_none() {
                return Ok(Err(format!(
                    "a member may not give role {role} to its own accounts: it is granted by proposal (grant_role)"
                )));
            }
        }
        let mut roles: Vec<String> = given.to_vec();
        roles.sort();
        roles.dedup();
        register(self.overlay, account, member, roles, self.ctx.height);
        Ok(Ok(vec![]))
    }

    pub fn set_suspended(&mut self, account: &AccountId, suspended: bool) -> Result<Result<Vec<u8>, Refusal>, TxError> {
        let Some(mut reg) = load_registration(self.overlay, account)? else {
            return Ok(Err(format!("{account} is not registered")));
        };
        let Some(m) = load_member(self.overlay, &reg.member)? else {
            return Ok(Err(format!("unknown member {}", reg.member)));
        };
        if !acts_for(self.overlay, &self.tx.sender, &m, roles::REGISTRAR)? {
            return Ok(Err(format!("{} is not a registrar or admin of member {}", self.tx.sender, reg.member)));
        }
        reg.suspended = suspended;
        store(self.overlay, gkeys::registration(account), &reg);
        Ok(Ok(vec![]))
    }

    pub fn rotate_key(
        &mut self,
        account: &AccountId,
        new_key: &AccountId,
    ) -> Result<Result<Vec<u8>, Refusal>, TxError> {
        let Some(mut reg) = load_registration(self.overlay, account)? else {
            return Ok(Err(format!("{account} is not registered")));
        };
        if self.tx.sender != *account {
            let Some(m) = load_member(self.overlay, &reg.member)? else {
                return Ok(Err(format!("unknown member {}", reg.member)));
            };
            if !acts_for(self.overlay, &self.tx.sender, &m, roles::MEMBER_ADMIN)? {
                return Ok(Err(format!(
                    "only {account} itself or an admin of member {} may rotate its key",
                    reg.member
                )));
            }
        }
        if self.overlay.get(&keys::multisig(account))?.is_some() {
            return Ok(Err("a multisig account has no key of its own: create a new multisig".into()));
        }
        reg.key = *new_key;
        store(self.overlay, gkeys::registration(account), &reg);
        Ok(Ok(vec![]))
    }

    /// Who may approve a proposal: (approver keys, how approvals count).
    fn electorate(&self, body: &ProposalBody) -> Result<Result<Electorate, Refusal>, TxError> {
        match body {
            ProposalBody::Gov(action) => Ok(Ok(Electorate::Members {
                members: active_members(self.overlay)?,
                threshold: threshold_of(self.overlay, action.kind())?,
            })),
            ProposalBody::MultisigCall { account, .. } => {
                let key = keys::multisig(account);
                let Some(ms) = load_record::<Multisig>(self.overlay, &key)? else {
                    return Ok(Err(format!("{account} is not a multisig account")));
                };
                Ok(Ok(Electorate::Multisig(ms)))
            }
        }
    }

    /// Opens a proposal with the proposer's approval and any gathered off chain; the caller
    /// executes it when [`Electorate::reached`] and stores it.
    pub fn propose(
        &mut self,
        spec: &ProposalSpec,
        approvals: &[Approval],
    ) -> Result<Result<(Proposal, Electorate), Refusal>, TxError> {
        let height = self.ctx.height;
        if spec.expires_at < height || spec.expires_at > height.saturating_add(MAX_PROPOSAL_LIFETIME) {
            return Ok(Err(format!(
                "a proposal expires between this height ({height}) and {MAX_PROPOSAL_LIFETIME} blocks later, not at {}",
                spec.expires_at
            )));
        }
        if spec.memo.len() > 1024 {
            return Ok(Err("a proposal's memo has at most 1024 bytes".into()));
        }
        if let Err(e) = self.precheck(&spec.body)? {
            return Ok(Err(e));
        }
        let electorate = match self.electorate(&spec.body)? {
            Ok(e) => e,
            Err(e) => return Ok(Err(e)),
        };
        if !electorate.may_approve(&self.tx.sender) {
            return Ok(Err(format!("{} may not propose this: only those who may approve it can", self.tx.sender)));
        }
        let id: u64 = load_record(self.overlay, &gkeys::next_proposal())?.unwrap_or(1);
        store(self.overlay, gkeys::next_proposal(), &(id + 1));
        let hash = proposal_hash(self.suite.hash_algo(), &self.ctx.network, &self.tx.sender, self.tx.nonce, spec);
        let mut proposal = Proposal {
            id,
            hash,
            proposer: self.tx.sender,
            spec: spec.clone(),
            created_at: height,
            approvals: vec![self.tx.sender],
            status: ProposalStatus::Open,
        };
        if let Err(e) = add_approvals(&mut proposal, &electorate, approvals, self.suite) {
            return Ok(Err(e));
        }
        Ok(Ok((proposal, electorate)))
    }

    /// Adds the sender's approval (when it may give one) and any gathered off chain.
    pub fn approve(
        &mut self,
        id: u64,
        approvals: &[Approval],
    ) -> Result<Result<(Proposal, Electorate), Refusal>, TxError> {
        let Some(mut proposal) = load_proposal(self.overlay, id)? else {
            return Ok(Err(format!("no proposal {id}")));
        };
        if proposal.status != ProposalStatus::Open {
            return Ok(Err(format!("proposal {id} is closed: {:?}", proposal.status)));
        }
        if self.ctx.height > proposal.spec.expires_at {
            return Ok(Err(format!("proposal {id} expired at height {}", proposal.spec.expires_at)));
        }
        let electorate = match self.electorate(&proposal.spec.body)? {
            Ok(e) => e,
            Err(e) => return Ok(Err(e)),
        };
        let sender = self.tx.sender;
        if electorate.may_approve(&sender) {
            if proposal.approvals.contains(&sender) {
                return Ok(Err(format!("{sender} has already approved proposal {id}")));
            }
            proposal.approvals.push(sender);
        } else if approvals.is_empty() {
            return Ok(Err(format!("{sender} may not approve proposal {id}")));
        }
        if let Err(e) = add_approvals(&mut proposal, &electorate, approvals, self.suite) {
            return Ok(Err(e));
        }
        Ok(Ok((proposal, electorate)))
    }

    /// What can be known wrong before any approval: malformed names, unknown targets, an
    /// upgrade whose storage layout the new code cannot read.
    fn precheck(&self, body: &ProposalBody) -> Result<Result<(), Refusal>, TxError> {
        let ProposalBody::Gov(action) = body else {
            let ProposalBody::MultisigCall { call, .. } = body else { return Ok(Ok(())) };
            return Ok(match **call {
                Call::Transfer { .. } | Call::UploadCode { .. } | Call::Instantiate { .. } | Call::Call { .. } => {
                    Ok(())
                }
                _ => Err("a multisig proposal sends a transfer, upload, instantiate or contract call".into()),
            });
        };
        let name_ok = |what: &str, n: &str| check_name(what, n);
        Ok(match action {
            GovAction::AddMember(spec) => spec.check(),
            GovAction::SuspendMember { member }
            | GovAction::ResumeMember { member }
            | GovAction::RemoveMember { member } => name_ok("member id", member),
            GovAction::GrantRole { role, .. } | GovAction::RevokeRole { role, .. } => name_ok("role", role),
            GovAction::SetMemberGrantable { role, .. } => name_ok("role", role),
            GovAction::SetPermission { policy, .. } => policy.as_ref().map_or(Ok(()), |p| p.check()),
            GovAction::RegisterName { name, .. } => name_ok("registry name", name),
            GovAction::SetThreshold { kind, threshold } => {
                if !GovAction::KINDS.contains(&kind.as_str()) {
                    Err(format!("unknown action kind {kind}: one of {}", GovAction::KINDS.join(", ")))
                } else if *threshold == Threshold::AtLeast(0) {
                    Err("a threshold of 0 approvals".into())
                } else {
                    Ok(())
                }
            }
            GovAction::UpgradeContract { contract, code_hash } => self.check_upgrade(contract, code_hash)?,
            GovAction::SetBlockLimits(limits) => limits.check(),
            GovAction::SetValidators { validators, from_height } => {
                check_validator_change(validators, *from_height, self.ctx.height)
            }
            GovAction::TrustNetwork { network, scheme, validators } => {
                check_trusted_network(network, *scheme, validators, &self.ctx.network)
            }
            GovAction::Penalise { reason, .. } if reason.len() > 1024 => {
                Err("a penalty's reason has at most 1024 bytes".into())
            }
            _ => Ok(()),
        })
    }

    fn check_upgrade(
        &self,
        contract: &AccountId,
        code_hash: &jjj_primitives::Hash,
    ) -> Result<Result<(), Refusal>, TxError> {
        let Some(info) = load_contract(self.overlay, contract)? else {
            return Ok(Err(format!("no contract at {contract}")));
        };
        if self.overlay.get(&keys::code_info(code_hash))?.is_none() {
            return Ok(Err(format!("no code with hash {code_hash}: upload it first")));
        }
        if info.code_hash == *code_hash {
            return Ok(Err(format!("{contract} already runs code {code_hash}")));
        }
        crate::layout::check_upgrade(self.overlay, &info.code_hash, code_hash)
    }

    /// Performs a governance action whose proposal reached its threshold. On `Err` the caller
    /// reverts whatever it wrote.
    pub fn execute_gov(&mut self, proposal: u64, action: &GovAction) -> Result<Result<(), Refusal>, TxError> {
        let height = self.ctx.height;
        let o = &mut *self.overlay;
        macro_rules! refuse {
            ($($t:tt)*) => { return Ok(Err(format!($($t)*))) };
        }
        match action {
            GovAction::AddMember(spec) => return add_member(o, spec.clone(), height),
            GovAction::SuspendMember { member }
            | GovAction::ResumeMember { member }
            | GovAction::RemoveMember { member } => {
                let Some(mut m) = load_member(o, member)? else { refuse!("no member {member}") };
                if m.status == MemberStatus::Removed {
                    refuse!("member {member} was removed");
                }
                m.status = match action {
                    GovAction::ResumeMember { .. } => MemberStatus::Active,
                    GovAction::SuspendMember { .. } => MemberStatus::Suspended,
                    _ => MemberStatus::Removed,
                };
                if m.status != MemberStatus::Active && active_members(o)?.len() <= 1 {
                    refuse!("member {member} is the last active member: the alliance would have no one to govern it");
                }
                store(o, gkeys::member(member), &m);
            }
            GovAction::GrantRole { account, role } | GovAction::RevokeRole { account, role } => {
                let Some(mut reg) = load_registration(o, account)? else { refuse!("{account} is not registered") };
                if matches!(action, GovAction::GrantRole { .. }) {
                    if reg.has_role(role) {
                        refuse!("{account} already has role {role}");
                    }
                    if reg.roles.len() >= 32 {
                        refuse!("{account} has 32 roles already");
                    }
                    reg.roles.push(role.clone());
                    reg.roles.sort();
                } else {
                    if !reg.has_role(role) {
                        refuse!("{account} does not have role {role}");
                    }
                    reg.roles.retain(|r| r != role);
                }
                store(o, gkeys::registration(account), &reg);
            }
            GovAction::SetPermission { action, policy } => {
                let mut list: Vec<Action> = load_list(o, &gkeys::policy_list())?;
                list.retain(|a| a != action);
                match policy {
                    Some(p) => {
                        store(o, gkeys::policy(action), p);
                        list.push(action.clone());
                    }
                    None => o.remove(gkeys::policy(action)),
                }
                store(o, gkeys::policy_list(), &list);
            }
            GovAction::RegisterName { name, address } => {
                let mut list: Vec<String> = load_list(o, &gkeys::name_list())?;
                list.retain(|n| n != name);
                match address {
                    Some(a) => {
                        if load_contract(o, a)?.is_none() {
                            refuse!("no contract at {a}");
                        }
                        store(o, gkeys::name(name), a);
                        list.push(name.clone());
                    }
                    None => o.remove(gkeys::name(name)),
                }
                store(o, gkeys::name_list(), &list);
            }
            GovAction::Freeze { target } | GovAction::Unfreeze { target } => {
                let freeze = matches!(action, GovAction::Freeze { .. });
                if load_contract(o, target)?.is_some() {
                    if freeze {
                        o.set(gkeys::frozen(target), vec![1]);
                    } else {
                        o.remove(gkeys::frozen(target));
                    }
                } else if let Some(mut reg) = load_registration(o, target)? {
                    reg.frozen = freeze;
                    store(o, gkeys::registration(target), &reg);
                } else {
                    refuse!("{target} is neither a contract nor a registered account");
                }
            }
            GovAction::UpgradeContract { contract, code_hash } => {
                let Some(mut info) = load_contract(o, contract)? else { refuse!("no contract at {contract}") };
                if let Err(e) = crate::layout::check_upgrade(o, &info.code_hash, code_hash)? {
                    refuse!("{e}");
                }
                // The history first: without a record yet, its first entry is read from the
                // contract's current (instantiation) code.
                let mut history = code_history(o, contract)?;
                info.code_hash = *code_hash;
                store::<ContractInfo>(o, keys::contract(contract), &info);
                history.push(CodeChange { height, code_hash: *code_hash, proposal });
                store(o, gkeys::code_history(contract), &history);
            }
            GovAction::Issue { to, amount } => {
                let is_bank = load_registration(o, to)?.is_some_and(|r| r.has_role(roles::BANK));
                if !is_bank {
                    refuse!("settlement money is issued only to an account with role bank; {to} has not");
                }
                let mut a = load_account(o, to)?;
                let Some(b) = a.balance.checked_add(*amount) else { refuse!("the balance would overflow") };
                a.balance = b;
                store_account(o, to, &a);
            }
            GovAction::Retire { from, amount } => {
                let mut a = load_account(o, from)?;
                let Some(b) = a.balance.checked_sub(*amount) else {
                    refuse!("{from} holds {} fen, fewer than the {amount} to retire", a.balance)
                };
                a.balance = b;
                store_account(o, from, &a);
            }
            GovAction::Penalise { member, fine_from, fine, suspend, reason } => {
                let Some(mut m) = load_member(o, member)? else { refuse!("no member {member}") };
                if *fine > 0 {
                    let Some(from) = fine_from else { refuse!("a fine names the member's account it is taken from") };
                    if load_registration(o, from)?.is_none_or(|r| r.member != *member) {
                        refuse!("{from} is not an account of member {member}");
                    }
                    let mut a = load_account(o, from)?;
                    let Some(b) = a.balance.checked_sub(*fine) else {
                        refuse!("{from} holds {} fen, less than the fine of {fine}", a.balance)
                    };
                    a.balance = b;
                    store_account(o, from, &a);
                }
                if *suspend {
                    if active_members(o)?.len() <= 1 && m.status == MemberStatus::Active {
                        refuse!("member {member} is the last active member");
                    }
                    m.status = MemberStatus::Suspended;
                }
                m.penalties.push((height, *fine, reason.clone()));
                store(o, gkeys::member(member), &m);
            }
            GovAction::SetThreshold { kind, threshold } => store(o, gkeys::threshold(kind), threshold),
            GovAction::SetMemberGrantable { role, grantable } => {
                if *grantable {
                    o.set(gkeys::grantable(role), vec![1]);
                } else {
                    o.remove(gkeys::grantable(role));
                }
            }
            GovAction::SetBlockLimits(limits) => {
                if let Err(e) = limits.check() {
                    refuse!("{e}");
                }
                store(o, gkeys::block_limits(), limits);
            }
            GovAction::SetValidators { validators, from_height } => {
                if let Err(e) = check_validator_change(validators, *from_height, height) {
                    refuse!("{e}");
                }
                // A later decision replaces what was scheduled from the same height on.
                let mut schedule = jjj_state::gov::load_validator_schedule(o)?;
                schedule.retain(|(h, _)| h < from_height);
                schedule.push((*from_height, validators.clone()));
                store(o, gkeys::validator_schedule(), &schedule);
            }
            GovAction::TrustNetwork { network, scheme, validators } => {
                if let Err(e) = check_trusted_network(network, *scheme, validators, &self.ctx.network) {
                    refuse!("{e}");
                }
                let key = gkeys::trusted_network(network.as_str());
                if validators.is_empty() {
                    o.remove(key);
                } else {
                    let record = TrustedNetwork { scheme: *scheme, validators: validators.clone(), since: height };
                    store(o, key, &record);
                }
            }
        }
        Ok(Ok(()))
    }
}

/// A trusted network is another network, of a known scheme, with at most `MAX_VALIDATORS`
/// distinct validators (none: forget it).
fn check_trusted_network(
    network: &NetworkId,
    scheme: u8,
    validators: &[AccountId],
    own: &NetworkId,
) -> Result<(), Refusal> {
    use jjj_primitives::params::MAX_VALIDATORS;
    if network == own {
        return Err(format!("{own} is this network: it trusts its own validators already"));
    }
    if jjj_crypto::Scheme::from_code(scheme).is_none() {
        return Err(format!("unknown signature scheme code {scheme}"));
    }
    if validators.len() > MAX_VALIDATORS {
        return Err(format!("a validator set has at most {MAX_VALIDATORS} validators, not {}", validators.len()));
    }
    let distinct: std::collections::BTreeSet<_> = validators.iter().collect();
    if distinct.len() != validators.len() {
        return Err("a validator set lists a validator twice".into());
    }
    Ok(())
}

/// A validator set change is 1 to `MAX_VALIDATORS` distinct keys, from a height at least
/// `VALIDATOR_CHANGE_DELAY` above the one executing it.
fn check_validator_change(validators: &[AccountId], from_height: u64, height: u64) -> Result<(), Refusal> {
    use jjj_primitives::params::{MAX_VALIDATORS, VALIDATOR_CHANGE_DELAY};
    if validators.is_empty() || validators.len() > MAX_VALIDATORS {
        return Err(format!("a validator set has 1 to {MAX_VALIDATORS} validators, not {}", validators.len()));
    }
    let distinct: std::collections::BTreeSet<_> = validators.iter().collect();
    if distinct.len() != validators.len() {
        return Err("a validator set lists a validator twice".into());
    }
    let earliest = height.saturating_add(VALIDATOR_CHANGE_DELAY);
    if from_height < earliest {
        return Err(format!(
            "a validator set change executed at height {height} takes effect at {earliest} at the earliest, \
             not {from_height}"
        ));
    }
    Ok(())
}

/// The validators deciding `height`: the set governance scheduled last at or below it, else
/// the genesis set. `overlay` is a state at or after the block that executed the change (any
/// state at or after height − `VALIDATOR_CHANGE_DELAY` has it).
pub fn validators_at(genesis: &[AccountId], overlay: &Overlay, height: u64) -> Result<Vec<AccountId>, TxError> {
    let schedule = jjj_state::gov::load_validator_schedule(overlay)?;
    Ok(scheduled_at(&schedule, height).map_or_else(|| genesis.to_vec(), <[AccountId]>::to_vec))
}

pub use jjj_state::gov::scheduled_at;

/// A contract's code history: what it was instantiated with, then each upgrade.
pub fn code_history(overlay: &Overlay, contract: &AccountId) -> Result<Vec<CodeChange>, TxError> {
    if let Some(h) = load_record(overlay, &gkeys::code_history(contract))? {
        return Ok(h);
    }
    Ok(match load_contract(overlay, contract)? {
        Some(info) => vec![CodeChange { height: info.instantiated_at, code_hash: info.code_hash, proposal: 0 }],
        None => vec![],
    })
}

/// Who approves a proposal and how many approvals it takes.
pub enum Electorate {
    /// Governance: each active member counts once its admin threshold of admins approved; the
    /// action kind's threshold counts members.
    Members { members: Vec<MemberRecord>, threshold: Threshold },
    /// A multisig account's call: its members, its threshold.
    Multisig(Multisig),
}

impl Electorate {
    pub fn may_approve(&self, key: &AccountId) -> bool {
        match self {
            Electorate::Members { members, .. } => members.iter().any(|m| m.spec.admins.contains(key)),
            Electorate::Multisig(ms) => ms.members.contains(key),
        }
    }

    /// Members (or multisig members) whose approval is complete.
    pub fn approving(&self, approvals: &[AccountId]) -> usize {
        match self {
            Electorate::Members { members, .. } => members
                .iter()
                .filter(|m| {
                    let n = m.spec.admins.iter().filter(|a| approvals.contains(a)).count();
                    n >= m.spec.admin_threshold as usize
                })
                .count(),
            Electorate::Multisig(ms) => ms.members.iter().filter(|a| approvals.contains(a)).count(),
        }
    }

    pub fn needed(&self) -> usize {
        match self {
            Electorate::Members { members, threshold } => threshold.needed(members.len()),
            Electorate::Multisig(ms) => ms.threshold as usize,
        }
    }

    pub fn reached(&self, approvals: &[AccountId]) -> bool {
        self.approving(approvals) >= self.needed()
    }
}

/// Verifies approvals gathered off chain and adds them: each must be a valid signature over the
/// proposal's hash by a key that may approve it and has not yet.
fn add_approvals(
    proposal: &mut Proposal,
    electorate: &Electorate,
    approvals: &[Approval],
    suite: Suite,
) -> Result<(), Refusal> {
    if approvals.len() > MAX_APPROVALS_PER_TX {
        return Err(format!("at most {MAX_APPROVALS_PER_TX} approvals per transaction"));
    }
    let payload = approval_payload(&proposal.hash);
    let mut seen: BTreeSet<AccountId> = proposal.approvals.iter().copied().collect();
    for a in approvals {
        if !electorate.may_approve(&a.signer) {
            return Err(format!("{} may not approve proposal {}", a.signer, proposal.id));
        }
        if !seen.insert(a.signer) {
            return Err(format!("{} approved proposal {} already", a.signer, proposal.id));
        }
        if !verify(suite.scheme(), &a.signer, &payload, &a.signature) {
            return Err(format!("the approval of {} does not verify for proposal {}", a.signer, proposal.id));
        }
        proposal.approvals.push(a.signer);
    }
    Ok(())
}

/// Whether a contract is frozen (calls to it fail).
pub fn contract_frozen(overlay: &Overlay, contract: &AccountId) -> Result<bool, TxError> {
    Ok(is_frozen(overlay, contract)?)
}
