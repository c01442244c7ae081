/* base64url without padding (RFC 4648 section 5), strict. */
#ifndef RPXY_UTIL_BASE64URL_H
#define RPXY_UTIL_BASE64URL_H

#include <stddef.h>
#include <stdint.h>

/* Encoded length of n bytes (no padding, no NUL). */
size_t b64url_encoded_len(size_t n);

/* Writes the encoding of in[0..n) to out (b64url_encoded_len(n) bytes, plus a
 * NUL if room allows: out must hold b64url_encoded_len(n) + 1). Returns the
 * encoded length. */
size_t b64url_encode(const uint8_t *in, size_t n, char *out);

/* Decodes len characters into out (capacity cap). Rejects '=', '+', '/',
 * whitespace, any other byte outside the alphabet, a length of 1 mod 4 and
 * non-zero trailing bits. Returns the decoded length, or -1 with *why set. */
long b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap, const char **why);

#endif
