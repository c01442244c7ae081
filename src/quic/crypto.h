/* QUIC v1 packet protection for ngtcp2 0.12 over OpenSSL EVP (RFC 9001 5):
 * the crypto callbacks of a server connection, and the keys of each
 * encryption level, derived from the client's Destination Connection ID
 * (Initial) or from a TLS 1.3 traffic secret (0-RTT, Handshake, 1-RTT).
 *
 * The native handles ngtcp2 carries for us: ngtcp2_crypto_aead and
 * ngtcp2_crypto_cipher point to a const EVP_CIPHER, ngtcp2_crypto_md to a
 * const EVP_MD, and ngtcp2_crypto_aead_ctx / ngtcp2_crypto_cipher_ctx own
 * an EVP_CIPHER_CTX keyed once per key (never per packet). */
#ifndef RPXY_QUIC_CRYPTO_H
#define RPXY_QUIC_CRYPTO_H

#include <ngtcp2/ngtcp2.h>
#include <stddef.h>
#include <stdint.h>

#include "tls/hkdf_label.h"

#define QUIC_CRYPTO_IV_LEN 12 /* every TLS 1.3 AEAD QUIC uses */
#define QUIC_CRYPTO_INITIAL_SECRET_LEN 32

/* Keying material of one direction of one encryption level. */
struct quic_crypto_keys {
    uint8_t key[32];
    uint8_t iv[QUIC_CRYPTO_IV_LEN];
    uint8_t hp[32];
    size_t key_len; /* the length of key and of hp */
};

/* Sets in cb the crypto callbacks of a server connection: recv_client_initial
 * (v1 Initial keys), encrypt, decrypt, hp_mask, update_key,
 * delete_crypto_aead_ctx, delete_crypto_cipher_ctx, rand,
 * get_path_challenge_data and version_negotiation (refuses any change of
 * version). Other members are left as they are. */
void quic_crypto_callbacks(ngtcp2_callbacks *cb);

/* Derives the keys of a direction from the TLS traffic secret of level and
 * installs them in conn: 0-RTT (rx only, also sets the early crypto ctx),
 * Handshake or 1-RTT (the first of these also sets the crypto ctx; a 1-RTT
 * key keeps secret in conn for key updates). suite is the negotiated one
 * (tls13_suite_find()). Each level and direction may be installed once.
 * Returns 0, or -1 (bad level or suite, or ngtcp2 refused: nothing is
 * installed and nothing leaks).
 * ngtcp2 0.12 wants, before the Handshake keys: the client's transport
 * parameters decoded (ngtcp2_conn_decode_remote_transport_params sets the
 * negotiated version Handshake packets carry) and the server's final
 * ones set (installing the Handshake tx key commits them). A second
 * install of the same level and direction is an ngtcp2 assertion. */
int quic_crypto_install_secret(ngtcp2_conn *conn, ngtcp2_crypto_level level, int tx,
                               const struct tls13_suite *suite, const uint8_t *secret,
                               size_t secret_len);

/* Derives the QUIC v1 Initial keys of a server from the Destination
 * Connection ID of the client's first Initial, sets the initial crypto ctx
 * and installs them (what recv_client_initial does). Returns 0 or -1. */
int quic_crypto_install_initial(ngtcp2_conn *conn, const ngtcp2_cid *client_dcid);

/* The same for either role: a client (server == 0) gives the Destination
 * Connection ID of its first Initial, or the Source Connection ID of a
 * Retry (RFC 9001 5.2), and reads with the server's keys. */
int quic_crypto_install_initial_role(ngtcp2_conn *conn, const ngtcp2_cid *client_dcid, int server);

/* Fills ctx for suite: AEAD, hash, header protection cipher and the AEAD
 * limits of RFC 9001 6.6. */
void quic_crypto_ctx(ngtcp2_crypto_ctx *ctx, const struct tls13_suite *suite);

/* client_initial_secret and server_initial_secret (RFC 9001 5.2), each
 * QUIC_CRYPTO_INITIAL_SECRET_LEN bytes. Returns 0 or -1. */
int quic_crypto_initial_secrets(const ngtcp2_cid *client_dcid, uint8_t *client, uint8_t *server);

/* "quic key", "quic iv" and "quic hp" of secret (RFC 9001 5.1). Returns 0
 * or -1. The caller wipes out when done. */
int quic_crypto_derive_keys(const struct tls13_suite *suite, const uint8_t *secret,
                            size_t secret_len, struct quic_crypto_keys *out);

/* The next 1-RTT secret, "quic ku" (RFC 9001 6.1), secret_len bytes into
 * out. Returns 0 or -1. */
int quic_crypto_next_secret(const struct tls13_suite *suite, const uint8_t *secret,
                            size_t secret_len, uint8_t *out);

/* Makes an AEAD context keyed with key for encryption (encrypt != 0) or
 * decryption; the caller owns it until ngtcp2 takes it. Returns 0 or -1. */
int quic_crypto_aead_ctx_init(ngtcp2_crypto_aead_ctx *ctx, const ngtcp2_crypto_aead *aead,
                              const uint8_t *key, int encrypt);

/* Makes a header protection context keyed with key. Returns 0 or -1. */
int quic_crypto_hp_ctx_init(ngtcp2_crypto_cipher_ctx *ctx, const ngtcp2_crypto_cipher *hp,
                            const uint8_t *key);

/* Free what the two functions above made (NULL handles are fine). */
void quic_crypto_aead_ctx_free(ngtcp2_crypto_aead_ctx *ctx);
void quic_crypto_cipher_ctx_free(ngtcp2_crypto_cipher_ctx *ctx);

/* The encrypt, decrypt and hp_mask callbacks, for the ngtcp2_pkt_write_*
 * functions that take them. encrypt writes plaintext_len + max_overhead
 * bytes; decrypt returns NGTCP2_ERR_DECRYPT when authentication fails. */
int quic_crypto_encrypt(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                        const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *plaintext,
                        size_t plaintext_len, const uint8_t *nonce, size_t nonce_len,
                        const uint8_t *aad, size_t aad_len);
int quic_crypto_decrypt(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                        const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *ciphertext,
                        size_t ciphertext_len, const uint8_t *nonce, size_t nonce_len,
                        const uint8_t *aad, size_t aad_len);
int quic_crypto_hp_mask(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
                        const ngtcp2_crypto_cipher_ctx *hp_ctx, const uint8_t *sample);

#endif
