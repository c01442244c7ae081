#include "quic/token.h"

#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "quic/crypto.h"
#include "tls/hkdf_label.h"
#include "quic/secret.h"

#define NONCE_LEN QUIC_CRYPTO_IV_LEN
#define TAG_LEN 16
#define TS_LEN 8

/* associated data: magic, address, then what the kind binds */
struct aad {
    uint8_t b[1 + 1 + 16 + 2 + 1 + NGTCP2_MAX_CIDLEN];
    size_t len;
};

static int aad_init(struct aad *a, uint8_t magic, const struct sockaddr *addr, int with_port)
{
    const uint8_t *ip, *port;
    size_t ip_len;
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        ip = (const uint8_t *)&in->sin_addr;
        ip_len = 4;
        port = (const uint8_t *)&in->sin_port;
    } else if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        ip = (const uint8_t *)&in6->sin6_addr;
        ip_len = 16;
        port = (const uint8_t *)&in6->sin6_port;
    } else {
        return -1;
    }
    a->len = 0;
    a->b[a->len++] = magic;
    a->b[a->len++] = (uint8_t)ip_len;
    memcpy(a->b + a->len, ip, ip_len);
    a->len += ip_len;
    if (with_port) {
        memcpy(a->b + a->len, port, 2);
        a->len += 2;
    }
    return 0;
}

static void aad_add_cid(struct aad *a, const ngtcp2_cid *cid)
{
    a->b[a->len++] = (uint8_t)cid->datalen;
    memcpy(a->b + a->len, cid->data, cid->datalen);
    a->len += cid->datalen;
}

/* Seals (encrypt) or opens the len bytes at in into out. */
static int seal(int encrypt, const uint8_t *nonce, const struct aad *a, const uint8_t *in,
                size_t len, uint8_t *out)
{
    uint8_t key[32];
    ngtcp2_crypto_aead_ctx ctx;
    const ngtcp2_crypto_aead aead = { (void *)tls13_suite_find(0x1302)->aead, TAG_LEN };
    int rc = -1;
    if (quic_secret_derive("rpxy token", NULL, 0, key, sizeof(key)) != 0 ||
        quic_crypto_aead_ctx_init(&ctx, &aead, key, encrypt) != 0)
        goto out;
    if (encrypt)
        rc = quic_crypto_encrypt(out, &aead, &ctx, in, len, nonce, NONCE_LEN, a->b, a->len);
    else
        rc = quic_crypto_decrypt(out, &aead, &ctx, in, len, nonce, NONCE_LEN, a->b, a->len);
    quic_crypto_aead_ctx_free(&ctx);
out:
    OPENSSL_cleanse(key, sizeof(key));
    return rc == 0 ? 0 : -1;
}

static ngtcp2_ssize make(uint8_t *token, const struct aad *a, const uint8_t *plain, size_t len)
{
    token[0] = a->b[0];
    if (RAND_bytes(token + 1, NONCE_LEN) != 1 ||
        seal(1, token + 1, a, plain, len, token + 1 + NONCE_LEN) != 0)
        return -1;
    return (ngtcp2_ssize)(1 + NONCE_LEN + len + TAG_LEN);
}

/* Opens token into plain (at most plain_max bytes) and checks its time.
 * Returns the plaintext's length or a QUIC_TOKEN_* error. */
static int open_token(const uint8_t *token, size_t len, const struct aad *a, uint8_t *plain,
                      size_t plain_max, ngtcp2_duration lifetime, ngtcp2_tstamp now)
{
    if (len < 1 + NONCE_LEN + TS_LEN + TAG_LEN || len - (1 + NONCE_LEN + TAG_LEN) > plain_max ||
        token[0] != a->b[0])
        return QUIC_TOKEN_INVALID;
    size_t plain_len = len - (1 + NONCE_LEN + TAG_LEN);
    if (seal(0, token + 1, a, token + 1 + NONCE_LEN, plain_len + TAG_LEN, plain) != 0)
        return QUIC_TOKEN_INVALID;
    ngtcp2_tstamp made = 0;
    for (int i = 0; i < TS_LEN; i++)
        made = made << 8 | plain[i];
    if (made > now)
        return QUIC_TOKEN_INVALID;
    if (now - made >= lifetime)
        return QUIC_TOKEN_EXPIRED;
    return (int)plain_len;
}

static void put_ts(uint8_t *p, ngtcp2_tstamp ts)
{
    for (int i = TS_LEN - 1; i >= 0; i--, ts >>= 8)
        p[i] = (uint8_t)ts;
}

enum quic_token_kind quic_token_kind(const uint8_t *token, size_t len)
{
    if (len == 0)
        return QUIC_TOKEN_NONE;
    if (token[0] == QUIC_TOKEN_MAGIC_RETRY)
        return QUIC_TOKEN_RETRY;
    if (token[0] == QUIC_TOKEN_MAGIC_REGULAR)
        return QUIC_TOKEN_REGULAR;
    return QUIC_TOKEN_NONE;
}

ngtcp2_ssize quic_token_make_retry(uint8_t *token, const struct sockaddr *addr,
                                   const ngtcp2_cid *odcid, const ngtcp2_cid *retry_scid,
                                   ngtcp2_tstamp now)
{
    uint8_t plain[TS_LEN + 1 + NGTCP2_MAX_CIDLEN];
    struct aad a;
    if (odcid->datalen > NGTCP2_MAX_CIDLEN || retry_scid->datalen > NGTCP2_MAX_CIDLEN ||
        aad_init(&a, QUIC_TOKEN_MAGIC_RETRY, addr, 1) != 0)
        return -1;
    aad_add_cid(&a, retry_scid);
    put_ts(plain, now);
    plain[TS_LEN] = (uint8_t)odcid->datalen;
    memcpy(plain + TS_LEN + 1, odcid->data, odcid->datalen);
    return make(token, &a, plain, TS_LEN + 1 + odcid->datalen);
}

int quic_token_verify_retry(const uint8_t *token, size_t len, const struct sockaddr *addr,
                            const ngtcp2_cid *dcid, ngtcp2_duration lifetime, ngtcp2_tstamp now,
                            ngtcp2_cid *odcid)
{
    uint8_t plain[TS_LEN + 1 + NGTCP2_MAX_CIDLEN];
    struct aad a;
    if (dcid->datalen > NGTCP2_MAX_CIDLEN || aad_init(&a, QUIC_TOKEN_MAGIC_RETRY, addr, 1) != 0)
        return QUIC_TOKEN_INVALID;
    aad_add_cid(&a, dcid);
    int n = open_token(token, len, &a, plain, sizeof(plain), lifetime, now);
    if (n < 0)
        return n;
    if ((size_t)n != TS_LEN + 1 + (size_t)plain[TS_LEN])
        return QUIC_TOKEN_INVALID;
    ngtcp2_cid_init(odcid, plain + TS_LEN + 1, plain[TS_LEN]);
    return 0;
}

ngtcp2_ssize quic_token_make_regular(uint8_t *token, const struct sockaddr *addr, ngtcp2_tstamp now)
{
    uint8_t plain[TS_LEN];
    struct aad a;
    if (aad_init(&a, QUIC_TOKEN_MAGIC_REGULAR, addr, 0) != 0)
        return -1;
    put_ts(plain, now);
    return make(token, &a, plain, TS_LEN);
}

int quic_token_verify_regular(const uint8_t *token, size_t len, const struct sockaddr *addr,
                              ngtcp2_duration lifetime, ngtcp2_tstamp now)
{
    uint8_t plain[TS_LEN];
    struct aad a;
    if (aad_init(&a, QUIC_TOKEN_MAGIC_REGULAR, addr, 0) != 0)
        return QUIC_TOKEN_INVALID;
    int n = open_token(token, len, &a, plain, sizeof(plain), lifetime, now);
    return n < 0 ? n : 0;
}
