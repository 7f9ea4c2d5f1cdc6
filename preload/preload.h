/*
 * The preload library of `synack run` (libsynack-preload.so): what its files share.
 *
 * The library interposes the socket calls of libc (calls.def lists them). A call on an
 * IPv4 or IPv6 TCP or UDP socket goes to synack's socket API (<synack/socket.h>); any other
 * goes on to libc, after one test. The runtime (one stack, its link and its thread) is made
 * at the process's first IPv4 or IPv6 socket() (runtime.c), from the options `synack run`
 * leaves in SYNACK_RUN_OPTS.
 *
 * The library carries its own copy of synack (core, drivers, socket layer, link options),
 * in which every call to a name of calls.def has been renamed synack_real_NAME at build time:
 * the runtime's own reads, writes, polls and closes of its descriptors go straight to libc,
 * never through the wrappers below.
 *
 * State: an LD_PRELOAD library has no caller to hand it a context, so unlike the rest of
 * synack it keeps process-wide state, all of it in `preload` (runtime.c).
 */
#ifndef SYNACK_PRELOAD_H
#define SYNACK_PRELOAD_H

#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include <synack/socket.h>

/* The sockaddr arguments of libc's prototypes: with _GNU_SOURCE glibc declares them as
 * transparent unions (__SOCKADDR_ARG); SA() is the pointer inside. */
#define SA(a) ((a).__sockaddr__)

/* ---- the real calls (real.c) --------------------------------------------------------------- */

/* The real function of every interposed name: real.NAME. Resolved at load time (and, for
 * a call that comes before, at that call). */
struct preload_real {
#define CALL(name, ret, params, args) ret(*name) params;
#define VCALL(name, ret, params) ret(*name) params;
#include "calls.def"
#undef CALL
#undef VCALL
};
extern struct preload_real real;

/* Resolves every pointer of `real` that is still NULL. */
void preload_resolve(void);

/* real.NAME, resolved if it was not yet (a call from a library constructor that ran before
 * the preload library's). */
#define REAL(name)                                                                                 \
    (__builtin_expect(real.name != NULL, 1) ? real.name : (preload_resolve(), real.name))

/* The prototypes glibc declares only under _FORTIFY_SOURCE. */
ssize_t __read_chk(int fd, void *b, size_t n, size_t cap);
ssize_t __recv_chk(int fd, void *b, size_t n, size_t cap, int flags);
ssize_t __recvfrom_chk(int fd, void *b, size_t n, size_t cap, int flags, __SOCKADDR_ARG a,
                       socklen_t *len);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t cap);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask,
                size_t cap);

/* ---- whose descriptor (runtime.c) ---------------------------------------------------------- */

enum preload_phase {
    PRELOAD_IDLE,    /* no runtime: every descriptor is the kernel's */
    PRELOAD_ACTIVE,  /* a runtime: synack_is_socket tells its sockets */
    PRELOAD_CHILD,   /* a child forked from a process with a runtime: the parent's sockets
                        (stale, a snapshot taken at the fork) cannot be used here */
    PRELOAD_STOPPED, /* the runtime was freed at exit */
};

enum preload_owner {
    OWNER_KERNEL, /* pass the call to libc */
    OWNER_SYNACK, /* a socket of this process's runtime */
    OWNER_STALE,  /* a synack socket this process cannot use (the parent's, or after exit) */
};

/* The process-wide state (runtime.c). */
struct preload_state {
    _Atomic int phase;     /* enum preload_phase */
    struct synack_rt *rt;  /* while ACTIVE */
    _Atomic int max_fd;    /* the highest descriptor a synack socket ever had here */
    _Atomic int epoll_max; /* the highest descriptor epoll_create or epoll_ctl saw here, -1
                              before any: what close must tell the socket layer about */
    bool trace;            /* SYNACK_RUN_TRACE: preload_traced prints every call */
    unsigned char *stale;  /* CHILD, STOPPED: one byte per descriptor up to max_fd, 1 for a
                              synack socket that was open at the fork or at exit */
};
extern struct preload_state preload;

/* Who owns `fd`: one load and, once there is a runtime, synack_is_socket. */
static inline enum preload_owner preload_owner(int fd)
{
    int phase = atomic_load_explicit(&preload.phase, memory_order_acquire);
    if (__builtin_expect(phase == PRELOAD_IDLE, 1)) return OWNER_KERNEL;
    if (phase == PRELOAD_ACTIVE) return synack_is_socket(fd) ? OWNER_SYNACK : OWNER_KERNEL;
    int max = atomic_load_explicit(&preload.max_fd, memory_order_relaxed);
    return fd >= 0 && fd <= max && preload.stale && preload.stale[fd] ? OWNER_STALE : OWNER_KERNEL;
}

/* Whether any synack socket could exist in this process (fast path of poll and select). */
static inline bool preload_may_own(void)
{
    return atomic_load_explicit(&preload.phase, memory_order_acquire) != PRELOAD_IDLE;
}

/* A call on a stale socket: prints once why, sets errno EBADF, returns -1. */
int preload_stale(int fd, const char *call);

/* Forgets a stale socket that the process closes (its descriptor may be reused). */
void preload_forget_stale(int fd);

/* Notes that `fd` is a new synack socket (for the snapshot at a fork). Returns fd. */
int preload_note_socket(int fd);

/* socket(2) for an IPv4 or IPv6 TCP or UDP socket: on the runtime, made first if need be.
 * -1 with errno when the runtime cannot be made (the reason printed once) or in a child
 * of a fork. */
int preload_socket(int domain, int type, int protocol);

/* Whether socket(domain, type, protocol) is one synack takes. */
bool preload_is_synack_kind(int domain, int type, int protocol);

/* Notes `fd` as one an epoll call saw (preload.epoll_max). Returns fd. */
int preload_note_epoll(int fd);

/* The program closed kernel descriptor `fd` (or dup2 replaced it): its epoll registrations
 * are forgotten (synack_fd_closed), once any epoll call has been made. */
static inline void preload_kernel_closed(int fd)
{
    int max = atomic_load_explicit(&preload.epoll_max, memory_order_relaxed);
    if (__builtin_expect(fd <= max, 0)) synack_fd_closed(fd);
}

/* With `synack run --trace` (SYNACK_RUN_TRACE=1): one line on stderr per call on a synack
 * socket, "synack run (nc): write(5) = 16384" or "= -1 (Resource temporarily
 * unavailable)". Returns `rc`, errno as the call left it. */
long preload_traced(const char *call, int fd, long rc);

/* Prints "synack run (PROGRAM): MESSAGE" on stderr. */
void preload_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
