//! `jjj follow`: the light client on the command line, and the validator-set history file it
//! (and `jjj audit replay --sets-out`) writes and `jjj audit verify-receipt --sets` reads.
use futures::stream::{self, StreamExt};
use jjj_config::{parse_account, parse_hash, Genesis};
use jjj_consensus::CommitCertificate;
use jjj_light::{LightClient, SetHistory};
use jjj_primitives::{AccountId, Header, NetworkId};
use jjj_rpc_api::{hex0x, unhex, NodeApiClient, Rpc};
use parity_scale_codec::{DecodeAll, Encode};
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

pub const SETS_FORMAT: &str = "jjj-validator-sets";
pub const SETS_VERSION: u32 = 1;
/// Headers requested from a node at once.
const FETCH_CONCURRENCY: usize = 16;
/// The history file is rewritten after this many headers (and at the end).
const SAVE_EVERY: u64 = 1_000;

/// A network's validator-set history as a file: the genesis set, every change governance
/// scheduled, and the height up to which it is known; with the last verified header when a
/// light client wrote it (`jjj follow` resumes from there).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SetsFile {
    pub format: String,
    pub version: u32,
    pub network: String,
    pub genesis_hash: String,
    /// The highest height whose validator set is known.
    pub known_to: u64,
    pub genesis: Vec<String>,
    pub schedule: Vec<ScheduledSet>,
    /// The last verified header (SCALE `Header`, 0x-hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ScheduledSet {
    pub from: u64,
    pub validators: Vec<String>,
}

impl From<&SetHistory> for SetsFile {
    fn from(h: &SetHistory) -> Self {
        let ids = |v: &[AccountId]| v.iter().map(|a| a.to_string()).collect();
        SetsFile {
            format: SETS_FORMAT.into(),
            version: SETS_VERSION,
            network: h.network.to_string(),
            genesis_hash: h.genesis_hash.to_string(),
            known_to: h.known_to,
            genesis: ids(&h.genesis),
            schedule: h.schedule.iter().map(|(from, v)| ScheduledSet { from: *from, validators: ids(v) }).collect(),
            head: None,
        }
    }
}

impl crate::history::VersionedFile for SetsFile {
    const FORMAT: &'static str = SETS_FORMAT;
    const VERSION: u32 = SETS_VERSION;
    const WHAT: &'static str = "a validator-set history";
    fn stamp(&self) -> (&str, u32) {
        (&self.format, self.version)
    }
}

impl SetsFile {
    pub fn load(path: &Path) -> Result<SetsFile, String> {
        <SetsFile as crate::history::VersionedFile>::load(path)
    }

    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// The history, checked to be of `genesis`'s network history.
    pub fn history(&self, genesis: &Genesis) -> Result<SetHistory, String> {
        let algo = genesis.suite()?.hash_algo();
        let genesis_hash = genesis.header()?.hash(algo);
        if self.network != genesis.network || parse_hash(&self.genesis_hash)? != genesis_hash {
            return Err(format!(
                "the validator-set history is of network {} (genesis {}), not of this genesis ({} {genesis_hash})",
                self.network, self.genesis_hash, genesis.network
            ));
        }
        let ids = |v: &[String]| v.iter().map(|a| parse_account(a)).collect::<Result<Vec<_>, _>>();
        Ok(SetHistory {
            network: NetworkId::new(&self.network)?,
            genesis_hash,
            genesis: ids(&self.genesis)?,
            schedule: self
                .schedule
                .iter()
                .map(|s| Ok((s.from, ids(&s.validators)?)))
                .collect::<Result<Vec<_>, String>>()?,
            known_to: self.known_to,
        })
    }
}

/// What the auditor knows of `genesis`'s validator sets: the history file if given, else the
/// genesis set alone (for every height: sound only while governance never changed the set).
pub fn sets_or_genesis(genesis: &Genesis, sets: Option<&Path>) -> Result<(SetHistory, bool), String> {
    if let Some(path) = sets {
        return Ok((SetsFile::load(path)?.history(genesis)?, true));
    }
    let algo = genesis.suite()?.hash_algo();
    let mut h = SetHistory::fixed(genesis.network_id()?, genesis.validator_ids()?);
    h.genesis_hash = genesis.header()?.hash(algo);
    Ok((h, false))
}

/// The validator schedule in a genesis's own state (usually none).
fn genesis_schedule(genesis: &Genesis) -> Result<jjj_light::Schedule, String> {
    let changes = genesis.state_changes()?;
    match changes.get(&LightClient::schedule_key()).cloned().flatten() {
        None => Ok(vec![]),
        Some(bytes) => jjj_light::Schedule::decode_all(&mut &bytes[..]).map_err(|e| format!("genesis schedule: {e}")),
    }
}

/// One height as a light client receives it.
struct LightHeader {
    header: Header,
    certificate: CommitCertificate,
    schedule: Option<Vec<u8>>,
    proof: Vec<u8>,
}

async fn fetch(rpc: &Rpc, network: &str, height: u64) -> Result<LightHeader, String> {
    let j = rpc
        .api()
        .light_header(network.into(), height)
        .await
        .map_err(|e| rpc.explain(e))?
        .ok_or_else(|| format!("height {height}: the node has no header"))?;
    let bytes = |what: &str, s: &str| unhex(s).map_err(|e| format!("height {height}: {what}: {e}"));
    let header = Header::decode_all(&mut &bytes("header", &j.header)?[..])
        .map_err(|e| format!("height {height}: the header does not decode: {e}"))?;
    let cert = j.certificate.as_deref().ok_or_else(|| format!("height {height}: no certificate"))?;
    let certificate = CommitCertificate::decode_all(&mut &bytes("certificate", cert)?[..])
        .map_err(|e| format!("height {height}: the certificate does not decode: {e}"))?;
    let schedule = j.schedule.as_deref().map(|s| bytes("schedule", s)).transpose()?;
    Ok(LightHeader { header, certificate, schedule, proof: bytes("schedule proof", &j.schedule_proof)? })
}

/// `jjj follow`: verifies the network's certified headers from genesis (or from where `sets`
/// left off) up to the head or `to`; with `watch`, goes on as blocks are finalised.
pub async fn follow(
    rpc_url: &str,
    genesis_path: &Path,
    sets: Option<&Path>,
    to: Option<u64>,
    watch: bool,
) -> Result<(), String> {
    let genesis = Genesis::load(genesis_path)?;
    let suite = genesis.suite()?;
    let network = genesis.network.clone();
    let mut client = match sets.filter(|p| p.exists()) {
        Some(path) => {
            let file = SetsFile::load(path)?;
            let head = file.head.as_deref().ok_or_else(|| {
                format!(
                    "{} holds no verified header to resume from (a replay's history, not a follower's)",
                    path.display()
                )
            })?;
            let head = unhex(head).map_err(|e| format!("{}: head: {e}", path.display()))?;
            let head = Header::decode_all(&mut &head[..]).map_err(|e| format!("{}: head: {e}", path.display()))?;
            let c = LightClient::resume(suite, head, file.history(&genesis)?).map_err(|e| e.to_string())?;
            eprintln!("resuming at height {} ({})", c.head().height, c.head_hash());
            c
        }
        None => {
            LightClient::from_genesis(suite, genesis.header()?, genesis.validator_ids()?, genesis_schedule(&genesis)?)
        }
    };
    let rpc = Rpc::new(rpc_url)?;
    let node_genesis = rpc.api().block(network.clone(), Some(0), None, None).await.map_err(|e| rpc.explain(e))?;
    if node_genesis.map(|b| b.header.hash) != Some(genesis.header()?.hash(suite.hash_algo()).to_string()) {
        return Err(format!("the node's genesis of {network} differs from {}", genesis_path.display()));
    }
    let save = |c: &LightClient| -> Result<(), String> {
        if let Some(path) = sets {
            let mut f = SetsFile::from(c.sets());
            f.head = Some(hex0x(&c.head().encode()));
            f.save(path)?;
        }
        Ok(())
    };
    let started = Instant::now();
    let (mut verified, mut changes) = (0u64, 0u64);
    let tty = std::io::stderr().is_terminal();
    let mut shown = Instant::now();
    loop {
        let head = rpc.api().finalized_head(network.clone()).await.map_err(|e| rpc.explain(e))?.height;
        let target = to.map_or(head, |t| t.min(head));
        let from = client.head().height + 1;
        if from <= target {
            let rpc = &rpc;
            let network = &network;
            let mut headers = stream::iter(from..=target)
                .map(|h| async move { fetch(rpc, network, h).await })
                .buffered(FETCH_CONCURRENCY);
            while let Some(next) = headers.next().await {
                let l = next?;
                let accepted =
                    client.accept(l.header, &l.certificate, l.schedule.as_deref(), &l.proof).map_err(|e| {
                        format!("{e} (the node at {} serves a history the validators did not certify)", rpc.url)
                    })?;
                verified += 1;
                for (from, set) in &accepted.new_sets {
                    changes += 1;
                    let list: Vec<String> = set.iter().map(|a| a.to_string()).collect();
                    println!(
                        "height {}: governance scheduled a validator set of {} from height {from}: {}",
                        accepted.height,
                        set.len(),
                        list.join(", ")
                    );
                }
                if verified.is_multiple_of(SAVE_EVERY) {
                    save(&client)?;
                }
                if shown.elapsed() > Duration::from_secs(if tty { 1 } else { 10 }) {
                    shown = Instant::now();
                    let rate = verified as f64 / started.elapsed().as_secs_f64().max(1e-6);
                    let line = format!("verified height {} of {target}: {rate:.0} headers/s", accepted.height);
                    if tty {
                        eprint!("\r{line}");
                    } else {
                        eprintln!("{line}");
                    }
                }
            }
            if tty && started.elapsed() > Duration::from_secs(1) {
                eprintln!();
            }
            save(&client)?;
        }
        if !watch || to.is_some_and(|t| client.head().height >= t) {
            break;
        }
        if verified > 0 && from <= target {
            println!("following {network}: height {} ({}) verified", client.head().height, client.head_hash());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let next_set = client.sets().at(client.head().height + 1).map_err(|e| e.to_string())?;
    println!(
        "followed {network} to height {} ({}): {verified} certified headers verified in {:.1} s, each against the \
         validator set of its height; {changes} validator-set change(s) scheduled; {} validators from height {}",
        client.head().height,
        client.head_hash(),
        started.elapsed().as_secs_f64(),
        next_set.validators.len(),
        client.head().height + 1
    );
    if let Some(path) = sets {
        println!(
            "validator-set history saved to {} (check proofs with `jjj audit verify-receipt --sets`)",
            path.display()
        );
    }
    Ok(())
}
