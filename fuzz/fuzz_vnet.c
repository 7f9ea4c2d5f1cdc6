/*
 * The virtio-net header a TUN device with offloads puts before every packet
 * (synack_vnet_parse, virtio 1.1 §5.1.6), and what the TUN link does with a header it
 * takes: finish a partial checksum (synack_checksum_complete) for a plain reader, or hand the
 * packet to the stack with its checksum vouched for (synack_stack_input_flags).
 *
 * Input: [ctl] then the 10-byte header, then the packet.
 *   ctl bit 0: repair the packet's IPv4 header (Total Length to the packet's length, the
 *       header checksum) so that the stack looks past it; bit 1: point csum_start at the
 *       end of the IP header (IPv4 IHL, or IPv6's fixed 40 bytes) and csum_offset at the
 *       checksum of the protocol the header names (UDP's, 6, for UDP; TCP's, 16, for any
 *       other), so NEEDS_CSUM headers that tell the truth are common.
 *
 * Checked: a header that parses emits back to the same 10 bytes; every rule of the parse
 * holds of it, computed again here (the checksum field in the packet and, with NEEDS_CSUM,
 * the TCP or UDP Checksum field by synack_checksum_place_is_valid, TCP's with a GSO type; a
 * GSO type of TCPV4 or TCPV6 on a packet of its IP version with gso_size and NEEDS_CSUM,
 * hdr_len within the packet); synack_checksum_complete succeeds on what the parser let
 * through; the stack (at 198.18.0.1 and 2001:db8::1, a TCP listener and a UDP socket on
 * port 80) takes the packet both ways without a sanitizer report, within 4 MiB, and holds
 * nothing once freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synack/link.h>

#include "fuzz_common.h"

#define VNET_MEM_CAP (4u << 20)

/* ctl bit 1: csum_start at the end of the IP header, csum_offset at the checksum of the
 * protocol it names (RFC 791 §3.1 Protocol at byte 9, RFC 8200 §3 Next Header at byte 6). */
static void aim_checksum(uint8_t hdr[SYNACK_VNET_HDR_LEN], const uint8_t *pkt, size_t len)
{
    bool v6 = (pkt[0] >> 4) == 6;
    unsigned start = v6 ? 40u : (pkt[0] & 0xfu) * 4u;
    size_t at = v6 ? 6 : 9;
    bool udp = at < len && pkt[at] == 17;
    struct synack_vnet_hdr h = {.flags = hdr[0], .gso_type = hdr[1]};
    h.hdr_len = (uint16_t)(hdr[2] | hdr[3] << 8);
    h.gso_size = (uint16_t)(hdr[4] | hdr[5] << 8);
    h.csum_start = (uint16_t)start;
    h.csum_offset = udp ? 6 : 16;
    synack_vnet_emit(&h, hdr);
}

/* The rules of synack_vnet_parse, checked again of a header it took. */
static void check_taken(const struct synack_vnet_hdr *h, const uint8_t *pkt, size_t len)
{
    if (h->flags & SYNACK_VNET_F_NEEDS_CSUM) {
        fz_check("vnet", (size_t)h->csum_start + h->csum_offset + 2 <= len,
                 "checksum field outside");
        fz_check("vnet", synack_checksum_place_is_valid(pkt, len, h->csum_start, h->csum_offset),
                 "a partial checksum off the transport's field");
        fz_check("vnet",
                 h->gso_type == SYNACK_VNET_GSO_NONE ||
                     h->csum_offset == (h->gso_type == SYNACK_VNET_GSO_UDP_L4 ? 6 : 16),
                 "a GSO type with a partial checksum not its protocol's");
    }
    if (h->gso_type == SYNACK_VNET_GSO_UDP_L4) {
        fz_check("vnet", (pkt[0] >> 4) == 4 || (pkt[0] >> 4) == 6, "USO on neither family");
    } else if (h->gso_type != SYNACK_VNET_GSO_NONE) {
        unsigned type = h->gso_type & ~SYNACK_VNET_GSO_ECN;
        fz_check("vnet", type == SYNACK_VNET_GSO_TCPV4 || type == SYNACK_VNET_GSO_TCPV6,
                 "GSO type taken");
        fz_check("vnet", (pkt[0] >> 4) == (type == SYNACK_VNET_GSO_TCPV4 ? 4 : 6),
                 "GSO on the wrong family");
    }
    if (h->gso_type != SYNACK_VNET_GSO_NONE) {
        fz_check("vnet", h->gso_size > 0, "GSO without a segment size");
        fz_check("vnet", h->flags & SYNACK_VNET_F_NEEDS_CSUM, "GSO without a partial checksum");
    }
    fz_check("vnet", h->hdr_len <= len, "hdr_len past the packet");
}

static struct synack_stack *vnet_stack(struct fz_mem *mem)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    static const uint8_t local6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    struct synack_addr a = synack_addr_v4(FZ_LOCAL), a6 = synack_addr_v6(local6);
    if (synack_config_add_addr(&cfg, &a) != 0 || synack_config_add_addr(&cfg, &a6) != 0) abort();
    fz_mem_hook(&cfg, mem, VNET_MEM_CAP);
    struct synack_stack *s;
    if (synack_stack_new(&s, &cfg) != 0) abort();
    struct synack_listener *l;
    struct synack_udp *u;
    if (synack_tcp_listen(s, &SYNACK_TEST_EP(0, 80), 4, NULL, &l) != 0 ||
        synack_udp_bind(s, &SYNACK_TEST_EP(0, 80), NULL, &u) != 0)
        abort();
    return s;
}

/* Hands `pkt` to the stack with `flags` and drains what it answers. */
static void vnet_input(struct synack_stack *s, const uint8_t *pkt, size_t len, unsigned flags)
{
    static uint8_t out[65536];
    (void)synack_stack_input_flags(s, pkt, len, flags, 0);
    for (int k = 0; k < 64 && synack_stack_output(s, out, sizeof out, 0) > 0; k++)
        ;
}

/* What the TUN link does with a packet of UDP datagrams to cut (GSO UDP_L4): every
 * datagram synack_uso_datagram gives, with its sum partial and vouched for
 * (recv_offload), then finished and verified (plain recv), to the stack. Checked: the
 * datagrams are whole packets whose UDP payloads, none over the segment size, are the
 * packet's, in order, and no more than it holds. */
static void vnet_uso(struct synack_stack *s, const uint8_t *pkt, size_t len, uint16_t gso)
{
    static uint8_t out[65536];
    /* The fixed IP header and the UDP header: synack_uso_datagram cuts nothing else. */
    size_t head = ((pkt[0] >> 4) == 6 ? 40 : 20) + 8;
    for (int finish = 0; finish <= 1; finish++) {
        size_t payload = 0, i = 0;
        synack_ssize n;
        while ((n = synack_uso_datagram(pkt, len, gso, i, finish, out, sizeof out)) > 0) {
            size_t seg = (size_t)n - head;
            fz_check("vnet", (size_t)n > head && seg <= gso,
                     "a datagram longer than the segment size");
            fz_check("vnet", head + payload + seg <= len,
                     "the datagrams carry more than the packet");
            fz_check("vnet", memcmp(out + head, pkt + head + payload, seg) == 0,
                     "a datagram's payload not the packet's, in order");
            payload += seg;
            vnet_input(s, out, (size_t)n, finish ? 0 : SYNACK_INPUT_CSUM_VERIFIED);
            i++;
        }
        fz_check("vnet", n == 0 || (n == SYNACK_ERR_INVAL && i == 0),
                 "cutting stopped on an error after a datagram");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 + SYNACK_VNET_HDR_LEN || size > 1 + SYNACK_VNET_HDR_LEN + 65535) return 0;
    uint8_t ctl = data[0];
    uint8_t hdr[SYNACK_VNET_HDR_LEN];
    memcpy(hdr, data + 1, sizeof hdr);
    size_t len = size - 1 - SYNACK_VNET_HDR_LEN;
    uint8_t *pkt = malloc(len ? len : 1);
    if (pkt == NULL) abort();
    memcpy(pkt, data + 1 + SYNACK_VNET_HDR_LEN, len);
    if ((ctl & 1) && len) fz_repair_ipv4_header(pkt, len);
    if ((ctl & 2) && len) aim_checksum(hdr, pkt, len);

    struct synack_vnet_hdr h;
    enum synack_vnet_error e = synack_vnet_parse(hdr, pkt, len, &h);
    fz_check("vnet", synack_vnet_error_name(e) != NULL, "an error without a name");
    if (e == SYNACK_VNET_OK) {
        uint8_t again[SYNACK_VNET_HDR_LEN];
        synack_vnet_emit(&h, again);
        fz_check("vnet", memcmp(again, hdr, sizeof hdr) == 0,
                 "emit does not give the bytes parsed");
        check_taken(&h, pkt, len);
        struct fz_mem mem;
        struct synack_stack *s = vnet_stack(&mem);
        /* What recv_offload hands on: the packet as it came, vouched for. */
        bool vouched = (h.flags & (SYNACK_VNET_F_NEEDS_CSUM | SYNACK_VNET_F_DATA_VALID)) != 0;
        if (h.gso_type == SYNACK_VNET_GSO_UDP_L4) vnet_uso(s, pkt, len, h.gso_size);
        vnet_input(s, pkt, len, vouched ? SYNACK_INPUT_CSUM_VERIFIED : 0);
        /* What plain recv hands on: the partial checksum finished. */
        if (h.flags & SYNACK_VNET_F_NEEDS_CSUM)
            fz_check("vnet", synack_checksum_complete(pkt, len, h.csum_start, h.csum_offset) == 0,
                     "a checksum field the parser took is refused");
        vnet_input(s, pkt, len, 0);
        synack_stack_free(s);
        fz_check("vnet", mem.live == 0, "memory held after synack_stack_free");
    }
    free(pkt);
    return 0;
}
