/*
 * The deterministic torture run: two synack stacks over a simulated path whose every
 * parameter (loss 0-20%, reordering, duplication, corruption, latency, jitter, rate,
 * queue, buffers from a few bytes to 1 MiB, MTU, options, congestion controller, Nagle,
 * delayed ACK, transfer sizes both ways, the application's write and read pattern with
 * pauses, who half-closes when) is drawn from one 64-bit seed. Shared by `synack torture`
 * and tests/sim/test_torture.c, so a seed the tests report replays exactly by hand.
 *
 * Everything comes from the seed through the splitmix64 generator in torture.c: no rand(),
 * no clock. The same seed (and profile) gives the same run, packet for packet.
 *
 * The applications: the client connects, writes its bytes in random-sized send() calls,
 * shuts down (half-close) and reads until EOF; the server accepts, reads, writes its bytes
 * (at once, or only after EOF) and shuts down after EOF (or as soon as it has written);
 * each then closes at once or waits for CLOSED. Readers may be rate-limited and pause for
 * up to 10 s of virtual time, which closes windows.
 *
 * What a seed must satisfy
 *   - Both byte streams arrive exactly: byte i of direction d is torture_stream_byte(seed,
 *     d, i); every byte read is compared, and EOF must come after exactly the right count.
 *   - Both connections reach CLOSED (TIME_WAIT on the way is fine) without an error,
 *     within the seed's time bound (torture_params.bound, formula in torture.c,
 *     params_bound()); then, once the listener is closed (which resets a half-open
 *     connection a late duplicate SYN may have made), neither stack has a timer left, and
 *     each stack holds exactly the bytes it held when it was made (counted through its
 *     allocator hooks: every connection, TIME_WAIT record and listener was freed).
 *   - After every simulator step and every application action, for each connection the
 *     application still holds (see torture.c, check_conn()):
 *       snd_una <= snd_nxt (mod 2^32); bytes_in_flight == snd_nxt - snd_una;
 *       snd_nxt - snd_una <= send_queued + 2 (unacknowledged data is still buffered; +SYN/FIN);
 *       sndbuf and rcvbuf (as the stack reports them now) between what was configured and
 *       its maximum (autotuning); send_queued <= sndbuf; recv_queued <= rcvbuf;
 *       rcv_wnd + recv_queued <= rcvbuf + scale slack (the window offered is backed by
 *       buffer space), where scale slack = 2^rcv_wscale - 1;
 *       the window offered now (rcv_nxt + rcv_wnd) never retracts the right edge already
 *       advertised on the wire by more than the scale slack (RFC 9293 §3.8.6.2.2);
 *       snd_wnd <= the peer's rcvbuf + 2^snd_wscale - 1, and <= 65535 without scaling;
 *       in a step that sent data: pipe <= cwnd + 3*snd_mss + 2 (2 segments of limited
 *       transmit, RFC 3042; one tail loss probe, RFC 8985 §7; a 1-byte zero-window probe;
 *       a FIN), except that the step entering recovery may add one segment to pipe
 *       whatever cwnd says (RFC 6675 §5 (4.3)); a pipe that grows without sending (marks
 *       cleared when recovery ends) is not a violation;
 *       once cwnd is reported: cwnd >= SMSS (snd_eff_mss; the loss window, RFC 5681 §3.1)
 *       and an ssthresh that is set is >= 2*SMSS (RFC 5681 (4));
 *       every counter of synack_tcp_info is monotonic; options reported as negotiated
 *       match what both configurations offered.
 *   - On the wire, per sender: the right edge it advertises (ACK + window << scale) never
 *     moves left by more than the scale rounding (2^scale - 1); data never goes past the
 *     largest edge the peer advertised, but for a one-byte zero-window probe.
 *   - At the end: each stack counted exactly the peer's byte count as in-sequence payload
 *     (bytes_in); retransmits <= segs_out; fast_retransmits <= retransmits; dsacks_in <=
 *     sack_blocks_in; no SACK blocks without SACK, no RACK/TLP without RACK; and every
 *     corrupted packet the simulator delivered was dropped as malformed, no more, no less.
 */
#ifndef SYNACK_TORTURE_H
#define SYNACK_TORTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <synack/link.h>
#include <synack/synack.h>

#define TORTURE_CLIENT 0
#define TORTURE_SERVER 1
#define TORTURE_MAX_PAUSES 4

/* A targeted variant: the seed's random parameters with some forced (the replay line
 * names it, so a failure replays the same way). */
enum torture_profile {
    TORTURE_RANDOM = 0,      /* everything from the seed */
    TORTURE_ZERO_WINDOW,     /* small receive buffers, readers that pause for seconds */
    TORTURE_TINY_SNDBUF,     /* send buffers of 1..16 bytes, a few KiB each way */
    TORTURE_LOSSY_HALFCLOSE, /* 20% loss both ways, data both ways, half-close */
    TORTURE_PROFILE_COUNT
};
/* "random", "zero-window", "tiny-sndbuf", "lossy-halfclose". */
const char *torture_profile_name(enum torture_profile p);
/* 0, or -1 for an unknown name. */
int torture_profile_parse(const char *name, enum torture_profile *out);

/* One end: its stack's configuration and its application's behaviour. */
struct torture_side {
    /* stack */
    uint16_t mtu;
    size_t sndbuf, rcvbuf;
    size_t sndbuf_max, rcvbuf_max; /* autotuning's ceilings (0, or no more than the size: fixed) */
    bool window_scale, timestamps, sack, rack, nodelay;
    enum synack_cc cc;
    unsigned init_cwnd;
    synack_time_t delack_timeout, rto_min, rto_max, msl;
    /* application */
    uint64_t bytes;     /* what this end sends */
    size_t write_max;   /* each send() offers 1..write_max bytes */
    size_t read_max;    /* each recv() asks for 1..read_max bytes */
    uint64_t read_rate; /* bytes per second the reader takes at most; 0: all it can */
    unsigned pauses;    /* the reader stops pause_len[k] after reading pause_at[k] bytes */
    uint64_t pause_at[TORTURE_MAX_PAUSES];
    synack_time_t pause_len[TORTURE_MAX_PAUSES];
    bool close_directly;     /* when done: close() at once instead of waiting for CLOSED */
    bool set_nodelay;        /* calls synack_tcp_set_nodelay(!nodelay) once connected */
    uint64_t switch_cc_at;   /* calls synack_tcp_set_cc(other) after writing this many bytes
                                (UINT64_MAX: never) */
    synack_time_t keepalive; /* keepalive idle time once connected (0: off) */
};

struct torture_params {
    uint64_t seed;
    enum torture_profile profile;
    struct synack_sim_link_params link[2]; /* [0] client -> server, [1] server -> client */
    struct torture_side side[2];           /* [TORTURE_CLIENT], [TORTURE_SERVER] */
    bool server_waits_for_eof;             /* request/response: the server writes only after EOF */
    bool server_shutdown_early;            /* the server half-closes once written, before EOF */
    bool ipv6;             /* the two stacks speak IPv6 (2001:db8::1, ::2), not IPv4 */
    unsigned udp_count[2]; /* UDP datagrams each end sends the other beside the TCP
                              connection (0-20, each within the MTU) */
    synack_time_t bound;   /* both ends must be CLOSED by then (virtual time) */
};

struct torture_opts {
    enum torture_profile profile;
    const char *pcap; /* capture file for a failing seed; NULL: torture-seed<S>.pcap */
    bool pcap_always; /* write the capture even when the seed passes */
    bool no_pcap;     /* never write a capture (the failure line still says how) */
    bool verbose;     /* print the seed's parameters */
    bool trace;       /* print every packet event, state change and app action */
    FILE *out;        /* for verbose, trace and failure lines; NULL: stderr */
};

struct torture_result {
    bool ok;
    char failure[320];      /* what went wrong first, when !ok */
    char pcap[256];         /* the capture written, or "" */
    uint64_t bytes[2];      /* delivered to the application, client->server, server->client */
    synack_time_t sim_time; /* when both ends were CLOSED (or the run stopped) */
    synack_time_t bound;
    uint64_t events;          /* simulator steps */
    uint64_t checks;          /* connection snapshots checked */
    uint64_t zero_windows[2]; /* segments advertising a zero window, sent by client/server */
    uint64_t corrupted;       /* corrupted packets delivered */
    uint64_t late_resets;     /* RSTs tolerated after the peer had closed (see torture.c) */
    struct synack_counters counters[2]; /* of the client's and the server's stack */
};

/* The parameters of `seed` under `profile` (no run). */
void torture_params_derive(uint64_t seed, enum torture_profile profile, struct torture_params *p);

/* Byte `i` of the stream sent in direction `dir` (0 client->server, 1 server->client). */
uint8_t torture_stream_byte(uint64_t seed, int dir, uint64_t i);

/* Prints the parameters on a few lines, each starting with "  ". */
void torture_params_print(FILE *f, const struct torture_params *p);

/* Runs one seed. Returns 0 when the seed passes, -1 when it fails (r->failure says why;
 * a one-line reproduction is printed and the capture written, see torture_opts). */
int torture_run_seed(uint64_t seed, const struct torture_opts *o, struct torture_result *r);

#endif
