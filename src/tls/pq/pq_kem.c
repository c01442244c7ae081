/* The KEM operation for X25519MLKEM768 in the rpxy-pq provider: the adapter
 * between EVP_PKEY_encapsulate / EVP_PKEY_decapsulate (libssl's
 * ssl_encapsulate on the server, ssl_decapsulate on the client) and the
 * hybrid operations in pq_keymgmt.c. Each call first asks for the sizes
 * (out == NULL), then does the work.
 */
#include "tls/pq/provider.h"

#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/proverr.h>

enum kem_op { KEM_NONE, KEM_ENCAPS, KEM_DECAPS };

struct kem_ctx {
    /* Borrowed: the EVP_PKEY_CTX holds the EVP_PKEY, so the key outlives
     * this context. */
    const struct pq_key *key;
    enum kem_op op;
};

static void *kem_newctx(void *provctx)
{
    return OPENSSL_zalloc(sizeof(struct kem_ctx));
}

static void kem_freectx(void *vctx)
{
    OPENSSL_free(vctx);
}

static void *kem_dupctx(void *vctx)
{
    struct kem_ctx *dup = OPENSSL_malloc(sizeof(*dup));

    if (dup != NULL)
        *dup = *(struct kem_ctx *)vctx;
    return dup;
}

static int kem_init(void *vctx, void *provkey, enum kem_op op)
{
    struct kem_ctx *ctx = vctx;

    if (ctx == NULL || provkey == NULL) {
        ERR_raise(ERR_LIB_PROV, PROV_R_MISSING_KEY);
        return 0;
    }
    ctx->key = provkey;
    ctx->op = op;
    return 1;
}

static int kem_encapsulate_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return kem_init(vctx, provkey, KEM_ENCAPS);
}

static int kem_decapsulate_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return kem_init(vctx, provkey, KEM_DECAPS);
}

/* out: the server share (ciphertext), secret: the shared secret. With
 * out == NULL only the sizes are returned. */
static int kem_encapsulate(void *vctx, unsigned char *out, size_t *outlen, unsigned char *secret,
                           size_t *secretlen)
{
    struct kem_ctx *ctx = vctx;

    if (ctx->op != KEM_ENCAPS) {
        ERR_raise(ERR_LIB_PROV, PROV_R_MISSING_KEY);
        return 0;
    }
    if (out == NULL) {
        if (outlen == NULL && secretlen == NULL)
            return 0;
        if (outlen != NULL)
            *outlen = PQ_SERVER_SHARE_BYTES;
        if (secretlen != NULL)
            *secretlen = PQ_SECRET_BYTES;
        return 1;
    }
    if (secret == NULL || (outlen != NULL && *outlen < PQ_SERVER_SHARE_BYTES) ||
        (secretlen != NULL && *secretlen < PQ_SECRET_BYTES)) {
        ERR_raise(ERR_LIB_PROV, PROV_R_OUTPUT_BUFFER_TOO_SMALL);
        return 0;
    }
    if (pq_key_encaps(ctx->key, out, secret) != 0)
        return 0;
    if (outlen != NULL)
        *outlen = PQ_SERVER_SHARE_BYTES;
    if (secretlen != NULL)
        *secretlen = PQ_SECRET_BYTES;
    return 1;
}

/* out: the shared secret, in: the server share. With out == NULL only the
 * size is returned. */
static int kem_decapsulate(void *vctx, unsigned char *out, size_t *outlen, const unsigned char *in,
                           size_t inlen)
{
    struct kem_ctx *ctx = vctx;

    if (ctx->op != KEM_DECAPS) {
        ERR_raise(ERR_LIB_PROV, PROV_R_MISSING_KEY);
        return 0;
    }
    if (outlen == NULL)
        return 0;
    if (out == NULL) {
        *outlen = PQ_SECRET_BYTES;
        return 1;
    }
    if (*outlen < PQ_SECRET_BYTES) {
        ERR_raise(ERR_LIB_PROV, PROV_R_OUTPUT_BUFFER_TOO_SMALL);
        return 0;
    }
    if (in == NULL || pq_key_decaps(ctx->key, in, inlen, out) != 0)
        return 0;
    *outlen = PQ_SECRET_BYTES;
    return 1;
}

const OSSL_DISPATCH pq_kem_functions[] = {
    { OSSL_FUNC_KEM_NEWCTX, (void (*)(void))kem_newctx },
    { OSSL_FUNC_KEM_FREECTX, (void (*)(void))kem_freectx },
    { OSSL_FUNC_KEM_DUPCTX, (void (*)(void))kem_dupctx },
    { OSSL_FUNC_KEM_ENCAPSULATE_INIT, (void (*)(void))kem_encapsulate_init },
    { OSSL_FUNC_KEM_ENCAPSULATE, (void (*)(void))kem_encapsulate },
    { OSSL_FUNC_KEM_DECAPSULATE_INIT, (void (*)(void))kem_decapsulate_init },
    { OSSL_FUNC_KEM_DECAPSULATE, (void (*)(void))kem_decapsulate },
    { 0, NULL },
};
