/* `synack ss` (ss.h): find the control sockets, read each process's snapshot (ctl.h), show
 * it. What a snapshot holds is input like any other: lines and fields are bounded, a value
 * is printed only as the text it is (JSON-escaped), numbers only where they are digits. */
#include "ss.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

#define SS_FIELDS 64       /* fields of a line that are looked at */
#define SS_TIMEOUT_MS 2000 /* for one process to send its snapshot */
#define SS_MAX_PROCS 4096  /* sockets in the directory that are looked at */

struct ss_field {
    const char *key, *value;
};

/* One line of a snapshot, split in place: its first word and its KEY=VALUE fields. */
struct ss_line {
    const char *word;
    struct ss_field f[SS_FIELDS];
    size_t n;
};

static void split_line(char *line, struct ss_line *l)
{
    l->n = 0;
    l->word = "";
    char *save = NULL;
    for (char *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            if (!l->word[0]) l->word = tok;
            continue;
        }
        if (l->n == SS_FIELDS) continue;
        *eq = 0;
        l->f[l->n++] = (struct ss_field){tok, eq + 1};
    }
}

static const char *get(const struct ss_line *l, const char *key)
{
    for (size_t k = 0; k < l->n; k++)
        if (strcmp(l->f[k].key, key) == 0) return l->f[k].value;
    return NULL;
}

static const char *get_or(const struct ss_line *l, const char *key, const char *dflt)
{
    const char *v = get(l, key);
    return v ? v : dflt;
}

/* A field as a whole number (0 when absent or not one). */
static uint64_t num(const struct ss_line *l, const char *key)
{
    const char *v = get(l, key);
    if (!v || *v < '0' || *v > '9') return 0;
    return strtoull(v, NULL, 10);
}

/* ---- which sockets are shown ---- */

static bool ss_wants(const struct ss_opts *o, const struct ss_line *l)
{
    bool is_tcp = strcmp(l->word, "tcp") == 0, is_udp = strcmp(l->word, "udp") == 0;
    if (!is_tcp && !is_udp) return false;
    if ((o->tcp || o->udp) && !(is_tcp ? o->tcp : o->udp)) return false;
    const char *state = get_or(l, "state", "");
    bool listening = strcmp(state, "LISTEN") == 0 || strcmp(state, "UNCONN") == 0;
    if (o->listening) return listening;
    if (o->all) return true;
    /* As ss: connections, without listeners, TIME_WAIT and CLOSED. */
    return !listening && strcmp(state, "TIME_WAIT") != 0 && strcmp(state, "CLOSED") != 0;
}

/* ---- text ---- */

static void ms(FILE *out, uint64_t us)
{
    fprintf(out, "%" PRIu64 ".%03" PRIu64, us / 1000, us % 1000);
}

/* The second line of a connection: its TCP internals, units explicit (the legend ends the
 * output). */
static void text_details(FILE *out, const struct ss_line *l)
{
    const char *state = get_or(l, "state", "");
    if (strcmp(state, "LISTEN") == 0) {
        fprintf(out, "\t syn_queue:%" PRIu64 " backlog:%" PRIu64 "\n", num(l, "synq"),
                num(l, "sendq"));
        return;
    }
    if (strcmp(state, "TIME_WAIT") == 0) {
        fprintf(out, "\t timer:(timewait,%" PRIu64 "ms)\n", num(l, "timewait_left_ms"));
        return;
    }
    if (!get(l, "cc")) return; /* UDP */
    uint64_t mss = num(l, "mss"), cwnd = num(l, "cwnd_bytes");
    fprintf(out, "\t %s %s%s rtt:", get_or(l, "cc", "?"), get_or(l, "phase", "?"),
            num(l, "orphan") ? " orphan" : "");
    ms(out, num(l, "srtt_us"));
    fputc('/', out);
    ms(out, num(l, "rttvar_us"));
    fputs("ms min_rtt:", out);
    ms(out, num(l, "min_rtt_us"));
    fputs("ms rto:", out);
    ms(out, num(l, "rto_us"));
    fprintf(out, "ms mss:%" PRIu64 "B cwnd:%" PRIu64 "seg(%" PRIu64 "B)", mss, mss ? cwnd / mss : 0,
            cwnd);
    if (get(l, "ssthresh_bytes"))
        fprintf(out, " ssthresh:%" PRIu64 "seg(%" PRIu64 "B)",
                mss ? num(l, "ssthresh_bytes") / mss : 0, num(l, "ssthresh_bytes"));
    fprintf(
        out,
        " retrans:%" PRIu64 "/%" PRIu64 " bytes_in_flight:%" PRIu64 "B bytes_sent:%" PRIu64
        "B bytes_received:%" PRIu64 "B bytes_acked:%" PRIu64 "B segs_out:%" PRIu64
        " segs_in:%" PRIu64 " snd_wnd:%" PRIu64 "B rcv_wnd:%" PRIu64 "B pmtu:%" PRIu64 "B opts:%s",
        num(l, "retrans"), num(l, "retrans_total"), num(l, "unacked_bytes"), num(l, "bytes_sent"),
        num(l, "bytes_received"), num(l, "bytes_acked"), num(l, "segs_out"), num(l, "segs_in"),
        num(l, "snd_wnd"), num(l, "rcv_wnd"), num(l, "pmtu"), get_or(l, "opts", "-"));
    /* ss -m's skmem: rb the receive buffer's size, tb the send buffer's */
    if (get(l, "rcvbuf_bytes"))
        fprintf(out, " skmem:(rb%" PRIu64 ",tb%" PRIu64 ")", num(l, "rcvbuf_bytes"),
                num(l, "sndbuf_bytes"));
    if (get(l, "err")) fprintf(out, " error:%s", get(l, "err"));
    fputc('\n', out);
}

static void text_header(FILE *out, const struct ss_line *hdr)
{
    fprintf(out, "synack process %s (%s) on %s\n", get_or(hdr, "pid", "?"), get_or(hdr, "cmd", "?"),
            get_or(hdr, "link", "?"));
    fprintf(out, "%-5s %-12s %6s %6s %-40s %s\n", "Netid", "State", "Recv-Q", "Send-Q",
            "Local Address:Port", "Peer Address:Port");
}

static void text_sock(FILE *out, const struct ss_line *l)
{
    fprintf(out, "%-5s %-12s %6s %6s %-40s %s\n", l->word, get_or(l, "state", "?"),
            get_or(l, "recvq", "?"), get_or(l, "sendq", "?"), get_or(l, "local", "?"),
            get_or(l, "remote", "?"));
    text_details(out, l);
}

/* ---- JSON ---- */

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(out, "\\u%04x", *p); /* bytes, not code points: the fields are ASCII */
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* A decimal number as JSON allows it (no sign, no leading zero, at most 19 digits), or a
 * string. */
static void json_value(FILE *out, const char *v)
{
    size_t n = strspn(v, "0123456789");
    if (n > 0 && n <= 19 && v[n] == 0 && (v[0] != '0' || n == 1))
        fputs(v, out);
    else
        json_string(out, v);
}

static void json_fields(FILE *out, const struct ss_line *l)
{
    for (size_t k = 0; k < l->n; k++) {
        fputs(", ", out);
        json_string(out, l->f[k].key);
        fputs(": ", out);
        json_value(out, l->f[k].value);
    }
}

/* ---- one process ---- */

struct ss_state {
    const struct ss_opts *o;
    FILE *out;
    size_t shown; /* processes shown */
    bool details; /* a second line was printed: the legend goes at the end */
};

/* Shows a snapshot; false when it is not one. */
static bool ss_show(struct ss_state *st, char *text)
{
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    struct ss_line hdr, l;
    if (!line || strncmp(line, "synack-ctl ", 11) != 0) return false;
    split_line(line, &hdr);
    FILE *out = st->out;
    if (st->o->json) {
        fputs(st->shown ? ",\n  {" : "[\n  {", out);
        fprintf(out, "\"version\": %d", CTL_VERSION);
        json_fields(out, &hdr);
        fputs(", \"sockets\": [", out);
    } else {
        if (st->shown) fputc('\n', out);
        text_header(out, &hdr);
    }
    st->shown++;
    size_t n = 0;
    bool ended = false;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        if (strcmp(line, "end") == 0 || strcmp(line, "truncated") == 0) {
            ended = strcmp(line, "end") == 0;
            break;
        }
        split_line(line, &l);
        if (!ss_wants(st->o, &l)) continue;
        if (st->o->json) {
            fputs(n ? ",\n    {" : "\n    {", out);
            fputs("\"netid\": ", out);
            json_string(out, l.word);
            json_fields(out, &l);
            fputc('}', out);
        } else {
            text_sock(out, &l);
            st->details |= get(&l, "cc") != NULL;
        }
        n++;
    }
    if (st->o->json)
        fprintf(out, "%s], \"complete\": %s}", n ? "\n  " : "", ended ? "true" : "false");
    else if (!ended)
        fputs("(the list is cut short: the process had more than its snapshot holds)\n", out);
    return true;
}

/* Is process `pid` alive (as far as we can tell: another user's counts)? */
static bool alive(long pid)
{
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Reads and shows process `pid` (its socket `path`). 0 shown; 1 gone (stale socket
 * removed); -1 after printing why. */
static int ss_one(struct ss_state *st, long pid, const char *path)
{
    char *text;
    size_t len;
    if (!alive(pid)) {
        (void)unlink(path);
        return 1;
    }
    if (ctl_fetch(path, SS_TIMEOUT_MS, &text, &len) < 0) {
        int err = errno;
        if (err == ECONNREFUSED || err == ENOENT) {
            if (!alive(pid)) (void)unlink(path);
            return 1;
        }
        if (err == EACCES || err == EPROTO)
            fprintf(stderr,
                    "synack ss: process %ld: permission denied (its control socket "
                    "belongs to another user)\n",
                    pid);
        else
            fprintf(stderr, "synack ss: process %ld: %s\n", pid, strerror(err));
        return -1;
    }
    bool ok = ss_show(st, text);
    free(text);
    if (!ok)
        fprintf(stderr, "synack ss: process %ld: %s is not a synack control socket\n", pid, path);
    return ok ? 0 : -1;
}

/* The pids of the sockets in `dir`, ascending; their number, or -1 (errno). */
static long list_pids(const char *dir, long *pids, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < cap;) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (end != e->d_name && pid > 0 && strcmp(end, ".sock") == 0 && e->d_name[0] != '0')
            pids[n++] = pid;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of processes */
        for (size_t j = i; j > 0 && pids[j - 1] > pids[j]; j--) {
            long t = pids[j];
            pids[j] = pids[j - 1];
            pids[j - 1] = t;
        }
    return (long)n;
}

static int ss_pid(struct ss_state *st, const char *dir, long pid)
{
    char path[CTL_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%ld.sock", dir, pid);
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        int rc = ss_one(st, pid, path);
        if (rc <= 0) return rc < 0 ? 1 : 0;
    }
    if (!alive(pid))
        fprintf(stderr, "synack ss: no process %ld\n", pid);
    else if (kill((pid_t)pid, 0) < 0)
        fprintf(stderr, "synack ss: process %ld: permission denied (it runs as another user)\n",
                pid);
    else
        fprintf(stderr,
                "synack ss: process %ld has no control socket in %s (not a synack process, or "
                "started with --no-control)\n",
                pid, dir);
    return 1;
}

static int ss_every(struct ss_state *st, const char *dir)
{
    long *pids = malloc(SS_MAX_PROCS * sizeof *pids);
    if (!pids) return fprintf(stderr, "synack ss: out of memory\n"), 1;
    long n = list_pids(dir, pids, SS_MAX_PROCS);
    int rc = 0;
    for (long k = 0; k < n; k++) {
        char path[CTL_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%ld.sock", dir, pids[k]);
        if (ss_one(st, pids[k], path) < 0) rc = 1;
    }
    free(pids);
    if (st->shown == 0 && rc == 0) {
        fprintf(stderr, "synack ss: no synack process is running (no control socket in %s)\n", dir);
        rc = 1;
    }
    return rc;
}

int ss_run(const struct ss_opts *o, FILE *out)
{
    char dir[CTL_PATH_MAX], why[300];
    if (ctl_dir(dir, sizeof dir) < 0)
        return fprintf(stderr, "synack ss: the control directory's name is too long\n"), 1;
    struct ss_state st = {.o = o, .out = out};
    if (ctl_dir_check(dir, false, why, sizeof why) < 0) {
        if (errno == ENOENT && o->pid == 0)
            fprintf(stderr, "synack ss: no synack process is running (no %s)\n", dir);
        else if (errno == ENOENT)
            return ss_pid(&st, dir, o->pid); /* says whether the process exists */
        else
            fprintf(stderr, "synack ss: %s: refusing to use it\n", why);
        return 1;
    }
    int rc = o->pid ? ss_pid(&st, dir, o->pid) : ss_every(&st, dir);
    if (o->json && st.shown) fputs("\n]\n", out);
    if (o->json && !st.shown) fputs("[]\n", out);
    if (!o->json && st.details)
        fputs("\n(units: ms milliseconds, B bytes, seg segments of mss bytes; rtt is "
              "smoothed/variation; retrans is unacknowledged/total)\n",
              out);
    return rc;
}
