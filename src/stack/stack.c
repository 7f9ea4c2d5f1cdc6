/* The stack: configuration, ingress (IP, then TCP, UDP or ICMP), egress (pulled from TCP's
 * queues, ICMP, fragments and UDP), deadlines, events. */
#include "base/addr.h"
#include "stack/stack.h"

#include <string.h>

#include "base/alloc.h"

const char *synack_strerror(int err)
{
    switch (err) {
    case SYNACK_OK:
        return "success";
    case SYNACK_ERR_INVAL:
        return "invalid argument: check the values passed to the call";
    case SYNACK_ERR_NOMEM:
        return "out of memory: the allocator refused; free memory or lower the buffer sizes";
    case SYNACK_ERR_AGAIN:
        return "nothing to do now: wait for an event and try again";
    case SYNACK_ERR_ADDRINUSE:
        return "address in use: the port or 4-tuple is already taken";
    case SYNACK_ERR_NOTCONN:
        return "not connected: wait for the connection to be established";
    case SYNACK_ERR_CONNREFUSED:
        return "connection refused: nothing listens on that port at the peer (it sent RST, or "
               "ICMP port or protocol unreachable)";
    case SYNACK_ERR_CONNRESET:
        return "connection reset by peer (it sent RST)";
    case SYNACK_ERR_TIMEDOUT:
        return "connection timed out: the peer stopped answering; check the path and the peer";
    case SYNACK_ERR_SHUTDOWN:
        return "cannot send after shutdown or close";
    case SYNACK_ERR_STATE:
        return "the call is not valid in the connection's current state";
    case SYNACK_ERR_BUFSZ:
        return "buffer too small: pass at least the MTU in bytes";
    case SYNACK_ERR_NOPORTS:
        return "no free ephemeral port for that destination: close connections or widen the range";
    case SYNACK_ERR_ABORTED:
        return "connection aborted by the local application";
    case SYNACK_ERR_MALFORMED:
        return "malformed packet: dropped and counted";
    case SYNACK_ERR_IO:
        return "input/output error: a file or device could not be opened, read or written";
    case SYNACK_ERR_MSGSIZE:
        return "message too long: a UDP datagram carries at most 65507 bytes over IPv4 and 65527 "
               "over IPv6; send less at a time";
    case SYNACK_ERR_CONNLIMIT:
        return "connection limit reached: the stack already holds max_conns connections; close "
               "some or raise max_conns in its configuration";
    case SYNACK_ERR_STEERED:
        return "that local port steers this connection to another stack's queue "
               "(steer_queues): connect from the stack of that queue, or pass port 0 and let "
               "this stack choose one";
    case SYNACK_ERR_UNREACH:
        return "no route to host: the peer stopped answering and ICMP said the network or host is "
               "unreachable; check the address, the route and any firewall";
    default:
        return "unknown error code";
    }
}

const char *synack_state_name(enum synack_state st)
{
    static const char *const names[SYNACK_STATE_COUNT] = {
        "CLOSED",     "LISTEN",     "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
        "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",  "LAST_ACK",     "TIME_WAIT",
    };
    return (unsigned)st < SYNACK_STATE_COUNT ? names[st] : "UNKNOWN";
}

const char *synack_syncookies_name(enum synack_syncookies m)
{
    static const char *const names[SYNACK_SYNCOOKIES_COUNT] = {"overflow", "always", "never"};
    return (unsigned)m < SYNACK_SYNCOOKIES_COUNT ? names[m] : "unknown";
}

int synack_syncookies_parse(const char *name, enum synack_syncookies *out)
{
    if (!name || !out) return SYNACK_ERR_INVAL;
    for (int i = 0; i < SYNACK_SYNCOOKIES_COUNT; i++) {
        if (strcmp(name, synack_syncookies_name((enum synack_syncookies)i)) == 0) {
            *out = (enum synack_syncookies)i;
            return 0;
        }
    }
    return SYNACK_ERR_INVAL;
}

void synack_config_default(struct synack_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mtu = 1500;
    cfg->pmtu_min = 576; /* RFC 1122 §3.3.3: every host reassembles 576-byte datagrams */
    cfg->icmp_error_limit = 100;
    cfg->frag_mem = 256 * 1024;
    cfg->max_udp = 64;
    cfg->udp_rcvbuf = 64 * 1024;
    cfg->udp_sndbuf = 64 * 1024;
    cfg->ttl = 64;
    cfg->max_conns = 1024;
    cfg->sndbuf = 64 * 1024;
    cfg->rcvbuf = 64 * 1024;
    /* 16 MiB: a 1 Gbit/s path of 100 ms holds 12.5 MB; a window of 16 MiB takes shift 9. */
    cfg->sndbuf_max = 16u << 20;
    cfg->rcvbuf_max = 16u << 20;
    cfg->msl = SYNACK_S(30);
    cfg->rto_initial = SYNACK_S(1); /* RFC 6298 (2.1) */
    /* RFC 6298 (2.4) asks for 1 s; like Linux we default to 200 ms, which suits paths
     * whose RTT is far below a second. Configurable. */
    cfg->rto_min = SYNACK_MS(200);
    cfg->rto_max = SYNACK_S(60); /* RFC 6298 (2.5) */
    cfg->syn_retries = 6;
    cfg->syncookies = SYNACK_SYNCOOKIES_OVERFLOW;
    cfg->max_time_wait = 16384; /* the default ephemeral range, 49152-65535 */
    cfg->time_wait_reuse = SYNACK_MS(64);
    cfg->max_orphans = 512;
    cfg->fin_wait2_timeout = SYNACK_S(60);
    cfg->keepalive_interval = SYNACK_S(75); /* Linux's tcp_keepalive_intvl */
    cfg->keepalive_count = 9;               /* Linux's tcp_keepalive_probes */
    cfg->data_retries = 15;
    cfg->challenge_ack_limit = 10;
    cfg->invalid_ack_interval = SYNACK_MS(500);
    cfg->min_snd_mss = 48;
    cfg->ephemeral_lo = 49152; /* RFC 6335 §6 */
    cfg->ephemeral_hi = 65535;
    cfg->window_scale = true;
    cfg->timestamps = true;
    cfg->sack = true;
    cfg->cc = SYNACK_CC_CUBIC;
    cfg->init_cwnd = 10; /* RFC 6928 */
    cfg->nodelay = false;
    cfg->delack_timeout = SYNACK_MS(40);
    cfg->rack = true;
    cfg->gso_max_size = 65535;
}

void *stack_alloc(struct synack_stack *s, size_t size)
{
    return alloc_mem(&s->cfg, size);
}

void stack_free(struct synack_stack *s, void *p)
{
    alloc_free(&s->cfg, p);
}

/* Each address is one a peer could answer (RFC 1122 §3.2.1.3, RFC 4291 §2.4:
 * synack_addr_is_unicast), none appears twice, and there is at least one. */
static bool config_addrs_valid(const struct synack_config *cfg, bool *has_v6)
{
    size_t n = 0;
    *has_v6 = false;
    for (size_t i = 0; i < SYNACK_MAX_ADDRS; i++) {
        const struct synack_addr *a = &cfg->addrs[i];
        if (a->family == SYNACK_AF_NONE) continue;
        if (!addr_is_unicast(a)) return false;
        for (size_t j = 0; j < i; j++) {
            if (addr_eq(a, &cfg->addrs[j])) return false;
        }
        if (a->family == SYNACK_AF_INET6) *has_v6 = true;
        n++;
    }
    return n > 0;
}

static bool config_is_valid(const struct synack_config *cfg)
{
    bool has_v6;
    if (!config_addrs_valid(cfg, &has_v6)) return false;
    /* RFC 791 §3.1 / RFC 1191 §3: 68 octets go anywhere without fragmentation; RFC 8200 §5:
     * every IPv6 link carries 1280. */
    return cfg->mtu >= (has_v6 ? 1280 : 68) && cfg->pmtu_min >= 68 && cfg->ttl != 0 &&
           cfg->max_conns > 0 && cfg->sndbuf > 0 && cfg->sndbuf <= TCP_MAX_BUF && cfg->rcvbuf > 0 &&
           cfg->rcvbuf <= TCP_MAX_BUF && cfg->sndbuf_max <= TCP_MAX_BUF &&
           cfg->rcvbuf_max <= TCP_MAX_BUF && (unsigned)cfg->cc < SYNACK_CC_COUNT &&
           (unsigned)cfg->syncookies < SYNACK_SYNCOOKIES_COUNT && cfg->init_cwnd > 0 &&
           cfg->rto_min > 0 && cfg->rto_min <= cfg->rto_max && cfg->rto_initial > 0 &&
           cfg->ephemeral_lo != 0 && cfg->min_snd_mss > 0 &&
           (cfg->time_wait_reuse == 0 || cfg->time_wait_reuse >= SYNACK_MS(1)) &&
           (cfg->keepalive_idle == 0 ||
            (cfg->keepalive_interval > 0 && cfg->keepalive_count > 0)) &&
           cfg->ephemeral_lo <= cfg->ephemeral_hi && cfg->steer_queues <= SYNACK_STEER_MAX_QUEUES &&
           (cfg->steer_hash == SYNACK_STEER_SIPHASH || cfg->steer_hash == SYNACK_STEER_XOR) &&
           (cfg->steer_queues <= 1 ? cfg->steer_queue == 0
                                   : cfg->steer_queue < cfg->steer_queues) &&
           (cfg->alloc == NULL) == (cfg->free == NULL) && cfg->udp_rcvbuf >= 64 &&
           cfg->udp_sndbuf >= (size_t)cfg->mtu + 2 && cfg->gso_max_size <= 65535 &&
           cfg->udp_rcvbuf <= TCP_MAX_BUF && cfg->udp_sndbuf <= TCP_MAX_BUF; /* RING_MAX */
}

int synack_config_add_addr(struct synack_config *cfg, const struct synack_addr *addr)
{
    if (!cfg || !addr || !addr_is_unicast(addr)) return SYNACK_ERR_INVAL;
    struct synack_addr *free_slot = NULL;
    for (size_t i = 0; i < SYNACK_MAX_ADDRS; i++) {
        if (cfg->addrs[i].family == SYNACK_AF_NONE) {
            if (!free_slot) free_slot = &cfg->addrs[i];
        } else if (addr_eq(&cfg->addrs[i], addr)) {
            return SYNACK_ERR_INVAL;
        }
    }
    if (!free_slot) return SYNACK_ERR_NOMEM;
    *free_slot = *addr;
    return 0;
}

int synack_stack_new(struct synack_stack **out, const struct synack_config *cfg)
{
    if (!out || !cfg || !config_is_valid(cfg)) return SYNACK_ERR_INVAL;
    struct synack_stack *s = alloc_mem(cfg, sizeof *s);
    if (!s) return SYNACK_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    /* The stack's copy holds its addresses packed to the front, in the caller's order, so
     * the per-packet lookups (stack/addr.c) stop at the first empty slot. */
    size_t naddrs = 0;
    for (size_t i = 0; i < SYNACK_MAX_ADDRS; i++) {
        if (cfg->addrs[i].family != SYNACK_AF_NONE) s->cfg.addrs[naddrs++] = cfg->addrs[i];
    }
    for (size_t i = naddrs; i < SYNACK_MAX_ADDRS; i++)
        s->cfg.addrs[i] = (struct synack_addr){0};
    s->next_id = 1;
    s->port_counter = (uint32_t)cfg->seed;
    /* The event queue's bound: four events per connection, the two a TIME_WAIT record
     * queues when it ends, and three per UDP socket (READABLE, WRITABLE, ERROR: each sent
     * once until the socket is called). Its storage starts at STACK_EVQ_MIN slots and
     * grows with what is pending (base/evq.h). */
    size_t ev_max = STACK_EVQ_MIN + 4 * cfg->max_conns + 2 * cfg->max_time_wait + 3 * cfg->max_udp;
    int ev_err = evq_init(&s->events, &s->cfg, STACK_EVQ_MIN, ev_max);
    s->scratch = stack_alloc(s, cfg->mtu);
    s->icmpq_bytes = stack_alloc(s, STACK_ICMPQ_CAP * (size_t)(cfg->mtu - WIRE_IPV4_HDR_LEN));
    s->tcp = (struct tcp_env){.cfg = &s->cfg,
                              .counters = &s->counters,
                              .events = &s->events,
                              .next_id = &s->next_id,
                              .ip_id = &s->ip_id,
                              .port_counter = &s->port_counter};
    if (ev_err || !s->scratch || !s->icmpq_bytes || tcp_env_init(&s->tcp) != 0 ||
        stack_ip_init(s) != 0 || stack_udp_init(s) != 0) {
        synack_stack_free(s);
        return SYNACK_ERR_NOMEM;
    }
    *out = s;
    return 0;
}

void synack_stack_free(struct synack_stack *s)
{
    if (!s) return;
    tcp_env_free(&s->tcp);
    stack_ip_free(s);
    stack_udp_free(s);
    evq_free(&s->events);
    stack_free(s, s->scratch);
    stack_free(s, s->icmpq_bytes);
    stack_free(s, s);
}

size_t synack_stack_addrs(const struct synack_stack *s, struct synack_addr *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; s && i < SYNACK_MAX_ADDRS; i++) {
        if (s->cfg.addrs[i].family == SYNACK_AF_NONE) break; /* packed by synack_stack_new */
        if (n < cap && out) out[n] = s->cfg.addrs[i];
        n++;
    }
    return n < cap || !out ? n : cap;
}

const struct synack_addr *synack_stack_addr(const struct synack_stack *s, enum synack_family family)
{
    return s ? stack_addr_of(s, family) : NULL;
}

void stack_count_drop(struct synack_stack *s, enum synack_drop reason)
{
    s->counters.drops[reason]++;
}

bool synack_stack_has_events(const struct synack_stack *s)
{
    return s->events.len > 0;
}

uint64_t synack_stack_events_queued(const struct synack_stack *s)
{
    return s->events.queued;
}

int synack_stack_next_event(struct synack_stack *s, struct synack_event *ev)
{
    return evq_pop(&s->events, ev) ? 0 : SYNACK_ERR_AGAIN;
}

void synack_stack_set_trace(struct synack_stack *s, synack_trace_fn fn, void *ctx)
{
    s->trace = fn;
    s->trace_ctx = ctx;
}

void synack_stack_counters(const struct synack_stack *s, struct synack_counters *out)
{
    *out = s->counters;
    out->events_dropped = s->events.dropped;
    stack_ip_counters(s, out);
}

void synack_stack_stats(const struct synack_stack *s, struct synack_stack_stats *out)
{
    memset(out, 0, sizeof *out);
    tcp_env_stats(&s->tcp, out);
    out->events_queued = s->events.len;
    out->events_cap = s->events.cap;
    out->events_max = s->events.max;
    out->events_nomem = s->events.nomem;
    stack_ip_stats(s, out);
}

int synack_stack_each_socket(const struct synack_stack *s, synack_sock_fn fn, void *ctx)
{
    if (!s || !fn) return SYNACK_ERR_INVAL;
    struct synack_sock_info si;
    int rc = tcp_env_each(&s->tcp, fn, ctx, &si);
    for (const struct synack_udp *u = s->udp_socks; u && rc == 0; u = u->next) {
        memset(&si, 0, sizeof si);
        si.kind = SYNACK_SOCK_UDP;
        si.id = u->id;
        synack_udp_info(u, &si.udp);
        rc = fn(ctx, &si);
    }
    return rc;
}

/* Only the stack's addresses are ours; the source must be a single unicast host (RFC 1122
 * §3.2.1.3: a datagram from "this network" 0/8, loopback 127/8, multicast 224/4, Class E
 * 240/4 or broadcast is silently discarded; RFC 4291 §2.5.2, §2.7: from :: or a multicast
 * address likewise). Dropping them here also keeps every reply from going to such an
 * address: no ICMP error or echo reply (RFC 1122 §3.2.2, §3.2.2.6, RFC 4443 §2.4 (e)) and
 * no SYN-ACK or RST (RFC 1122 §4.2.3.10). */
static enum synack_drop input_check_addrs(const struct synack_stack *s,
                                          const struct wire_ip_repr *ip)
{
    bool src_local, dst_local;
    stack_addr_locality(s, &ip->src, &ip->dst, &src_local, &dst_local);
    if (!dst_local) return SYNACK_DROP_IP_NOT_LOCAL;
    if (src_local || !addr_is_unicast(&ip->src)) return SYNACK_DROP_IP_BAD_SOURCE;
    return SYNACK_DROP_NONE;
}

/* An incoming packet as the wire layer parsed it: TCP, ICMP or ICMPv6 after the IP header. */
struct input_pkt {
    const uint8_t *pkt; /* the packet as it came (for errors that quote it) */
    size_t pkt_len;
    struct wire_ip_repr ip;
    const uint8_t *payload; /* the upper-layer bytes: in the packet, or reassembled */
    size_t len;
    struct wire_tcp_repr tcp;
    struct wire_icmp_repr icmp;
    struct wire_icmp6_repr icmp6;
    struct wire_udp_repr udp;
    bool csum_vouched; /* SYNACK_INPUT_CSUM_VERIFIED: the transport checksum is not computed */
};

/* The protocol the datagram carries (up to the length its IP header gives, not the
 * buffer's end). ICMP belongs to IPv4 and ICMPv6 to IPv6; each is an unknown protocol to
 * the other family. */
static enum synack_drop input_parse_upper(struct input_pkt *in)
{
    bool v6 = in->ip.src.family == SYNACK_AF_INET6;
    switch (in->ip.proto) {
    case WIRE_IP_PROTO_TCP:
        if (in->csum_vouched)
            return wire_tcp_parse_vouched(in->payload, in->len, &in->ip.src, &in->ip.dst, &in->tcp);
        return wire_tcp_parse(in->payload, in->len, &in->ip.src, &in->ip.dst, &in->tcp);
    case WIRE_IP_PROTO_UDP:
        if (in->csum_vouched)
            return wire_udp_parse_vouched(in->payload, in->len, &in->ip.src, &in->ip.dst, &in->udp);
        return wire_udp_parse(in->payload, in->len, &in->ip.src, &in->ip.dst, &in->udp);
    case WIRE_IP_PROTO_ICMP:
        if (v6) break;
        return wire_icmp_parse(in->payload, in->len, &in->icmp);
    case WIRE_IP_PROTO_ICMPV6:
        if (!v6) break;
        return wire_icmp6_parse(in->payload, in->len, &in->ip.src, &in->ip.dst, &in->icmp6);
    }
    return SYNACK_DROP_IP_PROTOCOL;
}

static void input_deliver(struct synack_stack *s, struct input_pkt *in, synack_time_t now)
{
    switch (in->ip.proto) {
    case WIRE_IP_PROTO_ICMP:
        stack_icmp_input(s, &in->ip, &in->icmp, now);
        return;
    case WIRE_IP_PROTO_ICMPV6:
        stack_icmp6_input(s, &in->ip, &in->icmp6, now);
        return;
    case WIRE_IP_PROTO_UDP:
        stack_udp_input(s, &in->ip, &in->udp, in->pkt, in->pkt_len, now);
        return;
    default:
        tcp_input(&s->tcp, &in->ip, &in->tcp, now);
        return;
    }
}

/* A protocol we do not run, in a datagram for us from a unicast host: RFC 1122 §3.2.2.1
 * protocol unreachable, or RFC 8200 §4 parameter problem (unrecognized Next Header,
 * pointing at the field that named it). */
static void input_unknown_protocol(struct synack_stack *s, const struct input_pkt *in,
                                   synack_time_t now)
{
    if (in->ip.src.family == SYNACK_AF_INET6) {
        struct wire_ip_problem p = in->ip.problem;
        p.send = true;
        stack_icmp6_param_problem(s, in->pkt, in->pkt_len, &in->ip, &p, now);
    } else {
        stack_icmp_proto_unreach(s, in->pkt, &in->ip, now);
    }
}

/* A fragment for us: reassembly, then the whole datagram's protocol. */
static int input_fragment(struct synack_stack *s, struct input_pkt *in, synack_time_t now)
{
    struct wire_ip_repr first = in->ip;
    struct wire_ip_problem problem;
    enum synack_drop why = stack_ip_reassemble(s, &in->ip, &in->payload, &in->len, &problem, now);
    if (why == SYNACK_DROP_COUNT) return 0; /* held */
    if (why != SYNACK_DROP_NONE) {
        if (problem.send) stack_icmp6_param_problem(s, in->pkt, in->pkt_len, &first, &problem, now);
        return SYNACK_ERR_MALFORMED;
    }
    in->csum_vouched = false; /* the link vouched for a fragment, not for the datagram */
    why = input_parse_upper(in);
    in->pkt = NULL; /* the packet is the last fragment: nothing to quote */
    in->pkt_len = 0;
    /* No error about a reassembled datagram of an unknown protocol: its first header is
     * gone (the reassembler keeps the repr, not the bytes). */
    if (why != SYNACK_DROP_NONE) {
        stack_count_drop(s, why);
        ip_reasm_release(&s->reasm);
        return SYNACK_ERR_MALFORMED;
    }
    input_deliver(s, in, now);
    ip_reasm_release(&s->reasm);
    tcp_reap(&s->tcp);
    return 0;
}

/* RFC 8200 §4: an IPv6 packet the parser refused, which the RFC asks to answer with a
 * parameter problem (an option of type 10/11, a routing header with segments left, a
 * hop-by-hop header not first), if it was for us from a unicast host. */
static void input_ipv6_refused(struct synack_stack *s, const struct input_pkt *in,
                               synack_time_t now)
{
    if (in->ip.src.family != SYNACK_AF_INET6 || !in->ip.problem.send ||
        input_check_addrs(s, &in->ip) != SYNACK_DROP_NONE)
        return;
    stack_icmp6_param_problem(s, in->pkt, in->pkt_len, &in->ip, &in->ip.problem, now);
}

int synack_stack_input(struct synack_stack *s, const uint8_t *pkt, size_t len, synack_time_t now)
{
    return synack_stack_input_flags(s, pkt, len, 0, now);
}

int synack_stack_input_flags(struct synack_stack *s, const uint8_t *pkt, size_t len, unsigned flags,
                             synack_time_t now)
{
    struct input_pkt in;
    if (!s || !pkt || (flags & ~SYNACK_INPUT_FLAGS_ALL) != 0) return SYNACK_ERR_INVAL;
    in.csum_vouched = (flags & SYNACK_INPUT_CSUM_VERIFIED) != 0;
    in.pkt = pkt;
    in.pkt_len = len;
    in.ip = (struct wire_ip_repr){0};
    enum synack_drop why = wire_ip_parse(pkt, len, &in.ip);
    bool refused = why != SYNACK_DROP_NONE;
    if (why == SYNACK_DROP_NONE) why = input_check_addrs(s, &in.ip);
    in.payload = pkt + in.ip.header_len;
    in.len = in.ip.payload_len;
    if (why == SYNACK_DROP_NONE && in.ip.frag.present) {
        /* Reported as accepted: what reassembly decides is counted, as for TCP. */
        if (s->trace) s->trace(s->trace_ctx, 'i', pkt, len, SYNACK_DROP_NONE, now);
        return input_fragment(s, &in, now);
    }
    if (why == SYNACK_DROP_NONE) why = input_parse_upper(&in);
    if (s->trace) s->trace(s->trace_ctx, 'i', pkt, len, why, now);
    if (why != SYNACK_DROP_NONE) {
        stack_count_drop(s, why);
        /* For us, from a unicast host, a whole datagram, not ICMP (ICMP parsed or failed
         * its own checks): a protocol we do not run. */
        if (why == SYNACK_DROP_IP_PROTOCOL) input_unknown_protocol(s, &in, now);
        if (refused) input_ipv6_refused(s, &in, now);
        return SYNACK_ERR_MALFORMED;
    }
    input_deliver(s, &in, now);
    tcp_reap(&s->tcp);
    return 0;
}

/* How far ahead of the packet being taken a batch hints: a packet's connection is loaded
 * while the INPUT_AHEAD packets before it are taken, and its bucket while the INPUT_AHEAD
 * before that are. A packet takes a few hundred nanoseconds and a load from memory about as
 * long, so a few suffice; 2, 4, 8 and 16 measured alike within this VM's noise at a million
 * connections (docs/PERFORMANCE.md), and 8 connections' hot lines stay in the cache until
 * their turn. */
#define INPUT_AHEAD 8

synack_ssize synack_stack_input_batch(struct synack_stack *s, const struct synack_rx *rx, size_t n,
                                      synack_time_t now)
{
    if (!s || (!rx && n > 0)) return SYNACK_ERR_INVAL;
    for (size_t i = 0; i < n; i++)
        if (!rx[i].pkt || (rx[i].flags & ~SYNACK_INPUT_FLAGS_ALL) != 0) return SYNACK_ERR_INVAL;
    /* A lone packet has nothing to overlap its waits with: no hints. */
    if (n == 1) return synack_stack_input_flags(s, rx[0].pkt, rx[0].len, rx[0].flags, now) == 0;
    struct tcp_hint hint[2 * INPUT_AHEAD]; /* packet k's at k % (2 * INPUT_AHEAD) */
    size_t hinted = 0, loaded = 0;         /* packets whose bucket, whose connection, was hinted */
    synack_ssize taken = 0;
    for (size_t i = 0; i < n; i++) {
        for (; hinted < n && hinted < i + 2 * INPUT_AHEAD; hinted++) {
            struct tcp_hint *h = &hint[hinted % (2 * INPUT_AHEAD)];
            h->valid = wire_tcp_peek_tuple(rx[hinted].pkt, rx[hinted].len, &h->raddr, &h->rport,
                                           &h->laddr, &h->lport);
            if (h->valid) tcp_demux_prefetch(&s->tcp, h);
        }
        for (; loaded < hinted && loaded < i + INPUT_AHEAD; loaded++)
            if (hint[loaded % (2 * INPUT_AHEAD)].valid)
                tcp_demux_prefetch_conn(&s->tcp, &hint[loaded % (2 * INPUT_AHEAD)]);
        s->tcp.hint = hint[i % (2 * INPUT_AHEAD)];
        int rc = synack_stack_input_flags(s, rx[i].pkt, rx[i].len, rx[i].flags, now);
        s->tcp.hint.valid = false;
        if (rc == 0) taken++;
    }
    return taken;
}

/* Shows the trace hook a packet TCP wrote (`n` bytes of `buf`, or an error: nothing). */
static synack_ssize output_traced(struct synack_stack *s, synack_ssize n, const uint8_t *buf,
                                  synack_time_t now)
{
    if (n > 0 && s->trace) s->trace(s->trace_ctx, 'o', buf, (size_t)n, SYNACK_DROP_NONE, now);
    return n;
}

synack_ssize synack_stack_output(struct synack_stack *s, uint8_t *buf, size_t cap,
                                 synack_time_t now)
{
    struct synack_tx_meta meta;
    return synack_stack_output_offload(s, buf, cap, 0, &meta, now);
}

synack_ssize synack_stack_output_offload(struct synack_stack *s, uint8_t *buf, size_t cap,
                                         unsigned tx, struct synack_tx_meta *meta,
                                         synack_time_t now)
{
    if (!s || !buf || !meta || (tx & ~SYNACK_TX_ALL)) return SYNACK_ERR_INVAL;
    /* Only TCP's own segments and whole UDP datagrams leave work to the link: the others
     * go whole. */
    *meta = (struct synack_tx_meta){0};
    if (cap < s->cfg.mtu) return SYNACK_ERR_BUFSZ;
    /* TCB-less segments first: answers to what found no connection, owed RSTs. */
    if (tcp_ctl_pending(&s->tcp))
        return output_traced(s, tcp_ctl_output(&s->tcp, buf, cap), buf, now);
    if (s->icmpq_len) return stack_icmp_output(s, buf, cap, now);
    if (stack_big_busy(s)) {
        synack_ssize n = stack_big_output(s, buf, cap, now);
        /* The last fragment freed the slot: a UDP send refused for it may go now. */
        if (!stack_big_busy(s)) stack_udp_wake_writers(s, now);
        if (n != 0) return n;
    }
    if (stack_udp_has_output(s)) return stack_udp_output(s, buf, cap, tx, meta, now);
    if (!tcp_conns_pending(&s->tcp)) return SYNACK_ERR_AGAIN;
    synack_ssize n = tcp_conns_output(&s->tcp, buf, cap, tx, meta, now);
    return n == 0 ? SYNACK_ERR_AGAIN : output_traced(s, n, buf, now);
}

synack_time_t synack_stack_next_deadline(const struct synack_stack *s)
{
    synack_time_t tcp = tcp_next_deadline(&s->tcp), frag = stack_ip_next_deadline(s);
    return frag < tcp ? frag : tcp;
}

void synack_stack_handle_timers(struct synack_stack *s, synack_time_t now)
{
    tcp_handle_timers(&s->tcp, now);
    if (!ip_reasm_idle(&s->reasm)) stack_ip_expire(s, now);
    tcp_reap(&s->tcp);
}
