#include "quic/tls_record.h"

#include <openssl/crypto.h>
#include <string.h>

int tls_record_key_set(struct tls_record_key *k, const struct tls13_suite *suite,
                       const uint8_t *secret, size_t secret_len)
{
    uint8_t key[32];
    if (suite->key_len > sizeof(key) || suite->iv_len != sizeof(k->iv))
        return -1;
    tls_record_key_clear(k);
    int rc = -1;
    if (tls13_hkdf_expand_label(suite->md, secret, secret_len, "key", NULL, 0, key,
                                suite->key_len) < 0 ||
        tls13_hkdf_expand_label(suite->md, secret, secret_len, "iv", NULL, 0, k->iv,
                                sizeof(k->iv)) < 0)
        goto out;
    k->aead = EVP_CIPHER_CTX_new();
    if (!k->aead || EVP_EncryptInit_ex(k->aead, suite->aead, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(k->aead, EVP_CTRL_AEAD_SET_IVLEN, (int)sizeof(k->iv), NULL) != 1 ||
        EVP_EncryptInit_ex(k->aead, NULL, NULL, key, NULL) != 1)
        goto out;
    k->tag_len = suite->tag_len;
    k->seq = 0;
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof(key));
    if (rc < 0)
        tls_record_key_clear(k);
    return rc;
}

void tls_record_key_clear(struct tls_record_key *k)
{
    EVP_CIPHER_CTX_free(k->aead);
    OPENSSL_cleanse(k, sizeof(*k));
}

size_t tls_record_size(const struct tls_record_key *k, size_t n)
{
    /* sealed: the inner content type byte and the tag come on top */
    return TLS_RECORD_HEADER + n + (k->aead ? 1 + k->tag_len : 0);
}

static void header(uint8_t *out, uint8_t type, size_t len)
{
    out[0] = type;
    out[1] = 3; /* legacy_record_version 0x0303 */
    out[2] = 3;
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
}

long tls_record_write(struct tls_record_key *k, uint8_t type, const uint8_t *in, size_t n,
                      uint8_t *out)
{
    if (n > TLS_RECORD_MAX_PLAIN)
        return -1;
    size_t total = tls_record_size(k, n);
    if (!k->aead) {
        header(out, type, n);
        memcpy(out + TLS_RECORD_HEADER, in, n);
        return (long)total;
    }
    /* TLSCiphertext: opaque_type application_data, the header is the AAD,
     * the nonce is the IV xor the 64-bit sequence number (RFC 8446 5.3) */
    header(out, TLS_RECORD_TYPE_APPDATA, total - TLS_RECORD_HEADER);
    uint8_t nonce[sizeof(k->iv)];
    memcpy(nonce, k->iv, sizeof(nonce));
    for (int i = 0; i < 8; i++)
        nonce[sizeof(nonce) - 1 - i] ^= (uint8_t)(k->seq >> (8 * i));
    uint8_t *body = out + TLS_RECORD_HEADER;
    int len;
    if (EVP_EncryptInit_ex(k->aead, NULL, NULL, NULL, nonce) != 1 ||
        EVP_EncryptUpdate(k->aead, NULL, &len, out, TLS_RECORD_HEADER) != 1 ||
        EVP_EncryptUpdate(k->aead, body, &len, in, (int)n) != 1 ||
        EVP_EncryptUpdate(k->aead, body + n, &len, &type, 1) != 1 ||
        EVP_EncryptFinal_ex(k->aead, body + n + 1, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(k->aead, EVP_CTRL_AEAD_GET_TAG, (int)k->tag_len, body + n + 1) != 1)
        return -1;
    k->seq++;
    return (long)total;
}
