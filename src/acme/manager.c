#include "acme/manager.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme/challenge.h"
#include "acme/client.h"
#include "acme/jws.h"
#include "acme/registry.h"
#include "acme/schedule.h"
#include "config/config.h"
#include "log/log.h"

#define CERT_FILE_MAX (1u << 20)

struct acme_domain {
    char *name;
    bool http01;
    char path[4096];
    int64_t due_ms; /* next order, Unix milliseconds */
    unsigned failures;
};

struct acme_manager {
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *identity; /* the settings served, to notice changes */
    char *dir_url, *email;
    EVP_PKEY *account_key;
    struct acme_domain *domains;
    size_t n;
};

static struct acme_manager *running;
static atomic_bool changed;

bool acme_manager_take_changed(void)
{
    return atomic_exchange(&changed, false);
}

/* What decides whether a reload restarts the service. */
static char *identity_of(const struct cfg *cfg)
{
    size_t cap =
        64 + strlen(cfg->acme.dir_url) + strlen(cfg->acme.email) + strlen(cfg->acme.registry_path);
    for (size_t i = 0; i < cfg->n_apps; i++)
        cap += strlen(cfg->apps[i].server_name) + 16;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t n = (size_t)snprintf(s, cap, "%s\n%s\n%s\n", cfg->acme.dir_url, cfg->acme.email,
                                cfg->acme.registry_path);
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (cfg->apps[i].tls.enabled && cfg->apps[i].tls.acme)
            n += (size_t)snprintf(s + n, cap - n, "%s %s\n", cfg->apps[i].server_name,
                                  cfg->apps[i].tls.http01 ? "http-01" : "tls-alpn-01");
    return s;
}

static void manager_free(struct acme_manager *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->domains[i].name);
    free(m->domains);
    free(m->identity);
    free(m->dir_url);
    free(m->email);
    EVP_PKEY_free(m->account_key);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
}

/* The stored account key (PKCS#8, DER as rpxy stores it, or PEM), or a new
 * one stored at once. NULL after logging why. */
static EVP_PKEY *account_key(const struct cfg_acme *acme)
{
    char path[4200], err[512];
    if (acme_registry_account_path(acme, path, sizeof(path)) < 0) {
        log_error("rpxy ACME error: registry path too long");
        return NULL;
    }
    size_t len;
    char *data = acme_registry_read(path, 64 * 1024, &len);
    if (data) {
        const unsigned char *p = (const unsigned char *)data;
        EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, (long)len);
        if (!key) {
            BIO *b = BIO_new_mem_buf(data, (int)len);
            key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
            BIO_free(b);
        }
        OPENSSL_cleanse(data, len);
        free(data);
        ERR_clear_error();
        char jwk[160];
        if (key && jws_jwk(key, jwk, sizeof(jwk)) == 0) {
            log_info("rpxy ACME event: AccountCacheLoad");
            return key;
        }
        EVP_PKEY_free(key);
        log_error("rpxy ACME error: the cached account key %s is unusable (not a P-256 key); "
                  "creating a new account",
                  path);
    } else if (errno != ENOENT) {
        log_error("rpxy ACME error: cannot read the cached account key %s: %s", path,
                  strerror(errno));
    }
    EVP_PKEY *key = jws_key_new();
    unsigned char *der = NULL;
    /* PKCS#8 DER, as rpxy stores it */
    PKCS8_PRIV_KEY_INFO *p8 = key ? EVP_PKEY2PKCS8(key) : NULL;
    int der_len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (der_len <= 0) {
        ERR_clear_error();
        EVP_PKEY_free(key);
        log_error("rpxy ACME error: cannot create an account key");
        return NULL;
    }
    if (acme_registry_write(path, der, (size_t)der_len, err, sizeof(err)) < 0)
        log_error("rpxy ACME error: cannot store the account key: %s", err);
    else
        log_info("rpxy ACME event: AccountCacheStore");
    OPENSSL_clear_free(der, (size_t)der_len);
    return key;
}

/* The leaf of a cached certificate file, if the file is usable. */
static X509 *cached_leaf(const char *path, const char *domain, char *err, size_t errlen)
{
    size_t len;
    char *data = acme_registry_read(path, CERT_FILE_MAX, &len);
    if (!data) {
        snprintf(err, errlen, "%s", errno == ENOENT ? "" : strerror(errno));
        return NULL;
    }
    BIO *b = BIO_new_mem_buf(data, (int)len);
    EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    b = BIO_new_mem_buf(data, (int)len);
    X509 *leaf = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    OPENSSL_cleanse(data, len);
    free(data);
    if (!key || !leaf)
        snprintf(err, errlen, "no %s in it", key ? "certificate" : "private key");
    else if (X509_check_private_key(leaf, key) != 1)
        snprintf(err, errlen, "the key does not match the certificate");
    else if (X509_check_host(leaf, domain, strlen(domain), 0, NULL) != 1)
        snprintf(err, errlen, "the certificate does not cover %s", domain);
    else {
        EVP_PKEY_free(key);
        ERR_clear_error();
        return leaf;
    }
    EVP_PKEY_free(key);
    X509_free(leaf);
    ERR_clear_error();
    return NULL;
}

static void format_time(time_t t, char *out, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps until the Unix time `until_ms` or a stop. Returns false when
 * stopped. */
static bool wait_until(struct acme_manager *m, int64_t until_ms)
{
    struct timespec ts = { .tv_sec = (time_t)(until_ms / 1000),
                           .tv_nsec = (long)(until_ms % 1000) * 1000000L };
    pthread_mutex_lock(&m->mu);
    while (!atomic_load(&m->stop) && now_ms() < until_ms)
        if (pthread_cond_timedwait(&m->cv, &m->mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&m->mu);
    return !atomic_load(&m->stop);
}

static void schedule_renewal(struct acme_domain *d, X509 *leaf)
{
    char at[32];
    time_t renew = acme_renew_at(leaf);
    d->due_ms = (int64_t)renew * 1000;
    d->failures = 0;
    format_time(renew, at, sizeof(at));
    log_info("rpxy ACME event: RenewalScheduled domain=\"%s\" at=%s", d->name, at);
}

/* One order for d; the result stored, announced and scheduled. */
static void order_one(struct acme_manager *m, struct acme_client *c, struct acme_domain *d)
{
    char err[1024];
    char *pem = NULL;
    size_t len = 0;
    log_info("rpxy ACME event: OrderStart domain=\"%s\"", d->name);
    int rc = acme_client_issue(c, d->name, d->http01, &pem, &len, err, sizeof(err));
    if (rc == 0 && acme_registry_write(d->path, pem, len, err, sizeof(err)) < 0)
        rc = -1;
    if (pem)
        OPENSSL_cleanse(pem, len);
    free(pem);
    if (atomic_load(&m->stop))
        return;
    if (rc < 0) {
        d->failures++;
        uint32_t wait = acme_backoff_s(d->failures);
        d->due_ms = now_ms() + (int64_t)wait * 1000;
        log_error("rpxy ACME error: order for \"%s\" failed: %s (attempt %u, retrying in %u s)",
                  d->name, err, d->failures, wait);
        return;
    }
    log_info("rpxy ACME event: CertCacheStore domain=\"%s\" path=%s", d->name, d->path);
    atomic_store(&changed, true);
    log_info("rpxy ACME event: DeployedNewCert domain=\"%s\"", d->name);
    X509 *leaf = cached_leaf(d->path, d->name, err, sizeof(err));
    if (!leaf) {
        d->failures++;
        d->due_ms = now_ms() + (int64_t)acme_backoff_s(d->failures) * 1000;
        log_error("rpxy ACME error: the stored certificate for \"%s\" cannot be read back: %s",
                  d->name, err);
        return;
    }
    schedule_renewal(d, leaf);
    X509_free(leaf);
}

static void *run(void *arg)
{
    struct acme_manager *m = arg;
    for (size_t i = 0; i < m->n; i++) {
        struct acme_domain *d = &m->domains[i];
        char err[512];
        X509 *leaf = cached_leaf(d->path, d->name, err, sizeof(err));
        if (leaf) {
            log_info("rpxy ACME event: DeployedCachedCert domain=\"%s\"", d->name);
            schedule_renewal(d, leaf);
            X509_free(leaf);
        } else {
            if (err[0])
                log_error("rpxy ACME error: the cached certificate for \"%s\" (%s) is unusable: "
                          "%s; ordering a new one",
                          d->name, d->path, err);
            d->due_ms = 0;
        }
    }
    struct acme_client client;
    if (acme_client_init(&client, m->dir_url, m->email, m->account_key, &m->stop) < 0) {
        log_error("rpxy ACME error: cannot start the ACME client (out of memory)");
        return NULL;
    }
    while (!atomic_load(&m->stop)) {
        struct acme_domain *next = &m->domains[0];
        for (size_t i = 1; i < m->n; i++)
            if (m->domains[i].due_ms < next->due_ms)
                next = &m->domains[i];
        if (next->due_ms > now_ms()) {
            wait_until(m, next->due_ms);
            continue;
        }
        order_one(m, &client, next);
    }
    acme_client_free(&client);
    return NULL;
}

void acme_manager_stop(void)
{
    struct acme_manager *m = running;
    if (!m)
        return;
    running = NULL;
    pthread_mutex_lock(&m->mu);
    atomic_store(&m->stop, true);
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    manager_free(m);
    acme_challenge_reset();
}

int acme_manager_sync(const struct cfg *cfg)
{
    bool use = acme_in_use(cfg) && cfg->listen_port_tls >= 0;
    char *id = use ? identity_of(cfg) : NULL;
    if (use && !id)
        return -1;
    if (running && id && strcmp(running->identity, id) == 0) {
        free(id);
        return 0;
    }
    acme_manager_stop();
    if (!use)
        return 0;
    struct acme_manager *m = calloc(1, sizeof(*m));
    if (!m) {
        free(id);
        return -1;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    m->identity = id;
    m->dir_url = strdup(cfg->acme.dir_url);
    m->email = strdup(cfg->acme.email);
    for (size_t i = 0; i < cfg->n_apps; i++)
        m->n += cfg->apps[i].tls.enabled && cfg->apps[i].tls.acme;
    m->domains = calloc(m->n, sizeof(*m->domains));
    if (!m->dir_url || !m->email || !m->domains) {
        manager_free(m);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const struct cfg_app *app = &cfg->apps[i];
        if (!app->tls.enabled || !app->tls.acme)
            continue;
        struct acme_domain *d = &m->domains[k++];
        d->name = strdup(app->server_name);
        d->http01 = app->tls.http01;
        if (!d->name ||
            acme_registry_cert_path(&cfg->acme, app->server_name, d->path, sizeof(d->path)) < 0) {
            log_error("rpxy ACME error: registry path too long for \"%s\"", app->server_name);
            manager_free(m);
            return -1;
        }
    }
    m->account_key = account_key(&cfg->acme);
    if (!m->account_key) {
        manager_free(m);
        return -1;
    }
    if (pthread_create(&m->thread, NULL, run, m) != 0) {
        log_error("rpxy ACME error: cannot start the ACME thread");
        manager_free(m);
        return -1;
    }
    log_info("rpxy ACME event: ServiceStarted domains=%zu dir_url=%s", m->n, m->dir_url);
    running = m;
    return 0;
}
