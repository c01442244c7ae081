#include "http/h3_server.h"

#include <ngtcp2/ngtcp2.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/server.h"
#include "core/worker.h"
#include "http/h2_trailer.h"
#include "http/pseudo_request.h"
#include "log/log.h"
#include "proxy/client_conn.h"
#include "proxy/exchange.h"
#include "proxy/headers.h"
#include "proxy/runtime.h"
#include "quic/conn.h"

#define H3_MAX_FIELDS PSEUDO_MAX_FIELDS
#define H3_MAX_FIELD_SECTION (64u << 10) /* SETTINGS_MAX_FIELD_SECTION_SIZE */
#define H3_QPACK_CAPACITY 4096
#define H3_QPACK_BLOCKED 100
#define H3_CHUNK (16u * 1024)
/* Response bytes a stream holds (handed to nghttp3 but not acknowledged,
 * plus not handed yet) before its exchange stops reading the upstream. */
#define H3_RESP_HELD (256u * 1024)

/* Response body bytes: they must stay where they are until the peer
 * acknowledged them (nghttp3 sends from them, and again on loss). */
struct h3_chunk {
    struct h3_chunk *next;
    size_t len;
    char data[H3_CHUNK];
};

struct h3_stream {
    struct h3_conn *h3;
    struct h3_stream *next, *prev;
    int64_t id;
    struct exchange *ex;
    struct loop_timer life; /* connection_handling_timeout, per request stream */

    struct req_head rh;
    bool started;       /* the exchange was started (or the stream answered) */
    struct buf trailer; /* request trailer lines, then the response's */
    bool trailer_bad;   /* the request trailers did not fit */

    /* the request body not yet taken by the exchange */
    struct buf req_in;
    bool req_end;

    /* the response body: acked <= handed <= held, in a chain of chunks */
    struct h3_chunk *head, *tail; /* head: first with unacknowledged bytes */
    size_t head_off;              /* acknowledged bytes in head */
    struct h3_chunk *send;        /* the next bytes to hand to nghttp3 */
    size_t send_off;
    size_t held;   /* not acknowledged yet */
    size_t unsent; /* not handed to nghttp3 yet */
    struct buf resp_hdr;
    bool resp_eof;
    bool resp_blocked; /* the data reader said WOULDBLOCK */
    bool replied;      /* a response head was submitted */
    bool cancelled;    /* the client reset its side, or a timeout: REQUEST_CANCELLED */
    bool closed;       /* the QUIC stream is gone */
    bool stop_reading; /* STOP_SENDING once the response's end is written */
    bool dirty;
};

struct h3_conn {
    struct quic_conn *qc;
    struct client *c;
    ngtcp2_conn *q;
    nghttp3_conn *h3;
    struct h3_stream *streams;
    size_t n_streams;
    bool goaway;
    bool freeing;
};

/* ---- streams ---- */

static void on_stream_timeout(struct loop *loop, struct loop_timer *t);

static struct h3_stream *stream_new(struct h3_conn *h, int64_t id, const struct cfg *cfg)
{
    struct h3_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->h3 = h;
    s->id = id;
    s->next = h->streams;
    if (s->next)
        s->next->prev = s;
    h->streams = s;
    h->n_streams++;
    if (cfg->connection_handling_timeout_s)
        loop_timer_set(h->c->w->loop, &s->life, cfg->connection_handling_timeout_s * 1000,
                       on_stream_timeout);
    return s;
}

static void chunks_free(struct h3_stream *s)
{
    while (s->head) {
        struct h3_chunk *k = s->head;
        s->head = k->next;
        free(k);
    }
    s->tail = s->send = NULL;
    s->held = s->unsent = s->head_off = s->send_off = 0;
}

static void stream_free(struct h3_stream *s)
{
    struct h3_conn *h = s->h3;
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->n_streams--;
    server_client_release();
    loop_timer_cancel(h->c->w->loop, &s->life);
    chunks_free(s);
    struct buf *bufs[] = { &s->rh.head, &s->trailer, &s->req_in, &s->resp_hdr };
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
        bufs[i]->len = 0;
        buf_release(bufs[i]);
    }
    free(s);
}

/* Flow control credit for n received bytes the application is done with. */
static void give_credit(struct h3_conn *h, int64_t id, size_t n, bool stream_open)
{
    if (!n)
        return;
    if (stream_open)
        ngtcp2_conn_extend_max_stream_offset(h->q, id, n);
    ngtcp2_conn_extend_max_offset(h->q, n);
}

/* Both directions end at once (RESET_STREAM and STOP_SENDING); the stream
 * is closed later, by the transport. */
static void stream_reset(struct h3_conn *h, int64_t id, uint64_t code)
{
    ngtcp2_conn_shutdown_stream(h->q, id, code);
}

static void on_stream_timeout(struct loop *loop, struct loop_timer *t)
{
    struct h3_stream *s = container_of(t, struct h3_stream, life);
    struct h3_conn *h = s->h3;
    struct client *c = h->c;
    log_debug("Connection handling timeout: resetting HTTP/3 stream %lld", (long long)s->id);
    s->cancelled = true;
    if (s->ex)
        exchange_abort(s->ex, 0, "connection handling timeout"); /* done() resets */
    else if (!s->closed)
        stream_reset(h, s->id, NGHTTP3_H3_REQUEST_CANCELLED);
    client_drive_at_end(c);
}

/* ---- the response body ---- */

/* Appends n bytes (all or nothing). Returns 0, or -1 when memory is short. */
static int resp_append(struct h3_stream *s, const char *p, size_t n)
{
    while (n) {
        if (!s->tail || s->tail->len == H3_CHUNK) {
            struct h3_chunk *k = malloc(sizeof(*k));
            if (!k)
                return -1;
            k->next = NULL;
            k->len = 0;
            if (s->tail)
                s->tail->next = k;
            else
                s->head = k;
            s->tail = k;
            if (!s->send) {
                s->send = k;
                s->send_off = 0;
            }
        }
        size_t take = H3_CHUNK - s->tail->len;
        if (take > n)
            take = n;
        memcpy(s->tail->data + s->tail->len, p, take);
        s->tail->len += take;
        s->held += take;
        s->unsent += take;
        p += take;
        n -= take;
    }
    return 0;
}

/* The peer acknowledged n more body bytes: chunks fully acknowledged go. */
static void resp_acked(struct h3_stream *s, uint64_t n)
{
    while (n && s->head) {
        struct h3_chunk *k = s->head;
        size_t take = k->len - s->head_off;
        if (take > n)
            take = (size_t)n;
        s->head_off += take;
        s->held -= take;
        n -= take;
        if (s->head_off < k->len)
            break;
        /* every byte of k was handed and acknowledged */
        s->head = k->next;
        s->head_off = 0;
        if (s->send == k) {
            s->send = k->next;
            s->send_off = 0;
        }
        if (s->tail == k)
            s->tail = NULL;
        free(k);
    }
}

static void resume(struct h3_stream *s)
{
    if (s->resp_blocked && !s->closed) {
        s->resp_blocked = false;
        nghttp3_conn_resume_stream(s->h3->h3, s->id);
    }
}

static nghttp3_ssize read_data(nghttp3_conn *conn, int64_t id, nghttp3_vec *vec, size_t veccnt,
                               uint32_t *pflags, void *user, void *stream_user)
{
    struct h3_stream *s = stream_user;
    if (!s) {
        *pflags |= NGHTTP3_DATA_FLAG_EOF;
        return 0;
    }
    bool had_room = s->unsent < BUF_BLOCK;
    size_t n = 0;
    while (n < veccnt && s->unsent) {
        if (s->send_off == s->send->len) {
            s->send = s->send->next;
            s->send_off = 0;
            continue;
        }
        size_t len = s->send->len - s->send_off;
        vec[n].base = (uint8_t *)s->send->data + s->send_off;
        vec[n].len = len;
        n++;
        s->send_off += len;
        s->unsent -= len;
    }
    if (n == 0 && !s->resp_eof) {
        s->resp_blocked = true;
        return NGHTTP3_ERR_WOULDBLOCK;
    }
    if (s->unsent == 0 && s->resp_eof) {
        *pflags |= NGHTTP3_DATA_FLAG_EOF;
        struct http_field f[H3_MAX_FIELDS];
        size_t k = s->trailer.len ? h2_trailer_fields(&s->trailer, f, H3_MAX_FIELDS) : 0;
        if (k) {
            nghttp3_nv nv[H3_MAX_FIELDS];
            for (size_t i = 0; i < k; i++)
                nv[i] = (nghttp3_nv){ (uint8_t *)f[i].name, (uint8_t *)f[i].value, f[i].name_len,
                                      f[i].value_len, NGHTTP3_NV_FLAG_NONE };
            *pflags |= NGHTTP3_DATA_FLAG_NO_END_STREAM;
            if (nghttp3_conn_submit_trailers(conn, id, nv, k) != 0)
                *pflags &= ~NGHTTP3_DATA_FLAG_NO_END_STREAM;
        }
        s->trailer.len = 0;
    }
    if (s->ex && !had_room && s->unsent < BUF_BLOCK) {
        s->dirty = true; /* the exchange may pull more from its upstream */
        client_drive_at_end(s->h3->c);
    }
    return (nghttp3_ssize)n;
}

static void submit_head(struct h3_stream *s, const nghttp3_nv *nv, size_t n, bool with_body)
{
    static const nghttp3_data_reader dr = { .read_data = read_data };
    s->replied = true;
    if (nghttp3_conn_submit_response(s->h3->h3, s->id, nv, n, with_body ? &dr : NULL) != 0)
        stream_reset(s->h3, s->id, NGHTTP3_H3_INTERNAL_ERROR);
}

/* ---- the exchange's front-end operations ---- */

static nghttp3_nv make_nv(const char *name, size_t nl, const char *value, size_t vl)
{
    /* nghttp3 copies at submission: values point into buffers that move on */
    return (nghttp3_nv){ (uint8_t *)name, (uint8_t *)value, nl, vl, NGHTTP3_NV_FLAG_NONE };
}

/* nghttp3 pairs for fields (copied at submission). */
static size_t to_nv(const struct http_field *f, size_t n, nghttp3_nv *nv)
{
    for (size_t i = 0; i < n; i++)
        nv[i] = make_nv(f[i].name, f[i].name_len, f[i].value, f[i].value_len);
    return n;
}

static void fe_synthetic(struct exchange *ex, int status, const char *location, size_t location_len,
                         bool close_after)
{
    struct h3_stream *s = ex->stream;
    if (s->replied || s->closed || s->h3->freeing)
        return;
    char code[4];
    struct http_field f[3];
    nghttp3_nv nv[3];
    size_t n = to_nv(f, http_synthetic_head(status, location, location_len, code, f), nv);
    s->resp_eof = true;
    submit_head(s, nv, n, false);
}

static void fe_continue_100(struct exchange *ex)
{
    /* HTTP/3 clients send the body without waiting */
}

static void fe_interim(struct exchange *ex, int status, const struct http_field *fields, size_t n)
{
    struct h3_stream *s = ex->stream;
    if (s->replied || s->closed)
        return;
    char code[4];
    struct http_field f[H3_MAX_FIELDS + 1];
    nghttp3_nv nv[H3_MAX_FIELDS + 1];
    long k = http_interim_head(status, fields, n, code, &s->resp_hdr, f, H3_MAX_FIELDS + 1);
    if (k > 0)
        nghttp3_conn_submit_info(s->h3->h3, s->id, nv, to_nv(f, (size_t)k, nv));
}

static int fe_response_head(struct exchange *ex, const struct ex_response *res)
{
    struct h3_stream *s = ex->stream;
    if (s->closed || res->raw)
        return -1;
    char code[4];
    struct http_field f[H3_MAX_FIELDS + 4];
    nghttp3_nv nv[H3_MAX_FIELDS + 4];
    long k = http_final_head(res, code, &s->resp_hdr, f, H3_MAX_FIELDS + 4);
    if (k < 0)
        return -1;
    bool body = http_head_has_body(ex, res);
    if (!body)
        s->resp_eof = true;
    submit_head(s, nv, to_nv(f, (size_t)k, nv), body);
    return 0;
}

static bool fe_response_room(struct exchange *ex)
{
    struct h3_stream *s = ex->stream;
    return s->unsent < BUF_BLOCK && s->held < H3_RESP_HELD;
}

static long fe_response_body(struct exchange *ex, const char *p, size_t n)
{
    struct h3_stream *s = ex->stream;
    if (s->closed)
        return -1;
    size_t cap = H3_RESP_HELD + BUF_MAX;
    if (s->held >= cap)
        return 0;
    if (n > cap - s->held)
        n = cap - s->held;
    if (resp_append(s, p, n) < 0)
        return -1;
    resume(s);
    return (long)n;
}

static void fe_response_end(struct exchange *ex, const char *trailer, size_t trailer_len)
{
    struct h3_stream *s = ex->stream;
    s->resp_eof = true;
    s->trailer.len = 0;
    if (trailer_len && buf_reserve(&s->trailer, trailer_len) == 0) {
        memcpy(buf_data(&s->trailer), trailer, trailer_len);
        s->trailer.len = trailer_len;
    }
    resume(s);
}

static bool fe_response_pending(struct exchange *ex)
{
    return false; /* the stream keeps what is left to send; the exchange may end */
}

static int fe_pump_request(struct exchange *ex)
{
    struct h3_stream *s = ex->stream;
    int progress = 0;
    if (s->req_in.len) {
        long w = exchange_request_body(ex, buf_data(&s->req_in), s->req_in.len);
        if (w < 0)
            return -1;
        if (w > 0) {
            buf_consume(&s->req_in, (size_t)w);
            give_credit(s->h3, s->id, (size_t)w, !s->closed);
            progress = 1;
        }
    }
    if (s->req_end && s->req_in.len == 0 && !ex->req_done) {
        if (s->trailer_bad || (ex->req_body == EX_BODY_LENGTH && ex->req_remaining)) {
            /* nghttp3 checks the length too; belt and braces */
            exchange_abort(ex, 400, NULL);
            return -1;
        }
        if (exchange_request_end(ex, buf_bytes(&s->trailer), s->trailer.len) < 0)
            return -1;
        s->trailer.len = 0;
        progress = 1;
    }
    return progress;
}

static void fe_done(struct exchange *ex, bool ok)
{
    struct h3_stream *s = ex->stream;
    if (!s)
        return;
    s->ex = NULL;
    struct h3_conn *h = s->h3;
    if (h->freeing)
        return;
    /* request body nobody will take: its credit comes back */
    give_credit(h, s->id, s->req_in.len, !s->closed);
    s->req_in.len = 0;
    if (s->closed)
        return;
    if (!s->replied || (!ok && !s->resp_eof)) {
        /* nothing, or a response broken off: the client must not take it
         * as complete */
        stream_reset(h, s->id,
                     s->cancelled ? NGHTTP3_H3_REQUEST_CANCELLED : NGHTTP3_H3_INTERNAL_ERROR);
        return;
    }
    /* answered before the request ended: no more body wanted (RFC 9114
     * 4.1), said once the response has gone to the transport */
    if (!s->req_end)
        s->stop_reading = true;
}

static void fe_kick(struct exchange *ex)
{
    struct h3_stream *s = ex->stream;
    s->dirty = true;
    client_drive_at_end(ex->c);
}

static const struct ex_front h3_front = {
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

/* ---- nghttp3 callbacks ---- */

static int on_begin_headers(nghttp3_conn *conn, int64_t id, void *user, void *stream_user)
{
    struct h3_conn *h = user;
    if (stream_user)
        return 0;
    const struct cfg *cfg = h->c->w->rt ? h->c->w->rt->cfg : NULL;
    /* after GOAWAY, nghttp3 itself rejects the streams past its id */
    if (!cfg || h->c->closing) {
        stream_reset(h, id, NGHTTP3_H3_REQUEST_REJECTED);
        return 0;
    }
    if (!server_client_acquire(cfg->max_clients)) {
        /* SPEC 9.5: no 503; the connection winds down */
        log_debug("max_clients reached: refusing an HTTP/3 stream, GOAWAY");
        stream_reset(h, id, NGHTTP3_H3_REQUEST_REJECTED);
        h3_server_shutdown(h);
        return 0;
    }
    struct h3_stream *s = stream_new(h, id, cfg);
    if (!s) {
        server_client_release();
        stream_reset(h, id, NGHTTP3_H3_INTERNAL_ERROR);
        return 0;
    }
    nghttp3_conn_set_stream_user_data(conn, id, s);
    return 0;
}

static int on_recv_header(nghttp3_conn *conn, int64_t id, int32_t token, nghttp3_rcbuf *name,
                          nghttp3_rcbuf *value, uint8_t flags, void *user, void *stream_user)
{
    struct h3_stream *s = stream_user;
    if (!s || s->started)
        return 0;
    nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
    req_head_add(&s->rh, n.base, n.len, v.base, v.len);
    return 0;
}

/* Builds the neutral request from the stream's head and starts the exchange. */
static void start_request(struct h3_stream *s, bool fin)
{
    struct h3_conn *h = s->h3;
    struct client *c = h->c;
    s->started = true;
    s->req_end = fin;
    if (s->rh.too_large) {
        /* only what fe_synthetic reads: an exchange is kilobytes to clear */
        struct exchange tmp;
        tmp.c = c;
        tmp.stream = s;
        fe_synthetic(&tmp, 431, NULL, 0, false);
        if (!fin)
            ngtcp2_conn_shutdown_stream_read(h->q, s->id, NGHTTP3_H3_NO_ERROR);
        return;
    }
    if (!c->w->rt || c->closing) {
        stream_reset(h, s->id, NGHTTP3_H3_REQUEST_REJECTED);
        return;
    }
    struct http_field fields[H3_MAX_FIELDS];
    struct ex_request er;
    int r = req_head_request(&s->rh, HTTP_30, fin, fields, &er);
    if (r < 0) {
        stream_reset(h, s->id, r == -1 ? NGHTTP3_H3_INTERNAL_ERROR : NGHTTP3_H3_MESSAGE_ERROR);
        return;
    }
    struct exchange *ex;
    exchange_start(c, &h3_front, s, &er, &ex);
    s->ex = ex;
    s->dirty = true;
}

static int on_end_headers(nghttp3_conn *conn, int64_t id, int fin, void *user, void *stream_user)
{
    struct h3_stream *s = stream_user;
    if (s && !s->started)
        start_request(s, fin != 0);
    return 0;
}

static int on_recv_trailer(nghttp3_conn *conn, int64_t id, int32_t token, nghttp3_rcbuf *name,
                           nghttp3_rcbuf *value, uint8_t flags, void *user, void *stream_user)
{
    struct h3_stream *s = stream_user;
    if (!s || s->trailer_bad)
        return 0;
    nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
    if (h2_trailer_append(&s->trailer, n.base, n.len, v.base, v.len) < 0)
        s->trailer_bad = true; /* 400 once the request ends */
    return 0;
}

static int on_recv_data(nghttp3_conn *conn, int64_t id, const uint8_t *data, size_t len, void *user,
                        void *stream_user)
{
    struct h3_conn *h = user;
    struct h3_stream *s = stream_user;
    if (!s || !s->ex || s->ex->req_done) {
        give_credit(h, id, len, true); /* nobody wants it */
        return 0;
    }
    if (buf_reserve(&s->req_in, len) < 0) {
        /* more than the stream window the transport should grant */
        give_credit(h, id, len, true);
        stream_reset(h, id, NGHTTP3_H3_INTERNAL_ERROR);
        return 0;
    }
    memcpy(buf_data(&s->req_in) + s->req_in.len, data, len);
    s->req_in.len += len;
    s->dirty = true;
    return 0;
}

static int on_deferred_consume(nghttp3_conn *conn, int64_t id, size_t consumed, void *user,
                               void *stream_user)
{
    give_credit(user, id, consumed, true);
    return 0;
}

static int on_end_stream(nghttp3_conn *conn, int64_t id, void *user, void *stream_user)
{
    struct h3_stream *s = stream_user;
    if (s) {
        s->req_end = true;
        s->dirty = true;
    }
    return 0;
}

static int on_acked(nghttp3_conn *conn, int64_t id, uint64_t n, void *user, void *stream_user)
{
    struct h3_stream *s = stream_user;
    if (!s)
        return 0;
    bool had_room = s->held < H3_RESP_HELD;
    resp_acked(s, n);
    if (s->ex && !had_room && s->held < H3_RESP_HELD) {
        s->dirty = true;
        client_drive_at_end(s->h3->c);
    }
    return 0;
}

static int on_stream_close(nghttp3_conn *conn, int64_t id, uint64_t app_error, void *user,
                           void *stream_user)
{
    struct h3_conn *h = user;
    struct h3_stream *s = stream_user;
    /* a client request stream ended: the client may open another one */
    ngtcp2_conn_extend_max_streams_bidi(h->q, 1);
    if (!s)
        return 0;
    s->closed = true;
    if (s->ex)
        exchange_abort(s->ex, 0, NULL); /* the client went away: cancel upstream */
    give_credit(h, id, s->req_in.len, false);
    s->req_in.len = 0;
    nghttp3_conn_set_stream_user_data(conn, id, NULL);
    stream_free(s);
    return 0;
}

/* nghttp3 asks for STOP_SENDING / RESET_STREAM (a malformed message). */
static int on_stop_sending(nghttp3_conn *conn, int64_t id, uint64_t code, void *user,
                           void *stream_user)
{
    struct h3_conn *h = user;
    ngtcp2_conn_shutdown_stream_read(h->q, id, code);
    return 0;
}

static int on_reset_stream(nghttp3_conn *conn, int64_t id, uint64_t code, void *user,
                           void *stream_user)
{
    struct h3_conn *h = user;
    ngtcp2_conn_shutdown_stream_write(h->q, id, code);
    return 0;
}

static const nghttp3_callbacks h3_callbacks = {
    .acked_stream_data = on_acked,
    .stream_close = on_stream_close,
    .recv_data = on_recv_data,
    .deferred_consume = on_deferred_consume,
    .begin_headers = on_begin_headers,
    .recv_header = on_recv_header,
    .end_headers = on_end_headers,
    .recv_trailer = on_recv_trailer,
    .stop_sending = on_stop_sending,
    .end_stream = on_end_stream,
    .reset_stream = on_reset_stream,
};

/* ---- the connection ---- */

struct h3_conn *h3_server_start(struct quic_conn *qc)
{
    struct h3_conn *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->qc = qc;
    h->c = quic_conn_client(qc);
    h->q = quic_conn_ngtcp2(qc);
    nghttp3_settings settings;
    nghttp3_settings_default(&settings);
    settings.max_field_section_size = H3_MAX_FIELD_SECTION;
    settings.qpack_max_dtable_capacity = H3_QPACK_CAPACITY;
    settings.qpack_blocked_streams = H3_QPACK_BLOCKED;
    if (nghttp3_conn_server_new(&h->h3, &h3_callbacks, &settings, NULL, h) != 0) {
        free(h);
        return NULL;
    }
    int64_t ctrl, qenc, qdec;
    if (ngtcp2_conn_open_uni_stream(h->q, &ctrl, NULL) != 0 ||
        nghttp3_conn_bind_control_stream(h->h3, ctrl) != 0 ||
        ngtcp2_conn_open_uni_stream(h->q, &qenc, NULL) != 0 ||
        ngtcp2_conn_open_uni_stream(h->q, &qdec, NULL) != 0 ||
        nghttp3_conn_bind_qpack_streams(h->h3, qenc, qdec) != 0) {
        nghttp3_conn_del(h->h3);
        free(h);
        return NULL;
    }
    const ngtcp2_transport_params *tp = ngtcp2_conn_get_local_transport_params(h->q);
    nghttp3_conn_set_max_client_streams_bidi(h->h3, tp->initial_max_streams_bidi);
    return h;
}

void h3_server_free(struct h3_conn *h)
{
    if (!h)
        return;
    h->freeing = true;
    while (h->streams) {
        struct h3_stream *s = h->streams;
        s->closed = true;
        if (s->ex)
            exchange_abort(s->ex, 0, NULL);
        stream_free(s);
    }
    nghttp3_conn_del(h->h3); /* calls nothing back */
    free(h);
}

int h3_server_recv(struct h3_conn *h, int64_t id, const uint8_t *data, size_t len, bool fin)
{
    nghttp3_ssize n = nghttp3_conn_read_stream(h->h3, id, data, len, fin);
    if (n < 0) {
        log_debug("HTTP/3 stream %lld: %s", (long long)id, nghttp3_strerror((int)n));
        return (int)n;
    }
    /* framing and QPACK bytes; DATA payload is credited as it is taken */
    give_credit(h, id, (size_t)n, true);
    return 0;
}

int h3_server_acked(struct h3_conn *h, int64_t id, uint64_t n)
{
    return nghttp3_conn_add_ack_offset(h->h3, id, n);
}

int h3_server_stream_close(struct h3_conn *h, int64_t id, uint64_t app_error)
{
    int r = nghttp3_conn_close_stream(h->h3, id, app_error);
    if (r != NGHTTP3_ERR_STREAM_NOT_FOUND)
        return r;
    /* a request stream nghttp3 never saw (no byte arrived): its credit
     * comes back here, else in on_stream_close */
    if (ngtcp2_is_bidi_stream(id) && !ngtcp2_conn_is_local_stream(h->q, id))
        ngtcp2_conn_extend_max_streams_bidi(h->q, 1);
    return 0;
}

/* nghttp3 0.8 has no getter for a stream's user data. */
static struct h3_stream *find_stream(struct h3_conn *h, int64_t id)
{
    for (struct h3_stream *s = h->streams; s; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

int h3_server_reset(struct h3_conn *h, int64_t id)
{
    nghttp3_conn_shutdown_stream_read(h->h3, id);
    struct h3_stream *s = find_stream(h, id);
    if (s && !s->req_end) {
        /* the request broke off: nothing to forward, cancel upstream */
        s->cancelled = true;
        if (s->ex)
            exchange_abort(s->ex, 0, NULL);
        else if (!s->closed && !s->replied)
            stream_reset(h, id, NGHTTP3_H3_REQUEST_CANCELLED);
    }
    return 0;
}

int h3_server_stop_sending(struct h3_conn *h, int64_t id)
{
    nghttp3_conn_shutdown_stream_write(h->h3, id);
    struct h3_stream *s = find_stream(h, id);
    if (s) {
        s->cancelled = true;
        if (s->ex)
            exchange_abort(s->ex, 0, NULL); /* the response is not wanted */
    }
    return 0;
}

int h3_server_unblock(struct h3_conn *h, int64_t id)
{
    return nghttp3_conn_unblock_stream(h->h3, id);
}

void h3_server_max_streams(struct h3_conn *h, uint64_t max_bidi)
{
    nghttp3_conn_set_max_client_streams_bidi(h->h3, max_bidi);
}

ssize_t h3_server_pull(struct h3_conn *h, int64_t *id, int *fin, nghttp3_vec *vec, size_t n)
{
    return nghttp3_conn_writev_stream(h->h3, id, fin, vec, n);
}

int h3_server_written(struct h3_conn *h, int64_t id, size_t n, bool fin)
{
    int r = nghttp3_conn_add_write_offset(h->h3, id, n);
    if (r != 0 || !fin)
        return r;
    struct h3_stream *s = find_stream(h, id);
    if (s && s->stop_reading && !s->closed) {
        /* the whole response is with the transport: now the request body
         * can be refused (before, the STOP_SENDING made the response
         * vanish with Debian's ngtcp2 0.12) */
        s->stop_reading = false;
        ngtcp2_conn_shutdown_stream_read(h->q, id, NGHTTP3_H3_NO_ERROR);
    }
    return 0;
}

int h3_server_blocked(struct h3_conn *h, int64_t id)
{
    nghttp3_conn_block_stream(h->h3, id);
    return 0;
}

int h3_server_shut_write(struct h3_conn *h, int64_t id)
{
    nghttp3_conn_shutdown_stream_write(h->h3, id);
    return 0;
}

void h3_server_drive(struct h3_conn *h)
{
    struct client *c = h->c;
    if (c->dead)
        return;
    bool all = c->redrive_all;
    c->redrive_all = false;
    for (struct h3_stream *s = h->streams; s;) {
        struct h3_stream *next = s->next;
        if (s->ex && (s->dirty || all)) {
            s->dirty = false;
            exchange_drive(s->ex);
            if (c->dead)
                return; /* closed under us: h may be gone */
        }
        s = next;
    }
}

void h3_server_shutdown(struct h3_conn *h)
{
    if (h->goaway)
        return;
    h->goaway = true;
    nghttp3_conn_submit_shutdown_notice(h->h3);
    nghttp3_conn_shutdown(h->h3);
    client_drive_at_end(h->c);
}

bool h3_server_busy(const struct h3_conn *h)
{
    return h->n_streams != 0;
}
