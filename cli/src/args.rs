//! Command-line parsing, by hand: a handful of flags per subcommand does not need a
//! framework, and doing it here keeps exit codes and messages exactly as documented.
//!
//! Grammar: `bitcask [GLOBAL...] COMMAND [OPTION | ARG]... [-- ARG...]`. Global options
//! (`-d/--dir`, `-h/--help`, `-V/--version`) are accepted anywhere before `--`. Options take
//! their value as the next argument or after `=` (`--dir=x`, `-dx` for short ones). A lone
//! `-` is an argument (stdin). Everything after `--` is an argument, even if it starts with `-`.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::CliError;

/// An option a command accepts.
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    /// The value's name in help, or `None` for a switch.
    pub value: Option<&'static str>,
}

const GLOBAL: &[Flag] = &[
    Flag {
        long: "dir",
        short: Some('d'),
        value: Some("DIR"),
    },
    Flag {
        long: "help",
        short: Some('h'),
        value: None,
    },
    Flag {
        long: "version",
        short: Some('V'),
        value: None,
    },
];

/// What the command line says, before a command interprets its own options.
#[derive(Debug, Default)]
pub struct Parsed {
    pub dir: Option<PathBuf>,
    pub help: bool,
    pub version: bool,
    pub command: Option<String>,
    /// `(long name, value)` in order; switches have an empty value.
    pub options: Vec<(&'static str, OsString)>,
    pub args: Vec<OsString>,
}

impl Parsed {
    pub fn has(&self, long: &str) -> bool {
        self.options.iter().any(|(l, _)| *l == long)
    }

    /// The last value given for `long`.
    pub fn value(&self, long: &str) -> Option<&OsStr> {
        self.options
            .iter()
            .rev()
            .find(|(l, _)| *l == long)
            .map(|(_, v)| v.as_os_str())
    }

    /// The last value given for `long`, as UTF-8 text.
    pub fn text(&self, long: &str) -> Result<Option<&str>, CliError> {
        match self.value(long) {
            None => Ok(None),
            Some(v) => v
                .to_str()
                .map(Some)
                .ok_or_else(|| CliError::usage(format!("--{long}: the value is not valid UTF-8"))),
        }
    }
}

/// `flags_of(command)` gives the options of a command (`None` for an unknown command).
pub fn parse(
    argv: &[OsString],
    flags_of: impl Fn(&str) -> Option<&'static [Flag]>,
) -> Result<Parsed, CliError> {
    let mut p = Parsed::default();
    let mut local: &'static [Flag] = &[];
    let mut i = 0;
    let mut rest_are_args = false;
    while i < argv.len() {
        let arg = &argv[i];
        i += 1;
        let bytes = arg.as_bytes();
        if rest_are_args || bytes == b"-" || !bytes.starts_with(b"-") {
            if p.command.is_none() && !rest_are_args {
                let name = arg.to_str().ok_or_else(|| {
                    CliError::usage(format!("unknown command {:?}", arg.to_string_lossy()))
                })?;
                local = flags_of(name)
                    .ok_or_else(|| CliError::usage(format!("unknown command '{name}'")))?;
                p.command = Some(name.to_string());
            } else {
                p.args.push(arg.clone());
            }
            continue;
        }
        if bytes == b"--" {
            rest_are_args = true;
            continue;
        }
        // --long, --long=value, -s, -sVALUE
        let (flag, inline): (&Flag, Option<OsString>) =
            if let Some(body) = bytes.strip_prefix(b"--") {
                let (name, inline) = match body.iter().position(|&b| b == b'=') {
                    Some(eq) => (
                        &body[..eq],
                        Some(OsStr::from_bytes(&body[eq + 1..]).to_owned()),
                    ),
                    None => (body, None),
                };
                let found = GLOBAL
                    .iter()
                    .chain(local)
                    .find(|f| f.long.as_bytes() == name);
                let flag = found.ok_or_else(|| {
                    CliError::usage(unknown_option(&String::from_utf8_lossy(bytes), &p))
                })?;
                (flag, inline)
            } else {
                let c = bytes[1] as char;
                let found = GLOBAL.iter().chain(local).find(|f| f.short == Some(c));
                let flag = found.ok_or_else(|| {
                    CliError::usage(unknown_option(&String::from_utf8_lossy(&bytes[..2]), &p))
                })?;
                let inline = (bytes.len() > 2).then(|| OsStr::from_bytes(&bytes[2..]).to_owned());
                if inline.is_some() && flag.value.is_none() {
                    return Err(CliError::usage(format!(
                        "-{c} takes no value (in '{}')",
                        String::from_utf8_lossy(bytes)
                    )));
                }
                (flag, inline)
            };
        let value = match (flag.value, inline) {
            (None, None) => OsString::new(),
            (None, Some(_)) => {
                return Err(CliError::usage(format!("--{} takes no value", flag.long)))
            }
            (Some(_), Some(v)) => v,
            (Some(name), None) => match argv.get(i) {
                Some(v) => {
                    i += 1;
                    v.clone()
                }
                None => {
                    return Err(CliError::usage(format!(
                        "--{} needs a value ({name})",
                        flag.long
                    )))
                }
            },
        };
        match flag.long {
            "dir" => {
                if value.is_empty() {
                    return Err(CliError::usage("--dir needs a non-empty directory"));
                }
                p.dir = Some(PathBuf::from(value));
            }
            "help" => p.help = true,
            "version" => p.version = true,
            long => p.options.push((long, value)),
        }
    }
    Ok(p)
}

fn unknown_option(opt: &str, p: &Parsed) -> String {
    match &p.command {
        Some(cmd) => format!("unknown option '{opt}' for '{cmd}'"),
        None => format!("unknown option '{opt}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUT: &[Flag] = &[
        Flag {
            long: "ttl",
            short: None,
            value: Some("DURATION"),
        },
        Flag {
            long: "escaped",
            short: Some('e'),
            value: None,
        },
    ];

    fn run(args: &[&str]) -> Result<Parsed, CliError> {
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse(&argv, |c| (c == "put").then_some(PUT))
    }

    #[test]
    fn globals_anywhere_and_values() {
        let p = run(&["put", "-d", "x", "k", "--ttl=5s", "-e", "--", "-v"]).unwrap();
        assert_eq!(p.dir, Some(PathBuf::from("x")));
        assert_eq!(p.command.as_deref(), Some("put"));
        assert_eq!(p.args, vec![OsString::from("k"), OsString::from("-v")]);
        assert_eq!(p.text("ttl").unwrap(), Some("5s"));
        assert!(p.has("escaped"));
        let p = run(&["--dir=y", "put", "-", "-dz"]).unwrap();
        assert_eq!(p.dir, Some(PathBuf::from("z")));
        assert_eq!(p.args, vec![OsString::from("-")]);
    }

    #[test]
    fn errors() {
        assert!(run(&["nope"]).is_err());
        assert!(run(&["put", "--bad"]).is_err());
        assert!(run(&["--ttl", "1", "put"]).is_err()); // a command's option before the command
        assert!(run(&["put", "--ttl"]).is_err());
        assert!(run(&["put", "-ex"]).is_err());
        assert!(run(&["-d"]).is_err());
        assert!(run(&["put", "--escaped=1"]).is_err());
    }
}
