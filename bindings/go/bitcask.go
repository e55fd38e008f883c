package bitcask

/*
#cgo noescape bcgo_open
#cgo nocallback bcgo_open
#cgo noescape bcgo_put
#cgo nocallback bcgo_put
#cgo noescape bcgo_put_ttl
#cgo nocallback bcgo_put_ttl
#cgo noescape bcgo_put_expiring
#cgo nocallback bcgo_put_expiring
#cgo noescape bcgo_delete
#cgo nocallback bcgo_delete
#cgo noescape bcgo_get
#cgo nocallback bcgo_get
#cgo noescape bcgo_get_into
#cgo nocallback bcgo_get_into
#cgo nocallback bcgo_sync
#cgo nocallback bcgo_close
#cgo nocallback bc_free
#include "bcgo.h"
*/
import "C"

import (
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// Limits of the library (BC_MAX_KEY_LEN, BC_MAX_VALUE_LEN).
const (
	MaxKeyLen   = 64 << 10  // BC_MAX_KEY_LEN
	MaxValueLen = 512 << 20 // BC_MAX_VALUE_LEN

	// A difference from the C macros is a compile error.
	_ = uint(MaxKeyLen-C.BC_MAX_KEY_LEN) + uint(C.BC_MAX_KEY_LEN-MaxKeyLen)
	_ = uint(MaxValueLen-C.BC_MAX_VALUE_LEN) + uint(C.BC_MAX_VALUE_LEN-MaxValueLen)
)

// Version returns the version of the libbitcask library loaded at run time,
// e.g. "0.1.0".
func Version() string { return C.GoString(C.bc_version()) }

// HeaderVersion is the version of the bitcask.h the binding was compiled
// against (BC_VERSION_STRING).
const HeaderVersion = C.BC_VERSION_STRING

// DB is an open store. It is safe for concurrent use by many goroutines.
type DB struct {
	s       *dbState
	cleanup runtime.Cleanup
}

// dbState is what the cleanup safety net needs: it must not point back at the
// DB, or the DB would never become unreachable.
type dbState struct {
	// mu guards h: every call holds a shard of it for reading while it uses
	// h, Close takes all of it for writing, so bc_close never runs beside
	// another call.
	mu handleLock
	h  *C.bc_db
	// lastLen is the length of the value Get read last: the size of the
	// buffer the next Get reads into.
	lastLen atomic.Int64
}

// closeHandle closes the C handle if it is still open; it reports whether it
// did, and the close's error.
func (s *dbState) closeHandle() (bool, error) {
	s.mu.lock()
	h := s.h
	s.h = nil
	s.mu.unlock()
	if h == nil {
		return false, nil
	}
	return true, check("close", C.bcgo_close(h))
}

// Open opens (creating it unless WithCreateIfMissing(false)) the store in
// directory path. A read-write open takes the directory's exclusive lock: a
// second writer gets an error matching [ErrLocked].
func Open(path string, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.err != nil {
		return nil, o.err
	}
	if path == "" {
		return nil, argError("open", "path is empty")
	}
	for i := 0; i < len(path); i++ {
		if path[i] == 0 {
			return nil, argError("open", "path contains a NUL byte")
		}
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	r := C.bcgo_open(cpath, o.c)
	if r.rc != C.BC_OK {
		return nil, newError("open", r.rc, r.msg)
	}
	db := &DB{s: &dbState{h: r.db}}
	db.cleanup = runtime.AddCleanup(db, func(s *dbState) { s.closeHandle() }, db.s)
	return db, nil
}

// Close syncs every write, closes the files, releases the lock and frees the
// handle. It waits for calls in flight on other goroutines; every later call
// returns [ErrClosed]. Closing a closed DB is a no-op returning nil. An error
// (matching [ErrIO]) means the final sync failed; the handle is freed anyway.
func (db *DB) Close() error {
	closed, err := db.s.closeHandle()
	if closed {
		db.cleanup.Stop()
	}
	return err
}

// rlock takes a read side of the close lock and returns the live handle and
// the token runlock needs, or nil (and no lock held) if the DB is closed.
func (db *DB) rlock() (*C.bc_db, uint32) {
	s := db.s
	i := s.mu.rlock()
	if s.h == nil {
		s.mu.runlock(i)
		return nil, 0
	}
	return s.h, i
}

func (db *DB) runlock(i uint32) { db.s.mu.runlock(i) }

// cbytes returns a C view of b without copying: NULL for an empty slice.
// Only for arguments of calls that keep no pointer after returning.
func cbytes(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b)))
}

// Put stores value under key, replacing any previous value and expiry. key is
// 1 to [MaxKeyLen] bytes, value 0 to [MaxValueLen]. Neither slice is retained.
func (db *DB) Put(key, value []byte) error {
	h, rl := db.rlock()
	if h == nil {
		return ErrClosed
	}
	defer db.runlock(rl)
	return check("put", C.bcgo_put(h, cbytes(key), C.size_t(len(key)), cbytes(value), C.size_t(len(value))))
}

// durationMs converts a positive duration to milliseconds, rounding up, so a
// positive sub-millisecond TTL is not turned into the invalid 0.
func durationMs(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64((d + time.Millisecond - 1) / time.Millisecond)
}

// PutWithTTL is like Put, but the key reads as missing once ttl has passed
// (wall clock). ttl must be positive; it is rounded up to whole milliseconds.
func (db *DB) PutWithTTL(key, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return argError("put_ttl", "ttl must be positive, got "+ttl.String())
	}
	h, rl := db.rlock()
	if h == nil {
		return ErrClosed
	}
	defer db.runlock(rl)
	return check("put_ttl", C.bcgo_put_ttl(h, cbytes(key), C.size_t(len(key)),
		cbytes(value), C.size_t(len(value)), C.uint64_t(durationMs(ttl))))
}

// expiryMs converts an expiry time to the library's unix milliseconds: 0
// (never) for the zero Time, and at least 1 for any other time, so a time at or
// before the epoch means "already expired" rather than "never".
func expiryMs(at time.Time) uint64 {
	if at.IsZero() {
		return 0
	}
	ms := at.UnixMilli()
	if ms < 1 {
		return 1
	}
	return uint64(ms)
}

// PutExpiring is like Put, but the key reads as missing from time at on. The
// zero Time means never; a time in the past stores a value that already reads
// as missing.
func (db *DB) PutExpiring(key, value []byte, at time.Time) error {
	h, rl := db.rlock()
	if h == nil {
		return ErrClosed
	}
	defer db.runlock(rl)
	return check("put_expiring", C.bcgo_put_expiring(h, cbytes(key), C.size_t(len(key)),
		cbytes(value), C.size_t(len(value)), C.uint64_t(expiryMs(at))))
}

// Get returns a copy of key's value. A missing, deleted or expired key gives an
// error matching [ErrNotFound]. The value is copied from the library's buffer
// into Go memory once; an empty value is a non-nil empty slice.
func (db *DB) Get(key []byte) ([]byte, error) {
	h, rl := db.rlock()
	if h == nil {
		return nil, ErrClosed
	}
	defer db.runlock(rl)
	if guess := int(db.s.lastLen.Load()); guess <= directGetMax {
		if v, ok, err := db.getDirect(h, key, guess); ok || err != nil {
			return v, err
		}
	}
	r := C.bcgo_get(h, cbytes(key), C.size_t(len(key)))
	if r.rc != C.BC_OK {
		return nil, newError("get", r.rc, r.msg)
	}
	var v []byte
	if r.len > 0 {
		v = C.GoBytes(unsafe.Pointer(r.val), C.int(r.len))
	} else {
		v = []byte{}
	}
	C.bc_free(unsafe.Pointer(r.val))
	db.noteLen(len(v))
	return v, nil
}

// directGetMax: values up to this long are read by Get straight into a Go
// slice sized by the last value read (one cgo call and no C allocation, where
// bc_get + copy + bc_free took two calls, a malloc and a free). Longer values
// go through bc_get, which saves zeroing a large Go slice that the copy would
// overwrite anyway.
const directGetMax = 64 << 10

// getDirect reads key's value into a new slice of guess bytes, growing it to
// the length the library reports while that stays within directGetMax. ok is
// false when the value is longer than that (Get then takes the bc_get path).
func (db *DB) getDirect(h *C.bc_db, key []byte, guess int) (v []byte, ok bool, err error) {
	buf := make([]byte, guess)
	for {
		r := C.bcgo_get_into(h, cbytes(key), C.size_t(len(key)), cbytes(buf), C.size_t(len(buf)))
		switch {
		case r.rc == C.BC_OK:
			n := int(r.len)
			db.noteLen(n)
			return buf[:n:n], true, nil
		case r.rc != C.BC_BUFFER_TOO_SMALL:
			return nil, false, newError("get", r.rc, r.msg)
		case int(r.len) > directGetMax:
			db.noteLen(int(r.len))
			return nil, false, nil
		}
		// Too small: size it and read again (the value may change meanwhile).
		buf = make([]byte, int(r.len))
	}
}

// noteLen remembers the length of the value just read as the next Get's
// guess; written only when it changes, so readers of same-sized values share
// the cache line without writing it.
func (db *DB) noteLen(n int) {
	if int64(n) != db.s.lastLen.Load() {
		db.s.lastLen.Store(int64(n))
	}
}

// GetInto copies key's value into buf and returns its length. If buf is too
// small, nothing is written and it returns the length needed together with an
// error matching [ErrBufferTooSmall] (whose [Error.Needed] is that length too).
// A missing key gives (0, error matching [ErrNotFound]).
func (db *DB) GetInto(key, buf []byte) (int, error) {
	h, rl := db.rlock()
	if h == nil {
		return 0, ErrClosed
	}
	r := C.bcgo_get_into(h, cbytes(key), C.size_t(len(key)), cbytes(buf), C.size_t(len(buf)))
	db.runlock(rl)
	switch r.rc {
	case C.BC_OK:
		return int(r.len), nil
	case C.BC_BUFFER_TOO_SMALL:
		e := newError("get_into", r.rc, r.msg)
		e.Needed = int(r.len)
		return e.Needed, e
	default:
		return 0, newError("get_into", r.rc, r.msg)
	}
}

// Has reports whether key has a live value. It reads the value (verifying
// its checksum) without copying it out.
func (db *DB) Has(key []byte) (bool, error) {
	_, err := db.GetInto(key, nil)
	switch {
	case err == nil:
		return true, nil
	case isCode(err, CodeBufferTooSmall):
		return true, nil
	case isCode(err, CodeNotFound):
		return false, nil
	default:
		return false, err
	}
}

func isCode(err error, code int) bool {
	e, ok := err.(*Error)
	return ok && e.Code == code
}

// Delete removes key. Deleting a missing key succeeds and writes nothing.
func (db *DB) Delete(key []byte) error {
	h, rl := db.rlock()
	if h == nil {
		return ErrClosed
	}
	defer db.runlock(rl)
	return check("delete", C.bcgo_delete(h, cbytes(key), C.size_t(len(key))))
}

// Sync makes every write that has returned so far durable (fsync of the data
// files and the directory), whatever the sync mode. A no-op when read-only.
func (db *DB) Sync() error {
	h, rl := db.rlock()
	if h == nil {
		return ErrClosed
	}
	defer db.runlock(rl)
	return check("sync", C.bcgo_sync(h))
}
