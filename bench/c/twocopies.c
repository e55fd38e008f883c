/* What `bc_get` + a caller's copy can reach against `mdb_get` + a caller's copy, with no
 * library in the loop: 256 values of 1 MiB copied once into a fresh malloc'd buffer (LMDB
 * hands out a pointer into its map), against copied into a reused buffer first (the
 * library's buffer pool) and then into a fresh one (the caller's copy), with and without a
 * read pass over the value (the CRC check).
 *   gcc -O2 -o /tmp/twocopies bench/c/twocopies.c && /tmp/twocopies */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Copies each value into the reused `pool` buffer, then into a fresh one (the caller's copy),
 * after a read pass over it when `read_pass` (the CRC check); returns the seconds taken. */
static double two_copies(const char *src, char *pool, size_t v, size_t n, int read_pass,
                         long *s) {
    double t = now();
    for (size_t i = 0; i < n; i++) {
        if (read_pass) {
            long x = 0;
            for (size_t j = 0; j < v; j += 64) x += src[i * v + j];
            *s += x;
        }
        memcpy(pool, src + i * v, v);
        char *b = malloc(v);
        memcpy(b, pool, v);
        *s += b[i];
        free(b);
    }
    return now() - t;
}

int main(void) {
    size_t v = 1 << 20, n = 256;
    char *src = malloc(v * n), *pool = malloc(v);
    memset(src, 3, v * n);
    memset(pool, 0, v);
    long s = 0;
    for (int r = 0; r < 5; r++) {
        double t = now();
        for (size_t i = 0; i < n; i++) {
            char *a = malloc(v);
            memcpy(a, src + i * v, v);
            s += a[i];
            free(a);
        }
        double one = now() - t;
        double two = two_copies(src, pool, v, n, 0, &s);
        double three = two_copies(src, pool, v, n, 1, &s);
        printf("one copy %.0f MiB/s | two copies %.0f MiB/s (%.2fx) | read pass + two copies "
               "%.0f MiB/s (%.2fx)  (%ld)\n",
               n / one, n / two, one / two, n / three, one / three, s);
    }
    return 0;
}
