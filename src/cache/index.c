/* The shared index: shards of hash table + LRU list, each under its own
 * mutex, key locks, the cache directory's life. */
#include "cache/index.h"

#include <errno.h>
#include <ftw.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/base64url.h"

#define MAX_BUCKETS (1u << 20)
/* Caches this large are split into SHARDS by key hash: the LRU order is then
 * kept per shard (eviction takes the inserting shard's oldest entry), which
 * is indistinguishable from one global order at thousands of entries and
 * lets hits on different shards proceed in parallel. Smaller caches keep one
 * shard and an exact LRU. */
#define SHARDS 16
#define SHARDED_FROM 4096

struct shard {
    _Alignas(64) pthread_mutex_t mu;
    struct cache_entry **buckets;
    size_t mask;
    struct cache_entry *lru_head, *lru_tail; /* head: most recently used */
    size_t count;
    struct cache_key_lock *locks; /* owned by their requests */
};

struct cache {
    atomic_int refs;
    struct cfg_cache cfg; /* cache_dir owned */
    atomic_ullong seq;    /* file names */
    atomic_bool retired;  /* replaced after a reload: stores still under way are dropped */
    atomic_size_t count;  /* entries in all shards */
    size_t n_shards;
    struct shard *shards;
};

static uint64_t key_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return h;
}

/* ---- the directory ---- */

/* Everything under the directory goes; the directory itself stays (so only
 * it, not its parent, needs to be writable). */
static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    if (ftw->level == 0)
        return 0;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char tmp[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char saved = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
            return -1;
        tmp[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return access(dir, W_OK | X_OK);
}

static int reset_dir(const char *dir, char *err, size_t cap)
{
    if (!dir[0] || strcmp(dir, "/") == 0) {
        snprintf(err, cap, "cache_dir '%s' cannot be wiped", dir);
        return -1;
    }
    struct stat st;
    if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0) {
        snprintf(err, cap, "cannot clear cache_dir '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (make_dirs(dir) < 0) {
        snprintf(err, cap, "cannot create cache_dir '%s': %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- life ---- */

/* Lets an entry the index dropped go: its file first (readers keep their
 * descriptor), then the index's reference. */
static void discard(struct cache_entry *e)
{
    if (e->path)
        unlink(e->path);
    cache_entry_unref(e);
}

static void shards_free(struct shard *sh, size_t n)
{
    for (size_t i = 0; sh && i < n; i++) {
        for (struct cache_entry *e = sh[i].lru_head, *next; e; e = next) {
            next = e->lru_next;
            discard(e);
        }
        pthread_mutex_destroy(&sh[i].mu);
        free(sh[i].buckets);
    }
    free(sh);
}

static struct shard *shards_new(size_t n, uint64_t entries)
{
    struct shard *sh = aligned_alloc(64, n * sizeof(*sh));
    if (!sh)
        return NULL;
    memset(sh, 0, n * sizeof(*sh));
    size_t nb = 16;
    while (nb < MAX_BUCKETS / n && nb < entries * 2 / n)
        nb *= 2;
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_init(&sh[i].mu, NULL);
        sh[i].buckets = calloc(nb, sizeof(*sh[i].buckets));
        sh[i].mask = nb - 1;
        if (!sh[i].buckets) {
            shards_free(sh, n);
            return NULL;
        }
    }
    return sh;
}

struct cache *cache_open(const struct cfg_cache *t, char *err, size_t err_cap)
{
    if (reset_dir(t->cache_dir, err, err_cap) < 0)
        return NULL;
    struct cache *c = calloc(1, sizeof(*c));
    if (c) {
        c->n_shards = t->max_cache_entry >= SHARDED_FROM ? SHARDS : 1;
        c->shards = shards_new(c->n_shards, t->max_cache_entry);
        c->cfg = *t;
        c->cfg.cache_dir = strdup(t->cache_dir);
    }
    if (!c || !c->shards || !c->cfg.cache_dir) {
        if (c) {
            shards_free(c->shards, c->n_shards);
            free(c->cfg.cache_dir);
        }
        free(c);
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    atomic_init(&c->refs, 1);
    return c;
}

static bool same_table(const struct cfg_cache *a, const struct cfg_cache *b)
{
    return a->enabled == b->enabled && strcmp(a->cache_dir, b->cache_dir) == 0 &&
           a->max_cache_entry == b->max_cache_entry &&
           a->max_cache_each_size == b->max_cache_each_size &&
           a->max_cache_each_size_on_memory == b->max_cache_each_size_on_memory;
}

struct cache *cache_carry(struct cache *old, const struct cfg_cache *t, char *err, size_t err_cap)
{
    if (old && same_table(&old->cfg, t)) {
        cache_ref(old);
        return old;
    }
    struct cache *c = cache_open(t, err, err_cap);
    if (c && old)
        atomic_store(&old->retired, true);
    return c;
}

void cache_ref(struct cache *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void cache_unref(struct cache *c)
{
    if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    shards_free(c->shards, c->n_shards);
    free(c->cfg.cache_dir);
    free(c);
}

bool cache_retired(struct cache *c)
{
    return atomic_load(&c->retired);
}

const struct cfg_cache *cache_settings(const struct cache *c)
{
    return &c->cfg;
}

/* ---- the index (callers hold the shard's mu) ---- */

static struct shard *shard_of(struct cache *c, uint64_t h)
{
    /* Fibonacci hashing: FNV-1a's top bits alone are poorly spread */
    return &c->shards[((h * 0x9E3779B97F4A7C15ULL) >> 60) % c->n_shards];
}

static void lru_unlink(struct shard *s, struct cache_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        s->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        s->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct shard *s, struct cache_entry *e)
{
    e->lru_next = s->lru_head;
    e->lru_prev = NULL;
    if (s->lru_head)
        s->lru_head->lru_prev = e;
    s->lru_head = e;
    if (!s->lru_tail)
        s->lru_tail = e;
}

static struct cache_entry **find_slot(struct shard *s, uint64_t h, const char *key, size_t len)
{
    struct cache_entry **p = &s->buckets[h & s->mask];
    for (; *p; p = &(*p)->hnext)
        if ((*p)->hash == h && (*p)->key_len == len && memcmp((*p)->key, key, len) == 0)
            return p;
    return p;
}

static void unlink_entry(struct cache *c, struct shard *s, struct cache_entry **slot)
{
    struct cache_entry *e = *slot;
    *slot = e->hnext;
    e->hnext = NULL;
    lru_unlink(s, e);
    e->linked = false;
    s->count--;
    atomic_fetch_sub_explicit(&c->count, 1, memory_order_relaxed);
}

/* Takes the shard's least recently used entry out (not keep). */
static struct cache_entry *evict_oldest(struct cache *c, struct shard *s,
                                        const struct cache_entry *keep)
{
    struct cache_entry *old = s->lru_tail;
    if (!old || old == keep)
        return NULL;
    unlink_entry(c, s, find_slot(s, old->hash, old->key, old->key_len));
    return old;
}

static bool answers(const struct cache_entry *e, const struct cache_query *q)
{
    if (e->method != q->req->method || e->host_len != q->host_len ||
        memcmp(e->host, q->host, q->host_len) != 0 ||
        !cache_entry_vary_matches(e, q->fields, q->n_fields))
        return false;
    int64_t age = policy_age_ms(e->response_ms, e->age_s, q->now_ms);
    return policy_satisfies(q->req, e->lifetime_ms, age, e->must_revalidate);
}

static bool locked(const struct shard *s, uint64_t h, const char *key, size_t len)
{
    for (const struct cache_key_lock *l = s->locks; l; l = l->next)
        if (l->hash == h && l->key_len == len && memcmp(l->key, key, len) == 0)
            return true;
    return false;
}

enum cache_lookup cache_lookup(struct cache *c, const struct cache_query *q,
                               struct cache_key_lock *lock, struct cache_entry **hit)
{
    uint64_t h = key_hash(q->key, q->key_len);
    struct shard *s = shard_of(c, h);
    struct cache_entry *victim = NULL;
    enum cache_lookup r = CACHE_MISS;
    *hit = NULL;
    pthread_mutex_lock(&s->mu);
    struct cache_entry **slot = find_slot(s, h, q->key, q->key_len);
    if (*slot && answers(*slot, q)) {
        *hit = *slot;
        cache_entry_ref(*hit);
        lru_unlink(s, *hit);
        lru_push_front(s, *hit);
        r = CACHE_HIT;
    } else {
        if (*slot) {
            victim = *slot;
            unlink_entry(c, s, slot);
        }
        if (lock && locked(s, h, q->key, q->key_len)) {
            r = CACHE_LOCKED;
        } else if (lock) {
            *lock = (struct cache_key_lock){ s->locks, h, q->key, q->key_len };
            s->locks = lock;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (victim)
        discard(victim);
    return r;
}

void cache_unlock(struct cache *c, struct cache_key_lock *lock)
{
    struct shard *s = shard_of(c, lock->hash);
    pthread_mutex_lock(&s->mu);
    for (struct cache_key_lock **p = &s->locks; *p; p = &(*p)->next) {
        if (*p == lock) {
            *p = lock->next;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

void cache_insert(struct cache *c, struct cache_entry *e)
{
    e->hash = key_hash(e->key, e->key_len);
    struct shard *s = shard_of(c, e->hash);
    struct cache_entry *victims[2] = { NULL, NULL };
    pthread_mutex_lock(&s->mu);
    struct cache_entry **slot = find_slot(s, e->hash, e->key, e->key_len);
    if (*slot) {
        victims[0] = *slot;
        unlink_entry(c, s, slot);
        slot = find_slot(s, e->hash, e->key, e->key_len);
    }
    *slot = e;
    e->linked = true;
    lru_push_front(s, e);
    s->count++;
    bool over =
        atomic_fetch_add_explicit(&c->count, 1, memory_order_relaxed) + 1 > c->cfg.max_cache_entry;
    if (over)
        victims[1] = evict_oldest(c, s, e);
    pthread_mutex_unlock(&s->mu);
    /* the new entry alone in its shard: the oldest of another one goes */
    for (size_t i = 1; over && !victims[1] && i < c->n_shards; i++) {
        struct shard *o = &c->shards[(size_t)(s - c->shards + i) % c->n_shards];
        pthread_mutex_lock(&o->mu);
        victims[1] = evict_oldest(c, o, NULL);
        pthread_mutex_unlock(&o->mu);
    }
    for (int i = 0; i < 2; i++)
        if (victims[i])
            discard(victims[i]);
}

void cache_drop(struct cache *c, struct cache_entry *e)
{
    struct shard *s = shard_of(c, e->hash);
    bool mine = false;
    pthread_mutex_lock(&s->mu);
    if (e->linked) {
        struct cache_entry **slot = find_slot(s, e->hash, e->key, e->key_len);
        if (*slot == e) {
            unlink_entry(c, s, slot);
            mine = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (mine)
        discard(e);
    else if (e->path)
        unlink(e->path);
}

char *cache_file_name(struct cache *c, const char *key, size_t key_len)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, key_len, md);
    char b64[64];
    size_t bl = b64url_encode(md, sizeof(md), b64);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long seq = atomic_fetch_add(&c->seq, 1);
    size_t cap = strlen(c->cfg.cache_dir) + 128;
    char *p = malloc(cap);
    if (!p)
        return NULL;
    snprintf(p, cap, "%s/%.*s-%ld-%lld%09ld-%llu", c->cfg.cache_dir, (int)bl, b64, (long)getpid(),
             (long long)ts.tv_sec, ts.tv_nsec, seq);
    return p;
}

size_t cache_count(struct cache *c)
{
    return atomic_load(&c->count);
}
