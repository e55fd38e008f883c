/* The cost of one dependent random memory read on this machine: a pointer chase through a
 * buffer of SIZE MiB, with 4 KiB pages or transparent huge pages, and the same reads made
 * independent (what prefetching and out-of-order execution can overlap). A get of a store
 * larger than the caches is two dependent reads (index, then record); this bounds it.
 *   gcc -O2 -o /tmp/memlat bench/c/memlat.c && /tmp/memlat 64 0 && /tmp/memlat 64 1 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: memlat SIZE_MIB HUGE(0|1)\n");
        return 2;
    }
    size_t n = (size_t)atol(argv[1]) << 20, huge = 2u << 20;
    int use_huge = atoi(argv[2]);
    char *raw = mmap(0, n + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return 1;
    char *p = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    madvise(p, n, use_huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    size_t lines = n / 64;
    uint32_t *idx = malloc(lines * sizeof *idx);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < lines; i++) idx[i] = (uint32_t)i;
    for (size_t i = lines - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t j = x % (i + 1);
        uint32_t t = idx[i];
        idx[i] = idx[j], idx[j] = t;
    }
    for (size_t i = 0; i < lines; i++)
        *(uint64_t *)(p + (size_t)idx[i] * 64) = (uint64_t)idx[(i + 1) % lines] * 64;
    const int reads = 2000000;
    uint64_t cur = 0, sum = 0;
    double t = now();
    for (int i = 0; i < reads; i++) cur = *(uint64_t *)(p + cur);
    double dependent = (now() - t) / reads * 1e9;
    t = now();
    for (int i = 0; i < reads; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        sum += *(uint64_t *)(p + (x % lines) * 64);
    }
    double independent = (now() - t) / reads * 1e9;
    printf("%zu MiB, %s pages: dependent read %.1f ns, independent %.1f ns (%llu)\n", n >> 20,
           use_huge ? "2 MiB" : "4 KiB", dependent, independent,
           (unsigned long long)(cur + sum));
    return 0;
}
