/* Passive health (ours, issue 14): an upstream that could not be connected
 * to `max_fails` times in a row is marked down for a cool-off, like nginx's
 * max_fails / fail_timeout. The state lives in the route's load-balancer
 * group, shared by every worker through atomics, so all workers stop trying
 * a dead upstream at once.
 *
 *   up          down_until == 0
 *   down        now < down_until: never picked
 *   probe       now >= down_until: the first request to claim it moves
 *               down_until past its own connect budget and tries; success
 *               brings the upstream up, failure starts a new cool-off, a
 *               probe that never reports lets another claim after its budget
 *
 * With an active check configured the cool-off never ends by itself: the
 * next successful active probe brings the upstream back (passive_succeeded).
 * Times are monotonic milliseconds supplied by the caller, so the machine is
 * pure and unit-tested. */
#ifndef RPXY_UPSTREAM_PASSIVE_H
#define RPXY_UPSTREAM_PASSIVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define PASSIVE_FOREVER INT64_MAX

struct passive {
    atomic_uint fails;             /* consecutive connect failures, saturating */
    _Atomic int64_t down_until_ms; /* 0: up */
};

/* Whether the upstream is up or its cool-off is over (a probe may go). */
bool passive_available(const struct passive *p, int64_t now_ms);

/* Whether the upstream is marked down (cool-off running or not). */
bool passive_is_down(const struct passive *p);

/* Claims the upstream for one request: true when it is up, or when its
 * cool-off is over and this caller won the probe (it is then held down for
 * probe_ms more, so no other request probes meanwhile). */
bool passive_claim(struct passive *p, int64_t now_ms, int64_t probe_ms);

/* Records a failed connect. After max_fails in a row (0: never) the
 * upstream is down until now + cool_ms (PASSIVE_FOREVER: until cleared).
 * Returns 1 when this made an up upstream down, 0 otherwise (a failed probe
 * restarts the cool-off and returns 0). */
int passive_failed(struct passive *p, uint32_t max_fails, int64_t now_ms, int64_t cool_ms);

/* Records a successful connect or active probe: the failure count restarts.
 * Returns 1 when this brought a down upstream up. */
int passive_succeeded(struct passive *p);

#endif
