/* Sticky sessions: server-ids, token seal/open and the Set-Cookie value. */
#include "upstream/sticky.h"
#include "util/utf8.h"

#include "util/base64url.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STICKY_VERSION 0x01
#define STICKY_NONCE_LEN 12
#define STICKY_TAG_LEN 16
#define STICKY_EXPIRES_LEN 8
#define STICKY_AAD_LABEL "rpxy-sticky-v1"
/* Bytes before the ciphertext: version and nonce. */
#define STICKY_HEAD_LEN (1 + STICKY_NONCE_LEN)
#define STICKY_PLAIN_MAX (STICKY_EXPIRES_LEN + STICKY_PAYLOAD_MAX)

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range of "%Y" without
 * a sign, as rpxy's chrono formatting writes it. */
#define STICKY_TIME_MIN (-62167219200LL)
#define STICKY_TIME_MAX 253402300799LL

/* Per thread: one AES-256-GCM context and the key it is scheduled with, so
 * a call re-keys only when the route's key differs from the last one. */
static _Thread_local EVP_CIPHER_CTX *sticky_tls_ctx;
static _Thread_local uint8_t sticky_tls_key[STICKY_KEY_LEN];
static _Thread_local bool sticky_tls_keyed;

/* Prepares the calling thread's context for one message with key and nonce;
 * enc: 1 to seal, 0 to open. Returns the context or NULL. */
static EVP_CIPHER_CTX *sticky_ctx(const uint8_t key[STICKY_KEY_LEN], const uint8_t *nonce, int enc)
{
    if (!sticky_tls_ctx) {
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        if (!ctx)
            return NULL;
        if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, 1) != 1) {
            EVP_CIPHER_CTX_free(ctx);
            return NULL;
        }
        sticky_tls_ctx = ctx;
        sticky_tls_keyed = false;
    }
    bool same = sticky_tls_keyed && CRYPTO_memcmp(sticky_tls_key, key, STICKY_KEY_LEN) == 0;
    if (EVP_CipherInit_ex(sticky_tls_ctx, NULL, NULL, same ? NULL : key, nonce, enc) != 1) {
        sticky_tls_keyed = false;
        return NULL;
    }
    if (!same) {
        memcpy(sticky_tls_key, key, STICKY_KEY_LEN);
        sticky_tls_keyed = true;
    }
    return sticky_tls_ctx;
}

void sticky_thread_cleanup(void)
{
    EVP_CIPHER_CTX_free(sticky_tls_ctx);
    sticky_tls_ctx = NULL;
    OPENSSL_cleanse(sticky_tls_key, sizeof sticky_tls_key);
    sticky_tls_keyed = false;
}

static void sticky_put_be64(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)u;
        u >>= 8;
    }
}

static int64_t sticky_get_be64(const uint8_t *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | p[i];
    /* two's complement reinterpretation, without implementation-defined casts */
    if (u <= (uint64_t)INT64_MAX)
        return (int64_t)u;
    return -(int64_t)(~u) - 1;
}

long sticky_upstream_uri(bool tls, const char *location, char *out, size_t cap)
{
    const char *scheme = tls ? "https://" : "http://";
    size_t slen = strlen(scheme), llen = strlen(location);
    bool add_slash = memchr(location, '/', llen) == NULL;
    size_t total = slen + llen + (add_slash ? 1 : 0);
    if (total >= cap || total > LONG_MAX)
        return -1;
    memcpy(out, scheme, slen);
    memcpy(out + slen, location, llen);
    if (add_slash)
        out[slen + llen] = '/';
    out[total] = '\0';
    return (long)total;
}

int sticky_server_id(const char *uri, size_t uri_len, size_t index,
                     char out[STICKY_SERVER_ID_LEN + 1])
{
    char suffix[32];
    int slen = snprintf(suffix, sizeof suffix, "&index=%zu", index);
    uint8_t md[32];
    unsigned mdlen = 0;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    int ok = mctx && EVP_DigestInit_ex(mctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(mctx, uri, uri_len) == 1 &&
             EVP_DigestUpdate(mctx, suffix, (size_t)slen) == 1 &&
             EVP_DigestFinal_ex(mctx, md, &mdlen) == 1 && mdlen == sizeof md;
    EVP_MD_CTX_free(mctx);
    if (!ok)
        return -1;
    b64url_encode(md, sizeof md, out);
    return 0;
}

static char *sticky_strdup_lower(const char *s, bool lower)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        d[i] = (lower && c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    d[n] = '\0';
    return d;
}

int sticky_route_init(struct sticky_route *r, const uint8_t key[STICKY_KEY_LEN],
                      const char *server_name, const char *path, const char *const *uris, size_t n,
                      const char **why)
{
    memset(r, 0, sizeof *r);
    const char *fail = NULL;
    if (n == 0) {
        fail = "no upstreams";
        goto out;
    }
    r->domain = sticky_strdup_lower(server_name, true);
    r->path = sticky_strdup_lower(path ? path : "/", false);
    r->ids = calloc(n, sizeof *r->ids);
    if (!r->domain || !r->path || !r->ids) {
        fail = "out of memory";
        goto out;
    }
    size_t dlen = strlen(r->domain), plen = strlen(r->path);
    size_t label = sizeof STICKY_AAD_LABEL - 1, name = sizeof STICKY_COOKIE_NAME - 1;
    r->aad_len = label + 1 + name + 1 + dlen + 1 + plen + 1;
    if (r->aad_len > INT_MAX) {
        fail = "cookie domain or path too long";
        goto out;
    }
    r->aad = malloc(r->aad_len);
    if (!r->aad) {
        fail = "out of memory";
        goto out;
    }
    uint8_t *p = r->aad;
    memcpy(p, STICKY_AAD_LABEL, label + 1); /* with its NUL separator */
    p += label + 1;
    memcpy(p, STICKY_COOKIE_NAME, name + 1);
    p += name + 1;
    memcpy(p, r->domain, dlen + 1);
    p += dlen + 1;
    memcpy(p, r->path, plen + 1);
    for (size_t i = 0; i < n; i++) {
        if (sticky_server_id(uris[i], strlen(uris[i]), i, r->ids[i]) < 0) {
            fail = "SHA-256 failed";
            goto out;
        }
    }
    r->n_ids = n;
    memcpy(r->key, key, STICKY_KEY_LEN);
out:
    if (fail) {
        sticky_route_free(r);
        if (why)
            *why = fail;
        return -1;
    }
    return 0;
}

void sticky_route_free(struct sticky_route *r)
{
    free(r->domain);
    free(r->path);
    free(r->aad);
    free(r->ids);
    OPENSSL_cleanse(r->key, sizeof r->key);
    memset(r, 0, sizeof *r);
}

long sticky_seal_raw(const uint8_t key[STICKY_KEY_LEN], const uint8_t *aad, size_t aad_len,
                     const uint8_t *id, size_t id_len, int64_t expires, char *out, size_t cap)
{
    if (id_len < STICKY_PAYLOAD_MIN || id_len > STICKY_PAYLOAD_MAX || aad_len > INT_MAX)
        return -1;
    size_t plain_len = STICKY_EXPIRES_LEN + id_len;
    size_t raw_len = STICKY_HEAD_LEN + plain_len + STICKY_TAG_LEN;
    size_t text_len = b64url_encoded_len(raw_len);
    if (cap < text_len + 1)
        return -1;

    uint8_t plain[STICKY_PLAIN_MAX], raw[STICKY_RAW_MAX];
    sticky_put_be64(plain, expires);
    memcpy(plain + STICKY_EXPIRES_LEN, id, id_len);
    raw[0] = STICKY_VERSION;

    EVP_CIPHER_CTX *ctx = NULL;
    int n = 0, fin = 0;
    int ok = RAND_bytes(raw + 1, STICKY_NONCE_LEN) == 1 &&
             (ctx = sticky_ctx(key, raw + 1, 1)) != NULL &&
             (aad_len == 0 || EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1) &&
             EVP_CipherUpdate(ctx, raw + STICKY_HEAD_LEN, &n, plain, (int)plain_len) == 1 &&
             EVP_CipherFinal_ex(ctx, raw + STICKY_HEAD_LEN + n, &fin) == 1 &&
             (size_t)n + (size_t)fin == plain_len &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, STICKY_TAG_LEN,
                                 raw + STICKY_HEAD_LEN + plain_len) == 1;
    OPENSSL_cleanse(plain, sizeof plain);
    if (!ok)
        return -1;
    b64url_encode(raw, raw_len, out);
    return (long)text_len;
}

long sticky_open_raw(const uint8_t key[STICKY_KEY_LEN], const uint8_t *aad, size_t aad_len,
                     const char *token, size_t len, int64_t now, uint8_t id_out[STICKY_PAYLOAD_MAX],
                     const char **why)
{
    const char *fail = NULL;
    uint8_t raw[STICKY_RAW_MAX], plain[STICKY_PLAIN_MAX];
    long raw_len = -1;
    size_t ct_len = 0;

    /* Text length bounds are exactly the decoded bounds: b64url text of
     * 51..391 characters decodes to 38..293 bytes. */
    if (len < STICKY_TOKEN_MIN || len > STICKY_TOKEN_MAX || aad_len > INT_MAX) {
        fail = "token length out of bounds";
        goto out;
    }
    const char *b64why = NULL;
    raw_len = b64url_decode(token, len, raw, sizeof raw, &b64why);
    if (raw_len < 0) {
        fail = "token is not base64url without padding";
        goto out;
    }
    if (raw_len < STICKY_RAW_MIN || raw_len > STICKY_RAW_MAX) {
        fail = "token length out of bounds";
        goto out;
    }
    if (raw[0] != STICKY_VERSION) {
        fail = "unknown token version";
        goto out;
    }

    ct_len = (size_t)raw_len - STICKY_HEAD_LEN - STICKY_TAG_LEN;
    uint8_t tag[STICKY_TAG_LEN];
    memcpy(tag, raw + STICKY_HEAD_LEN + ct_len, STICKY_TAG_LEN);
    EVP_CIPHER_CTX *ctx = sticky_ctx(key, raw + 1, 0);
    int n = 0, fin = 0;
    if (!ctx || (aad_len > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
        EVP_CipherUpdate(ctx, plain, &n, raw + STICKY_HEAD_LEN, (int)ct_len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, STICKY_TAG_LEN, tag) != 1 ||
        EVP_CipherFinal_ex(ctx, plain + n, &fin) != 1 || (size_t)n + (size_t)fin != ct_len) {
        fail = "token does not authenticate (other secret, app or path, or tampered)";
        goto out;
    }
    if (sticky_get_be64(plain) <= now) {
        fail = "token expired";
        goto out;
    }
    size_t id_len = ct_len - STICKY_EXPIRES_LEN;
    if (!utf8_valid(plain + STICKY_EXPIRES_LEN, id_len)) {
        fail = "token payload is not UTF-8";
        goto out;
    }
    memcpy(id_out, plain + STICKY_EXPIRES_LEN, id_len);
out:
    OPENSSL_cleanse(plain, sizeof plain);
    if (fail) {
        if (why)
            *why = fail;
        return -1;
    }
    return (long)(ct_len - STICKY_EXPIRES_LEN);
}

long sticky_seal(const struct sticky_route *r, size_t index, int64_t expires, char *out, size_t cap)
{
    if (index >= r->n_ids)
        return -1;
    return sticky_seal_raw(r->key, r->aad, r->aad_len, (const uint8_t *)r->ids[index],
                           STICKY_SERVER_ID_LEN, expires, out, cap);
}

long sticky_open(const struct sticky_route *r, const char *token, size_t len, int64_t now,
                 const char **why)
{
    uint8_t id[STICKY_PAYLOAD_MAX];
    long id_len = sticky_open_raw(r->key, r->aad, r->aad_len, token, len, now, id, why);
    if (id_len < 0)
        return -1;
    if (id_len == STICKY_SERVER_ID_LEN) {
        for (size_t i = 0; i < r->n_ids; i++)
            if (memcmp(id, r->ids[i], STICKY_SERVER_ID_LEN) == 0)
                return (long)i;
    }
    if (why)
        *why = "token names no upstream of this route";
    return -1;
}

/* Civil date of a day count since 1970-01-01 (proleptic Gregorian), by
 * 400-year eras of 146097 days starting on March 1st. */
static void sticky_civil(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
    days += 719468; /* days from 0000-03-01 to 1970-01-01 */
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);                       /* 0..146096 */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* 0..365 */
    unsigned mp = (5 * doy + 2) / 153;                                    /* March = 0 */
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (int64_t)yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

long sticky_set_cookie(const struct sticky_route *r, const char *token, size_t token_len,
                       int64_t expires, int64_t now, bool secure, char *out, size_t cap)
{
    static const char wdays[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    if (expires < STICKY_TIME_MIN || expires > STICKY_TIME_MAX || token_len > INT_MAX ||
        now < STICKY_TIME_MIN || now > STICKY_TIME_MAX)
        return -1;
    int64_t days = expires / 86400, secs = expires % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t year;
    unsigned month, day;
    sticky_civil(days, &year, &month, &day);
    int wday = (int)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */

    int w = snprintf(out, cap,
                     "%s=%.*s; expires=%s, %02u-%s-%04lld %02u:%02u:%02u GMT; Max-Age=%lld; "
                     "path=%s; domain=%s; HttpOnly; SameSite=Lax%s",
                     STICKY_COOKIE_NAME, (int)token_len, token, wdays[wday], day, months[month - 1],
                     (long long)year, (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
                     (unsigned)(secs % 60), (long long)(expires - now), r->path, r->domain,
                     secure ? "; Secure" : "");
    if (w < 0 || (size_t)w >= cap)
        return -1;
    return w;
}
