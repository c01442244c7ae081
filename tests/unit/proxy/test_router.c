/* Routing: host determination (SPEC 4.2), app selection (4.5), path matching
 * (4.6) and replace_path (4.7), with our "paths join cleanly" differences. */
#include <string.h>

#include "../tap.h"
#include "config/config.h"
#include "proxy/router.h"

static const char conf_text[] =
    "listen_port = 8080\n"
    "default_app = \"Fallback\"\n"
    "[apps.site]\n"
    "server_name = \"Example.COM\"\n"
    "[[apps.site.reverse_proxy]]\n" /* the default route, no replace_path */
    "upstream = [{ location = \"root\" }]\n"
    "[[apps.site.reverse_proxy]]\n"
    "path = \"/api\"\n"
    "upstream = [{ location = \"api\" }]\n"
    "[[apps.site.reverse_proxy]]\n"
    "path = \"/maps\"\n"
    "replace_path = \"/replacing/path1\"\n"
    "upstream = [{ location = \"maps\" }]\n"
    "[[apps.site.reverse_proxy]]\n"
    "path = \"/api/v2\"\n" /* written after /api: longest still wins */
    "upstream = [{ location = \"api2\" }]\n"
    "[[apps.site.reverse_proxy]]\n"
    "path = \"/subapp1\"\n"
    "replace_path = \"/\"\n"
    "upstream = [{ location = \"sub\" }]\n"
    "[[apps.site.reverse_proxy]]\n"
    "path = \"/Docs\"\n"
    "upstream = [{ location = \"docs\" }]\n"
    "[[apps.site.reverse_proxy]]\n"
    "path = \"/dir\"\n"
    "replace_path = \"/new/\"\n"
    "upstream = [{ location = \"dir\" }]\n"
    "[apps.fallback]\n"
    "server_name = \"fallback.test\"\n"
    "[[apps.fallback.reverse_proxy]]\n"
    "replace_path = \"/x\"\n"
    "upstream = [{ location = \"fb\" }]\n"
    "[apps.slash]\n"
    "server_name = \"slash.test\"\n"
    "[[apps.slash.reverse_proxy]]\n"
    "path = \"/api/\"\n"
    "replace_path = \"/v1\"\n"
    "upstream = [{ location = \"slash\" }]\n"
    "[apps.root]\n"
    "server_name = \"root.test\"\n"
    "[[apps.root.reverse_proxy]]\n"
    "path = \"/\"\n"
    "replace_path = \"/\"\n"
    "upstream = [{ location = \"r\" }]\n"
    "[apps.ip]\n"
    "server_name = \"127.0.0.1\"\n"
    "[[apps.ip.reverse_proxy]]\n"
    "path = \"/only\"\n"
    "upstream = [{ location = \"ip\" }]\n"
    "[apps.empty]\n"
    "server_name = \"empty.test\"\n"
    "reverse_proxy = []\n";

static struct cfg *load(const char *text)
{
    struct cfg_diags d;
    memset(&d, 0, sizeof(d));
    struct cfg *c = cfg_load_text("t.toml", text, strlen(text), &d);
    if (!c)
        cfg_diags_print(&d, stdout);
    cfg_diags_free(&d);
    return c;
}

/* route_host on NUL-terminated inputs (NULL = absent); returns the status and
 * leaves the name in a static buffer. */
static char host_buf[ROUTE_HOST_MAX];
static int host_of(const char *hdr, const char *authority)
{
    size_t len = 99;
    int rc = route_host(hdr, hdr ? strlen(hdr) : 0, authority, authority ? strlen(authority) : 0,
                        host_buf, sizeof(host_buf), &len);
    if (len != strlen(host_buf))
        return 99;
    return rc;
}

static void test_host(void)
{
    TAP_INT_EQ(host_of("example.com", NULL), ROUTE_HOST_OK, "Host only");
    TAP_STR_EQ(host_buf, "example.com", "Host only: name");
    TAP_INT_EQ(host_of("Example.COM:8080", NULL), ROUTE_HOST_OK, "Host with port");
    TAP_STR_EQ(host_buf, "example.com", "port cut at the first ':' and lower-cased");
    TAP_INT_EQ(host_of(NULL, "WWW.Example.com:443"), ROUTE_HOST_OK, "URI host only");
    TAP_STR_EQ(host_buf, "www.example.com", "URI host: port dropped, lower-cased");
    TAP_INT_EQ(host_of(NULL, "user:pw@example.com:80"), ROUTE_HOST_OK, "URI with userinfo");
    TAP_STR_EQ(host_buf, "example.com", "userinfo ignored");
    TAP_INT_EQ(host_of("[::1]:8080", NULL), ROUTE_HOST_OK, "bracketed v6 with port");
    TAP_STR_EQ(host_buf, "::1", "text inside the brackets");
    TAP_INT_EQ(host_of("[2001:DB8::1]", NULL), ROUTE_HOST_OK, "bracketed v6 without port");
    TAP_STR_EQ(host_buf, "2001:db8::1", "v6 lower-cased");
    TAP_INT_EQ(host_of("[::1", NULL), ROUTE_HOST_OK, "unclosed bracket");
    TAP_STR_EQ(host_buf, "::1", "unclosed bracket: the rest");
    TAP_INT_EQ(host_of("2001:db8::1:80", NULL), ROUTE_HOST_OK, "bare v6");
    TAP_STR_EQ(host_buf, "2001:db8::1:80", "two or more ':' kept as is");
    TAP_INT_EQ(host_of("a:b", NULL), ROUTE_HOST_OK, "one ':'");
    TAP_STR_EQ(host_buf, "a", "one ':' cuts");
    TAP_INT_EQ(host_of("example.com.:80", NULL), ROUTE_HOST_OK, "trailing dot");
    TAP_STR_EQ(host_buf, "example.com.", "trailing dot kept");
    TAP_INT_EQ(host_of("", NULL), ROUTE_HOST_OK, "empty Host");
    TAP_STR_EQ(host_buf, "", "empty Host is the empty name");

    TAP_INT_EQ(host_of("example.com:8080", "example.com"), ROUTE_HOST_OK, "both agree");
    TAP_STR_EQ(host_buf, "example.com", "both agree: name");
    TAP_INT_EQ(host_of("EXAMPLE.com", "example.COM:443"), ROUTE_HOST_OK, "agree but for case");
    TAP_INT_EQ(host_of("::1", "[::1]:443"), ROUTE_HOST_OK, "bare and bracketed v6 agree");
    TAP_STR_EQ(host_buf, "::1", "v6 from both");
    TAP_INT_EQ(host_of("a.test", "b.test"), ROUTE_HOST_MISMATCH, "Host and URI differ -> 400");
    TAP_STR_EQ(host_buf, "", "mismatch leaves the empty name");
    TAP_INT_EQ(host_of("", "a.test"), ROUTE_HOST_MISMATCH, "empty Host vs URI host -> 400");
    TAP_INT_EQ(host_of("example.com.", "example.com"), ROUTE_HOST_MISMATCH,
               "trailing dot differs -> 400");
    TAP_INT_EQ(host_of(NULL, NULL), ROUTE_HOST_MISSING, "neither -> 400");
    TAP_INT_EQ(host_of(NULL, ""), ROUTE_HOST_MISSING, "empty authority is absent");
    TAP_INT_EQ(host_of("x.test", ""), ROUTE_HOST_OK, "empty authority, Host used");

    char big[400];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    TAP_INT_EQ(host_of(big, NULL), ROUTE_HOST_LONG, "name longer than the buffer");
    TAP_STR_EQ(host_buf, "", "long name: the empty name");
    TAP_INT_EQ(host_of(big, "b.test"), ROUTE_HOST_MISMATCH, "long name still compared");

    char small[4];
    size_t len = 0;
    TAP_INT_EQ(route_host("abc", 3, NULL, 0, small, sizeof(small), &len), ROUTE_HOST_OK,
               "fits exactly with the NUL");
    TAP_INT_EQ(route_host("abcd", 4, NULL, 0, small, sizeof(small), &len), ROUTE_HOST_LONG,
               "one byte too long");
}

/* The app chosen for a raw Host header on plaintext or TLS. */
static const char *app_for(const struct route_table *t, const char *hdr, bool tls, bool *fb)
{
    size_t len;
    char buf[ROUTE_HOST_MAX];
    if (route_host(hdr, strlen(hdr), NULL, 0, buf, sizeof(buf), &len) < 0)
        return "(400)";
    const struct route_app *app = route_select_app(t, buf, len, tls, fb);
    return app ? app->cfg->name : "(503)";
}

static void test_apps(const struct route_table *t)
{
    bool fb = true;
    TAP_STR_EQ(app_for(t, "example.com", false, &fb), "site", "exact server_name");
    TAP_OK(!fb, "no fallback for a known host");
    TAP_STR_EQ(app_for(t, "EXAMPLE.Com:8080", false, &fb), "site", "host case-insensitive");
    TAP_STR_EQ(app_for(t, "example.com", true, &fb), "site", "known host over TLS");
    TAP_OK(!fb, "no fallback over TLS");
    TAP_STR_EQ(app_for(t, "nope.test", false, &fb), "fallback", "unknown host -> default_app");
    TAP_OK(fb, "fallback reported");
    fb = true;
    TAP_STR_EQ(app_for(t, "nope.test", true, &fb), "(503)", "unknown host over TLS -> 503");
    TAP_OK(!fb, "no fallback over TLS");
    TAP_STR_EQ(app_for(t, "fallback.test", false, &fb), "fallback", "default app by name");
    TAP_OK(!fb, "named directly: not a fallback");
    TAP_STR_EQ(app_for(t, "example.com.", true, &fb), "(503)", "trailing dot matches no app");
    TAP_STR_EQ(app_for(t, "example.com.", false, &fb), "fallback", "trailing dot: fallback");
    TAP_STR_EQ(app_for(t, "", false, &fb), "fallback", "empty Host: fallback");
    TAP_STR_EQ(app_for(t, "", true, &fb), "(503)", "empty Host over TLS: 503");
    TAP_STR_EQ(app_for(t, "127.0.0.1:8080", true, &fb), "ip", "IPv4 literal server_name");
    TAP_STR_EQ(app_for(t, "[::1]:8080", true, &fb), "(503)", "IPv6 host, no such app");
    TAP_STR_EQ(app_for(t, "[::1]:8080", false, &fb), "fallback", "IPv6 host: fallback");
    TAP_STR_EQ(app_for(t, "slash.test", false, &fb), "slash", "another app");
    TAP_OK(route_app_by_name(t, "Example.com", 11) == NULL, "by_name wants lower case");
    TAP_OK(route_app_by_name(t, "example.co", 10) == NULL, "no prefix match");

    struct cfg *c = load("listen_port = 80\n"
                         "[apps.a]\nserver_name = \"a.test\"\n"
                         "reverse_proxy = [{ upstream = [{ location = \"x\" }] }]\n");
    struct cfg *c2 = load("listen_port = 80\ndefault_app = \"missing\"\n"
                          "[apps.a]\nserver_name = \"a.test\"\n"
                          "reverse_proxy = [{ upstream = [{ location = \"x\" }] }]\n");
    TAP_OK(c && c2, "configs without a usable default_app load");
    if (!c || !c2)
        return;
    struct route_table *t1 = route_table_build(c), *t2 = route_table_build(c2);
    TAP_STR_EQ(app_for(t1, "b.test", false, &fb), "(503)", "no default_app: 503");
    TAP_OK(!fb, "no fallback without default_app");
    TAP_STR_EQ(app_for(t2, "b.test", false, &fb), "(503)", "default_app naming no app: 503");
    TAP_STR_EQ(app_for(t1, "a.test", false, &fb), "a", "known host still found");
    route_table_free(t1);
    route_table_free(t2);
    cfg_free(c);
    cfg_free(c2);
}

static const struct route_app *app_named(const struct route_table *t, const char *name)
{
    return route_app_by_name(t, name, strlen(name));
}

/* The path of the route matching target ("(default)" for the default route,
 * "(404)" when none). */
static const char *match(const struct route_app *app, const char *target)
{
    const struct route *r = route_match(app, target, strlen(target));
    if (!r)
        return "(404)";
    return r->cfg->path ? r->cfg->path : "(default)";
}

static void test_paths(const struct route_table *t)
{
    const struct route_app *site = app_named(t, "example.com");
    TAP_OK(site != NULL, "site found");
    if (!site)
        return;
    TAP_STR_EQ(match(site, "/"), "(default)", "/ -> default route");
    TAP_STR_EQ(match(site, "/api"), "/api", "/api matches /api");
    TAP_STR_EQ(match(site, "/api/"), "/api", "/api matches /api/");
    TAP_STR_EQ(match(site, "/api/x"), "/api", "/api matches /api/x");
    TAP_STR_EQ(match(site, "/api//x"), "/api", "/api matches /api//x");
    TAP_STR_EQ(match(site, "/apix"), "(default)", "/api does not match /apix");
    TAP_STR_EQ(match(site, "/api?x=1"), "/api", "query excluded");
    TAP_STR_EQ(match(site, "/apix?y=/api"), "(default)", "query not part of the path");
    TAP_STR_EQ(match(site, "/api/v2"), "/api/v2", "longest prefix wins");
    TAP_STR_EQ(match(site, "/api/v2/users?id=3"), "/api/v2", "longest prefix wins, deeper");
    TAP_STR_EQ(match(site, "/api/v20"), "/api", "segment boundary for the longer route");
    TAP_STR_EQ(match(site, "/API"), "(default)", "paths are case-sensitive");
    TAP_STR_EQ(match(site, "/Docs/a"), "/Docs", "route with capitals");
    TAP_STR_EQ(match(site, "/docs/a"), "(default)", "case-sensitive the other way");
    TAP_STR_EQ(match(site, "/%61pi"), "(default)", "raw bytes, no percent-decoding");
    TAP_STR_EQ(match(site, ""), "(404)", "CONNECT (empty path) never matches");
    TAP_STR_EQ(match(site, "*"), "(404)", "OPTIONS * never matches");
    TAP_STR_EQ(match(site, "example.com:443"), "(404)", "authority-form never matches");
    TAP_STR_EQ(match(site, "?x"), "(404)", "query without a path");

    const struct route_app *slash = app_named(t, "slash.test");
    TAP_STR_EQ(match(slash, "/api"), "/api/", "/api/ matches /api");
    TAP_STR_EQ(match(slash, "/api/"), "/api/", "/api/ matches /api/");
    TAP_STR_EQ(match(slash, "/api/x"), "/api/", "/api/ matches /api/x (our difference)");
    TAP_STR_EQ(match(slash, "/api//x"), "/api/", "/api/ matches /api//x");
    TAP_STR_EQ(match(slash, "/apix"), "(404)", "/api/ does not match /apix");
    TAP_STR_EQ(match(slash, "/"), "(404)", "no default route: 404");

    const struct route_app *ip = app_named(t, "127.0.0.1");
    TAP_STR_EQ(match(ip, "/only/x"), "/only", "route of an app without default");
    TAP_STR_EQ(match(ip, "/other"), "(404)", "no route -> 404");
    const struct route_app *empty = app_named(t, "empty.test");
    TAP_INT_EQ(empty ? empty->n_routes : 99, 0, "empty reverse_proxy array");
    TAP_STR_EQ(empty ? match(empty, "/") : "", "(404)", "empty app: every path 404");
    const struct route_app *fb = app_named(t, "fallback.test");
    TAP_STR_EQ(match(fb, "/anything/at/all"), "(default)", "default route matches all");
}

static char rw_buf[512];
static const char *rewrite(const struct route_table *t, const char *host, const char *target)
{
    const struct route_app *app = app_named(t, host);
    const struct route *r = app ? route_match(app, target, strlen(target)) : NULL;
    if (!r)
        return "(no route)";
    size_t len = 0;
    if (route_rewrite(r, target, strlen(target), rw_buf, sizeof(rw_buf), &len) != 0)
        return "(too long)";
    if (len != strlen(rw_buf) || len > route_rewrite_max(r, strlen(target)))
        return "(bad length)";
    return rw_buf;
}

static void test_rewrite(const struct route_table *t)
{
    const char *s = "example.com";
    TAP_STR_EQ(rewrite(t, s, "/maps/org/a.ext?x=1"), "/replacing/path1/org/a.ext?x=1",
               "/maps -> /replacing/path1: subpath and query");
    TAP_STR_EQ(rewrite(t, s, "/maps"), "/replacing/path1", "/maps -> /replacing/path1: exact");
    TAP_STR_EQ(rewrite(t, s, "/maps?x"), "/replacing/path1?x", "/maps -> /replacing/path1: query");
    TAP_STR_EQ(rewrite(t, s, "/maps/"), "/replacing/path1/", "trailing slash of the request kept");
    TAP_STR_EQ(rewrite(t, s, "/maps?a=/b"), "/replacing/path1?a=/b", "slash in the query");
    TAP_STR_EQ(rewrite(t, s, "/subapp1/foo"), "/foo", "/subapp1 -> /: no double slash");
    TAP_STR_EQ(rewrite(t, s, "/subapp1"), "/", "/subapp1 -> /: exact");
    TAP_STR_EQ(rewrite(t, s, "/subapp1/"), "/", "/subapp1 -> /: trailing slash");
    TAP_STR_EQ(rewrite(t, s, "/subapp1?q=1"), "/?q=1", "/subapp1 -> /: query");
    TAP_STR_EQ(rewrite(t, s, "/subapp1//foo"), "//foo", "a client's own double slash is kept");
    TAP_STR_EQ(rewrite(t, s, "/dir/a"), "/new/a", "replace with trailing slash: one slash");
    TAP_STR_EQ(rewrite(t, s, "/dir"), "/new/", "replace with trailing slash: exact");
    TAP_STR_EQ(rewrite(t, s, "/dir?q"), "/new/?q", "replace with trailing slash: query");

    const char *fb = "fallback.test";
    TAP_STR_EQ(rewrite(t, fb, "/a"), "/x/a", "default route -> /x: /a joins as /x/a");
    TAP_STR_EQ(rewrite(t, fb, "/"), "/x", "default route -> /x: / is /x");
    TAP_STR_EQ(rewrite(t, fb, "/?q=1"), "/x?q=1", "default route -> /x: query");
    TAP_STR_EQ(rewrite(t, fb, "/a/b?c=d"), "/x/a/b?c=d", "default route -> /x: deeper");
    TAP_STR_EQ(rewrite(t, fb, "//a"), "/x/a", "default route -> /x: //a");

    const char *root = "root.test";
    TAP_STR_EQ(rewrite(t, root, "/a/b?c"), "/a/b?c", "/ -> /: identity");
    TAP_STR_EQ(rewrite(t, root, "/"), "/", "/ -> /: root");
    TAP_STR_EQ(rewrite(t, root, "/?q"), "/?q", "/ -> /: root with query");

    const char *sl = "slash.test";
    TAP_STR_EQ(rewrite(t, sl, "/api/x?y"), "/v1/x?y", "/api/ -> /v1: /api/x");
    TAP_STR_EQ(rewrite(t, sl, "/api"), "/v1", "/api/ -> /v1: /api");
    TAP_STR_EQ(rewrite(t, sl, "/api/"), "/v1/", "/api/ -> /v1: /api/");
    TAP_STR_EQ(rewrite(t, sl, "/api?q"), "/v1?q", "/api/ -> /v1: /api?q");

    TAP_STR_EQ(rewrite(t, s, "/api/x%2Fy?a=1&b"), "/api/x%2Fy?a=1&b",
               "no replace_path: byte for byte");
    TAP_STR_EQ(rewrite(t, s, "/"), "/", "no replace_path: /");
    TAP_STR_EQ(rewrite(t, s, "/a//b/../c?"), "/a//b/../c?", "no normalisation");

    const struct route_app *site = app_named(t, s);
    const struct route *def = route_match(site, "/", 1);
    size_t len = 9;
    char out[32];
    TAP_INT_EQ(route_rewrite(def, "", 0, out, sizeof(out), &len), 0, "empty target");
    TAP_STR_EQ(out, "/", "empty target forwarded as /");
    const struct route *maps = route_match(site, "/maps/abc", 9);
    char tiny[16];
    TAP_INT_EQ(route_rewrite(maps, "/maps/abc", 9, tiny, sizeof(tiny), &len), -1,
               "buffer too small -> -1");
    char fit[21]; /* "/replacing/path1/abc" is 20 bytes + NUL */
    TAP_INT_EQ(route_rewrite(maps, "/maps/abc", 9, fit, sizeof(fit), &len), 0, "exact fit");
    TAP_STR_EQ(fit, "/replacing/path1/abc", "exact fit: text");
}

static void test_ids(const struct route_table *t)
{
    size_t n = route_table_n_routes(t);
    TAP_INT_EQ(n, 11, "every route of every app");
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        const struct route *r = route_table_route(t, i);
        ok &= r->id == i;
        ok &= r >= r->app->routes && r < r->app->routes + r->app->n_routes;
    }
    TAP_OK(ok, "ids are dense and each route points to its app");
    const struct route_app *site = app_named(t, "example.com");
    int sorted = 1;
    for (size_t i = 1; i < site->n_routes; i++)
        sorted &= site->routes[i - 1].prefix_len >= site->routes[i].prefix_len;
    TAP_OK(sorted, "routes of an app: longest prefix first");
}

int main(void)
{
    test_host();
    struct cfg *c = load(conf_text);
    TAP_OK(c != NULL, "test config loads");
    if (!c)
        return tap_done();
    struct route_table *t = route_table_build(c);
    TAP_OK(t != NULL, "table built");
    if (t) {
        test_apps(t);
        test_paths(t);
        test_rewrite(t);
        test_ids(t);
    }
    route_table_free(t);
    cfg_free(c);
    return tap_done();
}
