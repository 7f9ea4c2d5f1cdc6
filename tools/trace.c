/* `synack trace FILE`: the connections of a capture file, one as an annotated ladder with
 * both ends' states, its graphs as SVG and all of it as one HTML page (apps/trace*.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "trace.h"

static const char trace_usage[] =
    "usage: synack trace FILE [--conn N | --port PORT] [--svg OUT.svg] [--html OUT.html]\n"
    "       (FILE - : the standard input)\n"
    "\n"
    "Reads a capture (pcap or pcapng, anything libpcap reads: tcpdump, Wireshark, synack's\n"
    "own --pcap; Ethernet with VLAN tags, Linux cooked v1 and v2, raw IP, loopback; IPv4 and\n"
    "IPv6) and lists its TCP connections: endpoints, first and last time, packets, payload\n"
    "bytes each way, whether the handshake and the close were captured. Segments are parsed\n"
    "by synack's own parser; a wrong TCP checksum (a host that offloads checksums captures\n"
    "its own segments before the NIC fills them in) is shown anyway and marked.\n"
    "\n"
    "  --conn N          the ladder of connection N (as numbered in the list): one line per\n"
    "                    segment with its options, retransmissions, duplicate ACKs, zero\n"
    "                    windows, window updates and probes, keepalives, SACK blocks, and\n"
    "                    each end's inferred RFC 9293 state next to the segment that changed it\n"
    "  --port PORT       the same for the first connection with PORT at either end\n"
    "  --svg OUT.svg     write the connection's graphs (the first connection's without --conn\n"
    "                    or --port) as one SVG, stacked panels on one time axis: the\n"
    "                    time-sequence graph of the direction carrying more data (segments,\n"
    "                    retransmissions in red, ACKs, window, SACK blocks), the throughput\n"
    "                    acknowledged per interval, the RTT samples (each from a segment to\n"
    "                    the ACK covering it; Karn: none from an ACK of resent data) and the\n"
    "                    bytes in flight; a capture that starts mid-connection is marked\n"
    "                    partial. RTT and in flight are as seen where the capture was taken\n"
    "  --html OUT.html   write one self-contained page (nothing fetched): the connection\n"
    "                    list, the ladder, both ends' states and the graphs\n"
    "  -h, --help        this help\n"
    "\n"
    "Exit status 0 on success, 1 when the file cannot be read or holds no TCP (one line says\n"
    "why; a file cut short is shown as far as it goes, marked partial), 2 for bad usage.\n";

struct trace_opts {
    const char *file;
    const char *svg;
    const char *html;
    long conn; /* 0-based, or -1 */
    long port; /* or -1 */
};

static int trace_parse(int argc, char **argv, struct trace_opts *o)
{
    *o = (struct trace_opts){.conn = -1, .port = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        uint64_t v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(trace_usage, stdout);
            return 1;
        }
        if (strcmp(a, "--conn") == 0 || strcmp(a, "--port") == 0 || strcmp(a, "--svg") == 0 ||
            strcmp(a, "--html") == 0) {
            if (i + 1 >= argc) return cli_fail("trace", "%s needs a value", a);
            const char *val = argv[++i];
            if (strcmp(a, "--svg") == 0) {
                o->svg = val;
            } else if (strcmp(a, "--html") == 0) {
                o->html = val;
            } else if (cli_parse_u64(val, &v) != 0 || v == 0 || v > 65535) {
                return cli_fail("trace", "%s wants a number from 1 to 65535, not '%s'", a, val);
            } else if (strcmp(a, "--conn") == 0) {
                o->conn = (long)v - 1;
            } else {
                o->port = (long)v;
            }
        } else if (a[0] == '-' && a[1] != '\0') { /* "-" alone is the standard input */
            return cli_fail("trace", "unknown option '%s' (see synack trace --help)", a);
        } else if (o->file == NULL) {
            o->file = a;
        } else {
            return cli_fail("trace", "one capture file at a time ('%s' and '%s')", o->file, a);
        }
    }
    if (o->file == NULL) return cli_fail("trace", "which capture file? (see synack trace --help)");
    if (o->conn >= 0 && o->port >= 0) return cli_fail("trace", "--conn or --port, not both");
    return 0;
}

/* The connection --conn or --port chose (or the first, for --svg or --html alone): its index, or -1
 * with the reason printed. */
static long trace_pick(const struct trace *t, const struct trace_opts *o)
{
    if (o->port >= 0) {
        long c = trace_find_port(t, (uint16_t)o->port, 0);
        if (c < 0)
            fprintf(stderr, "synack trace: no connection with port %ld in %s\n", o->port, o->file);
        return c;
    }
    long c = o->conn >= 0 ? o->conn : 0;
    if ((size_t)c >= t->nconns) {
        fprintf(stderr, "synack trace: no connection %ld in %s (it has %zu)\n", c + 1, o->file,
                t->nconns);
        return -1;
    }
    return c;
}

/* Writes the graphs (`html` false) or the page of connection `conn` to `path`: 0, or 1
 * with one line on stderr. */
static int trace_out_file(const struct trace *t, size_t conn, const char *path, bool html,
                          const char *name)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "synack trace: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    int rc = html ? trace_write_html(t, conn, name, f) : trace_write_svg(t, conn, f);
    if (fclose(f) != 0 || rc != 0) {
        fprintf(stderr, "synack trace: could not write %s: %s\n", path,
                rc != 0 ? synack_strerror(rc) : strerror(errno));
        return 1;
    }
    return 0;
}

/* The ladder, the SVG and the page the options ask for, of connection `c`. */
static int trace_show(const struct trace *t, size_t c, const struct trace_opts *o)
{
    int status = 0;
    if (o->conn >= 0 || o->port >= 0) status = trace_print_ladder(t, c, stdout) != 0;
    if (o->svg != NULL && status == 0) status = trace_out_file(t, c, o->svg, false, o->file);
    if (o->html != NULL && status == 0) status = trace_out_file(t, c, o->html, true, o->file);
    return status;
}

int cmd_trace(int argc, char **argv)
{
    struct trace_opts o;
    int rc = trace_parse(argc, argv, &o);
    if (rc != 0) return rc == 1 ? 0 : rc;
    struct trace *t;
    char err[512];
    if (trace_open_file(&t, o.file, err, sizeof(err)) != 0) {
        fprintf(stderr, "synack trace: %s\n", err);
        return 1;
    }
    int status = 0;
    if (t->nconns == 0) {
        trace_print_list(t, o.file, stdout);
        fprintf(stderr, "synack trace: no TCP segments in %s\n", o.file);
        status = 1;
    } else if (o.conn < 0 && o.port < 0 && o.svg == NULL && o.html == NULL) {
        trace_print_list(t, o.file, stdout);
    } else {
        long c = trace_pick(t, &o);
        status = c < 0 ? 1 : trace_show(t, (size_t)c, &o);
    }
    trace_free(t);
    return status;
}
