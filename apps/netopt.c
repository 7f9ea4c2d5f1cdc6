/* The link options of `synack cat` and `synack http`, and the stack + link + loop they build. */
#include "netopt.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "ctl.h"
#include "netaddr.h"

#define NET_MAX_MTU 65535u        /* an IPv4 packet's total length is 16 bits */
#define NET_MIN_MTU 68u           /* RFC 791: every host takes 68-byte datagrams */
#define NET_MIN_MTU6 1280u        /* RFC 8200 §5: every link that carries IPv6 */
#define NET_HDRS 40u              /* IPv4 + TCP headers without options: MSS = MTU - 40 */
#define NET_HDRS6 60u             /* IPv6 + TCP headers without options: MSS = MTU - 60 */
#define NET_UDP_OVERHEAD 28u      /* IPv4 + UDP headers around each encapsulated packet */
#define NET_UDP_OVERHEAD6 48u     /* IPv6 + UDP headers around each encapsulated packet */
#define NET_BUF_MAX (1u << 30)    /* RFC 7323 §2.3: a window is at most 1 GiB */
#define NET_NAMES 8               /* connections whose names are remembered for the log */
#define NET_DRAIN_MAX SYNACK_S(3) /* how long close waits for held packets to leave */

const char net_opts_help[] =
    "link options (shared by synack cat, synack http and synack run):\n"
    "  --link tun:IFNAME     a TUN device, created if absent (default tun:synack0; needs root\n"
    "                        or CAP_NET_ADMIN)\n"
    "  --link udp:LOCALIP:PORT,PEERIP:PORT\n"
    "                        UDP encapsulation: each IP packet (IPv4 or IPv6) is one UDP\n"
    "                        datagram between the two addresses, both IPv4 or both IPv6 in\n"
    "                        brackets (udp:[::1]:9000,[::1]:9001); no privilege needed\n"
    "                        (LOCALIP may be 0.0.0.0 or [::])\n"
    "  --addr ADDR[/PREFIX]  this stack's address (required, but by synack run on a TUN):\n"
    "                        IPv4 or IPv6, a unicast host address, not the network or\n"
    "                        broadcast address of an IPv4 PREFIX nor the Subnet-Router\n"
    "                        anycast address of an IPv6 one; give it\n"
    "                        twice, one of each family, for a stack with both\n"
    "  --tun-host-addr ADDR[/PREFIX]\n"
    "                        configure the kernel's side of the TUN: give it this address\n"
    "                        (prefix 24, or 64 for IPv6, if omitted; once per family), set\n"
    "                        the MTU and bring it up; --addr must be another address of the\n"
    "                        same subnet, one for each family given here. Without it the\n"
    "                        device is only attached and must be configured already.\n"
    "  --tun-offload MODE    TUN offloads: auto (default: a virtio-net header, checksum\n"
    "                        offload and TSO when the kernel takes them, so TCP segments of\n"
    "                        up to 64 KiB cross the device both ways and the kernel finishes\n"
    "                        the stack's TCP and UDP checksums), off (plain packets), require\n"
    "                        (fail when the kernel refuses them)\n"
    "  --udp-offload MODE    UDP offloads: auto (default: packets of one length in a row\n"
    "                        leave as one UDP GSO message and merged datagrams are taken,\n"
    "                        UDP GRO, where the kernel has them) or off (one datagram per\n"
    "                        packet each way)\n"
    "  --mtu N               the link's MTU: the stack's MTU is at most N (TUN: also set on\n"
    "                        the device with --tun-host-addr; UDP: the path MTU is taken as\n"
    "                        N + 28 bytes of IPv4 + UDP headers, N + 48 over IPv6, default\n"
    "                        1500); at least 1280 when the stack has an IPv6 address\n"
    "  --mss N               offer this MSS (the stack's MTU becomes N + 40, and the MSS over\n"
    "                        IPv6 is 20 less; N + 60 for a stack with only an IPv6 address;\n"
    "                        at most the link's MTU - 40)\n"
    "  --rcvbuf N, --sndbuf N\n"
    "                        receive / send buffer per connection, like 64K or 4M (default\n"
    "                        64K each, at most 1G)\n"
    "  --syncookies MODE     SYN cookies: overflow (default: when a listener's SYN queue is\n"
    "                        full), always, never\n"
    "  --loss P              drop packets with probability P (0.02 or 2%), each direction\n"
    "  --delay MS            hold every packet MS milliseconds, each direction\n"
    "  --reorder P           hold a packet back 10 ms more with probability P, so others pass\n"
    "  --dup P               deliver a second copy with probability P\n"
    "  --corrupt P           flip one random bit with probability P\n"
    "  --rate MBIT           serialize at MBIT Mbit/s each direction, drop-tail queue of 128K\n"
    "  --seed N              seed of the impairments, the ephemeral ports and the ISN key\n"
    "                        (default: random; -v prints it so a run can be repeated)\n"
    "  --pcap FILE           capture every packet the stack sends and receives (after the\n"
    "                        impairments) to FILE\n"
    "  --no-control          no control socket: `synack ss` will not list this process\n"
    "                        (by default it listens on $XDG_RUNTIME_DIR/synack/PID.sock, or\n"
    "                        /tmp/synack-UID/PID.sock; $SYNACK_CTL_DIR names another\n"
    "                        directory), which only the same user (or root) can open\n"
    "  -v, --verbose         state transitions and a summary (bytes, segments,\n"
    "                        retransmissions, RTT, cwnd, link and impairment counters) on\n"
    "                        stderr; twice (-vv) congestion-control phase changes too\n";

/* One remembered connection name. */
struct net_name {
    uint64_t id;
    char text[2 * SYNACK_ENDPOINT_STRLEN + 4];
};

struct net_env_priv {
    /* The config and the link chain; e->link is chain.link (the stack does not own it). */
    struct net_chain chain;
    struct net_name names[NET_NAMES];
    size_t names_next;
    int sigfd;              /* net_env_watch_signals' signalfd, or -1 */
    struct ctl_server *ctl; /* the control socket (`synack ss`), or NULL */
};

/* The slot of `family` in net_opts.addrs and tun_host. */
static size_t family_slot(enum synack_family family)
{
    return family == SYNACK_AF_INET6 ? NET_V6 : NET_V4;
}

static const struct synack_ifaddr *ifaddr_of(const struct synack_ifaddr *slots,
                                             enum synack_family family)
{
    const struct synack_ifaddr *a = &slots[family_slot(family)];
    return a->addr.family == family && family != SYNACK_AF_NONE ? a : NULL;
}

static bool has_any(const struct synack_ifaddr *slots)
{
    return slots[NET_V4].addr.family != SYNACK_AF_NONE ||
           slots[NET_V6].addr.family != SYNACK_AF_NONE;
}

const struct synack_ifaddr *net_opts_addr(const struct net_opts *o, enum synack_family family)
{
    return ifaddr_of(o->addrs, family);
}

/* "198.18.0.0/24" or "2001:db8::/64": the subnet of `a`. */
static void format_subnet(const struct synack_ifaddr *a, char *out, size_t cap)
{
    char text[SYNACK_ADDR_STRLEN];
    struct synack_addr net = netaddr_subnet(&a->addr, a->prefix);
    synack_addr_format(&net, text, sizeof text);
    snprintf(out, cap, "%s/%u", text, a->prefix);
}

/* An example of an address of `family` for messages: what the README uses. */
static const char *example_addr(enum synack_family family, bool host_side)
{
    if (family == SYNACK_AF_INET6) return host_side ? "2001:db8::1/64" : "2001:db8::2/64";
    return host_side ? "198.18.0.1/24" : "198.18.0.2/24";
}

/* What --link names. */ /* What --link names. */
struct link_spec {
    bool udp;
    char ifname[16]; /* IFNAMSIZ */
    struct synack_udp_config ucfg;
};

/* "ADDR:PORT" or "[IPV6]:PORT" with a port from 1 to 65535 (the first `len` bytes of `s`).
 * 0 or -1. */
static int parse_endpoint(const char *s, size_t len, struct synack_endpoint *out)
{
    char buf[SYNACK_ENDPOINT_STRLEN];
    if (len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (synack_endpoint_parse(buf, out) < 0 || out->port == 0) return -1;
    return 0;
}

/* The two ends of a UDP link: the peer a host, ours the peer's family or its wildcard. */
static int parse_udp_ends(const char *spec, struct synack_udp_config *u)
{
    const char *comma = strchr(spec, ',');
    if (!comma || parse_endpoint(spec, (size_t)(comma - spec), &u->local) < 0 ||
        parse_endpoint(comma + 1, strlen(comma + 1), &u->peer) < 0)
        return -1;
    if (synack_addr_is_any(&u->peer.addr)) return -1;
    if (synack_addr_is_any(&u->local.addr)) u->local.addr = synack_addr_any(SYNACK_AF_NONE);
    if (u->local.addr.family != SYNACK_AF_NONE && u->local.addr.family != u->peer.addr.family)
        return -1;
    return 0;
}

/* Parses a --link value; on error writes why into `why`. 0 or -1. */
static int link_spec_parse(const char *s, struct link_spec *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (strncmp(s, "tun:", 4) == 0) {
        const char *name = s + 4;
        size_t n = strlen(name);
        if (n == 0 || n >= sizeof out->ifname || strpbrk(name, "/: \t")) {
            snprintf(why, cap,
                     "wants tun:IFNAME with a device name of 1 to 15 characters, not '%s'", s);
            return -1;
        }
        memcpy(out->ifname, name, n + 1);
        return 0;
    }
    if (strncmp(s, "udp:", 4) == 0) {
        out->udp = true;
        if (parse_udp_ends(s + 4, &out->ucfg) < 0) {
            snprintf(why, cap,
                     "wants udp:LOCALIP:PORT,PEERIP:PORT with both of one family (like "
                     "udp:127.0.0.1:9000,127.0.0.1:9001 or udp:[::1]:9000,[::1]:9001), not '%s'",
                     s);
            return -1;
        }
        return 0;
    }
    snprintf(why, cap, "wants tun:IFNAME or udp:LOCALIP:PORT,PEERIP:PORT, not '%s'", s);
    return -1;
}

void net_opts_default(struct net_opts *o)
{
    memset(o, 0, sizeof *o);
    o->link = "tun:synack0";
    synack_fault_params_default(&o->fault);
}

/* The value of option `name` at argv[*i]: "--name VALUE" or "--name=VALUE". NULL when
 * argv[*i] is not that option; `*missing` is set when it is but has no value. */
static const char *opt_value(const char *name, int argc, char **argv, int *i, bool *missing)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0) return NULL;
    if (arg[n] == '=') {
        (*i)++;
        return arg + n + 1;
    }
    if (arg[n] != 0) return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    *i += 2;
    return argv[*i - 1];
}

/* A probability option: 0, or -1 after printing why. */
static int set_fraction(const char *cmd, const char *name, const char *v, double *out, bool *on)
{
    if (cli_parse_fraction(v, out) < 0) {
        cli_fail(cmd, "%s wants a probability like 0.02 or 2%%, not '%s'", name, v);
        return -1;
    }
    if (*out > 0) *on = true;
    return 0;
}

/* A buffer size from 1 byte to 1 GiB: 0, or -1 after printing why. */
static int set_bufsize(const char *cmd, const char *name, const char *v, size_t *out)
{
    uint64_t size;
    if (cli_parse_size(v, &size) < 0 || size == 0 || size > NET_BUF_MAX) {
        cli_fail(cmd, "%s wants a size from 1 to 1G, like 64K or 4M, not '%s'", name, v);
        return -1;
    }
    *out = (size_t)size;
    return 0;
}

/* An interface address (--addr, --tun-host-addr) must be a unicast host address of its
 * subnet. 1, or -1 after printing why. */
static int check_own_addr(const char *cmd, const char *name, const char *v,
                          const struct synack_ifaddr *a)
{
    const char *why = netaddr_not_unicast(&a->addr);
    if (why)
        return cli_fail(cmd, "%s %s is %s: give a unicast address like %s", name, v, why,
                        example_addr((enum synack_family)a->addr.family, false)),
               -1;
    const char *edge = netaddr_subnet_edge(&a->addr, a->prefix);
    if (edge) {
        char net[SYNACK_ADDR_STRLEN + 8];
        format_subnet(a, net, sizeof net);
        return cli_fail(cmd,
                        "%s %s is the %s address of %s, not a host's: pick another address "
                        "of the subnet",
                        name, v, edge, net),
               -1;
    }
    return 1;
}

/* --addr or --tun-host-addr: parsed into the slot of its family, once per family. 1, or -1
 * after printing why. */
static int parse_ifaddr_opt(const char *cmd, const char *name, const char *v, unsigned dflt4,
                            unsigned dflt6, struct synack_ifaddr *slots)
{
    struct synack_ifaddr a;
    char why[64];
    int rc = netaddr_parse_ifaddr(v, dflt4, dflt6, &a, why, sizeof why);
    if (rc == -2) return cli_fail(cmd, "%s %s: %s", name, v, why), -1;
    if (rc < 0) {
        bool host = strcmp(name, "--tun-host-addr") == 0;
        return cli_fail(cmd, "%s wants ADDR/PREFIX like %s or %s, not '%s'", name,
                        example_addr(SYNACK_AF_INET, host), example_addr(SYNACK_AF_INET6, host), v),
               -1;
    }
    enum synack_family f = (enum synack_family)a.addr.family;
    const struct synack_ifaddr *had = ifaddr_of(slots, f);
    if (had) {
        char text[SYNACK_ADDR_STRLEN];
        synack_addr_format(&had->addr, text, sizeof text);
        return cli_fail(cmd,
                        "%s %s: an %s address was given already (%s/%u): give %s once per "
                        "family",
                        name, v, netaddr_family_name(f), text, had->prefix, name),
               -1;
    }
    if (check_own_addr(cmd, name, v, &a) < 0) return -1;
    slots[family_slot(f)] = a;
    return 1;
}

int net_opts_check_peer(const struct net_opts *o, const char *cmd, const char *what,
                        const struct synack_addr *host)
{
    char a[SYNACK_ADDR_STRLEN], net[SYNACK_ADDR_STRLEN + 8];
    synack_addr_format(host, a, sizeof a);
    enum synack_family f = (enum synack_family)host->family;
    const char *why = netaddr_not_unicast(host);
    if (why)
        return cli_fail(cmd, "%s %s is %s: a TCP connection needs a unicast peer", what, a, why);
    const struct synack_ifaddr *own = net_opts_addr(o, f);
    if (!own && has_any(o->addrs))
        return cli_fail(cmd,
                        "%s %s is an %s address but the stack has none: add --addr with one "
                        "(like --addr %s)",
                        what, a, netaddr_family_name(f), example_addr(f, false));
    if (!own) return 0;
    if (synack_addr_eq(host, &own->addr))
        return cli_fail(cmd,
                        "%s %s is this stack's own address (--addr): connect to another host, "
                        "such as the kernel's side of the TUN",
                        what, a);
    const char *edge = netaddr_subnet_edge(host, own->prefix);
    if (edge && netaddr_same_subnet(host, &own->addr, own->prefix)) {
        format_subnet(own, net, sizeof net);
        return cli_fail(cmd, "%s %s is the %s address of %s: a TCP connection needs one host", what,
                        a, edge, net);
    }
    return 0;
}

int net_opts_check_family(const struct net_opts *o, const char *cmd, const char *flag,
                          enum synack_family family)
{
    if (family == SYNACK_AF_NONE || !has_any(o->addrs) || net_opts_addr(o, family)) return 0;
    return cli_fail(cmd, "%s needs an %s --addr for the stack (like --addr %s)", flag,
                    netaddr_family_name(family), example_addr(family, false));
}

/* The options that take a value. Returns 1 (consumed), 0 (not ours), -1 (bad value). */
static int parse_valued(struct net_opts *o, const char *cmd, const char *name, const char *v)
{
    uint64_t u;
    double d;
    char why[256];
    if (strcmp(name, "--link") == 0) {
        struct link_spec spec;
        if (link_spec_parse(v, &spec, why, sizeof why) < 0)
            return cli_fail(cmd, "--link %s", why), -1;
        o->link = v;
    } else if (strcmp(name, "--addr") == 0) {
        /* Without a prefix: the address alone (its subnet unknown). */
        return parse_ifaddr_opt(cmd, name, v, 32, 128, o->addrs);
    } else if (strcmp(name, "--tun-host-addr") == 0) {
        /* Without a prefix: a /24 (IPv4), the /64 of RFC 4291 §2.5.4 (IPv6). */
        return parse_ifaddr_opt(cmd, name, v, 24, 64, o->tun_host);
    } else if (strcmp(name, "--loss") == 0) {
        return set_fraction(cmd, name, v, &o->fault.loss, &o->fault_on) < 0 ? -1 : 1;
    } else if (strcmp(name, "--reorder") == 0) {
        return set_fraction(cmd, name, v, &o->fault.reorder, &o->fault_on) < 0 ? -1 : 1;
    } else if (strcmp(name, "--dup") == 0) {
        return set_fraction(cmd, name, v, &o->fault.dup, &o->fault_on) < 0 ? -1 : 1;
    } else if (strcmp(name, "--corrupt") == 0) {
        return set_fraction(cmd, name, v, &o->fault.corrupt, &o->fault_on) < 0 ? -1 : 1;
    } else if (strcmp(name, "--delay") == 0) {
        if (cli_parse_double(v, 0, 60000, &d) < 0)
            return cli_fail(cmd, "--delay wants milliseconds from 0 to 60000, not '%s'", v), -1;
        o->fault.delay = (synack_time_t)(d * 1e6);
        if (o->fault.delay) o->fault_on = true;
    } else if (strcmp(name, "--rate") == 0) {
        if (cli_parse_double(v, 0.001, 1e6, &d) < 0)
            return cli_fail(cmd, "--rate wants Mbit/s from 0.001 to 1000000, not '%s'", v), -1;
        o->fault.rate_bps = (uint64_t)(d * 1e6);
        o->fault_on = true;
    } else if (strcmp(name, "--seed") == 0) {
        if (cli_parse_u64(v, &o->seed) < 0)
            return cli_fail(cmd, "--seed wants a whole number, not '%s'", v), -1;
        o->seed_set = true;
    } else if (strcmp(name, "--pcap") == 0) {
        if (!*v) return cli_fail(cmd, "--pcap wants a file name"), -1;
        o->pcap = v;
    } else if (strcmp(name, "--mss") == 0) {
        if (cli_parse_u64(v, &u) < 0 || u < NET_MIN_MTU - NET_HDRS || u > NET_MAX_MTU - NET_HDRS)
            return cli_fail(cmd, "--mss wants bytes from %u to %u, not '%s'",
                            NET_MIN_MTU - NET_HDRS, NET_MAX_MTU - NET_HDRS, v),
                   -1;
        o->mss = (unsigned)u;
    } else if (strcmp(name, "--mtu") == 0) {
        if (cli_parse_u64(v, &u) < 0 || u < NET_MIN_MTU || u > NET_MAX_MTU)
            return cli_fail(cmd, "--mtu wants bytes from %u to %u, not '%s'", NET_MIN_MTU,
                            NET_MAX_MTU, v),
                   -1;
        o->mtu = (unsigned)u;
    } else if (strcmp(name, "--syncookies") == 0) {
        if (synack_syncookies_parse(v, &o->syncookies) < 0)
            return cli_fail(cmd, "--syncookies wants overflow, always or never, not '%s'", v), -1;
        o->syncookies_set = true;
    } else if (strcmp(name, "--tun-offload") == 0) {
        static const struct {
            const char *name;
            int mode;
        } modes[] = {{"auto", SYNACK_TUN_OFFLOAD_AUTO},
                     {"off", SYNACK_TUN_OFFLOAD_OFF},
                     {"require", SYNACK_TUN_OFFLOAD_REQUIRE}};
        for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++)
            if (strcmp(v, modes[k].name) == 0) return o->tun_offload = modes[k].mode, 1;
        return cli_fail(cmd, "--tun-offload wants auto, off or require, not '%s'", v), -1;
    } else if (strcmp(name, "--udp-offload") == 0) {
        if (strcmp(v, "auto") != 0 && strcmp(v, "off") != 0)
            return cli_fail(cmd, "--udp-offload wants auto or off, not '%s'", v), -1;
        o->udp_offload_off = strcmp(v, "off") == 0;
    } else if (strcmp(name, "--stacks") == 0) {
        if (cli_parse_u64(v, &u) < 0 || u < 1 || u > SYNACK_TUN_MAX_QUEUES)
            return cli_fail(cmd, "--stacks wants a count from 1 to %u, not '%s'",
                            SYNACK_TUN_MAX_QUEUES, v),
                   -1;
        o->stacks = (unsigned)u;
    } else if (strcmp(name, "--rcvbuf") == 0) {
        return set_bufsize(cmd, name, v, &o->rcvbuf) < 0 ? -1 : 1;
    } else if (strcmp(name, "--sndbuf") == 0) {
        return set_bufsize(cmd, name, v, &o->sndbuf) < 0 ? -1 : 1;
    } else {
        return 0;
    }
    return 1;
}

int net_opts_parse(struct net_opts *o, const char *cmd, int argc, char **argv, int *i)
{
    static const char *const valued[] = {
        "--link",       "--addr",        "--tun-host-addr", "--loss",        "--reorder",
        "--dup",        "--corrupt",     "--delay",         "--rate",        "--seed",
        "--pcap",       "--mss",         "--mtu",           "--rcvbuf",      "--sndbuf",
        "--syncookies", "--tun-offload", "--stacks",        "--udp-offload",
    };
    const char *arg = argv[*i];
    if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
        o->verbose++;
        (*i)++;
        return 1;
    }
    if (strcmp(arg, "-vv") == 0) {
        o->verbose += 2;
        (*i)++;
        return 1;
    }
    if (strcmp(arg, "--no-control") == 0) {
        o->no_control = true;
        (*i)++;
        return 1;
    }
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
        bool missing = false;
        const char *v = opt_value(valued[k], argc, argv, i, &missing);
        if (missing) return cli_fail(cmd, "%s needs a value (see synack %s --help)", arg, cmd), -1;
        if (v) return parse_valued(o, cmd, valued[k], v);
    }
    return 0;
}

bool net_opts_path_may_lose(const struct net_opts *o, const struct synack_addr *remote)
{
    struct link_spec spec;
    char why[256];
    if (o->fault.loss > 0 || o->fault.corrupt > 0 || o->fault.rate_bps > 0) return true;
    if (link_spec_parse(o->link, &spec, why, sizeof why) < 0) return true;
    if (spec.udp) return !netaddr_is_loopback(&spec.ucfg.peer.addr);
    const struct synack_ifaddr *h = ifaddr_of(o->tun_host, (enum synack_family)remote->family);
    return !h || !synack_addr_eq(remote, &h->addr);
}

void net_opts_format_addrs(const struct net_opts *o, char *out, size_t cap)
{
    char t[NET_FAMILIES][SYNACK_ADDR_STRLEN];
    size_t n = 0;
    for (size_t k = 0; k < NET_FAMILIES; k++)
        if (o->addrs[k].addr.family != SYNACK_AF_NONE)
            synack_addr_format(&o->addrs[k].addr, t[n++], sizeof t[0]);
    snprintf(out, cap, "%s%s%s", n > 0 ? t[0] : "-", n > 1 ? " and " : "", n > 1 ? t[1] : "");
}

/* ---- building the chain ------------------------------------------------------------------ */

/* The --addr and the --tun-host-addr of `f`, for a TUN whose kernel side is configured:
 * both or neither, another address of one subnet. 0, or 2 after printing why. */
static int check_tun_pair(const struct net_opts *o, enum synack_family f, const char *cmd)
{
    const struct synack_ifaddr *a = ifaddr_of(o->addrs, f), *h = ifaddr_of(o->tun_host, f);
    const char *fam = netaddr_family_name(f);
    char at[SYNACK_ADDR_STRLEN] = "", ht[SYNACK_ADDR_STRLEN] = "";
    if (a) synack_addr_format(&a->addr, at, sizeof at);
    if (h) synack_addr_format(&h->addr, ht, sizeof ht);
    if (!a && !h) return 0;
    if (!h)
        return cli_fail(cmd,
                        "--addr %s is %s but no --tun-host-addr is: the kernel would have no "
                        "route to it (add one of its subnet, like --tun-host-addr %s)",
                        at, fam, example_addr(f, true));
    if (!a)
        return cli_fail(cmd,
                        "--tun-host-addr %s is %s but the stack has no %s --addr: give it one "
                        "of that subnet (like --addr %s)",
                        ht, fam, fam, example_addr(f, false));
    if (synack_addr_eq(&a->addr, &h->addr))
        return cli_fail(cmd,
                        "--addr %s is the TUN host address too: the kernel keeps that one for "
                        "itself, give the stack another address of the subnet",
                        at);
    if (!netaddr_same_subnet(&a->addr, &h->addr, h->prefix))
        return cli_fail(cmd,
                        "--addr %s is outside %s/%u: the kernel routes only that subnet to the "
                        "TUN device, so put the stack's address inside it",
                        at, ht, h->prefix);
    const char *edge = netaddr_subnet_edge(&a->addr, h->prefix);
    if (edge) return cli_fail(cmd, "--addr %s is the %s address of %s/%u", at, edge, ht, h->prefix);
    return 0;
}

/* The checks that need several options together. 0, or 2 after printing why. */
static int check_addresses(const struct net_opts *o, const struct link_spec *spec, const char *cmd)
{
    if (!has_any(o->addrs))
        return cli_fail(cmd, "--addr ADDR/PREFIX is required: this stack's own address (like "
                             "--addr 198.18.0.2/24 or --addr 2001:db8::2/64)");
    if (spec->udp) {
        if (has_any(o->tun_host))
            return cli_fail(cmd, "--tun-host-addr is for --link tun:IFNAME; a UDP link has no "
                                 "kernel side to configure");
        return 0;
    }
    if (!has_any(o->tun_host)) return 0;
    int rc = check_tun_pair(o, SYNACK_AF_INET, cmd);
    return rc ? rc : check_tun_pair(o, SYNACK_AF_INET6, cmd);
}

/* SplitMix64: spreads one seed into the ISN key. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The seed and ISN key: derived from --seed, or drawn from the kernel. 0, or 1. */
static int choose_seed(const struct net_opts *o, struct synack_config *cfg, const char *cmd)
{
    if (o->seed_set) {
        uint64_t st = o->seed;
        cfg->seed = o->seed;
        for (size_t k = 0; k < sizeof cfg->isn_secret; k += 8) {
            uint64_t r = splitmix64(&st);
            memcpy(cfg->isn_secret + k, &r, 8);
        }
        return 0;
    }
    uint8_t rnd[8 + sizeof cfg->isn_secret];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fprintf(stderr, "synack %s: cannot draw a random seed (%s); pass --seed N\n", cmd,
                    strerror(errno));
            return 1;
        }
        got += (size_t)n;
    }
    memcpy(&cfg->seed, rnd, 8);
    memcpy(cfg->isn_secret, rnd + 8, sizeof cfg->isn_secret);
    return 0;
}

/* Opens the innermost link. 0, or 1 after printing why. */
static int open_base(struct net_chain *c, const struct net_opts *o, const struct link_spec *spec,
                     const char *cmd)
{
    char err[256] = "";
    int rc;
    if (spec->udp) {
        struct synack_udp_config ucfg = spec->ucfg;
        bool outer6 = ucfg.peer.addr.family == SYNACK_AF_INET6;
        if (o->mtu) ucfg.path_mtu_max = o->mtu + (outer6 ? NET_UDP_OVERHEAD6 : NET_UDP_OVERHEAD);
        ucfg.no_offload = o->udp_offload_off;
        rc = synack_udp_open(&c->base, &ucfg, err, sizeof err);
    } else {
        struct synack_tun_config tcfg = {.ifname = spec->ifname,
                                         .mtu = has_any(o->tun_host) ? o->mtu : 0,
                                         .offload = o->tun_offload};
        _Static_assert(NET_FAMILIES <= SYNACK_TUN_HOST_ADDRS, "one TUN address per family");
        memcpy(tcfg.host_addrs, o->tun_host, sizeof o->tun_host);
        if (o->stacks > 1) {
            rc = synack_tun_open_queues(c->queues, o->stacks, &tcfg, err, sizeof err);
            if (rc == 0) c->nqueues = o->stacks;
            c->base = rc == 0 ? c->queues[0] : NULL;
        } else {
            rc = synack_tun_open(&c->base, &tcfg, err, sizeof err);
        }
    }
    if (rc < 0) {
        c->base = NULL;
        fprintf(stderr, "synack %s: %s\n", cmd, err[0] ? err : synack_strerror(rc));
        return 1;
    }
    c->link = c->base;
    return 0;
}

/* The headers --mss leaves room for: the MSS offered over IPv4 when the stack has an IPv4
 * address (over IPv6 it is then 20 bytes less), else over IPv6. */
static unsigned mss_headers(const struct net_opts *o)
{
    return net_opts_addr(o, SYNACK_AF_INET) ? NET_HDRS : NET_HDRS6;
}

/* The stack's MTU: the link's, lowered for --mss; at least 1280 with an IPv6 address (RFC
 * 8200 §5). 0, or 2 after printing why. */
static int choose_mtu(const char *cmd, const struct net_opts *o, unsigned link_mtu, uint16_t *out)
{
    bool v6 = net_opts_addr(o, SYNACK_AF_INET6) != NULL;
    unsigned floor = v6 ? NET_MIN_MTU6 : NET_MIN_MTU, hdrs = mss_headers(o);
    const char *needs = v6 ? "IPv6 needs (RFC 8200 §5)" : "IPv4 needs";
    if (link_mtu > NET_MAX_MTU) link_mtu = NET_MAX_MTU;
    if (o->mtu && o->mtu < link_mtu) link_mtu = o->mtu; /* an attached TUN keeps its own */
    if (link_mtu < floor)
        return cli_fail(cmd, "the link's MTU is %u, below the %u bytes %s", link_mtu, floor, needs);
    if (o->mss) {
        if (o->mss + hdrs > link_mtu)
            return cli_fail(cmd, "--mss %u does not fit the link: its MTU %u allows %u at most",
                            o->mss, link_mtu, link_mtu - hdrs);
        if (o->mss + hdrs < floor)
            return cli_fail(cmd,
                            "--mss %u would make the stack's MTU %u, below the %u bytes %s: "
                            "%u at least",
                            o->mss, o->mss + hdrs, floor, needs, floor - hdrs);
        link_mtu = o->mss + hdrs;
    }
    *out = (uint16_t)link_mtu;
    return 0;
}

/* Wraps the link in the fault injector when impairments are asked for. 0, or 1. */
static int wrap_fault(struct net_chain *c, const struct net_opts *o, const char *cmd)
{
    if (!o->fault_on) return 0;
    int rc = synack_fault_wrap(&c->fault, c->link, &o->fault, c->cfg.seed);
    if (rc < 0) {
        c->link = c->base = NULL; /* the wrapper freed it */
        fprintf(stderr, "synack %s: the impairments could not be set up: %s\n", cmd,
                synack_strerror(rc));
        return 1;
    }
    c->link = c->fault;
    return 0;
}

/* The capture goes next to the stack; its timestamps are wall-clock time. 0, or 1. */
static int wrap_pcap(struct net_chain *c, const struct net_opts *o, const char *cmd)
{
    if (!o->pcap) return 0;
    /* Only drivers/loop reads the clock; the offset needs no loop. */
    synack_time_t epoch = synack_loop_epoch_offset(NULL);
    char err[256] = "";
    int rc = synack_pcap_wrap(&c->pcap, c->link, o->pcap, epoch, err, sizeof err);
    if (rc < 0) {
        c->link = c->base = c->fault = NULL; /* the wrapper freed them */
        fprintf(stderr, "synack %s: %s\n", cmd,
                err[0] ? err : "the capture file could not be created");
        return 1;
    }
    c->link = c->pcap;
    return 0;
}

/* The stack's configuration from the options, but for its MTU (the link's). 0, or the exit
 * status after printing why. */
static int chain_config(struct synack_config *cfg, const struct net_opts *o, const char *cmd)
{
    int rc;
    synack_config_default(cfg);
    for (size_t k = 0; k < NET_FAMILIES; k++) /* the IPv4 one first */
        if (o->addrs[k].addr.family != SYNACK_AF_NONE &&
            (rc = synack_config_add_addr(cfg, &o->addrs[k].addr)) < 0)
            return cli_fail(cmd, "the stack cannot take --addr: %s", synack_strerror(rc));
    /* A size given is a size fixed, as SO_SNDBUF and SO_RCVBUF fix Linux's. */
    if (o->sndbuf) {
        cfg->sndbuf = o->sndbuf;
        cfg->sndbuf_max = 0;
    }
    if (o->rcvbuf) {
        cfg->rcvbuf = o->rcvbuf;
        cfg->rcvbuf_max = 0;
    }
    if (o->syncookies_set) cfg->syncookies = o->syncookies;
    /* The multi-queue TUN's program steers by synack_flow_queue_xor (link.h). */
    if (o->stacks > 1) cfg->steer_hash = SYNACK_STEER_XOR;
    return choose_seed(o, cfg, cmd);
}

/* --stacks N > 1 needs what one queue per stack allows: a TUN link, and no layer that would
 * wrap one queue only (impairments, --pcap). 0, or 2 after printing why. */
static int check_stacks(const struct net_opts *o, const struct link_spec *spec, const char *cmd)
{
    if (o->stacks <= 1) return 0;
    if (spec->udp)
        return cli_fail(cmd,
                        "--stacks %u needs a TUN link (a multi-queue TUN steers each flow"
                        " to one stack); --link %s is UDP",
                        o->stacks, o->link);
    if (o->fault_on || o->pcap)
        return cli_fail(cmd,
                        "--stacks %u cannot be combined with impairments or --pcap yet"
                        " (they wrap one link, not one per stack)",
                        o->stacks);
    return 0;
}

int net_opts_check(const struct net_opts *o, const char *cmd)
{
    struct link_spec spec;
    char why[256];
    if (link_spec_parse(o->link, &spec, why, sizeof why) < 0)
        return cli_fail(cmd, "--link %s", why);
    int rc = check_stacks(o, &spec, cmd);
    return rc ? rc : check_addresses(o, &spec, cmd);
}

void net_opts_default_tun_addrs(struct net_opts *o)
{
    if (strncmp(o->link, "tun:", 4) != 0 || has_any(o->addrs) || has_any(o->tun_host)) return;
    static const char *const ours[] = {"198.18.0.2/24", "2001:db8::2/64"};
    static const char *const hosts[] = {"198.18.0.1/24", "2001:db8::1/64"};
    /* IPv6 needs an MTU of 1280 (RFC 8200 §5): no default IPv6 address below it. */
    size_t families = o->mtu && o->mtu < NET_MIN_MTU6 ? 1 : NET_FAMILIES;
    char why[64];
    for (size_t k = 0; k < families; k++) {
        netaddr_parse_ifaddr(ours[k], 32, 128, &o->addrs[k], why, sizeof why);
        netaddr_parse_ifaddr(hosts[k], 24, 64, &o->tun_host[k], why, sizeof why);
    }
}

int net_chain_open(struct net_chain *c, const struct net_opts *o, const char *cmd)
{
    memset(c, 0, sizeof *c);
    struct link_spec spec;
    char why[256];
    if (link_spec_parse(o->link, &spec, why, sizeof why) < 0)
        return cli_fail(cmd, "--link %s", why);
    int rc = check_stacks(o, &spec, cmd);
    if (rc || (rc = check_addresses(o, &spec, cmd)) != 0 ||
        (rc = chain_config(&c->cfg, o, cmd)) != 0)
        return rc;
    if ((rc = open_base(c, o, &spec, cmd)) != 0 || (rc = wrap_fault(c, o, cmd)) != 0 ||
        (rc = choose_mtu(cmd, o, synack_link_mtu(c->link), &c->cfg.mtu)) != 0 ||
        (rc = wrap_pcap(c, o, cmd)) != 0) {
        net_chain_free(c);
        return rc;
    }
    return 0;
}

void net_chain_free(struct net_chain *c)
{
    if (c->nqueues > 0) {
        for (unsigned i = 0; i < c->nqueues; i++)
            synack_link_free(c->queues[i]);
    } else {
        synack_link_free(c->link); /* the outermost layer frees the ones it wraps */
    }
    c->nqueues = 0;
    c->link = c->base = c->fault = c->pcap = NULL;
}

void net_chain_describe(const struct net_chain *c, const struct net_opts *o, const char *cmd)
{
    char a[2 * SYNACK_ADDR_STRLEN + 8], mss[64], on[64];
    net_opts_format_addrs(o, a, sizeof a);
    const char *tun = synack_tun_name(c->base);
    if (tun)
        snprintf(on, sizeof on, "tun:%s", tun); /* the kernel's pick for "syn%d" */
    else
        snprintf(on, sizeof on, "%s", o->link);
    unsigned mtu = c->cfg.mtu;
    if (net_opts_addr(o, SYNACK_AF_INET) && net_opts_addr(o, SYNACK_AF_INET6))
        snprintf(mss, sizeof mss, "mss %u over IPv4, %u over IPv6", mtu - NET_HDRS,
                 mtu - NET_HDRS6);
    else
        snprintf(mss, sizeof mss, "mss %u", mtu - mss_headers(o));
    fprintf(stderr, "synack %s: %s on %s, mtu %u (%s), seed %" PRIu64 "%s\n", cmd, a, on, mtu, mss,
            c->cfg.seed, o->seed_set ? "" : " (pass --seed to repeat the impairments)");
    if (c->nqueues > 1)
        fprintf(stderr,
                "synack %s: %u stacks, one per queue of the TUN, each flow steered to one\n", cmd,
                c->nqueues);
    unsigned rb, sb;
    /* Linux reports twice what it grants; less than the 4 MiB asked means a burst of a
     * large window can overflow the socket (net.core.rmem_max limits non-root users). */
    if (synack_udp_sockbuf(c->base, &rb, &sb) == 0)
        fprintf(stderr, "synack %s: UDP socket buffers: receive %u KiB, send %u KiB%s\n", cmd,
                rb / 2048, sb / 2048,
                rb / 2 < (4u << 20) ? " (less than asked: raise net.core.rmem_max)" : "");
}

static void env_release(struct net_env *e)
{
    if (e->priv && e->priv->ctl) {
        if (e->loop) synack_loop_del_fd(e->loop, ctl_server_fd(e->priv->ctl));
        ctl_server_close(e->priv->ctl); /* its clients leave the loop through the watch */
        e->priv->ctl = NULL;
    }
    if (e->priv && e->priv->sigfd >= 0) {
        if (e->loop) synack_loop_del_fd(e->loop, e->priv->sigfd);
        close(e->priv->sigfd);
        e->priv->sigfd = -1;
    }
    synack_loop_free(e->loop);
    if (e->priv) net_chain_free(&e->priv->chain); /* e->link is its outermost layer */
    synack_stack_free(e->stack);
    free(e->priv);
    e->loop = NULL;
    e->link = NULL;
    e->stack = NULL;
    e->priv = NULL;
}

/* ---- the control socket (`synack ss`) ------------------------------------------------------ */

static void env_on_ctl_client(void *ctx, int fd, unsigned ready, synack_time_t now)
{
    (void)ready;
    (void)now;
    struct net_env *e = ctx;
    ctl_server_write(e->priv->ctl, fd);
}

static void env_ctl_watch(void *ctx, int fd, bool add)
{
    struct net_env *e = ctx;
    if (!add)
        synack_loop_del_fd(e->loop, fd);
    else if (synack_loop_add_fd(e->loop, fd, SYNACK_LOOP_OUT, env_on_ctl_client, e) < 0)
        ctl_server_write(e->priv->ctl, fd); /* not served: it gets what it got */
}

static void env_on_ctl(void *ctx, int fd, unsigned ready, synack_time_t now)
{
    (void)fd;
    (void)ready;
    struct net_env *e = ctx;
    ctl_server_accept(e->priv->ctl, ctl_each_stack, e->stack, now);
}

/* Opens the control socket; without it the process runs on, unseen by `synack ss`. */
static void env_open_control(struct net_env *e, const char *link)
{
    char why[256];
    struct ctl_server *s;
    if (ctl_server_open(&s, e->cmd, link, why, sizeof why) < 0) {
        fprintf(stderr, "synack %s: no control socket (synack ss will not list this process): %s\n",
                e->cmd, why);
        return;
    }
    if (synack_loop_add_fd(e->loop, ctl_server_fd(s), SYNACK_LOOP_IN, env_on_ctl, e) < 0) {
        ctl_server_close(s);
        return;
    }
    ctl_server_set_watch(s, env_ctl_watch, e);
    e->priv->ctl = s;
    if (e->verbose) fprintf(stderr, "synack %s: control socket %s\n", e->cmd, ctl_server_path(s));
}

int net_env_open(struct net_env *e, const struct net_opts *o, const char *cmd)
{
    memset(e, 0, sizeof *e);
    e->cmd = cmd;
    e->verbose = o->verbose;
    e->priv = calloc(1, sizeof *e->priv);
    if (!e->priv) return fprintf(stderr, "synack %s: out of memory\n", cmd), 1;
    e->priv->sigfd = -1;
    struct net_chain *c = &e->priv->chain;
    int rc = 0;
    if (o->stacks > 1) {
        rc = cli_fail(cmd,
                      "--stacks is for synack run (its sockets spread over the stacks);"
                      " synack %s drives one stack",
                      cmd);
        goto fail;
    }
    rc = net_chain_open(c, o, cmd);
    if (rc) goto fail;
    e->link = c->link;
    if ((rc = synack_stack_new(&e->stack, &c->cfg)) < 0) {
        fprintf(stderr, "synack %s: the stack could not be created: %s\n", cmd,
                synack_strerror(rc));
        rc = 1;
        goto fail;
    }
    if ((rc = synack_loop_new(&e->loop, e->stack, e->link)) < 0) {
        fprintf(stderr, "synack %s: event loop: %s\n", cmd, synack_strerror(rc));
        rc = 1;
        goto fail;
    }
    if (e->verbose) net_chain_describe(c, o, cmd);
    if (!o->no_control) env_open_control(e, o->link);
    return 0;
fail:
    env_release(e);
    return rc;
}

/* ---- signals and failures ---------------------------------------------------------------- */

static void env_on_signal(void *ctx, int fd, unsigned ready, synack_time_t now)
{
    (void)ready;
    (void)now;
    struct net_env *e = ctx;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (e->verbose)
            fprintf(stderr, "synack %s: %s: stopping\n", e->cmd, strsignal((int)si.ssi_signo));
        e->signal = (int)si.ssi_signo;
    }
}

int net_env_watch_signals(struct net_env *e)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int fd = -1;
    if (sigprocmask(SIG_BLOCK, &set, NULL) == 0)
        fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "synack %s: cannot watch SIGINT and SIGTERM: %s\n", e->cmd,
                strerror(errno));
        return 1;
    }
    int rc = synack_loop_add_fd(e->loop, fd, SYNACK_LOOP_IN, env_on_signal, e);
    if (rc < 0) {
        close(fd);
        fprintf(stderr, "synack %s: cannot watch SIGINT and SIGTERM: %s\n", e->cmd,
                synack_strerror(rc));
        return 1;
    }
    e->priv->sigfd = fd;
    return 0;
}

int net_env_loop_failed(const struct net_env *e, int rc)
{
    struct synack_link_stats st = {0};
    const struct synack_link *base = e->priv ? e->priv->chain.base : NULL;
    if (base) synack_link_stats(base, &st);
    const char *kind = base && base->ops->kind ? base->ops->kind : "link";
    if (rc == SYNACK_ERR_IO && st.rx_errors > 0)
        fprintf(stderr, "synack %s: the %s link failed on every read (%" PRIu64 " read errors)%s\n",
                e->cmd, kind, st.rx_errors,
                strcmp(kind, "tun") == 0 ? "; was the TUN device deleted?" : "");
    else
        fprintf(stderr, "synack %s: the event loop failed: %s\n", e->cmd, synack_strerror(rc));
    return 1;
}

/* ---- logging ------------------------------------------------------------------------------ */

void net_env_name_conn(struct net_env *e, const struct synack_tcp *t)
{
    struct synack_tcp_info info;
    if (!e->priv || synack_tcp_info(t, &info) < 0) return;
    struct net_name *slot = NULL;
    uint64_t id = synack_tcp_id(t);
    for (size_t k = 0; k < NET_NAMES; k++)
        if (e->priv->names[k].id == id) slot = &e->priv->names[k];
    if (!slot) {
        slot = &e->priv->names[e->priv->names_next];
        e->priv->names_next = (e->priv->names_next + 1) % NET_NAMES;
    }
    char l[SYNACK_ENDPOINT_STRLEN], r[SYNACK_ENDPOINT_STRLEN];
    struct synack_endpoint le = {info.local_addr, info.local_port};
    struct synack_endpoint re = {info.remote_addr, info.remote_port};
    synack_endpoint_format(&le, l, sizeof l);
    synack_endpoint_format(&re, r, sizeof r);
    slot->id = id;
    snprintf(slot->text, sizeof slot->text, "%s > %s", l, r);
}

/* The name of connection `id`: its addresses if remembered, else "conn N". */
static const char *conn_name(const struct net_env *e, uint64_t id, char *buf, size_t cap)
{
    for (size_t k = 0; e->priv && k < NET_NAMES; k++)
        if (e->priv->names[k].id == id && id != 0) return e->priv->names[k].text;
    snprintf(buf, cap, "conn %" PRIu64, id);
    return buf;
}

void net_env_log_event(const struct net_env *e, const struct synack_event *ev)
{
    if (!e->verbose) return;
    char buf[32];
    const char *name = conn_name(e, ev->conn_id, buf, sizeof buf);
    switch (ev->type) {
    case SYNACK_EV_STATE:
        fprintf(stderr, "synack %s: %s %s -> %s\n", e->cmd, name, synack_state_name(ev->old_state),
                synack_state_name(ev->new_state));
        break;
    case SYNACK_EV_ERROR:
        fprintf(stderr, "synack %s: %s failed: %s\n", e->cmd, name, synack_strerror(ev->err));
        break;
    case SYNACK_EV_PEER_CLOSED:
        fprintf(stderr, "synack %s: %s: the peer finished sending (FIN)\n", e->cmd, name);
        break;
    case SYNACK_EV_CC:
        if (e->verbose > 1)
            fprintf(stderr, "synack %s: %s %s -> %s, cwnd %u\n", e->cmd, name,
                    synack_cc_phase_name(ev->old_phase), synack_cc_phase_name(ev->new_phase),
                    ev->cwnd);
        break;
    default:
        break;
    }
}

static double to_ms(synack_time_t t)
{
    return (double)t / 1e6;
}

void net_env_log_conn(const struct net_env *e, struct synack_tcp *t)
{
    struct synack_tcp_info i;
    if (!e->verbose || !t || synack_tcp_info(t, &i) < 0) return;
    char buf[32];
    const char *name = conn_name(e, synack_tcp_id(t), buf, sizeof buf);
    const struct synack_counters *c = &i.counters;
    fprintf(stderr,
            "synack %s: %s: sent %" PRIu64 " payload bytes in %" PRIu64 " segments (%" PRIu64
            " retransmitted: %" PRIu64 " fast, %" PRIu64 " after timeouts, %" PRIu64
            " tail probes), received %" PRIu64 " bytes in %" PRIu64 " segments (%" PRIu64
            " out of order)\n",
            e->cmd, name, c->bytes_out, c->segs_out, c->retransmits, c->fast_retransmits,
            c->rto_expiries, c->tlp_probes, c->bytes_in, c->segs_in, c->out_of_order);
    fprintf(stderr,
            "synack %s: %s: srtt %.3f ms, rttvar %.3f ms, min rtt %.3f ms, rto %.0f ms,"
            " cwnd %u bytes (%s, %s), mss %u/%u, options%s%s%s\n",
            e->cmd, name, to_ms(i.srtt), to_ms(i.rttvar), to_ms(i.min_rtt), to_ms(i.rto), i.cwnd,
            synack_cc_name(i.cc), synack_cc_phase_name(i.phase), i.snd_mss, i.rcv_mss,
            i.sack ? " sack" : "", i.timestamps ? " timestamps" : "",
            i.window_scale ? " wscale" : "");
}

bool net_env_link_refused(const struct net_env *e)
{
    const struct synack_link *base = e->priv ? e->priv->chain.base : NULL;
    if (!base) return false;
    struct synack_link_stats s;
    uint64_t refused = 0;
    synack_link_stats(base, &s);
    return synack_udp_refused(base, &refused) == 0 && refused > 0 && s.rx_packets == 0;
}

/* One line of link counters. */
static void log_link(const struct net_env *e, const char *label, const struct synack_link *l)
{
    struct synack_link_stats s;
    synack_link_stats(l, &s);
    fprintf(stderr,
            "synack %s: %s: rx %" PRIu64 " packets %" PRIu64 " bytes, tx %" PRIu64
            " packets %" PRIu64 " bytes, errors rx %" PRIu64 " tx %" PRIu64 "\n",
            e->cmd, label, s.rx_packets, s.rx_bytes, s.tx_packets, s.tx_bytes, s.rx_errors,
            s.tx_errors);
    if (s.icmp_errors || s.too_big)
        fprintf(stderr,
                "synack %s: %s: %" PRIu64 " ICMP errors reported by the kernel, %" PRIu64
                " packets larger than the path MTU\n",
                e->cmd, label, s.icmp_errors, s.too_big);
    if (s.rx_gso_packets || s.rx_csum_vouched || s.rx_offload_bad)
        fprintf(stderr,
                "synack %s: %s: offloads: %" PRIu64
                " packets merged by the kernel (GSO/GRO), %" PRIu64
                " checksums vouched for, %" PRIu64 " virtio-net headers refused\n",
                e->cmd, label, s.rx_gso_packets, s.rx_csum_vouched, s.rx_offload_bad);
    if (s.rx_uso_datagrams)
        fprintf(stderr,
                "synack %s: %s: offloads: %" PRIu64
                " UDP datagrams cut from packets the kernel sent uncut (USO)\n",
                e->cmd, label, s.rx_uso_datagrams);
    if (s.tx_gso_packets || s.tx_csum_partial)
        fprintf(stderr,
                "synack %s: %s: offloads out: %" PRIu64
                " packets left for the kernel to cut (TSO, USO), %" PRIu64
                " checksums left for it to finish\n",
                e->cmd, label, s.tx_gso_packets, s.tx_csum_partial);
    struct synack_udp_offload_stats u;
    if (synack_udp_offload(l, &u) == 0)
        fprintf(stderr,
                "synack %s: %s: offloads: %s, %s; %" PRIu64 " trains of %" PRIu64
                " datagrams sent, %" PRIu64 " merged buffers of %" PRIu64 " received\n",
                e->cmd, label,
                u.gso           ? "UDP GSO on"
                : u.gso_refused ? "UDP GSO refused by the kernel"
                                : "UDP GSO off",
                u.gro           ? "UDP GRO on"
                : u.gro_refused ? "UDP GRO refused by the kernel"
                                : "UDP GRO off",
                u.gso_trains, u.gso_datagrams, u.gro_buffers, u.gro_datagrams);
    if (s.capture_errors)
        fprintf(stderr, "synack %s: %s: %" PRIu64 " packets could not be written to the capture\n",
                e->cmd, label, s.capture_errors);
    if (l->ops->kind && strcmp(l->ops->kind, "fault") == 0)
        fprintf(stderr,
                "synack %s: impairments (both ways): lost %" PRIu64 ", duplicated %" PRIu64
                ", corrupted %" PRIu64 ", reordered %" PRIu64 ", delayed %" PRIu64
                ", rate drops %" PRIu64 "\n",
                e->cmd, s.lost, s.duplicated, s.corrupted, s.reordered, s.delayed, s.rate_drops);
}

static void log_stack(const struct net_env *e)
{
    struct synack_counters c;
    synack_stack_counters(e->stack, &c);
    char drops[512];
    size_t n = 0;
    drops[0] = 0;
    for (int d = 1; d < SYNACK_DROP_COUNT && n < sizeof drops; d++)
        if (c.drops[d])
            n += (size_t)snprintf(drops + n, sizeof drops - n, " %s %" PRIu64,
                                  synack_drop_name((enum synack_drop)d), c.drops[d]);
    fprintf(stderr,
            "synack %s: stack: segments in %" PRIu64 " out %" PRIu64 ", RSTs in %" PRIu64
            " out %" PRIu64 ", ICMP in %" PRIu64 " out %" PRIu64 " (echo replies %" PRIu64
            ", errors to connections %" PRIu64 ", path MTU decreases %" PRIu64 "), drops%s\n",
            e->cmd, c.segs_in, c.segs_out, c.rsts_in, c.rsts_out, c.icmp_in, c.icmp_out,
            c.icmp_echo_replies, c.icmp_errors_delivered, c.pmtu_decreases, n ? drops : " none");
    fprintf(stderr,
            "synack %s: syncookies %s: sent %" PRIu64 ", validated %" PRIu64 ", rejected %" PRIu64
            "\n",
            e->cmd, synack_syncookies_name(e->priv->chain.cfg.syncookies), c.syncookies_sent,
            c.syncookies_validated, c.syncookies_rejected);
}

/* Sends what the stack and the wrappers still hold, bounded in time. */
static void env_drain(struct net_env *e)
{
    synack_loop_set_turn(e->loop, NULL, NULL);
    if (synack_loop_run_once(e->loop, 0) < 0) return;
    synack_time_t start = synack_loop_now(e->loop);
    while (synack_link_next_deadline(e->link) != SYNACK_NEVER) {
        synack_time_t now = synack_loop_now(e->loop);
        if (now - start > NET_DRAIN_MAX) break;
        synack_time_t due = synack_link_next_deadline(e->link);
        synack_time_t wait = due > now ? due - now : 0;
        if (wait > SYNACK_MS(100)) wait = SYNACK_MS(100);
        if (synack_loop_run_once(e->loop, wait) < 0) break;
    }
}

void net_env_close(struct net_env *e)
{
    if (!e || !e->stack) return;
    if (e->loop) env_drain(e);
    if (e->verbose && e->priv) {
        log_stack(e);
        const struct net_chain *p = &e->priv->chain;
        if (p->pcap) log_link(e, "capture", p->pcap);
        if (p->fault) log_link(e, "impairments", p->fault);
        if (p->base) log_link(e, p->base->ops->kind ? p->base->ops->kind : "link", p->base);
    }
    env_release(e);
}
