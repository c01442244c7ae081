/* rpxy: command line, start-up, signals and config reload. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "config/config.h"
#include "config/reference.h"
#include "config/summary.h"
#include "log/log.h"

/* Logs each diagnostic at its severity (errors as ERROR, warnings as WARN). */
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

static int run_check(const char *path)
{
    struct cfg_diags diags = { 0 };
    struct cfg *cfg = cfg_load_file(path, &diags);
    cfg_diags_print(&diags, stderr);
    int status = 1;
    if (cfg) {
        cfg_print_summary(cfg, stdout);
        printf("%s: configuration is valid (%zu warning%s)\n", path, diags.n,
               diags.n == 1 ? "" : "s");
        status = 0;
    } else {
        fprintf(stderr, "%s: configuration is invalid (%zu error%s)\n", path, diags.n_errors,
                diags.n_errors == 1 ? "" : "s");
    }
    cfg_free(cfg);
    cfg_diags_free(&diags);
    return status;
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
    log_info("Start rpxy service with dynamic config reloader");
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
    if (c->h3.enabled && c->listen_port_tls >= 0)
        log_info("Experimental HTTP/3.0 is enabled. Note it is still very unstable.");
    if (c->ignore_sni_consistency)
        log_info("Ignore consistency between TLS SNI and Host header (or Request line). Note it "
                 "violates RFC.");
    if (c->n_trusted_forwarded_proxies)
        log_info("Trusted forwarded proxies configured: %zu CIDR(s)",
                 c->n_trusted_forwarded_proxies);
    if (c->connection_handling_timeout_s)
        log_info("Force connection handling timeout: %llu sec",
                 (unsigned long long)c->connection_handling_timeout_s);
}

/* Loads path; on success replaces *current. Returns 0 or -1 (old kept). */
static int reload(const char *path, struct cfg **current)
{
    struct cfg_diags diags = { 0 };
    struct cfg *next = cfg_load_file(path, &diags);
    log_diags(&diags);
    cfg_diags_free(&diags);
    if (!next) {
        log_error("rpxy failed to be ready. Configuration does not updated: invalid "
                  "configuration in %s (see the errors above)",
                  path);
        return -1;
    }
    cfg_free(*current);
    *current = next;
    log_info("Configuration updated.");
    return 0;
}

/* Until the proxy core lands, the process validates and holds the config,
 * reloads it on SIGHUP, reopens logs on SIGUSR1 and exits on SIGTERM/SIGINT. */
static int serve(const struct cli_options *o)
{
    enum log_level level = log_level_from_env();
    if (log_open(o->log_dir, level) < 0)
        return 1;
    if (env_flag("RPXY_UNSAFE_DEBUG_HEADERS"))
        log_warn("RPXY_UNSAFE_DEBUG_HEADERS is enabled: Authorization, Cookie and "
                 "Proxy-Authorization values will be printed verbatim at debug level");

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct cfg_diags diags = { 0 };
    struct cfg *cfg = cfg_load_file(o->config_path, &diags);
    log_diags(&diags);
    cfg_diags_free(&diags);
    if (!cfg) {
        log_error("rpxy service exited: Invalid configuration: %s (see the errors above)",
                  o->config_path);
        log_close();
        return 1;
    }
    log_startup(cfg);
    log_warn("This build does not serve traffic yet: the proxy core is not implemented; "
             "the configuration was validated and is held until SIGTERM");

    int status = 0;
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_info("SIGHUP received: reloading %s", o->config_path);
            reload(o->config_path, &cfg);
        } else if (sig == SIGUSR1) {
            if (log_reopen() == 0)
                log_info("Log files reopened");
        } else {
            log_info("%s received: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
    }
    cfg_free(cfg);
    log_close();
    return status;
}

int main(int argc, char **argv)
{
    struct cli_options o = cli_parse(argc, argv, stderr);
    switch (o.action) {
    case CLI_HELP: cli_print_help(stdout); return 0;
    case CLI_VERSION: printf("rpxy %s\n", RPXY_VERSION); return 0;
    case CLI_USAGE_ERROR: return 2;
    case CLI_REFERENCE: cfg_print_reference(stdout); return 0;
    case CLI_CHECK: return run_check(o.config_path);
    case CLI_RUN: break;
    }
    return serve(&o);
}
