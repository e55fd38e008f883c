'use strict';

// Finding and loading libbitcask: where to look, and the version check.
//
// An explicit choice is the only place tried, so that a mistake in it is not hidden by a
// library found elsewhere:
//   1. the libraryPath option of open(), else $BITCASK_LIBRARY_PATH.
// Otherwise, in order:
//   2. a copy bundled in this package, lib/libbitcask.so (see README: how to bundle one);
//   3. when this package is bindings/node of a libbitcask checkout (also when installed
//      with `npm install <checkout>/bindings/node`, a symlink): its target/release build;
//   4. the dynamic loader's search (LD_LIBRARY_PATH, ld.so.cache, /lib, /usr/lib):
//      libbitcask.so.<major> (the runtime name `make install` creates), then libbitcask.so;
//   5. the libdir pkg-config reports for bitcask (`make install` writes bitcask.pc), for
//      a prefix the loader does not search (PKG_CONFIG_PATH=<prefix>/lib/pkgconfig).

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { loadNative } = require('./native');
const { fileArg } = require('./args');

/** The libbitcask version this binding was written for; the library's major must match. */
const BINDING_VERSION = '0.1.0';
const MAJOR = BINDING_VERSION.split('.')[0];

const BUNDLED_LIBRARY = path.join(__dirname, 'lib', 'libbitcask.so');
const CHECKOUT = path.resolve(__dirname, '..', '..');
const REPO_LIBRARY = path.join(CHECKOUT, 'target', 'release', 'libbitcask.so');
const SYSTEM_LIBRARIES = [`libbitcask.so.${MAJOR}`, 'libbitcask.so'];

function parseVersion(v) {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(String(v));
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : null;
}

/** Returns null when `libVersion` suits a binding written for `wanted`, else the reason. */
function checkVersion(libVersion, wanted = BINDING_VERSION) {
  const have = parseVersion(libVersion);
  const want = parseVersion(wanted);
  if (!have) return `it reports an unparsable version ${JSON.stringify(libVersion)}`;
  if (have.major !== want.major) {
    return `it is version ${libVersion}, but this binding was written for ${wanted} (major versions must match)`;
  }
  return null;
}

// A path with a slash is made absolute (the worker threads load the same file even if the
// working directory changes); a bare name is left to the dynamic loader's search.
function absolute(file) {
  return file.includes('/') ? path.resolve(file) : file;
}

/** Whether this package sits in a libbitcask checkout (as bindings/node). */
function inCheckout() {
  return fs.existsSync(path.join(CHECKOUT, 'Cargo.toml'))
    && fs.existsSync(path.join(CHECKOUT, 'include', 'bitcask.h'));
}

/** { file } from `pkg-config --variable=libdir bitcask`, or { problem }. */
function pkgConfigLibrary() {
  const r = spawnSync('pkg-config', ['--print-errors', '--variable=libdir', 'bitcask'], {
    encoding: 'utf8', timeout: 10000,
  });
  if (r.error) {
    return { problem: r.error.code === 'ENOENT' ? 'pkg-config is not installed' : r.error.message };
  }
  const libdir = r.stdout.trim();
  if (r.status !== 0 || libdir === '') {
    const why = r.stderr.trim().split('\n')[0] || `no libdir for bitcask (exit status ${r.status})`;
    return { problem: `${why.replace(/\.$/, '')} (is libbitcask installed? for a custom prefix, set PKG_CONFIG_PATH)` };
  }
  return { file: path.join(libdir, `libbitcask.so.${MAJOR}`) };
}

/**
 * The places to look, in order: { where, file } or, for pkg-config, { where, find } (run
 * only when reached). `absent`: a file whose absence is reported without loading it.
 */
function candidates(libraryPath) {
  if (libraryPath !== undefined) return [{ where: 'libraryPath option', file: absolute(libraryPath) }];
  const env = process.env.BITCASK_LIBRARY_PATH;
  if (env) return [{ where: 'BITCASK_LIBRARY_PATH', file: absolute(env) }];
  const list = [{ where: 'bundled in the package', file: BUNDLED_LIBRARY, absent: true }];
  if (inCheckout()) list.push({ where: 'build output of the checkout', file: REPO_LIBRARY, absent: true });
  for (const file of SYSTEM_LIBRARIES) list.push({ where: 'dynamic loader search path', file });
  list.push({ where: 'pkg-config --variable=libdir bitcask', find: pkgConfigLibrary });
  return list;
}

function notFound(libraryPath, tried) {
  const wanted = `libbitcask ${MAJOR}.x`;
  let message;
  if (libraryPath !== undefined || process.env.BITCASK_LIBRARY_PATH) {
    const what = libraryPath !== undefined ? 'the libraryPath option' : 'BITCASK_LIBRARY_PATH';
    message = `bitcask: could not load ${wanted} from ${what}:\n  ${tried.join('\n  ')}\n`
      + `Point ${what} at a libbitcask.so (version ${MAJOR}.x), or leave it unset to search `
      + 'the usual places (see the README of the bitcask package).';
  } else {
    const fixes = [];
    if (inCheckout()) fixes.push(`build it: \`cargo build --release\` in ${CHECKOUT}`);
    fixes.push(
      'install it: `make install` in a libbitcask checkout (then `sudo ldconfig`; for a prefix '
        + 'the loader does not search, set PKG_CONFIG_PATH=<prefix>/lib/pkgconfig)',
      'set BITCASK_LIBRARY_PATH=/path/to/libbitcask.so (or pass the libraryPath option to open())',
      `copy libbitcask.so to ${BUNDLED_LIBRARY}`,
    );
    message = `bitcask: could not find ${wanted}. Looked in:\n  - ${tried.join('\n  - ')}\n`
      + `To fix, do one of:\n  - ${fixes.join('\n  - ')}`;
  }
  const err = new Error(message);
  err.code = 'LIBRARY_NOT_FOUND';
  err.tried = tried;
  return err;
}

const libraries = new Map(); // lookup key -> Native

/**
 * Loads libbitcask (once per lookup) from the first of candidates() that loads and has
 * this binding's major version. Throws an Error (code 'LIBRARY_NOT_FOUND', property
 * `tried`: one line per place) saying what was tried and how to fix it.
 */
function loadLibrary(libraryPath) {
  if (libraryPath !== undefined) fileArg(libraryPath, 'libraryPath', 'a string');
  const cacheKey = libraryPath !== undefined
    ? `path:${libraryPath}`
    : `env:${process.env.BITCASK_LIBRARY_PATH || ''}`;
  const cached = libraries.get(cacheKey);
  if (cached) return cached;
  const tried = [];
  for (const c of candidates(libraryPath)) {
    let file = c.file;
    if (c.find) {
      const found = c.find();
      if (found.problem) {
        tried.push(`${c.where}: ${found.problem}`);
        continue;
      }
      file = found.file;
    }
    if (c.absent && !fs.existsSync(file)) {
      tried.push(`${file} (${c.where}): not present`);
      continue;
    }
    let native;
    try {
      native = loadNative(file);
    } catch (err) {
      tried.push(`${file} (${c.where}): ${err.message}`);
      continue;
    }
    const problem = checkVersion(native.version);
    if (problem) {
      tried.push(`${file} (${c.where}): ${problem}`);
      continue;
    }
    libraries.set(cacheKey, native);
    return native;
  }
  throw notFound(libraryPath, tried);
}

module.exports = {
  loadLibrary, checkVersion, candidates, BINDING_VERSION, BUNDLED_LIBRARY, REPO_LIBRARY, SYSTEM_LIBRARIES,
};
