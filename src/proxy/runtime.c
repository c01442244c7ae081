#include "proxy/runtime.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/index.h"
#include "log/log.h"
#include "metrics/counters.h"

static struct rt_addrs *resolve(const struct cfg_upstream *u)
{
    struct rt_addrs *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    struct in6_addr v6;
    struct in_addr v4;
    if (inet_pton(AF_INET, u->host, &v4) == 1) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&a->addr[0];
        sin->sin_family = AF_INET;
        sin->sin_addr = v4;
        sin->sin_port = htons(u->port);
        a->len[0] = sizeof(*sin);
        a->n = 1;
        return a;
    }
    if (inet_pton(AF_INET6, u->host, &v6) == 1) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->addr[0];
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = v6;
        sin6->sin6_port = htons(u->port);
        a->len[0] = sizeof(*sin6);
        a->n = 1;
        return a;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)u->port);
    int rc = getaddrinfo(u->host, port, &hints, &res);
    if (rc != 0) {
        log_warn("Failed to resolve upstream %s: %s", u->host, gai_strerror(rc));
        free(a);
        return NULL;
    }
    for (struct addrinfo *ai = res; ai && a->n < RT_MAX_ADDRS; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(a->addr[0]))
            continue;
        memcpy(&a->addr[a->n], ai->ai_addr, ai->ai_addrlen);
        a->len[a->n] = ai->ai_addrlen;
        a->n++;
    }
    freeaddrinfo(res);
    if (!a->n) {
        free(a);
        return NULL;
    }
    return a;
}

static void fill_upstream(struct rt_upstream *ru, const struct cfg_upstream *u)
{
    ru->cfg = u;
    ru->scheme = u->tls ? "https" : "http";
    bool v6 = strchr(u->host, ':') != NULL;
    int n;
    if (u->port_given)
        n = snprintf(ru->authority, sizeof(ru->authority), "%s%s%s:%u", v6 ? "[" : "", u->host,
                     v6 ? "]" : "", (unsigned)u->port);
    else
        n = snprintf(ru->authority, sizeof(ru->authority), "%s%s%s", v6 ? "[" : "", u->host,
                     v6 ? "]" : "");
    ru->authority_len = n < 0                               ? 0
                        : (size_t)n < sizeof(ru->authority) ? (size_t)n
                                                            : sizeof(ru->authority) - 1;
    ru->mx_slot = mx_upstream_slot(ru->authority);
    atomic_init(&ru->addrs, resolve(u));
}

static int init_sticky(struct rt_route *r, const struct cfg *cfg)
{
    r->sticky = calloc(1, sizeof(*r->sticky));
    char **uris = calloc(r->n_ups, sizeof(*uris));
    int rc = r->sticky && uris ? 0 : -1;
    for (size_t j = 0; rc == 0 && j < r->n_ups; j++) {
        const struct cfg_upstream *u = r->ups[j].cfg;
        uris[j] = malloc(strlen(u->location) + 16);
        if (!uris[j] ||
            sticky_upstream_uri(u->tls, u->location, uris[j], strlen(u->location) + 16) < 0)
            rc = -1;
    }
    const char *why = NULL;
    if (rc == 0 &&
        sticky_route_init(r->sticky, cfg->sticky_secret, r->route->app->cfg->server_name,
                          r->route->cfg->path, (const char *const *)uris, r->n_ups, &why) < 0) {
        log_error("Invalid sticky-cookie configuration: %s", why ? why : "?");
        rc = -1;
    }
    for (size_t j = 0; uris && j < r->n_ups; j++)
        free(uris[j]);
    free(uris);
    if (rc < 0) {
        free(r->sticky);
        r->sticky = NULL;
    }
    return rc;
}

struct runtime *runtime_build(struct cfg *cfg)
{
    struct runtime *rt = calloc(1, sizeof(*rt));
    if (!rt) {
        cfg_free(cfg);
        return NULL;
    }
    atomic_init(&rt->refs, 1);
    rt->cfg = cfg;
    if (cfg->h3.enabled && cfg->public_https_port > 0)
        rt->alt_svc_len = (size_t)snprintf(rt->alt_svc, sizeof(rt->alt_svc), "h3=\":%d\"; ma=%u",
                                           (int)cfg->public_https_port, cfg->h3.alt_svc_max_age);
    rt->table = route_table_build(cfg);
    if (!rt->table)
        goto fail;
    rt->n_routes = route_table_n_routes(rt->table);
    rt->routes = calloc(rt->n_routes ? rt->n_routes : 1, sizeof(*rt->routes));
    if (!rt->routes)
        goto fail;
    for (size_t i = 0; i < rt->n_routes; i++) {
        struct rt_route *r = &rt->routes[i];
        r->route = route_table_route(rt->table, i);
        r->mx_app = mx_app_slot(r->route->app->cfg->name);
        const struct cfg_route *cr = r->route->cfg;
        r->n_ups = cr->n_upstreams;
        r->ups = calloc(r->n_ups ? r->n_ups : 1, sizeof(*r->ups));
        r->lb = lb_group_for_route(cr);
        if (!r->ups || !r->lb)
            goto fail;
        lb_group_set_passive(
            r->lb, cfg->upstream_max_fails, (int64_t)cfg->upstream_fail_timeout_s * 1000,
            (int64_t)cfg->upstream_connect_timeout_s * 1000, cr->health_check.enabled);
        for (size_t j = 0; j < r->n_ups; j++)
            fill_upstream(&r->ups[j], &cr->upstreams[j]);
        if (cr->load_balance == CFG_LB_STICKY && cfg->has_sticky_secret && init_sticky(r, cfg) < 0)
            goto fail;
    }
    return rt;
fail:
    runtime_unref(rt);
    return NULL;
}

static void retire(struct runtime *rt, struct rt_addrs *old)
{
    if (!old)
        return;
    if (rt->n_retired == rt->cap_retired) {
        size_t cap = rt->cap_retired ? rt->cap_retired * 2 : 16;
        struct rt_addrs **p = realloc(rt->retired, cap * sizeof(*p));
        if (!p)
            return; /* leak one small set rather than free it under a reader */
        rt->retired = p;
        rt->cap_retired = cap;
    }
    rt->retired[rt->n_retired++] = old;
}

void runtime_refresh_dns(struct runtime *rt)
{
    for (size_t i = 0; i < rt->n_routes; i++) {
        for (size_t j = 0; j < rt->routes[i].n_ups; j++) {
            struct rt_upstream *u = &rt->routes[i].ups[j];
            struct rt_addrs *fresh = resolve(u->cfg);
            struct rt_addrs *cur = atomic_load(&u->addrs);
            if (!fresh)
                continue;
            if (cur && cur->n == fresh->n &&
                memcmp(cur->addr, fresh->addr, sizeof(cur->addr)) == 0) {
                free(fresh); /* unchanged: keep the set readers already use */
                continue;
            }
            struct rt_addrs *old = atomic_exchange(&u->addrs, fresh);
            retire(rt, old);
        }
    }
}

void runtime_unref(struct runtime *rt)
{
    if (!rt || atomic_fetch_sub_explicit(&rt->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; rt->routes && i < rt->n_routes; i++) {
        for (size_t j = 0; rt->routes[i].ups && j < rt->routes[i].n_ups; j++)
            free(atomic_load(&rt->routes[i].ups[j].addrs));
        free(rt->routes[i].ups);
        lb_group_free(rt->routes[i].lb);
        if (rt->routes[i].sticky) {
            sticky_route_free(rt->routes[i].sticky);
            free(rt->routes[i].sticky);
        }
    }
    for (size_t i = 0; i < rt->n_retired; i++)
        free(rt->retired[i]);
    free(rt->retired);
    free(rt->routes);
    route_table_free(rt->table);
    cache_unref(rt->cache);
    cfg_free(rt->cfg);
    free(rt);
}
