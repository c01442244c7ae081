/* The QUIC TLS bridge in memory: a client SSL with a bridge against a server
 * SSL made the proxy's way (front context, ClientHello callback switching to
 * an app context by SNI), moving only CRYPTO bytes between the two bridges,
 * level by level, never a TLS record. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

#include "../tap.h"
#include "quic/tls_bridge.h"
#include "tls/cert_load.h"
#include "tls/server.h"
#include "tls/sni_table.h"
#include "../test_site.h"

static struct tls_sni_table *table;
static SSL_CTX *app_a, *app_m, *cctx;

/* ---- one endpoint: what its bridge reported ---- */

#define OUT_CAP 65536

struct side {
    struct quic_tls *qt;
    SSL *ssl;
    uint8_t secret[2][4][TLS13_MAX_SECRET]; /* [write][level] */
    size_t secret_len[2][4];
    uint8_t out[3][OUT_CAP]; /* crypto data to send, per level, not yet moved */
    size_t out_n[3];
    size_t sent_total[3]; /* all crypto data ever produced, per level */
    uint8_t alert;
    char trace[256]; /* events in order: "c0" crypto data at INITIAL, "w1" write secret... */
};

static void trace(struct side *s, char what, int level)
{
    size_t n = strlen(s->trace);
    /* consecutive crypto data at one level count once */
    if (what == 'c' && n >= 3 && s->trace[n - 3] == 'c' && s->trace[n - 2] == '0' + level)
        return;
    if (n + 4 < sizeof(s->trace))
        snprintf(s->trace + n, sizeof(s->trace) - n, "%c%d ", what, level);
}

static int on_secret(void *arg, ngtcp2_crypto_level level, int write,
                     const struct tls13_suite *suite, const uint8_t *secret, size_t len)
{
    struct side *s = arg;
    if (len > TLS13_MAX_SECRET || len != (size_t)EVP_MD_get_size(suite->md))
        return -1;
    memcpy(s->secret[write][level], secret, len);
    s->secret_len[write][level] = len;
    trace(s, write ? 'w' : 'r', level);
    return 0;
}

static int on_crypto(void *arg, ngtcp2_crypto_level level, const uint8_t *data, size_t len)
{
    struct side *s = arg;
    if (level > NGTCP2_CRYPTO_LEVEL_APPLICATION || s->out_n[level] + len > OUT_CAP)
        return -1;
    memcpy(s->out[level] + s->out_n[level], data, len);
    s->out_n[level] += len;
    s->sent_total[level] += len;
    trace(s, 'c', level);
    return 0;
}

static void on_alert(void *arg, uint8_t alert)
{
    ((struct side *)arg)->alert = alert;
}

static const struct quic_tls_ops ops = { on_secret, on_crypto, on_alert };

/* Moves what from produced to to's bridge. */
static void move(struct side *from, struct side *to)
{
    for (int l = 0; l < 3; l++) {
        if (from->out_n[l] && to->qt)
            quic_tls_provide(to->qt, (ngtcp2_crypto_level)l, from->out[l], from->out_n[l]);
        from->out_n[l] = 0;
    }
}

/* ---- contexts ---- */

/* What server.c's ALPN choice has to become for QUIC: h3 on a bridged
 * connection (the app contexts of this test get it in its place). */
static int alpn_h3(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char h3[] = "\x02h3";
    if (quic_tls_get(ssl) && SSL_select_next_proto((unsigned char **)out, outlen, h3, 3, in,
                                                   inlen) == OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_OK;
    return SSL_TLSEXT_ERR_NOACK;
}

/* An app context for name, with the ALPN choice above. */
static SSL_CTX *h3_site(const char *name, int mtls)
{
    SSL_CTX *ctx = site(name, mtls);
    if (ctx)
        SSL_CTX_set_alpn_select_cb(ctx, alpn_h3, NULL);
    return ctx;
}

/* ---- one QUIC-style connection ---- */

struct conn {
    struct tls_hello hello;
    struct side c, s;
    int crc, src; /* last quic_tls_do_handshake results */
};

static const uint8_t client_tp[] = { 0x01, 0x04, 0x80, 0x00, 0x75, 0x30, 0x04, 0x02, 0x40, 0x00 };
static const uint8_t server_tp[] = { 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x03, 0x02, 0x45, 0xc0 };

#define TP_CLIENT 1
#define TP_SERVER 2
#define TP_BOTH 3

/* A client and a server, bridged; the client offers alpn (wire format);
 * with_tp says who sends transport parameters. */
static void conn_open(struct conn *k, const char *sni, SSL_SESSION *session, const char *alpn,
                      int with_tp)
{
    memset(k, 0, sizeof(*k));
    k->hello.table = table;
    k->s.ssl = tls_server_ssl_new(&k->hello);
    k->c.ssl = SSL_new(cctx);
    SSL_set_tlsext_host_name(k->c.ssl, sni);
    SSL_set_alpn_protos(k->c.ssl, (const unsigned char *)alpn, (unsigned)strlen(alpn));
    if (session)
        SSL_set_session(k->c.ssl, session);
    k->c.qt = quic_tls_new(k->c.ssl, 0, &ops, &k->c);
    k->s.qt = quic_tls_new(k->s.ssl, 1, &ops, &k->s);
    if (with_tp & TP_CLIENT)
        quic_tls_set_local_transport_params(k->c.qt, client_tp, sizeof(client_tp));
    if (with_tp & TP_SERVER)
        quic_tls_set_local_transport_params(k->s.qt, server_tp, sizeof(server_tp));
}

/* Runs both sides until both are done or one fails. Returns 1 when both
 * completed. */
static int conn_run(struct conn *k)
{
    for (int i = 0; i < 10; i++) {
        k->crc = quic_tls_do_handshake(k->c.qt);
        move(&k->c, &k->s);
        k->src = quic_tls_do_handshake(k->s.qt);
        move(&k->s, &k->c);
        if (k->crc < 0 || k->src < 0)
            return 0;
        if (k->crc == 1 && k->src == 1) {
            /* the client takes in what came after (NewSessionTicket) */
            k->crc = quic_tls_do_handshake(k->c.qt);
            return k->crc == 1;
        }
    }
    return 0;
}

static void conn_close(struct conn *k)
{
    quic_tls_free(k->c.qt);
    quic_tls_free(k->s.qt);
    SSL_free(k->c.ssl);
    SSL_free(k->s.ssl);
    ERR_clear_error();
}

static int secret_eq(struct side *w, struct side *r, int level)
{
    return w->secret_len[1][level] && w->secret_len[1][level] == r->secret_len[0][level] &&
           memcmp(w->secret[1][level], r->secret[0][level], w->secret_len[1][level]) == 0;
}

static void full_handshake(SSL_SESSION **session)
{
    struct conn k;
    conn_open(&k, "a.test", NULL, "\x02h3\x02h2", TP_BOTH);
    TAP_OK(k.c.qt && k.s.qt, "bridges attached to client and server");
    TAP_OK(conn_run(&k), "QUIC handshake completes on both sides");
    printf("# client events: %s\n# server events: %s\n", k.c.trace, k.s.trace);
    TAP_STR_EQ(k.s.trace, "c0 w1 r1 c1 w2 r2 c2 ", "server: secrets and data in order");
    /* OpenSSL 3.0 makes the client's handshake write key only when it is
     * about to write its Finished, after the server's Finished */
    TAP_STR_EQ(k.c.trace, "c0 r1 r2 w1 c1 w2 ", "client: secrets and data in order");
    TAP_OK(secret_eq(&k.c, &k.s, NGTCP2_CRYPTO_LEVEL_HANDSHAKE) &&
               secret_eq(&k.s, &k.c, NGTCP2_CRYPTO_LEVEL_HANDSHAKE),
           "HANDSHAKE: each write secret is the other's read secret");
    TAP_OK(secret_eq(&k.c, &k.s, NGTCP2_CRYPTO_LEVEL_APPLICATION) &&
               secret_eq(&k.s, &k.c, NGTCP2_CRYPTO_LEVEL_APPLICATION),
           "APPLICATION: each write secret is the other's read secret");
    TAP_OK(!k.c.secret_len[1][NGTCP2_CRYPTO_LEVEL_EARLY] &&
               !k.s.secret_len[0][NGTCP2_CRYPTO_LEVEL_EARLY],
           "no 0-RTT secret");
    size_t n;
    const uint8_t *p = quic_tls_peer_transport_params(k.s.qt, &n);
    TAP_OK(p && n == sizeof(client_tp) && memcmp(p, client_tp, n) == 0,
           "server got the client's transport parameters");
    p = quic_tls_peer_transport_params(k.c.qt, &n);
    TAP_OK(p && n == sizeof(server_tp) && memcmp(p, server_tp, n) == 0,
           "client got the server's transport parameters");
    const unsigned char *alpn;
    unsigned alen;
    SSL_get0_alpn_selected(k.c.ssl, &alpn, &alen);
    TAP_OK(alen == 2 && memcmp(alpn, "h3", 2) == 0, "ALPN h3 negotiated (client view)");
    SSL_get0_alpn_selected(k.s.ssl, &alpn, &alen);
    TAP_OK(alen == 2 && memcmp(alpn, "h3", 2) == 0, "ALPN h3 negotiated (server view)");
    TAP_STR_EQ(k.hello.sni, "a.test", "the SNI reached the server's ClientHello callback");
    TAP_OK(SSL_get_SSL_CTX(k.s.ssl) == app_a, "the server moved to the app's context");
    TAP_INT_EQ(SSL_version(k.c.ssl), TLS1_3_VERSION, "TLS 1.3");
    TAP_OK(k.s.sent_total[NGTCP2_CRYPTO_LEVEL_APPLICATION] > 0 &&
               k.s.sent_total[NGTCP2_CRYPTO_LEVEL_APPLICATION] < 1024,
           "the server sent a NewSessionTicket at APPLICATION level");
    TAP_INT_EQ(k.c.sent_total[NGTCP2_CRYPTO_LEVEL_APPLICATION], 0,
               "the client sent nothing at APPLICATION level");
    SSL_SESSION *sess = SSL_get0_session(k.c.ssl);
    TAP_OK(sess && SSL_SESSION_has_ticket(sess), "the client holds the ticket");
    *session = sess ? SSL_SESSION_dup(sess) : NULL;
    TAP_INT_EQ(SSL_session_reused(k.c.ssl), 0, "first handshake was a full one");
    conn_close(&k);
}

static void resumed_handshake(SSL_SESSION *session)
{
    struct conn k;
    conn_open(&k, "a.test", session, "\x02h3", TP_BOTH);
    TAP_OK(conn_run(&k), "second QUIC handshake completes");
    TAP_OK(SSL_session_reused(k.c.ssl) == 1 && SSL_session_reused(k.s.ssl) == 1,
           "... resumed with the ticket");
    TAP_OK(secret_eq(&k.c, &k.s, NGTCP2_CRYPTO_LEVEL_APPLICATION) &&
               secret_eq(&k.s, &k.c, NGTCP2_CRYPTO_LEVEL_APPLICATION),
           "... and the application secrets agree");
    size_t n;
    TAP_OK(quic_tls_peer_transport_params(k.s.qt, &n) && n == sizeof(client_tp) &&
               quic_tls_peer_transport_params(k.c.qt, &n) && n == sizeof(server_tp),
           "... transport parameters exchanged again");
    conn_close(&k);
}

/* Record sealing with each suite: the client offers only that one. */
static void every_suite(void)
{
    static const char *suites[] = { "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                    "TLS_CHACHA20_POLY1305_SHA256" };
    for (int i = 0; i < 3; i++) {
        SSL_CTX_set_ciphersuites(cctx, suites[i]);
        struct conn k;
        conn_open(&k, "a.test", NULL, "\x02h3", TP_BOTH);
        int ok = conn_run(&k) && strcmp(SSL_get_cipher_name(k.s.ssl), suites[i]) == 0 &&
                 secret_eq(&k.c, &k.s, NGTCP2_CRYPTO_LEVEL_APPLICATION);
        char what[96];
        snprintf(what, sizeof(what), "handshake with %s", suites[i]);
        TAP_OK(ok, what);
        conn_close(&k);
    }
    SSL_CTX_set_ciphersuites(cctx, TLS_DEFAULT_CIPHERSUITES);
}

static void hello_retry(void)
{
    SSL_CTX_set1_groups_list(cctx, "P-521:P-256");
    struct conn k;
    conn_open(&k, "a.test", NULL, "\x02h3", TP_BOTH);
    int ok = conn_run(&k);
    TAP_OK(ok && SSL_get_negotiated_group(k.c.ssl) == NID_X9_62_prime256v1,
           "HelloRetryRequest (key share P-521, server takes P-256) passes at INITIAL");
    conn_close(&k);
    SSL_CTX_set1_groups_list(cctx, tls_groups_list());
}

static void mutual_tls(void)
{
    struct conn k;
    conn_open(&k, "m.test", NULL, "\x02h3", TP_BOTH);
    SSL_use_certificate(k.c.ssl, cert);
    SSL_use_PrivateKey(k.c.ssl, key);
    TAP_OK(conn_run(&k), "mTLS app: QUIC handshake with a client certificate");
    TAP_OK(SSL_get_SSL_CTX(k.s.ssl) == app_m && SSL_get0_peer_certificate(k.s.ssl) &&
               SSL_get_verify_result(k.s.ssl) == X509_V_OK,
           "... the server verified it");
    TAP_INT_EQ(k.s.sent_total[NGTCP2_CRYPTO_LEVEL_APPLICATION], 0, "... and issued no ticket");
    conn_close(&k);

    conn_open(&k, "m.test", NULL, "\x02h3", TP_BOTH);
    conn_run(&k);
    TAP_OK(k.src == -1 && quic_tls_alert(k.s.qt) != 0,
           "mTLS app without a client certificate: the server fails with an alert");
    printf("# alert %u\n", quic_tls_alert(k.s.qt));
    conn_close(&k);
}

static void failures(void)
{
    struct conn k;
    conn_open(&k, "a.test", NULL, "\x02h3", TP_SERVER);
    conn_run(&k);
    TAP_INT_EQ(k.src, -1, "client without transport parameters: the server fails");
    TAP_INT_EQ(quic_tls_alert(k.s.qt), QUIC_TLS_ALERT_MISSING_EXTENSION,
               "... with missing_extension (109)");
    TAP_INT_EQ(k.s.alert, QUIC_TLS_ALERT_MISSING_EXTENSION, "... reported through ops->alert");
    TAP_INT_EQ(k.s.sent_total[0] + k.s.sent_total[1] + k.s.sent_total[2], 0,
               "... before any ServerHello left");
    conn_close(&k);

    conn_open(&k, "a.test", NULL, "\x02h3", TP_CLIENT);
    conn_run(&k);
    TAP_OK(k.crc == -1 && quic_tls_alert(k.c.qt) == QUIC_TLS_ALERT_MISSING_EXTENSION,
           "server without transport parameters: the client fails with missing_extension");
    TAP_INT_EQ(k.c.sent_total[NGTCP2_CRYPTO_LEVEL_HANDSHAKE], 0, "... before its Finished left");
    conn_close(&k);

    conn_open(&k, "a.test", NULL, "\x02h2", TP_BOTH);
    conn_run(&k);
    TAP_OK(k.src == -1 && quic_tls_alert(k.s.qt) == QUIC_TLS_ALERT_NO_APPLICATION_PROTOCOL,
           "no h3 offered: the server fails with no_application_protocol (120)");
    conn_close(&k);

    static const uint8_t garbage[] = "\x01\x00\x00\x20garbage garbage garbage garbage...";
    conn_open(&k, "a.test", NULL, "\x02h3", TP_BOTH);
    TAP_INT_EQ(quic_tls_provide(k.s.qt, NGTCP2_CRYPTO_LEVEL_INITIAL, garbage, sizeof(garbage)), 0,
               "garbage provided at INITIAL");
    TAP_INT_EQ(quic_tls_do_handshake(k.s.qt), -1, "... fails the server handshake");
    printf("# alert %u\n", quic_tls_alert(k.s.qt));
    TAP_OK(quic_tls_alert(k.s.qt) != 0, "... with an alert");
    TAP_INT_EQ(quic_tls_provide(k.s.qt, NGTCP2_CRYPTO_LEVEL_INITIAL, garbage, sizeof(garbage)), -1,
               "... and takes no more data");
    conn_close(&k);

    /* the client gets a real ServerHello, then garbage in the encrypted level */
    conn_open(&k, "a.test", NULL, "\x02h3", TP_BOTH);
    quic_tls_do_handshake(k.c.qt);
    move(&k.c, &k.s);
    quic_tls_do_handshake(k.s.qt);
    quic_tls_provide(k.c.qt, NGTCP2_CRYPTO_LEVEL_INITIAL, k.s.out[0], k.s.out_n[0]);
    quic_tls_provide(k.c.qt, NGTCP2_CRYPTO_LEVEL_HANDSHAKE, garbage, sizeof(garbage));
    TAP_INT_EQ(quic_tls_do_handshake(k.c.qt), -1, "garbage at HANDSHAKE fails the client");
    printf("# alert %u\n", quic_tls_alert(k.c.qt));
    TAP_OK(k.c.secret_len[0][NGTCP2_CRYPTO_LEVEL_HANDSHAKE] && quic_tls_alert(k.c.qt) != 0,
           "... after decrypting it, with an alert");
    conn_close(&k);

    conn_open(&k, "a.test", NULL, "\x02h3", TP_BOTH);
    TAP_OK(conn_run(&k), "handshake for the post-handshake checks");
    TAP_INT_EQ(quic_tls_provide(k.s.qt, NGTCP2_CRYPTO_LEVEL_INITIAL, garbage, 4), -1,
               "data at a level left behind is refused");
    TAP_INT_EQ(quic_tls_alert(k.s.qt), 10, "... unexpected_message");
    static const uint8_t key_update[] = { 24, 0, 0, 1, 0 };
    quic_tls_provide(k.c.qt, NGTCP2_CRYPTO_LEVEL_APPLICATION, key_update, sizeof(key_update));
    TAP_INT_EQ(quic_tls_do_handshake(k.c.qt), -1, "a KeyUpdate received is refused");
    TAP_INT_EQ(quic_tls_alert(k.c.qt), 10, "... unexpected_message");
    conn_close(&k);
}

/* ---- TCP on the same contexts ---- */

static int tcp_got_tp;

static int tcp_tp_add(SSL *ssl, unsigned int type, unsigned int context, const unsigned char **out,
                      size_t *outlen, X509 *x, size_t chainidx, int *al, void *arg)
{
    static const unsigned char tp[] = { 0x0f, 0x00 };
    *out = tp;
    *outlen = sizeof(tp);
    return 1;
}

static int tcp_tp_parse(SSL *ssl, unsigned int type, unsigned int context, const unsigned char *in,
                        size_t inlen, X509 *x, size_t chainidx, int *al, void *arg)
{
    tcp_got_tp = 1;
    return 1;
}

static void tcp_handshake(void)
{
    SSL_CTX *tctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(tctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_add_custom_ext(tctx, QUIC_TLS_EXT_TRANSPORT_PARAMS,
                           SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_3_ENCRYPTED_EXTENSIONS, tcp_tp_add,
                           NULL, NULL, tcp_tp_parse, NULL);
    struct tls_hello hello = { .table = table };
    SSL *s = tls_server_ssl_new(&hello);
    SSL *c = SSL_new(tctx);
    BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
    BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(s_in, -1);
    BIO_set_mem_eof_return(c_in, -1);
    SSL_set_bio(s, s_in, s_out);
    SSL_set_bio(c, c_in, c_out);
    SSL_set_connect_state(c);
    SSL_set_tlsext_host_name(c, "a.test");
    int done = 0;
    for (int i = 0; i < 10 && !done; i++) {
        int cr = SSL_do_handshake(c);
        shuttle(c_out, s_in);
        int sr = SSL_do_handshake(s);
        shuttle(s_out, c_in);
        done = cr == 1 && sr == 1;
    }
    TAP_OK(done, "TCP handshake (no bridge) on the same server contexts");
    TAP_OK(SSL_get_SSL_CTX(s) == app_a && quic_tls_get(s) == NULL, "... on the app context");
    TAP_INT_EQ(tcp_got_tp, 0, "... the server ignored the client's 0x39 and sent none");
    /* application data still flows as ordinary records */
    char b[4] = "";
    SSL_write(s, "ping", 4);
    shuttle(s_out, c_in);
    TAP_INT_EQ(SSL_read(c, b, 4), 4, "... and records flow as usual");
    ERR_clear_error();
    SSL_free(c);
    SSL_free(s);
    SSL_CTX_free(tctx);
}

int main(void)
{
    TAP_OK(tls_server_init() == 0, "TLS set up");
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    cert = self_signed("a.test");
    app_a = h3_site("a.test", 0);
    app_m = h3_site("m.test", 1);
    TAP_OK(app_a && app_m, "app contexts");
    table = sni_table_new(2);
    unsigned char digest[32] = { 0 };
    sni_table_add(table, "a.test", app_a, false, digest);
    sni_table_add(table, "m.test", app_m, true, digest);
    sni_table_seal(table);

    /* the front context is server.c's: reach it through a connection */
    struct tls_hello probe_hello = { 0 };
    SSL *probe = tls_server_ssl_new(&probe_hello);
    TAP_OK(probe && quic_tls_ctx_prepare(SSL_get_SSL_CTX(probe)) == 0 &&
               quic_tls_ctx_prepare(app_a) == 0 && quic_tls_ctx_prepare(app_m) == 0,
           "front and app contexts prepared");
    TAP_INT_EQ(quic_tls_ctx_prepare(app_a), 0, "preparing twice is harmless");
    SSL_free(probe);

    cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
    SSL_CTX_set1_groups_list(cctx, tls_groups_list());
    TAP_INT_EQ(quic_tls_ctx_prepare(cctx), 0, "client context prepared");

    SSL_SESSION *session = NULL;
    full_handshake(&session);
    resumed_handshake(session);
    SSL_SESSION_free(session);
    every_suite();
    hello_retry();
    mutual_tls();
    failures();
    tcp_handshake();

    SSL_CTX_free(cctx);
    SSL_CTX_free(app_a);
    SSL_CTX_free(app_m);
    sni_table_unref(table);
    X509_free(cert);
    EVP_PKEY_free(key);
    tls_server_free();
    return tap_done();
}
