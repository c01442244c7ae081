/* The PROXY protocol phase of a TCP connection ([experimental.
 * tcp_recv_proxy_protocol], SPEC 15): the peer is checked against
 * trusted_proxies at accept, then the header is read (peeked, then exactly
 * its bytes consumed, so the request or ClientHello after it stays in the
 * socket) within the configured timeout, and its source address becomes the
 * client's. */
#ifndef RPXY_PROXY_CLIENT_PROXY_HEADER_H
#define RPXY_PROXY_CLIENT_PROXY_HEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/ipaddr.h"

struct client;
struct cfg_proxy_protocol;

/* True when peer may send a PROXY header; otherwise logs rpxy's WARN. */
bool client_proxy_peer_trusted(const struct cfg_proxy_protocol *pp, const struct ip_addr *peer,
                               uint16_t port);

/* The header timeout in ms (0 as configured means 5 s). */
uint64_t client_proxy_timeout_ms(const struct cfg_proxy_protocol *pp);

/* Reads the header. Returns 1 once it is in (c->peer_ip/peer_port are the
 * client's), 0 while more bytes are due, -1 when the connection must close
 * (logged). */
int client_proxy_header_read(struct client *c);

/* The header did not arrive within timeout_ms: logs rpxy's WARN. */
void client_proxy_header_timed_out(const struct client *c, uint64_t timeout_ms);

#endif
