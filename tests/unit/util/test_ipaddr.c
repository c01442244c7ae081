/* Unit tests for src/util/ipaddr.c. */
#include "../tap.h"
#include "util/ipaddr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct good {
    const char *in;
    const char *canon; /* ip_format of the result */
};

struct bad {
    const char *in;
    const char *why;
};

static const struct good good_addrs[] = {
    /* IPv4 */
    { "0.0.0.0", "0.0.0.0" },
    { "1.2.3.4", "1.2.3.4" },
    { "10.0.0.1", "10.0.0.1" },
    { "192.0.2.1", "192.0.2.1" },
    { "100.64.0.10", "100.64.0.10" },
    { "255.255.255.255", "255.255.255.255" },
    { "9.99.199.250", "9.99.199.250" },
    /* IPv6, RFC 5952 section 4 */
    { "::", "::" },
    { "::1", "::1" },
    { "1::", "1::" },
    { "2001:db8::1", "2001:db8::1" },
    { "2001:0db8::0001", "2001:db8::1" },        /* 4.1 leading zeros */
    { "2001:db8:0:0:0:0:2:1", "2001:db8::2:1" }, /* 4.2.1 shorten as much as possible */
    { "2001:db8::0:1", "2001:db8::1" },
    { "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" }, /* 4.2.2 one zero group stays */
    { "2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
    { "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },       /* 4.2.3 longest run */
    { "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" }, /* 4.2.3 first of equal runs */
    { "2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:AAAA",      /* 4.3 lower case */
      "2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa" },
    { "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
    { "0:0:0:0:0:0:0:0", "::" },
    { "0:0:0:0:0:0:0:1", "::1" },
    { "1:0:0:0:0:0:0:0", "1::" },
    { "0::0", "::" },
    { "::0:0", "::" },
    { "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8" },
    { "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0" },
    { "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8" },
    { "1::2:3:4:5:6:7", "1:0:2:3:4:5:6:7" },
    { "1:0:0:0:1:0:0:0", "1::1:0:0:0" },
    { "0:0:1:0:0:1:0:0", "::1:0:0:1:0:0" },
    { "1:0:0:2:0:0:0:3", "1:0:0:2::3" },
    { "1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0" },
    { "0001:0002::", "1:2::" },
    { "fe80::1", "fe80::1" },
    { "FE80::A:b:C", "fe80::a:b:c" },
    { "ff02::1:ff00:1", "ff02::1:ff00:1" },
    { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
    { "2001:db8:1000::", "2001:db8:1000::" },
    { "abcd:ef01:2345:6789:abcd:ef01:2345:6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789" },
    /* embedded IPv4 */
    { "::ffff:1.2.3.4", "::ffff:1.2.3.4" },
    { "::FFFF:1.2.3.4", "::ffff:1.2.3.4" },
    { "0:0:0:0:0:ffff:102:304", "::ffff:1.2.3.4" },
    { "0:0:0:0:0:ffff:1.2.3.4", "::ffff:1.2.3.4" },
    { "::ffff:0.0.0.0", "::ffff:0.0.0.0" },
    { "::ffff:255.255.255.255", "::ffff:255.255.255.255" },
    { "::1.2.3.4", "::102:304" }, /* deprecated IPv4-compatible: hex */
    { "::ffff:0:1.2.3.4", "::ffff:0:102:304" },
    { "64:ff9b::192.0.2.33", "64:ff9b::c000:221" },
    { "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304" },
    { "1:2:3:4:5::1.2.3.4", "1:2:3:4:5:0:102:304" },
};

static const struct bad bad_addrs[] = {
    { "", "empty address" },
    /* IPv4 shape */
    { "1", "invalid IPv4 address" },
    { "1.2", "invalid IPv4 address" },
    { "1.2.3", "invalid IPv4 address" },
    { "1.2.3.4.5", "invalid IPv4 address" },
    { "1.2.3.", "invalid IPv4 address" },
    { "1.2.3.4.", "invalid IPv4 address" },
    { ".1.2.3", "invalid IPv4 address" },
    { "1..2.3", "invalid IPv4 address" },
    { "a.b.c.d", "invalid IPv4 address" },
    { "0x1.2.3.4", "invalid IPv4 address" },
    { "1.2.3.0x4", "invalid IPv4 address" },
    { " 1.2.3.4", "invalid IPv4 address" },
    { "1.2.3.4 ", "invalid IPv4 address" },
    { "1.2.3.4\n", "invalid IPv4 address" },
    { "1.2.3.-4", "invalid IPv4 address" },
    { "1.2.3.+4", "invalid IPv4 address" },
    { "1.2.3.4/24", "invalid IPv4 address" },
    { "1,2,3,4", "invalid IPv4 address" },
    { "localhost", "invalid IPv4 address" },
    /* IPv4 octets */
    { "01.2.3.4", "leading zero in IPv4 octet" },
    { "1.2.3.04", "leading zero in IPv4 octet" },
    { "1.2.3.00", "leading zero in IPv4 octet" },
    { "1.2.3.0255", "leading zero in IPv4 octet" },
    { "010.0.0.1", "leading zero in IPv4 octet" },
    { "256.1.1.1", "IPv4 octet out of range" },
    { "1.2.3.999", "IPv4 octet out of range" },
    { "1.2.3.1000", "IPv4 octet out of range" },
    { "1.2.3.99999999999999999999", "IPv4 octet out of range" },
    { "16909060", "IPv4 octet out of range" },
    /* decorations */
    { "[::1]", "brackets not allowed" },
    { "[2001:db8::1]:443", "brackets not allowed" },
    { "[1.2.3.4]", "brackets not allowed" },
    { "fe80::1%eth0", "zone id not allowed" },
    { "fe80::1%25eth0", "zone id not allowed" },
    { "1.2.3.4:80", "invalid IPv6 address" },
    { "2001:db8::1/64", "invalid IPv6 address" },
    /* IPv6 syntax */
    { ":", "invalid IPv6 address" },
    { ":::", "invalid IPv6 address" },
    { "1:::2", "invalid IPv6 address" },
    { ":1:2:3:4:5:6:7", "invalid IPv6 address" },
    { ":1::2", "invalid IPv6 address" },
    { "1:2:3:4:5:6:7:", "invalid IPv6 address" },
    { "1:2:3:4:5:6:7:8:", "invalid IPv6 address" },
    { "1::2:", "invalid IPv6 address" },
    { "g::1", "invalid IPv6 address" },
    { "0x1::", "invalid IPv6 address" },
    { "-1::", "invalid IPv6 address" },
    { "::-1", "invalid IPv6 address" },
    { "::+1", "invalid IPv6 address" },
    { "2001:db8::1 ", "invalid IPv6 address" },
    { " ::1", "invalid IPv6 address" },
    { "1.2.3.4::", "invalid IPv6 address" },
    { "::1.2.3.4:1", "invalid IPv6 address" },
    { "1.2.3.4:1::", "invalid IPv6 address" },
    { "1::2.3.4.5:6", "invalid IPv6 address" },
    { "12345::", "IPv6 group has more than 4 hex digits" },
    { "00000::1", "IPv6 group has more than 4 hex digits" },
    { "::1:2:3:fffff", "IPv6 group has more than 4 hex digits" },
    { "1::2::3", "more than one '::'" },
    { "::1::", "more than one '::'" },
    { "::::", "more than one '::'" },
    { "1:2:3:4:5:6:7", "too few IPv6 groups" },
    { "1:2", "too few IPv6 groups" },
    { "1:2:3:4:5:1.2.3.4", "too few IPv6 groups" },
    { "1:2:3:4:5:6:7:8:9", "too many IPv6 groups" },
    { "1:2:3:4:5:6:7:8::", "too many IPv6 groups" },
    { "::1:2:3:4:5:6:7:8", "too many IPv6 groups" },
    { "1:2:3:4::5:6:7:8", "too many IPv6 groups" },
    { "1:2:3:4:5:6:7::8", "too many IPv6 groups" },
    { "1:2:3:4:5:6:7:1.2.3.4", "too many IPv6 groups" },
    { "1:2:3:4:5:6::1.2.3.4", "too many IPv6 groups" },
    /* embedded IPv4 */
    { "::1.2.3", "invalid IPv4 address" },
    { "::ffff:1.2.3.4.5", "invalid IPv4 address" },
    { "::ffff:1.2..4", "invalid IPv4 address" },
    { "::ffff:01.2.3.4", "leading zero in IPv4 octet" },
    { "::ffff:256.2.3.4", "IPv4 octet out of range" },
};

static const struct good good_cidrs[] = {
    { "10.0.0.0/8", "10.0.0.0/8" },
    { "10.1.2.3/8", "10.0.0.0/8" },
    { "0.0.0.0/0", "0.0.0.0/0" },
    { "1.2.3.4/0", "0.0.0.0/0" },
    { "255.255.255.255/0", "0.0.0.0/0" },
    { "255.255.255.255/1", "128.0.0.0/1" },
    { "1.2.3.4/32", "1.2.3.4/32" },
    { "192.168.1.255/31", "192.168.1.254/31" },
    { "192.168.1.255/25", "192.168.1.128/25" },
    { "192.168.1.255/24", "192.168.1.0/24" },
    { "192.168.1.255/23", "192.168.0.0/23" },
    { "172.31.255.255/12", "172.16.0.0/12" },
    { "::/0", "::/0" },
    { "ffff::1/0", "::/0" },
    { "2001:db8::/32", "2001:db8::/32" },
    { "2001:db8:ffff::1/32", "2001:db8::/32" },
    { "2001:DB8::1/128", "2001:db8::1/128" },
    { "2001:db8::ffff/127", "2001:db8::fffe/127" },
    { "2001:db8::/65", "2001:db8::/65" },
    { "2001:db8:0:0:ffff::/65", "2001:db8:0:0:8000::/65" },
    { "2a06:98c0::/29", "2a06:98c0::/29" },
    { "2a06:98c7:1::/29", "2a06:98c0::/29" },
    { "fe80::1/10", "fe80::/10" },
    { "febf:ffff::/10", "fe80::/10" },
    { "ff00::/8", "ff00::/8" },
    { "::1/128", "::1/128" },
    { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127" },
    { "::ffff:1.2.3.4/120", "::ffff:1.2.3.0/120" },
    { "::ffff:0.0.0.0/96", "::ffff:0.0.0.0/96" },
};

static const struct bad bad_cidrs[] = {
    { "", "missing /prefix length" },
    { "10.0.0.0", "missing /prefix length" },
    { "10.0.0.1", "missing /prefix length" },
    { "::1", "missing /prefix length" },
    { "2001:db8::", "missing /prefix length" },
    { "bogus", "missing /prefix length" },
    { "/8", "empty address" },
    { "/", "empty address" },
    { "10.0.0.0/", "invalid prefix length" },
    { "10.0.0.0/08", "invalid prefix length" },
    { "10.0.0.0/00", "invalid prefix length" },
    { "10.0.0.0/-1", "invalid prefix length" },
    { "10.0.0.0/+8", "invalid prefix length" },
    { "10.0.0.0/ 8", "invalid prefix length" },
    { "10.0.0.0/8 ", "invalid prefix length" },
    { "10.0.0.0/8/8", "invalid prefix length" },
    { "10.0.0.0/0x8", "invalid prefix length" },
    { "10.0.0.0/8a", "invalid prefix length" },
    { "::/064", "invalid prefix length" },
    { "::/", "invalid prefix length" },
    { "10.0.0.0/33", "prefix length out of range" },
    { "10.0.0.0/128", "prefix length out of range" },
    { "10.0.0.0/4294967304", "prefix length out of range" },
    { "::/129", "prefix length out of range" },
    { "::/1000", "prefix length out of range" },
    { "::/99999999999999999999", "prefix length out of range" },
    { "10.0.0/8", "invalid IPv4 address" },
    { "10.0.0.0 /8", "invalid IPv4 address" },
    { " 10.0.0.0/8", "invalid IPv4 address" },
    { "01.0.0.0/8", "leading zero in IPv4 octet" },
    { "300.0.0.0/8", "IPv4 octet out of range" },
    { "[::]/0", "brackets not allowed" },
    { "fe80::%1/64", "zone id not allowed" },
    { "1::2::/64", "more than one '::'" },
    { "1:2:3/48", "too few IPv6 groups" },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static char what[512];

/* The check description, with control characters in s escaped. */
static const char *label(const char *fmt, const char *s)
{
    char esc[256];
    size_t n = 0;
    for (; *s && n + 5 < sizeof esc; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            n += (size_t)snprintf(esc + n, sizeof esc - n, "\\x%02x", (unsigned char)*s);
        else
            esc[n++] = *s;
    }
    esc[n] = '\0';
    snprintf(what, sizeof what, fmt, esc);
    return what;
}

static struct ip_addr must_parse(const char *s)
{
    struct ip_addr a;
    const char *why = NULL;
    if (ip_parse(s, strlen(s), &a, &why) != 0) {
        printf("# helper could not parse %s: %s\n", s, why);
        memset(&a, 0, sizeof a);
    }
    return a;
}

static struct ip_cidr must_cidr(const char *s)
{
    struct ip_cidr c;
    const char *why = NULL;
    if (ip_cidr_parse(s, strlen(s), &c, &why) != 0) {
        printf("# helper could not parse %s: %s\n", s, why);
        memset(&c, 0, sizeof c);
    }
    return c;
}

static bool addr_eq(const struct ip_addr *a, const struct ip_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

static void test_good_addrs(void)
{
    for (size_t i = 0; i < COUNT(good_addrs); i++) {
        const struct good *g = &good_addrs[i];
        struct ip_addr a, b;
        const char *why = "unset";
        char buf[46], buf2[46];

        int rc = ip_parse(g->in, strlen(g->in), &a, &why);
        TAP_INT_EQ(rc, 0, label("parse %s", g->in));
        if (rc != 0) {
            printf("#   why: %s\n", why);
            continue;
        }
        TAP_STR_EQ(why, "unset", label("why untouched on success: %s", g->in));
        size_t n = ip_format(&a, buf);
        TAP_STR_EQ(buf, g->canon, label("format(parse(%s))", g->in));
        TAP_INT_EQ(n, strlen(g->canon), label("format length of %s", g->in));
        TAP_INT_EQ(a.family, strchr(g->in, ':') ? 6 : 4, label("family of %s", g->in));

        /* The canonical text parses to the same address and is stable. */
        rc = ip_parse(buf, n, &b, &why);
        TAP_OK(rc == 0 && addr_eq(&a, &b), label("parse(format(parse(%s))) is the same", g->in));
        ip_format(&b, buf2);
        TAP_STR_EQ(buf2, buf, label("format is canonical for %s", g->in));
    }
}

static void test_bad_addrs(void)
{
    for (size_t i = 0; i < COUNT(bad_addrs); i++) {
        const struct bad *b = &bad_addrs[i];
        struct ip_addr a;
        const char *why = NULL;

        memset(&a, 0xa5, sizeof a);
        int rc = ip_parse(b->in, strlen(b->in), &a, &why);
        TAP_INT_EQ(rc, -1, label("reject \"%s\"", b->in));
        TAP_STR_EQ(why, b->why, label("reason for \"%s\"", b->in));
        TAP_OK(a.family == 0xa5, label("output untouched on failure: \"%s\"", b->in));
    }

    /* A NULL why is allowed. */
    struct ip_addr a;
    TAP_INT_EQ(ip_parse("1.2.3", 5, &a, NULL), -1, "reject with NULL why");
    TAP_INT_EQ(ip_parse("1::2::3", 7, &a, NULL), -1, "reject IPv6 with NULL why");
}

static void test_bytes(void)
{
    struct ip_addr a;
    const char *why;

    static const uint8_t v4[16] = { 192, 0, 2, 1 };
    TAP_OK(ip_parse("192.0.2.1", 9, &a, &why) == 0 && a.family == 4 && memcmp(a.bytes, v4, 16) == 0,
           "IPv4 bytes in network order, rest zero");

    static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
    TAP_OK(ip_parse("2001:db8::1", 11, &a, &why) == 0 && a.family == 6 &&
               memcmp(a.bytes, v6, 16) == 0,
           "IPv6 bytes in network order");

    static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4 };
    TAP_OK(ip_parse("::ffff:1.2.3.4", 14, &a, &why) == 0 && a.family == 6 &&
               memcmp(a.bytes, mapped, 16) == 0,
           "IPv4-mapped bytes");

    static const uint8_t mixed[16] = { 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 10, 20, 30, 40 };
    TAP_OK(ip_parse("1:2:3:4:5:6:10.20.30.40", 23, &a, &why) == 0 &&
               memcmp(a.bytes, mixed, 16) == 0,
           "full IPv6 with IPv4 tail");

    /* Only len bytes are read. */
    TAP_OK(ip_parse("1.2.3.45", 7, &a, &why) == 0 && a.bytes[3] == 4, "IPv4 honours len");
    TAP_OK(ip_parse("::1abcd", 3, &a, &why) == 0 && a.bytes[15] == 1, "IPv6 honours len");
    TAP_OK(ip_parse("10.0.0.0/8", 8, &a, &why) == 0, "address prefix of a CIDR text");
    TAP_INT_EQ(ip_parse("1.2.3.4\0", 8, &a, &why), -1, "embedded NUL rejected");
    TAP_INT_EQ(ip_parse("::1\0", 4, &a, &why), -1, "embedded NUL rejected (IPv6)");
}

static void test_unmap(void)
{
    struct ip_addr a = must_parse("::ffff:192.0.2.1"), u = ip_unmap(a),
                   v4 = must_parse("192.0.2.1");
    TAP_OK(addr_eq(&u, &v4), "::ffff:192.0.2.1 unmaps to 192.0.2.1");

    a = must_parse("::ffff:0.0.0.0");
    u = ip_unmap(a);
    v4 = must_parse("0.0.0.0");
    TAP_OK(addr_eq(&u, &v4), "::ffff:0.0.0.0 unmaps to 0.0.0.0");

    static const char *const keep[] = { "::1.2.3.4",       "::ffff:0:1.2.3.4", "::fffe:1.2.3.4",
                                        "1::ffff:1.2.3.4", "2001:db8::1",      "::",
                                        "1.2.3.4" };
    for (size_t i = 0; i < COUNT(keep); i++) {
        a = must_parse(keep[i]);
        u = ip_unmap(a);
        TAP_OK(addr_eq(&a, &u), label("%s is left as it is", keep[i]));
    }
}

static void test_good_cidrs(void)
{
    for (size_t i = 0; i < COUNT(good_cidrs); i++) {
        const struct good *g = &good_cidrs[i];
        struct ip_cidr c, d;
        const char *why = NULL;
        char buf[64];

        int rc = ip_cidr_parse(g->in, strlen(g->in), &c, &why);
        TAP_INT_EQ(rc, 0, label("cidr parse %s", g->in));
        if (rc != 0) {
            printf("#   why: %s\n", why);
            continue;
        }
        size_t n = ip_format(&c.addr, buf);
        snprintf(buf + n, sizeof buf - n, "/%u", (unsigned)c.prefix);
        TAP_STR_EQ(buf, g->canon, label("cidr canonical form of %s", g->in));
        rc = ip_cidr_parse(buf, strlen(buf), &d, &why);
        TAP_OK(rc == 0 && addr_eq(&c.addr, &d.addr) && c.prefix == d.prefix,
               label("cidr round trip of %s", g->in));
        TAP_OK(ip_cidr_contains(&c, &c.addr), label("%s contains its network address", g->in));
    }

    struct ip_cidr c = must_cidr("10.11.12.13/8");
    TAP_INT_EQ(c.prefix, 8, "prefix stored");
    TAP_INT_EQ(c.addr.family, 4, "family stored");
    TAP_OK(c.addr.bytes[0] == 10 && c.addr.bytes[1] == 0 && c.addr.bytes[2] == 0 &&
               c.addr.bytes[3] == 0,
           "host bits cleared");
    c = must_cidr("2001:db8::/0");
    TAP_INT_EQ(c.prefix, 0, "prefix 0 stored");
    TAP_INT_EQ(c.addr.family, 6, "IPv6 family stored");
}

static void test_bad_cidrs(void)
{
    for (size_t i = 0; i < COUNT(bad_cidrs); i++) {
        const struct bad *b = &bad_cidrs[i];
        struct ip_cidr c;
        const char *why = NULL;

        memset(&c, 0xa5, sizeof c);
        int rc = ip_cidr_parse(b->in, strlen(b->in), &c, &why);
        TAP_INT_EQ(rc, -1, label("cidr reject \"%s\"", b->in));
        TAP_STR_EQ(why, b->why, label("cidr reason for \"%s\"", b->in));
        TAP_OK(c.prefix == 0xa5, label("cidr output untouched: \"%s\"", b->in));
    }
    struct ip_cidr c;
    TAP_INT_EQ(ip_cidr_parse("10.0.0.0", 8, &c, NULL), -1, "cidr reject with NULL why");
    TAP_INT_EQ(ip_cidr_parse("10.0.0.0/8x", 10, &c, NULL), 0, "cidr honours len");
}

struct contain_case {
    const char *net, *addr;
    bool in;
};

static const struct contain_case contain_cases[] = {
    { "10.0.0.0/8", "10.0.0.0", true },
    { "10.0.0.0/8", "10.255.255.255", true },
    { "10.0.0.0/8", "11.0.0.0", false },
    { "10.0.0.0/8", "9.255.255.255", false },
    { "192.168.1.128/25", "192.168.1.128", true },
    { "192.168.1.128/25", "192.168.1.255", true },
    { "192.168.1.128/25", "192.168.1.127", false },
    { "192.168.1.128/25", "192.168.2.128", false },
    { "1.2.3.4/32", "1.2.3.4", true },
    { "1.2.3.4/32", "1.2.3.5", false },
    { "1.2.3.4/32", "1.2.3.3", false },
    { "1.2.3.4/32", "129.2.3.4", false },
    { "0.0.0.0/0", "0.0.0.0", true },
    { "0.0.0.0/0", "255.255.255.255", true },
    { "0.0.0.0/0", "::", false },
    { "0.0.0.0/0", "::ffff:1.2.3.4", true }, /* mapped peers match IPv4 networks */
    { "10.0.0.0/8", "::ffff:10.1.2.3", true },
    { "10.0.0.0/8", "::ffff:11.1.2.3", false },
    { "10.0.0.0/8", "::10.1.2.3", false }, /* IPv4-compatible is not mapped */
    { "10.0.0.0/8", "a01:203::", false },
    { "::/0", "::", true },
    { "::/0", "2001:db8::1", true },
    { "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
    { "::/0", "::ffff:1.2.3.4", true },
    { "::/0", "1.2.3.4", false },
    { "::ffff:0:0/96", "1.2.3.4", false },
    { "::ffff:0:0/96", "::ffff:1.2.3.4", true },
    { "2001:db8::/32", "2001:db8::", true },
    { "2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true },
    { "2001:db8::/32", "2001:db9::", false },
    { "2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false },
    { "2001:db8::1/128", "2001:db8::1", true },
    { "2001:db8::1/128", "2001:db8::", false },
    { "2001:db8::1/128", "2001:db8::2", false },
    { "2001:db8::1/128", "2001:db8::1:1", false },
    { "2001:db8::/127", "2001:db8::", true },
    { "2001:db8::/127", "2001:db8::1", true },
    { "2001:db8::/127", "2001:db8::2", false },
    { "8000::/1", "8000::", true },
    { "8000::/1", "ffff::", true },
    { "8000::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false },
    { "2a06:98c0::/29", "2a06:98c7:ffff::1", true },
    { "2a06:98c0::/29", "2a06:98c8::", false },
    { "2a06:98c0::/29", "2a06:98bf:ffff::", false },
    { "fe80::/10", "febf::1", true },
    { "fe80::/10", "fec0::1", false },
};

static void test_contains_table(void)
{
    for (size_t i = 0; i < COUNT(contain_cases); i++) {
        const struct contain_case *k = &contain_cases[i];
        struct ip_cidr c = must_cidr(k->net);
        struct ip_addr a = must_parse(k->addr);
        char msg[128];
        snprintf(msg, sizeof msg, "%s %s %s", k->net, k->in ? "contains" : "does not contain",
                 k->addr);
        TAP_OK(ip_cidr_contains(&c, &a) == k->in, msg);
    }
}

/* For every prefix length: flipping the last bit inside the prefix leaves the
 * network, flipping the first bit after it stays inside. */
static void test_contains_boundaries(const char *base_text, unsigned max)
{
    struct ip_addr base = must_parse(base_text);
    int failures = 0;

    for (unsigned p = 0; p <= max; p++) {
        char text[64], addr[46];
        ip_format(&base, addr);
        snprintf(text, sizeof text, "%s/%u", addr, p);
        struct ip_cidr c;
        const char *why;
        if (ip_cidr_parse(text, strlen(text), &c, &why) != 0) {
            failures++;
            continue;
        }
        struct ip_addr x = base;
        if (!ip_cidr_contains(&c, &x))
            failures++;
        if (p > 0) {
            x = base;
            x.bytes[(p - 1) / 8] ^= (uint8_t)(0x80 >> ((p - 1) % 8));
            if (ip_cidr_contains(&c, &x)) {
                printf("# %s contains bit %u flipped\n", text, p - 1);
                failures++;
            }
        }
        if (p < max) {
            x = base;
            x.bytes[p / 8] ^= (uint8_t)(0x80 >> (p % 8));
            if (!ip_cidr_contains(&c, &x)) {
                printf("# %s lacks bit %u flipped\n", text, p);
                failures++;
            }
            /* all host bits flipped */
            x = base;
            for (unsigned b = p; b < max; b++)
                x.bytes[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
            if (!ip_cidr_contains(&c, &x)) {
                printf("# %s lacks all host bits flipped\n", text);
                failures++;
            }
        }
    }
    TAP_INT_EQ(failures, 0, label("prefix boundaries 0..max around %s", base_text));
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random addresses with many zero groups: format/parse round trip, and the
 * same text as glibc's inet_ntop where RFC 5952 and glibc agree (glibc also
 * prints the deprecated ::a.b.c.d form in dotted notation). */
static void test_random_round_trip(void)
{
    int failures = 0, compared = 0;

    for (int iter = 0; iter < 50000; iter++) {
        struct ip_addr a, b;
        memset(&a, 0, sizeof a);
        a.family = 6;
        for (int g = 0; g < 8; g++) {
            uint64_t r = rng();
            if (r & 1)
                continue;
            unsigned v = (unsigned)(r >> 8) & 0xffff;
            if (r & 2)
                v &= 0xf;
            a.bytes[2 * g] = (uint8_t)(v >> 8);
            a.bytes[2 * g + 1] = (uint8_t)v;
        }
        if (iter % 7 == 0) { /* some IPv4-mapped ones */
            memset(a.bytes, 0, 10);
            a.bytes[10] = a.bytes[11] = 0xff;
        }
        char buf[46], ref[INET6_ADDRSTRLEN];
        size_t n = ip_format(&a, buf);
        const char *why;
        if (n != strlen(buf) || ip_parse(buf, n, &b, &why) != 0 || !addr_eq(&a, &b)) {
            printf("# round trip failed for %s\n", buf);
            failures++;
        }
        static const uint8_t zero12[12];
        if (memcmp(a.bytes, zero12, 12) != 0 && inet_ntop(AF_INET6, a.bytes, ref, sizeof ref)) {
            compared++;
            if (strcmp(ref, buf) != 0) {
                printf("# ours %s, inet_ntop %s\n", buf, ref);
                failures++;
            }
        }
    }
    TAP_INT_EQ(failures, 0, "50000 random IPv6 addresses round trip and match inet_ntop");
    TAP_OK(compared > 40000, "most of them compared with inet_ntop");

    failures = 0;
    for (int iter = 0; iter < 20000; iter++) {
        struct ip_addr a, b;
        memset(&a, 0, sizeof a);
        a.family = 4;
        uint64_t r = rng();
        memcpy(a.bytes, &r, 4);
        char buf[46], ref[INET_ADDRSTRLEN];
        size_t n = ip_format(&a, buf);
        const char *why;
        inet_ntop(AF_INET, a.bytes, ref, sizeof ref);
        if (strcmp(buf, ref) != 0 || ip_parse(buf, n, &b, &why) != 0 || !addr_eq(&a, &b))
            failures++;
    }
    TAP_INT_EQ(failures, 0, "20000 random IPv4 addresses round trip and match inet_ntop");
}

static void test_format_misc(void)
{
    struct ip_addr a;
    char buf[46];

    memset(&a, 0, sizeof a);
    a.family = 0;
    TAP_INT_EQ(ip_format(&a, buf), 0, "unknown family formats as empty");
    TAP_STR_EQ(buf, "", "unknown family text");

    a = must_parse("1111:2222:3333:4444:5555:6666:7777:8888");
    TAP_INT_EQ(ip_format(&a, buf), 39, "longest IPv6 text is 39 bytes");
    a = must_parse("::ffff:255.255.255.255");
    TAP_INT_EQ(ip_format(&a, buf), 22, "longest mapped text is 22 bytes");
}

int main(void)
{
    test_good_addrs();
    test_bad_addrs();
    test_bytes();
    test_unmap();
    test_good_cidrs();
    test_bad_cidrs();
    test_contains_table();
    test_contains_boundaries("0.0.0.0", 32);
    test_contains_boundaries("255.255.255.255", 32);
    test_contains_boundaries("192.0.2.170", 32);
    test_contains_boundaries("::", 128);
    test_contains_boundaries("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128);
    test_contains_boundaries("2001:db8:5555:aaaa:1234:5678:9abc:def0", 128);
    test_random_round_trip();
    test_format_misc();
    return tap_done();
}
