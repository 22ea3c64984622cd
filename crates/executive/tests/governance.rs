//! The consortium layer through the real state transition: registration as a consensus rule,
//! function permissions, proposals and their approvals, governance actions.
use counter::msg;
use jjj_executive::{GenesisAccountSpec, GenesisSpec};
use jjj_primitives::gov::*;
use jjj_primitives::*;
use jjj_state::gov::{load_member, load_proposal, load_registration, MemberStatus, ProposalStatus};
use jjj_state::Overlay;
use jjj_testkit::{contract_wasm, decode_output, TestAccount, TestChain};
use parity_scale_codec::Decode;

/// Three regional members; Hebei needs two of its two admins. Named accounts with one role each.
fn alliance() -> TestChain {
    let admin = |n: &str| TestChain::key(n).id;
    let member = |id: &str, name: &str, region, admins: Vec<AccountId>, t| MemberSpec {
        id: id.into(),
        name: name.into(),
        region,
        admins,
        admin_threshold: t,
    };
    let acct = |n: &str, member: &str, roles: &[&str]| GenesisAccountSpec {
        account: TestChain::key(n).id,
        member: member.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        balance: 1_000_000,
    };
    let mut accounts = vec![
        acct("bj-admin", "beijing", &[]),
        acct("deployer", "beijing", &[roles::DEPLOYER]),
        acct("bj-registrar", "beijing", &[roles::REGISTRAR]),
        acct("tj-registrar", "tianjin", &[roles::REGISTRAR]),
        acct("bank", "tianjin", &[roles::BANK]),
        acct("plain", "beijing", &[]),
    ];
    for role in roles::KNOWN {
        accounts.push(acct(&format!("has-{role}"), "hebei", &[role]));
    }
    TestChain::with_genesis(&GenesisSpec {
        members: vec![
            member("beijing", "北京市政务服务和数据管理局", Region::Beijing, vec![admin("bj-admin")], 1),
            member("tianjin", "天津市政务服务办公室", Region::Tianjin, vec![admin("tj-admin")], 1),
            member(
                "hebei",
                "河北省政务服务管理办公室",
                Region::Hebei,
                vec![admin("hb-admin-1"), admin("hb-admin-2")],
                2,
            ),
        ],
        accounts,
        thresholds: vec![],
        member_grantable: vec![roles::RESIDENT.into()],
    })
}

fn k(name: &str) -> TestAccount {
    TestChain::key(name)
}

fn send(chain: &mut TestChain, who: &str, call: Call) -> Receipt {
    let a = k(who);
    chain.try_submit(a.id, &a.key, call).unwrap_or_else(|e| panic!("{who}'s transaction refused: {e}"))
}

fn fails(r: &Receipt) -> String {
    r.reason().unwrap_or_else(|| panic!("expected a failed receipt, got success")).to_string()
}

/// Proposes `action` as `who`, expiring 100 blocks on; returns (id, threshold reached).
fn propose(chain: &mut TestChain, who: &str, action: GovAction, approvals: Vec<Approval>) -> (u64, bool) {
    let spec = ProposalSpec { body: ProposalBody::Gov(action), expires_at: chain.height() + 100, memo: "test".into() };
    let r = send(chain, who, Call::Propose { spec, approvals });
    decode_output(&r).unwrap_or_else(|e| panic!("propose: {e}"))
}

fn approve(chain: &mut TestChain, who: &str, id: u64) -> Result<(u64, bool), String> {
    decode_output(&send(chain, who, Call::Approve { proposal: id, approvals: vec![] }))
}

fn overlay(chain: &TestChain) -> Overlay {
    Overlay::new(chain.state())
}

fn status(chain: &TestChain, id: u64) -> ProposalStatus {
    load_proposal(&overlay(chain), id).expect("state").expect("proposal").status
}

/// Approval of `hash` signed off chain by `who`.
fn offline(who: &str, hash: &Hash) -> Approval {
    jjj_testkit::test_key(who).sign(&approval_payload(hash))
}

#[test]
fn an_unregistered_key_cannot_send_and_a_registrar_registers_it() {
    let mut chain = alliance();
    let stranger = k("stranger");
    let call = Call::Transfer { to: k("plain").id, amount: 0 };
    let err = chain.try_submit(stranger.id, &stranger.key, call.clone()).expect_err("refused");
    assert!(err.contains("is not registered"), "{err}");
    // A registrar of another member cannot register it into Beijing; a non-grantable role is
    // refused; Beijing's registrar can, with the resident role.
    let reg = |member: &str, roles: &[&str]| Call::RegisterAccount {
        account: stranger.id,
        member: member.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    assert!(fails(&send(&mut chain, "tj-registrar", reg("beijing", &[])))
        .contains("not a registrar or admin of member beijing"));
    assert!(fails(&send(&mut chain, "plain", reg("beijing", &[]))).contains("not a registrar"));
    assert!(fails(&send(&mut chain, "bj-registrar", reg("beijing", &[roles::UTILITY_PROVIDER])))
        .contains("granted by proposal"));
    assert!(send(&mut chain, "bj-registrar", reg("beijing", &[roles::RESIDENT])).is_success());
    assert!(
        fails(&send(&mut chain, "tj-registrar", reg("tianjin", &[]))).contains("already registered by member beijing")
    );
    let r = load_registration(&overlay(&chain), &stranger.id).expect("state").expect("registered");
    assert_eq!((r.member.as_str(), r.roles), ("beijing", vec![roles::RESIDENT.to_string()]));
    assert!(chain.try_submit(stranger.id, &stranger.key, call).expect("now accepted").is_success());
}

#[test]
fn suspended_accounts_are_refused_and_rotated_keys_take_over() {
    let mut chain = alliance();
    let plain = k("plain");
    let noop = Call::Transfer { to: k("bank").id, amount: 1 };
    assert!(
        send(&mut chain, "bj-registrar", Call::SetAccountSuspended { account: plain.id, suspended: true }).is_success()
    );
    let err = chain.try_submit(plain.id, &plain.key, noop.clone()).expect_err("suspended");
    assert!(err.contains("suspended by its member beijing"), "{err}");
    // Tianjin's registrar cannot resume a Beijing account; Beijing's can.
    assert!(!send(&mut chain, "tj-registrar", Call::SetAccountSuspended { account: plain.id, suspended: false })
        .is_success());
    assert!(send(&mut chain, "bj-registrar", Call::SetAccountSuspended { account: plain.id, suspended: false })
        .is_success());
    assert!(chain.try_submit(plain.id, &plain.key, noop.clone()).expect("resumed").is_success());

    // The account rotates its own key: the old key no longer signs for it, the new one does,
    // and the balance and nonce stay with the account.
    let new_key = jjj_testkit::test_key("plain-2");
    let nonce = chain.nonce(&plain.id);
    let rotate = Call::RotateKey { account: plain.id, new_key: new_key.account() };
    assert!(chain.try_submit(plain.id, &plain.key, rotate).expect("rotate").is_success());
    let err = chain.try_submit(plain.id, &plain.key, noop.clone()).expect_err("old key");
    assert!(err.contains("is signed for by key"), "{err}");
    assert!(chain.try_submit(plain.id, &new_key, noop.clone()).expect("new key").is_success());
    assert_eq!(chain.nonce(&plain.id), nonce + 2);
    // A stolen key: the member's admin rotates it away; a stranger may not.
    let back = Call::RotateKey { account: plain.id, new_key: plain.id };
    assert!(fails(&send(&mut chain, "deployer", back.clone())).contains("only"));
    assert!(send(&mut chain, "bj-admin", back).is_success());
    assert!(chain.try_submit(plain.id, &plain.key, noop).expect("original key again").is_success());
}

#[test]
fn upload_and_instantiate_need_the_deployer_role_for_every_role_but_deployer() {
    let mut chain = alliance();
    let code = contract_wasm("counter");
    for role in roles::KNOWN {
        let who = format!("has-{role}");
        let r = send(&mut chain, &who, Call::UploadCode { code: code.clone() });
        if role == roles::DEPLOYER {
            assert!(r.is_success(), "{role}: {:?}", r.reason());
        } else {
            let why = fails(&r);
            assert!(why.contains("permission denied: upload needs role deployer"), "{role}: {why}");
            assert!(why.contains(&format!("roles {role}")), "the denial names what the sender has: {why}");
        }
    }
    let code_hash = chain.runtime().hash_algo().hash(&code);
    for role in roles::KNOWN {
        let who = format!("has-{role}");
        let r = send(&mut chain, &who, Call::Instantiate { code_hash, input: msg::new(0), value: 0 });
        assert_eq!(r.is_success(), role == roles::DEPLOYER, "{role}: {:?}", r.reason());
    }
}

/// Deploys the counter as `deployer`; returns its address.
fn counter(chain: &mut TestChain) -> AccountId {
    let code = contract_wasm("counter");
    let r = send(chain, "deployer", Call::UploadCode { code: code.clone() });
    assert!(r.is_success() || fails(&r).contains("already uploaded"));
    let r = send(
        chain,
        "deployer",
        Call::Instantiate { code_hash: chain.runtime().hash_algo().hash(&code), input: msg::new(1), value: 0 },
    );
    decode_output(&r).expect("instantiate")
}

/// Executes `action` with the approvals of Beijing and Tianjin (a majority of three).
fn pass(chain: &mut TestChain, action: GovAction) -> ProposalStatus {
    let (id, done) = propose(chain, "bj-admin", action, vec![]);
    assert!(!done, "one of three members is not a majority");
    assert_eq!(approve(chain, "tj-admin", id).expect("approve"), (id, true));
    status(chain, id)
}

#[test]
fn method_policies_allow_exactly_the_named_roles_and_members() {
    let mut chain = alliance();
    let c = counter(&mut chain);
    let bump = msg::bump(1);
    let selector: [u8; 4] = bump[..4].try_into().expect("selector");
    let action = Action::Method { contract: c, selector };
    let policy = Policy { roles: vec![roles::UTILITY_PROVIDER.into()], members: vec!["tianjin".into()] };
    assert!(matches!(
        pass(&mut chain, GovAction::SetPermission { action, policy: Some(policy) }),
        ProposalStatus::Executed { .. }
    ));
    // Every role (all Hebei accounts): only the utility provider may bump; Tianjin's accounts
    // may, by membership; other methods stay open.
    for role in roles::KNOWN {
        let r = send(&mut chain, &format!("has-{role}"), Call::Call { contract: c, input: bump.clone(), value: 0 });
        assert_eq!(r.is_success(), role == roles::UTILITY_PROVIDER, "{role}: {:?}", r.reason());
        if !r.is_success() {
            assert!(fails(&r).contains("needs role utility-provider, or member tianjin"), "{:?}", r.reason());
        }
        let get = send(&mut chain, &format!("has-{role}"), Call::Call { contract: c, input: msg::get(), value: 0 });
        assert!(get.is_success(), "{role}: get is open");
    }
    assert!(send(&mut chain, "bank", Call::Call { contract: c, input: bump.clone(), value: 0 }).is_success());
    assert!(!send(&mut chain, "plain", Call::Call { contract: c, input: bump, value: 0 }).is_success());
}

#[test]
fn proposals_count_members_and_refuse_bad_approvals() {
    let mut chain = alliance();
    let plain = k("plain").id;
    let grant = GovAction::GrantRole { account: plain, role: roles::AUDITOR.into() };
    let (id, done) = propose(&mut chain, "bj-admin", grant.clone(), vec![]);
    assert!(!done);
    // Duplicate, foreign and non-admin approvals are refused; nothing executes.
    assert!(approve(&mut chain, "bj-admin", id).expect_err("duplicate").contains("already approved"));
    assert!(approve(&mut chain, "plain", id).expect_err("not an admin").contains("may not approve"));
    let hash = load_proposal(&overlay(&chain), id).expect("state").expect("p").hash;
    let foreign = Call::Approve { proposal: id, approvals: vec![offline("stranger", &hash)] };
    assert!(fails(&send(&mut chain, "tj-registrar", foreign)).contains("may not approve"));
    // Hebei needs both its admins: one of them is not Hebei's approval.
    assert_eq!(approve(&mut chain, "hb-admin-1", id).expect("approve"), (id, false));
    assert_eq!(status(&chain, id), ProposalStatus::Open);
    // An approval signed for another proposal does not verify for this one (no replay).
    let (other, _) =
        propose(&mut chain, "bj-admin", GovAction::SetMemberGrantable { role: "x".into(), grantable: true }, vec![]);
    let other_hash = load_proposal(&overlay(&chain), other).expect("state").expect("p").hash;
    let replayed = offline("hb-admin-2", &other_hash);
    let r = send(&mut chain, "tj-registrar", Call::Approve { proposal: id, approvals: vec![replayed] });
    assert!(fails(&r).contains("does not verify"), "{:?}", r.reason());
    // Hebei's second admin completes Hebei: two of three members, executed.
    assert_eq!(approve(&mut chain, "hb-admin-2", id).expect("approve"), (id, true));
    assert!(matches!(status(&chain, id), ProposalStatus::Executed { .. }));
    assert!(load_registration(&overlay(&chain), &plain).expect("s").expect("r").has_role(roles::AUDITOR));
    assert!(approve(&mut chain, "tj-admin", id).expect_err("closed").contains("closed"));
}

#[test]
fn offline_approvals_execute_with_the_proposal_and_expired_ones_are_refused() {
    let mut chain = alliance();
    let action = GovAction::GrantRole { account: k("plain").id, role: roles::ARBITRATOR.into() };
    let spec = ProposalSpec { body: ProposalBody::Gov(action), expires_at: chain.height() + 3, memo: String::new() };
    let proposer = k("bj-admin");
    let hash =
        proposal_hash(chain.runtime().hash_algo(), chain.network(), &proposer.id, chain.nonce(&proposer.id), &spec);
    let r =
        send(&mut chain, "bj-admin", Call::Propose { spec: spec.clone(), approvals: vec![offline("tj-admin", &hash)] });
    let (id, done): (u64, bool) = decode_output(&r).expect("propose");
    assert!(done, "Beijing on chain plus Tianjin off chain: a majority at once");
    assert!(matches!(status(&chain, id), ProposalStatus::Executed { .. }));

    // Expiry: a proposal that expires at h + 1 cannot be approved at h + 2.
    let spec = ProposalSpec {
        body: ProposalBody::Gov(GovAction::Freeze { target: k("bank").id }),
        expires_at: chain.height() + 1,
        memo: String::new(),
    };
    let r = send(&mut chain, "bj-admin", Call::Propose { spec, approvals: vec![] });
    let (id, _): (u64, bool) = decode_output(&r).expect("propose");
    send(&mut chain, "plain", Call::Transfer { to: k("bank").id, amount: 1 });
    assert!(approve(&mut chain, "tj-admin", id).expect_err("expired").contains("expired"));
}

#[test]
fn thresholds_change_by_proposal() {
    let mut chain = alliance();
    let st = pass(&mut chain, GovAction::SetThreshold { kind: "grant_role".into(), threshold: Threshold::All });
    assert!(matches!(st, ProposalStatus::Executed { .. }), "{st:?}");
    let (id, _) = propose(
        &mut chain,
        "bj-admin",
        GovAction::GrantRole { account: k("plain").id, role: "auditor".into() },
        vec![],
    );
    assert_eq!(approve(&mut chain, "tj-admin", id).expect("approve"), (id, false), "ALL: two of three is not enough");
    assert_eq!(approve(&mut chain, "hb-admin-1", id).expect("approve"), (id, false));
    assert_eq!(approve(&mut chain, "hb-admin-2", id).expect("approve"), (id, true));
    let bad = Call::Propose {
        spec: ProposalSpec {
            body: ProposalBody::Gov(GovAction::SetThreshold { kind: "no_such".into(), threshold: Threshold::Any }),
            expires_at: chain.height() + 5,
            memo: String::new(),
        },
        approvals: vec![],
    };
    assert!(fails(&send(&mut chain, "bj-admin", bad)).contains("unknown action kind no_such"));
}

#[test]
fn block_limits_change_by_proposal_for_proposers_and_replicas() {
    let mut chain = alliance();
    let transfers = |chain: &TestChain, n: u64| -> Vec<SignedTransaction> {
        let a = k("plain");
        let nonce = chain.nonce(&a.id);
        (0..n).map(|i| chain.sign(&a, nonce + i, 100_000, Call::Transfer { to: k("bank").id, amount: 1 })).collect()
    };
    let build = |chain: &TestChain, txs| chain.runtime().build_block(chain.state(), chain.next_template(), txs);
    let (block, _, _) = build(&chain, transfers(&chain, 3)).expect("build");
    assert_eq!(block.transactions.len(), 3, "the genesis limits hold 3 transfers");

    // Out-of-bounds limits are refused when proposed.
    for (limits, why) in [
        (BlockLimitsSpec { max_txs: 0, max_bytes: 1 << 20, max_gas: 400_000_000 }, "must be positive"),
        (BlockLimitsSpec { max_txs: 9, max_bytes: 1 << 30, max_gas: 400_000_000 }, "does not fit in a peer message"),
        (BlockLimitsSpec { max_txs: 9, max_bytes: 1 << 20, max_gas: 1 }, "max_gas 1 must be between"),
    ] {
        let spec = ProposalSpec {
            body: ProposalBody::Gov(GovAction::SetBlockLimits(limits)),
            expires_at: chain.height() + 5,
            memo: String::new(),
        };
        let r = send(&mut chain, "bj-admin", Call::Propose { spec, approvals: vec![] });
        assert!(fails(&r).contains(why), "{limits:?}: {:?}", r.reason());
    }

    // Two transactions per block from the next block on: the proposer stops at two, a replica
    // refuses a block of three.
    let limits = BlockLimitsSpec { max_txs: 2, max_bytes: 1 << 20, max_gas: 400_000_000 };
    let st = pass(&mut chain, GovAction::SetBlockLimits(limits));
    assert!(matches!(st, ProposalStatus::Executed { .. }), "{st:?}");
    let (two, _, _) = build(&chain, transfers(&chain, 3)).expect("build");
    assert_eq!(two.transactions.len(), 2);
    let mut three = two.clone();
    three.transactions = transfers(&chain, 3);
    let err = chain.runtime().apply_block(chain.state(), &three).expect_err("over the limit");
    assert!(err.to_string().contains("3 transactions, over the limit of 2"), "{err}");
    assert!(chain.runtime().apply_block(chain.state(), &two).is_ok());
}

#[test]
fn validator_sets_are_scheduled_by_proposal_for_a_later_height() {
    let mut chain = alliance();
    let genesis: Vec<AccountId> = (1..=4).map(|i| k(&format!("validator-{i}")).id).collect();
    let three = genesis[..3].to_vec();
    let propose_set = |chain: &mut TestChain, validators: Vec<AccountId>, from_height: u64| {
        let spec = ProposalSpec {
            body: ProposalBody::Gov(GovAction::SetValidators { validators, from_height }),
            expires_at: chain.height() + 5,
            memo: String::new(),
        };
        send(chain, "bj-admin", Call::Propose { spec, approvals: vec![] })
    };
    // Too soon (the next block executes it, so the earliest is two above that), empty, twice.
    let now = chain.height();
    let r = propose_set(&mut chain, three.clone(), now + 2);
    assert!(fails(&r).contains("at the earliest"), "{:?}", r.reason());
    assert!(fails(&propose_set(&mut chain, vec![], now + 10)).contains("1 to 64 validators"));
    let twice = vec![genesis[0], genesis[0]];
    assert!(fails(&propose_set(&mut chain, twice, now + 10)).contains("twice"));

    let from = chain.height() + 20;
    let st = pass(&mut chain, GovAction::SetValidators { validators: three.clone(), from_height: from });
    assert!(matches!(st, ProposalStatus::Executed { .. }), "{st:?}");
    let o = overlay(&chain);
    let at = |h| jjj_executive::gov::validators_at(&genesis, &o, h).expect("state");
    assert_eq!(at(from - 1), genesis, "the genesis set decides until the stated height");
    assert_eq!(at(from), three);
    assert_eq!(at(from + 1000), three);
    // A later decision for an earlier height replaces what was scheduled from there on.
    let st = pass(&mut chain, GovAction::SetValidators { validators: genesis[1..].to_vec(), from_height: from - 5 });
    assert!(matches!(st, ProposalStatus::Executed { .. }), "{st:?}");
    let o = overlay(&chain);
    assert_eq!(jjj_executive::gov::validators_at(&genesis, &o, from).expect("state"), genesis[1..].to_vec());
    assert_eq!(jjj_state::gov::load_validator_schedule(&o).expect("state").len(), 1);
}

/// The light-client record of another network: set by proposal, replaced, forgotten; never
/// for this network itself, an unknown scheme or a set listing a validator twice.
#[test]
fn other_networks_are_trusted_by_proposal() {
    let mut chain = alliance();
    let jinji = NetworkId::new("jinji").expect("id");
    let set: Vec<AccountId> = (0..4).map(|i| k(&format!("jinji-{i}")).id).collect();
    let scheme = chain.runtime().suite().scheme().code();
    let record = |chain: &TestChain| {
        let key = jjj_state::gov::keys::trusted_network("jinji");
        overlay(chain).get(&key).expect("state").map(|b| {
            <jjj_primitives::gov::TrustedNetwork as parity_scale_codec::Decode>::decode(&mut &b[..]).expect("record")
        })
    };
    let trust = |validators: Vec<AccountId>| GovAction::TrustNetwork { network: jinji.clone(), scheme, validators };
    assert!(matches!(pass(&mut chain, trust(set.clone())), ProposalStatus::Executed { .. }));
    let r = record(&chain).expect("trusted");
    assert_eq!((r.scheme, r.validators.clone()), (scheme, set.clone()));
    // Its validators changed: the record follows, by another decision.
    assert!(matches!(pass(&mut chain, trust(set[1..].to_vec())), ProposalStatus::Executed { .. }));
    assert_eq!(record(&chain).map(|r| r.validators), Some(set[1..].to_vec()));
    assert!(matches!(pass(&mut chain, trust(vec![])), ProposalStatus::Executed { .. }));
    assert_eq!(record(&chain), None, "forgotten");
    let refused = |chain: &mut TestChain, action: GovAction| {
        let spec =
            ProposalSpec { body: ProposalBody::Gov(action), expires_at: chain.height() + 5, memo: String::new() };
        fails(&send(chain, "bj-admin", Call::Propose { spec, approvals: vec![] }))
    };
    let own = chain.network().clone();
    let e = refused(&mut chain, GovAction::TrustNetwork { network: own, scheme, validators: set.clone() });
    assert!(e.contains("is this network"), "{e}");
    let e = refused(&mut chain, GovAction::TrustNetwork { network: jinji.clone(), scheme: 9, validators: set.clone() });
    assert!(e.contains("unknown signature scheme"), "{e}");
    let twice = vec![set[0], set[0]];
    let e = refused(&mut chain, GovAction::TrustNetwork { network: jinji, scheme, validators: twice });
    assert!(e.contains("twice"), "{e}");
}

#[test]
fn money_enters_only_by_issue_to_a_bank_and_leaves_by_retire() {
    let mut chain = alliance();
    let bank = k("bank").id;
    let before = chain.balance(&bank);
    assert!(matches!(pass(&mut chain, GovAction::Issue { to: bank, amount: 5_000 }), ProposalStatus::Executed { .. }));
    assert_eq!(chain.balance(&bank), before + 5_000);
    match pass(&mut chain, GovAction::Issue { to: k("plain").id, amount: 5 }) {
        ProposalStatus::Failed { reason, .. } => assert!(reason.contains("role bank"), "{reason}"),
        s => panic!("issued to a non-bank: {s:?}"),
    }
    assert!(matches!(
        pass(&mut chain, GovAction::Retire { from: bank, amount: 5_000 }),
        ProposalStatus::Executed { .. }
    ));
    assert_eq!(chain.balance(&bank), before);
}

#[test]
fn frozen_contracts_and_accounts_refuse_and_unfreeze() {
    let mut chain = alliance();
    let c = counter(&mut chain);
    assert!(matches!(pass(&mut chain, GovAction::Freeze { target: c }), ProposalStatus::Executed { .. }));
    let r = send(&mut chain, "plain", Call::Call { contract: c, input: msg::bump(1), value: 0 });
    assert!(fails(&r).contains("frozen by governance"));
    assert!(matches!(pass(&mut chain, GovAction::Unfreeze { target: c }), ProposalStatus::Executed { .. }));
    assert!(send(&mut chain, "plain", Call::Call { contract: c, input: msg::bump(1), value: 0 }).is_success());

    let plain = k("plain");
    assert!(matches!(pass(&mut chain, GovAction::Freeze { target: plain.id }), ProposalStatus::Executed { .. }));
    let err = chain.try_submit(plain.id, &plain.key, Call::Transfer { to: c, amount: 0 }).expect_err("frozen");
    assert!(err.contains("frozen by governance"), "{err}");
}

#[test]
fn suspended_members_lose_their_voice_and_accounts_and_the_last_one_stays() {
    let mut chain = alliance();
    assert!(matches!(
        pass(&mut chain, GovAction::SuspendMember { member: "hebei".into() }),
        ProposalStatus::Executed { .. }
    ));
    let hb = k("has-resident");
    let err = chain.try_submit(hb.id, &hb.key, Call::Transfer { to: hb.id, amount: 0 }).expect_err("member suspended");
    assert!(err.contains("which is Suspended"), "{err}");
    assert_eq!(load_member(&overlay(&chain), "hebei").expect("s").expect("m").status, MemberStatus::Suspended);
    // Two active members left: a majority is both.
    let (id, done) = propose(&mut chain, "bj-admin", GovAction::SuspendMember { member: "tianjin".into() }, vec![]);
    assert!(!done);
    assert!(approve(&mut chain, "tj-admin", id).expect("approve").1);
    // Beijing alone may not suspend itself.
    match pass_alone(&mut chain, GovAction::SuspendMember { member: "beijing".into() }) {
        ProposalStatus::Failed { reason, .. } => assert!(reason.contains("last active member"), "{reason}"),
        s => panic!("{s:?}"),
    }
}

fn pass_alone(chain: &mut TestChain, action: GovAction) -> ProposalStatus {
    let (id, done) = propose(chain, "bj-admin", action, vec![]);
    assert!(done);
    status(chain, id)
}

#[test]
fn a_multisig_account_calls_through_a_proposal_of_its_members() {
    let mut chain = alliance();
    let members = vec![k("plain").id, k("bank").id, k("deployer").id];
    let r = send(&mut chain, "plain", Call::CreateMultisig { members: members.clone(), threshold: 2 });
    let ms: AccountId = decode_output(&r).expect("multisig");
    send(&mut chain, "plain", Call::Transfer { to: ms, amount: 1_000 });
    let to = k("tj-registrar").id;
    let before = chain.balance(&to);
    let body = ProposalBody::MultisigCall {
        account: ms,
        call: Box::new(Call::Transfer { to, amount: 300 }),
        gas_limit: 1_000_000,
    };
    let spec = ProposalSpec { body, expires_at: chain.height() + 10, memo: "pay the supplier".into() };
    assert!(fails(&send(&mut chain, "tj-admin", Call::Propose { spec: spec.clone(), approvals: vec![] }))
        .contains("may not propose"));
    let r = send(&mut chain, "plain", Call::Propose { spec, approvals: vec![] });
    let (id, done): (u64, bool) = decode_output(&r).expect("propose");
    assert!(!done);
    assert_eq!(chain.balance(&to), before);
    assert_eq!(approve(&mut chain, "bank", id).expect("approve"), (id, true));
    assert_eq!(chain.balance(&to), before + 300);
    assert_eq!(chain.balance(&ms), 700);
}

#[test]
fn an_upgrade_keeps_storage_and_the_registry_names_the_official_instance() {
    let mut chain = alliance();
    let c = counter(&mut chain);
    assert!(send(&mut chain, "plain", Call::Call { contract: c, input: msg::bump(41), value: 0 }).is_success());
    // New code: the counter with a different byte in a custom section is a different hash but
    // the same behaviour; upload it and upgrade by proposal.
    let mut v2 = contract_wasm("counter");
    v2.extend_from_slice(&[0, 4, 2, b'v', b'2', 0]);
    let r = send(&mut chain, "deployer", Call::UploadCode { code: v2.clone() });
    let v2_hash: Hash = decode_output(&r).expect("upload v2");
    let st = pass(&mut chain, GovAction::UpgradeContract { contract: c, code_hash: v2_hash });
    assert!(matches!(st, ProposalStatus::Executed { .. }), "{st:?}");
    let r = send(&mut chain, "plain", Call::Call { contract: c, input: msg::get(), value: 0 });
    assert_eq!(u64::decode(&mut &r.output[..]).expect("u64"), 42, "storage kept across the upgrade");
    let info = jjj_state::load_contract(&overlay(&chain), &c).expect("s").expect("c");
    assert_eq!(info.code_hash, v2_hash);
    let history = jjj_executive::gov::code_history(&overlay(&chain), &c).expect("history");
    let v1_hash = jjj_testkit::test_suite().hash_algo().hash(&contract_wasm("counter"));
    let hashes: Vec<Hash> = history.iter().map(|h| h.code_hash).collect();
    assert_eq!(hashes, [v1_hash, v2_hash], "the instantiation's code, then the upgrade's");

    let st = pass(&mut chain, GovAction::RegisterName { name: "counter".into(), address: Some(c) });
    assert!(matches!(st, ProposalStatus::Executed { .. }));
    let got = jjj_state::load_record::<AccountId>(&overlay(&chain), &jjj_state::gov::keys::name("counter")).expect("s");
    assert_eq!(got, Some(c));
    let bad = Call::Propose {
        spec: ProposalSpec {
            body: ProposalBody::Gov(GovAction::RegisterName { name: "北京".into(), address: Some(c) }),
            expires_at: chain.height() + 5,
            memo: String::new(),
        },
        approvals: vec![],
    };
    assert!(fails(&send(&mut chain, "bj-admin", bad)).contains("may only hold lowercase"));
}

/// Proposes `action` as bj-admin and returns the refusal.
fn refused_proposal(chain: &mut TestChain, action: GovAction) -> String {
    let spec = ProposalSpec { body: ProposalBody::Gov(action), expires_at: chain.height() + 5, memo: String::new() };
    fails(&send(chain, "bj-admin", Call::Propose { spec, approvals: vec![] }))
}

#[test]
fn an_upgrade_that_cannot_read_the_storage_is_refused_when_proposed_with_the_item_named() {
    let mut chain = alliance();
    let c = counter(&mut chain);
    let v1 = contract_wasm("counter");
    let layout = jjj_layout::read_layout_section(&v1).expect("readable").expect("the build embeds the layout");
    assert_eq!(layout.items.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["COUNT", "OWNER"]);

    // The same code claiming COUNT now holds a string: the stored u64 would not decode.
    let mut changed = layout.clone();
    changed.items[0].value = jjj_layout::Shape::Primitive(jjj_layout::Primitive::Str);
    let mut bad = v1.clone();
    jjj_layout::append_layout_section(&mut bad, &changed);
    let r = send(&mut chain, "deployer", Call::UploadCode { code: bad });
    let bad_hash: Hash = decode_output(&r).expect("upload");
    let why = refused_proposal(&mut chain, GovAction::UpgradeContract { contract: c, code_hash: bad_hash });
    assert!(why.contains("cannot read the contract's storage") && why.contains("COUNT"), "{why}");
    assert!(!why.contains("OWNER"), "only the changed item is named: {why}");

    // A new item and a renamed static over the same namespace are fine: nothing stored changes.
    let mut grown = layout.clone();
    grown.items[1].name = "ADMIN".into();
    let mut extra = layout.items[0].clone();
    extra.name = "LIMIT".into();
    extra.namespace = b"limit".to_vec();
    grown.items.push(extra);
    let mut good = v1.clone();
    jjj_layout::append_layout_section(&mut good, &grown);
    let r = send(&mut chain, "deployer", Call::UploadCode { code: good });
    let good_hash: Hash = decode_output(&r).expect("upload");
    let st = pass(&mut chain, GovAction::UpgradeContract { contract: c, code_hash: good_hash });
    assert!(matches!(st, ProposalStatus::Executed { .. }), "{st:?}");

    // Code without a layout cannot take over code that has one.
    let bare = contract_wasm_without_layout(&v1);
    assert_eq!(jjj_layout::read_layout_section(&bare).expect("readable"), None);
    let r = send(&mut chain, "deployer", Call::UploadCode { code: bare });
    let bare_hash: Hash = decode_output(&r).expect("upload");
    let why = refused_proposal(&mut chain, GovAction::UpgradeContract { contract: c, code_hash: bare_hash });
    assert!(why.contains("carries no storage layout"), "{why}");
}

/// `wasm` with its custom sections dropped (walks the top-level sections: id, LEB128 size).
fn contract_wasm_without_layout(wasm: &[u8]) -> Vec<u8> {
    let mut out = wasm[..8].to_vec();
    let mut pos = 8;
    while pos < wasm.len() {
        let id = wasm[pos];
        let (mut size, mut shift, mut p) = (0usize, 0, pos + 1);
        loop {
            let b = wasm[p];
            size |= usize::from(b & 0x7f) << shift;
            shift += 7;
            p += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        let end = p + size;
        if id != 0 {
            out.extend_from_slice(&wasm[pos..end]);
        }
        pos = end;
    }
    out
}

#[test]
fn the_genesis_builder_is_deterministic_and_refuses_nonsense() {
    let spec = GenesisSpec::dev(&[(k("a").id, 5), (k("b").id, 7)]);
    assert_eq!(spec.changes().expect("genesis"), spec.changes().expect("genesis"));
    let mut bad = spec.clone();
    bad.accounts[1].member = "nobody".into();
    assert!(bad.changes().expect_err("unknown member").contains("unknown member nobody"));
    let none = GenesisSpec::default();
    assert!(none.changes().expect_err("no members").contains("no member"));
}
