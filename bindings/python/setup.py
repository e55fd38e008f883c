"""Builds the bitcask package: cargo builds libbitcask, cffi compiles bitcask._native
(API mode) against include/bitcask.h and links libbitcask.a into it statically.

`pip install ./bindings/python` runs `cargo build --release --locked` on the repository's
crate first (the package must be built from a checkout: it needs ../../Cargo.toml and
../../include). With BITCASK_LIB_DIR set to a directory holding libbitcask.a, cargo is
not run and that library is linked (scripts/test.sh passes its own target/release).
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


class BuildWithCargo(build_ext):
    def run(self):
        if not os.environ.get("BITCASK_LIB_DIR"):
            manifest = REPO / "Cargo.toml"
            if not manifest.is_file():
                raise SystemExit(
                    f"bitcask: {manifest} not found; build the package from a libbitcask "
                    "checkout (pip install ./bindings/python) or set BITCASK_LIB_DIR to a "
                    "directory holding libbitcask.a"
                )
            if shutil.which("cargo") is None:
                raise SystemExit("bitcask: building libbitcask needs Rust's cargo on PATH")
            subprocess.run(
                ["cargo", "build", "--release", "--locked", "--manifest-path", str(manifest)],
                check=True,
            )
        lib = Path(os.environ.get("BITCASK_LIB_DIR") or REPO / "target" / "release")
        if not (lib / "libbitcask.a").is_file():
            raise SystemExit(f"bitcask: {lib / 'libbitcask.a'} not found")
        super().run()


setup(
    cffi_modules=["bitcask_ffi_build.py:ffibuilder"],
    cmdclass={"build_ext": BuildWithCargo},
)
