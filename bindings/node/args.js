'use strict';

// Checking and converting the arguments of the public API, before the library is called.

const { fileURLToPath } = require('url');

function describe(x) {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return `an instance of ${(x.constructor && x.constructor.name) || 'Object'}`;
  if (typeof x === 'string') return 'a string';
  return `type ${typeof x} (${String(x)})`;
}

// Strings are encoded into per-thread scratch buffers when they surely fit (3 UTF-8 bytes
// per UTF-16 unit at most), to spare an allocation per call. `encLen` receives the length.
const keyScratch = Buffer.allocUnsafeSlow(4 * 1024);
const valueScratch = Buffer.allocUnsafeSlow(64 * 1024);
// The length of the bytes bytesArg() returned last.
const enc = { len: 0 };

function bytesArg(x, name, scratch) {
  if (typeof x === 'string') {
    if (x.length * 3 <= scratch.length) {
      enc.len = scratch.write(x);
      return scratch;
    }
    const b = Buffer.from(x, 'utf8');
    enc.len = b.length;
    return b;
  }
  if (x instanceof Uint8Array) {
    enc.len = x.byteLength;
    return x;
  }
  throw new TypeError(`${name} must be a Buffer, Uint8Array or string (got ${describe(x)})`);
}

/** A copy with an ArrayBuffer of its own, to transfer to a worker thread. */
function ownedBytes(x, name) {
  if (typeof x === 'string') return new TextEncoder().encode(x);
  if (x instanceof Uint8Array) return new Uint8Array(x);
  throw new TypeError(`${name} must be a Buffer, Uint8Array or string (got ${describe(x)})`);
}

function uint(x, name, max) {
  if (typeof x === 'bigint') {
    if (x < 0n || x > BigInt(max)) throw new RangeError(`${name} must be between 0 and ${max} (got ${x})`);
    return x;
  }
  if (typeof x !== 'number') throw new TypeError(`${name} must be a number (got ${describe(x)})`);
  if (!Number.isInteger(x) || x < 0 || x > max) {
    throw new RangeError(`${name} must be an integer between 0 and ${max} (got ${x})`);
  }
  return x;
}
const U64_MAX = 0xffffffffffffffffn;
const U32_MAX = 0xffffffff;

function bool(x, name) {
  if (typeof x !== 'boolean') throw new TypeError(`${name} must be a boolean (got ${describe(x)})`);
  return x;
}

function checkKeys(obj, known, what) {
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) throw new TypeError(`unknown ${what} option '${key}'`);
  }
}

function optionsObject(options, what) {
  if (options === undefined || options === null) return null;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${what} options must be an object (got ${describe(options)})`);
  }
  return options;
}

const PUT_OPTIONS = new Set(['ttlMs', 'expiresAt']);

/** Returns [ttlMs, expiresAtMs] (each possibly undefined). */
function putOptions(options) {
  const o = optionsObject(options, 'put');
  if (!o) return [undefined, undefined];
  checkKeys(o, PUT_OPTIONS, 'put');
  const ttl = o.ttlMs === undefined ? undefined : uint(o.ttlMs, 'ttlMs', U64_MAX);
  let at;
  if (o.expiresAt !== undefined) {
    if (ttl !== undefined) throw new TypeError('ttlMs and expiresAt cannot both be given');
    const ms = o.expiresAt instanceof Date ? o.expiresAt.getTime() : o.expiresAt;
    at = uint(ms, 'expiresAt', U64_MAX);
  }
  return [ttl, at];
}

const SYNC_MODES = { none: 0, always: 1, interval: 2 };
// Merge options: JS name -> [options setter (native.js), argument checker].
const MERGE_OPTIONS = {
  autoMerge: ['options_set_auto_merge', (v, n) => [bool(v, n)]],
  fragMergeTrigger: ['options_set_frag_merge_trigger', (v, n) => [uint(v, n, U32_MAX)]],
  deadBytesMergeTrigger: ['options_set_dead_bytes_merge_trigger', (v, n) => [uint(v, n, U64_MAX)]],
  fragThreshold: ['options_set_frag_threshold', (v, n) => [uint(v, n, U32_MAX)]],
  deadBytesThreshold: ['options_set_dead_bytes_threshold', (v, n) => [uint(v, n, U64_MAX)]],
  smallFileThreshold: ['options_set_small_file_threshold', (v, n) => [uint(v, n, U64_MAX)]],
  mergeWindow: ['options_set_merge_window', (v, n) => {
    if (!Array.isArray(v) || v.length !== 2) {
      throw new TypeError(`${n} must be [startHour, endHour] (got ${describe(v)})`);
    }
    return [uint(v[0], `${n}[0]`, U32_MAX), uint(v[1], `${n}[1]`, U32_MAX)];
  }],
  mergeCheckIntervalMs: ['options_set_merge_check_interval_ms', (v, n) => [uint(v, n, U32_MAX)]],
};
const OPEN_OPTIONS = new Set([
  'maxFileSize', 'sync', 'syncIntervalMs', 'readOnly', 'createIfMissing', 'libraryPath',
  ...Object.keys(MERGE_OPTIONS),
]);

/** Validates open() options; returns { opts (structured-cloneable), libraryPath }. */
function openOptions(options) {
  const o = optionsObject(options, 'open');
  const opts = {};
  if (!o) return { opts, libraryPath: undefined };
  checkKeys(o, OPEN_OPTIONS, 'open');
  if (o.maxFileSize !== undefined) opts.maxFileSize = uint(o.maxFileSize, 'maxFileSize', U64_MAX);
  if (o.sync !== undefined) {
    if (typeof o.sync !== 'string' || !Object.hasOwn(SYNC_MODES, o.sync)) {
      throw new TypeError(`sync must be 'none', 'always' or 'interval' (got ${describe(o.sync)})`);
    }
    opts.sync = SYNC_MODES[o.sync];
  }
  if (o.syncIntervalMs !== undefined) opts.syncIntervalMs = uint(o.syncIntervalMs, 'syncIntervalMs', U32_MAX);
  if (o.readOnly !== undefined) opts.readOnly = bool(o.readOnly, 'readOnly');
  if (o.createIfMissing !== undefined) opts.createIfMissing = bool(o.createIfMissing, 'createIfMissing');
  for (const [name, [setter, check]] of Object.entries(MERGE_OPTIONS)) {
    if (o[name] === undefined) continue;
    if (!opts.merge) opts.merge = [];
    opts.merge.push([setter, ...check(o[name], name)]);
  }
  return { opts, libraryPath: o.libraryPath };
}

function pathArg(p) {
  if (p instanceof URL) p = fileURLToPath(p);
  if (typeof p !== 'string') throw new TypeError(`path must be a string or a file: URL (got ${describe(p)})`);
  if (p.includes('\0')) throw new TypeError('path must not contain NUL bytes');
  return p;
}

function asBuffer(u8) {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function camelCase(obj) {
  if (Array.isArray(obj)) return obj.map(camelCase);
  if (obj === null || typeof obj !== 'object') return obj;
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    out[k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())] = camelCase(v);
  }
  return out;
}

module.exports = {
  describe, bytesArg, ownedBytes, uint, bool, checkKeys, optionsObject, putOptions, openOptions,
  pathArg, asBuffer, camelCase, enc, keyScratch, valueScratch, SYNC_MODES, U32_MAX, U64_MAX,
};
