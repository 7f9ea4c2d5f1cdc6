/*
 * The socket calls: Linux's shapes, semantics and errno over a runtime's stack.
 *
 * Every call looks its descriptor up (a reference) and takes the runtime's lock (sock_enter),
 * does its work with the core, lets the runtime settle (send, hand out events, re-arm its
 * timer) and drops the lock. A call that must wait hangs a waiter on the socket and sleeps
 * on its thread's eventfd without the lock (sock.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "sock.h"

/* Linux's defaults for what a socket may set. */
#define LINUX_KEEPIDLE 7200
#define LINUX_KEEPINTVL 75
#define LINUX_KEEPCNT 9
#define LINUX_SOMAXCONN 4096
/* A sockaddr_in6 without sin6_scope_id (RFC 2133's), which Linux takes. */
#define SIN6_LEN_RFC2133 24

/* ---- errors ---------------------------------------------------------------------------- */

int synack_errno(int err)
{
    switch (err) {
    case SYNACK_OK:
        return 0;
    case SYNACK_ERR_INVAL:
        return EINVAL;
    case SYNACK_ERR_NOMEM:
        return ENOMEM;
    case SYNACK_ERR_AGAIN:
        return EAGAIN;
    case SYNACK_ERR_ADDRINUSE:
        return EADDRINUSE;
    case SYNACK_ERR_NOTCONN:
        return ENOTCONN;
    case SYNACK_ERR_CONNREFUSED:
        return ECONNREFUSED;
    case SYNACK_ERR_CONNRESET:
        return ECONNRESET;
    case SYNACK_ERR_TIMEDOUT:
        return ETIMEDOUT;
    case SYNACK_ERR_SHUTDOWN:
        return EPIPE;
    case SYNACK_ERR_STATE:
        return EINVAL;
    case SYNACK_ERR_BUFSZ:
        return ENOBUFS;
    case SYNACK_ERR_NOPORTS:
        return EADDRNOTAVAIL;
    case SYNACK_ERR_ABORTED:
        return ECONNABORTED;
    case SYNACK_ERR_MALFORMED:
        return EINVAL;
    case SYNACK_ERR_IO:
        return EIO;
    case SYNACK_ERR_UNREACH:
        return EHOSTUNREACH;
    case SYNACK_ERR_CONNLIMIT:
        return ENOBUFS;
    case SYNACK_ERR_MSGSIZE:
        return EMSGSIZE;
    case SYNACK_ERR_STEERED:
        return EADDRNOTAVAIL;
    default:
        return EIO;
    }
}

/* Sets errno and returns -1: every failing call ends here. */
static int fail(int e)
{
    errno = e;
    return -1;
}

/* The socket's pending error (SO_ERROR), taken, for it is reported once; `otherwise` when
 * none is pending. */
static int sock_take_error(struct sock *s, int otherwise)
{
    int e = s->so_error ? s->so_error : otherwise;
    s->so_error = 0;
    return e;
}

/* EPIPE, with SIGPIPE to the calling thread unless MSG_NOSIGNAL (as Linux's send). */
static int fail_pipe(int flags)
{
    if (!(flags & MSG_NOSIGNAL)) (void)pthread_kill(pthread_self(), SIGPIPE);
    return fail(EPIPE);
}

/* ---- addresses --------------------------------------------------------------------------- */

static bool addr_is_mapped(const uint8_t b[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(b, prefix, 12) == 0;
}

/* What a sockaddr is given to: Linux checks it a little differently for each. */
enum sa_use { SA_BIND, SA_CONNECT, SA_SENDTO };

/* A sockaddr given to bind, connect or sendto on `s` as an endpoint. For bind, the any
 * address of an IPv6 socket without IPV6_V6ONLY means both families. 0 or an errno. */
static int sa_to_ep(const struct sock *s, const struct sockaddr *sa, socklen_t len, enum sa_use use,
                    struct synack_endpoint *ep)
{
    bool bind = use == SA_BIND;
    memset(ep, 0, sizeof(*ep));
    if (len > sizeof(struct sockaddr_storage)) return EINVAL; /* Linux's move_addr_to_kernel */
    if (sa == NULL) return EFAULT;
    if (s->domain == AF_INET) {
        if (len < sizeof(struct sockaddr_in)) return EINVAL;
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        /* For old programs, Linux's inet_bind takes AF_UNSPEC with INADDR_ANY, and its
         * udp_sendmsg any address with AF_UNSPEC. */
        bool unspec_ok = use == SA_SENDTO || (bind && in->sin_addr.s_addr == htonl(INADDR_ANY));
        if (in->sin_family != AF_INET && !(in->sin_family == AF_UNSPEC && unspec_ok))
            return EAFNOSUPPORT;
        ep->addr = synack_addr_v4(ntohl(in->sin_addr.s_addr));
        ep->port = ntohs(in->sin_port);
        return 0;
    }
    if (len < SIN6_LEN_RFC2133) return EINVAL;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa; /* no sin6_scope_id */
    if (in6->sin6_family != AF_INET6) return EAFNOSUPPORT;
    const uint8_t *b = in6->sin6_addr.s6_addr;
    ep->port = ntohs(in6->sin6_port);
    if (addr_is_mapped(b)) {
        /* An IPv4 peer seen through an IPv6 socket (RFC 4291 §2.5.5.2). */
        if (s->v6only) return bind ? EINVAL : ENETUNREACH;
        ep->addr = synack_addr_v4((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                                  (uint32_t)b[14] << 8 | b[15]);
        return 0;
    }
    ep->addr = synack_addr_v6(b);
    if (bind && synack_addr_is_any(&ep->addr) && !s->v6only)
        ep->addr = synack_addr_any(SYNACK_AF_NONE);
    return 0;
}

/* Writes `ep` as the socket's family sees it (an IPv4 address in an IPv6 socket as
 * ::ffff:a.b.c.d), truncated to *len, and sets *len to the whole size (as Linux). */
static int ep_to_sa(const struct sock *s, const struct synack_endpoint *ep, struct sockaddr *sa,
                    socklen_t *len)
{
    if (len == NULL) return EFAULT;
    if ((int)*len < 0) return EINVAL; /* Linux's move_addr_to_user */
    if (sa == NULL && *len > 0) return EFAULT;
    union {
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } u;
    memset(&u, 0, sizeof(u));
    socklen_t size;
    if (s->domain == AF_INET) {
        u.in.sin_family = AF_INET;
        u.in.sin_port = htons(ep->port);
        u.in.sin_addr.s_addr = htonl(synack_addr_v4_value(&ep->addr));
        size = sizeof(u.in);
    } else {
        u.in6.sin6_family = AF_INET6;
        u.in6.sin6_port = htons(ep->port);
        if (ep->addr.family == SYNACK_AF_INET) {
            u.in6.sin6_addr.s6_addr[10] = u.in6.sin6_addr.s6_addr[11] = 0xff;
            memcpy(&u.in6.sin6_addr.s6_addr[12], ep->addr.bytes, 4);
        } else if (ep->addr.family == SYNACK_AF_INET6) {
            memcpy(u.in6.sin6_addr.s6_addr, ep->addr.bytes, 16);
        }
        size = sizeof(u.in6);
    }
    if (sa != NULL) memcpy(sa, &u, *len < size ? *len : size);
    *len = size;
    return 0;
}

/* Do the addresses of two bindings overlap? The wildcard of a family covers that family;
 * no family (a dual-stack wildcard) covers both. */
static bool addr_overlap(const struct synack_addr *a, const struct synack_addr *b)
{
    if (a->family == SYNACK_AF_NONE || b->family == SYNACK_AF_NONE) return true;
    if (a->family != b->family) return false;
    return synack_addr_is_any(a) || synack_addr_is_any(b) || synack_addr_eq(a, b);
}

static bool addr_is_local(struct synack_rt *rt, const struct synack_addr *a)
{
    if (synack_addr_is_any(a)) return true;
    struct synack_addr addrs[SYNACK_MAX_ADDRS];
    size_t n = synack_stack_addrs(rt_any_stack(rt), addrs, SYNACK_MAX_ADDRS);
    for (size_t i = 0; i < n; i++)
        if (synack_addr_eq(&addrs[i], a)) return true;
    return false;
}

/* ---- readiness and events ------------------------------------------------------------------ */

unsigned sock_readiness(struct sock *s)
{
    unsigned r = 0;
    if (s->closed) return SOCK_GONE;
    switch (s->kind) {
    case SOCK_TCP_NEW:
        /* An unconnected stream socket: Linux's tcp_poll gives POLLOUT | POLLHUP (and
         * POLLERR while an error is pending, after connect(AF_UNSPEC)). */
        return SOCK_OUT | SOCK_HUP | (s->so_error != 0 ? SOCK_ERR : 0);
    case SOCK_TCP_LISTEN:
        return s->acceptable || (sock_parts_readiness(s) & SOCK_IN) ? SOCK_IN : 0;
    case SOCK_TCP_CONN: {
        struct synack_tcp_info ti;
        if (s->so_error != 0) r |= SOCK_ERR;
        if (s->failed) return r | SOCK_IN | SOCK_OUT | SOCK_HUP | SOCK_RDHUP;
        if (synack_tcp_info(s->tcp, &ti) != 0) return r;
        if (s->connecting) return r;
        if (s->peek_len > 0 || ti.recv_queued > 0) r |= SOCK_IN;
        if (s->peer_fin || s->rd_shut) r |= SOCK_IN | SOCK_RDHUP;
        if (s->wr_shut || ti.send_queued < ti.sndbuf) r |= SOCK_OUT;
        if (s->wr_shut && s->peer_fin) r |= SOCK_HUP;
        return r;
    }
    case SOCK_UDP: {
        struct synack_udp_info ui;
        if (s->peek_dgram) r |= SOCK_IN;
        if (!s->udp_blocked) r |= SOCK_OUT;
        if (s->parts != NULL) r = (r & ~SOCK_OUT) | sock_parts_readiness(s);
        if (s->udp != NULL && synack_udp_info(s->udp, &ui) == 0) {
            if (ui.queued > 0) r |= SOCK_IN;
            if (ui.pending_err != 0) r |= SOCK_ERR;
        }
        if (s->rd_shut) r |= SOCK_IN | SOCK_RDHUP;
        if (s->rd_shut && s->wr_shut) r |= SOCK_HUP;
        return r;
    }
    }
    return r;
}

/* Wakes the waiters of `s` that readiness `r` concerns and sets (`set`) or clears the
 * eventfd for epoll as it says. Under s->wmu. */
static void sock_wake_locked(struct sock *s, unsigned r, bool edge, bool clear)
{
    for (struct sock_waiter *w = s->waiters; w != NULL; w = w->next)
        if (r & w->mask) sock_thread_wake(w->thread);
    if (s->fd < 0) return;
    /* The descriptor's eventfd is set while the socket is ready for what its epoll
     * registrations ask; an edge sets it again, so EPOLLET registrations see it. */
    bool set = s->ep_regs > 0 && (r & (s->ep_interest | SOCK_ERR | SOCK_HUP | SOCK_GONE));
    if (set && (!s->ep_set || edge)) {
        uint64_t one = 1;
        ssize_t w = write(s->fd, &one, sizeof(one));
        (void)w;
        s->ep_set = true;
    } else if (!set && s->ep_set && clear) {
        uint64_t v;
        ssize_t rd = read(s->fd, &v, sizeof(v));
        (void)rd;
        s->ep_set = false;
    }
}

void sock_changed(struct sock *s, bool edge)
{
    pthread_mutex_lock(&s->wmu);
    /* Under the wake lock: a part's wake-up (sock_part_event) either comes after this
     * reads its count, or before, and is seen. */
    unsigned r = sock_readiness(s);
    if (edge) r |= SOCK_ANY;
    sock_wake_locked(s, r, edge, true);
    pthread_mutex_unlock(&s->wmu);
}

/* An event of a part of listening socket `s` on member `rt`, under that member's lock
 * only (sock.h, Groups): a connection to accept is counted in the part, and the socket's
 * waiters for input woken, through its wake lock. */
static void sock_part_event(struct synack_rt *rt, struct sock *s, const struct synack_event *ev)
{
    if (s->parts == NULL) return;
    struct sock_part *p = &s->parts[rt->index];
    unsigned r;
    /* Each only while the part is open: a closed one's last events name it no more. */
    if (ev->type == SYNACK_EV_ACCEPTABLE && p->lis != NULL) {
        atomic_fetch_add(&p->acceptable, 1);
        r = SOCK_IN;
    } else if (ev->type == SYNACK_EV_READABLE && p->udp != NULL) {
        atomic_store(&p->readable, true);
        r = SOCK_IN;
    } else if (ev->type == SYNACK_EV_WRITABLE && p->udp != NULL) {
        atomic_store(&p->blocked, false);
        r = SOCK_OUT;
    } else if (ev->type == SYNACK_EV_ERROR && p->udp != NULL) {
        atomic_store(&p->failed, true);
        r = SOCK_ERR;
    } else {
        return;
    }
    pthread_mutex_lock(&s->wmu);
    sock_wake_locked(s, r | SOCK_ANY, true, false);
    pthread_mutex_unlock(&s->wmu);
}

void sock_event(struct synack_rt *rt, struct sock *s, const struct synack_event *ev)
{
    if (s->rt != rt) {
        sock_part_event(rt, s, ev);
        return;
    }
    if (s->closed) {
        sock_changed(s, true); /* the lingering close waits for this (sock_release) */
        return;
    }
    if (s->kind == SOCK_TCP_LISTEN) {
        /* Events of connections not yet accepted carry the listener's pointer too. */
        if (ev->type != SYNACK_EV_ACCEPTABLE) return;
        s->acceptable++;
    } else if (s->kind == SOCK_TCP_CONN) {
        if (s->tcp == NULL || ev->conn_id != synack_tcp_id(s->tcp)) return;
        switch (ev->type) {
        case SYNACK_EV_CONNECTED:
            s->connecting = false;
            s->connected = true;
            break;
        case SYNACK_EV_ERROR:
            s->failed = true;
            s->connecting = false;
            if (ev->err != SYNACK_ERR_ABORTED) s->so_error = synack_errno(ev->err);
            break;
        case SYNACK_EV_PEER_CLOSED:
            s->peer_fin = true;
            break;
        default:
            break;
        }
    } else if (s->kind == SOCK_UDP) {
        if (ev->type == SYNACK_EV_WRITABLE) s->udp_blocked = false;
    } else {
        return;
    }
    sock_changed(s, true);
}

/* Sleeps, without rt->mu (released and taken again), until `s` is ready for `mask` (or
 * closed, or anything happened with SOCK_ANY) or `deadline`: 0, ETIMEDOUT, EINTR, or
 * ENOMEM (no eventfd for the thread). The caller tested its condition under rt->mu just
 * before, so no wake-up between that test and the sleep is lost. */
static int sock_sleep(struct sock *s, unsigned mask, synack_time_t deadline)
{
    struct sock_thread *t = sock_thread_self();
    if (t == NULL) return errno;
    struct sock_waiter w;
    sock_thread_arm(t);
    sock_wait_add(s, &w, t, mask);
    /* A part's wake-up needs no lock of the socket's runtime: it may have come between the
     * caller's test and the waiter's hanging; then it shows here (sock.h, Waking). */
    if (s->parts != NULL && (sock_readiness(s) & w.mask)) {
        sock_wait_del(s, &w);
        return 0;
    }
    rt_unlock(s->rt);
    int e = sock_thread_sleep(t, deadline);
    (void)sock_lock(s);
    sock_wait_del(s, &w);
    return e;
}

/* Waits, without rt->mu (released and taken again), until `s` is ready for `mask` or
 * `deadline`: 0, or EAGAIN (deadline; Linux's answer to SO_RCVTIMEO / SO_SNDTIMEO), EINTR,
 * EBADF (closed meanwhile), or ENOMEM (no eventfd for the thread). The caller tests its
 * condition again after a 0. */
static int sock_wait(struct sock *s, unsigned mask, synack_time_t deadline)
{
    if (sock_readiness(s) & (mask | SOCK_GONE)) return s->closed ? EBADF : 0;
    int e = sock_sleep(s, mask, deadline);
    if (s->closed) return EBADF;
    if (e == ETIMEDOUT) return EAGAIN;
    return e;
}

/* Waits, as sock_wait, after the core said AGAIN to what readiness `mask` stands for. When
 * the socket's readiness says `mask` holds all the same (bytes a MSG_PEEK keeps make it
 * readable; the stack's mem_budget refuses a send with room left), the wait is for the
 * socket's next event instead: waiting for readiness that holds would not sleep, and
 * would spin on the runtime's lock, which the event that ends the wait needs. */
static int sock_wait_again(struct sock *s, unsigned mask, synack_time_t deadline)
{
    return sock_wait(s, sock_readiness(s) & mask ? SOCK_ANY : mask, deadline);
}

static synack_time_t deadline_after(synack_time_t timeo)
{
    return timeo == 0 ? SYNACK_NEVER : rt_clock() + timeo;
}

/* Every call's way in: looks `fd` up (a reference) and takes its runtime's lock. NULL with
 * errno EBADF or ENOTSOCK, or EBADF when another thread closed the socket since the
 * lookup (its connection may be released already). */
static struct sock *sock_enter(int fd)
{
    struct sock *s = sock_get(fd);
    if (s == NULL) return NULL;
    (void)sock_lock(s);
    if (s->closed) {
        rt_unlock(s->rt);
        sock_put(s);
        errno = EBADF;
        return NULL;
    }
    return s;
}

/* ... and its way out. */
static void sock_leave(struct sock *s)
{
    rt_unlock(s->rt);
    sock_put(s);
}

/* ---- creating and closing ---------------------------------------------------------------- */

void sock_free(struct sock *s)
{
    struct synack_rt *rt = s->rt;
    free(s->peek);
    free(s->parts);
    pthread_mutex_destroy(&s->wmu);
    free(s);
    /* Last: synack_rt_free may free the runtime as soon as the count reaches 0. */
    rt_lock(rt);
    if (--rt->live == 0) pthread_cond_broadcast(&rt->drained);
    rt_unlock(rt);
}

/* A socket object with its descriptor (an eventfd, so that its number is reserved), not
 * yet in the table nor in the runtime's list (sock_adopt) or sock_discard. */
static struct sock *sock_new(struct synack_rt *rt, int domain, int type, bool nonblock,
                             bool cloexec)
{
    struct sock *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    s->fd = eventfd(0, EFD_NONBLOCK | (cloexec ? EFD_CLOEXEC : 0));
    if (s->fd < 0) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->wmu, NULL);
    s->rt = rt;
    s->domain = domain;
    s->type = type;
    s->kind = type == SOCK_STREAM ? SOCK_TCP_NEW : SOCK_UDP;
    s->nonblock = nonblock;
    s->keepidle = LINUX_KEEPIDLE;
    s->keepintvl = LINUX_KEEPINTVL;
    s->keepcnt = LINUX_KEEPCNT;
    return s;
}

/* Frees a socket that sock_new made and sock_adopt never took. */
static void sock_discard(struct sock *s)
{
    close(s->fd);
    pthread_mutex_destroy(&s->wmu);
    free(s);
}

/* Links `s` into its runtime's list. Under rt->mu. */
void rt_link_sock(struct synack_rt *rt, struct sock *s)
{
    s->rt_prev = NULL;
    s->rt_next = rt->socks;
    if (rt->socks != NULL) rt->socks->rt_prev = s;
    rt->socks = s;
}

void rt_unlink_sock(struct synack_rt *rt, struct sock *s)
{
    if (s->rt_prev != NULL)
        s->rt_prev->rt_next = s->rt_next;
    else if (rt->socks == s)
        rt->socks = s->rt_next;
    if (s->rt_next != NULL) s->rt_next->rt_prev = s->rt_prev;
    s->rt_next = s->rt_prev = NULL;
}

/* Makes `s` a socket of the process: its descriptor enters the table (calls find it from
 * now on) and the socket its runtime's count and list. Under rt->mu. 0 or an errno. */
int sock_adopt(struct sock *s)
{
    int e = sock_publish(s);
    if (e != 0) return e;
    s->rt->live++;
    rt_link_sock(s->rt, s);
    return 0;
}

int synack_socket(struct synack_rt *rt, int domain, int type, int protocol)
{
    if (rt == NULL) return fail(EINVAL);
    if (domain != AF_INET && domain != AF_INET6) return fail(EAFNOSUPPORT);
    int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (base == SOCK_STREAM) {
        if (protocol != 0 && protocol != IPPROTO_TCP) return fail(EPROTONOSUPPORT);
    } else if (base == SOCK_DGRAM) {
        if (protocol != 0 && protocol != IPPROTO_UDP) return fail(EPROTONOSUPPORT);
    } else if (base == SOCK_RAW || base == SOCK_SEQPACKET || base == SOCK_RDM) {
        return fail(ESOCKTNOSUPPORT);
    } else {
        return fail(EINVAL);
    }
    struct sock *s = sock_new(rt, domain, base, flags & SOCK_NONBLOCK, flags & SOCK_CLOEXEC);
    if (s == NULL) return -1;
    rt_lock(rt);
    int e = sock_adopt(s);
    rt_unlock(rt);
    if (e != 0) {
        sock_discard(s);
        return fail(e);
    }
    return s->fd;
}

/* Is a lingering close done: all that was sent acknowledged, FIN included (or the
 * connection gone)? Under rt->mu. */
static bool linger_is_done(const struct sock *s)
{
    struct synack_tcp_info ti;
    if (synack_tcp_info(s->tcp, &ti) != 0 || ti.err != 0 || ti.state == SYNACK_CLOSED) return true;
    return ti.send_queued == 0 && ti.state != SYNACK_FIN_WAIT_1 && ti.state != SYNACK_CLOSING &&
           ti.state != SYNACK_LAST_ACK && ti.state != SYNACK_ESTABLISHED &&
           ti.state != SYNACK_CLOSE_WAIT;
}

/* Releases what the closed socket `s` holds in the core, as close(2) does: a lingering
 * close waits first (until synack_rt_free cuts it short). Under rt->mu. */
static void sock_release(struct sock *s)
{
    struct synack_rt *rt = s->rt;
    synack_time_t now = rt_clock();
    if (s->tcp != NULL) {
        synack_tcp_set_user(s->tcp, NULL);
        if (s->linger_on && s->linger_secs > 0 && !s->failed && !rt->freeing) {
            /* Linux's lingering close: the call waits until what was sent is
             * acknowledged (FIN included), or the time runs out. The socket, closed
             * already, hears of its connection's events (sock_event) for this wait. */
            synack_time_t until = now + SYNACK_S(s->linger_secs);
            (void)synack_tcp_shutdown(s->tcp, now);
            rt_settle(rt);
            synack_tcp_set_user(s->tcp, s);
            while (!linger_is_done(s) && !rt->freeing)
                if (sock_sleep(s, SOCK_ANY, until) != 0) break;
            synack_tcp_set_user(s->tcp, NULL);
            now = rt_clock();
        }
        if ((s->linger_on && s->linger_secs == 0) || rt->freeing)
            /* SO_LINGER with a zero timeout, or the runtime going: close sends RST (RFC
             * 9293 §3.10.5 ABORT). */
            synack_tcp_abort(s->tcp, now);
        else
            synack_tcp_close(s->tcp, now);
        s->tcp = NULL;
    }
    if (s->lis != NULL) {
        synack_listener_close(s->lis, now);
        s->lis = NULL;
    }
    group_close_parts(s);
    if (s->udp != NULL) {
        synack_udp_close(s->udp);
        s->udp = NULL;
    }
    rt_settle(rt);
}

/* close(2) on `s`, to which the caller holds a reference: as Linux's, the descriptor goes
 * first (calls blocked on the socket wake with EBADF, later ones on the number fail with
 * EBADF, its epoll registrations go), then the connection is released, lingering if
 * SO_LINGER asks. 0, or EBADF when another close came first. */
static int sock_close(struct sock *s)
{
    /* Once closed, the socket moves no more (connect refuses it): `rt` stays its own. */
    struct synack_rt *rt = sock_lock(s);
    if (s->closed) {
        rt_unlock(rt);
        return EBADF;
    }
    int fd = s->fd;
    s->closed = true;
    sock_changed(s, true);
    pthread_mutex_lock(&s->wmu);
    s->fd = -1;
    pthread_mutex_unlock(&s->wmu);
    rt_unlock(rt);
    /* After `closed`, so that no epoll registration is made again (synack_epoll_ctl
     * tests it under the registry's lock); before the number can be reused. */
    ep_forget_fd(fd);
    sock_unpublish(s, fd);
    close(fd);
    rt_lock(rt);
    sock_release(s);
    rt_unlink_sock(rt, s);
    rt_unlock(rt);
    return 0;
}

int synack_close(int fd)
{
    struct sock *s = sock_get(fd);
    if (s == NULL) return -1;
    int e = sock_close(s);
    sock_put(s);
    return e ? fail(e) : 0;
}

void sock_close_all(struct synack_rt *rt)
{
    rt_lock(rt);
    /* Connections are reset rather than closed, and lingering closes stop: the runtime is
     * going. */
    rt->freeing = true;
    for (struct sock *s = rt->socks; s != NULL; s = s->rt_next)
        if (s->closed) sock_changed(s, true); /* a lingering close: wake it */
    for (;;) {
        struct sock *s = rt->socks;
        while (s != NULL && s->closed)
            s = s->rt_next;
        if (s == NULL) break;
        int fd = s->fd;
        rt_unlock(rt);
        /* A reference for sock_close, which runs without rt->mu. If another thread closed
         * `s` meanwhile, the number is gone or someone else's: skip it. */
        struct sock *got = sock_get(fd);
        if (got == s) (void)sock_close(s);
        if (got != NULL) sock_put(got);
        rt_lock(rt);
    }
    rt_unlock(rt);
}

/* ---- binding ------------------------------------------------------------------------------ */

/* Would binding `s` to `ep` clash? The core knows its listeners, connections and TIME_WAIT
 * records; sockets bound and not yet listening or connected are the socket layer's own.
 * 0 or EADDRINUSE. Under rt->mu. */
static int bind_conflict(struct sock *s, const struct synack_endpoint *ep)
{
    struct synack_rt *rt = s->rt;
    if (s->type == SOCK_STREAM) {
        for (struct sock *o = rt->socks; o != NULL; o = o->rt_next) {
            if (o == s || o->type != SOCK_STREAM || !o->bound || o->kind != SOCK_TCP_NEW) continue;
            if (o->local.port != ep->port || !addr_overlap(&o->local.addr, &ep->addr)) continue;
            if (!(o->reuseaddr && s->reuseaddr) && !(o->reuseport && s->reuseport))
                return EADDRINUSE;
        }
        unsigned flags = s->reuseaddr ? SYNACK_BIND_REUSEADDR : 0;
        if (rt_is_group(rt) ? group_bind_check(rt, ep, flags) != 0
                            : synack_tcp_bind_check(rt->stack, ep, flags) != 0)
            return EADDRINUSE;
    }
    return 0;
}

/* Binds a UDP socket in the core (its conflicts are the core's to find). `autobind`: the
 * binding a connect or send makes for an unbound socket. Under rt->mu. */
static int udp_bind(struct sock *s, const struct synack_endpoint *ep, bool autobind)
{
    struct synack_udp_info ui = {0};
    int rc = rt_is_group(s->rt) ? group_udp_bind(s, ep, &ui.local)
                                : synack_udp_bind(s->rt->stack, ep, s, &s->udp);
    /* No ephemeral port left: Linux's bind says EADDRINUSE, its inet_autobind EAGAIN. */
    if (rc == SYNACK_ERR_NOPORTS) return autobind ? EAGAIN : EADDRINUSE;
    if (rc != 0) return synack_errno(rc);
    if (s->udp != NULL) (void)synack_udp_info(s->udp, &ui);
    s->local = ui.local;
    s->bound = true;
    return 0;
}

/* Binds `s` to `ep`, picking a free port for port 0 (RFC 6056's range of the stack). Under
 * rt->mu. 0 or an errno. */
static int sock_bind_locked(struct sock *s, struct synack_endpoint ep)
{
    struct synack_rt *rt = s->rt;
    if (!addr_is_local(rt, &ep.addr)) return EADDRNOTAVAIL;
    if (s->type == SOCK_DGRAM) return udp_bind(s, &ep, false);
    if (ep.port == 0) {
        uint32_t n = (uint32_t)rt->eph_hi - rt->eph_lo + 1;
        for (uint32_t i = 0; i < n; i++) {
            ep.port = (uint16_t)(rt->eph_lo + (rt->port_cursor + i) % n);
            if (bind_conflict(s, &ep) == 0) {
                rt->port_cursor += i + 1;
                s->local = ep;
                s->bound = true;
                return 0;
            }
        }
        /* Linux's answer when no ephemeral port is left to bind. */
        return EADDRINUSE;
    }
    int e = bind_conflict(s, &ep);
    if (e != 0) return e;
    s->local = ep;
    s->bound = true;
    return 0;
}

/* The wildcard a socket of this family binds to when the program did not bind. */
static struct synack_endpoint sock_any(const struct sock *s)
{
    struct synack_endpoint ep = {0};
    ep.addr = synack_addr_any(s->domain == AF_INET ? SYNACK_AF_INET
                              : s->v6only          ? SYNACK_AF_INET6
                                                   : SYNACK_AF_NONE);
    return ep;
}

int synack_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct sock *s = sock_enter(fd);
    if (s == NULL) return -1;
    struct synack_endpoint ep;
    int e = sa_to_ep(s, addr, len, SA_BIND, &ep);
    if (e == 0 && (s->bound || s->kind != (s->type == SOCK_STREAM ? SOCK_TCP_NEW : SOCK_UDP)))
        e = EINVAL;
    if (e == 0) e = sock_bind_locked(s, ep);
    sock_leave(s);
    return e ? fail(e) : 0;
}

/* ---- listen and accept ------------------------------------------------------------------ */

int synack_listen(int fd, int backlog)
{
    struct sock *s = sock_enter(fd);
    if (s == NULL) return -1;
    struct synack_rt *rt = s->rt;
    int e = 0;
    if (s->type != SOCK_STREAM) {
        e = EOPNOTSUPP;
    } else if (s->kind == SOCK_TCP_LISTEN) {
        /* Linux lets listen be called again to change the backlog; the core keeps its own. */
    } else if (s->kind != SOCK_TCP_NEW) {
        e = EINVAL;
    } else {
        if (!s->bound) e = sock_bind_locked(s, sock_any(s));
        /* Linux takes the backlog as unsigned and caps it at somaxconn (a negative one
         * becomes the cap); 0 still admits a connection. */
        unsigned bl = (unsigned)backlog > LINUX_SOMAXCONN ? LINUX_SOMAXCONN : (unsigned)backlog;
        if (bl == 0) bl = 1;
        if (e == 0) {
            unsigned flags = s->reuseaddr ? SYNACK_BIND_REUSEADDR : 0;
            int rc = rt_is_group(rt)
                         ? group_listen(s, bl, flags)
                         : synack_tcp_listen_flags(rt->stack, &s->local, bl, flags, s, &s->lis);
            if (rc == 0)
                s->kind = SOCK_TCP_LISTEN;
            else
                e = synack_errno(rc);
        }
    }
    rt_settle(rt);
    sock_leave(s);
    return e ? fail(e) : 0;
}

/* Applies the socket's TCP options to a new connection (accepted ones inherit the
 * listener's, as Linux's do). Under rt->mu. */
void tcp_apply_opts(const struct sock *s, struct synack_tcp *c)
{
    if (s->nodelay || s->cork) (void)synack_tcp_set_nodelay(c, s->nodelay && !s->cork);
    /* Settings that cannot be kept now (NOMEM: the connection's own take memory) leave the
     * stack's configuration in force, as a buffer size does below. */
    if (s->keepalive)
        (void)synack_tcp_set_keepalive(c, SYNACK_S(s->keepidle), SYNACK_S(s->keepintvl),
                                       (unsigned)s->keepcnt);
    if (s->user_timeout) (void)synack_tcp_set_user_timeout(c, SYNACK_MS(s->user_timeout));
    if (s->cc_set) (void)synack_tcp_set_cc(c, s->cc);
    if (s->reuseaddr) synack_tcp_set_reuseaddr(c, true);
    /* A size that cannot be had now (NOMEM) leaves the buffer to autotuning. */
    if (s->sndbuf || s->rcvbuf) (void)synack_tcp_set_bufsize(c, s->sndbuf, s->rcvbuf);
}

/* Fills a new socket's state from its connection (it may have received data, a FIN or a
 * RST while it waited in the accept queue). Under rt->mu. */
void conn_adopt(struct sock *n, struct synack_tcp *c)
{
    struct synack_tcp_info ti;
    n->kind = SOCK_TCP_CONN;
    n->tcp = c;
    n->connected = true;
    n->bound = true;
    synack_tcp_set_user(c, n);
    if (synack_tcp_info(c, &ti) != 0) return;
    n->local.addr = ti.local_addr;
    n->local.port = ti.local_port;
    n->remote.addr = ti.remote_addr;
    n->remote.port = ti.remote_port;
    if (ti.err != 0) {
        n->failed = true;
        n->so_error = synack_errno(ti.err);
    }
    switch (ti.state) {
    case SYNACK_CLOSE_WAIT:
    case SYNACK_LAST_ACK:
    case SYNACK_CLOSING:
    case SYNACK_TIME_WAIT:
        n->peer_fin = true;
        break;
    default:
        break;
    }
}

/* Takes a connection from the listener's accept queue, waiting for one unless the socket
 * does not block. Under rt->mu. 0 or an errno. A listener of a group takes it from any of
 * its parts, and adopts it in `n` there (group_accept): *c stays NULL. */
static int accept_take(struct sock *s, struct sock *n, struct synack_tcp **c)
{
    synack_time_t until = deadline_after(s->rcvtimeo);
    for (;;) {
        if (s->kind != SOCK_TCP_LISTEN) return EINVAL;
        if (s->parts != NULL) {
            int e = group_accept(s, n);
            if (e != EAGAIN) return e;
        } else if (synack_tcp_accept(s->lis, c) == 0) {
            return 0;
        }
        s->acceptable = 0;
        sock_changed(s, false);
        if (s->nonblock) return EAGAIN;
        int e = sock_wait(s, SOCK_IN, until);
        if (e != 0) return e;
    }
}

/* An accepted socket takes its listener's options, as Linux clones the listening one. */
void accept_inherit(struct sock *n, const struct sock *s)
{
    n->reuseaddr = s->reuseaddr;
    n->nodelay = s->nodelay;
    n->keepalive = s->keepalive;
    n->keepidle = s->keepidle;
    n->keepintvl = s->keepintvl;
    n->keepcnt = s->keepcnt;
    n->user_timeout = s->user_timeout;
    n->cc = s->cc;
    n->cc_set = s->cc_set;
    n->sndbuf = s->sndbuf;
    n->rcvbuf = s->rcvbuf;
    n->linger_on = s->linger_on;
    n->linger_secs = s->linger_secs;
    n->v6only = s->v6only;
}

int synack_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return fail(EINVAL);
    struct sock *s = sock_enter(fd);
    if (s == NULL) return -1;
    int e = 0;
    if (s->type != SOCK_STREAM)
        e = EOPNOTSUPP;
    else if (addr != NULL && len == NULL)
        e = EFAULT;
    else if (addr != NULL && (int)*len < 0)
        e = EINVAL; /* Linux says so after taking a connection; none is taken here */
    /* The new descriptor's number is reserved before a connection is taken (none is
     * taken that could not get one), and the socket enters the table only as accept
     * returns, as Linux installs it: no other call can find it while accept waits. */
    struct sock *n = NULL;
    if (e == 0) {
        n = sock_new(s->rt, s->domain, SOCK_STREAM, flags & SOCK_NONBLOCK, flags & SOCK_CLOEXEC);
        if (n == NULL) e = errno;
    }
    struct synack_tcp *c = NULL;
    if (e == 0) e = accept_take(s, n, &c);
    bool adopted = e == 0 && c == NULL; /* by a group's part (group_accept) */
    if (e == 0 && !adopted) e = sock_adopt(n);
    int nfd = -1;
    if (adopted) {
        sock_changed(s, false);
        if (addr != NULL) (void)ep_to_sa(n, &n->remote, addr, len);
        nfd = n->fd;
    } else if (e == 0) {
        accept_inherit(n, s);
        conn_adopt(n, c);
        tcp_apply_opts(n, c);
        /* One connection fewer waits (none, if one left the queue unaccepted). */
        if (s->acceptable > 0) s->acceptable--;
        sock_changed(s, false);
        if (addr != NULL) (void)ep_to_sa(n, &n->remote, addr, len);
        nfd = n->fd;
    } else if (c != NULL) {
        synack_tcp_abort(c, rt_clock()); /* the table had no room for its descriptor */
    }
    rt_settle(s->rt);
    sock_leave(s);
    if (e != 0) {
        if (n != NULL) sock_discard(n);
        return fail(e);
    }
    return nfd;
}

int synack_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return synack_accept4(fd, addr, len, 0);
}

/* ---- connect ------------------------------------------------------------------------------ */

/* Waits for a connect in progress: 0 once connected, else an errno. Under rt->mu. */
static int connect_wait(struct sock *s)
{
    synack_time_t until = deadline_after(s->sndtimeo);
    while (s->connecting) {
        int e = sock_wait(s, SOCK_OUT | SOCK_ERR, until);
        /* Linux: a connect that SO_SNDTIMEO cuts short goes on and says EINPROGRESS. */
        if (e == EAGAIN) return EINPROGRESS;
        if (e != 0) return e;
    }
    /* Another thread's connect(AF_UNSPEC) dissolved the attempt meanwhile. */
    if (s->kind != SOCK_TCP_CONN) return sock_take_error(s, ECONNABORTED);
    if (s->failed) return sock_take_error(s, ECONNREFUSED);
    return 0;
}

/* A connect call that waits for the attempt: its outcome, or EINPROGRESS (SO_SNDTIMEO) or
 * EINTR, after which the next connect call reports the outcome. Under rt->mu. */
static int connect_finish(struct sock *s)
{
    int e = connect_wait(s);
    if (e != EINPROGRESS && e != EINTR) s->connect_pending = false;
    return e;
}

/* Linux's SS_CONNECTING: the first connect call after one that returned EINPROGRESS (or
 * EINTR) reports how the attempt ended: 0, its error, or ECONNABORTED when SO_ERROR (or a
 * send or recv) took the error already. The one after starts again (or says EISCONN).
 * Under rt->mu. */
static int connect_report(struct sock *s)
{
    s->connect_pending = false;
    return s->failed ? sock_take_error(s, ECONNABORTED) : 0;
}

/* Stops a listener (LISTEN -> CLOSED: the connections it had not handed out are reset);
 * the socket keeps its port, as Linux's, and may listen again. Under rt->mu. */
static void listener_stop(struct sock *s)
{
    if (s->lis != NULL) synack_listener_close(s->lis, rt_clock());
    s->lis = NULL;
    group_close_parts(s);
    s->kind = SOCK_TCP_NEW;
}

/* Linux's tcp_disconnect: the socket lets its connection go and is a fresh one again,
 * keeping its binding and options. A connection still going (or opening) is reset, and
 * the socket's next call says ECONNRESET; a listener stops. For connect(AF_UNSPEC), and
 * for a connect after a failed one. Under rt->mu. */
static void tcp_disconnect(struct sock *s)
{
    if (s->kind == SOCK_TCP_LISTEN) listener_stop(s);
    if (s->kind != SOCK_TCP_CONN) return;
    bool going = !s->failed;
    synack_tcp_set_user(s->tcp, NULL);
    if (going)
        synack_tcp_abort(s->tcp, rt_clock());
    else
        synack_tcp_close(s->tcp, rt_clock());
    s->tcp = NULL;
    s->kind = SOCK_TCP_NEW;
    s->failed = s->peer_fin = s->rd_shut = s->wr_shut = s->connected = false;
    s->connecting = s->connect_pending = false;
    s->so_error = going ? ECONNRESET : 0;
    s->peek_len = 0;
}

/* Is `port` held by a stream socket of the runtime bound and neither listening nor
 * connected? The core does not know those (bind_conflict). Under rt->mu. */
static bool port_is_bound_here(const struct synack_rt *rt, uint16_t port)
{
    for (const struct sock *o = rt->socks; o != NULL; o = o->rt_next)
        if (o->type == SOCK_STREAM && o->kind == SOCK_TCP_NEW && o->bound && !o->closed &&
            o->local.port == port)
            return true;
    return false;
}

/* The core's active open on the stack of `rt` from `local` (NULL: the socket is not
 * bound). The ephemeral port the core picks for an unbound socket must not be one that a
 * bound socket of this layer holds (Linux's connect skips every port bound with bind): the
 * core, which does not know them, is asked again (its counter moves on) until it picks
 * another, or none is left (NOPORTS). Under rt->mu and s->rt->mu (the same lock, or a
 * group's control and member). */
static int tcp_open(struct sock *s, struct synack_rt *rt, const struct synack_endpoint *remote,
                    const struct synack_endpoint *local, struct synack_tcp **c)
{
    for (uint32_t tries = (uint32_t)rt->eph_hi - rt->eph_lo + 1;; tries--) {
        int rc = synack_tcp_connect(rt->stack, remote, local, s, c, rt_clock());
        if (rc != 0 || local != NULL) return rc;
        struct synack_tcp_info ti;
        if (synack_tcp_info(*c, &ti) != 0 || !port_is_bound_here(s->rt, ti.local_port)) return 0;
        synack_tcp_set_user(*c, NULL);
        synack_tcp_abort(*c, rt_clock()); /* in SYN_SENT: nothing is sent */
        *c = NULL;
        if (tries == 1) return SYNACK_ERR_NOPORTS;
    }
}

/* connect on a stream socket; `addr` holds a family at least (synack_connect). Under
 * rt->mu. */
static int tcp_connect(struct sock *s, const struct sockaddr *addr, socklen_t len)
{
    struct synack_rt *rt = s->rt;
    if (addr->sa_family == AF_UNSPEC) {
        tcp_disconnect(s);
        rt_settle(rt);
        return 0;
    }
    if (s->kind == SOCK_TCP_LISTEN) return EISCONN;
    if (s->kind == SOCK_TCP_CONN) {
        if (s->connecting) return s->nonblock ? EALREADY : connect_finish(s);
        if (s->connect_pending) return connect_report(s);
        if (!s->failed) return EISCONN;
        tcp_disconnect(s); /* Linux lets a socket whose connect failed connect again */
    }
    struct synack_endpoint remote;
    int e = sa_to_ep(s, addr, len, SA_CONNECT, &remote);
    if (e != 0) return e;
    if (remote.port == 0 || !synack_addr_is_unicast(&remote.addr)) return ECONNREFUSED;
    if (synack_stack_addr(rt_any_stack(rt), (enum synack_family)remote.addr.family) == NULL)
        return ENETUNREACH;
    struct synack_endpoint local = s->local;
    if (s->bound && local.addr.family == SYNACK_AF_NONE)
        local.addr = synack_addr_any(remote.addr.family);
    if (s->bound && local.addr.family != remote.addr.family) return EINVAL;
    /* A socket of a group opens its connection on one member, and moves there. */
    struct synack_rt *on =
        rt_is_group(rt) ? group_member_for(rt, &remote, s->bound ? &local : NULL) : rt;
    if (on != rt) rt_lock(on);
    struct synack_tcp *c;
    int rc = tcp_open(s, on, &remote, s->bound ? &local : NULL, &c);
    if (on != rt) {
        if (rc == 0) sock_move(s, on);
        /* The lock that guards the socket now is the member's (sock_leave drops it). */
        rt_unlock(rc == 0 ? rt : on);
        rt = s->rt;
    }
    if (rc != 0)
        return rc == SYNACK_ERR_ADDRINUSE || rc == SYNACK_ERR_NOPORTS || rc == SYNACK_ERR_STEERED
                   ? EADDRNOTAVAIL
               : rc == SYNACK_ERR_INVAL ? ENETUNREACH
                                        : synack_errno(rc);
    tcp_apply_opts(s, c);
    s->kind = SOCK_TCP_CONN;
    s->tcp = c;
    s->connecting = true;
    s->bound = true;
    struct synack_tcp_info ti;
    if (synack_tcp_info(c, &ti) == 0) {
        s->local.addr = ti.local_addr;
        s->local.port = ti.local_port;
    }
    s->remote = remote;
    s->connect_pending = true;
    rt_settle(rt);
    if (s->nonblock) return EINPROGRESS;
    return connect_finish(s);
}

/* ... and on a datagram socket. */
static int udp_connect(struct sock *s, const struct sockaddr *addr, socklen_t len)
{
    if (addr->sa_family == AF_UNSPEC) {
        /* Dissolves the association (RFC 8085 §5.1's "connected" socket goes back). */
        if (s->udp != NULL) (void)synack_udp_connect(s->udp, NULL);
        (void)group_udp_connect(s, NULL);
        s->connected = false;
        return 0;
    }
    struct synack_endpoint remote;
    int e = sa_to_ep(s, addr, len, SA_CONNECT, &remote);
    if (e != 0) return e;
    if (!s->bound) {
        e = udp_bind(s, &(struct synack_endpoint){.addr = sock_any(s).addr}, true);
        if (e != 0) return e;
    }
    int rc = s->parts != NULL ? group_udp_connect(s, &remote) : synack_udp_connect(s->udp, &remote);
    if (rc != 0) return rc == SYNACK_ERR_INVAL ? ENETUNREACH : synack_errno(rc);
    s->remote = remote;
    s->connected = true;
    return 0;
}

int synack_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct sock *s = sock_enter(fd);
    if (s == NULL) return -1;
    int e;
    /* As Linux: the address is copied in (EFAULT), then must hold a family (EINVAL), which
     * AF_UNSPEC is to disconnect; only then does the socket's state count. */
    if (len > sizeof(struct sockaddr_storage))
        e = EINVAL;
    else if (addr == NULL && len > 0)
        e = EFAULT;
    else if (len < sizeof(sa_family_t))
        e = EINVAL;
    else
        e = s->type == SOCK_STREAM ? tcp_connect(s, addr, len) : udp_connect(s, addr, len);
    sock_changed(s, false);
    sock_leave(s);
    return e ? fail(e) : 0;
}

/* ---- sending ------------------------------------------------------------------------------- */

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

/* Checks an iovec array as Linux does: 0, or EINVAL (a count out of 0..IOV_MAX, a total
 * past SSIZE_MAX) or EFAULT (a NULL base with a length). */
static int iov_check(const struct iovec *iov, int n)
{
    if (n < 0 || n > IOV_MAX) return EINVAL;
    if (n > 0 && iov == NULL) return EFAULT;
    size_t t = 0;
    for (int i = 0; i < n; i++) {
        if (iov[i].iov_base == NULL && iov[i].iov_len > 0) return EFAULT;
        if (iov[i].iov_len > (size_t)SSIZE_MAX - t) return EINVAL;
        t += iov[i].iov_len;
    }
    return 0;
}

/* The stream send: everything is taken unless the socket does not block (then what fits,
 * or EAGAIN), as Linux's tcp_sendmsg. Under rt->mu; returns bytes or -errno. */
static ssize_t tcp_sendv(struct sock *s, const struct iovec *iov, int n, int flags)
{
    bool nb = s->nonblock || (flags & MSG_DONTWAIT);
    if (s->kind != SOCK_TCP_CONN) return -sock_take_error(s, EPIPE);
    size_t total = iov_total(iov, n), sent = 0;
    synack_time_t until = deadline_after(s->sndtimeo);
    int i = 0;
    size_t off = 0;
    while (sent < total || total == 0) {
        if (s->failed) {
            if (sent > 0) break;
            return -sock_take_error(s, EPIPE);
        }
        if (s->wr_shut) return sent > 0 ? (ssize_t)sent : -EPIPE;
        if (s->connecting) {
            if (nb) return sent > 0 ? (ssize_t)sent : -EAGAIN;
            int e = connect_wait(s);
            if (e != 0) return -(e == EINPROGRESS ? EAGAIN : e);
            continue;
        }
        if (total == 0) return 0;
        while (i < n && off == iov[i].iov_len) {
            i++;
            off = 0;
        }
        synack_ssize rc = synack_tcp_send(s->tcp, (const uint8_t *)iov[i].iov_base + off,
                                          iov[i].iov_len - off, rt_clock());
        if (rc > 0) {
            sent += (size_t)rc;
            off += (size_t)rc;
            rt_settle(s->rt);
            continue;
        }
        if (rc == SYNACK_ERR_AGAIN) {
            if (nb) return sent > 0 ? (ssize_t)sent : -EAGAIN;
            int e = sock_wait_again(s, SOCK_OUT, until);
            /* Another thread's connect(AF_UNSPEC) let the connection go meanwhile. */
            if (e == 0 && s->kind != SOCK_TCP_CONN) e = sock_take_error(s, EPIPE);
            if (e != 0) return sent > 0 ? (ssize_t)sent : -e;
            continue;
        }
        if (rc == SYNACK_ERR_SHUTDOWN) return sent > 0 ? (ssize_t)sent : -EPIPE;
        if (rc == SYNACK_ERR_NOTCONN) continue; /* still opening: handled above */
        /* The connection failed (the event may not have been handed out yet). */
        s->failed = true;
        if (sent > 0) break;
        s->so_error = 0;
        return -synack_errno((int)rc);
    }
    return (ssize_t)sent;
}

/* One datagram. Under rt->mu; returns bytes or -errno. */
static ssize_t udp_sendv(struct sock *s, const struct iovec *iov, int n, int flags,
                         const struct sockaddr *to, socklen_t tolen)
{
    bool nb = s->nonblock || (flags & MSG_DONTWAIT);
    struct synack_endpoint dst;
    if (to != NULL) {
        int e = sa_to_ep(s, to, tolen, SA_SENDTO, &dst);
        if (e != 0) return -e;
        if (dst.port == 0) return -EINVAL; /* Linux's udp_sendmsg */
    } else if (!s->connected) {
        return -EDESTADDRREQ;
    }
    if (s->wr_shut) return -EPIPE;
    if (!s->bound) {
        int e = udp_bind(s, &(struct synack_endpoint){.addr = sock_any(s).addr}, true);
        if (e != 0) return -e;
    }
    size_t total = iov_total(iov, n);
    if (total > 65535) return -EMSGSIZE;
    uint8_t small[2048], *buf = small;
    const uint8_t *data;
    if (n == 1) {
        data = iov[0].iov_base;
    } else {
        if (total > sizeof(small) && (buf = malloc(total)) == NULL) return -ENOMEM;
        size_t off = 0;
        for (int i = 0; i < n; i++) {
            if (iov[i].iov_len) memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
            off += iov[i].iov_len;
        }
        data = buf;
    }
    synack_time_t until = deadline_after(s->sndtimeo);
    ssize_t ret;
    for (;;) {
        synack_ssize rc = s->parts != NULL
                              ? group_udp_send(s, data, total, to ? &dst : NULL)
                              : synack_udp_send(s->udp, data, total, to ? &dst : NULL, rt_clock());
        if (rc >= 0) {
            ret = (ssize_t)total;
            break;
        }
        if (rc != SYNACK_ERR_AGAIN) {
            ret = rc == SYNACK_ERR_NOTCONN ? -EDESTADDRREQ
                  : rc == SYNACK_ERR_INVAL ? -ENETUNREACH
                                           : -synack_errno((int)rc);
            break;
        }
        s->udp_blocked = s->parts == NULL; /* a group's part says so itself */
        if (nb) {
            ret = -EAGAIN;
            break;
        }
        int e = sock_wait(s, SOCK_OUT, until);
        if (e != 0) {
            ret = -e;
            break;
        }
    }
    if (buf != small) free(buf);
    rt_settle(s->rt);
    return ret;
}

static ssize_t sock_sendv(int fd, const struct iovec *iov, int n, int flags,
                          const struct sockaddr *to, socklen_t tolen, bool is_send)
{
    int e = iov_check(iov, n);
    if (e != 0) return fail(e);
    struct sock *s = sock_enter(fd);
    if (s == NULL) return -1;
    if (!is_send) flags = 0;
    if (flags & MSG_OOB) {
        sock_leave(s);
        return fail(EOPNOTSUPP); /* urgent data: not supported (docs/SOCKETS.md) */
    }
    /* A stream socket ignores the address, as Linux's does (without TCP Fast Open). */
    bool stream = s->type == SOCK_STREAM;
    ssize_t r = stream ? tcp_sendv(s, iov, n, flags) : udp_sendv(s, iov, n, flags, to, tolen);
    sock_changed(s, false);
    sock_leave(s);
    /* SIGPIPE is a stream socket's (Linux's sk_stream_error); a datagram one says EPIPE. */
    if (r == -EPIPE && stream) return fail_pipe(is_send ? flags : 0);
    return r < 0 ? fail((int)-r) : r;
}

ssize_t synack_send(int fd, const void *buf, size_t len, int flags)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    return sock_sendv(fd, &iov, 1, flags, NULL, 0, true);
}

ssize_t synack_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                      socklen_t tolen)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    return sock_sendv(fd, &iov, 1, flags, to, tolen, true);
}

ssize_t synack_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (msg == NULL) return fail(EFAULT);
    if (msg->msg_iovlen > IOV_MAX) return fail(EMSGSIZE);
    /* Linux's copy_msghdr_from_user: a negative length is EINVAL, a longer one is cut. */
    if ((int)msg->msg_namelen < 0) return fail(EINVAL);
    socklen_t nl = msg->msg_namelen > sizeof(struct sockaddr_storage)
                       ? (socklen_t)sizeof(struct sockaddr_storage)
                       : msg->msg_namelen;
    return sock_sendv(fd, msg->msg_iov, (int)msg->msg_iovlen, flags, msg->msg_name, nl, true);
}

ssize_t synack_write(int fd, const void *buf, size_t len)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    return sock_sendv(fd, &iov, 1, 0, NULL, 0, false);
}

ssize_t synack_writev(int fd, const struct iovec *iov, int iovcnt)
{
    return sock_sendv(fd, iov, iovcnt, 0, NULL, 0, false);
}

/* ---- receiving ----------------------------------------------------------------------------- */

/* Copies up to `len` bytes of `src` into the iovec from position `at`. Returns how many. */
static size_t iov_put(const struct iovec *iov, int n, size_t at, const uint8_t *src, size_t len)
{
    size_t done = 0;
    for (int i = 0; i < n && done < len; i++) {
        if (at >= iov[i].iov_len) {
            at -= iov[i].iov_len;
            continue;
        }
        size_t k = iov[i].iov_len - at;
        if (k > len - done) k = len - done;
        memcpy((uint8_t *)iov[i].iov_base + at, src + done, k);
        done += k;
        at = 0;
    }
    return done;
}

static int peek_reserve(struct sock *s, size_t cap)
{
    if (s->peek_cap >= cap) return 0;
    uint8_t *p = realloc(s->peek, cap);
    if (p == NULL) return ENOMEM;
    s->peek = p;
    s->peek_cap = cap;
    return 0;
}

/* The stream receive. Under rt->mu; returns bytes or -errno. */
static ssize_t tcp_recvv(struct sock *s, const struct iovec *iov, int n, int flags)
{
    bool nb = s->nonblock || (flags & MSG_DONTWAIT);
    if (s->kind == SOCK_TCP_LISTEN) return -ENOTCONN;
    if (s->kind != SOCK_TCP_CONN) return -sock_take_error(s, ENOTCONN);
    size_t total = iov_total(iov, n), got = 0;
    if (total == 0) return 0;
    synack_time_t until = deadline_after(s->rcvtimeo);
    for (;;) {
        /* Bytes a MSG_PEEK took from the core come first. */
        if (s->peek_len > got || (!(flags & MSG_PEEK) && s->peek_len > 0)) {
            size_t k = iov_put(iov, n, got, s->peek + (flags & MSG_PEEK ? got : 0),
                               (flags & MSG_PEEK ? s->peek_len - got : s->peek_len));
            if (!(flags & MSG_PEEK)) {
                memmove(s->peek, s->peek + k, s->peek_len - k);
                s->peek_len -= k;
            }
            got += k;
        }
        if (got == total) break;
        synack_ssize rc;
        if (flags & MSG_PEEK) {
            /* What the core holds is kept, however long the caller's buffer says it is
             * (asking for nothing when it holds nothing still tells AGAIN, 0 or the
             * error). */
            struct synack_tcp_info ti;
            size_t want = total - s->peek_len;
            if (synack_tcp_info(s->tcp, &ti) == 0 && ti.recv_queued < want) want = ti.recv_queued;
            if (peek_reserve(s, s->peek_len + want) != 0) return got ? (ssize_t)got : -ENOMEM;
            rc = synack_tcp_recv(s->tcp, want ? s->peek + s->peek_len : NULL, want, rt_clock());
            if (rc > 0) {
                s->peek_len += (size_t)rc;
                continue;
            }
        } else {
            /* Straight into the caller's buffers, a piece at a time. */
            size_t at = got;
            int i = 0;
            while (i < n && at >= iov[i].iov_len)
                at -= iov[i++].iov_len;
            rc = synack_tcp_recv(s->tcp, (uint8_t *)iov[i].iov_base + at, iov[i].iov_len - at,
                                 rt_clock());
            if (rc > 0) {
                got += (size_t)rc;
                rt_settle(s->rt); /* a window update may be due */
                continue;
            }
        }
        if (rc == 0 || s->rd_shut) break; /* end of stream */
        if (rc == SYNACK_ERR_AGAIN || rc == SYNACK_ERR_NOTCONN) {
            if (got > 0 && !((flags & MSG_WAITALL) && !nb)) break;
            if (nb) return got ? (ssize_t)got : -EAGAIN;
            int e = sock_wait_again(s, SOCK_IN, until);
            /* Another thread's connect(AF_UNSPEC) let the connection go meanwhile. */
            if (e == 0 && s->kind != SOCK_TCP_CONN) e = sock_take_error(s, ENOTCONN);
            if (e != 0) return got ? (ssize_t)got : -e;
            continue;
        }
        /* The connection failed: its error once, then end of stream (as Linux). */
        s->failed = true;
        if (got > 0) break;
        if (s->so_error) return -sock_take_error(s, 0);
        break;
    }
    rt_settle(s->rt);
    return (ssize_t)got;
}

/* One datagram. Under rt->mu; returns the bytes copied (or, with MSG_TRUNC, the datagram's
 * length) or -errno. */
static ssize_t udp_recvv(struct sock *s, const struct iovec *iov, int n, int flags,
                         struct synack_endpoint *from, int *msg_flags)
{
    bool nb = s->nonblock || (flags & MSG_DONTWAIT);
    size_t total = iov_total(iov, n);
    synack_time_t until = deadline_after(s->rcvtimeo);
    for (;;) {
        if (!s->peek_dgram && (s->udp != NULL || s->parts != NULL)) {
            if (peek_reserve(s, 65536) != 0) return -ENOMEM;
            synack_ssize rc =
                s->parts != NULL
                    ? group_udp_recv(s, s->peek, s->peek_cap, &s->peek_from)
                    : synack_udp_recv(s->udp, s->peek, s->peek_cap, &s->peek_from, rt_clock());
            if (rc >= 0) {
                s->peek_dgram = true;
                s->peek_full = (size_t)rc;
                s->peek_len = (size_t)rc < s->peek_cap ? (size_t)rc : s->peek_cap;
            } else if (rc != SYNACK_ERR_AGAIN) {
                return -synack_errno((int)rc);
            }
        }
        if (s->peek_dgram) break;
        if (nb) return -EAGAIN; /* even shut down, as Linux's */
        if (s->rd_shut) return 0;
        int e = sock_wait(s, SOCK_IN, until);
        if (e != 0) return -e;
    }
    size_t k = iov_put(iov, n, 0, s->peek, s->peek_len < total ? s->peek_len : total);
    size_t full = s->peek_full;
    if (from != NULL) *from = s->peek_from;
    if (full > k && msg_flags != NULL) *msg_flags |= MSG_TRUNC;
    if (!(flags & MSG_PEEK)) s->peek_dgram = false, s->peek_len = 0;
    return (ssize_t)((flags & MSG_TRUNC) ? full : k);
}

static ssize_t sock_recvv(int fd, const struct iovec *iov, int n, int flags, struct sockaddr *from,
                          socklen_t *fromlen, int *msg_flags)
{
    int e = iov_check(iov, n);
    if (e != 0) return fail(e);
    struct sock *s = sock_enter(fd);
    if (s == NULL) return -1;
    if (flags & (MSG_OOB | MSG_ERRQUEUE)) {
        sock_leave(s);
        /* No urgent data is ever kept (docs/SOCKETS.md); no error is ever queued. */
        return fail(flags & MSG_OOB ? EINVAL : EAGAIN);
    }
    if (from != NULL && fromlen != NULL && (int)*fromlen < 0) {
        sock_leave(s);
        return fail(EINVAL); /* Linux says so after taking the data; nothing is taken here */
    }
    struct synack_endpoint src = {0};
    ssize_t r;
    if (s->type == SOCK_STREAM) {
        r = tcp_recvv(s, iov, n, flags);
        /* As Linux's TCP: no address, and a length of 0. */
        if (r >= 0 && fromlen != NULL) *fromlen = 0;
    } else {
        r = udp_recvv(s, iov, n, flags, &src, msg_flags);
        if (r >= 0 && from != NULL && fromlen != NULL) (void)ep_to_sa(s, &src, from, fromlen);
    }
    sock_changed(s, false);
    sock_leave(s);
    return r < 0 ? fail((int)-r) : r;
}

ssize_t synack_recv(int fd, void *buf, size_t len, int flags)
{
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    return sock_recvv(fd, &iov, 1, flags, NULL, NULL, NULL);
}

ssize_t synack_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                        socklen_t *fromlen)
{
    if (from != NULL && fromlen == NULL) return fail(EFAULT);
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    return sock_recvv(fd, &iov, 1, flags, from, fromlen, NULL);
}

ssize_t synack_recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (msg == NULL) return fail(EFAULT);
    if (msg->msg_iovlen > IOV_MAX) return fail(EMSGSIZE);
    if ((int)msg->msg_namelen < 0) return fail(EINVAL);
    int mflags = 0;
    socklen_t nl = msg->msg_namelen;
    ssize_t r = sock_recvv(fd, msg->msg_iov, (int)msg->msg_iovlen, flags, msg->msg_name,
                           msg->msg_name ? &nl : NULL, &mflags);
    if (r >= 0) {
        if (msg->msg_name) msg->msg_namelen = nl;
        msg->msg_controllen = 0;
        msg->msg_flags = mflags;
    }
    return r;
}

ssize_t synack_read(int fd, void *buf, size_t len)
{
    return synack_recv(fd, buf, len, 0);
}

ssize_t synack_readv(int fd, const struct iovec *iov, int iovcnt)
{
    return sock_recvv(fd, iov, iovcnt, 0, NULL, NULL, NULL);
}

/* ---- shutdown and names ---------------------------------------------------------------------- */

int synack_shutdown(int fd, int how)
{
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) {
        if (synack_is_socket(fd)) return fail(EINVAL);
        struct sock *s = sock_get(fd);
        if (s != NULL) sock_put(s);
        return -1;
    }
    struct sock *s = sock_enter(fd);
    if (s == NULL) return -1;
    struct synack_rt *rt = s->rt;
    int e = 0;
    if (s->kind == SOCK_TCP_LISTEN) {
        /* Linux: shutting a listener's reading down stops it listening (a blocked accept
         * returns EINVAL); it stays bound to its port, and may listen on it again. */
        if (how != SHUT_WR) listener_stop(s);
    } else if (s->kind == SOCK_TCP_CONN && s->connecting) {
        /* Linux disconnects a socket still opening, whichever way it is shut down (the
         * core would take no FIN before the handshake, and the connection would open
         * with its sending side shut in the socket alone). */
        tcp_disconnect(s);
    } else if (s->kind == SOCK_TCP_CONN && !s->failed) {
        if (how != SHUT_WR) s->rd_shut = true;
        if (how != SHUT_RD && !s->wr_shut) {
            s->wr_shut = true;
            (void)synack_tcp_shutdown(s->tcp, rt_clock());
        }
    } else if (s->kind == SOCK_UDP) {
        /* Linux shuts an unconnected datagram socket down too, and says ENOTCONN: how
         * programs wake a thread blocked in its recvfrom. */
        if (how != SHUT_WR) s->rd_shut = true;
        if (how != SHUT_RD) s->wr_shut = true;
        if (!s->connected) e = ENOTCONN;
    } else {
        e = ENOTCONN;
    }
    rt_settle(rt);
    sock_changed(s, true);
    sock_leave(s);
    return e ? fail(e) : 0;
}

static int sock_name(int fd, struct sockaddr *addr, socklen_t *len, bool peer)
{
    struct sock *s = sock_enter(fd);
    if (s == NULL) return -1;
    struct synack_endpoint ep = s->bound ? s->local : sock_any(s);
    int e = 0;
    if (s->kind == SOCK_TCP_CONN && s->tcp != NULL) {
        struct synack_tcp_info ti;
        if (synack_tcp_info(s->tcp, &ti) == 0) {
            ep.addr = peer ? ti.remote_addr : ti.local_addr;
            ep.port = peer ? ti.remote_port : ti.local_port;
        }
        if (peer && (s->connecting || s->failed)) e = ENOTCONN;
    } else if (peer) {
        if (s->kind == SOCK_UDP && s->connected)
            ep = s->remote;
        else
            e = ENOTCONN;
    }
    if (ep.addr.family == SYNACK_AF_NONE)
        ep.addr = synack_addr_any(s->domain == AF_INET ? SYNACK_AF_INET : SYNACK_AF_INET6);
    if (e == 0) e = ep_to_sa(s, &ep, addr, len);
    sock_leave(s);
    return e ? fail(e) : 0;
}

int synack_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    return sock_name(fd, addr, len, false);
}

int synack_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    return sock_name(fd, addr, len, true);
}

/* ---- options ------------------------------------------------------------------------------ */

/* Linux's TCP states (include/net/tcp_states.h) for tcpi_state. */
static uint8_t linux_tcp_state(enum synack_state st)
{
    static const uint8_t map[SYNACK_STATE_COUNT] = {
        [SYNACK_CLOSED] = 7,       [SYNACK_LISTEN] = 10,     [SYNACK_SYN_SENT] = 2,
        [SYNACK_SYN_RECEIVED] = 3, [SYNACK_ESTABLISHED] = 1, [SYNACK_FIN_WAIT_1] = 4,
        [SYNACK_FIN_WAIT_2] = 5,   [SYNACK_CLOSE_WAIT] = 8,  [SYNACK_CLOSING] = 11,
        [SYNACK_LAST_ACK] = 9,     [SYNACK_TIME_WAIT] = 6,
    };
    return st < SYNACK_STATE_COUNT ? map[st] : 7;
}

static uint32_t ns_to_us(synack_time_t t)
{
    uint64_t us = t / 1000u;
    return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* TCP_INFO: Linux's struct tcp_info filled from synack's own. */
static void fill_tcp_info(const struct sock *s, struct tcp_info *out)
{
    memset(out, 0, sizeof(*out));
    if (s->kind == SOCK_TCP_LISTEN) {
        out->tcpi_state = 10;
        return;
    }
    struct synack_tcp_info ti;
    if (s->kind != SOCK_TCP_CONN || s->tcp == NULL || synack_tcp_info(s->tcp, &ti) != 0) {
        out->tcpi_state = 7;
        return;
    }
    uint32_t mss = ti.snd_mss ? ti.snd_mss : 536;
    out->tcpi_state = linux_tcp_state(ti.state);
    /* Linux's ca_state: 0 open, 3 recovery, 4 loss. */
    out->tcpi_ca_state = ti.phase == SYNACK_PHASE_RECOVERY ? 3
                         : ti.phase == SYNACK_PHASE_LOSS   ? 4
                                                           : 0;
    out->tcpi_retransmits = (uint8_t)(ti.backoff > 255 ? 255 : ti.backoff);
    out->tcpi_backoff = out->tcpi_retransmits;
    out->tcpi_options =
        (uint8_t)((ti.timestamps ? 1 : 0) | (ti.sack ? 2 : 0) | (ti.window_scale ? 4 : 0));
    out->tcpi_snd_wscale = ti.snd_wscale & 15;
    out->tcpi_rcv_wscale = ti.rcv_wscale & 15;
    out->tcpi_rto = ns_to_us(ti.rto);
    out->tcpi_snd_mss = mss;
    out->tcpi_rcv_mss = ti.rcv_mss;
    out->tcpi_unacked = (uint32_t)((ti.bytes_in_flight + mss - 1) / mss);
    out->tcpi_sacked = ti.sacked_segs;
    out->tcpi_lost = ti.lost_segs;
    out->tcpi_retrans = ti.retrans_segs;
    out->tcpi_pmtu = ti.pmtu;
    out->tcpi_rcv_ssthresh = ti.rcv_wnd;
    out->tcpi_rtt = ns_to_us(ti.srtt);
    out->tcpi_rttvar = ns_to_us(ti.rttvar);
    out->tcpi_snd_ssthresh = ti.ssthresh >= 0x7fffffffu ? 0x7fffffffu : ti.ssthresh / mss;
    out->tcpi_snd_cwnd = ti.cwnd / mss;
    out->tcpi_advmss = ti.rcv_mss;
    out->tcpi_reordering = 3;
    out->tcpi_rcv_space = ti.rcv_wnd;
    out->tcpi_total_retrans = (uint32_t)ti.counters.retransmits;
}

static int opt_int(const void *val, socklen_t len, int *out)
{
    if (val == NULL) return EFAULT;
    if (len < sizeof(int)) return EINVAL;
    memcpy(out, val, sizeof(int));
    return 0;
}

static int opt_time(const void *val, socklen_t len, synack_time_t *out)
{
    struct timeval tv;
    if (val == NULL) return EFAULT;
    if (len < sizeof(tv)) return EINVAL;
    memcpy(&tv, val, sizeof(tv));
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return EDOM;
    if (tv.tv_sec < 0) {
        *out = 0; /* Linux: a negative timeout is no timeout */
        return 0;
    }
    *out = SYNACK_S((uint64_t)tv.tv_sec) + SYNACK_US((uint64_t)tv.tv_usec);
    return 0;
}

/* Re-applies keepalive to the connection after one of its options changed: 0, or ENOMEM
 * when the connection could not keep settings of its own (it keeps the ones it had). */
static int keepalive_apply(struct sock *s)
{
    if (s->tcp == NULL) return 0;
    int rc = s->keepalive ? synack_tcp_set_keepalive(s->tcp, SYNACK_S(s->keepidle),
                                                     SYNACK_S(s->keepintvl), (unsigned)s->keepcnt)
                          : synack_tcp_set_keepalive(s->tcp, 0, 0, 0);
    return rc ? synack_errno(rc) : 0;
}

static int setopt_locked(struct sock *s, int level, int name, const void *val, socklen_t len)
{
    int v = 0, e;
    bool stream = s->type == SOCK_STREAM;
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_RCVTIMEO:
            return opt_time(val, len, &s->rcvtimeo);
        case SO_SNDTIMEO:
            return opt_time(val, len, &s->sndtimeo);
        case SO_LINGER: {
            struct linger l;
            if (val == NULL) return EFAULT;
            if (len < sizeof(l)) return EINVAL;
            memcpy(&l, val, sizeof(l));
            s->linger_on = l.l_onoff != 0;
            s->linger_secs = l.l_linger < 0 ? 0 : l.l_linger;
            return 0;
        }
        default:
            break;
        }
        if ((e = opt_int(val, len, &v)) != 0) return e;
        switch (name) {
        case SO_REUSEADDR:
            s->reuseaddr = v != 0;
            if (s->tcp) synack_tcp_set_reuseaddr(s->tcp, v != 0);
            return 0;
        case SO_REUSEPORT:
            s->reuseport = v != 0;
            return 0;
        case SO_KEEPALIVE:
            s->keepalive = v != 0;
            return keepalive_apply(s);
        case SO_RCVBUF:
        case SO_SNDBUF:
        case SO_RCVBUFFORCE:
        case SO_SNDBUFFORCE: {
            /* Any value, as Linux takes any (it clamps and doubles it): here clamped to
             * 1 .. 1 GiB, kept on the socket and fixed on its connection, now or when it
             * has one (docs/SOCKETS.md). */
            if (!stream) return 0; /* UDP's queue is the stack's */
            bool rcv = name == SO_RCVBUF || name == SO_RCVBUFFORCE;
            size_t size = v < 1 ? 1 : (size_t)v;
            if (size > SYNACK_BUFSIZE_MAX) size = SYNACK_BUFSIZE_MAX;
            *(rcv ? &s->rcvbuf : &s->sndbuf) = size;
            if (s->tcp == NULL) return 0;
            int rc = synack_tcp_set_bufsize(s->tcp, rcv ? 0 : size, rcv ? size : 0);
            sock_changed(s, false);
            return synack_errno(rc);
        }
        default:
            return ENOPROTOOPT;
        }
    }
    if (level == IPPROTO_TCP) {
        if (!stream) return ENOPROTOOPT; /* Linux's UDP hands the level to IP's */
        if (name == TCP_CONGESTION) {
            char nm[16] = {0};
            if (len < 1) return EINVAL;
            if (val == NULL) return EFAULT;
            memcpy(nm, val, len < sizeof(nm) - 1 ? len : sizeof(nm) - 1);
            enum synack_cc cc;
            if (strcmp(nm, "reno") == 0)
                cc = SYNACK_CC_NEWRENO;
            else if (synack_cc_parse(nm, &cc) != 0)
                return ENOENT; /* Linux: no such algorithm */
            s->cc = cc;
            s->cc_set = true;
            if (s->tcp) (void)synack_tcp_set_cc(s->tcp, cc);
            return 0;
        }
        if ((e = opt_int(val, len, &v)) != 0) return e;
        switch (name) {
        case TCP_NODELAY:
            s->nodelay = v != 0;
            if (s->tcp) (void)synack_tcp_set_nodelay(s->tcp, s->nodelay && !s->cork);
            return 0;
        case TCP_CORK:
            /* While corked, partial segments wait (Nagle on); uncorking sends them. */
            s->cork = v != 0;
            if (s->tcp) (void)synack_tcp_set_nodelay(s->tcp, s->nodelay && !s->cork);
            return 0;
        case TCP_KEEPIDLE:
        case TCP_KEEPINTVL:
            if (v < 1 || v > 32767) return EINVAL;
            *(name == TCP_KEEPIDLE ? &s->keepidle : &s->keepintvl) = v;
            return keepalive_apply(s);
        case TCP_KEEPCNT:
            if (v < 1 || v > 127) return EINVAL;
            s->keepcnt = v;
            return keepalive_apply(s);
        case TCP_USER_TIMEOUT:
            if (v < 0) return EINVAL;
            s->user_timeout = (unsigned)v;
            if (s->tcp && (e = synack_tcp_set_user_timeout(s->tcp, SYNACK_MS(v))) != 0)
                return synack_errno(e);
            return 0;
        case TCP_MAXSEG:
            /* Linux's bounds; recorded, while the MSS stays what the MTU gives
             * (docs/SOCKETS.md). */
            if (v != 0 && (v < 88 || v > 32767)) return EINVAL;
            s->maxseg = v;
            return 0;
        default:
            return ENOPROTOOPT;
        }
    }
    if (level == IPPROTO_IPV6 && s->domain == AF_INET6 && name == IPV6_V6ONLY) {
        if ((e = opt_int(val, len, &v)) != 0) return e;
        if (s->bound) return EINVAL;
        s->v6only = v != 0;
        return 0;
    }
    return ENOPROTOOPT;
}

int synack_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    struct sock *s = sock_enter(fd);
    if (s == NULL) return -1;
    int e = setopt_locked(s, level, name, val, len);
    rt_settle(s->rt);
    sock_leave(s);
    return e ? fail(e) : 0;
}

/* Writes an int option, as Linux: a shorter buffer (down to 0) gets its first bytes. */
static int put_int(void *val, socklen_t *len, int v)
{
    if (len == NULL) return EFAULT;
    if ((int)*len < 0) return EINVAL;
    socklen_t n = *len < sizeof(int) ? *len : sizeof(int);
    if (n > 0 && val == NULL) return EFAULT;
    if (n > 0) memcpy(val, &v, n);
    *len = n;
    return 0;
}

static int put_bytes(void *val, socklen_t *len, const void *src, size_t size)
{
    if (len == NULL) return EFAULT;
    if ((int)*len < 0) return EINVAL;
    socklen_t n = *len < size ? *len : (socklen_t)size;
    if (n > 0 && val == NULL) return EFAULT;
    if (n > 0) memcpy(val, src, n);
    *len = n;
    return 0;
}

static int put_time(void *val, socklen_t *len, synack_time_t t)
{
    struct timeval tv = {.tv_sec = (time_t)(t / 1000000000u),
                         .tv_usec = (suseconds_t)(t % 1000000000u / 1000u)};
    return put_bytes(val, len, &tv, sizeof(tv));
}

static int getopt_locked(struct sock *s, int level, int name, void *val, socklen_t *len)
{
    bool stream = s->type == SOCK_STREAM;
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_TYPE:
            return put_int(val, len, s->type);
        case SO_DOMAIN:
            return put_int(val, len, s->domain);
        case SO_PROTOCOL:
            return put_int(val, len, stream ? IPPROTO_TCP : IPPROTO_UDP);
        case SO_ACCEPTCONN:
            return put_int(val, len, s->kind == SOCK_TCP_LISTEN);
        case SO_ERROR: {
            int e = s->so_error;
            s->so_error = 0;
            if (e == 0 && s->udp != NULL) {
                struct synack_udp_info ui;
                if (synack_udp_info(s->udp, &ui) == 0 && ui.pending_err)
                    e = synack_errno(ui.pending_err);
            }
            int pe = e == 0 && s->type == SOCK_DGRAM ? group_udp_error(s) : 0;
            if (pe != 0) e = synack_errno(pe);
            return put_int(val, len, e);
        }
        case SO_REUSEADDR:
            return put_int(val, len, s->reuseaddr);
        case SO_REUSEPORT:
            return put_int(val, len, s->reuseport);
        case SO_KEEPALIVE:
            return put_int(val, len, s->keepalive);
        /* A connection's buffers as they are now (autotuning grows them, SO_*BUF fixes
         * them); before one, the size set, or the size every connection of the stack
         * starts with (docs/SOCKETS.md). */
        case SO_RCVBUF:
        case SO_SNDBUF: {
            struct synack_tcp_info ti;
            bool rcv = name == SO_RCVBUF;
            size_t set = rcv ? s->rcvbuf : s->sndbuf;
            size_t v = !stream ? 65536 : set ? set : rcv ? s->rt->rcvbuf : s->rt->sndbuf;
            if (stream && s->tcp != NULL && synack_tcp_info(s->tcp, &ti) == 0)
                v = rcv ? ti.rcvbuf : ti.sndbuf;
            return put_int(val, len, v > INT_MAX ? INT_MAX : (int)v);
        }
        case SO_RCVTIMEO:
            return put_time(val, len, s->rcvtimeo);
        case SO_SNDTIMEO:
            return put_time(val, len, s->sndtimeo);
        case SO_LINGER: {
            struct linger l = {.l_onoff = s->linger_on, .l_linger = s->linger_secs};
            return put_bytes(val, len, &l, sizeof(l));
        }
        default:
            return ENOPROTOOPT;
        }
    }
    if (level == IPPROTO_TCP) {
        if (!stream) return EOPNOTSUPP;
        switch (name) {
        case TCP_NODELAY:
            return put_int(val, len, s->nodelay);
        case TCP_CORK:
            return put_int(val, len, s->cork);
        case TCP_KEEPIDLE:
            return put_int(val, len, s->keepidle);
        case TCP_KEEPINTVL:
            return put_int(val, len, s->keepintvl);
        case TCP_KEEPCNT:
            return put_int(val, len, s->keepcnt);
        case TCP_USER_TIMEOUT:
            return put_int(val, len, (int)s->user_timeout);
        case TCP_MAXSEG: {
            struct synack_tcp_info ti;
            int mss = 536; /* Linux's answer before a connection */
            if (s->tcp != NULL && synack_tcp_info(s->tcp, &ti) == 0 && ti.snd_eff_mss)
                mss = ti.snd_eff_mss;
            else if (s->maxseg)
                mss = s->maxseg;
            return put_int(val, len, mss);
        }
        case TCP_CONGESTION: {
            enum synack_cc cc = s->cc;
            if (!s->cc_set && s->tcp != NULL) {
                struct synack_tcp_info ti;
                if (synack_tcp_info(s->tcp, &ti) == 0) cc = ti.cc;
            }
            char nm[16] = {0};
            strncpy(nm, synack_cc_name(cc), sizeof(nm) - 1);
            return put_bytes(val, len, nm, sizeof(nm));
        }
        case TCP_INFO: {
            struct tcp_info info;
            fill_tcp_info(s, &info);
            return put_bytes(val, len, &info, sizeof(info));
        }
        default:
            return ENOPROTOOPT;
        }
    }
    if (level == IPPROTO_IPV6 && s->domain == AF_INET6 && name == IPV6_V6ONLY)
        return put_int(val, len, s->v6only);
    return ENOPROTOOPT;
}

int synack_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    struct sock *s = sock_enter(fd);
    if (s == NULL) return -1;
    int e = getopt_locked(s, level, name, val, len);
    sock_changed(s, false);
    sock_leave(s);
    return e ? fail(e) : 0;
}

/* ---- fcntl and ioctl ------------------------------------------------------------------------ */

int synack_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    /* F_SETFL and F_SETFD take an int (POSIX). */
    int arg = (cmd == F_SETFL || cmd == F_SETFD) ? va_arg(ap, int) : 0;
    va_end(ap);
    struct sock *s = sock_enter(fd);
    if (s == NULL) return -1;
    int r = 0;
    switch (cmd) {
    case F_GETFL:
        r = O_RDWR | (s->nonblock ? O_NONBLOCK : 0);
        break;
    case F_SETFL:
        s->nonblock = (arg & O_NONBLOCK) != 0;
        break;
    case F_GETFD:
    case F_SETFD:
        r = fcntl(fd, cmd, arg);
        break; /* close-on-exec is the descriptor's */
    default:
        errno = EINVAL, r = -1;
        break;
    }
    sock_leave(s);
    return r;
}

int synack_ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    int *arg = va_arg(ap, int *);
    va_end(ap);
    struct sock *s = sock_enter(fd);
    if (s == NULL) return -1;
    int e = 0;
    if (request != FIONBIO && request != FIONREAD && request != TIOCOUTQ) {
        e = ENOTTY;
    } else if (arg == NULL) {
        e = EFAULT;
    } else if (request == FIONBIO) {
        s->nonblock = *arg != 0;
    } else if (s->type == SOCK_STREAM) {
        struct synack_tcp_info ti;
        if (s->kind == SOCK_TCP_LISTEN) {
            e = EINVAL;
        } else if (s->tcp == NULL || synack_tcp_info(s->tcp, &ti) != 0) {
            *arg = 0;
        } else {
            size_t v = request == FIONREAD ? ti.recv_queued + s->peek_len : ti.send_queued;
            *arg = v > INT32_MAX ? INT32_MAX : (int)v;
        }
    } else {
        /* A datagram socket: the length of the next datagram (FIONREAD), as Linux. */
        struct synack_udp_info ui;
        if (request == TIOCOUTQ) {
            *arg = 0;
        } else if (s->peek_dgram) {
            *arg = (int)s->peek_full;
        } else if ((s->udp != NULL && synack_udp_info(s->udp, &ui) == 0 && ui.queued > 0) ||
                   (sock_parts_readiness(s) & SOCK_IN)) {
            /* Peek it to learn its length. */
            struct iovec none = {0};
            (void)udp_recvv(s, &none, 0, MSG_PEEK | MSG_DONTWAIT, NULL, NULL);
            *arg = s->peek_dgram ? (int)s->peek_full : 0;
        } else {
            *arg = 0;
        }
    }
    sock_leave(s);
    return e ? fail(e) : 0;
}
