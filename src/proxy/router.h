/* Request routing (SPEC 4.2, 4.5, 4.6, 4.7): which app serves a request, which
 * of its routes matches the path, and the path-and-query sent upstream.
 *
 * A route_table is built once per config snapshot and then only read, so any
 * number of worker threads may use it at once without locks. Nothing here
 * allocates per request: host names and rewritten paths go to caller buffers.
 *
 * Where we differ from rpxy ("paths join cleanly", SPEC top list item 2):
 *   - a route is matched without its trailing slashes: `/api/` behaves like
 *     `/api` and matches `/api`, `/api/` and `/api/x` (not `/apix`);
 *   - replace_path is joined to the rest of the request path at a segment
 *     boundary, never doubling or gluing a slash (see route_rewrite()).
 */
#ifndef RPXY_PROXY_ROUTER_H
#define RPXY_PROXY_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* A buffer of this size holds any host name route_host() returns in full. */
#define ROUTE_HOST_MAX 256

/* Results of route_host(). Negative values mean 400 Bad Request. */
enum route_host_result {
    ROUTE_HOST_OK = 0,
    ROUTE_HOST_LONG = 1,      /* longer than the buffer: out holds "" (matches no app) */
    ROUTE_HOST_MISSING = -1,  /* neither a Host header nor a URI host */
    ROUTE_HOST_MISMATCH = -2, /* both present and different after port stripping */
};

struct route_app;

/* One [[reverse_proxy]] entry of an app, ready for matching. */
struct route {
    const struct cfg_route *cfg; /* upstreams, options, load_balance */
    const struct route_app *app; /* the app this route belongs to */
    size_t id;                   /* dense: 0 .. route_table_n_routes() - 1 */
    const char *prefix;          /* path without trailing '/', "/" for the default route */
    size_t prefix_len;
    const char *replace; /* cfg->replace_path, or NULL */
    size_t replace_len;
};

/* One app: its configuration and its routes, longest prefix first. */
struct route_app {
    const struct cfg_app *cfg; /* server_name, tls (https_redirection) */
    const struct route *routes;
    size_t n_routes;
};

struct route_table;

/* Builds the routing table of cfg. The table points into cfg, which must
 * outlive it. Routes whose path does not start with '/' are left out (they
 * could never match). Returns a table owned by the caller (release with
 * route_table_free), or NULL when out of memory. */
struct route_table *route_table_build(const struct cfg *cfg);

/* Releases t. NULL is a no-op. */
void route_table_free(struct route_table *t);

/* Number of routes in t, over all apps; route ids run from 0 to this - 1. */
size_t route_table_n_routes(const struct route_table *t);

/* The route with this id (id < route_table_n_routes(t)), for building
 * per-route state such as load-balancer groups. Owned by t. */
const struct route *route_table_route(const struct route_table *t, size_t id);

/* Determines the request host (SPEC 4.2) from the Host header value
 * (host_hdr, NULL when the header is absent; an empty value is the empty
 * name) and the URI authority (absolute-form target or :authority; NULL or
 * empty when absent; userinfo before '@' is ignored). Ports are stripped from
 * both: "[v6]:port" -> the text inside the brackets, a value with two or more
 * ':' is kept as is, else everything from the first ':' is dropped. Both
 * present must agree (case-insensitively). The host, lower-cased and NUL-
 * terminated, is written to out (cap bytes; ROUTE_HOST_MAX holds any name)
 * and its length to *out_len. Returns an enum route_host_result. */
int route_host(const char *host_hdr, size_t host_hdr_len, const char *authority,
               size_t authority_len, char *out, size_t cap, size_t *out_len);

/* Exact lookup of an app by its server_name; host must be lower-case.
 * Returns the app (owned by t) or NULL. */
const struct route_app *route_app_by_name(const struct route_table *t, const char *host,
                                          size_t len);

/* App selection of SPEC 4.5: the app whose server_name is host (lower-case,
 * as route_host() wrote it); when none and the request is plaintext (!tls),
 * the default_app, with *fallback set to true (the caller then forces Host to
 * the default app's server_name). Returns the app (owned by t), or NULL for
 * 503. HTTPS redirection is left to the caller (app->cfg->tls). */
const struct route_app *route_select_app(const struct route_table *t, const char *host, size_t len,
                                         bool tls, bool *fallback);

/* Path routing of SPEC 4.6: the longest route of app whose prefix matches
 * the path of target (the raw request path-and-query; the path ends at the
 * first '?'). A prefix matches when the path starts with it and the path ends
 * there or continues with '/'; "/" matches every path starting with '/'. An
 * empty path (CONNECT) or "*" never matches. Returns the route (owned by the
 * table) or NULL for 404. */
const struct route *route_match(const struct route_app *app, const char *target, size_t len);

/* Upper bound of the length route_rewrite() writes for a target of len bytes
 * (without the NUL). */
size_t route_rewrite_max(const struct route *r, size_t len);

/* Writes the upstream path-and-query for target (which matched r) to out,
 * NUL-terminated, and its length to *out_len. Without replace_path target is
 * copied byte for byte ("/" when empty). With it (SPEC 4.7, joined cleanly):
 * rest = target minus the route prefix; rest empty or starting with '?' ->
 * replace + rest; rest starting with '/' -> replace without its trailing
 * slashes + rest; otherwise (only after the "/" route) -> replace without
 * its trailing slashes + '/' + rest. So `/maps`->`/r`: `/maps/a?x` -> `/r/a?x`,
 * `/sub`->`/`: `/sub/foo` -> `/foo`, and `/`->`/x`: `/a` -> `/x/a`, `/` -> `/x`.
 * Returns 0, or -1 when cap is too small (route_rewrite_max() + 1 suffices). */
int route_rewrite(const struct route *r, const char *target, size_t len, char *out, size_t cap,
                  size_t *out_len);

#endif
