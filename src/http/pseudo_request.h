/* What the HTTP/2 and HTTP/3 front-ends share between their decoded field
 * sections and the exchange: a request head collected as offsets into one
 * buffer (which may move while it grows), the neutral ex_request built from
 * its pseudo-headers and fields (with X-Original-URI), the status digits
 * and response field names lower-cased for the wire. */
#ifndef RPXY_HTTP_PSEUDO_REQUEST_H
#define RPXY_HTTP_PSEUDO_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "http/field.h"
#include "proxy/exchange.h"

#define PSEUDO_MAX_FIELDS 100
#define PSEUDO_MAX_HEAD BUF_MAX /* names, values and pseudo-headers of one request */

/* A field kept as offsets into the head buffer. */
struct field_ref {
    uint32_t name, name_len, value, value_len;
};

struct req_head {
    struct buf head;
    struct field_ref fields[PSEUDO_MAX_FIELDS];
    size_t n_fields;
    struct field_ref method, scheme, authority, path;
    bool have_method, have_scheme, have_authority, have_path;
    bool too_large; /* more fields or bytes than we keep: 431 */
};

/* Adds one decoded field; pseudo-headers (already validated by the
 * protocol library) are kept apart. Past the limits, too_large is set and
 * the rest is ignored. */
void req_head_add(struct req_head *rh, const uint8_t *name, size_t nl, const uint8_t *value,
                  size_t vl);

/* Builds the neutral request of a complete head: fields goes into the
 * caller's array (PSEUDO_MAX_FIELDS entries), X-Original-URI is appended to
 * rh->head (er points into it: do not add to rh meanwhile). end_stream: no
 * body follows. Returns 0; -1 when memory is short; -2 when the request is
 * malformed (no :scheme outside CONNECT, or a Content-Length promising a
 * body the end of the stream denies). */
int req_head_request(struct req_head *rh, enum http_version version, bool end_stream,
                     struct http_field *fields, struct ex_request *er);

/* The three digits of a status code (100..999, else 500). */
void http_status_text(int status, char out[4]);

/* Copies f into out (at most cap) with names lower-cased into b (which is
 * emptied first; values still point where f's do). Returns the count, or
 * -1 when memory is short. */
long http_lower_fields(struct buf *b, const struct http_field *f, size_t n, struct http_field *out,
                       size_t cap);

/* Response heads as fields for the wire, in one form for both front-ends
 * (which turn them into their library's name/value pairs). code holds the
 * status digits and b the lower-cased names: both must live until the head
 * is submitted. Each returns the count written to out, or -1 when memory
 * is short. */
/* An interim (1xx) head: :status, then fields. out: n + 1 entries. */
long http_interim_head(int status, const struct http_field *f, size_t n, char code[4],
                       struct buf *b, struct http_field *out, size_t cap);
/* A final head: :status, the policy's fields, server: rpxy, a date unless
 * the upstream sent one. out: res->n_fields + 3 entries. */
long http_final_head(const struct ex_response *res, char code[4], struct buf *b,
                     struct http_field *out, size_t cap);
/* A synthetic head (SPEC 4.11): :status, date, location when given. out: 3
 * entries. */
size_t http_synthetic_head(int status, const char *location, size_t location_len, char code[4],
                           struct http_field *out);
/* Whether a final head is followed by body bytes. */
bool http_head_has_body(const struct exchange *ex, const struct ex_response *res);

#endif
