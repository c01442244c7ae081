/* Failover between the addresses and upstreams of a route (see failover.h). */
#include "proxy/failover.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/worker.h"
#include "log/log.h"
#include "proxy/exchange.h"
#include "proxy/runtime.h"
#include "upstream/balance.h"
#include "upstream/client.h"
#include "upstream/passive.h"

static const char *addr_text(const struct rt_addrs *a, size_t i, char *out, size_t cap)
{
    const struct sockaddr_storage *ss = &a->addr[i];
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        port = ntohs(s4->sin_port);
        snprintf(out, cap, "%s:%u", ip, port);
    } else {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        port = ntohs(s6->sin6_port);
        snprintf(out, cap, "[%s]:%u", ip, port);
    }
    return out;
}

static struct rt_addrs *addrs_of(const struct exchange *ex)
{
    return atomic_load_explicit(&ex->up->addrs, memory_order_acquire);
}

/* Names the current target for the log: "<scheme>://<authority> at <address>". */
static void target_text(const struct exchange *ex, char *out, size_t cap)
{
    char at[INET6_ADDRSTRLEN + 16];
    struct rt_addrs *a = addrs_of(ex);
    bool known = ex->addr_tries && a && ex->addr_i < a->n;
    snprintf(out, cap, "%s://%.*s%s%s", ex->up->scheme, (int)ex->up->authority_len,
             ex->up->authority, known ? " at " : "",
             known ? addr_text(a, ex->addr_i, at, sizeof(at)) : "");
}

/* Passive health's verdict on upstream i of ex's route after a failed
 * connect (logged after the attempt's own line). */
static void log_failure(const struct exchange *ex, size_t i, bool now_down)
{
    const struct lb_group *g = ex->route->lb;
    const struct rt_upstream *up = &ex->route->ups[i];
    int64_t cool = lb_cool_ms(g);
    if (!now_down)
        log_debug("Upstream %s://%.*s: %u consecutive connect failures", up->scheme,
                  (int)up->authority_len, up->authority, (unsigned)lb_fails(g, i));
    else if (cool == PASSIVE_FOREVER)
        log_warn("Upstream %s://%.*s is marked down until the health check reaches it (%u "
                 "consecutive connect failures)",
                 up->scheme, (int)up->authority_len, up->authority, (unsigned)lb_fails(g, i));
    else
        log_warn("Upstream %s://%.*s is marked down for %lld ms (%u consecutive connect "
                 "failures)",
                 up->scheme, (int)up->authority_len, up->authority, (long long)cool,
                 (unsigned)lb_fails(g, i));
}

void failover_connected(struct exchange *ex)
{
    if (lb_connect_ok(ex->route->lb, ex->up_index))
        log_info("Upstream %s://%.*s is reachable again: no longer marked down", ex->up->scheme,
                 (int)ex->up->authority_len, ex->up->authority);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t addr_down_until(const struct rt_addrs *a, size_t i)
{
    return atomic_load_explicit((_Atomic int64_t *)&a->down_until_ms[i], memory_order_relaxed);
}

/* From `first` on, the first address that has not failed lately (the clock
 * is read only when one has); `first` when all have. */
static size_t skip_failed(const struct rt_addrs *a, size_t first)
{
    int64_t now = 0;
    for (size_t k = 0; k < a->n; k++) {
        size_t i = (first + k) % a->n;
        int64_t d = addr_down_until(a, i);
        if (d && !now)
            now = mono_ms();
        if (!d || now >= d)
            return i;
    }
    return first;
}

size_t failover_addr(struct exchange *ex, const struct rt_addrs *a)
{
    static _Thread_local size_t rotation;
    if (!ex->addr_tries) {
        ex->addr_i = a->n > 1 ? skip_failed(a, rotation++ % a->n) : 0;
        ex->addr_tries = 1;
    }
    return ex->addr_i < a->n ? ex->addr_i : 0;
}

/* The current address of a multi-address upstream failed to connect. */
static void addr_failed(struct exchange *ex, struct rt_addrs *a)
{
    const struct cfg *cfg = ex->rt->cfg;
    if (a->n > 1 && ex->addr_i < a->n && cfg->upstream_max_fails)
        atomic_store_explicit(&a->down_until_ms[ex->addr_i],
                              mono_ms() + (int64_t)cfg->upstream_fail_timeout_s * 1000,
                              memory_order_relaxed);
}

uint64_t failover_connect_ms(struct exchange *ex)
{
    uint64_t now = loop_now_ms(ex->w->loop);
    if (!ex->connect_deadline_ms)
        ex->connect_deadline_ms = now + ex->rt->cfg->upstream_connect_timeout_s * 1000;
    if (now >= ex->connect_deadline_ms)
        return 1;
    uint64_t left = ex->connect_deadline_ms - now;
    struct rt_addrs *a = addrs_of(ex);
    size_t targets = 1;
    if (a && a->n > ex->addr_tries)
        targets += a->n - ex->addr_tries;
    if (ex->route->n_ups > 1)
        targets += lb_untried(ex->route->lb, ex->tried | (1ull << (ex->up_index % 64)));
    return left / targets ? left / targets : 1;
}

/* Replaces "\r\nhost: <old authority>\r\n" in the unsent head with the new
 * upstream's authority (set_upstream_host). Returns 0, or -1 when it cannot. */
static int rewrite_host(struct exchange *ex, const struct rt_upstream *old)
{
    unsigned opts = ex->route->route->cfg->upstream_options;
    if (!(opts & CFG_OPT_SET_UPSTREAM_HOST) || (opts & CFG_OPT_KEEP_ORIGINAL_HOST))
        return 0;
    char want[320];
    int wl =
        snprintf(want, sizeof(want), "\r\nhost: %.*s\r\n", (int)old->authority_len, old->authority);
    if (wl < 0 || (size_t)wl >= sizeof(want))
        return -1;
    char *head = buf_data(&ex->up_out);
    size_t hl = ex->head_len <= ex->up_out.len ? ex->head_len : ex->up_out.len;
    char *at = memmem(head, hl, want, (size_t)wl);
    if (!at)
        return 0; /* the default-app override wrote another Host */
    size_t from = (size_t)(at - head) + 8, old_len = old->authority_len;
    size_t new_len = ex->up->authority_len;
    if (new_len > old_len && buf_reserve(&ex->up_out, new_len - old_len) < 0)
        return -1;
    head = buf_data(&ex->up_out);
    memmove(head + from + new_len, head + from + old_len, ex->up_out.len - from - old_len);
    memcpy(head + from, ex->up->authority, new_len);
    ex->up_out.len = ex->up_out.len + new_len - old_len;
    ex->head_len = ex->head_len + new_len - old_len;
    return 0;
}

/* Moves the exchange to upstream i: head, access-log URI, sticky cookie. */
static int switch_upstream(struct exchange *ex, size_t i)
{
    const struct rt_upstream *old = ex->up;
    size_t prefix = strlen(old->scheme) + 3 + old->authority_len;
    ex->up_index = i;
    ex->up = &ex->route->ups[i];
    ex->addr_tries = 0;
    ex->addr_i = 0;
    if (rewrite_host(ex, old) < 0)
        return -1;
    if (ex->log.upstream_len >= prefix)
        exchange_log_upstream(ex, ex->log.upstream + prefix, ex->log.upstream_len - prefix);
    if (ex->route->sticky)
        exchange_issue_sticky(ex, i);
    return 0;
}

/* The next target after a failure on the current one: another address of
 * the same upstream (count: it was a connect failure), else the next
 * upstream. *counted tells whether passive health counted the failure.
 * Returns false when none is left or the budget is spent. */
static bool next_target(struct exchange *ex, bool count, int *counted)
{
    if (ex->connect_deadline_ms && loop_now_ms(ex->w->loop) >= ex->connect_deadline_ms)
        return false;
    struct rt_addrs *a = addrs_of(ex);
    if (count && a && ex->addr_tries)
        addr_failed(ex, a);
    if (count && a && ex->addr_tries && ex->addr_tries < a->n) {
        ex->addr_i = (ex->addr_i + 1) % a->n;
        ex->addr_tries++;
        return true;
    }
    if (count)
        *counted = lb_connect_failed(ex->route->lb, ex->up_index) ? 1 : 0;
    ex->tried |= 1ull << (ex->up_index % 64);
    if (ex->route->n_ups < 2)
        return false;
    size_t i = lb_next(ex->route->lb, ex->tried, ex->up_index, &ex->w->rng);
    return i < ex->route->n_ups && switch_upstream(ex, i) == 0;
}

/* Why attach() failed at once: errno of the connect, or no address. */
static const char *attach_error(char *buf, size_t cap)
{
    int e = errno;
    snprintf(buf, cap, "Failed to get response from backend: %s%s", e ? "connect: " : "",
             e ? strerror(e) : "no address");
    return buf;
}

/* Logs the failed attempt (WARN) and attaches targets until one attempt is
 * under way. why NULL: attach() failed (errno). */
static bool attempt(struct exchange *ex, const char *why, bool count)
{
    char why_buf[160];
    if (!why)
        why = attach_error(why_buf, sizeof(why_buf));
    for (size_t guard = 0; guard < 64 + RT_MAX_ADDRS; guard++) {
        char failed[400], next[400];
        size_t failed_i = ex->up_index;
        int counted = -1;
        target_text(ex, failed, sizeof(failed));
        bool more = next_target(ex, count, &counted);
        if (more)
            target_text(ex, next, sizeof(next));
        log_warn("%s (upstream %s)%s%s", why, failed, more ? "; trying " : "", more ? next : "");
        if (counted >= 0)
            log_failure(ex, failed_i, counted == 1);
        if (!more)
            return false;
        /* a fresh connection: a pooled one could be stale too, and the one
         * safe retry of a reused connection may be spent already */
        errno = 0;
        if (ex->upc->attach(ex, true) == 0)
            return true;
        why = attach_error(why_buf, sizeof(why_buf));
        count = true;
    }
    return false;
}

bool failover_connect_failed(struct exchange *ex, const char *why)
{
    ex->upc->release(ex, false);
    return attempt(ex, why, true);
}

bool failover_resend_elsewhere(struct exchange *ex, const char *why)
{
    ex->upc->release(ex, false);
    return attempt(ex, why, false);
}
