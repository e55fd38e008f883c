package bitcask

/*
#cgo nocallback bcgo_checkpoint
#include "bcgo.h"

static inline bcgo_status bcgo_checkpoint(bc_db *db, const char *dir) {
	return bcgo_status_of(bc_checkpoint(db, dir));
}
*/
import "C"

import "unsafe"

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
	if dir == "" {
		return argError("checkpoint", "dir is empty")
	}
	for i := 0; i < len(dir); i++ {
		if dir[i] == 0 {
			return argError("checkpoint", "dir contains a NUL byte")
		}
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
