'use strict';

// Runs examples/node/*.js as child processes.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { spawnSync } = require('child_process');
const bitcask = require('..');
const { tmpdir } = require('../support/testing');

const EXAMPLES = path.resolve(__dirname, '..', '..', '..', 'examples', 'node');

function runExample(name, ...args) {
  return spawnSync(process.execPath, [path.join(EXAMPLES, name), ...args], {
    encoding: 'utf8',
    timeout: 120000,
  });
}

test('examples/node/basic.js runs', () => {
  const dir = tmpdir('basic-example');
  const r = runExample('basic.js', dir);
  assert.equal(r.status, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /greeting = hello, world/);
  assert.match(r.stdout, /session after expiry: undefined/);
  assert.match(r.stdout, /users: 99/);
  assert.match(r.stdout, /after merge: .* 0 dead/);
  assert.match(r.stdout, /second open: LOCKED: .*locked/);
  assert.match(r.stdout, /closed/);
  // The data it left behind is readable.
  const db = bitcask.open(dir);
  assert.equal(JSON.parse(db.get('user:2')).visits, 5);
  assert.equal(db.get('user:13'), undefined);
  db.close();
});

test('examples/node/async.js runs', () => {
  const dir = tmpdir('async-example');
  const r = runExample('async.js', dir);
  assert.equal(r.status, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /counter = 99/);
  assert.match(r.stdout, /photo bytes: 4194304/);
  assert.match(r.stdout, /streamed bytes: 4194304/);
  assert.match(r.stdout, /merges completed: 1/);
  assert.ok(r.stdout.includes(`openAsync on a locked directory: LOCKED: ${dir}`), r.stdout);
  assert.match(r.stdout, /closed/);
});

test('the examples exit non-zero on failure', () => {
  for (const name of ['basic.js', 'async.js']) {
    const usage = runExample(name);
    assert.notEqual(usage.status, 0, `${name} without a directory`);
    assert.match(usage.stderr, /usage/);

    const dir = tmpdir('locked-example');
    const holder = bitcask.open(dir);
    try {
      const r = runExample(name, dir);
      assert.notEqual(r.status, 0, `${name} on a locked directory`);
      assert.match(r.stderr, /LOCKED|locked/);
    } finally {
      holder.close();
    }
  }
});
