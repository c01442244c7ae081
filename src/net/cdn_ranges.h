/* Built-in CIDR snapshots behind the `trusted_forwarded_proxies` aliases
 * `cloudflare`, `fastly` and `cloudfront` (data in cdn_ranges.c). */
#ifndef RPXY_NET_CDN_RANGES_H
#define RPXY_NET_CDN_RANGES_H

#include <stddef.h>

struct cdn_alias {
    const char *name;         /* lower-case alias */
    const char *const *cidrs; /* CIDR texts */
    size_t n;
};

/* Finds an alias by name, case-insensitively, ignoring surrounding ASCII
 * whitespace. Returns NULL if the name is not an alias. */
const struct cdn_alias *cdn_alias_find(const char *name, size_t len);

extern const struct cdn_alias cdn_aliases[];
extern const size_t cdn_alias_count;

#endif
