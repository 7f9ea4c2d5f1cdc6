/* Command-line values and usage errors, shared by the apps' option parsers (netopt.c) and the
 * `synack` subcommands. */
#ifndef SYNACK_CLI_H
#define SYNACK_CLI_H

#include <stdint.h>

/* "65536", "64K", "10M", "1G" (binary multiples). 0 or -1. */
int cli_parse_size(const char *s, uint64_t *out);
/* "0.02" or "2%" into [0, 1]. 0 or -1. */
int cli_parse_fraction(const char *s, double *out);
/* A finite number within [lo, hi]. 0 or -1. */
int cli_parse_double(const char *s, double lo, double hi, double *out);
/* A whole decimal number. 0 or -1. */
int cli_parse_u64(const char *s, uint64_t *out);
/* Prints "synack CMD: message" on one line to stderr and returns 2 (bad usage). */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
