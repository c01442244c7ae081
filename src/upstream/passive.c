/* Passive health: a failure counter and a deadline per upstream, relaxed
 * atomics (as for the active health byte, a change seen one request late is
 * harmless); the probe claim is a compare-and-swap so only one request
 * probes per cool-off. */
#include "upstream/passive.h"

static int64_t down_until(const struct passive *p)
{
    return atomic_load_explicit((_Atomic int64_t *)&p->down_until_ms, memory_order_relaxed);
}

bool passive_available(const struct passive *p, int64_t now_ms)
{
    int64_t d = down_until(p);
    return d == 0 || now_ms >= d;
}

bool passive_is_down(const struct passive *p)
{
    return down_until(p) != 0;
}

bool passive_claim(struct passive *p, int64_t now_ms, int64_t probe_ms)
{
    int64_t d = down_until(p);
    if (d == 0)
        return true;
    if (now_ms < d)
        return false;
    return atomic_compare_exchange_strong_explicit(&p->down_until_ms, &d, now_ms + probe_ms,
                                                   memory_order_relaxed, memory_order_relaxed);
}

int passive_failed(struct passive *p, uint32_t max_fails, int64_t now_ms, int64_t cool_ms)
{
    unsigned f = atomic_load_explicit(&p->fails, memory_order_relaxed);
    if (f < UINT32_MAX)
        f = atomic_fetch_add_explicit(&p->fails, 1, memory_order_relaxed) + 1;
    if (max_fails == 0 || f < max_fails)
        return 0;
    int64_t until = cool_ms == PASSIVE_FOREVER ? PASSIVE_FOREVER : now_ms + cool_ms;
    return atomic_exchange_explicit(&p->down_until_ms, until, memory_order_relaxed) == 0;
}

int passive_succeeded(struct passive *p)
{
    /* read first: the common case writes nothing, so no cache line bounces */
    if (atomic_load_explicit(&p->fails, memory_order_relaxed) != 0)
        atomic_store_explicit(&p->fails, 0, memory_order_relaxed);
    if (down_until(p) == 0)
        return 0;
    return atomic_exchange_explicit(&p->down_until_ms, 0, memory_order_relaxed) != 0;
}
