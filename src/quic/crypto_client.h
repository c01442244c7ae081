/* The crypto side of a QUIC v1 client on ngtcp2 0.12 (RFC 9001), the
 * counterpart of the server callbacks of quic/crypto.h and built from the
 * same primitives: the Initial keys of the client role, the Retry integrity
 * AEAD ngtcp2 checks a Retry with, and the callbacks of a client
 * connection. Handshake and 1-RTT keys come from the TLS bridge's secrets
 * through quic_crypto_install_secret(), as on a server (no 0-RTT). */
#ifndef RPXY_QUIC_CRYPTO_CLIENT_H
#define RPXY_QUIC_CRYPTO_CLIENT_H

#include <ngtcp2/ngtcp2.h>

/* Sets in cb what quic_crypto_callbacks() sets, except recv_client_initial
 * (left NULL), plus recv_retry (new Initial keys from the Retry's Source
 * Connection ID). client_initial is the caller's: it calls
 * quic_crypto_client_initial(), then has TLS write the ClientHello and
 * submits it (ngtcp2_conn_submit_crypto_data()). Other members are left as
 * they are. */
void quic_crypto_client_callbacks(ngtcp2_callbacks *cb);

/* Installs the client's v1 Initial keys for the connection's current
 * Destination Connection ID and, before any Retry, the Retry integrity
 * AEAD. Returns 0, or -1 (another version, out of memory: nothing is left
 * allocated). */
int quic_crypto_client_initial(ngtcp2_conn *conn);

#endif
