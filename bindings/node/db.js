'use strict';

// The store: Bitcask objects, with the synchronous methods (calls on the calling thread)
// and the *Async ones (answered on the calling thread when they cannot block, inline.js;
// else run on a worker thread, pool.js).

const { Status, BitcaskError, closedError } = require('./errors');
const { pool } = require('./pool');
const {
  keyArg, valueArg, ownedKey, ownedValue, bufferArg, putOptions, readStreamOptions, asBuffer,
  camelCase, enc, dirArg,
} = require('./args');
const { SYNC_MODES } = require('./limits');
const inline = require('./inline');
const { dbRegistry } = require('./handles');
const { BitcaskIterator, ValueReadStream } = require('./reading');
const { Batch } = require('./batch');
const { kInternal, kHandle, kRun, kNative } = require('./symbols');
const { TOO_BIG } = require('./native');

/** An open store (bc_db). Created by open() and openAsync(). */
class Bitcask {
  #cell; // { h, native, path }: shared with the FinalizationRegistry
  #native;
  #home; // index of this store's worker thread for async calls
  #inflight = 0; // calls sent to a worker and not settled yet
  #homePending = 0; // ... of which on the home worker: calls after them must queue behind
  #inlineBusy = 0; // calls answered inline in this tick (see #noteInline)
  #inlineReads = 0; // reads answered inline, to pick the sampled ones
  #inlineOffUntil = 0; // inline answers paused until then (inline.policy.now() time)
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
    this.#readOnly = opts.readOnly;
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
    const k = keyArg(key);
    return this.#native.get(h, k, enc.len, false);
  }

  /** True when the key has a live value (the record is read and checked, nothing is copied). */
  has(key) {
    const h = this[kHandle]();
    const k = keyArg(key);
    return this.#native.valueLength(h, k, enc.len) >= 0;
  }

  /** Stores value under key. options: { ttlMs } or { expiresAt: Date | unix ms }. */
  put(key, value, options) {
    const h = this[kHandle]();
    const [ttl, at] = options === undefined ? [undefined, undefined] : putOptions(options);
    const k = keyArg(key);
    const klen = enc.len;
    const v = valueArg(value);
    this.#native.put(h, k, klen, v, enc.len, ttl, at);
  }

  /** Deletes key (deleting a missing key is not an error). */
  delete(key) {
    const h = this[kHandle]();
    const k = keyArg(key);
    this.#native.delete(h, k, enc.len);
  }

  /**
   * Copies the value into `buffer` and returns its length, or undefined when the key is
   * missing. Throws BitcaskError 'BUFFER_TOO_SMALL' (property `neededLength`), writing
   * nothing, when the buffer is too small.
   */
  getInto(key, buffer) {
    const h = this[kHandle]();
    bufferArg(buffer, 'buffer');
    const k = keyArg(key);
    const n = this.#native.getInto(h, k, enc.len, buffer);
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
    const o = readStreamOptions(options);
    const k = keyArg(key);
    const [vh, len] = this.#native.valueOpen(h, k, enc.len);
    return new ValueReadStream(this.#native, vh, Number(len), o);
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

  // --- checkpoints ----------------------------------------------------------------------

  /**
   * Writes a consistent copy of the store into the new directory `dir` (bc_checkpoint):
   * every write acknowledged before the call is in it, none started after it returned.
   * Throws BitcaskError 'INVALID_ARGUMENT' if `dir` exists (even empty) or lies inside the
   * store, 'IO' if its parent is missing. The copy opens as an ordinary store.
   */
  checkpoint(dir) {
    const h = this[kHandle]();
    this.#native.checkpoint(h, dirArg(dir));
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
    const running = this.#inflight + this.#inlineBusy;
    if (running > 0) {
      throw new BitcaskError(Status.BUSY,
        `${running} async operation(s) on ${cell.path} are still running; await them or use closeAsync()`);
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
    const home = slot === undefined || slot === this.#home;
    this.#inflight++;
    if (home) this.#homePending++;
    const p = pool().run(home ? this.#home : slot, this.#native.path, op, args, transfer, quick);
    return p.finally(() => {
      if (home) this.#homePending--;
      if (--this.#inflight === 0) {
        const waiters = this.#drainWaiters;
        this.#drainWaiters = [];
        for (const w of waiters) w();
      }
    });
  }

  // Whether a call may be answered on this thread now (inline.js): nothing of this store
  // is queued on its worker ahead of it, and inline answers are not paused.
  #inlineOk() {
    if (this.#homePending !== 0) return false;
    if (this.#inlineOffUntil !== 0) {
      if (inline.policy.now() < this.#inlineOffUntil) return false;
      this.#inlineOffUntil = 0;
    }
    return true;
  }

  // Counts an inline call. Its promise is settled before the caller can see it, but until
  // the caller's code has run on, close() still reports the call as running ('BUSY'), as
  // it did when every call went to a worker: one microtask per tick clears the count.
  #noteInline() {
    if (this.#inlineBusy++ === 0) queueMicrotask(() => { this.#inlineBusy = 0; });
  }

  // Whether this inline read is one of the sampled ones (inline.js): one in
  // policy.sampleEvery is bracketed by readings of the thread's major page faults, and if
  // it read the disk through the map, inline answers of this store pause for a while
  // (#sampledRead). Only reads are sampled: a put's append faults in fresh pages of the
  // active file, which counts as a major fault too but reads nothing (the file's tail is
  // preallocated).
  #sampleRead() {
    return (++this.#inlineReads & (inline.policy.sampleEvery - 1)) === 0 ? inline.policy.majorFaults() : -1n;
  }

  #sampledRead(before) {
    if (before === -1n) return;
    const p = inline.policy;
    if (p.majorFaults() !== before) this.#inlineOffUntil = p.now() + p.backoffMs;
  }

  /** Like get(), without blocking the event loop. Resolves to a Buffer or undefined. */
  async getAsync(key) {
    const h = this[kHandle]();
    if (this.#inlineOk()) {
      const k = keyArg(key);
      this.#noteInline();
      const sample = this.#sampleRead();
      const v = this.#native.getSmall(h, k, enc.len, inline.MAX_VALUE);
      this.#sampledRead(sample);
      if (v !== TOO_BIG) return v;
      // A larger value: read on the worker, like every call made after this one until then.
    }
    const k = ownedKey(key);
    const v = await this[kRun]('get', [h, k], [k.buffer], undefined, true);
    return v === undefined ? undefined : asBuffer(v);
  }

  /**
   * Like put(), without blocking the event loop (under sync 'always' on a worker thread).
   * The key and value are copied when this is called.
   */
  async putAsync(key, value, options) {
    const h = this[kHandle]();
    const [ttl, at] = putOptions(options);
    if (!this.#syncAlways && this.#inlineOk()) {
      const k = keyArg(key);
      const klen = enc.len;
      const v = valueArg(value);
      const vlen = enc.len;
      if (vlen <= inline.MAX_VALUE) {
        this.#noteInline();
        this.#native.put(h, k, klen, v, vlen, ttl, at);
        return;
      }
    }
    const k = ownedKey(key);
    const v = ownedValue(value);
    const quick = !this.#syncAlways && v.length < 65536;
    await this[kRun]('put', [h, k, v, ttl, at], [k.buffer, v.buffer], undefined, quick);
  }

  /** Like delete(), without blocking the event loop (under sync 'always' on a worker thread). */
  async deleteAsync(key) {
    const h = this[kHandle]();
    if (!this.#syncAlways && this.#inlineOk()) {
      const k = keyArg(key);
      this.#noteInline();
      this.#native.delete(h, k, enc.len);
      return;
    }
    const k = ownedKey(key);
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

  /** Like checkpoint(), on a worker thread other than the one serving this store's other calls. */
  async checkpointAsync(dir) {
    const h = this[kHandle]();
    const d = dirArg(dir);
    await this[kRun]('checkpoint', [h, d], undefined, pool().leastBusy(this.#home));
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

// Explicit resource management (`await using db = ...`), where the runtime has it.
if (typeof Symbol.dispose === 'symbol') {
  Bitcask.prototype[Symbol.dispose] = function dispose() {
    this.close();
  };
}
if (typeof Symbol.asyncDispose === 'symbol') {
  Bitcask.prototype[Symbol.asyncDispose] = function asyncDispose() {
    return this.closeAsync();
  };
}

module.exports = { Bitcask };
