/* A client connection, whatever HTTP version it speaks: admission
 * (max_clients, per-IP slots), the TLS handshake, reading and writing bytes,
 * timeouts and closing. Once the first bytes tell the protocol (the HTTP/2
 * connection preface, or anything else for HTTP/1.x), the connection is
 * served by http/h1_server or http/h2_server. */
#ifndef RPXY_PROXY_CLIENT_CONN_H
#define RPXY_PROXY_CLIENT_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/loop.h"
#include "http/h1_chunked.h"
#include "util/ipaddr.h"

struct worker;
struct exchange;
struct client_tls;
struct h2_conn;
struct quic_conn;

enum client_proto {
    CLIENT_PROTO_UNKNOWN, /* waiting for the first bytes */
    CLIENT_PROTO_H1,
    CLIENT_PROTO_H2,
    CLIENT_PROTO_H3, /* a QUIC connection: no socket of its own */
};

struct client {
    struct loop_io io;
    struct worker *w;
    struct client *next, *prev; /* the worker's list */
    enum client_proto proto;
    struct buf in;  /* bytes from the client */
    struct buf out; /* bytes for the client: heads, synthetic responses, frames */
    bool can_read, can_write;
    bool read_eof;  /* the client closed its sending side */
    bool rdhup;     /* epoll saw the peer's FIN: read until 0 even after a short read */
    bool closing;   /* close once `out` is flushed */
    bool orderly;   /* ... after a complete exchange: no lingering needed if nothing unread */
    bool lingering; /* half-closed after an error: discarding input until EOF */
    bool dead;      /* closed; freed after this loop pass */
    bool ip_slot;   /* holds a max_clients_per_ip slot */
    uint32_t ip_limit;
    struct ip_addr peer_ip;
    uint16_t peer_port;
    uint16_t local_port;
    bool tls;                /* arrived on the TLS listener */
    bool proxy_header_due;   /* waiting for the PROXY header (SPEC 15) */
    bool counted;            /* counted against max_clients (TLS: after the handshake) */
    struct client_tls *tlsc; /* TLS state, NULL on plaintext connections */
    struct loop_timer timer; /* head read / keep-alive idle / TLS handshake */
    struct loop_timer life;  /* connection_handling_timeout */

    /* HTTP/1.x: the request in progress and how its response is framed */
    struct exchange *ex;
    bool keep_alive;        /* another request may follow this one */
    bool chunked_out;       /* the response body is re-encoded as chunked */
    bool http10;            /* the request was HTTP/1.0 */
    bool shut_wr;           /* after a 101: our sending side is shut */
    bool req_chunked;       /* the request body is chunked (decoded here) */
    uint64_t req_remaining; /* Content-Length body bytes still to come */
    struct h1_chunked req_chunk;

    struct h2_conn *h2;     /* HTTP/2 session, NULL otherwise */
    struct quic_conn *quic; /* QUIC connection (HTTP/3), NULL otherwise */
    bool redrive_all;       /* a deferred drive: every stream gets its turn */

    struct loop_deferred free_d;
    struct loop_deferred redrive_d; /* continue a busy connection later in the pass */
    struct loop_deferred end_d;     /* drive once at the end of this pass */
};

/* The worker's connection operations for TCP listeners. */
extern const struct worker_conn_ops client_conn_ops;

/* Takes over an accepted socket: admission (max_clients, per-IP), then
 * serving. peer_sockaddr is a struct sockaddr_storage. */
void client_accept(struct worker *w, int fd, const void *peer_sockaddr, uint16_t local_port,
                   bool tls);

/* The client side of a QUIC connection qc (owned by it from now on: freed
 * by client_close) from peer. NULL when draining or out of memory. */
struct client *client_new_quic(struct worker *w, const struct sockaddr *peer, struct quic_conn *qc);

/* Takes a max_clients_per_ip slot for c (limit 0: none needed). Returns
 * false when the peer has too many. */
bool client_take_ip_slot(struct client *c, uint32_t limit);

/* Gives the slot back before the connection is freed (a QUIC connection
 * in its closing or draining period no longer counts). */
void client_release_ip_slot(struct client *c);

/* Drives a connection after any change (I/O readiness, exchange progress)
 * and sends what that produced. */
void client_drive(struct client *c);

/* Queues client_drive for the end of this loop pass (once however often
 * it is asked): what several events produced leaves in one write. */
void client_drive_at_end(struct client *c);

/* Queues client_drive for later in this loop pass (fairness between
 * connections). */
void client_redrive_later(struct client *c);

/* Closes at once (a no-op when already closed); memory is freed after the
 * loop pass. */
void client_close(struct client *c);

/* Ends a connection whose output was flushed: close_notify on TLS, then
 * close, or half-close and discard input for a while when unread bytes
 * could otherwise make the kernel reset the connection. */
void client_close_gracefully(struct client *c);

/* Closes connections that have no request in progress (graceful drain);
 * HTTP/2 connections get a GOAWAY and close when their streams are done. */
void client_close_idle_all(struct worker *w);

/* Closes every connection (forced stop). */
void client_close_all(struct worker *w);

/* Reads from the client (plain or TLS) into p. Returns bytes, 0 at the end
 * of the stream, IO_AGAIN or IO_ERROR; clears c->can_read when the socket
 * was drained. */
ssize_t client_recv(struct client *c, void *p, size_t room);

/* Writes c->out (and an optional slice after it) to the client. Returns
 * bytes of the slice written, or -1 when the connection failed. */
long client_flush(struct client *c, const char *slice, size_t slice_len);

/* Reads into c->in. Returns 1 (bytes arrived), 0 (nothing now; read_eof set
 * at the end of the stream), -1 (error) or -2 (c->in is at BUF_MAX). */
int client_read_more(struct client *c);

/* Arms the keep-alive / header-read timer (client_header_timeout). */
void client_arm_idle_timer(struct client *c);
/* Arms the same timer for ms (HTTP/2 keep-alive); it fires into the
 * protocol's idle handling. */
void client_arm_timer_ms(struct client *c, uint64_t ms);

/* The SNI of the connection's TLS handshake, or NULL on plaintext. */
const char *client_sni(const struct client *c);

#endif
