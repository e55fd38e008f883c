'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const bitcask = require('..');
const { BitcaskError, Status } = bitcask;
const { tmpdir } = require('../support/testing');

const BAD_BYTES = [1, 1n, null, undefined, true, {}, [1, 2], new Uint16Array(2), new ArrayBuffer(2), Symbol('k')];

test('BitcaskError: class, codes and statuses', () => {
  const e = new BitcaskError(Status.LOCKED, 'msg');
  assert.ok(e instanceof Error);
  assert.ok(e instanceof BitcaskError);
  assert.equal(e.name, 'BitcaskError');
  assert.equal(e.code, 'LOCKED');
  assert.equal(e.status, 5);
  assert.equal(e.message, 'msg');
  const expected = {
    NOT_FOUND: 1, INVALID_ARGUMENT: 2, IO: 3, CORRUPTION: 4, LOCKED: 5, READ_ONLY: 6,
    INTERNAL: 7, BUFFER_TOO_SMALL: 8, BUSY: 9, CLOSED: -1,
  };
  for (const [code, status] of Object.entries(expected)) {
    assert.equal(Status[code], status);
    assert.equal(new BitcaskError(status, 'x').code, code);
  }
  assert.equal(new BitcaskError(1234, 'x').code, 'UNKNOWN');
});

test('wrong JS types throw TypeError before reaching the library', () => {
  const db = bitcask.open(tmpdir());
  try {
    for (const bad of BAD_BYTES) {
      assert.throws(() => db.get(bad), TypeError, `get(${String(bad)})`);
      assert.throws(() => db.has(bad), TypeError);
      assert.throws(() => db.put(bad, 'v'), TypeError);
      assert.throws(() => db.put('k', bad), TypeError);
      assert.throws(() => db.delete(bad), TypeError);
      assert.throws(() => db.getInto(bad, Buffer.alloc(4)), TypeError);
      assert.throws(() => db.createReadStream(bad), TypeError);
      assert.throws(() => db.batch().put(bad, 'v'), TypeError);
      assert.throws(() => db.batch().put('k', bad), TypeError);
      assert.throws(() => db.batch().delete(bad), TypeError);
    }
    assert.throws(() => db.getInto('k', 'not a buffer'), TypeError);
    assert.throws(() => db.getInto('k', [0, 0]), TypeError);
    assert.throws(() => db.put('k', 'v', { ttlMs: '10' }), TypeError);
    assert.throws(() => db.put('k', 'v', { ttl: 10 }), TypeError); // unknown option
    assert.throws(() => db.put('k', 'v', 10), TypeError);
    assert.throws(() => db.put('k', 'v', { ttlMs: 10, expiresAt: 10 }), TypeError);
    assert.throws(() => db.put('k', 'v', { expiresAt: 'tomorrow' }), TypeError);
    assert.throws(() => db.put('k', 'v', { ttlMs: -1 }), RangeError);
    assert.throws(() => db.put('k', 'v', { ttlMs: 1.5 }), RangeError);
    assert.throws(() => db.put('k', 'v', { ttlMs: 2n ** 64n }), RangeError);
    assert.throws(() => db.batch().put('k', 'v', { ttlMs: 'x' }), TypeError);
    assert.throws(() => db.batch().put('k', 'v', { expiresAt: 1 }), TypeError);
    // Nothing was written by any of these.
    assert.equal([...db.keys()].length, 0);
  } finally {
    db.close();
  }
});

test('bad open() arguments', () => {
  for (const bad of [1, null, undefined, {}, Buffer.from('/tmp/x')]) {
    assert.throws(() => bitcask.open(bad), TypeError);
  }
  assert.throws(() => bitcask.open('/tmp/a\0b'), TypeError);
  const dir = tmpdir();
  assert.throws(() => bitcask.open(dir, 'sync'), TypeError);
  assert.throws(() => bitcask.open(dir, { sync: 'sometimes' }), TypeError);
  assert.throws(() => bitcask.open(dir, { sync: 1 }), TypeError);
  assert.throws(() => bitcask.open(dir, { readOnly: 1 }), TypeError);
  assert.throws(() => bitcask.open(dir, { readonly: true }), /unknown open option 'readonly'/);
  assert.throws(() => bitcask.open(dir, { createIfMissing: 'yes' }), TypeError);
  assert.throws(() => bitcask.open(dir, { maxFileSize: '4096' }), TypeError);
  assert.throws(() => bitcask.open(dir, { maxFileSize: -1 }), RangeError);
  assert.throws(() => bitcask.open(dir, { syncIntervalMs: 2 ** 32 }), RangeError);
  assert.throws(() => bitcask.open(dir, { autoMerge: 'on' }), TypeError);
  assert.throws(() => bitcask.open(dir, { libraryPath: 42 }), TypeError);
  assert.equal(fs.existsSync(dir), false);
  assert.throws(() => new bitcask.Bitcask(), TypeError);
  assert.throws(() => new bitcask.Batch(), TypeError);
});

test('a path that is a file, or a directory of foreign files: INVALID_ARGUMENT with the library message', () => {
  const dir = tmpdir();
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'plain-file');
  fs.writeFileSync(file, 'x');
  assert.throws(() => bitcask.open(file), {
    name: 'BitcaskError', code: 'INVALID_ARGUMENT', status: 2, message: `${file} is not a directory`,
  });
  const foreign = path.join(dir, 'foreign');
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
  assert.throws(() => bitcask.open(foreign), (err) => {
    assert.ok(err instanceof BitcaskError);
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.ok(err.message.includes(foreign) && err.message.includes('notes.txt'), err.message);
    return true;
  });
});

test('a locked directory: LOCKED with the library message naming it', () => {
  const dir = tmpdir();
  const db = bitcask.open(dir);
  try {
    assert.throws(() => bitcask.open(dir), (err) => {
      assert.ok(err instanceof BitcaskError);
      assert.equal(err.code, 'LOCKED');
      assert.equal(err.status, Status.LOCKED);
      assert.ok(err.message.includes(dir), err.message);
      return true;
    });
    // A read-only open takes no lock.
    const r = bitcask.open(dir, { readOnly: true });
    r.close();
  } finally {
    db.close();
  }
  bitcask.open(dir).close(); // released by close()
});

test('every method on a closed store throws CLOSED', async () => {
  const db = bitcask.open(tmpdir());
  db.put('k', 'v');
  db.close();
  const sync = {
    get: () => db.get('k'),
    has: () => db.has('k'),
    put: () => db.put('k', 'v'),
    delete: () => db.delete('k'),
    getInto: () => db.getInto('k', Buffer.alloc(4)),
    sync: () => db.sync(),
    stats: () => db.stats(),
    keys: () => db.keys(),
    entries: () => db.entries(),
    iterator: () => db[Symbol.iterator](),
    batch: () => db.batch(),
    createReadStream: () => db.createReadStream('k'),
    merge: () => db.merge(),
    needsMerge: () => db.needsMerge(),
  };
  for (const [name, fn] of Object.entries(sync)) {
    assert.throws(fn, (err) => {
      assert.ok(err instanceof BitcaskError, name);
      assert.equal(err.code, 'CLOSED', name);
      assert.equal(err.status, -1);
      assert.ok(err.message.includes(db.path));
      return true;
    }, name);
  }
  const asyncCalls = {
    getAsync: () => db.getAsync('k'),
    putAsync: () => db.putAsync('k', 'v'),
    deleteAsync: () => db.deleteAsync('k'),
    syncAsync: () => db.syncAsync(),
    mergeAsync: () => db.mergeAsync(),
  };
  for (const [name, fn] of Object.entries(asyncCalls)) {
    await assert.rejects(fn(), { name: 'BitcaskError', code: 'CLOSED' }, name);
  }
  db.close(); // still idempotent
  await db.closeAsync();
});

test('the library lookup names every place it tried', () => {
  assert.throws(() => bitcask.open(tmpdir(), { libraryPath: '/nonexistent/dir/libbitcask.so' }), (err) => {
    assert.equal(err.code, 'LIBRARY_NOT_FOUND');
    assert.match(err.message, /\/nonexistent\/dir\/libbitcask\.so \(libraryPath option\)/);
    assert.equal(err.tried.length, 1);
    return true;
  });
  const { candidates, BUNDLED_LIBRARY, REPO_LIBRARY } = bitcask._internal;
  const saved = process.env.BITCASK_LIBRARY_PATH;
  try {
    delete process.env.BITCASK_LIBRARY_PATH;
    assert.deepEqual(candidates().map((c) => c.file || c.where), [
      BUNDLED_LIBRARY, REPO_LIBRARY, 'libbitcask.so.0', 'libbitcask.so', 'pkg-config --variable=libdir bitcask',
    ]);
    assert.equal(BUNDLED_LIBRARY, path.resolve(__dirname, '..', 'lib', 'libbitcask.so'));
    assert.equal(REPO_LIBRARY, path.resolve(__dirname, '..', '..', '..', 'target', 'release', 'libbitcask.so'));
    process.env.BITCASK_LIBRARY_PATH = '/env/lib.so';
    assert.deepEqual(candidates().map((c) => c.file), ['/env/lib.so']);
    assert.deepEqual(candidates('/explicit.so').map((c) => c.file), ['/explicit.so']);
    assert.deepEqual(candidates('rel/lib.so').map((c) => c.file), [path.resolve('rel/lib.so')]);
    assert.deepEqual(candidates('libbitcask.so').map((c) => c.file), ['libbitcask.so']);
  } finally {
    if (saved === undefined) delete process.env.BITCASK_LIBRARY_PATH;
    else process.env.BITCASK_LIBRARY_PATH = saved;
  }
});

test('the version check: major versions must match', () => {
  const { checkVersion } = bitcask._internal;
  assert.equal(checkVersion('0.1.0', '0.1.0'), null);
  assert.equal(checkVersion('0.2.5', '0.1.0'), null);
  assert.match(checkVersion('1.0.0', '0.1.0'), /major versions must match/);
  assert.match(checkVersion('2.1.0', '1.0.0'), /version 2\.1\.0/);
  assert.match(checkVersion('garbage', '0.1.0'), /unparsable/);
});

test('corrupted values: CORRUPTION with the library message, sync and async; iteration goes on', async () => {
  const dir = tmpdir();
  const db = bitcask.open(dir);
  try {
    const marker = 'Z'.repeat(1000);
    db.put('good', 'fine');
    db.put('bad', marker);
    db.put('good2', 'fine2');
    db.sync();
    // Flip one byte of the value on disk while the store is open.
    const file = path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.data')));
    const at = fs.readFileSync(file).indexOf(Buffer.from(marker)) + 500;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('Y'), 0, 1, at);
    fs.closeSync(fd);

    const isCorruption = (err) => {
      assert.ok(err instanceof BitcaskError);
      assert.equal(err.code, 'CORRUPTION');
      assert.equal(err.status, Status.CORRUPTION);
      assert.match(err.message, /checksum/);
      return true;
    };
    assert.throws(() => db.get('bad'), isCorruption);
    assert.throws(() => db.has('bad'), isCorruption);
    assert.throws(() => db.getInto('bad', Buffer.alloc(2000)), isCorruption);
    assert.throws(() => db.createReadStream('bad'), isCorruption);
    await assert.rejects(db.getAsync('bad'), isCorruption);
    assert.equal(db.get('good').toString(), 'fine');
    assert.equal(db.get('good2').toString(), 'fine2');

    // keys() does not read values; entries() throws at the damaged one and can go on.
    assert.equal([...db.keys()].length, 3);
    const it = db.entries();
    const readable = [];
    let errors = 0;
    for (;;) {
      let r;
      try {
        r = it.next();
      } catch (err) {
        isCorruption(err);
        errors++;
        continue;
      }
      if (r.done) break;
      readable.push(r.value[0].toString());
    }
    assert.equal(errors, 1);
    assert.deepEqual(readable.sort(), ['good', 'good2']);
  } finally {
    await db.closeAsync();
  }
});
