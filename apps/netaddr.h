/*
 * Interface addresses as people type them for `synack cat` and `synack http` ("198.18.0.2/24",
 * "2001:db8::2/64"), and the checks of what one host may use, per family: a unicast address
 * (RFC 1122 §3.2.1.3, RFC 4291 §2.4), not the edge of its subnet (IPv4: the network and
 * broadcast addresses, RFC 919, RFC 922; IPv6: the Subnet-Router anycast address, RFC 4291
 * §2.6.1; IPv6 has no broadcast, RFC 4291 §2). Each check says why in words a person can
 * act on; the callers put them in one line.
 */
#ifndef SYNACK_NETADDR_H
#define SYNACK_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "synack/link.h"
#include "synack/synack.h"

/* Bits in an address of `family`: 32 for IPv4, 128 for IPv6 (0 for none). */
unsigned netaddr_bits(enum synack_family family);

/* "IPv4", "IPv6", or "no family". */
const char *netaddr_family_name(enum synack_family family);

/* Parses "ADDR" or "ADDR/PREFIX" (ADDR as synack_addr_parse takes it: dotted IPv4, or IPv6
 * text, optionally in brackets) into `out`; without a prefix it is `dflt4` or `dflt6` by the
 * address's family. Returns 0; -1 when ADDR is not an address ("not an IPv4 or IPv6
 * address" in `why`); -2 when the prefix is not a number from 1 to 32 (IPv4) or 128 (IPv6)
 * ("prefix must be 1-128" in `why`). `out` is written only on success. */
int netaddr_parse_ifaddr(const char *text, unsigned dflt4, unsigned dflt6,
                         struct synack_ifaddr *out, char *why, size_t cap);

/* Why `a` cannot be a single host's address, in words to follow "is" ("loopback
 * (127.0.0.0/8)", "multicast (ff00::/8)", ...), or NULL when it can: the rules of
 * synack_addr_is_unicast (so the stack never refuses what passes here), and IPv4's
 * reserved 240.0.0.0/4. IPv6 link-local addresses (fe80::/10) pass. */
const char *netaddr_not_unicast(const struct synack_addr *a);

/* Why `a` cannot be a host of the subnet a/prefix, as the name of what it is instead
 * ("network", "broadcast", "Subnet-Router anycast"), or NULL when it can: IPv4 up to /30
 * (a /31 has neither, RFC 3021), IPv6 up to /126 (RFC 6164 §3 keeps /127 clear of it). */
const char *netaddr_subnet_edge(const struct synack_addr *a, unsigned prefix);

/* `a` with every bit after the first `prefix` cleared: its subnet's address. */
struct synack_addr netaddr_subnet(const struct synack_addr *a, unsigned prefix);

/* Whether `a` and `b` are of one family and agree in their first `prefix` bits. */
bool netaddr_same_subnet(const struct synack_addr *a, const struct synack_addr *b, unsigned prefix);

/* Whether `a` is a loopback address (127.0.0.0/8, ::1). */
bool netaddr_is_loopback(const struct synack_addr *a);

#endif
