//! Where an auditor reads a network's history: a node over JSON-RPC (never trusted) or an
//! export directory (`jjj audit export`), and the export format itself.
//!
//! # The export format (version 1)
//!
//! ```text
//! DIR/manifest.json     what the export holds: format, version, network, genesis hash, suite,
//!                       and per range of heights its file, size, transaction count and checksum
//! DIR/genesis.json      the genesis the exporter used (an auditor checks it against their own)
//! DIR/blocks-FROM-TO.jjjx
//!                       heights FROM..=TO (8 digits each): the magic "JJJX" and the format
//!                       version (u32 big-endian), then per block a u32 big-endian length and the
//!                       SCALE `ExportedBlock` (the block, its commit certificate, its receipts)
//! DIR/governance.json   the governance records at the export's last height (members, the
//!                       validator schedule, every proposal): raw state keys and values
//! ```
//!
//! A range holds `RANGE_BLOCKS` heights (1..=1000, 1001..=2000, …), the last one up to the
//! head. Checksums are BLAKE2b-256 of the whole file. A file is written beside its final name and
//! renamed once complete, and the manifest is rewritten after each range, so an interrupted
//! export resumes after its last whole range (a short last range is written again). Nothing in
//! an export is trusted by `jjj audit replay`: it verifies every certificate and root itself;
//! the checksums only say that a file changed since it was written.
use futures::stream::{self, StreamExt};
use jjj_primitives::{Block, HashAlgo, Receipt};
use jjj_rpc_api::{NodeApiClient, Rpc};
use parity_scale_codec::{Decode, DecodeAll, Encode};
use serde::{Deserialize, Serialize};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

pub const EXPORT_FORMAT: &str = "jjj-export";
pub const EXPORT_VERSION: u32 = 1;
/// Heights per range file.
pub const RANGE_BLOCKS: u64 = 1_000;
const MAGIC: &[u8; 4] = b"JJJX";
/// The largest record a range file may hold: a block at the largest block size, its
/// certificate and receipts fit with room to spare.
const MAX_RECORD_BYTES: usize = 64 << 20;
/// Blocks requested from a node at once.
const FETCH_CONCURRENCY: usize = 8;

/// One height of the history, as a node stores it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ExportedBlock {
    pub block: Block,
    /// The SCALE `CommitCertificate`, as the node keeps it.
    pub certificate: Vec<u8>,
    pub receipts: Vec<Receipt>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub network: String,
    /// The genesis header's hash.
    pub genesis_hash: String,
    /// The network's suite, from the genesis the exporter gave (empty without one).
    #[serde(default)]
    pub suite: String,
    pub ranges: Vec<RangeEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RangeEntry {
    pub from: u64,
    pub to: u64,
    pub file: String,
    pub bytes: u64,
    pub transactions: u64,
    /// BLAKE2b-256 of the file, 0x-hex.
    pub blake2b: String,
}

/// `governance.json`: raw governance records at `height`, to be compared with a replay's state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GovernanceRecords {
    pub height: u64,
    pub records: Vec<GovernanceRecord>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GovernanceRecord {
    /// What the record is ("proposal 3", "validator schedule"…).
    pub name: String,
    pub key: String,
    /// Null: absent.
    pub value: Option<String>,
}

fn checksum(bytes: &[u8]) -> String {
    HashAlgo::Blake2b256.hash(bytes).to_string()
}

fn range_file(from: u64, to: u64) -> String {
    format!("blocks-{from:08}-{to:08}.jjjx")
}

/// A JSON file of one of our formats: named and versioned, so another format or a newer
/// version is refused by name instead of misread.
pub trait VersionedFile: serde::de::DeserializeOwned {
    const FORMAT: &'static str;
    const VERSION: u32;
    /// What the file is, for errors ("an export manifest").
    const WHAT: &'static str;
    fn stamp(&self) -> (&str, u32);

    fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let f: Self =
            serde_json::from_str(&text).map_err(|e| format!("{} is not {}: {e}", path.display(), Self::WHAT))?;
        let (format, version) = f.stamp();
        if format != Self::FORMAT || version != Self::VERSION {
            return Err(format!(
                "{} is {format} version {version}; this jjj reads {} version {}",
                path.display(),
                Self::FORMAT,
                Self::VERSION
            ));
        }
        Ok(f)
    }
}

impl VersionedFile for Manifest {
    const FORMAT: &'static str = EXPORT_FORMAT;
    const VERSION: u32 = EXPORT_VERSION;
    const WHAT: &'static str = "an export manifest";
    fn stamp(&self) -> (&str, u32) {
        (&self.format, self.version)
    }
}

impl Manifest {
    pub fn load(dir: &Path) -> Result<Manifest, String> {
        <Manifest as VersionedFile>::load(&dir.join("manifest.json"))
    }

    fn save(&self, dir: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        write_atomically(&dir.join("manifest.json"), text.as_bytes())
    }

    /// The last height of the export (0: none).
    pub fn last(&self) -> u64 {
        self.ranges.last().map_or(0, |r| r.to)
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("partial");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Encodes blocks as one range file.
fn encode_range(blocks: &[ExportedBlock]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&EXPORT_VERSION.to_be_bytes());
    for b in blocks {
        let bytes = b.encode();
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

/// Reads a range file's records one by one.
struct RangeReader {
    file: BufReader<std::fs::File>,
    name: String,
}

impl RangeReader {
    fn open(path: &Path) -> Result<RangeReader, String> {
        let name = path.display().to_string();
        let f = std::fs::File::open(path).map_err(|e| format!("cannot open {name}: {e}"))?;
        let mut file = BufReader::new(f);
        let mut head = [0u8; 8];
        file.read_exact(&mut head).map_err(|e| format!("{name}: no header: {e}"))?;
        if &head[..4] != MAGIC || head[4..] != EXPORT_VERSION.to_be_bytes() {
            return Err(format!("{name} is not a range file of {EXPORT_FORMAT} version {EXPORT_VERSION}"));
        }
        Ok(RangeReader { file, name })
    }

    /// The next record, `None` at the end of the file.
    fn next(&mut self) -> Result<Option<ExportedBlock>, String> {
        let mut len = [0u8; 4];
        match self.file.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", self.name)),
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_RECORD_BYTES {
            return Err(format!("{}: a record of {len} bytes (at most {MAX_RECORD_BYTES})", self.name));
        }
        let mut bytes = vec![0u8; len];
        self.file.read_exact(&mut bytes).map_err(|e| format!("{}: a record is cut short: {e}", self.name))?;
        ExportedBlock::decode_all(&mut &bytes[..])
            .map(Some)
            .map_err(|e| format!("{}: a record does not decode: {e}", self.name))
    }
}

/// One height from a node: its block, certificate and receipts (`chain_getBlock` with `raw`).
pub async fn fetch_block(rpc: &Rpc, network: &str, height: u64) -> Result<ExportedBlock, String> {
    let b = rpc
        .api()
        .block(network.into(), Some(height), None, Some(true))
        .await
        .map_err(|e| rpc.explain(e))?
        .ok_or_else(|| format!("height {height}: the node has no block"))?;
    let raw = |what: &str, v: &Option<String>| -> Result<Vec<u8>, String> {
        let s = v.as_deref().ok_or_else(|| format!("height {height}: the node sent no {what}"))?;
        jjj_rpc_api::unhex(s).map_err(|e| format!("height {height}: {what}: {e}"))
    };
    let block = Block::decode_all(&mut &raw("block", &b.raw_block)?[..])
        .map_err(|e| format!("height {height}: the node's block does not decode: {e}"))?;
    let receipts = Vec::<Receipt>::decode_all(&mut &raw("receipts", &b.raw_receipts)?[..])
        .map_err(|e| format!("height {height}: the node's receipts do not decode: {e}"))?;
    Ok(ExportedBlock { block, certificate: raw("certificate", &b.raw_certificate)?, receipts })
}

/// Where the history comes from.
pub enum Source {
    Rpc { rpc: Rpc, network: String },
    Dir { dir: PathBuf, manifest: Manifest },
}

/// What a source hands on: a height's record, or why it cannot.
pub type Fetched = Result<(u64, ExportedBlock), String>;

impl Source {
    /// The last height the source has.
    pub async fn head(&self) -> Result<u64, String> {
        match self {
            Source::Rpc { rpc, network } => {
                let h = rpc.api().finalized_head(network.clone()).await.map_err(|e| rpc.explain(e))?;
                Ok(h.height)
            }
            Source::Dir { manifest, .. } => Ok(manifest.last()),
        }
    }

    /// Heights `from..=to` in order into `out` (bounded: the reader waits for the replay). A
    /// range file whose checksum differs is reported to `altered` and still read, so that the
    /// replay names the exact place.
    pub async fn stream(
        self,
        from: u64,
        to: u64,
        out: tokio::sync::mpsc::Sender<Fetched>,
        altered: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    ) {
        match self {
            Source::Rpc { rpc, network } => {
                let rpc = &rpc;
                let network = &network;
                let mut blocks = stream::iter(from..=to)
                    .map(|h| async move { fetch_block(rpc, network, h).await.map(|b| (h, b)) })
                    .buffered(FETCH_CONCURRENCY);
                while let Some(item) = blocks.next().await {
                    let failed = item.is_err();
                    if out.send(item).await.is_err() || failed {
                        return;
                    }
                }
            }
            Source::Dir { dir, manifest } => {
                let _ = tokio::task::spawn_blocking(move || read_dir_range(&dir, &manifest, from, to, &out, &altered))
                    .await;
            }
        }
    }
}

fn read_dir_range(
    dir: &Path,
    manifest: &Manifest,
    from: u64,
    to: u64,
    out: &tokio::sync::mpsc::Sender<Fetched>,
    altered: &std::sync::Mutex<Vec<String>>,
) {
    let mut next = from;
    for range in manifest.ranges.iter().filter(|r| r.to >= from && r.from <= to) {
        let path = dir.join(&range.file);
        let mut read = || -> Result<bool, String> {
            let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if checksum(&bytes) != range.blake2b || bytes.len() as u64 != range.bytes {
                altered.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(range.file.clone());
            }
            let mut reader = RangeReader::open(&path)?;
            let mut h = range.from;
            while let Some(b) = reader.next()? {
                if b.block.header.height != h {
                    return Err(format!(
                        "{}: record {} holds height {}, expected {h}",
                        range.file,
                        h - range.from,
                        b.block.header.height
                    ));
                }
                if h >= next && h <= to {
                    if out.blocking_send(Ok((h, b))).is_err() {
                        return Ok(false);
                    }
                    next = h + 1;
                }
                h += 1;
            }
            if h != range.to.saturating_add(1) {
                return Err(format!(
                    "{}: holds heights {}..{}, the manifest says ..={}",
                    range.file, range.from, h, range.to
                ));
            }
            Ok(true)
        };
        match read() {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                let _ = out.blocking_send(Err(e));
                return;
            }
        }
    }
    if next <= to {
        let _ = out.blocking_send(Err(format!("the export ends at height {}, before height {next}", next - 1)));
    }
}

/// Reads an export's governance records, if it has them.
pub fn load_governance(dir: &Path) -> Result<Option<GovernanceRecords>, String> {
    let path = dir.join("governance.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map(Some).map_err(|e| format!("{} does not read: {e}", path.display()))
}

/// `jjj audit export`.
pub async fn export(
    rpc_url: &str,
    network: &str,
    genesis_path: Option<&Path>,
    out: &Path,
    from: Option<u64>,
    to: Option<u64>,
) -> Result<(), String> {
    let genesis = genesis_path.map(jjj_config::Genesis::load).transpose()?;
    let network = genesis.as_ref().map_or_else(|| network.to_string(), |g| g.network.clone());
    let rpc = Rpc::new(rpc_url)?;
    let node_genesis = rpc.api().block(network.clone(), Some(0), None, None).await.map_err(|e| rpc.explain(e))?;
    let node_hash =
        node_genesis.map(|b| b.header.hash).ok_or_else(|| format!("the node has no genesis of {network}"))?;
    let (genesis_hash, suite) = match (&genesis, genesis_path) {
        (Some(g), Some(path)) => {
            let suite = g.suite()?;
            let hash = g.header()?.hash(suite.hash_algo()).to_string();
            if hash != node_hash {
                return Err(format!("the node's genesis of {network} differs from {}", path.display()));
            }
            (hash, suite.to_string())
        }
        _ => (node_hash, String::new()),
    };
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut manifest = if out.join("manifest.json").exists() {
        let m = Manifest::load(out)?;
        if m.network != network || m.genesis_hash != genesis_hash {
            return Err(format!("{} holds an export of another network history", out.display()));
        }
        m
    } else {
        Manifest {
            format: EXPORT_FORMAT.into(),
            version: EXPORT_VERSION,
            network: network.clone(),
            genesis_hash: genesis_hash.clone(),
            suite,
            ranges: vec![],
        }
    };
    if let Some(path) = genesis_path {
        let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        write_atomically(&out.join("genesis.json"), &text)?;
    }
    // Resume: keep the whole ranges whose files still match; a short last range is redone.
    let first = from.unwrap_or(1).max(1);
    manifest.ranges.retain(|r| {
        let whole = r.to.checked_sub(r.from) == Some(RANGE_BLOCKS - 1);
        whole && std::fs::read(out.join(&r.file)).is_ok_and(|b| checksum(&b) == r.blake2b && b.len() as u64 == r.bytes)
    });
    // Kept ranges must run on from `first` without a gap; past the first gap, redo.
    let mut expected = first;
    let contiguous = manifest.ranges.iter().take_while(|r| {
        let ok = r.from == expected;
        expected = r.to.saturating_add(1);
        ok
    });
    let keep = contiguous.count();
    manifest.ranges.truncate(keep);
    // Range files the manifest no longer lists (a short last range, a damaged one) go: an
    // export directory holds exactly what its manifest names.
    let listed: Vec<&str> = manifest.ranges.iter().map(|r| r.file.as_str()).collect();
    let entries = std::fs::read_dir(out).map_err(|e| format!("cannot list {}: {e}", out.display()))?;
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with("blocks-") && name.ends_with(".jjjx") && !listed.contains(&name) {
            std::fs::remove_file(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
    }
    let head = rpc.api().finalized_head(network.clone()).await.map_err(|e| rpc.explain(e))?.height;
    let last = to.unwrap_or(head).min(head);
    let resumed = manifest.last();
    let mut h = first.max(resumed + 1);
    if resumed > 0 && h > first {
        eprintln!("resuming after height {resumed} ({} whole ranges kept)", manifest.ranges.len());
    }
    let started = std::time::Instant::now();
    let (mut blocks_done, mut txs_done) = (0u64, 0u64);
    while h <= last {
        // Ranges are aligned to RANGE_BLOCKS so that a resumed export writes the same files.
        let end = (((h - 1) / RANGE_BLOCKS + 1) * RANGE_BLOCKS).min(last);
        let rpc = &rpc;
        let network = &network;
        let fetched: Vec<Result<ExportedBlock, String>> = stream::iter(h..=end)
            .map(|x| async move { fetch_block(rpc, network, x).await })
            .buffered(FETCH_CONCURRENCY)
            .collect()
            .await;
        let blocks = fetched.into_iter().collect::<Result<Vec<_>, _>>()?;
        let transactions: u64 = blocks.iter().map(|b| b.block.transactions.len() as u64).sum();
        let bytes = encode_range(&blocks);
        let file = range_file(h, end);
        write_atomically(&out.join(&file), &bytes)?;
        manifest.ranges.retain(|r| r.from != h);
        manifest.ranges.push(RangeEntry {
            from: h,
            to: end,
            file,
            bytes: bytes.len() as u64,
            transactions,
            blake2b: checksum(&bytes),
        });
        manifest.save(out)?;
        blocks_done += end - h + 1;
        txs_done += transactions;
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        eprintln!(
            "exported heights {h}..={end} of {last}: {:.0} blocks/s, {:.0} tx/s",
            blocks_done as f64 / secs,
            txs_done as f64 / secs
        );
        h = end + 1;
    }
    let governance = governance_records(&rpc, &network, last).await?;
    let text = serde_json::to_string_pretty(&governance).map_err(|e| e.to_string())?;
    write_atomically(&out.join("governance.json"), text.as_bytes())?;
    println!(
        "export of {network} in {}: heights {first}..={last} in {} range files, {} governance records, in {:.1} s \
         (check it with `jjj audit replay --dir {}`)",
        out.display(),
        manifest.ranges.len(),
        governance.records.len(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

/// The governance records at `height`, read with their state proofs (the node's word is not
/// needed: the replay compares them with its own state).
async fn governance_records(rpc: &Rpc, network: &str, height: u64) -> Result<GovernanceRecords, String> {
    use jjj_state::gov::keys as g;
    let read = |key: Vec<u8>| async move {
        let p = rpc
            .api()
            .state_proof(network.into(), jjj_rpc_api::hex0x(&key), Some(height), None)
            .await
            .map_err(|e| rpc.explain(e))?;
        Ok::<_, String>(p.value)
    };
    let mut records = Vec::new();
    let mut push = |name: String, key: Vec<u8>, value: Option<String>| {
        records.push(GovernanceRecord { name, key: jjj_rpc_api::hex0x(&key), value });
    };
    for (name, key) in [
        ("validator schedule", g::validator_schedule()),
        ("member list", g::member_list()),
        ("permission policies", g::policy_list()),
        ("official names", g::name_list()),
        ("next proposal", g::next_proposal()),
    ] {
        let value = read(key.clone()).await?;
        push(name.into(), key, value);
    }
    let next = read(g::next_proposal()).await?;
    let count = match next {
        Some(hex) => {
            let bytes = jjj_rpc_api::unhex(&hex).map_err(|e| format!("next proposal: {e}"))?;
            u64::decode(&mut &bytes[..]).map_err(|e| format!("next proposal: {e}"))?
        }
        None => 1,
    };
    for id in 1..count {
        let value = read(g::proposal(id)).await?;
        push(format!("proposal {id}"), g::proposal(id), value);
    }
    Ok(GovernanceRecords { height, records })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jjj_primitives::{AccountId, Hash, Header, NetworkId};

    fn record(height: u64) -> ExportedBlock {
        let header = Header {
            network: NetworkId::new("jjj").expect("id"),
            height,
            parent_hash: Hash([height as u8; 32]),
            timestamp: height,
            proposer: AccountId([1; 32]),
            tx_root: Hash::default(),
            receipts_root: Hash::default(),
            state_root: Hash::default(),
        };
        ExportedBlock { block: Block { header, transactions: vec![] }, certificate: vec![7; 10], receipts: vec![] }
    }

    #[test]
    fn a_range_file_reads_back_record_by_record_and_refuses_damage() {
        let dir = std::env::temp_dir().join(format!("jjj-range-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(range_file(1, 3));
        let blocks: Vec<ExportedBlock> = (1..=3).map(record).collect();
        let bytes = encode_range(&blocks);
        write_atomically(&path, &bytes).expect("write");
        let mut r = RangeReader::open(&path).expect("open");
        for b in &blocks {
            assert_eq!(r.next().expect("read").as_ref(), Some(b));
        }
        assert_eq!(r.next().expect("end"), None);
        // Cut short, another format, an absurd length: each a clear error, never a panic.
        std::fs::write(&path, &bytes[..bytes.len() - 2]).expect("write");
        let mut r = RangeReader::open(&path).expect("open");
        let e = (0..3).find_map(|_| r.next().err()).expect("cut short");
        assert!(e.contains("cut short"), "{e}");
        std::fs::write(&path, b"JJJY\0\0\0\x01").expect("write");
        assert!(RangeReader::open(&path).err().expect("magic").contains("not a range file"));
        let mut huge = bytes[..8].to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        std::fs::write(&path, &huge).expect("write");
        assert!(RangeReader::open(&path).expect("open").next().expect_err("huge").contains("at most"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_manifest_of_another_format_or_version_is_refused() {
        let dir = std::env::temp_dir().join(format!("jjj-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let m = Manifest {
            format: EXPORT_FORMAT.into(),
            version: EXPORT_VERSION + 1,
            network: "jjj".into(),
            genesis_hash: String::new(),
            suite: String::new(),
            ranges: vec![],
        };
        m.save(&dir).expect("save");
        assert!(Manifest::load(&dir).expect_err("version").contains("this jjj reads jjj-export version 1"));
        Manifest { version: EXPORT_VERSION, ..m }.save(&dir).expect("save");
        assert_eq!(Manifest::load(&dir).expect("load").last(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
