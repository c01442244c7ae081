/* Request routing: host determination, app lookup (open-addressing hash of
 * server names), longest-prefix path matching and replace_path joining. */
#include "proxy/router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct route_slot {
    uint64_t hash;
    size_t len;
    const struct route_app *app; /* NULL: empty slot */
};

struct route_table {
    struct route_app *apps;
    size_t n_apps;
    struct route *routes; /* every app's routes, one contiguous slice per app */
    size_t n_routes;
    struct route_slot *slots; /* power-of-two size, at most half full */
    size_t mask;
    const struct route_app *default_app;
};

/* FNV-1a, 64 bit. The keys are the configured names, so the probe lengths
 * are fixed when the table is built whatever a client sends. */
static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3u;
    }
    return h;
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

/* Longest prefix first; for equal prefixes the later entry first (it wins,
 * as in rpxy; validation normally rejects duplicates). */
static int route_order(const void *a, const void *b)
{
    const struct route *x = a, *y = b;
    if (x->prefix_len != y->prefix_len)
        return x->prefix_len > y->prefix_len ? -1 : 1;
    if (x->cfg != y->cfg)
        return x->cfg > y->cfg ? -1 : 1;
    return 0;
}

static void route_init(struct route *r, const struct cfg_route *cr, const struct route_app *app)
{
    const char *p = cr->path ? cr->path : "/";
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    r->cfg = cr;
    r->app = app;
    r->prefix = p;
    r->prefix_len = n;
    r->replace = cr->replace_path;
    r->replace_len = cr->replace_path ? strlen(cr->replace_path) : 0;
}

static void slot_insert(struct route_table *t, const struct route_app *app)
{
    const char *name = app->cfg->server_name;
    size_t len = strlen(name);
    uint64_t h = name_hash(name, len);
    for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
        struct route_slot *s = &t->slots[i];
        if (!s->app ||
            (s->hash == h && s->len == len && memcmp(s->app->cfg->server_name, name, len) == 0)) {
            /* A duplicate server_name (rejected by validation): the last wins. */
            *s = (struct route_slot){ .hash = h, .len = len, .app = app };
            return;
        }
    }
}

struct route_table *route_table_build(const struct cfg *cfg)
{
    struct route_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    size_t total = 0;
    for (size_t i = 0; i < cfg->n_apps; i++)
        for (size_t j = 0; j < cfg->apps[i].n_routes; j++) {
            const char *p = cfg->apps[i].routes[j].path;
            if (!p || p[0] == '/')
                total++;
        }
    size_t cap = 8;
    while (cap < 2 * cfg->n_apps)
        cap *= 2;
    t->apps = calloc(cfg->n_apps ? cfg->n_apps : 1, sizeof(*t->apps));
    t->routes = calloc(total ? total : 1, sizeof(*t->routes));
    t->slots = calloc(cap, sizeof(*t->slots));
    if (!t->apps || !t->routes || !t->slots) {
        route_table_free(t);
        return NULL;
    }
    t->n_apps = cfg->n_apps;
    t->n_routes = total;
    t->mask = cap - 1;

    size_t next = 0;
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const struct cfg_app *ca = &cfg->apps[i];
        struct route_app *app = &t->apps[i];
        struct route *slice = &t->routes[next];
        app->cfg = ca;
        app->routes = slice;
        for (size_t j = 0; j < ca->n_routes; j++) {
            const struct cfg_route *cr = &ca->routes[j];
            if (cr->path && cr->path[0] != '/')
                continue;
            route_init(&slice[app->n_routes++], cr, app);
        }
        qsort(slice, app->n_routes, sizeof(*slice), route_order);
        for (size_t j = 0; j < app->n_routes; j++)
            slice[j].id = next + j;
        next += app->n_routes;
        if (ca->server_name)
            slot_insert(t, app);
        if (cfg->default_app_ref == ca)
            t->default_app = app;
    }
    return t;
}

void route_table_free(struct route_table *t)
{
    if (!t)
        return;
    free(t->apps);
    free(t->routes);
    free(t->slots);
    free(t);
}

size_t route_table_n_routes(const struct route_table *t)
{
    return t->n_routes;
}

const struct route *route_table_route(const struct route_table *t, size_t id)
{
    return &t->routes[id];
}

/* The host part of a Host value or authority, as rpxy's drop_port: the text
 * inside "[...]", a bare IPv6 address (two or more ':') whole, else the text
 * before the first ':'. */
static void drop_port(const char *s, size_t len, const char **host, size_t *host_len)
{
    if (len > 0 && s[0] == '[') {
        const char *end = memchr(s + 1, ']', len - 1);
        *host = s + 1;
        *host_len = end ? (size_t)(end - (s + 1)) : len - 1;
        return;
    }
    const char *colon = memchr(s, ':', len);
    if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s))) {
        *host = s;
        *host_len = len;
        return;
    }
    *host = s;
    *host_len = colon ? (size_t)(colon - s) : len;
}

static bool same_name(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

int route_host(const char *host_hdr, size_t host_hdr_len, const char *authority,
               size_t authority_len, char *out, size_t cap, size_t *out_len)
{
    const char *name = NULL, *uri_name = NULL;
    size_t name_len = 0, uri_len = 0;
    *out_len = 0;
    if (cap > 0)
        out[0] = '\0';
    if (authority && authority_len > 0) {
        const char *at = memrchr(authority, '@', authority_len);
        if (at) {
            authority_len -= (size_t)(at + 1 - authority);
            authority = at + 1;
        }
        drop_port(authority, authority_len, &uri_name, &uri_len);
    }
    if (host_hdr) {
        drop_port(host_hdr, host_hdr_len, &name, &name_len);
        if (uri_name && !same_name(name, name_len, uri_name, uri_len))
            return ROUTE_HOST_MISMATCH;
    } else if (uri_name) {
        name = uri_name;
        name_len = uri_len;
    } else {
        return ROUTE_HOST_MISSING;
    }
    if (name_len >= cap)
        return ROUTE_HOST_LONG;
    for (size_t i = 0; i < name_len; i++)
        out[i] = ascii_lower(name[i]);
    out[name_len] = '\0';
    *out_len = name_len;
    return ROUTE_HOST_OK;
}

const struct route_app *route_app_by_name(const struct route_table *t, const char *host, size_t len)
{
    uint64_t h = name_hash(host, len);
    for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
        const struct route_slot *s = &t->slots[i];
        if (!s->app)
            return NULL;
        if (s->hash == h && s->len == len && memcmp(s->app->cfg->server_name, host, len) == 0)
            return s->app;
    }
}

const struct route_app *route_select_app(const struct route_table *t, const char *host, size_t len,
                                         bool tls, bool *fallback)
{
    const struct route_app *app = route_app_by_name(t, host, len);
    *fallback = false;
    if (app || tls || !t->default_app)
        return app;
    *fallback = true;
    return t->default_app;
}

const struct route *route_match(const struct route_app *app, const char *target, size_t len)
{
    const char *q = memchr(target, '?', len);
    size_t plen = q ? (size_t)(q - target) : len;
    if (plen == 0 || target[0] != '/')
        return NULL;
    for (size_t i = 0; i < app->n_routes; i++) {
        const struct route *r = &app->routes[i];
        size_t n = r->prefix_len;
        if (n > plen || memcmp(target, r->prefix, n) != 0)
            continue;
        if (n == 1 || n == plen || target[n] == '/')
            return r;
    }
    return NULL;
}

size_t route_rewrite_max(const struct route *r, size_t len)
{
    /* The join adds at most one '/'; an empty target becomes "/". */
    return r->replace_len + len + 1;
}

int route_rewrite(const struct route *r, const char *target, size_t len, char *out, size_t cap,
                  size_t *out_len)
{
    const char *head = target, *rest = "";
    size_t head_len = len, rest_len = 0;
    bool slash = false;
    if (!r->replace) {
        if (len == 0) {
            head = "/";
            head_len = 1;
        }
    } else {
        head = r->replace;
        head_len = r->replace_len;
        if (len > r->prefix_len) {
            rest = target + r->prefix_len;
            rest_len = len - r->prefix_len;
        }
        if (rest_len > 0 && rest[0] != '?') {
            /* Join at a segment boundary: exactly one '/' between the two. */
            while (head_len > 0 && head[head_len - 1] == '/')
                head_len--;
            slash = rest[0] != '/';
        }
    }
    if (head_len == 0 && rest_len == 0) {
        head = "/"; /* an empty replace_path (rejected by validation) */
        head_len = 1;
    }
    size_t n = head_len + (slash ? 1 : 0) + rest_len;
    if (n >= cap)
        return -1;
    memcpy(out, head, head_len);
    if (slash)
        out[head_len] = '/';
    memcpy(out + head_len + (slash ? 1 : 0), rest, rest_len);
    out[n] = '\0';
    *out_len = n;
    return 0;
}
