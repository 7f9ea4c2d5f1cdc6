/*
 * An echo server and its client over synack's BSD socket API: the calls are the kernel's
 * (socket, bind, listen, accept, connect, send, recv, close) with a synack_ prefix.
 *
 * Two runtimes, each a stack with its own thread, talk TCP to each other over UDP
 * encapsulation on loopback (no root needed): the server is 198.18.0.1 behind UDP port
 * BASE, the client 198.18.0.2 behind BASE + 1.
 *
 *   socket_echo [BYTES [BASE]]      (100000 bytes, base port 47000)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synack/socket.h>

/* A runtime whose stack is `addr` behind UDP port `port`, sending to `peer_port`. */
static struct synack_rt *runtime(const char *addr, unsigned port, unsigned peer_port)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a;
    synack_addr_parse(addr, &a);
    synack_config_add_addr(&cfg, &a);
    cfg.seed = port; /* any value: ports, ISNs */

    struct synack_udp_config ucfg = {0};
    synack_endpoint_parse("127.0.0.1", &ucfg.local);
    ucfg.local.port = (uint16_t)port;
    synack_endpoint_parse("127.0.0.1", &ucfg.peer);
    ucfg.peer.port = (uint16_t)peer_port;
    char err[256];
    struct synack_link *link;
    if (synack_udp_open(&link, &ucfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "socket_echo: %s\n", err);
        exit(1);
    }
    struct synack_rt *rt;
    if (synack_rt_new(&rt, &cfg, link, SYNACK_RT_THREAD, err, sizeof(err)) != 0) {
        fprintf(stderr, "socket_echo: %s\n", err);
        exit(1);
    }
    return rt;
}

static void die(const char *what)
{
    fprintf(stderr, "socket_echo: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The server: accept one connection, send back everything it sends, close. */
static void *server(void *arg)
{
    int l = *(int *)arg;
    int c = synack_accept(l, NULL, NULL);
    if (c < 0) die("accept");
    char buf[4096];
    ssize_t n;
    while ((n = synack_recv(c, buf, sizeof(buf), 0)) > 0)
        if (synack_send(c, buf, (size_t)n, 0) != n) die("send");
    if (n < 0) die("recv");
    synack_close(c);
    return NULL;
}

int main(int argc, char **argv)
{
    size_t bytes = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    unsigned base = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 47000;
    struct synack_rt *srt = runtime("198.18.0.1", base, base + 1);
    struct synack_rt *crt = runtime("198.18.0.2", base + 1, base);

    /* Server: socket, bind, listen; accept on a thread of its own. */
    int l = synack_socket(srt, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(7)};
    if (l < 0 || synack_bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        synack_listen(l, 8) != 0)
        die("listen");
    pthread_t t;
    pthread_create(&t, NULL, server, &l);

    /* Client: connect, send, read the echo, half-close, wait for the server's close. */
    int c = synack_socket(crt, AF_INET, SOCK_STREAM, 0);
    inet_pton(AF_INET, "198.18.0.1", &sa.sin_addr);
    if (c < 0 || synack_connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0) die("connect");
    unsigned char *out = malloc(bytes), *back = malloc(bytes);
    for (size_t i = 0; i < bytes; i++)
        out[i] = (unsigned char)(i * 131 + 7);
    size_t sent = 0, got = 0;
    while (got < bytes) {
        /* Send in pieces and read between them, so neither side's buffer fills. */
        if (sent < bytes) {
            size_t k = bytes - sent < 8192 ? bytes - sent : 8192;
            if (synack_send(c, out + sent, k, 0) != (ssize_t)k) die("send");
            sent += k;
        }
        ssize_t n = synack_recv(c, back + got, bytes - got, sent < bytes ? MSG_DONTWAIT : 0);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0)
            break;
        else if (errno != EAGAIN)
            die("recv");
    }
    synack_shutdown(c, SHUT_WR);
    char end;
    if (synack_recv(c, &end, 1, 0) != 0) die("the server's close");
    synack_close(c);
    pthread_join(t, NULL);
    synack_close(l);

    int same = got == bytes && memcmp(out, back, bytes) == 0;
    printf("socket_echo: %zu bytes sent, %zu bytes back, %s\n", sent, got,
           same ? "byte-exact" : "DIFFERENT");
    free(out);
    free(back);
    synack_rt_free(crt);
    synack_rt_free(srt);
    return same ? 0 : 1;
}
