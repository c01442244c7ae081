/* The cache on the exchange (SPEC 14): the lookup once the upstream
 * request is built, and the wait of a miss whose key another request is
 * fetching (ours, like nginx's proxy_cache_lock). Storing is in
 * cache_store.c, serving in cache_serve.c. */
#include "proxy/exchange_cache.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "cache/index.h"
#include "cache/key.h"
#include "cache/policy.h"
#include "core/worker.h"
#include "proxy/cache_parts.h"
#include "proxy/client_conn.h"
#include "proxy/runtime.h"
#include "upstream/client.h"

#define KEY_MAX 8600
#define WAIT_POLL_MS 20
#define WAIT_LIMIT_MS 5000 /* as nginx's proxy_cache_lock_timeout */

int64_t excache_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The Host field of the upstream head (SPEC 14: must match). */
static const char *upstream_host(const struct exchange *ex, size_t *len)
{
    const char *p = buf_bytes(&ex->up_out), *end = p + ex->head_len;
    for (const char *q = p; q && q + 8 < end; q = memchr(q + 1, '\n', (size_t)(end - q - 1))) {
        if (strncasecmp(q + 1, "host: ", 6) != 0 || *q != '\n')
            continue;
        const char *v = q + 7, *eol = memchr(v, '\r', (size_t)(end - v));
        if (!eol)
            break;
        *len = (size_t)(eol - v);
        return v;
    }
    *len = 0;
    return "";
}

/* ---- waiting for another request's fetch (ours, like proxy_cache_lock) ---- */

static void on_wait(struct loop *loop, struct loop_timer *t)
{
    struct exchange *ex = container_of(t, struct exchange, timer);
    struct excache_miss *m = ex->cache.miss;
    struct client *c = ex->c;
    struct cache_query q;
    excache_miss_query(m, &q);
    bool expired = q.now_ms >= ex->cache.wait_until_ms;
    struct cache_entry *hit;
    enum cache_lookup r = cache_lookup(m->c, &q, expired ? NULL : &m->lock, &hit);
    if (r == CACHE_LOCKED) {
        loop_timer_set(loop, &ex->timer, WAIT_POLL_MS, on_wait);
        return;
    }
    ex->upc = ex->cache.up;
    ex->cache.up = NULL;
    if (r == CACHE_HIT) {
        excache_serve(ex, hit, m->fields, m->n_fields);
        excache_stop_storing(m);
    } else {
        m->locked = !expired;
        if (ex->upc->attach(ex, false) < 0) {
            exchange_abort(ex, 502, "Failed to get response from backend: cannot connect");
            client_drive(c);
            return;
        }
    }
    ex->fe->kick(ex);
}

/* ---- the lookup ---- */

int excache_begin(struct exchange *ex, const struct ex_request *req, bool https, const char *host,
                  size_t host_len)
{
    struct cache *c = ex->rt->cache;
    memset(&ex->cache, 0, sizeof(ex->cache));
    enum cache_method method = cache_method_of(req->method, req->method_len);
    char key[KEY_MAX];
    long kl = req->routable && !ex->upgrade && method != CACHE_OTHER
                  ? cache_key(https, host, host_len, req->target, req->target_len, key, sizeof(key))
                  : -1;
    if (kl < 0)
        return 0;
    struct cache_req_facts facts;
    policy_read_request(&facts, method, req->fields, req->n_fields);
    struct cache_query q = {
        .key = key,
        .key_len = (size_t)kl,
        .req = &facts,
        .fields = req->fields,
        .n_fields = req->n_fields,
        .now_ms = excache_now_ms(),
    };
    q.host = upstream_host(ex, &q.host_len);
    struct cache_entry *hit;
    enum cache_lookup r = cache_lookup(c, &q, NULL, &hit);
    if (r == CACHE_HIT) {
        /* a file may fail its check: what storing the refetch needs */
        if (hit->path && !facts.cc.no_store)
            ex->cache.miss = excache_miss_new(c, &q);
        excache_serve(ex, hit, req->fields, req->n_fields);
        return 1;
    }
    if (facts.cc.only_if_cached)
        return -1;
    struct excache_miss *m = facts.cc.no_store ? NULL : excache_miss_new(c, &q);
    if (!m)
        return 0;
    ex->cache.miss = m;
    excache_tee(ex);
    /* a second look, taking the key: collapses concurrent misses */
    if (method != CACHE_POST && ex->req_done) {
        struct cache_query mq; /* the lock keeps pointing at m's key */
        excache_miss_query(m, &mq);
        r = cache_lookup(c, &mq, &m->lock, &hit);
        m->locked = r == CACHE_MISS;
    }
    if (r == CACHE_HIT) {
        excache_serve(ex, hit, req->fields, req->n_fields);
    } else if (r == CACHE_LOCKED) {
        ex->cache.up = ex->upc;
        ex->upc = &excache_client;
        ex->cache.wait_until_ms = q.now_ms + WAIT_LIMIT_MS;
        loop_timer_set(ex->w->loop, &ex->timer, WAIT_POLL_MS, on_wait);
    }
    return r == CACHE_MISS ? 0 : 1;
}
