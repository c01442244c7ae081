/* The rpxy configuration: one immutable, typed snapshot of a config.toml.
 *
 * cfg_load_file() reads and validates a whole file. Either every check passes
 * and a snapshot is returned, or nothing is returned and the diagnostics say
 * what is wrong (file, line, column, key, reason). A snapshot owns all its
 * memory (one arena) and is never modified after loading.
 */
#ifndef RPXY_CONFIG_CONFIG_H
#define RPXY_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/diag.h"
#include "util/ipaddr.h"

#define CFG_STICKY_SECRET_LEN 32

enum cfg_access_log_format {
    CFG_ALOG_RPXY, /* rpxy's line (SPEC 13.1) */
    CFG_ALOG_JSON, /* one JSON object per line (log/access_json.h) */
};

enum cfg_lb {
    CFG_LB_NONE,
    CFG_LB_ROUND_ROBIN,
    CFG_LB_RANDOM,
    CFG_LB_STICKY,
    CFG_LB_PRIMARY_BACKUP,
};

enum cfg_upstream_option {
    CFG_OPT_KEEP_ORIGINAL_HOST = 1u << 0,
    CFG_OPT_SET_UPSTREAM_HOST = 1u << 1,
    CFG_OPT_UPGRADE_INSECURE_REQUESTS = 1u << 2,
    CFG_OPT_FORCE_HTTP11_UPSTREAM = 1u << 3,
    CFG_OPT_FORCE_HTTP2_UPSTREAM = 1u << 4,
    CFG_OPT_FORWARDED_HEADER = 1u << 5,
};

enum cfg_health_type {
    CFG_HEALTH_TCP,
    CFG_HEALTH_HTTP,
};

/* Where a config element was written, for messages after loading. */
struct cfg_pos {
    int line, col;
};

struct cfg_upstream {
    struct cfg_pos pos;
    char *location; /* as written: host, host:port, [v6]:port */
    bool tls;
    char *host;      /* without brackets, lower-case */
    uint16_t port;   /* explicit port, or 80/443 by scheme */
    bool port_given; /* the location names a port */
};

struct cfg_health_check {
    bool enabled;
    enum cfg_health_type type;
    uint64_t interval_s;
    uint64_t timeout_s;
    uint32_t unhealthy_threshold;
    uint32_t healthy_threshold;
    char *path; /* http only */
    uint16_t expected_status;
};

struct cfg_route {
    struct cfg_pos pos;
    char *path;         /* NULL for the default route (matches like "/") */
    char *replace_path; /* NULL when unset */
    struct cfg_upstream *upstreams;
    size_t n_upstreams;
    unsigned upstream_options; /* enum cfg_upstream_option bits */
    enum cfg_lb load_balance;
    struct cfg_health_check health_check;
};

struct cfg_tls {
    bool enabled; /* a `tls` table is present */
    char *cert_path;
    char *key_path;
    char *client_ca_cert_path;
    bool https_redirection;
    bool https_redirection_given;
    bool challenge_given; /* ours: the ACME challenge was chosen explicitly */
    bool acme;
    bool http01; /* challenge = "http-01" (ours) */
};

struct cfg_app {
    struct cfg_pos pos;
    char *name;        /* the [apps.<name>] key, lower-cased */
    char *server_name; /* lower-cased */
    struct cfg_route *routes;
    size_t n_routes;
    struct cfg_tls tls;
};

struct cfg_h3 {
    bool enabled;
    uint32_t alt_svc_max_age;
    bool request_max_body_size_given; /* deprecated key */
    uint64_t request_max_body_size;
    uint32_t max_concurrent_connections;
    uint32_t max_concurrent_bidistream;
    uint32_t max_concurrent_unistream;
    uint64_t max_idle_timeout_s;
    uint32_t retry_above_handshakes; /* ours: Retry while more handshakes are in progress */
};

struct cfg_cache {
    bool enabled;
    char *cache_dir;
    uint64_t max_cache_entry;
    uint64_t max_cache_each_size;
    uint64_t max_cache_each_size_on_memory;
};

struct cfg_acme {
    bool enabled; /* [experimental.acme] present */
    char *dir_url;
    char *email;
    char *registry_path;
    bool any_http01; /* some ACME app uses HTTP-01 (set while validating) */
};

struct cfg_proxy_protocol {
    bool enabled;
    struct ip_cidr *trusted_proxies;
    size_t n_trusted_proxies;
    uint64_t timeout_ms; /* 0 as written means the 5 s fallback */
};

struct cfg {
    char *path; /* the file this snapshot was read from */

    int32_t listen_port;     /* -1 when unset */
    int32_t listen_port_tls; /* -1 when unset */
    struct ip_addr *listen_v4;
    size_t n_listen_v4;
    struct ip_addr *listen_v6; /* includes :: when listen_ipv6 and no v6 list */
    size_t n_listen_v6;
    bool listen_ipv6;
    int32_t public_https_port; /* -1 when there is no TLS listener */
    uint32_t tcp_listen_backlog;
    uint32_t max_concurrent_streams;
    uint32_t max_clients;
    uint32_t max_clients_per_ip;
    uint32_t worker_threads; /* 0 = one per online CPU */
    /* timeouts of ours (rpxy has none or fixed ones), seconds */
    uint64_t client_header_timeout_s;
    uint64_t upstream_connect_timeout_s;
    uint64_t upstream_response_timeout_s;
    uint64_t upstream_idle_timeout_s;
    /* ours: passive health (issue 14) */
    uint32_t upstream_max_fails; /* 0 = off */
    uint64_t upstream_fail_timeout_s;
    uint64_t shutdown_timeout_s;
    /* ours: the admin listener (/metrics, /healthz); admin_port 0 = off */
    struct ip_addr admin_addr;
    uint16_t admin_port;
    char *sticky_cookie_secret; /* as written; decoded below when a route uses it */
    bool has_sticky_secret;
    uint8_t sticky_secret[CFG_STICKY_SECRET_LEN];
    struct ip_cidr *trusted_forwarded_proxies;
    size_t n_trusted_forwarded_proxies;
    bool redact_query_in_access_log;
    enum cfg_access_log_format access_log_format; /* ours */
    uint64_t request_max_body_size;               /* 0 = unlimited */
    char *default_app;                            /* as written; NULL when unset */
    const struct cfg_app *default_app_ref;        /* the app it names, or NULL */

    struct cfg_app *apps;
    size_t n_apps;

    bool ignore_sni_consistency;
    uint64_t connection_handling_timeout_s; /* 0 = none */
    struct cfg_h3 h3;
    struct cfg_cache cache;
    struct cfg_acme acme;
    struct cfg_proxy_protocol proxy_protocol;

    struct arena *arena; /* owns everything above */
};

/* Reads, parses and validates path. Returns a snapshot owned by the caller
 * (release with cfg_free), or NULL; diagnostics (errors and warnings) are
 * appended to diags either way. */
struct cfg *cfg_load_file(const char *path, struct cfg_diags *diags);

/* Reads a whole config file (at most 16 MiB). Returns a malloc'ed buffer
 * owned by the caller and its length, or NULL with an errno value in *err
 * (negated when the file could not be opened at all). */
char *cfg_read_file(const char *path, size_t *len, int *err);

/* Same, from text already in memory; path is used in messages only. */
struct cfg *cfg_load_text(const char *path, const char *text, size_t len, struct cfg_diags *diags);

void cfg_free(struct cfg *cfg);

const char *cfg_lb_name(enum cfg_lb lb);

#endif
