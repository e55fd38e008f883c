//! The on-disk format as code: the record and hint-file codecs that docs/FORMAT.md
//! specifies byte by byte, for tools and tests that read or write these files themselves.
//! (Directory and file names are in [`crate::layout`]; reading a whole store is
//! [`crate::inspect`].)
//!
//! A record: a 32-byte [`Header`] (CRC, seq, expiry, lengths, flags, version), the key, the
//! value. [`decode_record`] accepts only an intact record (plausible header, matching CRC);
//! [`Header::for_record`] builds a header with its CRC. A hint file: [`HINT_MAGIC`],
//! entries ([`HintEntry`]), a trailer with the count and a CRC; [`decode_hint`] verifies the
//! whole file before visiting any entry, [`check_hint`] is the test open applies against
//! the data file, [`HintWriter`] writes one.
//!
//! ```
//! use bitcask::format::{decode_record, Header, FLAG_TOMBSTONE, HEADER_LEN};
//!
//! let (key, value) = (&b"key"[..], &b"value"[..]);
//! let mut bytes = Header::for_record(7, 0, 0, key, value).encode().to_vec();
//! bytes.extend_from_slice(key);
//! bytes.extend_from_slice(value);
//! let rec = decode_record(&bytes).expect("intact");
//! assert_eq!((rec.header.seq, rec.key, rec.value), (7, key, value));
//! assert_eq!(rec.header.record_len(), (HEADER_LEN + 8) as u64);
//! assert!(!rec.header.is_tombstone() && FLAG_TOMBSTONE == 1);
//! bytes[HEADER_LEN] ^= 1; // one flipped bit in the key
//! assert!(decode_record(&bytes).is_none());
//! ```

pub use crate::hint::{
    check as check_hint, check_summary as check_hint_summary, decode as decode_hint,
    decode_summary as decode_hint_summary, HintEntry, HintSummary, HintWriter, MAGIC as HINT_MAGIC,
    MAGIC_V1 as HINT_MAGIC_V1, MAGIC_V3 as HINT_MAGIC_V3,
};
pub use crate::record::{
    checksum, decode_record, Header, Record, FLAG_BATCH_CONT, FLAG_BATCH_PREV, FLAG_TOMBSTONE,
    FORMAT_VERSION, HEADER_LEN, KNOWN_FLAGS, MAX_KEY_LEN, MAX_VALUE_LEN,
};
