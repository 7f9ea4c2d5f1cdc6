/*
 * The Internet checksum alone: bytes per second of wire_csum_add (eight bytes at a time,
 * src/wire/checksum.c) against RFC 1071 §1 taken literally (one octet pair per addition,
 * the loop synack used before issue 13), on a full segment's payload (1460 bytes), on a
 * 64 KiB segment, and at an odd length and alignment. The sums must agree, or it exits 1.
 * One markdown row per size, for docs/PERFORMANCE.md.
 *   build/bench/csum [MiB]     (default 2048 MiB summed per size and method)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "wire/wire.h"

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* RFC 1071 §1 one octet pair at a time (the reference). */
static uint32_t csum_pairs(uint32_t sum, const uint8_t *p, size_t len)
{
    uint64_t acc = sum;
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < len) acc += (uint32_t)p[i] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint32_t)acc;
}

typedef uint32_t (*csum_fn)(uint32_t, const uint8_t *, size_t);

/* Seconds to sum `total` bytes in pieces of `len`; the sums are chained so no call is dead. */
static double time_sum(csum_fn fn, const uint8_t *p, size_t len, size_t total, uint32_t *out)
{
    uint32_t s = 0;
    double t0 = wall();
    for (size_t done = 0; done < total; done += len)
        s = fn(s, p, len);
    *out = s;
    return wall() - t0;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 2048;
    if (mib == 0) mib = 1;
    size_t total = mib << 20;
    static uint8_t buf[65536 + 8];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    const struct {
        const char *label;
        size_t off, len;
    } cases[] = {{"1460 B (a full Ethernet segment)", 0, 1460},
                 {"1461 B at offset 3", 3, 1461},
                 {"65536 B", 0, 65536}};
    printf("| size | one octet pair at a time (GB/s) | eight bytes at a time (GB/s) | ratio |\n");
    printf("|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t a, b;
        double ta = time_sum(csum_pairs, buf + cases[i].off, cases[i].len, total, &a);
        double tb = time_sum(wire_csum_add, buf + cases[i].off, cases[i].len, total, &b);
        if (a != b) {
            fprintf(stderr, "csum: the sums differ (%#x, %#x) for %s\n", a, b, cases[i].label);
            return 1;
        }
        printf("| %s | %.2f | %.2f | %.1fx |\n", cases[i].label, (double)total / ta / 1e9,
               (double)total / tb / 1e9, ta / tb);
    }
    return 0;
}
