#include "config/summary.h"

#include <string.h>

static const char *const option_names[] = {
    "keep_original_host",    "set_upstream_host",    "upgrade_insecure_requests",
    "force_http11_upstream", "force_http2_upstream", "forwarded_header",
};

static void print_listeners(const struct cfg *c, FILE *out, int port, const char *proto)
{
    char text[46];
    for (size_t i = 0; i < c->n_listen_v4; i++) {
        ip_format(&c->listen_v4[i], text);
        fprintf(out, "  %-5s %s:%d\n", proto, text, port);
    }
    for (size_t i = 0; i < c->n_listen_v6; i++) {
        ip_format(&c->listen_v6[i], text);
        fprintf(out, "  %-5s [%s]:%d\n", proto, text, port);
    }
}

static void print_route(const struct cfg_route *r, FILE *out)
{
    fprintf(out, "    route %s", r->path ? r->path : "/ (default)");
    if (r->replace_path)
        fprintf(out, " -> replace_path %s", r->replace_path);
    fprintf(out, "  [load_balance %s", cfg_lb_name(r->load_balance));
    if (r->health_check.enabled)
        fprintf(out, ", health_check %s every %llus",
                r->health_check.type == CFG_HEALTH_HTTP ? "http" : "tcp",
                (unsigned long long)r->health_check.interval_s);
    for (size_t i = 0; i < sizeof(option_names) / sizeof(option_names[0]); i++)
        if (r->upstream_options & (1u << i))
            fprintf(out, ", %s", option_names[i]);
    fputs("]\n", out);
    for (size_t i = 0; i < r->n_upstreams; i++) {
        const struct cfg_upstream *u = &r->upstreams[i];
        fprintf(out, "      upstream %s://%s%s%s:%u\n", u->tls ? "https" : "http",
                strchr(u->host, ':') ? "[" : "", u->host, strchr(u->host, ':') ? "]" : "",
                (unsigned)u->port);
    }
}

void cfg_print_summary(const struct cfg *c, FILE *out)
{
    fputs("listeners:\n", out);
    if (c->listen_port >= 0)
        print_listeners(c, out, c->listen_port, "http");
    if (c->listen_port_tls >= 0) {
        print_listeners(c, out, c->listen_port_tls, "https");
        if (c->h3.enabled)
            print_listeners(c, out, c->listen_port_tls, "h3");
    }
    fprintf(out, "apps: %zu\n", c->n_apps);
    for (size_t i = 0; i < c->n_apps; i++) {
        const struct cfg_app *a = &c->apps[i];
        fprintf(out, "  app %s: server_name %s", a->name, a->server_name);
        if (a->tls.enabled) {
            fputs(", tls", out);
            if (a->tls.acme)
                fputs(a->tls.http01 ? " (acme, http-01)" : " (acme)", out);
            if (a->tls.client_ca_cert_path)
                fputs(", mutual tls", out);
            if (c->listen_port >= 0 && a->tls.https_redirection)
                fputs(", http redirects to https", out);
        }
        if (c->default_app_ref == a)
            fputs(", default app for plaintext", out);
        fputc('\n', out);
        for (size_t j = 0; j < a->n_routes; j++)
            print_route(&a->routes[j], out);
    }
    if (c->request_max_body_size)
        fprintf(out, "request_max_body_size: %llu bytes\n",
                (unsigned long long)c->request_max_body_size);
    else
        fputs("request_max_body_size: unlimited\n", out);
    fprintf(out, "max_clients: %u", c->max_clients);
    if (c->max_clients_per_ip)
        fprintf(out, ", per ip: %u", c->max_clients_per_ip);
    fputc('\n', out);
    if (c->cache.enabled)
        fprintf(out, "cache: %s, %llu entries\n", c->cache.cache_dir,
                (unsigned long long)c->cache.max_cache_entry);
    if (c->proxy_protocol.enabled)
        fprintf(out, "PROXY protocol: required from %zu trusted network(s)\n",
                c->proxy_protocol.n_trusted_proxies);
    if (c->n_trusted_forwarded_proxies)
        fprintf(out, "trusted forwarded proxies: %zu network(s)\n", c->n_trusted_forwarded_proxies);
}
