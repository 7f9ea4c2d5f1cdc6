/* The runtime of a process under `synack run`: made at its first IPv4 or IPv6 socket from
 * SYNACK_RUN_OPTS, given up in a child of fork, and wound down at exit. */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctl.h"
#include "netopt.h"
#include "preload.h"

#define RUN_OPTS_SEP '\x1f'        /* between the options in SYNACK_RUN_OPTS (tools/run.c) */
#define RUN_EXIT_DRAIN SYNACK_S(3) /* how long exit waits for closed sockets to finish */
#define RUN_EXIT_POLL SYNACK_MS(1) /* how often it looks */
#define RUN_OPTS_MAX 64            /* options in SYNACK_RUN_OPTS */

/* Process-wide, as an LD_PRELOAD library must be (preload.h): the phase and the runtime that
 * the wrappers read, and what making the runtime needs. */
struct preload_state preload = {.epoll_max = -1};

static struct {
    pthread_mutex_t lock; /* making the runtime */
    bool failed;          /* making it failed: said once, every socket() fails after */
    bool said_stale;      /* the line about a stale socket was printed */
    bool said_child;      /* the line about socket() in a child was printed */
    struct net_opts opts; /* parsed from SYNACK_RUN_OPTS, which `opts_text` holds */
    char *opts_text;
    struct net_chain chain; /* the chain's layers (for -v at exit); the runtime owns them */
    char cmd[64];           /* "run (PROGRAM)", the prefix of every message */
    struct ctl_thread *ctl; /* the control socket's server, or NULL */
} run = {.lock = PTHREAD_MUTEX_INITIALIZER};

void preload_say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "synack %s: %s\n", run.cmd[0] ? run.cmd : "run", line);
}

long preload_traced(const char *call, int fd, long rc)
{
    if (__builtin_expect(!preload.trace, 1)) return rc;
    int err = errno;
    if (rc < 0)
        preload_say("%s(%d) = %ld (%s)", call, fd, rc, strerror(err));
    else
        preload_say("%s(%d) = %ld", call, fd, rc);
    errno = err;
    return rc;
}

bool preload_is_synack_kind(int domain, int type, int protocol)
{
    if (domain != AF_INET && domain != AF_INET6) return false;
    int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (kind == SOCK_STREAM) return protocol == 0 || protocol == IPPROTO_TCP;
    if (kind == SOCK_DGRAM) return protocol == 0 || protocol == IPPROTO_UDP;
    return false;
}

/* Raises *max to fd. */
static void raise_to(_Atomic int *max, int fd)
{
    int had = atomic_load_explicit(max, memory_order_relaxed);
    while (fd > had && !atomic_compare_exchange_weak_explicit(max, &had, fd, memory_order_relaxed,
                                                              memory_order_relaxed))
        ;
}

int preload_note_socket(int fd)
{
    raise_to(&preload.max_fd, fd);
    return fd;
}

int preload_note_epoll(int fd)
{
    raise_to(&preload.epoll_max, fd);
    return fd;
}

/* ---- the options -------------------------------------------------------------------------- */

/* SYNACK_RUN_OPTS into run.opts (the defaults without it). 0, or 2 after printing why. */
static int parse_opts(void)
{
    net_opts_default(&run.opts);
    const char *env = getenv("SYNACK_RUN_OPTS");
    char *argv[RUN_OPTS_MAX + 1];
    int argc = 0;
    argv[argc++] = run.cmd;
    if (env && *env) {
        run.opts_text = strdup(env); /* net_opts keeps pointers into it: never freed */
        if (!run.opts_text) return preload_say("out of memory"), 2;
        for (char *p = run.opts_text; p && argc < RUN_OPTS_MAX;) {
            argv[argc++] = p;
            p = strchr(p, RUN_OPTS_SEP);
            if (p) *p++ = 0;
        }
    }
    argv[argc] = NULL;
    for (int i = 1; i < argc;) {
        int rc = net_opts_parse(&run.opts, run.cmd, argc, argv, &i);
        if (rc < 0) return 2;
        if (rc == 0) return preload_say("SYNACK_RUN_OPTS: unknown option '%s'", argv[i]), 2;
    }
    net_opts_default_tun_addrs(&run.opts);
    return 0;
}

/* ---- making the runtime --------------------------------------------------------------------- */

static void after_fork_in_child(void);

/* The control socket `synack ss` reads, served on a thread of its own (which takes no
 * signal); without it the program runs on, unseen by `synack ss`. */
static void start_control(struct synack_rt *rt)
{
    char why[256];
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (ctl_thread_start_rt(&run.ctl, rt, run.cmd, run.opts.link, why, sizeof why) < 0)
        preload_say("no control socket (synack ss will not list this process): %s", why);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The link chain and the runtime on its thread, which takes no signal: the program's
 * handlers run on the program's threads. 0, or -1 after printing why. */
static int start_runtime(void)
{
    snprintf(run.cmd, sizeof run.cmd, "run (%s)", program_invocation_short_name);
    const char *trace = getenv("SYNACK_RUN_TRACE");
    preload.trace = trace && strcmp(trace, "1") == 0;
    if (parse_opts() != 0) return -1;
    if (net_chain_open(&run.chain, &run.opts, run.cmd) != 0) return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    char err[256] = "";
    struct synack_rt *rt = NULL;
    int rc =
        run.chain.nqueues > 1
            ? synack_rt_new_stacks(&rt, &run.chain.cfg, run.chain.queues, run.chain.nqueues,
                                   SYNACK_RT_THREAD, err, sizeof err)
            : synack_rt_new(&rt, &run.chain.cfg, run.chain.link, SYNACK_RT_THREAD, err, sizeof err);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0) {
        run.chain.link = NULL; /* the runtime freed it (them all) */
        run.chain.nqueues = 0;
        preload_say("the runtime could not be started: %s", err[0] ? err : synack_strerror(rc));
        return -1;
    }
    if (run.opts.verbose) net_chain_describe(&run.chain, &run.opts, run.cmd);
    run.chain.nqueues = 0; /* the runtime has the queues now */
    if (!run.opts.no_control) start_control(rt);
    pthread_atfork(NULL, NULL, after_fork_in_child);
    preload.rt = rt;
    atomic_store_explicit(&preload.phase, PRELOAD_ACTIVE, memory_order_release);
    return 0;
}

int preload_socket(int domain, int type, int protocol)
{
    int phase = atomic_load_explicit(&preload.phase, memory_order_acquire);
    if (phase == PRELOAD_IDLE) {
        pthread_mutex_lock(&run.lock);
        phase = atomic_load_explicit(&preload.phase, memory_order_acquire);
        if (phase == PRELOAD_IDLE && !run.failed && start_runtime() < 0) run.failed = true;
        bool failed = run.failed;
        pthread_mutex_unlock(&run.lock);
        if (failed) {
            errno = ENETDOWN; /* the reason went to stderr */
            return -1;
        }
        phase = PRELOAD_ACTIVE;
    }
    if (phase == PRELOAD_CHILD) {
        if (!run.said_child) {
            run.said_child = true;
            preload_say("a child of fork cannot open synack sockets (its parent's stack "
                        "is not here): exec a program, which gets a stack of its own");
        }
        errno = EACCES;
        return -1;
    }
    if (phase == PRELOAD_STOPPED) {
        errno = EACCES;
        return -1;
    }
    int fd = synack_socket(preload.rt, domain, type, protocol);
    return fd < 0 ? fd : preload_note_socket(fd);
}

/* ---- fork ----------------------------------------------------------------------------------- */

/* In the child of a fork: the runtime's thread is not here and its state is a copy, so the
 * parent's sockets become stale, remembered in a snapshot (mmap: no allocator is trusted
 * here) until the child closes them. */
static void after_fork_in_child(void)
{
    if (atomic_load_explicit(&preload.phase, memory_order_acquire) != PRELOAD_ACTIVE) return;
    int max = atomic_load_explicit(&preload.max_fd, memory_order_relaxed);
    unsigned char *stale =
        mmap(NULL, (size_t)max + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stale == MAP_FAILED) stale = NULL;
    for (int fd = 0; stale && fd <= max; fd++)
        stale[fd] = synack_is_socket(fd);
    preload.stale = stale;
    preload.rt = NULL;
    atomic_store_explicit(&preload.phase, PRELOAD_CHILD, memory_order_release);
}

int preload_stale(int fd, const char *call)
{
    if (!run.said_stale) {
        run.said_stale = true;
        preload_say("%s(%d): a synack socket of the parent process; a child of fork cannot "
                    "use it (EBADF)",
                    call, fd);
    }
    errno = EBADF;
    return -1;
}

void preload_forget_stale(int fd)
{
    int max = atomic_load_explicit(&preload.max_fd, memory_order_relaxed);
    if (preload.stale && fd >= 0 && fd <= max) preload.stale[fd] = 0;
}

/* ---- exit ------------------------------------------------------------------------------------ */

/* With -v: the stack's counters, as `synack cat -v` prints them (the sum of the stacks',
 * then each stack's, with --stacks). */
static void say_counters(struct synack_rt *rt)
{
    struct synack_counters c;
    synack_rt_counters(rt, &c);
    preload_say("stack: segments in %" PRIu64 " out %" PRIu64 ", retransmissions %" PRIu64
                ", RSTs in %" PRIu64 " out %" PRIu64 ", PAWS drops %" PRIu64
                ", TIME_WAITs reused %" PRIu64,
                c.segs_in, c.segs_out, c.retransmits, c.rsts_in, c.rsts_out,
                c.drops[SYNACK_DROP_PAWS], c.time_wait_reused);
    /* With --stacks: each stack's share, so one sees the flows spread over them. */
    for (unsigned i = 0; synack_rt_stacks(rt) > 1 && i < synack_rt_stacks(rt); i++) {
        synack_rt_counters(synack_rt_member(rt, i), &c);
        preload_say("stack %u: segments in %" PRIu64 " out %" PRIu64 ", RSTs in %" PRIu64
                    " out %" PRIu64,
                    i, c.segs_in, c.segs_out, c.rsts_in, c.rsts_out);
    }
}

/* Is `fd` a socket of `rt`, on any of its stacks? */
static bool is_socket_of(struct synack_rt *rt, int fd)
{
    struct synack_rt *on = synack_socket_rt(fd);
    for (unsigned i = 0; on != NULL && i < synack_rt_stacks(rt); i++)
        if (on == synack_rt_member(rt, i)) return true;
    return on != NULL && on == rt;
}

/* Connections of every stack of `rt` released and still sending or closing. */
static size_t orphans(struct synack_rt *rt)
{
    size_t n = 0;
    for (unsigned i = 0; i < synack_rt_stacks(rt); i++) {
        struct synack_stack_stats st;
        synack_rt_stats(synack_rt_member(rt, i), &st);
        n += st.orphans;
    }
    return n;
}

/* What the kernel does at exit, as far as a process can: the sockets still open are closed
 * (a FIN, or a RST where data was left unread), then what they and the ones closed before
 * still have to send goes out, for RUN_EXIT_DRAIN at most; the runtime is freed (which
 * flushes --pcap). Runs after the program's own atexit handlers and destructors: the
 * library's were registered first. */
__attribute__((destructor)) static void runtime_exit(void)
{
    if (atomic_load_explicit(&preload.phase, memory_order_acquire) != PRELOAD_ACTIVE) return;
    struct synack_rt *rt = preload.rt;
    int max = atomic_load_explicit(&preload.max_fd, memory_order_relaxed);
    for (int fd = 0; fd <= max; fd++)
        if (synack_is_socket(fd) && is_socket_of(rt, fd)) synack_close(fd);
    synack_time_t start = synack_rt_now(rt);
    size_t left;
    for (;;) {
        left = orphans(rt);
        if (left == 0 || synack_rt_now(rt) - start > RUN_EXIT_DRAIN) break;
        struct timespec ts = {0, (long)RUN_EXIT_POLL};
        nanosleep(&ts, NULL);
    }
    if (left) preload_say("exit: %zu connections were still sending after 3 s", left);
    if (run.opts.verbose) say_counters(rt);
    atomic_store_explicit(&preload.phase, PRELOAD_STOPPED, memory_order_release);
    ctl_thread_stop(run.ctl); /* before the runtime it reads goes */
    run.ctl = NULL;
    preload.rt = NULL;
    synack_rt_free(rt);
}
