#include "acme/challenge.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "acme/jws.h"

#define MAX_PENDING 64

struct pending {
    char *name;     /* domain (TLS-ALPN-01) or token (HTTP-01) */
    SSL_CTX *ctx;   /* TLS-ALPN-01 */
    char *key_auth; /* HTTP-01 */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending tls_pending[MAX_PENDING], http_pending[MAX_PENDING];

/* id-pe-acmeIdentifier, RFC 8737 section 6.1 */
#define ACME_IDENTIFIER_OID "1.3.6.1.5.5.7.1.31"

int acme_challenge_cert(const char *domain, const char *key_auth, X509 **cert, EVP_PKEY **key)
{
    unsigned char md[32];
    /* extnValue: the DER of Authorization ::= OCTET STRING (SIZE (32)) */
    unsigned char der[2 + 32] = { 0x04, 0x20 };
    X509 *x = X509_new();
    EVP_PKEY *k = jws_key_new();
    ASN1_OBJECT *oid = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
    ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    GENERAL_NAMES *sans = GENERAL_NAMES_new();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    unsigned char serial[16];
    int ok = 0;
    if (!x || !k || !oid || !val || !sans || !gn || !ia5 ||
        EVP_Digest(key_auth, strlen(key_auth), md, NULL, EVP_sha256(), NULL) != 1)
        goto done;
    memcpy(der + 2, md, 32);
    if (ASN1_OCTET_STRING_set(val, der, sizeof(der)) != 1 ||
        !(ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, val)))
        goto done;
    if (ASN1_STRING_set(ia5, domain, (int)strlen(domain)) != 1)
        goto done;
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
    ia5 = NULL;
    if (!sk_GENERAL_NAME_push(sans, gn))
        goto done;
    gn = NULL;
    BIGNUM *bn = NULL;
    if (RAND_bytes(serial, sizeof(serial)) != 1)
        goto done;
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    int serial_ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_NAME *subject = X509_get_subject_name(x);
    if (!serial_ok || X509_set_version(x, 2) != 1 ||
        X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)domain, -1,
                                   -1, 0) != 1 ||
        X509_set_issuer_name(x, subject) != 1 || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 7 * 24 * 3600) || X509_set_pubkey(x, k) != 1 ||
        X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0, 0) != 1 ||
        X509_add_ext(x, ext, -1) != 1 || X509_sign(x, k, EVP_sha256()) <= 0)
        goto done;
    ok = 1;
done:
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(val);
    X509_EXTENSION_free(ext);
    GENERAL_NAMES_free(sans);
    GENERAL_NAME_free(gn);
    ASN1_IA5STRING_free(ia5);
    if (!ok) {
        ERR_clear_error();
        X509_free(x);
        EVP_PKEY_free(k);
        return -1;
    }
    *cert = x;
    *key = k;
    return 0;
}

/* Only acme-tls/1 (RFC 8737 section 4: the only protocol offered). */
static int alpn_acme(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                     const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char acme[] = "acme-tls/1";
    for (unsigned i = 0; i < inlen;) {
        unsigned len = in[i];
        if (i + 1 + len > inlen)
            break;
        if (len == sizeof(acme) - 1 && memcmp(in + i + 1, acme, len) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)len;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + len;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static SSL_CTX *challenge_ctx_new(const char *domain, const char *key_auth)
{
    X509 *cert;
    EVP_PKEY *key;
    if (acme_challenge_cert(domain, key_auth, &cert, &key) < 0)
        return NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
        SSL_CTX_free(ctx);
        ctx = NULL;
    } else {
        SSL_CTX_set_alpn_select_cb(ctx, alpn_acme, NULL);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    ERR_clear_error();
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctx;
}

static void pending_clear(struct pending *p)
{
    free(p->name);
    SSL_CTX_free(p->ctx);
    free(p->key_auth);
    memset(p, 0, sizeof(*p));
}

/* The slot of name, or a free one (NULL when full). Under lock. */
static struct pending *slot(struct pending *table, const char *name, size_t len, int create)
{
    struct pending *free_slot = NULL;
    for (int i = 0; i < MAX_PENDING; i++) {
        if (table[i].name && strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0)
            return &table[i];
        if (!table[i].name && !free_slot)
            free_slot = &table[i];
    }
    return create ? free_slot : NULL;
}

int acme_challenge_set_tls(const char *domain, const char *key_auth)
{
    SSL_CTX *ctx = challenge_ctx_new(domain, key_auth);
    char *name = strdup(domain);
    if (!ctx || !name) {
        SSL_CTX_free(ctx);
        free(name);
        return -1;
    }
    pthread_mutex_lock(&lock);
    struct pending *p = slot(tls_pending, domain, strlen(domain), 1);
    if (p) {
        pending_clear(p);
        p->name = name;
        p->ctx = ctx;
    }
    pthread_mutex_unlock(&lock);
    if (!p) {
        SSL_CTX_free(ctx);
        free(name);
        return -1;
    }
    return 0;
}

int acme_challenge_set_http(const char *token, const char *key_auth)
{
    char *name = strdup(token), *ka = strdup(key_auth);
    if (!name || !ka) {
        free(name);
        free(ka);
        return -1;
    }
    pthread_mutex_lock(&lock);
    struct pending *p = slot(http_pending, token, strlen(token), 1);
    if (p) {
        pending_clear(p);
        p->name = name;
        p->key_auth = ka;
    }
    pthread_mutex_unlock(&lock);
    if (!p) {
        free(name);
        free(ka);
        return -1;
    }
    return 0;
}

void acme_challenge_clear_tls(const char *domain)
{
    pthread_mutex_lock(&lock);
    struct pending *p = slot(tls_pending, domain, strlen(domain), 0);
    if (p)
        pending_clear(p);
    pthread_mutex_unlock(&lock);
}

void acme_challenge_clear_http(const char *token)
{
    pthread_mutex_lock(&lock);
    struct pending *p = slot(http_pending, token, strlen(token), 0);
    if (p)
        pending_clear(p);
    pthread_mutex_unlock(&lock);
}

SSL_CTX *acme_challenge_ctx(const char *sni)
{
    SSL_CTX *ctx = NULL;
    pthread_mutex_lock(&lock);
    struct pending *p = slot(tls_pending, sni, strlen(sni), 0);
    if (p && SSL_CTX_up_ref(p->ctx) == 1)
        ctx = p->ctx;
    pthread_mutex_unlock(&lock);
    return ctx;
}

long acme_challenge_http(const char *token, size_t token_len, char *out, size_t cap)
{
    long n = -1;
    pthread_mutex_lock(&lock);
    struct pending *p = slot(http_pending, token, token_len, 0);
    if (p && strlen(p->key_auth) < cap) {
        n = (long)strlen(p->key_auth);
        memcpy(out, p->key_auth, (size_t)n + 1);
    }
    pthread_mutex_unlock(&lock);
    return n;
}

void acme_challenge_reset(void)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_PENDING; i++) {
        pending_clear(&tls_pending[i]);
        pending_clear(&http_pending[i]);
    }
    pthread_mutex_unlock(&lock);
}
