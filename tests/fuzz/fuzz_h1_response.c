/* libFuzzer target for h1_parse_response. The first input byte says what the
 * request was (its low bits are H1_REQ_HEAD, _CONNECT, _UPGRADE); the rest
 * is the response. Checks as fuzz_h1_request: no over-read, promises of an
 * accepted head, prefixes agree with the whole, tighter limits only ever add
 * a limit error. */
#include "http/h1_parser.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXH 32
static const struct h1_limits big = { 4096, 16384, MAXH };
static const struct h1_limits small = { 24, 160, 3 };

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_h1_response: %s\n", what);
        abort();
    }
}

static int inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

static int parse(const uint8_t *s, size_t n, unsigned rf, struct http_field *h,
                 struct h1_response *res, char **copy, const struct h1_limits *lim)
{
    *copy = malloc(n ? n : 1);
    check(*copy != NULL, "out of memory");
    if (n)
        memcpy(*copy, s, n);
    return h1_parse_response(*copy, n, lim, rf, h, res);
}

static void check_accepted(const char *buf, size_t len, int r, unsigned rf,
                           const struct h1_response *res, const struct http_field *h)
{
    check((size_t)r <= len && r >= 16 && memcmp(buf + r - 4, "\r\n\r\n", 4) == 0, "head length");
    check(memcmp(buf, "HTTP/1.", 7) == 0 && res->minor_version == buf[7] - '0', "version");
    check(res->status >= 100 && res->status <= 599, "status range");
    if (res->reason_phrase_len) {
        check(inside(res->reason_phrase, res->reason_phrase_len, buf, (size_t)r), "reason span");
        for (size_t i = 0; i < res->reason_phrase_len; i++)
            check(h1_char_class[(unsigned char)res->reason_phrase[i]] & H1_C_VALUE, "reason bytes");
    }
    check(res->num_headers <= big.max_headers, "header count");
    for (size_t i = 0; i < res->num_headers; i++) {
        check(inside(h[i].name, h[i].name_len, buf, (size_t)r) && h[i].name_len > 0, "name span");
        check(inside(h[i].value, h[i].value_len, buf, (size_t)r), "value span");
        for (size_t j = 0; j < h[i].value_len; j++)
            check(h1_char_class[(unsigned char)h[i].value[j]] & H1_C_VALUE, "value bytes");
    }
    int st = res->status;
    int bodyless = (rf & H1_REQ_HEAD) || st < 200 || st == 204 || st == 304;
    int tunnel = st == 101 || ((rf & H1_REQ_CONNECT) && st / 100 == 2);
    if (st == 101)
        check(rf & H1_REQ_UPGRADE, "101 only after an upgrade request");
    unsigned te = res->flags & H1_F_TRANSFER_ENCODING;
    switch (res->body) {
    case H1_BODY_TUNNEL: check(tunnel, "tunnel"); break;
    case H1_BODY_NONE: check(!tunnel && bodyless, "no body"); break;
    case H1_BODY_CHUNKED:
        check(!tunnel && !bodyless && te && res->minor_version == 1, "chunked");
        break;
    case H1_BODY_LENGTH:
        check(!tunnel && !bodyless && !te && (res->flags & H1_F_CONTENT_LENGTH), "length");
        break;
    case H1_BODY_CLOSE: check(!tunnel && !bodyless, "until close"); break;
    default: check(0, "body kind");
    }
    if (res->body == H1_BODY_CLOSE || res->body == H1_BODY_TUNNEL)
        check(!(res->flags & H1_F_KEEP_ALIVE), "close-delimited is not keep-alive");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_field h[MAXH];
    struct h1_response res, res2;
    char *buf, *copy;

    if (size == 0)
        return 0;
    unsigned rf = data[0] & 7u;
    data++;
    size--;

    int r = parse(data, size, rf, h, &res, &buf, &big);
    if (r > 0)
        check_accepted(buf, size, r, rf, &res, h);
    else if (r == H1_ERROR)
        check(res.err_status == 502 && res.err_reason && res.err_reason[0], "error");
    else
        check(r == H1_INCOMPLETE, "return value");

    size_t step = size <= 512 ? 1 : size / 128;
    for (size_t k = 0; k < size; k += step) {
        int rk = parse(data, k, rf, h, &res2, &copy, &big);
        if (r > 0)
            check(k < (size_t)r ? rk == H1_INCOMPLETE : rk == r, "prefix of an accepted head");
        else if (r == H1_INCOMPLETE)
            check(rk == H1_INCOMPLETE, "prefix of an incomplete head");
        else
            check(rk == H1_INCOMPLETE ||
                      (rk == H1_ERROR && strcmp(res2.err_reason, res.err_reason) == 0),
                  "prefix of a rejected head");
        free(copy);
    }

    int rs = parse(data, size, rf, h, &res2, &copy, &small);
    if (rs > 0)
        check(rs == r, "accepted under small limits but not under big ones");
    else if (rs == H1_INCOMPLETE)
        check(r == H1_INCOMPLETE, "incomplete under small limits only");
    else if (strcmp(res2.err_reason, "status line too long") != 0 &&
             strcmp(res2.err_reason, "response header section too large") != 0 &&
             strcmp(res2.err_reason, "too many header fields") != 0)
        check(r == H1_ERROR && strcmp(res.err_reason, res2.err_reason) == 0,
              "small limits changed a non-limit error");
    free(copy);
    free(buf);
    return 0;
}
