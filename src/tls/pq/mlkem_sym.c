/* ML-KEM's hash functions and XOFs on OpenSSL EVP (FIPS 203 §4.1). */
#include "tls/pq/mlkem_sym.h"

#include <pthread.h>

/* Fetched once by fetch_all() and kept for the life of the process. */
static EVP_MD *md_sha3_256, *md_sha3_512, *md_shake_128, *md_shake_256;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
    md_sha3_256 = EVP_MD_fetch(NULL, "SHA3-256", NULL);
    md_sha3_512 = EVP_MD_fetch(NULL, "SHA3-512", NULL);
    md_shake_128 = EVP_MD_fetch(NULL, "SHAKE-128", NULL);
    md_shake_256 = EVP_MD_fetch(NULL, "SHAKE-256", NULL);
}

/* Which algorithm a call wants; the fetched object is looked up after the
 * once-initialisation. */
enum sym_alg { SYM_SHA3_256, SYM_SHA3_512, SYM_SHAKE_128, SYM_SHAKE_256 };

static const EVP_MD *sym_md(enum sym_alg alg)
{
    if (pthread_once(&fetch_once, fetch_all) != 0)
        return NULL;
    switch (alg) {
    case SYM_SHA3_256: return md_sha3_256;
    case SYM_SHA3_512: return md_sha3_512;
    case SYM_SHAKE_128: return md_shake_128;
    case SYM_SHAKE_256: return md_shake_256;
    }
    return NULL;
}

/* One hash of a || b (b may be empty) into out_len bytes: a fixed-length
 * digest when xof is 0 (out_len must then be its size), else an XOF read. */
static int digest2(EVP_MD_CTX *ctx, enum sym_alg alg, int xof, uint8_t *out, size_t out_len,
                   const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    const EVP_MD *md = sym_md(alg);

    if (md == NULL || EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, a, a_len) != 1 || (b_len && EVP_DigestUpdate(ctx, b, b_len) != 1))
        return -1;
    if (xof)
        return EVP_DigestFinalXOF(ctx, out, out_len) == 1 ? 0 : -1;
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != out_len)
        return -1;
    return 0;
}

int mlkem_sym_h(EVP_MD_CTX *ctx, uint8_t out[32], const uint8_t *in, size_t len)
{
    return digest2(ctx, SYM_SHA3_256, 0, out, 32, in, len, NULL, 0);
}

int mlkem_sym_g(EVP_MD_CTX *ctx, uint8_t out[64], const uint8_t *a, size_t a_len, const uint8_t *b,
                size_t b_len)
{
    return digest2(ctx, SYM_SHA3_512, 0, out, 64, a, a_len, b, b_len);
}

int mlkem_sym_j(EVP_MD_CTX *ctx, uint8_t out[32], const uint8_t z[32], const uint8_t *c,
                size_t c_len)
{
    return digest2(ctx, SYM_SHAKE_256, 1, out, 32, z, 32, c, c_len);
}

int mlkem_sym_prf(EVP_MD_CTX *ctx, uint8_t *out, size_t out_len, const uint8_t s[32], uint8_t n)
{
    return digest2(ctx, SYM_SHAKE_256, 1, out, out_len, s, 32, &n, 1);
}

int mlkem_sym_xof(EVP_MD_CTX *ctx, uint8_t *out, size_t out_len, const uint8_t rho[32], uint8_t x,
                  uint8_t y)
{
    uint8_t xy[2] = { x, y };
    return digest2(ctx, SYM_SHAKE_128, 1, out, out_len, rho, 32, xy, 2);
}
