/* The table-driven loader: walks a TOML tree with the key table of
 * schema.h, fills the typed structs of config.h and reports located errors.
 * Used by the key parsers (keys.c) and the validator (validate.c). */
#ifndef RPXY_CONFIG_LOADER_H
#define RPXY_CONFIG_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "config/schema.h"
#include "config/toml.h"

struct cfg_key_pos {
    const void *obj; /* the struct the key was read into */
    const char *key; /* static name from the key table */
    int line, col;
    char *path; /* full key path, owned by the loader's arena */
};

struct cfg_loader {
    const char *file;
    struct cfg_diags *diags;
    struct arena *arena; /* becomes the snapshot's arena */
    struct cfg *cfg;
    char path[512]; /* key path of the table being read, e.g. "apps.a.reverse_proxy[0]" */
    size_t path_len;
    struct cfg_key_pos *pos;
    size_t n_pos, cap_pos;
    bool oom;
};

/* Reads the keys of table t into obj per section s (defaults for absent
 * keys, errors for unknown, missing or bad ones). Returns 0 or -1. */
int ld_read_section(struct cfg_loader *ld, const struct cfg_section *s, const struct toml_table *t,
                    void *obj);

/* Appends ".name" (or "[i]" when name is NULL) to the current key path;
 * returns the previous length for ld_path_pop. */
size_t ld_path_push(struct cfg_loader *ld, const char *name, long index);
void ld_path_pop(struct cfg_loader *ld, size_t len);

/* Error/warning at line:col for key `key` under the current path (key NULL =
 * the current path itself). */
void ld_error(struct cfg_loader *ld, int line, int col, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void ld_warn(struct cfg_loader *ld, int line, int col, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Error on a key's value: "expected <what>, got <type>". Returns -1. */
int ld_type_error(struct cfg_loader *ld, const struct toml_keyval *kv, const char *what);

/* Copies a string into the snapshot arena (NULL on out of memory, noted). */
char *ld_strdup(struct cfg_loader *ld, const char *s, size_t len);
void *ld_alloc(struct cfg_loader *ld, size_t n);

/* Whether table t has key `key`. Works on any table, including the empty
 * stand-in used for absent sections (toml_get needs a parsed table). */
bool ld_table_has(const struct toml_table *t, const char *key);

/* Where key `key` of object obj was written (line 0 when it was not). */
struct cfg_key_pos ld_key_pos(const struct cfg_loader *ld, const void *obj, const char *key);

#endif
