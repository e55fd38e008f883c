//! The C ABI as C programs see it: compiles `tests/c/test_api.c` and `examples/c/demo.c`
//! against `include/bitcask.h` and the `libbitcask` shared library Cargo built for this
//! very test run, then runs both and requires them to succeed.
//!
//! Both programs are compiled with `-Wall -Wextra -Werror -std=c11`, so a header change
//! that breaks C callers (or just makes them warn) fails here too.
//!
//! It also checks that the committed header is the one the code generates.

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `target/<profile>`: this test binary is `target/<profile>/deps/c_api-<hash>`, and Cargo
/// puts the library it built for the same run next to `deps`.
fn profile_dir() -> PathBuf {
    let exe = env::current_exe().expect("path of the test executable");
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("{} is not in target/<profile>/deps", exe.display()))
        .to_path_buf()
}

/// The shared library built for this run; a clear failure if Cargo did not build it.
fn shared_library() -> PathBuf {
    let name = format!(
        "{}bitcask{}",
        env::consts::DLL_PREFIX,
        env::consts::DLL_SUFFIX
    );
    let lib = profile_dir().join(&name);
    assert!(
        lib.is_file(),
        "{} does not exist. These tests link C programs against the cdylib that Cargo \
         builds alongside the rlib for integration tests (crate-type in Cargo.toml must \
         include \"cdylib\"); run this test through `cargo test` so it is built first.",
        lib.display()
    );
    lib
}

/// The Rust target triple of this test binary, which is the one the library was built
/// for. Integration tests get no `TARGET` variable, so it is rebuilt from `cfg`.
fn target_triple() -> String {
    let arch = env::consts::ARCH;
    if cfg!(target_os = "linux") {
        let libc = if cfg!(target_env = "musl") {
            "musl"
        } else {
            "gnu"
        };
        format!("{arch}-unknown-linux-{libc}")
    } else if cfg!(target_os = "macos") {
        format!("{arch}-apple-darwin")
    } else if cfg!(target_os = "freebsd") {
        format!("{arch}-unknown-freebsd")
    } else {
        panic!("no C toolchain mapping for {}", env::consts::OS)
    }
}

/// A private directory for this run's build products, under Cargo's scratch space.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "c_api-{}-{}",
        std::process::id(),
        name
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// A directory holding `libbitcask.so.<major>` (the library's SONAME) as a link to the
/// library, in case the build only produced the unversioned file: the dynamic loader
/// looks programs' dependencies up by SONAME.
fn soname_dir(lib: &Path, scratch: &Path) -> PathBuf {
    let dir = scratch.join("lib");
    std::fs::create_dir_all(&dir).expect("create lib directory");
    #[cfg(unix)]
    if env::consts::DLL_SUFFIX == ".so" {
        let versioned = dir.join(format!("libbitcask.so.{}", env!("CARGO_PKG_VERSION_MAJOR")));
        let _ = std::fs::remove_file(&versioned);
        std::os::unix::fs::symlink(lib, &versioned).expect("link the SONAME");
    }
    dir
}

/// Compiles and links one C source file into an executable in `scratch`.
fn compile_c(source: &str, scratch: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = shared_library();
    let lib_dir = lib.parent().unwrap();
    let extra_lib_dir = soname_dir(&lib, scratch);
    let stem = Path::new(source).file_stem().unwrap().to_str().unwrap();
    let exe = scratch.join(stem);

    let triple = target_triple();
    let compiler = cc::Build::new()
        .target(&triple)
        .host(&triple)
        .opt_level(1)
        .debug(true)
        .out_dir(scratch)
        .cargo_metadata(false)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .std("c11")
        .include(root.join("include"))
        .get_compiler();
    let mut cmd = compiler.to_command();
    cmd.arg(root.join(source))
        .arg("-o")
        .arg(&exe)
        .arg("-pthread")
        .arg(format!("-L{}", lib_dir.display()))
        .arg("-lbitcask")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg(format!("-Wl,-rpath,{}", extra_lib_dir.display()));
    // Not `{cmd:?}`: that would print the whole environment cc copies into the command.
    let line: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    println!("{}", line.join(" "));
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running the C compiler {}: {e}", line[0]));
    assert!(
        out.status.success(),
        "compiling {source} failed ({}):\n{}\n{}",
        out.status,
        line.join(" "),
        show(&out)
    );
    exe
}

fn show(out: &Output) -> String {
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(exe: &Path, arg: impl AsRef<OsStr>) -> Output {
    let out = Command::new(exe)
        .arg(arg)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    // Shown by `cargo test -- --nocapture`, and on failure.
    println!(
        "{} exited with {}\n{}",
        exe.display(),
        out.status,
        show(&out)
    );
    out
}

#[test]
fn c_api_tests_pass() {
    let dir = scratch("test_api");
    let exe = compile_c("tests/c/test_api.c", &dir);
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let out = run(&exe, &data);
    assert!(
        out.status.success(),
        "tests/c/test_api.c failed ({}):\n{}",
        out.status,
        show(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("");
    let passed = last
        .strip_suffix(" passed, 0 failed")
        .and_then(|n| n.parse::<u64>().ok());
    assert!(
        matches!(passed, Some(n) if n > 0),
        "unexpected summary line {last:?}:\n{}",
        show(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn c_demo_runs() {
    let dir = scratch("demo");
    let exe = compile_c("examples/c/demo.c", &dir);
    let data = dir.join("demo-data");
    let out = run(&exe, &data);
    assert!(
        out.status.success(),
        "examples/c/demo.c failed ({}):\n{}",
        out.status,
        show(&out)
    );
    // A second run over the same directory exercises reopening a store.
    let again = run(&exe, &data);
    assert!(
        again.status.success(),
        "examples/c/demo.c failed on an existing store ({}):\n{}",
        again.status,
        show(&again)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The committed `include/bitcask.h` is the one build.rs generated from `src/ffi/` for this
/// very build: a change to the C API must come with its regenerated header, reviewed and
/// committed. (scripts/test.sh checks the same right after its build; this makes a plain
/// `cargo test` check it too.) Compares with the index, so `git add` of the regenerated
/// header is enough while a change is being prepared. Outside a git checkout (a source
/// tarball) there is nothing to compare with, and the test says so and passes.
#[test]
fn header_is_committed_as_generated() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated = std::fs::read(root.join("include/bitcask.h")).expect("read include/bitcask.h");
    let git = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["show", ":include/bitcask.h"])
        .output();
    let committed = match git {
        Ok(out) if out.status.success() => out.stdout,
        Ok(out) => {
            println!(
                "skipped: no committed include/bitcask.h to compare with ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return;
        }
        Err(e) => {
            println!("skipped: git is not available ({e})");
            return;
        }
    };
    assert!(
        generated == committed,
        "include/bitcask.h, as build.rs just regenerated it from src/ffi/, differs from the \
         committed one. Review `git diff include/bitcask.h` (declarations may be added or \
         reordered, never removed or changed) and commit it with the code."
    );
}

/// The C ABI may only gain: every declaration of `tests/c/abi.txt` (a function's prototype,
/// a constant's value, a struct's name and each of its fields at its position) must still
/// be in `include/bitcask.h`, word for word. New declarations are fine and are listed, so
/// they can be added to the baseline once released; `bc_stats` may gain fields at its end.
/// Only a new major version (a new SONAME) may remove or change a line of the baseline.
#[test]
fn header_keeps_every_declaration_of_the_abi_baseline() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(root.join("include/bitcask.h")).expect("read header");
    let baseline = std::fs::read_to_string(root.join("tests/c/abi.txt")).expect("read baseline");
    let now = abi_lines(&header);
    let before: Vec<&str> = baseline
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect();
    let missing: Vec<&str> = before
        .iter()
        .copied()
        .filter(|l| !now.iter().any(|n| n == l))
        .collect();
    let added: Vec<&String> = now
        .iter()
        .filter(|n| !before.contains(&n.as_str()))
        .collect();
    if !added.is_empty() {
        println!("declarations not yet in tests/c/abi.txt:\n{added:#?}");
    }
    assert!(
        missing.is_empty(),
        "include/bitcask.h lost or changed these declarations of tests/c/abi.txt; the C ABI \
         may only gain:\n{missing:#?}"
    );
}

/// The header's declarations, one normalized line each: `#define` constants (not the
/// version or the include guard), typedefs of opaque and of public structs, each public
/// struct field as `struct NAME.INDEX FIELD;`, and function prototypes; comments dropped,
/// blanks collapsed.
fn abi_lines(header: &str) -> Vec<String> {
    let mut code = String::new();
    let mut rest = header;
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("unterminated comment") + start + 2;
        rest = &rest[end..];
    }
    code.push_str(rest);
    let mut lines = Vec::new();
    let mut body = String::new();
    for line in code.lines().map(|l| l.split("//").next().unwrap().trim()) {
        if let Some(define) = line.strip_prefix("#define ") {
            if !define.starts_with("BC_VERSION_") && !define.starts_with("BITCASK_H") {
                lines.push(format!("#define {}", collapse(define)));
            }
        } else if !line.starts_with('#') && line != "extern \"C\" {" && line != "}" {
            body.push_str(line);
            body.push('\n');
        }
    }
    for decl in top_level_declarations(&body) {
        match (decl.find('{'), decl.rfind('}')) {
            (Some(open), Some(close)) => {
                // typedef struct NAME { FIELDS } ALIAS;
                let name = decl[..open].trim().trim_start_matches("typedef ");
                let alias = decl[close + 1..].trim_end_matches(';').trim();
                lines.push(format!("typedef {name} {alias};"));
                let fields = decl[open + 1..close].split(';').map(collapse);
                for (i, field) in fields.filter(|f| !f.is_empty()).enumerate() {
                    lines.push(format!("{name}.{i} {field};"));
                }
            }
            _ => lines.push(decl),
        }
    }
    lines
}

/// Splits C declarations at the semicolons outside braces, blanks collapsed.
fn top_level_declarations(body: &str) -> Vec<String> {
    let (mut decls, mut current, mut depth) = (Vec::new(), String::new(), 0);
    for c in body.chars() {
        current.push(c);
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ';' if depth == 0 => decls.push(collapse(&std::mem::take(&mut current))),
            _ => {}
        }
    }
    assert!(
        collapse(&current).is_empty(),
        "header ends inside a declaration"
    );
    decls
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
