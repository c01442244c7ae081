/* Unit tests for src/http/h1_parser.c. Every input is parsed from right
 * before a PROT_NONE page, so reading one byte past the given length
 * crashes; every prefix of every input is parsed too. */
#include "../tap.h"
#include "http/h1_parser.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAXH 16
static struct http_field hdrs[MAXH];
static const struct h1_limits lim = { 1024, 8192, MAXH };
static struct h1_request rq;
static struct h1_response rs;

/* ---- guard page ---- */

#define GUARD_ROOM (2u << 20) /* room for the 1 MB request line test */
static char *guard_end;       /* first byte of the PROT_NONE page */

static void guard_setup(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *m =
        mmap(NULL, GUARD_ROOM + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + GUARD_ROOM, page, PROT_NONE) != 0) {
        perror("guard page");
        exit(2);
    }
    guard_end = m + GUARD_ROOM;
}

/* Copies s[0..n) so that it ends right before the guard page. */
static const char *at_guard(const char *s, size_t n)
{
    char *d = guard_end - n;
    memmove(d, s, n);
    return d;
}

/* ---- helpers ---- */

static const char *esc(const char *s, size_t n)
{
    static char out[100];
    size_t o = 0, i;
    for (i = 0; i < n && o < sizeof(out) - 8; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n') {
            out[o++] = '\\';
            out[o++] = c == '\r' ? 'r' : 'n';
        } else if (c < 0x20 || c >= 0x7f) {
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    if (i < n)
        out[o++] = '.', out[o++] = '.', out[o++] = '.';
    out[o] = '\0';
    return out;
}

static int span_eq(const char *p, size_t n, const char *want)
{
    return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

static int preq_lim(const char *s, size_t n, const struct h1_limits *l)
{
    return h1_parse_request(at_guard(s, n), n, l, hdrs, &rq);
}

static int preq(const char *s)
{
    return preq_lim(s, strlen(s), &lim);
}

static int pres_lim(const char *s, size_t n, const struct h1_limits *l, unsigned req_flags)
{
    return h1_parse_response(at_guard(s, n), n, l, req_flags, hdrs, &rs);
}

static int pres(const char *s, unsigned req_flags)
{
    return pres_lim(s, strlen(s), &lim, req_flags);
}

/* Every proper prefix of s[0..n) must give H1_INCOMPLETE or, for an
 * invalid message, the same error; one past a complete head gives it too. */
static void check_prefixes(int is_request, const char *s, size_t n, const struct h1_limits *l,
                           unsigned req_flags)
{
    int full = is_request ? preq_lim(s, n, l) : pres_lim(s, n, l, req_flags);
    int st = is_request ? rq.err_status : rs.err_status;
    const char *why = is_request ? rq.err_reason : rs.err_reason;
    size_t bad = SIZE_MAX;
    for (size_t k = 0; k < n && bad == SIZE_MAX; k++) {
        int r = is_request ? preq_lim(s, k, l) : pres_lim(s, k, l, req_flags);
        int st2 = is_request ? rq.err_status : rs.err_status;
        const char *why2 = is_request ? rq.err_reason : rs.err_reason;
        int ok;
        if (full > 0)
            ok = (int)k < full ? r == H1_INCOMPLETE : r == full;
        else if (full == H1_INCOMPLETE)
            ok = r == H1_INCOMPLETE;
        else
            ok = r == H1_INCOMPLETE ||
                 (r == H1_ERROR && st2 == st && why2 && why && strcmp(why2, why) == 0);
        if (!ok)
            bad = k;
    }
    char what[160];
    snprintf(what, sizeof(what), "every prefix of %s %s", is_request ? "request" : "response",
             esc(s, n));
    TAP_OK(bad == SIZE_MAX, what);
    if (bad != SIZE_MAX)
        printf("#   prefix of length %zu disagrees with the whole (%d)\n", bad, full);
}

struct bad {
    const char *in;
    size_t len;
    int status;
    const char *reason;
};
#define BAD(s, st, why)                                                                            \
    {                                                                                              \
        s, sizeof(s) - 1, st, why                                                                  \
    }

static void check_req_error(const struct bad *b)
{
    char what[200];
    int r = preq_lim(b->in, b->len, &lim);
    int pass = r == H1_ERROR && rq.err_status == b->status && rq.err_reason &&
               strcmp(rq.err_reason, b->reason) == 0;
    snprintf(what, sizeof(what), "request %s -> %d %s", esc(b->in, b->len), b->status, b->reason);
    TAP_OK(pass, what);
    if (!pass)
        printf("#   got %d, %d \"%s\"\n", r, rq.err_status,
               rq.err_reason ? rq.err_reason : "(null)");
    check_prefixes(1, b->in, b->len, &lim, 0);
}

static void check_res_error(const struct bad *b, unsigned req_flags)
{
    char what[200];
    int r = pres_lim(b->in, b->len, &lim, req_flags);
    int pass = r == H1_ERROR && rs.err_status == 502 && rs.err_reason &&
               strcmp(rs.err_reason, b->reason) == 0;
    snprintf(what, sizeof(what), "response %s -> 502 %s", esc(b->in, b->len), b->reason);
    TAP_OK(pass, what);
    if (!pass)
        printf("#   got %d, %d \"%s\"\n", r, rs.err_status,
               rs.err_reason ? rs.err_reason : "(null)");
    check_prefixes(0, b->in, b->len, &lim, req_flags);
}

/* Parses a request that must be accepted whole; returns 1 if it was. */
static int req_ok(const char *s, const char *what)
{
    size_t n = strlen(s);
    check_prefixes(1, s, n, &lim, 0);
    int r = preq(s);
    char w[200];
    snprintf(w, sizeof(w), "%s: accepted", what);
    TAP_INT_EQ(r, (int)n, w);
    if (r < 0)
        printf("#   %d \"%s\"\n", rq.err_status, rq.err_reason ? rq.err_reason : "(null)");
    return r == (int)n;
}

static int res_ok(const char *s, unsigned req_flags, const char *what)
{
    size_t n = strlen(s);
    check_prefixes(0, s, n, &lim, req_flags);
    int r = pres(s, req_flags);
    char w[200];
    snprintf(w, sizeof(w), "%s: accepted", what);
    TAP_INT_EQ(r, (int)n, w);
    if (r < 0)
        printf("#   \"%s\"\n", rs.err_reason ? rs.err_reason : "(null)");
    return r == (int)n;
}

#define RL "GET / HTTP/1.1\r\n"
#define HOST "Host: a\r\n"

/* ---- requests: accepted ---- */

static void test_request_basics(void)
{
    if (req_ok("GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
               "origin-form")) {
        TAP_OK(span_eq(rq.method, rq.method_len, "GET"), "method");
        TAP_OK(span_eq(rq.target, rq.target_len, "/index.html?x=1"), "target");
        TAP_INT_EQ(rq.form, H1_TARGET_ORIGIN, "origin-form reported");
        TAP_OK(span_eq(rq.path, rq.path_len, "/index.html?x=1"), "origin-form path");
        TAP_OK(rq.authority == NULL, "origin-form has no authority");
        TAP_INT_EQ(rq.minor_version, 1, "minor version 1");
        TAP_INT_EQ(rq.num_headers, 2, "two headers");
        TAP_OK(span_eq(hdrs[0].name, hdrs[0].name_len, "Host") &&
                   span_eq(hdrs[0].value, hdrs[0].value_len, "example.com"),
               "first header");
        TAP_OK(span_eq(hdrs[1].name, hdrs[1].name_len, "Accept") &&
                   span_eq(hdrs[1].value, hdrs[1].value_len, "*/*"),
               "second header");
        TAP_OK(span_eq(rq.host, rq.host_len, "example.com"), "Host reported");
        TAP_INT_EQ(rq.body, H1_BODY_NONE, "no body");
        TAP_INT_EQ(rq.flags, H1_F_KEEP_ALIVE, "HTTP/1.1 defaults to keep-alive");
    }
    if (req_ok("\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n", "leading empty lines skipped"))
        TAP_OK(span_eq(rq.method, rq.method_len, "GET"), "method after empty lines");
    if (req_ok("GET / HTTP/1.0\r\n\r\n", "HTTP/1.0 without Host")) {
        TAP_INT_EQ(rq.minor_version, 0, "minor version 0");
        TAP_OK(rq.host == NULL, "no Host");
        TAP_INT_EQ(rq.flags & H1_F_KEEP_ALIVE, 0, "HTTP/1.0 defaults to close");
    }
    if (req_ok("M-SEARCH! /caf%C3%A9?a=\"b\"&c={d}|~ HTTP/1.1\r\n" HOST "\r\n",
               "token method and VCHARs in target")) {
        TAP_OK(span_eq(rq.method, rq.method_len, "M-SEARCH!"), "token method");
        TAP_OK(span_eq(rq.target, rq.target_len, "/caf%C3%A9?a=\"b\"&c={d}|~"), "raw target");
    }
    if (req_ok(RL HOST "X-A:  two  words \t\r\nX-B:\r\nX-C:\t\r\nX-D: a\tb\x80\xff\r\n\r\n",
               "field values")) {
        TAP_OK(span_eq(hdrs[1].value, hdrs[1].value_len, "two  words"), "OWS trimmed");
        TAP_INT_EQ(hdrs[2].value_len, 0, "empty value");
        TAP_INT_EQ(hdrs[3].value_len, 0, "whitespace-only value is empty");
        TAP_OK(span_eq(hdrs[4].value, hdrs[4].value_len, "a\tb\x80\xff"), "HTAB and obs-text");
    }
    if (req_ok("GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09AZaz: x\r\n" HOST "\r\n",
               "every tchar in a field name"))
        TAP_INT_EQ(hdrs[0].name_len, 21, "name length");
}

static void test_request_forms(void)
{
    if (req_ok("GET http://example.com:8080/a/b?c HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
               "absolute-form")) {
        TAP_INT_EQ(rq.form, H1_TARGET_ABSOLUTE, "absolute-form reported");
        TAP_OK(span_eq(rq.authority, rq.authority_len, "example.com:8080"), "authority");
        TAP_OK(span_eq(rq.path, rq.path_len, "/a/b?c"), "path and query");
    }
    if (req_ok("GET HTTPS://Example.com HTTP/1.1\r\n" HOST "\r\n", "absolute-form without path")) {
        TAP_OK(span_eq(rq.authority, rq.authority_len, "Example.com"), "authority, no path");
        TAP_OK(span_eq(rq.path, rq.path_len, "/"), "empty path reported as /");
    }
    if (req_ok("GET http://[2001:db8::1]:443/x HTTP/1.1\r\n" HOST "\r\n", "IPv6 literal"))
        TAP_OK(span_eq(rq.authority, rq.authority_len, "[2001:db8::1]:443"), "IPv6 authority");
    if (req_ok("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
               "authority-form")) {
        TAP_INT_EQ(rq.form, H1_TARGET_AUTHORITY, "authority-form reported");
        TAP_OK(span_eq(rq.authority, rq.authority_len, "example.com:443"), "CONNECT authority");
        TAP_OK(rq.path == NULL, "authority-form has no path");
    }
    if (req_ok("CONNECT [::1]:8443 HTTP/1.1\r\n" HOST "\r\n", "authority-form IPv6"))
        TAP_INT_EQ(rq.form, H1_TARGET_AUTHORITY, "IPv6 authority-form");
    if (req_ok("OPTIONS * HTTP/1.1\r\n" HOST "\r\n", "asterisk-form")) {
        TAP_INT_EQ(rq.form, H1_TARGET_ASTERISK, "asterisk-form reported");
        TAP_OK(span_eq(rq.path, rq.path_len, "*"), "asterisk path");
    }
    if (req_ok("OPTIONS /x HTTP/1.1\r\n" HOST "\r\n", "OPTIONS origin-form"))
        TAP_INT_EQ(rq.form, H1_TARGET_ORIGIN, "OPTIONS with a path");
}

static void test_request_fields(void)
{
    if (req_ok(RL HOST "Content-Length: 5\r\n\r\n", "Content-Length")) {
        TAP_INT_EQ(rq.body, H1_BODY_LENGTH, "length body");
        TAP_INT_EQ(rq.content_length, 5, "length 5");
        TAP_OK(rq.flags & H1_F_CONTENT_LENGTH, "CL flag");
    }
    if (req_ok(RL HOST "Content-Length: 5 , 5,5\r\n\r\n", "identical CL list"))
        TAP_INT_EQ(rq.content_length, 5, "CL list is one value");
    if (req_ok(RL HOST "Content-Length: 5\r\ncontent-length: 005\r\n\r\n", "repeated CL"))
        TAP_INT_EQ(rq.content_length, 5, "repeated identical CL");
    if (req_ok(RL HOST "Content-Length: 0\r\n\r\n", "CL 0"))
        TAP_OK(rq.body == H1_BODY_LENGTH && rq.content_length == 0, "zero length");
    if (req_ok(RL HOST "Content-Length: 9223372036854775807\r\n\r\n", "CL 2^63-1"))
        TAP_OK(rq.content_length == INT64_MAX, "largest CL");
    if (req_ok(RL HOST "Transfer-Encoding: chunked\r\n\r\n", "chunked")) {
        TAP_INT_EQ(rq.body, H1_BODY_CHUNKED, "chunked body");
        TAP_OK(rq.flags & H1_F_TRANSFER_ENCODING, "TE flag");
    }
    if (req_ok(RL HOST "transfer-encoding:  ChUnKeD \r\n\r\n", "chunked, any case"))
        TAP_INT_EQ(rq.body, H1_BODY_CHUNKED, "case-insensitive chunked");
    if (req_ok(RL HOST "Transfer-Encoding: , chunked,\r\n\r\n", "empty list elements"))
        TAP_INT_EQ(rq.body, H1_BODY_CHUNKED, "empty elements ignored");
    if (req_ok(RL "Host: \r\n\r\n", "empty Host"))
        TAP_OK(rq.host != NULL && rq.host_len == 0, "empty Host reported");
    req_ok(RL "Host: [::1]:8080\r\n\r\n", "Host IPv6 with port");
    req_ok(RL "Host: a.example:\r\n\r\n", "Host with empty port");
    req_ok(RL "Host: %41.b-c_d~e!$&'()*+,;=\r\n\r\n", "Host with pct-encoding and sub-delims");

    if (req_ok(RL HOST "Connection: close\r\n\r\n", "Connection close"))
        TAP_INT_EQ(rq.flags, H1_F_CONN_CLOSE, "close, not keep-alive");
    if (req_ok(RL HOST "Connection: foo, Keep-Alive\r\nConnection: UPGRADE\r\nUpgrade: ws\r\n\r\n",
               "Connection lists"))
        TAP_INT_EQ(rq.flags,
                   H1_F_CONN_KEEP_ALIVE | H1_F_CONN_UPGRADE | H1_F_UPGRADE | H1_F_KEEP_ALIVE,
                   "keep-alive, upgrade tokens and Upgrade");
    if (req_ok("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "1.0 keep-alive"))
        TAP_OK(rq.flags & H1_F_KEEP_ALIVE, "HTTP/1.0 keep-alive honoured");
    if (req_ok("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", "1.0 both tokens"))
        TAP_INT_EQ(rq.flags & H1_F_KEEP_ALIVE, 0, "close wins");
    if (req_ok(RL HOST "Expect: 100-Continue\r\n\r\n", "Expect 100-continue"))
        TAP_INT_EQ(rq.flags & (H1_F_EXPECT_CONTINUE | H1_F_EXPECT_OTHER), H1_F_EXPECT_CONTINUE,
                   "100-continue reported");
    if (req_ok(RL HOST "Expect: something\r\n\r\n", "Expect other"))
        TAP_INT_EQ(rq.flags & (H1_F_EXPECT_CONTINUE | H1_F_EXPECT_OTHER), H1_F_EXPECT_OTHER,
                   "unsupported expectation reported");
    if (req_ok("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", "Expect in 1.0"))
        TAP_INT_EQ(rq.flags & (H1_F_EXPECT_CONTINUE | H1_F_EXPECT_OTHER), 0,
                   "1.0 expectation ignored");
    if (req_ok(RL HOST "TE: deflate;q=0.5, Trailers\r\n\r\n", "TE trailers"))
        TAP_OK(rq.flags & H1_F_TE_TRAILERS, "trailers reported");
    if (req_ok(RL HOST "TE: deflate\r\n\r\n", "TE without trailers"))
        TAP_INT_EQ(rq.flags & H1_F_TE_TRAILERS, 0, "no trailers");
}

/* ---- requests: rejected ---- */

static const struct bad bad_requests[] = {
    /* request line */
    BAD("\nGET / HTTP/1.1\r\n" HOST "\r\n", 400, "bare LF"),
    BAD("\r GET / HTTP/1.1\r\n" HOST "\r\n", 400, "bare CR"),
    BAD(" GET / HTTP/1.1\r\n" HOST "\r\n", 400, "invalid method"),
    BAD("G(T / HTTP/1.1\r\n" HOST "\r\n", 400, "invalid method"),
    BAD("GET\t/ HTTP/1.1\r\n" HOST "\r\n", 400, "invalid method"),
    BAD("GET  / HTTP/1.1\r\n" HOST "\r\n", 400, "empty request target"),
    BAD("GET /a\x01 HTTP/1.1\r\n" HOST "\r\n", 400, "invalid character in request target"),
    BAD("GET /a\x7f HTTP/1.1\r\n" HOST "\r\n", 400, "invalid character in request target"),
    BAD("GET /a\tb HTTP/1.1\r\n" HOST "\r\n", 400, "invalid character in request target"),
    BAD("GET /a\0b HTTP/1.1\r\n" HOST "\r\n", 400, "invalid character in request target"),
    BAD("GET /\r\n" HOST "\r\n", 400, "missing HTTP version"),
    BAD("GET / HTTP/1.1 \r\n" HOST "\r\n", 400, "invalid HTTP version"),
    BAD("GET /  HTTP/1.1\r\n" HOST "\r\n", 400, "invalid HTTP version"),
    BAD("GET / http/1.1\r\n" HOST "\r\n", 400, "invalid HTTP version"),
    BAD("GET / HTTP/1\r\n" HOST "\r\n", 400, "invalid HTTP version"),
    BAD("GET / HTTP/1.10\r\n" HOST "\r\n", 400, "invalid HTTP version"),
    BAD("GET / HTTP/11.1\r\n" HOST "\r\n", 400, "invalid HTTP version"),
    BAD("GET / HTTP/2.0\r\n" HOST "\r\n", 505, "HTTP version not supported"),
    BAD("GET / HTTP/1.2\r\n" HOST "\r\n", 505, "HTTP version not supported"),
    BAD("GET / HTTP/0.9\r\n" HOST "\r\n", 505, "HTTP version not supported"),
    BAD("GET / HTTP/1.1\n" HOST "\r\n", 400, "bare LF"),
    BAD("GET / HTTP/1.1\rHost: a\r\n\r\n", 400, "bare CR"),
    /* request target forms */
    BAD("GET example.com:80 HTTP/1.1\r\n" HOST "\r\n", 400, "invalid request target"),
    BAD("GET ftp://a/ HTTP/1.1\r\n" HOST "\r\n", 400, "invalid request target"),
    BAD("GET http:/a/ HTTP/1.1\r\n" HOST "\r\n", 400, "invalid request target"),
    BAD("GET http:///x HTTP/1.1\r\n" HOST "\r\n", 400, "invalid authority in request target"),
    BAD("GET http://u@a/ HTTP/1.1\r\n" HOST "\r\n", 400, "invalid authority in request target"),
    BAD("GET http://a:99999/ HTTP/1.1\r\n" HOST "\r\n", 400, "invalid authority in request target"),
    BAD("GET http://a:8x/ HTTP/1.1\r\n" HOST "\r\n", 400, "invalid authority in request target"),
    BAD("GET http://[::1/ HTTP/1.1\r\n" HOST "\r\n", 400, "invalid authority in request target"),
    BAD("GET http://a#f HTTP/1.1\r\n" HOST "\r\n", 400, "invalid character in request target"),
    BAD("GET /a#f HTTP/1.1\r\n" HOST "\r\n", 400, "invalid character in request target"),
    BAD("GET /caf\xc3\xa9 HTTP/1.1\r\n" HOST "\r\n", 400, "invalid character in request target"),
    BAD("GET /\x80 HTTP/1.1\r\n" HOST "\r\n", 400, "invalid character in request target"),
    BAD("GET http://a?x HTTP/1.1\r\n" HOST "\r\n", 400,
        "absolute-form target with a query but no path"),
    BAD("CONNECT /x HTTP/1.1\r\n" HOST "\r\n", 400, "CONNECT target is not host:port"),
    BAD("CONNECT a.example HTTP/1.1\r\n" HOST "\r\n", 400, "CONNECT target is not host:port"),
    BAD("CONNECT a.example: HTTP/1.1\r\n" HOST "\r\n", 400, "CONNECT target is not host:port"),
    BAD("CONNECT :443 HTTP/1.1\r\n" HOST "\r\n", 400, "CONNECT target is not host:port"),
    BAD("CONNECT http://a/ HTTP/1.1\r\n" HOST "\r\n", 400, "CONNECT target is not host:port"),
    BAD("GET * HTTP/1.1\r\n" HOST "\r\n", 400, "asterisk-form target without OPTIONS"),
    /* field lines */
    BAD(RL HOST "X: 1\r\n 2\r\n\r\n", 400, "obs-fold in field line"),
    BAD(RL HOST "X: 1\r\n\t2\r\n\r\n", 400, "obs-fold in field line"),
    BAD(RL " Host: a\r\n\r\n", 400, "whitespace before first field line"),
    BAD(RL "Host : a\r\n\r\n", 400, "whitespace between field name and colon"),
    BAD(RL "Host\t: a\r\n\r\n", 400, "whitespace between field name and colon"),
    BAD(RL HOST ": a\r\n\r\n", 400, "empty field name"),
    BAD(RL HOST "Ho(st: a\r\n\r\n", 400, "invalid character in field name"),
    BAD(RL HOST "X\xc3\xa9: a\r\n\r\n", 400, "invalid character in field name"),
    BAD(RL HOST "Host\r\n\r\n", 400, "field line without colon"),
    BAD(RL HOST "X: a\0b\r\n\r\n", 400, "invalid character in field value"),
    BAD(RL HOST "X: a\x01z\r\n\r\n", 400, "invalid character in field value"),
    BAD(RL HOST "X: a\x7f\r\n\r\n", 400, "invalid character in field value"),
    BAD(RL HOST "X: a\x1b[0m\r\n\r\n", 400, "invalid character in field value"),
    BAD(RL HOST "X: a\rb\r\n\r\n", 400, "bare CR"),
    BAD(RL HOST "X: a\nY: b\r\n\r\n", 400, "bare LF"),
    BAD(RL "Host: a\n\n", 400, "bare LF"),
    BAD(RL HOST "\n", 400, "bare LF"),
    BAD(RL HOST "\rX", 400, "bare CR"),
    /* Content-Length */
    BAD(RL HOST "Content-Length: 5, 6\r\n\r\n", 400, "conflicting Content-Length values"),
    BAD(RL HOST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
        "conflicting Content-Length values"),
    BAD(RL HOST "Content-Length:\r\n\r\n", 400, "invalid Content-Length"),
    BAD(RL HOST "Content-Length: +5\r\n\r\n", 400, "invalid Content-Length"),
    BAD(RL HOST "Content-Length: -1\r\n\r\n", 400, "invalid Content-Length"),
    BAD(RL HOST "Content-Length: 5a\r\n\r\n", 400, "invalid Content-Length"),
    BAD(RL HOST "Content-Length: 0x5\r\n\r\n", 400, "invalid Content-Length"),
    BAD(RL HOST "Content-Length: 5 5\r\n\r\n", 400, "invalid Content-Length"),
    BAD(RL HOST "Content-Length: 5,,5\r\n\r\n", 400, "invalid Content-Length"),
    BAD(RL HOST "Content-Length: 5,\r\n\r\n", 400, "invalid Content-Length"),
    BAD(RL HOST "Content-Length: 9223372036854775808\r\n\r\n", 400, "invalid Content-Length"),
    BAD(RL HOST "Content-Length: 99999999999999999999999\r\n\r\n", 400, "invalid Content-Length"),
    /* Transfer-Encoding */
    BAD(RL HOST "Transfer-Encoding: gzip\r\n\r\n", 501, "unsupported transfer coding"),
    BAD(RL HOST "Transfer-Encoding: identity\r\n\r\n", 501, "unsupported transfer coding"),
    BAD(RL HOST "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "unsupported transfer coding"),
    BAD(RL HOST "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
        "unsupported transfer coding"),
    BAD(RL HOST "Transfer-Encoding: chunked, gzip\r\n\r\n", 400,
        "chunked is not the final transfer coding"),
    BAD(RL HOST "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
        "chunked is not the final transfer coding"),
    BAD(RL HOST "Transfer-Encoding: chunked, chunked\r\n\r\n", 400,
        "chunked applied more than once"),
    BAD(RL HOST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
        "chunked applied more than once"),
    BAD(RL HOST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
        "Content-Length and Transfer-Encoding both present"),
    BAD(RL HOST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
        "Content-Length and Transfer-Encoding both present"),
    BAD("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
        "Transfer-Encoding in HTTP/1.0 request"),
    BAD(RL HOST "Transfer-Encoding:\r\n\r\n", 400, "empty Transfer-Encoding"),
    BAD(RL HOST "Transfer-Encoding: ,\r\n\r\n", 400, "empty Transfer-Encoding"),
    BAD(RL HOST "Transfer-Encoding: chunked;q=1\r\n\r\n", 400, "invalid Transfer-Encoding"),
    BAD(RL HOST "Transfer-Encoding: \"chunked\"\r\n\r\n", 400, "invalid Transfer-Encoding"),
    BAD(RL HOST "Transfer-Encoding: chunked x\r\n\r\n", 400, "invalid Transfer-Encoding"),
    /* Host */
    BAD(RL "\r\n", 400, "missing Host"),
    BAD(RL "X-Host: a\r\n\r\n", 400, "missing Host"),
    BAD(RL HOST "Host: a\r\n\r\n", 400, "multiple Host fields"),
    BAD("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, "multiple Host fields"),
    BAD(RL "Host: a b\r\n\r\n", 400, "invalid Host"),
    BAD(RL "Host: a/b\r\n\r\n", 400, "invalid Host"),
    BAD(RL "Host: u@a\r\n\r\n", 400, "invalid Host"),
    BAD(RL "Host: a:x\r\n\r\n", 400, "invalid Host"),
    BAD(RL "Host: a:70000\r\n\r\n", 400, "invalid Host"),
    BAD(RL "Host: a:1:2\r\n\r\n", 400, "invalid Host"),
    BAD(RL "Host: %4\r\n\r\n", 400, "invalid Host"),
    BAD(RL "Host: [::1\r\n\r\n", 400, "invalid Host"),
};

/* ---- limits ---- */

static void test_request_limits(void)
{
    const struct h1_limits small = { 32, 128, 4 };
    char buf[512];

    /* request line of exactly 32 bytes, then 33 */
    snprintf(buf, sizeof(buf), "GET /%s HTTP/1.1\r\n" HOST "\r\n", "aaaaaaaaaaaaaaaaaa");
    TAP_INT_EQ(preq_lim(buf, strlen(buf), &small), (int)strlen(buf), "request line at the limit");
    check_prefixes(1, buf, strlen(buf), &small, 0);
    snprintf(buf, sizeof(buf), "GET /%s HTTP/1.1\r\n" HOST "\r\n", "aaaaaaaaaaaaaaaaaaa");
    TAP_OK(preq_lim(buf, strlen(buf), &small) == H1_ERROR && rq.err_status == 414 &&
               strcmp(rq.err_reason, "request line too long") == 0,
           "request line over the limit -> 414");
    check_prefixes(1, buf, strlen(buf), &small, 0);
    snprintf(buf, sizeof(buf), "%s / HTTP/1.1\r\n" HOST "\r\n",
             "GETTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT");
    TAP_OK(preq_lim(buf, strlen(buf), &small) == H1_ERROR && rq.err_status == 414,
           "long method -> 414");
    /* 31 bytes of request line cannot be judged yet; 32 without the version can */
    TAP_INT_EQ(preq_lim("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaa", 31, &small), H1_INCOMPLETE,
               "31 bytes of target: incomplete");
    TAP_OK(preq_lim("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32, &small) == H1_ERROR &&
               rq.err_status == 414,
           "32 bytes and no version yet: 414");

    /* a 1 MB request line without CRLF is 414, not incomplete */
    size_t big = 1u << 20;
    char *huge = malloc(big);
    memset(huge, 'a', big);
    memcpy(huge, "GET /", 5);
    TAP_OK(preq_lim(huge, big, &lim) == H1_ERROR && rq.err_status == 414, "1 MB request line");
    TAP_OK(preq_lim(huge, lim.max_start_line + 1, &lim) == H1_ERROR && rq.err_status == 414,
           "414 as soon as the line exceeds the limit");
    /* the same bytes as one huge field value: 431 */
    const char *pre = RL "X: ";
    memcpy(huge, pre, strlen(pre));
    TAP_OK(preq_lim(huge, big, &lim) == H1_ERROR && rq.err_status == 431 &&
               strcmp(rq.err_reason, "request header section too large") == 0,
           "1 MB field value -> 431");
    free(huge);

    /* head of exactly 128 bytes, then 129 */
    const char *base = RL HOST "X: ";
    size_t fill = 128 - strlen(base) - 4;
    memset(buf, 0, sizeof(buf));
    memcpy(buf, base, strlen(base));
    memset(buf + strlen(base), 'v', fill);
    memcpy(buf + strlen(base) + fill, "\r\n\r\n", 4);
    TAP_INT_EQ(preq_lim(buf, 128, &small), 128, "head at the limit");
    memmove(buf + strlen(base) + 1, buf + strlen(base), fill + 4);
    TAP_OK(preq_lim(buf, 129, &small) == H1_ERROR && rq.err_status == 431,
           "head over the limit -> 431");
    TAP_OK(preq_lim(buf, 128, &small) == H1_ERROR && rq.err_status == 431,
           "431 while the head is still incomplete");
    check_prefixes(1, buf, 129, &small, 0);

    /* leading empty lines count towards the head */
    memset(buf, 0, sizeof(buf));
    for (int i = 0; i < 60; i++)
        memcpy(buf + 2 * i, "\r\n", 2);
    strcpy(buf + 120, RL HOST "\r\n");
    TAP_OK(preq_lim(buf, strlen(buf), &small) == H1_ERROR && rq.err_status == 431,
           "empty lines count towards max_head");

    /* header count */
    const char *four = RL HOST "B: 1\r\nC: 1\r\nD: 1\r\n\r\n";
    TAP_INT_EQ(preq_lim(four, strlen(four), &small), (int)strlen(four), "max_headers fields");
    const char *five = RL HOST "B: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n";
    TAP_OK(preq_lim(five, strlen(five), &small) == H1_ERROR && rq.err_status == 431 &&
               strcmp(rq.err_reason, "too many header fields") == 0,
           "one field too many -> 431");
    check_prefixes(1, five, strlen(five), &small, 0);
    TAP_OK(preq_lim(five, strlen(four) - 1, &small) == H1_ERROR && rq.err_status == 431,
           "too many fields detected before the head ends");
}

static void test_pipelining(void)
{
    const char *two = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                      "GET /b HTTP/1.1\r\nHost: b\r\n\r\n"
                      "GET /c HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n";
    size_t n = strlen(two);
    const char *g = at_guard(two, n);
    int r1 = h1_parse_request(g, n, &lim, hdrs, &rq);
    TAP_INT_EQ(r1, 48, "first pipelined request");
    TAP_OK(span_eq(rq.path, rq.path_len, "/a") && rq.content_length == 3, "first is POST /a");
    size_t off = (size_t)r1 + rq.content_length;
    int r2 = h1_parse_request(g + off, n - off, &lim, hdrs, &rq);
    TAP_INT_EQ(r2, 28, "second pipelined request");
    TAP_OK(span_eq(rq.path, rq.path_len, "/b") && rq.body == H1_BODY_NONE, "second is GET /b");
    off += (size_t)r2;
    int r3 = h1_parse_request(g + off, n - off, &lim, hdrs, &rq);
    TAP_INT_EQ(off + (size_t)r3, n, "third pipelined request ends the buffer");
    TAP_OK(span_eq(rq.path, rq.path_len, "/c") && !(rq.flags & H1_F_KEEP_ALIVE),
           "third is GET /c with close");
    TAP_INT_EQ(h1_parse_request(g + n, 0, &lim, hdrs, &rq), H1_INCOMPLETE, "empty buffer");
}

/* ---- responses ---- */

static void test_responses(void)
{
    if (res_ok("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\n", 0, "200 with CL")) {
        TAP_INT_EQ(rs.status, 200, "status");
        TAP_INT_EQ(rs.minor_version, 1, "version");
        TAP_OK(span_eq(rs.reason_phrase, rs.reason_phrase_len, "OK"), "reason");
        TAP_INT_EQ(rs.num_headers, 2, "headers");
        TAP_INT_EQ(rs.body, H1_BODY_LENGTH, "length body");
        TAP_INT_EQ(rs.content_length, 5, "length 5");
        TAP_OK(rs.flags & H1_F_KEEP_ALIVE, "keep-alive");
    }
    if (res_ok("HTTP/1.1 204\r\n\r\n", 0, "missing SP before empty reason tolerated")) {
        TAP_INT_EQ(rs.reason_phrase_len, 0, "empty reason");
        TAP_INT_EQ(rs.body, H1_BODY_NONE, "204 has no body");
    }
    if (res_ok("HTTP/1.1 404 \r\n\r\n", 0, "empty reason")) {
        TAP_INT_EQ(rs.body, H1_BODY_CLOSE, "no framing: until close");
        TAP_INT_EQ(rs.flags & H1_F_KEEP_ALIVE, 0, "close-delimited is not keep-alive");
    }
    if (res_ok("HTTP/1.1 500 Internal\tServer \x80rror\r\nContent-Length: 0\r\n\r\n", 0,
               "reason with HTAB and obs-text"))
        TAP_OK(span_eq(rs.reason_phrase, rs.reason_phrase_len, "Internal\tServer \x80rror"),
               "reason bytes");
    if (res_ok("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 0, "1.0 response"))
        TAP_INT_EQ(rs.flags & H1_F_KEEP_ALIVE, 0, "1.0 defaults to close");
    if (res_ok("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n", 0,
               "1.0 keep-alive"))
        TAP_OK(rs.flags & H1_F_KEEP_ALIVE, "1.0 keep-alive honoured");
    if (res_ok("HTTP/1.1 200 OK\r\nConnection: close, upgrade\r\nContent-Length: 1\r\n\r\n", 0,
               "Connection close"))
        TAP_INT_EQ(rs.flags & (H1_F_KEEP_ALIVE | H1_F_CONN_CLOSE | H1_F_CONN_UPGRADE),
                   H1_F_CONN_CLOSE | H1_F_CONN_UPGRADE, "close and upgrade tokens");
    if (res_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, "chunked"))
        TAP_INT_EQ(rs.body, H1_BODY_CHUNKED, "chunked body");
    if (res_ok("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
               "chunked and CL")) {
        TAP_INT_EQ(rs.body, H1_BODY_CHUNKED, "chunked overrides CL");
        TAP_OK((rs.flags & H1_F_CONTENT_LENGTH) && rs.content_length == 7, "CL still reported");
    }
    if (res_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, "gzip, chunked"))
        TAP_INT_EQ(rs.body, H1_BODY_CHUNKED, "chunked last: chunked");
    if (res_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", 0,
               "gzip only"))
        TAP_INT_EQ(rs.body, H1_BODY_CLOSE, "chunked not final: until close");
    if (res_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0, "chunked, gzip"))
        TAP_INT_EQ(rs.body, H1_BODY_CLOSE, "chunked not last: until close");
    if (res_ok("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", H1_REQ_HEAD, "HEAD")) {
        TAP_INT_EQ(rs.body, H1_BODY_NONE, "HEAD response has no body");
        TAP_OK(rs.content_length == 100 && (rs.flags & H1_F_KEEP_ALIVE), "HEAD keeps CL");
    }
    if (res_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", H1_REQ_HEAD, "HEAD TE"))
        TAP_INT_EQ(rs.body, H1_BODY_NONE, "HEAD response with TE has no body");
    if (res_ok("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 0, "304"))
        TAP_INT_EQ(rs.body, H1_BODY_NONE, "304 has no body");
    if (res_ok("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0, "204 with CL"))
        TAP_INT_EQ(rs.body, H1_BODY_NONE, "204 has no body");
    if (res_ok("HTTP/1.1 100 Continue\r\n\r\n", 0, "100"))
        TAP_OK(rs.status == 100 && rs.body == H1_BODY_NONE, "interim response");
    if (res_ok("HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n", 0, "103"))
        TAP_INT_EQ(rs.body, H1_BODY_NONE, "103 has no body");
    if (res_ok("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: "
               "websocket\r\n\r\n",
               H1_REQ_UPGRADE, "101")) {
        TAP_INT_EQ(rs.body, H1_BODY_TUNNEL, "101 switches to a tunnel");
        TAP_OK((rs.flags & (H1_F_UPGRADE | H1_F_CONN_UPGRADE)) ==
                       (H1_F_UPGRADE | H1_F_CONN_UPGRADE) &&
                   !(rs.flags & H1_F_KEEP_ALIVE),
               "101 flags");
    }
    if (res_ok("HTTP/1.1 200 Connection established\r\nContent-Length: x\r\nTransfer-Encoding: "
               "y z\r\n\r\n",
               H1_REQ_CONNECT, "CONNECT 200"))
        TAP_INT_EQ(rs.body, H1_BODY_TUNNEL, "2xx to CONNECT: tunnel, CL and TE ignored");
    if (res_ok("HTTP/1.1 407 Auth\r\nContent-Length: 10\r\n\r\n", H1_REQ_CONNECT, "CONNECT 407"))
        TAP_OK(rs.body == H1_BODY_LENGTH && rs.content_length == 10, "non-2xx CONNECT: normal");
    if (res_ok("HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\nContent-Length: 4\r\n\r\n", 0,
               "identical CLs"))
        TAP_INT_EQ(rs.content_length, 4, "identical CLs are one");
    if (res_ok("HTTP/1.1 599 X\r\n\r\n", 0, "status 599"))
        TAP_INT_EQ(rs.status, 599, "599 accepted");

    /* pipelined responses */
    const char *two = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    const char *g = at_guard(two, strlen(two));
    int r1 = h1_parse_response(g, strlen(two), &lim, 0, hdrs, &rs);
    TAP_INT_EQ(r1, 25, "interim response first");
    int r2 = h1_parse_response(g + r1, strlen(two) - (size_t)r1, &lim, 0, hdrs, &rs);
    TAP_OK(r1 + r2 == (int)strlen(two) && rs.status == 200, "then the final response");
}

static const struct bad bad_responses[] = {
    BAD("HTTP/1.1 200 OK\n\r\n", 0, "bare LF"),
    BAD("HTTP/1.1 200\n\r\n", 0, "bare LF"),
    BAD("HTTP/1.1 200 OK\rX", 0, "bare CR"),
    BAD("HTTP/2 200 OK\r\n\r\n", 0, "invalid status line"),
    BAD("http/1.1 200 OK\r\n\r\n", 0, "invalid status line"),
    BAD("\r\nHTTP/1.1 200 OK\r\n\r\n", 0, "invalid status line"),
    BAD("HTTP/1.1\t200 OK\r\n\r\n", 0, "invalid status line"),
    BAD("HTTP/2.0 200 OK\r\n\r\n", 0, "unsupported HTTP version"),
    BAD("HTTP/1.2 200 OK\r\n\r\n", 0, "unsupported HTTP version"),
    BAD("HTTP/1.1  200 OK\r\n\r\n", 0, "invalid status code"),
    BAD("HTTP/1.1 20 OK\r\n\r\n", 0, "invalid status code"),
    BAD("HTTP/1.1 2000 OK\r\n\r\n", 0, "invalid status code"),
    BAD("HTTP/1.1 099 OK\r\n\r\n", 0, "invalid status code"),
    BAD("HTTP/1.1 600 OK\r\n\r\n", 0, "invalid status code"),
    BAD("HTTP/1.1 2x0 OK\r\n\r\n", 0, "invalid status code"),
    BAD("HTTP/1.1 200 O\x01K\r\n\r\n", 0, "invalid character in reason phrase"),
    BAD("HTTP/1.1 200 O\x7fK\r\n\r\n", 0, "invalid character in reason phrase"),
    BAD("HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, "101 response to a request without Upgrade"),
    BAD("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 0,
        "conflicting Content-Length values"),
    BAD("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", 0, "conflicting Content-Length values"),
    BAD("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", 0, "invalid Content-Length"),
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: x\r\n\r\n", 0,
        "invalid Content-Length"),
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 0,
        "chunked applied more than once"),
    BAD("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
        "Transfer-Encoding in HTTP/1.0 response"),
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n", 0, "empty Transfer-Encoding"),
    BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;a=b\r\n\r\n", 0,
        "invalid Transfer-Encoding"),
    BAD("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", 0, "obs-fold in field line"),
    BAD("HTTP/1.1 200 OK\r\n X: a\r\n\r\n", 0, "whitespace before first field line"),
    BAD("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", 0, "whitespace between field name and colon"),
    BAD("HTTP/1.1 200 OK\r\nX: a\0\r\n\r\n", 0, "invalid character in field value"),
    BAD("HTTP/1.1 200 OK\r\nX: a\r\n\n", 0, "bare LF"),
};

static void test_response_limits(void)
{
    const struct h1_limits l15 = { 15, 128, 2 }, l14 = { 14, 128, 2 }, l12 = { 12, 128, 2 };
    const char *ok = "HTTP/1.1 200 OK\r\n\r\n";
    TAP_INT_EQ(pres_lim(ok, strlen(ok), &l15, 0), (int)strlen(ok), "status line at the limit");
    TAP_OK(pres_lim(ok, strlen(ok), &l14, 0) == H1_ERROR &&
               strcmp(rs.err_reason, "status line too long") == 0,
           "status line over the limit");
    check_prefixes(0, ok, strlen(ok), &l14, 0);
    const char *nosp = "HTTP/1.1 204\r\n\r\n";
    TAP_INT_EQ(pres_lim(nosp, strlen(nosp), &l12, 0), (int)strlen(nosp), "12-byte status line");
    const char *sp = "HTTP/1.1 204 \r\n\r\n";
    TAP_OK(pres_lim(sp, strlen(sp), &l12, 0) == H1_ERROR &&
               strcmp(rs.err_reason, "status line too long") == 0,
           "the SP before an empty reason counts");
    const char *three = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    TAP_OK(pres_lim(three, strlen(three), &l15, 0) == H1_ERROR &&
               strcmp(rs.err_reason, "too many header fields") == 0,
           "too many response fields");
    char big[300];
    memset(big, 'x', sizeof(big));
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    TAP_OK(pres_lim(big, sizeof(big), &l15, 0) == H1_ERROR && rs.err_status == 502 &&
               strcmp(rs.err_reason, "response header section too large") == 0,
           "response head too large");
}

static void test_fields(void)
{
    const char *why = NULL;
    size_t n = 99;
    const char *t = "X-Checksum: abc\r\nX-Other:  1 \r\n\r\nrest";
    const char *g = at_guard(t, strlen(t));
    TAP_INT_EQ(h1_parse_fields(g, strlen(t), 64, hdrs, MAXH, &n, &why), 33, "trailer fields");
    TAP_INT_EQ(n, 2, "two trailer fields");
    TAP_OK(span_eq(hdrs[1].value, hdrs[1].value_len, "1"), "trailer value trimmed");
    TAP_INT_EQ(h1_parse_fields(g, strlen(t), 64, NULL, 0, NULL, &why), 33, "validate only");
    TAP_INT_EQ(h1_parse_fields(g, 32, 64, NULL, 0, NULL, &why), H1_INCOMPLETE, "incomplete");
    TAP_OK(h1_parse_fields(g, strlen(t), 32, NULL, 0, NULL, &why) == H1_ERROR &&
               strcmp(why, "field section too large") == 0,
           "too large");
    TAP_INT_EQ(h1_parse_fields(g, strlen(t), 33, NULL, 0, NULL, &why), 33, "exactly the limit");
    TAP_OK(h1_parse_fields(g, strlen(t), 64, hdrs, 1, &n, &why) == H1_ERROR &&
               strcmp(why, "too many fields") == 0,
           "too many");
    g = at_guard("\r\n", 2);
    TAP_INT_EQ(h1_parse_fields(g, 2, 2, NULL, 0, NULL, &why), 2, "empty section");
    g = at_guard("X: 1\r\n Y\r\n\r\n", 13);
    TAP_OK(h1_parse_fields(g, 13, 64, NULL, 0, NULL, &why) == H1_ERROR &&
               strcmp(why, "obs-fold in field line") == 0,
           "obs-fold in fields");
}

int main(void)
{
    guard_setup();
    test_request_basics();
    test_request_forms();
    test_request_fields();
    for (size_t i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++)
        check_req_error(&bad_requests[i]);
    test_request_limits();
    test_pipelining();
    test_responses();
    for (size_t i = 0; i < sizeof(bad_responses) / sizeof(bad_responses[0]); i++)
        check_res_error(&bad_responses[i], 0);
    test_response_limits();
    test_fields();
    return tap_done();
}
