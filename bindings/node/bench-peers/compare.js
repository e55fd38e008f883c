'use strict';

// The Promise API of the binding against its peers (issue 19): lmdb-js (npm `lmdb`) and
// classic-level (LevelDB), installed here by `npm run bench:peers` (bench-peers/package.json;
// the binding and its tests never load them). Run by `node bench.js --peers`.
//
// Every store gets the same keys (16 bytes), values (100 bytes) and access order, in the
// same process; the stores take turns within each round, and each figure is the median of
// the rounds. The ratio column is the binding's figure over the best peer's.
//
// Durability is matched: "no fsync" rows use the binding with sync 'none', lmdb-js with
// noSync (commits reach the OS, not the disk) and classic-level's default (sync: false);
// the "fsync each" row uses sync 'always', lmdb-js's default (each commit synced) and
// classic-level's { sync: true }.

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const bitcask = require('..');

const PEERS = ['lmdb', 'classic-level'];

function requirePeer(name) {
  try {
    return require(path.join(__dirname, 'node_modules', name));
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err;
    return null;
  }
}

// Each store: open(dir, durable) -> handle; the operations below on a handle.
const STORES = {
  bitcask: {
    async open(dir, durable) {
      return bitcask.openAsync(dir, { sync: durable ? 'always' : 'none' });
    },
    fill(db, keys, value) {
      for (const k of keys) db.put(k, value);
    },
    getSync: (db, k) => db.get(k),
    getAsync: (db, k) => db.getAsync(k),
    putAsync: (db, k, v) => db.putAsync(k, v),
    close: (db) => db.closeAsync(),
    // A program timing the first open of a process (the module already loaded).
    firstOpen: (dir) => `const b = require(${JSON.stringify(path.join(__dirname, '..'))});
      const t0 = performance.now();
      b.openAsync(${JSON.stringify(dir)}).then((db) => { console.log(performance.now() - t0); db.close(); });`,
  },
  lmdb: {
    async open(dir, durable) {
      const { open } = requirePeer('lmdb');
      return open({
        path: dir, noSync: !durable, encoding: 'binary', keyEncoding: 'binary',
      });
    },
    async fill(db, keys, value) {
      await db.transaction(() => {
        for (const k of keys) db.put(k, value);
      });
    },
    getSync: (db, k) => db.get(k),
    getAsync: (db, k) => db.getAsync(k),
    putAsync: (db, k, v) => db.put(k, v),
    close: (db) => db.close(),
    firstOpen: (dir) => `const { open } = require(${JSON.stringify(path.join(__dirname, 'node_modules', 'lmdb'))});
      const t0 = performance.now();
      const db = open({ path: ${JSON.stringify(dir)}, noSync: true });
      console.log(performance.now() - t0); db.close();`,
  },
  'classic-level': {
    async open(dir, durable) {
      const { ClassicLevel } = requirePeer('classic-level');
      const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await db.open();
      db.durable = durable;
      return db;
    },
    async fill(db, keys, value) {
      const b = db.batch();
      for (const k of keys) b.put(k, value);
      await b.write();
    },
    getSync: (db, k) => db.getSync(k),
    getAsync: (db, k) => db.get(k),
    putAsync: (db, k, v) => (db.durable ? db.put(k, v, { sync: true }) : db.put(k, v)),
    close: (db) => db.close(),
    firstOpen: (dir) => `const { ClassicLevel } = require(${JSON.stringify(path.join(__dirname, 'node_modules', 'classic-level'))});
      const t0 = performance.now();
      const db = new ClassicLevel(${JSON.stringify(dir)});
      db.open().then(() => { console.log(performance.now() - t0); return db.close(); });`,
  },
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const now = () => performance.now();

// The rows: name, unit, higher is better?, and a measurement on an open store `st` that
// returns the figure. `ctx`: { keys, value, n, inflight, dir }.
const ROWS = [
  {
    // What the issue measured (86 ms for the binding, whose worker started at open): the
    // first open of a new store in a new process, once the module is loaded.
    name: 'first open in a new process', unit: 'ms', higher: false,
    async run(s, st) {
      const dir = `${st.dir}-first-${st.opened++}`;
      const out = execFileSync(process.execPath, ['-e', s.firstOpen(dir)], { encoding: 'utf8' });
      fs.rmSync(dir, { recursive: true, force: true });
      return Number(out.trim());
    },
  },
  {
    // lmdb-js opens synchronously; classic-level and the binding resolve once open.
    name: 'open a new store for async use', unit: 'ms', higher: false,
    async run(s, st) {
      const dir = `${st.dir}-new-${st.opened++}`;
      const t0 = now();
      const db = await s.open(dir, false);
      const ms = now() - t0;
      await s.close(db);
      fs.rmSync(dir, { recursive: true, force: true });
      return ms;
    },
  },
  {
    // A store of the same keys written once (the main one grows with every round's puts).
    name: 'reopen a store of the keys', unit: 'ms', higher: false,
    async run(s, st) {
      const t0 = now();
      const db = await s.open(st.reopenDir, false);
      const ms = now() - t0;
      await s.close(db);
      return ms;
    },
  },
  {
    name: 'get, sync', unit: 'ops/s', higher: true,
    async run(s, st, ctx) {
      const { keys, n } = ctx;
      const K = keys.length;
      const t0 = now();
      for (let i = 0; i < n; i++) s.getSync(st.db, keys[(i * 7919) % K]);
      return n / ((now() - t0) / 1e3);
    },
  },
  {
    name: 'get async, 64 in flight', unit: 'ops/s', higher: true,
    async run(s, st, ctx) {
      const { keys, n, inflight } = ctx;
      const K = keys.length;
      const t0 = now();
      for (let i = 0; i < n; i += inflight) {
        const ps = [];
        for (let j = 0; j < inflight; j++) ps.push(s.getAsync(st.db, keys[((i + j) * 7919) % K]));
        await Promise.all(ps);
      }
      return n / ((now() - t0) / 1e3);
    },
  },
  {
    name: 'get async, one at a time', unit: 'ops/s', higher: true,
    async run(s, st, ctx) {
      const { keys } = ctx;
      const n = ctx.n / 10;
      const K = keys.length;
      const t0 = now();
      for (let i = 0; i < n; i++) await s.getAsync(st.db, keys[(i * 7919) % K]);
      return n / ((now() - t0) / 1e3);
    },
  },
  {
    name: 'put async, one at a time, no fsync', unit: 'ops/s', higher: true,
    async run(s, st, ctx) {
      const { keys, value } = ctx;
      const n = ctx.n / 10;
      const K = keys.length;
      const t0 = now();
      for (let i = 0; i < n; i++) await s.putAsync(st.db, keys[(i * 7919) % K], value);
      return n / ((now() - t0) / 1e3);
    },
  },
  {
    name: 'put async, 64 in flight, no fsync', unit: 'ops/s', higher: true,
    async run(s, st, ctx) {
      const { keys, value, n, inflight } = ctx;
      const K = keys.length;
      const t0 = now();
      for (let i = 0; i < n; i += inflight) {
        const ps = [];
        for (let j = 0; j < inflight; j++) ps.push(s.putAsync(st.db, keys[((i + j) * 7919) % K], value));
        await Promise.all(ps);
      }
      return n / ((now() - t0) / 1e3);
    },
  },
  {
    name: 'put async, one at a time, fsync each', unit: 'ops/s', higher: true,
    async run(s, st, ctx) {
      const { keys, value } = ctx;
      const n = ctx.syncOps;
      const K = keys.length;
      const t0 = now();
      for (let i = 0; i < n; i++) await s.putAsync(st.durable, keys[(i * 7919) % K], value);
      return n / ((now() - t0) / 1e3);
    },
  },
];

function checkValue(name, v, value) {
  if (!v || Buffer.compare(Buffer.from(v), value) !== 0) {
    throw new Error(`${name}: a get did not return the value put (got ${v && v.length} bytes)`);
  }
}

/**
 * Runs the comparison. opts: { keys: N, ops: N, rounds: N, dir, stores: [names] }.
 * Returns { stores, rows: [{ name, unit, higher, figures: { store: [per round] } }] }.
 */
async function compare(opts) {
  const names = ['bitcask', ...PEERS.filter((p) => (opts.stores ? opts.stores.includes(p) : true))];
  const missing = names.filter((n) => n !== 'bitcask' && requirePeer(n) === null);
  if (missing.length > 0) {
    throw new Error(`peer package(s) ${missing.join(', ')} not installed: run \`npm run bench:peers\` `
      + '(which installs bench-peers/package.json) or `npm ci --prefix bench-peers` first');
  }
  const keys = Array.from({ length: opts.keys }, (_, i) => Buffer.from(`key-${String(i).padStart(12, '0')}`));
  const value = Buffer.alloc(100, 0x61);
  const ctx = {
    keys, value, n: opts.ops, inflight: 64, syncOps: opts.syncOps,
  };

  const states = {};
  for (const name of names) {
    const s = STORES[name];
    const dir = path.join(opts.dir, name);
    const durableDir = path.join(opts.dir, `${name}-durable`);
    fs.mkdirSync(opts.dir, { recursive: true });
    const db = await s.open(dir, false);
    await s.fill(db, keys, value);
    checkValue(name, s.getSync(db, keys[7]), value);
    checkValue(name, await s.getAsync(db, keys[8]), value);
    const durable = await s.open(durableDir, true);
    const reopenDir = path.join(opts.dir, `${name}-reopen`);
    const once = await s.open(reopenDir, false);
    await s.fill(once, keys, value);
    await s.close(once);
    states[name] = {
      db, durable, dir, reopenDir, opened: 0,
    };
  }

  const figures = ROWS.map(() => Object.fromEntries(names.map((n) => [n, []])));
  // Round 0 warms up (JIT, page cache, lazily started threads) and is not counted.
  for (let round = 0; round <= opts.rounds; round++) {
    // Rotate who goes first, so that no store always runs on a warmer or cooler machine.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const [r, row] of ROWS.entries()) {
      for (const name of order) {
        const x = await row.run(STORES[name], states[name], ctx);
        if (round > 0) figures[r][name].push(x);
      }
    }
  }
  for (const name of names) {
    await STORES[name].close(states[name].db);
    await STORES[name].close(states[name].durable);
  }
  return {
    stores: names,
    rows: ROWS.map((row, r) => ({
      name: row.name, unit: row.unit, higher: row.higher, figures: figures[r],
    })),
  };
}

function fmt(x, unit) {
  if (unit === 'ms') return x.toFixed(2);
  return Math.round(x).toLocaleString('en-US');
}

/** The table: medians, and the binding's ratio to the best peer (above 1: better). */
function table(result) {
  const { stores } = result;
  const peers = stores.filter((n) => n !== 'bitcask');
  const lines = [];
  const head = ['figure', 'unit', ...stores.map((n) => `${n} (median)`), 'vs best peer'];
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`|${head.map(() => '---').join('|')}|`);
  for (const row of result.rows) {
    const med = Object.fromEntries(stores.map((n) => [n, median(row.figures[n])]));
    let ratio = '-';
    if (peers.length > 0) {
      const best = row.higher ? Math.max(...peers.map((p) => med[p])) : Math.min(...peers.map((p) => med[p]));
      const r = row.higher ? med.bitcask / best : best / med.bitcask;
      ratio = `${r.toFixed(2)}x`;
    }
    lines.push(`| ${row.name} | ${row.unit} | ${stores.map((n) => fmt(med[n], row.unit)).join(' | ')} | ${ratio} |`);
  }
  return lines.join('\n');
}

module.exports = {
  compare, table, median, PEERS,
};
