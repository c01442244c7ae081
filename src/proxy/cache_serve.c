/* Serving a hit (SPEC 14) as the exchange's upstream client: the stored
 * head with Age and a fresh Date, then the body from memory or from its
 * file, read in chunks as the front-end has room. A file is checked
 * against its SHA-256 before the head goes out (a mismatch drops it and
 * the request goes upstream after all) and digested again as it is sent,
 * the last chunk held back until the digest matched. Conditional requests
 * (ours) get 304. */
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_control.h"
#include "cache/shared_body.h"
#include "log/log.h"
#include "proxy/cache_parts.h"
#include "proxy/runtime.h"
#include "upstream/client.h"

#define FILE_CHUNK 65536

/* ---- hits: an upstream client that reads the cache ---- */

static int hit_attach(struct exchange *ex, bool fresh_only)
{
    return -1;
}

static void hit_release(struct exchange *ex, bool reuse)
{
    if (!excache_teed(ex)) { /* the file hit's copy of the request, unused */
        excache_miss_free(ex->cache.miss);
        ex->cache.miss = NULL;
    }
    if (ex->cache.fd)
        close(ex->cache.fd - 1);
    EVP_MD_CTX_free(ex->cache.sha);
    free(ex->cache.buf);
    if (ex->cache.whole)
        cache_shared_body_release(ex->cache.hit, ex->cache.whole);
    ex->cache.whole = NULL;
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

/* A request body (POST hit) is read and dropped; none is taken while
 * waiting (only requests without a body wait). */
static long hit_send(struct exchange *ex, const char *p, size_t n, bool *progress)
{
    if (progress)
        *progress = false;
    return ex->cache.hit ? (long)n : 0;
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

/* A file hit, before anything is sent: one chunk of the whole-file check,
 * unless a hit of the same entry holds the verified body now (shared).
 * Returns 1 while going, 0 once verified, -1 when the file is missing,
 * changed or does not match its digest. */
static int verify_step(struct exchange *ex)
{
    struct cache_entry *e = ex->cache.hit;
    if (!ex->cache.fd) {
        ex->cache.whole = cache_shared_body_get(e);
        if (ex->cache.whole) {
            ex->cache.verified = true;
            return 0;
        }
        int fd = open(e->path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0)
            return -1;
        ex->cache.fd = fd + 1;
        ex->cache.sha = EVP_MD_CTX_new();
        ex->cache.whole = cache_shared_body_new(e->body_len);
        if (!ex->cache.whole)
            ex->cache.buf = malloc(FILE_CHUNK);
        if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != e->body_len || !ex->cache.sha ||
            (!ex->cache.whole && !ex->cache.buf) ||
            !EVP_DigestInit_ex(ex->cache.sha, EVP_sha256(), NULL))
            return -1;
    }
    if (ex->cache.off < e->body_len) {
        uint64_t left = e->body_len - ex->cache.off;
        char *to = ex->cache.whole ? ex->cache.whole->bytes + ex->cache.off : ex->cache.buf;
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
    if (ex->cache.whole) { /* served from the verified bytes, which other hits may share */
        ex->cache.whole = cache_shared_body_publish(e, ex->cache.whole);
        return 0;
    }
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
    if (m && !excache_teed(ex)) { /* the response is stored again */
        excache_tee(ex);
        struct cache_query q;
        struct cache_entry *again;
        excache_miss_query(m, &q);
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
    struct http_field f[EXCACHE_FIELDS_MAX + 2], out[EXCACHE_FIELDS_MAX + 4];
    size_t n = e->n_fields;
    memcpy(f, e->fields, n * sizeof(*f));
    if (e->content_length && !ex->cache.not_modified)
        f[n++] =
            (struct http_field){ "content-length", 14, e->content_length, e->content_length_len };
    char age[24];
    int64_t age_ms = policy_age_ms(e->response_ms, e->age_s, excache_now_ms());
    int al = snprintf(age, sizeof(age), "%" PRId64, age_ms / 1000);
    f[n++] = (struct http_field){ "age", 3, age, (size_t)al };
    bool has_date;
    struct ex_response res = {
        .status = ex->cache.not_modified ? 304 : e->status,
        .fields = out,
        .n_fields = exchange_resp_fields(ex, f, n, false, out, EXCACHE_FIELDS_MAX + 4, &has_date),
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
    const char *mem = e->body ? e->body : ex->cache.whole ? ex->cache.whole->bytes : NULL;
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
    if (ex->resp_ended || !ex->cache.hit)
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

const struct up_client excache_client = {
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

void excache_serve(struct exchange *ex, struct cache_entry *e, const struct http_field *f, size_t n)
{
    ex->cache.hit = e;
    ex->cache.not_modified = not_modified(e, f, n);
    ex->cache.up = ex->upc;
    ex->upc = &excache_client;
    ex->phase = EX_WAIT_HEAD;
}
