/* Forwarded parameter values: a token or the inside of a quoted-string. */
#include "proxy/forwarded.h"

static bool is_tchar(int c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~': return true;
    default: return false;
    }
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

size_t fwd_value_decode(const struct fwd_value *v, char *out, size_t cap)
{
    size_t i = 0, n = 0;
    int c;

    while ((c = fwd_value_next(v, &i)) >= 0) {
        if (n < cap)
            out[n] = (char)c;
        n++;
    }
    return n;
}

bool fwd_value_eq_nocase(const struct fwd_value *v, const char *s, size_t n)
{
    size_t i = 0, k = 0;
    int c;

    if (!v->p)
        return false;
    while ((c = fwd_value_next(v, &i)) >= 0) {
        if (k >= n || lower(c) != lower((unsigned char)s[k]))
            return false;
        k++;
    }
    return k == n;
}

bool fwd_value_is_token(const struct fwd_value *v)
{
    size_t i = 0;
    int c;

    if (!v->p || v->len == 0)
        return false;
    while ((c = fwd_value_next(v, &i)) >= 0) {
        if (!is_tchar(c))
            return false;
    }
    return true;
}
