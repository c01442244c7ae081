/* JWS for ACME: the JWK and its RFC 7638 thumbprint against values computed
 * independently (Python's cryptography, from the same key), and ES256
 * signatures that OpenSSL verifies over "protected.payload" (r||s turned
 * back into DER). */
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "acme/jws.h"
#include "util/base64url.h"

static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5u8ov2oQfG1PoSal\n"
                              "lp3KQ+akYM/Cd64zndtP7tVWgHmhRANCAAQuem0fCE00ckh6SsXbKFcOEuQm70Rq\n"
                              "C/bp67koaE8W7/acmhLfF3qAlfCMs+XSGSLFlHuJK+wsjIZtTUhNKnt7\n"
                              "-----END PRIVATE KEY-----\n";

/* The string value of "name" in a flat JSON object (no escapes in it). */
static int member(const char *json, const char *name, const char **v, size_t *len)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":\"", name);
    const char *p = strstr(json, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    if (!e)
        return -1;
    *v = p;
    *len = (size_t)(e - p);
    return 0;
}

/* Whether the flattened JWS verifies with key. */
static int verifies(EVP_PKEY *key, const char *jws)
{
    const char *prot, *payload, *sig;
    size_t pl, yl, sl;
    if (member(jws, "protected", &prot, &pl) || member(jws, "payload", &payload, &yl) ||
        member(jws, "signature", &sig, &sl))
        return 0;
    uint8_t rs[64];
    if (b64url_decode(sig, sl, rs, sizeof(rs), NULL) != 64)
        return 0;
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL));
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    size_t in_len = pl + 1 + yl;
    char *in = malloc(in_len);
    memcpy(in, prot, pl);
    in[pl] = '.';
    memcpy(in + pl + 1, payload, yl);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(md, der, (size_t)der_len, (unsigned char *)in, in_len) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    free(in);
    return ok;
}

int main(void)
{
    BIO *bio = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    TAP_OK(key != NULL, "the test key loads");
    char jwk[256], tp[64];
    TAP_OK(jws_jwk(key, jwk, sizeof(jwk)) == 0, "jwk");
    TAP_STR_EQ(
        jwk,
        "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"LnptHwhNNHJIekrF2yhXDhLkJu9Eagv26eu5KGhPFu8"
        "\",\"y\":\"9pyaEt8XeoCV8Iyz5dIZIsWUe4kr7CyMhm1NSE0qe3s\"}",
        "JWK members in RFC 7638 order");
    TAP_OK(jws_thumbprint(key, tp, sizeof(tp)) == 0, "thumbprint");
    TAP_STR_EQ(tp, "i1IGafajwHkaE3Uftk3VWcCkQ0slihzeAgTJLmO99bA", "RFC 7638 thumbprint");

    char *signed_jwk = jws_sign(key, NULL, "nonce-1", "https://ca.test/new-acct",
                                "{\"termsOfServiceAgreed\":true}");
    TAP_OK(signed_jwk && verifies(key, signed_jwk), "ES256 with jwk verifies");
    char *signed_kid = jws_sign(key, "https://ca.test/acct/1", "nonce-2", "https://ca.test/o", "");
    TAP_OK(signed_kid && verifies(key, signed_kid), "POST-as-GET with kid verifies");
    const char *prot;
    size_t pl;
    uint8_t header[512];
    long hl = signed_kid && member(signed_kid, "protected", &prot, &pl) == 0
                  ? b64url_decode(prot, pl, header, sizeof(header) - 1, NULL)
                  : -1;
    if (hl >= 0)
        header[hl] = 0;
    TAP_OK(hl > 0 && strstr((char *)header, "\"kid\":\"https://ca.test/acct/1\"") &&
               strstr((char *)header, "\"alg\":\"ES256\"") && !strstr((char *)header, "\"jwk\""),
           "protected header: alg, kid, no jwk");
    /* another key's signature does not verify */
    EVP_PKEY *other = jws_key_new();
    TAP_OK(other && !verifies(other, signed_jwk), "another key does not verify it");
    free(signed_jwk);
    free(signed_kid);
    EVP_PKEY_free(other);
    EVP_PKEY_free(key);
    return tap_done();
}
