/* `synack torture`: many seeds of the deterministic torture run, with a summary. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "torture.h"

#define MAX_PCAPS 10   /* a range run leaves captures of its first failures only */
#define MAX_LISTED 100 /* failing seeds listed in the summary */

static const char torture_usage[] =
    "usage: synack torture [--seeds N] [--first S] [--seed S] [--profile P] [--pcap FILE]\n"
    "                      [-v] [--trace]\n"
    "\n"
    "Runs seeds of the deterministic torture test: two synack stacks over a simulated\n"
    "path with random loss (0-20%), reordering, duplication, corruption, jitter, rate\n"
    "limits, tiny and zero receive windows and tiny send buffers, random transfers both\n"
    "ways with a half-close. Every parameter comes from the seed. Each seed must deliver\n"
    "both byte streams exactly, close both ends within a time bound, and keep the\n"
    "connection invariants after every event. A failure prints the seed and a replay\n"
    "line and leaves a pcap of the run.\n"
    "\n"
    "  --seeds N      run N seeds (default 1000), from --first\n"
    "  --first S      the first seed of the range (default 1)\n"
    "  --seed S       run seed S only; its capture is written to --pcap if given\n"
    "  --profile P    random (default), zero-window, tiny-sndbuf, lossy-halfclose\n"
    "  --pcap FILE    capture file for --seed (a failing seed in a range leaves\n"
    "                 torture-seed<S>.pcap; only the first 10 failures do)\n"
    "  -v             print each seed's parameters and result\n"
    "  --trace        print every packet, state change and application action\n"
    "  -h, --help     this help\n"
    "\n"
    "Exit status: 0 if every seed passed, 1 if any failed, 2 for bad usage.\n";

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct summary {
    uint64_t seeds, failures, bytes, events;
    double sim_time, max_ratio;
    uint64_t max_ratio_seed;
    uint64_t listed[MAX_LISTED];
    size_t nlisted;
};

static void summary_add(struct summary *s, uint64_t seed, const struct torture_result *r)
{
    s->seeds++;
    s->bytes += r->bytes[0] + r->bytes[1];
    s->events += r->events;
    s->sim_time += (double)r->sim_time / 1e9;
    double ratio = r->bound ? (double)r->sim_time / (double)r->bound : 0;
    if (ratio > s->max_ratio) {
        s->max_ratio = ratio;
        s->max_ratio_seed = seed;
    }
    if (!r->ok) {
        s->failures++;
        if (s->nlisted < MAX_LISTED) s->listed[s->nlisted++] = seed;
    }
}

static void summary_print(const struct summary *s, double wall)
{
    printf("torture: %llu seeds, %llu failed; %.1f MB delivered, %.1f s simulated, %llu events; "
           "max time/bound %.3f (seed %llu); wall %.2f s\n",
           (unsigned long long)s->seeds, (unsigned long long)s->failures, (double)s->bytes / 1e6,
           s->sim_time, (unsigned long long)s->events, s->max_ratio,
           (unsigned long long)s->max_ratio_seed, wall);
    if (s->failures) {
        printf("failed seeds:");
        for (size_t i = 0; i < s->nlisted; i++)
            printf(" %llu", (unsigned long long)s->listed[i]);
        if (s->failures > s->nlisted) printf(" ...");
        printf("\n");
    }
}

int cmd_torture(int argc, char **argv)
{
    enum { O_SEEDS = 256, O_FIRST, O_SEED, O_PROFILE, O_PCAP, O_TRACE };
    static const struct option longopts[] = {
        {"seeds", required_argument, 0, O_SEEDS},
        {"first", required_argument, 0, O_FIRST},
        {"seed", required_argument, 0, O_SEED},
        {"profile", required_argument, 0, O_PROFILE},
        {"pcap", required_argument, 0, O_PCAP},
        {"trace", no_argument, 0, O_TRACE},
        {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct torture_opts o = {0};
    uint64_t seeds = 1000, first = 1, one = 0;
    bool single = false;
    int opt;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
        switch (opt) {
        case O_SEEDS:
            if (cli_parse_u64(optarg, &seeds) < 0 || seeds == 0)
                return cli_fail("torture", "--seeds wants a positive whole number, not '%s'",
                                optarg);
            break;
        case O_FIRST:
            if (cli_parse_u64(optarg, &first) < 0)
                return cli_fail("torture", "--first wants a whole number, not '%s'", optarg);
            break;
        case O_SEED:
            if (cli_parse_u64(optarg, &one) < 0)
                return cli_fail("torture", "--seed wants a whole number, not '%s'", optarg);
            single = true;
            break;
        case O_PROFILE:
            if (torture_profile_parse(optarg, &o.profile) < 0)
                return cli_fail("torture",
                                "--profile wants random, zero-window, tiny-sndbuf or "
                                "lossy-halfclose, not '%s'",
                                optarg);
            break;
        case O_PCAP:
            o.pcap = optarg;
            break;
        case O_TRACE:
            o.trace = true;
            break;
        case 'v':
            o.verbose = true;
            break;
        case 'h':
            fputs(torture_usage, stdout);
            return 0;
        case ':':
            return cli_fail("torture", "%s needs a value (see synack torture --help)",
                            argv[optind - 1]);
        default:
            return cli_fail("torture", "unknown option '%s' (see synack torture --help)",
                            argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_fail("torture", "unexpected argument '%s' (see synack torture --help)",
                        argv[optind]);
    if (o.pcap && !single)
        return cli_fail("torture", "--pcap names the capture of one seed: use it with --seed");
    if (single) {
        first = one;
        seeds = 1;
        o.pcap_always = o.pcap != NULL;
    }
    if (first + seeds < first) return cli_fail("torture", "--first + --seeds runs past 2^64");
    o.out = stdout;
    struct summary s = {0};
    double t0 = wall_seconds();
    for (uint64_t seed = first; seed < first + seeds; seed++) {
        struct torture_result r;
        o.no_pcap = !single && s.failures >= MAX_PCAPS;
        double w0 = wall_seconds();
        torture_run_seed(seed, &o, &r);
        summary_add(&s, seed, &r);
        if (o.verbose || single)
            printf("seed %llu: %s, %llu + %llu bytes, %.3f s of %.3f s bound, %llu events, "
                   "%llu corrupted, %llu late RSTs, wall %.3f s\n",
                   (unsigned long long)seed, r.ok ? "ok" : "FAILED", (unsigned long long)r.bytes[0],
                   (unsigned long long)r.bytes[1], (double)r.sim_time / 1e9, (double)r.bound / 1e9,
                   (unsigned long long)r.events, (unsigned long long)r.corrupted,
                   (unsigned long long)r.late_resets, wall_seconds() - w0);
        if (o.verbose)
            for (int i = 0; i < 2; i++) {
                const struct synack_counters *c = &r.counters[i];
                printf("  %s: segs out %llu, retransmits %llu (rto %llu, fast %llu, rack %llu, "
                       "tlp %llu), window probes %llu, dsacks in %llu, receive-buffer drops "
                       "%llu, zero windows sent %llu\n",
                       i ? "server" : "client", (unsigned long long)c->segs_out,
                       (unsigned long long)c->retransmits, (unsigned long long)c->rto_expiries,
                       (unsigned long long)c->fast_retransmits, (unsigned long long)c->rack_losses,
                       (unsigned long long)c->tlp_probes, (unsigned long long)c->window_probes,
                       (unsigned long long)c->dsacks_in,
                       (unsigned long long)c->drops[SYNACK_DROP_RCV_BUFFER],
                       (unsigned long long)r.zero_windows[i]);
            }
        fflush(stdout);
    }
    summary_print(&s, wall_seconds() - t0);
    return s.failures ? 1 : 0;
}
