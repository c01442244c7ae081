/* The HTTP/1.1 upstream client of an exchange: connecting (pooled
 * keep-alive connections, TLS), writing the request head and body, reading
 * and parsing the response (interim 1xx skipped, chunked decoded, 101
 * returned as is) and handing it to the exchange's front-end. */
#include "upstream/client.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/worker.h"
#include "http/h1_chunk_out.h"
#include "http/h1_parser.h"
#include "log/log.h"
#include "proxy/exchange.h"
#include "proxy/failover.h"
#include "proxy/headers.h"
#include "proxy/runtime.h"
#include "tls/client.h"
#include "tls/group_name.h"
#include "config/config.h"
#include "upstream/conn_io.h"
#include "upstream/h2_client.h"
#include "upstream/pool.h"

#define MAX_RESP_HEADERS 100
#define CHUNK_EXT_MAX 4096
#define CHUNK_TRAILER_MAX 8192

static const struct h1_limits response_limits = {
    .max_start_line = 8192,
    .max_head = BUF_MAX,
    .max_headers = MAX_RESP_HEADERS,
};

static void on_upstream_event(struct upstream_conn *uc, uint32_t events)
{
    struct exchange *ex = uc->owner;
    ex->fe->kick(ex);
}

/* An idle connection to an address of a multi-address upstream: on a first
 * attempt any of them (from the rotation's), else the one failover chose.
 * Sets *ai to the address to connect to when there is none. */
static struct upstream_conn *take_idle_any(struct exchange *ex, const struct rt_addrs *addrs,
                                           const char *tls_name, bool fresh_only, size_t *ai)
{
    bool first = ex->addr_tries == 0;
    *ai = failover_addr(ex, addrs);
    for (size_t k = 0; !fresh_only && k < (first ? addrs->n : 1); k++) {
        size_t j = (*ai + k) % addrs->n;
        struct upstream_conn *uc = upstream_pool_take(
            ex->w->pool, (const struct sockaddr *)&addrs->addr[j], addrs->len[j], tls_name);
        if (uc) {
            ex->addr_i = j;
            return uc;
        }
    }
    return NULL;
}

static int h1c_attach(struct exchange *ex, bool fresh_only)
{
    struct rt_addrs *addrs = atomic_load_explicit(&ex->up->addrs, memory_order_acquire);
    if (!addrs || !addrs->n)
        return -1;
    size_t ai = 0;
    struct upstream_conn *uc = NULL;
    const char *tls_name = ex->up->cfg->tls ? ex->up->cfg->host : NULL;
    if (addrs->n == 1) {
        ex->addr_tries = 1; /* failover: the one address is tried */
        if (!fresh_only)
            uc = upstream_pool_take(ex->w->pool, (const struct sockaddr *)&addrs->addr[0],
                                    addrs->len[0], tls_name);
    } else {
        uc = take_idle_any(ex, addrs, tls_name, fresh_only, &ai);
    }
    const struct sockaddr *sa = (const struct sockaddr *)&addrs->addr[ai];
    if (uc) {
        uc->connected = true;
        ex->phase = EX_SENDING;
        exchange_arm_timer(ex, false);
    } else {
        uc = upstream_connect(ex->w->pool, sa, addrs->len[ai], tls_name, ex->up->mx_slot);
        if (!uc)
            return -1;
        if (uc->tls && !(ex->route->route->cfg->upstream_options & CFG_OPT_FORCE_HTTP11_UPSTREAM)) {
            /* the upstream chooses; h2 moves the exchange to the h2 client */
            static const unsigned char both[] = "\x02h2\x08http/1.1";
            SSL_set_alpn_protos(uc->tls->ssl, both, sizeof(both) - 1);
        }
        ex->phase = EX_CONNECTING;
        exchange_arm_timer(ex, true);
    }
    uc->owner = ex;
    uc->on_event = on_upstream_event;
    ex->uc = uc;
    return 0;
}

static void h1c_release(struct exchange *ex, bool reuse)
{
    struct upstream_conn *uc = ex->uc;
    if (!uc)
        return;
    ex->uc = NULL;
    if (reuse)
        upstream_pool_put(ex->w->pool, uc);
    else
        upstream_conn_close(ex->w->pool, uc);
}

static bool h1c_reused(const struct exchange *ex)
{
    return ex->uc && ex->uc->reused;
}

static bool h1c_unsent(const struct exchange *ex)
{
    return ex->phase == EX_CONNECTING;
}

static bool h1c_idle(const struct exchange *ex)
{
    return ex->uc && ex->uc->in.len == 0;
}

/* Only a request without body is kept (its head, by offset): body bytes on
 * an HTTP/1.1 connection that failed may have been processed. */
static bool h1c_rewind(struct exchange *ex)
{
    if (!ex->replayable)
        return false;
    ex->up_out.off = 0;
    ex->up_out.len = ex->head_len;
    return true;
}

/* ---- connecting ---- */

/* Advances the TLS handshake with the upstream. Returns 1 done, 0 waiting,
 * 2 failed over to another attempt, -1 failed (the exchange ended). */
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
            loop_want_out(ex->w->loop, &uc->io, true);
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
    return exchange_upstream_failed(ex, why) ? -1 : 2;
}

static int h1c_check_connected(struct exchange *ex)
{
    struct upstream_conn *uc = ex->uc;
    if (ex->phase != EX_CONNECTING)
        return 0;
    if (!uc->connected) {
        if (!uc->can_write)
            return 0;
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(uc->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            char why[160];
            snprintf(why, sizeof(why), "Failed to get response from backend: connect: %s",
                     strerror(err));
            return exchange_upstream_failed(ex, why) ? -1 : 1;
        }
        uc->connected = true;
        loop_want_out(ex->w->loop, &uc->io, false); /* connected: writable until EAGAIN */
        uc->can_read = true;
    }
    if (uc->tls && !uc->tls_done) {
        int r = upstream_handshake(ex);
        if (r != 1)
            return r == 2 ? 1 : r;
        const unsigned char *alpn = NULL;
        unsigned alpn_len = 0;
        SSL_get0_alpn_selected(uc->tls->ssl, &alpn, &alpn_len);
        if (alpn_len == 2 && memcmp(alpn, "h2", 2) == 0) {
            failover_connected(ex);
            if (h2c_adopt(ex) < 0) {
                exchange_abort(ex, 502, "Failed to get response from backend: out of memory");
                return -1;
            }
            return 1;
        }
    }
    failover_connected(ex);
    ex->phase = EX_SENDING;
    exchange_arm_timer(ex, false);
    return 1;
}

/* ---- request ---- */

static long h1c_send(struct exchange *ex, const char *p, size_t n, bool *progress)
{
    struct upstream_conn *uc = ex->uc;
    if (!uc || ex->phase == EX_CONNECTING)
        return 0;
    long body = 0;
    bool tls_pending = uc->tls && tls_io_has_pending(uc->tls); /* ciphertext to flush */
    if ((ex->up_out.len || n || tls_pending) && uc->can_write) {
        struct iovec iov[2];
        int niov = 0;
        if (ex->up_out.len)
            iov[niov++] = (struct iovec){ buf_data(&ex->up_out), ex->up_out.len };
        if (n)
            iov[niov++] = (struct iovec){ (void *)p, n };
        ssize_t w = niov ? upconn_write(uc, iov, niov) : 0;
        if (!niov && tls_pending)
            w = tls_io_flush(uc->tls) == IO_ERROR ? IO_ERROR : 0;
        bool blocked = uc->tls && tls_io_has_pending(uc->tls);
        if (w == IO_AGAIN) {
            uc->can_write = false;
            loop_want_out(ex->w->loop, &uc->io, true);
        } else if (w < 0) {
            return exchange_upstream_failed(ex, "Failed to get response from backend: write failed")
                       ? -1
                       : 0;
        } else {
            size_t done = (size_t)w;
            if (done < ex->up_out.len + n || blocked) {
                uc->can_write = false;
                loop_want_out(ex->w->loop, &uc->io, true);
            } else if (uc->io.events & EPOLLOUT) {
                loop_want_out(ex->w->loop, &uc->io, false);
            }
            size_t from_out = done < ex->up_out.len ? done : ex->up_out.len;
            if (ex->replayable && !ex->resp_started && ex->phase != EX_TUNNEL) {
                /* keep the head for a retry: only move the offset */
                ex->up_out.off += from_out;
                ex->up_out.len -= from_out;
            } else {
                buf_consume(&ex->up_out, from_out);
            }
            body = (long)(done - from_out);
            if (progress && done)
                *progress = true;
        }
    }
    if (ex->phase == EX_SENDING && ex->req_done && ex->up_out.len == 0)
        ex->phase = EX_WAIT_HEAD;
    return body;
}

static int h1c_frame_chunk(struct exchange *ex, const char *p, size_t n)
{
    return h1_chunk_append(&ex->up_out, p, n);
}

static int h1c_frame_last_chunk(struct exchange *ex, const char *trailer, size_t trailer_len)
{
    return h1_chunk_append_last(&ex->up_out, trailer, trailer_len);
}

static void h1c_shutdown_write(struct exchange *ex)
{
    struct upstream_conn *uc = ex->uc;
    if (!uc)
        return;
    if (uc->tls)
        tls_io_close_notify(uc->tls);
    shutdown(uc->io.fd, SHUT_WR);
}

/* ---- response ---- */

/* The response body is over: tell the front-end. */
static void end_response(struct exchange *ex, const char *trailer, size_t trailer_len)
{
    ex->resp_ended = true;
    exchange_response_end(ex, trailer, trailer_len);
}

/* Hands the head to the front-end. Returns 0, or -1 when the exchange ended. */
static int start_response(struct exchange *ex, const struct h1_response *res,
                          const struct http_field *hdrs, size_t head_len)
{
    struct upstream_conn *uc = ex->uc;
    ex->status = res->status;
    ex->up_body = (int)res->body;
    ex->upstream_reusable = (res->flags & H1_F_KEEP_ALIVE) != 0;
    struct ex_response out = {
        .status = res->status,
        .reason = res->reason_phrase,
        .reason_len = res->reason_phrase_len,
    };
    if (res->body == H1_BODY_TUNNEL) {
        /* 101: returned as is, then bytes both ways (4.10) */
        out.raw = buf_data(&uc->in);
        out.raw_len = head_len;
        ex->resp_started = true;
        if (ex->fe->response_head(ex, &out) < 0) {
            exchange_abort(ex, 500, "Failed to upgrade connection: head too large");
            return -1;
        }
        buf_consume(&uc->in, head_len);
        ex->phase = EX_TUNNEL;
        ex->req_done = false; /* now: until the client closes its side */
        ex->upstream_reusable = false;
        loop_timer_cancel(ex->w->loop, &ex->timer);
        exchange_access_log(ex, res->status);
        return 0;
    }
    if (res->body == H1_BODY_CHUNKED) {
        h1_chunked_init(&ex->resp_chunk, CHUNK_EXT_MAX, CHUNK_TRAILER_MAX);
        out.body = EX_BODY_STREAM;
    } else if (res->body == H1_BODY_CLOSE) {
        ex->upstream_reusable = false;
        out.body = EX_BODY_STREAM;
        out.until_close = true;
    } else if (res->body == H1_BODY_LENGTH) {
        ex->resp_remaining = res->content_length;
        out.body = EX_BODY_LENGTH;
        out.content_length = res->content_length;
    }
    struct http_field fields[MAX_RESP_HEADERS + 2];
    out.fields = fields;
    out.n_fields = exchange_resp_fields(ex, hdrs, res->num_headers, res->body == H1_BODY_CHUNKED,
                                        fields, MAX_RESP_HEADERS + 2, &out.has_date);
    ex->resp_started = true;
    if (ex->fe->response_head(ex, &out) < 0) {
        exchange_abort(ex, 0, NULL);
        return -1;
    }
    buf_consume(&uc->in, head_len);
    /* the request head is no longer needed for a retry */
    ex->up_out.len = 0;
    ex->up_out.off = 0;
    ex->phase = EX_BODY;
    exchange_access_log(ex, res->status);
    if (ex->head_request || res->body == H1_BODY_NONE ||
        (res->body == H1_BODY_LENGTH && res->content_length == 0))
        end_response(ex, NULL, 0);
    return 0;
}

/* Parses the response head (skipping interim 1xx). Returns 1 when it
 * started, 0 when more bytes are needed, -1 when the exchange ended. */
static int read_head(struct exchange *ex)
{
    struct upstream_conn *uc = ex->uc;
    while (uc->in.len) {
        struct http_field hdrs[MAX_RESP_HEADERS];
        struct h1_response res;
        int r = h1_parse_response(buf_data(&uc->in), uc->in.len, &response_limits,
                                  ex->resp_req_flags, hdrs, &res);
        if (r == H1_INCOMPLETE)
            return 0;
        if (r == H1_ERROR) {
            char why[160];
            snprintf(why, sizeof(why), "Failed to get response from backend: %s", res.err_reason);
            exchange_abort(ex, ex->upgrade && res.status == 101 ? 500 : 502, why);
            return -1;
        }
        if (res.status >= 100 && res.status < 200 && res.status != 101) {
            exchange_interim(ex, res.status, hdrs, res.num_headers);
            buf_consume(&uc->in, (size_t)r);
            continue;
        }
        if (res.status == 101) {
            const struct http_field *got = NULL;
            for (size_t i = 0; i < res.num_headers; i++)
                if (NAME_IS(&hdrs[i], "upgrade"))
                    got = &hdrs[i];
            if (!got || got->value_len != ex->upgrade_value_len ||
                strncasecmp(got->value, ex->upgrade_value, got->value_len) != 0) {
                exchange_abort(ex, 500,
                               "Failed to upgrade connection: upstream switched to "
                               "another protocol");
                return -1;
            }
        }
        return start_response(ex, &res, hdrs, (size_t)r) < 0 ? -1 : 1;
    }
    return 0;
}

/* A chunked body: decoded, handed over piece by piece. */
static int relay_chunked(struct exchange *ex, bool eof)
{
    struct upstream_conn *uc = ex->uc;
    int progress = 0;
    while (uc->in.len && !ex->resp_ended && ex->fe->response_room(ex)) {
        struct h1_chunk_out co;
        int r = h1_chunked_decode(&ex->resp_chunk, buf_data(&uc->in), uc->in.len, &co);
        if (r == H1_CHUNK_ERROR) {
            exchange_abort(ex, 0, NULL);
            return -1;
        }
        if (r == H1_CHUNK_DATA && co.data_len &&
            ex->fe->response_body(ex, co.data, co.data_len) < 0) {
            exchange_abort(ex, 0, NULL);
            return -1;
        }
        if (r == H1_CHUNK_DONE) {
            /* the trailer points into uc->in: hand it over before consuming */
            end_response(ex, co.trailer, co.trailer_len);
            ex->up_body = H1_BODY_NONE;
        }
        buf_consume(&uc->in, co.consumed);
        if (co.consumed || r != H1_CHUNK_MORE)
            progress = 1; /* an incomplete size line or trailer is no progress */
        if (r == H1_CHUNK_MORE)
            break;
    }
    if (!ex->resp_ended && eof) {
        exchange_abort(ex, 0, NULL); /* truncated chunked body */
        return -1;
    }
    return progress;
}

/* A Content-Length body, one delimited by the close, or tunnel bytes:
 * written straight from uc->in. */
static int relay_raw(struct exchange *ex, bool eof)
{
    struct upstream_conn *uc = ex->uc;
    int progress = 0;
    size_t direct = uc->in.len;
    if (ex->phase != EX_TUNNEL && ex->up_body == H1_BODY_LENGTH && direct > ex->resp_remaining)
        direct = (size_t)ex->resp_remaining;
    if (direct && !ex->resp_ended) {
        long w = ex->fe->response_body(ex, buf_data(&uc->in), direct);
        if (w < 0) {
            exchange_abort(ex, 0, NULL);
            return -1;
        }
        if (w > 0) {
            buf_consume(&uc->in, (size_t)w);
            if (ex->up_body == H1_BODY_LENGTH && ex->phase != EX_TUNNEL)
                ex->resp_remaining -= (uint64_t)w;
            progress = 1;
        }
    }
    if (ex->phase == EX_TUNNEL) {
        if (eof)
            ex->up_eof = true;
        if (ex->up_eof && uc->in.len == 0 && !ex->resp_ended) {
            end_response(ex, NULL, 0);
            progress = 1;
        }
        return progress;
    }
    if (ex->up_body == H1_BODY_LENGTH && ex->resp_remaining == 0 && !ex->resp_ended) {
        end_response(ex, NULL, 0);
    } else if (eof && ex->up_body == H1_BODY_CLOSE && uc->in.len == 0) {
        ex->upstream_reusable = false;
        end_response(ex, NULL, 0);
        progress = 1;
    } else if (eof && ex->up_body == H1_BODY_LENGTH && ex->resp_remaining) {
        exchange_abort(ex, 0, NULL); /* truncated body */
        return -1;
    }
    return progress;
}

static int h1c_pump_response(struct exchange *ex)
{
    struct upstream_conn *uc = ex->uc;
    if (!uc || ex->phase == EX_CONNECTING || (ex->resp_ended && ex->phase != EX_TUNNEL))
        return 0;
    int progress = 0;
    int rr = upconn_read(uc, BUF_BLOCK);
    if (rr == 1) {
        progress = 1;
        if (ex->phase != EX_TUNNEL)
            exchange_arm_timer(ex, false);
    } else if (rr == -2) {
        return exchange_upstream_failed(ex, "Failed to get response from backend: read failed") ? -1
                                                                                                : 1;
    }
    bool eof = rr == -1;
    if (!ex->resp_started) {
        int h = read_head(ex);
        if (h < 0)
            return -1;
        if (h == 0) {
            if (eof)
                return exchange_upstream_failed(
                           ex, "Failed to get response from backend: connection closed")
                           ? -1
                           : 1;
            return progress;
        }
        progress = 1;
        if (ex->resp_ended)
            return progress;
    }
    int r = ex->up_body == H1_BODY_CHUNKED && ex->phase != EX_TUNNEL ? relay_chunked(ex, eof)
                                                                     : relay_raw(ex, eof);
    if (r < 0)
        return -1;
    return progress | r;
}

const struct up_client h1_client = {
    .attach = h1c_attach,
    .release = h1c_release,
    .reused = h1c_reused,
    .unsent = h1c_unsent,
    .idle = h1c_idle,
    .rewind = h1c_rewind,
    .check_connected = h1c_check_connected,
    .send = h1c_send,
    .queue_body = h1c_frame_chunk,
    .queue_end = h1c_frame_last_chunk,
    .shutdown_write = h1c_shutdown_write,
    .pump_response = h1c_pump_response,
};
