//! The key-value commands (`get`, `put`, `delete`, `keys`, `dump`, `load`) and `stats`.

use std::ffi::OsStr;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use bitcask::{Db, MergeOptions, Op};
use bitcask::{MAX_KEY_LEN, MAX_VALUE_LEN};

use crate::args::Parsed;
use crate::codec::{self, JsonScalar};
use crate::{close, open, open_read, Access, CliError, CliResult};

/// Checks the number of arguments.
pub fn arity(p: &Parsed, min: usize, max: usize, usage: &str) -> CliResult {
    let n = p.args.len();
    if n < min || n > max {
        let what = if n < min {
            "missing argument"
        } else {
            "too many arguments"
        };
        return Err(CliError::usage(format!("{what}; usage: {usage}")));
    }
    Ok(())
}

/// An argument as bytes: raw, or decoded from C-style escapes with `-e`.
fn arg_bytes(arg: &OsStr, escaped: bool, what: &str) -> Result<Vec<u8>, CliError> {
    if escaped {
        codec::unescape(arg.as_bytes()).map_err(|e| CliError::usage(format!("{what}: {e}")))
    } else {
        Ok(arg.as_bytes().to_vec())
    }
}

fn key_arg(p: &Parsed, i: usize) -> Result<Vec<u8>, CliError> {
    let key = arg_bytes(&p.args[i], p.has("escaped"), "KEY")?;
    if key.is_empty() {
        return Err(CliError::usage("KEY must not be empty"));
    }
    Ok(key)
}

/// `12345 (12.1 KiB)`.
pub fn bytes_human(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// A key with no live value. Damage the open found is skipped, not reported by reads (only
/// damage appearing after the open is a read error), so a key whose record was damaged
/// reads as missing or as its previous version: say so where that may be the reason.
fn not_found(key: &[u8], dir: &Path, db: &Db) -> CliError {
    let mut msg = format!(
        "not found: key \"{}\" has no live value in {}",
        codec::escape_short(key, 200),
        dir.display()
    );
    let r = db.stats().recovery;
    if r.damaged_ranges > 0 {
        msg.push_str(&format!(
            " (note: opening the store skipped {} damaged range(s), {} bytes; a key whose \
             newest record was damaged reads as not found or as its previous version; \
             `bitcask -d {} check` lists them)",
            r.damaged_ranges,
            r.damaged_bytes,
            dir.display()
        ));
    }
    CliError::no(msg)
}

pub fn get(dir: &Path, p: &Parsed) -> CliResult {
    arity(p, 1, 1, "bitcask -d DIR get [-e] KEY")?;
    let key = key_arg(p, 0)?;
    // Not open_read: a miss carries its own note on damage rather than a second warning.
    let db = open(dir, Access::ReadOnly)?;
    let mut out = io::stdout().lock();
    match db.get_with(&key, |v| out.write_all(v))? {
        Some(written) => {
            written?;
            out.flush()?;
            let r = db.stats().recovery;
            if r.damaged_ranges > 0 {
                eprintln!(
                    "bitcask: warning: {}: opening the store skipped {} damaged range(s), {} \
                     bytes; if this key's newest record was among them, this is its previous \
                     version (run `bitcask check`)",
                    dir.display(),
                    r.damaged_ranges,
                    r.damaged_bytes
                );
            }
            Ok(())
        }
        None => Err(not_found(&key, dir, &db)),
    }
}

/// Parses `90`, `90s`, `1500ms`, `2m`, `3h`, `1d` into milliseconds.
fn parse_duration(s: &str) -> Result<u64, CliError> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let bad = || {
        CliError::usage(format!(
            "--ttl: '{s}' is not a duration such as 90, 1500ms, 2h"
        ))
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let scale: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    match n.checked_mul(scale) {
        Some(0) => Err(CliError::usage("--ttl must be more than 0")),
        Some(ms) => Ok(ms),
        None => Err(bad()),
    }
}

pub fn put(dir: &Path, p: &Parsed) -> CliResult {
    arity(
        p,
        1,
        2,
        "bitcask -d DIR put [-e] [--ttl DURATION] KEY [VALUE | -]",
    )?;
    let key = key_arg(p, 0)?;
    let ttl = p.text("ttl")?.map(parse_duration).transpose()?;
    let value = match p.args.get(1) {
        Some(v) if v.as_bytes() != b"-" => arg_bytes(v, p.has("escaped"), "VALUE")?,
        _ => {
            let mut v = Vec::new();
            io::stdin()
                .lock()
                .take(MAX_VALUE_LEN as u64 + 1)
                .read_to_end(&mut v)
                .map_err(|e| CliError::failed(format!("reading the value from stdin: {e}")))?;
            v
        }
    };
    if value.len() > MAX_VALUE_LEN {
        return Err(CliError::failed(format!(
            "the value is larger than the maximum of {MAX_VALUE_LEN} bytes"
        )));
    }
    let db = open(dir, Access::WriteCreate)?;
    match ttl {
        Some(ms) => db.put_ttl(&key, &value, ms)?,
        None => db.put(&key, &value)?,
    }
    close(db)
}

pub fn delete(dir: &Path, p: &Parsed) -> CliResult {
    arity(p, 1, 1, "bitcask -d DIR delete [-e] KEY")?;
    let key = key_arg(p, 0)?;
    let db = open(dir, Access::Write)?;
    // A damaged record still has an index entry: delete it all the same.
    let live = match db.get_with(&key, |_| ()) {
        Ok(found) => found.is_some(),
        Err(e) if e.kind() == bitcask::ErrorKind::Corruption => true,
        Err(e) => return Err(e.into()),
    };
    if !live {
        let err = not_found(&key, dir, &db);
        close(db)?;
        return Err(err);
    }
    db.delete(&key)?;
    close(db)
}

/// Every live key (starting with `prefix`), sorted. Keys whose record cannot be read (only
/// keys with an expiry time are read while listing) are reported on stderr and counted.
fn sorted_keys(db: &Db, prefix: &[u8], errors: &mut u64) -> Vec<Vec<u8>> {
    let mut snap = db.snapshot();
    let mut keys = Vec::with_capacity(snap.len());
    loop {
        match snap.next_entry(false) {
            Ok(Some((k, _))) => {
                if k.starts_with(prefix) {
                    keys.push(k.to_vec());
                }
            }
            Ok(None) => break,
            Err(e) => {
                *errors += 1;
                eprintln!("bitcask: {}", CliError::from(e).message);
            }
        }
    }
    keys.sort_unstable();
    keys
}

fn read_errors(errors: u64, what: &str) -> CliResult {
    if errors == 0 {
        Ok(())
    } else {
        Err(CliError::failed(format!(
            "{errors} record(s) could not be read (see above); {what} is incomplete; \
             run `bitcask check`"
        )))
    }
}

pub fn keys(dir: &Path, p: &Parsed) -> CliResult {
    arity(p, 0, 0, "bitcask -d DIR keys [--prefix P] [-e] [-0]")?;
    let prefix = match p.value("prefix") {
        Some(v) => arg_bytes(v, p.has("escaped"), "--prefix")?,
        None => Vec::new(),
    };
    let db = open_read(dir)?;
    let mut errors = 0;
    let keys = sorted_keys(&db, &prefix, &mut errors);
    let mut out = BufWriter::new(io::stdout().lock());
    let raw = p.has("null");
    let mut line = Vec::new();
    for k in &keys {
        line.clear();
        if raw {
            line.extend_from_slice(k);
            line.push(0);
        } else {
            codec::escape_into(k, &mut line);
            line.push(b'\n');
        }
        out.write_all(&line)?;
    }
    out.flush()?;
    read_errors(errors, "the list")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

fn format_of(p: &Parsed) -> Result<Format, CliError> {
    match p.text("format")? {
        None | Some("text") => Ok(Format::Text),
        Some("json") => Ok(Format::Json),
        Some(other) => Err(CliError::usage(format!(
            "--format must be text or json, not '{other}'"
        ))),
    }
}

/// Appends `"name":"utf-8 text"` or `"name_base64":"..."`.
fn json_field(name: &str, bytes: &[u8], force_b64: bool, out: &mut Vec<u8>) {
    match std::str::from_utf8(bytes) {
        Ok(s) if !force_b64 => {
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            codec::json_string_into(s, out);
        }
        _ => {
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"_base64\":\"");
            codec::base64_encode_into(bytes, out);
            out.push(b'"');
        }
    }
}

pub fn dump(dir: &Path, p: &Parsed) -> CliResult {
    arity(
        p,
        0,
        0,
        "bitcask -d DIR dump [--format text|json] [--base64]",
    )?;
    let format = format_of(p)?;
    let force_b64 = p.has("base64");
    if force_b64 && format != Format::Json {
        return Err(CliError::usage("--base64 goes with --format json"));
    }
    let db = open_read(dir)?;
    let mut errors = 0;
    let keys = sorted_keys(&db, b"", &mut errors);
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut line = Vec::new();
    for k in &keys {
        line.clear();
        let found = db.get_with_expiry(k, |v, expires_at| match format {
            Format::Text => {
                codec::escape_into(k, &mut line);
                line.push(b'\t');
                codec::escape_into(v, &mut line);
                line.push(b'\n');
            }
            Format::Json => {
                line.push(b'{');
                json_field("key", k, force_b64, &mut line);
                line.push(b',');
                json_field("value", v, force_b64, &mut line);
                if expires_at != 0 {
                    line.extend_from_slice(format!(",\"expires_at\":{expires_at}").as_bytes());
                }
                line.extend_from_slice(b"}\n");
            }
        });
        match found {
            Ok(Some(())) => out.write_all(&line)?,
            Ok(None) => {} // expired since the listing
            Err(e) => {
                errors += 1;
                eprintln!(
                    "bitcask: key \"{}\": {}",
                    codec::escape_short(k, 200),
                    CliError::from(e).message
                );
            }
        }
    }
    out.flush()?;
    read_errors(errors, "the dump")
}

/// One record of a dump.
struct Loaded {
    key: Vec<u8>,
    value: Vec<u8>,
    expires_at: u64,
}

fn parse_text_line(line: &[u8]) -> Result<Loaded, String> {
    let tab = line
        .iter()
        .position(|&b| b == b'\t')
        .ok_or("no tab between the key and the value")?;
    let (k, v) = (&line[..tab], &line[tab + 1..]);
    if v.contains(&b'\t') {
        return Err("more than one tab (a tab inside a key or value must be written \\t)".into());
    }
    Ok(Loaded {
        key: codec::unescape(k).map_err(|e| format!("key: {e}"))?,
        value: codec::unescape(v).map_err(|e| format!("value: {e}"))?,
        expires_at: 0,
    })
}

fn parse_json_line(line: &[u8]) -> Result<Loaded, String> {
    let members = codec::parse_flat_object(line)?;
    let mut key = None;
    let mut value = None;
    let mut expires_at = 0;
    for (name, v) in members {
        let slot = match name.as_str() {
            "key" | "key_base64" => &mut key,
            "value" | "value_base64" => &mut value,
            "expires_at" => {
                expires_at = match v {
                    JsonScalar::Null => 0,
                    JsonScalar::Num(n) => n
                        .parse()
                        .map_err(|_| format!("expires_at {n} is not a whole number of ms"))?,
                    _ => return Err("expires_at must be a number or null".into()),
                };
                continue;
            }
            _ => continue,
        };
        let JsonScalar::Str(s) = v else {
            return Err(format!("\"{name}\" must be a string"));
        };
        let bytes = if name.ends_with("_base64") {
            codec::base64_decode(s.as_bytes()).map_err(|e| format!("{name}: {e}"))?
        } else {
            s.into_bytes()
        };
        if slot.replace(bytes).is_some() {
            let base = name.trim_end_matches("_base64");
            return Err(format!(
                "more than one {base} (\"{base}\" or \"{base}_base64\")"
            ));
        }
    }
    Ok(Loaded {
        key: key.ok_or("no \"key\" or \"key_base64\"")?,
        value: value.ok_or("no \"value\" or \"value_base64\"")?,
        expires_at,
    })
}

const LOAD_BATCH_RECORDS: usize = 1024;
const LOAD_BATCH_BYTES: usize = 4 << 20;

fn flush_batch(db: &Db, batch: &mut Vec<Loaded>, bytes: &mut usize) -> CliResult {
    let ops: Vec<Op<'_>> = batch
        .iter()
        .map(|r| Op {
            key: &r.key,
            value: &r.value,
            expires_at: r.expires_at,
            tombstone: false,
        })
        .collect();
    db.write(&ops)?;
    batch.clear();
    *bytes = 0;
    Ok(())
}

pub fn load(dir: &Path, p: &Parsed) -> CliResult {
    arity(p, 0, 0, "bitcask -d DIR load [--format text|json] < DUMP")?;
    let format = format_of(p)?;
    let db = open(dir, Access::WriteCreate)?;
    let mut input = io::stdin().lock();
    let mut line = Vec::new();
    let mut batch: Vec<Loaded> = Vec::new();
    let mut batch_bytes = 0usize;
    let (mut loaded, mut expired, mut n) = (0u64, 0u64, 0u64);
    let now = bitcask::now_ms();
    loop {
        line.clear();
        let read = input
            .read_until(b'\n', &mut line)
            .map_err(|e| CliError::failed(format!("reading stdin: {e}")))?;
        if read == 0 {
            break;
        }
        n += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let parsed = match format {
            Format::Text => parse_text_line(&line),
            Format::Json => parse_json_line(&line),
        };
        let rec = parsed
            .and_then(|r| {
                if r.key.is_empty() {
                    Err("empty key".into())
                } else if r.key.len() > MAX_KEY_LEN {
                    Err(format!(
                        "key of {} bytes (the maximum is {MAX_KEY_LEN})",
                        r.key.len()
                    ))
                } else if r.value.len() > MAX_VALUE_LEN {
                    Err(format!(
                        "value of {} bytes (the maximum is {MAX_VALUE_LEN})",
                        r.value.len()
                    ))
                } else {
                    Ok(r)
                }
            })
            .map_err(|e| {
                let _ = flush_batch(&db, &mut batch, &mut batch_bytes);
                CliError::failed(format!(
                    "stdin line {n}: {e}; the {loaded} record(s) before it were stored"
                ))
            });
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let _ = db.close();
                return Err(e);
            }
        };
        if rec.expires_at != 0 && rec.expires_at <= now {
            expired += 1;
            continue;
        }
        batch_bytes += rec.key.len() + rec.value.len();
        batch.push(rec);
        loaded += 1;
        if batch.len() >= LOAD_BATCH_RECORDS || batch_bytes >= LOAD_BATCH_BYTES {
            flush_batch(&db, &mut batch, &mut batch_bytes)?;
        }
    }
    flush_batch(&db, &mut batch, &mut batch_bytes)?;
    close(db)?;
    let mut msg = format!("loaded {loaded} record(s) into {}", dir.display());
    if expired > 0 {
        msg.push_str(&format!(" ({expired} already expired, skipped)"));
    }
    println!("{msg}");
    Ok(())
}

/// Below this many keys the keydir's size is mostly its fixed initial tables (one per
/// shard, allocated with the shard's first key), so a per-key figure would mislead: at 19
/// keys it came to about 1,000 bytes per key.
const PER_KEY_MIN_KEYS: u64 = 10_000;

/// Rows as columns two spaces apart, each as wide as its widest cell; `right[i]` aligns
/// column i to the right. The last column is not padded.
fn table<const N: usize>(rows: &[[String; N]], right: &[bool; N]) -> String {
    let mut width = [0usize; N];
    for row in rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut t = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(width[i] - cell.chars().count());
            if right[i] {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if i + 1 < N {
                    line.push_str(&pad);
                }
            }
        }
        t.push_str(line.trim_end());
        t.push('\n');
    }
    t
}

pub fn stats(dir: &Path, p: &Parsed) -> CliResult {
    arity(p, 0, 0, "bitcask -d DIR stats [--json]")?;
    let db = open_read(dir)?;
    let mut s = db.stats();
    drop(db);
    // What a writer opening the store with the default triggers would decide (a read-only
    // handle's own `needs_merge` is always false).
    s.needs_merge = s.merge_due(&MergeOptions::default());
    let due = s.needs_merge;
    let (total, dead) = (s.total_bytes(), s.dead_bytes());
    let pct = |d: u64, t: u64| {
        if t == 0 {
            0.0
        } else {
            d as f64 * 100.0 / t as f64
        }
    };
    let r = &s.recovery;
    let mut out = io::stdout().lock();
    if p.has("json") {
        writeln!(out, "{}", s.to_json_with_dir(dir))?;
        return Ok(());
    }
    let mode = s.keydir.name();
    let keydir = if s.live_keys >= PER_KEY_MIN_KEYS {
        format!(
            "{} ({}, {} bytes per key on average; {mode} keydir)",
            s.keydir_bytes,
            bytes_human(s.keydir_bytes),
            s.keydir_bytes / s.live_keys
        )
    } else if s.keydir_bytes > 0 {
        let per_key = match s.keydir {
            bitcask::KeydirMode::Keys => "about 27 bytes + its length",
            bitcask::KeydirMode::Hashed => "under 16 bytes",
        };
        format!(
            "{} ({}; mostly fixed initial tables: each key adds {per_key}; {mode} keydir)",
            s.keydir_bytes,
            bytes_human(s.keydir_bytes)
        )
    } else {
        "0".to_string()
    };
    let damaged_note = if r.damaged_ranges > 0 {
        ": run `bitcask check`"
    } else {
        ""
    };
    let summary = [
        ["store".to_string(), dir.display().to_string()],
        ["live keys".into(), s.live_keys.to_string()],
        ["data files".into(), s.files.len().to_string()],
        [
            "total bytes".into(),
            format!("{total} ({})", bytes_human(total)),
        ],
        [
            "dead bytes".into(),
            format!(
                "{dead} ({}, {:.1}% of total)",
                bytes_human(dead),
                pct(dead, total)
            ),
        ],
        ["keydir memory".into(), keydir],
        [
            "damaged ranges".into(),
            format!(
                "{} ({} bytes){damaged_note}",
                r.damaged_ranges, r.damaged_bytes
            ),
        ],
        [
            "dropped batch records".into(),
            format!("{} (of batches cut short)", r.dropped_batch_records),
        ],
        [
            "hint fallbacks".into(),
            format!(
                "{} (damaged or stale hint files; their data files were scanned)",
                r.hint_fallbacks
            ),
        ],
        [
            "merge due".into(),
            format!(
                "{} (default triggers: a sealed file >= 60% dead or >= 512 MiB dead)",
                if due { "yes" } else { "no" }
            ),
        ],
    ];
    let mut t = table(&summary, &[false, false]);
    if !s.files.is_empty() {
        let mut rows = vec![[
            "file".to_string(),
            "total bytes".into(),
            "dead bytes".into(),
            "fragmentation".into(),
        ]];
        for (id, f) in &s.files {
            rows.push([
                bitcask::inspect::data_file_name(*id),
                f.total_bytes.to_string(),
                f.dead_bytes.to_string(),
                format!("{:.1}%", f.fragmentation() * 100.0),
            ]);
        }
        t.push('\n');
        t.push_str(&table(&rows, &[false, true, true, true]));
    }
    out.write_all(t.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), 90_000);
        assert_eq!(parse_duration("1500ms").unwrap(), 1500);
        assert_eq!(parse_duration("2h").unwrap(), 7_200_000);
        assert_eq!(parse_duration("1d").unwrap(), 86_400_000);
        for bad in ["", "x", "1y", "0", "-1", "1.5s", "99999999999999999999"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dump_lines_parse_back() {
        let r = parse_text_line(b"a\\tb\tv\\x00").unwrap();
        assert_eq!((r.key, r.value), (b"a\tb".to_vec(), b"v\0".to_vec()));
        assert!(parse_text_line(b"novalue").is_err());
        assert!(parse_text_line(b"a\tb\tc").is_err());
        let r = parse_json_line(br#"{"key_base64":"AP8=","value":"x","expires_at":5}"#).unwrap();
        assert_eq!(
            (r.key, r.value, r.expires_at),
            (vec![0, 255], b"x".to_vec(), 5)
        );
        assert!(parse_json_line(br#"{"key":"a","key_base64":"YQ==","value":""}"#).is_err());
        assert!(parse_json_line(br#"{"key":"a"}"#).is_err());
        assert!(parse_json_line(br#"{"key":1,"value":"a"}"#).is_err());
    }
}
