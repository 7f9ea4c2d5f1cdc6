/* An ICMP or ICMPv6 error about a datagram this stack sent, as the stack classifies it
 * (stack/icmp.c: RFC 1122 §4.2.3.9, RFC 5461; stack/icmp6.c: RFC 4443 §3) for the transport
 * that sent the datagram: one shape for both families and for TCP and UDP. */
#ifndef SYNACK_IP_ICMP_ERROR_H
#define SYNACK_IP_ICMP_ERROR_H

#include <stdint.h>

#include "wire/wire.h"

enum ip_icmp_kind {
    IP_ICMP_SOFT,    /* TCP: remember; report if the connection times out */
    IP_ICMP_HARD,    /* TCP: abort an opening connection; soft once synchronized */
    IP_ICMP_TOO_BIG, /* RFC 1191 / RFC 8201: lower the path MTU */
};

struct ip_icmp_error {
    enum ip_icmp_kind kind;
    int err;                    /* SOFT and HARD: SYNACK_ERR_UNREACH or SYNACK_ERR_CONNREFUSED */
    uint32_t mtu;               /* TOO_BIG: the next-hop MTU (0: an old IPv4 router's) */
    struct wire_ip_quote quote; /* what the message returned of the datagram */
};

#endif
