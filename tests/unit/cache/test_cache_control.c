/* Unit tests for src/cache/cache_control.c. */
#include "../tap.h"
#include "cache/cache_control.h"

#include <stdint.h>
#include <string.h>

static struct cc_directives parse(const char *v)
{
    struct cc_directives d;
    cc_init(&d);
    cc_parse(&d, v, strlen(v));
    return d;
}

static void directives(void)
{
    struct cc_directives d = parse("");
    TAP_OK(!d.no_store && !d.no_cache && d.max_age == CC_ABSENT && d.s_maxage == CC_ABSENT &&
               d.min_fresh == CC_ABSENT && d.max_stale == CC_ABSENT,
           "empty: nothing given");
    d = parse("No-Store, NO-CACHE, private, Public, must-revalidate, proxy-revalidate, immutable, "
              "only-if-cached");
    TAP_OK(d.no_store && d.no_cache && d.private_ && d.public_ && d.must_revalidate &&
               d.proxy_revalidate && d.immutable && d.only_if_cached,
           "flags, any case");
    d = parse("max-age=60, s-maxage=120 , min-fresh=5,max-stale=7");
    TAP_INT_EQ(d.max_age, 60, "max-age");
    TAP_INT_EQ(d.s_maxage, 120, "s-maxage");
    TAP_INT_EQ(d.min_fresh, 5, "min-fresh");
    TAP_INT_EQ(d.max_stale, 7, "max-stale");
    TAP_INT_EQ(parse("max-stale").max_stale, CC_UNBOUNDED, "max-stale without a value");
    TAP_INT_EQ(parse("max-age=\"30\"").max_age, 30, "quoted number");
    TAP_INT_EQ(parse("max-age = 30").max_age, 30, "spaces around =");
    TAP_INT_EQ(parse("max-age=").max_age, 0, "empty value: stale");
    TAP_INT_EQ(parse("max-age=-1").max_age, 0, "negative: stale");
    TAP_INT_EQ(parse("max-age=1e3").max_age, 0, "not digits: stale");
    TAP_INT_EQ(parse("max-age").max_age, 0, "no value: stale");
    TAP_INT_EQ(parse("max-age=99999999999999999999999").max_age, 2147483648LL, "capped at 2^31");
    TAP_INT_EQ(parse("max-age=60, max-age=60").max_age, 60, "same twice");
    TAP_INT_EQ(parse("max-age=60, max-age=10").max_age, 0, "contradictory: stale");
    d = parse("no-cache=\"set-cookie, x\", max-age=5");
    TAP_OK(d.no_cache && d.max_age == 5, "quoted comma does not split");
    d = parse(",,, ;, =, \"unterminated, max-age=5");
    TAP_OK(d.max_age == CC_ABSENT, "garbage and an open quote swallow the rest");
    d = parse("private=\"x\", foo=bar, max-age=5");
    TAP_OK(d.private_ && d.max_age == 5, "qualified private, unknown directive ignored");
    struct cc_directives acc;
    cc_init(&acc);
    cc_parse(&acc, "max-age=5", 9);
    cc_parse(&acc, "no-store", 8);
    TAP_OK(acc.max_age == 5 && acc.no_store, "directives of several lines add up");
}

static void lists(void)
{
    TAP_OK(cc_list_has("gzip, No-Cache", 14, "no-cache", 8), "token found, any case");
    TAP_OK(!cc_list_has("no-cachex", 9, "no-cache", 8), "whole element only");
    TAP_OK(cc_list_has(" * ", 3, "*", 1), "star");
    TAP_OK(!cc_list_has("", 0, "*", 1), "empty list");
    size_t pos = 0, len;
    const char *el;
    const char *v = " a ,, b\t,";
    const char *want[] = { "a", "", "b", "" };
    int n = 0, ok = 1;
    while (cc_list_next(v, strlen(v), &pos, &el, &len)) {
        ok &= n < 4 && len == strlen(want[n]) && memcmp(el, want[n], len) == 0;
        n++;
    }
    TAP_OK(ok && n == 4, "elements trimmed, empty ones kept");
}

static void dates(void)
{
    const char *imf = "Sun, 06 Nov 1994 08:49:37 GMT";
    TAP_INT_EQ(cc_http_date(imf, strlen(imf)), 784111777, "IMF-fixdate");
    const char *rfc850 = "Sunday, 06-Nov-94 08:49:37 GMT";
    TAP_INT_EQ(cc_http_date(rfc850, strlen(rfc850)), 784111777, "RFC 850");
    const char *asc = "Sun Nov  6 08:49:37 1994";
    TAP_INT_EQ(cc_http_date(asc, strlen(asc)), 784111777, "asctime");
    const char *pad = "  Thu, 01 Jan 1970 00:00:00 GMT ";
    TAP_INT_EQ(cc_http_date(pad, strlen(pad)), 0, "epoch, spaces trimmed");
    const char *leap = "Thu, 29 Feb 2024 12:00:00 GMT";
    TAP_INT_EQ(cc_http_date(leap, strlen(leap)), 1709208000, "leap day");
    const char *bad[] = {
        "0",
        "",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:49:37 GMT",
        "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 19x4 08:49:37 GMT",
        "Sun, 31 Apr 1994 08:49:37 GMT",
        "Sunday, 06-Nov-9x 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        TAP_INT_EQ(cc_http_date(bad[i], strlen(bad[i])), -1, bad[i]);
}

static void deltas_and_etags(void)
{
    TAP_INT_EQ(cc_delta_seconds("120", 3), 120, "delta-seconds");
    TAP_INT_EQ(cc_delta_seconds("", 0), -1, "empty");
    TAP_INT_EQ(cc_delta_seconds("1 2", 3), -1, "space inside");
    TAP_INT_EQ(cc_delta_seconds("-1", 2), -1, "negative");
    TAP_INT_EQ(cc_delta_seconds("99999999999999999999", 20), 2147483648LL, "capped");
    TAP_OK(cc_etag_match("\"a\", \"b\"", 8, "\"b\"", 3), "a listed tag");
    TAP_OK(cc_etag_match("W/\"b\"", 5, "\"b\"", 3), "weak request tag");
    TAP_OK(cc_etag_match("\"b\"", 3, "W/\"b\"", 5), "weak stored tag");
    TAP_OK(cc_etag_match("*", 1, "\"x\"", 3), "star");
    TAP_OK(!cc_etag_match("\"c\"", 3, "\"b\"", 3), "other tag");
    TAP_OK(!cc_etag_match("b", 1, "b", 1), "unquoted is not a tag");
    TAP_OK(!cc_etag_match("*", 1, "", 0), "no stored tag");
}

int main(void)
{
    directives();
    lists();
    dates();
    deltas_and_etags();
    return tap_done();
}
