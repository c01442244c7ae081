/* Listening TCP sockets: SO_REUSEADDR + SO_REUSEPORT (one socket per worker
 * on the same address, and rebinding on reload), IPV6_V6ONLY for IPv6,
 * TCP_NODELAY (which accepted sockets inherit). */
#ifndef RPXY_NET_LISTENER_H
#define RPXY_NET_LISTENER_H

#include <stdint.h>
#include <sys/socket.h>

#include "util/ipaddr.h"

/* Opens a non-blocking listening socket on addr:port with the backlog.
 * Returns the fd, or -1 with errno set. */
int listener_open(const struct ip_addr *addr, uint16_t port, int backlog);

/* addr:port as a socket address; returns its length. */
socklen_t listener_sockaddr(const struct ip_addr *addr, uint16_t port, struct sockaddr_storage *ss);

/* "127.0.0.1:8080" or "[::1]:8080" into out (64 bytes). */
void listener_format(const struct ip_addr *addr, uint16_t port, char out[64]);

#endif
