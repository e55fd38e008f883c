/*
 * Shims between the Go binding and libbitcask's C ABI.
 *
 * libbitcask reports a failure's message through bc_last_error(), which is
 * thread-local. A goroutine may move to another OS thread between two cgo
 * calls, so each shim makes the libbitcask call AND, on failure, copies the
 * message within one cgo call (one OS thread). The copy is malloc'd; the Go
 * side turns it into a string and frees it.
 *
 * Results come back as small structs returned by value, so the Go side passes
 * no pointers to its own stack for out-parameters. Key and value pointers
 * passed in point into Go memory: libbitcask copies inputs and keeps no
 * pointer after a call returns, which is what `#cgo noescape` promises.
 */
#ifndef BCGO_H
#define BCGO_H

#include <stdlib.h>
#include <string.h>
#include "bitcask.h"

/* The message of a failed call, copied on this thread; NULL when the status
 * carries no message worth copying (BC_OK, BC_DONE, and BC_NOT_FOUND, whose
 * message the header documents as the constant "key not found"). */
static inline char *bcgo_msg(int32_t rc) {
	if (rc == BC_OK || rc == BC_NOT_FOUND || rc == BC_DONE) {
		return NULL;
	}
	return strdup(bc_last_error());
}

typedef struct {
	int32_t rc;
	char *msg;
} bcgo_status;

static inline bcgo_status bcgo_status_of(int32_t rc) {
	bcgo_status s;
	s.rc = rc;
	s.msg = bcgo_msg(rc);
	return s;
}

/* ---- open / close -------------------------------------------------------- */

typedef struct {
	int set_max_file_size;
	uint64_t max_file_size;
	int set_sync;
	int32_t sync;
	int set_sync_interval;
	uint32_t sync_interval_ms;
	int set_read_only;
	bool read_only;
	int set_create_if_missing;
	bool create_if_missing;
	int set_keydir;
	int32_t keydir;
	int set_frag_merge_trigger;
	uint32_t frag_merge_trigger;
	int set_dead_bytes_merge_trigger;
	uint64_t dead_bytes_merge_trigger;
	int set_frag_threshold;
	uint32_t frag_threshold;
	int set_dead_bytes_threshold;
	uint64_t dead_bytes_threshold;
	int set_small_file_threshold;
	uint64_t small_file_threshold;
	int set_auto_merge;
	bool auto_merge;
	int set_merge_window;
	uint32_t merge_window_start;
	uint32_t merge_window_end;
	int set_merge_check_interval;
	uint32_t merge_check_interval_ms;
} bcgo_opts;

typedef struct {
	int32_t rc;
	char *msg;
	bc_db *db;
} bcgo_open_res;

static inline bcgo_open_res bcgo_open(const char *path, bcgo_opts o) {
	bcgo_open_res r;
	r.db = NULL;
	bc_options *opts = bc_options_new();
	if (opts == NULL) {
		r.rc = BC_INTERNAL;
		r.msg = strdup("out of memory creating bc_options");
		return r;
	}
	int32_t rc = BC_OK;
	if (rc == BC_OK && o.set_max_file_size)
		rc = bc_options_set_max_file_size(opts, o.max_file_size);
	if (rc == BC_OK && o.set_sync)
		rc = bc_options_set_sync(opts, o.sync);
	if (rc == BC_OK && o.set_sync_interval)
		rc = bc_options_set_sync_interval_ms(opts, o.sync_interval_ms);
	if (rc == BC_OK && o.set_read_only)
		rc = bc_options_set_read_only(opts, o.read_only);
	if (rc == BC_OK && o.set_create_if_missing)
		rc = bc_options_set_create_if_missing(opts, o.create_if_missing);
	if (rc == BC_OK && o.set_keydir)
		rc = bc_options_set_keydir(opts, o.keydir);
	if (rc == BC_OK && o.set_frag_merge_trigger)
		rc = bc_options_set_frag_merge_trigger(opts, o.frag_merge_trigger);
	if (rc == BC_OK && o.set_dead_bytes_merge_trigger)
		rc = bc_options_set_dead_bytes_merge_trigger(opts, o.dead_bytes_merge_trigger);
	if (rc == BC_OK && o.set_frag_threshold)
		rc = bc_options_set_frag_threshold(opts, o.frag_threshold);
	if (rc == BC_OK && o.set_dead_bytes_threshold)
		rc = bc_options_set_dead_bytes_threshold(opts, o.dead_bytes_threshold);
	if (rc == BC_OK && o.set_small_file_threshold)
		rc = bc_options_set_small_file_threshold(opts, o.small_file_threshold);
	if (rc == BC_OK && o.set_auto_merge)
		rc = bc_options_set_auto_merge(opts, o.auto_merge);
	if (rc == BC_OK && o.set_merge_window)
		rc = bc_options_set_merge_window(opts, o.merge_window_start, o.merge_window_end);
	if (rc == BC_OK && o.set_merge_check_interval)
		rc = bc_options_set_merge_check_interval_ms(opts, o.merge_check_interval_ms);
	if (rc == BC_OK)
		rc = bc_open(path, opts, &r.db);
	r.rc = rc;
	r.msg = bcgo_msg(rc);
	bc_options_free(opts);
	return r;
}

static inline bcgo_status bcgo_close(bc_db *db) {
	return bcgo_status_of(bc_close(db));
}

/* ---- merge -------------------------------------------------------------- */

static inline bcgo_status bcgo_merge(bc_db *db) {
	return bcgo_status_of(bc_merge(db));
}

typedef struct {
	int32_t rc;
	char *msg;
	bool needed;
} bcgo_bool_res;

static inline bcgo_bool_res bcgo_needs_merge(bc_db *db) {
	bcgo_bool_res r;
	r.needed = false;
	r.rc = bc_needs_merge(db, &r.needed);
	r.msg = bcgo_msg(r.rc);
	return r;
}

/* ---- writes -------------------------------------------------------------- */

static inline bcgo_status bcgo_put(bc_db *db, const uint8_t *k, size_t kl,
                                   const uint8_t *v, size_t vl) {
	return bcgo_status_of(bc_put(db, k, kl, v, vl));
}

static inline bcgo_status bcgo_put_ttl(bc_db *db, const uint8_t *k, size_t kl,
                                       const uint8_t *v, size_t vl, uint64_t ttl_ms) {
	return bcgo_status_of(bc_put_ttl(db, k, kl, v, vl, ttl_ms));
}

static inline bcgo_status bcgo_put_expiring(bc_db *db, const uint8_t *k, size_t kl,
                                            const uint8_t *v, size_t vl, uint64_t at_ms) {
	return bcgo_status_of(bc_put_expiring(db, k, kl, v, vl, at_ms));
}

static inline bcgo_status bcgo_delete(bc_db *db, const uint8_t *k, size_t kl) {
	return bcgo_status_of(bc_delete(db, k, kl));
}

static inline bcgo_status bcgo_sync(bc_db *db) {
	return bcgo_status_of(bc_sync(db));
}

/* ---- reads --------------------------------------------------------------- */

typedef struct {
	int32_t rc;
	char *msg;
	uint8_t *val;
	size_t len;
} bcgo_get_res;

static inline bcgo_get_res bcgo_get(bc_db *db, const uint8_t *k, size_t kl) {
	bcgo_get_res r;
	r.val = NULL;
	r.len = 0;
	r.rc = bc_get(db, k, kl, &r.val, &r.len);
	r.msg = bcgo_msg(r.rc);
	return r;
}

typedef struct {
	int32_t rc;
	char *msg;
	size_t len;
} bcgo_len_res;

static inline bcgo_len_res bcgo_get_into(bc_db *db, const uint8_t *k, size_t kl,
                                         uint8_t *buf, size_t cap) {
	bcgo_len_res r;
	r.len = 0;
	r.rc = bc_get_into(db, k, kl, buf, cap, &r.len);
	r.msg = bcgo_msg(r.rc);
	return r;
}

/* ---- stats --------------------------------------------------------------- */

typedef struct {
	int32_t rc;
	char *msg;
	char *json;
} bcgo_json_res;

static inline bcgo_json_res bcgo_stats_json(bc_db *db) {
	bcgo_json_res r;
	r.json = NULL;
	r.rc = bc_stats_json(db, &r.json);
	r.msg = bcgo_msg(r.rc);
	return r;
}

/* ---- iteration ----------------------------------------------------------- */

typedef struct {
	int32_t rc;
	char *msg;
	bc_iter *iter;
} bcgo_iter_res;

static inline bcgo_iter_res bcgo_iter_new(bc_db *db) {
	bcgo_iter_res r;
	r.iter = NULL;
	r.rc = bc_iter_new(db, &r.iter);
	r.msg = bcgo_msg(r.rc);
	return r;
}

typedef struct {
	int32_t rc;
	char *msg;
	const uint8_t *key;
	size_t key_len;
	const uint8_t *val;
	size_t val_len;
} bcgo_next_res;

static inline bcgo_next_res bcgo_iter_next(bc_iter *it, int want_value) {
	bcgo_next_res r;
	r.key = NULL;
	r.key_len = 0;
	r.val = NULL;
	r.val_len = 0;
	if (want_value)
		r.rc = bc_iter_next(it, &r.key, &r.key_len, &r.val, &r.val_len);
	else
		r.rc = bc_iter_next(it, &r.key, &r.key_len, NULL, NULL);
	r.msg = bcgo_msg(r.rc);
	return r;
}

typedef struct {
	int32_t rc;
	char *msg;
	const uint8_t *key;
	size_t key_len;
	const uint8_t *val;
	size_t val_len;
	uint64_t expires_at;
} bcgo_next_exp_res;

static inline bcgo_next_exp_res bcgo_iter_next_expiring(bc_iter *it) {
	bcgo_next_exp_res r;
	r.key = NULL;
	r.key_len = 0;
	r.val = NULL;
	r.val_len = 0;
	r.expires_at = 0;
	r.rc = bc_iter_next_expiring(it, &r.key, &r.key_len, &r.val, &r.val_len, &r.expires_at);
	r.msg = bcgo_msg(r.rc);
	return r;
}

/* ---- batches ------------------------------------------------------------- */

static inline bcgo_status bcgo_batch_put(bc_batch *b, const uint8_t *k, size_t kl,
                                         const uint8_t *v, size_t vl) {
	return bcgo_status_of(bc_batch_put(b, k, kl, v, vl));
}

static inline bcgo_status bcgo_batch_put_ttl(bc_batch *b, const uint8_t *k, size_t kl,
                                             const uint8_t *v, size_t vl, uint64_t ttl_ms) {
	return bcgo_status_of(bc_batch_put_ttl(b, k, kl, v, vl, ttl_ms));
}

static inline bcgo_status bcgo_batch_delete(bc_batch *b, const uint8_t *k, size_t kl) {
	return bcgo_status_of(bc_batch_delete(b, k, kl));
}

static inline bcgo_status bcgo_batch_commit(bc_db *db, bc_batch *b) {
	return bcgo_status_of(bc_batch_commit(db, b));
}

/* ---- streaming values ---------------------------------------------------- */

typedef struct {
	int32_t rc;
	char *msg;
	bc_value *value;
	uint64_t len;
} bcgo_value_res;

static inline bcgo_value_res bcgo_value_open(bc_db *db, const uint8_t *k, size_t kl) {
	bcgo_value_res r;
	r.value = NULL;
	r.len = 0;
	r.rc = bc_value_open(db, k, kl, &r.value, &r.len);
	r.msg = bcgo_msg(r.rc);
	return r;
}

/* Reads until buf is full or the value ends (a read of 0 bytes), in one cgo
 * call: r.len is the number of bytes copied. */
static inline bcgo_len_res bcgo_value_read_full(const bc_value *v, uint64_t off,
                                                uint8_t *buf, size_t len) {
	bcgo_len_res r;
	r.rc = BC_OK;
	r.msg = NULL;
	r.len = 0;
	while (r.len < len) {
		size_t n = 0;
		int32_t rc = bc_value_read(v, off + r.len, buf + r.len, len - r.len, &n);
		if (rc != BC_OK) {
			r.rc = rc;
			r.msg = bcgo_msg(rc);
			break;
		}
		if (n == 0)
			break;
		r.len += n;
	}
	return r;
}

#endif /* BCGO_H */
