'use strict';

// Symbols shared by the modules of the binding, out of users' reach.
module.exports = {
  kInternal: Symbol('bitcask.internal'), // constructor token: only the binding creates stores and batches
  kHandle: Symbol('bitcask.handle'), // db[kHandle]() returns the native handle or throws 'CLOSED'
  kRun: Symbol('bitcask.run'), // db[kRun](op, args, ...) runs an async operation on a worker
  kNative: Symbol('bitcask.native'), // db[kNative]: the library (native.js) the store was opened with
};
