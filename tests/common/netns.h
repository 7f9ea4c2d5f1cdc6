/* Privileged tests in a network namespace of their own: the host is never touched, and the
 * namespace goes away with the child that made it, also when the test fails. */
#ifndef SYNACK_TEST_NETNS_H
#define SYNACK_TEST_NETNS_H

#include <stdbool.h>

#include <stdio.h>

/* In a child's function: on a false condition print where and return 1 (the test fails). */
#define CHILD_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* Exit status of a child that could not set its namespace up: the test is skipped. */
#define NETNS_SKIP_STATUS 77

/* Runs `fn` in a forked child after unshare(CLONE_NEWNET), then `setup` (a shell command
 * such as "ip link set lo up && ip addr add ..."; NULL for none). The test fails when `fn`
 * returns non-zero; it is skipped, with a message saying why, without root, without
 * /dev/net/tun when `need_tun`, or when the namespace or `setup` cannot be made. */
void netns_run(int (*fn)(void), const char *setup, bool need_tun);

#endif
