/* The TLS phase of a client connection: the handshake (with its 15 s
 * deadline, SNI decision and audit record), then plaintext for HTTP. */
#ifndef RPXY_PROXY_CLIENT_TLS_H
#define RPXY_PROXY_CLIENT_TLS_H

#include <stdbool.h>

#include "net/tls_io.h"
#include "tls/server.h"

struct client;
struct tls_sni_table;

struct client_tls {
    struct tls_io io;
    struct tls_hello hello;
    struct tls_sni_table *table; /* reference held during the handshake */
    bool done;                   /* handshake complete: HTTP may flow */
    bool ticket_only;            /* pending holds just the session tickets */
};

/* Sets up TLS on a new connection with the worker's certificate set.
 * Returns 0, or -1 (nothing to serve yet, or out of memory). */
int client_tls_start(struct client *c, struct tls_sni_table *table);

/* Advances the handshake. Returns 1 when done, 0 while waiting, -1 when the
 * connection failed (audit record written; the caller closes) or answered
 * an ACME TLS-ALPN-01 challenge (close_notify sent; the caller closes). */
int client_tls_step(struct client *c);

/* Logs the handshake timeout and lets the caller close. */
void client_tls_timed_out(struct client *c);

void client_tls_free(struct client *c);

/* The SNI of a finished handshake ("" without one). */
static inline const char *client_tls_sni(const struct client_tls *t)
{
    return t->hello.sni;
}

#endif
