/* Two synack stacks over the simulator, through the same scenario `synack demo` runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "scenario.h"

static void run_ok(const struct scenario_opts *o, struct scenario_result *r)
{
    char err[256] = "";
    int rc = scenario_run(o, r, err, sizeof err);
    if (rc != 0) fail_msg("scenario_run: %s", err);
}

static void assert_states(const struct scenario_side *s, const enum synack_state *want, size_t n)
{
    if (s->nstates != n)
        fail_msg("expected %zu states, saw %zu (last %s)", n, s->nstates,
                 s->nstates ? synack_state_name(s->states[s->nstates - 1]) : "-");
    for (size_t i = 0; i < n; i++) {
        if (s->states[i] != want[i])
            fail_msg("state %zu: expected %s, saw %s", i, synack_state_name(want[i]),
                     synack_state_name(s->states[i]));
    }
}

/* Several seeds at one loss rate: every byte arrives, in order, and both ends close. */
static void transfer_at_loss(double loss, uint64_t bytes, unsigned seeds)
{
    uint64_t lost = 0, rtx = 0;
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        struct scenario_opts o;
        struct scenario_result r;
        scenario_opts_default(&o);
        o.bytes = bytes;
        o.loss = loss;
        o.seed = seed;
        run_ok(&o, &r);
        if (!r.completed)
            fail_msg("loss %.2f seed %llu: sent %llu received %llu intact %d errors %d/%d "
                     "closed %d/%d",
                     loss, (unsigned long long)seed, (unsigned long long)r.bytes_sent,
                     (unsigned long long)r.bytes_received, r.intact, r.client.err, r.server.err,
                     r.client.closed, r.server.closed);
        assert_int_equal(r.bytes_received, bytes);
        assert_true(r.intact);
        lost += r.lost;
        rtx += r.retransmissions;
    }
    /* The loss really happened and was repaired (a lost ACK alone needs no repair, so
     * this holds over the seeds, not for each). */
    if (loss > 0) assert_true(lost > 0 && rtx > 0);
}

static void transfer_no_loss_byte_exact(void **state)
{
    (void)state;
    transfer_at_loss(0, 256 * 1024, 3);
}

static void transfer_1pct_loss_byte_exact(void **state)
{
    (void)state;
    transfer_at_loss(0.01, 256 * 1024, 5);
}

static void transfer_10pct_loss_byte_exact(void **state)
{
    (void)state;
    transfer_at_loss(0.10, 128 * 1024, 5);
}

static void no_loss_means_no_retransmission(void **state)
{
    (void)state;
    struct scenario_opts o;
    struct scenario_result r;
    scenario_opts_default(&o);
    o.bytes = 1024 * 1024;
    run_ok(&o, &r);
    assert_true(r.completed);
    assert_int_equal(r.retransmissions, 0);
    assert_int_equal(r.lost, 0);
}

static void demo_states_client_closes(void **state)
{
    (void)state;
    struct scenario_opts o;
    struct scenario_result r;
    scenario_opts_default(&o);
    run_ok(&o, &r);
    static const enum synack_state client[] = {
        SYNACK_CLOSED,     SYNACK_SYN_SENT,  SYNACK_ESTABLISHED, SYNACK_FIN_WAIT_1,
        SYNACK_FIN_WAIT_2, SYNACK_TIME_WAIT, SYNACK_CLOSED};
    static const enum synack_state server[] = {
        SYNACK_CLOSED,     SYNACK_LISTEN,   SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED,
        SYNACK_CLOSE_WAIT, SYNACK_LAST_ACK, SYNACK_CLOSED};
    assert_states(&r.client, client, 7);
    assert_states(&r.server, server, 7);
    /* TIME_WAIT holds the client for 2*MSL (30 s default): the run ends after it. */
    assert_true(r.sim_time >= SYNACK_S(60));
}

static void demo_states_server_closes(void **state)
{
    (void)state;
    struct scenario_opts o;
    struct scenario_result r;
    scenario_opts_default(&o);
    o.server_closes = true;
    run_ok(&o, &r);
    assert_true(r.completed);
    static const enum synack_state client[] = {SYNACK_CLOSED,      SYNACK_SYN_SENT,
                                               SYNACK_ESTABLISHED, SYNACK_CLOSE_WAIT,
                                               SYNACK_LAST_ACK,    SYNACK_CLOSED};
    static const enum synack_state server[] = {
        SYNACK_CLOSED,     SYNACK_LISTEN,     SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED,
        SYNACK_FIN_WAIT_1, SYNACK_FIN_WAIT_2, SYNACK_TIME_WAIT,    SYNACK_CLOSED};
    assert_states(&r.client, client, 6);
    assert_states(&r.server, server, 8);
}

static void demo_states_simultaneous_open(void **state)
{
    (void)state;
    struct scenario_opts o;
    struct scenario_result r;
    scenario_opts_default(&o);
    o.simultaneous_open = true;
    run_ok(&o, &r);
    assert_true(r.completed);
    static const enum synack_state client[] = {
        SYNACK_CLOSED,     SYNACK_SYN_SENT,   SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED,
        SYNACK_FIN_WAIT_1, SYNACK_FIN_WAIT_2, SYNACK_TIME_WAIT,    SYNACK_CLOSED};
    static const enum synack_state server[] = {
        SYNACK_CLOSED,     SYNACK_SYN_SENT, SYNACK_SYN_RECEIVED, SYNACK_ESTABLISHED,
        SYNACK_CLOSE_WAIT, SYNACK_LAST_ACK, SYNACK_CLOSED};
    assert_states(&r.client, client, 8);
    assert_states(&r.server, server, 7);
}

static void demo_states_simultaneous_close(void **state)
{
    (void)state;
    struct scenario_opts o;
    struct scenario_result r;
    scenario_opts_default(&o);
    o.simultaneous_close = true;
    run_ok(&o, &r);
    assert_true(r.completed);
    static const enum synack_state tail[] = {SYNACK_ESTABLISHED, SYNACK_FIN_WAIT_1, SYNACK_CLOSING,
                                             SYNACK_TIME_WAIT, SYNACK_CLOSED};
    const struct scenario_side *sides[] = {&r.client, &r.server};
    for (int i = 0; i < 2; i++) {
        const struct scenario_side *s = sides[i];
        assert_true(s->nstates >= 5);
        for (size_t k = 0; k < 5; k++)
            assert_int_equal(s->states[s->nstates - 5 + k], tail[k]);
    }
}

/* Records when each client segment with SYN or FIN was put on the wire. */
struct ctl_log {
    synack_time_t syn_times[8], fin_times[8];
    size_t nsyn, nfin;
};

static void log_ctl(void *ctx, const struct synack_sim_packet *ev)
{
    struct ctl_log *log = ctx;
    if (ev->kind != SYNACK_SIM_SENT || ev->from != 0 || ev->len < 40) return;
    uint8_t flags = ev->pkt[20 + 13];
    if ((flags & 0x02) && log->nsyn < 8) log->syn_times[log->nsyn++] = ev->time;
    if ((flags & 0x01) && log->nfin < 8) log->fin_times[log->nfin++] = ev->time;
}

static void lost_syn_is_resent_after_initial_rto(void **state)
{
    (void)state;
    static const uint64_t drop[] = {1}; /* the client's first packet: its SYN */
    struct ctl_log log = {0};
    struct scenario_opts o;
    struct scenario_result r;
    scenario_opts_default(&o);
    o.drop_client_to_server = drop;
    o.drop_c2s_count = 1;
    o.observer = log_ctl;
    o.observer_ctx = &log;
    run_ok(&o, &r);
    assert_true(r.completed);
    assert_int_equal(log.nsyn, 2);
    /* RFC 6298 (2.1): the initial RTO is 1 s. */
    assert_int_equal(log.syn_times[1] - log.syn_times[0], SYNACK_S(1));
    assert_int_equal(r.client.counters.retransmits, 1);
}

static void lost_syn_ack_is_resent(void **state)
{
    (void)state;
    static const uint64_t drop[] = {1}; /* the server's first packet: its SYN-ACK */
    struct scenario_opts o;
    struct scenario_result r;
    scenario_opts_default(&o);
    o.drop_server_to_client = drop;
    o.drop_s2c_count = 1;
    run_ok(&o, &r);
    assert_true(r.completed);
    assert_true(r.server.counters.retransmits >= 1);
}

static void lost_fin_is_resent(void **state)
{
    (void)state;
    /* With no data the client sends SYN, ACK, FIN: drop the FIN. */
    static const uint64_t drop[] = {3};
    struct ctl_log log = {0};
    struct scenario_opts o;
    struct scenario_result r;
    scenario_opts_default(&o);
    o.bytes = 0;
    o.drop_client_to_server = drop;
    o.drop_c2s_count = 1;
    o.observer = log_ctl;
    o.observer_ctx = &log;
    run_ok(&o, &r);
    assert_true(r.completed);
    assert_int_equal(log.nfin, 2);
    assert_true(log.fin_times[1] > log.fin_times[0]);
}

static void lost_data_segments_are_resent(void **state)
{
    (void)state;
    /* SYN is 1, the handshake ACK 2: drop data segments 4, 5 and 9. */
    static const uint64_t drop[] = {4, 5, 9};
    struct scenario_opts o;
    struct scenario_result r;
    scenario_opts_default(&o);
    o.drop_client_to_server = drop;
    o.drop_c2s_count = 3;
    run_ok(&o, &r);
    assert_true(r.completed);
    assert_true(r.intact);
    assert_int_equal(r.lost, 3);
    assert_true(r.client.counters.retransmits >= 3);
    assert_true(r.client.counters.rto_expiries >= 1);
}

static void read_file(const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    assert_true(n > 24);
    fseek(f, 0, SEEK_SET);
    *buf = malloc((size_t)n);
    assert_non_null(*buf);
    assert_int_equal(fread(*buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
}

static void capture(uint64_t seed, const char *path)
{
    struct scenario_opts o;
    struct scenario_result r;
    scenario_opts_default(&o);
    o.seed = seed;
    o.loss = 0.05;
    o.pcap = path;
    run_ok(&o, &r);
    assert_true(r.completed);
}

static void same_seed_gives_identical_pcap(void **state)
{
    (void)state;
    char a[64], b[64], c[64];
    snprintf(a, sizeof a, "/tmp/synack-det-%d-a.pcap", (int)getpid());
    snprintf(b, sizeof b, "/tmp/synack-det-%d-b.pcap", (int)getpid());
    snprintf(c, sizeof c, "/tmp/synack-det-%d-c.pcap", (int)getpid());
    capture(42, a);
    capture(42, b);
    capture(43, c);
    uint8_t *pa, *pb, *pc;
    size_t la, lb, lc;
    read_file(a, &pa, &la);
    read_file(b, &pb, &lb);
    read_file(c, &pc, &lc);
    assert_int_equal(la, lb);
    assert_memory_equal(pa, pb, la);
    /* ... and the seed matters: another one gives another run. */
    assert_true(la != lc || memcmp(pa, pc, la) != 0);
    free(pa);
    free(pb);
    free(pc);
    unlink(a);
    unlink(b);
    unlink(c);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(transfer_no_loss_byte_exact),
    cmocka_unit_test(transfer_1pct_loss_byte_exact),
    cmocka_unit_test(transfer_10pct_loss_byte_exact),
    cmocka_unit_test(no_loss_means_no_retransmission),
    cmocka_unit_test(demo_states_client_closes),
    cmocka_unit_test(demo_states_server_closes),
    cmocka_unit_test(demo_states_simultaneous_open),
    cmocka_unit_test(demo_states_simultaneous_close),
    cmocka_unit_test(lost_syn_is_resent_after_initial_rto),
    cmocka_unit_test(lost_syn_ack_is_resent),
    cmocka_unit_test(lost_fin_is_resent),
    cmocka_unit_test(lost_data_segments_are_resent),
    cmocka_unit_test(same_seed_gives_identical_pcap),
};

SYNACK_TEST_MAIN("transfer", tests)
