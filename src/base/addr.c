/* Family-neutral addresses and endpoints: constructors, comparisons, and the text forms
 * people type and read (RFC 4291 §2.2 to parse IPv6, RFC 5952 to print it). No libc
 * resolver or inet_pton: the parser is the core's own, bounded and fuzzed. */
#include <string.h>

#include <synack/synack.h>

#include "base/addr.h"

struct synack_addr synack_addr_v4(uint32_t host_order)
{
    return addr_v4(host_order);
}

struct synack_addr synack_addr_v6(const uint8_t bytes[16])
{
    struct synack_addr a = {.family = SYNACK_AF_INET6};
    memcpy(a.bytes, bytes, 16);
    return a;
}

struct synack_addr synack_addr_any(enum synack_family family)
{
    struct synack_addr a = {.family = (uint8_t)family};
    if (family != SYNACK_AF_INET && family != SYNACK_AF_INET6) a.family = SYNACK_AF_NONE;
    return a;
}

uint32_t synack_addr_v4_value(const struct synack_addr *a)
{
    return addr_v4_value(a);
}

bool synack_addr_eq(const struct synack_addr *a, const struct synack_addr *b)
{
    return addr_eq(a, b);
}

bool synack_addr_is_any(const struct synack_addr *a)
{
    return addr_is_any(a);
}

bool synack_addr_is_unicast(const struct synack_addr *a)
{
    return addr_is_unicast(a);
}

bool synack_endpoint_eq(const struct synack_endpoint *a, const struct synack_endpoint *b)
{
    return endpoint_eq(a, b);
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* Dotted quad in [p, end): exactly four decimal parts 0-255, no sign, no leading zeros
 * (so "010" is refused rather than read as octal or decimal, as inet_pton does). */
static bool parse_v4(const char *p, const char *end, uint8_t out[4])
{
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (p == end || *p != '.') return false;
            p++;
        }
        unsigned value = 0;
        const char *start = p;
        while (p < end && *p >= '0' && *p <= '9' && p - start < 3) {
            value = value * 10 + (unsigned)(*p - '0');
            p++;
        }
        size_t digits = (size_t)(p - start);
        if (digits == 0 || value > 255 || (digits > 1 && *start == '0')) return false;
        out[part] = (uint8_t)value;
    }
    return p == end;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* RFC 4291 §2.2: eight groups of 1-4 hex digits separated by ':'; one "::" stands for one
 * or more zero groups; the last 32 bits may be written as a dotted quad (form 3). */
static bool parse_v6(const char *p, const char *end, uint8_t out[16])
{
    uint8_t bytes[16] = {0};
    size_t n = 0;        /* bytes filled */
    size_t gap = 16 + 1; /* where "::" stood, in bytes; 17 = none */
    if (end - p >= 2 && p[0] == ':' && p[1] == ':') {
        gap = 0;
        p += 2;
        if (p == end) {
            memcpy(out, bytes, 16);
            return true;
        }
    } else if (p < end && *p == ':') {
        return false; /* a single leading ':' */
    }
    for (;;) {
        /* One group, or the dotted quad that ends the address. */
        const char *start = p;
        unsigned value = 0;
        while (p < end && hex_value(*p) >= 0 && p - start < 4) {
            value = value << 4 | (unsigned)hex_value(*p);
            p++;
        }
        if (p < end && *p == '.') {
            if (n + 4 > 16) return false;
            if (!parse_v4(start, end, bytes + n)) return false;
            n += 4;
            p = end;
            break;
        }
        if (p == start) return false;                    /* empty group, or not hex */
        if (p < end && hex_value(*p) >= 0) return false; /* five or more digits */
        if (n + 2 > 16) return false;
        bytes[n++] = (uint8_t)(value >> 8);
        bytes[n++] = (uint8_t)value;
        if (p == end) break;
        if (*p != ':') return false;
        p++;
        if (p < end && *p == ':') {
            if (gap != 17) return false; /* a second "::" */
            gap = n;
            p++;
            if (p == end) break;
        } else if (p == end) {
            return false; /* a trailing single ':' */
        }
    }
    if (gap == 17) {
        if (n != 16) return false;
    } else {
        if (n > 14) return false; /* "::" must stand for at least one group */
        size_t tail = n - gap;
        memmove(bytes + 16 - tail, bytes + gap, tail);
        memset(bytes + gap, 0, 16 - tail - gap);
    }
    memcpy(out, bytes, 16);
    return true;
}

/* Parses the address in [p, end), brackets allowed around IPv6. */
static bool parse_addr_range(const char *p, const char *end, struct synack_addr *out)
{
    struct synack_addr a = {0};
    if (end - p >= 2 && *p == '[' && end[-1] == ']') {
        if (!parse_v6(p + 1, end - 1, a.bytes)) return false;
        a.family = SYNACK_AF_INET6;
    } else if (parse_v4(p, end, a.bytes)) {
        a.family = SYNACK_AF_INET;
    } else if (parse_v6(p, end, a.bytes)) {
        a.family = SYNACK_AF_INET6;
    } else {
        return false;
    }
    *out = a;
    return true;
}

/* strlen, but reads no further than `max` bytes (C11 has no strnlen). */
static size_t text_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int synack_addr_parse(const char *text, struct synack_addr *out)
{
    if (!text || !out) return SYNACK_ERR_INVAL;
    size_t len = text_len(text, SYNACK_ENDPOINT_STRLEN + 1);
    if (len == 0 || len > SYNACK_ENDPOINT_STRLEN) return SYNACK_ERR_INVAL;
    return parse_addr_range(text, text + len, out) ? 0 : SYNACK_ERR_INVAL;
}

static bool parse_port(const char *p, const char *end, uint16_t *out)
{
    if (p == end || end - p > 5) return false;
    unsigned value = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return false;
        value = value * 10 + (unsigned)(*p - '0');
    }
    if (value > 65535) return false;
    *out = (uint16_t)value;
    return true;
}

int synack_endpoint_parse(const char *text, struct synack_endpoint *out)
{
    if (!text || !out) return SYNACK_ERR_INVAL;
    size_t len = text_len(text, SYNACK_ENDPOINT_STRLEN + 1);
    if (len == 0 || len > SYNACK_ENDPOINT_STRLEN) return SYNACK_ERR_INVAL;
    const char *end = text + len;
    struct synack_endpoint e = {0};
    /* "[v6]:port", "a.b.c.d:port": the port follows the last ':' after the address. A
     * bare IPv6 address has two or more ':' and no brackets: it has no port. */
    const char *colon = NULL;
    size_t colons = 0;
    for (const char *p = text; p < end; p++) {
        if (*p == ':') {
            colon = p;
            colons++;
        }
    }
    bool bracketed = text[0] == '[';
    if (colon && (bracketed ? colon > text && colon[-1] == ']' : colons == 1)) {
        if (!parse_port(colon + 1, end, &e.port)) return SYNACK_ERR_INVAL;
        end = colon;
    }
    if (!parse_addr_range(text, end, &e.addr)) return SYNACK_ERR_INVAL;
    *out = e;
    return 0;
}

/* ---- formatting ---------------------------------------------------------------------- */

/* Appends to out[0..cap) while counting the full length, snprintf-style. */
struct addr_text {
    char *out;
    size_t cap, len;
};

static void text_putc(struct addr_text *t, char ch)
{
    if (t->len + 1 < t->cap) {
        t->out[t->len] = ch;
        t->out[t->len + 1] = '\0';
    }
    t->len++;
}

static void text_puts(struct addr_text *t, const char *s)
{
    while (*s)
        text_putc(t, *s++);
}

static void text_putu(struct addr_text *t, unsigned v, unsigned base)
{
    char digits[8];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v && n < sizeof(digits));
    while (n)
        text_putc(t, digits[--n]);
}

static void text_v4(struct addr_text *t, const uint8_t b[4])
{
    for (int i = 0; i < 4; i++) {
        if (i) text_putc(t, '.');
        text_putu(t, b[i], 10);
    }
}

/* RFC 5952 §4: leading zeros dropped (§4.1), the longest run of two or more zero groups
 * shortened to "::", the first on a tie (§4.2), lower case (§4.3); §5: IPv4-mapped
 * addresses end in dotted decimal. */
static void text_v6(struct addr_text *t, const uint8_t b[16])
{
    unsigned groups[8];
    for (int i = 0; i < 8; i++)
        groups[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
    int ngroups = addr_is_v4_mapped(b) ? 6 : 8;
    int best = -1, best_len = 1;
    for (int i = 0; i < ngroups;) {
        int j = i;
        while (j < ngroups && groups[j] == 0)
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    for (int i = 0; i < ngroups; i++) {
        if (i == best) {
            text_puts(t, "::");
            i += best_len - 1;
            continue;
        }
        if (i > 0 && i != best + best_len) text_putc(t, ':');
        text_putu(t, groups[i], 16);
    }
    if (ngroups == 6) {
        if (best + best_len != 6) text_putc(t, ':');
        text_v4(t, b + 12);
    }
}

static void text_addr(struct addr_text *t, const struct synack_addr *a)
{
    if (a->family == SYNACK_AF_INET)
        text_v4(t, a->bytes);
    else if (a->family == SYNACK_AF_INET6)
        text_v6(t, a->bytes);
    else
        text_putc(t, '-');
}

size_t synack_addr_format(const struct synack_addr *a, char *out, size_t cap)
{
    struct addr_text t = {out, cap, 0};
    if (cap > 0) out[0] = '\0';
    text_addr(&t, a);
    return t.len;
}

size_t synack_endpoint_format(const struct synack_endpoint *e, char *out, size_t cap)
{
    struct addr_text t = {out, cap, 0};
    if (cap > 0) out[0] = '\0';
    bool v6 = e->addr.family == SYNACK_AF_INET6;
    if (v6) text_putc(&t, '[');
    text_addr(&t, &e->addr);
    if (v6) text_putc(&t, ']');
    text_putc(&t, ':');
    text_putu(&t, e->port, 10);
    return t.len;
}
