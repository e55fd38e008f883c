'use strict';

// The native layer: loads libbitcask with koffi, declares its functions, and wraps each
// fallible call so that a failure is turned into a BitcaskError carrying bc_last_error()
// read *synchronously, right after the call, on the same OS thread*. This module is used
// both by the main thread (synchronous API) and by the worker threads that run the async
// API, so the rule "read the thread-local message on the failing thread" holds everywhere:
// a JS thread (main or worker_threads Worker) is one OS thread, and a synchronous koffi
// call runs on the calling thread.
//
// Handles (bc_db *, bc_iter *, ...) are plain BigInt addresses (koffi 3 represents
// pointers as BigInt), which is also what lets a handle cross to a worker thread.

const koffi = require('koffi');
const { Status, BitcaskError } = require('./errors');
const { OPAQUE_TYPES, PROTOTYPES } = require('./prototypes');

if (koffi.sizeof('void *') !== 8) {
  throw new Error('bitcask: only 64-bit platforms are supported');
}

// Type names are global to a koffi instance (one per JS thread), so declare them once.
for (const name of OPAQUE_TYPES) koffi.opaque(name);
// bc_batch_commit_if's conditions are passed as raw bytes (batch.js encodeConditions).
koffi.struct('bc_condition', { key: 'const uint8_t *', key_len: 'size_t', version: 'uint64_t' });

// Copies `n` bytes from a C address into a JS buffer (far cheaper than koffi.view()).
const memcpy = koffi.load(null).func('void *memcpy(void *dst, uint64_t src, size_t n)');

// get() first tries bc_get_into into a per-thread scratch buffer (one FFI call, no
// malloc/free). On BC_BUFFER_TOO_SMALL it reads the value with bc_get (a malloc'ed copy,
// copied into a Buffer and freed with bc_free), and grows the scratch buffer (up to
// SCRATCH_MAX) so that later values of that size take the fast path.
const SCRATCH_SIZE = 64 * 1024;
const SCRATCH_MAX = 1024 * 1024;

/** getSmall()'s answer for a value larger than asked for (nothing was copied). */
const TOO_BIG = Symbol('bitcask.tooBig');

class Native {
  constructor(libPath, lib) {
    this.path = libPath;
    this.lib = lib; // keep the library loaded as long as this object lives
    const f = {};
    for (const [name, proto] of Object.entries(PROTOTYPES)) f[name] = lib.func(proto);
    this.f = f;
    this.version = f.version();
    this.u64 = new BigUint64Array(4);
    this.slot = [0, 1, 2, 3].map((i) => this.u64.subarray(i, i + 1));
    this.flag = new Uint8Array(8);
    this.setScratch(SCRATCH_SIZE);
  }

  setScratch(size) {
    this.scratch = Buffer.allocUnsafeSlow(size);
    // A plain Uint8Array view: its subarray() is cheaper than a Buffer's.
    this.scratchU8 = new Uint8Array(this.scratch.buffer, this.scratch.byteOffset, size);
  }

  /** Builds the error for `status`; must run right after the failing call. */
  fail(status, extra) {
    return new BitcaskError(status, this.f.last_error(), extra);
  }

  check(status) {
    if (status !== 0) throw this.fail(status);
  }

  statusName(status) {
    return this.f.status_str(status);
  }

  // Copies `n` bytes at `ptr` into a new buffer. `owned`: a Uint8Array with an
  // ArrayBuffer of its own (transferable to another thread); else a Buffer.
  copyOut(ptr, n, owned) {
    const out = owned ? new Uint8Array(n) : Buffer.allocUnsafe(n);
    if (n > 0) memcpy(out, ptr, n);
    return out;
  }

  /** opts: from openOptions() in args.js ({ calls: [[options setter, ...args], ...] }). */
  open(path, opts) {
    const f = this.f;
    const o = f.options_new();
    if (!o) throw new BitcaskError(Status.INTERNAL, 'bc_options_new: out of memory');
    try {
      for (const [setter, ...args] of opts.calls) this.check(f[setter](o, ...args));
      const st = f.open(path, o, this.slot[0]);
      if (st !== 0) throw this.fail(st);
      return this.u64[0];
    } finally {
      f.options_free(o);
    }
  }

  /**
   * Opens on a thread of libuv's pool (koffi's `.async`): resolves to the handle, or to
   * { status } on failure. The failure's message is on that pool thread (bc_last_error is
   * thread-local), out of reach: the caller opens again where it can read it (index.js).
   * The options are set here, synchronously, so their errors carry their messages.
   */
  openOffThread(path, opts) {
    const f = this.f;
    const o = f.options_new();
    if (!o) throw new BitcaskError(Status.INTERNAL, 'bc_options_new: out of memory');
    try {
      for (const [setter, ...args] of opts.calls) this.check(f[setter](o, ...args));
    } catch (err) {
      f.options_free(o);
      throw err;
    }
    // Its own out-parameter: the shared u64 slots are used by calls made meanwhile.
    const out = new BigUint64Array(1);
    return new Promise((resolve, reject) => {
      f.open.async(path, o, out, (err, st) => {
        f.options_free(o);
        if (err) reject(err);
        else resolve(st === 0 ? out[0] : { status: st });
      });
    });
  }

  close(db) {
    this.check(this.f.close(db));
  }

  put(db, k, klen, v, vlen, ttlMs, expiresAtMs) {
    let st;
    if (ttlMs !== undefined) st = this.f.put_ttl(db, k, klen, v, vlen, ttlMs);
    else if (expiresAtMs !== undefined) st = this.f.put_expiring(db, k, klen, v, vlen, expiresAtMs);
    else st = this.f.put(db, k, klen, v, vlen);
    if (st !== 0) throw this.fail(st);
  }

  /** Returns the value (a copy), or undefined when the key has no live value. */
  get(db, k, klen, owned) {
    const f = this.f;
    const scratch = this.scratch;
    let st = f.get_into(db, k, klen, scratch, scratch.length, this.slot[0]);
    if (st === 0) {
      const n = Number(this.u64[0]);
      const out = owned ? new Uint8Array(n) : Buffer.allocUnsafe(n);
      if (n > 0) out.set(n === scratch.length ? scratch : this.scratchU8.subarray(0, n));
      return out;
    }
    if (st === Status.NOT_FOUND) return undefined;
    if (st !== Status.BUFFER_TOO_SMALL) throw this.fail(st);
    const needed = Number(this.u64[0]);
    if (scratch.length < SCRATCH_MAX) {
      let size = scratch.length;
      while (size < needed && size < SCRATCH_MAX) size *= 2;
      this.setScratch(size);
    }
    // Large value: the library returns a malloc'ed copy, which we copy and free.
    st = f.get(db, k, klen, this.slot[0], this.slot[1]);
    if (st === Status.NOT_FOUND) return undefined;
    if (st !== 0) throw this.fail(st);
    const ptr = this.u64[0];
    const n = Number(this.u64[1]);
    try {
      return this.copyOut(ptr, n, owned);
    } finally {
      f.free(ptr);
    }
  }

  /**
   * Like get(db, k, klen, false) for values of at most `max` bytes (max <= SCRATCH_SIZE);
   * returns TOO_BIG, copying nothing, for a larger one.
   */
  getSmall(db, k, klen, max) {
    const st = this.f.get_into(db, k, klen, this.scratch, max, this.slot[0]);
    if (st === 0) {
      const n = Number(this.u64[0]);
      // A Buffer from Node's pool, as get() returns: a Uint8Array with an ArrayBuffer of its
      // own (what a worker's reply carries) halves getAsync's throughput.
      const out = Buffer.allocUnsafe(n);
      if (n > 0) out.set(this.scratchU8.subarray(0, n));
      return out;
    }
    if (st === Status.NOT_FOUND) return undefined;
    if (st === Status.BUFFER_TOO_SMALL) return TOO_BIG;
    throw this.fail(st);
  }

  /** Returns the value's length (written into buf), or -1 when the key is missing. */
  getInto(db, k, klen, buf) {
    const st = this.f.get_into(db, k, klen, buf, buf.byteLength, this.slot[0]);
    if (st === 0) return Number(this.u64[0]);
    if (st === Status.NOT_FOUND) return -1;
    if (st === Status.BUFFER_TOO_SMALL) {
      const needed = Number(this.u64[0]);
      throw this.fail(st, { neededLength: needed });
    }
    throw this.fail(st);
  }

  /** Length of the key's value, or -1 when it is missing (copies nothing). */
  valueLength(db, k, klen) {
    const st = this.f.get_into(db, k, klen, null, 0, this.slot[0]);
    if (st === 0 || st === Status.BUFFER_TOO_SMALL) return Number(this.u64[0]);
    if (st === Status.NOT_FOUND) return -1;
    throw this.fail(st);
  }

  delete(db, k, klen) {
    const st = this.f.delete(db, k, klen);
    if (st !== 0) throw this.fail(st);
  }

  sync(db) {
    this.check(this.f.sync(db));
  }

  merge(db) {
    this.check(this.f.merge(db));
  }

  checkpoint(db, dir) {
    this.check(this.f.checkpoint(db, dir));
  }

  needsMerge(db) {
    this.flag.fill(0);
    this.check(this.f.needs_merge(db, this.flag));
    return this.flag[0] !== 0;
  }

  statsJson(db) {
    const st = this.f.stats_json(db, this.slot[0]);
    if (st !== 0) throw this.fail(st);
    const ptr = this.u64[0];
    try {
      return koffi.decode.string(ptr);
    } finally {
      this.f.free(ptr);
    }
  }

  iterNew(db) {
    const st = this.f.iter_new(db, this.slot[0]);
    if (st !== 0) throw this.fail(st);
    return this.u64[0];
  }

  /** Returns [key] / [key, value] (copies), or null when the iterator is exhausted. */
  iterNext(it, withValues) {
    const s = this.slot;
    const st = this.f.iter_next(it, s[0], s[1], withValues ? s[2] : null, withValues ? s[3] : null);
    if (st === Status.DONE) return null;
    if (st !== 0) throw this.fail(st);
    const u = this.u64;
    const key = this.copyOut(u[0], Number(u[1]), false);
    if (!withValues) return [key];
    return [key, this.copyOut(u[2], Number(u[3]), false)];
  }

  iterFree(it) {
    this.f.iter_free(it);
  }

  batchNew() {
    const b = this.f.batch_new();
    if (!b) throw new BitcaskError(Status.INTERNAL, 'bc_batch_new: out of memory');
    return b;
  }

  batchPut(b, k, klen, v, vlen, ttlMs) {
    const st = ttlMs === undefined
      ? this.f.batch_put(b, k, klen, v, vlen)
      : this.f.batch_put_ttl(b, k, klen, v, vlen, ttlMs);
    if (st !== 0) throw this.fail(st);
  }

  batchDelete(b, k, klen) {
    this.check(this.f.batch_delete(b, k, klen));
  }

  batchLen(b) {
    return Number(this.f.batch_len(b));
  }

  batchClear(b) {
    this.f.batch_clear(b);
  }

  batchCommit(db, b) {
    this.check(this.f.batch_commit(db, b));
  }

  batchFree(b) {
    this.f.batch_free(b);
  }

  /** Returns [reader, length]. Throws NOT_FOUND as a BitcaskError. */
  valueOpen(db, k, klen) {
    const st = this.f.value_open(db, k, klen, this.slot[0], this.slot[1]);
    if (st !== 0) throw this.fail(st);
    return [this.u64[0], this.u64[1]];
  }

  valueRead(v, offset, buf, len) {
    const st = this.f.value_read(v, offset, buf, len, this.slot[0]);
    if (st !== 0) throw this.fail(st);
    return Number(this.u64[0]);
  }

  valueClose(v) {
    this.f.value_close(v);
  }

  /** Returns [value, expiresAtMs, version] (copies), or undefined when the key is absent. */
  getVersioned(db, k, klen) {
    const s = this.slot;
    const st = this.f.get_versioned(db, k, klen, s[0], s[1], s[2], s[3]);
    if (st === Status.NOT_FOUND) return undefined;
    if (st !== 0) throw this.fail(st);
    const u = this.u64;
    const [ptr, n, expiresAt, version] = [u[0], Number(u[1]), u[2], u[3]];
    try {
      return [this.copyOut(ptr, n, false), Number(expiresAt), version];
    } finally {
      this.f.free(ptr);
    }
  }

  /** The key's version (0n: absent). */
  keyVersion(db, k, klen) {
    this.check(this.f.get_version(db, k, klen, this.slot[0]));
    return this.u64[0];
  }

  batchPutExpiring(b, k, klen, v, vlen, expiresAtMs) {
    this.check(this.f.batch_put_expiring(b, k, klen, v, vlen, expiresAtMs));
  }

  /** conds: a Buffer of bc_condition structs. Returns false on BC_CONDITION_FAILED. */
  batchCommitIf(db, b, conds, n) {
    const st = this.f.batch_commit_if(db, b, n > 0 ? conds : null, n);
    if (st === Status.CONDITION_FAILED) return false;
    if (st !== 0) throw this.fail(st);
    return true;
  }
}

// One Native per library path per thread.
const loaded = new Map();

/** Loads exactly `libPath` (a file path or a name for the dynamic linker). Throws koffi's error. */
function loadNative(libPath) {
  let n = loaded.get(libPath);
  if (!n) {
    n = new Native(libPath, koffi.load(libPath));
    loaded.set(libPath, n);
  }
  return n;
}

module.exports = {
  loadNative, Native, SCRATCH_SIZE, SCRATCH_MAX, TOO_BIG,
};
