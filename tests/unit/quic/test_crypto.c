/* QUIC packet protection against RFC 9001 Appendix A, through the ngtcp2
 * callbacks as ngtcp2 calls them, and with a real ngtcp2 server connection:
 * Initial keys from the client's DCID, Handshake/1-RTT installation, key
 * update. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../tap.h"
#include "quic/crypto.h"
#include "rfc9001_vectors.h"

static ngtcp2_callbacks cb;

/* iv XOR the packet number, as ngtcp2 makes the nonce (RFC 9001 5.3) */
static void nonce_of(uint8_t *nonce, const uint8_t *iv, uint64_t pn)
{
    memcpy(nonce, iv, QUIC_CRYPTO_IV_LEN);
    for (int i = 0; i < 8; i++)
        nonce[QUIC_CRYPTO_IV_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
}

/* One direction's contexts made from keys, as the connection would hold. */
struct dir {
    ngtcp2_crypto_ctx ctx;
    ngtcp2_crypto_aead_ctx aead_ctx;
    ngtcp2_crypto_cipher_ctx hp_ctx;
    struct quic_crypto_keys k;
};

static int dir_init(struct dir *d, uint16_t suite_id, const uint8_t *secret, size_t len,
                    int encrypt)
{
    const struct tls13_suite *s = tls13_suite_find(suite_id);
    quic_crypto_ctx(&d->ctx, s);
    if (quic_crypto_derive_keys(s, secret, len, &d->k) != 0 ||
        quic_crypto_aead_ctx_init(&d->aead_ctx, &d->ctx.aead, d->k.key, encrypt) != 0 ||
        quic_crypto_hp_ctx_init(&d->hp_ctx, &d->ctx.hp, d->k.hp) != 0)
        return -1;
    return 0;
}

static void dir_free(struct dir *d)
{
    cb.delete_crypto_aead_ctx(NULL, &d->aead_ctx, NULL);
    cb.delete_crypto_cipher_ctx(NULL, &d->hp_ctx, NULL);
}

/* Protects header || payload in pkt (RFC 9001 5.3, 5.4): pn_offset and
 * pn_len locate the packet number; returns the packet's length and the
 * header protection mask in mask. */
static size_t protect(struct dir *d, uint8_t *pkt, size_t pn_offset, size_t pn_len, uint64_t pn,
                      size_t payload_len, uint8_t *mask)
{
    uint8_t nonce[QUIC_CRYPTO_IV_LEN], m[NGTCP2_HP_SAMPLELEN];
    size_t hdr_len = pn_offset + pn_len;
    nonce_of(nonce, d->k.iv, pn);
    if (cb.encrypt(pkt + hdr_len, &d->ctx.aead, &d->aead_ctx, pkt + hdr_len, payload_len, nonce,
                   sizeof(nonce), pkt, hdr_len) != 0)
        return 0;
    if (cb.hp_mask(m, &d->ctx.hp, &d->hp_ctx, pkt + pn_offset + 4) != 0)
        return 0;
    memcpy(mask, m, NGTCP2_HP_MASKLEN);
    pkt[0] ^= m[0] & ((pkt[0] & 0x80) ? 0x0f : 0x1f);
    for (size_t i = 0; i < pn_len; i++)
        pkt[pn_offset + i] ^= m[1 + i];
    return hdr_len + payload_len + d->ctx.aead.max_overhead;
}

static void test_a1_keys(void)
{
    ngtcp2_cid dcid;
    uint8_t client[32], server[32];
    struct quic_crypto_keys k;
    const struct tls13_suite *s = tls13_suite_find(0x1301);
    ngtcp2_cid_init(&dcid, A_DCID, 8);
    TAP_OK(quic_crypto_initial_secrets(&dcid, client, server) == 0, "A.1 initial secrets");
    TAP_OK(eq_hex(client, "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"),
           "A.1 client_initial_secret");
    TAP_OK(eq_hex(server, "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b"),
           "A.1 server_initial_secret");
    TAP_OK(quic_crypto_derive_keys(s, client, 32, &k) == 0 && k.key_len == 16 &&
               eq_hex(k.key, "1f369613dd76d5467730efcbe3b1a22d") &&
               eq_hex(k.iv, "fa044b2f42a3fd3b46fb255c") &&
               eq_hex(k.hp, "9f50449e04a0e810283a1e9933adedd2"),
           "A.1 client key, iv, hp");
    TAP_OK(quic_crypto_derive_keys(s, server, 32, &k) == 0 &&
               eq_hex(k.key, "cf3a5331653c364c88f0f379b6067e37") &&
               eq_hex(k.iv, "0ac1493ca1905853b0bba03e") &&
               eq_hex(k.hp, "c206b8d9b9f0f37644430b490eeaa314"),
           "A.1 server key, iv, hp");
}

static void test_a2_client_initial(void)
{
    ngtcp2_cid dcid;
    uint8_t client[32], server[32], pkt[1200], want[1200], mask[5];
    struct dir d, r;
    ngtcp2_cid_init(&dcid, A_DCID, 8);
    quic_crypto_initial_secrets(&dcid, client, server);
    TAP_OK(dir_init(&d, 0x1301, client, 32, 1) == 0, "A.2 client contexts");
    memset(pkt, 0, sizeof(pkt));
    size_t hdr_len = hex("c300000001088394c8f03e5157080000449e00000002", pkt);
    hex(a2_crypto_frame, pkt + hdr_len); /* the rest stays PADDING */
    size_t n = protect(&d, pkt, 18, 4, 2, 1162, mask);
    TAP_INT_EQ(n, 1200, "A.2 packet length");
    TAP_OK(eq_hex(mask, "437b9aec36"), "A.2 header protection mask");
    hex(a2_packet, want);
    TAP_OK(memcmp(pkt, want, sizeof(want)) == 0, "A.2 protected packet, all 1200 bytes");

    /* the server's view: decrypt in place with a decryption context */
    TAP_OK(dir_init(&r, 0x1301, client, 32, 0) == 0, "A.2 server-side contexts");
    uint8_t nonce[12];
    nonce_of(nonce, r.k.iv, 2);
    hex("c300000001088394c8f03e5157080000449e00000002", want);
    TAP_INT_EQ(cb.decrypt(pkt + 22, &r.ctx.aead, &r.aead_ctx, pkt + 22, 1178, nonce, 12, want, 22),
               0, "A.2 decrypts in place");
    TAP_OK(eq_hex(pkt + 22, a2_crypto_frame) && pkt[22 + 245] == 0 && pkt[22 + 1161] == 0,
           "A.2 plaintext is the CRYPTO frame and padding");
    hex(a2_packet, pkt);
    pkt[600] ^= 1;
    TAP_INT_EQ(cb.decrypt(pkt + 22, &r.ctx.aead, &r.aead_ctx, pkt + 22, 1178, nonce, 12, want, 22),
               NGTCP2_ERR_DECRYPT, "A.2 one flipped bit: NGTCP2_ERR_DECRYPT");
    hex(a2_packet, pkt);
    TAP_INT_EQ(cb.decrypt(pkt + 22, &r.ctx.aead, &r.aead_ctx, pkt + 22, 1178, nonce, 12, want, 22),
               0, "A.2 the context is usable after a failure");
    TAP_INT_EQ(cb.decrypt(pkt, &r.ctx.aead, &r.aead_ctx, pkt, 15, nonce, 12, want, 22),
               NGTCP2_ERR_DECRYPT, "shorter than the tag: NGTCP2_ERR_DECRYPT");
    dir_free(&d);
    dir_free(&r);
}

static void test_a3_server_initial(void)
{
    ngtcp2_cid dcid;
    uint8_t client[32], server[32], pkt[256], want[256], mask[5];
    struct dir d;
    ngtcp2_cid_init(&dcid, A_DCID, 8);
    quic_crypto_initial_secrets(&dcid, client, server);
    TAP_OK(dir_init(&d, 0x1301, server, 32, 1) == 0, "A.3 server contexts");
    size_t hdr_len = hex("c1000000010008f067a5502a4262b50040750001", pkt);
    size_t len = hex(a3_payload, pkt + hdr_len);
    size_t n = protect(&d, pkt, 18, 2, 1, len, mask);
    TAP_OK(eq_hex(mask, "2ec0d8356a"), "A.3 header protection mask");
    TAP_OK(n == hex(a3_packet, want) && memcmp(pkt, want, n) == 0, "A.3 protected packet");
    dir_free(&d);
}

static const char a5_secret[] = "9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b";
static const char a5_ku[] = "1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9";

static void test_a5_chacha(void)
{
    uint8_t secret[32], pkt[64], mask[5], ku[32];
    struct dir d;
    hex(a5_secret, secret);
    TAP_OK(dir_init(&d, 0x1303, secret, 32, 1) == 0, "A.5 ChaCha20-Poly1305 contexts");
    TAP_OK(eq_hex(d.k.key, "c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8") &&
               eq_hex(d.k.iv, "e0459b3474bdd0e44a41c144") &&
               eq_hex(d.k.hp, "25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4"),
           "A.5 key, iv, hp");
    uint8_t nonce[12];
    nonce_of(nonce, d.k.iv, 654360564);
    TAP_OK(eq_hex(nonce, "e0459b3474bdd0e46d417eb0"), "A.5 nonce");
    hex("4200bff401", pkt);
    size_t n = protect(&d, pkt, 1, 3, 654360564, 1, mask);
    TAP_OK(eq_hex(pkt + 4, "655e5cd55c41f69080575d7999c25a5bfb"), "A.5 payload ciphertext");
    TAP_OK(eq_hex(mask, "aefefe7d03"), "A.5 header protection mask");
    TAP_OK(n == 21 && eq_hex(pkt, "4cfe4189655e5cd55c41f69080575d7999c25a5bfb"),
           "A.5 protected packet");
    TAP_OK(quic_crypto_next_secret(tls13_suite_find(0x1303), secret, 32, ku) == 0 &&
               eq_hex(ku, a5_ku),
           "A.5 ku (quic ku)");

    /* the receiver's side: remove header protection, then decrypt */
    struct dir r;
    uint8_t m[NGTCP2_HP_SAMPLELEN], pt[1];
    TAP_OK(dir_init(&r, 0x1303, secret, 32, 0) == 0 &&
               cb.hp_mask(m, &r.ctx.hp, &r.hp_ctx, pkt + 5) == 0 && eq_hex(m, "aefefe7d03"),
           "A.5 receiver's mask");
    pkt[0] ^= m[0] & 0x1f;
    for (int i = 0; i < 3; i++)
        pkt[1 + i] ^= m[1 + i];
    TAP_OK(eq_hex(pkt, "4200bff4") &&
               cb.decrypt(pt, &r.ctx.aead, &r.aead_ctx, pkt + 4, 17, nonce, 12, pkt, 4) == 0 &&
               pt[0] == 0x01,
           "A.5 header unprotected and PING decrypted (ChaCha20-Poly1305)");
    pkt[20] ^= 1;
    TAP_INT_EQ(cb.decrypt(pt, &r.ctx.aead, &r.aead_ctx, pkt + 4, 17, nonce, 12, pkt, 4),
               NGTCP2_ERR_DECRYPT, "A.5 altered tag: NGTCP2_ERR_DECRYPT");
    dir_free(&r);
    dir_free(&d);
}

/* A server connection fed with real packets. */
struct conn_seen {
    size_t crypto_len;
    uint8_t crypto[512];
    int level;
};

static int recv_crypto_data(ngtcp2_conn *conn, ngtcp2_crypto_level level, uint64_t offset,
                            const uint8_t *data, size_t len, void *user_data)
{
    struct conn_seen *seen = user_data;
    if (offset + len <= sizeof(seen->crypto)) {
        memcpy(seen->crypto + offset, data, len);
        if (offset + len > seen->crypto_len)
            seen->crypto_len = offset + len;
    }
    seen->level = (int)level;
    return 0;
}

static int get_new_connection_id(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
                                 void *user_data)
{
    memset(cid->data, 0x5a, cidlen);
    cid->datalen = cidlen;
    memset(token, 0, NGTCP2_STATELESS_RESET_TOKENLEN);
    return 0;
}

static struct sockaddr_in local_sa, remote_sa;

static ngtcp2_path test_path(void)
{
    local_sa.sin_family = remote_sa.sin_family = AF_INET;
    local_sa.sin_port = htons(443);
    remote_sa.sin_port = htons(50000);
    local_sa.sin_addr.s_addr = htonl(0x7f000001);
    remote_sa.sin_addr.s_addr = htonl(0x7f000002);
    ngtcp2_path p = { { (ngtcp2_sockaddr *)&local_sa, sizeof(local_sa) },
                      { (ngtcp2_sockaddr *)&remote_sa, sizeof(remote_sa) },
                      NULL };
    return p;
}

static ngtcp2_conn *server_conn(struct conn_seen *seen, uint32_t version)
{
    ngtcp2_callbacks c;
    ngtcp2_settings settings;
    ngtcp2_transport_params params;
    ngtcp2_cid client_scid, scid, odcid;
    ngtcp2_path path = test_path();
    ngtcp2_conn *conn = NULL;
    memset(&c, 0, sizeof(c));
    quic_crypto_callbacks(&c);
    c.recv_crypto_data = recv_crypto_data;
    c.get_new_connection_id = get_new_connection_id;
    ngtcp2_settings_default(&settings);
    ngtcp2_transport_params_default(&params);
    ngtcp2_cid_init(&client_scid, NULL, 0);
    ngtcp2_cid_init(&scid, (const uint8_t *)"\xf0\x67\xa5\x50\x2a\x42\x62\xb5", 8);
    ngtcp2_cid_init(&odcid, A_DCID, 8);
    params.original_dcid = odcid;
    if (ngtcp2_conn_server_new(&conn, &client_scid, &scid, &path, version, &c, &settings, &params,
                               NULL, seen) != 0)
        return NULL;
    return conn;
}

static void test_conn_client_initial(void)
{
    struct conn_seen seen = { 0 };
    ngtcp2_conn *conn = server_conn(&seen, NGTCP2_PROTO_VER_V1);
    ngtcp2_path path = test_path();
    ngtcp2_pkt_info pi = { 0 };
    uint8_t pkt[1200], ch[245];
    TAP_OK(conn != NULL, "ngtcp2 server connection with our callbacks");
    if (!conn)
        return;
    hex(a2_packet, pkt);
    int rv = ngtcp2_conn_read_pkt(conn, &path, &pi, pkt, sizeof(pkt), 1);
    TAP_INT_EQ(rv, 0, "ngtcp2 reads the A.2 Initial (recv_client_initial, hp_mask, decrypt)");
    hex(a2_crypto_frame, ch);
    TAP_OK(seen.level == NGTCP2_CRYPTO_LEVEL_INITIAL && seen.crypto_len == 241 &&
               memcmp(seen.crypto, ch + 4, 241) == 0,
           "the ClientHello reaches recv_crypto_data at the Initial level");
    const ngtcp2_crypto_ctx *ictx = ngtcp2_conn_get_initial_crypto_ctx(conn);
    TAP_OK(EVP_CIPHER_is_a(ictx->aead.native_handle, "AES-128-GCM") &&
               ictx->aead.max_overhead == 16 && ictx->max_encryption == 1ULL << 23,
           "initial crypto ctx is AES-128-GCM with its limits");

    /* the TLS bridge installs Handshake and 1-RTT secrets (AES-256-GCM) */
    const struct tls13_suite *s = tls13_suite_find(0x1302);
    uint8_t hs_rx[48], hs_tx[48], ap_rx[48], ap_tx[48];
    memset(hs_rx, 1, 48);
    memset(hs_tx, 2, 48);
    memset(ap_rx, 3, 48);
    memset(ap_tx, 4, 48);
    TAP_OK(quic_crypto_install_secret(conn, NGTCP2_CRYPTO_LEVEL_HANDSHAKE, 0, s, hs_rx, 32) == -1,
           "a secret of the wrong length is refused");
    TAP_OK(quic_crypto_install_secret(conn, NGTCP2_CRYPTO_LEVEL_INITIAL, 0, s, hs_rx, 48) == -1,
           "Initial keys do not come from a TLS secret");
    TAP_OK(quic_crypto_install_secret(conn, NGTCP2_CRYPTO_LEVEL_EARLY, 1, s, hs_rx, 48) == -1,
           "a server has no 0-RTT send key");
    TAP_OK(quic_crypto_install_secret(conn, NGTCP2_CRYPTO_LEVEL_HANDSHAKE, 0, s, hs_rx, 48) == 0 &&
               quic_crypto_install_secret(conn, NGTCP2_CRYPTO_LEVEL_HANDSHAKE, 1, s, hs_tx, 48) ==
                   0,
           "Handshake rx and tx keys installed");
    const ngtcp2_crypto_ctx *ctx = ngtcp2_conn_get_crypto_ctx(conn);
    TAP_OK(EVP_CIPHER_is_a(ctx->aead.native_handle, "AES-256-GCM") &&
               EVP_MD_is_a(ctx->md.native_handle, "SHA384") &&
               EVP_CIPHER_is_a(ctx->hp.native_handle, "AES-256-ECB"),
           "crypto ctx set from the suite");
    TAP_OK(quic_crypto_install_secret(conn, NGTCP2_CRYPTO_LEVEL_APPLICATION, 0,
                                      tls13_suite_find(0x1301), ap_rx, 32) == -1,
           "1-RTT with another suite than Handshake is refused");
    TAP_OK(
        quic_crypto_install_secret(conn, NGTCP2_CRYPTO_LEVEL_APPLICATION, 0, s, ap_rx, 48) == 0 &&
            quic_crypto_install_secret(conn, NGTCP2_CRYPTO_LEVEL_APPLICATION, 1, s, ap_tx, 48) == 0,
        "1-RTT rx and tx keys installed");

    /* key update through the callback, checked against an independent peer */
    uint8_t rx2[48], tx2[48], rx_iv[12], tx_iv[12], peer_secret[48], nonce[12];
    ngtcp2_crypto_aead_ctx rx_ctx, tx_ctx;
    TAP_INT_EQ(
        cb.update_key(conn, rx2, tx2, &rx_ctx, rx_iv, &tx_ctx, tx_iv, ap_rx, ap_tx, 48, NULL), 0,
        "update_key");
    tls13_hkdf_expand_label(EVP_sha384(), ap_tx, 48, "quic ku", NULL, 0, peer_secret, 48);
    TAP_OK(memcmp(tx2, peer_secret, 48) == 0, "updated tx secret is HKDF-Expand-Label(quic ku)");
    struct dir peer_rx, peer_tx;
    dir_init(&peer_rx, 0x1302, peer_secret, 48, 0);
    tls13_hkdf_expand_label(EVP_sha384(), ap_rx, 48, "quic ku", NULL, 0, peer_secret, 48);
    dir_init(&peer_tx, 0x1302, peer_secret, 48, 1);
    TAP_OK(memcmp(tx_iv, peer_rx.k.iv, 12) == 0 && memcmp(rx_iv, peer_tx.k.iv, 12) == 0,
           "updated IVs match the peer's");
    uint8_t msg[32] = "hello after a key update", ct[48], pt[32];
    nonce_of(nonce, tx_iv, 7);
    cb.encrypt(ct, &ctx->aead, &tx_ctx, msg, 32, nonce, 12, (const uint8_t *)"hdr", 3);
    TAP_OK(cb.decrypt(pt, &peer_rx.ctx.aead, &peer_rx.aead_ctx, ct, 48, nonce, 12,
                      (const uint8_t *)"hdr", 3) == 0 &&
               memcmp(pt, msg, 32) == 0,
           "updated tx key: the peer decrypts");
    nonce_of(nonce, peer_tx.k.iv, 9);
    cb.encrypt(ct, &peer_tx.ctx.aead, &peer_tx.aead_ctx, msg, 32, nonce, 12, NULL, 0);
    TAP_OK(cb.decrypt(pt, &ctx->aead, &rx_ctx, ct, 48, nonce, 12, NULL, 0) == 0 &&
               memcmp(pt, msg, 32) == 0,
           "updated rx key: decrypts the peer");
    cb.delete_crypto_aead_ctx(conn, &rx_ctx, NULL);
    cb.delete_crypto_aead_ctx(conn, &tx_ctx, NULL);
    dir_free(&peer_rx);
    dir_free(&peer_tx);
    ngtcp2_conn_del(conn);
}

static void test_conn_chacha_key_update(void)
{
    struct conn_seen seen = { 0 };
    ngtcp2_conn *conn = server_conn(&seen, NGTCP2_PROTO_VER_V1);
    const struct tls13_suite *s = tls13_suite_find(0x1303);
    uint8_t secret[32], other[32], rx2[32], tx2[32], rx_iv[12], tx_iv[12];
    ngtcp2_crypto_aead_ctx rx_ctx, tx_ctx;
    hex(a5_secret, secret);
    memset(other, 7, sizeof(other));
    TAP_OK(conn &&
               quic_crypto_install_secret(conn, NGTCP2_CRYPTO_LEVEL_EARLY, 0, s, other, 32) == 0,
           "0-RTT rx key installed");
    TAP_OK(EVP_CIPHER_is_a(ngtcp2_conn_get_early_crypto_ctx(conn)->aead.native_handle,
                           "ChaCha20-Poly1305"),
           "early crypto ctx set");
    TAP_OK(
        quic_crypto_install_secret(conn, NGTCP2_CRYPTO_LEVEL_APPLICATION, 1, s, secret, 32) == 0 &&
            quic_crypto_install_secret(conn, NGTCP2_CRYPTO_LEVEL_APPLICATION, 0, s, other, 32) == 0,
        "ChaCha20-Poly1305 1-RTT keys installed");
    TAP_INT_EQ(
        cb.update_key(conn, rx2, tx2, &rx_ctx, rx_iv, &tx_ctx, tx_iv, other, secret, 32, NULL), 0,
        "update_key (ChaCha20-Poly1305)");
    TAP_OK(eq_hex(tx2, a5_ku), "A.5 secret updates to the published ku");
    cb.delete_crypto_aead_ctx(conn, &rx_ctx, NULL);
    cb.delete_crypto_aead_ctx(conn, &tx_ctx, NULL);
    ngtcp2_conn_del(conn);
}

static void test_conn_other_version(void)
{
    struct conn_seen seen = { 0 };
    ngtcp2_conn *conn = server_conn(&seen, NGTCP2_PROTO_VER_V2_DRAFT);
    ngtcp2_cid dcid;
    ngtcp2_cid_init(&dcid, A_DCID, 8);
    TAP_INT_EQ(cb.recv_client_initial(conn, &dcid, NULL), NGTCP2_ERR_CALLBACK_FAILURE,
               "recv_client_initial refuses a version other than 1");
    TAP_INT_EQ(cb.version_negotiation(conn, NGTCP2_PROTO_VER_V2_DRAFT, &dcid, NULL),
               NGTCP2_ERR_CALLBACK_FAILURE, "version_negotiation refuses");
    ngtcp2_conn_del(conn);
}

static void test_random(void)
{
    uint8_t a[8] = { 0 }, b[8] = { 0 }, r[32] = { 0 }, z[32] = { 0 };
    TAP_OK(cb.get_path_challenge_data(NULL, a, NULL) == 0 &&
               cb.get_path_challenge_data(NULL, b, NULL) == 0 && memcmp(a, b, 8) != 0,
           "get_path_challenge_data gives fresh bytes");
    cb.rand(r, sizeof(r), NULL);
    TAP_OK(memcmp(r, z, sizeof(r)) != 0, "rand fills the buffer");
}

int main(void)
{
    quic_crypto_callbacks(&cb);
    test_a1_keys();
    test_a2_client_initial();
    test_a3_server_initial();
    test_a5_chacha();
    test_conn_client_initial();
    test_conn_chacha_key_update();
    test_conn_other_version();
    test_random();
    return tap_done();
}
