//! Conditional writes: read-modify-write without a lock held by the caller.
//!
//! Every live record carries a sequence number, unique in the store and preserved by merge,
//! which serves as the key's *version*: any put or delete of the key gives it a new one.
//! `Db::get_versioned` reads a value with its expiry and version; `Db::write_if` applies a
//! batch only if each listed key still has the version the caller read, checked under the
//! writer's lock, so no other write can come between the check and the append. A key that
//! is missing, deleted or expired has version `VERSION_ABSENT` (0), so "the key must not
//! exist" is the condition `(key, VERSION_ABSENT)`.
//!
//! A compare-and-swap loop on top of these is what a server needs for INCR, SET NX/XX,
//! GETSET, APPEND, RENAME, EXPIRE...: read versioned, compute, `write_if`; on `Ok(false)`
//! read again and retry. Each failed attempt means another write to the key succeeded.

use crate::db::{check_key, check_value, now_ms, Db};
use crate::error::{Error, Result};
use crate::writer::Op;

/// The version of a key with no live value (never written, deleted or expired).
pub const VERSION_ABSENT: u64 = 0;

/// A precondition of `Db::write_if`: `key` must currently have version `version`
/// (`VERSION_ABSENT`: the key must be missing, deleted or expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Condition<'a> {
    pub key: &'a [u8],
    pub version: u64,
}

impl Db {
    /// Looks `key` up and hands its value, its expiry (unix ms, 0 = never) and its version
    /// to `f`; `Ok(None)` when the key has no live value (its version is then
    /// `VERSION_ABSENT`). The record's CRC is verified before `f` sees anything.
    pub fn get_versioned_with<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(&[u8], u64, u64) -> R,
    ) -> Result<Option<R>> {
        check_key(key)?;
        let shard = self.inner.keydir.shard(key).read();
        let Some(e) = shard.get(key)?.filter(|e| !e.is_dead()) else {
            return Ok(None);
        };
        let Some(file) = shard.files.get(&e.file_id) else {
            return Err(Error::internal(format!(
                "keydir points into data file {} which is not open",
                e.file_id
            )));
        };
        let now = (e.has_expiry()).then(now_ms);
        file.read_record(
            e.offset as u64,
            e.record_len(key.len()),
            key,
            |rec| match now {
                Some(now) if rec.header.expired(now) => None,
                _ => Some(f(rec.value, rec.header.expires_at, rec.header.seq)),
            },
        )
    }

    /// `key`'s value (copied), expiry (unix ms, 0 = never) and version.
    pub fn get_versioned(&self, key: &[u8]) -> Result<Option<(Vec<u8>, u64, u64)>> {
        self.get_versioned_with(key, |v, exp, ver| (v.to_vec(), exp, ver))
    }

    /// `key`'s current version (`VERSION_ABSENT` if it has no live value), reading only the
    /// record's header.
    pub fn version(&self, key: &[u8]) -> Result<u64> {
        check_key(key)?;
        self.version_unchecked(key)
    }

    fn version_unchecked(&self, key: &[u8]) -> Result<u64> {
        let shard = self.inner.keydir.shard(key).read();
        let Some(e) = shard.get(key)?.filter(|e| !e.is_dead()) else {
            return Ok(VERSION_ABSENT);
        };
        let Some(file) = shard.files.get(&e.file_id) else {
            return Err(Error::internal(format!(
                "keydir points into data file {} which is not open",
                e.file_id
            )));
        };
        let header = match file.keyed_header(e.offset, key) {
            Some(h) => h,
            None => file.header_at(e.offset as u64)?,
        };
        if header.is_tombstone() || header.expired(now_ms()) {
            return Ok(VERSION_ABSENT);
        }
        Ok(header.seq)
    }

    /// Applies `ops` atomically (as `Db::write`) if every condition holds, checked under the
    /// writer's lock: no write can land between the check and the append. Returns
    /// `Ok(true)` if the batch was applied, `Ok(false)` if a condition failed (nothing was
    /// written). With no ops it is an atomic check of the conditions.
    pub fn write_if(&self, conds: &[Condition<'_>], ops: &[Op<'_>]) -> Result<bool> {
        for c in conds {
            check_key(c.key)?;
        }
        for op in ops {
            check_key(op.key)?;
            check_value(op.value)?;
        }
        let total: u64 = ops.iter().map(Op::record_len).sum();
        if total > crate::options::MAX_FILE_SIZE {
            return Err(Error::invalid(format!(
                "batch of {total} bytes exceeds the maximum of {} (it must fit in one data file)",
                crate::options::MAX_FILE_SIZE
            )));
        }
        let writer = self.writer()?;
        let mut w = writer.lock();
        for c in conds {
            if self.version_unchecked(c.key)? != c.version {
                return Ok(false);
            }
        }
        if ops.is_empty() {
            return Ok(true);
        }
        let pos = w.append(&self.inner.keydir, &self.inner.files, ops)?;
        drop(w);
        self.after_append(pos)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Options;
    use std::sync::Arc;

    fn put(key: &[u8], value: &[u8]) -> Op<'static> {
        Op {
            key: Box::leak(key.to_vec().into_boxed_slice()),
            value: Box::leak(value.to_vec().into_boxed_slice()),
            expires_at: 0,
            tombstone: false,
        }
    }

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("bc-cond-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn versions_change_on_every_write_and_absent_is_zero() {
        let dir = tmp("versions");
        let db = Db::open(&dir, Options::default()).unwrap();
        assert_eq!(db.version(b"k").unwrap(), VERSION_ABSENT);
        db.put(b"k", b"1").unwrap();
        let (v, exp, ver1) = db.get_versioned(b"k").unwrap().unwrap();
        assert_eq!((v.as_slice(), exp), (&b"1"[..], 0));
        assert_ne!(ver1, VERSION_ABSENT);
        assert_eq!(db.version(b"k").unwrap(), ver1);
        db.put(b"k", b"1").unwrap();
        let ver2 = db.version(b"k").unwrap();
        assert_ne!(ver1, ver2, "rewriting the same value is a new version");
        db.delete(b"k").unwrap();
        assert_eq!(db.version(b"k").unwrap(), VERSION_ABSENT);
        assert!(db.get_versioned(b"k").unwrap().is_none());
        db.put_expiring(b"e", b"x", now_ms() - 1).unwrap();
        assert_eq!(
            db.version(b"e").unwrap(),
            VERSION_ABSENT,
            "expired is absent"
        );
        assert!(db.get_versioned(b"e").unwrap().is_none());
        db.put_ttl(b"t", b"x", 60_000).unwrap();
        let (_, exp, _) = db.get_versioned(b"t").unwrap().unwrap();
        assert!(exp > now_ms());
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn write_if_applies_only_when_every_condition_holds() {
        let dir = tmp("write-if");
        let db = Db::open(&dir, Options::default()).unwrap();
        let absent = |key| Condition {
            key,
            version: VERSION_ABSENT,
        };
        assert!(db.write_if(&[absent(b"a")], &[put(b"a", b"1")]).unwrap());
        assert!(!db.write_if(&[absent(b"a")], &[put(b"a", b"2")]).unwrap());
        assert_eq!(db.get(b"a").unwrap().unwrap(), b"1");
        let ver = db.version(b"a").unwrap();
        let at = |version| Condition { key: b"a", version };
        // Two conditions, one stale: nothing written, not even the op on another key.
        assert!(!db
            .write_if(&[at(ver), at(ver + 1000)], &[put(b"b", b"x")])
            .unwrap());
        assert!(db.get(b"b").unwrap().is_none());
        assert!(db
            .write_if(
                &[at(ver), absent(b"b")],
                &[put(b"a", b"2"), put(b"b", b"x")]
            )
            .unwrap());
        assert!(!db.write_if(&[at(ver)], &[put(b"a", b"3")]).unwrap());
        assert_eq!(db.get(b"a").unwrap().unwrap(), b"2");
        // An expired key satisfies "absent".
        db.put_expiring(b"e", b"x", now_ms() - 1).unwrap();
        assert!(db.write_if(&[absent(b"e")], &[put(b"e", b"new")]).unwrap());
        // Bad input is an error, not a failed condition.
        assert!(db.write_if(&[absent(b"")], &[]).is_err());
        // Versions survive a merge and a reopen.
        let ver = db.version(b"a").unwrap();
        db.merge().unwrap();
        assert_eq!(db.version(b"a").unwrap(), ver);
        db.close().unwrap();
        let db = Db::open(&dir, Options::default()).unwrap();
        assert_eq!(db.version(b"a").unwrap(), ver);
        assert!(db.write_if(&[at(ver)], &[put(b"a", b"4")]).unwrap());
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn concurrent_increments_through_write_if_lose_nothing() {
        let dir = tmp("incr");
        let db = Arc::new(Db::open(&dir, Options::default()).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let db = Arc::clone(&db);
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        loop {
                            let (n, ver) = match db.get_versioned(b"n").unwrap() {
                                Some((v, _, ver)) => (
                                    std::str::from_utf8(&v).unwrap().parse::<u64>().unwrap(),
                                    ver,
                                ),
                                None => (0, VERSION_ABSENT),
                            };
                            let s = (n + 1).to_string();
                            let cond = Condition {
                                key: b"n",
                                version: ver,
                            };
                            let op = Op {
                                key: b"n",
                                value: s.as_bytes(),
                                expires_at: 0,
                                tombstone: false,
                            };
                            if db.write_if(&[cond], &[op]).unwrap() {
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(db.get(b"n").unwrap().unwrap(), b"4000");
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
