/*
 * synack sockets: the BSD socket API over a synack stack.
 *
 * A runtime (struct synack_rt) owns one stack, the link that carries its packets and the
 * clock (CLOCK_MONOTONIC). It runs on a thread of its own (SYNACK_RT_THREAD) or inside the
 * caller's event loop: wait for synack_rt_fd() to poll readable, then call
 * synack_rt_run_due(). Socket calls may come from any thread at any time; one mutex per
 * runtime guards its stack, and the stack's output is sent by the call that produced it.
 *
 * The socket calls have the shapes and the semantics of Linux's: they return what the
 * kernel's return (-1 on failure) and set errno to what Linux sets in the same situation.
 * A synack socket is a descriptor of the process (an eventfd underneath, so that its
 * number is reserved and a kernel poll, select or epoll can wait on it): synack_poll,
 * synack_select and synack_epoll_* take synack sockets and kernel descriptors together.
 * Never read, write or close a synack socket with the kernel's calls; synack_is_socket
 * tells them apart.
 *
 * Where synack differs from Linux, docs/SOCKETS.md says so: for instance a close from
 * another thread wakes a call blocked on the socket with EBADF (Linux leaves it blocked
 * until the socket sees an event), and SO_RCVBUF / SO_SNDBUF report the stack's buffer
 * sizes, which are set per stack (synack_config) and not per socket.
 */
#ifndef SYNACK_SOCKET_H
#define SYNACK_SOCKET_H

#include <poll.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <synack/link.h>
#include <synack/synack.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ---- the runtime ------------------------------------------------------------------------ */

struct synack_rt;

/* synack_rt_new flags. */
#define SYNACK_RT_THREAD 1u /* run the stack on a thread of the runtime's own */

/* Creates a runtime: a stack made from `cfg` (see synack_config; its mtu is raised or
 * lowered to the link's, and udp_sndbuf raised to hold one packet of it) joined to `link`, which
 * the runtime takes over (it is freed on error too). With SYNACK_RT_THREAD the runtime starts its
 * thread; without it, nothing happens until the caller runs synack_rt_run_due (blocking socket
 * calls then wait for a caller's thread to run it). On failure a sentence is left in `err` (if not
 * NULL). Errors: INVAL, NOMEM, IO (no epoll, timerfd or thread). */
int synack_rt_new(struct synack_rt **out, const struct synack_config *cfg, struct synack_link *link,
                  unsigned flags, char *err, size_t errcap);

/* Creates a runtime of `n` stacks, one per core: stack i is made from `cfg` with
 * steer_queues = n, steer_queue = i and a seed of its own (cfg->seed + i), and runs on a
 * thread of its own over `links[i]`, which must deliver the packets that steer to queue i
 * by cfg->steer_key and cfg->steer_hash (synack_mqwire_link(wire, side, i) of a wire with
 * that key; queue i of synack_tun_open_queues with SYNACK_STEER_XOR). The runtime takes
 * every link over (they are freed on error too). Each stack has its own lock; nothing on
 * the packet path is shared between them.
 *
 * The socket calls take the runtime as they take one of synack_rt_new. A stream socket
 * that connects lives on one stack: one chosen round robin (its ephemeral port then one
 * whose 4-tuple steers back to that stack), or for a socket bound to a port the stack
 * its 4-tuple steers to. A listening socket listens on every stack: accept, poll and epoll
 * take a connection from whichever stack has one, and the accepted socket lives on the
 * stack its connection arrived at. A bound datagram socket is bound on every stack (to
 * the port the first picks for port 0): it receives from whichever stack holds a datagram,
 * and sends each datagram from the stack its flow steers to. A stream socket that connected and
 * then dissolved its connection (connect with AF_UNSPEC) stays on its stack, and if it listens
 * again, listens there only.
 *
 * synack_rt_counters sums the stacks' counters; synack_rt_stats and synack_rt_each_socket
 * report stack 0 and every stack; synack_rt_member gives each stack's own runtime (for its
 * counters and statistics, and to tell where a socket lives: synack_socket_rt). `flags`
 * must be SYNACK_RT_THREAD. n = 1 makes a runtime as synack_rt_new does. On failure a
 * sentence is left in `err` (if not NULL). Errors: INVAL (NULL argument or link, n 0 or
 * above SYNACK_STEER_MAX_QUEUES, flags not SYNACK_RT_THREAD), and synack_rt_new's. */
int synack_rt_new_stacks(struct synack_rt **out, const struct synack_config *cfg,
                         struct synack_link *const *links, unsigned n, unsigned flags, char *err,
                         size_t errcap);

/* The number of stacks of `rt`: n for one of synack_rt_new_stacks, 1 for one of
 * synack_rt_new, 0 for NULL. */
unsigned synack_rt_stacks(const struct synack_rt *rt);

/* The runtime of stack `i` of `rt` (`rt` itself for i = 0 of a runtime of one stack), or
 * NULL when i is out of range: what synack_socket_rt answers for a socket on that stack. */
struct synack_rt *synack_rt_member(struct synack_rt *rt, unsigned i);

/* Stops the thread (if any), resets the connections of every socket still open on the
 * runtime (their descriptors are closed; calls blocked on them return EBADF, and the free
 * waits until they have returned) and frees the stack and the link. NULL is allowed. No
 * other thread may be inside synack_rt_* of this runtime while it is freed. */
void synack_rt_free(struct synack_rt *rt);

/* A descriptor that polls readable when synack_rt_run_due has work (a packet arrived, a
 * timer is due). For a runtime without SYNACK_RT_THREAD; -1 for one with its own thread. */
int synack_rt_fd(const struct synack_rt *rt);

/* Runs what is due: hands arrived packets to the stack, runs due timers, sends what the
 * stack answers and wakes the sockets whose state changed. Never blocks. Returns 0, or
 * SYNACK_ERR_IO when the link keeps failing (its device is gone). Safe from any thread. */
int synack_rt_run_due(struct synack_rt *rt);

/* The runtime's clock: CLOCK_MONOTONIC in nanoseconds (the `now` its stack and link see;
 * an in-process link's push takes `at` in this time). */
synack_time_t synack_rt_now(const struct synack_rt *rt);

/* The stack's counters and statistics, read under the runtime's lock. */
void synack_rt_counters(struct synack_rt *rt, struct synack_counters *out);
void synack_rt_stats(struct synack_rt *rt, struct synack_stack_stats *out);
/* synack_stack_each_socket on the runtime's stack, under its lock: `fn` runs with the lock
 * held, so it must not call back into the runtime or its sockets. */
int synack_rt_each_socket(struct synack_rt *rt, synack_sock_fn fn, void *ctx);

/* ---- sockets ------------------------------------------------------------------------------- */

/* True when `fd` is a synack socket (of any runtime). */
bool synack_is_socket(int fd);

/* The runtime a synack socket belongs to, or NULL. For a socket of a runtime of several
 * stacks: the member runtime (synack_rt_member) of the stack it lives on once it is
 * connected or accepted; before that, the runtime synack_socket was given. */
struct synack_rt *synack_socket_rt(int fd);

/* socket(2) on `rt`: domain AF_INET or AF_INET6; type SOCK_STREAM or SOCK_DGRAM, or'ed with
 * SOCK_NONBLOCK and SOCK_CLOEXEC; protocol 0, IPPROTO_TCP (stream) or IPPROTO_UDP
 * (datagram). Errors as Linux: EAFNOSUPPORT, EINVAL (unknown type flags),
 * EPROTONOSUPPORT, ESOCKTNOSUPPORT, EMFILE / ENFILE, ENOMEM. */
int synack_socket(struct synack_rt *rt, int domain, int type, int protocol);

int synack_bind(int fd, const struct sockaddr *addr, socklen_t len);
int synack_listen(int fd, int backlog);
int synack_accept(int fd, struct sockaddr *addr, socklen_t *len);
int synack_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int synack_connect(int fd, const struct sockaddr *addr, socklen_t len);
ssize_t synack_send(int fd, const void *buf, size_t len, int flags);
ssize_t synack_recv(int fd, void *buf, size_t len, int flags);
ssize_t synack_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                      socklen_t tolen);
ssize_t synack_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                        socklen_t *fromlen);
ssize_t synack_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t synack_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t synack_read(int fd, void *buf, size_t len);
ssize_t synack_write(int fd, const void *buf, size_t len);
ssize_t synack_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t synack_writev(int fd, const struct iovec *iov, int iovcnt);
int synack_shutdown(int fd, int how);
int synack_close(int fd);
int synack_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int synack_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int synack_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int synack_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
/* F_GETFL / F_SETFL (O_NONBLOCK), F_GETFD / F_SETFD (FD_CLOEXEC). */
int synack_fcntl(int fd, int cmd, ...);
/* FIONREAD (SIOCINQ), FIONBIO, SIOCOUTQ (TIOCOUTQ). */
int synack_ioctl(int fd, unsigned long request, ...);

/* ---- waiting on many descriptors: synack sockets and kernel descriptors together -------- */

int synack_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int synack_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *timeout);
/* An epoll instance (a kernel epoll descriptor) that also watches synack sockets:
 * synack_epoll_ctl takes both kinds; synack_epoll_wait reports a synack socket's real
 * readiness (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR), level-triggered, or with
 * EPOLLET / EPOLLONESHOT as asked. Close it with close(2). */
int synack_epoll_create1(int flags);
int synack_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int synack_epoll_wait(int epfd, struct epoll_event *evs, int maxevents, int timeout);

/* Tells synack that the program closed kernel descriptor `fd` (the preload library of
 * `synack run` calls it from close): its registrations in synack_epoll instances are
 * forgotten and, if it was one of those instances, so is everything registered in it.
 * Harmless for any other descriptor. Close synack sockets with synack_close instead. */
void synack_fd_closed(int fd);

/* The errno that the socket calls set for a SYNACK_ERR_* code (ECONNREFUSED for
 * SYNACK_ERR_CONNREFUSED, ...). */
int synack_errno(int err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
