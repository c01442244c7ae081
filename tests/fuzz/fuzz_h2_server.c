/* libFuzzer target for the HTTP/2 front-end (src/http/h2_server.c) with the
 * whole proxy behind it: a real client connection (a socketpair handed to
 * client_accept), the worker's event loop, exchanges and both upstream
 * clients, against a scripted backend in this process.
 *
 * Input: bytes 0 and 1 steer the run, the rest is what the client sends
 * after the connection preface (which the target writes itself).
 * Byte 0:
 *   bits 0-2  backend behaviour (see enum be_kind)
 *   bit  3    the backend answers only after the client sent everything
 *   bits 4-5  how the bytes are cut into writes: 0 one write, 1 one write
 *             per frame, 2 small fixed pieces, 3 three cuts at places taken
 *             from a hash of the input
 *   bit  6    the client half-closes (FIN) after its last byte
 *   bit  7    small socket buffers on the proxy's side and a slow reader,
 *             so the proxy's writes block (WOULDBLOCK, EPOLLOUT paths)
 * Byte 1:
 *   bit  0    once all is quiet, the client connection's timer fires (as
 *             when client_header_timeout passes: the HTTP/2 idle close)
 *   bit  1    the backend writes its first bytes a few at a time, so
 *             response heads and bodies arrive in pieces
 *   bit  2    the worker drains (graceful GOAWAY, as on SIGTERM or reload)
 *             once half of the bytes were written
 *   bits 3-7  unused
 *
 * Each write is followed by one pass of the worker's loop, a turn of the
 * backend and a drain of what the proxy wrote; after the last write the
 * passes go on until nothing moves. Then the client connection is closed
 * (aborting whatever exchange is left), every upstream connection too, and
 * the deferred frees run, so LeakSanitizer sees the memory of the input
 * released.
 *
 * The config has one app (also the default app, so mangled authorities
 * still get routed): the default route to the backend, "/dead" to a port
 * that refuses connections, "/sticky" with sticky cookies over two
 * upstreams and header options, "/h2" forced to HTTP/2 upstream (the
 * backend then speaks HTTP/2 through nghttp2). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "core/loop.h"
#include "core/worker.h"
#include "log/log.h"
#include "proxy/client_conn.h"
#include "proxy/runtime.h"
#include "upstream/h2_client.h"
#include "upstream/pool.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN (sizeof(preface) - 1)

#define MAX_ROUNDS 256 /* loop passes per input, at most */
#define MAX_CUTS 64    /* writes per input, at most */
#define IDLE_ROUNDS 3  /* passes without progress that end an input */
#define BIG_BODY 100000
#define DRIBBLE_UPTO 512 /* backend bytes written in pieces ... */
#define DRIBBLE_PIECE 16 /* ... of this size, one per turn */

static void die(const char *what)
{
    fprintf(stderr, "fuzz_h2_server: %s: %s\n", what, strerror(errno));
    abort();
}

/* ---- the scripted backend ---- */

enum be_kind {
    BE_LENGTH,    /* HTTP/1: 200 with Content-Length; h2: 200, body, trailers */
    BE_CHUNKED,   /* HTTP/1: chunked with extensions and trailers; h2: 204 */
    BE_NO_BODY,   /* HTTP/1: 204 with a Date; h2: RST_STREAM REFUSED_STREAM */
    BE_CLOSE,     /* HTTP/1: body until close; h2: GOAWAY, then close */
    BE_BIG,       /* 100 Continue, then 200 with a 100000-byte body (h2: no 100) */
    BE_TRUNCATED, /* the body breaks off: HTTP/1 closes, h2 resets the stream */
    BE_HANGUP,    /* close when the request head arrives */
    BE_SILENT,    /* never answer */
};

static const char *const h1_answers[] = {
    [BE_LENGTH] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n"
                  "Server: be\r\nX-A: b\r\nSet-Cookie: a=b\r\n\r\nhello",
    [BE_CHUNKED] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: grpc-status\r\n"
                   "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n"
                   "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\ngrpc-status: 0\r\nX-T: 1\r\n"
                   "Content-Length: 11\r\nTE: trailers\r\n\r\n",
    [BE_NO_BODY] = "HTTP/1.1 204 No Content\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n",
    [BE_CLOSE] =
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe body ends when the connection does",
    [BE_BIG] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 100000\r\n"
               "Alt-Svc: h3=\":443\"\r\n\r\n",
    [BE_TRUNCATED] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
};

struct be_stream {
    int32_t id; /* 0: free slot */
    bool answered;
    size_t off, len; /* body bytes sent, body length */
    bool trailers;
};

#define BE_STREAMS 32

struct be_conn {
    int fd;     /* -1 once closed */
    bool first; /* nothing read yet */
    bool h2;
    bool close_after; /* close once `out` is flushed */
    unsigned crlf;    /* HTTP/1: state of the "\r\n\r\n" matcher */
    unsigned heads;   /* HTTP/1: request heads not answered yet */
    size_t sent;      /* bytes written so far */
    char *out;
    size_t out_off, out_len, out_cap;
    nghttp2_session *s;
    struct be_stream st[BE_STREAMS];
};

#define BE_MAX 32

static struct {
    int listen_fd;
    uint16_t port;
    int dead_fd; /* bound, never listening: connections to it are refused */
    uint16_t dead_port;
    nghttp2_session_callbacks *cbs;
    enum be_kind kind;
    bool late;    /* answer only once the client sent everything */
    bool tail;    /* ... which is now */
    bool dribble; /* the first DRIBBLE_UPTO bytes of a connection in small writes */
    struct be_conn conns[BE_MAX];
    size_t n;
} be;

static char big_body[BIG_BODY];

static void be_put(struct be_conn *b, const void *p, size_t n)
{
    if (b->out_len + n > b->out_cap) {
        size_t cap = b->out_cap ? b->out_cap : 4096;
        while (cap < b->out_len + n)
            cap *= 2;
        char *o = realloc(b->out, cap);
        if (!o)
            die("out of memory");
        b->out = o;
        b->out_cap = cap;
    }
    memcpy(b->out + b->out_len, p, n);
    b->out_len += n;
}

/* Closes b; with rst, by a reset (SO_LINGER 0): used when the proxy closed
 * first or the input ends, so that no TIME_WAIT is left on the proxy's
 * side (thousands of them per second would use up the ephemeral ports). */
static void be_close(struct be_conn *b, bool rst)
{
    if (b->fd < 0)
        return;
    if (rst) {
        struct linger lg = { 1, 0 };
        setsockopt(b->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(b->fd);
    b->fd = -1;
    if (b->s)
        nghttp2_session_del(b->s);
    b->s = NULL;
    free(b->out);
    b->out = NULL;
    b->out_off = b->out_len = b->out_cap = 0;
}

/* HTTP/1: one answer to one request head. */
static void h1_answer(struct be_conn *b)
{
    switch (be.kind) {
    case BE_HANGUP: be_close(b, false); return;
    case BE_SILENT: return;
    default: break;
    }
    const char *a = h1_answers[be.kind];
    be_put(b, a, strlen(a));
    if (be.kind == BE_BIG)
        be_put(b, big_body, sizeof(big_body));
    if (be.kind == BE_CLOSE || be.kind == BE_TRUNCATED)
        b->close_after = true;
}

static ssize_t h2_be_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
                          void *user)
{
    be_put(user, data, len);
    return (ssize_t)len;
}

static ssize_t h2_be_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                          uint32_t *flags, nghttp2_data_source *src, void *user)
{
    struct be_stream *st = src->ptr;
    size_t n = st->len - st->off < length ? st->len - st->off : length;
    memcpy(buf, big_body, n);
    st->off += n;
    if (st->off == st->len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (st->trailers) {
            static const nghttp2_nv tr[] = {
                { (uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, NGHTTP2_NV_FLAG_NONE },
                { (uint8_t *)"grpc-message", (uint8_t *)"ok", 12, 2, NGHTTP2_NV_FLAG_NONE },
            };
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            nghttp2_submit_trailer(session, id, tr, 2);
        }
    }
    return (ssize_t)n;
}

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, 0                            \
    }

/* HTTP/2: the answer to one request stream. */
static void h2_answer(struct be_conn *b, struct be_stream *st)
{
    static const nghttp2_nv ok[] = { NV(":status", "200"), NV("content-type", "application/grpc"),
                                     NV("x-be", "h2") };
    static const nghttp2_nv empty[] = { NV(":status", "204") };
    nghttp2_data_provider prd = { .source.ptr = st, .read_callback = h2_be_read };
    st->answered = true;
    switch (be.kind) {
    case BE_LENGTH:
        st->len = 5;
        st->trailers = true;
        nghttp2_submit_response(b->s, st->id, ok, 3, &prd);
        break;
    case BE_CHUNKED: nghttp2_submit_response(b->s, st->id, empty, 1, NULL); break;
    case BE_NO_BODY:
        nghttp2_submit_rst_stream(b->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_REFUSED_STREAM);
        break;
    case BE_CLOSE:
        nghttp2_submit_goaway(b->s, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
        b->close_after = true;
        break;
    case BE_BIG:
        st->len = BIG_BODY;
        nghttp2_submit_response(b->s, st->id, ok, 2, &prd);
        break;
    case BE_TRUNCATED: {
        static const uint8_t part[] = "abc";
        nghttp2_submit_headers(b->s, NGHTTP2_FLAG_NONE, st->id, NULL, ok, 3, NULL);
        nghttp2_session_send(b->s); /* the head before the reset */
        uint8_t hd[9] = { 0, 0, 3, NGHTTP2_DATA, 0 };
        hd[5] = (uint8_t)(st->id >> 24), hd[6] = (uint8_t)(st->id >> 16);
        hd[7] = (uint8_t)(st->id >> 8), hd[8] = (uint8_t)st->id;
        be_put(b, hd, 9);
        be_put(b, part, 3);
        nghttp2_submit_rst_stream(b->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        break;
    }
    case BE_HANGUP: b->close_after = true; break;
    case BE_SILENT: break;
    }
}

static int h2_be_frame(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    struct be_conn *b = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    for (size_t i = 0; i < BE_STREAMS; i++) {
        if (b->st[i].id == 0) {
            b->st[i] = (struct be_stream){ .id = frame->hd.stream_id };
            return 0;
        }
    }
    nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
    return 0;
}

static void be_accept(void)
{
    for (;;) {
        int fd = accept4(be.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (be.n == BE_MAX) {
            close(fd);
            continue;
        }
        be.conns[be.n++] = (struct be_conn){ .fd = fd, .first = true };
    }
}

/* Reads what arrived on b; returns whether anything did. */
static bool be_read(struct be_conn *b)
{
    bool any = false;
    uint8_t buf[16384];
    while (b->fd >= 0) {
        ssize_t n = recv(b->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            be_close(b, true);
            return true;
        }
        any = true;
        if (b->first) {
            b->first = false;
            b->h2 = (size_t)n >= 14 && memcmp(buf, preface, 14) == 0;
            if (b->h2) {
                nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 8 } };
                if (nghttp2_session_server_new(&b->s, be.cbs, b) != 0)
                    die("nghttp2_session_server_new");
                nghttp2_submit_settings(b->s, NGHTTP2_FLAG_NONE, iv, 1);
            }
        }
        if (b->h2) {
            if (nghttp2_session_mem_recv(b->s, buf, (size_t)n) < 0) {
                be_close(b, false);
                return true;
            }
            continue;
        }
        for (ssize_t i = 0; i < n; i++) {
            static const char end[] = "\r\n\r\n";
            if (buf[i] == (uint8_t)end[b->crlf])
                b->crlf++;
            else
                b->crlf = buf[i] == '\r';
            if (b->crlf == 4) {
                b->heads++;
                b->crlf = 0;
            }
        }
    }
    return any;
}

/* Sends what `out` holds; returns whether anything left. */
static bool be_flush(struct be_conn *b)
{
    bool any = false;
    while (b->fd >= 0 && b->out_off < b->out_len) {
        size_t want = b->out_len - b->out_off;
        bool piece = be.dribble && b->sent < DRIBBLE_UPTO;
        if (piece && want > DRIBBLE_PIECE)
            want = DRIBBLE_PIECE;
        ssize_t n = send(b->fd, b->out + b->out_off, want, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            be_close(b, true);
            return true;
        }
        b->out_off += (size_t)n;
        b->sent += (size_t)n;
        any = true;
        if (piece)
            break; /* the next piece in the next turn */
    }
    if (b->fd >= 0 && b->out_off == b->out_len) {
        b->out_off = b->out_len = 0;
        if (b->close_after)
            be_close(b, false);
    }
    return any;
}

/* One turn of the backend: accept, read, answer, write. Returns whether
 * anything happened. */
static bool be_turn(void)
{
    size_t before = be.n;
    bool progress = false;
    be_accept();
    progress |= be.n != before;
    for (size_t i = 0; i < be.n; i++) {
        struct be_conn *b = &be.conns[i];
        progress |= be_read(b);
        if (b->fd < 0)
            continue;
        if (!be.late || be.tail) {
            if (b->h2) {
                for (size_t k = 0; k < BE_STREAMS && !b->close_after; k++)
                    if (b->st[k].id && !b->st[k].answered)
                        h2_answer(b, &b->st[k]);
            } else {
                for (; b->heads && b->fd >= 0 && !b->close_after; b->heads--)
                    h1_answer(b);
            }
        }
        if (b->fd >= 0 && b->s && nghttp2_session_send(b->s) != 0)
            be_close(b, false);
        progress |= be_flush(b);
    }
    return progress;
}

static void be_close_all(void)
{
    for (size_t i = 0; i < be.n; i++)
        be_close(&be.conns[i], true);
    be.n = 0;
}

static int listen_local(bool do_listen, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        (do_listen && listen(fd, 128) < 0) || getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
        die("backend socket");
    *port = ntohs(sin.sin_port);
    return fd;
}

/* ---- the proxy ---- */

static struct worker *w;
static struct loop_deferred stop_d;
static bool trace; /* RPXY_FUZZ_TRACE: on stderr, a line per pass and per frame written */

static void on_stop(struct loop *loop, struct loop_deferred *d)
{
    loop_stop(loop);
}

/* One pass of the worker's loop: the I/O events ready now, due timers and
 * the deferred work (the stop request queued first makes the wait 0 ms and
 * ends the run after this pass). */
static void loop_pass(void)
{
    loop_defer(w->loop, &stop_d, on_stop);
    loop_run(w->loop);
}

/* What the loop does when the client connection's timer is due, now:
 * time does not pass during an input, so this stands for
 * client_header_timeout (or lingering) running out. */
static void fire_client_timer(void)
{
    struct client *c = w->clients.head;
    if (c && loop_timer_armed(&c->timer)) {
        loop_timer_cancel(w->loop, &c->timer);
        c->timer.cb(w->loop, &c->timer);
    }
}

static struct runtime *build_runtime(void)
{
    char text[2048];
    int n =
        snprintf(text, sizeof(text),
                 "listen_port = 8080\n"
                 "max_concurrent_streams = 16\n"
                 "request_max_body_size = 100000\n"
                 "trusted_forwarded_proxies = [\"127.0.0.0/8\"]\n"
                 "sticky_cookie_secret = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"\n"
                 "default_app = \"a\"\n"
                 "[apps.a]\n"
                 "server_name = \"a.test\"\n"
                 "[[apps.a.reverse_proxy]]\n"
                 "upstream = [{ location = \"127.0.0.1:%u\" }]\n"
                 "[[apps.a.reverse_proxy]]\n"
                 "path = \"/dead\"\n"
                 "upstream = [{ location = \"127.0.0.1:%u\" }]\n"
                 "[[apps.a.reverse_proxy]]\n"
                 "path = \"/sticky\"\n"
                 "replace_path = \"/s\"\n"
                 "load_balance = \"sticky\"\n"
                 "upstream_options = [\"keep_original_host\", \"forwarded_header\"]\n"
                 "upstream = [{ location = \"127.0.0.1:%u\" }, { location = \"127.0.0.1:%u\" }]\n"
                 "[[apps.a.reverse_proxy]]\n"
                 "path = \"/h2\"\n"
                 "upstream_options = [\"force_http2_upstream\", \"set_upstream_host\",\n"
                 "                    \"upgrade_insecure_requests\"]\n"
                 "upstream = [{ location = \"127.0.0.1:%u\" }]\n",
                 be.port, be.dead_port, be.port, be.port, be.port);
    if (n < 0 || (size_t)n >= sizeof(text))
        die("config text");
    struct cfg_diags diags = { 0 };
    struct cfg *cfg = cfg_load_text("fuzz_h2_server.toml", text, (size_t)n, &diags);
    char line[2048];
    for (size_t i = 0; i < diags.n; i++) {
        cfg_diag_format(&diags.items[i], line, sizeof(line));
        fprintf(stderr, "fuzz_h2_server: %s\n", line);
    }
    cfg_diags_free(&diags);
    if (!cfg) {
        errno = EINVAL;
        die("config rejected");
    }
    struct runtime *rt = runtime_build(cfg);
    if (!rt)
        die("runtime_build");
    return rt;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    signal(SIGPIPE, SIG_IGN);
    trace = getenv("RPXY_FUZZ_TRACE") != NULL;
    /* access and debug lines are formatted (client bytes reach them) but
     * go nowhere unless RPXY_FUZZ_LOG is set */
    log_open(NULL, LOG_DEBUG);
    if (!getenv("RPXY_FUZZ_LOG")) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
            die("/dev/null");
        close(null);
    }
    memset(big_body, 'x', sizeof(big_body));
    be.listen_fd = listen_local(true, &be.port);
    be.dead_fd = listen_local(false, &be.dead_port);
    if (nghttp2_session_callbacks_new(&be.cbs) != 0)
        die("nghttp2 callbacks");
    nghttp2_session_callbacks_set_send_callback(be.cbs, h2_be_send);
    nghttp2_session_callbacks_set_on_frame_recv_callback(be.cbs, h2_be_frame);

    worker_set_conn_ops(&client_conn_ops);
    w = worker_new(0);
    if (!w)
        die("worker_new");
    w->rt = build_runtime();
    return 0;
}

/* ---- the client ---- */

struct plan {
    size_t cuts[MAX_CUTS]; /* end offsets of the writes, ascending; the last is the total */
    size_t n;
};

static void add_cut(struct plan *p, size_t at, size_t total)
{
    if (at > total)
        at = total;
    if (p->n && p->cuts[p->n - 1] >= at)
        return;
    if (p->n == MAX_CUTS - 1)
        at = total; /* the rest in the last write */
    p->cuts[p->n++] = at;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/* Where the writes end, in the stream of preface + payload. */
static void make_plan(struct plan *p, unsigned mode, const uint8_t *payload, size_t n)
{
    size_t total = PREFACE_LEN + n;
    p->n = 0;
    switch (mode) {
    case 1: /* the preface, then frame by frame */
        add_cut(p, PREFACE_LEN, total);
        for (size_t at = 0; at + 9 <= n && p->cuts[p->n - 1] < total;) {
            size_t len = (size_t)payload[at] << 16 | (size_t)payload[at + 1] << 8 | payload[at + 2];
            at += 9 + len;
            add_cut(p, PREFACE_LEN + at, total);
        }
        break;
    case 2: { /* pieces of 1-29 bytes */
        size_t k = 1 + n % 29;
        for (size_t at = k; at < total; at += k)
            add_cut(p, at, total);
        break;
    }
    case 3: { /* three cuts anywhere */
        uint64_t h = fnv1a(payload, n);
        size_t c[3] = { (size_t)(h % (total + 1)), (size_t)((h >> 21) % (total + 1)),
                        (size_t)((h >> 42) % (total + 1)) };
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2 - i; j++)
                if (c[j] > c[j + 1]) {
                    size_t t = c[j];
                    c[j] = c[j + 1];
                    c[j + 1] = t;
                }
        for (int i = 0; i < 3; i++)
            if (c[i] > 0)
                add_cut(p, c[i], total);
        break;
    }
    default: break;
    }
    add_cut(p, total, total);
}

/* Prints the frame headers that start in buf (tracing only: a frame cut
 * by a read boundary throws the walk off). */
static void trace_frames(const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i + 9 <= n; i += 9 + (size_t)(buf[i] << 16 | buf[i + 1] << 8 | buf[i + 2]))
        fprintf(stderr, "  out: type %u flags %#x length %u stream %u\n", buf[i + 3], buf[i + 4],
                (unsigned)(buf[i] << 16 | buf[i + 1] << 8 | buf[i + 2]),
                (unsigned)((uint32_t)buf[i + 5] << 24 | buf[i + 6] << 16 | buf[i + 7] << 8 |
                           buf[i + 8]) &
                    0x7fffffffu);
}

/* Reads what the proxy wrote (at most `limit` bytes); returns whether
 * anything came or the proxy closed. */
static bool drain(int fd, size_t limit, bool *eof)
{
    uint8_t buf[16384];
    size_t got = 0;
    bool any = false;
    while (!*eof && got < limit) {
        size_t want = limit - got < sizeof(buf) ? limit - got : sizeof(buf);
        ssize_t n = recv(fd, buf, want, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            *eof = true;
            return true;
        }
        if (trace)
            trace_frames(buf, (size_t)n);
        got += (size_t)n;
        any = true;
    }
    return any;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t ctl = size > 0 ? data[0] : 0, ctl2 = size > 1 ? data[1] : 0;
    const uint8_t *payload = data + (size < 2 ? size : 2);
    size_t n = size < 2 ? 0 : size - 2;
    bool half_close = ctl & 0x40, small = ctl & 0x80;
    bool fire_timer = ctl2 & 1, drain_half = ctl2 & 4;

    be.kind = (enum be_kind)(ctl & 7);
    be.late = ctl & 8;
    be.tail = false;
    be.dribble = ctl2 & 2;
    be.n = 0;
    lb_rng_seed(&w->rng, 1);

    uint8_t *stream = malloc(PREFACE_LEN + n);
    if (!stream)
        die("out of memory");
    memcpy(stream, preface, PREFACE_LEN);
    if (n)
        memcpy(stream + PREFACE_LEN, payload, n);
    struct plan plan;
    make_plan(&plan, ctl >> 4 & 3, payload, n);

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair");
    if (small) {
        int sz = 4096;
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    }
    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof(peer));
    struct sockaddr_in *sin = (struct sockaddr_in *)&peer;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(40000);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    client_accept(w, sv[0], &peer, 8080, false); /* the proxy owns sv[0] from here */
    int cfd = sv[1];

    size_t written = 0, ci = 0;
    bool eof = false, shut = false, drained = false, fired = false;
    int idle = 0;
    for (int round = 0; round < MAX_ROUNDS; round++) {
        bool progress = false;
        while (ci < plan.n) {
            size_t end = plan.cuts[ci];
            ssize_t k = send(cfd, stream + written, end - written, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0 && errno == EAGAIN)
                break;
            if (k < 0) {
                ci = plan.n; /* the proxy is gone: nothing more to send */
                break;
            }
            progress = true;
            written += (size_t)k;
            if (written == end)
                ci++;
            break; /* one write per pass */
        }
        if (ci == plan.n) {
            be.tail = true;
            if (half_close && !shut) {
                shutdown(cfd, SHUT_WR);
                shut = true;
            }
        }
        loop_pass();
        if (drain_half && !drained && written >= (PREFACE_LEN + n) / 2) {
            drained = true;
            client_close_idle_all(w); /* as on SIGTERM or reload */
        }
        progress |= be_turn();
        progress |= drain(cfd, small ? 4096 : SIZE_MAX, &eof);
        if (trace)
            fprintf(stderr, "pass %d: written %zu/%zu, backend conns %zu, client %s%s\n", round,
                    written, PREFACE_LEN + n, be.n, w->clients.head ? "open" : "closed",
                    eof ? ", EOF" : "");
        if (be.tail) {
            idle = progress ? 0 : idle + 1;
            if (idle == IDLE_ROUNDS && fire_timer && !fired) {
                fired = true;
                idle = 0;
                fire_client_timer();
            } else if (idle == IDLE_ROUNDS) {
                break;
            }
        }
    }

    /* the end: the client goes (aborting what is in flight), then the
     * backend (by resets), then every upstream
     * connection the proxy still keeps */
    if (w->clients.head)
        client_close(w->clients.head);
    loop_run_deferred(w->loop);
    close(cfd);
    be_close_all();
    loop_pass();
    upstream_pool_close_all(w->pool);
    h2c_close_all(w);
    loop_run_deferred(w->loop);
    if (w->clients.head || w->n_conns != 0) {
        fprintf(stderr, "fuzz_h2_server: a client connection outlived its input\n");
        abort();
    }
    free(stream);
    return 0;
}
