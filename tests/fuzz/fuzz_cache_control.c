/* libFuzzer target for the cache's field readers and rules
 * (src/cache/cache_control.c, policy.c, entry.c). The input, split at '\n',
 * is a list of "name: value" fields used as both the request and the
 * response. Invariants: parsed numbers stay in their ranges, lifetimes and
 * ages are never negative, dates are -1 or after the epoch, an entry built
 * from a request matches that same request's Vary values, and an entity
 * tag matches itself. */
#include "cache/cache_control.h"
#include "cache/entry.h"
#include "cache/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_cache_control: %s\n", what);
        abort();
    }
}

static void check_seconds(int64_t x, bool unbounded_ok)
{
    check(x == CC_ABSENT || (x >= 0 && x <= 2147483648LL) || (unbounded_ok && x == CC_UNBOUNDED),
          "directive seconds out of range");
}

static size_t split(const char *p, size_t size, struct http_field *f)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < MAX_FIELDS; i++) {
        if (i < size && p[i] != '\n')
            continue;
        const char *line = p + start;
        size_t len = i - start;
        const char *colon = memchr(line, ':', len);
        size_t nl = colon ? (size_t)(colon - line) : len;
        const char *v = colon ? colon + 1 : line + len;
        size_t vl = (size_t)(line + len - v);
        while (vl && *v == ' ') {
            v++;
            vl--;
        }
        f[n++] = (struct http_field){ line, nl, v, vl };
        start = i + 1;
    }
    return n;
}

static void one_value(const char *v, size_t n)
{
    struct cc_directives d;
    cc_init(&d);
    cc_parse(&d, v, n);
    check_seconds(d.max_age, false);
    check_seconds(d.s_maxage, false);
    check_seconds(d.min_fresh, false);
    check_seconds(d.max_stale, true);
    int64_t t = cc_http_date(v, n);
    check(t == -1 || t >= 0, "date before the epoch");
    int64_t a = cc_delta_seconds(v, n);
    check(a >= -1 && a <= 2147483648LL, "delta-seconds out of range");
    size_t pos = 0, len;
    const char *el;
    while (cc_list_next(v, n, &pos, &el, &len)) {
        check(el >= v && el + len <= v + n, "list element outside the value");
        check(!len || (el[0] != ' ' && el[len - 1] != ' '), "list element not trimmed");
    }
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"' && !memchr(v, ',', n))
        check(cc_etag_match(v, n, v, n), "a tag does not match itself");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_field f[MAX_FIELDS];
    size_t n = split((const char *)data, size, f);
    for (size_t i = 0; i < n; i++)
        one_value(f[i].value, f[i].value_len);
    struct cache_req_facts req;
    policy_read_request(&req, CACHE_GET, f, n);
    struct cache_resp_facts res;
    policy_read_response(&res, 200, f, n);
    bool storable = policy_storable(&req, &res);
    int64_t now = 1700000000000LL;
    int64_t life = policy_lifetime_ms(&res, now);
    check(life >= 0, "negative lifetime");
    check(res.age_s >= 0, "negative Age");
    int64_t age = policy_age_ms(now, res.age_s, now + 1000);
    check(age >= 0, "negative age");
    (void)policy_satisfies(&req, life, age, res.cc.must_revalidate);
    if (!storable)
        return 0;
    /* the same fields as request and response */
    struct cache_entry_input in = { "k", 1, "h", 1, CACHE_GET, f, n, 200, f, n, &res, now };
    struct cache_entry *e = cache_entry_new(&in);
    if (e) {
        check(cache_entry_vary_matches(e, f, n), "an entry does not match its own request");
        check(e->lifetime_ms == life, "entry lifetime differs");
        cache_entry_unref(e);
    }
    return 0;
}
