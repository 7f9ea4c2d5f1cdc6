/*
 * What the networked subcommands (`synack cat`, `synack http`) share: the link options
 * (--link, --addr, --tun-host-addr, impairments, --pcap, --mss, buffers, -v) and the
 * stack + link chain + event loop they build from them.
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

struct net_opts {
    const char *link; /* "tun:IFNAME" or "udp:LOCALIP:PORT,PEERIP:PORT" (default "tun:synack0") */
    uint32_t addr;    /* --addr ADDR/PREFIX: the stack's address (required) */
    unsigned prefix;
    uint32_t tun_host_addr; /* --tun-host-addr ADDR/PREFIX: the kernel's side of the TUN;
                               0: attach only, configure nothing */
    unsigned tun_host_prefix;
    struct synack_fault_params fault; /* --loss --delay --reorder --dup --corrupt --rate */
    bool fault_on;                    /* any impairment asked for */
    uint64_t seed; /* --seed N: impairments, ports and ISN key (default: random) */
    bool seed_set;
    const char *pcap;      /* --pcap FILE */
    unsigned mss;          /* --mss N (0: from the link's MTU) */
    size_t rcvbuf, sndbuf; /* --rcvbuf N, --sndbuf N (0: stack defaults) */
    int verbose;           /* -v: state transitions and a summary on stderr */
    unsigned mtu;          /* --mtu N: caps the stack's MTU (TUN: also set on the device
                              when --tun-host-addr configures it; UDP: the path MTU is
                              taken as N + 28); 0: the link's own */
};

/* The option lines for a subcommand's --help. */
extern const char net_opts_help[];

void net_opts_default(struct net_opts *o);

/* If argv[*i] is a shared option, consumes it and its value (advancing *i past them) and
 * returns 1; returns 0 when it is not one of ours; on a bad value prints one line
 * ("synack CMD: --loss: ...") and returns -1. */
int net_opts_parse(struct net_opts *o, const char *cmd, int argc, char **argv, int *i);

/* Whether a packet between the stack and `remote` may be lost on the way: false only when
 * nothing can drop it (no --loss, --corrupt or --rate, and `remote` is the kernel's own end
 * of the TUN, or the UDP peer is on loopback). `synack cat` lingers in TIME_WAIT only then. */
bool net_opts_path_may_lose(const struct net_opts *o, uint32_t remote);

/* What net_env_open builds. */
struct net_env {
    const char *cmd;
    struct synack_stack *stack;
    struct synack_link *link; /* the outermost wrapper (what the loop drives) */
    struct synack_loop *loop;
    int verbose;
    struct net_env_priv *priv; /* the layers of the chain (for counters), connection names */
};

/* Opens the link (TUN or UDP; configuring the TUN's kernel side), wraps it in fault and
 * pcap as asked, creates the stack (MTU from the link, --mss and buffers applied, seed)
 * and the loop. On failure prints one line a person can act on ("synack cat: no
 * permission to open /dev/net/tun: run as root or grant CAP_NET_ADMIN") and returns
 * nonzero (the exit status to use); nothing is left open. */
int net_env_open(struct net_env *e, const struct net_opts *o, const char *cmd);

/* Call from the loop's turn hook for every event before acting on it: with -v prints
 * state transitions ("synack cat: 198.18.0.2:49152 > 198.18.0.1:5000 SYN_SENT ->
 * ESTABLISHED") to stderr. */
void net_env_log_event(const struct net_env *e, const struct synack_event *ev);

/* Remembers "198.18.0.2:49152 > 198.18.0.1:5000" for `t` so that net_env_log_event names
 * its events by addresses rather than by "conn N". Call after connect or accept (the few
 * most recent connections are remembered). */
void net_env_name_conn(struct net_env *e, const struct synack_tcp *t);

/* With -v prints a summary of a connection (bytes each way, retransmissions, RTT, cwnd)
 * before it is closed. */
void net_env_log_conn(const struct net_env *e, struct synack_tcp *t);

/* Drains what the stack still has to send, frees loop, stack and link chain (flushing
 * the capture). With -v prints link counters first. */
void net_env_close(struct net_env *e);

/* "198.18.0.1" -> host byte order; 0 or -1. */
int net_parse_ip(const char *s, uint32_t *out);
/* Host byte order -> "198.18.0.1" (`cap` of 16 is enough). */
void net_format_ip(char *buf, size_t cap, uint32_t ip);

/* Subcommands. */
int cmd_cat(int argc, char **argv);
int cmd_http(int argc, char **argv);

#endif
