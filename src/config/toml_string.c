/* TOML parser: basic, literal and multi-line strings with their escapes. */
#include "config/toml_internal.h"

#include <stdlib.h>
#include <string.h>

/* A growing byte buffer for the decoded string. */
struct strbuf {
    char *ptr;
    size_t len, cap;
};

static bool buf_put(struct tp_parser *p, struct strbuf *b, const void *data, size_t n)
{
    if (b->cap - b->len <= n) { /* keep room for the terminating NUL */
        size_t cap = b->cap ? b->cap : 32;
        while (cap - b->len <= n)
            cap *= 2;
        char *grown = realloc(b->ptr, cap);
        if (!grown)
            return tp_fail_oom(p);
        b->ptr = grown;
        b->cap = cap;
    }
    memcpy(b->ptr + b->len, data, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return true;
}

/* Copies one literal character from the text, rejecting control characters
 * (tab is allowed) and invalid UTF-8. */
static bool copy_char(struct tp_parser *p, struct strbuf *b)
{
    const unsigned char *s = p->src + p->at.off;
    size_t n = tp_utf8_len(s, p->len - p->at.off);

    if (n == 0)
        return tp_fail_utf8(p);
    if ((s[0] < 0x20 && s[0] != '\t') || s[0] == 0x7F)
        return tp_fail(p, &p->at, "control character U+%04X is not allowed in strings", s[0]);
    if (!buf_put(p, b, s, n))
        return false;
    tp_advance(p, n);
    return true;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* \uXXXX or \UXXXXXXXX at the cursor (on the backslash). */
static bool unicode_escape(struct tp_parser *p, struct strbuf *b)
{
    struct tp_mark at = p->at;
    int letter = tp_peek_at(p, 1);
    size_t digits = letter == 'u' ? 4 : 8;
    uint32_t cp = 0;
    char utf8[4];

    for (size_t i = 0; i < digits; i++) {
        int v = hex_value(tp_peek_at(p, 2 + i));
        if (v < 0) {
            tp_advance(p, 2 + i);
            return tp_fail_unexpected(p, "expected %zu hex digits after '\\%c'", digits, letter);
        }
        cp = cp << 4 | (uint32_t)v;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return tp_fail(p, &at, "invalid unicode escape '\\%c%.*s' (surrogate code point)", letter,
                       (int)digits, (const char *)p->src + at.off + 2);
    if (cp > 0x10FFFF)
        return tp_fail(p, &at, "invalid unicode escape '\\%c%.*s' (beyond U+10FFFF)", letter,
                       (int)digits, (const char *)p->src + at.off + 2);
    tp_advance(p, 2 + digits);
    return buf_put(p, b, utf8, utf8_encode(cp, utf8));
}

/* A backslash at the end of a line in a multi-line basic string: skip it,
 * the newline and all whitespace and newlines that follow. Returns false
 * (without an error) if this backslash is not such a line ending. */
static bool line_ending_backslash(struct tp_parser *p)
{
    size_t k = 1;
    int c;

    while ((c = tp_peek_at(p, k)) == ' ' || c == '\t')
        k++;
    if (c != '\n' && !(c == '\r' && tp_peek_at(p, k + 1) == '\n'))
        return false;
    tp_advance(p, k);
    for (;;) {
        tp_skip_ws(p);
        if (!tp_at_newline(p))
            return true;
        tp_newline(p);
    }
}

static const char *describe_after_backslash(int c)
{
    if (c == ' ')
        return "a space";
    if (c == '\t')
        return "a tab";
    if (c == '\n' || c == '\r')
        return "a newline";
    return "a control or non-ASCII character";
}

/* An escape sequence at the cursor (on the backslash). */
static bool escape(struct tp_parser *p, struct strbuf *b, bool multiline,
                   const struct tp_mark *start)
{
    int c = tp_peek_at(p, 1);
    char ch;

    switch (c) {
    case 'b': ch = '\b'; break;
    case 't': ch = '\t'; break;
    case 'n': ch = '\n'; break;
    case 'f': ch = '\f'; break;
    case 'r': ch = '\r'; break;
    case '"': ch = '"'; break;
    case '\\': ch = '\\'; break;
    case 'u':
    case 'U': return unicode_escape(p, b);
    default:
        if (multiline && line_ending_backslash(p))
            return true;
        if (c < 0)
            return tp_fail(p, start,
                           multiline ? "unterminated multi-line string" : "unterminated string");
        if (c > 0x20 && c < 0x7F)
            return tp_fail(p, &p->at, "invalid escape sequence '\\%c' in string", c);
        return tp_fail(p, &p->at, "invalid escape sequence in string: '\\' followed by %s",
                       describe_after_backslash(c));
    }
    tp_advance(p, 2);
    return buf_put(p, b, &ch, 1);
}

/* The closing delimiter of a multi-line string: a run of 3 to 5 quotes, of
 * which all but the last 3 belong to the content. Returns 1 if the string
 * ended, 0 if the quotes were content, -1 on error. */
static int multiline_quotes(struct tp_parser *p, struct strbuf *b, int quote)
{
    size_t run = 0;

    while (tp_peek_at(p, run) == quote)
        run++;
    if (run < 3) {
        if (!buf_put(p, b, p->src + p->at.off, run))
            return -1;
        tp_advance(p, run);
        return 0;
    }
    if (run > 5) {
        tp_advance(p, 5);
        tp_fail(p, &p->at, "too many quotes at the end of a multi-line string");
        return -1;
    }
    if (!buf_put(p, b, p->src + p->at.off, run - 3))
        return -1;
    tp_advance(p, run);
    return 1;
}

static bool multiline_string(struct tp_parser *p, struct strbuf *b, int quote)
{
    struct tp_mark start = p->at;

    tp_advance(p, 3);
    if (tp_at_newline(p)) /* a newline right after the opening quotes is trimmed */
        tp_newline(p);
    for (;;) {
        int c = tp_peek(p);
        if (c < 0)
            return tp_fail(p, &start, "unterminated multi-line string");
        if (c == quote) {
            int r = multiline_quotes(p, b, quote);
            if (r != 0)
                return r > 0;
        } else if (c == '\\' && quote == '"') {
            if (!escape(p, b, true, &start))
                return false;
        } else if (tp_at_newline(p)) {
            if (!buf_put(p, b, "\n", 1))
                return false;
            tp_newline(p);
        } else if (!copy_char(p, b)) {
            return false;
        }
    }
}

static bool single_line_string(struct tp_parser *p, struct strbuf *b, int quote)
{
    struct tp_mark start = p->at;

    tp_advance(p, 1);
    for (;;) {
        int c = tp_peek(p);
        if (c < 0 || tp_at_newline(p))
            return tp_fail(p, &start, "unterminated string");
        if (c == quote) {
            tp_advance(p, 1);
            return true;
        }
        if (c == '\\' && quote == '"') {
            if (!escape(p, b, false, &start))
                return false;
        } else if (!copy_char(p, b)) {
            return false;
        }
    }
}

bool tp_parse_string(struct tp_parser *p, bool allow_multiline, char **out, size_t *out_len)
{
    struct strbuf b = { 0 };
    int quote = tp_peek(p);
    bool ok;

    if (tp_peek_at(p, 1) == quote && tp_peek_at(p, 2) == quote) {
        if (!allow_multiline)
            return tp_fail(p, &p->at, "multi-line strings are not allowed as keys");
        ok = multiline_string(p, &b, quote);
    } else {
        ok = single_line_string(p, &b, quote);
    }
    if (ok && !b.ptr)
        ok = buf_put(p, &b, "", 0);
    if (!ok) {
        free(b.ptr);
        return false;
    }
    *out = b.ptr;
    *out_len = b.len;
    return true;
}
