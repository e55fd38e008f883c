// Smoke test of bitcaskd with ioredis at its default settings.
// Usage: node smoke.js HOST PORT [PASSWORD]
'use strict';
const assert = require('node:assert/strict');
const Redis = require('ioredis');

async function main() {
  const [host, port, password] = process.argv.slice(2);
  const r = new Redis({ host, port: Number(port), password, maxRetriesPerRequest: 1, lazyConnect: true });
  await r.connect();
  assert.equal(await r.ping(), 'PONG');
  const resp = /resp=(\d)/.exec(await r.client('INFO'))[1];
  console.log('ioredis negotiated RESP' + resp);
  assert.equal(await r.set('js:k', 'v'), 'OK');
  assert.equal(await r.get('js:k'), 'v');
  assert.equal(await r.get('js:missing'), null);
  assert.equal(await r.set('js:k', 'w', 'NX'), null);
  assert.equal(await r.set('js:k', 'w', 'XX', 'GET'), 'v');
  assert.equal(await r.incr('js:n'), 1);
  assert.equal(await r.incrby('js:n', 41), 42);
  assert.equal(await r.mset('js:a', '1', 'js:b', '2'), 'OK');
  assert.deepEqual(await r.mget('js:a', 'js:b', 'js:zz'), ['1', '2', null]);
  assert.equal(await r.setex('js:t', 100, 'x'), 'OK');
  assert.ok((await r.ttl('js:t')) >= 99);
  assert.equal(await r.del('js:a', 'js:b', 'js:zz'), 2);
  assert.equal(await r.exists('js:k', 'js:n'), 2);
  const info = await r.info('server');
  assert.match(info, /redis_version:/);
  await assert.rejects(r.call('NOSUCHCMD', 'x'), /unknown command 'NOSUCHCMD'/);
  const p = r.pipeline();
  for (let i = 0; i < 100; i++) p.incr('js:pipe');
  const res = await p.exec();
  assert.equal(res[99][1], 100);
  const keys = [];
  for await (const batch of r.scanStream({ match: 'js:*', count: 5 })) keys.push(...batch);
  assert.ok(keys.includes('js:k') && keys.includes('js:pipe'));
  await r.quit();
  console.log('ioredis', require('ioredis/package.json').version, 'smoke test passed');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
