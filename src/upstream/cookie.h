/* Request-side Cookie handling for sticky routes (SPEC 7.4): find the sticky
 * cookie among the request's Cookie field values and rebuild the rest into
 * one value for the upstream. The sticky cookie is never forwarded.
 *
 * Every Cookie field value is split on ';' and each pair trimmed of spaces
 * and tabs. Pairs starting with "<name>=" are candidates; the others are
 * joined with "; " in order. Empty pairs (";;", a trailing ';') are dropped,
 * so the rebuilt value is always well-formed; rpxy would forward them as
 * "a=1; ; b=2". Bytes are kept as received (rpxy drops a field value that is
 * not visible ASCII; we forward it). */
#ifndef RPXY_UPSTREAM_COOKIE_H
#define RPXY_UPSTREAM_COOKIE_H

#include <stdbool.h>
#include <stddef.h>

/* One Cookie field value (a slice of the request head). */
struct cookie_field {
    const char *ptr;
    size_t len;
};

enum cookie_found {
    COOKIE_FOUND_NONE,    /* no candidate: leave the Cookie header untouched */
    COOKIE_FOUND_ONE,     /* exactly one: its value is in .value */
    COOKIE_FOUND_SEVERAL, /* ambiguous: treat as no cookie (still stripped) */
};

struct cookie_take_result {
    enum cookie_found found;
    const char *value; /* COOKIE_FOUND_ONE: text after "<name>=", leading blanks
                          skipped; points into the input */
    size_t value_len;
    size_t rest_len; /* found != NONE: length written to out; 0 = remove the header */
};

/* True when the pair (already trimmed) or Set-Cookie value starts with
 * "<name>=" (case-sensitive). */
bool cookie_is_named(const char *s, size_t len, const char *name);

/* Capacity of out that cookie_take() never exceeds for these fields,
 * NUL included. */
size_t cookie_rest_max(const struct cookie_field *fields, size_t n);

/* Looks for the cookie `name` in fields[0..n) and, when found at least once,
 * writes the remaining cookies ("a=1; b=2") and a NUL into out. Nothing is
 * written when found is NONE. Returns 0, or -1 if out (cap bytes) is too small
 * (cookie_rest_max() is always enough). */
int cookie_take(const struct cookie_field *fields, size_t n, const char *name, char *out,
                size_t cap, struct cookie_take_result *res);

#endif
