'use strict';

// Library lookup, run in child processes with a copy of the package placed where the
// repository's build output is not found.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const bitcask = require('..');
const { tmpdir, PKG, PACKAGE_FILES } = require('../support/testing');

const REAL_LIBRARY = bitcask.loadLibrary().path;

function copyPackage() {
  const root = tmpdir('pkgcopy');
  const pkg = path.join(root, 'a', 'b', 'bitcask');
  fs.mkdirSync(pkg, { recursive: true });
  for (const f of PACKAGE_FILES) fs.copyFileSync(path.join(PKG, f), path.join(pkg, f));
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

// An environment where no libbitcask can be found, but for what a test puts there.
function noLibraryEnv() {
  const emptyDir = tmpdir('empty');
  fs.mkdirSync(emptyDir, { recursive: true });
  return {
    BITCASK_LIBRARY_PATH: undefined, LD_LIBRARY_PATH: undefined, PKG_CONFIG_PATH: undefined, PKG_CONFIG_LIBDIR: emptyDir,
  };
}

// True when the dynamic loader finds a libbitcask installed on this machine (then the
// "nothing found" cases cannot be observed).
function systemHasLibrary(res) {
  if (res.error) return false;
  assert.ok(['libbitcask.so.0', 'libbitcask.so'].includes(res.libraryPath), res.libraryPath);
  return true;
}

test('outside a checkout, with nothing to load, the error says where it looked and how to fix it', () => {
  const { pkg } = copyPackage();
  const res = run(pkg, noLibraryEnv());
  if (systemHasLibrary(res)) return;
  assert.equal(res.code, 'LIBRARY_NOT_FOUND');
  const bundled = path.join(pkg, 'lib', 'libbitcask.so');
  assert.deepEqual(res.tried.map((t) => t.replace(/: .*/s, '')), [
    `${bundled} (bundled in the package)`,
    'libbitcask.so.0 (dynamic loader search path)',
    'libbitcask.so (dynamic loader search path)',
    'pkg-config --variable=libdir bitcask',
  ]);
  assert.ok(res.tried[0].endsWith(': not present'), res.tried[0]);
  assert.match(res.tried[3], /bitcask was not found|pkg-config is not installed/);
  // Nothing about a repository the user does not have; each way to fix it.
  assert.doesNotMatch(res.error, /target\/release|cargo/);
  assert.match(res.error, /^bitcask: could not find libbitcask 0\.x\. Looked in:\n/);
  assert.ok(res.error.includes('`make install` in a libbitcask checkout'), res.error);
  assert.ok(res.error.includes('PKG_CONFIG_PATH=<prefix>/lib/pkgconfig'), res.error);
  assert.ok(res.error.includes('set BITCASK_LIBRARY_PATH=/path/to/libbitcask.so'), res.error);
  assert.ok(res.error.includes(`copy libbitcask.so to ${bundled}`), res.error);
});

test('in a checkout, the error also offers to build the library', () => {
  // A copy of the package as bindings/node of a checkout that has not been built.
  const { root } = copyPackage();
  const checkout = path.join(root, 'checkout');
  const pkg = path.join(checkout, 'bindings', 'node');
  fs.mkdirSync(path.join(checkout, 'include'), { recursive: true });
  fs.writeFileSync(path.join(checkout, 'Cargo.toml'), '');
  fs.writeFileSync(path.join(checkout, 'include', 'bitcask.h'), '');
  fs.mkdirSync(pkg, { recursive: true });
  for (const f of PACKAGE_FILES) fs.copyFileSync(path.join(PKG, f), path.join(pkg, f));
  fs.symlinkSync(path.join(PKG, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
  const res = run(pkg, noLibraryEnv());
  if (systemHasLibrary(res)) return;
  const build = path.join(checkout, 'target', 'release', 'libbitcask.so');
  assert.ok(res.tried.includes(`${build} (build output of the checkout): not present`), res.tried.join('\n'));
  assert.ok(res.error.includes(`build it: \`cargo build --release\` in ${checkout}`), res.error);
});

test('BITCASK_LIBRARY_PATH is used, and only it, when set', () => {
  const { pkg } = copyPackage();
  const ok = run(pkg, { BITCASK_LIBRARY_PATH: REAL_LIBRARY });
  assert.deepEqual(ok, { libraryPath: REAL_LIBRARY, v: 'sync' });
  const bad = run(pkg, { BITCASK_LIBRARY_PATH: '/no/such/libbitcask.so' });
  assert.equal(bad.code, 'LIBRARY_NOT_FOUND');
  assert.deepEqual(bad.tried.length, 1);
  assert.match(bad.error, /^bitcask: could not load libbitcask 0\.x from BITCASK_LIBRARY_PATH:\n/);
  assert.match(bad.error, /\/no\/such\/libbitcask\.so \(BITCASK_LIBRARY_PATH\): /);
  assert.match(bad.error, /Point BITCASK_LIBRARY_PATH at a libbitcask\.so \(version 0\.x\), or leave it unset/);
});

test('a copy bundled in the package comes first', () => {
  const { pkg } = copyPackage();
  fs.mkdirSync(path.join(pkg, 'lib'));
  const bundled = path.join(pkg, 'lib', 'libbitcask.so');
  fs.copyFileSync(REAL_LIBRARY, bundled);
  assert.deepEqual(run(pkg, noLibraryEnv()), { libraryPath: bundled, v: 'sync' });
});

test('the dynamic loader\'s search path: libbitcask.so.0, then libbitcask.so', () => {
  const { root, pkg } = copyPackage();
  const libDir = path.join(root, 'syslib');
  fs.mkdirSync(libDir);
  fs.copyFileSync(REAL_LIBRARY, path.join(libDir, 'libbitcask.so'));
  const env = { ...noLibraryEnv(), LD_LIBRARY_PATH: libDir };
  const res = run(pkg, env);
  if (res.libraryPath === 'libbitcask.so.0') return; // one is installed system-wide
  assert.deepEqual(res, { libraryPath: 'libbitcask.so', v: 'sync' });
  fs.copyFileSync(REAL_LIBRARY, path.join(libDir, 'libbitcask.so.0'));
  assert.deepEqual(run(pkg, env), { libraryPath: 'libbitcask.so.0', v: 'sync' });
});

test('an installed prefix the loader does not search is found through pkg-config', (t) => {
  if (spawnSync('pkg-config', ['--version']).error) {
    t.skip('pkg-config is not installed');
    return;
  }
  const { root, pkg } = copyPackage();
  const prefix = path.join(root, 'prefix');
  fs.mkdirSync(path.join(prefix, 'lib', 'pkgconfig'), { recursive: true });
  fs.copyFileSync(REAL_LIBRARY, path.join(prefix, 'lib', 'libbitcask.so.0'));
  fs.writeFileSync(path.join(prefix, 'lib', 'pkgconfig', 'bitcask.pc'), [
    `prefix=${prefix}`, 'libdir=${prefix}/lib', '', 'Name: bitcask', 'Description: test', 'Version: 0.1.0',
    'Libs: -L${libdir} -lbitcask', '',
  ].join('\n'));
  const res = run(pkg, { ...noLibraryEnv(), PKG_CONFIG_PATH: path.join(prefix, 'lib', 'pkgconfig') });
  if (res.libraryPath === 'libbitcask.so.0' || res.libraryPath === 'libbitcask.so') return; // installed system-wide
  assert.deepEqual(res, { libraryPath: path.join(prefix, 'lib', 'libbitcask.so.0'), v: 'sync' });
});

test('the checkout\'s build output is found from the package directory, and through a symlink to it', () => {
  const repoBuild = path.resolve(PKG, '..', '..', 'target', 'release', 'libbitcask.so');
  assert.equal(run(PKG, { BITCASK_LIBRARY_PATH: undefined }).libraryPath, repoBuild);
  // `npm install <checkout>/bindings/node` makes node_modules/bitcask a symlink.
  const project = tmpdir('project');
  fs.mkdirSync(path.join(project, 'node_modules'), { recursive: true });
  fs.symlinkSync(PKG, path.join(project, 'node_modules', 'bitcask'), 'dir');
  assert.equal(run(path.join(project, 'node_modules', 'bitcask'), { BITCASK_LIBRARY_PATH: undefined }).libraryPath, repoBuild);
});

test('koffi\'s own async calls would lose the thread-local message (why the binding uses workers)', async () => {
  // Evidence for the design in pool.js: a koffi `.async` call runs on a libuv pool thread,
  // so bc_last_error() read afterwards on the main thread does not see its message
  // (openAsync, which uses `.async`, repeats a failed open on a worker: index.js).
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
