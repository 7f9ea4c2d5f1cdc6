/* `synack ss`: the connections of the running synack processes (apps/ss.c), the way
 * `ss -tni` lists the kernel's. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "ss.h"

static const char ss_usage[] =
    "usage: synack ss [-p PID] [-l | -a] [-t] [-u] [--json]\n"
    "\n"
    "Lists the sockets of the running synack processes (synack cat, synack http, synack\n"
    "run) the way `ss -tni` lists the kernel's: for each process a header (pid, command,\n"
    "link), then one line per socket (Netid State Recv-Q Send-Q Local:Port Peer:Port) and,\n"
    "for TCP, a second line: congestion controller and phase, rtt:SMOOTHED/VARIATION ms,\n"
    "min_rtt, rto, mss, cwnd and ssthresh in segments and bytes, retrans:UNACKED/TOTAL\n"
    "(segments), bytes_in_flight, bytes sent, received and acknowledged, segments, both\n"
    "windows, path MTU, options and skmem:(rbRCVBUF,tbSNDBUF), the sizes of the receive\n"
    "and send buffers now (autotuned, or fixed by SO_RCVBUF/SO_SNDBUF), as ss -m shows\n"
    "them. A listener's Recv-Q is its accept queue and Send-Q its backlog, as in ss.\n"
    "\n"
    "Each process answers on its control socket, PID.sock in $SYNACK_CTL_DIR, else\n"
    "$XDG_RUNTIME_DIR/synack, else /tmp/synack-UID: a directory of mode 0700 that must be\n"
    "yours; a process lets in only its own user (and root). Sockets of processes that\n"
    "are gone are removed. A process started with --no-control is not listed.\n"
    "\n"
    "  -p PID        that process only\n"
    "  -l            listeners (and unconnected UDP sockets) only\n"
    "  -a            every socket: listeners, connections, TIME_WAIT, unconnected UDP\n"
    "                (default: connections, without listeners, TIME_WAIT and CLOSED)\n"
    "  -t, -u        TCP only, UDP only\n"
    "  -n, -i        accepted for ss's habits: addresses are always numeric and the\n"
    "                details always shown\n"
    "  --json        a JSON array: one object per process (pid, cmd, link) with its\n"
    "                sockets, every field the process sent (times in microseconds, sizes\n"
    "                in bytes, as the key names say)\n"
    "  -h, --help    this help\n"
    "\n"
    "Exit status 0; 1 when no synack process runs, PID is not one of yours, the directory\n"
    "is not private or a process did not answer (one line says which); 2 for bad usage.\n";

/* Single-letter flags, alone or together (-tna). 0, or 2 after saying why. */
static int ss_flags(const char *a, struct ss_opts *o)
{
    for (const char *p = a + 1; *p; p++) {
        switch (*p) {
        case 'l':
            o->listening = true;
            break;
        case 'a':
            o->all = true;
            break;
        case 't':
            o->tcp = true;
            break;
        case 'u':
            o->udp = true;
            break;
        case 'n':
        case 'i':
            break;
        default:
            return cli_fail("ss", "unknown option '%s' (see synack ss --help)", a);
        }
    }
    return 0;
}

/* 0, -1 for --help (printed), or 2 after a bad usage. */
static int ss_parse(int argc, char **argv, struct ss_opts *o)
{
    *o = (struct ss_opts){0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        uint64_t v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(ss_usage, stdout);
            return -1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "-p") == 0) {
            if (i + 1 >= argc) return cli_fail("ss", "-p needs a PID");
            if (cli_parse_u64(argv[++i], &v) != 0 || v == 0 || v > 0x7fffffff)
                return cli_fail("ss", "-p wants a process id, not '%s'", argv[i]);
            o->pid = (long)v;
        } else if (a[0] == '-' && a[1] != '-' && a[1]) {
            if (ss_flags(a, o)) return 2;
        } else {
            return cli_fail("ss", "unexpected argument '%s' (see synack ss --help)", a);
        }
    }
    if (o->listening && o->all) return cli_fail("ss", "-l and -a cannot go together");
    return 0;
}

int cmd_ss(int argc, char **argv)
{
    struct ss_opts o;
    int rc = ss_parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    return ss_run(&o, stdout);
}
