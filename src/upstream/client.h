/* What the exchange asks of an upstream client (HTTP/1.1 or HTTP/2), so
 * the exchange never depends on the upstream's wire format. */
#ifndef RPXY_UPSTREAM_CLIENT_H
#define RPXY_UPSTREAM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct exchange;

struct up_client {
    /* Takes a pooled or multiplexed connection to ex->up (unless
     * fresh_only) or starts a new one; the request head is in ex->up_out
     * (HTTP/1.1 bytes, written by upreq_build). Returns 0 or -1. */
    int (*attach)(struct exchange *ex, bool fresh_only);
    /* Lets go of the connection: back to the pool (reuse) or closed; an
     * unfinished HTTP/2 stream is reset. */
    void (*release)(struct exchange *ex, bool reuse);
    /* Whether the connection came from the pool (a failure may be retried);
     * whether it holds no unread bytes (may be reused). */
    bool (*reused)(const struct exchange *ex);
    bool (*idle)(const struct exchange *ex);
    /* Whether no byte of the request can have reached the upstream (still
     * connecting, TLS handshake included): it may go to another one. NULL
     * for clients that never connect (the cache's). */
    bool (*unsent)(const struct exchange *ex);
    /* Puts the whole request (head and what was sent of the body) back into
     * ex->up_out, as before attach, for a retry on a new connection. Returns
     * false when it cannot: bytes already sent are gone. */
    bool (*rewind)(struct exchange *ex);
    /* Completes connecting. Returns 1 when the request may now be sent, 0
     * when there is nothing new, -1 when the exchange ended. */
    int (*check_connected)(struct exchange *ex);
    /* Sends what is queued, then p[0..n) of a Content-Length body (or
     * tunnel). Returns the bytes of p taken, or -1 when the exchange ended;
     * *progress (may be NULL) tells whether anything moved. */
    long (*send)(struct exchange *ex, const char *p, size_t n, bool *progress);
    /* Queues body bytes of unknown length; then the end with trailer field
     * lines. Return 0 or -1. */
    int (*queue_body)(struct exchange *ex, const char *p, size_t n);
    int (*queue_end)(struct exchange *ex, const char *trailer, size_t trailer_len);
    /* Tunnel: the client closed its side. */
    void (*shutdown_write)(struct exchange *ex);
    /* Reads the response and hands it to the front-end. Returns 1 on
     * progress, 0 when there is nothing new, -1 when the exchange ended. */
    int (*pump_response)(struct exchange *ex);
};

extern const struct up_client h1_client;
extern const struct up_client h2_client;

#endif
