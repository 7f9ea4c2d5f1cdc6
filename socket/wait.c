/*
 * Waiting on many descriptors: poll, select and epoll over synack sockets and kernel
 * descriptors together.
 *
 * poll hangs a waiter on each synack socket and puts its thread's eventfd beside the
 * kernel descriptors in one kernel poll: it sleeps once, in the kernel, for both kinds.
 *
 * epoll keeps the program's epoll instance (a kernel one) and, for each synack socket
 * registered in it, registers the socket's own eventfd instead, which the socket layer
 * keeps set while the socket is ready for what its registrations ask (socket.c,
 * sock_changed). Every registration made through synack_epoll_ctl, of a kernel descriptor
 * too, carries the descriptor's number as its data, and the program's data is kept here:
 * synack_epoll_wait turns what the kernel reports back into the program's data and, for a
 * synack socket, into its real readiness.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

#include "sock.h"

/* ---- poll ------------------------------------------------------------------------------------ */

static unsigned poll_mask(short events)
{
    unsigned m = SOCK_ERR | SOCK_HUP;
    if (events & (POLLIN | POLLRDNORM)) m |= SOCK_IN;
    if (events & (POLLOUT | POLLWRNORM)) m |= SOCK_OUT;
    if (events & POLLRDHUP) m |= SOCK_RDHUP;
    return m;
}

static short poll_revents(unsigned ready, short events)
{
    short r = 0;
    if (ready & SOCK_IN) r |= events & (POLLIN | POLLRDNORM);
    if (ready & SOCK_OUT) r |= events & (POLLOUT | POLLWRNORM);
    if (ready & SOCK_RDHUP) r |= events & POLLRDHUP;
    if (ready & SOCK_ERR) r |= POLLERR;
    if (ready & SOCK_HUP) r |= POLLHUP;
    if (ready & SOCK_GONE) r |= POLLNVAL;
    return r;
}

struct poll_ent {
    struct sock *s;
    struct sock_waiter w;
    bool hung;
};

int synack_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    if (nfds > 0 && fds == NULL) {
        errno = EFAULT;
        return -1;
    }
    size_t nsock = 0;
    for (nfds_t i = 0; i < nfds; i++)
        if (synack_is_socket(fds[i].fd)) nsock++;
    if (nsock == 0) return poll(fds, nfds, timeout);
    struct sock_thread *t = sock_thread_self();
    struct poll_ent *ents = calloc(nfds, sizeof(*ents));
    /* The kernel's share: its descriptors, then the thread's eventfd. */
    struct pollfd *k = calloc(nfds + 1, sizeof(*k));
    if (t == NULL || ents == NULL || k == NULL) {
        free(ents);
        free(k);
        errno = ENOMEM;
        return -1;
    }
    for (nfds_t i = 0; i < nfds; i++) {
        k[i].fd = -1; /* poll ignores a negative descriptor */
        if (fds[i].fd < 0 || !synack_is_socket(fds[i].fd)) {
            k[i] = fds[i];
            continue;
        }
        ents[i].s = sock_get(fds[i].fd);
        /* Closed since the test above: the kernel's poll reports it (POLLNVAL) or, if the
         * number was opened again meanwhile, polls what it now is. */
        if (ents[i].s == NULL) k[i] = fds[i];
    }
    k[nfds].fd = sock_thread_fd(t);
    k[nfds].events = POLLIN;
    synack_time_t deadline = timeout < 0 ? SYNACK_NEVER : rt_clock() + SYNACK_MS(timeout);
    int ret;
    for (;;) {
        sock_thread_arm(t);
        int ready = 0;
        for (nfds_t i = 0; i < nfds; i++) {
            struct poll_ent *e = &ents[i];
            if (e->s == NULL) continue;
            struct synack_rt *rt = sock_lock(e->s);
            unsigned mask = poll_mask(fds[i].events);
            /* Hung before the test: a wake-up that needs no lock of the socket's runtime (a
             * part's, sock.h) after it is caught by the eventfd, one before it by the test. */
            if (!e->hung) {
                sock_wait_add(e->s, &e->w, t, mask);
                e->hung = true;
            }
            if (e->s->closed)
                fds[i].revents = POLLNVAL;
            else
                fds[i].revents = poll_revents(sock_readiness(e->s) & mask, fds[i].events);
            rt_unlock(rt);
            if (fds[i].revents) ready++;
        }
        synack_time_t now = rt_clock();
        int ms;
        if (ready > 0 || deadline <= now)
            ms = 0;
        else if (deadline == SYNACK_NEVER)
            ms = -1;
        else
            ms = (int)((deadline - now + 999999) / 1000000);
        int n = poll(k, nfds + 1, ms);
        if (n < 0) {
            ret = -1;
            break;
        }
        for (nfds_t i = 0; i < nfds; i++) {
            if (ents[i].s != NULL) continue;
            fds[i].revents = k[i].revents;
            if (k[i].revents) ready++;
        }
        if (ready > 0 || ms == 0) {
            ret = ready;
            break;
        }
        /* Only the eventfd woke: a synack socket changed; look again. */
    }
    int saved = errno;
    for (nfds_t i = 0; i < nfds; i++) {
        struct poll_ent *e = &ents[i];
        if (e->s == NULL) continue;
        struct synack_rt *rt = sock_lock(e->s);
        if (e->hung) sock_wait_del(e->s, &e->w);
        rt_unlock(rt);
        sock_put(e->s);
    }
    free(ents);
    free(k);
    errno = saved;
    return ret;
}

int synack_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *timeout)
{
    if (nfds < 0 || nfds > FD_SETSIZE) {
        errno = EINVAL;
        return -1;
    }
    int timeout_ms = -1;
    if (timeout != NULL) {
        if (timeout->tv_sec < 0 || timeout->tv_usec < 0 || timeout->tv_usec >= 1000000) {
            errno = EINVAL;
            return -1;
        }
        long long ms = (long long)timeout->tv_sec * 1000 + (timeout->tv_usec + 999) / 1000;
        timeout_ms = ms > 0x7fffffff ? 0x7fffffff : (int)ms;
    }
    struct pollfd *p = calloc((size_t)nfds + 1, sizeof(*p));
    if (p == NULL) {
        errno = ENOMEM;
        return -1;
    }
    nfds_t n = 0;
    for (int fd = 0; fd < nfds; fd++) {
        short ev = 0;
        if (rd && FD_ISSET(fd, rd)) ev |= POLLIN;
        if (wr && FD_ISSET(fd, wr)) ev |= POLLOUT;
        if (ex && FD_ISSET(fd, ex)) ev |= POLLPRI;
        if (ev == 0) continue;
        p[n].fd = fd;
        p[n].events = ev;
        n++;
    }
    synack_time_t start = rt_clock();
    int r = synack_poll(p, n, timeout_ms);
    if (r < 0) {
        free(p);
        return -1;
    }
    for (nfds_t i = 0; i < n; i++)
        if (p[i].revents & POLLNVAL) {
            free(p);
            errno = EBADF; /* select's answer to a descriptor that is not open */
            return -1;
        }
    if (rd) FD_ZERO(rd);
    if (wr) FD_ZERO(wr);
    if (ex) FD_ZERO(ex);
    int count = 0;
    for (nfds_t i = 0; i < n; i++) {
        short re = p[i].revents;
        /* As Linux's select: an error or hang-up makes a descriptor readable and
         * writable, as far as it was asked for. */
        if (rd && (p[i].events & POLLIN) && (re & (POLLIN | POLLHUP | POLLERR))) {
            FD_SET(p[i].fd, rd);
            count++;
        }
        if (wr && (p[i].events & POLLOUT) && (re & (POLLOUT | POLLERR))) {
            FD_SET(p[i].fd, wr);
            count++;
        }
        if (ex && (p[i].events & POLLPRI) && (re & POLLPRI)) {
            FD_SET(p[i].fd, ex);
            count++;
        }
    }
    free(p);
    if (timeout != NULL) {
        /* Linux updates the timeout to what is left. */
        synack_time_t spent = rt_clock() - start;
        long long left =
            (long long)timeout->tv_sec * 1000000 + timeout->tv_usec - (long long)(spent / 1000);
        if (left < 0) left = 0;
        timeout->tv_sec = (time_t)(left / 1000000);
        timeout->tv_usec = (suseconds_t)(left % 1000000);
    }
    return count;
}

/* ---- epoll ---------------------------------------------------------------------------------- */

struct ep_ent {
    bool used;
    struct sock *s; /* a synack socket (no reference: its close forgets the entry) */
    uint32_t events;
    epoll_data_t data;
};

struct ep {
    int epfd;
    struct ep_ent *ents; /* by descriptor number */
    size_t cap;
    struct ep *next;
};

static pthread_mutex_t ep_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ep *eps;

static struct ep *ep_find(int epfd, bool make)
{
    for (struct ep *e = eps; e != NULL; e = e->next)
        if (e->epfd == epfd) return e;
    if (!make) return NULL;
    struct ep *e = calloc(1, sizeof(*e));
    if (e == NULL) return NULL;
    e->epfd = epfd;
    e->next = eps;
    eps = e;
    return e;
}

static struct ep_ent *ep_ent(struct ep *e, int fd, bool make)
{
    if (fd < 0) return NULL;
    if ((size_t)fd >= e->cap) {
        if (!make) return NULL;
        size_t cap = e->cap ? e->cap : 64;
        while (cap <= (size_t)fd)
            cap *= 2;
        struct ep_ent *n = realloc(e->ents, cap * sizeof(*n));
        if (n == NULL) return NULL;
        memset(n + e->cap, 0, (cap - e->cap) * sizeof(*n));
        e->ents = n;
        e->cap = cap;
    }
    return &e->ents[fd];
}

/* What the socket's eventfd stands for: the union of its registrations (socket.c). Under
 * rt->mu. */
static void ep_account(struct sock *s, uint32_t events, int sign)
{
    pthread_mutex_lock(&s->wmu); /* what a part's wake-up reads (sock.h, Waking) */
    s->ep_regs += (unsigned)sign;
    if (events & EPOLLIN) s->ep_in += (unsigned)sign;
    if (events & EPOLLOUT) s->ep_out += (unsigned)sign;
    if (events & EPOLLRDHUP) s->ep_rdhup += (unsigned)sign;
    s->ep_interest = (s->ep_in ? SOCK_IN : 0) | (s->ep_out ? SOCK_OUT : 0) |
                     (s->ep_in || s->ep_rdhup ? SOCK_RDHUP : 0);
    pthread_mutex_unlock(&s->wmu);
}

/* Forgets epoll instance `epfd` and what was registered in it (its descriptor is closed,
 * or its number was given again). Under ep_mu. */
static void ep_drop(int epfd)
{
    for (struct ep **pe = &eps; *pe != NULL; pe = &(*pe)->next) {
        struct ep *e = *pe;
        if (e->epfd != epfd) continue;
        for (size_t i = 0; i < e->cap; i++) {
            struct ep_ent *ent = &e->ents[i];
            if (!ent->used || ent->s == NULL) continue;
            struct synack_rt *rt = sock_lock(ent->s);
            ep_account(ent->s, ent->events, -1);
            sock_changed(ent->s, false);
            rt_unlock(rt);
        }
        *pe = e->next;
        free(e->ents);
        free(e);
        return;
    }
}

int synack_epoll_create1(int flags)
{
    int epfd = epoll_create1(flags);
    if (epfd < 0) return -1;
    pthread_mutex_lock(&ep_mu);
    /* A number the kernel gives again is a new instance: forget what the last one had. */
    ep_drop(epfd);
    pthread_mutex_unlock(&ep_mu);
    return epfd;
}

void synack_fd_closed(int fd)
{
    if (fd < 0) return;
    ep_forget_fd(fd);
    pthread_mutex_lock(&ep_mu);
    ep_drop(fd);
    pthread_mutex_unlock(&ep_mu);
}

int synack_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    if (op != EPOLL_CTL_DEL && ev == NULL) {
        errno = EFAULT;
        return -1;
    }
    struct sock *s = synack_is_socket(fd) ? sock_get(fd) : NULL;
    pthread_mutex_lock(&ep_mu);
    struct ep *e = ep_find(epfd, true);
    struct ep_ent *ent = e ? ep_ent(e, fd, true) : NULL;
    if (ent == NULL) {
        pthread_mutex_unlock(&ep_mu);
        if (s) sock_put(s);
        errno = ENOMEM;
        return -1;
    }
    if (s != NULL) {
        /* A socket closed since the lookup: its close has forgotten its registrations
         * (ep_forget_fd, after `closed`, under this lock) and would not forget this one. */
        struct synack_rt *rt = sock_lock(s);
        bool closed = s->closed;
        rt_unlock(rt);
        if (closed) {
            pthread_mutex_unlock(&ep_mu);
            sock_put(s);
            errno = EBADF;
            return -1;
        }
    }
    struct epoll_event kev = {0};
    if (ev != NULL) {
        kev.events = ev->events;
        if (s != NULL)
            kev.events =
                EPOLLIN | (ev->events & (EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP));
    }
    kev.data.u64 = (uint64_t)(uint32_t)fd;
    int r = epoll_ctl(epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &kev);
    if (r == 0) {
        if (s != NULL) {
            struct synack_rt *rt = sock_lock(s);
            if (ent->used && ent->s == s) ep_account(s, ent->events, -1);
            if (op != EPOLL_CTL_DEL) ep_account(s, ev->events, +1);
            /* The registration's first answer: set the eventfd if ready now. */
            pthread_mutex_lock(&s->wmu);
            s->ep_set = s->ep_set && op != EPOLL_CTL_ADD;
            pthread_mutex_unlock(&s->wmu);
            sock_changed(s, op != EPOLL_CTL_DEL);
            rt_unlock(rt);
        }
        if (op == EPOLL_CTL_DEL) {
            memset(ent, 0, sizeof(*ent));
        } else {
            ent->used = true;
            ent->s = s;
            ent->events = ev->events;
            ent->data = ev->data;
        }
    }
    int saved = errno;
    pthread_mutex_unlock(&ep_mu);
    if (s) sock_put(s);
    errno = saved;
    return r;
}

void ep_forget_fd(int fd)
{
    pthread_mutex_lock(&ep_mu);
    for (struct ep *e = eps; e != NULL; e = e->next) {
        struct ep_ent *ent = ep_ent(e, fd, false);
        if (ent == NULL || !ent->used) continue;
        if (ent->s != NULL) {
            struct synack_rt *rt = sock_lock(ent->s);
            ep_account(ent->s, ent->events, -1);
            rt_unlock(rt);
        }
        memset(ent, 0, sizeof(*ent));
    }
    pthread_mutex_unlock(&ep_mu);
}

int synack_epoll_wait(int epfd, struct epoll_event *evs, int maxevents, int timeout)
{
    if (maxevents <= 0) {
        errno = EINVAL;
        return -1;
    }
    if (evs == NULL) {
        errno = EFAULT;
        return -1;
    }
    pthread_mutex_lock(&ep_mu);
    bool ours = ep_find(epfd, false) != NULL;
    pthread_mutex_unlock(&ep_mu);
    if (!ours) return epoll_wait(epfd, evs, maxevents, timeout);
    synack_time_t deadline = timeout < 0 ? SYNACK_NEVER : rt_clock() + SYNACK_MS(timeout);
    for (;;) {
        synack_time_t now = rt_clock();
        int ms = deadline == SYNACK_NEVER ? -1
                 : deadline <= now        ? 0
                                          : (int)((deadline - now + 999999) / 1000000);
        int n = epoll_wait(epfd, evs, maxevents, ms);
        if (n <= 0) return n;
        int out = 0;
        pthread_mutex_lock(&ep_mu);
        struct ep *e = ep_find(epfd, false);
        for (int i = 0; i < n; i++) {
            int fd = (int)evs[i].data.u64;
            struct ep_ent *ent = e ? ep_ent(e, fd, false) : NULL;
            if (ent == NULL || !ent->used) continue; /* gone meanwhile */
            uint32_t got = evs[i].events;
            if (ent->s != NULL) {
                struct sock *s = ent->s;
                struct synack_rt *rt = sock_lock(s);
                unsigned want = SOCK_ERR | SOCK_HUP;
                if (ent->events & EPOLLIN) want |= SOCK_IN;
                if (ent->events & EPOLLOUT) want |= SOCK_OUT;
                if (ent->events & EPOLLRDHUP) want |= SOCK_RDHUP;
                got = sock_readiness(s) & want;
                rt_unlock(rt);
                if (got == 0 && (ent->events & EPOLLONESHOT)) {
                    /* The kernel disarmed it for nothing: arm it again. */
                    struct epoll_event kev = {.events = EPOLLIN |
                                                        (ent->events & (EPOLLET | EPOLLONESHOT)),
                                              .data.u64 = (uint64_t)(uint32_t)fd};
                    (void)epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &kev);
                }
            }
            if (got == 0) continue;
            evs[out].events = got;
            evs[out].data = ent->data;
            out++;
        }
        pthread_mutex_unlock(&ep_mu);
        if (out > 0 || ms == 0) return out;
    }
}
