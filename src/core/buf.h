/* Byte buffers for sockets: a window [off, off+len) inside a block taken
 * from a per-thread free list. Blocks are BUF_BLOCK bytes; a buffer may grow
 * to BUF_MAX for an oversized message head. An empty buffer can give its
 * block back (buf_release), so idle connections hold no buffer memory. */
#ifndef RPXY_CORE_BUF_H
#define RPXY_CORE_BUF_H

#include <stddef.h>

#define BUF_BLOCK (16u * 1024)
#define BUF_MAX (64u * 1024)

struct buf {
    char *base;
    size_t off, len, cap;
};

static inline char *buf_data(const struct buf *b)
{
    return b->base + b->off;
}

/* The data for reading, "" when there is none (an empty buffer may have no
 * block: buf_data would be NULL + 0). */
static inline const char *buf_bytes(const struct buf *b)
{
    return b->len ? b->base + b->off : "";
}

/* Room after the data. */
static inline size_t buf_room(const struct buf *b)
{
    return b->cap - b->off - b->len;
}

/* Ensures at least `want` free bytes after the data (allocating a block,
 * moving the data to the front, or growing up to BUF_MAX). Returns 0, or -1
 * when out of memory or above BUF_MAX. */
int buf_reserve(struct buf *b, size_t want);

/* Drops n bytes from the front; an emptied buffer rewinds to offset 0. */
void buf_consume(struct buf *b, size_t n);

/* Gives the block back to this thread's free list if the buffer is empty. */
void buf_release(struct buf *b);

/* Frees this thread's cached blocks (at thread exit). */
void buf_pool_drain(void);

#endif
