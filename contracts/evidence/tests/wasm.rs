//! Evidence anchoring as real wasm on the runtime's test chain: a court registers a contract's
//! hash, the registration is proven against a certified block (what `jjj audit verify-receipt`
//! checks offline), the evidence is handed on and annotated; duplicates, strangers and
//! non-owners refused.
use evidence::{msg, CustodyEntry, EvidenceEvent, Record, Step, NOTARY};
use jjj_consensus::ValidatorSet;
use jjj_crypto::Keypair;
use jjj_primitives::{AccountId, Hash, Receipt};
use jjj_sdk::codec::Decode;
use jjj_testkit::{contract_wasm, TestAccount, TestChain};

const FUNDS: u64 = 10_000_000;

fn document(text: &str) -> Hash {
    Hash(jjj_sdk::testing::TestEnv::account(text).0)
}

fn events(r: &Receipt) -> Vec<EvidenceEvent> {
    r.events.iter().map(|e| EvidenceEvent::decode(&mut &e.data[..]).expect("event decodes")).collect()
}

struct World {
    chain: TestChain,
    c: AccountId,
    court: TestAccount,
    owner: TestAccount,
    lawyer: TestAccount,
}

fn world() -> World {
    let mut chain = TestChain::new();
    let deployer = chain.account("deployer", FUNDS);
    let court = chain.account("beijing-internet-court", FUNDS);
    let owner = chain.account("hebei-seller", FUNDS);
    let lawyer = chain.account("tianjin-law-firm", FUNDS);
    chain.set_roles(&court.id, &[NOTARY]);
    let code = chain.upload(&deployer, &contract_wasm("evidence")).expect("upload");
    let c = chain.instantiate(&deployer, code, 0, msg::new()).expect("instantiate");
    World { chain, c, court, owner, lawyer }
}

#[test]
fn a_registration_is_proven_against_a_certified_block_and_custody_is_kept() {
    let World { mut chain, c, court, owner, lawyer } = world();
    let hash = document("买卖合同 2026-11 v1.pdf");
    let r = chain.call(&court, &c, 0, msg::register(hash, "买卖合同".into(), owner.id));
    assert!(r.is_success(), "{:?}", r.reason());
    let id = u64::decode(&mut &r.output[..]).expect("id");
    assert_eq!(events(&r), [EvidenceEvent::Registered { id, hash, owner: owner.id, kind: "买卖合同".into() }]);
    let height = chain.height();

    // Existence at that height, proven the way a court checks it offline: the registration's
    // receipt under a block certified by the network's validators, carrying the hash.
    let validators: Vec<Keypair> = (1..=4).map(|i| TestChain::key(&format!("validator-{i}")).key).collect();
    let set = ValidatorSet::new(validators.iter().map(Keypair::account).collect()).expect("set");
    let proof = chain.receipt_proof(&r.tx_hash, &validators[..3]).expect("in a block");
    let verified = proof.verify(jjj_testkit::test_suite(), chain.network(), &set).expect("the proof holds");
    assert_eq!(verified.height, height);
    let proven = EvidenceEvent::decode(&mut &verified.receipt.events[0].data[..]).expect("event");
    assert!(matches!(proven, EvidenceEvent::Registered { hash: h, .. } if h == hash));
    let mut forged = proof.clone();
    forged.receipt.events[0].data[1] ^= 1;
    assert!(forged.verify(jjj_testkit::test_suite(), chain.network(), &set).is_err(), "another hash is not proven");

    let found: Option<Record> = chain.query(&lawyer.id, &c, msg::by_hash(hash)).expect("query");
    assert_eq!(found.map(|r| (r.id, r.height, r.registered_by)), Some((id, height, court.id)));

    let r = chain.call(&owner, &c, 0, msg::transfer(id, lawyer.id));
    assert!(r.is_success(), "{:?}", r.reason());
    assert_eq!(events(&r), [EvidenceEvent::Transferred { id, from: owner.id, to: lawyer.id }]);
    let r = chain.call(&court, &c, 0, msg::annotate(id, "鉴定意见已附".into(), Some(document("鉴定意见书"))));
    assert!(r.is_success(), "{:?}", r.reason());
    let custody: Vec<CustodyEntry> = chain.query(&lawyer.id, &c, msg::custody(id, 0, 10)).expect("query");
    let steps: Vec<Step> = custody.into_iter().map(|e| e.step).collect();
    assert_eq!(steps.len(), 3);
    assert!(matches!(steps[1], Step::Transferred { to, .. } if to == lawyer.id));
}

#[test]
fn duplicates_strangers_and_non_owners_are_refused_as_wasm() {
    let World { mut chain, c, court, owner, lawyer } = world();
    let hash = document("合同");
    let id: u64 = chain.call_ok(&court, &c, 0, msg::register(hash, "合同".into(), owner.id));
    let e = chain.call_err(&court, &c, 0, msg::register(hash, "合同".into(), lawyer.id));
    assert!(e.contains(&format!("duplicate: hash {hash} is evidence #{id} already")), "{e}");
    let e = chain.call_err(&owner, &c, 0, msg::register(document("b"), "照片".into(), owner.id));
    assert!(e.contains("only a notary registers evidence"), "{e}");
    let e = chain.call_err(&lawyer, &c, 0, msg::transfer(id, lawyer.id));
    assert!(e.contains("only evidence #1's owner"), "{e}");
    let e = chain.call_err(&lawyer, &c, 0, msg::annotate(id, "改".into(), None));
    assert!(e.contains("owner or a notary"), "{e}");
    let count: u64 = chain.query(&lawyer.id, &c, msg::count()).expect("query");
    assert_eq!(count, 1);
}
