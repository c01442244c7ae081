/* TOML parser: keys (bare, quoted, dotted) and their rendering in messages. */
#include "config/toml_internal.h"

#include <stdlib.h>
#include <string.h>

static bool push_part(struct tp_parser *p, struct tp_key *key, char *s, size_t len,
                      const struct tp_mark *at)
{
    if (key->n == key->cap) {
        size_t cap = key->cap ? key->cap * 2 : 4;
        struct tp_key_part *grown = realloc(key->parts, cap * sizeof *grown);
        if (!grown) {
            free(s);
            return tp_fail_oom(p);
        }
        key->parts = grown;
        key->cap = cap;
    }
    key->parts[key->n++] = (struct tp_key_part){ s, len, *at };
    return true;
}

static bool bare_part(struct tp_parser *p, char **out, size_t *out_len)
{
    size_t n = 0;

    while (tp_is_bare_char(tp_peek_at(p, n)))
        n++;
    char *s = malloc(n + 1);
    if (!s)
        return tp_fail_oom(p);
    memcpy(s, p->src + p->at.off, n);
    s[n] = '\0';
    tp_advance(p, n);
    *out = s;
    *out_len = n;
    return true;
}

bool tp_parse_key(struct tp_parser *p, struct tp_key *key)
{
    for (;;) {
        struct tp_mark at = p->at;
        int c = tp_peek(p);
        char *s;
        size_t len;

        if (c == '"' || c == '\'') {
            if (!tp_parse_string(p, false, &s, &len))
                return false;
        } else if (tp_is_bare_char(c)) {
            if (!bare_part(p, &s, &len))
                return false;
        } else {
            return tp_fail_unexpected(p, key->n ? "expected a key after '.'" : "expected a key");
        }
        if (!push_part(p, key, s, len, &at))
            return false;
        tp_skip_ws(p);
        if (tp_peek(p) != '.')
            return true;
        tp_advance(p, 1);
        tp_skip_ws(p);
    }
}

void tp_key_free(struct tp_key *key)
{
    for (size_t i = 0; i < key->n; i++)
        free(key->parts[i].s);
    free(key->parts);
    key->parts = NULL;
    key->n = key->cap = 0;
}

/* Output that stops cleanly (with "...") when the buffer is full. */
struct out {
    char *buf;
    size_t size, len;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full)
        return;
    if (o->len + n + 4 > o->size) { /* keep room for "..." and the NUL */
        memcpy(o->buf + o->len, "...", 3);
        o->len += 3;
        o->full = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static bool is_bare(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!tp_is_bare_char((unsigned char)s[i]))
            return false;
    return true;
}

/* True if the part can be shown as a 'literal string': printable, no quote. */
static bool is_plain(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F || c == '\'')
            return false;
    }
    return true;
}

static void render_part(struct out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";

    if (is_bare(s, n)) {
        for (size_t i = 0; i < n; i++)
            put(o, s + i, 1);
        return;
    }
    if (is_plain(s, n)) {
        put(o, "'", 1);
        /* whole UTF-8 sequences at a time, so shortening never splits one */
        for (size_t i = 0; i < n;) {
            size_t len = tp_utf8_len((const unsigned char *)s + i, n - i);
            if (len == 0)
                len = 1;
            put(o, s + i, len);
            i += len;
        }
        put(o, "'", 1);
        return;
    }
    put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };
            put(o, esc, 2);
        } else if (c < 0x20 || c == 0x7F) {
            char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            put(o, esc, 6);
        } else {
            size_t len = tp_utf8_len((const unsigned char *)s + i, n - i);
            if (len == 0)
                len = 1;
            put(o, s + i, len);
            i += len - 1;
        }
    }
    put(o, "\"", 1);
}

void tp_key_render(const struct tp_key *key, size_t n, bool quoted, char *buf, size_t size)
{
    struct out o = { buf, size, 0, false };
    bool all_bare = true;

    if (size < 8) {
        if (size)
            buf[0] = '\0';
        return;
    }
    if (n > key->n)
        n = key->n;
    for (size_t i = 0; i < n; i++)
        all_bare = all_bare && is_bare(key->parts[i].s, key->parts[i].len);
    /* a path of bare keys is shown in double quotes; quoted parts carry
     * their own quotes */
    quoted = quoted && all_bare;
    if (quoted)
        put(&o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(&o, ".", 1);
        render_part(&o, key->parts[i].s, key->parts[i].len);
    }
    if (quoted)
        put(&o, "\"", 1);
    buf[o.len] = '\0';
}
