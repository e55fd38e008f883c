//! One numbered data file: positioned, verified reads of a record and a full scan for
//! recovery. Appends are done by the writer (`writer.rs`) through the same storage file.

use std::fmt;

use crate::error::{Error, Result};
use crate::layout::data_file_name;
use crate::record::{decode_record, Header, Record, HEADER_LEN};
use crate::storage::StorageFile;

pub struct DataFile {
    id: u32,
    name: String,
    file: Box<dyn StorageFile>,
}

impl fmt::Debug for DataFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// What a scan found besides the records it delivered.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanSummary {
    /// End of the last intact record that was applied (the safe truncation point).
    pub valid_end: u64,
    /// Damaged byte ranges `(offset, len)` that were skipped, including the tail garbage.
    pub damaged: Vec<(u64, u64)>,
    /// Records that were intact but dropped because their batch never completed.
    pub dropped_batch_records: u64,
    /// Bytes after `valid_end` are all zero (preallocated space, or nothing at all).
    pub clean_tail: bool,
}

impl DataFile {
    pub fn new(id: u32, file: Box<dyn StorageFile>) -> DataFile {
        DataFile {
            id,
            name: data_file_name(id),
            file,
        }
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn storage(&self) -> &dyn StorageFile {
        &*self.file
    }

    /// Reads the record at `offset` (of `len` bytes), verifies its CRC and that it is
    /// `key`'s record, then hands it to `f`. A mismatch is a corruption error naming the
    /// file and offset: wrong bytes are never returned.
    pub fn read_record<R>(
        &self,
        offset: u64,
        len: u64,
        key: &[u8],
        f: impl FnOnce(Record<'_>) -> R,
    ) -> Result<R> {
        let mut f = Some(f);
        let mut out = None;
        let mut intact = false;
        let len = usize::try_from(len).map_err(|_| Error::internal("record length overflow"))?;
        self.file
            .read_with(offset, len, &mut |bytes| match decode_record(bytes) {
                Some(rec) if rec.key == key && rec.header.record_len() == bytes.len() as u64 => {
                    intact = true;
                    out = f.take().map(|f| f(rec));
                }
                _ => {}
            })
            .map_err(|e| self.record_read_error(offset, e))?;
        match out {
            Some(r) if intact => Ok(r),
            _ => Err(Error::corruption(format!(
                "record at offset {offset} of {} fails its checksum",
                self.name
            ))),
        }
    }

    /// Reads whichever record starts at `offset` (its length from its header), verifies its
    /// CRC and hands it to `f`: for readers that have a location but not the key.
    pub fn read_any_record<R>(&self, offset: u64, f: impl FnOnce(Record<'_>) -> R) -> Result<R> {
        let header = self.header_at(offset)?;
        let mut f = Some(f);
        let mut out = None;
        let len = usize::try_from(header.record_len())
            .map_err(|_| Error::internal("record length overflow"))?;
        let read = self.file.read_with(offset, len, &mut |bytes| {
            if let Some(rec) = decode_record(bytes) {
                out = f.take().map(|f| f(rec));
            }
        });
        match (read, out) {
            (Ok(()), Some(r)) => Ok(r),
            (Err(e), _) if e.kind() != std::io::ErrorKind::UnexpectedEof => Err(Error::io(
                format!("reading {} at offset {offset}", self.name),
                e,
            )),
            _ => Err(Error::corruption(format!(
                "record at offset {offset} of {} fails its checksum",
                self.name
            ))),
        }
    }

    /// `keyed_header`, telling a record that cannot be read (an error) from one that names
    /// another key (`Ok(None)`).
    pub fn keyed_header_checked(&self, offset: u32, key: &[u8]) -> Result<Option<Header>> {
        let mut header = None;
        let read = self
            .file
            .read_with(offset as u64, HEADER_LEN + key.len(), &mut |b| {
                header = Header::decode(b)
                    .filter(|h| h.key_len as usize == key.len() && &b[HEADER_LEN..] == key);
            });
        match read {
            Ok(()) => Ok(header),
            // A shorter record near the end of the file is another key's.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(Error::io(
                format!("reading {} at offset {offset}", self.name),
                e,
            )),
        }
    }

    /// The plausible header at `offset` and the key after it (the CRC, which covers the
    /// value too, is not checked: for listings of keys, which check the key otherwise).
    pub fn header_and_key(&self, offset: u64) -> Result<(Header, Vec<u8>)> {
        let header = self.header_at(offset)?;
        let mut key = Vec::new();
        let at = offset + HEADER_LEN as u64;
        self.file
            .read_with(at, header.key_len as usize, &mut |b| {
                key.extend_from_slice(b)
            })
            .map_err(|e| self.record_read_error(offset, e))?;
        Ok((header, key))
    }

    /// A failed read of the record at `offset`. Its length came from a record header (the
    /// read path takes it from the record itself): one that runs past the end of the file
    /// is damage, anything else an I/O error.
    fn record_read_error(&self, offset: u64, e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::corruption(format!(
                "record at offset {offset} of {} runs past the end of the file",
                self.name
            ))
        } else {
            Error::io(format!("reading {} at offset {offset}", self.name), e)
        }
    }

    /// The header of the record at `offset` if that record names `key` (a plausible header
    /// and the same key bytes; the CRC is checked by the read that follows). Lets a lookup
    /// confirm a hash-tag match with the record it reads next anyway.
    pub fn keyed_header(&self, offset: u32, key: &[u8]) -> Option<Header> {
        let mut header = None;
        let _ = self
            .file
            .read_with(offset as u64, HEADER_LEN + key.len(), &mut |b| {
                header = Header::decode(b)
                    .filter(|h| h.key_len as usize == key.len() && &b[HEADER_LEN..] == key);
            });
        header
    }

    /// The plausible header at `offset`, or a corruption error naming the file.
    pub fn header_at(&self, offset: u64) -> Result<Header> {
        let mut header = None;
        let read = self.file.read_with(offset, HEADER_LEN, &mut |b| {
            header = Header::decode(b);
        });
        match read {
            Err(e) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
                return Err(Error::io(
                    format!("reading {} at offset {offset}", self.name),
                    e,
                ));
            }
            _ => {}
        }
        header.ok_or_else(|| {
            Error::corruption(format!(
                "record at offset {offset} of {} has a damaged header",
                self.name
            ))
        })
    }

    /// Visits every intact record in file order with its offset. Records of a
    /// batch are held back until the batch's last record is seen and then delivered together;
    /// a batch cut short by damage or the end of the file is dropped whole. Damaged bytes are
    /// skipped by searching for the next intact record, so damage never hides the records
    /// behind it.
    pub fn scan(&self, mut visit: impl FnMut(u64, &Record<'_>)) -> Result<ScanSummary> {
        self.scan_with(|bytes| scan_bytes(bytes, &mut visit))
    }

    /// Calls `f` with the whole file's bytes, to run `scan_bytes` over them while keeping the
    /// visited records (which borrow those bytes) until `f` returns.
    pub fn scan_with(&self, f: impl FnOnce(&[u8]) -> ScanSummary) -> Result<ScanSummary> {
        let len = usize::try_from(self.file.size())
            .map_err(|_| Error::internal("file too large to scan on this platform"))?;
        if len == 0 {
            return Ok(ScanSummary {
                clean_tail: true,
                ..ScanSummary::default()
            });
        }
        let mut f = Some(f);
        let mut summary = ScanSummary::default();
        self.file
            .read_with(0, len, &mut |bytes| {
                if let Some(f) = f.take() {
                    summary = f(bytes);
                }
            })
            .map_err(|e| Error::io(format!("reading {}", self.name), e))?;
        Ok(summary)
    }
}

/// Visits every intact record of `bytes` (a whole data file); see `DataFile::scan`.
pub fn scan_bytes<'b>(bytes: &'b [u8], visit: &mut impl FnMut(u64, &Record<'b>)) -> ScanSummary {
    scan_bytes_with(bytes, visit, &mut |_, _| {})
}

/// `scan_bytes`, also calling `damaged(offset, len)` for each damaged range as the scan
/// finds it (in file order, interleaved with the records: `inspect::scan_data`).
pub fn scan_bytes_with<'b>(
    bytes: &'b [u8],
    visit: &mut impl FnMut(u64, &Record<'b>),
    damaged: &mut impl FnMut(u64, u64),
) -> ScanSummary {
    let mut s = ScanSummary::default();
    let mut pending: Vec<(u64, Record<'b>)> = Vec::new();
    let mut pos = 0usize;
    let mut zero_from = bytes.len();
    while pos < bytes.len() {
        if let Some(rec) = decode_record(&bytes[pos..]) {
            let rec_len = rec.header.record_len() as usize;
            let h = rec.header;
            // A batch member must directly follow its predecessor; one that does not (its
            // batch lost its head or middle to damage) is dropped with what came before.
            let follows = pending
                .last()
                .is_some_and(|(_, p)| p.header.seq.checked_add(1) == Some(h.seq));
            if h.batch_prev() != follows || (!h.batch_prev() && !pending.is_empty()) {
                s.dropped_batch_records += pending.len() as u64;
                pending.clear();
            }
            if h.batch_prev() && pending.is_empty() {
                s.dropped_batch_records += 1;
                pos += rec_len;
                continue;
            }
            if pending.is_empty() && !h.batch_cont() {
                // A record on its own (the usual case) goes straight out: through `pending`
                // it was moved twice.
                visit(pos as u64, &rec);
                pos += rec_len;
                s.valid_end = pos as u64;
                continue;
            }
            pending.push((pos as u64, rec));
            if !h.batch_cont() {
                for (off, rec) in pending.drain(..) {
                    visit(off, &rec);
                }
                s.valid_end = (pos + rec_len) as u64;
            }
            pos += rec_len;
            continue;
        }
        if all_zero(&bytes[pos..]) {
            zero_from = pos;
            break;
        }
        // Damage: skip to the next position that holds an intact record.
        let next = (pos + 1..bytes.len().saturating_sub(HEADER_LEN - 1))
            .find(|&p| decode_record(&bytes[p..]).is_some())
            .unwrap_or(bytes.len());
        s.damaged.push((pos as u64, (next - pos) as u64));
        damaged(pos as u64, (next - pos) as u64);
        s.dropped_batch_records += pending.len() as u64;
        pending.clear();
        pos = next;
    }
    s.dropped_batch_records += pending.len() as u64;
    // Past `zero_from` every byte is known to be zero already.
    s.clean_tail = all_zero(&bytes[s.valid_end as usize..zero_from]);
    s
}

/// Whether every byte of `bytes` is zero, 64 at a time: byte by byte, the check ran at a byte
/// per cycle, and a killed writer's active file ends in up to 8 MiB of preallocated zeros,
/// checked by each loading thread (a tenth of the CPU of scanning a 27 MB file).
fn all_zero(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(64);
    let zero_chunks = chunks.all(|c| c.iter().fold(0u8, |acc, &b| acc | b) == 0);
    zero_chunks && chunks.remainder().iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{FLAG_BATCH_CONT, FLAG_BATCH_PREV, FLAG_TOMBSTONE};

    fn rec(seq: u64, flags: u8, key: &[u8], value: &[u8]) -> Vec<u8> {
        crate::record::test_record(seq, flags, key, value)
    }

    fn scan(bytes: &[u8]) -> (Vec<(u64, u64, Vec<u8>)>, ScanSummary) {
        let mut seen = Vec::new();
        let s = scan_bytes(bytes, &mut |off, r: &Record<'_>| {
            seen.push((off, r.header.seq, r.key.to_vec()))
        });
        (seen, s)
    }

    #[test]
    fn zero_tail_is_clean_and_garbage_tail_is_damage() {
        let mut b = rec(1, 0, b"a", b"1");
        let end = b.len() as u64;
        b.extend_from_slice(&[0u8; 100]);
        let (seen, s) = scan(&b);
        assert_eq!(seen.len(), 1);
        assert_eq!((s.valid_end, s.clean_tail, s.damaged.len()), (end, true, 0));

        let mut b = rec(1, 0, b"a", b"1");
        let torn = rec(2, 0, b"b", b"22222");
        b.extend_from_slice(&torn[..torn.len() - 2]);
        let (seen, s) = scan(&b);
        assert_eq!(seen.len(), 1);
        assert_eq!((s.valid_end, s.clean_tail), (end, false));
        assert_eq!(s.damaged, vec![(end, torn.len() as u64 - 2)]);
    }

    /// A tail is zero only if every byte is: one set byte anywhere (in a 64-byte block or in
    /// the bytes after the last whole block) makes it damage, after a record or after an
    /// incomplete batch.
    #[test]
    fn one_set_byte_anywhere_in_a_long_tail_is_damage() {
        let head = rec(1, 0, b"a", b"1");
        for tail in [64usize, 1000, 4096 + 37] {
            for bad in [0, 1, 63, 64, tail / 2, tail - 1]
                .into_iter()
                .filter(|&i| i < tail)
            {
                let mut b = head.clone();
                b.resize(head.len() + tail, 0);
                b[head.len() + bad] = 0x40;
                let (seen, s) = scan(&b);
                assert_eq!(seen.len(), 1, "tail {tail}, set byte at {bad}");
                assert!(!s.clean_tail, "tail {tail}, set byte at {bad}");
                assert!(!s.damaged.is_empty(), "tail {tail}, set byte at {bad}");
            }
            let mut b = head.clone();
            b.resize(head.len() + tail, 0);
            assert!(scan(&b).1.clean_tail, "tail {tail} of zeros");
        }
        // Zeros after a batch that never completed: the batch's bytes are not a clean tail.
        let mut b = head.clone();
        b.extend(rec(2, FLAG_BATCH_CONT, b"b", b"2"));
        b.resize(b.len() + 500, 0);
        let (seen, s) = scan(&b);
        assert_eq!(
            (seen.len(), s.valid_end, s.clean_tail),
            (1, head.len() as u64, false)
        );
        assert_eq!(s.dropped_batch_records, 1);
    }

    #[test]
    fn damage_in_the_middle_does_not_hide_later_records() {
        let mut b = rec(1, 0, b"a", b"1");
        let bad_at = b.len();
        b.extend(rec(2, 0, b"b", b"2"));
        b.extend(rec(3, FLAG_TOMBSTONE, b"c", b""));
        b[bad_at + 33] ^= 0xff;
        let (seen, s) = scan(&b);
        let keys: Vec<_> = seen.iter().map(|x| x.2.clone()).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"c".to_vec()]);
        assert_eq!(s.damaged.len(), 1);
        assert_eq!(s.valid_end, b.len() as u64);
    }

    #[test]
    fn incomplete_batch_is_dropped_whole() {
        let mut b = rec(1, 0, b"a", b"1");
        let end = b.len() as u64;
        b.extend(rec(2, FLAG_BATCH_CONT, b"b", b"2"));
        b.extend(rec(3, FLAG_BATCH_CONT | FLAG_BATCH_PREV, b"c", b"3"));
        let (seen, s) = scan(&b);
        assert_eq!(seen.len(), 1);
        assert_eq!((s.valid_end, s.dropped_batch_records), (end, 2));

        b.extend(rec(4, FLAG_BATCH_PREV, b"d", b"4"));
        let (seen, s) = scan(&b);
        assert_eq!(seen.len(), 4);
        assert_eq!(s.valid_end, b.len() as u64);
    }

    #[test]
    fn a_batch_that_lost_its_head_or_middle_is_dropped_even_if_its_tail_survived() {
        let head = rec(1, FLAG_BATCH_CONT, b"a", b"1");
        let mid = rec(2, FLAG_BATCH_CONT | FLAG_BATCH_PREV, b"b", b"2");
        let tail = rec(3, FLAG_BATCH_PREV, b"c", b"3");
        let after = rec(4, 0, b"d", b"4");
        for lost in [0usize, 1] {
            let mut b = Vec::new();
            for (i, r) in [&head, &mid].into_iter().enumerate() {
                if i == lost {
                    b.extend(vec![0xEEu8; r.len()]); // damaged in place
                } else {
                    b.extend_from_slice(r);
                }
            }
            b.extend_from_slice(&tail);
            b.extend_from_slice(&after);
            let (seen, s) = scan(&b);
            let keys: Vec<_> = seen.iter().map(|x| x.2.clone()).collect();
            assert_eq!(keys, vec![b"d".to_vec()], "lost record {lost}");
            assert!(s.dropped_batch_records >= 1);
        }
    }
}
