/* A stored response: its key, what a new request must match (method, Host
 * as sent upstream, the request fields its Vary names), its freshness
 * facts, the response fields and the body (in memory or in a file whose
 * SHA-256 is known). Built in one allocation (the body aside), immutable
 * once in the index but for `shared`, reference-counted: a hit being
 * served keeps it alive after eviction. */
#ifndef RPXY_CACHE_ENTRY_H
#define RPXY_CACHE_ENTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/policy.h"
#include "http/field.h"

#define CACHE_SHA256_LEN 32
#define CACHE_VARY_MAX 32 /* a response varying on more names is not stored */

struct cache_entry {
    atomic_int refs;
    /* the index's links (under its lock) */
    struct cache_entry *hnext, *lru_prev, *lru_next;
    uint64_t hash;
    bool linked;

    const char *key;
    size_t key_len;
    const char *host; /* Host as sent upstream */
    size_t host_len;
    enum cache_method method;
    const struct http_field
        *vary; /* Vary names (lower-case) and the request's values (NULL: absent) */
    size_t n_vary;

    int status;
    const struct http_field *fields; /* without Date, Age, Content-Length */
    size_t n_fields;
    const char *content_length; /* served as is; NULL: none */
    size_t content_length_len;
    const char *etag; /* validators for conditional requests (NULL: none) */
    size_t etag_len;
    int64_t last_modified_ms; /* -1: none */

    int64_t response_ms, lifetime_ms, age_s;
    bool must_revalidate;

    uint64_t body_len;
    char *body; /* memory tier (owned), NULL otherwise */
    char *path; /* file tier (owned), NULL otherwise */
    unsigned char sha256[CACHE_SHA256_LEN];
    char cl_buf[24]; /* the body's length as text, for content_length */
    /* the one mutable part: the file's body while hits read it whole
     * (cache/shared_body.c, under its lock) */
    struct cache_shared_body *shared;
};

struct cache_entry_input {
    const char *key;
    size_t key_len;
    const char *host;
    size_t host_len;
    enum cache_method method;
    const struct http_field *req_fields;
    size_t n_req_fields;
    int status;
    const struct http_field *fields; /* the response as the client gets it, hop-by-hop gone */
    size_t n_fields;
    const struct cache_resp_facts *facts;
    int64_t response_ms;
};

/* Builds an entry (one reference, no body yet) copying everything from in.
 * Returns NULL when out of memory or Vary names more than CACHE_VARY_MAX. */
struct cache_entry *cache_entry_new(const struct cache_entry_input *in);

static inline void cache_entry_ref(struct cache_entry *e)
{
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
}

/* Drops a reference; the last one frees the entry and its body (not the
 * file: the index unlinks it when it lets the entry go). */
void cache_entry_unref(struct cache_entry *e);

/* Sets the body facts before the entry enters the index: body (memory,
 * taken over) or path (file, taken over), its length and digest. */
void cache_entry_set_body(struct cache_entry *e, char *body, char *path, uint64_t len,
                          const unsigned char *sha256);

/* Whether the request's fields match the entry's Vary values. */
bool cache_entry_vary_matches(const struct cache_entry *e, const struct http_field *f, size_t n);

#endif
