/* TLS handshakes in the metrics counters, for the TCP TLS listener and for
 * QUIC alike (both run the same OpenSSL handshake). */
#ifndef RPXY_METRICS_TLS_HANDSHAKE_H
#define RPXY_METRICS_TLS_HANDSHAKE_H

#include <openssl/ssl.h>
#include <stdbool.h>

#include "metrics/counters.h"
#include "tls/server.h"

/* A handshake completed: counted by version and key-exchange group. */
void mx_tls_handshake_done(struct mx_worker *m, bool quic, SSL *ssl);

/* A handshake failed for reason f (enum tls_failure). */
static inline void mx_tls_handshake_failed(struct mx_worker *m, bool quic, enum tls_failure f)
{
    if ((unsigned)f < MX_TLS_FAILURES)
        mx_add(&m->tls_failed[quic][f], 1);
}

#endif
