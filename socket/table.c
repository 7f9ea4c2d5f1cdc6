/*
 * Descriptors and threads: the process-wide table from a descriptor number to its synack
 * socket, and each thread's wake-up eventfd.
 *
 * The table is two levels of atomic pointers, so that synack_is_socket (which the preload
 * library asks for every descriptor a program uses) is two loads and no lock. References
 * are counted under the table's lock: the table holds one, and every call in progress
 * holds one, so a socket closed by one thread while another is blocked on it is freed by
 * the last of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "sock.h"

#define TAB_PAGE 1024u
#define TAB_PAGES 4096u /* descriptors below 4M */

typedef _Atomic(struct sock *) sock_slot;
static _Atomic(sock_slot *) tab_pages[TAB_PAGES];
static pthread_mutex_t tab_mu = PTHREAD_MUTEX_INITIALIZER;

static struct sock *tab_load(int fd)
{
    if (fd < 0 || (unsigned)fd >= TAB_PAGE * TAB_PAGES) return NULL;
    sock_slot *page =
        atomic_load_explicit(&tab_pages[(unsigned)fd / TAB_PAGE], memory_order_acquire);
    if (page == NULL) return NULL;
    return atomic_load_explicit(&page[(unsigned)fd % TAB_PAGE], memory_order_acquire);
}

bool synack_is_socket(int fd)
{
    return tab_load(fd) != NULL;
}

/* Enters `s` under its descriptor. Under tab_mu. 0, EMFILE (a number beyond the table) or
 * ENOMEM (no page for it). */
static int tab_store(int fd, struct sock *s)
{
    if (fd < 0 || (unsigned)fd >= TAB_PAGE * TAB_PAGES) return EMFILE;
    unsigned p = (unsigned)fd / TAB_PAGE;
    sock_slot *page = atomic_load_explicit(&tab_pages[p], memory_order_acquire);
    if (page == NULL) {
        page = calloc(TAB_PAGE, sizeof(*page));
        if (page == NULL) return ENOMEM;
        atomic_store_explicit(&tab_pages[p], page, memory_order_release);
    }
    atomic_store_explicit(&page[(unsigned)fd % TAB_PAGE], s, memory_order_release);
    return 0;
}

int sock_publish(struct sock *s)
{
    pthread_mutex_lock(&tab_mu);
    int e = tab_store(s->fd, s);
    if (e == 0) s->refs++;
    pthread_mutex_unlock(&tab_mu);
    return e;
}

void sock_unpublish(struct sock *s, int fd)
{
    pthread_mutex_lock(&tab_mu);
    if (tab_load(fd) == s) {
        (void)tab_store(fd, NULL);
        s->refs--;
    }
    bool last = s->refs == 0;
    pthread_mutex_unlock(&tab_mu);
    if (last) sock_free(s);
}

struct sock *sock_get(int fd)
{
    pthread_mutex_lock(&tab_mu);
    struct sock *s = tab_load(fd);
    if (s != NULL) s->refs++;
    pthread_mutex_unlock(&tab_mu);
    if (s == NULL) errno = fcntl(fd, F_GETFD) < 0 ? EBADF : ENOTSOCK;
    return s;
}

void sock_put(struct sock *s)
{
    pthread_mutex_lock(&tab_mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&tab_mu);
    if (last) sock_free(s);
}

struct synack_rt *synack_socket_rt(int fd)
{
    struct sock *s = sock_get(fd);
    if (s == NULL) return NULL;
    struct synack_rt *rt = s->rt;
    sock_put(s);
    return rt;
}

/* ---- threads ------------------------------------------------------------------------------ */

struct sock_thread {
    int efd;
};

static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

static void thread_free(void *p)
{
    struct sock_thread *t = p;
    close(t->efd);
    free(t);
}

static void thread_key_make(void)
{
    (void)pthread_key_create(&thread_key, thread_free);
}

struct sock_thread *sock_thread_self(void)
{
    pthread_once(&thread_once, thread_key_make);
    struct sock_thread *t = pthread_getspecific(thread_key);
    if (t != NULL) return t;
    t = malloc(sizeof(*t));
    if (t == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->efd < 0) {
        free(t);
        return NULL;
    }
    (void)pthread_setspecific(thread_key, t);
    return t;
}

int sock_thread_fd(const struct sock_thread *t)
{
    return t->efd;
}

void sock_thread_arm(struct sock_thread *t)
{
    uint64_t v;
    ssize_t r = read(t->efd, &v, sizeof(v));
    (void)r;
}

void sock_thread_wake(struct sock_thread *t)
{
    uint64_t one = 1;
    ssize_t w = write(t->efd, &one, sizeof(one));
    (void)w;
}

int sock_thread_sleep(struct sock_thread *t, synack_time_t deadline)
{
    struct pollfd p = {.fd = t->efd, .events = POLLIN};
    struct timespec ts, *tsp = NULL;
    if (deadline != SYNACK_NEVER) {
        synack_time_t now = rt_clock();
        synack_time_t left = deadline > now ? deadline - now : 0;
        ts.tv_sec = (time_t)(left / 1000000000u);
        ts.tv_nsec = (long)(left % 1000000000u);
        tsp = &ts;
    }
    int r = ppoll(&p, 1, tsp, NULL);
    if (r < 0) return errno == EINTR ? EINTR : 0;
    return r == 0 ? ETIMEDOUT : 0;
}

void sock_wait_add(struct sock *s, struct sock_waiter *w, struct sock_thread *t, unsigned mask)
{
    w->thread = t;
    w->mask = mask | SOCK_GONE | SOCK_ERR | SOCK_HUP;
    w->prev = NULL;
    pthread_mutex_lock(&s->wmu); /* a part's wake-up walks the list under it alone */
    w->next = s->waiters;
    if (s->waiters != NULL) s->waiters->prev = w;
    s->waiters = w;
    pthread_mutex_unlock(&s->wmu);
}

void sock_wait_del(struct sock *s, struct sock_waiter *w)
{
    pthread_mutex_lock(&s->wmu);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        s->waiters = w->next;
    if (w->next != NULL) w->next->prev = w->prev;
    w->next = w->prev = NULL;
    pthread_mutex_unlock(&s->wmu);
}
