/* ML-KEM arithmetic on polynomials of R_q = Z_q[X]/(X^256 + 1), q = 3329
 * (FIPS 203 §4.2.1, §4.3): the NTT and its inverse, multiplication in the
 * NTT domain, Compress/Decompress, ByteEncode/ByteDecode, SamplePolyCBD for
 * eta = 2 and the rejection step of SampleNTT.
 *
 * Internal to src/tls/pq/. Every coefficient is kept in [0, q). Everything
 * here runs in constant time with respect to coefficient values, except
 * mlkem_poly_sample_ntt, whose input (XOF output on the public seed rho) is
 * public.
 */
#ifndef RPXY_TLS_PQ_MLKEM_POLY_H
#define RPXY_TLS_PQ_MLKEM_POLY_H

#include <stddef.h>
#include <stdint.h>

#define MLKEM_N 256
#define MLKEM_Q 3329
#define MLKEM_POLY_BYTES 384 /* ByteEncode12 of one polynomial */
#define MLKEM_CBD2_BYTES 128 /* PRF output for SamplePolyCBD with eta = 2 */

struct mlkem_poly {
    uint16_t c[MLKEM_N];
};

/* In place: f <- NTT(f) (Alg. 9), and f <- NTT^-1(f) (Alg. 10). */
void mlkem_poly_ntt(struct mlkem_poly *f);
void mlkem_poly_invntt(struct mlkem_poly *f);

/* acc <- acc + a * b, where a and b are in the NTT domain (MultiplyNTTs,
 * Alg. 11). */
void mlkem_poly_mul_acc(struct mlkem_poly *acc, const struct mlkem_poly *a,
                        const struct mlkem_poly *b);

/* r <- r + a and r <- r - a, coefficient-wise. */
void mlkem_poly_add(struct mlkem_poly *r, const struct mlkem_poly *a);
void mlkem_poly_sub(struct mlkem_poly *r, const struct mlkem_poly *a);

/* f <- SamplePolyCBD_2(in) (Alg. 8). */
void mlkem_poly_cbd2(struct mlkem_poly *f, const uint8_t in[MLKEM_CBD2_BYTES]);

/* The loop of SampleNTT (Alg. 7) over a prefix of the XOF output: coefficients
 * f->c[*filled..] are taken from buf[0..len) three bytes at a time until the
 * polynomial is full or fewer than three bytes are left. Updates *filled and
 * returns the number of bytes consumed. Branches on buf (public data). */
size_t mlkem_poly_sample_ntt(struct mlkem_poly *f, size_t *filled, const uint8_t *buf, size_t len);

/* ByteEncode_d (Alg. 5) for d in {1, 4, 10, 12}: writes 32 * d bytes. The
 * coefficients must be below 2^d (for d = 12: below q). */
void mlkem_poly_encode(uint8_t *out, const struct mlkem_poly *f, unsigned d);

/* ByteDecode_d (Alg. 6) for d in {1, 4, 10}: reads 32 * d bytes. */
void mlkem_poly_decode(struct mlkem_poly *f, const uint8_t *in, unsigned d);

/* ByteDecode_12: reads 384 bytes and reduces every value modulo q. Returns
 * 1 when some encoded value was >= q (what the §7.2 modulus check rejects),
 * else 0, computed without branching on the data. */
unsigned mlkem_poly_decode12(struct mlkem_poly *f, const uint8_t in[MLKEM_POLY_BYTES]);

/* In place: f <- Compress_d(f) and f <- Decompress_d(f) (§4.2.1), d in
 * {1, 4, 10}. */
void mlkem_poly_compress(struct mlkem_poly *f, unsigned d);
void mlkem_poly_decompress(struct mlkem_poly *f, unsigned d);

#endif
