/* Proxying one request: routing and admission (SPEC 4.1-4.8), the upstream
 * connection, both bodies with back-pressure, the response head, upgrades
 * (tunnel after 101), timeouts and the one safe retry. */
#include "proxy/exchange.h"

#include "proxy/client_tls.h"
#include "tls/client.h"
#include "tls/group_name.h"
#include <openssl/err.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config/config.h"
#include "core/worker.h"
#include "log/access_line.h"
#include "log/log.h"
#include "proxy/forwarded.h"
#include "proxy/headers.h"
#include "proxy/router.h"
#include "proxy/runtime.h"
#include "upstream/balance.h"
#include "upstream/cookie.h"
#include "upstream/pool.h"
#include "upstream/sticky.h"

#define MAX_RESP_HEADERS 100
#define CHUNK_EXT_MAX 4096
#define CHUNK_TRAILER_MAX 8192

static const struct h1_limits response_limits = {
    .max_start_line = 8192,
    .max_head = BUF_MAX,
    .max_headers = MAX_RESP_HEADERS,
};

const char *ex_strdup(struct exchange *ex, const char *s, size_t len, size_t *out_len)
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

static void fill_alog(const struct exchange *ex, int status, struct alog_fields *f)
{
    memset(f, 0, sizeof(*f));
    f->host = (struct alog_str){ ex->log.host, ex->log.host_len };
    f->has_client = true;
    f->client_ip = ex->c->peer_ip;
    f->client_port = ex->c->peer_port;
    f->method = (struct alog_str){ ex->log.method, ex->log.method_len };
    f->path_and_query = (struct alog_str){ ex->log.path, ex->log.path_len };
    f->version = ex->log.minor ? ALOG_HTTP_11 : ALOG_HTTP_10;
    f->status = (unsigned)status;
    f->scheme = (struct alog_str){ ex->log.scheme, ex->log.scheme_len };
    f->user_agent = (struct alog_str){ ex->log.ua, ex->log.ua_len };
    f->xff = (struct alog_str){ ex->log.xff, ex->log.xff_len };
    f->forwarded = (struct alog_str){ ex->log.forwarded, ex->log.forwarded_len };
    f->upstream = (struct alog_str){ ex->log.upstream, ex->log.upstream_len };
}

static void access_log(const struct exchange *ex, int status)
{
    if (!log_access_enabled())
        return;
    struct alog_fields f;
    fill_alog(ex, status, &f);
    char line[8192];
    bool trunc;
    bool redact = ex->rt && ex->rt->cfg->redact_query_in_access_log;
    size_t n = alog_format(&f, redact, line, sizeof(line), &trunc);
    log_access(line, n);
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

static void exchange_free(struct exchange *ex)
{
    struct worker *w = ex->c->w;
    loop_timer_cancel(w->loop, &ex->timer);
    ex->up_out.len = 0;
    buf_release(&ex->up_out);
    if (ex->rt)
        runtime_unref(ex->rt);
    ex->c->ex = NULL;
    if (w->n_ex_free < EX_CACHE_MAX) {
        ex->next_free = w->ex_free;
        w->ex_free = ex;
        w->n_ex_free++;
    } else {
        free(ex);
    }
}

static void release_upstream(struct exchange *ex, bool reuse)
{
    struct upstream_conn *uc = ex->uc;
    if (!uc)
        return;
    ex->uc = NULL;
    if (reuse)
        upstream_pool_put(ex->c->w->pool, uc);
    else
        upstream_conn_close(ex->c->w->pool, uc);
}

void exchange_abort(struct exchange *ex, int status, const char *why)
{
    struct client *c = ex->c;
    release_upstream(ex, false);
    if (status && !ex->resp_started && !c->dead) {
        if (why)
            error_log(ex, why);
        access_log(ex, status);
        client_synthetic(c, status, NULL, 0, true);
    } else if (!c->dead) {
        c->closing = true;
        c->out.len = ex->resp_started ? c->out.len : 0;
    }
    exchange_free(ex);
}

void exchange_finish(struct exchange *ex)
{
    struct client *c = ex->c;
    bool reuse = ex->upstream_reusable && ex->req_done && ex->uc && ex->uc->in.len == 0;
    release_upstream(ex, reuse);
    if (!ex->client_keep_alive || !ex->req_done) {
        c->closing = true;
        c->orderly = ex->req_done;
    }
    uint64_t head_ms = ex->rt->cfg->client_header_timeout_s * 1000;
    exchange_free(ex);
    if (!c->closing)
        loop_timer_set(c->w->loop, &c->timer, head_ms, c->timer.cb);
}

/* ---- starting: the checks of SPEC 4.2 - 4.8 ---- */

static const struct h1_header *find_field(const struct h1_header *h, size_t n, const char *lower,
                                          size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (name_is(&h[i], lower, len))
            return &h[i];
    return NULL;
}

/* Joins every line of a field with ", " into ex->strs (for the access log). */
static void copy_joined(struct exchange *ex, const struct h1_header *h, size_t n, const char *lower,
                        size_t len, const char **out, size_t *out_len)
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

static void reject(struct exchange *ex, int status, const char *why, bool close_after)
{
    struct client *c = ex->c;
    if (why)
        error_log(ex, why);
    access_log(ex, status);
    client_synthetic(c, status, NULL, 0, close_after || !ex->client_keep_alive);
    exchange_free(ex);
}

static void on_timeout(struct loop *loop, struct loop_timer *t);
static void on_upstream_event(struct upstream_conn *uc, uint32_t events);

/* Connects (or takes a pooled connection to) ex->up. Returns 0 or -1. */
static int attach_upstream(struct exchange *ex, bool fresh_only)
{
    struct rt_addrs *addrs = atomic_load_explicit(&ex->up->addrs, memory_order_acquire);
    if (!addrs || !addrs->n)
        return -1;
    const struct sockaddr *sa = (const struct sockaddr *)&addrs->addr[0];
    struct upstream_conn *uc = NULL;
    const char *tls_name = ex->up->cfg->tls ? ex->up->cfg->host : NULL;
    if (!fresh_only)
        uc = upstream_pool_take(ex->c->w->pool, sa, addrs->len[0], tls_name);
    if (uc) {
        uc->connected = true;
        ex->phase = EX_SENDING;
        loop_timer_set(ex->c->w->loop, &ex->timer, ex->rt->cfg->upstream_response_timeout_s * 1000,
                       on_timeout);
    } else {
        uc = upstream_connect(ex->c->w->pool, sa, addrs->len[0], tls_name);
        if (!uc)
            return -1;
        ex->phase = EX_CONNECTING;
        loop_timer_set(ex->c->w->loop, &ex->timer, ex->rt->cfg->upstream_connect_timeout_s * 1000,
                       on_timeout);
    }
    uc->owner = ex;
    uc->on_event = on_upstream_event;
    ex->uc = uc;
    return 0;
}

/* The client-visible scheme of SPEC 5.7 (the sticky cookie's Secure flag). */
static bool client_scheme_is_https(const struct exchange *ex, const struct h1_header *hdrs,
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
static size_t pick_upstream(struct exchange *ex, const struct h1_header *hdrs, size_t n,
                            struct cookie_take_result *ck, char *rest, size_t rest_cap,
                            bool *sticky_used)
{
    struct rt_route *rr = ex->route;
    *sticky_used = false;
    if (rr->route->cfg->load_balance != CFG_LB_STICKY || !rr->sticky)
        return lb_pick(rr->lb, &ex->c->w->rng);
    *sticky_used = true;
    struct cookie_field fields[16];
    size_t nf = 0;
    for (size_t i = 0; i < n && nf < 16; i++)
        if (NAME_IS(&hdrs[i], "cookie"))
            fields[nf++] = (struct cookie_field){ hdrs[i].value, hdrs[i].value_len };
    memset(ck, 0, sizeof(*ck));
    if (nf && cookie_take(fields, nf, STICKY_COOKIE_NAME, rest, rest_cap, ck) < 0)
        ck->found = COOKIE_FOUND_NONE;
    int64_t now = loop_wall_s(ex->c->w->loop);
    if (ck->found == COOKIE_FOUND_ONE) {
        const char *why;
        long idx = sticky_open(rr->sticky, ck->value, ck->value_len, now, &why);
        if (idx >= 0 && (size_t)idx < rr->n_ups && lb_is_healthy(rr->lb, (size_t)idx))
            return (size_t)idx;
    }
    size_t idx = lb_pick(rr->lb, &ex->c->w->rng);
    char token[STICKY_TOKEN_MAX + 1];
    long tl = sticky_seal(rr->sticky, idx, now + STICKY_LIFETIME_S, token, sizeof(token));
    if (tl > 0) {
        bool secure = client_scheme_is_https(ex, hdrs, n);
        long sl = sticky_set_cookie(rr->sticky, token, (size_t)tl, now + STICKY_LIFETIME_S, now,
                                    secure, ex->set_cookie, sizeof(ex->set_cookie));
        if (sl > 0) {
            ex->set_cookie_len = (size_t)sl;
            ex->issue_cookie = true;
        }
    }
    return idx;
}

void exchange_start(struct client *c, const struct h1_request *req, const struct h1_header *hdrs,
                    size_t head_len)
{
    struct exchange *ex = exchange_alloc(c->w);
    if (!ex) {
        c->in.len = 0;
        client_synthetic(c, 503, NULL, 0, true);
        return;
    }
    ex->c = c;
    c->ex = ex;
    ex->rt = c->w->rt;
    runtime_ref(ex->rt);
    const struct cfg *cfg = ex->rt->cfg;
    size_t n = req->num_headers;

    /* what the access log needs, copied before the buffer moves */
    ex->log.minor = req->minor_version;
    ex->log.method = ex_strdup(ex, req->method, req->method_len, &ex->log.method_len);
    ex->log.path = ex_strdup(ex, req->target, req->target_len, &ex->log.path_len);
    if (req->form == H1_TARGET_ABSOLUTE) {
        ex->log.host = ex_strdup(ex, req->authority, req->authority_len, &ex->log.host_len);
        const char *colon = memchr(req->target, ':', req->target_len);
        ex->log.scheme = ex_strdup(ex, req->target, colon ? (size_t)(colon - req->target) : 0,
                                   &ex->log.scheme_len);
        ex->log.path = ex_strdup(ex, req->path, req->path_len, &ex->log.path_len);
    } else if (req->host) {
        ex->log.host = ex_strdup(ex, req->host, req->host_len, &ex->log.host_len);
    }
    const struct h1_header *ua = find_field(hdrs, n, "user-agent", 10);
    if (ua)
        ex->log.ua = ex_strdup(ex, ua->value, ua->value_len, &ex->log.ua_len);
    copy_joined(ex, hdrs, n, "x-forwarded-for", 15, &ex->log.xff, &ex->log.xff_len);
    copy_joined(ex, hdrs, n, "forwarded", 9, &ex->log.forwarded, &ex->log.forwarded_len);

    ex->head_request = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
    ex->client_keep_alive = (req->flags & H1_F_KEEP_ALIVE) != 0;
    ex->body_limit = cfg->request_max_body_size;
    ex->req_body = req->body;
    ex->req_remaining = req->body == H1_BODY_LENGTH ? req->content_length : 0;
    ex->replayable =
        req->body == H1_BODY_NONE || (req->body == H1_BODY_LENGTH && req->content_length == 0);

    /* 4.4 Content-Length pre-flight */
    if (ex->body_limit && req->body == H1_BODY_LENGTH && req->content_length > ex->body_limit) {
        buf_consume(&c->in, c->in.len);
        reject(ex, 413, "Request body exceeds configured maximum size", true);
        return;
    }
    /* 4.2 host */
    char host[ROUTE_HOST_MAX];
    size_t host_len = 0;
    int hr = route_host(req->host, req->host_len, req->authority, req->authority_len, host,
                        sizeof(host), &host_len);
    if (hr < 0) {
        buf_consume(&c->in, head_len);
        reject(ex, 400, "Invalid host in request header", !ex->replayable);
        return;
    }
    /* 4.3 SNI and Host consistency */
    if (c->tlsc && !cfg->ignore_sni_consistency) {
        const char *sni = client_tls_sni(c->tlsc);
        if (strlen(sni) != host_len || memcmp(sni, host, host_len) != 0) {
            buf_consume(&c->in, head_len);
            reject(ex, 421, "SNI and Host header mismatch", !ex->replayable);
            return;
        }
    }
    /* 4.5 app, default_app, redirect */
    bool fallback = false;
    const struct route_app *app =
        route_select_app(ex->rt->table, host, host_len, c->tls, &fallback);
    if (!app) {
        buf_consume(&c->in, head_len);
        reject(ex, 503, "No matching backend app", !ex->replayable);
        return;
    }
    const struct cfg_app *ca = app->cfg;
    if (!c->tls && ca->tls.enabled && ca->tls.https_redirection) {
        char loc[4096];
        int ln;
        const char *pq = req->form == H1_TARGET_ABSOLUTE ? req->path : req->target;
        size_t pql = req->form == H1_TARGET_ABSOLUTE ? req->path_len : req->target_len;
        if (cfg->public_https_port > 0 && cfg->public_https_port != 443)
            ln = snprintf(loc, sizeof(loc), "https://%s:%d%.*s", ca->server_name,
                          (int)cfg->public_https_port, (int)pql, pq);
        else
            ln = snprintf(loc, sizeof(loc), "https://%s%.*s", ca->server_name, (int)pql, pq);
        buf_consume(&c->in, head_len);
        access_log(ex, 301);
        client_synthetic(c, 301, loc, ln > 0 && (size_t)ln < sizeof(loc) ? (size_t)ln : 0,
                         !ex->replayable || !ex->client_keep_alive);
        exchange_free(ex);
        return;
    }
    /* 4.6 path */
    const char *target = req->form == H1_TARGET_ABSOLUTE ? req->path : req->target;
    size_t target_len = req->form == H1_TARGET_ABSOLUTE ? req->path_len : req->target_len;
    if (req->form == H1_TARGET_AUTHORITY || req->form == H1_TARGET_ASTERISK)
        target_len = 0;
    const struct route *route = route_match(app, target, target_len);
    if (!route) {
        buf_consume(&c->in, head_len);
        reject(ex, 404, "No upstream candidates", !ex->replayable);
        return;
    }
    ex->route = &ex->rt->routes[route->id];
    /* 4.8 upgrade */
    ex->upgrade = (req->flags & H1_F_CONN_UPGRADE) && (req->flags & H1_F_UPGRADE);
    const struct h1_header *upg = ex->upgrade ? find_field(hdrs, n, "upgrade", 7) : NULL;
    if (upg)
        ex->upgrade_value = ex_strdup(ex, upg->value, upg->value_len, &ex->upgrade_value_len);
    if (ex->upgrade && req->minor_version != 1) {
        buf_consume(&c->in, head_len);
        reject(ex, 500, "Failed to upgrade connection: upgrade requires HTTP/1.1", true);
        return;
    }
    if (req->flags & H1_F_EXPECT_OTHER) {
        buf_consume(&c->in, head_len);
        reject(ex, 417, NULL, true);
        return;
    }
    ex->resp_req_flags = (ex->head_request ? H1_REQ_HEAD : 0) | (ex->upgrade ? H1_REQ_UPGRADE : 0);

    /* 4.7 path rewrite, 7 balancing, 4.9 head */
    char path[8192];
    size_t path_len;
    if (target_len + 1 > sizeof(path) || route_rewrite_max(route, target_len) + 1 > sizeof(path) ||
        route_rewrite(route, target, target_len, path, sizeof(path), &path_len) < 0) {
        buf_consume(&c->in, head_len);
        reject(ex, 500, "Failed to generate upstream request for backend application: path", true);
        return;
    }
    struct cookie_take_result ck;
    char cookie_rest[8192];
    bool sticky_used;
    ex->up_index = pick_upstream(ex, hdrs, n, &ck, cookie_rest, sizeof(cookie_rest), &sticky_used);
    ex->up = &ex->route->ups[ex->up_index];

    const char *uri_host = NULL;
    size_t uri_host_len = 0;
    if (req->authority) {
        uri_host = req->authority;
        const char *colon = memchr(req->authority, ':', req->authority_len);
        uri_host_len = colon && req->authority[0] != '[' ? (size_t)(colon - req->authority)
                                                         : req->authority_len;
    }
    const char *auth_host = req->form == H1_TARGET_ABSOLUTE ? req->authority : req->host;
    size_t auth_host_len = req->form == H1_TARGET_ABSOLUTE ? req->authority_len : req->host_len;
    static _Thread_local struct upreq_output uo;
    struct upreq_input ui = {
        .cfg = cfg,
        .route = route,
        .up = ex->up,
        .method = req->method,
        .method_len = req->method_len,
        .upstream_path = path,
        .upstream_path_len = path_len,
        .original_uri = req->target,
        .original_uri_len = req->target_len,
        .uri_host = uri_host,
        .uri_host_len = uri_host_len,
        .authoritative_host = auth_host,
        .authoritative_host_len = auth_host ? auth_host_len : 0,
        .forced_host = fallback ? ca->server_name : NULL,
        .peer = c->peer_ip,
        .local_port = c->local_port,
        .tls = c->tls,
        .upgrade = ex->upgrade,
        .body = req->body,
        .content_length = req->content_length,
        .fields = hdrs,
        .n_fields = n,
        .sticky_cookie_rest = sticky_used && ck.found != COOKIE_FOUND_NONE ? cookie_rest : NULL,
        .sticky_cookie_rest_len = ck.rest_len,
        .sticky_strip_cookie = sticky_used && ck.found != COOKIE_FOUND_NONE && ck.rest_len == 0,
    };
    if (req->body == H1_BODY_LENGTH && req->content_length == 0 &&
        !(req->flags & H1_F_CONTENT_LENGTH))
        ui.body = H1_BODY_NONE;
    if (upreq_build(&ui, &ex->up_out, &uo) < 0) {
        buf_consume(&c->in, head_len);
        reject(ex, 500, "Failed to generate upstream request for backend application: head", true);
        return;
    }
    if (uo.warnings)
        log_warn("%s", uo.why ? uo.why : fwd_warning_text(uo.warnings & -uo.warnings));
    ex->log.xff = ex_strdup(ex, uo.xff, uo.xff_len, &ex->log.xff_len);
    if (log_access_enabled()) {
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
    ex->head_len = ex->up_out.len;
    buf_consume(&c->in, head_len);

    if (req->body == H1_BODY_CHUNKED)
        h1_chunked_init(&ex->req_chunk, CHUNK_EXT_MAX, CHUNK_TRAILER_MAX);
    ex->req_done =
        req->body == H1_BODY_NONE || (req->body == H1_BODY_LENGTH && ex->req_remaining == 0);
    if (attach_upstream(ex, false) < 0) {
        reject(ex, 502, "Failed to get response from backend: cannot connect", !ex->replayable);
        return;
    }
    if ((req->flags & H1_F_EXPECT_CONTINUE) && !ex->req_done) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (buf_reserve(&c->out, sizeof(cont)) == 0) {
            memcpy(buf_data(&c->out) + c->out.len, cont, sizeof(cont) - 1);
            c->out.len += sizeof(cont) - 1;
        }
    }
    /* exchange_drive runs from client_drive right after this returns */
}

/* ---- moving bytes ---- */

static void on_timeout(struct loop *loop, struct loop_timer *t)
{
    struct exchange *ex = container_of(t, struct exchange, timer);
    struct client *c = ex->c;
    if (ex->phase == EX_CONNECTING)
        exchange_abort(ex, 504, "Failed to get response from backend: connect timeout");
    else if (!ex->resp_started)
        exchange_abort(ex, 504, "Failed to get response from backend: response timeout");
    else
        exchange_abort(ex, 0, NULL);
    client_drive(c);
}

static void on_upstream_event(struct upstream_conn *uc, uint32_t events)
{
    struct exchange *ex = uc->owner;
    client_drive(ex->c);
}

/* Retries once on a fresh connection when a reused one failed before any
 * response byte (SPEC-conform safe retry). Returns true when retrying. */
static bool maybe_retry(struct exchange *ex)
{
    if (!ex->uc || !ex->uc->reused || ex->retried || !ex->replayable || ex->resp_started)
        return false;
    ex->retried = true;
    release_upstream(ex, false);
    ex->up_out.off = 0;
    ex->up_out.len = ex->head_len;
    return attach_upstream(ex, true) == 0;
}

static void upstream_failed(struct exchange *ex, const char *why)
{
    if (maybe_retry(ex))
        return;
    if (ex->resp_started)
        exchange_abort(ex, 0, NULL);
    else
        exchange_abort(ex, 502, why);
}

/* Writes to the upstream (plain or TLS). Returns bytes taken, IO_AGAIN or
 * IO_ERROR. */
static ssize_t upstream_write(struct upstream_conn *uc, const struct iovec *iov, int niov)
{
    if (uc->tls) {
        bool blocked;
        ssize_t w = tls_io_writev(uc->tls, iov, niov, true, &blocked);
        return w == 0 && blocked ? IO_AGAIN : w;
    }
    ssize_t w;
    do
        w = niov == 1 ? send(uc->io.fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL)
                      : writev(uc->io.fd, iov, niov);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return errno == EAGAIN ? IO_AGAIN : IO_ERROR;
    return w;
}

/* Request body: client -> upstream. Returns true on progress. */
static bool pump_request(struct exchange *ex)
{
    struct client *c = ex->c;
    struct upstream_conn *uc = ex->uc;
    bool progress = false;
    if (ex->phase == EX_CONNECTING || !uc)
        return false;

    /* chunked: decode what we have into up_out, re-encoded */
    while (ex->req_body == H1_BODY_CHUNKED && !ex->req_done && c->in.len &&
           ex->up_out.len < BUF_BLOCK) {
        struct h1_chunk_out co;
        int r = h1_chunked_decode(&ex->req_chunk, buf_data(&c->in), c->in.len, &co);
        if (r == H1_CHUNK_ERROR) {
            c->in.len = 0;
            exchange_abort(ex, 400, NULL);
            return false;
        }
        char hdr[H1_CHUNK_HEADER_MAX + 8];
        if (r == H1_CHUNK_DATA) {
            ex->req_body_seen += co.data_len;
            if (ex->body_limit && ex->req_body_seen > ex->body_limit) {
                log_error("Request body exceeded limit: received %llu bytes, maximum allowed %llu",
                          (unsigned long long)ex->req_body_seen,
                          (unsigned long long)ex->body_limit);
                exchange_abort(ex, 502, NULL);
                return false;
            }
            size_t hl = h1_chunk_header(hdr, co.data_len);
            if (buf_reserve(&ex->up_out, hl + co.data_len + 2) < 0) {
                exchange_abort(ex, 502, NULL);
                return false;
            }
            char *p = buf_data(&ex->up_out) + ex->up_out.len;
            memcpy(p, hdr, hl);
            memcpy(p + hl, co.data, co.data_len);
            memcpy(p + hl + co.data_len, "\r\n", 2);
            ex->up_out.len += hl + co.data_len + 2;
        } else if (r == H1_CHUNK_DONE) {
            size_t need = co.trailer_len + 8;
            if (buf_reserve(&ex->up_out, need) < 0) {
                exchange_abort(ex, 502, NULL);
                return false;
            }
            ex->up_out.len += h1_chunk_last(buf_data(&ex->up_out) + ex->up_out.len, need,
                                            co.trailer, co.trailer_len);
            ex->req_done = true;
        }
        buf_consume(&c->in, co.consumed);
        progress = true;
        if (r == H1_CHUNK_MORE)
            break;
    }

    /* write up_out plus, for Content-Length bodies, body bytes straight from c->in */
    size_t direct = 0;
    if (ex->req_body == H1_BODY_LENGTH && ex->req_remaining)
        direct = c->in.len < ex->req_remaining ? c->in.len : (size_t)ex->req_remaining;
    if (ex->phase == EX_TUNNEL)
        direct = c->in.len;
    bool tls_pending = uc->tls && tls_io_has_pending(uc->tls); /* ciphertext to flush */
    if ((ex->up_out.len || direct || tls_pending) && uc->can_write) {
        struct iovec iov[2];
        int niov = 0;
        if (ex->up_out.len)
            iov[niov++] = (struct iovec){ buf_data(&ex->up_out), ex->up_out.len };
        if (direct)
            iov[niov++] = (struct iovec){ buf_data(&c->in), direct };
        ssize_t w = upstream_write(uc, iov, niov);
        bool blocked = uc->tls && tls_io_has_pending(uc->tls);
        if (w < 0) {
            if (w == IO_AGAIN) {
                uc->can_write = false;
                loop_want_out(c->w->loop, &uc->io, true);
            } else {
                upstream_failed(ex, "Failed to get response from backend: write failed");
                return false;
            }
        } else {
            size_t done = (size_t)w;
            if (done < ex->up_out.len + direct || blocked) {
                uc->can_write = false;
                loop_want_out(c->w->loop, &uc->io, true);
            } else if (uc->io.events & EPOLLOUT) {
                loop_want_out(c->w->loop, &uc->io, false);
            }
            size_t from_out = done < ex->up_out.len ? done : ex->up_out.len;
            if (ex->replayable && !ex->resp_started && ex->phase != EX_TUNNEL) {
                /* keep the head for a retry: only move the offset */
                ex->up_out.off += from_out;
                ex->up_out.len -= from_out;
            } else {
                buf_consume(&ex->up_out, from_out);
            }
            size_t body = done - from_out;
            if (body) {
                buf_consume(&c->in, body);
                if (ex->phase != EX_TUNNEL)
                    ex->req_remaining -= body;
            }
            if (ex->req_body == H1_BODY_LENGTH && ex->req_remaining == 0)
                ex->req_done = true;
            progress = done > 0;
        }
    }
    if (ex->phase == EX_SENDING && ex->req_done && ex->up_out.len == 0)
        ex->phase = EX_WAIT_HEAD;

    /* read more body from the client when it can be used */
    bool want_client = !c->read_eof && c->can_read &&
                       ((ex->phase == EX_TUNNEL && c->in.len < BUF_BLOCK) ||
                        (!ex->req_done && c->in.len < BUF_BLOCK &&
                         (ex->req_body == H1_BODY_CHUNKED || c->in.len < ex->req_remaining)));
    if (want_client) {
        if (buf_reserve(&c->in, 4096) == 0) {
            ssize_t r = client_recv(c, buf_data(&c->in) + c->in.len, buf_room(&c->in));
            if (r > 0) {
                c->in.len += (size_t)r;
                progress = true;
            } else if (r == 0) {
                c->read_eof = true;
                if (ex->phase == EX_TUNNEL) {
                    if (uc->tls)
                        tls_io_close_notify(uc->tls);
                    shutdown(uc->io.fd, SHUT_WR);
                } else if (!ex->req_done) {
                    exchange_abort(ex, 0, NULL); /* client gave up mid-body */
                    return false;
                }
            } else if (r == IO_AGAIN) {
            } else {
                exchange_abort(ex, 0, NULL);
                return false;
            }
        }
    }
    return progress;
}

/* Reads from the upstream when there is room. Returns 1 data, 0 nothing, -1 EOF, -2 error. */
static int read_upstream(struct exchange *ex)
{
    struct upstream_conn *uc = ex->uc;
    if (!uc->can_read || uc->in.len >= BUF_BLOCK)
        return 0;
    if (buf_reserve(&uc->in, 4096) < 0)
        return -2;
    size_t room = buf_room(&uc->in);
    ssize_t r;
    if (uc->tls) {
        bool drained;
        r = tls_io_read(uc->tls, buf_data(&uc->in) + uc->in.len, room, &drained);
        if (r == IO_AGAIN || (drained && !uc->rdhup))
            uc->can_read = false;
        if (r > 0) {
            uc->in.len += (size_t)r;
            return 1;
        }
        return r == 0 ? -1 : r == IO_AGAIN ? 0 : -2;
    }
    do
        r = recv(uc->io.fd, buf_data(&uc->in) + uc->in.len, room, 0);
    while (r < 0 && errno == EINTR);
    if (r > 0) {
        uc->in.len += (size_t)r;
        if ((size_t)r < room && !uc->rdhup)
            uc->can_read = false;
        return 1;
    }
    if (r == 0) {
        uc->can_read = false;
        return -1;
    }
    if (errno == EAGAIN) {
        uc->can_read = false;
        return 0;
    }
    return -2;
}

static void start_response(struct exchange *ex, const struct h1_response *res,
                           const struct h1_header *hdrs, size_t head_len)
{
    struct client *c = ex->c;
    struct upstream_conn *uc = ex->uc;
    ex->status = res->status;
    ex->resp_body = res->body;
    ex->upstream_reusable = (res->flags & H1_F_KEEP_ALIVE) != 0;
    bool http10 = ex->log.minor == 0;
    if (res->body == H1_BODY_TUNNEL) {
        /* 101: returned as is, then bytes both ways (4.10) */
        if (buf_reserve(&c->out, head_len) < 0) {
            exchange_abort(ex, 500, "Failed to upgrade connection: head too large");
            return;
        }
        memcpy(buf_data(&c->out) + c->out.len, buf_data(&uc->in), head_len);
        c->out.len += head_len;
        buf_consume(&uc->in, head_len);
        ex->resp_started = true;
        ex->phase = EX_TUNNEL;
        ex->client_keep_alive = false;
        ex->upstream_reusable = false;
        loop_timer_cancel(c->w->loop, &ex->timer);
        access_log(ex, res->status);
        return;
    }
    if (res->body == H1_BODY_CHUNKED) {
        h1_chunked_init(&ex->resp_chunk, CHUNK_EXT_MAX, CHUNK_TRAILER_MAX);
        ex->resp_chunked_out = !http10;
        if (http10)
            ex->client_keep_alive = false;
    } else if (res->body == H1_BODY_CLOSE) {
        ex->client_keep_alive = false;
        ex->upstream_reusable = false;
    } else if (res->body == H1_BODY_LENGTH) {
        ex->resp_remaining = res->content_length;
    }
    if (!ex->req_done)
        ex->client_keep_alive = false; /* answered before the body ended */
    if (resp_build(res, hdrs, res->num_headers, ex->resp_chunked_out, ex->client_keep_alive, http10,
                   ex->issue_cookie ? ex->set_cookie : NULL, ex->set_cookie_len, &c->out) < 0) {
        exchange_abort(ex, 502, "Failed to generated downstream response for clients: head");
        return;
    }
    buf_consume(&uc->in, head_len);
    /* the request head is no longer needed for a retry */
    ex->up_out.len = 0;
    ex->up_out.off = 0;
    ex->resp_started = true;
    ex->phase = EX_BODY;
    access_log(ex, res->status);
    if (res->body == H1_BODY_NONE || (res->body == H1_BODY_LENGTH && res->content_length == 0))
        ex->resp_remaining = 0;
}

/* Response: upstream -> client. Returns true on progress; may end ex. */
static bool pump_response(struct exchange *ex)
{
    struct client *c = ex->c;
    struct upstream_conn *uc = ex->uc;
    bool progress = false;
    if (!uc || ex->phase == EX_CONNECTING)
        return false;

    int rr = read_upstream(ex);
    if (rr == 1) {
        progress = true;
        if (ex->phase != EX_TUNNEL)
            loop_timer_set(c->w->loop, &ex->timer, ex->rt->cfg->upstream_response_timeout_s * 1000,
                           on_timeout);
    }
    bool eof = rr == -1;
    if (rr == -2) {
        upstream_failed(ex, "Failed to get response from backend: read failed");
        return false;
    }

    /* response head (skipping interim 1xx) */
    while (!ex->resp_started && uc->in.len) {
        struct h1_header hdrs[MAX_RESP_HEADERS];
        struct h1_response res;
        int r = h1_parse_response(buf_data(&uc->in), uc->in.len, &response_limits,
                                  ex->resp_req_flags, hdrs, &res);
        if (r == H1_INCOMPLETE)
            break;
        if (r == H1_ERROR) {
            char why[160];
            snprintf(why, sizeof(why), "Failed to get response from backend: %s", res.err_reason);
            exchange_abort(ex, ex->upgrade && res.status == 101 ? 500 : 502, why);
            return false;
        }
        if (res.status >= 100 && res.status < 200 && res.status != 101) {
            buf_consume(&uc->in, (size_t)r);
            continue;
        }
        if (res.status == 101) {
            const struct h1_header *got = NULL;
            for (size_t i = 0; i < res.num_headers; i++)
                if (NAME_IS(&hdrs[i], "upgrade"))
                    got = &hdrs[i];
            if (!got || got->value_len != ex->upgrade_value_len ||
                strncasecmp(got->value, ex->upgrade_value, got->value_len) != 0) {
                exchange_abort(ex, 500,
                               "Failed to upgrade connection: upstream switched to "
                               "another protocol");
                return false;
            }
        }
        start_response(ex, &res, hdrs, (size_t)r);
        if (c->ex != ex)
            return false;
        progress = true;
    }
    if (!ex->resp_started) {
        if (eof || (uc->in.len == 0 && rr == -1)) {
            upstream_failed(ex, "Failed to get response from backend: connection closed");
            return false;
        }
        return progress;
    }

    /* body */
    if (ex->resp_chunked_out || (ex->resp_body == H1_BODY_CHUNKED)) {
        while (uc->in.len && c->out.len < BUF_BLOCK && !ex->resp_chunk.why) {
            struct h1_chunk_out co;
            int r = h1_chunked_decode(&ex->resp_chunk, buf_data(&uc->in), uc->in.len, &co);
            if (r == H1_CHUNK_ERROR) {
                exchange_abort(ex, 0, NULL);
                return false;
            }
            if (r == H1_CHUNK_DATA && !ex->head_request) {
                char hdr[H1_CHUNK_HEADER_MAX];
                size_t hl = ex->resp_chunked_out ? h1_chunk_header(hdr, co.data_len) : 0;
                size_t tl = ex->resp_chunked_out ? 2 : 0;
                if (buf_reserve(&c->out, hl + co.data_len + tl) < 0) {
                    exchange_abort(ex, 0, NULL);
                    return false;
                }
                char *p = buf_data(&c->out) + c->out.len;
                memcpy(p, hdr, hl);
                memcpy(p + hl, co.data, co.data_len);
                memcpy(p + hl + co.data_len, "\r\n", tl);
                c->out.len += hl + co.data_len + tl;
            } else if (r == H1_CHUNK_DONE) {
                if (ex->resp_chunked_out) {
                    size_t need = co.trailer_len + 8;
                    if (buf_reserve(&c->out, need) == 0)
                        c->out.len += h1_chunk_last(buf_data(&c->out) + c->out.len, need,
                                                    co.trailer, co.trailer_len);
                }
                ex->resp_body = H1_BODY_NONE;
                ex->resp_chunked_out = false;
                ex->resp_remaining = 0;
                buf_consume(&uc->in, co.consumed);
                progress = true;
                break;
            }
            buf_consume(&uc->in, co.consumed);
            progress = true;
            if (r == H1_CHUNK_MORE)
                break;
        }
        if (ex->resp_body == H1_BODY_CHUNKED && eof) {
            exchange_abort(ex, 0, NULL); /* truncated chunked body */
            return false;
        }
        long w = client_flush(c, NULL, 0);
        if (w < 0) {
            exchange_abort(ex, 0, NULL);
            return false;
        }
    } else {
        size_t direct = 0;
        if (ex->phase == EX_TUNNEL || ex->resp_body == H1_BODY_CLOSE)
            direct = uc->in.len;
        else if (ex->resp_body == H1_BODY_LENGTH)
            direct = uc->in.len < ex->resp_remaining ? uc->in.len : (size_t)ex->resp_remaining;
        if (ex->head_request)
            direct = 0;
        /* a small body joins the head in one buffer: one send instead of writev */
        if (direct && direct <= 4096 && c->out.len && buf_room(&c->out) >= direct) {
            memcpy(buf_data(&c->out) + c->out.len, buf_data(&uc->in), direct);
            c->out.len += direct;
            buf_consume(&uc->in, direct);
            if (ex->resp_body == H1_BODY_LENGTH && ex->phase != EX_TUNNEL)
                ex->resp_remaining -= direct;
            direct = 0;
            progress = true;
        }
        long w = client_flush(c, buf_data(&uc->in), direct);
        if (w < 0) {
            exchange_abort(ex, 0, NULL);
            return false;
        }
        if (w > 0) {
            buf_consume(&uc->in, (size_t)w);
            if (ex->resp_body == H1_BODY_LENGTH && ex->phase != EX_TUNNEL)
                ex->resp_remaining -= (uint64_t)w;
            progress = true;
        }
        if (eof) {
            if (ex->phase == EX_TUNNEL) {
                ex->up_eof = true;
            } else if (ex->resp_body == H1_BODY_CLOSE) {
                ex->resp_body = H1_BODY_NONE;
                ex->resp_remaining = 0;
                ex->upstream_reusable = false;
            } else if (ex->resp_body == H1_BODY_LENGTH && ex->resp_remaining) {
                exchange_abort(ex, 0, NULL); /* truncated body */
                return false;
            }
        }
    }
    return progress;
}

static bool response_complete(const struct exchange *ex)
{
    if (!ex->resp_started || ex->phase == EX_TUNNEL)
        return false;
    if (ex->head_request && ex->resp_body != H1_BODY_CLOSE)
        return true;
    switch (ex->resp_body) {
    case H1_BODY_NONE: return true;
    case H1_BODY_LENGTH: return ex->resp_remaining == 0;
    default: return false;
    }
}

/* Advances the TLS handshake with the upstream. Returns 1 done, 0 waiting,
 * -1 failed (the exchange is aborted with 502). */
static int upstream_handshake(struct exchange *ex)
{
    struct upstream_conn *uc = ex->uc;
    int r = tls_io_handshake(uc->tls);
    if (r == 1) {
        uc->tls_done = true;
        if (log_enabled(LOG_DEBUG)) {
            char group[64];
            tls_group_name(uc->tls->ssl, group, sizeof(group));
            log_debug("Upstream TLS handshake done: %s version=%s group=%s resumed=%s",
                      uc->tls_name, SSL_get_version(uc->tls->ssl), group,
                      SSL_session_reused(uc->tls->ssl) ? "true" : "false");
        }
        return 1;
    }
    if (r == IO_AGAIN) {
        if (uc->tls->drained)
            uc->can_read = false;
        if (tls_io_has_pending(uc->tls)) {
            uc->can_write = false;
            loop_want_out(ex->c->w->loop, &uc->io, true);
        }
        return 0;
    }
    char why[512];
    const char *verify = tls_client_verify_error(uc->tls->ssl);
    unsigned long e = ERR_peek_last_error();
    snprintf(why, sizeof(why),
             "Failed to get response from backend: TLS handshake with %s failed: %s", uc->tls_name,
             verify         ? verify
             : e            ? ERR_reason_error_string(e)
             : uc->tls->eof ? "connection closed by the upstream"
                            : "connection error");
    ERR_clear_error();
    exchange_abort(ex, 502, why);
    return -1;
}

static bool check_connected(struct exchange *ex)
{
    struct upstream_conn *uc = ex->uc;
    if (ex->phase != EX_CONNECTING)
        return false;
    if (!uc->connected) {
        if (!uc->can_write)
            return false;
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(uc->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            char why[160];
            snprintf(why, sizeof(why), "Failed to get response from backend: connect: %s",
                     strerror(err));
            exchange_abort(ex, 502, why);
            return false;
        }
        uc->connected = true;
        loop_want_out(ex->c->w->loop, &uc->io, false); /* connected: writable until EAGAIN */
        uc->can_read = true;
    }
    if (uc->tls && !uc->tls_done && upstream_handshake(ex) != 1)
        return false;
    ex->phase = EX_SENDING;
    loop_timer_set(ex->c->w->loop, &ex->timer, ex->rt->cfg->upstream_response_timeout_s * 1000,
                   on_timeout);
    return true;
}

static void redrive(struct loop *loop, struct loop_deferred *d)
{
    client_drive(container_of(d, struct client, redrive_d));
}

void exchange_drive(struct exchange *ex)
{
    struct client *c = ex->c;
    for (int rounds = 0; rounds < 64; rounds++) {
        if (c->ex != ex)
            return;
        bool progress = check_connected(ex);
        if (c->ex != ex)
            return;
        if (!ex->resp_started && c->out.len && client_flush(c, NULL, 0) < 0) {
            exchange_abort(ex, 0, NULL); /* the 100 Continue could not be sent */
            return;
        }
        progress |= pump_request(ex);
        if (c->ex != ex)
            return;
        progress |= pump_response(ex);
        if (c->ex != ex)
            return;
        if (ex->phase == EX_TUNNEL && ex->up_eof && ex->uc->in.len == 0 && c->out.len == 0) {
            /* the upstream finished: pass the end on, then wait for the client's */
            if (!ex->client_shut) {
                /* TLS: a close_notify the socket could not take yet goes at
                 * the end of the pass; the FIN is then left to the close */
                if (!c->tlsc || tls_io_close_notify(&c->tlsc->io) == 1)
                    shutdown(c->io.fd, SHUT_WR);
                ex->client_shut = true;
            }
            if (c->read_eof && c->in.len == 0) {
                ex->client_keep_alive = false;
                exchange_finish(ex);
                return;
            }
        }
        if (response_complete(ex) && c->out.len == 0) {
            if (!ex->req_done)
                ex->upstream_reusable = false;
            exchange_finish(ex);
            return;
        }
        if (!progress)
            return;
    }
    /* fairness: let other connections run, then continue in this pass */
    loop_defer(c->w->loop, &c->redrive_d, redrive);
}
