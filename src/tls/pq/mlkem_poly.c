/* ML-KEM polynomial arithmetic (FIPS 203 §4.2.1, §4.3).
 *
 * Coefficients are canonical (in [0, q)) between operations. Reduction uses
 * one exact multiply-and-shift division by q instead of '/' or '%', and
 * conditional corrections use masks, so no branch, table index or division
 * depends on a coefficient.
 */
#include "tls/pq/mlkem_poly.h"

/* floor(2^40 / q) + 1: with it, (x * FQ_DIV_MAGIC) >> 40 == x / q exactly for
 * every x < 2^28 (the error x * (FQ_DIV_MAGIC - 2^40 / q) / 2^40 stays below
 * 1 / q). */
#define FQ_DIV_MAGIC 330282857u
#define FQ_INV_128 3303u /* 128^-1 mod q, the scaling of NTT^-1 */

/* zeta^BitRev7(i) mod q for zeta = 17, i = 0..127 (FIPS 203 Appendix A). */
static const uint16_t zetas[128] = {
    1,    1729, 2580, 3289, 2642, 630,  1897, 848,  1062, 1919, 193,  797,  2786, 3260, 569,  1746,
    296,  2447, 1339, 1476, 3046, 56,   2240, 1333, 1426, 2094, 535,  2882, 2393, 2879, 1974, 821,
    289,  331,  3253, 1756, 1197, 2304, 2277, 2055, 650,  1977, 2513, 632,  2865, 33,   1320, 1915,
    2319, 1435, 807,  452,  1438, 2868, 1534, 2402, 2647, 2617, 1481, 648,  2474, 3110, 1227, 910,
    17,   2761, 583,  2649, 1637, 723,  2288, 1100, 1409, 2662, 3281, 233,  756,  2156, 3015, 3050,
    1703, 1651, 2789, 1789, 1847, 952,  1461, 2687, 939,  2308, 2437, 2388, 733,  2337, 268,  641,
    1584, 2298, 2037, 3220, 375,  2549, 2090, 1645, 1063, 319,  2773, 757,  2099, 561,  2466, 2594,
    2804, 1092, 403,  1026, 1143, 2150, 2775, 886,  1722, 1212, 1874, 1029, 2110, 2935, 885,  2154,
};

/* zeta^(2 * BitRev7(i) + 1) mod q, i = 0..127: the moduli X^2 - gamma of
 * the 128 degree-two factors (FIPS 203 Appendix A). */
static const uint16_t gammas[128] = {
    17,   3312, 2761, 568,  583,  2746, 2649, 680,  1637, 1692, 723,  2606, 2288, 1041, 1100, 2229,
    1409, 1920, 2662, 667,  3281, 48,   233,  3096, 756,  2573, 2156, 1173, 3015, 314,  3050, 279,
    1703, 1626, 1651, 1678, 2789, 540,  1789, 1540, 1847, 1482, 952,  2377, 1461, 1868, 2687, 642,
    939,  2390, 2308, 1021, 2437, 892,  2388, 941,  733,  2596, 2337, 992,  268,  3061, 641,  2688,
    1584, 1745, 2298, 1031, 2037, 1292, 3220, 109,  375,  2954, 2549, 780,  2090, 1239, 1645, 1684,
    1063, 2266, 319,  3010, 2773, 556,  757,  2572, 2099, 1230, 561,  2768, 2466, 863,  2594, 735,
    2804, 525,  1092, 2237, 403,  2926, 1026, 2303, 1143, 2186, 2150, 1179, 2775, 554,  886,  2443,
    1722, 1607, 1212, 2117, 1874, 1455, 1029, 2300, 2110, 1219, 2935, 394,  885,  2444, 2154, 1175,
};

/* floor(x / q) for x < 2^28, without a division instruction. */
static uint32_t fq_div(uint32_t x)
{
    return (uint32_t)(((uint64_t)x * FQ_DIV_MAGIC) >> 40);
}

/* x mod q for x < 2^28. */
static uint16_t fq_mod(uint32_t x)
{
    return (uint16_t)(x - fq_div(x) * MLKEM_Q);
}

/* x mod q for x < 2q: subtract q, add it back under a mask if that went
 * below zero. */
static uint16_t fq_reduce_once(uint32_t x)
{
    uint32_t t = x - MLKEM_Q;
    t += MLKEM_Q & (0u - (t >> 31));
    return (uint16_t)t;
}

static uint16_t fq_add(uint16_t a, uint16_t b)
{
    return fq_reduce_once((uint32_t)a + b);
}

static uint16_t fq_sub(uint16_t a, uint16_t b)
{
    return fq_reduce_once((uint32_t)a + MLKEM_Q - b);
}

static uint16_t fq_mul(uint16_t a, uint16_t b)
{
    return fq_mod((uint32_t)a * b);
}

void mlkem_poly_ntt(struct mlkem_poly *f)
{
    size_t k = 1;

    for (size_t len = 128; len >= 2; len >>= 1) {
        for (size_t start = 0; start < MLKEM_N; start += 2 * len) {
            uint16_t zeta = zetas[k++];
            for (size_t j = start; j < start + len; j++) {
                uint16_t t = fq_mul(zeta, f->c[j + len]);
                f->c[j + len] = fq_sub(f->c[j], t);
                f->c[j] = fq_add(f->c[j], t);
            }
        }
    }
}

void mlkem_poly_invntt(struct mlkem_poly *f)
{
    size_t k = 127;

    for (size_t len = 2; len <= 128; len <<= 1) {
        for (size_t start = 0; start < MLKEM_N; start += 2 * len) {
            uint16_t zeta = zetas[k--];
            for (size_t j = start; j < start + len; j++) {
                uint16_t t = f->c[j];
                f->c[j] = fq_add(t, f->c[j + len]);
                f->c[j + len] = fq_mul(zeta, fq_sub(f->c[j + len], t));
            }
        }
    }
    for (size_t j = 0; j < MLKEM_N; j++)
        f->c[j] = fq_mul(f->c[j], FQ_INV_128);
}

/* BaseCaseMultiply (Alg. 12) of each pair, added to acc. The sums stay below
 * q + 2 q^2 < 2^25, so one reduction per coefficient is enough. */
void mlkem_poly_mul_acc(struct mlkem_poly *acc, const struct mlkem_poly *a,
                        const struct mlkem_poly *b)
{
    for (size_t i = 0; i < MLKEM_N / 2; i++) {
        uint32_t a0 = a->c[2 * i], a1 = a->c[2 * i + 1];
        uint32_t b0 = b->c[2 * i], b1 = b->c[2 * i + 1];
        uint32_t c0 = acc->c[2 * i] + a0 * b0 + (uint32_t)fq_mod(a1 * b1) * gammas[i];
        uint32_t c1 = acc->c[2 * i + 1] + a0 * b1 + a1 * b0;
        acc->c[2 * i] = fq_mod(c0);
        acc->c[2 * i + 1] = fq_mod(c1);
    }
}

void mlkem_poly_add(struct mlkem_poly *r, const struct mlkem_poly *a)
{
    for (size_t j = 0; j < MLKEM_N; j++)
        r->c[j] = fq_add(r->c[j], a->c[j]);
}

void mlkem_poly_sub(struct mlkem_poly *r, const struct mlkem_poly *a)
{
    for (size_t j = 0; j < MLKEM_N; j++)
        r->c[j] = fq_sub(r->c[j], a->c[j]);
}

/* Each coefficient uses four bits of the input, least significant first:
 * (b0 + b1) - (b2 + b3). Adding the odd bits onto the even ones gives every
 * two-bit sum of a 32-bit word at once. */
void mlkem_poly_cbd2(struct mlkem_poly *f, const uint8_t in[MLKEM_CBD2_BYTES])
{
    for (size_t w = 0; w < MLKEM_CBD2_BYTES / 4; w++) {
        uint32_t t = (uint32_t)in[4 * w] | (uint32_t)in[4 * w + 1] << 8 |
                     (uint32_t)in[4 * w + 2] << 16 | (uint32_t)in[4 * w + 3] << 24;
        uint32_t s = (t & 0x55555555u) + ((t >> 1) & 0x55555555u);
        for (size_t k = 0; k < 8; k++) {
            uint32_t x = (s >> (4 * k)) & 3, y = (s >> (4 * k + 2)) & 3;
            f->c[8 * w + k] = fq_reduce_once(x + MLKEM_Q - y);
        }
    }
}

size_t mlkem_poly_sample_ntt(struct mlkem_poly *f, size_t *filled, const uint8_t *buf, size_t len)
{
    size_t pos = 0, j = *filled;

    while (j < MLKEM_N && len - pos >= 3) {
        uint16_t d1 = (uint16_t)(buf[pos] | (buf[pos + 1] & 0x0f) << 8);
        uint16_t d2 = (uint16_t)(buf[pos + 1] >> 4 | buf[pos + 2] << 4);
        pos += 3;
        if (d1 < MLKEM_Q)
            f->c[j++] = d1;
        if (d2 < MLKEM_Q && j < MLKEM_N)
            f->c[j++] = d2;
    }
    *filled = j;
    return pos;
}

/* Little-endian bit packing: coefficient i occupies bits d*i .. d*i+d-1. The
 * loops depend on d only. */
void mlkem_poly_encode(uint8_t *out, const struct mlkem_poly *f, unsigned d)
{
    uint32_t acc = 0;
    unsigned bits = 0;

    for (size_t j = 0; j < MLKEM_N; j++) {
        acc |= (uint32_t)f->c[j] << bits;
        bits += d;
        while (bits >= 8) {
            *out++ = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
}

void mlkem_poly_decode(struct mlkem_poly *f, const uint8_t *in, unsigned d)
{
    uint32_t acc = 0, mask = (1u << d) - 1;
    unsigned bits = 0;

    for (size_t j = 0; j < MLKEM_N; j++) {
        while (bits < d) {
            acc |= (uint32_t)*in++ << bits;
            bits += 8;
        }
        f->c[j] = (uint16_t)(acc & mask);
        acc >>= d;
        bits -= d;
    }
}

unsigned mlkem_poly_decode12(struct mlkem_poly *f, const uint8_t in[MLKEM_POLY_BYTES])
{
    uint32_t over = 0;

    mlkem_poly_decode(f, in, 12);
    for (size_t j = 0; j < MLKEM_N; j++) {
        uint32_t t = (uint32_t)f->c[j] - MLKEM_Q;
        uint32_t below = 0u - (t >> 31); /* all ones when c < q */
        over |= ~below & 1;
        f->c[j] = (uint16_t)(t + (MLKEM_Q & below));
    }
    return over;
}

/* Compress_d(x) = round(2^d * x / q) mod 2^d = floor((2^d x + (q-1)/2) / q)
 * mod 2^d (q is odd, so there are no ties). 2^d x + (q-1)/2 < 2^23. */
void mlkem_poly_compress(struct mlkem_poly *f, unsigned d)
{
    uint32_t mask = (1u << d) - 1;

    for (size_t j = 0; j < MLKEM_N; j++)
        f->c[j] = (uint16_t)(fq_div(((uint32_t)f->c[j] << d) + (MLKEM_Q - 1) / 2) & mask);
}

/* Decompress_d(y) = round(q * y / 2^d), halves rounded up. */
void mlkem_poly_decompress(struct mlkem_poly *f, unsigned d)
{
    for (size_t j = 0; j < MLKEM_N; j++)
        f->c[j] = (uint16_t)(((uint32_t)f->c[j] * MLKEM_Q + (1u << (d - 1))) >> d);
}
