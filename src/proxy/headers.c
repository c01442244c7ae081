#include "proxy/headers.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/config.h"
#include "proxy/forwarded.h"
#include "proxy/router.h"
#include "proxy/runtime.h"

bool list_has_token(const char *v, size_t len, const char *tok, size_t tok_len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < len && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tok_len && strncasecmp(v + s, tok, tok_len) == 0)
            return true;
    }
    return false;
}

const char *http_date_now(void)
{
    static _Thread_local char text[40];
    static _Thread_local time_t cached = -1;
    time_t now = time(NULL);
    if (now != cached) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached = now;
    }
    return text;
}

/* ---- appending to a buf ---- */

struct out {
    struct buf *b;
    int failed;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (buf_room(o->b) < n && (o->failed || buf_reserve(o->b, n) < 0)) {
        o->failed = 1;
        return;
    }
    memcpy(buf_data(o->b) + o->b->len, s, n);
    o->b->len += n;
}

#define PUTS(o, lit) put((o), lit, sizeof(lit) - 1)

/* One field line with one room check (the hot path of every head). */
static void put_field(struct out *o, const char *name, size_t nlen, const char *v, size_t vlen)
{
    size_t need = nlen + vlen + 4;
    if (buf_room(o->b) < need && (o->failed || buf_reserve(o->b, need) < 0)) {
        o->failed = 1;
        return;
    }
    char *p = buf_data(o->b) + o->b->len;
    memcpy(p, name, nlen);
    p += nlen;
    p[0] = ':';
    p[1] = ' ';
    memcpy(p + 2, v, vlen);
    p += 2 + vlen;
    p[0] = '\r';
    p[1] = '\n';
    o->b->len += need;
}

static void put_u64(struct out *o, uint64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* ---- request ---- */

#define MAX_CONN_TOKENS 16

struct conn_tokens {
    struct {
        const char *p;
        size_t len;
    } t[MAX_CONN_TOKENS];
    size_t n;
};

static void collect_connection_tokens(const struct http_field *f, size_t n, struct conn_tokens *ct)
{
    ct->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (!NAME_IS(&f[i], "connection"))
            continue;
        const char *v = f[i].value;
        size_t len = f[i].value_len, j = 0;
        while (j < len && ct->n < MAX_CONN_TOKENS) {
            while (j < len && (v[j] == ' ' || v[j] == '\t' || v[j] == ','))
                j++;
            size_t s = j;
            while (j < len && v[j] != ',' && v[j] != ' ' && v[j] != '\t')
                j++;
            if (j > s) {
                ct->t[ct->n].p = v + s;
                ct->t[ct->n].len = j - s;
                ct->n++;
            }
        }
    }
}

static bool connection_listed(const struct conn_tokens *ct, const struct http_field *h)
{
    for (size_t i = 0; i < ct->n; i++)
        if (h->name_len == ct->t[i].len && strncasecmp(h->name, ct->t[i].p, h->name_len) == 0)
            return true;
    return false;
}

static bool hop_by_hop(const struct http_field *h)
{
    switch (h->name_len) {
    case 2: return NAME_IS(h, "te");
    case 7: return NAME_IS(h, "trailer") || NAME_IS(h, "upgrade");
    case 10: return NAME_IS(h, "connection") || NAME_IS(h, "keep-alive");
    case 14: return NAME_IS(h, "http2-settings"); /* only meant for an h2c upgrade */
    case 16: return NAME_IS(h, "proxy-connection");
    case 17: return NAME_IS(h, "transfer-encoding");
    case 18: return NAME_IS(h, "proxy-authenticate");
    case 19: return NAME_IS(h, "proxy-authorization");
    default: return false;
    }
}

/* Fields the request policy writes itself. */
static bool managed_request_field(const struct http_field *h)
{
    switch (h->name_len) {
    case 4: return NAME_IS(h, "host");
    case 5: return NAME_IS(h, "proxy");
    case 6: return NAME_IS(h, "cookie") || NAME_IS(h, "expect");
    case 9: return NAME_IS(h, "forwarded") || NAME_IS(h, "x-real-ip");
    case 14: return NAME_IS(h, "content-length") || NAME_IS(h, "x-original-uri");
    case 15: return NAME_IS(h, "x-forwarded-for") || NAME_IS(h, "x-forwarded-ssl");
    case 16: return NAME_IS(h, "x-forwarded-port") || NAME_IS(h, "x-forwarded-host");
    case 17: return NAME_IS(h, "x-forwarded-proto");
    default: return false;
    }
}

#define MAX_LINES 32

int upreq_build(const struct upreq_input *in, struct buf *buf, struct upreq_output *res)
{
    struct out o = { .b = buf };
    const struct http_field *f = in->fields;
    size_t n = in->n_fields;
    unsigned opts = in->route->cfg->upstream_options;
    struct conn_tokens ct;
    collect_connection_tokens(f, n, &ct);

    struct fwd_str xff[MAX_LINES], fwd[MAX_LINES], xfp = { 0 };
    size_t nxff = 0, nfwd = 0;
    bool have_xfp = false, have_uir = false;
    const struct http_field *host = NULL, *upgrade = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct http_field *h = &f[i];
        if (NAME_IS(h, "x-forwarded-for") && nxff < MAX_LINES)
            xff[nxff++] = (struct fwd_str){ h->value, h->value_len };
        else if (NAME_IS(h, "forwarded") && nfwd < MAX_LINES)
            fwd[nfwd++] = (struct fwd_str){ h->value, h->value_len };
        else if (NAME_IS(h, "x-forwarded-proto") && !have_xfp) {
            xfp = (struct fwd_str){ h->value, h->value_len };
            have_xfp = true;
        } else if (NAME_IS(h, "host") && !host)
            host = h;
        else if (NAME_IS(h, "upgrade") && !upgrade)
            upgrade = h;
        else if (NAME_IS(h, "upgrade-insecure-requests"))
            have_uir = true;
    }

    struct fwd_str auth = { in->authoritative_host, in->authoritative_host_len };
    struct fwd_input fi = {
        .peer = in->peer,
        .trusted = in->cfg->trusted_forwarded_proxies,
        .ntrusted = in->cfg->n_trusted_forwarded_proxies,
        .xff = xff,
        .nxff = nxff,
        .forwarded = fwd,
        .nforwarded = nfwd,
        .xfp = have_xfp ? &xfp : NULL,
        .tls = in->tls,
        .host = in->authoritative_host ? &auth : NULL,
    };
    static _Thread_local struct fwd_chain chain;
    fwd_normalize(&fi, &chain);
    res->warnings = chain.warnings;
    res->why = chain.why;
    ssize_t xl = fwd_render_xff(chain.hop, chain.n, res->xff, sizeof(res->xff));
    res->xff_len = xl > 0 ? (size_t)xl : 0;
    char real_ip[FWD_REAL_IP_MAX];
    ssize_t rl = fwd_render_real_ip(chain.hop, chain.n, real_ip, sizeof(real_ip));

    /* request line */
    put(&o, in->method, in->method_len);
    PUTS(&o, " ");
    put(&o, in->upstream_path, in->upstream_path_len);
    PUTS(&o, " HTTP/1.1\r\n");

    /* Host (4.9 steps 7, 10, 11) */
    if (in->forced_host)
        put_field(&o, "host", 4, in->forced_host, strlen(in->forced_host));
    else if ((opts & CFG_OPT_SET_UPSTREAM_HOST) && !(opts & CFG_OPT_KEEP_ORIGINAL_HOST))
        put_field(&o, "host", 4, in->up->authority, in->up->authority_len);
    else if (host)
        put_field(&o, "host", 4, host->value, host->value_len);
    else if (in->uri_host)
        put_field(&o, "host", 4, in->uri_host, in->uri_host_len);

    /* the client's fields, minus hop-by-hop and those written below */
    bool any_cookie = false;
    for (size_t i = 0; i < n; i++) {
        const struct http_field *h = &f[i];
        if (hop_by_hop(h) || managed_request_field(h) || connection_listed(&ct, h)) {
            any_cookie |= NAME_IS(h, "cookie");
            continue;
        }
        put_field(&o, h->name, h->name_len, h->value, h->value_len);
    }

    /* Cookie: merged into one line (5.1), or the sticky route's rest (7.4) */
    if (in->sticky_cookie_rest || in->sticky_strip_cookie) {
        if (in->sticky_cookie_rest && in->sticky_cookie_rest_len)
            put_field(&o, "cookie", 6, in->sticky_cookie_rest, in->sticky_cookie_rest_len);
    } else if (any_cookie) {
        PUTS(&o, "cookie: ");
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            if (!NAME_IS(&f[i], "cookie"))
                continue;
            if (!first)
                PUTS(&o, "; ");
            put(&o, f[i].value, f[i].value_len);
            first = false;
        }
        PUTS(&o, "\r\n");
    }

    /* forwarding headers (5.1) */
    if (res->xff_len)
        put_field(&o, "x-forwarded-for", 15, res->xff, res->xff_len);
    if (rl > 0)
        put_field(&o, "x-real-ip", 9, real_ip, (size_t)rl);
    if (in->tls)
        PUTS(&o, "x-forwarded-proto: https\r\nx-forwarded-ssl: on\r\n");
    else
        PUTS(&o, "x-forwarded-proto: http\r\nx-forwarded-ssl: off\r\n");
    PUTS(&o, "x-forwarded-port: ");
    put_u64(&o, in->local_port);
    PUTS(&o, "\r\n");
    put_field(&o, "x-original-uri", 14, in->original_uri, in->original_uri_len);
    if (in->authoritative_host)
        put_field(&o, "x-forwarded-host", 16, in->authoritative_host, in->authoritative_host_len);
    PUTS(&o, "proxy: \r\n");

    /* Forwarded (5.3, 5.5) */
    static _Thread_local char fwd_out[FWD_CHAIN_MAX * 80 + 8192];
    if (nfwd) {
        ssize_t fl = fwd_render_forwarded(chain.hop, chain.n, fwd_out, sizeof(fwd_out));
        if (fl > 0)
            put_field(&o, "forwarded", 9, fwd_out, (size_t)fl);
        else
            for (size_t i = 0; i < nfwd; i++)
                put_field(&o, "forwarded", 9, fwd[i].p, fwd[i].len);
    } else if (opts & CFG_OPT_FORWARDED_HEADER) {
        ssize_t fl = fwd_render_forwarded_generated(chain.hop, chain.n, in->tls,
                                                    in->authoritative_host ? &auth : NULL, fwd_out,
                                                    sizeof(fwd_out));
        if (fl > 0)
            put_field(&o, "forwarded", 9, fwd_out, (size_t)fl);
    }

    /* 4.9 step 6, 10, 13 */
    for (size_t i = 0; i < n; i++) {
        if (NAME_IS(&f[i], "te") && list_has_token(f[i].value, f[i].value_len, "trailers", 8)) {
            PUTS(&o, "te: trailers\r\n");
            break;
        }
    }
    if ((opts & CFG_OPT_UPGRADE_INSECURE_REQUESTS) && !have_uir)
        PUTS(&o, "upgrade-insecure-requests: 1\r\n");
    if (in->upgrade && upgrade) {
        put_field(&o, "upgrade", 7, upgrade->value, upgrade->value_len);
        PUTS(&o, "connection: upgrade\r\n");
    }

    /* framing */
    if (in->body == H1_BODY_CHUNKED) {
        PUTS(&o, "transfer-encoding: chunked\r\n");
    } else if (in->body == H1_BODY_LENGTH) {
        PUTS(&o, "content-length: ");
        put_u64(&o, in->content_length);
        PUTS(&o, "\r\n");
    }
    PUTS(&o, "\r\n");
    return o.failed ? -1 : 0;
}

/* ---- response ---- */

size_t resp_policy(const struct http_field *f, size_t n, bool drop_content_length,
                   const char *set_cookie, size_t set_cookie_len, struct http_field *out,
                   size_t cap, bool *has_date)
{
    struct conn_tokens ct;
    collect_connection_tokens(f, n, &ct);
    size_t k = 0;
    bool cookie_replaced = false;
    *has_date = false;
    for (size_t i = 0; i < n && k < cap; i++) {
        const struct http_field *h = &f[i];
        if (hop_by_hop(h) || connection_listed(&ct, h) || NAME_IS(h, "server") ||
            NAME_IS(h, "alt-svc"))
            continue;
        if (drop_content_length && NAME_IS(h, "content-length"))
            continue;
        if (NAME_IS(h, "date"))
            *has_date = true;
        if (set_cookie && NAME_IS(h, "set-cookie") && h->value_len >= 18 &&
            strncmp(h->value, "rpxy_sticky_token=", 18) == 0) {
            if (!cookie_replaced)
                out[k++] = (struct http_field){ "set-cookie", 10, set_cookie, set_cookie_len };
            cookie_replaced = true;
            continue;
        }
        out[k++] = *h;
    }
    if (set_cookie && !cookie_replaced && k < cap)
        out[k++] = (struct http_field){ "set-cookie", 10, set_cookie, set_cookie_len };
    return k;
}
