/*
 * The socket layer's insides: the runtime, the socket objects and the waiting threads.
 *
 * Locks. Each runtime has one mutex (rt->mu) guarding its stack, its link and every field
 * of the sockets that live on it but `refs` (below), the waiting fields (below) and the
 * parts' acceptable counts. The table of descriptors has its own (table.c), a leaf: taken
 * alone or inside a runtime's (sock_adopt), never around another. The table of epoll
 * instances has its own (wait.c), which may be taken before a runtime's, never after it.
 *
 * Groups (synack_rt_new_stacks). A group of N stacks is N member runtimes (each a stack,
 * its link, its thread and its lock, as above) and a control runtime, the one the program
 * holds, which has no stack: its lock guards the sockets that live on it, the stream
 * sockets not (yet) connected, listening ones included. Its lock may be taken before a
 * member's, never after one, and a thread holds at most one member's lock. A stream
 * socket moves once, from the control to the member its connection is made on (connect,
 * sock_move), holding both locks; so s->rt is read atomically, and sock_lock finds the
 * lock that guards a socket whatever moved meanwhile. A listening or bound datagram
 * socket of a group lives on the control and has a part on every member (a listener or an
 * endpoint there); a part's events arrive under that member's lock, not the socket's: they count
 * into the part (an atomic read by sock_readiness) and wake through the socket's wake lock.
 *
 * Waking. A thread that waits (a blocking call, synack_poll, ...) hangs a `sock_waiter` on
 * each socket it waits for, with the readiness it waits for, and sleeps in poll(2) on an
 * eventfd of its own thread (so a signal interrupts it with EINTR, as the kernel's blocking
 * calls are). Whenever a socket's state changes, its waiters whose readiness now holds are
 * written to. A thread's eventfd lives as long as the thread, so no wake-up can reach a
 * descriptor number that was closed and reused. epoll is the one waiter that is not a
 * thread: the socket's own descriptor (an eventfd) is set while the socket is ready for
 * what its epoll registrations ask (wait.c). The waiting fields (waiters, ep_*, and fd
 * once the socket is open) are written under the socket's runtime lock and its wake lock
 * (wmu, a leaf) together, so that a member waking a part's socket needs the leaf alone;
 * and a waiter of a socket with parts tests the readiness again after it hangs itself
 * (sock_sleep, synack_poll), so a part's wake-up between its test and its hanging is not
 * lost.
 */
#ifndef SYNACK_SOCKET_SOCK_H
#define SYNACK_SOCKET_SOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "synack/socket.h"

/* Readiness bits: poll's own (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP). */
#define SOCK_IN 0x001u
#define SOCK_OUT 0x004u
#define SOCK_ERR 0x008u
#define SOCK_HUP 0x010u
#define SOCK_RDHUP 0x2000u
/* Not poll's: the socket was closed (a waiter of it returns EBADF) ... */
#define SOCK_GONE 0x80000000u
/* ... anything happened to it (a waiter for a state, such as a lingering close). */
#define SOCK_ANY 0x40000000u

struct sock_thread; /* a thread's eventfd (socket.c) */

struct sock_waiter {
    struct sock_thread *thread;
    unsigned mask; /* readiness waited for; SOCK_GONE and SOCK_ERR always */
    struct sock_waiter *prev, *next;
};

enum sock_kind { SOCK_TCP_NEW, SOCK_TCP_LISTEN, SOCK_TCP_CONN, SOCK_UDP };

/* A socket's share of one member of a group: a listening stream socket's listener there
 * and the connections it queued for accept, or a bound datagram socket's endpoint there
 * and what it holds. The pointers are under the member's lock; the counts and flags are
 * written under it and read anywhere. */
struct sock_part {
    struct synack_listener *lis;
    atomic_uint acceptable;
    struct synack_udp *udp;
    atomic_bool readable; /* a datagram waits */
    atomic_bool blocked;  /* a send got AGAIN: not writable until WRITABLE */
    atomic_bool failed;   /* an ICMP error waits */
};

struct sock {
    int fd; /* the descriptor (an eventfd); -1 once closed */
    /* The runtime the socket lives on: it changes once at most (sock.h, Groups), so read it
     * through sock_lock unless its lock is held. */
    _Atomic(struct synack_rt *) rt;
    unsigned refs; /* the table's reference + calls in progress (socket.c's table lock) */
    int domain;    /* AF_INET, AF_INET6 */
    int type;      /* SOCK_STREAM, SOCK_DGRAM */
    enum sock_kind kind;
    bool nonblock;
    bool closed; /* synack_close ran: calls in progress return EBADF */

    /* Binding. */
    bool bound;
    struct synack_endpoint local;
    bool connected; /* TCP: ESTABLISHED was reached; UDP: a peer is set */
    struct synack_endpoint remote;

    /* The core object. */
    struct synack_tcp *tcp;
    struct synack_listener *lis;
    struct synack_udp *udp;

    /* A listening or bound datagram socket of a group: one part per member (allocated with
     * its first listen or bind, freed with the socket), and the member its next accept or
     * receive asks first. */
    struct sock_part *parts;
    unsigned part_next;

    /* TCP state the socket layer keeps. */
    bool connecting;     /* SYN sent, not yet connected or failed */
    unsigned acceptable; /* connections in the listener's accept queue (ACCEPTABLE less accepts) */
    bool failed;         /* the connection failed (reset, timed out, refused) */
    bool peer_fin;       /* the peer's FIN arrived */
    bool rd_shut;        /* shutdown(SHUT_RD) */
    bool wr_shut;        /* shutdown(SHUT_WR) */
    bool udp_blocked;    /* a UDP send got AGAIN: not writable until WRITABLE */
    int so_error;        /* the pending error (errno) SO_ERROR and the next call report */
    /* A connect said EINPROGRESS (or EINTR): the next connect reports how it ended. */
    bool connect_pending;

    /* Bytes (TCP) or a datagram (UDP) taken from the core by MSG_PEEK and not yet read. */
    uint8_t *peek;
    size_t peek_len, peek_cap;
    bool peek_dgram;  /* UDP: peek holds one datagram of peek_len bytes ... */
    size_t peek_full; /* ... whose whole length was this */
    struct synack_endpoint peek_from;

    /* Options. */
    bool reuseaddr, reuseport, keepalive, nodelay, cork, v6only;
    int keepidle, keepintvl, keepcnt; /* seconds, seconds, probes (Linux: 7200, 75, 9) */
    unsigned user_timeout;            /* ms; 0 off */
    int maxseg;                       /* TCP_MAXSEG as set; 0: not set */
    enum synack_cc cc;
    bool cc_set;
    size_t sndbuf, rcvbuf; /* SO_SNDBUF, SO_RCVBUF as set (clamped to 1 .. 1 GiB); 0: not set */
    bool linger_on;
    int linger_secs;
    synack_time_t rcvtimeo, sndtimeo; /* 0: none */

    /* Waiting. */
    pthread_mutex_t wmu; /* the wake lock (sock.h, Waking) */
    struct sock_waiter *waiters;
    unsigned ep_interest;   /* readiness the socket's epoll registrations ask for (wait.c) */
    unsigned ep_in, ep_out; /* registrations asking for EPOLLIN, EPOLLOUT */
    unsigned ep_rdhup;      /* ... and for EPOLLRDHUP */
    unsigned ep_regs;       /* registrations */
    bool ep_set;            /* the eventfd is set */
    struct sock *rt_next, *rt_prev; /* the runtime's list of its sockets */
};

/* ---- runtime (runtime.c) ---------------------------------------------------------------- */
struct synack_rt {
    pthread_mutex_t mu;
    struct synack_stack *stack;
    struct synack_link *link;
    int epfd, timerfd, stopfd;
    synack_time_t timer_armed;
    bool threaded;
    pthread_t thread;
    uint8_t *buf;
    size_t bufcap;
    unsigned link_failures;
    struct sock *socks;
    /* Socket objects not yet freed (sock_free): the sockets open and the closed ones that
     * calls in progress still hold. synack_rt_free waits on `drained` for it to reach 0,
     * so that no call woken by the close takes the lock of a freed runtime. */
    unsigned live;
    pthread_cond_t drained;
    bool freeing;          /* synack_rt_free has begun: lingering closes stop, connections reset */
    uint32_t port_cursor;  /* where the search for a free port to bind starts */
    size_t sndbuf, rcvbuf; /* the stack's buffers per connection */
    uint16_t eph_lo, eph_hi;
    /* Groups (synack_rt_new_stacks). On the control: its members, and where the round
     * robin of connections stands (under its lock). On a member: its place. */
    struct synack_rt **members;
    unsigned nmembers;
    unsigned next_member;
    unsigned index;
    int steer_hash;
    uint8_t steer_key[16];
};

/* Reads the clock. */
synack_time_t rt_clock(void);
/* Under rt->mu, after any call into the stack: sends what it wants to send, hands the
 * events to their sockets (waking waiters) and re-arms the timer. */
void rt_settle(struct synack_rt *rt);
void rt_lock(struct synack_rt *rt);
void rt_unlock(struct synack_rt *rt);
/* The stack of a member runtime, or for a group's control its first member's: for what
 * every member shares (addresses). */
struct synack_stack *rt_any_stack(const struct synack_rt *rt);
/* Is `rt` the control of a group (no stack of its own)? */
bool rt_is_group(const struct synack_rt *rt);
/* Locks the runtime `s` lives on and returns it (sock.h, Groups). Without any lock. */
struct synack_rt *sock_lock(struct sock *s);

/* ---- sockets (socket.c) -------------------------------------------------------------------- */
/* What `s` is ready for now (SOCK_* bits). Under rt->mu. */
unsigned sock_readiness(struct sock *s);
/* Wakes the waiters of `s` whose readiness holds (or all, with SOCK_GONE) and updates its
 * eventfd for epoll. Under rt->mu. `edge`: something happened (for EPOLLET). */
void sock_changed(struct sock *s, bool edge);
/* Looks `fd` up and takes a reference: NULL with errno EBADF or ENOTSOCK. */
struct sock *sock_get(int fd);
void sock_put(struct sock *s);
/* Enters a new socket in the table under s->fd (taking the table's reference): 0 or an
 * errno. May be called under rt->mu. */
int sock_publish(struct sock *s);
/* Takes `s` out of the table (its descriptor `fd` is being closed) and drops the table's
 * reference. */
void sock_unpublish(struct sock *s, int fd);
/* Frees the memory of a socket whose last reference went and counts it out of its
 * runtime's `live` (socket.c). Without rt->mu. */
void sock_free(struct sock *s);
void sock_thread_wake(struct sock_thread *t);
/* The socket's part of the runtime's event handling: `ev`, from the stack of `rt`, concerns
 * `s` (which lives on `rt`, or has a part there). Under rt->mu. */
void sock_event(struct synack_rt *rt, struct sock *s, const struct synack_event *ev);
/* Closes every socket of `rt` (synack_rt_free). */
void sock_close_all(struct synack_rt *rt);

/* The calling thread's wait object. NULL when no eventfd can be made (errno set). */
struct sock_thread *sock_thread_self(void);
/* Hangs/unhangs waiter `w` of thread `t` on `s` for `mask`. Under rt->mu. */
void sock_wait_add(struct sock *s, struct sock_waiter *w, struct sock_thread *t, unsigned mask);
void sock_wait_del(struct sock *s, struct sock_waiter *w);
/* Clears the thread's eventfd before it tests what it waits for (then no wake-up after the
 * test is lost). */
void sock_thread_arm(struct sock_thread *t);
/* Sleeps until woken, `deadline` (SYNACK_NEVER: none) or a signal: 0, ETIMEDOUT or EINTR.
 * Without rt->mu. */
int sock_thread_sleep(struct sock_thread *t, synack_time_t deadline);
/* The thread's eventfd. */
int sock_thread_fd(const struct sock_thread *t);

/* For group.c: the pieces of accept and of the runtime's list of sockets. Under the lock
 * of the runtime `s` or `n` lives on. */
void rt_link_sock(struct synack_rt *rt, struct sock *s);
void rt_unlink_sock(struct synack_rt *rt, struct sock *s);
/* Enters `s` in the table and in its runtime's count and list: 0 or an errno. */
int sock_adopt(struct sock *s);
void accept_inherit(struct sock *n, const struct sock *s);
void conn_adopt(struct sock *n, struct synack_tcp *c);
void tcp_apply_opts(const struct sock *s, struct synack_tcp *c);

/* ---- groups (group.c): under the control's lock (s->rt is the control) -------------------- */
/* What the parts of `s` make it ready for: SOCK_IN (a connection to accept, a datagram),
 * SOCK_ERR (an ICMP error); and SOCK_OUT unless a datagram part's send got AGAIN. 0 without
 * parts. Under any lock. */
unsigned sock_parts_readiness(const struct sock *s);
/* Moves `s` from its runtime to `to` (a member of its group), under both their locks. */
void sock_move(struct sock *s, struct synack_rt *to);
/* The member of group `g` a connection to `remote` from `local` (NULL: not bound) is made
 * on: the one its 4-tuple steers to for a bound port, else the next in turn. */
struct synack_rt *group_member_for(struct synack_rt *g, const struct synack_endpoint *remote,
                                   const struct synack_endpoint *local);
/* synack_tcp_bind_check on every member: 0 or its error. */
int group_bind_check(struct synack_rt *g, const struct synack_endpoint *ep, unsigned flags);
/* Listens on every member for `s` (bound): 0 or a SYNACK_ERR_* (no part is left open). */
int group_listen(struct sock *s, unsigned backlog, unsigned flags);
/* Closes every part of `s`, listener or endpoint (nothing without parts). */
void group_close_parts(struct sock *s);
/* Takes a connection from a part into new socket `n`, adopted on that part's member: 0,
 * EAGAIN (none is waiting) or an errno. */
int group_accept(struct sock *s, struct sock *n);
/* A datagram socket of a group: binds `ep` on every member (port 0: the port the first
 * picks), leaving the binding in *local: 0 or a SYNACK_ERR_* (no part is left bound). */
int group_udp_bind(struct sock *s, const struct synack_endpoint *ep, struct synack_endpoint *local);
/* synack_udp_connect on every part: 0 or the first error. */
int group_udp_connect(struct sock *s, const struct synack_endpoint *remote);
/* Sends from the member the flow to `dst` (NULL: the connected peer) steers to. */
synack_ssize group_udp_send(struct sock *s, const uint8_t *data, size_t len,
                            const struct synack_endpoint *dst);
/* Receives from the parts in turn: a length, AGAIN (none holds a datagram) or an error. */
synack_ssize group_udp_recv(struct sock *s, uint8_t *buf, size_t cap, struct synack_endpoint *from);
/* The first pending ICMP error of the parts (a SYNACK_ERR_*), or 0. */
int group_udp_error(struct sock *s);

/* ---- epoll (wait.c) ---------------------------------------------------------------------------
 */
/* Drops every epoll registration of `fd` (it is being closed). Before rt->mu. */
void ep_forget_fd(int fd);

#endif
