#include "config/loader.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/arena.h"
#include "util/strdist.h"

static void ld_vreport(struct cfg_loader *ld, enum cfg_severity sev, int line, int col,
                       const char *key, const char *fmt, va_list ap)
{
    char msg[900];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    char path[600];
    if (key && ld->path_len)
        snprintf(path, sizeof(path), "%s.%s", ld->path, key);
    else
        snprintf(path, sizeof(path), "%s", key ? key : ld->path);
    cfg_diag_add(ld->diags, sev, ld->file, line, col, path[0] ? path : NULL, "%s", msg);
}

void ld_error(struct cfg_loader *ld, int line, int col, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ld_vreport(ld, CFG_ERROR, line, col, key, fmt, ap);
    va_end(ap);
}

void ld_warn(struct cfg_loader *ld, int line, int col, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ld_vreport(ld, CFG_WARNING, line, col, key, fmt, ap);
    va_end(ap);
}

int ld_type_error(struct cfg_loader *ld, const struct toml_keyval *kv, const char *what)
{
    const char *got = toml_type_name(kv->val.type);
    if (kv->val.type == TOML_TABLE)
        got = "a table";
    else if (kv->val.type == TOML_ARRAY)
        got = "an array";
    ld_error(ld, kv->val.line, kv->val.col, kv->key, "expected %s, got %s", what, got);
    return -1;
}

size_t ld_path_push(struct cfg_loader *ld, const char *name, long index)
{
    size_t old = ld->path_len;
    size_t room = sizeof(ld->path) - old;
    int n;
    if (name)
        n = snprintf(ld->path + old, room, "%s%s", old ? "." : "", name);
    else
        n = snprintf(ld->path + old, room, "[%ld]", index);
    if (n < 0 || (size_t)n >= room)
        ld->path[old] = '\0';
    else
        ld->path_len = old + (size_t)n;
    return old;
}

void ld_path_pop(struct cfg_loader *ld, size_t len)
{
    ld->path_len = len;
    ld->path[len] = '\0';
}

void *ld_alloc(struct cfg_loader *ld, size_t n)
{
    void *p = arena_alloc(ld->arena, n);
    if (!p && !ld->oom) {
        ld->oom = true;
        cfg_diag_add(ld->diags, CFG_ERROR, ld->file, 0, 0, NULL, "out of memory");
    }
    return p;
}

char *ld_strdup(struct cfg_loader *ld, const char *s, size_t len)
{
    char *p = arena_strndup(ld->arena, s, len);
    if (!p && !ld->oom) {
        ld->oom = true;
        cfg_diag_add(ld->diags, CFG_ERROR, ld->file, 0, 0, NULL, "out of memory");
    }
    return p;
}

static void ld_note_pos(struct cfg_loader *ld, const void *obj, const char *key, int line, int col)
{
    if (ld->n_pos == ld->cap_pos) {
        size_t cap = ld->cap_pos ? ld->cap_pos * 2 : 64;
        struct cfg_key_pos *p = ld_alloc(ld, cap * sizeof(*p));
        if (!p)
            return;
        if (ld->n_pos)
            memcpy(p, ld->pos, ld->n_pos * sizeof(*p));
        ld->pos = p;
        ld->cap_pos = cap;
    }
    size_t mark = ld_path_push(ld, key, 0);
    ld->pos[ld->n_pos++] = (struct cfg_key_pos){ .obj = obj,
                                                 .key = key,
                                                 .line = line,
                                                 .col = col,
                                                 .path = ld_strdup(ld, ld->path, ld->path_len) };
    ld_path_pop(ld, mark);
}

struct cfg_key_pos ld_key_pos(const struct cfg_loader *ld, const void *obj, const char *key)
{
    for (size_t i = 0; i < ld->n_pos; i++)
        if (ld->pos[i].obj == obj && strcmp(ld->pos[i].key, key) == 0)
            return ld->pos[i];
    return (struct cfg_key_pos){ .obj = obj, .key = key };
}

bool ld_table_has(const struct toml_table *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->kv[i].key, key) == 0)
            return true;
    return false;
}

static const struct cfg_key *section_find(const struct cfg_section *s, const char *name)
{
    for (size_t i = 0; i < s->n_keys; i++)
        if (strcmp(s->keys[i].name, name) == 0)
            return &s->keys[i];
    return NULL;
}

/* "unknown key" with the best hint we can give: a close spelling in this
 * section, or the section where a key of that name belongs. */
static void report_unknown(struct cfg_loader *ld, const struct cfg_section *s,
                           const struct toml_keyval *kv)
{
    const char *names[64] = { 0 };
    size_t n = 0;
    for (size_t i = 0; i < s->n_keys && n < 64; i++)
        if (!(s->keys[i].flags & CFG_F_REMOVED))
            names[n++] = s->keys[i].name;
    const char *close = strdist_suggest(kv->key, names, n);
    for (size_t i = 0; !close && i < n; i++) {
        /* a truncated or extended name: https_redirect, listen_port_tls_x */
        size_t a = strlen(kv->key), b = strlen(names[i]);
        size_t m = a < b ? a : b;
        if (m >= 6 && strncmp(kv->key, names[i], m) == 0)
            close = names[i];
    }
    if (close) {
        ld_error(ld, kv->line, kv->col, kv->key, "unknown key (did you mean `%s`?)", close);
        return;
    }
    for (size_t i = 0; i < cfg_all_sections_count; i++) {
        const struct cfg_section *other = cfg_all_sections[i];
        if (other != s && section_find(other, kv->key)) {
            ld_error(ld, kv->line, kv->col, kv->key, "unknown key in %s (`%s` belongs in %s)",
                     s->title, kv->key, other->title);
            return;
        }
    }
    ld_error(ld, kv->line, kv->col, kv->key, "unknown key in %s", s->title);
}

static int read_int(struct cfg_loader *ld, const struct cfg_key *k, const struct toml_keyval *kv,
                    void *field)
{
    if (kv->val.type != TOML_INTEGER) {
        char what[64];
        snprintf(what, sizeof(what), "integer %" PRId64 "-%" PRId64, k->min, k->max);
        return ld_type_error(ld, kv, k->type_doc ? k->type_doc : what);
    }
    int64_t v = kv->val.u.i;
    if (v < k->min || v > k->max) {
        ld_error(ld, kv->val.line, kv->val.col, kv->key,
                 "value %" PRId64 " out of range %" PRId64 "-%" PRId64, v, k->min, k->max);
        return -1;
    }
    switch (k->width) {
    case 2: *(uint16_t *)field = (uint16_t)v; break;
    case 4:
        if (k->is_signed)
            *(int32_t *)field = (int32_t)v;
        else
            *(uint32_t *)field = (uint32_t)v;
        break;
    default: *(uint64_t *)field = (uint64_t)v; break;
    }
    return 0;
}

static void set_int_default(const struct cfg_key *k, void *field)
{
    switch (k->width) {
    case 2: *(uint16_t *)field = (uint16_t)k->def_int; break;
    case 4:
        if (k->is_signed)
            *(int32_t *)field = (int32_t)k->def_int;
        else
            *(uint32_t *)field = (uint32_t)k->def_int;
        break;
    default: *(uint64_t *)field = (uint64_t)k->def_int; break;
    }
}

static int read_tables(struct cfg_loader *ld, const struct cfg_key *k, const struct toml_keyval *kv,
                       void *field, void *obj)
{
    const struct toml_array *arr = kv->val.type == TOML_ARRAY ? kv->val.u.arr : NULL;
    if (!arr)
        return ld_type_error(ld, kv, "an array of tables");
    size_t esize = k->sub->size;
    char *items = arr->n ? ld_alloc(ld, arr->n * esize) : NULL;
    if (arr->n && !items)
        return -1;
    int rc = 0;
    size_t mark = ld_path_push(ld, kv->key, 0);
    for (size_t i = 0; i < arr->n; i++) {
        const struct toml_value *v = &arr->items[i];
        size_t m2 = ld_path_push(ld, NULL, (long)i);
        if (v->type != TOML_TABLE) {
            ld_error(ld, v->line, v->col, NULL, "expected a table, got %s",
                     toml_type_name(v->type));
            rc = -1;
        } else if (ld_read_section(ld, k->sub, v->u.tab, items + i * esize) < 0) {
            rc = -1;
        }
        ld_path_pop(ld, m2);
    }
    ld_path_pop(ld, mark);
    *(void **)field = items;
    *(size_t *)((char *)obj + k->count_offset) = arr->n;
    return rc;
}

static int read_named(struct cfg_loader *ld, const struct cfg_key *k, const struct toml_keyval *kv,
                      void *field, void *obj)
{
    if (kv->val.type != TOML_TABLE)
        return ld_type_error(ld, kv, "a table of named tables");
    const struct toml_table *t = kv->val.u.tab;
    size_t esize = k->sub->size;
    char *items = t->n ? ld_alloc(ld, t->n * esize) : NULL;
    if (t->n && !items)
        return -1;
    int rc = 0;
    size_t mark = ld_path_push(ld, kv->key, 0);
    for (size_t i = 0; i < t->n; i++) {
        const struct toml_keyval *e = &t->kv[i];
        size_t m2 = ld_path_push(ld, e->key, 0);
        if (k->sub->has_name) {
            char *name = ld_strdup(ld, e->key, strlen(e->key));
            for (char *c = name; c && *c; c++)
                *c = (char)tolower((unsigned char)*c);
            *(char **)(items + i * esize + k->sub->name_offset) = name;
        }
        if (e->val.type != TOML_TABLE) {
            ld_error(ld, e->line, e->col, NULL, "expected a table, got %s",
                     toml_type_name(e->val.type));
            rc = -1;
        } else if (ld_read_section(ld, k->sub, e->val.u.tab, items + i * esize) < 0) {
            rc = -1;
        }
        ld_path_pop(ld, m2);
    }
    ld_path_pop(ld, mark);
    *(void **)field = items;
    *(size_t *)((char *)obj + k->count_offset) = t->n;
    return rc;
}

static int read_key(struct cfg_loader *ld, const struct cfg_key *k, const struct toml_keyval *kv,
                    void *obj)
{
    void *field = (char *)obj + k->offset;
    if (k->flags & CFG_F_REMOVED) {
        ld_error(ld, kv->line, kv->col, kv->key, "%s", k->help);
        return -1;
    }
    if (k->flags & CFG_F_DEPRECATED)
        ld_warn(ld, kv->line, kv->col, kv->key, "deprecated: %s", k->help);
    switch (k->kind) {
    case CFG_K_BOOL:
        if (kv->val.type != TOML_BOOL)
            return ld_type_error(ld, kv, "true or false");
        *(bool *)field = kv->val.u.b;
        return 0;
    case CFG_K_INT: return read_int(ld, k, kv, field);
    case CFG_K_STRING:
        if (kv->val.type != TOML_STRING)
            return ld_type_error(ld, kv, "a string");
        *(char **)field = ld_strdup(ld, kv->val.u.str.ptr, kv->val.u.str.len);
        return 0;
    case CFG_K_CUSTOM: return k->parse(ld, kv, field, obj);
    case CFG_K_TABLE: {
        if (kv->val.type != TOML_TABLE)
            return ld_type_error(ld, kv, "a table");
        size_t mark = ld_path_push(ld, kv->key, 0);
        int rc = ld_read_section(ld, k->sub, kv->val.u.tab, field);
        ld_path_pop(ld, mark);
        return rc;
    }
    case CFG_K_TABLES: return read_tables(ld, k, kv, field, obj);
    case CFG_K_NAMED: return read_named(ld, k, kv, field, obj);
    }
    return -1;
}

static void apply_default(struct cfg_loader *ld, const struct cfg_key *k, void *obj)
{
    void *field = (char *)obj + k->offset;
    if (k->flags & CFG_F_NO_DEFAULT)
        return;
    switch (k->kind) {
    case CFG_K_BOOL: *(bool *)field = k->def_int != 0; break;
    case CFG_K_INT: set_int_default(k, field); break;
    case CFG_K_STRING:
        *(char **)field = k->def_str ? ld_strdup(ld, k->def_str, strlen(k->def_str)) : NULL;
        break;
    case CFG_K_CUSTOM:
        if (k->width)
            set_int_default(k, field);
        break;
    case CFG_K_TABLE: {
        /* An absent table: defaults everywhere, but not "present". */
        static const struct toml_table empty = { 0 };
        struct cfg_diags quiet = { 0 };
        struct cfg_diags *saved = ld->diags;
        ld->diags = &quiet;
        ld_read_section(ld, k->sub, &empty, field);
        ld->diags = saved;
        cfg_diags_free(&quiet);
        if (k->sub->has_present)
            *(bool *)((char *)field + k->sub->present_offset) = false;
        break;
    }
    default: break;
    }
}

int ld_read_section(struct cfg_loader *ld, const struct cfg_section *s, const struct toml_table *t,
                    void *obj)
{
    int rc = 0;
    if (s->has_present)
        *(bool *)((char *)obj + s->present_offset) = true;
    if (s->has_pos)
        *(struct cfg_pos *)((char *)obj + s->pos_offset) = (struct cfg_pos){ t->line, t->col };
    for (size_t i = 0; i < t->n; i++) {
        const struct toml_keyval *kv = &t->kv[i];
        const struct cfg_key *k = section_find(s, kv->key);
        if (!k || strlen(kv->key) != kv->key_len) {
            report_unknown(ld, s, kv);
            rc = -1;
            continue;
        }
        ld_note_pos(ld, obj, k->name, kv->line, kv->col);
        if (read_key(ld, k, kv, obj) < 0)
            rc = -1;
    }
    for (size_t i = 0; i < s->n_keys; i++) {
        const struct cfg_key *k = &s->keys[i];
        if (ld_table_has(t, k->name))
            continue;
        if (k->flags & CFG_F_REQUIRED) {
            ld_error(ld, t->line, t->col, k->name, "missing required key in %s", s->title);
            rc = -1;
            continue;
        }
        apply_default(ld, k, obj);
    }
    if (rc == 0 && s->finish && s->finish(ld, obj, t) < 0)
        rc = -1;
    return rc;
}
