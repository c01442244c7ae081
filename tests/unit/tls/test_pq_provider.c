/* Unit tests for src/tls/pq/provider.c, pq_keymgmt.c and pq_kem.c: the
 * X25519MLKEM768 key and KEM through EVP, then TLS handshakes in memory
 * between a server SSL and a client SSL (memory BIOs, the test moving the
 * bytes between them and rewriting them where a test needs it). */
#include "../tap.h"
#include "tls/pq/mlkem768.h"
#include "tls/pq/provider.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define ALERT_HANDSHAKE_FAILURE 40
#define ALERT_ILLEGAL_PARAMETER 47
#define ALERT_INTERNAL_ERROR 80

static int ours; /* the rpxy provider, not OpenSSL's built-in group */
static EVP_PKEY *cert_key;
static X509 *cert;

static void print_errors(const char *what)
{
    unsigned long e;
    char buf[256];

    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        printf("#   %s: %s\n", what, buf);
    }
}

/* A self-signed P-256 certificate for "localhost". */
static int make_cert(void)
{
    X509_NAME *name;

    cert_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    cert = X509_new();
    if (cert_key == NULL || cert == NULL)
        return -1;
    name = X509_get_subject_name(cert);
    if (!X509_set_version(cert, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) ||
        X509_gmtime_adj(X509_getm_notBefore(cert), -60) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600) == NULL ||
        !X509_set_pubkey(cert, cert_key) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
                                    -1, -1, 0) ||
        !X509_set_issuer_name(cert, name) || X509_sign(cert, cert_key, EVP_sha256()) <= 0)
        return -1;
    return 0;
}

/* ---- the key and the KEM through EVP ---- */

static void test_init(void)
{
    TAP_INT_EQ(pq_provider_init(), 0, "pq_provider_init");
    TAP_INT_EQ(pq_provider_init(), 0, "pq_provider_init again (idempotent)");
    print_errors("init");
    TAP_OK(strstr(pq_provider_description(), "rpxy provider") != NULL ||
               strstr(pq_provider_description(), "built-in") != NULL,
           "description names the implementation");
    printf("# %s\n", pq_provider_description());
    ours = strstr(pq_provider_description(), "rpxy provider") != NULL;
}

static EVP_PKEY *keygen(void)
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, PQ_GROUP_NAME, NULL);
    EVP_PKEY *pkey = NULL;

    if (pctx == NULL || EVP_PKEY_keygen_init(pctx) <= 0 ||
        EVP_PKEY_CTX_set_group_name(pctx, PQ_GROUP_NAME) <= 0 || EVP_PKEY_keygen(pctx, &pkey) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(pctx);
    return pkey;
}

/* What the server does with a client share: an empty key from paramgen, then
 * the encoded public key. Returns the key or NULL if the share is refused. */
static EVP_PKEY *peer_key(const unsigned char *share, size_t len)
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, PQ_GROUP_NAME, NULL);
    EVP_PKEY *pkey = NULL;

    if (pctx == NULL || EVP_PKEY_paramgen_init(pctx) <= 0 ||
        EVP_PKEY_CTX_set_group_name(pctx, PQ_GROUP_NAME) <= 0 ||
        EVP_PKEY_paramgen(pctx, &pkey) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(pctx);
    if (pkey != NULL && EVP_PKEY_set1_encoded_public_key(pkey, share, len) <= 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

static int x25519(const unsigned char *priv, const unsigned char *pub, unsigned char out[32])
{
    EVP_PKEY *a = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, 32);
    EVP_PKEY *b = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, pub, 32);
    EVP_PKEY_CTX *ctx = a != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, a, NULL) : NULL;
    size_t len = 32;
    int ok = b != NULL && ctx != NULL && EVP_PKEY_derive_init(ctx) > 0 &&
             EVP_PKEY_derive_set_peer(ctx, b) > 0 && EVP_PKEY_derive(ctx, out, &len) > 0 &&
             len == 32;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    return ok ? 0 : -1;
}

static void test_evp_kem(void)
{
    EVP_PKEY *client = keygen(), *server = NULL;
    unsigned char *share = NULL, ct[PQ_SERVER_SHARE_BYTES], ss_enc[PQ_SECRET_BYTES];
    unsigned char ss_dec[PQ_SECRET_BYTES], ss_ml[32], ss_x[32];
    size_t share_len = 0, ct_len = 0, ss_len = 0;
    EVP_PKEY_CTX *ectx = NULL, *dctx = NULL;
    OSSL_PARAM *exported = NULL;
    const OSSL_PARAM *priv;

    TAP_OK(client != NULL, "EVP keygen of X25519MLKEM768");
    if (client == NULL) {
        print_errors("keygen");
        return;
    }
    TAP_INT_EQ(EVP_PKEY_get_security_bits(client), 192, "security bits");
    TAP_INT_EQ(EVP_PKEY_get_size(client), PQ_SERVER_SHARE_BYTES, "size = server share");
    TAP_OK(EVP_PKEY_is_a(client, PQ_GROUP_NAME), "EVP_PKEY_is_a X25519MLKEM768");
    share_len = EVP_PKEY_get1_encoded_public_key(client, &share);
    TAP_INT_EQ(share_len, 1216, "client share is 1216 bytes");

    server = share_len == 1216 ? peer_key(share, share_len) : NULL;
    TAP_OK(server != NULL, "server side accepts the 1216-byte share");
    ectx = server != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, server, NULL) : NULL;
    TAP_OK(ectx != NULL && EVP_PKEY_encapsulate_init(ectx, NULL) > 0 &&
               EVP_PKEY_encapsulate(ectx, NULL, &ct_len, NULL, &ss_len) > 0,
           "encapsulate: size query");
    TAP_INT_EQ(ct_len, 1120, "server share is 1120 bytes");
    TAP_INT_EQ(ss_len, 64, "shared secret is 64 bytes");
    ct_len = sizeof(ct);
    ss_len = sizeof(ss_enc);
    TAP_OK(ectx != NULL && EVP_PKEY_encapsulate(ectx, ct, &ct_len, ss_enc, &ss_len) > 0,
           "encapsulate");

    dctx = EVP_PKEY_CTX_new_from_pkey(NULL, client, NULL);
    ss_len = 0;
    TAP_OK(dctx != NULL && EVP_PKEY_decapsulate_init(dctx, NULL) > 0 &&
               EVP_PKEY_decapsulate(dctx, NULL, &ss_len, ct, sizeof(ct)) > 0 && ss_len == 64,
           "decapsulate: size query");
    ss_len = sizeof(ss_dec);
    TAP_OK(dctx != NULL && EVP_PKEY_decapsulate(dctx, ss_dec, &ss_len, ct, sizeof(ct)) > 0 &&
               memcmp(ss_dec, ss_enc, sizeof(ss_enc)) == 0,
           "decapsulate gives the same 64-byte secret");
    ss_len = sizeof(ss_dec);
    TAP_OK(dctx != NULL && EVP_PKEY_decapsulate(dctx, ss_dec, &ss_len, ct, sizeof(ct) - 1) <= 0,
           "decapsulate refuses a 1119-byte server share");
    ERR_clear_error();

    /* The order of the secret: ML-KEM first, then X25519 (checked through
     * this provider's export format: dk || X25519 private). */
    TAP_OK(
        !ours ||
            (EVP_PKEY_todata(client, EVP_PKEY_KEYPAIR, &exported) > 0 &&
             (priv = OSSL_PARAM_locate_const(exported, OSSL_PKEY_PARAM_PRIV_KEY)) != NULL &&
             priv->data_size == MLKEM768_DK_BYTES + 32 &&
             mlkem768_decaps(ss_ml, priv->data, MLKEM768_DK_BYTES, ct, MLKEM768_CT_BYTES) == 0 &&
             x25519((const unsigned char *)priv->data + MLKEM768_DK_BYTES, ct + 1088, ss_x) == 0 &&
             memcmp(ss_enc, ss_ml, 32) == 0 && memcmp(ss_enc + 32, ss_x, 32) == 0),
        "secret = ML-KEM ss || X25519 ss");
    OSSL_PARAM_free(exported);

    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_CTX_free(ectx);
    EVP_PKEY_free(server);

    /* Shares the server must refuse. */
    server = peer_key(share, share_len - 1);
    TAP_OK(server == NULL, "1215-byte share refused");
    EVP_PKEY_free(server);
    unsigned char *bad = malloc(share_len + 1);
    memcpy(bad, share, share_len);
    bad[share_len] = 0;
    server = peer_key(bad, share_len + 1);
    TAP_OK(server == NULL, "1217-byte share refused");
    EVP_PKEY_free(server);
    bad[0] = 0x01; /* coefficient 0 = 0xd01 = 3329 = q */
    bad[1] = (unsigned char)((bad[1] & 0xf0) | 0x0d);
    server = peer_key(bad, share_len);
    TAP_OK(server == NULL, "share with a coefficient = q refused (modulus check)");
    EVP_PKEY_free(server);
    bad[0] = 0x00; /* coefficient 0 = 0xd00 = 3328 = q - 1 */
    server = peer_key(bad, share_len);
    TAP_OK(server != NULL, "share with a coefficient = q - 1 accepted");
    EVP_PKEY_free(server);
    memcpy(bad, share, share_len);
    bad[1151] |= 0xf0; /* the last coefficient: its top 4 bits set, >= 3840 */
    server = peer_key(bad, share_len);
    TAP_OK(server == NULL, "share with the last coefficient >= q refused");
    EVP_PKEY_free(server);
    ERR_clear_error();
    free(bad);
    OPENSSL_free(share);
    EVP_PKEY_free(client);
}

/* ---- TLS in memory ---- */

/* Rewrites bytes in flight; returns the new length. */
typedef size_t (*tamper_fn)(unsigned char *buf, size_t len);

struct conf {
    const char *server_groups;
    const char *client_groups;
    int server_max; /* 0: TLS 1.3 */
    int client_max;
    tamper_fn c2s; /* applied to what the client sends, or NULL */
    tamper_fn s2c; /* applied to what the server sends, or NULL */
};

struct pair {
    SSL *c, *s;
    BIO *c_in, *c_out, *s_in, *s_out;
    int client_hellos;               /* counted by the server's message callback */
    unsigned char server_out[16384]; /* the first bytes the server sent */
    size_t server_out_len;
    unsigned char client_out[16384]; /* the first bytes the client sent */
    size_t client_out_len;
};

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                   SSL *ssl, void *arg)
{
    const unsigned char *p = buf;

    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 && p[0] == SSL3_MT_CLIENT_HELLO)
        ((struct pair *)arg)->client_hellos++;
}

static SSL_CTX *make_ctx(int server, const char *groups, int max_version)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

    if (ctx == NULL || !SSL_CTX_set1_groups_list(ctx, groups) ||
        !SSL_CTX_set_max_proto_version(ctx, max_version) ||
        (server &&
         (!SSL_CTX_use_certificate(ctx, cert) || !SSL_CTX_use_PrivateKey(ctx, cert_key)))) {
        print_errors("SSL_CTX");
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static BIO *mem_bio(void)
{
    BIO *b = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(b, -1); /* empty means "retry", not EOF */
    return b;
}

static int pair_init(struct pair *p, SSL_CTX *sctx, SSL_CTX *cctx)
{
    memset(p, 0, sizeof(*p));
    p->c = SSL_new(cctx);
    p->s = SSL_new(sctx);
    if (p->c == NULL || p->s == NULL)
        return -1;
    p->c_in = mem_bio();
    p->c_out = mem_bio();
    p->s_in = mem_bio();
    p->s_out = mem_bio();
    SSL_set_bio(p->c, p->c_in, p->c_out);
    SSL_set_bio(p->s, p->s_in, p->s_out);
    SSL_set_connect_state(p->c);
    SSL_set_accept_state(p->s);
    SSL_set_msg_callback(p->s, msg_cb);
    SSL_set_msg_callback_arg(p->s, p);
    return 0;
}

static void pair_free(struct pair *p)
{
    SSL_free(p->c);
    SSL_free(p->s);
}

/* Moves what is pending in from to to, rewriting it with fn if given and
 * keeping the first bytes in log. Returns the number of bytes moved. */
static size_t shuttle(BIO *from, BIO *to, tamper_fn fn, unsigned char *log, size_t *log_len)
{
    size_t pending = BIO_ctrl_pending(from), n;
    unsigned char *buf;

    if (pending == 0)
        return 0;
    buf = malloc(pending + 64);
    n = (size_t)BIO_read(from, buf, (int)pending);
    if (fn != NULL)
        n = fn(buf, n);
    if (log != NULL && *log_len < 16384) {
        size_t room = 16384 - *log_len, k = n < room ? n : room;
        memcpy(log + *log_len, buf, k);
        *log_len += k;
    }
    BIO_write(to, buf, (int)n);
    free(buf);
    return n;
}

/* Whether a handshake call failed for good. Call it right after the call:
 * moving bytes into the BIO clears its retry flags. */
static int side_failed(SSL *ssl, int rc)
{
    if (rc == 1)
        return 0;
    int err = SSL_get_error(ssl, rc);
    return err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE;
}

/* Runs the handshake. Returns 1 when both sides finished, 0 when one failed
 * (the error queue is cleared). */
static int handshake(struct pair *p, tamper_fn c2s, tamper_fn s2c)
{
    for (int round = 0; round < 16; round++) {
        int rc_c = SSL_do_handshake(p->c);
        int failed = side_failed(p->c, rc_c);
        size_t moved = shuttle(p->c_out, p->s_in, c2s, p->client_out, &p->client_out_len);
        int rc_s = SSL_do_handshake(p->s);
        failed |= side_failed(p->s, rc_s);
        moved += shuttle(p->s_out, p->c_in, s2c, p->server_out, &p->server_out_len);
        if (rc_c == 1 && rc_s == 1)
            return 1;
        if (failed) {
            /* let the alert reach the other side */
            SSL_do_handshake(p->c);
            ERR_clear_error();
            return 0;
        }
        if (moved == 0 && round > 0)
            break;
    }
    ERR_clear_error();
    return 0;
}

/* Application data both ways. */
static int exchange(struct pair *p)
{
    char buf[64];
    int n;

    if (SSL_write(p->c, "ping from client", 16) != 16)
        return 0;
    shuttle(p->c_out, p->s_in, NULL, NULL, NULL);
    n = SSL_read(p->s, buf, sizeof(buf));
    if (n != 16 || memcmp(buf, "ping from client", 16) != 0)
        return 0;
    if (SSL_write(p->s, "pong from server", 16) != 16)
        return 0;
    shuttle(p->s_out, p->c_in, NULL, NULL, NULL);
    n = SSL_read(p->c, buf, sizeof(buf));
    return n == 16 && memcmp(buf, "pong from server", 16) == 0;
}

/* The first alert record in bytes (plaintext only), or -1. */
static int first_alert(const unsigned char *b, size_t len)
{
    size_t off = 0;

    while (off + 5 <= len) {
        size_t rlen = (size_t)b[off + 3] << 8 | b[off + 4];
        if (b[off] == SSL3_RT_ALERT && rlen == 2 && off + 7 <= len)
            return b[off + 6];
        off += 5 + rlen;
    }
    return -1;
}

static const unsigned char *find(const unsigned char *hay, size_t len, const unsigned char *needle,
                                 size_t nlen)
{
    for (size_t i = 0; i + nlen <= len; i++)
        if (memcmp(hay + i, needle, nlen) == 0)
            return hay + i;
    return NULL;
}

static const unsigned char client_share_hdr[] = { 0x11, 0xec, 0x04, 0xc0 }; /* 0x11EC, 1216 */
static const unsigned char server_share_hdr[] = { 0x11, 0xec, 0x04, 0x60 }; /* 0x11EC, 1120 */

static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static void add16(unsigned char *p, int delta)
{
    unsigned v = get16(p) + (unsigned)delta;
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

/* Finds extension type in the ClientHello record at the start of buf: sets
 * *at to the offset of its 4-byte header and *exts_at to the offset of the
 * extensions' length. Returns 0, or -1 if buf does not start with a
 * ClientHello or it has no such extension. */
static int ch_extension(const unsigned char *buf, size_t len, unsigned type, size_t *at,
                        size_t *exts_at)
{
    size_t off = 9 + 2 + 32, end; /* record and handshake headers, version, random */

    if (len < off + 1 || buf[0] != SSL3_RT_HANDSHAKE || buf[5] != SSL3_MT_CLIENT_HELLO)
        return -1;
    off += 1 + buf[off]; /* session id */
    if (off + 2 > len)
        return -1;
    off += 2 + get16(buf + off); /* cipher suites */
    if (off + 1 > len)
        return -1;
    off += 1 + buf[off]; /* compression */
    if (off + 2 > len)
        return -1;
    *exts_at = off;
    end = off + 2 + get16(buf + off);
    if (end > len)
        return -1;
    for (off += 2; off + 4 <= end; off += 4 + get16(buf + off + 2)) {
        if (get16(buf + off) == type) {
            *at = off;
            return 0;
        }
    }
    return -1;
}

/* Whether the ClientHello's supported_groups lists X25519MLKEM768. */
static int ch_lists_hybrid(const unsigned char *buf, size_t len)
{
    size_t at, exts_at;

    if (ch_extension(buf, len, 0x000a, &at, &exts_at) != 0)
        return 0;
    size_t n = get16(buf + at + 4);
    for (size_t i = 0; i + 2 <= n && at + 6 + i + 2 <= len; i += 2)
        if (get16(buf + at + 6 + i) == PQ_GROUP_ID)
            return 1;
    return 0;
}

/* The TLS group id the connection used: the provider's groups come back from
 * SSL_get_negotiated_group as TLSEXT_nid_unknown | id. */
static int negotiated_group(SSL *ssl)
{
    /* OpenSSL 3.0 reads the session's group: none before a ServerHello. */
    return SSL_get_session(ssl) != NULL ? SSL_get_negotiated_group(ssl) : 0;
}

static int group_is_hybrid(SSL *ssl)
{
    int nid = negotiated_group(ssl);
    return (nid & TLSEXT_nid_unknown) != 0 && (nid & 0xffff) == PQ_GROUP_ID;
}

static void test_hybrid(void)
{
    SSL_CTX *sctx = make_ctx(1, PQ_GROUPS_LIST, 0), *cctx = make_ctx(0, PQ_GROUPS_LIST, 0);
    struct pair p;
    SSL_SESSION *sess = NULL;

    if (sctx == NULL || cctx == NULL || pair_init(&p, sctx, cctx) != 0) {
        TAP_OK(0, "hybrid: set-up");
        SSL_CTX_free(sctx);
        SSL_CTX_free(cctx);
        return;
    }
    TAP_OK(handshake(&p, NULL, NULL), "hybrid: handshake with PQ_GROUPS_LIST on both sides");
    TAP_OK(group_is_hybrid(p.s), "hybrid: server negotiated 0x11EC");
    TAP_OK(group_is_hybrid(p.c), "hybrid: client negotiated 0x11EC");
    TAP_STR_EQ(SSL_group_to_name(p.c, SSL_get_negotiated_group(p.c)), "X25519MLKEM768",
               "hybrid: SSL_group_to_name");
    TAP_STR_EQ(SSL_get_version(p.c), "TLSv1.3", "hybrid: TLS 1.3");
    TAP_INT_EQ(p.client_hellos, 1, "hybrid: no HelloRetryRequest");
    TAP_OK(find(p.client_out, p.client_out_len, client_share_hdr, 4) != NULL,
           "hybrid: ClientHello carries 11 EC 04 C0 (1216-byte share)");
    TAP_OK(find(p.server_out, p.server_out_len, server_share_hdr, 4) != NULL,
           "hybrid: ServerHello carries 11 EC 04 60 (1120-byte share)");
    TAP_OK(exchange(&p), "hybrid: application data both ways");
    sess = SSL_get1_session(p.c); /* the ticket came with the server's data */
    /* Freed without close_notify, OpenSSL would mark the session not
     * resumable. */
    SSL_shutdown(p.c);
    pair_free(&p);

    /* Resumption (psk_dhe_ke): a fresh hybrid exchange again. */
    if (sess != NULL && pair_init(&p, sctx, cctx) == 0) {
        SSL_set_session(p.c, sess);
        TAP_OK(handshake(&p, NULL, NULL), "hybrid: resumed handshake");
        TAP_INT_EQ(SSL_session_reused(p.c), 1, "hybrid: session reused");
        TAP_OK(group_is_hybrid(p.c), "hybrid: resumption keys with 0x11EC too");
        TAP_OK(exchange(&p), "hybrid: resumed data both ways");
        pair_free(&p);
    } else {
        TAP_OK(0, "hybrid: session for resumption");
    }
    SSL_SESSION_free(sess);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}

/* One handshake between the two configurations; returns 1 on success and
 * fills *p's observations (the SSLs are freed). */
struct outcome {
    int ok;
    int hybrid;
    int nid;
    int version;
    int client_hellos;
    int server_alert;
    int client_alert;
    int offered_hybrid; /* the (first) ClientHello lists 0x11EC */
};

static struct outcome run(const struct conf *cf)
{
    struct outcome o = { 0, 0, 0, 0, 0, -1, -1, 0 };
    SSL_CTX *sctx = make_ctx(1, cf->server_groups, cf->server_max);
    SSL_CTX *cctx = make_ctx(0, cf->client_groups, cf->client_max);
    struct pair *p = calloc(1, sizeof(*p));

    if (sctx != NULL && cctx != NULL && pair_init(p, sctx, cctx) == 0) {
        o.ok = handshake(p, cf->c2s, cf->s2c) && exchange(p);
        o.hybrid = group_is_hybrid(p->s);
        o.nid = negotiated_group(p->s);
        o.version = SSL_version(p->s);
        o.client_hellos = p->client_hellos;
        o.server_alert = first_alert(p->server_out, p->server_out_len);
        o.client_alert = first_alert(p->client_out, p->client_out_len);
        o.offered_hybrid = ch_lists_hybrid(p->client_out, p->client_out_len);
    }
    pair_free(p);
    free(p);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    ERR_clear_error();
    return o;
}

static void test_classical(void)
{
    const struct conf x = { .server_groups = PQ_GROUPS_LIST, .client_groups = "X25519" };
    struct outcome o = run(&x);

    TAP_OK(o.ok, "client X25519 only: handshake");
    TAP_INT_EQ(o.nid, NID_X25519, "client X25519 only: X25519");
    TAP_OK(!o.hybrid, "client X25519 only: not the hybrid");

    const struct conf p256 = { .server_groups = PQ_GROUPS_LIST, .client_groups = "P-256" };
    o = run(&p256);
    TAP_OK(o.ok && o.nid == NID_X9_62_prime256v1, "client P-256 only: secp256r1");
}

static void test_no_common_group(void)
{
    const struct conf cf = { .server_groups = "X25519:P-256", .client_groups = "X25519MLKEM768" };
    struct outcome o = run(&cf);

    TAP_OK(!o.ok, "hybrid-only client, classical server: handshake fails");
    TAP_INT_EQ(o.server_alert, ALERT_HANDSHAKE_FAILURE, "... with handshake_failure");
}

/* Server prefers the hybrid; the client lists X25519 first (so its only key
 * share is X25519) and the hybrid second. OpenSSL 3.0 servers take a
 * usable key share as is rather than asking for a preferred group by
 * HelloRetryRequest: X25519, one ClientHello. */
static void test_share_vs_preference(void)
{
    const struct conf cf = { .server_groups = PQ_GROUPS_LIST,
                             .client_groups = "X25519:X25519MLKEM768" };
    struct outcome o = run(&cf);

    TAP_OK(o.ok, "X25519 share, hybrid listed: handshake");
    TAP_INT_EQ(o.nid, NID_X25519, "X25519 share, hybrid listed: X25519 accepted");
    TAP_INT_EQ(o.client_hellos, 1, "X25519 share, hybrid listed: no HelloRetryRequest");

    /* Forcing an HRR to the hybrid: the server does not support X25519. */
    const struct conf hrr = { .server_groups = "X25519MLKEM768:P-256",
                              .client_groups = "X25519:X25519MLKEM768" };
    o = run(&hrr);
    TAP_OK(o.ok && o.hybrid, "server without X25519: HRR, then the hybrid");
    TAP_INT_EQ(o.client_hellos, 2, "server without X25519: two ClientHellos");
}

/* ---- tampered ClientHellos ---- */

static int tamper_value; /* the coefficient to write into ek[0] */
static int tamper_hits;  /* how many times a tamper function changed something */

/* Sets coefficient 0 of the ML-KEM ek in the hybrid share to tamper_value. */
static size_t tamper_coefficient(unsigned char *buf, size_t len)
{
    unsigned char *hdr = (unsigned char *)find(buf, len, client_share_hdr, 4);

    if (hdr != NULL) {
        unsigned char *ek = hdr + 4;
        ek[0] = (unsigned char)(tamper_value & 0xff);
        ek[1] = (unsigned char)((ek[1] & 0xf0) | ((tamper_value >> 8) & 0x0f));
        tamper_hits++;
    }
    return len;
}

/* Removes the last byte of the hybrid key share and fixes every enclosing
 * length (record, handshake, extensions, key_share, client_shares, entry),
 * so the ClientHello stays well formed with a 1215-byte share. */
static size_t truncate_share(unsigned char *buf, size_t len)
{
    size_t ks, exts_at;

    if (ch_extension(buf, len, 0x0033, &ks, &exts_at) != 0 || ks + 10 + 1216 > len ||
        get16(buf + ks + 6) != PQ_GROUP_ID || get16(buf + ks + 8) != 1216)
        return len;
    size_t last = ks + 10 + 1216 - 1;
    memmove(buf + last, buf + last + 1, len - last - 1);
    add16(buf + 3, -1); /* record */
    add16(buf + 7, -1); /* handshake (24-bit; the top byte is 0 here) */
    add16(buf + exts_at, -1);
    add16(buf + ks + 2, -1); /* key_share extension */
    add16(buf + ks + 4, -1); /* client_shares */
    add16(buf + ks + 8, -1); /* the entry */
    tamper_hits++;
    return len - 1;
}

/* Removes the last byte of the 1120-byte hybrid share in the ServerHello
 * and fixes the enclosing lengths (record, handshake, extensions, key_share
 * extension, entry). */
static size_t truncate_server_share(unsigned char *buf, size_t len)
{
    size_t off = 9 + 2 + 32, exts_at, end;

    if (len < off + 1 || buf[0] != SSL3_RT_HANDSHAKE || buf[5] != SSL3_MT_SERVER_HELLO)
        return len;
    off += 1 + buf[off]; /* session id */
    off += 2 + 1;        /* cipher suite, compression */
    exts_at = off;
    if (off + 2 > len)
        return len;
    end = off + 2 + get16(buf + off);
    for (off += 2; off + 4 <= end && get16(buf + off) != 0x0033; off += 4 + get16(buf + off + 2))
        ;
    if (off + 8 + 1120 > len || get16(buf + off) != 0x0033 || get16(buf + off + 4) != PQ_GROUP_ID ||
        get16(buf + off + 6) != 1120)
        return len;
    size_t last = off + 8 + 1120 - 1;
    memmove(buf + last, buf + last + 1, len - last - 1);
    add16(buf + 3, -1); /* record */
    add16(buf + 7, -1); /* handshake */
    add16(buf + exts_at, -1);
    add16(buf + off + 2, -1); /* key_share extension */
    add16(buf + off + 6, -1); /* the entry */
    tamper_hits++;
    return len - 1;
}

static void test_tampered(void)
{
    struct conf cf = { .server_groups = PQ_GROUPS_LIST,
                       .client_groups = PQ_GROUPS_LIST,
                       .c2s = tamper_coefficient };
    struct outcome o;

    tamper_value = 4095;
    tamper_hits = 0;
    o = run(&cf);
    TAP_INT_EQ(tamper_hits, 1, "ek coefficient 4095: the share was rewritten");
    TAP_OK(!o.ok, "ek coefficient 4095: handshake fails");
    TAP_INT_EQ(o.server_alert, ALERT_ILLEGAL_PARAMETER, "ek coefficient 4095: illegal_parameter");

    tamper_value = 3329;
    o = run(&cf);
    TAP_OK(!o.ok, "ek coefficient 3329 (= q): handshake fails");
    TAP_INT_EQ(o.server_alert, ALERT_ILLEGAL_PARAMETER, "ek coefficient 3329: illegal_parameter");

    /* q - 1 passes the modulus check: the server answers, but the secrets
     * differ, so the handshake dies later (not with illegal_parameter). */
    tamper_value = 3328;
    o = run(&cf);
    TAP_OK(!o.ok, "ek coefficient 3328 (valid, but not the client's key): fails later");
    TAP_OK(o.server_alert != ALERT_ILLEGAL_PARAMETER, "ek coefficient 3328: no illegal_parameter");

    cf.c2s = truncate_share;
    tamper_hits = 0;
    o = run(&cf);
    TAP_INT_EQ(tamper_hits, 1, "1215-byte share: the ClientHello was rewritten");
    TAP_OK(!o.ok, "1215-byte share: handshake fails");
    TAP_INT_EQ(o.server_alert, ALERT_ILLEGAL_PARAMETER, "1215-byte share: illegal_parameter");

    /* The client's side: a 1119-byte server share. libssl 3.0 reports every
     * decapsulation failure as internal_error (the draft asks for
     * illegal_parameter; the provider cannot choose the alert). */
    cf.c2s = NULL;
    cf.s2c = truncate_server_share;
    tamper_hits = 0;
    o = run(&cf);
    TAP_INT_EQ(tamper_hits, 1, "1119-byte server share: the ServerHello was rewritten");
    TAP_OK(!o.ok, "1119-byte server share: the client aborts");
    TAP_OK(o.client_alert == ALERT_ILLEGAL_PARAMETER || o.client_alert == ALERT_INTERNAL_ERROR,
           "1119-byte server share: illegal_parameter or internal_error");
    printf("# client alert for a 1119-byte server share: %d\n", o.client_alert);
}

/* TLS 1.2 never uses the hybrid. */
static void test_tls12(void)
{
    /* A TLS 1.2 client drops the hybrid from supported_groups; offering
     * nothing else, it has no ECDHE group and the server (an ECDSA
     * certificate, so ECDHE only) has no cipher suite left. */
    const struct conf only = { .server_groups = PQ_GROUPS_LIST,
                               .client_groups = "X25519MLKEM768",
                               .client_max = TLS1_2_VERSION };
    struct outcome o = run(&only);
    TAP_OK(!o.ok, "TLS 1.2 client offering only the hybrid: fails");
    TAP_INT_EQ(o.server_alert, ALERT_HANDSHAKE_FAILURE, "... with handshake_failure");
    TAP_OK(!o.offered_hybrid, "... its ClientHello does not list 0x11EC");

    const struct conf both = { .server_groups = PQ_GROUPS_LIST,
                               .client_groups = PQ_GROUPS_LIST,
                               .client_max = TLS1_2_VERSION };
    o = run(&both);
    TAP_OK(o.ok && o.version == TLS1_2_VERSION, "TLS 1.2 client with PQ_GROUPS_LIST: TLS 1.2");
    TAP_INT_EQ(o.nid, NID_X25519, "... with X25519");
    TAP_OK(!o.offered_hybrid, "... its ClientHello does not list 0x11EC");

    const struct conf srv = { .server_groups = PQ_GROUPS_LIST,
                              .client_groups = PQ_GROUPS_LIST,
                              .server_max = TLS1_2_VERSION };
    o = run(&srv);
    TAP_OK(o.offered_hybrid, "TLS 1.3 client lists 0x11EC");
    TAP_OK(o.ok && o.version == TLS1_2_VERSION, "TLS 1.2 server, TLS 1.3 client: TLS 1.2");
    TAP_INT_EQ(o.nid, NID_X25519, "... with X25519 (the offered hybrid ignored)");
}

static void test_many(void)
{
    const struct conf cf = { .server_groups = PQ_GROUPS_LIST, .client_groups = PQ_GROUPS_LIST };
    int good = 0;

    for (int i = 0; i < 50; i++) {
        struct outcome o = run(&cf);
        good += o.ok && o.hybrid;
    }
    TAP_INT_EQ(good, 50, "50 hybrid handshakes with data");
}

int main(void)
{
    test_init();
    if (make_cert() != 0) {
        TAP_OK(0, "test certificate");
        return tap_done();
    }
    test_evp_kem();
    test_hybrid();
    test_classical();
    test_no_common_group();
    test_share_vs_preference();
    test_tampered();
    test_tls12();
    test_many();
    X509_free(cert);
    EVP_PKEY_free(cert_key);
    print_errors("leftover");
    return tap_done();
}
