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

/* Picks the upstream for a request (or a new sticky assignment) following
 * the table above. rng is the calling thread's generator, used by `random`
 * only (may be NULL for the other algorithms). Returns an index < n. */
size_t lb_pick(struct lb_group *g, struct lb_rng *rng);

/* Marks upstream i healthy or not (health checker thread). */
void lb_set_healthy(struct lb_group *g, size_t i, bool healthy);

/* Whether upstream i is currently healthy (sticky: may the cookie's upstream
 * be kept). */
bool lb_is_healthy(const struct lb_group *g, size_t i);

/* Number of healthy upstreams (0 means picks are best-effort). */
size_t lb_healthy_count(const struct lb_group *g);

#endif
