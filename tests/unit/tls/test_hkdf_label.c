/* HKDF against RFC 5869 Appendix A.1 and A.3, HKDF-Expand-Label against
 * RFC 9001 Appendix A.1 (QUIC v1 initial secrets for the destination
 * connection ID 0x8394c8f03e515708), and both against OpenSSL's own HKDF
 * (EVP_KDF) for SHA-384 and lengths over one hash block. */
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <string.h>

#include "../tap.h"
#include "tls/hkdf_label.h"

static void hex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static int eq_hex(const uint8_t *got, const char *want)
{
    uint8_t w[64];
    size_t n = strlen(want) / 2;
    hex(want, w, n);
    return memcmp(got, w, n) == 0;
}

static void rfc5869(void)
{
    const EVP_MD *md = EVP_sha256();
    uint8_t ikm[22], salt[13], info[10], prk[32], okm[42];
    memset(ikm, 0x0b, sizeof(ikm));
    for (int i = 0; i < 13; i++)
        salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++)
        info[i] = (uint8_t)(0xf0 + i);
    tls13_hkdf_extract(md, salt, sizeof(salt), ikm, sizeof(ikm), prk);
    TAP_OK(eq_hex(prk, "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"),
           "RFC 5869 A.1 PRK");
    TAP_OK(tls13_hkdf_expand(md, prk, 32, info, sizeof(info), okm, 42) == 0, "A.1 expand runs");
    TAP_OK(eq_hex(okm, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                       "34007208d5b887185865"),
           "RFC 5869 A.1 OKM (two blocks)");
    tls13_hkdf_extract(md, NULL, 0, ikm, sizeof(ikm), prk);
    TAP_OK(eq_hex(prk, "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04"),
           "RFC 5869 A.3 PRK (no salt)");
    tls13_hkdf_expand(md, prk, 32, NULL, 0, okm, 42);
    TAP_OK(eq_hex(okm, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                       "9d201395faa4b61a96c8"),
           "RFC 5869 A.3 OKM (no info)");
    TAP_OK(tls13_hkdf_expand(md, prk, 32, NULL, 0, okm, 255 * 32 + 1) == -1,
           "more than 255 blocks refused");
}

static int openssl_hkdf(int mode, const char *digest, const uint8_t *key, size_t key_len,
                        const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len,
                        uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[6], *p = params;
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
    if (salt_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *p = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(c, out, out_len, params) == 1;
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(kdf);
    return ok ? 0 : -1;
}

/* Keys longer than SHA-384's 128-byte block are hashed first (RFC 2104). */
static void against_openssl(void)
{
    const EVP_MD *md = EVP_sha384();
    uint8_t key[200], salt[150], info[60], ours[150], theirs[150];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof(salt); i++)
        salt[i] = (uint8_t)(i * 13 + 5);
    for (size_t i = 0; i < sizeof(info); i++)
        info[i] = (uint8_t)(i * 3);
    static const size_t salt_lens[] = { 0, 48, 128, 150 };
    int same = 0, runs = 0;
    for (size_t s = 0; s < 4; s++, runs++) {
        tls13_hkdf_extract(md, salt, salt_lens[s], key, 48, ours);
        openssl_hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, "SHA384", key, 48, salt, salt_lens[s], NULL, 0,
                     theirs, 48);
        same += memcmp(ours, theirs, 48) == 0;
    }
    static const size_t key_lens[] = { 48, 128, 200 }, out_lens[] = { 1, 12, 48, 49, 150 };
    for (size_t k = 0; k < 3; k++)
        for (size_t o = 0; o < 5; o++, runs++) {
            tls13_hkdf_expand(md, key, key_lens[k], info, sizeof(info), ours, out_lens[o]);
            openssl_hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, "SHA384", key, key_lens[k], NULL, 0, info,
                         sizeof(info), theirs, out_lens[o]);
            same += memcmp(ours, theirs, out_lens[o]) == 0;
        }
    printf("# %d of %d derivations agree\n", same, runs);
    TAP_OK(same == runs, "SHA-384 extract and expand agree with EVP_KDF");
}

int main(void)
{
    rfc5869();
    against_openssl();
    const EVP_MD *md = EVP_sha256();
    uint8_t salt[20], dcid[8], initial[32], client[32], key[16], iv[12], hp[16], server[32];
    hex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a", salt, 20);
    hex("8394c8f03e515708", dcid, 8);
    TAP_OK(tls13_hkdf_extract(md, salt, 20, dcid, 8, initial) == 0, "extract runs");
    TAP_OK(eq_hex(initial, "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44"),
           "initial_secret");
    TAP_OK(tls13_hkdf_expand_label(md, initial, 32, "client in", NULL, 0, client, 32) == 0,
           "expand runs");
    TAP_OK(eq_hex(client, "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"),
           "client_initial_secret");
    tls13_hkdf_expand_label(md, client, 32, "quic key", NULL, 0, key, 16);
    tls13_hkdf_expand_label(md, client, 32, "quic iv", NULL, 0, iv, 12);
    tls13_hkdf_expand_label(md, client, 32, "quic hp", NULL, 0, hp, 16);
    TAP_OK(eq_hex(key, "1f369613dd76d5467730efcbe3b1a22d"), "client key");
    TAP_OK(eq_hex(iv, "fa044b2f42a3fd3b46fb255c"), "client iv");
    TAP_OK(eq_hex(hp, "9f50449e04a0e810283a1e9933adedd2"), "client hp");
    tls13_hkdf_expand_label(md, initial, 32, "server in", NULL, 0, server, 32);
    TAP_OK(eq_hex(server, "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b"),
           "server_initial_secret");
    const struct tls13_suite *s = tls13_suite_find(0x1303);
    TAP_OK(s && s->key_len == 32 && EVP_MD_is_a(s->md, "SHA256"), "chacha suite");
    TAP_OK(tls13_suite_find(0x1304) == NULL, "CCM suites are not offered");
    return tap_done();
}
