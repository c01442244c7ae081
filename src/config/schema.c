/* The one table of config keys. Order here is the order in docs/config.md. */
#include "config/schema.h"

#include <stddef.h>

#include "config/config.h"
#include "config/key_parsers.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define BOOL(st, key, field, def, text)                                                            \
    {                                                                                              \
        .name = key, .kind = CFG_K_BOOL, .offset = offsetof(st, field), .def_int = def,            \
        .type_doc = "boolean", .help = text                                                        \
    }
#define INT(st, key, field, lo, hi, def, text)                                                     \
    {                                                                                              \
        .name = key, .kind = CFG_K_INT, .offset = offsetof(st, field),                             \
        .width = sizeof(((st *)0)->field), .min = lo, .max = hi, .def_int = def, .help = text      \
    }
/* a key of ours (not in rpxy) with its type written for the docs */
#define OURS_INT(st, key, field, lo, hi, def, type, text)                                          \
    {                                                                                              \
        .name = key, .kind = CFG_K_INT, .offset = offsetof(st, field),                             \
        .width = sizeof(((st *)0)->field), .min = lo, .max = hi, .def_int = def,                   \
        .flags = CFG_F_OURS, .type_doc = type, .help = text                                        \
    }
#define U32(st, key, field, def, text) INT(st, key, field, 0, UINT32_MAX, def, text)
#define U64(st, key, field, def, text) INT(st, key, field, 0, INT64_MAX, def, text)
#define STR(st, key, field, def, text)                                                             \
    {                                                                                              \
        .name = key, .kind = CFG_K_STRING, .offset = offsetof(st, field), .def_str = def,          \
        .type_doc = "string", .help = text                                                         \
    }
#define TABLE(st, key, field, section, text)                                                       \
    {                                                                                              \
        .name = key, .kind = CFG_K_TABLE, .offset = offsetof(st, field), .sub = &section,          \
        .type_doc = "table", .help = text                                                          \
    }

/* ---- [[apps.<name>.reverse_proxy]] upstream = [{ ... }] ---- */

static const struct cfg_key upstream_keys[] = {
    { .name = "location",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg_upstream, location),
      .parse = cfg_parse_location,
      .flags = CFG_F_REQUIRED,
      .type_doc = "string",
      .default_doc = "required",
      .help = "Upstream host with optional port: `host`, `host:port`, `ip:port` or `[v6]:port`, "
              "without a scheme. A path is accepted but ignored." },
    BOOL(struct cfg_upstream, "tls", tls, 0,
         "Connect to this upstream over TLS (verified against the system trust store)."),
};

static const struct cfg_section upstream_section = {
    .title = "upstream entry",
    .help = "One backend of a route: `upstream = [{ location = \"127.0.0.1:8080\" }]`.",
    .size = sizeof(struct cfg_upstream),
    .has_pos = true,
    .pos_offset = offsetof(struct cfg_upstream, pos),
    .keys = upstream_keys,
    .n_keys = N(upstream_keys),
    .finish = cfg_finish_upstream,
};

/* ---- health_check = { ... } ---- */

static const struct cfg_key health_check_keys[] = {
    { .name = "type",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg_health_check, type),
      .parse = cfg_parse_health_type,
      .type_doc = "string",
      .default_doc = "\"tcp\"",
      .help = "`tcp` (connect only) or `http` (GET `path`, expect `expected_status`)." },
    U64(struct cfg_health_check, "interval", interval_s, 10,
        "Seconds between probes; must be greater than `timeout`."),
    U64(struct cfg_health_check, "timeout", timeout_s, 5, "Seconds a probe may take."),
    U32(struct cfg_health_check, "unhealthy_threshold", unhealthy_threshold, 3,
        "Consecutive failures that mark an upstream unhealthy (>= 1)."),
    U32(struct cfg_health_check, "healthy_threshold", healthy_threshold, 2,
        "Consecutive successes that mark it healthy again (>= 1)."),
    STR(struct cfg_health_check, "path", path, NULL,
        "Request path for `http` checks; required for them and must start with `/`."),
    INT(struct cfg_health_check, "expected_status", expected_status, 100, 599, 200,
        "Status an `http` check must get."),
};

const struct cfg_section cfg_health_check_section = {
    .title = "health_check",
    .help = "Active health checks of a route's upstreams: `health_check = true` (tcp with "
            "defaults) or a table.",
    .size = sizeof(struct cfg_health_check),
    .has_present = true,
    .present_offset = offsetof(struct cfg_health_check, enabled),
    .keys = health_check_keys,
    .n_keys = N(health_check_keys),
    .finish = cfg_finish_health_check,
};

/* ---- [[apps.<name>.reverse_proxy]] ---- */

static const struct cfg_key route_keys[] = {
    { .name = "path",
      .kind = CFG_K_STRING,
      .offset = offsetof(struct cfg_route, path),
      .type_doc = "string",
      .default_doc = "unset (the default route, `/`)",
      .help = "Path prefix this route serves (longest prefix wins, matched at segment "
              "boundaries). At most one route per app may omit it." },
    STR(struct cfg_route, "replace_path", replace_path, NULL,
        "Replaces the matched prefix when forwarding, e.g. `/maps` -> `/replacing/path1`. "
        "Must start with `/`."),
    { .name = "upstream",
      .kind = CFG_K_TABLES,
      .offset = offsetof(struct cfg_route, upstreams),
      .count_offset = offsetof(struct cfg_route, n_upstreams),
      .sub = &upstream_section,
      .flags = CFG_F_REQUIRED,
      .type_doc = "array of tables",
      .default_doc = "required",
      .help = "Backends of this route, at least one." },
    { .name = "upstream_options",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg_route, upstream_options),
      .parse = cfg_parse_upstream_options,
      .type_doc = "array of strings",
      .default_doc = "[]",
      .help = "Any of `keep_original_host`, `set_upstream_host`, `upgrade_insecure_requests`, "
              "`force_http11_upstream`, `force_http2_upstream` (not both force options), "
              "`forwarded_header`." },
    { .name = "load_balance",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg_route, load_balance),
      .parse = cfg_parse_load_balance,
      .type_doc = "string",
      .default_doc = "\"none\"",
      .help = "`none` (first upstream), `round_robin`, `random`, `sticky` (needs "
              "`sticky_cookie_secret`) or `primary_backup` (needs `health_check`)." },
    { .name = "health_check",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg_route, health_check),
      .parse = cfg_parse_health_check,
      .sub = &cfg_health_check_section,
      .type_doc = "boolean or table",
      .default_doc = "off",
      .help = "Active health checks; see the health_check section." },
};

static const struct cfg_section route_section = {
    .title = "[[apps.<name>.reverse_proxy]]",
    .help = "A route: requests whose path starts with `path` go to `upstream`.",
    .size = sizeof(struct cfg_route),
    .has_pos = true,
    .pos_offset = offsetof(struct cfg_route, pos),
    .keys = route_keys,
    .n_keys = N(route_keys),
    .finish = cfg_finish_route,
};

/* ---- apps.<name>.tls ---- */

static const struct cfg_key tls_keys[] = {
    STR(struct cfg_tls, "tls_cert_path", cert_path, NULL,
        "PEM certificate chain, leaf first, sent as it is (nothing is added from a trust "
        "store). Required unless `acme = true`."),
    STR(struct cfg_tls, "tls_cert_key_path", key_path, NULL,
        "PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC; not encrypted). Required unless "
        "`acme = true`."),
    { .name = "https_redirection",
      .kind = CFG_K_BOOL,
      .offset = offsetof(struct cfg_tls, https_redirection),
      .def_int = 1,
      .type_doc = "boolean",
      .default_doc = "true",
      .help = "Answer plaintext requests for this app with 301 to https. May be set only when "
              "both `listen_port` and `listen_port_tls` are." },
    STR(struct cfg_tls, "client_ca_cert_path", client_ca_cert_path, NULL,
        "PEM CA certificates; when set, clients must present a certificate they issued "
        "(mutual TLS; no session resumption for the app)."),
    BOOL(struct cfg_tls, "acme", acme, 0,
         "Obtain the certificate with ACME, TLS-ALPN-01 unless `challenge` says otherwise (needs "
         "[experimental.acme]; no cert paths then)."),
    { .name = "challenge",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg_tls, http01),
      .parse = cfg_parse_acme_challenge,
      .flags = CFG_F_OURS,
      .type_doc = "string",
      .default_doc = "\"tls-alpn-01\"",
      .help = "The ACME challenge of an `acme = true` app: `tls-alpn-01` (answered on the TLS "
              "listener) or `http-01` (RFC 8555 8.3: `GET /.well-known/acme-challenge/<token>` "
              "answered on the plaintext listener before routing and redirects; for a TLS port "
              "behind something that terminates TLS). `http-01` needs `listen_port`." },
};

static const struct cfg_section tls_section = {
    .title = "[apps.<name>.tls]",
    .help = "Serve this app over TLS (its presence is what enables TLS for the app).",
    .size = sizeof(struct cfg_tls),
    .has_present = true,
    .present_offset = offsetof(struct cfg_tls, enabled),
    .keys = tls_keys,
    .n_keys = N(tls_keys),
    .finish = cfg_finish_tls,
};

/* ---- [apps.<name>] ---- */

static const struct cfg_key app_keys[] = {
    { .name = "server_name",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg_app, server_name),
      .parse = cfg_parse_server_name,
      .flags = CFG_F_REQUIRED,
      .type_doc = "string",
      .default_doc = "required",
      .help = "Host name this app serves (matched case-insensitively against Host and SNI)." },
    { .name = "reverse_proxy",
      .kind = CFG_K_TABLES,
      .offset = offsetof(struct cfg_app, routes),
      .count_offset = offsetof(struct cfg_app, n_routes),
      .sub = &route_section,
      .flags = CFG_F_REQUIRED,
      .type_doc = "array of tables",
      .default_doc = "required",
      .help = "The app's routes (an empty array answers every request with 404)." },
    TABLE(struct cfg_app, "tls", tls, tls_section, "TLS settings; see [apps.<name>.tls]."),
};

static const struct cfg_section app_section = {
    .title = "[apps.<name>]",
    .help = "One application: a server name and its routes.",
    .size = sizeof(struct cfg_app),
    .has_pos = true,
    .pos_offset = offsetof(struct cfg_app, pos),
    .has_name = true,
    .name_offset = offsetof(struct cfg_app, name),
    .keys = app_keys,
    .n_keys = N(app_keys),
    .finish = cfg_finish_app,
};

/* ---- [experimental.*] ---- */

static const struct cfg_key h3_keys[] = {
    U32(struct cfg_h3, "alt_svc_max_age", alt_svc_max_age, 3600,
        "`ma=` seconds in the Alt-Svc header advertising HTTP/3."),
    { .name = "request_max_body_size",
      .kind = CFG_K_INT,
      .offset = offsetof(struct cfg_h3, request_max_body_size),
      .width = 8,
      .min = 0,
      .max = INT64_MAX,
      .flags = CFG_F_DEPRECATED | CFG_F_NO_DEFAULT,
      .type_doc = "integer (bytes)",
      .default_doc = "unset",
      .help = "`experimental.h3.request_max_body_size` is deprecated and will be removed in "
              "0.14.0; use the top-level `request_max_body_size` (here, 0 rejects any body)." },
    U32(struct cfg_h3, "max_concurrent_connections", max_concurrent_connections, 4096,
        "QUIC connections being accepted at once."),
    U32(struct cfg_h3, "max_concurrent_bidistream", max_concurrent_bidistream, 64,
        "Bidirectional (request) streams per QUIC connection."),
    U32(struct cfg_h3, "max_concurrent_unistream", max_concurrent_unistream, 64,
        "Unidirectional streams per QUIC connection."),
    U64(struct cfg_h3, "max_idle_timeout", max_idle_timeout_s, 10,
        "QUIC idle timeout in seconds; 0 = none."),
    { .name = "retry_above_handshakes",
      .kind = CFG_K_INT,
      .offset = offsetof(struct cfg_h3, retry_above_handshakes),
      .width = 4,
      .min = 0,
      .max = UINT32_MAX,
      .def_int = 64,
      .flags = CFG_F_OURS,
      .type_doc = "integer (handshakes)",
      .help = "Address validation under load: while a worker thread has more QUIC handshakes in "
              "progress than this, a new client gets a Retry and must come back with its token "
              "(one more round trip, no spoofed-source amplification). 0 = always." },
};

static const struct cfg_section h3_section = {
    .title = "[experimental.h3]",
    .help = "Its presence enables HTTP/3 on the `listen_port_tls` UDP port.",
    .size = sizeof(struct cfg_h3),
    .has_present = true,
    .present_offset = offsetof(struct cfg_h3, enabled),
    .keys = h3_keys,
    .n_keys = N(h3_keys),
    .finish = cfg_finish_h3,
};

static const struct cfg_key cache_keys[] = {
    STR(struct cfg_cache, "cache_dir", cache_dir, "./cache",
        "Directory for cached bodies; emptied at start and when a reload changes this table. "
        "Must be, or be creatable under, a writable directory."),
    INT(struct cfg_cache, "max_cache_entry", max_cache_entry, 0, INT64_MAX, 1000,
        "Number of entries kept (LRU); must be at least 1."),
    U64(struct cfg_cache, "max_cache_each_size", max_cache_each_size, 65535,
        "Largest body stored, in bytes."),
    U64(struct cfg_cache, "max_cache_each_size_on_memory", max_cache_each_size_on_memory, 65535,
        "Bodies up to this size stay in memory, larger ones go to files; 0 = always files. "
        "Must not exceed `max_cache_each_size`."),
};

static const struct cfg_section cache_section = {
    .title = "[experimental.cache]",
    .help = "Its presence enables the response cache.",
    .size = sizeof(struct cfg_cache),
    .has_present = true,
    .present_offset = offsetof(struct cfg_cache, enabled),
    .keys = cache_keys,
    .n_keys = N(cache_keys),
    .finish = cfg_finish_cache,
};

static const struct cfg_key acme_keys[] = {
    STR(struct cfg_acme, "dir_url", dir_url, "https://acme-v02.api.letsencrypt.org/directory",
        "ACME directory URL (staging: point it at a staging directory)."),
    { .name = "email",
      .kind = CFG_K_STRING,
      .offset = offsetof(struct cfg_acme, email),
      .flags = CFG_F_REQUIRED,
      .type_doc = "string",
      .default_doc = "required",
      .help = "Account contact, registered as `mailto:<email>`." },
    STR(struct cfg_acme, "registry_path", registry_path, "./acme_registry",
        "Directory for the account key and obtained certificates."),
};

static const struct cfg_section acme_section = {
    .title = "[experimental.acme]",
    .help = "ACME settings, used by apps with `tls.acme = true`.",
    .size = sizeof(struct cfg_acme),
    .has_present = true,
    .present_offset = offsetof(struct cfg_acme, enabled),
    .keys = acme_keys,
    .n_keys = N(acme_keys),
};

static const struct cfg_key proxy_protocol_keys[] = {
    { .name = "trusted_proxies",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg_proxy_protocol, trusted_proxies),
      .parse = cfg_parse_proxy_protocol_trusted,
      .flags = CFG_F_REQUIRED,
      .type_doc = "array of CIDR strings",
      .default_doc = "required",
      .help = "Peers allowed to send a PROXY header (all TCP connections must then come from "
              "them)." },
    U64(struct cfg_proxy_protocol, "timeout", timeout_ms, 50,
        "Milliseconds allowed for the whole PROXY header; 0 means 5000."),
};

static const struct cfg_section proxy_protocol_section = {
    .title = "[experimental.tcp_recv_proxy_protocol]",
    .help = "Its presence makes every TCP listener expect a PROXY protocol v1/v2 header.",
    .size = sizeof(struct cfg_proxy_protocol),
    .has_present = true,
    .present_offset = offsetof(struct cfg_proxy_protocol, enabled),
    .keys = proxy_protocol_keys,
    .n_keys = N(proxy_protocol_keys),
};

static const struct cfg_key experimental_keys[] = {
    BOOL(struct cfg, "ignore_sni_consistency", ignore_sni_consistency, 0,
         "Skip the check that the Host of a TLS request equals its SNI (violates RFC 9110)."),
    U64(struct cfg, "connection_handling_timeout", connection_handling_timeout_s, 0,
        "Hard limit in seconds on the life of each connection (h3: each stream); 0 = none."),
    TABLE(struct cfg, "h3", h3, h3_section, "See [experimental.h3]."),
    TABLE(struct cfg, "cache", cache, cache_section, "See [experimental.cache]."),
    TABLE(struct cfg, "acme", acme, acme_section, "See [experimental.acme]."),
    TABLE(struct cfg, "tcp_recv_proxy_protocol", proxy_protocol, proxy_protocol_section,
          "See [experimental.tcp_recv_proxy_protocol]."),
};

/* [experimental] has no struct of its own: its keys live in struct cfg. */
static const struct cfg_section experimental_section = {
    .title = "[experimental]",
    .help = "Features rpxy calls experimental.",
    .size = sizeof(struct cfg),
    .keys = experimental_keys,
    .n_keys = N(experimental_keys),
};

/* ---- top level ---- */

static const struct cfg_key root_keys[] = {
    { .name = "listen_port",
      .kind = CFG_K_INT,
      .offset = offsetof(struct cfg, listen_port),
      .width = 4,
      .is_signed = true,
      .min = 0,
      .max = 65535,
      .def_int = -1,
      .type_doc = "integer 0-65535",
      .default_doc = "unset",
      .help = "Plaintext HTTP port (HTTP/1.1 and h2c). At least one of the two ports is needed." },
    { .name = "listen_port_tls",
      .kind = CFG_K_INT,
      .offset = offsetof(struct cfg, listen_port_tls),
      .width = 4,
      .is_signed = true,
      .min = 0,
      .max = 65535,
      .def_int = -1,
      .type_doc = "integer 0-65535",
      .default_doc = "unset",
      .help = "TLS port (HTTP/1.1, HTTP/2; HTTP/3 on the same UDP port with [experimental.h3])." },
    { .name = "listen_address_v4",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg, listen_v4),
      .parse = cfg_parse_listen_v4,
      .type_doc = "string or array of strings",
      .default_doc = "\"0.0.0.0\"",
      .help = "IPv4 addresses to listen on; `0.0.0.0` may not be mixed with others." },
    { .name = "listen_address_v6",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg, listen_v6),
      .parse = cfg_parse_listen_v6,
      .type_doc = "string or array of strings",
      .default_doc = "unset",
      .help = "IPv6 addresses to listen on (`::1` or `[::1]`); setting it enables IPv6." },
    BOOL(struct cfg, "listen_ipv6", listen_ipv6, 0,
         "Also listen on `[::]` (when `listen_address_v6` is unset)."),
    { .name = "public_https_port",
      .kind = CFG_K_INT,
      .offset = offsetof(struct cfg, public_https_port),
      .width = 4,
      .is_signed = true,
      .min = 1,
      .max = 65535,
      .def_int = -1,
      .type_doc = "integer 1-65535",
      .default_doc = "= listen_port_tls",
      .help = "HTTPS port clients see (redirects, Alt-Svc); only with `listen_port_tls`." },
    { .name = "https_redirection_port",
      .kind = CFG_K_CUSTOM,
      .flags = CFG_F_REMOVED,
      .type_doc = "removed",
      .default_doc = "-",
      .help = "`https_redirection_port` was renamed to `public_https_port` in 0.13; update your "
              "config" },
    U32(struct cfg, "tcp_listen_backlog", tcp_listen_backlog, 1024,
        "listen(2) backlog of the TCP listeners."),
    U32(struct cfg, "max_concurrent_streams", max_concurrent_streams, 64,
        "HTTP/2 streams per connection."),
    U32(struct cfg, "max_clients", max_clients, 512,
        "Concurrent client connections (h1/h2) and HTTP/3 streams, in total."),
    U32(struct cfg, "max_clients_per_ip", max_clients_per_ip, 0,
        "Concurrent connections per client IP; 0 = no limit."),
    { .name = "worker_threads",
      .kind = CFG_K_INT,
      .offset = offsetof(struct cfg, worker_threads),
      .width = 4,
      .min = 0,
      .max = 1024,
      .def_int = 0,
      .flags = CFG_F_OURS,
      .type_doc = "integer 0-1024",
      .default_doc = "0 (one per online CPU)",
      .help = "Worker threads, each with its own event loop and listeners." },
    { .name = "client_header_timeout",
      .kind = CFG_K_INT,
      .offset = offsetof(struct cfg, client_header_timeout_s),
      .width = 8,
      .min = 1,
      .max = 3600,
      .def_int = 20,
      .flags = CFG_F_OURS,
      .type_doc = "integer 1-3600 (seconds)",
      .help = "Time a client has to send a complete request head, and the longest idle time "
              "of a keep-alive connection between requests." },
    { .name = "upstream_connect_timeout",
      .kind = CFG_K_INT,
      .offset = offsetof(struct cfg, upstream_connect_timeout_s),
      .width = 8,
      .min = 1,
      .max = 3600,
      .def_int = 10,
      .flags = CFG_F_OURS,
      .type_doc = "integer 1-3600 (seconds)",
      .help = "Connecting to an upstream, all failover attempts together; when it passes the "
              "client gets 504 (502 at once when every upstream refused)." },
    { .name = "upstream_response_timeout",
      .kind = CFG_K_INT,
      .offset = offsetof(struct cfg, upstream_response_timeout_s),
      .width = 8,
      .min = 1,
      .max = 86400,
      .def_int = 60,
      .flags = CFG_F_OURS,
      .type_doc = "integer 1-86400 (seconds)",
      .help = "Waiting for the upstream's response head (504 when it passes), and the longest "
              "pause within a response body (the connection is then closed)." },
    OURS_INT(struct cfg, "upstream_max_fails", upstream_max_fails, 0, 1000, 1, "integer 0-1000",
             "Passive health: after this many connect failures in a row (refused, unreachable, "
             "connect timeout, TLS handshake failure) an upstream is marked down for "
             "`upstream_fail_timeout`, in every worker, and skipped by the balancer; 0 turns it "
             "off. A route with one upstream never marks it down. Whatever this says, a request "
             "whose connect fails goes on to the route's next upstream (and to the next address "
             "of a host name), within `upstream_connect_timeout` in total."),
    OURS_INT(struct cfg, "upstream_fail_timeout", upstream_fail_timeout_s, 1, 3600, 10,
             "integer 1-3600 (seconds)",
             "Passive health: how long an upstream marked down is skipped; then one request "
             "tries it (success brings it back, failure starts a new cool-off). With a "
             "`health_check` on the route, the active check's next success brings it back "
             "instead."),
    { .name = "upstream_idle_timeout",
      .kind = CFG_K_INT,
      .offset = offsetof(struct cfg, upstream_idle_timeout_s),
      .width = 8,
      .min = 1,
      .max = 3600,
      .def_int = 4,
      .flags = CFG_F_OURS,
      .type_doc = "integer 1-3600 (seconds)",
      .help = "How long an idle keep-alive connection to an upstream is kept for reuse; keep "
              "it below the backends' own keep-alive timeout." },
    { .name = "shutdown_timeout",
      .kind = CFG_K_INT,
      .offset = offsetof(struct cfg, shutdown_timeout_s),
      .width = 8,
      .min = 0,
      .max = 3600,
      .def_int = 10,
      .flags = CFG_F_OURS,
      .type_doc = "integer 0-3600 (seconds)",
      .help = "On SIGTERM/SIGINT, how long requests in progress may take to finish before the "
              "remaining connections are closed." },
    { .name = "admin_listen",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg, admin_addr),
      .parse = cfg_parse_admin_listen,
      .flags = CFG_F_OURS,
      .type_doc = "string \"IP:PORT\"",
      .default_doc = "unset (no admin listener)",
      .help = "Admin listener serving `/metrics` (Prometheus text format) and `/healthz` "
              "(GET and HEAD only), e.g. `\"127.0.0.1:9901\"`; never reachable through the "
              "apps. Read at start: a reload does not move it." },
    { .name = "sticky_cookie_secret",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg, sticky_cookie_secret),
      .parse = cfg_parse_sticky_secret,
      .type_doc = "string",
      .default_doc = "unset",
      .help = "base64url (no padding) of 32 random bytes, e.g. from `openssl rand 32 | basenc "
              "--base64url | tr -d =`; required when a route uses `load_balance = \"sticky\"`." },
    { .name = "trusted_forwarded_proxies",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg, trusted_forwarded_proxies),
      .parse = cfg_parse_trusted_forwarded,
      .type_doc = "string or array of strings",
      .default_doc = "[]",
      .help = "Peers whose X-Forwarded-For / Forwarded headers are believed: CIDRs or the "
              "aliases `cloudflare`, `fastly`, `cloudfront`." },
    BOOL(struct cfg, "redact_query_in_access_log", redact_query_in_access_log, 0,
         "Replace query values with `<redacted>` in the access log."),
    { .name = "access_log_format",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg, access_log_format),
      .parse = cfg_parse_access_log_format,
      .flags = CFG_F_OURS,
      .type_doc = "string: \"rpxy\" or \"json\"",
      .default_doc = "\"rpxy\"",
      .help = "Access log lines: `\"rpxy\"` writes rpxy's line; `\"json\"` writes one JSON "
              "object per line with the same fields (see \"JSON access log\" above), on "
              "stdout too (a bare object, no level tag). Non-UTF-8 "
              "bytes are written `\\u00XX` per byte; a line over 8 KiB is cut and ends with "
              "`\"truncated\":true`. A reload switches new lines to the new format." },
    { .name = "request_max_body_size",
      .kind = CFG_K_CUSTOM,
      .offset = offsetof(struct cfg, request_max_body_size),
      .parse = cfg_parse_body_size,
      .width = 8,
      .def_int = 268435456,
      .type_doc = "integer or string",
      .default_doc = "268435456 (256 MiB)",
      .help = "Largest request body: bytes, or a string like \"64M\" (k/m/g = 1024-based); 0 or "
              "\"unlimited\" = no limit." },
    STR(struct cfg, "default_app", default_app, NULL,
        "App (its [apps.<name>] key) serving plaintext requests for unknown hosts."),
    { .name = "apps",
      .kind = CFG_K_NAMED,
      .offset = offsetof(struct cfg, apps),
      .count_offset = offsetof(struct cfg, n_apps),
      .sub = &app_section,
      .flags = CFG_F_REQUIRED,
      .type_doc = "table",
      .default_doc = "required",
      .help = "The applications, one [apps.<name>] table each." },
    { .name = "experimental",
      .kind = CFG_K_TABLE,
      .offset = 0,
      .sub = &experimental_section,
      .type_doc = "table",
      .default_doc = "unset",
      .help = "See [experimental]." },
};

const struct cfg_section cfg_root_section = {
    .title = "the top level",
    .help = "Global settings.",
    .size = sizeof(struct cfg),
    .keys = root_keys,
    .n_keys = N(root_keys),
    .finish = cfg_finish_root,
};

const struct cfg_section *const cfg_all_sections[] = {
    &cfg_root_section,
    &app_section,
    &tls_section,
    &route_section,
    &upstream_section,
    &cfg_health_check_section,
    &experimental_section,
    &h3_section,
    &cache_section,
    &acme_section,
    &proxy_protocol_section,
};
const size_t cfg_all_sections_count = N(cfg_all_sections);
