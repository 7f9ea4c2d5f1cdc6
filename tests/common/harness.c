#include "harness.h"

#include <stdio.h>
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
