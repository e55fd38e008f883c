'use strict';

// Every option and argument the binding accepts, table-driven:
//  - each bad input throws (or rejects) before the library is called, with the right error
//    class and code, a message that names the JS option and shows the value given, and no
//    C parameter names;
//  - each boundary value is accepted, and the library accepts it too;
//  - the limits table (limits.js) agrees with the library itself, probed directly.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const bitcask = require('..');
const { loadNative } = require('../native');
const { PROTOTYPES } = require('../prototypes');
const limits = require('../limits');
const { tmpdir } = require('../support/testing');

const { OPEN_OPTIONS, PUT_OPTIONS, KEY, VALUE, READ_STREAM_OPTIONS, U64_MAX, U32_MAX } = limits;
const { Status } = bitcask;

const TYPE = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' };
const VALUE_ERR = { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' };
const RANGE = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' };

// A message in C terms would name a snake_case parameter (ttl_ms, max_file_size, ...).
const C_NAME = /\b[a-z]+_[a-z_]+\b|\bbc_/;

function checkError(err, row) {
  assert.equal(err.name, row.error.name, `${row.what}: ${err.stack}`);
  assert.ok(err instanceof (row.error.name === 'RangeError' ? RangeError : TypeError), row.what);
  assert.equal(err.code, row.error.code, `${row.what}: ${err.message}`);
  assert.ok(err.message.includes(row.names), `${row.what}: "${err.message}" should name ${row.names}`);
  assert.ok(err.message.includes(row.shows), `${row.what}: "${err.message}" should show ${row.shows}`);
  assert.doesNotMatch(err.message, C_NAME, row.what);
  return true;
}

// ---------------------------------------------------------------------------------------
// Bad values of the numeric options, generated from limits.js: just outside each range,
// not integers, not numbers.

function integerCases(limit) {
  const cases = [];
  const below = limit.min - 1n;
  const above = limit.max + 1n;
  // As a number where that is exact, as a bigint always.
  if (Number.isSafeInteger(Number(below))) cases.push([Number(below), RANGE, `(got ${below})`]);
  cases.push([below, RANGE, `(got ${below}n)`]);
  if (Number.isSafeInteger(Number(above))) cases.push([Number(above), RANGE, `(got ${above})`]);
  cases.push([above, RANGE, `(got ${above}n)`]);
  cases.push([Number(limit.min) + 0.5, RANGE, `(got ${Number(limit.min) + 0.5})`]);
  cases.push([NaN, RANGE, '(got NaN)']);
  cases.push([Infinity, RANGE, '(got Infinity)']);
  cases.push([String(limit.min), TYPE, `(got '${limit.min}')`]);
  cases.push([null, TYPE, '(got null)']);
  cases.push([true, TYPE, '(got true)']);
  return cases;
}

const badOpen = []; // [what, options, error, names, shows]
for (const [name, spec] of Object.entries(OPEN_OPTIONS)) {
  if (spec.kind === 'integer') {
    for (const [v, error, shows] of integerCases(spec)) badOpen.push([name, { [name]: v }, error, name, shows]);
  } else if (spec.kind === 'boolean') {
    for (const [v, shows] of [[1, '(got 1)'], ['true', "(got 'true')"], [null, '(got null)']]) {
      badOpen.push([name, { [name]: v }, TYPE, name, shows]);
    }
  } else if (spec.kind === 'hours') {
    for (const [v, error, shows] of integerCases(spec)) {
      badOpen.push([name, { [name]: [v, 0] }, error, `${name}[0]`, shows]);
      badOpen.push([name, { [name]: [0, v] }, error, `${name}[1]`, shows]);
    }
    badOpen.push([name, { [name]: [1] }, VALUE_ERR, name, '(got [ 1 ])']);
    badOpen.push([name, { [name]: [1, 2, 3] }, VALUE_ERR, name, '(got [ 1, 2, 3 ])']);
    badOpen.push([name, { [name]: 5 }, TYPE, name, '(got 5)']);
    badOpen.push([name, { [name]: '0-6' }, TYPE, name, "(got '0-6')"]);
  } else if (spec.kind === 'enum') {
    const first = Object.keys(spec.values)[0];
    badOpen.push([name, { [name]: 'sometimes' }, VALUE_ERR, name, "(got 'sometimes')"]);
    badOpen.push([name, { [name]: first.toUpperCase() }, VALUE_ERR, name, `(got '${first.toUpperCase()}')`]);
    badOpen.push([name, { [name]: 1 }, TYPE, name, '(got 1)']);
    badOpen.push([name, { [name]: true }, TYPE, name, '(got true)']);
  } else {
    assert.fail(`no bad values for open option ${name} of kind ${spec.kind}`);
  }
}
// The cases of issue 14, and the rest of open()'s arguments.
badOpen.push(
  ['issue: maxFileSize 0', { maxFileSize: 0 }, RANGE, 'maxFileSize', 'from 4096 to 4294967295 (got 0)'],
  ['issue: huge maxFileSize', { maxFileSize: 2 ** 64 }, RANGE, 'maxFileSize', '(got 18446744073709551616)'],
  ['issue: sync', { sync: 'sometimes' }, VALUE_ERR, "sync must be 'none', 'always' or 'interval'", "(got 'sometimes')"],
  ['libraryPath type', { libraryPath: 42 }, TYPE, 'libraryPath', '(got 42)'],
  ['libraryPath empty', { libraryPath: '' }, VALUE_ERR, 'libraryPath', "(got '')"],
  ['libraryPath NUL', { libraryPath: 'a\0b' }, VALUE_ERR, 'libraryPath', "(got 'a\\x00b')"],
  ['unknown option', { readonly: true }, VALUE_ERR, "unknown open option 'readonly' (did you mean 'readOnly'?)", 'known: maxFileSize'],
  ['options not an object', 'sync', TYPE, 'open options', "(got 'sync')"],
  ['options an array', [1], TYPE, 'open options', '(got [ 1 ])'],
);

test('open(): every bad option throws before the library is called, naming the option and showing the value', async () => {
  for (const [what, options, error, names, shows] of badOpen) {
    const row = { what: `open ${what} ${String(options && Object.values(options)[0])}`, error, names, shows };
    const dir = tmpdir();
    assert.throws(() => bitcask.open(dir, options), (err) => checkError(err, row));
    await assert.rejects(bitcask.openAsync(dir, options), (err) => checkError(err, row));
    assert.equal(fs.existsSync(dir), false, `${row.what}: the library was called`);
  }
});

test('open(): bad paths', async () => {
  const rows = [
    [1, TYPE, '(got 1)'],
    [null, TYPE, '(got null)'],
    [undefined, TYPE, '(got undefined)'],
    [Buffer.from('/tmp/x'), TYPE, '(got <Buffer 2f 74 6d 70 2f 78>)'],
    ['', VALUE_ERR, "(got '')"],
    ['/tmp/a\0b', VALUE_ERR, "(got '/tmp/a\\x00b')"],
  ];
  for (const [p, error, shows] of rows) {
    const row = { what: `path ${String(p)}`, error, names: 'path', shows };
    assert.throws(() => bitcask.open(p), (err) => checkError(err, row));
    await assert.rejects(bitcask.openAsync(p), (err) => checkError(err, row));
  }
});

// ---------------------------------------------------------------------------------------
// Writes, reads and batches on one store.

test('put, get, batch and stream arguments: bad ones throw before the library is called', async () => {
  const db = bitcask.open(tmpdir());
  const hugeValue = Buffer.allocUnsafe(VALUE.max + 1); // not touched: costs no RAM
  try {
    const ttlRows = [];
    for (const [v, error, shows] of integerCases(PUT_OPTIONS.ttlMs)) ttlRows.push([{ ttlMs: v }, error, 'ttlMs', shows]);
    for (const [v, error, shows] of integerCases(PUT_OPTIONS.expiresAt)) ttlRows.push([{ expiresAt: v }, error, 'expiresAt', shows]);
    ttlRows.push(
      // The cases of issue 14.
      [{ ttlMs: 0 }, RANGE, 'ttlMs must be an integer from 1 to 18446744073709551615', '(got 0)'],
      [{ ttlMs: 2 ** 64 - 1 }, RANGE, 'ttlMs', '(got 18446744073709551616; numbers above 2**53 are not exact, pass a bigint up to 18446744073709551615n)'],
      [{ expiresAt: new Date(-1) }, RANGE, 'expiresAt', '(got Date 1969-12-31T23:59:59.999Z, -1 ms)'],
      [{ expiresAt: new Date(NaN) }, VALUE_ERR, 'expiresAt', '(got Invalid Date)'],
      [{ expiresAt: 'tomorrow' }, TYPE, 'expiresAt', "(got 'tomorrow')"],
      [{ ttlMs: 10, expiresAt: 10 }, VALUE_ERR, 'ttlMs or expiresAt, not both', '(got { ttlMs: 10, expiresAt: 10 })'],
      [{ ttl: 10 }, VALUE_ERR, "unknown put option 'ttl'", 'known: ttlMs, expiresAt'],
      [10, TYPE, 'put options', '(got 10)'],
    );
    for (const [options, error, names, shows] of ttlRows) {
      const row = { what: `put ${JSON.stringify(options, (k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`, error, names, shows };
      assert.throws(() => db.put('k', 'v', options), (err) => checkError(err, row));
      await assert.rejects(db.putAsync('k', 'v', options), (err) => checkError(err, row));
      if (typeof options === 'object' && Object.keys(options).join() === 'ttlMs') {
        assert.throws(() => db.batch().put('k', 'v', options), (err) => checkError(err, row));
      }
    }
    const batchRow = { what: 'batch expiresAt', error: VALUE_ERR, names: "unknown batch put option 'expiresAt'", shows: 'known: ttlMs' };
    assert.throws(() => db.batch().put('k', 'v', { expiresAt: 1 }), (err) => checkError(err, batchRow));

    // Keys and values: type, then length in bytes (after UTF-8 encoding).
    const keyRows = [
      ['', RANGE, "(got 0 bytes: '')"],
      [Buffer.alloc(0), RANGE, '(got 0 bytes: <Buffer >)'],
      ['k'.repeat(KEY.max + 1), RANGE, `(got ${KEY.max + 1} bytes: 'kkkk`],
      ['€'.repeat(21846), RANGE, "(got 65538 bytes: '€€€"], // 3 bytes each in UTF-8
      [new Uint8Array(KEY.max + 1), RANGE, `(got ${KEY.max + 1} bytes: Uint8Array(${KEY.max + 1})`],
      [1, TYPE, '(got 1)'],
      [1n, TYPE, '(got 1n)'],
      [null, TYPE, '(got null)'],
      [undefined, TYPE, '(got undefined)'],
      [{}, TYPE, '(got {})'],
      [[1, 2], TYPE, '(got [ 1, 2 ])'],
      [new Uint16Array(2), TYPE, '(got Uint16Array(2) [ 0, 0 ])'],
      [new ArrayBuffer(2), TYPE, '(got ArrayBuffer {'],
      [Symbol('k'), TYPE, '(got Symbol(k))'],
    ];
    for (const [key, error, shows] of keyRows) {
      const row = { what: `key ${String(key).slice(0, 20)}`, error, names: error === RANGE ? 'key must be 1 to 65536 bytes long' : 'key', shows };
      const sync = {
        get: () => db.get(key),
        has: () => db.has(key),
        put: () => db.put(key, 'v'),
        delete: () => db.delete(key),
        getInto: () => db.getInto(key, Buffer.alloc(4)),
        createReadStream: () => db.createReadStream(key),
        batchPut: () => db.batch().put(key, 'v'),
        batchDelete: () => db.batch().delete(key),
      };
      for (const [name, fn] of Object.entries(sync)) {
        assert.throws(fn, (err) => checkError(err, { ...row, what: `${name}(${row.what})` }));
      }
      for (const fn of [() => db.getAsync(key), () => db.putAsync(key, 'v'), () => db.deleteAsync(key)]) {
        await assert.rejects(fn(), (err) => checkError(err, row));
      }
    }
    const valueRows = [
      [hugeValue, RANGE, 'value must be at most 536870912 bytes long', `(got ${VALUE.max + 1} bytes: <Buffer`],
      [7, TYPE, 'value', '(got 7)'],
      [new Float64Array(1), TYPE, 'value', '(got Float64Array(1) [ 0 ])'],
    ];
    for (const [value, error, names, shows] of valueRows) {
      const row = { what: `value ${typeof value}`, error, names, shows };
      assert.throws(() => db.put('k', value), (err) => checkError(err, row));
      assert.throws(() => db.batch().put('k', value), (err) => checkError(err, row));
      await assert.rejects(db.putAsync('k', value), (err) => checkError(err, row));
    }

    // getInto's buffer and createReadStream's options.
    for (const [buffer, shows] of [['not a buffer', "(got 'not a buffer')"], [[0, 0], '(got [ 0, 0 ])'], [null, '(got null)']]) {
      const row = { what: 'getInto buffer', error: TYPE, names: 'buffer', shows };
      assert.throws(() => db.getInto('k', buffer), (err) => checkError(err, row));
    }
    db.put('k', 'v');
    for (const [name, spec] of Object.entries(READ_STREAM_OPTIONS)) {
      for (const [v, error, shows] of integerCases(spec)) {
        const row = { what: `createReadStream ${name} ${v}`, error, names: name, shows };
        assert.throws(() => db.createReadStream('k', { [name]: v }), (err) => checkError(err, row));
      }
    }
    const streamRow = { what: 'stream option', error: VALUE_ERR, names: "unknown createReadStream option 'length'", shows: 'known: highWaterMark, start, end' };
    assert.throws(() => db.createReadStream('k', { length: 1 }), (err) => checkError(err, streamRow));
    db.delete('k');

    // Nothing was written by any of these.
    assert.equal([...db.keys()].length, 0);
  } finally {
    await db.closeAsync();
  }
});

// ---------------------------------------------------------------------------------------
// Boundary values: accepted by the binding, and then by the library.

test('open(): the boundary values of every option are accepted', async () => {
  const boundaries = [];
  for (const [name, spec] of Object.entries(OPEN_OPTIONS)) {
    if (spec.kind === 'integer') {
      boundaries.push({ [name]: spec.min }, { [name]: spec.max }); // as bigints
      if (spec.max <= BigInt(Number.MAX_SAFE_INTEGER)) boundaries.push({ [name]: Number(spec.min) }, { [name]: Number(spec.max) });
      else boundaries.push({ [name]: Number(spec.min) }, { [name]: 2 ** 64 - 2048 }); // the largest double below 2**64
    } else if (spec.kind === 'hours') {
      boundaries.push({ [name]: [Number(spec.min), Number(spec.max)] }, { [name]: [spec.max, spec.min] });
    } else if (spec.kind === 'boolean') {
      boundaries.push({ [name]: true }, { [name]: false });
    } else if (spec.kind === 'enum') {
      for (const mode of Object.keys(spec.values)) boundaries.push({ [name]: mode });
    }
  }
  for (const options of boundaries) {
    const dir = tmpdir();
    if (options.readOnly === true || options.createIfMissing === false) fs.mkdirSync(dir, { recursive: true });
    const db = bitcask.open(dir, options);
    db.close();
    const adb = await bitcask.openAsync(dir, options);
    await adb.closeAsync();
  }
});

test('put, keys and values: the boundary values are accepted', async () => {
  const db = bitcask.open(tmpdir());
  try {
    const putOptions = [
      { ttlMs: 1 }, { ttlMs: 1n }, { ttlMs: U64_MAX }, { ttlMs: 2 ** 64 - 2048 }, { ttlMs: 2 ** 53 + 2 },
      { expiresAt: 0 }, { expiresAt: 0n }, { expiresAt: U64_MAX }, { expiresAt: new Date(0) },
      { expiresAt: new Date(8.64e15) }, {}, null, undefined,
    ];
    for (const options of putOptions) {
      const lives = !(options && options.ttlMs !== undefined && options.ttlMs < 1000);
      db.put('k', 'v', options);
      if (lives) assert.equal(db.get('k').toString(), 'v', String(options && Object.values(options)));
      await db.putAsync('k2', 'v', options);
      if (lives) assert.equal(db.get('k2').toString(), 'v');
      if (!options || options.expiresAt === undefined) db.batch().put('k3', 'v', options).commit();
    }
    const keys = [
      'k', Buffer.from([0]), `${'€'.repeat(21844)}abcd`, 'k'.repeat(KEY.max), Buffer.alloc(KEY.max, 1),
    ];
    for (const key of keys) {
      db.put(key, 'v');
      assert.equal(db.get(key).toString(), 'v');
      assert.equal(db.has(key), true);
      await db.putAsync(key, 'w');
      assert.equal((await db.getAsync(key)).toString(), 'w');
      db.delete(key);
      await db.deleteAsync(key);
    }
    db.put('empty', '');
    assert.equal(db.get('empty').length, 0);
    db.put('empty', Buffer.alloc(0));
    // The largest value: a batch put has the library check its length (and copy it)
    // without writing 512 MiB to disk.
    const big = Buffer.allocUnsafe(VALUE.max);
    const b = db.batch().put('big', big);
    assert.equal(b.length, 1);
    b.dispose();
    const s = db.createReadStream('empty', { highWaterMark: 1, start: 0, end: Number.MAX_SAFE_INTEGER });
    s.destroy();
    db.createReadStream('empty', { highWaterMark: BigInt(VALUE.max), start: 0n }).destroy();
  } finally {
    await db.closeAsync();
  }
});

// ---------------------------------------------------------------------------------------
// The limits table against the library itself, bypassing the binding's checks.

test('limits.js agrees with the library: each limit is accepted, one past it refused', () => {
  const native = loadNative(bitcask.loadLibrary().path);
  const f = native.f;
  const C_MAX = { uint32_t: U32_MAX, uint64_t: U64_MAX };
  const o = f.options_new();
  try {
    for (const [name, spec] of Object.entries(OPEN_OPTIONS)) {
      const [fn, params] = limits.parseC(spec.c);
      const setter = f[fn.replace(/^bc_/, '')];
      const typeMax = C_MAX[/(uint\d+_t) \w+\)$/.exec(PROTOTYPES[fn.replace(/^bc_/, '')])?.[1]];
      const call = (v) => (params.length === 2 ? setter(o, v, v) : setter(o, v));
      if (spec.kind === 'integer' || spec.kind === 'hours') {
        assert.equal(call(spec.min), Status.OK, `${fn}(${spec.min})`);
        assert.equal(call(spec.max), Status.OK, `${fn}(${spec.max})`);
        if (spec.min > 0n) assert.equal(call(spec.min - 1n), Status.INVALID_ARGUMENT, `${name}: ${fn}(${spec.min - 1n})`);
        if (spec.max < typeMax) assert.equal(call(spec.max + 1n), Status.INVALID_ARGUMENT, `${name}: ${fn}(${spec.max + 1n})`);
        else assert.equal(spec.max, typeMax, `${name}: max is the C type's`);
      } else if (spec.kind === 'enum') {
        for (const mode of Object.values(spec.values)) assert.equal(call(mode), Status.OK);
        assert.equal(call(Math.max(...Object.values(spec.values)) + 1), Status.INVALID_ARGUMENT);
        assert.equal(call(-1), Status.INVALID_ARGUMENT);
      } else {
        assert.equal(call(true), Status.OK);
        assert.equal(call(false), Status.OK);
      }
    }
  } finally {
    f.options_free(o);
  }

  const h = native.open(tmpdir(), { calls: [] });
  const batch = f.batch_new();
  try {
    const k = Buffer.from('k');
    const v = Buffer.from('v');
    assert.equal(f.put_ttl(h, k, 1, v, 1, PUT_OPTIONS.ttlMs.min - 1n), Status.INVALID_ARGUMENT);
    assert.equal(f.put_ttl(h, k, 1, v, 1, PUT_OPTIONS.ttlMs.min), Status.OK);
    assert.equal(f.put_ttl(h, k, 1, v, 1, PUT_OPTIONS.ttlMs.max), Status.OK);
    assert.equal(f.batch_put_ttl(batch, k, 1, v, 1, PUT_OPTIONS.ttlMs.min - 1n), Status.INVALID_ARGUMENT);
    assert.equal(f.batch_put_ttl(batch, k, 1, v, 1, PUT_OPTIONS.ttlMs.max), Status.OK);
    assert.equal(PUT_OPTIONS.expiresAt.min, 0n);
    assert.equal(f.put_expiring(h, k, 1, v, 1, PUT_OPTIONS.expiresAt.max), Status.OK);

    const longKey = Buffer.alloc(KEY.max + 1, 1);
    assert.equal(f.put(h, longKey, KEY.min - 1, v, 1), Status.INVALID_ARGUMENT);
    assert.equal(f.put(h, longKey, KEY.min, v, 1), Status.OK);
    assert.equal(f.put(h, longKey, KEY.max, v, 1), Status.OK);
    assert.equal(f.put(h, longKey, KEY.max + 1, v, 1), Status.INVALID_ARGUMENT);
    const bigValue = Buffer.allocUnsafe(VALUE.max + 1);
    assert.equal(f.batch_put(batch, k, 1, bigValue, VALUE.max + 1), Status.INVALID_ARGUMENT);
    assert.equal(f.batch_put(batch, k, 1, bigValue, VALUE.max), Status.OK);
    assert.equal(f.batch_put(batch, k, 1, bigValue, VALUE.min), Status.OK);
  } finally {
    f.batch_free(batch);
    native.close(h);
  }
});

test('BITCASK_ASYNC_THREADS: a bad value is reported, showing it, and the default used', () => {
  const { spawnSync } = require('child_process');
  const script = `
    const bitcask = require(${JSON.stringify(require.resolve('..'))});
    console.log(bitcask._internal.pool().size);`;
  const run = (value) => spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, BITCASK_ASYNC_THREADS: value }, encoding: 'utf8',
  });
  const good = run('3');
  assert.equal(good.stdout.trim(), '3');
  assert.equal(good.stderr, '');
  for (const bad of ['0', '65', '2.5', 'four', '-1']) {
    const r = run(bad);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Number(r.stdout) >= 2 && Number(r.stdout) <= 4, r.stdout);
    assert.ok(r.stderr.includes(`BITCASK_ASYNC_THREADS must be an integer from 1 to 64 (got '${bad}')`), r.stderr);
  }
});
