/* Address validation tokens: round trips, expiry, addresses, CIDs, forgery
 * (every bit of a token flipped), truncation, kinds. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../tap.h"
#include "quic/token.h"

#define S 1000000000ULL /* ngtcp2_tstamp is in nanoseconds */

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
    struct sockaddr_in a = { 0 };
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 v6(const char *ip, uint16_t port)
{
    struct sockaddr_in6 a = { 0 };
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

#define SA(x) ((const struct sockaddr *)&(x))

/* How many single-bit flips of token (each byte, each bit) verify_retry
 * accepts: none should. */
static int accepted_flips(uint8_t *token, size_t len, const struct sockaddr *addr,
                          const ngtcp2_cid *dcid, ngtcp2_tstamp now)
{
    int accepted = 0;
    ngtcp2_cid odcid;
    for (size_t i = 0; i < len; i++)
        for (int b = 0; b < 8; b++) {
            token[i] ^= (uint8_t)(1 << b);
            if (quic_token_verify_retry(token, len, addr, dcid, 10 * S, 100 * S, &odcid) == 0)
                accepted++;
            token[i] ^= (uint8_t)(1 << b);
        }
    return accepted;
}

static void test_retry(void)
{
    struct sockaddr_in a = v4("192.0.2.7", 40000), other_ip = v4("192.0.2.8", 40000),
                       other_port = v4("192.0.2.7", 40001);
    ngtcp2_cid odcid, scid, got, other_scid;
    uint8_t token[QUIC_TOKEN_RETRY_MAX], token2[QUIC_TOKEN_RETRY_MAX];
    ngtcp2_cid_init(&odcid, (const uint8_t *)"\x83\x94\xc8\xf0\x3e\x51\x57\x08", 8);
    ngtcp2_cid_init(&scid, (const uint8_t *)"\xf0\x67\xa5\x50\x2a\x42\x62\xb5\x01", 9);
    ngtcp2_cid_init(&other_scid, (const uint8_t *)"\xf0\x67\xa5\x50\x2a\x42\x62\xb5\x02", 9);

    ngtcp2_ssize n = quic_token_make_retry(token, SA(a), &odcid, &scid, 100 * S);
    TAP_INT_EQ(n, 1 + 12 + 8 + 1 + 8 + 16, "retry token length");
    TAP_INT_EQ(quic_token_kind(token, (size_t)n), QUIC_TOKEN_RETRY, "kind: retry");
    memset(&got, 0, sizeof(got));
    TAP_INT_EQ(quic_token_verify_retry(token, (size_t)n, SA(a), &scid, 10 * S, 105 * S, &got), 0,
               "retry token verifies");
    TAP_OK(ngtcp2_cid_eq(&got, &odcid), "and gives back the original DCID");
    TAP_INT_EQ(quic_token_verify_retry(token, (size_t)n, SA(a), &scid, 10 * S, 110 * S, &got),
               QUIC_TOKEN_EXPIRED, "retry token at its lifetime: expired");
    TAP_INT_EQ(quic_token_verify_retry(token, (size_t)n, SA(a), &scid, 10 * S, 99 * S, &got),
               QUIC_TOKEN_INVALID, "retry token from the future: invalid");
    TAP_INT_EQ(
        quic_token_verify_retry(token, (size_t)n, SA(other_ip), &scid, 10 * S, 101 * S, &got),
        QUIC_TOKEN_INVALID, "retry token from another address: invalid");
    TAP_INT_EQ(
        quic_token_verify_retry(token, (size_t)n, SA(other_port), &scid, 10 * S, 101 * S, &got),
        QUIC_TOKEN_INVALID, "retry token from another port: invalid");
    TAP_INT_EQ(quic_token_verify_retry(token, (size_t)n, SA(a), &other_scid, 10 * S, 101 * S, &got),
               QUIC_TOKEN_INVALID, "retry token with another DCID than the Retry's SCID: invalid");
    TAP_INT_EQ(accepted_flips(token, (size_t)n, SA(a), &scid, 100 * S), 0,
               "no single flipped bit of a retry token is accepted");
    TAP_INT_EQ(quic_token_verify_retry(token, (size_t)n - 1, SA(a), &scid, 10 * S, 101 * S, &got),
               QUIC_TOKEN_INVALID, "truncated retry token: invalid");
    TAP_INT_EQ(quic_token_verify_retry(token, 5, SA(a), &scid, 10 * S, 101 * S, &got),
               QUIC_TOKEN_INVALID, "5-byte token: invalid");
    quic_token_make_retry(token2, SA(a), &odcid, &scid, 100 * S);
    TAP_OK(memcmp(token, token2, (size_t)n) != 0, "two tokens for the same client differ");

    struct sockaddr_in6 a6 = v6("2001:db8::1", 443), b6 = v6("2001:db8::2", 443);
    ngtcp2_cid long_odcid;
    uint8_t twenty[20];
    memset(twenty, 0xab, sizeof(twenty));
    ngtcp2_cid_init(&long_odcid, twenty, 20);
    n = quic_token_make_retry(token, SA(a6), &long_odcid, &scid, 100 * S);
    TAP_INT_EQ(n, QUIC_TOKEN_RETRY_MAX, "IPv6, 20-byte ODCID: the longest retry token");
    TAP_OK(quic_token_verify_retry(token, (size_t)n, SA(a6), &scid, 10 * S, 101 * S, &got) == 0 &&
               ngtcp2_cid_eq(&got, &long_odcid),
           "IPv6 retry token verifies");
    TAP_INT_EQ(quic_token_verify_retry(token, (size_t)n, SA(b6), &scid, 10 * S, 101 * S, &got),
               QUIC_TOKEN_INVALID, "IPv6 retry token from another address: invalid");
    TAP_INT_EQ(quic_token_verify_retry(token, (size_t)n, SA(a), &scid, 10 * S, 101 * S, &got),
               QUIC_TOKEN_INVALID, "IPv6 retry token from an IPv4 address: invalid");
}

static void test_regular(void)
{
    struct sockaddr_in a = v4("198.51.100.1", 5000), later = v4("198.51.100.1", 6000),
                       other = v4("198.51.100.2", 5000);
    uint8_t token[QUIC_TOKEN_REGULAR_LEN], retry[QUIC_TOKEN_RETRY_MAX];
    ngtcp2_cid cid, got;
    ngtcp2_ssize n = quic_token_make_regular(token, SA(a), 50 * S);
    TAP_INT_EQ(n, QUIC_TOKEN_REGULAR_LEN, "regular token length");
    TAP_INT_EQ(quic_token_kind(token, (size_t)n), QUIC_TOKEN_REGULAR, "kind: regular");
    TAP_INT_EQ(quic_token_verify_regular(token, (size_t)n, SA(a), 3600 * S, 60 * S), 0,
               "regular token verifies");
    TAP_INT_EQ(quic_token_verify_regular(token, (size_t)n, SA(later), 3600 * S, 60 * S), 0,
               "regular token from another port of the same address verifies");
    TAP_INT_EQ(quic_token_verify_regular(token, (size_t)n, SA(other), 3600 * S, 60 * S),
               QUIC_TOKEN_INVALID, "regular token from another address: invalid");
    TAP_INT_EQ(quic_token_verify_regular(token, (size_t)n, SA(a), 3600 * S, 3650 * S),
               QUIC_TOKEN_EXPIRED, "regular token past its lifetime: expired");
    int accepted = 0;
    for (size_t i = 0; i < (size_t)n; i++) {
        token[i] ^= 0x80;
        accepted += quic_token_verify_regular(token, (size_t)n, SA(a), 3600 * S, 60 * S) == 0;
        token[i] ^= 0x80;
    }
    TAP_INT_EQ(accepted, 0, "no altered byte of a regular token is accepted");

    /* one kind is not accepted for the other */
    ngtcp2_cid_init(&cid, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    TAP_INT_EQ(quic_token_verify_retry(token, (size_t)n, SA(a), &cid, 3600 * S, 60 * S, &got),
               QUIC_TOKEN_INVALID, "a regular token is not a retry token");
    ngtcp2_ssize rn = quic_token_make_retry(retry, SA(a), &cid, &cid, 50 * S);
    retry[0] = QUIC_TOKEN_MAGIC_REGULAR;
    TAP_INT_EQ(quic_token_verify_regular(retry, (size_t)rn, SA(a), 3600 * S, 60 * S),
               QUIC_TOKEN_INVALID, "a retry token relabelled regular is rejected");
}

static void test_kind(void)
{
    TAP_INT_EQ(quic_token_kind(NULL, 0), QUIC_TOKEN_NONE, "kind: empty token");
    TAP_INT_EQ(quic_token_kind((const uint8_t *)"\x00\x01", 2), QUIC_TOKEN_NONE,
               "kind: foreign token");
    struct sockaddr un = { 0 };
    uint8_t token[QUIC_TOKEN_REGULAR_LEN];
    un.sa_family = AF_UNIX;
    TAP_INT_EQ(quic_token_make_regular(token, &un, 1), -1, "no token for a non-IP address");
}

int main(void)
{
    test_retry();
    test_regular();
    test_kind();
    return tap_done();
}
