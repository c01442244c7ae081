#include "tls/cert_load.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "log/log.h"

/* Reads a whole file of at most TLS_FILE_MAX bytes. */
static unsigned char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    unsigned char *data = malloc(TLS_FILE_MAX + 1);
    size_t n = data ? fread(data, 1, TLS_FILE_MAX + 1, f) : 0;
    bool failed = !data || ferror(f);
    fclose(f);
    if (failed || n > TLS_FILE_MAX) {
        snprintf(err, errlen, "cannot read %s: %s", path,
                 failed ? "read error" : "larger than 1 MiB");
        free(data);
        return NULL;
    }
    *len = n;
    return data;
}

int tls_files_digest(const struct cfg_app *app, unsigned char digest[32], char *err, size_t errlen)
{
    const char *paths[3] = { app->tls.cert_path, app->tls.key_path, app->tls.client_ca_cert_path };
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (!paths[i])
            continue;
        size_t len;
        unsigned char *data = read_file(paths[i], &len, err, errlen);
        if (!data) {
            EVP_MD_CTX_free(md);
            return -1;
        }
        unsigned char sep = (unsigned char)i;
        EVP_DigestUpdate(md, data, len);
        EVP_DigestUpdate(md, &sep, 1);
        free(data);
    }
    EVP_DigestFinal_ex(md, digest, NULL);
    EVP_MD_CTX_free(md);
    return 0;
}

static BIO *open_pem(const char *path, char *err, size_t errlen)
{
    size_t len;
    unsigned char *data = read_file(path, &len, err, errlen);
    if (!data)
        return NULL;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || BIO_write(b, data, (int)len) != (int)len) {
        BIO_free(b);
        b = NULL;
        snprintf(err, errlen, "out of memory");
    }
    OPENSSL_cleanse(data, len);
    free(data);
    return b;
}

/* Every CERTIFICATE block of path, in order. */
static STACK_OF(X509) * read_certs(const char *path, char *err, size_t errlen)
{
    BIO *b = open_pem(path, err, errlen);
    if (!b)
        return NULL;
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509 *x;
    while (certs && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            break;
        }
    }
    ERR_clear_error(); /* the end of the file reads as "no start line" */
    BIO_free(b);
    if (!certs || sk_X509_num(certs) == 0) {
        sk_X509_pop_free(certs, X509_free);
        snprintf(err, errlen, "no certificate found in %s", path);
        return NULL;
    }
    return certs;
}

/* Refuses encrypted keys instead of prompting for a pass phrase. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    return 0;
}

static EVP_PKEY *read_key(const char *path, char *err, size_t errlen)
{
    BIO *b = open_pem(path, err, errlen);
    if (!b)
        return NULL;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
    BIO_free(b);
    if (!key) {
        unsigned long e = ERR_peek_last_error();
        ERR_clear_error();
        snprintf(err, errlen,
                 "No private keys found in %s - Make sure that they are in PKCS#8/PEM format "
                 "(PKCS#1 RSA and SEC1 EC keys are accepted too; encrypted keys are not)%s%s",
                 path, e ? ": " : "", e ? ERR_reason_error_string(e) : "");
        return NULL;
    }
    int id = EVP_PKEY_get_base_id(key);
    if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC && id != EVP_PKEY_ED25519) {
        EVP_PKEY_free(key);
        snprintf(err, errlen, "unsupported key type in %s (RSA, ECDSA or Ed25519 only)", path);
        return NULL;
    }
    return key;
}

static int load_client_ca(const char *path, struct tls_material *m, char *err, size_t errlen)
{
    STACK_OF(X509) *certs = read_certs(path, err, errlen);
    if (!certs)
        return -1;
    m->client_ca = X509_STORE_new();
    m->client_ca_names = sk_X509_NAME_new_null();
    int anchors = 0;
    for (int i = 0; m->client_ca && m->client_ca_names && i < sk_X509_num(certs); i++) {
        X509 *ca = sk_X509_value(certs, i);
        /* as rpxy: only CA certificates with a Subject Key Identifier anchor */
        if (!X509_get0_subject_key_id(ca))
            continue;
        if (X509_STORE_add_cert(m->client_ca, ca) != 1)
            continue;
        X509_NAME *name = X509_NAME_dup(X509_get_subject_name(ca));
        if (name && !sk_X509_NAME_push(m->client_ca_names, name))
            X509_NAME_free(name);
        anchors++;
    }
    sk_X509_pop_free(certs, X509_free);
    ERR_clear_error();
    if (!anchors) {
        snprintf(err, errlen,
                 "no usable client CA certificate in %s (a CA certificate needs a Subject Key "
                 "Identifier)",
                 path);
        return -1;
    }
    return 0;
}

int tls_material_load(const struct cfg_app *app, struct tls_material *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    if (tls_files_digest(app, m->digest, err, errlen) < 0)
        return -1;
    STACK_OF(X509) *certs = read_certs(app->tls.cert_path, err, errlen);
    if (!certs)
        return -1;
    m->leaf = sk_X509_shift(certs);
    m->chain = certs;
    m->key = read_key(app->tls.key_path, err, errlen);
    if (!m->key)
        goto fail;
    if (X509_check_private_key(m->leaf, m->key) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "the private key in %s does not match the certificate in %s",
                 app->tls.key_path, app->tls.cert_path);
        goto fail;
    }
    if (X509_check_host(m->leaf, app->server_name, strlen(app->server_name),
                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) != 1) {
        snprintf(err, errlen, "the certificate in %s does not cover server_name %s",
                 app->tls.cert_path, app->server_name);
        goto fail;
    }
    if (app->tls.client_ca_cert_path &&
        load_client_ca(app->tls.client_ca_cert_path, m, err, errlen) < 0)
        goto fail;
    return 0;
fail:
    tls_material_free(m);
    return -1;
}

void tls_material_free(struct tls_material *m)
{
    X509_free(m->leaf);
    sk_X509_pop_free(m->chain, X509_free);
    EVP_PKEY_free(m->key);
    X509_STORE_free(m->client_ca);
    sk_X509_NAME_pop_free(m->client_ca_names, X509_NAME_free);
    memset(m, 0, sizeof(*m));
}

void tls_key_permissions_check(const char *key_path)
{
    struct stat st;
    if (stat(key_path, &st) < 0)
        return;
    unsigned mode = st.st_mode & 0777;
    if (mode & S_IROTH)
        log_warn("TLS private key file is world-readable (mode %o): %s. Recommended mode is 0600.",
                 mode, key_path);
    else if (mode & 077)
        log_warn("TLS private key file has loose permissions (mode %o): %s. Recommended mode is "
                 "0600.",
                 mode, key_path);
}
