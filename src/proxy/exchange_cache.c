/* The cache on the exchange: lookup, the hit "upstream client" (memory and
 * verified file bodies with back-pressure), the storing tee and the wait of
 * collapsed misses. */
#include "proxy/exchange_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache_control.h"
#include "cache/fill.h"
#include "cache/index.h"
#include "cache/key.h"
#include "cache/policy.h"
#include "core/worker.h"
#include "log/log.h"
#include "proxy/client_conn.h"
#include "proxy/runtime.h"
#include "upstream/client.h"

#define KEY_MAX 8600
#define WAIT_POLL_MS 20
#define WAIT_LIMIT_MS 5000 /* as nginx's proxy_cache_lock_timeout */
#define HIT_FIELDS_MAX 100
#define FILE_CHUNK 65536
#define FILE_WHOLE_MAX (2u << 20)     /* a file hit up to this is read once, into memory */
#define FILE_WHOLE_BUDGET (64u << 20) /* ... while all such reads hold less than this */

/* Bytes of whole-file reads in memory now, across threads. */
static atomic_size_t whole_bytes;

/* Whether a file hit of len bytes may be read whole (and counts it). */
static bool whole_take(uint64_t len)
{
    if (len > FILE_WHOLE_MAX)
        return false;
    size_t was = atomic_fetch_add(&whole_bytes, (size_t)len);
    if (was + len <= FILE_WHOLE_BUDGET)
        return true;
    atomic_fetch_sub(&whole_bytes, (size_t)len);
    return false;
}

/* What storing a miss needs once the request's own buffers are gone. */
struct excache_miss {
    struct cache *c; /* reference */
    struct cache_fill *fill;
    struct cache_key_lock lock;
    bool locked; /* lock is linked */
    struct cache_req_facts req;
    const char *key, *host;
    size_t key_len, host_len;
    struct http_field *fields; /* the request's, copied */
    size_t n_fields;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The Host field of the upstream head (SPEC 14: must match). */
static const char *upstream_host(const struct exchange *ex, size_t *len)
{
    const char *p = buf_bytes(&ex->up_out), *end = p + ex->head_len;
    for (const char *q = p; q && q + 8 < end; q = memchr(q + 1, '\n', (size_t)(end - q - 1))) {
        if (strncasecmp(q + 1, "host: ", 6) != 0 || *q != '\n')
            continue;
        const char *v = q + 7, *eol = memchr(v, '\r', (size_t)(end - v));
        if (!eol)
            break;
        *len = (size_t)(eol - v);
        return v;
    }
    *len = 0;
    return "";
}

/* ---- misses ---- */

static struct excache_miss *miss_new(struct cache *c, const struct cache_query *q)
{
    size_t bytes = q->key_len + q->host_len;
    for (size_t i = 0; i < q->n_fields; i++)
        bytes += q->fields[i].name_len + q->fields[i].value_len;
    struct excache_miss *m = malloc(sizeof(*m) + q->n_fields * sizeof(struct http_field) + bytes);
    if (!m)
        return NULL;
    memset(m, 0, sizeof(*m));
    m->c = c;
    cache_ref(c);
    m->req = *q->req;
    m->fields = (struct http_field *)(m + 1);
    char *p = (char *)(m->fields + q->n_fields);
    for (size_t i = 0; i < q->n_fields; i++) {
        const struct http_field *f = &q->fields[i];
        m->fields[i] = (struct http_field){ p, f->name_len, p + f->name_len, f->value_len };
        memcpy(p, f->name, f->name_len);
        memcpy(p + f->name_len, f->value, f->value_len);
        p += f->name_len + f->value_len;
    }
    m->n_fields = q->n_fields;
    m->key = memcpy(p, q->key, q->key_len);
    m->key_len = q->key_len;
    m->host = memcpy(p + q->key_len, q->host, q->host_len);
    m->host_len = q->host_len;
    return m;
}

static void miss_query(const struct excache_miss *m, struct cache_query *q)
{
    *q = (struct cache_query){
        .key = m->key,
        .key_len = m->key_len,
        .host = m->host,
        .host_len = m->host_len,
        .req = &m->req,
        .fields = m->fields,
        .n_fields = m->n_fields,
        .now_ms = wall_ms(),
    };
}

/* No (more) storing for this miss; the key's lock goes. */
static void stop_storing(struct excache_miss *m)
{
    cache_fill_abort(m->fill);
    m->fill = NULL;
    if (m->locked)
        cache_unlock(m->c, &m->lock);
    m->locked = false;
}

static void miss_free(struct excache_miss *m)
{
    if (!m)
        return;
    stop_storing(m);
    cache_unref(m->c);
    free(m);
}

/* The response head of a miss: starts storing when it is storable. The
 * response policy's own fields (the sticky cookie, Alt-Svc) are not part of
 * what the upstream said, so they are left out. */
static void miss_head(struct exchange *ex, const struct ex_response *res)
{
    struct excache_miss *m = ex->cache.miss;
    if (res->raw || res->status < 200 || res->n_fields > HIT_FIELDS_MAX) {
        stop_storing(m);
        return;
    }
    struct http_field f[HIT_FIELDS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < res->n_fields; i++)
        if (res->fields[i].value != ex->set_cookie && res->fields[i].value != ex->rt->alt_svc)
            f[n++] = res->fields[i];
    struct cache_resp_facts facts;
    policy_read_response(&facts, res->status, f, n);
    if (!policy_storable(&m->req, &facts)) {
        stop_storing(m);
        return;
    }
    const struct cache_entry_input in = {
        .key = m->key,
        .key_len = m->key_len,
        .host = m->host,
        .host_len = m->host_len,
        .method = m->req.method,
        .req_fields = m->fields,
        .n_req_fields = m->n_fields,
        .status = res->status,
        .fields = f,
        .n_fields = n,
        .facts = &facts,
        .response_ms = wall_ms(),
    };
    struct cache_entry *e = cache_entry_new(&in);
    int64_t expect = ex->head_request || res->body == EX_BODY_NONE ? 0
                     : res->body == EX_BODY_LENGTH                 ? (int64_t)res->content_length
                                                                   : -1;
    m->fill = e ? cache_fill_begin(m->c, e, expect) : NULL;
    if (!m->fill)
        stop_storing(m);
}

/* ---- the storing tee: the front-end's operations, watched ---- */

static const struct ex_front *under(const struct exchange *ex)
{
    return ex->cache.fe;
}

static void tee_synthetic(struct exchange *ex, int status, const char *location,
                          size_t location_len, bool close_after)
{
    stop_storing(ex->cache.miss);
    under(ex)->synthetic(ex, status, location, location_len, close_after);
}

static void tee_continue_100(struct exchange *ex)
{
    under(ex)->continue_100(ex);
}

static void tee_interim(struct exchange *ex, int status, const struct http_field *f, size_t n)
{
    under(ex)->interim(ex, status, f, n);
}

static int tee_response_head(struct exchange *ex, const struct ex_response *res)
{
    miss_head(ex, res);
    int r = under(ex)->response_head(ex, res);
    if (r < 0)
        stop_storing(ex->cache.miss);
    return r;
}

static bool tee_response_room(struct exchange *ex)
{
    return under(ex)->response_room(ex);
}

static long tee_response_body(struct exchange *ex, const char *p, size_t n)
{
    long w = under(ex)->response_body(ex, p, n);
    struct excache_miss *m = ex->cache.miss;
    if (w > 0 && m->fill && cache_fill_body(m->fill, p, (size_t)w) < 0)
        stop_storing(m);
    return w;
}

static void tee_response_end(struct exchange *ex, const char *trailer, size_t trailer_len)
{
    under(ex)->response_end(ex, trailer, trailer_len);
    struct excache_miss *m = ex->cache.miss;
    if (m->fill && !trailer_len) {
        cache_fill_commit(m->fill);
        m->fill = NULL;
    }
    stop_storing(m);
}

static bool tee_response_pending(struct exchange *ex)
{
    return under(ex)->response_pending(ex);
}

static int tee_pump_request(struct exchange *ex)
{
    return under(ex)->pump_request(ex);
}

static void tee_done(struct exchange *ex, bool ok)
{
    const struct ex_front *fe = under(ex);
    miss_free(ex->cache.miss);
    ex->cache.miss = NULL;
    ex->fe = fe;
    fe->done(ex, ok);
}

static void tee_kick(struct exchange *ex)
{
    under(ex)->kick(ex);
}

static const struct ex_front tee_front = {
    .synthetic = tee_synthetic,
    .continue_100 = tee_continue_100,
    .interim = tee_interim,
    .response_head = tee_response_head,
    .response_room = tee_response_room,
    .response_body = tee_response_body,
    .response_end = tee_response_end,
    .response_pending = tee_response_pending,
    .pump_request = tee_pump_request,
    .done = tee_done,
    .kick = tee_kick,
};

/* ---- hits: an upstream client that reads the cache ---- */

static int hit_attach(struct exchange *ex, bool fresh_only)
{
    return -1;
}

static void hit_release(struct exchange *ex, bool reuse)
{
    if (ex->fe != &tee_front) { /* the file hit's copy of the request, unused */
        miss_free(ex->cache.miss);
        ex->cache.miss = NULL;
    }
    if (ex->cache.fd)
        close(ex->cache.fd - 1);
    EVP_MD_CTX_free(ex->cache.sha);
    free(ex->cache.buf);
    if (ex->cache.whole)
        atomic_fetch_sub(&whole_bytes, (size_t)ex->cache.hit->body_len);
    ex->cache.whole = false;
    cache_entry_unref(ex->cache.hit);
    ex->cache.fd = 0;
    ex->cache.sha = NULL;
    ex->cache.buf = NULL;
    ex->cache.buf_at = ex->cache.buf_len = 0;
    ex->cache.hit = NULL;
}

static bool hit_reused(const struct exchange *ex)
{
    return false;
}

static bool hit_idle(const struct exchange *ex)
{
    return true;
}

static bool hit_rewind(struct exchange *ex)
{
    return false;
}

static int hit_check_connected(struct exchange *ex)
{
    return 0;
}

/* A request body (POST hit) is read and dropped. */
static long hit_send(struct exchange *ex, const char *p, size_t n, bool *progress)
{
    if (progress)
        *progress = false;
    return (long)n;
}

static int hit_queue_body(struct exchange *ex, const char *p, size_t n)
{
    return 0;
}

static int hit_queue_end(struct exchange *ex, const char *trailer, size_t trailer_len)
{
    return 0;
}

static void hit_shutdown_write(struct exchange *ex)
{
}

/* A file hit, before anything is sent: one chunk of the whole-file check.
 * Returns 1 while going, 0 once verified, -1 when the file is missing,
 * changed or does not match its digest. */
static int verify_step(struct exchange *ex)
{
    const struct cache_entry *e = ex->cache.hit;
    if (!ex->cache.fd) {
        int fd = open(e->path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0)
            return -1;
        ex->cache.fd = fd + 1;
        ex->cache.sha = EVP_MD_CTX_new();
        ex->cache.whole = whole_take(e->body_len);
        ex->cache.buf = malloc(ex->cache.whole && e->body_len ? e->body_len : FILE_CHUNK);
        if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != e->body_len || !ex->cache.sha ||
            !ex->cache.buf || !EVP_DigestInit_ex(ex->cache.sha, EVP_sha256(), NULL))
            return -1;
    }
    if (ex->cache.off < e->body_len) {
        uint64_t left = e->body_len - ex->cache.off;
        char *to = ex->cache.buf + (ex->cache.whole ? ex->cache.off : 0);
        ssize_t r = pread(ex->cache.fd - 1, to, left < FILE_CHUNK ? left : FILE_CHUNK,
                          (off_t)ex->cache.off);
        if (r <= 0 || !EVP_DigestUpdate(ex->cache.sha, to, (size_t)r))
            return -1;
        ex->cache.off += (uint64_t)r;
        if (ex->cache.off < e->body_len)
            return 1;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdl = 0;
    if (!EVP_DigestFinal_ex(ex->cache.sha, md, &mdl) || mdl != CACHE_SHA256_LEN ||
        memcmp(md, e->sha256, CACHE_SHA256_LEN) != 0)
        return -1;
    ex->cache.off = 0;
    ex->cache.verified = true;
    if (ex->cache.whole)
        return 0; /* served from the verified bytes */
    /* the serving pass digests again: a file changed in between is cut off */
    return EVP_DigestInit_ex(ex->cache.sha, EVP_sha256(), NULL) ? 0 : -1;
}

/* A file that failed its check: dropped, and the request goes upstream
 * after all. Returns 1, or -1 when the exchange ended. */
static int refetch(struct exchange *ex)
{
    struct cache_entry *e = ex->cache.hit;
    log_warn("Cache: %s does not match its digest or is gone; dropped, fetching from upstream",
             e->path);
    cache_drop(ex->rt->cache, e);
    struct excache_miss *m = ex->cache.miss;
    if (m && ex->fe != &tee_front) { /* the response is stored again */
        ex->cache.fe = ex->fe;
        ex->fe = &tee_front;
        struct cache_query q;
        struct cache_entry *again;
        miss_query(m, &q);
        if (ex->req_done && m->req.method != CACHE_POST) {
            enum cache_lookup r = cache_lookup(m->c, &q, &m->lock, &again);
            m->locked = r == CACHE_MISS;
            if (r == CACHE_HIT) /* stored meanwhile: served from upstream all the same */
                cache_entry_unref(again);
        }
    }
    hit_release(ex, false);
    ex->cache.off = 0;
    ex->cache.verified = false;
    ex->upc = ex->cache.up;
    ex->cache.up = NULL;
    ex->phase = EX_CONNECTING;
    if (ex->upc->attach(ex, false) < 0) {
        exchange_abort(ex, 502, "Failed to get response from backend: cannot connect");
        return -1;
    }
    return 1;
}

static int send_head(struct exchange *ex)
{
    const struct cache_entry *e = ex->cache.hit;
    struct http_field f[HIT_FIELDS_MAX + 2], out[HIT_FIELDS_MAX + 4];
    size_t n = e->n_fields;
    memcpy(f, e->fields, n * sizeof(*f));
    if (e->content_length && !ex->cache.not_modified)
        f[n++] =
            (struct http_field){ "content-length", 14, e->content_length, e->content_length_len };
    char age[24];
    int64_t age_ms = policy_age_ms(e->response_ms, e->age_s, wall_ms());
    int al = snprintf(age, sizeof(age), "%" PRId64, age_ms / 1000);
    f[n++] = (struct http_field){ "age", 3, age, (size_t)al };
    bool has_date;
    struct ex_response res = {
        .status = ex->cache.not_modified ? 304 : e->status,
        .fields = out,
        .n_fields = exchange_resp_fields(ex, f, n, false, out, HIT_FIELDS_MAX + 4, &has_date),
        .has_date = false,
        .body = EX_BODY_LENGTH,
        .content_length = e->body_len,
    };
    if (ex->head_request || ex->cache.not_modified || e->status == 204 || e->status == 304) {
        res.body = EX_BODY_NONE;
        res.content_length = 0;
        ex->cache.off = e->body_len; /* nothing to send */
    }
    ex->resp_started = true;
    ex->phase = EX_BODY;
    if (ex->fe->response_head(ex, &res) < 0) {
        exchange_abort(ex, 0, NULL);
        return -1;
    }
    log_info("Cache hit - Return from cache");
    exchange_access_log(ex, res.status);
    return 0;
}

/* The next bytes of a file hit into its buffer, digested; the chunk that
 * completes the body is released only once the whole digest matched, so a
 * file changed after its check is cut off, never completed. Returns 0, or
 * -1 when the exchange ended. */
static int file_refill(struct exchange *ex)
{
    struct cache_entry *e = ex->cache.hit;
    uint64_t left = e->body_len - ex->cache.off;
    ssize_t r = pread(ex->cache.fd - 1, ex->cache.buf, left < FILE_CHUNK ? left : FILE_CHUNK,
                      (off_t)ex->cache.off);
    bool ok = r > 0 && EVP_DigestUpdate(ex->cache.sha, ex->cache.buf, (size_t)r);
    if (ok && (uint64_t)r == left) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdl = 0;
        ok = EVP_DigestFinal_ex(ex->cache.sha, md, &mdl) &&
             memcmp(md, e->sha256, CACHE_SHA256_LEN) == 0;
    }
    if (!ok) {
        log_warn("Cache: %s changed while being served; response cut off", e->path);
        cache_drop(ex->rt->cache, e);
        exchange_abort(ex, 0, NULL);
        return -1;
    }
    ex->cache.buf_at = 0;
    ex->cache.buf_len = (uint32_t)r;
    return 0;
}

/* Body bytes while the front-end has room. Returns progress or -1. */
static int send_body(struct exchange *ex)
{
    const struct cache_entry *e = ex->cache.hit;
    int progress = 0;
    const char *mem = e->body ? e->body : ex->cache.whole ? ex->cache.buf : NULL;
    while (ex->cache.off < e->body_len && ex->fe->response_room(ex)) {
        const char *p = mem ? mem + ex->cache.off : NULL;
        size_t n = (size_t)(e->body_len - ex->cache.off);
        if (!mem) {
            if (ex->cache.buf_at == ex->cache.buf_len && file_refill(ex) < 0)
                return -1;
            p = ex->cache.buf + ex->cache.buf_at;
            n = ex->cache.buf_len - ex->cache.buf_at;
        }
        long w = ex->fe->response_body(ex, p, n);
        if (w < 0) {
            exchange_abort(ex, 0, NULL);
            return -1;
        }
        if (w == 0)
            break;
        if (!mem)
            ex->cache.buf_at += (uint32_t)w;
        ex->cache.off += (uint64_t)w;
        progress = 1;
    }
    return progress;
}

static int send_end(struct exchange *ex)
{
    ex->resp_ended = true;
    ex->fe->response_end(ex, "", 0);
    return 1;
}

static int hit_pump_response(struct exchange *ex)
{
    if (ex->resp_ended)
        return 0;
    const struct cache_entry *e = ex->cache.hit;
    if (!ex->resp_started) {
        if (e->path && !ex->cache.verified && !ex->head_request && !ex->cache.not_modified) {
            int r = verify_step(ex);
            if (r > 0)
                return 1;
            if (r < 0)
                return refetch(ex);
        }
        if (send_head(ex) < 0)
            return -1;
    }
    int progress = send_body(ex);
    if (progress < 0)
        return -1;
    if (ex->cache.off == e->body_len)
        return send_end(ex);
    return progress;
}

static const struct up_client cache_hit_client = {
    .attach = hit_attach,
    .release = hit_release,
    .reused = hit_reused,
    .idle = hit_idle,
    .rewind = hit_rewind,
    .check_connected = hit_check_connected,
    .send = hit_send,
    .queue_body = hit_queue_body,
    .queue_end = hit_queue_end,
    .shutdown_write = hit_shutdown_write,
    .pump_response = hit_pump_response,
};

/* Conditional requests (ours): If-None-Match, else If-Modified-Since. */
static bool not_modified(const struct cache_entry *e, const struct http_field *f, size_t n)
{
    if (e->status != 200)
        return false;
    const struct http_field *inm = NULL, *ims = NULL;
    for (size_t i = 0; i < n; i++) {
        if (NAME_IS(&f[i], "if-none-match"))
            inm = &f[i];
        else if (NAME_IS(&f[i], "if-modified-since"))
            ims = &f[i];
    }
    if (inm)
        return e->etag && cc_etag_match(inm->value, inm->value_len, e->etag, e->etag_len);
    if (!ims || e->last_modified_ms < 0)
        return false;
    int64_t since = cc_http_date(ims->value, ims->value_len);
    return since >= 0 && e->last_modified_ms <= since * 1000;
}

static void serve_hit(struct exchange *ex, struct cache_entry *e, const struct http_field *f,
                      size_t n)
{
    ex->cache.hit = e;
    ex->cache.not_modified = not_modified(e, f, n);
    ex->cache.up = ex->upc;
    ex->upc = &cache_hit_client;
    ex->phase = EX_WAIT_HEAD;
}

/* ---- waiting for another request's fetch (ours, like proxy_cache_lock) ---- */

static int wait_pump_response(struct exchange *ex)
{
    return 0;
}

static long wait_send(struct exchange *ex, const char *p, size_t n, bool *progress)
{
    if (progress)
        *progress = false;
    return 0;
}

static const struct up_client cache_wait_client = {
    .attach = hit_attach,
    .release = hit_release,
    .reused = hit_reused,
    .idle = hit_idle,
    .rewind = hit_rewind,
    .check_connected = hit_check_connected,
    .send = wait_send,
    .queue_body = hit_queue_body,
    .queue_end = hit_queue_end,
    .shutdown_write = hit_shutdown_write,
    .pump_response = wait_pump_response,
};

static void on_wait(struct loop *loop, struct loop_timer *t)
{
    struct exchange *ex = container_of(t, struct exchange, timer);
    struct excache_miss *m = ex->cache.miss;
    struct client *c = ex->c;
    struct cache_query q;
    miss_query(m, &q);
    bool expired = q.now_ms >= ex->cache.wait_until_ms;
    struct cache_entry *hit;
    enum cache_lookup r = cache_lookup(m->c, &q, expired ? NULL : &m->lock, &hit);
    if (r == CACHE_LOCKED) {
        loop_timer_set(loop, &ex->timer, WAIT_POLL_MS, on_wait);
        return;
    }
    ex->upc = ex->cache.up;
    ex->cache.up = NULL;
    if (r == CACHE_HIT) {
        serve_hit(ex, hit, m->fields, m->n_fields);
        stop_storing(m);
    } else {
        m->locked = !expired;
        if (ex->upc->attach(ex, false) < 0) {
            exchange_abort(ex, 502, "Failed to get response from backend: cannot connect");
            client_drive(c);
            return;
        }
    }
    ex->fe->kick(ex);
}

/* ---- the lookup ---- */

int excache_begin(struct exchange *ex, const struct ex_request *req, bool https, const char *host,
                  size_t host_len)
{
    struct cache *c = ex->rt->cache;
    memset(&ex->cache, 0, sizeof(ex->cache));
    enum cache_method method = cache_method_of(req->method, req->method_len);
    char key[KEY_MAX];
    long kl = req->routable && !ex->upgrade && method != CACHE_OTHER
                  ? cache_key(https, host, host_len, req->target, req->target_len, key, sizeof(key))
                  : -1;
    if (kl < 0)
        return 0;
    struct cache_req_facts facts;
    policy_read_request(&facts, method, req->fields, req->n_fields);
    struct cache_query q = {
        .key = key,
        .key_len = (size_t)kl,
        .req = &facts,
        .fields = req->fields,
        .n_fields = req->n_fields,
        .now_ms = wall_ms(),
    };
    q.host = upstream_host(ex, &q.host_len);
    struct cache_entry *hit;
    enum cache_lookup r = cache_lookup(c, &q, NULL, &hit);
    if (r == CACHE_HIT) {
        /* a file may fail its check: what storing the refetch needs */
        if (hit->path && !facts.cc.no_store)
            ex->cache.miss = miss_new(c, &q);
        serve_hit(ex, hit, req->fields, req->n_fields);
        return 1;
    }
    if (facts.cc.only_if_cached)
        return -1;
    struct excache_miss *m = facts.cc.no_store ? NULL : miss_new(c, &q);
    if (!m)
        return 0;
    ex->cache.miss = m;
    ex->cache.fe = ex->fe;
    ex->fe = &tee_front;
    /* a second look, taking the key: collapses concurrent misses */
    if (method != CACHE_POST && ex->req_done) {
        struct cache_query mq; /* the lock keeps pointing at m's key */
        miss_query(m, &mq);
        r = cache_lookup(c, &mq, &m->lock, &hit);
        m->locked = r == CACHE_MISS;
    }
    if (r == CACHE_HIT) {
        serve_hit(ex, hit, req->fields, req->n_fields);
    } else if (r == CACHE_LOCKED) {
        ex->cache.up = ex->upc;
        ex->upc = &cache_wait_client;
        ex->cache.wait_until_ms = q.now_ms + WAIT_LIMIT_MS;
        loop_timer_set(ex->w->loop, &ex->timer, WAIT_POLL_MS, on_wait);
    }
    return r == CACHE_MISS ? 0 : 1;
}
