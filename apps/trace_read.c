/* `synack trace`, reading: a capture file through libpcap, its link layer peeled off, each
 * TCP segment parsed by the stack's parser and filed under its connection. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trace.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100 /* IEEE 802.1Q */
#define ETHERTYPE_QINQ 0x88a8 /* IEEE 802.1ad */
#define ETHERTYPE_QINQ_OLD 0x9100
#define TRACE_MAX_VLAN_TAGS 4
#define TRACE_SCRATCH 65536

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The link layers we decode, by name; NULL for one we do not. */
static const char *trace_link_name(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
        return "Ethernet";
    case DLT_LINUX_SLL:
        return "Linux cooked (SLL)";
    case DLT_LINUX_SLL2:
        return "Linux cooked v2 (SLL2)";
    case DLT_RAW:
        return "raw IP";
    case DLT_IPV4:
        return "raw IPv4";
    case DLT_IPV6:
        return "raw IPv6";
    case DLT_NULL:
        return "BSD loopback (NULL)";
    case DLT_LOOP:
        return "OpenBSD loopback (LOOP)";
    default:
        return NULL;
    }
}

/* The offset of the IP packet in an Ethernet frame, after any 802.1Q/802.1ad tags, or 0
 * when the frame carries no IP. */
static size_t ether_ip_offset(const uint8_t *f, size_t len)
{
    size_t off = 12;
    for (int tags = 0; tags <= TRACE_MAX_VLAN_TAGS; tags++) {
        if (len < off + 2) return 0;
        uint16_t type = rd16(f + off);
        if (type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6) return off + 2;
        if (type != ETHERTYPE_VLAN && type != ETHERTYPE_QINQ && type != ETHERTYPE_QINQ_OLD)
            return 0;
        off += 4;
    }
    return 0;
}

/* Where the IP packet starts in a frame of link type `dlt`: its offset, or 0 when the frame
 * carries none (raw IP starts at 0 too: `*found` tells). */
static size_t link_ip_offset(int dlt, const uint8_t *f, size_t len, bool *found)
{
    size_t off = 0;
    uint16_t proto = 0;
    *found = false;
    switch (dlt) {
    case DLT_EN10MB:
        off = ether_ip_offset(f, len);
        *found = off != 0;
        return off;
    case DLT_LINUX_SLL: /* 16 bytes, the protocol (an EtherType) last */
        if (len < 16) return 0;
        proto = rd16(f + 14);
        off = 16;
        break;
    case DLT_LINUX_SLL2: /* 20 bytes, the protocol first */
        if (len < 20) return 0;
        proto = rd16(f);
        off = 20;
        break;
    case DLT_NULL: /* 4 bytes of address family in the capturing host's byte order: */
    case DLT_LOOP: /* so the IP version nibble decides */
        if (len < 5) return 0;
        off = 4;
        proto = (f[4] >> 4) == 4 ? ETHERTYPE_IPV4 : (f[4] >> 4) == 6 ? ETHERTYPE_IPV6 : 0;
        break;
    default: /* raw IP of either family */
        if (len < 1) return 0;
        proto = (f[0] >> 4) == 4 ? ETHERTYPE_IPV4 : (f[0] >> 4) == 6 ? ETHERTYPE_IPV6 : 0;
        break;
    }
    *found = proto == ETHERTYPE_IPV4 || proto == ETHERTYPE_IPV6;
    return off;
}

/* The length the IP header says the packet has (IPv4 Total Length, IPv6 40 + Payload
 * Length), or 0 when fewer bytes than the fixed header were captured. */
static size_t ip_claimed_len(const uint8_t *ip, size_t len)
{
    if (len >= 20 && (ip[0] >> 4) == 4) return rd16(ip + 2);
    if (len >= 40 && (ip[0] >> 4) == 6) return 40u + rd16(ip + 4);
    return 0;
}

/* A packet the snap length cut inside its payload, rebuilt in `buf` with the IP length
 * fields saying what was captured (and the IPv4 header checksum redone), so that the stack's
 * parser accepts its headers; the TCP checksum no longer holds and is not looked at. */
static size_t rebuild_cut_packet(uint8_t *buf, const uint8_t *ip, size_t caplen)
{
    memcpy(buf, ip, caplen);
    if ((buf[0] >> 4) == 4) {
        size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
        if (ihl < 20 || ihl > caplen) return 0;
        buf[2] = (uint8_t)(caplen >> 8);
        buf[3] = (uint8_t)caplen;
        buf[10] = buf[11] = 0;
        uint32_t sum = 0;
        for (size_t i = 0; i < ihl; i += 2)
            sum += rd16(buf + i);
        while (sum >> 16)
            sum = (sum & 0xffff) + (sum >> 16);
        buf[10] = (uint8_t)(~sum >> 8);
        buf[11] = (uint8_t)~sum;
    } else {
        buf[4] = (uint8_t)((caplen - 40) >> 8);
        buf[5] = (uint8_t)(caplen - 40);
    }
    return caplen;
}

/* Doubles the array *arr of *cap elements of `size` bytes (16 at first). */
static bool grow(void **arr, size_t *cap, size_t size)
{
    size_t n = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, n * size);
    if (p == NULL) return false;
    *arr = p;
    *cap = n;
    return true;
}

static bool conn_matches(const struct trace_conn *c, const struct synack_segment *s, int *dir)
{
    for (int d = 0; d < 2; d++) {
        if (c->port[d] == s->src_port && c->port[!d] == s->dst_port &&
            synack_addr_eq(&c->addr[d], &s->src) && synack_addr_eq(&c->addr[!d], &s->dst)) {
            *dir = d;
            return true;
        }
    }
    return false;
}

/* Has the connection ended, so that a new SYN on its 4-tuple opens another? */
static bool conn_is_over(const struct trace_conn *c)
{
    return c->rst_seen || (c->fin_seen[0] && c->fin_seen[1]);
}

/* The connection `s` belongs to (a new one when none matches or a SYN reopens its
 * 4-tuple), its index in *idx and the segment's direction in *dir; false when the
 * connection table is full or memory runs out. */
/* FNV-1a of one endpoint. */
static uint32_t endpoint_hash(const struct synack_addr *a, uint16_t port)
{
    uint32_t h = 2166136261u;
    const uint8_t *b = (const uint8_t *)a;
    for (size_t i = 0; i < sizeof(*a); i++)
        h = (h ^ b[i]) * 16777619u;
    h = (h ^ (port & 0xff)) * 16777619u;
    return (h ^ (port >> 8)) * 16777619u;
}

/* The slot of the 4-tuple of `s` in the connection index (either direction hashes alike):
 * the one holding its newest connection (*found set, direction in *dir), or the empty slot
 * where it would go. */
static size_t index_slot(const struct trace *t, const struct synack_segment *s, bool *found,
                         int *dir)
{
    size_t mask = t->index_cap - 1;
    size_t i = (endpoint_hash(&s->src, s->src_port) + endpoint_hash(&s->dst, s->dst_port)) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t e = t->index[i];
        *found = e != 0 && conn_matches(&t->conns[e - 1], s, dir);
        if (e == 0 || *found) return i;
    }
}

/* Rebuilds the connection index with twice the room (at least 64 slots): it stays at most
 * half full, so a probe ends. */
static bool index_grow(struct trace *t)
{
    size_t cap = t->index_cap ? t->index_cap * 2 : 64;
    uint32_t *old = t->index;
    size_t old_cap = t->index_cap;
    t->index = calloc(cap, sizeof(*t->index));
    if (t->index == NULL) {
        t->index = old;
        return false;
    }
    t->index_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i] == 0) continue;
        const struct trace_conn *c = &t->conns[old[i] - 1];
        struct synack_segment key = {
            .src = c->addr[0], .dst = c->addr[1], .src_port = c->port[0], .dst_port = c->port[1]};
        bool found;
        int dir;
        t->index[index_slot(t, &key, &found, &dir)] = old[i];
    }
    free(old);
    return true;
}

/* The connection `s` belongs to (a new one when none matches or a SYN reopens its
 * 4-tuple), its index in *idx and the segment's direction in *dir; false when the
 * connection table is full or memory runs out. */
static bool conn_lookup(struct trace *t, const struct synack_segment *s, size_t *idx, int *dir)
{
    if ((t->nconns + 1) * 2 > t->index_cap && !index_grow(t)) return false;
    bool fresh_syn = (s->flags & (SYNACK_TCP_SYN | SYNACK_TCP_ACK)) == SYNACK_TCP_SYN;
    bool found;
    size_t slot = index_slot(t, s, &found, dir);
    if (found && !(fresh_syn && conn_is_over(&t->conns[t->index[slot] - 1]))) {
        *idx = t->index[slot] - 1;
        return true;
    }
    if (t->nconns >= TRACE_MAX_CONNS) return false;
    if (t->nconns == t->conns_cap && !grow((void **)&t->conns, &t->conns_cap, sizeof(*t->conns)))
        return false;
    /* A is the end that opened: the SYN's sender, the SYN-ACK's receiver, or else the
     * sender of the first segment captured. */
    bool from_b =
        (s->flags & (SYNACK_TCP_SYN | SYNACK_TCP_ACK)) == (SYNACK_TCP_SYN | SYNACK_TCP_ACK);
    struct trace_conn *c = &t->conns[t->nconns];
    *c = (struct trace_conn){0};
    c->addr[from_b] = s->src;
    c->port[from_b] = s->src_port;
    c->addr[!from_b] = s->dst;
    c->port[!from_b] = s->dst_port;
    *dir = from_b;
    *idx = t->nconns++;
    t->index[slot] = (uint32_t)t->nconns; /* a reopened 4-tuple: its newest connection */
    return true;
}

static bool pkt_append(struct trace *t, const struct trace_pkt *p)
{
    if (t->npkts >= TRACE_MAX_PACKETS) return false;
    if (t->npkts == t->pkts_cap && !grow((void **)&t->pkts, &t->pkts_cap, sizeof(*t->pkts)))
        return false;
    t->pkts[t->npkts++] = *p;
    return true;
}

/* Files one parsed segment; false when a bound or memory stops the reading. */
static bool trace_add(struct trace *t, const struct synack_segment *s,
                      const struct synack_segment_extra *x, synack_time_t when, uint32_t len,
                      bool cut)
{
    size_t ci;
    int dir;
    if (!conn_lookup(t, s, &ci, &dir)) return false;
    struct trace_pkt p = {
        .t = when,
        .conn = (uint32_t)ci,
        .dir = (uint8_t)dir,
        .flags = s->flags,
        .checksum_bad = !x->checksum_ok && !cut,
        .cut = cut,
        .seq = s->seq,
        .ack = s->ack,
        .window = s->window,
        .len = len,
        .has_mss = s->has_mss,
        .has_wscale = s->has_wscale,
        .sack_permitted = x->sack_permitted,
        .has_ts = s->has_ts,
        .mss = s->mss,
        .wscale = s->wscale,
        .sack_count = x->sack_count,
    };
    for (size_t i = 0; i < x->sack_count && i < SYNACK_SEGMENT_MAX_SACK; i++) {
        p.sack[i][0] = x->sack[i].left;
        p.sack[i][1] = x->sack[i].right;
    }
    if (!pkt_append(t, &p)) return false;
    struct trace_conn *c = &t->conns[ci];
    /* The earliest and the latest, not the first and the last: a capture's clock can step
     * back, and the graphs span [first, last]. */
    if (c->packets == 0 || when < c->first) c->first = when;
    if (c->packets == 0 || when > c->last) c->last = when;
    c->packets++;
    c->bytes[dir] += len;
    if ((s->flags & (SYNACK_TCP_SYN | SYNACK_TCP_ACK)) == SYNACK_TCP_SYN && dir == 0)
        c->syn_seen = true;
    if ((s->flags & (SYNACK_TCP_SYN | SYNACK_TCP_ACK)) == (SYNACK_TCP_SYN | SYNACK_TCP_ACK))
        c->synack_seen = true;
    if (s->flags & SYNACK_TCP_FIN) c->fin_seen[dir] = true;
    if (s->flags & SYNACK_TCP_RST) c->rst_seen = true;
    if (p.checksum_bad) t->checksum_bad++;
    if (cut) t->payload_cut++;
    return true;
}

/* Parses the IP packet `pkt` of `caplen` bytes seen at `when` and files it, or counts it as
 * what it is. `cut` says the snap length cut it and `claimed` is the length its header
 * promises (0 when not cut). False when a bound or memory stops the reading. */
static bool trace_ip(struct trace *t, synack_time_t when, const uint8_t *pkt, size_t caplen,
                     bool cut, bool short_capture, size_t claimed)
{
    struct synack_segment s;
    struct synack_segment_extra x;
    enum synack_drop drop = synack_segment_parse_capture(pkt, caplen, &s, &x);
    if (drop == SYNACK_DROP_IP_PROTOCOL || drop == SYNACK_DROP_IP_FRAGMENT) {
        t->not_tcp++;
        return true;
    }
    if (drop != SYNACK_DROP_NONE) {
        if (cut || short_capture)
            t->headers_cut++;
        else
            t->malformed++;
        return true;
    }
    uint32_t len = (uint32_t)s.payload_len;
    if (cut) len += (uint32_t)(claimed - caplen);
    return trace_add(t, &s, &x, when, len, cut);
}

/* One record of the file: decoded, parsed and filed, or counted as what it is. False when
 * a bound or memory stops the reading. */
static bool trace_frame(struct trace *t, const struct pcap_pkthdr *h, const uint8_t *f)
{
    synack_time_t when = (synack_time_t)h->ts.tv_sec * 1000000000u + (synack_time_t)h->ts.tv_usec;
    if (t->frames++ == 0) t->t0 = when;
    when = when >= t->t0 ? when - t->t0 : 0;

    bool found;
    size_t off = link_ip_offset(t->linktype, f, h->caplen, &found);
    if (!found || off >= h->caplen) {
        t->not_ip++;
        return true;
    }
    const uint8_t *ip = f + off;
    size_t caplen = h->caplen - off;
    size_t claimed = ip_claimed_len(ip, caplen);
    /* The snap length cut this packet: what its header promises was not captured. */
    bool cut = h->caplen < h->len && claimed > caplen;
    if (cut)
        caplen =
            rebuild_cut_packet(t->scratch, ip, caplen < TRACE_SCRATCH ? caplen : TRACE_SCRATCH);
    return trace_ip(t, when, cut ? t->scratch : ip, caplen, cut, h->caplen < h->len, claimed);
}

/* An empty trace of raw IP packets. */
static struct trace *trace_alloc(int dlt, const char *name)
{
    struct trace *t = calloc(1, sizeof(*t));
    if (t != NULL) t->scratch = malloc(TRACE_SCRATCH);
    if (t == NULL || t->scratch == NULL) {
        free(t);
        return NULL;
    }
    t->linktype = dlt;
    t->link_name = name;
    return t;
}

int trace_new(struct trace **out)
{
    *out = trace_alloc(DLT_RAW, trace_link_name(DLT_RAW));
    return *out ? 0 : SYNACK_ERR_NOMEM;
}

int trace_add_ip(struct trace *t, synack_time_t when, const uint8_t *pkt, size_t len)
{
    t->frames++;
    if (t->limit_reached) return SYNACK_ERR_NOMEM;
    if (len == 0 || ((pkt[0] >> 4) != 4 && (pkt[0] >> 4) != 6)) {
        t->not_ip++;
        return 0;
    }
    if (trace_ip(t, when, pkt, len, false, false, 0)) return 0;
    t->limit_reached = true;
    return SYNACK_ERR_NOMEM;
}

/* Reads every record of `p` into a new trace. */
static int trace_read(struct trace **out, pcap_t *p, char *err, size_t errcap)
{
    int dlt = pcap_datalink(p);
    const char *name = trace_link_name(dlt);
    if (name == NULL) {
        const char *dname = pcap_datalink_val_to_name(dlt);
        snprintf(
            err, errcap,
            "link type %d (%s) is not one trace decodes (Ethernet, Linux cooked, raw IP, loopback)",
            dlt, dname ? dname : "unknown");
        return SYNACK_ERR_IO;
    }
    struct trace *t = trace_alloc(dlt, name);
    if (t == NULL) {
        snprintf(err, errcap, "out of memory");
        return SYNACK_ERR_NOMEM;
    }
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *data;
        int rc = pcap_next_ex(p, &h, &data);
        if (rc == PCAP_ERROR_BREAK) break; /* the end of the file */
        if (rc != 1) {
            t->truncated = true;
            snprintf(t->problem, sizeof(t->problem), "%s", pcap_geterr(p));
            break;
        }
        if (!trace_frame(t, h, data)) {
            t->limit_reached = true;
            break;
        }
    }
    *out = t;
    return 0;
}

/* Opens the stream `fp` (libpcap closes it) and reads it. */
static int trace_open_stream(struct trace **out, FILE *fp, const char *what, char *err,
                             size_t errcap)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, perr);
    if (p == NULL) {
        fclose(fp);
        snprintf(err, errcap, "%s is not a capture file libpcap can read (%s)", what, perr);
        return SYNACK_ERR_IO;
    }
    int rc = trace_read(out, p, err, errcap);
    pcap_close(p);
    return rc;
}

int trace_open_file(struct trace **out, const char *path, char *err, size_t errcap)
{
    if (strcmp(path, "-") == 0)
        return trace_open_stream(out, stdin, "the standard input", err, errcap);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
        return SYNACK_ERR_IO;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
        fclose(fp);
        snprintf(err, errcap, "%s is empty: no capture in it", path);
        return SYNACK_ERR_IO;
    }
    return trace_open_stream(out, fp, path, err, errcap);
}

int trace_open_memory(struct trace **out, const uint8_t *data, size_t len, char *err, size_t errcap)
{
    if (len == 0) {
        snprintf(err, errcap, "the input is empty: no capture in it");
        return SYNACK_ERR_IO;
    }
    FILE *fp = fmemopen((void *)(uintptr_t)data, len, "rb");
    if (fp == NULL) {
        snprintf(err, errcap, "out of memory");
        return SYNACK_ERR_NOMEM;
    }
    return trace_open_stream(out, fp, "the input", err, errcap);
}

void trace_free(struct trace *t)
{
    if (t == NULL) return;
    free(t->pkts);
    free(t->conns);
    free(t->scratch);
    free(t->index);
    free(t);
}

long trace_find_port(const struct trace *t, uint16_t port, size_t from)
{
    for (size_t i = from; i < t->nconns; i++)
        if (t->conns[i].port[0] == port || t->conns[i].port[1] == port) return (long)i;
    return -1;
}

void trace_endpoint(const struct trace_conn *c, int end, char *out, size_t cap)
{
    struct synack_endpoint e = {.addr = c->addr[end], .port = c->port[end]};
    synack_endpoint_format(&e, out, cap);
}
