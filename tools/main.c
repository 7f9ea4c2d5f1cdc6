/* The `synack` command: one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const char usage[] =
    "usage: synack COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  demo    the handshake, data, close and every TCP state on a simulated network\n"
    "  torture thousands of seeded runs over a hostile simulated network, with invariants\n"
    "  cat     netcat over synack: TCP (or UDP with -u) on a TUN device or UDP encapsulation\n"
    "  http    a small HTTP/1.1 static file server on synack\n"
    "  run     an unmodified program (curl, nc, redis-server, ...) with its sockets on synack\n"
    "  trace   the TCP connections of a capture file (pcap, pcapng): ladder, states, graph\n"
    "\n"
    "`synack COMMAND --help` describes each command. bench is not built yet (see the README).\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "demo") == 0) return cmd_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "torture") == 0) return cmd_torture(argc - 1, argv + 1);
    if (strcmp(cmd, "cat") == 0) return cmd_cat(argc - 1, argv + 1);
    if (strcmp(cmd, "http") == 0) return cmd_http(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "trace") == 0) return cmd_trace(argc - 1, argv + 1);
    fprintf(stderr, "synack: unknown command '%s' (see synack --help)\n", cmd);
    return 2;
}
