/*
 * The engine of `synack http`: an HTTP/1.1 static file server on a synack stack.
 *
 * It knows nothing of event loops, links or clocks. The caller owns the stack and drives
 * the engine with two calls per turn:
 *   - httpd_on_event() for every event the stack queues (synack_stack_next_event), and
 *   - httpd_pump() after them: accepts, reads requests, parses them, sends responses as
 *     far as the send buffers take them, expires idle connections, releases closed ones.
 * httpd_next_deadline() says when the engine next needs a pump without any event (one
 * of the timeouts below); `now` is only ever what the caller passes in. The engine reads
 * files itself (openat/openat2, pread, fstat).
 *
 * What it serves (RFC 9110, RFC 9112):
 *   - GET and HEAD of regular files under `root`; a directory serves its index.html;
 *     Content-Length always (no chunked coding), Content-Type from the extension.
 *   - Persistent connections: HTTP/1.1 keeps the connection unless "Connection: close";
 *     HTTP/1.0 closes unless "Connection: keep-alive". Pipelined requests are answered
 *     in order. After the last response the engine half-closes and reads (discarding)
 *     until the client's FIN, so unread input never turns the close into a RST
 *     (RFC 9112 §9.6); that linger is bounded (below).
 *   - Slow clients cannot hold a connection with a byte now and then (each byte would
 *     otherwise restart the idle timeout): a request's header block (and a body it skips)
 *     must arrive within request_timeout of its first byte, or it gets 408 and the
 *     connection closes (RFC 9110 §15.5.9); a lingering connection is reset once
 *     linger_timeout has passed since its FIN was acknowledged (the client has the whole
 *     response) or once it has sent more than HTTPD_LINGER_DROP_MAX bytes to drop.
 *   - 400 for a malformed request line or header, a missing or repeated Host in
 *     HTTP/1.1, a bad percent-encoding, an encoded '/' or NUL, a ".." segment, or a
 *     header block larger than HTTPD_REQUEST_MAX; 403 when the file cannot be read;
 *     404 when it does not exist, is not a regular file or is a symlink leaving `root`;
 *     405 with "Allow: GET, HEAD" for every other method (a Content-Length body is
 *     skipped, or the connection closed when it is larger than HTTPD_BODY_SKIP_MAX);
 *     501 for a Transfer-Encoding; 505 for an HTTP major version other than 1.
 *     Errors that leave the framing in doubt (400, 501, 505) close the connection.
 *   - No path leaves `root`: ".." segments are refused before any file system call, and
 *     the file is opened relative to a descriptor of `root` either with openat2
 *     RESOLVE_BENEATH (symlinks inside `root` work, any that lead out fail) or, when
 *     `symlinks` is off or the kernel lacks openat2, component by component with
 *     O_NOFOLLOW (no symlink is followed at all).
 *
 * Memory: one HTTPD_REQUEST_MAX input buffer and a small header buffer per connection,
 * one 64 KiB file buffer for the whole server. File data is read straight into it and
 * handed to synack_tcp_send in pieces sized to the room the send buffer has.
 */
#ifndef SYNACK_HTTPD_H
#define SYNACK_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synack/synack.h"

#define HTTPD_REQUEST_MAX 8192           /* bytes of request line + headers, CRLFs included */
#define HTTPD_BODY_SKIP_MAX (1u << 20)   /* request bodies up to this are read and dropped */
#define HTTPD_FILE_CHUNK (64u * 1024u)   /* file bytes read per preadv, into the send buffer */
#define HTTPD_LINGER_DROP_MAX (1u << 20) /* bytes dropped while lingering before a reset */

struct httpd;

/* One line of the access log, handed to httpd_config.log when a response starts. */
struct httpd_log_entry {
    struct synack_addr addr; /* the client */
    uint16_t port;
    const char *method; /* "GET", or "-" when the request line could not be parsed */
    const char *target; /* the request-target as sent (cut at 200 bytes), or "-" */
    int status;         /* 200, 400, ... */
    uint64_t length;    /* Content-Length of the response */
};

struct httpd_config {
    const char *root;              /* the directory served (required; must exist) */
    uint16_t port;                 /* listening port (80) */
    enum synack_family family;     /* whose addresses the listener takes: SYNACK_AF_NONE (the
                                      default) every address of the stack, IPv4 and IPv6;
                                      SYNACK_AF_INET or _INET6 only that family's */
    unsigned backlog;              /* listen backlog (128) */
    size_t max_conns;              /* connections served at once; more are reset (1024) */
    synack_time_t idle_timeout;    /* a connection with no progress either way for this long
                                      is closed, or reset if it is mid-response or already
                                      closing (60 s; 0: never) */
    synack_time_t request_timeout; /* a request line + headers (and a body to skip) must be
                                      in this long after their first byte, else 408 and
                                      close (20 s; 0: never) */
    synack_time_t linger_timeout;  /* a lingering connection is reset this long after our
                                      FIN was acknowledged (10 s; 0: never) */
    bool symlinks;                 /* follow symlinks that stay inside root (true; needs openat2) */
    /* Added to `now` to get nanoseconds since the Unix epoch for the Date header
     * (RFC 9110 §6.6.1); 0 (the default): no clock, no Date header. */
    synack_time_t epoch_offset;
    /* Called once per response as it starts; NULL: no log. */
    void (*log)(void *ctx, const struct httpd_log_entry *entry);
    /* Called for every connection taken from the listener and kept (for naming it in a
     * log); it must not close, abort or send on it. NULL: not called. */
    void (*on_accept)(void *ctx, struct synack_tcp *t);
    void *log_ctx; /* passed to log and on_accept */
};

/* Counters of one server (all monotonically increasing, except open_conns). */
struct httpd_stats {
    uint64_t accepted; /* connections taken from the listener */
    uint64_t refused;  /* connections reset because max_conns were open */
    uint64_t requests; /* responses started, errors included */
    uint64_t status_2xx, status_4xx, status_5xx;
    uint64_t bytes_sent;       /* response bytes (headers and bodies) the stack took */
    uint64_t timeouts;         /* connections closed or reset by idle_timeout */
    uint64_t request_timeouts; /* requests answered 408 by request_timeout */
    uint64_t linger_resets;    /* lingering connections reset (linger_timeout, or too
                                  many bytes to drop) */
    uint64_t resets;           /* connections the peer reset or the stack timed out */
    uint64_t open_conns;       /* connections held right now */
    uint64_t max_sending;      /* most connections with a response in progress at once */
};

/* Fills `cfg` with the defaults above; root is NULL and must be set. */
void httpd_config_default(struct httpd_config *cfg);

/* Opens `cfg->root`, listens on `cfg->port` of `stack` (the addresses of `cfg->family`)
 * and returns the server in `out`.
 * The stack must outlive the server. On failure `err` (optional) receives a sentence:
 * "cannot open root /srv: No such file or directory", "port 80: ...".
 * Errors: INVAL (NULL or bad config), IO (root is not an openable directory), NOMEM,
 * ADDRINUSE (the port has a listener). */
int httpd_new(struct httpd **out, struct synack_stack *stack, const struct httpd_config *cfg,
              char *err, size_t errcap);

/* Takes one event of the stack. Connections are recognised by conn_id, never by the
 * event's user pointer, so an event about a connection the engine has already released
 * is harmless. Cheap: the work happens in httpd_pump. */
void httpd_on_event(struct httpd *h, const struct synack_event *ev, synack_time_t now);

/* Does everything that can be done now: accepts waiting connections, reads and answers
 * requests, sends file data while the send buffers have room, acts on the timeouts
 * (idle, request, linger), releases finished ones. Call after the turn's events. */
void httpd_pump(struct httpd *h, synack_time_t now);

/* The next time httpd_pump has work without an event (a timeout), or SYNACK_NEVER. */
synack_time_t httpd_next_deadline(const struct httpd *h);

void httpd_stats(const struct httpd *h, struct httpd_stats *out);

/* Closes the listener, resets every open connection, closes files and frees the server.
 * The stack then still has the RSTs to send. NULL is allowed. */
void httpd_free(struct httpd *h, synack_time_t now);

/* ---- exposed for tests ------------------------------------------------------------------ */

/* Turns a request-target (origin-form "/a/b?q" or absolute-form "http://host/a/b") into
 * a path relative to the root ("a/b", "." for the root itself): the query is dropped,
 * percent-encoding decoded per segment, empty and "." segments removed. Returns 0, or 400
 * for a target that is neither form, a bad %XX, a decoded NUL or '/', a ".." segment, a
 * control character, or a result longer than `cap` - 1. */
int httpd_target_to_path(const char *target, size_t len, char *out, size_t cap);

/* The Content-Type for a file name, from its extension ("application/octet-stream" if
 * unknown). Never NULL. */
const char *httpd_content_type(const char *name);

#endif
