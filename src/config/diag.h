/* Located configuration diagnostics: "file:line:col: error: key: reason". */
#ifndef RPXY_CONFIG_DIAG_H
#define RPXY_CONFIG_DIAG_H

#include <stddef.h>
#include <stdio.h>

enum cfg_severity {
    CFG_ERROR,
    CFG_WARNING,
};

struct cfg_diag {
    enum cfg_severity severity;
    char *file;
    int line, col; /* 0 when the problem has no place (e.g. file missing) */
    char *key;     /* dotted path such as apps.a.reverse_proxy[0].path, or NULL */
    char *msg;
};

struct cfg_diags {
    struct cfg_diag *items;
    size_t n, cap;
    size_t n_errors;
    size_t n_dropped; /* diagnostics past the cap, counted but not kept */
};

/* Adds one diagnostic; the strings are copied. Never fails: on allocation
 * failure or past a cap of 100 entries it only counts (n_dropped). */
void cfg_diag_add(struct cfg_diags *d, enum cfg_severity sev, const char *file, int line, int col,
                  const char *key, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Renders item i as one line (no newline) into buf. Returns snprintf's result. */
int cfg_diag_format(const struct cfg_diag *item, char *buf, size_t size);

/* Prints every diagnostic, one per line, then "N errors" when dropped ones exist. */
void cfg_diags_print(const struct cfg_diags *d, FILE *out);

void cfg_diags_free(struct cfg_diags *d);

#endif
