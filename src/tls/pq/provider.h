/* The hybrid post-quantum TLS 1.3 key exchange X25519MLKEM768 (group
 * 0x11EC) for OpenSSL 3.0 to 3.4, which do not have it: an OpenSSL provider
 * ("rpxy-pq") built into the binary and registered with
 * OSSL_PROVIDER_add_builtin. It announces the group through the "TLS-GROUP"
 * capability and implements it as a KEM (libssl's KEM path for TLS 1.3
 * groups): the client's share is ML-KEM-768 ek || X25519 public, the
 * server's ML-KEM ciphertext || X25519 public, the secret ML-KEM ss || X25519
 * ss. ML-KEM-768 is mlkem768.c; X25519 is OpenSSL's default provider.
 *
 * On OpenSSL 3.5 and later the library has the group built in and
 * pq_provider_init() leaves everything to it.
 */
#ifndef RPXY_TLS_PQ_PROVIDER_H
#define RPXY_TLS_PQ_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/core.h>

/* The groups to pass to SSL_CTX_set1_groups_list, on servers and clients:
 * the hybrid first, then the classical ones for peers without it. */
#define PQ_GROUPS_LIST "X25519MLKEM768:X25519:P-256:P-384"
/* The TLS NamedGroup codepoint of X25519MLKEM768 (4588). */
#define PQ_GROUP_ID 0x11EC
#define PQ_GROUP_NAME "X25519MLKEM768"

/* Makes X25519MLKEM768 available to every SSL_CTX created afterwards in the
 * default library context. Call once at start-up, before any SSL_CTX is made;
 * later calls return the first call's result. With OpenSSL >= 3.5 at run time
 * it does nothing (the group is built in). Otherwise it registers the
 * built-in provider "rpxy-pq" and loads the "default" provider explicitly
 * (loading any provider disables the implicit default one) and "rpxy-pq".
 * Returns 0, or -1 with the reason on the OpenSSL error queue. */
int pq_provider_init(void);

/* Unloads what pq_provider_init loaded (at exit, after every SSL_CTX is
 * gone). */
void pq_provider_free(void);

/* One line for the start-up log saying where X25519MLKEM768 comes from, or
 * that it is unavailable. Static storage. */
const char *pq_provider_description(void);

/* ---- Internal: shared by provider.c, pq_keymgmt.c and pq_kem.c only. ---- */

#define PQ_PROVIDER_NAME "rpxy-pq"
/* Property query for the X25519 fetches made inside the provider: anything
 * but ourselves, so a fetch can never come back into this provider. */
#define PQ_X25519_PROPQ "provider!=" PQ_PROVIDER_NAME

#define PQ_X25519_BYTES 32
#define PQ_CLIENT_SHARE_BYTES (1184 + PQ_X25519_BYTES) /* ek || X25519 public */
#define PQ_SERVER_SHARE_BYTES (1088 + PQ_X25519_BYTES) /* ct || X25519 public */
#define PQ_SECRET_BYTES (32 + PQ_X25519_BYTES)         /* ML-KEM ss || X25519 ss */
#define PQ_SECURITY_BITS 192

/* The provider context: the library context the provider was loaded in. */
struct pq_provctx {
    OSSL_LIB_CTX *libctx;
};

/* A hybrid key (keymgmt key data), owned by pq_keymgmt.c. */
struct pq_key;

/* Server side: encapsulates to the key's public part. Writes
 * PQ_SERVER_SHARE_BYTES to share and PQ_SECRET_BYTES to secret. Returns 0, or
 * -1 (error queued) when the key has no public part or the X25519 result is
 * all zeros. */
int pq_key_encaps(const struct pq_key *key, uint8_t share[PQ_SERVER_SHARE_BYTES],
                  uint8_t secret[PQ_SECRET_BYTES]);

/* Client side: decapsulates the server's share (share_len must be
 * PQ_SERVER_SHARE_BYTES) with the key's private part. Returns 0, or -1 (error
 * queued). */
int pq_key_decaps(const struct pq_key *key, const uint8_t *share, size_t share_len,
                  uint8_t secret[PQ_SECRET_BYTES]);

/* FIPS 203 §7.2 modulus check of an ML-KEM-768 encapsulation key: every
 * 12-bit coefficient of the encoded vector is < 3329. Returns 1 if valid. */
int pq_mlkem768_ek_valid(const uint8_t *ek, size_t ek_len);

extern const OSSL_DISPATCH pq_keymgmt_functions[];
extern const OSSL_DISPATCH pq_kem_functions[];

#endif
