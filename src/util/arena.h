/* A bump allocator: many small allocations released in one step. */
#ifndef RPXY_UTIL_ARENA_H
#define RPXY_UTIL_ARENA_H

#include <stddef.h>

struct arena;

/* Returns a new empty arena, or NULL when out of memory. */
struct arena *arena_new(void);

/* Releases the arena and everything allocated from it. NULL is a no-op. */
void arena_free(struct arena *a);

/* Returns n zeroed bytes aligned for any type, owned by the arena, or NULL. */
void *arena_alloc(struct arena *a, size_t n);

/* Copies len bytes and adds a NUL. Returns the copy, or NULL. */
char *arena_strndup(struct arena *a, const char *s, size_t len);

#endif
