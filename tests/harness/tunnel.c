#include "tunnel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "udpstory.h"

#define OUTER_HDR 28 /* IPv4 20 + UDP 8 */

struct tunnel {
    const struct tunnel_opts *o;
    struct tunnel_result *r;
    struct synack_sim *sim;
    struct synack_stack *outer[2], *inner[2];
    struct synack_udp *sock[2];
    struct synack_tcp *conn[2];
    struct synack_listener *listener;
    bool closed[2], shut[2], peer_done;
    uint64_t written;
    uint8_t buf[2048];
};

static int make_stack(struct synack_stack **out, struct synack_addr addr, uint16_t mtu,
                      uint64_t seed)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = addr;
    cfg.seed = seed;
    if (mtu) cfg.mtu = mtu;
    for (size_t i = 0; i < sizeof cfg.isn_secret; i++)
        cfg.isn_secret[i] = (uint8_t)(seed >> (i % 8));
    return synack_stack_new(out, &cfg);
}

/* The outer links' events, shown with the inner packet each datagram carries. */
static void tunnel_observe(void *ctx, const struct synack_sim_packet *ev)
{
    struct tunnel *t = ctx;
    if (ev->kind == SYNACK_SIM_SENT) t->r->datagrams_sent++;
    if (ev->kind == SYNACK_SIM_DROPPED || ev->kind == SYNACK_SIM_LOST) t->r->datagrams_lost++;
    if (!t->o->observer || ev->len <= OUTER_HDR) return;
    struct synack_sim_packet inner = *ev;
    inner.pkt = ev->pkt + OUTER_HDR;
    inner.len = ev->len - OUTER_HDR;
    t->o->observer(t->o->observer_ctx, &inner);
}

static int tunnel_setup(struct tunnel *t)
{
    const struct tunnel_opts *o = t->o;
    int rc = synack_sim_new(&t->sim, o->seed);
    int node[2] = {-1, -1};
    for (int i = 0; rc == 0 && i < 2; i++) {
        rc = make_stack(&t->outer[i], synack_addr_v4(0xcb007101u + (uint32_t)i), 0, o->seed + i);
        if (rc == 0)
            rc = make_stack(&t->inner[i], scenario_addr(o->ipv6, i == 1), TUNNEL_INNER_MTU,
                            o->seed + 2 + i);
        if (rc == 0 && (node[i] = synack_sim_add_stack(t->sim, t->outer[i])) < 0) rc = node[i];
    }
    if (rc == 0) rc = udp_story_links(t->sim, node, o->delay, o->drop, o->ndrop);
    for (int i = 0; rc == 0 && i < 2; i++) {
        struct synack_endpoint ep = {synack_addr_v4(0xcb007101u + (uint32_t)i), TUNNEL_PORT};
        rc = synack_udp_bind(t->outer[i], &ep, NULL, &t->sock[i]);
    }
    for (int i = 0; rc == 0 && i < 2; i++) {
        struct synack_endpoint peer = {synack_addr_v4(0xcb007102u - (uint32_t)i), TUNNEL_PORT};
        rc = synack_udp_connect(t->sock[i], &peer);
    }
    if (rc < 0) return rc;
    synack_sim_set_observer(t->sim, tunnel_observe, t);
    struct synack_endpoint srv = {scenario_addr(o->ipv6, true), SCENARIO_SERVER_PORT};
    rc = synack_tcp_listen(t->inner[1], &srv, 4, NULL, &t->listener);
    if (rc == 0) rc = synack_tcp_connect(t->inner[0], &srv, NULL, NULL, &t->conn[0], 0);
    return rc;
}

/* Each inner packet goes out as one datagram; each datagram in goes to the inner stack. */
static void tunnel_pump(struct tunnel *t, synack_time_t now)
{
    for (int i = 0; i < 2; i++) {
        synack_stack_handle_timers(t->inner[i], now);
        synack_ssize n;
        while ((n = synack_stack_output(t->inner[i], t->buf, sizeof t->buf, now)) > 0)
            synack_udp_send(t->sock[i], t->buf, (size_t)n, NULL, now);
        while ((n = synack_udp_recv(t->sock[!i], t->buf, sizeof t->buf, NULL, now)) > 0)
            synack_stack_input(t->inner[!i], t->buf, (size_t)n, now);
    }
}

/* The inner applications: the client writes then closes, the server reads then closes. */
static void tunnel_apps(struct tunnel *t, synack_time_t now)
{
    struct synack_event ev;
    for (int i = 0; i < 2; i++) {
        while (synack_stack_next_event(t->inner[i], &ev) == 0) {
            if (ev.type == SYNACK_EV_ACCEPTABLE && !t->conn[1])
                synack_tcp_accept(t->listener, &t->conn[1]);
            if (ev.type == SYNACK_EV_CLOSED && t->conn[i] &&
                ev.conn_id == synack_tcp_id(t->conn[i]))
                t->closed[i] = true;
        }
    }
    struct synack_tcp *c = t->conn[0];
    struct synack_tcp_info info;
    if (c && !t->r->inner_mss && synack_tcp_info(c, &info) == 0 && info.state == SYNACK_ESTABLISHED)
        t->r->inner_mss = info.rcv_mss;
    while (c && !t->shut[0] && synack_tcp_state(c) == SYNACK_ESTABLISHED &&
           t->written < t->o->bytes) {
        uint64_t left = t->o->bytes - t->written;
        memset(t->buf, 'T', sizeof t->buf);
        synack_ssize n =
            synack_tcp_send(c, t->buf, left < sizeof t->buf ? (size_t)left : sizeof t->buf, now);
        if (n <= 0) break;
        t->written += (uint64_t)n;
    }
    if (c && !t->shut[0] && t->written == t->o->bytes &&
        synack_tcp_state(c) == SYNACK_ESTABLISHED) {
        synack_tcp_shutdown(c, now);
        t->shut[0] = true;
    }
    struct synack_tcp *s = t->conn[1];
    while (s && !t->peer_done) {
        synack_ssize n = synack_tcp_recv(s, t->buf, sizeof t->buf, now);
        if (n == 0) t->peer_done = true;
        if (n <= 0) break;
        for (size_t k = 0; k < (size_t)n; k++)
            if (t->buf[k] != 'T') t->r->intact = false;
        t->r->bytes_received += (uint64_t)n;
    }
    if (s && t->peer_done && !t->shut[1]) {
        synack_tcp_shutdown(s, now);
        t->shut[1] = true;
    }
}

static synack_time_t tunnel_next(const struct tunnel *t)
{
    synack_time_t next = synack_sim_next_time(t->sim);
    for (int i = 0; i < 2; i++) {
        synack_time_t d = synack_stack_next_deadline(t->inner[i]);
        if (d < next) next = d;
    }
    return next;
}

static void tunnel_free(struct tunnel *t)
{
    synack_sim_free(t->sim);
    for (int i = 0; i < 2; i++) {
        synack_stack_free(t->inner[i]);
        synack_stack_free(t->outer[i]);
    }
}

int tunnel_run(const struct tunnel_opts *o, struct tunnel_result *r, char *err, size_t errcap)
{
    memset(r, 0, sizeof *r);
    r->intact = true;
    struct tunnel *t = calloc(1, sizeof *t);
    if (!t) return SYNACK_ERR_NOMEM;
    t->o = o;
    t->r = r;
    int rc = tunnel_setup(t);
    if (rc < 0) {
        snprintf(err, errcap, "cannot set up the tunnel: %s", synack_strerror(rc));
    } else if (o->pcap && (rc = synack_sim_capture(t->sim, o->pcap)) < 0) {
        snprintf(err, errcap, "%s", synack_sim_error(t->sim));
    } else {
        for (uint64_t steps = 0; steps < 10000000 && !(t->closed[0] && t->closed[1]); steps++) {
            synack_time_t now = synack_sim_now(t->sim);
            tunnel_apps(t, now);
            tunnel_pump(t, now);
            tunnel_apps(t, now);
            tunnel_pump(t, now);
            synack_sim_flush(t->sim);
            synack_time_t next = tunnel_next(t);
            if (next == SYNACK_NEVER || next > SYNACK_S(600)) break;
            if (next <= now) next = now;
            if (synack_sim_next_time(t->sim) <= next ? synack_sim_step(t->sim) != 0
                                                     : synack_sim_run_until(t->sim, next) != 0)
                break;
        }
        struct synack_counters c0, c1;
        synack_stack_counters(t->inner[0], &c0);
        synack_stack_counters(t->inner[1], &c1);
        r->inner_retransmits = c0.retransmits + c1.retransmits;
        r->completed = r->intact && r->bytes_received == o->bytes && t->closed[0] && t->closed[1];
    }
    tunnel_free(t);
    free(t);
    return rc;
}
