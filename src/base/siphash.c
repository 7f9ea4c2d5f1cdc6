#include "base/addr.h"
#include "base/siphash.h"

#include <string.h>

static uint64_t sip_load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t sip_rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

struct sip_state {
    uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip_state *s)
{
    s->v0 += s->v1;
    s->v1 = sip_rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = sip_rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = sip_rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = sip_rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = sip_rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = sip_rotl(s->v2, 32);
}

static void sip_compress(struct sip_state *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    sip_round(s);
    s->v0 ^= m;
}

/* The whole function, inline so that a caller with a constant length (siphash_tuple's 12
 * and 36 bytes) gets its loops unrolled: the demux and the ISN hash run per packet. */
static inline uint64_t sip_hash(const uint8_t key[16], const uint8_t *msg, size_t len)
{
    uint64_t k0 = sip_load64(key), k1 = sip_load64(key + 8);
    struct sip_state s = {
        .v0 = k0 ^ 0x736f6d6570736575ull,
        .v1 = k1 ^ 0x646f72616e646f6dull,
        .v2 = k0 ^ 0x6c7967656e657261ull,
        .v3 = k1 ^ 0x7465646279746573ull,
    };
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8)
        sip_compress(&s, sip_load64(msg + i));
    /* Last block: the remaining bytes, then the message length in the top byte. */
    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < (len & 7); i++)
        last |= (uint64_t)msg[full + i] << (8 * i);
    sip_compress(&s, last);
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t siphash24(const uint8_t key[16], const uint8_t *msg, size_t len)
{
    return sip_hash(key, msg, len);
}

uint64_t siphash_tuple(const uint8_t key[16], const struct synack_addr *laddr, uint16_t lport,
                       const struct synack_addr *raddr, uint16_t rport)
{
    /* An IPv4 tuple hashes as it always has (the addresses as host-order words), so the ISNs,
     * ports and table layout of IPv4 runs stay what they were; IPv6 hashes all 32 address
     * bytes. The family needs no byte of its own: the lengths differ. */
    uint8_t tuple[16 + 2 + 16 + 2];
    if (laddr->family == SYNACK_AF_INET6) {
        memcpy(tuple, laddr->bytes, 16);
        memcpy(tuple + 16, &lport, 2);
        memcpy(tuple + 18, raddr->bytes, 16);
        memcpy(tuple + 34, &rport, 2);
        return sip_hash(key, tuple, 36);
    }
    uint32_t l = addr_v4_value(laddr), r = addr_v4_value(raddr);
    memcpy(tuple, &l, 4);
    memcpy(tuple + 4, &lport, 2);
    memcpy(tuple + 6, &r, 4);
    memcpy(tuple + 10, &rport, 2);
    return sip_hash(key, tuple, 12);
}
