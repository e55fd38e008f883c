'use strict';

// Atomic write batches (bc_batch).

const { Status, BitcaskError, closedError } = require('./errors');
const {
  keyArg, valueArg, batchPutOptions, enc, expiresAtArg,
} = require('./args');
const { batchRegistry } = require('./handles');
const { encodeConditions, ownedConditions } = require('./conditions');
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

  /** Adds a put that expires at expiresAtMs (unix ms, or a Date). Returns the batch. */
  putExpiring(key, value, expiresAtMs) {
    const at = expiresAtArg(expiresAtMs);
    const k = keyArg(key);
    const klen = enc.len;
    const v = valueArg(value);
    const vlen = enc.len;
    this.#cell.native.batchPutExpiring(this.#batch(), k, klen, v, vlen, at);
    return this;
  }

  /**
   * Applies the batch like commit(), but only if every condition holds: each
   * { key, version } (from db.getVersioned() / db.version(); 0n: the key must be absent)
   * is the key's current version, checked under the store's writer lock. Returns true
   * when applied (the batch is emptied), false when a condition failed (nothing written,
   * the batch kept: read again and retry).
   */
  commitIf(conditions) {
    if (!Array.isArray(conditions)) throw new TypeError('conditions must be an array of { key, version }');
    const dbh = this.#db[kHandle]();
    const h = this.#batch();
    const { buf, keep } = encodeConditions(conditions);
    const applied = this.#cell.native.batchCommitIf(dbh, h, buf, conditions.length);
    keep.length = 0; // the key buffers had to live until the call returned
    if (applied) this.#release();
    return applied;
  }

  /** Like commitIf(), on a worker thread. Resolves to true (applied) or false. */
  async commitIfAsync(conditions) {
    const conds = ownedConditions(conditions);
    const dbh = this.#db[kHandle]();
    const h = this.#batch();
    this.#busy = true;
    let applied;
    try {
      applied = await this.#db[kRun]('batchCommitIf', [dbh, h, conds]);
    } finally {
      this.#busy = false;
    }
    if (applied) this.#release();
    return applied;
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
