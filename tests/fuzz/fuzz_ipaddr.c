/* libFuzzer target for src/util/ipaddr.c: parse the input as an address and
 * as a CIDR; whatever parses must format to text that parses back to the same
 * value, and the formatted text must be a fixed point. On glibc, acceptance and
 * the resulting bytes are also compared with inet_pton, and the text with
 * inet_ntop where RFC 5952 and glibc agree. */
#include "util/ipaddr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <arpa/inet.h>
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what, const char *text)
{
    if (!cond) {
        fprintf(stderr, "fuzz_ipaddr: %s: %s\n", what, text);
        abort();
    }
}

static int addr_eq(const struct ip_addr *a, const struct ip_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

static void round_trip_addr(const struct ip_addr *a)
{
    char text[46], again[46];
    struct ip_addr b;
    const char *why = NULL;
    size_t n = ip_format(a, text);

    check(n > 0 && n < 46 && n == strlen(text), "format length", text);
    check(ip_parse(text, n, &b, &why) == 0, "formatted address does not parse", text);
    check(addr_eq(a, &b), "address round trip changed the value", text);
    check(ip_format(&b, again) == n && memcmp(text, again, n) == 0, "format not stable", text);

    struct ip_addr u = ip_unmap(*a);
    check(u.family == 4 || addr_eq(&u, a), "unmap changed a non-mapped address", text);
}

#ifdef __GLIBC__
static void compare_libc(const uint8_t *data, size_t size, const struct ip_addr *a, int rc)
{
    char s[64];
    uint8_t ref[16];

    if (size >= sizeof s || memchr(data, '\0', size))
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    int family = strchr(s, ':') ? AF_INET6 : AF_INET;
    int ok = inet_pton(family, s, ref) == 1;
    check(ok == (rc == 0), ok ? "inet_pton accepts, we reject" : "we accept, inet_pton rejects", s);
    if (!ok)
        return;
    check(memcmp(a->bytes, ref, family == AF_INET ? 4 : 16) == 0, "bytes differ from inet_pton", s);
    if (family == AF_INET6) {
        static const uint8_t zero12[12];
        char mine[46], theirs[INET6_ADDRSTRLEN];
        /* glibc prints ::a.b.c.d (deprecated IPv4-compatible) in dotted form */
        if (memcmp(a->bytes, zero12, 12) != 0 &&
            inet_ntop(AF_INET6, a->bytes, theirs, sizeof theirs)) {
            ip_format(a, mine);
            check(strcmp(mine, theirs) == 0, "text differs from inet_ntop", s);
        }
    }
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *why = NULL;
    struct ip_addr a;
    struct ip_cidr c;

    int rc = ip_parse(s, size, &a, &why);
    if (rc == 0)
        round_trip_addr(&a);
    else
        check(rc == -1 && why != NULL && why[0] != '\0', "failure without a reason", "addr");
#ifdef __GLIBC__
    compare_libc(data, size, &a, rc);
#endif

    why = NULL;
    rc = ip_cidr_parse(s, size, &c, &why);
    if (rc != 0) {
        check(rc == -1 && why != NULL && why[0] != '\0', "failure without a reason", "cidr");
        return 0;
    }
    unsigned max = c.addr.family == 4 ? 32 : 128;
    check(c.prefix <= max, "prefix out of range", "cidr");
    for (unsigned bit = c.prefix; bit < 128; bit++)
        check(!(c.addr.bytes[bit / 8] & (0x80 >> (bit % 8))), "host bit left set", "cidr");
    round_trip_addr(&c.addr);
    check(ip_cidr_contains(&c, &c.addr), "network does not contain itself", "cidr");

    char text[64];
    struct ip_cidr d;
    size_t n = ip_format(&c.addr, text);
    n += (size_t)snprintf(text + n, sizeof text - n, "/%u", (unsigned)c.prefix);
    check(ip_cidr_parse(text, n, &d, &why) == 0, "formatted CIDR does not parse", text);
    check(addr_eq(&c.addr, &d.addr) && c.prefix == d.prefix, "CIDR round trip changed", text);

    /* the parsed address of the CIDR text (with host bits) is inside it */
    const char *slash = memchr(s, '/', size);
    struct ip_addr host;
    check(slash && ip_parse(s, (size_t)(slash - s), &host, &why) == 0, "address part", text);
    check(ip_cidr_contains(&c, &host), "network does not contain its own host", text);
    return 0;
}
