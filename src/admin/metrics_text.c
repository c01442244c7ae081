#include "admin/metrics_text.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/server.h"
#include "core/worker.h"
#include "metrics/counters.h"
#include "proxy/router.h"
#include "proxy/runtime.h"
#include "tls/server.h"
#include "tls/sni_table.h"
#include "upstream/balance.h"

static const char *const proto_names[MX_PROTOS] = { "http/1.1", "h2", "h3" };
static const char *const listener_names[MX_LISTENERS] = { "http", "https", "quic" };
static const char *const version_names[MX_TLS_VERSIONS] = { "TLSv1.2", "TLSv1.3", "other" };
static const char *const group_names[MX_GROUPS] = { "X25519MLKEM768", "X25519", "secp256r1",
                                                    "secp384r1", "other" };

/* The sum over workers of the counter at byte offset off in struct mx_worker. */
static uint64_t sum(size_t off)
{
    uint64_t total = 0;
    for (size_t i = 0; i < g_server.n_workers; i++)
        total += mx_get((_Atomic uint64_t *)((char *)&g_server.workers[i]->mx + off));
    return total;
}

#define SUM(field) sum(offsetof(struct mx_worker, field))

/* A gauge kept as two counters (in, out): the sums are two reads, not one
 * snapshot, so the difference may need clamping at 0. */
static uint64_t gauge(uint64_t in, uint64_t out)
{
    return in > out ? in - out : 0;
}

static void header(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with '\\', '"' and newlines escaped. */
static void label(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', out);
        if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
}

static void requests(FILE *out)
{
    header(out, "rpxy_requests_total", "counter",
           "Requests by app (empty: none matched), protocol and status class (none: no "
           "response began).");
    for (unsigned a = 0; a < MX_APPS; a++) {
        char app[64];
        mx_app_name(a, app, sizeof(app));
        for (unsigned p = 0; p < MX_PROTOS; p++) {
            for (unsigned c = 0; c < MX_CLASSES; c++) {
                uint64_t n = SUM(requests[a][p][c]);
                if (!n)
                    continue;
                fputs("rpxy_requests_total{app=\"", out);
                label(out, app);
                if (c)
                    fprintf(out, "\",protocol=\"%s\",code=\"%uxx\"} %llu\n", proto_names[p], c,
                            (unsigned long long)n);
                else
                    fprintf(out, "\",protocol=\"%s\",code=\"none\"} %llu\n", proto_names[p],
                            (unsigned long long)n);
            }
        }
    }
}

static void durations(FILE *out)
{
    header(out, "rpxy_request_duration_seconds", "histogram",
           "From the request head to the end of the exchange, by protocol (the event loop's "
           "millisecond clock).");
    for (unsigned p = 0; p < MX_PROTOS; p++) {
        uint64_t count = 0;
        for (unsigned b = 0; b < MX_BUCKETS; b++) {
            count += SUM(duration[p][b]);
            if (b < MX_BUCKETS - 1)
                fprintf(out,
                        "rpxy_request_duration_seconds_bucket{protocol=\"%s\",le=\"%g\"} %llu\n",
                        proto_names[p], (double)(1u << b) / 1000.0, (unsigned long long)count);
            else
                fprintf(out,
                        "rpxy_request_duration_seconds_bucket{protocol=\"%s\",le=\"+Inf\"} %llu\n",
                        proto_names[p], (unsigned long long)count);
        }
        fprintf(out, "rpxy_request_duration_seconds_sum{protocol=\"%s\"} %.3f\n", proto_names[p],
                (double)SUM(duration_ms[p]) / 1000.0);
        fprintf(out, "rpxy_request_duration_seconds_count{protocol=\"%s\"} %llu\n", proto_names[p],
                (unsigned long long)count);
    }
}

static void connections(FILE *out)
{
    header(out, "rpxy_received_bytes_total", "counter",
           "Bytes received from clients: HTTP bytes (after TLS decryption) on TCP, stream data "
           "on QUIC.");
    for (unsigned l = 0; l < MX_LISTENERS; l++)
        fprintf(out, "rpxy_received_bytes_total{listener=\"%s\"} %llu\n", listener_names[l],
                (unsigned long long)SUM(bytes_in[l]));
    header(out, "rpxy_sent_bytes_total", "counter",
           "Bytes sent to clients: HTTP bytes (before TLS encryption) on TCP, stream data on "
           "QUIC.");
    for (unsigned l = 0; l < MX_LISTENERS; l++)
        fprintf(out, "rpxy_sent_bytes_total{listener=\"%s\"} %llu\n", listener_names[l],
                (unsigned long long)SUM(bytes_out[l]));
    header(out, "rpxy_connections_total", "counter", "Client connections accepted, by listener.");
    for (unsigned l = 0; l < MX_LISTENERS; l++)
        fprintf(out, "rpxy_connections_total{listener=\"%s\"} %llu\n", listener_names[l],
                (unsigned long long)SUM(conns_opened[l]));
    header(out, "rpxy_connections_open", "gauge",
           "Client connections open now, by listener and protocol (none: not known yet, as "
           "during the TLS handshake).");
    for (unsigned l = 0; l < MX_LISTENERS; l++) {
        uint64_t open = gauge(SUM(conns_opened[l]), SUM(conns_closed[l])), known = 0;
        for (unsigned p = 0; p < MX_PROTOS; p++) {
            if (l == MX_LISTEN_QUIC ? p != MX_HTTP3 : p == MX_HTTP3)
                continue;
            uint64_t n = gauge(SUM(proto_started[l][p]), SUM(proto_ended[l][p]));
            known += n;
            fprintf(out, "rpxy_connections_open{listener=\"%s\",protocol=\"%s\"} %llu\n",
                    listener_names[l], proto_names[p], (unsigned long long)n);
        }
        if (l != MX_LISTEN_QUIC)
            fprintf(out, "rpxy_connections_open{listener=\"%s\",protocol=\"none\"} %llu\n",
                    listener_names[l], (unsigned long long)(open > known ? open - known : 0));
    }
}

static void tls(FILE *out)
{
    /* TLS runs on the https listener and inside QUIC */
    static const char *const tls_listener[2] = { "https", "quic" };
    header(out, "rpxy_tls_handshakes_total", "counter",
           "TLS handshakes completed, by listener (https, quic), version and key-exchange group.");
    for (unsigned l = 0; l < 2; l++)
        for (unsigned v = 0; v < MX_TLS_VERSIONS; v++)
            for (unsigned g = 0; g < MX_GROUPS; g++) {
                uint64_t n = SUM(tls_done[l][v][g]);
                if (n)
                    fprintf(out,
                            "rpxy_tls_handshakes_total{listener=\"%s\",version=\"%s\","
                            "group=\"%s\"} %llu\n",
                            tls_listener[l], version_names[v], group_names[g],
                            (unsigned long long)n);
            }
    header(out, "rpxy_tls_handshake_failures_total", "counter",
           "TLS handshakes that failed, by listener and reason (as in the log's failure=).");
    for (unsigned l = 0; l < 2; l++)
        for (unsigned f = TLS_FAIL_ACCEPTOR; f < MX_TLS_FAILURES; f++)
            fprintf(out, "rpxy_tls_handshake_failures_total{listener=\"%s\",reason=\"%s\"} %llu\n",
                    tls_listener[l], tls_failure_name((enum tls_failure)f),
                    (unsigned long long)SUM(tls_failed[l][f]));
}

static void config(FILE *out, const struct runtime *rt)
{
    header(out, "rpxy_config_reloads_total", "counter",
           "Configuration reloads (SIGHUP or a changed file), by result.");
    fprintf(out, "rpxy_config_reloads_total{result=\"success\"} %llu\n",
            (unsigned long long)mx_get(&mx_global.reloads_ok));
    fprintf(out, "rpxy_config_reloads_total{result=\"failure\"} %llu\n",
            (unsigned long long)mx_get(&mx_global.reloads_failed));
    header(out, "rpxy_config_last_success_timestamp_seconds", "gauge",
           "When the configuration in force was loaded (Unix time).");
    fprintf(out, "rpxy_config_last_success_timestamp_seconds %llu\n",
            (unsigned long long)mx_get(&mx_global.last_reload_ok_s));
    header(out, "rpxy_workers", "gauge", "Worker threads.");
    fprintf(out, "rpxy_workers %zu\n", g_server.n_workers);
    header(out, "rpxy_apps", "gauge", "Apps in the configuration in force.");
    fprintf(out, "rpxy_apps %zu\n", rt ? rt->cfg->n_apps : 0);
}

static void upstreams(FILE *out, const struct runtime *rt)
{
    header(out, "rpxy_upstream_healthy", "gauge",
           "1 when the upstream is taken for requests, 0 when health checks took it out or "
           "passive health marked it down.");
    for (size_t i = 0; rt && i < rt->n_routes; i++) {
        const struct rt_route *r = &rt->routes[i];
        for (size_t j = 0; j < r->n_ups; j++) {
            fputs("rpxy_upstream_healthy{app=\"", out);
            label(out, r->route->app->cfg->name);
            fputs("\",path=\"", out);
            label(out, r->route->prefix);
            fputs("\",upstream=\"", out);
            label(out, r->ups[j].authority);
            fprintf(out, "\"} %d\n", lb_is_healthy(r->lb, j) ? 1 : 0);
        }
    }
}

/* One series per upstream that has had a connection, labelled with its
 * location as rpxy_upstream_healthy is. */
static void per_upstream(FILE *out, const char *metric, size_t opened_off, size_t minus_off)
{
    for (unsigned i = 1; i < MX_UPSTREAMS; i++) {
        uint64_t opened = sum(offsetof(struct mx_worker, up_opened) + i * sizeof(uint64_t));
        if (!opened)
            continue;
        char name[300];
        mx_upstream_name(i, name, sizeof(name));
        uint64_t v = sum(opened_off + i * sizeof(uint64_t));
        if (minus_off)
            v = gauge(v, sum(minus_off + i * sizeof(uint64_t)));
        fprintf(out, "%s{upstream=\"", metric);
        label(out, name);
        fprintf(out, "\"} %llu\n", (unsigned long long)v);
    }
}

static void upstream_pool(FILE *out)
{
    header(out, "rpxy_upstream_connections_total", "counter",
           "Connections opened to upstreams (HTTP/1.1 and HTTP/2), by upstream.");
    per_upstream(out, "rpxy_upstream_connections_total", offsetof(struct mx_worker, up_opened), 0);
    header(out, "rpxy_upstream_connections_open", "gauge",
           "Upstream connections open now, in use or idle, by upstream.");
    per_upstream(out, "rpxy_upstream_connections_open", offsetof(struct mx_worker, up_opened),
                 offsetof(struct mx_worker, up_closed));
    header(out, "rpxy_upstream_connections_idle", "gauge",
           "Upstream HTTP/1.1 connections idle in the keep-alive pools, by upstream (refreshed "
           "every second).");
    per_upstream(out, "rpxy_upstream_connections_idle", offsetof(struct mx_worker, up_idle), 0);
}

static void certificates(FILE *out)
{
    header(out, "rpxy_certificate_expiry_timestamp_seconds", "gauge",
           "When the certificate served for a server name expires (Unix time).");
    struct tls_sni_table *t = server_acquire_tls();
    for (size_t i = 0; t && i < t->n; i++) {
        X509 *x = SSL_CTX_get0_certificate(t->sites[i].ctx);
        struct tm tm;
        if (!x || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
            continue;
        fputs("rpxy_certificate_expiry_timestamp_seconds{server_name=\"", out);
        label(out, t->sites[i].server_name);
        fprintf(out, "\"} %lld\n", (long long)timegm(&tm));
    }
    if (t)
        sni_table_unref(t);
}

char *metrics_render(size_t *len)
{
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    if (!out)
        return NULL;
    struct runtime *rt = server_acquire_runtime();
    requests(out);
    durations(out);
    connections(out);
    tls(out);
    config(out, rt);
    upstreams(out, rt);
    upstream_pool(out);
    certificates(out);
    if (rt)
        runtime_unref(rt);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
