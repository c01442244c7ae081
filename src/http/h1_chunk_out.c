#include "http/h1_chunk_out.h"

#include <string.h>

#include "http/h1_chunked.h"

int h1_chunk_append(struct buf *b, const char *p, size_t n)
{
    if (!n)
        return 0;
    char hdr[H1_CHUNK_HEADER_MAX];
    size_t hl = h1_chunk_header(hdr, n);
    if (buf_reserve(b, hl + n + 2) < 0)
        return -1;
    char *o = buf_data(b) + b->len;
    memcpy(o, hdr, hl);
    memcpy(o + hl, p, n);
    memcpy(o + hl + n, "\r\n", 2);
    b->len += hl + n + 2;
    return 0;
}

int h1_chunk_append_last(struct buf *b, const char *trailer, size_t trailer_len)
{
    size_t need = trailer_len + 8;
    if (buf_reserve(b, need) < 0)
        return -1;
    b->len += h1_chunk_last(buf_data(b) + b->len, need, trailer, trailer_len);
    return 0;
}
