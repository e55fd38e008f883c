'use strict';

// Async calls answered on the calling thread (inline.js) and their limits: which calls go
// to the worker, call order across the two paths, close() with calls in flight, and the
// pause after a read that faulted in a page from the disk.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const koffi = require('koffi');
const bitcask = require('..');
const { tmpdir } = require('../support/testing');

const { pool, inlinePolicy } = bitcask._internal;
const SMALL = 64 * 1024; // inline.js MAX_VALUE

/** Runs fn and returns how many requests it sent to worker threads. */
async function workerRequests(fn) {
  const before = pool().requests;
  await fn();
  return pool().requests - before;
}

/** Changes inline.policy for the duration of fn. */
async function withPolicy(changes, fn) {
  const saved = { ...inlinePolicy };
  Object.assign(inlinePolicy, changes);
  try {
    return await fn();
  } finally {
    Object.assign(inlinePolicy, saved);
  }
}

test('openAsync and small async calls start no worker thread; closeAsync uses one', async () => {
  // This test file's first test: no other test has started a worker in this process.
  assert.ok(pool().slots.every((s) => s === null), 'no worker before');
  const db = await bitcask.openAsync(tmpdir());
  await db.putAsync('k', 'v');
  await db.putAsync('t', 'v', { ttlMs: 60000 });
  assert.equal((await db.getAsync('k')).toString(), 'v');
  assert.equal(await db.getAsync('missing'), undefined);
  await db.deleteAsync('k');
  assert.equal(await db.getAsync('k'), undefined);
  assert.ok(pool().slots.every((s) => s === null), 'no worker after inline calls');
  assert.equal(pool().requests, 0);
  await db.closeAsync(); // syncs: on a worker
  assert.equal(pool().requests, 1);
});

test('which calls go to the worker: large values, sync always writes, sync and merge', async () => {
  const db = await bitcask.openAsync(tmpdir());
  const durable = await bitcask.openAsync(tmpdir(), { sync: 'always' });
  try {
    const atLimit = Buffer.alloc(SMALL, 1);
    const over = Buffer.alloc(SMALL + 1, 2);
    assert.equal(await workerRequests(async () => {
      await db.putAsync('limit', atLimit);
      assert.ok((await db.getAsync('limit')).equals(atLimit));
    }), 0);
    assert.equal(await workerRequests(() => db.putAsync('over', over)), 1);
    // The get finds a value over the limit on this thread, copies nothing, and asks the worker.
    assert.equal(await workerRequests(async () => {
      assert.ok((await db.getAsync('over')).equals(over));
    }), 1);
    assert.equal(await workerRequests(() => db.syncAsync()), 1);
    // sync 'always': writes fsync, so they go to the worker; reads stay inline.
    assert.equal(await workerRequests(async () => {
      await durable.putAsync('k', 'v');
      await durable.deleteAsync('gone');
    }), 2);
    assert.equal(await workerRequests(async () => {
      assert.equal((await durable.getAsync('k')).toString(), 'v');
    }), 0);
  } finally {
    await db.closeAsync();
    await durable.closeAsync();
  }
});

test('calls take effect in call order across inline and worker calls', async () => {
  const db = await bitcask.openAsync(tmpdir());
  try {
    const big = Buffer.alloc(SMALL * 2, 7);
    const p1 = db.putAsync('k', big); // worker
    const p2 = db.getAsync('k'); // must not answer from before p1: queued behind it
    const p3 = db.putAsync('k', 'small'); // behind p2
    const p4 = db.getAsync('k');
    const p5 = db.deleteAsync('k');
    const p6 = db.getAsync('k');
    await p1;
    assert.ok((await p2).equals(big));
    await p3;
    assert.equal((await p4).toString(), 'small');
    await p5;
    assert.equal(await p6, undefined);

    // Mixed with the sync API: each sees what was called (and settled) before it.
    db.put('s', 'sync');
    assert.equal((await db.getAsync('s')).toString(), 'sync');
    await db.putAsync('s', 'async');
    assert.equal(db.get('s').toString(), 'async');
    const pending = db.putAsync('s', big); // worker: not applied until it settles
    await pending;
    assert.ok(db.get('s').equals(big));
    db.put('s', 'sync again');
    assert.equal((await db.getAsync('s')).toString(), 'sync again');
  } finally {
    await db.closeAsync();
  }
});

test('sync always store: a getAsync right after a putAsync sees it', async () => {
  const db = await bitcask.openAsync(tmpdir(), { sync: 'always' });
  try {
    const writes = [];
    const reads = [];
    for (let i = 0; i < 20; i++) {
      writes.push(db.putAsync('k', String(i)));
      reads.push(db.getAsync('k'));
    }
    await Promise.all(writes);
    const got = (await Promise.all(reads)).map(String);
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => String(i)));
  } finally {
    await db.closeAsync();
  }
});

test('many calls in flight, inline and on the worker, match a sequential model', async () => {
  const db = await bitcask.openAsync(tmpdir());
  try {
    const model = new Map();
    const expected = [];
    const calls = [];
    let seed = 12345;
    const rand = (n) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 6000; i++) {
      const key = `k${rand(50)}`;
      const r = rand(100);
      if (r < 45) {
        calls.push(db.getAsync(key));
        expected.push(model.get(key));
      } else if (r < 85) {
        // One value in 20 goes to the worker.
        const value = rand(20) === 0 ? Buffer.alloc(SMALL + 10 + rand(100), i & 0xff) : Buffer.from(`v${i}`);
        calls.push(db.putAsync(key, value));
        expected.push(undefined);
        model.set(key, value);
      } else {
        calls.push(db.deleteAsync(key));
        expected.push(undefined);
        model.delete(key);
      }
      if (rand(500) === 0) await calls[calls.length - 1]; // let some settle in between
    }
    const results = await Promise.all(calls);
    for (const [i, got] of results.entries()) {
      if (expected[i] === undefined) assert.equal(got, undefined, `call ${i}`);
      else assert.ok(Buffer.isBuffer(got) && got.equals(expected[i]), `call ${i}`);
    }
    for (const [key, value] of model) assert.ok(db.get(key).equals(value), key);
  } finally {
    await db.closeAsync();
  }
});

test('close() reports inline calls of this tick as running; closeAsync() waits for worker calls', async () => {
  const dir = tmpdir();
  const db = await bitcask.openAsync(dir);
  const p = db.putAsync('k', 'v'); // done already, but its caller has not seen it settle
  assert.throws(() => db.close(), (err) => err.code === 'BUSY' && /1 async operation/.test(err.message));
  await p;
  const g = db.getAsync('k');
  assert.throws(() => db.close(), { code: 'BUSY' });
  assert.equal((await g).toString(), 'v');
  db.close();
  assert.equal(db.closed, true);

  const db2 = await bitcask.openAsync(dir);
  const big = Buffer.alloc(SMALL + 1, 3);
  const calls = [db2.putAsync('a', 'small'), db2.putAsync('b', big), db2.getAsync('a'), db2.putAsync('c', 'after')];
  const closing = db2.closeAsync();
  await assert.rejects(db2.getAsync('a'), { code: 'CLOSED' });
  await assert.rejects(db2.putAsync('d', 'v'), { code: 'CLOSED' });
  const [, , a] = await Promise.all(calls);
  assert.equal(a.toString(), 'small');
  await closing;
  const check = bitcask.open(dir);
  assert.ok(check.get('b').equals(big));
  assert.equal(check.get('c').toString(), 'after');
  assert.equal(check.get('d'), undefined);
  check.close();
});

test('inline errors are the library\'s, read on this thread', async () => {
  const dir = tmpdir();
  bitcask.open(dir).close();
  const ro = await bitcask.openAsync(dir, { readOnly: true });
  try {
    await assert.rejects(ro.putAsync('k', 'v'), (err) => {
      assert.equal(err.code, 'READ_ONLY');
      assert.ok(err.message.includes(dir), err.message);
      return true;
    });
    await assert.rejects(ro.deleteAsync('k'), { code: 'READ_ONLY' });
    await assert.rejects(ro.getAsync(''), { code: 'ERR_OUT_OF_RANGE' });
    await assert.rejects(ro.getAsync(Buffer.alloc(bitcask.MAX_KEY_LEN + 1)), { code: 'ERR_OUT_OF_RANGE' });
  } finally {
    await ro.closeAsync();
  }
});

test('a read that faulted a page in from the disk pauses inline answers', async (t) => {
  const dir = tmpdir();
  let db = bitcask.open(dir, { maxFileSize: 65536 });
  for (let i = 0; i < 1000; i++) db.put(`k${i}`, Buffer.alloc(1000, i & 0xff));
  db.close(); // synced: the pages are clean and may be dropped from the page cache
  // Drop the data files from the page cache (POSIX_FADV_DONTNEED), then reopen: sealed
  // files are read through their hints, so their values are not cached again.
  const fadvise = koffi.load(null).func('int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)');
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.data'))) {
    const fd = fs.openSync(path.join(dir, f), 'r');
    try {
      fadvise(fd, 0, 0, 4);
    } finally {
      fs.closeSync(fd);
    }
  }
  db = await bitcask.openAsync(dir, { maxFileSize: 65536 });
  try {
    await withPolicy({ sampleEvery: 1, backoffMs: 60000 }, async () => {
      const before = inlinePolicy.majorFaults();
      const inline = await workerRequests(async () => {
        assert.equal((await db.getAsync('k0'))[0], 0);
      });
      assert.equal(inline, 0);
      if (inlinePolicy.majorFaults() === before) {
        t.skip('the page cache kept the data files: no fault to detect');
        return;
      }
      // Paused: the next reads and writes go to the worker.
      assert.equal(await workerRequests(async () => {
        assert.equal((await db.getAsync('k500'))[0], 500 & 0xff);
        await db.putAsync('new', 'v');
      }), 2);
    });
  } finally {
    await db.closeAsync();
  }
});

test('the pause ends after backoffMs; faults only count during sampled reads', async () => {
  const db = await bitcask.openAsync(tmpdir());
  let faults = 0n;
  let clock = 1000;
  try {
    await db.putAsync('k', 'v');
    await withPolicy({
      sampleEvery: 4, backoffMs: 50, majorFaults: () => faults, now: () => clock,
    }, async () => {
      faults += 1n; // a fault between reads (a put's fresh page, other code): not counted
      assert.equal(await workerRequests(async () => {
        for (let i = 0; i < 8; i++) await db.getAsync('k');
      }), 0);
      // A fault during a sampled read: of reads 9-12, the 12th (a multiple of 4) is sampled.
      inlinePolicy.majorFaults = () => {
        faults += 1n;
        return faults;
      };
      for (let i = 0; i < 4; i++) await db.getAsync('k');
      inlinePolicy.majorFaults = () => faults;
      assert.equal(await workerRequests(async () => {
        await db.getAsync('k');
        await db.putAsync('k', 'w');
      }), 2);
      clock += 49;
      assert.equal(await workerRequests(() => db.getAsync('k')), 1);
      clock += 1;
      assert.equal(await workerRequests(async () => {
        assert.equal((await db.getAsync('k')).toString(), 'w');
        await db.putAsync('k', 'x');
      }), 0);
    });
  } finally {
    await db.closeAsync();
  }
});
