/* apps/trace: `synack trace`'s reader and analysis on crafted captures: the states each end
 * goes through, the labels of segments, the link layers and file formats, and bad input
 * (empty, not a capture, cut short, snap length, wrong checksums). Captures are written with
 * synack_pcap_* (raw IP), libpcap's pcap_dump (other link types) or by hand (pcapng). */
#include "harness.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synack/link.h>

#include "trace.h"

#define ISS_A 1000u
#define ISS_B 5000u
#define MS 1000000ull

/* A capture being written: raw IP through synack_pcap_*, or any link type through
 * libpcap with `link_header` bytes put before each IP packet. */
struct cap {
    char path[64];
    struct synack_pcap *raw;
    pcap_t *dead;
    pcap_dumper_t *dump;
    const uint8_t *link_header;
    size_t link_len;
    synack_time_t t;
    bool bad_checksum_from_a; /* flip a bit of A's TCP checksums (offload) */
    struct trace *mem;        /* when set, each raw IP packet is filed here too (trace_add_ip) */
};

static void cap_open(struct cap *c, int dlt, const uint8_t *hdr, size_t hdr_len)
{
    *c = (struct cap){.link_header = hdr, .link_len = hdr_len};
    snprintf(c->path, sizeof(c->path), "/tmp/test_trace.XXXXXX");
    int fd = mkstemp(c->path);
    assert_true(fd >= 0);
    close(fd);
    if (dlt < 0) {
        assert_int_equal(synack_pcap_open(&c->raw, c->path, NULL, 0), 0);
        return;
    }
    c->dead = pcap_open_dead(dlt, 65535);
    assert_non_null(c->dead);
    c->dump = pcap_dump_open(c->dead, c->path);
    assert_non_null(c->dump);
}

/* One segment from A (from_a) or B after `ms` more milliseconds: seq and ack relative to
 * each side's ISN, `len` payload bytes. */
static void put(struct cap *c, bool from_a, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
                size_t len, synack_time_t ms)
{
    static const uint8_t zeros[2000];
    struct synack_segment s = {
        .src = synack_addr_v4(from_a ? 0xc6120001 : 0xc6120002),
        .dst = synack_addr_v4(from_a ? 0xc6120002 : 0xc6120001),
        .ttl = 64,
        .src_port = from_a ? 40000 : 80,
        .dst_port = from_a ? 80 : 40000,
        .seq = seq + (from_a ? ISS_A : ISS_B),
        .ack = (flags & SYNACK_TCP_ACK) ? ack + (from_a ? ISS_B : ISS_A) : 0,
        .flags = flags,
        .window = win,
        .payload = len ? zeros : NULL,
        .payload_len = len,
    };
    if (flags & SYNACK_TCP_SYN) {
        s.has_mss = s.has_wscale = true;
        s.mss = 1460;
        s.wscale = 7;
    }
    uint8_t pkt[2100];
    size_t n = synack_segment_emit(&s, pkt + c->link_len, sizeof(pkt) - c->link_len);
    assert_true(n > 0);
    if (from_a && c->bad_checksum_from_a) pkt[c->link_len + 20 + 16] ^= 0x40;
    c->t += ms * MS;
    if (c->mem) assert_int_equal(trace_add_ip(c->mem, c->t, pkt, n), 0);
    if (c->raw) {
        assert_int_equal(synack_pcap_write(c->raw, pkt, n, c->t), 0);
        return;
    }
    memcpy(pkt, c->link_header, c->link_len);
    struct pcap_pkthdr h = {.caplen = (bpf_u_int32)(n + c->link_len),
                            .len = (bpf_u_int32)(n + c->link_len)};
    h.ts.tv_sec = (time_t)(c->t / 1000000000u);
    h.ts.tv_usec = (suseconds_t)(c->t % 1000000000u / 1000u);
    pcap_dump((u_char *)c->dump, &h, pkt);
}

static struct trace *cap_close_and_read(struct cap *c)
{
    if (c->raw) assert_int_equal(synack_pcap_close(c->raw), 0);
    if (c->dump) {
        pcap_dump_close(c->dump);
        pcap_close(c->dead);
    }
    struct trace *t = NULL;
    char err[256];
    assert_int_equal(trace_open_file(&t, c->path, err, sizeof(err)), 0);
    unlink(c->path);
    return t;
}

/* The handshake, 3000 bytes from A, A closes first, B answers with its own FIN. */
static void put_active_close(struct cap *c)
{
    put(c, true, SYNACK_TCP_SYN, 0, 0, 64240, 0, 0);
    put(c, false, SYNACK_TCP_SYN | SYNACK_TCP_ACK, 0, 1, 65160, 0, 1);
    put(c, true, SYNACK_TCP_ACK, 1, 1, 502, 0, 1);
    put(c, true, SYNACK_TCP_ACK | SYNACK_TCP_PSH, 1, 1, 502, 1500, 0);
    put(c, true, SYNACK_TCP_ACK | SYNACK_TCP_PSH, 1501, 1, 502, 1500, 0);
    put(c, true, SYNACK_TCP_ACK | SYNACK_TCP_FIN, 3001, 1, 502, 0, 0);
    put(c, false, SYNACK_TCP_ACK, 1, 3002, 500, 0, 1);
    put(c, false, SYNACK_TCP_ACK | SYNACK_TCP_FIN, 1, 3002, 500, 0, 1);
    put(c, true, SYNACK_TCP_ACK, 3002, 2, 502, 0, 1);
}

static void assert_states(const struct trace_analysis *a, int end, const enum synack_state *want,
                          size_t n)
{
    assert_int_equal(a->initial[end], want[0]);
    assert_int_equal(a->nchanges[end], n - 1);
    for (size_t i = 1; i < n; i++)
        assert_int_equal(a->changes[end][i - 1].state, want[i]);
}

/* An active closer goes SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT; the passive
 * end LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED; the list says so. */
static void trace_active_close_states(void **state)
{
    (void)state;
    struct cap c;
    cap_open(&c, -1, NULL, 0);
    put_active_close(&c);
    struct trace *t = cap_close_and_read(&c);
    assert_int_equal(t->nconns, 1);
    assert_int_equal(t->npkts, 9);
    assert_int_equal(t->conns[0].bytes[0], 3000);
    assert_int_equal(t->conns[0].bytes[1], 0);
    assert_true(t->conns[0].syn_seen && t->conns[0].synack_seen);
    assert_true(t->conns[0].fin_seen[0] && t->conns[0].fin_seen[1]);
    assert_int_equal(t->conns[0].port[0], 40000);

    struct trace_analysis a;
    assert_int_equal(trace_analyze(t, 0, &a), 0);
    assert_false(a.mid_connection);
    const enum synack_state active[] = {SYNACK_CLOSED,     SYNACK_SYN_SENT,   SYNACK_ESTABLISHED,
                                        SYNACK_FIN_WAIT_1, SYNACK_FIN_WAIT_2, SYNACK_TIME_WAIT};
    const enum synack_state passive[] = {SYNACK_LISTEN,     SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED,
                                         SYNACK_CLOSE_WAIT, SYNACK_LAST_ACK,     SYNACK_CLOSED};
    assert_states(&a, 0, active, 6);
    assert_states(&a, 1, passive, 6);
    assert_int_equal(a.changes[0][1].pkt, 1); /* ESTABLISHED at the SYN-ACK */
    assert_int_equal(a.changes[1][1].pkt, 2); /* ESTABLISHED at the third segment */
    assert_int_equal(a.wscale[0], 7);
    assert_int_equal(a.retransmissions, 0);
    assert_int_equal(a.dup_acks, 0);
    trace_analysis_free(&a);
    assert_int_equal(trace_analyze(t, 1, &a), SYNACK_ERR_INVAL);
    assert_int_equal(trace_find_port(t, 80, 0), 0);
    assert_int_equal(trace_find_port(t, 81, 0), -1);
    trace_free(t);
}

/* A SYN on a 4-tuple whose connection has closed opens a second connection; segments
 * after it go to the second. */
static void trace_reopened_tuple(void **state)
{
    (void)state;
    struct cap c;
    cap_open(&c, -1, NULL, 0);
    put_active_close(&c);
    put_active_close(&c);
    struct trace *t = cap_close_and_read(&c);
    assert_int_equal(t->nconns, 2);
    assert_int_equal(t->conns[0].packets, 9);
    assert_int_equal(t->conns[1].packets, 9);
    assert_int_equal(t->pkts[17].conn, 1);
    assert_int_equal(trace_find_port(t, 80, 1), 1);
    assert_int_equal(trace_find_port(t, 80, 2), -1);
    trace_free(t);
}

/* Each label on the segment that earns it. */
static void trace_labels(void **state)
{
    (void)state;
    struct cap c;
    cap_open(&c, -1, NULL, 0);
    put(&c, true, SYNACK_TCP_SYN, 0, 0, 1000, 0, 0);
    put(&c, false, SYNACK_TCP_SYN | SYNACK_TCP_ACK, 0, 1, 1000, 0, 1);
    put(&c, true, SYNACK_TCP_ACK, 1, 1, 1000, 0, 1);         /* 2 */
    put(&c, true, SYNACK_TCP_ACK, 1, 1, 1000, 100, 0);       /* 3: lost */
    put(&c, true, SYNACK_TCP_ACK, 101, 1, 1000, 100, 0);     /* 4 */
    put(&c, true, SYNACK_TCP_ACK, 201, 1, 1000, 100, 0);     /* 5 */
    put(&c, true, SYNACK_TCP_ACK, 301, 1, 1000, 100, 0);     /* 6 */
    put(&c, false, SYNACK_TCP_ACK, 1, 1, 1000, 0, 1);        /* 7: dup ACK #1 */
    put(&c, false, SYNACK_TCP_ACK, 1, 1, 1000, 0, 0);        /* 8: #2 */
    put(&c, false, SYNACK_TCP_ACK, 1, 1, 1000, 0, 0);        /* 9: #3 */
    put(&c, true, SYNACK_TCP_ACK, 1, 1, 1000, 100, 0);       /* 10: retransmission */
    put(&c, false, SYNACK_TCP_ACK, 1, 401, 0, 0, 1);         /* 11: zero window */
    put(&c, true, SYNACK_TCP_ACK, 400, 1, 1000, 0, 200);     /* 12: window probe */
    put(&c, false, SYNACK_TCP_ACK, 1, 401, 1000, 0, 1);      /* 13: window update */
    put(&c, true, SYNACK_TCP_ACK, 400, 1, 1000, 0, 7200000); /* 14: keepalive */
    put(&c, false, SYNACK_TCP_ACK, 1, 401, 1000, 0, 1);      /* 15: plain ACK */
    struct trace *t = cap_close_and_read(&c);
    struct trace_analysis a;
    assert_int_equal(trace_analyze(t, 0, &a), 0);
    assert_int_equal(a.n, 16);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(a.labels[i], 0);
    for (uint32_t k = 1; k <= 3; k++) {
        assert_int_equal(a.labels[6 + k], TRACE_DUP_ACK);
        assert_int_equal(a.dup_ack_nr[6 + k], k);
    }
    assert_int_equal(a.labels[10], TRACE_RETRANSMISSION);
    assert_int_equal(a.labels[11], TRACE_ZERO_WINDOW);
    assert_int_equal(a.labels[12], TRACE_WINDOW_PROBE);
    assert_int_equal(a.labels[13], TRACE_WINDOW_UPDATE);
    assert_int_equal(a.labels[14], TRACE_KEEPALIVE);
    assert_int_equal(a.labels[15], 0);
    assert_int_equal(a.retransmissions, 1);
    assert_int_equal(a.dup_acks, 3);
    trace_analysis_free(&a);

    FILE *out = tmpfile();
    assert_int_equal(trace_print_ladder(t, 0, out), 0);
    assert_int_equal(trace_write_svg(t, 0, out), 0);
    rewind(out);
    char text[16384];
    size_t got = fread(text, 1, sizeof(text) - 1, out);
    text[got] = '\0';
    fclose(out);
    assert_non_null(strstr(text, "<mss 1460, wscale 7> A:SYN_SENT B:SYN_RECEIVED"));
    assert_non_null(strstr(text, "dup ACK #3"));
    assert_non_null(strstr(text, "RETRANSMISSION"));
    assert_non_null(strstr(text, "window probe"));
    assert_non_null(strstr(text, "keepalive"));
    assert_non_null(strstr(text, "stroke=\"red\""));
    assert_non_null(strstr(text, "</svg>"));
    trace_free(t);
}

/* Crossing SYNs: each end's SYN-ACK answers the other's SYN, not a retransmission. */
static void trace_simultaneous_open(void **state)
{
    (void)state;
    struct cap c;
    cap_open(&c, -1, NULL, 0);
    put(&c, true, SYNACK_TCP_SYN, 0, 0, 1000, 0, 0);
    put(&c, false, SYNACK_TCP_SYN, 0, 0, 1000, 0, 0);
    put(&c, true, SYNACK_TCP_SYN | SYNACK_TCP_ACK, 0, 1, 1000, 0, 1);
    put(&c, false, SYNACK_TCP_SYN | SYNACK_TCP_ACK, 0, 1, 1000, 0, 0);
    struct trace *t = cap_close_and_read(&c);
    assert_int_equal(t->nconns, 1);
    struct trace_analysis a;
    assert_int_equal(trace_analyze(t, 0, &a), 0);
    assert_int_equal(a.retransmissions, 0);
    const enum synack_state want[] = {SYNACK_CLOSED, SYNACK_SYN_SENT, SYNACK_SYN_RECEIVED,
                                      SYNACK_ESTABLISHED};
    assert_states(&a, 0, want, 4);
    trace_analysis_free(&a);
    trace_free(t);
}

/* A SYN answered by a RST: the connector goes back to CLOSED, the other end was never
 * listening. */
static void trace_refused(void **state)
{
    (void)state;
    struct cap c;
    cap_open(&c, -1, NULL, 0);
    put(&c, true, SYNACK_TCP_SYN, 0, 0, 1000, 0, 0);
    put(&c, false, SYNACK_TCP_RST | SYNACK_TCP_ACK, 0, 1, 0, 0, 1);
    struct trace *t = cap_close_and_read(&c);
    struct trace_analysis a;
    assert_int_equal(trace_analyze(t, 0, &a), 0);
    const enum synack_state want_a[] = {SYNACK_CLOSED, SYNACK_SYN_SENT, SYNACK_CLOSED};
    const enum synack_state want_b[] = {SYNACK_CLOSED};
    assert_states(&a, 0, want_a, 3);
    assert_states(&a, 1, want_b, 1);
    assert_int_equal(a.zero_windows, 0); /* a RST's window means nothing */
    trace_analysis_free(&a);
    trace_free(t);
}

/* A capture that starts after the handshake: both ends ESTABLISHED, marked inferred. */
static void trace_mid_connection(void **state)
{
    (void)state;
    struct cap c;
    cap_open(&c, -1, NULL, 0);
    put(&c, true, SYNACK_TCP_ACK, 1, 1, 1000, 100, 0);
    put(&c, false, SYNACK_TCP_ACK | SYNACK_TCP_FIN, 1, 101, 1000, 0, 1);
    struct trace *t = cap_close_and_read(&c);
    struct trace_analysis a;
    assert_int_equal(trace_analyze(t, 0, &a), 0);
    assert_true(a.mid_connection);
    assert_false(t->conns[0].syn_seen);
    const enum synack_state b[] = {SYNACK_ESTABLISHED, SYNACK_FIN_WAIT_1};
    const enum synack_state aa[] = {SYNACK_ESTABLISHED, SYNACK_CLOSE_WAIT};
    assert_states(&a, 1, b, 2);
    assert_states(&a, 0, aa, 2);
    trace_analysis_free(&a);
    FILE *out = tmpfile();
    assert_int_equal(trace_print_ladder(t, 0, out), 0);
    rewind(out);
    char text[4096];
    text[fread(text, 1, sizeof(text) - 1, out)] = '\0';
    fclose(out);
    assert_non_null(strstr(text, "(inferred, the capture starts mid-connection) ESTABLISHED"));
    trace_free(t);
}

/* Checksum offload: A's segments carry wrong checksums; they are kept and counted. */
static void trace_checksum_offload(void **state)
{
    (void)state;
    struct cap c;
    cap_open(&c, -1, NULL, 0);
    c.bad_checksum_from_a = true;
    put_active_close(&c);
    struct trace *t = cap_close_and_read(&c);
    assert_int_equal(t->npkts, 9);
    assert_int_equal(t->checksum_bad, 6);
    assert_true(t->pkts[0].checksum_bad);
    assert_false(t->pkts[1].checksum_bad);
    trace_free(t);
}

/* Linux cooked capture (SLL) and Ethernet with an 802.1Q tag, through libpcap's writer. */
static void trace_link_layers(void **state)
{
    (void)state;
    static const uint8_t sll[16] = {0, 4, 0, 1, 0, 6, 2, 2, 2, 2, 2, 2, 0, 0, 0x08, 0x00};
    static const uint8_t eth[18] = {2, 2, 2, 2,    2,    2,    4,    4,    4,
                                    4, 4, 4, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00};
    struct {
        int dlt;
        const uint8_t *hdr;
        size_t len;
        const char *name;
    } cases[] = {{DLT_LINUX_SLL, sll, sizeof(sll), "Linux cooked (SLL)"},
                 {DLT_EN10MB, eth, sizeof(eth), "Ethernet"}};
    for (size_t i = 0; i < 2; i++) {
        struct cap c;
        cap_open(&c, cases[i].dlt, cases[i].hdr, cases[i].len);
        put_active_close(&c);
        struct trace *t = cap_close_and_read(&c);
        assert_string_equal(t->link_name, cases[i].name);
        assert_int_equal(t->nconns, 1);
        assert_int_equal(t->npkts, 9);
        assert_int_equal(t->conns[0].bytes[0], 3000);
        assert_int_equal(t->pkts[1].t, 1 * MS);
        trace_free(t);
    }
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* pcapng, written by hand: section header, interface (raw IP), one enhanced packet. */
static void trace_pcapng(void **state)
{
    (void)state;
    uint8_t ip[64];
    struct synack_segment s = {.src = synack_addr_v4(0xc6120001),
                               .dst = synack_addr_v4(0xc6120002),
                               .ttl = 64,
                               .src_port = 40000,
                               .dst_port = 80,
                               .seq = 7,
                               .flags = SYNACK_TCP_SYN,
                               .window = 1000};
    size_t n = synack_segment_emit(&s, ip, sizeof(ip));
    assert_int_equal(n, 40);
    uint8_t f[28 + 20 + 32 + 40] = {0}; /* SHB, IDB, EPB (32 bytes around its 40) */
    put_le32(f, 0x0a0d0d0a);            /* section header block */
    put_le32(f + 4, 28);
    put_le32(f + 8, 0x1a2b3c4d);
    f[12] = 1; /* version 1.0 */
    memset(f + 16, 0xff, 8);
    put_le32(f + 24, 28);
    put_le32(f + 28, 1); /* interface description block: LINKTYPE_RAW */
    put_le32(f + 32, 20);
    f[36] = 101;
    put_le32(f + 40, 65535);
    put_le32(f + 44, 20);
    put_le32(f + 48, 6); /* enhanced packet block */
    put_le32(f + 52, 32 + 40);
    put_le32(f + 68, 40); /* after interface 0 and the timestamp's two halves */
    put_le32(f + 72, 40);
    memcpy(f + 76, ip, 40);
    put_le32(f + 116, 32 + 40);
    struct trace *t;
    char err[256];
    assert_int_equal(trace_open_memory(&t, f, sizeof(f), err, sizeof(err)), 0);
    assert_int_equal(t->npkts, 1);
    assert_true(t->conns[0].syn_seen);
    trace_free(t);
}

/* Bad input: one sentence for what is not a capture; what can be read of the rest. */
static void trace_bad_input(void **state)
{
    (void)state;
    struct trace *t;
    char err[256];
    assert_int_equal(trace_open_memory(&t, (const uint8_t *)"", 0, err, sizeof(err)),
                     SYNACK_ERR_IO);
    assert_non_null(strstr(err, "empty"));
    const char junk[] = "GET / HTTP/1.1\r\n\r\n";
    assert_int_equal(trace_open_memory(&t, (const uint8_t *)junk, sizeof(junk), err, sizeof(err)),
                     SYNACK_ERR_IO);
    assert_non_null(strstr(err, "not a capture file"));
    assert_int_equal(trace_open_file(&t, "/nonexistent/x.pcap", err, sizeof(err)), SYNACK_ERR_IO);

    /* Cut short in the middle of the last record. */
    struct cap c;
    cap_open(&c, -1, NULL, 0);
    put_active_close(&c);
    assert_int_equal(synack_pcap_close(c.raw), 0);
    FILE *f = fopen(c.path, "rb");
    uint8_t buf[8192];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    unlink(c.path);
    assert_int_equal(trace_open_memory(&t, buf, len - 10, err, sizeof(err)), 0);
    assert_true(t->truncated);
    assert_int_equal(t->npkts, 8);
    trace_free(t);

    /* A snap length of 60 cuts the data segments' payload (kept, lengths as sent); one of
     * 30 cuts every TCP header (none kept, counted). The record headers start at 24; the
     * raw file has 16-byte record headers. */
    for (int snap = 60; snap >= 30; snap -= 30) {
        uint8_t cut[8192];
        size_t in = 24, outl = 24;
        memcpy(cut, buf, 24);
        while (in + 16 <= len) {
            uint32_t incl = (uint32_t)buf[in + 8] | (uint32_t)buf[in + 9] << 8;
            uint32_t keep = incl < (uint32_t)snap ? incl : (uint32_t)snap;
            memcpy(cut + outl, buf + in, 16);
            put_le32(cut + outl + 8, keep);
            memcpy(cut + outl + 16, buf + in + 16, keep);
            outl += 16 + keep;
            in += 16 + incl;
        }
        assert_int_equal(trace_open_memory(&t, cut, outl, err, sizeof(err)), 0);
        if (snap == 60) {
            assert_int_equal(t->npkts, 9);
            assert_int_equal(t->payload_cut, 2);
            assert_int_equal(t->conns[0].bytes[0], 3000);
        } else {
            assert_int_equal(t->npkts, 0);
            assert_int_equal(t->headers_cut, 9);
        }
        trace_free(t);
    }
}

/* The text `write` puts in a file, NUL-terminated in `buf`. */
static void write_text(const struct trace *t, int (*write)(const struct trace *, size_t, FILE *),
                       char *buf, size_t cap)
{
    FILE *out = tmpfile();
    assert_non_null(out);
    assert_int_equal(write(t, 0, out), 0);
    rewind(out);
    buf[fread(buf, 1, cap - 1, out)] = '\0';
    fclose(out);
}

/* How many times `needle` stands in `hay`. */
static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Round trips with known delays: the SYN answered after 10 ms, a segment ACKed after 25
 * ms, one retransmitted (its ACK gives no sample: Karn), one ACKed after 15 ms; the
 * throughput adds up to the bytes acknowledged; in flight follows sent minus acked. */
static void put_rtt_story(struct cap *c)
{
    put(c, true, SYNACK_TCP_SYN, 0, 0, 1000, 0, 0);
    put(c, false, SYNACK_TCP_SYN | SYNACK_TCP_ACK, 0, 1, 1000, 0, 10); /* SYN: 10 ms */
    put(c, true, SYNACK_TCP_ACK, 1, 1, 1000, 0, 0);
    put(c, true, SYNACK_TCP_ACK, 1, 1, 1000, 100, 10);   /* 20 ms: 1..101 */
    put(c, true, SYNACK_TCP_ACK, 101, 1, 1000, 100, 0);  /* 20 ms: 101..201 */
    put(c, false, SYNACK_TCP_ACK, 1, 101, 1000, 0, 25);  /* 45 ms: 25 ms */
    put(c, true, SYNACK_TCP_ACK, 101, 1, 1000, 100, 15); /* 60 ms: resent */
    put(c, false, SYNACK_TCP_ACK, 1, 201, 1000, 0, 10);  /* 70 ms: Karn, no sample */
    put(c, true, SYNACK_TCP_ACK, 201, 1, 1000, 100, 10); /* 80 ms: 201..301 */
    put(c, false, SYNACK_TCP_ACK, 1, 301, 1000, 0, 15);  /* 95 ms: 15 ms */
}

static void trace_rtt_karn(void **state)
{
    (void)state;
    struct cap c;
    cap_open(&c, -1, NULL, 0);
    put_rtt_story(&c);
    struct trace *t = cap_close_and_read(&c);
    struct trace_analysis a;
    struct trace_series s;
    assert_int_equal(trace_analyze(t, 0, &a), 0);
    assert_int_equal(trace_data_dir(&t->conns[0]), 0);
    assert_int_equal(trace_series_compute(t, &a, 0, &s), 0);
    const double want[][2] = {{10, 10}, {45, 25}, {95, 15}}; /* ACK time, RTT (ms) */
    assert_int_equal(s.nrtt, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s.rtt[i].t, (synack_time_t)want[i][0] * MS);
        assert_true(s.rtt[i].v > want[i][1] / 1e3 - 1e-9 && s.rtt[i].v < want[i][1] / 1e3 + 1e-9);
    }
    assert_int_equal(s.rtt_skipped, 1);
    double bits = 0;
    for (size_t i = 0; i < s.ntput; i++)
        bits += s.tput[i].v * ((double)s.interval / 1e9);
    assert_true(bits > 300 * 8 - 1e-6 && bits < 300 * 8 + 1e-6); /* 1..301 acknowledged */
    /* In flight from the first ACK on: SYN-ACK 0, 100, 200, 100, (resent) 100, 0, 100, 0. */
    const double fly[] = {0, 100, 200, 100, 100, 0, 100, 0};
    assert_int_equal(s.nfly, 8);
    for (size_t i = 0; i < 8; i++)
        assert_true(s.fly[i].v == fly[i]);
    trace_series_free(&s);
    trace_analysis_free(&a);
    trace_free(t);
}

/* The SVG has its panels, one dot per RTT sample, and marks a partial capture. */
static void trace_graph_panels(void **state)
{
    (void)state;
    struct cap c;
    cap_open(&c, -1, NULL, 0);
    put_rtt_story(&c);
    struct trace *t = cap_close_and_read(&c);
    static char svg[65536];
    write_text(t, trace_write_svg, svg, sizeof(svg));
    assert_non_null(strstr(svg, "<?xml"));
    const char *ids[] = {"id=\"panel-tsg\"", "id=\"panel-throughput\"", "id=\"panel-rtt\"",
                         "id=\"panel-inflight\""};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(count_of(svg, ids[i]), 1);
    assert_int_equal(count_of(svg, "<circle class=\"rtt\""), 3);
    assert_non_null(strstr(svg, "rtt 25.000 ms"));
    assert_non_null(strstr(svg, "Karn: 1 ACKs of resent data skipped"));
    assert_null(strstr(svg, "id=\"partial\""));
    trace_free(t);

    cap_open(&c, -1, NULL, 0);
    put(&c, true, SYNACK_TCP_ACK, 1, 1, 1000, 100, 0);
    put(&c, false, SYNACK_TCP_ACK, 1, 101, 1000, 0, 1);
    t = cap_close_and_read(&c);
    write_text(t, trace_write_svg, svg, sizeof(svg));
    assert_non_null(strstr(svg, "id=\"partial\""));
    assert_int_equal(count_of(svg, "<circle class=\"rtt\""), 1);
    trace_free(t);
}

static int write_html(const struct trace *t, size_t conn, FILE *out)
{
    return trace_write_html(t, conn, "a<b>.pcap", out);
}

/* The page: one file, nothing fetched, the list, the ladder, the states and the SVG. */
static void trace_html_page(void **state)
{
    (void)state;
    struct cap c;
    cap_open(&c, -1, NULL, 0);
    put_rtt_story(&c);
    struct trace *t = cap_close_and_read(&c);
    static char html[131072];
    write_text(t, write_html, html, sizeof(html));
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "href="));
    assert_null(strstr(html, "<?xml"));
    assert_non_null(strstr(html, "a&lt;b&gt;.pcap: raw IP"));                   /* the list */
    assert_non_null(strstr(html, "RETRANSMISSION"));                            /* the ladder */
    assert_non_null(strstr(html, "A 198.18.0.1:40000: CLOSED -&gt; SYN_SENT")); /* states */
    assert_int_equal(count_of(html, "<svg "), 1);
    assert_non_null(strstr(html, "id=\"panel-rtt\""));
    assert_non_null(strstr(html, "</html>"));
    trace_free(t);
}

/* trace_add_ip files packets as reading their capture does. */
static void trace_from_memory(void **state)
{
    (void)state;
    struct cap c;
    cap_open(&c, -1, NULL, 0);
    assert_int_equal(trace_new(&c.mem), 0);
    struct trace *mem = c.mem;
    put_rtt_story(&c);
    const uint8_t junk[] = {0x45, 0, 0, 20};
    assert_int_equal(trace_add_ip(mem, c.t, junk, 0), 0);
    struct trace *t = cap_close_and_read(&c);
    assert_int_equal(mem->npkts, t->npkts);
    assert_int_equal(mem->nconns, 1);
    assert_int_equal(mem->not_ip, 1);
    assert_int_equal(mem->frames, t->frames + 1);
    assert_string_equal(mem->link_name, "raw IP");
    for (size_t i = 0; i < t->npkts; i++) {
        const struct trace_pkt *m = &mem->pkts[i], *f = &t->pkts[i];
        assert_int_equal(m->t, f->t);
        assert_int_equal(m->dir, f->dir);
        assert_int_equal(m->flags, f->flags);
        assert_int_equal(m->seq, f->seq);
        assert_int_equal(m->ack, f->ack);
        assert_int_equal(m->len, f->len);
    }
    assert_int_equal(mem->conns[0].bytes[0], t->conns[0].bytes[0]);
    assert_true(mem->conns[0].syn_seen && mem->conns[0].synack_seen);
    trace_free(mem);
    trace_free(t);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(trace_rtt_karn),
    cmocka_unit_test(trace_graph_panels),
    cmocka_unit_test(trace_html_page),
    cmocka_unit_test(trace_from_memory),
    cmocka_unit_test(trace_active_close_states),
    cmocka_unit_test(trace_labels),
    cmocka_unit_test(trace_simultaneous_open),
    cmocka_unit_test(trace_mid_connection),
    cmocka_unit_test(trace_checksum_offload),
    cmocka_unit_test(trace_link_layers),
    cmocka_unit_test(trace_pcapng),
    cmocka_unit_test(trace_bad_input),
    cmocka_unit_test(trace_reopened_tuple),
    cmocka_unit_test(trace_refused),
};

SYNACK_TEST_MAIN("trace", tests)
