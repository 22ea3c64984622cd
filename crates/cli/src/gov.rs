//! The consortium commands: members, accounts, roles, permissions, proposals, the registry,
//! and the contract lifecycle (upgrade, freeze). Every governance change is a proposal: the
//! command that asks for one (`jjj role grant`, `jjj member add`…) opens it with the sender's
//! approval, plus any gathered off chain (`jjj proposal sign`); it executes when its threshold
//! is reached.
use crate::tx::{status_to_result, submit_as};
use clap::{Args, Subcommand};
use jjj_config::{load_key, parse_account, parse_hash};
use jjj_primitives::gov::*;
use jjj_primitives::*;
use jjj_rpc_api::{NodeApiClient, ProposalJson, ReceiptJson, Rpc};
use parity_scale_codec::Decode;
use std::path::PathBuf;

/// Gas of a consortium call: a few record reads and writes, and a signature per approval.
const GOV_GAS: u64 = 5_000_000;

#[derive(Args, Clone)]
pub struct ProposeOpts {
    /// The proposer's key: a member admin (governance) or a multisig member.
    #[arg(long)]
    pub key: PathBuf,
    /// The account the key signs for, when it is not the key's own (after a rotation).
    #[arg(long = "as")]
    pub sender: Option<String>,
    /// Blocks until the proposal expires.
    #[arg(long, default_value_t = 10_000)]
    pub expires_in: u64,
    /// The height it expires at (instead of --expires-in). Approvals gathered off chain sign
    /// it: give the same value to --hash-only and to the submission.
    #[arg(long)]
    pub expires_at: Option<u64>,
    /// Why: kept with the proposal.
    #[arg(long, default_value = "")]
    pub memo: String,
    /// An approval gathered off chain (`jjj proposal sign`), SIGNER:SIGNATURE. Repeatable.
    #[arg(long = "approval")]
    pub approvals: Vec<String>,
    /// Print the hash approvers sign (for the proposer's next nonce) and stop.
    #[arg(long)]
    pub hash_only: bool,
}

/// A governance action, as `jjj proposal new` takes it.
#[derive(Subcommand, Clone)]
pub enum ActionCmd {
    /// Admit a member organisation.
    AddMember {
        #[arg(long)]
        id: String,
        /// Display name, e.g. 北京市自来水集团.
        #[arg(long)]
        name: String,
        /// beijing / tianjin / hebei (or 京 / 津 / 冀).
        #[arg(long)]
        region: String,
        /// An admin account (0x-hex). Repeatable.
        #[arg(long = "admin", required = true)]
        admins: Vec<String>,
        #[arg(long, default_value_t = 1)]
        admin_threshold: u32,
    },
    SuspendMember {
        member: String,
    },
    ResumeMember {
        member: String,
    },
    RemoveMember {
        member: String,
    },
    /// Fine a member (from one of its accounts) and/or suspend it.
    Penalise {
        member: String,
        #[arg(long, default_value_t = 0)]
        fine: u64,
        /// The member's account the fine is taken from.
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        suspend: bool,
        #[arg(long)]
        reason: String,
    },
    GrantRole {
        #[arg(long)]
        account: String,
        #[arg(long)]
        role: String,
    },
    RevokeRole {
        #[arg(long)]
        account: String,
        #[arg(long)]
        role: String,
    },
    /// Who may perform an action: upload, instantiate, or CONTRACT:METHOD (a message name or
    /// 0x-selector). No --role and no --member: any registered account. --default: back to the
    /// default.
    SetPermission {
        #[arg(long)]
        action: String,
        #[arg(long = "role")]
        roles: Vec<String>,
        #[arg(long = "member")]
        members: Vec<String>,
        #[arg(long)]
        default: bool,
    },
    /// Name the official instance of a contract (or, without --address, remove the name).
    RegisterName {
        name: String,
        #[arg(long)]
        address: Option<String>,
    },
    /// Freeze a contract (calls fail) or an account (cannot send).
    Freeze {
        target: String,
    },
    Unfreeze {
        target: String,
    },
    /// New code (already uploaded) for a contract; its storage is kept.
    UpgradeContract {
        #[arg(long)]
        contract: String,
        #[arg(long)]
        code_hash: String,
    },
    /// Create settlement money in a bank's account.
    Issue {
        #[arg(long)]
        to: String,
        #[arg(long)]
        amount: u64,
    },
    /// Destroy settlement money.
    Retire {
        #[arg(long)]
        from: String,
        #[arg(long)]
        amount: u64,
    },
    /// The approvals an action kind needs: ANY, MAJORITY, ALL or m.
    SetThreshold {
        #[arg(long)]
        kind: String,
        #[arg(long)]
        threshold: String,
    },
    /// Whether members may give a role to their own accounts at registration.
    SetMemberGrantable {
        #[arg(long)]
        role: String,
        #[arg(long)]
        grantable: bool,
    },
    /// What one block may hold, from the block after the one that executes the proposal:
    /// transactions, bytes of transactions, gas (between one transaction's most, 200,000,000,
    /// and 800,000,000).
    SetBlockLimits {
        #[arg(long)]
        max_txs: u32,
        #[arg(long)]
        max_bytes: u32,
        #[arg(long)]
        max_gas: u64,
    },
    /// The validators (node ids, in leader order; repeat --validator) from --from-height on,
    /// at least 2 above the height that executes the proposal. Certificates of earlier heights
    /// stay signed by the sets of their heights; `jjj audit replay` checks each against its own.
    SetValidators {
        #[arg(long = "validator", required = true)]
        validators: Vec<String>,
        #[arg(long)]
        from_height: u64,
    },
    /// Trust another network's receipts: record its suite and the validators whose
    /// certificates prove its blocks, taken from its genesis file (or, after it changed its
    /// validators, given with --validator), so contracts here can verify its receipts. With
    /// --forget, stop trusting it.
    TrustNetwork {
        /// The other network's genesis file: its id, suite and genesis validators.
        #[arg(long, required_unless_present = "forget")]
        genesis: Option<std::path::PathBuf>,
        /// Its current validators instead of the genesis ones (repeat; node ids).
        #[arg(long = "validator")]
        validators: Vec<String>,
        /// Forget network NAME.
        #[arg(long, conflicts_with_all = ["genesis", "validators"])]
        forget: Option<String>,
    },
}

impl ActionCmd {
    pub fn action(self) -> Result<GovAction, String> {
        let acct = |s: &str| parse_account(s);
        Ok(match self {
            ActionCmd::AddMember { id, name, region, admins, admin_threshold } => GovAction::AddMember(MemberSpec {
                id,
                name,
                region: Region::parse(&region)?,
                admins: admins.iter().map(|a| acct(a)).collect::<Result<_, _>>()?,
                admin_threshold,
            }),
            ActionCmd::SuspendMember { member } => GovAction::SuspendMember { member },
            ActionCmd::ResumeMember { member } => GovAction::ResumeMember { member },
            ActionCmd::RemoveMember { member } => GovAction::RemoveMember { member },
            ActionCmd::Penalise { member, fine, from, suspend, reason } => {
                GovAction::Penalise { member, fine_from: from.as_deref().map(acct).transpose()?, fine, suspend, reason }
            }
            ActionCmd::GrantRole { account, role } => GovAction::GrantRole { account: acct(&account)?, role },
            ActionCmd::RevokeRole { account, role } => GovAction::RevokeRole { account: acct(&account)?, role },
            ActionCmd::SetPermission { action, roles, members, default } => GovAction::SetPermission {
                action: parse_action(&action)?,
                policy: if default { None } else { Some(Policy { roles, members }) },
            },
            ActionCmd::RegisterName { name, address } => {
                GovAction::RegisterName { name, address: address.as_deref().map(acct).transpose()? }
            }
            ActionCmd::Freeze { target } => GovAction::Freeze { target: acct(&target)? },
            ActionCmd::Unfreeze { target } => GovAction::Unfreeze { target: acct(&target)? },
            ActionCmd::UpgradeContract { contract, code_hash } => {
                GovAction::UpgradeContract { contract: acct(&contract)?, code_hash: parse_hash(&code_hash)? }
            }
            ActionCmd::Issue { to, amount } => GovAction::Issue { to: acct(&to)?, amount },
            ActionCmd::Retire { from, amount } => GovAction::Retire { from: acct(&from)?, amount },
            ActionCmd::SetThreshold { kind, threshold } => {
                GovAction::SetThreshold { kind, threshold: Threshold::parse(&threshold)? }
            }
            ActionCmd::SetMemberGrantable { role, grantable } => GovAction::SetMemberGrantable { role, grantable },
            ActionCmd::SetValidators { validators, from_height } => GovAction::SetValidators {
                validators: validators.iter().map(|v| acct(v)).collect::<Result<_, _>>()?,
                from_height,
            },
            ActionCmd::TrustNetwork { genesis, validators, forget } => match (genesis, forget) {
                (_, Some(name)) => GovAction::TrustNetwork {
                    network: NetworkId::new(&name)?,
                    scheme: jjj_crypto::Scheme::Ed25519.code(),
                    validators: vec![],
                },
                (Some(path), None) => {
                    let g = jjj_config::Genesis::load(&path)?;
                    let validators = if validators.is_empty() {
                        g.validator_ids()?
                    } else {
                        validators.iter().map(|v| acct(v)).collect::<Result<_, _>>()?
                    };
                    GovAction::TrustNetwork { network: g.network_id()?, scheme: g.suite()?.scheme().code(), validators }
                }
                (None, None) => return Err("--genesis FILE or --forget NAME".into()),
            },
            ActionCmd::SetBlockLimits { max_txs, max_bytes, max_gas } => {
                let limits = jjj_primitives::gov::BlockLimitsSpec { max_txs, max_bytes, max_gas };
                limits.check()?;
                GovAction::SetBlockLimits(limits)
            }
        })
    }
}

/// upload, instantiate, or CONTRACT:METHOD where METHOD is a message name (its selector is the
/// first four bytes of blake2b-256 of the name, as the SDK derives it) or a 0x-selector.
pub fn parse_action(s: &str) -> Result<Action, String> {
    match s {
        "upload" => return Ok(Action::Upload),
        "instantiate" => return Ok(Action::Instantiate),
        _ => {}
    }
    let (contract, method) =
        s.split_once(':').ok_or_else(|| format!("action {s:?}: upload, instantiate or CONTRACT:METHOD"))?;
    let contract = parse_account(contract)?;
    let selector: [u8; 4] = match method.strip_prefix("0x") {
        Some(h) => hex::decode(h)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("{method:?} is not a 4-byte selector"))?,
        None => {
            let h = blake2_256(method.as_bytes());
            [h.0[0], h.0[1], h.0[2], h.0[3]]
        }
    };
    Ok(Action::Method { contract, selector })
}

#[derive(Subcommand)]
pub enum ProposalCmd {
    /// Open a proposal (with your approval, and any gathered off chain).
    New {
        #[command(flatten)]
        opts: ProposeOpts,
        #[command(subcommand)]
        action: ActionCmd,
    },
    /// Approve a proposal (your own approval, plus any gathered off chain).
    Approve {
        id: u64,
        #[arg(long)]
        key: PathBuf,
        #[arg(long = "as")]
        sender: Option<String>,
        #[arg(long = "approval")]
        approvals: Vec<String>,
    },
    /// Sign a proposal hash off chain; prints the approval (SIGNER:SIGNATURE) to pass with
    /// --approval.
    Sign {
        #[arg(long)]
        hash: String,
        #[arg(long)]
        key: PathBuf,
    },
    Show {
        id: u64,
    },
    /// The governance history, newest first.
    List {
        /// Only proposals still open.
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
}

#[derive(Subcommand)]
pub enum MemberCmd {
    /// Every member organisation.
    List,
    Show {
        id: String,
    },
    /// Propose to admit a member (see `jjj proposal new add-member --help`).
    Add {
        #[command(flatten)]
        opts: ProposeOpts,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        region: String,
        #[arg(long = "admin", required = true)]
        admins: Vec<String>,
        #[arg(long, default_value_t = 1)]
        admin_threshold: u32,
    },
    /// Propose to suspend a member.
    Suspend {
        #[command(flatten)]
        opts: ProposeOpts,
        id: String,
    },
    /// Propose to resume a suspended member.
    Resume {
        #[command(flatten)]
        opts: ProposeOpts,
        id: String,
    },
}

#[derive(Subcommand)]
pub enum AccountCmd {
    /// Register a key as an account of your member (you: its admin or registrar).
    Register {
        #[arg(long)]
        key: PathBuf,
        #[arg(long = "as")]
        sender: Option<String>,
        /// The new account (0x-hex id, or a key file).
        #[arg(long)]
        account: String,
        #[arg(long)]
        member: String,
        /// A role your member may give (see `jjj permission show`). Repeatable.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Suspend an account of your member (or resume it with --resume).
    Suspend {
        #[arg(long)]
        key: PathBuf,
        #[arg(long = "as")]
        sender: Option<String>,
        #[arg(long)]
        account: String,
        #[arg(long)]
        resume: bool,
    },
    /// Give an account a new signing key (the account itself, or its member's admin).
    Rotate {
        #[arg(long)]
        key: PathBuf,
        #[arg(long = "as")]
        sender: Option<String>,
        #[arg(long)]
        account: String,
        /// The new key (0x-hex public key, or a key file).
        #[arg(long)]
        new_key: String,
    },
    /// An account's balance, nonce and registration.
    Show { account: String },
}

#[derive(Subcommand)]
pub enum RoleCmd {
    /// Propose to grant a role.
    Grant {
        #[command(flatten)]
        opts: ProposeOpts,
        #[arg(long)]
        account: String,
        #[arg(long)]
        role: String,
    },
    /// Propose to revoke a role.
    Revoke {
        #[command(flatten)]
        opts: ProposeOpts,
        #[arg(long)]
        account: String,
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum PermissionCmd {
    /// Propose a policy (see `jjj proposal new set-permission --help`).
    Set {
        #[command(flatten)]
        opts: ProposeOpts,
        #[arg(long)]
        action: String,
        #[arg(long = "role")]
        roles: Vec<String>,
        #[arg(long = "member")]
        members: Vec<String>,
        #[arg(long)]
        default: bool,
    },
    /// Every policy in force, thresholds, and the roles members may give.
    Show,
}

/// An account id from 0x-hex or from a key file.
fn account_or_key(s: &str) -> Result<AccountId, String> {
    if s.starts_with("0x") || (s.len() == 64 && hex::decode(s).is_ok()) {
        return parse_account(s);
    }
    Ok(load_key(&PathBuf::from(s))?.account())
}

fn sender_of(key: &jjj_crypto::Keypair, sender: &Option<String>) -> Result<AccountId, String> {
    sender.as_deref().map_or(Ok(key.account()), parse_account)
}

fn parse_approval(s: &str) -> Result<Approval, String> {
    let (signer, sig) = s.split_once(':').ok_or_else(|| format!("approval {s:?}: expected SIGNER:SIGNATURE"))?;
    let signature: [u8; 64] = hex::decode(sig.trim_start_matches("0x"))
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("approval {s:?}: the signature is not 64 bytes of hex"))?;
    Ok(Signature { signer: parse_account(signer)?, signature })
}

/// One line per proposal for listings.
fn describe(p: &ProposalJson) -> String {
    let when = match (p.status.as_str(), p.closed_at) {
        ("open", _) => format!("open until {}", p.expires_at),
        (s, Some(h)) => format!("{s} at {h}"),
        (s, None) => s.to_string(),
    };
    let failure = p.failure.as_deref().map(|f| format!(" — {f}")).unwrap_or_default();
    format!("#{} {} [{}/{} approving, {when}]{failure}\n    {}", p.id, p.kind, p.approving, p.needed, p.action)
}

async fn report(rpc: &Rpc, net: &str, r: &ReceiptJson) -> Result<(), String> {
    status_to_result(r)?;
    let out = hex::decode(r.output.trim_start_matches("0x")).map_err(|e| e.to_string())?;
    let (id, reached) = <(u64, bool)>::decode(&mut &out[..]).map_err(|e| format!("unexpected output: {e}"))?;
    let p = rpc.api().gov_proposal(net.into(), id).await.map_err(|e| rpc.explain(e))?;
    match p {
        Some(p) => {
            println!("{}", describe(&p));
            if reached && p.status == "failed" {
                return Err(format!(
                    "proposal {id} reached its threshold but failed: {}",
                    p.failure.unwrap_or_default()
                ));
            }
        }
        None => println!("proposal {id}"),
    }
    Ok(())
}

/// Opens a proposal of `body` (or prints its hash with --hash-only).
pub async fn propose(rpc_url: &str, net: &str, opts: ProposeOpts, body: ProposalBody) -> Result<(), String> {
    let rpc = Rpc::new(rpc_url)?;
    let key = load_key(&opts.key)?;
    let sender = sender_of(&key, &opts.sender)?;
    let expires_at = match opts.expires_at {
        Some(h) => h,
        None => rpc.api().finalized_head(net.into()).await.map_err(|e| rpc.explain(e))?.height + opts.expires_in,
    };
    let spec = ProposalSpec { body, expires_at, memo: opts.memo };
    if opts.hash_only {
        let nonce = rpc.api().account(net.into(), sender.to_string()).await.map_err(|e| rpc.explain(e))?.nonce;
        // A key signs only on networks of its scheme, so its suite is the network's.
        let hash = proposal_hash(key.scheme().suite().hash_algo(), &NetworkId::new(net)?, &sender, nonce, &spec);
        println!("{hash}");
        eprintln!(
            "approvers sign it with `jjj proposal sign --hash {hash} --key …`; then submit the same proposal \
             with --expires-at {expires_at} and each --approval, before {sender} sends another transaction \
             (the hash holds its next nonce, {nonce})"
        );
        return Ok(());
    }
    let approvals = opts.approvals.iter().map(|a| parse_approval(a)).collect::<Result<Vec<_>, _>>()?;
    let r = submit_as(&rpc, net, &key, sender, Call::Propose { spec, approvals }, GOV_GAS).await?;
    report(&rpc, net, &r).await
}

pub async fn proposal(rpc_url: &str, net: &str, c: ProposalCmd) -> Result<(), String> {
    match c {
        ProposalCmd::New { opts, action } => propose(rpc_url, net, opts, ProposalBody::Gov(action.action()?)).await,
        ProposalCmd::Approve { id, key, sender, approvals } => {
            let rpc = Rpc::new(rpc_url)?;
            let key = load_key(&key)?;
            let sender = sender_of(&key, &sender)?;
            let approvals = approvals.iter().map(|a| parse_approval(a)).collect::<Result<Vec<_>, _>>()?;
            let r = submit_as(&rpc, net, &key, sender, Call::Approve { proposal: id, approvals }, GOV_GAS).await?;
            report(&rpc, net, &r).await
        }
        ProposalCmd::Sign { hash, key } => {
            let key = load_key(&key)?;
            let a = key.sign(&approval_payload(&parse_hash(&hash)?));
            println!("{}:0x{}", a.signer, hex::encode(a.signature));
            Ok(())
        }
        ProposalCmd::Show { id } => {
            let rpc = Rpc::new(rpc_url)?;
            match rpc.api().gov_proposal(net.into(), id).await.map_err(|e| rpc.explain(e))? {
                Some(p) => crate::print(serde_json::to_value(&p)),
                None => Err(format!("no proposal {id} on {net}")),
            }
        }
        ProposalCmd::List { open, limit } => {
            let rpc = Rpc::new(rpc_url)?;
            let ps =
                rpc.api().gov_proposals(net.into(), None, Some(limit), Some(open)).await.map_err(|e| rpc.explain(e))?;
            if ps.is_empty() {
                println!("no proposals");
            }
            for p in ps {
                println!("{}", describe(&p));
            }
            Ok(())
        }
    }
}

pub async fn member(rpc_url: &str, net: &str, c: MemberCmd) -> Result<(), String> {
    let gov = |a: ActionCmd| a.action().map(ProposalBody::Gov);
    match c {
        MemberCmd::List => {
            let rpc = Rpc::new(rpc_url)?;
            for m in rpc.api().gov_members(net.into()).await.map_err(|e| rpc.explain(e))? {
                println!(
                    "{} {} ({}) {} — {} admin(s), {} needed",
                    m.region_name,
                    m.id,
                    m.name,
                    m.status,
                    m.admins.len(),
                    m.admin_threshold
                );
            }
            Ok(())
        }
        MemberCmd::Show { id } => {
            let rpc = Rpc::new(rpc_url)?;
            let members = rpc.api().gov_members(net.into()).await.map_err(|e| rpc.explain(e))?;
            let m = members.into_iter().find(|m| m.id == id).ok_or_else(|| format!("no member {id} on {net}"))?;
            crate::print(serde_json::to_value(&m))
        }
        MemberCmd::Add { opts, id, name, region, admins, admin_threshold } => {
            let body = gov(ActionCmd::AddMember { id, name, region, admins, admin_threshold })?;
            propose(rpc_url, net, opts, body).await
        }
        MemberCmd::Suspend { opts, id } => {
            propose(rpc_url, net, opts, gov(ActionCmd::SuspendMember { member: id })?).await
        }
        MemberCmd::Resume { opts, id } => {
            propose(rpc_url, net, opts, gov(ActionCmd::ResumeMember { member: id })?).await
        }
    }
}

pub async fn account(rpc_url: &str, net: &str, c: AccountCmd) -> Result<(), String> {
    let rpc = Rpc::new(rpc_url)?;
    let send = |key: PathBuf, sender: Option<String>, call: Call| {
        let rpc = &rpc;
        async move {
            let key = load_key(&key)?;
            let sender = sender_of(&key, &sender)?;
            let r = submit_as(rpc, net, &key, sender, call, GOV_GAS).await?;
            status_to_result(&r)?;
            println!("done in block {}", r.height.unwrap_or(0));
            Ok::<(), String>(())
        }
    };
    match c {
        AccountCmd::Register { key, sender, account, member, roles } => {
            let account = account_or_key(&account)?;
            send(key, sender, Call::RegisterAccount { account, member, roles }).await?;
            println!("registered {account}");
            Ok(())
        }
        AccountCmd::Suspend { key, sender, account, resume } => {
            let account = account_or_key(&account)?;
            send(key, sender, Call::SetAccountSuspended { account, suspended: !resume }).await
        }
        AccountCmd::Rotate { key, sender, account, new_key } => {
            let account = account_or_key(&account)?;
            let new_key = account_or_key(&new_key)?;
            send(key, sender, Call::RotateKey { account, new_key }).await?;
            println!("{account} is now signed for by {new_key}");
            Ok(())
        }
        AccountCmd::Show { account } => {
            let who = account_or_key(&account)?.to_string();
            let state = rpc.api().account(net.into(), who.clone()).await.map_err(|e| rpc.explain(e))?;
            let reg = rpc.api().gov_account(net.into(), who).await.map_err(|e| rpc.explain(e))?;
            crate::print(Ok(serde_json::json!({ "account": state, "registration": reg })))
        }
    }
}

pub async fn role(rpc_url: &str, net: &str, c: RoleCmd) -> Result<(), String> {
    let (opts, action) = match c {
        RoleCmd::Grant { opts, account, role } => (opts, ActionCmd::GrantRole { account, role }),
        RoleCmd::Revoke { opts, account, role } => (opts, ActionCmd::RevokeRole { account, role }),
    };
    propose(rpc_url, net, opts, ProposalBody::Gov(action.action()?)).await
}

pub async fn permission(rpc_url: &str, net: &str, c: PermissionCmd) -> Result<(), String> {
    match c {
        PermissionCmd::Set { opts, action, roles, members, default } => {
            let a = ActionCmd::SetPermission { action, roles, members, default }.action()?;
            propose(rpc_url, net, opts, ProposalBody::Gov(a)).await
        }
        PermissionCmd::Show => {
            let rpc = Rpc::new(rpc_url)?;
            let api = rpc.api();
            println!("function permissions:");
            for p in api.gov_permissions(net.into()).await.map_err(|e| rpc.explain(e))? {
                let mut who: Vec<String> = p.roles.iter().map(|r| format!("role {r}")).collect();
                who.extend(p.members.iter().map(|m| format!("member {m}")));
                let who = if who.is_empty() { "any registered account".to_string() } else { who.join(" or ") };
                println!("  {:<24} {who}{}", p.action, if p.set { "" } else { " (default)" });
            }
            let rules = api.gov_rules(net.into()).await.map_err(|e| rpc.explain(e))?;
            println!("approvals needed per action kind:");
            for (kind, t) in rules.thresholds {
                println!("  {kind:<24} {t}");
            }
            println!("roles a member gives its own accounts: {}", rules.member_grantable_roles.join(", "));
            match rules.block_limits {
                Some(l) => println!(
                    "block limits (set by proposal): {} transactions, {} bytes, {} gas",
                    l.max_txs, l.max_bytes, l.max_gas
                ),
                None => println!("block limits: the genesis values"),
            }
            Ok(())
        }
    }
}

/// `jjj registry [NAME]`: the official contract names, or one name's address.
pub async fn registry(rpc_url: &str, net: &str, name: Option<String>) -> Result<(), String> {
    let rpc = Rpc::new(rpc_url)?;
    let entries = rpc.api().gov_registry(net.into()).await.map_err(|e| rpc.explain(e))?;
    match name {
        Some(n) => {
            let e = entries
                .iter()
                .find(|e| e.name == n)
                .ok_or_else(|| format!("no official contract named {n} on {net}"))?;
            println!("{}", e.address);
        }
        None => {
            if entries.is_empty() {
                println!("no official contract names yet (jjj proposal new register-name)");
            }
            for e in entries {
                println!("{:<24} {}{}", e.name, e.address, if e.frozen { " (frozen)" } else { "" });
            }
        }
    }
    Ok(())
}
