/* One QUIC connection (server side, ngtcp2): the handshake on our OpenSSL
 * contexts through the TLS bridge, packet reading and writing, its timer,
 * connection IDs and closing (the closing and draining periods). It is a
 * struct client too, so requests on it run the same exchange as TCP ones;
 * the HTTP/3 layer (http/h3_server) rides on its streams. */
#ifndef RPXY_QUIC_CONN_H
#define RPXY_QUIC_CONN_H

#include <ngtcp2/ngtcp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct quic_endpoint;
struct quic_conn;
struct client;

/* A long-header packet no connection owns: starts a connection when it is
 * an acceptable Initial (else it is dropped). */
void quic_conn_accept(struct quic_endpoint *ep, const ngtcp2_path *path, uint8_t ecn,
                      const uint8_t *pkt, size_t len);

/* A packet for qc. */
void quic_conn_recv(struct quic_conn *qc, const ngtcp2_path *path, uint8_t ecn, const uint8_t *pkt,
                    size_t len);

/* Writes what the connections that read packets in this batch have to
 * send. */
void quic_conn_flush_all(struct quic_endpoint *ep);

/* Runs its streams' exchanges, then writes (client_drive of an HTTP/3
 * connection). */
void quic_conn_drive(struct quic_conn *qc);

/* Writes what qc has to send now and re-arms its timer. */
void quic_conn_write(struct quic_conn *qc);

/* Graceful end (reload, drain): HTTP/3 GOAWAY, streams in flight finish. */
void quic_conn_shutdown(struct quic_conn *qc);

/* Closes at once with CONNECTION_CLOSE (no error) and frees; for
 * client_close(). */
void quic_conn_free(struct quic_conn *qc);

/* The SNI of the handshake ("" without one). */
const char *quic_conn_sni(const struct quic_conn *qc);

/* What the HTTP/3 layer needs of the transport. */
ngtcp2_conn *quic_conn_ngtcp2(struct quic_conn *qc);
struct client *quic_conn_client(struct quic_conn *qc);

#endif
