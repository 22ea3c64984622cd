//! `jjj audit replay`: re-verify a network's history from a node (never trusted) or an export.
//!
//! Every block: it extends the previous one; its certificate is signed by a quorum of the
//! validator set in force at its height (as the replayed state schedules it); its transactions
//! are the certified ones; re-executed with the chain's own executive on a state kept in RocksDB
//! (so a history larger than memory replays), each receipt equals the source's field by field
//! and the receipts and state roots equal the certified header's. Signatures of the next blocks
//! are verified on a second thread (one ed25519 batch per block) while a block executes. The
//! first difference ends the replay, named by height, transaction index and field, or state key
//! (the node's certified value fetched with its proof, when the source is a node).
use crate::follow::SetsFile;
use crate::history::{ExportedBlock, Fetched, Source};
use jjj_config::Genesis;
use jjj_consensus::{CommitCertificate, ValidatorSet};
use jjj_executive::{BlockError, Runtime};
use jjj_primitives::*;
use jjj_rpc_api::{hex0x, NodeApiClient, Rpc};
use jjj_state::{ChangeSet, Overlay, StateCommitment};
use jjj_store::{ChainStore, RocksStore};
use parity_scale_codec::DecodeAll;
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Blocks fetched or verified ahead of execution.
const PIPELINE_BLOCKS: usize = 64;

pub struct ReplayArgs {
    pub genesis: Option<PathBuf>,
    pub rpc: Option<String>,
    pub dir: Option<PathBuf>,
    pub from: Option<u64>,
    pub to: Option<u64>,
    pub state_at: Option<PathBuf>,
    pub db: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub sets_out: Option<PathBuf>,
}

/// Why a replay stopped.
enum Failure {
    Stop(String),
    /// The replayed state root differs from the certified one: what the block changed, to be
    /// compared key by key with the node's proven values.
    StateRoot {
        height: u64,
        ours: Hash,
        certified: Hash,
        changes: ChangeSet,
    },
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure::Stop(s)
    }
}

/// What a replay saw.
#[derive(Default)]
struct Tally {
    blocks: u64,
    txs: u64,
    failed: u64,
    contracts: BTreeSet<AccountId>,
    set_changes: u64,
    /// Time spent re-executing blocks, and committing their state to the replay's store.
    execute: Duration,
    commit: Duration,
}

struct Replayer {
    runtime: Runtime,
    suite: jjj_crypto::Suite,
    network: NetworkId,
    genesis_validators: Vec<AccountId>,
    store: RocksStore,
    parent: Hash,
    last_set: Vec<AccountId>,
}

pub async fn replay(args: ReplayArgs) -> Result<(), String> {
    let (source, genesis_path) = match (&args.rpc, &args.dir) {
        (Some(_), Some(_)) => return Err("replay from --rpc or from --dir, not both".into()),
        (None, None) => return Err("say where the history is: --rpc URL (a node) or --dir DIR (an export)".into()),
        (Some(url), None) => {
            let genesis =
                args.genesis.clone().ok_or("--genesis: the auditor's own copy of the network's genesis file")?;
            let network = Genesis::load(&genesis)?.network;
            (Source::Rpc { rpc: Rpc::new(url)?, network }, genesis)
        }
        (None, Some(dir)) => {
            let manifest = crate::history::Manifest::load(dir)?;
            let genesis = match &args.genesis {
                Some(g) => g.clone(),
                None if dir.join("genesis.json").exists() => dir.join("genesis.json"),
                None => return Err(format!("{} holds no genesis.json: give the network's --genesis", dir.display())),
            };
            (Source::Dir { dir: dir.clone(), manifest }, genesis)
        }
    };
    let genesis = Genesis::load(&genesis_path)?;
    let suite = genesis.suite()?;
    let algo = suite.hash_algo();
    let network = genesis.network_id()?;
    let genesis_header = genesis.header()?;
    let genesis_hash = genesis_header.hash(algo);
    match &source {
        Source::Dir { manifest, dir } if manifest.genesis_hash != genesis_hash.to_string() => {
            return Err(format!(
                "the export in {} is of genesis {}, not {} ({})",
                dir.display(),
                manifest.genesis_hash,
                genesis_hash,
                genesis_path.display()
            ))
        }
        Source::Rpc { rpc, network } => {
            let b = rpc.api().block(network.clone(), Some(0), None, None).await.map_err(|e| rpc.explain(e))?;
            if b.map(|b| b.header.hash) != Some(genesis_hash.to_string()) {
                return Err(format!(
                    "the node's genesis differs from {}: not the same network history",
                    genesis_path.display()
                ));
            }
        }
        _ => {}
    }
    let genesis_validators = genesis.validator_ids()?;
    let runtime = Runtime::new()
        .map_err(|e| e.to_string())?
        .with_block_limits(genesis.block_limits())
        .with_suite(suite)
        .with_genesis_validators(genesis_validators.clone());

    // The state: a checkpoint kept by an earlier replay, or a new one from genesis.
    let (store, db_path, temporary) = open_state(&args, &genesis, algo)?;
    let start = store.head().map_err(|e| e.to_string())?.map_or(0, |(h, _)| h);
    let start_hash = store.head().map_err(|e| e.to_string())?.map_or(genesis_hash, |(_, h)| h);
    if store.header(0).map_err(|e| e.to_string())?.map(|h| h.hash(algo)) != Some(genesis_hash) {
        return Err(format!("the state in {} is of another network history", db_path.display()));
    }
    if let Some(from) = args.from {
        if from != start + 1 {
            return Err(format!("the state is at height {start}: the replay continues from height {}", start + 1));
        }
    }
    let head = source.head().await?;
    let last = args.to.unwrap_or(head).min(head);
    if last < start {
        return Err(format!("the source ends at height {head}, below the state's height {start}"));
    }
    let mut replayer = Replayer {
        runtime: runtime.clone(),
        suite,
        network: network.clone(),
        genesis_validators: genesis_validators.clone(),
        store: store.clone(),
        parent: start_hash,
        last_set: genesis_validators.clone(),
    };
    if start > 0 {
        // The checkpoint's own header must be the certified one of its height.
        check_checkpoint_header(&mut replayer, &source, start).await?;
    }
    let started = Instant::now();
    let altered = Arc::new(Mutex::new(Vec::new()));
    let (fetched_tx, mut fetched_rx) = tokio::sync::mpsc::channel::<Fetched>(PIPELINE_BLOCKS);
    let (verified_tx, verified_rx) = std::sync::mpsc::sync_channel::<Fetched>(PIPELINE_BLOCKS);
    let rpc_for_diagnosis = match &source {
        Source::Rpc { rpc, .. } => Some(Rpc::new(&rpc.url)?),
        Source::Dir { .. } => None,
    };
    let reader = tokio::spawn(source.stream(start + 1, last, fetched_tx, altered.clone()));
    // The second core: every signature of the blocks ahead, batched, while one executes.
    let verifier_runtime = runtime.clone();
    let verify_nanos = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let verify_time = verify_nanos.clone();
    let verifier = std::thread::spawn(move || {
        while let Some(item) = fetched_rx.blocking_recv() {
            if let Ok((_, b)) = &item {
                let t = Instant::now();
                verifier_runtime.verify_many(&b.block.transactions);
                verify_time.fetch_add(t.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
            }
            if verified_tx.send(item).is_err() {
                return;
            }
        }
    });
    let total = last - start;
    let outcome = tokio::task::spawn_blocking(move || {
        let mut tally = Tally::default();
        let mut progress = Progress::new(total);
        for item in verified_rx.iter() {
            let (h, record) = item.map_err(Failure::Stop)?;
            replayer.replay_block(h, record, &mut tally)?;
            progress.tick(tally.blocks, tally.txs);
            if h == last {
                break;
            }
        }
        progress.done();
        if tally.blocks != total {
            return Err(Failure::Stop(format!("the source stopped after height {}", start + tally.blocks)));
        }
        Ok((tally, replayer))
    })
    .await
    .map_err(|e| format!("the replay stopped: {e}"))?;
    reader.abort();
    let _ = verifier.join();
    let result = match outcome {
        Ok(r) => Ok(r),
        Err(Failure::Stop(s)) => Err(s),
        Err(Failure::StateRoot { height, ours, certified, changes }) => Err(explain_state_root(
            rpc_for_diagnosis.as_ref(),
            &genesis,
            args.key.as_deref(),
            height,
            ours,
            certified,
            &changes,
        )
        .await),
    };
    let altered = altered.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let (tally, replayer) = match result {
        Ok(r) => r,
        Err(e) => {
            let note = altered_note(&altered);
            return Err(format!("{e}{note}"));
        }
    };
    if !altered.is_empty() {
        return Err(format!(
            "every block verified, yet range file(s) {} differ from the export's checksums: altered after export",
            altered.join(", ")
        ));
    }
    if let Some(dir) = &args.dir {
        check_governance(&replayer.store, dir, last)?;
    }
    let secs = started.elapsed().as_secs_f64().max(1e-6);
    let root = replayer.store.state().state_root();
    println!(
        "audit of {}: heights {}..={last} ({} blocks, {} transactions: {} succeeded, {} failed; {} contracts touched) \
         replayed in {secs:.1} s: {:.0} blocks/s, {:.0} tx/s",
        network,
        start + 1,
        tally.blocks,
        tally.txs,
        tally.txs - tally.failed,
        tally.failed,
        tally.contracts.len(),
        tally.blocks as f64 / secs,
        tally.txs as f64 / secs,
    );
    println!(
        "every certificate verified against the validator set of its height ({} genesis validators, {} set change(s) \
         followed); every transaction, receipt, receipts root and state root matched",
        genesis_validators.len(),
        tally.set_changes
    );
    println!("final state root {root} at height {last}");
    if tally.txs > 0 {
        let per_tx = |d: Duration| d.as_secs_f64() * 1e6 / tally.txs as f64;
        let verify = Duration::from_nanos(verify_nanos.load(std::sync::atomic::Ordering::Relaxed));
        let (v, e, c) = (per_tx(verify), per_tx(tally.execute), per_tx(tally.commit));
        println!(
            "per transaction: signatures {v:.1} µs (batched, on the second thread), execution {e:.1} µs, state commit \
             {c:.1} µs; ceiling on one core {:.0} tx/s, with both cores (signatures beside execution) {:.0} tx/s",
            1e6 / (v + e + c).max(1e-3),
            1e6 / v.max(e + c).max(1e-3)
        );
    }
    if let Some(path) = &args.sets_out {
        let schedule = jjj_state::gov::load_validator_schedule(&Overlay::new(replayer.store.state()))
            .map_err(|e| e.to_string())?;
        let sets = jjj_light::SetHistory {
            network: network.clone(),
            genesis_hash,
            genesis: genesis_validators.clone(),
            schedule,
            known_to: last + 1,
        };
        SetsFile::from(&sets).save(path)?;
        println!("validator-set history up to height {} saved to {}", last + 1, path.display());
    }
    if temporary {
        drop(replayer);
        let _ = std::fs::remove_dir_all(&db_path);
    } else {
        println!(
            "replayed state kept in {}: continue later with `--state-at {} --from {}`",
            db_path.display(),
            db_path.display(),
            last + 1
        );
    }
    Ok(())
}

fn altered_note(files: &[String]) -> String {
    match files {
        [] => String::new(),
        _ => format!("\n(range file(s) {} differ from the export's checksums: altered after export)", files.join(", ")),
    }
}

/// The replay's state: `--state-at` (a checkpoint an earlier replay kept, checked value by
/// value against its root), `--db` (a new one kept afterwards) or a temporary directory.
fn open_state(args: &ReplayArgs, genesis: &Genesis, algo: HashAlgo) -> Result<(RocksStore, PathBuf, bool), String> {
    if let Some(dir) = &args.state_at {
        if !dir.join("CURRENT").exists() {
            return Err(format!("{} holds no replayed state (keep one with `--db DIR`)", dir.display()));
        }
        let store = RocksStore::open(dir, algo).map_err(|e| format!("checkpoint {}: {e}", dir.display()))?;
        let height = store.head().map_err(|e| e.to_string())?.map_or(0, |(h, _)| h);
        eprintln!("checking the checkpoint's state at height {height} against its state root…");
        let keys = store
            .audit_state(&mut |n| eprint!("\r  {n} keys checked"))
            .map_err(|e| format!("checkpoint {} at height {height}: {e}", dir.display()))?;
        eprintln!("\r  {keys} keys checked: the checkpoint's state is the one its root commits to");
        return Ok((store, dir.clone(), false));
    }
    let (dir, temporary) = match &args.db {
        Some(d) => {
            if d.join("CURRENT").exists() {
                return Err(format!(
                    "{} already holds a replayed state: continue it with `--state-at {}`, or give a new directory",
                    d.display(),
                    d.display()
                ));
            }
            (d.clone(), false)
        }
        None => (std::env::temp_dir().join(format!("jjj-replay-{}-{}", std::process::id(), now_nanos())), true),
    };
    let store = RocksStore::open(&dir, algo).map_err(|e| format!("replay state in {}: {e}", dir.display()))?;
    store
        .init_genesis(&genesis.header()?, &genesis.state_changes()?)
        .map_err(|e| format!("the genesis does not build: {e}"))?;
    Ok((store, dir, temporary))
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// A checkpoint's head must be the block the source certifies at that height.
async fn check_checkpoint_header(r: &mut Replayer, source: &Source, height: u64) -> Result<(), String> {
    let record = match source {
        Source::Rpc { rpc, network } => crate::history::fetch_block(rpc, network, height).await?,
        Source::Dir { .. } => {
            // The export's record of that height, read through the same stream.
            let (tx, mut rx) = tokio::sync::mpsc::channel(1);
            let altered = Arc::new(Mutex::new(Vec::new()));
            let src = match source {
                Source::Dir { dir, manifest } => Source::Dir { dir: dir.clone(), manifest: manifest.clone() },
                Source::Rpc { .. } => return Err("unreachable".into()),
            };
            tokio::spawn(src.stream(height, height, tx, altered));
            rx.recv().await.ok_or("the export has no record of the checkpoint's height")??.1
        }
    };
    let ours = r.store.header(height).map_err(|e| e.to_string())?.ok_or("the checkpoint has no head header")?;
    let algo = r.suite.hash_algo();
    if record.block.header.hash(algo) != ours.hash(algo) {
        return Err(format!("height {height}: the checkpoint's head is not the block the source has at that height"));
    }
    let cert = decode_certificate(height, &record.certificate)?;
    // The set of the checkpoint's height, from its own (checked) state.
    let state = r.store.state();
    let set = jjj_executive::gov::validators_at(&r.genesis_validators, &Overlay::new(state), height)
        .map_err(|e| format!("height {height}: {e}"))?;
    verify_certificate(r.suite, &r.network, &set, &cert, height, ours.hash(algo))?;
    r.last_set = set;
    Ok(())
}

fn decode_certificate(height: u64, bytes: &[u8]) -> Result<CommitCertificate, String> {
    CommitCertificate::decode_all(&mut &bytes[..])
        .map_err(|e| format!("height {height}: the commit certificate does not decode: {e}"))
}

fn verify_certificate(
    suite: jjj_crypto::Suite,
    network: &NetworkId,
    set: &[AccountId],
    cert: &CommitCertificate,
    height: u64,
    block_hash: Hash,
) -> Result<(), String> {
    if cert.height != height || cert.block_hash != block_hash {
        return Err(format!(
            "height {height}: the commit certificate is for another block (height {}, block {})",
            cert.height, cert.block_hash
        ));
    }
    let set = ValidatorSet::new(set.to_vec()).map_err(|e| format!("height {height}: {e}"))?;
    cert.verify(suite, network, &set).map_err(|e| {
        format!("height {height}: the commit certificate is not valid for the validator set of this height: {e}")
    })
}

impl Replayer {
    fn replay_block(&mut self, h: u64, record: ExportedBlock, tally: &mut Tally) -> Result<(), Failure> {
        let algo = self.suite.hash_algo();
        let block = &record.block;
        let header = &block.header;
        if header.height != h {
            return Err(format!("height {h}: the source sent the block of height {}", header.height).into());
        }
        if header.network != self.network {
            return Err(format!("height {h}: the block is of network {}", header.network).into());
        }
        if header.parent_hash != self.parent {
            return Err(format!(
                "height {h}: the block does not extend block {} (its parent hash is {}, block {} is {})",
                h - 1,
                header.parent_hash,
                h - 1,
                self.parent
            )
            .into());
        }
        let block_hash = header.hash(algo);
        let cert = decode_certificate(h, &record.certificate)?;
        let state = self.store.state();
        let set = jjj_executive::gov::validators_at(&self.genesis_validators, &Overlay::new(state.clone()), h)
            .map_err(|e| format!("height {h}: {e}"))?;
        if set != self.last_set {
            tally.set_changes += 1;
            self.last_set = set.clone();
        }
        verify_certificate(self.suite, &self.network, &set, &cert, h, block_hash)?;
        let hashes: Vec<Hash> = block.transactions.iter().map(|t| t.hash(algo)).collect();
        if merkle_root(algo, hashes.iter().copied()) != header.tx_root {
            let which = hashes.iter().zip(&record.receipts).position(|(t, r)| r.tx_hash != *t);
            return Err(match which {
                Some(i) => format!(
                    "height {h}, tx {i}: transaction {} is not the certified one (the block's tx root differs; its \
                     receipt names transaction {})",
                    hashes[i], record.receipts[i].tx_hash
                ),
                None => format!("height {h}: the transactions do not lead to the certified tx root {}", header.tx_root),
            }
            .into());
        }
        let started = Instant::now();
        let exec = self.runtime.execute_block(state, block).map_err(|e| match e {
            BlockError::InvalidTransaction { index, hash, error } => {
                format!("height {h}, tx {index} ({hash}): the replay refuses the transaction: {error}")
            }
            other => format!("height {h}: re-execution fails: {other}"),
        })?;
        tally.execute += started.elapsed();
        if record.receipts.len() != exec.receipts.len() {
            return Err(format!(
                "height {h}: the source has {} receipts for {} transactions",
                record.receipts.len(),
                exec.receipts.len()
            )
            .into());
        }
        for (i, (theirs, ours)) in record.receipts.iter().zip(&exec.receipts).enumerate() {
            if let Some(diff) = receipt_difference(theirs, ours) {
                return Err(format!("height {h}, tx {i} ({}): receipt {diff}", hashes[i]).into());
            }
        }
        if exec.receipts_root != header.receipts_root {
            return Err(format!(
                "height {h}: the certified receipts root {} differs from the replayed receipts' root {}",
                header.receipts_root, exec.receipts_root
            )
            .into());
        }
        if exec.state_root != header.state_root {
            return Err(Failure::StateRoot {
                height: h,
                ours: exec.state_root,
                certified: header.state_root,
                changes: exec.changes,
            });
        }
        for (stx, r) in block.transactions.iter().zip(&exec.receipts) {
            tally.txs += 1;
            tally.failed += u64::from(!r.is_success());
            if let Call::Call { contract, .. } = &stx.tx.call {
                tally.contracts.insert(*contract);
            }
            tally.contracts.extend(r.events.iter().map(|e| e.contract));
        }
        let started = Instant::now();
        self.store
            .commit_block(block, &record.certificate, &exec.receipts, &exec.changes)
            .map_err(|e| format!("height {h}: the replay's store refuses the block: {e}"))?;
        tally.commit += started.elapsed();
        self.parent = block_hash;
        tally.blocks += 1;
        Ok(())
    }
}

fn status_text(s: &ReceiptStatus) -> String {
    match s {
        ReceiptStatus::Success => "success".into(),
        ReceiptStatus::Reverted(m) => format!("reverted: {m}"),
        ReceiptStatus::Failed(m) => format!("failed: {m}"),
    }
}

/// The first field in which the source's receipt differs from the replay's, with both values.
pub fn receipt_difference(theirs: &Receipt, ours: &Receipt) -> Option<String> {
    let field =
        |name: &str, t: String, o: String| Some(format!("field {name}: the source says {t}, the replay says {o}"));
    if theirs.tx_hash != ours.tx_hash {
        return field("tx_hash", theirs.tx_hash.to_string(), ours.tx_hash.to_string());
    }
    if theirs.status != ours.status {
        return field("status", status_text(&theirs.status), status_text(&ours.status));
    }
    if theirs.gas_used != ours.gas_used {
        return field("gas_used", theirs.gas_used.to_string(), ours.gas_used.to_string());
    }
    if theirs.output != ours.output {
        return field("output", hex0x(&theirs.output), hex0x(&ours.output));
    }
    if theirs.events.len() != ours.events.len() {
        return field("events", format!("{} events", theirs.events.len()), format!("{} events", ours.events.len()));
    }
    for (j, (t, o)) in theirs.events.iter().zip(&ours.events).enumerate() {
        if t.contract != o.contract {
            return field(&format!("events[{j}].contract"), t.contract.to_string(), o.contract.to_string());
        }
        if t.topics != o.topics {
            let list = |ts: &[Hash]| ts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
            return field(&format!("events[{j}].topics"), list(&t.topics), list(&o.topics));
        }
        if t.data != o.data {
            return field(&format!("events[{j}].data"), hex0x(&t.data), hex0x(&o.data));
        }
    }
    None
}

/// Names the first key whose replayed value differs from the one the certified state root
/// commits to, asking the node for each changed key's value and proof (checked against the
/// certified root, so the node's word is not taken). Without a node, says what is known.
async fn explain_state_root(
    rpc: Option<&Rpc>,
    genesis: &Genesis,
    key_file: Option<&Path>,
    height: u64,
    ours: Hash,
    certified: Hash,
    changes: &ChangeSet,
) -> String {
    let head = format!("height {height}: the replayed state root {ours} differs from the certified {certified}");
    let Some(rpc) = rpc else {
        return format!(
            "{head} ({} keys changed by the block; replay against a node with --rpc to name the differing key)",
            changes.len()
        );
    };
    let (suite, network) = match (genesis.suite(), genesis.network_id()) {
        (Ok(s), Ok(n)) => (s, n),
        _ => return head,
    };
    let reader = key_file.and_then(|k| jjj_config::load_key(k).ok());
    let mut unreadable = 0usize;
    for (key, ours_value) in changes {
        let read = crate::audit::storage_read_request(reader.as_ref(), &network, key);
        let answer = rpc.api().state_proof(genesis.network.clone(), hex0x(key), Some(height), read).await;
        let Ok(p) = answer else {
            unreadable += 1;
            continue;
        };
        let decode = |s: &Option<String>| s.as_deref().map(jjj_rpc_api::unhex).transpose();
        let (Ok(theirs), Ok(proof)) = (decode(&p.value), jjj_rpc_api::unhex(&p.proof)) else {
            unreadable += 1;
            continue;
        };
        if !jjj_state::verify_proof(suite.hash_algo(), &certified, key, theirs.as_deref(), &proof) {
            unreadable += 1;
            continue;
        }
        if theirs != *ours_value {
            let show = |v: &Option<Vec<u8>>| v.as_deref().map_or("absent".to_string(), hex0x);
            return format!(
                "{head}: state key {}: the certified state holds {}, the replay computed {}",
                hex0x(key),
                show(&theirs),
                show(ours_value)
            );
        }
    }
    format!(
        "{head}: every key the block changed that the node proved ({} of {}) holds the replayed value; the chain \
         changed a key the replay did not{}",
        changes.len() - unreadable,
        changes.len(),
        if unreadable > 0 { " (contract storage needs an auditor's --key)" } else { "" }
    )
}

/// Compares an export's governance records with the replayed state at their height.
fn check_governance(store: &RocksStore, dir: &Path, last: u64) -> Result<(), String> {
    let Some(gov) = crate::history::load_governance(dir)? else { return Ok(()) };
    if gov.height != last {
        return Ok(());
    }
    let state = store.state();
    for r in &gov.records {
        let key = jjj_rpc_api::unhex(&r.key).map_err(|e| format!("governance record {}: key: {e}", r.name))?;
        let theirs = r
            .value
            .as_deref()
            .map(jjj_rpc_api::unhex)
            .transpose()
            .map_err(|e| format!("governance record {}: value: {e}", r.name))?;
        let ours = jjj_state::StateReader::get(&*state, &key).map_err(|e| e.to_string())?;
        if theirs != ours {
            let show = |v: &Option<Vec<u8>>| v.as_deref().map_or("absent".to_string(), hex0x);
            return Err(format!(
                "governance record {} (state key {}) at height {last}: the export says {}, the replay says {}",
                r.name,
                r.key,
                show(&theirs),
                show(&ours)
            ));
        }
    }
    println!("the export's {} governance records match the replayed state at height {last}", gov.records.len());
    Ok(())
}

/// A progress line on stderr: heights, blocks/s, tx/s (rewritten in place on a terminal, a line
/// every 10 s otherwise).
struct Progress {
    total: u64,
    started: Instant,
    last: Instant,
    tty: bool,
}

impl Progress {
    fn new(total: u64) -> Self {
        let now = Instant::now();
        Progress { total, started: now, last: now, tty: std::io::stderr().is_terminal() }
    }

    fn tick(&mut self, blocks: u64, txs: u64) {
        let every = if self.tty { Duration::from_millis(250) } else { Duration::from_secs(10) };
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        let width = 30usize;
        let filled = (blocks * width as u64).checked_div(self.total).unwrap_or(0) as usize;
        let bar: String = "#".repeat(filled) + &"-".repeat(width - filled.min(width));
        let line = format!(
            "[{bar}] {blocks}/{} blocks, {txs} tx, {:.0} blocks/s, {:.0} tx/s",
            self.total,
            blocks as f64 / secs,
            txs as f64 / secs
        );
        if self.tty {
            eprint!("\r{line}");
        } else {
            eprintln!("{line}");
        }
    }

    fn done(&self) {
        if self.tty && self.started.elapsed() > Duration::from_millis(250) {
            eprintln!();
        }
    }
}
