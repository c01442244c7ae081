/* The HTTP/2 upstream client (nghttp2): one multiplexed connection per
 * upstream address per worker, a new one when the peer's
 * MAX_CONCURRENT_STREAMS is reached or after its GOAWAY; prior knowledge on
 * plaintext, ALPN h2 over TLS. Each exchange is one stream. The request
 * head comes from the same policy as HTTP/1.1 (upreq_build's bytes, parsed
 * back into fields); the response is handed to the exchange's front-end
 * with trailers. A stream the upstream refused (GOAWAY, REFUSED_STREAM) is
 * retried once on a new connection, with its body when what was sent of it
 * is still in ex->replay (H2C_REPLAY_MAX); a reset after the response began
 * reaches the client as a reset. */
#include "upstream/client.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/worker.h"
#include "http/h1_parser.h"
#include "http/h2_mem.h"
#include "http/h2_trailer.h"
#include "log/log.h"
#include "proxy/exchange.h"
#include "proxy/failover.h"
#include "proxy/headers.h"
#include "proxy/runtime.h"
#include "tls/client.h"
#include "upstream/conn_io.h"
#include "upstream/h2_client.h"
#include "upstream/pool.h"

#define H2C_MAX_FIELDS 100
#define H2C_STREAM_WINDOW 65535u
#define H2C_CONN_WINDOW (1u << 20)
/* A refused request is replayed when its head and the body sent so far fit
 * in this; beyond it the bytes are not kept (a refusal is then a 502). */
#define H2C_REPLAY_MAX (BUF_MAX - BUF_BLOCK)

struct h2c_ref {
    uint32_t name, name_len, value, value_len;
};

struct h2c_stream {
    struct h2c_conn *conn;
    struct h2c_stream *next, *prev;
    struct exchange *ex; /* NULL once the exchange let go */
    int32_t id;          /* 0 until submitted */
    bool submitted, closed, dirty;
    uint32_t close_error;
    bool sent_any; /* request bytes were handed to nghttp2 */

    /* response */
    struct buf head; /* field names and values */
    struct h2c_ref fields[H2C_MAX_FIELDS];
    size_t n_fields;
    int status;
    bool head_done, in_trailers, end;
    struct buf trailer; /* response trailer as "name: value\r\n" lines */
    struct buf body;    /* DATA not yet taken by the front-end */

    bool req_deferred; /* the request body waits for bytes */
};

struct h2c_conn {
    struct h2c_conn *next, *prev;
    struct worker *w;
    struct upstream_conn *uc;
    nghttp2_session *session;
    struct h2c_stream *streams;
    size_t n_streams;
    bool connected, ready, failed, goaway, dead;
    struct buf out;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char tls_name[256];
    bool tls;
    struct loop_timer idle;
    struct loop_deferred free_d;
};

static _Thread_local struct h2c_conn *conns;

/* ---- streams ---- */

static void stream_unlink_free(struct h2c_stream *s)
{
    struct h2c_conn *h = s->conn;
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->n_streams--;
    struct buf *bufs[] = { &s->head, &s->trailer, &s->body };
    for (size_t i = 0; i < 3; i++) {
        bufs[i]->len = 0;
        buf_release(bufs[i]);
    }
    if (s->id && h->session && !h->dead)
        nghttp2_session_set_stream_user_data(h->session, s->id, NULL);
    free(s);
    if (h->n_streams == 0 && !h->dead && h->w->rt)
        loop_timer_set(h->w->loop, &h->idle, h->w->rt->cfg->upstream_idle_timeout_s * 1000,
                       h->idle.cb);
}

static const char *ref(const struct h2c_stream *s, uint32_t off)
{
    return buf_data(&s->head) + off;
}

/* ---- the connection ---- */

static void conn_free(struct loop *loop, struct loop_deferred *d)
{
    struct h2c_conn *h = container_of(d, struct h2c_conn, free_d);
    free(h);
}

/* Closes the connection; its streams see it as closed (their exchanges
 * fail or retry when kicked). */
static void conn_close(struct h2c_conn *h)
{
    if (h->dead)
        return;
    h->dead = true;
    h->failed = true;
    loop_timer_cancel(h->w->loop, &h->idle);
    if (h->prev)
        h->prev->next = h->next;
    else
        conns = h->next;
    if (h->next)
        h->next->prev = h->prev;
    for (struct h2c_stream *s = h->streams; s; s = s->next) {
        s->closed = true;
        s->dirty = true;
        if (!s->close_error)
            s->close_error = s->submitted ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_REFUSED_STREAM;
    }
    if (h->session)
        nghttp2_session_del(h->session);
    h->session = NULL;
    upstream_conn_close(h->uc->pool, h->uc);
    h->uc = NULL;
    h->out.len = 0;
    buf_release(&h->out);
}

/* Kicks the exchanges of streams that changed; their drive may end them. */
static void kick_streams(struct h2c_conn *h)
{
    for (int guard = 0; guard < 10000; guard++) {
        struct h2c_stream *s = h->streams;
        while (s && !(s->dirty && s->ex))
            s = s->next;
        if (!s)
            break;
        s->dirty = false;
        s->ex->fe->kick(s->ex);
    }
    /* streams whose exchange is gone and that nghttp2 no longer knows */
    for (struct h2c_stream *s = h->streams, *next; s; s = next) {
        next = s->next;
        if (!s->ex && (s->closed || !s->submitted))
            stream_unlink_free(s);
    }
    if (h->dead && !h->streams)
        loop_defer(h->w->loop, &h->free_d, conn_free);
}

static void conn_fail(struct h2c_conn *h, const char *why)
{
    log_debug("HTTP/2 upstream connection to %s failed: %s", h->tls_name[0] ? h->tls_name : "-",
              why);
    conn_close(h);
}

/* Writes h->out to the socket. Returns 0, or -1 when the connection failed. */
static int conn_flush(struct h2c_conn *h)
{
    struct upstream_conn *uc = h->uc;
    bool tls_pending = uc->tls && tls_io_has_pending(uc->tls);
    if ((!h->out.len && !tls_pending) || !uc->can_write)
        return 0;
    ssize_t w;
    if (h->out.len) {
        struct iovec iov = { buf_data(&h->out), h->out.len };
        w = upconn_write(uc, &iov, 1);
    } else {
        w = tls_io_flush(uc->tls) == IO_ERROR ? IO_ERROR : 0;
    }
    if (w == IO_ERROR)
        return -1;
    if (w > 0)
        buf_consume(&h->out, (size_t)w);
    if (w == IO_AGAIN || h->out.len || (uc->tls && tls_io_has_pending(uc->tls))) {
        uc->can_write = false;
        loop_want_out(h->w->loop, &uc->io, true);
    } else if (uc->io.events & EPOLLOUT) {
        loop_want_out(h->w->loop, &uc->io, false);
    }
    return 0;
}

/* Lets nghttp2 write what it has. Returns 0, or -1 when the connection failed. */
static int conn_send(struct h2c_conn *h)
{
    if (h->dead || !h->ready)
        return h->dead ? -1 : 0;
    if (nghttp2_session_send(h->session) != 0 || conn_flush(h) < 0) {
        conn_fail(h, "write failed");
        return -1;
    }
    return 0;
}

static ssize_t on_send(nghttp2_session *session, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    struct h2c_conn *h = user;
    if (h->out.len >= BUF_BLOCK && conn_flush(h) < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (h->out.len >= BUF_BLOCK)
        return NGHTTP2_ERR_WOULDBLOCK;
    if (buf_reserve(&h->out, len) < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    memcpy(buf_data(&h->out) + h->out.len, data, len);
    h->out.len += len;
    return (ssize_t)len;
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    struct h2c_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s && s->head_done)
        s->in_trailers = true;
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t nl, const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
    struct h2c_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (s->in_trailers)
        return h2_trailer_append(&s->trailer, name, nl, value, vl) < 0
                   ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE
                   : 0;
    if (nl == 7 && memcmp(name, ":status", 7) == 0) {
        int st = 0;
        for (size_t i = 0; i < vl && i < 3; i++)
            st = st * 10 + (value[i] - '0');
        s->status = st;
        return 0;
    }
    if (s->n_fields == H2C_MAX_FIELDS || s->head.len + nl + vl > BUF_MAX ||
        buf_reserve(&s->head, nl + vl) < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    uint32_t at = (uint32_t)s->head.len;
    memcpy(buf_data(&s->head) + at, name, nl);
    memcpy(buf_data(&s->head) + at + nl, value, vl);
    s->head.len += nl + vl;
    s->fields[s->n_fields++] =
        (struct h2c_ref){ at, (uint32_t)nl, at + (uint32_t)nl, (uint32_t)vl };
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    struct h2c_conn *h = user;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        h->goaway = true; /* no new streams here; nghttp2 closes the refused ones */
        return 0;
    }
    struct h2c_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && !s->head_done) {
        if (s->status >= 100 && s->status < 200) {
            /* interim response: passed on, then forgotten; the final one follows */
            if (s->ex) {
                struct http_field f[H2C_MAX_FIELDS];
                for (size_t i = 0; i < s->n_fields; i++)
                    f[i] =
                        (struct http_field){ ref(s, s->fields[i].name), s->fields[i].name_len,
                                             ref(s, s->fields[i].value), s->fields[i].value_len };
                exchange_interim(s->ex, s->status, s->n_fields ? f : NULL, s->n_fields);
            }
            s->head.len = 0;
            s->n_fields = 0;
            s->status = 0;
        } else {
            s->head_done = true;
        }
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        s->end = true;
    s->dirty = true;
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *user)
{
    struct h2c_stream *s = nghttp2_session_get_stream_user_data(session, id);
    if (!s || !s->ex || buf_reserve(&s->body, len) < 0) {
        nghttp2_session_consume(session, id, len);
        return 0;
    }
    memcpy(buf_data(&s->body) + s->body.len, data, len);
    s->body.len += len;
    s->dirty = true;
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *user)
{
    struct h2c_stream *s = nghttp2_session_get_stream_user_data(session, id);
    if (!s)
        return 0;
    s->closed = true;
    s->close_error = error_code;
    s->dirty = true;
    nghttp2_session_set_stream_user_data(session, id, NULL);
    s->id = 0; /* nghttp2 forgot it */
    return 0;
}

/* One set for the process (sessions copy it), made once. */
static nghttp2_session_callbacks *shared_cbs;

static void make_callbacks(void)
{
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        return;
    nghttp2_session_callbacks_set_send_callback(cbs, on_send);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    shared_cbs = cbs;
}

static nghttp2_session_callbacks *callbacks(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_callbacks);
    return shared_cbs;
}

static int submit_stream(struct h2c_stream *s);

/* The connection is up (and its TLS handshake done): start HTTP/2. */
static int conn_ready(struct h2c_conn *h)
{
    if (h->tls) {
        const unsigned char *alpn = NULL;
        unsigned alpn_len = 0;
        SSL_get0_alpn_selected(h->uc->tls->ssl, &alpn, &alpn_len);
        if (alpn_len != 2 || memcmp(alpn, "h2", 2) != 0)
            return -1;
    }
    nghttp2_option *opt;
    if (nghttp2_option_new(&opt) != 0)
        return -1;
    nghttp2_option_set_no_auto_window_update(opt, 1);
    int r = nghttp2_session_client_new3(&h->session, callbacks(), h, opt, h2_mem());
    nghttp2_option_del(opt);
    if (r != 0)
        return -1;
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2C_STREAM_WINDOW },
    };
    if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, 2) != 0 ||
        nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0,
                                              (int32_t)H2C_CONN_WINDOW) != 0)
        return -1;
    h->ready = true;
    for (struct h2c_stream *s = h->streams; s; s = s->next)
        if (s->ex && !s->submitted && submit_stream(s) < 0) {
            s->closed = true;
            s->close_error = NGHTTP2_INTERNAL_ERROR;
        }
    for (struct h2c_stream *s = h->streams; s; s = s->next)
        s->dirty = true;
    return 0;
}

/* Connect, then the TLS handshake. Returns 1 ready, 0 waiting, -1 failed. */
static int conn_connect(struct h2c_conn *h)
{
    struct upstream_conn *uc = h->uc;
    if (!h->connected) {
        if (!uc->can_write)
            return 0;
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(uc->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err)
            return -1;
        h->connected = uc->connected = true;
        loop_want_out(h->w->loop, &uc->io, false);
        uc->can_read = true;
    }
    if (uc->tls && !uc->tls_done) {
        int r = tls_io_handshake(uc->tls);
        if (r == IO_AGAIN) {
            if (uc->tls->drained)
                uc->can_read = false;
            if (tls_io_has_pending(uc->tls)) {
                uc->can_write = false;
                loop_want_out(h->w->loop, &uc->io, true);
            }
            return 0;
        }
        if (r != 1) {
            const char *verify = tls_client_verify_error(uc->tls->ssl);
            log_debug("HTTP/2 upstream TLS handshake with %s failed: %s", h->tls_name,
                      verify ? verify : "handshake error");
            ERR_clear_error();
            return -1;
        }
        uc->tls_done = true;
    }
    return conn_ready(h) < 0 ? -1 : 1;
}

static void conn_event(struct upstream_conn *uc, uint32_t events)
{
    struct h2c_conn *h = uc->owner;
    if (!h->ready) {
        int r = conn_connect(h);
        if (r < 0)
            conn_fail(h, "connect");
        if (r <= 0) {
            kick_streams(h);
            return;
        }
    }
    /* until the socket is drained: the edge will not come again (flow
     * control bounds what the upstream can have sent) */
    while (!h->dead) {
        int r = upconn_read(uc, BUF_BLOCK);
        if (r == -2) {
            conn_fail(h, "read error");
            break;
        }
        if (uc->in.len) { /* what came before a close still counts */
            ssize_t n = nghttp2_session_mem_recv(h->session, (const uint8_t *)buf_data(&uc->in),
                                                 uc->in.len);
            if (n < 0) {
                conn_fail(h, nghttp2_strerror((int)n));
                break;
            }
            buf_consume(&uc->in, (size_t)n);
        }
        if (r == -1)
            conn_fail(h, "closed by the upstream");
        if (r <= 0)
            break;
    }
    if (!h->dead)
        conn_send(h);
    if (!h->dead && !nghttp2_session_want_read(h->session) &&
        !nghttp2_session_want_write(h->session))
        conn_close(h);
    kick_streams(h);
}

static void on_idle(struct loop *loop, struct loop_timer *t)
{
    struct h2c_conn *h = container_of(t, struct h2c_conn, idle);
    if (h->n_streams)
        return;
    conn_close(h);
    kick_streams(h);
}

static struct h2c_conn *conn_new(struct worker *w, const struct sockaddr *sa, socklen_t len,
                                 const char *tls_name, unsigned mx_slot)
{
    struct h2c_conn *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->uc = upstream_connect(w->pool, sa, len, tls_name, mx_slot);
    if (!h->uc) {
        free(h);
        return NULL;
    }
    if (h->uc->tls) {
        static const unsigned char h2[] = "\x02h2";
        SSL_set_alpn_protos(h->uc->tls->ssl, h2, sizeof(h2) - 1);
    }
    h->w = w;
    h->uc->owner = h;
    h->uc->on_event = conn_event;
    memcpy(&h->addr, sa, len);
    h->addr_len = len;
    h->tls = tls_name != NULL;
    snprintf(h->tls_name, sizeof(h->tls_name), "%s", tls_name ? tls_name : "");
    h->idle.cb = on_idle;
    h->next = conns;
    if (h->next)
        h->next->prev = h;
    conns = h;
    return h;
}

/* A connection to addr with a free stream slot, or a new one. */
static struct h2c_conn *conn_for(struct worker *w, const struct sockaddr *sa, socklen_t len,
                                 const char *tls_name, bool fresh_only, unsigned mx_slot)
{
    for (struct h2c_conn *h = fresh_only ? NULL : conns; h; h = h->next) {
        if (h->dead || h->failed || h->goaway || h->w != w || h->addr_len != len ||
            memcmp(&h->addr, sa, len) != 0 || h->tls != (tls_name != NULL) ||
            (tls_name && strcmp(h->tls_name, tls_name) != 0))
            continue;
        uint32_t max = h->session ? nghttp2_session_get_remote_settings(
                                        h->session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
                                  : 100;
        if (h->n_streams < max)
            return h;
    }
    return conn_new(w, sa, len, tls_name, mx_slot);
}

/* ---- the request ---- */

static void replay_drop(struct exchange *ex)
{
    ex->replay_lost = true;
    ex->replay.len = 0;
    buf_release(&ex->replay);
}

/* Keeps a copy of request bytes handed to nghttp2 while a refusal could
 * still call for a replay. */
static void replay_keep(struct exchange *ex, const char *p, size_t n)
{
    if (ex->replay_lost || ex->replayable || ex->retried)
        return;
    if (ex->replay.len + n > H2C_REPLAY_MAX || buf_reserve(&ex->replay, n) < 0) {
        replay_drop(ex);
        return;
    }
    memcpy(buf_data(&ex->replay) + ex->replay.len, p, n);
    ex->replay.len += n;
}

static ssize_t req_data_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                             uint32_t *flags, nghttp2_data_source *src, void *user)
{
    struct h2c_stream *s = src->ptr;
    struct exchange *ex = s->ex;
    if (!ex)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t n = length < ex->up_out.len ? length : ex->up_out.len;
    if (n == 0 && !ex->req_done) {
        s->req_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    memcpy(buf, buf_data(&ex->up_out), n);
    replay_keep(ex, buf_data(&ex->up_out), n);
    buf_consume(&ex->up_out, n);
    s->sent_any = true;
    s->dirty = true; /* room for more request body */
    if (ex->up_out.len == 0 && ex->req_done) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        nghttp2_nv nv[H2C_MAX_FIELDS];
        size_t nt = h2_trailer_nv(&ex->up_trailer, nv, H2C_MAX_FIELDS);
        if (nt) {
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            nghttp2_submit_trailer(session, id, nv, nt);
        }
    }
    return (ssize_t)n;
}

static bool connection_specific(const struct http_field *f)
{
    return NAME_IS(f, "host") || NAME_IS(f, "connection") || NAME_IS(f, "keep-alive") ||
           NAME_IS(f, "proxy-connection") || NAME_IS(f, "transfer-encoding") ||
           NAME_IS(f, "upgrade") ||
           (NAME_IS(f, "te") && !(f->value_len == 8 && strncasecmp(f->value, "trailers", 8) == 0));
}

/* Turns the HTTP/1.1 head upreq_build wrote into ex->up_out into HEADERS,
 * then leaves up_out for the request body. Returns 0 or -1. */
static int submit_stream(struct h2c_stream *s)
{
    struct exchange *ex = s->ex;
    struct h2c_conn *h = s->conn;
    static const struct h1_limits lim = { 8192, BUF_MAX, H2C_MAX_FIELDS };
    struct http_field f[H2C_MAX_FIELDS];
    struct h1_request req;
    char *head = buf_data(&ex->up_out);
    int hl = h1_parse_request(head, ex->head_len, &lim, f, &req);
    if (hl < 0)
        return -1;
    for (size_t i = 0; i < req.num_headers; i++) {
        char *nm = (char *)f[i].name; /* our own buffer: lower-case in place */
        for (size_t j = 0; j < f[i].name_len; j++)
            if (nm[j] >= 'A' && nm[j] <= 'Z')
                nm[j] = (char)(nm[j] + 32);
    }
    nghttp2_nv nv[H2C_MAX_FIELDS + 4];
    size_t n = 0;
    const char *scheme = ex->up->scheme;
    const char *auth = req.host ? req.host : ex->up->authority;
    size_t auth_len = req.host ? req.host_len : ex->up->authority_len;
#define NV(nm, nl, v, vl) (nghttp2_nv){ (uint8_t *)(nm), (uint8_t *)(v), (nl), (vl), 0 }
    nv[n++] = NV(":method", 7, req.method, req.method_len);
    nv[n++] = NV(":scheme", 7, scheme, strlen(scheme));
    nv[n++] = NV(":authority", 10, auth, auth_len);
    nv[n++] = NV(":path", 5, req.target, req.target_len);
    for (size_t i = 0; i < req.num_headers; i++)
        if (!connection_specific(&f[i]))
            nv[n++] = NV(f[i].name, f[i].name_len, f[i].value, f[i].value_len);
#undef NV
    nghttp2_data_provider prd = { .source.ptr = s, .read_callback = req_data_read };
    bool body = ex->req_body != EX_BODY_NONE;
    int32_t id = nghttp2_submit_request(h->session, NULL, nv, n, body ? &prd : NULL, s);
    if (id < 0)
        return -1;
    s->id = id;
    s->submitted = true;
    /* the head is in nghttp2 now: up_out carries the body from here on; a
     * request without body keeps its head for a retry (offset only) */
    if (ex->replayable) {
        ex->up_out.off += (size_t)hl;
        ex->up_out.len -= (size_t)hl;
    } else {
        replay_keep(ex, head, (size_t)hl);
        buf_consume(&ex->up_out, (size_t)hl);
    }
    return 0;
}

/* ---- what the exchange calls ---- */

static int h2c_attach(struct exchange *ex, bool fresh_only)
{
    struct rt_addrs *addrs = atomic_load_explicit(&ex->up->addrs, memory_order_acquire);
    if (!addrs || !addrs->n)
        return -1;
    const char *tls_name = ex->up->cfg->tls ? ex->up->cfg->host : NULL;
    size_t ai = failover_addr(ex, addrs);
    struct h2c_conn *h = conn_for(ex->w, (const struct sockaddr *)&addrs->addr[ai], addrs->len[ai],
                                  tls_name, fresh_only, ex->up->mx_slot);
    struct h2c_stream *s = h ? calloc(1, sizeof(*s)) : NULL;
    if (!s) {
        if (h && !h->streams && !h->ready)
            conn_close(h);
        return -1;
    }
    loop_timer_cancel(ex->w->loop, &h->idle);
    s->conn = h;
    s->ex = ex;
    s->next = h->streams;
    if (s->next)
        s->next->prev = s;
    h->streams = s;
    h->n_streams++;
    ex->h2s = s;
    ex->phase = EX_CONNECTING;
    exchange_arm_timer(ex, !h->ready);
    if (h->ready && submit_stream(s) < 0) {
        ex->h2s = NULL;
        s->ex = NULL;
        stream_unlink_free(s);
        return -1;
    }
    return 0;
}

/* Credits n bytes the front-end took (or that are dropped) to the flow
 * control windows: the stream's while nghttp2 knows it, the connection's
 * in any case (a closed stream's bytes still counted there). */
static void give_window(struct h2c_conn *h, struct h2c_stream *s, size_t n)
{
    if (s->id)
        nghttp2_session_consume(h->session, s->id, n);
    else
        nghttp2_session_consume_connection(h->session, n);
}

static void h2c_release(struct exchange *ex, bool reuse)
{
    struct h2c_stream *s = ex->h2s;
    if (!s)
        return;
    ex->h2s = NULL;
    s->ex = NULL;
    struct h2c_conn *h = s->conn;
    if (s->body.len && !h->dead)
        give_window(h, s, s->body.len); /* never taken: the window comes back */
    s->body.len = 0;
    if (s->submitted && !s->closed && !h->dead) {
        /* not finished: cancel it (the client went away, or it failed) */
        nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
        conn_send(h);
        return; /* freed when nghttp2 closes it */
    }
    if (s->submitted && !s->closed)
        return;
    stream_unlink_free(s);
    if (h->dead && !h->streams)
        loop_defer(h->w->loop, &h->free_d, conn_free);
}

static bool h2c_reused(const struct exchange *ex)
{
    /* a refused stream never reached the application: safe to retry */
    const struct h2c_stream *s = ex->h2s;
    return s && s->closed && s->close_error == NGHTTP2_REFUSED_STREAM;
}

static bool h2c_unsent(const struct exchange *ex)
{
    return !ex->h2s || !ex->h2s->submitted;
}

static bool h2c_idle(const struct exchange *ex)
{
    return true;
}

static bool h2c_rewind(struct exchange *ex)
{
    const struct h2c_stream *s = ex->h2s;
    if (!s || !s->submitted)
        return true; /* up_out still holds all of it */
    if (ex->replayable) {
        ex->up_out.off = 0;
        ex->up_out.len = ex->head_len;
        return true;
    }
    if (ex->replay_lost || ex->replay.len + ex->up_out.len > BUF_MAX ||
        buf_reserve(&ex->replay, ex->up_out.len) < 0)
        return false;
    /* what was sent, then what was still waiting to be */
    memcpy(buf_data(&ex->replay) + ex->replay.len, buf_bytes(&ex->up_out), ex->up_out.len);
    ex->replay.len += ex->up_out.len;
    struct buf sent = ex->up_out;
    ex->up_out = ex->replay;
    ex->replay = sent;
    ex->replay.len = 0;
    buf_release(&ex->replay);
    return true;
}

static int h2c_check_connected(struct exchange *ex)
{
    struct h2c_stream *s = ex->h2s;
    if (ex->phase != EX_CONNECTING)
        return 0;
    if (s->closed) {
        bool ended = exchange_upstream_failed(
            ex, s->submitted ? "Failed to get response from backend: HTTP/2 stream failed"
                             : "Failed to get response from backend: HTTP/2 connection failed");
        return ended ? -1 : 1;
    }
    if (!s->submitted)
        return 0;
    failover_connected(ex);
    ex->phase = EX_SENDING;
    exchange_arm_timer(ex, false);
    return 1;
}

static long h2c_send(struct exchange *ex, const char *p, size_t n, bool *progress)
{
    struct h2c_stream *s = ex->h2s;
    if (!s || !s->submitted || s->closed)
        return 0;
    size_t take = 0;
    if (n && ex->up_out.len < BUF_BLOCK) {
        take = BUF_BLOCK - ex->up_out.len < n ? BUF_BLOCK - ex->up_out.len : n;
        if (buf_reserve(&ex->up_out, take) < 0)
            return 0;
        memcpy(buf_data(&ex->up_out) + ex->up_out.len, p, take);
        ex->up_out.len += take;
    }
    struct h2c_conn *h = s->conn;
    if (s->req_deferred && (ex->up_out.len || ex->req_done)) {
        s->req_deferred = false;
        nghttp2_session_resume_data(h->session, s->id);
    }
    size_t before = h->out.len;
    if (conn_send(h) < 0)
        return 0; /* the stream is closed now: the next pump reports it */
    if (progress && (take || h->out.len != before))
        *progress = true;
    if (ex->phase == EX_SENDING && ex->req_done && ex->up_out.len == 0)
        ex->phase = EX_WAIT_HEAD;
    return (long)take;
}

static int h2c_queue_body(struct exchange *ex, const char *p, size_t n)
{
    if (buf_reserve(&ex->up_out, n) < 0)
        return -1;
    memcpy(buf_data(&ex->up_out) + ex->up_out.len, p, n);
    ex->up_out.len += n;
    return 0;
}

static int h2c_queue_end(struct exchange *ex, const char *trailer, size_t trailer_len)
{
    if (trailer_len) {
        if (buf_reserve(&ex->up_trailer, trailer_len) < 0)
            return -1;
        memcpy(buf_data(&ex->up_trailer), trailer, trailer_len);
        ex->up_trailer.len = trailer_len;
    }
    return 0;
}

static void h2c_shutdown_write(struct exchange *ex)
{
}

/* Hands the response head to the front-end. Returns 0 or -1 (ended). */
static int start_response(struct exchange *ex, struct h2c_stream *s)
{
    struct http_field in[H2C_MAX_FIELDS], out[H2C_MAX_FIELDS + 2];
    const struct http_field *cl = NULL;
    for (size_t i = 0; i < s->n_fields; i++) {
        in[i] = (struct http_field){ ref(s, s->fields[i].name), s->fields[i].name_len,
                                     ref(s, s->fields[i].value), s->fields[i].value_len };
        if (NAME_IS(&in[i], "content-length"))
            cl = &in[i];
    }
    struct ex_response res = { .status = s->status, .fields = out };
    res.n_fields = exchange_resp_fields(ex, s->n_fields ? in : NULL, s->n_fields, false, out,
                                        H2C_MAX_FIELDS + 2, &res.has_date);
    if (cl) {
        res.body = EX_BODY_LENGTH;
        for (size_t i = 0; i < cl->value_len; i++)
            res.content_length = res.content_length * 10 + (uint64_t)(cl->value[i] - '0');
    } else {
        res.body = s->end && !s->body.len ? EX_BODY_NONE : EX_BODY_STREAM;
    }
    ex->status = s->status;
    ex->resp_started = true;
    if (ex->fe->response_head(ex, &res) < 0) {
        exchange_abort(ex, 0, NULL);
        return -1;
    }
    ex->up_out.len = 0;
    replay_drop(ex); /* the upstream took the request */
    ex->phase = EX_BODY;
    exchange_access_log(ex, s->status);
    return 0;
}

static int h2c_pump_response(struct exchange *ex)
{
    struct h2c_stream *s = ex->h2s;
    if (!s || ex->phase == EX_CONNECTING || ex->resp_ended)
        return 0;
    int progress = 0;
    if (!ex->resp_started) {
        if (!s->head_done) {
            if (!s->closed)
                return 0;
            return exchange_upstream_failed(
                       ex, s->close_error == NGHTTP2_REFUSED_STREAM
                               ? "Failed to get response from backend: HTTP/2 stream refused"
                               : "Failed to get response from backend: HTTP/2 stream reset")
                       ? -1
                       : 1;
        }
        if (start_response(ex, s) < 0)
            return -1;
        progress = 1;
    }
    struct h2c_conn *h = s->conn;
    size_t taken = 0;
    while (s->body.len && !ex->head_request && ex->fe->response_room(ex)) {
        long w = ex->fe->response_body(ex, buf_data(&s->body), s->body.len);
        if (w < 0) {
            exchange_abort(ex, 0, NULL);
            return -1;
        }
        if (w == 0)
            break;
        buf_consume(&s->body, (size_t)w);
        taken += (size_t)w;
        progress = 1;
    }
    if (ex->head_request && s->body.len) {
        taken += s->body.len;
        s->body.len = 0;
    }
    if (taken && !h->dead) {
        give_window(h, s, taken);
        conn_send(h);
    }
    if (s->end && s->body.len == 0) {
        ex->resp_ended = true;
        ex->upstream_reusable = true;
        exchange_response_end(ex, buf_bytes(&s->trailer), s->trailer.len);
        return 1;
    }
    if (s->closed && !s->end) {
        exchange_abort(ex, 0, NULL); /* reset by the upstream mid-response */
        return -1;
    }
    if (progress)
        exchange_arm_timer(ex, false);
    return progress;
}

const struct up_client h2_client = {
    .attach = h2c_attach,
    .release = h2c_release,
    .reused = h2c_reused,
    .unsent = h2c_unsent,
    .idle = h2c_idle,
    .rewind = h2c_rewind,
    .check_connected = h2c_check_connected,
    .send = h2c_send,
    .queue_body = h2c_queue_body,
    .queue_end = h2c_queue_end,
    .shutdown_write = h2c_shutdown_write,
    .pump_response = h2c_pump_response,
};

bool h2c_known(struct worker *w, const struct sockaddr *sa, socklen_t len, const char *tls_name)
{
    for (struct h2c_conn *h = conns; h; h = h->next)
        if (!h->dead && !h->failed && !h->goaway && h->w == w && h->addr_len == len &&
            memcmp(&h->addr, sa, len) == 0 && h->tls == (tls_name != NULL) &&
            (!tls_name || strcmp(h->tls_name, tls_name) == 0))
            return true;
    return false;
}

int h2c_adopt(struct exchange *ex)
{
    struct upstream_conn *uc = ex->uc;
    struct h2c_conn *h = calloc(1, sizeof(*h));
    struct h2c_stream *s = h ? calloc(1, sizeof(*s)) : NULL;
    if (!s) {
        free(h);
        return -1;
    }
    h->w = ex->w;
    h->uc = uc;
    h->connected = true;
    h->tls = uc->tls != NULL;
    snprintf(h->tls_name, sizeof(h->tls_name), "%s", uc->tls_name);
    memcpy(&h->addr, &uc->addr, uc->addr_len);
    h->addr_len = uc->addr_len;
    h->idle.cb = on_idle;
    uc->owner = h;
    uc->on_event = conn_event;
    ex->uc = NULL;
    h->next = conns;
    if (h->next)
        h->next->prev = h;
    conns = h;
    s->conn = h;
    s->ex = ex;
    h->streams = s;
    h->n_streams = 1;
    ex->h2s = s;
    ex->upc = &h2_client;
    ex->phase = EX_CONNECTING;
    if (conn_ready(h) < 0) { /* submits the stream */
        conn_close(h);
        return 0; /* the stream is closed: the exchange reports it */
    }
    return 0;
}

void h2c_close_all(struct worker *w)
{
    for (struct h2c_conn *h = conns, *next; h; h = next) {
        next = h->next;
        if (h->w != w)
            continue;
        conn_close(h);
        kick_streams(h);
    }
}
