//! An I/O failure keeps the operating system's error as its `source()` (issue 15 item 3).

mod common;

use std::error::Error as _;
use std::io;
use std::path::Path;
use std::sync::Arc;

use bitcask::testing::{Fault, SimDisk};
use bitcask::{Db, Error, ErrorKind, Options};
use common::TempDir;

fn os_error(e: &Error) -> Option<i32> {
    let source = e.source()?;
    source.downcast_ref::<io::Error>()?.raw_os_error()
}

#[test]
fn an_os_error_at_open_is_the_source() {
    let dir = TempDir::new("errsrc");
    let file = dir.join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let e = Db::open(file.join("store"), Options::default())
        .err()
        .expect("a store beneath a regular file cannot open");
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert_eq!(os_error(&e), Some(libc::ENOTDIR), "{e:?}");
    assert_eq!(
        e.io_error().map(io::Error::kind),
        Some(io::ErrorKind::NotADirectory)
    );
}

#[test]
fn a_failed_write_and_sync_keep_eio_as_the_source() {
    let disk = SimDisk::new(7);
    let dir = Path::new("/sim/errsrc");
    let db = Db::open_with_storage(dir, Options::default(), Arc::new(disk.clone())).unwrap();
    db.put(b"k", b"v").unwrap();
    disk.set_fault(Some(Fault::Eio));
    let put = db.put(b"k2", b"v").unwrap_err();
    let sync = db.sync().unwrap_err();
    disk.set_fault(None);
    for e in [put, sync] {
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(os_error(&e), Some(libc::EIO), "{e:?}");
        // The message still says what was being done, as before.
        assert!(e.message().contains("000001.data"), "{e}");
    }
    // Errors that wrap no OS error have no source.
    let e = db.put(b"", b"v").unwrap_err();
    assert!(e.source().is_none());
    db.close().unwrap();
}
