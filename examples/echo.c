/* The echo server of echo.h: read, send back, repeat; close after the client's FIN. */
#include "echo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_CONNS 16

struct echo_conn {
    struct synack_tcp *tcp;
    uint64_t id; /* synack_tcp_id: how the stack's events name this connection */
    uint8_t buf[16384];
    size_t len, sent; /* buf[sent..len) was read and is not yet sent back */
    uint64_t echoed;
};

struct echo_server {
    struct synack_listener *listener;
    struct echo_conn *conns[MAX_CONNS];
    uint64_t bytes;
};

int echo_server_new(struct echo_server **out, struct synack_stack *stack, uint16_t port)
{
    struct echo_server *s = calloc(1, sizeof *s);
    if (!s) return SYNACK_ERR_NOMEM;
    /* SYNACK_AF_NONE: every address of the stack, IPv4 and IPv6. */
    struct synack_endpoint local = {.addr = synack_addr_any(SYNACK_AF_NONE), .port = port};
    int rc = synack_tcp_listen(stack, &local, MAX_CONNS, NULL, &s->listener);
    if (rc < 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Lets connection slot `i` go: closed gracefully (what was queued is sent, then a FIN) or,
 * after an error, just released. The stack may still queue events about it: they name an
 * id no slot holds, and are ignored. */
static void conn_end(struct echo_server *s, size_t i, int err, synack_time_t now)
{
    struct echo_conn *c = s->conns[i];
    if (err < 0)
        printf("echo: connection %" PRIu64 " failed after %" PRIu64 " bytes: %s\n", c->id,
               c->echoed, synack_strerror(err));
    else
        printf("echo: connection %" PRIu64 " done, %" PRIu64 " bytes echoed\n", c->id, c->echoed);
    synack_tcp_close(c->tcp, now);
    free(c);
    s->conns[i] = NULL;
}

/* Everything connection slot `i` can do now: send back what was read, read more, and
 * close once the client has closed and everything it sent is back. Each call is tried
 * until the stack says AGAIN; an event says when trying again is worth it. */
static void conn_pump(struct echo_server *s, size_t i, synack_time_t now)
{
    struct echo_conn *c = s->conns[i];
    synack_ssize n;
    for (;;) {
        if (c->sent < c->len) {
            n = synack_tcp_send(c->tcp, c->buf + c->sent, c->len - c->sent, now);
            if (n < 0) break;
            c->sent += (size_t)n;
            c->echoed += (uint64_t)n;
            s->bytes += (uint64_t)n;
            continue;
        }
        n = synack_tcp_recv(c->tcp, c->buf, sizeof c->buf, now);
        if (n <= 0) break; /* 0: the client's FIN came and everything before it is read */
        c->len = (size_t)n;
        c->sent = 0;
    }
    /* AGAIN: the send buffer is full (WRITABLE will come) or nothing is left to read
     * (READABLE will). Anything else ends the connection. */
    if (n != SYNACK_ERR_AGAIN) conn_end(s, i, (int)n, now);
}

static void accept_all(struct echo_server *s, synack_time_t now)
{
    struct synack_tcp *t;
    while (synack_tcp_accept(s->listener, &t) == 0) {
        size_t i = 0;
        while (i < MAX_CONNS && s->conns[i])
            i++;
        struct echo_conn *c = i < MAX_CONNS ? malloc(sizeof *c) : NULL;
        if (!c) {
            synack_tcp_abort(t, now);
            continue;
        }
        *c = (struct echo_conn){.tcp = t, .id = synack_tcp_id(t)};
        s->conns[i] = c;
        conn_pump(s, i, now); /* data may have come with the handshake's last ACK */
    }
}

void echo_server_on_event(struct echo_server *s, const struct synack_event *ev, synack_time_t now)
{
    if (ev->type == SYNACK_EV_ACCEPTABLE) {
        accept_all(s, now);
        return;
    }
    if (ev->type != SYNACK_EV_READABLE && ev->type != SYNACK_EV_WRITABLE &&
        ev->type != SYNACK_EV_PEER_CLOSED && ev->type != SYNACK_EV_ERROR)
        return;
    /* By id, not by pointer: an event queued before conn_end names a connection let go. */
    for (size_t i = 0; i < MAX_CONNS; i++)
        if (s->conns[i] && s->conns[i]->id == ev->conn_id) conn_pump(s, i, now);
}

uint64_t echo_server_bytes(const struct echo_server *s)
{
    return s->bytes;
}

void echo_server_free(struct echo_server *s, synack_time_t now)
{
    if (!s) return;
    for (size_t i = 0; i < MAX_CONNS; i++) {
        if (!s->conns[i]) continue;
        synack_tcp_abort(s->conns[i]->tcp, now);
        free(s->conns[i]);
    }
    synack_listener_close(s->listener, now);
    free(s);
}
