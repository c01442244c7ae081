/* Unit tests for src/http/h1_chunked.c. Every decoder call reads its input
 * from right before a PROT_NONE page; every input is decoded whole, split in
 * two at every byte, split at every pair of bytes (short inputs) and fed one
 * byte at a time, and all of these must agree. */
#include "../tap.h"
#include "http/h1_chunked.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUARD_ROOM (64u << 10)
static char *guard_end;

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

static const char *at_guard(const char *s, size_t n)
{
    char *d = guard_end - n;
    memmove(d, s, n);
    return d;
}

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

/* ---- a decoding driver that behaves like the proxy's read loop ---- */

struct result {
    int rc; /* H1_CHUNK_DONE, _ERROR or _MORE once the input ran out */
    char data[4096];
    size_t data_len;
    char trailer[1024];
    size_t trailer_len;
    size_t consumed; /* bytes of the input used in total */
    const char *why;
};

static uint64_t max_ext = 64;
static size_t max_trailer = 256;

/* Feeds in[0..n) in pieces ending at cuts[0..ncuts) and then n. */
static void decode_pieces(const char *in, size_t n, const size_t *cuts, size_t ncuts,
                          struct result *res)
{
    struct h1_chunked c;
    struct h1_chunk_out out;
    char *acc = malloc(n + 1);
    size_t have = 0, pos = 0;

    h1_chunked_init(&c, max_ext, max_trailer);
    memset(res, 0, sizeof(*res));
    res->rc = H1_CHUNK_MORE;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t upto = i < ncuts ? cuts[i] : n;
        memcpy(acc + have, in + pos, upto - pos);
        have += upto - pos;
        pos = upto;
        for (;;) {
            const char *g = at_guard(acc, have);
            int rc = h1_chunked_decode(&c, g, have, &out);
            if (rc == H1_CHUNK_ERROR) {
                res->rc = rc;
                res->why = out.why;
                goto done;
            }
            if (rc == H1_CHUNK_DATA) {
                if (res->data_len + out.data_len <= sizeof(res->data))
                    memcpy(res->data + res->data_len, out.data, out.data_len);
                res->data_len += out.data_len;
            }
            if (rc == H1_CHUNK_DONE) {
                if (out.trailer_len <= sizeof(res->trailer))
                    memcpy(res->trailer, out.trailer, out.trailer_len);
                res->trailer_len = out.trailer_len;
            }
            res->consumed += out.consumed;
            have -= out.consumed;
            memmove(acc, acc + out.consumed, have);
            if (rc == H1_CHUNK_DONE) {
                res->rc = rc;
                goto done;
            }
            if (rc == H1_CHUNK_MORE)
                break;
        }
    }
done:
    free(acc);
}

static int same_result(const struct result *a, const struct result *b)
{
    /* on error the running total of consumed bytes depends on the cuts */
    if (a->rc != b->rc || a->data_len != b->data_len ||
        (a->rc != H1_CHUNK_ERROR && a->consumed != b->consumed))
        return 0;
    if (a->data_len <= sizeof(a->data) && memcmp(a->data, b->data, a->data_len) != 0)
        return 0;
    if (a->rc == H1_CHUNK_DONE &&
        (a->trailer_len != b->trailer_len || memcmp(a->trailer, b->trailer, a->trailer_len) != 0))
        return 0;
    if (a->rc == H1_CHUNK_ERROR && strcmp(a->why, b->why) != 0)
        return 0;
    return 1;
}

/* Decodes in every way and checks that all agree with the one-shot result. */
static void decode_every_way(const char *in, size_t n, struct result *whole)
{
    struct result r;
    size_t cuts[2];
    int split_ok = 1, pair_ok = 1, bytes_ok = 1;

    decode_pieces(in, n, NULL, 0, whole);
    for (size_t k = 0; k <= n && split_ok; k++) {
        cuts[0] = k;
        decode_pieces(in, n, cuts, 1, &r);
        split_ok = same_result(whole, &r);
    }
    if (n <= 64)
        for (size_t i = 0; i <= n && pair_ok; i++)
            for (size_t j = i; j <= n && pair_ok; j++) {
                cuts[0] = i;
                cuts[1] = j;
                decode_pieces(in, n, cuts, 2, &r);
                pair_ok = same_result(whole, &r);
            }
    size_t *all = malloc((n + 1) * sizeof(*all));
    for (size_t k = 0; k < n; k++)
        all[k] = k + 1;
    decode_pieces(in, n, all, n, &r);
    bytes_ok = same_result(whole, &r);
    free(all);

    char what[200];
    snprintf(what, sizeof(what), "%s: every split agrees", esc(in, n));
    TAP_OK(split_ok && pair_ok && bytes_ok, what);
}

static void check_ok(const char *in, const char *data, const char *trailer, size_t body_len)
{
    struct result r;
    size_t n = strlen(in);
    if (body_len == 0) /* the body is the whole input */
        body_len = n;
    decode_every_way(in, n, &r);
    char what[200];
    snprintf(what, sizeof(what), "%s: decodes", esc(in, n));
    int pass = r.rc == H1_CHUNK_DONE && r.data_len == strlen(data) &&
               memcmp(r.data, data, r.data_len) == 0 && r.trailer_len == strlen(trailer) &&
               memcmp(r.trailer, trailer, r.trailer_len) == 0 && r.consumed == body_len;
    TAP_OK(pass, what);
    if (!pass)
        printf("#   rc %d why %s data %zu trailer %zu consumed %zu\n", r.rc, r.why ? r.why : "-",
               r.data_len, r.trailer_len, r.consumed);
}

static void check_bad(const char *in, size_t n, const char *why)
{
    struct result r;
    decode_every_way(in, n, &r);
    char what[200];
    snprintf(what, sizeof(what), "%s: %s", esc(in, n), why);
    int pass = r.rc == H1_CHUNK_ERROR && strcmp(r.why, why) == 0;
    TAP_OK(pass, what);
    if (!pass)
        printf("#   rc %d why %s\n", r.rc, r.why ? r.why : "-");
}

#define BAD(s, why) check_bad(s, sizeof(s) - 1, why)

static void test_valid(void)
{
    check_ok("5\r\nhello\r\n0\r\n\r\n", "hello", "", 0);
    check_ok("3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n", "abc0123456789", "", 0);
    check_ok("a\r\n0123456789\r\nF\r\nabcdefghijklmno\r\n0\r\n\r\n", "0123456789abcdefghijklmno",
             "", 0);
    check_ok("0005\r\nhello\r\n000\r\n\r\n", "hello", "", 0);
    check_ok("0000000000000005\r\nhello\r\n0\r\n\r\n", "hello", "", 0);
    check_ok("0\r\n\r\n", "", "", 0);
    check_ok("5;a\r\nhello\r\n0;last\r\n\r\n", "hello", "", 0);
    check_ok("5;a=b;c=\"d e\\\"f\";g=!#$\r\nhello\r\n0\r\n\r\n", "hello", "", 0);
    check_ok("5 ; a = b \t;c\r\nhello\r\n0\r\n\r\n", "hello", "", 0);
    check_ok("5\t;a=\"\"\r\nhello\r\n0\r\n\r\n", "hello", "", 0);
    check_ok("5;a=\"\\\t\x80\xff\"\r\nhello\r\n0\r\n\r\n", "hello", "", 0);
    check_ok("0\r\nX-Sum: 1\r\nY:  2 \r\n\r\n", "", "X-Sum: 1\r\nY:  2 \r\n", 0);
    check_ok("2\r\nhi\r\n0\r\nX: 1\r\n\r\nGET / HTTP/1.1\r\n", "hi", "X: 1\r\n", 18);
}

static void test_invalid(void)
{
    BAD("\r\n", "invalid chunk size");
    BAD("-5\r\nhello\r\n0\r\n\r\n", "invalid chunk size");
    BAD("+5\r\nhello\r\n0\r\n\r\n", "invalid chunk size");
    BAD("0x5\r\nhello\r\n0\r\n\r\n", "invalid chunk size");
    BAD(" 5\r\nhello\r\n0\r\n\r\n", "invalid chunk size");
    BAD("5x\r\nhello\r\n0\r\n\r\n", "invalid chunk size");
    BAD("g\r\n", "invalid chunk size");
    BAD("5\nhello\r\n0\r\n\r\n", "bare LF");
    BAD("\n", "bare LF");
    BAD("5\rhello\r\n0\r\n\r\n", "bare CR");
    BAD("00000000000000005\r\nhello\r\n0\r\n\r\n", "chunk size too long");
    BAD("8000000000000000\r\n", "chunk size too large");
    BAD("ffffffffffffffff\r\n", "chunk size too large");
    BAD("5 \r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;\r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;=b\r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a=\r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a \r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a=b \r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a=b c\r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a=\"b\" \r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a=\"b\r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a=b\"c\"\r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a\x01\r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a=\"\x7f\"\r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a=\"\0\"\r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a,b\r\nhello\r\n0\r\n\r\n", "invalid chunk extension");
    BAD("5;a\nhello\r\n0\r\n\r\n", "bare LF");
    BAD("5;a\rhello\r\n0\r\n\r\n", "bare CR");
    BAD("5\r\nhelloX\r\n0\r\n\r\n", "missing CRLF after chunk data");
    BAD("5\r\nhello\rX\r\n0\r\n\r\n", "missing CRLF after chunk data");
    BAD("5\r\nhello\n0\r\n\r\n", "missing CRLF after chunk data");
    BAD("5\r\nhello0\r\n\r\n", "missing CRLF after chunk data");
    BAD("0\r\nX: 1\r\n 2\r\n\r\n", "obs-fold in field line");
    BAD("0\r\n X: 1\r\n\r\n", "whitespace before first field line");
    BAD("0\r\nX : 1\r\n\r\n", "whitespace between field name and colon");
    BAD("0\r\nX: 1\n\r\n", "bare LF");
    BAD("0\r\n\n", "bare LF");
    BAD("0\r\n\rX", "bare CR");
    BAD("0\r\nX\r\n\r\n", "field line without colon");
    BAD("0\r\nX: a\0b\r\n\r\n", "invalid character in field value");
    BAD("0\r\n: a\r\n\r\n", "empty field name");
}

static void test_limits(void)
{
    max_ext = 4;
    check_ok("5;abc\r\nhello\r\n0\r\n\r\n", "hello", "", 0);
    BAD("5;abcd\r\nhello\r\n0\r\n\r\n", "chunk extensions too long");
    BAD("1;ab\r\nx\r\n1;ab\r\nx\r\n0\r\n\r\n", "chunk extensions too long");
    check_ok("1;a\r\nx\r\n0\r\n\r\n", "x", "", 0);
    max_ext = 0;
    BAD("1;a\r\nx\r\n0\r\n\r\n", "chunk extensions too long");
    BAD("1 ;a\r\nx\r\n0\r\n\r\n", "chunk extensions too long");
    check_ok("1\r\nx\r\n0\r\n\r\n", "x", "", 0);
    max_ext = 64;

    max_trailer = 16; /* "X: 123456789\r\n\r\n" is 16 bytes */
    check_ok("0\r\nX: 123456789\r\n\r\n", "", "X: 123456789\r\n", 0);
    BAD("0\r\nX: 1234567890\r\n\r\n", "field section too large");
    BAD("0\r\nX: 12345678901234567890", "field section too large");
    max_trailer = 256;

    /* a partial trailer is left unconsumed */
    struct result r;
    const char *part = "1\r\nx\r\n0\r\nX: 1\r\n";
    decode_every_way(part, strlen(part), &r);
    TAP_OK(r.rc == H1_CHUNK_MORE && r.consumed == 9 && r.data_len == 1,
           "partial trailer: nothing of it consumed");
    /* a huge chunk is reported as it arrives */
    const char *huge = "7fffffffffffffff\r\nabc";
    decode_every_way(huge, strlen(huge), &r);
    TAP_OK(r.rc == H1_CHUNK_MORE && r.data_len == 3 && memcmp(r.data, "abc", 3) == 0 &&
               r.consumed == strlen(huge),
           "largest chunk size accepted, data streamed");
}

static void test_api(void)
{
    struct h1_chunked c;
    struct h1_chunk_out out;
    const char *body = "3\r\nabc\r\n0\r\n\r\nNEXT";

    h1_chunked_init(&c, 16, 64);
    const char *g = at_guard(body, strlen(body));
    TAP_INT_EQ(h1_chunked_decode(&c, g, strlen(body), &out), H1_CHUNK_DATA, "first call: data");
    TAP_OK(out.data == g + 3 && out.data_len == 3 && out.consumed == 6, "data span in place");
    g += out.consumed;
    TAP_INT_EQ(h1_chunked_decode(&c, g, strlen(body) - 6, &out), H1_CHUNK_DONE, "then done");
    TAP_OK(out.consumed == 7 && out.trailer == g + 5 && out.trailer_len == 0,
           "done at the end of the body");
    TAP_INT_EQ(h1_chunked_decode(&c, g + 7, 4, &out), H1_CHUNK_DONE, "done stays done");
    TAP_INT_EQ(out.consumed, 0, "nothing consumed after done");

    h1_chunked_init(&c, 16, 64);
    g = at_guard("z", 1);
    TAP_INT_EQ(h1_chunked_decode(&c, g, 1, &out), H1_CHUNK_ERROR, "error");
    g = at_guard("5\r\n", 3);
    TAP_OK(h1_chunked_decode(&c, g, 3, &out) == H1_CHUNK_ERROR &&
               strcmp(out.why, "invalid chunk size") == 0,
           "errors are sticky");
    h1_chunked_init(&c, 16, 64);
    TAP_INT_EQ(h1_chunked_decode(&c, g, 0, &out), H1_CHUNK_MORE, "empty input");
    TAP_INT_EQ(out.consumed, 0, "empty input consumes nothing");
}

static void test_writers(void)
{
    char h[H1_CHUNK_HEADER_MAX];
    size_t n = h1_chunk_header(h, 1);
    TAP_OK(n == 3 && memcmp(h, "1\r\n", 3) == 0, "chunk header 1");
    n = h1_chunk_header(h, 255);
    TAP_OK(n == 4 && memcmp(h, "ff\r\n", 4) == 0, "chunk header 255");
    n = h1_chunk_header(h, 0x10);
    TAP_OK(n == 4 && memcmp(h, "10\r\n", 4) == 0, "chunk header 16");
    n = h1_chunk_header(h, UINT64_MAX);
    TAP_OK(n == 18 && memcmp(h, "ffffffffffffffff\r\n", 18) == 0, "chunk header 2^64-1");
    TAP_INT_EQ(h1_chunk_header(h, 0), 0, "no header for an empty chunk");

    char last[64];
    n = h1_chunk_last(last, 5, NULL, 0);
    TAP_OK(n == 5 && memcmp(last, "0\r\n\r\n", 5) == 0, "last chunk");
    n = h1_chunk_last(last, sizeof(last), "X: 1\r\n", 6);
    TAP_OK(n == 11 && memcmp(last, "0\r\nX: 1\r\n\r\n", 11) == 0, "last chunk with trailer");
    TAP_INT_EQ(h1_chunk_last(last, 10, "X: 1\r\n", 6), 0, "too small");
    TAP_INT_EQ(h1_chunk_last(last, 4, NULL, 0), 0, "too small for the last chunk");

    /* round trip: encode with the writers, decode back */
    char enc[2048], plain[1000];
    size_t e = 0;
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (char)(i * 7 + 3);
    for (size_t off = 0, sz = 1; off < sizeof(plain); off += sz, sz = sz * 3 + 1) {
        if (sz > sizeof(plain) - off)
            sz = sizeof(plain) - off;
        e += h1_chunk_header(enc + e, sz);
        memcpy(enc + e, plain + off, sz);
        e += sz;
        memcpy(enc + e, "\r\n", 2);
        e += 2;
    }
    e += h1_chunk_last(enc + e, sizeof(enc) - e, "T: v\r\n", 6);
    struct result r;
    decode_pieces(enc, e, NULL, 0, &r);
    TAP_OK(r.rc == H1_CHUNK_DONE && r.data_len == sizeof(plain) &&
               memcmp(r.data, plain, sizeof(plain)) == 0 && r.consumed == e && r.trailer_len == 6,
           "writers round-trip through the decoder");
}

int main(void)
{
    guard_setup();
    test_valid();
    test_invalid();
    test_limits();
    test_api();
    test_writers();
    return tap_done();
}
