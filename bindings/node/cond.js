'use strict';

// Versioned reads for conditional writes (see Batch.commitIf): every put or delete gives
// a key a new version (a bigint; 0n for a missing, deleted or expired key), kept across
// merges and reopens.

const { Bitcask } = require('./db');
const { keyArg, enc, ownedKey, asBuffer } = require('./args');
const { kHandle, kNative, kRun } = require('./symbols');

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

/** Like getVersioned(), on a worker thread. */
Bitcask.prototype.getVersionedAsync = async function getVersionedAsync(key) {
  const h = this[kHandle]();
  const k = ownedKey(key);
  const r = await this[kRun]('getVersioned', [h, k], [k.buffer], undefined, true);
  if (r === undefined) return undefined;
  return { value: asBuffer(r[0]), expiresAtMs: r[1], version: r[2] };
};

/** Like version(), on a worker thread. */
Bitcask.prototype.versionAsync = async function versionAsync(key) {
  const h = this[kHandle]();
  const k = ownedKey(key);
  return this[kRun]('keyVersion', [h, k], [k.buffer], undefined, true);
};

module.exports = {};
