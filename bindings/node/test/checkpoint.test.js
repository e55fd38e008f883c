'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');
const bitcask = require('..');
const { BitcaskError } = bitcask;
const { tmpdir } = require('../support/testing');

// An existing, empty directory (tmpdir() only names a fresh path).
function madeDir() {
  const d = tmpdir();
  fs.mkdirSync(d, { recursive: true });
  return d;
}

function fill(db, n) {
  for (let i = 0; i < n; i++) db.put(`k${i}`, `v${i}`);
  db.delete('k7');
}

function checkCopy(dest, n) {
  const c = bitcask.open(dest);
  try {
    for (let i = 0; i < n; i++) {
      const v = c.get(`k${i}`);
      if (i === 7) assert.equal(v, undefined);
      else assert.equal(v.toString(), `v${i}`);
    }
    assert.equal(c.get('after'), undefined);
    c.put('only-here', '1'); // a store of its own
  } finally {
    c.close();
  }
}

test('checkpoint() and checkpointAsync() copy what was acknowledged before the call', async () => {
  const dir = tmpdir();
  const db = bitcask.open(dir, { maxFileSize: 4096 });
  fill(db, 400);
  const dest = path.join(madeDir(), 'ckpt');
  db.checkpoint(dest);
  // Async: writes keep going on the store's own worker while the checkpoint runs on another.
  const destAsync = path.join(madeDir(), 'ckpt-async');
  const writes = [];
  for (let i = 0; i < 200; i++) writes.push(db.putAsync(`live${i}`, 'during'));
  await Promise.all([db.checkpointAsync(pathToFileURL(destAsync)), ...writes]);
  db.put('after', 'x');
  checkCopy(dest, 400);
  checkCopy(destAsync, 400);
  assert.equal(db.get('only-here'), undefined);
  db.close();
});

test('checkpoint refuses existing destinations by name, bad arguments and closed stores', async () => {
  const dir = tmpdir();
  const db = bitcask.open(dir);
  db.put('a', '1');
  const empty = madeDir();
  for (const d of [empty, dir]) {
    assert.throws(() => db.checkpoint(d), (e) => e instanceof BitcaskError && e.code === 'INVALID_ARGUMENT' &&
      e.message.includes(d) && e.message.includes('already exists'));
    await assert.rejects(db.checkpointAsync(d), (e) => e instanceof BitcaskError && e.code === 'INVALID_ARGUMENT');
  }
  assert.throws(() => db.checkpoint(path.join(dir, 'inside')), /inside the store/);
  assert.throws(() => db.checkpoint(path.join(empty, 'no', 'parent')), (e) => e.code === 'IO');
  assert.deepEqual(fs.readdirSync(empty), []);
  assert.throws(() => db.checkpoint(''), /dir must not be empty/);
  assert.throws(() => db.checkpoint('a\0b'), /dir must not contain NUL/);
  assert.throws(() => db.checkpoint(42), TypeError);
  await assert.rejects(db.checkpointAsync(undefined), TypeError);
  db.close();
  assert.throws(() => db.checkpoint(path.join(empty, 'c')), (e) => e.code === 'CLOSED');

  const ro = bitcask.open(dir, { readOnly: true });
  const dest = path.join(madeDir(), 'ro-ckpt');
  await ro.checkpointAsync(dest);
  ro.close();
  const c = bitcask.open(dest, { readOnly: true });
  assert.equal(c.get('a').toString(), '1');
  c.close();
});
