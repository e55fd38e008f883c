'use strict';

// A worker thread of the async API. Each request is performed by one synchronous koffi
// call on this thread, and a failure's bc_last_error() is read by the same synchronous
// JS function right after it (see native.js), so the thread-local message cannot be lost
// or mixed up with another call's: this thread runs one request at a time, to completion.

const { parentPort } = require('worker_threads');
const { loadNative } = require('./native');
const { BitcaskError, Status } = require('./errors');
const { encodeConditions } = require('./conditions');

const ops = {
  open: (n, path, opts) => n.open(path, opts),
  close: (n, db) => n.close(db),
  put: (n, db, k, v, ttlMs, expiresAtMs) => n.put(db, k, k.length, v, v.length, ttlMs, expiresAtMs),
  get: (n, db, k) => n.get(db, k, k.length, true),
  delete: (n, db, k) => n.delete(db, k, k.length),
  sync: (n, db) => n.sync(db),
  merge: (n, db) => n.merge(db),
  checkpoint: (n, db, dir) => n.checkpoint(db, dir),
  batchCommit: (n, db, b) => n.batchCommit(db, b),
  getVersioned: (n, db, k) => n.getVersioned(db, k, k.length),
  keyVersion: (n, db, k) => n.keyVersion(db, k, k.length),
  // The conditions' keys arrive as this thread's own copies; their bc_condition array is
  // built here, so no pointer into the main thread's memory is used.
  batchCommitIf: (n, db, b, conds) => {
    const { buf, keep } = encodeConditions(conds);
    const applied = n.batchCommitIf(db, b, buf, conds.length);
    keep.length = 0;
    return applied;
  },
};

// Performs one request and returns its reply.
function perform(msg) {
  const { id, lib, op, args } = msg;
  try {
    const native = loadNative(lib);
    const fn = ops[op];
    if (!fn) throw new BitcaskError(Status.INTERNAL, `bitcask worker: unknown operation ${op}`);
    // The call and, on failure, bc_last_error() (inside native.js) run right here,
    // synchronously, on this worker's OS thread.
    const value = fn(native, ...args);
    return { id, ok: true, value };
  } catch (err) {
    if (err instanceof BitcaskError) return { id, ok: false, status: err.status, message: err.message };
    return {
      id,
      ok: false,
      status: Status.INTERNAL,
      message: `bitcask worker: ${err && err.stack ? err.stack : err}`,
    };
  }
}

// Requests arrive in batches (an array: the calls made in one tick of the main thread)
// and are performed in order. Replies to quick requests (small gets/puts/deletes, as
// judged by the main thread) are batched too; pending replies are sent before any other
// request starts, and whenever a request turned out to take long, so that no reply waits
// behind a slow call.
const FLUSH_AFTER_MS = 1;

parentPort.on('message', (requests) => {
  let replies = [];
  let transfer = [];
  let since = performance.now();
  const flush = () => {
    parentPort.postMessage(replies, transfer);
    replies = [];
    transfer = [];
    since = performance.now();
  };
  for (const msg of requests) {
    if (!msg.quick && replies.length > 0) flush();
    const reply = perform(msg);
    replies.push(reply);
    if (reply.value instanceof Uint8Array) transfer.push(reply.value.buffer);
    if (performance.now() - since > FLUSH_AFTER_MS) flush();
  }
  if (replies.length > 0) flush();
});
