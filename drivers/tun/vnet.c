/* The virtio-net header of a TUN device opened with IFF_VNET_HDR (link.h): parse and emit,
 * apart from the descriptor. Layout, virtio 1.1 §5.1.6 (without num_buffers: the device's
 * header size is 10):
 *   0 flags   1 gso_type   2 hdr_len   4 gso_size   6 csum_start   8 csum_offset
 * with the 16-bit fields little-endian. */
#include "synack/link.h"

#define VNET_OFF_FLAGS 0
#define VNET_OFF_GSO_TYPE 1
#define VNET_OFF_HDR_LEN 2
#define VNET_OFF_GSO_SIZE 4
#define VNET_OFF_CSUM_START 6
#define VNET_OFF_CSUM_OFFSET 8
/* Bytes of the checksum field csum_offset points at. */
#define VNET_CSUM_FIELD_LEN 2
/* The TCP header's Checksum field, from its first byte (RFC 9293 §3.1); the UDP header's
 * (RFC 768). */
#define VNET_TCP_CSUM_OFFSET 16
#define VNET_UDP_CSUM_OFFSET 6

static uint16_t vnet_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static void vnet_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

const char *synack_vnet_error_name(enum synack_vnet_error e)
{
    switch (e) {
    case SYNACK_VNET_OK:
        return "ok";
    case SYNACK_VNET_TRUNCATED:
        return "truncated";
    case SYNACK_VNET_CSUM_RANGE:
        return "csum-range";
    case SYNACK_VNET_GSO_TYPE:
        return "gso-type";
    case SYNACK_VNET_GSO_SIZE:
        return "gso-size";
    case SYNACK_VNET_GSO_CSUM:
        return "gso-csum";
    case SYNACK_VNET_GSO_FAMILY:
        return "gso-family";
    case SYNACK_VNET_HDR_LEN_RANGE:
        return "hdr-len-range";
    case SYNACK_VNET_CSUM_PLACE:
        return "csum-place";
    }
    return "unknown";
}

/* The GSO checks: a type we ask for (TUN_F_TSO4, TUN_F_TSO6, ECN riding on either;
 * TUN_F_USO4 with TUN_F_USO6, one type for both families), a segment size, a partial
 * checksum, and a packet of the type's IP version (RFC 791 §3.1, RFC 8200 §3: the version
 * is the first four bits of either header). */
static enum synack_vnet_error vnet_check_gso(const struct synack_vnet_hdr *h, const uint8_t *pkt)
{
    unsigned type = h->gso_type & ~SYNACK_VNET_GSO_ECN;
    unsigned version = pkt[0] >> 4;
    bool tcp = type == SYNACK_VNET_GSO_TCPV4 || type == SYNACK_VNET_GSO_TCPV6;
    if (!tcp && h->gso_type != SYNACK_VNET_GSO_UDP_L4) return SYNACK_VNET_GSO_TYPE;
    if (h->gso_size == 0) return SYNACK_VNET_GSO_SIZE;
    if (!(h->flags & SYNACK_VNET_F_NEEDS_CSUM)) return SYNACK_VNET_GSO_CSUM;
    unsigned want = type == SYNACK_VNET_GSO_TCPV4 ? 4u : type == SYNACK_VNET_GSO_TCPV6 ? 6u : 0u;
    if (want ? version != want : version != 4 && version != 6) return SYNACK_VNET_GSO_FAMILY;
    return SYNACK_VNET_OK;
}

/* The Checksum field a GSO type's partial sum must be: TCP's or UDP's. */
static unsigned vnet_gso_csum_offset(uint8_t gso_type)
{
    return gso_type == SYNACK_VNET_GSO_UDP_L4 ? VNET_UDP_CSUM_OFFSET : VNET_TCP_CSUM_OFFSET;
}

enum synack_vnet_error synack_vnet_parse(const uint8_t hdr[SYNACK_VNET_HDR_LEN], const uint8_t *pkt,
                                         size_t pkt_len, struct synack_vnet_hdr *out)
{
    const uint8_t *buf = hdr;
    if (hdr == NULL || pkt == NULL || out == NULL || pkt_len == 0) return SYNACK_VNET_TRUNCATED;
    out->flags = buf[VNET_OFF_FLAGS];
    out->gso_type = buf[VNET_OFF_GSO_TYPE];
    out->hdr_len = vnet_get_le16(buf + VNET_OFF_HDR_LEN);
    out->gso_size = vnet_get_le16(buf + VNET_OFF_GSO_SIZE);
    out->csum_start = vnet_get_le16(buf + VNET_OFF_CSUM_START);
    out->csum_offset = vnet_get_le16(buf + VNET_OFF_CSUM_OFFSET);
    /* §5.1.6.2: the sum runs from csum_start to the end and is stored at csum_offset after
     * it, so the whole field must be inside the packet. */
    if ((out->flags & SYNACK_VNET_F_NEEDS_CSUM) &&
        (size_t)out->csum_start + out->csum_offset + VNET_CSUM_FIELD_LEN > pkt_len)
        return SYNACK_VNET_CSUM_RANGE;
    if (out->gso_type != SYNACK_VNET_GSO_NONE) {
        enum synack_vnet_error e = vnet_check_gso(out, pkt);
        if (e != SYNACK_VNET_OK) return e;
    }
    /* The sum the kernel left partial is the transport checksum the stack would verify,
     * and no other: else vouching for the packet would skip a check nobody made. */
    if ((out->flags & SYNACK_VNET_F_NEEDS_CSUM) &&
        (!synack_checksum_place_is_valid(pkt, pkt_len, out->csum_start, out->csum_offset) ||
         (out->gso_type != SYNACK_VNET_GSO_NONE &&
          out->csum_offset != vnet_gso_csum_offset(out->gso_type))))
        return SYNACK_VNET_CSUM_PLACE;
    if (out->hdr_len > pkt_len) return SYNACK_VNET_HDR_LEN_RANGE;
    return SYNACK_VNET_OK;
}

void synack_vnet_emit(const struct synack_vnet_hdr *h, uint8_t out[SYNACK_VNET_HDR_LEN])
{
    out[VNET_OFF_FLAGS] = h->flags;
    out[VNET_OFF_GSO_TYPE] = h->gso_type;
    vnet_put_le16(out + VNET_OFF_HDR_LEN, h->hdr_len);
    vnet_put_le16(out + VNET_OFF_GSO_SIZE, h->gso_size);
    vnet_put_le16(out + VNET_OFF_CSUM_START, h->csum_start);
    vnet_put_le16(out + VNET_OFF_CSUM_OFFSET, h->csum_offset);
}

int synack_vnet_hdr_for_tx(const struct synack_tx_meta *meta, const uint8_t *pkt, size_t len,
                           struct synack_vnet_hdr *out)
{
    *out = (struct synack_vnet_hdr){0};
    if (meta->gso_size == 0 && !meta->csum_partial) return 0;
    if (len == 0 || !meta->csum_partial ||
        (size_t)meta->csum_start + meta->csum_offset + VNET_CSUM_FIELD_LEN > len)
        return SYNACK_ERR_INVAL;
    /* virtio 1.1 §5.1.6.2: NEEDS_CSUM, the sum from csum_start to the end of the packet,
     * stored at csum_start + csum_offset. */
    out->flags = SYNACK_VNET_F_NEEDS_CSUM;
    out->csum_start = meta->csum_start;
    out->csum_offset = meta->csum_offset;
    if (meta->gso_size == 0) return 0;
    /* §5.1.6.2: a GSO type of the packet's IP version (RFC 791 §3.1, RFC 8200 §3: the first
     * four bits), gso_size the payload of each segment, hdr_len the headers each repeats. */
    unsigned version = pkt[0] >> 4;
    if (version != 4 && version != 6) return SYNACK_ERR_INVAL;
    if (meta->hdr_len > len) return SYNACK_ERR_INVAL;
    /* UDP datagrams joined (SYNACK_TX_USO) are GSO_UDP_L4, one type for both families; the
     * checksum's place says which transport the packet carries. */
    if (meta->csum_offset == VNET_UDP_CSUM_OFFSET)
        out->gso_type = SYNACK_VNET_GSO_UDP_L4;
    else
        out->gso_type = version == 4 ? SYNACK_VNET_GSO_TCPV4 : SYNACK_VNET_GSO_TCPV6;
    out->gso_size = meta->gso_size;
    out->hdr_len = meta->hdr_len;
    return 0;
}
