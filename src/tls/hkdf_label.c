#include "tls/hkdf_label.h"

#include <openssl/crypto.h>
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

/* HMAC (RFC 2104) of the concatenation of parts, over a digest fetched
 * once. OpenSSL 3.0's EVP_KDF and EVP_MAC look the digest up by name and
 * build a MAC context on every call, which cost a QUIC handshake (some 40
 * derivations) about a tenth of its CPU; two digest runs cost a fraction. */
struct part {
    const uint8_t *p;
    size_t n;
};

static int digest_run(EVP_MD_CTX *c, const EVP_MD *md, const struct part *parts, size_t nparts,
                      uint8_t *out)
{
    if (EVP_DigestInit_ex(c, md, NULL) != 1)
        return -1;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].n && EVP_DigestUpdate(c, parts[i].p, parts[i].n) != 1)
            return -1;
    return EVP_DigestFinal_ex(c, out, NULL) == 1 ? 0 : -1;
}

static int hmac(const EVP_MD *md, const uint8_t *key, size_t key_len, const struct part *msg,
                size_t nmsg, uint8_t *out)
{
    enum { MAX_BLOCK = 128, MAX_PARTS = 4 };
    size_t block = (size_t)EVP_MD_get_block_size(md), hlen = (size_t)EVP_MD_get_size(md);
    uint8_t pad[MAX_BLOCK], k[MAX_BLOCK] = { 0 }, inner[EVP_MAX_MD_SIZE];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int rc = -1;
    if (!c || block > MAX_BLOCK || hlen > sizeof(inner) || nmsg + 1 > MAX_PARTS)
        goto out;
    if (key_len > block) {
        struct part whole = { key, key_len };
        if (digest_run(c, md, &whole, 1, k) != 0)
            goto out;
    } else if (key_len) {
        memcpy(k, key, key_len);
    }
    struct part parts[MAX_PARTS] = { { pad, block } };
    for (size_t i = 0; i < block; i++)
        pad[i] = k[i] ^ 0x36;
    memcpy(parts + 1, msg, nmsg * sizeof(*msg));
    if (digest_run(c, md, parts, nmsg + 1, inner) != 0)
        goto out;
    for (size_t i = 0; i < block; i++)
        pad[i] = k[i] ^ 0x5c;
    parts[1] = (struct part){ inner, hlen };
    rc = digest_run(c, md, parts, 2, out);
out:
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    EVP_MD_CTX_free(c);
    return rc;
}

int tls13_hkdf_extract(const EVP_MD *md, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                       size_t ikm_len, uint8_t *out)
{
    struct part msg = { ikm, ikm_len };
    return hmac(md, salt, salt_len, &msg, 1, out);
}

int tls13_hkdf_expand(const EVP_MD *md, const uint8_t *prk, size_t prk_len, const uint8_t *info,
                      size_t info_len, uint8_t *out, size_t out_len)
{
    size_t hlen = (size_t)EVP_MD_get_size(md);
    uint8_t t[EVP_MAX_MD_SIZE];
    size_t t_len = 0;
    if (hlen == 0 || hlen > sizeof(t) || out_len > 255 * hlen)
        return -1;
    for (uint8_t i = 1; out_len > 0; i++) {
        struct part msg[3] = { { t, t_len }, { info, info_len }, { &i, 1 } };
        if (hmac(md, prk, prk_len, msg, 3, t) != 0) {
            OPENSSL_cleanse(t, sizeof(t));
            return -1;
        }
        t_len = hlen;
        size_t n = out_len < hlen ? out_len : hlen;
        memcpy(out, t, n);
        out += n;
        out_len -= n;
    }
    OPENSSL_cleanse(t, sizeof(t));
    return 0;
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
    return tls13_hkdf_expand(md, secret, secret_len, info, n, out, out_len);
}
