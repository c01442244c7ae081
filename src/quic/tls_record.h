/* TLS 1.3 records built by hand (RFC 8446 5.1, 5.2): what the QUIC TLS
 * bridge feeds to OpenSSL's read side, so that handshake bytes received in
 * QUIC CRYPTO frames look to OpenSSL like records off a TCP stream. Only the
 * sealing direction exists: OpenSSL opens them. */
#ifndef RPXY_QUIC_TLS_RECORD_H
#define RPXY_QUIC_TLS_RECORD_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "tls/hkdf_label.h"

#define TLS_RECORD_HEADER 5
#define TLS_RECORD_MAX_PLAIN 16384 /* 2^14, RFC 8446 5.1 */
#define TLS_RECORD_TYPE_ALERT 21
#define TLS_RECORD_TYPE_HANDSHAKE 22
#define TLS_RECORD_TYPE_APPDATA 23

/* One direction's record protection: key, IV and the next sequence number. */
struct tls_record_key {
    EVP_CIPHER_CTX *aead; /* NULL: not set */
    uint8_t iv[12];
    size_t tag_len;
    uint64_t seq;
};

/* Derives key and IV from a traffic secret (HKDF-Expand-Label "key", "iv")
 * and restarts the sequence at 0, replacing what k held. Returns 0 or -1. */
int tls_record_key_set(struct tls_record_key *k, const struct tls13_suite *suite,
                       const uint8_t *secret, size_t secret_len);

void tls_record_key_clear(struct tls_record_key *k);

/* Bytes one record of n plaintext bytes takes when sealed with k (or sent
 * in clear when k is unset). */
size_t tls_record_size(const struct tls_record_key *k, size_t n);

/* Writes one record of content type `type` carrying in[0..n) (n <= 2^14)
 * into out, which must hold tls_record_size(k, n) bytes: a TLSPlaintext
 * when k is unset, else a TLSCiphertext sealed with k (sequence advanced).
 * Returns the bytes written, or -1. */
long tls_record_write(struct tls_record_key *k, uint8_t type, const uint8_t *in, size_t n,
                      uint8_t *out);

#endif
