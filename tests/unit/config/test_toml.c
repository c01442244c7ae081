/* Unit tests for the TOML parser (src/config/toml.h): every value form
 * through the API, positions, lookups, exact errors for malformed input,
 * and every prefix of valid documents read against a guard page. */
#include "config/toml.h"

#include "../tap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static struct toml_table *parse(const char *text)
{
    struct toml_error err;
    struct toml_table *root = toml_parse(text, strlen(text), &err);

    if (!root)
        printf("#   unexpected error %d:%d: %s\n", err.line, err.col, err.msg);
    return root;
}

/* The value of a key in t, or NULL (reported) if absent or of another type. */
static const struct toml_value *get(const struct toml_table *t, const char *key,
                                    enum toml_type type)
{
    const struct toml_keyval *kv = t ? toml_get(t, key) : NULL;

    if (!kv || kv->val.type != type) {
        printf("#   key \"%s\": %s\n", key, kv ? "wrong type" : "missing");
        return NULL;
    }
    return &kv->val;
}

static const char *str(const struct toml_table *t, const char *key)
{
    const struct toml_value *v = get(t, key, TOML_STRING);
    return v ? v->u.str.ptr : NULL;
}

static int64_t integer(const struct toml_table *t, const char *key)
{
    const struct toml_value *v = get(t, key, TOML_INTEGER);
    return v ? v->u.i : -12345;
}

static double flt(const struct toml_table *t, const char *key)
{
    const struct toml_value *v = get(t, key, TOML_FLOAT);
    return v ? v->u.f : -12345.0;
}

static const struct toml_table *table(const struct toml_table *t, const char *key)
{
    const struct toml_value *v = get(t, key, TOML_TABLE);
    return v ? v->u.tab : NULL;
}

static const struct toml_array *array(const struct toml_table *t, const char *key)
{
    const struct toml_value *v = get(t, key, TOML_ARRAY);
    return v ? v->u.arr : NULL;
}

static void test_strings(void)
{
    struct toml_table *t = parse("basic = \"a\\tb\\n\\\"q\\\" \\\\ \\b\\f\\r\"\n"
                                 "literal = 'C:\\path\\x'\n"
                                 "u4 = \"\\u00e9\\u20AC\"\n"
                                 "u8 = \"\\U0001F600\"\n"
                                 "nul = \"a\\u0000b\"\n"
                                 "ml = \"\"\"\nline1\n  line2\\\n     joined\"\"\"\n"
                                 "ml_quotes = \"\"\"two \"\" quotes\"\"\"\"\"\n"
                                 "mll = '''\nraw \\n 'q' ''\n'''\n"
                                 "empty = \"\"\n"
                                 "utf8 = \"h\xc3\xa9llo \xf0\x9f\x98\x80\"\n");

    TAP_OK(t != NULL, "strings: parse");
    TAP_STR_EQ(str(t, "basic"), "a\tb\n\"q\" \\ \b\f\r", "strings: basic escapes");
    TAP_STR_EQ(str(t, "literal"), "C:\\path\\x", "strings: literal keeps backslashes");
    TAP_STR_EQ(str(t, "u4"), "\xc3\xa9\xe2\x82\xac", "strings: \\u escapes encode UTF-8");
    TAP_STR_EQ(str(t, "u8"), "\xf0\x9f\x98\x80", "strings: \\U escape encodes UTF-8");
    const struct toml_value *nul = get(t, "nul", TOML_STRING);
    TAP_OK(nul && nul->u.str.len == 3 && memcmp(nul->u.str.ptr, "a\0b", 4) == 0,
           "strings: \\u0000 kept, length 3");
    TAP_STR_EQ(str(t, "ml"), "line1\n  line2joined",
               "strings: multi-line trims first newline, line-ending backslash");
    TAP_STR_EQ(str(t, "ml_quotes"), "two \"\" quotes\"\"", "strings: quotes before closing");
    TAP_STR_EQ(str(t, "mll"), "raw \\n 'q' ''\n", "strings: multi-line literal");
    TAP_STR_EQ(str(t, "empty"), "", "strings: empty");
    TAP_STR_EQ(str(t, "utf8"), "h\xc3\xa9llo \xf0\x9f\x98\x80", "strings: raw UTF-8");
    toml_free(t);

    t = parse("crlf = \"\"\"\r\na\r\nb\\\r\n   c\"\"\"\r\n");
    TAP_STR_EQ(str(t, "crlf"), "a\nbc", "strings: CRLF in multi-line becomes LF");
    toml_free(t);
}

static void test_integers(void)
{
    struct toml_table *t = parse("a = 42\nb = +17\nc = -5\nd = 0\ne = 1_000_000\n"
                                 "f = 0xDEAD_beef\ng = 0o755\nh = 0b1101\n"
                                 "max = 9223372036854775807\nmin = -9223372036854775808\n"
                                 "hexmax = 0x7fffffffffffffff\nz = -0\nlead = 0x00ff\n");

    TAP_OK(t != NULL, "integers: parse");
    TAP_INT_EQ(integer(t, "a"), 42, "integers: decimal");
    TAP_INT_EQ(integer(t, "b"), 17, "integers: plus sign");
    TAP_INT_EQ(integer(t, "c"), -5, "integers: minus sign");
    TAP_INT_EQ(integer(t, "d"), 0, "integers: zero");
    TAP_INT_EQ(integer(t, "e"), 1000000, "integers: underscores");
    TAP_INT_EQ(integer(t, "f"), 0xDEADBEEF, "integers: hex, mixed case");
    TAP_INT_EQ(integer(t, "g"), 0755, "integers: octal");
    TAP_INT_EQ(integer(t, "h"), 13, "integers: binary");
    TAP_OK(integer(t, "max") == INT64_MAX, "integers: INT64_MAX");
    TAP_OK(integer(t, "min") == INT64_MIN, "integers: INT64_MIN");
    TAP_OK(integer(t, "hexmax") == INT64_MAX, "integers: hex INT64_MAX");
    TAP_INT_EQ(integer(t, "z"), 0, "integers: -0");
    TAP_INT_EQ(integer(t, "lead"), 255, "integers: leading zeros after 0x are fine");
    toml_free(t);
}

static void test_floats(void)
{
    struct toml_table *t = parse("a = 3.14\nb = -0.5\nc = 1e3\nd = 6.626e-34\ne = 5E+2_2\n"
                                 "f = 1_000.000_1\ng = inf\nh = -inf\ni = +inf\nj = nan\n"
                                 "k = -nan\nl = -0.0\nm = 0.1\nn = 1.7976931348623157e308\n");

    TAP_OK(t != NULL, "floats: parse");
    TAP_OK(flt(t, "a") == 3.14, "floats: fraction");
    TAP_OK(flt(t, "b") == -0.5, "floats: negative");
    TAP_OK(flt(t, "c") == 1000.0, "floats: exponent");
    TAP_OK(flt(t, "d") == 6.626e-34, "floats: negative exponent");
    TAP_OK(flt(t, "e") == 5e22, "floats: E, plus sign, underscore in exponent");
    TAP_OK(flt(t, "f") == 1000.0001, "floats: underscores");
    TAP_OK(isinf(flt(t, "g")) && flt(t, "g") > 0, "floats: inf");
    TAP_OK(isinf(flt(t, "h")) && flt(t, "h") < 0, "floats: -inf");
    TAP_OK(isinf(flt(t, "i")) && flt(t, "i") > 0, "floats: +inf");
    TAP_OK(isnan(flt(t, "j")), "floats: nan");
    TAP_OK(isnan(flt(t, "k")), "floats: -nan");
    TAP_OK(flt(t, "l") == 0.0 && signbit(flt(t, "l")), "floats: -0.0 keeps its sign");
    TAP_OK(flt(t, "m") == 0.1, "floats: 0.1 rounds correctly");
    TAP_OK(flt(t, "n") == 1.7976931348623157e308, "floats: largest double");
    toml_free(t);
}

static void test_bools(void)
{
    struct toml_table *t = parse("yes = true\nno = false\n");
    const struct toml_value *y = get(t, "yes", TOML_BOOL), *n = get(t, "no", TOML_BOOL);

    TAP_OK(y && y->u.b, "bools: true");
    TAP_OK(n && !n->u.b, "bools: false");
    toml_free(t);
}

static bool dt_is(const struct toml_value *v, enum toml_type type, int y, int mo, int d, int h,
                  int mi, int s, int ns, int digits)
{
    return v && v->type == type && v->u.dt.year == y && v->u.dt.month == mo && v->u.dt.day == d &&
           v->u.dt.hour == h && v->u.dt.minute == mi && v->u.dt.second == s &&
           v->u.dt.nanosecond == ns && v->u.dt.frac_digits == digits;
}

static void test_datetimes(void)
{
    struct toml_table *t = parse("odt1 = 1979-05-27T07:32:00Z\n"
                                 "odt2 = 1979-05-27t00:32:00.999999-07:30\n"
                                 "odt3 = 1979-05-27 07:32:00z\n"
                                 "odt4 = 1979-05-27T07:32:00.1234567891+00:00\n"
                                 "ldt = 1979-05-27T07:32:00.5\n"
                                 "ld = 2024-02-29\n"
                                 "lt = 23:59:60.000001\n"
                                 "spaced = 2000-01-01 # a date, then a comment\n");
    const struct toml_value *v;

    TAP_OK(t != NULL, "datetimes: parse");
    v = get(t, "odt1", TOML_DATETIME);
    TAP_OK(dt_is(v, TOML_DATETIME, 1979, 5, 27, 7, 32, 0, 0, 0) && v->u.dt.offset_z &&
               v->u.dt.offset_minutes == 0,
           "datetimes: offset date-time with Z");
    v = get(t, "odt2", TOML_DATETIME);
    TAP_OK(dt_is(v, TOML_DATETIME, 1979, 5, 27, 0, 32, 0, 999999000, 6) && !v->u.dt.offset_z &&
               v->u.dt.offset_minutes == -450,
           "datetimes: lowercase t, fraction, negative offset");
    v = get(t, "odt3", TOML_DATETIME);
    TAP_OK(dt_is(v, TOML_DATETIME, 1979, 5, 27, 7, 32, 0, 0, 0) && v->u.dt.offset_z,
           "datetimes: space separator, lowercase z");
    v = get(t, "odt4", TOML_DATETIME);
    TAP_OK(dt_is(v, TOML_DATETIME, 1979, 5, 27, 7, 32, 0, 123456789, 9) && !v->u.dt.offset_z,
           "datetimes: fraction truncated to nanoseconds, +00:00");
    v = get(t, "ldt", TOML_DATETIME_LOCAL);
    TAP_OK(dt_is(v, TOML_DATETIME_LOCAL, 1979, 5, 27, 7, 32, 0, 500000000, 1),
           "datetimes: local date-time");
    v = get(t, "ld", TOML_DATE_LOCAL);
    TAP_OK(dt_is(v, TOML_DATE_LOCAL, 2024, 2, 29, 0, 0, 0, 0, 0), "datetimes: leap day");
    v = get(t, "lt", TOML_TIME_LOCAL);
    TAP_OK(dt_is(v, TOML_TIME_LOCAL, 0, 0, 0, 23, 59, 60, 1000, 6),
           "datetimes: local time, leap second");
    v = get(t, "spaced", TOML_DATE_LOCAL);
    TAP_OK(dt_is(v, TOML_DATE_LOCAL, 2000, 1, 1, 0, 0, 0, 0, 0),
           "datetimes: date followed by a space is a date");
    toml_free(t);
}

static void test_arrays(void)
{
    struct toml_table *t = parse("empty = []\n"
                                 "mixed = [1, 'two', 3.0, true, 1979-05-27, [4], {five = 5}]\n"
                                 "multi = [ # comment\n  1,\n\n  2, # another\n]\n"
                                 "nested = [[1, 2], [[3]]]\n");
    const struct toml_array *a;

    TAP_OK(t != NULL, "arrays: parse");
    a = array(t, "empty");
    TAP_OK(a && a->n == 0, "arrays: empty");
    a = array(t, "mixed");
    TAP_OK(a && a->n == 7 && a->items[0].type == TOML_INTEGER && a->items[1].type == TOML_STRING &&
               a->items[2].type == TOML_FLOAT && a->items[3].type == TOML_BOOL &&
               a->items[4].type == TOML_DATE_LOCAL && a->items[5].type == TOML_ARRAY &&
               a->items[6].type == TOML_TABLE,
           "arrays: mixed types");
    TAP_OK(a && a->n == 7 && a->items[1].line == 2 && a->items[1].col == 13,
           "arrays: item position");
    a = array(t, "multi");
    TAP_OK(a && a->n == 2 && a->items[1].u.i == 2 && a->items[1].line == 6,
           "arrays: newlines, comments, trailing comma");
    a = array(t, "nested");
    TAP_OK(a && a->n == 2 && a->items[1].type == TOML_ARRAY &&
               a->items[1].u.arr->items[0].u.arr->items[0].u.i == 3,
           "arrays: nested");
    toml_free(t);
}

static void test_tables(void)
{
    struct toml_table *t = parse("title = 'x'\n"
                                 "[server]\n"
                                 "host = \"h\"\n"
                                 "tls.cert = 'c'\n"
                                 "tls.key = 'k'\n"
                                 "[server.limits]\n"
                                 "  max = 10\n"
                                 "[[route]]\n"
                                 "path = '/a'\n"
                                 "[[route]]\n"
                                 "path = '/b'\n"
                                 "[route.opts]\n"
                                 "x = 1\n"
                                 "[ \"quoted key\" . 'lit' ]\n"
                                 "inline = { a.b = 1, c = { d = 2 } }\n"
                                 "[a.b.c]\n"
                                 "[a]\n"
                                 "z = 0\n");
    const struct toml_table *server, *tls, *opts, *q;
    const struct toml_array *routes;

    TAP_OK(t != NULL, "tables: parse");
    server = table(t, "server");
    TAP_STR_EQ(str(server, "host"), "h", "tables: [server] host");
    tls = table(server, "tls");
    TAP_STR_EQ(str(tls, "key"), "k", "tables: dotted keys build a sub-table");
    TAP_INT_EQ(integer(table(server, "limits"), "max"), 10, "tables: [server.limits]");
    TAP_OK(server && server->line == 2 && server->col == 1, "tables: header position");
    routes = array(t, "route");
    TAP_OK(routes && routes->n == 2, "tables: array of tables has 2 entries");
    if (routes && routes->n == 2) {
        TAP_STR_EQ(str(routes->items[1].u.tab, "path"), "/b", "tables: second [[route]]");
        opts = table(routes->items[1].u.tab, "opts");
        TAP_INT_EQ(integer(opts, "x"), 1, "tables: [route.opts] goes into the last entry");
        TAP_OK(routes->items[0].u.tab->line == 8 && routes->items[1].u.tab->line == 10,
               "tables: array of tables entry positions");
    }
    q = table(table(t, "quoted key"), "lit");
    TAP_OK(q != NULL, "tables: quoted keys with spaces around dots");
    const struct toml_table *in = table(q, "inline");
    TAP_INT_EQ(integer(table(in, "a"), "b"), 1, "tables: dotted key in inline table");
    TAP_INT_EQ(integer(table(in, "c"), "d"), 2, "tables: nested inline table");
    TAP_OK(in && in->line == 15 && in->col == 10, "tables: inline table position is its '{'");
    const struct toml_table *a = table(t, "a");
    TAP_INT_EQ(integer(a, "z"), 0, "tables: [a] after [a.b.c]");
    TAP_OK(a && a->line == 17, "tables: implicit table takes the position of its [header]");
    TAP_OK(t && t->n == 5 && strcmp(t->kv[0].key, "title") == 0 && strcmp(t->kv[4].key, "a") == 0,
           "tables: keys kept in document order");
    toml_free(t);
}

static void test_positions(void)
{
    const char *junk = "x = 1\n\xe2\x82\xac\xe2\x82\xac = 2";
    const struct toml_keyval *kv;
    struct toml_error err;
    struct toml_table *t = parse("\xef\xbb\xbf"
                                 "a = 1\n"
                                 "  b.c   =   \"x\"\r\n"
                                 "\"\xc3\xa9t\xc3\xa9\" = 'caf\xc3\xa9' # \xe2\x82\xac\n"
                                 "d = [1,\n     2]\n");
    kv = t ? toml_get(t, "a") : NULL;
    TAP_OK(kv && kv->line == 1 && kv->col == 1 && kv->val.line == 1 && kv->val.col == 5,
           "positions: the BOM takes no column");
    kv = t ? toml_get(table(t, "b"), "c") : NULL;
    TAP_OK(kv && kv->line == 2 && kv->col == 5 && kv->val.line == 2 && kv->val.col == 13,
           "positions: dotted key part and value");
    kv = t ? toml_get(t, "b") : NULL;
    TAP_OK(kv && kv->line == 2 && kv->col == 3, "positions: first part of a dotted key");
    kv = t ? toml_get(t, "\xc3\xa9t\xc3\xa9") : NULL;
    TAP_OK(kv && kv->line == 3 && kv->col == 1 && kv->val.col == 9,
           "positions: columns count code points, CRLF ends a line");
    kv = t ? toml_get(t, "d") : NULL;
    TAP_OK(kv && kv->val.u.arr->n == 2 && kv->val.u.arr->items[1].line == 5 &&
               kv->val.u.arr->items[1].col == 6,
           "positions: array item on a continuation line");
    TAP_OK(t && t->line == 1 && t->col == 1, "positions: root is 1:1");
    toml_free(t);

    t = toml_parse(junk, strlen(junk), &err);
    TAP_OK(!t && err.line == 2 && err.col == 1 && strstr(err.msg, "U+20AC"),
           "positions: unexpected non-ASCII is named by code point");
    toml_free(t);
}

static void test_get_and_names(void)
{
    struct toml_table *t = parse("a = 1\n'' = 2\n");
    char doc[200000];
    size_t len = 0;

    TAP_OK(toml_get(t, "a") != NULL, "toml_get: present");
    TAP_OK(toml_get(t, "b") == NULL, "toml_get: absent");
    TAP_OK(toml_get(t, "") != NULL, "toml_get: empty key");
    TAP_OK(toml_get(NULL, "a") == NULL, "toml_get: NULL table");
    TAP_OK(toml_get(t, "a.b") == NULL, "toml_get: no dotted paths");
    toml_free(t);
    toml_free(NULL);

    /* a big flat table goes through the hash index */
    for (int i = 0; i < 5000; i++)
        len += (size_t)snprintf(doc + len, sizeof doc - len, "key_%d = %d\n", i, i);
    t = toml_parse(doc, len, NULL);
    TAP_OK(t && t->n == 5000, "toml_get: 5000 keys parsed");
    bool all = t != NULL;
    for (int i = 0; t && i < 5000; i++) {
        char key[32];
        snprintf(key, sizeof key, "key_%d", i);
        const struct toml_keyval *kv = toml_get(t, key);
        all = all && kv && kv->val.u.i == i;
    }
    TAP_OK(all, "toml_get: every one of 5000 keys found with its value");
    TAP_OK(t && toml_get(t, "key_5000") == NULL, "toml_get: absent from a big table");
    toml_free(t);

    TAP_STR_EQ(toml_type_name(TOML_STRING), "string", "toml_type_name: string");
    TAP_STR_EQ(toml_type_name(TOML_INTEGER), "integer", "toml_type_name: integer");
    TAP_STR_EQ(toml_type_name(TOML_TABLE), "table", "toml_type_name: table");
    TAP_STR_EQ(toml_type_name(TOML_DATETIME_LOCAL), "local date-time",
               "toml_type_name: local date-time");
}

struct bad_case {
    const char *text;
    int line, col;
    const char *msg;
};

static const struct bad_case bad_cases[] = {
    /* strings */
    { "a = \"abc\n", 1, 5, "unterminated string" },
    { "a = 'abc", 1, 5, "unterminated string" },
    { "a = \"\"\"abc\n\n", 1, 5, "unterminated multi-line string" },
    { "x = 1\na = '''abc''", 2, 5, "unterminated multi-line string" },
    { "a = \"a\\qb\"", 1, 7, "invalid escape sequence '\\q' in string" },
    { "a = \"\\x41\"", 1, 6, "invalid escape sequence '\\x' in string" },
    { "a = \"a\\ b\"", 1, 7, "invalid escape sequence in string: '\\' followed by a space" },
    { "a = \"\\u12\"", 1, 10, "expected 4 hex digits after '\\u'" },
    { "a = \"\\U0010FFFG\"", 1, 15, "expected 8 hex digits after '\\U'" },
    { "a = \"x\\uD800\"", 1, 7, "invalid unicode escape '\\uD800' (surrogate code point)" },
    { "a = \"\\U00110000\"", 1, 6, "invalid unicode escape '\\U00110000' (beyond U+10FFFF)" },
    { "a = \"tab\tok, bell\a not\"", 1, 18, "control character U+0007 is not allowed in strings" },
    { "a = '\x7f'", 1, 6, "control character U+007F is not allowed in strings" },
    { "a = \"\"\"x\"\"\"\"\"\"", 1, 14, "too many quotes at the end of a multi-line string" },
    { "\"\"\"k\"\"\" = 1", 1, 1, "multi-line strings are not allowed as keys" },
    { "a = \"\xc3\xa9\xff\"", 1, 7, "invalid UTF-8 byte 0xff" },
    { "a = \"\xe0\x80\x80\"", 1, 6, "invalid UTF-8 byte 0xe0" },
    { "a = \"\xed\xa0\x80\"", 1, 6, "invalid UTF-8 byte 0xed" },
    { "# caf\xc3\n", 1, 6, "invalid UTF-8 byte 0xc3" },
    { "a = 1 # bell \a\n", 1, 14, "control character U+0007 is not allowed in comments" },
    /* keys and structure */
    { "a 1", 1, 3, "expected '=' after key \"a\"" },
    { "a.b.c 1", 1, 7, "expected '=' after key \"a.b.c\"" },
    { "'x y' 1", 1, 7, "expected '=' after key 'x y'" },
    { "a =", 1, 4, "expected a value" },
    { "a = \n", 1, 5, "expected a value" },
    { "= 1", 1, 1, "expected a key" },
    { "a. = 1", 1, 4, "expected a key after '.'" },
    { "a = 1 2", 1, 7, "expected end of line after value" },
    { "a = \"x\" \"y\"", 1, 9, "expected end of line after value" },
    { "a = hello", 1, 5, "invalid value 'hello'" },
    { "a = truex", 1, 5, "invalid value 'truex'" },
    { "a = 1\r", 1, 6, "carriage return must be followed by a newline" },
    { "a = 1\n\na = 2", 3, 1, "duplicate key \"a\" (first defined at line 1)" },
    { "a.b = 1\na.b = 2", 2, 3, "duplicate key \"a.b\" (first defined at line 1)" },
    { "a = 1\na.b = 2", 2, 1, "key \"a\" is already defined as an integer at line 1" },
    { "[a.b]\nx=1\n[a.b]", 3, 4, "table [a.b] already defined at line 1" },
    { "[a]\n[b]\n[a]", 3, 2, "table [a] already defined at line 1" },
    { "[a]\nb.c = 1\n[a.b]", 3, 4, "table [a.b] already defined by dotted keys at line 2" },
    { "[a.b.c]\n[a]\nb.c.d = 1", 3, 3,
      "cannot extend table \"b.c\" with dotted keys: it is defined by a header at line 1" },
    { "a = {b = 1}\n[a]", 2, 2, "cannot extend inline table [a] (defined at line 1)" },
    { "a = {b = 1}\n[a.c]", 2, 2, "cannot extend inline table [a] (defined at line 1)" },
    { "a = {b = 1}\na.c = 2", 2, 1, "cannot extend inline table \"a\" (defined at line 1)" },
    { "a = {b = {c = 1}, b.d = 2}", 1, 19, "cannot extend inline table \"b\" (defined at line 1)" },
    { "a = [1]\n[[a]]", 2, 3, "cannot append to static array \"a\" (defined at line 1)" },
    { "a = [{}]\n[a.b]", 2, 2, "cannot extend array \"a\" (defined at line 1) with a header" },
    { "[[a]]\n[a]", 2, 2, "table [a] already defined as an array of tables at line 1" },
    { "[a]\n[[a]]", 2, 3, "cannot define [[a]]: table [a] already defined at line 1" },
    { "[a\nb = 1", 1, 3, "expected ']' to close the table header" },
    { "[[a]\n", 1, 5, "expected ']]' to close the array of tables header" },
    { "[]", 1, 2, "expected a key" },
    { "[a] b = 1", 1, 5, "expected end of line after table header" },
    /* arrays and inline tables */
    { "a = [1 2]", 1, 8, "expected ',' or ']' after array element" },
    { "a = [1,,2]", 1, 8, "expected a value" },
    { "a = [,]", 1, 6, "expected a value" },
    { "a = [1, 2", 1, 5, "unterminated array (missing ']')" },
    { "a = {b = 1,}", 1, 12, "trailing comma is not allowed in inline tables" },
    { "a = {b = 1\n}", 1, 11, "inline tables must be on one line (expected ',' or '}')" },
    { "a = {\nb = 1}", 1, 6, "inline tables must be on one line (expected a key)" },
    { "a = {b = 1 c = 2}", 1, 12, "expected ',' or '}' in inline table" },
    { "a = {b = 1", 1, 5, "unterminated inline table (missing '}')" },
    { "a = {b = 1, b = 2}", 1, 13, "duplicate key \"b\" (first defined at line 1)" },
    /* numbers */
    { "a = 9223372036854775808", 1, 5, "integer overflows 64 bits" },
    { "a = -9223372036854775809", 1, 5, "integer overflows 64 bits" },
    { "a = 0x8000000000000000", 1, 5, "integer overflows 64 bits" },
    { "a = 0123", 1, 5, "leading zeros are not allowed in integers" },
    { "a = -007", 1, 6, "leading zeros are not allowed in integers" },
    { "a = 00.5", 1, 5, "leading zeros are not allowed in floats" },
    { "a = 1__0", 1, 6, "underscores in numbers must be between digits" },
    { "a = 10_", 1, 7, "underscores in numbers must be between digits" },
    { "a = 0x_ff", 1, 7, "expected a hexadecimal digit after '0x'" },
    { "a = 0b102", 1, 9, "invalid character '2' in binary integer" },
    { "a = +0x10", 1, 5, "a sign is not allowed on hex, octal or binary integers" },
    { "a = 0X10", 1, 6, "invalid character 'X' in number" },
    { "a = 1.", 1, 7, "expected a digit after the decimal point" },
    { "a = 1._5", 1, 7, "expected a digit after the decimal point" },
    { "a = 1e", 1, 7, "expected a digit in the exponent" },
    { "a = .5", 1, 5, "invalid value '.5'" },
    { "a = 1e400", 1, 5, "float is out of range" },
    { "a = Inf", 1, 5, "invalid value 'Inf'" },
    /* dates and times */
    { "a = 2023-02-29", 1, 13, "day 29 is out of range for 2023-02 (01-28)" },
    { "a = 2100-02-29", 1, 13, "day 29 is out of range for 2100-02 (01-28)" },
    { "a = 2023-04-31", 1, 13, "day 31 is out of range for 2023-04 (01-30)" },
    { "a = 2023-13-01", 1, 10, "month 13 is out of range (01-12)" },
    { "a = 2023-1-01", 1, 11, "expected a 2-digit month" },
    { "a = 24:00:00", 1, 5, "hour 24 is out of range (00-23)" },
    { "a = 12:60:00", 1, 8, "minute 60 is out of range (00-59)" },
    { "a = 12:00:61", 1, 11, "second 61 is out of range (00-60)" },
    { "a = 12:00", 1, 10, "expected ':' after the minute (seconds are required)" },
    { "a = 2023-01-01T12:00:00.", 1, 25, "expected a digit after the decimal point in the time" },
    { "a = 2023-01-01T12:00:00+24:00", 1, 25, "offset hour 24 is out of range (00-23)" },
    { "a = 2023-01-01T12:00:00+05", 1, 27, "expected ':' in the time offset" },
    { "a = 2023-01-01T", 1, 16, "expected a 2-digit hour" },
    { "a = 12:00:00Z", 1, 13, "expected end of line after value" },
    { "a = 2023-01-01 x", 1, 16, "expected end of line after value" },
    /* invisible characters are named */
    { "a = 1 \v", 1, 7, "expected end of line after value, found U+000B" },
    { "\xe3\x80\x80"
      "a = 1",
      1, 1, "expected a key, found U+3000" },
    { "\xef\xbb\xbf\xef\xbb\xbf", 1, 1, "expected a key, found U+FEFF" },
    { "a = \xff", 1, 5, "invalid UTF-8 byte 0xff" },
};

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        struct toml_error err = { 0, 0, "" };
        struct toml_table *t = toml_parse(c->text, strlen(c->text), &err);
        char what[160];

        snprintf(what, sizeof what, "error %zu: %s", i, c->msg);
        TAP_OK(t == NULL && err.line == c->line && err.col == c->col &&
                   strcmp(err.msg, c->msg) == 0,
               what);
        if (t || err.line != c->line || err.col != c->col || strcmp(err.msg, c->msg) != 0)
            printf("#   got %d:%d: %s\n", err.line, err.col, err.msg);
        toml_free(t);
    }
}

/* Errors whose input holds NUL bytes (so no strlen). */
static void test_nul_bytes(void)
{
    struct toml_error err;
    struct toml_table *t;

    t = toml_parse("a = \"x\0y\"", 9, &err);
    TAP_OK(!t && err.line == 1 && err.col == 7 &&
               strcmp(err.msg, "control character U+0000 is not allowed in strings") == 0,
           "NUL in a string is a control character");
    toml_free(t);
    t = toml_parse("a = 1\0", 6, &err);
    TAP_OK(!t && err.line == 1 && err.col == 6 &&
               strcmp(err.msg, "expected end of line after value, found U+0000") == 0,
           "NUL after a value");
    toml_free(t);
    t = toml_parse("# c\0mment", 9, &err);
    TAP_OK(!t && err.col == 4 &&
               strcmp(err.msg, "control character U+0000 is not allowed in comments") == 0,
           "NUL in a comment");
    toml_free(t);
    t = toml_parse("\0", 1, &err);
    TAP_OK(!t && err.line == 1 && err.col == 1, "a lone NUL");
    toml_free(t);
    t = toml_parse(NULL, 0, &err);
    TAP_OK(t && t->n == 0, "NULL text of length 0 is an empty document");
    toml_free(t);
    t = toml_parse("", 0, &err);
    TAP_OK(t && t->n == 0, "empty document");
    toml_free(t);
}

static void test_nesting_limit(void)
{
    char doc[1200];
    struct toml_error err;
    struct toml_table *t;
    size_t n;

    /* 127 arrays under the root: depth 127, allowed */
    n = (size_t)snprintf(doc, sizeof doc, "a = ");
    for (int i = 0; i < 128; i++)
        doc[n++] = '[';
    for (int i = 0; i < 128; i++)
        doc[n++] = ']';
    t = toml_parse(doc, n, &err);
    TAP_OK(t != NULL, "nesting: 128 levels of arrays are allowed");
    toml_free(t);

    n = (size_t)snprintf(doc, sizeof doc, "a = ");
    for (int i = 0; i < 129; i++)
        doc[n++] = '[';
    t = toml_parse(doc, n, &err);
    TAP_OK(!t && err.line == 1 && err.col == 133 &&
               strcmp(err.msg, "nesting too deep (more than 128 levels of arrays and tables)") == 0,
           "nesting: 129 levels of arrays are rejected");
    if (t || err.col != 133)
        printf("#   got %d:%d: %s\n", err.line, err.col, err.msg);
    toml_free(t);

    n = (size_t)snprintf(doc, sizeof doc, "a = ");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(doc + n, sizeof doc - n, "{b=");
    t = toml_parse(doc, n, &err);
    TAP_OK(!t && strstr(err.msg, "nesting too deep"), "nesting: inline tables are limited too");
    toml_free(t);

    /* dotted keys and headers count as levels as well */
    n = 0;
    doc[n++] = '[';
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(doc + n, sizeof doc - n, "%sk", i ? "." : "");
    doc[n++] = ']';
    t = toml_parse(doc, n, &err);
    TAP_OK(!t && err.col == 258 && strstr(err.msg, "nesting too deep"),
           "nesting: a header with 200 parts is rejected at part 129");
    if (t || err.col != 258)
        printf("#   got %d:%d: %s\n", err.line, err.col, err.msg);
    toml_free(t);
}

/* Parses text[0, len) placed so that it ends right at a PROT_NONE page:
 * any read past the end faults, even without AddressSanitizer. */
static bool parse_against_guard(const char *text, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t span = (len + page - 1) / page * page + page;
    struct toml_error err;
    bool ok;

    if (span == page) /* len 0: still give one readable page before the guard */
        span += page;
    char *map = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return false;
    if (mprotect(map + span - page, page, PROT_NONE) != 0) {
        munmap(map, span);
        return false;
    }
    char *copy = map + span - page - len;
    memcpy(copy, text, len);
    struct toml_table *t = toml_parse(copy, len, &err);
    ok = t != NULL || (err.line >= 1 && err.col >= 1 && err.msg[0] != '\0');
    toml_free(t);
    munmap(map, span);
    return ok;
}

static void test_prefixes(void)
{
    static const char *const docs[] = {
        "# config\r\ntitle = \"TOML \\u00e9 \\U0001F600 example\"\n"
        "[owner]\nname = 'Tom'\ndob = 1979-05-27T07:32:00.123-08:00\n"
        "[database]\nports = [ 8000, 8001, 0x1F, 0o7, 0b1, +1_000, -3 ]\n"
        "temp = [[-1.5e-3, inf, -nan], ['a', \"b\"]]\nenabled = true\n"
        "[servers.alpha]\nip = \"10.0.0.1\" # comment \xc3\xa9\n"
        "[[products]]\nname = \"\"\"multi\\\n   line \"\" \"\"\"\nsku = '''raw ''\n'''\n"
        "[[products]]\npoint = { x = 1, y.z = 2, t = 07:32:00, d = 2000-02-29 }\n",
        "\xef\xbb\xbf"
        "a.b.\"c d\" = 1979-05-27 07:32:00Z\n"
        "e = [ # c\n 1,\n 2,\n]\n"
        "f = \"\\\"\\\\\\b\\f\\n\\r\\t\"\n[x.y]\n[x]\nz = 0.1\n",
    };

    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        size_t len = strlen(docs[d]);
        bool all = parse_against_guard(docs[d], len);
        struct toml_table *whole = toml_parse(docs[d], len, NULL);
        char what[80];

        for (size_t n = 0; n < len; n++)
            all = parse_against_guard(docs[d], n) && all;
        snprintf(what, sizeof what, "prefixes: all %zu prefixes of document %zu", len + 1, d);
        TAP_OK(all, what);
        snprintf(what, sizeof what, "prefixes: document %zu is valid", d);
        TAP_OK(whole != NULL, what);
        toml_free(whole);
    }
}

int main(void)
{
    test_strings();
    test_integers();
    test_floats();
    test_bools();
    test_datetimes();
    test_arrays();
    test_tables();
    test_positions();
    test_get_and_names();
    test_errors();
    test_nul_bytes();
    test_nesting_limit();
    test_prefixes();
    return tap_done();
}
