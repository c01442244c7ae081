/* libFuzzer target for the chunked decoder: decode the input in one piece,
 * then split at every point (short inputs) or at pseudo-random points, and
 * one byte at a time; every way must give the same data, trailer, end and
 * error. Each call reads an exact-size copy, so ASan sees any over-read.
 * A decoded body is re-encoded with the writers and must decode the same. */
#include "http/h1_chunked.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EXT 32
#define MAX_TRAILER 128

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_h1_chunked: %s\n", what);
        abort();
    }
}

struct result {
    int rc;
    char *data; /* as big as the input */
    size_t data_len;
    char trailer[MAX_TRAILER];
    size_t trailer_len;
    size_t consumed;
    const char *why;
};

/* Feeds in[0..n) in pieces ending at cuts[0..ncuts) and then n, keeping
 * unconsumed bytes like a read loop does. */
static void decode(const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts,
                   struct result *res)
{
    struct h1_chunked c;
    struct h1_chunk_out out;
    char *acc = malloc(n ? n : 1);
    size_t have = 0, pos = 0;

    check(acc != NULL, "out of memory");
    h1_chunked_init(&c, MAX_EXT, MAX_TRAILER);
    res->rc = H1_CHUNK_MORE;
    res->data_len = res->trailer_len = res->consumed = 0;
    res->why = NULL;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t upto = i < ncuts ? cuts[i] : n;
        memcpy(acc + have, in + pos, upto - pos);
        have += upto - pos;
        pos = upto;
        for (;;) {
            char *g = malloc(have ? have : 1);
            check(g != NULL, "out of memory");
            memcpy(g, acc, have);
            int rc = h1_chunked_decode(&c, g, have, &out);
            if (rc == H1_CHUNK_ERROR) {
                check(out.why && out.why[0], "error without a reason");
                res->rc = rc;
                res->why = out.why;
                free(g);
                goto done;
            }
            check(out.consumed <= have, "consumed more than given");
            if (rc == H1_CHUNK_DATA) {
                check(out.data_len > 0 && out.data >= g &&
                          out.data + out.data_len == g + out.consumed,
                      "data span");
                check(res->data_len + out.data_len <= n, "more data than input");
                memcpy(res->data + res->data_len, out.data, out.data_len);
                res->data_len += out.data_len;
            } else if (rc == H1_CHUNK_DONE) {
                check(out.trailer_len + 2 <= MAX_TRAILER && out.trailer >= g &&
                          out.trailer + out.trailer_len + 2 == g + out.consumed &&
                          memcmp(out.trailer + out.trailer_len, "\r\n", 2) == 0,
                      "trailer span");
                memcpy(res->trailer, out.trailer, out.trailer_len);
                res->trailer_len = out.trailer_len;
            } else {
                check(rc == H1_CHUNK_MORE, "return value");
            }
            res->consumed += out.consumed;
            have -= out.consumed;
            memmove(acc, acc + out.consumed, have);
            free(g);
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

static void same(const struct result *a, const struct result *b, const char *how)
{
    int ok =
        a->rc == b->rc && a->data_len == b->data_len && memcmp(a->data, b->data, a->data_len) == 0;
    if (ok && a->rc != H1_CHUNK_ERROR)
        ok = a->consumed == b->consumed;
    if (ok && a->rc == H1_CHUNK_DONE)
        ok =
            a->trailer_len == b->trailer_len && memcmp(a->trailer, b->trailer, a->trailer_len) == 0;
    if (ok && a->rc == H1_CHUNK_ERROR)
        ok = strcmp(a->why, b->why) == 0;
    if (!ok)
        fprintf(stderr,
                "one piece: rc %d data %zu consumed %zu why %s; %s: rc %d data %zu "
                "consumed %zu why %s\n",
                a->rc, a->data_len, a->consumed, a->why ? a->why : "-", how, b->rc, b->data_len,
                b->consumed, b->why ? b->why : "-");
    check(ok, "split decoding differs from one-piece decoding");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct result whole, r;
    size_t cuts[3];

    whole.data = malloc(size + 1);
    r.data = malloc(size + 1);
    check(whole.data && r.data, "out of memory");
    decode(data, size, NULL, 0, &whole);

    if (size <= 128) {
        for (size_t k = 0; k <= size; k++) {
            cuts[0] = k;
            decode(data, size, cuts, 1, &r);
            same(&whole, &r, "split in two");
        }
    } else {
        uint32_t x = (uint32_t)size * 2654435761u;
        for (int i = 0; i < 32; i++) {
            for (int j = 0; j < 3; j++) {
                x = x * 1103515245u + 12345u;
                cuts[j] = (x >> 8) % (size + 1);
            }
            if (cuts[0] > cuts[1]) {
                size_t t = cuts[0];
                cuts[0] = cuts[1];
                cuts[1] = t;
            }
            if (cuts[1] > cuts[2]) {
                size_t t = cuts[1];
                cuts[1] = cuts[2];
                cuts[2] = t;
            }
            if (cuts[0] > cuts[1]) {
                size_t t = cuts[0];
                cuts[0] = cuts[1];
                cuts[1] = t;
            }
            decode(data, size, cuts, 3, &r);
            same(&whole, &r, "split in four");
        }
    }
    size_t *every = malloc((size ? size : 1) * sizeof(*every));
    check(every != NULL, "out of memory");
    for (size_t k = 0; k < size; k++)
        every[k] = k + 1;
    decode(data, size, every, size, &r);
    same(&whole, &r, "byte by byte");
    free(every);

    if (whole.rc == H1_CHUNK_DONE) {
        /* re-encode in chunks of 1, 2, 3... bytes and decode again */
        size_t cap = whole.data_len * 20 + whole.trailer_len + 8;
        char *enc = malloc(cap);
        size_t e = 0;
        check(enc != NULL, "out of memory");
        for (size_t off = 0, sz = 1; off < whole.data_len; off += sz, sz++) {
            if (sz > whole.data_len - off)
                sz = whole.data_len - off;
            e += h1_chunk_header(enc + e, sz);
            memcpy(enc + e, whole.data + off, sz);
            e += sz;
            memcpy(enc + e, "\r\n", 2);
            e += 2;
        }
        size_t l = h1_chunk_last(enc + e, cap - e, whole.trailer, whole.trailer_len);
        check(l == whole.trailer_len + 5, "last chunk written");
        e += l;
        struct result again;
        again.data = malloc(e + 1);
        check(again.data != NULL, "out of memory");
        decode((const uint8_t *)enc, e, NULL, 0, &again);
        check(again.rc == H1_CHUNK_DONE && again.consumed == e &&
                  again.data_len == whole.data_len &&
                  memcmp(again.data, whole.data, whole.data_len) == 0 &&
                  again.trailer_len == whole.trailer_len &&
                  memcmp(again.trailer, whole.trailer, whole.trailer_len) == 0,
              "re-encoded body decodes differently");
        free(again.data);
        free(enc);
    }
    free(whole.data);
    free(r.data);
    return 0;
}
