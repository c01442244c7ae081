/* Parsing of the fields the cache reads (RFC 9111, RFC 9110): Cache-Control
 * directives, Pragma, HTTP dates (Date, Expires, Last-Modified,
 * If-Modified-Since), Age, comma lists (Vary) and entity tags. Pure
 * functions over slices; malformed input never fails hard, it yields the
 * reading RFC 9111 asks for (invalid freshness information = stale). */
#ifndef RPXY_CACHE_CACHE_CONTROL_H
#define RPXY_CACHE_CACHE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CC_ABSENT (-1)         /* a numeric directive not given */
#define CC_UNBOUNDED INT64_MAX /* max-stale without a value */

/* The directives the cache acts on, from every Cache-Control line. */
struct cc_directives {
    bool no_store, no_cache, private_, public_, must_revalidate, proxy_revalidate, immutable,
        only_if_cached;
    /* seconds, or CC_ABSENT; a malformed or contradictory value reads 0 */
    int64_t max_age, s_maxage, min_fresh, max_stale;
};

/* Resets d (nothing given). */
void cc_init(struct cc_directives *d);

/* Adds the directives of one Cache-Control field value to d. A directive
 * given twice with different values reads 0 (RFC 9111 4.2.1: stale). */
void cc_parse(struct cc_directives *d, const char *v, size_t n);

/* Whether a comma list (Pragma, Vary, Connection) holds tok
 * (case-insensitive). */
bool cc_list_has(const char *v, size_t n, const char *tok, size_t tok_len);

/* Iterates a comma list: returns the next element (trimmed, possibly
 * empty) starting at *pos, advancing *pos; false at the end. */
bool cc_list_next(const char *v, size_t n, size_t *pos, const char **el, size_t *el_len);

/* An HTTP date (IMF-fixdate, RFC 850 or asctime form) as seconds since the
 * epoch; -1 when malformed. */
int64_t cc_http_date(const char *v, size_t n);

/* delta-seconds (Age): the value, capped at 2^31 (RFC 9111 1.2.2); -1 when
 * malformed. */
int64_t cc_delta_seconds(const char *v, size_t n);

/* Weak comparison of an If-None-Match value with an entity tag: true when
 * the list is "*" or holds a tag equal to etag ignoring W/ (RFC 9110
 * 13.1.2). */
bool cc_etag_match(const char *inm, size_t inm_len, const char *etag, size_t etag_len);

#endif
