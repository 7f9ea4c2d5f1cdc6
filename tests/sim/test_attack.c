/* The attack scenarios of `synack demo --syn-flood` and `--blind`, at a reduced size, with
 * their goals asserted as counts (the full-size figures are in docs/PERFORMANCE.md). */
#include "harness.h"

#include <stdio.h>

#include "attack.h"

static void run_flood(const struct flood_opts *o, struct flood_result *r)
{
    char err[200];
    int rc = flood_run(o, r, err, sizeof err);
    if (rc < 0) fail_msg("flood_run: %s", err);
}

static void small_flood(struct flood_opts *o, uint64_t rate, enum synack_syncookies mode)
{
    flood_opts_default(o);
    o->rate = rate;
    o->duration = o->client_window = SYNACK_MS(500);
    o->clients = 100;
    o->cookies = mode;
}

/* RFC 4987 §3.6: with cookies the flood does not keep legitimate clients out. */
static void syn_flood_with_cookies_lets_clients_in(void **state)
{
    (void)state;
    struct flood_opts o;
    struct flood_result r;
    small_flood(&o, 50000, SYNACK_SYNCOOKIES_OVERFLOW);
    run_flood(&o, &r);
    assert_int_equal(r.spoofed, 25000);
    assert_true(r.completed >= 99);
    assert_true(r.server.syncookies_sent >= 20000);
    assert_true(r.server.syncookies_validated >= 1);
    assert_int_equal(r.server.syncookies_rejected, 0);
    /* The SYN queue is full of spoofed entries, and no fuller. */
    assert_int_equal(r.peak_half_open, o.backlog);
    /* Connect time: one round trip (20 ms) for all but a few. */
    assert_true(r.connect_p90 <= SYNACK_MS(21));
}

/* Without cookies the flood wins: the SYN queue stays full of spoofed entries. */
static void syn_flood_without_cookies_keeps_clients_out(void **state)
{
    (void)state;
    struct flood_opts o;
    struct flood_result r;
    small_flood(&o, 50000, SYNACK_SYNCOOKIES_NEVER);
    run_flood(&o, &r);
    assert_true(r.completed <= 5);
    assert_true(r.failed >= 95);
    assert_true(r.server.drops[SYNACK_DROP_SYN_QUEUE_FULL] >= 20000);
    assert_int_equal(r.server.syncookies_sent, 0);
}

/* The memory a listener holds does not grow with the rate: 10x the SYNs, the same peak of
 * half-open connections, and at most the clients' own connections more. */
static void syn_flood_memory_is_flat_in_the_rate(void **state)
{
    (void)state;
    struct flood_opts o;
    struct flood_result lo, hi;
    small_flood(&o, 20000, SYNACK_SYNCOOKIES_OVERFLOW);
    run_flood(&o, &lo);
    small_flood(&o, 200000, SYNACK_SYNCOOKIES_OVERFLOW);
    run_flood(&o, &hi);
    assert_int_equal(hi.spoofed, 10 * lo.spoofed);
    assert_int_equal(lo.peak_half_open, o.backlog);
    assert_int_equal(hi.peak_half_open, o.backlog);
    assert_true(hi.peak_bytes <= lo.peak_bytes + 10 * hi.conn_bytes);
    assert_true(hi.completed >= 99 && lo.completed >= 99);
}

/* "always": no half-open state at all, and every client gets in. */
static void syn_flood_with_cookies_always_holds_no_half_open(void **state)
{
    (void)state;
    struct flood_opts o;
    struct flood_result r;
    small_flood(&o, 50000, SYNACK_SYNCOOKIES_ALWAYS);
    run_flood(&o, &r);
    assert_int_equal(r.peak_half_open, 0);
    assert_int_equal(r.completed, 100);
}

static void run_blind(const struct blind_opts *o, struct blind_result *r)
{
    char err[200];
    int rc = blind_run(o, r, err, sizeof err);
    if (rc < 0) fail_msg("blind_run: %s", err);
}

static void small_blind(struct blind_opts *o, unsigned per_kind)
{
    blind_opts_default(o);
    o->conns = 2;
    o->bytes = 4u << 20;
    o->per_kind = per_kind;
}

/* RFC 5961: an off-path attacker who knows the 4-tuples but not the sequence numbers
 * injects 1,000 each of RSTs, SYNs, data segments and ACKs: nothing is reset, stalled or
 * altered, and goodput stays within 5% of the run without the attack. */
static void blind_injection_changes_nothing(void **state)
{
    (void)state;
    struct blind_opts o;
    struct blind_result base, atk;
    small_blind(&o, 0);
    run_blind(&o, &base);
    small_blind(&o, 1000);
    run_blind(&o, &atk);
    assert_int_equal(base.completed, 2);
    for (int k = 0; k < BLIND_KINDS; k++)
        assert_true(atk.injected[k] >= 500); /* most went in while data was flowing */
    assert_int_equal(atk.completed, 2);
    assert_int_equal(atk.reset, 0);
    assert_int_equal(atk.stalled, 0);
    assert_int_equal(atk.bytes_wrong, 0);
    assert_int_equal(atk.bytes_received, 2 * o.bytes);
    assert_true(atk.goodput_bps >= 0.95 * base.goodput_bps);
    /* The answers the spoofed segments drew were limited, not one per packet. */
    uint64_t suppressed = atk.client.invalid_acks_suppressed + atk.server.invalid_acks_suppressed;
    assert_true(suppressed >= 1000);
}

/* The control: one RST with the exact sequence number still resets its connection, and
 * only that one. */
static void blind_control_rst_resets_its_connection(void **state)
{
    (void)state;
    struct blind_opts o;
    struct blind_result r;
    small_blind(&o, 1000);
    o.control = true;
    run_blind(&o, &r);
    assert_true(r.control_reset);
    assert_int_equal(r.reset, 1);
    assert_int_equal(r.completed, 1);
    assert_int_equal(r.bytes_wrong, 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(syn_flood_with_cookies_lets_clients_in),
    cmocka_unit_test(syn_flood_without_cookies_keeps_clients_out),
    cmocka_unit_test(syn_flood_memory_is_flat_in_the_rate),
    cmocka_unit_test(syn_flood_with_cookies_always_holds_no_half_open),
    cmocka_unit_test(blind_injection_changes_nothing),
    cmocka_unit_test(blind_control_rst_resets_its_connection),
};

SYNACK_TEST_MAIN("attack", tests)
