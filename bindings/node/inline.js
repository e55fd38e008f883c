'use strict';

// When an async call is answered on the calling thread instead of a worker (db.js).
//
// Why: a worker round trip costs tens of microseconds (postMessage, waking the worker, the
// reply, waking the main thread), while a small get or a put that does not fsync is a
// 1-3 us memory copy: the keydir lookup and a read from the data file's memory map, or an
// append into the mapped active file. Sending those to a worker made the Promise API
// slower than lmdb-js and classic-level (issue 19, docs/BENCH.md); answering them at once
// makes getAsync and an awaited putAsync about as fast as get() and put().
//
// When it is honest, i.e. when the call does not wait for the disk:
// - never a call that fsyncs: writes of a store opened with sync 'always' go to the worker.
//   Under 'none' and 'interval' a put appends into the page cache (the interval sync runs
//   on the library's own thread and does not hold the writer lock while it fsyncs);
// - only small values (at most MAX_VALUE bytes): a larger one costs a CRC pass and copies
//   that grow with it (a get that finds a larger value sends it to the worker);
// - never ahead of an earlier call of the same store still queued on its worker (db.js),
//   so that calls keep taking effect in call order;
// - reads fault pages in from the memory map: a value whose page is not in the page cache
//   is read from the disk by a page fault of the calling thread. Asking first (mincore)
//   costs about 2 us per call on the test VM, as much as the get itself. Instead, every
//   `sampleEvery` inline calls the calling thread's count of major page faults (faults that
//   read the disk) is read (getrusage, about 0.6 us); if it grew, the store sends its calls
//   to the worker for `backoffMs`, then tries again. So a store larger than memory settles
//   on the worker after at most `sampleEvery` disk reads on the calling thread, and a store
//   that fits stays inline. (A fault elsewhere on the thread pauses it too: cautious.)
//   Not detected: a write stalled by the file system (ext4 can make a write fault on the
//   map wait for a journal commit that a concurrent fsync forced).

const koffi = require('koffi');

const MAX_VALUE = 64 * 1024;

// getrusage(2): RUSAGE_THREAD (Linux) counts this thread's faults only; elsewhere the
// process's (RUSAGE_SELF), which also counts the workers' faults: more pauses, still right.
const RUSAGE_THREAD = 1;
const RUSAGE_SELF = 0;
// struct rusage: two struct timevals (32 bytes), then longs; ru_majflt is the 6th long.
const MAJFLT_INDEX = (32 + 5 * 8) / 8;
let getrusage = null;
const usage = new BigInt64Array(18); // sizeof(struct rusage) = 144

/** The calling thread's major page faults so far, or 0n where getrusage is not available. */
function majorFaults() {
  if (getrusage === null) {
    try {
      getrusage = koffi.load(null).func('int getrusage(int who, void *usage)');
    } catch {
      getrusage = () => -1;
    }
  }
  const who = process.platform === 'linux' ? RUSAGE_THREAD : RUSAGE_SELF;
  return getrusage(who, usage) === 0 ? usage[MAJFLT_INDEX] : 0n;
}

/** Tunables (tests change them through bitcask._internal.inlinePolicy). */
const policy = {
  sampleEvery: 16, // a power of two
  backoffMs: 1000,
  majorFaults,
  now: () => performance.now(),
};

module.exports = { MAX_VALUE, policy };
