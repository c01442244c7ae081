/* Upstream failover (ours, issue 14): a request whose connection could not
 * be made (refused, unreachable, connect timeout, TLS handshake failure)
 * never reached an upstream, so it goes on to the next address of the same
 * upstream, then to the route's next upstream in the balancer's order,
 * whatever its method and body. Bounded by the addresses and upstreams of
 * the route and by upstream_connect_timeout for all attempts together.
 * Connect results feed passive health (upstream/passive.h). */
#ifndef RPXY_PROXY_FAILOVER_H
#define RPXY_PROXY_FAILOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct exchange;
struct rt_addrs;

/* The attempt on ex->up failed before any request byte was sent (why: the
 * error line's text; NULL when attach() failed, errno telling why). Logs a WARN, releases the
 * connection, counts the failure and attaches the next target. Returns true when an attempt is
 * under way, false when none is left (the caller answers the client). */
bool failover_connect_failed(struct exchange *ex, const char *why);

/* A fresh connection failed after the request was sent and before any
 * response byte: an idempotent request without body is sent once more, to
 * another upstream (the request head must be rewound already). Returns true
 * when an attempt is under way. */
bool failover_resend_elsewhere(struct exchange *ex, const char *why);

/* A connection to ex->up was made: passive health counts a success. */
void failover_connected(struct exchange *ex);

/* The index of the address of ex->up (resolved as a) to use: on a first
 * attempt the next of a per-thread rotation, so new connections spread over
 * every address of a host name, skipping those that failed within
 * upstream_fail_timeout (unless all did); then the one failover moved to. */
size_t failover_addr(struct exchange *ex, const struct rt_addrs *a);

/* The connect timeout of this attempt: its share of what is left of the
 * request's connect budget (starting the budget on the first attempt). */
uint64_t failover_connect_ms(struct exchange *ex);

#endif
