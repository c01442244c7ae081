#include "acme/client.h"

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme/challenge.h"
#include "acme/http.h"
#include "acme/jws.h"
#include "log/log.h"
#include "util/base64url.h"

#define NONCE_RETRIES 3
#define POLL_INTERVAL_MS 500
#define POLL_MAX 120 /* a minute of polling for a challenge or a finalize */

int acme_client_init(struct acme_client *c, const char *dir_url, const char *email,
                     EVP_PKEY *account_key, atomic_bool *stop)
{
    memset(c, 0, sizeof(*c));
    c->stop = stop;
    c->account_key = account_key;
    c->http = acme_http_new(stop);
    c->dir_url = strdup(dir_url);
    c->email = strdup(email);
    if (!c->http || !c->dir_url || !c->email ||
        jws_thumbprint(account_key, c->thumbprint, sizeof(c->thumbprint)) < 0) {
        acme_client_free(c);
        return -1;
    }
    return 0;
}

void acme_client_free(struct acme_client *c)
{
    acme_http_free(c->http);
    free(c->dir_url);
    free(c->email);
    memset(c, 0, sizeof(*c));
}

static bool stopped(struct acme_client *c)
{
    return c->stop && atomic_load(c->stop);
}

/* Sleeps ms unless stopped meanwhile. Returns false when stopped. */
static bool pause_ms(struct acme_client *c, unsigned ms)
{
    for (unsigned waited = 0; waited < ms; waited += 50) {
        if (stopped(c))
            return false;
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return !stopped(c);
}

/* "HTTP <status>: <problem>" for an unexpected answer. */
static void bad_status(const char *what, const struct acme_resp *r, char *err, size_t errlen)
{
    char problem[512];
    acme_json_problem(r->body, r->len, problem, sizeof(problem));
    snprintf(err, errlen, "%s: HTTP %ld (%s)", what, r->status, problem);
}

static int get_directory(struct acme_client *c, char *err, size_t errlen)
{
    if (c->have_dir)
        return 0;
    struct acme_resp r;
    char why[512];
    if (acme_http_request(c->http, c->dir_url, NULL, false, &r, err, errlen) < 0)
        return -1;
    int ret = -1;
    if (r.status != 200)
        bad_status("directory", &r, err, errlen);
    else if (acme_json_directory(r.body, r.len, &c->dir, why, sizeof(why)) < 0)
        snprintf(err, errlen, "directory %s: %s", c->dir_url, why);
    else
        ret = 0;
    acme_resp_free(&r);
    c->have_dir = ret == 0;
    return ret;
}

static int fresh_nonce(struct acme_client *c, char *err, size_t errlen)
{
    struct acme_resp r;
    if (acme_http_request(c->http, c->dir.new_nonce, NULL, true, &r, err, errlen) < 0)
        return -1;
    int ret = 0;
    if ((r.status != 200 && r.status != 204) || !r.nonce[0]) {
        snprintf(err, errlen, "newNonce: HTTP %ld%s", r.status,
                 r.nonce[0] ? "" : " without a Replay-Nonce");
        ret = -1;
    } else {
        snprintf(c->nonce, sizeof(c->nonce), "%s", r.nonce);
    }
    acme_resp_free(&r);
    return ret;
}

/* A signed POST (payload "" = POST-as-GET), retried on badNonce. */
static int post(struct acme_client *c, const char *url, const char *payload, bool use_jwk,
                struct acme_resp *r, char *err, size_t errlen)
{
    for (int attempt = 0;; attempt++) {
        if (stopped(c)) {
            snprintf(err, errlen, "stopped");
            return -1;
        }
        if (!c->nonce[0] && fresh_nonce(c, err, errlen) < 0)
            return -1;
        char *body = jws_sign(c->account_key, use_jwk ? NULL : c->kid, c->nonce, url, payload);
        c->nonce[0] = '\0'; /* a nonce is used once */
        if (!body) {
            snprintf(err, errlen, "%s: cannot sign the request", url);
            return -1;
        }
        int rc = acme_http_request(c->http, url, body, false, r, err, errlen);
        free(body);
        if (rc < 0)
            return -1;
        if (r->nonce[0])
            snprintf(c->nonce, sizeof(c->nonce), "%s", r->nonce);
        char problem[512];
        if (r->status == 400 && attempt + 1 < NONCE_RETRIES &&
            acme_json_problem(r->body, r->len, problem, sizeof(problem)) == 0 &&
            strncmp(problem, "urn:ietf:params:acme:error:badNonce", 35) == 0) {
            log_debug("rpxy ACME: badNonce from %s, retrying", url);
            acme_resp_free(r);
            continue;
        }
        return 0;
    }
}

/* A JSON payload as compact text (malloc'd), consuming j. */
static char *dump(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static int get_account(struct acme_client *c, char *err, size_t errlen)
{
    if (c->kid[0])
        return 0;
    char contact[1024];
    snprintf(contact, sizeof(contact), "mailto:%s", c->email);
    char *payload = dump(json_pack("{s:b, s:[s]}", "termsOfServiceAgreed", 1, "contact", contact));
    if (!payload) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct acme_resp r;
    int rc = post(c, c->dir.new_account, payload, true, &r, err, errlen);
    free(payload);
    if (rc < 0)
        return -1;
    int ret = -1;
    if (r.status != 200 && r.status != 201)
        bad_status("newAccount", &r, err, errlen);
    else if (!r.location[0])
        snprintf(err, errlen, "newAccount: no Location in the answer");
    else {
        snprintf(c->kid, sizeof(c->kid), "%s", r.location);
        log_info("rpxy ACME event: %s kid=%s", r.status == 201 ? "NewAccount" : "AccountFound",
                 c->kid);
        ret = 0;
    }
    acme_resp_free(&r);
    return ret;
}

/* POST-as-GET of an order or authorization, parsed into out. */
static int fetch(struct acme_client *c, const char *what, const char *url,
                 int (*parse)(const char *, size_t, void *, char *, size_t), void *out, char *err,
                 size_t errlen)
{
    struct acme_resp r;
    char why[512];
    if (post(c, url, "", false, &r, err, errlen) < 0)
        return -1;
    int ret = -1;
    if (r.status != 200)
        bad_status(what, &r, err, errlen);
    else if (parse(r.body, r.len, out, why, sizeof(why)) < 0)
        snprintf(err, errlen, "%s %s: %s", what, url, why);
    else
        ret = 0;
    acme_resp_free(&r);
    return ret;
}

static int parse_authz(const char *body, size_t len, void *out, char *err, size_t errlen)
{
    return acme_json_authz(body, len, out, err, errlen);
}

static int parse_order(const char *body, size_t len, void *out, char *err, size_t errlen)
{
    return acme_json_order(body, len, out, err, errlen);
}

static int fetch_authz(struct acme_client *c, const char *url, struct acme_authz *a, char *err,
                       size_t errlen)
{
    return fetch(c, "authorization", url, parse_authz, a, err, errlen);
}

static int fetch_order(struct acme_client *c, const char *url, struct acme_order *o, char *err,
                       size_t errlen)
{
    return fetch(c, "order", url, parse_order, o, err, errlen);
}

/* Answers one pending authorization and waits until it is decided. */
static int authorize(struct acme_client *c, const char *domain, const char *url, bool http01,
                     char *err, size_t errlen)
{
    struct acme_authz a;
    if (fetch_authz(c, url, &a, err, errlen) < 0)
        return -1;
    if (a.status == ACME_ST_VALID)
        return 0;
    if (a.status != ACME_ST_PENDING) {
        snprintf(err, errlen, "authorization for %s is %s", a.identifier,
                 acme_status_name(a.status));
        return -1;
    }
    if (strcmp(a.identifier, domain) != 0) {
        snprintf(err, errlen, "authorization for %s in the order for %s", a.identifier, domain);
        return -1;
    }
    const struct acme_challenge_ref *ch = http01 ? &a.http : &a.tls_alpn;
    const char *type = http01 ? "http-01" : "tls-alpn-01";
    if (!ch->url[0]) {
        snprintf(err, errlen, "the CA offers no %s challenge for %s", type, domain);
        return -1;
    }
    char key_auth[ACME_TOKEN_MAX + 64], token[ACME_TOKEN_MAX];
    snprintf(token, sizeof(token), "%s", ch->token);
    snprintf(key_auth, sizeof(key_auth), "%s.%s", ch->token, c->thumbprint);
    if ((http01 ? acme_challenge_set_http(token, key_auth)
                : acme_challenge_set_tls(domain, key_auth)) < 0) {
        snprintf(err, errlen, "cannot set up the %s answer for %s", type, domain);
        return -1;
    }
    int ret = -1;
    struct acme_resp r;
    char challenge_url[ACME_URL_MAX];
    snprintf(challenge_url, sizeof(challenge_url), "%s", ch->url);
    if (post(c, challenge_url, "{}", false, &r, err, errlen) < 0)
        goto done;
    if (r.status != 200) {
        bad_status("challenge", &r, err, errlen);
        acme_resp_free(&r);
        goto done;
    }
    acme_resp_free(&r);
    for (int i = 0; i < POLL_MAX; i++) {
        if (!pause_ms(c, POLL_INTERVAL_MS)) {
            snprintf(err, errlen, "stopped");
            goto done;
        }
        if (fetch_authz(c, url, &a, err, errlen) < 0)
            goto done;
        if (a.status == ACME_ST_VALID) {
            ret = 0;
            goto done;
        }
        if (a.status != ACME_ST_PENDING) {
            const struct acme_challenge_ref *got = http01 ? &a.http : &a.tls_alpn;
            snprintf(err, errlen, "%s challenge for %s failed: authorization %s%s%s", type, domain,
                     acme_status_name(a.status), got->error[0] ? ": " : "", got->error);
            goto done;
        }
    }
    snprintf(err, errlen, "%s challenge for %s: no decision from the CA in time", type, domain);
done:
    if (http01)
        acme_challenge_clear_http(token);
    else
        acme_challenge_clear_tls(domain);
    return ret;
}

/* A CSR (DER, base64url) for domain with key. NULL on failure. */
static char *csr_b64(const char *domain, EVP_PKEY *key)
{
    X509_REQ *req = X509_REQ_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    char san[300];
    snprintf(san, sizeof(san), "DNS:%s", domain);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
    char *out = NULL;
    unsigned char *der = NULL;
    int len = 0;
    if (req && exts && ext && sk_X509_EXTENSION_push(exts, ext) &&
        X509_REQ_set_version(req, 0) == 1 &&
        X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
                                   (const unsigned char *)domain, -1, -1, 0) == 1 &&
        X509_REQ_set_pubkey(req, key) == 1 && X509_REQ_add_extensions(req, exts) == 1 &&
        X509_REQ_sign(req, key, EVP_sha256()) > 0 && (len = i2d_X509_REQ(req, &der)) > 0) {
        ext = NULL; /* owned by exts now */
        out = malloc(b64url_encoded_len((size_t)len) + 1);
        if (out)
            b64url_encode(der, (size_t)len, out);
    }
    if (ext && !sk_X509_EXTENSION_num(exts))
        X509_EXTENSION_free(ext);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    OPENSSL_free(der);
    X509_REQ_free(req);
    ERR_clear_error();
    return out;
}

/* The downloaded chain: PEM certificates whose leaf matches key and covers
 * domain. */
static int check_chain(const char *pem, size_t len, EVP_PKEY *key, const char *domain, char *err,
                       size_t errlen)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *leaf = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    int ret = -1;
    if (!leaf)
        snprintf(err, errlen, "certificate download for %s: no PEM certificate", domain);
    else if (X509_check_private_key(leaf, key) != 1)
        snprintf(err, errlen, "certificate download for %s: not for our key", domain);
    else if (X509_check_host(leaf, domain, strlen(domain), 0, NULL) != 1)
        snprintf(err, errlen, "certificate download for %s: does not cover the name", domain);
    else
        ret = 0;
    X509_free(leaf);
    ERR_clear_error();
    return ret;
}

/* PKCS#8 PEM of key, "\n", chain. */
static int build_file(EVP_PKEY *key, const char *chain, size_t chain_len, char **out,
                      size_t *out_len)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1 ||
        BIO_write(b, "\n", 1) != 1 || BIO_write(b, chain, (int)chain_len) != (int)chain_len) {
        BIO_free(b);
        return -1;
    }
    char *data;
    long n = BIO_get_mem_data(b, &data);
    *out = malloc((size_t)n + 1);
    if (*out) {
        memcpy(*out, data, (size_t)n);
        (*out)[n] = '\0';
        *out_len = (size_t)n;
    }
    OPENSSL_cleanse(data, (size_t)n);
    BIO_free(b);
    return *out ? 0 : -1;
}

static int finalize(struct acme_client *c, const char *domain, const char *order_url,
                    struct acme_order *o, char **pem, size_t *len, char *err, size_t errlen)
{
    EVP_PKEY *key = jws_key_new();
    char *csr = key ? csr_b64(domain, key) : NULL;
    char *payload = csr ? dump(json_pack("{s:s}", "csr", csr)) : NULL;
    free(csr);
    int ret = -1;
    struct acme_resp r = { 0 };
    if (!payload) {
        snprintf(err, errlen, "cannot make the CSR for %s", domain);
        goto done;
    }
    if (post(c, o->finalize, payload, false, &r, err, errlen) < 0)
        goto done;
    if (r.status != 200) {
        bad_status("finalize", &r, err, errlen);
        goto done;
    }
    acme_resp_free(&r);
    for (int i = 0; o->status != ACME_ST_VALID; i++) {
        if (i == POLL_MAX) {
            snprintf(err, errlen, "order for %s: not issued in time", domain);
            goto done;
        }
        if (i && !pause_ms(c, POLL_INTERVAL_MS)) {
            snprintf(err, errlen, "stopped");
            goto done;
        }
        if (fetch_order(c, order_url, o, err, errlen) < 0)
            goto done;
        if (o->status == ACME_ST_INVALID || o->status == ACME_ST_OTHER ||
            o->status == ACME_ST_PENDING) {
            snprintf(err, errlen, "order for %s is %s after finalize", domain,
                     acme_status_name(o->status));
            goto done;
        }
    }
    if (!o->certificate[0]) {
        snprintf(err, errlen, "order for %s is valid but names no certificate", domain);
        goto done;
    }
    if (post(c, o->certificate, "", false, &r, err, errlen) < 0)
        goto done;
    if (r.status != 200) {
        bad_status("certificate download", &r, err, errlen);
        goto done;
    }
    if (check_chain(r.body, r.len, key, domain, err, errlen) < 0)
        goto done;
    if (build_file(key, r.body, r.len, pem, len) < 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    ret = 0;
done:
    acme_resp_free(&r);
    free(payload);
    EVP_PKEY_free(key);
    return ret;
}

int acme_client_issue(struct acme_client *c, const char *domain, bool http01, char **pem,
                      size_t *len, char *err, size_t errlen)
{
    if (get_directory(c, err, errlen) < 0 || get_account(c, err, errlen) < 0)
        return -1;
    char *payload =
        dump(json_pack("{s:[{s:s, s:s}]}", "identifiers", "type", "dns", "value", domain));
    if (!payload) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct acme_resp r;
    int rc = post(c, c->dir.new_order, payload, false, &r, err, errlen);
    free(payload);
    if (rc < 0)
        return -1;
    struct acme_order o;
    char why[512], order_url[ACME_URL_MAX];
    if (r.status != 201) {
        bad_status("newOrder", &r, err, errlen);
        /* an account the CA forgot (a reset test CA): look it up again next time */
        if (r.status == 400 && strstr(r.body, "accountDoesNotExist"))
            c->kid[0] = '\0';
        acme_resp_free(&r);
        return -1;
    }
    if (!r.location[0] || strlen(r.location) >= sizeof(order_url)) {
        snprintf(err, errlen, "newOrder: no Location in the answer");
        acme_resp_free(&r);
        return -1;
    }
    snprintf(order_url, sizeof(order_url), "%s", r.location);
    rc = acme_json_order(r.body, r.len, &o, why, sizeof(why));
    acme_resp_free(&r);
    if (rc < 0) {
        snprintf(err, errlen, "newOrder for %s: %s", domain, why);
        return -1;
    }
    log_info("rpxy ACME event: NewOrder domain=\"%s\" status=%s", domain,
             acme_status_name(o.status));
    if (o.status == ACME_ST_INVALID || o.status == ACME_ST_OTHER) {
        snprintf(err, errlen, "new order for %s is %s", domain, acme_status_name(o.status));
        return -1;
    }
    for (size_t i = 0; i < o.n_authz; i++)
        if (authorize(c, domain, o.authz[i], http01, err, errlen) < 0)
            return -1;
    log_info("rpxy ACME event: AuthorizationsValid domain=\"%s\"", domain);
    /* the order turns ready once its authorizations are valid */
    for (int i = 0; o.status != ACME_ST_READY && o.status != ACME_ST_VALID; i++) {
        if (fetch_order(c, order_url, &o, err, errlen) < 0)
            return -1;
        if (o.status == ACME_ST_READY || o.status == ACME_ST_VALID)
            break;
        if (o.status != ACME_ST_PENDING || i == POLL_MAX) {
            snprintf(err, errlen, "order for %s is %s, not ready", domain,
                     acme_status_name(o.status));
            return -1;
        }
        if (!pause_ms(c, POLL_INTERVAL_MS)) {
            snprintf(err, errlen, "stopped");
            return -1;
        }
    }
    if (o.status == ACME_ST_VALID && o.certificate[0]) {
        snprintf(err, errlen, "order for %s was finalized by someone else", domain);
        return -1;
    }
    return finalize(c, domain, order_url, &o, pem, len, err, errlen);
}
