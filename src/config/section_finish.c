/* Checks and derived fields of one section instance, run right after its
 * keys were read. Checks that span sections live in validate.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/key_parsers.h"

/* An error on `key` of obj, placed where the key was written, else at the
 * table. Returns -1. */
__attribute__((format(printf, 5, 6))) static int key_error(struct cfg_loader *ld, const void *obj,
                                                           const struct toml_table *t,
                                                           const char *key, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct cfg_key_pos p = ld_key_pos(ld, obj, key);
    int line = p.line ? p.line : t->line, col = p.line ? p.col : t->col;
    ld_error(ld, line, col, key, "%s", msg);
    return -1;
}

int cfg_finish_upstream(struct cfg_loader *ld, void *obj, const struct toml_table *t)
{
    struct cfg_upstream *up = obj;
    if (!up->port_given)
        up->port = up->tls ? 443 : 80;
    return 0;
}

int cfg_finish_health_check(struct cfg_loader *ld, void *obj, const struct toml_table *t)
{
    struct cfg_health_check *hc = obj;
    int rc = 0;
    if (hc->unhealthy_threshold < 1)
        rc = key_error(ld, hc, t, "unhealthy_threshold",
                       "health_check.unhealthy_threshold must be >= 1");
    if (hc->healthy_threshold < 1)
        rc = key_error(ld, hc, t, "healthy_threshold",
                       "health_check.healthy_threshold must be >= 1");
    if (hc->timeout_s >= hc->interval_s) {
        rc = key_error(ld, hc, t, "timeout",
                       "health_check.timeout (%" PRIu64 "s) must be less than interval (%" PRIu64
                       "s)",
                       hc->timeout_s, hc->interval_s);
    }
    if (hc->type == CFG_HEALTH_HTTP) {
        if (!hc->path)
            rc = key_error(ld, hc, t, "type", "health_check.path is required when type = \"http\"");
        else if (hc->path[0] != '/')
            rc = key_error(ld, hc, t, "path",
                           "health_check.path must start with \"/\" (got \"%s\")", hc->path);
    }
    return rc;
}

int cfg_finish_route(struct cfg_loader *ld, void *obj, const struct toml_table *t)
{
    struct cfg_route *r = obj;
    int rc = 0;
    if (r->path && r->path[0] != '/')
        rc = key_error(ld, r, t, "path",
                       "route path \"%s\" must start with \"/\" (it could never match)", r->path);
    if (r->replace_path && r->replace_path[0] != '/')
        rc = key_error(ld, r, t, "replace_path", "replace_path \"%s\" must start with \"/\"",
                       r->replace_path);
    if (r->n_upstreams == 0 && ld_table_has(t, "upstream"))
        rc = key_error(ld, r, t, "upstream", "At least one upstream must be specified");
    if ((r->upstream_options & CFG_OPT_FORCE_HTTP11_UPSTREAM) &&
        (r->upstream_options & CFG_OPT_FORCE_HTTP2_UPSTREAM))
        rc = key_error(ld, r, t, "upstream_options",
                       "Invalid upstream option setting: %s and %s are mutually exclusive",
                       "force_http11_upstream", "force_http2_upstream");
    if (r->load_balance == CFG_LB_PRIMARY_BACKUP && !r->health_check.enabled)
        rc = key_error(ld, r, t, "load_balance",
                       "load_balance = \"primary_backup\" requires health_check to be "
                       "enabled");
    return rc;
}

int cfg_finish_app(struct cfg_loader *ld, void *obj, const struct toml_table *t)
{
    return 0;
}

int cfg_finish_tls(struct cfg_loader *ld, void *obj, const struct toml_table *t)
{
    struct cfg_tls *tls = obj;
    tls->https_redirection_given = ld_table_has(t, "https_redirection");
    tls->challenge_given = ld_table_has(t, "challenge");
    int rc = 0;
    bool cert = tls->cert_path != NULL, key = tls->key_path != NULL;
    if (tls->acme && (cert || key))
        rc = key_error(ld, tls, t, cert ? "tls_cert_path" : "tls_cert_key_path",
                       "%s must not be set together with acme = true",
                       cert ? "tls_cert_path" : "tls_cert_key_path");
    else if (!tls->acme && !(cert && key))
        rc = key_error(ld, tls, t, cert ? "tls_cert_key_path" : "tls_cert_path",
                       "%s is required (or set acme = true)",
                       cert ? "tls_cert_key_path" : "tls_cert_path");
    return rc;
}

int cfg_finish_h3(struct cfg_loader *ld, void *obj, const struct toml_table *t)
{
    struct cfg_h3 *h3 = obj;
    h3->request_max_body_size_given = ld_table_has(t, "request_max_body_size");
    return 0;
}

/* Whether the cache directory can be emptied or created (ours: rpxy finds
 * out when the service starts): it, or else its nearest existing ancestor,
 * must be a directory we may write. Returns NULL or the problem. */
static const char *cache_dir_problem(const char *dir, char *where, size_t cap)
{
    if (!dir[0])
        return "is empty";
    snprintf(where, cap, "%s", dir);
    struct stat st;
    for (;;) {
        if (stat(where, &st) == 0)
            break;
        if (errno != ENOENT && errno != ENOTDIR)
            return strerror(errno);
        char *slash = strrchr(where, '/');
        if (!slash) {
            snprintf(where, cap, ".");
            continue;
        }
        if (slash == where)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    if (!S_ISDIR(st.st_mode))
        return "is not a directory";
    if (access(where, W_OK | X_OK) < 0)
        return "is not writable";
    return NULL;
}

int cfg_finish_cache(struct cfg_loader *ld, void *obj, const struct toml_table *t)
{
    struct cfg_cache *c = obj;
    int rc = 0;
    char where[4096];
    const char *why = cache_dir_problem(c->cache_dir, where, sizeof(where));
    if (why)
        rc = key_error(ld, c, t, "cache_dir", "cache_dir \"%s\": %s %s", c->cache_dir,
                       strcmp(where, c->cache_dir) == 0 ? "it" : where, why);
    if (c->max_cache_entry == 0)
        rc = key_error(ld, c, t, "max_cache_entry", "max_cache_entry must be at least 1");
    if (c->max_cache_each_size_on_memory > c->max_cache_each_size) {
        rc = key_error(ld, c, t, "max_cache_each_size_on_memory",
                       "max_cache_each_size_on_memory (%" PRIu64
                       ") must not exceed max_cache_each_size (%" PRIu64 ")",
                       c->max_cache_each_size_on_memory, c->max_cache_each_size);
    }
    return rc;
}
