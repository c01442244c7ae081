/* libFuzzer target for the server side of a TLS handshake as this proxy
 * runs it: the input is what a client sends first (a ClientHello, possibly
 * more records), fed to a connection on the front context. It reaches our
 * ClientHello callback (SNI and ALPN parsing, the app lookup, the switch to
 * the app's context), and, through OpenSSL, our X25519MLKEM768 provider
 * (key share length and ML-KEM modulus checks, encapsulation). */
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/cert_load.h"
#include "tls/server.h"
#include "tls/sni_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tls_sni_table *table;

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_tls_hello: %s\n", what);
        abort();
    }
}

/* A self-signed P-256 certificate for a.test, made once. */
static void setup(void)
{
    check(tls_server_init() == 0, "tls_server_init");
    struct tls_material m = { 0 };
    m.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    m.leaf = X509_new();
    m.chain = sk_X509_new_null();
    check(m.key && m.leaf && m.chain, "key and certificate");
    X509_set_version(m.leaf, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(m.leaf), 1);
    X509_gmtime_adj(X509_getm_notBefore(m.leaf), -3600);
    X509_gmtime_adj(X509_getm_notAfter(m.leaf), 3600 * 24);
    X509_NAME *name = X509_get_subject_name(m.leaf);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"a.test", -1, -1,
                               0);
    X509_set_issuer_name(m.leaf, name);
    X509_set_pubkey(m.leaf, m.key);
    check(X509_sign(m.leaf, m.key, EVP_sha256()) > 0, "sign");
    char err[256];
    SSL_CTX *ctx = tls_site_ctx_new(&m, "a.test", err, sizeof(err));
    check(ctx != NULL, err);
    table = sni_table_new(1);
    unsigned char digest[32] = { 0 };
    check(table && sni_table_add(table, "a.test", ctx, false, digest) == 0, "table");
    sni_table_seal(table);
    SSL_CTX_free(ctx);
    tls_material_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!table)
        setup();
    struct tls_hello hello = { .table = table };
    SSL *ssl = tls_server_ssl_new(&hello);
    check(ssl != NULL, "SSL_new");
    BIO *in = BIO_new_mem_buf(data, (int)size);
    BIO *out = BIO_new(BIO_s_mem());
    check(in && out, "BIOs");
    BIO_set_mem_eof_return(in, -1); /* "no more data yet", as a socket would */
    SSL_set_bio(ssl, in, out);
    SSL_do_handshake(ssl);
    if (hello.decided)
        check(strcmp(hello.sni, "a.test") == 0 && !hello.refused, "decided for another name");
    if (hello.refused == TLS_FAIL_UNKNOWN_SNI)
        check(strcmp(hello.sni, "a.test") != 0, "refused a known name");
    SSL_free(ssl);
    return 0;
}
