/*
 * demo.c: a guided tour of the libbitcask C API.
 *
 * Build from the repository root, after `cargo build --release`:
 *
 *   cc -Wall -Wextra -Werror -std=c11 -Iinclude examples/c/demo.c \
 *      -Ltarget/release -lbitcask -Wl,-rpath,$PWD/target/release -o target/demo
 *   target/demo /tmp/demo-data
 *
 * (or `make -C examples/c run`). The program exits non-zero as soon as any call does
 * something other than what the tour expects, so it doubles as a smoke test.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bitcask.h"

/* Keys and values are (pointer, length) byte strings, not C strings: S("x") expands to
 * both arguments so the demo can use string literals without counting bytes. */
#define S(str) (const uint8_t *)(str), strlen(str)

/* Every fallible call returns a status; on failure bc_last_error() (same thread, right
 * away) explains it. A demo has nothing sensible to do about surprises but stop. */
#define EXPECT(call, want) expect((call), (want), #call, __LINE__)
#define CHECK(call) EXPECT(call, BC_OK)

static void expect(int32_t got, int32_t want, const char *what, int line) {
    if (got == want)
        return;
    fprintf(stderr, "demo.c:%d: %s\n  returned %s, expected %s\n  last error: %s\n", line,
            what, bc_status_str(got), bc_status_str(want), bc_last_error());
    exit(EXIT_FAILURE);
}

static void fail(const char *msg) {
    fprintf(stderr, "demo: %s\n", msg);
    exit(EXIT_FAILURE);
}

/* bc_stats is versioned by size: passing sizeof lets the library add fields later
 * without writing past the end of an older program's struct. */
static bc_stats print_stats(bc_db *db, const char *label) {
    bc_stats st;
    CHECK(bc_get_stats(db, &st, sizeof st));
    printf("%s: %llu live keys, %llu data files, %llu bytes (%llu dead), %llu merges\n", label,
           (unsigned long long)st.live_keys, (unsigned long long)st.data_files,
           (unsigned long long)st.total_bytes, (unsigned long long)st.dead_bytes,
           (unsigned long long)st.merges_completed);
    return st;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];

    /* A program can detect that it runs against a different library than it was built
     * for: the header's version is compiled in, bc_version() is the library's. */
    printf("libbitcask %s (header %s)\n", bc_version(), BC_VERSION_STRING);
    if (strcmp(bc_version(), BC_VERSION_STRING) != 0)
        fail("library and header versions differ");

    /* --- Open. Options are copied by bc_open, so they can be freed right after. */
    bc_options *opts = bc_options_new();
    if (opts == NULL)
        fail("out of memory");
    CHECK(bc_options_set_max_file_size(opts, 16 * 1024)); /* tiny files, to show merge */
    CHECK(bc_options_set_sync(opts, BC_SYNC_INTERVAL)); /* lose at most ~200 ms on a power cut */
    CHECK(bc_options_set_sync_interval_ms(opts, 200));
    bc_db *db = NULL;
    CHECK(bc_open(dir, opts, &db));
    bc_options_free(opts);
    printf("opened %s\n", dir);

    /* --- Put and get. bc_get hands back a malloc'd copy that we own and bc_free. */
    CHECK(bc_put(db, S("greeting"), S("hello, bitcask")));
    uint8_t *val = NULL;
    size_t len = 0;
    CHECK(bc_get(db, S("greeting"), &val, &len));
    printf("get greeting -> \"%.*s\"\n", (int)len, (const char *)val);
    bc_free(val);

    /* --- Delete. A missing key is BC_NOT_FOUND: a normal answer, not an error. */
    CHECK(bc_delete(db, S("greeting")));
    EXPECT(bc_get(db, S("greeting"), &val, &len), BC_NOT_FOUND);
    printf("after delete: greeting is %s\n", bc_status_str(BC_NOT_FOUND));

    /* --- TTL: the key reads as missing once its time is up, with no cleanup call. */
    CHECK(bc_put_ttl(db, S("session"), S("token-1234"), 100));
    CHECK(bc_get(db, S("session"), &val, &len));
    bc_free(val);
    sleep_ms(250);
    EXPECT(bc_get(db, S("session"), &val, &len), BC_NOT_FOUND);
    printf("session expired after its 100 ms TTL\n");

    /* --- Errors: status names what kind of failure, the message says why. */
    int32_t rc = bc_put(db, NULL, 0, S("orphan")); /* empty keys are not allowed */
    EXPECT(rc, BC_INVALID_ARGUMENT);
    printf("empty key: %s: %s\n", bc_status_str(rc), bc_last_error());

    bc_db *second = NULL; /* one writer per directory, across processes too */
    rc = bc_open(dir, NULL, &second);
    EXPECT(rc, BC_LOCKED);
    printf("second open: %s: %s\n", bc_status_str(rc), bc_last_error());

    /* --- Atomic batch: readers see all of it or none of it, and it costs one write. */
    bc_batch *batch = bc_batch_new();
    if (batch == NULL)
        fail("out of memory");
    CHECK(bc_batch_put(batch, S("user:1"), S("ada")));
    CHECK(bc_batch_put(batch, S("user:2"), S("grace")));
    CHECK(bc_batch_put_ttl(batch, S("user:3"), S("temp"), 60000));
    CHECK(bc_batch_delete(batch, S("user:0")));
    printf("committing a batch of %zu operations\n", bc_batch_len(batch));
    CHECK(bc_batch_commit(db, batch));
    if (bc_batch_len(batch) != 0) /* a committed batch is emptied for reuse */
        fail("batch not emptied by commit");
    bc_batch_free(batch);

    /* --- Iterate over a snapshot. Key and value pointers belong to the iterator and
     * are only valid until the next bc_iter_next: copy what you keep. */
    bc_iter *it = NULL;
    CHECK(bc_iter_new(db, &it));
    const uint8_t *k, *v;
    size_t klen, vlen;
    size_t n = 0;
    printf("iterating (order is unspecified):\n");
    while ((rc = bc_iter_next(it, &k, &klen, &v, &vlen)) == BC_OK) {
        printf("  %.*s = %.*s\n", (int)klen, (const char *)k, (int)(vlen > 40 ? 40 : vlen),
               (const char *)v);
        n++;
    }
    EXPECT(rc, BC_DONE); /* anything else (BC_CORRUPTION, BC_IO) would be a real error */
    bc_iter_free(it);
    printf("  %zu keys\n", n);

    /* --- bc_get_into: read into our own buffer, no allocation. Too small a buffer is
     * refused whole (never truncated) and tells us the size needed. */
    char small[4], big[64];
    CHECK(bc_put(db, S("user:1"), S("ada lovelace")));
    EXPECT(bc_get_into(db, S("user:1"), (uint8_t *)small, sizeof small, &len),
           BC_BUFFER_TOO_SMALL);
    printf("get_into with %zu bytes: needs %zu\n", sizeof small, len);
    CHECK(bc_get_into(db, S("user:1"), (uint8_t *)big, sizeof big, &len));
    printf("get_into user:1 -> \"%.*s\"\n", (int)len, big);

    /* --- Stream a large value in pieces instead of one allocation. The reader is pinned
     * to the version it opened, even if the key is overwritten meanwhile. */
    size_t blob_len = 300 * 1000;
    uint8_t *blob = malloc(blob_len);
    if (blob == NULL)
        fail("out of memory");
    for (size_t i = 0; i < blob_len; i++)
        blob[i] = (uint8_t)(i % 251);
    CHECK(bc_put(db, S("blob"), blob, blob_len));
    bc_value *reader = NULL;
    uint64_t total = 0;
    CHECK(bc_value_open(db, S("blob"), &reader, &total));
    CHECK(bc_put(db, S("blob"), S("replaced"))); /* does not disturb the reader */
    uint8_t chunk[64 * 1024];
    uint64_t off = 0;
    size_t got;
    do { /* a read past the end returns 0 bytes, not an error */
        CHECK(bc_value_read(reader, off, chunk, sizeof chunk, &got));
        if (memcmp(chunk, blob + off, got) != 0)
            fail("streamed bytes differ from what was written");
        off += got;
    } while (got > 0);
    bc_value_close(reader);
    free(blob);
    if (off != total || total != blob_len)
        fail("streamed length differs from what was written");
    printf("streamed %llu bytes of blob in %zu-byte chunks\n", (unsigned long long)off,
           sizeof chunk);

    /* --- Stats: store-wide, per data file, and all of it as JSON. */
    print_stats(db, "stats");
    bc_file_stat *files = NULL;
    size_t nfiles = 0;
    CHECK(bc_get_file_stats(db, &files, &nfiles));
    for (size_t i = 0; i < nfiles; i++)
        printf("  %06u.data: %llu bytes, %llu dead\n", files[i].file_id,
               (unsigned long long)files[i].total_bytes,
               (unsigned long long)files[i].dead_bytes);
    bc_free(files);
    char *json = NULL;
    CHECK(bc_stats_json(db, &json)); /* the same, for tools and other languages */
    printf("stats json: %s\n", json);
    bc_free(json);

    /* --- Merge. Every overwrite appends, so old versions pile up as dead bytes until a
     * merge rewrites the live records into fresh files (readers and writers carry on). */
    char counter[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(counter, sizeof counter, "counter value %04d, padded to make it larger", i);
        CHECK(bc_put(db, S("counter"), S(counter)));
    }
    bc_stats before = print_stats(db, "before merge");
    bool needed = false;
    CHECK(bc_needs_merge(db, &needed)); /* what the automatic merge would decide */
    printf("merge triggers say a merge is %s\n", needed ? "due" : "not due");
    CHECK(bc_merge(db));
    bc_stats after = print_stats(db, "after merge");
    if (after.total_bytes >= before.total_bytes || after.live_keys > before.live_keys)
        fail("merge did not reclaim space");
    CHECK(bc_get_into(db, S("counter"), (uint8_t *)big, sizeof big, &len));
    printf("counter after merge -> \"%.*s\"\n", (int)len, big);

    /* --- Durability on demand (whatever the sync mode), then close. bc_close syncs too
     * and frees the handle even when it reports an error. */
    CHECK(bc_sync(db));
    CHECK(bc_close(db));
    printf("closed\n");
    return EXIT_SUCCESS;
}
