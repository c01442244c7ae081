/* Shared by the TLS unit tests that build the proxy's server contexts in
 * memory: one key and self-signed certificate, an app context from them
 * (tls_site_ctx_new, optionally with mutual TLS), and moving records
 * between memory BIOs. Include after tls/cert_load.h and tls/server.h. */
#ifndef RPXY_TESTS_TEST_SITE_H
#define RPXY_TESTS_TEST_SITE_H

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>

static EVP_PKEY *key;
static X509 *cert;

static inline X509 *self_signed(const char *cn)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    return x;
}

/* An app context for name from key and cert; with mtls, client
 * certificates (signed by cert) required. NULL after printing why. */
static inline SSL_CTX *site(const char *name, int mtls)
{
    struct tls_material m = { 0 };
    m.leaf = cert;
    m.key = key;
    m.chain = sk_X509_new_null();
    if (mtls) {
        m.client_ca = X509_STORE_new();
        X509_STORE_add_cert(m.client_ca, cert);
        m.client_ca_names = sk_X509_NAME_new_null();
    }
    char err[256] = "";
    SSL_CTX *ctx = tls_site_ctx_new(&m, name, err, sizeof(err));
    if (!ctx)
        printf("# %s\n", err);
    sk_X509_free(m.chain);
    X509_STORE_free(m.client_ca);
    sk_X509_NAME_free(m.client_ca_names);
    return ctx;
}

static inline void shuttle(BIO *from, BIO *to)
{
    char buf[16384];
    int n;
    while ((n = BIO_read(from, buf, sizeof(buf))) > 0)
        BIO_write(to, buf, n);
}

#endif
