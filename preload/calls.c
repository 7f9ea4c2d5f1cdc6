/* The interposed socket and descriptor calls: a synack socket's go to <synack/socket.h>, any
 * other descriptor's to libc (preload.h). The waits (poll, select, epoll) are in wait.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "preload.h"

/* The body of a call on one descriptor: synack's call (traced with --trace), libc's, or
 * EBADF for a stale one. */
#define ROUTE(fd, name, synack_call, kernel_call)                                                  \
    do {                                                                                           \
        switch (preload_owner(fd)) {                                                               \
        case OWNER_SYNACK:                                                                         \
            return preload_traced(name, fd, synack_call);                                          \
        case OWNER_STALE:                                                                          \
            return preload_stale(fd, name);                                                        \
        default:                                                                                   \
            return kernel_call;                                                                    \
        }                                                                                          \
    } while (0)

/* A new descriptor from synack: noted for the snapshot at a fork. */
static int noted(int fd)
{
    return fd < 0 ? fd : preload_note_socket(fd);
}

int socket(int domain, int type, int protocol)
{
    if (preload_is_synack_kind(domain, type, protocol))
        return (int)preload_traced("socket", -1, preload_socket(domain, type, protocol));
    return REAL(socket)(domain, type, protocol);
}

int bind(int fd, __CONST_SOCKADDR_ARG a, socklen_t len)
{
    ROUTE(fd, "bind", synack_bind(fd, SA(a), len), REAL(bind)(fd, a, len));
}

int listen(int fd, int backlog)
{
    ROUTE(fd, "listen", synack_listen(fd, backlog), REAL(listen)(fd, backlog));
}

int accept(int fd, __SOCKADDR_ARG a, socklen_t *len)
{
    ROUTE(fd, "accept", noted(synack_accept(fd, SA(a), len)), REAL(accept)(fd, a, len));
}

int accept4(int fd, __SOCKADDR_ARG a, socklen_t *len, int flags)
{
    ROUTE(fd, "accept4", noted(synack_accept4(fd, SA(a), len, flags)),
          REAL(accept4)(fd, a, len, flags));
}

int connect(int fd, __CONST_SOCKADDR_ARG a, socklen_t len)
{
    ROUTE(fd, "connect", synack_connect(fd, SA(a), len), REAL(connect)(fd, a, len));
}

ssize_t send(int fd, const void *b, size_t n, int flags)
{
    ROUTE(fd, "send", synack_send(fd, b, n, flags), REAL(send)(fd, b, n, flags));
}

ssize_t recv(int fd, void *b, size_t n, int flags)
{
    ROUTE(fd, "recv", synack_recv(fd, b, n, flags), REAL(recv)(fd, b, n, flags));
}

ssize_t sendto(int fd, const void *b, size_t n, int flags, __CONST_SOCKADDR_ARG a, socklen_t len)
{
    ROUTE(fd, "sendto", synack_sendto(fd, b, n, flags, SA(a), len),
          REAL(sendto)(fd, b, n, flags, a, len));
}

ssize_t recvfrom(int fd, void *b, size_t n, int flags, __SOCKADDR_ARG a, socklen_t *len)
{
    ROUTE(fd, "recvfrom", synack_recvfrom(fd, b, n, flags, SA(a), len),
          REAL(recvfrom)(fd, b, n, flags, a, len));
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
    ROUTE(fd, "sendmsg", synack_sendmsg(fd, m, flags), REAL(sendmsg)(fd, m, flags));
}

ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
    ROUTE(fd, "recvmsg", synack_recvmsg(fd, m, flags), REAL(recvmsg)(fd, m, flags));
}

ssize_t read(int fd, void *b, size_t n)
{
    ROUTE(fd, "read", synack_read(fd, b, n), REAL(read)(fd, b, n));
}

ssize_t write(int fd, const void *b, size_t n)
{
    ROUTE(fd, "write", synack_write(fd, b, n), REAL(write)(fd, b, n));
}

ssize_t readv(int fd, const struct iovec *iov, int n)
{
    ROUTE(fd, "readv", synack_readv(fd, iov, n), REAL(readv)(fd, iov, n));
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    ROUTE(fd, "writev", synack_writev(fd, iov, n), REAL(writev)(fd, iov, n));
}

int shutdown(int fd, int how)
{
    ROUTE(fd, "shutdown", synack_shutdown(fd, how), REAL(shutdown)(fd, how));
}

int getsockname(int fd, __SOCKADDR_ARG a, socklen_t *len)
{
    ROUTE(fd, "getsockname", synack_getsockname(fd, SA(a), len), REAL(getsockname)(fd, a, len));
}

int getpeername(int fd, __SOCKADDR_ARG a, socklen_t *len)
{
    ROUTE(fd, "getpeername", synack_getpeername(fd, SA(a), len), REAL(getpeername)(fd, a, len));
}

int getsockopt(int fd, int level, int name, void *v, socklen_t *len)
{
    ROUTE(fd, "getsockopt", synack_getsockopt(fd, level, name, v, len),
          REAL(getsockopt)(fd, level, name, v, len));
}

int setsockopt(int fd, int level, int name, const void *v, socklen_t len)
{
    ROUTE(fd, "setsockopt", synack_setsockopt(fd, level, name, v, len),
          REAL(setsockopt)(fd, level, name, v, len));
}

/* ---- closing ------------------------------------------------------------------------------ */

int close(int fd)
{
    switch (preload_owner(fd)) {
    case OWNER_SYNACK:
        return synack_close(fd);
    case OWNER_STALE:
        preload_forget_stale(fd); /* the child's copy of the eventfd */
    /* fall through */
    default:
        return REAL(close)(fd);
    }
}

int close_range(unsigned first, unsigned last, int flags)
{
    int epoll_max = atomic_load_explicit(&preload.epoll_max, memory_order_relaxed);
    for (unsigned fd = first; fd <= last && (int)fd <= epoll_max; fd++)
        if (!(flags & CLOSE_RANGE_CLOEXEC) && preload_owner((int)fd) != OWNER_SYNACK)
            preload_kernel_closed((int)fd);
    if (preload_may_own() && first <= last) {
        unsigned max = (unsigned)atomic_load_explicit(&preload.max_fd, memory_order_relaxed);
        for (unsigned fd = first; fd <= last && fd <= max; fd++) {
            enum preload_owner who = preload_owner((int)fd);
            if (who == OWNER_STALE) preload_forget_stale((int)fd);
            if (who != OWNER_SYNACK) continue;
            if (flags & CLOSE_RANGE_CLOEXEC)
                synack_fcntl((int)fd, F_SETFD, FD_CLOEXEC);
            else
                synack_close((int)fd);
        }
    }
    return REAL(close_range)(first, last, flags);
}

/* ---- duplicates ----------------------------------------------------------------------------- */

/* dup of a synack socket: two descriptors of one socket are not supported. */
static int refuse_dup(int fd, const char *call)
{
    preload_say("%s(%d): a synack socket cannot be duplicated (EOPNOTSUPP)", call, fd);
    errno = EOPNOTSUPP;
    return -1;
}

int dup(int fd)
{
    ROUTE(fd, "dup", refuse_dup(fd, "dup"), REAL(dup)(fd));
}

/* dup2 and dup3 close `to` silently: a synack socket there is closed first, a kernel
 * descriptor's epoll registrations forgotten. */
static void release_target(int fd, int to)
{
    if (fd == to) return;
    enum preload_owner who = preload_owner(to);
    if (who == OWNER_SYNACK) synack_close(to);
    if (who == OWNER_STALE) preload_forget_stale(to);
    if (who != OWNER_SYNACK) preload_kernel_closed(to);
}

int dup2(int fd, int to)
{
    if (preload_owner(fd) == OWNER_SYNACK) return fd == to ? to : refuse_dup(fd, "dup2");
    if (preload_owner(fd) == OWNER_STALE) return preload_stale(fd, "dup2");
    release_target(fd, to);
    return REAL(dup2)(fd, to);
}

int dup3(int fd, int to, int flags)
{
    if (preload_owner(fd) == OWNER_SYNACK && fd != to) return refuse_dup(fd, "dup3");
    if (preload_owner(fd) == OWNER_STALE) return preload_stale(fd, "dup3");
    release_target(fd, to);
    return REAL(dup3)(fd, to, flags);
}

/* ---- control ------------------------------------------------------------------------------- */

/* fcntl on a synack socket: F_DUPFD duplicates (refused), the rest is synack's. */
static int synack_fcntl_arg(int fd, int cmd, void *arg, const char *call)
{
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) return refuse_dup(fd, call);
    return synack_fcntl(fd, cmd, (int)(intptr_t)arg);
}

/* The one argument of a variadic call, read as glibc reads it (preload/real.c). */
#define VARIADIC_ARG(last, arg)                                                                    \
    void *arg;                                                                                     \
    do {                                                                                           \
        va_list ap;                                                                                \
        va_start(ap, last);                                                                        \
        arg = va_arg(ap, void *);                                                                  \
        va_end(ap);                                                                                \
    } while (0)

int fcntl(int fd, int cmd, ...)
{
    VARIADIC_ARG(cmd, arg);
    ROUTE(fd, "fcntl", synack_fcntl_arg(fd, cmd, arg, "fcntl"), REAL(fcntl)(fd, cmd, arg));
}

int fcntl64(int fd, int cmd, ...)
{
    VARIADIC_ARG(cmd, arg);
    ROUTE(fd, "fcntl", synack_fcntl_arg(fd, cmd, arg, "fcntl"), REAL(fcntl64)(fd, cmd, arg));
}

int ioctl(int fd, unsigned long request, ...)
{
    VARIADIC_ARG(request, arg);
    ROUTE(fd, "ioctl", synack_ioctl(fd, request, arg), REAL(ioctl)(fd, request, arg));
}

/* fstat of a synack socket: the eventfd's, typed as a socket (S_ISSOCK), as programs that
 * check what a descriptor is expect. */
int fstat(int fd, struct stat *st)
{
    enum preload_owner who = preload_owner(fd);
    int rc = REAL(fstat)(fd, st);
    if (rc == 0 && who == OWNER_SYNACK) st->st_mode = (st->st_mode & ~(mode_t)S_IFMT) | S_IFSOCK;
    return rc;
}

int fstat64(int fd, struct stat64 *st)
{
    enum preload_owner who = preload_owner(fd);
    int rc = REAL(fstat64)(fd, st);
    if (rc == 0 && who == OWNER_SYNACK) st->st_mode = (st->st_mode & ~(mode_t)S_IFMT) | S_IFSOCK;
    return rc;
}

/* ---- sendfile ------------------------------------------------------------------------------ */

#define SENDFILE_CHUNK 32768 /* bytes read from the file per write to the socket */

/* sendfile to a synack socket: the file read in chunks and written. Its offset (`*off`, or
 * the file's own) advances by what the socket took. */
static ssize_t sendfile_synack(int out, int in, off64_t *off, size_t n)
{
    off64_t pos = off ? *off : lseek64(in, 0, SEEK_CUR);
    if (pos < 0) return -1;
    char buf[SENDFILE_CHUNK];
    size_t done = 0;
    while (done < n) {
        size_t want = n - done < sizeof buf ? n - done : sizeof buf;
        ssize_t got = pread64(in, buf, want, pos);
        if (got <= 0) {
            if (got < 0 && done == 0) return -1;
            break;
        }
        ssize_t put = synack_write(out, buf, (size_t)got);
        if (put <= 0) {
            if (done == 0) return put;
            break;
        }
        done += (size_t)put;
        pos += put;
        if (put < got) break;
    }
    if (off)
        *off = pos;
    else
        lseek64(in, pos, SEEK_SET);
    return (ssize_t)done;
}

_Static_assert(sizeof(off_t) == sizeof(off64_t), "off_t is 64 bits (LP64)");

ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
    if (preload_owner(in) == OWNER_SYNACK) return errno = EINVAL, -1; /* not a file */
    ROUTE(out, "sendfile", sendfile_synack(out, in, (off64_t *)off, n),
          REAL(sendfile)(out, in, off, n));
}

ssize_t sendfile64(int out, int in, off64_t *off, size_t n)
{
    if (preload_owner(in) == OWNER_SYNACK) return errno = EINVAL, -1;
    ROUTE(out, "sendfile", sendfile_synack(out, in, off, n), REAL(sendfile64)(out, in, off, n));
}

/* ---- the fortified reads (_FORTIFY_SOURCE): the bound checked by libc first ---------------- */

ssize_t __read_chk(int fd, void *b, size_t n, size_t cap)
{
    if (n > cap) return REAL(__read_chk)(fd, b, n, cap); /* aborts: a buffer overflow */
    ROUTE(fd, "read", synack_read(fd, b, n), REAL(__read_chk)(fd, b, n, cap));
}

ssize_t __recv_chk(int fd, void *b, size_t n, size_t cap, int flags)
{
    if (n > cap) return REAL(__recv_chk)(fd, b, n, cap, flags);
    ROUTE(fd, "recv", synack_recv(fd, b, n, flags), REAL(__recv_chk)(fd, b, n, cap, flags));
}

ssize_t __recvfrom_chk(int fd, void *b, size_t n, size_t cap, int flags, __SOCKADDR_ARG a,
                       socklen_t *len)
{
    if (n > cap) return REAL(__recvfrom_chk)(fd, b, n, cap, flags, a, len);
    ROUTE(fd, "recvfrom", synack_recvfrom(fd, b, n, flags, SA(a), len),
          REAL(__recvfrom_chk)(fd, b, n, cap, flags, a, len));
}
