#include "supervisor.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acme/manager.h"
#include "admin/admin_server.h"
#include "acme/registry.h"
#include "cache/index.h"
#include "config/config.h"
#include "config/toml_equal.h"
#include "core/listeners.h"
#include "core/server.h"
#include "core/worker.h"
#include "log/log.h"
#include "log/request_debug.h"
#include "metrics/counters.h"
#include "tls/cert_store.h"
#include "tls/client.h"
#include "tls/server.h"
#include "tls/sni_table.h"
#include "tls/tickets.h"
#include "proxy/client_conn.h"
#include "proxy/runtime.h"
#include "service/sd_notify.h"
#include "service/service_state.h"
#include "upstream/health.h"

#define RELOAD_DEBOUNCE_MS 200
#define STAT_POLL_MS 5000
#define DNS_REFRESH_MS 30000

static struct health_checker *g_health; /* probes the published runtime's upstreams */
static bool g_reload_failed;            /* the last reload kept the older configuration */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void log_diags(const struct cfg_diags *d)
{
    char line[2048];
    for (size_t i = 0; i < d->n; i++) {
        cfg_diag_format(&d->items[i], line, sizeof(line));
        log_msg(d->items[i].severity == CFG_ERROR ? LOG_ERROR : LOG_WARN, "%s", line);
    }
    if (d->n_dropped)
        log_error("(%zu more diagnostics not shown)", d->n_dropped);
}

static bool env_flag(const char *name)
{
    const char *v = getenv(name);
    if (!v)
        return false;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n'))
        n--;
    return (n == 1 && v[0] == '1') || (n == 4 && strncasecmp(v, "true", 4) == 0) ||
           (n == 3 && strncasecmp(v, "yes", 3) == 0);
}

static void log_startup(const struct cfg *c)
{
    log_info(c->n_listen_v6 ? "Listen both IPv4 and IPv6" : "Listen IPv4");
    if (c->listen_port >= 0)
        log_info("Listen port: %d", (int)c->listen_port);
    if (c->listen_port_tls >= 0)
        log_info("Listen port: %d (for TLS)", (int)c->listen_port_tls);
    for (size_t i = 0; i < c->n_apps; i++)
        log_info("Registering application %s (%s)", c->apps[i].server_name, c->apps[i].name);
    if (c->default_app_ref)
        log_info("Serving plaintext http for requests to unconfigured server_name by app %s "
                 "(server_name: %s).",
                 c->default_app_ref->name, c->default_app_ref->server_name);
    if (c->cache.enabled)
        log_info("Cache is enabled: cache dir = \"%s\"", c->cache.cache_dir);
    else
        log_info("Cache is disabled");
    if (c->proxy_protocol.enabled) {
        log_warn("PROXY protocol receive is enabled: every TCP connection (HTTP and HTTPS "
                 "listeners) must begin with a PROXY header; clients connecting directly are "
                 "closed");
        log_warn("PROXY headers are not authenticated: the client address they carry is "
                 "believed from the %zu trusted_proxies network(s) only",
                 c->proxy_protocol.n_trusted_proxies);
    }
    if (c->acme.enabled && !acme_in_use(c))
        log_info("[experimental.acme] is set but no app has tls.acme = true");
    if (c->ignore_sni_consistency)
        log_info("Ignore consistency between TLS SNI and Host header (or Request line). Note it "
                 "violates RFC.");
    if (c->n_trusted_forwarded_proxies)
        log_info("Trusted forwarded proxies configured: %zu CIDR(s)",
                 c->n_trusted_forwarded_proxies);
    if (c->connection_handling_timeout_s)
        log_info("Force connection handling timeout: %llu sec",
                 (unsigned long long)c->connection_handling_timeout_s);
    if (c->request_max_body_size == 0)
        log_warn("request_max_body_size is unlimited");
}

/* The config file as last loaded, to ignore events that change nothing. */
struct watched {
    const char *path;
    char *text; /* as last read */
    size_t len;
    char *running; /* the text of the configuration in service */
    size_t running_len;
    struct stat st;
};

/* The configuration in service is now text (a copy is kept). */
static void set_running(struct watched *wf, const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = '\0';
    }
    free(wf->running);
    wf->running = copy;
    wf->running_len = copy ? len : 0;
}

static char *read_all(const char *path, size_t *len)
{
    int err = 0;
    char *text = cfg_read_file(path, len, &err);
    if (!text)
        errno = err < 0 ? -err : err;
    return text;
}

static size_t n_workers_for(const struct cfg *cfg)
{
    if (cfg->worker_threads)
        return cfg->worker_threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

/* The cache of rt's [experimental.cache]: the running one when the table
 * did not change (ours: rpxy empties it on every reload), else a new one
 * over a wiped directory. Returns 0, or -1 with a message in err. */
static int attach_cache(struct runtime *rt, char *err, size_t cap)
{
    if (!rt->cfg->cache.enabled)
        return 0;
    struct runtime *cur = server_acquire_runtime();
    rt->cache = cache_carry(cur ? cur->cache : NULL, &rt->cfg->cache, err, cap);
    if (cur)
        runtime_unref(cur);
    return rt->cache ? 0 : -1;
}

/* Validates text (taking it over as wf's copy) and publishes it. Returns
 * false when the running configuration stays. */
static bool apply(struct watched *wf, char *text, size_t len)
{
    struct cfg_diags diags = { 0 };
    struct cfg *cfg = cfg_load_text(wf->path, text, len, &diags);
    log_diags(&diags);
    cfg_diags_free(&diags);
    free(wf->text);
    wf->text = text;
    wf->len = len;
    if (!cfg) {
        log_error("rpxy failed to be ready. Configuration does not updated: invalid "
                  "configuration in %s (see the errors above)",
                  wf->path);
        return false;
    }
    if (cfg->worker_threads && cfg->worker_threads != g_server.n_workers)
        log_warn("worker_threads changes apply at the next start (running %zu)",
                 g_server.n_workers);
    if (admin_reload_prepare(cfg) < 0) {
        log_error("rpxy failed to be ready. Configuration does not updated: cannot listen on "
                  "admin_listen");
        cfg_free(cfg);
        return false;
    }
    struct lset *old = server_acquire_lset();
    struct lset *ls = lset_build(cfg, g_server.n_workers, old, true);
    lset_unref(old);
    if (!ls) {
        log_error("rpxy failed to be ready. Configuration does not updated: cannot bind the "
                  "listeners");
        admin_reload_abort();
        cfg_free(cfg);
        return false;
    }
    char errbuf[1024];
    struct runtime *rt = runtime_build(cfg);
    if (!rt) {
        lset_unref(ls);
        admin_reload_abort();
        log_error("rpxy failed to be ready. Configuration does not updated: out of memory");
        return false;
    }
    if (attach_cache(rt, errbuf, sizeof(errbuf)) < 0) {
        lset_unref(ls);
        runtime_unref(rt);
        admin_reload_abort();
        log_error("rpxy failed to be ready. Configuration does not updated: %s", errbuf);
        return false;
    }
    if (acme_in_use(rt->cfg) && acme_registry_check(rt->cfg, errbuf, sizeof(errbuf)) < 0) {
        log_error("rpxy ACME error: %s; the ACME service keeps its previous settings", errbuf);
    } else {
        acme_manager_sync(rt->cfg);
    }
    cert_store_sync(rt->cfg);
    admin_reload_commit(rt->cfg);
    for (size_t i = 0; i < g_server.n_workers; i++)
        if (admin_serving())
            g_server.workers[i]->mx.on = true; /* counting starts with a listener */
    server_publish(rt, ls);
    health_stop(g_health);
    g_health = health_start(rt);
    set_running(wf, text, len);
    log_info("Configuration updated.");
    return true;
}

/* Tells the service manager the configuration in force, after start-up or
 * a reload. */
static void tell_ready(void)
{
    struct runtime *rt = server_acquire_runtime();
    if (!rt)
        return;
    service_ready(rt->cfg, g_server.n_workers, g_reload_failed);
    runtime_unref(rt);
}

/* Loads the file and, when different (or forced), validates and publishes
 * it, between RELOADING=1 and READY=1. */
static void reload(struct watched *wf, bool forced)
{
    size_t len;
    char *text = read_all(wf->path, &len);
    if (!text) {
        log_warn("Failed to read %s: %s; keeping the running configuration", wf->path,
                 strerror(errno));
        return;
    }
    stat(wf->path, &wf->st);
    if (!forced && wf->text && len == wf->len && memcmp(text, wf->text, len) == 0) {
        free(text);
        return;
    }
    if (!forced && wf->running && toml_text_equal(text, len, wf->running, wf->running_len)) {
        /* comments, whitespace, key order: the same configuration (as rpxy
         * compares it) keeps everything as it runs */
        log_debug("%s changed but says the same: nothing to reload", wf->path);
        free(wf->text);
        wf->text = text;
        wf->len = len;
        return;
    }
    service_reloading();
    g_reload_failed = !apply(wf, text, len);
    mx_config_loaded(true, !g_reload_failed);
    tell_ready();
}

static int setup_watch(const char *path, int *wd)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        return -1;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    *wd = inotify_add_watch(
        fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB);
    if (*wd < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Did an inotify batch touch our file name? */
static bool events_touch(int fd, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    bool hit = false;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->len && strcmp(ev->name, base) == 0)
                hit = true;
            p += sizeof(*ev) + ev->len;
        }
    }
    return hit;
}

static bool file_changed(struct watched *wf)
{
    struct stat st;
    if (stat(wf->path, &st) < 0)
        return false;
    return st.st_mtim.tv_sec != wf->st.st_mtim.tv_sec ||
           st.st_mtim.tv_nsec != wf->st.st_mtim.tv_nsec || st.st_ino != wf->st.st_ino ||
           st.st_size != wf->st.st_size;
}

/* Waits (a few seconds at most) until every worker's loop serves its
 * listeners, so that READY=1 is true when sent. */
static void wait_workers_running(void)
{
    uint64_t deadline = now_ms() + 5000;
    for (size_t i = 0; i < g_server.n_workers; i++) {
        while (!atomic_load(&g_server.workers[i]->running) && now_ms() < deadline) {
            struct timespec pause = { 0, 1000000 };
            nanosleep(&pause, NULL);
        }
    }
}

static void stop_workers(void)
{
    for (size_t i = 0; i < g_server.n_workers; i++)
        worker_join_free(g_server.workers[i]);
    free(g_server.workers);
    g_server.workers = NULL;
    g_server.n_workers = 0;
}

int supervisor_run(const struct cli_options *o)
{
    if (log_open(o->log_dir, log_level_from_env()) < 0)
        return 1;
    sd_notify_open();
    request_debug_show_credentials(env_flag("RPXY_UNSAFE_DEBUG_HEADERS"));
    if (env_flag("RPXY_UNSAFE_DEBUG_HEADERS"))
        log_warn("RPXY_UNSAFE_DEBUG_HEADERS is enabled: Authorization, Cookie and "
                 "Proxy-Authorization values will be printed verbatim at debug level");

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by the workers */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN); /* a file size limit fails the write (cache) instead of killing */
    int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);

    struct watched wf = { .path = o->config_path };
    /* watched before the first read: a change while starting is not missed */
    int wd = -1;
    int ifd = setup_watch(wf.path, &wd);
    int watch_errno = errno;
    wf.text = read_all(wf.path, &wf.len);
    stat(wf.path, &wf.st);
    struct cfg_diags diags = { 0 };
    struct cfg *cfg =
        wf.text ? cfg_load_text(wf.path, wf.text, wf.len, &diags) : cfg_load_file(wf.path, &diags);
    log_diags(&diags);
    cfg_diags_free(&diags);
    if (!cfg) {
        log_error("rpxy service exited: Invalid configuration: %s (see the errors above)",
                  o->config_path);
        free(wf.text);
        log_close();
        return 1;
    }
    log_info("Start rpxy service with dynamic config reloader");
    log_startup(cfg);
    char acme_err[1024];
    if (acme_in_use(cfg) && acme_registry_check(cfg, acme_err, sizeof(acme_err)) < 0) {
        log_error("rpxy service exited: %s", acme_err);
        cfg_free(cfg);
        free(wf.text);
        log_close();
        return 1;
    }
    if (tls_server_init() < 0 || tls_client_init() < 0) {
        log_error("rpxy service exited: cannot set up TLS");
        cfg_free(cfg);
        free(wf.text);
        log_close();
        return 1;
    }
    size_t n_workers = n_workers_for(cfg);
    /* the cache directory is ready before the first connection is accepted */
    struct runtime *rt = runtime_build(cfg);
    if (!rt) {
        free(wf.text);
        log_close();
        return 1;
    }
    if (attach_cache(rt, acme_err, sizeof(acme_err)) < 0) {
        log_error("rpxy service exited: %s", acme_err);
        runtime_unref(rt);
        free(wf.text);
        log_close();
        return 1;
    }
    struct lset *ls = lset_build(rt->cfg, n_workers, NULL, false);
    if (!ls) {
        log_error("rpxy service exited: cannot bind the listeners");
        runtime_unref(rt);
        free(wf.text);
        log_close();
        return 1;
    }
    /* a listener that cannot be bound at start is fatal, this one too */
    if (admin_bind(rt->cfg) < 0) {
        log_error("rpxy service exited: cannot listen on admin_listen");
        lset_unref(ls);
        runtime_unref(rt);
        free(wf.text);
        log_close();
        return 1;
    }
    worker_set_conn_ops(&client_conn_ops);
    g_server.workers = calloc(n_workers, sizeof(*g_server.workers));
    for (size_t i = 0; g_server.workers && i < n_workers; i++) {
        g_server.workers[i] = worker_new(i);
        if (!g_server.workers[i])
            break;
        g_server.n_workers++;
    }
    if (g_server.n_workers != n_workers) {
        log_error("rpxy service exited: cannot create %zu workers", n_workers);
        return 1;
    }
    acme_manager_sync(rt->cfg);
    cert_store_sync(rt->cfg);
    server_publish(rt, ls);
    g_health = health_start(rt);
    for (size_t i = 0; i < n_workers; i++) {
        g_server.workers[i]->mx.on = rt->cfg->admin_port != 0; /* counted only when read */
        worker_start(g_server.workers[i]);
    }
    wait_workers_running();
    mx_config_loaded(false, true);
    bool serving = admin_start() == 0;
    if (serving) {
        log_info("rpxy is ready: %zu worker thread%s", n_workers, n_workers == 1 ? "" : "s");
        tell_ready();
    } else {
        log_error("rpxy service exited: cannot start the admin listener");
    }
    if (wf.text)
        set_running(&wf, wf.text, wf.len);
    if (ifd < 0)
        log_warn("Cannot watch %s for changes (%s); polling every %d s", wf.path,
                 strerror(watch_errno), STAT_POLL_MS / 1000);

    uint64_t reload_at = 0, next_stat = now_ms() + STAT_POLL_MS,
             next_dns = now_ms() + DNS_REFRESH_MS;
    uint64_t drain_deadline = 0;
    while (serving) {
        uint64_t now = now_ms();
        if (drain_deadline) {
            bool busy = false;
            for (size_t i = 0; i < g_server.n_workers; i++)
                busy |= !atomic_load(&g_server.workers[i]->finished);
            if (!busy || now >= drain_deadline)
                break;
        }
        if (reload_at && now >= reload_at) {
            reload_at = 0;
            reload(&wf, false);
        }
        if (now >= next_stat) {
            next_stat = now + STAT_POLL_MS;
            if (file_changed(&wf))
                reload_at = now + RELOAD_DEBOUNCE_MS;
        }
        struct runtime *now_rt = server_acquire_runtime();
        if (now_rt) {
            if (acme_manager_take_changed())
                cert_store_sync(now_rt->cfg); /* a new ACME certificate: serve it now */
            cert_store_tick(now_rt->cfg, now);
            tickets_rotate_if_due(now / 1000);
            runtime_unref(now_rt);
        }
        if (now >= next_dns) {
            next_dns = now + DNS_REFRESH_MS;
            struct runtime *cur = server_acquire_runtime();
            if (cur) {
                runtime_refresh_dns(cur);
                runtime_unref(cur);
            }
        }
        struct pollfd pfd[2] = { { sfd, POLLIN, 0 }, { ifd, POLLIN, 0 } };
        int timeout = reload_at ? (int)(reload_at > now ? reload_at - now : 0) : 100;
        if (poll(pfd, ifd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
            break;
        if (ifd >= 0 && (pfd[1].revents & POLLIN) && events_touch(ifd, wf.path))
            reload_at = now_ms() + RELOAD_DEBOUNCE_MS;
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
            if (si.ssi_signo == SIGHUP) {
                log_info("SIGHUP received: reloading %s", wf.path);
                reload(&wf, true);
            } else if (si.ssi_signo == SIGUSR1) {
                if (log_reopen() == 0)
                    log_info("Log files reopened");
            } else if (!drain_deadline) {
                log_info("%s received: shutting down gracefully",
                         si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
                atomic_store(&g_server.draining, true);
                for (size_t i = 0; i < g_server.n_workers; i++)
                    worker_wake(g_server.workers[i]);
                struct runtime *cur = server_acquire_runtime();
                uint64_t grace = cur ? cur->cfg->shutdown_timeout_s * 1000 : 0;
                if (cur)
                    runtime_unref(cur);
                drain_deadline = now_ms() + grace + 1;
                service_stopping(grace / 1000);
            }
        }
    }
    /* deadline passed or all drained: stop every loop */
    admin_stop();
    acme_manager_stop();
    health_stop(g_health);
    g_health = NULL;
    atomic_store(&g_server.force_stop, true);
    for (size_t i = 0; i < g_server.n_workers; i++)
        worker_stop(g_server.workers[i]);
    stop_workers();
    pthread_mutex_lock(&g_server.lock);
    struct runtime *last_rt = g_server.runtime;
    struct lset *last_ls = g_server.lset;
    g_server.runtime = NULL;
    g_server.lset = NULL;
    pthread_mutex_unlock(&g_server.lock);
    struct tls_sni_table *last_tls = g_server.tls;
    g_server.tls = NULL;
    if (last_rt)
        runtime_unref(last_rt);
    lset_unref(last_ls);
    sni_table_unref(last_tls);
    cert_store_free();
    tls_client_free();
    tls_server_free();
    if (ifd >= 0)
        close(ifd);
    close(sfd);
    free(wf.text);
    free(wf.running);
    log_info("rpxy stopped");
    sd_notify_close();
    log_close();
    return serving ? 0 : 1;
}
