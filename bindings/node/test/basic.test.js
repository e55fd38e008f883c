'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const { pipeline } = require('stream/promises');
const { Writable } = require('stream');
const bitcask = require('..');
const { tmpdir } = require('../support/testing');

function withDb(options, fn) {
  const db = bitcask.open(tmpdir(), options);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('library version matches the binding', () => {
  assert.equal(bitcask.libraryVersion(), '0.1.0');
  assert.equal(bitcask.BINDING_VERSION, '0.1.0');
  const info = bitcask.loadLibrary();
  assert.equal(info.version, '0.1.0');
  assert.ok(typeof info.path === 'string' && info.path.length > 0);
  withDb(undefined, (db) => assert.equal(db.libraryPath, info.path));
});

test('put / get / has / delete with strings, Buffers and Uint8Arrays', () => {
  withDb(undefined, (db) => {
    db.put('hello', 'world');
    assert.deepEqual(db.get('hello'), Buffer.from('world'));
    assert.ok(Buffer.isBuffer(db.get('hello')));
    assert.equal(db.has('hello'), true);

    db.put(Buffer.from([0, 1, 2]), new Uint8Array([9, 8, 7]));
    assert.deepEqual(db.get(new Uint8Array([0, 1, 2])), Buffer.from([9, 8, 7]));

    // A Uint8Array view with an offset: only its own bytes are used.
    const big = new Uint8Array([100, 101, 102, 103, 104]);
    db.put(big.subarray(1, 3), big.subarray(2, 5));
    assert.deepEqual(db.get(Buffer.from([101, 102])), Buffer.from([102, 103, 104]));

    // UTF-8 strings, empty value, key and value equal to the same string.
    db.put('ключ', 'значение ✓');
    assert.equal(db.get(Buffer.from('ключ', 'utf8')).toString('utf8'), 'значение ✓');
    db.put('empty', '');
    assert.deepEqual(db.get('empty'), Buffer.alloc(0));
    assert.equal(db.has('empty'), true);

    // Missing keys.
    assert.equal(db.get('missing'), undefined);
    assert.equal(db.has('missing'), false);

    db.put('hello', 'again');
    assert.equal(db.get('hello').toString(), 'again');
    db.delete('hello');
    assert.equal(db.get('hello'), undefined);
    assert.equal(db.has('hello'), false);
    db.delete('hello'); // deleting a missing key is fine
    db.delete('never-existed');
  });
});

test('values returned are copies independent of later writes', () => {
  withDb(undefined, (db) => {
    db.put('k', 'one');
    const v = db.get('k');
    db.put('k', 'two');
    const w = db.get('k');
    assert.equal(v.toString(), 'one');
    assert.equal(w.toString(), 'two');
    w[0] = 0x41;
    assert.equal(db.get('k').toString(), 'two');
  });
});

test('caller buffers can be reused right after put()', () => {
  withDb(undefined, (db) => {
    const key = Buffer.from('k1');
    const val = Buffer.from('v1');
    db.put(key, val);
    key.write('k2');
    val.write('v2');
    db.put(key, val);
    assert.equal(db.get('k1').toString(), 'v1');
    assert.equal(db.get('k2').toString(), 'v2');
  });
});

test('large values (beyond the scratch buffer) and long string keys', () => {
  withDb(undefined, (db) => {
    for (const size of [65535, 65536, 65537, 3 * 1024 * 1024 + 7]) {
      const v = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4093) v[i] = i & 0xff;
      db.put(`big-${size}`, v);
      assert.ok(db.get(`big-${size}`).equals(v), `size ${size}`);
    }
    const longKey = 'x'.repeat(5000) + 'é'; // longer than the string scratch buffer
    const longValue = 'y'.repeat(70000) + 'é';
    db.put(longKey, longValue);
    assert.equal(db.get(longKey).toString(), longValue);
    db.put('k'.repeat(bitcask.MAX_KEY_LEN), 'max key');
    assert.equal(db.get('k'.repeat(bitcask.MAX_KEY_LEN)).toString(), 'max key');
  });
});

test('TTL: ttlMs and expiresAt', async () => {
  const db = bitcask.open(tmpdir());
  try {
    db.put('short', 'v', { ttlMs: 30 });
    db.put('long', 'v', { ttlMs: 60 * 60 * 1000 });
    db.put('bigint', 'v', { ttlMs: 3600000n });
    db.put('past', 'v', { expiresAt: Date.now() - 1000 });
    db.put('future', 'v', { expiresAt: new Date(Date.now() + 3600000) });
    db.put('never', 'v', { expiresAt: 0 });
    assert.equal(db.get('past'), undefined);
    assert.equal(db.get('future').toString(), 'v');
    assert.equal(db.get('never').toString(), 'v');
    // Wait for expiry by polling: no timing assertion, only eventual expiry.
    for (let i = 0; i < 200 && db.has('short'); i++) await sleep(10);
    assert.equal(db.get('short'), undefined);
    assert.equal(db.get('long').toString(), 'v');
    assert.equal(db.get('bigint').toString(), 'v');
    // A plain put clears the TTL.
    db.put('short', 'again');
    assert.equal(db.get('short').toString(), 'again');
    assert.ok(![...db.keys()].some((k) => k.toString() === 'past'));
  } finally {
    db.close();
  }
});

test('keys() and entries() iterate over a snapshot', () => {
  withDb(undefined, (db) => {
    const want = new Map();
    for (let i = 0; i < 500; i++) {
      want.set(`key-${i}`, `value-${i}`);
      db.put(`key-${i}`, `value-${i}`);
    }
    db.delete('key-7');
    want.delete('key-7');

    const keys = [...db.keys()].map(String).sort();
    assert.deepEqual(keys, [...want.keys()].sort());

    const it = db.entries();
    db.put('added-after-snapshot', 'x');
    db.put('key-1', 'changed');
    const got = new Map();
    for (const [k, v] of it) {
      assert.ok(Buffer.isBuffer(k) && Buffer.isBuffer(v));
      got.set(k.toString(), v.toString());
    }
    assert.deepEqual(got, want); // the snapshot: no new key, old value of key-1

    // The store itself is iterable (entries).
    const all = new Map([...db].map(([k, v]) => [k.toString(), v.toString()]));
    assert.equal(all.get('key-1'), 'changed');
    assert.equal(all.get('added-after-snapshot'), 'x');

    // An exhausted iterator stays exhausted.
    const it2 = db.keys();
    while (!it2.next().done);
    assert.deepEqual(it2.next(), { done: true, value: undefined });
  });
});

test('breaking out of an iteration frees it (return())', () => {
  withDb(undefined, (db) => {
    for (let i = 0; i < 100; i++) db.put(`k${i}`, 'v');
    let n = 0;
    for (const k of db.keys()) {
      assert.ok(Buffer.isBuffer(k));
      if (++n === 3) break;
    }
    assert.equal(n, 3);
    const it = db.entries();
    assert.equal(it.next().done, false);
    assert.deepEqual(it.return(), { done: true, value: undefined });
    assert.deepEqual(it.next(), { done: true, value: undefined });
    assert.deepEqual(it.return(42), { done: true, value: 42 }); // idempotent
    // Spread / destructuring also end early.
    const [first, second] = db.keys();
    assert.ok(first && second);
  });
});

test('an iterator outlives its store', () => {
  const db = bitcask.open(tmpdir());
  db.put('a', '1');
  db.put('b', '2');
  const it = db.entries();
  db.close();
  const got = [...it].map(([k, v]) => `${k}=${v}`).sort();
  assert.deepEqual(got, ['a=1', 'b=2']);
});

test('stats() parses bc_stats_json', () => {
  withDb({ maxFileSize: 4096 }, (db) => {
    for (let i = 0; i < 100; i++) db.put(`k${i}`, 'v'.repeat(100));
    for (let i = 0; i < 50; i++) db.delete(`k${i}`);
    const s = db.stats();
    assert.equal(s.liveKeys, 50);
    assert.ok(s.dataFiles > 1);
    assert.ok(s.totalBytes > 0);
    assert.ok(s.deadBytes > 0);
    assert.ok(s.keydirBytes > 0);
    assert.equal(s.damagedRanges, 0);
    assert.ok(Array.isArray(s.files) && s.files.length === s.dataFiles);
    for (const f of s.files) {
      assert.equal(typeof f.fileId, 'number');
      assert.equal(typeof f.totalBytes, 'number');
      assert.equal(typeof f.deadBytes, 'number');
      assert.equal(typeof f.fragmentation, 'number');
    }
  });
});

test('sync() and the sync options', () => {
  for (const sync of ['none', 'always', 'interval']) {
    withDb({ sync, syncIntervalMs: 5 }, (db) => {
      db.put('k', sync);
      db.sync();
      assert.equal(db.get('k').toString(), sync);
    });
  }
});

test('data survives close and reopen; close() is idempotent', () => {
  const dir = tmpdir();
  const db = bitcask.open(dir, { sync: 'always' });
  db.put('persist', 'yes');
  assert.equal(db.closed, false);
  db.close();
  assert.equal(db.closed, true);
  db.close();
  db.close();
  const again = bitcask.open(new URL(`file://${dir}`));
  assert.equal(again.get('persist').toString(), 'yes');
  assert.equal(again.path, dir);
  again.close();
});

test('open options: readOnly, createIfMissing, maxFileSize', () => {
  const dir = tmpdir();
  assert.throws(() => bitcask.open(dir, { createIfMissing: false }), { name: 'BitcaskError', code: 'IO' });
  assert.equal(fs.existsSync(dir), false);

  const w = bitcask.open(dir, { maxFileSize: 4096 });
  w.put('k', 'v');
  w.sync();
  // A read-only handle opens beside the writer and sees the data as of its open.
  const r = bitcask.open(dir, { readOnly: true });
  assert.equal(r.readOnly, true);
  assert.equal(w.readOnly, false);
  assert.equal(r.get('k').toString(), 'v');
  assert.throws(() => r.put('k', 'x'), { code: 'READ_ONLY', status: bitcask.Status.READ_ONLY });
  assert.throws(() => r.delete('k'), { code: 'READ_ONLY' });
  assert.throws(() => r.batch().put('a', 'b').commit(), { code: 'READ_ONLY' });
  assert.throws(() => r.merge(), { code: 'READ_ONLY' });
  assert.equal(r.needsMerge(), false);
  r.sync(); // a no-op on a read-only handle
  r.close();
  w.close();
});

test('getInto copies into a caller buffer', () => {
  withDb(undefined, (db) => {
    db.put('k', 'hello');
    const buf = Buffer.alloc(16, 0xee);
    assert.equal(db.getInto('k', buf), 5);
    assert.equal(buf.subarray(0, 5).toString(), 'hello');
    assert.equal(buf[5], 0xee);

    const exact = new Uint8Array(5);
    assert.equal(db.getInto('k', exact), 5);
    assert.equal(Buffer.from(exact).toString(), 'hello');

    const small = Buffer.alloc(3, 0xaa);
    assert.throws(() => db.getInto('k', small), (err) => {
      assert.equal(err.name, 'BitcaskError');
      assert.equal(err.code, 'BUFFER_TOO_SMALL');
      assert.equal(err.status, bitcask.Status.BUFFER_TOO_SMALL);
      assert.equal(err.neededLength, 5);
      assert.ok(err.message.length > 0);
      return true;
    });
    assert.deepEqual(small, Buffer.alloc(3, 0xaa)); // nothing written
    assert.throws(() => db.getInto('k', Buffer.alloc(0)), { code: 'BUFFER_TOO_SMALL', neededLength: 5 });

    assert.equal(db.getInto('missing', buf), undefined);
    db.put('empty', '');
    assert.equal(db.getInto('empty', Buffer.alloc(0)), 0);
  });
});

async function collect(stream) {
  const chunks = [];
  await pipeline(stream, new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  }));
  return chunks;
}

test('createReadStream streams a value in chunks', async () => {
  const db = bitcask.open(tmpdir());
  try {
    const value = Buffer.alloc(1024 * 1024 + 123);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7) & 0xff;
    db.put('big', value);
    const s = db.createReadStream('big', { highWaterMark: 64 * 1024 });
    assert.equal(s.valueLength, value.length);
    const chunks = await collect(s);
    assert.ok(chunks.length > 1);
    assert.ok(chunks.every((c) => c.length <= 64 * 1024));
    assert.ok(Buffer.concat(chunks).equals(value));

    // start / end (inclusive), like fs.createReadStream.
    const part = Buffer.concat(await collect(db.createReadStream('big', { start: 10, end: 99 })));
    assert.ok(part.equals(value.subarray(10, 100)));
    const tail = Buffer.concat(await collect(db.createReadStream('big', { start: value.length - 5 })));
    assert.ok(tail.equals(value.subarray(value.length - 5)));
    const none = Buffer.concat(await collect(db.createReadStream('big', { start: value.length + 10 })));
    assert.equal(none.length, 0);

    db.put('empty', '');
    assert.equal(Buffer.concat(await collect(db.createReadStream('empty'))).length, 0);

    assert.throws(() => db.createReadStream('missing'), { name: 'BitcaskError', code: 'NOT_FOUND' });
    assert.throws(() => db.createReadStream('big', { highWaterMark: 0 }), RangeError);
    assert.throws(() => db.createReadStream('big', { chunk: 1 }), TypeError);
  } finally {
    db.close();
  }
});

test('a stream keeps reading its version across overwrite, delete, merge and close', async () => {
  const dir = tmpdir();
  const db = bitcask.open(dir, { maxFileSize: 4096 });
  const v1 = Buffer.alloc(300000, 1);
  db.put('k', v1);
  const s = db.createReadStream('k', { highWaterMark: 4096 });
  const first = s.read(0); // start reading
  assert.equal(first, null);
  db.put('k', Buffer.alloc(10, 2));
  db.delete('k');
  for (let i = 0; i < 50; i++) db.put(`filler${i}`, Buffer.alloc(500, 3));
  db.merge();
  db.close();
  const got = Buffer.concat(await collect(s));
  assert.ok(got.equals(v1));
});

test('destroying a stream early closes the reader', async () => {
  withDb(undefined, (db) => {
    db.put('k', Buffer.alloc(200000, 5));
    const s = db.createReadStream('k', { highWaterMark: 1000 });
    s.destroy();
    assert.equal(s.destroyed, true);
  });
});

test('batches: chainable, atomic, reusable, with TTL', () => {
  withDb(undefined, (db) => {
    db.put('gone', 'x');
    const b = db.batch();
    assert.equal(b.length, 0);
    const ret = b.put('a', '1').put(Buffer.from('b'), new Uint8Array([50])).delete('gone')
      .put('t', 'ttl', { ttlMs: 3600000 });
    assert.equal(ret, b);
    assert.equal(b.length, 4);
    // Nothing is visible before commit.
    assert.equal(db.get('a'), undefined);
    assert.equal(db.get('gone').toString(), 'x');
    b.commit();
    assert.equal(b.length, 0);
    assert.equal(db.get('a').toString(), '1');
    assert.equal(db.get('b').toString(), '2');
    assert.equal(db.get('gone'), undefined);
    assert.equal(db.get('t').toString(), 'ttl');

    // Reuse after commit; clear() drops pending operations.
    b.put('c', '3').commit();
    assert.equal(db.get('c').toString(), '3');
    b.put('d', '4').clear();
    assert.equal(b.length, 0);
    b.commit(); // an empty batch commits trivially
    assert.equal(db.get('d'), undefined);

    // A failing add throws at put() time.
    assert.throws(() => db.batch().put('', 'empty key'), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => db.batch().put('k', 'v', { ttlMs: 0 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });

    // dispose() frees it; later use throws CLOSED.
    const d = db.batch().put('never', 'committed');
    d.dispose();
    d.dispose();
    assert.throws(() => d.put('x', 'y'), { code: 'CLOSED' });
    assert.throws(() => d.commit(), { code: 'CLOSED' });
    assert.equal(db.get('never'), undefined);

    const big = db.batch();
    for (let i = 0; i < 1000; i++) big.put(`bulk${i}`, `v${i}`);
    big.commit();
    assert.equal(db.get('bulk999').toString(), 'v999');
  });
});

test('a batch on a closed store throws CLOSED', () => {
  const db = bitcask.open(tmpdir());
  const b = db.batch().put('a', 'b');
  db.close();
  assert.throws(() => b.commit(), { code: 'CLOSED' });
  assert.throws(() => db.batch(), { code: 'CLOSED' });
});

test('merge() compacts, needsMerge() reports the triggers, merge options are applied', () => {
  const dir = tmpdir();
  const db = bitcask.open(dir, {
    maxFileSize: 4096,
    fragMergeTrigger: 10,
    deadBytesMergeTrigger: 1n << 40n,
    fragThreshold: 10,
    deadBytesThreshold: 1024 * 1024 * 1024,
    smallFileThreshold: 0,
    autoMerge: false,
    mergeWindow: [0, 0],
    mergeCheckIntervalMs: 60000,
  });
  try {
    assert.equal(db.needsMerge(), false);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 60; i++) db.put(`k${i}`, `${'v'.repeat(100)}${round}`);
    }
    for (let i = 0; i < 30; i++) db.delete(`k${i}`);
    assert.equal(db.needsMerge(), true);
    const before = db.stats();
    db.merge();
    const after = db.stats();
    assert.ok(after.deadBytes < before.deadBytes);
    assert.ok(after.totalBytes < before.totalBytes);
    assert.equal(after.liveKeys, 30);
    assert.equal(db.needsMerge(), false);
    assert.equal(db.get('k0'), undefined);
    assert.equal(db.get('k59').toString(), `${'v'.repeat(100)}4`);
  } finally {
    db.close();
  }
  const again = bitcask.open(dir);
  assert.equal(again.get('k59').toString(), `${'v'.repeat(100)}4`);
  assert.equal(again.get('k1'), undefined);
  again.close();
  assert.throws(() => bitcask.open(tmpdir(), { fragMergeTrigger: 101 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => bitcask.open(tmpdir(), { mergeWindow: [0, 24] }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => bitcask.open(tmpdir(), { mergeWindow: 5 }), TypeError);
  assert.throws(() => bitcask.open(tmpdir(), { mergeCheckIntervalMs: 0 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
});

test('explicit resource management: Symbol.dispose closes', () => {
  const dir = tmpdir();
  {
    const db = bitcask.open(dir);
    db.put('k', 'v');
    db[Symbol.dispose]();
    assert.equal(db.closed, true);
  }
  const db2 = bitcask.open(dir);
  assert.equal(db2.get('k').toString(), 'v');
  db2.close();
});
