/* apps/netopt: the link options shared by `synack cat` and `synack http`, as parsed from
 * argv, and the checks of the addresses they name, IPv4 and IPv6: the stack's own must be
 * a unicast host address (RFC 1122 §3.2.1.3, RFC 4291 §2.4), a peer must be one host
 * other than the stack itself. Each refusal must say why in its one line, so the line is
 * captured and looked at. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netopt.h"

#define IP(a, b, c, d)                                                                             \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* What a call printed on stderr. */
struct captured {
    char text[512];
};

static int capture_begin(FILE **tmp)
{
    fflush(stderr);
    *tmp = tmpfile();
    assert_non_null(*tmp);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(*tmp), STDERR_FILENO) >= 0);
    return saved;
}

static void capture_end(FILE *tmp, int saved, struct captured *out)
{
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(tmp);
    size_t n = fread(out->text, 1, sizeof out->text - 1, tmp);
    out->text[n] = '\0';
    fclose(tmp);
}

/* Parses the one option `name value` into `o`; returns net_opts_parse's result. */
static int parse_one(struct net_opts *o, const char *name, const char *value, struct captured *err)
{
    char *argv[] = {(char *)"synack", (char *)name, (char *)value, NULL};
    int argc = value ? 3 : 2;
    int i = 1;
    FILE *tmp;
    int saved = capture_begin(&tmp);
    int rc = net_opts_parse(o, "cat", argc, argv, &i);
    capture_end(tmp, saved, err);
    if (rc == 1) {
        assert_int_equal(i, argc); /* the option and its value were consumed */
        assert_string_equal(err->text, "");
    }
    return rc;
}

static int check_peer_addr(const struct net_opts *o, const struct synack_addr *host,
                           struct captured *err)
{
    FILE *tmp;
    int saved = capture_begin(&tmp);
    int rc = net_opts_check_peer(o, "cat", "HOST", host);
    capture_end(tmp, saved, err);
    if (rc == 0) assert_string_equal(err->text, "");
    return rc;
}

static int check_peer(const struct net_opts *o, uint32_t host, struct captured *err)
{
    struct synack_addr a = synack_addr_v4(host);
    return check_peer_addr(o, &a, err);
}

/* The same with an address in text (either family). */
static int check_peer_text(const struct net_opts *o, const char *host, struct captured *err)
{
    struct synack_addr a;
    assert_int_equal(synack_addr_parse(host, &a), 0);
    return check_peer_addr(o, &a, err);
}

/* The --addr of `family` parsed into `o`: address in text and prefix. */
static void expect_addr(const struct net_opts *o, enum synack_family family, const char *text,
                        unsigned prefix)
{
    const struct synack_ifaddr *a = net_opts_addr(o, family);
    assert_non_null(a);
    char got[SYNACK_ADDR_STRLEN];
    synack_addr_format(&a->addr, got, sizeof got);
    assert_string_equal(got, text);
    assert_int_equal(a->prefix, prefix);
}

static int check_family(const struct net_opts *o, enum synack_family f, struct captured *err)
{
    FILE *tmp;
    int saved = capture_begin(&tmp);
    int rc = net_opts_check_family(o, "cat", f == SYNACK_AF_INET ? "-4" : "-6", f);
    capture_end(tmp, saved, err);
    if (rc == 0) assert_string_equal(err->text, "");
    return rc;
}

/* The refusal is one line, names the option and says `why`. */
static void expect_refusal(const struct captured *err, const char *what, const char *why)
{
    size_t n = strlen(err->text);
    if (n == 0 || err->text[n - 1] != '\n' || strchr(err->text, '\n') != err->text + n - 1)
        fail_msg("not one line: '%s'", err->text);
    if (strncmp(err->text, "synack cat: ", 12) != 0) fail_msg("no 'synack cat:': %s", err->text);
    if (!strstr(err->text, what)) fail_msg("'%s' not named in: %s", what, err->text);
    if (!strstr(err->text, why)) fail_msg("'%s' not said in: %s", why, err->text);
}

static void addr_takes_unicast_with_prefix(void **state)
{
    (void)state;
    static const struct {
        const char *text, *addr;
        unsigned prefix;
    } good[] = {
        {"198.18.0.2/24", "198.18.0.2", 24},
        {"10.0.0.1", "10.0.0.1", 32},            /* no prefix: the address alone */
        {"198.18.0.255/16", "198.18.0.255", 16}, /* .255 is a host in a /16 */
        {"198.18.0.2/31", "198.18.0.2", 31},     /* RFC 3021: a /31 has no broadcast */
        {"223.255.255.254/8", "223.255.255.254", 8},
        {"2001:db8::2/64", "2001:db8::2", 64},
        {"2001:db8::2", "2001:db8::2", 128},     /* no prefix: the address alone */
        {"[2001:db8::2]/64", "2001:db8::2", 64}, /* brackets as in a URL */
        {"2001:DB8:0:0:0:0:0:2/64", "2001:db8::2", 64},
        {"fe80::2/64", "fe80::2", 64},                 /* link-local is a unicast address */
        {"2001:db8::ffff/112", "2001:db8::ffff", 112}, /* no broadcast in IPv6 */
        {"2001:db8::/127", "2001:db8::", 127},         /* RFC 6164: a /127 has no anycast */
    };
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        struct net_opts o;
        struct captured err;
        net_opts_default(&o);
        if (parse_one(&o, "--addr", good[k].text, &err) != 1)
            fail_msg("--addr %s refused: %s", good[k].text, err.text);
        enum synack_family f = strchr(good[k].addr, ':') ? SYNACK_AF_INET6 : SYNACK_AF_INET;
        expect_addr(&o, f, good[k].addr, good[k].prefix);
        assert_null(net_opts_addr(&o, f == SYNACK_AF_INET ? SYNACK_AF_INET6 : SYNACK_AF_INET));
    }
    /* The --name=value form too. */
    struct net_opts o;
    struct captured err;
    net_opts_default(&o);
    assert_int_equal(parse_one(&o, "--addr=198.18.0.9/24", NULL, &err), 1);
    expect_addr(&o, SYNACK_AF_INET, "198.18.0.9", 24);
}

/* One --addr and one --tun-host-addr of each family: a stack with both; a second of one
 * family is refused, saying which it already has. The default prefix of --tun-host-addr is
 * 24 for IPv4 and 64 for IPv6 (RFC 4291 §2.5.4). */
static void addr_once_per_family(void **state)
{
    (void)state;
    struct net_opts o;
    struct captured err;
    net_opts_default(&o);
    assert_int_equal(parse_one(&o, "--addr", "198.18.0.2/24", &err), 1);
    assert_int_equal(parse_one(&o, "--addr", "2001:db8::2/64", &err), 1);
    expect_addr(&o, SYNACK_AF_INET, "198.18.0.2", 24);
    expect_addr(&o, SYNACK_AF_INET6, "2001:db8::2", 64);
    assert_int_equal(parse_one(&o, "--addr", "2001:db8::3/64", &err), -1);
    expect_refusal(&err, "--addr 2001:db8::3/64",
                   "an IPv6 address was given already (2001:db8::2/64)");
    assert_int_equal(parse_one(&o, "--addr", "198.18.0.3/24", &err), -1);
    expect_refusal(&err, "--addr 198.18.0.3/24", "once per family");
    expect_addr(&o, SYNACK_AF_INET6, "2001:db8::2", 64); /* the first stays */
    assert_int_equal(parse_one(&o, "--tun-host-addr", "2001:db8::1", &err), 1);
    assert_int_equal(parse_one(&o, "--tun-host-addr", "198.18.0.1", &err), 1);
    assert_int_equal(o.tun_host[NET_V6].prefix, 64);
    assert_int_equal(o.tun_host[NET_V4].prefix, 24);
    char all[128];
    net_opts_format_addrs(&o, all, sizeof all);
    assert_string_equal(all, "198.18.0.2 and 2001:db8::2");
}

/* A prefix out of range says the range of its family, in the one line the option gets. */
static void addr_prefix_range_per_family(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"2001:db8::1/129", "--addr 2001:db8::1/129: prefix must be 1-128"},
        {"2001:db8::1/0", "--addr 2001:db8::1/0: prefix must be 1-128"},
        {"198.18.0.2/33", "--addr 198.18.0.2/33: prefix must be 1-32"},
        {"198.18.0.2/x", "--addr 198.18.0.2/x: prefix must be 1-32"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        struct net_opts o;
        struct captured err;
        net_opts_default(&o);
        assert_int_equal(parse_one(&o, "--addr", bad[k].text, &err), -1);
        char want[128];
        snprintf(want, sizeof want, "synack cat: %s\n", bad[k].why);
        assert_string_equal(err.text, want);
    }
    struct net_opts o;
    struct captured err;
    net_opts_default(&o);
    assert_int_equal(parse_one(&o, "--addr", "2001:db8::g/64", &err), -1);
    expect_refusal(&err, "--addr", "ADDR/PREFIX like 198.18.0.2/24 or 2001:db8::2/64");
    assert_int_equal(parse_one(&o, "--addr", "2001:db8:1:2:3:4:5:6:7", &err), -1); /* 9 groups */
    expect_refusal(&err, "--addr", "ADDR/PREFIX");
}

static void addr_refuses_what_is_not_unicast(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"0.0.0.0", "this network"},
        {"0.1.2.3/24", "this network"},
        {"127.0.0.1/8", "loopback"},
        {"127.9.9.9/24", "loopback"},
        {"224.0.0.1", "multicast"},
        {"239.255.255.250/24", "multicast"},
        {"240.0.0.1/24", "reserved"},
        {"255.255.255.255", "limited broadcast"},
        {"::/64", "unspecified"},
        {"::1", "loopback"},
        {"ff02::1/64", "multicast"},
        {"ff0e::5", "multicast"},
        {"::ffff:198.18.0.2/96", "IPv4-mapped"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const char *names[] = {"--addr", "--tun-host-addr"};
        for (size_t n = 0; n < 2; n++) {
            struct net_opts o;
            struct captured err;
            net_opts_default(&o);
            if (parse_one(&o, names[n], bad[k].text, &err) != -1)
                fail_msg("%s %s accepted", names[n], bad[k].text);
            expect_refusal(&err, bad[k].text, bad[k].why);
            expect_refusal(&err, names[n], "unicast");
        }
    }
}

static void addr_refuses_network_and_broadcast_of_its_subnet(void **state)
{
    (void)state;
    static const struct {
        const char *name, *text, *why, *subnet;
    } bad[] = {
        {"--addr", "198.18.0.0/24", "network", "198.18.0.0/24"},
        {"--addr", "198.18.0.255/24", "broadcast", "198.18.0.0/24"},
        {"--addr", "10.255.255.255/8", "broadcast", "10.0.0.0/8"},
        {"--addr", "198.18.0.4/30", "network", "198.18.0.4/30"},
        {"--addr", "198.18.0.7/30", "broadcast", "198.18.0.4/30"},
        {"--tun-host-addr", "198.18.0.255", "broadcast", "198.18.0.0/24"}, /* prefix 24 */
        /* RFC 4291 §2.6.1: the all-zero interface identifier is the Subnet-Router anycast
         * address, not a host's. */
        {"--addr", "2001:db8::/64", "Subnet-Router anycast", "2001:db8::/64"},
        {"--addr", "2001:db8:0:1:0:0:0:0/64", "Subnet-Router anycast", "2001:db8:0:1::/64"},
        {"--tun-host-addr", "2001:db8:5::", "Subnet-Router anycast", "2001:db8:5::/64"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        struct net_opts o;
        struct captured err;
        net_opts_default(&o);
        if (parse_one(&o, bad[k].name, bad[k].text, &err) != -1)
            fail_msg("%s %s accepted", bad[k].name, bad[k].text);
        expect_refusal(&err, bad[k].name, bad[k].why);
        expect_refusal(&err, bad[k].subnet, bad[k].why);
    }
}

static void peer_must_be_another_unicast_host(void **state)
{
    (void)state;
    struct net_opts o;
    struct captured err;
    net_opts_default(&o);
    assert_int_equal(parse_one(&o, "--addr", "198.18.0.2/24", &err), 1);
    static const uint32_t good[] = {
        IP(198, 18, 0, 1), IP(198, 18, 0, 254), IP(10, 1, 2, 3),
        IP(198, 18, 1, 255), /* another subnet's: not known to be a broadcast here */
    };
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++)
        if (check_peer(&o, good[k], &err) != 0) fail_msg("refused: %s", err.text);
    static const struct {
        uint32_t ip;
        const char *text, *why;
    } bad[] = {
        {IP(198, 18, 0, 2), "198.18.0.2", "own address"},
        {IP(198, 18, 0, 255), "198.18.0.255", "broadcast address of 198.18.0.0/24"},
        {IP(198, 18, 0, 0), "198.18.0.0", "network address of 198.18.0.0/24"},
        {IP(255, 255, 255, 255), "255.255.255.255", "limited broadcast"},
        {IP(224, 0, 0, 5), "224.0.0.5", "multicast"},
        {IP(127, 0, 0, 1), "127.0.0.1", "loopback"},
        {IP(0, 0, 0, 0), "0.0.0.0", "this network"},
        {IP(240, 1, 1, 1), "240.1.1.1", "reserved"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        if (check_peer(&o, bad[k].ip, &err) != 2) fail_msg("HOST %s accepted", bad[k].text);
        expect_refusal(&err, "HOST", bad[k].why);
        expect_refusal(&err, bad[k].text, bad[k].why);
    }
    /* With a /31 there is no broadcast address: both ends are hosts (RFC 3021). */
    net_opts_default(&o);
    assert_int_equal(parse_one(&o, "--addr", "198.18.0.2/31", &err), 1);
    assert_int_equal(check_peer(&o, IP(198, 18, 0, 3), &err), 0);
}

/* The peer checks per family: an IPv6 peer needs an IPv6 address of the stack and is
 * judged against its subnet (no broadcast; the Subnet-Router anycast address is not one
 * host); an IPv4 peer against the IPv4 one. */
static void peer_checks_per_family(void **state)
{
    (void)state;
    struct net_opts o;
    struct captured err;
    net_opts_default(&o);
    assert_int_equal(parse_one(&o, "--addr", "198.18.0.2/24", &err), 1);
    /* No IPv6 address: an IPv6 peer is refused, naming what to add. */
    assert_int_equal(check_peer_text(&o, "2001:db8::1", &err), 2);
    expect_refusal(&err, "HOST 2001:db8::1", "is an IPv6 address but the stack has none");
    expect_refusal(&err, "--addr 2001:db8::2/64", "add --addr");
    assert_int_equal(parse_one(&o, "--addr", "2001:db8::2/64", &err), 1);
    static const char *const good[] = {"2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff",
                                       "2001:db8:1::", /* another subnet's */
                                       "fe80::1", "198.18.0.1"};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++)
        if (check_peer_text(&o, good[k], &err) != 0) fail_msg("refused: %s", err.text);
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"2001:db8::2", "own address"},
        {"2001:db8::", "Subnet-Router anycast address of 2001:db8::/64"},
        {"::", "unspecified"},
        {"::1", "loopback"},
        {"ff02::1", "multicast"},
        {"::ffff:198.18.0.1", "IPv4-mapped"},
        {"198.18.0.255", "broadcast address of 198.18.0.0/24"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        if (check_peer_text(&o, bad[k].text, &err) != 2) fail_msg("HOST %s accepted", bad[k].text);
        expect_refusal(&err, "HOST", bad[k].why);
        expect_refusal(&err, bad[k].text, bad[k].why);
    }
    /* -4 / -6 need an address of that family; without any --addr nothing is said here. */
    assert_int_equal(check_family(&o, SYNACK_AF_INET6, &err), 0);
    net_opts_default(&o);
    assert_int_equal(check_family(&o, SYNACK_AF_INET6, &err), 0);
    assert_int_equal(parse_one(&o, "--addr", "2001:db8::2/64", &err), 1);
    assert_int_equal(check_family(&o, SYNACK_AF_INET6, &err), 0);
    assert_int_equal(check_family(&o, SYNACK_AF_INET, &err), 2);
    expect_refusal(&err, "-4", "needs an IPv4 --addr");
}

static void other_options_still_parse(void **state)
{
    (void)state;
    struct net_opts o;
    struct captured err;
    net_opts_default(&o);
    assert_int_equal(parse_one(&o, "--loss", "2%", &err), 1);
    assert_true(o.fault.loss > 0.0199 && o.fault.loss < 0.0201);
    assert_true(o.fault_on);
    assert_int_equal(parse_one(&o, "--rcvbuf", "4M", &err), 1);
    assert_int_equal(o.rcvbuf, 4u << 20);
    assert_int_equal(parse_one(&o, "--rcvbuf", "0", &err), -1);
    expect_refusal(&err, "--rcvbuf", "size");
    assert_int_equal(parse_one(&o, "--addr", "198.18.0.300/24", &err), -1);
    expect_refusal(&err, "--addr", "ADDR/PREFIX");
    assert_int_equal(parse_one(&o, "--addr", NULL, &err), -1);
    expect_refusal(&err, "--addr", "needs a value");
    assert_int_equal(parse_one(&o, "--unknown", "x", &err), 0); /* not ours */
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(addr_takes_unicast_with_prefix),
    cmocka_unit_test(addr_once_per_family),
    cmocka_unit_test(addr_prefix_range_per_family),
    cmocka_unit_test(addr_refuses_what_is_not_unicast),
    cmocka_unit_test(addr_refuses_network_and_broadcast_of_its_subnet),
    cmocka_unit_test(peer_must_be_another_unicast_host),
    cmocka_unit_test(peer_checks_per_family),
    cmocka_unit_test(other_options_still_parse),
};

SYNACK_TEST_MAIN("netopt", tests)
