/* ML-KEM-768 (FIPS 203), written for the X25519MLKEM768 TLS group.
 *
 * Constant time with respect to secret data: no branch, table index or
 * division depends on a secret. SHA3-256, SHA3-512, SHAKE-128 and SHAKE-256
 * come from OpenSSL (EVP). The *_internal functions take their randomness as
 * arguments (the known-answer tests drive them); the others draw it from
 * RAND_priv_bytes / RAND_bytes.
 */
#ifndef RPXY_TLS_PQ_MLKEM768_H
#define RPXY_TLS_PQ_MLKEM768_H

#include <stddef.h>
#include <stdint.h>

#define MLKEM768_EK_BYTES 1184 /* encapsulation (public) key */
#define MLKEM768_DK_BYTES 2400 /* decapsulation (secret) key */
#define MLKEM768_CT_BYTES 1088 /* ciphertext */
#define MLKEM768_SS_BYTES 32   /* shared secret */
#define MLKEM768_SEED_BYTES 32 /* d, z and m */

/* FIPS 203 Alg. 16, ML-KEM.KeyGen_internal(d, z): writes the key pair
 * (dk = dk_pke || ek || H(ek) || z). Returns 0, or -1 when a hash call fails
 * (ek and dk are then zeroed). mlkem768_keygen is Alg. 19: d and z from
 * RAND_priv_bytes; -1 also when that fails. */
int mlkem768_keygen_internal(uint8_t ek[MLKEM768_EK_BYTES], uint8_t dk[MLKEM768_DK_BYTES],
                             const uint8_t d[MLKEM768_SEED_BYTES],
                             const uint8_t z[MLKEM768_SEED_BYTES]);
int mlkem768_keygen(uint8_t ek[MLKEM768_EK_BYTES], uint8_t dk[MLKEM768_DK_BYTES]);

/* FIPS 203 Alg. 17 with the §7.2 input check (length and modulus check of
 * ek). Returns 0, -1 when ek is invalid (NULL, ek_len wrong or a coefficient
 * >= q), -2 on an internal failure; ct and ss are zeroed on failure.
 * mlkem768_encaps is Alg. 20: m from RAND_priv_bytes (-2 when that fails). */
int mlkem768_encaps_internal(uint8_t ct[MLKEM768_CT_BYTES], uint8_t ss[MLKEM768_SS_BYTES],
                             const uint8_t *ek, size_t ek_len,
                             const uint8_t m[MLKEM768_SEED_BYTES]);
int mlkem768_encaps(uint8_t ct[MLKEM768_CT_BYTES], uint8_t ss[MLKEM768_SS_BYTES], const uint8_t *ek,
                    size_t ek_len);

/* FIPS 203 Alg. 21 (Decaps_internal, Alg. 18, after the §7.3 input checks:
 * ciphertext and key lengths, hash check H(ek) of dk). Implicit rejection: a
 * modified ciphertext yields J(z||c), not an error. Returns 0, -1 on invalid
 * input (NULL, wrong length, hash check), -2 on an internal failure; ss is
 * zeroed on failure. The outputs of all these functions must not overlap
 * their inputs. */
int mlkem768_decaps(uint8_t ss[MLKEM768_SS_BYTES], const uint8_t *dk, size_t dk_len,
                    const uint8_t *ct, size_t ct_len);

#endif
