/* ALPN protocol lists. */
#ifndef RPXY_TLS_ALPN_H
#define RPXY_TLS_ALPN_H

#include <stddef.h>

/* "h2,http/1.1" -> the wire format (length-prefixed names). Returns the
 * length, or -1 when a name is empty, longer than 255 or cap is too small. */
int tls_alpn_wire(const char *list, unsigned char *out, size_t cap);

#endif
