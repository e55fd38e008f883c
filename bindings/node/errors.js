'use strict';

// Status codes of include/bitcask.h (test/header.test.js checks them against it), and the
// stable `code` string each one maps to.
const Status = Object.freeze({
  OK: 0,
  NOT_FOUND: 1,
  INVALID_ARGUMENT: 2,
  IO: 3,
  CORRUPTION: 4,
  LOCKED: 5,
  READ_ONLY: 6,
  INTERNAL: 7,
  BUFFER_TOO_SMALL: 8,
  BUSY: 9,
  DONE: 10,
  CONDITION_FAILED: 11,
  // Not a C status: raised by the binding for a call on a closed handle.
  CLOSED: -1,
});

const CODES = new Map(Object.entries(Status).map(([name, value]) => [value, name]));

function codeFor(status) {
  return CODES.get(status) || 'UNKNOWN';
}

/**
 * An error reported by libbitcask (or by the binding for a closed handle).
 * `code` is a stable string ('LOCKED', 'CORRUPTION', ...), `status` the C status number
 * (-1 for 'CLOSED'), `message` the library's own message.
 */
class BitcaskError extends Error {
  constructor(status, message, extra) {
    super(message || codeFor(status).toLowerCase().replace(/_/g, ' '));
    this.code = codeFor(status);
    this.status = status;
    if (extra) Object.assign(this, extra);
  }

  get name() {
    return 'BitcaskError';
  }
}

function closedError(what) {
  return new BitcaskError(Status.CLOSED, `${what || 'the store'} is closed`);
}

module.exports = { Status, BitcaskError, codeFor, closedError };
