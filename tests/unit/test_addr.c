/* Family-neutral addresses: parsing what people type, printing RFC 5952 text, endpoints. */
#include "harness.h"

#include <string.h>

#include "wire/wire.h"

static void expect_format(const char *text, const char *canonical)
{
    struct synack_addr a;
    assert_int_equal(synack_addr_parse(text, &a), 0);
    char out[SYNACK_ADDR_STRLEN];
    size_t n = synack_addr_format(&a, out, sizeof out);
    assert_string_equal(out, canonical);
    assert_int_equal(n, strlen(canonical));
}

static void expect_invalid(const char *text)
{
    struct synack_addr a = synack_addr_v4(0x01020304);
    assert_int_equal(synack_addr_parse(text, &a), SYNACK_ERR_INVAL);
    /* out untouched on failure */
    assert_int_equal(synack_addr_v4_value(&a), 0x01020304);
}

static void addr_parses_dotted_ipv4(void **state)
{
    (void)state;
    struct synack_addr a;
    assert_int_equal(synack_addr_parse("198.18.0.1", &a), 0);
    assert_int_equal(a.family, SYNACK_AF_INET);
    assert_int_equal(synack_addr_v4_value(&a), 0xc6120001u);
    struct synack_addr b = synack_addr_v4(0xc6120001u);
    assert_true(synack_addr_eq(&a, &b));
    expect_format("0.0.0.0", "0.0.0.0");
    expect_format("255.255.255.255", "255.255.255.255");
}

static void addr_refuses_malformed_ipv4(void **state)
{
    (void)state;
    expect_invalid("");
    expect_invalid("198.18.0");
    expect_invalid("198.18.0.1.2");
    expect_invalid("198.18.0.256");
    expect_invalid("198.18.0.01"); /* leading zero: octal to some parsers */
    expect_invalid("198.18..1");
    expect_invalid("198.18.0.1 ");
    expect_invalid("-1.0.0.0");
    expect_invalid("1234.0.0.0");
    expect_invalid("a.b.c.d");
}

static void addr_parses_ipv6_forms(void **state)
{
    (void)state;
    struct synack_addr a;
    assert_int_equal(synack_addr_parse("2001:db8::1", &a), 0);
    assert_int_equal(a.family, SYNACK_AF_INET6);
    static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    assert_memory_equal(a.bytes, want, 16);
    expect_format("[2001:db8::1]", "2001:db8::1");
    expect_format("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
    expect_format("::", "::");
    expect_format("::1", "::1");
    expect_format("1::", "1::");
    expect_format("::ffff:198.18.0.1", "::ffff:198.18.0.1");
    expect_format("64:ff9b::198.18.0.1", "64:ff9b::c612:1");
    expect_format("2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1");
    /* RFC 5952 §4.2.2: one zero group is not shortened; §4.2.3: first of equal runs. */
    expect_format("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1");
    expect_format("2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1");
    expect_format("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8");
}

static void addr_refuses_malformed_ipv6(void **state)
{
    (void)state;
    expect_invalid(":");
    expect_invalid(":::");
    expect_invalid("1:::2");
    expect_invalid("1::2::3");
    expect_invalid(":1::2");
    expect_invalid("1::2:");
    expect_invalid("1:2:3:4:5:6:7");
    expect_invalid("1:2:3:4:5:6:7:8:9");
    expect_invalid("1:2:3:4::5:6:7:8"); /* "::" must stand for a group */
    expect_invalid("12345::1");
    expect_invalid("g::1");
    expect_invalid("[2001:db8::1");
    expect_invalid("2001:db8::1]");
    expect_invalid("::ffff:1.2.3");
    expect_invalid("::1.2.3.4:5");
    expect_invalid("1:2:3:4:5:6:7:1.2.3.4");
}

static void endpoint_parses_both_families(void **state)
{
    (void)state;
    struct synack_endpoint e;
    assert_int_equal(synack_endpoint_parse("198.18.0.1:80", &e), 0);
    assert_int_equal(e.addr.family, SYNACK_AF_INET);
    assert_int_equal(e.port, 80);
    assert_int_equal(synack_endpoint_parse("[2001:db8::1]:8080", &e), 0);
    assert_int_equal(e.addr.family, SYNACK_AF_INET6);
    assert_int_equal(e.port, 8080);
    /* A bare IPv6 address has no port: "::1" is not ":" port 1. */
    assert_int_equal(synack_endpoint_parse("2001:db8::1", &e), 0);
    assert_int_equal(e.port, 0);
    assert_int_equal(e.addr.bytes[15], 1);
    assert_int_equal(synack_endpoint_parse("198.18.0.1", &e), 0);
    assert_int_equal(e.port, 0);
    assert_int_equal(synack_endpoint_parse("198.18.0.1:65535", &e), 0);
    assert_int_equal(e.port, 65535);
    assert_int_equal(synack_endpoint_parse("198.18.0.1:65536", &e), SYNACK_ERR_INVAL);
    assert_int_equal(synack_endpoint_parse("198.18.0.1:", &e), SYNACK_ERR_INVAL);
    assert_int_equal(synack_endpoint_parse("198.18.0.1:8a", &e), SYNACK_ERR_INVAL);
    assert_int_equal(synack_endpoint_parse("[2001:db8::1]:", &e), SYNACK_ERR_INVAL);
    assert_int_equal(synack_endpoint_parse("[198.18.0.1]:80", &e), SYNACK_ERR_INVAL);
    assert_int_equal(synack_endpoint_parse(NULL, &e), SYNACK_ERR_INVAL);
}

static void endpoint_formats_with_brackets_for_ipv6(void **state)
{
    (void)state;
    char out[SYNACK_ENDPOINT_STRLEN];
    struct synack_endpoint e;
    assert_int_equal(synack_endpoint_parse("[2001:db8::1]:443", &e), 0);
    synack_endpoint_format(&e, out, sizeof out);
    assert_string_equal(out, "[2001:db8::1]:443");
    assert_int_equal(synack_endpoint_parse("198.18.0.2:80", &e), 0);
    synack_endpoint_format(&e, out, sizeof out);
    assert_string_equal(out, "198.18.0.2:80");
    /* The longest text fits SYNACK_ENDPOINT_STRLEN, and a short buffer is cut, never
     * overrun, while the full length is still returned. */
    assert_int_equal(synack_endpoint_parse("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", &e),
                     0);
    assert_true(synack_endpoint_format(&e, out, sizeof out) < sizeof out);
    char small[8];
    size_t n = synack_endpoint_format(&e, small, sizeof small);
    assert_true(n > sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
}

static void addr_unicast_and_wildcards(void **state)
{
    (void)state;
    struct synack_addr a;
    const char *unicast[] = {"198.18.0.1", "2001:db8::1", "fe80::1"};
    const char *not_unicast[] = {
        "0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.1",        "255.255.255.255",
        "::",      "::1",     "ff02::1",   "::ffff:198.18.0.1"};
    for (size_t i = 0; i < sizeof unicast / sizeof unicast[0]; i++) {
        assert_int_equal(synack_addr_parse(unicast[i], &a), 0);
        assert_true(synack_addr_is_unicast(&a));
        assert_false(synack_addr_is_any(&a));
    }
    for (size_t i = 0; i < sizeof not_unicast / sizeof not_unicast[0]; i++) {
        assert_int_equal(synack_addr_parse(not_unicast[i], &a), 0);
        assert_false(synack_addr_is_unicast(&a));
    }
    struct synack_addr any4 = synack_addr_any(SYNACK_AF_INET);
    struct synack_addr any6 = synack_addr_any(SYNACK_AF_INET6);
    struct synack_addr none = synack_addr_any(SYNACK_AF_NONE);
    assert_true(synack_addr_is_any(&any4) && synack_addr_is_any(&any6) &&
                synack_addr_is_any(&none));
    assert_false(synack_addr_eq(&any4, &any6));
    char out[SYNACK_ADDR_STRLEN];
    synack_addr_format(&none, out, sizeof out);
    assert_string_equal(out, "-");
}

/* RFC 8200 §8.1: the IPv6 pseudo-header. Computed by hand for 2001:db8::1 -> 2001:db8::2,
 * TCP, length 20: the address words 2001+0db8+0001 twice, +0002-0001, next header 6, 20. */
static void pseudo_header_sums_both_families(void **state)
{
    (void)state;
    struct synack_addr s6, d6;
    assert_int_equal(synack_addr_parse("2001:db8::1", &s6), 0);
    assert_int_equal(synack_addr_parse("2001:db8::2", &d6), 0);
    uint32_t want = 2 * (0x2001 + 0x0db8) + 0x0001 + 0x0002 + 6 + 20;
    assert_int_equal(wire_csum_pseudo_addr(&s6, &d6, 6, 20), want);
    /* A length above 65535 (a jumbogram's 32-bit field) still adds both halves. */
    assert_int_equal(wire_csum_pseudo_addr(&s6, &d6, 6, 0x10000), want - 20 + 1);
    /* IPv4 (RFC 9293 §3.1): c612+0001+c612+0002, protocol 6, length 1480. */
    struct synack_addr s4 = synack_addr_v4(0xc6120001u), d4 = synack_addr_v4(0xc6120002u);
    uint32_t want4 = 2 * 0xc612 + 1 + 2 + 6 + 1480;
    want4 = (want4 & 0xffff) + (want4 >> 16);
    assert_int_equal(wire_csum_pseudo_addr(&s4, &d4, 6, 1480), want4);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(addr_parses_dotted_ipv4),
    cmocka_unit_test(addr_refuses_malformed_ipv4),
    cmocka_unit_test(addr_parses_ipv6_forms),
    cmocka_unit_test(addr_refuses_malformed_ipv6),
    cmocka_unit_test(endpoint_parses_both_families),
    cmocka_unit_test(endpoint_formats_with_brackets_for_ipv6),
    cmocka_unit_test(addr_unicast_and_wildcards),
    cmocka_unit_test(pseudo_header_sums_both_families),
};

SYNACK_TEST_MAIN("addr", tests)
