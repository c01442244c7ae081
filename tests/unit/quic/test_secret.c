/* The process secret: stateless reset tokens are stable per CID and differ
 * between CIDs; labels separate derived keys. */
#include <string.h>

#include "../tap.h"
#include "quic/secret.h"

int main(void)
{
    ngtcp2_cid a, a2, b, empty;
    uint8_t ta[16], ta2[16], tb[16], te[16], k1[32], k2[32];
    ngtcp2_cid_init(&a, (const uint8_t *)"\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    ngtcp2_cid_init(&a2, (const uint8_t *)"\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    ngtcp2_cid_init(&b, (const uint8_t *)"\x11\x22\x33\x44\x55\x66\x77\x89", 8);
    ngtcp2_cid_init(&empty, NULL, 0);
    TAP_OK(quic_secret_reset_token(&a, ta) == 0 && quic_secret_reset_token(&a2, ta2) == 0 &&
               quic_secret_reset_token(&b, tb) == 0 && quic_secret_reset_token(&empty, te) == 0,
           "reset tokens are made");
    TAP_OK(memcmp(ta, ta2, 16) == 0, "same CID, same stateless reset token");
    TAP_OK(memcmp(ta, tb, 16) != 0, "another CID, another token");
    TAP_OK(memcmp(ta, te, 16) != 0, "the empty CID has its own token");
    TAP_OK(quic_secret_derive("label one", NULL, 0, k1, 32) == 0 &&
               quic_secret_derive("label two", NULL, 0, k2, 32) == 0 && memcmp(k1, k2, 32) != 0,
           "labels separate derived keys");
    return tap_done();
}
