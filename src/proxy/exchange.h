/* One request/response exchange between a client connection and an
 * upstream connection, and the client connection that carries exchanges one
 * after another (HTTP/1.1 keep-alive and pipelining).
 *
 * Bytes flow through two buffers per direction: heads we write (and chunked
 * re-encoding) go through an output buffer; Content-Length bodies are written
 * straight from the buffer they were read into (writev of both), so a body
 * byte is copied once, from the kernel into our buffer. A side is only read
 * while the other side has room, which bounds memory per exchange whatever
 * the body size (back-pressure).
 */
#ifndef RPXY_PROXY_EXCHANGE_H
#define RPXY_PROXY_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/loop.h"
#include "http/h1_chunked.h"
#include "http/h1_parser.h"
#include "proxy/h1_client_conn.h"
#include "net/io_result.h"
#include "util/ipaddr.h"
#include <sys/types.h>

#define CLIENT_MAX_HEADERS 100

struct worker;
struct runtime;
struct rt_route;
struct rt_upstream;
struct upstream_conn;
struct client_tls;

struct client {
    struct loop_io io;
    struct worker *w;
    struct client *next, *prev; /* the worker's list */
    struct buf in;              /* bytes from the client */
    struct buf out;             /* bytes for the client: heads, synthetic responses */
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
    bool counted;            /* counted against max_clients (TLS: after the handshake) */
    struct client_tls *tlsc; /* TLS state, NULL on plaintext connections */
    struct loop_timer timer; /* head read / keep-alive idle / TLS handshake */
    struct loop_timer life;  /* connection_handling_timeout */
    struct exchange *ex;     /* the request in progress */
    struct loop_deferred free_d;
    struct loop_deferred redrive_d; /* continue a busy exchange later in the pass */
};

enum ex_phase {
    EX_CONNECTING, /* waiting for the upstream connection */
    EX_SENDING,    /* writing the request (head, body) */
    EX_WAIT_HEAD,  /* request sent (or being sent); reading the response head */
    EX_BODY,       /* response body flowing */
    EX_TUNNEL,     /* after 101: bytes both ways */
    EX_DONE,
};

struct exchange {
    struct client *c;
    struct runtime *rt; /* reference held */
    struct rt_route *route;
    struct rt_upstream *up;
    size_t up_index;
    struct upstream_conn *uc;
    enum ex_phase phase;
    struct loop_timer timer; /* upstream connect / response / progress */

    /* request towards the upstream */
    struct buf up_out; /* head, re-encoded chunks */
    enum h1_body req_body;
    uint64_t req_remaining; /* H1_BODY_LENGTH: body bytes still to forward */
    struct h1_chunked req_chunk;
    bool req_done;          /* whole request (head and body) handed to up_out / sent */
    uint64_t req_body_seen; /* bytes of body received, for the size limit */
    uint64_t body_limit;    /* 0 = unlimited */
    bool replayable;        /* no request body: may be retried on a fresh connection */
    bool retried;
    size_t head_len; /* length of the request head in up_out, for a retry */

    /* response towards the client */
    unsigned resp_req_flags; /* H1_REQ_* for the response parser */
    bool head_request;
    bool resp_started; /* a response head was written to the client */
    enum h1_body resp_body;
    uint64_t resp_remaining;
    struct h1_chunked resp_chunk;
    bool resp_chunked_out; /* re-encode the body as chunked for the client */
    bool resp_raw_until_close;
    bool upstream_reusable;
    bool client_keep_alive;
    bool upgrade;
    const char *upgrade_value; /* the Upgrade the client asked for */
    size_t upgrade_value_len;
    bool up_eof;      /* tunnel: the upstream closed its side */
    bool client_shut; /* tunnel: we passed that on to the client */
    int status;

    /* sticky */
    bool issue_cookie;
    size_t set_cookie_len;

    size_t strs_len;
    struct {
        const char *host, *method, *path, *scheme, *ua, *xff, *forwarded, *upstream;
        size_t host_len, method_len, path_len, scheme_len, ua_len, xff_len, forwarded_len,
            upstream_len;
        int minor;
    } log;
    struct exchange *next_free; /* the worker's cache of exchanges */

    /* Buffers last: not cleared when an exchange is reused. */
    char set_cookie[640];
    /* access log: strings copied out of the client buffer (which moves) */
    char strs[4096];
};

/* Client side (h1_client_conn.c). */
/* Drives a client after any change (I/O readiness, exchange progress). */
void client_drive(struct client *c);
/* Appends a synthetic response (empty body) to c->out; close after it when
 * close_after. location may be NULL. */
void client_synthetic(struct client *c, int status, const char *location, size_t location_len,
                      bool close_after);
/* Reads from the client (plain or TLS) into p. Returns bytes, 0 at the end
 * of the stream, IO_AGAIN (c->can_read cleared) or IO_ERROR; clears
 * c->can_read when the socket was drained. */
ssize_t client_recv(struct client *c, void *p, size_t room);
/* Writes c->out (and an optional body slice) to the client. Returns bytes of
 * the slice written, or -1 when the connection failed. */
long client_flush(struct client *c, const char *slice, size_t slice_len);

/* Exchange (exchange.c). Starts proxying the request parsed from c->in. */
void exchange_start(struct client *c, const struct h1_request *req, const struct h1_header *hdrs,
                    size_t head_len);
/* Moves bytes; returns when no more progress is possible now. */
void exchange_drive(struct exchange *ex);
/* Ends the exchange; the client continues (keep-alive) or closes. */
void exchange_finish(struct exchange *ex);
/* Aborts: the upstream connection is closed, the client connection too
 * unless a synthetic status can still be sent (status > 0). */
void exchange_abort(struct exchange *ex, int status, const char *why);

/* Frees the worker's cached exchanges (at thread exit). */
void exchange_cache_drain(struct worker *w);

/* Copies s into ex->strs; returns the copy (or "" when full). */
const char *ex_strdup(struct exchange *ex, const char *s, size_t len, size_t *out_len);

#endif
