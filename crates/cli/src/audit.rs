//! `jjj audit replay`: re-verify a network's whole history against an untrusted node;
//! `jjj audit receipt`: verify one transaction's receipt from a proof the node sends.
use jjj_config::Genesis;
use jjj_executive::Runtime;
use jjj_primitives::*;
use jjj_rpc_api::{NodeApiClient, ReceiptJson, Rpc};
use jjj_state::{MemoryState, StateCommitment};
use parity_scale_codec::Decode;
use std::path::Path;
use std::sync::Arc;

pub async fn replay(rpc_url: &str, genesis_path: &Path, to: Option<u64>) -> Result<(), String> {
    let genesis = Genesis::load(genesis_path)?;
    let network = genesis.network.clone();
    let genesis_validators = genesis.validator_ids()?;
    let validators = jjj_consensus::ValidatorSet::new(genesis_validators.clone()).map_err(|e| e.to_string())?;
    let mut other_set_heights = 0usize;
    let net_id = genesis.network_id()?;
    let rpc = Rpc::new(rpc_url)?;
    let api = rpc.api();
    let head = api.finalized_head(network.clone()).await.map_err(|e| rpc.explain(e))?;
    let last = to.unwrap_or(head.height).min(head.height);
    let suite = genesis.suite()?;
    let algo = suite.hash_algo();
    let mut state = MemoryState::new(algo);
    state.apply(&genesis.state_changes()?).map_err(|e| e.to_string())?;
    let mut parent = genesis.header()?.hash(algo);
    let node_genesis = api.block(network.clone(), Some(0), None, None).await.map_err(|e| rpc.explain(e))?;
    if node_genesis.map(|b| b.header.hash) != Some(parent.to_string()) {
        return Err(format!(
            "the node's genesis differs from {}: not the same network history",
            genesis_path.display()
        ));
    }
    let runtime =
        Runtime::new().map_err(|e| e.to_string())?.with_block_limits(genesis.block_limits()).with_suite(suite);
    let (mut txs, mut receipts_ok, mut receipts_failed) = (0usize, 0usize, 0usize);
    let started = std::time::Instant::now();
    for h in 1..=last {
        let b = api
            .block(network.clone(), Some(h), None, Some(true))
            .await
            .map_err(|e| rpc.explain(e))?
            .ok_or_else(|| format!("height {h}: the node has no block"))?;
        let raw = |k: &str, v: &Option<String>| -> Result<Vec<u8>, String> {
            let s = v.as_deref().ok_or_else(|| format!("height {h}: the node sent no {k}"))?;
            jjj_rpc_api::unhex(s).map_err(|e| format!("height {h}: {k}: {e}"))
        };
        let block = Block::decode(&mut &raw("raw_block", &b.raw_block)?[..])
            .map_err(|e| format!("height {h}: block does not decode: {e}"))?;
        let cert = jjj_consensus::CommitCertificate::decode(&mut &raw("raw_certificate", &b.raw_certificate)?[..])
            .map_err(|e| format!("height {h}: certificate does not decode: {e}"))?;
        let bh = block.header.hash(algo);
        if block.header.height != h || block.header.parent_hash != parent {
            return Err(format!("height {h}: block does not extend the previous block"));
        }
        if cert.height != h || cert.block_hash != bh {
            return Err(format!("height {h}: the certificate is for another block"));
        }
        let shared = Arc::new(state.clone());
        // Signed by the set deciding height h, as the replayed state (at h − 1) schedules it.
        let at_h = jjj_executive::gov::validators_at(&genesis_validators, &jjj_state::Overlay::new(shared.clone()), h)
            .map_err(|e| format!("height {h}: {e}"))?;
        if at_h != genesis_validators {
            other_set_heights += 1;
        }
        let at_h = jjj_consensus::ValidatorSet::new(at_h).map_err(|e| format!("height {h}: {e}"))?;
        cert.verify(suite, &net_id, &at_h).map_err(|e| format!("height {h}: certificate invalid: {e}"))?;
        let exec =
            runtime.apply_block(shared, &block).map_err(|e| format!("height {h}: re-execution disagrees: {e}"))?;
        for (i, (stx, r)) in block.transactions.iter().zip(&exec.receipts).enumerate() {
            let node_r =
                api.receipt(network.clone(), stx.hash(algo).to_string(), None).await.map_err(|e| rpc.explain(e))?;
            let ours = ReceiptJson::new(r, Some(h), Some(i as u32));
            match node_r {
                Some(n)
                    if n.status == ours.status
                        && n.output == ours.output
                        && n.gas_used == ours.gas_used
                        && n.reason == ours.reason => {}
                Some(n) => {
                    return Err(format!(
                        "height {h}, tx {i} ({}): the node's receipt differs: node says {} {:?}, replay says {} {:?}",
                        stx.hash(algo),
                        n.status,
                        n.reason,
                        ours.status,
                        ours.reason
                    ))
                }
                None => return Err(format!("height {h}, tx {i}: the node has no receipt for {}", stx.hash(algo))),
            }
            if r.is_success() {
                receipts_ok += 1
            } else {
                receipts_failed += 1
            }
        }
        txs += block.transactions.len();
        state.apply(&exec.changes).map_err(|e| e.to_string())?;
        if state.state_root() != block.header.state_root {
            return Err(format!("height {h}: state root mismatch after applying"));
        }
        parent = bh;
    }
    println!(
        "audit of {network}: {last} blocks, {txs} transactions ({receipts_ok} succeeded, {receipts_failed} failed) replayed from genesis in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if other_set_heights == 0 {
        println!("every certificate verified against the {} genesis validators; every tx root, receipts root, state root and receipt matched", validators.len());
    } else {
        println!(
            "every certificate verified against the validator set of its height ({} genesis validators; {other_set_heights} heights under sets governance scheduled); every tx root, receipts root, state root and receipt matched",
            validators.len()
        );
    }
    println!("final state root {} at height {last}", state.state_root());
    Ok(())
}

/// What a verified receipt proof says.
#[derive(Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    pub height: u64,
    pub index: u32,
    pub receipt: Receipt,
}

/// `jjj audit receipt`: fetches the proof of `tx`'s receipt and verifies it (see
/// [`verify_receipt_proof`]).
pub async fn receipt(rpc_url: &str, genesis_path: &Path, tx: &str) -> Result<(), String> {
    let genesis = Genesis::load(genesis_path)?;
    let tx_hash = jjj_config::parse_hash(tx).map_err(|e| format!("transaction hash: {e}"))?;
    let rpc = Rpc::new(rpc_url)?;
    let proof = rpc
        .api()
        .receipt_proof(genesis.network.clone(), tx_hash.to_string())
        .await
        .map_err(|e| rpc.explain(e))?
        .ok_or_else(|| format!("the node knows no finalised transaction {tx_hash} on network {}", genesis.network))?;
    let v = verify_receipt_proof(&genesis, &tx_hash, &proof)?;
    let outcome = match v.receipt.reason() {
        None => "succeeded".to_string(),
        Some(reason) => format!("failed: {reason}"),
    };
    println!(
        "receipt of {tx_hash} verified: transaction {} of block {} on {}, {outcome}, {} gas, {} event(s)",
        v.index,
        v.height,
        genesis.network,
        v.receipt.gas_used,
        v.receipt.events.len()
    );
    println!("its Merkle branch leads to the block's receipts root, and the block's certificate is signed by a quorum of the genesis validators");
    Ok(())
}

/// Checks a receipt proof against the auditor's genesis: the receipt is `tx`'s, its branch
/// leads to the header's receipts root, the header is of this network, and the certificate is
/// for this header and signed by a quorum of the genesis validators. Never trusts the node.
pub fn verify_receipt_proof(
    genesis: &Genesis,
    tx: &Hash,
    proof: &jjj_rpc_api::ReceiptProofJson,
) -> Result<VerifiedReceipt, String> {
    let suite = genesis.suite()?;
    let algo = suite.hash_algo();
    let bytes = |what: &str, s: &str| jjj_rpc_api::unhex(s).map_err(|e| format!("the proof's {what}: {e}"));
    let header =
        Header::decode(&mut &bytes("header", &proof.header)?[..]).map_err(|e| format!("the proof's header: {e}"))?;
    let certificate = jjj_consensus::CommitCertificate::decode(&mut &bytes("certificate", &proof.certificate)?[..])
        .map_err(|e| format!("the proof's certificate: {e}"))?;
    let receipt = Receipt::decode(&mut &bytes("receipt", &proof.receipt)?[..])
        .map_err(|e| format!("the proof's receipt: {e}"))?;
    let siblings = proof
        .siblings
        .iter()
        .map(|s| jjj_config::parse_hash(s))
        .collect::<Result<Vec<Hash>, String>>()
        .map_err(|e| format!("the proof's branch: {e}"))?;
    if receipt.tx_hash != *tx {
        return Err(format!("the proof is for transaction {}, not {tx}", receipt.tx_hash));
    }
    let network = genesis.network_id()?;
    if header.network != network || header.height != proof.height {
        return Err(format!(
            "the proof's header is of {} at height {}, not of {network}",
            header.network, header.height
        ));
    }
    let branch = MerkleProof { index: proof.index, count: proof.count, siblings };
    if !verify_merkle_proof(algo, &header.receipts_root, &receipt.hash(algo), &branch) {
        return Err(format!("the receipt's branch does not lead to the receipts root of block {}", header.height));
    }
    if certificate.height != header.height || certificate.block_hash != header.hash(algo) {
        return Err(format!("the certificate is not for block {}", header.height));
    }
    let validators = jjj_consensus::ValidatorSet::new(genesis.validator_ids()?).map_err(|e| e.to_string())?;
    certificate.verify(suite, &network, &validators).map_err(|e| {
        format!(
            "block {}'s certificate is not signed by a quorum of the genesis validators ({e}); if governance changed \
             the validator set before it, verify with `jjj audit replay`",
            header.height
        )
    })?;
    Ok(VerifiedReceipt { height: header.height, index: proof.index, receipt })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jjj_config::{GenesisAccount, GenesisValidator};
    use jjj_consensus::{CommitCertificate, Vote, VoteKind};
    use jjj_crypto::{Keypair, Scheme};
    use jjj_rpc_api::{hex0x, ReceiptProofJson};
    use parity_scale_codec::Encode;

    /// A genesis of four validators, a block of three receipts certified by three of them, and
    /// the proof of the second receipt.
    fn fixture() -> (Genesis, Hash, ReceiptProofJson) {
        let keys: Vec<Keypair> = (0..4).map(|i| Keypair::named(Scheme::Ed25519, &format!("validator-{i}"))).collect();
        let validators = keys
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisValidator { id: k.account().to_string(), name: format!("v{i}"), addr: None })
            .collect();
        let payer = Keypair::named(Scheme::Ed25519, "payer").account().to_string();
        let account =
            GenesisAccount { id: payer, name: "payer".into(), balance: 1, member: String::new(), roles: vec![] };
        let genesis = Genesis::dev("jjj", 0, validators, vec![account]);
        let algo = genesis.suite().expect("suite").hash_algo();
        let receipts: Vec<Receipt> = (0..3u8)
            .map(|i| Receipt {
                tx_hash: Hash([i; 32]),
                status: ReceiptStatus::Success,
                gas_used: 1_000 + u64::from(i),
                events: vec![],
                output: vec![i],
            })
            .collect();
        let leaves: Vec<Hash> = receipts.iter().map(|r| r.hash(algo)).collect();
        let network = genesis.network_id().expect("network");
        let header = Header {
            network: network.clone(),
            height: 5,
            parent_hash: Hash([9; 32]),
            timestamp: 1,
            proposer: keys[0].account(),
            tx_root: Hash::default(),
            receipts_root: merkle_root(algo, leaves.iter().copied()),
            state_root: Hash::default(),
        };
        let block_hash = header.hash(algo);
        let signatures = keys[..3]
            .iter()
            .map(|k| {
                let v = Vote::sign(&network, k, VoteKind::Commit, 5, 0, block_hash);
                (v.voter, v.signature)
            })
            .collect();
        let certificate = CommitCertificate { height: 5, view: 0, block_hash, signatures };
        let branch = merkle_proof(algo, &leaves, 1).expect("leaf 1");
        let proof = ReceiptProofJson {
            network: "jjj".into(),
            height: 5,
            header: hex0x(&header.encode()),
            certificate: hex0x(&certificate.encode()),
            receipt: hex0x(&receipts[1].encode()),
            index: branch.index,
            count: branch.count,
            siblings: branch.siblings.iter().map(|h| h.to_string()).collect(),
        };
        (genesis, receipts[1].tx_hash, proof)
    }

    #[test]
    fn a_whole_proof_verifies() {
        let (genesis, tx, proof) = fixture();
        let v = verify_receipt_proof(&genesis, &tx, &proof).expect("verifies");
        assert_eq!((v.height, v.index, v.receipt.gas_used), (5, 1, 1_001));
    }

    #[test]
    fn every_tampering_is_refused_with_its_reason() {
        let (genesis, tx, proof) = fixture();
        let refused = |p: &ReceiptProofJson, tx: &Hash, why: &str| {
            let e = verify_receipt_proof(&genesis, tx, p).expect_err("tampered");
            assert!(e.contains(why), "expected {why:?} in {e:?}");
        };
        refused(&proof, &Hash([7; 32]), "not 0x0707");
        // Another receipt with the right transaction hash but another outcome: off the branch.
        let mut r = Receipt::decode(&mut &jjj_rpc_api::unhex(&proof.receipt).expect("hex")[..]).expect("receipt");
        r.gas_used += 1;
        refused(
            &ReceiptProofJson { receipt: hex0x(&r.encode()), ..proof.clone() },
            &tx,
            "does not lead to the receipts root",
        );
        refused(&ReceiptProofJson { index: 0, ..proof.clone() }, &tx, "does not lead");
        let mut siblings = proof.siblings.clone();
        siblings[0] = Hash([3; 32]).to_string();
        refused(&ReceiptProofJson { siblings, ..proof.clone() }, &tx, "does not lead");
        // A certificate of too few validators, or of outsiders.
        let cert_bytes = jjj_rpc_api::unhex(&proof.certificate).expect("hex");
        let mut cert = CommitCertificate::decode(&mut &cert_bytes[..]).expect("certificate");
        cert.signatures.truncate(2);
        refused(
            &ReceiptProofJson { certificate: hex0x(&cert.encode()), ..proof.clone() },
            &tx,
            "not signed by a quorum",
        );
        let outsider = Keypair::named(Scheme::Ed25519, "outsider");
        let v = Vote::sign(&genesis.network_id().expect("id"), &outsider, VoteKind::Commit, 5, 0, cert.block_hash);
        cert.signatures.push((v.voter, v.signature));
        refused(
            &ReceiptProofJson { certificate: hex0x(&cert.encode()), ..proof.clone() },
            &tx,
            "not signed by a quorum",
        );
        // The header of another block (its certificate no longer matches), or garbage.
        let mut header = Header::decode(&mut &jjj_rpc_api::unhex(&proof.header).expect("hex")[..]).expect("header");
        header.timestamp += 1;
        refused(
            &ReceiptProofJson { header: hex0x(&header.encode()), ..proof.clone() },
            &tx,
            "certificate is not for block 5",
        );
        refused(&ReceiptProofJson { header: "0x00".into(), ..proof.clone() }, &tx, "the proof's header");
    }
}
