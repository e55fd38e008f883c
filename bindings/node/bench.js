'use strict';

// Benchmark of the Node binding: ns/op for get/put and batched puts, for the benchmark
// table next to the C figures.
//
//   node bench.js [--keys N] [--ops N] [--value-size BYTES] [--repeat N] [--json] [data-dir]
//
// Sync calls run on the main thread; *Async rows are measured with 64 calls in flight or
// one at a time, as named. Each row is the best of --repeat runs (default 3), which
// filters out noise from other processes.
//
// With --peers, the Promise API against lmdb-js and classic-level instead (bench-peers/
// compare.js; `npm run bench:peers` installs them first):
//
//   node bench.js --peers [--keys N] [--ops N] [--rounds N] [--sync-ops N] [--stores lmdb,classic-level] [--json] [data-dir]

const fs = require('fs');
const os = require('os');
const path = require('path');
const bitcask = require('.');

function parseArgs(argv) {
  const args = {
    keys: 100000, ops: null, valueSize: 100, repeat: 3, json: false, dir: null,
    peers: false, rounds: 5, syncOps: 200, stores: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keys') args.keys = Number(argv[++i]);
    else if (a === '--ops') args.ops = Number(argv[++i]);
    else if (a === '--value-size') args.valueSize = Number(argv[++i]);
    else if (a === '--repeat') args.repeat = Math.max(1, Number(argv[++i]));
    else if (a === '--json') args.json = true;
    else if (a === '--peers') args.peers = true;
    else if (a === '--rounds') args.rounds = Math.max(1, Number(argv[++i]));
    else if (a === '--sync-ops') args.syncOps = Math.max(1, Number(argv[++i]));
    else if (a === '--stores') args.stores = argv[++i].split(',');
    else if (a === '-h' || a === '--help') {
      console.log('usage: node bench.js [--keys N] [--ops N] [--value-size BYTES] [--repeat N] [--json] [data-dir]\n'
        + '       node bench.js --peers [--keys N] [--ops N] [--rounds N] [--sync-ops N] [--stores a,b] [--json] [data-dir]');
      process.exit(0);
    } else args.dir = a;
  }
  return args;
}

let REPEAT = 3;

function nsPerOp(ops, fn, repeat = REPEAT) {
  let best = Infinity;
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / ops);
  }
  return best;
}

async function nsPerOpAsync(ops, fn, repeat = REPEAT) {
  let best = Infinity;
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / ops);
  }
  return best;
}

async function peers(args) {
  const { compare, table } = require('./bench-peers/compare');
  const ownDir = !args.dir;
  const dir = args.dir || fs.mkdtempSync(path.join(os.tmpdir(), 'bitcask-node-peers-'));
  let result;
  try {
    result = await compare({
      keys: args.keys, ops: args.ops || 200000, rounds: args.rounds, syncOps: args.syncOps, dir, stores: args.stores,
    });
  } finally {
    if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
  }
  const versions = Object.fromEntries(result.stores.filter((n) => n !== 'bitcask').map((n) => [
    n, require(path.join(__dirname, 'bench-peers', 'node_modules', n, 'package.json')).version,
  ]));
  if (args.json) {
    console.log(JSON.stringify({
      node: process.version, library: bitcask.libraryVersion(), versions, ...result,
    }, null, 2));
    return;
  }
  console.log(`libbitcask ${bitcask.libraryVersion()} from Node ${process.version}; `
    + `${Object.entries(versions).map(([n, v]) => `${n} ${v}`).join(', ')}; `
    + `${args.keys} keys, 100 B values, ${args.rounds} rounds (medians)`);
  console.log(table(result));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.peers) {
    await peers(args);
    return;
  }
  if (args.ops === null) args.ops = 1000000;
  REPEAT = args.repeat;
  const ownDir = !args.dir;
  const dir = args.dir || fs.mkdtempSync(path.join(os.tmpdir(), 'bitcask-node-bench-'));
  const openStart = process.hrtime.bigint();
  const db = await bitcask.openAsync(dir, { sync: 'none' });
  const openNs = Number(process.hrtime.bigint() - openStart);
  const rows = [];
  const row = (name, ns, note = '') => rows.push({ name, nsPerOp: ns, opsPerSec: 1e9 / ns, note });

  const keys = Array.from({ length: args.keys }, (_, i) => Buffer.from(`key-${String(i).padStart(10, '0')}`));
  const strKeys = keys.map((k) => k.toString());
  const value = Buffer.alloc(args.valueSize, 0x61);
  const K = keys.length;

  try {
    // Bare FFI overhead: the cheapest library call there is.
    const { libraryVersion } = bitcask;
    libraryVersion();
    {
      const koffi = require('koffi');
      const lib = koffi.load(db.libraryPath);
      const version = lib.func('const char *bc_version(void)');
      for (let i = 0; i < 100000; i++) version();
      row('ffi call (bc_version)', nsPerOp(1000000, () => {
        for (let i = 0; i < 1000000; i++) version();
      }), 'koffi call overhead');
    }

    // put: first fill, then overwrite.
    row('put (new keys)', nsPerOp(K, () => {
      for (let i = 0; i < K; i++) db.put(keys[i], value);
    }, 1), `${K} keys, ${args.valueSize} B values`);
    const ops = args.ops;
    row('put (Buffer key)', nsPerOp(ops, () => {
      for (let i = 0; i < ops; i++) db.put(keys[i % K], value);
    }));
    row('put (string key)', nsPerOp(ops, () => {
      for (let i = 0; i < ops; i++) db.put(strKeys[i % K], value);
    }));

    // get
    for (let i = 0; i < K; i++) db.get(keys[i]); // warm
    row('get (Buffer key)', nsPerOp(ops, () => {
      for (let i = 0; i < ops; i++) db.get(keys[(i * 7919) % K]);
    }), 'returns a new Buffer');
    row('get (string key)', nsPerOp(ops, () => {
      for (let i = 0; i < ops; i++) db.get(strKeys[(i * 7919) % K]);
    }));
    const hot = keys[12345 % K];
    row('get (hot key)', nsPerOp(ops, () => {
      for (let i = 0; i < ops; i++) db.get(hot);
    }), 'same key: binding + FFI overhead over a cached read');
    const missing = Buffer.from('no-such-key');
    row('get (missing key)', nsPerOp(ops, () => {
      for (let i = 0; i < ops; i++) db.get(missing);
    }));
    const buf = Buffer.alloc(args.valueSize);
    row('getInto', nsPerOp(ops, () => {
      for (let i = 0; i < ops; i++) db.getInto(keys[(i * 7919) % K], buf);
    }), 'into a caller buffer');

    // Batches of 100 and 1000 puts.
    for (const size of [100, 1000]) {
      const batches = Math.max(1, Math.floor(ops / size / 2));
      const b = db.batch();
      const ns = nsPerOp(batches * size, () => {
        let n = 0;
        for (let j = 0; j < batches; j++) {
          for (let i = 0; i < size; i++) b.put(keys[n++ % K], value);
          b.commit();
        }
      });
      row(`batch put x${size}`, ns, `per put, commit included (${Math.round(1e9 / ns / size).toLocaleString('en-US')} commits/s)`);
    }

    // Iteration
    {
      let n = 0;
      const ns = nsPerOp(K, () => {
        n = 0;
        for (const k of db.keys()) if (k) n++;
      });
      row('keys() iteration', ns, `per key, ${n} keys`);
    }

    // Async: 64 in flight.
    const asyncOps = Math.min(ops, 100000);
    const inflight = 64;
    row('putAsync', await nsPerOpAsync(asyncOps, async () => {
      for (let i = 0; i < asyncOps; i += inflight) {
        const ps = [];
        for (let j = 0; j < inflight; j++) ps.push(db.putAsync(keys[(i + j) % K], value));
        await Promise.all(ps);
      }
    }), `${inflight} in flight`);
    row('getAsync', await nsPerOpAsync(asyncOps, async () => {
      for (let i = 0; i < asyncOps; i += inflight) {
        const ps = [];
        for (let j = 0; j < inflight; j++) ps.push(db.getAsync(keys[((i + j) * 7919) % K]));
        await Promise.all(ps);
      }
    }), `${inflight} in flight`);
    row('getAsync (sequential)', await nsPerOpAsync(10000, async () => {
      for (let i = 0; i < 10000; i++) await db.getAsync(keys[(i * 7919) % K]);
    }), 'one at a time: latency');
    row('putAsync (sequential)', await nsPerOpAsync(10000, async () => {
      for (let i = 0; i < 10000; i++) await db.putAsync(keys[(i * 7919) % K], value);
    }), 'one at a time: latency');
    row('openAsync (new store)', openNs, 'the first open of this process, library loaded then');
    const large = Buffer.alloc(1024 * 1024, 0x62);
    db.put('large', large);
    row('get 1 MiB value', nsPerOp(1000, () => {
      for (let i = 0; i < 1000; i++) db.get('large');
    }));
    row('getAsync 1 MiB value', await nsPerOpAsync(1000, async () => {
      for (let i = 0; i < 1000; i++) await db.getAsync('large');
    }));
  } finally {
    await db.closeAsync();
    if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
  }

  if (args.json) {
    console.log(JSON.stringify({ node: process.version, library: bitcask.libraryVersion(), rows }, null, 2));
    return;
  }
  console.log(`libbitcask ${bitcask.libraryVersion()} from Node ${process.version} (koffi ${require('koffi').version}), `
    + `${args.keys} keys, ${args.valueSize} B values`);
  console.log(`${'operation'.padEnd(24)} ${'ns/op'.padStart(10)} ${'ops/s'.padStart(12)}  note`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(24)} ${r.nsPerOp.toFixed(0).padStart(10)} ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(12)}  ${r.note}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
