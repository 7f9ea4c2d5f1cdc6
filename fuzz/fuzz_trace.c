/*
 * The capture reader of `synack trace` (apps/trace_read.c) and what reads its result
 * (apps/trace.c, apps/trace_svg.c): the input is a capture file, pcap or pcapng, of any
 * link type; the list, every connection's ladder and graph are written to /dev/null.
 * Checked beyond no crash: the connections account for every segment and every payload
 * byte, and each end's state changes fit in their table.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace *t;
    char err[512];
    if (trace_open_memory(&t, data, size, err, sizeof(err)) != 0) return 0;
    fuzz_check_totals(t);
    FILE *null = fopen("/dev/null", "w");
    if (null != NULL) {
        trace_print_list(t, "fuzz", null);
        for (size_t c = 0; c < t->nconns && c < FUZZ_TRACE_MAX_CONNS; c++) {
            struct trace_analysis a;
            if (trace_analyze(t, c, &a) == 0) {
                if (a.n != t->conns[c].packets) abort();
                for (int e = 0; e < 2; e++)
                    if (a.nchanges[e] > TRACE_MAX_STATES) abort();
                trace_analysis_free(&a);
            }
            trace_print_ladder(t, c, null);
            trace_write_svg(t, c, null);
        }
        fclose(null);
    }
    trace_free(t);
    return 0;
}
