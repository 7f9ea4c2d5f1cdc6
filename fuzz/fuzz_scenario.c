/*
 * The simulator's scenarios from arbitrary options: the demo's transfer (size, loss, delay,
 * rate, queue, exact drop lists, buffers, TCP options, the choreographies), the SYN flood
 * and the blind injection, each kept small enough to run in milliseconds. Checked: no
 * crash or sanitizer report, and a transfer that delivered every byte delivered them
 * exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "fuzz_common.h"
#include "scenario.h"

static void transfer(struct fz_in *in)
{
    struct scenario_opts o;
    scenario_opts_default(&o);
    uint8_t f = fz_u8(in);
    o.bytes = fz_u16(in);
    o.loss = fz_u8(in) / 255.0 * 0.3;
    o.delay = SYNACK_MS(fz_u8(in));
    uint8_t rate = fz_u8(in);
    o.rate_bps = rate ? (uint64_t)rate * 1000000 : 0;
    o.queue_bytes = (size_t)fz_u8(in) * 1024;
    o.seed = fz_u32(in);
    o.server_closes = f & 1;
    o.simultaneous_open = f & 2;
    o.simultaneous_close = f & 4;
    o.cc = (f & 8) ? SYNACK_CC_NEWRENO : SYNACK_CC_CUBIC;
    o.sack = !(f & 0x10);
    o.timestamps = !(f & 0x20);
    o.window_scale = !(f & 0x40);
    if (f & 0x80) {
        o.sndbuf = 1 + (size_t)fz_u16(in) * 4;
        o.rcvbuf = 1 + (size_t)fz_u16(in) * 4;
        if (!o.window_scale && o.rcvbuf > 65535) o.rcvbuf = 65535;
    }
    uint64_t drops[2][8];
    size_t nd[2];
    for (int k = 0; k < 2; k++) {
        nd[k] = fz_u8(in) % 9;
        for (size_t i = 0; i < nd[k]; i++)
            drops[k][i] = fz_u8(in);
    }
    o.drop_client_to_server = drops[0];
    o.drop_c2s_count = nd[0];
    o.drop_server_to_client = drops[1];
    o.drop_s2c_count = nd[1];
    o.max_sim_time = SYNACK_S(120);
    struct scenario_result r;
    char err[200];
    if (scenario_run(&o, &r, err, sizeof err) != 0) return;
    if (r.bytes_received == r.bytes_sent && r.digest_received != r.digest_sent) {
        fprintf(stderr, "fuzz_scenario: %llu bytes delivered, not the ones sent\n",
                (unsigned long long)r.bytes_received);
        abort();
    }
}

static void flood(struct fz_in *in)
{
    struct flood_opts o;
    flood_opts_default(&o);
    o.rate = (uint64_t)fz_u16(in) % 20001;
    o.duration = o.client_window = SYNACK_MS(1 + fz_u8(in) % 200);
    o.clients = fz_u8(in) % 21;
    o.cookies = (enum synack_syncookies)(fz_u8(in) % SYNACK_SYNCOOKIES_COUNT);
    o.backlog = 1 + fz_u8(in) % 16;
    o.delay = SYNACK_MS(fz_u8(in) % 50);
    o.seed = fz_u32(in);
    o.max_time = SYNACK_S(150);
    struct flood_result r;
    char err[200];
    flood_run(&o, &r, err, sizeof err);
}

static void blind(struct fz_in *in)
{
    struct blind_opts o;
    blind_opts_default(&o);
    o.conns = 1 + fz_u8(in) % 3;
    o.bytes = 1 + fz_u16(in);
    o.per_kind = fz_u8(in);
    o.inject_rate = 1 + (uint64_t)fz_u16(in);
    o.control = fz_u8(in) & 1;
    o.delay = SYNACK_MS(fz_u8(in) % 50);
    o.seed = fz_u32(in);
    o.max_time = SYNACK_S(300);
    struct blind_result r;
    char err[200];
    if (blind_run(&o, &r, err, sizeof err) == 0 && r.bytes_wrong) {
        fprintf(stderr, "fuzz_scenario: blind injection altered %llu bytes\n",
                (unsigned long long)r.bytes_wrong);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    switch (fz_u8(&in) % 3) {
    case 0:
        transfer(&in);
        break;
    case 1:
        flood(&in);
        break;
    default:
        blind(&in);
        break;
    }
    return 0;
}
