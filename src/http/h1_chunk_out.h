/* Writing the chunked transfer coding (RFC 9112 7.1) into a buffer. */
#ifndef RPXY_HTTP_H1_CHUNK_OUT_H
#define RPXY_HTTP_H1_CHUNK_OUT_H

#include <stddef.h>

#include "core/buf.h"

/* Appends p[0..n) as one chunk (nothing when n is 0). Returns 0, or -1
 * when the buffer cannot grow. */
int h1_chunk_append(struct buf *b, const char *p, size_t n);

/* Appends the last chunk with the trailer field lines ("name: value\r\n"...,
 * may be empty) and the final CRLF. Returns 0 or -1. */
int h1_chunk_append_last(struct buf *b, const char *trailer, size_t trailer_len);

#endif
