/* The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and
 * 2) that an L4 load balancer puts before the client's bytes: a pure parser,
 * fed the bytes read so far. */
#ifndef RPXY_NET_PROXY_HEADER_H
#define RPXY_NET_PROXY_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

#define PROXY_V1_MAX 107           /* the longest v1 line, CRLF included */
#define PROXY_V2_FIXED 16          /* signature, version/command, family, length */
#define PROXY_V2_MAX_ADDRESS 2048u /* longer address blocks are refused */
#define PROXY_HEADER_MAX (PROXY_V2_FIXED + PROXY_V2_MAX_ADDRESS)

enum proxy_header_error {
    PROXY_ERR_SIGNATURE = -1, /* neither the v2 signature nor "PROXY " */
    PROXY_ERR_V1_TOO_LONG = -2,
    PROXY_ERR_V1_SYNTAX = -3,
    PROXY_ERR_V2_VERSION = -4,
    PROXY_ERR_V2_COMMAND = -5,
    PROXY_ERR_V2_FAMILY = -6,   /* out of range, or UNIX (refused) */
    PROXY_ERR_V2_LENGTH = -7,   /* address block over the limit */
    PROXY_ERR_V2_ADDRESS = -8,  /* address block shorter than its family's */
    PROXY_ERR_V2_PROTOCOL = -9, /* transport protocol out of range */
};

struct proxy_header {
    uint8_t version;  /* 1 or 2 */
    bool has_address; /* false: LOCAL, UNKNOWN or UNSPEC: keep the TCP peer */
    struct ip_addr src, dst;
    uint16_t src_port, dst_port;
};

/* Parses the header at the start of the len bytes at p. Returns its length
 * (the bytes to consume; what follows is the client's), 0 while the bytes so
 * far are a valid beginning, or a PROXY_ERR_*. */
long proxy_header_parse(const uint8_t *p, size_t len, struct proxy_header *out);

/* The message of a PROXY_ERR_* (as rpxy words the ones it has). */
const char *proxy_header_strerror(long err);

#endif
