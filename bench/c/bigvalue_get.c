// bc_get of 1 MiB values by a caller that keeps its own copy (malloc, memcpy, then free):
// what every binding and most C programs do. LMDB is read the same way in the same process
// (mdb_get, malloc, memcpy, free), so both pay the same for the caller's own allocation and
// differ only in what the store costs. Run by bench/bigvalue_get.sh; prints MiB/s per run.
#include <bitcask.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N = 256, RUNS = 5 };
static const size_t VLEN = 1 << 20;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// Keeps the compiler from dropping a copy that is freed unread.
static void keep(const char *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

static void key(char *k, int i) { snprintf(k, 16, "k%06d", i); }

static int check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "bigvalue_get: %s failed\n", what);
    exit(1);
  }
  return ok;
}

static double run_bitcask(bc_db *db) {
  double t = now();
  for (int i = 0; i < N; i++) {
    char k[16];
    key(k, (i * 97) % N);
    uint8_t *b;
    size_t l;
    check(bc_get(db, (const uint8_t *)k, strlen(k), &b, &l) == BC_OK && l == VLEN, "bc_get");
    char *mine = malloc(l);
    memcpy(mine, b, l);
    keep(mine);
    bc_free(b);
    free(mine);
  }
  return N * (double)VLEN / 1048576.0 / (now() - t);
}

static double run_lmdb(MDB_env *env, MDB_dbi dbi) {
  double t = now();
  for (int i = 0; i < N; i++) {
    char k[16];
    key(k, (i * 97) % N);
    MDB_txn *txn;
    check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0, "mdb_txn_begin");
    MDB_val mk = {strlen(k), k}, mv;
    check(mdb_get(txn, dbi, &mk, &mv) == 0 && mv.mv_size == VLEN, "mdb_get");
    char *mine = malloc(mv.mv_size);
    memcpy(mine, mv.mv_data, mv.mv_size);
    keep(mine);
    mdb_txn_abort(txn);
    free(mine);
  }
  return N * (double)VLEN / 1048576.0 / (now() - t);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bigvalue_get BITCASK_DIR LMDB_DIR\n");
    return 2;
  }
  char *v = malloc(VLEN);
  memset(v, 'x', VLEN);

  bc_db *db = NULL;
  bc_options *o = bc_options_new();
  check(bc_open(argv[1], o, &db) == BC_OK, "bc_open");
  bc_options_free(o);
  MDB_env *env;
  MDB_dbi dbi;
  MDB_txn *txn;
  check(mdb_env_create(&env) == 0, "mdb_env_create");
  mdb_env_set_mapsize(env, (size_t)1 << 30);
  check(mdb_env_open(env, argv[2], MDB_NOSYNC, 0644) == 0, "mdb_env_open");
  check(mdb_txn_begin(env, NULL, 0, &txn) == 0 && mdb_dbi_open(txn, NULL, 0, &dbi) == 0, "dbi");
  for (int i = 0; i < N; i++) {
    char k[16];
    key(k, i);
    check(bc_put(db, (const uint8_t *)k, strlen(k), (const uint8_t *)v, VLEN) == BC_OK, "bc_put");
    MDB_val mk = {strlen(k), k}, mv = {VLEN, v};
    check(mdb_put(txn, dbi, &mk, &mv, 0) == 0, "mdb_put");
  }
  check(mdb_txn_commit(txn) == 0, "mdb_txn_commit");

  for (int r = 0; r < RUNS; r++) {
    double b = run_bitcask(db), l = run_lmdb(env, dbi);
    printf("run %d: libbitcask %.0f MiB/s, lmdb %.0f MiB/s, ratio %.2fx\n", r + 1, b, l, b / l);
  }
  bc_close(db);
  mdb_env_close(env);
  free(v);
  return 0;
}
