/* A file entry's body read whole and verified against its SHA-256, shared
 * by the hits of that entry that overlap in time: a popular file is read
 * and digested once per burst of hits instead of once per hit, and held in
 * memory once instead of once per client. It lives while some hit reads
 * it (never longer: the file tier stays on disk) and every read of the
 * file is still verified. Bodies read whole are bounded per body and in
 * total across threads; past that a hit streams its file in chunks. */
#ifndef RPXY_CACHE_SHARED_BODY_H
#define RPXY_CACHE_SHARED_BODY_H

#include <stdint.h>

#include "cache/entry.h"

struct cache_shared_body {
    uint64_t len;
    unsigned readers; /* under the module's lock */
    char bytes[];
};

/* e's verified body with one more reader, if a hit holds one now. */
struct cache_shared_body *cache_shared_body_get(struct cache_entry *e);

/* An unpublished body of len bytes for one reader, to be filled and
 * verified; NULL when len or the total of such bodies is over its bound. */
struct cache_shared_body *cache_shared_body_new(uint64_t len);

/* Makes b, filled and verified, e's shared body; when another hit
 * published one meanwhile, b is dropped and that one is returned. */
struct cache_shared_body *cache_shared_body_publish(struct cache_entry *e,
                                                    struct cache_shared_body *b);

/* A reader is done with b (published for e or not): the last one frees it. */
void cache_shared_body_release(struct cache_entry *e, struct cache_shared_body *b);

#endif
