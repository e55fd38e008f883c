package bitcask

/*
#include "bcgo.h"
*/
import "C"

import (
	"math"
	"strconv"
	"time"
)

// SyncMode is when writes are fsynced (BC_SYNC_*).
type SyncMode int32

const (
	// SyncNone: writes reach the OS page cache before the call returns; they
	// survive the process being killed, not a power cut. The default.
	SyncNone SyncMode = 0
	// SyncAlways: every write is fsynced before the call returns; concurrent
	// writers share fsyncs.
	SyncAlways SyncMode = 1
	// SyncInterval: a background thread fsyncs every sync interval (see
	// [WithSyncInterval]; default one second).
	SyncInterval SyncMode = 2
)

// A difference from the C macros is a compile error.
const (
	_ = uint(SyncNone-C.BC_SYNC_NONE) + uint(C.BC_SYNC_NONE-SyncNone)
	_ = uint(SyncAlways-C.BC_SYNC_ALWAYS) + uint(C.BC_SYNC_ALWAYS-SyncAlways)
	_ = uint(SyncInterval-C.BC_SYNC_INTERVAL) + uint(C.BC_SYNC_INTERVAL-SyncInterval)
)

// String returns "none", "always", "interval" or "SyncMode(n)".
func (m SyncMode) String() string {
	switch m {
	case SyncNone:
		return "none"
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	}
	return "SyncMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseSyncMode parses "none", "always" or "interval".
func ParseSyncMode(s string) (SyncMode, error) {
	switch s {
	case "none":
		return SyncNone, nil
	case "always":
		return SyncAlways, nil
	case "interval":
		return SyncInterval, nil
	}
	return 0, argError("ParseSyncMode", "unknown sync mode "+strconv.Quote(s)+" (want none, always or interval)")
}

// KeydirMode is what the in-RAM index keeps per key (BC_KEYDIR_*).
type KeydirMode int32

const (
	// KeydirKeys keeps every key's bytes in RAM (about 27 bytes + the key per
	// key): lookups of absent keys and overwrites never read a file.
	KeydirKeys KeydirMode = 0
	// KeydirHashed keeps no key bytes (under 16 bytes per key at any key
	// length): a key is confirmed from its record on disk, so overwrites and
	// deletes read the old record's header and iteration reads keys from the
	// data files.
	KeydirHashed KeydirMode = 1
)

// The values above must be the C header's (a negative constant fails to compile).
const (
	_ = uint(KeydirKeys-C.BC_KEYDIR_KEYS) + uint(C.BC_KEYDIR_KEYS-KeydirKeys)
	_ = uint(KeydirHashed-C.BC_KEYDIR_HASHED) + uint(C.BC_KEYDIR_HASHED-KeydirHashed)
)

// String returns "keys", "hashed" or "KeydirMode(n)".
func (m KeydirMode) String() string {
	switch m {
	case KeydirKeys:
		return "keys"
	case KeydirHashed:
		return "hashed"
	}
	return "KeydirMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseKeydirMode parses "keys" or "hashed".
func ParseKeydirMode(s string) (KeydirMode, error) {
	switch s {
	case "keys":
		return KeydirKeys, nil
	case "hashed":
		return KeydirHashed, nil
	}
	return 0, argError("ParseKeydirMode", "unknown keydir mode "+strconv.Quote(s)+" (want keys or hashed)")
}

// An Option configures [Open]. Options are checked by the library when the
// store is opened: an out-of-range value makes Open fail with an error
// matching [ErrInvalidArgument].
type Option func(*options)

type options struct {
	c   C.bcgo_opts
	err error
}

// WithMaxFileSize sets the size, in bytes, at which the active data file is
// sealed and a new one started: 4096 to 4294967295 (default 256 MiB). A
// larger record still works: it gets a file of its own.
func WithMaxFileSize(bytes int64) Option {
	return func(o *options) {
		if bytes < 0 {
			o.err = argError("open", "max file size must not be negative, got "+strconv.FormatInt(bytes, 10))
			return
		}
		o.c.set_max_file_size = 1
		o.c.max_file_size = C.uint64_t(bytes)
	}
}

// WithSync sets the sync strategy (default [SyncNone]).
func WithSync(mode SyncMode) Option {
	return func(o *options) {
		o.c.set_sync = 1
		o.c.sync = C.int32_t(mode)
	}
}

// WithSyncInterval sets the period of [SyncInterval], rounded up to whole
// milliseconds: at least 1 ms, at most 2^32-1 ms (default 1 s). It does not
// select SyncInterval by itself.
func WithSyncInterval(d time.Duration) Option {
	return func(o *options) {
		ms := durationMs(d)
		if ms > math.MaxUint32 {
			o.err = argError("open", "sync interval "+d.String()+" is too long")
			return
		}
		o.c.set_sync_interval = 1
		o.c.sync_interval_ms = C.uint32_t(ms) // 0 for d <= 0: rejected by the library
	}
}

// WithReadOnly opens the store read-only: no lock is taken, so it can run
// beside a writer; it sees the data as of the open; every write returns an
// error matching [ErrReadOnly]; nothing on disk is modified.
func WithReadOnly() Option {
	return func(o *options) {
		o.c.set_read_only = 1
		o.c.read_only = true
	}
}

// WithKeydir sets what the in-RAM index keeps per key. Without it, the mode
// is the environment variable BITCASK_KEYDIR ("keys" or "hashed") when Open
// runs, else [KeydirKeys]. The mode is not stored in the directory: the same
// store can be opened in either.
func WithKeydir(mode KeydirMode) Option {
	return func(o *options) {
		o.c.set_keydir = 1
		o.c.keydir = C.int32_t(mode)
	}
}

// WithCreateIfMissing sets whether Open creates a missing directory (with its
// parents). Default: true.
func WithCreateIfMissing(create bool) Option {
	return func(o *options) {
		o.c.set_create_if_missing = 1
		o.c.create_if_missing = C.bool(create)
	}
}
