/* One request/response exchange, whatever protocol the client speaks.
 *
 * A front-end (http/h1_server, http/h2_server) turns its wire format into an
 * ex_request and calls exchange_start(); the policy of SPEC 4.2-4.9 (host,
 * SNI, limits, app, redirect, route, balancing, forwarding headers) runs once,
 * here, against that neutral form. The upstream client (upstream/h1_client)
 * then moves the request body toward the backend and hands the response back
 * through the front-end's ex_front operations: a head (fields already passed
 * through the response policy), body bytes, an end with trailers.
 *
 * Back-pressure crosses the exchange both ways: a front-end offers request
 * body bytes with exchange_request_body(), which takes what the upstream side
 * can hold now (a Content-Length body is written straight from the
 * front-end's buffer: one copy, from the kernel into our buffer); the
 * upstream side reads from the backend only while response_room() says the
 * front-end has room. Memory per exchange is bounded whatever the body size.
 *
 * Ending: the exchange calls the front-end's done() exactly once (normal end
 * or abort) and is recycled right after; the front-end forgets its pointer
 * there. Functions that may end the exchange say so.
 */
#ifndef RPXY_PROXY_EXCHANGE_H
#define RPXY_PROXY_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/loop.h"
#include "http/field.h"
#include "http/h1_chunked.h"

struct worker;
struct runtime;
struct rt_route;
struct rt_upstream;
struct upstream_conn;
struct client;
struct exchange;
struct up_client;
struct h2c_stream;
struct cache_entry;
struct cache_shared_body;
struct excache_miss;

enum http_version { HTTP_10, HTTP_11, HTTP_20, HTTP_30 };

/* How a message body is delimited, as far as the other side needs to know. */
enum ex_body {
    EX_BODY_NONE,   /* no body */
    EX_BODY_LENGTH, /* content_length bytes */
    EX_BODY_STREAM, /* unknown length: ends with the sender's end of message */
};

/* A request head; every slice points into the front-end's buffer and is
 * only read during exchange_start(). */
struct ex_request {
    enum http_version version;
    const char *method;
    size_t method_len;
    const char *target; /* path and query: routing, rewriting, redirects */
    size_t target_len;
    bool routable;            /* false for CONNECT and OPTIONS *: never matches a route */
    const char *original_uri; /* X-Original-URI: origin-form as received, or absolute */
    size_t original_uri_len;
    const char *scheme; /* the URI's scheme (absolute-form, :scheme), NULL if none */
    size_t scheme_len;
    const char *authority; /* the URI's authority (absolute-form, :authority), NULL if none */
    size_t authority_len;
    const char *host; /* the Host field, NULL if absent */
    size_t host_len;
    const struct http_field *fields;
    size_t n_fields;
    enum ex_body body;
    uint64_t content_length;   /* EX_BODY_LENGTH */
    bool content_length_field; /* a Content-Length field was sent (even "0") */
    bool keep_alive;           /* HTTP/1: the connection may carry another request */
    bool upgrade;              /* Connection: upgrade with an Upgrade field */
    bool expect_continue;      /* Expect: 100-continue */
    bool expect_other;         /* another expectation: 417 */
};

/* A response head for the front-end. fields went through the response
 * policy (hop-by-hop, Server, Alt-Svc removed; sticky Set-Cookie applied);
 * the front-end adds server: rpxy, a date when has_date is false, and its
 * own framing. */
struct ex_response {
    int status;
    const char *reason; /* the upstream's reason phrase (HTTP/1 only) */
    size_t reason_len;
    const struct http_field *fields;
    size_t n_fields;
    bool has_date;
    enum ex_body body;
    uint64_t content_length;
    bool until_close; /* EX_BODY_STREAM: the upstream ends it by closing */
    const char *raw;  /* 101: the head as received, returned as is (SPEC 4.10) */
    size_t raw_len;
};

/* What a front-end does for the exchange. */
struct ex_front {
    /* A synthetic response with an empty body (SPEC 4.11); location may be
     * NULL. close_after: HTTP/1 closes the connection after it. */
    void (*synthetic)(struct exchange *ex, int status, const char *location, size_t location_len,
                      bool close_after);
    /* Tells the client to send its body (100 Continue). */
    void (*continue_100)(struct exchange *ex);
    /* An interim response of the upstream (1xx other than 100 and 101, such
     * as 103 Early Hints), fields through the response policy. */
    void (*interim)(struct exchange *ex, int status, const struct http_field *fields, size_t n);
    /* The response head. Returns 0, or -1 (the exchange is then aborted). */
    int (*response_head)(struct exchange *ex, const struct ex_response *res);
    /* Whether response body bytes can be taken now. */
    bool (*response_room)(struct exchange *ex);
    /* Response body bytes (after a 101: raw tunnel bytes). Returns the bytes
     * taken (all of them when response_room() was true and the body is
     * EX_BODY_STREAM), or -1 when the client is gone. */
    long (*response_body)(struct exchange *ex, const char *p, size_t n);
    /* The end of the response body, with the upstream's trailer field lines
     * ("name: value\r\n"..., may be empty). After a 101: the upstream closed. */
    void (*response_end)(struct exchange *ex, const char *trailer, size_t trailer_len);
    /* Whether response bytes of this exchange still wait to be sent. */
    bool (*response_pending)(struct exchange *ex);
    /* Offers what the client has sent of the request body (and reads more)
     * through exchange_request_body()/_end(). Returns 1 on progress, 0 when
     * there is nothing new, -1 when the exchange ended. */
    int (*pump_request)(struct exchange *ex);
    /* The exchange is over (ok: the response was complete); the front-end
     * drops its pointer. Called once, right before the exchange is recycled. */
    void (*done)(struct exchange *ex, bool ok);
    /* Something changed outside the front-end's own events (upstream I/O, a
     * timer): drive the exchange and flush what it produced. */
    void (*kick)(struct exchange *ex);
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
    struct worker *w;
    struct client *c; /* the client connection: peer, listener, TLS facts */
    const struct ex_front *fe;
    void *stream;       /* the front-end's per-exchange state (HTTP/2 stream) */
    struct runtime *rt; /* reference held */
    struct rt_route *route;
    struct rt_upstream *up;
    size_t up_index;
    const struct up_client *upc; /* HTTP/1.1 or HTTP/2 toward the upstream */
    struct upstream_conn *uc;    /* HTTP/1.1: the connection */
    struct h2c_stream *h2s;      /* HTTP/2: the stream */
    enum ex_phase phase;
    enum http_version version;
    struct loop_timer timer; /* upstream connect / response / progress */

    /* request towards the upstream */
    struct buf up_out;      /* head, re-encoded chunks */
    enum ex_body req_body;  /* how the upstream request body is framed */
    uint64_t req_remaining; /* EX_BODY_LENGTH: body bytes still to forward */
    bool req_done;          /* the front-end delivered the whole request (tunnel: its EOF) */
    uint64_t req_body_seen; /* bytes of body received, for the size limit */
    uint64_t body_limit;    /* 0 = unlimited */
    bool replayable;        /* no request body: may be retried on a fresh connection */
    bool retried;           /* the safe retry of a reused connection is spent */
    bool resent;            /* failover: the one resend to another upstream is spent */
    size_t head_len;        /* length of the request head in up_out, for a retry */
    /* HTTP/2 upstream: the request as sent so far (head, body), kept while a
     * stream the upstream refuses could still be replayed; replay_lost once
     * it outgrew that or the response began */
    struct buf replay;
    bool replay_lost;
    struct buf up_trailer; /* HTTP/2 upstream: the request trailer lines */

    /* response from the upstream */
    unsigned resp_req_flags; /* H1_REQ_* for the response parser */
    bool head_request;
    bool resp_started; /* the response head went to the front-end */
    bool resp_ended;   /* ... and its end */
    int up_body;       /* enum h1_body of the upstream response */
    uint64_t resp_remaining;
    struct h1_chunked resp_chunk;
    bool upstream_reusable;
    bool upgrade;
    const char *upgrade_value; /* the Upgrade the client asked for */
    size_t upgrade_value_len;
    bool up_eof; /* tunnel: the upstream closed its side */
    int status;
    /* metrics: the loop's clock when the request head arrived, the status
     * of the access-log line (0: none) */
    uint64_t started_ms;
    int logged_status;

    /* sticky */
    bool issue_cookie;
    bool sticky_secure; /* the client-visible scheme is https (a reissued cookie's Secure) */
    size_t set_cookie_len;

    /* failover (proxy/failover.c) */
    uint64_t tried;               /* bit i % 64: upstream i could not be reached */
    uint64_t connect_deadline_ms; /* the connect budget of every attempt; 0: none yet */
    size_t addr_i;                /* the address of ex->up in use */
    unsigned addr_tries;          /* addresses of ex->up tried (0: none chosen yet) */

    size_t strs_len;
    struct {
        const char *host, *method, *path, *scheme, *ua, *xff, *forwarded, *upstream;
        size_t host_len, method_len, path_len, scheme_len, ua_len, xff_len, forwarded_len,
            upstream_len;
    } log;
    struct exchange *next_free; /* the worker's cache of exchanges */

    /* Buffers last: not cleared when an exchange is reused. */
    char set_cookie[640];
    /* access log: strings copied out of the client buffer (which moves) */
    char strs[4096];
    /* the response cache (proxy/exchange_cache.c): not cleared with the
     * rest, so an exchange without cache pays nothing; excache_begin()
     * clears it */
    struct {
        const struct ex_front *fe;  /* the front-end under the storing tee */
        struct excache_miss *miss;  /* a miss being fetched (and stored) */
        const struct up_client *up; /* while waiting for another request's fill */
        struct cache_entry *hit;    /* the entry being served */
        uint64_t off;               /* body bytes of the hit sent (or verified) */
        void *sha;                  /* file hit: the digest in progress */
        char *buf;                  /* file hit: bytes read, digested, not all sent */
        uint32_t buf_at, buf_len;
        int fd;                          /* file hit: descriptor + 1 (0: none) */
        bool verified;                   /* file hit: the whole file checked */
        struct cache_shared_body *whole; /* file hit read whole (small enough) */
        bool not_modified;               /* a conditional request: 304 */
        int64_t wait_until_ms;
    } cache;
};

/* Starts proxying req for connection c through front-end fe (stream is the
 * front-end's state, stored in ex->stream). Either a synthetic response is
 * sent at once (fe->synthetic then fe->done) or the exchange goes on; the
 * front-end learns of it through *out (NULL when it already ended). Nothing
 * of req is kept. */
void exchange_start(struct client *c, const struct ex_front *fe, void *stream,
                    const struct ex_request *req, struct exchange **out);

/* Moves bytes both ways; returns when no more progress is possible now.
 * May end the exchange. */
void exchange_drive(struct exchange *ex);

/* Whether request body bytes are welcome now (the upstream side has room). */
bool exchange_request_room(const struct exchange *ex);
/* Request body bytes (tunnel bytes after a 101). Returns the bytes taken
 * (0..n; all of them when exchange_request_room() was true, n is at most
 * BUF_BLOCK and the body has no Content-Length), or -1 when the exchange
 * ended. */
long exchange_request_body(struct exchange *ex, const char *p, size_t n);
/* The request body ended, with trailer field lines ("name: value\r\n"...,
 * may be empty). In a tunnel: the client closed its side. Returns 0, or -1
 * when the exchange ended. */
int exchange_request_end(struct exchange *ex, const char *trailer, size_t trailer_len);

/* Aborts: the upstream connection is closed; the client gets status as a
 * synthetic response when none was started (status > 0), else the
 * front-end resets or closes. Ends the exchange. */
void exchange_abort(struct exchange *ex, int status, const char *why);

/* For upstream clients: the response policy of SPEC 4.10 for this
 * exchange (resp_policy with its sticky cookie), plus Alt-Svc on TLS and
 * QUIC connections when HTTP/3 is on (SPEC 9.8). out needs room for
 * n + 2 fields. Returns the number written. */
size_t exchange_resp_fields(const struct exchange *ex, const struct http_field *fields, size_t n,
                            bool drop_content_length, struct http_field *out, size_t cap,
                            bool *has_date);

/* For upstream clients: the response body ended, with the upstream's
 * trailer field lines; passes them on without the fields a trailer must
 * not carry (http/trailer_filter). */
void exchange_response_end(struct exchange *ex, const char *trailer, size_t trailer_len);

/* For upstream clients: passes an interim response on (1xx but 100 and
 * 101, which the proxy handles itself). */
void exchange_interim(struct exchange *ex, int status, const struct http_field *fields, size_t n);

/* For upstream clients: the access-log line (once the response head is
 * known); (re)arms the connect or the response timeout; reports a failed
 * upstream connection, which retries once when that is safe. Returns true
 * when the exchange ended (else it goes on, on a new connection). */
void exchange_access_log(struct exchange *ex, int status);
void exchange_arm_timer(struct exchange *ex, bool connecting);
bool exchange_upstream_failed(struct exchange *ex, const char *why);

/* For failover: the access log's upstream URI becomes ex->up's with path;
 * a sticky route issues a cookie naming upstream idx. */
void exchange_log_upstream(struct exchange *ex, const char *path, size_t path_len);
void exchange_issue_sticky(struct exchange *ex, size_t idx);

/* Frees the worker's cached exchanges (at thread exit). */
void exchange_cache_drain(struct worker *w);

#endif
