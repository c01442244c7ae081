/* Storing a miss (SPEC 14): a tee in front of the front-end watches the
 * response go to the client and feeds the same bytes, as the client takes
 * them, into a cache fill; the key's lock is held until the entry is in. */
#include <stdlib.h>
#include <string.h>

#include "cache/fill.h"
#include "proxy/cache_parts.h"
#include "proxy/runtime.h"

/* ---- misses ---- */

struct excache_miss *excache_miss_new(struct cache *c, const struct cache_query *q)
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

void excache_miss_query(const struct excache_miss *m, struct cache_query *q)
{
    *q = (struct cache_query){
        .key = m->key,
        .key_len = m->key_len,
        .host = m->host,
        .host_len = m->host_len,
        .req = &m->req,
        .fields = m->fields,
        .n_fields = m->n_fields,
        .now_ms = excache_now_ms(),
    };
}

void excache_stop_storing(struct excache_miss *m)
{
    cache_fill_abort(m->fill);
    m->fill = NULL;
    if (m->locked)
        cache_unlock(m->c, &m->lock);
    m->locked = false;
}

void excache_miss_free(struct excache_miss *m)
{
    if (!m)
        return;
    excache_stop_storing(m);
    cache_entry_unref(m->stored);
    cache_unref(m->c);
    free(m);
}

/* The response head of a miss: starts storing when it is storable. The
 * response policy's own fields (the sticky cookie, Alt-Svc) are not part of
 * what the upstream said, so they are left out. */
static void miss_head(struct exchange *ex, const struct ex_response *res)
{
    struct excache_miss *m = ex->cache.miss;
    if (res->raw || res->status < 200 || res->n_fields > EXCACHE_FIELDS_MAX) {
        excache_stop_storing(m);
        return;
    }
    struct http_field f[EXCACHE_FIELDS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < res->n_fields; i++)
        if (res->fields[i].value != ex->set_cookie && res->fields[i].value != ex->rt->alt_svc)
            f[n++] = res->fields[i];
    struct cache_resp_facts facts;
    policy_read_response(&facts, res->status, f, n);
    if (!policy_storable(&m->req, &facts)) {
        excache_stop_storing(m);
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
        .response_ms = excache_now_ms(),
    };
    struct cache_entry *e = cache_entry_new(&in);
    int64_t expect = ex->head_request || res->body == EX_BODY_NONE ? 0
                     : res->body == EX_BODY_LENGTH                 ? (int64_t)res->content_length
                                                                   : -1;
    m->fill = e ? cache_fill_begin(m->c, e, expect) : NULL;
    m->body_left = expect;
    if (!m->fill)
        excache_stop_storing(m);
}

/* A length-framed body is complete before its last bytes go to the client:
 * the entry goes in first, so the client's next request (a POST takes no
 * key lock; another worker may answer it) finds it. */
static void commit_complete(struct excache_miss *m)
{
    m->stored = cache_fill_commit(m->fill);
    m->fill = NULL;
    excache_stop_storing(m);
}

/* ---- the storing tee: the front-end's operations, watched ---- */

static const struct ex_front *under(const struct exchange *ex)
{
    return ex->cache.fe;
}

static void tee_synthetic(struct exchange *ex, int status, const char *location,
                          size_t location_len, bool close_after)
{
    excache_stop_storing(ex->cache.miss);
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
    struct excache_miss *m = ex->cache.miss;
    if (m->fill && m->body_left == 0)
        commit_complete(m);
    int r = under(ex)->response_head(ex, res);
    if (r < 0)
        excache_stop_storing(ex->cache.miss);
    return r;
}

static bool tee_response_room(struct exchange *ex)
{
    return under(ex)->response_room(ex);
}

static long tee_response_body(struct exchange *ex, const char *p, size_t n)
{
    struct excache_miss *m = ex->cache.miss;
    if (m->fill && m->body_left > 0 && n >= (uint64_t)m->body_left) {
        if (cache_fill_body(m->fill, p, n) < 0)
            excache_stop_storing(m);
        else
            commit_complete(m);
        return under(ex)->response_body(ex, p, n);
    }
    long w = under(ex)->response_body(ex, p, n);
    if (w > 0 && m->fill && cache_fill_body(m->fill, p, (size_t)w) < 0)
        excache_stop_storing(m);
    if (w > 0 && m->body_left > 0)
        m->body_left -= w;
    return w;
}

static void tee_response_end(struct exchange *ex, const char *trailer, size_t trailer_len)
{
    struct excache_miss *m = ex->cache.miss;
    if (m->fill && !trailer_len)
        commit_complete(m);
    /* a response with trailers is not stored: an HTTP/2 upstream may send
     * them after a complete length-framed body */
    if (m->stored && trailer_len)
        cache_drop(m->c, m->stored);
    excache_stop_storing(m);
    under(ex)->response_end(ex, trailer, trailer_len);
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
    excache_miss_free(ex->cache.miss);
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

void excache_tee(struct exchange *ex)
{
    if (ex->fe == &tee_front)
        return;
    ex->cache.fe = ex->fe;
    ex->fe = &tee_front;
}

bool excache_teed(const struct exchange *ex)
{
    return ex->fe == &tee_front;
}
