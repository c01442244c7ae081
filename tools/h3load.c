/* h3load: an HTTP/3 load generator (h2load's -n/-c/-m for QUIC), for
 * bench/run.sh --h3.
 *
 *   h3load [-n REQUESTS | -D SECONDS] [-c CONNS] [-m STREAMS] [--new-conn]
 *          [--sni NAME] [--connect-to HOST:PORT] [--groups LIST] [--cafile F]
 *          [--timeout SECONDS] URL
 *   h3load --probe=NAME [--sni NAME] [--connect-to HOST:PORT] [--timeout S] URL
 *
 * One thread, one event loop (epoll): CONNS QUIC v1 connections, each on a
 * connected UDP socket of its own (recvmmsg, sendmmsg), each keeping
 * STREAMS GET requests of URL (https://HOST[:PORT]/PATH) in flight. The
 * client side of ngtcp2 0.12 runs on the project's TLS bridge
 * (quic/tls_bridge) and packet protection (quic/crypto, quic/crypto_client),
 * nghttp3 speaks HTTP/3. With -n it stops after REQUESTS requests, with -D
 * after SECONDS (requests in flight then finish). --new-conn: one request per
 * connection (a full handshake each, no resumption nor 0-RTT; -m is 1), the
 * connection closed (CONNECTION_CLOSE) once the response is in, and a new one
 * opened in its place: handshake-bound load.
 *
 * The SNI is NAME (default HOST), :authority HOST[:PORT] of the URL; the
 * datagrams go to --connect-to (default HOST:PORT of the URL, 443). The
 * certificate is not verified unless --cafile is given (then the chain and
 * the SNI name are). A connection or request that makes no progress for
 * --timeout seconds (default 10) fails.
 *
 * It prints one "key value" per line: requests (done), succeeded (2xx with
 * the whole body), failed (other status), errors (stream or connection
 * errors), rps, mean_ms, p50_ms, p99_ms (request latency; with --new-conn
 * from the connection's start), connections, handshake_failures, retries
 * (Retry packets), duration_s, body_bytes, client_cpu_us_per_req and the
 * negotiated version, cipher, group and alpn. Exit status: 0, 1 when no
 * request succeeded or on setup errors, 2 on a usage error.
 *
 * --probe=NAME: one connection that, once the handshake is done, breaks an
 * HTTP/3 rule on purpose (the bad-input tests), then waits for the server's
 * answer (or --timeout) and prints what it saw, one per line:
 * "close_error_type transport|application|none", "close_error_code 0x..."
 * (the peer's CONNECTION_CLOSE), "stream_reset ID 0x..." (a RESET_STREAM
 * received) and "status CODE" (a response). The raw bytes of a probe go on
 * QUIC streams of their own, past nghttp3. NAME is one of:
 *   control2          a second control stream (SETTINGS in it)
 *   control-data      a DATA frame on our control stream, after SETTINGS
 *   missing-settings  a control stream whose first frame is GOAWAY
 *   settings-twice    SETTINGS twice on our control stream
 *   h2-frame          a request stream: HEADERS, then frame type 0x06
 *   big-headers       a GET whose field section is about 70 KiB
 * and, QUIC frames ngtcp2's client refuses to send (RFC 9000 4.6, 4.1, 19.8),
 * forged into the plaintext of a 1-RTT packet:
 *   stream-limit      a STREAM frame on the first bidirectional stream over
 *                     the server's initial_max_streams_bidi
 *   flow-control      a STREAM frame on stream 0 ending one byte past the
 *                     server's initial_max_stream_data_bidi_remote
 *   stream-state      a STREAM frame on stream 3, which only the server sends on
 *                   (these print "forged_stream ID" and "forged_offset N" first)
 * Exit status 0 once something was printed. */
#include "quic/crypto.h"
#include "quic/crypto_client.h"
#include "quic/tls_bridge.h"
#include "tls/group_name.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#define BATCH 32        /* datagrams per recvmmsg / sendmmsg */
#define RX_DGRAM 65536u /* a GRO-less datagram never exceeds this */
#define TX_DGRAM 1500u  /* our packets: ngtcp2's max_tx_udp_payload_size (1452) fits */
#define SCID_LEN 16
#define DCID_LEN 18
#define MAX_DATA (16u << 20)
#define MAX_STREAM_DATA (1u << 20)

struct opts {
    const char *url, *sni, *connect_to, *groups, *cafile;
    long requests, conns, streams;
    double duration, timeout;
    bool new_conn;
    const char *probe;
};

struct request {
    struct conn *c;
    struct request *prev, *next; /* the connection's requests in flight */
    int64_t id;
    uint64_t t0; /* ns */
    int status;
    uint64_t body;
    bool ended; /* nghttp3's end_stream: the whole response is in */
};

struct conn {
    int fd;
    bool active;  /* a connection lives in this slot */
    bool dead;    /* fails at the end of this loop pass */
    bool done;    /* --new-conn: its request is over; close and reopen */
    bool dirty;   /* has something to write */
    bool h3_up;   /* handshake done, HTTP/3 streams bound */
    bool counted; /* a handshake failure was counted */
    ngtcp2_conn *q;
    nghttp3_conn *h3;
    SSL *ssl;
    struct quic_tls *tls;
    struct sockaddr_storage local, remote;
    socklen_t local_len, remote_len;
    ngtcp2_path path;
    uint64_t t_start, t_active; /* ns */
    long inflight, made;
    struct request *reqs;
    ngtcp2_connection_close_error err;
};

struct stats {
    long started, requests, succeeded, failed, errors, conns, hs_failures, retries;
    uint64_t body;
    uint32_t *lat; /* microseconds */
    size_t nlat, caplat;
};

static struct opts O = { .conns = 1, .streams = 1, .timeout = 10.0 };
static struct stats S;
static struct conn *slots;
static SSL_CTX *ssl_ctx;
static int ep;
static struct sockaddr_storage target;
static socklen_t target_len;
static char authority[256], path[2048], host[256];
static uint64_t t_begin, t_stop; /* ns; t_stop: -D's end */
static bool stopping;            /* no new request */
static char first_error[256];
static char neg_version[32], neg_cipher[64], neg_group[64], neg_alpn[32];
static uint8_t *rx_bufs;

/* --probe: bytes written on QUIC streams of their own, past nghttp3 */
struct raw_stream {
    int64_t id;
    uint8_t *data;
    size_t len, off;
};
static struct raw_stream raws[2];
static int nraws;
static bool probe_sent, probe_done;
static uint64_t probe_deadline; /* ns */

/* --probe=stream-limit|flow-control|stream-state: frames that replace the
 * plaintext of the next 1-RTT packet big enough for them (the rest becomes
 * PADDING); ngtcp2 takes the packet for the one it built. */
static uint8_t forged[32];
static size_t forged_len;

static void usage(FILE *out, int status)
{
    fprintf(
        out,
        "usage: h3load [-n REQUESTS | -D SECONDS] [-c CONNS] [-m STREAMS] [--new-conn]\n"
        "              [--sni NAME] [--connect-to HOST:PORT] [--groups LIST] [--cafile F]\n"
        "              [--timeout SECONDS] URL\n"
        "       h3load --probe=NAME [--sni NAME] [--connect-to HOST:PORT] [--timeout SECONDS] URL\n"
        "              NAME: control2 control-data missing-settings settings-twice h2-frame\n"
        "                    big-headers\n");
    exit(status);
}

static void die(const char *what)
{
    fprintf(stderr, "h3load: %s\n", what);
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NGTCP2_SECONDS + (uint64_t)ts.tv_nsec;
}

static void note_error(const char *fmt, const char *detail)
{
    if (!first_error[0])
        snprintf(first_error, sizeof(first_error), fmt, detail);
}

/* ---- options ---- */

static long parse_long(const char *v, long min)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < min)
        usage(stderr, 2);
    return n;
}

static double parse_seconds(const char *v)
{
    char *end;
    double d = strtod(v, &end);
    if (*v == '\0' || (*end != '\0' && strcmp(end, "s") != 0) || !(d > 0))
        usage(stderr, 2);
    return d;
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            usage(stdout, 0);
        if (!strncmp(a, "--probe=", 8)) {
            O.probe = a + 8;
            continue;
        }
        if (!strcmp(a, "--new-conn")) {
            O.new_conn = true;
            continue;
        }
        if (a[0] != '-') {
            if (O.url)
                usage(stderr, 2);
            O.url = a;
            continue;
        }
        if (!v)
            usage(stderr, 2);
        i++;
        if (!strcmp(a, "-n"))
            O.requests = parse_long(v, 1);
        else if (!strcmp(a, "-c"))
            O.conns = parse_long(v, 1);
        else if (!strcmp(a, "-m"))
            O.streams = parse_long(v, 1);
        else if (!strcmp(a, "-D"))
            O.duration = parse_seconds(v);
        else if (!strcmp(a, "--timeout"))
            O.timeout = parse_seconds(v);
        else if (!strcmp(a, "--sni"))
            O.sni = v;
        else if (!strcmp(a, "--connect-to"))
            O.connect_to = v;
        else if (!strcmp(a, "--groups"))
            O.groups = v;
        else if (!strcmp(a, "--cafile"))
            O.cafile = v;
        else
            usage(stderr, 2);
    }
    if (O.probe && O.requests == 0 && O.duration == 0)
        O.requests = 1; /* one connection, one probe */
    if (O.probe)
        O.conns = 1;
    if (!O.url || (O.requests > 0) == (O.duration > 0))
        usage(stderr, 2); /* exactly one of -n, -D */
    if (O.new_conn)
        O.streams = 1;
}

/* "HOST:PORT" (HOST may be [v6]) into host and port. Returns 0 or -1. */
static int split_host_port(const char *s, char *h, size_t hcap, char *port, size_t pcap)
{
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || (size_t)(close - s - 1) >= hcap)
            return -1;
        snprintf(h, hcap, "%.*s", (int)(close - s - 1), s + 1);
        colon = close[1] == ':' ? close + 1 : NULL;
        if (close[1] && !colon)
            return -1;
    } else {
        colon = strrchr(s, ':');
        size_t n = colon ? (size_t)(colon - s) : strlen(s);
        if (n == 0 || n >= hcap)
            return -1;
        snprintf(h, hcap, "%.*s", (int)n, s);
    }
    snprintf(port, pcap, "%s", colon ? colon + 1 : "443");
    return port[0] ? 0 : -1;
}

/* The URL into authority, path and host; the address into target. */
static void parse_url(void)
{
    const char *u = O.url;
    if (strncasecmp(u, "https://", 8) != 0)
        die("the URL must be https://HOST[:PORT]/PATH");
    u += 8;
    const char *slash = strchr(u, '/');
    size_t alen = slash ? (size_t)(slash - u) : strlen(u);
    if (alen == 0 || alen >= sizeof(authority))
        die("bad URL authority");
    snprintf(authority, sizeof(authority), "%.*s", (int)alen, u);
    snprintf(path, sizeof(path), "%s", slash ? slash : "/");
    char port[16];
    if (split_host_port(authority, host, sizeof(host), port, sizeof(port)) != 0)
        die("bad URL authority");
    char chost[256], cport[16];
    if (split_host_port(O.connect_to ? O.connect_to : authority, chost, sizeof(chost), cport,
                        sizeof(cport)) != 0)
        die("bad --connect-to");
    struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res;
    if (getaddrinfo(chost, cport, &hints, &res) != 0)
        die("cannot resolve the target address");
    memcpy(&target, res->ai_addr, res->ai_addrlen);
    target_len = res->ai_addrlen;
    freeaddrinfo(res);
    if (!O.sni)
        O.sni = host;
}

/* ---- requests ---- */

static bool may_start(void)
{
    if (O.probe)
        return S.conns == 0; /* its one connection; the probe makes requests */
    if (stopping)
        return false;
    if (O.requests > 0)
        return S.started < O.requests;
    return now_ns() < t_stop;
}

static void record(uint64_t t0)
{
    if (S.nlat == S.caplat) {
        S.caplat = S.caplat ? S.caplat * 2 : 65536;
        S.lat = realloc(S.lat, S.caplat * sizeof(*S.lat));
        if (!S.lat)
            die("out of memory");
    }
    uint64_t us = (now_ns() - t0) / 1000;
    S.lat[S.nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* A request is over (its stream closed, or its connection failed). */
static void request_end(struct request *r, bool error)
{
    struct conn *c = r->c;
    S.requests++;
    if (O.probe && r->status) {
        printf("status %d\n", r->status);
        probe_done = true;
    }
    if (error || !r->ended) {
        S.errors++;
    } else if (r->status >= 200 && r->status < 300) {
        S.succeeded++;
        S.body += r->body;
        record(O.new_conn ? c->t_start : r->t0);
    } else {
        S.failed++;
    }
    if (r->prev)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    c->inflight--;
    c->dirty = true;
    if (O.new_conn)
        c->done = true;
    free(r);
}

static char *big_value; /* --probe=big-headers: an x-big field */

static int submit(struct conn *c)
{
    int64_t id;
    if (ngtcp2_conn_open_bidi_stream(c->q, &id, NULL) != 0)
        return -1;
    struct request *r = calloc(1, sizeof(*r));
    if (!r)
        die("out of memory");
    r->c = c;
    r->id = id;
    r->t0 = now_ns();
#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP3_NV_FLAG_NONE }
    nghttp3_nv nva[] = {
        NV(":method", "GET"), NV(":scheme", "https"),     NV(":authority", authority),
        NV(":path", path),    NV("user-agent", "h3load"), NV("x-big", ""),
    };
#undef NV
    size_t nnv = sizeof(nva) / sizeof(nva[0]) - 1;
    if (big_value) {
        nva[nnv].value = (uint8_t *)big_value;
        nva[nnv++].valuelen = strlen(big_value);
    }
    if (nghttp3_conn_submit_request(c->h3, id, nva, nnv, NULL, r) != 0) {
        free(r);
        return -1;
    }
    S.started++;
    c->made++;
    c->inflight++;
    r->next = c->reqs;
    if (c->reqs)
        c->reqs->prev = r;
    c->reqs = r;
    c->dirty = true;
    return 0;
}

static bool is_raw(int64_t id)
{
    for (int i = 0; i < nraws; i++)
        if (raws[i].id == id)
            return true;
    return false;
}

/* A QUIC stream of the probe's, with len bytes to write on it. */
static int raw_open(struct conn *c, bool bidi, const uint8_t *data, size_t len)
{
    struct raw_stream *rs = &raws[nraws];
    int rv = bidi ? ngtcp2_conn_open_bidi_stream(c->q, &rs->id, NULL)
                  : ngtcp2_conn_open_uni_stream(c->q, &rs->id, NULL);
    rs->data = malloc(len);
    if (rv != 0 || !rs->data)
        return -1;
    memcpy(rs->data, data, len);
    rs->len = len;
    rs->off = 0;
    nraws++;
    return 0;
}

static uint8_t *put_varint8(uint8_t *p, uint64_t v)
{
    p[0] = 0xc0 | (uint8_t)(v >> 56);
    for (int i = 1; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    return p + 8;
}

/* A STREAM frame (RFC 9000 19.8) with OFF and LEN set and one byte of data. */
static void forge_stream_frame(uint64_t id, uint64_t offset)
{
    uint8_t *p = forged;
    *p++ = 0x0e;
    p = put_varint8(p, id);
    p = put_varint8(p, offset);
    *p++ = 1;
    *p++ = 'x';
    forged_len = (size_t)(p - forged);
}

static int encrypt_forging(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                           const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *plaintext,
                           size_t plaintext_len, const uint8_t *nonce, size_t nonce_len,
                           const uint8_t *aad, size_t aad_len)
{
    static uint8_t payload[TX_DGRAM];
    bool short_header = aad_len > 0 && !(aad[0] & 0x80);
    if (!forged_len || !short_header || plaintext_len < forged_len ||
        plaintext_len > sizeof(payload))
        return quic_crypto_encrypt(dest, aead, aead_ctx, plaintext, plaintext_len, nonce, nonce_len,
                                   aad, aad_len);
    memcpy(payload, forged, forged_len);
    memset(payload + forged_len, 0, plaintext_len - forged_len);
    forged_len = 0;
    return quic_crypto_encrypt(dest, aead, aead_ctx, payload, plaintext_len, nonce, nonce_len, aad,
                               aad_len);
}

/* Arms a forging probe; a raw unidirectional stream of a reserved type
 * (RFC 9114 6.2.3, ignored if it ever arrived) makes a packet to forge. */
static int forge_start(struct conn *c)
{
    const ngtcp2_transport_params *tp = ngtcp2_conn_get_remote_transport_params(c->q);
    uint64_t id = 3, offset = 0;
    if (!strcmp(O.probe, "stream-limit"))
        id = 4 * tp->initial_max_streams_bidi;
    else if (!strcmp(O.probe, "flow-control"))
        id = 0, offset = tp->initial_max_stream_data_bidi_remote;
    forge_stream_frame(id, offset);
    printf("forged_stream %llu\nforged_offset %llu\n", (unsigned long long)id,
           (unsigned long long)offset);
    uint8_t filler[200];
    memset(filler, 0, sizeof(filler));
    filler[0] = 0x21;
    return raw_open(c, false, filler, sizeof(filler));
}

/* Probes whose control stream is ours, not nghttp3's. */
static bool probe_owns_control(void)
{
    return O.probe && (!strcmp(O.probe, "control-data") || !strcmp(O.probe, "missing-settings") ||
                       !strcmp(O.probe, "settings-twice"));
}

/* Breaks the rule the probe is named after. Returns 0 or -1. */
static int probe_start(struct conn *c)
{
    static const uint8_t settings_then_settings[] = { 0x00, 0x04, 0x00, 0x04, 0x00 };
    static const uint8_t settings_then_data[] = { 0x00, 0x04, 0x00, 0x00, 0x00 };
    static const uint8_t goaway_first[] = { 0x00, 0x07, 0x01, 0x00 };
    probe_sent = true;
    c->dirty = true;
    if (!strcmp(O.probe, "control2"))
        return raw_open(c, false, settings_then_settings, 3); /* type, SETTINGS {} */
    if (!strcmp(O.probe, "settings-twice"))
        return raw_open(c, false, settings_then_settings, sizeof(settings_then_settings));
    if (!strcmp(O.probe, "control-data"))
        return raw_open(c, false, settings_then_data, sizeof(settings_then_data));
    if (!strcmp(O.probe, "missing-settings"))
        return raw_open(c, false, goaway_first, sizeof(goaway_first));
    if (!strcmp(O.probe, "h2-frame")) {
        /* HEADERS: QPACK prefix 0 0; static 17 :method GET, 23 :scheme
         * https, 1 :path /; :authority (static 0) with a literal value; then
         * a frame of type 0x06 (HTTP/2's PING), empty */
        size_t alen = strlen(authority);
        if (alen > 40)
            return -1;
        uint8_t b[64];
        size_t n = 0;
        b[n++] = 0x01;
        b[n++] = (uint8_t)(7 + alen);
        b[n++] = 0x00;
        b[n++] = 0x00;
        b[n++] = 0xd1;
        b[n++] = 0xd7;
        b[n++] = 0xc1;
        b[n++] = 0x50;
        b[n++] = (uint8_t)alen;
        memcpy(b + n, authority, alen);
        n += alen;
        b[n++] = 0x06;
        b[n++] = 0x00;
        return raw_open(c, true, b, n);
    }
    if (!strcmp(O.probe, "stream-limit") || !strcmp(O.probe, "flow-control") ||
        !strcmp(O.probe, "stream-state"))
        return forge_start(c);
    if (!strcmp(O.probe, "big-headers")) {
        big_value = malloc(70u << 10);
        if (!big_value)
            return -1;
        memset(big_value, 'a', (70u << 10) - 1);
        big_value[(70u << 10) - 1] = '\0';
        return submit(c);
    }
    return -1;
}

/* Keeps the connection's streams full while requests are due. */
static void fill(struct conn *c)
{
    if (!c->h3_up || c->dead || c->done)
        return;
    if (O.probe) {
        if (!probe_sent && probe_start(c) != 0) {
            c->dead = true;
            note_error("%s", "cannot start the probe");
        }
        return;
    }
    if (O.new_conn && c->made > 0)
        return; /* its one request was made */
    while (c->inflight < O.streams && may_start() && ngtcp2_conn_get_streams_bidi_left(c->q) > 0)
        if (submit(c) != 0) {
            c->dead = true;
            note_error("%s", "cannot open a request stream");
            return;
        }
}

/* ---- nghttp3 callbacks ---- */

static void consume(struct conn *c, int64_t id, size_t n)
{
    ngtcp2_conn_extend_max_stream_offset(c->q, id, n);
    ngtcp2_conn_extend_max_offset(c->q, n);
}

static int h3_recv_header(nghttp3_conn *h3, int64_t id, int32_t token, nghttp3_rcbuf *name,
                          nghttp3_rcbuf *value, uint8_t flags, void *user, void *stream_user)
{
    struct request *r = stream_user;
    if (r && token == NGHTTP3_QPACK_TOKEN__STATUS) {
        nghttp3_vec v = nghttp3_rcbuf_get_buf(value);
        int status = 0;
        for (size_t i = 0; i < v.len && i < 3; i++)
            status = status * 10 + (v.base[i] - '0');
        if (status >= 200) /* a 1xx is followed by the final response */
            r->status = status;
    }
    return 0;
}

static int h3_recv_data(nghttp3_conn *h3, int64_t id, const uint8_t *data, size_t len, void *user,
                        void *stream_user)
{
    struct request *r = stream_user;
    if (r)
        r->body += len;
    consume(user, id, len);
    return 0;
}

static int h3_deferred_consume(nghttp3_conn *h3, int64_t id, size_t n, void *user,
                               void *stream_user)
{
    consume(user, id, n);
    return 0;
}

static int h3_end_stream(nghttp3_conn *h3, int64_t id, void *user, void *stream_user)
{
    struct request *r = stream_user;
    if (r)
        r->ended = true;
    return 0;
}

static int h3_stream_close(nghttp3_conn *h3, int64_t id, uint64_t app_error, void *user,
                           void *stream_user)
{
    struct request *r = stream_user;
    if (r)
        request_end(r, app_error != NGHTTP3_H3_NO_ERROR);
    return 0;
}

static int h3_stop_sending(nghttp3_conn *h3, int64_t id, uint64_t app_error, void *user,
                           void *stream_user)
{
    struct conn *c = user;
    return ngtcp2_conn_shutdown_stream_read(c->q, id, app_error) == 0
               ? 0
               : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static int h3_reset_stream(nghttp3_conn *h3, int64_t id, uint64_t app_error, void *user,
                           void *stream_user)
{
    struct conn *c = user;
    return ngtcp2_conn_shutdown_stream_write(c->q, id, app_error) == 0
               ? 0
               : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static int h3_start(struct conn *c)
{
    nghttp3_callbacks cb = {
        .stream_close = h3_stream_close,
        .recv_data = h3_recv_data,
        .deferred_consume = h3_deferred_consume,
        .recv_header = h3_recv_header,
        .end_stream = h3_end_stream,
        .stop_sending = h3_stop_sending,
        .reset_stream = h3_reset_stream,
    };
    nghttp3_settings settings;
    nghttp3_settings_default(&settings);
    settings.qpack_max_dtable_capacity = 4096;
    settings.qpack_blocked_streams = 100;
    if (nghttp3_conn_client_new(&c->h3, &cb, &settings, NULL, c) != 0)
        return -1;
    int64_t ctrl, enc, dec;
    if (!probe_owns_control() && (ngtcp2_conn_open_uni_stream(c->q, &ctrl, NULL) != 0 ||
                                  nghttp3_conn_bind_control_stream(c->h3, ctrl) != 0))
        return -1;
    if (ngtcp2_conn_open_uni_stream(c->q, &enc, NULL) != 0 ||
        ngtcp2_conn_open_uni_stream(c->q, &dec, NULL) != 0 ||
        nghttp3_conn_bind_qpack_streams(c->h3, enc, dec) != 0)
        return -1;
    c->h3_up = true;
    return 0;
}

/* ---- the TLS bridge's callbacks ---- */

static int tls_secret(void *arg, ngtcp2_crypto_level level, int write,
                      const struct tls13_suite *suite, const uint8_t *secret, size_t len)
{
    struct conn *c = arg;
    if (level == NGTCP2_CRYPTO_LEVEL_APPLICATION && !write) {
        /* after the server's Finished: its EncryptedExtensions were read */
        size_t tp_len;
        const uint8_t *tp = quic_tls_peer_transport_params(c->tls, &tp_len);
        if (!tp || ngtcp2_conn_decode_remote_transport_params(c->q, tp, tp_len) != 0)
            return -1;
    }
    return quic_crypto_install_secret(c->q, level, write, suite, secret, len);
}

static int tls_crypto_data(void *arg, ngtcp2_crypto_level level, const uint8_t *data, size_t len)
{
    struct conn *c = arg;
    return ngtcp2_conn_submit_crypto_data(c->q, level, data, len) == 0 ? 0 : -1;
}

static void tls_alert(void *arg, uint8_t alert)
{
    struct conn *c = arg;
    ngtcp2_conn_set_tls_alert(c->q, alert);
}

static const struct quic_tls_ops tls_ops = {
    .secret = tls_secret,
    .crypto_data = tls_crypto_data,
    .alert = tls_alert,
};

/* ---- ngtcp2 callbacks ---- */

static int on_client_initial(ngtcp2_conn *q, void *user)
{
    struct conn *c = user;
    if (quic_crypto_client_initial(q) != 0 || quic_tls_do_handshake(c->tls) < 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_recv_crypto_data(ngtcp2_conn *q, ngtcp2_crypto_level level, uint64_t offset,
                               const uint8_t *data, size_t len, void *user)
{
    struct conn *c = user;
    int r = quic_tls_provide(c->tls, level, data, len);
    if (r == 0)
        r = quic_tls_do_handshake(c->tls);
    if (r < 0) {
        char why[160] = "";
        unsigned long e = ERR_peek_error();
        if (e)
            ERR_error_string_n(e, why, sizeof(why));
        note_error("TLS handshake failed: %s", why[0] ? why : "alert");
        ERR_clear_error();
        ngtcp2_conn_set_tls_alert(q, quic_tls_alert(c->tls));
        return NGTCP2_ERR_CRYPTO;
    }
    if (r == 1 && !ngtcp2_conn_get_handshake_completed(q))
        ngtcp2_conn_handshake_completed(q);
    return 0;
}

static void note_negotiated(SSL *ssl)
{
    if (neg_version[0])
        return;
    snprintf(neg_version, sizeof(neg_version), "%s", SSL_get_version(ssl));
    snprintf(neg_cipher, sizeof(neg_cipher), "%s", SSL_get_cipher_name(ssl));
    tls_group_name(ssl, neg_group, sizeof(neg_group));
    const unsigned char *alpn;
    unsigned alpn_len;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    snprintf(neg_alpn, sizeof(neg_alpn), "%.*s", alpn_len ? (int)alpn_len : 1,
             alpn_len ? (const char *)alpn : "-");
}

static int on_handshake_completed(ngtcp2_conn *q, void *user)
{
    struct conn *c = user;
    note_negotiated(c->ssl);
    if (h3_start(c) != 0) {
        note_error("%s", "cannot start HTTP/3");
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    c->dirty = true;
    return 0;
}

static int on_recv_stream_data(ngtcp2_conn *q, uint32_t flags, int64_t id, uint64_t offset,
                               const uint8_t *data, size_t len, void *user, void *stream_user)
{
    struct conn *c = user;
    if (is_raw(id)) {
        consume(c, id, len); /* what the server says there is not read */
        return 0;
    }
    if (!c->h3)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    nghttp3_ssize n =
        nghttp3_conn_read_stream(c->h3, id, data, len, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
    if (n < 0) {
        note_error("HTTP/3: %s", nghttp3_strerror((int)n));
        ngtcp2_connection_close_error_set_application_error(
            &c->err, nghttp3_err_infer_quic_app_error_code((int)n), NULL, 0);
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    consume(c, id, (size_t)n);
    return 0;
}

static int on_acked_stream_data(ngtcp2_conn *q, int64_t id, uint64_t offset, uint64_t len,
                                void *user, void *stream_user)
{
    struct conn *c = user;
    if (is_raw(id))
        return 0;
    return c->h3 && nghttp3_conn_add_ack_offset(c->h3, id, len) != 0 ? NGTCP2_ERR_CALLBACK_FAILURE
                                                                     : 0;
}

static int on_stream_close(ngtcp2_conn *q, uint32_t flags, int64_t id, uint64_t app_error,
                           void *user, void *stream_user)
{
    struct conn *c = user;
    if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET))
        app_error = NGHTTP3_H3_NO_ERROR;
    if (!c->h3)
        return 0;
    int rv = nghttp3_conn_close_stream(c->h3, id, app_error);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) {
        ngtcp2_connection_close_error_set_application_error(
            &c->err, nghttp3_err_infer_quic_app_error_code(rv), NULL, 0);
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static int on_stream_reset(ngtcp2_conn *q, int64_t id, uint64_t final_size, uint64_t app_error,
                           void *user, void *stream_user)
{
    struct conn *c = user;
    if (O.probe)
        printf("stream_reset %lld 0x%llx\n", (long long)id, (unsigned long long)app_error);
    if (is_raw(id))
        return 0;
    return c->h3 && nghttp3_conn_shutdown_stream_read(c->h3, id) != 0 ? NGTCP2_ERR_CALLBACK_FAILURE
                                                                      : 0;
}

static int on_extend_max_stream_data(ngtcp2_conn *q, int64_t id, uint64_t max_data, void *user,
                                     void *stream_user)
{
    struct conn *c = user;
    return c->h3 && nghttp3_conn_unblock_stream(c->h3, id) != 0 ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_extend_max_streams(ngtcp2_conn *q, uint64_t max_streams, void *user)
{
    struct conn *c = user;
    c->dirty = true;
    return 0;
}

static int on_get_new_connection_id(ngtcp2_conn *q, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
                                    void *user)
{
    if (RAND_bytes(cid->data, (int)cidlen) != 1 ||
        RAND_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN) != 1)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    cid->datalen = cidlen;
    return 0;
}

static int on_recv_retry(ngtcp2_conn *q, const ngtcp2_pkt_hd *hd, void *user)
{
    static ngtcp2_recv_retry crypto_retry;
    if (!crypto_retry) {
        ngtcp2_callbacks cb = { 0 };
        quic_crypto_client_callbacks(&cb);
        crypto_retry = cb.recv_retry;
    }
    S.retries++;
    return crypto_retry(q, hd, user);
}

/* ---- connections ---- */

static void conn_release(struct conn *c)
{
    if (c->h3)
        nghttp3_conn_del(c->h3);
    if (c->tls)
        quic_tls_free(c->tls);
    SSL_free(c->ssl);
    ngtcp2_conn_del(c->q);
    if (c->fd >= 0)
        close(c->fd);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static void send_batch(struct conn *c, uint8_t (*bufs)[TX_DGRAM], const size_t *lens, int n)
{
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    memset(msgs, 0, sizeof(msgs[0]) * (size_t)n);
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = lens[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int off = 0;
    while (off < n) {
        int k = sendmmsg(c->fd, msgs + off, (unsigned)(n - off), 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return; /* a full socket buffer: QUIC takes them as lost */
        }
        off += k;
    }
}

/* A connection that cannot go on: its requests fail; CONNECTION_CLOSE is
 * sent when the connection can still say it. */
static void conn_close(struct conn *c, bool error)
{
    static uint8_t buf[TX_DGRAM];
    if (c->q && !ngtcp2_conn_is_in_closing_period(c->q) &&
        !ngtcp2_conn_is_in_draining_period(c->q)) {
        if (!error && c->err.error_code == 0)
            ngtcp2_connection_close_error_set_application_error(&c->err, NGHTTP3_H3_NO_ERROR, NULL,
                                                                0);
        ngtcp2_path_storage ps;
        ngtcp2_path_storage_zero(&ps);
        ngtcp2_pkt_info pi;
        ngtcp2_ssize n = ngtcp2_conn_write_connection_close(c->q, &ps.path, &pi, buf, sizeof(buf),
                                                            &c->err, now_ns());
        if (n > 0) {
            size_t len = (size_t)n;
            send_batch(c, (uint8_t(*)[TX_DGRAM])buf, &len, 1);
        }
    }
    if (error && !c->h3_up && !c->counted) {
        /* a failed handshake costs the request it was for, so that -n ends
         * against a target that does not answer */
        S.hs_failures++;
        S.started++;
        S.requests++;
        S.errors++;
        c->counted = true;
    }
    /* nghttp3 frees its streams without a callback: the requests still in
     * flight end here, as errors */
    while (c->reqs)
        request_end(c->reqs, true);
    conn_release(c);
}

static void conn_fail(struct conn *c, int rv)
{
    if (O.probe && rv == NGTCP2_ERR_DRAINING && !probe_done) {
        ngtcp2_connection_close_error e;
        ngtcp2_conn_get_connection_close_error(c->q, &e);
        printf("close_error_type %s\nclose_error_code 0x%llx\n",
               e.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION ? "application"
                                                                             : "transport",
               (unsigned long long)e.error_code);
        probe_done = true;
    }
    if (rv != NGTCP2_ERR_DRAINING && rv != NGTCP2_ERR_IDLE_CLOSE && c->err.error_code == 0) {
        if (rv == NGTCP2_ERR_CRYPTO)
            ngtcp2_connection_close_error_set_transport_error_tls_alert(
                &c->err, ngtcp2_conn_get_tls_alert(c->q), NULL, 0);
        else
            ngtcp2_connection_close_error_set_transport_error_liberr(&c->err, rv, NULL, 0);
    }
    note_error("QUIC: %s", ngtcp2_strerror(rv));
    c->dead = true;
}

static int conn_open(struct conn *c)
{
    c->fd = socket(target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int sz = 4 << 20;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    memcpy(&c->remote, &target, target_len);
    c->remote_len = target_len;
    c->local_len = sizeof(c->local);
    if (connect(c->fd, (struct sockaddr *)&c->remote, c->remote_len) != 0 ||
        getsockname(c->fd, (struct sockaddr *)&c->local, &c->local_len) != 0)
        return -1;
    c->path.local.addr = (struct sockaddr *)&c->local;
    c->path.local.addrlen = c->local_len;
    c->path.remote.addr = (struct sockaddr *)&c->remote;
    c->path.remote.addrlen = c->remote_len;

    ngtcp2_cid scid, dcid;
    scid.datalen = SCID_LEN;
    dcid.datalen = DCID_LEN;
    if (RAND_bytes(scid.data, SCID_LEN) != 1 || RAND_bytes(dcid.data, DCID_LEN) != 1)
        return -1;
    c->t_start = c->t_active = now_ns();
    ngtcp2_settings settings;
    ngtcp2_settings_default(&settings);
    settings.initial_ts = c->t_start;
    settings.handshake_timeout = (ngtcp2_duration)(O.timeout * NGTCP2_SECONDS);
    ngtcp2_transport_params params;
    ngtcp2_transport_params_default(&params);
    params.initial_max_streams_bidi = 0;
    params.initial_max_streams_uni = 100;
    params.initial_max_data = MAX_DATA;
    params.initial_max_stream_data_bidi_local = MAX_STREAM_DATA;
    params.initial_max_stream_data_uni = MAX_STREAM_DATA;
    params.max_idle_timeout = (ngtcp2_duration)(O.timeout * NGTCP2_SECONDS);

    ngtcp2_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    quic_crypto_client_callbacks(&cb);
    if (O.probe)
        cb.encrypt = encrypt_forging;
    cb.client_initial = on_client_initial;
    cb.recv_retry = on_recv_retry;
    cb.recv_crypto_data = on_recv_crypto_data;
    cb.handshake_completed = on_handshake_completed;
    cb.recv_stream_data = on_recv_stream_data;
    cb.acked_stream_data_offset = on_acked_stream_data;
    cb.stream_close = on_stream_close;
    cb.stream_reset = on_stream_reset;
    cb.extend_max_stream_data = on_extend_max_stream_data;
    cb.extend_max_local_streams_bidi = on_extend_max_streams;
    cb.get_new_connection_id = on_get_new_connection_id;
    if (ngtcp2_conn_client_new(&c->q, &dcid, &scid, &c->path, NGTCP2_PROTO_VER_V1, &cb, &settings,
                               &params, NULL, c) != 0)
        return -1;

    c->ssl = SSL_new(ssl_ctx);
    if (!c->ssl || SSL_set_tlsext_host_name(c->ssl, O.sni) != 1)
        return -1;
    if (O.cafile && SSL_set1_host(c->ssl, O.sni) != 1)
        return -1;
    c->tls = quic_tls_new(c->ssl, 0, &tls_ops, c);
    uint8_t tp[256];
    ngtcp2_ssize tp_len =
        c->tls ? ngtcp2_conn_encode_local_transport_params(c->q, tp, sizeof(tp)) : -1;
    if (tp_len < 0 || quic_tls_set_local_transport_params(c->tls, tp, (size_t)tp_len) != 0)
        return -1;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        return -1;
    c->active = true;
    c->dirty = true;
    S.conns++;
    return 0;
}

/* Writes what the connection has to send: request streams first, then
 * whatever ngtcp2 wants (ACKs, handshake, retransmissions). */
static void conn_write(struct conn *c)
{
    static uint8_t bufs[BATCH][TX_DGRAM];
    size_t lens[BATCH];
    int n = 0;
    uint64_t ts = now_ns();
    size_t max_pkt = ngtcp2_conn_get_path_max_tx_udp_payload_size(c->q);
    if (max_pkt > TX_DGRAM)
        max_pkt = TX_DGRAM;
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    c->dirty = false;
    for (int i = 0; i < nraws; i++) {
        struct raw_stream *rs = &raws[i];
        while (rs->off < rs->len && n < BATCH) {
            ngtcp2_vec v = { rs->data + rs->off, rs->len - rs->off };
            ngtcp2_ssize written = -1;
            ngtcp2_pkt_info pi;
            ngtcp2_ssize w =
                ngtcp2_conn_writev_stream(c->q, &ps.path, &pi, bufs[n], max_pkt, &written,
                                          NGTCP2_WRITE_STREAM_FLAG_NONE, rs->id, &v, 1, ts);
            if (w == NGTCP2_ERR_STREAM_DATA_BLOCKED || w == NGTCP2_ERR_STREAM_SHUT_WR)
                break;
            if (w < 0) {
                conn_fail(c, (int)w);
                return;
            }
            if (written > 0)
                rs->off += (size_t)written;
            if (w == 0)
                break;
            lens[n++] = (size_t)w;
        }
    }
    for (;;) {
        int64_t id = -1;
        int fin = 0;
        nghttp3_vec vec[16];
        nghttp3_ssize nvec = 0;
        if (c->h3 && ngtcp2_conn_get_max_data_left(c->q)) {
            nvec = nghttp3_conn_writev_stream(c->h3, &id, &fin, vec, 16);
            if (nvec < 0) {
                note_error("HTTP/3: %s", nghttp3_strerror((int)nvec));
                ngtcp2_connection_close_error_set_application_error(
                    &c->err, nghttp3_err_infer_quic_app_error_code((int)nvec), NULL, 0);
                c->dead = true;
                break;
            }
        }
        uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
        ngtcp2_ssize written = -1;
        ngtcp2_pkt_info pi;
        ngtcp2_ssize w =
            ngtcp2_conn_writev_stream(c->q, &ps.path, &pi, bufs[n], max_pkt, &written, flags, id,
                                      (const ngtcp2_vec *)vec, (size_t)nvec, ts);
        if (w < 0) {
            if (w == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
                nghttp3_conn_block_stream(c->h3, id);
                continue;
            }
            if (w == NGTCP2_ERR_STREAM_SHUT_WR) {
                nghttp3_conn_shutdown_stream_write(c->h3, id);
                continue;
            }
            if (w == NGTCP2_ERR_WRITE_MORE) {
                if (nghttp3_conn_add_write_offset(c->h3, id, (size_t)written) != 0) {
                    c->dead = true;
                    break;
                }
                continue;
            }
            conn_fail(c, (int)w);
            break;
        }
        if (written >= 0 && c->h3 && nghttp3_conn_add_write_offset(c->h3, id, (size_t)written)) {
            c->dead = true;
            break;
        }
        if (w == 0)
            break;
        lens[n++] = (size_t)w;
        if (n == BATCH) {
            send_batch(c, bufs, lens, n);
            n = 0;
        }
    }
    if (n)
        send_batch(c, bufs, lens, n);
    ngtcp2_conn_update_pkt_tx_time(c->q, ts);
}

static void conn_read(struct conn *c)
{
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    for (;;) {
        memset(msgs, 0, sizeof(msgs));
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = rx_bufs + (size_t)i * RX_DGRAM;
            iov[i].iov_len = RX_DGRAM;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(c->fd, msgs, BATCH, 0, NULL);
        if (n <= 0)
            return; /* EAGAIN, or an ICMP error the idle timeout will see to */
        uint64_t ts = now_ns();
        for (int i = 0; i < n && !c->dead; i++) {
            ngtcp2_pkt_info pi = { 0 };
            int rv =
                ngtcp2_conn_read_pkt(c->q, &c->path, &pi, iov[i].iov_base, msgs[i].msg_len, ts);
            if (rv != 0) {
                conn_fail(c, rv);
                return;
            }
        }
        c->t_active = ts;
        c->dirty = true;
        if (n < BATCH)
            return;
    }
}

/* ---- the loop ---- */

static int expiry_ms(void)
{
    uint64_t now = now_ns(), first = UINT64_MAX;
    for (long i = 0; i < O.conns; i++) {
        struct conn *c = &slots[i];
        if (!c->active)
            continue;
        if (c->dirty || c->dead || c->done)
            return 0;
        uint64_t e = ngtcp2_conn_get_expiry(c->q);
        if (e < first)
            first = e;
    }
    if (!stopping && O.duration > 0 && t_stop < first)
        first = t_stop;
    if (first == UINT64_MAX)
        return 1000;
    if (first <= now)
        return 0;
    uint64_t ms = (first - now + NGTCP2_MILLISECONDS - 1) / NGTCP2_MILLISECONDS;
    return ms > 1000 ? 1000 : (int)ms;
}

static void housekeeping(void)
{
    uint64_t now = now_ns();
    uint64_t timeout = (uint64_t)(O.timeout * NGTCP2_SECONDS);
    for (long i = 0; i < O.conns; i++) {
        struct conn *c = &slots[i];
        if (c->active && !c->dead && ngtcp2_conn_get_expiry(c->q) <= now) {
            int rv = ngtcp2_conn_handle_expiry(c->q, now);
            if (rv != 0)
                conn_fail(c, rv);
            else
                c->dirty = true;
        }
        if (c->active && !c->dead && c->inflight > 0 && now - c->t_active > timeout) {
            note_error("%s", "a request timed out");
            c->dead = true;
        }
        if (c->active && !c->dead) {
            fill(c);
            if (c->dirty)
                conn_write(c);
        }
        if (c->active && (c->dead || (c->done && c->inflight == 0))) {
            conn_close(c, c->dead);
        }
        if (!c->active && may_start()) {
            if (conn_open(c) != 0) {
                note_error("%s", "cannot open a connection");
                conn_release(c);
                S.hs_failures++;
                S.started++;
                S.requests++;
                S.errors++;
                continue;
            }
            conn_write(c);
        }
    }
}

static bool all_idle(void)
{
    for (long i = 0; i < O.conns; i++)
        if (slots[i].active && slots[i].inflight > 0)
            return false;
    return true;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(double p)
{
    if (S.nlat == 0)
        return 0;
    size_t i = (size_t)(p * (double)(S.nlat - 1) + 0.5);
    return S.lat[i] / 1000.0;
}

static void report(double secs, double cpu)
{
    double mean = 0;
    for (size_t i = 0; i < S.nlat; i++)
        mean += S.lat[i];
    mean = S.nlat ? mean / (double)S.nlat / 1000.0 : 0;
    if (S.nlat)
        qsort(S.lat, S.nlat, sizeof(*S.lat), cmp_u32); /* S.lat is NULL when none succeeded */
    printf("requests %ld\nsucceeded %ld\nfailed %ld\nerrors %ld\n", S.requests, S.succeeded,
           S.failed, S.errors);
    printf("rps %.1f\nmean_ms %.3f\np50_ms %.3f\np99_ms %.3f\n", secs > 0 ? S.succeeded / secs : 0,
           mean, pct_ms(0.5), pct_ms(0.99));
    printf("connections %ld\nhandshake_failures %ld\nretries %ld\n", S.conns, S.hs_failures,
           S.retries);
    printf("duration_s %.3f\nbody_bytes %llu\n", secs, (unsigned long long)S.body);
    printf("client_cpu_us_per_req %.2f\n", S.requests ? cpu * 1e6 / (double)S.requests : 0);
    printf("version %s\ncipher %s\ngroup %s\nalpn %s\n", neg_version[0] ? neg_version : "-",
           neg_cipher[0] ? neg_cipher : "-", neg_group[0] ? neg_group : "-",
           neg_alpn[0] ? neg_alpn : "-");
    if (first_error[0])
        printf("first_error %s\n", first_error);
}

static void setup_tls(void)
{
    ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!ssl_ctx || quic_tls_ctx_prepare(ssl_ctx) != 0)
        die("cannot make the TLS context");
    static const unsigned char alpn[] = "\x02h3";
    if (SSL_CTX_set_alpn_protos(ssl_ctx, alpn, sizeof(alpn) - 1) != 0)
        die("cannot set ALPN");
    if (O.groups && SSL_CTX_set1_groups_list(ssl_ctx, O.groups) != 1)
        die("unknown group in --groups");
    if (O.cafile) {
        if (SSL_CTX_load_verify_locations(ssl_ctx, O.cafile, NULL) != 1)
            die("cannot read --cafile");
        SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
    }
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    parse_url();
    setup_tls();
    ep = epoll_create1(EPOLL_CLOEXEC);
    slots = calloc((size_t)O.conns, sizeof(*slots));
    rx_bufs = malloc((size_t)BATCH * RX_DGRAM);
    if (ep < 0 || !slots || !rx_bufs)
        die("out of memory");
    for (long i = 0; i < O.conns; i++)
        slots[i].fd = -1;

    double cpu0 = self_cpu_s();
    t_begin = now_ns();
    probe_deadline = t_begin + (uint64_t)(O.timeout * NGTCP2_SECONDS);
    t_stop = O.duration > 0 ? t_begin + (uint64_t)(O.duration * NGTCP2_SECONDS) : UINT64_MAX;
    struct epoll_event evs[64];
    housekeeping();
    for (;;) {
        int n = epoll_wait(ep, evs, 64, expiry_ms());
        if (n < 0 && errno != EINTR)
            die("epoll_wait failed");
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->active && !c->dead)
                conn_read(c);
        }
        if (!stopping && !may_start())
            stopping = true;
        housekeeping();
        if (O.probe ? probe_done || now_ns() > probe_deadline || !slots[0].active
                    : stopping && all_idle())
            break;
    }
    double secs = (double)(now_ns() - t_begin) / 1e9;
    double cpu = self_cpu_s() - cpu0;
    for (long i = 0; i < O.conns; i++)
        if (slots[i].active)
            conn_close(&slots[i], false);
    if (O.probe) {
        if (!probe_done)
            printf("close_error_type none\n");
        if (first_error[0])
            printf("first_error %s\n", first_error);
        return 0;
    }
    report(secs, cpu);
    return S.succeeded > 0 ? 0 : 1;
}
