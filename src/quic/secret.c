#include "quic/secret.h"

#include <openssl/rand.h>
#include <pthread.h>

#include "tls/hkdf_label.h"

static uint8_t secret[32];
static int secret_ok;

static void secret_make(void)
{
    secret_ok = RAND_priv_bytes(secret, sizeof(secret)) == 1;
}

int quic_secret_derive(const char *label, const uint8_t *context, size_t context_len, uint8_t *out,
                       size_t out_len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, secret_make);
    if (!secret_ok)
        return -1;
    return tls13_hkdf_expand_label(tls13_suite_find(0x1301)->md, secret, sizeof(secret), label,
                                   context, context_len, out, out_len);
}

int quic_secret_reset_token(const ngtcp2_cid *cid, uint8_t *token)
{
    return quic_secret_derive("rpxy reset", cid->data, cid->datalen, token,
                              NGTCP2_STATELESS_RESET_TOKENLEN);
}
