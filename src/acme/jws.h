/* JSON Web Signatures for ACME (RFC 8555 section 6.2, RFC 7515/7518): the
 * account key is ECDSA P-256, requests are signed ES256 in the flattened
 * JSON serialization, and the key's RFC 7638 thumbprint goes into key
 * authorizations (RFC 8555 section 8.1). */
#ifndef RPXY_ACME_JWS_H
#define RPXY_ACME_JWS_H

#include <openssl/evp.h>
#include <stddef.h>

/* A fresh P-256 key, or NULL. */
EVP_PKEY *jws_key_new(void);

/* The public JWK {"crv","kty","x","y"} (members in RFC 7638 order, no
 * spaces) into out. Returns 0, or -1 when the key is no P-256 key. */
int jws_jwk(EVP_PKEY *key, char *out, size_t cap);

/* base64url(SHA-256(JWK)) into out (at least 44 bytes). Returns 0 or -1. */
int jws_thumbprint(EVP_PKEY *key, char *out, size_t cap);

/* A signed request body: protected header {alg, nonce, url} plus "kid" when
 * kid is not NULL, else "jwk"; payload is the JSON text, or "" for
 * POST-as-GET. Returns a malloc'd string (the caller frees), or NULL. */
char *jws_sign(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
               const char *payload);

#endif
