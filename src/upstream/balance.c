/* Load balancing: one shared counter and one health byte per upstream, all
 * C11 atomics with relaxed ordering (a pick is best-effort by nature: a
 * health change seen one request late is harmless). */
#include "upstream/balance.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

struct lb_group {
    atomic_size_t counter;     /* round_robin / sticky: requests so far */
    atomic_size_t n_unhealthy; /* 0: every pick takes the fast path */
    enum cfg_lb algorithm;
    size_t n;
    atomic_uchar healthy[]; /* 1 healthy, 0 unhealthy; written by the checker */
};

void lb_rng_seed(struct lb_rng *rng, uint64_t seed)
{
    rng->state = seed;
}

void lb_rng_seed_auto(struct lb_rng *rng)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)rng;
    }
    rng->state = seed;
}

/* splitmix64: a Weyl sequence through a 64-bit finalizer. */
uint64_t lb_rng_next(struct lb_rng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A value in [0, n) from 64 random bits: multiply-shift on the high half
 * (bias below n / 2^32, far under anything observable). */
static size_t rng_below(uint64_t r, size_t n)
{
    if ((uint64_t)n <= UINT32_MAX)
        return (size_t)(((r >> 32) * (uint64_t)n) >> 32);
    return (size_t)(r % (uint64_t)n);
}

struct lb_group *lb_group_new(enum cfg_lb algorithm, size_t n)
{
    if (n == 0 || n > (SIZE_MAX - sizeof(struct lb_group)) / sizeof(atomic_uchar))
        return NULL;
    struct lb_group *g = malloc(sizeof(*g) + n * sizeof(atomic_uchar));
    if (!g)
        return NULL;
    atomic_init(&g->counter, 0);
    atomic_init(&g->n_unhealthy, 0);
    g->algorithm = algorithm;
    g->n = n;
    for (size_t i = 0; i < n; i++)
        atomic_init(&g->healthy[i], 1);
    return g;
}

struct lb_group *lb_group_for_route(const struct cfg_route *route)
{
    return lb_group_new(route->load_balance, route->n_upstreams);
}

void lb_group_free(struct lb_group *g)
{
    free(g);
}

size_t lb_group_size(const struct lb_group *g)
{
    return g->n;
}

static bool healthy_at(const struct lb_group *g, size_t i)
{
    /* The group is shared; reading through a const pointer is still an atomic load. */
    return atomic_load_explicit((atomic_uchar *)&g->healthy[i], memory_order_relaxed) != 0;
}

static bool all_healthy(const struct lb_group *g)
{
    return atomic_load_explicit((atomic_size_t *)&g->n_unhealthy, memory_order_relaxed) == 0;
}

size_t lb_healthy_count(const struct lb_group *g)
{
    if (all_healthy(g))
        return g->n;
    size_t h = 0;
    for (size_t i = 0; i < g->n; i++)
        h += healthy_at(g, i);
    return h;
}

/* The (k mod h)-th healthy upstream, h counted now; `fallback` when none is
 * healthy. If health changes between the two passes, the last healthy one
 * seen (or the fallback) is taken rather than scanning again. */
static size_t kth_healthy(const struct lb_group *g, uint64_t k, size_t fallback, bool by_rng)
{
    size_t h = lb_healthy_count(g);
    if (h == 0)
        return fallback;
    size_t want = by_rng ? rng_below(k, h) : (size_t)(k % h);
    size_t last = g->n;
    for (size_t i = 0; i < g->n; i++) {
        if (!healthy_at(g, i))
            continue;
        if (want-- == 0)
            return i;
        last = i;
    }
    return last < g->n ? last : fallback;
}

static size_t first_healthy(const struct lb_group *g)
{
    if (all_healthy(g))
        return 0;
    for (size_t i = 0; i < g->n; i++)
        if (healthy_at(g, i))
            return i;
    return 0;
}

size_t lb_pick(struct lb_group *g, struct lb_rng *rng)
{
    switch (g->algorithm) {
    case CFG_LB_ROUND_ROBIN:
    case CFG_LB_STICKY: {
        size_t c = atomic_fetch_add_explicit(&g->counter, 1, memory_order_relaxed);
        if (all_healthy(g))
            return c % g->n;
        return kth_healthy(g, c, c % g->n, false);
    }
    case CFG_LB_RANDOM: {
        uint64_t r = lb_rng_next(rng);
        if (all_healthy(g))
            return rng_below(r, g->n);
        return kth_healthy(g, r, rng_below(r, g->n), true);
    }
    case CFG_LB_NONE:
    case CFG_LB_PRIMARY_BACKUP:
    default: return first_healthy(g);
    }
}

void lb_set_healthy(struct lb_group *g, size_t i, bool healthy)
{
    if (i >= g->n)
        return;
    unsigned char old =
        atomic_exchange_explicit(&g->healthy[i], healthy ? 1 : 0, memory_order_relaxed);
    if (old && !healthy)
        atomic_fetch_add_explicit(&g->n_unhealthy, 1, memory_order_relaxed);
    else if (!old && healthy)
        atomic_fetch_sub_explicit(&g->n_unhealthy, 1, memory_order_relaxed);
}

bool lb_is_healthy(const struct lb_group *g, size_t i)
{
    return i < g->n && healthy_at(g, i);
}
