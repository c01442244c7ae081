/* A header field as every protocol sees it: name and value are slices into
 * a buffer the message's parser or decoder owns (no copy, no allocation).
 * HTTP/1 parsing leaves the value without surrounding whitespace; HTTP/2
 * names arrive lower-case. */
#ifndef RPXY_HTTP_FIELD_H
#define RPXY_HTTP_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <strings.h>

struct http_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Case-insensitive comparison of a field name with a lower-case literal.
 * The first byte decides most mismatches of equal length without a call
 * (OR 0x20 lower-cases a letter and keeps the digits and '-' a literal may
 * start with). */
static inline bool name_is(const struct http_field *h, const char *lower, size_t len)
{
    return h->name_len == len && len && (h->name[0] | 0x20) == lower[0] &&
           strncasecmp(h->name, lower, len) == 0;
}
#define NAME_IS(h, lit) name_is((h), lit, sizeof(lit) - 1)

#endif
