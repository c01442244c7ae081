#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

#define POOL_KEEP 256 /* blocks cached per thread */

static _Thread_local void *pool[POOL_KEEP];
static _Thread_local size_t pool_n;

static char *block_get(void)
{
    if (pool_n)
        return pool[--pool_n];
    return malloc(BUF_BLOCK);
}

static void block_put(char *p, size_t cap)
{
    if (cap == BUF_BLOCK && pool_n < POOL_KEEP)
        pool[pool_n++] = p;
    else
        free(p);
}

int buf_reserve(struct buf *b, size_t want)
{
    if (!b->base) {
        size_t cap = want <= BUF_BLOCK ? BUF_BLOCK : want;
        if (cap > BUF_MAX)
            return -1;
        b->base = cap == BUF_BLOCK ? block_get() : malloc(cap);
        if (!b->base)
            return -1;
        b->cap = cap;
        b->off = b->len = 0;
        return 0;
    }
    if (buf_room(b) >= want)
        return 0;
    if (b->off && b->cap - b->len >= want) {
        memmove(b->base, b->base + b->off, b->len);
        b->off = 0;
        return 0;
    }
    size_t cap = b->cap;
    while (cap - b->len < want)
        cap *= 2;
    if (cap > BUF_MAX)
        return -1;
    char *nb = malloc(cap);
    if (!nb)
        return -1;
    memcpy(nb, b->base + b->off, b->len);
    block_put(b->base, b->cap);
    b->base = nb;
    b->cap = cap;
    b->off = 0;
    return 0;
}

void buf_consume(struct buf *b, size_t n)
{
    b->off += n;
    b->len -= n;
    if (b->len == 0)
        b->off = 0;
}

void buf_release(struct buf *b)
{
    if (!b->base || b->len)
        return;
    block_put(b->base, b->cap);
    b->base = NULL;
    b->cap = b->off = 0;
}

void buf_pool_drain(void)
{
    while (pool_n)
        free(pool[--pool_n]);
}
