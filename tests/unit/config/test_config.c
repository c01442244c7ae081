/* The typed snapshot: defaults, parsed values and derived fields. Error
 * texts and positions are covered end to end in tests/integration. */
#include <string.h>

#include "../tap.h"
#include "config/config.h"

static struct cfg *load(const char *text, struct cfg_diags *d)
{
    memset(d, 0, sizeof(*d));
    return cfg_load_text("t.toml", text, strlen(text), d);
}

static void test_defaults(void)
{
    struct cfg_diags d;
    struct cfg *c = load("listen_port = 8080\n"
                         "[apps.Site]\nserver_name = \"Example.COM\"\n"
                         "reverse_proxy = [{ upstream = [{ location = \"backend\" }] }]\n",
                         &d);
    TAP_OK(c != NULL, "minimal config loads");
    if (!c)
        return;
    TAP_INT_EQ(d.n, 0, "no diagnostics");
    TAP_INT_EQ(c->listen_port, 8080, "listen_port");
    TAP_INT_EQ(c->listen_port_tls, -1, "listen_port_tls unset");
    TAP_INT_EQ(c->public_https_port, -1, "no public https port without TLS");
    TAP_INT_EQ(c->n_listen_v4, 1, "one default v4 address");
    TAP_INT_EQ(c->listen_v4[0].family, 4, "0.0.0.0 is v4");
    TAP_INT_EQ(c->n_listen_v6, 0, "no v6 by default");
    TAP_INT_EQ(c->tcp_listen_backlog, 1024, "backlog default");
    TAP_INT_EQ(c->max_concurrent_streams, 64, "max_concurrent_streams default is 64");
    TAP_INT_EQ(c->max_clients, 512, "max_clients default");
    TAP_INT_EQ(c->max_clients_per_ip, 0, "max_clients_per_ip default off");
    TAP_INT_EQ(c->worker_threads, 0, "worker_threads default");
    TAP_INT_EQ(c->request_max_body_size, 268435456, "256 MiB body limit");
    TAP_OK(!c->redact_query_in_access_log, "redaction off");
    TAP_INT_EQ(c->access_log_format, CFG_ALOG_RPXY, "access_log_format default rpxy");
    TAP_OK(!c->ignore_sni_consistency, "sni consistency on");
    TAP_INT_EQ(c->connection_handling_timeout_s, 0, "no connection timeout");
    TAP_OK(!c->h3.enabled && !c->cache.enabled && !c->acme.enabled && !c->proxy_protocol.enabled,
           "experimental features off");
    TAP_INT_EQ(c->h3.alt_svc_max_age, 3600, "h3 defaults still filled");
    TAP_STR_EQ(c->cache.cache_dir, "./cache", "cache_dir default");
    TAP_INT_EQ(c->n_apps, 1, "one app");
    TAP_STR_EQ(c->apps[0].name, "site", "app name lower-cased");
    TAP_STR_EQ(c->apps[0].server_name, "example.com", "server_name lower-cased");
    TAP_OK(!c->apps[0].tls.enabled, "no tls");
    TAP_INT_EQ(c->apps[0].n_routes, 1, "one route");
    const struct cfg_route *r = &c->apps[0].routes[0];
    TAP_OK(r->path == NULL, "default route has no path");
    TAP_INT_EQ(r->load_balance, CFG_LB_NONE, "load_balance none");
    TAP_INT_EQ(r->upstream_options, 0, "no options");
    TAP_OK(!r->health_check.enabled, "no health check");
    TAP_STR_EQ(r->upstreams[0].host, "backend", "upstream host");
    TAP_INT_EQ(r->upstreams[0].port, 80, "http default port");
    TAP_OK(!r->upstreams[0].port_given, "port not written");
    cfg_free(c);
    cfg_diags_free(&d);
}

static void test_values(void)
{
    struct cfg_diags d;
    struct cfg *c =
        load("listen_port = 80\nlisten_port_tls = 443\npublic_https_port = 8443\n"
             "listen_address_v4 = [\"127.0.0.1\", \"127.0.0.1\", \"10.0.0.1\"]\n"
             "listen_address_v6 = \"[::1]\"\n"
             "sticky_cookie_secret = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"\n"
             "trusted_forwarded_proxies = [\"10.0.0.0/8\", \" CloudFront \", \"10.0.0.0/8\"]\n"
             "request_max_body_size = \" 64 k \"\n"
             "default_app = \"WEB\"\n"
             "[apps.web]\nserver_name = \"web.test\"\n"
             "tls = { tls_cert_path = \"c.pem\", tls_cert_key_path = \"k.pem\", "
             "client_ca_cert_path = \"ca.pem\" }\n"
             "[[apps.web.reverse_proxy]]\npath = \"/api\"\nreplace_path = \"/\"\n"
             "upstream = [{ location = \"[2001:DB8::1]:8443\", tls = true }, { location = "
             "\"Svc.internal\", tls = true }]\n"
             "load_balance = \"sticky\"\n"
             "upstream_options = [\"set_upstream_host\", \"forwarded_header\"]\n"
             "health_check = { type = \"http\", path = \"/hz\", interval = 3, timeout = 1 }\n"
             "[[apps.web.reverse_proxy]]\nupstream = [{ location = \"127.0.0.1:1\" }]\n"
             "health_check = true\n"
             "[experimental]\nconnection_handling_timeout = 30\n"
             "[experimental.cache]\nmax_cache_each_size_on_memory = 0\n"
             "[experimental.tcp_recv_proxy_protocol]\ntrusted_proxies = [\"::1/128\"]\n",
             &d);
    TAP_OK(c != NULL, "full config loads");
    if (!c) {
        cfg_diags_print(&d, stdout);
        return;
    }
    TAP_INT_EQ(c->public_https_port, 8443, "public https port");
    TAP_INT_EQ(c->n_listen_v4, 2, "duplicate v4 merged");
    TAP_INT_EQ(c->n_listen_v6, 1, "bracketed v6 accepted");
    TAP_OK(c->listen_ipv6, "v6 list enables IPv6");
    TAP_OK(c->has_sticky_secret, "secret decoded");
    TAP_INT_EQ(c->sticky_secret[0], 0, "secret byte 0");
    TAP_INT_EQ(c->sticky_secret[31], 31, "secret byte 31");
    TAP_OK(c->n_trusted_forwarded_proxies > 2, "alias expanded");
    TAP_INT_EQ(c->trusted_forwarded_proxies[0].prefix, 8, "first CIDR kept first");
    TAP_INT_EQ(c->request_max_body_size, 65536, "64 k");
    TAP_OK(c->default_app_ref == &c->apps[0], "default_app matched case-insensitively");
    const struct cfg_app *a = &c->apps[0];
    TAP_OK(a->tls.enabled && a->tls.https_redirection && !a->tls.https_redirection_given,
           "tls with default redirection");
    TAP_STR_EQ(a->tls.client_ca_cert_path, "ca.pem", "client CA");
    const struct cfg_route *r = &a->routes[0];
    TAP_STR_EQ(r->path, "/api", "path");
    TAP_STR_EQ(r->replace_path, "/", "replace_path");
    TAP_INT_EQ(r->load_balance, CFG_LB_STICKY, "sticky");
    TAP_INT_EQ(r->upstream_options, CFG_OPT_SET_UPSTREAM_HOST | CFG_OPT_FORWARDED_HEADER,
               "options");
    TAP_STR_EQ(r->upstreams[0].host, "2001:db8::1", "v6 upstream host");
    TAP_INT_EQ(r->upstreams[0].port, 8443, "v6 upstream port");
    TAP_STR_EQ(r->upstreams[1].host, "svc.internal", "host lower-cased");
    TAP_INT_EQ(r->upstreams[1].port, 443, "tls default port");
    TAP_OK(r->health_check.enabled && r->health_check.type == CFG_HEALTH_HTTP, "http health check");
    TAP_INT_EQ(r->health_check.interval_s, 3, "interval");
    TAP_INT_EQ(r->health_check.unhealthy_threshold, 3, "threshold default");
    TAP_INT_EQ(r->health_check.expected_status, 200, "expected status default");
    const struct cfg_route *r2 = &a->routes[1];
    TAP_OK(r2->health_check.enabled && r2->health_check.type == CFG_HEALTH_TCP,
           "health_check = true is tcp");
    TAP_INT_EQ(r2->health_check.timeout_s, 5, "tcp defaults");
    TAP_INT_EQ(c->connection_handling_timeout_s, 30, "connection timeout");
    TAP_OK(c->cache.enabled, "cache on");
    TAP_INT_EQ(c->cache.max_cache_each_size_on_memory, 0, "always file");
    TAP_OK(c->proxy_protocol.enabled, "proxy protocol on");
    TAP_INT_EQ(c->proxy_protocol.timeout_ms, 50, "pp timeout default");
    TAP_INT_EQ(c->proxy_protocol.n_trusted_proxies, 1, "pp trusted");
    cfg_free(c);
    cfg_diags_free(&d);
}

static void test_listen_ipv6_and_body_forms(void)
{
    struct cfg_diags d;
    struct cfg *c = load("listen_port_tls = 443\nlisten_ipv6 = true\n"
                         "request_max_body_size = \"2G\"\n"
                         "[apps.a]\nserver_name = \"192.0.2.1\"\n"
                         "tls = { acme = true }\nreverse_proxy = []\n"
                         "[experimental.acme]\nemail = \"ops@example.com\"\n",
                         &d);
    TAP_OK(c != NULL, "tls-only acme config loads");
    if (!c)
        return;
    TAP_INT_EQ(c->n_listen_v6, 1, "listen_ipv6 adds ::");
    TAP_INT_EQ(c->public_https_port, 443, "public port defaults to TLS port");
    TAP_INT_EQ(c->request_max_body_size, 2ull << 30, "2G");
    TAP_STR_EQ(c->apps[0].server_name, "192.0.2.1", "IPv4 literal server_name passes");
    TAP_INT_EQ(c->apps[0].n_routes, 0, "empty reverse_proxy accepted");
    TAP_STR_EQ(c->acme.dir_url, "https://acme-v02.api.letsencrypt.org/directory", "dir_url");
    TAP_STR_EQ(c->acme.registry_path, "./acme_registry", "registry_path");
    cfg_free(c);
    cfg_diags_free(&d);
}

static void test_many_errors_collected(void)
{
    struct cfg_diags d;
    struct cfg *c = load("listen_port = true\nmax_clients = -5\nbogus = 1\n", &d);
    TAP_OK(c == NULL, "invalid config rejected");
    TAP_INT_EQ(d.n_errors, 4, "type, range, unknown key and missing apps all reported");
    cfg_diags_free(&d);
}

static void test_access_log_format(void)
{
    static const char apps[] = "[apps.a]\nserver_name = \"a.test\"\n"
                               "reverse_proxy = [{ upstream = [{ location = \"b\" }] }]\n";
    char text[512];
    struct cfg_diags d;
    struct cfg *c;

    snprintf(text, sizeof text, "listen_port = 80\naccess_log_format = \"json\"\n%s", apps);
    c = load(text, &d);
    TAP_OK(c && c->access_log_format == CFG_ALOG_JSON, "access_log_format = \"json\"");
    cfg_free(c);
    cfg_diags_free(&d);
    snprintf(text, sizeof text, "listen_port = 80\naccess_log_format = \"rpxy\"\n%s", apps);
    c = load(text, &d);
    TAP_OK(c && c->access_log_format == CFG_ALOG_RPXY, "access_log_format = \"rpxy\"");
    cfg_free(c);
    cfg_diags_free(&d);
    snprintf(text, sizeof text, "listen_port = 80\naccess_log_format = \"JSON\"\n%s", apps);
    c = load(text, &d);
    TAP_OK(c == NULL && d.n_errors == 1, "access_log_format = \"JSON\": an error (case matters)");
    cfg_diags_free(&d);
    snprintf(text, sizeof text, "listen_port = 80\naccess_log_format = 1\n%s", apps);
    c = load(text, &d);
    TAP_OK(c == NULL && d.n_errors == 1, "access_log_format = 1: a type error");
    cfg_diags_free(&d);
}

int main(void)
{
    test_defaults();
    test_values();
    test_listen_ipv6_and_body_forms();
    test_many_errors_collected();
    test_access_log_format();
    return tap_done();
}
