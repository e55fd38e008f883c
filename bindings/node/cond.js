'use strict';

// Versioned reads for conditional writes (see Batch.commitIf): every put or delete gives
// a key a new version (a bigint; 0n for a missing, deleted or expired key), kept across
// merges and reopens.

const { Bitcask } = require('./db');
const { keyArg, enc } = require('./args');
const { kHandle, kNative } = require('./symbols');

/**
 * Returns { value: Buffer, expiresAtMs: number (0: never), version: bigint }, or
 * undefined when the key has no live value (its version is then 0n).
 */
Bitcask.prototype.getVersioned = function getVersioned(key) {
  const h = this[kHandle]();
  const k = keyArg(key);
  const r = this[kNative].getVersioned(h, k, enc.len);
  if (r === undefined) return undefined;
  return { value: r[0], expiresAtMs: r[1], version: r[2] };
};

/** The key's current version (0n when it has no live value), reading no value. */
Bitcask.prototype.version = function version(key) {
  const h = this[kHandle]();
  const k = keyArg(key);
  return this[kNative].keyVersion(h, k, enc.len);
};

module.exports = {};
