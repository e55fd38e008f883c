//! Generates `include/bitcask.h` from `src/ffi/` with cbindgen and gives the shared
//! library its SONAME. The header is committed; CI fails if a build changes it.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let patch = env::var("CARGO_PKG_VERSION_PATCH").unwrap();
    let version = env::var("CARGO_PKG_VERSION").unwrap();

    // Only src/ffi/ (mod.rs and the modules it declares) is parsed, so engine constants
    // never leak into the C namespace.
    // The SONAME carries the major version: an ABI break bumps it.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libbitcask.so.{major}");
    // A directory: Cargo reruns this script when any file under it changes.
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");

    link_soname(&major);

    let mut config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    config.after_includes = Some(format!(
        "\n/** Version of the header: compare with bc_version() at run time. */\n\
         #define BC_VERSION_MAJOR {major}\n\
         #define BC_VERSION_MINOR {minor}\n\
         #define BC_VERSION_PATCH {patch}\n\
         #define BC_VERSION_STRING \"{version}\"\n"
    ));
    let bindings = cbindgen::Builder::new()
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen failed");
    bindings.write_to_file(crate_dir.join("include/bitcask.h"));
}

/// Puts `libbitcask.so.<major>` (the SONAME) beside the `libbitcask.so` cargo writes, so a
/// program linked in-tree with `-lbitcask -Wl,-rpath,target/<profile>` finds the library at
/// run time, as it would after `make install` and ldconfig.
fn link_soname(major: &str) {
    let Some(out) = env::var_os("OUT_DIR") else {
        return;
    };
    // OUT_DIR is target/[<triple>/]<profile>/build/bitcask-<hash>/out.
    let Some(profile_dir) = PathBuf::from(out).ancestors().nth(3).map(PathBuf::from) else {
        return;
    };
    let link = profile_dir.join(format!("libbitcask.so.{major}"));
    if std::fs::symlink_metadata(&link).is_err() {
        let _ = std::os::unix::fs::symlink("libbitcask.so", &link);
    }
}
