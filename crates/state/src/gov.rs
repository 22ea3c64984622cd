//! Governance records: members, account registrations, policies, thresholds, the registry of
//! official contract names, frozen contracts, proposals and code history.
//!
//! | key | value |
//! |---|---|
//! | `G ++ member id` | [`MemberRecord`] |
//! | `g` | every member id ([`Vec<String>`], in order of admission) |
//! | `R ++ account` | [`Registration`] (member, current key, roles, suspended/frozen) |
//! | `P ++ SCALE(action)` | [`Policy`] of an [`Action`] |
//! | `p` | every action with a policy ([`Vec<Action>`]) |
//! | `T ++ kind` | [`Threshold`] of a governance action kind |
//! | `W ++ role` | present when a member's admins may give the role to their own accounts |
//! | `N ++ name` | official contract address (`AccountId`) |
//! | `n` | every registered name ([`Vec<String>`]) |
//! | `Z ++ contract` | present while the contract is frozen |
//! | `Q ++ id (u64 BE)` | [`Proposal`] |
//! | `q` | the next proposal id (u64) |
//! | `H ++ contract` | the contract's code history ([`Vec<CodeChange>`]) |
//! | `L` | the block limits governance set ([`BlockLimitsSpec`]; absent: the genesis values) |
//! | `V` | the validator sets governance scheduled: `(from height, validators)`, ascending |
//! | `Y` ++ network | the light-client record of a trusted network: scheme, validators, since |
use crate::{load_record as load, Overlay, StateError};
use jjj_primitives::gov::{Action, BlockLimitsSpec, MemberSpec, Policy, ProposalSpec, Threshold};
use jjj_primitives::{AccountId, Hash};
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode};

pub mod keys {
    use super::*;

    pub const MEMBER: u8 = b'G';
    pub const MEMBER_LIST: u8 = b'g';
    pub const REGISTRATION: u8 = b'R';
    pub const POLICY: u8 = b'P';
    pub const POLICY_LIST: u8 = b'p';
    pub const THRESHOLD: u8 = b'T';
    pub const GRANTABLE: u8 = b'W';
    pub const NAME: u8 = b'N';
    pub const NAME_LIST: u8 = b'n';
    pub const FROZEN: u8 = b'Z';
    pub const PROPOSAL: u8 = b'Q';
    pub const NEXT_PROPOSAL: u8 = b'q';
    pub const CODE_HISTORY: u8 = b'H';
    pub const BLOCK_LIMITS: u8 = b'L';
    pub const VALIDATOR_SCHEDULE: u8 = b'V';
    pub const TRUSTED_NETWORK: u8 = b'Y';

    fn tagged(tag: u8, rest: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(1 + rest.len());
        k.push(tag);
        k.extend_from_slice(rest);
        k
    }
    pub fn member(id: &str) -> Vec<u8> {
        tagged(MEMBER, id.as_bytes())
    }
    pub fn member_list() -> Vec<u8> {
        vec![MEMBER_LIST]
    }
    pub fn registration(a: &AccountId) -> Vec<u8> {
        tagged(REGISTRATION, &a.0)
    }
    pub fn policy(action: &Action) -> Vec<u8> {
        tagged(POLICY, &action.encode())
    }
    pub fn policy_list() -> Vec<u8> {
        vec![POLICY_LIST]
    }
    pub fn threshold(kind: &str) -> Vec<u8> {
        tagged(THRESHOLD, kind.as_bytes())
    }
    pub fn grantable(role: &str) -> Vec<u8> {
        tagged(GRANTABLE, role.as_bytes())
    }
    pub fn name(name: &str) -> Vec<u8> {
        tagged(NAME, name.as_bytes())
    }
    pub fn name_list() -> Vec<u8> {
        vec![NAME_LIST]
    }
    pub fn frozen(a: &AccountId) -> Vec<u8> {
        tagged(FROZEN, &a.0)
    }
    pub fn proposal(id: u64) -> Vec<u8> {
        tagged(PROPOSAL, &id.to_be_bytes())
    }
    pub fn next_proposal() -> Vec<u8> {
        vec![NEXT_PROPOSAL]
    }
    /// The block limits governance set (absent: the genesis values).
    pub fn block_limits() -> Vec<u8> {
        tagged(BLOCK_LIMITS, &[])
    }
    /// The validator sets governance scheduled (absent: the genesis set throughout).
    pub fn validator_schedule() -> Vec<u8> {
        tagged(VALIDATOR_SCHEDULE, &[])
    }
    /// The light-client record of another network (`jjj_primitives::gov::TrustedNetwork`).
    pub fn trusted_network(network: &str) -> Vec<u8> {
        tagged(TRUSTED_NETWORK, network.as_bytes())
    }
    pub fn code_history(a: &AccountId) -> Vec<u8> {
        tagged(CODE_HISTORY, &a.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub enum MemberStatus {
    Active,
    Suspended,
    Removed,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct MemberRecord {
    pub spec: MemberSpec,
    pub status: MemberStatus,
    /// Height it joined (0: in the genesis).
    pub joined_at: u64,
    /// Penalties: (height, fine in fen, reason).
    pub penalties: Vec<(u64, u64, String)>,
}

/// A registered account: who vouches for it, which key signs for it now, what it may do.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Registration {
    pub member: String,
    /// The key that signs its transactions (the account id itself until a rotation).
    pub key: AccountId,
    pub roles: Vec<String>,
    /// By its member.
    pub suspended: bool,
    /// By governance.
    pub frozen: bool,
    pub registered_at: u64,
}

impl Registration {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// How a proposal stands.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub enum ProposalStatus {
    Open,
    /// Executed at this height.
    Executed {
        at: u64,
    },
    /// Its threshold was reached but the action failed (the reason); nothing changed.
    Failed {
        at: u64,
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Proposal {
    pub id: u64,
    /// What approvals sign ([`jjj_primitives::gov::proposal_hash`]).
    pub hash: Hash,
    pub proposer: AccountId,
    pub spec: ProposalSpec,
    pub created_at: u64,
    /// Keys that approved, in order.
    pub approvals: Vec<AccountId>,
    pub status: ProposalStatus,
}

/// One entry of a contract's code history.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct CodeChange {
    pub height: u64,
    pub code_hash: Hash,
    /// The proposal that changed it (0: instantiation).
    pub proposal: u64,
}

pub fn store<T: Encode>(overlay: &mut Overlay, key: Vec<u8>, value: &T) {
    overlay.set(key, value.encode());
}

pub fn load_member(overlay: &Overlay, id: &str) -> Result<Option<MemberRecord>, StateError> {
    load(overlay, &keys::member(id))
}

pub fn load_registration(overlay: &Overlay, account: &AccountId) -> Result<Option<Registration>, StateError> {
    load(overlay, &keys::registration(account))
}

pub fn load_policy(overlay: &Overlay, action: &Action) -> Result<Option<Policy>, StateError> {
    load(overlay, &keys::policy(action))
}

/// `(from height, validators)` of every validator set governance scheduled, ascending.
pub fn load_validator_schedule(overlay: &Overlay) -> Result<Vec<(u64, Vec<AccountId>)>, StateError> {
    Ok(load(overlay, &keys::validator_schedule())?.unwrap_or_default())
}

pub fn load_block_limits(overlay: &Overlay) -> Result<Option<BlockLimitsSpec>, StateError> {
    load(overlay, &keys::block_limits())
}

pub fn load_threshold(overlay: &Overlay, kind: &str) -> Result<Option<Threshold>, StateError> {
    load(overlay, &keys::threshold(kind))
}

pub fn load_proposal(overlay: &Overlay, id: u64) -> Result<Option<Proposal>, StateError> {
    load(overlay, &keys::proposal(id))
}

/// A list record (`g`, `p`, `n`); empty when absent.
pub fn load_list<T: Decode>(overlay: &Overlay, key: &[u8]) -> Result<Vec<T>, StateError> {
    Ok(load(overlay, key)?.unwrap_or_default())
}

pub fn is_frozen(overlay: &Overlay, contract: &AccountId) -> Result<bool, StateError> {
    Ok(overlay.get(&keys::frozen(contract))?.is_some())
}

/// The entry of an ascending `(from height, set)` schedule in force at `height`, if any (none:
/// the genesis set). The one lookup for whoever holds the schedule (a node keeps it cached, a
/// light client follows it through proofs).
pub fn scheduled_at<T: AsRef<[AccountId]>>(schedule: &[(u64, T)], height: u64) -> Option<&[AccountId]> {
    schedule.iter().rev().find(|(h, _)| *h <= height).map(|(_, set)| set.as_ref())
}
