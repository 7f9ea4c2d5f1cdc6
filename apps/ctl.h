/*
 * The control socket of a running synack process (`synack cat`, `synack http`, `synack run`)
 * and its client, `synack ss`.
 *
 * Each process listens on an AF_UNIX stream socket PID.sock in a directory of the user's
 * own (ctl_dir: $SYNACK_CTL_DIR, else $XDG_RUNTIME_DIR/synack, else /tmp/synack-UID), made
 * mode 0700 and refused when it is someone else's or open to others. A client that
 * connects is checked (SO_PEERCRED: the same effective uid, or root), is sent one snapshot
 * of the process's sockets as text, and is closed; it sends nothing. The snapshot
 * (ctl_snapshot) is a header line, one line per socket, and "end":
 *
 *   synack-ctl 1 pid=4242 cmd=cat link=udp:127.0.0.1:9000,127.0.0.1:9001
 *   tcp state=ESTABLISHED local=198.18.0.1:5000 remote=198.18.0.2:49152 recvq=0 ...
 *   udp state=UNCONN local=0.0.0.0:53 remote=*:* recvq=0 ...
 *   end
 *
 * every field KEY=VALUE, values without spaces; "truncated" instead of "end" when the
 * snapshot outgrew CTL_SNAPSHOT_MAX. Writing never blocks the stack's loop: what the
 * client does not take at once is written as its socket drains, and a client that reads
 * nothing holds one of CTL_CLIENTS slots until a newer one needs it.
 */
#ifndef SYNACK_CTL_H
#define SYNACK_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "synack/synack.h"

#define CTL_SNAPSHOT_MAX (1u << 20) /* bytes of one snapshot, at most */
#define CTL_CLIENTS 4               /* clients being written to at once */
#define CTL_PATH_MAX 108            /* sun_path */
#define CTL_VERSION 1

/* The directory of this user's control sockets, into `out`. 0, or -1 (too long). */
int ctl_dir(char *out, size_t cap);

/* Whether `dir` may hold control sockets: a directory (not a link), owned by the effective
 * uid, mode 0700 (no bit for group or others). With `create`, a missing one is made
 * (mode 0700; its parent must exist). 0; -1 with errno ENOENT (missing, not created) or
 * another errno, and one line of why in `why`. */
int ctl_dir_check(const char *dir, bool create, char *why, size_t cap);

/* How the snapshot reaches the sockets: calls synack_stack_each_socket(stack, fn, ctx) on
 * the process's stack, under whatever lock it needs (socket/: synack_rt_each_socket). */
typedef int (*ctl_each_fn)(void *src, synack_sock_fn fn, void *ctx);
/* The ctl_each_fn of a stack the caller's thread owns: `src` is the struct synack_stack. */
int ctl_each_stack(void *src, synack_sock_fn fn, void *ctx);

/* Writes the snapshot of the sockets `each` walks into `buf` (`cap` bytes, at least 64):
 * the header of process `pid` running `cmd` over `link`, one line per socket (`now` the
 * stack's time, for TIME_WAIT's remaining time), "end" (or "truncated"). Returns its length. */
size_t ctl_snapshot(char *buf, size_t cap, int pid, const char *cmd, const char *link,
                    ctl_each_fn each, void *src, synack_time_t now);

struct ctl_server;

/* Tells the event loop about a client whose snapshot is still being written: `add` it for
 * writability, or remove it (it is closed right after). */
typedef void (*ctl_watch_fn)(void *ctx, int fd, bool add);

/* Listens on ctl_dir()/PID.sock for process `cmd` (its "cmd" field; "run (python3)") over
 * `link` (the --link text). Returns 0, or -1 with one line of why in `why` (the directory
 * is not ours, a path too long, a socket call failed): the caller goes on without. */
int ctl_server_open(struct ctl_server **out, const char *cmd, const char *link, char *why,
                    size_t cap);
/* Closes the clients and the socket, and removes the socket file (only in the process that
 * made it: not in a child of fork). NULL is ignored. */
void ctl_server_close(struct ctl_server *s);
/* The listening descriptor (non-blocking): poll it for reading. */
int ctl_server_fd(const struct ctl_server *s);
/* The socket file's path. */
const char *ctl_server_path(const struct ctl_server *s);
void ctl_server_set_watch(struct ctl_server *s, ctl_watch_fn fn, void *ctx);
/* Accepts the clients waiting: each of another user (not root) is closed at once; each
 * other gets the snapshot, as much as its socket takes now, the rest through the watch
 * (the oldest unfinished client is dropped when CTL_CLIENTS are). */
void ctl_server_accept(struct ctl_server *s, ctl_each_fn each, void *src, synack_time_t now);
/* Writes more to client `fd` (it polled writable); closes it when done or failed. */
void ctl_server_write(struct ctl_server *s, int fd);

/* The server on a thread of its own, for a stack behind a lock (`synack run`'s runtime):
 * `each` is called from that thread, `now_fn` gives the stack's time. 0, or -1 (why). */
struct ctl_thread;
int ctl_thread_start(struct ctl_thread **out, struct ctl_server *s, ctl_each_fn each, void *src,
                     synack_time_t (*now_fn)(void *src), char *why, size_t cap);
/* Stops the thread, then closes the server (ctl_server_close). NULL is ignored. */
void ctl_thread_stop(struct ctl_thread *t);
/* ctl_server_open and ctl_thread_start for a runtime of the socket layer (<synack/socket.h>:
 * the snapshot is taken under its lock, at its clock's time). 0, or -1 (why). */
struct synack_rt;
int ctl_thread_start_rt(struct ctl_thread **out, struct synack_rt *rt, const char *cmd,
                        const char *link, char *why, size_t cap);

/* ---- the client ---- */

/* Reads the snapshot of the process whose socket is `path`: connects, reads to the end (at
 * most CTL_SNAPSHOT_MAX bytes, `timeout_ms` in all) into a new NUL-terminated buffer.
 * 0; or -1 with errno: ECONNREFUSED / ENOENT (no process listens: a stale socket), EACCES
 * (not ours), ETIMEDOUT, EPROTO (no snapshot came: the server refused us), or another. */
int ctl_fetch(const char *path, int timeout_ms, char **text, size_t *len);

#endif
