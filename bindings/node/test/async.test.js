'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const bitcask = require('..');
const { BitcaskError } = bitcask;
const { tmpdir } = require('../support/testing');

test('openAsync + putAsync / getAsync / deleteAsync / syncAsync / closeAsync', async () => {
  const dir = tmpdir();
  const db = await bitcask.openAsync(dir, { sync: 'always' });
  assert.ok(db instanceof bitcask.Bitcask);
  assert.equal(db.path, dir);
  await db.putAsync('k', 'v');
  await db.putAsync(Buffer.from('b'), new Uint8Array([1, 2, 3]));
  assert.deepEqual(await db.getAsync('k'), Buffer.from('v'));
  assert.deepEqual(await db.getAsync(new Uint8Array([98])), Buffer.from([1, 2, 3]));
  assert.ok(Buffer.isBuffer(await db.getAsync('k')));
  assert.equal(await db.getAsync('missing'), undefined);
  assert.equal(db.get('k').toString(), 'v'); // the sync API sees async writes
  db.put('sync', 'write');
  assert.equal((await db.getAsync('sync')).toString(), 'write');
  await db.deleteAsync('k');
  assert.equal(await db.getAsync('k'), undefined);
  await db.putAsync('ttl', 'v', { ttlMs: 3600000 });
  await db.putAsync('past', 'v', { expiresAt: new Date(Date.now() - 1000) });
  assert.equal((await db.getAsync('ttl')).toString(), 'v');
  assert.equal(await db.getAsync('past'), undefined);
  await db.syncAsync();
  await db.closeAsync();
  assert.equal(db.closed, true);
  await db.closeAsync(); // idempotent
  db.close();
  const again = bitcask.open(dir); // lock released
  assert.equal(again.get('sync').toString(), 'write');
  again.close();
});

test('large values through the worker, and the caller may reuse its buffer at once', async () => {
  const db = await bitcask.openAsync(tmpdir());
  try {
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    const expected = Buffer.from(big);
    const p = db.putAsync('big', big);
    big.fill(0); // the value was copied when putAsync was called
    await p;
    const got = await db.getAsync('big');
    assert.ok(got.equals(expected));
    assert.ok(db.get('big').equals(expected));
  } finally {
    await db.closeAsync();
  }
});

test('async operations on one store take effect in call order', async () => {
  const db = await bitcask.openAsync(tmpdir());
  try {
    const ops = [];
    for (let i = 0; i < 300; i++) ops.push(db.putAsync('k', String(i)));
    ops.push(db.deleteAsync('gone'));
    const read = db.getAsync('k'); // queued after every put
    await Promise.all(ops);
    assert.equal((await read).toString(), '299');
    assert.equal(db.get('k').toString(), '299');
  } finally {
    await db.closeAsync();
  }
});

test('openAsync on a locked directory rejects with LOCKED and the message naming it', async () => {
  const dir = tmpdir();
  const holder = bitcask.open(dir);
  try {
    await assert.rejects(bitcask.openAsync(dir), (err) => {
      assert.ok(err instanceof BitcaskError);
      assert.equal(err.code, 'LOCKED');
      assert.equal(err.status, bitcask.Status.LOCKED);
      assert.ok(err.message.includes(dir), `message should name ${dir}: ${err.message}`);
      return true;
    });
  } finally {
    holder.close();
  }
  // Once released it opens.
  const db = await bitcask.openAsync(dir);
  await db.closeAsync();
});

test('concurrent failing async calls each keep their own message', async () => {
  // Many locked directories, opened concurrently: every rejection must name its own
  // directory, which a message read on the wrong OS thread would not.
  const dirs = Array.from({ length: 16 }, () => tmpdir('locked'));
  const holders = dirs.map((d) => bitcask.open(d));
  const ro = bitcask.open(dirs[0], { readOnly: true });
  const rw = await bitcask.openAsync(tmpdir());
  // Paths the library refuses (INVALID_ARGUMENT): a plain file, each with its own name.
  const files = dirs.map((d) => `${d}.file`);
  for (const f of files) fs.writeFileSync(f, 'x');
  try {
    const calls = [];
    for (let round = 0; round < 3; round++) {
      for (const [i, d] of dirs.entries()) {
        calls.push(bitcask.openAsync(d).then(
          () => assert.fail('opened a locked directory'),
          (err) => {
            assert.equal(err.code, 'LOCKED');
            assert.ok(err.message.includes(d), `${err.message} should name ${d}`);
            for (const other of dirs) {
              if (other !== d) assert.ok(!err.message.includes(`${other} `), err.message);
            }
          },
        ));
        calls.push(bitcask.openAsync(files[i]).then(
          () => assert.fail('opened a file as a store'),
          (err) => {
            assert.equal(err.code, 'INVALID_ARGUMENT');
            assert.equal(err.message, `${files[i]} is not a directory`);
          },
        ));
        calls.push(ro.putAsync('k', 'v').then(
          () => assert.fail('read-only write accepted'),
          (err) => {
            assert.equal(err.code, 'READ_ONLY');
            assert.ok(err.message.length > 0);
          },
        ));
        calls.push(rw.putAsync(`ok-${round}`, d)); // successes interleaved
      }
    }
    await Promise.all(calls);
    assert.equal(rw.get('ok-2').toString(), dirs[dirs.length - 1]);
  } finally {
    ro.close();
    for (const h of holders) h.close();
    await rw.closeAsync();
  }
});

test('async error paths: invalid options, read-only writes, merge and batches', async () => {
  // Out-of-range options are refused before the library is called (test/arguments.test.js).
  await assert.rejects(bitcask.openAsync(tmpdir(), { maxFileSize: 100 }), (err) => {
    assert.ok(err instanceof RangeError);
    assert.equal(err.code, 'ERR_OUT_OF_RANGE');
    assert.match(err.message, /^maxFileSize must be an integer from 4096 to 4294967295 \(got 100\)$/);
    return true;
  });
  await assert.rejects(bitcask.openAsync(tmpdir(), { fragMergeTrigger: 500 }), { code: 'ERR_OUT_OF_RANGE' });
  await assert.rejects(bitcask.openAsync(tmpdir(), { createIfMissing: false }), (err) => {
    assert.equal(err.code, 'IO');
    assert.ok(err.message.length > 0);
    return true;
  });

  const dir = tmpdir();
  const w = bitcask.open(dir);
  w.put('k', 'v');
  w.close();
  const ro = await bitcask.openAsync(dir, { readOnly: true });
  try {
    assert.equal((await ro.getAsync('k')).toString(), 'v');
    await assert.rejects(ro.putAsync('k', 'x'), { code: 'READ_ONLY' });
    await assert.rejects(ro.deleteAsync('k'), { code: 'READ_ONLY' });
    await assert.rejects(ro.mergeAsync(), { code: 'READ_ONLY' });
    await assert.rejects(ro.batch().put('a', 'b').commitAsync(), { code: 'READ_ONLY' });
    await ro.syncAsync();
  } finally {
    await ro.closeAsync();
  }
});

test('async methods reject (never throw) on wrong types', async () => {
  const db = await bitcask.openAsync(tmpdir());
  try {
    for (const bad of [1, null, undefined, {}, 2n]) {
      const p = db.getAsync(bad);
      assert.ok(p instanceof Promise);
      await assert.rejects(p, TypeError);
      await assert.rejects(db.putAsync(bad, 'v'), TypeError);
      await assert.rejects(db.putAsync('k', bad), TypeError);
      await assert.rejects(db.deleteAsync(bad), TypeError);
    }
    await assert.rejects(db.putAsync('k', 'v', { ttlMs: 'soon' }), TypeError);
    await assert.rejects(db.putAsync('k', 'v', { ttlMs: -5 }), RangeError);
    await assert.rejects(bitcask.openAsync(42), TypeError);
    await assert.rejects(bitcask.openAsync(tmpdir(), { sync: 'often' }), TypeError);
    await assert.rejects(bitcask.openAsync(tmpdir(), { libraryPath: '/nope/libbitcask.so' }),
      { code: 'LIBRARY_NOT_FOUND' });
  } finally {
    await db.closeAsync();
  }
});

test('close() while async operations run throws BUSY; closeAsync() waits for them', async () => {
  const dir = tmpdir();
  const db = await bitcask.openAsync(dir);
  const pending = [];
  for (let i = 0; i < 50; i++) pending.push(db.putAsync(`k${i}`, 'v'));
  assert.throws(() => db.close(), (err) => {
    assert.equal(err.code, 'BUSY');
    assert.match(err.message, /closeAsync/);
    return true;
  });
  assert.equal(db.closed, false);
  await Promise.all(pending);
  db.close(); // nothing running now
  assert.equal(db.closed, true);

  const db2 = await bitcask.openAsync(dir);
  const writes = [];
  for (let i = 0; i < 50; i++) writes.push(db2.putAsync(`j${i}`, 'v'));
  const closing = db2.closeAsync();
  assert.equal(db2.closed, true);
  await assert.rejects(db2.putAsync('late', 'v'), { code: 'CLOSED' });
  assert.throws(() => db2.get('k1'), { code: 'CLOSED' });
  assert.throws(() => db2.close(), { code: 'BUSY' });
  assert.equal(db2.closeAsync(), closing);
  await Promise.all(writes);
  await closing;
  const db3 = bitcask.open(dir);
  assert.equal(db3.get('j49').toString(), 'v');
  assert.equal(db3.get('late'), undefined);
  db3.close();
});

test('mergeAsync compacts without blocking other async calls on the store', async () => {
  const db = await bitcask.openAsync(tmpdir(), { maxFileSize: 4096 });
  try {
    for (let round = 0; round < 5; round++) {
      const b = db.batch();
      for (let i = 0; i < 100; i++) b.put(`k${i}`, `${'x'.repeat(100)}${round}`);
      await b.commitAsync();
    }
    const before = db.stats();
    const merge = db.mergeAsync();
    const reads = [];
    for (let i = 0; i < 100; i++) reads.push(db.getAsync(`k${i}`));
    const values = await Promise.all(reads);
    await merge;
    assert.ok(values.every((v) => v.toString().endsWith('4')));
    const after = db.stats();
    assert.ok(after.deadBytes < before.deadBytes);
    assert.equal(after.mergesCompleted, 1);
    // Two merges at once: each either succeeds or reports BUSY.
    const results = await Promise.allSettled([db.mergeAsync(), db.mergeAsync()]);
    for (const r of results) {
      if (r.status === 'rejected') assert.equal(r.reason.code, 'BUSY');
    }
  } finally {
    await db.closeAsync();
  }
});

test('batch commitAsync: atomic on a worker, BUSY while running, reusable after', async () => {
  const db = await bitcask.openAsync(tmpdir());
  try {
    db.put('old', 'x');
    const b = db.batch();
    for (let i = 0; i < 1000; i++) b.put(`b${i}`, `v${i}`);
    b.delete('old');
    const p = b.commitAsync();
    assert.throws(() => b.put('x', 'y'), { code: 'BUSY' });
    assert.throws(() => b.commit(), { code: 'BUSY' });
    assert.throws(() => db.close(), { code: 'BUSY' });
    await p;
    assert.equal(b.length, 0);
    assert.equal(db.get('b999').toString(), 'v999');
    assert.equal(db.get('old'), undefined);
    await b.put('again', '1').commitAsync();
    assert.equal((await db.getAsync('again')).toString(), '1');
    await b.commitAsync(); // empty
  } finally {
    await db.closeAsync();
  }
});

test('commitAsync on a closed store rejects with CLOSED', async () => {
  const db = await bitcask.openAsync(tmpdir());
  const b = db.batch().put('a', 'b');
  await db.closeAsync();
  await assert.rejects(b.commitAsync(), { code: 'CLOSED' });
});

test('Symbol.asyncDispose closes', async () => {
  const dir = tmpdir();
  const db = await bitcask.openAsync(dir);
  await db.putAsync('k', 'v');
  await db[Symbol.asyncDispose]();
  assert.equal(db.closed, true);
  const again = await bitcask.openAsync(dir);
  assert.equal((await again.getAsync('k')).toString(), 'v');
  await again.closeAsync();
});

test('a worker that goes away fails its pending calls with INTERNAL; the next call gets a new one', async () => {
  const db = await bitcask.openAsync(tmpdir());
  try {
    const pending = [];
    for (let i = 0; i < 20; i++) pending.push(db.putAsync(`k${i}`, 'v'));
    const settled = Promise.allSettled(pending);
    await new Promise((r) => setImmediate(r)); // let the batch be posted
    await bitcask._internal.pool().terminate();
    const results = await settled;
    for (const r of results) {
      if (r.status === 'rejected') {
        assert.equal(r.reason.code, 'INTERNAL');
        assert.match(r.reason.message, /worker/);
      }
    }
    await db.putAsync('after', 'ok');
    assert.equal((await db.getAsync('after')).toString(), 'ok');
  } finally {
    await db.closeAsync();
  }
});
