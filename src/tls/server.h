/* Terminating TLS: the contexts and the ClientHello decision.
 *
 * Every connection starts on one "front" context that carries what must be
 * fixed before the ClientHello is read (versions, cipher suites, groups,
 * session tickets). A ClientHello callback then picks the app by SNI and
 * moves the connection to that app's context (certificate, client CA), or
 * refuses it: such connections are closed without a TLS alert, as rpxy does
 * (SPEC 8.3). */
#ifndef RPXY_TLS_SERVER_H
#define RPXY_TLS_SERVER_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

struct tls_material;
struct tls_sni_table;

/* Audit categories of SPEC 8.5. */
enum tls_failure {
    TLS_FAIL_NONE,
    TLS_FAIL_ACCEPTOR,       /* not TLS, malformed ClientHello */
    TLS_FAIL_NO_SNI,         /* no server_name */
    TLS_FAIL_UNKNOWN_SNI,    /* no app (with a usable certificate) of that name */
    TLS_FAIL_ACME_NO_CONFIG, /* acme-tls/1 for a name that is no ACME domain */
    TLS_FAIL_CLIENT_CERT,    /* mutual TLS: missing or invalid client certificate */
    TLS_FAIL_HANDSHAKE,      /* any other handshake error */
    TLS_FAIL_TIMEOUT,        /* not done within TLS_HANDSHAKE_TIMEOUT_MS */
};

#define TLS_HANDSHAKE_TIMEOUT_MS 15000

/* What the ClientHello decided for one connection. */
struct tls_hello {
    const struct tls_sni_table *table; /* the worker's current set, during the handshake */
    enum tls_failure refused;          /* set: close without an alert */
    bool decided;
    bool mtls;
    bool acme;     /* answered an ACME TLS-ALPN-01 challenge: close after the handshake */
    bool quic;     /* a QUIC handshake: ALPN h3 only */
    char sni[256]; /* lower-case; "" when the client sent none */
};

/* Loads the post-quantum provider and builds the front context. Call once
 * at start-up. Returns 0, or -1 after logging why. */
int tls_server_init(void);
void tls_server_free(void);

/* A context for one app. Returns NULL with a message in err. */
SSL_CTX *tls_site_ctx_new(const struct tls_material *m, const char *server_name, char *err,
                          size_t errlen);

/* A server connection on the front context, reporting into h (which must
 * outlive it). NULL when out of memory. */
SSL *tls_server_ssl_new(struct tls_hello *h);

/* "acceptor", "no_sni", ... */
const char *tls_failure_name(enum tls_failure f);

/* The groups offered on both sides, most preferred first. */
const char *tls_groups_list(void);

#endif
