//! The commands, their options and their help texts.

use crate::args::Flag;

pub struct Command {
    pub name: &'static str,
    pub flags: &'static [Flag],
    /// One line for the overview.
    pub summary: &'static str,
    /// The full `bitcask COMMAND --help` text.
    pub help: &'static str,
}

const ESCAPED: Flag = Flag {
    long: "escaped",
    short: Some('e'),
    value: None,
};

const FORMAT: Flag = Flag {
    long: "format",
    short: Some('f'),
    value: Some("text|json"),
};

pub const COMMANDS: &[Command] = &[
    Command {
        name: "get",
        flags: &[ESCAPED],
        summary: "get KEY               print KEY's value on stdout, byte for byte",
        help: "\
Usage: bitcask -d DIR get [-e] KEY

Writes KEY's value to stdout exactly as stored (no newline is added).
Opens the store read-only: works while another process writes it.

Options:
  -e, --escaped   KEY is written with C-style escapes (\\n, \\t, \\\\, \\xHH), as
                  `keys` and `dump` print keys

Damage is met at two times. A record already damaged when the store is opened
is skipped by the open (and counted): its key reads as its previous version, or
as not found, and get then says how many damaged ranges the open skipped. A
record damaged after the open is caught by the read's CRC check: an error, never
wrong data. `bitcask check` lists every damaged range.

Exit status: 0 found; 1 no live value (missing, deleted or expired: the message
goes to stderr); 2 usage error or failure (I/O error, damaged record).
",
    },
    Command {
        name: "put",
        flags: &[
            ESCAPED,
            Flag {
                long: "ttl",
                short: Some('t'),
                value: Some("DURATION"),
            },
        ],
        summary: "put KEY [VALUE | -]   store a value (read from stdin with - or no VALUE)",
        help: "\
Usage: bitcask -d DIR put [-e] [--ttl DURATION] KEY [VALUE | -]

Stores VALUE under KEY. Without VALUE, or with -, the value is all of stdin (any
bytes). A value that starts with '-' goes after --: put KEY -- -1.
Creates DIR if it does not exist. Takes the store's write lock; the write is
synced to disk before the command exits.

Options:
  -e, --escaped         KEY and VALUE are written with C-style escapes
                        (\\n, \\t, \\\\, \\xHH); a value from stdin is taken raw
  -t, --ttl DURATION    the key expires DURATION from now: a number with an
                        optional unit ms, s, m, h or d (default s): 90, 1500ms, 2h

Exit status: 0 stored; 2 usage error or failure; 3 the store is locked by
another writer.
",
    },
    Command {
        name: "delete",
        flags: &[ESCAPED],
        summary: "delete KEY            delete a key",
        help: "\
Usage: bitcask -d DIR delete [-e] KEY

Deletes KEY (writes a delete marker). Takes the store's write lock; the delete
is synced to disk before the command exits.

Options:
  -e, --escaped   KEY is written with C-style escapes (\\n, \\t, \\\\, \\xHH)

Exit status: 0 deleted; 1 KEY had no live value (nothing was written); 2 usage
error or failure; 3 the store is locked by another writer.
",
    },
    Command {
        name: "keys",
        flags: &[
            ESCAPED,
            Flag {
                long: "prefix",
                short: Some('p'),
                value: Some("P"),
            },
            Flag {
                long: "null",
                short: Some('0'),
                value: None,
            },
        ],
        summary: "keys [--prefix P]     list the live keys, sorted, one per line",
        help: "\
Usage: bitcask -d DIR keys [--prefix P] [-e] [-0]

Lists the live keys in byte order, one per line, with C-style escapes: printable
ASCII stands for itself, and \\\\, \\t, \\n, \\r and \\xHH (any other byte) are
escaped, so every key is one line of ASCII. `get -e` accepts these lines back.
Opens the store read-only.

Options:
  -p, --prefix P   only keys that start with P (raw bytes; escaped with -e)
  -e, --escaped    P is written with C-style escapes
  -0, --null       print each key raw (unescaped), followed by a NUL byte,
                   for xargs -0

Exit status: 0 listed (even if none); 2 usage error or failure.
",
    },
    Command {
        name: "dump",
        flags: &[
            FORMAT,
            Flag {
                long: "base64",
                short: None,
                value: None,
            },
        ],
        summary: "dump [--format F]     write every live key and value to stdout",
        help: "\
Usage: bitcask -d DIR dump [--format text|json] [--base64]

Writes every live key with its value to stdout, in key order. `load` reads the
output back; any bytes survive the round trip. Opens the store read-only.

Formats:
  text (default)  one line per key: KEY<TAB>VALUE<NEWLINE>, both with C-style
                  escapes (printable ASCII as is; \\\\ \\t \\n \\r and \\xHH for
                  any other byte), so lines never contain a raw tab or newline
  json            JSON lines, one object per key: {\"key\":\"...\",\"value\":\"...\"}.
                  A key or value that is valid UTF-8 is a JSON string; any other
                  is base64 (RFC 4648, padded) in \"key_base64\" / \"value_base64\".
                  A key with a TTL also has \"expires_at\": its expiry time in unix
                  milliseconds, which `load` restores

Options:
  -f, --format F   text or json
      --base64     json: write every key and value as base64

Expiry times are kept by the json format only: in the text format a key with a
TTL is dumped with its value while it is live, and loaded without a TTL.

Exit status: 0 dumped; 2 usage error or failure. A value that cannot be read
(a damaged record) is reported on stderr with its key and left out; the rest is
dumped and the exit status is 2.
",
    },
    Command {
        name: "load",
        flags: &[FORMAT],
        summary: "load [--format F]     store the keys and values of a dump read from stdin",
        help: "\
Usage: bitcask -d DIR load [--format text|json] < DUMP

Reads a dump (see `bitcask dump --help`) from stdin and stores every key and
value, in batches of atomic writes. Later lines win over earlier lines with the
same key. Creates DIR if it does not exist. Takes the store's write lock; the
writes are synced to disk before the command exits.

Formats:
  text (default)  KEY<TAB>VALUE lines with C-style escapes; empty lines are
                  skipped
  json            one JSON object per line with \"key\" or \"key_base64\" and
                  \"value\" or \"value_base64\", and optionally \"expires_at\"
                  (unix time in milliseconds; 0 or null = never; keys already
                  expired are skipped); other members are ignored

A malformed line stops the load with its line number; the lines before it have
been stored.

Exit status: 0 loaded; 2 usage error, malformed input or failure; 3 the store is
locked by another writer.
",
    },
    Command {
        name: "stats",
        flags: &[Flag {
            long: "json",
            short: Some('j'),
            value: None,
        }],
        summary: "stats [--json]        keys, files, live/dead bytes, fragmentation, memory",
        help: "\
Usage: bitcask -d DIR stats [--json]

Shows the number of live keys, the data files with their total and dead bytes
and fragmentation (dead / total), the memory the index (keydir) takes, what
opening the store found (damaged ranges, dropped incomplete batches, damaged
hint files), and whether a merge is due under the default merge triggers (a
sealed file at least 60% dead, or holding at least 512 MiB of dead bytes).
Opens the store read-only.

Options:
  -j, --json   one JSON object, with the fields of bc_stats_json() plus \"dir\"

Exit status: 0; 2 usage error or failure.
",
    },
    Command {
        name: "check",
        flags: &[Flag {
            long: "quiet",
            short: Some('q'),
            value: None,
        }],
        summary: "check                 verify every record and hint file; report damage",
        help: "\
Usage: bitcask -d DIR check [--quiet]

Reads every data file and hint file directly, read-only (the store is not
opened, no lock is taken, nothing is written), and verifies every record's CRC
and every hint file against its data file. Each damaged range is reported with
its file name, offset and length, and what is wrong there. Safe to run while
another process writes the store (a write in progress may then show up as
damage at the end of the newest file).

A directory holding files that are not part of a store is refused: if it holds
no store files at all it is not checked (it is not a store, not a damaged one);
otherwise the store's own files are checked and the others are named, to be
moved out before the store can be opened or repaired.

Options:
  -q, --quiet   print only problems and the final line

Exit status: 0 no damage; 1 damage found (see `bitcask repair --help`);
2 usage error, a file or the directory could not be read, or the directory
holds files that are not part of a store.
",
    },
    Command {
        name: "repair",
        flags: &[Flag {
            long: "force",
            short: None,
            value: None,
        }],
        summary: "repair                rewrite a damaged store, keeping every intact record",
        help: "\
Usage: bitcask -d DIR repair [--force]

Rebuilds a damaged store. Takes the store's write lock for the whole repair,
then reads every data file (never writing to them) and, for each key, keeps the
intact version with the highest sequence number: the key is dropped if that
version is a delete or has expired, otherwise its value and expiry time are
copied into a new store in a sibling directory DIR.repairing-<time>. Records of
a batch that was cut short by damage are ignored, as opening the store does.
Only when the copy is complete, synced and verified is it swapped in (atomically
where the file system supports it); the original becomes DIR.damaged-<time>.

What damage destroyed cannot come back: if the newest version of a key was
damaged, its previous intact version is kept; if a delete was damaged, the
deleted value comes back.

Repair never moves or deletes a file it did not write: a directory holding any
file or folder that is not part of a store is refused, with their names, and
left as it was. An empty directory has nothing to repair and is left as it was.

Options:
  --force   rewrite the store even if `check` finds nothing wrong

Exit status: 0 repaired (or nothing to repair); 2 usage error, a directory
holding files that are not part of a store, or failure (the original store is
untouched; a partial copy is removed); 3 the store is locked by another writer.
",
    },
    Command {
        name: "merge",
        flags: &[],
        summary: "merge                 compact the store; print the space reclaimed",
        help: "\
Usage: bitcask -d DIR merge

Compacts the store: rewrites the live records of every data file into new files
(with hint files) and deletes the old ones, dropping overwritten values, deleted
keys and expired records. On a terminal, stderr shows the engine's progress:
input read (percent, bytes, records), records written, rate and time left. A
summary is always printed on stdout:
data files and bytes before and after, space reclaimed, records written, time.
Takes the store's write lock.

Exit status: 0 merged; 2 failure (nothing is lost; see the message); 3 the store
is locked by another writer.
",
    },
    crate::backup::COMMAND,
    Command {
        name: "help",
        flags: &[],
        summary: "help [COMMAND]        show help for a command",
        help: "\
Usage: bitcask help [COMMAND]

Shows the overview, or COMMAND's help (the same as `bitcask COMMAND --help`).
",
    },
];

pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}

pub fn overview() -> String {
    let mut s = String::from(
        "\
bitcask: look inside, check, repair and compact a libbitcask store

Usage: bitcask -d DIR COMMAND [OPTIONS] [ARGS]
       bitcask COMMAND --help

Commands:
",
    );
    for c in COMMANDS {
        s.push_str("  ");
        s.push_str(c.summary);
        s.push('\n');
    }
    s.push_str(
        "
Global options (anywhere before --):
  -d, --dir DIR   the store's directory (default: $BITCASK_DIR)
  -h, --help      this help, or a command's help after the command
  -V, --version   the tool's and the library's versions

Keys and values given as arguments are taken byte for byte; with -e they are
read with C-style escapes (\\n, \\t, \\\\, \\xHH), the form `keys` and `dump` print.
get, keys, dump, stats and backup open the store read-only and work while another
process writes it; put, delete, load, merge and repair take its write lock;
check reads the files directly and takes no lock.

Exit status:
  0  success (check: no damage found)
  1  a negative answer: get or delete of a key with no live value; check found
     damage
  2  usage error, or the command failed (I/O error, damaged data, not a store);
     the message names the file and the problem
  3  the store is locked by another writer (put, delete, load, merge, repair)
",
    );
    s
}
