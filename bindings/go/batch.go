package bitcask

/*
#cgo noescape bcgo_batch_put
#cgo nocallback bcgo_batch_put
#cgo noescape bcgo_batch_put_ttl
#cgo nocallback bcgo_batch_put_ttl
#cgo noescape bcgo_batch_delete
#cgo nocallback bcgo_batch_delete
#cgo nocallback bcgo_batch_commit
#cgo nocallback bc_batch_new
#cgo nocallback bc_batch_len
#cgo nocallback bc_batch_clear
#cgo nocallback bc_batch_free
#include "bcgo.h"
*/
import "C"

import (
	"runtime"
	"time"
)

// Batch is a list of writes that [Batch.Commit] applies atomically: readers
// never see part of it, and after a crash either all of it or none of it is in
// the store. A commit costs one write (and, with [SyncAlways], one fsync)
// whatever the batch's size.
//
// Operations are validated (key and value limits) and copied when added. A
// Batch belongs to one goroutine at a time. It is reusable: a successful
// Commit empties it. Free it with [Batch.Close] when done (a cleanup frees a
// forgotten one).
type Batch struct {
	db      *DB
	h       *batchHandle
	cleanup runtime.Cleanup
}

type batchHandle struct{ p *C.bc_batch }

func (h *batchHandle) free() {
	if h.p != nil {
		C.bc_batch_free(h.p)
		h.p = nil
	}
}

// Batch returns a new, empty batch to commit to db.
func (db *DB) Batch() *Batch {
	p := C.bc_batch_new()
	if p == nil {
		panic("bitcask: out of memory creating a batch")
	}
	b := &Batch{db: db, h: &batchHandle{p: p}}
	b.cleanup = runtime.AddCleanup(b, func(h *batchHandle) { h.free() }, b.h)
	return b
}

// Put adds a put of value under key. Neither slice is retained.
func (b *Batch) Put(key, value []byte) error {
	if b.h.p == nil {
		return ErrClosed
	}
	err := check("batch.put", C.bcgo_batch_put(b.h.p, cbytes(key), C.size_t(len(key)),
		cbytes(value), C.size_t(len(value))))
	runtime.KeepAlive(b)
	return err
}

// PutWithTTL adds a put that expires ttl (positive, rounded up to whole
// milliseconds) after this call.
func (b *Batch) PutWithTTL(key, value []byte, ttl time.Duration) error {
	if b.h.p == nil {
		return ErrClosed
	}
	if ttl <= 0 {
		return argError("batch.put_ttl", "ttl must be positive, got "+ttl.String())
	}
	err := check("batch.put_ttl", C.bcgo_batch_put_ttl(b.h.p, cbytes(key), C.size_t(len(key)),
		cbytes(value), C.size_t(len(value)), C.uint64_t(durationMs(ttl))))
	runtime.KeepAlive(b)
	return err
}

// Delete adds a delete of key.
func (b *Batch) Delete(key []byte) error {
	if b.h.p == nil {
		return ErrClosed
	}
	err := check("batch.delete", C.bcgo_batch_delete(b.h.p, cbytes(key), C.size_t(len(key))))
	runtime.KeepAlive(b)
	return err
}

// Len returns the number of operations in the batch (0 once closed).
func (b *Batch) Len() int {
	if b.h.p == nil {
		return 0
	}
	n := int(C.bc_batch_len(b.h.p))
	runtime.KeepAlive(b)
	return n
}

// Reset removes every operation from the batch.
func (b *Batch) Reset() {
	if b.h.p != nil {
		C.bc_batch_clear(b.h.p)
		runtime.KeepAlive(b)
	}
}

// Commit applies every operation, in order, atomically. On success the batch
// is emptied and may be reused; on failure nothing was applied and the batch
// is left as it was. An empty batch commits trivially.
func (b *Batch) Commit() error {
	if b.h.p == nil {
		return ErrClosed
	}
	h, rl := b.db.rlock()
	if h == nil {
		return ErrClosed
	}
	err := check("batch.commit", C.bcgo_batch_commit(h, b.h.p))
	b.db.runlock(rl)
	runtime.KeepAlive(b)
	return err
}

// Close frees the batch, discarding uncommitted operations. Later calls
// return [ErrClosed]; closing twice is a no-op. It always returns nil.
func (b *Batch) Close() error {
	if b.h.p != nil {
		b.cleanup.Stop()
		b.h.free()
	}
	return nil
}
