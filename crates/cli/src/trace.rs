//! `jjj audit trace`: re-executes one finalised transaction on the state before it and prints
//! its host-call log, trusting no node.
//!
//! The transaction's place comes from its proof (checked against the validator-set history);
//! the state before the block is read key by key with `state_getProof` at the previous height,
//! each value checked against that certified header's state root; the block's earlier
//! transactions run first, on that state, then this one with the log on. The traced receipt
//! must equal the certified one.
use crate::history::fetch_block;
use jjj_config::Genesis;
use jjj_executive::{Runtime, TraceStep};
use jjj_primitives::*;
use jjj_rpc_api::{hex0x, unhex, NodeApiClient, Rpc};
use jjj_state::{Overlay, StateError, StateReader};
use jjj_transcode::LoadedMetadata;
use parity_scale_codec::DecodeAll;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The state of one certified height, read from a node key by key; every value is checked
/// against the height's state root before it is used.
struct ProvenState {
    rpc: Rpc,
    network: String,
    network_id: NetworkId,
    height: u64,
    root: Hash,
    algo: HashAlgo,
    /// An auditor's key: contract storage is served only to an auditor's signed read.
    reader: Option<jjj_crypto::Keypair>,
    runtime: tokio::runtime::Handle,
    cache: Mutex<HashMap<Vec<u8>, Option<Vec<u8>>>>,
    reads: AtomicU64,
}

impl ProvenState {
    fn fetch(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let read = crate::audit::storage_read_request(self.reader.as_ref(), &self.network_id, key);
        let answer = self.runtime.block_on(self.rpc.api().state_proof(
            self.network.clone(),
            hex0x(key),
            Some(self.height),
            read,
        ));
        let p = answer.map_err(|e| {
            let why = self.rpc.explain(e);
            match key.first() {
                Some(&jjj_state::keys::STORAGE) if self.reader.is_none() => {
                    format!("{why} (contract storage is private data: trace with an auditor's --key)")
                }
                _ => why,
            }
        })?;
        let value = p.value.as_deref().map(unhex).transpose().map_err(|e| format!("the node's value: {e}"))?;
        let proof = unhex(&p.proof).map_err(|e| format!("the node's proof: {e}"))?;
        if !jjj_state::verify_proof(self.algo, &self.root, key, value.as_deref(), &proof) {
            return Err(format!(
                "the node's value of state key {} is not the one the certified state root of height {} commits to",
                hex0x(key),
                self.height
            ));
        }
        self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(value)
    }
}

impl StateReader for ProvenState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(v) = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(key) {
            return Ok(v.clone());
        }
        let v = self.fetch(key).map_err(StateError::Backend)?;
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key.to_vec(), v.clone());
        Ok(v)
    }
}

pub async fn trace(
    rpc_url: &str,
    genesis_path: &Path,
    sets: Option<&Path>,
    tx: &str,
    key: Option<&Path>,
    metadata: &[PathBuf],
) -> Result<(), String> {
    let genesis = Genesis::load(genesis_path)?;
    let suite = genesis.suite()?;
    let algo = suite.hash_algo();
    let (history, followed) = crate::follow::sets_or_genesis(&genesis, sets)?;
    let tx_hash = jjj_config::parse_hash(tx).map_err(|e| format!("transaction hash: {e}"))?;
    let rpc = Rpc::new(rpc_url)?;
    let network = genesis.network.clone();
    let proof = rpc
        .api()
        .tx_proof(network.clone(), tx_hash.to_string())
        .await
        .map_err(|e| rpc.explain(e))?
        .ok_or_else(|| format!("the node knows no finalised transaction {tx_hash} on network {network}"))?;
    let certified = crate::audit::verify_tx_proof(&genesis, &history, Some(&tx_hash), &proof)?;
    let (height, index) = (certified.height, certified.index as usize);
    let before = height.checked_sub(1).ok_or("a transaction proof of the genesis height")?;
    let block = fetch_block(&rpc, &network, height).await?.block;
    let proof_header = Header::decode_all(&mut &unhex(&proof.header).map_err(|e| e.to_string())?[..])
        .map_err(|e| format!("the proof's header: {e}"))?;
    if block.header != proof_header || block.transactions.get(index) != Some(&certified.transaction) {
        return Err(format!("the node's block {height} is not the one its proof certifies"));
    }
    // The state before the block: the certified header of the height below.
    let parent = rpc
        .api()
        .light_header(network.clone(), before)
        .await
        .map_err(|e| rpc.explain(e))?
        .ok_or_else(|| format!("the node has no header {}", before))?;
    let parent_header = Header::decode_all(&mut &unhex(&parent.header).map_err(|e| e.to_string())?[..])
        .map_err(|e| format!("header {}: {e}", before))?;
    let parent_cert = parent
        .certificate
        .as_deref()
        .map(|c| {
            let bytes = unhex(c).map_err(|e| e.to_string())?;
            jjj_consensus::CommitCertificate::decode_all(&mut &bytes[..]).map_err(|e| e.to_string())
        })
        .transpose()?;
    history.verify_header(suite, &parent_header, parent_cert.as_ref()).map_err(|e| e.to_string())?;
    if parent_header.hash(algo) != block.header.parent_hash {
        return Err(format!("block {height} does not extend the certified block {}", before));
    }
    let state = Arc::new(ProvenState {
        rpc: Rpc::new(rpc_url)?,
        network: network.clone(),
        network_id: genesis.network_id()?,
        height: before,
        root: parent_header.state_root,
        algo,
        reader: key.map(jjj_config::load_key).transpose()?,
        runtime: tokio::runtime::Handle::current(),
        cache: Mutex::new(HashMap::new()),
        reads: AtomicU64::new(0),
    });
    let runtime = Runtime::new()
        .map_err(|e| e.to_string())?
        .with_block_limits(genesis.block_limits())
        .with_suite(suite)
        .with_genesis_validators(genesis.validator_ids()?);
    let reader = state.clone();
    let run_block = block.clone();
    let traced = tokio::task::spawn_blocking(move || {
        let ctx = run_block.header.context();
        let mut overlay = Overlay::new(reader);
        for (i, earlier) in run_block.transactions[..index].iter().enumerate() {
            runtime
                .apply_transaction(&mut overlay, &ctx, earlier)
                .map_err(|e| format!("transaction {i} of the block, before this one: {e}"))?;
        }
        runtime.trace_transaction(&mut overlay, &ctx, &run_block.transactions[index]).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| format!("the trace stopped: {e}"))??;

    let metas = metadata.iter().map(|p| crate::contract::load_metadata(p)).collect::<Result<Vec<_>, String>>()?;
    let names = ContractNames::new(&metas, &traced.steps);
    let stx = &certified.transaction;
    println!(
        "transaction {tx_hash}: #{index} of block {height} on {network}, sent by {}, nonce {}, gas limit {}",
        stx.tx.sender, stx.tx.nonce, stx.tx.gas_limit
    );
    println!(
        "  the block is {}; the state before it is read from the node, each key proven against the state root of \
         block {}",
        if followed { "certified by the validator set of its height" } else { "certified by the genesis validators" },
        before
    );
    match &stx.tx.call {
        Call::Call { contract, input, value } => {
            println!("{} on {contract}, value {value} fen", names.call(contract, input))
        }
        other => println!("{} (no contract code runs for it)", other.kind()),
    }
    print_steps(&traced.steps, &names);
    for line in &traced.debug {
        println!("  debug: {line}");
    }
    let outcome = match traced.receipt.reason() {
        None => "success".to_string(),
        Some(r) => format!("FAILED: {r}"),
    };
    println!(
        "receipt: {outcome}, {} gas, {} event(s); {} state keys proven",
        traced.receipt.gas_used,
        traced.receipt.events.len(),
        state.reads.load(Ordering::Relaxed)
    );
    match crate::replay::receipt_difference(&certified.receipt, &traced.receipt) {
        None => {
            println!("the traced run gives exactly the certified receipt");
            Ok(())
        }
        Some(diff) => Err(format!("the traced run differs from the certified receipt: {diff}")),
    }
}

/// Which metadata describes which contract: the one whose messages decode the contract's calls.
struct ContractNames<'a> {
    by_contract: HashMap<AccountId, &'a LoadedMetadata>,
}

impl<'a> ContractNames<'a> {
    fn new(metas: &'a [LoadedMetadata], steps: &[TraceStep]) -> Self {
        let mut by_contract = HashMap::new();
        for s in steps {
            if let TraceStep::Call { contract, input, .. } = s {
                let fits = metas.iter().find(|m| {
                    jjj_transcode::decode_call(m, input).is_ok() || jjj_transcode::decode_deploy(m, input).is_ok()
                });
                if let Some(m) = fits {
                    by_contract.entry(*contract).or_insert(m);
                }
            }
        }
        ContractNames { by_contract }
    }

    fn call(&self, contract: &AccountId, input: &[u8]) -> String {
        let Some(m) = self.by_contract.get(contract) else {
            let selector = input.get(..4).map(hex0x).unwrap_or_default();
            return format!("call {selector} ({} bytes of input)", input.len());
        };
        match jjj_transcode::decode_call(m, input).or_else(|_| jjj_transcode::decode_deploy(m, input)) {
            Ok(d) => format!("call {}.{}({})", m.name, d.name, d.args),
            Err(_) => format!("call {} ({} bytes of input)", m.name, input.len()),
        }
    }

    fn storage(&self, contract: &AccountId, key: &[u8], value: Option<&[u8]>) -> (String, String) {
        let raw = |v: Option<&[u8]>| v.map_or("(absent)".to_string(), hex0x);
        let decoded = self.by_contract.get(contract).and_then(|m| jjj_transcode::decode_storage(m, key, value));
        match decoded {
            Some(d) => (d.label, d.value.map_or("(absent)".to_string(), |v| v.to_string())),
            None => (hex0x(key), raw(value)),
        }
    }

    fn event(&self, contract: &AccountId, data: &[u8]) -> String {
        self.by_contract
            .get(contract)
            .and_then(|m| jjj_transcode::decode_event(m, data).ok().map(|v| format!("{}: {v}", m.name)))
            .unwrap_or_else(|| hex0x(data))
    }
}

fn print_steps(steps: &[TraceStep], names: &ContractNames<'_>) {
    let pad = |depth: usize| "  ".repeat(depth + 1);
    let mut failure: Option<String> = None;
    for s in steps {
        match s {
            TraceStep::Call { depth, contract, caller, value, input, gas_left } => {
                if *depth > 0 {
                    println!(
                        "{}{} on {contract} from {caller}, value {value} fen",
                        pad(*depth - 1),
                        names.call(contract, input)
                    );
                }
                println!("{}gas left {gas_left}", pad(*depth));
            }
            TraceStep::StorageRead { depth, contract, key, value, gas_left } => {
                let (label, v) = names.storage(contract, key, value.as_deref());
                println!("{}read   {label} = {v}   (gas left {gas_left})", pad(*depth));
            }
            TraceStep::StorageWrite { depth, contract, key, before, after, gas_left } => {
                let (label, b) = names.storage(contract, key, before.as_deref());
                let (_, a) = names.storage(contract, key, after.as_deref());
                let verb = if after.is_some() { "write " } else { "remove" };
                println!("{}{verb} {label}: {b} -> {a}   (gas left {gas_left})", pad(*depth));
            }
            TraceStep::Event { depth, contract, topics, data } => {
                println!("{}event  {} ({} topics)", pad(*depth), names.event(contract, data), topics.len());
            }
            TraceStep::Transfer { depth, from, to, amount, ok } => {
                let how = if *ok { "" } else { " REFUSED: insufficient balance" };
                println!("{}transfer {amount} fen {from} -> {to}{how}", pad(*depth));
            }
            TraceStep::Return { depth, contract, end, gas_used } => match end {
                Ok(out) => println!("{}return ok {} ({gas_used} gas in this call)", pad(*depth), hex0x(out)),
                Err(why) => {
                    println!("{}return {why} ({gas_used} gas in this call)", pad(*depth));
                    failure.get_or_insert(format!("in {contract} at call depth {depth}: {why}"));
                }
            },
            TraceStep::Truncated => {
                println!("  … (the log stops here: {} steps kept)", jjj_executive::MAX_TRACE_STEPS)
            }
        }
    }
    if let Some(f) = failure {
        println!("failed {f}");
    }
}
