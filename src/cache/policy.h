/* RFC 9111 shared-cache rules as SPEC 14 lists them (the rules of the
 * http-cache-semantics library rpxy uses): what may be stored, for how
 * long it is fresh, and whether a stored response may answer a request.
 * Pure: the caller reads the fields once into the facts below. Times are
 * milliseconds since the epoch. */
#ifndef RPXY_CACHE_POLICY_H
#define RPXY_CACHE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache_control.h"
#include "http/field.h"

enum cache_method { CACHE_GET, CACHE_HEAD, CACHE_POST, CACHE_OTHER };

struct cache_req_facts {
    enum cache_method method;
    struct cc_directives cc;
    bool pragma_no_cache;
    bool authorization;
};

struct cache_resp_facts {
    int status;
    struct cc_directives cc; /* a Pragma: no-cache without Cache-Control sets no_cache */
    bool has_expires;
    int64_t expires_ms;       /* -1 when malformed ("already expired") */
    int64_t date_ms;          /* -1 when absent or malformed */
    int64_t last_modified_ms; /* -1 when absent or malformed */
    int64_t age_s;            /* the Age field; 0 when absent or malformed */
    bool set_cookie;
    bool vary_star;
};

enum cache_method cache_method_of(const char *m, size_t n);

/* Reads the request fields the rules look at. */
void policy_read_request(struct cache_req_facts *r, enum cache_method method,
                         const struct http_field *f, size_t n);

/* Reads the response fields the rules look at. */
void policy_read_response(struct cache_resp_facts *r, int status, const struct http_field *f,
                          size_t n);

/* Whether a shared cache may store the response to the request. */
bool policy_storable(const struct cache_req_facts *req, const struct cache_resp_facts *res);

/* The freshness lifetime (ms) of a storable response received at
 * response_ms; 0 means stored but never served. */
int64_t policy_lifetime_ms(const struct cache_resp_facts *res, int64_t response_ms);

/* The current age (ms) of a response received at response_ms with an Age
 * of age_s seconds. */
int64_t policy_age_ms(int64_t response_ms, int64_t age_s, int64_t now_ms);

/* Whether a stored response (lifetime, current age, its must-revalidate)
 * may answer req without contacting the upstream: no no-cache in the
 * request, its max-age, min-fresh and max-stale honoured. */
bool policy_satisfies(const struct cache_req_facts *req, int64_t lifetime_ms, int64_t age_ms,
                      bool must_revalidate);

#endif
