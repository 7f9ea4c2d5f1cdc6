/* The Internet checksum (RFC 1071) and the TCP/UDP pseudo-header (RFC 9293 §3.1). */
#include <string.h>

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

/* Eight bytes as one native-order word (memcpy: any alignment, one load where it can be). */
static inline uint64_t csum_load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

/* One's-complement addition of 64-bit words: the carry out of bit 63 comes back in at bit 0
 * (RFC 1071 §2(A)'s end-around carry, at the width of the words being added). */
static inline uint64_t csum_add64(uint64_t a, uint64_t b)
{
    a += b;
    return a + (a < b);
}

/* RFC 1071 §1: an odd final octet is padded with a zero octet on the right; the pair as one
 * native-order 16-bit word. */
static inline uint64_t csum_odd_octet(uint8_t last)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return last;
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (uint64_t)last << 8;
#else
    const uint8_t pair[2] = {last, 0};
    uint16_t w;
    memcpy(&w, pair, sizeof(w));
    return w;
#endif
}

/* The one's-complement sum of `len` bytes in the machine's byte order, folded to 16 bits.
 * RFC 1071 §2(B) (byte-order independence): summing the octet pairs as native-order words
 * gives the big-endian sum with its two bytes swapped on a little-endian machine, so the
 * data is added eight bytes at a time and put into network order once at the end. Four
 * independent sums let the additions run side by side. */
static uint32_t csum_native(const uint8_t *p, size_t len)
{
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (; len >= 32; p += 32, len -= 32) {
        a = csum_add64(a, csum_load64(p));
        b = csum_add64(b, csum_load64(p + 8));
        c = csum_add64(c, csum_load64(p + 16));
        d = csum_add64(d, csum_load64(p + 24));
    }
    for (; len >= 8; p += 8, len -= 8)
        a = csum_add64(a, csum_load64(p));
    /* The last 1-7 bytes by loads of their own widths, each a whole number of native 16-bit
     * words (which lane a word lands in does not matter: 2^16 is 1 modulo 0xffff). Copying
     * them into a zeroed word and loading that stalled: the wide load waited for the bytes'
     * stores to leave the store buffer, 40% of this function on a 64-byte segment. */
    if (len & 4) {
        uint32_t w;
        memcpy(&w, p, sizeof(w));
        b = csum_add64(b, w);
        p += 4;
    }
    if (len & 2) {
        uint16_t w;
        memcpy(&w, p, sizeof(w));
        c = csum_add64(c, w);
        p += 2;
    }
    if (len & 1) d = csum_add64(d, csum_odd_octet(*p));
    uint64_t sum = csum_add64(csum_add64(a, b), csum_add64(c, d));
    sum = (sum & 0xffffffffu) + (sum >> 32); /* 64 -> 33 bits, the carry folded below */
    return csum_fold(sum);
}

uint32_t wire_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    /* The 16-bit native sum, read back as two octets in memory order, is the big-endian
     * (network order) sum RFC 1071 §1 defines: a byte swap on a little-endian machine,
     * nothing on a big-endian one. */
    uint16_t native = (uint16_t)csum_native(p, len);
    uint8_t octets[2];
    memcpy(octets, &native, sizeof(octets));
    return csum_fold((uint64_t)sum + ((uint32_t)octets[0] << 8 | octets[1]));
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

uint16_t wire_csum_partial(uint32_t pseudo_sum)
{
    return (uint16_t)csum_fold(pseudo_sum);
}

int synack_checksum_complete(uint8_t *pkt, size_t len, size_t start, size_t offset)
{
    if (pkt == NULL || start > len || offset > len - start || len - start - offset < 2)
        return SYNACK_ERR_INVAL;
    uint16_t csum = wire_csum_finish(wire_csum_add(0, pkt + start, len - start));
    /* RFC 768: a computed zero goes out as all ones (zero would mean "no checksum" for UDP
     * over IPv4); the two are the same number in one's complement, so TCP takes it too. */
    if (csum == 0) csum = 0xffff;
    pkt[start + offset] = (uint8_t)(csum >> 8);
    pkt[start + offset + 1] = (uint8_t)csum;
    return 0;
}

bool synack_checksum_place_is_valid(const uint8_t *pkt, size_t len, size_t start, size_t offset)
{
    struct wire_ip_repr ip;
    if (pkt == NULL || wire_ip_parse(pkt, len, &ip) != SYNACK_DROP_NONE) return true;
    if (ip.frag.present || start != ip.header_len) return false;
    size_t field = ip.proto == WIRE_IP_PROTO_TCP   ? WIRE_TCP_OFF_CHECKSUM
                   : ip.proto == WIRE_IP_PROTO_UDP ? WIRE_UDP_OFF_CHECKSUM
                                                   : SIZE_MAX;
    /* The two bytes of the field inside the datagram (the IP length's, not the buffer's). */
    return offset == field && offset + 2 <= ip.payload_len;
}
