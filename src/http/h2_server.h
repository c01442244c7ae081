/* The HTTP/2 front-end (RFC 9113) on nghttp2: one session per client
 * connection, one exchange per request stream. nghttp2 parses frames and
 * keeps the flow-control and HPACK state; the rules it leaves to the
 * application (pseudo-header and field checks, Content-Length against DATA,
 * floods it does not bound) are ours. Flow control follows back-pressure:
 * a WINDOW_UPDATE is only sent for request bytes the upstream side took. */
#ifndef RPXY_HTTP_H2_SERVER_H
#define RPXY_HTTP_H2_SERVER_H

struct client;

/* Starts HTTP/2 on a connection whose c->in begins with the connection
 * preface. Returns 0 or -1 (out of memory). */
int h2_server_start(struct client *c);

/* Reads frames, drives the streams' exchanges, writes frames. */
void h2_server_drive(struct client *c);

/* Graceful end (drain, reload): GOAWAY, in-flight streams finish, then the
 * connection closes. */
void h2_server_shutdown(struct client *c);

/* The connection's timer fired: close when no stream is open, else the
 * keep-alive PING (SPEC 11: after 20 s of silence; closed when still silent
 * 21 s later). */
void h2_server_idle_timeout(struct client *c);

/* Frees the session; open streams' exchanges are aborted. */
void h2_server_free(struct client *c);

#endif
