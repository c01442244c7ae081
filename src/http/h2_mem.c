#include "http/h2_mem.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Classes of 32 bytes to 16 KiB, powers of two; larger blocks go straight
 * to malloc. Each block starts with a header naming its class. */
#define CLASSES 10
#define MIN_SHIFT 5
#define CACHE_PER_CLASS 512
#define LARGE CLASSES

struct block {
    union {
        struct block *next; /* while cached */
        size_t cls;         /* while in use */
        max_align_t align;
    } h;
};

struct free_list {
    struct block *head;
    size_t n;
};

static _Thread_local struct free_list cache[CLASSES];

static size_t class_of(size_t size)
{
    size_t cls = 0;
    while (cls < CLASSES && ((size_t)1 << (cls + MIN_SHIFT)) < size)
        cls++;
    return cls;
}

static void *mem_malloc(size_t size, void *user)
{
    size_t cls = class_of(size);
    struct block *b;
    if (cls < CLASSES && cache[cls].head) {
        b = cache[cls].head;
        cache[cls].head = b->h.next;
        cache[cls].n--;
    } else {
        size_t bytes = cls < CLASSES ? (size_t)1 << (cls + MIN_SHIFT) : size;
        b = malloc(sizeof(*b) + bytes);
        if (!b)
            return NULL;
    }
    b->h.cls = cls;
    return b + 1;
}

static void mem_free(void *ptr, void *user)
{
    if (!ptr)
        return;
    struct block *b = (struct block *)ptr - 1;
    size_t cls = b->h.cls;
    if (cls >= CLASSES || cache[cls].n >= CACHE_PER_CLASS) {
        free(b);
        return;
    }
    b->h.next = cache[cls].head;
    cache[cls].head = b;
    cache[cls].n++;
}

static void *mem_calloc(size_t n, size_t size, void *user)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = mem_malloc(n * size, user);
    if (p)
        memset(p, 0, n * size);
    return p;
}

static void *mem_realloc(void *ptr, size_t size, void *user)
{
    if (!ptr)
        return mem_malloc(size, user);
    struct block *b = (struct block *)ptr - 1;
    size_t have = b->h.cls < CLASSES ? (size_t)1 << (b->h.cls + MIN_SHIFT) : 0;
    if (b->h.cls < CLASSES && size <= have)
        return ptr;
    if (b->h.cls >= CLASSES) {
        /* a large block: its size is unknown here, let realloc copy */
        struct block *nb = realloc(b, sizeof(*b) + size);
        if (!nb)
            return NULL;
        nb->h.cls = LARGE; /* stays a malloc block */
        return nb + 1;
    }
    void *np = mem_malloc(size, user);
    if (!np)
        return NULL;
    memcpy(np, ptr, have);
    mem_free(ptr, user);
    return np;
}

nghttp2_mem *h2_mem(void)
{
    static nghttp2_mem mem = {
        .malloc = mem_malloc,
        .free = mem_free,
        .calloc = mem_calloc,
        .realloc = mem_realloc,
    };
    return &mem;
}

void h2_mem_drain(void)
{
    for (size_t i = 0; i < CLASSES; i++) {
        while (cache[i].head) {
            struct block *b = cache[i].head;
            cache[i].head = b->h.next;
            free(b);
        }
        cache[i].n = 0;
    }
}
