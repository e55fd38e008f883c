'use strict';

// A tour of the synchronous API: node examples/node/basic.js <data-dir>
// (Needs `cargo build --release` and `npm ci` in bindings/node first.)

const assert = require('assert');
const bitcask = require('../../bindings/node');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node basic.js <data-dir>');
  process.exit(2);
}

const db = bitcask.open(dir, { sync: 'always', maxFileSize: 64 * 1024 });
console.log(`opened ${db.path} with libbitcask ${bitcask.libraryVersion()}`);

// put / get / delete: keys and values are Buffers, Uint8Arrays or UTF-8 strings.
db.put('greeting', 'hello, world');
db.put(Buffer.from([0xca, 0xfe]), new Uint8Array([1, 2, 3]));
console.log('greeting =', db.get('greeting').toString());
assert.deepEqual(db.get(Buffer.from([0xca, 0xfe])), Buffer.from([1, 2, 3]));
db.delete(Buffer.from([0xca, 0xfe]));
db.delete('greeting');
assert.equal(db.get('greeting'), undefined); // missing keys read as undefined

// TTL: the key reads as missing once it expires.
db.put('session', 'token-123', { ttlMs: 50 });
console.log('session before expiry:', db.get('session').toString());
const until = Date.now() + 200;
while (Date.now() < until && db.has('session')); // wait (busy, for brevity)
console.log('session after expiry:', db.get('session'));

// A batch is applied atomically: all of it or none of it.
const batch = db.batch();
for (let i = 0; i < 100; i++) batch.put(`user:${i}`, JSON.stringify({ id: i, visits: 0 }));
batch.delete('user:13').commit();

// Overwrite some keys so there is garbage for merge to collect.
for (let round = 1; round <= 5; round++) {
  for (let i = 0; i < 100; i += 2) db.put(`user:${i}`, JSON.stringify({ id: i, visits: round }));
}

// Iterate over a snapshot of the keys (or entries()); `break` frees the snapshot early.
let users = 0;
for (const key of db.keys()) if (key.toString().startsWith('user:')) users++;
console.log('users:', users);
for (const [key, value] of db.entries()) {
  console.log('first entry:', key.toString(), '=>', value.toString());
  break;
}

// Stats, merge, stats again.
const before = db.stats();
console.log(`before merge: ${before.dataFiles} files, ${before.totalBytes} bytes, ${before.deadBytes} dead`);
db.merge();
const after = db.stats();
console.log(`after merge:  ${after.dataFiles} files, ${after.totalBytes} bytes, ${after.deadBytes} dead`);
assert.ok(after.deadBytes < before.deadBytes);
assert.equal(JSON.parse(db.get('user:2')).visits, 5);

// Errors carry a stable code and the library's message.
try {
  bitcask.open(dir); // this process already holds the lock
} catch (err) {
  console.log(`second open: ${err.code}: ${err.message}`);
}

db.close();
console.log('closed');
