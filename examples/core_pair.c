/* Using the core: two stacks in one process, joined by a function instead of a network.
 * The client sends a UDP datagram and opens a TCP connection; the server answers both.
 * Everything a program over the core does is here: packets out (synack_stack_output) and
 * in (synack_stack_input), the application reacting to events, timers at the next
 * deadline. Only the clock is made up: `now` jumps to the next deadline when all is quiet,
 * where a real program would sleep until then (or until a packet arrives). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <synack/synack.h>

static void check(synack_ssize rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "core_pair: %s: %s\n", what, synack_strerror((int)rc));
        exit(1);
    }
}

static struct synack_stack *stack_at(const char *addr)
{
    struct synack_config cfg;
    synack_config_default(&cfg); /* on a real network, draw cfg.seed and cfg.isn_secret at random */
    struct synack_addr a;
    check(synack_addr_parse(addr, &a), addr); /* or "2001:db8::1"; up to 8 addresses */
    check(synack_config_add_addr(&cfg, &a), addr);
    struct synack_stack *st;
    check(synack_stack_new(&st, &cfg), "stack");
    return st;
}

/* The network: every packet `from` has to send goes into `to` at once. Over a real link
 * they would be written to it, and what it reads handed to synack_stack_input. */
static int deliver(struct synack_stack *from, struct synack_stack *to, synack_time_t now)
{
    uint8_t pkt[1500];
    synack_ssize n;
    int moved = 0;
    while ((n = synack_stack_output(from, pkt, sizeof pkt, now)) > 0) {
        synack_stack_input(to, pkt, (size_t)n, now);
        moved++;
    }
    return moved;
}

int main(void)
{
    struct synack_stack *client = stack_at("198.18.0.1"), *server = stack_at("198.18.0.2");
    synack_time_t now = 0; /* monotonic nanoseconds, from any origin */

    struct synack_endpoint web, dns, from;
    check(synack_endpoint_parse("198.18.0.2:80", &web), "web"); /* or "[2001:db8::2]:80" */
    check(synack_endpoint_parse("198.18.0.2:53", &dns), "dns");
    struct synack_listener *listener;
    check(synack_tcp_listen(server, &web, 16, NULL, &listener), "listen");
    struct synack_udp *resolver, *asker;
    check(synack_udp_bind(server, &dns, NULL, &resolver), "bind");
    check(synack_udp_bind(client, &(struct synack_endpoint){0}, NULL, &asker), "bind"); /* any */
    check(synack_udp_send(asker, (const uint8_t *)"ping", 4, &dns, now), "udp send");
    struct synack_tcp *conn, *peer = NULL;
    check(synack_tcp_connect(client, &web, NULL, NULL, &conn, now), "connect"); /* NULL: any */

    bool pong = false;
    for (;;) {
        /* 1. Packets, both ways, until neither stack has anything to send. */
        while (deliver(client, server, now) + deliver(server, client, now) > 0) {
        }
        /* 2. Events: each application makes the calls they allow. */
        struct synack_event ev;
        uint8_t buf[512];
        synack_ssize n;
        int events = 0;
        for (; synack_stack_next_event(server, &ev) == 0; events++) {
            if (ev.type == SYNACK_EV_ACCEPTABLE)
                check(synack_tcp_accept(listener, &peer), "accept");
            if ((n = synack_udp_recv(resolver, buf, sizeof buf, &from, now)) > 0) {
                printf("server: a datagram: %.*s\n", (int)n, buf);
                check(synack_udp_send(resolver, (const uint8_t *)"pong", 4, &from, now), "reply");
            }
            if (peer && (n = synack_tcp_recv(peer, buf, sizeof buf, now)) > 0) {
                printf("server: %.*s", (int)n, buf);
                check(synack_tcp_send(peer, (const uint8_t *)"hello, client\n", 14, now), "send");
                synack_tcp_close(peer, now); /* the answer, then a FIN */
                peer = NULL;
            }
        }
        for (; synack_stack_next_event(client, &ev) == 0; events++) {
            if (ev.type == SYNACK_EV_CONNECTED)
                check(synack_tcp_send(conn, (const uint8_t *)"hello, server\n", 14, now), "send");
            if ((n = synack_udp_recv(asker, buf, sizeof buf, &from, now)) > 0) {
                printf("client: a datagram: %.*s\n", (int)n, buf);
                pong = true;
            }
            while (conn && (n = synack_tcp_recv(conn, buf, sizeof buf, now)) > 0)
                printf("client: %.*s", (int)n, buf);
            if (conn && n == 0) { /* the server's FIN, and everything before it read */
                synack_tcp_close(conn, now);
                conn = NULL;
            } else if (conn && n != SYNACK_ERR_AGAIN && n != SYNACK_ERR_NOTCONN) {
                check(n, "recv");
            }
        }
        if (events > 0) continue; /* those calls may have packets to send */
        /* 3. Time: all is quiet until the next deadline; then the timers run. */
        synack_time_t next = synack_stack_next_deadline(client);
        if (synack_stack_next_deadline(server) < next) next = synack_stack_next_deadline(server);
        if (next == SYNACK_NEVER) break; /* nothing will ever happen again */
        now = next > now ? next : now;
        synack_stack_handle_timers(client, now);
        synack_stack_handle_timers(server, now);
    }
    if (!pong || conn) {
        fprintf(stderr, "core_pair: all quiet, but the exchange is not over\n");
        return 1;
    }
    printf("all closed after %.3f s: the server's TIME_WAIT lasts 2 * MSL\n", (double)now / 1e9);
    synack_udp_close(asker);
    synack_udp_close(resolver);
    synack_listener_close(listener, now);
    synack_stack_free(client);
    synack_stack_free(server);
    return 0;
}
