#include "lesson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the acts ------------------------------------------------------------------------------ */

static void setup_handshake(struct scenario_opts *o)
{
    o->bytes = 1000;
}

static void setup_close_client_first(struct scenario_opts *o)
{
    o->bytes = 0;
}

static void setup_close_server_first(struct scenario_opts *o)
{
    o->bytes = 0;
    o->server_closes = true;
}

/* The client's packets: 1 SYN, 2 the handshake's ACK, 3 FIN, 4 the ACK of the server's
 * FIN, the last ACK, lost. */
static const uint64_t time_wait_drop[] = {4};

static void setup_time_wait(struct scenario_opts *o)
{
    o->bytes = 0;
    o->drop_client_to_server = time_wait_drop;
    o->drop_c2s_count = 1;
}

/* Without RACK-TLP only the retransmission timer repairs a loss at the tail. */
static void tune_no_rack(struct synack_config *cfg, bool server)
{
    (void)server;
    cfg->rack = false;
}

/* 1 SYN, 2 ACK, 3 the data, 4 and 5 its first two retransmissions: all lost. */
static const uint64_t retransmission_drop[] = {3, 4, 5};

static void setup_retransmission(struct scenario_opts *o)
{
    o->bytes = 1000;
    o->drop_client_to_server = retransmission_drop;
    o->drop_c2s_count = 3;
    o->tune = tune_no_rack;
}

/* The third data segment (packet 5 after SYN and ACK) is lost; those after it arrive. */
static const uint64_t fast_retransmit_drop[] = {5};

static void setup_fast_retransmit(struct scenario_opts *o)
{
    o->bytes = 16 * 1448;
    o->drop_client_to_server = fast_retransmit_drop;
    o->drop_c2s_count = 1;
    o->tune = tune_no_rack;
}

/* A server with a small receive buffer that reads nothing for its first seconds. */
static void tune_small_server_buffer(struct synack_config *cfg, bool server)
{
    if (server) {
        cfg->rcvbuf = 8192;
        cfg->rcvbuf_max = 0; /* fixed: the lesson is this buffer filling */
    }
}

static void setup_flow_control(struct scenario_opts *o)
{
    o->bytes = 16 * 1024;
    o->tune = tune_small_server_buffer;
    o->server_read_from = SYNACK_S(4);
}

static void setup_simultaneous_open(struct scenario_opts *o)
{
    o->bytes = 0;
    o->simultaneous_open = true;
}

static void setup_simultaneous_close(struct scenario_opts *o)
{
    o->bytes = 0;
    o->simultaneous_close = true;
}

static void setup_half_close(struct scenario_opts *o)
{
    o->bytes = 100;
    o->server_bytes = 8000;
}

static void setup_rst_refused(struct scenario_opts *o)
{
    o->bytes = 0;
    o->no_listener = true;
}

static void setup_rst_abort(struct scenario_opts *o)
{
    o->bytes = 100;
    o->client_aborts = true;
    o->client_close_at = SYNACK_MS(100); /* the data is sent and acknowledged first */
}

static void tune_keepalive(struct synack_config *cfg, bool server)
{
    if (server) return;
    cfg->keepalive_idle = SYNACK_S(10);
    cfg->keepalive_interval = SYNACK_S(5);
    cfg->keepalive_count = 3;
}

static void setup_keepalive(struct scenario_opts *o)
{
    o->bytes = 0;
    o->tune = tune_keepalive;
    o->client_close_at = SYNACK_S(35);
}

/* The application's own heartbeat, TCP keepalive off: a PING every 2 s answered by a
 * PONG; at 5 s the path goes dead without a word to either end; each end gives the other
 * up after 3 heartbeats (6 s) of silence. */
static void setup_heartbeat(struct scenario_opts *o)
{
    o->bytes = 0;
    o->heartbeat_interval = LESSON_HEARTBEAT_INTERVAL;
    o->heartbeat_misses = LESSON_HEARTBEAT_MISSES;
    o->links_cut_at = LESSON_HEARTBEAT_CUT_AT;
}

/* The server's interface has an MTU of 1000: it offers MSS 960, and the client, which
 * offers 1460, sends no segment larger than the server's (with --ipv6: 1280, 1220, 1440). */
static void tune_small_mtu(struct synack_config *cfg, bool server)
{
    /* IPv6 needs 1280 at least (RFC 8200 §5): mss 1220 there. */
    if (server) cfg->mtu = cfg->addrs[0].family == SYNACK_AF_INET6 ? 1280 : 1000;
}

static void setup_mss(struct scenario_opts *o)
{
    o->bytes = 4000;
    o->tune = tune_small_mtu;
}

/* A path of 20 Mbit/s with a drop-tail queue of 48 KiB and buffers big enough that only
 * congestion control limits the sender: NewReno's sawtooth. */
static void setup_congestion(struct scenario_opts *o)
{
    o->bytes = 6 * 1024 * 1024;
    o->cc = SYNACK_CC_NEWRENO;
    o->rate_bps = 20000000;
    o->queue_bytes = 48 * 1024;
    o->sndbuf = o->rcvbuf = 1024 * 1024;
}

/* Small writes glued by Nagle's algorithm and the receiver; a large one split into
 * segments, read in pieces. */
static const size_t sticky_messages[] = {120, 80, 200, 3000, 60};

static void setup_sticky_packets(struct scenario_opts *o)
{
    o->message_sizes = sticky_messages;
    o->nmessages = sizeof sticky_messages / sizeof sticky_messages[0];
    o->framed = true;
}

/* The server closes first, so its side of the connection waits in TIME_WAIT; then it
 * restarts and listens on port 80 again. */
static void setup_reuseaddr_plain(struct scenario_opts *o)
{
    o->bytes = 0;
    o->server_closes = true;
    o->listen_plain = true;
    o->restart = true;
}

static void setup_reuseaddr_set(struct scenario_opts *o)
{
    setup_reuseaddr_plain(o);
    o->listen_plain = false;
    o->restart_reuseaddr = true;
}

/* A receiver with room for four segments that reads at once: the window slides. */
static void tune_window_4_segments(struct synack_config *cfg, bool server)
{
    if (server) {
        cfg->rcvbuf = 4 * 1448;
        cfg->rcvbuf_max = 0; /* fixed: the lesson is this window sliding */
    }
}

static void setup_sliding_window(struct scenario_opts *o)
{
    o->bytes = 12 * 1448;
    o->tune = tune_window_4_segments;
}

/* Ten messages of 1000 bytes, one every 20 ms; the third and the sixth are lost once. */
#define TVU_COUNT 10
static const size_t tvu_messages[TVU_COUNT] = {1000, 1000, 1000, 1000, 1000,
                                               1000, 1000, 1000, 1000, 1000};
static const uint64_t tvu_udp_drop[] = {3, 6}; /* datagrams 3 and 6 */
/* TCP's packets: SYN, ACK, messages 1 to 5 (packets 3-7), the third's retransmission,
 * message 6 (packet 9). */
static const uint64_t tvu_tcp_drop[] = {5, 9};

static void setup_tvu_udp(struct udp_story_opts *o)
{
    o->count = TVU_COUNT;
    o->size = 1000;
    o->interval = SYNACK_MS(20);
    o->drop = tvu_udp_drop;
    o->ndrop = 2;
}

/* Nagle off: each message its own segment, as each is its own datagram over UDP. */
static void tune_nodelay(struct synack_config *cfg, bool server)
{
    (void)server;
    cfg->nodelay = true;
}

static void setup_tvu_tcp(struct scenario_opts *o)
{
    o->tune = tune_nodelay;
    o->message_sizes = tvu_messages;
    o->nmessages = TVU_COUNT;
    o->message_interval = SYNACK_MS(20);
    o->drop_client_to_server = tvu_tcp_drop;
    o->drop_c2s_count = 2;
}

/* 20,000 spoofed SYNs a second for a second against a backlog of 64, while 50 clients
 * connect: without SYN cookies, then with them. */
static void setup_flood(struct flood_opts *o)
{
    flood_opts_default(o);
    o->rate = 20000;
    o->clients = 50;
    o->backlog = 64;
    o->max_time = SYNACK_S(120);
}

static void setup_flood_no_cookies(struct flood_opts *o)
{
    setup_flood(o);
    o->cookies = SYNACK_SYNCOOKIES_NEVER;
}

static void setup_flood_cookies(struct flood_opts *o)
{
    setup_flood(o);
    o->cookies = SYNACK_SYNCOOKIES_OVERFLOW;
}

/* 8 KiB through the tunnel; the outer datagrams 4 and 5 (two of the data) are lost. */
static const uint64_t tunnel_drop[] = {4, 5};

static void setup_tunnel(struct tunnel_opts *o)
{
    o->bytes = 8192;
    o->drop = tunnel_drop;
    o->ndrop = 2;
}

/* ---- the lessons --------------------------------------------------------------------------- */

static const struct lesson lessons[] = {
    {
        .name = "handshake",
        .title = {"the three-way handshake", "三次握手"},
        .explain =
            {
                "The client sends SYN with its initial sequence number (ISN); the server answers\n"
                "SYN-ACK with its own ISN and ack = client ISN + 1; the client's ACK completes\n"
                "the handshake. Three segments, because each side must announce its ISN and hear\n"
                "it acknowledged: a SYN takes one sequence number, as a FIN does. The options\n"
                "ride only on the SYNs: the largest segment each side takes (mss), the window\n"
                "scale (wscale), whether SACK may be used (sackOK) and timestamps (TS). A side\n"
                "uses an option only when both offered it.\n",
                "客户端发送 SYN,带上自己的初始序列号(ISN);服务器回 SYN-ACK,带上自己的 ISN,\n"
                "确认号是客户端 ISN + 1;客户端再回一个 ACK,握手完成。为什么是三次?因为双方\n"
                "都要报出自己的 ISN,并听到对方确认。SYN 和 FIN 一样,要占用一个序列号。\n"
                "选项只出现在 SYN 上:各自能接收的最大报文段(mss)、窗口扩大因子(wscale)、\n"
                "是否允许 SACK(sackOK)以及时间戳(TS)。只有双方都提供的选项才会被使用。\n",
            },
        .acts = {{.caption = {"", ""}, .setup = setup_handshake}},
        .nacts = 1,
    },
    {
        .name = "close",
        .title = {"the four-way close, each side first", "四次挥手:双方各先关闭一次"},
        .explain =
            {
                "TCP is full duplex: each direction is closed on its own. The side that closes\n"
                "first (active close) sends FIN and goes FIN_WAIT_1; the ACK takes it to\n"
                "FIN_WAIT_2. The other side (passive close) goes CLOSE_WAIT when the FIN arrives\n"
                "and stays there until its application closes too; then its FIN (LAST_ACK) and\n"
                "the last ACK. The active closer waits in TIME_WAIT for 2*MSL; the passive one\n"
                "is CLOSED as soon as its FIN is acknowledged. Whoever closes first pays the "
                "wait.\n"
                "When the second FIN carries the ACK of the first, four steps take three "
                "segments.\n",
                "TCP 是全双工的:两个方向各自关闭。先关闭的一方(主动关闭)发 FIN,进入\n"
                "FIN_WAIT_1,收到 ACK 后进入 FIN_WAIT_2。另一方(被动关闭)收到 FIN 后进入\n"
                "CLOSE_WAIT,一直等到自己的应用程序也关闭,再发 FIN(LAST_ACK),等最后一个 ACK。\n"
                "主动关闭的一方要在 TIME_WAIT 里等 2*MSL;被动关闭的一方 FIN 一被确认就 CLOSED。\n"
                "谁先关闭,谁就要等待。第二个 FIN 顺带确认第一个 FIN 时,四次挥手只需三个报文段。\n",
            },
        .acts = {{.caption = {"act 1: the client closes first", "第一幕:客户端先关闭"},
                  .setup = setup_close_client_first},
                 {.caption = {"act 2: the server closes first", "第二幕:服务器先关闭"},
                  .setup = setup_close_server_first}},
        .nacts = 2,
    },
    {
        .name = "time-wait",
        .title = {"TIME_WAIT answers a retransmitted FIN", "TIME_WAIT 回应重传的 FIN"},
        .explain =
            {
                "The client's last ACK is lost. The server, in LAST_ACK, hears nothing and\n"
                "retransmits its FIN when its retransmission timer expires. The client is in\n"
                "TIME_WAIT, still holding the connection, so it answers the FIN with the ACK\n"
                "again and the server can close. Had the client gone straight to CLOSED, the\n"
                "FIN would have met a RST and the server would have reported an error.\n"
                "Why 2*MSL (here 2 x 30 s)? One MSL for the lost ACK's time and one for the\n"
                "retransmitted FIN: long enough to answer it, and long enough that old segments\n"
                "of this connection die out before a new connection reuses the same four-tuple.\n",
                "客户端的最后一个 ACK 丢了。服务器处于 LAST_ACK,迟迟等不到确认,重传定时器\n"
                "超时后重传 FIN。客户端此时还在 TIME_WAIT,连接还在,于是再次回 ACK,服务器\n"
                "这才关闭。如果客户端直接进入 CLOSED,这个 FIN 只会换来一个 RST,服务器就会报错。\n"
                "为什么要等 2*MSL(这里是 2 x 30 秒)?一个 MSL 给丢失的 ACK,一个 MSL 给重传的\n"
                "FIN:既能回应重传的 FIN,也能让这个连接的旧报文段在网络中消失,不会被之后复用\n"
                "同一个四元组的新连接误收。\n",
            },
        .acts = {{.caption = {"", ""}, .setup = setup_time_wait}},
        .nacts = 1,
    },
    {
        .name = "retransmission",
        .title = {"retransmission after a timeout, the RTO doubling", "超时重传:RTO 每次翻倍"},
        .explain =
            {
                "The only data segment is lost, and so are its first two retransmissions. No\n"
                "ACK comes back, so only the retransmission timer can notice: after one RTO\n"
                "(200 ms here, the stack's floor as in Linux; RFC 6298 asks for 1 s) the segment\n"
                "is sent again, and the RTO doubles each time (exponential backoff: 200, 400,\n"
                "800 ms) so that a congested path is not flooded. The fourth copy gets through;\n"
                "its ACK resets the backoff.\n"
                "(Tail loss probes are off here so that the timer alone is seen.)\n",
                "唯一的数据报文段丢了,头两次重传也丢了。没有任何 ACK 回来,只有重传定时器能\n"
                "发现:等一个 RTO(这里是 200 毫秒,和 Linux 一样的下限;RFC 6298 要求 1 秒)\n"
                "后重发,以后每次 RTO 翻倍(指数退避:200、400、800 毫秒),以免让已经拥塞的\n"
                "路径雪上加霜。第四份终于送到,它的 ACK\n"
                "让退避归零。(这里关掉了尾部丢失探测,只看定时器。)\n",
            },
        .acts = {{.caption = {"", ""}, .setup = setup_retransmission}},
        .nacts = 1,
    },
    {
        .name = "fast-retransmit",
        .title = {"fast retransmit: three duplicate ACKs and SACK",
                  "快速重传:三个重复 ACK 与 SACK"},
        .explain =
            {
                "The third data segment is lost; the ones after it arrive. For each the receiver\n"
                "sends the same cumulative ACK again (a duplicate ACK) and tells with SACK blocks\n"
                "which bytes above the hole it holds. At the third duplicate the sender resends\n"
                "the missing segment at once, without waiting for the timer (fast retransmit), "
                "and\n"
                "halves its congestion window (fast recovery). The ACK after the repair jumps\n"
                "over everything the SACK blocks listed.\n",
                "第三个数据报文段丢了,后面的都到了。每到一个,接收方就再发一次同样的累计\n"
                "确认(重复 ACK),并用 SACK 块告诉发送方:空洞之上的哪些字节已经收到。\n"
                "收到第三个重复 ACK 时,发送方不等定时器,立即重传丢失的报文段(快速重传),\n"
                "并把拥塞窗口减半(快速恢复)。补上之后的 ACK 一下子越过 SACK 列出的所有数据。\n",
            },
        .acts = {{.caption = {"", ""}, .setup = setup_fast_retransmit}},
        .nacts = 1,
    },
    {
        .name = "flow-control",
        .title = {"flow control: a slow reader, the zero window and its probes",
                  "流量控制:慢读者、零窗口与窗口探测"},
        .explain =
            {
                "The server's receive buffer holds 8 KiB and its application reads nothing for\n"
                "4 s. Each ACK advertises what is left of the buffer (win), until it is full:\n"
                "a zero window, and the sender must stop. Since a window update could be lost,\n"
                "the sender's persist timer sends a window probe (one byte past the window) now\n"
                "and then, backing off; the receiver answers with its window, still zero. When\n"
                "the application reads, the buffer empties and the receiver sends a window\n"
                "update; the transfer resumes. Flow control protects the receiver; congestion\n"
                "control protects the network.\n",
                "服务器的接收缓冲区只有 8 KiB,应用程序前 4 秒什么也不读。每个 ACK 都通告\n"
                "缓冲区还剩多少(win),直到缓冲区满了:零窗口,发送方必须停下来。窗口更新\n"
                "可能会丢,所以发送方的坚持定时器(persist timer)不时发一个窗口探测(窗口之外的\n"
                "一个字节),间隔逐次加倍;接收方回复自己的窗口,仍然是零。应用程序开始读以后,\n"
                "缓冲区腾空,接收方发出窗口更新,传输继续。流量控制保护接收方,拥塞控制保护网络。\n",
            },
        .acts = {{.caption = {"", ""}, .setup = setup_flow_control}},
        .nacts = 1,
    },
    {
        .name = "sliding-window",
        .title = {"the sliding window", "滑动窗口"},
        .explain =
            {
                "The receiver offers a window: with each ACK it says how many bytes past the ACK\n"
                "it can take (win), so the sender may send sequence numbers [ack, ack + win),\n"
                "shown here beside each ACK. The server's buffer holds four segments and it\n"
                "reads at once: the sender sends until its data reaches the window's right edge\n"
                "(\"fills the window\") and waits; each ACK moves the left edge forward as data\n"
                "is acknowledged and, as the application reads, the right edge too: the window\n"
                "slides along the stream. Sent and acknowledged bytes lie left of it, bytes not\n"
                "yet allowed right of it.\n",
                "接收方提供一个窗口:每个 ACK 都说明确认号之后它还能接收多少字节(win),\n"
                "所以发送方可以发送 [ack, ack + win) 范围内的序列号,这里标在每个 ACK 旁边。\n"
                "服务器的缓冲区只能放四个报文段,而且立即读取:发送方一直发到窗口右沿\n"
                "(“fills the window”),然后等待;每个 ACK 随着数据被确认把左沿向前推,应用程序\n"
                "读走数据后右沿也向前移:窗口沿着字节流滑动。左边是已发送并已确认的字节,\n"
                "右边是还不允许发送的字节。\n",
            },
        .acts = {{.caption = {"", ""}, .setup = setup_sliding_window}},
        .nacts = 1,
        .window_edges = true,
    },
    {
        .name = "simultaneous-open",
        .title = {"simultaneous open: two SYNs cross", "同时打开:两个 SYN 交错而过"},
        .explain =
            {
                "Both ends connect to each other at the same instant, each from the port the\n"
                "other names: there is no listener. Each receives a SYN while in SYN_SENT, goes\n"
                "SYN_RECEIVED and answers SYN-ACK, repeating its own SYN's sequence number (that\n"
                "is the rule, not a retransmission). Each SYN-ACK completes the other's open:\n"
                "one connection, four segments, no client and no server.\n",
                "双方在同一时刻互相连接,各自用对方指定的端口:没有监听者。双方都在 SYN_SENT\n"
                "状态收到对方的 SYN,进入 SYN_RECEIVED,回一个 SYN-ACK,序列号仍是自己 SYN 的\n"
                "序列号(这是规则,不是重传)。每个 SYN-ACK 都完成对方的打开:一个连接,四个\n"
                "报文段,没有客户端,也没有服务器。\n",
            },
        .acts = {{.caption = {"", ""}, .setup = setup_simultaneous_open}},
        .nacts = 1,
    },
    {
        .name = "simultaneous-close",
        .title = {"simultaneous close: two FINs cross", "同时关闭:两个 FIN 交错而过"},
        .explain =
            {
                "Both applications close at the same instant: each sends FIN from FIN_WAIT_1\n"
                "and receives the other's FIN before the ACK of its own. That is the CLOSING\n"
                "state: both FINs sent, both received, ours not yet acknowledged. When the ACK\n"
                "comes each side goes TIME_WAIT: both were active closers, both wait 2*MSL.\n",
                "双方的应用程序同时关闭:各自在 FIN_WAIT_1 发出 FIN,又在自己的 FIN 被确认之前\n"
                "收到对方的 FIN。这就是 CLOSING 状态:两个 FIN 都发了也都收了,自己的还没被\n"
                "确认。ACK 到达后,双方都进入 TIME_WAIT:双方都是主动关闭,都要等 2*MSL。\n",
            },
        .acts = {{.caption = {"", ""}, .setup = setup_simultaneous_close}},
        .nacts = 1,
    },
    {
        .name = "half-close",
        .title = {"half-close: the client stops sending, the server goes on",
                  "半关闭:客户端不再发送,服务器继续发送"},
        .explain =
            {
                "The client sends its request and then shuts down its sending side\n"
                "(shutdown(SHUT_WR)): its FIN says \"no more data from me\", not \"goodbye\". The\n"
                "server, in CLOSE_WAIT, reads to the end of the request and still sends its\n"
                "answer; the client, in FIN_WAIT_2, keeps receiving and acknowledging it. Only\n"
                "when the server closes too does the connection end. This is how a program\n"
                "tells the other end that the input is complete (like `nc -N`).\n",
                "客户端发完请求后关闭自己的发送方向(shutdown(SHUT_WR)):它的 FIN 表示\n"
                "“我不再发数据了”,而不是“再见”。服务器处于 CLOSE_WAIT,读到请求的末尾,\n"
                "照样发送回答;客户端处于 FIN_WAIT_2,继续接收并确认。直到服务器也关闭,\n"
                "连接才结束。程序就是这样告诉对方输入已经完整的(就像 `nc -N`)。\n",
            },
        .acts = {{.caption = {"", ""}, .setup = setup_half_close}},
        .nacts = 1,
    },
    {
        .name = "rst",
        .title = {"RST: a closed port, and an abort (SO_LINGER 0)",
                  "RST:连接未监听的端口,以及异常终止(SO_LINGER 为 0)"},
        .explain =
            {
                "A reset ends a connection at once, without the four-way close. Act 1: nobody\n"
                "listens on the port, so the SYN is answered with RST (ack = its sequence\n"
                "number + 1) and connect() fails with \"connection refused\". Act 2: the client\n"
                "sends data and aborts (close() with SO_LINGER 0): one RST instead of a FIN, no\n"
                "TIME_WAIT on either side; unsent data is thrown away and the server's next call\n"
                "reports \"connection reset by peer\". A RST is never acknowledged.\n",
                "RST 立即结束连接,不走四次挥手。第一幕:端口上没有人监听,SYN 换来一个 RST\n"
                "(确认号为它的序列号 + 1),connect() 失败,报“连接被拒绝”。第二幕:客户端发完\n"
                "数据后异常终止(SO_LINGER 为 0 时的 close()):用一个 RST 代替 FIN,双方都没有\n"
                "TIME_WAIT;没发出去的数据被丢弃,服务器的下一次调用报“连接被对方重置”。\n"
                "RST 从不被确认。\n",
            },
        .acts = {{.caption = {"act 1: a SYN to a port nobody listens on",
                              "第一幕:向没有监听的端口发 SYN"},
                  .setup = setup_rst_refused},
                 {.caption = {"act 2: the client aborts", "第二幕:客户端异常终止"},
                  .setup = setup_rst_abort}},
        .nacts = 2,
    },
    {
        .name = "reuseaddr",
        .title = {"SO_REUSEADDR: a server restarts while its connection is in TIME_WAIT",
                  "SO_REUSEADDR:服务器重启时旧连接还在 TIME_WAIT"},
        .explain =
            {
                "The server closes first, so its end of the connection waits in TIME_WAIT for\n"
                "2*MSL, holding port 80. Then the server restarts and listens on port 80 again.\n"
                "Act 1, without SO_REUSEADDR: listen() fails with \"address in use\" for a full\n"
                "minute (the familiar bind error after restarting a server). Act 2, with\n"
                "SO_REUSEADDR set by the old server and the new one: listen() succeeds. The old\n"
                "connection is still protected: the new listener takes only new four-tuples,\n"
                "and the TIME_WAIT keeps answering the old one. That is why every server sets\n"
                "SO_REUSEADDR. (The stack's own bind rules, as Linux's; examples/reuseaddr.c\n"
                "tells the same story through the socket API.)\n",
                "服务器先关闭,于是它这一端的连接要在 TIME_WAIT 里等 2*MSL,一直占着 80 端口。\n"
                "这时服务器重启,再次在 80 端口上监听。第一幕,没有 SO_REUSEADDR:listen()\n"
                "失败,报“地址已被使用”,整整一分钟都是如此(重启服务器后常见的 bind 错误)。\n"
                "第二幕,新旧两个服务器都设置了 SO_REUSEADDR:listen() 成功。旧连接仍然受到\n"
                "保护:新的监听者只接受新的四元组,TIME_WAIT 继续应答旧连接。所以每个服务器\n"
                "都会设置 SO_REUSEADDR。(这里用的是协议栈自己的绑定规则,与 Linux 相同;\n"
                "examples/reuseaddr.c 用套接字 API 讲的是同一个故事。)\n",
            },
        .acts = {{.caption = {"act 1: without SO_REUSEADDR", "第一幕:不设置 SO_REUSEADDR"},
                  .setup = setup_reuseaddr_plain},
                 {.caption = {"act 2: with SO_REUSEADDR", "第二幕:设置 SO_REUSEADDR"},
                  .setup = setup_reuseaddr_set}},
        .nacts = 2,
    },
    {
        .name = "sticky-packets",
        .title = {"sticky packets: TCP keeps no message boundaries",
                  "粘包与拆包:TCP 不保留消息边界"},
        .explain =
            {
                "The client writes five messages with five send() calls: 120, 80, 200, 3000 and\n"
                "60 bytes (each letter A, B, C, ... is one message). TCP carries a stream of\n"
                "bytes, not messages: writes made in a row are sent together in segments of\n"
                "up to the MSS (and Nagle's algorithm holds small ones back while data is in\n"
                "flight), so the large message is cut across segments, and read() returns\n"
                "whatever has arrived. One read returns several messages (glued, 粘包) and one\n"
                "message takes several reads (split, 拆包). The fix belongs to the application:\n"
                "put each message's length before it (here 2 bytes) and let the receiver collect\n"
                "bytes until a whole message is there; the decoder above gets the five messages\n"
                "back whatever the reads were. A delimiter (a newline, say) or fixed-size\n"
                "messages work too.\n",
                "客户端用五次 send() 写了五条消息:120、80、200、3000 和 60 字节(字母 A、B、\n"
                "C……各是一条消息)。TCP 传的是字节流,不是消息:连续的几次写会被放进同样的\n"
                "报文段一起发出,每段最多一个 MSS(有数据在途时,Nagle 算法还会把小的写攒起来),\n"
                "大的消息就被切到几个报文段里;而 read() 有多少就返回多少。于是一次读到几条\n"
                "消息(粘包),一条消息要读好几次(拆包)。解决办法在应用层:在每条消息前加上\n"
                "它的长度(这里是 2 字节),接收方攒够一整条消息再交出去;不管每次读到多少,\n"
                "上面的解码器都能还原出这五条消息。用分隔符(比如换行)或定长消息也可以。\n",
            },
        .acts = {{.caption = {"", ""}, .setup = setup_sticky_packets}},
        .nacts = 1,
    },
    {
        .name = "syn-flood",
        .title = {"SYN flood: the SYN queue fills; SYN cookies",
                  "SYN 洪泛:半连接队列被占满;SYN cookie"},
        .explain =
            {
                "An attacker sends 20,000 SYNs a second from forged addresses that never answer,\n"
                "while 50 real clients connect. Each SYN makes the server keep a half-open\n"
                "connection in SYN_RECEIVED (the SYN queue) and retransmit its SYN-ACK for a\n"
                "while. Act 1, without SYN cookies: the queue (backlog 64) fills at once, new\n"
                "SYNs are dropped (syn-queue-full), the real clients' SYNs among them, and their\n"
                "retransmissions (after 1 s, 2 s, 4 s, ...) find it full again. Act 2, with SYN\n"
                "cookies once the queue is full: the server answers every SYN without keeping\n"
                "anything, encoding what it needs in its ISN (the cookie); only a client that\n"
                "really completes the handshake returns it in its ACK, and the connection is\n"
                "made then. The forged SYNs cost a SYN-ACK each, and no memory.\n",
                "攻击者用永远不会应答的伪造地址每秒发 20,000 个 SYN,同时有 50 个真正的客户端\n"
                "在连接。每个 SYN 都让服务器在 SYN_RECEIVED 状态保留一个半连接(SYN 队列),\n"
                "并重传一阵 SYN-ACK。第一幕,没有 SYN cookie:队列(backlog 64)立刻被占满,\n"
                "新来的 SYN 被丢弃(syn-queue-full),真正客户端的 SYN 也在其中,它们 1 秒、\n"
                "2 秒、4 秒……后的重传又碰上满的队列。第二幕,队列满后启用 SYN cookie:服务器\n"
                "应答每个 SYN 却什么都不保存,把需要的信息编码进自己的 ISN(cookie);只有真正\n"
                "完成握手的客户端才会在 ACK 里把它带回来,连接这时才建立。伪造的 SYN 每个只\n"
                "花掉一个 SYN-ACK,不占内存。\n",
            },
        .acts = {{.caption = {"act 1: without SYN cookies", "第一幕:不用 SYN cookie"},
                  .flood_setup = setup_flood_no_cookies},
                 {.caption = {"act 2: with SYN cookies", "第二幕:使用 SYN cookie"},
                  .flood_setup = setup_flood_cookies}},
        .nacts = 2,
    },
    {
        .name = "tcp-vs-udp",
        .title = {"TCP and UDP under the same loss", "同样的丢包下的 TCP 与 UDP"},
        .explain =
            {
                "The client sends ten messages of 1000 bytes, one every 20 ms, and the path\n"
                "loses the packets that carry the third and the sixth. Over UDP each message is\n"
                "a datagram on its own: the two lost ones never arrive and nobody notices, but\n"
                "every other one arrives 10 ms after it was sent. Over TCP the lost segments are\n"
                "retransmitted and every byte arrives, in order, but late: the bytes after a\n"
                "hole wait in the receiver until the hole is filled (head-of-line blocking), so\n"
                "read() gives them all at once. UDP has no connection, no acknowledgement, no\n"
                "retransmission and no ordering; an application that needs some of that over\n"
                "UDP builds it itself (QUIC, games, voice).\n",
                "客户端每 20 毫秒发一条 1000 "
                "字节的消息,共十条,路径丢掉装着第三条和第六条消息的包。\n"
                "用 UDP 时,每条消息都是一个独立的数据报:丢了的两条永远不会到达,也没有人\n"
                "知道;其余的都在发出 10 毫秒后到达。用 TCP 时,丢失的报文段被重传,每个字节\n"
                "都按顺序到达,只是晚了:空洞之后的字节要在接收方等空洞补上(队头阻塞),然后\n"
                "read() 一次全部交出。UDP 没有连接、没有确认、没有重传,也不保证顺序;在 UDP\n"
                "上需要这些的应用要自己实现(QUIC、游戏、语音)。\n",
            },
        .acts = {{.caption = {"act 1: UDP", "第一幕:UDP"}, .udp_setup = setup_tvu_udp},
                 {.caption = {"act 2: TCP", "第二幕:TCP"}, .setup = setup_tvu_tcp}},
        .nacts = 2,
    },
    {
        .name = "reliable-udp",
        .title = {"reliable transport over UDP: TCP carried in UDP datagrams",
                  "基于 UDP 的可靠传输:把 TCP 装进 UDP 数据报"},
        .explain =
            {
                "Each TCP segment of the two ends travels as the payload of one UDP datagram\n"
                "between two other stacks (port 7000): the ladder shows the segments, the links\n"
                "carry datagrams. Two datagrams are lost; UDP neither notices nor resends, but\n"
                "the TCP inside does, and every byte arrives. Reliability, ordering and\n"
                "congestion control come from the protocol on top, not from the one beneath:\n"
                "this is how tunnels and VPNs carry TCP, and how protocols like QUIC build\n"
                "their own reliability over UDP. The inner MTU is 1400, so that a segment and\n"
                "its 28 bytes of outer IPv4 and UDP headers still fit the path: mss 1360.\n"
                "(`synack cat --link udp:` does the same between two processes.)\n",
                "两端的每个 TCP 报文段都作为一个 UDP 数据报的载荷,在另外两个协议栈之间\n"
                "(端口 7000)传送:阶梯图上是报文段,链路上跑的是数据报。丢了两个数据报;\n"
                "UDP 既不知道也不重传,但里面的 TCP 会重传,每个字节都到达了。可靠、有序和\n"
                "拥塞控制来自上层的协议,而不是下层:隧道和 VPN 就是这样承载 TCP 的,QUIC\n"
                "这样的协议也是在 UDP 之上自己实现可靠性。内层 MTU 为 1400,报文段加上外层\n"
                "28 字节的 IPv4 和 UDP 首部仍然放得下:mss 1360。(`synack cat --link udp:`\n"
                "在两个进程之间做的是同一件事。)\n",
            },
        .acts = {{.caption = {"", ""}, .tunnel_setup = setup_tunnel}},
        .nacts = 1,
    },
    {
        .name = "keepalive",
        .title = {"keepalive: probing an idle connection; an application heartbeat",
                  "保活:探测空闲的连接;应用层心跳"},
        .explain =
            {
                "In the first run the connection is established and then idle: nothing to\n"
                "send. After 10 s of silence the client's keepalive timer sends a probe: an ACK\n"
                "with sequence number SND.NXT - 1 and no data, which the peer must answer with\n"
                "an ACK. An answer says the peer is alive and the idle time starts again; after\n"
                "3 probes unanswered (every 5 s) the connection would fail. Linux's defaults are\n"
                "2 hours, 75 s and 9 probes (off unless SO_KEEPALIVE is set): a peer that\n"
                "vanished is noticed after 2 h 11 min at best.\n"
                "\n"
                "So applications send a heartbeat of their own, as in the second run (keepalive\n"
                "off): the client writes \"PING\" every 2 s and the server answers \"PONG\". At\n"
                "5 s the path goes dead and neither end is told (no FIN, no RST: a cut cable, a\n"
                "crashed host, a NAT that forgot the connection). TCP only retransmits the PING\n"
                "nobody acknowledges, for many minutes; the server, with nothing to send, would\n"
                "wait forever. Each application instead gives the other up after 3 heartbeats\n"
                "(6 s) without a word from it and aborts: the server 6 s after the last PING,\n"
                "the client 6 s after the last PONG. A heartbeat also shows what keepalive\n"
                "cannot: that the other application, not just its TCP, still answers.\n",
                "第一次运行:连接建立后一直空闲,没有数据要发。静默 10 秒后,客户端的保活\n"
                "定时器发出一个探测:序列号为 SND.NXT - 1、不带数据的 ACK,对方必须回一个\n"
                "ACK。有回应说明对方还活着,空闲计时重新开始;连续 3 个探测(每 5 秒一个)\n"
                "都没有回应,连接就会失败。Linux 的默认值是 2 小时、75 秒、9 个探测(不设置\n"
                "SO_KEEPALIVE 就不开启):对方消失了,最快也要 2 小时 11 分钟才能发现。\n"
                "\n"
                "所以应用程序常常自己再做一层心跳,就是第二次运行(保活关闭):客户端每 2 秒\n"
                "写一个 \"PING\",服务器回一个 \"PONG\"。第 5 秒时链路断了,两端都不知道(没有\n"
                "FIN,也没有 RST:网线被拔、主机崩溃、NAT 忘了这条连接)。TCP 只会一遍遍重传\n"
                "没有被确认的 PING,持续许多分钟;服务器没有数据要发,会一直等下去。而两端\n"
                "的应用程序在 3 个心跳周期(6 秒)收不到对方的消息后就放弃对方、中止连接:\n"
                "服务器在最后一个 PING 之后 6 秒,客户端在最后一个 PONG 之后 6 秒。心跳还能\n"
                "证明保活做不到的事:回应的是对方的应用程序,而不只是它的 TCP。\n",
            },
        .acts = {{.caption = {"TCP keepalive: the connection is idle, the client probes it",
                              "TCP 保活:连接空闲,客户端探测它"},
                  .setup = setup_keepalive},
                 {.caption = {"an application heartbeat, keepalive off: a PING every 2 s, a "
                              "PONG back; at 5 s the path goes dead",
                              "应用层心跳,保活关闭:每 2 秒一个 PING,回一个 PONG;第 5 秒链路中断"},
                  .setup = setup_heartbeat}},
        .nacts = 2,
    },
    {
        .name = "mss",
        .title = {"MSS: the largest segment each side takes", "MSS:每一方能接收的最大报文段"},
        .explain =
            {
                "Each SYN carries the MSS its sender can receive: its interface MTU less 40 bytes\n"
                "of IPv4 and TCP headers. The client's MTU is 1500 (mss 1460), the server's 1000\n"
                "(mss 960), so the client sends segments of at most 960 bytes, less 12 for the\n"
                "timestamp option: 948 bytes of data each. The MSS is not negotiated: each side\n"
                "states a limit for the other. Sending within it avoids IP fragmentation.\n",
                "每个 SYN 都带着发送方能接收的 MSS:接口 MTU 减去 40 字节的 IPv4 和 TCP 首部。\n"
                "客户端的 MTU 是 1500(mss 1460),服务器的是 1000(mss 960),所以客户端发出的\n"
                "报文段最多 960 字节,再减去时间戳选项的 12 字节:每段 948 字节数据。MSS 不是\n"
                "协商出来的,而是各自告诉对方自己的上限。不超过它,就不会产生 IP 分片。\n",
            },
        .acts = {{.caption = {"", ""}, .setup = setup_mss}},
        .nacts = 1,
    },
    {
        .name = "congestion",
        .title = {"congestion control: slow start, avoidance, loss and recovery",
                  "拥塞控制:慢启动、拥塞避免、丢包与恢复"},
        .explain =
            {
                "The sender does not know the path: it starts with 10 segments and doubles its\n"
                "congestion window (cwnd) every round trip (slow start, S) until the 48 KiB\n"
                "queue of the 20 Mbit/s link overflows and packets are lost. Duplicate ACKs\n"
                "report the loss: ssthresh becomes half the window, the lost segments are resent\n"
                "(fast recovery, R), and cwnd then grows by one segment per round trip\n"
                "(congestion avoidance, A) until the queue overflows again: the sawtooth of\n"
                "additive increase, multiplicative decrease. A timeout (L) would start over from\n"
                "one segment. The receive window never limits here: the network does.\n",
                "发送方不知道路径的容量:它从 10 个报文段开始,每个往返时间把拥塞窗口(cwnd)\n"
                "翻一倍(慢启动,S),直到 20 Mbit/s 链路上 48 KiB 的队列溢出、开始丢包。重复\n"
                "ACK 报告了丢包:ssthresh 变为窗口的一半,重传丢失的报文段(快速恢复,R),之后\n"
                "cwnd 每个往返时间只增加一个报文段(拥塞避免,A),直到队列再次溢出:这就是\n"
                "加性增、乘性减的锯齿。如果发生超时(L),就要从一个报文段重新开始。这里限制\n"
                "发送的不是接收窗口,而是网络。\n",
            },
        .acts = {{.caption = {"", ""}, .setup = setup_congestion}},
        .nacts = 1,
        .cwnd_plot = true,
    },
};

size_t lesson_count(void)
{
    return sizeof lessons / sizeof lessons[0];
}

const struct lesson *lesson_at(size_t i)
{
    return i < lesson_count() ? &lessons[i] : NULL;
}

const struct lesson *lesson_find(const char *name)
{
    for (size_t i = 0; i < lesson_count(); i++)
        if (strcmp(lessons[i].name, name) == 0) return &lessons[i];
    return NULL;
}

int lesson_lang_parse(const char *name, enum lesson_lang *out)
{
    if (strcmp(name, "en") == 0)
        *out = LESSON_EN;
    else if (strcmp(name, "zh") == 0)
        *out = LESSON_ZH;
    else
        return -1;
    return 0;
}

void lesson_setup(const struct lesson *l, size_t act, struct scenario_opts *o)
{
    scenario_opts_default(o);
    if (act < l->nacts && l->acts[act].setup) l->acts[act].setup(o);
}

void lesson_flood_setup(const struct lesson *l, size_t act, struct flood_opts *o)
{
    flood_opts_default(o);
    if (act < l->nacts && l->acts[act].flood_setup) l->acts[act].flood_setup(o);
}

void lesson_tunnel_setup(const struct lesson *l, size_t act, struct tunnel_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->delay = SYNACK_MS(10);
    if (act < l->nacts && l->acts[act].tunnel_setup) l->acts[act].tunnel_setup(o);
}

void lesson_udp_setup(const struct lesson *l, size_t act, struct udp_story_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->delay = SYNACK_MS(10);
    if (act < l->nacts && l->acts[act].udp_setup) l->acts[act].udp_setup(o);
}

/* ---- reads and messages -------------------------------------------------------------------- */

void lesson_reads_init(struct lesson_reads *rd)
{
    memset(rd, 0, sizeof *rd);
    frame_decoder_init(&rd->dec);
    rd->decoded_intact = true;
}

static void reads_on_message(void *ctx, const uint8_t *msg, size_t len)
{
    struct lesson_reads *rd = ctx;
    for (size_t i = 0; i < len; i++)
        if (msg[i] != 'A' + (int)(rd->ndecoded % 26)) rd->decoded_intact = false;
    if (rd->ndecoded < SCENARIO_MAX_MESSAGES) rd->decoded[rd->ndecoded++] = len;
}

void lesson_reads_on_read(void *ctx, const uint8_t *data, size_t n, synack_time_t t)
{
    struct lesson_reads *rd = ctx;
    if (rd->n < LESSON_MAX_READS)
        rd->read[rd->n++] = (struct lesson_read){.t = t, .off = rd->total, .len = n};
    rd->total += n;
    frame_decoder_push(&rd->dec, data, n, reads_on_message, rd);
}

void lesson_read_describe(const struct scenario_opts *o, const struct lesson_read *rd, char *out,
                          size_t cap)
{
    size_t n = 0;
    uint64_t start = 0, lo = rd->off, hi = rd->off + rd->len;
    unsigned whole = 0;
    out[0] = 0;
    for (size_t k = 0; k < o->nmessages && n < cap; k++) {
        uint64_t end = start + o->message_sizes[k] + (o->framed ? 2 : 0);
        if (end > lo && start < hi) {
            bool head = start >= lo, tail = end <= hi;
            const char *what = head && tail ? "whole"
                               : head       ? "the start (split)"
                               : tail       ? "the end (split)"
                                            : "a middle part (split)";
            whole += head && tail;
            n += (size_t)snprintf(out + n, cap - n, "%s#%zu %s", n ? ", " : "", k + 1, what);
        }
        start = end;
    }
    if (whole > 1 && n < cap) snprintf(out + n, cap - n, ": %u messages glued", whole);
}

/* ---- recording a run ----------------------------------------------------------------------- */

static struct lesson_event *log_push(struct lesson_log *log)
{
    if (log->n == log->cap) {
        size_t cap = log->cap ? 2 * log->cap : 256;
        struct lesson_event *ev = realloc(log->ev, cap * sizeof *ev);
        if (!ev) return NULL;
        log->ev = ev;
        log->cap = cap;
    }
    struct lesson_event *e = &log->ev[log->n++];
    memset(e, 0, sizeof *e);
    return e;
}

static void log_packet(void *ctx, const struct synack_sim_packet *ev)
{
    struct lesson_log *log = ctx;
    struct annotated x;
    if (!annotator_packet(&log->a, ev, &x)) return;
    struct lesson_event *e = log_push(log);
    if (!e) return;
    e->pkt = x;
    e->pkt.seg.payload = NULL;
    e->t = x.t;
}

static void log_state(void *ctx, char side, enum synack_state from, enum synack_state to,
                      synack_time_t t)
{
    struct lesson_log *log = ctx;
    int s = side == 'c' ? 0 : 1;
    annotator_state(&log->a, s, from, to, t, NULL);
    struct lesson_event *e = log_push(log);
    if (!e) return;
    *e = (struct lesson_event){.is_state = true, .side = s, .from = from, .to = to, .t = t};
}

static void log_call(void *ctx, char side, const char *call, int rc, synack_time_t t)
{
    struct lesson_log *log = ctx;
    struct lesson_event *e = log_push(log);
    if (!e) return;
    *e = (struct lesson_event){.call = call, .rc = rc, .side = side == 'c' ? 0 : 1, .t = t};
}

int lesson_record(const struct lesson *l, size_t act, struct lesson_log *log,
                  struct scenario_result *r, char *err, size_t errcap)
{
    struct scenario_opts o;
    lesson_setup(l, act, &o);
    memset(log, 0, sizeof *log);
    annotator_init(&log->a);
    if (act >= l->nacts || !l->acts[act].setup) {
        snprintf(err, errcap, "%s has no TCP act %zu", l->name, act);
        return SYNACK_ERR_INVAL;
    }
    o.observer = log_packet;
    o.observer_ctx = log;
    o.on_state = log_state;
    o.state_ctx = log;
    o.on_call = log_call;
    o.call_ctx = log;
    if (l->cwnd_plot) {
        log->samples = calloc(LESSON_SAMPLES, sizeof *log->samples);
        if (!log->samples) return SYNACK_ERR_NOMEM;
        o.samples = log->samples;
        o.samples_cap = LESSON_SAMPLES;
    }
    if (o.nmessages) {
        log->reads = malloc(sizeof *log->reads);
        if (!log->reads) return SYNACK_ERR_NOMEM;
        lesson_reads_init(log->reads);
        o.on_read = lesson_reads_on_read;
        o.read_ctx = log->reads;
    }
    return scenario_run(&o, r, err, errcap);
}

void lesson_log_free(struct lesson_log *log)
{
    free(log->ev);
    free(log->samples);
    free(log->reads);
    memset(log, 0, sizeof *log);
}
