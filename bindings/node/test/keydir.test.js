'use strict';

// Both keydir modes open the same directory; the hashed one keeps no key bytes.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const bitcask = require('..');

test('keydir: one directory opened in both modes, smaller index when hashed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bc-keydir-'));
  try {
    const key = (i) => `a-rather-long-key-of-forty-bytes-${String(i).padStart(7, '0')}`;
    let db = bitcask.open(dir, { keydir: 'keys' });
    for (let i = 0; i < 20000; i++) db.put(key(i), `v${i}`);
    const keysStats = db.stats();
    db.close();
    db = bitcask.open(dir, { keydir: 'hashed' });
    const st = db.stats();
    assert.equal(keysStats.keydir, 'keys');
    assert.equal(st.keydir, 'hashed');
    assert.equal(st.liveKeys, 20000);
    assert.ok(st.keydirBytes * 2 < keysStats.keydirBytes, `${st.keydirBytes} vs ${keysStats.keydirBytes}`);
    assert.equal(db.get(key(777)).toString(), 'v777');
    db.delete(key(5));
    assert.equal(db.get(key(5)), undefined);
    assert.equal([...db.keys()].length, 19999);
    db.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
