/* `synack demo`: the handshake, the data, the close and every state, on a simulated path. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "scenario.h"
#include "base/seq.h"
#include "wire/wire.h"

#define LADDER_HEAD 60 /* lines shown before eliding a long transfer */
#define LADDER_TAIL 24 /* lines kept at the end */
#define ARROW_WIDTH 60

struct ladder_line {
    synack_time_t t;
    char text[200];
};

/* What the ladder needs to label the handshake and the close. */
struct ladder {
    bool quiet;
    uint32_t iss[2]; /* client, server: for relative sequence numbers */
    bool have_iss[2];
    uint32_t max_end[2]; /* highest sequence sent + 1, per side: spots retransmissions */
    bool sent_any[2];
    int handshake_step; /* last handshake step labelled (0..3) */
    unsigned syn_sides; /* bit per side that sent a bare SYN */
    int close_step;     /* last close step labelled (0..4) */
    int fin_side[2];    /* which side sent the first and the second FIN (-1: none) */
    uint32_t fin_seq[2];
    uint64_t total; /* segments seen */
    uint64_t elided;
    /* The tail ring: the last LADDER_TAIL lines of a long transfer. */
    struct ladder_line tail[LADDER_TAIL];
    size_t tail_len, tail_head;
    /* Lines the observer printed are keyed by (link, number) so a loss can mark them. */
};

static double ms(synack_time_t t)
{
    return (double)t / 1e6;
}

/* "handshake 1/3", "close 2/4", ... for segment `seg` sent by `side` (0 client, 1 server). */
static const char *ladder_label(struct ladder *L, int side, const struct wire_tcp_repr *seg,
                                char *buf, size_t cap)
{
    uint8_t f = seg->flags;
    buf[0] = 0;
    bool simultaneous = L->syn_sides == 3;
    if ((f & WIRE_TCP_SYN) && !(f & WIRE_TCP_ACK)) {
        L->syn_sides |= 1u << side;
        if (L->syn_sides == 3)
            snprintf(buf, cap, "simultaneous open: SYNs cross");
        else
            snprintf(buf, cap, "handshake 1/3");
        if (L->handshake_step == 0) L->handshake_step = 1;
        return buf;
    }
    if ((f & WIRE_TCP_SYN) && (f & WIRE_TCP_ACK)) {
        if (L->handshake_step < 2) L->handshake_step = 2;
        snprintf(buf, cap, simultaneous ? "simultaneous open: SYN-ACKs cross" : "handshake 2/3");
        return buf;
    }
    if (f & WIRE_TCP_RST) {
        snprintf(buf, cap, "reset");
        return buf;
    }
    if (L->handshake_step == 2 && !simultaneous && !(f & WIRE_TCP_FIN) && seg->payload_len == 0) {
        L->handshake_step = 3;
        snprintf(buf, cap, "handshake 3/3");
        return buf;
    }
    /* The close: FIN from one side (1/4), its ACK (2/4), FIN from the other (3/4), its ACK
     * (4/4). A FIN that also acknowledges the first FIN is steps 2/4 and 3/4 at once. */
    bool acks_first = L->close_step >= 1 && side != L->fin_side[0] && (f & WIRE_TCP_ACK) &&
                      seq_geq(seg->ack, L->fin_seq[0] + 1);
    if (f & WIRE_TCP_FIN) {
        if (L->close_step == 0) {
            L->close_step = 1;
            L->fin_side[0] = side;
            L->fin_seq[0] = seg->seq + (uint32_t)seg->payload_len;
            snprintf(buf, cap, "close 1/4");
        } else if (side != L->fin_side[0] && L->close_step < 3) {
            L->fin_side[1] = side;
            L->fin_seq[1] = seg->seq + (uint32_t)seg->payload_len;
            snprintf(buf, cap,
                     acks_first && L->close_step == 1 ? "close 2/4 + 3/4"
                     : acks_first                     ? "close 3/4"
                                                      : "close 3/4 (simultaneous)");
            L->close_step = 3;
        }
        return buf;
    }
    if (L->close_step == 1 && acks_first) {
        L->close_step = 2;
        snprintf(buf, cap, "close 2/4");
    } else if (L->close_step == 3 && side == L->fin_side[0] && (f & WIRE_TCP_ACK) &&
               seq_geq(seg->ack, L->fin_seq[1] + 1)) {
        L->close_step = 4;
        snprintf(buf, cap, "close 4/4");
    } else if (L->close_step == 3 && side == L->fin_side[1] && (f & WIRE_TCP_ACK) &&
               seq_geq(seg->ack, L->fin_seq[0] + 1)) {
        snprintf(buf, cap, "close: ACK of the crossing FIN");
    }
    return buf;
}

static void ladder_emit(struct ladder *L, synack_time_t t, const char *line)
{
    L->total++;
    if (L->quiet) return;
    if (L->total == 1) /* the header comes with the first segment, not before an error */
        printf("%10s  |%-*s|\n%10s  |%*s|\n", "time ms", ARROW_WIDTH, " client 198.18.0.1", "",
               ARROW_WIDTH, "server 198.18.0.2 ");
    if (L->total <= LADDER_HEAD) {
        printf("%10.3f  %s\n", ms(t), line);
        return;
    }
    /* Past the head, keep only the last lines: printed at the end with the elided count. */
    struct ladder_line *slot = &L->tail[(L->tail_head + L->tail_len) % LADDER_TAIL];
    if (L->tail_len == LADDER_TAIL) {
        L->tail_head = (L->tail_head + 1) % LADDER_TAIL;
        L->elided++;
    } else {
        L->tail_len++;
    }
    slot->t = t;
    snprintf(slot->text, sizeof slot->text, "%s", line);
}

static void ladder_flush(struct ladder *L)
{
    if (L->quiet) return;
    if (L->elided)
        printf("%10s  %*s... %llu more segments ...\n", "", ARROW_WIDTH / 2 - 10, "",
               (unsigned long long)L->elided);
    for (size_t i = 0; i < L->tail_len; i++) {
        const struct ladder_line *l = &L->tail[(L->tail_head + i) % LADDER_TAIL];
        printf("%10.3f  %s\n", ms(l->t), l->text);
    }
    L->tail_len = 0;
}

/* One segment as an arrow across the page: client on the left, server on the right. */
static void ladder_observe(void *ctx, const struct synack_sim_packet *ev)
{
    struct ladder *L = ctx;
    struct wire_ipv4_repr ip;
    struct wire_tcp_repr seg;
    bool lost = ev->kind == SYNACK_SIM_LOST || ev->kind == SYNACK_SIM_DROPPED ||
                ev->kind == SYNACK_SIM_QUEUE_FULL;
    if (ev->kind != SYNACK_SIM_SENT && !lost) return;
    if (wire_packet_parse(ev->pkt, ev->len, &ip, &seg) != SYNACK_DROP_NONE) return;
    int side = ip.src == SCENARIO_CLIENT_ADDR ? 0 : 1;
    char line[200];
    if (lost) {
        snprintf(line, sizeof line, "%*s  ^ %s on the way (packet %llu of its link)",
                 side == 0 ? 2 : ARROW_WIDTH - 30, "", synack_sim_packet_kind_name(ev->kind),
                 (unsigned long long)ev->number);
        ladder_emit(L, ev->time, line);
        return;
    }
    if ((seg.flags & WIRE_TCP_SYN) && !L->have_iss[side]) {
        L->iss[side] = seg.seq;
        L->have_iss[side] = true;
    }
    uint32_t rel_seq = seg.seq - L->iss[side];
    uint32_t rel_ack = seg.ack - L->iss[!side];
    uint32_t used = (uint32_t)seg.payload_len + ((seg.flags & WIRE_TCP_SYN) ? 1 : 0) +
                    ((seg.flags & WIRE_TCP_FIN) ? 1 : 0);
    bool rtx = used && L->sent_any[side] && seq_lt(seg.seq, L->max_end[side]);
    if (used && (!L->sent_any[side] || seq_gt(seg.seq + used, L->max_end[side])))
        L->max_end[side] = seg.seq + used;
    if (used) L->sent_any[side] = true;

    char flags[16], body[96], label[48];
    wire_fmt_flags(flags, sizeof flags, seg.flags);
    int n = snprintf(body, sizeof body, " %s seq %u", flags, rel_seq);
    if ((seg.flags & WIRE_TCP_ACK) && L->have_iss[!side])
        n += snprintf(body + n, sizeof body - (size_t)n, " ack %u", rel_ack);
    snprintf(body + n, sizeof body - (size_t)n, " win %u len %zu ", seg.window, seg.payload_len);
    ladder_label(L, side, &seg, label, sizeof label);

    char arrow[ARROW_WIDTH + 1];
    size_t blen = strlen(body);
    if (blen > ARROW_WIDTH - 4) blen = ARROW_WIDTH - 4;
    size_t dashes = ARROW_WIDTH - 2 - blen; /* two for the arrowhead and its tail */
    size_t left = side == 0 ? 2 : dashes - 2;
    size_t pos = 0;
    arrow[pos++] = side == 0 ? '-' : '<';
    for (size_t i = 0; i < left; i++)
        arrow[pos++] = '-';
    memcpy(arrow + pos, body, blen);
    pos += blen;
    while (pos < ARROW_WIDTH - 1)
        arrow[pos++] = '-';
    arrow[pos++] = side == 0 ? '>' : '-';
    arrow[pos] = 0;
    snprintf(line, sizeof line, "|%s|  %s%s%s", arrow, label, rtx && label[0] ? ", " : "",
             rtx ? "RETRANSMISSION" : "");
    ladder_emit(L, ev->time, line);
}

static void print_states(const char *who, const struct scenario_side *s, FILE *f)
{
    fprintf(f, "%s:", who);
    for (size_t i = 0; i < s->nstates; i++)
        fprintf(f, "%s %s", i ? " ->" : "", synack_state_name(s->states[i]));
    fprintf(f, "\n");
}

static void print_json_states(const struct scenario_side *s)
{
    printf("[");
    for (size_t i = 0; i < s->nstates; i++)
        printf("%s\"%s\"", i ? "," : "", synack_state_name(s->states[i]));
    printf("]");
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
    printf("}}\n");
}

static void print_summary(const struct scenario_opts *o, const struct scenario_result *r,
                          double wall)
{
    char a[16], b[16];
    printf("\n");
    print_states("client", &r->client, stdout);
    print_states("server", &r->server, stdout);
    printf("\nclient %s:%u  server %s:%u  (sequence numbers above are relative to each ISN)\n",
           wire_fmt_addr(a, sizeof a, r->client.addr), r->client.port,
           wire_fmt_addr(b, sizeof b, r->server.addr), r->server.port);
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
    printf("simulated time   %.3f s (TIME_WAIT holds the closing end for 2*MSL = 60 s)\n",
           (double)r->sim_time / 1e9);
    printf("real time        %.3f s\n", wall);
    printf("seed             %llu\n", (unsigned long long)o->seed);
    if (r->client.err || r->server.err)
        printf("errors           client: %s; server: %s\n",
               r->client.err ? synack_strerror(r->client.err) : "none",
               r->server.err ? synack_strerror(r->server.err) : "none");
    if (!r->completed) printf("the transfer did NOT complete cleanly\n");
}

static const char demo_usage[] =
    "usage: synack demo [options]\n"
    "\n"
    "Two synack stacks on a simulated network: the client (198.18.0.1) connects to the\n"
    "server (198.18.0.2:80), sends data, the server reads it, and the connection closes.\n"
    "Prints a ladder diagram of every segment, each side's TCP states and a summary.\n"
    "\n"
    "options:\n"
    "  --bytes N             bytes the client sends (suffixes K, M, G = 2^10, 2^20, 2^30;\n"
    "                        default 64K)\n"
    "  --loss P              packet loss in each direction: a fraction (0.02) or a\n"
    "                        percentage (2%%); default 0\n"
    "  --delay MS            one-way delay in milliseconds (default 10)\n"
    "  --rate MBIT           link rate in Mbit/s (default 100)\n"
    "  --seed N              seed of the network, the stacks and the data (default 1)\n"
    "  --pcap FILE           write every packet to FILE (pcap, raw IPv4)\n"
    "  --server-closes       the server closes first once it has every byte\n"
    "  --simultaneous-open   both ends send SYN at once (no listener)\n"
    "  --simultaneous-close  both ends close at the same instant\n"
    "  --quiet               no ladder diagram: states and summary only\n"
    "  --json                one JSON object instead of text\n"
    "  -h, --help            this help\n"
    "\n"
    "exit status: 0 when the bytes arrived intact and both ends closed cleanly, 1 when the\n"
    "transfer failed, 2 for a bad option.\n";

int cmd_demo(int argc, char **argv)
{
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
        O_JSON
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
        {"simultaneous-close", no_argument, 0, O_SIMCLOSE},
        {"quiet", no_argument, 0, O_QUIET},
        {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct scenario_opts o;
    scenario_opts_default(&o);
    bool quiet = false, json = false;
    double d;
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
            if (cli_parse_double(optarg, 0, 60000, &d) < 0)
                return cli_fail("demo", "--delay wants milliseconds 0..60000, not '%s'", optarg);
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
        case O_SIMCLOSE:
            o.simultaneous_close = true;
            break;
        case O_QUIET:
            quiet = true;
            break;
        case O_JSON:
            json = true;
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
    if (o.server_closes && o.simultaneous_close)
        return cli_fail("demo", "--server-closes and --simultaneous-close exclude each other");

    struct ladder L = {.quiet = quiet || json, .fin_side = {-1, -1}};
    o.observer = ladder_observe;
    o.observer_ctx = &L;
    struct scenario_result r;
    char err[256];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = scenario_run(&o, &r, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0) {
        fprintf(stderr, "synack demo: %s\n", err);
        return 1;
    }
    ladder_flush(&L);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (json)
        print_json(&o, &r, wall);
    else
        print_summary(&o, &r, wall);
    return r.completed ? 0 : 1;
}
