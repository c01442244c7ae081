#include "tls/hkdf_label.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <pthread.h>
#include <string.h>

static struct tls13_suite suites[3];

/* Fetched once for the life of the process: the legacy EVP_aes_*() objects
 * make OpenSSL 3.0 look the algorithm up again on every context init (per
 * key in QUIC, several per handshake). A failed fetch falls back to them. */
static const EVP_CIPHER *cipher(const char *name, const EVP_CIPHER *legacy)
{
    const EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    return c ? c : legacy;
}

static const EVP_MD *digest(const char *name, const EVP_MD *legacy)
{
    const EVP_MD *m = EVP_MD_fetch(NULL, name, NULL);
    return m ? m : legacy;
}

static void suites_fill(void)
{
    const EVP_MD *sha256 = digest("SHA256", EVP_sha256());
    suites[0] = (struct tls13_suite){ 0x1301,
                                      cipher("AES-128-GCM", EVP_aes_128_gcm()),
                                      cipher("AES-128-ECB", EVP_aes_128_ecb()),
                                      sha256,
                                      16,
                                      12,
                                      16 };
    suites[1] = (struct tls13_suite){ 0x1302,
                                      cipher("AES-256-GCM", EVP_aes_256_gcm()),
                                      cipher("AES-256-ECB", EVP_aes_256_ecb()),
                                      digest("SHA384", EVP_sha384()),
                                      32,
                                      12,
                                      16 };
    suites[2] = (struct tls13_suite){ 0x1303,
                                      cipher("ChaCha20-Poly1305", EVP_chacha20_poly1305()),
                                      cipher("ChaCha20", EVP_chacha20()),
                                      sha256,
                                      32,
                                      12,
                                      16 };
}

const struct tls13_suite *tls13_suite_find(uint16_t id)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, suites_fill);
    for (size_t i = 0; i < 3; i++)
        if (suites[i].id == id)
            return &suites[i];
    return NULL;
}

/* OpenSSL 3.0 has no fetch cache worth the name: a fetch per derivation
 * cost a QUIC handshake about a tenth of its CPU (some 20 derivations). The
 * HKDF method is fetched once and kept for the life of the process. */
static EVP_KDF *hkdf_method;

static void hkdf_fetch(void)
{
    hkdf_method = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

static int hkdf(int mode, const EVP_MD *md, const uint8_t *key, size_t key_len, const uint8_t *salt,
                size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, hkdf_fetch);
    EVP_KDF_CTX *kctx = hkdf_method ? EVP_KDF_CTX_new(hkdf_method) : NULL;
    if (!kctx)
        return -1;
    OSSL_PARAM params[6], *p = params;
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
    if (salt)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *p = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(kctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(kctx);
    return ok ? 0 : -1;
}

int tls13_hkdf_extract(const EVP_MD *md, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                       size_t ikm_len, uint8_t *out)
{
    return hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, md, ikm, ikm_len, salt, salt_len, NULL, 0, out,
                (size_t)EVP_MD_get_size(md));
}

int tls13_hkdf_expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
                            const char *label, const uint8_t *context, size_t context_len,
                            uint8_t *out, size_t out_len)
{
    /* struct { uint16 length; opaque label<7..255>; opaque context<0..255>; } */
    uint8_t info[2 + 1 + 255 + 1 + 255];
    size_t label_len = strlen(label);
    if (out_len > 0xffff || 6 + label_len > 255 || context_len > 255)
        return -1;
    size_t n = 0;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(6 + label_len);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, label_len);
    n += label_len;
    info[n++] = (uint8_t)context_len;
    if (context_len)
        memcpy(info + n, context, context_len);
    n += context_len;
    return hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, md, secret, secret_len, NULL, 0, info, n, out,
                out_len);
}
