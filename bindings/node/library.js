'use strict';

// Finding and loading libbitcask: where to look, and the version check.

const path = require('path');
const { loadNative } = require('./native');
const { fileArg } = require('./args');

/** The libbitcask version this binding was written for; the library's major must match. */
const BINDING_VERSION = '0.1.0';

const REPO_LIBRARY = path.resolve(__dirname, '..', '..', 'target', 'release', 'libbitcask.so');
const SYSTEM_LIBRARIES = ['libbitcask.so', 'libbitcask.so.0'];

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
// working directory changes); a bare name is left to the dynamic linker's search.
function absolute(file) {
  return file.includes('/') ? path.resolve(file) : file;
}

function candidates(libraryPath) {
  if (libraryPath !== undefined) return [{ where: 'libraryPath option', file: absolute(libraryPath) }];
  const env = process.env.BITCASK_LIBRARY_PATH;
  if (env) return [{ where: 'BITCASK_LIBRARY_PATH', file: absolute(env) }];
  return [
    { where: 'repository build output', file: REPO_LIBRARY },
    ...SYSTEM_LIBRARIES.map((file) => ({ where: 'system library search path', file })),
  ];
}

const libraries = new Map(); // lookup key -> Native

/**
 * Loads libbitcask (once per lookup) and checks its version: the explicit path when given,
 * else $BITCASK_LIBRARY_PATH, else the repository's target/release/libbitcask.so, else the
 * system's libbitcask.so / libbitcask.so.0. Throws an Error (code 'LIBRARY_NOT_FOUND',
 * property `tried`) naming every place tried when none loads.
 */
function loadLibrary(libraryPath) {
  if (libraryPath !== undefined) fileArg(libraryPath, 'libraryPath', 'a string');
  const cacheKey = libraryPath !== undefined
    ? `path:${libraryPath}`
    : `env:${process.env.BITCASK_LIBRARY_PATH || ''}`;
  const cached = libraries.get(cacheKey);
  if (cached) return cached;
  const tried = [];
  for (const { where, file } of candidates(libraryPath)) {
    let native;
    try {
      native = loadNative(file);
    } catch (err) {
      tried.push(`${file} (${where}): ${err.message}`);
      continue;
    }
    const problem = checkVersion(native.version);
    if (problem) {
      tried.push(`${file} (${where}): ${problem}`);
      continue;
    }
    libraries.set(cacheKey, native);
    return native;
  }
  const err = new Error(`bitcask: could not load libbitcask. Tried:\n  ${tried.join('\n  ')}\n`
    + 'Build it with `cargo build --release`, or set BITCASK_LIBRARY_PATH or the libraryPath option.');
  err.code = 'LIBRARY_NOT_FOUND';
  err.tried = tried;
  throw err;
}

module.exports = { loadLibrary, checkVersion, candidates, BINDING_VERSION, REPO_LIBRARY, SYSTEM_LIBRARIES };
