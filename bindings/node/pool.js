'use strict';

// A small pool of persistent worker threads for the async API (see worker.js), for the
// calls that may block: the others are answered on the calling thread (inline.js). A
// worker starts when the first request for it is made.
//
// Why not koffi's own `fn.async()`: it runs the call on a libuv pool thread and returns
// to JS, so a following bc_last_error() (sync or async) may run on another OS thread and
// read another call's message, or none. Here the failing call and bc_last_error() run in
// one synchronous stretch of JS on the worker's single OS thread. (openAsync does use
// `.async`, to spare the worker's start-up, and repeats a failed open here: index.js.)
//
// Ordering: every request for one store goes to that store's "home" worker, which runs
// requests one at a time in arrival order, so async operations on one handle take effect
// in the order they were called (db.js answers a call inline only when none of the
// store's is queued here). Long maintenance (merge) goes to another worker.

const path = require('path');
const os = require('os');
const { Worker } = require('worker_threads');
const { BitcaskError, Status } = require('./errors');

const MAX_THREADS = 64;

// $BITCASK_ASYNC_THREADS, else up to 4. A bad value is reported (a process warning) and
// the default used instead.
function defaultSize() {
  const raw = process.env.BITCASK_ASYNC_THREADS;
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_THREADS) return n;
    process.emitWarning(
      `BITCASK_ASYNC_THREADS must be an integer from 1 to ${MAX_THREADS} (got '${raw}'); using the default`,
      { code: 'BITCASK_ASYNC_THREADS' },
    );
  }
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(2, Math.min(4, cores));
}

class Slot {
  constructor(owner, index) {
    this.pool = owner;
    this.index = index;
    this.pending = new Map();
    this.outbox = [];
    this.outboxTransfer = [];
    this.flushQueued = false;
    this.worker = new Worker(path.join(__dirname, 'worker.js'));
    this.worker.unref();
    this.worker.on('message', (msg) => this.onMessage(msg));
    this.worker.on('error', (err) => this.onGone(err));
    this.worker.on('exit', (code) => this.onGone(new Error(`worker exited with code ${code}`)));
  }

  // Requests made in one tick are sent together in one message (and answered mostly in
  // one), which cuts the per-call cost of postMessage for bursts of async calls.
  send(msg, transfer) {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref(); // keep the process alive while busy
      this.pending.set(msg.id, { resolve, reject });
      this.outbox.push(msg);
      if (transfer) for (const t of transfer) this.outboxTransfer.push(t);
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  flush() {
    const batch = this.outbox;
    const transfer = this.outboxTransfer;
    this.outbox = [];
    this.outboxTransfer = [];
    this.flushQueued = false;
    try {
      this.worker.postMessage(batch, transfer);
    } catch (err) {
      for (const msg of batch) {
        const p = this.pending.get(msg.id);
        this.settled(msg.id);
        if (p) p.reject(err);
      }
    }
  }

  settled(id) {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  onMessage(replies) {
    for (const msg of replies) this.settle(msg);
  }

  settle(msg) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.settled(msg.id);
    if (msg.ok) {
      p.resolve(msg.value);
    } else {
      p.reject(new BitcaskError(msg.status, msg.message));
    }
  }

  onGone(err) {
    if (this.pool.slots[this.index] === this) this.pool.slots[this.index] = null;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      p.reject(new BitcaskError(Status.INTERNAL, `bitcask async worker failed: ${err && err.message}`));
    }
  }
}

class Pool {
  constructor(size) {
    this.size = size || defaultSize();
    this.slots = new Array(this.size).fill(null);
    this.nextHome = 0;
    this.nextId = 1;
    this.requests = 0; // requests sent to workers so far (tests tell inline answers by it)
  }

  /** A home slot index for a new store handle (round-robin). */
  assignHome() {
    const i = this.nextHome;
    this.nextHome = (this.nextHome + 1) % this.size;
    return i;
  }

  /** The least busy slot other than `avoid` (when there is a choice). */
  leastBusy(avoid) {
    let best = -1;
    let bestLoad = Infinity;
    for (let i = 0; i < this.size; i++) {
      if (i === avoid && this.size > 1) continue;
      const s = this.slots[i];
      const load = s ? s.pending.size : 0.5; // prefer a busy-free existing worker, then a new one
      if (load < bestLoad) {
        best = i;
        bestLoad = load;
      }
    }
    return best;
  }

  slot(i) {
    let s = this.slots[i];
    if (!s) {
      s = new Slot(this, i);
      this.slots[i] = s;
    }
    return s;
  }

  run(index, lib, op, args, transfer, quick = false) {
    const id = this.nextId++;
    this.requests++;
    return this.slot(index).send({ id, lib, op, args, quick }, transfer);
  }

  /** Stops the workers (they are unref'ed when idle, so this is rarely needed). */
  async terminate() {
    const slots = this.slots.filter(Boolean);
    this.slots.fill(null);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

let shared = null;
function pool() {
  if (!shared) shared = new Pool();
  return shared;
}

module.exports = { pool, Pool };
