/* One ACME conversation (RFC 8555) on the ACME thread, blocking, every step
 * bounded (acme/http.h) and interruptible by the stop flag: the directory,
 * nonces (a badNonce answer is retried with the fresh nonce), the account
 * (created, or found again for a stored key), then per certificate an
 * order, its authorizations answered by TLS-ALPN-01 (or HTTP-01) through
 * acme/challenge.h, finalize with a CSR for a fresh P-256 key, and the
 * chain downloaded and checked against the key and the domain. */
#ifndef RPXY_ACME_CLIENT_H
#define RPXY_ACME_CLIENT_H

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "acme/json.h"

struct acme_http;

struct acme_client {
    struct acme_http *http;
    atomic_bool *stop;
    char *dir_url;
    char *email;
    EVP_PKEY *account_key; /* borrowed */
    char thumbprint[48];
    bool have_dir;
    struct acme_directory dir;
    char kid[ACME_URL_MAX]; /* account URL; "" until known */
    char nonce[256];
};

/* Returns 0, or -1 when out of memory. account_key must outlive c. */
int acme_client_init(struct acme_client *c, const char *dir_url, const char *email,
                     EVP_PKEY *account_key, atomic_bool *stop);
void acme_client_free(struct acme_client *c);

/* Obtains a certificate for domain. On success returns 0 and *pem (malloc'd,
 * *len bytes): the PKCS#8 PEM key, a blank line, the PEM chain (SPEC 10's
 * file content). On failure -1 with the reason in err. */
int acme_client_issue(struct acme_client *c, const char *domain, bool http01, char **pem,
                      size_t *len, char *err, size_t errlen);

#endif
