'use strict';

// Reading many values or one large value: snapshot iterators (bc_iter) and value streams
// (bc_value).

const { Readable } = require('stream');
const { iterRegistry, valueRegistry } = require('./handles');

const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

/** An iterator over a snapshot (bc_iter) of the live keys; yields Buffers or [key, value]. */
class BitcaskIterator {
  #cell;
  #values;

  constructor(native, h, values) {
    this.#cell = { h, native };
    this.#values = values;
    iterRegistry.register(this, this.#cell, this);
  }

  next() {
    const cell = this.#cell;
    if (cell.h === null) return { done: true, value: undefined };
    // A value that cannot be read (CORRUPTION, IO) throws; the iterator has moved past
    // that key, so next() may be called again to go on (or return() to stop).
    const item = cell.native.iterNext(cell.h, this.#values);
    if (item === null) {
      this.#free();
      return { done: true, value: undefined };
    }
    return { done: false, value: this.#values ? item : item[0] };
  }

  /** Ends the iteration early (a `break` out of for...of calls this) and frees the snapshot. */
  return(value) {
    this.#free();
    return { done: true, value };
  }

  [Symbol.iterator]() {
    return this;
  }

  #free() {
    const cell = this.#cell;
    if (cell.h === null) return;
    const h = cell.h;
    cell.h = null;
    iterRegistry.unregister(this);
    cell.native.iterFree(h);
  }
}
Object.setPrototypeOf(BitcaskIterator.prototype, IteratorPrototype);

/** A Readable over one version of one value (bc_value_open/read/close). */
class ValueReadStream extends Readable {
  #cell;
  #pos;
  #end;

  constructor(native, h, length, options) {
    super({ highWaterMark: options.highWaterMark });
    this.#cell = { h, native };
    valueRegistry.register(this, this.#cell, this);
    /** The whole value's length in bytes. */
    this.valueLength = length;
    this.#pos = options.start;
    this.#end = Math.min(length, options.end === undefined ? length : options.end + 1);
  }

  _read(size) {
    const cell = this.#cell;
    const want = Math.min(size, this.#end - this.#pos);
    if (want <= 0 || cell.h === null) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(want);
    let n;
    try {
      n = cell.native.valueRead(cell.h, this.#pos, buf, want);
    } catch (err) {
      this.destroy(err);
      return;
    }
    if (n === 0) {
      this.push(null);
      return;
    }
    this.#pos += n;
    this.push(n === want ? buf : buf.subarray(0, n));
  }

  _destroy(err, callback) {
    const cell = this.#cell;
    if (cell.h !== null) {
      const h = cell.h;
      cell.h = null;
      valueRegistry.unregister(this);
      cell.native.valueClose(h);
    }
    callback(err);
  }
}

module.exports = { BitcaskIterator, ValueReadStream };
