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

/* Two address octets as one big-endian 16-bit word of the sum. */
static inline uint32_t csum_word(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

uint32_t wire_csum_pseudo_addr(const struct synack_addr *src, const struct synack_addr *dst,
                               uint8_t proto, uint32_t len)
{
    /* IPv4 (RFC 9293 §3.1): source, destination, zero, PTCL, 16-bit length; IPv6 (RFC 8200
     * §8.1): source, destination, 32-bit length, 24 zero bits, Next Header. Both add up to
     * the addresses' words, proto and the length's two halves. Summed word by word here
     * rather than through wire_csum_add: this runs for every segment in and out. */
    uint64_t acc = (uint64_t)proto + (len >> 16) + (len & 0xffffu);
    const uint8_t *s = src->bytes, *d = dst->bytes;
    acc += csum_word(s) + csum_word(s + 2) + csum_word(d) + csum_word(d + 2);
    if (src->family == SYNACK_AF_INET6) {
        for (size_t i = 4; i < 16; i += 2)
            acc += csum_word(s + i) + csum_word(d + i);
    }
    return csum_fold(acc);
}
