//! The `gov_*` RPC answers: governance records at the finalised head, as JSON.
use jjj_executive::gov::{code_history, policy_of, threshold_of, Electorate};
use jjj_executive::TxError;
use jjj_primitives::gov::{Action, GovAction, ProposalBody};
use jjj_primitives::AccountId;
use jjj_rpc_api::*;
use jjj_state::gov::{
    is_frozen, keys, load_list, load_member, load_proposal, load_registration, MemberRecord, Proposal, ProposalStatus,
};
use jjj_state::{load_record, Multisig, Overlay};
use parity_scale_codec::Encode;

/// Most proposals one `gov_proposals` answer holds.
pub const MAX_PROPOSALS_PER_ANSWER: u64 = 1_000;

type R<T> = Result<T, TxError>;

fn member_json(m: MemberRecord) -> MemberJson {
    MemberJson {
        id: m.spec.id,
        name: m.spec.name,
        region: m.spec.region.as_str().into(),
        region_name: m.spec.region.chinese().into(),
        admins: m.spec.admins.iter().map(|a| a.to_string()).collect(),
        admin_threshold: m.spec.admin_threshold,
        status: format!("{:?}", m.status),
        joined_at: m.joined_at,
        penalties: m.penalties.iter().map(|(h, fine, why)| format!("{h}: {fine} fen: {why}")).collect(),
    }
}

pub fn members(o: &Overlay) -> R<Vec<MemberJson>> {
    let mut out = Vec::new();
    for id in load_list::<String>(o, &keys::member_list())? {
        if let Some(m) = load_member(o, &id)? {
            out.push(member_json(m));
        }
    }
    Ok(out)
}

pub fn account(o: &Overlay, who: &AccountId) -> R<Option<RegistrationJson>> {
    Ok(load_registration(o, who)?.map(|r| RegistrationJson {
        account: who.to_string(),
        member: r.member,
        key: r.key.to_string(),
        roles: r.roles,
        suspended: r.suspended,
        frozen: r.frozen,
        registered_at: r.registered_at,
    }))
}

/// Approvals so far and needed, under the electorate in force now.
fn tally(o: &Overlay, p: &Proposal) -> R<(u64, u64)> {
    let electorate = match &p.spec.body {
        ProposalBody::Gov(action) => {
            let mut members = Vec::new();
            for id in load_list::<String>(o, &keys::member_list())? {
                if let Some(m) = load_member(o, &id)? {
                    if m.status == jjj_state::gov::MemberStatus::Active {
                        members.push(m);
                    }
                }
            }
            Electorate::Members { members, threshold: threshold_of(o, action.kind())? }
        }
        ProposalBody::MultisigCall { account, .. } => {
            match load_record::<Multisig>(o, &jjj_state::keys::multisig(account))? {
                Some(ms) => Electorate::Multisig(ms),
                None => return Ok((0, 0)),
            }
        }
    };
    Ok((electorate.approving(&p.approvals) as u64, electorate.needed() as u64))
}

fn proposal_json(o: &Overlay, p: Proposal) -> R<ProposalJson> {
    let (approving, needed) = tally(o, &p)?;
    let (kind, action) = match &p.spec.body {
        ProposalBody::Gov(a) => (a.kind().to_string(), format!("{a:?}")),
        ProposalBody::MultisigCall { account, call, .. } => {
            ("multisig_call".to_string(), format!("{} as {account}: {call:?}", call.kind()))
        }
    };
    let (status, closed_at, failure) = match &p.status {
        ProposalStatus::Open => ("open", None, None),
        ProposalStatus::Executed { at } => ("executed", Some(*at), None),
        ProposalStatus::Failed { at, reason } => ("failed", Some(*at), Some(reason.clone())),
    };
    Ok(ProposalJson {
        id: p.id,
        hash: p.hash.to_string(),
        proposer: p.proposer.to_string(),
        kind,
        action,
        body: format!("0x{}", hex::encode(p.spec.body.encode())),
        memo: p.spec.memo.clone(),
        created_at: p.created_at,
        expires_at: p.spec.expires_at,
        approvals: p.approvals.iter().map(|a| a.to_string()).collect(),
        approving,
        needed,
        status: status.into(),
        closed_at,
        failure,
    })
}

pub fn proposal(o: &Overlay, id: u64) -> R<Option<ProposalJson>> {
    load_proposal(o, id)?.map(|p| proposal_json(o, p)).transpose()
}

pub fn proposals(o: &Overlay, before: Option<u64>, limit: Option<u64>, open_only: bool) -> R<Vec<ProposalJson>> {
    let next: u64 = load_record(o, &keys::next_proposal())?.unwrap_or(1);
    let mut id = before.unwrap_or(next).min(next);
    let limit = limit.unwrap_or(100).min(MAX_PROPOSALS_PER_ANSWER) as usize;
    let mut out = Vec::new();
    // Bounded by the limit, and by the limit's worth of closed ones when only open ones count.
    let mut scanned = 0;
    while id > 1 && out.len() < limit && scanned < 10 * MAX_PROPOSALS_PER_ANSWER {
        id -= 1;
        scanned += 1;
        if let Some(p) = load_proposal(o, id)? {
            if !open_only || p.status == ProposalStatus::Open {
                out.push(proposal_json(o, p)?);
            }
        }
    }
    Ok(out)
}

pub fn permissions(o: &Overlay) -> R<Vec<PermissionJson>> {
    let set: Vec<Action> = load_list(o, &keys::policy_list())?;
    let mut actions = vec![Action::Upload, Action::Instantiate];
    actions.extend(set.iter().filter(|a| !matches!(a, Action::Upload | Action::Instantiate)).cloned());
    actions
        .into_iter()
        .map(|a| {
            let p = policy_of(o, &a)?;
            Ok(PermissionJson { action: a.to_string(), roles: p.roles, members: p.members, set: set.contains(&a) })
        })
        .collect()
}

pub fn rules(o: &Overlay) -> R<GovRulesJson> {
    let thresholds =
        GovAction::KINDS.iter().map(|k| Ok((k.to_string(), threshold_of(o, k)?.to_string()))).collect::<R<Vec<_>>>()?;
    let mut grantable = Vec::new();
    for role in jjj_primitives::gov::roles::KNOWN {
        if o.get(&keys::grantable(role))?.is_some() {
            grantable.push(role.to_string());
        }
    }
    let block_limits = jjj_state::gov::load_block_limits(o)?.map(|l| jjj_rpc_api::BlockLimitsJson {
        max_txs: l.max_txs,
        max_bytes: l.max_bytes,
        max_gas: l.max_gas,
    });
    Ok(GovRulesJson { thresholds, member_grantable_roles: grantable, block_limits })
}

pub fn registry(o: &Overlay) -> R<Vec<RegistryEntryJson>> {
    let mut out = Vec::new();
    for name in load_list::<String>(o, &keys::name_list())? {
        if let Some(address) = load_record::<AccountId>(o, &keys::name(&name))? {
            out.push(RegistryEntryJson { name, address: address.to_string(), frozen: is_frozen(o, &address)? });
        }
    }
    Ok(out)
}

pub fn history(o: &Overlay, contract: &AccountId) -> R<Vec<CodeChangeJson>> {
    Ok(code_history(o, contract)?
        .into_iter()
        .map(|c| CodeChangeJson { height: c.height, code_hash: c.code_hash.to_string(), proposal: c.proposal })
        .collect())
}
