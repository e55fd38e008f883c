/*
 * The C half of the Python binding, compiled into bitcask._native by cffi.
 *
 * Why it exists: Python code may call close() on a handle while another thread is inside a
 * library call on it, and bc_close frees the handle. Each call on a handle therefore goes
 * through a guard: it registers itself in the handle's in-flight counters, and bcpy_close
 * marks the handle closing and waits for the counters to drain before it calls bc_close.
 * Later calls return BCPY_CLOSED instead of touching freed memory. The counters are striped
 * per thread (one cache line each) so that threads reading in parallel do not share a
 * written cache line.
 *
 * Key and value pointers are `const char *` here so that cffi passes a Python bytes
 * object's own buffer with no copy; they are cast to the header's `uint8_t *`.
 *
 * The GIL is released by cffi around every call into this file.
 */
#include <bitcask.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BCPY_CLOSED -1
#define BCPY_NOMEM -2
#define BCPY_STRIPES 16
/* A get's scratch buffer larger than this is given back after the get (bcpy_buf_trim). */
#define BCPY_KEEP_CAP (1u << 20)

typedef struct bcpy_stripe {
  atomic_long users;
  char pad[64 - sizeof(atomic_long)];
} bcpy_stripe;

typedef struct bcpy_db {
  bcpy_stripe stripes[BCPY_STRIPES];
  atomic_int closing;
  bc_db *db;
} bcpy_db;

typedef struct bcpy_buf { char *data; size_t len; size_t cap; } bcpy_buf;
typedef struct bcpy_kv { const char *key; size_t key_len; const char *val; size_t val_len; } bcpy_kv;
typedef struct bcpy_versioned { uint64_t expires_at_ms; uint64_t version; } bcpy_versioned;

static atomic_uint bcpy_next_stripe;
static _Thread_local unsigned bcpy_my_stripe = BCPY_STRIPES; /* unassigned */

static bcpy_stripe *bcpy_stripe_of(bcpy_db *h) {
  if (bcpy_my_stripe == BCPY_STRIPES)
    bcpy_my_stripe = atomic_fetch_add(&bcpy_next_stripe, 1) % BCPY_STRIPES;
  return &h->stripes[bcpy_my_stripe];
}

/* Sequentially consistent increment-then-check here against store-then-scan in
 * bcpy_close: either the closer sees this call's increment, or this call sees `closing`. */
static bcpy_stripe *bcpy_enter(bcpy_db *h) {
  bcpy_stripe *s = bcpy_stripe_of(h);
  atomic_fetch_add(&s->users, 1);
  if (atomic_load(&h->closing)) {
    atomic_fetch_sub(&s->users, 1);
    return NULL;
  }
  return s;
}

static void bcpy_leave(bcpy_stripe *s) { atomic_fetch_sub(&s->users, 1); }

#define GUARDED(h, call)                     \
  do {                                       \
    bcpy_stripe *s_ = bcpy_enter(h);         \
    if (!s_) return BCPY_CLOSED;             \
    int32_t rc_ = (call);                    \
    bcpy_leave(s_);                          \
    return rc_;                              \
  } while (0)

#define U8(p) ((const uint8_t *)(p))

static int32_t bcpy_open(const char *path, const bc_options *opts, bcpy_db **out) {
  bcpy_db *h = calloc(1, sizeof *h);
  if (!h) return BCPY_NOMEM;
  int32_t rc = bc_open(path, opts, &h->db);
  if (rc != BC_OK) {
    free(h);
    return rc;
  }
  *out = h;
  return BC_OK;
}

/* Marks the handle closed, waits for calls in flight, closes the store. Only the first
 * call closes; later ones return BC_OK. */
static int32_t bcpy_close(bcpy_db *h) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&h->closing, &expected, 1)) return BC_OK;
  for (;;) {
    long n = 0;
    for (int i = 0; i < BCPY_STRIPES; i++) n += atomic_load(&h->stripes[i].users);
    if (n == 0) break;
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
  }
  bc_db *db = h->db;
  h->db = NULL;
  return bc_close(db);
}

static bool bcpy_is_closed(bcpy_db *h) { return atomic_load(&h->closing) != 0; }

/* The finalizer: closes the store if it is still open, frees the guard. */
static void bcpy_release(bcpy_db *h) {
  if (!h) return;
  bcpy_close(h);
  free(h);
}

static bcpy_buf *bcpy_buf_new(void) { return calloc(1, sizeof(bcpy_buf)); }

static void bcpy_buf_free(bcpy_buf *b) {
  if (!b) return;
  free(b->data);
  free(b);
}

static void bcpy_buf_trim(bcpy_buf *b) {
  if (b->cap <= BCPY_KEEP_CAP) return;
  free(b->data);
  b->data = NULL;
  b->cap = 0;
}

/* Reads into the caller's (per-thread) scratch buffer, growing it as needed, so a get
 * costs no allocation once the buffer has grown to the values' size. */
static int32_t bcpy_get_scratch(bc_db *db, const char *k, size_t kl, bcpy_buf *out) {
  for (;;) {
    size_t need = 0;
    int32_t rc = bc_get_into(db, U8(k), kl, (uint8_t *)out->data, out->cap, &need);
    if (rc == BC_OK) out->len = need;
    if (rc != BC_BUFFER_TOO_SMALL) return rc;
    /* The value may be rewritten meanwhile with another length: loop until it fits. */
    char *p = malloc(need ? need : 1);
    if (!p) return BCPY_NOMEM;
    free(out->data);
    out->data = p;
    out->cap = need ? need : 1;
  }
}

static int32_t bcpy_get(bcpy_db *h, const char *k, size_t kl, bcpy_buf *out) {
  GUARDED(h, bcpy_get_scratch(h->db, k, kl, out));
}

/* The hot paths return an int64: the value's length (>= 0), or -(BCPY_STATUS_BASE + status)
 * for a failure, so that Python needs no out-parameter object per call. */
#define BCPY_STATUS_BASE 100
#define BCPY_SCRATCH 65536

static int64_t bcpy_len_or_status(int32_t rc, size_t len) {
  return rc == BC_OK ? (int64_t)len : -(int64_t)(BCPY_STATUS_BASE + rc);
}

/* A get into the calling thread's fixed BCPY_SCRATCH-byte buffer. A longer value returns
 * its length, which is over BCPY_SCRATCH: the caller then reads it with bcpy_get. */
static int64_t bcpy_get_small(bcpy_db *h, const char *k, size_t kl, char *scratch) {
  bcpy_stripe *s = bcpy_enter(h);
  if (!s) return bcpy_len_or_status(BCPY_CLOSED, 0);
  size_t n = 0;
  int32_t rc = bc_get_into(h->db, U8(k), kl, (uint8_t *)scratch, BCPY_SCRATCH, &n);
  bcpy_leave(s);
  if (rc == BC_BUFFER_TOO_SMALL) return (int64_t)n;
  return bcpy_len_or_status(rc, n);
}

/* bc_get_into: the length (over `cap`: the buffer was too small and is untouched). */
static int64_t bcpy_get_into_len(bcpy_db *h, const char *k, size_t kl, char *buf, size_t cap) {
  bcpy_stripe *s = bcpy_enter(h);
  if (!s) return bcpy_len_or_status(BCPY_CLOSED, 0);
  size_t n = 0;
  int32_t rc = bc_get_into(h->db, U8(k), kl, (uint8_t *)buf, cap, &n);
  bcpy_leave(s);
  if (rc == BC_BUFFER_TOO_SMALL) return (int64_t)n;
  return bcpy_len_or_status(rc, n);
}

/* Many gets in one call, so that the GIL is released once for all of them. The keys are
 * concatenated in `keys`, their lengths in `klens`. From key state[0] (at byte state[1] of
 * `keys`) on, values are copied one after another into `buf`; lens[i] receives a value's
 * length, -1 for a missing key, -2 for a value longer than `cap` (the caller reads that
 * one alone). Stops before the first value that does not fit in what is left of `buf`.
 * Returns the bytes used in `buf` and advances `state`; -(BCPY_STATUS_BASE + status) on a
 * failure. */
static int64_t bcpy_get_many(bcpy_db *h, const char *keys, const size_t *klens, size_t n,
                             size_t *state, char *buf, size_t cap, int64_t *lens) {
  bcpy_stripe *s = bcpy_enter(h);
  if (!s) return bcpy_len_or_status(BCPY_CLOSED, 0);
  size_t i = state[0], koff = state[1], used = 0;
  int64_t ret = 0;
  for (; i < n; koff += klens[i], i++) {
    size_t len = 0;
    int32_t rc = bc_get_into(h->db, U8(keys + koff), klens[i], (uint8_t *)buf + used,
                             cap - used, &len);
    if (rc == BC_OK) {
      lens[i] = (int64_t)len;
      used += len;
    } else if (rc == BC_NOT_FOUND) {
      lens[i] = -1;
    } else if (rc == BC_BUFFER_TOO_SMALL) {
      if (used > 0) break; /* the next call starts with an empty buffer */
      lens[i] = -2;
    } else {
      ret = bcpy_len_or_status(rc, 0);
      break;
    }
  }
  bcpy_leave(s);
  state[0] = i;
  state[1] = koff;
  return ret < 0 ? ret : (int64_t)used;
}

static int32_t bcpy_get_versioned_in(bc_db *db, const char *k, size_t kl, bcpy_buf *out,
                                     bcpy_versioned *meta) {
  uint8_t *v = NULL;
  size_t vl = 0;
  int32_t rc = bc_get_versioned(db, U8(k), kl, &v, &vl, &meta->expires_at_ms, &meta->version);
  if (rc != BC_OK) return rc;
  free(out->data);
  /* bc_get_versioned's buffer must go back through bc_free: copy it into the scratch. */
  out->data = malloc(vl ? vl : 1);
  if (!out->data) {
    out->cap = 0;
    bc_free(v);
    return BCPY_NOMEM;
  }
  memcpy(out->data, v, vl);
  out->cap = vl ? vl : 1;
  out->len = vl;
  bc_free(v);
  return BC_OK;
}

static int32_t bcpy_get_versioned(bcpy_db *h, const char *k, size_t kl, bcpy_buf *out,
                           bcpy_versioned *meta) {
  GUARDED(h, bcpy_get_versioned_in(h->db, k, kl, out, meta));
}

static int32_t bcpy_get_version(bcpy_db *h, const char *k, size_t kl, uint64_t *version_out) {
  GUARDED(h, bc_get_version(h->db, U8(k), kl, version_out));
}

static int32_t bcpy_put(bcpy_db *h, const char *k, size_t kl, const char *v, size_t vl) {
  GUARDED(h, bc_put(h->db, U8(k), kl, U8(v), vl));
}

static int32_t bcpy_put_ttl(bcpy_db *h, const char *k, size_t kl, const char *v, size_t vl,
                     uint64_t ttl_ms) {
  GUARDED(h, bc_put_ttl(h->db, U8(k), kl, U8(v), vl, ttl_ms));
}

static int32_t bcpy_put_expiring(bcpy_db *h, const char *k, size_t kl, const char *v, size_t vl,
                          uint64_t at_ms) {
  GUARDED(h, bc_put_expiring(h->db, U8(k), kl, U8(v), vl, at_ms));
}

static int32_t bcpy_delete(bcpy_db *h, const char *k, size_t kl) {
  GUARDED(h, bc_delete(h->db, U8(k), kl));
}

static int32_t bcpy_sync(bcpy_db *h) { GUARDED(h, bc_sync(h->db)); }

static int32_t bcpy_merge(bcpy_db *h) { GUARDED(h, bc_merge(h->db)); }

static int32_t bcpy_needs_merge(bcpy_db *h, bool *out) { GUARDED(h, bc_needs_merge(h->db, out)); }

static int32_t bcpy_checkpoint(bcpy_db *h, const char *dir) { GUARDED(h, bc_checkpoint(h->db, dir)); }

static int32_t bcpy_get_stats(bcpy_db *h, bc_stats *out) {
  GUARDED(h, bc_get_stats(h->db, out, sizeof *out));
}

static int32_t bcpy_get_file_stats(bcpy_db *h, bc_file_stat **files_out, size_t *count_out) {
  GUARDED(h, bc_get_file_stats(h->db, files_out, count_out));
}

static int32_t bcpy_value_open(bcpy_db *h, const char *k, size_t kl, bc_value **out,
                        uint64_t *len_out) {
  GUARDED(h, bc_value_open(h->db, U8(k), kl, out, len_out));
}

static int32_t bcpy_value_read(const bc_value *v, uint64_t offset, char *buf, size_t len,
                        size_t *n_out) {
  return bc_value_read(v, offset, (uint8_t *)buf, len, n_out);
}

static int32_t bcpy_iter_new(bcpy_db *h, bc_iter **out) { GUARDED(h, bc_iter_new(h->db, out)); }

static int32_t bcpy_iter_next(bc_iter *it, bcpy_kv *out, bool with_value) {
  const uint8_t *k = NULL, *v = NULL;
  size_t kl = 0, vl = 0;
  int32_t rc = bc_iter_next(it, &k, &kl, with_value ? &v : NULL, with_value ? &vl : NULL);
  if (rc == BC_OK) {
    out->key = (const char *)k;
    out->key_len = kl;
    out->val = (const char *)v;
    out->val_len = vl;
  }
  return rc;
}

static int32_t bcpy_batch_put(bc_batch *b, const char *k, size_t kl, const char *v, size_t vl) {
  return bc_batch_put(b, U8(k), kl, U8(v), vl);
}

static int32_t bcpy_batch_put_ttl(bc_batch *b, const char *k, size_t kl, const char *v, size_t vl,
                           uint64_t ttl_ms) {
  return bc_batch_put_ttl(b, U8(k), kl, U8(v), vl, ttl_ms);
}

static int32_t bcpy_batch_put_expiring(bc_batch *b, const char *k, size_t kl, const char *v,
                                size_t vl, uint64_t at_ms) {
  return bc_batch_put_expiring(b, U8(k), kl, U8(v), vl, at_ms);
}

static int32_t bcpy_batch_delete(bc_batch *b, const char *k, size_t kl) {
  return bc_batch_delete(b, U8(k), kl);
}

static int32_t bcpy_batch_commit(bcpy_db *h, bc_batch *b) { GUARDED(h, bc_batch_commit(h->db, b)); }

static int32_t bcpy_batch_commit_if(bcpy_db *h, bc_batch *b, const bc_condition *conds, size_t n) {
  GUARDED(h, bc_batch_commit_if(h->db, b, conds, n));
}
