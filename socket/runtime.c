/*
 * The runtime: one stack, its link and the clock, run on a thread of its own or from the
 * caller's event loop (synack_rt_fd + synack_rt_run_due). Every touch of the stack happens
 * under rt->mu, and every one ends in rt_settle, which sends what the stack wants to send,
 * hands its events to the sockets and re-arms the timer: a socket call's segment leaves
 * from the calling thread, at once, and the runtime's thread only wakes for arriving
 * packets and deadlines.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "sock.h"

/* Runs in a row whose first link read failed before synack_rt_run_due reports IO. */
#define RT_MAX_LINK_FAILURES 1000
#define RT_TAG_LINK 1u
#define RT_TAG_TIMER 2u
#define RT_TAG_STOP 3u

synack_time_t rt_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (synack_time_t)ts.tv_sec * 1000000000u + (synack_time_t)ts.tv_nsec;
}

synack_time_t synack_rt_now(const struct synack_rt *rt)
{
    (void)rt;
    return rt_clock();
}

void rt_lock(struct synack_rt *rt)
{
    pthread_mutex_lock(&rt->mu);
}

void rt_unlock(struct synack_rt *rt)
{
    pthread_mutex_unlock(&rt->mu);
}

static void rt_drain_output(struct synack_rt *rt, synack_time_t now)
{
    synack_link_drain(rt->link, rt->stack, rt->buf, rt->bufcap, now);
}

static void rt_dispatch_events(struct synack_rt *rt)
{
    struct synack_event ev;
    while (synack_stack_next_event(rt->stack, &ev) == 0)
        if (ev.user != NULL) sock_event(ev.user, &ev);
}

/* Sets the timerfd to the earliest deadline of the stack and the link, unless it already
 * is. Re-arming also clears an expiry not yet read. */
static void rt_arm_timer(struct synack_rt *rt)
{
    synack_time_t at = synack_stack_next_deadline(rt->stack);
    synack_time_t l = synack_link_next_deadline(rt->link);
    if (l < at) at = l;
    if (at == rt->timer_armed) return;
    struct itimerspec its = {0};
    if (at != SYNACK_NEVER) {
        its.it_value.tv_sec = (time_t)(at / 1000000000u);
        its.it_value.tv_nsec = (long)(at % 1000000000u);
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
    }
    if (timerfd_settime(rt->timerfd, TFD_TIMER_ABSTIME, &its, NULL) == 0) rt->timer_armed = at;
}

void rt_settle(struct synack_rt *rt)
{
    rt_drain_output(rt, rt_clock());
    rt_dispatch_events(rt);
    /* A socket woken above may only be read by its thread later; what the events made the
     * stack want to send (nothing, today) would go now. */
    rt_arm_timer(rt);
}

int synack_rt_run_due(struct synack_rt *rt)
{
    if (rt == NULL) return SYNACK_ERR_INVAL;
    rt_lock(rt);
    synack_time_t now = rt_clock();
    /* The timer's expiry is read so the descriptor stops polling readable; what is due is
     * decided by the deadlines, not by it. */
    uint64_t expirations;
    if (read(rt->timerfd, &expirations, sizeof(expirations)) > 0) rt->timer_armed = SYNACK_NEVER;
    /* Held packets, arrivals (each answered before the next), due timers, as
     * synack_loop runs them. */
    bool failed = synack_link_pump(rt->link, rt->stack, rt->buf, rt->bufcap, now) != 0;
    rt->link_failures = failed ? rt->link_failures + 1 : 0;
    rt_settle(rt);
    /* A full batch leaves packets waiting: the link's descriptor still polls readable (or,
     * for a link without one, the timer is set to now). */
    int rc = rt->link_failures >= RT_MAX_LINK_FAILURES ? SYNACK_ERR_IO : 0;
    rt_unlock(rt);
    return rc;
}

static void *rt_thread_main(void *arg)
{
    struct synack_rt *rt = arg;
    for (;;) {
        struct epoll_event evs[4];
        int n = epoll_wait(rt->epfd, evs, 4, -1);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; i++)
            if (evs[i].data.u32 == RT_TAG_STOP) return NULL;
        if (synack_rt_run_due(rt) == SYNACK_ERR_IO) {
            fprintf(stderr,
                    "synack: the %s link failed on every read (was its device deleted?);"
                    " the runtime stops\n",
                    rt->link->ops->kind);
            return NULL;
        }
    }
    return NULL;
}

static int rt_epoll_add(int epfd, int fd, uint32_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void rt_err(char *err, size_t cap, const char *what)
{
    if (err != NULL && cap > 0) snprintf(err, cap, "%s: %s", what, strerror(errno));
}

int synack_rt_new(struct synack_rt **out, const struct synack_config *cfg, struct synack_link *link,
                  unsigned flags, char *err, size_t errcap)
{
    if (err != NULL && errcap > 0) err[0] = '\0';
    if (out == NULL || cfg == NULL || link == NULL || (flags & ~SYNACK_RT_THREAD) != 0) {
        synack_link_free(link);
        if (err != NULL && errcap > 0)
            snprintf(err, errcap,
                     "synack_rt_new needs a result pointer, a configuration and a"
                     " link, and takes no flag but SYNACK_RT_THREAD");
        return SYNACK_ERR_INVAL;
    }
    *out = NULL;
    struct synack_rt *rt = calloc(1, sizeof(*rt));
    if (rt == NULL) {
        synack_link_free(link);
        return SYNACK_ERR_NOMEM;
    }
    pthread_mutex_init(&rt->mu, NULL);
    pthread_cond_init(&rt->drained, NULL);
    rt->link = link;
    rt->epfd = rt->timerfd = rt->stopfd = -1;
    rt->timer_armed = SYNACK_NEVER;
    struct synack_config c = *cfg;
    unsigned mtu = synack_link_mtu(link);
    if (mtu != 0) c.mtu = (uint16_t)(mtu > 65535 ? 65535 : mtu);
    /* The UDP send queue must hold one packet of the MTU the link gave. */
    if (c.udp_sndbuf < (size_t)c.mtu + 2) c.udp_sndbuf = (size_t)c.mtu + 2;
    int rc = synack_stack_new(&rt->stack, &c);
    if (rc != 0) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "the stack's configuration was refused: %s", synack_strerror(rc));
        synack_rt_free(rt);
        return rc;
    }
    /* A link with offloads hands the stack packets up to 65535 bytes whatever its MTU
     * (link.h, recv_offload). */
    rt->bufcap = (size_t)c.mtu + 64 < 65535 ? 65535 : (size_t)c.mtu + 64;
    rt->buf = malloc(rt->bufcap);
    if (rt->buf == NULL) {
        synack_rt_free(rt);
        return SYNACK_ERR_NOMEM;
    }
    rt->port_cursor = (uint32_t)c.seed;
    rt->sndbuf = c.sndbuf;
    rt->rcvbuf = c.rcvbuf;
    rt->eph_lo = c.ephemeral_lo;
    rt->eph_hi = c.ephemeral_hi;
    rt->epfd = epoll_create1(EPOLL_CLOEXEC);
    rt->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    int lfd = synack_link_fd(link);
    if (rt->epfd < 0 || rt->timerfd < 0 || rt_epoll_add(rt->epfd, rt->timerfd, RT_TAG_TIMER) ||
        (lfd >= 0 && rt_epoll_add(rt->epfd, lfd, RT_TAG_LINK))) {
        rt_err(err, errcap, "the runtime's epoll and timer descriptors");
        synack_rt_free(rt);
        return SYNACK_ERR_IO;
    }
    if (flags & SYNACK_RT_THREAD) {
        rt->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (rt->stopfd < 0 || rt_epoll_add(rt->epfd, rt->stopfd, RT_TAG_STOP)) {
            rt_err(err, errcap, "the runtime's stop descriptor");
            synack_rt_free(rt);
            return SYNACK_ERR_IO;
        }
        int e = pthread_create(&rt->thread, NULL, rt_thread_main, rt);
        if (e != 0) {
            errno = e;
            rt_err(err, errcap, "the runtime's thread");
            synack_rt_free(rt);
            return SYNACK_ERR_IO;
        }
        rt->threaded = true;
    }
    *out = rt;
    return 0;
}

void synack_rt_free(struct synack_rt *rt)
{
    if (rt == NULL) return;
    if (rt->threaded) {
        uint64_t one = 1;
        ssize_t w = write(rt->stopfd, &one, sizeof(one));
        (void)w;
        pthread_join(rt->thread, NULL);
        rt->threaded = false;
    }
    if (rt->stack != NULL) {
        sock_close_all(rt);
        rt_lock(rt);
        /* Calls that were blocked on the sockets are leaving with EBADF: wait for them. */
        while (rt->live > 0)
            pthread_cond_wait(&rt->drained, &rt->mu);
        rt_drain_output(rt, rt_clock());
        rt_unlock(rt);
    }
    synack_stack_free(rt->stack);
    synack_link_free(rt->link);
    if (rt->epfd >= 0) close(rt->epfd);
    if (rt->timerfd >= 0) close(rt->timerfd);
    if (rt->stopfd >= 0) close(rt->stopfd);
    free(rt->buf);
    pthread_cond_destroy(&rt->drained);
    pthread_mutex_destroy(&rt->mu);
    free(rt);
}

int synack_rt_fd(const struct synack_rt *rt)
{
    if (rt == NULL || rt->threaded) return -1;
    return rt->epfd;
}

void synack_rt_counters(struct synack_rt *rt, struct synack_counters *out)
{
    rt_lock(rt);
    synack_stack_counters(rt->stack, out);
    rt_unlock(rt);
}

void synack_rt_stats(struct synack_rt *rt, struct synack_stack_stats *out)
{
    rt_lock(rt);
    synack_stack_stats(rt->stack, out);
    rt_unlock(rt);
}

int synack_rt_each_socket(struct synack_rt *rt, synack_sock_fn fn, void *ctx)
{
    if (rt == NULL) return SYNACK_ERR_INVAL;
    rt_lock(rt);
    int rc = synack_stack_each_socket(rt->stack, fn, ctx);
    rt_unlock(rt);
    return rc;
}
