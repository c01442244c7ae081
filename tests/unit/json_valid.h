/* A strict check of one JSON object of the access log (RFC 8259): members
 * whose values are strings, integers, true, false or null; strings of valid
 * UTF-8 without raw control bytes, with well-formed escapes. Enough for the
 * access log's tests and its fuzz target; not a general parser. */
#ifndef RPXY_TESTS_JSON_VALID_H
#define RPXY_TESTS_JSON_VALID_H

#include "util/utf8.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct jv {
    const unsigned char *p, *end;
};

static bool jv_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool jv_string(struct jv *v)
{
    if (v->p >= v->end || *v->p != '"')
        return false;
    v->p++;
    while (v->p < v->end) {
        unsigned char c = *v->p;
        if (c == '"') {
            v->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (v->end - v->p < 2)
                return false;
            c = v->p[1];
            if (c == 'u') {
                if (v->end - v->p < 6)
                    return false;
                for (int i = 2; i < 6; i++)
                    if (!jv_hex(v->p[i]))
                        return false;
                v->p += 6;
            } else if (strchr("\"\\/bfnrt", c) && c != 0) {
                v->p += 2;
            } else {
                return false;
            }
            continue;
        }
        size_t n = utf8_seq_len(v->p, (size_t)(v->end - v->p));
        if (n == 0)
            return false;
        v->p += n;
    }
    return false;
}

static bool jv_lit(struct jv *v, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(v->end - v->p) < n || memcmp(v->p, lit, n) != 0)
        return false;
    v->p += n;
    return true;
}

static bool jv_value(struct jv *v)
{
    if (v->p >= v->end)
        return false;
    if (*v->p == '"')
        return jv_string(v);
    if (*v->p == '-' || (*v->p >= '0' && *v->p <= '9')) {
        if (*v->p == '-')
            v->p++;
        if (v->p >= v->end || *v->p < '0' || *v->p > '9')
            return false;
        if (*v->p == '0' && v->end - v->p > 1 && v->p[1] >= '0' && v->p[1] <= '9')
            return false; /* no leading zero */
        while (v->p < v->end && *v->p >= '0' && *v->p <= '9')
            v->p++;
        return true;
    }
    return jv_lit(v, "null") || jv_lit(v, "true") || jv_lit(v, "false");
}

/* Whether s[0..n) is exactly one JSON object as above, no whitespace. */
static bool json_valid_object(const char *s, size_t n)
{
    struct jv v = { (const unsigned char *)s, (const unsigned char *)s + n };
    if (!jv_lit(&v, "{"))
        return false;
    if (jv_lit(&v, "}"))
        return v.p == v.end;
    for (;;) {
        if (!jv_string(&v) || !jv_lit(&v, ":") || !jv_value(&v))
            return false;
        if (jv_lit(&v, "}"))
            return v.p == v.end;
        if (!jv_lit(&v, ","))
            return false;
    }
}

#endif
