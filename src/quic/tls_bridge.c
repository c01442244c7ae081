#include "quic/tls_bridge.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "quic/tls_record.h"

#define ALERT_UNEXPECTED_MESSAGE 10
#define ALERT_INTERNAL_ERROR 80
#define HS_SERVER_HELLO 2
#define HS_KEY_UPDATE 24
#define LEVELS 3 /* INITIAL, HANDSHAKE, APPLICATION: the levels CRYPTO data comes at */

struct quic_tls {
    SSL *ssl;
    const struct quic_tls_ops *ops;
    void *arg;
    BIO *rbio; /* the SSL's */
    bool server;
    bool failed; /* nothing more goes out; do_handshake returns -1 */
    bool done;
    uint8_t alert;
    ngtcp2_crypto_level write_level; /* of the handshake messages OpenSSL writes now */
    ngtcp2_crypto_level read_level;  /* of the records OpenSSL expects now */
    struct tls_record_key rkey;      /* read_level's (unset at INITIAL) */
    struct buf pending[LEVELS];      /* CRYPTO data waiting for its level's read secret */
    uint8_t *local_tp, *peer_tp;
    size_t local_tp_len, peer_tp_len;
    bool local_tp_set, peer_tp_set;
};

/* What each context remembers: the keylog callback we took the place of. */
struct ctx_data {
    SSL_CTX_keylog_cb_func prev;
};

static int ssl_idx = -1, ctx_idx = -1;

static void ctx_data_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                          void *argp)
{
    free(ptr);
}

static void indexes_make(void)
{
    ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ctx_data_free);
}

static int indexes(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, indexes_make);
    return ssl_idx >= 0 && ctx_idx >= 0 ? 0 : -1;
}

struct quic_tls *quic_tls_get(const SSL *ssl)
{
    return ssl_idx >= 0 ? SSL_get_ex_data(ssl, ssl_idx) : NULL;
}

uint8_t quic_tls_alert(const struct quic_tls *qt)
{
    return qt->alert;
}

/* Ends the handshake with alert (0: none); the first reason stays. */
static void fail(struct quic_tls *qt, uint8_t alert)
{
    if (qt->failed)
        return;
    qt->failed = true;
    qt->alert = alert;
    if (alert && qt->ops->alert)
        qt->ops->alert(qt->arg, alert);
}

/* ---- CRYPTO data in: records for OpenSSL's read BIO ---- */

static int feed(struct quic_tls *qt, const uint8_t *data, size_t len)
{
    uint8_t rec[TLS_RECORD_HEADER + TLS_RECORD_MAX_PLAIN + 1 + 16];
    while (len > 0) {
        size_t n = len < TLS_RECORD_MAX_PLAIN ? len : TLS_RECORD_MAX_PLAIN;
        long w = tls_record_write(&qt->rkey, TLS_RECORD_TYPE_HANDSHAKE, data, n, rec);
        if (w < 0 || BIO_write(qt->rbio, rec, (int)w) != (int)w) {
            fail(qt, ALERT_INTERNAL_ERROR);
            return -1;
        }
        data += n;
        len -= n;
    }
    return 0;
}

static void pending_drop(struct buf *q)
{
    buf_consume(q, q->len);
    buf_release(q);
}

int quic_tls_provide(struct quic_tls *qt, ngtcp2_crypto_level level, const uint8_t *data,
                     size_t len)
{
    if (qt->failed)
        return -1;
    if (len == 0)
        return 0;
    if (level >= LEVELS || level < qt->read_level) {
        fail(qt, ALERT_UNEXPECTED_MESSAGE);
        return -1;
    }
    if (level == qt->read_level)
        return feed(qt, data, len);
    /* at most BUF_MAX bytes wait: more than any honest flight */
    struct buf *q = &qt->pending[level];
    if (buf_reserve(q, len) < 0) {
        fail(qt, ALERT_INTERNAL_ERROR);
        return -1;
    }
    memcpy(buf_data(q) + q->len, data, len);
    q->len += len;
    return 0;
}

/* OpenSSL now expects records of level: seal what waited for it. */
static int read_level_set(struct quic_tls *qt, ngtcp2_crypto_level level,
                          const struct tls13_suite *suite, const uint8_t *secret, size_t len)
{
    if (level >= LEVELS || level <= qt->read_level ||
        tls_record_key_set(&qt->rkey, suite, secret, len) < 0)
        return -1;
    qt->read_level = level;
    struct buf *q = &qt->pending[level];
    int rc = q->len ? feed(qt, (const uint8_t *)buf_data(q), q->len) : 0;
    pending_drop(q);
    return rc;
}

/* ---- transport parameters and ALPN ---- */

/* Replaces *dst (of the bridge) with a copy of p[0..n). Returns 0 or -1. */
static int bytes_set(uint8_t **dst, size_t *dst_len, const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return -1;
    if (n)
        memcpy(copy, p, n);
    free(*dst);
    *dst = copy;
    *dst_len = n;
    return 0;
}

int quic_tls_set_local_transport_params(struct quic_tls *qt, const uint8_t *p, size_t n)
{
    if (bytes_set(&qt->local_tp, &qt->local_tp_len, p, n) < 0)
        return -1;
    qt->local_tp_set = true;
    return 0;
}

const uint8_t *quic_tls_peer_transport_params(struct quic_tls *qt, size_t *n)
{
    *n = qt->peer_tp_len;
    return qt->peer_tp_set ? qt->peer_tp : NULL;
}

static int tp_add(SSL *ssl, unsigned int type, unsigned int context, const unsigned char **out,
                  size_t *outlen, X509 *x, size_t chainidx, int *al, void *add_arg)
{
    struct quic_tls *qt = quic_tls_get(ssl);
    if (!qt || !qt->local_tp_set)
        return 0; /* TCP, or nothing to say: the extension is left out */
    *out = qt->local_tp;
    *outlen = qt->local_tp_len;
    return 1;
}

static int tp_parse(SSL *ssl, unsigned int type, unsigned int context, const unsigned char *in,
                    size_t inlen, X509 *x, size_t chainidx, int *al, void *parse_arg)
{
    struct quic_tls *qt = quic_tls_get(ssl);
    if (!qt)
        return 1; /* a TCP client may send anything: ignored */
    if (bytes_set(&qt->peer_tp, &qt->peer_tp_len, in, inlen) < 0) {
        *al = SSL_AD_INTERNAL_ERROR;
        return 0;
    }
    qt->peer_tp_set = true;
    return 1;
}

/* What a QUIC peer must have sent by the time the handshake goes on past
 * its hello (RFC 9001 8.1, 8.2). Returns false after failing. */
static bool peer_hello_checked(struct quic_tls *qt)
{
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    if (!qt->peer_tp_set) {
        fail(qt, QUIC_TLS_ALERT_MISSING_EXTENSION);
        return false;
    }
    SSL_get0_alpn_selected(qt->ssl, &alpn, &alpn_len);
    if (alpn_len == 0) {
        fail(qt, QUIC_TLS_ALERT_NO_APPLICATION_PROTOCOL);
        return false;
    }
    return true;
}

/* ---- secrets: the keylog callback ---- */

static const struct {
    const char *label;
    ngtcp2_crypto_level level;
    bool client; /* the client's writing secret */
} secret_labels[] = {
    { "CLIENT_EARLY_TRAFFIC_SECRET", NGTCP2_CRYPTO_LEVEL_EARLY, true },
    { "CLIENT_HANDSHAKE_TRAFFIC_SECRET", NGTCP2_CRYPTO_LEVEL_HANDSHAKE, true },
    { "SERVER_HANDSHAKE_TRAFFIC_SECRET", NGTCP2_CRYPTO_LEVEL_HANDSHAKE, false },
    { "CLIENT_TRAFFIC_SECRET_0", NGTCP2_CRYPTO_LEVEL_APPLICATION, true },
    { "SERVER_TRAFFIC_SECRET_0", NGTCP2_CRYPTO_LEVEL_APPLICATION, false },
};

/* "LABEL <client_random> <secret>" (NSS key log format): the label's index
 * and the secret. Returns the index, or -1 for lines of no interest. */
static int keylog_parse(const char *line, uint8_t *secret, size_t *len)
{
    const char *sp = strchr(line, ' ');
    const char *hex = sp ? strchr(sp + 1, ' ') : NULL;
    if (!hex)
        return -1;
    int found = -1;
    for (size_t i = 0; i < sizeof(secret_labels) / sizeof(secret_labels[0]); i++)
        if (strlen(secret_labels[i].label) == (size_t)(sp - line) &&
            memcmp(line, secret_labels[i].label, (size_t)(sp - line)) == 0)
            found = (int)i;
    if (found < 0)
        return -1;
    if (OPENSSL_hexstr2buf_ex(secret, TLS13_MAX_SECRET, len, hex + 1, '\0') != 1 || *len == 0)
        return -1;
    return found;
}

/* The suite the secret belongs to: the negotiated one once the ServerHello
 * is out/in (pending), the resumed session's for early data. */
static const struct tls13_suite *suite_of(SSL *ssl)
{
    const SSL_CIPHER *c = SSL_get_pending_cipher(ssl);
    if (!c)
        c = SSL_get_current_cipher(ssl);
    if (!c && SSL_get_session(ssl))
        c = SSL_SESSION_get0_cipher(SSL_get_session(ssl));
    return c ? tls13_suite_find((uint16_t)SSL_CIPHER_get_id(c)) : NULL;
}

static void secret_known(struct quic_tls *qt, int which, const uint8_t *secret, size_t len)
{
    ngtcp2_crypto_level level = secret_labels[which].level;
    int write = secret_labels[which].client != qt->server;
    const struct tls13_suite *suite = suite_of(qt->ssl);
    if (!suite) {
        fail(qt, ALERT_INTERNAL_ERROR);
        return;
    }
    if (level == NGTCP2_CRYPTO_LEVEL_EARLY) {
        fail(qt, ALERT_INTERNAL_ERROR); /* 0-RTT is never offered nor accepted */
        return;
    }
    if (write)
        qt->write_level = level;
    else if (read_level_set(qt, level, suite, secret, len) < 0) {
        fail(qt, ALERT_INTERNAL_ERROR);
        return;
    }
    if (qt->ops->secret(qt->arg, level, write, suite, secret, len) != 0) {
        fail(qt, ALERT_INTERNAL_ERROR);
        return;
    }
    /* the client is past the server's Finished: the server's
     * EncryptedExtensions must have brought what QUIC needs */
    if (!qt->server && !write && level == NGTCP2_CRYPTO_LEVEL_APPLICATION)
        peer_hello_checked(qt);
}

static void keylog(const SSL *ssl, const char *line)
{
    SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
    struct ctx_data *cd = SSL_CTX_get_ex_data(ctx, ctx_idx);
    if (cd && cd->prev)
        cd->prev(ssl, line);
    struct quic_tls *qt = quic_tls_get(ssl);
    if (!qt || qt->failed)
        return;
    uint8_t secret[TLS13_MAX_SECRET];
    size_t len = 0;
    int which = keylog_parse(line, secret, &len);
    if (which >= 0)
        secret_known(qt, which, secret, len);
    OPENSSL_cleanse(secret, sizeof(secret));
}

/* ---- handshake bytes out: the message callback ---- */

/* SHA-256("HelloRetryRequest"), the random of a HelloRetryRequest */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static bool is_real_server_hello(const uint8_t *m, size_t len)
{
    /* type(1) length(3) legacy_version(2) random(32) */
    return len >= 38 && m[0] == HS_SERVER_HELLO && memcmp(m + 6, hrr_random, 32) != 0;
}

static void message(int write_p, int version, int content_type, const void *buf, size_t len,
                    SSL *ssl, void *arg)
{
    struct quic_tls *qt = quic_tls_get(ssl);
    const uint8_t *m = buf;
    if (!qt || qt->failed || len == 0)
        return;
    if (content_type == SSL3_RT_ALERT && write_p && len >= 2) {
        if (m[0] == SSL3_AL_FATAL)
            fail(qt, m[1]);
        return;
    }
    if (content_type != SSL3_RT_HANDSHAKE)
        return; /* record headers, inner content types, ChangeCipherSpec */
    if (!write_p) {
        if (m[0] == HS_KEY_UPDATE) /* RFC 9001 6 */
            fail(qt, ALERT_UNEXPECTED_MESSAGE);
        return;
    }
    /* the server is past the ClientHello: it must have brought what QUIC
     * needs (checked before the ServerHello leaves) */
    if (qt->server && is_real_server_hello(m, len) && !peer_hello_checked(qt))
        return;
    if (qt->ops->crypto_data(qt->arg, qt->write_level, m, len) != 0)
        fail(qt, ALERT_INTERNAL_ERROR);
}

/* ---- set-up ---- */

int quic_tls_ctx_prepare(SSL_CTX *ctx)
{
    if (indexes() < 0)
        return -1;
    if (SSL_CTX_get_keylog_callback(ctx) == keylog)
        return 0;
    struct ctx_data *cd = calloc(1, sizeof(*cd));
    if (!cd)
        return -1;
    cd->prev = SSL_CTX_get_keylog_callback(ctx);
    if (SSL_CTX_add_custom_ext(ctx, QUIC_TLS_EXT_TRANSPORT_PARAMS,
                               SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_3_ENCRYPTED_EXTENSIONS, tp_add,
                               NULL, NULL, tp_parse, NULL) != 1 ||
        SSL_CTX_set_ex_data(ctx, ctx_idx, cd) != 1) {
        free(cd);
        return -1;
    }
    SSL_CTX_set_keylog_callback(ctx, keylog);
    return 0;
}

struct quic_tls *quic_tls_new(SSL *ssl, int server, const struct quic_tls_ops *ops, void *arg)
{
    if (indexes() < 0)
        return NULL;
    struct quic_tls *qt = calloc(1, sizeof(*qt));
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_null());
    if (!qt || !rbio || !wbio || SSL_set_ex_data(ssl, ssl_idx, qt) != 1 ||
        SSL_set_min_proto_version(ssl, TLS1_3_VERSION) != 1 ||
        SSL_set_max_proto_version(ssl, TLS1_3_VERSION) != 1) {
        free(qt);
        BIO_free(rbio);
        BIO_free(wbio);
        SSL_set_ex_data(ssl, ssl_idx, NULL);
        return NULL;
    }
    qt->ssl = ssl;
    qt->ops = ops;
    qt->arg = arg;
    qt->server = server != 0;
    qt->rbio = rbio;
    qt->write_level = qt->read_level = NGTCP2_CRYPTO_LEVEL_INITIAL;
    BIO_set_mem_eof_return(rbio, -1); /* empty means "more to come" */
    SSL_set_bio(ssl, rbio, wbio);     /* every record OpenSSL writes is dropped */
    SSL_set_msg_callback(ssl, message);
    SSL_clear_options(ssl, SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
    SSL_set_read_ahead(ssl, 0);
    SSL_set_max_early_data(ssl, 0);
    SSL_set_recv_max_early_data(ssl, 0);
    if (qt->server)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    return qt;
}

void quic_tls_free(struct quic_tls *qt)
{
    if (!qt)
        return;
    SSL_set_ex_data(qt->ssl, ssl_idx, NULL);
    SSL_set_msg_callback(qt->ssl, NULL);
    tls_record_key_clear(&qt->rkey);
    for (int i = 0; i < LEVELS; i++)
        pending_drop(&qt->pending[i]);
    free(qt->local_tp);
    free(qt->peer_tp);
    free(qt);
}

/* ---- driving OpenSSL ---- */

int quic_tls_do_handshake(struct quic_tls *qt)
{
    if (qt->failed)
        return -1;
    ERR_clear_error();
    if (!qt->done) {
        int r = SSL_do_handshake(qt->ssl);
        if (qt->failed)
            return -1;
        if (r == 1) {
            qt->done = true;
            return 1;
        }
        if (SSL_get_error(qt->ssl, r) == SSL_ERROR_WANT_READ)
            return 0;
        fail(qt, 0);
        return -1;
    }
    /* post-handshake messages (NewSessionTicket): no application data can
     * come, every record we make is a handshake one */
    uint8_t b;
    int r = SSL_read(qt->ssl, &b, 1);
    if (qt->failed)
        return -1;
    if (r > 0) {
        fail(qt, ALERT_UNEXPECTED_MESSAGE);
        return -1;
    }
    if (SSL_get_error(qt->ssl, r) == SSL_ERROR_WANT_READ)
        return 1;
    fail(qt, 0);
    return -1;
}
