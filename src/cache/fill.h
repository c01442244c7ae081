/* Storing one response while it streams to the client: the body goes to
 * memory up to max_cache_each_size_on_memory, then to a file (a ".tmp"
 * name, SHA-256 computed on the way, renamed when complete); past
 * max_cache_each_size, or on a write error (disk full), storing stops and
 * the client is not affected. */
#ifndef RPXY_CACHE_FILL_H
#define RPXY_CACHE_FILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/entry.h"
#include "cache/index.h"

struct cache_fill;

/* Starts storing entry e (the fill takes the caller's reference) into c
 * (a reference is taken); expect is the body length when known, else -1.
 * Returns NULL (e released) when the body cannot be stored. */
struct cache_fill *cache_fill_begin(struct cache *c, struct cache_entry *e, int64_t expect);

/* Body bytes, as the client takes them. Returns 0, or -1 when storing
 * stopped (the fill is still to be aborted by the caller). */
int cache_fill_body(struct cache_fill *f, const char *p, size_t n);

/* The body is complete: the entry enters the index. Frees f. Returns the
 * entry with a reference for the caller (to drop it again), or NULL when
 * it could not be stored. */
struct cache_entry *cache_fill_commit(struct cache_fill *f);

/* Storing is abandoned (upstream error, client gone, too big): the
 * temporary file is removed. Frees f. */
void cache_fill_abort(struct cache_fill *f);

#endif
