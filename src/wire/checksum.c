/* The Internet checksum (RFC 1071) and the TCP/UDP pseudo-header (RFC 9293 §3.1). */
#include "wire/wire.h"

/* RFC 1071 §2(B): the one's-complement sum is associative, so a partial sum may be folded
 * (end-around carry) at any point. Running sums returned here are always folded to 16 bits,
 * so callers can chain any number of calls without overflow. */
static uint32_t csum_fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    return (uint32_t)sum;
}

uint32_t wire_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    /* RFC 1071 §1: sum adjacent octet pairs as 16-bit big-endian integers... */
    uint64_t acc = sum;
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    /* ...and pad an odd final octet with a zero octet on the right. */
    if (i < len) acc += (uint32_t)p[i] << 8;
    return csum_fold(acc);
}

uint16_t wire_csum_finish(uint32_t sum)
{
    /* RFC 1071 §1: the checksum is the one's complement of the one's-complement sum. */
    return (uint16_t)~csum_fold(sum);
}

uint32_t wire_csum_pseudo_addr(const struct synack_addr *src, const struct synack_addr *dst,
                               uint8_t proto, uint32_t len)
{
    size_t alen = src->family == SYNACK_AF_INET6 ? 16 : 4;
    uint32_t sum = wire_csum_add(0, src->bytes, alen);
    sum = wire_csum_add(sum, dst->bytes, alen);
    /* IPv4: zero, PTCL, 16-bit length; IPv6: 32-bit length, 24 zero bits, Next Header. Both
     * add up to the same words: proto and the length's two halves. */
    uint64_t acc = (uint64_t)sum + proto + (len >> 16) + (len & 0xffffu);
    while (acc >> 16)
        acc = (acc & 0xffffu) + (acc >> 16);
    return (uint32_t)acc;
}
