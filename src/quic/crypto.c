#include "quic/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

/* RFC 9001 5.2 */
static const uint8_t initial_salt_v1[20] = { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34,
                                             0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                                             0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a };

void quic_crypto_ctx(ngtcp2_crypto_ctx *ctx, const struct tls13_suite *suite)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->aead.native_handle = (void *)suite->aead;
    ctx->aead.max_overhead = suite->tag_len;
    ctx->md.native_handle = (void *)suite->md;
    ctx->hp.native_handle = (void *)suite->hp;
    /* RFC 9001 6.6 (AES-GCM for packets of up to 2^11 bytes) */
    if (suite->id == 0x1303) {
        ctx->max_encryption = 1ULL << 62;
        ctx->max_decryption_failure = 1ULL << 36;
    } else {
        ctx->max_encryption = 1ULL << 23;
        ctx->max_decryption_failure = 1ULL << 52;
    }
}

/* The suite a crypto ctx was made from (quic_crypto_ctx()), or NULL. */
static const struct tls13_suite *suite_of(const ngtcp2_crypto_ctx *ctx)
{
    for (uint16_t id = 0x1301; id <= 0x1303; id++) {
        const struct tls13_suite *s = tls13_suite_find(id);
        if (s && (const void *)s->aead == ctx->aead.native_handle)
            return s;
    }
    return NULL;
}

int quic_crypto_initial_secrets(const ngtcp2_cid *client_dcid, uint8_t *client, uint8_t *server)
{
    const EVP_MD *md = tls13_suite_find(0x1301)->md; /* SHA-256, fetched once */
    uint8_t initial[QUIC_CRYPTO_INITIAL_SECRET_LEN];
    int rc = tls13_hkdf_extract(md, initial_salt_v1, sizeof(initial_salt_v1), client_dcid->data,
                                client_dcid->datalen, initial);
    if (rc == 0)
        rc = tls13_hkdf_expand_label(md, initial, sizeof(initial), "client in", NULL, 0, client,
                                     QUIC_CRYPTO_INITIAL_SECRET_LEN);
    if (rc == 0)
        rc = tls13_hkdf_expand_label(md, initial, sizeof(initial), "server in", NULL, 0, server,
                                     QUIC_CRYPTO_INITIAL_SECRET_LEN);
    OPENSSL_cleanse(initial, sizeof(initial));
    return rc;
}

int quic_crypto_derive_keys(const struct tls13_suite *suite, const uint8_t *secret,
                            size_t secret_len, struct quic_crypto_keys *out)
{
    out->key_len = suite->key_len;
    if (suite->key_len > sizeof(out->key) || suite->iv_len != QUIC_CRYPTO_IV_LEN)
        return -1;
    if (tls13_hkdf_expand_label(suite->md, secret, secret_len, "quic key", NULL, 0, out->key,
                                suite->key_len) != 0 ||
        tls13_hkdf_expand_label(suite->md, secret, secret_len, "quic iv", NULL, 0, out->iv,
                                QUIC_CRYPTO_IV_LEN) != 0 ||
        tls13_hkdf_expand_label(suite->md, secret, secret_len, "quic hp", NULL, 0, out->hp,
                                suite->key_len) != 0)
        return -1;
    return 0;
}

int quic_crypto_next_secret(const struct tls13_suite *suite, const uint8_t *secret,
                            size_t secret_len, uint8_t *out)
{
    return tls13_hkdf_expand_label(suite->md, secret, secret_len, "quic ku", NULL, 0, out,
                                   secret_len);
}

int quic_crypto_aead_ctx_init(ngtcp2_crypto_aead_ctx *ctx, const ngtcp2_crypto_aead *aead,
                              const uint8_t *key, int encrypt)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    ctx->native_handle = NULL;
    if (!c)
        return -1;
    if (EVP_CipherInit_ex(c, aead->native_handle, NULL, key, NULL, encrypt ? 1 : 0) != 1 ||
        EVP_CIPHER_CTX_get_iv_length(c) != QUIC_CRYPTO_IV_LEN) {
        EVP_CIPHER_CTX_free(c);
        return -1;
    }
    ctx->native_handle = c;
    return 0;
}

int quic_crypto_hp_ctx_init(ngtcp2_crypto_cipher_ctx *ctx, const ngtcp2_crypto_cipher *hp,
                            const uint8_t *key)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    ctx->native_handle = NULL;
    if (!c)
        return -1;
    if (EVP_EncryptInit_ex(c, hp->native_handle, NULL, key, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(c, 0) != 1) {
        EVP_CIPHER_CTX_free(c);
        return -1;
    }
    ctx->native_handle = c;
    return 0;
}

void quic_crypto_aead_ctx_free(ngtcp2_crypto_aead_ctx *ctx)
{
    EVP_CIPHER_CTX_free(ctx->native_handle);
    ctx->native_handle = NULL;
}

void quic_crypto_cipher_ctx_free(ngtcp2_crypto_cipher_ctx *ctx)
{
    EVP_CIPHER_CTX_free(ctx->native_handle);
    ctx->native_handle = NULL;
}

int quic_crypto_encrypt(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                        const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *plaintext,
                        size_t plaintext_len, const uint8_t *nonce, size_t nonce_len,
                        const uint8_t *aad, size_t aad_len)
{
    EVP_CIPHER_CTX *c = aead_ctx->native_handle;
    int n, fin;
    if (nonce_len != QUIC_CRYPTO_IV_LEN || plaintext_len > INT32_MAX || aad_len > INT32_MAX)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, nonce) != 1 ||
        EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1 ||
        EVP_EncryptUpdate(c, dest, &n, plaintext, (int)plaintext_len) != 1 ||
        EVP_EncryptFinal_ex(c, dest + n, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, (int)aead->max_overhead,
                            dest + plaintext_len) != 1)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
}

int quic_crypto_decrypt(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                        const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *ciphertext,
                        size_t ciphertext_len, const uint8_t *nonce, size_t nonce_len,
                        const uint8_t *aad, size_t aad_len)
{
    EVP_CIPHER_CTX *c = aead_ctx->native_handle;
    size_t tag_len = aead->max_overhead;
    int n, fin;
    if (nonce_len != QUIC_CRYPTO_IV_LEN || ciphertext_len < tag_len || ciphertext_len > INT32_MAX ||
        aad_len > INT32_MAX)
        return NGTCP2_ERR_DECRYPT;
    size_t len = ciphertext_len - tag_len;
    /* the tag is read before dest (which may be ciphertext) is written */
    if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, nonce) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, (void *)(ciphertext + len)) !=
            1 ||
        EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1 ||
        EVP_DecryptUpdate(c, dest, &n, ciphertext, (int)len) != 1 ||
        EVP_DecryptFinal_ex(c, dest + n, &fin) != 1)
        return NGTCP2_ERR_DECRYPT;
    return 0;
}

int quic_crypto_hp_mask(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
                        const ngtcp2_crypto_cipher_ctx *hp_ctx, const uint8_t *sample)
{
    static const uint8_t zeros[NGTCP2_HP_MASKLEN];
    EVP_CIPHER_CTX *c = hp_ctx->native_handle;
    int n;
    if (EVP_CIPHER_get_mode(hp->native_handle) == EVP_CIPH_ECB_MODE) {
        /* AES: the mask is the encrypted sample (RFC 9001 5.4.3) */
        if (EVP_EncryptUpdate(c, dest, &n, sample, NGTCP2_HP_SAMPLELEN) != 1)
            return NGTCP2_ERR_CALLBACK_FAILURE;
        return 0;
    }
    /* ChaCha20: the sample is counter (4 bytes, little endian) || nonce, the
     * same layout as OpenSSL's 16-byte IV; the mask is the key stream
     * (RFC 9001 5.4.4) */
    if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, sample) != 1 ||
        EVP_EncryptUpdate(c, dest, &n, zeros, sizeof(zeros)) != 1)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
}

/* AEAD and header protection contexts of one direction. On failure nothing
 * is left allocated. */
static int contexts_init(const ngtcp2_crypto_ctx *ctx, const struct quic_crypto_keys *k,
                         int encrypt, ngtcp2_crypto_aead_ctx *aead_ctx,
                         ngtcp2_crypto_cipher_ctx *hp_ctx)
{
    if (quic_crypto_aead_ctx_init(aead_ctx, &ctx->aead, k->key, encrypt) != 0)
        return -1;
    if (quic_crypto_hp_ctx_init(hp_ctx, &ctx->hp, k->hp) != 0) {
        quic_crypto_aead_ctx_free(aead_ctx);
        return -1;
    }
    return 0;
}

int quic_crypto_install_initial(ngtcp2_conn *conn, const ngtcp2_cid *client_dcid)
{
    return quic_crypto_install_initial_role(conn, client_dcid, 1);
}

int quic_crypto_install_initial_role(ngtcp2_conn *conn, const ngtcp2_cid *client_dcid, int server)
{
    const struct tls13_suite *suite = tls13_suite_find(0x1301);
    uint8_t client[QUIC_CRYPTO_INITIAL_SECRET_LEN], srv[QUIC_CRYPTO_INITIAL_SECRET_LEN];
    struct quic_crypto_keys rx, tx;
    ngtcp2_crypto_aead_ctx rx_aead = { 0 }, tx_aead = { 0 };
    ngtcp2_crypto_cipher_ctx rx_hp = { 0 }, tx_hp = { 0 };
    ngtcp2_crypto_ctx ctx;
    int rc = -1;

    quic_crypto_ctx(&ctx, suite);
    /* a server reads with the client's secret, a client with the server's */
    if (quic_crypto_initial_secrets(client_dcid, client, srv) != 0 ||
        quic_crypto_derive_keys(suite, server ? client : srv, sizeof(client), &rx) != 0 ||
        quic_crypto_derive_keys(suite, server ? srv : client, sizeof(srv), &tx) != 0)
        goto out;
    if (contexts_init(&ctx, &rx, 0, &rx_aead, &rx_hp) != 0)
        goto out;
    if (contexts_init(&ctx, &tx, 1, &tx_aead, &tx_hp) != 0)
        goto out;
    ngtcp2_conn_set_initial_crypto_ctx(conn, &ctx);
    if (ngtcp2_conn_install_initial_key(conn, &rx_aead, rx.iv, &rx_hp, &tx_aead, tx.iv, &tx_hp,
                                        QUIC_CRYPTO_IV_LEN) == 0)
        rc = 0;
out:
    if (rc != 0) {
        quic_crypto_aead_ctx_free(&rx_aead);
        quic_crypto_cipher_ctx_free(&rx_hp);
        quic_crypto_aead_ctx_free(&tx_aead);
        quic_crypto_cipher_ctx_free(&tx_hp);
    }
    OPENSSL_cleanse(client, sizeof(client));
    OPENSSL_cleanse(srv, sizeof(srv));
    OPENSSL_cleanse(&rx, sizeof(rx));
    OPENSSL_cleanse(&tx, sizeof(tx));
    return rc;
}

/* Sets the crypto ctx of level in conn unless it is there already (ngtcp2
 * uses one ctx for Handshake and 1-RTT). Returns 0, or -1 when level has
 * no secret-derived keys on a server or the suite changed. */
static int level_ctx_set(ngtcp2_conn *conn, ngtcp2_crypto_level level, int tx,
                         const ngtcp2_crypto_ctx *ctx)
{
    switch (level) {
    case NGTCP2_CRYPTO_LEVEL_EARLY:
        if (tx)
            return -1; /* a server does not send 0-RTT */
        ngtcp2_conn_set_early_crypto_ctx(conn, ctx);
        return 0;
    case NGTCP2_CRYPTO_LEVEL_HANDSHAKE:
    case NGTCP2_CRYPTO_LEVEL_APPLICATION: {
        const ngtcp2_crypto_ctx *cur = ngtcp2_conn_get_crypto_ctx(conn);
        /* set only once: ngtcp2 asserts while the Handshake space exists */
        if (!cur->aead.native_handle)
            ngtcp2_conn_set_crypto_ctx(conn, ctx);
        else if (cur->aead.native_handle != ctx->aead.native_handle)
            return -1;
        return 0;
    }
    default: return -1;
    }
}

static int level_install(ngtcp2_conn *conn, ngtcp2_crypto_level level, int tx,
                         const uint8_t *secret, size_t secret_len,
                         const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *iv,
                         const ngtcp2_crypto_cipher_ctx *hp_ctx)
{
    switch (level) {
    case NGTCP2_CRYPTO_LEVEL_EARLY:
        return ngtcp2_conn_install_early_key(conn, aead_ctx, iv, QUIC_CRYPTO_IV_LEN, hp_ctx);
    case NGTCP2_CRYPTO_LEVEL_HANDSHAKE:
        if (tx)
            return ngtcp2_conn_install_tx_handshake_key(conn, aead_ctx, iv, QUIC_CRYPTO_IV_LEN,
                                                        hp_ctx);
        return ngtcp2_conn_install_rx_handshake_key(conn, aead_ctx, iv, QUIC_CRYPTO_IV_LEN, hp_ctx);
    case NGTCP2_CRYPTO_LEVEL_APPLICATION:
        if (tx)
            return ngtcp2_conn_install_tx_key(conn, secret, secret_len, aead_ctx, iv,
                                              QUIC_CRYPTO_IV_LEN, hp_ctx);
        return ngtcp2_conn_install_rx_key(conn, secret, secret_len, aead_ctx, iv,
                                          QUIC_CRYPTO_IV_LEN, hp_ctx);
    default: return -1;
    }
}

int quic_crypto_install_secret(ngtcp2_conn *conn, ngtcp2_crypto_level level, int tx,
                               const struct tls13_suite *suite, const uint8_t *secret,
                               size_t secret_len)
{
    struct quic_crypto_keys k;
    ngtcp2_crypto_aead_ctx aead_ctx;
    ngtcp2_crypto_cipher_ctx hp_ctx;
    ngtcp2_crypto_ctx ctx;

    if (!suite || secret_len != (size_t)EVP_MD_get_size(suite->md))
        return -1;
    quic_crypto_ctx(&ctx, suite);
    if (level_ctx_set(conn, level, tx, &ctx) != 0 ||
        quic_crypto_derive_keys(suite, secret, secret_len, &k) != 0)
        return -1;
    int rc = contexts_init(&ctx, &k, tx, &aead_ctx, &hp_ctx);
    if (rc == 0 && level_install(conn, level, tx, secret, secret_len, &aead_ctx, k.iv, &hp_ctx)) {
        quic_crypto_aead_ctx_free(&aead_ctx);
        quic_crypto_cipher_ctx_free(&hp_ctx);
        rc = -1;
    }
    OPENSSL_cleanse(&k, sizeof(k));
    return rc;
}

static int cb_recv_client_initial(ngtcp2_conn *conn, const ngtcp2_cid *dcid, void *user_data)
{
    if (ngtcp2_conn_get_client_chosen_version(conn) != NGTCP2_PROTO_VER_V1 ||
        quic_crypto_install_initial(conn, dcid) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
}

/* One direction of a key update: the next secret, its key and IV, and a
 * fresh AEAD context (header protection keys do not change). */
static int next_key(const struct tls13_suite *suite, const ngtcp2_crypto_aead *aead,
                    const uint8_t *cur, size_t secret_len, int encrypt, uint8_t *secret,
                    ngtcp2_crypto_aead_ctx *aead_ctx, uint8_t *iv)
{
    struct quic_crypto_keys k;
    int rc = -1;
    if (quic_crypto_next_secret(suite, cur, secret_len, secret) == 0 &&
        quic_crypto_derive_keys(suite, secret, secret_len, &k) == 0 &&
        quic_crypto_aead_ctx_init(aead_ctx, aead, k.key, encrypt) == 0) {
        memcpy(iv, k.iv, QUIC_CRYPTO_IV_LEN);
        rc = 0;
    }
    OPENSSL_cleanse(&k, sizeof(k));
    return rc;
}

static int cb_update_key(ngtcp2_conn *conn, uint8_t *rx_secret, uint8_t *tx_secret,
                         ngtcp2_crypto_aead_ctx *rx_aead_ctx, uint8_t *rx_iv,
                         ngtcp2_crypto_aead_ctx *tx_aead_ctx, uint8_t *tx_iv,
                         const uint8_t *current_rx_secret, const uint8_t *current_tx_secret,
                         size_t secret_len, void *user_data)
{
    const ngtcp2_crypto_ctx *ctx = ngtcp2_conn_get_crypto_ctx(conn);
    const struct tls13_suite *suite = suite_of(ctx);
    if (!suite || next_key(suite, &ctx->aead, current_rx_secret, secret_len, 0, rx_secret,
                           rx_aead_ctx, rx_iv) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    if (next_key(suite, &ctx->aead, current_tx_secret, secret_len, 1, tx_secret, tx_aead_ctx,
                 tx_iv) != 0) {
        quic_crypto_aead_ctx_free(rx_aead_ctx);
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static void cb_delete_aead_ctx(ngtcp2_conn *conn, ngtcp2_crypto_aead_ctx *ctx, void *user_data)
{
    quic_crypto_aead_ctx_free(ctx);
}

static void cb_delete_cipher_ctx(ngtcp2_conn *conn, ngtcp2_crypto_cipher_ctx *ctx, void *user_data)
{
    quic_crypto_cipher_ctx_free(ctx);
}

static void cb_rand(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *rand_ctx)
{
    /* ngtcp2 uses these bytes where unpredictability is not needed and
     * gives no way to fail: zeros rather than uninitialized memory */
    if (RAND_bytes(dest, (int)len) != 1)
        memset(dest, 0, len);
}

static int cb_path_challenge_data(ngtcp2_conn *conn, uint8_t *data, void *user_data)
{
    return RAND_bytes(data, NGTCP2_PATH_CHALLENGE_DATALEN) == 1 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

/* Only QUIC v1 is spoken: a compatible version negotiation to anything
 * else (RFC 9368) is refused instead of left to an ngtcp2 assertion. */
static int cb_version_negotiation(ngtcp2_conn *conn, uint32_t version,
                                  const ngtcp2_cid *client_dcid, void *user_data)
{
    return NGTCP2_ERR_CALLBACK_FAILURE;
}

void quic_crypto_callbacks(ngtcp2_callbacks *cb)
{
    cb->recv_client_initial = cb_recv_client_initial;
    cb->encrypt = quic_crypto_encrypt;
    cb->decrypt = quic_crypto_decrypt;
    cb->hp_mask = quic_crypto_hp_mask;
    cb->update_key = cb_update_key;
    cb->delete_crypto_aead_ctx = cb_delete_aead_ctx;
    cb->delete_crypto_cipher_ctx = cb_delete_cipher_ctx;
    cb->rand = cb_rand;
    cb->get_path_challenge_data = cb_path_challenge_data;
    cb->version_negotiation = cb_version_negotiation;
}
