'use strict';

// What libbitcask accepts, in one place: each option and argument the binding passes to the
// library, under its JS name, with the range the library accepts and the C function and
// parameter that take it. args.js checks arguments against these tables before any call,
// so that a bad value is reported in the binding's own names, and
// test/header.test.js checks every entry against include/bitcask.h (the parameter's C type
// and the range its documentation states), test/arguments.test.js against the library.
//
// Integer ranges are BigInts (inclusive); a number or a bigint is accepted within them.

const U32_MAX = 2n ** 32n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/** Largest key accepted, in bytes (BC_MAX_KEY_LEN). */
const MAX_KEY_LEN = 65536;
/** Largest value accepted, in bytes (BC_MAX_VALUE_LEN). */
const MAX_VALUE_LEN = 536870912;

/** The sync modes by JS name, and their C values (BC_SYNC_NONE, ...). */
const SYNC_MODES = Object.freeze({ none: 0, always: 1, interval: 2 });
/** The keydir modes by JS name, and their C values (BC_KEYDIR_KEYS, ...). */
const KEYDIR_MODES = Object.freeze({ keys: 0, hashed: 1 });

/**
 * open() options (but libraryPath, which is the binding's own). `c`: the options setter
 * and its parameters after `opts`. `kind`: 'integer' (min..max), 'boolean', 'enum' (a
 * name of `values`, passed as its C value; `prefix` names the header's constants) or 'hours'
 * ([start, end], each min..max).
 */
const OPEN_OPTIONS = {
  maxFileSize: { kind: 'integer', min: 4096n, max: U32_MAX, c: 'bc_options_set_max_file_size(bytes)' },
  sync: { kind: 'enum', values: SYNC_MODES, prefix: 'BC_SYNC_', c: 'bc_options_set_sync(mode)' },
  syncIntervalMs: { kind: 'integer', min: 1n, max: U32_MAX, c: 'bc_options_set_sync_interval_ms(ms)' },
  readOnly: { kind: 'boolean', c: 'bc_options_set_read_only(read_only)' },
  createIfMissing: { kind: 'boolean', c: 'bc_options_set_create_if_missing(create)' },
  keydir: { kind: 'enum', values: KEYDIR_MODES, prefix: 'BC_KEYDIR_', c: 'bc_options_set_keydir(mode)' },
  autoMerge: { kind: 'boolean', c: 'bc_options_set_auto_merge(enabled)' },
  fragMergeTrigger: { kind: 'integer', min: 0n, max: 100n, c: 'bc_options_set_frag_merge_trigger(percent)' },
  deadBytesMergeTrigger: {
    kind: 'integer', min: 0n, max: U64_MAX, c: 'bc_options_set_dead_bytes_merge_trigger(bytes)',
  },
  fragThreshold: { kind: 'integer', min: 0n, max: 100n, c: 'bc_options_set_frag_threshold(percent)' },
  deadBytesThreshold: { kind: 'integer', min: 0n, max: U64_MAX, c: 'bc_options_set_dead_bytes_threshold(bytes)' },
  smallFileThreshold: { kind: 'integer', min: 0n, max: U64_MAX, c: 'bc_options_set_small_file_threshold(bytes)' },
  mergeWindow: {
    kind: 'hours', min: 0n, max: 23n, c: 'bc_options_set_merge_window(start_hour, end_hour)',
  },
  mergeCheckIntervalMs: {
    kind: 'integer', min: 1n, max: U32_MAX, c: 'bc_options_set_merge_check_interval_ms(ms)',
  },
};

/** put() / putAsync() options, and the ttlMs of a batch put. */
const PUT_OPTIONS = {
  ttlMs: { kind: 'integer', min: 1n, max: U64_MAX, c: ['bc_put_ttl(ttl_ms)', 'bc_batch_put_ttl(ttl_ms)'] },
  /** Unix milliseconds (or a Date); 0 means never. */
  expiresAt: { kind: 'integer', min: 0n, max: U64_MAX, c: 'bc_put_expiring(expires_at_ms)' },
};

/** Keys and values, in bytes (after UTF-8 encoding for strings). */
const KEY = { min: 1, max: MAX_KEY_LEN, c: 'bc_put(key_len)' };
const VALUE = { min: 0, max: MAX_VALUE_LEN, c: 'bc_put(value_len)' };

/** createReadStream() options: the binding's own (the library reads any range). */
const READ_STREAM_OPTIONS = {
  highWaterMark: { kind: 'integer', min: 1n, max: BigInt(MAX_VALUE_LEN) },
  start: { kind: 'integer', min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) },
  end: { kind: 'integer', min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) },
};

/** Splits 'bc_fn(a, b)' into ['bc_fn', ['a', 'b']]. */
function parseC(spec) {
  const m = /^(\w+)\(([\w, ]*)\)$/.exec(spec);
  return [m[1], m[2].split(',').map((s) => s.trim()).filter(Boolean)];
}

module.exports = {
  MAX_KEY_LEN,
  MAX_VALUE_LEN,
  SYNC_MODES,
  KEYDIR_MODES,
  OPEN_OPTIONS,
  PUT_OPTIONS,
  KEY,
  VALUE,
  READ_STREAM_OPTIONS,
  U32_MAX,
  U64_MAX,
  parseC,
};
