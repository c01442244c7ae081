/* TLS toward upstreams (SPEC 8.6): verification against the system trust
 * store (SSL_CERT_FILE / SSL_CERT_DIR honoured) with a host name check, SNI
 * = the upstream host (none for IP literals, which are checked against the
 * certificate's IP addresses), ALPN http/1.1 (the only protocol we speak to
 * upstreams so far), the same group preference as the listener, and session
 * resumption through a small per-worker cache. */
#ifndef RPXY_TLS_CLIENT_H
#define RPXY_TLS_CLIENT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

/* Builds the client context. Call once at start-up after tls_server_init.
 * Returns 0, or -1 after logging why. */
int tls_client_init(void);
void tls_client_free(void);

/* Where a new session for a connection goes: set as the SSL's app data. */
struct tls_session_slot {
    SSL_SESSION *session;
};

/* A client connection to host, resuming from slot's session when there is
 * one and storing new sessions there (slot must outlive the SSL or be
 * detached with SSL_set_app_data(ssl, NULL)). NULL when out of memory. */
SSL *tls_client_ssl_new(const char *host, struct tls_session_slot *slot);

/* Why verification failed, for the log (static text), or NULL. */
const char *tls_client_verify_error(SSL *ssl);

#endif
