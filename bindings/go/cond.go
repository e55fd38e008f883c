package bitcask

/*
#cgo noescape bcgo_get_versioned
#cgo nocallback bcgo_get_versioned
#cgo noescape bcgo_get_version
#cgo nocallback bcgo_get_version
#cgo noescape bcgo_batch_put_expiring
#cgo nocallback bcgo_batch_put_expiring
#cgo noescape bcgo_batch_commit_if
#cgo nocallback bcgo_batch_commit_if
#include "bcgo.h"

// A condition failure is an expected outcome of a compare-and-swap loop: its
// message is a constant, not copied.
static inline char *bcgo_cond_msg(int32_t rc) {
	return rc == BC_CONDITION_FAILED ? NULL : bcgo_msg(rc);
}

typedef struct {
	int32_t rc;
	char *msg;
	uint8_t *val;
	size_t len;
	uint64_t expires_at;
	uint64_t version;
} bcgo_versioned_res;

static inline bcgo_versioned_res bcgo_get_versioned(bc_db *db, const uint8_t *k, size_t kl, int want_value) {
	bcgo_versioned_res r;
	r.val = NULL;
	r.len = 0;
	r.expires_at = 0;
	r.version = 0;
	r.rc = bc_get_versioned(db, k, kl, want_value ? &r.val : NULL, want_value ? &r.len : NULL,
		&r.expires_at, &r.version);
	r.msg = bcgo_msg(r.rc);
	return r;
}

typedef struct {
	int32_t rc;
	char *msg;
	uint64_t version;
} bcgo_version_res;

static inline bcgo_version_res bcgo_get_version(bc_db *db, const uint8_t *k, size_t kl) {
	bcgo_version_res r;
	r.version = 0;
	r.rc = bc_get_version(db, k, kl, &r.version);
	r.msg = bcgo_msg(r.rc);
	return r;
}

static inline bcgo_status bcgo_batch_put_expiring(bc_batch *b, const uint8_t *k, size_t kl,
		const uint8_t *v, size_t vl, uint64_t at) {
	return bcgo_status_of(bc_batch_put_expiring(b, k, kl, v, vl, at));
}

// Go memory may not hold Go pointers when passed to C, so the conditions come
// as flat arrays (all keys back to back, their lengths, their versions) and
// the bc_condition array is built here. Up to 8 conditions on the stack.
static inline bcgo_status bcgo_batch_commit_if(bc_db *db, bc_batch *b, const uint8_t *keys,
		const size_t *lens, const uint64_t *versions, size_t n) {
	bc_condition stack[8];
	bc_condition *c = n <= 8 ? stack : malloc(n * sizeof *c);
	bcgo_status s;
	if (c == NULL) {
		s.rc = BC_INTERNAL;
		s.msg = strdup("out of memory");
		return s;
	}
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		c[i].key = lens[i] ? keys + off : NULL;
		c[i].key_len = lens[i];
		c[i].version = versions[i];
		off += lens[i];
	}
	s.rc = bc_batch_commit_if(db, b, c, n);
	s.msg = bcgo_cond_msg(s.rc);
	if (c != stack) {
		free(c);
	}
	return s;
}
*/
import "C"

import (
	"runtime"
	"time"
	"unsafe"
)

// VersionAbsent is the version of a key with no live value (never written,
// deleted or expired); live keys never have it. A [Condition] with it requires
// the key to be absent.
const VersionAbsent uint64 = C.BC_VERSION_ABSENT

// Versioned is a value read by [DB.GetVersioned] with its expiry and version.
type Versioned struct {
	// Value is a copy of the value (nil when not requested).
	Value []byte
	// ExpiresAt is when the value expires; the zero Time means never.
	ExpiresAt time.Time
	// Version changes on every put or delete of the key (even one that
	// rewrites the same value or only changes the expiry) and is kept across
	// merges and reopens. Pass it in a [Condition] to [Batch.CommitIf].
	Version uint64
}

// Condition is a precondition of [Batch.CommitIf]: Key must have version
// Version ([VersionAbsent]: no live value) when the batch is applied.
type Condition struct {
	Key     []byte
	Version uint64
}

func fromExpiryMs(ms uint64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms))
}

// GetVersioned reads key's value, expiry and version in one lookup. A
// missing, deleted or expired key gives an error matching [ErrNotFound] (its
// version is [VersionAbsent]).
func (db *DB) GetVersioned(key []byte) (Versioned, error) {
	return db.getVersioned(key, true)
}

// GetExpiry is GetVersioned without copying the value: the expiry and
// version of key (Value is nil).
func (db *DB) GetExpiry(key []byte) (Versioned, error) {
	return db.getVersioned(key, false)
}

func (db *DB) getVersioned(key []byte, wantValue bool) (Versioned, error) {
	h, rl := db.rlock()
	if h == nil {
		return Versioned{}, ErrClosed
	}
	want := C.int(0)
	if wantValue {
		want = 1
	}
	r := C.bcgo_get_versioned(h, cbytes(key), C.size_t(len(key)), want)
	db.runlock(rl)
	if r.rc != C.BC_OK {
		return Versioned{}, newError("get_versioned", r.rc, r.msg)
	}
	out := Versioned{ExpiresAt: fromExpiryMs(uint64(r.expires_at)), Version: uint64(r.version)}
	if wantValue {
		if r.len > 0 {
			out.Value = C.GoBytes(unsafe.Pointer(r.val), C.int(r.len))
		} else {
			out.Value = []byte{}
		}
		C.bc_free(unsafe.Pointer(r.val))
	}
	return out, nil
}

// Version returns key's current version, [VersionAbsent] if it has no live
// value. It reads the record's header only.
func (db *DB) Version(key []byte) (uint64, error) {
	h, rl := db.rlock()
	if h == nil {
		return 0, ErrClosed
	}
	r := C.bcgo_get_version(h, cbytes(key), C.size_t(len(key)))
	db.runlock(rl)
	if r.rc != C.BC_OK {
		return 0, newError("version", r.rc, r.msg)
	}
	return uint64(r.version), nil
}

// PutExpiring adds a put that reads as missing from time at on (the zero Time:
// never) to the batch.
func (b *Batch) PutExpiring(key, value []byte, at time.Time) error {
	if b.h.p == nil {
		return ErrClosed
	}
	err := check("batch.put_expiring", C.bcgo_batch_put_expiring(b.h.p, cbytes(key),
		C.size_t(len(key)), cbytes(value), C.size_t(len(value)), C.uint64_t(expiryMs(at))))
	runtime.KeepAlive(b)
	return err
}

// CommitIf applies the batch like [Batch.Commit], but only if every condition
// holds: each key still has the version given. The check and the write happen
// under the store's writer lock, so no other write can come between them. If
// a condition fails, nothing is written, the batch is left as it was, and the
// error matches [ErrConditionFailed]: read again and retry. With an empty
// batch it is an atomic check.
func (b *Batch) CommitIf(conds ...Condition) error {
	if b.h.p == nil {
		return ErrClosed
	}
	var keys []byte
	lens := make([]C.size_t, len(conds))
	versions := make([]C.uint64_t, len(conds))
	total := 0
	for _, c := range conds {
		total += len(c.Key)
	}
	keys = make([]byte, 0, total)
	for i, c := range conds {
		keys = append(keys, c.Key...)
		lens[i] = C.size_t(len(c.Key))
		versions[i] = C.uint64_t(c.Version)
	}
	var lp *C.size_t
	var vp *C.uint64_t
	if len(conds) > 0 {
		lp, vp = &lens[0], &versions[0]
	}
	h, rl := b.db.rlock()
	if h == nil {
		return ErrClosed
	}
	s := C.bcgo_batch_commit_if(h, b.h.p, cbytes(keys), lp, vp, C.size_t(len(conds)))
	b.db.runlock(rl)
	runtime.KeepAlive(b)
	if s.rc == C.BC_CONDITION_FAILED {
		return &Error{Op: "batch.commit_if", Code: CodeConditionFailed, Msg: conditionFailedMessage}
	}
	return check("batch.commit_if", s)
}
