// Type definitions for the `bitcask` Node.js binding of libbitcask.
/// <reference types="node" />

import { Readable } from 'stream';

/** Keys and values: bytes, or a string stored as its UTF-8 encoding. */
export type Bytes = Buffer | Uint8Array | string;

/**
 * An integer, as a number or a bigint. Numbers above 2**53 are not exact: 2**64-1 as a
 * number is 2**64, which is out of range; pass 18446744073709551615n.
 */
export type UInt = number | bigint;

export type SyncMode = 'none' | 'always' | 'interval';

/**
 * Ranges are inclusive; a value outside one throws a RangeError (code 'ERR_OUT_OF_RANGE'),
 * a value of the wrong type a TypeError ('ERR_INVALID_ARG_TYPE' or 'ERR_INVALID_ARG_VALUE'),
 * before the library is called.
 */
export interface OpenOptions {
  /** Size at which the active data file is sealed (4096..2**32-1 bytes; default 256 MiB). */
  maxFileSize?: UInt;
  /** 'none' (default): writes reach the OS page cache; 'always': fsync per write (shared
   *  between concurrent writers); 'interval': a background fsync every syncIntervalMs. */
  sync?: SyncMode;
  /** Period of sync 'interval' in ms (1..2**32-1; default 1000). */
  syncIntervalMs?: number;
  /** Open without the write lock, beside a writer; every write throws 'READ_ONLY'. */
  readOnly?: boolean;
  /** Create a missing directory, with its parents (default true). */
  createIfMissing?: boolean;
  /** What the in-RAM index keeps per key: 'keys' (about 27 bytes + the key) or 'hashed'
   *  (under 16 bytes at any key length; overwrites, deletes and iteration read keys from the
   *  files). Default: the BITCASK_KEYDIR environment variable, else 'keys'. */
  keydir?: 'keys' | 'hashed';
  /** Run merges on a library thread when the triggers fire (default false). */
  autoMerge?: boolean;
  /** A merge is due once a sealed file has this percentage of dead bytes (0..100; default 60). */
  fragMergeTrigger?: number;
  /** A merge is due once a sealed file holds this many dead bytes (default 512 MiB). */
  deadBytesMergeTrigger?: UInt;
  /** A triggered merge takes every sealed file with this percentage of dead bytes (0..100; default 40). */
  fragThreshold?: number;
  /** A triggered merge takes every sealed file holding this many dead bytes (default 128 MiB). */
  deadBytesThreshold?: UInt;
  /** A triggered merge also takes sealed files smaller than this (default 10 MiB). */
  smallFileThreshold?: UInt;
  /** Automatic merges start only between these local hours, [start, end) in 0..23; [0, 0]: any time. */
  mergeWindow?: [number, number];
  /** How often the automatic merge checks its triggers, in ms (1..2**32-1; default 60000). */
  mergeCheckIntervalMs?: number;
  /** The libbitcask shared library to load, and the only place tried (default:
   *  $BITCASK_LIBRARY_PATH, else a copy bundled in the package, the checkout's build,
   *  the dynamic loader's libbitcask.so.0, pkg-config's libdir: see the README). */
  libraryPath?: string;
}

/** One of ttlMs and expiresAt, not both. */
export interface PutOptions {
  /** The key reads as missing once this many milliseconds (1..2**64-1) have passed. */
  ttlMs?: UInt;
  /** The key reads as missing from this time on: a Date, or unix milliseconds (0..2**64-1;
   *  0, like new Date(0), means never). */
  expiresAt?: Date | UInt;
}

export interface BatchPutOptions {
  /** The key reads as missing this many milliseconds (1..2**64-1) after the put is added. */
  ttlMs?: UInt;
}

export interface ReadStreamOptions {
  /** Bytes read per chunk (1..MAX_VALUE_LEN; default 65536). */
  highWaterMark?: number;
  /** First byte to read (default 0). */
  start?: number;
  /** Last byte to read, inclusive (default: the end of the value). */
  end?: number;
}

export interface FileStats {
  fileId: number;
  totalBytes: number;
  deadBytes: number;
  /** deadBytes / totalBytes. */
  fragmentation: number;
}

/** bc_stats_json with camelCase names. Fields may be added by newer libraries. */
export interface Stats {
  liveKeys: number;
  dataFiles: number;
  totalBytes: number;
  deadBytes: number;
  keydirBytes: number;
  /** The index's mode: 'keys' or 'hashed'. */
  keydir: 'keys' | 'hashed';
  damagedRanges: number;
  damagedBytes: number;
  droppedBatchRecords: number;
  truncatedBytes: number;
  hintFallbacks?: number;
  mergesCompleted?: number;
  needsMerge?: boolean;
  files: FileStats[];
  [field: string]: unknown;
}

export type ErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'IO'
  | 'CORRUPTION'
  | 'LOCKED'
  | 'READ_ONLY'
  | 'INTERNAL'
  | 'BUFFER_TOO_SMALL'
  | 'BUSY'
  | 'CLOSED'
  | 'UNKNOWN';

/** C status numbers of include/bitcask.h (CLOSED, -1, is the binding's own). */
export declare const Status: Readonly<{
  OK: 0;
  NOT_FOUND: 1;
  INVALID_ARGUMENT: 2;
  IO: 3;
  CORRUPTION: 4;
  LOCKED: 5;
  READ_ONLY: 6;
  INTERNAL: 7;
  BUFFER_TOO_SMALL: 8;
  BUSY: 9;
  DONE: 10;
  CLOSED: -1;
}>;

/** An error reported by libbitcask, or 'CLOSED' for a call on a closed handle. */
export declare class BitcaskError extends Error {
  readonly name: 'BitcaskError';
  /** Stable code string for the C status. */
  code: ErrorCode;
  /** The C status number (-1 for 'CLOSED'). */
  status: number;
  /** Set on 'BUFFER_TOO_SMALL' from getInto(): the value's length. */
  neededLength?: number;
}

/**
 * An iterator over a snapshot of the store; `return()` (e.g. `break`) frees it early.
 * A value that cannot be read makes next() throw ('CORRUPTION', 'IO'); the iterator has
 * then moved past that key, and next() may be called again to go on.
 */
export interface BitcaskIterator<T> extends IterableIterator<T> {
  next(): IteratorResult<T, undefined>;
  return(value?: unknown): IteratorResult<T, undefined>;
  [Symbol.iterator](): BitcaskIterator<T>;
}

/** A Readable over one version of one value. */
export interface ValueReadStream extends Readable {
  /** The whole value's length in bytes. */
  readonly valueLength: number;
}

/** An atomic write batch: every operation is applied, or none. */
export declare class Batch {
  private constructor();
  /** Adds a put (copied now; key/value limits are checked now). */
  put(key: Bytes, value: Bytes, options?: BatchPutOptions): this;
  /** Adds a delete. */
  delete(key: Bytes): this;
  /** Operations waiting to be committed. */
  readonly length: number;
  /** Drops the uncommitted operations. */
  clear(): this;
  /** Applies every operation atomically; on success the batch is empty and reusable. */
  commit(): void;
  /** Like commit(), on a worker thread; adding to the batch meanwhile throws 'BUSY'. */
  commitAsync(): Promise<void>;
  /** Adds a put expiring at unix time expiresAtMs (0: never). */
  putExpiring(key: Bytes, value: Bytes, expiresAtMs: number): this;
  /**
   * Commits only if each key still has the version given (0n: absent), checked under the
   * writer lock. true: applied; false: a condition failed, nothing written.
   */
  commitIf(conditions: Array<{ key: Bytes; version: bigint }>): boolean;
  /** Like commitIf(), on a worker thread. */
  commitIfAsync(conditions: Array<{ key: Bytes; version: bigint }>): Promise<boolean>;
  /** Frees the batch; later calls throw 'CLOSED'. */
  dispose(): void;
  [Symbol.dispose](): void;
}

export declare class Bitcask implements Iterable<[Buffer, Buffer]> {
  private constructor();
  /** The directory given to open(). */
  readonly path: string;
  readonly readOnly: boolean;
  /** True once close() or closeAsync() has been called. */
  readonly closed: boolean;
  /** The file (or library name) libbitcask was loaded from. */
  readonly libraryPath: string;

  /** A copy of the value, or undefined when the key has no live value. */
  get(key: Bytes): Buffer | undefined;
  /** The value with its expiry (unix ms, 0: never) and version, or undefined when absent. */
  getVersioned(key: Bytes): { value: Buffer; expiresAtMs: number; version: bigint } | undefined;
  /** The key's version: 0n when absent; changes on every put or delete of the key. */
  version(key: Bytes): bigint;
  /** Like getVersioned(), on a worker thread. */
  getVersionedAsync(key: Bytes): Promise<{ value: Buffer; expiresAtMs: number; version: bigint } | undefined>;
  /** Like version(), on a worker thread. */
  versionAsync(key: Bytes): Promise<bigint>;
  /** Whether the key has a live value. */
  has(key: Bytes): boolean;
  put(key: Bytes, value: Bytes, options?: PutOptions): void;
  /** Deleting a missing key is not an error. */
  delete(key: Bytes): void;
  /**
   * Copies the value into `buffer`; returns its length, or undefined when the key is
   * missing. Throws BitcaskError 'BUFFER_TOO_SMALL' (with `neededLength`) writing nothing.
   */
  getInto(key: Bytes, buffer: Uint8Array): number | undefined;
  /** Makes every write so far durable. */
  sync(): void;
  stats(): Stats;
  /** Iterates over a snapshot of the live keys (unspecified order). */
  keys(): BitcaskIterator<Buffer>;
  /** Iterates over [key, value] pairs of a snapshot. */
  entries(): BitcaskIterator<[Buffer, Buffer]>;
  [Symbol.iterator](): BitcaskIterator<[Buffer, Buffer]>;
  batch(): Batch;
  /**
   * A Readable over the key's current value (that version, even if the key changes
   * meanwhile). Throws BitcaskError 'NOT_FOUND' when the key is missing.
   */
  createReadStream(key: Bytes, options?: ReadStreamOptions): ValueReadStream;
  /** Compacts the store. Throws 'BUSY' if a merge is already running. */
  merge(): void;
  /** Whether the merge triggers say a merge is due. */
  needsMerge(): boolean;
  /**
   * Writes a consistent copy of the store into the new directory `dir` (it must not exist;
   * its parent must). Every write acknowledged before the call is in it. Opens as a store.
   */
  checkpoint(dir: string | URL): void;
  /** Idempotent. Throws 'BUSY' while async operations on this store are running. */
  close(): void;
  [Symbol.dispose](): void;

  /**
   * Like get(), without blocking the event loop: a value of at most 64 KiB is read on the
   * calling thread (a copy from the page cache), a larger one on a worker (README: Async
   * operations).
   */
  getAsync(key: Bytes): Promise<Buffer | undefined>;
  /**
   * Like put(), without blocking the event loop: on the calling thread unless the store
   * fsyncs each write (sync 'always') or the value is over 64 KiB, then on a worker.
   */
  putAsync(key: Bytes, value: Bytes, options?: PutOptions): Promise<void>;
  /** Like delete(), with putAsync()'s rule for where it runs. */
  deleteAsync(key: Bytes): Promise<void>;
  syncAsync(): Promise<void>;
  mergeAsync(): Promise<void>;
  checkpointAsync(dir: string | URL): Promise<void>;
  /** Waits for this store's running async operations, then closes it. */
  closeAsync(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Opens (creating if allowed) the store in a directory. */
export declare function open(path: string | URL, options?: OpenOptions): Bitcask;
/** Like open(), without blocking the event loop. */
export declare function openAsync(path: string | URL, options?: OpenOptions): Promise<Bitcask>;
/** Loads libbitcask (as open() would) and reports where from and its version. */
export declare function loadLibrary(libraryPath?: string): { path: string; version: string };
/** The loaded libbitcask's version string, e.g. "0.1.0". */
export declare function libraryVersion(libraryPath?: string): string;

/** The libbitcask version this binding was written for. */
export declare const BINDING_VERSION: string;
/** Largest key accepted, in bytes (keys are 1..MAX_KEY_LEN bytes; strings count as UTF-8). */
export declare const MAX_KEY_LEN: number;
/** Largest value accepted, in bytes (values are 0..MAX_VALUE_LEN bytes). */
export declare const MAX_VALUE_LEN: number;
