/* Connection lifecycle: creation, the one state-change function, teardown, ISNs, RSTs. */
#include <string.h>

#include "base/alloc.h"
#include "base/siphash.h"
#include "tcp/conn.h"

struct tcp_rare *tcp_rare_alloc(struct synack_tcp *c)
{
    if (c->rare) return c->rare;
    c->rare = tcp_block_alloc(c, sizeof *c->rare);
    if (!c->rare) return NULL;
    memset(c->rare, 0, sizeof *c->rare);
    c->rare->challenge_window = SYNACK_NEVER;
    c->rare->oow_ack_at = SYNACK_NEVER;
    return c->rare;
}

struct tcp_rare *tcp_rare_get(struct synack_tcp *c)
{
    struct tcp_rare *r = tcp_rare_alloc(c);
    if (!r) c->flags |= TCP_F_COUNTS_LOST;
    return r;
}

void tcp_cc_state_get(struct synack_tcp *c)
{
    if (!tcp_cc_wants_state(&c->cc)) return;
    struct tcp_cubic *s = tcp_block_alloc(c, sizeof *s);
    if (!s) return; /* CUBIC's Reno-friendly window alone; the next signal tries again */
    tcp_cc_cubic_init(s);
    c->cc.cubic = s;
}

/* The connection's own copy of the counter at `offset`, when the TCB holds it (six do);
 * else NULL, and the count goes to the rare block (count_own). */
static uint64_t *conn_counter(struct synack_tcp *c, size_t offset)
{
    switch (offset) {
    case offsetof(struct synack_counters, segs_in):
        return &c->segs_in;
    case offsetof(struct synack_counters, segs_out):
        return &c->segs_out;
    case offsetof(struct synack_counters, bytes_in):
        return &c->bytes_in;
    case offsetof(struct synack_counters, bytes_out):
        return &c->bytes_out;
    default:
        break;
    }
    return NULL;
}

/* The two the TCB holds in 32 bits (an idle connection's: they stop at UINT32_MAX). */
static uint32_t *conn_counter32(struct synack_tcp *c, size_t offset)
{
    switch (offset) {
    case offsetof(struct synack_counters, delayed_acks):
        return &c->delayed_acks;
    case offsetof(struct synack_counters, keepalive_probes):
        return &c->keepalive_probes;
    default:
        break;
    }
    return NULL;
}

/* Counts on the connection alone (a count its stack makes elsewhere). */
static void count_own(struct synack_tcp *c, size_t offset)
{
    uint64_t *own = conn_counter(c, offset);
    if (own) {
        (*own)++;
        return;
    }
    uint32_t *own32 = conn_counter32(c, offset);
    if (own32) {
        if (*own32 != UINT32_MAX) (*own32)++;
        return;
    }
    struct tcp_rare *r = tcp_rare_get(c);
    if (r && r->counts[offset / sizeof(uint64_t)] != UINT32_MAX)
        r->counts[offset / sizeof(uint64_t)]++;
}

void tcp_count(struct synack_tcp *c, size_t offset)
{
    count_own(c, offset);
    (*(uint64_t *)((char *)c->env->counters + offset))++;
}

void tcp_count_drop(struct synack_tcp *c, enum synack_drop reason)
{
    tcp_count(c, offsetof(struct synack_counters, drops) + (size_t)reason * sizeof(uint64_t));
}

void tcp_counters_get(const struct synack_tcp *c, struct synack_counters *out)
{
    uint64_t *all = (uint64_t *)(void *)out;
    for (size_t i = 0; i < TCP_RARE_COUNTS; i++)
        all[i] = c->rare ? c->rare->counts[i] : 0;
    out->segs_in = c->segs_in;
    out->segs_out = c->segs_out;
    out->bytes_in = c->bytes_in;
    out->bytes_out = c->bytes_out;
    out->delayed_acks = c->delayed_acks;
    out->keepalive_probes = c->keepalive_probes;
}

static void conn_event(struct synack_tcp *c, enum synack_event_type type, synack_time_t now)
{
    struct synack_event ev = {.type = type,
                              .conn_id = c->id,
                              .user = c->user,
                              .time = now,
                              .new_state = c->state,
                              .old_state = c->state,
                              .err = c->err};
    evq_push(c->env->events, &ev);
}

void tcp_set_state(struct synack_tcp *c, enum synack_state next, synack_time_t now)
{
    if (c->state == next) return;
    struct synack_event ev = {.type = SYNACK_EV_STATE,
                              .conn_id = c->id,
                              .user = c->user,
                              .old_state = c->state,
                              .new_state = next,
                              .time = now};
    c->state = next;
    evq_push(c->env->events, &ev);
    if (next == SYNACK_FIN_WAIT_2) tcp_finwait2_arm(c, now);
    if (next == SYNACK_ESTABLISHED && !(c->flags & TCP_F_PASSIVE) && ev.old_state != SYNACK_LISTEN)
        conn_event(c, SYNACK_EV_CONNECTED, now);
}

uint8_t tcp_rcv_wscale(const struct synack_config *cfg)
{
    /* RFC 7323 §2.3: the smallest shift that lets the window field cover the buffer. */
    uint8_t shift = 0;
    size_t max = cfg->rcvbuf_max > cfg->rcvbuf ? cfg->rcvbuf_max : cfg->rcvbuf;
    if (cfg->window_scale)
        while (shift < TCP_MAX_WSCALE && (max >> shift) > TCP_MAX_WINDOW)
            shift++;
    /* Autotuning: the shift covers what the buffer may grow to, but leaves the buffer it
     * starts with 16 units of the scale at least: a window is a multiple of 2^shift, and a
     * buffer smaller than one unit could offer nothing, read nothing and never grow. The
     * growth then stops where the field does (autotune.c). */
    while (shift > 0 && cfg->rcvbuf >> shift < 16 && max > cfg->rcvbuf)
        shift--;
    return shift;
}

uint32_t tcp_ts_offset(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                       const struct synack_addr *raddr, uint16_t rport)
{
    /* RFC 7323 §5.4: a per-connection offset hides the clock from the peer. It is a keyed
     * function of the 4-tuple, so successive incarnations of one 4-tuple share it and their
     * TSvals keep rising, which PAWS across incarnations needs (RFC 6191, and a TIME-WAIT
     * taken over by an outgoing connection: tcp_tuple_claim). */
    return (uint32_t)siphash_tuple(e->hash_key, laddr, lport, raddr, rport);
}

void tcp_mem_sync(struct synack_tcp *c, synack_time_t now)
{
    tcp_env_seen(c->env, now);
    if (c->flags & TCP_F_DEAD) return;
    tcp_storage_release(c);
    size_t held = ring_len(&c->sndq) + ring_len(&c->rcvq) + tcp_ooo_bytes(c);
    c->env->mem_held = c->env->mem_held - c->mem_held + held;
    c->mem_held = held;
}

bool tcp_mem_pressure(const struct synack_tcp *c)
{
    size_t budget = c->env->cfg->mem_budget;
    return budget && c->env->mem_held >= budget;
}

size_t tcp_conn_bytes(const struct synack_config *cfg)
{
    (void)cfg;
    return sizeof(struct synack_tcp);
}

struct synack_tcp *tcp_conn_new(struct tcp_env *e, const struct synack_addr *local_addr,
                                uint16_t local_port, const struct synack_addr *remote_addr,
                                uint16_t remote_port)
{
    if (e->nconns >= e->cfg->max_conns) return NULL;
    /* The TCB alone (STYLE rule 9: one allocation for what every connection needs); the
     * buffers, the scoreboard and the out-of-order table come with their first use and
     * grow with it (autotune.c), so a connection that holds nothing costs its TCB. */
    struct synack_tcp *c = alloc_mem(e->cfg, tcp_conn_bytes(e->cfg));
    if (!c) return NULL;
    memset(c, 0, sizeof *c);
    ring_init(&c->sndq, NULL, e->cfg->sndbuf);
    ring_init(&c->rcvq, NULL, e->cfg->rcvbuf);
    c->sndbuf_max = e->cfg->sndbuf_max > e->cfg->sndbuf ? e->cfg->sndbuf_max : e->cfg->sndbuf;
    c->rcvbuf_max = e->cfg->rcvbuf_max > e->cfg->rcvbuf ? e->cfg->rcvbuf_max : e->cfg->rcvbuf;
    c->rcv_rtt_at = SYNACK_NEVER;
    c->drs_at = SYNACK_NEVER;
    timer_node_init(&c->timer);
    c->env = e;
    c->id = (*c->env->next_id)++;
    c->state = SYNACK_CLOSED;
    c->local_addr = *local_addr;
    c->local_port = local_port;
    c->remote_addr = *remote_addr;
    c->remote_port = remote_port;
    uint16_t overhead = tcp_ip_overhead(local_addr->family);
    c->rcv_mss = (uint16_t)(e->cfg->mtu - overhead);
    c->pmtu = e->cfg->mtu; /* RFC 1191 §2, RFC 8201 §4: start from the first hop's MTU */
    uint16_t dflt = tcp_default_mss(local_addr->family);
    c->snd_mss = dflt < c->rcv_mss ? dflt : c->rcv_mss;
    c->eff_mss = c->snd_mss;
    c->rto = e->cfg->rto_initial;
    tcp_timers_clear(c); /* every deadline SYNACK_NEVER */
    if (e->cfg->nodelay) c->flags |= TCP_F_NODELAY;
    c->rcv_wscale = tcp_rcv_wscale(e->cfg);
    c->ts_offset = tcp_ts_offset(e, local_addr, local_port, remote_addr, remote_port);
    c->cc.algo = (uint8_t)e->cfg->cc;
    tcp_cc_ops(c->cc.algo)->init(&c->cc, c->eff_mss, e->cfg->init_cwnd);
    c->all_next = e->all;
    if (e->all) e->all->all_prev = c;
    e->all = c;
    e->nconns++;
    tcp_port_hold(e, local_port);
    tcp_demux_insert(e, c);
    return c;
}

void tcp_conn_destroy(struct synack_tcp *c)
{
    struct tcp_env *e = c->env;
    if (c->flags & TCP_F_DEAD) return;
    /* Unlinked from everything that could reach it, now; freed by tcp_reap() when the
     * public call that got here returns (ARCHITECTURE.md, ownership and lifetime): every
     * caller up the stack may still read it, none can find it again. */
    timers_set(&e->timers, &c->timer, TIMERS_NEVER);
    tcp_out_remove(e, c);
    tcp_demux_remove(e, c);
    tcp_orphan_remove(c);
    if (c->listener) tcp_listen_unlink(c);
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        e->all = c->all_next;
    if (c->all_next) c->all_next->all_prev = c->all_prev;
    tcp_port_release(e, c->local_port);
    c->all_prev = NULL;
    c->all_next = e->dead;
    e->dead = c;
    c->flags |= TCP_F_DEAD;
    e->mem_held -= c->mem_held;
    c->mem_held = 0;
    e->nconns--;
}

void tcp_conn_finish(struct synack_tcp *c, int err, synack_time_t now)
{
    if (c->flags & TCP_F_DEAD) return;
    tcp_env_seen(c->env, now);
    tcp_timers_clear(c);
    tcp_timer_update(c);
    tcp_out_remove(c->env, c);
    if (err && !c->err) {
        c->err = (int8_t)err;
        conn_event(c, SYNACK_EV_ERROR, now);
    }
    tcp_set_state(c, SYNACK_CLOSED, now);
    conn_event(c, SYNACK_EV_CLOSED, now);
    /* A connection that was never accepted belongs to nobody: free it too. */
    if ((c->flags & TCP_F_RELEASED) || ((c->flags & TCP_F_PASSIVE) && !(c->flags & TCP_F_ACCEPTED)))
        tcp_conn_destroy(c);
    else
        tcp_demux_remove(c->env, c); /* the 4-tuple is free again; the app holds c */
}

void tcp_schedule_output(struct synack_tcp *c)
{
    if (c->flags & TCP_F_DEAD) return; /* off the output list for good */
    tcp_out_add(c->env, c);
}

uint32_t tcp_isn(const struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                 const struct synack_addr *raddr, uint16_t rport, synack_time_t now)
{
    /* RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), with M
     * a timer ticking every 4 microseconds and F a keyed hash (here SipHash-2-4). */
    uint32_t f = (uint32_t)siphash_tuple(e->cfg->isn_secret, laddr, lport, raddr, rport);
    uint32_t m = (uint32_t)(now / 4000u);
    return m + f;
}

static struct tcp_ctl_seg rst_seg(const struct synack_addr *laddr, uint16_t lport,
                                  const struct synack_addr *raddr, uint16_t rport, uint32_t seq,
                                  uint32_t ack, bool with_ack)
{
    /* Addresses and segment apart (see tcp_cookie_send_synack): one initializer for the whole
     * entry is cleared with a slow string instruction. */
    struct tcp_ctl_seg seg;
    seg.laddr = *laddr;
    seg.raddr = *raddr;
    seg.tcp =
        (struct wire_tcp_repr){.src_port = lport,
                               .dst_port = rport,
                               .seq = seq,
                               .ack = with_ack ? ack : 0,
                               .flags = (uint8_t)(WIRE_TCP_RST | (with_ack ? WIRE_TCP_ACK : 0))};
    return seg;
}

void tcp_send_rst(struct tcp_env *e, const struct synack_addr *laddr, uint16_t lport,
                  const struct synack_addr *raddr, uint16_t rport, uint32_t seq, uint32_t ack,
                  bool with_ack)
{
    struct tcp_ctl_seg seg = rst_seg(laddr, lport, raddr, rport, seq, ack, with_ack);
    tcp_ctl_push(e, &seg);
}

void tcp_conn_reset(struct synack_tcp *c, int err, synack_time_t now)
{
    /* RFC 9293 §3.10.5 gives <SEQ=SND.NXT><CTL=RST>; we add the ACK as every deployed stack
     * does, which makes it acceptable to RFC 5961 peers in any synchronized state. */
    struct tcp_ctl_seg seg = rst_seg(&c->local_addr, c->local_port, &c->remote_addr, c->remote_port,
                                     c->snd_nxt, c->rcv_nxt, true);
    if (tcp_ctl_push_owed(c->env, &seg))
        count_own(c, offsetof(struct synack_counters, rsts_out)); /* the stack's count: when
                                                                     it leaves (tcp_ctl_output) */
    tcp_conn_finish(c, err, now);
}

uint16_t tcp_peer_mss(struct synack_tcp *c, const struct wire_tcp_repr *syn)
{
    uint16_t peer =
        syn->has_mss && syn->mss != 0 ? syn->mss : tcp_default_mss(c->local_addr.family);
    /* A floor, as Linux's tcp_min_snd_mss: an MSS of 1 would turn 64 KB into 65,536
     * segments of 41 bytes each. Every IPv4 host must take 576-byte datagrams (RFC 791,
     * RFC 9293 §3.7.1), so a floor far below 536 wrongs no conforming peer. */
    if (peer < c->env->cfg->min_snd_mss) {
        peer = c->env->cfg->min_snd_mss;
        TCP_COUNT(c, mss_raised);
    }
    /* RFC 1191 §3.1 / RFC 9293 §3.7.1: no datagram larger than the path MTU (our MTU, or
     * less if ICMP already said so during the handshake). */
    uint16_t path = (uint16_t)(c->pmtu - tcp_ip_overhead(c->local_addr.family));
    return peer < path ? peer : path;
}

void tcp_set_snd_mss(struct synack_tcp *c, uint16_t mss)
{
    /* RFC 9293 §3.7.1 / RFC 6691: the MSS counts data only; options on every segment (the
     * 12 bytes of timestamps) come out of it. */
    uint16_t opts = (c->flags & TCP_F_TS) ? 12 : 0;
    c->snd_mss = mss;
    c->eff_mss = mss > opts ? (uint16_t)(mss - opts) : 1;
}

void tcp_negotiate(struct synack_tcp *c, const struct wire_tcp_repr *syn, synack_time_t now)
{
    const struct synack_config *cfg = c->env->cfg;
    c->flags &= ~(uint32_t)(TCP_F_WSCALE | TCP_F_SACK | TCP_F_TS);
    /* RFC 7323 §2.2: scaling is on only if both SYNs carry the option; a shift above 14
     * is used as 14 (§2.3). */
    if (cfg->window_scale && syn->has_wscale) {
        c->flags |= TCP_F_WSCALE;
        c->snd_wscale = syn->wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : syn->wscale;
    } else {
        c->snd_wscale = 0;
        c->rcv_wscale = 0;
    }
    /* RFC 2018 §2: SACK only if both sides sent SACK-permitted. */
    if (cfg->sack && syn->sack_permitted) c->flags |= TCP_F_SACK;
    /* RFC 7323 §3.2: timestamps only if both SYNs carry them; TS.Recent from the SYN. */
    if (cfg->timestamps && syn->has_ts) {
        c->flags |= TCP_F_TS;
        c->ts_recent = syn->ts_val;
        c->ts_recent_time = now;
    }
    tcp_set_snd_mss(c, tcp_peer_mss(c, syn));
    enum synack_cc algo = c->cc.algo;
    struct tcp_cubic *cubic = c->cc.cubic; /* none yet in a handshake; kept, reset, if so */
    tcp_cc_ops(algo)->init(&c->cc, c->eff_mss, cfg->init_cwnd);
    c->cc.cubic = cubic;
    if (cubic) tcp_cc_cubic_init(cubic);
}

/* Whether an answer to an invalid segment would come within invalid_ack_interval of the
 * last one (whose time is in the rare block `r`). */
static bool oow_limited(const struct synack_tcp *c, const struct tcp_rare *r, synack_time_t now)
{
    synack_time_t iv = c->env->cfg->invalid_ack_interval;
    return iv && r->oow_ack_at != SYNACK_NEVER && now - r->oow_ack_at < iv;
}

bool tcp_invalid_ack_allowed(struct synack_tcp *c, synack_time_t now)
{
    /* The invalid segment was counted (a drop), which brought the rare block that keeps the
     * time of the last answer. Without it (the allocator refused it) no answer can be
     * rate-limited: it is withheld, as a challenge ACK is, and the stack counts it. */
    struct tcp_rare *r = c->rare;
    if (!r || oow_limited(c, r, now)) {
        TCP_COUNT(c, invalid_acks_suppressed);
        return false;
    }
    r->oow_ack_at = now;
    return true;
}

bool tcp_challenge_ack_allowed(struct synack_tcp *c, synack_time_t now)
{
    struct tcp_env *e = c->env;
    unsigned limit = e->cfg->challenge_ack_limit;
    /* Without the block that holds the budget (the allocator refused it) no budget can be
     * drawn: RFC 5961 §7 lets the rate limit withhold the answer, and the stack counts it. */
    struct tcp_rare *r = tcp_rare_get(c);
    if (!r) {
        TCP_COUNT(c, challenge_acks_suppressed);
        return false;
    }
    /* RFC 5961 §7: a configurable number per second, here per connection and drawn anew
     * each second (CVE-2016-5696: a budget shared by all connections, or a fixed one,
     * tells an off-path attacker watching his own connection what another one did). */
    if (r->challenge_window == SYNACK_NEVER || now - r->challenge_window >= SYNACK_S(1)) {
        /* The budget is a keyed hash of (connection, window number): random to anyone
         * without the secret, and drawn from nothing another connection can move. */
        uint8_t msg[16];
        memcpy(msg, &c->id, 8);
        memcpy(msg + 8, &r->challenge_windows, 8);
        uint64_t h = siphash24(e->hash_key, msg, sizeof msg);
        r->challenge_window = now;
        r->challenge_windows++;
        r->challenge_left = limit ? (limit + 1) / 2 + (unsigned)(h % limit) : 0;
    }
    if (r->challenge_left == 0 || oow_limited(c, r, now)) {
        TCP_COUNT(c, challenge_acks_suppressed);
        return false;
    }
    r->challenge_left--;
    r->oow_ack_at = now;
    TCP_COUNT(c, challenge_acks);
    return true;
}
