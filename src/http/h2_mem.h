/* The allocator nghttp2 sessions use: per-thread free lists by size class,
 * so the objects nghttp2 makes for every stream and frame are recycled
 * instead of going through malloc and free (a session lives on one worker
 * thread, so its memory never crosses threads). */
#ifndef RPXY_HTTP_H2_MEM_H
#define RPXY_HTTP_H2_MEM_H

#include <nghttp2/nghttp2.h>

/* The allocator to pass to nghttp2_session_*_new3 (process-wide, constant). */
nghttp2_mem *h2_mem(void);

/* Frees this thread's cached blocks (at thread exit). */
void h2_mem_drain(void);

#endif
