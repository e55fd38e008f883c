'use strict';

// The async API: node examples/node/async.js <data-dir>
// No *Async call blocks the event loop: those that may wait for the disk (fsync'ed writes,
// large values, merges) run on a worker thread, the others are answered at once.

const assert = require('assert');
const bitcask = require('../../bindings/node');

async function main(dir) {
  const db = await bitcask.openAsync(dir, { sync: 'always' });
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 1); // keeps firing: the event loop is not blocked

  // Async puts on one store take effect in the order they were called.
  await Promise.all(Array.from({ length: 100 }, (_, i) => db.putAsync('counter', String(i))));
  console.log('counter =', (await db.getAsync('counter')).toString());

  // Large values (over 64 KiB): copied once to the worker, returned without an extra copy.
  const photo = Buffer.alloc(4 * 1024 * 1024, 0x42);
  await db.putAsync('photo', photo, { ttlMs: 60 * 60 * 1000 });
  const back = await db.getAsync('photo');
  assert.ok(back.equals(photo));
  console.log('photo bytes:', back.length);

  // A batch committed on a worker.
  const batch = db.batch();
  for (let i = 0; i < 1000; i++) batch.put(`item:${i}`, `value ${i}`);
  await batch.commitAsync();

  // Stream a large value piece by piece.
  let streamed = 0;
  for await (const chunk of db.createReadStream('photo')) streamed += chunk.length;
  console.log('streamed bytes:', streamed);

  await db.deleteAsync('item:0');
  await db.syncAsync();
  await db.mergeAsync();
  console.log('merges completed:', db.stats().mergesCompleted);

  // Errors reject with a BitcaskError carrying the library's message.
  try {
    await bitcask.openAsync(dir); // locked by `db`
    throw new Error('second open should have failed');
  } catch (err) {
    if (!(err instanceof bitcask.BitcaskError)) throw err;
    console.log(`openAsync on a locked directory: ${err.code}: ${err.message}`);
  }

  clearInterval(ticker);
  console.log('timer ticks while waiting on the worker threads:', ticks);
  await db.closeAsync(); // waits for anything still running on this store
  console.log('closed');
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node async.js <data-dir>');
  process.exit(2);
}
main(dir).catch((err) => {
  console.error(err);
  process.exit(1);
});
