/* Load balancing over the upstreams of one route (SPEC 7), health-aware.
 *
 * A group is shared by every worker thread: picks update one relaxed atomic
 * counter and read one atomic health byte per upstream, which the health
 * checker thread writes. No locks, no allocation per pick. Groups are built
 * with each config snapshot, so counters and health reset on reload.
 *
 *   algorithm       pick (h = number of healthy upstreams, c = shared counter)
 *   none            first healthy; none healthy -> 0
 *   round_robin     the (c mod h)-th healthy; none healthy -> c mod n
 *   sticky          new assignments as round_robin (cookie handling is apart)
 *   random          uniform over the healthy; none healthy -> uniform over all
 *   primary_backup  lowest healthy index; none healthy -> 0
 *
 * "Healthy" also means not marked down by passive health (upstream/passive.h,
 * ours): such upstreams are skipped like unhealthy ones, and when every
 * upstream is marked down a pick returns LB_NONE (the request fails at once
 * instead of trying them). Failover (ours) walks the rest of the group in
 * the algorithm's order with lb_next().
 */
#ifndef RPXY_UPSTREAM_BALANCE_H
#define RPXY_UPSTREAM_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* A small per-thread PRNG (splitmix64) for `random`. Not for secrets. */
struct lb_rng {
    uint64_t state;
};

struct lb_group;

/* Seeds rng deterministically from seed (tests, reproducible runs). */
void lb_rng_seed(struct lb_rng *rng, uint64_t seed);

/* Seeds rng from the kernel's random source (falling back to the clock and
 * the rng's address); call once per worker thread. */
void lb_rng_seed_auto(struct lb_rng *rng);

/* Returns the next 64 random bits and advances rng. */
uint64_t lb_rng_next(struct lb_rng *rng);

/* Creates a group of n >= 1 upstreams (indices 0..n-1, config order), all
 * healthy, counter at 0. Returns a group owned by the caller (release with
 * lb_group_free once no thread uses it), or NULL when n is 0 or out of
 * memory. */
struct lb_group *lb_group_new(enum cfg_lb algorithm, size_t n);

/* Same, with the algorithm and upstream count of a configured route. */
struct lb_group *lb_group_for_route(const struct cfg_route *route);

/* Releases g. NULL is a no-op. */
void lb_group_free(struct lb_group *g);

/* Number of upstreams in g. */
size_t lb_group_size(const struct lb_group *g);

/* Passive health of g (set once, before the group is shared): max_fails
 * consecutive connect failures (0: off; always off for a single upstream)
 * mark an upstream down for cool_ms, or until lb_connect_ok() when
 * active_check (the active checker reports its successes); probe_ms is how
 * long the one request probing after a cool-off holds it. */
void lb_group_set_passive(struct lb_group *g, uint32_t max_fails, int64_t cool_ms, int64_t probe_ms,
                          bool active_check);

/* Picks the upstream for a request (or a new sticky assignment) following
 * the table above. rng is the calling thread's generator, used by `random`
 * only (may be NULL for the other algorithms). Returns an index < n, or
 * LB_NONE(g) when passive health has every upstream down. */
size_t lb_pick(struct lb_group *g, struct lb_rng *rng);
#define LB_NONE(g) lb_group_size(g)

/* Failover: the next upstream after `last` in the algorithm's order
 * (round_robin and sticky: the following indices; none and primary_backup:
 * the lowest; random: from a random one), skipping those in `tried` (bit
 * i % 64 for upstream i) and those not healthy or marked down. Returns its
 * index, or LB_NONE(g). */
size_t lb_next(struct lb_group *g, uint64_t tried, size_t last, struct lb_rng *rng);

/* How many upstreams lb_next could still return (for the connect budget). */
size_t lb_untried(const struct lb_group *g, uint64_t tried);

/* Whether upstream i may be used now (sticky: the cookie's upstream),
 * claiming its probe when its cool-off is over. */
bool lb_take(struct lb_group *g, size_t i);

/* Passive health: a connect to upstream i failed (returns true when this
 * marked it down), or succeeded, or the active check found it reachable
 * (returns true when this brought it back). */
bool lb_connect_failed(struct lb_group *g, size_t i);
bool lb_connect_ok(struct lb_group *g, size_t i);

/* Consecutive connect failures of upstream i; the cool-off (PASSIVE_FOREVER
 * with an active check). For the log. */
uint32_t lb_fails(const struct lb_group *g, size_t i);
int64_t lb_cool_ms(const struct lb_group *g);

/* Marks upstream i healthy or not (health checker thread). */
void lb_set_healthy(struct lb_group *g, size_t i, bool healthy);

/* Whether upstream i is currently healthy and not marked down. */
bool lb_is_healthy(const struct lb_group *g, size_t i);

/* Number of healthy upstreams (0 means picks are best-effort). */
size_t lb_healthy_count(const struct lb_group *g);

#endif
