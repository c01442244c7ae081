/* TLS 1.3 key schedule pieces shared by TLS record protection and QUIC
 * packet protection (RFC 8446 7.1, RFC 9001 5.1): HKDF-Extract and
 * HKDF-Expand-Label, and what a TLS 1.3 cipher suite means for keys. */
#ifndef RPXY_TLS_HKDF_LABEL_H
#define RPXY_TLS_HKDF_LABEL_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define TLS13_MAX_SECRET 48 /* SHA-384 */

/* A TLS 1.3 cipher suite's algorithms. */
struct tls13_suite {
    uint16_t id;            /* 0x1301 AES-128-GCM-SHA256, 0x1302 AES-256-GCM-SHA384,
                               0x1303 CHACHA20-POLY1305-SHA256 */
    const EVP_CIPHER *aead; /* EVP_aes_128_gcm() ... */
    const EVP_CIPHER *hp;   /* QUIC header protection: AES-ECB or ChaCha20 */
    const EVP_MD *md;       /* the hash of HKDF */
    size_t key_len, iv_len, tag_len;
};

/* The suite for a TLS 1.3 cipher id (the low 16 bits of
 * SSL_CIPHER_get_id()), or NULL when it is not one QUIC can use. */
const struct tls13_suite *tls13_suite_find(uint16_t id);

/* HKDF-Extract(salt, ikm) into out (EVP_MD_get_size(md) bytes). Returns 0
 * or -1. */
int tls13_hkdf_extract(const EVP_MD *md, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                       size_t ikm_len, uint8_t *out);

/* HKDF-Expand(prk, info, out_len) (RFC 5869 2.3). Returns 0 or -1. */
int tls13_hkdf_expand(const EVP_MD *md, const uint8_t *prk, size_t prk_len, const uint8_t *info,
                      size_t info_len, uint8_t *out, size_t out_len);

/* HKDF-Expand-Label(secret, "tls13 " label, context, out_len). Returns 0 or
 * -1. */
int tls13_hkdf_expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
                            const char *label, const uint8_t *context, size_t context_len,
                            uint8_t *out, size_t out_len);

#endif
