'use strict';

// The binding's copies of include/bitcask.h against the header itself: prototypes,
// opaque types, status codes, sync modes, limits and version. Any drift fails here (the
// Go binding gets the same from its compiler).

const test = require('node:test');
const assert = require('node:assert/strict');
const bitcask = require('..');
const { OPAQUE_TYPES, PROTOTYPES } = require('../prototypes');
const { Status } = require('../errors');
const limits = require('../limits');
const { loadNative } = require('../native');
const { readHeader, parsePrototype, statedRange, TYPE_RANGES } = require('../support/header');

const header = readHeader();

// Header functions the binding does not call, and why. A new header function must be
// bound (prototypes.js) or added here.
const NOT_BOUND = {
  bc_get_stats: 'stats() reads bc_stats_json, which has the same counters',
  bc_get_file_stats: 'stats() reads bc_stats_json, which has the same counters',
  bc_iter_next_expiring: 'iterators yield keys and values; expiries are for copies of a store (Go: Iter.Entries, used by bitcaskd --raft snapshots)',
  bc_checkpoint_capture: 'a checkpoint captured now and written later is for state machines (Go: DB.CaptureCheckpoint, used by bitcaskd --raft snapshots); checkpoint() covers Node',
  bc_capture_write: 'see bc_checkpoint_capture',
  bc_capture_free: 'see bc_checkpoint_capture',
};

// The binding declares out-parameters `void *` (see prototypes.js): allowed where the
// header has a pointer the function writes through.
function sameParamType(bound, declared) {
  if (bound === declared) return true;
  return bound === 'void*' && (declared.endsWith('**') || (declared.endsWith('*') && !declared.startsWith('const ')));
}

test('prototypes.js matches the header: every function, return type, parameter type and name', () => {
  const bound = new Set();
  for (const [key, proto] of Object.entries(PROTOTYPES)) {
    const mine = parsePrototype(proto);
    assert.equal(key, mine.name.replace(/^bc_/, ''), `${proto}: its key in PROTOTYPES`);
    const theirs = header.functions.get(mine.name);
    assert.ok(theirs, `${mine.name} is declared by the binding but not in ${header.file}`);
    bound.add(mine.name);
    assert.equal(mine.ret, theirs.ret, `${mine.name}: return type`);
    assert.deepEqual(mine.params.map((p) => p.name), theirs.params.map((p) => p.name), `${mine.name}: parameters`);
    for (const [i, p] of mine.params.entries()) {
      assert.ok(sameParamType(p.type, theirs.params[i].type),
        `${mine.name}(${p.name}): the binding has ${p.type}, the header ${theirs.params[i].type}`);
    }
  }
  for (const name of header.functions.keys()) {
    assert.ok(bound.has(name) || Object.hasOwn(NOT_BOUND, name),
      `${name} is in the header but neither in prototypes.js nor in NOT_BOUND`);
  }
  for (const name of Object.keys(NOT_BOUND)) {
    assert.ok(header.functions.has(name) && !bound.has(name), `NOT_BOUND lists ${name}`);
  }
  assert.deepEqual([...OPAQUE_TYPES].sort(), [...header.opaques].sort(), 'opaque types');
});

test('the drift check itself: it notices a changed parameter', () => {
  const theirs = header.functions.get('bc_options_set_sync_interval_ms');
  const changed = parsePrototype('int32_t bc_options_set_sync_interval_ms(bc_options *opts, uint64_t ms)');
  assert.equal(sameParamType(changed.params[1].type, theirs.params[1].type), false);
  assert.equal(sameParamType('void*', 'const uint8_t*'), false); // an input is not an out-parameter
  assert.equal(sameParamType('void*', 'size_t*'), true);
});

test('errors.js: the status codes are the header\'s BC_* statuses, and the library names them so', () => {
  const notStatus = /^BC_(VERSION_|SYNC_|KEYDIR_|MAX_)/;
  const statuses = [...header.defines].filter(([name]) => !notStatus.test(name));
  const fromHeader = Object.fromEntries(statuses.map(([name, v]) => [name.replace(/^BC_/, ''), Number(v)]));
  const mine = { ...Status };
  assert.equal(mine.CLOSED, -1); // the binding's own
  delete mine.CLOSED;
  assert.deepEqual(mine, fromHeader);
  const native = loadNative(bitcask.loadLibrary().path);
  for (const [name, value] of Object.entries(fromHeader)) assert.equal(native.statusName(value), `BC_${name}`);
});

test('limits.js: enum options, key and value limits as the header defines them', () => {
  for (const spec of Object.values(limits.OPEN_OPTIONS).filter((s) => s.kind === 'enum')) {
    const modes = Object.fromEntries([...header.defines]
      .filter(([name]) => name.startsWith(spec.prefix))
      .map(([name, v]) => [name.slice(spec.prefix.length).toLowerCase(), Number(v)]));
    assert.deepEqual({ ...spec.values }, modes);
  }
  assert.equal(BigInt(limits.MAX_KEY_LEN), header.defines.get('BC_MAX_KEY_LEN'));
  assert.equal(BigInt(limits.MAX_VALUE_LEN), header.defines.get('BC_MAX_VALUE_LEN'));
  assert.equal(bitcask.MAX_KEY_LEN, limits.MAX_KEY_LEN);
  assert.equal(bitcask.MAX_VALUE_LEN, limits.MAX_VALUE_LEN);
});

test('limits.js: each range is the C parameter\'s, as its type and documentation state it', () => {
  const checks = [];
  for (const [table, entries] of [['OPEN_OPTIONS', limits.OPEN_OPTIONS], ['PUT_OPTIONS', limits.PUT_OPTIONS]]) {
    for (const [name, spec] of Object.entries(entries)) {
      for (const c of [spec.c].flat()) checks.push([`${table}.${name}`, spec, c]);
    }
  }
  checks.push(['KEY', { kind: 'integer', min: BigInt(limits.KEY.min), max: BigInt(limits.KEY.max) }, limits.KEY.c]);
  checks.push(['VALUE', { kind: 'integer', min: BigInt(limits.VALUE.min), max: BigInt(limits.VALUE.max) }, limits.VALUE.c]);
  for (const [what, spec, c] of checks) {
    const [fn, params] = limits.parseC(c);
    const decl = header.functions.get(fn);
    assert.ok(decl, `${what}: ${fn} is not in the header`);
    assert.equal(PROTOTYPES[fn.replace(/^bc_/, '')] !== undefined, true, `${what}: ${fn} is not bound`);
    for (const param of params) {
      const p = decl.params.find((q) => q.name === param);
      assert.ok(p, `${what}: ${fn} has no parameter ${param}`);
      if (spec.kind === 'boolean') {
        assert.equal(p.type, 'bool', `${what}: ${fn}(${param})`);
      } else if (spec.kind === 'enum') {
        assert.equal(p.type, 'int32_t', `${what}: ${fn}(${param})`);
      } else {
        assert.ok(TYPE_RANGES[p.type], `${what}: ${fn}(${param}) is ${p.type}`);
        assert.deepEqual([spec.min, spec.max], statedRange(header, fn, param), `${what}: ${fn}(${param})`);
      }
    }
  }
  // Every options setter is in the table.
  const setters = [...header.functions.keys()].filter((n) => n.startsWith('bc_options_set_'));
  const tabled = Object.values(limits.OPEN_OPTIONS).map((spec) => limits.parseC(spec.c)[0]);
  assert.deepEqual(setters.sort(), tabled.sort(), 'options setters with no open() option, or the reverse');
});

test('the range reader: what it makes of the documentation', () => {
  assert.deepEqual(statedRange(header, 'bc_options_set_max_file_size', 'bytes'), [4096n, 4294967295n]);
  assert.deepEqual(statedRange(header, 'bc_options_set_merge_window', 'end_hour'), [0n, 23n]);
  assert.deepEqual(statedRange(header, 'bc_put_ttl', 'ttl_ms'), [1n, 2n ** 64n - 1n]);
  assert.deepEqual(statedRange(header, 'bc_put_ttl', 'key_len'), [0n, 2n ** 64n - 1n]); // not documented there
  assert.deepEqual(statedRange(header, 'bc_put', 'key_len'), [1n, 65536n]);
});

test('BINDING_VERSION has the header\'s major version', () => {
  assert.equal(BigInt(bitcask.BINDING_VERSION.split('.')[0]), header.defines.get('BC_VERSION_MAJOR'));
  assert.equal(bitcask.libraryVersion().split('.')[0], bitcask.BINDING_VERSION.split('.')[0]);
});
