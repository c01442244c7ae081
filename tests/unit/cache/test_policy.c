/* Unit tests for src/cache/policy.c: SPEC 14's storability and freshness
 * rules one by one. */
#include "../tap.h"
#include "cache/policy.h"

#include <string.h>

#define NOW 1700000000000LL /* ms */
#define F(n, v)                                                                                    \
    {                                                                                              \
        n, sizeof(n) - 1, v, sizeof(v) - 1                                                         \
    }
#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct cache_req_facts req_of(enum cache_method m, const struct http_field *f, size_t n)
{
    struct cache_req_facts r;
    policy_read_request(&r, m, f, n);
    return r;
}

static struct cache_resp_facts resp_of(int status, const struct http_field *f, size_t n)
{
    struct cache_resp_facts r;
    policy_read_response(&r, status, f, n);
    return r;
}

static const struct cache_req_facts *plain_get(void)
{
    static struct cache_req_facts r;
    r = req_of(CACHE_GET, NULL, 0);
    return &r;
}

static void storability(void)
{
    const struct http_field max_age[] = { F("cache-control", "max-age=60") };
    struct cache_resp_facts ok = resp_of(200, max_age, 1);
    TAP_OK(policy_storable(plain_get(), &ok), "GET 200 max-age");
    struct cache_req_facts head = req_of(CACHE_HEAD, NULL, 0);
    TAP_OK(policy_storable(&head, &ok), "HEAD");
    struct cache_req_facts post = req_of(CACHE_POST, NULL, 0);
    TAP_OK(policy_storable(&post, &ok), "POST with max-age");
    struct cache_resp_facts bare = resp_of(200, NULL, 0);
    TAP_OK(!policy_storable(&post, &bare), "POST without explicit freshness");
    const struct http_field expires[] = { F("expires", "0") };
    struct cache_resp_facts exp = resp_of(200, expires, 1);
    TAP_OK(policy_storable(&post, &exp), "POST with an Expires (even invalid)");
    struct cache_req_facts put = req_of(CACHE_OTHER, NULL, 0);
    TAP_OK(!policy_storable(&put, &ok), "other methods");

    static const int understood[] = { 200, 203, 204, 300, 301, 302, 303,
                                      307, 308, 404, 405, 410, 414, 501 };
    static const int by_default[] = { 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501 };
    for (int s = 100; s < 600; s++) {
        bool u = false, d = false;
        for (size_t i = 0; i < N(understood); i++)
            u |= understood[i] == s;
        for (size_t i = 0; i < N(by_default); i++)
            d |= by_default[i] == s;
        struct cache_resp_facts with = resp_of(s, max_age, 1), without = resp_of(s, NULL, 0);
        if (policy_storable(plain_get(), &with) != u ||
            policy_storable(plain_get(), &without) != d) {
            char what[64];
            snprintf(what, sizeof(what), "status %d", s);
            TAP_OK(0, what);
        }
    }
    TAP_OK(1, "statuses: understood with max-age, cacheable by default without");

    const struct http_field nostore[] = { F("cache-control", "max-age=60, no-store") };
    struct cache_resp_facts r = resp_of(200, nostore, 1);
    TAP_OK(!policy_storable(plain_get(), &r), "response no-store");
    const struct http_field priv[] = { F("cache-control", "private, max-age=60") };
    r = resp_of(200, priv, 1);
    TAP_OK(!policy_storable(plain_get(), &r), "private");
    const struct http_field rq_nostore[] = { F("cache-control", "no-store") };
    struct cache_req_facts rq = req_of(CACHE_GET, rq_nostore, 1);
    TAP_OK(!policy_storable(&rq, &ok), "request no-store");

    const struct http_field auth[] = { F("authorization", "Basic x") };
    rq = req_of(CACHE_GET, auth, 1);
    TAP_OK(!policy_storable(&rq, &ok), "Authorization without public/s-maxage/must-revalidate");
    const char *allow[] = { "public, max-age=60", "s-maxage=60", "must-revalidate, max-age=60" };
    for (size_t i = 0; i < 3; i++) {
        struct http_field f = { "cache-control", 13, allow[i], strlen(allow[i]) };
        r = resp_of(200, &f, 1);
        TAP_OK(policy_storable(&rq, &r), allow[i]);
    }
    const struct http_field pub[] = { F("cache-control", "public") };
    r = resp_of(500, pub, 1);
    TAP_OK(!policy_storable(plain_get(), &r), "public does not make 500 storable");
    r = resp_of(302, pub, 1);
    TAP_OK(policy_storable(plain_get(), &r), "public makes 302 storable");
}

static int64_t life(int status, const struct http_field *f, size_t n)
{
    struct cache_resp_facts r = resp_of(status, f, n);
    return policy_lifetime_ms(&r, NOW);
}

static void lifetimes(void)
{
    const struct http_field a[] = { F("cache-control", "max-age=60, s-maxage=120") };
    TAP_INT_EQ(life(200, a, 1), 120000, "s-maxage first");
    const struct http_field b[] = { F("cache-control", "max-age=60"),
                                    F("expires", "Thu, 01 Jan 2037 00:00:00 GMT") };
    TAP_INT_EQ(life(200, b, 2), 60000, "max-age over Expires");
    const struct http_field c[] = { F("date", "Tue, 14 Nov 2023 22:13:20 GMT"),
                                    F("expires", "Tue, 14 Nov 2023 22:14:20 GMT") };
    TAP_INT_EQ(life(200, c, 2), 60000, "Expires - Date");
    const struct http_field d[] = { F("expires", "Tue, 14 Nov 2023 22:14:20 GMT") };
    TAP_INT_EQ(life(200, d, 1), 60000, "Expires - response time without Date");
    const struct http_field e[] = { F("date", "garbage"),
                                    F("expires", "Tue, 14 Nov 2023 22:14:20 GMT") };
    TAP_INT_EQ(life(200, e, 2), 60000, "malformed Date: response time");
    const struct http_field f[] = { F("expires", "0"), F("cache-control", "immutable") };
    TAP_INT_EQ(life(200, f, 2), 0, "invalid Expires: expired, immutable or not");
    const struct http_field g[] = { F("date", "Tue, 14 Nov 2023 22:13:20 GMT"),
                                    F("expires", "Tue, 14 Nov 2023 22:12:20 GMT") };
    TAP_INT_EQ(life(200, g, 2), 0, "Expires before Date");
    const struct http_field h[] = { F("expires", "Tue, 14 Nov 2023 22:14:20 GMT"),
                                    F("expires", "Tue, 14 Nov 2023 22:15:20 GMT") };
    TAP_INT_EQ(life(200, h, 2), 0, "two different Expires: expired");
    const struct http_field i[] = { F("date", "Tue, 14 Nov 2023 22:13:20 GMT"),
                                    F("last-modified", "Sat, 04 Nov 2023 22:13:20 GMT") };
    TAP_INT_EQ(life(200, i, 2), 86400000, "10% of Date - Last-Modified");
    const struct http_field j[] = { F("last-modified", "Sat, 04 Nov 2023 22:13:20 GMT"),
                                    F("cache-control", "immutable") };
    TAP_INT_EQ(life(200, j, 2), 86400000, "immutable: at least 24 h");
    const struct http_field k[] = { F("cache-control", "immutable, max-age=5") };
    TAP_INT_EQ(life(200, k, 1), 5000, "max-age wins over immutable's floor");
    const struct http_field l[] = { F("last-modified", "Thu, 01 Jan 2037 00:00:00 GMT") };
    TAP_INT_EQ(life(200, l, 1), 0, "Last-Modified in the future");
    TAP_INT_EQ(life(200, NULL, 0), 0, "nothing: 0");

    const char *zero[] = { "no-cache, max-age=60", "proxy-revalidate, max-age=60" };
    for (size_t n = 0; n < 2; n++) {
        struct http_field z = { "cache-control", 13, zero[n], strlen(zero[n]) };
        TAP_INT_EQ(life(200, &z, 1), 0, zero[n]);
    }
    const struct http_field vs[] = { F("cache-control", "max-age=60"), F("vary", "accept, *") };
    TAP_INT_EQ(life(200, vs, 2), 0, "Vary: *");
    const struct http_field sc[] = { F("cache-control", "max-age=60"), F("set-cookie", "a=1") };
    TAP_INT_EQ(life(200, sc, 2), 0, "Set-Cookie");
    const struct http_field scp[] = { F("cache-control", "public, max-age=60"),
                                      F("set-cookie", "a=1") };
    TAP_INT_EQ(life(200, scp, 2), 60000, "Set-Cookie with public");
    const struct http_field sci[] = { F("cache-control", "immutable, max-age=60"),
                                      F("set-cookie", "a=1") };
    TAP_INT_EQ(life(200, sci, 2), 60000, "Set-Cookie with immutable");
    const struct http_field pr[] = { F("pragma", "no-cache"),
                                     F("expires", "Thu, 01 Jan 2037 00:00:00 GMT") };
    TAP_INT_EQ(life(200, pr, 2), 0, "Pragma: no-cache without Cache-Control");
    const struct http_field prc[] = { F("pragma", "no-cache"), F("cache-control", "max-age=9") };
    TAP_INT_EQ(life(200, prc, 2), 9000, "Pragma ignored beside Cache-Control");
}

static void ages(void)
{
    TAP_INT_EQ(policy_age_ms(NOW, 0, NOW + 1500), 1500, "resident time");
    TAP_INT_EQ(policy_age_ms(NOW, 30, NOW + 1000), 31000, "plus the upstream's Age");
    TAP_INT_EQ(policy_age_ms(NOW, 0, NOW - 5000), 0, "clock going back");
    const struct http_field junk[] = { F("age", "x1") };
    struct cache_resp_facts r = resp_of(200, junk, 1);
    TAP_INT_EQ(r.age_s, 0, "malformed Age reads 0");
}

static bool sat(const char *cc, int64_t lifetime, int64_t age, bool must_revalidate)
{
    struct http_field f = { "cache-control", 13, cc, strlen(cc) };
    struct cache_req_facts r = req_of(CACHE_GET, &f, cc[0] ? 1 : 0);
    return policy_satisfies(&r, lifetime, age, must_revalidate);
}

static void satisfaction(void)
{
    TAP_OK(sat("", 60000, 1000, false), "fresh");
    TAP_OK(!sat("", 60000, 60000, false), "stale at the lifetime");
    TAP_OK(!sat("", 0, 0, false), "lifetime 0 never served");
    TAP_OK(!sat("max-stale", 0, 0, false), "... even with max-stale");
    TAP_OK(!sat("no-cache", 60000, 0, false), "request no-cache");
    const struct http_field pragma[] = { F("pragma", "no-cache") };
    struct cache_req_facts pr = req_of(CACHE_GET, pragma, 1);
    TAP_OK(!policy_satisfies(&pr, 60000, 0, false), "request Pragma: no-cache");
    TAP_OK(!sat("max-age=0", 60000, 1, false), "max-age=0");
    TAP_OK(!sat("max-age=0", 60000, 0, false), "max-age=0 at age 0");
    TAP_OK(sat("max-age=10", 60000, 10000, false), "max-age: age equal");
    TAP_OK(!sat("max-age=10", 60000, 10001, false), "max-age: older");
    TAP_OK(sat("min-fresh=10", 60000, 50000, false), "min-fresh: exactly");
    TAP_OK(!sat("min-fresh=10", 60000, 50001, false), "min-fresh: less left");
    TAP_OK(sat("max-stale=10", 60000, 69999, false), "max-stale: within");
    TAP_OK(!sat("max-stale=10", 60000, 70000, false), "max-stale: beyond");
    TAP_OK(sat("max-stale", 60000, 1000000000, false), "max-stale unbounded");
    TAP_OK(!sat("max-stale", 60000, 70000, true), "must-revalidate forbids stale");
    TAP_OK(sat("max-stale", 60000, 1000, true), "must-revalidate while fresh");
}

int main(void)
{
    storability();
    lifetimes();
    ages();
    satisfaction();
    return tap_done();
}
