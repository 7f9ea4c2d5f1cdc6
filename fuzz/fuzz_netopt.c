/*
 * The command-line options of `synack cat` and `synack http` (IPv4 and IPv6 addresses,
 * prefixes, link specifications, sizes, impairments) and the peer checks: the input is
 * split at NUL bytes into arguments.
 * Checked: no crash or sanitizer report, whatever a person types.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"
#include "netopt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[1024];
    if (size >= sizeof buf) size = sizeof buf - 1;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *argv[64];
    int argc = 0;
    for (size_t i = 0; i <= size && argc < 64;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w"); /* a bad value prints one line: not the point here */
    struct net_opts o;
    net_opts_default(&o);
    for (int i = 0; i < argc;) {
        int rc = net_opts_parse(&o, "fuzz", argc, argv, &i);
        if (rc <= 0) i++;
    }
    /* The first argument as a peer's address (HOST of `synack cat`), checked against what
     * was parsed. */
    struct synack_addr host;
    if (synack_addr_parse(argv[0], &host) == 0)
        (void)net_opts_check_peer(&o, "fuzz", "HOST", &host);
    (void)net_opts_check_family(&o, "fuzz", "-6", SYNACK_AF_INET6);
    if (stderr) fclose(stderr);
    stderr = saved;
    return 0;
}
