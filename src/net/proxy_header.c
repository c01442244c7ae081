#include "net/proxy_header.h"

#include <string.h>

static const uint8_t v2_signature[12] = { '\r', '\n', '\r', '\n', 0,   '\r',
                                          '\n', 'Q',  'U',  'I',  'T', '\n' };
static const char v1_prefix[] = "PROXY ";

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* A decimal port: 1 to 5 digits, no leading zero (but "0"), at most 65535. */
static bool parse_port(const char *s, size_t n, uint16_t *out)
{
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

/* The next space-separated field of line[*at..end); false when absent. */
static bool field(const char *line, size_t end, size_t *at, const char **f, size_t *n)
{
    size_t i = *at;
    if (i >= end)
        return false;
    size_t j = i;
    while (j < end && line[j] != ' ')
        j++;
    *f = line + i;
    *n = j - i;
    *at = j < end ? j + 1 : j;
    return *n > 0;
}

/* "PROXY TCP4 src dst sport dport" or "PROXY UNKNOWN[ anything]" (the
 * line without its CRLF, n bytes). */
static bool parse_v1_line(const char *line, size_t n, struct proxy_header *out)
{
    size_t at = sizeof(v1_prefix) - 1;
    const char *f;
    size_t fn;
    if (!field(line, n, &at, &f, &fn))
        return false;
    if (fn == 7 && !memcmp(f, "UNKNOWN", 7))
        return true;
    uint8_t family;
    if (fn == 4 && !memcmp(f, "TCP4", 4))
        family = 4;
    else if (fn == 4 && !memcmp(f, "TCP6", 4))
        family = 6;
    else
        return false;
    const char *why;
    if (!field(line, n, &at, &f, &fn) || ip_parse(f, fn, &out->src, &why) != 0 ||
        out->src.family != family)
        return false;
    if (!field(line, n, &at, &f, &fn) || ip_parse(f, fn, &out->dst, &why) != 0 ||
        out->dst.family != family)
        return false;
    if (!field(line, n, &at, &f, &fn) || !parse_port(f, fn, &out->src_port))
        return false;
    /* the last field ends the line: no trailing space */
    if (!field(line, n, &at, &f, &fn) || f + fn != line + n || line[n - 1] == ' ' ||
        !parse_port(f, fn, &out->dst_port))
        return false;
    out->has_address = true;
    return true;
}

static long parse_v1(const uint8_t *p, size_t len, struct proxy_header *out)
{
    size_t scan = min_size(len, PROXY_V1_MAX);
    for (size_t i = sizeof(v1_prefix) - 1; i < scan; i++) {
        if (p[i] == '\n')
            return PROXY_ERR_V1_SYNTAX; /* a bare LF */
        if (p[i] != '\r')
            continue;
        if (i + 2 > PROXY_V1_MAX)
            return PROXY_ERR_V1_TOO_LONG;
        if (i + 1 == len)
            return 0;
        if (p[i + 1] != '\n')
            return PROXY_ERR_V1_SYNTAX;
        out->version = 1;
        return parse_v1_line((const char *)p, i, out) ? (long)(i + 2) : PROXY_ERR_V1_SYNTAX;
    }
    return len >= PROXY_V1_MAX ? PROXY_ERR_V1_TOO_LONG : 0;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static long parse_v2(const uint8_t *p, size_t len, struct proxy_header *out)
{
    if (len < PROXY_V2_FIXED)
        return 0;
    uint8_t version = p[12] >> 4, command = p[12] & 0x0f;
    uint8_t family = p[13] >> 4, protocol = p[13] & 0x0f;
    size_t alen = be16(p + 14);
    if (version != 2)
        return PROXY_ERR_V2_VERSION;
    if (command > 1)
        return PROXY_ERR_V2_COMMAND;
    if (family > 3)
        return PROXY_ERR_V2_FAMILY;
    if (protocol > 2)
        return PROXY_ERR_V2_PROTOCOL;
    if (alen > PROXY_V2_MAX_ADDRESS)
        return PROXY_ERR_V2_LENGTH;
    if (len < PROXY_V2_FIXED + alen)
        return 0;
    out->version = 2;
    long total = (long)(PROXY_V2_FIXED + alen);
    if (command == 0 || family == 0) /* LOCAL, or PROXY with UNSPEC: keep the peer */
        return total;
    if (family == 3)
        return PROXY_ERR_V2_FAMILY; /* AF_UNIX: no address a client could have */
    const uint8_t *a = p + PROXY_V2_FIXED;
    size_t ip_len = family == 1 ? 4 : 16;
    if (alen < 2 * ip_len + 4)
        return PROXY_ERR_V2_ADDRESS;
    out->src.family = out->dst.family = family == 1 ? 4 : 6;
    memcpy(out->src.bytes, a, ip_len);
    memcpy(out->dst.bytes, a + ip_len, ip_len);
    out->src_port = be16(a + 2 * ip_len);
    out->dst_port = be16(a + 2 * ip_len + 2);
    out->has_address = true; /* TLVs after the addresses are skipped */
    return total;
}

long proxy_header_parse(const uint8_t *p, size_t len, struct proxy_header *out)
{
    memset(out, 0, sizeof(*out));
    size_t n = min_size(len, sizeof(v2_signature));
    if (memcmp(p, v2_signature, n) == 0)
        return n < sizeof(v2_signature) ? 0 : parse_v2(p, len, out);
    n = min_size(len, sizeof(v1_prefix) - 1);
    if (memcmp(p, v1_prefix, n) == 0)
        return n < sizeof(v1_prefix) - 1 ? 0 : parse_v1(p, len, out);
    return PROXY_ERR_SIGNATURE;
}

const char *proxy_header_strerror(long err)
{
    switch (err) {
    case PROXY_ERR_SIGNATURE: return "No valid PROXY protocol signature detected";
    case PROXY_ERR_V1_TOO_LONG: return "PROXY v1 header exceeds maximum length";
    case PROXY_ERR_V1_SYNTAX: return "Invalid PROXY v1 header";
    case PROXY_ERR_V2_VERSION: return "Invalid PROXY v2 version";
    case PROXY_ERR_V2_COMMAND: return "Invalid PROXY v2 command";
    case PROXY_ERR_V2_FAMILY: return "Unsupported PROXY v2 address family";
    case PROXY_ERR_V2_LENGTH: return "PROXY v2 address block exceeds maximum length";
    case PROXY_ERR_V2_ADDRESS: return "PROXY v2 address block too short for its family";
    case PROXY_ERR_V2_PROTOCOL: return "Invalid PROXY v2 transport protocol";
    }
    return "Invalid PROXY header";
}
