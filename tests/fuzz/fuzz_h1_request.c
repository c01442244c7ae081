/* libFuzzer target for h1_parse_request: any input is accepted, rejected or
 * incomplete without reading past its end; an accepted head satisfies the
 * parser's promises; every prefix agrees with the whole (H1_INCOMPLETE or
 * the same result); tighter limits only ever add a 414 or 431. */
#include "http/h1_parser.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXH 32
static const struct h1_limits big = { 4096, 16384, MAXH };
static const struct h1_limits small = { 40, 200, 4 };

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_h1_request: %s\n", what);
        abort();
    }
}

static int inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

/* Parses s[0..n) from an exact-size copy, so ASan sees any over-read. */
static int parse(const uint8_t *s, size_t n, const struct h1_limits *lim, struct http_field *h,
                 struct h1_request *req, char **copy)
{
    *copy = malloc(n ? n : 1);
    check(*copy != NULL, "out of memory");
    if (n)
        memcpy(*copy, s, n);
    return h1_parse_request(*copy, n, lim, h, req);
}

static void check_accepted(const char *buf, size_t len, int r, const struct h1_request *req,
                           const struct http_field *h, const struct h1_limits *lim)
{
    check((size_t)r <= len && (size_t)r <= lim->max_head, "head length");
    check(r >= 16 && memcmp(buf + r - 4, "\r\n\r\n", 4) == 0, "head ends with an empty line");
    check(inside(req->method, req->method_len, buf, (size_t)r) && req->method_len > 0,
          "method span");
    for (size_t i = 0; i < req->method_len; i++)
        check(h1_char_class[(unsigned char)req->method[i]] & H1_C_TOKEN, "method is a token");
    check(inside(req->target, req->target_len, buf, (size_t)r) && req->target_len > 0,
          "target span");
    for (size_t i = 0; i < req->target_len; i++)
        check(h1_char_class[(unsigned char)req->target[i]] & H1_C_TARGET, "target bytes");
    check(req->minor_version == 0 || req->minor_version == 1, "version");
    check(req->num_headers <= lim->max_headers, "header count");
    for (size_t i = 0; i < req->num_headers; i++) {
        check(inside(h[i].name, h[i].name_len, buf, (size_t)r) && h[i].name_len > 0, "name span");
        check(inside(h[i].value, h[i].value_len, buf, (size_t)r), "value span");
        for (size_t j = 0; j < h[i].name_len; j++)
            check(h1_char_class[(unsigned char)h[i].name[j]] & H1_C_TOKEN, "name is a token");
        for (size_t j = 0; j < h[i].value_len; j++)
            check(h1_char_class[(unsigned char)h[i].value[j]] & H1_C_VALUE, "value bytes");
        if (h[i].value_len) {
            char a = h[i].value[0], z = h[i].value[h[i].value_len - 1];
            check(a != ' ' && a != '\t' && z != ' ' && z != '\t', "value trimmed");
        }
    }
    switch (req->form) {
    case H1_TARGET_ORIGIN:
        check(req->target[0] == '/' && req->path == req->target, "origin");
        break;
    case H1_TARGET_ASTERISK:
        check(req->target_len == 1 && req->target[0] == '*', "asterisk");
        break;
    case H1_TARGET_AUTHORITY:
        check(req->method_len == 7 && memcmp(req->method, "CONNECT", 7) == 0, "CONNECT");
        check(req->authority == req->target && req->path == NULL, "authority-form");
        break;
    case H1_TARGET_ABSOLUTE:
        check(inside(req->authority, req->authority_len, req->target, req->target_len) &&
                  req->authority_len > 0,
              "absolute authority");
        check(req->path_len > 0 && req->path[0] == '/', "absolute path");
        check((req->path_len == 1 && !inside(req->path, 1, req->target, req->target_len)) ||
                  req->path + req->path_len == req->target + req->target_len,
              "absolute path span");
        break;
    default: check(0, "form");
    }
    if (req->minor_version == 1)
        check(req->host != NULL, "HTTP/1.1 has a Host");
    unsigned te = req->flags & H1_F_TRANSFER_ENCODING, cl = req->flags & H1_F_CONTENT_LENGTH;
    switch (req->body) {
    case H1_BODY_NONE: check(!te && !cl, "no body, no framing fields"); break;
    case H1_BODY_LENGTH: check(cl && !te, "length framing"); break;
    case H1_BODY_CHUNKED: check(te && !cl && req->minor_version == 1, "chunked framing"); break;
    default: check(0, "request body kind");
    }
    if (req->flags & H1_F_CONN_CLOSE)
        check(!(req->flags & H1_F_KEEP_ALIVE), "close means no keep-alive");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_field h[MAXH];
    struct h1_request req, req2;
    char *buf, *copy;

    int r = parse(data, size, &big, h, &req, &buf);
    if (r > 0)
        check_accepted(buf, size, r, &req, h, &big);
    else if (r == H1_ERROR)
        check(req.err_reason && req.err_reason[0] &&
                  (req.err_status == 400 || req.err_status == 414 || req.err_status == 431 ||
                   req.err_status == 501 || req.err_status == 505),
              "error status and reason");
    else
        check(r == H1_INCOMPLETE, "return value");

    /* prefixes: all of them for short inputs, a sample otherwise */
    size_t step = size <= 512 ? 1 : size / 128;
    for (size_t k = 0; k < size; k += step) {
        int rk = parse(data, k, &big, h, &req2, &copy);
        if (r > 0)
            check(k < (size_t)r ? rk == H1_INCOMPLETE : rk == r, "prefix of an accepted head");
        else if (r == H1_INCOMPLETE)
            check(rk == H1_INCOMPLETE, "prefix of an incomplete head");
        else
            check(rk == H1_INCOMPLETE || (rk == H1_ERROR && req2.err_status == req.err_status &&
                                          strcmp(req2.err_reason, req.err_reason) == 0),
                  "prefix of a rejected head");
        free(copy);
    }

    /* tighter limits */
    int rs = parse(data, size, &small, h, &req2, &copy);
    if (rs > 0)
        check(rs == r, "accepted under small limits but not under big ones");
    else if (rs == H1_INCOMPLETE)
        check(r == H1_INCOMPLETE, "incomplete under small limits only");
    else if (req2.err_status != 414 && req2.err_status != 431)
        check(r == H1_ERROR && req.err_status == req2.err_status &&
                  strcmp(req.err_reason, req2.err_reason) == 0,
              "small limits changed a non-limit error");
    free(copy);
    free(buf);
    return 0;
}
