/* Buffers: reserve, consume, compaction, growth up to BUF_MAX, release. */
#include <string.h>

#include "../tap.h"
#include "core/buf.h"

int main(void)
{
    struct buf b = { 0 };
    TAP_INT_EQ(buf_reserve(&b, 100), 0, "first reserve allocates a block");
    TAP_INT_EQ(b.cap, BUF_BLOCK, "a standard block");
    memcpy(buf_data(&b), "hello world", 11);
    b.len = 11;
    buf_consume(&b, 6);
    TAP_INT_EQ(b.len, 5, "consumed");
    TAP_OK(memcmp(buf_data(&b), "world", 5) == 0, "data after consume");
    TAP_INT_EQ(buf_reserve(&b, BUF_BLOCK - 5), 0, "compaction makes room");
    TAP_INT_EQ(b.off, 0, "data moved to the front");
    TAP_OK(memcmp(buf_data(&b), "world", 5) == 0, "data kept by compaction");
    TAP_INT_EQ(buf_reserve(&b, BUF_BLOCK), 0, "growth beyond a block");
    TAP_OK(b.cap > BUF_BLOCK && b.cap <= BUF_MAX, "grown within BUF_MAX");
    TAP_OK(memcmp(buf_data(&b), "world", 5) == 0, "data kept by growth");
    TAP_INT_EQ(buf_reserve(&b, BUF_MAX), -1, "no growth past BUF_MAX");
    buf_release(&b);
    TAP_OK(b.base != NULL, "a buffer with data is not released");
    buf_consume(&b, b.len);
    buf_release(&b);
    TAP_OK(b.base == NULL && b.cap == 0, "an empty buffer gives its block back");
    struct buf c = { 0 };
    buf_reserve(&c, 1);
    char *first = c.base;
    buf_release(&c);
    buf_reserve(&c, 1);
    TAP_OK(c.base == first, "blocks are recycled through the free list");
    buf_release(&c);
    buf_pool_drain();
    return tap_done();
}
