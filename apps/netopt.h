/*
 * What the networked subcommands (`synack cat`, `synack http`, `synack run`) share: the link
 * options (--link, --addr, --tun-host-addr, impairments, --pcap, --mss, buffers, -v), the
 * stack's configuration and link chain they describe (net_chain_open: what the runtime of
 * `synack run`'s preload library is made of) and the stack + chain + event loop of the
 * subcommands that drive the core themselves (net_env_open).
 *
 * The chain, from the stack outwards: stack <-> [pcap] <-> [fault] <-> tun|udp. The
 * capture sits next to the stack, so it holds exactly what the stack sent and received.
 */
#ifndef SYNACK_NETOPT_H
#define SYNACK_NETOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synack/link.h"
#include "synack/synack.h"

/* Where each family's address sits in net_opts.addrs and net_opts.tun_host. */
enum { NET_V4 = 0, NET_V6 = 1, NET_FAMILIES = 2 };

struct net_opts {
    /* "tun:IFNAME", or "udp:LOCAL:PORT,PEER:PORT" with IPv4 or bracketed IPv6 addresses of
     * one family (default "tun:synack0") */
    const char *link;
    /* --addr ADDR/PREFIX, given once per family: the stack's addresses, the IPv4 one in
     * [NET_V4] and the IPv6 one in [NET_V6]; family SYNACK_AF_NONE where none was given.
     * At least one is required (net_env_open says so). */
    struct synack_ifaddr addrs[NET_FAMILIES];
    /* --tun-host-addr ADDR/PREFIX, once per family: the kernel's side of the TUN, placed as
     * addrs; none: attach only, configure nothing */
    struct synack_ifaddr tun_host[NET_FAMILIES];
    struct synack_fault_params fault; /* --loss --delay --reorder --dup --corrupt --rate */
    bool fault_on;                    /* any impairment asked for */
    uint64_t seed; /* --seed N: impairments, ports and ISN key (default: random) */
    bool seed_set;
    const char *pcap;                  /* --pcap FILE */
    unsigned mss;                      /* --mss N (0: from the link's MTU) */
    size_t rcvbuf, sndbuf;             /* --rcvbuf N, --sndbuf N (0: stack defaults) */
    enum synack_syncookies syncookies; /* --syncookies MODE, if syncookies_set */
    bool syncookies_set;
    int verbose;          /* -v: state transitions and a summary on stderr */
    bool no_control;      /* --no-control: no control socket for `synack ss` (ctl.h) */
    int tun_offload;      /* --tun-offload MODE: SYNACK_TUN_OFFLOAD_AUTO (0), _OFF, _REQUIRE */
    bool udp_offload_off; /* --udp-offload off: synack_udp_config.no_offload */
    unsigned mtu;         /* --mtu N: caps the stack's MTU (TUN: also set on the device
                             when --tun-host-addr configures it; UDP: the path MTU is
                             taken as N + 28 over IPv4, N + 48 over IPv6); 0: the link's own */
    /* --stacks N (`synack run` only): N stacks, one per core, each on its own queue of a
     * multi-queue TUN that the kernel steers by flow (1 to SYNACK_TUN_MAX_QUEUES; 0 or 1,
     * the default: one stack on a plain TUN). Needs a TUN link and no impairment or --pcap. */
    unsigned stacks;
};

/* The option lines for a subcommand's --help. */
extern const char net_opts_help[];

void net_opts_default(struct net_opts *o);

/* If argv[*i] is a shared option, consumes it and its value (advancing *i past them) and
 * returns 1; returns 0 when it is not one of ours; on a bad value prints one line
 * ("synack CMD: --loss: ...", "synack CMD: --addr 2001:db8::1/129: prefix must be 1-128")
 * and returns -1. --addr (prefix 32 or 128 if omitted) and --tun-host-addr (24 or 64) take
 * IPv4 or IPv6, each at most once per family; they must be unicast (netaddr.h: not 0/8,
 * 127/8, multicast 224/4, reserved 240/4, ::, ::1, ff00::/8, ::ffff:0:0/96; link-local
 * fe80::/10 is fine), and not the network or broadcast address of their own IPv4 prefix
 * (up to /30) or the Subnet-Router anycast address of their IPv6 prefix (up to /126). */
int net_opts_parse(struct net_opts *o, const char *cmd, int argc, char **argv, int *i);

/* The checks of the options together that net_chain_open makes before it opens anything
 * (the --link value, --addr given, the --addr / --tun-host-addr pairs of a TUN): 0, or 2
 * after printing one line. */
int net_opts_check(const struct net_opts *o, const char *cmd);

/* `synack run`'s addresses when none are given: for a TUN link without any --addr or
 * --tun-host-addr, the kernel's side 198.18.0.1/24 and 2001:db8::1/64 and the stack's
 * 198.18.0.2/24 and 2001:db8::2/64 (the IPv6 pair only when --mtu, if given, is at least
 * 1280). Otherwise `o` is left as it is. */
void net_opts_default_tun_addrs(struct net_opts *o);

/* The stack's address of `family` (--addr), or NULL when none was given. */
const struct synack_ifaddr *net_opts_addr(const struct net_opts *o, enum synack_family family);

/* Whether `host` can be the peer of a connection from the stack's address of its family:
 * a unicast address (as for --addr), of a family the stack has an address of, not the
 * stack's own, not the broadcast or network address of its IPv4 subnet (up to /30) nor the
 * Subnet-Router anycast address of its IPv6 one (up to /126). 0, or 2 after printing one
 * line naming `what` ("synack cat: HOST 198.18.0.255 is the broadcast address of
 * 198.18.0.0/24 ..."). Call once every option is parsed; without any --addr it only checks
 * unicast (net_env_open reports the missing --addr). */
int net_opts_check_peer(const struct net_opts *o, const char *cmd, const char *what,
                        const struct synack_addr *host);

/* Whether `family` (the choice of -4 or -6 named `flag`) is one the stack has an address
 * of. 0, or 2 after printing "synack CMD: -6 needs an IPv6 --addr (like --addr
 * 2001:db8::2/64)". No check without any --addr (net_env_open reports it). */
int net_opts_check_family(const struct net_opts *o, const char *cmd, const char *flag,
                          enum synack_family family);

/* Whether a packet between the stack and `remote` may be lost on the way: false only when
 * nothing can drop it (no --loss, --corrupt or --rate, and `remote` is the kernel's own end
 * of the TUN, or the UDP peer is on loopback). `synack cat` lingers in TIME_WAIT only then. */
bool net_opts_path_may_lose(const struct net_opts *o, const struct synack_addr *remote);

/* What net_chain_open builds: the stack's configuration and the link chain it is to be joined
 * to, for a caller that makes the stack (net_env_open) or a runtime (synack_rt_new) itself. */
struct net_chain {
    /* --addr (the IPv4 one first), --rcvbuf, --sndbuf, --syncookies, the seed and ISN key
     * (--seed, or drawn from the kernel), and the MTU chosen for the link and --mss */
    struct synack_config cfg;
    struct synack_link *link; /* the outermost layer: it owns (and frees) those it wraps */
    /* With --stacks N > 1: the TUN's N queues (link and base are queues[0]); the runtime
     * takes them all (synack_rt_new_stacks), and the configuration steers as the kernel's
     * program does (steer_hash SYNACK_STEER_XOR). */
    struct synack_link *queues[SYNACK_TUN_MAX_QUEUES];
    unsigned nqueues;
    /* The layers, innermost first, NULL where absent; not owned. */
    struct synack_link *base, *fault, *pcap;
};

/* Opens the link (TUN or UDP; configuring the TUN's kernel side) and wraps it in fault and
 * pcap as asked; fills the stack's configuration. On failure prints one line a person can
 * act on ("synack cat: no permission to open /dev/net/tun: run as root or grant
 * CAP_NET_ADMIN") and returns nonzero (the exit status to use); nothing is left open. */
int net_chain_open(struct net_chain *c, const struct net_opts *o, const char *cmd);

/* Frees the chain (flushing the capture); for a chain whose link was not handed on. */
void net_chain_free(struct net_chain *c);

/* The -v line of a chain: "synack CMD: 198.18.0.2 on tun:syn0, mtu 1500 (mss 1460), seed N"
 * (and the UDP link's socket buffers), to stderr. */
void net_chain_describe(const struct net_chain *c, const struct net_opts *o, const char *cmd);

/* What net_env_open builds. */
struct net_env {
    const char *cmd;
    struct synack_stack *stack;
    struct synack_link *link; /* the outermost wrapper (what the loop drives) */
    struct synack_loop *loop;
    int verbose;
    int signal; /* SIGINT or SIGTERM once one arrived (net_env_watch_signals), else 0 */
    struct net_env_priv *priv; /* the layers of the chain (for counters), connection names */
};

/* net_chain_open, then the stack (of the chain's configuration), the loop, and unless
 * --no-control the control socket `synack ss` reads (ctl.h; a process that cannot open it
 * says why on stderr and runs on without). On failure
 * prints one line a person can act on and returns nonzero (the exit status to use); nothing
 * is left open. */
int net_env_open(struct net_env *e, const struct net_opts *o, const char *cmd);

/* Routes SIGINT and SIGTERM through a signalfd the loop watches (no handler, no global):
 * when one arrives, e->signal is set (and with -v "synack CMD: Interrupt: stopping" is
 * printed); the caller checks it after each synack_loop_run_once and winds down (resets
 * what is open, net_env_close to flush the capture, restores its descriptors). The two
 * signals stay blocked until the process exits, so a second one cannot cut the wind-down
 * short. 0, or 1 after printing why. */
int net_env_watch_signals(struct net_env *e);

/* Has the link's other end said it is not there? true when the UDP link has been told
 * port unreachable (icmp_refused) and has never received a packet: no synack (or other
 * program) runs at its peer address. Always false on a TUN. */
bool net_env_link_refused(const struct net_env *e);

/* Prints why synack_loop_run_once failed with `rc`, in one line: "the tun link failed
 * on every read (1000 errors in a row; was the TUN device deleted?)" when the link's reads
 * kept failing, else "the event loop failed: ..." with synack_strerror(rc) (errno is not
 * consulted: it may be stale). Returns 1, the exit status to use. */
int net_env_loop_failed(const struct net_env *e, int rc);

/* Call from the loop's turn hook for every event before acting on it: with -v prints
 * state transitions ("synack cat: 198.18.0.2:49152 > 198.18.0.1:5000 SYN_SENT ->
 * ESTABLISHED", "[2001:db8::2]:49152 > [2001:db8::1]:5000 ...") to stderr. */
void net_env_log_event(const struct net_env *e, const struct synack_event *ev);

/* Remembers "198.18.0.2:49152 > 198.18.0.1:5000" for `t` so that net_env_log_event names
 * its events by addresses rather than by "conn N". Call after connect or accept (the few
 * most recent connections are remembered). */
void net_env_name_conn(struct net_env *e, const struct synack_tcp *t);

/* With -v prints a summary of a connection (bytes each way, retransmissions, RTT, cwnd)
 * before it is closed. */
void net_env_log_conn(const struct net_env *e, struct synack_tcp *t);

/* Drains what the stack still has to send, frees loop, stack and link chain (flushing
 * the capture) and closes the signalfd of net_env_watch_signals. With -v prints link
 * counters first. */
void net_env_close(struct net_env *e);

/* "198.18.0.2 and 2001:db8::2": the stack's --addr addresses (without prefixes), into `out`. */
void net_opts_format_addrs(const struct net_opts *o, char *out, size_t cap);

#endif
