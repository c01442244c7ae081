#include "cache/shared_body.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define WHOLE_MAX (2u << 20)     /* a body up to this is read whole */
#define WHOLE_BUDGET (64u << 20) /* ... while all such bodies hold less than this */

/* Guards every entry's `shared` pointer and the readers counts: held for a
 * few instructions per file hit. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_size_t whole_bytes;

struct cache_shared_body *cache_shared_body_get(struct cache_entry *e)
{
    pthread_mutex_lock(&lock);
    struct cache_shared_body *b = e->shared;
    if (b)
        b->readers++;
    pthread_mutex_unlock(&lock);
    return b;
}

struct cache_shared_body *cache_shared_body_new(uint64_t len)
{
    if (len > WHOLE_MAX)
        return NULL;
    size_t was = atomic_fetch_add(&whole_bytes, (size_t)len);
    struct cache_shared_body *b =
        was + len <= WHOLE_BUDGET ? malloc(sizeof(*b) + (size_t)len) : NULL;
    if (!b) {
        atomic_fetch_sub(&whole_bytes, (size_t)len);
        return NULL;
    }
    b->len = len;
    b->readers = 1;
    return b;
}

static void body_free(struct cache_shared_body *b)
{
    atomic_fetch_sub(&whole_bytes, (size_t)b->len);
    free(b);
}

struct cache_shared_body *cache_shared_body_publish(struct cache_entry *e,
                                                    struct cache_shared_body *b)
{
    pthread_mutex_lock(&lock);
    struct cache_shared_body *have = e->shared;
    if (have)
        have->readers++;
    else
        e->shared = b;
    pthread_mutex_unlock(&lock);
    if (!have)
        return b;
    body_free(b);
    return have;
}

void cache_shared_body_release(struct cache_entry *e, struct cache_shared_body *b)
{
    pthread_mutex_lock(&lock);
    bool last = --b->readers == 0;
    if (last && e->shared == b)
        e->shared = NULL;
    pthread_mutex_unlock(&lock);
    if (last)
        body_free(b);
}
