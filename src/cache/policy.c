/* Storability and freshness (SPEC 14), in the order the rules are listed. */
#include "cache/policy.h"

#include <string.h>

#define HEURISTIC_PERCENT 10
#define IMMUTABLE_MIN_MS (24LL * 3600 * 1000)

enum cache_method cache_method_of(const char *m, size_t n)
{
    if (n == 3 && memcmp(m, "GET", 3) == 0)
        return CACHE_GET;
    if (n == 4 && memcmp(m, "HEAD", 4) == 0)
        return CACHE_HEAD;
    if (n == 4 && memcmp(m, "POST", 4) == 0)
        return CACHE_POST;
    return CACHE_OTHER;
}

void policy_read_request(struct cache_req_facts *r, enum cache_method method,
                         const struct http_field *f, size_t n)
{
    memset(r, 0, sizeof(*r));
    r->method = method;
    cc_init(&r->cc);
    for (size_t i = 0; i < n; i++) {
        if (NAME_IS(&f[i], "cache-control"))
            cc_parse(&r->cc, f[i].value, f[i].value_len);
        else if (NAME_IS(&f[i], "pragma"))
            r->pragma_no_cache |= cc_list_has(f[i].value, f[i].value_len, "no-cache", 8);
        else if (NAME_IS(&f[i], "authorization"))
            r->authorization = true;
    }
}

static int64_t date_ms(const struct http_field *h)
{
    int64_t s = cc_http_date(h->value, h->value_len);
    return s < 0 ? -1 : s * 1000;
}

void policy_read_response(struct cache_resp_facts *r, int status, const struct http_field *f,
                          size_t n)
{
    memset(r, 0, sizeof(*r));
    r->status = status;
    r->date_ms = r->last_modified_ms = r->expires_ms = -1;
    cc_init(&r->cc);
    bool has_cc = false, pragma_no_cache = false;
    for (size_t i = 0; i < n; i++) {
        const struct http_field *h = &f[i];
        if (NAME_IS(h, "cache-control")) {
            cc_parse(&r->cc, h->value, h->value_len);
            has_cc = true;
        } else if (NAME_IS(h, "pragma")) {
            pragma_no_cache |= cc_list_has(h->value, h->value_len, "no-cache", 8);
        } else if (NAME_IS(h, "expires")) {
            /* two different Expires read as already expired */
            int64_t e = date_ms(h);
            r->expires_ms = r->has_expires && r->expires_ms != e ? -1 : e;
            r->has_expires = true;
        } else if (NAME_IS(h, "date")) {
            r->date_ms = date_ms(h);
        } else if (NAME_IS(h, "last-modified")) {
            r->last_modified_ms = date_ms(h);
        } else if (NAME_IS(h, "age")) {
            int64_t a = cc_delta_seconds(h->value, h->value_len);
            r->age_s = a < 0 ? 0 : a;
        } else if (NAME_IS(h, "set-cookie")) {
            r->set_cookie = true;
        } else if (NAME_IS(h, "vary")) {
            r->vary_star |= cc_list_has(h->value, h->value_len, "*", 1);
        }
    }
    if (!has_cc && pragma_no_cache)
        r->cc.no_cache = true;
}

static bool status_understood(int s)
{
    switch (s) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 302:
    case 303:
    case 307:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501: return true;
    default: return false;
    }
}

static bool status_cacheable_by_default(int s)
{
    switch (s) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501: return true;
    default: return false;
    }
}

bool policy_storable(const struct cache_req_facts *req, const struct cache_resp_facts *res)
{
    const struct cc_directives *cc = &res->cc;
    bool explicit_expiration =
        cc->s_maxage != CC_ABSENT || cc->max_age != CC_ABSENT || res->has_expires;
    if (req->cc.no_store || cc->no_store || cc->private_)
        return false;
    if (!(req->method == CACHE_GET || req->method == CACHE_HEAD ||
          (req->method == CACHE_POST && explicit_expiration)))
        return false;
    if (!status_understood(res->status))
        return false;
    if (req->authorization && !cc->public_ && cc->s_maxage == CC_ABSENT && !cc->must_revalidate)
        return false;
    return explicit_expiration || cc->public_ || status_cacheable_by_default(res->status);
}

static int64_t at_least(int64_t floor, int64_t x)
{
    return x > floor ? x : floor;
}

int64_t policy_lifetime_ms(const struct cache_resp_facts *res, int64_t response_ms)
{
    const struct cc_directives *cc = &res->cc;
    if (cc->no_cache || cc->proxy_revalidate || res->vary_star)
        return 0;
    if (res->set_cookie && !cc->public_ && !cc->immutable)
        return 0;
    if (cc->s_maxage != CC_ABSENT)
        return cc->s_maxage * 1000;
    if (cc->max_age != CC_ABSENT)
        return cc->max_age * 1000;
    int64_t floor = cc->immutable ? IMMUTABLE_MIN_MS : 0;
    int64_t server_date = res->date_ms >= 0 ? res->date_ms : response_ms;
    if (res->has_expires) {
        if (res->expires_ms < 0 || res->expires_ms < server_date)
            return 0;
        return at_least(floor, res->expires_ms - server_date);
    }
    if (res->last_modified_ms >= 0 && server_date > res->last_modified_ms)
        return at_least(floor, (server_date - res->last_modified_ms) * HEURISTIC_PERCENT / 100);
    return floor;
}

int64_t policy_age_ms(int64_t response_ms, int64_t age_s, int64_t now_ms)
{
    int64_t resident = now_ms > response_ms ? now_ms - response_ms : 0;
    return age_s * 1000 + resident;
}

bool policy_satisfies(const struct cache_req_facts *req, int64_t lifetime_ms, int64_t age_ms,
                      bool must_revalidate)
{
    const struct cc_directives *cc = &req->cc;
    if (lifetime_ms <= 0 || cc->no_cache || req->pragma_no_cache)
        return false;
    /* max-age=0 asks for the upstream even within the response's first millisecond */
    if (cc->max_age != CC_ABSENT && (age_ms > cc->max_age * 1000 || cc->max_age == 0))
        return false;
    int64_t ttl = lifetime_ms > age_ms ? lifetime_ms - age_ms : 0;
    if (cc->min_fresh != CC_ABSENT && ttl < cc->min_fresh * 1000)
        return false;
    if (lifetime_ms > age_ms)
        return true;
    /* stale: only within the request's max-stale, never past must-revalidate */
    if (cc->max_stale == CC_ABSENT || must_revalidate)
        return false;
    return cc->max_stale == CC_UNBOUNDED || cc->max_stale * 1000 > age_ms - lifetime_ms;
}
