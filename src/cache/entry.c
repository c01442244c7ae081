/* Building, matching and freeing stored responses. */
#include "cache/entry.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bump writer over the entry's single allocation. */
struct bump {
    char *p, *end;
};

static const char *put(struct bump *b, const char *s, size_t n)
{
    char *at = b->p;
    if (n)
        memcpy(at, s, n);
    b->p += n;
    return at;
}

static bool dropped_on_store(const struct http_field *h)
{
    return NAME_IS(h, "date") || NAME_IS(h, "age") || NAME_IS(h, "content-length");
}

/* The request's value of a Vary name: its lines joined with ", ". */
static const char *vary_value(struct bump *b, const struct http_field *f, size_t n,
                              const char *name, size_t name_len, size_t *len)
{
    const char *start = b->p;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!name_is(&f[i], name, name_len))
            continue;
        if (any)
            put(b, ", ", 2);
        put(b, f[i].value, f[i].value_len);
        any = true;
    }
    *len = (size_t)(b->p - start);
    return any ? start : NULL;
}

static size_t count_vary(const struct http_field *f, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!NAME_IS(&f[i], "vary"))
            continue;
        size_t pos = 0, len;
        const char *el;
        while (cc_list_next(f[i].value, f[i].value_len, &pos, &el, &len))
            k += len > 0;
    }
    return k;
}

static void fill_vary(struct cache_entry *e, struct http_field *vary, struct bump *b,
                      const struct cache_entry_input *in)
{
    for (size_t i = 0; i < in->n_fields; i++) {
        if (!NAME_IS(&in->fields[i], "vary"))
            continue;
        size_t pos = 0, len;
        const char *el;
        while (cc_list_next(in->fields[i].value, in->fields[i].value_len, &pos, &el, &len)) {
            if (!len)
                continue;
            char *name = b->p;
            for (size_t j = 0; j < len; j++)
                name[j] = (char)tolower((unsigned char)el[j]);
            b->p += len;
            struct http_field *v = &vary[e->n_vary++];
            v->name = name;
            v->name_len = len;
            v->value = vary_value(b, in->req_fields, in->n_req_fields, name, len, &v->value_len);
        }
    }
    e->vary = vary;
}

static void fill_fields(struct cache_entry *e, struct http_field *out, struct bump *b,
                        const struct cache_entry_input *in)
{
    e->last_modified_ms = -1;
    for (size_t i = 0; i < in->n_fields; i++) {
        const struct http_field *h = &in->fields[i];
        if (NAME_IS(h, "content-length") && in->method == CACHE_HEAD) {
            e->content_length = put(b, h->value, h->value_len);
            e->content_length_len = h->value_len;
        }
        if (dropped_on_store(h))
            continue;
        struct http_field *o = &out[e->n_fields++];
        o->name = put(b, h->name, h->name_len);
        o->name_len = h->name_len;
        o->value = put(b, h->value, h->value_len);
        o->value_len = h->value_len;
        if (NAME_IS(h, "etag")) {
            e->etag = o->value;
            e->etag_len = o->value_len;
        } else if (NAME_IS(h, "last-modified")) {
            int64_t s = cc_http_date(h->value, h->value_len);
            e->last_modified_ms = s < 0 ? -1 : s * 1000;
        }
    }
    e->fields = out;
}

struct cache_entry *cache_entry_new(const struct cache_entry_input *in)
{
    size_t n_vary = count_vary(in->fields, in->n_fields);
    if (n_vary > CACHE_VARY_MAX)
        return NULL; /* each name may copy every request field: bounded */
    size_t req_bytes = 0, resp_bytes = 0;
    for (size_t i = 0; i < in->n_req_fields; i++)
        req_bytes += in->req_fields[i].value_len + 2;
    for (size_t i = 0; i < in->n_fields; i++)
        resp_bytes += in->fields[i].name_len + 2 * in->fields[i].value_len;
    size_t arrays = (n_vary + in->n_fields) * sizeof(struct http_field);
    size_t strings = in->key_len + in->host_len + resp_bytes + n_vary * req_bytes;
    for (size_t i = 0; i < in->n_fields; i++)
        if (NAME_IS(&in->fields[i], "vary"))
            strings += in->fields[i].value_len;
    struct cache_entry *e = calloc(1, sizeof(*e) + arrays + strings);
    if (!e)
        return NULL;
    atomic_init(&e->refs, 1);
    struct http_field *vary = (struct http_field *)(e + 1);
    struct http_field *fields = vary + n_vary;
    struct bump b = { (char *)(fields + in->n_fields), (char *)(e + 1) + arrays + strings };
    e->key = put(&b, in->key, in->key_len);
    e->key_len = in->key_len;
    e->host = put(&b, in->host, in->host_len);
    e->host_len = in->host_len;
    e->method = in->method;
    e->status = in->status;
    fill_vary(e, vary, &b, in);
    fill_fields(e, fields, &b, in);
    e->response_ms = in->response_ms;
    e->age_s = in->facts->age_s;
    e->lifetime_ms = policy_lifetime_ms(in->facts, in->response_ms);
    e->must_revalidate = in->facts->cc.must_revalidate;
    return e;
}

void cache_entry_set_body(struct cache_entry *e, char *body, char *path, uint64_t len,
                          const unsigned char *sha256)
{
    e->body = body;
    e->path = path;
    e->body_len = len;
    if (sha256)
        memcpy(e->sha256, sha256, CACHE_SHA256_LEN);
    if (e->method != CACHE_HEAD && !(e->status == 204 || e->status == 304)) {
        int n = snprintf(e->cl_buf, sizeof(e->cl_buf), "%" PRIu64, len);
        e->content_length = e->cl_buf;
        e->content_length_len = (size_t)n;
    }
}

void cache_entry_unref(struct cache_entry *e)
{
    if (!e || atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(e->body);
    free(e->path);
    free(e);
}

bool cache_entry_vary_matches(const struct cache_entry *e, const struct http_field *f, size_t n)
{
    for (size_t i = 0; i < e->n_vary; i++) {
        const struct http_field *v = &e->vary[i];
        /* join the request's lines as stored, compared piecewise */
        size_t off = 0;
        bool any = false;
        for (size_t j = 0; j < n; j++) {
            if (!name_is(&f[j], v->name, v->name_len))
                continue;
            if (!v->value)
                return false;
            if (any) {
                if (off + 2 > v->value_len || memcmp(v->value + off, ", ", 2) != 0)
                    return false;
                off += 2;
            }
            if (off + f[j].value_len > v->value_len ||
                memcmp(v->value + off, f[j].value, f[j].value_len) != 0)
                return false;
            off += f[j].value_len;
            any = true;
        }
        if (any ? off != v->value_len : v->value != NULL)
            return false;
    }
    return true;
}
