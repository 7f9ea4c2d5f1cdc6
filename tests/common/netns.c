#include "netns.h"

#include "harness.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void netns_run(int (*fn)(void), const char *setup, bool need_tun)
{
    if (geteuid() != 0) {
        print_message("skipped: needs root (network namespaces%s)\n",
                      need_tun ? ", TUN devices" : "");
        skip();
    }
    if (need_tun && access("/dev/net/tun", R_OK | W_OK) != 0) {
        print_message("skipped: /dev/net/tun is missing (modprobe tun)\n");
        skip();
    }
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) != 0) {
            fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
            _exit(NETNS_SKIP_STATUS);
        }
        if (setup && system(setup) != 0) _exit(NETNS_SKIP_STATUS);
        int rc = fn();
        fflush(NULL);
        _exit(rc);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == NETNS_SKIP_STATUS) {
        print_message("skipped: cannot set up a network namespace (unshare, ip)\n");
        skip();
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}
