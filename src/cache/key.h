/* The cache key of SPEC 14: the client-facing effective URI
 * "<client-visible scheme>://<authoritative host><original path-and-query>",
 * host verbatim (case and port kept), path before any replace_path. */
#ifndef RPXY_CACHE_KEY_H
#define RPXY_CACHE_KEY_H

#include <stdbool.h>
#include <stddef.h>

/* Writes the key into out (cap bytes). Returns its length, or -1 when there
 * is no authority (the request bypasses the cache) or it does not fit. */
long cache_key(bool https, const char *host, size_t host_len, const char *target, size_t target_len,
               char *out, size_t cap);

#endif
