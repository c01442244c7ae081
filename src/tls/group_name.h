/* The key-exchange group a TLS connection negotiated, by name. */
#ifndef RPXY_TLS_GROUP_NAME_H
#define RPXY_TLS_GROUP_NAME_H

#include <openssl/ssl.h>
#include <stddef.h>

/* X25519MLKEM768 for the hybrid, OpenSSL's names for the others (X25519,
 * secp256r1, ...), "none" before a handshake. */
void tls_group_name(SSL *ssl, char *out, size_t cap);

#endif
