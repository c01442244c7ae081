/* libFuzzer target for the QUIC server (src/quic/endpoint.c, conn.c and
 * the TLS bridge) and the HTTP/3 front-end (src/http/h3_server.c) with the
 * whole proxy behind them: the worker's loop, its UDP listener (a real
 * socket on 127.0.0.1, read by net/udp), exchanges and an upstream, against
 * a scripted HTTP/1 backend in this process. Datagrams reach the proxy the
 * way a client's do: sent from UDP sockets of this process to the
 * listener.
 *
 * Input: byte 0 steers the run, the rest is cut into records.
 * Byte 0:
 *   bits 0-1  mode:
 *             0  raw: each record (2-byte big-endian length, then bytes) is
 *                one datagram, sent as is from one client port;
 *             1  Initial: each record (same framing) is the plaintext
 *                payload (frames) of a client Initial packet, which the
 *                target protects with the v1 Initial keys of a fixed
 *                destination connection ID and pads to 1200 bytes, so the
 *                server gets past header protection and decryption;
 *             2, 3  HTTP/3: an in-process QUIC client (ngtcp2 with this
 *                project's crypto and TLS bridge) completes a real
 *                handshake, then each record is an operation on its
 *                streams (see enum op): the bytes of the control, QPACK
 *                and request streams are the fuzzer's.
 *   bits 2-3  backend behaviour (see enum be_kind)
 *   bit  4    the worker drains (graceful GOAWAY, as on SIGTERM) half-way
 *   bit  5    in the HTTP/3 mode, the client answers nothing it receives
 *             after the handshake (no ACKs, no flow control credit): the
 *             server keeps data in flight
 *
 * After the records, the loop runs until nothing moves. Then a second,
 * well-behaved client (another port, fresh connection IDs) must complete
 * a handshake with the same worker: a fuzzed connection may fail, the
 * others must keep being served. At the end every client connection is
 * closed, the deferred frees run, and the target checks that nothing
 * outlived its input (connections, connection IDs, handshake and client
 * counters), so LeakSanitizer sees the memory of the input released.
 *
 * RPXY_FUZZ_TRACE=1 prints a line per loop pass; RPXY_FUZZ_LOG=1 lets the
 * proxy's log through. RPXY_QUIC_SEEDS=dir writes the seeds that need
 * crypto (a real first flight, raw and as Initial payloads) into dir and
 * exits (tests/fuzz/gen_quic_seeds.py writes the HTTP/3 ones). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ngtcp2/ngtcp2.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/loop.h"
#include "core/server.h"
#include "core/worker.h"
#include "log/log.h"
#include "net/udp.h"
#include "proxy/client_conn.h"
#include "proxy/runtime.h"
#include "quic/crypto.h"
#include "quic/endpoint.h"
#include "quic/tls_bridge.h"
#include "tls/cert_load.h"
#include "tls/server.h"
#include "tls/sni_table.h"
#include "upstream/pool.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROUNDS 200   /* loop passes per phase, at most */
#define IDLE_ROUNDS 3    /* passes without progress that end a phase */
#define DEADLINE_MS 3000 /* for what must happen: handshakes, the health check */
#define WAIT_BUDGET (60 * NGTCP2_MILLISECONDS) /* sleeps for the client's timer, per phase */
#define BIG_BODY 100000
#define DGRAM_MAX 1452
#define INITIAL_MIN 1200

static void die(const char *what)
{
    fprintf(stderr, "fuzz_quic_server: %s: %s\n", what, strerror(errno));
    abort();
}

static bool trace;

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_quic_server: %s\n", what);
        abort();
    }
}

/* ---- the scripted backend (HTTP/1) ---- */

enum be_kind {
    BE_SMALL,  /* 200 with a 5-byte body and a Content-Length */
    BE_BIG,    /* 200 with a 100000-byte body: flow control, acknowledgements */
    BE_CLOSE,  /* 200, body until close */
    BE_HANGUP, /* close when the request head arrives */
};

struct be_conn {
    int fd;
    unsigned crlf, heads;
    const char *out; /* what is left to write of the answer */
    size_t out_len;
    bool big, close_after;
    size_t big_off;
};

#define BE_MAX 32

static struct {
    int listen_fd;
    uint16_t port;
    enum be_kind kind;
    struct be_conn conns[BE_MAX];
    size_t n;
} be;

static char big_body[BIG_BODY];

/* Closes b; with rst, by a reset (SO_LINGER 0): at the end of an input,
 * so that no TIME_WAIT is left on the proxy's side. */
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
}

static void be_answer(struct be_conn *b)
{
    static const char small[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Be: 1\r\n\r\nhello";
    static const char big[] = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
    static const char upto_close[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end";
    if (b->out_len || b->big)
        return; /* one answer at a time */
    switch (be.kind) {
    case BE_SMALL: b->out = small, b->out_len = sizeof(small) - 1; break;
    case BE_BIG:
        b->out = big, b->out_len = sizeof(big) - 1;
        b->big = true;
        b->big_off = 0;
        break;
    case BE_CLOSE:
        b->out = upto_close, b->out_len = sizeof(upto_close) - 1;
        b->close_after = true;
        break;
    case BE_HANGUP: be_close(b, false); return;
    }
    b->heads--;
}

static bool be_write(struct be_conn *b)
{
    bool any = false;
    while (b->fd >= 0 && (b->out_len || b->big)) {
        const char *p = b->out;
        size_t n = b->out_len;
        if (!n) {
            p = big_body + b->big_off;
            n = BIG_BODY - b->big_off;
        }
        ssize_t k = send(b->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno == EAGAIN)
            break;
        if (k < 0) {
            be_close(b, true);
            return true;
        }
        any = true;
        if (b->out_len) {
            b->out += k;
            b->out_len -= (size_t)k;
        } else if ((b->big_off += (size_t)k) == BIG_BODY) {
            b->big = false;
        }
    }
    if (b->fd >= 0 && !b->out_len && !b->big && b->close_after)
        be_close(b, false);
    return any;
}

static bool be_turn(void)
{
    bool progress = false;
    for (;;) {
        int fd = accept4(be.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        if (be.n == BE_MAX) {
            close(fd);
            continue;
        }
        be.conns[be.n++] = (struct be_conn){ .fd = fd };
        progress = true;
    }
    for (size_t i = 0; i < be.n; i++) {
        struct be_conn *b = &be.conns[i];
        uint8_t buf[16384];
        while (b->fd >= 0) {
            ssize_t n = recv(b->fd, buf, sizeof(buf), 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                break;
            progress = true;
            if (n <= 0) {
                be_close(b, true);
                break;
            }
            for (ssize_t k = 0; k < n; k++) {
                static const char end[] = "\r\n\r\n";
                if (buf[k] == (uint8_t)end[b->crlf])
                    b->crlf++;
                else
                    b->crlf = buf[k] == '\r';
                if (b->crlf == 4) {
                    b->heads++;
                    b->crlf = 0;
                }
            }
        }
        if (b->fd >= 0 && b->heads)
            be_answer(b);
        progress |= be_write(b);
    }
    return progress;
}

static void be_close_all(void)
{
    for (size_t i = 0; i < be.n; i++)
        be_close(&be.conns[i], true);
    be.n = 0;
}

/* ---- the proxy ---- */

static struct worker *w;
static struct loop_deferred stop_d;
static struct sockaddr_in proxy_addr; /* the worker's UDP listener */
static SSL_CTX *client_ctx;

static void on_stop(struct loop *loop, struct loop_deferred *d)
{
    loop_stop(loop);
}

/* One pass of the worker's loop: the I/O events ready now, due timers and
 * the deferred work. */
static void loop_pass(void)
{
    loop_defer(w->loop, &stop_d, on_stop);
    loop_run(w->loop);
}

static void on_datagrams(struct loop *loop, struct loop_io *io, uint32_t events)
{
    struct worker_listener *l = container_of(io, struct worker_listener, io);
    quic_datagrams(l->w, l);
}

/* The worker's listener set, as core/listeners.c would build it for
 * listen_port_tls on 127.0.0.1 with [experimental.h3]: one UDP socket. */
static void add_udp_listener(void)
{
    struct lset *ls = calloc(1, sizeof(*ls));
    struct lset_entry *e = calloc(1, sizeof(*e));
    int *fds = calloc(1, sizeof(int));
    if (!ls || !e || !fds)
        die("out of memory");
    e->addr.family = 4;
    e->addr.bytes[0] = 127, e->addr.bytes[3] = 1;
    e->tls = e->udp = true;
    fds[0] = udp_open(&e->addr, 0);
    socklen_t len = sizeof(proxy_addr);
    if (fds[0] < 0 || getsockname(fds[0], (struct sockaddr *)&proxy_addr, &len) < 0)
        die("UDP listener");
    int big = 4 << 20;
    setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    e->port = ntohs(proxy_addr.sin_port);
    e->fds = fds;
    atomic_init(&ls->refs, 1);
    ls->n = 1;
    ls->entries = e;
    ls->n_workers = 1;
    w->lset = ls; /* kept for the life of the process */
    w->listeners = calloc(1, sizeof(*w->listeners));
    if (!w->listeners)
        die("out of memory");
    struct worker_listener *l = &w->listeners[0];
    l->w = w;
    l->entry = 0;
    l->tls = l->udp = true;
    l->port = e->port;
    if (loop_add_level(w->loop, &l->io, fds[0], on_datagrams) != 0)
        die("loop_add_level");
    w->n_listeners = 1;
}

static EVP_PKEY *key;

/* A self-signed P-256 certificate for localhost, served by one app. */
static void add_certificates(void)
{
    if (tls_server_init() != 0)
        die("tls_server_init");
    struct tls_material m = { 0 };
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    m.key = key;
    m.leaf = X509_new();
    m.chain = sk_X509_new_null();
    if (!m.key || !m.leaf || !m.chain)
        die("key and certificate");
    X509_set_version(m.leaf, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(m.leaf), 1);
    X509_gmtime_adj(X509_getm_notBefore(m.leaf), -3600);
    X509_gmtime_adj(X509_getm_notAfter(m.leaf), 3600 * 24 * 365);
    X509_NAME *name = X509_get_subject_name(m.leaf);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(m.leaf, name);
    X509_set_pubkey(m.leaf, m.key);
    if (X509_sign(m.leaf, m.key, EVP_sha256()) <= 0)
        die("X509_sign");
    char err[256];
    SSL_CTX *ctx = tls_site_ctx_new(&m, "localhost", err, sizeof(err));
    if (!ctx) {
        fprintf(stderr, "fuzz_quic_server: %s\n", err);
        abort();
    }
    struct tls_sni_table *t = sni_table_new(1);
    unsigned char digest[32] = { 0 };
    if (!t || sni_table_add(t, "localhost", ctx, false, digest) != 0)
        die("SNI table");
    sni_table_seal(t);
    SSL_CTX_free(ctx);
    X509_free(m.leaf);
    sk_X509_free(m.chain);
    w->tls = t;

    client_ctx = SSL_CTX_new(TLS_client_method());
    if (!client_ctx || quic_tls_ctx_prepare(client_ctx) != 0)
        die("client context");
    SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
}

static struct runtime *build_runtime(void)
{
    char text[1024];
    int n = snprintf(text, sizeof(text),
                     "listen_port = 8080\n"
                     "listen_port_tls = %u\n"
                     "listen_address_v4 = \"127.0.0.1\"\n"
                     "max_clients = 64\n"
                     "request_max_body_size = 100000\n"
                     "default_app = \"local\"\n"
                     "[apps.local]\n"
                     "server_name = \"localhost\"\n"
                     "[[apps.local.reverse_proxy]]\n"
                     "upstream = [{ location = \"127.0.0.1:%u\" }]\n"
                     "[experimental.h3]\n"
                     "max_concurrent_bidistream = 8\n"
                     "max_concurrent_unistream = 8\n"
                     "retry_above_handshakes = 1000\n",
                     ntohs(proxy_addr.sin_port), be.port);
    if (n < 0 || (size_t)n >= sizeof(text))
        die("config text");
    struct cfg_diags diags = { 0 };
    struct cfg *cfg = cfg_load_text("fuzz_quic_server.toml", text, (size_t)n, &diags);
    char line[2048];
    for (size_t i = 0; i < diags.n; i++) {
        cfg_diag_format(&diags.items[i], line, sizeof(line));
        fprintf(stderr, "fuzz_quic_server: %s\n", line);
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

static int udp_local(struct sockaddr_in *self)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
        die("client UDP socket");
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (self)
        *self = sin;
    return fd;
}

static void send_dgram(int fd, const uint8_t *p, size_t n)
{
    while (sendto(fd, p, n, 0, (const struct sockaddr *)&proxy_addr, sizeof(proxy_addr)) < 0 &&
           errno == EINTR)
        ;
}

/* Reads and drops what waits on fd (answers to the raw and Initial modes,
 * ICMP errors); returns whether anything did. */
static bool discard(int fd)
{
    uint8_t buf[2048];
    bool any = false;
    for (int i = 0; i < 4096; i++) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EAGAIN)
            break;
        any = true;
    }
    return any;
}

static ngtcp2_tstamp now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ngtcp2_tstamp)ts.tv_sec * NGTCP2_SECONDS + (ngtcp2_tstamp)ts.tv_nsec;
}

/* ---- a QUIC client: ngtcp2 over this project's crypto and TLS bridge ---- */

#define QUEUE 64 /* stream writes waiting */
#define SLOTS 8  /* 0-3 request streams, 4-7 unidirectional streams */

struct qclient {
    int fd;
    struct sockaddr_in self;
    ngtcp2_conn *conn;
    SSL *ssl;
    struct quic_tls *tls;
    bool failed;
    bool mute;      /* reads nothing more (no ACK, no credit) */
    bool confirmed; /* HANDSHAKE_DONE came: key updates allowed */
    int64_t ids[SLOTS];
    size_t got;       /* stream bytes received */
    int64_t probe_id; /* the health check's request stream */
    bool probe_done;  /* ... has its whole response */
    uint8_t buf[DGRAM_MAX];
    struct pending {
        int64_t id;
        const uint8_t *p;
        size_t len, off;
        bool fin;
    } q[QUEUE]; /* stream data not sent yet, in order */
    size_t qh, nq;
};

/* The v1 Initial keys of a client: rx with the server's secret, tx with
 * the client's. */
static int client_initial_keys(ngtcp2_conn *conn, const ngtcp2_cid *dcid)
{
    const struct tls13_suite *suite = tls13_suite_find(0x1301);
    uint8_t cs[QUIC_CRYPTO_INITIAL_SECRET_LEN], ss[QUIC_CRYPTO_INITIAL_SECRET_LEN];
    struct quic_crypto_keys rx, tx;
    ngtcp2_crypto_ctx ctx;
    ngtcp2_crypto_aead_ctx rx_aead, tx_aead;
    ngtcp2_crypto_cipher_ctx rx_hp, tx_hp;
    quic_crypto_ctx(&ctx, suite);
    if (quic_crypto_initial_secrets(dcid, cs, ss) != 0 ||
        quic_crypto_derive_keys(suite, ss, sizeof(ss), &rx) != 0 ||
        quic_crypto_derive_keys(suite, cs, sizeof(cs), &tx) != 0 ||
        quic_crypto_aead_ctx_init(&rx_aead, &ctx.aead, rx.key, 0) != 0 ||
        quic_crypto_hp_ctx_init(&rx_hp, &ctx.hp, rx.hp) != 0 ||
        quic_crypto_aead_ctx_init(&tx_aead, &ctx.aead, tx.key, 1) != 0 ||
        quic_crypto_hp_ctx_init(&tx_hp, &ctx.hp, tx.hp) != 0)
        die("client Initial keys");
    ngtcp2_conn_set_initial_crypto_ctx(conn, &ctx);
    if (ngtcp2_conn_install_initial_key(conn, &rx_aead, rx.iv, &rx_hp, &tx_aead, tx.iv, &tx_hp,
                                        QUIC_CRYPTO_IV_LEN) != 0)
        die("ngtcp2_conn_install_initial_key");
    return 0;
}

static int cl_secret(void *arg, ngtcp2_crypto_level level, int write,
                     const struct tls13_suite *suite, const uint8_t *secret, size_t len)
{
    struct qclient *k = arg;
    if (level == NGTCP2_CRYPTO_LEVEL_APPLICATION && !write) {
        /* after the server's Finished: EncryptedExtensions were read */
        size_t tp_len;
        const uint8_t *tp = quic_tls_peer_transport_params(k->tls, &tp_len);
        if (!tp || ngtcp2_conn_decode_remote_transport_params(k->conn, tp, tp_len) != 0)
            return -1;
    }
    int rv = quic_crypto_install_secret(k->conn, level, write, suite, secret, len);
    if (trace)
        fprintf(stderr, "  client secret level %d write %d: %d\n", (int)level, write, rv);
    return rv;
}

static int cl_crypto_data(void *arg, ngtcp2_crypto_level level, const uint8_t *data, size_t len)
{
    struct qclient *k = arg;
    int rv = ngtcp2_conn_submit_crypto_data(k->conn, level, data, len);
    if (trace)
        fprintf(stderr, "  client crypto data level %d len %zu: %d\n", (int)level, len, rv);
    return rv == 0 ? 0 : -1;
}

static const struct quic_tls_ops cl_tls_ops = { .secret = cl_secret,
                                                .crypto_data = cl_crypto_data };

static int cl_handshake(struct qclient *k)
{
    int r = quic_tls_do_handshake(k->tls);
    if (trace)
        fprintf(stderr, "  client handshake: %d alert %u\n", r, quic_tls_alert(k->tls));
    if (r < 0)
        return NGTCP2_ERR_CRYPTO;
    if (r == 1 && !ngtcp2_conn_get_handshake_completed(k->conn))
        ngtcp2_conn_handshake_completed(k->conn);
    return 0;
}

static int cl_client_initial(ngtcp2_conn *conn, void *user)
{
    struct qclient *k = user;
    client_initial_keys(conn, ngtcp2_conn_get_dcid(conn));
    return cl_handshake(k) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int cl_recv_retry(ngtcp2_conn *conn, const ngtcp2_pkt_hd *hd, void *user)
{
    return client_initial_keys(conn, ngtcp2_conn_get_dcid(conn));
}

static int cl_recv_crypto_data(ngtcp2_conn *conn, ngtcp2_crypto_level level, uint64_t offset,
                               const uint8_t *data, size_t len, void *user)
{
    struct qclient *k = user;
    if (quic_tls_provide(k->tls, level, data, len) != 0)
        return NGTCP2_ERR_CRYPTO;
    return cl_handshake(k);
}

static int cl_recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t id, uint64_t offset,
                               const uint8_t *data, size_t len, void *user, void *stream_user)
{
    struct qclient *k = user;
    k->got += len;
    if (id == k->probe_id && (flags & NGTCP2_STREAM_DATA_FLAG_FIN))
        k->probe_done = true;
    ngtcp2_conn_extend_max_stream_offset(conn, id, len);
    ngtcp2_conn_extend_max_offset(conn, len);
    return 0;
}

static int cl_confirmed(ngtcp2_conn *conn, void *user)
{
    ((struct qclient *)user)->confirmed = true;
    return 0;
}

static int cl_new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen, void *user)
{
    if (RAND_bytes(cid->data, (int)cidlen) != 1 ||
        RAND_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN) != 1)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    cid->datalen = cidlen;
    return 0;
}

static void client_log(void *user, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  ngtcp2: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static void random_cid(ngtcp2_cid *cid, size_t len)
{
    uint8_t b[NGTCP2_MAX_CIDLEN];
    if (RAND_bytes(b, (int)len) != 1)
        die("RAND_bytes");
    ngtcp2_cid_init(cid, b, len);
}

static void qclient_open(struct qclient *k)
{
    memset(k, 0, sizeof(*k));
    for (int i = 0; i < SLOTS; i++)
        k->ids[i] = -1;
    k->probe_id = -1;
    k->fd = udp_local(&k->self);
    ngtcp2_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    quic_crypto_callbacks(&cb);
    cb.recv_client_initial = NULL;
    cb.client_initial = cl_client_initial;
    cb.recv_retry = cl_recv_retry;
    cb.recv_crypto_data = cl_recv_crypto_data;
    cb.recv_stream_data = cl_recv_stream_data;
    cb.get_new_connection_id = cl_new_cid;
    cb.handshake_confirmed = cl_confirmed;
    ngtcp2_settings settings;
    ngtcp2_settings_default(&settings);
    settings.initial_ts = now_ns();
    if (getenv("RPXY_FUZZ_NGTCP2"))
        settings.log_printf = client_log;
    ngtcp2_transport_params params;
    ngtcp2_transport_params_default(&params);
    params.initial_max_stream_data_bidi_local = 1 << 20;
    params.initial_max_stream_data_uni = 1 << 20;
    params.initial_max_data = 16 << 20;
    params.initial_max_streams_uni = 16;
    params.max_idle_timeout = 30 * NGTCP2_SECONDS;
    ngtcp2_cid dcid, scid;
    random_cid(&dcid, 16);
    random_cid(&scid, 8);
    ngtcp2_path path = {
        .local = { (struct sockaddr *)&k->self, sizeof(k->self) },
        .remote = { (struct sockaddr *)&proxy_addr, sizeof(proxy_addr) },
    };
    if (ngtcp2_conn_client_new(&k->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &settings,
                               &params, NULL, k) != 0)
        die("ngtcp2_conn_client_new");
    k->ssl = SSL_new(client_ctx);
    if (!k->ssl)
        die("SSL_new");
    SSL_set_tlsext_host_name(k->ssl, "localhost");
    SSL_set_alpn_protos(k->ssl, (const unsigned char *)"\x02h3", 3);
    k->tls = quic_tls_new(k->ssl, 0, &cl_tls_ops, k);
    uint8_t tp[256];
    ngtcp2_ssize n =
        k->tls ? ngtcp2_conn_encode_local_transport_params(k->conn, tp, sizeof(tp)) : -1;
    if (n < 0 || quic_tls_set_local_transport_params(k->tls, tp, (size_t)n) != 0)
        die("client transport parameters");
}

static void qclient_close(struct qclient *k)
{
    if (k->tls)
        quic_tls_free(k->tls);
    SSL_free(k->ssl);
    ngtcp2_conn_del(k->conn);
    if (k->fd >= 0)
        close(k->fd);
    memset(k, 0, sizeof(*k));
    k->fd = -1;
}

/* The handshake is confirmed (HANDSHAKE_DONE came): the server has its
 * HTTP/3 side up, and the client has not failed since. */
static bool qclient_ready(const struct qclient *k)
{
    return k->conn && !k->failed && k->confirmed;
}

/* Reads what the proxy sent; returns whether anything came. */
static bool qclient_read(struct qclient *k)
{
    bool any = false;
    uint8_t buf[65536];
    for (;;) {
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(k->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        any = true;
        if (n <= 0 || k->failed || k->mute)
            continue;
        ngtcp2_path path = {
            .local = { (struct sockaddr *)&k->self, sizeof(k->self) },
            .remote = { (struct sockaddr *)&from, flen },
        };
        ngtcp2_pkt_info pi = { 0 };
        if (trace)
            fprintf(stderr, "  client reads %zd bytes\n", n);
        int rv = ngtcp2_conn_read_pkt(k->conn, &path, &pi, buf, (size_t)n, now_ns());
        if (rv != 0) {
            if (trace)
                fprintf(stderr, "  client: %s\n", ngtcp2_strerror(rv));
            k->failed = true;
        }
    }
    return any;
}

/* Writes what ngtcp2 has to send, stream data queued first (data stream
 * flow control refuses is dropped). Returns whether anything went. */
static bool qclient_flush(struct qclient *k)
{
    bool any = false;
    if (k->failed || !k->conn)
        return false;
    ngtcp2_tstamp ts = now_ns();
    if (ngtcp2_conn_get_expiry(k->conn) <= ts && ngtcp2_conn_handle_expiry(k->conn, ts) != 0) {
        k->failed = true;
        return false;
    }
    for (int i = 0; i < 64; i++) {
        struct pending *q = k->nq ? &k->q[k->qh] : NULL;
        ngtcp2_vec v = { q && q->p ? (uint8_t *)q->p + q->off : NULL, q ? q->len - q->off : 0 };
        uint32_t flags = q && q->fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0;
        ngtcp2_ssize written = -1;
        ngtcp2_path_storage ps;
        ngtcp2_path_storage_zero(&ps);
        ngtcp2_pkt_info pi;
        ngtcp2_ssize n =
            ngtcp2_conn_writev_stream(k->conn, &ps.path, &pi, k->buf, sizeof(k->buf), &written,
                                      flags, q ? q->id : -1, &v, q ? 1 : 0, ts);
        bool pop = false;
        if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR ||
            n == NGTCP2_ERR_STREAM_NOT_FOUND) {
            pop = true; /* the rest of the data is dropped */
            n = 0;
        } else if (n < 0) {
            if (trace)
                fprintf(stderr, "  client write: %s\n", ngtcp2_strerror((int)n));
            k->failed = true;
            break;
        }
        if (q && written >= 0) {
            q->off += (size_t)written;
            pop |= q->off == q->len;
        }
        if (pop) {
            k->qh = (k->qh + 1) % QUEUE;
            k->nq--;
            if (n == 0)
                continue;
        }
        if (n == 0)
            break;
        if (trace)
            fprintf(stderr, "  client sends %zd bytes\n", n);
        send_dgram(k->fd, k->buf, (size_t)n);
        any = true;
    }
    ngtcp2_conn_update_pkt_tx_time(k->conn, ts);
    return any;
}

/* Queues stream data (kept where it is until sent) and writes. */
static void qclient_send(struct qclient *k, int64_t id, const uint8_t *p, size_t len, bool fin)
{
    if (k->nq < QUEUE) {
        k->q[(k->qh + k->nq) % QUEUE] = (struct pending){ id, p, len, 0, fin };
        k->nq++;
    }
    qclient_flush(k);
}

/* Passes of the loop, the backend, the client(s) until nothing moves;
 * stops early once `until` is true of the client. */
static void run(struct qclient *k, bool (*until)(const struct qclient *))
{
    int idle = 0;
    ngtcp2_duration waited = 0;
    for (int round = 0; round < MAX_ROUNDS && idle < IDLE_ROUNDS; round++) {
        loop_pass();
        bool progress = be_turn();
        if (k && k->conn) {
            progress |= qclient_read(k);
            if (!k->mute)
                progress |= qclient_flush(k);
        } else if (k) {
            progress |= discard(k->fd);
        }
        log_flush();
        if (trace)
            fprintf(stderr, "pass %d: progress %d, conns %zu, backend %zu, got %zu\n", round,
                    progress, w->n_conns, be.n, k ? k->got : 0);
        if (until && k && until(k))
            return;
        idle = progress ? 0 : idle + 1;
        if (!idle || idle == IDLE_ROUNDS)
            continue;
        /* pacing and timers of a millisecond or two on both sides; the
         * client's own timer when it is near (its Finished waits for it),
         * within a budget */
        long ns = idle * 1000000L;
        if (k && k->conn && !k->failed && !k->mute) {
            ngtcp2_tstamp exp = ngtcp2_conn_get_expiry(k->conn), now = now_ns();
            if (exp > now && exp - now < 20 * NGTCP2_MILLISECONDS &&
                waited + (exp - now) < WAIT_BUDGET) {
                ns = (long)(exp - now) + 100000;
                waited += (ngtcp2_duration)ns;
                idle--;
            }
        }
        struct timespec ts = { 0, ns };
        nanosleep(&ts, NULL);
    }
}

/* Passes until `until` is true of the client or it failed, however slow
 * the machine: at most DEADLINE_MS, with a sleep of 1 ms after a pass in
 * which nothing moved (what must work is waited for, not guessed from
 * idle passes). */
static void run_until(struct qclient *k, bool (*until)(const struct qclient *))
{
    ngtcp2_tstamp end = now_ns() + DEADLINE_MS * NGTCP2_MILLISECONDS;
    while (!until(k) && !k->failed && now_ns() < end) {
        loop_pass();
        bool progress = be_turn();
        progress |= qclient_read(k);
        progress |= qclient_flush(k);
        log_flush();
        if (!progress) {
            struct timespec ts = { 0, 1000000L };
            nanosleep(&ts, NULL);
        }
    }
}

static bool probe_done(const struct qclient *k)
{
    return k->probe_done || k->failed;
}

/* A well-behaved client on a port of its own: a handshake, then GET / and
 * its whole response. */
static void health_check(void)
{
    /* HEADERS: QPACK without the dynamic table, :method GET, :scheme
     * https, :path / (static 17, 23, 1), :authority localhost */
    static const uint8_t get[] = { 0x01, 0x10, 0x00, 0x00, 0xd1, 0xd7, 0xc1, 0x50, 0x09,
                                   'l',  'o',  'c',  'a',  'l',  'h',  'o',  's',  't' };
    struct qclient h;
    qclient_open(&h);
    qclient_flush(&h);
    run_until(&h, qclient_ready);
    check(qclient_ready(&h), "a well-behaved client's handshake failed after the input");
    check(ngtcp2_conn_open_bidi_stream(h.conn, &h.probe_id, NULL) == 0, "no request stream");
    qclient_send(&h, h.probe_id, get, sizeof(get), true);
    run_until(&h, probe_done);
    check(h.probe_done, "a well-behaved client got no response after the input");
    qclient_close(&h);
}

/* ---- the Initial mode: client Initials protected by the harness ---- */

static const uint8_t fixed_dcid[16] = "rpxy-fuzz-dcid!";
static const uint8_t fixed_scid[8] = "fuzzscid";

static struct {
    ngtcp2_crypto_aead aead;
    ngtcp2_crypto_cipher hp;
    ngtcp2_crypto_aead_ctx aead_ctx;
    ngtcp2_crypto_cipher_ctx hp_ctx;
    uint8_t iv[QUIC_CRYPTO_IV_LEN];
} ini;

static void initial_keys_init(void)
{
    const struct tls13_suite *suite = tls13_suite_find(0x1301);
    ngtcp2_cid dcid;
    ngtcp2_cid_init(&dcid, fixed_dcid, sizeof(fixed_dcid));
    uint8_t cs[QUIC_CRYPTO_INITIAL_SECRET_LEN], ss[QUIC_CRYPTO_INITIAL_SECRET_LEN];
    struct quic_crypto_keys k;
    ngtcp2_crypto_ctx ctx;
    quic_crypto_ctx(&ctx, suite);
    ini.aead = ctx.aead;
    ini.hp = ctx.hp;
    if (quic_crypto_initial_secrets(&dcid, cs, ss) != 0 ||
        quic_crypto_derive_keys(suite, cs, sizeof(cs), &k) != 0 ||
        quic_crypto_aead_ctx_init(&ini.aead_ctx, &ini.aead, k.key, 1) != 0 ||
        quic_crypto_hp_ctx_init(&ini.hp_ctx, &ini.hp, k.hp) != 0)
        die("Initial keys");
    memcpy(ini.iv, k.iv, sizeof(ini.iv));
}

/* A protected client Initial with packet number pn carrying payload
 * (frames; PADDING appended up to 1200 bytes). Returns its length. */
static size_t make_initial(uint8_t *out, size_t cap, uint32_t pn, const uint8_t *payload,
                           size_t len)
{
    uint8_t *p = out;
    *p++ = 0xc0 | 0x03; /* Initial, 4-byte packet number */
    *p++ = 0, *p++ = 0, *p++ = 0, *p++ = 1;
    *p++ = sizeof(fixed_dcid);
    memcpy(p, fixed_dcid, sizeof(fixed_dcid));
    p += sizeof(fixed_dcid);
    *p++ = sizeof(fixed_scid);
    memcpy(p, fixed_scid, sizeof(fixed_scid));
    p += sizeof(fixed_scid);
    *p++ = 0; /* no token */
    size_t hdr = (size_t)(p - out) + 2 + 4, tag = ini.aead.max_overhead;
    size_t plain = len;
    if (hdr + plain + tag < INITIAL_MIN)
        plain = INITIAL_MIN - hdr - tag;
    if (hdr + plain + tag > cap || 4 + plain + tag > 0x3fff)
        return 0;
    size_t length = 4 + plain + tag; /* packet number and payload */
    *p++ = 0x40 | (uint8_t)(length >> 8), *p++ = (uint8_t)length;
    uint8_t *pnp = p;
    *p++ = (uint8_t)(pn >> 24), *p++ = (uint8_t)(pn >> 16), *p++ = (uint8_t)(pn >> 8),
    *p++ = (uint8_t)pn;
    uint8_t *body = malloc(plain ? plain : 1);
    if (!body)
        die("out of memory");
    memset(body, 0, plain);
    memcpy(body, payload, len);
    uint8_t nonce[QUIC_CRYPTO_IV_LEN];
    memcpy(nonce, ini.iv, sizeof(nonce));
    for (int i = 0; i < 4; i++)
        nonce[QUIC_CRYPTO_IV_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
    if (quic_crypto_encrypt(p, &ini.aead, &ini.aead_ctx, body, plain, nonce, sizeof(nonce), out,
                            hdr) != 0)
        die("encrypt");
    free(body);
    uint8_t mask[NGTCP2_HP_MASKLEN];
    if (quic_crypto_hp_mask(mask, &ini.hp, &ini.hp_ctx, pnp + 4) != 0)
        die("hp_mask");
    out[0] ^= mask[0] & 0x0f;
    for (int i = 0; i < 4; i++)
        pnp[i] ^= mask[1 + i];
    return hdr + plain + tag;
}

/* ---- the input ---- */

/* The next record: a 2-byte big-endian length and that many bytes (fewer
 * at the end of the input). */
static bool next_record(const uint8_t **p, const uint8_t *end, const uint8_t **rec, size_t *len)
{
    if (end - *p < 2)
        return false;
    size_t n = (size_t)(*p)[0] << 8 | (*p)[1];
    *p += 2;
    if (n > (size_t)(end - *p))
        n = (size_t)(end - *p);
    *rec = *p;
    *len = n;
    *p += n;
    return true;
}

/* HTTP/3 mode, one operation a record: byte 0 is the operation (bits 0-2 a
 * stream slot: 0-3 request streams, 4-7 unidirectional streams, opened on
 * first use; bits 3-5 what), then, for DATA and DATA_FIN, a 2-byte length
 * and the bytes. */
enum op {
    OP_DATA,
    OP_DATA_FIN,
    OP_RESET,  /* RESET_STREAM of the slot */
    OP_STOP,   /* STOP_SENDING of the slot */
    OP_PUMP,   /* run until quiet (the backend answers, responses flow) */
    OP_UPDATE, /* key update */
    OP_MUTE,   /* the client stops reading */
    OP_CLOSE,  /* the client closes the connection (CONNECTION_CLOSE) */
};

static int64_t slot_id(struct qclient *k, unsigned slot)
{
    if (k->ids[slot] >= 0)
        return k->ids[slot];
    int rv = slot < 4 ? ngtcp2_conn_open_bidi_stream(k->conn, &k->ids[slot], NULL)
                      : ngtcp2_conn_open_uni_stream(k->conn, &k->ids[slot], NULL);
    if (rv != 0)
        k->ids[slot] = -1;
    return k->ids[slot];
}

static void h3_ops(struct qclient *k, const uint8_t *p, const uint8_t *end, bool drain_half)
{
    const uint8_t *half = p + (end - p) / 2;
    bool drained = false;
    while (p < end && qclient_ready(k)) {
        uint8_t op = *p++;
        unsigned slot = op & 7;
        const uint8_t *rec = NULL;
        size_t len = 0;
        int64_t id;
        switch ((enum op)(op >> 3 & 7)) {
        case OP_DATA:
        case OP_DATA_FIN:
            if (!next_record(&p, end, &rec, &len))
                len = 0;
            if ((id = slot_id(k, slot)) >= 0)
                qclient_send(k, id, rec, len, (op >> 3 & 7) == OP_DATA_FIN);
            break;
        case OP_RESET:
            if ((id = slot_id(k, slot)) >= 0)
                ngtcp2_conn_shutdown_stream_write(k->conn, id, 0x10c); /* H3_REQUEST_CANCELLED */
            qclient_flush(k);
            break;
        case OP_STOP:
            if ((id = slot_id(k, slot)) >= 0)
                ngtcp2_conn_shutdown_stream_read(k->conn, id, 0x10c);
            qclient_flush(k);
            break;
        case OP_PUMP: run(k, NULL); break;
        case OP_UPDATE:
            if (k->confirmed) /* else an ngtcp2 assertion */
                ngtcp2_conn_initiate_key_update(k->conn, now_ns());
            qclient_flush(k);
            break;
        case OP_MUTE: k->mute = true; break;
        case OP_CLOSE: {
            ngtcp2_path_storage ps;
            ngtcp2_path_storage_zero(&ps);
            ngtcp2_pkt_info pi;
            ngtcp2_connection_close_error ce;
            ngtcp2_connection_close_error_set_application_error(&ce, 0x100, NULL, 0);
            ngtcp2_ssize n = ngtcp2_conn_write_connection_close(k->conn, &ps.path, &pi, k->buf,
                                                                sizeof(k->buf), &ce, now_ns());
            if (n > 0)
                send_dgram(k->fd, k->buf, (size_t)n);
            k->failed = true;
            break;
        }
        }
        loop_pass();
        be_turn();
        qclient_read(k);
        if (drain_half && !drained && p >= half) {
            drained = true;
            client_close_idle_all(w);
        }
    }
}

/* Raw and Initial modes: the records as datagrams from one port. */
static void datagrams(const uint8_t *p, const uint8_t *end, bool protect, bool drain_half)
{
    struct qclient k = { .fd = udp_local(NULL) };
    const uint8_t *half = p + (end - p) / 2;
    bool drained = false;
    uint32_t pn = 0;
    const uint8_t *rec;
    size_t len;
    static uint8_t pkt[DGRAM_MAX + 64];
    while (next_record(&p, end, &rec, &len)) {
        if (protect) {
            size_t n = make_initial(pkt, sizeof(pkt), pn++, rec, len);
            if (n)
                send_dgram(k.fd, pkt, n);
        } else {
            send_dgram(k.fd, rec, len);
        }
        loop_pass();
        discard(k.fd);
        if (drain_half && !drained && p >= half) {
            drained = true;
            client_close_idle_all(w);
        }
    }
    run(&k, NULL);
    close(k.fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t ctl = size ? data[0] : 0;
    const uint8_t *p = data + (size ? 1 : 0), *end = data + size;
    unsigned mode = ctl & 3;
    bool drain_half = ctl & 0x10;
    be.kind = (enum be_kind)(ctl >> 2 & 3);
    be.n = 0;
    lb_rng_seed(&w->rng, 1);
    w->draining = false;

    struct qclient k = { .fd = -1 };
    if (mode >= 2) {
        qclient_open(&k);
        qclient_flush(&k);
        run_until(&k, qclient_ready);
        check(qclient_ready(&k), "the fuzzed client's handshake failed");
        k.mute = ctl & 0x20;
        h3_ops(&k, p, end, drain_half);
        run(&k, NULL);
    } else {
        datagrams(p, end, mode == 1, drain_half);
    }

    /* other connections keep being served */
    be.kind = BE_SMALL;
    health_check();

    /* the end: every connection goes, then the backend, then the upstream
     * connections the proxy keeps */
    while (w->clients.head)
        client_close(w->clients.head);
    loop_run_deferred(w->loop);
    if (k.conn || k.fd >= 0)
        qclient_close(&k);
    be_close_all();
    loop_pass();
    upstream_pool_close_all(w->pool);
    loop_run_deferred(w->loop);
    discard(w->listeners[0].io.fd);
    check(!w->clients.head && w->n_conns == 0, "a client connection outlived its input");
    struct quic_endpoint *ep = w->quic;
    check(!ep || (ep->n_conns == 0 && ep->n_handshakes == 0 && ep->cids.n == 0),
          "QUIC state outlived its input");
    check(atomic_load(&g_server.clients) == 0, "a max_clients slot outlived its input");
    return 0;
}

/* ---- seeds ---- */

static void write_seed(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        die(path);
}

static void put_record(uint8_t *buf, size_t *n, uint8_t lead, bool with_lead, const uint8_t *p,
                       size_t len)
{
    if (with_lead)
        buf[(*n)++] = lead;
    buf[(*n)++] = (uint8_t)(len >> 8);
    buf[(*n)++] = (uint8_t)len;
    memcpy(buf + *n, p, len);
    *n += len;
}

struct hello_sink {
    uint8_t data[4096];
    size_t n;
};

static int sink_secret(void *arg, ngtcp2_crypto_level level, int write,
                       const struct tls13_suite *suite, const uint8_t *secret, size_t len)
{
    return 0;
}

static int sink_crypto(void *arg, ngtcp2_crypto_level level, const uint8_t *data, size_t len)
{
    struct hello_sink *s = arg;
    if (level != NGTCP2_CRYPTO_LEVEL_INITIAL || s->n + len > sizeof(s->data))
        return -1;
    memcpy(s->data + s->n, data, len);
    s->n += len;
    return 0;
}

static const struct quic_tls_ops sink_ops = { .secret = sink_secret, .crypto_data = sink_crypto };

/* A CRYPTO frame (offset and length as 2- and 4-byte varints). */
static size_t crypto_frame(uint8_t *out, size_t off, const uint8_t *p, size_t n)
{
    size_t i = 0;
    out[i++] = 0x06;
    out[i++] = 0x80, out[i++] = 0, out[i++] = (uint8_t)(off >> 8), out[i++] = (uint8_t)off;
    out[i++] = 0x40 | (uint8_t)(n >> 8), out[i++] = (uint8_t)n;
    memcpy(out + i, p, n);
    return i + n;
}

/* The seeds of the raw and Initial modes, from a real first flight. */
static void make_seeds(const char *dir)
{
    static uint8_t seed[65536];
    struct qclient k;
    qclient_open(&k);
    qclient_flush(&k);
    /* the client's first datagram, as the proxy would get it */
    uint8_t first[DGRAM_MAX];
    ssize_t n = -1;
    int lfd = w->listeners[0].io.fd;
    for (int i = 0; i < 1000 && n < 0; i++)
        n = recv(lfd, first, sizeof(first), 0);
    if (n <= 0)
        die("first flight");
    size_t len = 0;
    seed[len++] = 0; /* raw */
    put_record(seed, &len, 0, false, first, (size_t)n);
    write_seed(dir, "raw-client-initial", seed, len);
    /* the same twice, then a version the server does not speak */
    put_record(seed, &len, 0, false, first, (size_t)n);
    first[1] = 0x1a, first[2] = 0x2a, first[3] = 0x3a, first[4] = 0x4a;
    put_record(seed, &len, 0, false, first, (size_t)n);
    write_seed(dir, "raw-initial-twice-and-vn", seed, len);
    /* a short header packet nobody owns: a stateless reset */
    len = 0;
    seed[len++] = 0;
    uint8_t shortp[60] = { 0x40 };
    memset(shortp + 1, 0x5a, sizeof(shortp) - 1);
    put_record(seed, &len, 0, false, shortp, sizeof(shortp));
    write_seed(dir, "raw-stateless-reset", seed, len);
    qclient_close(&k);
    discard(lfd);

    /* the ClientHello as CRYPTO frames of harness-protected Initials */
    struct hello_sink sink = { .n = 0 };
    SSL *ssl = SSL_new(client_ctx);
    if (!ssl)
        die("SSL_new");
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set_alpn_protos(ssl, (const unsigned char *)"\x02h3", 3);
    struct quic_tls *qt = quic_tls_new(ssl, 0, &sink_ops, &sink);
    static const uint8_t tp[] = { 0x04, 0x04, 0x80, 0x10, 0x00, 0x00, /* initial_max_data */
                                  0x0f, 0x08, 'f',  'u',  'z',  'z',  's', 'c', 'i', 'd' };
    if (!qt || quic_tls_set_local_transport_params(qt, tp, sizeof(tp)) != 0 ||
        quic_tls_do_handshake(qt) < 0 || sink.n == 0)
        die("ClientHello");
    quic_tls_free(qt);
    SSL_free(ssl);
    uint8_t frame[4200];
    size_t fl = crypto_frame(frame, 0, sink.data, sink.n);
    len = 0;
    seed[len++] = 1; /* Initial */
    put_record(seed, &len, 0, false, frame, fl);
    write_seed(dir, "initial-client-hello", seed, len);
    /* the second half first, a PING and an ACK after it */
    size_t half = sink.n / 2;
    len = 0;
    seed[len++] = 1;
    fl = crypto_frame(frame, half, sink.data + half, sink.n - half);
    put_record(seed, &len, 0, false, frame, fl);
    fl = crypto_frame(frame, 0, sink.data, half);
    frame[fl++] = 0x01; /* PING */
    put_record(seed, &len, 0, false, frame, fl);
    static const uint8_t ack[] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
    put_record(seed, &len, 0, false, ack, sizeof(ack));
    write_seed(dir, "initial-client-hello-split", seed, len);
    /* the ClientHello, then CONNECTION_CLOSE */
    len = 0;
    seed[len++] = 1;
    fl = crypto_frame(frame, 0, sink.data, sink.n);
    put_record(seed, &len, 0, false, frame, fl);
    static const uint8_t cc[] = { 0x1c, 0x0a, 0x06, 0x03, 'b', 'y', 'e' };
    put_record(seed, &len, 0, false, cc, sizeof(cc));
    write_seed(dir, "initial-client-hello-close", seed, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    signal(SIGPIPE, SIG_IGN);
    trace = getenv("RPXY_FUZZ_TRACE") != NULL;
    log_open(NULL, LOG_DEBUG);
    if (!getenv("RPXY_FUZZ_LOG")) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
            die("/dev/null");
        close(null);
    }
    memset(big_body, 'x', sizeof(big_body));
    be.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    if (be.listen_fd < 0 || bind(be.listen_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        listen(be.listen_fd, 128) < 0 || getsockname(be.listen_fd, (struct sockaddr *)&sin, &len))
        die("backend socket");
    be.port = ntohs(sin.sin_port);

    worker_set_conn_ops(&client_conn_ops);
    w = worker_new(0);
    if (!w)
        die("worker_new");
    add_udp_listener();
    add_certificates();
    w->rt = build_runtime();
    initial_keys_init();
    const char *dir = getenv("RPXY_QUIC_SEEDS");
    if (dir) {
        make_seeds(dir);
        exit(0);
    }
    return 0;
}
