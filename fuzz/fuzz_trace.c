/*
 * The capture reader of `synack trace` (apps/trace_read.c) and what reads its result
 * (apps/trace.c, trace_series.c, trace_svg.c, trace_html.c): the input is a capture file,
 * pcap or pcapng, of any link type; the list, every connection's ladder, graphs and page
 * are written to /dev/null. The same bytes are also filed as one raw IP packet
 * (trace_add_ip, as `synack demo --svg` files its packets). Checked beyond no crash: the
 * connections account for every segment and every payload byte, each end's state changes
 * fit in their table, and the series hold no more points than the connection has
 * segments, no RTT below zero.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "trace.h"

#define FUZZ_TRACE_MAX_CONNS 8 /* connections drawn per input */

static void fuzz_check_totals(const struct trace *t)
{
    uint64_t pkts = 0, bytes = 0, conn_bytes = 0;
    for (size_t i = 0; i < t->nconns; i++) {
        pkts += t->conns[i].packets;
        conn_bytes += t->conns[i].bytes[0] + t->conns[i].bytes[1];
    }
    for (size_t i = 0; i < t->npkts; i++) {
        if (t->pkts[i].conn >= t->nconns) abort();
        bytes += t->pkts[i].len;
    }
    if (pkts != t->npkts || bytes != conn_bytes) abort();
}

static void fuzz_check_series(const struct trace *t, size_t conn, const struct trace_analysis *a)
{
    struct trace_series s;
    if (trace_series_compute(t, a, trace_data_dir(&t->conns[conn]), &s) != 0) return;
    if (s.nrtt > a->n || s.nfly > a->n || s.nrtt + s.rtt_skipped > a->n) abort();
    for (size_t i = 0; i < s.nrtt; i++)
        if (!(s.rtt[i].v >= 0)) abort();
    trace_series_free(&s);
}

/* The input as one raw IP packet, into a trace of its own. */
static void fuzz_one_packet(const uint8_t *data, size_t size, FILE *null)
{
    struct trace *t;
    if (trace_new(&t) != 0) return;
    (void)trace_add_ip(t, 0, data, size);
    fuzz_check_totals(t);
    if (t->nconns > 0 && null != NULL) trace_write_html(t, 0, "fuzz", null);
    trace_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace *t;
    char err[512];
    FILE *null = fopen("/dev/null", "w");
    if (trace_open_memory(&t, data, size, err, sizeof(err)) != 0) {
        fuzz_one_packet(data, size, null);
        if (null != NULL) fclose(null);
        return 0;
    }
    fuzz_check_totals(t);
    if (null != NULL) {
        trace_print_list(t, "fuzz", null);
        for (size_t c = 0; c < t->nconns && c < FUZZ_TRACE_MAX_CONNS; c++) {
            struct trace_analysis a;
            if (trace_analyze(t, c, &a) == 0) {
                if (a.n != t->conns[c].packets) abort();
                for (int e = 0; e < 2; e++)
                    if (a.nchanges[e] > TRACE_MAX_STATES) abort();
                fuzz_check_series(t, c, &a);
                trace_analysis_free(&a);
            }
            trace_print_ladder(t, c, null);
            trace_write_svg(t, c, null);
            trace_write_html(t, c, "fuzz", null);
        }
    }
    trace_free(t);
    fuzz_one_packet(data, size, null);
    if (null != NULL) fclose(null);
    return 0;
}
