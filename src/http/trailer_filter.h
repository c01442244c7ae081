/* Trailer fields that must not be forwarded. RFC 9110 6.5.1: fields that
 * frame, route, authenticate or modify a message, or describe its content,
 * are evaluated before the content arrives; a recipient that merged them
 * from a trailer (as some backends do) could be made to re-frame a message
 * or trust a forged client address. The proxy drops them from request and
 * response trailers alike. */
#ifndef RPXY_HTTP_TRAILER_FILTER_H
#define RPXY_HTTP_TRAILER_FILTER_H

#include <stdbool.h>
#include <stddef.h>

/* Whether a field of this name may travel in a trailer section. */
bool trailer_field_allowed(const char *name, size_t len);

/* Copies the trailer field lines ("name: value\r\n"...) at in to out (len
 * bytes of room at least) without the fields trailer_field_allowed()
 * refuses. Returns the length written; *dropped counts the lines left out. */
size_t trailer_filter(const char *in, size_t len, char *out, size_t *dropped);

#endif
