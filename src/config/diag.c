#include "config/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIAG_CAP 100

/* Copies s with control characters escaped, so a key or value from the file
 * cannot break a diagnostic (or log) line apart. */
static char *escaped_dup(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p < 0x20 || *p == 0x7f) ? 4 : 1;
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n' || *p == '\t' || *p == '\r') {
            *o++ = '\\';
            *o++ = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
        } else if (*p < 0x20 || *p == 0x7f) {
            o += sprintf(o, "\\x%02x", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    *o = '\0';
    return out;
}

void cfg_diag_add(struct cfg_diags *d, enum cfg_severity sev, const char *file, int line, int col,
                  const char *key, const char *fmt, ...)
{
    if (sev == CFG_ERROR)
        d->n_errors++;
    if (d->n >= DIAG_CAP) {
        d->n_dropped++;
        return;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct cfg_diag *items = realloc(d->items, cap * sizeof(*items));
        if (!items) {
            d->n_dropped++;
            return;
        }
        d->items = items;
        d->cap = cap;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct cfg_diag *it = &d->items[d->n];
    it->severity = sev;
    it->file = strdup(file ? file : "");
    it->line = line;
    it->col = col;
    it->key = key ? escaped_dup(key) : NULL;
    it->msg = escaped_dup(msg);
    if (!it->file || !it->msg || (key && !it->key)) {
        free(it->file);
        free(it->key);
        free(it->msg);
        d->n_dropped++;
        return;
    }
    d->n++;
}

int cfg_diag_format(const struct cfg_diag *it, char *buf, size_t size)
{
    const char *sev = it->severity == CFG_ERROR ? "error" : "warning";
    char where[64] = "";
    if (it->line > 0)
        snprintf(where, sizeof(where), ":%d:%d", it->line, it->col);
    if (it->key)
        return snprintf(buf, size, "%s%s: %s: %s: %s", it->file, where, sev, it->key, it->msg);
    return snprintf(buf, size, "%s%s: %s: %s", it->file, where, sev, it->msg);
}

void cfg_diags_print(const struct cfg_diags *d, FILE *out)
{
    char line[2048];
    for (size_t i = 0; i < d->n; i++) {
        cfg_diag_format(&d->items[i], line, sizeof(line));
        fprintf(out, "%s\n", line);
    }
    if (d->n_dropped)
        fprintf(out, "(%zu more diagnostics not shown)\n", d->n_dropped);
}

void cfg_diags_free(struct cfg_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].file);
        free(d->items[i].key);
        free(d->items[i].msg);
    }
    free(d->items);
    memset(d, 0, sizeof(*d));
}
