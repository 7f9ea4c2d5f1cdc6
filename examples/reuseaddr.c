/*
 * The seeds' SO_REUSEADDR story, runnable: a server closes its accepted connection first,
 * so the connection waits in TIME_WAIT on the server's own port (RFC 9293 §3.6: the side
 * that closes first waits 2*MSL), and the server restarts. Does its new socket get the
 * port?
 *
 * Linux's answer, which synack gives too: only when both the old listener and the new
 * socket set SO_REUSEADDR. The accepted connection inherits the flag from its listener,
 * its TIME_WAIT keeps it, and the new socket must set it as well; otherwise bind fails with
 * EADDRINUSE ("Address already in use"), the error every server author meets once.
 *
 * Two runtimes talk over UDP encapsulation on loopback (no root): the server is
 * 198.18.0.1 behind UDP port BASE, the client 198.18.0.2 behind BASE + 1.
 *
 *   reuseaddr [BASE]      (base port 47100)
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synack/socket.h>

static struct synack_rt *runtime(const char *addr, unsigned port, unsigned peer_port)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr a;
    synack_addr_parse(addr, &a);
    synack_config_add_addr(&cfg, &a);
    cfg.seed = port;
    struct synack_udp_config ucfg = {0};
    synack_endpoint_parse("127.0.0.1", &ucfg.local);
    ucfg.local.port = (uint16_t)port;
    synack_endpoint_parse("127.0.0.1", &ucfg.peer);
    ucfg.peer.port = (uint16_t)peer_port;
    char err[256];
    struct synack_link *link;
    struct synack_rt *rt;
    if (synack_udp_open(&link, &ucfg, err, sizeof(err)) != 0 ||
        synack_rt_new(&rt, &cfg, link, SYNACK_RT_THREAD, err, sizeof(err)) != 0) {
        fprintf(stderr, "reuseaddr: %s\n", err);
        exit(1);
    }
    return rt;
}

static int server_socket(struct synack_rt *rt, int port, int reuse)
{
    int s = synack_socket(rt, AF_INET, SOCK_STREAM, 0);
    synack_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (synack_bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        synack_close(s);
        errno = e;
        return -1;
    }
    return s;
}

/* One run of the story on `port`: returns whether the restarted server got its port. */
static int story(struct synack_rt *srv_rt, struct synack_rt *cli_rt, int port, int old_reuse,
                 int new_reuse)
{
    int l = server_socket(srv_rt, port, old_reuse);
    if (l < 0 || synack_listen(l, 4) != 0) return -1;
    int c = synack_socket(cli_rt, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "198.18.0.1", &to.sin_addr);
    if (synack_connect(c, (struct sockaddr *)&to, sizeof(to)) != 0) return -1;
    int a = synack_accept(l, NULL, NULL);
    synack_close(a); /* the server closes first: FIN_WAIT_1 ... TIME_WAIT */
    char b;
    synack_recv(c, &b, 1, 0); /* the client reads the end of the stream ... */
    synack_close(c);          /* ... and closes: LAST_ACK, then CLOSED */
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL); /* the last ACK reaches the server: TIME_WAIT holds port */
    synack_close(l);      /* the server stops */

    int s = server_socket(srv_rt, port, new_reuse); /* ... and starts again */
    printf("old listener %-8s new socket %-8s bind 198.18.0.1:%d: %s\n",
           old_reuse ? "with," : "without,", new_reuse ? "with:" : "without:", port,
           s >= 0 ? "bound" : strerror(errno));
    if (s >= 0) synack_close(s);
    return s >= 0;
}

int main(int argc, char **argv)
{
    unsigned base = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 47100;
    struct synack_rt *srv = runtime("198.18.0.1", base, base + 1);
    struct synack_rt *cli = runtime("198.18.0.2", base + 1, base);
    printf("The server closes first, so its port waits in TIME_WAIT; then it restarts.\n"
           "SO_REUSEADDR on the old listener and on the new socket:\n");
    int ok = story(srv, cli, 8080, 0, 0) == 0 && story(srv, cli, 8081, 1, 0) == 0 &&
             story(srv, cli, 8082, 0, 1) == 0 && story(srv, cli, 8083, 1, 1) == 1;
    synack_rt_free(cli);
    synack_rt_free(srv);
    return ok ? 0 : 1;
}
