/* `synack demo`: the handshake, the data, the close and every state, on a simulated path. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attack.h"
#include "cli.h"
#include "commands.h"
#include "demo_graphs.h"
#include "ladder.h"
#include "lesson_cmd.h"
#include "netopt.h"
#include "progress.h"
#include "scenario.h"

#define PLOT_WIDTH 60    /* columns of the cwnd view: fits 80 with its labels */
#define PLOT_HEIGHT 15   /* rows of the cwnd view */
#define PLOT_SAMPLES 240 /* samples recorded for it: four per column */

/* The mark of each congestion-control phase, in the cwnd view and the JSON samples. */
static const char phase_letter[SYNACK_PHASE_COUNT] = {'S', 'A', 'R', 'L'};

static double ms(synack_time_t t)
{
    return (double)t / 1e6;
}

/* ---- the cwnd view ---------------------------------------------------------------------- */

/* One column of the view: the samples it covers, summed up. */
struct plot_column {
    uint32_t lo, hi;   /* cwnd range */
    uint32_t ssthresh; /* at the column's end */
    unsigned phases;   /* every phase seen */
};

/* The mark of a column that saw several phases: the rarer, more telling one wins. */
static char plot_phase_mark(unsigned phases)
{
    static const enum synack_cc_phase order[] = {SYNACK_PHASE_LOSS, SYNACK_PHASE_RECOVERY,
                                                 SYNACK_PHASE_SLOW_START, SYNACK_PHASE_CONG_AVOID};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (phases & (1u << order[i])) return phase_letter[order[i]];
    return ' ';
}

/* The row (0 at the bottom) that value `v` falls in, on a scale whose top is `ymax`. */
static int plot_row(double v, double ymax)
{
    int row = (int)ceil(v * PLOT_HEIGHT / ymax) - 1;
    return row < 0 ? 0 : row >= PLOT_HEIGHT ? PLOT_HEIGHT - 1 : row;
}

/* "850 ms", "1.52 s" */
static void fmt_time(char *buf, size_t cap, synack_time_t t, synack_time_t span)
{
    if (span >= SYNACK_S(2))
        snprintf(buf, cap, "%.2f s", (double)t / 1e9);
    else
        snprintf(buf, cap, "%.1f ms", ms(t));
}

static double plot_columns(const struct scenario_sample *s, size_t n,
                           struct plot_column col[PLOT_WIDTH])
{
    double ymax = 1;
    for (size_t c = 0; c < PLOT_WIDTH; c++) {
        size_t a = c * n / PLOT_WIDTH, b = (c + 1) * n / PLOT_WIDTH;
        if (b <= a) b = a + 1;
        col[c] = (struct plot_column){.lo = UINT32_MAX, .ssthresh = s[b - 1].ssthresh};
        for (size_t k = a; k < b; k++) {
            if (s[k].cwnd_min < col[c].lo) col[c].lo = s[k].cwnd_min;
            if (s[k].cwnd_max > col[c].hi) col[c].hi = s[k].cwnd_max;
            col[c].phases |= s[k].phases;
        }
        if (col[c].hi > ymax) ymax = col[c].hi;
        if (col[c].ssthresh < SSTHRESH_NONE && col[c].ssthresh > ymax) ymax = col[c].ssthresh;
    }
    return ymax;
}

/* cwnd ('*') and ssthresh ('-') of the client over time, with a strip of phase marks. */
void print_cwnd_view(const struct scenario_opts *o, const struct scenario_result *r)
{
    const struct scenario_sample *s = o->samples;
    size_t n = r->nsamples;
    printf("\n");
    if (n == 0) {
        printf("cwnd view: no samples (the client's connection never got established)\n");
        return;
    }
    struct plot_column col[PLOT_WIDTH];
    double ymax = plot_columns(s, n, col);
    char grid[PLOT_HEIGHT][PLOT_WIDTH + 1];
    memset(grid, ' ', sizeof grid);
    for (int c = 0; c < PLOT_WIDTH; c++) {
        for (int y = plot_row(col[c].lo, ymax); y <= plot_row(col[c].hi, ymax); y++)
            grid[y][c] = '*';
        if (col[c].ssthresh < SSTHRESH_NONE) {
            char *cell = &grid[plot_row(col[c].ssthresh, ymax)][c];
            *cell = *cell == '*' ? '#' : '-';
        }
    }
    bool mib = ymax >= 10 * 1048576.0;
    double unit = mib ? 1048576.0 : 1024.0;
    const struct synack_tcp_info *i = &r->client.info;
    printf("the client's congestion window over time: %s, SACK %s, timestamps %s\n",
           synack_cc_name(r->client.has_info ? i->cc : o->cc),
           r->client.has_info && i->sack ? "on" : "off",
           r->client.has_info && i->timestamps ? "on" : "off");
    printf("%8s\n", mib ? "MiB" : "KiB");
    for (int y = PLOT_HEIGHT - 1; y >= 0; y--) {
        char label[16] = "";
        if (y == PLOT_HEIGHT - 1 || y == PLOT_HEIGHT / 2)
            snprintf(label, sizeof label, "%.1f", ymax * (y + 1) / PLOT_HEIGHT / unit);
        grid[y][PLOT_WIDTH] = 0;
        printf("%8s |%s\n", label, grid[y]);
    }
    char axis[PLOT_WIDTH + 1], marks[PLOT_WIDTH + 1], times[PLOT_WIDTH + 1];
    memset(axis, '-', PLOT_WIDTH);
    axis[PLOT_WIDTH] = 0;
    for (int c = 0; c < PLOT_WIDTH; c++)
        marks[c] = plot_phase_mark(col[c].phases);
    marks[PLOT_WIDTH] = 0;
    printf("%8s +%s\n%8s  %s\n", "0", axis, "phase", marks);
    /* Time under the first, the middle and the last column. */
    synack_time_t t0 = s[0].t, span = (synack_time_t)n * r->sample_interval;
    char a[24], b[24], c[24];
    fmt_time(a, sizeof a, t0, t0 + span);
    fmt_time(b, sizeof b, t0 + span / 2, t0 + span);
    fmt_time(c, sizeof c, t0 + span, t0 + span);
    memset(times, ' ', PLOT_WIDTH);
    times[PLOT_WIDTH] = 0;
    memcpy(times, a, strlen(a));
    memcpy(times + PLOT_WIDTH / 2 - strlen(b) / 2, b, strlen(b));
    memcpy(times + PLOT_WIDTH - strlen(c), c, strlen(c));
    printf("%8s  %s\n", "time", times);
    printf("%8s  * cwnd   - ssthresh   # both          (one column: %.3f ms)\n", "",
           ms(span) / PLOT_WIDTH);
    printf("%8s  phase: S slow start, A congestion avoidance, R recovery, L loss (RTO)\n", "");
}

static void print_json_states(const struct scenario_side *s)
{
    printf("[");
    for (size_t i = 0; i < s->nstates; i++)
        printf("%s\"%s\"", i ? "," : "", synack_state_name(s->states[i]));
    printf("]");
}

static const char *yes_no(bool b)
{
    return b ? "true" : "false";
}

/* ssthresh as a JSON number, or null before the first congestion signal. */
static void print_json_ssthresh(uint32_t ssthresh)
{
    if (ssthresh >= SSTHRESH_NONE)
        printf("null");
    else
        printf("%u", ssthresh);
}

/* The client's connection as it ended: what was negotiated and how loss was repaired. */
static void print_json_client_tcp(const struct scenario_result *r)
{
    const struct synack_tcp_info *i = &r->client.info;
    const struct synack_counters *c = &i->counters;
    printf(",\"client_tcp\":{\"sack\":%s,\"timestamps\":%s,\"window_scale\":%s,"
           "\"snd_wscale\":%u,\"rcv_wscale\":%u,\"snd_mss\":%u,\"cc\":\"%s\",\"cwnd\":%u,"
           "\"ssthresh\":",
           yes_no(i->sack), yes_no(i->timestamps), yes_no(i->window_scale), i->snd_wscale,
           i->rcv_wscale, i->snd_mss, synack_cc_name(i->cc), i->cwnd);
    print_json_ssthresh(i->ssthresh);
    printf(",\"srtt_s\":%.6f,\"min_rtt_s\":%.6f,\"rto_s\":%.6f,\"delivered\":%llu,"
           "\"retransmits\":%llu,\"fast_retransmits\":%llu,\"recoveries\":%llu,"
           "\"rto_expiries\":%llu,\"tlp_probes\":%llu,\"rack_losses\":%llu,"
           "\"sack_blocks_in\":%llu,\"dsacks_in\":%llu,"
           "\"dup_acks\":%llu,\"segs_out\":%llu}",
           (double)i->srtt / 1e9, (double)i->min_rtt / 1e9, (double)i->rto / 1e9,
           (unsigned long long)i->delivered, (unsigned long long)c->retransmits,
           (unsigned long long)c->fast_retransmits, (unsigned long long)c->recoveries,
           (unsigned long long)c->rto_expiries, (unsigned long long)c->tlp_probes,
           (unsigned long long)c->rack_losses, (unsigned long long)c->sack_blocks_in,
           (unsigned long long)c->dsacks_in, (unsigned long long)c->dup_acks,
           (unsigned long long)c->segs_out);
}

/* Every sample: [t_s, cwnd, ssthresh, cwnd_min, cwnd_max, phase, phases, srtt_s, pipe]. */
static void print_json_samples(const struct scenario_result *r, const struct scenario_sample *s)
{
    printf(",\"cwnd_samples\":{\"interval_s\":%.6f,\"fields\":[\"t_s\",\"cwnd\",\"ssthresh\","
           "\"cwnd_min\",\"cwnd_max\",\"phase\",\"phases\",\"srtt_s\",\"pipe\"],\"samples\":[",
           (double)r->sample_interval / 1e9);
    for (size_t k = 0; k < r->nsamples; k++) {
        const struct scenario_sample *x = &s[k];
        char seen[SYNACK_PHASE_COUNT + 1];
        size_t n = 0;
        for (int p = 0; p < SYNACK_PHASE_COUNT; p++)
            if (x->phases & (1u << p)) seen[n++] = phase_letter[p];
        seen[n] = 0;
        printf("%s[%.6f,%u,", k ? "," : "", (double)x->t / 1e9, x->cwnd);
        print_json_ssthresh(x->ssthresh);
        printf(",%u,%u,\"%c\",\"%s\",%.6f,%llu]", x->cwnd_min, x->cwnd_max,
               x->phase < SYNACK_PHASE_COUNT ? phase_letter[x->phase] : '?', seen,
               (double)x->srtt / 1e9, (unsigned long long)x->pipe);
    }
    printf("]}");
}

/* Why a run did not complete, in one clause: the first cause that holds. */
static const char *stop_reason(const struct scenario_opts *o, const struct scenario_result *r,
                               char *buf, size_t cap)
{
    if (r->client.err || r->server.err)
        snprintf(buf, cap, "the %s's connection failed: %s", r->client.err ? "client" : "server",
                 synack_strerror(r->client.err ? r->client.err : r->server.err));
    else if (!r->intact && r->bytes_received == r->bytes_sent)
        snprintf(buf, cap, "the bytes received differ from the bytes sent");
    else if (r->hit_time_limit)
        snprintf(buf, cap,
                 "stopped at the %.0f s simulated-time limit with %llu of %llu bytes received "
                 "(try fewer --bytes, less --delay or --reroute delay, or larger buffers)",
                 (double)SCENARIO_MAX_SIM_TIME / 1e9, (unsigned long long)r->bytes_received,
                 (unsigned long long)o->bytes);
    else
        snprintf(buf, cap, "the simulation ran out of events with %llu of %llu bytes received",
                 (unsigned long long)r->bytes_received, (unsigned long long)o->bytes);
    return buf;
}

static void print_json(const struct scenario_opts *o, const struct scenario_result *r, double wall)
{
    printf("{\"bytes_sent\":%llu,\"bytes_received\":%llu,\"intact\":%s,"
           "\"digest_sent\":\"%016llx\",\"digest_received\":\"%016llx\","
           "\"segments\":%llu,\"retransmissions\":%llu,\"lost\":%llu,"
           "\"sim_time_s\":%.6f,\"wall_time_s\":%.6f,\"completed\":%s,\"seed\":%llu,"
           "\"errors\":{\"client\":\"%s\",\"server\":\"%s\"},\"states\":{\"client\":",
           (unsigned long long)r->bytes_sent, (unsigned long long)r->bytes_received,
           r->intact ? "true" : "false", (unsigned long long)r->digest_sent,
           (unsigned long long)r->digest_received, (unsigned long long)r->segments,
           (unsigned long long)r->retransmissions, (unsigned long long)r->lost,
           (double)r->sim_time / 1e9, wall, r->completed ? "true" : "false",
           (unsigned long long)o->seed, r->client.err ? synack_strerror(r->client.err) : "",
           r->server.err ? synack_strerror(r->server.err) : "");
    print_json_states(&r->client);
    printf(",\"server\":");
    print_json_states(&r->server);
    char why[200];
    if (r->completed)
        printf("},\"stopped\":null");
    else
        printf("},\"stopped\":\"%s\"", stop_reason(o, r, why, sizeof why));
    /* The values in effect: the stacks' buffers whether given or default; no queue limit
     * is null. */
    printf(",\"options\":{\"cc\":\"%s\",\"sack\":%s,\"timestamps\":%s,\"window_scale\":%s,"
           "\"sndbuf\":%zu,\"rcvbuf\":%zu,\"sndbuf_max\":%zu,\"rcvbuf_max\":%zu,"
           "\"queue_bytes\":",
           synack_cc_name(o->cc), yes_no(o->sack), yes_no(o->timestamps), yes_no(o->window_scale),
           r->sndbuf, r->rcvbuf, r->sndbuf_max, r->rcvbuf_max);
    if (o->queue_bytes)
        printf("%zu", o->queue_bytes);
    else
        printf("null");
    printf(",\"rate_bps\":%llu,\"delay_s\":%.6f,\"loss\":%.6g", (unsigned long long)o->rate_bps,
           (double)o->delay / 1e9, o->loss);
    if (o->reroute_at)
        printf(",\"reroute_at_s\":%.6f,\"reroute_delay_s\":%.6f", (double)o->reroute_at / 1e9,
               (double)o->reroute_delay / 1e9);
    else
        printf(",\"reroute_at_s\":null,\"reroute_delay_s\":null");
    printf("}");
    if (r->server.has_info)
        printf(",\"server_rcv_rtt_s\":%.6f,\"server_rcv_rtt_raised\":%llu",
               (double)r->server.info.rcv_rtt / 1e9,
               (unsigned long long)r->server.info.counters.rcv_rtt_raised);
    printf(",\"goodput_bps\":%.0f,\"transfer_time_s\":%.6f", r->goodput_bps,
           (double)r->transfer_time / 1e9);
    if (r->client.has_info) print_json_client_tcp(r);
    if (o->samples) print_json_samples(r, o->samples);
    printf("}\n");
}

/* A size in bytes as a person reads it: B, KiB or MiB. */
static const char *human_bytes(size_t n, char *buf, size_t cap)
{
    if (n >= 1u << 20)
        snprintf(buf, cap, "%.1f MiB", (double)n / (1u << 20));
    else if (n >= 1u << 10)
        snprintf(buf, cap, "%.1f KiB", (double)n / (1u << 10));
    else
        snprintf(buf, cap, "%zu B", n);
    return buf;
}

/* One buffer's line: the size it started at, the size it ended at, how far it could grow. */
static void print_buffer(const char *label, size_t start, size_t end, size_t max)
{
    char a[32], b[32], m[32];
    printf("%-16s %s -> %s", label, human_bytes(start, a, sizeof a), human_bytes(end, b, sizeof b));
    if (max > start)
        printf(" (autotuning, up to %s)\n", human_bytes(max, m, sizeof m));
    else
        printf(" (fixed)\n");
}

/* The buffers that carried the data: the client's send buffer and the server's receive
 * buffer, from what they started at to what autotuning grew them to. */
static void print_buffers(const struct scenario_result *r)
{
    if (!r->client.has_info || !r->server.has_info) return;
    print_buffer("client sndbuf", r->sndbuf, r->client.info.sndbuf, r->sndbuf_max);
    print_buffer("server rcvbuf", r->rcvbuf, r->server.info.rcvbuf, r->rcvbuf_max);
    /* The round trip the receiver's autotuning took, when a route that grew longer made it
     * take a new one (src/tcp/autotune.c). */
    unsigned long long raised = r->server.info.counters.rcv_rtt_raised;
    if (raised)
        printf("server rcv rtt   %.1f ms, raised %llu time%s for a route that grew longer\n",
               ms(r->server.info.rcv_rtt), raised, raised == 1 ? "" : "s");
}

/* Goodput and what the client's congestion control made of the path. */
static void print_tcp_summary(const struct scenario_result *r)
{
    char b[32];
    if (r->goodput_bps > 0)
        printf("goodput          %.2f Mbit/s over %.3f %s (first data sent to last byte read)\n",
               r->goodput_bps / 1e6,
               r->transfer_time >= SYNACK_S(1) ? (double)r->transfer_time / 1e9
                                               : ms(r->transfer_time),
               r->transfer_time >= SYNACK_S(1) ? "s" : "ms");
    if (!r->client.has_info) return;
    const struct synack_tcp_info *i = &r->client.info;
    const struct synack_counters *c = &i->counters;
    printf("client tcp       %s; SACK %s, timestamps %s, window scale %s\n", synack_cc_name(i->cc),
           i->sack ? "on" : "off", i->timestamps ? "on" : "off", i->window_scale ? "on" : "off");
    if (i->ssthresh >= SSTHRESH_NONE)
        snprintf(b, sizeof b, "none");
    else
        snprintf(b, sizeof b, "%u bytes", i->ssthresh);
    printf("client cwnd      %u bytes, ssthresh %s\n", i->cwnd, b);
    if (i->srtt)
        printf("client rtt       srtt %.3f ms, min %.3f ms, rto %.0f ms\n", ms(i->srtt),
               ms(i->min_rtt), ms(i->rto));
    else
        printf("client rtt       no sample (every segment was retransmitted before its ACK "
               "came), rto %.0f ms\n",
               ms(i->rto));
    printf("loss recovery    %llu fast retransmits, %llu recoveries, %llu RTOs, %llu tail loss "
           "probes\n",
           (unsigned long long)c->fast_retransmits, (unsigned long long)c->recoveries,
           (unsigned long long)c->rto_expiries, (unsigned long long)c->tlp_probes);
    print_buffers(r);
}

static void print_summary(const struct scenario_opts *o, const struct scenario_result *r,
                          double wall)
{
    char a[SYNACK_ENDPOINT_STRLEN], b[SYNACK_ENDPOINT_STRLEN];
    struct synack_endpoint ce = {r->client.addr, r->client.port};
    struct synack_endpoint se = {r->server.addr, r->server.port};
    synack_endpoint_format(&ce, a, sizeof a);
    synack_endpoint_format(&se, b, sizeof b);
    printf("\n");
    demo_print_states(stdout, "client", &r->client);
    demo_print_states(stdout, "server", &r->server);
    printf("\nclient %s  server %s  (sequence numbers above are relative to each ISN)\n", a, b);
    printf("bytes sent       %llu\n", (unsigned long long)r->bytes_sent);
    printf("bytes received   %llu\n", (unsigned long long)r->bytes_received);
    printf("digest (FNV-1a)  sent %016llx  received %016llx  %s\n",
           (unsigned long long)r->digest_sent, (unsigned long long)r->digest_received,
           r->intact ? "MATCH" : "MISMATCH");
    if (!r->intact && r->bytes_received)
        printf("first wrong byte at offset %llu\n", (unsigned long long)r->first_mismatch);
    printf("segments         %llu (lost on the links: %llu)\n", (unsigned long long)r->segments,
           (unsigned long long)r->lost);
    printf("retransmissions  %llu\n", (unsigned long long)r->retransmissions);
    print_tcp_summary(r);
    printf("simulated time   %.3f s (TIME_WAIT holds the closing end for 2*MSL = 60 s)\n",
           (double)r->sim_time / 1e9);
    printf("real time        %.3f s\n", wall);
    printf("seed             %llu\n", (unsigned long long)o->seed);
    if (r->client.err || r->server.err)
        printf("errors           client: %s; server: %s\n",
               r->client.err ? synack_strerror(r->client.err) : "none",
               r->server.err ? synack_strerror(r->server.err) : "none");
    if (!r->completed) {
        char why[200];
        printf("the transfer did NOT complete: %s\n", stop_reason(o, r, why, sizeof why));
    }
}

static const char demo_usage[] =
    "usage: synack demo [options]\n"
    "\n"
    "Two synack stacks on a simulated network: the client (198.18.0.1, or 2001:db8::1 with\n"
    "--ipv6) connects to the server (198.18.0.2:80 or [2001:db8::2]:80), sends data, the\n"
    "server reads it, and the connection closes.\n"
    "Prints a ladder diagram of every segment, each side's TCP states and a summary.\n"
    "\n"
    "options:\n"
    "  --bytes N             bytes the client sends (suffixes K, M, G = 2^10, 2^20, 2^30;\n"
    "                        default 64K)\n"
    "  --loss P              packet loss in each direction: a fraction (0.02) or a\n"
    "                        percentage (2%); default 0\n"
    "  --delay MS            one-way delay in milliseconds, at most 29000 (default 10): a\n"
    "                        round trip stays under the 60 s RTO ceiling (RFC 6298 (2.5))\n"
    "  --rate MBIT           link rate in Mbit/s (default 100)\n"
    "  --queue N             drop-tail queue of each link, bytes (K, M, G as for --bytes;\n"
    "                        default unlimited)\n"
    "  --reroute S:MS        S seconds of virtual time in, the route changes: the one-way\n"
    "                        delay becomes MS milliseconds (2:50), and neither end is told\n"
    "  --seed N              seed of the network, the stacks and the data (default 1)\n"
    "  --pcap FILE           write every packet to FILE (pcap, raw IP)\n"
    "  --ipv6                the two ends speak IPv6 (2001:db8::1, 2001:db8::2), not IPv4\n"
    "  --server-closes       the server closes first once it has every byte\n"
    "  --simultaneous-open   both ends send SYN at once (no listener)\n"
    "  --simultaneous-close  both ends close at the same instant\n"
    "  --scenario NAME       a lesson: a run set up to show one thing about TCP, its ladder\n"
    "                        annotated and explained (--scenario list names them all);\n"
    "                        takes only --lang, --quiet, --ipv6, --pcap, --svg and --html\n"
    "                        besides (with several runs, the files hold the last); the\n"
    "                        UDP runs capture UDP, reliable-udp the outer datagrams (its\n"
    "                        inner TCP speaks IPv6 with --ipv6, the outer UDP IPv4 always),\n"
    "                        syn-flood refuses --ipv6 (its attacker is IPv4)\n"
    "  --lang en|zh          the explanation and the ladder's labels in English (default)\n"
    "                        or Chinese\n"
    "  --calls               mark the applications' socket calls (listen, connect, accept,\n"
    "                        send, recv, close) on the ladder; a scenario always does\n"
    "\n"
    "TCP (both ends):\n"
    "  --cc NAME             congestion control: cubic (default) or newreno\n"
    "  --no-sack             do not offer SACK (RFC 2018)\n"
    "  --no-timestamps       do not offer timestamps (RFC 7323)\n"
    "  --no-wscale           do not offer window scaling (RFC 7323)\n"
    "  --sndbuf N            send buffer per connection, bytes (K, M, G; 1K to 1G),\n"
    "                        fixed at N; by default it starts at 64K and grows to twice\n"
    "                        the congestion window, up to 16M (autotuning)\n"
    "  --rcvbuf N            receive buffer per connection, bytes (K, M, G; 1K to 1G),\n"
    "                        fixed at N; by default it starts at 64K and grows to twice\n"
    "                        what the reader takes per round trip, up to 16M (65535 with\n"
    "                        --no-wscale, which allows no more)\n"
    "\n"
    "output:\n"
    "  --cwnd                plot the client's congestion window and ssthresh over time,\n"
    "                        marking slow start (S), congestion avoidance (A), recovery (R)\n"
    "                        and loss after a timeout (L); with --json, add the samples\n"
    "  --quiet               no ladder diagram: states and summary only\n"
    "  --json                one JSON object instead of text\n"
    "  --svg FILE            write the run's graphs as one SVG, panels on one time axis: the\n"
    "                        time-sequence graph, the throughput acknowledged, the RTT\n"
    "                        samples, the bytes in flight (as at the client's interface:\n"
    "                        what `synack trace --svg` draws) and the client's cwnd and\n"
    "                        ssthresh\n"
    "  --html FILE           write one self-contained page: the ladder, both ends' states\n"
    "                        and the graphs\n"
    "  -h, --help            this help\n"
    "\n"
    "attacks (each with options of its own: synack demo --syn-flood 0 --help):\n"
    "  --syn-flood RATE      spoofed SYNs per second against a listener while legitimate\n"
    "                        clients connect; SYN cookies on, off or always\n"
    "  --blind N             an off-path attacker injects N RSTs, SYNs, data segments and\n"
    "                        ACKs at random sequence numbers into connections carrying data\n"
    "\n"
    "A run stops after 3600 s of simulated time (not real time); one that has not finished\n"
    "by then says so and how far it got. Units: cwnd, ssthresh and buffers in bytes (the\n"
    "--cwnd plot's scale says KiB or MiB), times in ms in the text and in seconds (keys\n"
    "ending _s) in --json, whose options hold the values in effect, defaults included.\n"
    "While a run goes on, a terminal shows how far it got on one line of stderr (bytes\n"
    "read of --bytes, simulated time, the rate in real time), erased before the output;\n"
    "never with --quiet or --json, or when stderr is not a terminal.\n"
    "\n"
    "exit status: 0 when the bytes arrived intact and both ends closed cleanly, 1 when the\n"
    "transfer failed or stopped early (one line says why), 2 for a bad option.\n";

#define BUF_MAX (1ull << 30) /* RFC 7323 §2.3: a window is at most 1 GiB */
#define BUF_MIN 1024         /* below it a 64K demo crawls into the time limit */
/* RFC 6298 (2.5): the stack's RTO is at most 60 s. A round trip longer than that cannot be
 * timed (each segment would time out before its ACK could come, Karn's algorithm leaves
 * it unmeasured), so the one-way delay stays under half of it. */
#define DELAY_MAX_MS 29000

/* "cubic or newreno": every controller the core knows. */
static const char *cc_choices(char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (int cc = 0; cc < SYNACK_CC_COUNT && n < cap; cc++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s",
                              cc == 0                     ? ""
                              : cc == SYNACK_CC_COUNT - 1 ? " or "
                                                          : ", ",
                              synack_cc_name((enum synack_cc)cc));
    return buf;
}

/* How many options other than --scenario, --lang, --quiet, --ipv6, --pcap, --svg and --html
 * are given. */
static int demo_story_options(int argc, char **argv)
{
    static const char *const own[] = {"--scenario", "--lang", "--quiet", "--ipv6",
                                      "--pcap",     "--svg",  "--html"};
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) continue;
        bool mine = false;
        for (size_t k = 0; k < sizeof own / sizeof own[0]; k++) {
            size_t len = strlen(own[k]);
            if (strncmp(argv[i], own[k], len) == 0 && (argv[i][len] == 0 || argv[i][len] == '='))
                mine = true;
        }
        if (!mine) n++;
    }
    return n;
}

/* What a plain run prints and writes, besides its summary. */
struct demo_output {
    bool quiet, json, cwnd, calls;
    const char *svg, *html; /* --svg, --html: NULL when not asked */
};

/* Runs the scenario `o`, prints its ladder, cwnd view and summary, writes its graphs.
 * Returns the exit status. */
static int demo_run(struct scenario_opts *o, const struct demo_output *out)
{
    struct scenario_sample samples[PLOT_SAMPLES];
    if (out->cwnd) {
        o->samples = samples;
        o->samples_cap = PLOT_SAMPLES;
    }
    struct ladder L;
    ladder_init(&L, out->quiet || out->json, o->ipv6, false);
    o->observer = ladder_observe;
    o->observer_ctx = &L;
    o->on_state = ladder_state;
    o->state_ctx = &L;
    if (out->calls) {
        o->on_call = ladder_call;
        o->call_ctx = &L;
    }
    struct demo_graphs g;
    bool graphs = out->svg || out->html;
    if (graphs && demo_graphs_open(&g, out->svg, out->html, &L, o) != 0) return 1;
    struct progress bar;
    progress_init(&bar, !out->quiet && !out->json);
    L.bar = &bar; /* a ladder line first erases the progress line */
    o->on_progress = progress_scenario;
    o->progress_ctx = &bar;
    struct scenario_result r;
    char err[256];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = scenario_run(o, &r, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    progress_end(&bar);
    if (rc < 0) {
        if (graphs) demo_graphs_close(&g);
        fprintf(stderr, "synack demo: %s\n", err);
        return 1;
    }
    ladder_flush(&L);
    int status = graphs ? demo_graphs_write(&g, o, &r, "synack demo") : 0;
    if (!out->quiet && !out->json) ladder_legend(false);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (out->cwnd && !out->json) print_cwnd_view(o, &r);
    if (out->json)
        print_json(o, &r, wall);
    else
        print_summary(o, &r, wall);
    if (graphs) demo_graphs_close(&g);
    return r.completed && status == 0 ? 0 : 1;
}

/* --reroute S:MS: from S seconds of virtual time on, both links delay each packet by MS
 * milliseconds. */
static int parse_reroute(const char *arg, struct scenario_opts *o)
{
    const char *colon = strchr(arg, ':');
    char at[64];
    double s, d;
    if (!colon || (size_t)(colon - arg) >= sizeof at) return -1;
    memcpy(at, arg, (size_t)(colon - arg));
    at[colon - arg] = '\0';
    if (cli_parse_double(at, 0.001, 3600, &s) < 0 ||
        cli_parse_double(colon + 1, 0, DELAY_MAX_MS, &d) < 0)
        return -1;
    o->reroute_at = (synack_time_t)llround(s * 1e9);
    o->reroute_delay = (synack_time_t)llround(d * 1e6);
    return 0;
}

int cmd_demo(int argc, char **argv)
{
    /* The attack scenarios have options of their own. */
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--syn-flood", 11) == 0 || strncmp(argv[i], "--blind", 7) == 0)
            return cmd_attack(argc, argv);
    enum {
        O_BYTES = 256,
        O_LOSS,
        O_DELAY,
        O_RATE,
        O_SEED,
        O_PCAP,
        O_SCLOSE,
        O_SOPEN,
        O_SIMCLOSE,
        O_QUIET,
        O_JSON,
        O_QUEUE,
        O_CC,
        O_NO_SACK,
        O_NO_TS,
        O_NO_WSCALE,
        O_SNDBUF,
        O_RCVBUF,
        O_CWND,
        O_IPV6,
        O_SCENARIO,
        O_LANG,
        O_CALLS,
        O_SVG,
        O_HTML,
        O_REROUTE
    };
    static const struct option longopts[] = {
        {"bytes", required_argument, 0, O_BYTES},
        {"loss", required_argument, 0, O_LOSS},
        {"delay", required_argument, 0, O_DELAY},
        {"rate", required_argument, 0, O_RATE},
        {"seed", required_argument, 0, O_SEED},
        {"pcap", required_argument, 0, O_PCAP},
        {"server-closes", no_argument, 0, O_SCLOSE},
        {"simultaneous-open", no_argument, 0, O_SOPEN},
        {"ipv6", no_argument, 0, O_IPV6},
        {"simultaneous-close", no_argument, 0, O_SIMCLOSE},
        {"quiet", no_argument, 0, O_QUIET},
        {"json", no_argument, 0, O_JSON},
        {"queue", required_argument, 0, O_QUEUE},
        {"reroute", required_argument, 0, O_REROUTE},
        {"cc", required_argument, 0, O_CC},
        {"no-sack", no_argument, 0, O_NO_SACK},
        {"no-timestamps", no_argument, 0, O_NO_TS},
        {"no-wscale", no_argument, 0, O_NO_WSCALE},
        {"sndbuf", required_argument, 0, O_SNDBUF},
        {"rcvbuf", required_argument, 0, O_RCVBUF},
        {"cwnd", no_argument, 0, O_CWND},
        {"scenario", required_argument, 0, O_SCENARIO},
        {"lang", required_argument, 0, O_LANG},
        {"calls", no_argument, 0, O_CALLS},
        {"svg", required_argument, 0, O_SVG},
        {"html", required_argument, 0, O_HTML},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct scenario_opts o;
    scenario_opts_default(&o);
    bool quiet = false, json = false, cwnd = false, calls = false;
    const char *scenario = NULL, *lang = NULL, *svg = NULL, *html = NULL;
    double d;
    uint64_t size;
    int opt;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (opt) {
        case O_BYTES:
            if (cli_parse_size(optarg, &o.bytes) < 0)
                return cli_fail("demo", "--bytes wants a size like 65536, 64K or 10M, not '%s'",
                                optarg);
            break;
        case O_LOSS:
            if (cli_parse_fraction(optarg, &o.loss) < 0)
                return cli_fail("demo", "--loss wants 0..1 or 0%%..100%%, not '%s'", optarg);
            break;
        case O_DELAY:
            if (cli_parse_double(optarg, 0, DELAY_MAX_MS, &d) < 0)
                return cli_fail("demo",
                                "--delay wants milliseconds 0..%d (a round trip must stay under "
                                "the 60 s RTO ceiling), not '%s'",
                                DELAY_MAX_MS, optarg);
            o.delay = (synack_time_t)llround(d * 1e6);
            break;
        case O_RATE:
            if (cli_parse_double(optarg, 0.001, 1e6, &d) < 0)
                return cli_fail("demo", "--rate wants Mbit/s 0.001..1000000, not '%s'", optarg);
            o.rate_bps = (uint64_t)llround(d * 1e6);
            break;
        case O_SEED:
            if (cli_parse_u64(optarg, &o.seed) < 0)
                return cli_fail("demo", "--seed wants a whole number, not '%s'", optarg);
            break;
        case O_PCAP:
            o.pcap = optarg;
            break;
        case O_SCLOSE:
            o.server_closes = true;
            break;
        case O_SOPEN:
            o.simultaneous_open = true;
            break;
        case O_IPV6:
            o.ipv6 = true;
            break;
        case O_SIMCLOSE:
            o.simultaneous_close = true;
            break;
        case O_QUIET:
            quiet = true;
            break;
        case O_JSON:
            json = true;
            break;
        case O_REROUTE:
            if (parse_reroute(optarg, &o) < 0)
                return cli_fail("demo",
                                "--reroute wants S:MS, the virtual second the route changes "
                                "(0.001 to 3600) and the one-way delay in milliseconds from "
                                "then on (0 to %d), like 2:50; not '%s'",
                                DELAY_MAX_MS, optarg);
            break;
        case O_QUEUE:
            if (cli_parse_size(optarg, &size) < 0 || size > SIZE_MAX)
                return cli_fail("demo", "--queue wants a size like 65536, 256K or 2M, not '%s'",
                                optarg);
            o.queue_bytes = (size_t)size;
            break;
        case O_CC: {
            char choices[64];
            if (synack_cc_parse(optarg, &o.cc) < 0)
                return cli_fail("demo", "--cc wants %s, not '%s'",
                                cc_choices(choices, sizeof choices), optarg);
            break;
        }
        case O_NO_SACK:
            o.sack = false;
            break;
        case O_NO_TS:
            o.timestamps = false;
            break;
        case O_NO_WSCALE:
            o.window_scale = false;
            break;
        case O_SNDBUF:
        case O_RCVBUF:
            if (cli_parse_size(optarg, &size) < 0 || size < BUF_MIN || size > BUF_MAX)
                return cli_fail("demo", "%s wants a size from 1K to 1G, like 64K or 4M, not '%s'",
                                opt == O_SNDBUF ? "--sndbuf" : "--rcvbuf", optarg);
            *(opt == O_SNDBUF ? &o.sndbuf : &o.rcvbuf) = (size_t)size;
            break;
        case O_CWND:
            cwnd = true;
            break;
        case O_SCENARIO:
            scenario = optarg;
            break;
        case O_LANG:
            lang = optarg;
            break;
        case O_CALLS:
            calls = true;
            break;
        case O_SVG:
            svg = optarg;
            break;
        case O_HTML:
            html = optarg;
            break;
        case 'h':
            fputs(demo_usage, stdout);
            return 0;
        case ':':
            return cli_fail("demo", "%s needs a value", argv[optind - 1]);
        default:
            return cli_fail("demo", "unknown option '%s' (see synack demo --help)",
                            argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_fail("demo", "unexpected argument '%s' (see synack demo --help)", argv[optind]);
    if (scenario || lang) {
        if (!scenario) return cli_fail("demo", "--lang goes with --scenario NAME");
        if (demo_story_options(argc, argv) > 0 || json || cwnd)
            return cli_fail("demo", "--scenario takes only --lang, --quiet, --ipv6, --pcap, --svg "
                                    "and --html: each scenario sets up its own run");
        struct lesson_output lo = {
            .quiet = quiet, .ipv6 = o.ipv6, .pcap = o.pcap, .svg = svg, .html = html};
        return demo_lesson(scenario, lang, &lo);
    }
    if (o.server_closes && o.simultaneous_close)
        return cli_fail("demo", "--server-closes and --simultaneous-close exclude each other");
    if (o.rcvbuf > 65535 && !o.window_scale)
        return cli_fail("demo", "--rcvbuf above 65535 needs window scaling: drop --no-wscale");
    struct demo_output out = {
        .quiet = quiet, .json = json, .cwnd = cwnd, .calls = calls, .svg = svg, .html = html};
    return demo_run(&o, &out);
}
