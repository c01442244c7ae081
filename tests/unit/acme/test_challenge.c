/* ACME challenge answers: the RFC 8737 certificate (subjectAltName the
 * domain, the critical acmeIdentifier extension 1.3.6.1.5.5.7.1.31 holding
 * an OCTET STRING of SHA-256(key authorization), signed by its own key), the
 * shared TLS-ALPN-01 contexts by SNI and the HTTP-01 tokens, set and
 * cleared. */
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "../tap.h"
#include "acme/challenge.h"

int main(void)
{
    const char *ka = "token-abc.thumbprint-xyz";
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    TAP_OK(acme_challenge_cert("a.example", ka, &cert, &key) == 0 && cert && key, "built");

    /* subjectAltName: exactly the domain */
    GENERAL_NAMES *san = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int san_ok = san && sk_GENERAL_NAME_num(san) == 1;
    if (san_ok) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, 0);
        san_ok = g->type == GEN_DNS &&
                 strcmp((const char *)ASN1_STRING_get0_data(g->d.dNSName), "a.example") == 0;
    }
    GENERAL_NAMES_free(san);
    TAP_OK(san_ok, "subjectAltName is the domain");

    /* acmeIdentifier: critical, OCTET STRING (0x04 0x20) of the digest */
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
    int at = X509_get_ext_by_OBJ(cert, oid, -1);
    X509_EXTENSION *ext = at >= 0 ? X509_get_ext(cert, at) : NULL;
    TAP_OK(ext && X509_EXTENSION_get_critical(ext), "acmeIdentifier present and critical");
    uint8_t want[2 + SHA256_DIGEST_LENGTH] = { 0x04, 0x20 };
    SHA256((const uint8_t *)ka, strlen(ka), want + 2);
    const ASN1_OCTET_STRING *data = ext ? X509_EXTENSION_get_data(ext) : NULL;
    TAP_OK(data && ASN1_STRING_length(data) == (int)sizeof(want) &&
               memcmp(ASN1_STRING_get0_data(data), want, sizeof(want)) == 0,
           "acmeIdentifier is SHA-256 of the key authorization");
    ASN1_OBJECT_free(oid);
    TAP_OK(X509_verify(cert, key) == 1, "self-signed by its key");
    X509_free(cert);
    EVP_PKEY_free(key);

    /* the shared state */
    TAP_OK(acme_challenge_ctx("a.example") == NULL, "nothing pending at first");
    TAP_OK(acme_challenge_set_tls("a.example", ka) == 0, "TLS-ALPN-01 answer set");
    SSL_CTX *ctx = acme_challenge_ctx("a.example");
    TAP_OK(ctx != NULL, "its context is found by SNI");
    TAP_OK(acme_challenge_ctx("b.example") == NULL, "not for another name");
    SSL_CTX_free(ctx);
    acme_challenge_clear_tls("a.example");
    TAP_OK(acme_challenge_ctx("a.example") == NULL, "cleared");

    char out[128];
    TAP_OK(acme_challenge_set_http("tok1", ka) == 0, "HTTP-01 answer set");
    long n = acme_challenge_http("tok1", 4, out, sizeof(out));
    TAP_OK(n == (long)strlen(ka) && memcmp(out, ka, (size_t)n) == 0, "the key authorization");
    TAP_INT_EQ(acme_challenge_http("tok2", 4, out, sizeof(out)), -1, "unknown token");
    TAP_INT_EQ(acme_challenge_http("tok", 3, out, sizeof(out)), -1, "a prefix is no match");
    acme_challenge_clear_http("tok1");
    TAP_INT_EQ(acme_challenge_http("tok1", 4, out, sizeof(out)), -1, "cleared");
    acme_challenge_reset();
    return tap_done();
}
