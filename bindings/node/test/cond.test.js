'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const bitcask = require('..');
const { tmpdir } = require('../support/testing');

test('versions: absent is 0n, every write is a new version, expiry is reported', () => {
  const db = bitcask.open(tmpdir());
  try {
    assert.equal(db.version('k'), 0n);
    assert.equal(db.getVersioned('k'), undefined);
    db.put('k', 'v');
    const a = db.getVersioned('k');
    assert.deepEqual(a.value, Buffer.from('v'));
    assert.equal(a.expiresAtMs, 0);
    assert.equal(typeof a.version, 'bigint');
    assert.notEqual(a.version, 0n);
    assert.equal(db.version('k'), a.version);
    db.put('k', 'v');
    assert.notEqual(db.version('k'), a.version);
    const at = Date.now() + 3_600_000;
    db.batch().putExpiring('t', 'x', at).commit();
    assert.equal(db.getVersioned('t').expiresAtMs, at);
    db.batch().putExpiring('gone', 'x', Date.now() - 1).commit();
    assert.equal(db.version('gone'), 0n, 'expired counts as absent');
  } finally {
    db.close();
  }
});

test('commitIf applies only when every condition holds', () => {
  const db = bitcask.open(tmpdir());
  try {
    const b = db.batch();
    assert.equal(b.put('k', '1').commitIf([{ key: 'k', version: 0n }]), true);
    assert.equal(b.length, 0);
    assert.equal(b.put('k', '2').commitIf([{ key: 'k', version: 0n }]), false);
    assert.equal(b.length, 1, 'a failed commitIf keeps the batch');
    assert.deepEqual(db.get('k'), Buffer.from('1'));
    b.clear();
    const { version } = db.getVersioned('k');
    b.put('k', '3').put('other', 'x');
    assert.equal(b.commitIf([{ key: 'k', version }, { key: Buffer.from('other'), version: 0n }]), true);
    assert.deepEqual(db.get('other'), Buffer.from('x'));
    assert.equal(b.put('k', '4').commitIf([{ key: 'k', version }]), false, 'stale version');
    b.clear();
    assert.equal(b.commitIf([]), true, 'no conditions, empty batch');
    assert.throws(() => b.commitIf([{ key: '', version: 0n }]), (e) => e.code === 'INVALID_ARGUMENT');
    assert.throws(() => b.commitIf('k'), TypeError);
    assert.equal(bitcask.Status.CONDITION_FAILED, 11);
    // A compare-and-swap increment loop.
    for (let i = 0; i < 20; i++) {
      for (;;) {
        const cur = db.getVersioned('n');
        const n = cur ? Number(cur.value.toString()) : 0;
        if (b.put('n', String(n + 1)).commitIf([{ key: 'n', version: cur ? cur.version : 0n }])) break;
        b.clear();
      }
    }
    assert.deepEqual(db.get('n'), Buffer.from('20'));
    b.dispose();
  } finally {
    db.close();
  }
});

test('async versions and commitIfAsync: an exact counter from concurrent increments', async () => {
  const db = await bitcask.openAsync(tmpdir());
  try {
    assert.equal(await db.versionAsync('n'), 0n);
    assert.equal(await db.getVersionedAsync('n'), undefined);
    // 4 tasks x 50 increments, each a read of the version and a conditional commit.
    const task = async () => {
      for (let i = 0; i < 50; i++) {
        for (;;) {
          const cur = await db.getVersionedAsync('n');
          const n = cur === undefined ? 0 : Number(cur.value.toString());
          const version = cur === undefined ? 0n : cur.version;
          const b = db.batch().put('n', String(n + 1));
          if (await b.commitIfAsync([{ key: Buffer.from('n'), version }])) break;
          assert.equal(b.length, 1, 'a failed commitIfAsync keeps the batch');
          b.dispose();
        }
      }
    };
    await Promise.all([task(), task(), task(), task()]);
    assert.deepEqual(db.get('n'), Buffer.from('200'));
    assert.equal(await db.versionAsync('n'), db.version('n'));
    const v = await db.getVersionedAsync('n');
    assert.deepEqual(v.value, Buffer.from('200'));
    assert.equal(v.version, db.version('n'));
    await assert.rejects(db.batch().put('x', '1').commitIfAsync('nope'), TypeError);
    await assert.rejects(db.batch().put('x', '1').commitIfAsync([{ key: 'x', version: 'v1' }]), TypeError);
    await assert.rejects(db.versionAsync(''), RangeError);
  } finally {
    await db.closeAsync();
  }
});
