/* The rpxy-pq provider: its entry point, the algorithms it offers (a key
 * manager and a KEM, both named X25519MLKEM768), the "TLS-GROUP" capability
 * that makes libssl (3.0 to 3.4) offer the group, and pq_provider_init which
 * registers and loads it. */
#include "tls/pq/provider.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/prov_ssl.h>
#include <openssl/provider.h>

#define OPENSSL_3_5 0x30500000L

/* ---- the TLS-GROUP capability (provider-base(7)) ---- */

/* OSSL_PARAM wants non-const pointers; libssl only reads these. */
static unsigned int group_id = PQ_GROUP_ID;
static unsigned int group_secbits = PQ_SECURITY_BITS;
static unsigned int group_is_kem = 1;
static int group_min_tls = TLS1_3_VERSION;
static int group_max_tls = 0;   /* no maximum */
static int group_min_dtls = -1; /* never with DTLS */
static int group_max_dtls = -1;

static const OSSL_PARAM group_params[] = {
    OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, PQ_GROUP_NAME, sizeof(PQ_GROUP_NAME)),
    OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL, PQ_GROUP_NAME,
                           sizeof(PQ_GROUP_NAME)),
    OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, PQ_GROUP_NAME, sizeof(PQ_GROUP_NAME)),
    OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &group_id),
    OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &group_secbits),
    OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &group_min_tls),
    OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &group_max_tls),
    OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &group_min_dtls),
    OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &group_max_dtls),
    OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_IS_KEM, &group_is_kem),
    OSSL_PARAM_END,
};

static int prov_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb,
                                 void *arg)
{
    if (strcasecmp(capability, "TLS-GROUP") == 0)
        return cb(group_params, arg);
    return 0;
}

/* ---- algorithms ---- */

static const OSSL_ALGORITHM prov_keymgmt[] = {
    { PQ_GROUP_NAME, "provider=" PQ_PROVIDER_NAME, pq_keymgmt_functions,
      "X25519MLKEM768 hybrid key (ML-KEM-768 + X25519)" },
    { NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM prov_kem[] = {
    { PQ_GROUP_NAME, "provider=" PQ_PROVIDER_NAME, pq_kem_functions,
      "X25519MLKEM768 hybrid KEM (ML-KEM-768 + X25519)" },
    { NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM *prov_query_operation(void *provctx, int operation_id, int *no_store)
{
    *no_store = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT: return prov_keymgmt;
    case OSSL_OP_KEM: return prov_kem;
    default: return NULL;
    }
}

static const OSSL_PARAM *prov_gettable_params(void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, NULL, 0),
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, NULL, 0),
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, NULL, 0),
        OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, NULL),
        OSSL_PARAM_END,
    };
    return gettable;
}

static int prov_get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, "rpxy X25519MLKEM768 provider"))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, RPXY_VERSION))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, "rpxy " RPXY_VERSION))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) != NULL &&
        !OSSL_PARAM_set_int(p, 1))
        return 0;
    return 1;
}

static void prov_teardown(void *provctx)
{
    OPENSSL_free(provctx);
}

static const OSSL_DISPATCH prov_functions[] = {
    { OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown },
    { OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))prov_gettable_params },
    { OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params },
    { OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query_operation },
    { OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))prov_get_capabilities },
    { 0, NULL },
};

/* OSSL_provider_init_fn for OSSL_PROVIDER_add_builtin. The provider is
 * linked into the same libcrypto as the core, so the core's library context
 * handle is a real OSSL_LIB_CTX (as for OpenSSL's own built-in providers):
 * the X25519 fetches go there, with a property query excluding this
 * provider. */
static int prov_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                     const OSSL_DISPATCH **out, void **provctx)
{
    OSSL_FUNC_core_get_libctx_fn *get_libctx = NULL;
    struct pq_provctx *ctx;

    for (; in != NULL && in->function_id != 0; in++)
        if (in->function_id == OSSL_FUNC_CORE_GET_LIBCTX)
            get_libctx = OSSL_FUNC_core_get_libctx(in);
    if (get_libctx == NULL)
        return 0;
    ctx = OPENSSL_zalloc(sizeof(*ctx));
    if (ctx == NULL)
        return 0;
    ctx->libctx = (OSSL_LIB_CTX *)get_libctx(handle);
    *provctx = ctx;
    *out = prov_functions;
    return 1;
}

/* ---- registration ---- */

enum pq_state { PQ_UNINIT, PQ_PROVIDER, PQ_BUILTIN, PQ_FAILED };

static pthread_mutex_t pq_lock = PTHREAD_MUTEX_INITIALIZER;
static enum pq_state pq_state = PQ_UNINIT;
static OSSL_PROVIDER *loaded_default, *loaded_pq;

int pq_provider_init(void)
{
    enum pq_state state;

    pthread_mutex_lock(&pq_lock);
    if (pq_state == PQ_UNINIT) {
        if (OpenSSL_version_num() >= OPENSSL_3_5) {
            pq_state = PQ_BUILTIN;
        } else if (OSSL_PROVIDER_add_builtin(NULL, PQ_PROVIDER_NAME, prov_init) &&
                   (loaded_default = OSSL_PROVIDER_load(NULL, "default")) != NULL &&
                   (loaded_pq = OSSL_PROVIDER_load(NULL, PQ_PROVIDER_NAME)) != NULL) {
            pq_state = PQ_PROVIDER;
        } else {
            pq_state = PQ_FAILED;
        }
    }
    state = pq_state;
    pthread_mutex_unlock(&pq_lock);
    return state == PQ_FAILED ? -1 : 0;
}

void pq_provider_free(void)
{
    pthread_mutex_lock(&pq_lock);
    if (loaded_pq)
        OSSL_PROVIDER_unload(loaded_pq);
    if (loaded_default)
        OSSL_PROVIDER_unload(loaded_default);
    loaded_pq = loaded_default = NULL;
    pq_state = PQ_UNINIT;
    pthread_mutex_unlock(&pq_lock);
}

const char *pq_provider_description(void)
{
    enum pq_state state;

    pthread_mutex_lock(&pq_lock);
    state = pq_state;
    pthread_mutex_unlock(&pq_lock);
    switch (state) {
    case PQ_PROVIDER:
        return "X25519MLKEM768: rpxy provider (ML-KEM-768 per FIPS 203 + OpenSSL X25519)";
    case PQ_BUILTIN: return "X25519MLKEM768: OpenSSL built-in";
    case PQ_FAILED: return "X25519MLKEM768: unavailable (the rpxy provider failed to load)";
    default: return "X25519MLKEM768: not initialised";
    }
}
