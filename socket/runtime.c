/*
 * The runtime: one stack, its link and the clock, run on a thread of its own or from the
 * caller's event loop (synack_rt_fd + synack_rt_run_due); or a group of such runtimes, one
 * per stack, behind a control runtime without a stack (synack_rt_new_stacks; sock.h). Every touch
 * of the stack happens under rt->mu, and every one ends in rt_settle, which sends what the stack
 * wants to send, hands its events to the sockets and re-arms the timer: a socket call's segment
 * leaves from the calling thread, at once, and the runtime's thread only wakes for arriving packets
 * and deadlines.
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
        if (ev.user != NULL) sock_event(rt, ev.user, &ev);
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

struct synack_stack *rt_any_stack(const struct synack_rt *rt)
{
    return rt->stack != NULL ? rt->stack : rt->members[0]->stack;
}

bool rt_is_group(const struct synack_rt *rt)
{
    return rt->members != NULL;
}

void rt_settle(struct synack_rt *rt)
{
    if (rt_is_group(rt)) return; /* the control: no stack */
    rt_drain_output(rt, rt_clock());
    rt_dispatch_events(rt);
    /* A socket woken above may only be read by its thread later; what the events made the
     * stack want to send (nothing, today) would go now. */
    rt_arm_timer(rt);
}

int synack_rt_run_due(struct synack_rt *rt)
{
    if (rt == NULL) return SYNACK_ERR_INVAL;
    if (rt_is_group(rt)) return 0; /* its members run on their threads */
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

/* A runtime with its lock, no descriptor, no stack and no link yet, and what the socket
 * calls keep of `cfg` (ports, buffers). */
static struct synack_rt *rt_alloc(const struct synack_config *cfg)
{
    struct synack_rt *rt = calloc(1, sizeof(*rt));
    if (rt == NULL) return NULL;
    pthread_mutex_init(&rt->mu, NULL);
    pthread_cond_init(&rt->drained, NULL);
    rt->epfd = rt->timerfd = rt->stopfd = -1;
    rt->timer_armed = SYNACK_NEVER;
    rt->port_cursor = (uint32_t)cfg->seed;
    rt->sndbuf = cfg->sndbuf;
    rt->rcvbuf = cfg->rcvbuf;
    rt->eph_lo = cfg->ephemeral_lo;
    rt->eph_hi = cfg->ephemeral_hi;
    return rt;
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
    struct synack_rt *rt = rt_alloc(cfg);
    if (rt == NULL) {
        synack_link_free(link);
        return SYNACK_ERR_NOMEM;
    }
    rt->link = link;
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

/* Stops a runtime's thread, if it has one. */
static void rt_stop_thread(struct synack_rt *rt)
{
    if (rt->threaded) {
        uint64_t one = 1;
        ssize_t w = write(rt->stopfd, &one, sizeof(one));
        (void)w;
        pthread_join(rt->thread, NULL);
        rt->threaded = false;
    }
}

/* Calls that were blocked on the runtime's sockets are leaving with EBADF: waits for them,
 * then sends what the resets left to send. */
static void rt_wait_drained(struct synack_rt *rt)
{
    rt_lock(rt);
    while (rt->live > 0)
        pthread_cond_wait(&rt->drained, &rt->mu);
    if (rt->stack != NULL) rt_drain_output(rt, rt_clock());
    rt_unlock(rt);
}

static void rt_release(struct synack_rt *rt);

void synack_rt_free(struct synack_rt *rt)
{
    if (rt == NULL) return;
    if (rt_is_group(rt)) {
        /* The members' threads first; then the control's sockets (listeners close their
         * parts on the members), then the members' (connections are reset). */
        for (unsigned i = 0; i < rt->nmembers; i++)
            if (rt->members[i] != NULL) rt_stop_thread(rt->members[i]);
        bool whole = true;
        for (unsigned i = 0; i < rt->nmembers; i++)
            whole = whole && rt->members[i] != NULL;
        if (whole) {
            sock_close_all(rt);
            for (unsigned i = 0; i < rt->nmembers; i++)
                sock_close_all(rt->members[i]);
            rt_wait_drained(rt);
            for (unsigned i = 0; i < rt->nmembers; i++)
                rt_wait_drained(rt->members[i]);
        }
        for (unsigned i = 0; i < rt->nmembers; i++)
            if (rt->members[i] != NULL) rt_release(rt->members[i]);
        free(rt->members);
        rt_release(rt);
        return;
    }
    rt_stop_thread(rt);
    if (rt->stack != NULL) {
        sock_close_all(rt);
        rt_wait_drained(rt);
    }
    rt_release(rt);
}

/* Frees what the runtime holds, its sockets closed and its thread stopped. */
static void rt_release(struct synack_rt *rt)
{
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

/* Every field of synack_counters is a uint64_t count: a group's are its members' summed. */
_Static_assert(sizeof(struct synack_counters) % sizeof(uint64_t) == 0,
               "synack_counters holds uint64_t counts only");

void synack_rt_counters(struct synack_rt *rt, struct synack_counters *out)
{
    if (!rt_is_group(rt)) {
        rt_lock(rt);
        synack_stack_counters(rt->stack, out);
        rt_unlock(rt);
        return;
    }
    memset(out, 0, sizeof(*out));
    uint64_t *sum = (uint64_t *)out;
    for (unsigned i = 0; i < rt->nmembers; i++) {
        struct synack_counters c;
        synack_rt_counters(rt->members[i], &c);
        const uint64_t *add = (const uint64_t *)&c;
        for (size_t k = 0; k < sizeof(c) / sizeof(uint64_t); k++)
            sum[k] += add[k];
    }
}

void synack_rt_stats(struct synack_rt *rt, struct synack_stack_stats *out)
{
    if (rt_is_group(rt)) rt = rt->members[0];
    rt_lock(rt);
    synack_stack_stats(rt->stack, out);
    rt_unlock(rt);
}

int synack_rt_each_socket(struct synack_rt *rt, synack_sock_fn fn, void *ctx)
{
    if (rt == NULL) return SYNACK_ERR_INVAL;
    if (rt_is_group(rt)) {
        for (unsigned i = 0; i < rt->nmembers; i++) {
            int rc = synack_rt_each_socket(rt->members[i], fn, ctx);
            if (rc != 0) return rc;
        }
        return 0;
    }
    rt_lock(rt);
    int rc = synack_stack_each_socket(rt->stack, fn, ctx);
    rt_unlock(rt);
    return rc;
}

unsigned synack_rt_stacks(const struct synack_rt *rt)
{
    if (rt == NULL) return 0;
    return rt_is_group(rt) ? rt->nmembers : 1;
}

struct synack_rt *synack_rt_member(struct synack_rt *rt, unsigned i)
{
    if (rt == NULL || i >= synack_rt_stacks(rt)) return NULL;
    return rt_is_group(rt) ? rt->members[i] : rt;
}

/* The control of a group: no stack, no link, no thread; its lock and its list of sockets. */
static struct synack_rt *rt_control_new(const struct synack_config *cfg, unsigned n)
{
    struct synack_rt *rt = rt_alloc(cfg);
    if (rt == NULL) return NULL;
    rt->members = calloc(n, sizeof(*rt->members));
    if (rt->members == NULL) {
        rt_release(rt);
        return NULL;
    }
    rt->nmembers = n;
    rt->steer_hash = cfg->steer_hash;
    memcpy(rt->steer_key, cfg->steer_key, sizeof(rt->steer_key));
    return rt;
}

int synack_rt_new_stacks(struct synack_rt **out, const struct synack_config *cfg,
                         struct synack_link *const *links, unsigned n, unsigned flags, char *err,
                         size_t errcap)
{
    if (err != NULL && errcap > 0) err[0] = '\0';
    bool ok = out != NULL && cfg != NULL && links != NULL && n >= 1 &&
              n <= SYNACK_STEER_MAX_QUEUES && flags == SYNACK_RT_THREAD;
    for (unsigned i = 0; ok && i < n; i++)
        ok = links[i] != NULL;
    if (!ok) {
        for (unsigned i = 0; links != NULL && i < n && i < SYNACK_STEER_MAX_QUEUES; i++)
            synack_link_free(links[i]);
        if (err != NULL && errcap > 0)
            snprintf(err, errcap,
                     "synack_rt_new_stacks needs a result pointer, a configuration and"
                     " 1 to %u links, and the flag SYNACK_RT_THREAD (each stack runs on a"
                     " thread of its own)",
                     SYNACK_STEER_MAX_QUEUES);
        return SYNACK_ERR_INVAL;
    }
    if (n == 1) return synack_rt_new(out, cfg, links[0], flags, err, errcap);
    *out = NULL;
    struct synack_rt *rt = rt_control_new(cfg, n);
    if (rt == NULL) {
        for (unsigned i = 0; i < n; i++)
            synack_link_free(links[i]);
        if (err != NULL && errcap > 0) snprintf(err, errcap, "no memory for the runtime");
        return SYNACK_ERR_NOMEM;
    }
    int rc = 0;
    for (unsigned i = 0; i < n; i++) {
        struct synack_link *l = links[i];
        if (rc != 0) {
            synack_link_free(l); /* taken over, as on success */
            continue;
        }
        struct synack_config c = *cfg;
        c.steer_queues = n;
        c.steer_queue = i;
        c.seed = cfg->seed + i; /* each stack its own ports and sequence of draws */
        rc = synack_rt_new(&rt->members[i], &c, l, flags, err, errcap);
        if (rc == 0) rt->members[i]->index = i;
    }
    if (rc != 0) {
        synack_rt_free(rt);
        return rc;
    }
    *out = rt;
    return 0;
}
