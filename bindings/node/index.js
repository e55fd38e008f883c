'use strict';

// Node.js binding for libbitcask (see include/bitcask.h), over koffi 3.
//
//   const bitcask = require('bitcask');
//   const db = bitcask.open('/tmp/data', { sync: 'always' });
//   db.put('k', 'v', { ttlMs: 60_000 });
//   db.get('k');          // <Buffer 76> or undefined
//   db.close();
//
// Synchronous methods call the library on the calling (main) thread. The *Async methods
// run the call on a persistent worker thread (pool.js / worker.js) and never block the
// event loop.
//
// Modules (README: Source layout): library.js finds and loads libbitcask, prototypes.js
// lists its functions and native.js calls them, limits.js says what the library accepts
// and args.js checks arguments against it, db.js (stores), batch.js and reading.js
// (iterators, value streams) are the API, pool.js and worker.js run the async calls,
// handles.js frees what is garbage-collected unclosed, errors.js has the errors.

const { Status, BitcaskError } = require('./errors');
const { pathArg, openOptions } = require('./args');
const { MAX_KEY_LEN, MAX_VALUE_LEN } = require('./limits');
const {
  loadLibrary, checkVersion, candidates, BINDING_VERSION, BUNDLED_LIBRARY, REPO_LIBRARY, SYSTEM_LIBRARIES,
} = require('./library');
const { Bitcask } = require('./db');
const { Batch } = require('./batch');
require('./cond'); // Bitcask.prototype.getVersioned / version
const { pool } = require('./pool');
const { kInternal } = require('./symbols');

/**
 * Opens (creating if allowed) the store in directory `dbPath`. options: { maxFileSize,
 * sync: 'none' | 'always' | 'interval', syncIntervalMs, readOnly, createIfMissing,
 * autoMerge, fragMergeTrigger, deadBytesMergeTrigger, fragThreshold, deadBytesThreshold,
 * smallFileThreshold, mergeWindow: [startHour, endHour], mergeCheckIntervalMs,
 * libraryPath }. Throws BitcaskError ('LOCKED', 'IO', 'INVALID_ARGUMENT', ...).
 */
function open(dbPath, options) {
  const p = pathArg(dbPath);
  const { opts, libraryPath } = openOptions(options);
  const native = loadLibrary(libraryPath);
  const h = native.open(p, opts);
  return new Bitcask(kInternal, native, h, p, opts);
}

/** Like open(), on a worker thread: opening rebuilds the index and may take a while. */
async function openAsync(dbPath, options) {
  const p = pathArg(dbPath);
  const { opts, libraryPath } = openOptions(options);
  const native = loadLibrary(libraryPath);
  const home = pool().assignHome();
  const h = await pool().run(home, native.path, 'open', [p, opts]);
  return new Bitcask(kInternal, native, h, p, opts, home);
}

/** The version string of the libbitcask that open() would use (loading it if needed). */
function libraryVersion(libraryPath) {
  return loadLibrary(libraryPath).version;
}

module.exports = {
  open,
  openAsync,
  loadLibrary: (libraryPath) => {
    const n = loadLibrary(libraryPath);
    return { path: n.path, version: n.version };
  },
  libraryVersion,
  Bitcask,
  Batch,
  BitcaskError,
  Status,
  BINDING_VERSION,
  MAX_KEY_LEN,
  MAX_VALUE_LEN,
  // For tests; not part of the API.
  _internal: {
    checkVersion, candidates, BUNDLED_LIBRARY, REPO_LIBRARY, SYSTEM_LIBRARIES, pool,
  },
};
