/* Address validation tokens (RFC 9000 8.1): the token of a Retry packet and
 * the token of a NEW_TOKEN frame, both sealed with AES-256-GCM under a key
 * derived from the process secret (quic/secret.h), so only this process
 * makes and accepts them.
 *
 *   token = magic (1) | nonce (12) | sealed(plaintext) | tag (16)
 *
 * A Retry token seals the time it was made and the client's original
 * Destination Connection ID, and authenticates the client's address and
 * port and the Source Connection ID of the Retry (the DCID the client must
 * use next). A regular token seals the time and authenticates the client's
 * address without the port (a later connection comes from another port). */
#ifndef RPXY_QUIC_TOKEN_H
#define RPXY_QUIC_TOKEN_H

#include <ngtcp2/ngtcp2.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define QUIC_TOKEN_MAGIC_RETRY 0xb6
#define QUIC_TOKEN_MAGIC_REGULAR 0x36
#define QUIC_TOKEN_RETRY_MAX (1 + 12 + 8 + 1 + NGTCP2_MAX_CIDLEN + 16)
#define QUIC_TOKEN_REGULAR_LEN (1 + 12 + 8 + 16)

/* verify results */
#define QUIC_TOKEN_INVALID (-1) /* forged, altered, another address or CID */
#define QUIC_TOKEN_EXPIRED (-2) /* authentic but older than its lifetime */

enum quic_token_kind { QUIC_TOKEN_NONE, QUIC_TOKEN_RETRY, QUIC_TOKEN_REGULAR };

/* What the first byte of a token from a client Initial says it is (nothing
 * is verified): NONE for an empty or foreign token. */
enum quic_token_kind quic_token_kind(const uint8_t *token, size_t len);

/* Writes the token of a Retry answering a client at addr (AF_INET or
 * AF_INET6) whose first Initial had DCID odcid, the Retry's SCID being
 * retry_scid, made at now. token has QUIC_TOKEN_RETRY_MAX bytes. Returns
 * the token's length, or -1. */
ngtcp2_ssize quic_token_make_retry(uint8_t *token, const struct sockaddr *addr,
                                   const ngtcp2_cid *odcid, const ngtcp2_cid *retry_scid,
                                   ngtcp2_tstamp now);

/* Checks a Retry token carried by an Initial from addr with DCID dcid, made
 * less than lifetime before now. Returns 0 and the original DCID in odcid,
 * QUIC_TOKEN_EXPIRED or QUIC_TOKEN_INVALID. */
int quic_token_verify_retry(const uint8_t *token, size_t len, const struct sockaddr *addr,
                            const ngtcp2_cid *dcid, ngtcp2_duration lifetime, ngtcp2_tstamp now,
                            ngtcp2_cid *odcid);

/* Writes a NEW_TOKEN token for a client at addr, made at now, into token
 * (QUIC_TOKEN_REGULAR_LEN bytes). Returns the token's length, or -1. */
ngtcp2_ssize quic_token_make_regular(uint8_t *token, const struct sockaddr *addr,
                                     ngtcp2_tstamp now);

/* Checks a NEW_TOKEN token carried by an Initial from addr, made less than
 * lifetime before now. Returns 0, QUIC_TOKEN_EXPIRED or QUIC_TOKEN_INVALID. */
int quic_token_verify_regular(const uint8_t *token, size_t len, const struct sockaddr *addr,
                              ngtcp2_duration lifetime, ngtcp2_tstamp now);

#endif
