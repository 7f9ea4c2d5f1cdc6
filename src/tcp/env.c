/* The TCP environment: TCP's tables set up and freed, connections freed at the end of a
 * public call, the output list and the queue of TCB-less segments the stack pulls from,
 * and the deadline heap it runs. */
#include "tcp/env.h"

#include <string.h>

#include "base/alloc.h"
#include "tcp/conn.h"

int tcp_env_init(struct tcp_env *e)
{
    const struct synack_config *cfg = e->cfg;
    /* The demux key derives from the secret, so it differs per stack but stays
     * deterministic for a given configuration. */
    for (int i = 0; i < 16; i++)
        e->hash_key[i] =
            (uint8_t)(cfg->isn_secret[i] ^ (uint8_t)(cfg->seed >> (8 * (i % 8))) ^ 0x5a);
    e->cookie_sent_at = SYNACK_NEVER;
    e->store_trim_at = SYNACK_NEVER;
    e->timer_storage = alloc_mem(cfg, cfg->max_conns * sizeof *e->timer_storage);
    e->ctl_cap = TCP_CTLQ_CAP;
    e->ctlq = alloc_mem(cfg, e->ctl_cap * sizeof *e->ctlq);
    if (!e->timer_storage || !e->ctlq || tcp_demux_init(e) != 0 || tcp_tw_init(e) != 0)
        return SYNACK_ERR_NOMEM;
    timers_init(&e->timers, e->timer_storage, cfg->max_conns);
    return 0;
}

void tcp_env_free(struct tcp_env *e)
{
    while (e->all)
        tcp_conn_destroy(e->all);
    tcp_reap(e);
    tcp_tw_free_all(e);
    tcp_store_free(e);
    while (e->listeners) {
        struct synack_listener *l = e->listeners;
        e->listeners = l->next;
        alloc_free(e->cfg, l);
    }
    tcp_demux_free(e);
    alloc_free(e->cfg, e->port_holders);
    alloc_free(e->cfg, e->timer_storage);
    alloc_free(e->cfg, e->ctlq);
    e->port_holders = NULL;
    e->timer_storage = NULL;
    e->ctlq = NULL;
}

void tcp_free_dead(struct tcp_env *e)
{
    while (e->dead) {
        struct synack_tcp *c = e->dead;
        e->dead = c->all_next;
        tcp_conn_free(c);
    }
}

void tcp_env_stats(const struct tcp_env *e, struct synack_stack_stats *out)
{
    const struct synack_config *cfg = e->cfg;
    out->conns = e->nconns;
    out->max_conns = cfg->max_conns;
    for (const struct synack_listener *l = e->listeners; l; l = l->next) {
        out->listeners++;
        out->half_open += l->syn_count;
    }
    out->time_wait = e->ntw;
    out->max_time_wait = cfg->max_time_wait;
    out->orphans = e->norphans;
    out->max_orphans = cfg->max_orphans;
    out->mem_held = e->mem_held;
    out->mem_budget = cfg->mem_budget;
    out->conn_bytes = tcp_conn_bytes(cfg);
    out->conn_storage = e->conn_storage;
    out->storage_cached = e->store_cached;
    out->time_wait_bytes = sizeof(struct tcp_tw);
}

/* ---- deadlines ---- */

synack_time_t tcp_next_deadline(const struct tcp_env *e)
{
    synack_time_t conns = timers_next(&e->timers), tw = tcp_tw_next_deadline(e);
    synack_time_t d = conns < tw ? conns : tw, demux = tcp_demux_deadline(e);
    if (demux < d) d = demux;
    return e->store_trim_at < d ? e->store_trim_at : d;
}

void tcp_handle_timers(struct tcp_env *e, synack_time_t now)
{
    tcp_env_seen(e, now);
    struct timer_node *n;
    /* Bounded: each expiry moves the node's deadline past `now` or removes it. */
    for (size_t guard = 0; guard < 4 * e->cfg->max_conns + 16 && (n = timers_due(&e->timers, now));
         guard++) {
        struct synack_tcp *c =
            (struct synack_tcp *)((char *)n - offsetof(struct synack_tcp, timer));
        tcp_timer_expired(c, now);
    }
    tcp_tw_expire(e, now);
    tcp_store_trim(e, now);
    tcp_demux_idle(e, now);
}

/* ---- the output list ---- */

void tcp_out_add(struct tcp_env *e, struct synack_tcp *c)
{
    if (c->in_out_list) return;
    c->in_out_list = true;
    c->out_next = NULL;
    if (e->out_tail)
        e->out_tail->out_next = c;
    else
        e->out_head = c;
    e->out_tail = c;
}

void tcp_out_remove(struct tcp_env *e, struct synack_tcp *c)
{
    if (!c->in_out_list) return;
    struct synack_tcp *prev = NULL;
    for (struct synack_tcp *it = e->out_head; it; prev = it, it = it->out_next) {
        if (it != c) continue;
        if (prev)
            prev->out_next = c->out_next;
        else
            e->out_head = c->out_next;
        if (e->out_tail == c) e->out_tail = prev;
        break;
    }
    c->in_out_list = false;
    c->out_next = NULL;
}

synack_ssize tcp_conns_output(struct tcp_env *e, uint8_t *buf, size_t cap, unsigned tx,
                              struct synack_tx_meta *meta, synack_time_t now)
{
    while (e->out_head) {
        struct synack_tcp *c = e->out_head;
        synack_ssize n = tcp_output(c, buf, cap, tx, meta, now);
        if (n > 0) {
            /* Round robin: the connection goes to the back of the line. */
            if (c->out_next) {
                e->out_head = c->out_next;
                e->out_tail->out_next = c;
                e->out_tail = c;
                c->out_next = NULL;
            }
            return n;
        }
        if (n < 0) return n;
        tcp_out_remove(e, c);
    }
    return 0;
}

/* ---- TCB-less segments ---- */

/* Moves the ring into `cap` slots, oldest first at 0; false when the memory is not there. */
static bool ctl_resize(struct tcp_env *e, size_t cap)
{
    struct tcp_ctl_seg *q = alloc_mem(e->cfg, cap * sizeof *q);
    if (!q) return false;
    for (size_t i = 0; i < e->ctl_len; i++)
        q[i] = e->ctlq[(e->ctl_head + i) % e->ctl_cap];
    alloc_free(e->cfg, e->ctlq);
    e->ctlq = q;
    e->ctl_cap = cap;
    e->ctl_head = 0;
    return true;
}

static bool ctl_push(struct tcp_env *e, const struct tcp_ctl_seg *seg, size_t limit)
{
    if (e->ctl_len >= limit || (e->ctl_len == e->ctl_cap &&
                                !ctl_resize(e, e->ctl_cap * 2 < limit ? e->ctl_cap * 2 : limit))) {
        /* The peer retransmits and is answered then. */
        e->counters->ctl_queue_drops++;
        return false;
    }
    e->ctlq[(e->ctl_head + e->ctl_len) % e->ctl_cap] = *seg;
    e->ctl_len++;
    return true;
}

bool tcp_ctl_push(struct tcp_env *e, const struct tcp_ctl_seg *seg)
{
    return ctl_push(e, seg, TCP_CTLQ_CAP);
}

bool tcp_ctl_push_owed(struct tcp_env *e, const struct tcp_ctl_seg *seg)
{
    return ctl_push(e, seg, TCP_CTLQ_CAP + e->cfg->max_conns);
}

synack_ssize tcp_ctl_output(struct tcp_env *e, uint8_t *buf, size_t cap)
{
    if (e->ctl_len == 0) return 0;
    const struct tcp_ctl_seg *c = &e->ctlq[e->ctl_head];
    struct wire_ip_repr ip = {
        .src = c->laddr, .dst = c->raddr, .ttl = e->cfg->ttl, .id = (*e->ip_id)++, .df = true};
    /* RFC 8200 §3: no DF in IPv6; a source never fragments TCP (the MSS fits the path). */
    size_t n = wire_packet_emit(&ip, &c->tcp, buf, cap);
    if (n == 0) return SYNACK_ERR_BUFSZ;
    e->counters->segs_out++;
    if (c->tcp.flags & WIRE_TCP_RST) e->counters->rsts_out++;
    e->ctl_head = (e->ctl_head + 1) % e->ctl_cap;
    e->ctl_len--;
    /* A burst of owed RSTs grew the ring; once it is empty it goes back to its first size
     * (`c` is not read past this point). */
    if (e->ctl_len == 0 && e->ctl_cap > TCP_CTLQ_CAP) ctl_resize(e, TCP_CTLQ_CAP);
    return (synack_ssize)n;
}
