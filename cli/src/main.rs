//! `bitcask`: a command-line tool to look inside, check, repair and compact a libbitcask
//! store. It links the engine directly (the `bitcask` crate), not the C library.
//!
//! Exit status (documented in `--help` and docs/CLI.md): 0 success; 1 a negative answer
//! (missing key, damage found); 2 usage error or failure; 3 the store is locked.

mod args;
mod backup;
mod codec;
mod commands;
mod compact;
mod help;
mod progress;
mod repair;
mod scan;

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bitcask::{Db, ErrorKind, Options};

use crate::scan::StoreFiles;

pub const EXIT_NO: u8 = 1;
pub const EXIT_FAILURE: u8 = 2;
pub const EXIT_LOCKED: u8 = 3;

/// Why the tool stops early: the exit status and the message for stderr (empty for none).
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
    /// Print the "try --help" hint after the message.
    pub usage: bool,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_FAILURE,
            message: message.into(),
            usage: true,
        }
    }

    pub fn failed(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_FAILURE,
            message: message.into(),
            usage: false,
        }
    }

    /// A negative answer (exit 1), such as a missing key.
    pub fn no(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_NO,
            message: message.into(),
            usage: false,
        }
    }

    /// An I/O error on `path`.
    pub fn io(what: &str, path: &Path, e: io::Error) -> CliError {
        CliError::failed(format!("{what} {}: {e}", path.display()))
    }
}

impl From<bitcask::Error> for CliError {
    fn from(e: bitcask::Error) -> CliError {
        let (code, label) = match e.kind() {
            ErrorKind::Locked => (EXIT_LOCKED, "LOCKED"),
            ErrorKind::Io => (EXIT_FAILURE, "I/O error"),
            ErrorKind::Corruption => (EXIT_FAILURE, "damaged data"),
            ErrorKind::InvalidArgument => (EXIT_FAILURE, "invalid"),
            ErrorKind::ReadOnly => (EXIT_FAILURE, "read-only"),
            ErrorKind::Busy => (EXIT_FAILURE, "busy"),
            ErrorKind::NotFound => (EXIT_NO, "not found"),
            ErrorKind::Internal | ErrorKind::BufferTooSmall => {
                (EXIT_FAILURE, "internal error (a bug in libbitcask)")
            }
        };
        let mut message = format!("{label}: {}", e.message());
        if e.kind() == ErrorKind::Locked {
            message.push_str(
                " (another process has the store open for writing; stop it first. \
                 get, keys, dump, stats and check work meanwhile)",
            );
        }
        CliError {
            code,
            message,
            usage: false,
        }
    }
}

/// stdout went away (`bitcask keys | head`): stop quietly with success, like `cat`.
impl From<io::Error> for CliError {
    fn from(e: io::Error) -> CliError {
        if e.kind() == io::ErrorKind::BrokenPipe {
            CliError {
                code: 0,
                message: String::new(),
                usage: false,
            }
        } else {
            CliError::failed(format!("writing to stdout: {e}"))
        }
    }
}

pub type CliResult = Result<(), CliError>;

/// How a command opens the store.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No lock; works beside a running writer.
    ReadOnly,
    /// Takes the write lock; fails if the directory does not exist.
    Write,
    /// Takes the write lock; creates the directory if needed.
    WriteCreate,
}

/// What is at `dir`, checked the same way by every command before it opens or reads
/// anything, so that a missing directory or a file in its place reads the same whichever
/// command met it. `None`: `dir` does not exist and the command may create it.
pub fn inspect(dir: &Path, creates: bool) -> Result<Option<StoreFiles>, CliError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => scan::list_store(dir).map(Some),
        Ok(_) => Err(CliError::failed(format!(
            "{} is not a directory",
            dir.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound && creates => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(CliError::failed(format!(
            "{} does not exist",
            dir.display()
        ))),
        Err(e) => Err(CliError::io("cannot access", dir, e)),
    }
}

/// At most this many foreign names are listed; a directory of user files can be large.
const FOREIGN_SHOWN: usize = 10;

/// The refusal for a directory holding files the engine did not write: every command
/// stops on it (the engine refuses to open such a store, and repair must not move them).
pub fn foreign_error(files: &StoreFiles) -> CliError {
    let f = &files.foreign;
    let mut names = f[..f.len().min(FOREIGN_SHOWN)].join(", ");
    if f.len() > FOREIGN_SHOWN {
        names.push_str(&format!(" and {} more", f.len() - FOREIGN_SHOWN));
    }
    let dir = files.dir.display();
    CliError::failed(if files.has_store_files() {
        format!(
            "{dir} holds files that are not part of a bitcask store: {names}; move them out of \
             it first (the store cannot be opened or repaired beside them); nothing was changed"
        )
    } else {
        format!(
            "{dir} is not a bitcask store: it holds no store files, only {names}; nothing was \
             changed"
        )
    })
}

pub fn open(dir: &Path, access: Access) -> Result<Db, CliError> {
    if let Some(files) = inspect(dir, access == Access::WriteCreate)? {
        if !files.foreign.is_empty() {
            return Err(foreign_error(&files));
        }
    }
    let opts = Options {
        read_only: access == Access::ReadOnly,
        create_if_missing: access == Access::WriteCreate,
        ..Options::default()
    };
    Ok(Db::open(dir, opts)?)
}

/// Opens the store read-only and warns on stderr if the open skipped damaged ranges.
pub fn open_read(dir: &Path) -> Result<Db, CliError> {
    let db = open(dir, Access::ReadOnly)?;
    let r = db.stats().recovery;
    if r.damaged_ranges > 0 {
        eprintln!(
            "bitcask: warning: {}: {} damaged range(s) ({} bytes) were skipped while reading \
             the store (a write in progress, or damage: run `bitcask check`)",
            dir.display(),
            r.damaged_ranges,
            r.damaged_bytes
        );
    }
    Ok(db)
}

/// Closes a store opened for writing, reporting a failed final sync.
pub fn close(db: Db) -> CliResult {
    db.close().map_err(CliError::from)
}

fn version_text() -> String {
    format!(
        "bitcask {} (libbitcask {})\n",
        env!("CARGO_PKG_VERSION"),
        bitcask::VERSION
    )
}

fn run(argv: &[OsString]) -> CliResult {
    let p = args::parse(argv, |name| help::find(name).map(|c| c.flags))?;
    let mut out = io::stdout().lock();
    if p.version {
        out.write_all(version_text().as_bytes())?;
        return Ok(());
    }
    let command = match p.command.as_deref() {
        None if p.help => {
            out.write_all(help::overview().as_bytes())?;
            return Ok(());
        }
        None => return Err(CliError::usage("no command given")),
        Some("help") => {
            let text = match p.args.first() {
                None => help::overview(),
                Some(name) => {
                    let name = name.to_string_lossy();
                    help::find(&name)
                        .ok_or_else(|| CliError::usage(format!("unknown command '{name}'")))?
                        .help
                        .to_string()
                }
            };
            out.write_all(text.as_bytes())?;
            return Ok(());
        }
        Some(c) => help::find(c).expect("the parser accepts only known commands"),
    };
    if p.help {
        out.write_all(command.help.as_bytes())?;
        return Ok(());
    }
    drop(out);
    let dir = match &p.dir {
        Some(d) => d.clone(),
        None => match std::env::var_os("BITCASK_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => {
                return Err(CliError::usage(format!(
                    "'{}' needs the store's directory: bitcask -d DIR {} ...",
                    command.name, command.name
                )))
            }
        },
    };
    match command.name {
        "get" => commands::get(&dir, &p),
        "put" => commands::put(&dir, &p),
        "delete" => commands::delete(&dir, &p),
        "keys" => commands::keys(&dir, &p),
        "dump" => commands::dump(&dir, &p),
        "load" => commands::load(&dir, &p),
        "stats" => commands::stats(&dir, &p),
        "check" => scan::check_command(&dir, &p),
        "repair" => repair::repair_command(&dir, &p),
        "merge" => compact::merge_command(&dir, &p),
        "backup" => backup::backup_command(&dir, &p),
        other => unreachable!("command {other} has no handler"),
    }
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    match run(&argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("bitcask: {}", e.message);
            }
            if e.usage {
                eprintln!("Try 'bitcask --help' (or 'bitcask COMMAND --help') for more.");
            }
            ExitCode::from(e.code)
        }
    }
}
