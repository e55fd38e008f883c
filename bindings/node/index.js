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

const path = require('path');
const { fileURLToPath } = require('url');
const { Readable } = require('stream');
const { Status, BitcaskError, closedError } = require('./errors');
const { loadNative } = require('./native');
const { pool } = require('./pool');

/** The libbitcask version this binding was written for; the library's major must match. */
const BINDING_VERSION = '0.1.0';

const MAX_KEY_LEN = 65536;
const MAX_VALUE_LEN = 536870912;

const REPO_LIBRARY = path.resolve(__dirname, '..', '..', 'target', 'release', 'libbitcask.so');
const SYSTEM_LIBRARIES = ['libbitcask.so', 'libbitcask.so.0'];

// ---------------------------------------------------------------------------------------
// Library lookup

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
  if (libraryPath !== undefined && typeof libraryPath !== 'string') {
    throw new TypeError(`libraryPath must be a string (got ${describe(libraryPath)})`);
  }
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

// ---------------------------------------------------------------------------------------
// Argument checking and conversion

function describe(x) {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return `an instance of ${(x.constructor && x.constructor.name) || 'Object'}`;
  if (typeof x === 'string') return 'a string';
  return `type ${typeof x} (${String(x)})`;
}

// Strings are encoded into per-thread scratch buffers when they surely fit (3 UTF-8 bytes
// per UTF-16 unit at most), to spare an allocation per call. `encLen` receives the length.
const keyScratch = Buffer.allocUnsafeSlow(4 * 1024);
const valueScratch = Buffer.allocUnsafeSlow(64 * 1024);
let encLen = 0;

function bytesArg(x, name, scratch) {
  if (typeof x === 'string') {
    if (x.length * 3 <= scratch.length) {
      encLen = scratch.write(x);
      return scratch;
    }
    const b = Buffer.from(x, 'utf8');
    encLen = b.length;
    return b;
  }
  if (x instanceof Uint8Array) {
    encLen = x.byteLength;
    return x;
  }
  throw new TypeError(`${name} must be a Buffer, Uint8Array or string (got ${describe(x)})`);
}

/** A copy with an ArrayBuffer of its own, to transfer to a worker thread. */
function ownedBytes(x, name) {
  if (typeof x === 'string') return new TextEncoder().encode(x);
  if (x instanceof Uint8Array) return new Uint8Array(x);
  throw new TypeError(`${name} must be a Buffer, Uint8Array or string (got ${describe(x)})`);
}

function uint(x, name, max) {
  if (typeof x === 'bigint') {
    if (x < 0n || x > BigInt(max)) throw new RangeError(`${name} must be between 0 and ${max} (got ${x})`);
    return x;
  }
  if (typeof x !== 'number') throw new TypeError(`${name} must be a number (got ${describe(x)})`);
  if (!Number.isInteger(x) || x < 0 || x > max) {
    throw new RangeError(`${name} must be an integer between 0 and ${max} (got ${x})`);
  }
  return x;
}
const U64_MAX = 0xffffffffffffffffn;
const U32_MAX = 0xffffffff;

function bool(x, name) {
  if (typeof x !== 'boolean') throw new TypeError(`${name} must be a boolean (got ${describe(x)})`);
  return x;
}

function checkKeys(obj, known, what) {
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) throw new TypeError(`unknown ${what} option '${key}'`);
  }
}

function optionsObject(options, what) {
  if (options === undefined || options === null) return null;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${what} options must be an object (got ${describe(options)})`);
  }
  return options;
}

const PUT_OPTIONS = new Set(['ttlMs', 'expiresAt']);

/** Returns [ttlMs, expiresAtMs] (each possibly undefined). */
function putOptions(options) {
  const o = optionsObject(options, 'put');
  if (!o) return [undefined, undefined];
  checkKeys(o, PUT_OPTIONS, 'put');
  const ttl = o.ttlMs === undefined ? undefined : uint(o.ttlMs, 'ttlMs', U64_MAX);
  let at;
  if (o.expiresAt !== undefined) {
    if (ttl !== undefined) throw new TypeError('ttlMs and expiresAt cannot both be given');
    const ms = o.expiresAt instanceof Date ? o.expiresAt.getTime() : o.expiresAt;
    at = uint(ms, 'expiresAt', U64_MAX);
  }
  return [ttl, at];
}

const SYNC_MODES = { none: 0, always: 1, interval: 2 };
// Merge options: JS name -> [options setter (native.js), argument checker].
const MERGE_OPTIONS = {
  autoMerge: ['options_set_auto_merge', (v, n) => [bool(v, n)]],
  fragMergeTrigger: ['options_set_frag_merge_trigger', (v, n) => [uint(v, n, U32_MAX)]],
  deadBytesMergeTrigger: ['options_set_dead_bytes_merge_trigger', (v, n) => [uint(v, n, U64_MAX)]],
  fragThreshold: ['options_set_frag_threshold', (v, n) => [uint(v, n, U32_MAX)]],
  deadBytesThreshold: ['options_set_dead_bytes_threshold', (v, n) => [uint(v, n, U64_MAX)]],
  smallFileThreshold: ['options_set_small_file_threshold', (v, n) => [uint(v, n, U64_MAX)]],
  mergeWindow: ['options_set_merge_window', (v, n) => {
    if (!Array.isArray(v) || v.length !== 2) {
      throw new TypeError(`${n} must be [startHour, endHour] (got ${describe(v)})`);
    }
    return [uint(v[0], `${n}[0]`, U32_MAX), uint(v[1], `${n}[1]`, U32_MAX)];
  }],
  mergeCheckIntervalMs: ['options_set_merge_check_interval_ms', (v, n) => [uint(v, n, U32_MAX)]],
};
const OPEN_OPTIONS = new Set([
  'maxFileSize', 'sync', 'syncIntervalMs', 'readOnly', 'createIfMissing', 'libraryPath',
  ...Object.keys(MERGE_OPTIONS),
]);

/** Validates open() options; returns { opts (structured-cloneable), libraryPath }. */
function openOptions(options) {
  const o = optionsObject(options, 'open');
  const opts = {};
  if (!o) return { opts, libraryPath: undefined };
  checkKeys(o, OPEN_OPTIONS, 'open');
  if (o.maxFileSize !== undefined) opts.maxFileSize = uint(o.maxFileSize, 'maxFileSize', U64_MAX);
  if (o.sync !== undefined) {
    if (typeof o.sync !== 'string' || !Object.hasOwn(SYNC_MODES, o.sync)) {
      throw new TypeError(`sync must be 'none', 'always' or 'interval' (got ${describe(o.sync)})`);
    }
    opts.sync = SYNC_MODES[o.sync];
  }
  if (o.syncIntervalMs !== undefined) opts.syncIntervalMs = uint(o.syncIntervalMs, 'syncIntervalMs', U32_MAX);
  if (o.readOnly !== undefined) opts.readOnly = bool(o.readOnly, 'readOnly');
  if (o.createIfMissing !== undefined) opts.createIfMissing = bool(o.createIfMissing, 'createIfMissing');
  for (const [name, [setter, check]] of Object.entries(MERGE_OPTIONS)) {
    if (o[name] === undefined) continue;
    if (!opts.merge) opts.merge = [];
    opts.merge.push([setter, ...check(o[name], name)]);
  }
  return { opts, libraryPath: o.libraryPath };
}

function pathArg(p) {
  if (p instanceof URL) p = fileURLToPath(p);
  if (typeof p !== 'string') throw new TypeError(`path must be a string or a file: URL (got ${describe(p)})`);
  if (p.includes('\0')) throw new TypeError('path must not contain NUL bytes');
  return p;
}

function asBuffer(u8) {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function camelCase(obj) {
  if (Array.isArray(obj)) return obj.map(camelCase);
  if (obj === null || typeof obj !== 'object') return obj;
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    out[k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())] = camelCase(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Safety nets: native handles whose JS object is garbage-collected without being closed.
// Each registry holds a small "cell" ({ h, native, ... }) that does not reference the JS
// object, so the object stays collectable.

const dbRegistry = new FinalizationRegistry((cell) => {
  if (cell.h === null) return;
  const h = cell.h;
  cell.h = null;
  cell.native.f.close(h);
  process.emitWarning(
    `a bitcask store (${cell.path}) was garbage-collected without close(); it has been closed now. `
      + 'Call close() to release its lock deterministically.',
    { code: 'BITCASK_UNCLOSED' },
  );
});

function freer(method) {
  return new FinalizationRegistry((cell) => {
    if (cell.h === null) return;
    const h = cell.h;
    cell.h = null;
    cell.native[method](h);
  });
}
const iterRegistry = freer('iterFree');
const batchRegistry = freer('batchFree');
const valueRegistry = freer('valueClose');

// ---------------------------------------------------------------------------------------
// Iterators

const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

/** An iterator over a snapshot (bc_iter) of the live keys; yields Buffers or [key, value]. */
class BitcaskIterator {
  #cell;
  #values;

  constructor(native, h, values) {
    this.#cell = { h, native };
    this.#values = values;
    iterRegistry.register(this, this.#cell, this);
  }

  next() {
    const cell = this.#cell;
    if (cell.h === null) return { done: true, value: undefined };
    // A value that cannot be read (CORRUPTION, IO) throws; the iterator has moved past
    // that key, so next() may be called again to go on (or return() to stop).
    const item = cell.native.iterNext(cell.h, this.#values);
    if (item === null) {
      this.#free();
      return { done: true, value: undefined };
    }
    return { done: false, value: this.#values ? item : item[0] };
  }

  /** Ends the iteration early (a `break` out of for...of calls this) and frees the snapshot. */
  return(value) {
    this.#free();
    return { done: true, value };
  }

  [Symbol.iterator]() {
    return this;
  }

  #free() {
    const cell = this.#cell;
    if (cell.h === null) return;
    const h = cell.h;
    cell.h = null;
    iterRegistry.unregister(this);
    cell.native.iterFree(h);
  }
}
Object.setPrototypeOf(BitcaskIterator.prototype, IteratorPrototype);

// ---------------------------------------------------------------------------------------
// Streaming reads

/** A Readable over one version of one value (bc_value_open/read/close). */
class ValueReadStream extends Readable {
  #cell;
  #pos;
  #end;

  constructor(native, h, length, options) {
    super({ highWaterMark: options.highWaterMark });
    this.#cell = { h, native };
    valueRegistry.register(this, this.#cell, this);
    /** The whole value's length in bytes. */
    this.valueLength = length;
    this.#pos = options.start;
    this.#end = Math.min(length, options.end === undefined ? length : options.end + 1);
  }

  _read(size) {
    const cell = this.#cell;
    const want = Math.min(size, this.#end - this.#pos);
    if (want <= 0 || cell.h === null) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(want);
    let n;
    try {
      n = cell.native.valueRead(cell.h, this.#pos, buf, want);
    } catch (err) {
      this.destroy(err);
      return;
    }
    if (n === 0) {
      this.push(null);
      return;
    }
    this.#pos += n;
    this.push(n === want ? buf : buf.subarray(0, n));
  }

  _destroy(err, callback) {
    const cell = this.#cell;
    if (cell.h !== null) {
      const h = cell.h;
      cell.h = null;
      valueRegistry.unregister(this);
      cell.native.valueClose(h);
    }
    callback(err);
  }
}

// ---------------------------------------------------------------------------------------
// The store

const kInternal = Symbol('bitcask.internal');
const kHandle = Symbol('bitcask.handle');
const kRun = Symbol('bitcask.run');
const kNative = Symbol('bitcask.native');

class Bitcask {
  #cell; // { h, native, path }: shared with the FinalizationRegistry
  #native;
  #home; // index of this store's worker thread for async calls
  #inflight = 0;
  #drainWaiters = [];
  #closing = null; // the closeAsync() promise once started
  #closeDone = false; // ... and once it has settled
  #readOnly;
  #syncAlways;

  /** @private Use bitcask.open() or bitcask.openAsync(). */
  constructor(token, native, h, dbPath, opts, home) {
    if (token !== kInternal) throw new TypeError('use bitcask.open() or bitcask.openAsync() to open a store');
    this.#native = native;
    this.#cell = { h, native, path: dbPath };
    this.#readOnly = opts.readOnly === true;
    this.#syncAlways = opts.sync === SYNC_MODES.always;
    this.#home = home === undefined ? pool().assignHome() : home;
    dbRegistry.register(this, this.#cell, this);
  }

  /** The directory given to open(). */
  get path() {
    return this.#cell.path;
  }

  get readOnly() {
    return this.#readOnly;
  }

  /** True once close() or closeAsync() has been called. */
  get closed() {
    return this.#cell.h === null || this.#closing !== null;
  }

  /** The file (or library name) libbitcask was loaded from. */
  get libraryPath() {
    return this.#native.path;
  }

  [kHandle]() {
    const h = this.#cell.h;
    if (h === null || this.#closing !== null) throw closedError(`the store ${this.#cell.path}`);
    return h;
  }

  get [kNative]() {
    return this.#native;
  }

  // --- basic operations -----------------------------------------------------------------

  /** Returns a copy of the value as a Buffer, or undefined when the key has no live value. */
  get(key) {
    const h = this[kHandle]();
    const k = bytesArg(key, 'key', keyScratch);
    return this.#native.get(h, k, encLen, false);
  }

  /** True when the key has a live value (the record is read and checked, nothing is copied). */
  has(key) {
    const h = this[kHandle]();
    const k = bytesArg(key, 'key', keyScratch);
    return this.#native.valueLength(h, k, encLen) >= 0;
  }

  /** Stores value under key. options: { ttlMs } or { expiresAt: Date | unix ms }. */
  put(key, value, options) {
    const h = this[kHandle]();
    const [ttl, at] = options === undefined ? [undefined, undefined] : putOptions(options);
    const k = bytesArg(key, 'key', keyScratch);
    const klen = encLen;
    const v = bytesArg(value, 'value', valueScratch);
    this.#native.put(h, k, klen, v, encLen, ttl, at);
  }

  /** Deletes key (deleting a missing key is not an error). */
  delete(key) {
    const h = this[kHandle]();
    const k = bytesArg(key, 'key', keyScratch);
    this.#native.delete(h, k, encLen);
  }

  /**
   * Copies the value into `buffer` and returns its length, or undefined when the key is
   * missing. Throws BitcaskError 'BUFFER_TOO_SMALL' (property `neededLength`), writing
   * nothing, when the buffer is too small.
   */
  getInto(key, buffer) {
    const h = this[kHandle]();
    if (!(buffer instanceof Uint8Array)) {
      throw new TypeError(`buffer must be a Buffer or Uint8Array (got ${describe(buffer)})`);
    }
    const k = bytesArg(key, 'key', keyScratch);
    const n = this.#native.getInto(h, k, encLen, buffer);
    return n < 0 ? undefined : n;
  }

  /** Makes every write so far durable (fsync), whatever the sync mode. */
  sync() {
    this.#native.sync(this[kHandle]());
  }

  /** Store-wide and per-file counters (bc_stats_json, with camelCase names). */
  stats() {
    return camelCase(JSON.parse(this.#native.statsJson(this[kHandle]())));
  }

  // --- iteration ------------------------------------------------------------------------

  /** Iterates over a snapshot of the live keys (Buffers, unspecified order). */
  keys() {
    const h = this[kHandle]();
    return new BitcaskIterator(this.#native, this.#native.iterNew(h), false);
  }

  /** Iterates over [key, value] pairs of a snapshot (values as of the snapshot). */
  entries() {
    const h = this[kHandle]();
    return new BitcaskIterator(this.#native, this.#native.iterNew(h), true);
  }

  [Symbol.iterator]() {
    return this.entries();
  }

  // --- batches and streams --------------------------------------------------------------

  /** A new atomic write batch: db.batch().put(k, v).delete(k2).commit(). */
  batch() {
    this[kHandle]();
    return new Batch(kInternal, this);
  }

  /**
   * A Readable over the key's current value, read in pieces; it keeps reading that version
   * even if the key is overwritten, deleted or merged. Throws BitcaskError 'NOT_FOUND' when
   * the key is missing. options: { highWaterMark = 65536, start = 0, end (inclusive) }.
   */
  createReadStream(key, options) {
    const h = this[kHandle]();
    const o = optionsObject(options, 'createReadStream') || {};
    checkKeys(o, new Set(['highWaterMark', 'start', 'end']), 'createReadStream');
    const highWaterMark = o.highWaterMark === undefined ? 65536 : Number(uint(o.highWaterMark, 'highWaterMark', MAX_VALUE_LEN));
    if (highWaterMark === 0) throw new RangeError('highWaterMark must be at least 1');
    const start = o.start === undefined ? 0 : Number(uint(o.start, 'start', Number.MAX_SAFE_INTEGER));
    const end = o.end === undefined ? undefined : Number(uint(o.end, 'end', Number.MAX_SAFE_INTEGER));
    const k = bytesArg(key, 'key', keyScratch);
    const [vh, len] = this.#native.valueOpen(h, k, encLen);
    return new ValueReadStream(this.#native, vh, Number(len), { highWaterMark, start, end });
  }

  // --- merge ----------------------------------------------------------------------------

  /** Rewrites the data files keeping only live records. Throws 'BUSY' if one is running. */
  merge() {
    this.#native.merge(this[kHandle]());
  }

  /** Whether the store's dead bytes exceed the merge thresholds. */
  needsMerge() {
    return this.#native.needsMerge(this[kHandle]());
  }

  // --- closing --------------------------------------------------------------------------

  /**
   * Syncs and closes the store, releasing its lock. Idempotent. Throws BitcaskError 'BUSY'
   * (closing nothing) while async operations on this store are still running: await them,
   * or use closeAsync(), which waits for them.
   */
  close() {
    const cell = this.#cell;
    if (this.#closing !== null && !this.#closeDone) {
      throw new BitcaskError(Status.BUSY, `closeAsync() of ${cell.path} is in progress; await it`);
    }
    if (cell.h === null) return;
    if (this.#inflight > 0) {
      throw new BitcaskError(Status.BUSY,
        `${this.#inflight} async operation(s) on ${cell.path} are still running; await them or use closeAsync()`);
    }
    const h = cell.h;
    cell.h = null;
    dbRegistry.unregister(this);
    this.#native.close(h); // frees the handle even when it reports an error
  }

  // --- async ----------------------------------------------------------------------------

  // `quick`: the call is expected to be short, so the worker may hold earlier replies
  // back to send them together with this one's.
  [kRun](op, args, transfer, slot, quick = false) {
    this.#inflight++;
    const p = pool().run(slot === undefined ? this.#home : slot, this.#native.path, op, args, transfer, quick);
    return p.finally(() => {
      if (--this.#inflight === 0) {
        const waiters = this.#drainWaiters;
        this.#drainWaiters = [];
        for (const w of waiters) w();
      }
    });
  }

  /** Like get(), on a worker thread. Resolves to a Buffer or undefined. */
  async getAsync(key) {
    const h = this[kHandle]();
    const k = ownedBytes(key, 'key');
    const v = await this[kRun]('get', [h, k], [k.buffer], undefined, true);
    return v === undefined ? undefined : asBuffer(v);
  }

  /** Like put(), on a worker thread. The key and value are copied when this is called. */
  async putAsync(key, value, options) {
    const h = this[kHandle]();
    const [ttl, at] = putOptions(options);
    const k = ownedBytes(key, 'key');
    const v = ownedBytes(value, 'value');
    const quick = !this.#syncAlways && v.length < 65536;
    await this[kRun]('put', [h, k, v, ttl, at], [k.buffer, v.buffer], undefined, quick);
  }

  /** Like delete(), on a worker thread. */
  async deleteAsync(key) {
    const h = this[kHandle]();
    const k = ownedBytes(key, 'key');
    await this[kRun]('delete', [h, k], [k.buffer], undefined, !this.#syncAlways);
  }

  /** Like sync(), on a worker thread. */
  async syncAsync() {
    await this[kRun]('sync', [this[kHandle]()]);
  }

  /** Like merge(), on a worker thread other than the one serving this store's other calls. */
  async mergeAsync() {
    const h = this[kHandle]();
    await this[kRun]('merge', [h], undefined, pool().leastBusy(this.#home));
  }

  /** Waits for this store's running async operations, then closes it on a worker thread. */
  closeAsync() {
    if (this.#closing !== null) return this.#closing;
    const cell = this.#cell;
    if (cell.h === null) return Promise.resolve();
    this.#closing = (async () => {
      if (this.#inflight > 0) await new Promise((resolve) => this.#drainWaiters.push(resolve));
      const h = cell.h;
      cell.h = null;
      dbRegistry.unregister(this);
      await pool().run(this.#home, this.#native.path, 'close', [h]);
    })().finally(() => {
      this.#closeDone = true;
    });
    return this.#closing;
  }
}

// ---------------------------------------------------------------------------------------
// Batches

/**
 * An atomic write batch (bc_batch): every operation is applied, or none. Chainable:
 * db.batch().put(k1, v1).delete(k2).commit(). The operations are copied into the native
 * batch as they are added (and checked there: key/value limits throw at put()).
 */
class Batch {
  #db;
  #cell; // { h, native }; h is created on first use and released after each commit
  #busy = false;
  #disposed = false;

  /** @private Use db.batch(). */
  constructor(token, db) {
    if (token !== kInternal) throw new TypeError('use db.batch() to create a batch');
    this.#db = db;
    this.#cell = { h: null, native: db[kNative] };
  }

  #batch() {
    if (this.#disposed) throw closedError('the batch');
    if (this.#busy) throw new BitcaskError(Status.BUSY, 'a commitAsync() of this batch is running');
    let h = this.#cell.h;
    if (h === null) {
      h = this.#cell.native.batchNew();
      this.#cell.h = h;
      batchRegistry.register(this, this.#cell, this);
    }
    return h;
  }

  #release() {
    const cell = this.#cell;
    if (cell.h === null) return;
    const h = cell.h;
    cell.h = null;
    batchRegistry.unregister(this);
    cell.native.batchFree(h);
  }

  /** Adds a put. options: { ttlMs }. Returns the batch. */
  put(key, value, options) {
    let ttl;
    if (options !== undefined) {
      const o = optionsObject(options, 'batch put');
      if (o) {
        checkKeys(o, new Set(['ttlMs']), 'batch put');
        if (o.ttlMs !== undefined) ttl = uint(o.ttlMs, 'ttlMs', U64_MAX);
      }
    }
    const k = bytesArg(key, 'key', keyScratch);
    const klen = encLen;
    const v = bytesArg(value, 'value', valueScratch);
    const vlen = encLen;
    this.#cell.native.batchPut(this.#batch(), k, klen, v, vlen, ttl);
    return this;
  }

  /** Adds a delete. Returns the batch. */
  delete(key) {
    const k = bytesArg(key, 'key', keyScratch);
    const klen = encLen;
    this.#cell.native.batchDelete(this.#batch(), k, klen);
    return this;
  }

  /** Number of operations waiting to be committed. */
  get length() {
    return this.#cell.h === null ? 0 : this.#cell.native.batchLen(this.#cell.h);
  }

  /** Drops every operation not yet committed. Returns the batch. */
  clear() {
    if (this.#busy) throw new BitcaskError(Status.BUSY, 'a commitAsync() of this batch is running');
    this.#release();
    return this;
  }

  /**
   * Applies every operation atomically (one write, one fsync under sync 'always'). On
   * success the batch is empty and may be reused; on failure nothing was applied and the
   * operations are kept.
   */
  commit() {
    const dbh = this.#db[kHandle]();
    const h = this.#batch();
    this.#cell.native.batchCommit(dbh, h);
    this.#release();
  }

  /** Like commit(), on a worker thread. Adding to the batch meanwhile throws 'BUSY'. */
  async commitAsync() {
    const dbh = this.#db[kHandle]();
    const h = this.#batch();
    this.#busy = true;
    try {
      await this.#db[kRun]('batchCommit', [dbh, h]);
    } finally {
      this.#busy = false;
    }
    this.#release();
  }

  /** Frees the batch and its uncommitted operations; later calls throw 'CLOSED'. */
  dispose() {
    if (this.#busy) throw new BitcaskError(Status.BUSY, 'a commitAsync() of this batch is running');
    this.#release();
    this.#disposed = true;
  }

}

// Explicit resource management (`using db = bitcask.open(...)`), where the runtime has it.
if (typeof Symbol.dispose === 'symbol') {
  Bitcask.prototype[Symbol.dispose] = function dispose() {
    this.close();
  };
  Batch.prototype[Symbol.dispose] = function dispose() {
    this.dispose();
  };
}
if (typeof Symbol.asyncDispose === 'symbol') {
  Bitcask.prototype[Symbol.asyncDispose] = function asyncDispose() {
    return this.closeAsync();
  };
}

// ---------------------------------------------------------------------------------------
// Entry points

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
  _internal: { checkVersion, candidates, REPO_LIBRARY, SYSTEM_LIBRARIES, pool },
};
