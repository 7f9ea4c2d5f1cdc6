/* The snapshot a control socket sends (ctl.h): a header, one KEY=VALUE line per socket, "end".
 * Times in microseconds and sizes in bytes, each key saying its unit. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

#define CTL_END_ROOM 16 /* kept free for the last line, "end" or "truncated" */

struct ctl_text {
    char *buf;
    size_t len, cap; /* cap excludes CTL_END_ROOM */
    size_t line;     /* where the line being written began */
    bool full;       /* a line did not fit: the snapshot ends there */
    synack_time_t now;
};

__attribute__((format(printf, 2, 3))) static void put(struct ctl_text *t, const char *fmt, ...)
{
    if (t->full) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->cap - t->len) {
        t->full = true;
        t->len = t->line; /* no half line */
        return;
    }
    t->len += (size_t)n;
}

/* "198.18.0.1:80", "*:80" (every address of both families), "*:*" (no peer). */
static void put_endpoint(struct ctl_text *t, const char *key, const struct synack_addr *a,
                         uint16_t port)
{
    char text[SYNACK_ENDPOINT_STRLEN];
    if (a->family == SYNACK_AF_NONE && port == 0) {
        put(t, " %s=*:*", key);
    } else if (a->family == SYNACK_AF_NONE) {
        put(t, " %s=*:%u", key, port);
    } else {
        struct synack_endpoint e = {*a, port};
        synack_endpoint_format(&e, text, sizeof text);
        put(t, " %s=%s", key, text);
    }
}

static uint64_t us(synack_time_t ns)
{
    return ns / 1000u;
}

static void put_conn(struct ctl_text *t, const struct synack_tcp_info *i)
{
    const struct synack_counters *c = &i->counters;
    put(t,
        " cc=%s phase=%s srtt_us=%" PRIu64 " rttvar_us=%" PRIu64 " min_rtt_us=%" PRIu64
        " rto_us=%" PRIu64 " cwnd_bytes=%" PRIu32,
        synack_cc_name(i->cc), synack_cc_phase_name(i->phase), us(i->srtt), us(i->rttvar),
        us(i->min_rtt), us(i->rto), i->cwnd);
    if (i->ssthresh != UINT32_MAX) put(t, " ssthresh_bytes=%" PRIu32, i->ssthresh);
    put(t,
        " mss=%u rcv_mss=%u pmtu=%u unacked_bytes=%zu retrans=%u retrans_total=%" PRIu64
        " lost=%u sacked=%u backoff=%u",
        i->snd_eff_mss, i->rcv_mss, i->pmtu, i->bytes_in_flight, i->retrans_segs, c->retransmits,
        i->lost_segs, i->sacked_segs, i->backoff);
    put(t,
        " bytes_sent=%" PRIu64 " bytes_received=%" PRIu64 " bytes_acked=%" PRIu64
        " segs_out=%" PRIu64 " segs_in=%" PRIu64 " snd_wnd=%" PRIu32 " rcv_wnd=%" PRIu32
        " delivery_rate_Bps=%" PRIu64,
        c->bytes_out, c->bytes_in, i->delivered, c->segs_out, c->segs_in, i->snd_wnd, i->rcv_wnd,
        i->delivery_rate);
    /* The buffers' sizes now (autotuned or fixed): Linux's skmem rb and tb */
    put(t, " rcvbuf_bytes=%zu sndbuf_bytes=%zu", i->rcvbuf, i->sndbuf);
    /* "sack,ts,wscale", as far as negotiated; "-" for none */
    const char *names[] = {i->sack ? "sack" : NULL, i->timestamps ? "ts" : NULL,
                           i->window_scale ? "wscale" : NULL};
    const char *sep = "=";
    put(t, " opts");
    for (size_t k = 0; k < 3; k++)
        if (names[k]) put(t, "%s%s", sep, names[k]), sep = ",";
    if (sep[0] == '=') put(t, "=-");
    if (i->err) put(t, " err=%s", synack_strerror(i->err));
}

static void put_tcp(struct ctl_text *t, const struct synack_sock_info *s)
{
    const struct synack_tcp_info *i = &s->tcp;
    put(t, "tcp state=%s", synack_state_name(i->state));
    put_endpoint(t, "local", &i->local_addr, i->local_port);
    put_endpoint(t, "remote", &i->remote_addr, i->remote_port);
    switch (s->kind) {
    case SYNACK_SOCK_TCP_LISTENER: /* as ss: the accept queue and its bound */
        put(t, " recvq=%u sendq=%u synq=%u id=%" PRIu64, s->accept_queue, s->backlog, s->syn_queue,
            s->id);
        break;
    case SYNACK_SOCK_TCP_TIME_WAIT:
        put(t, " recvq=0 sendq=0 id=%" PRIu64 " timewait_left_ms=%" PRIu64, s->id,
            s->expires > t->now ? (s->expires - t->now) / 1000000u : 0);
        break;
    default:
        put(t, " recvq=%zu sendq=%zu id=%" PRIu64 " orphan=%d", i->recv_queued, i->send_queued,
            s->id, s->orphan);
        put_conn(t, i);
        break;
    }
}

static void put_udp(struct ctl_text *t, const struct synack_sock_info *s)
{
    const struct synack_udp_info *u = &s->udp;
    put(t, "udp state=%s", u->remote.port ? "ESTABLISHED" : "UNCONN");
    put_endpoint(t, "local", &u->local.addr, u->local.port);
    put_endpoint(t, "remote", &u->remote.addr, u->remote.port);
    put(t, " recvq=%zu sendq=0 id=%" PRIu64 " datagrams=%zu", u->queued_bytes, s->id, u->queued);
    if (u->pending_err) put(t, " err=%s", synack_strerror(u->pending_err));
}

static int put_sock(void *ctx, const struct synack_sock_info *s)
{
    struct ctl_text *t = ctx;
    t->line = t->len;
    if (s->kind == SYNACK_SOCK_UDP)
        put_udp(t, s);
    else
        put_tcp(t, s);
    put(t, "\n");
    return t->full ? 1 : 0;
}

size_t ctl_snapshot(char *buf, size_t cap, int pid, const char *cmd, const char *link,
                    ctl_each_fn each, void *src, synack_time_t now)
{
    if (cap < 4 * CTL_END_ROOM) return 0;
    struct ctl_text t = {.buf = buf, .cap = cap - CTL_END_ROOM, .now = now};
    put(&t, "synack-ctl %d pid=%d cmd=%s link=%s\n", CTL_VERSION, pid, cmd, link);
    if (!t.full) each(src, put_sock, &t);
    t.full |= t.len == 0;
    t.len += (size_t)snprintf(buf + t.len, cap - t.len, "%s\n", t.full ? "truncated" : "end");
    return t.len;
}
