'use strict';

// The C functions of include/bitcask.h the binding calls, as koffi prototypes, and the
// opaque handle types they use. Copied from the header by hand; test/header.test.js fails
// on any difference (a function, a parameter, a type or a name), and on a header function
// that is neither here nor in its list of functions the binding leaves out.
//
// Native methods are named after the C function without `bc_` (f.put is bc_put).

const OPAQUE_TYPES = ['bc_db', 'bc_options', 'bc_iter', 'bc_batch', 'bc_value', 'bc_capture'];

// Out-parameters are declared `void *` and receive views of one per-thread BigUint64Array,
// which koffi passes by address: cheaper than koffi's `_Out_` arrays.
const PROTOTYPES = {
  version: 'const char *bc_version(void)',
  status_str: 'const char *bc_status_str(int32_t status)',
  last_error: 'const char *bc_last_error(void)',
  free: 'void bc_free(void *buf)',

  options_new: 'bc_options *bc_options_new(void)',
  options_free: 'void bc_options_free(bc_options *opts)',
  options_set_max_file_size: 'int32_t bc_options_set_max_file_size(bc_options *opts, uint64_t bytes)',
  options_set_sync: 'int32_t bc_options_set_sync(bc_options *opts, int32_t mode)',
  options_set_sync_interval_ms: 'int32_t bc_options_set_sync_interval_ms(bc_options *opts, uint32_t ms)',
  options_set_read_only: 'int32_t bc_options_set_read_only(bc_options *opts, bool read_only)',
  options_set_create_if_missing: 'int32_t bc_options_set_create_if_missing(bc_options *opts, bool create)',
  options_set_keydir: 'int32_t bc_options_set_keydir(bc_options *opts, int32_t mode)',

  open: 'int32_t bc_open(const char *path, const bc_options *opts, void *db_out)',
  close: 'int32_t bc_close(bc_db *db)',
  put: 'int32_t bc_put(bc_db *db, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)',
  put_ttl: 'int32_t bc_put_ttl(bc_db *db, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len, uint64_t ttl_ms)',
  put_expiring: 'int32_t bc_put_expiring(bc_db *db, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len, uint64_t expires_at_ms)',
  get: 'int32_t bc_get(bc_db *db, const uint8_t *key, size_t key_len, void *value_out, void *value_len_out)',
  get_into: 'int32_t bc_get_into(bc_db *db, const uint8_t *key, size_t key_len, uint8_t *buf, size_t cap, void *value_len_out)',
  delete: 'int32_t bc_delete(bc_db *db, const uint8_t *key, size_t key_len)',
  sync: 'int32_t bc_sync(bc_db *db)',

  iter_new: 'int32_t bc_iter_new(bc_db *db, void *iter_out)',
  iter_next: 'int32_t bc_iter_next(bc_iter *iter, void *key_out, void *key_len_out, void *value_out, void *value_len_out)',
  iter_free: 'void bc_iter_free(bc_iter *iter)',

  stats_json: 'int32_t bc_stats_json(bc_db *db, void *json_out)',

  batch_new: 'bc_batch *bc_batch_new(void)',
  batch_put: 'int32_t bc_batch_put(bc_batch *batch, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)',
  batch_put_ttl: 'int32_t bc_batch_put_ttl(bc_batch *batch, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len, uint64_t ttl_ms)',
  batch_delete: 'int32_t bc_batch_delete(bc_batch *batch, const uint8_t *key, size_t key_len)',
  batch_len: 'size_t bc_batch_len(const bc_batch *batch)',
  batch_clear: 'void bc_batch_clear(bc_batch *batch)',
  batch_commit: 'int32_t bc_batch_commit(bc_db *db, bc_batch *batch)',
  batch_free: 'void bc_batch_free(bc_batch *batch)',

  value_open: 'int32_t bc_value_open(bc_db *db, const uint8_t *key, size_t key_len, void *value_out, void *value_len_out)',
  value_read: 'int32_t bc_value_read(const bc_value *value, uint64_t offset, uint8_t *buf, size_t len, void *n_out)',
  value_close: 'void bc_value_close(bc_value *value)',

  merge: 'int32_t bc_merge(bc_db *db)',
  checkpoint: 'int32_t bc_checkpoint(bc_db *db, const char *dir)',
  needs_merge: 'int32_t bc_needs_merge(bc_db *db, void *needed_out)',
  options_set_frag_merge_trigger: 'int32_t bc_options_set_frag_merge_trigger(bc_options *opts, uint32_t percent)',
  options_set_dead_bytes_merge_trigger: 'int32_t bc_options_set_dead_bytes_merge_trigger(bc_options *opts, uint64_t bytes)',
  options_set_frag_threshold: 'int32_t bc_options_set_frag_threshold(bc_options *opts, uint32_t percent)',
  options_set_dead_bytes_threshold: 'int32_t bc_options_set_dead_bytes_threshold(bc_options *opts, uint64_t bytes)',
  options_set_small_file_threshold: 'int32_t bc_options_set_small_file_threshold(bc_options *opts, uint64_t bytes)',
  options_set_auto_merge: 'int32_t bc_options_set_auto_merge(bc_options *opts, bool enabled)',
  options_set_merge_window: 'int32_t bc_options_set_merge_window(bc_options *opts, uint32_t start_hour, uint32_t end_hour)',
  options_set_merge_check_interval_ms: 'int32_t bc_options_set_merge_check_interval_ms(bc_options *opts, uint32_t ms)',

  // Conditional writes (cond.js, Batch.putExpiring / commitIf).
  get_versioned: 'int32_t bc_get_versioned(bc_db *db, const uint8_t *key, size_t key_len, void *value_out, void *value_len_out, void *expires_at_ms_out, void *version_out)',
  get_version: 'int32_t bc_get_version(bc_db *db, const uint8_t *key, size_t key_len, void *version_out)',
  batch_put_expiring: 'int32_t bc_batch_put_expiring(bc_batch *batch, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len, uint64_t expires_at_ms)',
  batch_commit_if: 'int32_t bc_batch_commit_if(bc_db *db, bc_batch *batch, const bc_condition *conds, size_t n_conds)',
};

module.exports = { OPAQUE_TYPES, PROTOTYPES };
