//! The permission matrix: every built-in role × every governed action — upload, instantiate and
//! every message of the three contracts — gives exactly the expected allow or deny through the
//! real state transition.
//!
//! The method policies are the ones an alliance would set for these contracts (who issues bills,
//! who approves manifests…), each passed by proposal. "Allowed" means the permission check let
//! the call through to the contract (which may still refuse it for its own reasons: the input is
//! the bare selector); "denied" means the receipt failed with the permission layer's reason and
//! no contract code ran.
use jjj_executive::{GenesisAccountSpec, GenesisSpec};
use jjj_primitives::gov::*;
use jjj_primitives::*;
use jjj_state::gov::ProposalStatus;
use jjj_testkit::{contract_wasm, decode_output, TestChain};
use std::collections::BTreeMap;

/// Who, beyond the default, may call each message (absent: open to every registered account).
fn policies() -> BTreeMap<(&'static str, &'static str), Vec<&'static str>> {
    use roles::*;
    let mut p = BTreeMap::new();
    for m in ["register_provider", "set_provider_active"] {
        p.insert(("utility_bills", m), vec![UTILITY_PROVIDER, MEMBER_ADMIN]);
    }
    p.insert(("utility_bills", "issue_bill"), vec![UTILITY_PROVIDER]);
    p.insert(("utility_bills", "pay"), vec![RESIDENT]);
    p.insert(("waste_disposal", "register_agency"), vec![ENVIRONMENT_AGENCY, MEMBER_ADMIN]);
    p.insert(("waste_disposal", "register_transporter"), vec![TRANSPORTER, MEMBER_ADMIN]);
    p.insert(("waste_disposal", "register_facility"), vec![FACILITY, MEMBER_ADMIN]);
    for m in ["set_tolerance", "approve", "reject", "clear_flag"] {
        p.insert(("waste_disposal", m), vec![ENVIRONMENT_AGENCY]);
    }
    p.insert(("waste_disposal", "confirm_pickup"), vec![TRANSPORTER]);
    for m in ["confirm_receipt", "confirm_disposal"] {
        p.insert(("waste_disposal", m), vec![FACILITY]);
    }
    p.insert(("ecommerce_agreement", "resolve_dispute"), vec![ARBITRATOR]);
    p
}

fn metadata(contract: &str) -> jjj_sdk::metadata::ContractMetadata {
    match contract {
        "utility_bills" => utility_bills::UtilityBills::metadata(),
        "waste_disposal" => waste_disposal::WasteDisposal::metadata(),
        _ => ecommerce_agreement::EcommerceAgreement::metadata(),
    }
}

fn selector(hex_selector: &str) -> [u8; 4] {
    let bytes = hex::decode(hex_selector.trim_start_matches("0x")).expect("selector hex");
    bytes.try_into().expect("4 bytes")
}

const PERMISSION_DENIED: &str = "permission denied";

#[test]
fn every_role_and_every_governed_action() {
    let key = |n: &str| TestChain::key(n).id;
    let account = |n: &str, roles: &[&str]| GenesisAccountSpec {
        account: key(n),
        member: "beijing".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        balance: 1_000_000_000,
    };
    let mut accounts = vec![account("no-role", &[])];
    accounts.extend(roles::KNOWN.iter().map(|role| account(role, &[role])));
    let mut chain = TestChain::with_genesis(&GenesisSpec {
        members: vec![MemberSpec {
            id: "beijing".into(),
            name: "北京".into(),
            region: Region::Beijing,
            admins: vec![key("admin")],
            admin_threshold: 1,
        }],
        accounts,
        thresholds: vec![],
        member_grantable: vec![roles::RESIDENT.into()],
    });
    let send = |chain: &mut TestChain, who: &str, call: Call| {
        let a = TestChain::key(who);
        chain.try_submit(a.id, &a.key, call).unwrap_or_else(|e| panic!("{who}'s transaction refused: {e}"))
    };
    let pass = |chain: &mut TestChain, action: GovAction| {
        let spec =
            ProposalSpec { body: ProposalBody::Gov(action), expires_at: chain.height() + 10, memo: String::new() };
        let r = send(chain, "admin", Call::Propose { spec, approvals: vec![] });
        let (id, reached): (u64, bool) = decode_output(&r).expect("proposal");
        assert!(reached, "proposal {id} should execute with the only member's admin");
        let p = jjj_state::gov::load_proposal(&jjj_state::Overlay::new(chain.state()), id).expect("s").expect("p");
        assert!(matches!(p.status, ProposalStatus::Executed { .. }), "{:?}", p.status);
    };

    // Upload and instantiate: the deployer role, by default.
    let contracts = ["utility_bills", "waste_disposal", "ecommerce_agreement"];
    let mut addresses = BTreeMap::new();
    for (i, contract) in contracts.into_iter().enumerate() {
        let code = contract_wasm(contract);
        let mut code_hash = None;
        for who in std::iter::once("no-role").chain(roles::KNOWN) {
            let r = send(&mut chain, who, Call::UploadCode { code: code.clone() });
            let denied = r.reason().is_some_and(|why| why.contains(PERMISSION_DENIED));
            assert_eq!(denied, who != roles::DEPLOYER, "upload of {contract} by {who}: {:?}", r.reason());
            if !denied {
                code_hash = Some(decode_output::<Hash>(&r).expect("code hash"));
            }
        }
        let code_hash = code_hash.expect("the deployer uploaded it");
        let input = match i {
            0 => utility_bills::msg::new(),
            1 => waste_disposal::msg::new(500),
            _ => ecommerce_agreement::msg::new(),
        };
        for who in std::iter::once("no-role").chain(roles::KNOWN) {
            let r = send(&mut chain, who, Call::Instantiate { code_hash, input: input.clone(), value: 0 });
            let denied = r.reason().is_some_and(|why| why.contains(PERMISSION_DENIED));
            assert_eq!(denied, who != roles::DEPLOYER, "instantiate of {contract} by {who}: {:?}", r.reason());
            if !denied {
                addresses.insert(contract, decode_output::<AccountId>(&r).expect("address"));
            }
        }
    }

    // The alliance's policies for the contracts' messages.
    let policies = policies();
    for ((contract, message), allowed) in &policies {
        let spec = metadata(contract);
        let m = spec.message(message).unwrap_or_else(|| panic!("{contract} has no message {message}"));
        let action = Action::Method { contract: addresses[contract], selector: selector(&m.selector) };
        let policy = Policy { roles: allowed.iter().map(|r| r.to_string()).collect(), members: vec![] };
        pass(&mut chain, GovAction::SetPermission { action, policy: Some(policy) });
    }

    // Every role (and no role) × every message of the three contracts.
    let mut checked = 0;
    for contract in contracts {
        for m in &metadata(contract).messages {
            let input = selector(&m.selector).to_vec();
            let action = Action::Method { contract: addresses[contract], selector: selector(&m.selector) };
            let allowed = policies.get(&(contract, m.name.as_str()));
            for who in std::iter::once("no-role").chain(roles::KNOWN) {
                let call = Call::Call { contract: addresses[contract], input: input.clone(), value: 0 };
                let r = send(&mut chain, who, call);
                let denied = r.reason().is_some_and(|why| why.contains(PERMISSION_DENIED));
                let expected_denied = allowed.is_some_and(|roles| !roles.contains(&who));
                assert_eq!(
                    denied,
                    expected_denied,
                    "{contract}::{} by {who} (policy {allowed:?}): {:?}",
                    m.name,
                    r.reason()
                );
                if denied {
                    let why = r.reason().unwrap_or_default();
                    assert!(why.contains(&action.to_string()), "the refusal names the action: {why}");
                }
                checked += 1;
            }
        }
    }
    // 13 callers (12 roles and none) × the 51 messages of the three contracts, besides the 78
    // uploads and instantiations.
    let messages: usize = contracts.iter().map(|c| metadata(c).messages.len()).sum();
    assert_eq!(messages, 51);
    assert_eq!(checked, 13 * messages);
}
