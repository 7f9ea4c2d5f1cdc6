/*
 * Flow steering (synack_steer_packet, src/wire/steer.c) on any bytes, and the multi-queue
 * wire (drivers/mqwire) that calls it for every packet it carries.
 *
 * Input: [ctl] [queues] then the packet.
 *   ctl bit 0: repair the packet's IPv4 header (Total Length to the packet's length, the
 *       header checksum) so that steering looks past it.
 *   queues: 1 + the byte's low 4 bits (1-16).
 *
 * Checked: the queue is below `queues`; the same packet with its addresses (and, for TCP
 * and UDP directly after the fixed header, its ports) swapped steers to the same queue, as
 * both directions of a flow must; sent into a wire of `queues` queues, the packet comes out
 * whole at that queue of the other side and nowhere else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synack/link.h>

#include "fuzz_common.h"

#define STEER_MAX_PKT 2048

static const uint8_t key[16] = {7, 1, 7, 1, 7, 1, 7, 1, 9, 9, 9, 9, 3, 3, 3, 3};

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

/* The packet as the other direction of its flow would carry it, as far as steering reads
 * it: addresses swapped, and ports where they sit right after the fixed header. Sums are
 * sums of 16-bit words, so swapping whole fields keeps every checksum right. False when the
 * packet is not one whose ports this finds (it is then not compared). */
static bool reverse(uint8_t *p, size_t len)
{
    size_t l4;
    uint8_t proto;
    if (len >= WIRE_IPV4_HDR_LEN && (p[0] >> 4) == 4) {
        swap_bytes(p + 12, p + 16, 4);
        l4 = (size_t)(p[0] & 0xf) * 4;
        proto = p[9];
    } else if (len >= WIRE_IPV6_HDR_LEN && (p[0] >> 4) == 6) {
        swap_bytes(p + 8, p + 24, 16);
        l4 = WIRE_IPV6_HDR_LEN;
        proto = p[6];
    } else {
        return false;
    }
    if (proto == WIRE_IP_PROTO_TCP || proto == WIRE_IP_PROTO_UDP) {
        if (l4 + 4 > len) return false;
        swap_bytes(p + l4, p + l4 + 2, 2);
        return true;
    }
    /* ICMP errors steer by their quote, which a swap of the outer addresses leaves alone;
     * other protocols by the addresses alone. */
    return proto != 0 && proto != 43 && proto != 44 && proto != 60;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    uint8_t ctl = fz_u8(&in);
    unsigned queues = 1u + (fz_u8(&in) & 0xfu);
    size_t len;
    const uint8_t *body = fz_bytes(&in, STEER_MAX_PKT, &len);
    uint8_t pkt[STEER_MAX_PKT], back[STEER_MAX_PKT];
    memcpy(pkt, body, len);
    if (ctl & 1) fz_repair_ipv4_header(pkt, len);

    unsigned q = synack_steer_packet(key, queues, pkt, len);
    fz_check("steer", q < queues, "queue out of range");
    memcpy(back, pkt, len);
    if (reverse(back, len))
        fz_check("steer", synack_steer_packet(key, queues, back, len) == q,
                 "the two directions differ");

    if (len == 0) return 0;
    struct synack_mqwire_config cfg = {.queues = queues, .mtu = STEER_MAX_PKT};
    cfg.ring_bytes = 1u << 13;
    cfg.no_offload = true; /* rings this small hold no TSO segment */
    memcpy(cfg.key, key, sizeof key);
    struct synack_mqwire *w = NULL;
    fz_check("steer", synack_mqwire_new(&w, &cfg) == 0, "wire not made");
    unsigned from = ctl >> 4 < queues ? ctl >> 4 : 0;
    int rc = synack_link_send(synack_mqwire_link(w, 0, from), pkt, len, 0);
    fz_check("steer", rc == 0, "send refused");
    uint8_t got[STEER_MAX_PKT];
    for (unsigned i = 0; i < queues; i++) {
        synack_ssize n = synack_link_recv(synack_mqwire_link(w, 1, i), got, sizeof got, 0);
        if (i != q) {
            fz_check("steer", n == SYNACK_ERR_AGAIN, "the packet came out at another queue");
            continue;
        }
        fz_check("steer", n == (synack_ssize)len && memcmp(got, pkt, len) == 0,
                 "the packet changed");
    }
    synack_mqwire_free(w);
    return 0;
}
