package bitcask

/*
#cgo nocallback bcgo_checkpoint
#cgo nocallback bcgo_capture
#cgo nocallback bcgo_capture_write
#include "bcgo.h"

static inline bcgo_status bcgo_checkpoint(bc_db *db, const char *dir) {
	return bcgo_status_of(bc_checkpoint(db, dir));
}

typedef struct {
	bcgo_status st;
	bc_capture *cap;
} bcgo_capture_res;

static inline bcgo_capture_res bcgo_capture(bc_db *db) {
	bcgo_capture_res r;
	r.cap = NULL;
	r.st = bcgo_status_of(bc_checkpoint_capture(db, &r.cap));
	return r;
}

static inline bcgo_status bcgo_capture_write(bc_capture *c, const char *dir) {
	return bcgo_status_of(bc_capture_write(c, dir));
}
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// Checkpoint writes a consistent, point-in-time copy of the store into the new
// directory dir while other goroutines keep reading, writing and merging (see
// docs/BACKUP.md). Every write acknowledged before the call is in it, none
// that started after it returned. Sealed data files are hard-linked (copied
// when dir is on another file system) and only the active file's prefix is
// copied, so it takes milliseconds; writers wait only while the file set is
// recorded. The copy is an ordinary store: [Open] it, or archive it with
// rsync or tar. It works on read-only DBs too.
//
// dir must not exist (an existing directory, even an empty one, is refused
// with an error matching [ErrInvalidArgument] that names it), its parent must
// exist, and it must not lie inside the store. If the process dies meanwhile,
// dir does not exist: the checkpoint is built in a temporary sibling and
// renamed into place once it is durable.
func (db *DB) Checkpoint(dir string) error {
	if err := checkDir("checkpoint", dir); err != nil {
		return err
	}
	h, rl := db.rlock()
	if h == nil {
		return ErrClosed
	}
	defer db.runlock(rl)
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	return check("checkpoint", C.bcgo_checkpoint(h, cdir))
}

func checkDir(op, dir string) error {
	if dir == "" {
		return argError(op, "dir is empty")
	}
	for i := 0; i < len(dir); i++ {
		if dir[i] == 0 {
			return argError(op, "dir contains a NUL byte")
		}
	}
	return nil
}

// CapturedCheckpoint is a checkpoint's point in time, fixed by
// [DB.CaptureCheckpoint] and written out later by [CapturedCheckpoint.Write].
// It holds the store's files open, not the store: closing the DB is not
// delayed by it. Close it when done; it is safe for concurrent use.
type CapturedCheckpoint struct {
	mu      sync.Mutex
	h       *captureHandle
	cleanup runtime.Cleanup
}

type captureHandle struct{ p *C.bc_capture }

func (h *captureHandle) free() {
	C.bc_capture_free(h.p)
	h.p = nil
}

// CaptureCheckpoint is the first half of [DB.Checkpoint]: it fixes the point
// in time now (microseconds under the writer lock, nothing written) and
// returns it, to be written out later, from any goroutine, while writes go on.
// Every write acknowledged before the call is in it; none that started after
// it returned. For a caller that must fix the moment between two writes but
// cannot wait for the copy: a Raft state machine's snapshot, taken between two
// applied entries (bitcaskd --raft uses it).
func (db *DB) CaptureCheckpoint() (*CapturedCheckpoint, error) {
	h, rl := db.rlock()
	if h == nil {
		return nil, ErrClosed
	}
	r := C.bcgo_capture(h)
	db.runlock(rl)
	if err := check("checkpoint_capture", r.st); err != nil {
		return nil, err
	}
	c := &CapturedCheckpoint{h: &captureHandle{p: r.cap}}
	c.cleanup = runtime.AddCleanup(c, func(h *captureHandle) { h.free() }, c.h)
	return c, nil
}

// Write writes the captured point in time into the new directory dir, with
// the rules and guarantees of [DB.Checkpoint]. It may be called more than
// once; calls on one capture run one at a time.
func (c *CapturedCheckpoint) Write(dir string) error {
	if err := checkDir("capture_write", dir); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h.p == nil {
		return ErrClosed
	}
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	return check("capture_write", C.bcgo_capture_write(c.h.p, cdir))
}

// Close frees the capture (closing the files it held). Closing twice is a
// no-op.
func (c *CapturedCheckpoint) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h.p != nil {
		c.cleanup.Stop()
		c.h.free()
	}
}
