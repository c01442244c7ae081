/* TOML parser: the cursor (position tracking, whitespace, comments, UTF-8)
 * and error recording. */
#include "config/toml_internal.h"

#include <limits.h>
#include <stdio.h>

int tp_peek(const struct tp_parser *p)
{
    return p->at.off < p->len ? p->src[p->at.off] : -1;
}

int tp_peek_at(const struct tp_parser *p, size_t k)
{
    return p->len - p->at.off > k ? p->src[p->at.off + k] : -1;
}

void tp_advance(struct tp_parser *p, size_t n)
{
    for (size_t i = 0; i < n && p->at.off < p->len; i++) {
        /* columns count code points: continuation bytes do not start one */
        if ((p->src[p->at.off] & 0xC0) != 0x80 && p->at.col < INT_MAX)
            p->at.col++;
        p->at.off++;
    }
}

bool tp_at_newline(const struct tp_parser *p)
{
    int c = tp_peek(p);
    return c == '\n' || (c == '\r' && tp_peek_at(p, 1) == '\n');
}

void tp_newline(struct tp_parser *p)
{
    if (tp_peek(p) == '\r')
        p->at.off++;
    p->at.off++;
    if (p->at.line < INT_MAX)
        p->at.line++;
    p->at.col = 1;
}

void tp_skip_ws(struct tp_parser *p)
{
    while (p->at.off < p->len && (p->src[p->at.off] == ' ' || p->src[p->at.off] == '\t')) {
        p->at.off++;
        p->at.col++;
    }
}

size_t tp_utf8_len(const unsigned char *s, size_t n)
{
    unsigned lo = 0x80, hi = 0xBF;
    size_t need;

    if (n == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 1;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 2;
        if (s[0] == 0xE0)
            lo = 0xA0; /* no overlong forms */
        if (s[0] == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 3;
        if (s[0] == 0xF0)
            lo = 0x90;
        if (s[0] == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n <= need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i <= need; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return need + 1;
}

bool tp_is_bare_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

bool tp_skip_comment(struct tp_parser *p)
{
    if (tp_peek(p) != '#')
        return true;
    tp_advance(p, 1);
    for (;;) {
        int c = tp_peek(p);
        if (c < 0 || tp_at_newline(p))
            return true;
        if (c >= 0x80) {
            size_t n = tp_utf8_len(p->src + p->at.off, p->len - p->at.off);
            if (n == 0)
                return tp_fail_utf8(p);
            tp_advance(p, n);
        } else if ((c < 0x20 && c != '\t') || c == 0x7F) {
            return tp_fail(p, &p->at, "control character U+%04X is not allowed in comments", c);
        } else {
            tp_advance(p, 1);
        }
    }
}

bool tp_skip_blank(struct tp_parser *p)
{
    for (;;) {
        tp_skip_ws(p);
        if (tp_peek(p) == '#') {
            if (!tp_skip_comment(p))
                return false;
        } else if (tp_at_newline(p)) {
            tp_newline(p);
        } else {
            return true;
        }
    }
}

bool tp_end_of_line(struct tp_parser *p, const char *after_what)
{
    tp_skip_ws(p);
    if (!tp_skip_comment(p))
        return false;
    if (tp_peek(p) < 0)
        return true;
    if (tp_at_newline(p)) {
        tp_newline(p);
        return true;
    }
    return tp_fail_unexpected(p, "expected end of line after %s", after_what);
}

static void record(struct tp_parser *p, const struct tp_mark *at, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void record(struct tp_parser *p, const struct tp_mark *at, const char *fmt, va_list ap)
{
    if (p->failed)
        return;
    p->failed = true;
    p->err->line = at->line;
    p->err->col = at->col;
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
}

bool tp_fail(struct tp_parser *p, const struct tp_mark *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(p, at, fmt, ap);
    va_end(ap);
    return false;
}

bool tp_fail_utf8(struct tp_parser *p)
{
    return tp_fail(p, &p->at, "invalid UTF-8 byte 0x%02x", (unsigned)tp_peek(p));
}

bool tp_fail_oom(struct tp_parser *p)
{
    return tp_fail(p, &p->at, "out of memory");
}

/* The code point of the valid UTF-8 sequence of n bytes at s. */
static unsigned long code_point(const unsigned char *s, size_t n)
{
    static const unsigned char lead_mask[5] = { 0, 0x7F, 0x1F, 0x0F, 0x07 };
    unsigned long cp = s[0] & lead_mask[n];

    for (size_t i = 1; i < n; i++)
        cp = cp << 6 | (s[i] & 0x3F);
    return cp;
}

bool tp_fail_unexpected(struct tp_parser *p, const char *fmt, ...)
{
    const unsigned char *s = p->src + p->at.off;
    size_t n = tp_utf8_len(s, p->len - p->at.off);
    char msg[sizeof p->err->msg];
    va_list ap;

    if (p->at.off < p->len && n == 0)
        return tp_fail_utf8(p);
    if (n == 1 && s[0] == '\r' && tp_peek_at(p, 1) != '\n')
        return tp_fail(p, &p->at, "carriage return must be followed by a newline");
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* name characters that cannot be seen: controls and non-ASCII (which
     * may be look-alikes such as U+3000, the ideographic space) */
    if (n > 1 || (n == 1 && (s[0] < 0x20 || s[0] == 0x7F) && s[0] != '\n'))
        return tp_fail(p, &p->at, "%s, found U+%04lX", msg, code_point(s, n));
    return tp_fail(p, &p->at, "%s", msg);
}
