/* The HTTP/1.1 upstream client of an exchange: connecting (pooled
 * keep-alive connections, TLS), writing the request head and body, reading
 * and parsing the response (interim 1xx skipped, chunked decoded, 101
 * returned as is) and handing it to the exchange's front-end. */
#ifndef RPXY_UPSTREAM_H1_CLIENT_H
#define RPXY_UPSTREAM_H1_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct exchange;

/* Takes a pooled connection to ex->up (unless fresh_only) or starts a new
 * one. Returns 0 or -1. */
int h1c_attach(struct exchange *ex, bool fresh_only);

/* Gives the connection back to the pool (reuse) or closes it. */
void h1c_release(struct exchange *ex, bool reuse);

/* Whether the connection came from the pool; whether it has no unread bytes. */
bool h1c_reused(const struct exchange *ex);
bool h1c_idle(const struct exchange *ex);

/* Completes the connect and the TLS handshake. Returns 1 when the request
 * may now be sent, 0 when there is nothing new, -1 when the exchange ended. */
int h1c_check_connected(struct exchange *ex);

/* Writes the queued head/chunks and then p[0..n) (written straight from the
 * caller's buffer). Returns the bytes of p written, or -1 when the exchange
 * ended; *progress (may be NULL) tells whether anything was written. */
long h1c_send(struct exchange *ex, const char *p, size_t n, bool *progress);

/* Queues body bytes as one chunk, or the last chunk with trailer field
 * lines. Returns 0 or -1 (out of memory). */
int h1c_frame_chunk(struct exchange *ex, const char *p, size_t n);
int h1c_frame_last_chunk(struct exchange *ex, const char *trailer, size_t trailer_len);

/* Tunnel: the client closed its side; pass that on. */
void h1c_shutdown_write(struct exchange *ex);

/* Reads from the upstream and hands the response to the front-end. Returns
 * 1 on progress, 0 when there is nothing new, -1 when the exchange ended. */
int h1c_pump_response(struct exchange *ex);

#endif
