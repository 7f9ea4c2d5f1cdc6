/* The address predicates the core calls per packet, inline: synack_addr_eq and its kin
 * (synack.h) are the public names of these, defined in addr.c, and out of line they cost a
 * call each on every lookup (demux, listeners, TIME_WAIT, local-address checks). */
#ifndef SYNACK_BASE_ADDR_H
#define SYNACK_BASE_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <synack/synack.h>

/* The four address bytes are stored as one 32-bit word in network order, not one byte at a
 * time: a byte-wise build read back at once by a wider load (the struct copies and the
 * 8-byte compares of addr_eq) stalls store-to-load forwarding on the per-packet path. */
static inline struct synack_addr addr_v4(uint32_t host_order)
{
    struct synack_addr a = {.family = SYNACK_AF_INET};
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t net = __builtin_bswap32(host_order);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint32_t net = host_order;
#else
    uint32_t net;
    uint8_t *b = (uint8_t *)&net;
    b[0] = (uint8_t)(host_order >> 24);
    b[1] = (uint8_t)(host_order >> 16);
    b[2] = (uint8_t)(host_order >> 8);
    b[3] = (uint8_t)host_order;
#endif
    memcpy(a.bytes, &net, sizeof(net));
    return a;
}

/* Sets `a` to the IPv4 address whose four bytes (network order) are at `p`, in place. The
 * 16 address bytes are written as two 8-byte words, the halves addr_eq compares: a compare
 * right after (the per-packet checks follow the parse) then reads each from one store. */
static inline void addr_set_v4(struct synack_addr *a, const uint8_t *p)
{
    uint8_t lo[8] = {p[0], p[1], p[2], p[3], 0, 0, 0, 0};
    static const uint8_t hi[8];
    a->family = SYNACK_AF_INET;
    memcpy(a->bytes, lo, sizeof(lo));
    memcpy(a->bytes + 8, hi, sizeof(hi));
}

static inline uint32_t addr_v4_value(const struct synack_addr *a)
{
    if (a->family != SYNACK_AF_INET) return 0;
    return (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 | (uint32_t)a->bytes[2] << 8 |
           a->bytes[3];
}

/* Unused bytes are always zero (synack.h), so all 16 compare whatever the family. */
static inline bool addr_eq(const struct synack_addr *a, const struct synack_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

static inline bool addr_bytes_zero(const struct synack_addr *a)
{
    static const uint8_t zero[sizeof(a->bytes)];
    return memcmp(a->bytes, zero, sizeof(zero)) == 0;
}

static inline bool addr_is_any(const struct synack_addr *a)
{
    return a->family == SYNACK_AF_NONE || addr_bytes_zero(a);
}

/* RFC 4291 §2.5.5.2: ::ffff:0:0/96 carries an IPv4 address inside IPv6 text; on the wire
 * it never names an IPv6 host of its own. */
static inline bool addr_is_v4_mapped(const uint8_t b[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(b, prefix, sizeof(prefix)) == 0;
}

static inline bool addr_is_unicast(const struct synack_addr *a)
{
    if (a->family == SYNACK_AF_INET) {
        /* RFC 1122 §3.2.1.3: not 0/8 ("this network"), not 127/8 (loopback), not class D
         * or E (224/4, 240/4) and so not the limited broadcast either. */
        uint8_t first = a->bytes[0];
        return first != 0 && first != 127 && first < 224;
    }
    if (a->family == SYNACK_AF_INET6) {
        /* RFC 4291 §2.5.2 (unspecified), §2.5.3 (loopback ::1), §2.7 (ff00::/8). */
        static const uint8_t loopback[16] = {[15] = 1};
        return !addr_bytes_zero(a) && memcmp(a->bytes, loopback, 16) != 0 && a->bytes[0] != 0xff &&
               !addr_is_v4_mapped(a->bytes);
    }
    return false;
}

static inline bool endpoint_eq(const struct synack_endpoint *a, const struct synack_endpoint *b)
{
    return a->port == b->port && addr_eq(&a->addr, &b->addr);
}

#endif
