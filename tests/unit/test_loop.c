/* drivers/loop: the epoll event loop. Two stacks over UDP on 127.0.0.1, each with its
 * own loop, driven alternately from one thread; served descriptors; batching, timers
 * and deadlines with a fake link. No privileges needed, and no assertion on how long
 * anything took: waits that must end are guarded by alarm() so a loop that blocks for
 * ever fails the test instead of hanging it. */
#include "harness.h"
#include "netns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "synack/link.h"
#include "wire/wire.h"

#define LOCALHOST 0x7f000001u
#define ADDR_A 0xc6120001u /* 198.18.0.1 */
#define ADDR_B 0xc6120002u /* 198.18.0.2 */
/* If a guarded wait blocks this long, SIGALRM ends the test (and fails it). */
#define HANG_GUARD_S 30

/* ---- a fake link ----------------------------------------------------------------------- */

#define FAKE_MAX_SENT 8

struct fake_link {
    struct synack_link base;
    int fd;              /* -1, or an eventfd made readable */
    int queued;          /* packets recv will hand out */
    int recv_calls;      /* every call, AGAIN included */
    bool fail_io;        /* recv fails with IO */
    bool echo;           /* recv hands out ICMP echo requests instead of bad packets */
    synack_time_t dline; /* next_deadline */
    int polls;
    synack_time_t poll_now;
    uint8_t sent[FAKE_MAX_SENT][1600];
    size_t sent_len[FAKE_MAX_SENT];
    int nsent;
};

/* An IPv4 header from 198.18.0.2 to 198.18.0.1 whose checksum is wrong, so the stack
 * counts it under ip-checksum: proof that it was handed over. */
static const uint8_t fake_bad_packet[20] = {0x45, 0,    0,   20, 0, 1, 0,   0,  64, 6,
                                            0xde, 0xad, 198, 18, 0, 2, 198, 18, 0,  1};

static synack_ssize fake_recv(struct synack_link *l, uint8_t *buf, size_t cap, synack_time_t now)
{
    (void)now;
    struct fake_link *f = (struct fake_link *)l;
    f->recv_calls++;
    if (f->fail_io) return SYNACK_ERR_IO;
    if (f->queued == 0) return SYNACK_ERR_AGAIN;
    f->queued--;
    if (f->echo) {
        struct wire_ip_repr ip = {
            .src = synack_addr_v4(0xc6120002u), .dst = synack_addr_v4(0xc6120001u), .ttl = 64};
        struct wire_icmp_repr m = {
            .type = WIRE_ICMP_ECHO_REQUEST, .id = 7, .seq = (uint16_t)f->queued};
        size_t n = wire_icmp_packet_emit(&ip, &m, buf, cap);
        assert_true(n > 0);
        return (synack_ssize)n;
    }
    assert_true(cap >= sizeof(fake_bad_packet));
    memcpy(buf, fake_bad_packet, sizeof(fake_bad_packet));
    return sizeof(fake_bad_packet);
}

static int fake_send(struct synack_link *l, const uint8_t *pkt, size_t len, synack_time_t now)
{
    (void)now;
    struct fake_link *f = (struct fake_link *)l;
    if (f->nsent < FAKE_MAX_SENT && len <= sizeof(f->sent[0])) {
        memcpy(f->sent[f->nsent], pkt, len);
        f->sent_len[f->nsent] = len;
    }
    f->nsent++;
    return 0;
}

static int fake_fd(const struct synack_link *l)
{
    return ((const struct fake_link *)l)->fd;
}

static synack_time_t fake_next_deadline(const struct synack_link *l)
{
    return ((const struct fake_link *)l)->dline;
}

static void fake_poll(struct synack_link *l, synack_time_t now)
{
    struct fake_link *f = (struct fake_link *)l;
    f->polls++;
    f->poll_now = now;
    f->dline = SYNACK_NEVER;
}

static unsigned fake_mtu(const struct synack_link *l)
{
    (void)l;
    return 1500;
}

static void fake_free(struct synack_link *l)
{
    (void)l;
}

static const struct synack_link_ops fake_ops = {
    .kind = "fake",
    .recv = fake_recv,
    .send = fake_send,
    .fd = fake_fd,
    .next_deadline = fake_next_deadline,
    .poll = fake_poll,
    .mtu = fake_mtu,
    .free = fake_free,
};

static void fake_init(struct fake_link *f)
{
    memset(f, 0, sizeof(*f));
    f->base.ops = &fake_ops;
    f->fd = -1;
    f->dline = SYNACK_NEVER;
}

static struct synack_stack *new_stack(uint32_t addr, unsigned mtu, uint64_t seed)
{
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(addr);
    cfg.mtu = (uint16_t)mtu;
    cfg.seed = seed;
    cfg.isn_secret[0] = (uint8_t)seed;
    struct synack_stack *s = NULL;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    return s;
}

/* ---- two stacks over UDP ------------------------------------------------------------------ */

#define XFER_BYTES (1u << 20)
#define XFER_PORT 5000

struct xfer_side {
    struct synack_stack *stack;
    struct synack_listener *listener; /* server only */
    struct synack_tcp *conn;
    const uint8_t *data; /* client: what to send */
    size_t sent;
    bool shut;
    uint8_t *got; /* server: what arrived */
    size_t received;
    bool eof;       /* recv returned 0 */
    int err;        /* an ERROR event */
    bool connected; /* CONNECTED (client) or accepted (server) */
    unsigned turns;
};

static void xfer_events(struct xfer_side *x)
{
    struct synack_event ev;
    while (synack_stack_next_event(x->stack, &ev) == 0) {
        if (ev.type == SYNACK_EV_CONNECTED) x->connected = true;
        if (ev.type == SYNACK_EV_ERROR) x->err = ev.err;
    }
}

static void xfer_recv_all(struct xfer_side *x, synack_time_t now)
{
    uint8_t scratch[4096];
    while (!x->eof) {
        uint8_t *dst = x->got ? x->got + x->received : scratch;
        size_t room = x->got ? XFER_BYTES - x->received : sizeof(scratch);
        if (room == 0) { /* more than was sent: keep it out of bounds, and fail */
            dst = scratch;
            room = sizeof(scratch);
        }
        synack_ssize n = synack_tcp_recv(x->conn, dst, room, now);
        if (n == 0) x->eof = true;
        if (n <= 0) break;
        x->received += (size_t)n;
    }
}

static void xfer_client_turn(void *ctx, synack_time_t now)
{
    struct xfer_side *x = ctx;
    x->turns++;
    xfer_events(x);
    if (!x->connected || x->err) return;
    while (x->sent < XFER_BYTES) {
        synack_ssize n = synack_tcp_send(x->conn, x->data + x->sent, XFER_BYTES - x->sent, now);
        if (n <= 0) break;
        x->sent += (size_t)n;
    }
    if (x->sent == XFER_BYTES && !x->shut) {
        assert_int_equal(synack_tcp_shutdown(x->conn, now), 0);
        x->shut = true;
    }
    xfer_recv_all(x, now);
}

static void xfer_server_turn(void *ctx, synack_time_t now)
{
    struct xfer_side *x = ctx;
    x->turns++;
    xfer_events(x);
    if (x->conn == NULL && synack_tcp_accept(x->listener, &x->conn) == 0) x->connected = true;
    if (x->conn == NULL) return;
    xfer_recv_all(x, now);
    /* Answer the client's FIN with ours once everything is in. */
    if (x->eof && !x->shut) {
        assert_int_equal(synack_tcp_shutdown(x->conn, now), 0);
        x->shut = true;
    }
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(LOCALHOST)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static struct synack_link *open_udp(uint16_t local, uint16_t peer)
{
    struct synack_udp_config cfg = {.local = synack_test_ep(LOCALHOST, local),
                                    .peer = synack_test_ep(LOCALHOST, peer)};
    struct synack_link *l = NULL;
    char err[160] = "";
    int rc = synack_udp_open(&l, &cfg, err, sizeof(err));
    if (rc != 0) fail_msg("synack_udp_open: %d: %s", rc, err);
    return l;
}

/* A handshake, 1 MiB one way byte-exact, and both FINs, between two stacks that each
 * run their own loop over UDP. The turns are bounded; none is timed. */
static void loop_two_stacks_over_udp_move_1mib(void **state)
{
    (void)state;
    uint16_t pa = free_port(), pb = free_port();
    while (pb == pa)
        pb = free_port();
    struct synack_link *la = open_udp(pa, pb), *lb = open_udp(pb, pa);
    struct xfer_side client = {0}, server = {0};
    client.stack = new_stack(ADDR_A, synack_link_mtu(la), 1);
    server.stack = new_stack(ADDR_B, synack_link_mtu(lb), 2);
    uint8_t *data = malloc(XFER_BYTES);
    server.got = malloc(XFER_BYTES);
    assert_non_null(data);
    assert_non_null(server.got);
    for (size_t i = 0; i < XFER_BYTES; i++)
        data[i] = (uint8_t)((i * 2654435761u) >> 13);
    client.data = data;

    struct synack_loop *a, *b;
    assert_int_equal(synack_loop_new(&a, client.stack, la), 0);
    assert_int_equal(synack_loop_new(&b, server.stack, lb), 0);
    synack_loop_set_turn(a, xfer_client_turn, &client);
    synack_loop_set_turn(b, xfer_server_turn, &server);
    assert_int_equal(
        synack_tcp_listen(server.stack, &SYNACK_TEST_EP(0, XFER_PORT), 4, NULL, &server.listener),
        0);
    assert_int_equal(synack_tcp_connect(client.stack, &SYNACK_TEST_EP(ADDR_B, XFER_PORT),
                                        &SYNACK_TEST_EP(0, 0), NULL, &client.conn,
                                        synack_loop_now(a)),
                     0);

    for (int i = 0; i < 200000 && !(client.eof && server.eof); i++) {
        assert_int_equal(synack_loop_run_once(a, SYNACK_MS(1)), 0);
        assert_int_equal(synack_loop_run_once(b, SYNACK_MS(1)), 0);
        assert_int_equal(client.err, 0);
        assert_int_equal(server.err, 0);
    }
    assert_true(client.connected && server.connected);
    assert_int_equal(client.sent, XFER_BYTES);
    assert_int_equal(server.received, XFER_BYTES);
    assert_memory_equal(server.got, data, XFER_BYTES);
    assert_true(server.eof);
    assert_true(client.eof);
    assert_int_equal(client.received, 0);

    /* Every packet went through the links: the stacks' segments are the links' packets. */
    struct synack_link_stats sa, sb;
    synack_link_stats(la, &sa);
    synack_link_stats(lb, &sb);
    assert_true(sa.tx_packets > XFER_BYTES / synack_link_mtu(la));
    assert_true(sb.rx_packets > 0 && sb.rx_packets <= sa.tx_packets);

    synack_loop_free(a);
    synack_loop_free(b);
    synack_stack_free(client.stack);
    synack_stack_free(server.stack);
    synack_link_free(la);
    synack_link_free(lb);
    free(data);
    free(server.got);
}

/* ---- a path MTU that falls below the link's (root: a network namespace) ---------------- */

#define NS_ADDR_A "198.18.20.1"
#define NS_ADDR_B "198.18.20.2"

static struct synack_link *open_udp_at(uint32_t local, uint16_t lport, uint32_t peer,
                                       uint16_t pport)
{
    struct synack_udp_config cfg = {.local = synack_test_ep(local, lport),
                                    .peer = synack_test_ep(peer, pport)};
    struct synack_link *l = NULL;
    char err[160] = "";
    if (synack_udp_open(&l, &cfg, err, sizeof(err)) != 0) fprintf(stderr, "udp: %s\n", err);
    return l;
}

/* Two stacks over UDP between two addresses of the namespace's loopback. Both start with
 * the link's MTU (1472: a 1500-byte path); then the path to B falls to 1200 (a locked
 * route MTU, as the kernel's cache would hold after a router's fragmentation-needed), so
 * the kernel refuses every full-size datagram. The UDP link tells A's stack (a
 * fragmentation-needed message), which lowers its MSS and resends: the transfer completes
 * byte-exact. Without that message it would stall for good. Turns are bounded, not timed. */
static int loop_child_path_mtu_falls(void)
{
    struct synack_link *la = open_udp_at(0xc6121401u, 47101, 0xc6121402u, 47102);
    struct synack_link *lb = open_udp_at(0xc6121402u, 47102, 0xc6121401u, 47101);
    CHILD_CHECK(la != NULL && lb != NULL);
    CHILD_CHECK(synack_link_mtu(la) == 1472);
    struct xfer_side client = {0}, server = {0};
    client.stack = new_stack(ADDR_A, synack_link_mtu(la), 5);
    server.stack = new_stack(ADDR_B, synack_link_mtu(lb), 6);
    uint8_t *data = malloc(XFER_BYTES);
    server.got = malloc(XFER_BYTES);
    CHILD_CHECK(data != NULL && server.got != NULL);
    for (size_t i = 0; i < XFER_BYTES; i++)
        data[i] = (uint8_t)((i * 2654435761u) >> 11);
    client.data = data;
    CHILD_CHECK(system("ip route replace local " NS_ADDR_B " dev lo table local proto kernel "
                       "scope host src " NS_ADDR_B " mtu lock 1200") == 0);

    struct synack_loop *a, *b;
    CHILD_CHECK(synack_loop_new(&a, client.stack, la) == 0);
    CHILD_CHECK(synack_loop_new(&b, server.stack, lb) == 0);
    synack_loop_set_turn(a, xfer_client_turn, &client);
    synack_loop_set_turn(b, xfer_server_turn, &server);
    CHILD_CHECK(synack_tcp_listen(server.stack, &SYNACK_TEST_EP(0, XFER_PORT), 4, NULL,
                                  &server.listener) == 0);
    CHILD_CHECK(synack_tcp_connect(client.stack, &SYNACK_TEST_EP(ADDR_B, XFER_PORT),
                                   &SYNACK_TEST_EP(0, 0), NULL, &client.conn,
                                   synack_loop_now(a)) == 0);
    for (int i = 0; i < 20000 && !(client.eof && server.eof) && !client.err && !server.err; i++) {
        CHILD_CHECK(synack_loop_run_once(a, SYNACK_MS(1)) == 0);
        CHILD_CHECK(synack_loop_run_once(b, SYNACK_MS(1)) == 0);
    }
    CHILD_CHECK(client.err == 0 && server.err == 0);
    CHILD_CHECK(server.received == XFER_BYTES);
    CHILD_CHECK(memcmp(server.got, data, XFER_BYTES) == 0);
    CHILD_CHECK(client.eof && server.eof);

    struct synack_link_stats st;
    synack_link_stats(la, &st);
    CHILD_CHECK(st.too_big >= 1);
    struct synack_counters ctr;
    synack_stack_counters(client.stack, &ctr);
    CHILD_CHECK(ctr.pmtu_decreases >= 1);
    struct synack_tcp_info info;
    CHILD_CHECK(synack_tcp_info(client.conn, &info) == 0);
    CHILD_CHECK(info.pmtu == 1200 - 28);
    fprintf(stderr, "too big %llu, path MTU decreases %llu, rto expiries %llu\n",
            (unsigned long long)st.too_big, (unsigned long long)ctr.pmtu_decreases,
            (unsigned long long)ctr.rto_expiries);

    synack_loop_free(a);
    synack_loop_free(b);
    synack_stack_free(client.stack);
    synack_stack_free(server.stack);
    synack_link_free(la);
    synack_link_free(lb);
    free(data);
    free(server.got);
    return 0;
}

static void loop_transfer_survives_path_mtu_fall(void **state)
{
    (void)state;
    netns_run(loop_child_path_mtu_falls,
              "ip link set lo up && ip addr add " NS_ADDR_A "/32 dev lo && "
              "ip addr add " NS_ADDR_B "/32 dev lo",
              false);
}

/* ---- served descriptors ----------------------------------------------------------------- */

struct fd_calls {
    int count;
    int fd;
    unsigned ready;
};

static void fd_record(void *ctx, int fd, unsigned ready, synack_time_t now)
{
    (void)now;
    struct fd_calls *c = ctx;
    c->count++;
    c->fd = fd;
    c->ready = ready;
}

static void fd_record_and_drain(void *ctx, int fd, unsigned ready, synack_time_t now)
{
    fd_record(ctx, fd, ready, now);
    char buf[64];
    assert_true(read(fd, buf, sizeof(buf)) > 0);
}

static void loop_serves_pipe_descriptors(void **state)
{
    (void)state;
    struct fake_link link;
    fake_init(&link);
    struct synack_stack *s = new_stack(ADDR_A, 1500, 3);
    struct synack_loop *loop;
    assert_int_equal(synack_loop_new(&loop, s, &link.base), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct fd_calls rd = {0}, wr = {0};
    assert_int_equal(synack_loop_add_fd(loop, p[0], SYNACK_LOOP_IN, fd_record_and_drain, &rd), 0);
    assert_int_equal(synack_loop_add_fd(loop, p[0], SYNACK_LOOP_IN, fd_record, &rd),
                     SYNACK_ERR_INVAL); /* already served */

    /* Nothing written: the read end is not ready. */
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    assert_int_equal(rd.count, 0);
    /* Written: its callback runs with IN. */
    assert_int_equal(write(p[1], "x", 1), 1);
    alarm(HANG_GUARD_S);
    assert_int_equal(synack_loop_run_once(loop, SYNACK_NEVER), 0);
    alarm(0);
    assert_int_equal(rd.count, 1);
    assert_int_equal(rd.fd, p[0]);
    assert_int_equal(rd.ready, SYNACK_LOOP_IN);

    /* Paused: a byte waits, but no call. */
    assert_int_equal(synack_loop_mod_fd(loop, p[0], 0), 0);
    assert_int_equal(write(p[1], "y", 1), 1);
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    assert_int_equal(rd.count, 1);
    /* Resumed: the waiting byte is reported. */
    assert_int_equal(synack_loop_mod_fd(loop, p[0], SYNACK_LOOP_IN), 0);
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    assert_int_equal(rd.count, 2);

    /* The write end polls writable. */
    assert_int_equal(synack_loop_add_fd(loop, p[1], SYNACK_LOOP_OUT, fd_record, &wr), 0);
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    assert_int_equal(wr.count, 1);
    assert_int_equal(wr.fd, p[1]);
    assert_int_equal(wr.ready, SYNACK_LOOP_OUT);

    /* Deleted: no more calls, although a byte waits. */
    synack_loop_del_fd(loop, p[0]);
    assert_int_equal(write(p[1], "z", 1), 1);
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    assert_int_equal(rd.count, 2);
    assert_int_equal(synack_loop_mod_fd(loop, p[0], SYNACK_LOOP_IN), SYNACK_ERR_INVAL);

    synack_loop_free(loop);
    close(p[0]);
    close(p[1]);
    synack_stack_free(s);
}

/* A pipe whose writer has gone, while paused, does not wake the loop (epoll would report
 * the hang-up even with no events asked); once resumed, the callback hears of it. */
static void loop_paused_hangup_is_quiet(void **state)
{
    (void)state;
    struct fake_link link;
    fake_init(&link);
    struct synack_stack *s = new_stack(ADDR_A, 1500, 3);
    struct synack_loop *loop;
    assert_int_equal(synack_loop_new(&loop, s, &link.base), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct fd_calls rd = {0};
    assert_int_equal(synack_loop_add_fd(loop, p[0], 0, fd_record, &rd), 0);
    close(p[1]);
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    assert_int_equal(rd.count, 0);
    assert_int_equal(synack_loop_mod_fd(loop, p[0], SYNACK_LOOP_IN), 0);
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    assert_int_equal(rd.count, 1);
    assert_int_equal(rd.ready, SYNACK_LOOP_IN);
    synack_loop_free(loop);
    close(p[0]);
    synack_stack_free(s);
}

/* A regular file (which epoll refuses) is reported ready every turn, and the loop does not
 * block while it is served: with nothing else to wake it, a blocking wait would trip the
 * alarm. */
static void loop_regular_file_ready_every_turn(void **state)
{
    (void)state;
    struct fake_link link;
    fake_init(&link);
    struct synack_stack *s = new_stack(ADDR_A, 1500, 3);
    struct synack_loop *loop;
    assert_int_equal(synack_loop_new(&loop, s, &link.base), 0);
    FILE *f = tmpfile();
    assert_non_null(f);
    int fd = fileno(f);
    struct fd_calls c = {0};
    assert_int_equal(synack_loop_add_fd(loop, fd, SYNACK_LOOP_IN | SYNACK_LOOP_OUT, fd_record, &c),
                     0);
    alarm(HANG_GUARD_S);
    for (int i = 0; i < 3; i++)
        assert_int_equal(synack_loop_run_once(loop, SYNACK_NEVER), 0);
    alarm(0);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.fd, fd);
    assert_int_equal(c.ready, SYNACK_LOOP_IN | SYNACK_LOOP_OUT);
    /* Paused, it is not reported. */
    assert_int_equal(synack_loop_mod_fd(loop, fd, 0), 0);
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    assert_int_equal(c.count, 3);
    synack_loop_free(loop);
    fclose(f);
    synack_stack_free(s);
}

/* ---- packets, timers, deadlines ---------------------------------------------------------- */

/* At most SYNACK_LOOP_BATCH packets are read per turn, each handed to the stack. */
static void loop_reads_link_in_batches(void **state)
{
    (void)state;
    struct fake_link link;
    fake_init(&link);
    link.fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK); /* always readable */
    assert_true(link.fd >= 0);
    link.queued = SYNACK_LOOP_BATCH + 36;
    struct synack_stack *s = new_stack(ADDR_A, 1500, 3);
    struct synack_loop *loop;
    assert_int_equal(synack_loop_new(&loop, s, &link.base), 0);
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    assert_int_equal(link.recv_calls, SYNACK_LOOP_BATCH);
    assert_int_equal(link.queued, 36);
    struct synack_counters ctr;
    synack_stack_counters(s, &ctr);
    assert_int_equal(ctr.drops[SYNACK_DROP_IP_CHECKSUM], SYNACK_LOOP_BATCH);
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    assert_int_equal(link.queued, 0);
    assert_int_equal(link.recv_calls, SYNACK_LOOP_BATCH + 36 + 1); /* the last said AGAIN */
    synack_stack_counters(s, &ctr);
    assert_int_equal(ctr.drops[SYNACK_DROP_IP_CHECKSUM], SYNACK_LOOP_BATCH + 36);
    synack_loop_free(loop);
    close(link.fd);
    synack_stack_free(s);
}

/* What the stack answers to each packet leaves before the next packet is read: a batch of
 * 64 echo requests gets 64 replies, although the stack holds only 8 replies at a time.
 * The same ordering gives a TCP peer an ACK every second segment (RFC 5681 §4.2) instead
 * of one per batch. */
static void loop_answers_each_packet_before_reading_the_next(void **state)
{
    (void)state;
    struct fake_link link;
    fake_init(&link);
    link.fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(link.fd >= 0);
    link.echo = true;
    link.queued = SYNACK_LOOP_BATCH;
    struct synack_stack *s = new_stack(ADDR_A, 1500, 3);
    struct synack_loop *loop;
    assert_int_equal(synack_loop_new(&loop, s, &link.base), 0);
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    assert_int_equal(link.queued, 0);
    struct synack_counters ctr;
    synack_stack_counters(s, &ctr);
    assert_int_equal(ctr.icmp_echo_replies, SYNACK_LOOP_BATCH);
    assert_int_equal(ctr.drops[SYNACK_DROP_ICMP_QUEUE_FULL], 0);
    assert_int_equal(link.nsent, SYNACK_LOOP_BATCH);
    synack_loop_free(loop);
    close(link.fd);
    synack_stack_free(s);
}

/* A link whose every read fails (and whose descriptor stays readable, as a deleted TUN
 * device's does) makes run_once report IO after 1000 such turns in a row, rather than
 * spin for ever; one good read in between starts the count again. */
static void loop_gives_up_on_failing_link(void **state)
{
    (void)state;
    struct fake_link link;
    fake_init(&link);
    link.fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK); /* always readable */
    assert_true(link.fd >= 0);
    link.fail_io = true;
    struct synack_stack *s = new_stack(ADDR_A, 1500, 3);
    struct synack_loop *loop;
    assert_int_equal(synack_loop_new(&loop, s, &link.base), 0);
    for (int i = 0; i < 999; i++)
        assert_int_equal(synack_loop_run_once(loop, 0), 0);
    link.fail_io = false; /* one turn that reads fine (AGAIN) */
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    link.fail_io = true;
    int turns = 0, rc = 0;
    while (rc == 0 && turns < 5000) {
        rc = synack_loop_run_once(loop, 0);
        turns++;
    }
    assert_int_equal(rc, SYNACK_ERR_IO);
    assert_int_equal(turns, 1000);
    synack_loop_free(loop);
    close(link.fd);
    synack_stack_free(s);
}

/* The loop sleeps until the link's deadline and then polls it: nothing else could wake
 * it (no fd, no stack deadline, no limit on the wait). */
static void loop_wakes_for_link_deadline(void **state)
{
    (void)state;
    struct fake_link link;
    fake_init(&link);
    struct synack_stack *s = new_stack(ADDR_A, 1500, 3);
    struct synack_loop *loop;
    assert_int_equal(synack_loop_new(&loop, s, &link.base), 0);
    synack_time_t due = synack_loop_now(loop) + SYNACK_US(2500);
    link.dline = due;
    alarm(HANG_GUARD_S);
    for (int i = 0; i < 1000 && link.polls == 0; i++)
        assert_int_equal(synack_loop_run_once(loop, SYNACK_NEVER), 0);
    alarm(0);
    assert_int_equal(link.polls, 1);
    assert_true(link.poll_now >= due);
    synack_loop_free(loop);
    synack_stack_free(s);
}

/* The stack's timers run when due, and what they produce is drained into the link: a SYN
 * to nobody, then its retransmission. */
static void loop_runs_stack_timers_and_drains_output(void **state)
{
    (void)state;
    struct fake_link link;
    fake_init(&link);
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(ADDR_A);
    cfg.rto_initial = SYNACK_MS(5);
    cfg.rto_min = SYNACK_MS(1);
    struct synack_stack *s = NULL;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    struct synack_loop *loop;
    assert_int_equal(synack_loop_new(&loop, s, &link.base), 0);
    struct synack_tcp *t;
    assert_int_equal(synack_tcp_connect(s, &SYNACK_TEST_EP(ADDR_B, 80), &SYNACK_TEST_EP(0, 40000),
                                        NULL, &t, synack_loop_now(loop)),
                     0);
    assert_int_equal(synack_loop_run_once(loop, 0), 0);
    assert_int_equal(link.nsent, 1);
    alarm(HANG_GUARD_S);
    for (int i = 0; i < 1000 && link.nsent < 2; i++)
        assert_int_equal(synack_loop_run_once(loop, SYNACK_NEVER), 0);
    alarm(0);
    assert_int_equal(link.nsent, 2);
    struct synack_counters ctr;
    synack_stack_counters(s, &ctr);
    assert_int_equal(ctr.rto_expiries, 1);
    for (int i = 0; i < 2; i++) {
        assert_true(link.sent_len[i] >= 40);
        assert_int_equal(link.sent[i][9], 6);          /* TCP */
        assert_int_equal(link.sent[i][20 + 13], 0x02); /* SYN only */
    }
    synack_loop_free(loop);
    synack_stack_free(s);
}

/* What the application did between turns is sent before the loop sleeps: here a SYN
 * queued by a connect before the first turn. If the loop slept first, nothing (no fd, no
 * deadline before the SYN is out, no limit on the wait) would wake it and the alarm
 * would end the test. */
static void loop_sends_before_sleeping(void **state)
{
    (void)state;
    struct fake_link link;
    fake_init(&link);
    struct synack_config cfg;
    synack_config_default(&cfg);
    cfg.addrs[0] = synack_addr_v4(ADDR_A);
    cfg.rto_initial = SYNACK_MS(5); /* the wait ends at the SYN's retransmission */
    cfg.rto_min = SYNACK_MS(1);
    struct synack_stack *s = NULL;
    assert_int_equal(synack_stack_new(&s, &cfg), 0);
    struct synack_loop *loop;
    assert_int_equal(synack_loop_new(&loop, s, &link.base), 0);
    struct synack_tcp *t;
    assert_int_equal(synack_tcp_connect(s, &SYNACK_TEST_EP(ADDR_B, 80), &SYNACK_TEST_EP(0, 40000),
                                        NULL, &t, synack_loop_now(loop)),
                     0);
    alarm(HANG_GUARD_S);
    assert_int_equal(synack_loop_run_once(loop, SYNACK_NEVER), 0);
    alarm(0);
    assert_true(link.nsent >= 1);
    assert_int_equal(link.sent[0][20 + 13], 0x02); /* the SYN */
    synack_loop_free(loop);
    synack_stack_free(s);
}

/* The turn hook of loop_wakes_for_hook_events: reads the events, and in its first turn
 * closes the connection, still in SYN_SENT. */
struct hook_app {
    struct synack_stack *stack;
    struct synack_tcp *conn;
    int turns;
    int closed_turn; /* the turn in which the hook read CLOSED; 0: not yet */
};

static void close_in_first_turn(void *ctx, synack_time_t now)
{
    struct hook_app *a = ctx;
    a->turns++;
    struct synack_event ev;
    while (synack_stack_next_event(a->stack, &ev) == 0)
        if (ev.type == SYNACK_EV_CLOSED && a->closed_turn == 0) a->closed_turn = a->turns;
    if (a->turns == 1) {
        synack_tcp_close(a->conn, now); /* SYN_SENT -> CLOSED: the events are queued now */
        a->conn = NULL;
    }
}

/* Events the hook's own calls queue are shown to it in the next turn without waiting: a
 * close in SYN_SENT leaves no packet to wait for and no deadline, so a loop that slept
 * would sleep for ever (max_wait NEVER) and the alarm would end the test. */
static void loop_wakes_for_hook_events(void **state)
{
    (void)state;
    struct fake_link link;
    fake_init(&link);
    struct synack_stack *s = new_stack(ADDR_A, 1500, 3);
    struct synack_loop *loop;
    assert_int_equal(synack_loop_new(&loop, s, &link.base), 0);
    struct hook_app app = {.stack = s};
    synack_loop_set_turn(loop, close_in_first_turn, &app);
    assert_int_equal(synack_tcp_connect(s, &SYNACK_TEST_EP(ADDR_B, 80), &SYNACK_TEST_EP(0, 40000),
                                        NULL, &app.conn, synack_loop_now(loop)),
                     0);
    assert_int_equal(synack_loop_run_once(loop, 0), 0); /* the SYN goes; the hook closes */
    assert_int_equal(app.turns, 1);
    assert_int_equal(app.closed_turn, 0);
    assert_true(synack_stack_has_events(s));
    assert_int_equal(synack_stack_next_deadline(s), SYNACK_NEVER); /* nothing else to wake it */
    alarm(HANG_GUARD_S);
    assert_int_equal(synack_loop_run_once(loop, SYNACK_NEVER), 0);
    alarm(0);
    assert_int_equal(app.turns, 2);
    assert_int_equal(app.closed_turn, 2);
    assert_false(synack_stack_has_events(s));
    synack_loop_free(loop);
    synack_stack_free(s);
}

static void stop_after_three(void *ctx, synack_time_t now)
{
    (void)now;
    void **c = ctx;
    int *turns = c[0];
    if (++*turns == 3) synack_loop_stop(c[1]);
}

static void loop_run_until_stop(void **state)
{
    (void)state;
    struct fake_link link;
    fake_init(&link);
    struct synack_stack *s = new_stack(ADDR_A, 1500, 3);
    struct synack_loop *loop;
    assert_int_equal(synack_loop_new(&loop, s, &link.base), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct fd_calls wr = {0};
    /* Something always ready, so that every turn returns at once. */
    assert_int_equal(synack_loop_add_fd(loop, p[1], SYNACK_LOOP_OUT, fd_record, &wr), 0);
    int turns = 0;
    void *ctx[2] = {&turns, loop};
    synack_loop_set_turn(loop, stop_after_three, ctx);
    alarm(HANG_GUARD_S);
    assert_int_equal(synack_loop_run(loop), 0);
    alarm(0);
    assert_int_equal(turns, 3);
    assert_int_equal(wr.count, 3);
    synack_loop_free(loop);
    close(p[0]);
    close(p[1]);
    synack_stack_free(s);
}

static void loop_rejects_bad_arguments(void **state)
{
    (void)state;
    struct fake_link link;
    fake_init(&link);
    struct synack_stack *s = new_stack(ADDR_A, 1500, 3);
    struct synack_loop *loop = NULL;
    assert_int_equal(synack_loop_new(&loop, NULL, &link.base), SYNACK_ERR_INVAL);
    assert_int_equal(synack_loop_new(&loop, s, NULL), SYNACK_ERR_INVAL);
    assert_int_equal(synack_loop_new(&loop, s, &link.base), 0);
    assert_int_equal(synack_loop_add_fd(loop, -1, SYNACK_LOOP_IN, fd_record, NULL),
                     SYNACK_ERR_INVAL);
    assert_int_equal(synack_loop_add_fd(loop, 0, 0x8, fd_record, NULL), SYNACK_ERR_INVAL);
    assert_int_equal(synack_loop_add_fd(loop, 0, SYNACK_LOOP_IN, NULL, NULL), SYNACK_ERR_INVAL);
    assert_int_equal(synack_loop_mod_fd(loop, 0, SYNACK_LOOP_IN), SYNACK_ERR_INVAL);
    synack_loop_del_fd(loop, 12345); /* not served: nothing happens */
    /* The epoch offset turns loop time into time since 1970: well after 2020. */
    assert_true(synack_loop_now(loop) + synack_loop_epoch_offset(loop) > SYNACK_S(1577836800));
    synack_loop_free(loop);
    synack_loop_free(NULL);
    synack_stack_free(s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(loop_two_stacks_over_udp_move_1mib),
    cmocka_unit_test(loop_transfer_survives_path_mtu_fall),
    cmocka_unit_test(loop_serves_pipe_descriptors),
    cmocka_unit_test(loop_paused_hangup_is_quiet),
    cmocka_unit_test(loop_regular_file_ready_every_turn),
    cmocka_unit_test(loop_reads_link_in_batches),
    cmocka_unit_test(loop_answers_each_packet_before_reading_the_next),
    cmocka_unit_test(loop_gives_up_on_failing_link),
    cmocka_unit_test(loop_wakes_for_link_deadline),
    cmocka_unit_test(loop_runs_stack_timers_and_drains_output),
    cmocka_unit_test(loop_sends_before_sleeping),
    cmocka_unit_test(loop_wakes_for_hook_events),
    cmocka_unit_test(loop_run_until_stop),
    cmocka_unit_test(loop_rejects_bad_arguments),
};

SYNACK_TEST_MAIN("loop", tests)
