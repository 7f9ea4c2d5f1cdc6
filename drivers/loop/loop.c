/* The event loop (link.h): epoll joining one stack to one link, serving other descriptors,
 * and the only code in synack that reads the real clock.
 *
 * Waiting: deadlines are kept exactly, in nanoseconds, with a timerfd armed at the
 * absolute CLOCK_MONOTONIC time of the earliest deadline; epoll_wait itself then blocks
 * without a timeout. epoll_wait's millisecond timeout would round a 200 us pacing gap of
 * the fault wrapper's rate limit up to 1 ms, or (rounded down) wake early and spin; the
 * timerfd costs one timerfd_settime when the deadline changes. (epoll_pwait2 would do the
 * same but needs Linux 5.11.)
 *
 * Served descriptors live in a small array searched linearly: a loop serves a handful
 * (stdin, stdout, a file), and the link and the timer are told apart by their tags. */
#include "synack/link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* One packet buffer serves both directions: input is handed to the stack (which copies
 * what it keeps) before output is drained into it. */
#define LOOP_BUF_SIZE 65535
/* epoll data of the two descriptors that are not served fds (those carry the fd itself,
 * which is below 2^31). */
#define LOOP_TAG_LINK (UINT64_C(1) << 32)
#define LOOP_TAG_TIMER (UINT64_C(2) << 32)
#define LOOP_MAX_EVENTS 32
/* Turns in a row in which the link failed (IO) before run_once reports IO itself. */
#define LOOP_MAX_LINK_FAILURES 1000

struct loop_fd {
    int fd;
    unsigned events; /* SYNACK_LOOP_IN / OUT asked for; 0 is paused */
    bool regular;    /* epoll refused it (a regular file): ready whenever asked */
    bool in_epoll;   /* registered with the epoll set */
    synack_loop_fd_fn fn;
    void *ctx;
};

struct synack_loop {
    struct synack_stack *stack;
    struct synack_link *link;
    int epfd;
    int timerfd;
    synack_time_t timer_armed; /* absolute deadline the timerfd is set to; NEVER: disarmed */
    struct loop_fd *fds;
    size_t nfds, capfds;
    synack_loop_turn_fn turn;
    void *turn_ctx;
    /* synack_stack_events_queued when the turn hook was last called: events queued after
     * that (by the hook's own calls, or between turns) it has not been shown. */
    uint64_t hook_seen;
    bool stopping;
    unsigned link_failures; /* turns in a row whose first link read failed (IO) */
    uint8_t *buf;           /* LOOP_BUF_SIZE bytes */
};

static synack_time_t loop_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (synack_time_t)ts.tv_sec * 1000000000u + (synack_time_t)ts.tv_nsec;
}

synack_time_t synack_loop_now(const struct synack_loop *loop)
{
    (void)loop;
    return loop_clock(CLOCK_MONOTONIC);
}

synack_time_t synack_loop_epoch_offset(const struct synack_loop *loop)
{
    (void)loop;
    /* Read in the order monotonic, real, monotonic and use the middle of the two
     * monotonic readings, so a preemption between the calls costs little accuracy. */
    synack_time_t m1 = loop_clock(CLOCK_MONOTONIC);
    synack_time_t r = loop_clock(CLOCK_REALTIME);
    synack_time_t m2 = loop_clock(CLOCK_MONOTONIC);
    return r - (m1 + (m2 - m1) / 2);
}

static int loop_epoll_add(int epfd, int fd, uint32_t events, uint64_t tag)
{
    struct epoll_event ev = {.events = events, .data.u64 = tag};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int synack_loop_new(struct synack_loop **out, struct synack_stack *stack, struct synack_link *link)
{
    if (out == NULL || stack == NULL || link == NULL) return SYNACK_ERR_INVAL;
    *out = NULL;
    struct synack_loop *loop = calloc(1, sizeof(*loop));
    if (loop == NULL) return SYNACK_ERR_NOMEM;
    loop->stack = stack;
    loop->link = link;
    loop->epfd = -1;
    loop->timerfd = -1;
    loop->timer_armed = SYNACK_NEVER;
    loop->buf = malloc(LOOP_BUF_SIZE);
    if (loop->buf == NULL) {
        free(loop);
        return SYNACK_ERR_NOMEM;
    }
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (loop->epfd < 0 || loop->timerfd < 0 ||
        loop_epoll_add(loop->epfd, loop->timerfd, EPOLLIN, LOOP_TAG_TIMER) != 0) {
        synack_loop_free(loop);
        return SYNACK_ERR_IO;
    }
    int lfd = synack_link_fd(link);
    if (lfd >= 0 && loop_epoll_add(loop->epfd, lfd, EPOLLIN, LOOP_TAG_LINK) != 0) {
        synack_loop_free(loop);
        return SYNACK_ERR_IO;
    }
    *out = loop;
    return 0;
}

void synack_loop_free(struct synack_loop *loop)
{
    if (loop == NULL) return;
    if (loop->timerfd >= 0) close(loop->timerfd);
    if (loop->epfd >= 0) close(loop->epfd);
    free(loop->fds);
    free(loop->buf);
    free(loop);
}

/* ---- served descriptors ------------------------------------------------------------------ */

static struct loop_fd *loop_find(struct synack_loop *loop, int fd)
{
    for (size_t i = 0; i < loop->nfds; i++)
        if (loop->fds[i].fd == fd) return &loop->fds[i];
    return NULL;
}

static uint32_t loop_epoll_events(unsigned events)
{
    uint32_t e = 0;
    if (events & SYNACK_LOOP_IN) e |= EPOLLIN;
    if (events & SYNACK_LOOP_OUT) e |= EPOLLOUT;
    return e;
}

/* Makes the epoll registration of `f` match f->events. A paused descriptor (events 0) is
 * taken out of the set, since epoll reports hang-up and error even for no events, and a
 * paused pipe whose writer has gone would wake the loop every turn. */
static int loop_sync(struct synack_loop *loop, struct loop_fd *f)
{
    if (f->regular) return 0;
    if (f->events == 0) {
        if (f->in_epoll) (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, f->fd, NULL);
        f->in_epoll = false;
        return 0;
    }
    struct epoll_event ev = {.events = loop_epoll_events(f->events), .data.u64 = (uint32_t)f->fd};
    if (epoll_ctl(loop->epfd, f->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, f->fd, &ev) == 0) {
        f->in_epoll = true;
        return 0;
    }
    /* epoll refuses regular files and directories (EPERM): they never block, so they are
     * reported ready every turn instead. */
    if (errno == EPERM && !f->in_epoll) {
        f->regular = true;
        return 0;
    }
    return SYNACK_ERR_IO;
}

int synack_loop_add_fd(struct synack_loop *loop, int fd, unsigned events, synack_loop_fd_fn fn,
                       void *ctx)
{
    if (loop == NULL || fd < 0 || fn == NULL ||
        (events & ~(SYNACK_LOOP_IN | SYNACK_LOOP_OUT)) != 0 || loop_find(loop, fd) != NULL)
        return SYNACK_ERR_INVAL;
    if (loop->nfds == loop->capfds) {
        size_t cap = loop->capfds ? loop->capfds * 2 : 4;
        struct loop_fd *fds = realloc(loop->fds, cap * sizeof(*fds));
        if (fds == NULL) return SYNACK_ERR_NOMEM;
        loop->fds = fds;
        loop->capfds = cap;
    }
    struct loop_fd *f = &loop->fds[loop->nfds];
    *f = (struct loop_fd){.fd = fd, .events = events, .fn = fn, .ctx = ctx};
    /* A paused descriptor is registered (and found to be a regular file, or not) when it
     * is first given events. */
    int rc = loop_sync(loop, f);
    if (rc != 0) return rc;
    loop->nfds++;
    return 0;
}

int synack_loop_mod_fd(struct synack_loop *loop, int fd, unsigned events)
{
    if (loop == NULL || (events & ~(SYNACK_LOOP_IN | SYNACK_LOOP_OUT)) != 0)
        return SYNACK_ERR_INVAL;
    struct loop_fd *f = loop_find(loop, fd);
    if (f == NULL) return SYNACK_ERR_INVAL;
    if (f->events == events) return 0;
    f->events = events;
    return loop_sync(loop, f);
}

void synack_loop_del_fd(struct synack_loop *loop, int fd)
{
    if (loop == NULL) return;
    struct loop_fd *f = loop_find(loop, fd);
    if (f == NULL) return;
    if (f->in_epoll) (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    *f = loop->fds[--loop->nfds];
}

void synack_loop_set_turn(struct synack_loop *loop, synack_loop_turn_fn fn, void *ctx)
{
    if (loop == NULL) return;
    loop->turn = fn;
    loop->turn_ctx = ctx;
}

void synack_loop_stop(struct synack_loop *loop)
{
    if (loop != NULL) loop->stopping = true;
}

/* ---- one turn ------------------------------------------------------------------------------ */

static bool loop_has_ready_regular(const struct synack_loop *loop)
{
    for (size_t i = 0; i < loop->nfds; i++)
        if (loop->fds[i].regular && loop->fds[i].events != 0) return true;
    return false;
}

/* Has the turn hook something to see that it has not been called for? Events queued since
 * it was last called (a close in SYN_SENT queues CLOSED at once) wake nothing: no packet,
 * no deadline need follow. The count must have moved as well as the queue be non-empty, so
 * a hook that leaves events unread does not make the loop spin. */
static bool loop_hook_has_unseen_events(const struct synack_loop *loop)
{
    return loop->turn != NULL && synack_stack_events_queued(loop->stack) != loop->hook_seen &&
           synack_stack_has_events(loop->stack);
}

static synack_time_t loop_min(synack_time_t a, synack_time_t b)
{
    return a < b ? a : b;
}

/* Sets the timerfd to fire at the absolute time `at` (NEVER: disarm), unless it already
 * is. Re-arming also clears an expiry not yet read. */
static int loop_arm_timer(struct synack_loop *loop, synack_time_t at)
{
    if (at == loop->timer_armed) return 0;
    struct itimerspec its = {0};
    if (at != SYNACK_NEVER) {
        its.it_value.tv_sec = (time_t)(at / 1000000000u);
        its.it_value.tv_nsec = (long)(at % 1000000000u);
        /* 0 would disarm: time 0 is long past anyway. */
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
    }
    if (timerfd_settime(loop->timerfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) return SYNACK_ERR_IO;
    loop->timer_armed = at;
    return 0;
}

/* Step 1: waits for a descriptor or the earliest deadline, at most `max_wait`. Fills
 * `evs` and returns how many, or IO. */
static int loop_wait(struct synack_loop *loop, synack_time_t max_wait, struct epoll_event *evs)
{
    synack_time_t now = loop_clock(CLOCK_MONOTONIC);
    synack_time_t until =
        loop_min(synack_stack_next_deadline(loop->stack), synack_link_next_deadline(loop->link));
    if (max_wait != SYNACK_NEVER && max_wait < SYNACK_NEVER - now)
        until = loop_min(until, now + max_wait);
    int timeout = -1;
    if (until <= now || loop_has_ready_regular(loop) || loop_hook_has_unseen_events(loop)) {
        timeout = 0;
    } else if (loop_arm_timer(loop, until) != 0) {
        return SYNACK_ERR_IO;
    }
    int n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, timeout);
    if (n >= 0) return n;
    if (errno != EINTR) return SYNACK_ERR_IO;
    /* A signal: go on with the turn rather than wait again, so that its handler's effect
     * (a flag the turn hook checks, say) is seen at once. */
    return 0;
}

/* Step 6: drains every packet the stack wants to send into the link (synack_link_drain). */
static void loop_drain_output(struct synack_loop *loop, synack_time_t now)
{
    synack_link_drain(loop->link, loop->stack, loop->buf, LOOP_BUF_SIZE, now);
}

/* Step 4: calls the callbacks of ready served descriptors. A callback may add or delete
 * descriptors, so each is looked up again by number before its call. */
static void loop_dispatch_fds(struct synack_loop *loop, const struct epoll_event *evs, int n,
                              synack_time_t now)
{
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 >= LOOP_TAG_LINK) continue;
        struct loop_fd *f = loop_find(loop, (int)evs[i].data.u64);
        if (f == NULL || f->regular) continue;
        unsigned ready = 0;
        if (evs[i].events & EPOLLIN) ready |= SYNACK_LOOP_IN;
        if (evs[i].events & EPOLLOUT) ready |= SYNACK_LOOP_OUT;
        /* Hang-up or error: report what is watched, so the callback's read or write
         * finds out what happened. */
        if (evs[i].events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) ready |= f->events;
        ready &= f->events;
        if (ready != 0) f->fn(f->ctx, f->fd, ready, now);
    }
    /* Regular files never block. Iterate by index over a count taken now; entries a
     * callback adds wait for the next turn. */
    size_t count = loop->nfds;
    for (size_t i = 0; i < count && i < loop->nfds; i++) {
        struct loop_fd *f = &loop->fds[i];
        if (f->regular && f->events != 0) f->fn(f->ctx, f->fd, f->events, now);
    }
}

int synack_loop_run_once(struct synack_loop *loop, synack_time_t max_wait)
{
    if (loop == NULL) return SYNACK_ERR_INVAL;
    /* What the application did between turns (a connect before the first, say) is sent
     * before waiting: it may be what the peer's answer, and so the wake-up, waits for. */
    loop_drain_output(loop, loop_clock(CLOCK_MONOTONIC));
    struct epoll_event evs[LOOP_MAX_EVENTS];
    int n = loop_wait(loop, max_wait, evs);
    if (n < 0) return n;
    synack_time_t now = loop_clock(CLOCK_MONOTONIC);
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 != LOOP_TAG_TIMER) continue;
        /* Clear the expiry; EAGAIN (already cleared by a re-arm) is fine. */
        uint64_t expirations;
        ssize_t r = read(loop->timerfd, &expirations, sizeof(expirations));
        (void)r;
        loop->timer_armed = SYNACK_NEVER;
    }
    /* Step 2: the link's held packets, up to SYNACK_LOOP_BATCH arrivals, the stack's
     * timers (synack_link_pump). A link that fails every read (a TUN device deleted under
     * us) stays readable, so the loop would spin; after many such turns in a row it is
     * given up. */
    if (synack_link_pump(loop->link, loop->stack, loop->buf, LOOP_BUF_SIZE, now) == 0)
        loop->link_failures = 0;
    else
        loop->link_failures++;
    loop_dispatch_fds(loop, evs, n, now);
    if (loop->turn != NULL) {
        loop->hook_seen = synack_stack_events_queued(loop->stack);
        loop->turn(loop->turn_ctx, now);
    }
    loop_drain_output(loop, now);
    return loop->link_failures >= LOOP_MAX_LINK_FAILURES ? SYNACK_ERR_IO : 0;
}

int synack_loop_run(struct synack_loop *loop)
{
    if (loop == NULL) return SYNACK_ERR_INVAL;
    int rc = 0;
    do
        rc = synack_loop_run_once(loop, SYNACK_NEVER);
    while (rc == 0 && !loop->stopping);
    loop->stopping = false;
    return rc;
}
