#include "http/h2_server.h"

#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/worker.h"
#include "http/h1_parser.h"
#include "http/h2_flood.h"
#include "http/h2_mem.h"
#include "http/h2_trailer.h"
#include "http/pseudo_request.h"
#include "log/log.h"
#include "proxy/client_conn.h"
#include "proxy/exchange.h"
#include "proxy/headers.h"
#include "proxy/runtime.h"

#define H2_MAX_FIELDS PSEUDO_MAX_FIELDS
#define H2_CONN_WINDOW (1u << 20)      /* connection receive window */
#define H2_STREAM_WINDOW 65535u        /* stream receive window: fits the request buffer */
#define H2_MAX_HEADER_LIST (64u << 10) /* SETTINGS_MAX_HEADER_LIST_SIZE */
#define H2_READS_PER_PASS 16
/* SPEC 11: while streams are open, a connection silent for 20 s gets a
 * PING and is closed when nothing comes back within 21 s more. */
#define H2_PING_INTERVAL_MS 20000u
#define H2_PING_TIMEOUT_MS 21000u

struct h2_stream {
    struct h2_conn *h2;
    struct h2_stream *next, *prev;
    int32_t id;
    struct exchange *ex;

    /* the request head (then the trailers) as received */
    struct req_head rh;
    bool started;       /* the exchange was started (or a synthetic answer given) */
    bool in_trailers;   /* receiving the request's trailer section */
    struct buf trailer; /* request trailer as "name: value\r\n" lines */

    /* the request body not yet taken by the exchange */
    struct buf req_in;
    bool req_end; /* END_STREAM received */

    /* the response */
    struct buf resp;     /* body bytes not yet framed */
    struct buf resp_hdr; /* lower-cased names for the response/trailer nv lists */
    bool resp_eof;
    bool resp_deferred; /* the data provider waits for bytes */
    bool replied;       /* a response head was submitted */
    bool rst_after;     /* reset (NO_ERROR) once the response is sent: the
                           request body is no longer wanted */
    bool closed;        /* nghttp2 closed the stream */
    bool dirty;         /* its exchange has something to do */
};

struct h2_conn {
    struct client *c;
    nghttp2_session *session;
    struct h2_stream *streams;
    size_t n_streams;
    bool goaway;     /* a graceful GOAWAY was sent */
    bool freeing;    /* h2_server_free runs: no more submissions */
    bool room_freed; /* response bytes left: exchanges may have room again */
    bool ping_out;   /* a keep-alive PING waits for an answer */
    uint64_t last_read_ms;
    struct h2_flood flood;
};

/* ---- streams ---- */

static struct h2_stream *stream_new(struct h2_conn *h, int32_t id)
{
    struct h2_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->h2 = h;
    s->id = id;
    s->next = h->streams;
    if (s->next)
        s->next->prev = s;
    h->streams = s;
    if (h->n_streams++ == 0) /* the idle timer becomes the keep-alive timer */
        client_arm_timer_ms(h->c, H2_PING_INTERVAL_MS);
    return s;
}

static void stream_free(struct h2_stream *s)
{
    struct h2_conn *h = s->h2;
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->n_streams--;
    struct buf *bufs[] = { &s->rh.head, &s->trailer, &s->req_in, &s->resp, &s->resp_hdr };
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
        bufs[i]->len = 0;
        buf_release(bufs[i]);
    }
    free(s);
    if (h->n_streams == 0 && !h->freeing && !h->c->dead)
        client_arm_idle_timer(h->c);
}

/* ---- the exchange's front-end operations ---- */

static void submit_head(struct h2_stream *s, const nghttp2_nv *nv, size_t n, bool with_body);

static nghttp2_nv make_nv(const char *name, size_t nl, const char *value, size_t vl)
{
    /* copied at submission: values point into buffers that move on */
    return (nghttp2_nv){ (uint8_t *)name, (uint8_t *)value, nl, vl, NGHTTP2_NV_FLAG_NONE };
}

/* nghttp2 pairs for fields (copied at submission). */
static size_t to_nv(const struct http_field *f, size_t n, nghttp2_nv *nv)
{
    for (size_t i = 0; i < n; i++)
        nv[i] = make_nv(f[i].name, f[i].name_len, f[i].value, f[i].value_len);
    return n;
}

static void fe_synthetic(struct exchange *ex, int status, const char *location, size_t location_len,
                         bool close_after)
{
    struct h2_stream *s = ex->stream;
    if (s->replied || s->closed || s->h2->freeing)
        return;
    char code[4];
    struct http_field f[3];
    nghttp2_nv nv[3];
    size_t n = to_nv(f, http_synthetic_head(status, location, location_len, code, f), nv);
    s->resp_eof = true; /* the whole response */
    submit_head(s, nv, n, false);
}

static void fe_continue_100(struct exchange *ex)
{
    /* HTTP/2 clients send the body without waiting (RFC 9113 8.1.1) */
}

static void fe_interim(struct exchange *ex, int status, const struct http_field *fields, size_t n)
{
    struct h2_stream *s = ex->stream;
    if (s->replied || s->closed)
        return;
    char code[4];
    struct http_field f[H2_MAX_FIELDS + 1];
    nghttp2_nv nv[H2_MAX_FIELDS + 1];
    long k = http_interim_head(status, fields, n, code, &s->resp_hdr, f, H2_MAX_FIELDS + 1);
    if (k > 0)
        nghttp2_submit_headers(s->h2->session, NGHTTP2_FLAG_NONE, s->id, NULL, nv,
                               to_nv(f, (size_t)k, nv), NULL);
}

static int fe_response_head(struct exchange *ex, const struct ex_response *res)
{
    struct h2_stream *s = ex->stream;
    if (s->closed || res->raw)
        return -1;
    char code[4];
    struct http_field f[H2_MAX_FIELDS + 4];
    nghttp2_nv nv[H2_MAX_FIELDS + 4];
    long k = http_final_head(res, code, &s->resp_hdr, f, H2_MAX_FIELDS + 4);
    if (k < 0)
        return -1;
    submit_head(s, nv, to_nv(f, (size_t)k, nv), http_head_has_body(ex, res));
    return 0;
}

static bool fe_response_room(struct exchange *ex)
{
    struct h2_stream *s = ex->stream;
    return s->resp.len < BUF_BLOCK;
}

static long fe_response_body(struct exchange *ex, const char *p, size_t n)
{
    struct h2_stream *s = ex->stream;
    if (s->closed)
        return -1;
    if (s->resp.len + n > BUF_MAX && s->resp.len >= BUF_BLOCK)
        return 0;
    if (s->resp.len + n > BUF_MAX)
        n = BUF_MAX - s->resp.len;
    if (buf_reserve(&s->resp, n) < 0)
        return -1;
    memcpy(buf_data(&s->resp) + s->resp.len, p, n);
    s->resp.len += n;
    if (s->resp_deferred) {
        s->resp_deferred = false;
        nghttp2_session_resume_data(s->h2->session, s->id);
    }
    return (long)n;
}

static void fe_response_end(struct exchange *ex, const char *trailer, size_t trailer_len)
{
    struct h2_stream *s = ex->stream;
    s->resp_eof = true;
    if (trailer_len && buf_reserve(&s->trailer, trailer_len) == 0) {
        s->trailer.len = 0;
        memcpy(buf_data(&s->trailer), trailer, trailer_len);
        s->trailer.len = trailer_len;
    } else {
        s->trailer.len = 0;
    }
    if (s->resp_deferred && !s->closed) {
        s->resp_deferred = false;
        nghttp2_session_resume_data(s->h2->session, s->id);
    }
}

static bool fe_response_pending(struct exchange *ex)
{
    return false; /* the stream keeps what is left to send; the exchange may end */
}

static int fe_pump_request(struct exchange *ex)
{
    struct h2_stream *s = ex->stream;
    int progress = 0;
    if (s->req_in.len) {
        long w = exchange_request_body(ex, buf_data(&s->req_in), s->req_in.len);
        if (w < 0)
            return -1;
        if (w > 0) {
            buf_consume(&s->req_in, (size_t)w);
            nghttp2_session_consume(s->h2->session, s->id, (size_t)w);
            progress = 1;
        }
    }
    if (s->req_end && s->req_in.len == 0 && !ex->req_done) {
        if (ex->req_body == EX_BODY_LENGTH && ex->req_remaining) {
            exchange_abort(ex, 400, NULL); /* nghttp2 checks this too; belt and braces */
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
    struct h2_stream *s = ex->stream;
    if (!s)
        return;
    s->ex = NULL;
    struct h2_conn *h = s->h2;
    if (h->freeing)
        return;
    if (s->req_in.len) {
        /* request body nobody will take: its window comes back */
        if (s->closed)
            nghttp2_session_consume_connection(h->session, s->req_in.len);
        else
            nghttp2_session_consume(h->session, s->id, s->req_in.len);
        s->req_in.len = 0;
    }
    if (s->closed)
        return;
    if (!s->replied) {
        nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    if (!ok && !s->resp_eof) {
        /* the response broke off: the client must not take it as complete */
        nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    /* answered before the request ended: no more body wanted (RFC 9113
     * 8.1), said once the response has left */
    s->rst_after = !s->req_end;
}

/* Upstream news for a stream: driven at the end of the loop pass, so the
 * responses of one pass leave the connection in one write (one TLS record
 * train) instead of one write each. */
static void fe_kick(struct exchange *ex)
{
    struct h2_stream *s = ex->stream;
    s->dirty = true;
    client_drive_at_end(ex->c);
}

static const struct ex_front h2_front = {
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

/* ---- response body through nghttp2 ---- */

/* The upstream's trailer lines, submitted as the stream's trailers. */
static void submit_trailers(struct h2_stream *s)
{
    nghttp2_nv nv[H2_MAX_FIELDS];
    size_t n = h2_trailer_nv(&s->trailer, nv, H2_MAX_FIELDS);
    if (n)
        nghttp2_submit_trailer(s->h2->session, s->id, nv, n);
}

static ssize_t data_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *user)
{
    struct h2_stream *s = src->ptr;
    size_t n = length < s->resp.len ? length : s->resp.len;
    if (n == 0 && !s->resp_eof) {
        s->resp_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == s->resp.len && s->resp_eof) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (s->trailer.len) {
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            submit_trailers(s);
        }
    }
    return (ssize_t)n;
}

/* Writes a DATA frame: its header, then the bytes straight from s->resp
 * into the connection's output. */
static int send_data(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd,
                     size_t length, nghttp2_data_source *src, void *user)
{
    struct h2_conn *h = user;
    struct client *c = h->c;
    struct h2_stream *s = src->ptr;
    if (c->out.len >= BUF_BLOCK && client_flush(c, NULL, 0) < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (c->out.len >= BUF_BLOCK)
        return NGHTTP2_ERR_WOULDBLOCK;
    size_t pad = frame->data.padlen;
    if (buf_reserve(&c->out, 9 + length + pad) < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    char *o = buf_data(&c->out) + c->out.len;
    memcpy(o, framehd, 9);
    size_t at = 9;
    if (pad) {
        o[at++] = (char)(pad - 1);
    }
    memcpy(o + at, buf_bytes(&s->resp), length);
    at += length;
    if (pad > 1) {
        memset(o + at, 0, pad - 1);
        at += pad - 1;
    }
    c->out.len += at;
    buf_consume(&s->resp, length);
    if (s->ex) {
        h->room_freed = true; /* the exchange may pull more from its upstream */
        s->dirty = true;
    }
    return 0;
}

static void submit_head(struct h2_stream *s, const nghttp2_nv *nv, size_t n, bool with_body)
{
    nghttp2_data_provider prd = { .source.ptr = s, .read_callback = data_read };
    s->replied = true;
    if (nghttp2_submit_response(s->h2->session, s->id, nv, n, with_body ? &prd : NULL) != 0)
        nghttp2_submit_rst_stream(s->h2->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
}

/* ---- requests ---- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    struct h2_conn *h = user;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
        struct h2_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
        if (s)
            s->in_trailers = true;
        return 0;
    }
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2_stream *s = stream_new(h, frame->hd.stream_id);
    if (!s)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s);
    return 0;
}

/* Request trailers become "name: value\r\n" lines for the upstream. */
static int trailer_field(struct h2_stream *s, const uint8_t *name, size_t nl, const uint8_t *value,
                         size_t vl)
{
    if (nl && name[0] == ':')
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* no pseudo-header in trailers */
    return h2_trailer_append(&s->trailer, name, nl, value, vl) < 0
               ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE
               : 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t nl, const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
    struct h2_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (s->in_trailers)
        return trailer_field(s, name, nl, value, vl);
    req_head_add(&s->rh, name, nl, value, vl);
    return 0;
}

/* Builds the neutral request from the stream's head and starts the exchange. */
static void start_request(struct h2_stream *s, bool end_stream)
{
    struct h2_conn *h = s->h2;
    struct client *c = h->c;
    s->started = true;
    s->req_end = end_stream;
    if (s->rh.too_large) {
        /* only what fe_synthetic reads: an exchange is kilobytes to clear */
        struct exchange tmp;
        tmp.c = c;
        tmp.stream = s;
        fe_synthetic(&tmp, 431, NULL, 0, false);
        if (!end_stream)
            nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
        return;
    }
    if (!c->w->rt || c->closing) {
        nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_REFUSED_STREAM);
        return;
    }
    struct http_field fields[H2_MAX_FIELDS];
    struct ex_request er;
    int r = req_head_request(&s->rh, HTTP_20, end_stream, fields, &er);
    if (r < 0) {
        nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, s->id,
                                  r == -1 ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_PROTOCOL_ERROR);
        return;
    }
    struct exchange *ex;
    exchange_start(c, &h2_front, s, &er, &ex);
    s->ex = ex;
    s->dirty = true;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    struct h2_conn *h = user;
    uint64_t now = loop_now_ms(h->c->w->loop);
    if (h2_flood_frame(&h->flood, frame->hd.type, frame->hd.flags, frame->hd.length, now)) {
        log_debug("HTTP/2 flood from a client: closing with ENHANCE_YOUR_CALM");
        nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM);
        return 0;
    }
    struct h2_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s)
        return 0;
    bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && !s->started &&
        frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        start_request(s, end);
    } else if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && end) {
        s->req_end = true;
        s->dirty = true;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *user)
{
    struct h2_conn *h = user;
    struct h2_stream *s = nghttp2_session_get_stream_user_data(session, id);
    if (!s || !s->ex || s->ex->req_done) {
        /* nobody wants it: give the window back at once */
        nghttp2_session_consume(session, id, len);
        return 0;
    }
    if (buf_reserve(&s->req_in, len) < 0) {
        nghttp2_session_consume(session, id, len);
        nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, id, NGHTTP2_FLOW_CONTROL_ERROR);
        return 0;
    }
    memcpy(buf_data(&s->req_in) + s->req_in.len, data, len);
    s->req_in.len += len;
    s->dirty = true;
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
        (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS))
        return 0;
    struct h2_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s && s->rst_after && !s->req_end)
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *user)
{
    struct h2_stream *s = nghttp2_session_get_stream_user_data(session, id);
    if (!s)
        return 0;
    s->closed = true;
    if (s->ex)
        exchange_abort(s->ex, 0, NULL); /* the client reset it: cancel upstream */
    if (s->req_in.len)                  /* body that arrived for an exchange already over */
        nghttp2_session_consume_connection(session, s->req_in.len);
    nghttp2_session_set_stream_user_data(session, id, NULL);
    stream_free(s);
    return 0;
}

static ssize_t on_send(nghttp2_session *session, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    struct h2_conn *h = user;
    struct client *c = h->c;
    if (c->out.len >= BUF_BLOCK && client_flush(c, NULL, 0) < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (c->out.len >= BUF_BLOCK)
        return NGHTTP2_ERR_WOULDBLOCK;
    if (buf_reserve(&c->out, len) < 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    memcpy(buf_data(&c->out) + c->out.len, data, len);
    c->out.len += len;
    return (ssize_t)len;
}

/* ---- the connection ---- */

/* One set for the process (sessions copy it), made once. */
static nghttp2_session_callbacks *shared_cbs;

static void make_callbacks(void)
{
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        return;
    nghttp2_session_callbacks_set_send_callback(cbs, on_send);
    nghttp2_session_callbacks_set_send_data_callback(cbs, send_data);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    shared_cbs = cbs;
}

static nghttp2_session_callbacks *callbacks(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_callbacks);
    return shared_cbs;
}

int h2_server_start(struct client *c)
{
    const struct cfg *cfg = c->w->rt ? c->w->rt->cfg : NULL;
    nghttp2_session_callbacks *cbs = callbacks();
    struct h2_conn *h = calloc(1, sizeof(*h));
    if (!cfg || !cbs || !h) {
        free(h);
        return -1;
    }
    h->c = c;
    nghttp2_option *opt;
    if (nghttp2_option_new(&opt) != 0) {
        free(h);
        return -1;
    }
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_settings(opt, 32);
    nghttp2_option_set_max_outbound_ack(opt, 1000);
    nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 33);
    nghttp2_option_set_max_continuations(opt, 8);
    int r = nghttp2_session_server_new3(&h->session, cbs, h, opt, h2_mem());
    nghttp2_option_del(opt);
    if (r != 0) {
        free(h);
        return -1;
    }
    uint32_t streams = cfg->max_concurrent_streams ? cfg->max_concurrent_streams : 1;
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, streams },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW },
        { NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_MAX_HEADER_LIST },
    };
    if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, 3) != 0 ||
        nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0,
                                              (int32_t)H2_CONN_WINDOW) != 0) {
        nghttp2_session_del(h->session);
        free(h);
        return -1;
    }
    h2_flood_init(&h->flood, loop_now_ms(c->w->loop));
    h->last_read_ms = loop_now_ms(c->w->loop);
    c->h2 = h;
    loop_timer_cancel(c->w->loop, &c->timer);
    client_arm_idle_timer(c);
    return 0;
}

/* Feeds what c->in holds to nghttp2. Returns 0, or -1 on a fatal error. */
static int feed(struct h2_conn *h)
{
    struct client *c = h->c;
    if (c->in.len) {
        h->last_read_ms = loop_now_ms(c->w->loop);
        h->ping_out = false;
    }
    while (c->in.len) {
        ssize_t n =
            nghttp2_session_mem_recv(h->session, (const uint8_t *)buf_data(&c->in), c->in.len);
        if (n < 0) {
            log_debug("HTTP/2 session error: %s", nghttp2_strerror((int)n));
            return -1;
        }
        buf_consume(&c->in, (size_t)n);
        if (n == 0)
            break;
    }
    return 0;
}

/* Drives the exchanges of streams that have something to do (all of them
 * on a deferred drive, whose cause is not known). */
static void drive_streams(struct h2_conn *h)
{
    bool all = h->c->redrive_all;
    h->c->redrive_all = false;
    for (struct h2_stream *s = h->streams; s;) {
        struct h2_stream *next = s->next;
        if (s->ex && (s->dirty || all)) {
            s->dirty = false;
            exchange_drive(s->ex);
        }
        s = next;
    }
}

void h2_server_drive(struct client *c)
{
    struct h2_conn *h = c->h2;
    if (!h || c->dead)
        return;
    for (int i = 0; i < H2_READS_PER_PASS; i++) {
        if (feed(h) < 0) {
            client_close(c);
            return;
        }
        if (c->dead)
            return;
        if (c->read_eof || !c->can_read || !nghttp2_session_want_read(h->session))
            break;
        int r = client_read_more(c);
        if (r < 0) {
            client_close(c);
            return;
        }
        if (r == 0 && !c->read_eof)
            break;
    }
    if (c->can_read && !c->read_eof && nghttp2_session_want_read(h->session))
        client_redrive_later(c); /* more to read: after the other connections */
    for (int round = 0;; round++) {
        h->room_freed = false;
        drive_streams(h);
        if (c->dead)
            return;
        if (nghttp2_session_send(h->session) != 0 || client_flush(c, NULL, 0) < 0) {
            client_close(c);
            return;
        }
        if (c->out.len || !h->room_freed)
            break; /* the socket is full (EPOLLOUT comes), or nothing moved */
        if (round == 8) {
            client_redrive_later(c);
            break;
        }
    }
    if (c->read_eof && h->n_streams == 0)
        h->goaway = true;
    bool done = !nghttp2_session_want_read(h->session) && !nghttp2_session_want_write(h->session);
    if ((done || (c->read_eof && h->n_streams == 0)) && c->out.len == 0) {
        c->orderly = true;
        client_close_gracefully(c);
    }
}

void h2_server_shutdown(struct client *c)
{
    struct h2_conn *h = c->h2;
    if (!h || h->goaway)
        return;
    h->goaway = true;
    nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(h->session), NGHTTP2_NO_ERROR,
                          NULL, 0);
    client_drive(c);
}

/* Streams are open: PING a connection that went silent, close one that
 * stayed silent after it. */
static void keep_alive(struct h2_conn *h)
{
    struct client *c = h->c;
    uint64_t silent = loop_now_ms(c->w->loop) - h->last_read_ms;
    if (h->ping_out && silent >= H2_PING_INTERVAL_MS + H2_PING_TIMEOUT_MS) {
        log_debug("HTTP/2 keep-alive: no answer to PING in %u ms, closing", H2_PING_TIMEOUT_MS);
        client_close(c);
        return;
    }
    if (!h->ping_out && silent >= H2_PING_INTERVAL_MS) {
        h->ping_out = true;
        nghttp2_submit_ping(h->session, NGHTTP2_FLAG_NONE, NULL);
        client_arm_timer_ms(c, H2_PING_TIMEOUT_MS);
        client_drive(c);
        return;
    }
    uint64_t due = H2_PING_INTERVAL_MS + (h->ping_out ? H2_PING_TIMEOUT_MS : 0);
    client_arm_timer_ms(c, due - silent);
}

void h2_server_idle_timeout(struct client *c)
{
    struct h2_conn *h = c->h2;
    if (h->n_streams) {
        keep_alive(h);
        return;
    }
    nghttp2_session_terminate_session(h->session, NGHTTP2_NO_ERROR);
    client_drive(c);
}

void h2_server_free(struct client *c)
{
    struct h2_conn *h = c->h2;
    if (!h)
        return;
    h->freeing = true;
    while (h->streams) {
        struct h2_stream *s = h->streams;
        s->closed = true;
        if (s->ex)
            exchange_abort(s->ex, 0, NULL);
        stream_free(s);
    }
    nghttp2_session_del(h->session);
    free(h);
    c->h2 = NULL;
}
