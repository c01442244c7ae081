/* TOML parser: the tree of tables and arrays, key lookup, freeing. */
#include "config/toml_internal.h"

#include <stdlib.h>
#include <string.h>

/* Tables up to this size are searched linearly; bigger ones get a hash
 * index so that big flat tables stay linear to build. */
#define INDEX_THRESHOLD 8

struct tp_table *tp_table_new(int depth, const struct tp_mark *at, enum tp_origin origin)
{
    struct tp_table *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    t->pub.line = at->line;
    t->pub.col = at->col;
    t->origin = origin;
    t->depth = depth;
    return t;
}

struct tp_array *tp_array_new(int depth, bool of_tables)
{
    struct tp_array *a = calloc(1, sizeof *a);

    if (!a)
        return NULL;
    a->depth = depth;
    a->of_tables = of_tables;
    return a;
}

static size_t hash_key(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211u;
    }
    return (size_t)(h ^ h >> 32);
}

static bool key_is(const struct toml_keyval *kv, const char *key, size_t len)
{
    return kv->key_len == len && memcmp(kv->key, key, len) == 0;
}

struct toml_keyval *tp_table_find(const struct tp_table *t, const char *key, size_t len)
{
    if (!t->index) {
        for (size_t i = 0; i < t->pub.n; i++)
            if (key_is(&t->pub.kv[i], key, len))
                return &t->pub.kv[i];
        return NULL;
    }
    size_t mask = t->index_cap - 1;
    for (size_t h = hash_key(key, len) & mask; t->index[h]; h = (h + 1) & mask) {
        struct toml_keyval *kv = &t->pub.kv[t->index[h] - 1];
        if (key_is(kv, key, len))
            return kv;
    }
    return NULL;
}

static void index_insert(struct tp_table *t, size_t pos)
{
    const struct toml_keyval *kv = &t->pub.kv[pos];
    size_t mask = t->index_cap - 1;
    size_t h = hash_key(kv->key, kv->key_len) & mask;

    while (t->index[h])
        h = (h + 1) & mask;
    t->index[h] = pos + 1;
}

/* Keeps the index at most half full; builds it once the table is big. */
static bool index_update(struct tp_table *t)
{
    size_t n = t->pub.n;

    if (n <= INDEX_THRESHOLD)
        return true;
    if (t->index && n * 2 <= t->index_cap) {
        index_insert(t, n - 1);
        return true;
    }
    size_t cap = 64;
    while (cap < n * 4)
        cap *= 2;
    size_t *index = calloc(cap, sizeof *index);
    if (!index)
        return false;
    free(t->index);
    t->index = index;
    t->index_cap = cap;
    for (size_t i = 0; i < n; i++)
        index_insert(t, i);
    return true;
}

struct toml_keyval *tp_table_add(struct tp_table *t, const char *key, size_t len,
                                 const struct tp_mark *at, const struct toml_value *val)
{
    if (t->pub.n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4;
        struct toml_keyval *grown = realloc(t->pub.kv, cap * sizeof *grown);
        if (!grown)
            return NULL;
        t->pub.kv = grown;
        t->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, key, len);
    copy[len] = '\0';

    struct toml_keyval *kv = &t->pub.kv[t->pub.n++];
    kv->key = copy;
    kv->key_len = len;
    kv->line = at->line;
    kv->col = at->col;
    kv->val = *val;
    if (!index_update(t)) {
        t->pub.n--;
        free(copy);
        return NULL;
    }
    return kv;
}

bool tp_array_push(struct tp_array *a, const struct toml_value *val)
{
    if (a->pub.n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        struct toml_value *grown = realloc(a->pub.items, cap * sizeof *grown);
        if (!grown)
            return false;
        a->pub.items = grown;
        a->cap = cap;
    }
    a->pub.items[a->pub.n++] = *val;
    return true;
}

void tp_table_freeze(struct tp_table *t)
{
    if (t->frozen) /* then everything inside is frozen too */
        return;
    t->frozen = true;
    /* arrays inside hold only inline tables, which froze when they closed */
    for (size_t i = 0; i < t->pub.n; i++)
        if (t->pub.kv[i].val.type == TOML_TABLE)
            tp_table_freeze(tp_table_of(t->pub.kv[i].val.u.tab));
}

void tp_value_free(struct toml_value *v)
{
    switch (v->type) {
    case TOML_STRING: free(v->u.str.ptr); break;
    case TOML_ARRAY:
        if (v->u.arr) {
            for (size_t i = 0; i < v->u.arr->n; i++)
                tp_value_free(&v->u.arr->items[i]);
            free(v->u.arr->items);
            free(tp_array_of(v->u.arr));
        }
        break;
    case TOML_TABLE:
        if (v->u.tab)
            tp_table_free(tp_table_of(v->u.tab));
        break;
    default: break;
    }
    v->type = TOML_BOOL; /* nothing left to free */
}

void tp_table_free(struct tp_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->pub.n; i++) {
        free(t->pub.kv[i].key);
        tp_value_free(&t->pub.kv[i].val);
    }
    free(t->pub.kv);
    free(t->index);
    free(t);
}

/* Looks up a key in one table (no dotted paths). Returns NULL if absent. */
const struct toml_keyval *toml_get(const struct toml_table *t, const char *key)
{
    if (!t || !key)
        return NULL;
    return tp_table_find((const struct tp_table *)t, key, strlen(key));
}

/* Releases a tree returned by toml_parse (NULL is fine). */
void toml_free(struct toml_table *root)
{
    tp_table_free(tp_table_of(root));
}
