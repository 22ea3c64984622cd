//! The consensus core's safety record in two small files of its own, next to the ledger.
//!
//! A validator persists the record several times per height (each vote, each new height), and
//! each save must be on disk before the vote leaves. Kept in RocksDB, every save was a synced
//! write through the ledger's WAL, behind and alongside the blocks' batches. Here a save writes
//! a few hundred bytes to one file and `fdatasync`s that file only.
//!
//! Two slots, `consensus-record.0` and `consensus-record.1`, are written in turn, so a crash in
//! the middle of a save tears only the slot being written: the other still holds the previous
//! record, which is all the validator had promised when it died (the torn save's vote was
//! never sent). Each slot is `MAGIC ++ sequence (u64 LE) ++ length (u32 LE) ++ checksum ++
//! record`, the checksum the network's hash of everything before it and the record; the slot
//! with the highest valid sequence wins.
use crate::StoreError;
use jjj_primitives::{Hash, HashAlgo};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

const MAGIC: &[u8; 4] = b"JJJR";
const HEADER_BYTES: usize = MAGIC.len() + 8 + 4 + 32;
const SLOT_NAMES: [&str; 2] = ["consensus-record.0", "consensus-record.1"];

pub(crate) struct RecordFiles {
    dir: PathBuf,
    algo: HashAlgo,
    /// The sequence of the latest record on disk (0: none yet), once read; the next save uses
    /// the next one, in slot `sequence % 2`.
    latest: Mutex<Option<u64>>,
}

/// One slot as read.
enum Slot {
    Empty,
    Torn,
    Record { sequence: u64, record: Vec<u8> },
}

impl RecordFiles {
    /// Opens the slots in `dir`, creating them empty (and syncing the directory, so later saves
    /// only ever overwrite files whose names are durable).
    pub(crate) fn open(dir: &Path, algo: HashAlgo) -> Result<RecordFiles, StoreError> {
        let mut created = false;
        for name in SLOT_NAMES {
            let path = dir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    file.sync_all().map_err(io_err("create", &path))?;
                    created = true;
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_err("create", &path)(e)),
            }
        }
        if created {
            File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("sync the directory", dir))?;
        }
        // The slots are read at the first load or save, not here: the ledger checks its hash first,
        // and a record checked with another hash would otherwise look torn.
        Ok(RecordFiles { dir: dir.to_path_buf(), algo, latest: Mutex::new(None) })
    }

    /// The latest record, or `None` if none was ever saved here.
    pub(crate) fn load(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read_latest()?.map(|(_, record)| record))
    }

    /// Writes `record` to the older slot and syncs it; returns once it is on disk.
    pub(crate) fn save(&self, record: &[u8]) -> Result<(), StoreError> {
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        let sequence = match *latest {
            Some(sequence) => sequence,
            None => self.read_latest()?.map_or(0, |(sequence, _)| sequence),
        } + 1;
        let path = self.slot_path(sequence);
        let length = u32::try_from(record.len()).map_err(|_| StoreError::Db {
            context: format!("save {}", path.display()),
            message: "record too large".into(),
        })?;
        let mut bytes = Vec::with_capacity(HEADER_BYTES + record.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&sequence.to_le_bytes());
        bytes.extend_from_slice(&length.to_le_bytes());
        bytes.extend_from_slice(&self.checksum(&bytes, record).0);
        bytes.extend_from_slice(record);
        let mut file = OpenOptions::new().write(true).truncate(true).open(&path).map_err(io_err("open", &path))?;
        file.write_all(&bytes).map_err(io_err("write", &path))?;
        file.sync_data().map_err(io_err("sync", &path))?;
        *latest = Some(sequence);
        Ok(())
    }

    fn slot_path(&self, sequence: u64) -> PathBuf {
        self.dir.join(SLOT_NAMES[(sequence % 2) as usize])
    }

    fn checksum(&self, header: &[u8], record: &[u8]) -> Hash {
        self.algo.hash_parts(&[header, record])
    }

    fn read_latest(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let mut best: Option<(u64, Vec<u8>)> = None;
        let mut torn = 0;
        for name in SLOT_NAMES {
            let path = self.dir.join(name);
            let bytes = std::fs::read(&path).map_err(io_err("read", &path))?;
            match self.parse(&bytes) {
                Slot::Empty => {}
                Slot::Torn => torn += 1,
                Slot::Record { sequence, record } => {
                    if best.as_ref().is_none_or(|(s, _)| sequence > *s) {
                        best = Some((sequence, record));
                    }
                }
            }
        }
        if best.is_none() && torn > 0 {
            // A save tears at most one slot; with none readable the record is lost, and guessing
            // would let this validator sign twice.
            return Err(StoreError::Corrupt {
                what: format!("the consensus record in {}", self.dir.display()),
                reason: "no slot holds a whole record".into(),
            });
        }
        Ok(best)
    }

    fn parse(&self, bytes: &[u8]) -> Slot {
        if bytes.is_empty() {
            return Slot::Empty;
        }
        let Some((header, record)) = bytes.split_at_checked(HEADER_BYTES) else { return Slot::Torn };
        let (magic, rest) = header.split_at(MAGIC.len());
        let (sequence, rest) = rest.split_at(8);
        let (length, checksum) = rest.split_at(4);
        let sequence = u64::from_le_bytes(sequence.try_into().unwrap_or_default());
        let length = u32::from_le_bytes(length.try_into().unwrap_or_default());
        if magic != MAGIC
            || record.len() != length as usize
            || self.checksum(&header[..HEADER_BYTES - 32], record).0[..] != checksum[..]
        {
            return Slot::Torn;
        }
        Slot::Record { sequence, record: record.to_vec() }
    }
}

fn io_err<'a>(what: &'a str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |e| StoreError::Db { context: format!("{what} {}", path.display()), message: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    fn algo() -> HashAlgo {
        HashAlgo::ALL[0]
    }

    #[test]
    fn the_latest_save_wins_across_reopens() {
        let dir = TempDir::new().expect("tempdir");
        let files = RecordFiles::open(dir.path(), algo()).expect("open");
        assert_eq!(files.load().expect("load"), None);
        for i in 0..5u8 {
            files.save(&[i; 100]).expect("save");
            assert_eq!(files.load().expect("load"), Some(vec![i; 100]));
        }
        let reopened = RecordFiles::open(dir.path(), algo()).expect("reopen");
        assert_eq!(reopened.load().expect("load"), Some(vec![4; 100]));
        // Saves after a reopen go on from the latest sequence, not back to slot 0's.
        reopened.save(b"after").expect("save");
        assert_eq!(
            RecordFiles::open(dir.path(), algo()).expect("reopen").load().expect("load"),
            Some(b"after".to_vec())
        );
    }

    #[test]
    fn a_torn_save_falls_back_to_the_previous_record() {
        let dir = TempDir::new().expect("tempdir");
        let files = RecordFiles::open(dir.path(), algo()).expect("open");
        files.save(b"voted prepare at 7").expect("save");
        files.save(b"voted commit at 7").expect("save");
        // The crash tore the second save: its slot holds a prefix, or the right length with a
        // flipped byte.
        let newest = files.slot_path(2);
        let whole = std::fs::read(&newest).expect("read");
        for torn in [whole[..whole.len() - 3].to_vec(), whole[..10].to_vec(), {
            let mut flipped = whole.clone();
            let last = flipped.len() - 1;
            flipped[last] ^= 1;
            flipped
        }] {
            std::fs::write(&newest, &torn).expect("tear");
            let reopened = RecordFiles::open(dir.path(), algo()).expect("reopen");
            assert_eq!(reopened.load().expect("load"), Some(b"voted prepare at 7".to_vec()));
        }
    }

    #[test]
    fn no_whole_slot_is_an_error_not_an_empty_record() {
        let dir = TempDir::new().expect("tempdir");
        let files = RecordFiles::open(dir.path(), algo()).expect("open");
        files.save(b"one").expect("save");
        std::fs::write(files.slot_path(1), b"JJJR garbage").expect("tear");
        let Err(e) = RecordFiles::open(dir.path(), algo()).expect("open").load() else { panic!("read a lost record") };
        assert!(e.to_string().contains("no slot holds a whole record"), "{e}");
    }

    #[test]
    fn a_record_checked_with_another_hash_is_not_read() {
        let dir = TempDir::new().expect("tempdir");
        RecordFiles::open(dir.path(), HashAlgo::ALL[0]).expect("open").save(b"x").expect("save");
        assert!(RecordFiles::open(dir.path(), HashAlgo::ALL[1]).expect("open").load().is_err());
    }
}
