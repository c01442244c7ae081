/* The HTTP/2 upstream client's connections (the client itself is the
 * up_client table h2_client in upstream/client.h). */
#ifndef RPXY_UPSTREAM_H2_CLIENT_H
#define RPXY_UPSTREAM_H2_CLIENT_H

#include <stdbool.h>
#include <sys/socket.h>

struct worker;
struct exchange;

/* Whether the worker has a usable HTTP/2 connection to that upstream (so
 * requests that may use either version go there). */
bool h2c_known(struct worker *w, const struct sockaddr *sa, socklen_t len, const char *tls_name);

/* The TLS upstream connection of ex (ex->uc, handshake done) selected h2
 * by ALPN: it becomes an HTTP/2 connection and ex its first stream
 * (ex->upc is h2_client from here). Returns 0, or -1 (ex unchanged). */
int h2c_adopt(struct exchange *ex);

/* Closes every HTTP/2 upstream connection of the worker (forced stop). */
void h2c_close_all(struct worker *w);

#endif
