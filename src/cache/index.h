/* The process's cache: one index shared by every worker thread (shards of
 * a hash table and an LRU list, each under a mutex held only for pointer
 * work: a probe, a move to the front, a link; no I/O and no allocation
 * inside),
 * the key locks that collapse concurrent misses, and the settings of the
 * [experimental.cache] table it was made for. Reference-counted: each
 * runtime snapshot holds one, so a reload with an unchanged table keeps it. */
#ifndef RPXY_CACHE_INDEX_H
#define RPXY_CACHE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/entry.h"
#include "config/config.h"

struct cache;

/* Makes the cache of table t: its directory is removed and created again
 * (SPEC 14). Returns it with one reference, or NULL with a message in err. */
struct cache *cache_open(const struct cfg_cache *t, char *err, size_t err_cap);

/* The cache for table t after a reload: old (one more reference) when the
 * table is the same, else a new one as cache_open. */
struct cache *cache_carry(struct cache *old, const struct cfg_cache *t, char *err, size_t err_cap);

void cache_ref(struct cache *c);
/* Drops a reference; the last one unlinks the files and frees everything. */
void cache_unref(struct cache *c);

/* Whether a reload replaced this cache (its directory may belong to the
 * new one now): nothing more is stored into it. */
bool cache_retired(struct cache *c);

/* The settings in force. */
const struct cfg_cache *cache_settings(const struct cache *c);

/* What a request must match besides its key. */
struct cache_query {
    const char *key;
    size_t key_len;
    const char *host; /* Host as sent upstream */
    size_t host_len;
    const struct cache_req_facts *req;
    const struct http_field *fields; /* the request's, for Vary */
    size_t n_fields;
    int64_t now_ms;
};

enum cache_lookup {
    CACHE_HIT,    /* *hit holds a reference */
    CACHE_MISS,   /* go upstream; with a lock, the caller now holds the key */
    CACHE_LOCKED, /* another request is fetching this key: wait and ask again */
};

/* A key lock (collapsed misses): the requester owns it (no allocation in
 * the index) and keeps key valid while it is held. */
struct cache_key_lock {
    struct cache_key_lock *next;
    uint64_t hash;
    const char *key;
    size_t key_len;
};

/* Looks the request up. A found entry that does not answer it (stale,
 * other method, Host or Vary values) is evicted. With lock (may be NULL),
 * a miss links it as the key's lock unless another request holds one
 * (CACHE_LOCKED); the holder releases it with cache_unlock(). */
enum cache_lookup cache_lookup(struct cache *c, const struct cache_query *q,
                               struct cache_key_lock *lock, struct cache_entry **hit);

/* Releases a lock linked by a CACHE_MISS lookup. */
void cache_unlock(struct cache *c, struct cache_key_lock *lock);

/* Puts a complete entry in (the index takes the caller's reference),
 * replacing one with the same key and evicting the least recently used
 * beyond max_cache_entry; displaced files are deleted. */
void cache_insert(struct cache *c, struct cache_entry *e);

/* Drops an entry that failed verification (its file is deleted). */
void cache_drop(struct cache *c, struct cache_entry *e);

/* A fresh file name for a body of key: "<dir>/<base64url(SHA-256(key))>-<pid>-<nanos>-<seq>".
 * Returns a malloc'ed path or NULL. */
char *cache_file_name(struct cache *c, const char *key, size_t key_len);

/* Number of entries (tests, logs). */
size_t cache_count(struct cache *c);

#endif
