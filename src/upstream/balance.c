/* Load balancing: one shared counter and one health byte per upstream, all
 * C11 atomics with relaxed ordering (a pick is best-effort by nature: a
 * health change seen one request late is harmless). */
#include "upstream/balance.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "upstream/passive.h"

struct lb_member {
    atomic_uchar healthy; /* active check: 1 healthy, 0 unhealthy */
    struct passive passive;
};

struct lb_group {
    atomic_size_t counter;     /* round_robin / sticky: requests so far */
    atomic_size_t n_unhealthy; /* active check; 0 and n_down 0: the fast path */
    atomic_size_t n_down;      /* passive health: upstreams marked down */
    enum cfg_lb algorithm;
    size_t n;
    uint32_t max_fails; /* passive health; 0: off */
    int64_t cool_ms;    /* PASSIVE_FOREVER when the active check brings them back */
    int64_t probe_ms;
    struct lb_member m[];
};

/* Monotonic milliseconds, read only when something is down. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
    if (n == 0 || n > (SIZE_MAX - sizeof(struct lb_group)) / sizeof(struct lb_member))
        return NULL;
    struct lb_group *g = malloc(sizeof(*g) + n * sizeof(struct lb_member));
    if (!g)
        return NULL;
    atomic_init(&g->counter, 0);
    atomic_init(&g->n_unhealthy, 0);
    atomic_init(&g->n_down, 0);
    g->algorithm = algorithm;
    g->n = n;
    g->max_fails = 0;
    g->cool_ms = 0;
    g->probe_ms = 0;
    for (size_t i = 0; i < n; i++) {
        atomic_init(&g->m[i].healthy, 1);
        atomic_init(&g->m[i].passive.fails, 0);
        atomic_init(&g->m[i].passive.down_until_ms, 0);
    }
    return g;
}

struct lb_group *lb_group_for_route(const struct cfg_route *route)
{
    return lb_group_new(route->load_balance, route->n_upstreams);
}

void lb_group_set_passive(struct lb_group *g, uint32_t max_fails, int64_t cool_ms, int64_t probe_ms,
                          bool active_check)
{
    /* one upstream is never marked down (nginx does the same): there would
     * be nothing to fail over to, and its next request is the best probe */
    g->max_fails = g->n > 1 ? max_fails : 0;
    g->cool_ms = active_check ? PASSIVE_FOREVER : cool_ms;
    g->probe_ms = probe_ms;
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
    return atomic_load_explicit((atomic_uchar *)&g->m[i].healthy, memory_order_relaxed) != 0;
}

static bool any_down(const struct lb_group *g)
{
    return atomic_load_explicit((atomic_size_t *)&g->n_down, memory_order_relaxed) != 0;
}

static bool all_healthy(const struct lb_group *g)
{
    return atomic_load_explicit((atomic_size_t *)&g->n_unhealthy, memory_order_relaxed) == 0 &&
           !any_down(g);
}

/* Healthy for the active check and not in a passive cool-off. */
static bool usable_at(const struct lb_group *g, size_t i, int64_t now)
{
    return healthy_at(g, i) && passive_available(&g->m[i].passive, now);
}

size_t lb_healthy_count(const struct lb_group *g)
{
    if (all_healthy(g))
        return g->n;
    int64_t now = any_down(g) ? now_ms() : 0;
    size_t h = 0;
    for (size_t i = 0; i < g->n; i++)
        h += usable_at(g, i, now);
    return h;
}

/* The SPEC 7 best-effort pick when nothing is usable: `fallback`, unless
 * passive health has it down; then the first upstream not down; LB_NONE
 * (n) when every upstream is down. */
static size_t best_effort(const struct lb_group *g, size_t fallback)
{
    if (!any_down(g) || !passive_is_down(&g->m[fallback].passive))
        return fallback;
    for (size_t i = 0; i < g->n; i++)
        if (!passive_is_down(&g->m[i].passive))
            return i;
    return g->n;
}

/* Takes upstream i for this request when it is usable (claiming the probe
 * of an upstream whose cool-off is over). */
static bool take(struct lb_group *g, size_t i, int64_t now)
{
    return usable_at(g, i, now) && passive_claim(&g->m[i].passive, now, g->probe_ms);
}

/* The (k mod h)-th usable upstream, h counted now, or the next one taken
 * after it; the best-effort pick when none is. */
static size_t kth_usable(struct lb_group *g, uint64_t k, size_t fallback, bool by_rng)
{
    size_t h = lb_healthy_count(g);
    if (h == 0)
        return best_effort(g, fallback);
    int64_t now = any_down(g) ? now_ms() : 0;
    size_t want = by_rng ? rng_below(k, h) : (size_t)(k % h);
    size_t start = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (!usable_at(g, i, now))
            continue;
        start = i;
        if (want-- == 0)
            break;
    }
    for (size_t j = 0; j < g->n; j++) {
        size_t i = (start + j) % g->n;
        if (take(g, i, now))
            return i;
    }
    return best_effort(g, fallback);
}

static size_t first_usable(struct lb_group *g)
{
    if (all_healthy(g))
        return 0;
    int64_t now = any_down(g) ? now_ms() : 0;
    for (size_t i = 0; i < g->n; i++)
        if (take(g, i, now))
            return i;
    return best_effort(g, 0);
}

size_t lb_pick(struct lb_group *g, struct lb_rng *rng)
{
    switch (g->algorithm) {
    case CFG_LB_ROUND_ROBIN:
    case CFG_LB_STICKY: {
        size_t c = atomic_fetch_add_explicit(&g->counter, 1, memory_order_relaxed);
        if (all_healthy(g))
            return c % g->n;
        return kth_usable(g, c, c % g->n, false);
    }
    case CFG_LB_RANDOM: {
        uint64_t r = lb_rng_next(rng);
        if (all_healthy(g))
            return rng_below(r, g->n);
        return kth_usable(g, r, rng_below(r, g->n), true);
    }
    case CFG_LB_NONE:
    case CFG_LB_PRIMARY_BACKUP:
    default: return first_usable(g);
    }
}

static bool tried_has(uint64_t tried, size_t i)
{
    return (tried >> (i % 64)) & 1u;
}

size_t lb_next(struct lb_group *g, uint64_t tried, size_t last, struct lb_rng *rng)
{
    size_t start = 0;
    if (g->algorithm == CFG_LB_ROUND_ROBIN || g->algorithm == CFG_LB_STICKY)
        start = last + 1;
    else if (g->algorithm == CFG_LB_RANDOM)
        start = rng_below(lb_rng_next(rng), g->n);
    int64_t now = now_ms();
    for (size_t j = 0; j < g->n; j++) {
        size_t i = (start + j) % g->n;
        if (!tried_has(tried, i) && take(g, i, now))
            return i;
    }
    return g->n;
}

size_t lb_untried(const struct lb_group *g, uint64_t tried)
{
    int64_t now = any_down(g) ? now_ms() : 0;
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++)
        k += !tried_has(tried, i) && usable_at(g, i, now);
    return k;
}

void lb_set_healthy(struct lb_group *g, size_t i, bool healthy)
{
    if (i >= g->n)
        return;
    unsigned char old =
        atomic_exchange_explicit(&g->m[i].healthy, healthy ? 1 : 0, memory_order_relaxed);
    if (old && !healthy)
        atomic_fetch_add_explicit(&g->n_unhealthy, 1, memory_order_relaxed);
    else if (!old && healthy)
        atomic_fetch_sub_explicit(&g->n_unhealthy, 1, memory_order_relaxed);
}

bool lb_is_healthy(const struct lb_group *g, size_t i)
{
    return i < g->n && healthy_at(g, i) && !passive_is_down(&g->m[i].passive);
}

bool lb_take(struct lb_group *g, size_t i)
{
    if (i >= g->n)
        return false;
    if (all_healthy(g))
        return true;
    return take(g, i, any_down(g) ? now_ms() : 0);
}

bool lb_connect_failed(struct lb_group *g, size_t i)
{
    if (i >= g->n || passive_failed(&g->m[i].passive, g->max_fails, now_ms(), g->cool_ms) != 1)
        return false;
    atomic_fetch_add_explicit(&g->n_down, 1, memory_order_relaxed);
    return true;
}

bool lb_connect_ok(struct lb_group *g, size_t i)
{
    if (i >= g->n || passive_succeeded(&g->m[i].passive) != 1)
        return false;
    atomic_fetch_sub_explicit(&g->n_down, 1, memory_order_relaxed);
    return true;
}

uint32_t lb_fails(const struct lb_group *g, size_t i)
{
    return i < g->n
               ? atomic_load_explicit((atomic_uint *)&g->m[i].passive.fails, memory_order_relaxed)
               : 0;
}

int64_t lb_cool_ms(const struct lb_group *g)
{
    return g->cool_ms;
}
