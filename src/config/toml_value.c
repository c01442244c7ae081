/* TOML parser: values, arrays, inline tables and key/value pairs. */
#include "config/toml_internal.h"

#include <string.h>

static bool too_deep(struct tp_parser *p, int depth)
{
    if (depth <= TP_MAX_DEPTH)
        return false;
    tp_fail(p, &p->at, "nesting too deep (more than %d levels of arrays and tables)", TP_MAX_DEPTH);
    return true;
}

static bool parse_array(struct tp_parser *p, struct toml_value *out, int depth)
{
    struct tp_mark open = p->at;
    struct tp_array *a;

    if (too_deep(p, depth))
        return false;
    if (!(a = tp_array_new(depth, false)))
        return tp_fail_oom(p);
    out->type = TOML_ARRAY;
    out->u.arr = &a->pub;
    tp_advance(p, 1);
    for (;;) {
        struct toml_value item;

        if (!tp_skip_blank(p))
            break;
        if (tp_peek(p) == ']') {
            tp_advance(p, 1);
            return true;
        }
        if (!tp_parse_value(p, &item, depth + 1))
            break;
        if (!tp_array_push(a, &item)) {
            tp_value_free(&item);
            tp_fail_oom(p);
            break;
        }
        if (!tp_skip_blank(p))
            break;
        if (tp_peek(p) == ',') {
            tp_advance(p, 1);
        } else if (tp_peek(p) == ']') {
            tp_advance(p, 1);
            return true;
        } else {
            if (tp_peek(p) < 0)
                tp_fail(p, &open, "unterminated array (missing ']')");
            else
                tp_fail_unexpected(p, "expected ',' or ']' after array element");
            break;
        }
    }
    tp_value_free(out);
    return false;
}

/* Inline tables are one line: say so when a newline or comment is found. */
static bool inline_table_unexpected(struct tp_parser *p, const struct tp_mark *open,
                                    const char *expected)
{
    if (tp_peek(p) < 0)
        return tp_fail(p, open, "unterminated inline table (missing '}')");
    if (tp_at_newline(p) || tp_peek(p) == '#')
        return tp_fail(p, &p->at, "inline tables must be on one line (expected %s)", expected);
    return tp_fail_unexpected(p, "expected %s in inline table", expected);
}

static bool parse_inline_table(struct tp_parser *p, struct toml_value *out, int depth)
{
    struct tp_mark open = p->at;
    struct tp_table *t;

    if (too_deep(p, depth))
        return false;
    if (!(t = tp_table_new(depth, &open, TP_INLINE)))
        return tp_fail_oom(p);
    out->type = TOML_TABLE;
    out->u.tab = &t->pub;
    tp_advance(p, 1);
    tp_skip_ws(p);
    if (tp_peek(p) == '}')
        goto done;
    for (;;) {
        int c = tp_peek(p);
        if (c == '}') {
            tp_fail(p, &p->at, "trailing comma is not allowed in inline tables");
            goto fail;
        }
        if (c != '"' && c != '\'' && !tp_is_bare_char(c)) {
            inline_table_unexpected(p, &open, "a key");
            goto fail;
        }
        if (!tp_parse_keyval(p, t))
            goto fail;
        tp_skip_ws(p);
        if (tp_peek(p) == '}')
            goto done;
        if (tp_peek(p) != ',') {
            inline_table_unexpected(p, &open, "',' or '}'");
            goto fail;
        }
        tp_advance(p, 1);
        tp_skip_ws(p);
    }
done:
    tp_advance(p, 1);
    tp_table_freeze(t);
    return true;
fail:
    tp_value_free(out);
    return false;
}

/* true, false, inf, nan and numbers share one word: read it whole so that
 * "truex" is one bad value rather than "true" followed by junk. */
static bool parse_word(struct tp_parser *p, struct toml_value *out)
{
    size_t n = tp_word_len(p);
    const char *w = (const char *)p->src + p->at.off;

    if ((n == 4 && memcmp(w, "true", 4) == 0) || (n == 5 && memcmp(w, "false", 5) == 0)) {
        out->type = TOML_BOOL;
        out->u.b = n == 4;
        tp_advance(p, n);
        return true;
    }
    return tp_parse_number(p, out);
}

bool tp_parse_value(struct tp_parser *p, struct toml_value *out, int depth)
{
    int c = tp_peek(p);
    bool ok;

    memset(out, 0, sizeof *out);
    out->type = TOML_BOOL; /* owns nothing until filled in */
    out->line = p->at.line;
    out->col = p->at.col;
    if (c == '"' || c == '\'') {
        ok = tp_parse_string(p, true, &out->u.str.ptr, &out->u.str.len);
        if (ok)
            out->type = TOML_STRING;
    } else if (c == '[') {
        ok = parse_array(p, out, depth);
    } else if (c == '{') {
        ok = parse_inline_table(p, out, depth);
    } else if (tp_looks_like_datetime(p)) {
        ok = tp_parse_datetime(p, out);
    } else if (c >= 0 && (tp_is_bare_char(c) || c == '+' || c == '.')) {
        ok = parse_word(p, out);
    } else {
        ok = tp_fail_unexpected(p, "expected a value");
    }
    if (!ok)
        out->type = TOML_BOOL;
    return ok;
}

bool tp_parse_keyval(struct tp_parser *p, struct tp_table *t)
{
    struct tp_key key = { 0 };
    struct tp_table *target;
    struct toml_value val;
    bool ok = false;

    if (!tp_parse_key(p, &key))
        goto out;
    tp_skip_ws(p);
    if (tp_peek(p) != '=') {
        char name[64];
        tp_key_render(&key, key.n, true, name, sizeof name);
        tp_fail_unexpected(p, "expected '=' after key %s", name);
        goto out;
    }
    tp_advance(p, 1);
    tp_skip_ws(p);
    if (!tp_resolve_keyval(p, t, &key, &target))
        goto out;
    if (!tp_parse_value(p, &val, target->depth + 1))
        goto out;
    struct tp_key_part *last = &key.parts[key.n - 1];
    if (!tp_table_add(target, last->s, last->len, &last->at, &val)) {
        tp_value_free(&val);
        tp_fail_oom(p);
        goto out;
    }
    ok = true;
out:
    tp_key_free(&key);
    return ok;
}
