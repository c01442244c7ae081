/* Header policy (SPEC 4.9, 4.10 and 5): the request head sent upstream and
 * the response head sent to the client. Protocol-neutral inputs (field
 * lists, connection facts); the h1 serialisation is the output. */
#ifndef RPXY_PROXY_HEADERS_H
#define RPXY_PROXY_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "http/h1_parser.h"
#include "util/ipaddr.h"

struct cfg;
struct route;
struct rt_upstream;

/* What the request side needs besides the request's own fields. */
struct upreq_input {
    const struct cfg *cfg;
    const struct route *route;
    const struct rt_upstream *up;
    const char *method;
    size_t method_len;
    const char *upstream_path; /* after replace_path */
    size_t upstream_path_len;
    const char *original_uri; /* for X-Original-URI */
    size_t original_uri_len;
    const char *uri_host; /* URI authority without port, NULL if none */
    size_t uri_host_len;
    const char *authoritative_host; /* 4.9 step 2, NULL if none */
    size_t authoritative_host_len;
    const char *forced_host; /* default_app fallback: its server_name, else NULL */
    struct ip_addr peer;
    uint16_t local_port;
    bool tls;
    bool upgrade;
    enum h1_body body; /* request framing to announce upstream (NONE, LENGTH, CHUNKED) */
    uint64_t content_length;
    const struct http_field *fields;
    size_t n_fields;
    const char *sticky_cookie_rest; /* sticky: the Cookie value to send, or NULL */
    size_t sticky_cookie_rest_len;
    bool sticky_strip_cookie; /* sticky: drop Cookie entirely */
};

/* Output facts the caller logs. */
struct upreq_output {
    char xff[2700]; /* X-Forwarded-For sent (access log) */
    size_t xff_len;
    unsigned warnings; /* enum fwd_warning bits to log */
    const char *why;
};

/* Appends the upstream request head to out. Returns 0, or -1 when it does
 * not fit (BUF_MAX) or out of memory. */
int upreq_build(const struct upreq_input *in, struct buf *out, struct upreq_output *res);

/* The response policy of SPEC 4.10: copies the upstream's fields to out
 * (cap entries) minus hop-by-hop ones, those the Connection field names,
 * Server and Alt-Svc (and Content-Length when drop_content_length); a
 * set_cookie (may be NULL) replaces an upstream Set-Cookie starting with
 * rpxy_sticky_token=, else is appended. *has_date tells whether a Date
 * field is among them. Returns the number of fields written. */
size_t resp_policy(const struct http_field *fields, size_t n, bool drop_content_length,
                   const char *set_cookie, size_t set_cookie_len, struct http_field *out,
                   size_t cap, bool *has_date);

/* "date: <IMF-fixdate>" value for now (cached per second per thread). */
const char *http_date_now(void);

/* Does a comma-separated list contain the token (case-insensitive)? */
bool list_has_token(const char *v, size_t len, const char *tok, size_t tok_len);

#endif
