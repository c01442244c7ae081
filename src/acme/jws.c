#include "acme/jws.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64url.h"

EVP_PKEY *jws_key_new(void)
{
    return EVP_EC_gen("P-256");
}

/* The affine coordinates of a P-256 public key, 32 bytes each. */
static int coordinates(EVP_PKEY *key, unsigned char x[32], unsigned char y[32])
{
    char group[32];
    size_t glen = 0;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1 ||
        strcmp(group, "prime256v1") != 0)
        return -1;
    unsigned char pub[65];
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len) !=
            1 ||
        len != 65 || pub[0] != 0x04) {
        ERR_clear_error();
        return -1;
    }
    memcpy(x, pub + 1, 32);
    memcpy(y, pub + 33, 32);
    return 0;
}

int jws_jwk(EVP_PKEY *key, char *out, size_t cap)
{
    unsigned char x[32], y[32];
    char xs[44], ys[44];
    if (coordinates(key, x, y) < 0)
        return -1;
    b64url_encode(x, 32, xs);
    b64url_encode(y, 32, ys);
    int n =
        snprintf(out, cap, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", xs, ys);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int jws_thumbprint(EVP_PKEY *key, char *out, size_t cap)
{
    char jwk[160];
    unsigned char md[32];
    if (cap < 44 || jws_jwk(key, jwk, sizeof(jwk)) < 0 ||
        EVP_Digest(jwk, strlen(jwk), md, NULL, EVP_sha256(), NULL) != 1)
        return -1;
    b64url_encode(md, 32, out);
    return 0;
}

static char *b64url_dup(const void *data, size_t len)
{
    char *s = malloc(b64url_encoded_len(len) + 1);
    if (s)
        b64url_encode(data, len, s);
    return s;
}

/* ES256 over input: the raw r||s form JWS wants (RFC 7518 3.4), not DER. */
static int es256(EVP_PKEY *key, const char *input, unsigned char sig[64])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t der_len = sizeof(der);
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(md, der, &der_len, (const unsigned char *)input, strlen(input)) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        ERR_clear_error();
        return -1;
    }
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (!s)
        return -1;
    const BIGNUM *r, *sv;
    ECDSA_SIG_get0(s, &r, &sv);
    ok = BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(sv, sig + 32, 32) == 32;
    ECDSA_SIG_free(s);
    return ok ? 0 : -1;
}

/* JSON string contents are ours (URLs, nonces, base64url): reject anything
 * that would need escaping rather than escape it. */
static int plain(const char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            return 0;
    return 1;
}

char *jws_sign(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
               const char *payload)
{
    char jwk[160];
    if (!plain(nonce) || !plain(url) || (kid && !plain(kid)) ||
        (!kid && jws_jwk(key, jwk, sizeof(jwk)) < 0))
        return NULL;
    size_t hcap = strlen(nonce) + strlen(url) + (kid ? strlen(kid) : strlen(jwk)) + 64;
    char *header = malloc(hcap);
    if (!header)
        return NULL;
    if (kid)
        snprintf(header, hcap, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s\"}",
                 kid, nonce, url);
    else
        snprintf(header, hcap, "{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"%s\",\"url\":\"%s\"}",
                 jwk, nonce, url);
    char *h64 = b64url_dup(header, strlen(header));
    char *p64 = b64url_dup(payload, strlen(payload));
    free(header);
    char *input = NULL, *out = NULL;
    unsigned char sig[64];
    char s64[90];
    if (!h64 || !p64)
        goto done;
    size_t icap = strlen(h64) + strlen(p64) + 2;
    input = malloc(icap);
    if (!input)
        goto done;
    snprintf(input, icap, "%s.%s", h64, p64);
    if (es256(key, input, sig) < 0)
        goto done;
    b64url_encode(sig, 64, s64);
    size_t ocap = icap + sizeof(s64) + 64;
    out = malloc(ocap);
    if (out)
        snprintf(out, ocap, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", h64,
                 p64, s64);
done:
    free(h64);
    free(p64);
    free(input);
    return out;
}
