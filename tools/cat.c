/* `synack cat`: netcat over synack. Parses the arguments; apps/netcat.c does the rest. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "netcat.h"

static const char cat_usage[] =
    "usage: synack cat [-u] [-z] [-4|-6] [options] --addr ADDR/PREFIX HOST PORT\n"
    "       synack cat -l [-u] [-k] [-4|-6] [options] --addr ADDR/PREFIX [ADDR] PORT\n"
    "\n"
    "netcat over synack: a TCP connection (or UDP datagrams with -u, below) on a TUN device\n"
    "or over UDP encapsulation. stdin goes to the connection and the connection to stdout.\n"
    "TCP: at end of file on stdin the write side is shut down (a FIN: half-close) and\n"
    "reading goes on until the peer closes too. Back-pressure both ways: stdin is read only\n"
    "while the send buffer has room, and data is taken from the connection only as fast as\n"
    "stdout accepts it, so the receive window closes when stdout is slow.\n"
    "\n"
    "  HOST PORT             connect to HOST (the IPv4 or IPv6 address of another unicast\n"
    "                        host, not --addr itself: 198.18.0.1, 2001:db8::1 or\n"
    "                        [2001:db8::1]) on PORT, from the stack's --addr of its family.\n"
    "                        localhost: the kernel's side of the TUN (--tun-host-addr)\n"
    "  -l                    listen on PORT of every --addr (both families) and serve one\n"
    "                        connection; further SYNs are refused with RST once it is\n"
    "                        accepted. With ADDR, on that one of the stack's addresses only\n"
    "                        (localhost: every one, as without ADDR). -l -p PORT is -l PORT\n"
    "  -4, -6                IPv4 or IPv6 only: with -l listen on the stack's address of that\n"
    "                        family alone; else HOST must be of it. Either way the stack\n"
    "                        needs an --addr of it\n"
    "  -k                    with -l: keep listening, serving one connection at a time (the\n"
    "                        next waits in a backlog of 8). stdin is shared as in OpenBSD\n"
    "                        nc -k: the connection being served reads it until end of file;\n"
    "                        every later connection gets an immediate half-close (FIN) and\n"
    "                        its data still goes to stdout\n"
    "  -p PORT               local port of the connection (default: an ephemeral port);\n"
    "                        with -l, the port to listen on (traditional nc -l -p PORT)\n"
    "  -z                    port probe: connect, and once established reset the connection\n"
    "                        and exit 0 (1 if refused or not answered); stdin is not read;\n"
    "                        -v says \"succeeded\". Not with -l or -u\n"
    "  -n, -N                accepted for nc's sake: synack never looks names up (-n) and\n"
    "                        always shuts the write side down at the end of stdin (-N)\n"
    "  -w SECS               give up if the connection is not established within SECS\n"
    "                        (default: the SYN retries, about two minutes); not with -l.\n"
    "                        With -u: see below. Over a UDP link whose other end is not\n"
    "                        running (the kernel reports ICMP port unreachable and nothing\n"
    "                        has come from it) the connection is refused at once\n"
    "  --linger MS           after a clean close in TIME_WAIT, stay this long to answer a\n"
    "                        retransmitted FIN whose ACK was lost, renewed while the peer\n"
    "                        keeps retransmitting; 0 exits at once. Default: twice the\n"
    "                        retransmission timeout (at least 2 s: a peer with no RTT\n"
    "                        sample retransmits after 1 s) when the path may lose\n"
    "                        packets; 0 when it cannot (no --loss, --corrupt or\n"
    "                        --rate, and the peer is the kernel's end of the TUN or the\n"
    "                        UDP peer is on loopback). Not with -k: the process stays up\n"
    "                        and answers such FINs anyway\n"
    "  -u, --udp             UDP datagrams instead of TCP, as OpenBSD nc -u (below)\n"
    "  -q SECS               exit SECS after the end of stdin. TCP: once our data and FIN\n"
    "                        are acknowledged (0: as soon as they are), even if the peer\n"
    "                        has not closed, whose side is then reset (exit 0). -u: 0 is\n"
    "                        as soon as the last datagram has left. Default: wait for the\n"
    "                        peer to close (TCP), keep receiving (-u)\n"
    "  -h, --help            this help\n"
    "\n"
    "UDP (-u), as OpenBSD nc -u:\n"
    "  datagrams             each read of stdin is one datagram of at most 16 KiB (nc's own\n"
    "                        buffer, so nc -u takes each whole): a line from a terminal,\n"
    "                        what was written since the last read from a pipe, 16 KiB at a\n"
    "                        time from a file; one larger than the MTU leaves in fragments.\n"
    "                        Each datagram received goes to stdout whole, as it came\n"
    "  HOST PORT             the socket (an ephemeral port, or -p) is connected to\n"
    "                        HOST:PORT: only its datagrams are taken. A port unreachable\n"
    "                        from it ends the run: \"connection to HOST:PORT refused\", exit 1\n"
    "                        (also when the UDP link's other end is not running)\n"
    "  -l [ADDR] PORT        stdin is read once the first datagram has come; the socket is\n"
    "                        then connected to its sender, who alone is answered and heard\n"
    "                        from (others get port unreachable, as from nc -u -l)\n"
    "  -l -k                 take datagrams from anyone; stdin goes to the sender of the\n"
    "                        latest one (nc -u -l -k does not answer)\n"
    "  end                   at end of stdin it keeps receiving, as nc -u does, until -q\n"
    "                        SECS have passed, or -w SECS have passed with nothing read\n"
    "                        from stdin and no datagram received (with -l, counted from the\n"
    "                        first datagram), or a signal. What was received is written out;\n"
    "                        datagrams still queued are left\n"
    "  back-pressure         stdin is read only while the stack takes the datagrams;\n"
    "                        datagrams are taken only as fast as stdout accepts them, and\n"
    "                        wait meanwhile in the socket's 64K queue, which drops (and\n"
    "                        counts, -v) what does not fit\n"
    "  not with -u           --linger, --mss (use --mtu), --rcvbuf, --sndbuf, --syncookies:\n"
    "                        they are about TCP\n"
    "\n"
    "%s"
    "\n"
    "examples:\n"
    "  nc -l 5000 > out &                  (the kernel's side, as root)\n"
    "  synack cat --link tun:tun0 --addr 198.18.0.2/24 --tun-host-addr 198.18.0.1/24 \\\n"
    "      198.18.0.1 5000 < file\n"
    "  synack cat -l --link udp:127.0.0.1:9001,127.0.0.1:9000 --addr 198.18.77.1/24 \\\n"
    "      5000 > out &                    (two unprivileged processes)\n"
    "  synack cat --link udp:127.0.0.1:9000,127.0.0.1:9001 --addr 198.18.77.2/24 \\\n"
    "      198.18.77.1 5000 < file\n"
    "  nc -6 -l 5000 > out &               (IPv6 with the kernel, as root)\n"
    "  synack cat --link tun:tun0 --addr 2001:db8::2/64 --tun-host-addr 2001:db8::1/64 \\\n"
    "      2001:db8::1 5000 < file\n"
    "  nc -u -l 5000 &                     (UDP: one datagram of hello to the kernel)\n"
    "  echo hello | synack cat -u -q 0 --link tun:tun0 --addr 198.18.0.2/24 \\\n"
    "      --tun-host-addr 198.18.0.1/24 198.18.0.1 5000\n"
    "\n"
    "exit status: 0 when both directions finished cleanly (all our data and our FIN\n"
    "acknowledged, the peer's FIN received and all its data written to stdout; with -u: ended\n"
    "by -q or -w with every datagram sent and every one received written); 1 when the\n"
    "connection failed (refused, timed out, reset by peer, ...; with -u: an ICMP error about\n"
    "a datagram of the connected socket) or stdin/stdout failed; 2 for bad usage; 130 on\n"
    "SIGINT and 143 on SIGTERM (128 + the signal, as a shell reports a process killed by it),\n"
    "after resetting the connection, flushing --pcap and restoring stdin and stdout. With -k,\n"
    "and with -u without -q or -w, it runs until signalled and reports failed connections.\n";

static int parse_port(const char *cmd, const char *what, const char *s, uint16_t *out)
{
    uint64_t v;
    if (cli_parse_u64(s, &v) < 0 || v < 1 || v > 65535)
        return cli_fail(cmd, "%s wants a port from 1 to 65535, not '%s'", what, s);
    *out = (uint16_t)v;
    return 0;
}

/* One of the flags that may also come together ("-lu", "-ulk", "-zv" is not: -v belongs to
 * the link options): l, k, u, z, n, N, 4, 6. 1, or 2 after printing why. */
static int parse_flag(struct netcat_opts *o, char flag)
{
    if (flag == 'n' || flag == 'N') {
        /* nc's -n (no name lookups: synack never looks names up) and -N (shut the write
         * side down at the end of stdin: synack always does) ask for what is done anyway. */
    } else if (flag == 'z') {
        o->zero = true;
    } else if (flag == 'l') {
        o->listen = true;
    } else if (flag == 'k') {
        o->keep = true;
    } else if (flag == 'u') {
        o->udp = true;
    } else {
        enum synack_family f = flag == '4' ? SYNACK_AF_INET : SYNACK_AF_INET6;
        if (o->family != SYNACK_AF_NONE && o->family != f)
            return cli_fail("cat", "-4 and -6 exclude each other: give one, or neither for both");
        o->family = f;
    }
    return 1;
}

/* "-l", "-u", or several flags in one ("-lu"). */
static bool is_flags(const char *a)
{
    return a[0] == '-' && a[1] && strspn(a + 1, "lkuznN46") == strlen(a + 1);
}

/* The options of cat itself, at argv[*i]. 1 consumed, 0 not ours, 2 bad value. */
static int parse_cat_option(struct netcat_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    double d;
    if (is_flags(a)) {
        for (const char *f = a + 1; *f; f++)
            if (parse_flag(o, *f) == 2) return 2;
    } else if (strcmp(a, "--listen") == 0) {
        o->listen = true;
    } else if (strcmp(a, "--keep-open") == 0) {
        o->keep = true;
    } else if (strcmp(a, "--udp") == 0) {
        o->udp = true;
    } else if (strcmp(a, "-p") == 0 || strcmp(a, "-w") == 0 || strcmp(a, "-q") == 0 ||
               strcmp(a, "--linger") == 0) {
        if (!v) return cli_fail("cat", "%s needs a value (see synack cat --help)", a);
        (*i)++;
        if (strcmp(a, "-p") == 0) {
            if (parse_port("cat", "-p", v, &o->src_port)) return 2;
        } else if (strcmp(a, "-w") == 0) {
            if (cli_parse_double(v, 0.001, 86400, &d) < 0)
                return cli_fail("cat", "-w wants seconds from 0.001 to 86400, not '%s'", v);
            o->wait = (synack_time_t)(d * 1e9);
        } else if (strcmp(a, "-q") == 0) {
            if (cli_parse_double(v, 0, 86400, &d) < 0)
                return cli_fail("cat", "-q wants seconds from 0 to 86400, not '%s'", v);
            o->quit = (synack_time_t)(d * 1e9);
            o->quit_set = true;
        } else {
            if (cli_parse_double(v, 0, 600000, &d) < 0)
                return cli_fail("cat", "--linger wants milliseconds from 0 to 600000, not '%s'", v);
            o->linger = (synack_time_t)(d * 1e6);
            o->linger_set = true;
        }
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}

static const char *family_flag(enum synack_family f)
{
    return f == SYNACK_AF_INET ? "-4" : "-6";
}

/* -l ADDR: one of the stack's own addresses, of the family -4/-6 chose ("localhost": this
 * host, every address of the stack, as without ADDR). 0 or 2. */
static int parse_listen_addr(struct netcat_opts *o, const char *text)
{
    if (strcmp(text, "localhost") == 0) return 0;
    struct synack_addr a;
    if (synack_addr_parse(text, &a) < 0)
        return cli_fail("cat", "-l ADDR wants one of the stack's addresses (--addr), not '%s'",
                        text);
    const struct synack_ifaddr *own = net_opts_addr(&o->net, (enum synack_family)a.family);
    bool any = net_opts_addr(&o->net, SYNACK_AF_INET) || net_opts_addr(&o->net, SYNACK_AF_INET6);
    if (own ? !synack_addr_eq(&a, &own->addr) : any)
        return cli_fail("cat", "-l listens on the stack's own address (--addr); '%s' is not it",
                        text);
    if (o->family != SYNACK_AF_NONE && a.family != o->family)
        return cli_fail("cat", "%s but -l ADDR %s is an %s address", family_flag(o->family), text,
                        o->family == SYNACK_AF_INET ? "IPv6" : "IPv4");
    o->listen_addr = a;
    o->family = (enum synack_family)a.family;
    return 0;
}

/* HOST "localhost": synack's stack has no loopback, and the host it runs on is the
 * kernel's side of the TUN (--tun-host-addr), of the family -4/-6 chose (IPv4 first).
 * 0, or 2 after printing why. */
static int parse_localhost(struct netcat_opts *o)
{
    for (int k = 0; k < NET_FAMILIES; k++) {
        const struct synack_ifaddr *h = &o->net.tun_host[k];
        if (h->addr.family == SYNACK_AF_NONE) continue;
        if (o->family != SYNACK_AF_NONE && h->addr.family != o->family) continue;
        o->host = h->addr;
        return 0;
    }
    return cli_fail("cat",
                    "HOST localhost is the kernel's side of the TUN (--tun-host-addr), "
                    "and none is given%s: give the peer's address",
                    o->family != SYNACK_AF_NONE ? " of that family" : "");
}

/* -l with -p PORT (traditional nc's "nc -l -p PORT"): the port to listen on; what else is
 * left is [ADDR], or the same PORT again. 0, or 2 after printing why. */
static int listen_port_from_p(struct netcat_opts *o, const char **pos, int *npos)
{
    uint16_t port = 0;
    uint64_t v;
    if (*npos == 2 || (*npos == 1 && cli_parse_u64(pos[0], &v) == 0)) {
        if (parse_port("cat", "PORT", pos[*npos - 1], &port)) return 2;
        if (port != o->src_port)
            return cli_fail("cat", "-l -p %u and PORT %u: give the port to listen on once",
                            o->src_port, port);
        (*npos)--;
    }
    o->port = o->src_port;
    o->src_port = 0;
    return 0;
}

/* What -u cannot take, and what only -u takes. 0, or 2 after printing why. */
static int check_udp_options(const struct netcat_opts *o)
{
    if (!o->udp) return 0;
    const char *opt = NULL, *hint = "";
    if (o->linger_set) {
        opt = "--linger";
    } else if (o->net.mss) {
        opt = "--mss";
        hint = " (--mtu sets their MTU)";
    } else if (o->net.rcvbuf || o->net.sndbuf) {
        opt = o->net.rcvbuf ? "--rcvbuf" : "--sndbuf";
        hint = " (the stack queues 64K of them each way)";
    } else if (o->net.syncookies_set) {
        opt = "--syncookies";
    }
    if (opt) return cli_fail("cat", "%s is about TCP, and -u sends UDP datagrams%s", opt, hint);
    return 0;
}

/* Fills `o` from argv; 0, -1 for --help (printed), or the exit status of a bad usage. */
static int parse_args(struct netcat_opts *o, int argc, char **argv)
{
    const char *pos[3];
    int npos = 0;
    netcat_opts_default(o);
    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf(cat_usage, net_opts_help);
            return -1;
        }
        int rc = net_opts_parse(&o->net, "cat", argc, argv, &i);
        if (rc < 0) return 2;
        if (rc > 0) continue;
        rc = parse_cat_option(o, argc, argv, &i);
        if (rc == 2) return 2;
        if (rc == 1) continue;
        if (a[0] == '-' && a[1] != 0)
            return cli_fail("cat", "unknown option '%s' (see synack cat --help)", a);
        if (npos == 3)
            return cli_fail("cat", "unexpected argument '%s' (see synack cat --help)", a);
        pos[npos++] = a;
        i++;
    }
    if (o->keep && !o->listen) return cli_fail("cat", "-k keeps listening: it needs -l");
    if (check_udp_options(o)) return 2;
    if (o->keep && o->linger_set)
        return cli_fail("cat", "--linger is for one connection: with -k the process stays up and "
                               "answers a peer's retransmitted FIN itself");
    if (o->zero && (o->listen || o->udp))
        return cli_fail("cat", "-z probes whether a TCP port is open: not with %s",
                        o->listen ? "-l" : "-u");
    if (o->listen) {
        if (o->wait && !o->udp)
            return cli_fail("cat", "-w limits connecting; with -l the listener waits as long as "
                                   "it runs (stop it with a signal or timeout(1))");
        bool by_p = o->src_port != 0;
        if (by_p && listen_port_from_p(o, pos, &npos)) return 2;
        if ((!by_p && npos == 0) || npos > (by_p ? 1 : 2))
            return cli_fail("cat", "-l wants the port to listen on: synack cat -l [ADDR] PORT");
        int naddr = by_p ? npos : npos - 1;
        if (naddr == 1 && parse_listen_addr(o, pos[0])) return 2;
        if (net_opts_check_family(&o->net, "cat", family_flag(o->family), o->family)) return 2;
        return by_p ? 0 : parse_port("cat", "PORT", pos[npos - 1], &o->port);
    }
    if (npos != 2)
        return cli_fail("cat", "wants HOST PORT to connect to, or -l PORT to listen (see synack "
                               "cat --help)");
    if (strcmp(pos[0], "localhost") == 0) {
        if (parse_localhost(o)) return 2;
    } else if (synack_addr_parse(pos[0], &o->host) < 0)
        return cli_fail("cat",
                        "HOST wants an IPv4 or IPv6 address like 198.18.0.1 or 2001:db8::1, "
                        "not '%s'",
                        pos[0]);
    if (o->family != SYNACK_AF_NONE && o->host.family != o->family)
        return cli_fail("cat", "%s but HOST %s is an %s address", family_flag(o->family), pos[0],
                        o->family == SYNACK_AF_INET ? "IPv6" : "IPv4");
    if (net_opts_check_peer(&o->net, "cat", "HOST", &o->host)) return 2;
    return parse_port("cat", "PORT", pos[1], &o->port);
}

int cmd_cat(int argc, char **argv)
{
    struct netcat_opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    return netcat_run(&o, "cat");
}
