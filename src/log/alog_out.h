/* Internal to src/log: the output buffer both access-log formats are written
 * into (access_line.c for rpxy's line, access_json.c for JSON) and the
 * pieces they share. Not for use outside src/log. */
#ifndef RPXY_LOG_ALOG_OUT_H
#define RPXY_LOG_ALOG_OUT_H

#include "log/access_line.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* How client bytes are written. */
enum alog_esc {
    ALOG_ESC_RAW,  /* as they are */
    ALOG_ESC_LINE, /* rpxy's line: "\xHH" (access_line.h) */
    ALOG_ESC_JSON, /* inside a JSON string (access_json.h) */
};

/* An output buffer written in units that are never split: an escape, a UTF-8
 * sequence, or a single ASCII byte. Once a unit does not fit, `full` is set,
 * `limit` drops to `len`, and everything after it is dropped. */
struct alog_out {
    char *buf;
    size_t limit; /* bytes that may be written, NUL excluded */
    size_t len;
    bool full;
    enum alog_esc esc;
};

static void alog_stop(struct alog_out *o)
{
    o->full = true;
    o->limit = o->len;
}

/* A unit of n bytes: written whole or not at all. */
static void alog_put(struct alog_out *o, const char *p, size_t n)
{
    if (n > o->limit - o->len) {
        alog_stop(o);
        return;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

/* The end of a run that does not fit: what fits of it, then nothing more. */
void alog_run_cut(struct alog_out *o, const char *p, size_t n);

/* Bytes that may be cut anywhere (ASCII, or raw output): copies what fits. */
static inline void alog_run(struct alog_out *o, const char *p, size_t n)
{
    if (n > o->limit - o->len) {
        alog_run_cut(o, p, n);
        return;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

/* A string literal, its length known at compile time. */
#define ALOG_LIT(o, lit) alog_run((o), (lit), sizeof(lit) - 1)

/* Whether a 64-bit word holds a byte that is not printable ASCII (0x20-
 * 0x7e), or, when json is set, a '"' or '\'. "A byte < 0x20" and "a byte >
 * 0x7e" are each detected exactly (a borrow or carry only ever follows a
 * byte that is itself out of range); so is "a byte equal to c" (the
 * classic zero-byte test on x ^ c). */
static inline bool alog_word_unsafe(uint64_t x, bool json)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t bad = ((x - ones * 0x20) & ~x) | (x + ones) | x;
    if (json) {
        uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        bad |= ((q - ones) & ~q) | ((b - ones) & ~b);
    }
    return (bad & highs) != 0;
}

static inline bool alog_byte_safe(unsigned char c, bool json)
{
    return c >= 0x20 && c < 0x7f && !(json && (c == '"' || c == '\\'));
}

/* Copies the leading run of bytes that need no escaping (alog_word_unsafe)
 * of s[0..n) to out, which has room for n bytes; returns its length. Eight
 * bytes at a time, the last eight overlapping the ones before when n is not
 * a multiple of 8. json is a constant at every call. */
static inline size_t alog_copy_plain(char *out, const unsigned char *s, size_t n, bool json)
{
    uint64_t x;
    size_t i = 0;
    if (n >= 8) {
        for (; i + 8 <= n; i += 8) {
            memcpy(&x, s + i, 8);
            if (alog_word_unsafe(x, json))
                goto bytes;
            memcpy(out + i, &x, 8);
        }
        memcpy(&x, s + n - 8, 8);
        if (!alog_word_unsafe(x, json)) {
            memcpy(out + n - 8, &x, 8);
            return n;
        }
    }
bytes:
    for (; i < n && alog_byte_safe(s[i], json); i++)
        out[i] = (char)s[i];
    return i;
}

/* The common case of escaped text: when all of s[0..n) fits, copies its
 * leading run that needs no escaping; returns its length (0 when it does not
 * fit: the caller goes unit by unit). */
static inline size_t alog_plain_head(struct alog_out *o, const unsigned char *s, size_t n,
                                     bool json)
{
    if (n > o->limit - o->len)
        return 0;
    size_t i = alog_copy_plain(o->buf + o->len, s, n, json);
    o->len += i;
    return i;
}

/* Writes the decimal digits of v; cut like a run when it does not fit. */
void alog_uint(struct alog_out *o, unsigned v);

/* s[0..n) (s may be NULL) with its query redacted when redact is set
 * (SPEC 13.2), the rest escaped as o->esc says. */
void alog_query(struct alog_out *o, const char *s, size_t n, bool redact);

/* "{ip}:{port}", "[{ipv6}]:{port}", or nothing for an unknown family. */
void alog_client(struct alog_out *o, const struct alog_fields *f);

const char *alog_version_text(enum alog_version v);

/* The JSON escaper of access_json.c: s[0..n) inside a JSON string. */
void alog_json_text(struct alog_out *o, const unsigned char *s, size_t n);

#endif
