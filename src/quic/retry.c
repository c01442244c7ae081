#include "quic/retry.h"

#include <openssl/evp.h>

#include "quic/crypto.h"
#include "tls/hkdf_label.h"
#include "quic/token.h"

int quic_retry_aead(ngtcp2_crypto_aead *aead, ngtcp2_crypto_aead_ctx *ctx)
{
    aead->native_handle = (void *)tls13_suite_find(0x1301)->aead; /* AES-128-GCM */
    aead->max_overhead = 16;
    return quic_crypto_aead_ctx_init(ctx, aead, (const uint8_t *)NGTCP2_RETRY_KEY_V1, 1);
}

ngtcp2_ssize quic_retry_write(uint8_t *dest, size_t destlen, const ngtcp2_pkt_hd *hd,
                              const ngtcp2_cid *retry_scid, const struct sockaddr *addr,
                              ngtcp2_tstamp now)
{
    uint8_t token[QUIC_TOKEN_RETRY_MAX];
    ngtcp2_crypto_aead aead;
    ngtcp2_crypto_aead_ctx ctx;

    if (hd->version != NGTCP2_PROTO_VER_V1)
        return NGTCP2_ERR_INVALID_ARGUMENT;
    /* checked here because ngtcp2_pkt_write_retry() asserts it */
    if (ngtcp2_cid_eq(retry_scid, &hd->dcid))
        return NGTCP2_ERR_INVALID_ARGUMENT;
    ngtcp2_ssize token_len = quic_token_make_retry(token, addr, &hd->dcid, retry_scid, now);
    if (token_len < 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    if (quic_retry_aead(&aead, &ctx) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    ngtcp2_ssize n =
        ngtcp2_pkt_write_retry(dest, destlen, hd->version, &hd->scid, retry_scid, &hd->dcid, token,
                               (size_t)token_len, quic_crypto_encrypt, &aead, &ctx);
    quic_crypto_aead_ctx_free(&ctx);
    return n;
}
