/* Key management for X25519MLKEM768 in the rpxy-pq provider: the key object,
 * its generation (what libssl's ssl_generate_pkey_group and
 * ssl_generate_param_group ask for), the encoded public key (the TLS key
 * share, read by EVP_PKEY_get1_encoded_public_key and written by
 * EVP_PKEY_set1_encoded_public_key), and the hybrid encapsulation and
 * decapsulation used by pq_kem.c.
 *
 * A key holds a public part (ML-KEM-768 ek || X25519 public, exactly the
 * client's key share) and optionally a private part (ML-KEM-768 dk and the
 * X25519 private scalar). The private part is wiped when the key is freed.
 */
#include "tls/pq/provider.h"
#include "tls/pq/mlkem768.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/proverr.h>

#define PQ_PRIV_BYTES (MLKEM768_DK_BYTES + PQ_X25519_BYTES) /* exported private key */
#define MLKEM768_Q 3329
#define MLKEM768_POLYVEC_BYTES 1152 /* 3 polynomials of 256 12-bit coefficients */
#define MLKEM768_DK_EK_OFFSET 1152  /* dk = dk_pke || ek || H(ek) || z */

struct pq_key {
    OSSL_LIB_CTX *libctx;
    int has_pub;
    int has_priv;
    uint8_t pub[PQ_CLIENT_SHARE_BYTES]; /* ek || X25519 public */
    uint8_t dk[MLKEM768_DK_BYTES];
    uint8_t x25519_priv[PQ_X25519_BYTES];
};

struct pq_gen {
    OSSL_LIB_CTX *libctx;
    int selection;
};

int pq_mlkem768_ek_valid(const uint8_t *ek, size_t ek_len)
{
    if (ek_len != MLKEM768_EK_BYTES)
        return 0;
    /* ek is public: no need for constant time here. */
    for (size_t i = 0; i < MLKEM768_POLYVEC_BYTES; i += 3) {
        unsigned c0 = ek[i] | ((unsigned)(ek[i + 1] & 0x0f) << 8);
        unsigned c1 = (ek[i + 1] >> 4) | ((unsigned)ek[i + 2] << 4);
        if (c0 >= MLKEM768_Q || c1 >= MLKEM768_Q)
            return 0;
    }
    return 1;
}

/* ---- X25519 through OpenSSL (never this provider: PQ_X25519_PROPQ) ---- */

static int x25519_keygen(OSSL_LIB_CTX *libctx, uint8_t priv[PQ_X25519_BYTES],
                         uint8_t pub[PQ_X25519_BYTES])
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(libctx, "X25519", PQ_X25519_PROPQ);
    EVP_PKEY *pkey = NULL;
    size_t priv_len = PQ_X25519_BYTES, pub_len = PQ_X25519_BYTES;
    int ok = pctx != NULL && EVP_PKEY_keygen_init(pctx) > 0 && EVP_PKEY_keygen(pctx, &pkey) > 0 &&
             EVP_PKEY_get_raw_private_key(pkey, priv, &priv_len) > 0 &&
             EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len) > 0 && priv_len == PQ_X25519_BYTES &&
             pub_len == PQ_X25519_BYTES;
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(pctx);
    if (!ok) {
        OPENSSL_cleanse(priv, PQ_X25519_BYTES);
        ERR_raise_data(ERR_LIB_PROV, PROV_R_FAILED_TO_GENERATE_KEY, "X25519 key generation");
    }
    return ok ? 0 : -1;
}

static int x25519_public_from_private(OSSL_LIB_CTX *libctx, const uint8_t priv[PQ_X25519_BYTES],
                                      uint8_t pub[PQ_X25519_BYTES])
{
    EVP_PKEY *pkey =
        EVP_PKEY_new_raw_private_key_ex(libctx, "X25519", PQ_X25519_PROPQ, priv, PQ_X25519_BYTES);
    size_t pub_len = PQ_X25519_BYTES;
    int ok = pkey != NULL && EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len) > 0 &&
             pub_len == PQ_X25519_BYTES;
    EVP_PKEY_free(pkey);
    return ok ? 0 : -1;
}

/* X25519(priv, peer) into out; fails (RFC 8446 §7.4.2) on an all-zero
 * result. */
static int x25519_derive(OSSL_LIB_CTX *libctx, const uint8_t priv[PQ_X25519_BYTES],
                         const uint8_t peer[PQ_X25519_BYTES], uint8_t out[PQ_X25519_BYTES])
{
    EVP_PKEY *mine =
        EVP_PKEY_new_raw_private_key_ex(libctx, "X25519", PQ_X25519_PROPQ, priv, PQ_X25519_BYTES);
    EVP_PKEY *theirs =
        EVP_PKEY_new_raw_public_key_ex(libctx, "X25519", PQ_X25519_PROPQ, peer, PQ_X25519_BYTES);
    EVP_PKEY_CTX *dctx =
        mine != NULL ? EVP_PKEY_CTX_new_from_pkey(libctx, mine, PQ_X25519_PROPQ) : NULL;
    size_t len = PQ_X25519_BYTES;
    int ok = theirs != NULL && dctx != NULL && EVP_PKEY_derive_init(dctx) > 0 &&
             EVP_PKEY_derive_set_peer_ex(dctx, theirs, 0) > 0 &&
             EVP_PKEY_derive(dctx, out, &len) > 0 && len == PQ_X25519_BYTES;
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_free(theirs);
    EVP_PKEY_free(mine);
    if (ok) {
        /* OpenSSL already refuses a zero result; check anyway, in constant
         * time since the result is secret. */
        uint8_t acc = 0;
        for (size_t i = 0; i < PQ_X25519_BYTES; i++)
            acc |= out[i];
        ok = acc != 0;
    }
    if (!ok) {
        OPENSSL_cleanse(out, PQ_X25519_BYTES);
        ERR_raise_data(ERR_LIB_PROV, PROV_R_FAILED_DURING_DERIVATION, "X25519 (zero or failed)");
    }
    return ok ? 0 : -1;
}

/* ---- the hybrid operations (pq_kem.c) ---- */

int pq_key_encaps(const struct pq_key *key, uint8_t share[PQ_SERVER_SHARE_BYTES],
                  uint8_t secret[PQ_SECRET_BYTES])
{
    uint8_t eph_priv[PQ_X25519_BYTES];
    int rc;

    if (key == NULL || !key->has_pub) {
        ERR_raise(ERR_LIB_PROV, PROV_R_NOT_A_PUBLIC_KEY);
        return -1;
    }
    rc = mlkem768_encaps(share, secret, key->pub, MLKEM768_EK_BYTES);
    if (rc != 0) {
        ERR_raise_data(ERR_LIB_PROV,
                       rc == -1 ? PROV_R_INVALID_KEY : PROV_R_FAILED_DURING_DERIVATION,
                       "ML-KEM-768 encapsulation");
        goto fail;
    }
    if (x25519_keygen(key->libctx, eph_priv, share + MLKEM768_CT_BYTES) != 0)
        goto fail;
    rc = x25519_derive(key->libctx, eph_priv, key->pub + MLKEM768_EK_BYTES,
                       secret + MLKEM768_SS_BYTES);
    OPENSSL_cleanse(eph_priv, sizeof(eph_priv));
    if (rc != 0)
        goto fail;
    return 0;
fail:
    OPENSSL_cleanse(secret, PQ_SECRET_BYTES);
    return -1;
}

int pq_key_decaps(const struct pq_key *key, const uint8_t *share, size_t share_len,
                  uint8_t secret[PQ_SECRET_BYTES])
{
    if (key == NULL || !key->has_priv) {
        ERR_raise(ERR_LIB_PROV, PROV_R_NOT_A_PRIVATE_KEY);
        return -1;
    }
    if (share_len != PQ_SERVER_SHARE_BYTES) {
        ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_INPUT_LENGTH,
                       "X25519MLKEM768 server share is %zu bytes, want %d", share_len,
                       PQ_SERVER_SHARE_BYTES);
        return -1;
    }
    if (mlkem768_decaps(secret, key->dk, sizeof(key->dk), share, MLKEM768_CT_BYTES) != 0) {
        ERR_raise_data(ERR_LIB_PROV, PROV_R_FAILED_DURING_DERIVATION, "ML-KEM-768 decapsulation");
        OPENSSL_cleanse(secret, PQ_SECRET_BYTES);
        return -1;
    }
    if (x25519_derive(key->libctx, key->x25519_priv, share + MLKEM768_CT_BYTES,
                      secret + MLKEM768_SS_BYTES) != 0) {
        OPENSSL_cleanse(secret, PQ_SECRET_BYTES);
        return -1;
    }
    return 0;
}

/* ---- key objects ---- */

static struct pq_key *key_new(OSSL_LIB_CTX *libctx)
{
    struct pq_key *key = OPENSSL_zalloc(sizeof(*key));
    if (key != NULL)
        key->libctx = libctx;
    return key;
}

static void *km_new(void *provctx)
{
    return key_new(((struct pq_provctx *)provctx)->libctx);
}

static void km_free(void *keydata)
{
    /* Clears the whole object, the private part included. */
    OPENSSL_clear_free(keydata, sizeof(struct pq_key));
}

static void drop_private(struct pq_key *key)
{
    OPENSSL_cleanse(key->dk, sizeof(key->dk));
    OPENSSL_cleanse(key->x25519_priv, sizeof(key->x25519_priv));
    key->has_priv = 0;
}

/* Sets the public part from a 1216-byte client share after the length and
 * modulus checks. Any private part no longer matches and is dropped. */
static int key_set_public(struct pq_key *key, const void *data, size_t len)
{
    if (len != PQ_CLIENT_SHARE_BYTES) {
        ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_KEY_LENGTH,
                       "X25519MLKEM768 key share is %zu bytes, want %d", len,
                       PQ_CLIENT_SHARE_BYTES);
        return 0;
    }
    if (!pq_mlkem768_ek_valid(data, MLKEM768_EK_BYTES)) {
        ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_KEY,
                       "ML-KEM-768 encapsulation key fails the modulus check");
        return 0;
    }
    drop_private(key);
    memcpy(key->pub, data, PQ_CLIENT_SHARE_BYTES);
    key->has_pub = 1;
    return 1;
}

/* Sets both parts from dk || X25519 private; the public part is recomputed
 * (ek is inside dk). */
static int key_set_private(struct pq_key *key, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint8_t pub[PQ_CLIENT_SHARE_BYTES];

    if (len != PQ_PRIV_BYTES) {
        ERR_raise(ERR_LIB_PROV, PROV_R_INVALID_KEY_LENGTH);
        return 0;
    }
    memcpy(pub, p + MLKEM768_DK_EK_OFFSET, MLKEM768_EK_BYTES);
    if (!pq_mlkem768_ek_valid(pub, MLKEM768_EK_BYTES) ||
        x25519_public_from_private(key->libctx, p + MLKEM768_DK_BYTES, pub + MLKEM768_EK_BYTES)) {
        ERR_raise(ERR_LIB_PROV, PROV_R_INVALID_KEY);
        return 0;
    }
    memcpy(key->pub, pub, sizeof(pub));
    memcpy(key->dk, p, MLKEM768_DK_BYTES);
    memcpy(key->x25519_priv, p + MLKEM768_DK_BYTES, PQ_X25519_BYTES);
    key->has_pub = key->has_priv = 1;
    return 1;
}

static int km_has(const void *keydata, int selection)
{
    const struct pq_key *key = keydata;
    int ok = key != NULL;

    /* There are no domain parameters: those selections always hold. */
    if (ok && (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0)
        ok = key->has_pub;
    if (ok && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0)
        ok = key->has_priv;
    return ok;
}

static int km_match(const void *keydata1, const void *keydata2, int selection)
{
    const struct pq_key *a = keydata1, *b = keydata2;

    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
        return 1;
    /* The public part is a function of the private one: comparing it is
     * enough when both have it. */
    if (a->has_pub && b->has_pub)
        return CRYPTO_memcmp(a->pub, b->pub, sizeof(a->pub)) == 0;
    if (a->has_priv && b->has_priv)
        return CRYPTO_memcmp(a->dk, b->dk, sizeof(a->dk)) == 0 &&
               CRYPTO_memcmp(a->x25519_priv, b->x25519_priv, sizeof(a->x25519_priv)) == 0;
    return 0;
}

static void *km_dup(const void *keydata, int selection)
{
    const struct pq_key *src = keydata;
    struct pq_key *key = key_new(src->libctx);

    if (key == NULL)
        return NULL;
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0 && src->has_pub) {
        memcpy(key->pub, src->pub, sizeof(key->pub));
        key->has_pub = 1;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && src->has_priv) {
        memcpy(key->dk, src->dk, sizeof(key->dk));
        memcpy(key->x25519_priv, src->x25519_priv, sizeof(key->x25519_priv));
        key->has_priv = 1;
    }
    return key;
}

static const OSSL_PARAM km_key_types[] = {
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *km_import_export_types(int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0 ? km_key_types : NULL;
}

static int km_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    struct pq_key *key = keydata;
    const OSSL_PARAM *p;

    if (key == NULL || (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 &&
        (p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY)) != NULL) {
        if (p->data_type != OSSL_PARAM_OCTET_STRING || p->data == NULL)
            return 0;
        return key_set_private(key, p->data, p->data_size);
    }
    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY);
    if (p == NULL || p->data_type != OSSL_PARAM_OCTET_STRING || p->data == NULL)
        return 0;
    return key_set_public(key, p->data, p->data_size);
}

static int km_export(void *keydata, int selection, OSSL_CALLBACK *param_cb, void *cbarg)
{
    struct pq_key *key = keydata;
    uint8_t priv[PQ_PRIV_BYTES];
    OSSL_PARAM params[3];
    int n = 0, ok;

    if (key == NULL || (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
        return 0;
    if (key->has_pub)
        params[n++] =
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, key->pub, sizeof(key->pub));
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && key->has_priv) {
        memcpy(priv, key->dk, MLKEM768_DK_BYTES);
        memcpy(priv + MLKEM768_DK_BYTES, key->x25519_priv, PQ_X25519_BYTES);
        params[n++] =
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, priv, sizeof(priv));
    }
    params[n] = OSSL_PARAM_construct_end();
    ok = n > 0 && param_cb(params, cbarg);
    OPENSSL_cleanse(priv, sizeof(priv));
    return ok;
}

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
    struct pq_key *key = keydata;
    OSSL_PARAM *p;

    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) != NULL &&
        !OSSL_PARAM_set_int(p, 8 * PQ_CLIENT_SHARE_BYTES))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) != NULL &&
        !OSSL_PARAM_set_int(p, PQ_SECURITY_BITS))
        return 0;
    /* The largest output of an operation with the key: the server share. */
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) != NULL &&
        !OSSL_PARAM_set_int(p, PQ_SERVER_SHARE_BYTES))
        return 0;
    /* Left unmodified (so the caller sees a failure) when there is no
     * public key yet. With data == NULL this only reports the size. */
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY)) != NULL &&
        key->has_pub && !OSSL_PARAM_set_octet_string(p, key->pub, sizeof(key->pub)))
        return 0;
    return 1;
}

static const OSSL_PARAM *km_gettable_params(void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_END,
    };
    return gettable;
}

/* libssl puts the client's key share in here on the server
 * (EVP_PKEY_set1_encoded_public_key); a failure makes it abort the
 * handshake with illegal_parameter. */
static int km_set_params(void *keydata, const OSSL_PARAM params[])
{
    struct pq_key *key = keydata;
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);

    if (p == NULL)
        return 1;
    if (p->data_type != OSSL_PARAM_OCTET_STRING || p->data == NULL)
        return 0;
    return key_set_public(key, p->data, p->data_size);
}

static const OSSL_PARAM *km_settable_params(void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_END,
    };
    return settable;
}

/* ---- generation ---- */

static int km_gen_set_params(void *genctx, const OSSL_PARAM params[])
{
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
    const char *name = NULL;

    if (genctx == NULL)
        return 0;
    if (p == NULL)
        return 1;
    /* libssl names the group (EVP_PKEY_CTX_set_group_name); there is one. */
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || strcasecmp(name, PQ_GROUP_NAME) != 0) {
        ERR_raise_data(ERR_LIB_PROV, PROV_R_NOT_SUPPORTED, "group %s", name ? name : "?");
        return 0;
    }
    return 1;
}

static const OSSL_PARAM *km_gen_settable_params(void *genctx, void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_END,
    };
    return settable;
}

static void *km_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    struct pq_gen *gen = OPENSSL_zalloc(sizeof(*gen));

    if (gen == NULL)
        return NULL;
    gen->libctx = ((struct pq_provctx *)provctx)->libctx;
    gen->selection = selection;
    if (!km_gen_set_params(gen, params)) {
        OPENSSL_free(gen);
        return NULL;
    }
    return gen;
}

/* With a key pair selected (EVP_PKEY_keygen: the client's share) this makes
 * a fresh key pair; with parameters only (EVP_PKEY_paramgen: the server's
 * holder for the client's share) an empty key. */
static void *km_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
    struct pq_gen *gen = genctx;
    struct pq_key *key = key_new(gen->libctx);

    if (key == NULL || (gen->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
        return key;
    if (mlkem768_keygen(key->pub, key->dk) != 0) {
        ERR_raise_data(ERR_LIB_PROV, PROV_R_FAILED_TO_GENERATE_KEY, "ML-KEM-768 key generation");
        km_free(key);
        return NULL;
    }
    if (x25519_keygen(gen->libctx, key->x25519_priv, key->pub + MLKEM768_EK_BYTES) != 0) {
        km_free(key);
        return NULL;
    }
    key->has_pub = key->has_priv = 1;
    return key;
}

static void km_gen_cleanup(void *genctx)
{
    OPENSSL_free(genctx);
}

static const char *km_query_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_KEM ? PQ_GROUP_NAME : NULL;
}

const OSSL_DISPATCH pq_keymgmt_functions[] = {
    { OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new },
    { OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free },
    { OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup },
    { OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has },
    { OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match },
    { OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import },
    { OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))km_import_export_types },
    { OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export },
    { OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_import_export_types },
    { OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params },
    { OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_gettable_params },
    { OSSL_FUNC_KEYMGMT_SET_PARAMS, (void (*)(void))km_set_params },
    { OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, (void (*)(void))km_settable_params },
    { OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))km_gen_init },
    { OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))km_gen_set_params },
    { OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))km_gen_settable_params },
    { OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))km_gen },
    { OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))km_gen_cleanup },
    { OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))km_query_operation_name },
    { 0, NULL },
};
