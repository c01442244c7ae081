/* Retry: the RFC 9001 A.4 integrity tag through the encrypt callback, and a
 * Retry written for the A.2 client Initial whose token verifies. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../tap.h"
#include "quic/crypto.h"
#include "quic/retry.h"
#include "quic/token.h"
#include "rfc9001_vectors.h"

/* The integrity tag of a Retry whose bytes before the tag are pkt[0..len),
 * for the original DCID odcid (RFC 9001 5.8). */
static int retry_tag(const ngtcp2_cid *odcid, const uint8_t *pkt, size_t len, uint8_t *tag)
{
    uint8_t pseudo[512];
    ngtcp2_crypto_aead aead;
    ngtcp2_crypto_aead_ctx ctx;
    pseudo[0] = (uint8_t)odcid->datalen;
    memcpy(pseudo + 1, odcid->data, odcid->datalen);
    memcpy(pseudo + 1 + odcid->datalen, pkt, len);
    if (quic_retry_aead(&aead, &ctx) != 0)
        return -1;
    int rv = quic_crypto_encrypt(tag, &aead, &ctx, (const uint8_t *)"", 0,
                                 (const uint8_t *)NGTCP2_RETRY_NONCE_V1, 12, pseudo,
                                 1 + odcid->datalen + len);
    quic_crypto_aead_ctx_free(&ctx);
    return rv;
}

static void test_a4(void)
{
    ngtcp2_cid odcid;
    uint8_t pkt[64], tag[16], want[16];
    ngtcp2_cid_init(&odcid, A_DCID, 8);
    size_t n = hex("ff000000010008f067a5502a4262b5746f6b656e", pkt);
    hex("04a265ba2eff4d829058fb3f0f2496ba", want);
    TAP_OK(retry_tag(&odcid, pkt, n, tag) == 0 && memcmp(tag, want, 16) == 0,
           "A.4 Retry integrity tag");
}

static void test_write(void)
{
    uint8_t initial[1200], pkt[256];
    ngtcp2_pkt_hd hd, rhd;
    ngtcp2_cid scid, odcid;
    struct sockaddr_in client = { 0 };
    client.sin_family = AF_INET;
    client.sin_port = htons(51000);
    client.sin_addr.s_addr = htonl(0xc0000201);
    hex(a2_packet, initial);
    TAP_INT_EQ(ngtcp2_accept(&hd, initial, sizeof(initial)), 0, "ngtcp2_accept takes A.2");
    ngtcp2_cid_init(&scid, (const uint8_t *)"\xf0\x67\xa5\x50\x2a\x42\x62\xb5", 8);
    ngtcp2_ssize n =
        quic_retry_write(pkt, sizeof(pkt), &hd, &scid, (const struct sockaddr *)&client, 1000);
    TAP_OK(n > 0, "Retry written");
    if (n <= 0)
        return;
    ngtcp2_ssize hl = ngtcp2_pkt_decode_hd_long(&rhd, pkt, (size_t)n);
    TAP_OK(hl > 0 && rhd.type == NGTCP2_PKT_RETRY && rhd.version == NGTCP2_PROTO_VER_V1 &&
               ngtcp2_cid_eq(&rhd.dcid, &hd.scid) && ngtcp2_cid_eq(&rhd.scid, &scid),
           "Retry header: v1, DCID = client's SCID, SCID = the new CID");
    uint8_t tag[16];
    TAP_OK(retry_tag(&hd.dcid, pkt, (size_t)n - 16, tag) == 0 && memcmp(tag, pkt + n - 16, 16) == 0,
           "Retry integrity tag checks");
    const uint8_t *token = pkt + hl;
    size_t token_len = (size_t)(n - hl - 16);
    TAP_INT_EQ(quic_token_kind(token, token_len), QUIC_TOKEN_RETRY, "its token is a retry token");
    TAP_OK(quic_token_verify_retry(token, token_len, (const struct sockaddr *)&client, &scid, 10000,
                                   2000, &odcid) == 0 &&
               ngtcp2_cid_eq(&odcid, &hd.dcid),
           "its token verifies for the next Initial and gives the original DCID");

    TAP_INT_EQ(
        quic_retry_write(pkt, sizeof(pkt), &hd, &hd.dcid, (const struct sockaddr *)&client, 1000),
        NGTCP2_ERR_INVALID_ARGUMENT, "the new SCID must differ from the original DCID");
    TAP_INT_EQ(quic_retry_write(pkt, 40, &hd, &scid, (const struct sockaddr *)&client, 1000),
               NGTCP2_ERR_NOBUF, "too small a buffer: NGTCP2_ERR_NOBUF");
    ngtcp2_pkt_hd short_hd = hd;
    short_hd.dcid.datalen = 7;
    TAP_INT_EQ(quic_retry_write(pkt, sizeof(pkt), &short_hd, &scid,
                                (const struct sockaddr *)&client, 1000),
               NGTCP2_ERR_INVALID_ARGUMENT, "an original DCID under 8 bytes is refused");
}

int main(void)
{
    test_a4();
    test_write();
    return tap_done();
}
