/* HTTP/1.x client connections: what a worker calls. */
#ifndef RPXY_PROXY_H1_CLIENT_CONN_H
#define RPXY_PROXY_H1_CLIENT_CONN_H

#include <stdbool.h>
#include <stdint.h>

struct worker;

/* Takes over an accepted socket: admission (max_clients, per-IP), then
 * serving. peer_sockaddr is a struct sockaddr_storage. */
void client_accept(struct worker *w, int fd, const void *peer_sockaddr, uint16_t local_port,
                   bool tls);

/* Closes connections that have no request in progress (graceful drain). */
void client_close_idle_all(struct worker *w);

/* Closes every connection (forced stop). */
void client_close_all(struct worker *w);

#endif
