//! Iteration over a consistent snapshot of the live keys.
//!
//! Creating a snapshot read-locks every keydir shard at once (in index order) and copies
//! each entry (with its key, when the keydir keeps keys), plus a reference to each data
//! file. With the hashed keydir the keys are read from the records as iteration reaches
//! them. Writes that happen after
//! that are not seen; the files stay readable even if a merge deletes them meanwhile,
//! because the snapshot holds them open (and mapped).

use crate::db::now_ms;
use crate::error::Result;
use crate::keydir::{FileMap, KeyHasher, Keydir, SnapshotEntry, SnapshotKey};

/// A key and, when asked for, its value.
pub type KeyValue<'a> = (&'a [u8], Option<&'a [u8]>);

pub struct Snapshot {
    entries: Vec<SnapshotEntry>,
    files: FileMap,
    hasher: KeyHasher,
    pos: usize,
    /// The last key read from a record (hashed keydir).
    key: Vec<u8>,
    value: Vec<u8>,
    expiry: u64,
}

impl Snapshot {
    pub(crate) fn take(keydir: &Keydir) -> Snapshot {
        let guards: Vec<_> = keydir.shards().iter().map(|s| s.read()).collect();
        let n = guards.iter().map(|g| g.len()).sum();
        let mut entries = Vec::with_capacity(n);
        for g in &guards {
            g.copy_entries(&mut entries);
        }
        let files = guards.first().map(|g| g.files.clone()).unwrap_or_default();
        drop(guards);
        if let Some((SnapshotKey::Tag(_), _)) = entries.first() {
            // Each key is read from its record: in file order the reads are sequential
            // (one pass over each file) instead of one random read per key.
            entries.sort_unstable_by_key(|(_, e)| (e.file_id, e.offset));
        }
        Snapshot {
            entries,
            files,
            hasher: keydir.hasher(),
            pos: 0,
            key: Vec::new(),
            value: Vec::new(),
            expiry: 0,
        }
    }

    /// Keys in the snapshot (including any that expire before iteration reaches them).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The expiry (unix milliseconds, 0 for none) of the entry `next_entry` returned last,
    /// as of the snapshot.
    pub fn expiry(&self) -> u64 {
        self.expiry
    }

    /// The next live key, and its value when `with_value` is set; `None` at the end. Keys
    /// that have expired by the time they are reached are skipped. Borrowed data is valid
    /// until the next call.
    pub fn next_entry(&mut self, with_value: bool) -> Result<Option<KeyValue<'_>>> {
        loop {
            let Some((key, e)) = self.entries.get(self.pos) else {
                return Ok(None);
            };
            self.pos += 1;
            if let (SnapshotKey::Key(_), false, false) = (key, with_value, e.has_expiry()) {
                self.expiry = 0;
                let SnapshotKey::Key(key) = &self.entries[self.pos - 1].0 else {
                    unreachable!("checked above")
                };
                return Ok(Some((key, None)));
            }
            let Some(file) = self.files.get(&e.file_id) else {
                return Err(crate::error::Error::internal(format!(
                    "snapshot entry points into data file {} which is not open",
                    e.file_id
                )));
            };
            let now = now_ms();
            if let (SnapshotKey::Tag(tag), false) = (key, with_value) {
                // Keys only: the header and key, not the value (a key listing neither reads
                // nor checks values, in either keydir); the key is checked against the
                // slot's tag instead of the record's CRC, which covers the value too.
                let (header, rec_key) = file.header_and_key(e.offset as u64)?;
                if self.hasher.tag(&rec_key) != *tag {
                    return Err(foreign_record(e.offset, file.name()));
                }
                if header.expired(now) {
                    continue;
                }
                self.expiry = header.expires_at;
                self.key = rec_key;
                return Ok(Some((&self.key, None)));
            }
            let (value, own_key, hasher) = (&mut self.value, &mut self.key, self.hasher);
            let mut expiry = 0;
            let mut foreign = false;
            let mut visit = |rec: crate::record::Record<'_>| {
                if rec.header.expired(now) {
                    return false;
                }
                expiry = rec.header.expires_at;
                if let SnapshotKey::Tag(tag) = key {
                    if hasher.tag(rec.key) != *tag {
                        foreign = true;
                        return false;
                    }
                    own_key.clear();
                    own_key.extend_from_slice(rec.key);
                }
                if with_value {
                    value.clear();
                    value.extend_from_slice(rec.value);
                }
                true
            };
            let live = match key {
                SnapshotKey::Key(key) => {
                    let len = e.record_len(key.len());
                    file.read_record(e.offset as u64, len, key, visit)?
                }
                SnapshotKey::Tag(_) => file.read_any_record(e.offset as u64, &mut visit)?,
            };
            if foreign {
                return Err(foreign_record(e.offset, file.name()));
            }
            if live {
                self.expiry = expiry;
                let key = match &self.entries[self.pos - 1].0 {
                    SnapshotKey::Key(k) => &k[..],
                    SnapshotKey::Tag(_) => &self.key[..],
                };
                return Ok(Some((key, with_value.then_some(&self.value[..]))));
            }
        }
    }
}

/// A record whose key is not the one the keydir's slot was made for (a damaged hint file
/// can point a key at another key's record).
fn foreign_record(offset: u32, file: &str) -> crate::error::Error {
    crate::error::Error::corruption(format!(
        "record at offset {offset} of {file} is not the key the keydir has there"
    ))
}
