/* Idle upstream connections of one worker, keyed by upstream address, so
 * requests reuse warm keep-alive connections (the biggest speed lever). An
 * idle connection is closed after `upstream_idle_timeout` (default 4 s, shorter
 * than common backends' keep-alive timeouts), or as soon as the backend
 * closes it. */
#ifndef RPXY_UPSTREAM_POOL_H
#define RPXY_UPSTREAM_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/loop.h"
#include "metrics/counters.h"
#include "net/tls_io.h"

#define UPSTREAM_IDLE_PER_KEY 256

struct worker;
struct upstream_pool;

/* An upstream TCP connection (plain or TLS); owned by an exchange while in
 * use, by the pool while idle. */
struct upstream_conn {
    struct loop_io io;
    struct tls_io *tls; /* NULL for plain TCP */
    bool tls_done;      /* handshake complete */
    char tls_name[256]; /* the name verified (and sent as SNI unless an IP) */
    struct buf in;
    bool can_read, can_write;
    bool rdhup; /* epoll saw the peer's FIN: read until 0 even after a short read */
    bool connected;
    bool reused; /* came from the pool */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct upstream_pool *pool;
    struct upstream_conn *idle_next, *idle_prev;
    size_t bucket;
    unsigned mx_slot; /* metrics slot of the upstream it was opened for */
    struct loop_timer idle_timer;
    void *owner; /* the exchange using it */
    void (*on_event)(struct upstream_conn *uc, uint32_t events);
};

struct upstream_pool *upstream_pool_new(struct worker *w);
void upstream_pool_free(struct upstream_pool *p);

/* Takes an idle connection to addr (TLS with tls_name verified, or plain
 * when tls_name is NULL), or returns NULL. */
struct upstream_conn *upstream_pool_take(struct upstream_pool *p, const struct sockaddr *addr,
                                         socklen_t len, const char *tls_name);

/* Starts a non-blocking connect to addr, with TLS toward tls_name unless it
 * is NULL (the handshake is the caller's: tls_io_handshake once connected),
 * counted for the upstream of metrics slot mx_slot. Returns the connection
 * (connecting; on_event will report writability) or NULL with errno set. */
struct upstream_conn *upstream_connect(struct upstream_pool *p, const struct sockaddr *addr,
                                       socklen_t len, const char *tls_name, unsigned mx_slot);

/* Hands a connection with no pending bytes back to the pool as idle, or
 * closes it when the pool for that address is full. */
void upstream_pool_put(struct upstream_pool *p, struct upstream_conn *uc);

/* Closes and frees a connection (not in the pool). */
void upstream_conn_close(struct upstream_pool *p, struct upstream_conn *uc);

/* Idle connections in the pool now (for the metrics). */
void upstream_pool_idle(const struct upstream_pool *p, uint64_t by_slot[MX_UPSTREAMS]);

/* Closes every idle connection (worker shutdown). */
void upstream_pool_close_all(struct upstream_pool *p);

#endif
