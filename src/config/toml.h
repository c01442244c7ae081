/* TOML 1.0 parser: text in, a tree of tables out, or one located error.
 *
 * The whole document is parsed into a tree owned by the returned root table;
 * toml_free() releases all of it. Every value, key and table remembers the
 * 1-based line and column where it was written, so the config layer can name
 * the exact place of a bad value. Strings are UTF-8, NUL-terminated, and may
 * also contain NUL bytes (use .len).
 */
#ifndef RPXY_CONFIG_TOML_H
#define RPXY_CONFIG_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum toml_type {
    TOML_STRING,
    TOML_INTEGER,
    TOML_FLOAT,
    TOML_BOOL,
    TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00Z */
    TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00 */
    TOML_DATE_LOCAL,     /* 1979-05-27 */
    TOML_TIME_LOCAL,     /* 07:32:00 */
    TOML_ARRAY,
    TOML_TABLE,
};

struct toml_table;
struct toml_array;

/* Date and time parts; which fields are meaningful depends on the type. */
struct toml_datetime {
    int year, month, day;
    int hour, minute, second;
    int nanosecond;     /* fraction of a second, truncated to 9 digits */
    int frac_digits;    /* digits written after '.', 0 when none (capped at 9) */
    int offset_minutes; /* TOML_DATETIME only: east of UTC; 'Z' is 0 */
    bool offset_z;      /* written as Z/z rather than +00:00 */
};

struct toml_value {
    enum toml_type type;
    int line, col; /* where the value starts */
    union {
        struct {
            char *ptr; /* NUL-terminated */
            size_t len;
        } str;
        int64_t i;
        double f;
        bool b;
        struct toml_datetime dt;
        struct toml_array *arr;
        struct toml_table *tab;
    } u;
};

struct toml_array {
    struct toml_value *items;
    size_t n;
};

struct toml_keyval {
    char *key; /* NUL-terminated; key_len bytes (keys may contain NUL) */
    size_t key_len;
    int line, col; /* where the key is written */
    struct toml_value val;
};

struct toml_table {
    struct toml_keyval *kv; /* in document order */
    size_t n;
    int line, col; /* header position ([a.b] or inline '{'); 1:1 for the root */
};

struct toml_error {
    int line, col; /* 1-based position of the problem */
    char msg[200]; /* e.g. "expected '=' after key \"a\"" */
};

/* Parses len bytes of text. Returns the root table, owned by the caller
 * (release it with toml_free), or NULL with *err filled in. */
struct toml_table *toml_parse(const char *text, size_t len, struct toml_error *err);

void toml_free(struct toml_table *root);

/* Looks up a key in one table (no dotted paths). Returns NULL if absent. */
const struct toml_keyval *toml_get(const struct toml_table *t, const char *key);

/* "string", "integer", ... as used in error messages. */
const char *toml_type_name(enum toml_type t);

#endif
