/* The config key table: every key rpxy reads, described once.
 *
 * Each section (the top level, [apps.<name>], [[...reverse_proxy]], ...) is a
 * list of keys with type, default, parser and help text. The same table
 * drives loading (loader.c), unknown-key errors with suggestions, the
 * `--check` summary and the generated reference docs/config.md.
 */
#ifndef RPXY_CONFIG_SCHEMA_H
#define RPXY_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/toml.h"

struct cfg_loader;
struct cfg_section;

enum cfg_kind {
    CFG_K_BOOL,   /* bool */
    CFG_K_INT,    /* int32_t/uint16_t/uint32_t/uint64_t per .width, range min..max */
    CFG_K_STRING, /* char * */
    CFG_K_CUSTOM, /* .parse does everything */
    CFG_K_TABLE,  /* a sub-table parsed into the struct at .offset */
    CFG_K_TABLES, /* array of tables: pointer at .offset, count at .count_offset */
    CFG_K_NAMED,  /* table of named tables ([apps.<name>]), same storage */
};

enum cfg_key_flags {
    CFG_F_REQUIRED = 1u << 0,   /* missing -> error */
    CFG_F_DEPRECATED = 1u << 1, /* accepted with a warning */
    CFG_F_REMOVED = 1u << 2,    /* any value -> error (.help says what to do) */
    CFG_F_OURS = 1u << 3,       /* our addition; rpxy ignores it */
    CFG_F_NO_DEFAULT = 1u << 4, /* leave the field as the section init left it */
};

/* Parses one present key into field (which points into the section's
 * struct). Reports its own errors through the loader. Returns 0 or -1. */
typedef int (*cfg_parse_fn)(struct cfg_loader *ld, const struct toml_keyval *kv, void *field,
                            void *obj);

struct cfg_key {
    const char *name;
    enum cfg_kind kind;
    size_t offset;       /* of the field in the section's struct */
    size_t count_offset; /* CFG_K_TABLES/NAMED: size_t count */
    uint8_t width;       /* CFG_K_INT: sizeof the field */
    bool is_signed;      /* CFG_K_INT: field is int32_t */
    int64_t min, max;    /* CFG_K_INT: accepted range */
    int64_t def_int;     /* default for BOOL/INT */
    const char *def_str; /* default for STRING */
    cfg_parse_fn parse;  /* CFG_K_CUSTOM */
    const struct cfg_section *sub;
    unsigned flags;
    const char *type_doc;    /* e.g. "integer 0-65535" */
    const char *default_doc; /* overrides the default shown in docs */
    const char *help;
};

/* A section is a struct type plus its keys. For CFG_K_TABLE, the sub-struct
 * has `bool enabled` at .present_offset, set when the table is written.
 * finish() runs after the keys of one instance were read (lower-casing,
 * derived fields); it may report errors. */
struct cfg_section {
    const char *title;    /* as written in docs: "[apps.<name>]" */
    const char *path_doc; /* the key path prefix in messages, for did-you-mean */
    const char *help;
    size_t size;
    size_t present_offset;
    bool has_present;
    size_t pos_offset; /* struct cfg_pos set to the table's position */
    bool has_pos;
    size_t name_offset; /* CFG_K_NAMED elements: char * set to the lower-cased name */
    bool has_name;
    const struct cfg_key *keys;
    size_t n_keys;
    int (*finish)(struct cfg_loader *ld, void *obj, const struct toml_table *t);
};

extern const struct cfg_section cfg_root_section;

/* Every section, for the reference and the misplaced-key hint. */
extern const struct cfg_section *const cfg_all_sections[];
extern const size_t cfg_all_sections_count;

#endif
