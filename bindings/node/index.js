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
// never block the event loop: a call that cannot block (a small get, a put that does not
// fsync) is answered on the calling thread (inline.js); the others run on a persistent
// worker thread (pool.js / worker.js), started when first needed.
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
const inline = require('./inline');
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

/**
 * Like open(), off the event loop: opening rebuilds the index and may take a while.
 *
 * Why on libuv's thread pool (koffi's `.async`) and not on the binding's worker: the open
 * itself is all that has to leave this thread, and a worker thread takes 50-100 ms to
 * start (a new V8 isolate, koffi and the library loaded again), which was most of
 * openAsync()'s time; the worker now starts only for the first call that needs it
 * (inline.js). The catch is a failed open, whose message stays on the pool thread: the
 * open is then made again on the worker, which reads its own failure's message. Opening
 * again after a failed open is what any caller may do, so the second attempt is safe; it
 * meets the same failure (or, if its cause went away meanwhile, succeeds, and that store
 * is returned).
 */
async function openAsync(dbPath, options) {
  const p = pathArg(dbPath);
  const { opts, libraryPath } = openOptions(options);
  const native = loadLibrary(libraryPath);
  const home = pool().assignHome();
  let h = await native.openOffThread(p, opts);
  if (typeof h !== 'bigint') h = await pool().run(home, native.path, 'open', [p, opts]);
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
    checkVersion, candidates, BUNDLED_LIBRARY, REPO_LIBRARY, SYSTEM_LIBRARIES, pool, inlinePolicy: inline.policy,
  },
};
