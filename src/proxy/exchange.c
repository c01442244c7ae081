/* The exchange: admission and routing of a request (SPEC 4.2-4.9), the
 * access and error log, its lifecycle (timeouts, the one safe retry, ending)
 * and the loop that moves bytes between the front-end and the upstream
 * client. Nothing here knows the client's wire format. */
#include "proxy/exchange.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/challenge.h"
#include "config/config.h"
#include "core/worker.h"
#include "http/h1_parser.h"
#include "http/trailer_filter.h"
#include "log/access_json.h"
#include "log/access_line.h"
#include "log/log.h"
#include "log/request_debug.h"
#include "proxy/client_conn.h"
#include "proxy/exchange_cache.h"
#include "proxy/failover.h"
#include "proxy/forwarded.h"
#include "proxy/headers.h"
#include "proxy/router.h"
#include "proxy/runtime.h"
#include "upstream/balance.h"
#include "upstream/cookie.h"
#include "upstream/client.h"
#include "upstream/h2_client.h"
#include "upstream/pool.h"
#include "upstream/sticky.h"

static const char *ex_strdup(struct exchange *ex, const char *s, size_t len, size_t *out_len)
{
    if (!s || ex->strs_len + len + 1 > sizeof(ex->strs)) {
        *out_len = 0;
        return "";
    }
    char *p = ex->strs + ex->strs_len;
    memcpy(p, s, len);
    p[len] = '\0';
    ex->strs_len += len + 1;
    *out_len = len;
    return p;
}

/* ---- access log ---- */

static const enum alog_version alog_versions[] = {
    [HTTP_10] = ALOG_HTTP_10,
    [HTTP_11] = ALOG_HTTP_11,
    [HTTP_20] = ALOG_HTTP_2,
    [HTTP_30] = ALOG_HTTP_3,
};

static void fill_alog(const struct exchange *ex, int status, struct alog_fields *f)
{
    memset(f, 0, sizeof(*f));
    f->host = (struct alog_str){ ex->log.host, ex->log.host_len };
    f->has_client = true;
    f->client_ip = ex->c->peer_ip;
    f->client_port = ex->c->peer_port;
    f->method = (struct alog_str){ ex->log.method, ex->log.method_len };
    f->path_and_query = (struct alog_str){ ex->log.path, ex->log.path_len };
    f->version = alog_versions[ex->version];
    f->status = (unsigned)status;
    f->scheme = (struct alog_str){ ex->log.scheme, ex->log.scheme_len };
    f->user_agent = (struct alog_str){ ex->log.ua, ex->log.ua_len };
    f->xff = (struct alog_str){ ex->log.xff, ex->log.xff_len };
    f->forwarded = (struct alog_str){ ex->log.forwarded, ex->log.forwarded_len };
    f->upstream = (struct alog_str){ ex->log.upstream, ex->log.upstream_len };
}

/* HTTP/1.0 and 1.1 -> MX_HTTP1, 2 -> MX_HTTP2, 3 -> MX_HTTP3 */
static enum mx_proto mx_proto_of(enum http_version v)
{
    return v <= HTTP_11 ? MX_HTTP1 : (enum mx_proto)(v - 1);
}

void exchange_access_log(struct exchange *ex, int status)
{
    ex->logged_status = status;
    if (!log_access_enabled())
        return;
    struct alog_fields f;
    fill_alog(ex, status, &f);
    const struct cfg *cfg = ex->rt ? ex->rt->cfg : NULL;
    bool redact = cfg && cfg->redact_query_in_access_log;
    if (cfg && cfg->access_log_format == CFG_ALOG_JSON)
        alog_json_write(&f, redact);
    else
        alog_write(&f, redact);
}

/* The ERROR line of SPEC 4.11: "<error text>: <access message without status>". */
static void error_log(const struct exchange *ex, const char *text)
{
    struct alog_fields f;
    fill_alog(ex, 0, &f);
    char line[8192];
    bool trunc;
    size_t n = alog_format(&f, ex->rt && ex->rt->cfg->redact_query_in_access_log, line,
                           sizeof(line), &trunc);
    log_error("%s: %.*s", text, (int)n, line);
}

/* ---- lifecycle ---- */

#define EX_CACHE_MAX 256

/* An exchange from the worker's cache (or malloc), cleared up to the
 * buffers at its end, which need no clearing. */
static struct exchange *exchange_alloc(struct worker *w)
{
    struct exchange *ex = w->ex_free;
    if (ex) {
        w->ex_free = ex->next_free;
        w->n_ex_free--;
    } else {
        ex = malloc(sizeof(*ex));
        if (!ex)
            return NULL;
    }
    memset(ex, 0, offsetof(struct exchange, set_cookie));
    return ex;
}

void exchange_cache_drain(struct worker *w)
{
    while (w->ex_free) {
        struct exchange *ex = w->ex_free;
        w->ex_free = ex->next_free;
        free(ex);
    }
    w->n_ex_free = 0;
}

/* Tells the front-end, then recycles ex. */
static void exchange_end(struct exchange *ex, bool ok)
{
    struct worker *w = ex->w;
    if (w->mx.on)
        mx_exchange(&w->mx, ex->route ? ex->route->mx_app : 0, mx_proto_of(ex->version),
                    ex->logged_status, loop_now_ms(w->loop) - ex->started_ms);
    ex->phase = EX_DONE;
    loop_timer_cancel(w->loop, &ex->timer);
    ex->fe->done(ex, ok);
    struct buf *bufs[] = { &ex->up_out, &ex->replay, &ex->up_trailer };
    for (size_t i = 0; i < 3; i++) {
        bufs[i]->len = 0;
        buf_release(bufs[i]);
    }
    if (ex->rt)
        runtime_unref(ex->rt);
    if (w->n_ex_free < EX_CACHE_MAX) {
        ex->next_free = w->ex_free;
        w->ex_free = ex;
        w->n_ex_free++;
    } else {
        free(ex);
    }
}

void exchange_abort(struct exchange *ex, int status, const char *why)
{
    ex->upc->release(ex, false);
    if (status && !ex->resp_started && !ex->c->dead) {
        if (why)
            error_log(ex, why);
        exchange_access_log(ex, status);
        ex->fe->synthetic(ex, status, NULL, 0, true);
    }
    exchange_end(ex, false);
}

static void exchange_finish(struct exchange *ex)
{
    ex->upc->release(ex, ex->upstream_reusable && ex->req_done && ex->upc->idle(ex));
    exchange_end(ex, true);
}

/* A synthetic answer instead of forwarding (SPEC 4.11). */
static void reject(struct exchange *ex, int status, const char *why, bool close_after)
{
    if (why)
        error_log(ex, why);
    exchange_access_log(ex, status);
    ex->fe->synthetic(ex, status, NULL, 0, close_after);
    exchange_end(ex, true);
}

/* ---- starting: the checks of SPEC 4.2 - 4.8 ---- */

static const struct http_field *find_field(const struct http_field *h, size_t n, const char *lower,
                                           size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (name_is(&h[i], lower, len))
            return &h[i];
    return NULL;
}

/* Joins every line of a field with ", " into ex->strs (for the access log). */
static void copy_joined(struct exchange *ex, const struct http_field *h, size_t n,
                        const char *lower, size_t len, const char **out, size_t *out_len)
{
    char tmp[2048];
    size_t used = 0;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!name_is(&h[i], lower, len))
            continue;
        if (any && used + 2 < sizeof(tmp)) {
            memcpy(tmp + used, ", ", 2);
            used += 2;
        }
        size_t take = h[i].value_len;
        if (used + take > sizeof(tmp))
            take = sizeof(tmp) - used;
        memcpy(tmp + used, h[i].value, take);
        used += take;
        any = true;
    }
    *out = ex_strdup(ex, tmp, used, out_len);
}

/* The client-visible scheme of SPEC 5.7 (the sticky cookie's Secure flag). */
static bool client_scheme_is_https(const struct exchange *ex, const struct http_field *hdrs,
                                   size_t n)
{
    const struct cfg *cfg = ex->rt->cfg;
    struct fwd_str xff[16], fwd[16], xfp = { 0 };
    size_t nxff = 0, nfwd = 0;
    bool have_xfp = false;
    for (size_t i = 0; i < n; i++) {
        if (NAME_IS(&hdrs[i], "x-forwarded-for") && nxff < 16)
            xff[nxff++] = (struct fwd_str){ hdrs[i].value, hdrs[i].value_len };
        else if (NAME_IS(&hdrs[i], "forwarded") && nfwd < 16)
            fwd[nfwd++] = (struct fwd_str){ hdrs[i].value, hdrs[i].value_len };
        else if (NAME_IS(&hdrs[i], "x-forwarded-proto") && !have_xfp) {
            xfp = (struct fwd_str){ hdrs[i].value, hdrs[i].value_len };
            have_xfp = true;
        }
    }
    struct fwd_input in = {
        .peer = ex->c->peer_ip,
        .trusted = cfg->trusted_forwarded_proxies,
        .ntrusted = cfg->n_trusted_forwarded_proxies,
        .xff = xff,
        .nxff = nxff,
        .forwarded = fwd,
        .nforwarded = nfwd,
        .xfp = have_xfp ? &xfp : NULL,
        .tls = ex->c->tls,
    };
    return fwd_client_scheme(&in) == FWD_SCHEME_HTTPS;
}

/* Sticky cookie of SPEC 7.4: the upstream from a valid cookie, or a new
 * round-robin pick with a cookie to issue. */
static size_t pick_upstream(struct exchange *ex, const struct http_field *hdrs, size_t n,
                            struct cookie_take_result *ck, char *rest, size_t rest_cap,
                            bool *sticky_used)
{
    struct rt_route *rr = ex->route;
    *sticky_used = false;
    if (rr->route->cfg->load_balance != CFG_LB_STICKY || !rr->sticky)
        return lb_pick(rr->lb, &ex->w->rng);
    *sticky_used = true;
    /* kept for a cookie issued later, when failover leaves the pinned one */
    ex->sticky_secure = client_scheme_is_https(ex, hdrs, n);
    struct cookie_field fields[16];
    size_t nf = 0;
    for (size_t i = 0; i < n && nf < 16; i++)
        if (NAME_IS(&hdrs[i], "cookie"))
            fields[nf++] = (struct cookie_field){ hdrs[i].value, hdrs[i].value_len };
    memset(ck, 0, sizeof(*ck));
    if (nf && cookie_take(fields, nf, STICKY_COOKIE_NAME, rest, rest_cap, ck) < 0)
        ck->found = COOKIE_FOUND_NONE;
    int64_t now = loop_wall_s(ex->w->loop);
    if (ck->found == COOKIE_FOUND_ONE) {
        const char *why;
        long idx = sticky_open(rr->sticky, ck->value, ck->value_len, now, &why);
        if (idx >= 0 && (size_t)idx < rr->n_ups && lb_take(rr->lb, (size_t)idx))
            return (size_t)idx;
    }
    size_t idx = lb_pick(rr->lb, &ex->w->rng);
    if (idx < rr->n_ups)
        exchange_issue_sticky(ex, idx);
    return idx;
}

void exchange_issue_sticky(struct exchange *ex, size_t idx)
{
    struct rt_route *rr = ex->route;
    int64_t now = loop_wall_s(ex->w->loop);
    char token[STICKY_TOKEN_MAX + 1];
    long tl = sticky_seal(rr->sticky, idx, now + STICKY_LIFETIME_S, token, sizeof(token));
    if (tl <= 0)
        return;
    long sl = sticky_set_cookie(rr->sticky, token, (size_t)tl, now + STICKY_LIFETIME_S, now,
                                ex->sticky_secure, ex->set_cookie, sizeof(ex->set_cookie));
    if (sl > 0) {
        ex->set_cookie_len = (size_t)sl;
        ex->issue_cookie = true;
    }
}

/* What the access log needs, copied before the front-end's buffer moves. */
static void copy_log_fields(struct exchange *ex, const struct ex_request *req)
{
    ex->log.method = ex_strdup(ex, req->method, req->method_len, &ex->log.method_len);
    ex->log.path = ex_strdup(ex, req->target, req->target_len, &ex->log.path_len);
    if (req->scheme) {
        ex->log.host = ex_strdup(ex, req->authority, req->authority_len, &ex->log.host_len);
        ex->log.scheme = ex_strdup(ex, req->scheme, req->scheme_len, &ex->log.scheme_len);
    } else if (req->host) {
        ex->log.host = ex_strdup(ex, req->host, req->host_len, &ex->log.host_len);
    }
    const struct http_field *ua = find_field(req->fields, req->n_fields, "user-agent", 10);
    if (ua)
        ex->log.ua = ex_strdup(ex, ua->value, ua->value_len, &ex->log.ua_len);
    copy_joined(ex, req->fields, req->n_fields, "x-forwarded-for", 15, &ex->log.xff,
                &ex->log.xff_len);
    copy_joined(ex, req->fields, req->n_fields, "forwarded", 9, &ex->log.forwarded,
                &ex->log.forwarded_len);
}

void exchange_log_upstream(struct exchange *ex, const char *path, size_t path_len)
{
    if (!log_access_enabled())
        return;
    char upstream_uri[8192 + 400];
    size_t sl = strlen(ex->up->scheme), ul = 0;
    if (sl + 3 + ex->up->authority_len + path_len <= sizeof(upstream_uri)) {
        memcpy(upstream_uri, ex->up->scheme, sl);
        memcpy(upstream_uri + sl, "://", 3);
        memcpy(upstream_uri + sl + 3, ex->up->authority, ex->up->authority_len);
        memcpy(upstream_uri + sl + 3 + ex->up->authority_len, path, path_len);
        ul = sl + 3 + ex->up->authority_len + path_len;
    }
    ex->log.upstream = ex_strdup(ex, upstream_uri, ul, &ex->log.upstream_len);
}

/* 4.5: a plaintext request for an app that redirects to HTTPS. */
static void redirect(struct exchange *ex, const struct cfg_app *ca, const struct ex_request *req)
{
    const struct cfg *cfg = ex->rt->cfg;
    char loc[4096];
    int ln;
    if (cfg->public_https_port > 0 && cfg->public_https_port != 443)
        ln = snprintf(loc, sizeof(loc), "https://%s:%d%.*s", ca->server_name,
                      (int)cfg->public_https_port, (int)req->target_len, req->target);
    else
        ln = snprintf(loc, sizeof(loc), "https://%s%.*s", ca->server_name, (int)req->target_len,
                      req->target);
    exchange_access_log(ex, 301);
    ex->fe->synthetic(ex, 301, loc, ln > 0 && (size_t)ln < sizeof(loc) ? (size_t)ln : 0,
                      !ex->replayable);
    exchange_end(ex, true);
}

#define ACME_HTTP01_PREFIX "/.well-known/acme-challenge/"

/* ACME HTTP-01 (ours, RFC 8555 8.3) on the plaintext listener, before
 * routing and redirects: a pending token gets its key authorization; any
 * other token of that path gets 404 when the host is an http-01 domain.
 * Returns true when the request was answered. */
static bool acme_http01(struct exchange *ex, const struct ex_request *req, const char *host,
                        size_t host_len)
{
    const size_t plen = sizeof(ACME_HTTP01_PREFIX) - 1;
    if (!req->routable || req->target_len <= plen ||
        memcmp(req->target, ACME_HTTP01_PREFIX, plen) != 0)
        return false;
    if (!ex->head_request && !(req->method_len == 3 && memcmp(req->method, "GET", 3) == 0))
        return false;
    const char *token = req->target + plen;
    const char *q = memchr(token, '?', req->target_len - plen);
    size_t token_len = q ? (size_t)(q - token) : req->target_len - plen;
    char key_auth[512], len_text[24];
    long n = acme_challenge_http(token, token_len, key_auth, sizeof(key_auth));
    if (n < 0) {
        bool fallback = false;
        const struct route_app *app =
            route_select_app(ex->rt->table, host, host_len, false, &fallback);
        if (!app || fallback || !app->cfg->tls.acme || !app->cfg->tls.http01)
            return false;
        reject(ex, 404, NULL, !ex->replayable);
        return true;
    }
    int ln = snprintf(len_text, sizeof(len_text), "%ld", n);
    const struct http_field fields[] = {
        { "content-type", 12, "application/octet-stream", 24 },
        { "content-length", 14, len_text, (size_t)ln },
    };
    const struct ex_response res = {
        .status = 200,
        .fields = fields,
        .n_fields = 2,
        .body = EX_BODY_LENGTH,
        .content_length = (uint64_t)n,
    };
    exchange_access_log(ex, 200);
    ex->resp_started = true;
    bool ok = ex->fe->response_head(ex, &res) == 0 &&
              (ex->head_request || ex->fe->response_body(ex, key_auth, (size_t)n) == n);
    if (ok) {
        ex->resp_ended = true;
        ex->fe->response_end(ex, "", 0);
    }
    exchange_end(ex, ok);
    return true;
}

/* SPEC 4.9 step 14: gRPC always and force_http2_upstream go over HTTP/2
 * (prior knowledge on plaintext); an HTTP/2 client's request to a TLS
 * upstream too, unless force_http11_upstream. */
static bool upstream_wants_h2(const struct exchange *ex, const struct ex_request *req)
{
    if (ex->upgrade)
        return false;
    const struct http_field *ct = find_field(req->fields, req->n_fields, "content-type", 12);
    if (ct && ct->value_len >= 16 && strncasecmp(ct->value, "application/grpc", 16) == 0)
        return true;
    unsigned opts = ex->route->route->cfg->upstream_options;
    if (opts & CFG_OPT_FORCE_HTTP2_UPSTREAM)
        return true;
    if (!ex->up->cfg->tls || (opts & CFG_OPT_FORCE_HTTP11_UPSTREAM))
        return false;
    if (req->version == HTTP_20 || req->version == HTTP_30)
        return true; /* SPEC 9.4: HTTP/3 goes on as HTTP/2 to an https upstream */
    /* an upstream that chose h2 by ALPN before gets this request there too */
    struct rt_addrs *addrs = atomic_load_explicit(&ex->up->addrs, memory_order_acquire);
    return addrs && addrs->n &&
           h2c_known(ex->w, (const struct sockaddr *)&addrs->addr[0], addrs->len[0],
                     ex->up->cfg->host);
}

/* 4.7 rewrite, 7 balancing, 4.9 the upstream head; then connects.
 * Returns false when the exchange ended. */
static bool forward(struct exchange *ex, const struct route *route, const struct ex_request *req,
                    bool fallback, const struct cfg_app *ca)
{
    const struct cfg *cfg = ex->rt->cfg;
    char path[8192];
    size_t path_len;
    size_t target_len = req->routable ? req->target_len : 0;
    if (target_len + 1 > sizeof(path) || route_rewrite_max(route, target_len) + 1 > sizeof(path) ||
        route_rewrite(route, req->target, target_len, path, sizeof(path), &path_len) < 0) {
        reject(ex, 500, "Failed to generate upstream request for backend application: path", true);
        return false;
    }
    struct cookie_take_result ck;
    char cookie_rest[8192];
    bool sticky_used;
    size_t n = req->n_fields;
    ex->up_index =
        pick_upstream(ex, req->fields, n, &ck, cookie_rest, sizeof(cookie_rest), &sticky_used);
    if (ex->up_index >= ex->route->n_ups) {
        reject(ex, 502, "Failed to get response from backend: every upstream is marked down",
               !ex->replayable);
        return false;
    }
    ex->up = &ex->route->ups[ex->up_index];

    const char *uri_host = NULL;
    size_t uri_host_len = 0;
    if (req->authority) {
        uri_host = req->authority;
        const char *colon = memchr(req->authority, ':', req->authority_len);
        uri_host_len = colon && req->authority[0] != '[' ? (size_t)(colon - req->authority)
                                                         : req->authority_len;
    }
    const char *auth_host = req->scheme ? req->authority : req->host;
    size_t auth_host_len = req->scheme ? req->authority_len : req->host_len;
    static _Thread_local struct upreq_output uo;
    struct upreq_input ui = {
        .cfg = cfg,
        .route = route,
        .up = ex->up,
        .method = req->method,
        .method_len = req->method_len,
        .upstream_path = path,
        .upstream_path_len = path_len,
        .original_uri = req->original_uri,
        .original_uri_len = req->original_uri_len,
        .uri_host = uri_host,
        .uri_host_len = uri_host_len,
        .authoritative_host = auth_host,
        .authoritative_host_len = auth_host ? auth_host_len : 0,
        .forced_host = fallback ? ca->server_name : NULL,
        .peer = ex->c->peer_ip,
        .local_port = ex->c->local_port,
        .tls = ex->c->tls,
        .upgrade = ex->upgrade,
        .body = ex->req_body == EX_BODY_STREAM   ? H1_BODY_CHUNKED
                : ex->req_body == EX_BODY_LENGTH ? H1_BODY_LENGTH
                                                 : H1_BODY_NONE,
        .content_length = req->content_length,
        .fields = req->fields,
        .n_fields = n,
        .sticky_cookie_rest = sticky_used && ck.found != COOKIE_FOUND_NONE ? cookie_rest : NULL,
        .sticky_cookie_rest_len = ck.rest_len,
        .sticky_strip_cookie = sticky_used && ck.found != COOKIE_FOUND_NONE && ck.rest_len == 0,
    };
    if (upreq_build(&ui, &ex->up_out, &uo) < 0) {
        reject(ex, 500, "Failed to generate upstream request for backend application: head", true);
        return false;
    }
    if (uo.warnings)
        log_warn("%s", uo.why ? uo.why : fwd_warning_text(uo.warnings & -uo.warnings));
    ex->log.xff = ex_strdup(ex, uo.xff, uo.xff_len, &ex->log.xff_len);
    exchange_log_upstream(ex, path, path_len);
    ex->head_len = ex->up_out.len;
    ex->upc = upstream_wants_h2(ex, req) ? &h2_client : &h1_client;
    if (ex->rt->cache) {
        int r = excache_begin(ex, req, client_scheme_is_https(ex, req->fields, n), auth_host,
                              auth_host ? auth_host_len : 0);
        if (r < 0)
            reject(ex, 504, NULL, !ex->replayable);
        if (r != 0)
            return r > 0;
    }
    request_debug_log(ex->up->scheme, ex->up->authority, ex->up->authority_len, path, path_len,
                      ex->upc == &h2_client ? "HTTP/2.0" : "HTTP/1.1", buf_data(&ex->up_out),
                      ex->head_len);
    errno = 0;
    if (ex->upc->attach(ex, false) < 0 && !failover_connect_failed(ex, NULL)) {
        reject(ex, 502, "Failed to get response from backend: cannot connect", !ex->replayable);
        return false;
    }
    return true;
}

void exchange_start(struct client *c, const struct ex_front *fe, void *stream,
                    const struct ex_request *req, struct exchange **out)
{
    *out = NULL;
    struct exchange *ex = exchange_alloc(c->w);
    if (!ex) {
        struct exchange tmp = { .c = c, .fe = fe, .stream = stream };
        fe->synthetic(&tmp, 503, NULL, 0, true);
        fe->done(&tmp, false);
        return;
    }
    ex->w = c->w;
    ex->upc = &h1_client;
    ex->c = c;
    ex->fe = fe;
    ex->stream = stream;
    ex->rt = c->w->rt;
    runtime_ref(ex->rt);
    ex->version = req->version;
    if (c->w->mx.on)
        ex->started_ms = loop_now_ms(c->w->loop);
    const struct cfg *cfg = ex->rt->cfg;
    copy_log_fields(ex, req);

    ex->head_request = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
    ex->body_limit = cfg->request_max_body_size;
    ex->req_body = req->body;
    if (req->body == EX_BODY_LENGTH && req->content_length == 0 && !req->content_length_field)
        ex->req_body = EX_BODY_NONE;
    ex->req_remaining = req->body == EX_BODY_LENGTH ? req->content_length : 0;
    ex->req_done =
        ex->req_body == EX_BODY_NONE || (ex->req_body == EX_BODY_LENGTH && ex->req_remaining == 0);
    ex->replayable = ex->req_done;

    /* 4.2 host */
    char host[ROUTE_HOST_MAX];
    size_t host_len = 0;
    if (route_host(req->host, req->host_len, req->authority, req->authority_len, host, sizeof(host),
                   &host_len) < 0) {
        reject(ex, 400, "Invalid host in request header", !ex->replayable);
        return;
    }
    if (!c->tls && cfg->acme.any_http01 && acme_http01(ex, req, host, host_len))
        return;
    /* 4.3 SNI and Host consistency */
    const char *sni = client_sni(c);
    if (sni && !cfg->ignore_sni_consistency &&
        (strlen(sni) != host_len || memcmp(sni, host, host_len) != 0)) {
        reject(ex, 421, "SNI and Host header mismatch", !ex->replayable);
        return;
    }
    /* 4.4 Content-Length pre-flight: after the host checks, before the app (so
     * unknown hosts and redirecting apps get 413 too) */
    if (ex->body_limit && req->body == EX_BODY_LENGTH && req->content_length > ex->body_limit) {
        reject(ex, 413, "Request body exceeds configured maximum size", true);
        return;
    }
    /* 4.5 app, default_app, redirect */
    bool fallback = false;
    const struct route_app *app =
        route_select_app(ex->rt->table, host, host_len, c->tls, &fallback);
    if (!app) {
        reject(ex, 503, "No matching backend app", !ex->replayable);
        return;
    }
    const struct cfg_app *ca = app->cfg;
    if (!c->tls && ca->tls.enabled && ca->tls.https_redirection) {
        redirect(ex, ca, req);
        return;
    }
    /* 4.6 path */
    const struct route *route = route_match(app, req->target, req->routable ? req->target_len : 0);
    if (!route) {
        reject(ex, 404, "No upstream candidates", !ex->replayable);
        return;
    }
    ex->route = &ex->rt->routes[route->id];
    /* 4.8 upgrade. h2c is never tunnelled (ours): the client would speak
     * HTTP/2 straight to the upstream, past routing and the header policy
     * ("h2c smuggling"); the request goes on as plain HTTP/1.1. */
    ex->upgrade = req->upgrade;
    const struct http_field *upg =
        ex->upgrade ? find_field(req->fields, req->n_fields, "upgrade", 7) : NULL;
    if (upg && list_has_token(upg->value, upg->value_len, "h2c", 3)) {
        log_debug("Upgrade to h2c is not tunnelled: forwarding a plain request");
        ex->upgrade = false;
        upg = NULL;
    }
    if (upg)
        ex->upgrade_value = ex_strdup(ex, upg->value, upg->value_len, &ex->upgrade_value_len);
    if (ex->upgrade && req->version != HTTP_11) {
        reject(ex, 500, "Failed to upgrade connection: upgrade requires HTTP/1.1", true);
        return;
    }
    if (req->expect_other) {
        reject(ex, 417, NULL, true);
        return;
    }
    ex->resp_req_flags = (ex->head_request ? H1_REQ_HEAD : 0) | (ex->upgrade ? H1_REQ_UPGRADE : 0);
    if (!forward(ex, route, req, fallback, ca))
        return;
    if (req->expect_continue && !ex->req_done)
        fe->continue_100(ex);
    *out = ex;
}

/* ---- the upstream side's calls back ---- */

static void on_timeout(struct loop *loop, struct loop_timer *t)
{
    struct exchange *ex = container_of(t, struct exchange, timer);
    struct client *c = ex->c;
    static const char connect_timeout[] = "Failed to get response from backend: connect timeout";
    if (ex->phase == EX_CONNECTING && ex->upc->unsent && ex->upc->unsent(ex) &&
        failover_connect_failed(ex, connect_timeout))
        ex->fe->kick(ex);
    else if (ex->phase == EX_CONNECTING)
        exchange_abort(ex, 504, connect_timeout);
    else if (!ex->resp_started)
        exchange_abort(ex, 504, "Failed to get response from backend: response timeout");
    else
        exchange_abort(ex, 0, NULL);
    client_drive(c);
}

void exchange_arm_timer(struct exchange *ex, bool connecting)
{
    const struct cfg *cfg = ex->rt->cfg;
    uint64_t ms = connecting ? failover_connect_ms(ex) : cfg->upstream_response_timeout_s * 1000;
    loop_timer_set(ex->w->loop, &ex->timer, ms, on_timeout);
}

static bool idempotent(const struct exchange *ex)
{
    static const char *const methods[] = { "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (ex->log.method_len == strlen(methods[i]) &&
            memcmp(ex->log.method, methods[i], ex->log.method_len) == 0)
            return true;
    return false;
}

/* Retries once when a connection failed before any response byte: a reused
 * one on a fresh connection (SPEC-conform safe retry; when that connect
 * fails, failover takes it elsewhere), a fresh one with an idempotent
 * request without body on another upstream (ours). Returns true when
 * retrying. */
static bool maybe_retry(struct exchange *ex, const char *why)
{
    if (ex->resp_started)
        return false;
    bool reused = ex->upc->reused(ex);
    if (reused ? ex->retried
               : ex->resent || !idempotent(ex) || !ex->replayable || ex->route->n_ups < 2)
        return false;
    if (!ex->upc->rewind(ex))
        return false;
    if (!reused) {
        ex->resent = true;
        return failover_resend_elsewhere(ex, why);
    }
    ex->retried = true;
    ex->upc->release(ex, false);
    errno = 0;
    return ex->upc->attach(ex, true) == 0 || failover_connect_failed(ex, NULL);
}

bool exchange_upstream_failed(struct exchange *ex, const char *why)
{
    if (!ex->resp_started && ex->upc->unsent && ex->upc->unsent(ex) &&
        failover_connect_failed(ex, why))
        return false;
    if (ex->uc || ex->h2s) {
        if (maybe_retry(ex, why))
            return false;
    }
    exchange_abort(ex, ex->resp_started ? 0 : 502, why);
    return true;
}

size_t exchange_resp_fields(const struct exchange *ex, const struct http_field *fields, size_t n,
                            bool drop_content_length, struct http_field *out, size_t cap,
                            bool *has_date)
{
    size_t k = resp_policy(n ? fields : NULL, n, drop_content_length,
                           ex->issue_cookie ? ex->set_cookie : NULL, ex->set_cookie_len, out,
                           cap - 1, has_date);
    if (ex->c->tls && ex->rt->alt_svc_len)
        out[k++] = (struct http_field){ "alt-svc", 7, ex->rt->alt_svc, ex->rt->alt_svc_len };
    return k;
}

void exchange_interim(struct exchange *ex, int status, const struct http_field *fields, size_t n)
{
    if (status == 100 || status == 101 || status < 100 || status > 199 || ex->resp_started)
        return;
    struct http_field out[100];
    bool has_date;
    size_t k = resp_policy(n ? fields : NULL, n, false, NULL, 0, out, 100, &has_date);
    ex->fe->interim(ex, status, k ? out : NULL, k);
}

/* ---- request body from the front-end ---- */

bool exchange_request_room(const struct exchange *ex)
{
    return ex->up_out.len < BUF_BLOCK;
}

long exchange_request_body(struct exchange *ex, const char *p, size_t n)
{
    if (ex->phase == EX_TUNNEL)
        return ex->upc->send(ex, p, n, NULL);
    if (ex->req_body == EX_BODY_STREAM) {
        if (!exchange_request_room(ex))
            return 0;
        /* what up_out can still hold with its chunk framing */
        size_t cap = BUF_MAX - ex->up_out.len - 64;
        if (n > cap)
            n = cap;
        if (ex->body_limit && ex->req_body_seen + n > ex->body_limit) {
            log_error("Request body exceeded limit: received %llu bytes, maximum allowed %llu",
                      (unsigned long long)(ex->req_body_seen + n),
                      (unsigned long long)ex->body_limit);
            exchange_abort(ex, 502, NULL);
            return -1;
        }
        ex->req_body_seen += n;
        if (ex->upc->queue_body(ex, p, n) < 0) {
            exchange_abort(ex, 502, NULL);
            return -1;
        }
        return ex->upc->send(ex, NULL, 0, NULL) < 0 ? -1 : (long)n;
    }
    if (n > ex->req_remaining)
        n = (size_t)ex->req_remaining;
    long w = ex->upc->send(ex, p, n, NULL);
    if (w > 0) {
        ex->req_remaining -= (uint64_t)w;
        ex->req_body_seen += (uint64_t)w;
    }
    return w;
}

/* The front ends and upstream clients cap trailer sections at 8 KiB; a
 * larger one loses every field. */
#define EX_TRAILER_MAX 16384

static size_t filter_trailer(const char *trailer, size_t len, char *kept, const char *whose)
{
    size_t dropped = 0,
           n = len <= EX_TRAILER_MAX ? trailer_filter(trailer, len, kept, &dropped) : 0;
    if (len > EX_TRAILER_MAX || dropped)
        log_debug("Dropped %zu field(s) not allowed in a trailer from the %s",
                  dropped ? dropped : 1, whose);
    return n;
}

int exchange_request_end(struct exchange *ex, const char *trailer, size_t trailer_len)
{
    if (ex->req_done)
        return 0;
    ex->req_done = true;
    if (ex->phase == EX_TUNNEL) {
        ex->upc->shutdown_write(ex);
        return 0;
    }
    char kept[EX_TRAILER_MAX];
    if (trailer_len)
        trailer_len = filter_trailer(trailer, trailer_len, kept, "client");
    if (ex->req_body == EX_BODY_STREAM && ex->upc->queue_end(ex, kept, trailer_len) < 0) {
        exchange_abort(ex, 502, NULL);
        return -1;
    }
    return ex->upc->send(ex, NULL, 0, NULL) < 0 ? -1 : 0;
}

void exchange_response_end(struct exchange *ex, const char *trailer, size_t trailer_len)
{
    char kept[EX_TRAILER_MAX];
    if (trailer_len)
        trailer_len = filter_trailer(trailer, trailer_len, kept, "upstream");
    ex->fe->response_end(ex, kept, trailer_len);
}

/* ---- moving bytes ---- */

void exchange_drive(struct exchange *ex)
{
    struct client *c = ex->c;
    const struct ex_front *fe = ex->fe;
    for (int rounds = 0; rounds < 64; rounds++) {
        int r = ex->upc->check_connected(ex);
        if (r < 0)
            return;
        bool progress = r > 0;
        r = fe->pump_request(ex);
        if (r < 0)
            return;
        progress |= r > 0;
        bool sent = false;
        if (ex->upc->send(ex, NULL, 0, &sent) < 0)
            return;
        progress |= sent;
        r = ex->upc->pump_response(ex);
        if (r < 0)
            return;
        progress |= r > 0;
        if (ex->resp_ended && !fe->response_pending(ex) &&
            (ex->phase != EX_TUNNEL || ex->req_done)) {
            if (!ex->req_done)
                ex->upstream_reusable = false;
            exchange_finish(ex);
            return;
        }
        if (!progress)
            return;
    }
    /* fairness: let other connections run, then continue in this pass */
    client_redrive_later(c);
}
