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

/* A counting allocator for the core's alloc/free hooks (ctx: a struct test_mem): each block
 * carries its size in a header, so `live` is exact and a test can assert it is 0 after the
 * owner is freed. */
struct test_mem {
    size_t live, peak;
};
void *test_mem_alloc(void *ctx, size_t size);
void test_mem_free(void *ctx, void *ptr);

#define SYNACK_TEST_MAIN(group, tests)                                                             \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return synack_test_run(tests, sizeof(tests) / sizeof(tests[0]), argc, argv, group);        \
    }

#endif
