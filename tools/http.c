#include <stdio.h>

#include "netopt.h"

int cmd_http(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("synack http: not built yet\n", stderr);
    return 2;
}
