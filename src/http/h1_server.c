#include "http/h1_server.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/server.h"
#include "core/worker.h"
#include "http/h1_chunk_out.h"
#include "http/h1_parser.h"
#include "log/access_line.h"
#include "log/log.h"
#include "net/tls_io.h"
#include "proxy/client_conn.h"
#include "proxy/client_tls.h"
#include "proxy/exchange.h"
#include "proxy/headers.h"

#define H1_MAX_HEADERS 100
#define CHUNK_EXT_MAX 4096
#define CHUNK_TRAILER_MAX 8192

static const struct h1_limits request_limits = {
    .max_start_line = 8192,
    .max_head = BUF_MAX,
    .max_headers = H1_MAX_HEADERS,
};

/* ---- writing into c->out ---- */

static bool put(struct client *c, const char *s, size_t n)
{
    if (buf_room(&c->out) < n && buf_reserve(&c->out, n) < 0)
        return false;
    memcpy(buf_data(&c->out) + c->out.len, s, n);
    c->out.len += n;
    return true;
}

#define PUTS(c, lit) put((c), lit, sizeof(lit) - 1)

static void synthetic(struct client *c, int status, const char *location, size_t location_len,
                      bool close_after)
{
    char head[256];
    const char *reason = alog_reason((unsigned)status);
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\ncontent-length: 0\r\ndate: %s\r\n",
                     status, reason ? reason : "", http_date_now());
    size_t need = (size_t)n + location_len + 48;
    if (buf_reserve(&c->out, need) < 0) {
        c->closing = true;
        return;
    }
    char *p = buf_data(&c->out) + c->out.len;
    memcpy(p, head, (size_t)n);
    p += n;
    if (location) {
        memcpy(p, "location: ", 10);
        p += 10;
        memcpy(p, location, location_len);
        p += location_len;
        memcpy(p, "\r\n", 2);
        p += 2;
    }
    if (close_after) {
        memcpy(p, "connection: close\r\n", 19);
        p += 19;
        c->closing = true;
    }
    memcpy(p, "\r\n", 2);
    p += 2;
    c->out.len = (size_t)(p - c->out.base - c->out.off);
}

/* ---- the exchange's front-end operations ---- */

static void fe_synthetic(struct exchange *ex, int status, const char *location, size_t location_len,
                         bool close_after)
{
    struct client *c = ex->c;
    synthetic(c, status, location, location_len, close_after || !c->keep_alive);
}

static void fe_continue_100(struct exchange *ex)
{
    PUTS(ex->c, "HTTP/1.1 100 Continue\r\n\r\n");
}

/* 1xx for HTTP/1.1 clients only (RFC 9110 15.2: not to HTTP/1.0). */
static void fe_interim(struct exchange *ex, int status, const struct http_field *fields, size_t n)
{
    struct client *c = ex->c;
    if (c->http10)
        return;
    char line[64];
    const char *reason = alog_reason((unsigned)status);
    int l = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status, reason ? reason : "");
    bool ok = l > 0 && (size_t)l < sizeof(line) && put(c, line, (size_t)l);
    for (size_t i = 0; i < n && ok; i++)
        ok = put(c, fields[i].name, fields[i].name_len) && PUTS(c, ": ") &&
             put(c, fields[i].value, fields[i].value_len) && PUTS(c, "\r\n");
    if (ok)
        PUTS(c, "\r\n");
}

static int fe_response_head(struct exchange *ex, const struct ex_response *res)
{
    struct client *c = ex->c;
    if (res->raw) {
        c->keep_alive = false;
        return put(c, res->raw, res->raw_len) ? 0 : -1;
    }
    if (res->body == EX_BODY_STREAM) {
        /* HTTP/1.0, or an upstream that ends the body by closing (passed on
         * as is): the body ends with the connection */
        c->chunked_out = !c->http10 && !res->until_close;
        if (!c->chunked_out)
            c->keep_alive = false;
    }
    if (!ex->req_done)
        c->keep_alive = false; /* answered before the body ended */
    /* an HTTP/2 upstream sends no reason phrase: the canonical one */
    const char *reason = res->reason;
    size_t reason_len = res->reason_len;
    if (!reason_len) {
        reason = alog_reason((unsigned)res->status);
        reason_len = reason ? strlen(reason) : 0;
    }
    /* the fields' room at once, then plain copies */
    size_t need = 16 + reason_len;
    for (size_t i = 0; i < res->n_fields; i++)
        need += res->fields[i].name_len + res->fields[i].value_len + 4;
    if (buf_room(&c->out) < need && buf_reserve(&c->out, need) < 0)
        return -1;
    char *p = buf_data(&c->out) + c->out.len;
    memcpy(p, "HTTP/1.1 ", 9);
    unsigned st = res->status >= 100 && res->status <= 999 ? (unsigned)res->status : 500;
    p[9] = (char)('0' + st / 100);
    p[10] = (char)('0' + st / 10 % 10);
    p[11] = (char)('0' + st % 10);
    p[12] = ' ';
    p += 13;
    memcpy(p, reason, reason_len);
    p += reason_len;
    p[0] = '\r';
    p[1] = '\n';
    p += 2;
    for (size_t i = 0; i < res->n_fields; i++) {
        const struct http_field *f = &res->fields[i];
        memcpy(p, f->name, f->name_len);
        p += f->name_len;
        p[0] = ':';
        p[1] = ' ';
        memcpy(p + 2, f->value, f->value_len);
        p += 2 + f->value_len;
        p[0] = '\r';
        p[1] = '\n';
        p += 2;
    }
    c->out.len = (size_t)(p - buf_data(&c->out));
    bool ok = PUTS(c, "server: rpxy\r\n");
    if (ok && !res->has_date) {
        const char *d = http_date_now();
        ok = PUTS(c, "date: ") && put(c, d, strlen(d)) && PUTS(c, "\r\n");
    }
    if (ok && c->chunked_out)
        ok = PUTS(c, "transfer-encoding: chunked\r\n");
    if (ok && !c->keep_alive)
        ok = PUTS(c, "connection: close\r\n");
    else if (ok && c->http10)
        ok = PUTS(c, "connection: keep-alive\r\n");
    return ok && PUTS(c, "\r\n") ? 0 : -1;
}

static bool fe_response_room(struct exchange *ex)
{
    return ex->c->out.len < BUF_BLOCK;
}

static long fe_response_body(struct exchange *ex, const char *p, size_t n)
{
    struct client *c = ex->c;
    if (c->chunked_out && ex->phase != EX_TUNNEL) {
        if (h1_chunk_append(&c->out, p, n) < 0)
            return -1;
        return client_flush(c, NULL, 0) < 0 ? -1 : (long)n;
    }
    /* a small body joins the head in one buffer: one send instead of writev */
    if (n <= 4096 && c->out.len && buf_room(&c->out) >= n) {
        memcpy(buf_data(&c->out) + c->out.len, p, n);
        c->out.len += n;
        return client_flush(c, NULL, 0) < 0 ? -1 : (long)n;
    }
    return client_flush(c, p, n);
}

static void fe_response_end(struct exchange *ex, const char *trailer, size_t trailer_len)
{
    struct client *c = ex->c;
    if (c->chunked_out && ex->phase != EX_TUNNEL) {
        h1_chunk_append_last(&c->out, trailer, trailer_len);
        c->chunked_out = false;
    }
}

/* After a 101, the upstream's end is passed on once the bytes before it left. */
static void tunnel_shut_client(struct client *c, struct exchange *ex)
{
    if (ex->phase != EX_TUNNEL || !ex->resp_ended || c->out.len || c->shut_wr)
        return;
    /* TLS: a close_notify the socket could not take yet goes at the end of
     * the pass; the FIN is then left to the close */
    if (!c->tlsc || tls_io_close_notify(&c->tlsc->io) == 1)
        shutdown(c->io.fd, SHUT_WR);
    c->shut_wr = true;
}

static bool fe_response_pending(struct exchange *ex)
{
    struct client *c = ex->c;
    if (ex->phase == EX_TUNNEL)
        return c->out.len || !c->shut_wr;
    return c->out.len != 0;
}

/* Offers the body bytes c->in holds. Returns 1 on progress, 0, -1 ended. */
static int offer_body(struct client *c, struct exchange *ex)
{
    if (ex->phase == EX_TUNNEL) {
        if (!c->in.len)
            return 0;
        long w = exchange_request_body(ex, buf_data(&c->in), c->in.len);
        if (w < 0)
            return -1;
        buf_consume(&c->in, (size_t)w);
        return w > 0;
    }
    if (ex->req_done)
        return 0;
    int progress = 0;
    if (!c->req_chunked) {
        size_t n = c->in.len < c->req_remaining ? c->in.len : (size_t)c->req_remaining;
        if (n) {
            long w = exchange_request_body(ex, buf_data(&c->in), n);
            if (w < 0)
                return -1;
            buf_consume(&c->in, (size_t)w);
            c->req_remaining -= (uint64_t)w;
            progress = w > 0;
        }
        if (c->req_remaining == 0)
            return exchange_request_end(ex, NULL, 0) < 0 ? -1 : 1;
        return progress;
    }
    while (c->in.len && exchange_request_room(ex)) {
        struct h1_chunk_out co;
        /* at most a block at a time: the exchange then takes every slice whole */
        size_t len = c->in.len < BUF_BLOCK ? c->in.len : BUF_BLOCK;
        int r = h1_chunked_decode(&c->req_chunk, buf_data(&c->in), len, &co);
        if (r == H1_CHUNK_ERROR) {
            c->in.len = 0;
            exchange_abort(ex, 400, NULL);
            return -1;
        }
        if (r == H1_CHUNK_DATA && exchange_request_body(ex, co.data, co.data_len) < 0)
            return -1;
        if (r == H1_CHUNK_DONE && exchange_request_end(ex, co.trailer, co.trailer_len) < 0)
            return -1;
        buf_consume(&c->in, co.consumed);
        if (co.consumed || r != H1_CHUNK_MORE)
            progress = 1; /* an incomplete size line or trailer is no progress */
        if (r != H1_CHUNK_DATA)
            break;
    }
    return progress;
}

static int fe_pump_request(struct exchange *ex)
{
    struct client *c = ex->c;
    int progress = 0;
    for (;;) {
        /* heads, 100 Continue, chunks: out before anything else */
        if (c->out.len && client_flush(c, NULL, 0) < 0) {
            exchange_abort(ex, 0, NULL);
            return -1;
        }
        tunnel_shut_client(c, ex);
        int r = offer_body(c, ex);
        if (r < 0)
            return -1;
        progress |= r;
        bool tunnel = ex->phase == EX_TUNNEL;
        if (c->read_eof && c->in.len == 0 && !ex->req_done) {
            if (tunnel)
                return exchange_request_end(ex, NULL, 0) < 0 ? -1 : 1;
            exchange_abort(ex, 0, NULL); /* the client gave up mid-body */
            return -1;
        }
        bool want = !c->read_eof && c->can_read && c->in.len < BUF_BLOCK && !ex->req_done &&
                    (tunnel || c->req_chunked || c->in.len < c->req_remaining);
        if (!want)
            return progress;
        if (buf_reserve(&c->in, 4096) < 0)
            return progress;
        ssize_t n = client_recv(c, buf_data(&c->in) + c->in.len, buf_room(&c->in));
        if (n > 0) {
            c->in.len += (size_t)n;
            progress = 1;
        } else if (n == 0) {
            c->read_eof = true;
        } else if (n != IO_AGAIN) {
            exchange_abort(ex, 0, NULL);
            return -1;
        }
    }
}

static void fe_done(struct exchange *ex, bool ok)
{
    struct client *c = ex->c;
    c->ex = NULL;
    if (c->dead)
        return;
    if (!ok) {
        c->closing = true;
        return;
    }
    if (!c->keep_alive || !ex->req_done) {
        c->closing = true;
        c->orderly = ex->req_done;
    }
    if (!c->closing)
        client_arm_idle_timer(c);
}

static void fe_kick(struct exchange *ex)
{
    client_drive(ex->c);
}

static const struct ex_front h1_front = {
    .synthetic = fe_synthetic,
    .continue_100 = fe_continue_100,
    .interim = fe_interim,
    .response_head = fe_response_head,
    .response_room = fe_response_room,
    .response_body = fe_response_body,
    .response_end = fe_response_end,
    .response_pending = fe_response_pending,
    .pump_request = fe_pump_request,
    .done = fe_done,
    .kick = fe_kick,
};

/* ---- requests ---- */

static void fill_request(const struct h1_request *req, const struct http_field *hdrs,
                         struct ex_request *er)
{
    bool absolute = req->form == H1_TARGET_ABSOLUTE;
    *er = (struct ex_request){
        .version = req->minor_version ? HTTP_11 : HTTP_10,
        .method = req->method,
        .method_len = req->method_len,
        .target = absolute ? req->path : req->target,
        .target_len = absolute ? req->path_len : req->target_len,
        .routable = req->form == H1_TARGET_ORIGIN || absolute,
        .original_uri = req->target,
        .original_uri_len = req->target_len,
        .authority = req->authority,
        .authority_len = req->authority_len,
        .host = req->host,
        .host_len = req->host_len,
        .fields = hdrs,
        .n_fields = req->num_headers,
        .body = req->body == H1_BODY_CHUNKED  ? EX_BODY_STREAM
                : req->body == H1_BODY_LENGTH ? EX_BODY_LENGTH
                                              : EX_BODY_NONE,
        .content_length = req->content_length,
        .content_length_field = (req->flags & H1_F_CONTENT_LENGTH) != 0,
        .keep_alive = (req->flags & H1_F_KEEP_ALIVE) != 0,
        .upgrade = (req->flags & H1_F_CONN_UPGRADE) && (req->flags & H1_F_UPGRADE),
        .expect_continue = (req->flags & H1_F_EXPECT_CONTINUE) != 0,
        .expect_other = (req->flags & H1_F_EXPECT_OTHER) != 0,
    };
    if (absolute) {
        const char *colon = memchr(req->target, ':', req->target_len);
        er->scheme = req->target;
        er->scheme_len = colon ? (size_t)(colon - req->target) : 0;
    }
}

/* Parses what c->in holds. Returns true when a request was taken (started
 * an exchange or queued a synthetic answer). */
static bool try_request(struct client *c)
{
    struct http_field hdrs[H1_MAX_HEADERS];
    struct h1_request req;
    int r = h1_parse_request(buf_data(&c->in), c->in.len, &request_limits, hdrs, &req);
    if (r == H1_INCOMPLETE)
        return false;
    loop_timer_cancel(c->w->loop, &c->timer);
    if (r == H1_ERROR) {
        log_debug("Invalid request from client: %s", req.err_reason);
        c->in.len = 0;
        synthetic(c, req.err_status, NULL, 0, true);
        return true;
    }
    struct ex_request er;
    fill_request(&req, hdrs, &er);
    c->keep_alive = er.keep_alive;
    c->http10 = er.version == HTTP_10;
    c->chunked_out = false;
    c->req_chunked = req.body == H1_BODY_CHUNKED;
    c->req_remaining = req.body == H1_BODY_LENGTH ? req.content_length : 0;
    if (c->req_chunked)
        h1_chunked_init(&c->req_chunk, CHUNK_EXT_MAX, CHUNK_TRAILER_MAX);
    struct exchange *ex;
    exchange_start(c, &h1_front, NULL, &er, &ex);
    c->ex = ex;
    if (c->closing)
        c->in.len = 0; /* a refused request: its body is not read */
    else
        buf_consume(&c->in, (size_t)r);
    return true;
}

void h1_server_drive(struct client *c)
{
    while (!c->dead) {
        if (c->ex) {
            exchange_drive(c->ex);
            if (c->dead || c->ex)
                return;
            continue;
        }
        if (c->out.len) {
            if (client_flush(c, NULL, 0) < 0) {
                client_close(c);
                return;
            }
            if (c->out.len)
                return;
        }
        if (c->closing) {
            client_close_gracefully(c);
            return;
        }
        if (atomic_load_explicit(&g_server.draining, memory_order_relaxed) && c->in.len == 0) {
            client_close(c);
            return;
        }
        if (c->in.len && try_request(c))
            continue;
        if (c->read_eof) {
            client_close(c);
            return;
        }
        if (!c->can_read) {
            if (c->in.len == 0) {
                buf_release(&c->in);
                buf_release(&c->out);
                if (!loop_timer_armed(&c->timer))
                    client_arm_idle_timer(c);
            }
            return;
        }
        int r = client_read_more(c);
        if (r == -2) {
            c->in.len = 0;
            synthetic(c, 431, NULL, 0, true);
        } else if (r < 0) {
            client_close(c);
            return;
        }
    }
}
