#include "config/toml_equal.h"

#include <string.h>

static bool value_equal(const struct toml_value *a, const struct toml_value *b);

static bool datetime_equal(const struct toml_datetime *a, const struct toml_datetime *b)
{
    return a->year == b->year && a->month == b->month && a->day == b->day && a->hour == b->hour &&
           a->minute == b->minute && a->second == b->second && a->nanosecond == b->nanosecond &&
           a->offset_minutes == b->offset_minutes;
}

static bool array_equal(const struct toml_array *a, const struct toml_array *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!value_equal(&a->items[i], &b->items[i]))
            return false;
    return true;
}

static bool value_equal(const struct toml_value *a, const struct toml_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case TOML_STRING:
        return a->u.str.len == b->u.str.len &&
               memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0;
    case TOML_INTEGER: return a->u.i == b->u.i;
    case TOML_FLOAT: return memcmp(&a->u.f, &b->u.f, sizeof(double)) == 0; /* nan = nan, 0 != -0 */
    case TOML_BOOL: return a->u.b == b->u.b;
    case TOML_DATETIME:
    case TOML_DATETIME_LOCAL:
    case TOML_DATE_LOCAL:
    case TOML_TIME_LOCAL: return datetime_equal(&a->u.dt, &b->u.dt);
    case TOML_ARRAY: return array_equal(a->u.arr, b->u.arr);
    case TOML_TABLE: return toml_table_equal(a->u.tab, b->u.tab);
    }
    return false;
}

static const struct toml_keyval *find(const struct toml_table *t, const struct toml_keyval *kv)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->kv[i].key_len == kv->key_len && memcmp(t->kv[i].key, kv->key, kv->key_len) == 0)
            return &t->kv[i];
    return NULL;
}

/* Keys are unique within a table (the parser refuses duplicates), so equal
 * counts and every key of a found in b with an equal value is equality. */
bool toml_table_equal(const struct toml_table *a, const struct toml_table *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct toml_keyval *other = find(b, &a->kv[i]);
        if (!other || !value_equal(&a->kv[i].val, &other->val))
            return false;
    }
    return true;
}

bool toml_text_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
    struct toml_error err;
    struct toml_table *ta = toml_parse(a, a_len, &err);
    struct toml_table *tb = ta ? toml_parse(b, b_len, &err) : NULL;
    bool same = ta && tb && toml_table_equal(ta, tb);
    toml_free(ta);
    toml_free(tb);
    return same;
}
