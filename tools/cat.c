#include <stdio.h>

#include "netopt.h"

int cmd_cat(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("synack cat: not built yet\n", stderr);
    return 2;
}
