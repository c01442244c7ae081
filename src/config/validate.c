/* Checks across sections, run once the whole file was read: ports against
 * apps, TLS against listeners, routes of one app, sticky secret, default_app. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/key_parsers.h"
#include "util/base64url.h"

/* Error or warning at the place key `key` of obj was written, else at
 * (line, col). */
__attribute__((format(printf, 8, 9))) static void report(struct cfg_loader *ld,
                                                         enum cfg_severity sev, const void *obj,
                                                         const char *key, const char *path,
                                                         int line, int col, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct cfg_key_pos p = ld_key_pos(ld, obj, key);
    if (p.line) {
        line = p.line;
        col = p.col;
    }
    const char *where = p.path ? p.path : path;
    cfg_diag_add(ld->diags, sev, ld->file, line, col, where, "%s", msg);
}

static char *app_path(const struct cfg_app *app, const char *rest, char *buf, size_t n)
{
    snprintf(buf, n, "apps.%s%s%s", app->name, rest ? "." : "", rest ? rest : "");
    return buf;
}

static void check_ports(struct cfg_loader *ld, struct cfg *c)
{
    if (c->listen_port < 0 && c->listen_port_tls < 0)
        report(ld, CFG_ERROR, c, "listen_port", "listen_port", 1, 1,
               "Either/Both of http_port or https_port must be specified (set listen_port "
               "and/or listen_port_tls)");
    if (c->listen_port >= 0 && c->listen_port == c->listen_port_tls)
        report(ld, CFG_ERROR, c, "listen_port_tls", "listen_port_tls", 1, 1,
               "http_port and https_port must be different (both are %d)", (int)c->listen_port);
    if (c->public_https_port >= 0 && c->listen_port_tls < 0)
        report(ld, CFG_ERROR, c, "public_https_port", "public_https_port", 1, 1,
               "`public_https_port` can only be set when the TLS listener `listen_port_tls` is "
               "configured");
    if (c->public_https_port < 0)
        c->public_https_port = c->listen_port_tls;
}

static void check_listen_defaults(struct cfg_loader *ld, struct cfg *c)
{
    if (!c->listen_v4) {
        c->listen_v4 = ld_alloc(ld, sizeof(struct ip_addr));
        if (c->listen_v4) {
            c->listen_v4[0] = (struct ip_addr){ .family = 4 };
            c->n_listen_v4 = 1;
        }
    }
    if (!c->listen_v6 && c->listen_ipv6) {
        c->listen_v6 = ld_alloc(ld, sizeof(struct ip_addr));
        if (c->listen_v6) {
            c->listen_v6[0] = (struct ip_addr){ .family = 6 };
            c->n_listen_v6 = 1;
        }
    }
    if (c->listen_v6)
        c->listen_ipv6 = true;
}

/* Route paths are compared as the router matches them: "/api/" like "/api". */
static size_t route_key_len(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    return n;
}

static void check_routes(struct cfg_loader *ld, struct cfg *c, const struct cfg_app *app,
                         bool *any_sticky)
{
    char buf[300];
    const struct cfg_route *first_default = NULL;
    for (size_t i = 0; i < app->n_routes; i++) {
        const struct cfg_route *r = &app->routes[i];
        snprintf(buf, sizeof(buf), "apps.%s.reverse_proxy[%zu]", app->name, i);
        if (!r->path) {
            if (first_default)
                report(ld, CFG_ERROR, r, "", buf, r->pos.line, r->pos.col,
                       "Multiple default reverse proxy setting: this route and the one at line "
                       "%d both have no `path`",
                       first_default->pos.line);
            else
                first_default = r;
        }
        const char *p = r->path ? r->path : "/";
        for (size_t j = 0; j < i; j++) {
            const char *q = app->routes[j].path ? app->routes[j].path : "/";
            if ((r->path || app->routes[j].path) && route_key_len(p) == route_key_len(q) &&
                memcmp(p, q, route_key_len(p)) == 0)
                report(ld, CFG_ERROR, r, "path", buf, r->pos.line, r->pos.col,
                       "duplicate route path \"%s\": the route at line %d already serves it", p,
                       app->routes[j].pos.line);
        }
        if (r->load_balance == CFG_LB_STICKY) {
            *any_sticky = true;
            if (!c->sticky_cookie_secret)
                report(ld, CFG_ERROR, r, "load_balance", buf, r->pos.line, r->pos.col,
                       "sticky_cookie_secret is required when any reverse_proxy entry uses "
                       "load_balance = \"sticky\"");
            if (r->path && strlen(r->path) != strlen(p))
                report(ld, CFG_ERROR, r, "path", buf, r->pos.line, r->pos.col,
                       "sticky-cookie AAD component path must not contain NUL bytes");
        }
    }
}

static void check_apps(struct cfg_loader *ld, struct cfg *c, bool *any_sticky)
{
    char buf[300];
    bool both_ports = c->listen_port >= 0 && c->listen_port_tls >= 0;
    for (size_t i = 0; i < c->n_apps; i++) {
        const struct cfg_app *app = &c->apps[i];
        for (size_t j = 0; j < i; j++) {
            if (strcmp(app->name, c->apps[j].name) == 0)
                report(ld, CFG_ERROR, app, "", app_path(app, NULL, buf, sizeof(buf)), app->pos.line,
                       app->pos.col,
                       "app name \"%s\" is used twice (names are case-insensitive; first at "
                       "line %d)",
                       app->name, c->apps[j].pos.line);
            else if (app->server_name && c->apps[j].server_name &&
                     strcmp(app->server_name, c->apps[j].server_name) == 0)
                report(ld, CFG_ERROR, app, "server_name", app_path(app, NULL, buf, sizeof(buf)),
                       app->pos.line, app->pos.col,
                       "server_name \"%s\" is already served by app \"%s\"", app->server_name,
                       c->apps[j].name);
        }
        const struct cfg_tls *tls = &app->tls;
        if (c->listen_port < 0 && !tls->enabled)
            report(ld, CFG_ERROR, app, "", app_path(app, NULL, buf, sizeof(buf)), app->pos.line,
                   app->pos.col,
                   "Some apps serve only plaintext HTTP: app \"%s\" has no tls table but "
                   "listen_port is not set",
                   app->name);
        if (tls->enabled && c->listen_port_tls < 0)
            report(ld, CFG_ERROR, app, "tls", app_path(app, "tls", buf, sizeof(buf)), app->pos.line,
                   app->pos.col,
                   "a tls table needs the TLS listener: set listen_port_tls (or remove tls)");
        if (tls->https_redirection_given && !both_ports)
            report(ld, CFG_ERROR, tls, "https_redirection",
                   app_path(app, "tls.https_redirection", buf, sizeof(buf)), app->pos.line,
                   app->pos.col,
                   "https_redirection can be specified only when both http_port and "
                   "https_port are specified. Just remove https_redirection settings in each "
                   "app.");
        if (tls->enabled && tls->acme && !c->acme.enabled)
            report(ld, CFG_ERROR, tls, "acme", app_path(app, "tls.acme", buf, sizeof(buf)),
                   app->pos.line, app->pos.col,
                   "acme = true requires an [experimental.acme] table with `email`");
        if (tls->challenge_given && !tls->acme)
            report(ld, CFG_ERROR, tls, "challenge",
                   app_path(app, "tls.challenge", buf, sizeof(buf)), app->pos.line, app->pos.col,
                   "challenge is set but acme = true is not");
        else if (tls->enabled && tls->http01 && c->listen_port < 0)
            report(ld, CFG_ERROR, tls, "challenge",
                   app_path(app, "tls.challenge", buf, sizeof(buf)), app->pos.line, app->pos.col,
                   "challenge = \"http-01\" needs the plaintext listener: set listen_port");
        if (tls->enabled && tls->acme && tls->http01)
            c->acme.any_http01 = true;
        check_routes(ld, c, app, any_sticky);
    }
}

static void check_sticky_secret(struct cfg_loader *ld, struct cfg *c, bool needed)
{
    const char *s = c->sticky_cookie_secret;
    if (!s)
        return;
    enum cfg_severity sev = needed ? CFG_ERROR : CFG_WARNING;
    const char *unused = needed ? "" : " (unused: no route has load_balance = \"sticky\")";
    for (const char *p = s; *p; p++) {
        if (isspace((unsigned char)*p)) {
            report(ld, sev, c, "sticky_cookie_secret", "sticky_cookie_secret", 1, 1,
                   "sticky_cookie_secret must not contain embedded whitespace%s", unused);
            return;
        }
    }
    const char *why = NULL;
    uint8_t out[CFG_STICKY_SECRET_LEN + 3];
    long n = b64url_decode(s, strlen(s), out, sizeof(out), &why);
    if (n != CFG_STICKY_SECRET_LEN) {
        char reason[96];
        if (n < 0)
            snprintf(reason, sizeof(reason), "%s", why ? why : "invalid base64url");
        else
            snprintf(reason, sizeof(reason), "decodes to %ld bytes", n);
        report(ld, sev, c, "sticky_cookie_secret", "sticky_cookie_secret", 1, 1,
               "sticky_cookie_secret must be base64url without padding and decode to exactly "
               "32 bytes: %s%s",
               reason, unused);
        return;
    }
    memcpy(c->sticky_secret, out, CFG_STICKY_SECRET_LEN);
    c->has_sticky_secret = true;
}

static void check_default_app(struct cfg_loader *ld, struct cfg *c)
{
    if (!c->default_app)
        return;
    for (size_t i = 0; i < c->n_apps; i++)
        if (strcasecmp(c->apps[i].name, c->default_app) == 0)
            c->default_app_ref = &c->apps[i];
    if (!c->default_app_ref)
        report(ld, CFG_WARNING, c, "default_app", "default_app", 1, 1,
               "default_app \"%s\" names no [apps.<name>] table; plaintext requests for "
               "unknown hosts will get 503",
               c->default_app);
}

int cfg_finish_root(struct cfg_loader *ld, void *obj, const struct toml_table *t)
{
    struct cfg *c = obj;
    size_t errors = ld->diags->n_errors;
    check_listen_defaults(ld, c);
    check_ports(ld, c);
    if (c->n_apps == 0)
        report(ld, CFG_ERROR, c, "apps", "apps", 1, 1,
               "Wrong application spec.: [apps] has no application");
    bool any_sticky = false;
    check_apps(ld, c, &any_sticky);
    check_sticky_secret(ld, c, any_sticky);
    check_default_app(ld, c);
    if (c->request_max_body_size == 0)
        report(ld, CFG_WARNING, c, "request_max_body_size", "request_max_body_size", 1, 1,
               "request bodies are unlimited: any client may send an arbitrarily large body");
    if (c->h3.enabled && c->listen_port_tls < 0)
        report(ld, CFG_WARNING, c, "h3", "experimental.h3", 1, 1,
               "[experimental.h3] has no effect without listen_port_tls");
    return ld->diags->n_errors > errors ? -1 : 0;
}
