//! `jjj audit replay`: re-verify a network's whole history against an untrusted node.
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
