#!/usr/bin/env bash
# Creates (or reuses) a virtual environment, installs requirements-dev.txt and this package
# into it, built against an already-built libbitcask.a, and prints the environment's python.
#   usage: bindings/python/venv.sh [VENV_DIR] [LIB_DIR]
#   defaults: target/python-venv and target/release of the checkout (run cargo build first)
# (A plain `pip install ./bindings/python` needs none of this: it runs cargo itself.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${1:-$root/target/python-venv}
lib=${2:-$root/target/release}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements-dev.txt" >&2
# setuptools skips compiling the extension when its build directory looks up to date, and
# it does not count libbitcask.a among the inputs: a rebuilt library would not be linked in.
rm -rf "$here/build"
BITCASK_LIB_DIR=$lib "$venv/bin/python" -m pip install -q --disable-pip-version-check \
  --no-build-isolation --no-deps --force-reinstall "$here" >&2
echo "$venv/bin/python"
