'use strict';

// The bc_condition array of a conditional commit, shared by the sync path (batch.js) and
// the worker threads of the async one (worker.js).

// bc_condition { const uint8_t *key; size_t key_len; uint64_t version; } x n, with the
// key bytes in buffers kept alive by the caller until the call returns.
function encodeConditions(conditions) {
  const koffi = require('koffi');
  const buf = Buffer.alloc(24 * Math.max(conditions.length, 1));
  const keep = [];
  conditions.forEach((c, i) => {
    if (c === null || typeof c !== 'object') throw new TypeError('each condition must be { key, version }');
    const key = typeof c.key === 'string' ? Buffer.from(c.key) : Buffer.from(c.key);
    if (typeof c.version !== 'bigint' && !Number.isSafeInteger(c.version)) {
      throw new TypeError('condition version must be a bigint (from getVersioned() or version())');
    }
    keep.push(key);
    buf.writeBigUInt64LE(key.length > 0 ? BigInt(koffi.address(key)) : 0n, 24 * i);
    buf.writeBigUInt64LE(BigInt(key.length), 24 * i + 8);
    buf.writeBigUInt64LE(BigInt(c.version), 24 * i + 16);
  });
  return { buf, keep };
}

// Checks conditions and copies their keys into buffers of their own, for the async path
// (the copies travel to the worker thread; the caller's buffers may change meanwhile).
function ownedConditions(conditions) {
  if (!Array.isArray(conditions)) throw new TypeError('conditions must be an array of { key, version }');
  return conditions.map((c) => {
    if (c === null || typeof c !== 'object') throw new TypeError('each condition must be { key, version }');
    if (typeof c.version !== 'bigint' && !Number.isSafeInteger(c.version)) {
      throw new TypeError('condition version must be a bigint (from getVersioned() or version())');
    }
    return { key: Uint8Array.from(Buffer.from(c.key)), version: BigInt(c.version) };
  });
}

module.exports = { encodeConditions, ownedConditions };
