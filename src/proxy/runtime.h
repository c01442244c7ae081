/* The runtime snapshot: a validated config plus everything derived from it
 * that workers read on the request path (routing table, resolved upstream
 * addresses, load-balancer groups). Built by the main thread, published
 * atomically, reference-counted: each request holds a reference, so
 * in-flight requests finish on the snapshot they started with. */
#ifndef RPXY_PROXY_RUNTIME_H
#define RPXY_PROXY_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "config/config.h"
#include "proxy/router.h"
#include "upstream/balance.h"
#include "upstream/sticky.h"

#define RT_MAX_ADDRS 8

/* Resolved addresses of an upstream; replaced as a whole on refresh. */
struct rt_addrs {
    size_t n;
    struct sockaddr_storage addr[RT_MAX_ADDRS];
    socklen_t len[RT_MAX_ADDRS];
    /* failover: an address that refused or timed out is left out of new
     * connections until then (monotonic ms; 0: never failed) */
    _Atomic int64_t down_until_ms[RT_MAX_ADDRS];
};

struct rt_upstream {
    const struct cfg_upstream *cfg;
    _Atomic(struct rt_addrs *) addrs; /* NULL until resolved; old sets freed with the runtime */
    char authority[300];              /* host[:port] as written, IPv6 bracketed */
    size_t authority_len;
    const char *scheme; /* "http" or "https" */
    unsigned mx_slot;   /* metrics slot of its location */
};

struct rt_route {
    const struct route *route;
    struct rt_upstream *ups;
    size_t n_ups;
    struct lb_group *lb;
    struct sticky_route *sticky; /* load_balance = "sticky" only */
    unsigned mx_app;             /* metrics slot of the route's app */
};

struct cache;

struct runtime {
    atomic_long refs;
    struct cfg *cfg;
    struct route_table *table;
    struct rt_route *routes; /* by route id */
    size_t n_routes;
    struct rt_addrs **retired; /* address sets replaced by refresh, freed at the end */
    size_t n_retired, cap_retired;
    /* SPEC 9.8: h3=":<public_https_port>"; ma=<alt_svc_max_age>, or empty
     * when HTTP/3 is off */
    char alt_svc[48];
    size_t alt_svc_len;
    struct cache *cache; /* [experimental.cache]: a reference, or NULL (set by the supervisor) */
};

/* Builds the runtime of cfg, taking ownership of cfg; resolves upstream
 * names (blocking: call from the main thread). Returns the runtime with one
 * reference, or NULL (cfg freed) when out of memory. */
struct runtime *runtime_build(struct cfg *cfg);

/* Re-resolves every upstream name; a failed lookup keeps the last good
 * addresses. Main thread only. */
void runtime_refresh_dns(struct runtime *rt);

static inline void runtime_ref(struct runtime *rt)
{
    atomic_fetch_add_explicit(&rt->refs, 1, memory_order_relaxed);
}

/* Drops a reference; the last one frees the runtime and its config. */
void runtime_unref(struct runtime *rt);

#endif
