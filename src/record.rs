//! The data-file record: a fixed 32-byte header, then the key, then the value.
//! `docs/FORMAT.md` is the byte-by-byte contract; keep the two in step.
//!
//! ```text
//! offset size field
//!  0     4    crc32 (IEEE, little-endian) of bytes 4..end of record
//!  4     8    seq: write order stamp, u64 LE (a logical counter, never the wall clock)
//! 12     8    expires_at: unix time in ms, u64 LE; 0 = never expires
//! 20     4    key_len, u32 LE (1..=MAX_KEY_LEN)
//! 24     4    value_len, u32 LE (0..=MAX_VALUE_LEN; 0 for a tombstone)
//! 28     1    flags: bit 0 TOMBSTONE, bit 1 BATCH_CONT, bit 2 BATCH_PREV; other bits 0
//! 29     1    format version (1)
//! 30     2    reserved, 0
//! ```

/// Size of the fixed record header.
pub const HEADER_LEN: usize = 32;
/// Largest key, in bytes.
pub const MAX_KEY_LEN: usize = 64 * 1024;
/// Largest value, in bytes (512 MiB).
pub const MAX_VALUE_LEN: usize = 512 * 1024 * 1024;
/// The record describes a delete; it carries no value.
pub const FLAG_TOMBSTONE: u8 = 1;
/// The record belongs to a write batch and is not its last record: recovery applies it only
/// once it has seen the batch's last record (the first following record without this flag).
pub const FLAG_BATCH_CONT: u8 = 2;
/// The record belongs to a write batch and is not its first record: it is valid only right
/// after the previous record of its batch (seq one lower). With `FLAG_BATCH_CONT` this lets
/// recovery reject a batch whose head or middle was lost, even when its tail survived.
pub const FLAG_BATCH_PREV: u8 = 4;
/// Every flag bit this format version defines; a header with any other bit set is refused.
pub const KNOWN_FLAGS: u8 = FLAG_TOMBSTONE | FLAG_BATCH_CONT | FLAG_BATCH_PREV;
pub const FORMAT_VERSION: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub crc: u32,
    pub seq: u64,
    pub expires_at: u64,
    pub key_len: u32,
    pub value_len: u32,
    pub flags: u8,
}

impl Header {
    pub fn is_tombstone(&self) -> bool {
        self.flags & FLAG_TOMBSTONE != 0
    }

    pub fn batch_cont(&self) -> bool {
        self.flags & FLAG_BATCH_CONT != 0
    }

    pub fn batch_prev(&self) -> bool {
        self.flags & FLAG_BATCH_PREV != 0
    }

    /// Header + key + value.
    pub fn record_len(&self) -> u64 {
        HEADER_LEN as u64 + self.key_len as u64 + self.value_len as u64
    }

    pub fn expired(&self, now_ms: u64) -> bool {
        self.expires_at != 0 && self.expires_at <= now_ms
    }

    /// Builds a header and its CRC for `key`/`value`.
    pub fn for_record(seq: u64, expires_at: u64, flags: u8, key: &[u8], value: &[u8]) -> Header {
        let mut h = Header {
            crc: 0,
            seq,
            expires_at,
            key_len: key.len() as u32,
            value_len: value.len() as u32,
            flags,
        };
        let bytes = h.encode();
        h.crc = checksum(&bytes[4..], key, value);
        h
    }

    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&self.crc.to_le_bytes());
        b[4..12].copy_from_slice(&self.seq.to_le_bytes());
        b[12..20].copy_from_slice(&self.expires_at.to_le_bytes());
        b[20..24].copy_from_slice(&self.key_len.to_le_bytes());
        b[24..28].copy_from_slice(&self.value_len.to_le_bytes());
        b[28] = self.flags;
        b[29] = FORMAT_VERSION;
        b
    }

    /// Parses a header, rejecting any that could not have been written by this library
    /// (unknown flags or version, out-of-range lengths). The CRC is not checked here.
    pub fn decode(b: &[u8]) -> Option<Header> {
        if b.len() < HEADER_LEN {
            return None;
        }
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
        let h = Header {
            crc: u32_at(0),
            seq: u64_at(4),
            expires_at: u64_at(12),
            key_len: u32_at(20),
            value_len: u32_at(24),
            flags: b[28],
        };
        let plausible = b[29] == FORMAT_VERSION
            && b[30] == 0
            && b[31] == 0
            && h.flags & !KNOWN_FLAGS == 0
            && h.key_len >= 1
            && h.key_len as usize <= MAX_KEY_LEN
            && h.value_len as usize <= MAX_VALUE_LEN
            && !(h.is_tombstone() && h.value_len != 0);
        plausible.then_some(h)
    }
}

/// CRC32 of the header bytes after the CRC field, the key and the value.
pub fn checksum(header_tail: &[u8], key: &[u8], value: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header_tail);
    hasher.update(key);
    hasher.update(value);
    hasher.finalize()
}

/// A record read back whole and verified.
#[derive(Debug)]
pub struct Record<'a> {
    pub header: Header,
    pub key: &'a [u8],
    pub value: &'a [u8],
}

/// Decodes and verifies the record at the start of `bytes`. `None` means the bytes are not a
/// complete, intact record (torn, corrupted, or not a record at all).
pub fn decode_record(bytes: &[u8]) -> Option<Record<'_>> {
    let header = Header::decode(bytes)?;
    let len = usize::try_from(header.record_len()).ok()?;
    if bytes.len() < len {
        return None;
    }
    let key_end = HEADER_LEN + header.key_len as usize;
    let key = &bytes[HEADER_LEN..key_end];
    let value = &bytes[key_end..len];
    // One pass over the contiguous bytes: crc32fast folds 128 bytes at a time with
    // carry-less multiplies only within one update; three short updates (header tail, key,
    // value) all took its byte-table path, and the CRC was a tenth of a get.
    if crc32fast::hash(&bytes[4..len]) != header.crc {
        return None;
    }
    Some(Record { header, key, value })
}

/// A whole record's bytes (header, key, value), for tests that build files by hand.
#[cfg(test)]
pub(crate) fn test_record(seq: u64, flags: u8, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut v = Header::for_record(seq, 0, flags, key, value)
        .encode()
        .to_vec();
    v.extend_from_slice(key);
    v.extend_from_slice(value);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(h: &Header, key: &[u8], value: &[u8]) -> Vec<u8> {
        let mut v = h.encode().to_vec();
        v.extend_from_slice(key);
        v.extend_from_slice(value);
        v
    }

    #[test]
    fn round_trip_and_every_bit_flip_is_caught() {
        let h = Header::for_record(7, 99, 0, b"key", b"value");
        let bytes = encode(&h, b"key", b"value");
        let r = decode_record(&bytes).unwrap();
        assert_eq!((r.key, r.value, r.header), (&b"key"[..], &b"value"[..], h));
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            if let Some(r) = decode_record(&b) {
                panic!("flip of bit {bit} accepted: {r:?}");
            }
        }
    }

    #[test]
    fn tombstone_is_a_flag_not_a_value() {
        let v = b"bitcask_tombstone";
        let h = Header::for_record(1, 0, 0, b"k", v);
        assert!(!decode_record(&encode(&h, b"k", v))
            .unwrap()
            .header
            .is_tombstone());
        let t = Header::for_record(2, 0, FLAG_TOMBSTONE, b"k", b"");
        assert!(decode_record(&encode(&t, b"k", b""))
            .unwrap()
            .header
            .is_tombstone());
    }

    #[test]
    fn truncated_and_zero_bytes_are_rejected() {
        let h = Header::for_record(1, 0, 0, b"k", b"v");
        let bytes = encode(&h, b"k", b"v");
        for n in 0..bytes.len() {
            assert!(decode_record(&bytes[..n]).is_none());
        }
        assert!(decode_record(&[0u8; 64]).is_none());
    }
}
