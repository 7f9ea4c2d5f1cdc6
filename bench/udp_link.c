/*
 * The UDP link under a bulk transfer: two stacks, each on its own thread with its own event
 * loop (synack_loop) and UDP link, on 127.0.0.1 (ports 47001 and 47002 unless given);
 * the client connects and sends BYTES over TCP, the server reads them all. What it prints
 * is the transfer's time and the packets both links carried (sent + received, both
 * ends) per second. The system calls per packet come from running it under perf:
 *
 *   build/bench/udp_link [BYTES [PORT]]        (default 256 MiB, ports PORT and PORT+1)
 *   perf stat -e raw_syscalls:sys_enter,syscalls:sys_enter_recvmmsg,\
 *     syscalls:sys_enter_sendmmsg,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto \
 *     build/bench/udp_link
 *
 * Only the public API that the UDP link had before it batched is used, so the same file
 * builds against an older tree for a before/after comparison. Both stacks have 1 MiB
 * send and receive buffers; the links the default path MTU (1500: 1472 inside). Every
 * wait is bounded: a run that has not finished after 60 s stops and says so.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synack/link.h>

#define BENCH_LIMIT SYNACK_MS(60000)
#define BENCH_CHUNK 65536

struct side {
    bool is_client;
    uint32_t addr;       /* 198.18.0.x inside */
    uint16_t port, peer; /* the UDP ports outside */
    struct synack_stack *stack;
    struct synack_link *link;
    struct synack_loop *loop;
    struct synack_listener *lis;
    struct synack_tcp *conn;
    bool connected, closed;
    uint64_t target, bytes; /* to send (client) / received so far */
    synack_time_t end;      /* server: when the last byte and the FIN were read */
    uint8_t buf[BENCH_CHUNK];
};

static atomic_bool server_done;

static void client_turn(struct side *s, synack_time_t now)
{
    struct synack_event ev;
    while (synack_stack_next_event(s->stack, &ev) == 0)
        if (ev.type == SYNACK_EV_CONNECTED) s->connected = true;
    while (s->connected && !s->closed && s->bytes < s->target) {
        uint64_t left = s->target - s->bytes;
        size_t n = left < BENCH_CHUNK ? (size_t)left : BENCH_CHUNK;
        synack_ssize sent = synack_tcp_send(s->conn, s->buf, n, now);
        if (sent <= 0) break;
        s->bytes += (uint64_t)sent;
    }
    if (s->connected && !s->closed && s->bytes == s->target) {
        synack_tcp_close(s->conn, now); /* FIN after the queued data */
        s->closed = true;
    }
}

static void server_turn(struct side *s, synack_time_t now)
{
    struct synack_event ev;
    while (synack_stack_next_event(s->stack, &ev) == 0)
        if (ev.type == SYNACK_EV_ACCEPTABLE && s->conn == NULL)
            (void)synack_tcp_accept(s->lis, &s->conn);
    while (s->conn != NULL && !s->closed) {
        synack_ssize n = synack_tcp_recv(s->conn, s->buf, sizeof s->buf, now);
        if (n > 0) {
            s->bytes += (uint64_t)n;
            continue;
        }
        if (n == 0) { /* the client's FIN: all read */
            s->end = now;
            synack_tcp_close(s->conn, now);
            s->closed = true;
            atomic_store(&server_done, true);
        }
        break;
    }
}

static void on_turn(void *ctx, synack_time_t now)
{
    struct side *s = ctx;
    if (s->is_client)
        client_turn(s, now);
    else
        server_turn(s, now);
}

static int side_open(struct side *s)
{
    struct synack_udp_config ucfg = {0};
    ucfg.local.addr = synack_addr_v4(0x7f000001u);
    ucfg.local.port = s->port;
    ucfg.peer.addr = synack_addr_v4(0x7f000001u);
    ucfg.peer.port = s->peer;
    char err[160];
    if (synack_udp_open(&s->link, &ucfg, err, sizeof err) < 0) {
        fprintf(stderr, "udp_link: %s\n", err);
        return -1;
    }
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(s->addr);
    cfg.mtu = (uint16_t)synack_link_mtu(s->link);
    cfg.sndbuf = 1u << 20;
    cfg.rcvbuf = 1u << 20;
    cfg.seed = s->addr;
    if (synack_stack_new(&s->stack, &cfg) < 0 || synack_loop_new(&s->loop, s->stack, s->link) < 0)
        return -1;
    synack_loop_set_turn(s->loop, on_turn, s);
    return 0;
}

static void *side_main(void *arg)
{
    struct side *s = arg;
    synack_time_t start = synack_loop_now(s->loop);
    while (!atomic_load(&server_done) && synack_loop_now(s->loop) - start < BENCH_LIMIT)
        if (synack_loop_run_once(s->loop, SYNACK_MS(10)) < 0) break;
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t bytes = argc > 1 ? strtoull(argv[1], NULL, 0) : 256ull << 20;
    unsigned port = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 47001;
    if (bytes == 0 || port == 0 || port > 65534) {
        fprintf(stderr, "usage: udp_link [BYTES [PORT]]\n");
        return 2;
    }
    static struct side cli, srv;
    srv = (struct side){.addr = 0xc6120001u, .port = (uint16_t)port, .peer = (uint16_t)(port + 1)};
    cli = (struct side){.is_client = true,
                        .addr = 0xc6120002u,
                        .port = (uint16_t)(port + 1),
                        .peer = (uint16_t)port,
                        .target = bytes};
    memset(cli.buf, 'x', sizeof cli.buf);
    if (side_open(&srv) < 0 || side_open(&cli) < 0) return 1;
    struct synack_endpoint server = {synack_addr_v4(srv.addr), 5001};
    if (synack_tcp_listen(srv.stack, &server, 16, NULL, &srv.lis) < 0) return 1;
    synack_time_t t0 = synack_loop_now(cli.loop);
    if (synack_tcp_connect(cli.stack, &server, NULL, NULL, &cli.conn, t0) < 0) return 1;
    pthread_t ts, tc;
    pthread_create(&ts, NULL, side_main, &srv);
    pthread_create(&tc, NULL, side_main, &cli);
    pthread_join(ts, NULL);
    pthread_join(tc, NULL);
    if (!atomic_load(&server_done) || srv.bytes != bytes) {
        fprintf(stderr, "udp_link: unfinished after 60 s: %llu of %llu bytes\n",
                (unsigned long long)srv.bytes, (unsigned long long)bytes);
        return 1;
    }
    double secs = (double)(srv.end - t0) / 1e9;
    struct synack_link_stats a, b;
    synack_link_stats(srv.link, &a);
    synack_link_stats(cli.link, &b);
    uint64_t pkts = a.rx_packets + a.tx_packets + b.rx_packets + b.tx_packets;
    printf("bytes %llu  seconds %.3f  MB/s %.1f\n", (unsigned long long)bytes, secs,
           (double)bytes / secs / 1e6);
    printf("packets %llu (client tx %llu rx %llu, server tx %llu rx %llu)  packets/s %.0f\n",
           (unsigned long long)pkts, (unsigned long long)b.tx_packets,
           (unsigned long long)b.rx_packets, (unsigned long long)a.tx_packets,
           (unsigned long long)a.rx_packets, (double)pkts / secs);
    printf("errors rx %llu tx %llu\n", (unsigned long long)(a.rx_errors + b.rx_errors),
           (unsigned long long)(a.tx_errors + b.tx_errors));
    synack_loop_free(srv.loop);
    synack_loop_free(cli.loop);
    synack_stack_free(srv.stack);
    synack_stack_free(cli.stack);
    synack_link_free(srv.link);
    synack_link_free(cli.link);
    return 0;
}
