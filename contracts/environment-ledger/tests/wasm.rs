//! Cross-network receipts on the real runtime: a manifest disposed of on one chain (津冀,
//! `waste-disposal`), its `confirm_disposal` proven to the environmental ledger on another
//! (京津冀) through the host function `verify_receipt` and the light-client record of 津冀's
//! validators. A valid proof is recorded once; a forged header, a certificate of other
//! validators, a set since replaced (stale), a tampered receipt, an untrusted network, another
//! contract's call and a failed disposal are all refused.
use environment_ledger::{msg, Disposal};
use jjj_consensus::ReceiptProof;
use jjj_crypto::Keypair;
use jjj_primitives::{AccountId, Hash, Receipt};
use jjj_testkit::{contract_wasm, contracts_dir, TestAccount, TestChain};
use jjj_transcode::LoadedMetadata;
use parity_scale_codec::Encode;
use serde_json::json;

const FUNDS: u64 = 10_000_000;

fn waste_meta() -> LoadedMetadata {
    let json = std::fs::read_to_string(contracts_dir().join("waste_disposal.json")).expect("build the contracts first");
    LoadedMetadata::from_json(&json).expect("metadata")
}

fn call(meta: &LoadedMetadata, message: &str, args: serde_json::Value) -> Vec<u8> {
    jjj_transcode::encode_call(meta, message, &args).expect("encodes")
}

/// 津冀: a Hebei plant's manifest to a Hebei facility, carried and disposed of.
struct Source {
    chain: TestChain,
    waste: AccountId,
    facility: TestAccount,
    validators: Vec<Keypair>,
    /// The `confirm_disposal` transaction, a failed one, and a plain transfer.
    disposed: Hash,
    failed: Hash,
    transfer: Hash,
}

fn source() -> Source {
    let meta = waste_meta();
    let mut chain = TestChain::new().named("jinji");
    let admin = chain.account("admin", FUNDS);
    let plant = chain.account("tangshan-plant", FUNDS);
    let transporter = chain.account("jinji-logistics", FUNDS);
    let facility = chain.account("langfang-facility", FUNDS);
    let code = chain.upload(&admin, &contract_wasm("waste_disposal")).expect("upload");
    let waste = chain.instantiate(&admin, code, 0, call(&meta, "new", json!([500]))).expect("instantiate");
    chain.set_roles(&admin.id, &["deployer", "member-admin"]);
    chain.set_roles(&transporter.id, &["transporter"]);
    chain.set_roles(&facility.id, &["facility"]);
    chain.set_member(&facility.id, "hebei", jjj_primitives::gov::Region::Hebei);
    let ok = |chain: &mut TestChain, who: &TestAccount, value: u64, input: Vec<u8>| {
        let r = chain.call(who, &waste, value, input);
        assert!(r.is_success(), "{:?}", r.reason());
        r
    };
    ok(&mut chain, &admin, 0, call(&meta, "register_transporter", json!([transporter.id.to_string(), "冀运"])));
    ok(
        &mut chain,
        &facility,
        0,
        call(&meta, "register_facility", json!([facility.id.to_string(), "廊坊处置中心", "Hebei"])),
    );
    let create = call(
        &meta,
        "create_manifest",
        json!(["Hazardous", 800, "Hebei", "Hebei", transporter.id.to_string(), facility.id.to_string(), 3000]),
    );
    ok(&mut chain, &plant, 80_000, create);
    // Disposal before receipt fails: a real, finalised, failed confirm_disposal.
    let failed = chain.call(&facility, &waste, 0, call(&meta, "confirm_disposal", json!([1])));
    assert!(!failed.is_success());
    ok(&mut chain, &transporter, 0, call(&meta, "confirm_pickup", json!([1])));
    ok(&mut chain, &facility, 0, call(&meta, "confirm_receipt", json!([1, 805])));
    let disposed: Receipt = ok(&mut chain, &facility, 0, call(&meta, "confirm_disposal", json!([1])));
    let transfer = chain.submit(&plant, jjj_primitives::Call::Transfer { to: admin.id, amount: 1 }).tx_hash;
    let validators = (1..=4).map(|i| TestChain::key(&format!("jinji-validator-{i}")).key).collect();
    Source { chain, waste, facility, validators, disposed: disposed.tx_hash, failed: failed.tx_hash, transfer }
}

/// 京津冀: the ledger, a Hebei agency registered as 津冀's source, 津冀's validators trusted.
fn target(src: &Source) -> (TestChain, AccountId, TestAccount) {
    let mut chain = TestChain::new().named("jingjinji");
    let agency = chain.account("hebei-epb", FUNDS);
    let code = chain.upload(&agency, &contract_wasm("environment_ledger")).expect("upload");
    let ledger = chain.instantiate(&agency, code, 0, msg::new()).expect("instantiate");
    chain.set_roles(&agency.id, &["environment-agency"]);
    let _: () = chain.call_ok(&agency, &ledger, 0, msg::register_source("jinji".into(), src.waste));
    let trusted: Vec<AccountId> = src.validators.iter().map(|k| k.account()).collect();
    chain.trust_network(src.chain.network(), &trusted);
    (chain, ledger, agency)
}

fn proof(src: &Source, tx: &Hash, signers: &[Keypair]) -> ReceiptProof {
    src.chain.receipt_proof(tx, signers).expect("the source chain holds the transaction")
}

#[test]
fn a_disposal_proven_on_one_network_is_recorded_on_another_once() {
    let src = source();
    let (mut chain, ledger, agency) = target(&src);
    // Three of four validators sign: a quorum.
    let p = proof(&src, &src.disposed, &src.validators[..3]);
    let d: Disposal = chain.call_ok(&agency, &ledger, 0, msg::record_disposal(p.encode()));
    assert_eq!((d.network.as_str(), d.manifest_id, d.facility, d.tx_hash), ("jinji", 1, src.facility.id, src.disposed));
    assert_eq!(d.height, p.header.height);
    let listed: Vec<Disposal> = chain.query(&agency.id, &ledger, msg::disposals(0, 10)).expect("query");
    assert_eq!(listed, vec![d]);
    let again = chain.call_err(&agency, &ledger, 0, msg::record_disposal(p.encode()));
    assert!(again.contains("recorded already"), "{again}");
}

#[test]
fn forged_stale_foreign_and_tampered_proofs_are_refused() {
    let src = source();
    let (mut chain, ledger, agency) = target(&src);
    let good = proof(&src, &src.disposed, &src.validators[..3]);
    let mut refused = |p: &ReceiptProof, why: &str| {
        let e = chain.call_err(&agency, &ledger, 0, msg::record_disposal(p.encode()));
        assert!(e.contains(why), "expected {why:?} in {e:?}");
    };
    // A forged header: its certificate no longer certifies it.
    let mut forged = good.clone();
    forged.header.timestamp += 1;
    refused(&forged, "the certificate is for another block");
    // Too few of the trusted validators, or other validators altogether.
    refused(&proof(&src, &src.disposed, &src.validators[..2]), "not signed by a quorum");
    let strangers: Vec<Keypair> = (1..=4).map(|i| TestChain::key(&format!("impostor-{i}")).key).collect();
    refused(&proof(&src, &src.disposed, &strangers), "not signed by a quorum");
    // A tampered receipt (another outcome) or transaction.
    let mut tampered = good.clone();
    tampered.receipt.gas_used += 1;
    refused(&tampered, "does not lead to the receipts root");
    let mut other_tx = good.clone();
    other_tx.transaction.tx.nonce += 1;
    refused(&other_tx, "receipt is for transaction");
    // A failed disposal, proven all the same, records nothing.
    refused(&proof(&src, &src.failed, &src.validators[..3]), "failed on jinji");
    // A transaction of the trusted network that calls no contract (a transfer).
    refused(&proof(&src, &src.transfer, &src.validators[..3]), "calls no contract");
    // The code upload: its proof is over the size a contract may hand the host.
    let upload = src.chain.blocks[0].transactions[0].hash(src.chain.runtime().hash_algo());
    refused(&proof(&src, &upload, &src.validators[..3]), "over the limit of 65536 bytes");
    // Garbage.
    let e = chain.call_err(&agency, &ledger, 0, msg::record_disposal(vec![1, 2, 3]));
    assert!(e.contains("does not decode"), "{e}");
    // A stale set: 津冀 changed its validators and governance here recorded the new set, so a
    // certificate of the old one no longer proves anything.
    let new_set: Vec<AccountId> = (5..=8).map(|i| TestChain::key(&format!("jinji-validator-{i}")).id).collect();
    chain.trust_network(src.chain.network(), &new_set);
    let e = chain.call_err(&agency, &ledger, 0, msg::record_disposal(good.encode()));
    assert!(e.contains("not signed by a quorum"), "{e}");
    // An untrusted network.
    let mut elsewhere = TestChain::new().named("jingjin");
    let payer = elsewhere.account("payer", FUNDS);
    let sink = elsewhere.account("sink", 0);
    let r = elsewhere.submit(&payer, jjj_primitives::Call::Transfer { to: sink.id, amount: 1 });
    let p = elsewhere.receipt_proof(&r.tx_hash, &src.validators[..3]).expect("proof");
    let e = chain.call_err(&agency, &ledger, 0, msg::record_disposal(p.encode()));
    assert!(e.contains("does not trust network jingjin"), "{e}");
}
