/* Unit tests for src/log/access_line.c. */
#include "../tap.h"
#include "alog_fixture.h"
#include "log/access_line.h"
#include "util/ipaddr.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *fmt(const struct alog_fields *f, bool redact)
{
    static char buf[4096];
    alog_format(f, redact, buf, sizeof buf, NULL);
    return buf;
}

static void test_example(void)
{
    struct alog_fields f = example();
    char buf[512];
    bool trunc = true;
    size_t n = alog_format(&f, false, buf, sizeof buf, &trunc);
    const char *want =
        "example.com <- 192.168.1.1:8080 -- GET /path?query=value HTTP/1.1 -- 200 OK "
        "-- https://example.com/path \"Mozilla/5.0\", \"10.0.0.1\" "
        "\"https://backend.example.com/path?query=value\"";
    TAP_STR_EQ(buf, want, "SPEC example, byte for byte");
    TAP_INT_EQ(n, strlen(want), "length returned");
    TAP_OK(!trunc, "not truncated");

    f.forwarded = S("for=192.0.2.60;proto=http;by=203.0.113.43");
    TAP_STR_EQ(fmt(&f, false),
               "example.com <- 192.168.1.1:8080 -- GET /path?query=value HTTP/1.1 -- 200 OK -- "
               "https://example.com/path \"Mozilla/5.0\", \"10.0.0.1\" "
               "\"for=192.0.2.60;proto=http;by=203.0.113.43\" "
               "\"https://backend.example.com/path?query=value\"",
               "incoming Forwarded shown quoted after xff");
}

static void test_absent(void)
{
    struct alog_fields f = { .method = S("GET"), .version = ALOG_HTTP_11 };
    TAP_STR_EQ(fmt(&f, false), " <-  -- GET  HTTP/1.1 --  --  \"\", \"\" \"\"",
               "every optional field absent");
    f.forwarded = (struct alog_str){ "", 0 };
    f.user_agent = (struct alog_str){ "", 0 };
    TAP_STR_EQ(fmt(&f, true), " <-  -- GET  HTTP/1.1 --  --  \"\", \"\" \"\"",
               "empty (non-NULL) fields, Forwarded part omitted");

    /* origin-form HTTP/1.1: target is the path alone, without query */
    f = example();
    f.scheme = (struct alog_str){ NULL, 0 };
    f.path_and_query = S("/a/b?x=1");
    f.upstream = (struct alog_str){ NULL, 0 };
    f.status = 404;
    TAP_STR_EQ(fmt(&f, false),
               "example.com <- 192.168.1.1:8080 -- GET /a/b?x=1 HTTP/1.1 -- 404 Not Found -- /a/b "
               "\"Mozilla/5.0\", \"10.0.0.1\" \"\"",
               "origin-form: target is the path, upstream empty");

    /* a scheme without host: path alone */
    f = example();
    f.host = (struct alog_str){ NULL, 0 };
    TAP_OK(strstr(fmt(&f, false), "-- 200 OK -- /path \"") != NULL, "scheme without host: path");

    /* absolute URI without path */
    f = example();
    f.path_and_query = (struct alog_str){ NULL, 0 };
    TAP_OK(strstr(fmt(&f, false), "-- GET / HTTP/1.1 -- 200 OK -- https://example.com/ \"") != NULL,
           "absolute URI without path shows /");

    /* absolute URI with only a query */
    f.path_and_query = S("?q=1");
    TAP_OK(strstr(fmt(&f, false), "-- GET ?q=1 HTTP/1.1 -- 200 OK -- https://example.com/ \"") !=
               NULL,
           "absolute URI with only a query");

    /* authority-form CONNECT without scheme: empty path and target */
    f = example();
    f.scheme = (struct alog_str){ NULL, 0 };
    f.method = S("CONNECT");
    f.path_and_query = (struct alog_str){ NULL, 0 };
    f.status = 0;
    TAP_OK(strstr(fmt(&f, false), "-- CONNECT  HTTP/1.1 --  --  \"Mozilla") != NULL,
           "no path, no status");

    /* no client address */
    f = example();
    f.has_client = false;
    TAP_OK(strncmp(fmt(&f, false), "example.com <-  -- GET", 22) == 0, "client absent");
}

static void test_fields(void)
{
    struct alog_fields f = example();

    f.client_ip = addr("2001:db8::1");
    f.client_port = 443;
    TAP_OK(strncmp(fmt(&f, false), "example.com <- [2001:db8::1]:443 -- ", 36) == 0, "IPv6 client");
    f.client_ip = addr("::ffff:192.0.2.7");
    f.client_port = 5;
    TAP_OK(strncmp(fmt(&f, false), "example.com <- 192.0.2.7:5 -- ", 30) == 0,
           "IPv4-mapped client shown as IPv4");
    f.client_ip = addr("::1");
    f.client_port = 65535;
    TAP_OK(strncmp(fmt(&f, false), "example.com <- [::1]:65535 -- ", 30) == 0, "IPv6 loopback");

    static const struct {
        enum alog_version v;
        const char *text;
    } versions[] = { { ALOG_HTTP_10, " HTTP/1.0 " },
                     { ALOG_HTTP_11, " HTTP/1.1 " },
                     { ALOG_HTTP_2, " HTTP/2.0 " },
                     { ALOG_HTTP_3, " HTTP/3.0 " } };
    f = example();
    for (size_t i = 0; i < COUNT(versions); i++) {
        f.version = versions[i].v;
        TAP_OK(strstr(fmt(&f, false), versions[i].text) != NULL, versions[i].text);
    }

    static const struct {
        unsigned code;
        const char *text;
    } statuses[] = {
        { 101, "-- 101 Switching Protocols --" },
        { 103, "-- 103 Early Hints --" },
        { 203, "-- 203 Non Authoritative Information --" },
        { 301, "-- 301 Moved Permanently --" },
        { 413, "-- 413 Payload Too Large --" },
        { 418, "-- 418 I'm a teapot --" },
        { 421, "-- 421 Misdirected Request --" },
        { 425, "-- 425 <unknown status code> --" },
        { 502, "-- 502 Bad Gateway --" },
        { 503, "-- 503 Service Unavailable --" },
        { 599, "-- 599 <unknown status code> --" },
        { 999, "-- 999 <unknown status code> --" },
    };
    f = example();
    for (size_t i = 0; i < COUNT(statuses); i++) {
        f.status = statuses[i].code;
        TAP_OK(strstr(fmt(&f, false), statuses[i].text) != NULL, statuses[i].text);
    }

    int named = 0;
    for (unsigned c = 0; c < 1000; c++)
        if (alog_reason(c))
            named++;
    TAP_INT_EQ(named, 61, "61 codes have a canonical reason (http crate 1.4)");
    TAP_OK(alog_reason(306) == NULL && alog_reason(509) == NULL && alog_reason(99) == NULL,
           "306, 509, 99 unnamed");
    TAP_STR_EQ(alog_reason(511), "Network Authentication Required", "511");
    TAP_STR_EQ(alog_reason(226), "IM Used", "226");

    /* Host header verbatim, port kept */
    f = example();
    f.host = S("Example.COM:8443");
    f.scheme = (struct alog_str){ NULL, 0 };
    TAP_OK(strncmp(fmt(&f, false), "Example.COM:8443 <- ", 20) == 0, "host as sent");
}

struct redact_case {
    const char *in, *want;
};

static const struct redact_case redact_cases[] = {
    { "/reset?token=abc&email=a@b.com&flag",
      "/reset?token=<redacted>&email=<redacted>&<redacted>" },
    { "/path/to/resource", "/path/to/resource" },
    { "/p?", "/p?" },
    { "/p?&a=1", "/p?&a=<redacted>" },
    { "/p?a=1&", "/p?a=<redacted>&" },
    { "/p?a=1&&b", "/p?a=<redacted>&&<redacted>" },
    { "/p?&", "/p?&" },
    { "/p?&&", "/p?&&" },
    { "/p?a=&a=2&b=x", "/p?a=<redacted>&a=<redacted>&b=<redacted>" },
    { "/p?=v", "/p?=<redacted>" },
    { "/p?a=b=c", "/p?a=<redacted>" },
    { "/p??x=1", "/p??x=<redacted>" },
    { "/p?x%3D1", "/p?<redacted>" },
    { "?x=1", "?x=<redacted>" },
    { "", "" },
    { "http://127.0.0.1:9000/api?x=1", "http://127.0.0.1:9000/api?x=<redacted>" },
};

static void test_redaction(void)
{
    char buf[256];
    for (size_t i = 0; i < COUNT(redact_cases); i++) {
        const struct redact_case *c = &redact_cases[i];
        size_t n = alog_redact_query(c->in, strlen(c->in), buf, sizeof buf, NULL);
        TAP_STR_EQ(buf, c->want, c->in[0] ? c->in : "(empty)");
        if (n != strlen(c->want))
            TAP_OK(0, "redaction length");
    }

    struct alog_fields f = example();
    f.path_and_query = S("/reset?token=abc&email=a@b.com&flag");
    f.upstream = S("http://127.0.0.1:9000/reset?token=abc&email=a@b.com&flag");
    f.user_agent = S("ua?token=keep");
    f.xff = S("10.0.0.1?x=keep");
    f.forwarded = S("for=\"x?y=keep\"");
    TAP_STR_EQ(fmt(&f, true),
               "example.com <- 192.168.1.1:8080 -- GET /reset?token=<redacted>&email=<redacted>&"
               "<redacted> HTTP/1.1 -- 200 OK -- https://example.com/reset \"ua?token=keep\", "
               "\"10.0.0.1?x=keep\" \"for=\"x?y=keep\"\" "
               "\"http://127.0.0.1:9000/reset?token=<redacted>&email=<redacted>&<redacted>\"",
               "redacted line: path_and_query and upstream only");
    TAP_OK(strstr(fmt(&f, false), "token=abc&email=a@b.com&flag HTTP/1.1") != NULL,
           "redaction off: query kept");
}

static bool has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return true;
    return false;
}

static void test_escaping(void)
{
    struct alog_fields f = example();
    f.user_agent = S("evil\r\nexample.com <- 1.2.3.4:1 -- GET / HTTP/1.1");
    const char *line = fmt(&f, false);
    TAP_OK(strstr(line, "\"evil\\x0d\\x0aexample.com <- 1.2.3.4:1") != NULL, "CR LF escaped");
    TAP_OK(!has_ctl(line), "no control byte in the line");

    static const struct {
        const char *what;
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        { "tab escaped", "a\tb", 3, "a\\x09b" },
        { "ESC escaped", "\x1b[31mred", 8, "\\x1b[31mred" },
        { "DEL escaped", "del\x7f", 4, "del\\x7f" },
        { "NUL escaped", "nul\0x", 5, "nul\\x00x" },
        { "UTF-8 e-acute kept", "caf\xc3\xa9", 5, "caf\xc3\xa9" },
        { "UTF-8 3 and 4 bytes kept", "\xe2\x82\xac\xf0\x9f\x98\x80", 7,
          "\xe2\x82\xac\xf0\x9f\x98\x80" },
        { "invalid bytes escaped", "\xff\xfe", 2, "\\xff\\xfe" },
        { "C1 control U+0085 escaped", "c1\xc2\x85", 4, "c1\\xc2\\x85" },
        { "U+00A0 kept", "\xc2\xa0nbsp", 6, "\xc2\xa0nbsp" },
        { "cut UTF-8 sequence escaped", "cut\xe2\x82", 5, "cut\\xe2\\x82" },
        { "overlong form escaped", "\xc0\xaf", 2, "\\xc0\\xaf" },
        { "surrogate escaped", "\xed\xa0\x80", 3, "\\xed\\xa0\\x80" },
        { "above U+10FFFF escaped", "\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80" },
        { "8-bit CSI escaped",
          "\x9b"
          "2J",
          3, "\\x9b2J" },
        { "quote and backslash kept", "q\"\\x", 4, "q\"\\x" },
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char want[128];
        f = example();
        f.user_agent = (struct alog_str){ cases[i].in, cases[i].len };
        snprintf(want, sizeof want, " \"%s\", \"10.0.0.1\"", cases[i].want);
        TAP_OK(strstr(fmt(&f, false), want) != NULL, cases[i].what);
    }

    /* every field is escaped */
    f = example();
    f.host = S("h\n");
    f.method = S("G\nET");
    f.path_and_query = S("/a\nb?c=\nd");
    f.scheme = S("ht\ntp");
    f.xff = S("1\n");
    f.forwarded = S("for=\n");
    f.upstream = S("http://u/\n?k\n=v");
    line = fmt(&f, false);
    TAP_STR_EQ(line,
               "h\\x0a <- 192.168.1.1:8080 -- G\\x0aET /a\\x0ab?c=\\x0ad HTTP/1.1 -- 200 OK -- "
               "ht\\x0atp://h\\x0a/a\\x0ab \"Mozilla/5.0\", \"1\\x0a\" \"for=\\x0a\" "
               "\"http://u/\\x0a?k\\x0a=v\"",
               "newlines escaped in every field");
    line = fmt(&f, true);
    TAP_OK(strstr(line, "/a\\x0ab?c=<redacted> ") != NULL &&
               strstr(line, "\"http://u/\\x0a?k\\x0a=<redacted>\"") != NULL,
           "redacted keys escaped too");
}

/* Fields are copied eight bytes at a time: one byte out of printable ASCII
 * at any place of a field of any length, next to the range's edges. */
static void test_word_boundaries(void)
{
    static const unsigned char outside[] = { 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xfe, 0xff };
    static const char edges[] = " ~!}";
    int bad = 0, plain_bad = 0;
    for (size_t len = 1; len <= 40; len++) {
        char in[41], want[64], line[128];
        for (size_t i = 0; i < len; i++)
            in[i] = edges[i % 4];
        struct alog_fields f = { .user_agent = { in, len }, .version = ALOG_HTTP_11 };
        snprintf(want, sizeof want, "\"%.*s\"", (int)len, in);
        alog_format(&f, false, line, sizeof line, NULL);
        plain_bad += strstr(line, want) == NULL;
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t k = 0; k < COUNT(outside); k++) {
                char saved = in[pos];
                in[pos] = (char)outside[k];
                snprintf(want, sizeof want, "\"%.*s\\x%02x%.*s\"", (int)pos, in, outside[k],
                         (int)(len - pos - 1), in + pos + 1);
                alog_format(&f, false, line, sizeof line, NULL);
                bad += strstr(line, want) == NULL;
                in[pos] = saved;
            }
        }
    }
    TAP_INT_EQ(plain_bad, 0, "words: 0x20 and 0x7e kept, fields of 1 to 40 bytes");
    TAP_INT_EQ(bad, 0, "words: a byte outside escaped at each place of each length");
}

static void test_numbers(void)
{
    static const struct {
        const char *ip;
        unsigned port;
        const char *want;
    } clients[] = {
        { "0.0.0.0", 0, "example.com <- 0.0.0.0:0 -- " },
        { "255.255.255.255", 65535, "example.com <- 255.255.255.255:65535 -- " },
        { "10.200.3.45", 9, "example.com <- 10.200.3.45:9 -- " },
        { "1.20.100.9", 10, "example.com <- 1.20.100.9:10 -- " },
        { "9.99.199.0", 99, "example.com <- 9.99.199.0:99 -- " },
        { "::ffff:100.0.10.1", 100, "example.com <- 100.0.10.1:100 -- " },
        { "fe80::1", 1000, "example.com <- [fe80::1]:1000 -- " },
        { "2001:db8::2", 10000, "example.com <- [2001:db8::2]:10000 -- " },
    };
    struct alog_fields f = example();
    for (size_t i = 0; i < COUNT(clients); i++) {
        f.client_ip = addr(clients[i].ip);
        f.client_port = (uint16_t)clients[i].port;
        const char *line = fmt(&f, false);
        TAP_OK(strncmp(line, clients[i].want, strlen(clients[i].want)) == 0, clients[i].want);
    }

    static const struct {
        unsigned code;
        const char *text;
    } statuses[] = {
        { 7, "-- 7 <unknown status code> --" },
        { 1000, "-- 1000 <unknown status code> --" },
        { 65536, "-- 65536 <unknown status code> --" },
        { 4294967295u, "-- 4294967295 <unknown status code> --" },
    };
    f = example();
    for (size_t i = 0; i < COUNT(statuses); i++) {
        f.status = statuses[i].code;
        TAP_OK(strstr(fmt(&f, false), statuses[i].text) != NULL, statuses[i].text);
    }
}

/* The part before "..." must be a prefix of the full line that ends on a
 * unit boundary: not inside an escape, not inside a UTF-8 sequence. */
static bool clean_cut(const char *full, const char *got, size_t n)
{
    if (strncmp(full, got, n) != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (got[i] == '\\' && i + 4 > n)
            return false;
    }
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)got[i];
        size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (i + len > n)
            return false;
        i += len;
    }
    return true;
}

static void test_truncation(void)
{
    struct alog_fields f = example();
    f.user_agent = S("caf\xc3\xa9 \r\n \xf0\x9f\x98\x80 end");
    char full[1024], buf[1024];
    size_t full_len = alog_format(&f, true, full, sizeof full, NULL);
    int bad = 0, bad_flag = 0, bad_cut = 0, bad_short = 0;
    for (size_t cap = 1; cap <= full_len + 2; cap++) {
        bool trunc = false;
        memset(buf, '#', sizeof buf);
        size_t n = alog_format(&f, true, buf, cap, &trunc);
        if (n != strlen(buf) || n >= cap || buf[cap] != '#')
            bad++;
        if (trunc != (cap <= full_len))
            bad_flag++;
        if (!trunc) {
            if (strcmp(buf, full) != 0)
                bad++;
            continue;
        }
        size_t dots = cap - 1 < 3 ? cap - 1 : 3;
        if (n < dots || strncmp(buf + n - dots, "...", dots) != 0)
            bad++;
        else if (!clean_cut(full, buf, n - dots))
            bad_cut++;
        else if (cap - 1 - n >= 4) /* a unit of up to 4 bytes would have fit */
            bad_short++;
    }
    TAP_INT_EQ(bad, 0, "truncation: NUL-terminated, within cap, ends with ...");
    TAP_INT_EQ(bad_flag, 0, "truncation: flag set exactly when cut");
    TAP_INT_EQ(bad_cut, 0, "truncation: cut on a character or escape boundary");
    TAP_INT_EQ(bad_short, 0, "truncation: no shorter than the last whole unit");

    bool trunc = false;
    size_t n = alog_format(&f, false, buf, 20, &trunc);
    TAP_STR_EQ(buf, "example.com <- 1...", "truncation: 20-byte buffer");
    TAP_INT_EQ(n, 19, "truncation: 19 bytes written");
    TAP_OK(trunc, "truncation: flagged");
    buf[0] = '#';
    TAP_INT_EQ(alog_format(&f, false, buf, 0, &trunc), 0, "truncation: cap 0 writes nothing");
    TAP_OK(trunc && buf[0] == '#', "truncation: cap 0 flagged, buffer untouched");
    alog_format(&f, false, buf, 3, &trunc);
    TAP_STR_EQ(buf, "..", "truncation: tiny buffer");

    n = alog_redact_query("/p?a=1&b=2", 10, buf, 10, &trunc);
    TAP_STR_EQ(buf, "/p?a=<...", "redact: truncated");
    TAP_OK(trunc && n == 9, "redact: truncation flagged");
}

int main(void)
{
    test_example();
    test_absent();
    test_fields();
    test_redaction();
    test_escaping();
    test_word_boundaries();
    test_numbers();
    test_truncation();
    return tap_done();
}
