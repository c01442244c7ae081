/* QUIC packet protection against RFC 9001 Appendix A, through the ngtcp2
 * callbacks as ngtcp2 calls them, and with a real ngtcp2 server connection:
 * Initial keys from the client's DCID, Handshake/1-RTT installation, key
 * update. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../tap.h"
#include "quic/crypto.h"

static const char a2_crypto_frame[] =
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff";

static const char a2_packet[] = "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
                                "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
                                "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
                                "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
                                "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
                                "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
                                "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
                                "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
                                "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
                                "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
                                "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
                                "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
                                "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
                                "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
                                "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
                                "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
                                "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
                                "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
                                "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
                                "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
                                "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
                                "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
                                "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
                                "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
                                "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
                                "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
                                "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
                                "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
                                "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
                                "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
                                "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
                                "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
                                "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
                                "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
                                "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
                                "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
                                "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
                                "e221af44860018ab0856972e194cd934";

static const char a3_payload[] = "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739"
                                 "88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94"
                                 "0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00"
                                 "020304";

static const char a3_packet[] = "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"
                                "5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3"
                                "dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
                                "022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4"
                                "2158407dd074ee";

static size_t hex(const char *s, uint8_t *out)
{
    size_t n = strlen(s) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static int eq_hex(const uint8_t *got, const char *want)
{
    uint8_t w[1500];
    size_t n = hex(want, w);
    return memcmp(got, w, n) == 0;
}

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
    ngtcp2_cid_init(&dcid, (const uint8_t *)"\x83\x94\xc8\xf0\x3e\x51\x57\x08", 8);
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
    ngtcp2_cid_init(&dcid, (const uint8_t *)"\x83\x94\xc8\xf0\x3e\x51\x57\x08", 8);
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
    ngtcp2_cid_init(&dcid, (const uint8_t *)"\x83\x94\xc8\xf0\x3e\x51\x57\x08", 8);
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
    ngtcp2_cid_init(&odcid, (const uint8_t *)"\x83\x94\xc8\xf0\x3e\x51\x57\x08", 8);
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
    TAP_OK(ictx->aead.native_handle == (void *)EVP_aes_128_gcm() && ictx->aead.max_overhead == 16 &&
               ictx->max_encryption == 1ULL << 23,
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
    TAP_OK(ctx->aead.native_handle == (void *)EVP_aes_256_gcm() &&
               ctx->md.native_handle == (void *)EVP_sha384() &&
               ctx->hp.native_handle == (void *)EVP_aes_256_ecb(),
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
    TAP_OK(ngtcp2_conn_get_early_crypto_ctx(conn)->aead.native_handle ==
               (void *)EVP_chacha20_poly1305(),
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
    ngtcp2_cid_init(&dcid, (const uint8_t *)"\x83\x94\xc8\xf0\x3e\x51\x57\x08", 8);
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
