/* The HTTP/1.x front-end: parses requests from a client connection into
 * exchanges (keep-alive, pipelining), frames their responses (chunked
 * re-encoding, Connection handling, 100 Continue), passes Content-Length
 * bodies straight from the read buffer, and carries the tunnel after 101. */
#ifndef RPXY_HTTP_H1_SERVER_H
#define RPXY_HTTP_H1_SERVER_H

struct client;

/* Serves what the connection allows now: requests, responses, closing. */
void h1_server_drive(struct client *c);

#endif
