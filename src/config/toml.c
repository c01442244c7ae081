/* TOML 1.0 parser: the document level (key/value lines and table headers)
 * and the public entry points. The other parts live in toml_*.c beside
 * this file; toml_internal.h describes how they fit together. */
#include "config/toml_internal.h"

#include <string.h>

/* A [table] or [[array of tables]] header at the cursor; *current becomes
 * the table that the following key/value lines fill. */
static bool parse_header(struct tp_parser *p, struct tp_table *root, struct tp_table **current)
{
    struct tp_mark at = p->at;
    bool is_array = tp_peek_at(p, 1) == '[';
    struct tp_key key = { 0 };
    bool ok = false;

    tp_advance(p, is_array ? 2 : 1);
    tp_skip_ws(p);
    if (!tp_parse_key(p, &key))
        goto out;
    tp_skip_ws(p);
    if (tp_peek(p) != ']' || (is_array && tp_peek_at(p, 1) != ']')) {
        if (tp_peek(p) == ']')
            tp_advance(p, 1);
        tp_fail_unexpected(p, is_array ? "expected ']]' to close the array of tables header"
                                       : "expected ']' to close the table header");
        goto out;
    }
    tp_advance(p, is_array ? 2 : 1);
    if (!tp_define_header(p, root, &key, is_array, &at, current))
        goto out;
    ok = tp_end_of_line(p, "table header");
out:
    tp_key_free(&key);
    return ok;
}

static void parse_document(struct tp_parser *p, struct tp_table *root)
{
    struct tp_table *current = root;

    /* a UTF-8 byte order mark may start the text; it takes no column */
    if (p->len >= 3 && memcmp(p->src, "\xEF\xBB\xBF", 3) == 0)
        p->at.off = 3;
    while (!p->failed) {
        tp_skip_ws(p);
        int c = tp_peek(p);
        if (c < 0)
            break;
        if (c == '#' || tp_at_newline(p))
            tp_end_of_line(p, "comment");
        else if (c == '[')
            parse_header(p, root, &current);
        else if (tp_parse_keyval(p, current))
            tp_end_of_line(p, "value");
    }
}

/* Parses len bytes of text into a tree owned by the caller (toml_free), or
 * returns NULL with *err filled in. */
struct toml_table *toml_parse(const char *text, size_t len, struct toml_error *err)
{
    struct toml_error scratch;
    struct tp_parser p = {
        .src = (const unsigned char *)(text ? text : ""),
        .len = text ? len : 0,
        .at = { 0, 1, 1 },
        .err = err ? err : &scratch,
    };
    struct tp_table *root = tp_table_new(0, &p.at, TP_HEADER);

    memset(p.err, 0, sizeof *p.err);
    if (!root) {
        tp_fail_oom(&p);
        return NULL;
    }
    parse_document(&p, root);
    if (p.failed) {
        tp_table_free(root);
        return NULL;
    }
    return &root->pub;
}

/* The TOML name of a type, as used in messages. */
const char *toml_type_name(enum toml_type t)
{
    switch (t) {
    case TOML_STRING: return "string";
    case TOML_INTEGER: return "integer";
    case TOML_FLOAT: return "float";
    case TOML_BOOL: return "boolean";
    case TOML_DATETIME: return "offset date-time";
    case TOML_DATETIME_LOCAL: return "local date-time";
    case TOML_DATE_LOCAL: return "local date";
    case TOML_TIME_LOCAL: return "local time";
    case TOML_ARRAY: return "array";
    case TOML_TABLE: return "table";
    }
    return "value";
}
