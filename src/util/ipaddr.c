/* IP address and CIDR parsing, formatting (RFC 5952) and matching. */
#include "util/ipaddr.h"

#include <string.h>

/* Fails the enclosing parser with a reason; why may be NULL. */
#define IP_ERR(msg)                                                                                \
    do {                                                                                           \
        if (why)                                                                                   \
            *why = (msg);                                                                          \
        return -1;                                                                                 \
    } while (0)

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Dotted quad, four decimal octets; "0" is fine but "00" or "01" are not
 * (other parsers read those as octal). */
static int parse_v4(const char *s, size_t len, uint8_t out[4], const char **why)
{
    size_t pos = 0;

    for (int i = 0; i < 4; i++) {
        if (i > 0) {
            if (pos >= len || s[pos] != '.')
                IP_ERR("invalid IPv4 address");
            pos++;
        }
        size_t start = pos;
        unsigned val = 0;
        while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
            if (pos - start < 4)
                val = val * 10 + (unsigned)(s[pos] - '0');
            pos++;
        }
        size_t ndig = pos - start;
        if (ndig == 0)
            IP_ERR("invalid IPv4 address");
        if (ndig > 1 && s[start] == '0')
            IP_ERR("leading zero in IPv4 octet");
        if (ndig > 3 || val > 255)
            IP_ERR("IPv4 octet out of range");
        out[i] = (uint8_t)val;
    }
    if (pos != len)
        IP_ERR("invalid IPv4 address");
    return 0;
}

/* One side of an IPv6 address (all of it, or the part before or after "::"):
 * colon-separated groups of 1-4 hex digits; the last group may be a dotted
 * IPv4 address when tail_ok. Writes 2 bytes per group to out (room for 8
 * groups) and the group count to *n. */
static int parse_v6_side(const char *s, size_t len, bool tail_ok, uint8_t out[16], size_t *n,
                         const char **why)
{
    size_t pos = 0, groups = 0;

    *n = 0;
    if (len == 0)
        return 0;
    for (;;) {
        size_t end = pos;
        bool dotted = false;
        while (end < len && s[end] != ':') {
            if (s[end] == '.')
                dotted = true;
            end++;
        }
        if (end == pos)
            IP_ERR("invalid IPv6 address");
        if (dotted) {
            if (!tail_ok || end != len)
                IP_ERR("invalid IPv6 address");
            if (groups + 2 > 8)
                IP_ERR("too many IPv6 groups");
            if (parse_v4(s + pos, end - pos, out + 2 * groups, why) < 0)
                return -1;
            groups += 2;
        } else {
            unsigned val = 0;
            for (size_t i = pos; i < end; i++) {
                int h = hexval(s[i]);
                if (h < 0)
                    IP_ERR("invalid IPv6 address");
                val = (val << 4 | (unsigned)h) & 0xffffu;
            }
            if (end - pos > 4)
                IP_ERR("IPv6 group has more than 4 hex digits");
            if (groups + 1 > 8)
                IP_ERR("too many IPv6 groups");
            out[2 * groups] = (uint8_t)(val >> 8);
            out[2 * groups + 1] = (uint8_t)val;
            groups++;
        }
        if (end == len)
            break;
        pos = end + 1; /* an empty group after a trailing ':' fails above */
    }
    *n = groups;
    return 0;
}

static int parse_v6(const char *s, size_t len, uint8_t out[16], const char **why)
{
    uint8_t head[16], tail[16];
    size_t nhead = 0, ntail = 0, dc = len;

    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] == ':' && s[i + 1] == ':') {
            dc = i;
            break;
        }
    }
    if (dc == len) {
        if (parse_v6_side(s, len, true, head, &nhead, why) < 0)
            return -1;
        if (nhead < 8)
            IP_ERR("too few IPv6 groups");
        memcpy(out, head, 16);
        return 0;
    }

    const char *rest = s + dc + 2;
    size_t rlen = len - dc - 2;
    for (size_t i = 0; i + 1 < rlen; i++) {
        if (rest[i] == ':' && rest[i + 1] == ':')
            IP_ERR("more than one '::'");
    }
    if (parse_v6_side(s, dc, false, head, &nhead, why) < 0 ||
        parse_v6_side(rest, rlen, true, tail, &ntail, why) < 0)
        return -1;
    /* "::" stands for at least one zero group (RFC 4291 section 2.2). */
    if (nhead + ntail > 7)
        IP_ERR("too many IPv6 groups");
    memset(out, 0, 16);
    memcpy(out, head, 2 * nhead);
    memcpy(out + 16 - 2 * ntail, tail, 2 * ntail);
    return 0;
}

int ip_parse(const char *s, size_t len, struct ip_addr *out, const char **why)
{
    struct ip_addr a;
    bool colon = false;

    memset(&a, 0, sizeof a);
    if (len == 0)
        IP_ERR("empty address");
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '[' || s[i] == ']')
            IP_ERR("brackets not allowed");
        if (s[i] == '%')
            IP_ERR("zone id not allowed");
        if (s[i] == ':')
            colon = true;
    }
    if (colon) {
        a.family = 6;
        if (parse_v6(s, len, a.bytes, why) < 0)
            return -1;
    } else {
        a.family = 4;
        if (parse_v4(s, len, a.bytes, why) < 0)
            return -1;
    }
    *out = a;
    return 0;
}

int ip_cidr_parse(const char *s, size_t len, struct ip_cidr *out, const char **why)
{
    const char *slash = len ? memchr(s, '/', len) : NULL;
    struct ip_cidr c;

    if (!slash)
        IP_ERR("missing /prefix length");
    size_t alen = (size_t)(slash - s);
    if (ip_parse(s, alen, &c.addr, why) < 0)
        return -1;

    const char *p = slash + 1;
    size_t plen = len - alen - 1;
    unsigned max = c.addr.family == 4 ? 32 : 128, val = 0;
    if (plen == 0 || (plen > 1 && p[0] == '0'))
        IP_ERR("invalid prefix length");
    for (size_t i = 0; i < plen; i++) {
        if (p[i] < '0' || p[i] > '9')
            IP_ERR("invalid prefix length");
        if (i < 4)
            val = val * 10 + (unsigned)(p[i] - '0');
    }
    if (plen > 3 || val > max)
        IP_ERR("prefix length out of range");
    c.prefix = (uint8_t)val;

    /* Clear host bits: whole bytes past the prefix, then the partial byte. */
    for (unsigned bit = 0; bit < 128; bit += 8) {
        if (bit >= val)
            c.addr.bytes[bit / 8] = 0;
        else if (val - bit < 8)
            c.addr.bytes[bit / 8] &= (uint8_t)(0xff00u >> (val - bit));
    }
    *out = c;
    return 0;
}

static bool is_mapped(const struct ip_addr *a)
{
    static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return a->family == 6 && memcmp(a->bytes, pfx, sizeof pfx) == 0;
}

struct ip_addr ip_unmap(struct ip_addr a)
{
    if (is_mapped(&a)) {
        struct ip_addr v4;
        memset(&v4, 0, sizeof v4);
        v4.family = 4;
        memcpy(v4.bytes, a.bytes + 12, 4);
        return v4;
    }
    return a;
}

bool ip_cidr_contains(const struct ip_cidr *net, const struct ip_addr *a)
{
    struct ip_addr x = *a;

    /* An IPv4-mapped peer (dual-stack socket) matches IPv4 networks. */
    if (net->addr.family == 4 && x.family == 6)
        x = ip_unmap(x);
    if (net->addr.family != x.family || (x.family != 4 && x.family != 6))
        return false;

    unsigned bits = net->prefix, max = x.family == 4 ? 32 : 128;
    if (bits > max)
        bits = max;
    if (memcmp(net->addr.bytes, x.bytes, bits / 8) != 0)
        return false;
    if (bits % 8) {
        uint8_t mask = (uint8_t)(0xff00u >> (bits % 8));
        if ((net->addr.bytes[bits / 8] ^ x.bytes[bits / 8]) & mask)
            return false;
    }
    return true;
}

static size_t put_dec(char *out, unsigned v)
{
    size_t n = 0;
    if (v >= 100)
        out[n++] = (char)('0' + v / 100);
    if (v >= 10)
        out[n++] = (char)('0' + v / 10 % 10);
    out[n++] = (char)('0' + v % 10);
    return n;
}

static size_t put_v4(char *out, const uint8_t b[4])
{
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        if (i)
            out[n++] = '.';
        n += put_dec(out + n, b[i]);
    }
    return n;
}

size_t ip_format(const struct ip_addr *a, char out[46])
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    if (a->family == 4) {
        n = put_v4(out, a->bytes);
        out[n] = '\0';
        return n;
    }
    if (a->family != 6) {
        out[0] = '\0';
        return 0;
    }
    if (is_mapped(a)) {
        memcpy(out, "::ffff:", 7);
        n = 7 + put_v4(out + 7, a->bytes + 12);
        out[n] = '\0';
        return n;
    }

    unsigned g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (unsigned)a->bytes[2 * i] << 8 | a->bytes[2 * i + 1];

    /* Longest run of two or more zero groups; the first one on a tie. */
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }

    for (int i = 0; i < 8; i++) {
        if (i == best) {
            out[n++] = ':';
            out[n++] = ':';
            i += best_len - 1;
            continue;
        }
        if (i > 0 && i != best + best_len)
            out[n++] = ':';
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            unsigned d = g[i] >> shift & 0xf;
            if (d || started || shift == 0) {
                out[n++] = hex[d];
                started = true;
            }
        }
    }
    out[n] = '\0';
    return n;
}
