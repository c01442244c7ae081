/* The HTTP/3 front-end (RFC 9114) on nghttp3: one session per QUIC
 * connection, one exchange per request stream, under the same pipeline as
 * HTTP/1.1 and HTTP/2 (SPEC 9.4). The transport (quic/conn) hands it the
 * stream events and pulls the bytes to send from it. */
#ifndef RPXY_HTTP_H3_SERVER_H
#define RPXY_HTTP_H3_SERVER_H

#include <nghttp3/nghttp3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct quic_conn;
struct h3_conn;

/* After the handshake: the session, its control and QPACK streams. NULL
 * when out of memory or the transport refused the streams. */
struct h3_conn *h3_server_start(struct quic_conn *qc);
void h3_server_free(struct h3_conn *h);

/* Stream events from the transport. Return 0, or an nghttp3 error code
 * (a connection error). */
int h3_server_recv(struct h3_conn *h, int64_t id, const uint8_t *data, size_t len, bool fin);
int h3_server_acked(struct h3_conn *h, int64_t id, uint64_t n);
int h3_server_stream_close(struct h3_conn *h, int64_t id, uint64_t app_error);
int h3_server_reset(struct h3_conn *h, int64_t id); /* the client reset its sending side */
int h3_server_stop_sending(struct h3_conn *h, int64_t id);
int h3_server_unblock(struct h3_conn *h, int64_t id);
void h3_server_max_streams(struct h3_conn *h, uint64_t max_bidi);

/* The next stream bytes to send (see nghttp3_conn_writev_stream), and what
 * the transport did with them. */
ssize_t h3_server_pull(struct h3_conn *h, int64_t *id, int *fin, nghttp3_vec *vec, size_t n);
int h3_server_written(struct h3_conn *h, int64_t id, size_t n, bool fin);
int h3_server_blocked(struct h3_conn *h, int64_t id);
int h3_server_shut_write(struct h3_conn *h, int64_t id);

/* Runs the exchanges that have something to do. */
void h3_server_drive(struct h3_conn *h);

/* GOAWAY: no new requests; in-flight ones finish. */
void h3_server_shutdown(struct h3_conn *h);

/* Whether streams are still open (a draining connection waits for them). */
bool h3_server_busy(const struct h3_conn *h);

#endif
