/* `synack demo --syn-flood RATE` and `synack demo --blind N`: attacks you can watch. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attack.h"
#include "cli.h"
#include "commands.h"
#include "lesson_cmd.h"

static const char attack_usage[] =
    "usage: synack demo --syn-flood RATE [options]\n"
    "       synack demo --blind N [options]\n"
    "\n"
    "--syn-flood RATE: an attacker sends RATE spoofed SYNs per second from random sources\n"
    "to a listener (backlog 128) while legitimate clients connect over a 10 ms path.\n"
    "Reports the handshakes that completed, their connect times, the listener's memory\n"
    "and its counters. Exit status 0 when at least 99% of the clients connected.\n"
    "  --flood-time SECONDS    how long the flood lasts (1)\n"
    "  --clients N             legitimate clients, starting at random times (1000)\n"
    "  --syncookies MODE       overflow (default), always, never\n"
    "  --compare               run once with the chosen mode and once with never\n"
    "  --backlog N             the listener's backlog (128)\n"
    "  --wall                  also print the wall-clock time and its cost per spoofed SYN\n"
    "\n"
    "--blind N: four connections carry 16 MiB each while an off-path attacker who knows\n"
    "their addresses and ports, but not their sequence numbers, injects N each of RSTs,\n"
    "SYNs, data segments and pure ACKs at random sequence and acknowledgment numbers,\n"
    "both ways. Reports resets, stalls, wrong bytes and goodput against the same run\n"
    "without the attack. Exit status 0 when nothing was reset, stalled or altered.\n"
    "  --conns N               connections (4)\n"
    "  --bytes SIZE            per connection (16M)\n"
    "  --inject-rate N         spoofed packets per second (8000)\n"
    "  --control               also one RST with the exact sequence number, handed to the\n"
    "                          server at the instant it is exact: it must reset its\n"
    "                          connection (and only that one)\n"
    "\n"
    "both:\n"
    "  --delay MS              one-way latency (10)\n"
    "  --seed S                every random choice (1)\n"
    "  --pcap FILE             capture every packet, the attack's too\n"
    "  --json                  one JSON object instead of the text\n"
    "  -h, --help              this help\n";

static double ms(synack_time_t t)
{
    return (double)t / 1e6;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void print_flood(const struct flood_opts *o, const struct flood_result *r, double wall)
{
    const struct synack_counters *c = &r->server;
    printf("syncookies %-8s  %u of %u legitimate handshakes completed (%.1f%%), %u failed\n",
           synack_syncookies_name(o->cookies), r->completed, r->clients,
           r->clients ? 100.0 * r->completed / r->clients : 0.0, r->failed);
    if (r->completed)
        printf("  connect time       p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n",
               ms(r->connect_p50), ms(r->connect_p90), ms(r->connect_p99), ms(r->connect_max));
    printf("  spoofed SYNs       %llu\n", (unsigned long long)r->spoofed);
    printf("  listener memory    peak %.1f MiB: %zu connections (%zu half-open) of %zu bytes "
           "and %zu bytes of their buffers and tables, %zu TIME_WAIT records\n",
           (double)r->peak_bytes / 1048576.0, r->peak_conns, r->peak_half_open, r->conn_bytes,
           r->peak_storage, r->peak_time_wait);
    printf("  SYN cookies        sent %llu  validated %llu  rejected %llu\n",
           (unsigned long long)c->syncookies_sent, (unsigned long long)c->syncookies_validated,
           (unsigned long long)c->syncookies_rejected);
    printf("  drops              syn-queue-full %llu  accept-queue-full %llu  conn-limit %llu\n",
           (unsigned long long)c->drops[SYNACK_DROP_SYN_QUEUE_FULL],
           (unsigned long long)c->drops[SYNACK_DROP_ACCEPT_QUEUE_FULL],
           (unsigned long long)c->drops[SYNACK_DROP_CONN_LIMIT]);
    printf("  simulated          %.3f s in %llu steps\n", (double)r->sim_time / 1e9,
           (unsigned long long)r->steps);
    if (wall >= 0)
        printf("  wall clock         %.2f s, %.0f ns per spoofed SYN (stacks and simulator)\n",
               wall, r->spoofed ? wall * 1e9 / (double)r->spoofed : 0.0);
}

static void json_flood(const struct flood_opts *o, const struct flood_result *r, bool last)
{
    const struct synack_counters *c = &r->server;
    printf("  {\"syncookies\":\"%s\",\"rate\":%llu,\"clients\":%u,\"completed\":%u,"
           "\"failed\":%u,\"connect_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
           "\"spoofed\":%llu,\"peak_bytes\":%zu,\"peak_conns\":%zu,\"peak_half_open\":%zu,"
           "\"conn_bytes\":%zu,\"conn_storage\":%zu,\"cookies\":{\"sent\":%llu,\"validated\":%llu,"
           "\"rejected\":%llu},"
           "\"drops\":{\"syn_queue_full\":%llu,\"accept_queue_full\":%llu,\"conn_limit\":%llu},"
           "\"sim_time_s\":%.6f}%s\n",
           synack_syncookies_name(o->cookies), (unsigned long long)o->rate, r->clients,
           r->completed, r->failed, ms(r->connect_p50), ms(r->connect_p90), ms(r->connect_p99),
           ms(r->connect_max), (unsigned long long)r->spoofed, r->peak_bytes, r->peak_conns,
           r->peak_half_open, r->conn_bytes, r->peak_storage,
           (unsigned long long)c->syncookies_sent, (unsigned long long)c->syncookies_validated,
           (unsigned long long)c->syncookies_rejected,
           (unsigned long long)c->drops[SYNACK_DROP_SYN_QUEUE_FULL],
           (unsigned long long)c->drops[SYNACK_DROP_ACCEPT_QUEUE_FULL],
           (unsigned long long)c->drops[SYNACK_DROP_CONN_LIMIT], (double)r->sim_time / 1e9,
           last ? "" : ",");
}

static int run_flood(struct flood_opts *o, bool compare, bool json, bool timed)
{
    enum synack_syncookies modes[2] = {o->cookies, SYNACK_SYNCOOKIES_NEVER};
    int runs = compare && o->cookies != SYNACK_SYNCOOKIES_NEVER ? 2 : 1;
    bool ok = true;
    if (json)
        printf("[\n");
    else
        printf("SYN flood: %llu spoofed SYN/s for %.1f s against one listener (backlog %u); "
               "%u clients over %.0f ms paths\n\n",
               (unsigned long long)o->rate, (double)o->duration / 1e9, o->backlog, o->clients,
               ms(o->delay));
    for (int i = 0; i < runs; i++) {
        o->cookies = modes[i];
        struct flood_result r;
        char err[200];
        double t0 = wall_now();
        int rc = flood_run(o, &r, err, sizeof err);
        double wall = wall_now() - t0;
        if (rc < 0) {
            fprintf(stderr, "synack demo: %s\n", err);
            return 1;
        }
        if (json)
            json_flood(o, &r, i == runs - 1);
        else
            print_flood(o, &r, timed ? wall : -1);
        if (i == 0) ok = r.clients == 0 || (uint64_t)r.completed * 100 >= (uint64_t)r.clients * 99;
        if (!json && i + 1 < runs) printf("\n");
    }
    if (json) printf("]\n");
    return ok ? 0 : 1;
}

static void print_blind(const struct blind_opts *o, const struct blind_result *r)
{
    printf("%-9s %u of %u connections completed, %u reset, %u stalled; %llu of %llu bytes "
           "delivered, %llu wrong\n",
           o->per_kind ? "attack" : "baseline", r->completed, r->conns, r->reset, r->stalled,
           (unsigned long long)r->bytes_received, (unsigned long long)r->bytes_sent,
           (unsigned long long)r->bytes_wrong);
    if (o->per_kind)
        printf("  injected          RST %llu  SYN %llu  data %llu  ACK %llu\n",
               (unsigned long long)r->injected[BLIND_RST],
               (unsigned long long)r->injected[BLIND_SYN],
               (unsigned long long)r->injected[BLIND_DATA],
               (unsigned long long)r->injected[BLIND_ACK]);
    printf("  goodput           %.2f Mbit/s over %.3f s\n", r->goodput_bps / 1e6,
           (double)r->transfer_time / 1e9);
    const struct synack_counters *s = &r->server, *c = &r->client;
    printf("  answers           challenge ACKs %llu (suppressed %llu), ACKs to invalid segments "
           "suppressed %llu\n",
           (unsigned long long)(s->challenge_acks + c->challenge_acks),
           (unsigned long long)(s->challenge_acks_suppressed + c->challenge_acks_suppressed),
           (unsigned long long)(s->invalid_acks_suppressed + c->invalid_acks_suppressed));
    printf("  sender            fast retransmits %llu, retransmits %llu, RTO %llu\n",
           (unsigned long long)c->fast_retransmits, (unsigned long long)c->retransmits,
           (unsigned long long)c->rto_expiries);
    if (o->control)
        printf("  control           the exact-sequence RST %s its connection\n",
               r->control_reset ? "reset" : "did NOT reset");
}

static void json_blind(const struct blind_opts *o, const struct blind_result *r, bool last)
{
    printf("  {\"attack\":%s,\"conns\":%u,\"completed\":%u,\"reset\":%u,\"stalled\":%u,"
           "\"bytes_sent\":%llu,\"bytes_received\":%llu,\"bytes_wrong\":%llu,"
           "\"injected\":{\"rst\":%llu,\"syn\":%llu,\"data\":%llu,\"ack\":%llu},"
           "\"goodput_bps\":%.0f,\"fast_retransmits\":%llu,\"control_reset\":%s}%s\n",
           o->per_kind ? "true" : "false", r->conns, r->completed, r->reset, r->stalled,
           (unsigned long long)r->bytes_sent, (unsigned long long)r->bytes_received,
           (unsigned long long)r->bytes_wrong, (unsigned long long)r->injected[BLIND_RST],
           (unsigned long long)r->injected[BLIND_SYN], (unsigned long long)r->injected[BLIND_DATA],
           (unsigned long long)r->injected[BLIND_ACK], r->goodput_bps,
           (unsigned long long)r->client.fast_retransmits, r->control_reset ? "true" : "false",
           last ? "" : ",");
}

static int run_blind(struct blind_opts *o, bool json)
{
    struct blind_result base, atk;
    char err[200];
    struct blind_opts b = *o;
    b.per_kind = 0;
    b.control = false;
    if (blind_run(&b, &base, err, sizeof err) < 0 || blind_run(o, &atk, err, sizeof err) < 0) {
        fprintf(stderr, "synack demo: %s\n", err);
        return 1;
    }
    unsigned expect_reset = o->control ? 1 : 0;
    bool ok = atk.reset == expect_reset && atk.stalled == 0 && atk.bytes_wrong == 0 &&
              (!o->control || atk.control_reset);
    if (json) {
        printf("[\n");
        json_blind(&b, &base, false);
        json_blind(o, &atk, true);
        printf("]\n");
        return ok ? 0 : 1;
    }
    printf("Blind injection: %u connections of %llu bytes over %.0f ms paths; an off-path "
           "attacker injects %u of each kind at %llu packets/s\n\n",
           o->conns, (unsigned long long)o->bytes, ms(o->delay), o->per_kind,
           (unsigned long long)o->inject_rate);
    print_blind(&b, &base);
    printf("\n");
    print_blind(o, &atk);
    if (base.goodput_bps > 0)
        printf("\ngoodput under attack: %.1f%% of the baseline\n",
               100.0 * atk.goodput_bps / base.goodput_bps);
    return ok ? 0 : 1;
}

int cmd_attack(int argc, char **argv)
{
    enum {
        O_FLOOD = 256,
        O_BLIND,
        O_FTIME,
        O_CLIENTS,
        O_COOKIES,
        O_COMPARE,
        O_BACKLOG,
        O_CONNS,
        O_BYTES,
        O_IRATE,
        O_CONTROL,
        O_DELAY,
        O_SEED,
        O_PCAP,
        O_JSON,
        O_WALL
    };
    static const struct option longopts[] = {{"syn-flood", required_argument, 0, O_FLOOD},
                                             {"blind", required_argument, 0, O_BLIND},
                                             {"flood-time", required_argument, 0, O_FTIME},
                                             {"clients", required_argument, 0, O_CLIENTS},
                                             {"syncookies", required_argument, 0, O_COOKIES},
                                             {"compare", no_argument, 0, O_COMPARE},
                                             {"backlog", required_argument, 0, O_BACKLOG},
                                             {"conns", required_argument, 0, O_CONNS},
                                             {"bytes", required_argument, 0, O_BYTES},
                                             {"inject-rate", required_argument, 0, O_IRATE},
                                             {"control", no_argument, 0, O_CONTROL},
                                             {"delay", required_argument, 0, O_DELAY},
                                             {"seed", required_argument, 0, O_SEED},
                                             {"pcap", required_argument, 0, O_PCAP},
                                             {"json", no_argument, 0, O_JSON},
                                             {"wall", no_argument, 0, O_WALL},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    struct flood_opts f;
    struct blind_opts b;
    flood_opts_default(&f);
    blind_opts_default(&b);
    bool flood = false, blind = false, compare = false, json = false, timed = false;
    uint64_t v;
    double d;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (opt) {
        case O_FLOOD:
            if (cli_parse_u64(optarg, &f.rate) < 0 || f.rate > 100000000)
                return cli_fail("demo", "--syn-flood wants SYNs per second 0..100000000, not '%s'",
                                optarg);
            flood = true;
            break;
        case O_BLIND:
            if (cli_parse_u64(optarg, &v) < 0 || v > 10000000)
                return cli_fail("demo", "--blind wants a count of each kind 0..10000000, not '%s'",
                                optarg);
            b.per_kind = (unsigned)v;
            blind = true;
            break;
        case O_FTIME:
            if (cli_parse_double(optarg, 0.001, 600, &d) < 0)
                return cli_fail("demo", "--flood-time wants seconds 0.001..600, not '%s'", optarg);
            f.duration = f.client_window = (synack_time_t)llround(d * 1e9);
            break;
        case O_CLIENTS:
            if (cli_parse_u64(optarg, &v) < 0 || v > 16000)
                return cli_fail("demo", "--clients wants 0..16000, not '%s'", optarg);
            f.clients = (unsigned)v;
            break;
        case O_COOKIES:
            if (synack_syncookies_parse(optarg, &f.cookies) < 0)
                return cli_fail("demo", "--syncookies wants overflow, always or never, not '%s'",
                                optarg);
            break;
        case O_COMPARE:
            compare = true;
            break;
        case O_BACKLOG:
            if (cli_parse_u64(optarg, &v) < 0 || v == 0 || v > 65535)
                return cli_fail("demo", "--backlog wants 1..65535, not '%s'", optarg);
            f.backlog = (unsigned)v;
            break;
        case O_CONNS:
            if (cli_parse_u64(optarg, &v) < 0 || v == 0 || v > 1000)
                return cli_fail("demo", "--conns wants 1..1000, not '%s'", optarg);
            b.conns = (unsigned)v;
            break;
        case O_BYTES:
            if (cli_parse_size(optarg, &b.bytes) < 0 || b.bytes == 0)
                return cli_fail("demo", "--bytes wants a size like 64K or 8M, not '%s'", optarg);
            break;
        case O_IRATE:
            if (cli_parse_u64(optarg, &b.inject_rate) < 0 || b.inject_rate == 0)
                return cli_fail("demo", "--inject-rate wants packets per second above 0, not '%s'",
                                optarg);
            break;
        case O_CONTROL:
            b.control = true;
            break;
        case O_DELAY:
            if (cli_parse_double(optarg, 0, 10000, &d) < 0)
                return cli_fail("demo", "--delay wants milliseconds 0..10000, not '%s'", optarg);
            f.delay = b.delay = (synack_time_t)llround(d * 1e6);
            break;
        case O_SEED:
            if (cli_parse_u64(optarg, &f.seed) < 0)
                return cli_fail("demo", "--seed wants a whole number, not '%s'", optarg);
            b.seed = f.seed;
            break;
        case O_PCAP:
            f.pcap = b.pcap = optarg;
            break;
        case O_JSON:
            json = true;
            break;
        case O_WALL:
            timed = true;
            break;
        case 'h':
            fputs(attack_usage, stdout);
            return 0;
        case ':':
            return cli_fail("demo", "%s needs a value", argv[optind - 1]);
        default:
            return cli_fail("demo",
                            "'%s' is not an option of the attack demos (see synack demo "
                            "--syn-flood 0 --help)",
                            argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_fail("demo", "unexpected argument '%s'", argv[optind]);
    if (flood == blind) return cli_fail("demo", "choose one of --syn-flood RATE and --blind N");
    return flood ? run_flood(&f, compare, json, timed) : run_blind(&b, json);
}
