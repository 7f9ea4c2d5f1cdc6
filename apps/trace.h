/* The engine of `synack trace`: reads a capture file (anything libpcap reads: pcap and
 * pcapng; Ethernet with 802.1Q/802.1ad tags, Linux cooked v1 and v2, raw IP, BSD
 * NULL/loopback), parses its TCP segments with the stack's own parser
 * (synack_segment_parse_capture) and groups them into connections; then lists them, prints
 * one as an annotated ladder with both ends' inferred RFC 9293 states, or draws its
 * time-sequence graph as SVG (trace_svg.c).
 *
 * Bad input never crashes it: a file that is not a capture is an error with one sentence;
 * a file cut short, packets cut by the snap length, packets that are not TCP or do not
 * parse are counted and reported, and what could be read is shown, marked partial. */
#ifndef SYNACK_TRACE_H
#define SYNACK_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <synack/synack.h>

/* Bounds on what one trace holds: past them the rest of the file is not read (reported). */
#define TRACE_MAX_PACKETS 4000000u
#define TRACE_MAX_CONNS 100000u
/* State changes remembered per end of a connection (a connection has at most ~8). */
#define TRACE_MAX_STATES 16

/* One TCP segment of the capture. Direction 0 is A to B: A is the end that sent the
 * connection's first SYN (or, without one, its first captured segment). */
struct trace_pkt {
    synack_time_t t;   /* nanoseconds since the capture's first packet */
    uint32_t conn;     /* index into trace.conns */
    uint8_t dir;       /* 0: A to B; 1: B to A */
    uint8_t flags;     /* SYNACK_TCP_* */
    bool checksum_bad; /* the TCP checksum was wrong (checksum offload), shown anyway */
    bool cut;          /* the snap length cut its payload: len is the length on the wire */
    uint32_t seq, ack;
    uint16_t window; /* as sent, not scaled */
    uint32_t len;    /* payload bytes on the wire */
    bool has_mss, has_wscale, sack_permitted, has_ts;
    uint16_t mss;
    uint8_t wscale;
    uint8_t sack_count; /* SACK blocks, 0..SYNACK_SEGMENT_MAX_SACK */
    uint32_t sack[SYNACK_SEGMENT_MAX_SACK][2];
};

/* One connection: a 4-tuple from a SYN (or its first captured segment) until a SYN opens
 * the 4-tuple anew after a FIN from both ends or a RST. */
struct trace_conn {
    struct synack_addr addr[2]; /* [0] A, [1] B */
    uint16_t port[2];
    synack_time_t first, last; /* its earliest and latest segment (a clock can step back) */
    uint64_t packets;
    uint64_t bytes[2]; /* payload bytes each way, retransmissions included */
    bool syn_seen;     /* A's SYN was captured: the handshake is seen from its start */
    bool synack_seen;  /* B's SYN-ACK was captured */
    bool fin_seen[2];  /* a FIN from A, from B */
    bool rst_seen;     /* a RST either way */
};

struct trace {
    struct trace_pkt *pkts;
    size_t npkts, pkts_cap;
    struct trace_conn *conns;
    size_t nconns, conns_cap;
    int linktype;          /* the file's DLT_* */
    const char *link_name; /* "Ethernet", "Linux cooked (SLL)", ... */
    uint64_t frames;       /* records read from the file */
    uint64_t not_ip;       /* frames without an IPv4 or IPv6 packet (ARP, ...) */
    uint64_t not_tcp;      /* IP packets of another protocol (UDP, ICMP, fragments) */
    uint64_t malformed;    /* TCP packets the stack's parser refuses (its drop reason) */
    uint64_t headers_cut;  /* packets the snap length cut inside the IP or TCP header */
    uint64_t payload_cut;  /* segments the snap length cut inside the payload (kept) */
    uint64_t checksum_bad; /* segments with a wrong TCP checksum (kept, flagged) */
    bool truncated;        /* the file ends in the middle of a record, or is corrupt */
    bool limit_reached;    /* TRACE_MAX_PACKETS or TRACE_MAX_CONNS stopped the reading */
    char problem[256];     /* what libpcap said when reading stopped early, or "" */
    synack_time_t t0;      /* absolute time of the first packet (ns since the epoch) */
    uint8_t *scratch;      /* 65536 bytes: a snap-length-cut packet rebuilt for the parser */
    uint32_t *index;       /* open addressing by 4-tuple: 1 + the newest connection, 0 empty */
    size_t index_cap;      /* slots, a power of two, at least twice nconns */
};

/* Reads the capture file at `path` ("-": the standard input, which it closes). Returns 0 and a
 * trace in *out (even with no TCP in it: nconns 0), or SYNACK_ERR_IO with a sentence in err
 * (missing, empty, not a capture libpcap reads, a link type it cannot decode), SYNACK_ERR_NOMEM. */
int trace_open_file(struct trace **out, const char *path, char *err, size_t errcap);
/* The same from `len` bytes in memory (the fuzz target). */
int trace_open_memory(struct trace **out, const uint8_t *data, size_t len, char *err,
                      size_t errcap);
/* An empty trace of raw IP packets (link_name "raw IP") to fill with trace_add_ip: the
 * record of a run that never went through a file (`synack demo --svg`). Returns 0 or
 * SYNACK_ERR_NOMEM. */
int trace_new(struct trace **out);
/* Files the IPv4 or IPv6 packet `pkt` of `len` bytes, seen at `when` (nanoseconds; the
 * graphs count time from 0), as a capture's record would be: a TCP segment into its
 * connection, anything else counted. Returns 0, or SYNACK_ERR_NOMEM when memory or a
 * TRACE_MAX_* bound stops it (limit_reached is then set and later packets are not filed). */
int trace_add_ip(struct trace *t, synack_time_t when, const uint8_t *pkt, size_t len);
void trace_free(struct trace *t);

/* The table of connections and, under it, one line per reason some packets were not shown
 * (not TCP, malformed, cut, wrong checksums, the file cut short). `name` heads it. */
void trace_print_list(const struct trace *t, const char *name, FILE *out);

/* What a segment is, beside its flags: labels for the ladder and the graph. */
enum trace_label {
    TRACE_RETRANSMISSION = 1u << 0,
    TRACE_DUP_ACK = 1u << 1,
    TRACE_ZERO_WINDOW = 1u << 2,
    TRACE_WINDOW_UPDATE = 1u << 3,
    TRACE_WINDOW_PROBE = 1u << 4,
    TRACE_KEEPALIVE = 1u << 5,
};

/* One state change of one end, caused by the segment `pkt` (an index into the
 * connection's segments, as trace_analysis.pkts). */
struct trace_state_change {
    size_t pkt;
    enum synack_state state;
};

/* One connection worked out: per segment its labels and relative numbers, and each end's
 * inferred state sequence. */
struct trace_analysis {
    size_t n;             /* segments of the connection */
    size_t *pkts;         /* [n]: their indexes into trace.pkts, in capture order */
    uint32_t *labels;     /* [n]: enum trace_label bits */
    uint32_t *dup_ack_nr; /* [n]: with TRACE_DUP_ACK, which duplicate (1, 2, 3, ...) */
    uint32_t base[2];     /* sequence number shown as 0 each way (the ISN when seen) */
    uint8_t wscale[2];    /* window shift each way (0 unless both SYNs offered it) */
    bool mid_connection;  /* the capture started after the handshake: states inferred */
    enum synack_state initial[2];
    struct trace_state_change changes[2][TRACE_MAX_STATES];
    size_t nchanges[2];
    uint32_t retransmissions, dup_acks, zero_windows, probes, keepalives;
};

/* Works out connection `conn` (0-based). Returns 0, SYNACK_ERR_INVAL (no such
 * connection) or SYNACK_ERR_NOMEM; free with trace_analysis_free. */
int trace_analyze(const struct trace *t, size_t conn, struct trace_analysis *a);
void trace_analysis_free(struct trace_analysis *a);

/* The first connection with `port` at either end, from index `from`: its index, or -1. */
long trace_find_port(const struct trace *t, uint16_t port, size_t from);

/* The annotated ladder of connection `conn`: one line per segment, then both ends' state
 * sequences and the counts of retransmissions, duplicate ACKs, ... Returns as
 * trace_analyze. */
int trace_print_ladder(const struct trace *t, size_t conn, FILE *out);

/* Both ends' inferred state sequences from `a`, a line each:
 * "A 198.18.0.1:40000: CLOSED -> SYN_SENT -> ...". */
void trace_print_states(const struct trace_conn *c, const struct trace_analysis *a, FILE *out);

/* ---- series over time (trace_series.c) ---------------------------------------------- */

/* One value at one time: a point of a graph. */
struct trace_point {
    synack_time_t t; /* as trace_pkt.t */
    double v;
};

/* What the direction carrying data did over time, as the capture point saw it. */
struct trace_series {
    int dir;                  /* the data direction: 0 A to B, 1 B to A */
    synack_time_t interval;   /* the throughput's bin width, ns */
    struct trace_point *tput; /* [ntput]: bits per second acknowledged in each bin,
                               * stamped with the bin's start */
    struct trace_point *rtt;  /* [nrtt]: round-trip samples in seconds, stamped with the
                               * ACK that gave them */
    struct trace_point *fly;  /* [nfly]: bytes in flight after each segment that changed it */
    size_t ntput, nrtt, nfly;
    uint32_t rtt_skipped; /* ACKs that covered retransmitted data: no sample (Karn) */
};

/* The series of connection `conn`'s data direction `dir` (trace_data_dir), from its
 * analysis `a`:
 * - throughput: the bytes the other end's cumulative ACK advanced over, per bin;
 * - RTT: from a segment's first transmission to the first ACK that covers all of it (SYN
 *   and FIN included), one sample per ACK that advances, for the newest segment it covers;
 *   RFC 6298 (3), Karn's algorithm: an ACK that covers any retransmitted byte gives none;
 * - in flight: the highest sequence number sent minus the highest acknowledged.
 * At the capture point: a capture at the sender shows the RTT the sender sees. Returns 0 or
 * SYNACK_ERR_NOMEM; free with trace_series_free. */
int trace_series_compute(const struct trace *t, const struct trace_analysis *a, int dir,
                         struct trace_series *s);
void trace_series_free(struct trace_series *s);

/* The direction of `c` that carried more payload (A to B on a tie). */
int trace_data_dir(const struct trace_conn *c);

/* ---- graphs (trace_svg.c) ------------------------------------------------------------ */

/* A panel of lines from outside the capture, drawn under the capture's panels on the same
 * time axis (the demo's congestion window). */
struct trace_line {
    const char *name;   /* in the legend: "cwnd" */
    const char *colour; /* an SVG colour: "blue" */
    const struct trace_point *pts;
    size_t n;
};
struct trace_panel {
    const char *id;    /* the panel's element id: "panel-cwnd" */
    const char *title; /* its heading */
    const char *unit;  /* the y axis: "bytes" */
    struct trace_line lines[2];
    size_t nlines;
};

/* The graphs of connection `conn` as one SVG document, stacked panels sharing the time
 * axis (each a <g class="panel"> with its id):
 * - panel-tsg: the time-sequence graph (Stevens, tcptrace) of the direction carrying more
 *   payload: its data segments as vertical bars (retransmissions red), the other end's ACK
 *   line, its advertised window's right edge, its SACK blocks;
 * - panel-throughput, panel-rtt, panel-inflight: trace_series_compute's series (RTT samples
 *   are <circle class="rtt"> with a <title> giving the time and the RTT);
 * - then each of `extra[nextra]`.
 * A capture that starts mid-connection, or a file cut short, is marked partial at the top
 * (an element with id "partial"). `xml_header`: start with the XML declaration (a file of
 * its own), not for an SVG inside HTML. Returns as trace_analyze, or SYNACK_ERR_IO when
 * writing fails. */
int trace_write_graphs(const struct trace *t, size_t conn, const struct trace_panel *extra,
                       size_t nextra, bool xml_header, FILE *out);
/* trace_write_graphs with no extra panel, as a file of its own. */
int trace_write_svg(const struct trace *t, size_t conn, FILE *out);

/* ---- the page (trace_html.c) --------------------------------------------------------- */

/* `text` with &, <, > and " escaped for HTML. */
void trace_html_escape(const char *text, size_t len, FILE *out);
/* The head of a self-contained page titled `title` (escaped): styles inline, no script,
 * nothing fetched. */
void trace_html_begin(const char *title, FILE *out);
/* A section headed `heading` with `text` in it as preformatted text (escaped). */
void trace_html_pre(const char *id, const char *heading, const char *text, size_t len, FILE *out);
/* Closes the page begun by trace_html_begin; SYNACK_ERR_IO when writing failed. */
int trace_html_end(FILE *out);
/* The page of `synack trace --html`: the list of connections (the file called `name`),
 * connection `conn`'s ladder, both ends' inferred state sequences and its graphs inline.
 * Returns as trace_write_graphs. */
int trace_write_html(const struct trace *t, size_t conn, const char *name, FILE *out);

/* End `end` (0: A, 1: B) of `c` as text, "198.18.0.1:40000" or "[2001:db8::1]:80". */
void trace_endpoint(const struct trace_conn *c, int end, char *out, size_t cap);

#endif
