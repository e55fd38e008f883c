'use strict';

// Checking and converting the arguments of the public API, before the library is called.
// The limits come from limits.js; a value is accepted here exactly when the library would
// accept it, and a refused one is reported with the binding's own option name and the
// value given:
//
//   TypeError  code 'ERR_INVALID_ARG_TYPE'   wrong type (a string for a number, ...)
//   TypeError  code 'ERR_INVALID_ARG_VALUE'  right type, not an accepted value ('sometimes')
//   RangeError code 'ERR_OUT_OF_RANGE'       a number or a length outside the range

const util = require('util');
const { fileURLToPath } = require('url');
const {
  OPEN_OPTIONS, PUT_OPTIONS, READ_STREAM_OPTIONS, KEY, VALUE, SYNC_MODES, parseC,
} = require('./limits');

// ---------------------------------------------------------------------------------------
// Showing values and building errors

/** A short, unambiguous rendering of `x` for an error message (strings quoted). */
function show(x) {
  if (typeof x === 'number') return showNumber(x);
  if (x instanceof Date) return Number.isNaN(x.getTime()) ? 'Invalid Date' : `Date ${x.toISOString()}`;
  return util.inspect(x, {
    depth: 1, maxArrayLength: 8, maxStringLength: 40, breakLength: Infinity, compact: true,
  });
}

// An integer beyond 2**53 is shown with all its digits as the double holds it
// (2**64 is 18446744073709551616, which String() would print as 18446744073709552000).
function showNumber(x) {
  if (Number.isInteger(x) && Math.abs(x) > Number.MAX_SAFE_INTEGER && Math.abs(x) < 1e21) {
    return BigInt(x).toString();
  }
  return Object.is(x, -0) ? '-0' : String(x);
}

function argError(Class, code, message) {
  const err = new Class(message);
  err.code = code;
  return err;
}

const typeError = (name, expected, x) => argError(TypeError, 'ERR_INVALID_ARG_TYPE', `${name} must be ${expected} (got ${show(x)})`);
const valueError = (message) => argError(TypeError, 'ERR_INVALID_ARG_VALUE', message);
const rangeError = (message) => argError(RangeError, 'ERR_OUT_OF_RANGE', message);

// ---------------------------------------------------------------------------------------
// Scalars

/**
 * Checks an integer (a number or a bigint) against `limit` ({ min, max } as BigInts).
 * Returns it as a number when the whole range is exact as numbers, else as given.
 */
function integer(x, name, limit) {
  const { min, max } = limit;
  if (typeof x === 'number') {
    if (Number.isInteger(x) && x >= min && x <= max) return x;
  } else if (typeof x === 'bigint') {
    if (x >= min && x <= max) return max <= Number.MAX_SAFE_INTEGER ? Number(x) : x;
  } else {
    throw typeError(name, `a number or bigint, an integer from ${min} to ${max}`, x);
  }
  let hint = '';
  if (typeof x === 'number' && Number.isInteger(x) && x > max && max > Number.MAX_SAFE_INTEGER) {
    hint = `; numbers above 2**53 are not exact, pass a bigint up to ${max}n`;
  }
  throw rangeError(`${name} must be an integer from ${min} to ${max} (got ${show(x)}${hint})`);
}

function bool(x, name) {
  if (typeof x !== 'boolean') throw typeError(name, 'true or false', x);
  return x;
}

function enumValue(x, name, values) {
  if (typeof x === 'string' && Object.hasOwn(values, x)) return values[x];
  const expected = Object.keys(values).map((m) => `'${m}'`).join(', ').replace(/, ([^,]*)$/, ' or $1');
  if (typeof x !== 'string') throw typeError(name, expected, x);
  throw valueError(`${name} must be ${expected} (got ${show(x)})`);
}

function hours(x, name, limit) {
  const expected = `[startHour, endHour], two integers from ${limit.min} to ${limit.max}`;
  if (!Array.isArray(x)) throw typeError(name, expected, x);
  if (x.length !== 2) throw valueError(`${name} must be ${expected} (got ${show(x)})`);
  return [integer(x[0], `${name}[0]`, limit), integer(x[1], `${name}[1]`, limit)];
}

// ---------------------------------------------------------------------------------------
// Keys and values

const BYTES = 'a Buffer, Uint8Array or string';

function lengthError(name, limit, x, n) {
  const expected = limit.min === 0 ? `at most ${limit.max} bytes` : `${limit.min} to ${limit.max} bytes`;
  return rangeError(`${name} must be ${expected} long (got ${n} bytes: ${show(x)})`);
}

// Strings are encoded into per-thread scratch buffers when they surely fit (3 UTF-8 bytes
// per UTF-16 unit at most), to spare an allocation per call. `enc.len` receives the
// length of the bytes returned.
const keyScratch = Buffer.allocUnsafeSlow(4 * 1024);
const valueScratch = Buffer.allocUnsafeSlow(64 * 1024);
const enc = { len: 0 };

function bytesArg(x, name, scratch, limit) {
  let b;
  if (typeof x === 'string') {
    if (x.length * 3 <= scratch.length) {
      enc.len = scratch.write(x);
      b = scratch;
    } else {
      b = Buffer.from(x, 'utf8');
      enc.len = b.length;
    }
  } else if (x instanceof Uint8Array) {
    enc.len = x.byteLength;
    b = x;
  } else {
    throw typeError(name, BYTES, x);
  }
  if (enc.len < limit.min || enc.len > limit.max) throw lengthError(name, limit, x, enc.len);
  return b;
}

/** A key's bytes (a scratch buffer for short strings); its length is in enc.len. */
const keyArg = (x) => bytesArg(x, 'key', keyScratch, KEY);
/** A value's bytes (a scratch buffer for short strings); its length is in enc.len. */
const valueArg = (x) => bytesArg(x, 'value', valueScratch, VALUE);

/** A copy with an ArrayBuffer of its own, to transfer to a worker thread. */
function ownedBytes(x, name, limit) {
  let b;
  if (typeof x === 'string') b = new TextEncoder().encode(x);
  else if (x instanceof Uint8Array) b = new Uint8Array(x);
  else throw typeError(name, BYTES, x);
  if (b.length < limit.min || b.length > limit.max) throw lengthError(name, limit, x, b.length);
  return b;
}

const ownedKey = (x) => ownedBytes(x, 'key', KEY);
const ownedValue = (x) => ownedBytes(x, 'value', VALUE);

function bufferArg(x, name) {
  if (!(x instanceof Uint8Array)) throw typeError(name, 'a Buffer or Uint8Array', x);
  return x;
}

// ---------------------------------------------------------------------------------------
// Options objects

function optionsObject(options, what) {
  if (options === undefined || options === null) return null;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(`${what} options`, 'an object', options);
  }
  return options;
}

function checkNames(obj, known, what) {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
    throw valueError(`unknown ${what} option '${key}'${near ? ` (did you mean '${near}'?)` : ''}; `
      + `known: ${known.join(', ')}`);
  }
}

const PUT_NAMES = Object.keys(PUT_OPTIONS);
const BATCH_PUT_NAMES = ['ttlMs'];

function expiresAtArg(x) {
  if (!(x instanceof Date)) return integer(x, 'expiresAt', PUT_OPTIONS.expiresAt);
  const ms = x.getTime();
  if (Number.isNaN(ms)) throw valueError('expiresAt must be a valid Date or unix milliseconds (got Invalid Date)');
  const { min, max } = PUT_OPTIONS.expiresAt;
  if (ms < min) {
    throw rangeError(`expiresAt must be a Date from the unix epoch on, or unix milliseconds from ${min} `
      + `to ${max} (got ${show(x)}, ${ms} ms)`);
  }
  return ms;
}

/** put() options: returns [ttlMs, expiresAtMs] (each possibly undefined). */
function putOptions(options) {
  const o = optionsObject(options, 'put');
  if (!o) return [undefined, undefined];
  checkNames(o, PUT_NAMES, 'put');
  if (o.ttlMs !== undefined && o.expiresAt !== undefined) {
    throw valueError(`put options: give ttlMs or expiresAt, not both (got ${show(o)})`);
  }
  const ttl = o.ttlMs === undefined ? undefined : integer(o.ttlMs, 'ttlMs', PUT_OPTIONS.ttlMs);
  const at = o.expiresAt === undefined ? undefined : expiresAtArg(o.expiresAt);
  return [ttl, at];
}

/** A batch put()'s options: returns ttlMs (possibly undefined). */
function batchPutOptions(options) {
  const o = optionsObject(options, 'batch put');
  if (!o) return undefined;
  checkNames(o, BATCH_PUT_NAMES, 'batch put');
  return o.ttlMs === undefined ? undefined : integer(o.ttlMs, 'ttlMs', PUT_OPTIONS.ttlMs);
}

const READ_STREAM_NAMES = Object.keys(READ_STREAM_OPTIONS);

/** createReadStream() options: returns { highWaterMark, start, end } as numbers. */
function readStreamOptions(options) {
  const o = optionsObject(options, 'createReadStream') || {};
  checkNames(o, READ_STREAM_NAMES, 'createReadStream');
  const num = (name, dflt) => (o[name] === undefined ? dflt : Number(integer(o[name], name, READ_STREAM_OPTIONS[name])));
  return { highWaterMark: num('highWaterMark', 65536), start: num('start', 0), end: num('end', undefined) };
}

// JS name -> [native function name (native.js), converter to its arguments after opts].
const OPEN_SETTERS = Object.fromEntries(Object.entries(OPEN_OPTIONS).map(([name, spec]) => {
  const setter = parseC(spec.c)[0].replace(/^bc_/, '');
  const convert = {
    integer: (v) => [integer(v, name, spec)],
    boolean: (v) => [bool(v, name)],
    enum: (v) => [enumValue(v, name, spec.values)],
    hours: (v) => hours(v, name, spec),
  }[spec.kind];
  return [name, [setter, convert]];
}));
const OPEN_NAMES = [...Object.keys(OPEN_OPTIONS), 'libraryPath'];

/**
 * Checks open() options. Returns { opts, libraryPath }; opts (structured-cloneable, for
 * native.js open()) is { calls: [[setter, ...args], ...], readOnly, sync }.
 */
function openOptions(options) {
  const o = optionsObject(options, 'open');
  const opts = { calls: [], readOnly: false, sync: SYNC_MODES.none };
  if (!o) return { opts, libraryPath: undefined };
  checkNames(o, OPEN_NAMES, 'open');
  for (const [name, [setter, convert]] of Object.entries(OPEN_SETTERS)) {
    if (o[name] === undefined) continue;
    const args = convert(o[name]);
    opts.calls.push([setter, ...args]);
    if (name === 'readOnly') opts.readOnly = args[0];
    if (name === 'sync') opts.sync = args[0];
  }
  const libraryPath = o.libraryPath === undefined ? undefined : fileArg(o.libraryPath, 'libraryPath', 'a string');
  return { opts, libraryPath };
}

// ---------------------------------------------------------------------------------------
// Paths

function fileArg(p, name, expected) {
  if (typeof p !== 'string') throw typeError(name, expected, p);
  if (p === '') throw valueError(`${name} must not be empty (got '')`);
  if (p.includes('\0')) throw valueError(`${name} must not contain NUL bytes (got ${show(p)})`);
  return p;
}

/** The store's directory: a string or a file: URL. */
function pathArg(p) {
  return fileArg(p instanceof URL ? fileURLToPath(p) : p, 'path', 'a string or a file: URL');
}

/** A checkpoint's new directory: a string or a file: URL. */
function dirArg(p) {
  return fileArg(p instanceof URL ? fileURLToPath(p) : p, 'dir', 'a string or a file: URL');
}

// ---------------------------------------------------------------------------------------
// Results

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
  show,
  expiresAtArg,
  integer,
  keyArg,
  valueArg,
  ownedKey,
  ownedValue,
  bufferArg,
  putOptions,
  batchPutOptions,
  readStreamOptions,
  openOptions,
  pathArg,
  dirArg,
  fileArg,
  asBuffer,
  camelCase,
  enc,
};
