'use strict';

// Atomic write batches (bc_batch).

const { Status, BitcaskError, closedError } = require('./errors');
const {
  keyArg, valueArg, batchPutOptions, enc,
} = require('./args');
const { batchRegistry } = require('./handles');
const { kInternal, kHandle, kRun, kNative } = require('./symbols');

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
    const ttl = options === undefined ? undefined : batchPutOptions(options);
    const k = keyArg(key);
    const klen = enc.len;
    const v = valueArg(value);
    const vlen = enc.len;
    this.#cell.native.batchPut(this.#batch(), k, klen, v, vlen, ttl);
    return this;
  }

  /** Adds a delete. Returns the batch. */
  delete(key) {
    const k = keyArg(key);
    const klen = enc.len;
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

// Explicit resource management (`using b = db.batch()`), where the runtime has it.
if (typeof Symbol.dispose === 'symbol') {
  Batch.prototype[Symbol.dispose] = function dispose() {
    this.dispose();
  };
}

module.exports = { Batch };
