//! `jjj audit receipt`: verify one transaction's receipt from a proof the node sends;
//! `jjj audit state-proof`: fetch and verify a state key's value at a height;
//! `jjj audit verify-receipt`: check either proof offline, against the validator-set history;
//! `jjj audit access`: fetch a node's access log, check its hash chain, print it.
use jjj_config::Genesis;
use jjj_primitives::access::{AccessDecision, AccessEntry};
use jjj_primitives::*;
use jjj_rpc_api::{NodeApiClient, Rpc};
use parity_scale_codec::Decode;
use std::path::Path;

/// What a verified transaction proof says.
#[derive(Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    pub height: u64,
    pub index: u32,
    pub transaction: SignedTransaction,
    pub receipt: Receipt,
}

/// `jjj audit receipt`: fetches the proof of `tx` and its receipt from the node, saves it to
/// `out` if asked, and verifies it (see [`verify_tx_proof`]).
pub async fn receipt(
    rpc_url: &str,
    genesis_path: &Path,
    sets: Option<&Path>,
    tx: &str,
    out: Option<&Path>,
    scale: bool,
) -> Result<(), String> {
    let genesis = Genesis::load(genesis_path)?;
    let (history, followed) = crate::follow::sets_or_genesis(&genesis, sets)?;
    let tx_hash = jjj_config::parse_hash(tx).map_err(|e| format!("transaction hash: {e}"))?;
    let rpc = Rpc::new(rpc_url)?;
    let proof = rpc
        .api()
        .tx_proof(genesis.network.clone(), tx_hash.to_string())
        .await
        .map_err(|e| rpc.explain(e))?
        .ok_or_else(|| format!("the node knows no finalised transaction {tx_hash} on network {}", genesis.network))?;
    if let Some(out) = out {
        let text = serde_json::to_string_pretty(&proof).map_err(|e| e.to_string())?;
        std::fs::write(out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        println!("proof saved to {} (check it anywhere with `jjj audit verify-receipt`)", out.display());
    }
    report(&genesis, &verify_tx_proof(&genesis, &history, Some(&tx_hash), &proof)?, followed);
    if scale {
        println!("{}", jjj_rpc_api::hex0x(&parity_scale_codec::Encode::encode(&receipt_proof(&proof)?)));
    }
    Ok(())
}

/// `jjj audit verify-receipt`: verifies a saved proof offline: a transaction proof
/// (`tx_getProof`, `jjj audit receipt --out`) or a state proof (`state_getProof`, `jjj audit
/// state-proof --out`), against the validator-set history `sets` (`jjj follow --sets`, `jjj
/// audit replay --sets-out`), or the genesis validators alone without it.
pub fn verify_receipt_file(
    genesis_path: &Path,
    sets: Option<&Path>,
    file: &Path,
    metadata: &[std::path::PathBuf],
) -> Result<(), String> {
    let metas = metadata.iter().map(|p| crate::contract::load_metadata(p)).collect::<Result<Vec<_>, String>>()?;
    let genesis = Genesis::load(genesis_path)?;
    let (history, followed) = crate::follow::sets_or_genesis(&genesis, sets)?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if let Ok(proof) = serde_json::from_str::<jjj_rpc_api::StateProofJson>(&text) {
        return report_state(&verify_state_proof(&genesis, &history, &proof)?, followed);
    }
    let proof: jjj_rpc_api::TxProofJson = serde_json::from_str(&text)
        .map_err(|e| format!("{} is neither a transaction proof nor a state proof: {e}", file.display()))?;
    let verified = verify_tx_proof(&genesis, &history, None, &proof)?;
    report(&genesis, &verified, followed);
    describe(&verified, &metas);
    Ok(())
}

/// What a proven transaction did, decoded through contract metadata where one fits: the call
/// and each event (a court reads the registered hash, a resident the bill paid).
fn describe(v: &VerifiedReceipt, metas: &[jjj_transcode::LoadedMetadata]) {
    if metas.is_empty() {
        return;
    }
    let mut called = None;
    if let Call::Call { contract, input, value } = &v.transaction.tx.call {
        let fit = metas.iter().find_map(|m| jjj_transcode::decode_call(m, input).ok().map(|d| (m, d)));
        match fit {
            Some((m, d)) => {
                println!("  call {}.{}({}) on {contract}, value {value} fen", m.name, d.name, d.args);
                called = Some(m);
            }
            None => println!("  call of {contract} (no metadata given fits it)"),
        }
    }
    for e in &v.receipt.events {
        let decoded = called
            .into_iter()
            .chain(metas.iter())
            .find_map(|m| jjj_transcode::decode_event(m, &e.data).ok().map(|j| format!("{}: {j}", m.name)));
        println!("  event from {}: {}", e.contract, decoded.unwrap_or_else(|| jjj_rpc_api::hex0x(&e.data)));
    }
}

fn trust_line(followed: bool) -> &'static str {
    if followed {
        "certified by a quorum of the validator set of its height (from the validator-set history)"
    } else {
        "certified by a quorum of the genesis validators (no --sets: a validator-set change governance made later \
         is not known; follow the network with `jjj follow --sets FILE` and pass it)"
    }
}

fn report(genesis: &Genesis, v: &VerifiedReceipt, followed: bool) {
    let outcome = match v.receipt.reason() {
        None => "succeeded".to_string(),
        Some(reason) => format!("failed: {reason}"),
    };
    println!(
        "transaction {} verified: #{} of block {} on {}, sent by {}, {outcome}, {} gas, {} event(s)",
        v.receipt.tx_hash,
        v.index,
        v.height,
        genesis.network,
        v.transaction.tx.sender,
        v.receipt.gas_used,
        v.receipt.events.len()
    );
    println!(
        "the transaction and its receipt are under the block's tx and receipts roots; the block is {}",
        trust_line(followed)
    );
}

/// What a verified state proof says.
pub struct VerifiedState {
    pub height: u64,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

fn report_state(v: &VerifiedState, followed: bool) -> Result<(), String> {
    let what = match (v.key.first(), &v.value) {
        (_, None) => "absent".to_string(),
        (Some(&jjj_state::keys::ACCOUNT), Some(bytes)) => match jjj_state::Account::decode(&mut &bytes[..]) {
            Ok(a) => format!("account: balance {} fen, nonce {}", a.balance, a.nonce),
            Err(_) => jjj_rpc_api::hex0x(bytes),
        },
        (_, Some(bytes)) => jjj_rpc_api::hex0x(bytes),
    };
    println!("state key {} at height {} verified: {what}", jjj_rpc_api::hex0x(&v.key), v.height);
    println!("the value (or its absence) is under the block's state root; the block is {}", trust_line(followed));
    Ok(())
}

/// Checks a state proof against the auditor's genesis and validator-set history.
pub fn verify_state_proof(
    genesis: &Genesis,
    history: &jjj_light::SetHistory,
    proof: &jjj_rpc_api::StateProofJson,
) -> Result<VerifiedState, String> {
    let suite = genesis.suite()?;
    let decode = |what: &str, s: &str| jjj_rpc_api::unhex(s).map_err(|e| format!("the proof's {what}: {e}"));
    let header =
        Header::decode(&mut &decode("header", &proof.header)?[..]).map_err(|e| format!("the proof's header: {e}"))?;
    if header.height != proof.height {
        return Err(format!("the proof says height {}, its header is of height {}", proof.height, header.height));
    }
    let certificate = match &proof.certificate {
        None => None,
        Some(c) => Some(
            jjj_consensus::CommitCertificate::decode(&mut &decode("certificate", c)?[..])
                .map_err(|e| format!("the proof's certificate: {e}"))?,
        ),
    };
    let state = jjj_light::CertifiedStateProof {
        header,
        certificate,
        key: decode("key", &proof.key)?,
        value: proof.value.as_deref().map(|v| decode("value", v)).transpose()?,
        proof: decode("branch", &proof.proof)?,
    };
    history.verify_state(suite, &state).map_err(|e| e.to_string())?;
    Ok(VerifiedState { height: proof.height, key: state.key, value: state.value })
}

/// The signed read request (0x SCALE `SignedRead`) `state_getProof` needs for a contract's
/// storage key, by `reader`; `None` for other keys or without a reader.
pub fn storage_read_request(reader: Option<&jjj_crypto::Keypair>, network: &NetworkId, key: &[u8]) -> Option<String> {
    let (contract, own_key) = jjj_state::keys::storage_parts(key)?;
    let r = reader?.sign_read(network.clone(), contract, own_key, crate::tx::now_ms(), rand::random());
    Some(jjj_rpc_api::hex0x(&parity_scale_codec::Encode::encode(&r)))
}

/// `jjj audit state-proof`: fetches a key's proof at a height, verifies it, saves it if asked.
pub async fn state_proof(
    rpc_url: &str,
    genesis_path: &Path,
    sets: Option<&Path>,
    key: &[u8],
    height: Option<u64>,
    reader: Option<&Path>,
    out: Option<&Path>,
) -> Result<(), String> {
    let genesis = Genesis::load(genesis_path)?;
    let (history, followed) = crate::follow::sets_or_genesis(&genesis, sets)?;
    let reader = reader.map(jjj_config::load_key).transpose()?;
    let read = storage_read_request(reader.as_ref(), &genesis.network_id()?, key);
    let rpc = Rpc::new(rpc_url)?;
    let proof = rpc
        .api()
        .state_proof(genesis.network.clone(), jjj_rpc_api::hex0x(key), height, read)
        .await
        .map_err(|e| rpc.explain(e))?;
    if let Some(out) = out {
        let text = serde_json::to_string_pretty(&proof).map_err(|e| e.to_string())?;
        std::fs::write(out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        println!("proof saved to {} (check it anywhere with `jjj audit verify-receipt`)", out.display());
    }
    report_state(&verify_state_proof(&genesis, &history, &proof)?, followed)
}

/// The proof `tx_getProof` sends (JSON, hex fields) as the one SCALE value the chain checks.
pub fn receipt_proof(proof: &jjj_rpc_api::TxProofJson) -> Result<jjj_consensus::ReceiptProof, String> {
    let decode = |what: &str, s: &str| jjj_rpc_api::unhex(s).map_err(|e| format!("the proof's {what}: {e}"));
    let branch = |what: &str, hs: &[String]| -> Result<MerkleProof, String> {
        let siblings = hs
            .iter()
            .map(|s| jjj_config::parse_hash(s))
            .collect::<Result<Vec<Hash>, String>>()
            .map_err(|e| format!("the proof's {what} branch: {e}"))?;
        Ok(MerkleProof { index: proof.index, count: proof.count, siblings })
    };
    let header =
        Header::decode(&mut &decode("header", &proof.header)?[..]).map_err(|e| format!("the proof's header: {e}"))?;
    if header.height != proof.height {
        return Err(format!("the proof says height {}, its header is of height {}", proof.height, header.height));
    }
    Ok(jjj_consensus::ReceiptProof {
        header,
        certificate: jjj_consensus::CommitCertificate::decode(&mut &decode("certificate", &proof.certificate)?[..])
            .map_err(|e| format!("the proof's certificate: {e}"))?,
        transaction: SignedTransaction::decode(&mut &decode("transaction", &proof.transaction)?[..])
            .map_err(|e| format!("the proof's transaction: {e}"))?,
        receipt: Receipt::decode(&mut &decode("receipt", &proof.receipt)?[..])
            .map_err(|e| format!("the proof's receipt: {e}"))?,
        tx_branch: branch("transaction", &proof.tx_siblings)?,
        receipt_branch: branch("receipt", &proof.receipt_siblings)?,
    })
}

/// Checks a transaction proof against the auditor's genesis and validator-set history: the
/// transaction (`tx` if given) and its receipt are under the header's tx and receipts roots at
/// the same index, the header is of this network, and the certificate is for this header and
/// signed by a quorum of the set of its height. Never trusts whoever sent the proof.
pub fn verify_tx_proof(
    genesis: &Genesis,
    history: &jjj_light::SetHistory,
    tx: Option<&Hash>,
    proof: &jjj_rpc_api::TxProofJson,
) -> Result<VerifiedReceipt, String> {
    let suite = genesis.suite()?;
    let proof = receipt_proof(proof)?;
    let tx_hash = proof.transaction.hash(suite.hash_algo());
    if let Some(wanted) = tx {
        if tx_hash != *wanted {
            return Err(format!("the proof is for transaction {tx_hash}, not {wanted}"));
        }
    }
    let v = history.verify_receipt(suite, &proof).map_err(|e| e.to_string())?;
    Ok(VerifiedReceipt { height: v.height, index: v.index, transaction: v.transaction, receipt: v.receipt })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jjj_config::{GenesisAccount, GenesisValidator};
    use jjj_consensus::{CommitCertificate, Vote, VoteKind};
    use jjj_crypto::{Keypair, Scheme};
    use jjj_rpc_api::{hex0x, TxProofJson};
    use parity_scale_codec::Encode;

    /// A commit certificate of block `block_hash` at height 5 by `signers`.
    fn certify(network: &NetworkId, signers: &[Keypair], block_hash: Hash) -> CommitCertificate {
        let signatures = signers
            .iter()
            .map(|k| {
                let v = Vote::sign(network, k, VoteKind::Commit, 5, 0, block_hash);
                (v.voter, v.signature)
            })
            .collect();
        CommitCertificate { height: 5, view: 0, block_hash, signatures }
    }

    /// A genesis of four validators, a block of three payments and their receipts certified by
    /// three of them, and the proof of the second.
    fn fixture() -> (Genesis, Hash, TxProofJson) {
        let keys: Vec<Keypair> = (0..4).map(|i| Keypair::named(Scheme::Ed25519, &format!("validator-{i}"))).collect();
        let validators = keys
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisValidator { id: k.account().to_string(), name: format!("v{i}"), addr: None })
            .collect();
        let payer = Keypair::named(Scheme::Ed25519, "payer");
        let account = GenesisAccount {
            id: payer.account().to_string(),
            name: "payer".into(),
            balance: 1,
            member: String::new(),
            roles: vec![],
        };
        let genesis = Genesis::dev("jjj", 0, validators, vec![account]);
        let algo = genesis.suite().expect("suite").hash_algo();
        let network = genesis.network_id().expect("network");
        let txs: Vec<SignedTransaction> = (0..3u64)
            .map(|nonce| {
                payer.sign_tx(Transaction {
                    network: network.clone(),
                    sender: payer.account(),
                    nonce,
                    gas_limit: 100_000,
                    call: Call::Transfer { to: AccountId([5; 32]), amount: 10 + nonce },
                })
            })
            .collect();
        let receipts: Vec<Receipt> = txs
            .iter()
            .enumerate()
            .map(|(i, t)| Receipt {
                tx_hash: t.hash(algo),
                status: ReceiptStatus::Success,
                gas_used: 1_000 + i as u64,
                events: vec![],
                output: vec![],
            })
            .collect();
        let tx_leaves: Vec<Hash> = txs.iter().map(|t| t.hash(algo)).collect();
        let receipt_leaves: Vec<Hash> = receipts.iter().map(|r| r.hash(algo)).collect();
        let header = Header {
            network: network.clone(),
            height: 5,
            parent_hash: Hash([9; 32]),
            timestamp: 1,
            proposer: keys[0].account(),
            tx_root: merkle_root(algo, tx_leaves.iter().copied()),
            receipts_root: merkle_root(algo, receipt_leaves.iter().copied()),
            state_root: Hash::default(),
        };
        let block_hash = header.hash(algo);
        let certificate = certify(&network, &keys[..3], block_hash);
        let tx_branch = merkle_proof(algo, &tx_leaves, 1).expect("leaf 1");
        let receipt_branch = merkle_proof(algo, &receipt_leaves, 1).expect("leaf 1");
        let hexes = |b: &MerkleProof| b.siblings.iter().map(|h| h.to_string()).collect();
        let proof = TxProofJson {
            network: "jjj".into(),
            height: 5,
            header: hex0x(&header.encode()),
            certificate: hex0x(&certificate.encode()),
            transaction: hex0x(&txs[1].encode()),
            receipt: hex0x(&receipts[1].encode()),
            index: 1,
            count: 3,
            tx_siblings: hexes(&tx_branch),
            receipt_siblings: hexes(&receipt_branch),
        };
        (genesis, tx_leaves[1], proof)
    }

    #[test]
    fn a_whole_proof_verifies_online_and_from_a_file() {
        let (genesis, tx, proof) = fixture();
        let history = crate::follow::sets_or_genesis(&genesis, None).expect("sets").0;
        let v = verify_tx_proof(&genesis, &history, Some(&tx), &proof).expect("verifies");
        assert_eq!((v.height, v.index, v.receipt.gas_used, v.transaction.tx.nonce), (5, 1, 1_001, 1));
        let dir = std::env::temp_dir().join(format!("jjj-proof-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (g, f) = (dir.join("genesis.json"), dir.join("proof.json"));
        std::fs::write(&g, serde_json::to_string(&genesis).expect("json")).expect("write");
        std::fs::write(&f, serde_json::to_string(&proof).expect("json")).expect("write");
        verify_receipt_file(&g, None, &f, &[]).expect("the saved proof verifies offline");
        std::fs::write(&f, "{}").expect("write");
        assert!(verify_receipt_file(&g, None, &f, &[])
            .expect_err("no proof")
            .contains("is neither a transaction proof"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A state proof at height 5 of a genesis network: a resident's account, certified by three
    /// of the four genesis validators.
    fn state_fixture() -> (Genesis, jjj_rpc_api::StateProofJson) {
        let (genesis, _, tx_proof) = fixture();
        let algo = genesis.suite().expect("suite").hash_algo();
        let keys: Vec<Keypair> = (0..4).map(|i| Keypair::named(Scheme::Ed25519, &format!("validator-{i}"))).collect();
        let key = jjj_state::keys::account(&AccountId([5; 32]));
        let account = jjj_state::Account { nonce: 0, balance: 33 }.encode();
        let mut state = jjj_state::MemoryState::new(algo);
        let changes = [(key.clone(), Some(account)), (b"other".to_vec(), Some(vec![1]))].into_iter().collect();
        let root = state.apply(&changes).expect("apply");
        let mut header = Header::decode(&mut &jjj_rpc_api::unhex(&tx_proof.header).expect("hex")[..]).expect("header");
        header.state_root = root;
        let block_hash = header.hash(algo);
        let network = genesis.network_id().expect("network");
        let certificate = certify(&network, &keys[..3], block_hash);
        let p = state.prove(&key).expect("prove");
        let proof = jjj_rpc_api::StateProofJson {
            network: "jjj".into(),
            height: 5,
            key: hex0x(&key),
            value: p.value.as_deref().map(hex0x),
            proof: hex0x(&p.proof),
            header: hex0x(&header.encode()),
            certificate: Some(hex0x(&certificate.encode())),
        };
        (genesis, proof)
    }

    #[test]
    fn a_state_proof_verifies_and_each_field_tampered_is_refused() {
        let (genesis, proof) = state_fixture();
        let history = crate::follow::sets_or_genesis(&genesis, None).expect("sets").0;
        let v = verify_state_proof(&genesis, &history, &proof).expect("verifies");
        let account = jjj_state::Account::decode(&mut &v.value.expect("present")[..]).expect("account");
        assert_eq!((v.height, account.balance), (5, 33));
        let refused = |p: jjj_rpc_api::StateProofJson, why: &str| {
            let e = verify_state_proof(&genesis, &history, &p).err().unwrap_or_default();
            assert!(e.contains(why), "expected {why:?} in {e:?}");
        };
        let other_value = hex0x(&jjj_state::Account { nonce: 0, balance: 34 }.encode());
        refused(
            jjj_rpc_api::StateProofJson { value: Some(other_value), ..proof.clone() },
            "does not match the header's state root",
        );
        refused(jjj_rpc_api::StateProofJson { value: None, ..proof.clone() }, "does not match the header's state root");
        let other_key = hex0x(&jjj_state::keys::account(&AccountId([6; 32])));
        refused(
            jjj_rpc_api::StateProofJson { key: other_key, ..proof.clone() },
            "does not match the header's state root",
        );
        let mut branch = jjj_rpc_api::unhex(&proof.proof).expect("hex");
        let last = branch.len() - 1;
        branch[last] ^= 1;
        refused(
            jjj_rpc_api::StateProofJson { proof: hex0x(&branch), ..proof.clone() },
            "does not match the header's state root",
        );
        let mut header = Header::decode(&mut &jjj_rpc_api::unhex(&proof.header).expect("hex")[..]).expect("header");
        header.state_root = Hash([1; 32]);
        refused(
            jjj_rpc_api::StateProofJson { header: hex0x(&header.encode()), ..proof.clone() },
            "certificate is for another block",
        );
        refused(jjj_rpc_api::StateProofJson { certificate: None, ..proof.clone() }, "no certificate");
        refused(jjj_rpc_api::StateProofJson { height: 6, ..proof.clone() }, "its header is of height 5");
        let mut cert = CommitCertificate::decode(
            &mut &jjj_rpc_api::unhex(proof.certificate.as_deref().expect("cert")).expect("hex")[..],
        )
        .expect("certificate");
        cert.signatures.truncate(2);
        refused(
            jjj_rpc_api::StateProofJson { certificate: Some(hex0x(&cert.encode())), ..proof.clone() },
            "not signed by a quorum",
        );
    }

    #[test]
    fn every_tampering_is_refused_with_its_reason() {
        let (genesis, tx, proof) = fixture();
        let refused = |p: &TxProofJson, tx: Option<&Hash>, why: &str| {
            let history = crate::follow::sets_or_genesis(&genesis, None).expect("sets").0;
            let e = verify_tx_proof(&genesis, &history, tx, p).expect_err("tampered");
            assert!(e.contains(why), "expected {why:?} in {e:?}");
        };
        refused(&proof, Some(&Hash([7; 32])), "not 0x0707");
        // Another receipt for the transaction (another outcome), or another transaction.
        let mut r = Receipt::decode(&mut &jjj_rpc_api::unhex(&proof.receipt).expect("hex")[..]).expect("receipt");
        r.gas_used += 1;
        let receipt = hex0x(&r.encode());
        refused(&TxProofJson { receipt, ..proof.clone() }, Some(&tx), "does not lead to the receipts root");
        let mut t =
            SignedTransaction::decode(&mut &jjj_rpc_api::unhex(&proof.transaction).expect("hex")[..]).expect("tx");
        t.tx.gas_limit += 1;
        refused(&TxProofJson { transaction: hex0x(&t.encode()), ..proof.clone() }, None, "receipt is for transaction");
        refused(&TxProofJson { index: 0, ..proof.clone() }, Some(&tx), "does not lead");
        let mut siblings = proof.tx_siblings.clone();
        siblings[0] = Hash([3; 32]).to_string();
        refused(
            &TxProofJson { tx_siblings: siblings, ..proof.clone() },
            Some(&tx),
            "branch does not lead to the tx root",
        );
        let mut siblings = proof.receipt_siblings.clone();
        siblings.pop();
        refused(&TxProofJson { receipt_siblings: siblings, ..proof.clone() }, Some(&tx), "receipts root");
        // A certificate of too few validators, or with an outsider.
        let cert_bytes = jjj_rpc_api::unhex(&proof.certificate).expect("hex");
        let mut cert = CommitCertificate::decode(&mut &cert_bytes[..]).expect("certificate");
        cert.signatures.truncate(2);
        let certificate = hex0x(&cert.encode());
        refused(&TxProofJson { certificate, ..proof.clone() }, Some(&tx), "not signed by a quorum");
        let outsider = Keypair::named(Scheme::Ed25519, "outsider");
        let v = Vote::sign(&genesis.network_id().expect("id"), &outsider, VoteKind::Commit, 5, 0, cert.block_hash);
        cert.signatures.push((v.voter, v.signature));
        let certificate = hex0x(&cert.encode());
        refused(&TxProofJson { certificate, ..proof.clone() }, Some(&tx), "not signed by a quorum");
        // Another header (its certificate no longer matches), garbage, another network.
        let mut header = Header::decode(&mut &jjj_rpc_api::unhex(&proof.header).expect("hex")[..]).expect("header");
        header.timestamp += 1;
        let other = hex0x(&header.encode());
        refused(&TxProofJson { header: other, ..proof.clone() }, Some(&tx), "the certificate is for another block");
        refused(&TxProofJson { header: "0x00".into(), ..proof.clone() }, Some(&tx), "the proof's header");
        header.network = NetworkId::new("jj").expect("id");
        refused(&TxProofJson { header: hex0x(&header.encode()), ..proof.clone() }, Some(&tx), "of network jj, not jjj");
    }
}

/// Fetches a node's whole access log of `net`, page by page, then checks it.
async fn fetch_access_log(rpc: &Rpc, net: &str) -> Result<(CheckedLog, jjj_rpc_api::AccessLogJson), String> {
    let api = rpc.api();
    let mut all: Vec<jjj_rpc_api::AccessEntryJson> = Vec::new();
    loop {
        let mut page = api.access_log(net.into(), Some(all.len() as u64), None).await.map_err(|e| rpc.explain(e))?;
        let done = page.entries.is_empty() || all.len() + page.entries.len() >= page.length as usize;
        all.append(&mut page.entries);
        if done {
            let entries = check_access_chain(&all, page.length, &page.head)?;
            return Ok((entries, page));
        }
    }
}

/// Checks an access log's hash chain: entries numbered from 0 without a gap, each naming the
/// hash of the one before, each stated hash the hash of the bytes sent, as many as the node
/// says it holds, the last hashing to the head it reports. Returns the decoded entries.
fn check_access_chain(entries: &[jjj_rpc_api::AccessEntryJson], length: u64, head: &str) -> Result<CheckedLog, String> {
    let mut out = Vec::with_capacity(entries.len());
    let mut algo: Option<HashAlgo> = None;
    let mut prev = Hash::default();
    for (seq, e) in (0u64..).zip(entries) {
        let raw = jjj_rpc_api::unhex(&e.raw).map_err(|err| format!("entry {seq}: raw is not hex: {err}"))?;
        let entry = AccessEntry::decode(&mut &raw[..]).map_err(|err| format!("entry {seq}: does not decode: {err}"))?;
        // The network's hash: the one the first entry's stated hash is under.
        let a = *algo.get_or_insert_with(|| {
            HashAlgo::ALL.into_iter().find(|a| a.hash(&raw).to_string() == e.hash).unwrap_or(HashAlgo::Blake2b256)
        });
        if entry.seq != seq {
            return Err(format!("the access log is broken at entry {seq}: the node sent entry {} there", entry.seq));
        }
        if entry.prev != prev {
            return Err(format!(
                "the access log is broken at entry {seq}: it links to {}, but the entry before it hashes to {prev} \
                 (an entry was removed or altered)",
                entry.prev
            ));
        }
        prev = a.hash(&raw);
        if prev.to_string() != e.hash {
            return Err(format!("entry {seq}: its stated hash is not the hash of its bytes"));
        }
        out.push(entry);
    }
    if out.len() as u64 != length {
        return Err(format!("the node reports {length} entries but sent {}", out.len()));
    }
    if !out.is_empty() && prev.to_string() != head {
        return Err(format!("the chain ends at {prev}, the node reports head {head}"));
    }
    Ok(CheckedLog { entries: out, algo: algo.unwrap_or(HashAlgo::Blake2b256) })
}

/// An access log whose hash chain checked, and the hash it is chained with.
#[derive(Debug)]
struct CheckedLog {
    entries: Vec<AccessEntry>,
    algo: HashAlgo,
}

/// Whether the log agrees with what its node committed on chain: the anchored entry must hash
/// to the anchored head, which fixes every entry up to it.
fn check_anchor(checked: &CheckedLog, log: &jjj_rpc_api::AccessLogJson) -> Result<String, String> {
    let Some(a) = &log.anchor else {
        return Ok("not anchored on chain yet (a validator anchors its log every few seconds)".into());
    };
    let entries = &checked.entries;
    match usize::try_from(a.seq).ok().and_then(|i| entries.get(i)) {
        Some(e) if e.hash(checked.algo).to_string() == a.head => Ok(format!(
            "anchored on chain at height {} through entry {}: entries 0–{} cannot change unseen; {} later entr{} not anchored yet",
            a.height,
            a.seq,
            a.seq,
            entries.len() as u64 - a.seq - 1,
            if entries.len() as u64 - a.seq - 1 == 1 { "y" } else { "ies" }
        )),
        _ => Err(format!(
            "the access log differs from what its node anchored on chain at height {}: entry {} should hash to {}",
            a.height, a.seq, a.head
        )),
    }
}

/// `jjj audit access`.
pub async fn access(
    rpc_url: &str,
    net: &str,
    reader: Option<&str>,
    from: Option<u64>,
    metadata: &[std::path::PathBuf],
) -> Result<(), String> {
    let reader = reader.map(jjj_config::parse_account).transpose()?;
    let mut names = std::collections::HashMap::new();
    for path in metadata {
        let meta = crate::contract::load_metadata(path)?;
        for m in meta.messages.iter().chain(&meta.constructors) {
            names.insert(m.selector.trim_start_matches("0x").to_string(), format!("{}.{}", meta.name, m.name));
        }
    }
    let rpc = Rpc::new(rpc_url)?;
    let (entries, log) = fetch_access_log(&rpc, net).await?;
    println!(
        "access log of network {net} on node {}: {} entries, hash chain intact (head {})",
        log.node, log.length, log.head
    );
    println!("{}", check_anchor(&entries, &log)?);
    let entries = entries.entries;
    let (mut shown, mut allowed, mut denied, mut refused) = (0usize, 0usize, 0usize, 0usize);
    for entry in &entries {
        let e = &entry.read;
        if reader.is_some_and(|r| e.reader != Some(r)) || from.is_some_and(|h| e.height < h) {
            continue;
        }
        shown += 1;
        let selector = hex::encode(e.selector);
        let what = if e.selector == jjj_primitives::access::EVENTS_SELECTOR {
            "protected events".to_string()
        } else {
            names.get(&selector).cloned().unwrap_or_else(|| format!("0x{selector}"))
        };
        let who = e.reader.map_or("(nobody)".to_string(), |r| r.to_string());
        let (decision, why) = match &e.decision {
            AccessDecision::Allowed => {
                allowed += 1;
                ("allowed", String::new())
            }
            AccessDecision::Denied(m) => {
                denied += 1;
                ("DENIED", format!(": {m}"))
            }
            AccessDecision::Refused(m) => {
                refused += 1;
                ("REFUSED", format!(": {m}"))
            }
        };
        println!(
            "#{:<5} {} height {:<7} {who}{} read {what} of {}: {decision}{why}",
            entry.seq,
            utc(e.time_ms),
            e.height,
            if e.signed { "" } else { " (unsigned)" },
            e.contract,
        );
    }
    println!("{shown} shown: {allowed} allowed, {denied} denied by a read policy, {refused} refused before it");
    Ok(())
}

/// `YYYY-MM-DD hh:mm:ss UTC` of a Unix time in milliseconds.
fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rest / 3600, rest / 60 % 60, rest % 60)
}

#[cfg(test)]
mod access_tests {
    use super::*;
    use jjj_primitives::access::AccessRead;
    use jjj_rpc_api::AccessEntryJson;

    /// Three linked entries as a node sends them, under SM3 (the check finds the hash itself).
    fn log() -> Vec<AccessEntryJson> {
        let algo = HashAlgo::Sm3;
        let mut prev = Hash::default();
        (0..3)
            .map(|seq| {
                let read = AccessRead {
                    time_ms: 1_780_000_000_123,
                    height: 10 + seq,
                    reader: Some(AccountId([seq as u8; 32])),
                    signed: seq != 1,
                    contract: AccountId([1; 32]),
                    selector: [1, 2, 3, 4],
                    decision: if seq == 1 {
                        AccessDecision::Refused("unsigned".into())
                    } else {
                        AccessDecision::Allowed
                    },
                };
                let e = AccessEntry { seq, prev, node: AccountId([7; 32]), read };
                prev = e.hash(algo);
                AccessEntryJson::new(&e, algo)
            })
            .collect()
    }

    #[test]
    fn an_intact_log_checks_and_any_tampering_is_named() {
        let entries = log();
        let head = entries[2].hash.clone();
        assert_eq!(check_access_chain(&entries, 3, &head).map(|v| v.entries.len()), Ok(3));
        // An entry removed from the middle.
        let removed = vec![entries[0].clone(), entries[2].clone()];
        let e = check_access_chain(&removed, 3, &head).unwrap_err();
        assert!(e.contains("broken at entry 1"), "{e}");
        // A denial rewritten as allowed: its bytes no longer hash to what the next entry names.
        let mut altered = entries.clone();
        let mut e1 = AccessEntry::decode(&mut &jjj_rpc_api::unhex(&altered[1].raw).unwrap()[..]).unwrap();
        e1.read.decision = AccessDecision::Allowed;
        altered[1] = AccessEntryJson::new(&e1, HashAlgo::Sm3);
        let e = check_access_chain(&altered, 3, &head).unwrap_err();
        assert!(e.contains("broken at entry 2"), "{e}");
        // The last entry dropped: the count and head no longer match.
        let e = check_access_chain(&entries[..2], 3, &head).unwrap_err();
        assert!(e.contains("reports 3 entries"), "{e}");
        // A stated hash that is not the bytes' hash.
        let mut lied = entries.clone();
        lied[2].hash = entries[1].hash.clone();
        assert!(check_access_chain(&lied, 3, &head).unwrap_err().contains("stated hash"));
    }

    #[test]
    fn the_log_must_agree_with_its_anchor_on_chain() {
        let entries = log();
        let checked = check_access_chain(&entries, 3, &entries[2].hash).expect("intact");
        let mut page = jjj_rpc_api::AccessLogJson {
            network: "jjj".into(),
            node: AccountId([7; 32]).to_string(),
            length: 3,
            head: entries[2].hash.clone(),
            anchor: None,
            entries: vec![],
        };
        assert!(check_anchor(&checked, &page).unwrap().contains("not anchored"));
        page.anchor = Some(jjj_rpc_api::AccessAnchorJson { seq: 1, head: entries[1].hash.clone(), height: 9 });
        let ok = check_anchor(&checked, &page).unwrap();
        assert!(ok.contains("at height 9 through entry 1") && ok.contains("1 later entry"), "{ok}");
        // A log rewritten after its anchor (every link redone) no longer matches it.
        page.anchor = Some(jjj_rpc_api::AccessAnchorJson { seq: 1, head: entries[0].hash.clone(), height: 9 });
        assert!(check_anchor(&checked, &page).unwrap_err().contains("differs from what its node anchored"));
        page.anchor = Some(jjj_rpc_api::AccessAnchorJson { seq: 5, head: entries[0].hash.clone(), height: 9 });
        assert!(check_anchor(&checked, &page).is_err(), "anchored past the log's end: entries were removed");
    }

    #[test]
    fn times_print_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_780_000_000_123), "2026-05-28 20:26:40 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }
}
