#include "tls/cert_store.h"

#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acme/registry.h"
#include "config/config.h"
#include "core/server.h"
#include "log/log.h"
#include "tls/cert_load.h"
#include "tls/server.h"
#include "tls/sni_table.h"

/* What we know of one file, to notice changes cheaply. */
struct file_seen {
    char *path;
    struct stat st;
    bool present;
};

struct cert_entry {
    char *server_name;
    SSL_CTX *ctx; /* NULL: never loaded successfully */
    bool mtls;
    unsigned char digest[32];
    struct file_seen files[3]; /* cert, key, client CA */
};

static struct cert_entry *entries;
static size_t n_entries;
static uint64_t next_stat_ms, next_reread_ms;

static void entry_clear(struct cert_entry *e)
{
    free(e->server_name);
    SSL_CTX_free(e->ctx);
    for (int i = 0; i < 3; i++)
        free(e->files[i].path);
    memset(e, 0, sizeof(*e));
}

static bool stat_equal(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void remember_files(struct cert_entry *e)
{
    for (int i = 0; i < 3; i++)
        if (e->files[i].path)
            e->files[i].present = stat(e->files[i].path, &e->files[i].st) == 0;
}

static bool files_changed(const struct cert_entry *e)
{
    for (int i = 0; i < 3; i++) {
        const struct file_seen *f = &e->files[i];
        if (!f->path)
            continue;
        struct stat st;
        bool present = stat(f->path, &st) == 0;
        if (present != f->present || (present && !stat_equal(&st, &f->st)))
            return true;
    }
    return false;
}

static bool same_files(const struct cert_entry *e, const struct cfg_app *app)
{
    const char *paths[3] = { app->tls.cert_path, app->tls.key_path, app->tls.client_ca_cert_path };
    for (int i = 0; i < 3; i++) {
        const char *a = e->files[i].path, *b = paths[i];
        if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
            return false;
    }
    return strcmp(e->server_name, app->server_name) == 0;
}

static bool served(const struct cfg *cfg, const struct cfg_app *app)
{
    if (cfg->listen_port_tls < 0 || !app->tls.enabled)
        return false;
    if (app->tls.acme)
        return cfg->acme.enabled;
    return app->tls.cert_path && app->tls.key_path;
}

/* The app as the loader sees it: an ACME app's certificate and key are the
 * one registry file (SPEC 10), named into path. */
static const struct cfg_app *files_of(const struct cfg *cfg, const struct cfg_app *app,
                                      struct cfg_app *view, char *path, size_t cap)
{
    if (!app->tls.acme)
        return app;
    *view = *app;
    if (acme_registry_cert_path(&cfg->acme, app->server_name, path, cap) < 0)
        path[0] = '\0';
    view->tls.cert_path = view->tls.key_path = path;
    return view;
}

/* rpxy's lines: the last good certificate is kept if there is one. */
static void report_failure(const struct cert_entry *e, const struct cfg_app *app, const char *err)
{
    struct stat st;
    if (app->tls.acme && !e->ctx && stat(app->tls.cert_path, &st) < 0) {
        /* not obtained yet: the ACME service logs its progress */
        log_debug("No ACME certificate yet for server_name=\"%s\"", app->server_name);
        return;
    }
    if (e->ctx)
        log_warn("Failed to read certs and keys, keeping the previously loaded certificate: %s "
                 "server_name=\"%s\"",
                 err, app->server_name);
    else
        log_error("Failed to read certs and keys, skip at this time: %s server_name=\"%s\"", err,
                  app->server_name);
}

/* Loads (or keeps) the material of one app into e, which holds the previous
 * state for the same name and files, if any. Returns true when what is
 * served for the name changed. */
static bool refresh_entry(struct cert_entry *e, const struct cfg_app *app)
{
    char err[512];
    unsigned char digest[32];
    remember_files(e);
    if (tls_files_digest(app, digest, err, sizeof(err)) < 0) {
        report_failure(e, app, err);
        return false;
    }
    if (e->ctx && memcmp(digest, e->digest, sizeof(digest)) == 0)
        return false;
    tls_key_permissions_check(app->tls.key_path);
    struct tls_material m;
    SSL_CTX *ctx = NULL;
    if (tls_material_load(app, &m, err, sizeof(err)) == 0) {
        ctx = tls_site_ctx_new(&m, app->server_name, err, sizeof(err));
        tls_material_free(&m);
    }
    if (!ctx) {
        report_failure(e, app, err);
        return false;
    }
    SSL_CTX_free(e->ctx);
    e->ctx = ctx;
    e->mtls = app->tls.client_ca_cert_path != NULL;
    memcpy(e->digest, digest, sizeof(digest));
    return true;
}

static void publish(void)
{
    struct tls_sni_table *t = sni_table_new(n_entries);
    if (!t) {
        log_error("Cannot publish TLS certificates: out of memory");
        return;
    }
    for (size_t i = 0; i < n_entries; i++)
        if (entries[i].ctx && sni_table_add(t, entries[i].server_name, entries[i].ctx,
                                            entries[i].mtls, entries[i].digest) < 0) {
            sni_table_unref(t);
            log_error("Cannot publish TLS certificates: out of memory");
            return;
        }
    sni_table_seal(t);
    server_publish_tls(t);
}

void cert_store_sync(const struct cfg *cfg)
{
    size_t n_new = 0;
    for (size_t i = 0; i < cfg->n_apps; i++)
        n_new += served(cfg, &cfg->apps[i]);
    struct cert_entry *fresh = calloc(n_new ? n_new : 1, sizeof(*fresh));
    if (!fresh) {
        log_error("Cannot load TLS certificates: out of memory");
        return;
    }
    bool changed = false;
    size_t k = 0;
    for (size_t i = 0; i < cfg->n_apps; i++) {
        struct cfg_app view;
        char acme_path[4200];
        if (!served(cfg, &cfg->apps[i]))
            continue;
        const struct cfg_app *app =
            files_of(cfg, &cfg->apps[i], &view, acme_path, sizeof(acme_path));
        struct cert_entry *e = &fresh[k++];
        /* take over the previous state of the same name and files */
        for (size_t j = 0; j < n_entries; j++)
            if (entries[j].server_name && same_files(&entries[j], app)) {
                *e = entries[j];
                memset(&entries[j], 0, sizeof(entries[j]));
                break;
            }
        if (!e->server_name) {
            e->server_name = strdup(app->server_name);
            const char *paths[3] = { app->tls.cert_path, app->tls.key_path,
                                     app->tls.client_ca_cert_path };
            for (int f = 0; f < 3; f++)
                e->files[f].path = paths[f] ? strdup(paths[f]) : NULL;
            changed = true;
        }
        changed |= refresh_entry(e, app);
    }
    for (size_t j = 0; j < n_entries; j++) {
        changed |= entries[j].ctx != NULL; /* an app that is gone */
        entry_clear(&entries[j]);
    }
    free(entries);
    entries = fresh;
    n_entries = n_new;
    bool first = !next_reread_ms;
    if (changed || first) {
        publish();
        if (!first && changed)
            log_info("TLS certificates updated successfully");
    }
}

void cert_store_tick(const struct cfg *cfg, uint64_t now_ms)
{
    if (now_ms >= next_reread_ms) {
        next_reread_ms = now_ms + CERT_REREAD_MS;
        next_stat_ms = now_ms + CERT_STAT_MS;
        cert_store_sync(cfg);
        return;
    }
    if (now_ms < next_stat_ms)
        return;
    next_stat_ms = now_ms + CERT_STAT_MS;
    for (size_t i = 0; i < n_entries; i++)
        if (files_changed(&entries[i])) {
            cert_store_sync(cfg);
            return;
        }
}

void cert_store_free(void)
{
    for (size_t i = 0; i < n_entries; i++)
        entry_clear(&entries[i]);
    free(entries);
    entries = NULL;
    n_entries = 0;
}
