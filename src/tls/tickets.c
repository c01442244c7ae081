#include "tls/tickets.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

struct ticket_key {
    bool valid;
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    uint64_t created_s;
};

static pthread_rwlock_t keys_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct ticket_key current, previous;
static int refuse_index = -1;
/* fetched once: EVP_aes_256_cbc() would be looked up by name per ticket */
static EVP_CIPHER *ticket_cipher;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void make_index(void)
{
    refuse_index = SSL_get_ex_new_index(0, "rpxy: no tickets", NULL, NULL, NULL);
}

static uint64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec;
}

static int new_key(struct ticket_key *k)
{
    if (RAND_bytes(k->name, sizeof(k->name)) != 1 || RAND_priv_bytes(k->aes, sizeof(k->aes)) != 1 ||
        RAND_priv_bytes(k->hmac, sizeof(k->hmac)) != 1)
        return -1;
    k->valid = true;
    k->created_s = mono_s();
    return 0;
}

int tickets_init(void)
{
    pthread_once(&index_once, make_index);
    pthread_rwlock_wrlock(&keys_lock);
    if (!ticket_cipher)
        ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    int r = !ticket_cipher ? -1 : current.valid ? 0 : new_key(&current);
    pthread_rwlock_unlock(&keys_lock);
    return r;
}

int tickets_rotate(void)
{
    struct ticket_key k;
    if (new_key(&k) < 0)
        return -1;
    pthread_rwlock_wrlock(&keys_lock);
    previous = current;
    current = k;
    pthread_rwlock_unlock(&keys_lock);
    OPENSSL_cleanse(&k, sizeof(k));
    return 0;
}

void tickets_rotate_if_due(uint64_t now_s)
{
    pthread_rwlock_rdlock(&keys_lock);
    bool due = current.valid && now_s >= current.created_s + TICKET_ROTATE_S;
    pthread_rwlock_unlock(&keys_lock);
    if (due)
        tickets_rotate();
}

void tickets_free(void)
{
    pthread_rwlock_wrlock(&keys_lock);
    OPENSSL_cleanse(&current, sizeof(current));
    OPENSSL_cleanse(&previous, sizeof(previous));
    EVP_CIPHER_free(ticket_cipher);
    ticket_cipher = NULL;
    pthread_rwlock_unlock(&keys_lock);
}

void tickets_refuse(SSL *ssl)
{
    pthread_once(&index_once, make_index);
    SSL_set_ex_data(ssl, refuse_index, (void *)1);
}

static int set_keys(const struct ticket_key *k, EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx,
                    unsigned char *iv, int enc)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(hctx, k->hmac, sizeof(k->hmac), params) != 1)
        return -1;
    if (EVP_CipherInit_ex(cctx, ticket_cipher, NULL, k->aes, iv, enc) != 1)
        return -1;
    return 0;
}

/* OpenSSL's ticket callback: enc = 1 to seal a new ticket, 0 to open one.
 * Returns 1 (ok), 2 (ok, issue a fresh ticket), 0 (unknown key: full
 * handshake) or -1 (error). */
static int ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                     EVP_MAC_CTX *hctx, int enc)
{
    if (refuse_index >= 0 && SSL_get_ex_data(ssl, refuse_index))
        return 0;
    int r = -1;
    pthread_rwlock_rdlock(&keys_lock);
    if (enc) {
        if (current.valid && RAND_bytes(iv, EVP_CIPHER_get_iv_length(ticket_cipher)) == 1) {
            memcpy(key_name, current.name, 16);
            r = set_keys(&current, cctx, hctx, iv, 1) == 0 ? 1 : -1;
        }
    } else if (current.valid && memcmp(key_name, current.name, 16) == 0) {
        /* 2, not 1: a resumed handshake gets a fresh ticket too; TLS 1.3
         * clients (browsers, OpenSSL) use each ticket only once */
        r = set_keys(&current, cctx, hctx, iv, 0) == 0 ? 2 : -1;
    } else if (previous.valid && memcmp(key_name, previous.name, 16) == 0) {
        r = set_keys(&previous, cctx, hctx, iv, 0) == 0 ? 2 : -1;
    } else {
        r = 0;
    }
    pthread_rwlock_unlock(&keys_lock);
    return r;
}

void tickets_attach(SSL_CTX *ctx)
{
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
    SSL_CTX_set_timeout(ctx, TICKET_LIFETIME_S);
}
