// Package cbench runs libbitcask operations in loops written in C, for the
// binding's benchmarks: the same operations as the Go benchmarks, minus the
// cgo transition and the binding's work, so `go test -bench` prints the C
// cost next to the Go cost. It opens its own store through the C API.
package cbench

/*
#include <stdlib.h>
#include <string.h>
#include "bitcask.h"

static int32_t cb_open(const char *path, bc_db **out) {
	return bc_open(path, NULL, out);
}

static int32_t cb_get(bc_db *db, const uint8_t *keys, size_t klen, size_t nkeys, long n) {
	for (long i = 0; i < n; i++) {
		uint8_t *v = NULL;
		size_t vl = 0;
		int32_t rc = bc_get(db, keys + (size_t)(i % (long)nkeys) * klen, klen, &v, &vl);
		if (rc != BC_OK)
			return rc;
		bc_free(v);
	}
	return BC_OK;
}

static int32_t cb_get_into(bc_db *db, const uint8_t *keys, size_t klen, size_t nkeys, long n) {
	uint8_t buf[4096];
	for (long i = 0; i < n; i++) {
		size_t vl = 0;
		int32_t rc = bc_get_into(db, keys + (size_t)(i % (long)nkeys) * klen, klen, buf, sizeof buf, &vl);
		if (rc != BC_OK)
			return rc;
	}
	return BC_OK;
}

static int32_t cb_put(bc_db *db, const uint8_t *keys, size_t klen, size_t nkeys,
                      const uint8_t *val, size_t vlen, long n) {
	for (long i = 0; i < n; i++) {
		int32_t rc = bc_put(db, keys + (size_t)(i % (long)nkeys) * klen, klen, val, vlen);
		if (rc != BC_OK)
			return rc;
	}
	return BC_OK;
}

static int32_t cb_batch(bc_db *db, const uint8_t *keys, size_t klen, size_t nkeys,
                        const uint8_t *val, size_t vlen, long size, long n) {
	bc_batch *b = bc_batch_new();
	if (b == NULL)
		return BC_INTERNAL;
	long k = 0;
	for (long i = 0; i < n; i++) {
		for (long j = 0; j < size; j++, k++) {
			int32_t rc = bc_batch_put(b, keys + (size_t)(k % (long)nkeys) * klen, klen, val, vlen);
			if (rc != BC_OK) {
				bc_batch_free(b);
				return rc;
			}
		}
		int32_t rc = bc_batch_commit(db, b);
		if (rc != BC_OK) {
			bc_batch_free(b);
			return rc;
		}
	}
	bc_batch_free(b);
	return BC_OK;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// DB is a store opened through the C API directly.
type DB struct {
	h    *C.bc_db
	keys []byte
	klen int
}

// Open opens a store in dir with default options; keys is the fixed-width key
// set the loops cycle through (all of length klen, concatenated).
func Open(dir string, keys []byte, klen int) (*DB, error) {
	p := C.CString(dir)
	defer C.free(unsafe.Pointer(p))
	var h *C.bc_db
	if rc := C.cb_open(p, &h); rc != C.BC_OK {
		return nil, fmt.Errorf("bc_open: %s: %s", C.GoString(C.bc_status_str(rc)), C.GoString(C.bc_last_error()))
	}
	return &DB{h: h, keys: keys, klen: klen}, nil
}

func (db *DB) Close() { C.bc_close(db.h) }

func (db *DB) args() (*C.uint8_t, C.size_t, C.size_t) {
	return (*C.uint8_t)(unsafe.Pointer(&db.keys[0])), C.size_t(db.klen), C.size_t(len(db.keys) / db.klen)
}

func status(what string, rc C.int32_t) error {
	if rc == C.BC_OK {
		return nil
	}
	return fmt.Errorf("%s: %s", what, C.GoString(C.bc_status_str(rc)))
}

// Get runs n bc_get + bc_free calls in one C loop.
func (db *DB) Get(n int) error {
	k, kl, nk := db.args()
	return status("bc_get", C.cb_get(db.h, k, kl, nk, C.long(n)))
}

// GetInto runs n bc_get_into calls (into a C stack buffer) in one C loop.
func (db *DB) GetInto(n int) error {
	k, kl, nk := db.args()
	return status("bc_get_into", C.cb_get_into(db.h, k, kl, nk, C.long(n)))
}

// Put runs n bc_put calls of val in one C loop.
func (db *DB) Put(val []byte, n int) error {
	k, kl, nk := db.args()
	return status("bc_put", C.cb_put(db.h, k, kl, nk, (*C.uint8_t)(unsafe.Pointer(&val[0])), C.size_t(len(val)), C.long(n)))
}

// Batch commits n batches of size puts each, built and committed in C.
func (db *DB) Batch(val []byte, size, n int) error {
	k, kl, nk := db.args()
	return status("bc_batch", C.cb_batch(db.h, k, kl, nk, (*C.uint8_t)(unsafe.Pointer(&val[0])), C.size_t(len(val)), C.long(size), C.long(n)))
}
