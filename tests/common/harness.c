#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int synack_test_run(const struct CMUnitTest *tests, size_t count, int argc, char **argv,
                    const char *group)
{
    if (argc < 2) return _cmocka_run_group_tests(group, tests, count, NULL, NULL);
    for (size_t i = 0; i < count; i++) {
        if (strcmp(tests[i].name, argv[1]) == 0)
            return _cmocka_run_group_tests(group, &tests[i], 1, NULL, NULL);
    }
    fprintf(stderr, "no test named '%s' in group %s\n", argv[1], group);
    return 1;
}

#define TEST_MEM_HDR 16 /* room for the size, keeping max_align_t alignment */

void *test_mem_alloc(void *ctx, size_t size)
{
    struct test_mem *m = ctx;
    uint8_t *p = malloc(TEST_MEM_HDR + size);
    if (!p) return NULL;
    memcpy(p, &size, sizeof size);
    m->live += size;
    if (m->live > m->peak) m->peak = m->live;
    return p + TEST_MEM_HDR;
}

void test_mem_free(void *ctx, void *ptr)
{
    struct test_mem *m = ctx;
    uint8_t *p = (uint8_t *)ptr - TEST_MEM_HDR;
    size_t size;
    memcpy(&size, p, sizeof size);
    m->live -= size;
    free(p);
}
