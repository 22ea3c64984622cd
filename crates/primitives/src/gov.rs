//! The consortium layer's types: member organisations, roles, function permissions and
//! proposals — what transactions carry and what governance records hold. The rules that use
//! them live in `jjj_executive::gov`.
use crate::{AccountId, Call, Hash, NetworkId, Signature};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode};

/// Longest member id, role name or registry name, in bytes.
pub const MAX_NAME_LEN: usize = 48;
/// Longest display name of a member (UTF-8 bytes: Chinese names take three per character).
pub const MAX_DISPLAY_NAME_LEN: usize = 128;
/// Most admin keys of one member.
pub const MAX_MEMBER_ADMINS: usize = 16;
/// Most roles or members one policy names.
pub const MAX_POLICY_ENTRIES: usize = 32;
/// Most roles given to an account when it is registered.
pub const MAX_ROLES_AT_REGISTRATION: usize = 8;
/// Most approvals one transaction may carry.
pub const MAX_APPROVALS_PER_TX: usize = 64;
/// Furthest ahead a proposal may expire, in blocks.
pub const MAX_PROPOSAL_LIFETIME: u64 = 1_000_000;

/// The roles the chain itself consults (defined in the ABI, so contracts name them the same way).
pub use jjj_abi::roles;

/// Checks a member id, role name or registry name: 1 to [`MAX_NAME_LEN`] bytes of lowercase
/// ASCII letters, digits and '-'. Machine names stay ASCII so they compare byte for byte; the
/// member's display name carries the Chinese.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!("a {what} has 1 to {MAX_NAME_LEN} characters, got {}", name.len()));
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(format!("{what} {name:?} may only hold lowercase ASCII letters, digits and '-'"));
    }
    Ok(())
}

/// The region a member belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode, DecodeWithMemTracking)]
pub enum Region {
    /// 京
    Beijing,
    /// 津
    Tianjin,
    /// 冀
    Hebei,
}

// The codes contracts see through `member_region` are this enum's order.
const _: () = assert!(
    Region::Beijing as u8 == jjj_abi::regions::BEIJING
        && Region::Tianjin as u8 == jjj_abi::regions::TIANJIN
        && Region::Hebei as u8 == jjj_abi::regions::HEBEI
);

impl Region {
    pub const ALL: [Region; 3] = [Region::Beijing, Region::Tianjin, Region::Hebei];
    /// The one-character name used across the region: 京, 津, 冀.
    pub fn chinese(self) -> &'static str {
        match self {
            Region::Beijing => "京",
            Region::Tianjin => "津",
            Region::Hebei => "冀",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Beijing => "beijing",
            Region::Tianjin => "tianjin",
            Region::Hebei => "hebei",
        }
    }
    /// Parses "beijing"/"tianjin"/"hebei" or 京/津/冀.
    pub fn parse(s: &str) -> Result<Region, String> {
        Region::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.chinese() == s)
            .ok_or_else(|| format!("unknown region {s:?}: beijing (京), tianjin (津) or hebei (冀)"))
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member organisation as proposed or written in the genesis.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct MemberSpec {
    /// Machine name, e.g. `bj-water` ([`check_name`]).
    pub id: String,
    /// Display name, e.g. 北京市自来水集团.
    pub name: String,
    pub region: Region,
    /// Keys that act for the member: approve proposals, register its accounts.
    pub admins: Vec<AccountId>,
    /// How many of its admins must approve a proposal for the member to count as approving.
    pub admin_threshold: u32,
}

impl MemberSpec {
    pub fn check(&self) -> Result<(), String> {
        check_name("member id", &self.id)?;
        if self.name.is_empty() || self.name.len() > MAX_DISPLAY_NAME_LEN {
            return Err(format!("a member's name has 1 to {MAX_DISPLAY_NAME_LEN} bytes"));
        }
        let mut admins = self.admins.clone();
        admins.sort();
        admins.dedup();
        if admins.is_empty() || admins.len() != self.admins.len() || admins.len() > MAX_MEMBER_ADMINS {
            return Err(format!("a member has 1 to {MAX_MEMBER_ADMINS} distinct admin keys"));
        }
        if self.admin_threshold == 0 || self.admin_threshold as usize > admins.len() {
            return Err(format!("admin threshold {} must be between 1 and {}", self.admin_threshold, admins.len()));
        }
        Ok(())
    }
}

/// How many approvals a proposal needs, over the members allowed to approve it (ChainMaker's
/// names): any one, more than half, all, or at least m.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub enum Threshold {
    Any,
    Majority,
    All,
    AtLeast(u32),
}

impl Threshold {
    /// Approvals needed out of `voters` (at least one, at most all of them).
    pub fn needed(self, voters: usize) -> usize {
        let n = match self {
            Threshold::Any => 1,
            Threshold::Majority => voters / 2 + 1,
            Threshold::All => voters,
            Threshold::AtLeast(m) => m as usize,
        };
        n.clamp(1, voters.max(1))
    }
    /// Parses ANY, MAJORITY, ALL or a number m (m-of-n).
    pub fn parse(s: &str) -> Result<Threshold, String> {
        match s.to_ascii_uppercase().as_str() {
            "ANY" => Ok(Threshold::Any),
            "MAJORITY" => Ok(Threshold::Majority),
            "ALL" => Ok(Threshold::All),
            n => n
                .parse::<u32>()
                .ok()
                .filter(|m| *m > 0)
                .map(Threshold::AtLeast)
                .ok_or_else(|| format!("threshold {s:?}: ANY, MAJORITY, ALL or a positive number m (m of n)")),
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Any => f.write_str("ANY"),
            Threshold::Majority => f.write_str("MAJORITY"),
            Threshold::All => f.write_str("ALL"),
            Threshold::AtLeast(m) => write!(f, "{m}"),
        }
    }
}

/// An action whose callers a policy restricts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode, DecodeWithMemTracking)]
pub enum Action {
    /// `Call::UploadCode`.
    Upload,
    /// `Call::Instantiate`.
    Instantiate,
    /// One message of one contract, by its 4-byte selector.
    Method { contract: AccountId, selector: [u8; 4] },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Upload => f.write_str("upload"),
            Action::Instantiate => f.write_str("instantiate"),
            Action::Method { contract, selector } => {
                write!(f, "{contract}:0x{:02x}{:02x}{:02x}{:02x}", selector[0], selector[1], selector[2], selector[3])
            }
        }
    }
}

/// Who may perform an action: an account holding any of `roles`, or registered by any of
/// `members`. Both empty: every registered account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Policy {
    pub roles: Vec<String>,
    pub members: Vec<String>,
}

impl Policy {
    pub fn check(&self) -> Result<(), String> {
        if self.roles.len() + self.members.len() > MAX_POLICY_ENTRIES {
            return Err(format!("a policy names at most {MAX_POLICY_ENTRIES} roles and members"));
        }
        self.roles.iter().try_for_each(|r| check_name("role", r))?;
        self.members.iter().try_for_each(|m| check_name("member id", m))
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.roles.is_empty() && self.members.is_empty() {
            return f.write_str("any registered account");
        }
        let mut parts = Vec::new();
        if !self.roles.is_empty() {
            parts.push(format!("role {}", self.roles.join(" or ")));
        }
        if !self.members.is_empty() {
            parts.push(format!("member {}", self.members.join(" or ")));
        }
        f.write_str(&parts.join(", or "))
    }
}

/// What one block may hold: the genesis values (`max_block_txs`, `max_block_bytes`,
/// `block_gas_limit`) until governance sets others, from the block after the one that executes
/// the proposal. Proposers keep to them and replicas refuse a block over them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct BlockLimitsSpec {
    pub max_txs: u32,
    /// Bytes of the block's encoded signed transactions.
    pub max_bytes: u32,
    /// Gas of the block's transactions together.
    pub max_gas: u64,
}

impl BlockLimitsSpec {
    /// The bounds every network keeps to (also checked for the genesis values): positive, a
    /// block that fits a peer message with its header and certificate, and a gas limit between
    /// one transaction's most and what a validator executes well inside a view timeout.
    pub fn check(&self) -> Result<(), String> {
        use crate::params::{BLOCK_MESSAGE_OVERHEAD, MAX_BLOCK_GAS_LIMIT, MAX_PEER_MESSAGE, MAX_TX_GAS};
        if self.max_txs == 0 || self.max_bytes == 0 {
            return Err("block limits must be positive".into());
        }
        let room = MAX_PEER_MESSAGE - BLOCK_MESSAGE_OVERHEAD;
        if self.max_bytes as usize > room {
            return Err(format!(
                "max_bytes {} does not fit in a peer message: at most {room} ({MAX_PEER_MESSAGE} less \
                 {BLOCK_MESSAGE_OVERHEAD} for the header and certificate)",
                self.max_bytes
            ));
        }
        if !(MAX_TX_GAS..=MAX_BLOCK_GAS_LIMIT).contains(&self.max_gas) {
            return Err(format!(
                "max_gas {} must be between {MAX_TX_GAS} (one transaction's most) and {MAX_BLOCK_GAS_LIMIT}",
                self.max_gas
            ));
        }
        Ok(())
    }
}

/// What the alliance decides by proposal. Each kind has its own threshold
/// ([`GovAction::kind`] names it).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub enum GovAction {
    AddMember(MemberSpec),
    /// A suspended member's accounts cannot send transactions and its admins cannot approve.
    SuspendMember {
        member: String,
    },
    ResumeMember {
        member: String,
    },
    /// Removes a member that no longer has registered accounts' trust: as suspension, for good.
    RemoveMember {
        member: String,
    },
    GrantRole {
        account: AccountId,
        role: String,
    },
    RevokeRole {
        account: AccountId,
        role: String,
    },
    /// Sets who may perform `action`; `None` restores the default.
    SetPermission {
        action: Action,
        policy: Option<Policy>,
    },
    /// Names the official instance of a contract (`utility-bills` → address); `None` removes
    /// the name.
    RegisterName {
        name: String,
        address: Option<AccountId>,
    },
    /// A frozen contract refuses every call; a frozen account cannot send transactions.
    Freeze {
        target: AccountId,
    },
    Unfreeze {
        target: AccountId,
    },
    /// New code for an existing contract, its storage kept; refused at proposal time when the
    /// new code's storage layout cannot read the old one's data.
    UpgradeContract {
        contract: AccountId,
        code_hash: Hash,
    },
    /// Creates settlement money in a bank member's account (the only way money enters).
    Issue {
        to: AccountId,
        amount: u64,
    },
    /// Destroys settlement money held by an account.
    Retire {
        from: AccountId,
        amount: u64,
    },
    /// A member that broke the rules: fined from one of its accounts and/or suspended.
    Penalise {
        member: String,
        fine_from: Option<AccountId>,
        fine: u64,
        suspend: bool,
        reason: String,
    },
    /// Changes the threshold of an action kind (including this one).
    SetThreshold {
        kind: String,
        threshold: Threshold,
    },
    /// Which roles a member's admins may give their own accounts without a proposal.
    SetMemberGrantable {
        role: String,
        grantable: bool,
    },
    /// New block limits, in force from the block after the one that executes the proposal.
    SetBlockLimits(BlockLimitsSpec),
    /// The validators (node keys, in leader order) from `from_height` on, which must be at
    /// least `VALIDATOR_CHANGE_DELAY` above the height that executes it.
    SetValidators {
        validators: Vec<AccountId>,
        from_height: u64,
    },
    /// This network's light-client record of another network: its crypto suite (scheme code)
    /// and the validators whose certificates prove its blocks, against which contracts verify
    /// its receipts (`verify_receipt`). A later decision replaces the set (the source changed
    /// its validators); no validators forgets the network.
    TrustNetwork {
        network: NetworkId,
        scheme: u8,
        validators: Vec<AccountId>,
    },
}

/// What a network keeps of another it trusts (`GovAction::TrustNetwork`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct TrustedNetwork {
    /// `jjj_crypto::Scheme` code of its suite.
    pub scheme: u8,
    pub validators: Vec<AccountId>,
    /// The height of the block that set this record.
    pub since: u64,
}

impl GovAction {
    /// Every kind, for thresholds and listings.
    pub const KINDS: [&'static str; 19] = [
        "add_member",
        "suspend_member",
        "resume_member",
        "remove_member",
        "grant_role",
        "revoke_role",
        "set_permission",
        "register_name",
        "freeze",
        "unfreeze",
        "upgrade_contract",
        "issue",
        "retire",
        "penalise",
        "set_threshold",
        "set_member_grantable",
        "set_block_limits",
        "set_validators",
        "trust_network",
    ];

    pub fn kind(&self) -> &'static str {
        match self {
            GovAction::AddMember(_) => "add_member",
            GovAction::SuspendMember { .. } => "suspend_member",
            GovAction::ResumeMember { .. } => "resume_member",
            GovAction::RemoveMember { .. } => "remove_member",
            GovAction::GrantRole { .. } => "grant_role",
            GovAction::RevokeRole { .. } => "revoke_role",
            GovAction::SetPermission { .. } => "set_permission",
            GovAction::RegisterName { .. } => "register_name",
            GovAction::Freeze { .. } => "freeze",
            GovAction::Unfreeze { .. } => "unfreeze",
            GovAction::UpgradeContract { .. } => "upgrade_contract",
            GovAction::Issue { .. } => "issue",
            GovAction::Retire { .. } => "retire",
            GovAction::Penalise { .. } => "penalise",
            GovAction::SetThreshold { .. } => "set_threshold",
            GovAction::SetMemberGrantable { .. } => "set_member_grantable",
            GovAction::SetBlockLimits(_) => "set_block_limits",
            GovAction::SetValidators { .. } => "set_validators",
            GovAction::TrustNetwork { .. } => "trust_network",
        }
    }
}

/// What a proposal does when approved: a governance action (approved by members), or a call
/// sent by a multisig account (approved by that account's members).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub enum ProposalBody {
    Gov(GovAction),
    MultisigCall { account: AccountId, call: Box<Call>, gas_limit: u64 },
}

/// A proposal's content as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct ProposalSpec {
    pub body: ProposalBody,
    /// The last height at which it may still be approved.
    pub expires_at: u64,
    /// Free text for the record: why.
    pub memo: String,
}

/// The hash an approval signs: the proposal's content, who proposed it and with which nonce,
/// on which network. Known before the proposal is submitted, so approvals can be gathered
/// offline and submitted with it; never the same for two proposals.
pub fn proposal_hash(
    algo: crate::HashAlgo,
    network: &NetworkId,
    proposer: &AccountId,
    nonce: u64,
    spec: &ProposalSpec,
) -> Hash {
    let mut b = b"jjj/proposal/v1:".to_vec();
    (network, proposer, nonce, spec).encode_to(&mut b);
    algo.hash(&b)
}

/// The bytes an approver signs for a proposal.
pub fn approval_payload(proposal_hash: &Hash) -> Vec<u8> {
    let mut b = b"jjj/approve/v1:".to_vec();
    b.extend_from_slice(&proposal_hash.0);
    b
}

/// An approval gathered off chain: a signature over [`approval_payload`].
pub type Approval = Signature;
