/* Request-side Cookie splitting for sticky routes. */
#include "upstream/cookie.h"

#include <string.h>

static bool cookie_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* State of one pass over the pairs: counting candidates (out == NULL) or
 * writing the other pairs to out. */
struct cookie_walk {
    const char *name;
    size_t candidates;
    const char *value;
    size_t value_len;
    char *out; /* NULL while counting */
    size_t cap, len;
    bool overflow;
};

static void cookie_visit(struct cookie_walk *w, const char *p, size_t len)
{
    if (cookie_is_named(p, len, w->name)) {
        if (w->candidates++ == 0) {
            size_t skip = strlen(w->name) + 1;
            while (skip < len && cookie_blank(p[skip]))
                skip++;
            w->value = p + skip;
            w->value_len = len - skip;
        }
        return;
    }
    if (!w->out)
        return;
    size_t need = (w->len ? 2 : 0) + len;
    if (w->overflow || need >= w->cap - w->len) {
        w->overflow = true;
        return;
    }
    if (w->len) {
        w->out[w->len++] = ';';
        w->out[w->len++] = ' ';
    }
    memcpy(w->out + w->len, p, len);
    w->len += len;
}

/* Feeds every non-empty trimmed ';'-separated pair of fields[0..n) to
 * cookie_visit(), in order. */
static void cookie_walk_fields(struct cookie_walk *w, const struct cookie_field *fields, size_t n)
{
    for (size_t f = 0; f < n; f++) {
        const char *s = fields[f].ptr;
        size_t len = fields[f].ptr ? fields[f].len : 0;
        size_t i = 0;
        while (i <= len) {
            size_t start = i;
            while (i < len && s[i] != ';')
                i++;
            size_t a = start, b = i;
            while (a < b && cookie_blank(s[a]))
                a++;
            while (b > a && cookie_blank(s[b - 1]))
                b--;
            if (b > a)
                cookie_visit(w, s + a, b - a);
            i++; /* past the ';' (or past the end) */
        }
    }
}

bool cookie_is_named(const char *s, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && memcmp(s, name, n) == 0 && s[n] == '=';
}

size_t cookie_rest_max(const struct cookie_field *fields, size_t n)
{
    /* Each output pair costs at most its bytes plus "; ", and every pair but
     * the last of a field is followed by at least one input byte (';'). */
    size_t total = 1;
    for (size_t f = 0; f < n; f++)
        total += 2 * (fields[f].ptr ? fields[f].len : 0) + 2;
    return total;
}

int cookie_take(const struct cookie_field *fields, size_t n, const char *name, char *out,
                size_t cap, struct cookie_take_result *res)
{
    struct cookie_walk w = { .name = name };
    memset(res, 0, sizeof *res);
    cookie_walk_fields(&w, fields, n);
    if (w.candidates == 0)
        return 0;
    res->found = w.candidates == 1 ? COOKIE_FOUND_ONE : COOKIE_FOUND_SEVERAL;
    if (w.candidates == 1) {
        res->value = w.value;
        res->value_len = w.value_len;
    }
    if (cap == 0)
        return -1;
    struct cookie_walk wr = { .name = name, .out = out, .cap = cap };
    cookie_walk_fields(&wr, fields, n);
    if (wr.overflow)
        return -1;
    out[wr.len] = '\0';
    res->rest_len = wr.len;
    return 0;
}
