/* The PROXY protocol parser on wire bytes: the v1 examples of HAProxy's
 * proxy-protocol.txt (2.1, the worst cases included), v2 headers built as
 * its section 2.2 lays them out, every prefix of each (0: need more),
 * trailing client bytes left alone, and each way to get a header wrong. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "net/proxy_header.h"

static long parse(const void *p, size_t len, struct proxy_header *h)
{
    /* a copy of exactly len bytes, so a read past them is ASan's to catch */
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, p, len);
    long r = proxy_header_parse(copy, len, h);
    free(copy);
    return r;
}

/* Every strict prefix needs more; the whole parses to its own length, also
 * with a request after it. */
static void whole(const char *name, const void *hdr, size_t len, struct proxy_header *h)
{
    int prefixes_ok = 1;
    for (size_t i = 0; i < len; i++)
        prefixes_ok &= parse(hdr, i, h) == 0;
    char what[200];
    snprintf(what, sizeof(what), "%s: every prefix needs more", name);
    TAP_OK(prefixes_ok, what);
    uint8_t with_request[2200];
    memcpy(with_request, hdr, len);
    memcpy(with_request + len, "GET / HTTP/1.1\r\n\r\n", 18);
    snprintf(what, sizeof(what), "%s: exactly the header is consumed", name);
    TAP_INT_EQ(parse(with_request, len + 18, h), (long)len, what);
}

static void v1_examples(void)
{
    struct proxy_header h;
    char ip[46];
    const char *tcp4 = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
    whole("v1 TCP4", tcp4, strlen(tcp4), &h);
    TAP_OK(h.version == 1 && h.has_address && h.src.family == 4, "v1 TCP4: an IPv4 source");
    ip_format(&h.src, ip);
    TAP_STR_EQ(ip, "192.168.0.1", "v1 TCP4 source address");
    ip_format(&h.dst, ip);
    TAP_STR_EQ(ip, "192.168.0.11", "v1 TCP4 destination address");
    TAP_OK(h.src_port == 56324 && h.dst_port == 443, "v1 TCP4 ports");

    const char *worst4 = "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
    whole("v1 TCP4 worst case", worst4, strlen(worst4), &h);
    const char *worst6 = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    TAP_INT_EQ(strlen(worst6), 104, "the TCP6 worst case is 104 bytes");
    whole("v1 TCP6 worst case", worst6, strlen(worst6), &h);
    TAP_OK(h.src.family == 6 && h.src_port == 65535, "v1 TCP6: an IPv6 source");

    const char *unknown = "PROXY UNKNOWN\r\n";
    whole("v1 UNKNOWN", unknown, strlen(unknown), &h);
    TAP_OK(h.version == 1 && !h.has_address, "v1 UNKNOWN keeps the TCP peer");
    const char *unknown_max = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    TAP_INT_EQ(strlen(unknown_max), PROXY_V1_MAX, "the UNKNOWN worst case is 107 bytes");
    whole("v1 UNKNOWN worst case", unknown_max, strlen(unknown_max), &h);
    TAP_OK(!h.has_address, "v1 UNKNOWN with addresses still keeps the TCP peer");
}

static void v1_errors(void)
{
    struct proxy_header h;
    static const struct {
        const char *bytes, *what;
        long err;
    } cases[] = {
        { "GET / HTTP/1.1\r\n", "a request without a header", PROXY_ERR_SIGNATURE },
        { "\x16\x03\x01\x02\x00\x01", "a TLS ClientHello", PROXY_ERR_SIGNATURE },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "a bare LF", PROXY_ERR_V1_SYNTAX },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "CR without LF", PROXY_ERR_V1_SYNTAX },
        { "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "an unknown protocol", PROXY_ERR_V1_SYNTAX },
        { "PROXY TCP4 ::1 ::1 1 2\r\n", "IPv6 addresses under TCP4", PROXY_ERR_V1_SYNTAX },
        { "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", "IPv4 addresses under TCP6", PROXY_ERR_V1_SYNTAX },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "a port over 65535", PROXY_ERR_V1_SYNTAX },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", "a port with a leading zero",
          PROXY_ERR_V1_SYNTAX },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "a trailing space", PROXY_ERR_V1_SYNTAX },
        { "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "two spaces", PROXY_ERR_V1_SYNTAX },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "a missing port", PROXY_ERR_V1_SYNTAX },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "an extra field", PROXY_ERR_V1_SYNTAX },
        { "PROXY TCP4 1.2.3.4/8 5.6.7.8 1 2\r\n", "a network, not an address",
          PROXY_ERR_V1_SYNTAX },
        { "PROXY \r\n", "no protocol", PROXY_ERR_V1_SYNTAX },
        { "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "lower-case PROXY", PROXY_ERR_SIGNATURE },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        TAP_INT_EQ(parse(cases[i].bytes, strlen(cases[i].bytes), &h), cases[i].err, cases[i].what);
    char line[200] = "PROXY UNKNOWN ";
    memset(line + 14, 'a', 92);
    memcpy(line + 106, "\r\n", 2);
    TAP_INT_EQ(parse(line, 108, &h), PROXY_ERR_V1_TOO_LONG, "a 108-byte line is too long");
    TAP_INT_EQ(parse(line, 107, &h), PROXY_ERR_V1_TOO_LONG,
               "107 bytes without the line's end are too long");
    TAP_INT_EQ(parse(line, 106, &h), 0, "106 bytes without CR may still end in time");
}

static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const void *addr, size_t alen)
{
    static const uint8_t sig[12] = "\r\n\r\n\0\r\nQUIT\n";
    memcpy(out, sig, 12);
    out[12] = ver_cmd;
    out[13] = fam;
    out[14] = (uint8_t)(alen >> 8);
    out[15] = (uint8_t)alen;
    if (alen)
        memcpy(out + 16, addr, alen);
    return 16 + alen;
}

static void v2_examples(void)
{
    struct proxy_header h;
    uint8_t b[2200], addr[2100] = { 0 };
    char ip[46];
    /* PROXY, AF_INET, STREAM: 203.0.113.7:40000 -> 192.0.2.1:443 */
    const uint8_t inet[12] = { 203, 0, 113, 7, 192, 0, 2, 1, 0x9c, 0x40, 0x01, 0xbb };
    size_t n = v2(b, 0x21, 0x11, inet, sizeof(inet));
    whole("v2 INET", b, n, &h);
    ip_format(&h.src, ip);
    TAP_STR_EQ(ip, "203.0.113.7", "v2 INET source");
    TAP_OK(h.version == 2 && h.has_address && h.src_port == 40000 && h.dst_port == 443,
           "v2 INET ports");

    memcpy(addr, inet, sizeof(inet));
    /* TLVs (PP2_TYPE_ALPN "h2", PP2_TYPE_AUTHORITY) after the addresses */
    const uint8_t tlvs[] = { 0x01, 0, 2, 'h', '2', 0x02, 0, 3, 'a', '.', 'b' };
    memcpy(addr + 12, tlvs, sizeof(tlvs));
    n = v2(b, 0x21, 0x11, addr, 12 + sizeof(tlvs));
    whole("v2 INET with TLVs", b, n, &h);
    TAP_OK(h.has_address && h.src_port == 40000, "TLVs are skipped");

    uint8_t inet6[36] = { 0x20, 0x01, 0x0d, 0xb8 };
    inet6[15] = 1;
    inet6[32] = 0x01;
    inet6[33] = 0x02;
    n = v2(b, 0x21, 0x21, inet6, sizeof(inet6));
    whole("v2 INET6", b, n, &h);
    ip_format(&h.src, ip);
    TAP_STR_EQ(ip, "2001:db8::1", "v2 INET6 source");
    TAP_INT_EQ(h.src_port, 0x0102, "v2 INET6 source port");

    n = v2(b, 0x20, 0x00, NULL, 0);
    whole("v2 LOCAL", b, n, &h);
    TAP_OK(h.version == 2 && !h.has_address, "LOCAL keeps the TCP peer");
    n = v2(b, 0x20, 0x11, inet, sizeof(inet));
    TAP_INT_EQ(parse(b, n, &h), (long)n, "LOCAL with addresses: skipped");
    TAP_OK(!h.has_address, "LOCAL ignores its addresses");
    n = v2(b, 0x21, 0x00, addr, 20);
    whole("v2 PROXY UNSPEC", b, n, &h);
    TAP_OK(!h.has_address, "UNSPEC keeps the TCP peer");
    n = v2(b, 0x21, 0x11, addr, PROXY_V2_MAX_ADDRESS);
    TAP_INT_EQ(parse(b, n, &h), (long)n, "an address block of 2048 bytes is accepted");
}

static void v2_errors(void)
{
    struct proxy_header h;
    uint8_t b[2200], addr[2100] = { 0 };
    static const struct {
        uint8_t ver_cmd, fam;
        size_t alen;
        long err;
        const char *what;
    } cases[] = {
        { 0x11, 0x11, 12, PROXY_ERR_V2_VERSION, "version 1 in a v2 header" },
        { 0x31, 0x11, 12, PROXY_ERR_V2_VERSION, "version 3" },
        { 0x22, 0x11, 12, PROXY_ERR_V2_COMMAND, "command 2" },
        { 0x21, 0x41, 12, PROXY_ERR_V2_FAMILY, "family 4" },
        { 0x21, 0x31, 216, PROXY_ERR_V2_FAMILY, "AF_UNIX is refused" },
        { 0x21, 0x13, 12, PROXY_ERR_V2_PROTOCOL, "transport protocol 3" },
        { 0x21, 0x11, 8, PROXY_ERR_V2_ADDRESS, "INET with 8 address bytes" },
        { 0x21, 0x21, 35, PROXY_ERR_V2_ADDRESS, "INET6 with 35 address bytes" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = v2(b, cases[i].ver_cmd, cases[i].fam, addr, cases[i].alen);
        TAP_INT_EQ(parse(b, n, &h), cases[i].err, cases[i].what);
    }
    v2(b, 0x21, 0x11, addr, 0);
    b[14] = 0x08;
    b[15] = 0x01;
    TAP_INT_EQ(parse(b, 16, &h), PROXY_ERR_V2_LENGTH,
               "an address block of 2049 bytes is refused before it arrives");
    b[14] = 0xff;
    b[15] = 0xff;
    TAP_INT_EQ(parse(b, 16, &h), PROXY_ERR_V2_LENGTH, "length 65535");
    memcpy(b, "\r\n\r\n\0\r\nQUIX", 12);
    TAP_INT_EQ(parse(b, 16, &h), PROXY_ERR_SIGNATURE, "a broken v2 signature");
    TAP_INT_EQ(parse("\r\n\r\nX", 5, &h), PROXY_ERR_SIGNATURE,
               "a signature prefix that goes wrong");
    TAP_STR_EQ(proxy_header_strerror(PROXY_ERR_SIGNATURE),
               "No valid PROXY protocol signature detected", "rpxy's message for no signature");
    TAP_STR_EQ(proxy_header_strerror(PROXY_ERR_V1_TOO_LONG),
               "PROXY v1 header exceeds maximum length", "rpxy's message for a long v1 line");
}

int main(void)
{
    v1_examples();
    v1_errors();
    v2_examples();
    v2_errors();
    return tap_done();
}
