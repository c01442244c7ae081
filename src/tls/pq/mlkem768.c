/* ML-KEM-768 (FIPS 203): K-PKE (§5) and ML-KEM (§6, §7) for k = 3,
 * eta1 = eta2 = 2, du = 10, dv = 4. Arithmetic is in mlkem_poly.c, hashing
 * in mlkem_sym.c.
 *
 * Secret data: d, z, m, sigma, r, s, e, y, e1, e2, the decrypted message and
 * everything derived from them before it becomes public (ek, ct, the shared
 * secret given to the caller). They only ever meet constant-time code;
 * rejection sampling branches on the XOF stream of rho, which is public (it
 * is the tail of ek). Secret intermediates are wiped before returning.
 */
#include "tls/pq/mlkem768.h"
#include "tls/pq/mlkem_poly.h"
#include "tls/pq/mlkem_sym.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define K 3
#define DU 10
#define DV 4
#define SYM_BYTES 32
#define PKE_DK_BYTES (K * MLKEM_POLY_BYTES) /* ByteEncode12(s_hat) */
#define C1_POLY_BYTES (32 * DU)
#define C1_BYTES (K * C1_POLY_BYTES)
#define C2_BYTES (32 * DV)
/* dk = dk_pke || ek || H(ek) || z */
#define DK_EK_OFF PKE_DK_BYTES
#define DK_H_OFF (DK_EK_OFF + MLKEM768_EK_BYTES)
#define DK_Z_OFF (DK_H_OFF + SYM_BYTES)

_Static_assert(MLKEM768_EK_BYTES == PKE_DK_BYTES + SYM_BYTES, "ek = t_hat || rho");
_Static_assert(MLKEM768_DK_BYTES == DK_Z_OFF + SYM_BYTES, "dk layout");
_Static_assert(MLKEM768_CT_BYTES == C1_BYTES + C2_BYTES, "ct = c1 || c2");

/* SampleNTT reads this much of the XOF stream first (3 SHAKE-128 blocks).
 * About 1 matrix entry in 120 needs more; it then reads the stream again,
 * twice as long each time. */
#define XOF_FIRST_BYTES (3 * 168)

/* tools/mlkem_ct.c builds this file with MLKEM_CT_VALGRIND to check constant
 * time under valgrind: secrets are marked undefined there, and rho, derived
 * from d by G but public, is marked defined again here. */
#ifdef MLKEM_CT_VALGRIND
#include <valgrind/memcheck.h>
#define DECLASSIFY(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define DECLASSIFY(p, n) ((void)(p), (void)(n))
#endif

/* Hides x's value from the optimiser, so that mask arithmetic on it is not
 * turned back into a branch. */
static uint32_t value_barrier(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    __asm__ volatile("" : "+r"(x));
#endif
    return x;
}

/* 0xff when a and b (n bytes) are equal, else 0, in time independent of
 * their contents. */
static uint8_t ct_eq_mask(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint32_t diff = 0;

    for (size_t i = 0; i < n; i++)
        diff |= (uint32_t)(a[i] ^ b[i]);
    return (uint8_t)((value_barrier(diff) - 1) >> 8);
}

/* out <- mask ? a : b, for mask 0xff or 0. */
static void ct_select(uint8_t *out, const uint8_t *a, const uint8_t *b, size_t n, uint8_t mask)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(b[i] ^ (mask & (a[i] ^ b[i])));
}

/* SampleNTT(rho || x || y) (Alg. 7): the matrix entry A[y][x]. */
static int sample_ntt(EVP_MD_CTX *ctx, struct mlkem_poly *a, const uint8_t rho[SYM_BYTES],
                      uint8_t x, uint8_t y)
{
    uint8_t first[XOF_FIRST_BYTES];
    size_t filled = 0, len = sizeof first;

    if (mlkem_sym_xof(ctx, first, len, rho, x, y) != 0)
        return -1;
    size_t used = mlkem_poly_sample_ntt(a, &filled, first, len);
    while (filled < MLKEM_N) {
        len *= 2;
        uint8_t *more = malloc(len);
        if (more == NULL || mlkem_sym_xof(ctx, more, len, rho, x, y) != 0) {
            free(more);
            return -1;
        }
        used += mlkem_poly_sample_ntt(a, &filled, more + used, len - used);
        free(more);
    }
    return 0;
}

/* f <- SamplePolyCBD_2(PRF_2(seed, n)). */
static int sample_cbd(EVP_MD_CTX *ctx, struct mlkem_poly *f, const uint8_t seed[SYM_BYTES],
                      uint8_t n)
{
    uint8_t buf[MLKEM_CBD2_BYTES];
    int rc = mlkem_sym_prf(ctx, buf, sizeof buf, seed, n);

    if (rc == 0)
        mlkem_poly_cbd2(f, buf);
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

/* t_hat <- ByteDecode12 of the first 384k bytes of ek (reduced mod q).
 * Returns nonzero when some value was >= q. */
static unsigned decode_t_hat(struct mlkem_poly t_hat[K], const uint8_t *ek)
{
    unsigned over = 0;

    for (size_t i = 0; i < K; i++)
        over |= mlkem_poly_decode12(&t_hat[i], ek + i * MLKEM_POLY_BYTES);
    return over;
}

/* K-PKE.KeyGen(d) (Alg. 13): ek = ByteEncode12(t_hat) || rho, dk_pke =
 * ByteEncode12(s_hat), with t_hat = A s_hat + e_hat. */
static int pke_keygen(EVP_MD_CTX *ctx, uint8_t ek[MLKEM768_EK_BYTES], uint8_t dk_pke[PKE_DK_BYTES],
                      const uint8_t d[SYM_BYTES])
{
    const uint8_t k_byte = K;
    uint8_t rho_sigma[2 * SYM_BYTES];
    const uint8_t *rho = rho_sigma, *sigma = rho_sigma + SYM_BYTES;
    struct mlkem_poly s_hat[K], t, a;
    int rc = -1;

    if (mlkem_sym_g(ctx, rho_sigma, d, SYM_BYTES, &k_byte, 1) != 0)
        goto out;
    DECLASSIFY(rho_sigma, SYM_BYTES);
    for (size_t i = 0; i < K; i++) {
        if (sample_cbd(ctx, &s_hat[i], sigma, (uint8_t)i) != 0)
            goto out;
        mlkem_poly_ntt(&s_hat[i]);
    }
    for (size_t i = 0; i < K; i++) {
        /* t starts as e_hat[i] and accumulates row i of A times s_hat */
        if (sample_cbd(ctx, &t, sigma, (uint8_t)(K + i)) != 0)
            goto out;
        mlkem_poly_ntt(&t);
        for (size_t j = 0; j < K; j++) {
            if (sample_ntt(ctx, &a, rho, (uint8_t)j, (uint8_t)i) != 0)
                goto out;
            mlkem_poly_mul_acc(&t, &a, &s_hat[j]);
        }
        mlkem_poly_encode(ek + i * MLKEM_POLY_BYTES, &t, 12);
    }
    memcpy(ek + PKE_DK_BYTES, rho, SYM_BYTES);
    for (size_t i = 0; i < K; i++)
        mlkem_poly_encode(dk_pke + i * MLKEM_POLY_BYTES, &s_hat[i], 12);
    rc = 0;
out:
    OPENSSL_cleanse(rho_sigma, sizeof rho_sigma);
    OPENSSL_cleanse(s_hat, sizeof s_hat);
    OPENSSL_cleanse(&t, sizeof t);
    return rc;
}

/* K-PKE.Encrypt (Alg. 14) with the encryption key already decoded into
 * t_hat and rho: c = ByteEncode_du(Compress_du(u)) ||
 * ByteEncode_dv(Compress_dv(v)). */
static int pke_encrypt(EVP_MD_CTX *ctx, uint8_t c[MLKEM768_CT_BYTES],
                       const struct mlkem_poly t_hat[K], const uint8_t rho[SYM_BYTES],
                       const uint8_t m[SYM_BYTES], const uint8_t r[SYM_BYTES])
{
    struct mlkem_poly y_hat[K], u, v, a, noise;
    int rc = -1;

    for (size_t i = 0; i < K; i++) {
        if (sample_cbd(ctx, &y_hat[i], r, (uint8_t)i) != 0)
            goto out;
        mlkem_poly_ntt(&y_hat[i]);
    }
    for (size_t i = 0; i < K; i++) {
        /* u[i] = NTT^-1(sum_j A[j][i] y_hat[j]) + e1[i]; A[j][i] comes from
         * rho || i || j */
        memset(&u, 0, sizeof u);
        for (size_t j = 0; j < K; j++) {
            if (sample_ntt(ctx, &a, rho, (uint8_t)i, (uint8_t)j) != 0)
                goto out;
            mlkem_poly_mul_acc(&u, &a, &y_hat[j]);
        }
        mlkem_poly_invntt(&u);
        if (sample_cbd(ctx, &noise, r, (uint8_t)(K + i)) != 0)
            goto out;
        mlkem_poly_add(&u, &noise);
        mlkem_poly_compress(&u, DU);
        mlkem_poly_encode(c + i * C1_POLY_BYTES, &u, DU);
    }
    /* v = NTT^-1(t_hat . y_hat) + e2 + Decompress_1(ByteDecode_1(m)) */
    memset(&v, 0, sizeof v);
    for (size_t i = 0; i < K; i++)
        mlkem_poly_mul_acc(&v, &t_hat[i], &y_hat[i]);
    mlkem_poly_invntt(&v);
    if (sample_cbd(ctx, &noise, r, (uint8_t)(2 * K)) != 0)
        goto out;
    mlkem_poly_add(&v, &noise);
    mlkem_poly_decode(&noise, m, 1);
    mlkem_poly_decompress(&noise, 1);
    mlkem_poly_add(&v, &noise);
    mlkem_poly_compress(&v, DV);
    mlkem_poly_encode(c + C1_BYTES, &v, DV);
    rc = 0;
out:
    OPENSSL_cleanse(y_hat, sizeof y_hat);
    OPENSSL_cleanse(&u, sizeof u);
    OPENSSL_cleanse(&v, sizeof v);
    OPENSSL_cleanse(&noise, sizeof noise);
    return rc;
}

/* K-PKE.Decrypt (Alg. 15): m = ByteEncode_1(Compress_1(v' - NTT^-1(s_hat .
 * NTT(u')))). */
static void pke_decrypt(uint8_t m[SYM_BYTES], const uint8_t dk_pke[PKE_DK_BYTES],
                        const uint8_t c[MLKEM768_CT_BYTES])
{
    struct mlkem_poly s_hat, u, w;

    memset(&w, 0, sizeof w);
    for (size_t i = 0; i < K; i++) {
        mlkem_poly_decode(&u, c + i * C1_POLY_BYTES, DU);
        mlkem_poly_decompress(&u, DU);
        mlkem_poly_ntt(&u);
        (void)mlkem_poly_decode12(&s_hat, dk_pke + i * MLKEM_POLY_BYTES);
        mlkem_poly_mul_acc(&w, &s_hat, &u);
    }
    mlkem_poly_invntt(&w);
    mlkem_poly_decode(&u, c + C1_BYTES, DV);
    mlkem_poly_decompress(&u, DV);
    mlkem_poly_sub(&u, &w);
    mlkem_poly_compress(&u, 1);
    mlkem_poly_encode(m, &u, 1);
    OPENSSL_cleanse(&s_hat, sizeof s_hat);
    OPENSSL_cleanse(&u, sizeof u);
    OPENSSL_cleanse(&w, sizeof w);
}

int mlkem768_keygen_internal(uint8_t ek[MLKEM768_EK_BYTES], uint8_t dk[MLKEM768_DK_BYTES],
                             const uint8_t d[MLKEM768_SEED_BYTES],
                             const uint8_t z[MLKEM768_SEED_BYTES])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -1;

    if (ctx == NULL || pke_keygen(ctx, ek, dk, d) != 0 ||
        mlkem_sym_h(ctx, dk + DK_H_OFF, ek, MLKEM768_EK_BYTES) != 0)
        goto out;
    memcpy(dk + DK_EK_OFF, ek, MLKEM768_EK_BYTES);
    memcpy(dk + DK_Z_OFF, z, SYM_BYTES);
    rc = 0;
out:
    if (rc != 0) {
        OPENSSL_cleanse(ek, MLKEM768_EK_BYTES);
        OPENSSL_cleanse(dk, MLKEM768_DK_BYTES);
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

int mlkem768_keygen(uint8_t ek[MLKEM768_EK_BYTES], uint8_t dk[MLKEM768_DK_BYTES])
{
    uint8_t dz[2 * MLKEM768_SEED_BYTES];
    int rc = -1;

    if (RAND_priv_bytes(dz, sizeof dz) == 1)
        rc = mlkem768_keygen_internal(ek, dk, dz, dz + MLKEM768_SEED_BYTES);
    OPENSSL_cleanse(dz, sizeof dz);
    return rc;
}

int mlkem768_encaps_internal(uint8_t ct[MLKEM768_CT_BYTES], uint8_t ss[MLKEM768_SS_BYTES],
                             const uint8_t *ek, size_t ek_len, const uint8_t m[MLKEM768_SEED_BYTES])
{
    struct mlkem_poly t_hat[K];
    uint8_t h[SYM_BYTES], kr[2 * SYM_BYTES];
    EVP_MD_CTX *ctx = NULL;
    int rc = -1;

    /* §7.2: type check, then the modulus check: ByteEncode12(ByteDecode12(
     * ek)) == ek exactly when no encoded value is >= q. */
    if (ek == NULL || ek_len != MLKEM768_EK_BYTES || decode_t_hat(t_hat, ek) != 0)
        goto out;
    rc = -2;
    ctx = EVP_MD_CTX_new();
    /* (K, r) = G(m || H(ek)) */
    if (ctx == NULL || mlkem_sym_h(ctx, h, ek, MLKEM768_EK_BYTES) != 0 ||
        mlkem_sym_g(ctx, kr, m, SYM_BYTES, h, SYM_BYTES) != 0 ||
        pke_encrypt(ctx, ct, t_hat, ek + PKE_DK_BYTES, m, kr + SYM_BYTES) != 0)
        goto out;
    memcpy(ss, kr, MLKEM768_SS_BYTES);
    rc = 0;
out:
    if (rc != 0) {
        OPENSSL_cleanse(ct, MLKEM768_CT_BYTES);
        OPENSSL_cleanse(ss, MLKEM768_SS_BYTES);
    }
    OPENSSL_cleanse(kr, sizeof kr);
    EVP_MD_CTX_free(ctx);
    return rc;
}

int mlkem768_encaps(uint8_t ct[MLKEM768_CT_BYTES], uint8_t ss[MLKEM768_SS_BYTES], const uint8_t *ek,
                    size_t ek_len)
{
    uint8_t m[MLKEM768_SEED_BYTES];
    int rc = -2;

    if (ek == NULL || ek_len != MLKEM768_EK_BYTES)
        rc = -1;
    else if (RAND_priv_bytes(m, sizeof m) == 1)
        rc = mlkem768_encaps_internal(ct, ss, ek, ek_len, m);
    if (rc != 0) {
        OPENSSL_cleanse(ct, MLKEM768_CT_BYTES);
        OPENSSL_cleanse(ss, MLKEM768_SS_BYTES);
    }
    OPENSSL_cleanse(m, sizeof m);
    return rc;
}

int mlkem768_decaps(uint8_t ss[MLKEM768_SS_BYTES], const uint8_t *dk, size_t dk_len,
                    const uint8_t *ct, size_t ct_len)
{
    struct mlkem_poly t_hat[K];
    uint8_t h[SYM_BYTES], m[SYM_BYTES], kr[2 * SYM_BYTES], k_bar[SYM_BYTES];
    uint8_t ct2[MLKEM768_CT_BYTES];
    EVP_MD_CTX *ctx = NULL;
    int rc = -1;

    /* §7.3: ciphertext and key type checks */
    if (dk == NULL || ct == NULL || dk_len != MLKEM768_DK_BYTES || ct_len != MLKEM768_CT_BYTES)
        goto out;
    rc = -2;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || mlkem_sym_h(ctx, h, dk + DK_EK_OFF, MLKEM768_EK_BYTES) != 0)
        goto out;
    /* §7.3 hash check: H(ek) stored in dk matches ek stored in dk */
    if (CRYPTO_memcmp(h, dk + DK_H_OFF, SYM_BYTES) != 0) {
        rc = -1;
        goto out;
    }
    /* Alg. 18: m' = Decrypt(dk_pke, c); (K', r') = G(m' || h);
     * K_bar = J(z || c); c' = Encrypt(ek_pke, m', r'); K' unless c != c' */
    pke_decrypt(m, dk, ct);
    (void)decode_t_hat(t_hat, dk + DK_EK_OFF);
    if (mlkem_sym_g(ctx, kr, m, SYM_BYTES, dk + DK_H_OFF, SYM_BYTES) != 0 ||
        mlkem_sym_j(ctx, k_bar, dk + DK_Z_OFF, ct, MLKEM768_CT_BYTES) != 0 ||
        pke_encrypt(ctx, ct2, t_hat, dk + DK_EK_OFF + PKE_DK_BYTES, m, kr + SYM_BYTES) != 0)
        goto out;
    ct_select(ss, kr, k_bar, MLKEM768_SS_BYTES, ct_eq_mask(ct, ct2, MLKEM768_CT_BYTES));
    rc = 0;
out:
    if (rc != 0)
        OPENSSL_cleanse(ss, MLKEM768_SS_BYTES);
    OPENSSL_cleanse(m, sizeof m);
    OPENSSL_cleanse(kr, sizeof kr);
    OPENSSL_cleanse(k_bar, sizeof k_bar);
    OPENSSL_cleanse(ct2, sizeof ct2);
    EVP_MD_CTX_free(ctx);
    return rc;
}
