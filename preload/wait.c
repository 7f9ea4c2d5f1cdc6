/* The interposed waits: poll, ppoll, select, pselect and epoll. A wait that involves a synack
 * socket goes to synack's, which takes kernel descriptors too; any other to libc. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>

#include "preload.h"

/* glibc declares the array of poll and ppoll write-only (__fortified_attr_access), which the
 * definitions of poll cannot honour: they read the events asked for. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

/* Whether any of `fds` is a synack socket (a stale one is left to the kernel: an eventfd). */
static bool poll_has_synack(const struct pollfd *fds, nfds_t n)
{
    if (!preload_may_own()) return false;
    for (nfds_t i = 0; i < n; i++)
        if (preload_owner(fds[i].fd) == OWNER_SYNACK) return true;
    return false;
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (poll_has_synack(fds, n))
        return (int)preload_traced("poll", -1, synack_poll(fds, n, timeout));
    return REAL(poll)(fds, n, timeout);
}

/* A timespec as poll's milliseconds, rounded up (never a shorter wait); NULL: -1. */
static int timespec_ms(const struct timespec *t)
{
    if (!t) return -1;
    if (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000L) return -2;
    long long ms = (long long)t->tv_sec * 1000 + (t->tv_nsec + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The signal mask of ppoll and pselect, set around synack's wait. Not atomic as the kernel's
 * is: a signal that comes between the mask and the wait is handled at once, and the wait
 * then lasts its full time (docs/RUN.md). */
struct mask_swap {
    bool set;
    sigset_t old;
};

static void mask_apply(struct mask_swap *m, const sigset_t *mask)
{
    m->set = mask != NULL;
    if (m->set) pthread_sigmask(SIG_SETMASK, mask, &m->old);
}

static void mask_restore(const struct mask_swap *m)
{
    if (m->set) pthread_sigmask(SIG_SETMASK, &m->old, NULL);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask)
{
    if (!poll_has_synack(fds, n)) return REAL(ppoll)(fds, n, t, mask);
    int ms = timespec_ms(t);
    if (ms == -2) return errno = EINVAL, -1;
    struct mask_swap m;
    mask_apply(&m, mask);
    int rc = synack_poll(fds, n, ms);
    int err = errno;
    mask_restore(&m);
    errno = err;
    return rc;
}

int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t cap)
{
    if (cap / sizeof *fds < n) return REAL(__poll_chk)(fds, n, timeout, cap); /* aborts */
    return poll(fds, n, timeout);
}

int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask,
                size_t cap)
{
    if (cap / sizeof *fds < n) return REAL(__ppoll_chk)(fds, n, t, mask, cap);
    return ppoll(fds, n, t, mask);
}

/* ---- select ------------------------------------------------------------------------------- */

/* Whether a descriptor below `n` in any of the sets is a synack socket. */
static bool select_has_synack(int n, const fd_set *r, const fd_set *w, const fd_set *e)
{
    if (!preload_may_own()) return false;
    if (n > FD_SETSIZE) n = FD_SETSIZE;
    for (int fd = 0; fd < n; fd++)
        if (((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e))) &&
            preload_owner(fd) == OWNER_SYNACK)
            return true;
    return false;
}

int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t)
{
    if (select_has_synack(n, r, w, e))
        return (int)preload_traced("select", -1, synack_select(n, r, w, e, t));
    return REAL(select)(n, r, w, e, t);
}

int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *mask)
{
    if (!select_has_synack(n, r, w, e)) return REAL(pselect)(n, r, w, e, t, mask);
    struct timeval tv, *tvp = NULL;
    if (t) {
        if (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000L) return errno = EINVAL, -1;
        tv.tv_sec = t->tv_sec;
        tv.tv_usec = (t->tv_nsec + 999) / 1000; /* never a shorter wait */
        tvp = &tv;
    }
    struct mask_swap m;
    mask_apply(&m, mask);
    int rc = synack_select(n, r, w, e, tvp);
    int err = errno;
    mask_restore(&m);
    errno = err;
    return rc;
}

/* ---- epoll ------------------------------------------------------------------------------- */

/* Every epoll call goes to synack's, from the start and whatever the descriptors: an instance
 * that a synack socket joins keeps its registrations in the socket layer (each carries the
 * descriptor's number to the kernel, the program's data is kept beside it), so a kernel
 * descriptor registered before the first socket must have gone through it too. For a
 * program that never opens a synack socket it is the kernel's epoll, one lock further on;
 * and close tells the socket layer about descriptors up to the highest an epoll call saw
 * (preload_kernel_closed). */

int epoll_create(int size)
{
    if (size <= 0) return errno = EINVAL, -1;
    return synack_epoll_create1(0);
}

int epoll_create1(int flags)
{
    int epfd = synack_epoll_create1(flags);
    return epfd < 0 ? epfd : preload_note_epoll(epfd);
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    if (preload_owner(fd) == OWNER_STALE) return preload_stale(fd, "epoll_ctl");
    preload_note_epoll(epfd > fd ? epfd : fd);
    return synack_epoll_ctl(epfd, op, fd, ev);
}

int epoll_wait(int epfd, struct epoll_event *evs, int n, int timeout)
{
    return synack_epoll_wait(epfd, evs, n, timeout);
}

int epoll_pwait(int epfd, struct epoll_event *evs, int n, int timeout, const sigset_t *mask)
{
    struct mask_swap m;
    mask_apply(&m, mask);
    int rc = synack_epoll_wait(epfd, evs, n, timeout);
    int err = errno;
    mask_restore(&m);
    errno = err;
    return rc;
}
