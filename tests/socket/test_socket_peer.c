/* socket/ against a peer the test plays packet by packet: one runtime (198.18.0.1, its own
 * thread) over an in-process link; the test pulls each segment the stack sends, checks it,
 * and pushes the peer's answer, built with synack_segment_emit. So each errno case comes
 * from exactly the segment Linux would see: a RST to a SYN, a RST in an established
 * connection, a FIN, silence. Waits that must end are guarded by alarm(); nothing asserts
 * on how long anything took. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "synack/socket.h"

#define HANG_GUARD_S 30
#define ME 0xc6120001u   /* 198.18.0.1: the runtime's stack */
#define PEER 0xc6120002u /* 198.18.0.2: the peer the test plays */
#define PEER_PORT 80
#define PEER_ISS 5000u

struct peer {
    struct synack_rt *rt;
    struct synack_link *link;
    uint16_t my_port; /* the stack's port */
    uint32_t snd_nxt; /* the peer's next sequence number */
    uint32_t rcv_nxt; /* what the peer acknowledges */
};

static void peer_open(struct peer *p)
{
    memset(p, 0, sizeof(*p));
    alarm(HANG_GUARD_S);
    assert_int_equal(synack_inproc_open(&p->link, NULL), 0);
    struct synack_config c;
    synack_config_default(&c);
    struct synack_addr a = synack_addr_v4(ME);
    assert_int_equal(synack_config_add_addr(&c, &a), 0);
    c.rto_initial = c.rto_min = SYNACK_MS(20);
    c.syn_retries = 1;
    c.data_retries = 2;
    c.delack_timeout = 0; /* every segment acknowledged at once: the test expects each ACK */
    assert_int_equal(synack_rt_new(&p->rt, &c, p->link, SYNACK_RT_THREAD, NULL, 0), 0);
}

static void peer_close(struct peer *p)
{
    synack_rt_free(p->rt);
    alarm(0);
}

/* The next segment the stack sends (waiting for it; alarm() bounds the wait). */
static struct synack_segment next_segment(struct peer *p, uint8_t *buf, size_t cap)
{
    for (;;) {
        synack_ssize n = synack_inproc_pull(p->link, buf, cap, NULL);
        if (n > 0) {
            struct synack_segment seg;
            assert_int_equal(synack_segment_parse(buf, (size_t)n, &seg), SYNACK_DROP_NONE);
            return seg;
        }
        usleep(200);
    }
}

static void push(struct peer *p, uint8_t flags, uint32_t seq, const char *data)
{
    struct synack_segment seg = {
        .src = synack_addr_v4(PEER),
        .dst = synack_addr_v4(ME),
        .ttl = 64,
        .src_port = PEER_PORT,
        .dst_port = p->my_port,
        .seq = seq,
        .ack = p->rcv_nxt,
        .flags = flags,
        .window = 65535,
        .payload = (const uint8_t *)data,
        .payload_len = data ? strlen(data) : 0,
    };
    if (flags & SYNACK_TCP_SYN) {
        seg.has_mss = true;
        seg.mss = 1460;
    }
    uint8_t pkt[1600];
    size_t n = synack_segment_emit(&seg, pkt, sizeof(pkt));
    assert_true(n > 0);
    assert_int_equal(synack_inproc_push(p->link, pkt, n, 0), 0);
}

/* A non-blocking connect to the peer: returns the socket; the SYN is in *syn. */
static int connect_nb(struct peer *p, struct synack_segment *syn, uint8_t *buf)
{
    int s = synack_socket(p->rt, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PEER_PORT)};
    sa.sin_addr.s_addr = htonl(PEER);
    assert_int_equal(synack_connect(s, (struct sockaddr *)&sa, sizeof(sa)), -1);
    assert_int_equal(errno, EINPROGRESS);
    *syn = next_segment(p, buf, 1600);
    assert_int_equal(syn->flags, SYNACK_TCP_SYN);
    p->my_port = syn->src_port;
    p->rcv_nxt = syn->seq + 1;
    return s;
}

/* Connects and completes the handshake as the peer; returns the socket, blocking again. */
static int establish(struct peer *p)
{
    uint8_t buf[1600];
    struct synack_segment syn;
    int s = connect_nb(p, &syn, buf);
    push(p, SYNACK_TCP_SYN | SYNACK_TCP_ACK, PEER_ISS, NULL);
    p->snd_nxt = PEER_ISS + 1;
    struct synack_segment ack = next_segment(p, buf, sizeof(buf));
    assert_int_equal(ack.flags, SYNACK_TCP_ACK);
    assert_int_equal(ack.ack, PEER_ISS + 1);
    struct pollfd pf = {.fd = s, .events = POLLOUT};
    assert_int_equal(synack_poll(&pf, 1, -1), 1);
    int err = -1;
    socklen_t len = sizeof(err);
    assert_int_equal(synack_getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    assert_int_equal(err, 0);
    assert_int_equal(synack_fcntl(s, F_SETFL, 0), 0);
    return s;
}

static void rst_to_our_syn_is_econnrefused(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p);
    uint8_t buf[1600];
    struct synack_segment syn;
    int s = connect_nb(&p, &syn, buf);
    push(&p, SYNACK_TCP_RST | SYNACK_TCP_ACK, 0, NULL);
    struct pollfd pf = {.fd = s, .events = POLLOUT};
    assert_int_equal(synack_poll(&pf, 1, -1), 1);
    assert_true(pf.revents & POLLERR);
    int err = 0;
    socklen_t len = sizeof(err);
    assert_int_equal(synack_getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    assert_int_equal(err, ECONNREFUSED);
    /* Reported once: SO_ERROR took it. */
    assert_int_equal(synack_getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    assert_int_equal(err, 0);
    synack_close(s);
    peer_close(&p);
}

static void data_from_the_peer_is_read_and_acknowledged(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p);
    int s = establish(&p);
    push(&p, SYNACK_TCP_ACK | SYNACK_TCP_PSH, p.snd_nxt, "hello");
    p.snd_nxt += 5;
    char b[16];
    assert_int_equal(synack_recv(s, b, sizeof(b), 0), 5);
    assert_memory_equal(b, "hello", 5);
    uint8_t buf[1600];
    struct synack_segment ack = next_segment(&p, buf, sizeof(buf));
    assert_true(ack.flags & SYNACK_TCP_ACK);
    assert_int_equal(ack.ack, p.snd_nxt);
    /* And what the program sends reaches the peer as one segment. */
    assert_int_equal(synack_send(s, "world", 5, 0), 5);
    struct synack_segment data = next_segment(&p, buf, sizeof(buf));
    assert_int_equal(data.payload_len, 5);
    assert_memory_equal(data.payload, "world", 5);
    synack_close(s);
    peer_close(&p);
}

static void rst_in_an_established_connection_is_econnreset_once(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p);
    int s = establish(&p);
    push(&p, SYNACK_TCP_RST | SYNACK_TCP_ACK, p.snd_nxt, NULL);
    char b[4];
    assert_int_equal(synack_recv(s, b, sizeof(b), 0), -1);
    assert_int_equal(errno, ECONNRESET);
    assert_int_equal(synack_recv(s, b, sizeof(b), 0), 0);
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    assert_int_equal(synack_getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
    assert_int_equal(ti.tcpi_state, 7); /* Linux's TCP_CLOSE */
    synack_close(s);
    peer_close(&p);
}

static void fin_from_the_peer_is_end_of_stream_and_close_wait(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p);
    int s = establish(&p);
    push(&p, SYNACK_TCP_FIN | SYNACK_TCP_ACK, p.snd_nxt, "bye");
    char b[8];
    assert_int_equal(synack_recv(s, b, sizeof(b), MSG_WAITALL), 3);
    assert_int_equal(synack_recv(s, b, sizeof(b), 0), 0);
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    assert_int_equal(synack_getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
    assert_int_equal(ti.tcpi_state, 8); /* Linux's TCP_CLOSE_WAIT */
    /* Our close sends the FIN: LAST_ACK. */
    synack_close(s);
    uint8_t buf[1600];
    struct synack_segment seg;
    do
        seg = next_segment(&p, buf, sizeof(buf));
    while (!(seg.flags & SYNACK_TCP_FIN));
    peer_close(&p);
}

static void user_timeout_fails_a_connection_whose_data_is_never_acknowledged(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p);
    int s = establish(&p);
    int ms = 100;
    assert_int_equal(synack_setsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms)), 0);
    assert_int_equal(synack_send(s, "lost", 4, 0), 4);
    /* The peer stays silent: the data is retransmitted, then the connection gives up. */
    char b[4];
    assert_int_equal(synack_recv(s, b, sizeof(b), 0), -1);
    assert_int_equal(errno, ETIMEDOUT);
    synack_close(s);
    peer_close(&p);
}

static void accept4_gives_a_nonblocking_socket_and_the_peers_address(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p);
    int l = synack_socket(p.rt, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(8080)};
    assert_int_equal(synack_bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(synack_listen(l, 4), 0);
    p.my_port = 8080;
    p.rcv_nxt = 0;
    push(&p, SYNACK_TCP_SYN, PEER_ISS, NULL);
    uint8_t buf[1600];
    struct synack_segment synack = next_segment(&p, buf, sizeof(buf));
    assert_int_equal(synack.flags, SYNACK_TCP_SYN | SYNACK_TCP_ACK);
    p.rcv_nxt = synack.seq + 1;
    push(&p, SYNACK_TCP_ACK, PEER_ISS + 1, NULL);
    struct sockaddr_in from;
    socklen_t len = sizeof(from);
    int c = synack_accept4(l, (struct sockaddr *)&from, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    assert_true(c >= 0);
    assert_int_equal(ntohl(from.sin_addr.s_addr), PEER);
    assert_int_equal(ntohs(from.sin_port), PEER_PORT);
    assert_int_equal(synack_fcntl(c, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    char b[4];
    assert_int_equal(synack_recv(c, b, sizeof(b), 0), -1);
    assert_int_equal(errno, EAGAIN);
    synack_close(c);
    synack_close(l);
    peer_close(&p);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(rst_to_our_syn_is_econnrefused),
    cmocka_unit_test(data_from_the_peer_is_read_and_acknowledged),
    cmocka_unit_test(rst_in_an_established_connection_is_econnreset_once),
    cmocka_unit_test(fin_from_the_peer_is_end_of_stream_and_close_wait),
    cmocka_unit_test(user_timeout_fails_a_connection_whose_data_is_never_acknowledged),
    cmocka_unit_test(accept4_gives_a_nonblocking_socket_and_the_peers_address),
};

SYNACK_TEST_MAIN("socket_peer", tests)
