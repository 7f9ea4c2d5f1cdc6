#include "lesson_cmd.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "demo_graphs.h"
#include "ladder.h"
#include "lesson.h"

static void list_lessons(FILE *f, enum lesson_lang lang)
{
    for (size_t i = 0; i < lesson_count(); i++) {
        const struct lesson *l = lesson_at(i);
        fprintf(f, "  %-20s %s\n", l->name, l->title[lang]);
    }
}

/* The server's reads, kept for the table under the ladder. */
struct reads_view {
    struct lesson_reads reads;
};

static void on_read(void *ctx, const uint8_t *data, size_t n, synack_time_t t)
{
    struct reads_view *v = ctx;
    lesson_reads_on_read(&v->reads, data, n, t);
}

/* Each read and what it held; then the messages the length-prefix decoder found. */
static void print_reads(const struct scenario_opts *o, const struct lesson_reads *rd)
{
    char what[200];
    printf("\nthe server's read() calls (each message %s its letter):\n",
           o->framed ? "2 bytes of length, then" : "1000 bytes of");
    for (size_t i = 0; i < rd->n; i++) {
        lesson_read_describe(o, &rd->read[i], what, sizeof what);
        printf("  read %zu at %9.3f ms: %5zu bytes  %s\n", i + 1, (double)rd->read[i].t / 1e6,
               rd->read[i].len, what);
    }
    if (!o->framed) return;
    printf("the length-prefix decoder over the same bytes:");
    for (size_t k = 0; k < rd->ndecoded; k++)
        printf("%s #%zu %zu bytes", k ? "," : "", k + 1, rd->decoded[k]);
    printf("%s\n", rd->decoded_intact && rd->ndecoded == o->nmessages
                       ? ": every message whole, as it was written"
                       : ": NOT the messages written");
}

/* What each end of a heartbeat wrote and heard, and when it gave the other up. */
static void print_heartbeat(const struct scenario_result *r, enum lesson_lang lang)
{
    static const char *const fmt[LESSON_LANG_COUNT] = {
        "\n%s: wrote %llu %ss, heard %llu %ss; ",
        "\n%s:写了 %llu 个 %s,收到 %llu 个 %s;",
    };
    const struct scenario_side *end[2] = {&r->client, &r->server};
    for (int i = 0; i < 2; i++) {
        const char *mine = i == 0 ? "PING" : "PONG", *theirs = i == 0 ? "PONG" : "PING";
        const char *who =
            lang == LESSON_ZH ? (i == 0 ? "客户端" : "服务器") : (i == 0 ? "client" : "server");
        printf(fmt[lang] + (i ? 1 : 0), who, (unsigned long long)end[i]->heartbeats_sent, mine,
               (unsigned long long)end[i]->heartbeats_heard, theirs);
        if (end[i]->dead_at)
            printf(lang == LESSON_ZH ? "在 %.3f 秒判定对方已死,中止连接\n"
                                     : "gave the other end up at %.3f s\n",
                   (double)end[i]->dead_at / 1e9);
        else
            printf(lang == LESSON_ZH ? "没有放弃对方\n" : "never gave the other end up\n");
    }
}

/* A UDP act: each datagram, when it left and when (or whether) it arrived. */
static int run_udp_act(const struct lesson *l, size_t act, enum lesson_lang lang, bool ipv6,
                       const char *pcap)
{
    struct udp_story_opts o;
    struct udp_story_result r;
    char err[256];
    lesson_udp_setup(l, act, &o);
    o.ipv6 = ipv6;
    o.pcap = pcap;
    if (l->acts[act].caption[lang][0]) printf("%s\n\n", l->acts[act].caption[lang]);
    if (udp_story_run(&o, &r, err, sizeof err) < 0) {
        fprintf(stderr, "synack demo: %s\n", err);
        return 1;
    }
    for (unsigned k = 0; k < o.count; k++) {
        printf("  datagram %2u  sent at %7.3f ms  ", k + 1, (double)r.sent_at[k] / 1e6);
        if (r.arrived_at[k])
            printf("read at %7.3f ms\n", (double)r.arrived_at[k] / 1e6);
        else
            printf("LOST: never read, never resent\n");
    }
    printf("\n%u datagrams sent, %u read, %u lost\n\n", r.sent, r.received, r.sent - r.received);
    return 0;
}

/* A SYN flood: what became of the legitimate clients, and the server's queues. */
static int run_flood_act(const struct lesson *l, size_t act, enum lesson_lang lang,
                         const char *pcap)
{
    struct flood_opts o;
    struct flood_result r;
    char err[256];
    lesson_flood_setup(l, act, &o);
    o.pcap = pcap;
    if (l->acts[act].caption[lang][0]) printf("%s\n\n", l->acts[act].caption[lang]);
    if (flood_run(&o, &r, err, sizeof err) < 0) {
        fprintf(stderr, "synack demo: %s\n", err);
        return 1;
    }
    print_flood(&o, &r, -1);
    printf("\n");
    return 0;
}

/* TCP over UDP: the inner segments on the ladder, then what each layer did. */
static int run_tunnel_act(const struct lesson *l, size_t act, enum lesson_lang lang, bool quiet,
                          bool ipv6, const char *pcap)
{
    struct tunnel_opts o;
    struct tunnel_result r;
    char err[256];
    lesson_tunnel_setup(l, act, &o);
    o.ipv6 = ipv6;
    o.pcap = pcap;
    struct ladder L;
    ladder_init(&L, quiet, ipv6, lang == LESSON_ZH);
    o.observer = ladder_observe;
    o.observer_ctx = &L;
    if (tunnel_run(&o, &r, err, sizeof err) < 0) {
        fprintf(stderr, "synack demo: %s\n", err);
        return 1;
    }
    ladder_flush(&L);
    printf("\ninner TCP   %llu of %llu bytes arrived %s; %llu segments retransmitted; mss %u\n",
           (unsigned long long)r.bytes_received, (unsigned long long)o.bytes,
           r.intact ? "intact" : "DAMAGED", (unsigned long long)r.inner_retransmits, r.inner_mss);
    printf("outer UDP   %llu datagrams sent, %llu lost, none resent\n\n",
           (unsigned long long)r.datagrams_sent, (unsigned long long)r.datagrams_lost);
    return 0;
}

/* One act: its ladder, each side's states, what the links did, its graphs. */
static int run_act(const struct lesson *l, size_t act, enum lesson_lang lang,
                   const struct lesson_output *out)
{
    if (l->acts[act].udp_setup) return run_udp_act(l, act, lang, out->ipv6, out->pcap);
    if (l->acts[act].flood_setup) return run_flood_act(l, act, lang, out->pcap);
    if (l->acts[act].tunnel_setup)
        return run_tunnel_act(l, act, lang, out->quiet, out->ipv6, out->pcap);
    struct scenario_opts o;
    lesson_setup(l, act, &o);
    o.ipv6 = out->ipv6;
    o.pcap = out->pcap;
    struct scenario_sample samples[LESSON_SAMPLES];
    if (l->cwnd_plot) {
        o.samples = samples;
        o.samples_cap = LESSON_SAMPLES;
    }
    struct ladder L;
    ladder_init(&L, out->quiet || l->cwnd_plot, out->ipv6, lang == LESSON_ZH);
    L.edges = l->window_edges;
    o.observer = ladder_observe;
    o.observer_ctx = &L;
    o.on_state = ladder_state;
    o.state_ctx = &L;
    o.on_call = ladder_call;
    o.call_ctx = &L;
    static struct reads_view reads; /* 64 KiB of decoder: not on the stack */
    if (o.nmessages) {
        lesson_reads_init(&reads.reads);
        o.on_read = on_read;
        o.read_ctx = &reads;
    }
    struct demo_graphs g;
    bool graphs = out->svg || out->html;
    if (graphs && demo_graphs_open(&g, out->svg, out->html, &L, &o) != 0) return 1;
    if (l->acts[act].caption[lang][0]) printf("%s\n\n", l->acts[act].caption[lang]);
    struct scenario_result r;
    char err[256];
    if (scenario_run(&o, &r, err, sizeof err) < 0) {
        if (graphs) demo_graphs_close(&g);
        fprintf(stderr, "synack demo: %s\n", err);
        return 1;
    }
    ladder_flush(&L);
    char title[256];
    snprintf(title, sizeof title, "synack demo --scenario %s: %s", l->name, l->title[lang]);
    int status = graphs ? demo_graphs_write(&g, &o, &r, title) : 0;
    if (l->cwnd_plot) print_cwnd_view(&o, &r);
    if (o.nmessages) print_reads(&o, &reads.reads);
    if (o.heartbeat_interval) print_heartbeat(&r, lang);
    printf("\n");
    demo_print_states(stdout, "client", &r.client);
    demo_print_states(stdout, "server", &r.server);
    printf("%llu segments, %llu lost on the links, %llu retransmitted; %.3f s of simulated "
           "time\n\n",
           (unsigned long long)r.segments, (unsigned long long)r.lost,
           (unsigned long long)r.retransmissions, (double)r.sim_time / 1e9);
    if (graphs) demo_graphs_close(&g);
    return status;
}

/* Does lesson `l` have a TCP run to draw? */
static bool lesson_has_tcp(const struct lesson *l)
{
    for (size_t act = 0; act < l->nacts; act++)
        if (l->acts[act].setup) return true;
    return false;
}

int demo_lesson(const char *name, const char *lang_name, const struct lesson_output *out)
{
    enum lesson_lang lang = LESSON_EN;
    if (lang_name && lesson_lang_parse(lang_name, &lang) < 0)
        return cli_fail("demo", "--lang wants en or zh, not '%s'", lang_name);
    if (strcmp(name, "list") == 0) {
        printf("synack demo --scenario NAME, NAME one of:\n");
        list_lessons(stdout, lang);
        return 0;
    }
    const struct lesson *l = lesson_find(name);
    if (!l) {
        fprintf(stderr, "synack demo: no scenario '%s'; the scenarios are:\n", name);
        list_lessons(stderr, lang);
        return 2;
    }
    for (size_t act = 0; out->ipv6 && act < l->nacts; act++)
        if (l->acts[act].flood_setup)
            return cli_fail("demo",
                            "--ipv6: '%s' runs over IPv4 only (its spoofed sources, "
                            "clients and server are IPv4 addresses)",
                            name);
    if ((out->svg || out->html) && !lesson_has_tcp(l)) {
        fprintf(stderr, "synack demo: '%s' has no TCP run to draw (--svg, --html)\n", name);
        return 1;
    }
    if ((out->pcap || out->svg || out->html) && l->nacts > 1) {
        fprintf(stderr,
                "synack demo: --pcap, --svg or --html with '%s', which has %zu runs: the file "
                "holds the last\n",
                name, l->nacts);
    }
    printf("%s: %s\n\n", l->name, l->title[lang]);
    for (size_t act = 0; act < l->nacts; act++) {
        int rc = run_act(l, act, lang, out);
        if (rc) return rc;
    }
    fputs(l->explain[lang], stdout);
    bool laddered = false;
    for (size_t act = 0; act < l->nacts; act++)
        if (l->acts[act].setup || l->acts[act].tunnel_setup) laddered = true;
    if (!out->quiet && laddered && !l->cwnd_plot) ladder_legend(lang == LESSON_ZH);
    return 0;
}
