/* Unit tests for src/util/strdist.c. */
#include "../tap.h"
#include "util/strdist.h"

#include <stdint.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct dist_case {
    const char *a, *b;
    size_t d;
};

static const struct dist_case cases[] = {
    { "", "", 0 },
    { "a", "", 1 },
    { "", "abc", 3 },
    { "abc", "abc", 0 },
    { "abc", "abd", 1 },  /* substitution */
    { "abc", "abcd", 1 }, /* insertion */
    { "abcd", "abc", 1 }, /* deletion */
    { "abc", "acb", 1 },  /* adjacent transposition */
    { "ab", "ba", 1 },
    { "abcdef", "badcfe", 3 },
    { "kitten", "sitting", 3 },
    { "flaw", "lawn", 2 },
    { "saturday", "sunday", 3 },
    { "ca", "abc", 3 },  /* OSA, not full Damerau (which gives 2) */
    { "abc", "ABC", 3 }, /* case-sensitive */
    { "listen_port", "listen_prot", 1 },
    { "listen_port", "listen_port_tls", 4 },
    { "upstream", "upstraem", 1 },
    { "upstream", "upstrem", 1 },
    { "tls", "tsl", 1 },
    { "server_name", "server_nmae", 1 },
    { "reverse_proxy", "revers_proxy", 1 },
    { "abcdefghij", "jihgfedcba", 9 },
};

static void test_distances(void)
{
    char msg[128];
    for (size_t i = 0; i < COUNT(cases); i++) {
        const struct dist_case *c = &cases[i];
        snprintf(msg, sizeof msg, "strdist(\"%s\", \"%s\")", c->a, c->b);
        TAP_INT_EQ(strdist(c->a, c->b), c->d, msg);
        snprintf(msg, sizeof msg, "strdist(\"%s\", \"%s\") is symmetric", c->b, c->a);
        TAP_INT_EQ(strdist(c->b, c->a), c->d, msg);
    }
}

static void test_long(void)
{
    char a[80], b[80];
    memset(a, 'x', 64);
    a[64] = '\0';
    memcpy(b, a, 65);
    b[0] = 'y';
    TAP_INT_EQ(strdist(a, a), 0, "64 bytes equal");
    TAP_INT_EQ(strdist(a, b), 1, "64 bytes, one substitution");
    TAP_INT_EQ(strdist(a, ""), 64, "64 bytes vs empty");

    memset(a, 'x', 65);
    a[65] = '\0';
    TAP_OK(strdist(a, a) > 1000, "65 bytes is too long: large distance");
    TAP_OK(strdist("x", a) > 1000, "either side too long");
    TAP_OK(strdist(a, "") > 1000, "too long vs empty");
}

static void test_suggest(void)
{
    static const char *const keys[] = {
        "listen_port",
        "listen_port_tls",
        "listen_ipv6",
        "https_redirection_port",
        "tcp_listen_backlog",
        "max_concurrent_streams",
        "apps",
        "experimental",
        "default_app",
        "tls",
        "upstream",
        "location",
        "path",
    };
    const size_t n = COUNT(keys);

    TAP_STR_EQ(strdist_suggest("listen_prot", keys, n), "listen_port", "transposed key");
    TAP_STR_EQ(strdist_suggest("listen_port_tl", keys, n), "listen_port_tls", "missing char");
    TAP_STR_EQ(strdist_suggest("listen_ipv4", keys, n), "listen_ipv6", "substitution");
    TAP_STR_EQ(strdist_suggest("defualt_app", keys, n), "default_app", "transposition");
    TAP_STR_EQ(strdist_suggest("upstreams", keys, n), "upstream", "plural");
    TAP_STR_EQ(strdist_suggest("loaction", keys, n), "location", "typo in location");
    TAP_STR_EQ(strdist_suggest("upstream", keys, n), "upstream", "exact match");
    TAP_STR_EQ(strdist_suggest("lisen_prt", keys, n), "listen_port", "distance 2 on a long word");
    TAP_OK(strdist_suggest("lsn_prt", keys, n) == NULL, "distance 4 is not a typo");
    TAP_OK(strdist_suggest("something_else", keys, n) == NULL, "unrelated word");

    /* short words: at most one edit */
    TAP_STR_EQ(strdist_suggest("tsl", keys, n), "tls", "short word, transposition");
    TAP_STR_EQ(strdist_suggest("app", keys, n), "apps", "short word, one insertion");
    TAP_STR_EQ(strdist_suggest("pth", keys, n), "path", "short word, one deletion");
    TAP_OK(strdist_suggest("ap", keys, n) == NULL, "short word, two edits");
    TAP_OK(strdist_suggest("pat", keys, n) != NULL, "4-byte boundary, one edit");
    TAP_OK(strdist_suggest("pxtx", keys, n) == NULL, "4-byte word, two edits");
    TAP_STR_EQ(strdist_suggest("apsss", keys, n), "apps", "5-byte word allows two edits");

    /* ties keep the first candidate; NULL entries are skipped */
    static const char *const tie[] = { "abcd", "abce" };
    TAP_STR_EQ(strdist_suggest("abcf", tie, 2), "abcd", "first of equal candidates");
    static const char *const tie2[] = { "abce", "abcd" };
    TAP_STR_EQ(strdist_suggest("abcf", tie2, 2), "abce", "first of equal candidates (swapped)");
    static const char *const closer[] = { "abxyz", "abcdx" };
    TAP_STR_EQ(strdist_suggest("abcde", closer, 2), "abcdx", "closest wins over first");
    static const char *const with_null[] = { NULL, "port" };
    TAP_STR_EQ(strdist_suggest("prot", with_null, 2), "port", "NULL candidate skipped");
    TAP_OK(strdist_suggest("port", keys, 0) == NULL, "no candidates");

    char longword[100];
    memset(longword, 'a', 99);
    longword[99] = '\0';
    static const char *const longs[] = { "aaaa" };
    TAP_OK(strdist_suggest(longword, longs, 1) == NULL, "over-long word suggests nothing");
}

int main(void)
{
    test_distances();
    test_long();
    test_suggest();
    return tap_done();
}
