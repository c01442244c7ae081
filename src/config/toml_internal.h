/* Internals shared by the TOML parser's files (src/config/toml*.c).
 * Not part of the public API: include config/toml.h instead.
 *
 * The parser reads bytes directly (no token stream). A cursor tracks the
 * byte offset plus the 1-based line and code-point column; every function
 * that fails records one located error in the parser and returns false, and
 * the first recorded error wins.
 */
#ifndef RPXY_CONFIG_TOML_INTERNAL_H
#define RPXY_CONFIG_TOML_INTERNAL_H

#include "config/toml.h"

#include <stdarg.h>

/* Containers nested deeper than this are rejected, so that parsing, freeing
 * and printing (all recursive) stay within a small, bounded stack. */
#define TP_MAX_DEPTH 128

/* A place in the text. */
struct tp_mark {
    size_t off;
    int line, col;
};

struct tp_parser {
    const unsigned char *src;
    size_t len;
    struct tp_mark at; /* the cursor */
    struct toml_error *err;
    bool failed;
};

/* How a table came to exist; decides what may later add to it. */
enum tp_origin {
    TP_IMPLICIT, /* an intermediate of a [a.b.c] header: [a] may still define it */
    TP_HEADER,   /* defined by a [header] or [[header]] (or the root) */
    TP_DOTTED,   /* created by a dotted key a.b = 1 */
    TP_INLINE,   /* written as { ... } */
};

/* A table as allocated by the parser: the public part comes first, so a
 * struct toml_table * handed out is also a struct tp_table *. */
struct tp_table {
    struct toml_table pub;
    size_t cap;
    size_t *index; /* open-addressing hash of kv positions + 1; NULL while small */
    size_t index_cap;
    enum tp_origin origin;
    bool frozen; /* an inline table or inside one: nothing may be added */
    int depth;   /* root is 0, each nested container one more */
};

struct tp_array {
    struct toml_array pub;
    size_t cap;
    bool of_tables; /* created by [[header]]: further headers may append */
    int depth;
};

/* One part of a dotted key, as written. */
struct tp_key_part {
    char *s; /* owned, NUL-terminated */
    size_t len;
    struct tp_mark at;
};

struct tp_key {
    struct tp_key_part *parts;
    size_t n, cap;
};

/* --- cursor and errors (toml_cursor.c) --- */

/* The byte at the cursor (+ k), or -1 past the end. */
int tp_peek(const struct tp_parser *p);
int tp_peek_at(const struct tp_parser *p, size_t k);
/* Moves over n bytes that contain no newline. */
void tp_advance(struct tp_parser *p, size_t n);
/* True at "\n" or "\r\n". */
bool tp_at_newline(const struct tp_parser *p);
/* Moves over the newline at the cursor ("\n" or "\r\n"). */
void tp_newline(struct tp_parser *p);
/* Skips spaces and tabs. */
void tp_skip_ws(struct tp_parser *p);
/* Skips a comment if one starts at the cursor, up to (not over) its newline. */
bool tp_skip_comment(struct tp_parser *p);
/* Skips whitespace, comments and newlines (inside arrays). */
bool tp_skip_blank(struct tp_parser *p);
/* Requires the rest of the line to be blank or a comment, and moves past it. */
bool tp_end_of_line(struct tp_parser *p, const char *after_what);
/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if invalid. */
size_t tp_utf8_len(const unsigned char *s, size_t n);
/* True for A-Z a-z 0-9 _ - */
bool tp_is_bare_char(int c);

/* Records an error at a place (the first one wins); returns false. */
bool tp_fail(struct tp_parser *p, const struct tp_mark *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records an error at the cursor, unless the byte there is itself broken
 * (invalid UTF-8, a lone carriage return): that is reported instead. */
bool tp_fail_unexpected(struct tp_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool tp_fail_utf8(struct tp_parser *p);
bool tp_fail_oom(struct tp_parser *p);

/* --- strings (toml_string.c) --- */

/* Parses any string form at the cursor (multi-line ones only if allowed). */
bool tp_parse_string(struct tp_parser *p, bool allow_multiline, char **out, size_t *out_len);

/* --- numbers, booleans, dates (toml_number.c, toml_datetime.c) --- */

/* Length of the run of characters that may form a number or bare word. */
size_t tp_word_len(const struct tp_parser *p);
bool tp_parse_number(struct tp_parser *p, struct toml_value *out);
bool tp_looks_like_datetime(const struct tp_parser *p);
bool tp_parse_datetime(struct tp_parser *p, struct toml_value *out);

/* --- values, arrays, inline tables (toml_value.c) --- */

/* Parses a value; containers it creates get this depth. On failure *out
 * holds nothing that needs freeing. */
bool tp_parse_value(struct tp_parser *p, struct toml_value *out, int depth);
/* Parses "key = value" and adds it to t, following the dotted-key rules. */
bool tp_parse_keyval(struct tp_parser *p, struct tp_table *t);

/* --- keys (toml_key.c) --- */

bool tp_parse_key(struct tp_parser *p, struct tp_key *key);
void tp_key_free(struct tp_key *key);
/* Renders parts [0, n) as TOML would write them (a.'b c'), shortened to
 * fit; if quoted, a path of only bare keys is put in double quotes ("a.b"). */
void tp_key_render(const struct tp_key *key, size_t n, bool quoted, char *buf, size_t size);

/* --- definitions: which keys and headers may create what (toml_define.c) --- */

/* Walks or creates the tables for all but the last part of key, starting
 * at t, and checks that the last part is still free. */
bool tp_resolve_keyval(struct tp_parser *p, struct tp_table *t, const struct tp_key *key,
                       struct tp_table **target);
/* Applies a [key] or [[key]] header written at `at`; *out gets the table
 * that following key/value lines fill. */
bool tp_define_header(struct tp_parser *p, struct tp_table *root, const struct tp_key *key,
                      bool is_array, const struct tp_mark *at, struct tp_table **out);

/* --- the tree (toml_tree.c) --- */

struct tp_table *tp_table_new(int depth, const struct tp_mark *at, enum tp_origin origin);
struct tp_array *tp_array_new(int depth, bool of_tables);
/* Finds a key in one table; NULL if absent. */
struct toml_keyval *tp_table_find(const struct tp_table *t, const char *key, size_t len);
/* Appends a copy of key with val (whose contents t then owns); NULL when out
 * of memory, in which case the caller still owns val. The result is valid
 * until the next addition to t. */
struct toml_keyval *tp_table_add(struct tp_table *t, const char *key, size_t len,
                                 const struct tp_mark *at, const struct toml_value *val);
/* Appends val (the array then owns its contents); false when out of memory. */
bool tp_array_push(struct tp_array *a, const struct toml_value *val);
/* Makes t and every table created inside it immutable. */
void tp_table_freeze(struct tp_table *t);
void tp_table_free(struct tp_table *t);
void tp_value_free(struct toml_value *v);

static inline struct tp_table *tp_table_of(struct toml_table *t)
{
    return (struct tp_table *)t;
}

static inline struct tp_array *tp_array_of(struct toml_array *a)
{
    return (struct tp_array *)a;
}

#endif
