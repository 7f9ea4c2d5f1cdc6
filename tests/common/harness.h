/* Test harness: cmocka plus the run-one-test-by-name main. */
#ifndef SYNACK_TEST_HARNESS_H
#define SYNACK_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testaddr.h"

/* Runs every test in `tests`, or only the one named by argv[1]. A name that matches no
 * test is an error (exit 1), so a typo in CTest can never pass silently. */
int synack_test_run(const struct CMUnitTest *tests, size_t count, int argc, char **argv,
                    const char *group);

#define SYNACK_TEST_MAIN(group, tests)                                                             \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return synack_test_run(tests, sizeof(tests) / sizeof(tests[0]), argc, argv, group);        \
    }

#endif
