'use strict';

// The package as users get it: `npm pack`, installed into a new project (koffi comes from
// the npm registry, or npm's cache), then `require('bitcask')` there.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const bitcask = require('..');
const { tmpdir, PKG, PACKAGE_FILES } = require('../support/testing');

const REAL_LIBRARY = bitcask.loadLibrary().path;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function npm(args, cwd) {
  const r = spawnSync(NPM, args, { cwd, encoding: 'utf8', timeout: 300000 });
  assert.equal(r.status, 0, `npm ${args.join(' ')} in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Packs `dir`; returns [tarball path, files in it]. */
function pack(dir, dest) {
  const r = npm(['pack', '--json', '--pack-destination', dest], dir);
  const [info] = JSON.parse(r.stdout);
  return [path.join(dest, info.filename), info.files.map((f) => f.path).sort()];
}

const SCRIPT = `
  const bitcask = require('bitcask');
  (async () => {
    const db = bitcask.open(process.argv[1]);
    db.put('k', 'v');
    await db.putAsync('k2', 'async');
    const v = db.get('k').toString() + (await db.getAsync('k2')).toString();
    await db.closeAsync();
    console.log(JSON.stringify({ libraryPath: db.libraryPath, v }));
  })().catch((e) => {
    console.log(JSON.stringify({ error: e.message, code: e.code, tried: e.tried }));
  });
`;

function runIn(project, env) {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, ['-e', SCRIPT, tmpdir()], { cwd: project, env: childEnv, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim());
}

test('npm pack: the tarball installs into a new project and finds the library as documented', () => {
  const work = tmpdir('pack');
  fs.mkdirSync(work, { recursive: true });
  const [tarball, files] = pack(PKG, work);
  assert.deepEqual(files, [...PACKAGE_FILES].sort(), 'files in the tarball (no tests, no bench, no bundled library)');

  const project = path.join(work, 'project');
  fs.mkdirSync(project);
  // As package.json of bindings/node does, approve koffi's install script (which checks
  // its prebuilt binary and would build from source without one): npm then prints no
  // install-script warning.
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({
    name: 'project', version: '1.0.0', private: true, allowScripts: { koffi: true },
  }));
  const install = npm(['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], project);
  assert.doesNotMatch(install.stderr, /install-scripts|allowScripts/, install.stderr);

  // BITCASK_LIBRARY_PATH.
  const withEnv = runIn(project, { BITCASK_LIBRARY_PATH: REAL_LIBRARY });
  assert.deepEqual(withEnv, { libraryPath: REAL_LIBRARY, v: 'vasync' });

  // Nothing to load: the message speaks of the installed package, not of a repository.
  const emptyDir = path.join(work, 'empty');
  fs.mkdirSync(emptyDir);
  const none = runIn(project, {
    BITCASK_LIBRARY_PATH: undefined, LD_LIBRARY_PATH: undefined, PKG_CONFIG_PATH: undefined, PKG_CONFIG_LIBDIR: emptyDir,
  });
  const bundled = path.join(fs.realpathSync(project), 'node_modules', 'bitcask', 'lib', 'libbitcask.so');
  if (none.error) {
    assert.equal(none.code, 'LIBRARY_NOT_FOUND');
    assert.equal(none.tried[0], `${bundled} (bundled in the package): not present`);
    assert.doesNotMatch(none.error, /target\/release|cargo|bindings\/node/);
    for (const fix of ['make install', 'BITCASK_LIBRARY_PATH=', `copy libbitcask.so to ${bundled}`]) {
      assert.ok(none.error.includes(fix), `${none.error}\nshould say ${fix}`);
    }
  } else {
    assert.ok(['libbitcask.so.0', 'libbitcask.so'].includes(none.libraryPath)); // installed system-wide
  }

  // A copy in the installed package's lib/ is found with nothing set.
  fs.mkdirSync(path.dirname(bundled));
  fs.copyFileSync(REAL_LIBRARY, bundled);
  assert.deepEqual(runIn(project, { BITCASK_LIBRARY_PATH: undefined }), { libraryPath: bundled, v: 'vasync' });
});

test('npm pack: a library copied to lib/ before packing is bundled in the tarball', () => {
  const work = tmpdir('pack-bundled');
  const src = path.join(work, 'bitcask');
  fs.mkdirSync(path.join(src, 'lib'), { recursive: true });
  for (const f of PACKAGE_FILES) fs.copyFileSync(path.join(PKG, f), path.join(src, f));
  fs.copyFileSync(REAL_LIBRARY, path.join(src, 'lib', 'libbitcask.so'));
  const r = npm(['pack', '--dry-run', '--json'], src);
  const files = JSON.parse(r.stdout)[0].files.map((f) => f.path);
  assert.ok(files.includes('lib/libbitcask.so'), files.join(' '));
});
