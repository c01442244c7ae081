/* Retry packets of QUIC v1 (RFC 9000 8.1.2, RFC 9001 5.8): the integrity
 * tag AEAD and a writer that answers a client Initial with a Retry carrying
 * a fresh token (quic/token.h). */
#ifndef RPXY_QUIC_RETRY_H
#define RPXY_QUIC_RETRY_H

#include <ngtcp2/ngtcp2.h>
#include <sys/socket.h>

/* The Retry integrity AEAD: AES-128-GCM keyed with the fixed v1 key. Fills
 * aead and makes ctx, which the caller owns (quic_crypto_aead_ctx_free(),
 * or ngtcp2_conn_set_retry_aead() takes it). Returns 0 or -1. */
int quic_retry_aead(ngtcp2_crypto_aead *aead, ngtcp2_crypto_aead_ctx *ctx);

/* Writes into dest (destlen bytes; 256 are always enough) the Retry that
 * answers the client Initial whose header is hd (from ngtcp2_accept()),
 * received from addr at now: its SCID becomes the Retry's DCID, retry_scid
 * (a new server CID, not hd's DCID) the Retry's SCID, and the token binds
 * hd's DCID as the original DCID. Returns the packet's length, or a
 * negative ngtcp2 error code (NGTCP2_ERR_INVALID_ARGUMENT for an original
 * DCID shorter than 8 bytes, NGTCP2_ERR_NOBUF). */
ngtcp2_ssize quic_retry_write(uint8_t *dest, size_t destlen, const ngtcp2_pkt_hd *hd,
                              const ngtcp2_cid *retry_scid, const struct sockaddr *addr,
                              ngtcp2_tstamp now);

#endif
