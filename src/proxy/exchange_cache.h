/* The response cache on the exchange (SPEC 14): the lookup once the
 * upstream request is built (after balancing and sticky), hits served by a
 * cache "upstream client", misses stored by a tee in front of the
 * front-end, concurrent misses of one key collapsed (ours). Costs nothing
 * when [experimental.cache] is absent: the exchange calls in only when the
 * runtime has a cache. */
#ifndef RPXY_PROXY_EXCHANGE_CACHE_H
#define RPXY_PROXY_EXCHANGE_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/exchange.h"

/* For a request about to be forwarded (its head in ex->up_out, ex->upc
 * chosen but not attached). https: the client-visible scheme (SPEC 5.7);
 * host: the authoritative host (SPEC 4.9 step 2), NULL if none. Returns 0
 * to go upstream (the response may be stored), 1 when the cache answers or
 * the request waits for another one's fetch, -1 when the request asked
 * only-if-cached and nothing is stored (the caller answers 504). */
int excache_begin(struct exchange *ex, const struct ex_request *req, bool https, const char *host,
                  size_t host_len);

#endif
