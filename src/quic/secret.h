/* A random secret made once per process and shared by every worker thread,
 * and what is derived from it: keys that any worker can recompute without
 * state (token keys, stateless reset tokens). A restart makes a new secret,
 * so what was derived before stops being recognised. */
#ifndef RPXY_QUIC_SECRET_H
#define RPXY_QUIC_SECRET_H

#include <ngtcp2/ngtcp2.h>
#include <stddef.h>
#include <stdint.h>

/* HKDF-Expand-Label(process secret, label, context, out_len) into out.
 * Returns 0, or -1 when the secret could not be made (random generator). */
int quic_secret_derive(const char *label, const uint8_t *context, size_t context_len, uint8_t *out,
                       size_t out_len);

/* The stateless reset token of cid (RFC 9000 10.3):
 * NGTCP2_STATELESS_RESET_TOKENLEN bytes, the same for the same cid for the
 * life of the process, unpredictable for another. Returns 0 or -1. */
int quic_secret_reset_token(const ngtcp2_cid *cid, uint8_t *token);

#endif
