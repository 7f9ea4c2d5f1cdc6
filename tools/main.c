/* The `synack` command: one subcommand per file. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include <synack_version.h> /* generated in the build tree from cmake/version.h.in */

static const char usage[] =
    "usage: synack COMMAND [options]\n"
    "       synack --version\n"
    "\n"
    "commands:\n"
    "  demo    the handshake, data, close and every TCP state on a simulated network\n"
    "  torture thousands of seeded runs over a hostile simulated network, with invariants\n"
    "  cat     netcat over synack: TCP (or UDP with -u) on a TUN device or UDP encapsulation\n"
    "  http    a small HTTP/1.1 static file server on synack\n"
    "  run     an unmodified program (curl, nc, redis-server, ...) with its sockets on synack\n"
    "  trace   the TCP connections of a capture file (pcap, pcapng): ladder, states, graph\n"
    "  ss      the connections of the running synack processes (cat, http, run), like ss -tni\n"
    "\n"
    "`synack COMMAND --help` describes each command; `synack --version` (or -V) prints the\n"
    "version. bench is not built yet (see the README).\n";

/* Does the command line ask for a command's help? Its help then ends with the version. */
static bool asks_help(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return true;
    return false;
}

static int run_command(const char *cmd, int argc, char **argv)
{
    if (strcmp(cmd, "demo") == 0) return cmd_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "torture") == 0) return cmd_torture(argc - 1, argv + 1);
    if (strcmp(cmd, "cat") == 0) return cmd_cat(argc - 1, argv + 1);
    if (strcmp(cmd, "http") == 0) return cmd_http(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "trace") == 0) return cmd_trace(argc - 1, argv + 1);
    if (strcmp(cmd, "ss") == 0) return cmd_ss(argc - 1, argv + 1);
    fprintf(stderr, "synack: unknown command '%s' (see synack --help)\n", cmd);
    return 2;
}

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
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("synack %s\n", SYNACK_VERSION_STRING);
        return 0;
    }
    int rc = run_command(cmd, argc, argv);
    if (rc == 0 && asks_help(argc, argv))
        printf("\nThis is synack %s (`synack --version`).\n", SYNACK_VERSION_STRING);
    return rc;
}
