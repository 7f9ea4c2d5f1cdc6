/* `synack ss`: the sockets of the running synack processes, read from their control sockets
 * (ctl.h) and shown the way `ss -tni` shows the kernel's, or as JSON. */
#ifndef SYNACK_SS_H
#define SYNACK_SS_H

#include <stdbool.h>
#include <stdio.h>

struct ss_opts {
    long pid;       /* -p PID: that process only; 0: every one found */
    bool listening; /* -l: listeners (and unconnected UDP sockets) only */
    bool all;       /* -a: every state (LISTEN, TIME_WAIT, CLOSED, unconnected UDP too) */
    bool tcp, udp;  /* -t, -u: TCP / UDP only; neither or both: both */
    bool json;      /* --json */
};

/* Lists the processes' sockets to `out`; problems go to stderr, one line each. Returns the
 * exit status: 0; 1 when no synack process could be read (none runs, -p PID not found or
 * not ours, the directory is not private) or one of them failed to answer. Sockets of
 * processes that are gone are removed on the way. */
int ss_run(const struct ss_opts *o, FILE *out);

#endif
