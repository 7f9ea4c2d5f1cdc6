/* Interface addresses typed by people, and what one host may use, per family (netaddr.h). */
#include "netaddr.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

/* "ADDR/PREFIX" is at most an address in brackets, a slash and three digits. */
#define NETADDR_TEXT_MAX (SYNACK_ADDR_STRLEN + 8)

unsigned netaddr_bits(enum synack_family family)
{
    return family == SYNACK_AF_INET ? 32 : family == SYNACK_AF_INET6 ? 128 : 0;
}

const char *netaddr_family_name(enum synack_family family)
{
    return family == SYNACK_AF_INET ? "IPv4" : family == SYNACK_AF_INET6 ? "IPv6" : "no family";
}

int netaddr_parse_ifaddr(const char *text, unsigned dflt4, unsigned dflt6,
                         struct synack_ifaddr *out, char *why, size_t cap)
{
    char buf[NETADDR_TEXT_MAX] = "";
    size_t n = strlen(text);
    struct synack_ifaddr a = {0};
    if (n < sizeof buf) memcpy(buf, text, n + 1);
    char *slash = strchr(buf, '/');
    if (slash) *slash = 0;
    if (n >= sizeof buf || synack_addr_parse(buf, &a.addr) < 0) {
        snprintf(why, cap, "not an IPv4 or IPv6 address");
        return -1;
    }
    unsigned bits = netaddr_bits((enum synack_family)a.addr.family);
    a.prefix = a.addr.family == SYNACK_AF_INET ? dflt4 : dflt6;
    if (slash) {
        uint64_t p;
        if (cli_parse_u64(slash + 1, &p) < 0 || p < 1 || p > bits) {
            snprintf(why, cap, "prefix must be 1-%u", bits);
            return -2;
        }
        a.prefix = (unsigned)p;
    }
    *out = a;
    return 0;
}

/* RFC 1122 §3.2.1.3 and what synack_addr_is_unicast refuses of IPv4. */
static const char *ipv4_not_unicast(const struct synack_addr *a)
{
    uint32_t ip = synack_addr_v4_value(a);
    unsigned first = ip >> 24;
    if (first == 0) return "in 0.0.0.0/8 (\"this network\")";
    if (first == 127) return "loopback (127.0.0.0/8)";
    if (first >= 224 && first < 240) return "multicast (224.0.0.0/4)";
    if (ip == 0xffffffffu) return "the limited broadcast address";
    if (first >= 240) return "reserved (240.0.0.0/4)";
    return NULL;
}

/* RFC 4291 §2.5.2 (::), §2.5.3 (::1), §2.7 (ff00::/8), §2.5.5.2 (IPv4-mapped: an IPv4
 * host seen through an IPv6 socket, never on the wire). */
static const char *ipv6_not_unicast(const struct synack_addr *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t zero[15] = {0};
    if (memcmp(a->bytes, zero, 15) == 0 && a->bytes[15] == 0) return "the unspecified address (::)";
    if (memcmp(a->bytes, zero, 15) == 0 && a->bytes[15] == 1) return "loopback (::1)";
    if (a->bytes[0] == 0xff) return "multicast (ff00::/8)";
    if (memcmp(a->bytes, mapped, sizeof mapped) == 0)
        return "an IPv4-mapped address (::ffff:0:0/96)";
    return NULL;
}

const char *netaddr_not_unicast(const struct synack_addr *a)
{
    const char *why = a->family == SYNACK_AF_INET    ? ipv4_not_unicast(a)
                      : a->family == SYNACK_AF_INET6 ? ipv6_not_unicast(a)
                                                     : "no address";
    /* Whatever the rules above miss, the stack would refuse. */
    if (!why && !synack_addr_is_unicast(a)) why = "not a unicast address";
    return why;
}

/* Bits of `a` after the first `prefix`: all zero (0), all one (1), or mixed (-1). */
static int host_bits(const struct synack_addr *a, unsigned prefix)
{
    unsigned bits = netaddr_bits((enum synack_family)a->family);
    bool zeros = true, ones = true;
    for (unsigned i = prefix; i < bits; i++) {
        bool set = a->bytes[i / 8] & (0x80u >> (i % 8));
        zeros = zeros && !set;
        ones = ones && set;
    }
    return zeros ? 0 : ones ? 1 : -1;
}

const char *netaddr_subnet_edge(const struct synack_addr *a, unsigned prefix)
{
    int h = host_bits(a, prefix);
    if (a->family == SYNACK_AF_INET && prefix <= 30)
        return h == 0 ? "network" : h == 1 ? "broadcast" : NULL;
    if (a->family == SYNACK_AF_INET6 && prefix <= 126 && h == 0) return "Subnet-Router anycast";
    return NULL;
}

struct synack_addr netaddr_subnet(const struct synack_addr *a, unsigned prefix)
{
    struct synack_addr s = *a;
    unsigned bits = netaddr_bits((enum synack_family)a->family);
    for (unsigned i = prefix; i < bits; i++)
        s.bytes[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
    return s;
}

bool netaddr_same_subnet(const struct synack_addr *a, const struct synack_addr *b, unsigned prefix)
{
    if (a->family != b->family) return false;
    struct synack_addr sa = netaddr_subnet(a, prefix), sb = netaddr_subnet(b, prefix);
    return synack_addr_eq(&sa, &sb);
}

bool netaddr_is_loopback(const struct synack_addr *a)
{
    static const uint8_t one[16] = {[15] = 1};
    if (a->family == SYNACK_AF_INET) return a->bytes[0] == 127;
    return a->family == SYNACK_AF_INET6 && memcmp(a->bytes, one, 16) == 0;
}
