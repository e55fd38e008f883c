//! The keydir in both layouts against a `HashMap` model. The hashed layout confirms keys
//! from their records, so every entry the tests insert points at a real record of its key
//! in an in-memory data file.

use std::io;

use parking_lot::Mutex;

use super::hashed::HashedBucket;
use super::keys::KeyBucket;
use super::table::{Bucket, Table};
use super::*;
use crate::storage::StorageFile;

const MODES: [KeydirMode; 2] = [KeydirMode::Keys, KeydirMode::Hashed];

/// The next number of a xorshift64 stream: the tests' cheap, repeatable randomness.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[derive(Default)]
struct MemFile(Mutex<Vec<u8>>);

impl StorageFile for MemFile {
    fn size(&self) -> u64 {
        self.0.lock().len() as u64
    }
    fn read_with(&self, off: u64, len: usize, f: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        let bytes = self.0.lock();
        let range = off as usize..off as usize + len;
        let slice = bytes.get(range).ok_or(io::ErrorKind::UnexpectedEof)?;
        f(slice);
        Ok(())
    }
    fn write_at(&self, off: u64, parts: &[&[u8]]) -> io::Result<()> {
        let mut bytes = self.0.lock();
        assert_eq!(off as usize, bytes.len(), "appends only");
        for p in parts {
            bytes.extend_from_slice(p);
        }
        Ok(())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.lock().resize(len as usize, 0);
        Ok(())
    }
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
}

/// A shard and one data file to write its keys' records into.
struct Fixture {
    shard: Shard,
    file: Arc<DataFile>,
    seq: u64,
}

impl Fixture {
    fn new(mode: KeydirMode) -> Fixture {
        let file = Arc::new(DataFile::new(7, Box::<MemFile>::default()));
        let mut shard = Shard::new(mode, KeyHasher::new());
        shard.add_file(&file).unwrap();
        Fixture {
            shard,
            file,
            seq: 0,
        }
    }

    /// Appends a record of `key` and returns the entry pointing at it.
    fn record(&mut self, key: &[u8], value_len: u32, expiry: bool) -> Entry {
        self.seq += 1;
        let value = vec![b'v'; value_len as usize];
        let expires_at = if expiry { u64::MAX / 2 } else { 0 };
        let h = crate::record::Header::for_record(self.seq, expires_at, 0, key, &value);
        let off = self.file.storage().size();
        let parts: [&[u8]; 3] = [&h.encode(), key, &value];
        self.file.storage().write_at(off, &parts).unwrap();
        Entry::new(self.file.id(), off as u32, value_len, expiry)
    }
}

/// Through inserts, overwrites, removes (overflow counts undone), growth and (keys layout)
/// arena compaction, both layouts agree with the model.
#[test]
fn both_layouts_match_a_map_model() {
    for mode in MODES {
        let mut fx = Fixture::new(mode);
        let mut model: HashMap<Vec<u8>, Entry> = HashMap::new();
        let mut state: u64 = 88172645463325252;
        for step in 0..60_000u32 {
            let x = xorshift(&mut state);
            let k = format!("key-{}", x % 3000).into_bytes();
            let k = if x.is_multiple_of(97) {
                [k, vec![b'x'; 20_000]].concat()
            } else {
                k
            };
            if x.is_multiple_of(3) {
                assert_eq!(
                    fx.shard.remove(&k).unwrap(),
                    model.remove(&k),
                    "{mode:?} step {step}"
                );
            } else {
                let e = fx.record(&k, step % 1000, x.is_multiple_of(2));
                assert_eq!(
                    fx.shard.insert(&k, e).unwrap(),
                    model.insert(k.clone(), e),
                    "{mode:?} step {step}"
                );
            }
            if step.is_multiple_of(10_000) {
                assert_eq!(fx.shard.len(), model.len());
                for (k, e) in &model {
                    assert_eq!(fx.shard.get(k).unwrap(), Some(*e));
                }
                let mut all = Vec::new();
                fx.shard.copy_entries(&mut all);
                assert_eq!(all.len(), model.len());
            }
        }
        assert!(fx.shard.get(b"absent").unwrap().is_none());
        let removed = fx.shard.remove_where(|e| !e.offset.is_multiple_of(2));
        let before = model.len();
        model.retain(|_, e| e.offset.is_multiple_of(2));
        assert_eq!(removed, before - model.len());
        assert_eq!(fx.shard.len(), model.len());
        for (k, e) in &model {
            assert_eq!(fx.shard.get(k).unwrap(), Some(*e), "{mode:?}");
        }
    }
}

/// Keys forced onto a few hash values: every probe meets tag collisions, chains run over
/// many full buckets and wrap around the table's end, and removals must undo the overflow
/// counts exactly. `locate` must still find each key's own location.
#[test]
fn colliding_tags_and_long_chains_keep_every_key_findable() {
    let hash_of = |k: &[u8]| -> u64 {
        let n = k.iter().fold(0u64, |a, &b| a * 31 + b as u64);
        // 16 distinct tags spread over the table; the last one's chain wraps.
        (n << 40) | (n % 16) << 28 | 1
    };
    for mode in MODES {
        let mut fx = Fixture::new(mode);
        let mut model: HashMap<Vec<u8>, Entry> = HashMap::new();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for step in 0..30_000u32 {
            let x = xorshift(&mut state);
            let k = format!("k{}", x % 700).into_bytes();
            let h = hash_of(&k);
            // Phases that mostly insert, then mostly remove: the table fills and drains.
            let remove_share = if step / 5000 % 2 == 0 { 1 } else { 4 };
            if x % 5 < remove_share {
                let removed = fx.shard.remove_hashed(&k, h).unwrap();
                assert_eq!(removed, model.remove(&k), "{mode:?} step {step}");
            } else {
                let e = fx.record(&k, step % 500, false);
                assert_eq!(
                    fx.shard.insert_hashed(&k, h, e).unwrap(),
                    model.insert(k.clone(), e)
                );
            }
            if step % 500 == 0 {
                for (k, e) in &model {
                    let file = &fx.file;
                    let on_disk = |_: u32, o: u32| file.keyed_header(o, k).is_some();
                    let located = fx.shard.locate(k, hash_of(k), on_disk);
                    assert_eq!(located, Some((e.file_id, e.offset)));
                    assert_eq!(fx.shard.get_hashed(k, hash_of(k)).unwrap(), Some(*e));
                    assert!(fx.shard.points_at(hash_of(k), (e.file_id, e.offset)));
                }
                let absent = b"absent";
                let located = fx.shard.locate(absent, hash_of(absent), |_, _| false);
                assert_eq!(located, None, "{mode:?}");
                assert_eq!(fx.shard.len(), model.len());
            }
        }
    }
}

#[test]
fn a_damaged_record_is_still_located_so_the_read_reports_it() {
    for mode in MODES {
        let mut fx = Fixture::new(mode);
        let h = fx.shard.hash(b"key");
        let e = fx.record(b"key", 10, false);
        fx.shard.insert_hashed(b"key", h, e).unwrap();
        // The record's header is destroyed: no record confirms the key.
        fx.file.storage().set_len(0).unwrap();
        fx.file.storage().write_at(0, &[&[0xee; 64]]).unwrap();
        assert_eq!(
            fx.shard.locate(b"key", h, |_, _| false),
            Some((7, 0)),
            "{mode:?}"
        );
    }
}

/// Two buckets, each with a count of entries that overflowed past it, neither full: a
/// lookup of a missing key must stop after one lap instead of circling forever.
fn small_table_stops_after_one_lap<B: Bucket>(slot: B::Slot) {
    let mut t: Table<B> = Table::default();
    // Tags whose home is bucket 0 (low) and bucket 1 (high) of a 2-bucket table.
    let (low, high) = (1u64, u32::MAX as u64);
    let n = B::SLOTS;
    t.reserve(2 * n - 2);
    assert_eq!(t.bucket_count(), 2);
    for _ in 0..n + 1 {
        t.insert_new(low, slot); // the last one overflows into bucket 1
    }
    let high_pos = |t: &Table<B>| t.probe(high, |_| true).unwrap();
    t.insert_new(high, slot);
    t.insert_new(high, slot);
    for _ in 0..n - 2 {
        t.remove_at(t.probe(low, |_| true).unwrap());
    }
    for _ in 0..n - 2 {
        t.insert_new(high, slot); // the last one overflows into bucket 0
    }
    t.remove_at(high_pos(&t));
    assert_eq!(t.bucket_count(), 2);
    assert_eq!(t.overflow_counts(), [1, 1]);
    assert!(t.every_bucket_has_a_free_slot());
    assert_eq!(t.probe(low, |_| false), None);
    assert_eq!(t.probe(high, |_| false), None);
}

#[test]
fn lookups_in_a_small_table_stop_after_one_lap() {
    small_table_stops_after_one_lap::<KeyBucket>((1, 0, 0));
    small_table_stops_after_one_lap::<HashedBucket>((0, 0, 1));
}

#[test]
fn dead_placeholders_keep_their_seq() {
    for mode in MODES {
        let mut fx = Fixture::new(mode);
        let e = fx.record(b"k", 0, false);
        let mut h = crate::record::Header::for_record(fx.seq, 0, 0, b"k", b"");
        if mode == KeydirMode::Keys {
            h.seq = 0x1234_5678_9abc_def0;
        }
        let dead = fx.shard.dead_entry(e.file_id, e.offset, &h);
        assert!(dead.is_dead());
        fx.shard.insert(b"k", dead).unwrap();
        let found = fx.shard.get(b"k").unwrap().unwrap();
        assert!(found.is_dead(), "{mode:?}");
        assert_eq!(fx.shard.seq_of(&found, b"k"), Some(h.seq));
        fx.shard.finish_load();
        assert_eq!(fx.shard.len(), 0);
    }
}

#[test]
fn the_key_hash_spreads_similar_keys_over_shards_and_slots() {
    let h = KeyHasher::new();
    let mut shards = [0u32; SHARDS];
    let mut low = [0u32; 1024];
    for i in 0..65_536u32 {
        let v = h.hash(format!("user:{i}").as_bytes());
        shards[(v >> (64 - SHARD_BITS)) as usize] += 1;
        low[(v & 1023) as usize] += 1;
    }
    assert!(
        shards.iter().all(|&n| (800..1250).contains(&n)),
        "{shards:?}"
    );
    assert!(low.iter().all(|&n| (20..120).contains(&n)));
    assert_ne!(h.hash(b"a"), h.hash(b"a\0"));
    assert_ne!(KeyHasher::new().hash(b"a"), KeyHasher::new().hash(b"a"));
}

/// The hashed layout's RAM per key stays under 16 bytes at every size as it grows one key
/// at a time (the table only: files and shards are fixed costs).
#[test]
fn hashed_tables_stay_under_16_bytes_per_key_as_they_grow() {
    let mut t: Table<HashedBucket> = Table::default();
    let mut state = 1u64;
    let mut worst: f64 = 0.0;
    for n in 1..=400_000usize {
        t.insert_new(xorshift(&mut state), (0, 0, 0));
        if n >= 10_000 && n % 997 == 0 {
            worst = worst.max(t.memory_bytes() as f64 / n as f64);
        }
    }
    assert!(worst <= 16.0, "worst {worst:.2} B/key");
}

/// Prints how many buckets a lookup of an absent key reads at each load (a diagnostic for
/// choosing the load policy: `cargo test --release --lib probe_lengths -- --ignored
/// --nocapture`).
#[test]
#[ignore]
fn probe_lengths() {
    fn run<B: Bucket>(name: &str, slot: B::Slot) {
        let max = B::MAX_LOAD.0 as f64 / B::MAX_LOAD.1 as f64;
        for load in [0.75, 0.8, 0.85, 0.875, 0.9]
            .into_iter()
            .filter(|&l| l <= max)
        {
            let mut t: Table<B> = Table::default();
            t.reserve(400_000);
            let slots = t.bucket_count() * B::SLOTS;
            let mut state = 7u64;
            while (t.len() as f64) < load * slots as f64 {
                t.insert_new(xorshift(&mut state), slot);
            }
            assert_eq!(t.bucket_count() * B::SLOTS, slots);
            let miss: usize = (0..100_000).map(|_| t.miss_len(xorshift(&mut state))).sum();
            println!(
                "{name}: load {load}: buckets per miss {:.2}",
                miss as f64 / 100_000.0
            );
        }
    }
    run::<KeyBucket>("keys", (1, 0, 0));
    run::<HashedBucket>("hashed", (0, 0, 1));
}

/// A table reserved for twice its keys (a reopen of a store written twice) is shrunk into
/// its layout's load range when loading ends.
#[test]
fn loading_gives_back_room_reserved_for_duplicates() {
    for mode in MODES {
        let mut fx = Fixture::new(mode);
        fx.shard.reserve(40_000);
        for i in 0..20_000u32 {
            let k = format!("k{i}").into_bytes();
            let e = fx.record(&k, 1, false);
            fx.shard.insert(&k, e).unwrap();
        }
        let before = fx.shard.memory_bytes();
        fx.shard.finish_load();
        let after = fx.shard.memory_bytes();
        assert!(after * 10 < before * 7, "{mode:?}: {before} -> {after}");
        for i in (0..20_000u32).step_by(97) {
            assert!(fx.shard.get(format!("k{i}").as_bytes()).unwrap().is_some());
        }
    }
}
