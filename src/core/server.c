#include "core/server.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/worker.h"
#include "proxy/runtime.h"
#include "tls/sni_table.h"

struct server g_server = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .per_ip_lock = PTHREAD_MUTEX_INITIALIZER,
};

void lset_unref(struct lset *ls)
{
    if (!ls || atomic_fetch_sub(&ls->refs, 1) != 1)
        return;
    for (size_t i = 0; i < ls->n; i++) {
        for (size_t w = 0; w < ls->n_workers; w++)
            if (ls->entries[i].fds[w] >= 0)
                close(ls->entries[i].fds[w]);
        free(ls->entries[i].fds);
    }
    free(ls->entries);
    free(ls);
}

void server_publish(struct runtime *rt, struct lset *ls)
{
    pthread_mutex_lock(&g_server.lock);
    struct runtime *old_rt = NULL;
    struct lset *old_ls = NULL;
    if (rt) {
        old_rt = g_server.runtime;
        g_server.runtime = rt;
    }
    if (ls) {
        old_ls = g_server.lset;
        g_server.lset = ls;
    }
    atomic_fetch_add(&g_server.generation, 1);
    pthread_mutex_unlock(&g_server.lock);
    if (old_rt)
        runtime_unref(old_rt);
    lset_unref(old_ls);
    for (size_t i = 0; i < g_server.n_workers; i++)
        worker_wake(g_server.workers[i]);
}

void server_publish_tls(struct tls_sni_table *t)
{
    pthread_mutex_lock(&g_server.lock);
    struct tls_sni_table *old = g_server.tls;
    g_server.tls = t;
    atomic_fetch_add(&g_server.generation, 1);
    pthread_mutex_unlock(&g_server.lock);
    sni_table_unref(old);
    for (size_t i = 0; i < g_server.n_workers; i++)
        worker_wake(g_server.workers[i]);
}

struct tls_sni_table *server_acquire_tls(void)
{
    pthread_mutex_lock(&g_server.lock);
    struct tls_sni_table *t = g_server.tls;
    if (t)
        sni_table_ref(t);
    pthread_mutex_unlock(&g_server.lock);
    return t;
}

struct runtime *server_acquire_runtime(void)
{
    pthread_mutex_lock(&g_server.lock);
    struct runtime *rt = g_server.runtime;
    if (rt)
        runtime_ref(rt);
    pthread_mutex_unlock(&g_server.lock);
    return rt;
}

struct lset *server_acquire_lset(void)
{
    pthread_mutex_lock(&g_server.lock);
    struct lset *ls = g_server.lset;
    if (ls)
        atomic_fetch_add(&ls->refs, 1);
    pthread_mutex_unlock(&g_server.lock);
    return ls;
}

/* ---- per-IP slots: open addressing, tombstone-free (count 0 = free) ---- */

struct per_ip_slot {
    struct ip_addr ip;
    uint32_t count;
};

struct per_ip_table {
    size_t cap, used;
    struct per_ip_slot *slots;
};

static size_t ip_hash(const struct ip_addr *ip)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < 16; i++)
        h = (h ^ ip->bytes[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static struct per_ip_slot *find_slot(struct per_ip_table *t, const struct ip_addr *ip, bool insert)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1;
    struct per_ip_slot *empty = NULL;
    for (size_t i = ip_hash(ip) & mask, probes = 0; probes < t->cap; i = (i + 1) & mask, probes++) {
        struct per_ip_slot *s = &t->slots[i];
        if (s->count && memcmp(&s->ip, ip, sizeof(*ip)) == 0)
            return s;
        if (!s->count && !empty)
            empty = s;
    }
    if (!insert || !empty)
        return NULL;
    empty->ip = *ip;
    return empty;
}

bool server_client_acquire(uint32_t max)
{
    long n = atomic_fetch_add(&g_server.clients, 1) + 1;
    if (n > (long)max) {
        atomic_fetch_sub(&g_server.clients, 1);
        return false;
    }
    return true;
}

void server_client_release(void)
{
    atomic_fetch_sub(&g_server.clients, 1);
}

bool server_ip_acquire(const struct ip_addr *ip, uint32_t limit)
{
    if (!limit)
        return true;
    bool ok = false;
    pthread_mutex_lock(&g_server.per_ip_lock);
    if (!g_server.per_ip)
        g_server.per_ip = calloc(1, sizeof(*g_server.per_ip));
    struct per_ip_table *t = g_server.per_ip;
    if (t && t->used * 2 >= t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        struct per_ip_slot *slots = calloc(cap, sizeof(*slots));
        if (slots) {
            struct per_ip_table nt = { .cap = cap, .slots = slots };
            for (size_t i = 0; i < t->cap; i++) {
                if (t->slots[i].count) {
                    struct per_ip_slot *s = find_slot(&nt, &t->slots[i].ip, true);
                    s->count = t->slots[i].count;
                    nt.used++;
                }
            }
            free(t->slots);
            *t = nt;
        }
    }
    struct per_ip_slot *s = t ? find_slot(t, ip, true) : NULL;
    if (s && s->count < limit) {
        if (s->count++ == 0)
            t->used++;
        ok = true;
    }
    pthread_mutex_unlock(&g_server.per_ip_lock);
    return ok;
}

void server_ip_release(const struct ip_addr *ip, uint32_t limit)
{
    if (!limit)
        return;
    pthread_mutex_lock(&g_server.per_ip_lock);
    struct per_ip_table *t = g_server.per_ip;
    struct per_ip_slot *s = t ? find_slot(t, ip, false) : NULL;
    if (s && s->count && --s->count == 0)
        t->used--;
    pthread_mutex_unlock(&g_server.per_ip_lock);
}
