/* IP addresses and CIDR networks: parse, format, match.
 * Addresses are kept in network byte order; IPv4 in the first 4 bytes. */
#ifndef RPXY_UTIL_IPADDR_H
#define RPXY_UTIL_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ip_addr {
    uint8_t family; /* 4 or 6 */
    uint8_t bytes[16];
};

struct ip_cidr {
    struct ip_addr addr; /* host bits cleared */
    uint8_t prefix;      /* 0..32 or 0..128 */
};

/* Strict parse of a bare address ("192.0.2.1", "2001:db8::1"; no brackets,
 * no port, no zone). Returns 0, or -1 with a short reason in *why. */
int ip_parse(const char *s, size_t len, struct ip_addr *out, const char **why);

/* "a.b.c.d/len" or "v6/len"; a bare address (no "/len") is an error.
 * Host bits set beyond the prefix are cleared. Returns 0 or -1 with *why. */
int ip_cidr_parse(const char *s, size_t len, struct ip_cidr *out, const char **why);

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes the IPv4 address. */
struct ip_addr ip_unmap(struct ip_addr a);

bool ip_cidr_contains(const struct ip_cidr *net, const struct ip_addr *a);

/* Formats per RFC 5952 (IPv6 lower-case, longest zero run compressed) or
 * dotted IPv4, without brackets. out must hold 46 bytes. Returns length. */
size_t ip_format(const struct ip_addr *a, char out[46]);

#endif
