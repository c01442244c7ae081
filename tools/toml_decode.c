/* toml-decode: reads TOML on stdin and writes toml-test's tagged JSON on
 * stdout (exit 0), or "line:col: message" on stderr (exit 1).
 *
 * Every scalar becomes {"type": "...", "value": "..."}; tables become
 * objects in document order and arrays become arrays. */
#include "config/toml.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static char *read_all(FILE *in, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);

    while (buf) {
        n += fread(buf + n, 1, cap - n, in);
        if (n < cap)
            break;
        char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            return NULL;
        }
        buf = grown;
        cap *= 2;
    }
    if (buf && ferror(in)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static void put_json_string(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\b': fputs("\\b", stdout); break;
        case '\f': fputs("\\f", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if (c < 0x20 || c == 0x7F)
                printf("\\u%04x", c);
            else
                putchar(c); /* the parser only hands out valid UTF-8 */
        }
    }
    putchar('"');
}

static void put_tagged(const char *type, const char *value)
{
    printf("{\"type\":\"%s\",\"value\":\"%s\"}", type, value);
}

static void put_float(double d)
{
    char buf[40];

    if (isnan(d))
        snprintf(buf, sizeof buf, "nan");
    else if (isinf(d))
        snprintf(buf, sizeof buf, "%s", d < 0 ? "-inf" : "inf");
    else
        snprintf(buf, sizeof buf, "%.17g", d);
    put_tagged("float", buf);
}

/* RFC 3339 text of the parts that the type has. */
static void format_datetime(enum toml_type type, const struct toml_datetime *dt, char *buf,
                            size_t size)
{
    size_t n = 0;

    if (type != TOML_TIME_LOCAL)
        n += (size_t)snprintf(buf + n, size - n, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
    if (type == TOML_DATE_LOCAL)
        return;
    if (type != TOML_TIME_LOCAL)
        buf[n++] = 'T';
    n += (size_t)snprintf(buf + n, size - n, "%02d:%02d:%02d", dt->hour, dt->minute, dt->second);
    if (dt->frac_digits > 0) {
        int frac = dt->nanosecond;
        for (int i = dt->frac_digits; i < 9; i++)
            frac /= 10;
        n += (size_t)snprintf(buf + n, size - n, ".%0*d", dt->frac_digits, frac);
    }
    if (type != TOML_DATETIME)
        return;
    if (dt->offset_z) {
        snprintf(buf + n, size - n, "Z");
    } else {
        int off = dt->offset_minutes < 0 ? -dt->offset_minutes : dt->offset_minutes;
        snprintf(buf + n, size - n, "%c%02d:%02d", dt->offset_minutes < 0 ? '-' : '+', off / 60,
                 off % 60);
    }
}

static void put_table(const struct toml_table *t);

static void put_value(const struct toml_value *v)
{
    static const char *const dt_names[] = {
        [TOML_DATETIME] = "datetime",
        [TOML_DATETIME_LOCAL] = "datetime-local",
        [TOML_DATE_LOCAL] = "date-local",
        [TOML_TIME_LOCAL] = "time-local",
    };
    char buf[64];

    switch (v->type) {
    case TOML_STRING:
        fputs("{\"type\":\"string\",\"value\":", stdout);
        put_json_string(v->u.str.ptr, v->u.str.len);
        putchar('}');
        break;
    case TOML_INTEGER:
        snprintf(buf, sizeof buf, "%" PRId64, v->u.i);
        put_tagged("integer", buf);
        break;
    case TOML_FLOAT: put_float(v->u.f); break;
    case TOML_BOOL: put_tagged("bool", v->u.b ? "true" : "false"); break;
    case TOML_DATETIME:
    case TOML_DATETIME_LOCAL:
    case TOML_DATE_LOCAL:
    case TOML_TIME_LOCAL:
        format_datetime(v->type, &v->u.dt, buf, sizeof buf);
        put_tagged(dt_names[v->type], buf);
        break;
    case TOML_ARRAY:
        putchar('[');
        for (size_t i = 0; i < v->u.arr->n; i++) {
            if (i)
                putchar(',');
            put_value(&v->u.arr->items[i]);
        }
        putchar(']');
        break;
    case TOML_TABLE: put_table(v->u.tab); break;
    }
}

static void put_table(const struct toml_table *t)
{
    putchar('{');
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            putchar(',');
        put_json_string(t->kv[i].key, t->kv[i].key_len);
        putchar(':');
        put_value(&t->kv[i].val);
    }
    putchar('}');
}

int main(void)
{
    struct toml_error err;
    size_t len = 0;
    char *text = read_all(stdin, &len);

    if (!text) {
        fprintf(stderr, "toml-decode: cannot read standard input\n");
        return 2;
    }
    struct toml_table *root = toml_parse(text, len, &err);
    free(text);
    if (!root) {
        fprintf(stderr, "%d:%d: %s\n", err.line, err.col, err.msg);
        return 1;
    }
    put_table(root);
    putchar('\n');
    toml_free(root);
    return fflush(stdout) == 0 ? 0 : 2;
}
