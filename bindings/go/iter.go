package bitcask

/*
#cgo noescape bcgo_iter_new
#cgo nocallback bcgo_iter_new
#cgo nocallback bcgo_iter_next
#cgo nocallback bcgo_iter_next_expiring
#cgo nocallback bc_iter_free
#include "bcgo.h"
*/
import "C"

import (
	"iter"
	"runtime"
	"time"
	"unsafe"
)

// Iter walks a consistent snapshot of the store's live keys, taken by
// [DB.Iter]: writes made after it are not seen, and the snapshot's values stay
// readable even if their keys are overwritten, deleted or merged away. Order is
// unspecified. Keys that expire after the snapshot was taken are skipped.
//
// An Iter is single-use and belongs to one goroutine at a time. Range over
// [Iter.Keys] (keys only, cheaper) or [Iter.All] (keys and values), then check
// [Iter.Err], as with bufio.Scanner or sql.Rows:
//
//	it := db.Iter()
//	for k, v := range it.All() {
//		...
//	}
//	if err := it.Err(); err != nil {
//		...
//	}
//
// The loop stops at the first error, which Err then returns; the iterator is
// freed when the loop ends, however it ends. An Iter that is never ranged
// should be closed with [Iter.Close]. It stays usable after its DB is closed.
type Iter struct {
	h       *iterHandle
	err     error
	cleanup runtime.Cleanup
}

type iterHandle struct{ p *C.bc_iter }

func (h *iterHandle) free() {
	if h.p != nil {
		C.bc_iter_free(h.p)
		h.p = nil
	}
}

// Iter takes a snapshot of the live keys for iteration. It costs a copy of
// every key. If the snapshot cannot be taken (for example the DB is closed),
// the returned Iter yields nothing and its Err says why.
func (db *DB) Iter() *Iter {
	it := &Iter{h: &iterHandle{}}
	h, rl := db.rlock()
	if h == nil {
		it.err = ErrClosed
		return it
	}
	r := C.bcgo_iter_new(h)
	db.runlock(rl)
	if r.rc != C.BC_OK {
		it.err = newError("iter", r.rc, r.msg)
		return it
	}
	it.h.p = r.iter
	it.cleanup = runtime.AddCleanup(it, func(h *iterHandle) { h.free() }, it.h)
	return it
}

// next advances; it returns false at the end or on an error (recorded in
// it.err). The returned slices are fresh copies in Go memory.
func (it *Iter) next(wantValue bool) (key, value []byte, ok bool) {
	if it.h.p == nil {
		return nil, nil, false
	}
	want := C.int(0)
	if wantValue {
		want = 1
	}
	r := C.bcgo_iter_next(it.h.p, want)
	switch r.rc {
	case C.BC_OK:
		key = C.GoBytes(unsafe.Pointer(r.key), C.int(r.key_len))
		if wantValue {
			value = C.GoBytes(unsafe.Pointer(r.val), C.int(r.val_len))
		}
		runtime.KeepAlive(it)
		return key, value, true
	case C.BC_DONE:
		it.Close()
		return nil, nil, false
	default:
		it.err = newError("iter.next", r.rc, r.msg)
		it.Close()
		return nil, nil, false
	}
}

// Keys returns a sequence of the snapshot's keys (without reading values).
// Each key is a fresh slice the caller owns. The iterator is freed when the
// loop ends; check [Iter.Err] afterwards.
func (it *Iter) Keys() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		defer it.Close()
		for {
			k, _, ok := it.next(false)
			if !ok || !yield(k) {
				return
			}
		}
	}
}

// All returns a sequence of the snapshot's keys and values (each value the
// version current when the snapshot was taken, checksum verified). Both are
// fresh slices the caller owns. The iterator is freed when the loop ends; a
// value that cannot be read ([ErrCorrupt], [ErrIO]) ends the loop and is
// reported by [Iter.Err].
func (it *Iter) All() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		defer it.Close()
		for {
			k, v, ok := it.next(true)
			if !ok || !yield(k, v) {
				return
			}
		}
	}
}

// Entry is a key with its value and expiry, as of an [Iter]'s snapshot.
type Entry struct {
	Key, Value []byte
	// ExpiresAt is when the value expires; the zero Time means never.
	ExpiresAt time.Time
}

// Entries is All with each key's expiry: what a copy of the store needs to
// reproduce it exactly (a replica's snapshot, a backup). Key and Value are
// fresh slices the caller owns. The iterator is freed when the loop ends;
// errors end the loop and are reported by [Iter.Err].
func (it *Iter) Entries() iter.Seq[Entry] {
	return func(yield func(Entry) bool) {
		defer it.Close()
		for it.h.p != nil {
			r := C.bcgo_iter_next_expiring(it.h.p)
			switch r.rc {
			case C.BC_OK:
				e := Entry{
					Key:       C.GoBytes(unsafe.Pointer(r.key), C.int(r.key_len)),
					Value:     C.GoBytes(unsafe.Pointer(r.val), C.int(r.val_len)),
					ExpiresAt: fromExpiryMs(uint64(r.expires_at)),
				}
				runtime.KeepAlive(it)
				if !yield(e) {
					return
				}
			case C.BC_DONE:
				return
			default:
				it.err = newError("iter.next", r.rc, r.msg)
				return
			}
		}
	}
}

// Err returns the error that ended the iteration, or nil if it ended at the
// end of the snapshot (or has not ended yet).
func (it *Iter) Err() error { return it.err }

// Close frees the iterator. It is called automatically when a range loop over
// Keys or All ends; closing twice is a no-op. It always returns nil.
func (it *Iter) Close() error {
	if it.h.p != nil {
		it.cleanup.Stop()
		it.h.free()
	}
	return nil
}

// Keys returns a sequence of the live keys, from a snapshot taken when a
// range loop over it starts (each loop takes a new one).
//
// This shorthand has no way to report an error: one that stops the snapshot
// or the loop (ErrClosed, say) just ends the sequence. Use [DB.Iter] and
// [Iter.Err] to tell "no more keys" from a failure.
func (db *DB) Keys() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for k := range db.Iter().Keys() {
			if !yield(k) {
				return
			}
		}
	}
}

// All returns a sequence of the live keys and their values, from a snapshot
// taken when a range loop over it starts.
//
// Like [DB.Keys], it cannot report errors: a value that fails to read
// ([ErrCorrupt], [ErrIO]) ends the sequence early. Use [DB.Iter] and
// [Iter.Err] when that matters.
func (db *DB) All() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for k, v := range db.Iter().All() {
			if !yield(k, v) {
				return
			}
		}
	}
}
