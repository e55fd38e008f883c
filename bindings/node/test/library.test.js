'use strict';

// Library lookup, run in child processes with a copy of the package placed where the
// repository's build output is not found.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const bitcask = require('..');
const { tmpdir, PKG } = require('../support/testing');

const REAL_LIBRARY = bitcask.loadLibrary().path;
const FILES = ['package.json', ...require('../package.json').files];

function copyPackage() {
  const root = tmpdir('pkgcopy');
  const pkg = path.join(root, 'a', 'b', 'bitcask');
  fs.mkdirSync(pkg, { recursive: true });
  for (const f of FILES) fs.copyFileSync(path.join(PKG, f), path.join(pkg, f));
  fs.symlinkSync(path.join(PKG, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
  return { root, pkg };
}

const SCRIPT = `
  const bitcask = require(process.argv[1]);
  (async () => {
    const db = bitcask.open(process.argv[2]);
    db.put('k', 'sync');
    const v = (await db.getAsync('k')).toString();
    await db.putAsync('k2', 'async');
    await db.closeAsync();
    console.log(JSON.stringify({ libraryPath: db.libraryPath, v }));
  })().catch((e) => {
    console.log(JSON.stringify({ error: e.message, code: e.code, tried: e.tried }));
  });
`;

function run(pkg, env) {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, ['-e', SCRIPT, pkg, tmpdir()], { env: childEnv, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim());
}

test('with nothing to load, the error names every place tried', () => {
  const { pkg } = copyPackage();
  const res = run(pkg, { BITCASK_LIBRARY_PATH: undefined, LD_LIBRARY_PATH: undefined });
  if (!res.error) {
    // A libbitcask is installed system-wide: the fallback worked, nothing to check here.
    assert.ok(['libbitcask.so', 'libbitcask.so.0'].includes(res.libraryPath));
    return;
  }
  assert.equal(res.code, 'LIBRARY_NOT_FOUND');
  const repoBuild = path.resolve(pkg, '..', '..', 'target', 'release', 'libbitcask.so');
  assert.equal(res.tried.length, 3);
  assert.ok(res.error.includes(`${repoBuild} (repository build output)`), res.error);
  assert.ok(res.error.includes('libbitcask.so (system library search path)'), res.error);
  assert.ok(res.error.includes('libbitcask.so.0 (system library search path)'), res.error);
  assert.match(res.error, /BITCASK_LIBRARY_PATH/);
});

test('BITCASK_LIBRARY_PATH is used, and only it, when set', () => {
  const { pkg } = copyPackage();
  const ok = run(pkg, { BITCASK_LIBRARY_PATH: REAL_LIBRARY });
  assert.deepEqual(ok, { libraryPath: REAL_LIBRARY, v: 'sync' });
  const bad = run(pkg, { BITCASK_LIBRARY_PATH: '/no/such/libbitcask.so' });
  assert.equal(bad.code, 'LIBRARY_NOT_FOUND');
  assert.deepEqual(bad.tried.length, 1);
  assert.match(bad.error, /\/no\/such\/libbitcask\.so \(BITCASK_LIBRARY_PATH\)/);
});

test('the system library is the last resort', () => {
  const { root, pkg } = copyPackage();
  const libDir = path.join(root, 'syslib');
  fs.mkdirSync(libDir);
  fs.copyFileSync(REAL_LIBRARY, path.join(libDir, 'libbitcask.so'));
  const res = run(pkg, { BITCASK_LIBRARY_PATH: undefined, LD_LIBRARY_PATH: libDir });
  assert.deepEqual(res, { libraryPath: 'libbitcask.so', v: 'sync' });
});

test('the repository build output is found from the package directory', () => {
  const res = run(PKG, { BITCASK_LIBRARY_PATH: undefined });
  assert.equal(res.libraryPath, path.resolve(PKG, '..', '..', 'target', 'release', 'libbitcask.so'));
});

test('koffi\'s own async calls would lose the thread-local message (why the binding uses workers)', async () => {
  // Evidence for the design in pool.js: a koffi `.async` call runs on a koffi thread, so
  // bc_last_error() read afterwards on the main thread does not see its message.
  const koffi = require('koffi');
  const lib = koffi.load(REAL_LIBRARY);
  const lastError = lib.func('const char *bc_last_error(void)');
  const bcOpen = lib.func('int32_t bc_open(const char *path, void *opts, void *db_out)');
  const dir = tmpdir();
  const holder = bitcask.open(dir);
  try {
    const out = new BigUint64Array(1);
    assert.equal(bcOpen(dir, null, out), bitcask.Status.LOCKED); // on this thread
    assert.ok(lastError().includes(dir));
    assert.throws(() => bitcask.open(__filename), { code: 'INVALID_ARGUMENT' }); // a different message here
    const mainMessage = lastError();
    const status = await new Promise((resolve, reject) => {
      bcOpen.async(dir, null, out, (err, st) => (err ? reject(err) : resolve(st)));
    });
    assert.equal(status, bitcask.Status.LOCKED);
    assert.equal(lastError(), mainMessage); // not the LOCKED message of the async call
    assert.ok(!lastError().includes(dir));
    // The binding's async path keeps it.
    await assert.rejects(bitcask.openAsync(dir), (err) => err.code === 'LOCKED' && err.message.includes(dir));
  } finally {
    holder.close();
  }
});
