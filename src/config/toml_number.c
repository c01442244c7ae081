/* TOML parser: integers (decimal, hex, octal, binary) and floats. */
#include "config/toml_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

size_t tp_word_len(const struct tp_parser *p)
{
    size_t n = 0;
    int c;

    while ((c = tp_peek_at(p, n)) >= 0 && (tp_is_bare_char(c) || c == '+' || c == '.' || c == ':'))
        n++;
    return n;
}

/* The number being parsed: its text and where it starts. Words are ASCII,
 * so the column of byte i is start.col + i. */
struct number {
    const char *w;
    size_t n;
    struct tp_mark start;
};

static bool fail_at(struct tp_parser *p, const struct number *num, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool fail_at(struct tp_parser *p, const struct number *num, size_t i, const char *fmt, ...)
{
    struct tp_mark at = num->start;
    char msg[sizeof p->err->msg];
    va_list ap;

    at.off += i;
    at.col += (int)i;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tp_fail(p, &at, "%s", msg);
}

static int digit_value(int c, int radix)
{
    int v = -1;

    if (c >= '0' && c <= '9')
        v = c - '0';
    else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
    return v < radix ? v : -1;
}

/* Scans digits of a radix from *i, each underscore between two digits.
 * The first character must already be known to be a digit. */
static bool scan_digits(struct tp_parser *p, const struct number *num, size_t *i, int radix)
{
    while (*i < num->n) {
        char c = num->w[*i];
        if (c == '_') {
            if (*i + 1 >= num->n || digit_value(num->w[*i + 1], radix) < 0)
                return fail_at(p, num, *i, "underscores in numbers must be between digits");
        } else if (digit_value(c, radix) < 0) {
            return true;
        }
        (*i)++;
    }
    return true;
}

/* Accumulates the digits of w[from, to) (skipping underscores) into a
 * magnitude, failing once it exceeds limit. */
static bool accumulate(struct tp_parser *p, const struct number *num, size_t from, size_t to,
                       int radix, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;

    for (size_t i = from; i < to; i++) {
        if (num->w[i] == '_')
            continue;
        uint64_t d = (uint64_t)digit_value(num->w[i], radix);
        if (v > (limit - d) / (uint64_t)radix)
            return fail_at(p, num, 0, "integer overflows 64 bits");
        v = v * (uint64_t)radix + d;
    }
    *out = v;
    return true;
}

/* 0x, 0o and 0b integers; i is just past the prefix. */
static bool radix_integer(struct tp_parser *p, const struct number *num, struct toml_value *out)
{
    static const char *const names[] = { [2] = "binary", [8] = "octal", [16] = "hexadecimal" };
    static const char *const articles[] = { [2] = "a", [8] = "an", [16] = "a" };
    char prefix = num->w[1];
    int radix = prefix == 'x' ? 16 : prefix == 'o' ? 8 : 2;
    size_t i = 2;
    uint64_t v;

    if (i >= num->n || digit_value(num->w[i], radix) < 0)
        return fail_at(p, num, i, "expected %s %s digit after '0%c'", articles[radix], names[radix],
                       prefix);
    if (!scan_digits(p, num, &i, radix))
        return false;
    if (i < num->n)
        return fail_at(p, num, i, "invalid character '%c' in %s integer", num->w[i], names[radix]);
    if (!accumulate(p, num, 2, num->n, radix, INT64_MAX, &v))
        return false;
    out->type = TOML_INTEGER;
    out->u.i = (int64_t)v;
    return true;
}

static bool decimal_integer(struct tp_parser *p, const struct number *num, size_t i, bool neg,
                            struct toml_value *out)
{
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v;

    if (!accumulate(p, num, i, num->n, 10, limit, &v))
        return false;
    out->type = TOML_INTEGER;
    if (!neg)
        out->u.i = (int64_t)v;
    else if (v == (uint64_t)INT64_MAX + 1)
        out->u.i = INT64_MIN;
    else
        out->u.i = -(int64_t)v;
    return true;
}

static bool decimal_float(struct tp_parser *p, const struct number *num, struct toml_value *out)
{
    char small[64];
    char *text = num->n < sizeof small ? small : malloc(num->n + 1);
    size_t len = 0;
    char *end;
    double d;

    if (!text)
        return tp_fail_oom(p);
    for (size_t i = 0; i < num->n; i++)
        if (num->w[i] != '_')
            text[len++] = num->w[i];
    text[len] = '\0';
    /* the syntax is already checked, so strtod reads all of it (in the C
     * locale, which the proxy never changes) */
    errno = 0;
    d = strtod(text, &end);
    bool overflow = errno == ERANGE && isinf(d);
    if (text != small)
        free(text);
    if (overflow)
        return fail_at(p, num, 0, "float is out of range");
    out->type = TOML_FLOAT;
    out->u.f = d;
    return true;
}

static bool special_float(const struct number *num, size_t i, bool neg, struct toml_value *out)
{
    if (num->n - i != 3)
        return false;
    if (memcmp(num->w + i, "inf", 3) == 0)
        out->u.f = neg ? -INFINITY : INFINITY;
    else if (memcmp(num->w + i, "nan", 3) == 0)
        out->u.f = neg ? -NAN : NAN;
    else
        return false;
    out->type = TOML_FLOAT;
    return true;
}

bool tp_parse_number(struct tp_parser *p, struct toml_value *out)
{
    struct number num = { (const char *)p->src + p->at.off, tp_word_len(p), p->at };
    bool sign = num.n > 0 && (num.w[0] == '+' || num.w[0] == '-');
    bool neg = sign && num.w[0] == '-';
    size_t i = sign ? 1 : 0, int_start = i;
    bool is_float = false;

    if (special_float(&num, i, neg, out))
        goto done;
    if (i >= num.n || !is_digit(num.w[i])) {
        if (num.n == 0)
            return tp_fail_unexpected(p, "expected a value");
        return fail_at(p, &num, 0, "invalid value '%.*s'", num.n > 40 ? 40 : (int)num.n, num.w);
    }
    if (num.w[i] == '0' && i + 1 < num.n &&
        (num.w[i + 1] == 'x' || num.w[i + 1] == 'o' || num.w[i + 1] == 'b')) {
        if (sign)
            return fail_at(p, &num, 0, "a sign is not allowed on hex, octal or binary integers");
        if (!radix_integer(p, &num, out))
            return false;
        goto done;
    }
    if (!scan_digits(p, &num, &i, 10))
        return false;
    size_t int_end = i;
    if (i < num.n && num.w[i] == '.') {
        is_float = true;
        if (++i >= num.n || !is_digit(num.w[i]))
            return fail_at(p, &num, i, "expected a digit after the decimal point");
        if (!scan_digits(p, &num, &i, 10))
            return false;
    }
    if (i < num.n && (num.w[i] == 'e' || num.w[i] == 'E')) {
        is_float = true;
        if (++i < num.n && (num.w[i] == '+' || num.w[i] == '-'))
            i++;
        if (i >= num.n || !is_digit(num.w[i]))
            return fail_at(p, &num, i, "expected a digit in the exponent");
        if (!scan_digits(p, &num, &i, 10))
            return false;
    }
    if (i < num.n)
        return fail_at(p, &num, i, "invalid character '%c' in number", num.w[i]);
    if (num.w[int_start] == '0' && int_end - int_start > 1)
        return fail_at(p, &num, int_start, "leading zeros are not allowed in %s",
                       is_float ? "floats" : "integers");
    if (is_float ? !decimal_float(p, &num, out) : !decimal_integer(p, &num, int_start, neg, out))
        return false;
done:
    tp_advance(p, num.n);
    return true;
}
