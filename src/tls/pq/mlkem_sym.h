/* The symmetric functions of ML-KEM (FIPS 203 §4.1), on OpenSSL's EVP:
 * H = SHA3-256, G = SHA3-512, J = SHAKE-256 to 32 bytes, PRF_eta =
 * SHAKE-256 to 64 * eta bytes, XOF = SHAKE-128.
 *
 * Internal to src/tls/pq/. The EVP_MD objects are fetched once per process
 * (thread-safe); each function takes a caller-owned EVP_MD_CTX, reused
 * between calls. Every function returns 0, or -1 when OpenSSL fails (or the
 * algorithms could not be fetched).
 */
#ifndef RPXY_TLS_PQ_MLKEM_SYM_H
#define RPXY_TLS_PQ_MLKEM_SYM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* H(in): SHA3-256. */
int mlkem_sym_h(EVP_MD_CTX *ctx, uint8_t out[32], const uint8_t *in, size_t len);

/* G(a || b): SHA3-512, split by the caller into two 32-byte halves. */
int mlkem_sym_g(EVP_MD_CTX *ctx, uint8_t out[64], const uint8_t *a, size_t a_len, const uint8_t *b,
                size_t b_len);

/* J(z || c): SHAKE-256 to 32 bytes. */
int mlkem_sym_j(EVP_MD_CTX *ctx, uint8_t out[32], const uint8_t z[32], const uint8_t *c,
                size_t c_len);

/* PRF_eta(s, n): SHAKE-256(s || n) to out_len = 64 * eta bytes. */
int mlkem_sym_prf(EVP_MD_CTX *ctx, uint8_t *out, size_t out_len, const uint8_t s[32], uint8_t n);

/* The first out_len bytes of SHAKE-128(rho || x || y), the XOF stream of
 * SampleNTT. OpenSSL 3.0 cannot squeeze more later, so a caller that needs
 * more calls again with a larger out_len (the stream's prefix is the same). */
int mlkem_sym_xof(EVP_MD_CTX *ctx, uint8_t *out, size_t out_len, const uint8_t rho[32], uint8_t x,
                  uint8_t y);

#endif
