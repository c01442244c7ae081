/* The answers to pending ACME challenges, shared by the ACME thread (which
 * sets and clears them) and every worker (whose ClientHello callback looks
 * them up). Only `acme-tls/1` hellos take the lock, never the request path.
 *
 * TLS-ALPN-01 (RFC 8737): for a domain with a pending authorization, a
 * context whose self-signed certificate names the domain and carries the
 * critical acmeIdentifier extension (SHA-256 of the key authorization), and
 * which selects ALPN acme-tls/1. HTTP-01 (RFC 8555 8.3): the key
 * authorization served for /.well-known/acme-challenge/<token>. */
#ifndef RPXY_ACME_CHALLENGE_H
#define RPXY_ACME_CHALLENGE_H

#include <openssl/ssl.h>
#include <stddef.h>

/* The RFC 8737 certificate and its key for domain and key authorization.
 * Returns 0 (the caller frees both), or -1. */
int acme_challenge_cert(const char *domain, const char *key_auth, X509 **cert, EVP_PKEY **key);

/* Publishes the TLS-ALPN-01 answer for domain (replacing any). Returns 0 or
 * -1 when the context cannot be built. */
int acme_challenge_set_tls(const char *domain, const char *key_auth);

/* Publishes the HTTP-01 answer for token. Returns 0 or -1. */
int acme_challenge_set_http(const char *token, const char *key_auth);

/* Forgets every answer for domain / token. */
void acme_challenge_clear_tls(const char *domain);
void acme_challenge_clear_http(const char *token);

/* The challenge context for an SNI, with a reference the caller releases
 * (SSL_CTX_free), or NULL when no authorization for it is pending. */
SSL_CTX *acme_challenge_ctx(const char *sni);

/* The key authorization for an HTTP-01 token copied into out; returns its
 * length, or -1 when the token is not pending. */
long acme_challenge_http(const char *token, size_t token_len, char *out, size_t cap);

/* Drops everything (shutdown). */
void acme_challenge_reset(void);

#endif
