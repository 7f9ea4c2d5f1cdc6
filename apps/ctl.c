/* The control socket: its directory, the server (on an event loop or a thread of its own)
 * and the client's fetch (ctl.h). The snapshot's text is ctl_text.c's. */
#include "ctl.h"

#include "synack/socket.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_BACKLOG 8

struct ctl_client {
    int fd; /* -1: a free slot */
    char *buf;
    size_t len, off;
    unsigned long age; /* accept order: the smallest is the oldest */
};

struct ctl_server {
    int fd;
    pid_t pid; /* the process that made the socket file: only it removes it */
    char path[CTL_PATH_MAX];
    char cmd[64], link[160];
    struct ctl_client clients[CTL_CLIENTS];
    unsigned long accepted;
    ctl_watch_fn watch;
    void *watch_ctx;
};

/* ---- the directory ---- */

int ctl_dir(char *out, size_t cap)
{
    const char *own = getenv("SYNACK_CTL_DIR");
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (own && own[0])
        n = snprintf(out, cap, "%s", own);
    else if (xdg && xdg[0] == '/')
        n = snprintf(out, cap, "%s/synack", xdg);
    else
        n = snprintf(out, cap, "/tmp/synack-%u", (unsigned)geteuid());
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int ctl_dir_check(const char *dir, bool create, char *why, size_t cap)
{
    struct stat st;
    if (create && mkdir(dir, 0700) < 0 && errno != EEXIST) {
        int err = errno;
        snprintf(why, cap, "cannot create %s: %s", dir, strerror(err));
        errno = err;
        return -1;
    }
    if (lstat(dir, &st) < 0) {
        int err = errno;
        snprintf(why, cap, "%s: %s", dir, strerror(err));
        errno = err;
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, cap, "%s is not a directory", dir);
        errno = ENOTDIR;
        return -1;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        snprintf(why, cap, "%s is not private: owned by uid %u, mode %03o (must be yours, 0700)",
                 dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
        errno = EPERM;
        return -1;
    }
    return 0;
}

/* ---- the server ---- */

int ctl_each_stack(void *src, synack_sock_fn fn, void *ctx)
{
    return synack_stack_each_socket(src, fn, ctx);
}

/* "run (python3)" -> "run(python3)": a field's value holds no space or control byte. */
static void copy_field(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    for (; in && *in && n + 1 < cap; in++)
        if ((unsigned char)*in > ' ' && *in != 0x7f) out[n++] = *in;
    out[n] = 0;
}

int ctl_server_open(struct ctl_server **out, const char *cmd, const char *link, char *why,
                    size_t cap)
{
    *out = NULL;
    char dir[CTL_PATH_MAX];
    if (ctl_dir(dir, sizeof dir) < 0)
        return snprintf(why, cap, "the directory's name is too long"), -1;
    if (ctl_dir_check(dir, true, why, cap) < 0) return -1;
    struct ctl_server *s = calloc(1, sizeof *s);
    if (!s) return snprintf(why, cap, "out of memory"), -1;
    s->pid = getpid();
    for (size_t k = 0; k < CTL_CLIENTS; k++)
        s->clients[k].fd = -1;
    copy_field(s->cmd, sizeof s->cmd, cmd);
    copy_field(s->link, sizeof s->link, link);
    int n = snprintf(s->path, sizeof s->path, "%s/%d.sock", dir, (int)s->pid);
    if (n < 0 || (size_t)n >= sizeof s->path) {
        free(s);
        return snprintf(why, cap, "%s: the path is too long for a socket", dir), -1;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, s->path, (size_t)n + 1);
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* A file left by an earlier process of the same pid is stale: ours now. */
    (void)unlink(s->path);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        chmod(s->path, 0600) < 0 || listen(s->fd, CTL_BACKLOG) < 0) {
        snprintf(why, cap, "%s: %s", s->path, strerror(errno));
        if (s->fd >= 0) close(s->fd);
        (void)unlink(s->path);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int ctl_server_fd(const struct ctl_server *s)
{
    return s->fd;
}

const char *ctl_server_path(const struct ctl_server *s)
{
    return s->path;
}

void ctl_server_set_watch(struct ctl_server *s, ctl_watch_fn fn, void *ctx)
{
    s->watch = fn;
    s->watch_ctx = ctx;
}

static void client_end(struct ctl_server *s, struct ctl_client *c)
{
    if (c->fd < 0) return;
    if (c->off < c->len && s->watch) s->watch(s->watch_ctx, c->fd, false);
    close(c->fd);
    free(c->buf);
    *c = (struct ctl_client){.fd = -1};
}

/* Writes what the socket takes now. True when the client is done with (all written, or
 * the socket failed). */
static bool client_push(struct ctl_client *c)
{
    while (c->off < c->len) {
        ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        }
    }
    return true;
}

/* A free slot, or the oldest client's, ended. */
static struct ctl_client *client_slot(struct ctl_server *s)
{
    struct ctl_client *oldest = &s->clients[0];
    for (size_t k = 0; k < CTL_CLIENTS; k++) {
        if (s->clients[k].fd < 0) return &s->clients[k];
        if (s->clients[k].age < oldest->age) oldest = &s->clients[k];
    }
    client_end(s, oldest);
    return oldest;
}

/* SO_PEERCRED: the client runs as our effective uid, or as root. */
static bool peer_allowed(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof cred)
        return false;
    return cred.uid == geteuid() || cred.uid == 0;
}

static void serve_one(struct ctl_server *s, int fd, ctl_each_fn each, void *src, synack_time_t now)
{
    char *buf = peer_allowed(fd) ? malloc(CTL_SNAPSHOT_MAX) : NULL;
    if (!buf) {
        close(fd);
        return;
    }
    struct ctl_client *c = client_slot(s);
    *c = (struct ctl_client){.fd = fd, .buf = buf, .age = ++s->accepted};
    c->len = ctl_snapshot(buf, CTL_SNAPSHOT_MAX, (int)s->pid, s->cmd, s->link, each, src, now);
    if (client_push(c)) {
        client_end(s, c);
    } else if (s->watch) {
        s->watch(s->watch_ctx, fd, true);
    }
}

void ctl_server_accept(struct ctl_server *s, ctl_each_fn each, void *src, synack_time_t now)
{
    for (int k = 0; k < CTL_BACKLOG; k++) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return; /* EAGAIN: no more waiting; anything else: try at the next wake */
        serve_one(s, fd, each, src, now);
    }
}

void ctl_server_write(struct ctl_server *s, int fd)
{
    for (size_t k = 0; k < CTL_CLIENTS; k++) {
        struct ctl_client *c = &s->clients[k];
        if (c->fd == fd && client_push(c)) client_end(s, c);
    }
}

void ctl_server_close(struct ctl_server *s)
{
    if (!s) return;
    for (size_t k = 0; k < CTL_CLIENTS; k++)
        client_end(s, &s->clients[k]);
    close(s->fd);
    if (getpid() == s->pid) (void)unlink(s->path);
    free(s);
}

/* ---- the server on a thread ---- */

struct ctl_thread {
    struct ctl_server *s;
    ctl_each_fn each;
    void *src;
    synack_time_t (*now_fn)(void *src);
    int stop[2]; /* a pipe: a byte (or its closing) stops the thread */
    pthread_t thread;
};

static void *ctl_thread_main(void *arg)
{
    struct ctl_thread *t = arg;
    for (;;) {
        struct pollfd p[2 + CTL_CLIENTS];
        p[0] = (struct pollfd){.fd = t->stop[0], .events = POLLIN};
        p[1] = (struct pollfd){.fd = t->s->fd, .events = POLLIN};
        for (size_t k = 0; k < CTL_CLIENTS; k++)
            p[2 + k] = (struct pollfd){.fd = t->s->clients[k].fd, .events = POLLOUT};
        if (poll(p, 2 + CTL_CLIENTS, -1) < 0 && errno != EINTR) return NULL;
        if (p[0].revents) return NULL;
        for (size_t k = 0; k < CTL_CLIENTS; k++)
            if (p[2 + k].revents && p[2 + k].fd >= 0) ctl_server_write(t->s, p[2 + k].fd);
        if (p[1].revents & POLLIN) ctl_server_accept(t->s, t->each, t->src, t->now_fn(t->src));
    }
}

int ctl_thread_start(struct ctl_thread **out, struct ctl_server *s, ctl_each_fn each, void *src,
                     synack_time_t (*now_fn)(void *src), char *why, size_t cap)
{
    *out = NULL;
    struct ctl_thread *t = calloc(1, sizeof *t);
    if (!t) return snprintf(why, cap, "out of memory"), -1;
    *t = (struct ctl_thread){.s = s, .each = each, .src = src, .now_fn = now_fn};
    if (pipe2(t->stop, O_CLOEXEC) < 0) {
        snprintf(why, cap, "pipe: %s", strerror(errno));
        free(t);
        return -1;
    }
    int rc = pthread_create(&t->thread, NULL, ctl_thread_main, t);
    if (rc != 0) {
        snprintf(why, cap, "cannot start its thread: %s", strerror(rc));
        close(t->stop[0]);
        close(t->stop[1]);
        free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void ctl_thread_stop(struct ctl_thread *t)
{
    if (!t) return;
    close(t->stop[1]); /* the read end polls readable (end of file) */
    pthread_join(t->thread, NULL);
    close(t->stop[0]);
    ctl_server_close(t->s);
    free(t);
}

static int each_rt(void *src, synack_sock_fn fn, void *ctx)
{
    return synack_rt_each_socket(src, fn, ctx);
}

static synack_time_t now_rt(void *src)
{
    return synack_rt_now(src);
}

int ctl_thread_start_rt(struct ctl_thread **out, struct synack_rt *rt, const char *cmd,
                        const char *link, char *why, size_t cap)
{
    struct ctl_server *s;
    *out = NULL;
    if (ctl_server_open(&s, cmd, link, why, cap) < 0) return -1;
    if (ctl_thread_start(out, s, each_rt, rt, now_rt, why, cap) < 0) {
        ctl_server_close(s);
        return -1;
    }
    return 0;
}

/* ---- the client ---- */

/* Reads to the end of the stream, growing *buf; 0, or -1 with errno. */
static int read_all(int fd, int timeout_ms, char **buf, size_t *len)
{
    size_t cap = 4096;
    char *b = malloc(cap + 1);
    if (!b) return -1;
    *len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r == 0) errno = ETIMEDOUT;
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            break;
        }
        if (*len == cap) {
            if (cap >= CTL_SNAPSHOT_MAX) { /* more than a server writes: stop there */
                errno = EMSGSIZE;
                break;
            }
            char *nb = realloc(b, 2 * cap + 1);
            if (!nb) break;
            b = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, b + *len, cap - *len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        if (n == 0) {
            b[*len] = 0;
            *buf = b;
            return 0;
        }
        *len += (size_t)n;
    }
    int err = errno;
    free(b);
    errno = err;
    return -1;
}

int ctl_fetch(const char *path, int timeout_ms, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n >= sizeof sa.sun_path) return errno = ENAMETOOLONG, -1;
    memcpy(sa.sun_path, path, n + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        read_all(fd, timeout_ms, text, len) < 0) {
        int err = errno;
        close(fd);
        return errno = err, -1;
    }
    close(fd);
    if (*len == 0) { /* closed without a word: the server did not let us in */
        free(*text);
        *text = NULL;
        return errno = EPROTO, -1;
    }
    return 0;
}
