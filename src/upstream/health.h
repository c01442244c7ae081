/* Active health checks (SPEC 7.1-7.3).
 *
 * One checker thread per runtime snapshot probes the upstreams of every route
 * whose `health_check` is enabled and flips their health byte in the route's
 * load-balancer group (lb_set_healthy). Each route group keeps its own
 * schedule: a first round at start, then one round every `interval` seconds
 * (ticks missed while a round runs are skipped). A round probes all upstreams
 * of the group at once over non-blocking sockets in one poll() loop:
 *
 *   tcp   connect to the upstream's first resolved address within `timeout`
 *   http  the same, then `GET <path> HTTP/1.1`, `Host: <authority>`,
 *         `Connection: close`; success iff the status code of the response
 *         equals `expected_status` within `timeout`. TLS upstreams are
 *         checked like tcp (no TLS client here yet; logged once at INFO).
 *
 * Every upstream starts healthy. health_record() is the threshold state
 * machine; health_parse_status() reads a response's status line. Both are
 * pure and exposed for the unit tests.
 */
#ifndef RPXY_UPSTREAM_HEALTH_H
#define RPXY_UPSTREAM_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct runtime;
struct health_checker;

/* Starts one thread probing every route of rt that has health_check enabled;
 * the checker holds its own reference on rt until stopped. Returns the
 * checker (owned by the caller, release with health_stop), or NULL when no
 * route has health checks or on failure (logged). */
struct health_checker *health_start(struct runtime *rt);

/* Stops the checker's thread (interrupting a sleep or a probe at once),
 * joins it, drops its runtime reference and frees hc. NULL is a no-op. */
void health_stop(struct health_checker *hc);

/* Consecutive probe results of one upstream. Zero-initialise, then set
 * healthy = true (the optimistic initial state). */
struct health_state {
    bool healthy;
    uint32_t successes; /* consecutive, saturating; reset by a failure */
    uint32_t failures;  /* consecutive, saturating; reset by a success */
};

enum health_change {
    HEALTH_UNCHANGED = 0,
    HEALTH_NOW_UNHEALTHY, /* failures reached unhealthy_threshold */
    HEALTH_NOW_HEALTHY,   /* successes reached healthy_threshold */
};

/* Records one probe result (ok = success) in s: a success resets the failure
 * count and vice versa; an unhealthy upstream becomes healthy after
 * healthy_threshold consecutive successes, a healthy one unhealthy after
 * unhealthy_threshold consecutive failures (a threshold of 0 counts as 1).
 * Returns the flip that happened, if any. */
enum health_change health_record(struct health_state *s, bool ok, uint32_t healthy_threshold,
                                 uint32_t unhealthy_threshold);

/* Reads the status code from the start of an HTTP/1.x response in buf[0..len):
 * "HTTP/1.<d> <ddd>" followed by a space, CR or LF. Returns the code
 * (100..999), 0 when the bytes so far are a valid prefix but too short to
 * tell, or -1 when they cannot be such a status line. */
int health_parse_status(const char *buf, size_t len);

#endif
