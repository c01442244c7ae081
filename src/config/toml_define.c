/* TOML parser: the rules for what dotted keys and [headers] may create or
 * extend (TOML 1.0, "Table", "Inline Table", "Array of Tables"):
 *
 *  - a table is defined once: by a [header], by dotted keys, or inline;
 *  - a [header] may define a table that so far only exists as the prefix of
 *    another header ([a.b] then [a]), and may add sub-tables under tables
 *    defined any way except inline;
 *  - dotted keys may not reach into tables defined by a [header] (other
 *    than the one they are written under) nor into inline tables or arrays;
 *  - [[a]] appends to an array of tables, never to an array written as a
 *    value, and [a.b] after [[a]] refers to the last table in it.
 */
#include "config/toml_internal.h"

/* Room for a rendered key in a message. */
#define NAME_SIZE 64

static const char *with_article(enum toml_type t)
{
    switch (t) {
    case TOML_STRING: return "a string";
    case TOML_INTEGER: return "an integer";
    case TOML_FLOAT: return "a float";
    case TOML_BOOL: return "a boolean";
    case TOML_DATETIME: return "an offset date-time";
    case TOML_DATETIME_LOCAL: return "a local date-time";
    case TOML_DATE_LOCAL: return "a local date";
    case TOML_TIME_LOCAL: return "a local time";
    case TOML_ARRAY: return "an array";
    case TOML_TABLE: return "a table";
    }
    return "a value";
}

/* Adds an empty table for key part i under t. */
static struct tp_table *new_child_table(struct tp_parser *p, struct tp_table *t,
                                        const struct tp_key_part *part,
                                        const struct tp_mark *table_at, enum tp_origin origin)
{
    struct toml_value val = { .type = TOML_TABLE, .line = table_at->line, .col = table_at->col };
    struct tp_table *child;

    if (t->depth + 1 > TP_MAX_DEPTH) {
        tp_fail(p, &part->at, "nesting too deep (more than %d levels of arrays and tables)",
                TP_MAX_DEPTH);
        return NULL;
    }
    if (!(child = tp_table_new(t->depth + 1, table_at, origin))) {
        tp_fail_oom(p);
        return NULL;
    }
    val.u.tab = &child->pub;
    if (!tp_table_add(t, part->s, part->len, &part->at, &val)) {
        tp_table_free(child);
        tp_fail_oom(p);
        return NULL;
    }
    return child;
}

static bool already_value(struct tp_parser *p, const struct tp_key *key, size_t i,
                          const struct toml_keyval *kv)
{
    char name[NAME_SIZE];

    tp_key_render(key, i + 1, true, name, sizeof name);
    return tp_fail(p, &key->parts[i].at, "key %s is already defined as %s at line %d", name,
                   with_article(kv->val.type), kv->line);
}

bool tp_resolve_keyval(struct tp_parser *p, struct tp_table *t, const struct tp_key *key,
                       struct tp_table **target)
{
    char name[NAME_SIZE];

    for (size_t i = 0; i + 1 < key->n; i++) {
        const struct tp_key_part *part = &key->parts[i];
        struct toml_keyval *kv = tp_table_find(t, part->s, part->len);

        if (!kv) {
            if (!(t = new_child_table(p, t, part, &part->at, TP_DOTTED)))
                return false;
            continue;
        }
        if (kv->val.type != TOML_TABLE)
            return already_value(p, key, i, kv);
        struct tp_table *sub = tp_table_of(kv->val.u.tab);
        tp_key_render(key, i + 1, true, name, sizeof name);
        if (sub->frozen)
            return tp_fail(p, &part->at, "cannot extend inline table %s (defined at line %d)", name,
                           sub->pub.line);
        if (sub->origin == TP_HEADER)
            return tp_fail(p, &part->at,
                           "cannot extend table %s with dotted keys: it is defined by a "
                           "header at line %d",
                           name, sub->pub.line);
        if (sub->origin == TP_IMPLICIT)
            sub->origin = TP_DOTTED; /* now defined; a later [header] may not redefine it */
        t = sub;
    }
    const struct tp_key_part *last = &key->parts[key->n - 1];
    const struct toml_keyval *dup = tp_table_find(t, last->s, last->len);
    if (dup) {
        tp_key_render(key, key->n, true, name, sizeof name);
        return tp_fail(p, &last->at, "duplicate key %s (first defined at line %d)", name,
                       dup->line);
    }
    *target = t;
    return true;
}

/* Steps from t into part i of a header's key, creating it if needed. */
static struct tp_table *header_step(struct tp_parser *p, struct tp_table *t,
                                    const struct tp_key *key, size_t i, const struct tp_mark *at)
{
    const struct tp_key_part *part = &key->parts[i];
    struct toml_keyval *kv = tp_table_find(t, part->s, part->len);
    char name[NAME_SIZE];

    if (!kv)
        return new_child_table(p, t, part, at, TP_IMPLICIT);
    if (kv->val.type == TOML_TABLE) {
        struct tp_table *sub = tp_table_of(kv->val.u.tab);
        if (!sub->frozen)
            return sub;
        tp_key_render(key, i + 1, false, name, sizeof name);
        tp_fail(p, &part->at, "cannot extend inline table [%s] (defined at line %d)", name,
                sub->pub.line);
        return NULL;
    }
    if (kv->val.type == TOML_ARRAY) {
        struct tp_array *arr = tp_array_of(kv->val.u.arr);
        if (arr->of_tables) /* [[a]] always leaves at least one table in a */
            return tp_table_of(arr->pub.items[arr->pub.n - 1].u.tab);
        tp_key_render(key, i + 1, true, name, sizeof name);
        tp_fail(p, &part->at, "cannot extend array %s (defined at line %d) with a header", name,
                kv->line);
        return NULL;
    }
    already_value(p, key, i, kv);
    return NULL;
}

/* The last part of a [table] header. */
static struct tp_table *define_table(struct tp_parser *p, struct tp_table *t,
                                     const struct tp_key *key, const struct tp_mark *at)
{
    const struct tp_key_part *part = &key->parts[key->n - 1];
    struct toml_keyval *kv = tp_table_find(t, part->s, part->len);
    char name[NAME_SIZE];

    if (!kv)
        return new_child_table(p, t, part, at, TP_HEADER);
    tp_key_render(key, key->n, false, name, sizeof name);
    if (kv->val.type == TOML_ARRAY && tp_array_of(kv->val.u.arr)->of_tables) {
        tp_fail(p, &part->at, "table [%s] already defined as an array of tables at line %d", name,
                kv->line);
        return NULL;
    }
    if (kv->val.type != TOML_TABLE) {
        already_value(p, key, key->n - 1, kv);
        return NULL;
    }
    struct tp_table *sub = tp_table_of(kv->val.u.tab);
    if (sub->frozen)
        tp_fail(p, &part->at, "cannot extend inline table [%s] (defined at line %d)", name,
                sub->pub.line);
    else if (sub->origin == TP_HEADER)
        tp_fail(p, &part->at, "table [%s] already defined at line %d", name, sub->pub.line);
    else if (sub->origin == TP_DOTTED)
        tp_fail(p, &part->at, "table [%s] already defined by dotted keys at line %d", name,
                sub->pub.line);
    if (p->failed)
        return NULL;
    /* so far only the prefix of another header: this defines it */
    sub->origin = TP_HEADER;
    sub->pub.line = at->line;
    sub->pub.col = at->col;
    return sub;
}

/* The last part of an [[array of tables]] header: appends a new table. */
static struct tp_table *append_table(struct tp_parser *p, struct tp_table *t,
                                     const struct tp_key *key, const struct tp_mark *at)
{
    const struct tp_key_part *part = &key->parts[key->n - 1];
    struct toml_keyval *kv = tp_table_find(t, part->s, part->len);
    struct toml_value item = { .type = TOML_TABLE, .line = at->line, .col = at->col };
    struct tp_array *arr;
    struct tp_table *elem;
    char name[NAME_SIZE];

    if (!kv) {
        struct toml_value val = { .type = TOML_ARRAY, .line = at->line, .col = at->col };
        if (t->depth + 1 > TP_MAX_DEPTH) {
            tp_fail(p, &part->at, "nesting too deep (more than %d levels of arrays and tables)",
                    TP_MAX_DEPTH);
            return NULL;
        }
        if (!(arr = tp_array_new(t->depth + 1, true))) {
            tp_fail_oom(p);
            return NULL;
        }
        val.u.arr = &arr->pub;
        if (!tp_table_add(t, part->s, part->len, &part->at, &val)) {
            tp_value_free(&val);
            tp_fail_oom(p);
            return NULL;
        }
    } else if (kv->val.type == TOML_ARRAY && tp_array_of(kv->val.u.arr)->of_tables) {
        arr = tp_array_of(kv->val.u.arr);
    } else {
        tp_key_render(key, key->n, kv->val.type != TOML_TABLE, name, sizeof name);
        if (kv->val.type == TOML_TABLE)
            tp_fail(p, &part->at, "cannot define [[%s]]: table [%s] already defined at line %d",
                    name, name, tp_table_of(kv->val.u.tab)->pub.line);
        else if (kv->val.type == TOML_ARRAY)
            tp_fail(p, &part->at, "cannot append to static array %s (defined at line %d)", name,
                    kv->line);
        else
            already_value(p, key, key->n - 1, kv);
        return NULL;
    }
    if (arr->depth + 1 > TP_MAX_DEPTH) {
        tp_fail(p, &part->at, "nesting too deep (more than %d levels of arrays and tables)",
                TP_MAX_DEPTH);
        return NULL;
    }
    if (!(elem = tp_table_new(arr->depth + 1, at, TP_HEADER))) {
        tp_fail_oom(p);
        return NULL;
    }
    item.u.tab = &elem->pub;
    if (!tp_array_push(arr, &item)) {
        tp_table_free(elem);
        tp_fail_oom(p);
        return NULL;
    }
    return elem;
}

bool tp_define_header(struct tp_parser *p, struct tp_table *root, const struct tp_key *key,
                      bool is_array, const struct tp_mark *at, struct tp_table **out)
{
    struct tp_table *t = root;

    for (size_t i = 0; t && i + 1 < key->n; i++)
        t = header_step(p, t, key, i, at);
    if (t)
        t = is_array ? append_table(p, t, key, at) : define_table(p, t, key, at);
    *out = t;
    return t != NULL;
}
