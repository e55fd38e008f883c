'use strict';

// What libbitcask accepts (include/bitcask.h).

/** Largest key accepted, in bytes (BC_MAX_KEY_LEN). */
const MAX_KEY_LEN = 65536;
/** Largest value accepted, in bytes (BC_MAX_VALUE_LEN). */
const MAX_VALUE_LEN = 536870912;

module.exports = { MAX_KEY_LEN, MAX_VALUE_LEN };
