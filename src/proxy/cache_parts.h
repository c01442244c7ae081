/* What the three parts of the cache on the exchange share (not for other
 * modules): cache_store.c stores misses through a tee in front of the
 * front-end, cache_serve.c serves hits as an upstream client,
 * exchange_cache.c looks requests up and lets collapsed misses wait. */
#ifndef RPXY_PROXY_CACHE_PARTS_H
#define RPXY_PROXY_CACHE_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/index.h"
#include "cache/policy.h"
#include "proxy/exchange.h"

#define EXCACHE_FIELDS_MAX 100 /* a response with more fields is not stored */

/* What storing a miss needs once the request's own buffers are gone. */
struct excache_miss {
    struct cache *c; /* reference */
    struct cache_fill *fill;
    int64_t body_left;          /* of a length-framed body still to store, else -1 */
    struct cache_entry *stored; /* committed before the response ended: a reference */
    struct cache_key_lock lock;
    bool locked; /* lock is linked */
    struct cache_req_facts req;
    const char *key, *host;
    size_t key_len, host_len;
    struct http_field *fields; /* the request's, copied */
    size_t n_fields;
};

/* Wall-clock milliseconds (the cache's ages). */
int64_t excache_now_ms(void);

/* A copy of the query's request (key, upstream Host, fields, facts) with a
 * reference on c, or NULL when out of memory. */
struct excache_miss *excache_miss_new(struct cache *c, const struct cache_query *q);
/* The query of the copied request, at the time now. */
void excache_miss_query(const struct excache_miss *m, struct cache_query *q);
/* No (more) storing for this miss; its key lock is released. */
void excache_stop_storing(struct excache_miss *m);
/* Frees m (NULL allowed), storing stopped. */
void excache_miss_free(struct excache_miss *m);

/* Puts the storing tee in front of ex's front-end (once); ex->cache.miss
 * is then freed by the tee when the exchange ends. */
void excache_tee(struct exchange *ex);
bool excache_teed(const struct exchange *ex);

/* Serves ex from e (a reference handed over); f, n: the request's fields
 * (conditionals). The upstream client in use is kept for a refetch. */
void excache_serve(struct exchange *ex, struct cache_entry *e, const struct http_field *f,
                   size_t n);

/* The cache's upstream client: serves ex->cache.hit, or while there is
 * none (waiting for another request's fetch) does nothing. */
extern const struct up_client excache_client;

#endif
