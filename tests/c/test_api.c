/*
 * test_api.c: tests of the libbitcask C ABI, as a C program sees it.
 *
 * Usage: test_api [BASE_DIR]   (a fresh temp directory is made under BASE_DIR, default /tmp,
 * and removed at the end; it is kept, and its path printed, if a check fails).
 *
 * The first failing check prints file:line, the expression and this thread's
 * bc_last_error(), then exits 1. A run that reaches the end prints "N passed, 0 failed".
 * Run by tests/c_api.rs (cargo test) and tests/c/valgrind.sh.
 */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp, pwrite */
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS, MAP_NORESERVE */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bitcask.h"

/* ------------------------------------------------------------------------------------ */
/* Assertions                                                                           */

static atomic_int passed; /* checks run on several threads */
static char root[1024];   /* this run's temp directory */

static void check_at(bool ok, const char *file, int line, const char *expr) {
    if (ok) {
        atomic_fetch_add(&passed, 1);
        return;
    }
    fprintf(stderr, "%s:%d: CHECK failed: %s\n  last error on this thread: \"%s\"\n", file,
            line, expr, bc_last_error());
    fprintf(stderr, "  temp dir kept: %s\n", root);
    exit(1);
}

static void check_rc_at(int32_t got, int32_t want, const char *file, int line,
                        const char *expr) {
    if (got == want) {
        atomic_fetch_add(&passed, 1);
        return;
    }
    fprintf(stderr, "%s:%d: %s\n  returned %s (%d), expected %s\n", file, line, expr,
            bc_status_str(got), (int)got, bc_status_str(want));
    fprintf(stderr, "  last error on this thread: \"%s\"\n  temp dir kept: %s\n",
            bc_last_error(), root);
    exit(1);
}

#define CHECK(e) check_at((e), __FILE__, __LINE__, #e)
#define CHECK_RC(call, want) check_rc_at((call), (want), __FILE__, __LINE__, #call)
#define OK(call) CHECK_RC(call, BC_OK)
#define INVALID(call) CHECK_RC(call, BC_INVALID_ARGUMENT)

/* A failure must always come with an explanation. */
#define CHECK_MSG() CHECK(bc_last_error() != NULL && bc_last_error()[0] != '\0')

/* ------------------------------------------------------------------------------------ */
/* Helpers                                                                              */

/* S("x") expands to a (pointer, length) pair, the shape of every key and value argument. */
#define S(str) (const uint8_t *)(str), strlen(str)

/* Out-parameters are pre-filled with these so "untouched on failure" can be checked. */
static uint8_t sentinel_byte;
#define SENT_PTR ((void *)&sentinel_byte)
#define SENT_LEN ((size_t)0x5EB71E)

#define TEST_DIR(var, name)                                                                  \
    char var[2048];                                                                          \
    snprintf(var, sizeof var, "%s/%s", root, name)

static bc_db *open_at(const char *dir, const bc_options *opts, const char *file, int line) {
    bc_db *db = NULL;
    check_rc_at(bc_open(dir, opts, &db), BC_OK, file, line, "bc_open");
    check_at(db != NULL, file, line, "bc_open returned a handle");
    return db;
}
#define OPEN(dir, opts) open_at((dir), (opts), __FILE__, __LINE__)

static void expect_bytes_at(bc_db *db, const void *k, size_t kl, const void *v, size_t vl,
                            const char *file, int line) {
    uint8_t *got = SENT_PTR;
    size_t len = SENT_LEN;
    check_rc_at(bc_get(db, k, kl, &got, &len), BC_OK, file, line, "bc_get");
    check_at(got != NULL && got != SENT_PTR, file, line, "bc_get returned a buffer");
    check_at(len == vl && (vl == 0 || memcmp(got, v, vl) == 0), file, line,
             "bc_get returned the expected value");
    bc_free(got);
}
#define EXPECT_BYTES(db, k, kl, v, vl) expect_bytes_at((db), (k), (kl), (v), (vl), __FILE__, __LINE__)
#define EXPECT_VAL(db, k, v) EXPECT_BYTES(db, k, strlen(k), v, strlen(v))

static void expect_missing_at(bc_db *db, const void *k, size_t kl, const char *file, int line) {
    uint8_t *got = SENT_PTR;
    size_t len = SENT_LEN;
    check_rc_at(bc_get(db, k, kl, &got, &len), BC_NOT_FOUND, file, line, "bc_get (missing)");
    check_at(got == SENT_PTR && len == SENT_LEN, file, line, "out-params untouched");
}
#define EXPECT_MISSING(db, k) expect_missing_at((db), (k), strlen(k), __FILE__, __LINE__)

static void put_str_at(bc_db *db, const char *k, const char *v, const char *file, int line) {
    check_rc_at(bc_put(db, S(k), S(v)), BC_OK, file, line, "bc_put");
}
#define PUT(db, k, v) put_str_at((db), (k), (v), __FILE__, __LINE__)

/* Whether every byte of [p, p + n) is `b`: one check for a whole "untouched" buffer. */
static bool all_bytes(const void *p, size_t n, uint8_t b) {
    const uint8_t *u = p;
    for (size_t i = 0; i < n; i++)
        if (u[i] != b)
            return false;
    return true;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void write_file(const char *path, const char *content) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fputs(content, f) >= 0);
    CHECK(fclose(f) == 0);
}

static int is_data_file(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return n > 5 && strcmp(e->d_name + n - 5, ".data") == 0;
}

static int count_data_files(const char *dir) {
    struct dirent **names;
    int n = scandir(dir, &names, is_data_file, alphasort);
    CHECK(n >= 0);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return n;
}

/* "name:size;..." for every entry of dir, sorted: detects any change a handle makes. */
static void describe_dir(const char *dir, char *out, size_t cap) {
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    CHECK(n >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        CHECK(stat(path, &sb) == 0);
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%s:%lld;", names[i]->d_name, (long long)sb.st_size);
        free(names[i]);
    }
    free(names);
}

/* Flips one bit in the middle of the first run of `run` bytes equal to `fill` found in a
 * data file of dir, through a separate fd, as a disk error would. Returns files changed. */
static int corrupt_run(const char *dir, uint8_t fill, size_t run) {
    struct dirent **names;
    int n = scandir(dir, &names, is_data_file, alphasort);
    CHECK(n >= 0);
    int flipped = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        free(names[i]);
        if (flipped)
            continue;
        int fd = open(path, O_RDWR);
        CHECK(fd >= 0);
        struct stat sb;
        CHECK(fstat(fd, &sb) == 0);
        size_t size = (size_t)sb.st_size;
        uint8_t *buf = malloc(size + 1);
        CHECK(buf != NULL);
        CHECK(pread(fd, buf, size, 0) == (ssize_t)size);
        size_t same = 0;
        for (size_t off = 0; off < size; off++) {
            same = buf[off] == fill ? same + 1 : 0;
            if (same == run) {
                size_t at = off + 1 - run / 2;
                uint8_t b = buf[at] ^ 0x01;
                CHECK(pwrite(fd, &b, 1, (off_t)at) == 1);
                flipped = 1;
                break;
            }
        }
        free(buf);
        CHECK(close(fd) == 0);
    }
    free(names);
    return flipped;
}

/* Only a store's own files may be left in its directory once a merge has finished:
 * NNNNNN.data, NNNNNN.hint and LOCK; no .merging outputs, no MERGE marker. */
static int is_visible(const struct dirent *e) { return e->d_name[0] != '.'; }

static int check_store_files_at(const char *dir, const char *file, int line) {
    struct dirent **names;
    int n = scandir(dir, &names, is_visible, alphasort);
    check_at(n >= 0, file, line, "scandir");
    int hints = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t digits = strspn(name, "0123456789");
        bool data = digits >= 6 && strcmp(name + digits, ".data") == 0;
        bool hint = digits >= 6 && strcmp(name + digits, ".hint") == 0;
        if (!(data || hint || strcmp(name, "LOCK") == 0))
            fprintf(stderr, "unexpected file in %s: %s\n", dir, name);
        check_at(data || hint || strcmp(name, "LOCK") == 0, file, line,
                 "only data, hint and LOCK files in the store");
        hints += hint;
        free(names[i]);
    }
    free(names);
    return hints;
}
#define CHECK_STORE_FILES(dir) check_store_files_at((dir), __FILE__, __LINE__)

/* ------------------------------------------------------------------------------------ */
/* Tests                                                                                */

static void test_version_and_status_strings(void) {
    CHECK(bc_version() != NULL);
    CHECK(strcmp(bc_version(), BC_VERSION_STRING) == 0);
    char v[64];
    snprintf(v, sizeof v, "%d.%d.%d", BC_VERSION_MAJOR, BC_VERSION_MINOR, BC_VERSION_PATCH);
    CHECK(strcmp(v, BC_VERSION_STRING) == 0);

    static const struct {
        int32_t code;
        const char *name;
    } names[] = {
        {BC_OK, "BC_OK"},
        {BC_NOT_FOUND, "BC_NOT_FOUND"},
        {BC_INVALID_ARGUMENT, "BC_INVALID_ARGUMENT"},
        {BC_IO, "BC_IO"},
        {BC_CORRUPTION, "BC_CORRUPTION"},
        {BC_LOCKED, "BC_LOCKED"},
        {BC_READ_ONLY, "BC_READ_ONLY"},
        {BC_INTERNAL, "BC_INTERNAL"},
        {BC_BUFFER_TOO_SMALL, "BC_BUFFER_TOO_SMALL"},
        {BC_BUSY, "BC_BUSY"},
        {BC_DONE, "BC_DONE"},
    };
    size_t count = sizeof names / sizeof names[0];
    for (size_t i = 0; i < count; i++) {
        CHECK(strcmp(bc_status_str(names[i].code), names[i].name) == 0);
        for (size_t j = i + 1; j < count; j++) /* codes must be distinguishable */
            CHECK(names[i].code != names[j].code);
    }
    CHECK(BC_OK == 0);
    const int32_t unknown[] = {-1, 12, 100, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK(strcmp(bc_status_str(unknown[i]), "BC_UNKNOWN") == 0);

    CHECK(BC_SYNC_NONE != BC_SYNC_ALWAYS && BC_SYNC_ALWAYS != BC_SYNC_INTERVAL &&
          BC_SYNC_NONE != BC_SYNC_INTERVAL);
    CHECK(BC_MAX_KEY_LEN == 65536);
    CHECK(BC_MAX_VALUE_LEN == 536870912);
    CHECK(bc_last_error() != NULL);
}

/* Every function given a NULL handle: refused, with a message, nothing written. */
static void test_null_handles(void) {
    TEST_DIR(dir, "null-handles");
    uint8_t *val = SENT_PTR;
    size_t len = SENT_LEN;

    INVALID(bc_put(NULL, S("k"), S("v")));
    CHECK(strstr(bc_last_error(), "db") != NULL);
    INVALID(bc_put_ttl(NULL, S("k"), S("v"), 1000));
    CHECK_MSG();
    INVALID(bc_put_expiring(NULL, S("k"), S("v"), 0));
    INVALID(bc_get(NULL, S("k"), &val, &len));
    CHECK(val == SENT_PTR && len == SENT_LEN);
    INVALID(bc_delete(NULL, S("k")));
    INVALID(bc_sync(NULL));

    bc_iter *it = SENT_PTR;
    INVALID(bc_iter_new(NULL, &it));
    CHECK(it == SENT_PTR);
    const uint8_t *k = SENT_PTR, *v = SENT_PTR;
    size_t kl = SENT_LEN, vl = SENT_LEN;
    INVALID(bc_iter_next(NULL, &k, &kl, &v, &vl));
    CHECK(k == SENT_PTR && kl == SENT_LEN && v == SENT_PTR && vl == SENT_LEN);

    bc_stats st, before;
    memset(&st, 0xAB, sizeof st);
    memcpy(&before, &st, sizeof st);
    INVALID(bc_get_stats(NULL, &st, sizeof st));
    CHECK(memcmp(&st, &before, sizeof st) == 0);
    bc_file_stat *files = SENT_PTR;
    size_t nfiles = SENT_LEN;
    INVALID(bc_get_file_stats(NULL, &files, &nfiles));
    CHECK(files == SENT_PTR && nfiles == SENT_LEN);
    char *json = SENT_PTR;
    INVALID(bc_stats_json(NULL, &json));
    CHECK(json == SENT_PTR);

    uint8_t buf[8] = {0};
    INVALID(bc_get_into(NULL, S("k"), buf, sizeof buf, &len));
    CHECK(len == SENT_LEN);
    bc_value *reader = SENT_PTR;
    uint64_t len64 = SENT_LEN;
    INVALID(bc_value_open(NULL, S("k"), &reader, &len64));
    CHECK(reader == SENT_PTR && len64 == SENT_LEN);
    INVALID(bc_value_read(NULL, 0, buf, sizeof buf, &len));
    CHECK(len == SENT_LEN);

    bc_batch *batch = bc_batch_new();
    CHECK(batch != NULL);
    OK(bc_batch_put(batch, S("k"), S("v")));
    INVALID(bc_batch_commit(NULL, batch));
    CHECK(bc_batch_len(batch) == 1); /* a failed commit leaves the batch as it was */
    INVALID(bc_batch_put(NULL, S("k"), S("v")));
    INVALID(bc_batch_put_ttl(NULL, S("k"), S("v"), 10));
    INVALID(bc_batch_delete(NULL, S("k")));
    CHECK(bc_batch_len(NULL) == 0);
    bc_batch_clear(NULL);
    bc_batch_free(batch);

    INVALID(bc_options_set_max_file_size(NULL, 1 << 20));
    INVALID(bc_options_set_sync(NULL, BC_SYNC_NONE));
    INVALID(bc_options_set_sync_interval_ms(NULL, 100));
    INVALID(bc_options_set_read_only(NULL, true));
    INVALID(bc_options_set_create_if_missing(NULL, true));
    INVALID(bc_options_set_frag_merge_trigger(NULL, 50));
    INVALID(bc_options_set_dead_bytes_merge_trigger(NULL, 1 << 20));
    INVALID(bc_options_set_frag_threshold(NULL, 50));
    INVALID(bc_options_set_dead_bytes_threshold(NULL, 1 << 20));
    INVALID(bc_options_set_small_file_threshold(NULL, 1 << 20));
    INVALID(bc_options_set_auto_merge(NULL, true));
    INVALID(bc_options_set_merge_window(NULL, 0, 0));
    INVALID(bc_options_set_merge_check_interval_ms(NULL, 100));
    INVALID(bc_merge(NULL));
    CHECK_MSG();
    bool needed = true;
    INVALID(bc_needs_merge(NULL, &needed));
    CHECK(needed == true);

    bc_db *db = SENT_PTR;
    INVALID(bc_open(NULL, NULL, &db));
    CHECK(db == SENT_PTR);
    INVALID(bc_open("", NULL, &db));
    CHECK(db == SENT_PTR);
    INVALID(bc_open(dir, NULL, NULL));
    CHECK(!exists(dir)); /* refused before touching the disk */

    /* Destructors accept NULL so cleanup code needs no checks. */
    OK(bc_close(NULL));
    bc_free(NULL);
    bc_options_free(NULL);
    bc_iter_free(NULL);
    bc_batch_free(NULL);
    bc_value_close(NULL);
}

/* NULL pointers and empty keys with a live handle. */
static void test_null_arguments(void) {
    TEST_DIR(dir, "null-args");
    bc_db *db = OPEN(dir, NULL);
    PUT(db, "k", "v");

    /* NULL key with a length: invalid pointer. NULL or non-NULL with length 0: empty key. */
    const uint8_t *nk = NULL;
    INVALID(bc_put(db, nk, 3, S("x")));
    CHECK(strstr(bc_last_error(), "key") != NULL);
    INVALID(bc_put(db, nk, 0, S("x")));
    CHECK(strstr(bc_last_error(), "key") != NULL);
    INVALID(bc_put(db, (const uint8_t *)"k", 0, S("x")));
    INVALID(bc_put_ttl(db, nk, 3, S("x"), 100));
    INVALID(bc_put_ttl(db, nk, 0, S("x"), 100));
    INVALID(bc_put_expiring(db, nk, 3, S("x"), 0));
    INVALID(bc_put_expiring(db, nk, 0, S("x"), 0));
    INVALID(bc_delete(db, nk, 1));
    INVALID(bc_delete(db, nk, 0));
    EXPECT_VAL(db, "k", "v");

    uint8_t *val = SENT_PTR;
    size_t len = SENT_LEN;
    INVALID(bc_get(db, nk, 1, &val, &len));
    CHECK(val == SENT_PTR && len == SENT_LEN);
    INVALID(bc_get(db, nk, 0, &val, &len));
    CHECK(val == SENT_PTR && len == SENT_LEN);
    INVALID(bc_get(db, S("k"), NULL, &len));
    CHECK(len == SENT_LEN);
    INVALID(bc_get(db, S("k"), &val, NULL));
    CHECK(val == SENT_PTR);

    /* NULL value: only with length 0, where it is a legal empty value. */
    INVALID(bc_put(db, S("k"), NULL, 5));
    CHECK_MSG();
    INVALID(bc_put_ttl(db, S("k"), NULL, 5, 1000));
    INVALID(bc_put_expiring(db, S("k"), NULL, 5, 0));
    EXPECT_VAL(db, "k", "v"); /* nothing was written by the refused calls */
    OK(bc_put(db, S("empty"), NULL, 0));
    EXPECT_BYTES(db, "empty", 5, "", 0);
    OK(bc_put_ttl(db, S("empty-ttl"), NULL, 0, 60000));
    EXPECT_BYTES(db, "empty-ttl", 9, "", 0);
    OK(bc_put_expiring(db, S("empty-exp"), NULL, 0, 0));
    EXPECT_BYTES(db, "empty-exp", 9, "", 0);

    /* Iterator out-params; a refused call does not advance the iterator. */
    bc_iter *it = SENT_PTR;
    INVALID(bc_iter_new(db, NULL));
    OK(bc_iter_new(db, &it));
    CHECK(it != NULL && it != SENT_PTR);
    const uint8_t *k = SENT_PTR, *v = SENT_PTR;
    size_t kl = SENT_LEN, vl = SENT_LEN;
    INVALID(bc_iter_next(it, NULL, &kl, &v, &vl));
    INVALID(bc_iter_next(it, &k, NULL, &v, &vl));
    INVALID(bc_iter_next(it, &k, &kl, &v, NULL));
    CHECK(k == SENT_PTR && kl == SENT_LEN && v == SENT_PTR && vl == SENT_LEN);
    int n = 0;
    int32_t rc;
    while ((rc = bc_iter_next(it, &k, &kl, &v, &vl)) == BC_OK)
        n++;
    CHECK_RC(rc, BC_DONE);
    CHECK(n == 4);
    bc_iter_free(it);

    INVALID(bc_get_stats(db, NULL, sizeof(bc_stats)));
    bc_file_stat *files = SENT_PTR;
    size_t nfiles = SENT_LEN;
    INVALID(bc_get_file_stats(db, NULL, &nfiles));
    CHECK(nfiles == SENT_LEN);
    INVALID(bc_get_file_stats(db, &files, NULL));
    CHECK(files == SENT_PTR);
    INVALID(bc_stats_json(db, NULL));
    INVALID(bc_batch_commit(db, NULL));
    INVALID(bc_needs_merge(db, NULL));

    uint8_t buf[8];
    memset(buf, 0x77, sizeof buf);
    INVALID(bc_get_into(db, S("k"), buf, sizeof buf, NULL));
    INVALID(bc_get_into(db, S("k"), NULL, 5, &len));
    INVALID(bc_get_into(db, nk, 1, buf, sizeof buf, &len));
    INVALID(bc_get_into(db, nk, 0, buf, sizeof buf, &len));
    CHECK(len == SENT_LEN && buf[0] == 0x77 && buf[7] == 0x77);

    bc_value *reader = SENT_PTR;
    uint64_t len64 = SENT_LEN;
    INVALID(bc_value_open(db, S("k"), NULL, &len64));
    CHECK(len64 == SENT_LEN);
    INVALID(bc_value_open(db, nk, 1, &reader, &len64));
    INVALID(bc_value_open(db, nk, 0, &reader, &len64));
    CHECK(reader == SENT_PTR && len64 == SENT_LEN);
    OK(bc_value_open(db, S("k"), &reader, NULL)); /* the length is optional */
    INVALID(bc_value_read(reader, 0, buf, sizeof buf, NULL));
    CHECK(buf[0] == 0x77);
    INVALID(bc_value_read(reader, 0, NULL, 4, &len));
    CHECK(len == SENT_LEN);
    OK(bc_value_read(reader, 0, NULL, 0, &len));
    CHECK(len == 0);
    OK(bc_value_read(reader, 0, buf, sizeof buf, &len));
    CHECK(len == 1 && buf[0] == 'v');
    bc_value_close(reader);

    OK(bc_close(db));
}

static void test_key_and_value_limits(void) {
    TEST_DIR(dir, "limits");
    bc_db *db = OPEN(dir, NULL);
    size_t max = BC_MAX_KEY_LEN;
    uint8_t *key = malloc(max + 1);
    CHECK(key != NULL);
    for (size_t i = 0; i <= max; i++)
        key[i] = (uint8_t)('a' + i % 26);

    OK(bc_put(db, key, max, S("max")));
    EXPECT_BYTES(db, key, max, "max", 3);
    uint8_t buf[8];
    size_t len = 0;
    OK(bc_get_into(db, key, max, buf, sizeof buf, &len));
    CHECK(len == 3);
    bc_value *reader = NULL;
    OK(bc_value_open(db, key, max, &reader, NULL));
    bc_value_close(reader);

    INVALID(bc_put(db, key, max + 1, S("x")));
    CHECK_MSG();
    INVALID(bc_put_ttl(db, key, max + 1, S("x"), 100));
    INVALID(bc_put_expiring(db, key, max + 1, S("x"), 0));
    uint8_t *val = SENT_PTR;
    len = SENT_LEN;
    INVALID(bc_get(db, key, max + 1, &val, &len));
    CHECK(val == SENT_PTR && len == SENT_LEN);
    INVALID(bc_delete(db, key, max + 1));
    INVALID(bc_get_into(db, key, max + 1, buf, sizeof buf, &len));
    CHECK(len == SENT_LEN);
    reader = SENT_PTR;
    INVALID(bc_value_open(db, key, max + 1, &reader, NULL));
    CHECK(reader == SENT_PTR);

    bc_batch *batch = bc_batch_new();
    INVALID(bc_batch_put(batch, key, max + 1, S("x")));
    INVALID(bc_batch_put_ttl(batch, key, max + 1, S("x"), 100));
    INVALID(bc_batch_delete(batch, key, max + 1));
    CHECK(bc_batch_len(batch) == 0);
    OK(bc_batch_delete(batch, key, max));
    OK(bc_batch_commit(db, batch));
    uint8_t *got = SENT_PTR;
    CHECK_RC(bc_get(db, key, max, &got, &len), BC_NOT_FOUND);
    OK(bc_batch_put(batch, key, max, S("again")));
    OK(bc_batch_commit(db, batch));

    /* The longest key survives iteration and reopening whole. */
    bc_iter *it = NULL;
    OK(bc_iter_new(db, &it));
    const uint8_t *k;
    size_t kl;
    OK(bc_iter_next(it, &k, &kl, NULL, NULL));
    CHECK(kl == max && memcmp(k, key, max) == 0);
    CHECK_RC(bc_iter_next(it, &k, &kl, NULL, NULL), BC_DONE);
    bc_iter_free(it);
    OK(bc_close(db));
    db = OPEN(dir, NULL);
    EXPECT_BYTES(db, key, max, "again", 5);

    /* A value one byte over the limit, backed by untouched (so never committed) memory. */
    size_t big = (size_t)BC_MAX_VALUE_LEN + 1;
    void *huge = mmap(NULL, big, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (huge != MAP_FAILED) {
        INVALID(bc_put(db, S("huge"), huge, big));
        CHECK(strstr(bc_last_error(), "value") != NULL);
        INVALID(bc_batch_put(batch, S("huge"), huge, big));
        CHECK(bc_batch_len(batch) == 0);
        CHECK(munmap(huge, big) == 0);
        EXPECT_MISSING(db, "huge");
    } else {
        printf("  (skipped the oversized value: no address space for %zu bytes)\n", big);
    }
    bc_batch_free(batch);
    free(key);
    OK(bc_close(db));
}

/* NOT_FOUND, BC_DONE and failed opens leave every out-parameter as it was. */
static void test_untouched_out_params(void) {
    TEST_DIR(dir, "untouched");
    bc_db *db = OPEN(dir, NULL);

    uint8_t *val = SENT_PTR;
    size_t len = SENT_LEN;
    CHECK_RC(bc_get(db, S("nope"), &val, &len), BC_NOT_FOUND);
    CHECK(val == SENT_PTR && len == SENT_LEN);
    CHECK(strcmp(bc_last_error(), "key not found") == 0);

    uint8_t buf[4];
    memset(buf, 0x42, sizeof buf);
    CHECK_RC(bc_get_into(db, S("nope"), buf, sizeof buf, &len), BC_NOT_FOUND);
    CHECK(len == SENT_LEN && buf[0] == 0x42 && buf[3] == 0x42);
    CHECK_RC(bc_get_into(db, S("nope"), NULL, 0, &len), BC_NOT_FOUND);
    CHECK(len == SENT_LEN);

    bc_value *reader = SENT_PTR;
    uint64_t len64 = SENT_LEN;
    CHECK_RC(bc_value_open(db, S("nope"), &reader, &len64), BC_NOT_FOUND);
    CHECK(reader == SENT_PTR && len64 == SENT_LEN);

    bc_iter *it = NULL;
    OK(bc_iter_new(db, &it));
    const uint8_t *k = SENT_PTR, *v = SENT_PTR;
    size_t kl = SENT_LEN, vl = SENT_LEN;
    CHECK_RC(bc_iter_next(it, &k, &kl, &v, &vl), BC_DONE);
    CHECK_RC(bc_iter_next(it, &k, &kl, &v, &vl), BC_DONE); /* and stays done */
    CHECK(k == SENT_PTR && kl == SENT_LEN && v == SENT_PTR && vl == SENT_LEN);
    bc_iter_free(it);

    bc_db *other = SENT_PTR;
    CHECK_RC(bc_open(dir, NULL, &other), BC_LOCKED);
    CHECK(other == SENT_PTR);
    OK(bc_close(db));
}

struct thread_msg {
    char seen_at_start[256];
    char own_message[256];
    int32_t rc;
};

static void *fail_on_other_thread(void *arg) {
    struct thread_msg *m = arg;
    snprintf(m->seen_at_start, sizeof m->seen_at_start, "%s", bc_last_error());
    bc_options *opts = bc_options_new();
    m->rc = bc_options_set_sync(opts, 42);
    snprintf(m->own_message, sizeof m->own_message, "%s", bc_last_error());
    bc_options_free(opts);
    return NULL;
}

static void test_last_error_is_thread_local(void) {
    INVALID(bc_put(NULL, S("k"), S("v")));
    char mine[256];
    snprintf(mine, sizeof mine, "%s", bc_last_error());
    CHECK(mine[0] != '\0');

    /* Successful calls leave the message alone. */
    bc_options *opts = bc_options_new();
    OK(bc_options_set_sync(opts, BC_SYNC_ALWAYS));
    CHECK(strcmp(bc_last_error(), mine) == 0);
    bc_options_free(opts);

    struct thread_msg m;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, fail_on_other_thread, &m) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(strcmp(m.seen_at_start, "") == 0); /* a new thread starts with no message */
    CHECK_RC(m.rc, BC_INVALID_ARGUMENT);
    CHECK(strstr(m.own_message, "42") != NULL);
    CHECK(strcmp(bc_last_error(), mine) == 0); /* the other thread's failure is not ours */
    CHECK(strcmp(m.own_message, mine) != 0);
}

static void test_open_errors(void) {
    TEST_DIR(dir, "open-errors");
    bc_db *db = OPEN(dir, NULL);
    PUT(db, "before", "1");

    /* One writer per directory; the message names it. */
    bc_db *second = SENT_PTR;
    CHECK_RC(bc_open(dir, NULL, &second), BC_LOCKED);
    CHECK(second == SENT_PTR);
    CHECK(strstr(bc_last_error(), dir) != NULL);

    /* Readers take no lock and see the data as of their open. */
    bc_options *ro = bc_options_new();
    OK(bc_options_set_read_only(ro, true));
    bc_db *reader = OPEN(dir, ro);
    EXPECT_VAL(reader, "before", "1");
    PUT(db, "after", "2");
    EXPECT_MISSING(reader, "after");
    OK(bc_close(reader));

    /* The lock goes with the handle. */
    OK(bc_close(db));
    db = OPEN(dir, NULL);
    EXPECT_VAL(db, "after", "2");
    OK(bc_close(db));

    TEST_DIR(file, "plain-file");
    write_file(file, "not a store\n");
    db = SENT_PTR;
    INVALID(bc_open(file, NULL, &db));
    CHECK(db == SENT_PTR);
    CHECK(strstr(bc_last_error(), file) != NULL);
    INVALID(bc_open(file, ro, &db));

    TEST_DIR(foreign, "foreign");
    CHECK(mkdir(foreign, 0755) == 0);
    char notes[4096];
    snprintf(notes, sizeof notes, "%s/notes.txt", foreign);
    write_file(notes, "my precious data\n");
    INVALID(bc_open(foreign, NULL, &db));
    CHECK(db == SENT_PTR);
    CHECK(strstr(bc_last_error(), "notes.txt") != NULL);
    INVALID(bc_open(foreign, ro, &db));
    CHECK(exists(notes));
    CHECK(count_data_files(foreign) == 0); /* nothing was created beside it */

    /* A missing directory is created only when allowed (and never read-only). */
    TEST_DIR(missing, "missing/a/b");
    bc_options *nocreate = bc_options_new();
    OK(bc_options_set_create_if_missing(nocreate, false));
    CHECK_RC(bc_open(missing, nocreate, &db), BC_IO);
    CHECK(db == SENT_PTR);
    CHECK_MSG();
    CHECK_RC(bc_open(missing, ro, &db), BC_IO);
    CHECK(!exists(missing));
    OK(bc_options_set_create_if_missing(nocreate, true));
    db = OPEN(missing, nocreate);
    CHECK(exists(missing));
    OK(bc_close(db));

    bc_options_free(nocreate);
    bc_options_free(ro);
}

static void test_options(void) {
    bc_options *opts = bc_options_new();
    CHECK(opts != NULL);

    OK(bc_options_set_max_file_size(opts, 4096));
    INVALID(bc_options_set_max_file_size(opts, 10));
    CHECK_MSG();
    INVALID(bc_options_set_max_file_size(opts, 0));
    INVALID(bc_options_set_max_file_size(opts, 4095));
    INVALID(bc_options_set_max_file_size(opts, 4294967296ULL));
    INVALID(bc_options_set_max_file_size(opts, UINT64_MAX));
    OK(bc_options_set_max_file_size(opts, 4294967295ULL));
    OK(bc_options_set_max_file_size(opts, 4096));

    INVALID(bc_options_set_sync(opts, 3));
    CHECK(strstr(bc_last_error(), "3") != NULL);
    INVALID(bc_options_set_sync(opts, -1));
    INVALID(bc_options_set_sync(opts, 1000));
    INVALID(bc_options_set_sync_interval_ms(opts, 0));
    CHECK_MSG();
    OK(bc_options_set_sync_interval_ms(opts, 1));
    OK(bc_options_set_sync_interval_ms(opts, UINT32_MAX));
    OK(bc_options_set_read_only(opts, true));
    OK(bc_options_set_read_only(opts, false));
    OK(bc_options_set_create_if_missing(opts, false));
    OK(bc_options_set_create_if_missing(opts, true));

    /* Merge options: percentages are 0..=100, hours 0..=23, the interval at least 1. */
    OK(bc_options_set_frag_merge_trigger(opts, 0));
    OK(bc_options_set_frag_merge_trigger(opts, 100));
    INVALID(bc_options_set_frag_merge_trigger(opts, 101));
    CHECK(strstr(bc_last_error(), "101") != NULL);
    INVALID(bc_options_set_frag_merge_trigger(opts, UINT32_MAX));
    OK(bc_options_set_frag_threshold(opts, 0));
    OK(bc_options_set_frag_threshold(opts, 100));
    INVALID(bc_options_set_frag_threshold(opts, 101));
    CHECK_MSG();
    OK(bc_options_set_dead_bytes_merge_trigger(opts, 0));
    OK(bc_options_set_dead_bytes_merge_trigger(opts, UINT64_MAX));
    OK(bc_options_set_dead_bytes_threshold(opts, 0));
    OK(bc_options_set_dead_bytes_threshold(opts, UINT64_MAX));
    OK(bc_options_set_small_file_threshold(opts, 0));
    OK(bc_options_set_small_file_threshold(opts, UINT64_MAX));
    OK(bc_options_set_auto_merge(opts, true));
    OK(bc_options_set_auto_merge(opts, false));
    OK(bc_options_set_merge_window(opts, 0, 0));
    OK(bc_options_set_merge_window(opts, 22, 6)); /* wraps midnight */
    OK(bc_options_set_merge_window(opts, 23, 23));
    INVALID(bc_options_set_merge_window(opts, 24, 0));
    CHECK_MSG();
    INVALID(bc_options_set_merge_window(opts, 0, 24));
    INVALID(bc_options_set_merge_window(opts, UINT32_MAX, 3));
    OK(bc_options_set_merge_check_interval_ms(opts, 1));
    INVALID(bc_options_set_merge_check_interval_ms(opts, 0));
    CHECK_MSG();
    OK(bc_options_set_merge_window(opts, 0, 0));

    /* Each sync mode works end to end; the refused setters above changed nothing (the
     * 4096-byte files prove max_file_size is still 4096). */
    const int32_t modes[] = {BC_SYNC_NONE, BC_SYNC_ALWAYS, BC_SYNC_INTERVAL};
    OK(bc_options_set_sync_interval_ms(opts, 5));
    for (int m = 0; m < 3; m++) {
        OK(bc_options_set_sync(opts, modes[m])); /* the same options reused for each open */
        char name[32];
        snprintf(name, sizeof name, "sync-%d", (int)modes[m]);
        TEST_DIR(dir, name);
        bc_db *db = OPEN(dir, opts);
        char key[32], val[200];
        memset(val, 'v', sizeof val - 1);
        val[sizeof val - 1] = '\0';
        for (int i = 0; i < 40; i++) {
            snprintf(key, sizeof key, "key-%d", i);
            PUT(db, key, val);
        }
        if (modes[m] == BC_SYNC_INTERVAL)
            sleep_ms(30); /* let the background thread run at least once */
        bc_stats st;
        OK(bc_get_stats(db, &st, sizeof st));
        CHECK(st.live_keys == 40);
        CHECK(st.data_files >= 2);
        OK(bc_sync(db));
        OK(bc_close(db));
        db = OPEN(dir, NULL);
        EXPECT_VAL(db, "key-39", val);
        OK(bc_close(db));
    }
    bc_options_free(opts);
}

static void test_read_only(void) {
    TEST_DIR(dir, "read-only");
    bc_db *db = OPEN(dir, NULL);
    PUT(db, "a", "1");
    OK(bc_close(db));

    char before[4096], after[4096];
    describe_dir(dir, before, sizeof before);
    bc_options *ro = bc_options_new();
    OK(bc_options_set_read_only(ro, true));
    db = OPEN(dir, ro);
    bc_options_free(ro); /* not retained by the handle */

    EXPECT_VAL(db, "a", "1");
    CHECK_RC(bc_put(db, S("a"), S("2")), BC_READ_ONLY);
    CHECK(strstr(bc_last_error(), dir) != NULL);
    CHECK_RC(bc_put_ttl(db, S("b"), S("2"), 1000), BC_READ_ONLY);
    CHECK_RC(bc_put_expiring(db, S("b"), S("2"), 0), BC_READ_ONLY);
    CHECK_RC(bc_delete(db, S("a")), BC_READ_ONLY);
    CHECK_RC(bc_delete(db, S("never-there")), BC_READ_ONLY);
    bc_batch *batch = bc_batch_new();
    OK(bc_batch_commit(db, batch)); /* an empty batch writes nothing, so it is fine */
    OK(bc_batch_put(batch, S("b"), S("2")));
    OK(bc_batch_delete(batch, S("a")));
    CHECK_RC(bc_batch_commit(db, batch), BC_READ_ONLY);
    CHECK(bc_batch_len(batch) == 2); /* left as it was */
    bc_batch_free(batch);
    EXPECT_VAL(db, "a", "1");
    EXPECT_MISSING(db, "b");

    CHECK_RC(bc_merge(db), BC_READ_ONLY);
    CHECK_MSG();
    bool needed = true;
    OK(bc_needs_merge(db, &needed));
    CHECK(!needed); /* documented: always false read-only */

    /* Reads, snapshots and sync all work. */
    OK(bc_sync(db));
    uint8_t buf[4];
    size_t len;
    OK(bc_get_into(db, S("a"), buf, sizeof buf, &len));
    CHECK(len == 1 && buf[0] == '1');
    bc_iter *it = NULL;
    OK(bc_iter_new(db, &it));
    const uint8_t *k, *v;
    size_t kl, vl;
    OK(bc_iter_next(it, &k, &kl, &v, &vl));
    CHECK(kl == 1 && k[0] == 'a' && vl == 1 && v[0] == '1');
    CHECK_RC(bc_iter_next(it, &k, &kl, &v, &vl), BC_DONE);
    bc_iter_free(it);
    bc_stats st;
    OK(bc_get_stats(db, &st, sizeof st));
    CHECK(st.live_keys == 1 && st.data_files == 1);
    OK(bc_close(db));

    describe_dir(dir, after, sizeof after);
    CHECK(strcmp(before, after) == 0); /* nothing on disk was modified */

    /* A read-only open of an empty directory has no files at all. */
    TEST_DIR(empty, "read-only-empty");
    CHECK(mkdir(empty, 0755) == 0);
    ro = bc_options_new();
    OK(bc_options_set_read_only(ro, true));
    db = OPEN(empty, ro);
    bc_options_free(ro);
    bc_file_stat *files = NULL;
    size_t nfiles = SENT_LEN;
    OK(bc_get_file_stats(db, &files, &nfiles));
    CHECK(files != NULL && nfiles == 0); /* documented never NULL */
    bc_free(files);
    EXPECT_MISSING(db, "a");
    OK(bc_close(db));
}

static void test_crud(void) {
    TEST_DIR(dir, "crud");
    bc_db *db = OPEN(dir, NULL);

    PUT(db, "alpha", "1");
    EXPECT_VAL(db, "alpha", "1");
    PUT(db, "alpha", "two");
    EXPECT_VAL(db, "alpha", "two");
    OK(bc_delete(db, S("alpha")));
    EXPECT_MISSING(db, "alpha");
    OK(bc_delete(db, S("alpha")));     /* already deleted */
    OK(bc_delete(db, S("never-was"))); /* deleting a missing key is not an error */
    PUT(db, "alpha", "back");
    EXPECT_VAL(db, "alpha", "back");

    /* Keys and values are bytes, not strings. */
    const uint8_t bkey[] = {0, 'a', 0, 0xFF};
    uint8_t bval[256];
    for (int i = 0; i < 256; i++)
        bval[i] = (uint8_t)i;
    OK(bc_put(db, bkey, sizeof bkey, bval, sizeof bval));
    EXPECT_BYTES(db, bkey, sizeof bkey, bval, sizeof bval);
    expect_missing_at(db, "\0a", 2, __FILE__, __LINE__); /* a prefix is another key */

    /* An empty value is a value, distinct from a missing key. */
    OK(bc_put(db, S("empty"), (const uint8_t *)"ignored", 0));
    EXPECT_BYTES(db, "empty", 5, "", 0);
    size_t len = SENT_LEN;
    OK(bc_get_into(db, S("empty"), NULL, 0, &len));
    CHECK(len == 0);

    /* Absolute expiry: 0 is never, a past time is already gone. */
    OK(bc_put_expiring(db, S("forever"), S("f"), 0));
    OK(bc_put_expiring(db, S("past"), S("p"), 1));
    OK(bc_put_expiring(db, S("future"), S("u"), now_ms() + 3600 * 1000));
    EXPECT_VAL(db, "forever", "f");
    EXPECT_MISSING(db, "past");
    EXPECT_VAL(db, "future", "u");
    OK(bc_close(db));
}

static void test_ttl(void) {
    TEST_DIR(dir, "ttl");
    bc_db *db = OPEN(dir, NULL);

    INVALID(bc_put_ttl(db, S("zero"), S("v"), 0));
    CHECK_MSG();
    EXPECT_MISSING(db, "zero");
    bc_batch *batch = bc_batch_new();
    INVALID(bc_batch_put_ttl(batch, S("zero"), S("v"), 0));
    CHECK(bc_batch_len(batch) == 0);

    const uint64_t ttl = 300;
    uint64_t t0 = now_ms();
    OK(bc_put_ttl(db, S("short"), S("s"), ttl));
    OK(bc_put_ttl(db, S("long"), S("l"), 3600 * 1000));
    OK(bc_put_ttl(db, S("renewed"), S("r1"), ttl));
    PUT(db, "renewed", "r2"); /* a plain put drops the old expiry */
    OK(bc_batch_put_ttl(batch, S("bshort"), S("b"), ttl));
    OK(bc_batch_commit(db, batch));
    PUT(db, "plain", "p");
    uint8_t *val = NULL;
    size_t len = 0;
    int32_t rc = bc_get(db, S("short"), &val, &len);
    if (rc == BC_OK)
        bc_free(val);
    else /* only a slow machine (valgrind) may already be past the TTL */
        CHECK(rc == BC_NOT_FOUND && now_ms() - t0 >= ttl);
    sleep_ms((long)ttl + 150);

    EXPECT_MISSING(db, "short");
    EXPECT_MISSING(db, "bshort");
    len = SENT_LEN;
    CHECK_RC(bc_get_into(db, S("short"), NULL, 0, &len), BC_NOT_FOUND);
    CHECK(len == SENT_LEN);
    bc_value *reader = SENT_PTR;
    CHECK_RC(bc_value_open(db, S("short"), &reader, NULL), BC_NOT_FOUND);
    CHECK(reader == SENT_PTR);
    EXPECT_VAL(db, "long", "l");
    EXPECT_VAL(db, "renewed", "r2");

    /* Iteration skips expired keys, with or without values. */
    for (int with_values = 0; with_values < 2; with_values++) {
        bc_iter *it = NULL;
        OK(bc_iter_new(db, &it));
        const uint8_t *k, *v;
        size_t kl, vl;
        int n = 0;
        while ((rc = bc_iter_next(it, &k, &kl, with_values ? &v : NULL,
                                  with_values ? &vl : NULL)) == BC_OK) {
            CHECK(!(kl == 5 && memcmp(k, "short", 5) == 0));
            CHECK(!(kl == 6 && memcmp(k, "bshort", 6) == 0));
            n++;
        }
        CHECK_RC(rc, BC_DONE);
        CHECK(n == 3); /* long, renewed, plain */
        bc_iter_free(it);
    }

    /* Expiry survives a reopen, in both directions. */
    OK(bc_close(db));
    db = OPEN(dir, NULL);
    EXPECT_MISSING(db, "short");
    EXPECT_MISSING(db, "bshort");
    EXPECT_VAL(db, "long", "l");
    EXPECT_VAL(db, "renewed", "r2");
    bc_batch_free(batch);
    OK(bc_close(db));
}

static void test_reopen(void) {
    TEST_DIR(dir, "reopen");
    bc_db *db = OPEN(dir, NULL);
    char key[32], val[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "key-%03d", i);
        snprintf(val, sizeof val, "value-%03d", i);
        PUT(db, key, val);
    }
    for (int i = 0; i < 100; i += 10) {
        snprintf(key, sizeof key, "key-%03d", i);
        OK(bc_delete(db, S(key)));
    }
    for (int i = 0; i < 100; i += 7) {
        snprintf(key, sizeof key, "key-%03d", i);
        snprintf(val, sizeof val, "new-%03d", i);
        PUT(db, key, val);
    }
    bc_batch *batch = bc_batch_new();
    OK(bc_batch_put(batch, S("batch-a"), S("A")));
    OK(bc_batch_delete(batch, S("key-001")));
    OK(bc_batch_commit(db, batch));
    bc_batch_free(batch);
    OK(bc_close(db));

    bc_options *ro = bc_options_new();
    OK(bc_options_set_read_only(ro, true));
    for (int pass = 0; pass < 2; pass++) { /* read-write, then read-only */
        db = OPEN(dir, pass == 0 ? NULL : ro);
        int live = 0;
        for (int i = 0; i < 100; i++) {
            snprintf(key, sizeof key, "key-%03d", i);
            if (i == 1 || (i % 10 == 0 && i % 7 != 0)) {
                EXPECT_MISSING(db, key);
                continue;
            }
            snprintf(val, sizeof val, i % 7 == 0 ? "new-%03d" : "value-%03d", i);
            EXPECT_VAL(db, key, val);
            live++;
        }
        EXPECT_VAL(db, "batch-a", "A");
        bc_stats st;
        OK(bc_get_stats(db, &st, sizeof st));
        CHECK(st.live_keys == (uint64_t)live + 1);
        CHECK(st.damaged_ranges == 0 && st.truncated_bytes == 0);
        CHECK(st.dropped_batch_records == 0);
        OK(bc_close(db));
    }
    bc_options_free(ro);
}

static void test_rotation(void) {
    TEST_DIR(dir, "rotation");
    bc_options *opts = bc_options_new();
    OK(bc_options_set_max_file_size(opts, 4096));
    bc_db *db = OPEN(dir, opts);

    char key[32], val[101];
    memset(val, 'x', 100);
    val[100] = '\0';
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "key-%03d", i);
        val[0] = (char)('a' + i % 26);
        PUT(db, key, val);
    }
    /* A value larger than a whole file still fits: it gets a file of its own. */
    size_t big_len = 10000;
    uint8_t *big = malloc(big_len);
    CHECK(big != NULL);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)(i * 7);
    OK(bc_put(db, S("big"), big, big_len));
    PUT(db, "after-big", "still fine");
    EXPECT_BYTES(db, "big", 3, big, big_len);

    bc_stats st;
    OK(bc_get_stats(db, &st, sizeof st));
    CHECK(st.data_files >= 6); /* at least 20 KB of records in 4 KB files */
    CHECK(st.live_keys == 202);
    bc_file_stat *files = NULL;
    size_t n = 0;
    OK(bc_get_file_stats(db, &files, &n));
    CHECK(n == st.data_files);
    uint64_t total = 0, dead = 0;
    bool has_big_file = false;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            CHECK(files[i].file_id > files[i - 1].file_id); /* oldest first */
        total += files[i].total_bytes;
        dead += files[i].dead_bytes;
        CHECK(files[i].total_bytes <= 4096 || files[i].total_bytes >= big_len);
        has_big_file |= files[i].total_bytes >= big_len;
    }
    CHECK(has_big_file);
    CHECK(total == st.total_bytes && dead == st.dead_bytes);
    bc_free(files);
    OK(bc_close(db));
    CHECK(count_data_files(dir) == (int)st.data_files);

    db = OPEN(dir, opts);
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "key-%03d", i);
        val[0] = (char)('a' + i % 26);
        EXPECT_VAL(db, key, val);
    }
    EXPECT_BYTES(db, "big", 3, big, big_len);
    EXPECT_VAL(db, "after-big", "still fine");
    OK(bc_close(db));
    free(big);
    bc_options_free(opts);
}

struct kv {
    const char *key, *val;
};

/* Drains an iterator and checks it yields exactly `want` (in any order). */
static void expect_iteration_at(bc_iter *it, bool with_values, const struct kv *want,
                                size_t nwant, const char *file, int line) {
    bool seen[64] = {false};
    const uint8_t *k, *v;
    size_t kl, vl;
    int32_t rc;
    size_t n = 0;
    while ((rc = bc_iter_next(it, &k, &kl, with_values ? &v : NULL, with_values ? &vl : NULL)) ==
           BC_OK) {
        n++;
        size_t i = 0;
        while (i < nwant && !(strlen(want[i].key) == kl && memcmp(want[i].key, k, kl) == 0))
            i++;
        check_at(i < nwant, file, line, "iterator yields only expected keys");
        check_at(!seen[i], file, line, "iterator yields each key once");
        seen[i] = true;
        if (with_values)
            check_at(vl == strlen(want[i].val) && memcmp(v, want[i].val, vl) == 0, file, line,
                     "iterator yields the snapshot's value");
    }
    check_rc_at(rc, BC_DONE, file, line, "bc_iter_next at the end");
    check_at(n == nwant, file, line, "iterator yields every expected key");
}
#define EXPECT_ITERATION(it, with_values, want)                                              \
    expect_iteration_at((it), (with_values), (want), sizeof(want) / sizeof((want)[0]),       \
                        __FILE__, __LINE__)

static void test_iterator(void) {
    TEST_DIR(dir, "iterator");
    bc_db *db = OPEN(dir, NULL);
    bc_iter *it = NULL;
    OK(bc_iter_new(db, &it)); /* empty store */
    const uint8_t *k;
    size_t kl;
    CHECK_RC(bc_iter_next(it, &k, &kl, NULL, NULL), BC_DONE);
    bc_iter_free(it);

    PUT(db, "a", "1");
    PUT(db, "b", "2");
    PUT(db, "c", "3");
    OK(bc_iter_new(db, &it));
    bc_iter *keys_only = NULL;
    OK(bc_iter_new(db, &keys_only));
    PUT(db, "d", "4");                 /* later writes are not seen... */
    PUT(db, "a", "changed");           /* ...and overwritten values read as they were */
    OK(bc_delete(db, S("b")));         /* ...and deleted keys are still there */
    const struct kv snapshot[] = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
    EXPECT_ITERATION(it, true, snapshot);
    CHECK_RC(bc_iter_next(it, &k, &kl, NULL, NULL), BC_DONE); /* stays done */
    bc_iter_free(it);

    /* value_out NULL: keys only, and value_len_out is ignored. */
    size_t vl = SENT_LEN;
    OK(bc_iter_next(keys_only, &k, &kl, NULL, &vl));
    CHECK(vl == SENT_LEN);
    int rest = 0;
    while (bc_iter_next(keys_only, &k, &kl, NULL, NULL) == BC_OK)
        rest++;
    CHECK(rest == 2);
    bc_iter_free(keys_only);

    const struct kv now[] = {{"a", "changed"}, {"c", "3"}, {"d", "4"}};
    OK(bc_iter_new(db, &it));
    EXPECT_ITERATION(it, true, now);
    bc_iter_free(it);

    /* An iterator may outlive its store handle. */
    OK(bc_iter_new(db, &it));
    OK(bc_close(db));
    EXPECT_ITERATION(it, true, now);
    bc_iter_free(it);

    /* Many keys: each exactly once. */
    TEST_DIR(many, "iterator-many");
    db = OPEN(many, NULL);
    enum { N = 1000 };
    char key[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "%d", i);
        PUT(db, key, key);
    }
    static bool seen[N];
    memset(seen, 0, sizeof seen);
    OK(bc_iter_new(db, &it));
    const uint8_t *v;
    int n = 0;
    int32_t rc;
    while ((rc = bc_iter_next(it, &k, &kl, &v, &vl)) == BC_OK) {
        CHECK(kl < sizeof key && vl == kl && memcmp(k, v, kl) == 0);
        memcpy(key, k, kl);
        key[kl] = '\0';
        int i = atoi(key);
        CHECK(i >= 0 && i < N && !seen[i]);
        seen[i] = true;
        n++;
    }
    CHECK_RC(rc, BC_DONE);
    CHECK(n == N);
    bc_iter_free(it);
    OK(bc_close(db));
}

struct atomic_ctx {
    bc_db *db;
    atomic_bool stop;
    int snapshots, partial;
};

enum { ATOM_KEYS = 8, ATOM_ROUNDS = 150 };

/* bc_iter_next_expiring: each key's expiry as of the snapshot, even after the key is
 * rewritten with another; NULL out-parameters for the value and the expiry are allowed. */
static void test_iterator_expiry(void) {
    TEST_DIR(dir, "iter-expiry");
    bc_db *db = OPEN(dir, NULL);
    const uint64_t at = 4102444800000ULL; /* 2100-01-01 */
    PUT(db, "plain", "p");
    OK(bc_put_expiring(db, S("exp"), S("e"), at));
    bc_iter *it = NULL;
    OK(bc_iter_new(db, &it));
    OK(bc_put_expiring(db, S("exp"), S("later"), at + 1000));
    PUT(db, "new", "n");

    const uint8_t *k = SENT_PTR, *v = SENT_PTR;
    size_t kl = SENT_LEN, vl = SENT_LEN;
    uint64_t exp = 77;
    INVALID(bc_iter_next_expiring(it, NULL, &kl, &v, &vl, &exp));
    INVALID(bc_iter_next_expiring(it, &k, &kl, &v, NULL, &exp));
    CHECK(exp == 77 && k == SENT_PTR);
    int n = 0, seen = 0;
    int32_t rc;
    while ((rc = bc_iter_next_expiring(it, &k, &kl, &v, &vl, &exp)) == BC_OK) {
        n++;
        if (kl == 3 && memcmp(k, "exp", 3) == 0) {
            CHECK(exp == at && vl == 1 && v[0] == 'e');
            seen++;
        } else {
            CHECK(kl == 5 && memcmp(k, "plain", 5) == 0 && exp == 0);
        }
    }
    CHECK_RC(rc, BC_DONE);
    CHECK(n == 2 && seen == 1);
    bc_iter_free(it);

    /* keys only, no expiry asked: like bc_iter_next */
    OK(bc_iter_new(db, &it));
    n = 0;
    while ((rc = bc_iter_next_expiring(it, &k, &kl, NULL, NULL, NULL)) == BC_OK)
        n++;
    CHECK_RC(rc, BC_DONE);
    CHECK(n == 3);
    bc_iter_free(it);
    OK(bc_close(db));
}

static void *batch_writer(void *arg) {
    struct atomic_ctx *c = arg;
    bc_batch *b = bc_batch_new();
    char key[16], val[16];
    for (int r = 1; r <= ATOM_ROUNDS; r++) {
        snprintf(val, sizeof val, "r%05d", r);
        for (int i = 0; i < ATOM_KEYS; i++) {
            snprintf(key, sizeof key, "atom-%d", i);
            OK(bc_batch_put(b, S(key), S(val)));
        }
        OK(bc_batch_commit(c->db, b));
    }
    bc_batch_free(b);
    atomic_store(&c->stop, true);
    return NULL;
}

/* Every snapshot must see every key of a batch at the same round, or none of them. */
static void *snapshot_reader(void *arg) {
    struct atomic_ctx *c = arg;
    bool last = false;
    while (!last) {
        last = atomic_load(&c->stop); /* one more snapshot after the writer finished */
        bc_iter *it = NULL;
        OK(bc_iter_new(c->db, &it));
        const uint8_t *k, *v;
        size_t kl, vl;
        char first[16] = "";
        int n = 0;
        int32_t rc;
        while ((rc = bc_iter_next(it, &k, &kl, &v, &vl)) == BC_OK) {
            CHECK(vl < sizeof first);
            if (n == 0)
                memcpy(first, v, vl);
            else if (strlen(first) != vl || memcmp(first, v, vl) != 0)
                c->partial++;
            n++;
        }
        CHECK_RC(rc, BC_DONE);
        CHECK(n == 0 || n == ATOM_KEYS);
        bc_iter_free(it);
        c->snapshots++;
    }
    return NULL;
}

static void test_batch(void) {
    TEST_DIR(dir, "batch");
    bc_db *db = OPEN(dir, NULL);
    PUT(db, "w", "doomed");

    bc_batch *b = bc_batch_new();
    CHECK(b != NULL);
    CHECK(bc_batch_len(b) == 0);
    OK(bc_batch_commit(db, b)); /* empty: trivially */

    OK(bc_batch_put(b, S("x"), S("1")));
    OK(bc_batch_put(b, S("y"), S("2")));
    OK(bc_batch_put_ttl(b, S("z"), S("3"), 3600 * 1000));
    OK(bc_batch_delete(b, S("w")));
    CHECK(bc_batch_len(b) == 4);
    EXPECT_MISSING(db, "x"); /* nothing applied before commit */
    EXPECT_VAL(db, "w", "doomed");
    bc_batch_clear(b);
    CHECK(bc_batch_len(b) == 0);
    OK(bc_batch_commit(db, b));
    EXPECT_MISSING(db, "x");

    /* Invalid operations are refused when added, leaving the batch as it was. */
    OK(bc_batch_put(b, S("x"), S("1")));
    INVALID(bc_batch_put(b, NULL, 0, S("v")));
    CHECK_MSG();
    INVALID(bc_batch_put(b, NULL, 4, S("v")));
    INVALID(bc_batch_put(b, S("k"), NULL, 4));
    INVALID(bc_batch_put_ttl(b, NULL, 0, S("v"), 10));
    INVALID(bc_batch_delete(b, NULL, 0));
    INVALID(bc_batch_delete(b, (const uint8_t *)"k", 0));
    CHECK(bc_batch_len(b) == 1);
    OK(bc_batch_put(b, S("y"), S("2")));
    OK(bc_batch_put_ttl(b, S("z"), S("3"), 3600 * 1000));
    OK(bc_batch_delete(b, S("w")));
    OK(bc_batch_put(b, S("empty"), NULL, 0));
    OK(bc_batch_put(b, S("o"), S("first"))); /* applied in order: the last write wins */
    OK(bc_batch_put(b, S("o"), S("second")));
    OK(bc_batch_put(b, S("p"), S("gone")));
    OK(bc_batch_delete(b, S("p")));
    CHECK(bc_batch_len(b) == 9);
    OK(bc_batch_commit(db, b));
    CHECK(bc_batch_len(b) == 0); /* emptied for reuse */
    EXPECT_VAL(db, "x", "1");
    EXPECT_VAL(db, "y", "2");
    EXPECT_VAL(db, "z", "3");
    EXPECT_BYTES(db, "empty", 5, "", 0);
    EXPECT_MISSING(db, "w");
    EXPECT_VAL(db, "o", "second");
    EXPECT_MISSING(db, "p");

    OK(bc_batch_put(b, S("x"), S("again")));
    OK(bc_batch_commit(db, b));
    EXPECT_VAL(db, "x", "again");

    /* Uncommitted operations are simply discarded by bc_batch_free. */
    OK(bc_batch_put(b, S("never"), S("committed")));
    bc_batch_free(b);
    EXPECT_MISSING(db, "never");
    OK(bc_close(db));

    db = OPEN(dir, NULL);
    EXPECT_VAL(db, "o", "second");
    EXPECT_MISSING(db, "w");
    OK(bc_close(db));

    /* Atomic visibility under a concurrent reader taking snapshots. */
    TEST_DIR(adir, "batch-atomic");
    struct atomic_ctx c = {.db = OPEN(adir, NULL), .snapshots = 0, .partial = 0};
    atomic_init(&c.stop, false);
    pthread_t w, r;
    CHECK(pthread_create(&r, NULL, snapshot_reader, &c) == 0);
    CHECK(pthread_create(&w, NULL, batch_writer, &c) == 0);
    CHECK(pthread_join(w, NULL) == 0);
    CHECK(pthread_join(r, NULL) == 0);
    CHECK(c.snapshots > 0);
    CHECK(c.partial == 0);
    char last[16];
    snprintf(last, sizeof last, "r%05d", ATOM_ROUNDS);
    EXPECT_VAL(c.db, "atom-0", last);
    EXPECT_VAL(c.db, "atom-7", last);
    OK(bc_close(c.db));
}

static void test_get_into(void) {
    TEST_DIR(dir, "get-into");
    bc_db *db = OPEN(dir, NULL);
    PUT(db, "k", "hello world");

    /* Ask the size first with no buffer at all. */
    size_t len = SENT_LEN;
    CHECK_RC(bc_get_into(db, S("k"), NULL, 0, &len), BC_BUFFER_TOO_SMALL);
    CHECK(len == 11);
    CHECK(strstr(bc_last_error(), "11") != NULL);

    uint8_t buf[64];
    memset(buf, 0xAA, sizeof buf);
    len = SENT_LEN;
    CHECK_RC(bc_get_into(db, S("k"), buf, 10, &len), BC_BUFFER_TOO_SMALL);
    CHECK(len == 11);
    CHECK(all_bytes(buf, sizeof buf, 0xAA)); /* never a truncated value */

    OK(bc_get_into(db, S("k"), buf, 11, &len));
    CHECK(len == 11 && memcmp(buf, "hello world", 11) == 0);
    memset(buf, 0xAA, sizeof buf);
    OK(bc_get_into(db, S("k"), buf, sizeof buf, &len));
    CHECK(len == 11 && memcmp(buf, "hello world", 11) == 0);
    CHECK(buf[11] == 0xAA && buf[63] == 0xAA); /* nothing written past the value */

    PUT(db, "empty", "");
    len = SENT_LEN;
    OK(bc_get_into(db, S("empty"), NULL, 0, &len));
    CHECK(len == 0);
    OK(bc_close(db));
}

static void test_value_reader(void) {
    TEST_DIR(dir, "value-reader");
    bc_db *db = OPEN(dir, NULL);
    size_t big_len = 100000;
    uint8_t *big = malloc(big_len), *got = malloc(big_len);
    CHECK(big != NULL && got != NULL);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)(i % 253);
    OK(bc_put(db, S("big"), big, big_len));

    bc_value *r = NULL;
    uint64_t len = 0;
    OK(bc_value_open(db, S("big"), &r, &len));
    CHECK(r != NULL && len == big_len);

    /* The key is overwritten and then deleted: the reader keeps its version. */
    PUT(db, "big", "small now");
    OK(bc_delete(db, S("big")));

    for (int pass = 0; pass < 2; pass++) {
        size_t chunk = pass == 0 ? 4096 : 999; /* aligned and odd-sized pieces */
        memset(got, 0, big_len);
        uint64_t off = 0;
        size_t n;
        do {
            n = SENT_LEN;
            OK(bc_value_read(r, off, got + off, chunk, &n));
            CHECK(n <= chunk);
            off += n;
        } while (n > 0);
        CHECK(off == big_len);
        CHECK(memcmp(got, big, big_len) == 0);
    }
    size_t n = SENT_LEN;
    uint8_t small[16];
    OK(bc_value_read(r, big_len, small, sizeof small, &n));
    CHECK(n == 0);
    OK(bc_value_read(r, big_len + 100, small, sizeof small, &n));
    CHECK(n == 0);
    OK(bc_value_read(r, UINT64_MAX, small, sizeof small, &n));
    CHECK(n == 0);
    OK(bc_value_read(r, big_len - 5, small, sizeof small, &n)); /* short read at the end */
    CHECK(n == 5 && memcmp(small, big + big_len - 5, 5) == 0);

    /* A new reader sees the new value; an empty value reads as zero bytes. */
    bc_value *gone = SENT_PTR;
    CHECK_RC(bc_value_open(db, S("big"), &gone, NULL), BC_NOT_FOUND);
    CHECK(gone == SENT_PTR);
    PUT(db, "big", "fresh");
    bc_value *r2 = NULL;
    OK(bc_value_open(db, S("big"), &r2, &len));
    CHECK(len == 5);
    OK(bc_value_read(r2, 0, small, sizeof small, &n));
    CHECK(n == 5 && memcmp(small, "fresh", 5) == 0);
    bc_value_close(r2);
    PUT(db, "empty", "");
    OK(bc_value_open(db, S("empty"), &r2, &len));
    CHECK(len == 0);
    OK(bc_value_read(r2, 0, small, sizeof small, &n));
    CHECK(n == 0);
    bc_value_close(r2);

    /* A reader may outlive its store handle. */
    OK(bc_close(db));
    OK(bc_value_read(r, 1000, small, sizeof small, &n));
    CHECK(n == sizeof small && memcmp(small, big + 1000, sizeof small) == 0);
    bc_value_close(r);
    free(big);
    free(got);
}

static void test_stats(void) {
    TEST_DIR(dir, "stats");
    bc_db *db = OPEN(dir, NULL);
    bc_stats st;
    OK(bc_get_stats(db, &st, sizeof st));
    CHECK(st.live_keys == 0 && st.dead_bytes == 0);
    CHECK(st.damaged_ranges == 0 && st.damaged_bytes == 0);
    CHECK(st.dropped_batch_records == 0 && st.truncated_bytes == 0);

    PUT(db, "a", "1");
    PUT(db, "b", "2");
    PUT(db, "c", "3");
    OK(bc_get_stats(db, &st, sizeof st));
    CHECK(st.live_keys == 3 && st.total_bytes > 0 && st.keydir_bytes > 0);
    uint64_t dead_before = st.dead_bytes;
    PUT(db, "a", "overwritten");
    OK(bc_delete(db, S("c")));
    OK(bc_get_stats(db, &st, sizeof st));
    CHECK(st.live_keys == 2);
    CHECK(st.dead_bytes > dead_before);
    CHECK(st.dead_bytes < st.total_bytes);

    /* An older, smaller struct: only that many bytes are written. */
    union {
        bc_stats s;
        unsigned char raw[sizeof(bc_stats)];
    } u;
    memset(&u, 0xEE, sizeof u);
    OK(bc_get_stats(db, &u.s, offsetof(bc_stats, data_files)));
    CHECK(u.s.live_keys == 2);
    size_t first = offsetof(bc_stats, data_files);
    CHECK(all_bytes(u.raw + first, sizeof u.raw - first, 0xEE));
    memset(&u, 0xEE, sizeof u);
    OK(bc_get_stats(db, &u.s, 12)); /* even mid-field */
    CHECK(u.s.live_keys == 2);
    CHECK(memcmp(u.raw + 8, &st.data_files, 4) == 0);
    CHECK(all_bytes(u.raw + 12, sizeof u.raw - 12, 0xEE));
    memset(&u, 0xEE, sizeof u);
    OK(bc_get_stats(db, &u.s, 0));
    CHECK(all_bytes(u.raw, sizeof u.raw, 0xEE));

    /* A newer, bigger struct: the fields the library lacks are left alone. */
    struct {
        bc_stats s;
        unsigned char future[32];
    } bigger;
    memset(&bigger, 0xEE, sizeof bigger);
    OK(bc_get_stats(db, &bigger.s, sizeof bigger));
    CHECK(memcmp(&bigger.s, &st, sizeof st) == 0);
    CHECK(all_bytes(bigger.future, sizeof bigger.future, 0xEE));

    bc_file_stat *files = NULL;
    size_t n = 0;
    OK(bc_get_file_stats(db, &files, &n));
    CHECK(files != NULL && n == st.data_files && n >= 1);
    uint64_t total = 0, dead = 0;
    for (size_t i = 0; i < n; i++) {
        total += files[i].total_bytes;
        dead += files[i].dead_bytes;
        CHECK(files[i].dead_bytes <= files[i].total_bytes);
    }
    CHECK(total == st.total_bytes && dead == st.dead_bytes);
    bc_free(files);

    char *json = NULL;
    OK(bc_stats_json(db, &json));
    CHECK(json != NULL);
    size_t jl = strlen(json);
    CHECK(jl > 2 && json[0] == '{' && json[jl - 1] == '}');
    CHECK(strstr(json, "\"live_keys\":2") != NULL);
    CHECK(strstr(json, "\"dead_bytes\"") != NULL);
    CHECK(strstr(json, "\"files\":[") != NULL);
    CHECK(strstr(json, "\"fragmentation\"") != NULL);
    bc_free(json);
    OK(bc_close(db));
}

static void test_corruption(void) {
    TEST_DIR(dir, "corruption");
    bc_db *db = OPEN(dir, NULL);
    char victim[1001];
    memset(victim, 'Q', 1000);
    victim[1000] = '\0';
    PUT(db, "before", "fine");
    PUT(db, "victim", victim);
    PUT(db, "after", "also fine");
    OK(bc_sync(db));
    CHECK(corrupt_run(dir, 'Q', 1000) == 1);

    uint8_t *val = SENT_PTR;
    size_t len = SENT_LEN;
    CHECK_RC(bc_get(db, S("victim"), &val, &len), BC_CORRUPTION);
    CHECK(val == SENT_PTR && len == SENT_LEN);
    CHECK_MSG();
    uint8_t *buf = malloc(2000);
    CHECK(buf != NULL);
    memset(buf, 0x5A, 2000);
    CHECK_RC(bc_get_into(db, S("victim"), buf, 2000, &len), BC_CORRUPTION);
    CHECK(len == SENT_LEN);
    CHECK(all_bytes(buf, 2000, 0x5A)); /* no byte copied before the check */
    free(buf);
    bc_value *r = SENT_PTR;
    CHECK_RC(bc_value_open(db, S("victim"), &r, NULL), BC_CORRUPTION);
    CHECK(r == SENT_PTR);
    EXPECT_VAL(db, "before", "fine");
    EXPECT_VAL(db, "after", "also fine");

    /* The iterator reports the damaged value and moves on past it. */
    bc_iter *it = NULL;
    OK(bc_iter_new(db, &it));
    const uint8_t *k, *v;
    size_t kl, vl;
    int good = 0, bad = 0;
    int32_t rc;
    while ((rc = bc_iter_next(it, &k, &kl, &v, &vl)) != BC_DONE) {
        if (rc == BC_CORRUPTION)
            bad++;
        else {
            OK(rc);
            CHECK(!(kl == 6 && memcmp(k, "victim", 6) == 0));
            good++;
        }
        CHECK(good + bad <= 3);
    }
    CHECK(good == 2 && bad == 1);
    bc_iter_free(it);
    OK(bc_close(db));

    /* Reopening skips the damaged record, keeps the ones after it, and says so. */
    db = OPEN(dir, NULL);
    EXPECT_MISSING(db, "victim");
    EXPECT_VAL(db, "before", "fine");
    EXPECT_VAL(db, "after", "also fine");
    bc_stats st;
    OK(bc_get_stats(db, &st, sizeof st));
    CHECK(st.damaged_ranges >= 1 && st.damaged_bytes > 0);
    PUT(db, "victim", "rewritten");
    EXPECT_VAL(db, "victim", "rewritten");
    OK(bc_close(db));
}

static void merge_value(char *out, size_t cap, int key, int version) {
    snprintf(out, cap, "value of mk-%02d, version %d, padded out to about a hundred bytes "
                       "so that files fill up",
             key, version);
}

static void check_merge_store_at(bc_db *db, int version, const char *file, int line) {
    char key[16], val[128];
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "mk-%02d", i);
        if (i % 5 == 0) { /* deleted: must never come back */
            expect_missing_at(db, key, strlen(key), file, line);
            continue;
        }
        merge_value(val, sizeof val, i, version);
        expect_bytes_at(db, key, strlen(key), val, strlen(val), file, line);
    }
    expect_missing_at(db, "short", 5, file, line);
    expect_missing_at(db, "past", 4, file, line);
}
#define CHECK_MERGE_STORE(db, version) check_merge_store_at((db), (version), __FILE__, __LINE__)

static void test_merge(void) {
    TEST_DIR(dir, "merge");
    bc_options *opts = bc_options_new();
    OK(bc_options_set_max_file_size(opts, 4096));
    bc_db *db = OPEN(dir, opts);
    OK(bc_merge(db)); /* an empty store merges trivially */
    bool needed = true;
    OK(bc_needs_merge(db, &needed));
    CHECK(!needed);

    /* Six versions of 50 keys, a tenth deleted, two expired: most bytes are dead. */
    char key[16], val[128];
    for (int r = 0; r < 6; r++)
        for (int i = 0; i < 50; i++) {
            snprintf(key, sizeof key, "mk-%02d", i);
            merge_value(val, sizeof val, i, r);
            PUT(db, key, val);
        }
    for (int i = 0; i < 50; i += 5) {
        snprintf(key, sizeof key, "mk-%02d", i);
        OK(bc_delete(db, S(key)));
    }
    OK(bc_put_ttl(db, S("short"), S("gone soon"), 20));
    OK(bc_put_expiring(db, S("past"), S("gone already"), 1));
    sleep_ms(60);
    bc_stats before;
    OK(bc_get_stats(db, &before, sizeof before));
    CHECK(before.data_files >= 5 && before.dead_bytes > before.total_bytes / 2);
    CHECK(before.merges_completed == 0);
    OK(bc_needs_merge(db, &needed));
    CHECK(needed); /* sealed files far past the default 60% trigger */

    /* A snapshot and a value reader taken before the merge outlive its files. */
    bc_iter *it = NULL;
    OK(bc_iter_new(db, &it));
    bc_value *reader = NULL;
    uint64_t rlen = 0;
    OK(bc_value_open(db, S("mk-01"), &reader, &rlen));

    OK(bc_merge(db));
    bc_stats after;
    OK(bc_get_stats(db, &after, sizeof after));
    CHECK(after.merges_completed == 1);
    CHECK(after.total_bytes < before.total_bytes);
    CHECK(after.dead_bytes < before.dead_bytes);
    CHECK(after.live_keys == 40); /* expired keys dropped */
    CHECK(after.data_files < before.data_files);
    OK(bc_needs_merge(db, &needed));
    CHECK(!needed);
    CHECK_MERGE_STORE(db, 5);
    CHECK(CHECK_STORE_FILES(dir) >= 1); /* merged files come with hint files */

    const uint8_t *k, *v;
    size_t kl, vl;
    int n = 0;
    int32_t rc;
    while ((rc = bc_iter_next(it, &k, &kl, &v, &vl)) == BC_OK) {
        CHECK(kl == 5 && memcmp(k, "mk-", 3) == 0);
        memcpy(key, k, kl);
        key[kl] = '\0';
        merge_value(val, sizeof val, atoi(key + 3), 5);
        CHECK(vl == strlen(val) && memcmp(v, val, vl) == 0);
        n++;
    }
    CHECK_RC(rc, BC_DONE);
    CHECK(n == 40);
    bc_iter_free(it);
    uint8_t buf[128];
    size_t got = 0;
    OK(bc_value_read(reader, 0, buf, sizeof buf, &got));
    merge_value(val, sizeof val, 1, 5);
    CHECK(rlen == strlen(val) && got == rlen && memcmp(buf, val, got) == 0);
    bc_value_close(reader);

    /* The store keeps working, and survives reopening without resurrecting anything. */
    PUT(db, "after-merge", "yes");
    OK(bc_close(db));
    db = OPEN(dir, opts);
    CHECK_MERGE_STORE(db, 5);
    EXPECT_VAL(db, "after-merge", "yes");
    OK(bc_get_stats(db, &after, sizeof after));
    CHECK(after.hint_fallbacks == 0 && after.damaged_ranges == 0);
    CHECK(after.merges_completed == 0); /* counted per handle */
    OK(bc_merge(db)); /* and merges again */
    CHECK_MERGE_STORE(db, 5);
    OK(bc_close(db));
    db = OPEN(dir, opts);
    CHECK_MERGE_STORE(db, 5);
    OK(bc_close(db));
    CHECK_STORE_FILES(dir);

    /* The background merge does the same on its own once the triggers fire. */
    TEST_DIR(adir, "auto-merge");
    OK(bc_options_set_auto_merge(opts, true));
    OK(bc_options_set_merge_check_interval_ms(opts, 10));
    OK(bc_options_set_merge_window(opts, 0, 0));
    db = OPEN(adir, opts);
    for (int r = 0; r < 6; r++)
        for (int i = 0; i < 50; i++) {
            snprintf(key, sizeof key, "mk-%02d", i);
            merge_value(val, sizeof val, i, r);
            PUT(db, key, val);
        }
    for (int i = 0; i < 50; i += 5) {
        snprintf(key, sizeof key, "mk-%02d", i);
        OK(bc_delete(db, S(key)));
    }
    bc_stats st = {0};
    for (int waited = 0; waited < 20000 && st.merges_completed == 0; waited += 20) {
        sleep_ms(20);
        OK(bc_get_stats(db, &st, sizeof st));
    }
    CHECK(st.merges_completed >= 1);
    CHECK_MERGE_STORE(db, 5);
    OK(bc_close(db));
    db = OPEN(adir, NULL);
    CHECK_MERGE_STORE(db, 5);
    OK(bc_close(db));
    bc_options_free(opts);
}

enum { CC_KEYS = 64, CC_READERS = 4, CC_ROUNDS = 60, CC_READS = 3000 };

struct cc_ctx {
    bc_db *db;
    bc_value *shared_reader; /* one reader used by every thread at once */
    const uint8_t *pattern;
    size_t pattern_len;
    unsigned seed;
};

static void *cc_writer(void *arg) {
    struct cc_ctx *c = arg;
    char key[16], val[16];
    for (int r = 1; r <= CC_ROUNDS; r++)
        for (int i = 0; i < CC_KEYS; i++) {
            snprintf(key, sizeof key, "ck-%02d", i);
            snprintf(val, sizeof val, "ck-%02d:%04d", i, r);
            PUT(c->db, key, val);
        }
    return NULL;
}

/* Explicit merges racing the automatic one and the writer: BC_BUSY (an automatic merge
 * is running) is the only acceptable failure, and is retried until three succeed. */
static void *cc_merger(void *arg) {
    struct cc_ctx *c = arg;
    int done = 0;
    for (int tries = 0; done < 3 && tries < 10000; tries++) {
        int32_t rc = bc_merge(c->db);
        if (rc == BC_BUSY) {
            CHECK(strstr(bc_last_error(), "merge") != NULL);
        } else {
            OK(rc);
            done++;
        }
        sleep_ms(2);
    }
    CHECK(done == 3);
    return NULL;
}

static void *cc_reader(void *arg) {
    struct cc_ctx *c = arg;
    unsigned x = c->seed;
    char key[16];
    for (int j = 0; j < CC_READS; j++) {
        x = x * 1103515245u + 12345u;
        int i = (int)((x >> 8) % CC_KEYS);
        snprintf(key, sizeof key, "ck-%02d", i);
        /* Whatever version is read, it must be a whole, correct value of this key. */
        uint8_t buf[32];
        uint8_t *val = NULL;
        size_t len = 0;
        if (j % 2 == 0) {
            OK(bc_get(c->db, S(key), &val, &len));
        } else {
            OK(bc_get_into(c->db, S(key), buf, sizeof buf, &len));
            val = buf;
        }
        CHECK(len == 10 && memcmp(val, key, 5) == 0 && val[5] == ':');
        if (val != buf)
            bc_free(val);
        if (j % 100 == 0) {
            CHECK_RC(bc_get(c->db, S("no-such-key"), &val, &len), BC_NOT_FOUND);
            CHECK(strcmp(bc_last_error(), "key not found") == 0);
            size_t n = 0, off = (x >> 4) % c->pattern_len;
            OK(bc_value_read(c->shared_reader, off, buf, sizeof buf, &n));
            CHECK(n > 0 && memcmp(buf, c->pattern + off, n) == 0);
        }
        if (j % 500 == 0) {
            bc_iter *it = NULL;
            OK(bc_iter_new(c->db, &it));
            const uint8_t *k;
            size_t kl;
            int n = 0;
            while (bc_iter_next(it, &k, &kl, NULL, NULL) == BC_OK)
                n++;
            CHECK(n == CC_KEYS + 1);
            bc_iter_free(it);
        }
    }
    return NULL;
}

static void test_concurrency(void) {
    TEST_DIR(dir, "concurrency");
    bc_options *opts = bc_options_new();
    OK(bc_options_set_max_file_size(opts, 4096)); /* rotations and merges all along */
    OK(bc_options_set_auto_merge(opts, true));
    OK(bc_options_set_merge_check_interval_ms(opts, 5));
    bc_db *db = OPEN(dir, opts);
    bc_options_free(opts);
    char key[16], val[16];
    for (int i = 0; i < CC_KEYS; i++) {
        snprintf(key, sizeof key, "ck-%02d", i);
        snprintf(val, sizeof val, "ck-%02d:%04d", i, 0);
        PUT(db, key, val);
    }
    size_t plen = 70000;
    uint8_t *pattern = malloc(plen);
    CHECK(pattern != NULL);
    for (size_t i = 0; i < plen; i++)
        pattern[i] = (uint8_t)(i * 31 + 7);
    OK(bc_put(db, S("pattern"), pattern, plen));
    bc_value *shared = NULL;
    OK(bc_value_open(db, S("pattern"), &shared, NULL));

    /* Thread 0 writes, thread 1 merges, the others read. */
    enum { NT = CC_READERS + 2 };
    struct cc_ctx ctx[NT];
    pthread_t threads[NT];
    for (int t = 0; t < NT; t++) {
        ctx[t] = (struct cc_ctx){db, shared, pattern, plen, (unsigned)t * 7919u + 1u};
        void *(*fn)(void *) = t == 0 ? cc_writer : t == 1 ? cc_merger : cc_reader;
        CHECK(pthread_create(&threads[t], NULL, fn, &ctx[t]) == 0);
    }
    for (int t = 0; t < NT; t++)
        CHECK(pthread_join(threads[t], NULL) == 0);

    for (int i = 0; i < CC_KEYS; i++) {
        snprintf(key, sizeof key, "ck-%02d", i);
        snprintf(val, sizeof val, "ck-%02d:%04d", i, CC_ROUNDS);
        EXPECT_VAL(db, key, val);
    }
    bc_value_close(shared);
    bc_stats st;
    OK(bc_get_stats(db, &st, sizeof st));
    CHECK(st.merges_completed >= 1); /* the merges really ran alongside */
    OK(bc_close(db));
    db = OPEN(dir, NULL);
    for (int i = 0; i < CC_KEYS; i++) {
        snprintf(key, sizeof key, "ck-%02d", i);
        snprintf(val, sizeof val, "ck-%02d:%04d", i, CC_ROUNDS);
        EXPECT_VAL(db, key, val);
    }
    EXPECT_BYTES(db, "pattern", 7, pattern, plen);
    free(pattern);
    OK(bc_close(db));
    CHECK_STORE_FILES(dir);
}

/* ------------------------------------------------------------------------------------ */

/* Conditional writes: versions from bc_get_versioned/bc_get_version, bc_batch_commit_if. */
struct incr_arg {
    bc_db *db;
    int rounds;
};

static void *incr_thread(void *p) {
    struct incr_arg *a = p;
    bc_batch *b = bc_batch_new();
    CHECK(b != NULL);
    for (int i = 0; i < a->rounds; i++) {
        for (;;) {
            uint8_t *v = NULL;
            size_t vl = 0;
            uint64_t ver = BC_VERSION_ABSENT;
            long n = 0;
            int32_t rc = bc_get_versioned(a->db, S("counter"), &v, &vl, NULL, &ver);
            CHECK(rc == BC_OK || rc == BC_NOT_FOUND);
            if (rc == BC_OK) {
                char tmp[32] = {0};
                memcpy(tmp, v, vl < 31 ? vl : 31);
                n = atol(tmp);
                bc_free(v);
            }
            char next[32];
            snprintf(next, sizeof next, "%ld", n + 1);
            OK(bc_batch_put(b, S("counter"), S(next)));
            bc_condition c = {(const uint8_t *)"counter", 7, ver};
            rc = bc_batch_commit_if(a->db, b, &c, 1);
            if (rc == BC_OK) {
                break;
            }
            CHECK_RC(rc, BC_CONDITION_FAILED);
            CHECK(bc_batch_len(b) == 1); /* left as it was */
            bc_batch_clear(b);
        }
    }
    bc_batch_free(b);
    return NULL;
}

static void test_conditional_writes(void) {
    TEST_DIR(dir, "cond");
    bc_db *db = OPEN(dir, NULL);
    CHECK(strcmp(bc_status_str(BC_CONDITION_FAILED), "BC_CONDITION_FAILED") == 0);

    uint64_t ver = 12345, exp = 7;
    OK(bc_get_version(db, S("k"), &ver));
    CHECK(ver == BC_VERSION_ABSENT);
    uint8_t *v = SENT_PTR;
    size_t vl = SENT_LEN;
    ver = 12345;
    CHECK_RC(bc_get_versioned(db, S("k"), &v, &vl, &exp, &ver), BC_NOT_FOUND);
    CHECK(v == SENT_PTR && vl == SENT_LEN && ver == 12345 && exp == 7); /* untouched */

    /* "absent" condition: SET NX. */
    bc_batch *b = bc_batch_new();
    bc_condition absent = {(const uint8_t *)"k", 1, BC_VERSION_ABSENT};
    OK(bc_batch_put(b, S("k"), S("one")));
    OK(bc_batch_commit_if(db, b, &absent, 1));
    CHECK(bc_batch_len(b) == 0);
    OK(bc_batch_put(b, S("k"), S("two")));
    CHECK_RC(bc_batch_commit_if(db, b, &absent, 1), BC_CONDITION_FAILED);
    CHECK_MSG();
    CHECK(bc_batch_len(b) == 1);
    EXPECT_VAL(db, "k", "one");
    bc_batch_clear(b);

    /* Version of a live key, with its value and expiry; NULL value_out skips the copy. */
    OK(bc_get_versioned(db, S("k"), &v, &vl, &exp, &ver));
    CHECK(vl == 3 && memcmp(v, "one", 3) == 0 && exp == 0 && ver != BC_VERSION_ABSENT);
    bc_free(v);
    uint64_t ver2 = 0;
    OK(bc_get_versioned(db, S("k"), NULL, NULL, NULL, &ver2));
    CHECK(ver2 == ver);
    OK(bc_get_version(db, S("k"), &ver2));
    CHECK(ver2 == ver);
    INVALID(bc_get_versioned(db, S("k"), &v, NULL, NULL, NULL));
    INVALID(bc_get_version(db, S("k"), NULL));

    /* Compare-and-swap with an absolute expiry; a stale version fails, nothing written. */
    uint64_t at = now_ms() + 3600 * 1000;
    bc_condition cas = {(const uint8_t *)"k", 1, ver};
    OK(bc_batch_put_expiring(b, S("k"), S("three"), at));
    OK(bc_batch_put(b, S("other"), S("x")));
    OK(bc_batch_commit_if(db, b, &cas, 1));
    OK(bc_get_versioned(db, S("k"), NULL, NULL, &exp, &ver2));
    CHECK(exp == at && ver2 != ver);
    OK(bc_batch_put(b, S("k"), S("four")));
    CHECK_RC(bc_batch_commit_if(db, b, &cas, 1), BC_CONDITION_FAILED);
    EXPECT_VAL(db, "k", "three");
    bc_batch_clear(b);

    /* An expired key is absent. */
    OK(bc_put_expiring(db, S("gone"), S("x"), now_ms() - 1));
    bc_condition gone = {(const uint8_t *)"gone", 4, BC_VERSION_ABSENT};
    OK(bc_batch_commit_if(db, b, &gone, 1)); /* empty batch: just the check */

    /* Bad arguments. */
    INVALID(bc_batch_commit_if(db, b, NULL, 1));
    bc_condition bad = {NULL, 0, 0};
    INVALID(bc_batch_commit_if(db, b, &bad, 1));
    INVALID(bc_batch_put_expiring(b, NULL, 0, S("v"), 0));
    INVALID(bc_batch_commit_if(NULL, b, NULL, 0));
    bc_batch_free(b);

    /* Concurrent increments: every one lands exactly once. */
    enum { THREADS = 4, ROUNDS = 250 };
    pthread_t t[THREADS];
    struct incr_arg arg = {db, ROUNDS};
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&t[i], NULL, incr_thread, &arg) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(t[i], NULL) == 0);
    }
    EXPECT_VAL(db, "counter", "1000");
    OK(bc_close(db));
}

#define RUN(test)                                                                            \
    do {                                                                                     \
        printf("%s\n", #test);                                                               \
        fflush(stdout);                                                                      \
        test();                                                                              \
    } while (0)

/* A checkpoint taken while another thread writes holds every write acknowledged before it,
 * opens as a store of its own, and refuses NULLs and existing destinations by name. */
struct ck_ctx {
    bc_db *db;
    atomic_int stop;
};

static void *ck_writer(void *arg) {
    struct ck_ctx *c = arg;
    char key[32];
    for (int i = 0; !atomic_load(&c->stop); i++) {
        snprintf(key, sizeof key, "live-%d", i % 500);
        if (bc_put(c->db, S(key), S("during")) != BC_OK)
            return (void *)1;
    }
    return NULL;
}

static void test_checkpoint(void) {
    TEST_DIR(dir, "checkpoint");
    bc_options *opts = bc_options_new();
    OK(bc_options_set_max_file_size(opts, 4096)); /* sealed files to link */
    bc_db *db = OPEN(dir, opts);
    bc_options_free(opts);
    char key[32], val[32];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "k%03d", i);
        snprintf(val, sizeof val, "v%03d", i);
        PUT(db, key, val);
    }
    OK(bc_delete(db, S("k007")));

    INVALID(bc_checkpoint(NULL, "x"));
    CHECK(strstr(bc_last_error(), "db") != NULL);
    INVALID(bc_checkpoint(db, NULL));
    CHECK(strstr(bc_last_error(), "dir") != NULL);
    INVALID(bc_checkpoint(db, ""));
    CHECK_MSG();
    INVALID(bc_checkpoint(db, dir)); /* exists */
    CHECK(strstr(bc_last_error(), dir) != NULL);
    char inside[2200];
    snprintf(inside, sizeof inside, "%s/backup", dir);
    INVALID(bc_checkpoint(db, inside));
    CHECK(strstr(bc_last_error(), "inside the store") != NULL);
    char orphan[2200];
    snprintf(orphan, sizeof orphan, "%s-missing/parent/ckpt", dir);
    CHECK_RC(bc_checkpoint(db, orphan), BC_IO);
    CHECK_MSG();

    struct ck_ctx ctx = {db, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, ck_writer, &ctx) == 0);
    char dest[2200];
    snprintf(dest, sizeof dest, "%s-ckpt", dir);
    OK(bc_checkpoint(db, dest));
    atomic_store(&ctx.stop, 1);
    void *writer_rc = NULL;
    CHECK(pthread_join(t, &writer_rc) == 0 && writer_rc == NULL);
    PUT(db, "after", "not in the checkpoint");

    CHECK_RC(bc_checkpoint(db, dest), BC_INVALID_ARGUMENT); /* now it exists */
    CHECK(strstr(bc_last_error(), "already exists") != NULL);

    bc_db *ck = OPEN(dest, NULL);
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "k%03d", i);
        snprintf(val, sizeof val, "v%03d", i);
        if (i == 7)
            EXPECT_MISSING(ck, key);
        else
            EXPECT_VAL(ck, key, val);
    }
    EXPECT_MISSING(ck, "after");
    PUT(ck, "only-here", "1"); /* the checkpoint is a store of its own */
    OK(bc_close(ck));
    EXPECT_MISSING(db, "only-here");
    OK(bc_close(db));

    /* A read-only handle checkpoints too. */
    bc_options *ro = bc_options_new();
    OK(bc_options_set_read_only(ro, true));
    db = OPEN(dir, ro);
    bc_options_free(ro);
    char dest2[2200];
    snprintf(dest2, sizeof dest2, "%s-ckpt-ro", dir);
    OK(bc_checkpoint(db, dest2));
    OK(bc_close(db));
    ck = OPEN(dest2, NULL);
    EXPECT_VAL(ck, "after", "not in the checkpoint");
    EXPECT_VAL(ck, "k299", "v299");
    OK(bc_close(ck));

    /* Captured now, written later: after more writes, a merge and the store's close. */
    db = OPEN(dir, NULL);
    bc_capture *cap = NULL;
    INVALID(bc_checkpoint_capture(NULL, &cap));
    INVALID(bc_checkpoint_capture(db, NULL));
    OK(bc_checkpoint_capture(db, &cap));
    CHECK(cap != NULL);
    PUT(db, "after-capture", "not in it");
    OK(bc_delete(db, S("k001")));
    OK(bc_merge(db));
    OK(bc_close(db));
    INVALID(bc_capture_write(NULL, "x"));
    INVALID(bc_capture_write(cap, NULL));
    INVALID(bc_capture_write(cap, ""));
    char dest3[2200];
    snprintf(dest3, sizeof dest3, "%s-ckpt-captured", dir);
    OK(bc_capture_write(cap, dest3));
    CHECK_RC(bc_capture_write(cap, dest3), BC_INVALID_ARGUMENT); /* now it exists */
    bc_capture_free(cap);
    bc_capture_free(NULL);
    ck = OPEN(dest3, NULL);
    EXPECT_VAL(ck, "k001", "v001");
    EXPECT_VAL(ck, "after", "not in the checkpoint");
    EXPECT_MISSING(ck, "after-capture");
    OK(bc_close(ck));
}

int main(int argc, char **argv) {
    const char *base = argc > 1 ? argv[1] : "/tmp";
    snprintf(root, sizeof root, "%s/bc_test_api_XXXXXX", base);
    if (mkdtemp(root) == NULL) {
        fprintf(stderr, "mkdtemp under %s: %s\n", base, strerror(errno));
        return 1;
    }

    RUN(test_version_and_status_strings);
    RUN(test_null_handles);
    RUN(test_null_arguments);
    RUN(test_key_and_value_limits);
    RUN(test_untouched_out_params);
    RUN(test_last_error_is_thread_local);
    RUN(test_open_errors);
    RUN(test_options);
    RUN(test_read_only);
    RUN(test_crud);
    RUN(test_ttl);
    RUN(test_reopen);
    RUN(test_rotation);
    RUN(test_iterator);
    RUN(test_iterator_expiry);
    RUN(test_batch);
    RUN(test_get_into);
    RUN(test_value_reader);
    RUN(test_stats);
    RUN(test_corruption);
    RUN(test_merge);
    RUN(test_concurrency);
    RUN(test_conditional_writes);
    RUN(test_checkpoint);

    rm_rf(root);
    printf("%d passed, 0 failed\n", atomic_load(&passed));
    return 0;
}
