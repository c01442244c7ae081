/* HKDF-Expand-Label against RFC 9001 Appendix A.1 (QUIC v1 initial secrets
 * for the destination connection ID 0x8394c8f03e515708). */
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

int main(void)
{
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
