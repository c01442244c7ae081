#include "http/pseudo_request.h"

#include <string.h>

#include "http/h1_parser.h"
#include "proxy/headers.h"

/* Appends bytes to the head buffer; returns their offset, or -1 when the
 * request head is too large. */
static long head_put(struct req_head *rh, const uint8_t *p, size_t n)
{
    if (rh->head.len + n > PSEUDO_MAX_HEAD || buf_reserve(&rh->head, n ? n : 1) < 0)
        return -1;
    long off = (long)rh->head.len;
    memcpy(buf_data(&rh->head) + rh->head.len, p, n);
    rh->head.len += n;
    return off;
}

void req_head_add(struct req_head *rh, const uint8_t *name, size_t nl, const uint8_t *value,
                  size_t vl)
{
    if (rh->too_large)
        return;
    long no = head_put(rh, name, nl);
    long vo = no < 0 ? -1 : head_put(rh, value, vl);
    if (vo < 0) {
        rh->too_large = true;
        return;
    }
    struct field_ref ref = { (uint32_t)no, (uint32_t)nl, (uint32_t)vo, (uint32_t)vl };
    if (nl && name[0] == ':') {
        /* the library already rejected unknown, repeated and misplaced ones */
        if (nl == 7 && memcmp(name, ":method", 7) == 0)
            rh->method = ref, rh->have_method = true;
        else if (nl == 7 && memcmp(name, ":scheme", 7) == 0)
            rh->scheme = ref, rh->have_scheme = true;
        else if (nl == 10 && memcmp(name, ":authority", 10) == 0)
            rh->authority = ref, rh->have_authority = true;
        else if (nl == 5 && memcmp(name, ":path", 5) == 0)
            rh->path = ref, rh->have_path = true;
        return;
    }
    if (rh->n_fields == PSEUDO_MAX_FIELDS) {
        rh->too_large = true;
        return;
    }
    rh->fields[rh->n_fields++] = ref;
}

static const char *ref_ptr(const struct req_head *rh, uint32_t off)
{
    return buf_data(&rh->head) + off;
}

/* The request-target rule of HTTP/1.1 (http/h1_parser) for :path too: VCHAR
 * but '#', so no fragment and no raw non-ASCII byte reaches an upstream. */
static bool path_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(h1_char_class[(unsigned char)p[i]] & H1_C_TARGET))
            return false;
    return true;
}

int req_head_request(struct req_head *rh, enum http_version version, bool end_stream,
                     struct http_field *fields, struct ex_request *er)
{
    /* a place for X-Original-URI: scheme://authority/path */
    size_t ol = rh->scheme.value_len + 3 + rh->authority.value_len + rh->path.value_len;
    if (buf_reserve(&rh->head, ol) < 0)
        return -1;
    char *ou = buf_data(&rh->head) + rh->head.len;
    size_t at = 0;
    memcpy(ou + at, ref_ptr(rh, rh->scheme.value), rh->scheme.value_len);
    at += rh->scheme.value_len;
    memcpy(ou + at, "://", 3);
    at += 3;
    memcpy(ou + at, ref_ptr(rh, rh->authority.value), rh->authority.value_len);
    at += rh->authority.value_len;
    memcpy(ou + at, ref_ptr(rh, rh->path.value), rh->path.value_len);
    at += rh->path.value_len;

    const struct http_field *host = NULL, *cl = NULL;
    bool expect_other = false;
    for (size_t i = 0; i < rh->n_fields; i++) {
        const struct field_ref *r = &rh->fields[i];
        fields[i] = (struct http_field){ ref_ptr(rh, r->name), r->name_len, ref_ptr(rh, r->value),
                                         r->value_len };
        if (NAME_IS(&fields[i], "host") && !host)
            host = &fields[i];
        else if (NAME_IS(&fields[i], "content-length"))
            cl = &fields[i];
        else if (NAME_IS(&fields[i], "expect") &&
                 !(fields[i].value_len == 12 &&
                   strncasecmp(fields[i].value, "100-continue", 12) == 0))
            expect_other = true;
    }
    const char *method = ref_ptr(rh, rh->method.value);
    bool connect = rh->method.value_len == 7 && memcmp(method, "CONNECT", 7) == 0;
    uint64_t content_length = 0;
    if (cl) {
        /* digits only: the library checked it */
        for (size_t i = 0; i < cl->value_len; i++)
            content_length = content_length * 10 + (uint64_t)(cl->value[i] - '0');
    }
    *er = (struct ex_request){
        .version = version,
        .method = method,
        .method_len = rh->method.value_len,
        .target = rh->have_path ? ref_ptr(rh, rh->path.value) : "",
        .target_len = rh->have_path ? rh->path.value_len : 0,
        .routable = rh->have_path && !connect &&
                    !(rh->path.value_len == 1 && ref_ptr(rh, rh->path.value)[0] == '*'),
        .original_uri = ou,
        .original_uri_len = at,
        .scheme = rh->have_scheme ? ref_ptr(rh, rh->scheme.value) : NULL,
        .scheme_len = rh->scheme.value_len,
        .authority = rh->have_authority ? ref_ptr(rh, rh->authority.value) : NULL,
        .authority_len = rh->authority.value_len,
        .host = host ? host->value : NULL,
        .host_len = host ? host->value_len : 0,
        .fields = fields,
        .n_fields = rh->n_fields,
        .body = end_stream ? EX_BODY_NONE
                : cl       ? EX_BODY_LENGTH
                           : EX_BODY_STREAM,
        .content_length = content_length,
        .content_length_field = cl != NULL,
        .keep_alive = true,
        .expect_other = expect_other,
    };
    if (end_stream && cl && content_length)
        return -2; /* a Content-Length promising a body that the end of the stream denies */
    if (!rh->have_scheme && !connect)
        return -2;
    if (!path_ok(er->target, er->target_len))
        return -2;
    return 0;
}

void http_status_text(int status, char out[4])
{
    unsigned v = status >= 100 && status <= 999 ? (unsigned)status : 500;
    out[0] = (char)('0' + v / 100);
    out[1] = (char)('0' + v / 10 % 10);
    out[2] = (char)('0' + v % 10);
    out[3] = '\0';
}

long http_lower_fields(struct buf *b, const struct http_field *f, size_t n, struct http_field *out,
                       size_t cap)
{
    size_t need = 0;
    for (size_t i = 0; i < n; i++)
        need += f[i].name_len;
    b->len = 0;
    if (need == 0)
        return 0;
    if (buf_reserve(b, need) < 0)
        return -1;
    char *base = buf_data(b);
    size_t k = 0, used = 0;
    for (size_t i = 0; i < n && k < cap; i++) {
        char *name = base + used;
        for (size_t j = 0; j < f[i].name_len; j++) {
            char ch = f[i].name[j];
            name[j] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
        }
        used += f[i].name_len;
        out[k++] = (struct http_field){ name, f[i].name_len, f[i].value, f[i].value_len };
    }
    b->len = used;
    return (long)k;
}

#define FIELD_LIT(n, v, vl) ((struct http_field){ n, sizeof(n) - 1, v, vl })

long http_interim_head(int status, const struct http_field *f, size_t n, char code[4],
                       struct buf *b, struct http_field *out, size_t cap)
{
    http_status_text(status, code);
    out[0] = FIELD_LIT(":status", code, 3);
    long k = http_lower_fields(b, f, n, out + 1, cap - 1);
    return k < 0 ? -1 : 1 + k;
}

long http_final_head(const struct ex_response *res, char code[4], struct buf *b,
                     struct http_field *out, size_t cap)
{
    long k = http_interim_head(res->status, res->fields, res->n_fields, code, b, out, cap - 2);
    if (k < 0)
        return -1;
    size_t n = (size_t)k;
    out[n++] = FIELD_LIT("server", "rpxy", 4);
    if (!res->has_date) {
        const char *date = http_date_now();
        out[n++] = FIELD_LIT("date", date, strlen(date));
    }
    return (long)n;
}

size_t http_synthetic_head(int status, const char *location, size_t location_len, char code[4],
                           struct http_field *out)
{
    http_status_text(status, code);
    const char *date = http_date_now();
    size_t n = 0;
    out[n++] = FIELD_LIT(":status", code, 3);
    out[n++] = FIELD_LIT("date", date, strlen(date));
    if (location)
        out[n++] = FIELD_LIT("location", location, location_len);
    return n;
}

bool http_head_has_body(const struct exchange *ex, const struct ex_response *res)
{
    return !ex->head_request && res->body != EX_BODY_NONE &&
           !(res->body == EX_BODY_LENGTH && res->content_length == 0);
}
