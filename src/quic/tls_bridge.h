/* The QUIC handshake (RFC 9001) on an ordinary OpenSSL 3.0 SSL, the way
 * nginx's "OpenSSL compat" layer does it, so that QUIC connections use the
 * very SSL_CTX objects of TCP TLS (certificates, SNI switching, tickets,
 * mTLS, groups):
 *
 *  - handshake bytes OpenSSL writes are taken, message by message, from its
 *    message callback and handed out as CRYPTO data; the records themselves
 *    go to a null BIO, so no TLS record ever reaches a socket;
 *  - CRYPTO data received is wrapped into TLS 1.3 records (plaintext at
 *    INITIAL, sealed with the read secret at HANDSHAKE and APPLICATION) and
 *    written to the SSL's read BIO;
 *  - traffic secrets come from the keylog callback, the moment OpenSSL
 *    installs them;
 *  - quic_transport_parameters (0x39) is a custom extension.
 *
 * Order of events (what the connection code installs keys by): bytes a
 * level's last message needs are reported (crypto_data) before the write
 * secret of the next level; a read secret is reported exactly when OpenSSL
 * starts expecting records of that level, and CRYPTO data provided early for
 * that level is handed to OpenSSL at that moment. As seen with OpenSSL 3.0.x:
 *   server: crypto_data(INITIAL: ServerHello), secret(HANDSHAKE, write),
 *           secret(HANDSHAKE, read), crypto_data(HANDSHAKE: EE..Finished),
 *           secret(APPLICATION, write) -- all in the call that got the
 *           ClientHello; then, in the call that gets the client Finished,
 *           secret(APPLICATION, read), crypto_data(APPLICATION:
 *           NewSessionTicket).
 *   client: crypto_data(INITIAL: ClientHello); after the ServerHello
 *           secret(HANDSHAKE, read); after the server Finished
 *           secret(APPLICATION, read), and only then secret(HANDSHAKE,
 *           write) (OpenSSL 3.0 makes the client's handshake write key when
 *           it is about to write), crypto_data(HANDSHAKE: [Certificate..]
 *           Finished), secret(APPLICATION, write).
 * A HelloRetryRequest just adds a round of INITIAL data.
 *
 * TLS 1.3 only, no ChangeCipherSpec, no KeyUpdate (a received one is an
 * unexpected_message), no 0-RTT (never offered nor accepted). */
#ifndef RPXY_QUIC_TLS_BRIDGE_H
#define RPXY_QUIC_TLS_BRIDGE_H

#include <ngtcp2/ngtcp2.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "tls/hkdf_label.h"

#define QUIC_TLS_EXT_TRANSPORT_PARAMS 0x39
#define QUIC_TLS_ALERT_MISSING_EXTENSION 109
#define QUIC_TLS_ALERT_NO_APPLICATION_PROTOCOL 120

/* What the connection gets from the bridge; called from inside
 * quic_tls_do_handshake(). Pointers are valid only during the call. A
 * non-zero return fails the handshake (internal_error). */
struct quic_tls_ops {
    /* A traffic secret of level, for writing (write=1) or reading. */
    int (*secret)(void *arg, ngtcp2_crypto_level level, int write, const struct tls13_suite *suite,
                  const uint8_t *secret, size_t len);
    /* Handshake bytes to send in CRYPTO frames at level. */
    int (*crypto_data)(void *arg, ngtcp2_crypto_level level, const uint8_t *data, size_t len);
    /* The TLS alert that ends the handshake (QUIC error 0x100 + alert);
     * optional, quic_tls_alert() gives it too. */
    void (*alert)(void *arg, uint8_t alert);
};

struct quic_tls;

/* Registers the keylog callback (chaining one already set) and the 0x39
 * custom extension on ctx. Call once per context a QUIC connection can be
 * on: the front context and every app context (SSL_set_SSL_CTX moves the
 * connection, and OpenSSL then uses the new context's keylog callback and
 * extensions); client contexts too. Harmless for TCP connections on the same
 * context; calling it twice is a no-op. The front context is not optional:
 * OpenSSL sorts the ClientHello's extensions by the front context's list
 * before the ClientHello callback switches, so without it 0x39 is lost.
 * Returns 0 or -1. */
int quic_tls_ctx_prepare(SSL_CTX *ctx);

/* Attaches a bridge to ssl (a fresh SSL of a prepared context, caller's):
 * installs its BIOs, TLS 1.3 only, no middlebox compatibility, the role's
 * accept/connect state. ops and arg must outlive the bridge. From then on
 * only the bridge drives the SSL (no SSL_read/SSL_write/SSL_do_handshake of
 * one's own). Free the bridge before the SSL. NULL when out of memory. */
struct quic_tls *quic_tls_new(SSL *ssl, int server, const struct quic_tls_ops *ops, void *arg);

void quic_tls_free(struct quic_tls *qt);

/* The bridge attached to ssl, or NULL (a TCP connection): lets context-wide
 * callbacks such as ALPN selection tell QUIC connections apart. */
struct quic_tls *quic_tls_get(const SSL *ssl);

/* Our transport parameters, copied; set before the first
 * quic_tls_do_handshake(). Without them none are sent. Returns 0 or -1. */
int quic_tls_set_local_transport_params(struct quic_tls *qt, const uint8_t *p, size_t n);

/* The peer's transport parameters (owned by the bridge), or NULL until they
 * arrived: a server has them after the ClientHello, a client after
 * EncryptedExtensions. A peer that sends none fails the handshake with
 * missing_extension (109). */
const uint8_t *quic_tls_peer_transport_params(struct quic_tls *qt, size_t *n);

/* CRYPTO frame data received at level, in stream order. Queued for OpenSSL
 * (held back until the read secret of level is known); processed by the
 * next quic_tls_do_handshake(). Data at a level OpenSSL has moved past, or
 * at EARLY, fails with unexpected_message. Returns 0 or -1 (alert set). */
int quic_tls_provide(struct quic_tls *qt, ngtcp2_crypto_level level, const uint8_t *data,
                     size_t len);

/* Runs OpenSSL on what was provided. Returns 1 when the handshake is
 * complete (afterwards: post-handshake messages processed), 0 when it wants
 * more data, -1 on failure: quic_tls_alert() then tells the alert, or 0 when
 * OpenSSL stopped without one (e.g. the ClientHello callback refused the
 * connection; the caller knows why). OpenSSL's error queue is left for the
 * caller to log. */
int quic_tls_do_handshake(struct quic_tls *qt);

/* The alert that ended the handshake, 0 if none. */
uint8_t quic_tls_alert(const struct quic_tls *qt);

#endif
