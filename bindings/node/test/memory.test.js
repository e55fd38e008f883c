'use strict';

// Memory: values copied out of the library are freed (bc_free / scratch buffers), and
// handles dropped without close() are released by the FinalizationRegistry safety nets.
// Only generous bounds on memory; no timing assertions.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const { execFileSync } = require('child_process');
const bitcask = require('..');
const { tmpdir, PKG } = require('../support/testing');

const MiB = 1024 * 1024;

/** Anonymous resident memory (heap, malloc) when Linux reports it; else total RSS. */
function anonRss() {
  try {
    const m = /RssAnon:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss;
}

test('RSS stays flat over hundreds of thousands of get/put calls', async (t) => {
  const db = bitcask.open(tmpdir(), { maxFileSize: 4 * MiB });
  try {
    const N = 300000;
    const keys = Array.from({ length: 1000 }, (_, i) => Buffer.from(`key-${i}`));
    const value = Buffer.alloc(16, 7);
    const big = Buffer.alloc(2 * MiB, 9); // beyond the largest scratch buffer: bc_get + bc_free
    db.put('big', big);
    const round = (n) => {
      for (let i = 0; i < n; i++) {
        const k = keys[i % keys.length];
        db.put(k, value);
        const v = db.get(k);
        if (v.length !== 16) throw new Error('bad value');
        if (i % 5 === 0) db.get(`key-${i % 1000}`); // string keys
        if (i % 1000 === 0 && db.get('big').length !== big.length) throw new Error('bad big value');
        if (i % 1000 === 0) db.stats(); // JSON freed with bc_free
      }
    };
    round(20000); // warm up: JIT, scratch buffers, keydir
    if (global.gc) global.gc();
    const rss0 = process.memoryUsage().rss;
    const anon0 = anonRss();
    round(N);
    // Iterators run to the end or broken out of.
    for (let i = 0; i < 300; i++) {
      let n = 0;
      for (const k of db.keys()) if (++n > 10 && k) break;
    }
    for (let i = 0; i < 1000; i++) db.batch().put('b', value).put('c', value).commit();
    await new Promise((r) => setImmediate(r));
    if (global.gc) global.gc();
    const rss1 = process.memoryUsage().rss;
    const anon1 = anonRss();
    const growth = (rss1 - rss0) / MiB;
    const anonGrowth = (anon1 - anon0) / MiB;
    // A leak of the 2 MiB values alone would be ~600 MiB; of every small value ~30 MiB
    // more; data files grow ~15 MiB (mapped file pages count in RSS).
    t.diagnostic(`RSS growth ${growth.toFixed(1)} MiB, anonymous ${anonGrowth.toFixed(1)} MiB`);
    assert.ok(growth < 96, `RSS grew by ${growth.toFixed(1)} MiB`);
    assert.ok(anonGrowth < 64, `anonymous RSS grew by ${anonGrowth.toFixed(1)} MiB`);
  } finally {
    db.close();
  }
});

test('async get/put do not leak either', async (t) => {
  const db = await bitcask.openAsync(tmpdir());
  try {
    const big = Buffer.alloc(2 * MiB, 3);
    await db.putAsync('big', big);
    const round = async (n) => {
      for (let i = 0; i < n; i += 100) {
        const batch = [];
        for (let j = 0; j < 100; j++) {
          batch.push(db.putAsync(`k${j}`, 'v'));
          batch.push(db.getAsync(j % 50 === 0 ? 'big' : `k${j}`));
        }
        await Promise.all(batch);
      }
    };
    await round(2000);
    if (global.gc) global.gc();
    const rss0 = process.memoryUsage().rss;
    await round(20000); // 400 big values: ~800 MiB if they leaked
    if (global.gc) global.gc();
    const growth = (process.memoryUsage().rss - rss0) / MiB;
    t.diagnostic(`RSS growth ${growth.toFixed(1)} MiB`);
    assert.ok(growth < 128, `RSS grew by ${growth.toFixed(1)} MiB`);
  } finally {
    await db.closeAsync();
  }
});

test('handles dropped without close() are released by the FinalizationRegistry', (t) => {
  const dir = tmpdir();
  const script = `
    const bitcask = require(${JSON.stringify(PKG)});
    const dir = ${JSON.stringify(dir)};
    const warnings = [];
    process.on('warning', (w) => warnings.push(w.code));
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    (function abandon() {
      const db = bitcask.open(dir);
      db.put('k', 'v');
      for (let i = 0; i < 200; i++) db.put('key' + i, 'x'.repeat(100));
    })();
    (async () => {
      // The lock is held until the abandoned handle is collected and closed.
      let reopened = null;
      for (let i = 0; i < 200 && !reopened; i++) {
        global.gc();
        await sleep(5);
        try {
          reopened = bitcask.open(dir);
        } catch (e) {
          if (e.code !== 'LOCKED') throw e;
        }
      }
      if (!reopened) throw new Error('abandoned handle never closed');
      const value = reopened.get('k').toString();
      // Abandoned iterators, batches and streams: leaks would be large.
      const before = process.memoryUsage().rss;
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < 100; i++) {
          const it = reopened.entries();
          it.next(); // started, never finished
          const b = reopened.batch();
          b.put('never-committed', Buffer.alloc(64 * 1024));
          const s = reopened.createReadStream('k');
          void s;
        }
        global.gc();
        await sleep(1);
      }
      global.gc();
      await sleep(20);
      const growth = (process.memoryUsage().rss - before) / 1048576;
      reopened.close();
      console.log(JSON.stringify({ value, warnings, growth }));
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const res = JSON.parse(out.trim().split('\n').pop());
  assert.equal(res.value, 'v');
  assert.ok(res.warnings.includes('BITCASK_UNCLOSED'), JSON.stringify(res.warnings));
  // 4000 abandoned batches of 64 KiB would be 250 MiB if never freed.
  t.diagnostic(`RSS growth ${res.growth.toFixed(1)} MiB`);
  assert.ok(res.growth < 128, `RSS grew by ${res.growth.toFixed(1)} MiB`);
});
