/* The HTTP/2 upstream client's connections (the client itself is the
 * up_client table h2_client in upstream/client.h). */
#ifndef RPXY_UPSTREAM_H2_CLIENT_H
#define RPXY_UPSTREAM_H2_CLIENT_H

struct worker;

/* Closes every HTTP/2 upstream connection of the worker (forced stop). */
void h2c_close_all(struct worker *w);

#endif
