/* Strict HTTP/1.1 message head parsers (RFC 9112) for the front end (requests)
 * and the upstream client (responses).
 *
 * Pure functions in the style of picohttpparser: no I/O, no allocation, no
 * state between calls. Outputs point into the caller's buffer (the one static
 * exception is the "/" path of an absolute-form target without a path). When
 * more bytes arrive, call again with the whole buffer: the head is re-parsed
 * from its start.
 *
 * Return values: > 0 the head length (bytes up to and including the CRLF of
 * the empty line, leading empty lines included); H1_INCOMPLETE (-2) need more
 * bytes; H1_ERROR (-1) the message is invalid: err_status is the status to
 * answer (400, 414, 431, 501, 505 for requests; always 502 for responses) and
 * err_reason a short static text. For any buffer, a prefix of it returns
 * H1_INCOMPLETE or the same result as the whole buffer; limits are checked by
 * position, so they fire while the head is still incomplete.
 *
 * Where RFC 9112 leaves a choice, this parser takes the strict one:
 * - line endings are CRLF only: a bare LF (which section 2.2 lets recipients
 *   accept) or a bare CR anywhere is an error, as is obs-fold and whitespace
 *   before the first field line (2.2, 5.2);
 * - elements of the request line are separated by exactly one SP;
 * - leading empty lines (CRLF) before a request line are skipped (2.2; they
 *   count towards max_head); before a status line they are an error;
 * - a request target may hold any VCHAR but '#' (no fragment, no raw
 *   non-ASCII byte, no controls, no spaces); absolute-form takes only "http" and "https"
 * (case-insensitive), requires a non-empty host, rejects userinfo ("@") and rejects a query without
 * a path ("http://a?q"), so its path is always "/"-rooted; authority-form (CONNECT only) requires
 * host ":" port;
 * - Transfer-Encoding is a list of bare tokens (transfer parameters are
 *   rejected as invalid); in a request, "chunked" listed twice or not last is
 *   400 and any other coding is 501, including "gzip" alone (6.1 says 501 for
 *   codings not understood, which wins over the 400 of 6.3 rule 4);
 * - Content-Length: a list of identical decimal values is one value (6.3 rule
 *   5), empty list elements are an error, values above 2^63 - 1 are an error;
 *   in a response it is validated even when Transfer-Encoding overrides it;
 * - a response with Transfer-Encoding in HTTP/1.0 is faulty framing (6.1) and
 *   so an error, as is "chunked" listed twice; "chunked" not last means the
 *   body runs until close (6.3 rule 4);
 * - a status line without the SP before an empty reason ("HTTP/1.1 204\r\n")
 *   is tolerated: it does not affect framing and some servers send it; status
 *   codes outside 100..599 are an error;
 * - a 101 response is an error unless the request asked for an upgrade;
 * - "Expect: 100-continue" in an HTTP/1.0 request is ignored (RFC 9110 10.1.1).
 */
#ifndef RPXY_HTTP_H1_PARSER_H
#define RPXY_HTTP_H1_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "http/field.h"

#define H1_ERROR (-1)
#define H1_INCOMPLETE (-2)

/* Caller-chosen limits. A head larger than INT_MAX is never accepted. */
struct h1_limits {
    size_t max_start_line; /* request or status line without its CRLF (414 / 502) */
    size_t max_head;       /* whole head, leading empty lines and final CRLF included (431) */
    size_t max_headers;    /* field lines (431); the capacity of the headers array */
};

enum h1_target_form {
    H1_TARGET_ORIGIN,    /* "/path?query" */
    H1_TARGET_ABSOLUTE,  /* "http://host[:port]/path?query" or https */
    H1_TARGET_AUTHORITY, /* "host:port", CONNECT only */
    H1_TARGET_ASTERISK,  /* "*", OPTIONS only */
};

enum h1_body {
    H1_BODY_NONE,    /* no body; the next message starts after the head */
    H1_BODY_LENGTH,  /* content_length bytes (possibly 0) */
    H1_BODY_CHUNKED, /* chunked coding: decode with h1_chunked_decode */
    H1_BODY_CLOSE,   /* responses only: the body runs until the server closes */
    H1_BODY_TUNNEL,  /* responses only: 2xx to CONNECT or 101 to an upgrade;
                        the connection carries another protocol after the head */
};

/* Message flags (h1_request.flags, h1_response.flags). */
#define H1_F_CONN_CLOSE 0x0001u      /* Connection lists "close" */
#define H1_F_CONN_KEEP_ALIVE 0x0002u /* Connection lists "keep-alive" */
#define H1_F_CONN_UPGRADE 0x0004u    /* Connection lists "upgrade" */
#define H1_F_UPGRADE 0x0008u         /* an Upgrade field is present */
#define H1_F_EXPECT_CONTINUE 0x0010u /* request: Expect: 100-continue (HTTP/1.1) */
#define H1_F_EXPECT_OTHER 0x0020u    /* request: another expectation; answer 417 */
#define H1_F_TE_TRAILERS 0x0040u     /* request: TE lists "trailers" */
#define H1_F_CONTENT_LENGTH                                                                        \
    0x0080u                            /* a Content-Length field is present (a chunked             \
                                          response ignores it: drop it when forwarding) */
#define H1_F_TRANSFER_ENCODING 0x0100u /* a Transfer-Encoding field is present */
#define H1_F_KEEP_ALIVE                                                                            \
    0x0200u /* the connection may carry another message after                                      \
               this one (version default, Connection, framing) */

/* What the client knows about the request a response answers. */
#define H1_REQ_HEAD 0x1u    /* the request method was HEAD */
#define H1_REQ_CONNECT 0x2u /* the request method was CONNECT */
#define H1_REQ_UPGRADE 0x4u /* the request carried Upgrade (101 is acceptable) */

struct h1_request {
    const char *method;
    size_t method_len;
    const char *target; /* the request-target as received */
    size_t target_len;
    enum h1_target_form form;
    const char *authority; /* absolute-form: host[:port]; authority-form: the target */
    size_t authority_len;  /* (NULL, 0 for the other forms) */
    const char *path;      /* origin-form: the target; absolute-form: path and query,
                              "/" if empty; asterisk-form: "*"; authority-form: NULL */
    size_t path_len;
    const char *host; /* the Host field value, NULL if absent */
    size_t host_len;
    int minor_version; /* 0 or 1 */
    size_t num_headers;
    enum h1_body body; /* H1_BODY_NONE, _LENGTH or _CHUNKED */
    uint64_t content_length;
    unsigned flags;         /* H1_F_* */
    int err_status;         /* on H1_ERROR: 400, 414, 431, 501 or 505 */
    const char *err_reason; /* on H1_ERROR: short static text */
};

struct h1_response {
    int minor_version; /* 0 or 1 */
    int status;        /* 100..599; also set on H1_ERROR once the status line was valid */
    const char *reason_phrase;
    size_t reason_phrase_len;
    size_t num_headers;
    enum h1_body body;
    uint64_t content_length; /* the Content-Length value when one is present */
    unsigned flags;          /* H1_F_* */
    int err_status;          /* on H1_ERROR: 502 */
    const char *err_reason;  /* on H1_ERROR: short static text */
};

/* Character classes shared by the h1 codecs: h1_char_class[byte] & H1_C_*. */
#define H1_C_TOKEN 0x01u  /* tchar (RFC 9110 5.6.2) */
#define H1_C_VALUE 0x02u  /* field value byte: HTAB, SP, VCHAR, obs-text */
#define H1_C_TARGET 0x04u /* request-target byte: VCHAR but '#' */
#define H1_C_HOST 0x08u   /* reg-name byte: unreserved, sub-delims ("%" is not: pct-encoded) */
#define H1_C_HEX 0x10u    /* HEXDIG, either case */
#define H1_C_QDTEXT 0x20u /* qdtext: HTAB, SP, VCHAR but '"' and '\', obs-text */
extern const unsigned char h1_char_class[256];

/* Parses a request head from buf[0..len). headers must hold lim->max_headers
 * entries. Fills *req (pointers into buf, which the caller keeps owning).
 * Returns the head length, H1_INCOMPLETE, or H1_ERROR with req->err_status
 * and req->err_reason set. */
int h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim,
                     struct http_field *headers, struct h1_request *req);

/* Parses a response head from buf[0..len) for a request described by
 * req_flags (H1_REQ_*). headers must hold lim->max_headers entries;
 * lim->max_start_line bounds the status line. Fills *res (pointers into buf).
 * Returns the head length, H1_INCOMPLETE, or H1_ERROR with res->err_status
 * (502) and res->err_reason set. A 1xx other than 101 is an interim response:
 * the final response follows it. */
int h1_parse_response(const char *buf, size_t len, const struct h1_limits *lim, unsigned req_flags,
                      struct http_field *headers, struct h1_response *res);

/* Parses field lines alone (a chunked trailer section) from buf[0..len),
 * through the empty line that ends them, by the rules of header fields. The
 * section, final CRLF included, may not exceed max_len bytes. Stores up to
 * max_headers fields in headers and their count in *num_headers; headers may
 * be NULL to only validate (then the count is unlimited). Returns the section
 * length, H1_INCOMPLETE, or H1_ERROR with a short static text in *why. */
int h1_parse_fields(const char *buf, size_t len, size_t max_len, struct http_field *headers,
                    size_t max_headers, size_t *num_headers, const char **why);

#endif
