/* The engine of `synack http`: see httpd.h for the contract. */
#include "httpd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define HDR_MAX 512 /* status line, headers and an error body */
#define LOG_TARGET_MAX 200

/* ---- connections ------------------------------------------------------------------------- */

enum conn_phase {
    PHASE_REQUEST,  /* waiting for (the rest of) a request */
    PHASE_RESPONSE, /* headers and maybe a file body going out */
    PHASE_LINGER,   /* our FIN is queued; input is read and dropped until the peer's FIN */
};

/* The lists a connection can be on. Each is kept in order of `since` (appends carry the
 * `now` of the call, which never goes back), so the head of a timed list is the first to
 * expire and the next deadline is found in O(1) however many connections there are. */
enum conn_list_id {
    LIST_LRU,     /* every connection; since: its last progress (idle_timeout) */
    LIST_PENDING, /* to be serviced by the next pump; since unused */
    LIST_REQUEST, /* part of a request has arrived; since: its first byte (request_timeout) */
    LIST_LINGER,  /* lingering with our FIN acknowledged; since: that moment (linger_timeout) */
    LIST_COUNT
};

struct conn_link {
    struct conn *prev, *next;
    synack_time_t since;
    bool on;
};

struct conn_list {
    struct conn *head, *tail;
};

struct conn {
    struct synack_tcp *tcp;
    uint64_t id;
    struct synack_addr addr;
    uint16_t port;
    enum conn_phase phase;
    bool peer_eof;   /* recv returned 0: the client's FIN and all data before it were read */
    bool failed;     /* the stack reported ERROR or CLOSED: no more I/O, release */
    bool keep_alive; /* after the response in progress, wait for another request */
    struct conn_link link[LIST_COUNT]; /* its place on each of h->list */
    uint64_t body_skip;                /* bytes of a request body still to read and drop */
    uint64_t dropped;                  /* bytes read and dropped while lingering */
    /* The response in progress. */
    char hdr[HDR_MAX];
    size_t hdr_len, hdr_off;
    int fd; /* the file being sent, or -1 */
    uint64_t file_off, file_left;
    /* Request bytes received and not yet consumed. */
    size_t in_len;
    char in[HTTPD_REQUEST_MAX];
};

/* Connections by conn_id: open addressing, linear probing, backward-shift deletion. */
struct conn_map {
    struct conn **slot;
    size_t cap; /* a power of two, or 0 */
    size_t len;
};

struct httpd {
    struct synack_stack *stack;
    struct synack_listener *listener;
    struct httpd_config cfg;
    int rootfd;
    bool no_openat2; /* the kernel said ENOSYS once: walk with O_NOFOLLOW from then on */
    struct conn_map map;
    struct conn_list list[LIST_COUNT];
    uint64_t sending;
    struct httpd_stats st;
};

/* ---- the id map -------------------------------------------------------------------------- */

static size_t map_home(uint64_t id, size_t cap)
{
    return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static struct conn *map_get(const struct conn_map *m, uint64_t id)
{
    if (m->cap == 0) return NULL;
    for (size_t i = map_home(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slot[i]) return NULL;
        if (m->slot[i]->id == id) return m->slot[i];
    }
}

static void map_insert_slot(struct conn **slot, size_t cap, struct conn *c)
{
    size_t i = map_home(c->id, cap);
    while (slot[i])
        i = (i + 1) & (cap - 1);
    slot[i] = c;
}

/* Keeps the load at most one half. 0 or NOMEM. */
static int map_put(struct conn_map *m, struct conn *c)
{
    if (2 * (m->len + 1) > m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        struct conn **slot = calloc(cap, sizeof *slot);
        if (!slot) return SYNACK_ERR_NOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slot[i]) map_insert_slot(slot, cap, m->slot[i]);
        free(m->slot);
        m->slot = slot;
        m->cap = cap;
    }
    map_insert_slot(m->slot, m->cap, c);
    m->len++;
    return 0;
}

/* True if `k` lies cyclically in (i, j]. */
static bool map_is_between(size_t i, size_t k, size_t j)
{
    return i <= j ? (i < k && k <= j) : (i < k || k <= j);
}

static void map_del(struct conn_map *m, uint64_t id)
{
    if (m->cap == 0) return;
    size_t mask = m->cap - 1, i = map_home(id, m->cap);
    while (m->slot[i] && m->slot[i]->id != id)
        i = (i + 1) & mask;
    if (!m->slot[i]) return;
    m->slot[i] = NULL;
    m->len--;
    /* Move back every entry of the run that would no longer be found past the hole. */
    for (size_t j = (i + 1) & mask; m->slot[j]; j = (j + 1) & mask) {
        size_t home = map_home(m->slot[j]->id, m->cap);
        if (map_is_between(i, home, j)) continue;
        m->slot[i] = m->slot[j];
        m->slot[j] = NULL;
        i = j;
    }
}

/* ---- lists ------------------------------------------------------------------------------- */

static void list_remove(struct httpd *h, struct conn *c, enum conn_list_id k)
{
    struct conn_link *l = &c->link[k];
    if (!l->on) return;
    if (l->prev)
        l->prev->link[k].next = l->next;
    else
        h->list[k].head = l->next;
    if (l->next)
        l->next->link[k].prev = l->prev;
    else
        h->list[k].tail = l->prev;
    l->prev = l->next = NULL;
    l->on = false;
}

/* Puts `c` at the tail of list k (moving it there if it is on it already). */
static void list_append(struct httpd *h, struct conn *c, enum conn_list_id k, synack_time_t since)
{
    struct conn_link *l = &c->link[k];
    l->since = since;
    if (l->on && h->list[k].tail == c) return;
    list_remove(h, c, k);
    l->prev = h->list[k].tail;
    l->next = NULL;
    l->on = true;
    if (h->list[k].tail)
        h->list[k].tail->link[k].next = c;
    else
        h->list[k].head = c;
    h->list[k].tail = c;
}

/* The timeout of a timed list (0: never). */
static synack_time_t list_timeout(const struct httpd *h, enum conn_list_id k)
{
    switch (k) {
    case LIST_LRU:
        return h->cfg.idle_timeout;
    case LIST_REQUEST:
        return h->cfg.request_timeout;
    case LIST_LINGER:
        return h->cfg.linger_timeout;
    default:
        return 0;
    }
}

/* When the head of list k expires, or SYNACK_NEVER. */
static synack_time_t list_deadline(const struct httpd *h, enum conn_list_id k)
{
    synack_time_t t = list_timeout(h, k);
    const struct conn *c = h->list[k].head;
    if (!c || t == 0) return SYNACK_NEVER;
    return c->link[k].since > SYNACK_NEVER - t ? SYNACK_NEVER : c->link[k].since + t;
}

/* The head of list k if its timeout has passed at `now`, else NULL. */
static struct conn *list_expired(const struct httpd *h, enum conn_list_id k, synack_time_t now)
{
    return list_deadline(h, k) <= now ? h->list[k].head : NULL;
}

/* Progress either way: the idle timeout starts again. */
static void conn_touch(struct httpd *h, struct conn *c, synack_time_t now)
{
    list_append(h, c, LIST_LRU, now);
}

static void pending_add(struct httpd *h, struct conn *c)
{
    if (!c->link[LIST_PENDING].on) list_append(h, c, LIST_PENDING, 0);
}

/* ---- request parsing (RFC 9112 §2-§6) --------------------------------------------------- */

struct request {
    const char *method, *target;
    size_t method_len, target_len;
    unsigned minor;  /* HTTP/1.minor */
    bool line_ok;    /* method and target were parsed */
    bool conn_close; /* "Connection: close" */
    bool conn_keep;  /* "Connection: keep-alive" */
    unsigned hosts;  /* Host fields seen */
    bool te;         /* a Transfer-Encoding field */
    bool has_length; /* a Content-Length field */
    uint64_t length;
    int error; /* 0, or the status a malformed request gets */
};

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(unsigned char ch)
{
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
        return true;
    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool is_token(const char *s, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i])) return false;
    return true;
}

static bool is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

static void trim_ows(const char **s, size_t *n)
{
    while (*n > 0 && is_ows(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_ows((*s)[*n - 1]))
        (*n)--;
}

/* The line starting at `pos`: its length without CRLF (or bare LF, RFC 9112 §2.2) in
 * `*n`; returns the offset after the LF, or 0 if the line is not complete yet. */
static size_t next_line(const char *p, size_t len, size_t pos, size_t *n)
{
    const char *lf = memchr(p + pos, '\n', len - pos);
    if (!lf) return 0;
    *n = (size_t)(lf - (p + pos));
    if (*n > 0 && p[pos + *n - 1] == '\r') (*n)--;
    return (size_t)(lf - p) + 1;
}

/* RFC 9112 §3: method SP request-target SP HTTP-version, single spaces. */
static int parse_request_line(const char *s, size_t n, struct request *r)
{
    const char *sp1 = memchr(s, ' ', n);
    if (!sp1 || !is_token(s, (size_t)(sp1 - s))) return -1;
    const char *t = sp1 + 1, *end = s + n;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (!sp2 || sp2 == t) return -1;
    for (const char *q = t; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f) return -1;
    const char *v = sp2 + 1;
    /* RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive. */
    if (end - v != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9')
        return -1;
    r->method = s;
    r->method_len = (size_t)(sp1 - s);
    r->target = t;
    r->target_len = (size_t)(sp2 - t);
    r->minor = (unsigned)(v[7] - '0');
    r->line_ok = true;
    if (v[5] != '1') r->error = 505;
    return 0;
}

static bool token_list_has(const char *s, size_t n, const char *want)
{
    size_t wl = strlen(want);
    while (n > 0) {
        const char *comma = memchr(s, ',', n);
        size_t el = comma ? (size_t)(comma - s) : n;
        const char *e = s;
        size_t m = el;
        trim_ows(&e, &m);
        if (m == wl && strncasecmp(e, want, wl) == 0) return true;
        if (!comma) break;
        s += el + 1;
        n -= el + 1;
    }
    return false;
}

/* RFC 9110 §8.6: 1*DIGIT, or a list of identical values. 0 or -1. */
static int parse_content_length(const char *s, size_t n, struct request *r)
{
    if (n == 0) return -1;
    for (;;) {
        const char *comma = memchr(s, ',', n);
        size_t el = comma ? (size_t)(comma - s) : n;
        const char *e = s;
        size_t m = el;
        trim_ows(&e, &m);
        if (m == 0 || m > 15) return -1;
        uint64_t v = 0;
        for (size_t i = 0; i < m; i++) {
            if (e[i] < '0' || e[i] > '9') return -1;
            v = v * 10 + (uint64_t)(e[i] - '0');
        }
        if (r->has_length && r->length != v) return -1;
        r->has_length = true;
        r->length = v;
        if (!comma) break;
        s += el + 1;
        n -= el + 1;
    }
    return 0;
}

/* RFC 9112 §5: field-name ":" OWS field-value OWS. 0 or -1. */
static int parse_header(const char *s, size_t n, struct request *r)
{
    if (is_ows(s[0])) return -1; /* RFC 9112 §5.2: obs-fold is rejected */
    const char *colon = memchr(s, ':', n);
    /* RFC 9112 §5.1: no whitespace between the name and the colon. */
    if (!colon || !is_token(s, (size_t)(colon - s))) return -1;
    size_t name_len = (size_t)(colon - s);
    const char *v = colon + 1;
    size_t vn = n - name_len - 1;
    for (size_t i = 0; i < vn; i++) {
        unsigned char ch = (unsigned char)v[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return -1; /* CR, NUL, ... */
    }
    trim_ows(&v, &vn);
    if (name_len == 4 && strncasecmp(s, "host", 4) == 0) {
        r->hosts++;
    } else if (name_len == 10 && strncasecmp(s, "connection", 10) == 0) {
        if (token_list_has(v, vn, "close")) r->conn_close = true;
        if (token_list_has(v, vn, "keep-alive")) r->conn_keep = true;
    } else if (name_len == 14 && strncasecmp(s, "content-length", 14) == 0) {
        return parse_content_length(v, vn, r);
    } else if (name_len == 17 && strncasecmp(s, "transfer-encoding", 17) == 0) {
        r->te = true;
    }
    return 0;
}

/* Rules that need the whole header block. */
static void request_check(struct request *r)
{
    if (r->error) return;
    /* RFC 9112 §3.2: a 1.1 request without exactly one Host, or any with several, is 400. */
    if (r->hosts > 1 || (r->minor >= 1 && r->hosts != 1)) r->error = 400;
    /* RFC 9112 §6.3: Transfer-Encoding with Content-Length is 400; a transfer coding we
     * do not implement is 501 (RFC 9112 §6.1). Both close the connection. */
    else if (r->te)
        r->error = r->has_length ? 400 : 501;
}

/* Parses the header block at the start of `p`. Returns 0 when it is not complete yet,
 * or the number of bytes it takes (through the empty line) with r->error set if it is
 * malformed; a malformed line found before the end takes everything (`len`). */
static size_t parse_request(const char *p, size_t len, struct request *r)
{
    memset(r, 0, sizeof *r);
    size_t n, next = next_line(p, len, 0, &n);
    if (!next) return 0;
    if (parse_request_line(p, n, r) < 0) {
        r->error = 400;
        return len;
    }
    for (size_t pos = next;; pos = next) {
        next = next_line(p, len, pos, &n);
        if (!next) return 0;
        if (n == 0) break;
        if (parse_header(p + pos, n, r) < 0) {
            r->error = 400;
            return len;
        }
    }
    request_check(r);
    return next;
}

/* ---- targets, paths and files ------------------------------------------------------------ */

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Decodes one segment into `out` (at most NAME_MAX bytes). Its length, or -1. */
static int decode_segment(const char *s, size_t n, char *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '%') {
            if (i + 2 >= n) return -1;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            ch = (unsigned char)(hi * 16 + lo);
            i += 2;
            if (ch == 0 || ch == '/') return -1; /* a NUL, or a '/' hidden from the split */
        } else if (ch <= 0x20 || ch >= 0x7f || ch == '#') {
            return -1;
        }
        if (m == NAME_MAX) return -1;
        out[m++] = (char)ch;
    }
    return (int)m;
}

int httpd_target_to_path(const char *target, size_t len, char *out, size_t cap)
{
    if (!target || !out || cap < 2) return 400;
    const char *p = target, *end = target + len;
    if (len >= 7 && strncasecmp(p, "http://", 7) == 0) {
        /* RFC 9112 §3.2.2 absolute-form: the path is what follows the authority. */
        p += 7;
        while (p < end && *p != '/' && *p != '?')
            p++;
        if (p == target + 7) return 400;
        if (p == end || *p == '?') p = end; /* "http://host" is the root */
    } else if (len == 0 || *p != '/') {
        return 400; /* asterisk-form, authority-form, or nothing */
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    if (q) end = q;
    size_t m = 0;
    char seg[NAME_MAX + 1];
    while (p < end) {
        if (*p == '/') {
            p++;
            continue;
        }
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *se = slash ? slash : end;
        int sl = decode_segment(p, (size_t)(se - p), seg);
        p = se;
        if (sl < 0) return 400;
        if (sl == 1 && seg[0] == '.') continue;
        if (sl == 2 && seg[0] == '.' && seg[1] == '.') return 400; /* no way up */
        if (m + (m ? 1 : 0) + (size_t)sl + 1 > cap) return 400;
        if (m) out[m++] = '/';
        memcpy(out + m, seg, (size_t)sl);
        m += (size_t)sl;
    }
    if (m == 0) out[m++] = '.';
    out[m] = '\0';
    return 0;
}

const char *httpd_content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"txt", "text/plain; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"xml", "application/xml"},
        {"csv", "text/csv; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"svg", "image/svg+xml"},
        {"ico", "image/vnd.microsoft.icon"},
        {"pdf", "application/pdf"},
        {"wasm", "application/wasm"},
        {"mp4", "video/mp4"},
        {"webm", "video/webm"},
        {"mp3", "audio/mpeg"},
        {"woff2", "font/woff2"},
        {"gz", "application/gzip"},
        {"tar", "application/x-tar"},
        {"zip", "application/zip"},
    };
    const char *dot = name ? strrchr(name, '.') : NULL;
    const char *slash = name ? strrchr(name, '/') : NULL;
    if (dot && (!slash || dot > slash)) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0) return types[i].type;
    }
    return "application/octet-stream";
}

/* Opens `rel` (validated: no "..", no empty segment) below the root, component by
 * component, following no symlink. A descriptor, or -errno. */
static int open_walk(int rootfd, const char *rel, int flags)
{
    int dir = rootfd;
    const char *p = rel;
    char seg[NAME_MAX + 1];
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash) break;
        size_t n = (size_t)(slash - p);
        if (n > NAME_MAX) n = NAME_MAX;
        memcpy(seg, p, n);
        seg[n] = '\0';
        int fd = openat(dir, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        if (dir != rootfd) close(dir);
        if (fd < 0) return -e;
        dir = fd;
        p = slash + 1;
    }
    int fd = openat(dir, p, flags | O_NOFOLLOW);
    int e = errno;
    if (dir != rootfd) close(dir);
    return fd < 0 ? -e : fd;
}

/* Opens `rel` so that it cannot resolve outside the root. A descriptor, or -errno. */
static int open_beneath(struct httpd *h, const char *rel)
{
    int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
    if (h->cfg.symlinks && !h->no_openat2) {
        struct open_how how = {.flags = (uint64_t)flags,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
        long fd = syscall(SYS_openat2, h->rootfd, rel, &how, sizeof how);
        if (fd >= 0) return (int)fd;
        if (errno != ENOSYS) return -errno;
        h->no_openat2 = true;
    }
    return open_walk(h->rootfd, rel, flags);
}

static int status_of_errno(int e)
{
    switch (e) {
    case EACCES:
    case EPERM:
        return 403;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
        return 503;
    default: /* ENOENT, ENOTDIR, ELOOP (a symlink), EXDEV (one leading out), ... */
        return 404;
    }
}

/* Opens the regular file `rel` names (a directory: its index.html). The descriptor with
 * `*size` and `*type` set, or -status. */
static int open_file(struct httpd *h, const char *rel, uint64_t *size, const char **type)
{
    char path[PATH_MAX];
    const char *name = rel;
    int fd = open_beneath(h, rel);
    struct stat st;
    for (int round = 0; fd >= 0; round++) {
        if (fstat(fd, &st) < 0) {
            close(fd);
            return -500;
        }
        if (S_ISREG(st.st_mode)) {
            *size = (uint64_t)st.st_size;
            *type = httpd_content_type(name);
            return fd;
        }
        close(fd);
        if (!S_ISDIR(st.st_mode) || round > 0) return -404;
        int n = strcmp(rel, ".") == 0 ? snprintf(path, sizeof path, "index.html")
                                      : snprintf(path, sizeof path, "%s/index.html", rel);
        if (n < 0 || (size_t)n >= sizeof path) return -404;
        name = path;
        fd = open_beneath(h, path);
    }
    return -status_of_errno(-fd);
}

/* ---- responses --------------------------------------------------------------------------- */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Internal Server Error";
    }
}

/* RFC 9110 §5.6.7 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT". */
static void format_date(char *out, size_t cap, uint64_t unix_seconds)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        out[0] = '\0';
        return;
    }
    snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void log_response(struct httpd *h, const struct conn *c, const struct request *r, int status,
                         uint64_t length)
{
    if (!h->cfg.log) return;
    char method[32] = "-", target[LOG_TARGET_MAX + 1] = "-";
    if (r && r->line_ok) {
        size_t m = r->method_len < sizeof method - 1 ? r->method_len : sizeof method - 1;
        memcpy(method, r->method, m);
        method[m] = '\0';
        size_t t = r->target_len < LOG_TARGET_MAX ? r->target_len : LOG_TARGET_MAX;
        memcpy(target, r->target, t);
        target[t] = '\0';
    }
    struct httpd_log_entry e = {.addr = c->addr,
                                .port = c->port,
                                .method = method,
                                .target = target,
                                .status = status,
                                .length = length};
    h->cfg.log(h->cfg.log_ctx, &e);
}

/* Writes the status line and headers into c->hdr; `body` (may be NULL) follows them. */
static void conn_start_response(struct httpd *h, struct conn *c, const struct request *r,
                                int status, const char *type, uint64_t length, const char *body,
                                synack_time_t now)
{
    char date[64] = "";
    if (h->cfg.epoch_offset) {
        char d[48];
        format_date(d, sizeof d, (now + h->cfg.epoch_offset) / SYNACK_S(1));
        snprintf(date, sizeof date, "Date: %s\r\n", d);
    }
    const char *conn_hdr = "";
    if (!c->keep_alive)
        conn_hdr = "Connection: close\r\n";
    else if (r && r->minor == 0)
        conn_hdr = "Connection: keep-alive\r\n"; /* RFC 9112 §9.3: 1.0 keeps only if told */
    int n = snprintf(c->hdr, sizeof c->hdr,
                     "HTTP/1.1 %d %s\r\nServer: synack\r\n%sContent-Type: %s\r\n"
                     "Content-Length: %llu\r\n%s%s\r\n%s",
                     status, reason_phrase(status), date, type, (unsigned long long)length,
                     status == 405 ? "Allow: GET, HEAD\r\n" : "", conn_hdr, body ? body : "");
    c->hdr_len = n < 0 ? 0 : (size_t)n < sizeof c->hdr ? (size_t)n : sizeof c->hdr - 1;
    c->hdr_off = 0;
    c->phase = PHASE_RESPONSE;
    list_remove(h, c, LIST_REQUEST); /* the request is in: no request_timeout while answering */
    h->st.requests++;
    if (status < 300)
        h->st.status_2xx++;
    else if (status < 500)
        h->st.status_4xx++;
    else
        h->st.status_5xx++;
    if (++h->sending > h->st.max_sending) h->st.max_sending = h->sending;
    log_response(h, c, r, status, length);
}

static void conn_respond_error(struct httpd *h, struct conn *c, const struct request *r, int status,
                               bool head, synack_time_t now)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason_phrase(status));
    size_t len = n < 0 ? 0 : (size_t)n;
    conn_start_response(h, c, r, status, "text/plain; charset=utf-8", len, head ? NULL : body, now);
}

static bool is_method(const struct request *r, const char *m)
{
    return r->method_len == strlen(m) && memcmp(r->method, m, r->method_len) == 0;
}

/* Acts on one parsed request: chooses the status and starts the response. */
static void conn_handle_request(struct httpd *h, struct conn *c, const struct request *r,
                                synack_time_t now)
{
    bool head = r->line_ok && is_method(r, "HEAD");
    /* RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive". */
    c->keep_alive = r->line_ok && (r->minor >= 1 ? !r->conn_close : r->conn_keep && !r->conn_close);
    if (r->error) {
        c->keep_alive = false; /* the framing of what follows is in doubt */
        conn_respond_error(h, c, r, r->error, head, now);
        return;
    }
    if (r->has_length && r->length > 0) {
        if (r->length > HTTPD_BODY_SKIP_MAX)
            c->keep_alive = false; /* not worth reading: close after the response */
        else
            c->body_skip = r->length;
    }
    if (!head && !is_method(r, "GET")) {
        conn_respond_error(h, c, r, 405, false, now); /* RFC 9110 §15.5.6: with Allow */
        return;
    }
    char path[PATH_MAX];
    if (httpd_target_to_path(r->target, r->target_len, path, sizeof path) != 0) {
        c->keep_alive = false;
        conn_respond_error(h, c, r, 400, head, now);
        return;
    }
    uint64_t size = 0;
    const char *type = NULL;
    int fd = open_file(h, path, &size, &type);
    if (fd < 0) {
        conn_respond_error(h, c, r, -fd, head, now);
        return;
    }
    conn_start_response(h, c, r, 200, type, size, NULL, now);
    if (head || size == 0) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->file_off = 0;
    c->file_left = size;
}

/* ---- connection I/O ---------------------------------------------------------------------- */

/* Drops `n` bytes from the front of the input buffer. */
static void conn_consume(struct conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

/* RFC 9112 §2.2: empty lines before a request line are ignored. */
static void conn_skip_blank_lines(struct conn *c)
{
    size_t i = 0;
    while (i < c->in_len) {
        if (c->in[i] == '\n')
            i++;
        else if (c->in[i] == '\r' && i + 1 < c->in_len && c->in[i + 1] == '\n')
            i += 2;
        else
            break;
    }
    if (i) conn_consume(c, i);
}

/* Part of a request has arrived: it must all be in within request_timeout of its first
 * byte, however slowly it trickles (each byte is progress for the idle timeout). */
static void request_timer_start(struct httpd *h, struct conn *c, synack_time_t now)
{
    if (!c->link[LIST_REQUEST].on) list_append(h, c, LIST_REQUEST, now);
}

/* Drops up to `max` bytes of input where the stack holds them (synack_tcp_recv_borrow and
 * commit: nothing is copied to be thrown away). Returns how many, or what recv would. */
static synack_ssize drop_input(struct conn *c, uint64_t max, synack_time_t now)
{
    struct synack_piece p[2];
    synack_ssize n = synack_tcp_recv_borrow(c->tcp, p);
    if (n <= 0) return n;
    if ((uint64_t)n > max) n = (synack_ssize)max;
    synack_tcp_recv_commit(c->tcp, (size_t)n, now);
    return n;
}

/* Reads and drops request body bytes. 1 when all are gone, 0 to wait, -1 at EOF/error. */
static int conn_skip_body(struct httpd *h, struct conn *c, synack_time_t now)
{
    size_t n = c->body_skip < c->in_len ? (size_t)c->body_skip : c->in_len;
    conn_consume(c, n);
    c->body_skip -= n;
    while (c->body_skip > 0) {
        synack_ssize got = drop_input(c, c->body_skip, now);
        if (got == SYNACK_ERR_AGAIN) return 0;
        if (got <= 0) return -1;
        c->body_skip -= (uint64_t)got;
        conn_touch(h, c, now);
        request_timer_start(h, c, now);
    }
    return 1;
}

/* Fills the input buffer and parses. 1: a response was started; 0: wait for data;
 * -1: nothing more will come (EOF or error): release the connection. */
static int conn_read_request(struct httpd *h, struct conn *c, synack_time_t now)
{
    for (;;) {
        if (c->body_skip > 0) {
            int rc = conn_skip_body(h, c, now);
            if (rc <= 0) return rc;
        }
        conn_skip_blank_lines(c);
        if (c->in_len > 0) {
            struct request r;
            size_t used = parse_request(c->in, c->in_len, &r);
            if (used > 0) {
                conn_handle_request(h, c, &r, now);
                conn_consume(c, used);
                return 1;
            }
            if (c->in_len == sizeof c->in) { /* the header block does not fit */
                r.error = 400;
                conn_handle_request(h, c, &r, now);
                c->in_len = 0;
                return 1;
            }
        }
        if (c->peer_eof) return -1;
        synack_ssize n =
            synack_tcp_recv(c->tcp, (uint8_t *)c->in + c->in_len, sizeof c->in - c->in_len, now);
        if (n == SYNACK_ERR_AGAIN) return 0;
        if (n < 0) return -1;
        if (n == 0) {
            c->peer_eof = true;
            continue;
        }
        c->in_len += (size_t)n;
        conn_touch(h, c, now);
        request_timer_start(h, c, now);
    }
}

static void conn_sent(struct httpd *h, struct conn *c, size_t n, synack_time_t now)
{
    h->st.bytes_sent += n;
    conn_touch(h, c, now);
}

/* Sends what fits of the response. 1: all of it is queued; 0: wait for WRITABLE (a send
 * came up short, which is what arms the event); -1: the connection or the file failed. */
static int conn_send(struct httpd *h, struct conn *c, synack_time_t now)
{
    while (c->hdr_off < c->hdr_len) {
        synack_ssize n = synack_tcp_send(c->tcp, (const uint8_t *)c->hdr + c->hdr_off,
                                         c->hdr_len - c->hdr_off, now);
        if (n == SYNACK_ERR_AGAIN) return 0;
        if (n < 0) return -1;
        c->hdr_off += (size_t)n;
        conn_sent(h, c, (size_t)n, now);
        if (c->hdr_off < c->hdr_len) return 0;
    }
    while (c->file_left > 0) {
        /* The file is read straight into the send buffer's room (synack_tcp_send_borrow):
         * no copy through a buffer of our own. HTTPD_FILE_CHUNK at a time, so that one
         * connection's large buffer does not hold the others up. */
        struct synack_piece p[2];
        synack_ssize room = synack_tcp_send_borrow(c->tcp, p);
        if (room == SYNACK_ERR_AGAIN) return 0; /* full: WRITABLE follows */
        if (room < 0) return -1;
        uint64_t want = c->file_left < HTTPD_FILE_CHUNK ? c->file_left : HTTPD_FILE_CHUNK;
        struct iovec iov[2];
        int niov = 0;
        for (int k = 0; k < 2 && want > 0 && p[k].len > 0; k++) {
            size_t len = p[k].len < want ? p[k].len : (size_t)want;
            iov[niov++] = (struct iovec){.iov_base = p[k].data, .iov_len = len};
            want -= len;
        }
        ssize_t got = preadv(c->fd, iov, niov, (off_t)c->file_off);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1; /* the file shrank: the promised length cannot be kept */
        synack_ssize n = synack_tcp_send_commit(c->tcp, (size_t)got, now);
        if (n < 0) return -1;
        c->file_off += (uint64_t)n;
        c->file_left -= (uint64_t)n;
        conn_sent(h, c, (size_t)n, now);
    }
    return 1;
}

/* Our FIN (and so all the response) is acknowledged: FIN_WAIT_2, or TIME_WAIT. */
static bool conn_fin_acked(const struct conn *c)
{
    enum synack_state st = synack_tcp_state(c->tcp);
    return st == SYNACK_FIN_WAIT_2 || st == SYNACK_TIME_WAIT;
}

/* Reads and drops input after our FIN. 0 to wait; -1 at the peer's FIN or an error; -2
 * when more than HTTPD_LINGER_DROP_MAX bytes were dropped (the client is not closing).
 * Once our FIN is acknowledged the client has had the whole response, and linger_timeout
 * starts: a client trickling bytes would otherwise hold the connection for ever. */
static int conn_linger(struct httpd *h, struct conn *c, synack_time_t now)
{
    if (!c->link[LIST_LINGER].on && conn_fin_acked(c)) list_append(h, c, LIST_LINGER, now);
    for (;;) {
        synack_ssize n = drop_input(c, UINT64_MAX, now);
        if (n == SYNACK_ERR_AGAIN) return 0;
        if (n <= 0) return -1;
        c->dropped += (uint64_t)n;
        if (c->dropped > HTTPD_LINGER_DROP_MAX) return -2;
        conn_touch(h, c, now);
    }
}

/* Half-closes and lingers (RFC 9112 §9.6): reads and drops input until the client's FIN. */
static int conn_start_linger(struct httpd *h, struct conn *c, synack_time_t now)
{
    c->phase = PHASE_LINGER;
    list_remove(h, c, LIST_REQUEST);
    return synack_tcp_shutdown(c->tcp, now);
}

/* Takes the connection out of every structure and hands it back to the stack: gracefully
 * (queued data, then FIN) or with a RST. */
static void conn_release(struct httpd *h, struct conn *c, bool reset, synack_time_t now)
{
    if (c->phase == PHASE_RESPONSE) h->sending--;
    if (c->fd >= 0) close(c->fd);
    map_del(&h->map, c->id);
    for (int k = 0; k < LIST_COUNT; k++)
        list_remove(h, c, (enum conn_list_id)k);
    synack_tcp_set_user(c->tcp, NULL);
    if (reset)
        synack_tcp_abort(c->tcp, now);
    else
        synack_tcp_close(c->tcp, now);
    h->st.open_conns--;
    free(c);
}

/* The response is queued: wait for the next request, or half-close and linger. */
static int conn_finish_response(struct httpd *h, struct conn *c, synack_time_t now)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    h->sending--;
    if (c->keep_alive) {
        c->phase = PHASE_REQUEST;
        /* Part of the next request (pipelined), or a body to skip: its time runs now. */
        if (c->in_len > 0 || c->body_skip > 0) request_timer_start(h, c, now);
        return 0;
    }
    return conn_start_linger(h, c, now) < 0 ? -1 : 0;
}

/* Everything that can be done for `c` now; may release it. */
static void conn_service(struct httpd *h, struct conn *c, synack_time_t now)
{
    if (c->failed) {
        conn_release(h, c, false, now); /* CLOSED already: this frees it */
        return;
    }
    for (;;) {
        int rc;
        switch (c->phase) {
        case PHASE_REQUEST:
            rc = conn_read_request(h, c, now);
            if (rc < 0) conn_release(h, c, false, now);
            if (rc <= 0) return;
            break;
        case PHASE_RESPONSE:
            rc = conn_send(h, c, now);
            if (rc < 0) conn_release(h, c, true, now);
            if (rc <= 0) return;
            if (conn_finish_response(h, c, now) < 0) {
                conn_release(h, c, false, now);
                return;
            }
            break;
        case PHASE_LINGER:
            rc = conn_linger(h, c, now);
            if (rc == -2) h->st.linger_resets++;
            if (rc < 0) conn_release(h, c, rc == -2, now);
            return;
        }
    }
}

static void conn_accept(struct httpd *h, struct synack_tcp *t, synack_time_t now)
{
    struct synack_tcp_info info;
    struct conn *c = NULL;
    if (h->st.open_conns >= h->cfg.max_conns || !(c = malloc(sizeof *c))) {
        h->st.refused++;
        synack_tcp_abort(t, now);
        return;
    }
    memset(c, 0, offsetof(struct conn, in));
    c->tcp = t;
    c->id = synack_tcp_id(t);
    c->fd = -1;
    c->phase = PHASE_REQUEST;
    if (synack_tcp_info(t, &info) == 0) {
        c->addr = info.remote_addr;
        c->port = info.remote_port;
    }
    if (map_put(&h->map, c) < 0) {
        free(c);
        h->st.refused++;
        synack_tcp_abort(t, now);
        return;
    }
    synack_tcp_set_user(t, NULL);
    synack_tcp_set_nodelay(t, true); /* a response's tail goes out without waiting */
    conn_touch(h, c, now);
    h->st.accepted++;
    h->st.open_conns++;
    pending_add(h, c); /* its request may be waiting already */
    if (h->cfg.on_accept) h->cfg.on_accept(h->cfg.log_ctx, t);
}

/* The timeouts, each list's expired heads in turn:
 *   - request_timeout: RFC 9110 §15.5.9, 408 with "Connection: close", then the linger;
 *   - linger_timeout: a client that does not close after the whole response is reset;
 *   - idle_timeout, RFC 9112 §9.5: an idle keep-alive connection is closed gracefully (it
 *     lingers); one stuck mid-response or lingering is reset. */
static void expire_timers(struct httpd *h, synack_time_t now)
{
    struct conn *c;
    while ((c = list_expired(h, LIST_REQUEST, now)) != NULL) {
        list_remove(h, c, LIST_REQUEST);
        if (c->failed || c->phase != PHASE_REQUEST) continue; /* released by its pump */
        h->st.request_timeouts++;
        c->keep_alive = false;
        c->in_len = 0;
        c->body_skip = 0;
        conn_respond_error(h, c, NULL, 408, false, now);
        pending_add(h, c);
    }
    while ((c = list_expired(h, LIST_LINGER, now)) != NULL) {
        h->st.linger_resets++;
        conn_release(h, c, true, now);
    }
    while ((c = list_expired(h, LIST_LRU, now)) != NULL) {
        h->st.timeouts++;
        if (c->phase == PHASE_REQUEST && !c->failed && conn_start_linger(h, c, now) == 0)
            conn_touch(h, c, now);
        else
            conn_release(h, c, true, now);
    }
}

/* ---- the server -------------------------------------------------------------------------- */

void httpd_config_default(struct httpd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = 80;
    cfg->backlog = 128;
    cfg->max_conns = 1024;
    cfg->idle_timeout = SYNACK_S(60);
    cfg->request_timeout = SYNACK_S(20);
    cfg->linger_timeout = SYNACK_S(10);
    cfg->symlinks = true;
}

static void set_err(char *err, size_t errcap, const char *fmt, const char *a, const char *b)
{
    if (err && errcap) snprintf(err, errcap, fmt, a, b);
}

int httpd_new(struct httpd **out, struct synack_stack *stack, const struct httpd_config *cfg,
              char *err, size_t errcap)
{
    if (!out || !stack || !cfg || !cfg->root || cfg->max_conns == 0 || cfg->backlog == 0 ||
        cfg->port == 0) {
        set_err(err, errcap, "%s%s", "bad server configuration", "");
        return SYNACK_ERR_INVAL;
    }
    struct httpd *h = calloc(1, sizeof *h);
    if (!h) {
        set_err(err, errcap, "%s%s", "out of memory", "");
        return SYNACK_ERR_NOMEM;
    }
    h->stack = stack;
    h->cfg = *cfg;
    h->rootfd = open(cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (h->rootfd < 0) {
        set_err(err, errcap, "cannot open root %s: %s", cfg->root, strerror(errno));
        free(h);
        return SYNACK_ERR_IO;
    }
    h->cfg.root = NULL; /* not kept: the descriptor is the root from now on */
    /* The wildcard of a family, or of none: both families (synack_tcp_listen). */
    struct synack_endpoint local = {synack_addr_any(cfg->family), cfg->port};
    int rc = synack_tcp_listen(stack, &local, cfg->backlog, h, &h->listener);
    if (rc < 0) {
        char port[8];
        snprintf(port, sizeof port, "%u", (unsigned)cfg->port);
        set_err(err, errcap, "cannot listen on port %s: %s", port, synack_strerror(rc));
        close(h->rootfd);
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

void httpd_on_event(struct httpd *h, const struct synack_event *ev, synack_time_t now)
{
    (void)now;
    if (!h || !ev) return;
    struct conn *c;
    switch (ev->type) {
    case SYNACK_EV_READABLE:
    case SYNACK_EV_WRITABLE:
    case SYNACK_EV_PEER_CLOSED:
    case SYNACK_EV_ERROR:
    case SYNACK_EV_CLOSED:
    case SYNACK_EV_STATE:
        c = map_get(&h->map, ev->conn_id);
        if (!c) return;
        /* A state change matters only to a lingering connection: its FIN acknowledged
         * starts linger_timeout. */
        if (ev->type == SYNACK_EV_STATE && c->phase != PHASE_LINGER) return;
        if (ev->type == SYNACK_EV_ERROR) h->st.resets++;
        if (ev->type == SYNACK_EV_ERROR || ev->type == SYNACK_EV_CLOSED) c->failed = true;
        pending_add(h, c);
        return;
    default: /* ACCEPTABLE: every pump accepts; CONNECTED, CC: nothing to do */
        return;
    }
}

void httpd_pump(struct httpd *h, synack_time_t now)
{
    if (!h) return;
    struct synack_tcp *t;
    while (synack_tcp_accept(h->listener, &t) == 0)
        conn_accept(h, t, now);
    expire_timers(h, now);
    while (h->list[LIST_PENDING].head) {
        struct conn *c = h->list[LIST_PENDING].head;
        list_remove(h, c, LIST_PENDING);
        conn_service(h, c, now);
    }
}

synack_time_t httpd_next_deadline(const struct httpd *h)
{
    if (!h) return SYNACK_NEVER;
    synack_time_t t = list_deadline(h, LIST_LRU), r = list_deadline(h, LIST_REQUEST),
                  l = list_deadline(h, LIST_LINGER);
    if (r < t) t = r;
    return l < t ? l : t;
}

void httpd_stats(const struct httpd *h, struct httpd_stats *out)
{
    *out = h->st;
}

void httpd_free(struct httpd *h, synack_time_t now)
{
    if (!h) return;
    while (h->list[LIST_LRU].head)
        conn_release(h, h->list[LIST_LRU].head, true, now);
    synack_listener_close(h->listener, now);
    free(h->map.slot);
    close(h->rootfd);
    free(h);
}
