#include "udpstory.h"

#include <stdio.h>
#include <string.h>

#include "scenario.h"

#define UDP_STORY_PORT 5000

struct udp_story {
    struct synack_sim *sim;
    struct synack_stack *stack[2];
    struct synack_udp *sock[2];
};

static int story_stack(struct udp_story *s, int i, uint64_t seed, bool ipv6)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = scenario_addr(ipv6, i == 1);
    cfg.seed = seed ^ (uint64_t)(i + 1);
    return synack_stack_new(&s->stack[i], &cfg);
}

int udp_story_links(struct synack_sim *sim, const int node[2], synack_time_t delay,
                    const uint64_t *drop, size_t ndrop)
{
    struct synack_sim_link_params p;
    synack_sim_link_params_default(&p);
    p.latency = delay;
    p.drop_list = drop;
    p.drop_count = ndrop;
    int rc = synack_sim_add_link(sim, node[0], node[1], &p);
    p.drop_list = NULL;
    p.drop_count = 0;
    if (rc >= 0) rc = synack_sim_add_link(sim, node[1], node[0], &p);
    return rc < 0 ? rc : 0;
}

static int story_setup(struct udp_story *s, const struct udp_story_opts *o)
{
    int rc = synack_sim_new(&s->sim, o->seed);
    for (int i = 0; rc == 0 && i < 2; i++)
        rc = story_stack(s, i, o->seed, o->ipv6);
    int node[2] = {-1, -1};
    for (int i = 0; rc == 0 && i < 2; i++)
        if ((node[i] = synack_sim_add_stack(s->sim, s->stack[i])) < 0) rc = node[i];
    if (rc == 0) rc = udp_story_links(s->sim, node, o->delay, o->drop, o->ndrop);
    if (rc < 0) return rc;
    if (o->observer) synack_sim_set_observer(s->sim, o->observer, o->observer_ctx);
    struct synack_endpoint srv = {scenario_addr(o->ipv6, true), UDP_STORY_PORT};
    struct synack_endpoint cli = {scenario_addr(o->ipv6, false), 0};
    rc = synack_udp_bind(s->stack[1], &srv, NULL, &s->sock[1]);
    if (rc == 0) rc = synack_udp_bind(s->stack[0], &cli, NULL, &s->sock[0]);
    if (rc == 0) rc = synack_udp_connect(s->sock[0], &srv);
    return rc;
}

static void story_read(struct udp_story *s, const struct udp_story_opts *o,
                       struct udp_story_result *r)
{
    uint8_t buf[2048];
    synack_time_t now = synack_sim_now(s->sim);
    synack_ssize n;
    while ((n = synack_udp_recv(s->sock[1], buf, sizeof buf, NULL, now)) >= 4) {
        uint32_t k =
            (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
        if (k >= o->count || r->arrived_at[k]) continue;
        for (uint32_t j = k + 1; j < o->count; j++)
            if (r->arrived_at[j]) r->in_order = false;
        r->arrived_at[k] = now;
        r->received++;
    }
}

static void story_free(struct udp_story *s)
{
    synack_sim_free(s->sim);
    for (int i = 0; i < 2; i++)
        synack_stack_free(s->stack[i]);
}

int udp_story_run(const struct udp_story_opts *o, struct udp_story_result *r, char *err,
                  size_t errcap)
{
    memset(r, 0, sizeof *r);
    r->in_order = true;
    if (o->count > UDP_STORY_MAX || o->size < 4 || o->size > 1400) {
        snprintf(err, errcap, "at most %d datagrams of 4 to 1400 bytes", UDP_STORY_MAX);
        return SYNACK_ERR_INVAL;
    }
    struct udp_story s = {0};
    int rc = story_setup(&s, o);
    if (rc < 0) {
        snprintf(err, errcap, "cannot set up the UDP story: %s", synack_strerror(rc));
        story_free(&s);
        return rc;
    }
    if (o->pcap && (rc = synack_sim_capture(s.sim, o->pcap)) < 0) {
        snprintf(err, errcap, "%s", synack_sim_error(s.sim));
        story_free(&s);
        return rc;
    }
    uint8_t buf[1400];
    memset(buf, 'u', sizeof buf);
    for (unsigned k = 0; k < o->count; k++) {
        synack_time_t t = (synack_time_t)k * o->interval;
        while (synack_sim_next_time(s.sim) <= t && synack_sim_step(s.sim) == 0)
            story_read(&s, o, r);
        if (synack_sim_run_until(s.sim, t) != 0) break;
        buf[0] = (uint8_t)(k >> 24);
        buf[1] = (uint8_t)(k >> 16);
        buf[2] = (uint8_t)(k >> 8);
        buf[3] = (uint8_t)k;
        if (synack_udp_send(s.sock[0], buf, o->size, NULL, t) == (synack_ssize)o->size) {
            r->sent_at[k] = t;
            r->sent++;
        }
        synack_sim_flush(s.sim);
    }
    while (synack_sim_next_time(s.sim) != SYNACK_NEVER && synack_sim_step(s.sim) == 0)
        story_read(&s, o, r);
    story_read(&s, o, r);
    story_free(&s);
    return 0;
}
