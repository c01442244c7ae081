/* Trailer sections between HTTP/2 and the exchange, which carries them as
 * HTTP/1 field lines ("name: value\r\n"...): collecting decoded fields into
 * that text, and turning the text back into an nghttp2 field list. */
#ifndef RPXY_HTTP_H2_TRAILER_H
#define RPXY_HTTP_H2_TRAILER_H

#include <nghttp2/nghttp2.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "http/field.h"

#define H2_TRAILER_MAX 8192

/* Appends one field line to b. Returns 0, or -1 when the section would
 * pass H2_TRAILER_MAX bytes or memory is short. */
int h2_trailer_append(struct buf *b, const uint8_t *name, size_t nl, const uint8_t *value,
                      size_t vl);

/* Parses the field lines of text into f (at most cap entries), names
 * lower-cased in place, connection-specific fields left out; f points into
 * text. Returns the count (0 when the text is empty or not field lines).
 * Protocol-neutral: HTTP/3 uses it too. */
size_t h2_trailer_fields(struct buf *text, struct http_field *f, size_t cap);

/* The same as an nghttp2 field list: parses the field lines of text into nv (at most cap entries),
 * names lower-cased in place, connection-specific fields left out. nv points into text (nghttp2
 * copies at submission). Returns the count (0 when the text is empty or not field lines). */
size_t h2_trailer_nv(struct buf *text, nghttp2_nv *nv, size_t cap);

#endif
