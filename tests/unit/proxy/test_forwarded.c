/* Unit tests for src/proxy/forwarded*.c: SPEC section 5 (forwarding headers
 * and the trust boundary), every example of it verbatim. */
#include "../tap.h"
#include "proxy/forwarded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXLINES 4

/* ---- helpers ---- */

static size_t parse_nets(const char *list, struct ip_cidr *nets, size_t cap)
{
    size_t n = 0;
    const char *p = list;

    while (p && *p && n < cap) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && *p == ' ') {
            p++;
            len--;
        }
        if (ip_cidr_parse(p, len, &nets[n], NULL) == 0)
            n++;
        else
            printf("# bad CIDR in test: %.*s\n", (int)len, p);
        p = end ? end + 1 : NULL;
    }
    return n;
}

static struct ip_addr addr(const char *s)
{
    struct ip_addr a;
    if (ip_parse(s, strlen(s), &a, NULL) < 0) {
        printf("# bad address in test: %s\n", s);
        memset(&a, 0, sizeof a);
    }
    return a;
}

static size_t to_lines(const char *const *in, struct fwd_str *out)
{
    size_t n = 0;
    while (n < MAXLINES && in[n]) {
        out[n].p = in[n];
        out[n].len = strlen(in[n]);
        n++;
    }
    return n;
}

/* One request as the tests describe it. */
struct req {
    const char *peer;
    const char *trusted; /* comma-separated CIDRs */
    const char *xff[MAXLINES + 1];
    const char *fwd[MAXLINES + 1];
    const char *xfp; /* NULL: absent */
    bool tls;
    const char *host; /* NULL: none */
};

/* Storage behind a struct fwd_input built from a struct req. */
struct built {
    struct ip_cidr nets[16];
    struct fwd_str xff[MAXLINES], fwd[MAXLINES], xfp, host;
    struct fwd_input in;
};

static void build(const struct req *r, struct built *b)
{
    memset(b, 0, sizeof *b);
    b->in.peer = addr(r->peer);
    b->in.ntrusted = parse_nets(r->trusted, b->nets, 16);
    b->in.trusted = b->nets;
    b->in.nxff = to_lines(r->xff, b->xff);
    b->in.xff = b->xff;
    b->in.nforwarded = to_lines(r->fwd, b->fwd);
    b->in.forwarded = b->fwd;
    if (r->xfp) {
        b->xfp = (struct fwd_str){ r->xfp, strlen(r->xfp) };
        b->in.xfp = &b->xfp;
    }
    b->in.tls = r->tls;
    if (r->host) {
        b->host = (struct fwd_str){ r->host, strlen(r->host) };
        b->in.host = &b->host;
    }
}

static struct fwd_chain chain; /* 6 KB; static to keep test frames small */

/* One rendered header value: rendering succeeded and gave want. */
static void check_value(const char *what, const char *header, ssize_t rc, const char *got,
                        const char *want)
{
    char msg[256];

    snprintf(msg, sizeof msg, "%s: %s", what, header);
    TAP_STR_EQ(rc >= 0 ? got : "(rendering failed)", want, msg);
}

/* Normalises r and checks every rendering. want_fwd: fwd_render_forwarded
 * (the 5.3 replacement), want_gen: fwd_render_forwarded_generated (5.5). */
static void check_norm(const char *what, const struct req *r, const char *want_xff,
                       const char *want_real_ip, const char *want_fwd, const char *want_gen,
                       unsigned want_warn)
{
    struct built b;
    char buf[8192], msg[256];
    ssize_t rc;

    build(r, &b);
    fwd_normalize(&b.in, &chain);

    rc = fwd_render_xff(chain.hop, chain.n, buf, sizeof buf);
    check_value(what, "X-Forwarded-For", rc, buf, want_xff);
    rc = fwd_render_real_ip(chain.hop, chain.n, buf, sizeof buf);
    check_value(what, "X-Real-IP", rc, buf, want_real_ip);
    if (want_fwd) {
        rc = fwd_render_forwarded(chain.hop, chain.n, buf, sizeof buf);
        check_value(what, "Forwarded (replacing)", rc, buf, want_fwd);
    }
    if (want_gen) {
        rc = fwd_render_forwarded_generated(chain.hop, chain.n, r->tls, b.in.host, buf, sizeof buf);
        check_value(what, "Forwarded (forwarded_header)", rc, buf, want_gen);
    }
    snprintf(msg, sizeof msg, "%s: warnings", what);
    TAP_INT_EQ(chain.warnings, want_warn, msg);
    if (want_warn & (FWD_WARN_PARSE_FAILED | FWD_WARN_FORWARDED_INVALID)) {
        snprintf(msg, sizeof msg, "%s: reason given", what);
        TAP_OK(chain.why && chain.why[0], msg);
    }
}

/* Parses Forwarded lines and renders them back (fwd_render_forwarded). */
static int forwarded_roundtrip(const char *const *lines, char *out, size_t cap, size_t *total,
                               const char **why)
{
    static struct fwd_entry e[FWD_CHAIN_MAX];
    struct fwd_str l[MAXLINES];
    size_t n = to_lines(lines, l);

    *why = NULL;
    if (fwd_parse_forwarded(l, n, e, FWD_CHAIN_MAX, total, why) < 0)
        return -1;
    size_t kept = *total < FWD_CHAIN_MAX ? *total : FWD_CHAIN_MAX;
    if (kept == 0) {
        out[0] = '\0';
        return 0;
    }
    return fwd_render_forwarded(e, kept, out, cap) < 0 ? -2 : 0;
}

static void check_fwd_ok(const char *in, const char *want_render, size_t want_total)
{
    const char *lines[] = { in, NULL };
    char buf[4096], msg[300];
    const char *why;
    size_t total = 0;

    snprintf(msg, sizeof msg, "Forwarded parses: %s", in);
    TAP_INT_EQ(forwarded_roundtrip(lines, buf, sizeof buf, &total, &why), 0, msg);
    snprintf(msg, sizeof msg, "Forwarded entries: %s", in);
    TAP_INT_EQ(total, want_total, msg);
    snprintf(msg, sizeof msg, "Forwarded re-rendered: %s", in);
    TAP_STR_EQ(buf, want_render, msg);
}

static void check_fwd_bad(const char *in, const char *want_why)
{
    struct fwd_str l = { in, strlen(in) };
    size_t total = 0;
    const char *why = NULL;
    char msg[400];

    snprintf(msg, sizeof msg, "Forwarded fails: %s", in);
    TAP_INT_EQ(fwd_parse_forwarded(&l, 1, NULL, 0, &total, &why), -1, msg);
    snprintf(msg, sizeof msg, "Forwarded failure reason: %s", in);
    TAP_STR_EQ(why, want_why, msg);
}

static void check_xff_ok(const char *in, const char *want, size_t want_total)
{
    struct fwd_entry e[8];
    struct fwd_str l = { in, strlen(in) };
    size_t total = 0;
    char buf[1024], msg[300];

    snprintf(msg, sizeof msg, "X-Forwarded-For parses: %s", in);
    TAP_INT_EQ(fwd_parse_xff(&l, 1, e, 8, &total, NULL), 0, msg);
    snprintf(msg, sizeof msg, "X-Forwarded-For items: %s", in);
    TAP_INT_EQ(total, want_total, msg);
    if (total == 0)
        return;
    snprintf(msg, sizeof msg, "X-Forwarded-For re-rendered: %s", in);
    TAP_OK(fwd_render_xff(e, total < 8 ? total : 8, buf, sizeof buf) >= 0, msg);
    TAP_STR_EQ(buf, want, msg);
}

static void check_xff_bad(const char *in)
{
    struct fwd_str l = { in, strlen(in) };
    size_t total = 0;
    const char *why = NULL;
    char msg[300];

    snprintf(msg, sizeof msg, "X-Forwarded-For fails: %s", in);
    TAP_INT_EQ(fwd_parse_xff(&l, 1, NULL, 0, &total, &why), -1, msg);
    TAP_OK(why && why[0], "  with a reason");
}

/* ---- SPEC 5.6 examples and the trust boundary ---- */

static void test_spec_examples(void)
{
    /* 5.6: trusted 10.0.0.0/8, peer 10.1.2.3 */
    struct req a = { .peer = "10.1.2.3",
                     .trusted = "10.0.0.0/8",
                     .xff = { "198.51.100.10, 10.9.0.4" } };
    check_norm("5.6 example 1", &a, "198.51.100.10, 10.9.0.4, 10.1.2.3", "198.51.100.10", NULL,
               "for=198.51.100.10, for=10.9.0.4, for=10.1.2.3;proto=http", 0);

    struct req b = { .peer = "10.1.2.3",
                     .trusted = "10.0.0.0/8",
                     .xff = { "198.51.100.10, 203.0.113.20" } };
    check_norm("5.6 example 2", &b, "203.0.113.20, 10.1.2.3", "203.0.113.20", NULL,
               "for=203.0.113.20, for=10.1.2.3;proto=http", 0);

    struct req c = { .peer = "10.1.2.3",
                     .trusted = "10.0.0.0/8",
                     .fwd = { "for=unknown, for=10.9.0.4" } };
    check_norm("5.6 example 3", &c, "10.1.2.3", "10.1.2.3", "for=10.1.2.3;proto=http", NULL,
               FWD_WARN_NON_IP_HOP);

    /* 5.5: untrusted peer 203.0.113.10 over plain HTTP with Host app.example */
    struct req d = { .peer = "203.0.113.10", .trusted = "", .host = "app.example" };
    check_norm("5.5 example", &d, "203.0.113.10", "203.0.113.10",
               "for=203.0.113.10;proto=http;host=app.example",
               "for=203.0.113.10;proto=http;host=app.example", 0);

    /* 5.4: host with a port is quoted */
    struct req e = {
        .peer = "203.0.113.10", .trusted = "", .tls = true, .host = "app.example:8443"
    };
    check_norm("5.4 host=\"app.example:8443\"", &e, "203.0.113.10", "203.0.113.10",
               "for=203.0.113.10;proto=https;host=\"app.example:8443\"",
               "for=203.0.113.10;proto=https;host=\"app.example:8443\"", 0);
}

static void test_untrusted(void)
{
    struct req spoof = { .peer = "203.0.113.10",
                         .trusted = "10.0.0.0/8",
                         .xff = { "1.2.3.4" },
                         .fwd = { "for=1.2.3.4;proto=https;host=app.example" },
                         .xfp = "https",
                         .host = "app.example" };
    check_norm("untrusted peer ignores every header", &spoof, "203.0.113.10", "203.0.113.10",
               "for=203.0.113.10;proto=http;host=app.example",
               "for=203.0.113.10;proto=http;host=app.example", 0);
    TAP_OK(!chain.peer_trusted, "untrusted peer: peer_trusted false");

    struct req garbage = { .peer = "203.0.113.10",
                           .trusted = "10.0.0.0/8",
                           .xff = { "not an ip" },
                           .fwd = { "for=\"unterminated" } };
    check_norm("untrusted peer: malformed headers are not even read", &garbage, "203.0.113.10",
               "203.0.113.10", NULL, NULL, 0);

    struct req empty = { .peer = "10.1.2.3",
                         .trusted = "",
                         .xff = { "198.51.100.10" },
                         .fwd = { "for=198.51.100.10" } };
    check_norm("empty trusted list: chain is the peer", &empty, "10.1.2.3", "10.1.2.3",
               "for=10.1.2.3;proto=http", NULL, 0);
    TAP_OK(!chain.peer_trusted, "empty trusted list: peer_trusted false");

    struct req outside = { .peer = "192.0.2.1",
                           .trusted = "10.0.0.0/8, 2001:db8::/32",
                           .xff = { "198.51.100.10" } };
    check_norm("peer outside every trusted network", &outside, "192.0.2.1", "192.0.2.1", NULL, NULL,
               0);
}

static void test_trusted_chains(void)
{
    struct req none = { .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .host = "a.example" };
    check_norm("trusted peer without headers", &none, "10.1.2.3", "10.1.2.3", NULL,
               "for=10.1.2.3;proto=http;host=a.example", 0);
    TAP_OK(chain.peer_trusted, "trusted peer: peer_trusted true");

    struct req all = { .peer = "10.1.2.3",
                       .trusted = "10.0.0.0/8",
                       .xff = { "10.9.0.4, 10.8.0.1" } };
    check_norm("every hop trusted: all kept", &all, "10.9.0.4, 10.8.0.1, 10.1.2.3", "10.9.0.4",
               NULL, NULL, 0);

    struct req lines = { .peer = "10.1.2.3",
                         .trusted = "10.0.0.0/8",
                         .xff = { "198.51.100.10", "10.9.0.4" } };
    check_norm("several X-Forwarded-For field lines", &lines, "198.51.100.10, 10.9.0.4, 10.1.2.3",
               "198.51.100.10", NULL, NULL, 0);

    struct req spaces = { .peer = "10.1.2.3",
                          .trusted = "10.0.0.0/8",
                          .xff = { " , 198.51.100.10 ,,\t10.9.0.4 , ", "" } };
    check_norm("X-Forwarded-For: blanks and empty items skipped", &spaces,
               "198.51.100.10, 10.9.0.4, 10.1.2.3", "198.51.100.10", NULL, NULL, 0);

    struct req blank = { .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xff = { " , " } };
    check_norm("X-Forwarded-For without items", &blank, "10.1.2.3", "10.1.2.3", NULL, NULL, 0);

    struct req fwd = { .peer = "10.1.2.3",
                       .trusted = "10.0.0.0/8",
                       .fwd = { "for=198.51.100.10, for=10.9.0.4" },
                       .host = "app.example" };
    check_norm("Forwarded alone", &fwd, "198.51.100.10, 10.9.0.4, 10.1.2.3", "198.51.100.10",
               "for=198.51.100.10, for=10.9.0.4, for=10.1.2.3;proto=http;host=app.example",
               "for=198.51.100.10, for=10.9.0.4, for=10.1.2.3;proto=http;host=app.example", 0);

    struct req fwd_lines = { .peer = "10.1.2.3",
                             .trusted = "10.0.0.0/8",
                             .fwd = { "for=198.51.100.10", "for=10.9.0.4" },
                             .host = "app.example" };
    check_norm("several Forwarded field lines", &fwd_lines, "198.51.100.10, 10.9.0.4, 10.1.2.3",
               "198.51.100.10",
               "for=198.51.100.10, for=10.9.0.4, for=10.1.2.3;proto=http;host=app.example", NULL,
               0);

    struct req keep = {
        .peer = "10.1.2.3",
        .trusted = "10.0.0.0/8",
        .fwd = { "for=\"198.51.100.10:4711\";proto=https;host=\"a.example:8443\";by=_lb, "
                 "for=10.9.0.4;proto=HTTPS;secret=1" },
        .tls = true,
        .host = "app.example"
    };
    check_norm("Forwarded hops keep their parameters", &keep, "198.51.100.10, 10.9.0.4, 10.1.2.3",
               "198.51.100.10",
               "for=\"198.51.100.10:4711\";proto=https;host=\"a.example:8443\";by=_lb, "
               "for=10.9.0.4;proto=HTTPS, for=10.1.2.3;proto=https;host=app.example",
               "for=198.51.100.10, for=10.9.0.4, for=10.1.2.3;proto=https;host=app.example", 0);

    struct req left = { .peer = "10.1.2.3",
                        .trusted = "10.0.0.0/8",
                        .fwd = { "for=unknown, for=_hidden, for=198.51.100.10, for=10.9.0.4" } };
    check_norm("non-IP hops left of the boundary are dropped", &left,
               "198.51.100.10, 10.9.0.4, 10.1.2.3", "198.51.100.10", NULL, NULL, 0);

    struct req obf = { .peer = "10.1.2.3",
                       .trusted = "10.0.0.0/8",
                       .fwd = { "for=_hidden, for=10.9.0.4" } };
    check_norm("obfuscated boundary hop: peer only", &obf, "10.1.2.3", "10.1.2.3",
               "for=10.1.2.3;proto=http", NULL, FWD_WARN_NON_IP_HOP);

    struct req unknown_port = { .peer = "10.1.2.3",
                                .trusted = "10.0.0.0/8",
                                .fwd = { "for=198.51.100.10, for=\"unknown:8080\"" } };
    check_norm("unknown boundary hop: peer only", &unknown_port, "10.1.2.3", "10.1.2.3", NULL, NULL,
               FWD_WARN_NON_IP_HOP);
}

static void test_both_headers(void)
{
    struct req agree = { .peer = "10.1.2.3",
                         .trusted = "10.0.0.0/8",
                         .xff = { "198.51.100.10" },
                         .fwd = { "for=\"198.51.100.10:4711\";proto=https;by=_proxy" },
                         .xfp = "https",
                         .host = "app.example" };
    check_norm("both agree: Forwarded used", &agree, "198.51.100.10, 10.1.2.3", "198.51.100.10",
               "for=\"198.51.100.10:4711\";proto=https;by=_proxy, "
               "for=10.1.2.3;proto=http;host=app.example",
               "for=198.51.100.10, for=10.1.2.3;proto=http;host=app.example", 0);

    struct req agree_case = { .peer = "10.1.2.3",
                              .trusted = "10.0.0.0/8",
                              .xff = { "198.51.100.10" },
                              .fwd = { "for=198.51.100.10;proto=\"HTTPS\"" },
                              .xfp = " https " };
    check_norm("both agree: proto compared case-insensitively, XFP trimmed", &agree_case,
               "198.51.100.10, 10.1.2.3", "198.51.100.10",
               "for=198.51.100.10;proto=HTTPS, for=10.1.2.3;proto=http", NULL, 0);

    struct req one_proto = { .peer = "10.1.2.3",
                             .trusted = "10.0.0.0/8",
                             .xff = { "198.51.100.10, 10.9.0.4" },
                             .fwd = { "for=198.51.100.10, for=10.9.0.4;proto=https" } };
    check_norm("both agree: proto only in Forwarded", &one_proto,
               "198.51.100.10, 10.9.0.4, 10.1.2.3", "198.51.100.10",
               "for=198.51.100.10, for=10.9.0.4;proto=https, for=10.1.2.3;proto=http", NULL, 0);

    struct req mapped = { .peer = "10.1.2.3",
                          .trusted = "10.0.0.0/8",
                          .xff = { "::ffff:198.51.100.10" },
                          .fwd = { "for=\"[::ffff:198.51.100.10]\"" } };
    check_norm("both agree: IPv4-mapped equals IPv4", &mapped, "198.51.100.10, 10.1.2.3",
               "198.51.100.10", "for=198.51.100.10, for=10.1.2.3;proto=http", NULL, 0);

    /* rpxy's own test: XFF 198.51.100.10, Forwarded names another client */
    struct req other = { .peer = "10.1.2.3",
                         .trusted = "10.0.0.0/8",
                         .xff = { "198.51.100.10" },
                         .fwd = { "for=203.0.113.20;proto=https;host=app.example" },
                         .host = "app.example" };
    check_norm("disagree: other address", &other, "198.51.100.10, 10.1.2.3", "198.51.100.10",
               "for=198.51.100.10, for=10.1.2.3;proto=http;host=app.example", NULL,
               FWD_WARN_INCONSISTENT);

    struct req longer = { .peer = "10.1.2.3",
                          .trusted = "10.0.0.0/8",
                          .xff = { "198.51.100.10, 10.9.0.4" },
                          .fwd = { "for=10.9.0.4" } };
    check_norm("disagree: other length", &longer, "198.51.100.10, 10.9.0.4, 10.1.2.3",
               "198.51.100.10", "for=198.51.100.10, for=10.9.0.4, for=10.1.2.3;proto=http", NULL,
               FWD_WARN_INCONSISTENT);

    struct req order = { .peer = "10.1.2.3",
                         .trusted = "10.0.0.0/8",
                         .xff = { "198.51.100.10, 10.9.0.4" },
                         .fwd = { "for=10.9.0.4, for=198.51.100.10" } };
    check_norm("disagree: other order", &order, "198.51.100.10, 10.9.0.4, 10.1.2.3",
               "198.51.100.10", NULL, NULL, FWD_WARN_INCONSISTENT);

    struct req proto = { .peer = "10.1.2.3",
                         .trusted = "10.0.0.0/8",
                         .xff = { "198.51.100.10" },
                         .fwd = { "for=198.51.100.10;proto=https" },
                         .xfp = "http" };
    check_norm("disagree: proto of the last hop", &proto, "198.51.100.10, 10.1.2.3",
               "198.51.100.10", "for=198.51.100.10;proto=http, for=10.1.2.3;proto=http", NULL,
               FWD_WARN_INCONSISTENT);

    struct req unknown = { .peer = "10.1.2.3",
                           .trusted = "10.0.0.0/8",
                           .xff = { "198.51.100.10" },
                           .fwd = { "for=unknown" } };
    check_norm("disagree: unknown is not an address", &unknown, "198.51.100.10, 10.1.2.3",
               "198.51.100.10", NULL, NULL, FWD_WARN_INCONSISTENT);

    struct req empty_fwd = {
        .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xff = { "198.51.100.10" }, .fwd = { "" }
    };
    check_norm("disagree: empty Forwarded", &empty_fwd, "198.51.100.10, 10.1.2.3", "198.51.100.10",
               NULL, NULL, FWD_WARN_INCONSISTENT);

    struct req both_empty = {
        .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xff = { "" }, .fwd = { "" }
    };
    check_norm("both empty: peer only, no warning", &both_empty, "10.1.2.3", "10.1.2.3", NULL, NULL,
               0);

    struct req bad_fwd = { .peer = "10.1.2.3",
                           .trusted = "10.0.0.0/8",
                           .xff = { "198.51.100.10" },
                           .fwd = { "for=198.51.100.10;for=198.51.100.11" } };
    check_norm("Forwarded fails, X-Forwarded-For used", &bad_fwd, "198.51.100.10, 10.1.2.3",
               "198.51.100.10", "for=198.51.100.10, for=10.1.2.3;proto=http", NULL,
               FWD_WARN_FORWARDED_INVALID);
    TAP_STR_EQ(chain.why, "duplicate for= parameter", "  reason of the Forwarded failure");

    struct req only_bad_fwd = { .peer = "10.1.2.3",
                                .trusted = "10.0.0.0/8",
                                .fwd = { "proto=https" } };
    check_norm("only Forwarded, fails: peer only", &only_bad_fwd, "10.1.2.3", "10.1.2.3",
               "for=10.1.2.3;proto=http", NULL, FWD_WARN_PARSE_FAILED);
    TAP_STR_EQ(chain.why, "entry without for=", "  reason of the failure");

    struct req only_bad_xff = { .peer = "10.1.2.3",
                                .trusted = "10.0.0.0/8",
                                .xff = { "198.51.100.10, unknown" } };
    check_norm("only X-Forwarded-For, fails: peer only", &only_bad_xff, "10.1.2.3", "10.1.2.3",
               NULL, NULL, FWD_WARN_PARSE_FAILED);

    struct req bad_xff = { .peer = "10.1.2.3",
                           .trusted = "10.0.0.0/8",
                           .xff = { "198.51.100.10, _hidden" },
                           .fwd = { "for=198.51.100.10" } };
    check_norm("X-Forwarded-For fails, Forwarded fine: peer only (rpxy)", &bad_xff, "10.1.2.3",
               "10.1.2.3", NULL, NULL, FWD_WARN_PARSE_FAILED);

    struct req bad_xfp = {
        .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xff = { "198.51.100.10" }, .xfp = "https\x01"
    };
    check_norm("unreadable X-Forwarded-Proto with X-Forwarded-For: peer only", &bad_xfp, "10.1.2.3",
               "10.1.2.3", NULL, NULL, FWD_WARN_PARSE_FAILED);
}

static void test_ipv6_and_ports(void)
{
    struct req v6 = { .peer = "2001:db8:ffff::1",
                      .trusted = "10.0.0.0/8, 2001:db8:ffff::/48",
                      .xff = { "2001:0DB8:0:0::0001, [2001:db8:ffff::2]:8443" },
                      .tls = true,
                      .host = "[2001:db8::80]:8443" };
    check_norm("IPv6 chain", &v6, "2001:db8::1, 2001:db8:ffff::2, 2001:db8:ffff::1", "2001:db8::1",
               NULL,
               "for=\"[2001:db8::1]\", for=\"[2001:db8:ffff::2]\", "
               "for=\"[2001:db8:ffff::1]\";proto=https;host=\"[2001:db8::80]:8443\"",
               0);

    struct req v6fwd = { .peer = "2001:db8:ffff::1",
                         .trusted = "2001:db8:ffff::/48",
                         .fwd = {
                             "for=\"[2001:db8:cafe::17]:4711\", For=\"[2001:db8:ffff::2]\"" } };
    check_norm("IPv6 in Forwarded, port kept", &v6fwd,
               "2001:db8:cafe::17, 2001:db8:ffff::2, 2001:db8:ffff::1", "2001:db8:cafe::17",
               "for=\"[2001:db8:cafe::17]:4711\", for=\"[2001:db8:ffff::2]\", "
               "for=\"[2001:db8:ffff::1]\";proto=http",
               NULL, 0);

    struct req mapped_peer = { .peer = "::ffff:10.1.2.3",
                               .trusted = "10.0.0.0/8",
                               .xff = { "::ffff:198.51.100.10" } };
    check_norm("IPv4-mapped peer and hop shown as IPv4", &mapped_peer, "198.51.100.10, 10.1.2.3",
               "198.51.100.10", "for=198.51.100.10, for=10.1.2.3;proto=http", NULL, 0);

    struct req mapped_untrusted = { .peer = "::ffff:203.0.113.10", .trusted = "" };
    check_norm("IPv4-mapped untrusted peer", &mapped_untrusted, "203.0.113.10", "203.0.113.10",
               "for=203.0.113.10;proto=http", NULL, 0);

    struct req ports = { .peer = "10.1.2.3",
                         .trusted = "10.0.0.0/8",
                         .xff = { "198.51.100.10:5555, [2001:db8::5]:80" } };
    check_norm("X-Forwarded-For ports dropped", &ports, "2001:db8::5, 10.1.2.3", "2001:db8::5",
               "for=\"[2001:db8::5]\", for=10.1.2.3;proto=http", NULL, 0);

    struct req fports = { .peer = "10.1.2.3",
                          .trusted = "10.0.0.0/8",
                          .fwd = { "for=\"192.0.2.1:0080\", for=\"10.9.0.4:_p1\"" } };
    check_norm("Forwarded ports: number normalised, obfuscated kept", &fports,
               "192.0.2.1, 10.9.0.4, 10.1.2.3", "192.0.2.1",
               "for=\"192.0.2.1:80\", for=\"10.9.0.4:_p1\", for=10.1.2.3;proto=http", NULL, 0);
}

static void test_quoting(void)
{
    struct req esc = { .peer = "10.1.2.3",
                       .trusted = "10.0.0.0/8",
                       .fwd = { "for=198.51.100.10;host=\"a\\\"b\\\\c\";by=\"x y\";proto=\"\"" },
                       .host = "app.example" };
    check_norm("escapes kept in host and by", &esc, "198.51.100.10, 10.1.2.3", "198.51.100.10",
               "for=198.51.100.10;proto=\"\";host=\"a\\\"b\\\\c\";by=\"x y\", "
               "for=10.1.2.3;proto=http;host=app.example",
               NULL, 0);

    struct req tokens = { .peer = "10.1.2.3",
                          .trusted = "10.0.0.0/8",
                          .fwd = { "for=198.51.100.10;host=\"app.example\";by=\"_a-b.c\"" } };
    check_norm("quoted tokens rendered bare", &tokens, "198.51.100.10, 10.1.2.3", "198.51.100.10",
               "for=198.51.100.10;host=app.example;by=_a-b.c, for=10.1.2.3;proto=http", NULL, 0);

    struct req commas = { .peer = "10.1.2.3",
                          .trusted = "10.0.0.0/8",
                          .fwd = { "for=198.51.100.10;host=\"a,b;c=d\", for=10.9.0.4" } };
    check_norm(
        "',' and ';' inside quotes", &commas, "198.51.100.10, 10.9.0.4, 10.1.2.3", "198.51.100.10",
        "for=198.51.100.10;host=\"a,b;c=d\", for=10.9.0.4, for=10.1.2.3;proto=http", NULL, 0);

    struct req bare = { .peer = "10.1.2.3",
                        .trusted = "10.0.0.0/8",
                        .fwd = { "for = 198.51.100.10 ; host = a.example:8080 ;secure" } };
    check_norm("lenient: blanks around '=', unquoted host:port, flag ignored", &bare,
               "198.51.100.10, 10.1.2.3", "198.51.100.10",
               "for=198.51.100.10;host=\"a.example:8080\", for=10.1.2.3;proto=http", NULL, 0);

    struct req host_ipv6 = { .peer = "203.0.113.10", .trusted = "", .host = "[::1]:80" };
    check_norm("host IPv6 literal quoted", &host_ipv6, "203.0.113.10", "203.0.113.10",
               "for=203.0.113.10;proto=http;host=\"[::1]:80\"",
               "for=203.0.113.10;proto=http;host=\"[::1]:80\"", 0);
}

static void test_truncation(void)
{
    static char line[8192];
    size_t len = 0;

    /* 100 untrusted hops: the last one is the client */
    for (int i = 1; i <= 100; i++)
        len += (size_t)snprintf(line + len, sizeof line - len, "%s198.51.100.%d", i > 1 ? ", " : "",
                                i);
    struct req many = { .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xff = { line } };
    check_norm("100 hops: boundary found in the kept tail", &many, "198.51.100.100, 10.1.2.3",
               "198.51.100.100", NULL, NULL, FWD_WARN_TRUNCATED);

    /* one client then 80 trusted hops: only the last 63 are kept, all trusted */
    len = (size_t)snprintf(line, sizeof line, "198.51.100.1");
    for (int i = 1; i <= 80; i++)
        len += (size_t)snprintf(line + len, sizeof line - len, ", 10.0.%d.%d", i / 200, i);
    struct req trusted = { .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xff = { line } };
    struct built b;
    build(&trusted, &b);
    fwd_normalize(&b.in, &chain);
    TAP_INT_EQ(chain.n, FWD_CHAIN_MAX, "81 incoming hops, all kept ones trusted: chain is full");
    TAP_INT_EQ(chain.warnings, FWD_WARN_TRUNCATED, "  with the truncation warning");
    char buf[FWD_REAL_IP_MAX];
    fwd_render_real_ip(chain.hop, chain.n, buf, sizeof buf);
    TAP_STR_EQ(buf, "10.0.0.18", "  first kept hop is incoming hop 19");
}

/* ---- parsers ---- */

static void test_forwarded_parser(void)
{
    /* RFC 7239 examples */
    check_fwd_ok("for=\"_gazonk\"", "for=_gazonk", 1);
    check_fwd_ok("For=\"[2001:db8:cafe::17]:4711\"", "for=\"[2001:db8:cafe::17]:4711\"", 1);
    check_fwd_ok("for=192.0.2.60;proto=http;by=203.0.113.43",
                 "for=192.0.2.60;proto=http;by=203.0.113.43", 1);
    check_fwd_ok("for=192.0.2.43, for=198.51.100.17", "for=192.0.2.43, for=198.51.100.17", 2);
    check_fwd_ok("for=192.0.2.43,for=\"[2001:db8:cafe::17]\",for=unknown",
                 "for=192.0.2.43, for=\"[2001:db8:cafe::17]\", for=unknown", 3);
    /* nodes */
    check_fwd_ok("for=UNKNOWN", "for=unknown", 1);
    check_fwd_ok("for=\"unknown:80\"", "for=\"unknown:80\"", 1);
    check_fwd_ok("for=\"unknown:_p\"", "for=\"unknown:_p\"", 1);
    check_fwd_ok("for=_hidden", "for=_hidden", 1);
    check_fwd_ok("for=\"_hidden:_port-1.x\"", "for=\"_hidden:_port-1.x\"", 1);
    check_fwd_ok("for=\"_h:65535\"", "for=\"_h:65535\"", 1);
    check_fwd_ok("for=\"1.2.3.4:0\"", "for=\"1.2.3.4:0\"", 1);
    check_fwd_ok("for=\"1.2.3.4:_x\"", "for=\"1.2.3.4:_x\"", 1);
    check_fwd_ok("for=1.2.3.4:80", "for=\"1.2.3.4:80\"", 1);
    check_fwd_ok("for=[::1]", "for=\"[::1]\"", 1);
    check_fwd_ok("for=\"[::ffff:192.0.2.1]:8\"", "for=\"192.0.2.1:8\"", 1);
    check_fwd_ok("for=\"\\1.2.3.\\4\"", "for=1.2.3.4", 1);
    /* parameters */
    check_fwd_ok("for=1.2.3.4;secret=x;secret=y;FOO", "for=1.2.3.4", 1);
    check_fwd_ok("By=b;HOST=h;Proto=p;FOR=1.2.3.4", "for=1.2.3.4;proto=p;host=h;by=b", 1);
    check_fwd_ok(", for=1.2.3.4;;proto=http ;, ,", "for=1.2.3.4;proto=http", 1);
    check_fwd_ok("for=1.2.3.4;host=", "for=1.2.3.4;host=\"\"", 1);
    check_fwd_ok("for=1.2.3.4;host=\"a\\\\\"", "for=1.2.3.4;host=\"a\\\\\"", 1);
    check_fwd_ok("for=1.2.3.4;host=a\"b\"c", "for=1.2.3.4;host=\"a\\\"b\\\"c\"", 1);
    check_fwd_ok("for=1.2.3.4;host=\"a\tb\"", "for=1.2.3.4;host=\"a\tb\"", 1);
    check_fwd_ok("", "", 0);
    check_fwd_ok(" , ,", "", 0);

    /* duplicate parameters */
    check_fwd_bad("for=1.2.3.4;for=1.2.3.4", "duplicate for= parameter");
    check_fwd_bad("for=1.2.3.4;FOR=5.6.7.8", "duplicate for= parameter");
    check_fwd_bad("for=1.2.3.4;proto=http;Proto=http", "duplicate proto= parameter");
    check_fwd_bad("for=1.2.3.4;host=a;host=a", "duplicate host= parameter");
    check_fwd_bad("for=1.2.3.4;by=a;BY=b", "duplicate by= parameter");
    /* every entry needs for= */
    check_fwd_bad("proto=https", "entry without for=");
    check_fwd_bad("for=1.2.3.4, proto=https", "entry without for=");
    check_fwd_bad("for;proto=https", "entry without for=");
    /* unterminated quotes */
    check_fwd_bad("for=\"1.2.3.4", "unterminated quoted-string");
    check_fwd_bad("for=1.2.3.4;host=\"abc", "unterminated quoted-string");
    check_fwd_bad("for=\"1.2.3.4\\\"", "unterminated quoted-string");
    check_fwd_bad("for=1.2.3.4;host=\"a\"b", "unterminated quoted-string");
    check_fwd_bad("for=1.2.3.4;host=a\"b", "unterminated quoted-string");
    check_fwd_bad("for=1.2.3.4, for=\"5.6.7.8, for=9.9.9.9", "unterminated quoted-string");
    /* invalid ports */
    check_fwd_bad("for=\"1.2.3.4:\"", "invalid port");
    check_fwd_bad("for=\"1.2.3.4:65536\"", "invalid port");
    check_fwd_bad("for=\"1.2.3.4:123456\"", "invalid port");
    check_fwd_bad("for=\"1.2.3.4:8a\"", "invalid port");
    check_fwd_bad("for=\"1.2.3.4:+80\"", "invalid port");
    check_fwd_bad("for=\"[::1]:-1\"", "invalid port");
    check_fwd_bad("for=\"[::1]:\"", "invalid port");
    check_fwd_bad("for=\"unknown:99999\"", "invalid port");
    check_fwd_bad("for=\"1.2.3.4:_\"", "invalid obfuscated port");
    check_fwd_bad("for=\"1.2.3.4:_a$\"", "invalid obfuscated port");
    /* invalid obfuscated identifiers */
    check_fwd_bad("for=_", "invalid obfuscated identifier");
    check_fwd_bad("for=_a$b", "invalid obfuscated identifier");
    check_fwd_bad("for=\"_a b\"", "invalid obfuscated identifier");
    check_fwd_bad("for=\"_a/b:80\"", "invalid obfuscated identifier");
    /* other invalid nodes */
    check_fwd_bad("for=2001:db8::1", "IPv6 address without brackets");
    check_fwd_bad("for=\"2001:db8::1\"", "IPv6 address without brackets");
    check_fwd_bad("for=example.com", "invalid IP address");
    check_fwd_bad("for=", "invalid IP address");
    check_fwd_bad("for=\"\"", "invalid IP address");
    check_fwd_bad("for=01.2.3.4", "invalid IP address");
    check_fwd_bad("for=\"[1.2.3.4]\"", "invalid IPv6 address");
    check_fwd_bad("for=\"[::1\"", "invalid IPv6 address");
    check_fwd_bad("for=\"[fe80::1%eth0]\"", "invalid IPv6 address");
    check_fwd_bad("for=\"[::1]x\"", "invalid node");
    check_fwd_bad("for=\"[::1]:80:80\"", "invalid port");
    check_fwd_bad("for=\"[unknown]\"", "invalid IPv6 address");
    check_fwd_bad("for=1.2.3.4;host=\x01", "invalid byte in Forwarded");
    check_fwd_bad("for=1.2.3.4;host=\"\xc3\xa9\"", "invalid byte in Forwarded");

    static char longnode[400];
    memset(longnode, 'a', sizeof longnode - 1);
    memcpy(longnode, "for=_", 5);
    check_fwd_bad(longnode, "for= node too long");

    /* a quoted-string cannot run across field lines */
    struct fwd_str split[2] = { { "for=1.2.3.4;host=\"a", 19 }, { "b\"", 2 } };
    size_t total = 0;
    TAP_INT_EQ(fwd_parse_forwarded(split, 2, NULL, 0, &total, NULL), -1,
               "quoted-string across field lines fails");
}

static void test_xff_parser(void)
{
    check_xff_ok("1.2.3.4", "1.2.3.4", 1);
    check_xff_ok(" 1.2.3.4 ,, 5.6.7.8 ,", "1.2.3.4, 5.6.7.8", 2);
    check_xff_ok("1.2.3.4:80, [::1]:443, [2001:db8::1], ::1", "1.2.3.4, ::1, 2001:db8::1, ::1", 4);
    check_xff_ok("::ffff:1.2.3.4", "1.2.3.4", 1);
    check_xff_ok("[::ffff:1.2.3.4]:9", "1.2.3.4", 1);
    check_xff_ok("2001:DB8:0:0:0:0:0:1", "2001:db8::1", 1);
    check_xff_ok("1.2.3.4:65535, 1.2.3.4:0", "1.2.3.4, 1.2.3.4", 2);
    check_xff_ok("", "", 0);
    check_xff_ok(" ,\t, ", "", 0);

    check_xff_bad("unknown");
    check_xff_bad("_hidden");
    check_xff_bad("\"1.2.3.4\"");
    check_xff_bad("1.2.3.4:");
    check_xff_bad("1.2.3.4:65536");
    check_xff_bad("1.2.3.4:_obf");
    check_xff_bad("[::1]:");
    check_xff_bad("[::1]x");
    check_xff_bad("[1.2.3.4]");
    check_xff_bad("example.com");
    check_xff_bad("1.2.3.4 5.6.7.8");
    check_xff_bad("01.2.3.4");
    check_xff_bad("fe80::1%eth0");
    check_xff_bad("1.2.3.4, 256.1.1.1");
    check_xff_bad("1.2.3.4;5.6.7.8");
    check_xff_bad("1.2.3.4\v");

    /* ring: the last cap items, in order */
    static char line[4096];
    size_t len = 0;
    for (int i = 1; i <= 100; i++)
        len += (size_t)snprintf(line + len, sizeof line - len, "%s10.0.0.%d", i > 1 ? "," : "", i);
    struct fwd_str l = { line, len };
    struct fwd_entry e[10];
    char buf[512];
    size_t total = 0;
    TAP_INT_EQ(fwd_parse_xff(&l, 1, e, 10, &total, NULL), 0, "100 items, cap 10");
    TAP_INT_EQ(total, 100, "  total counts every item");
    fwd_render_xff(e, 10, buf, sizeof buf);
    TAP_STR_EQ(buf,
               "10.0.0.91, 10.0.0.92, 10.0.0.93, 10.0.0.94, 10.0.0.95, 10.0.0.96, 10.0.0.97, "
               "10.0.0.98, 10.0.0.99, 10.0.0.100",
               "  the last 10, in order");
    TAP_INT_EQ(fwd_parse_xff(&l, 1, e, 7, &total, NULL), 0, "100 items, cap 7");
    fwd_render_xff(e, 7, buf, sizeof buf);
    TAP_STR_EQ(buf, "10.0.0.94, 10.0.0.95, 10.0.0.96, 10.0.0.97, 10.0.0.98, 10.0.0.99, 10.0.0.100",
               "  the last 7, in order");
}

static void test_forwarded_first(void)
{
    struct fwd_str l[2] = { { ", for=1.2.3.4;proto=https", 25 }, { "for=5.6.7.8;proto=http", 22 } };
    struct fwd_entry first;

    TAP_INT_EQ(fwd_parse_forwarded_first(l, 2, &first, NULL), 1, "first entry found");
    TAP_OK(fwd_value_eq_nocase(&first.proto, "HTTPS", 5), "  its proto");
    struct fwd_str empty = { " , ", 3 };
    TAP_INT_EQ(fwd_parse_forwarded_first(&empty, 1, &first, NULL), 0, "no entry");
    struct fwd_str bad = { "for=1.2.3.4, for=", 17 };
    const char *why = NULL;
    TAP_INT_EQ(fwd_parse_forwarded_first(&bad, 1, &first, &why), -1, "later entry malformed");
    TAP_OK(why != NULL, "  with a reason");
}

/* ---- SPEC 5.7 ---- */

static void check_scheme(const char *what, const struct req *r, enum fwd_scheme want)
{
    struct built b;
    build(r, &b);
    TAP_INT_EQ(fwd_client_scheme(&b.in), want, what);
}

static void test_scheme(void)
{
    const enum fwd_scheme H = FWD_SCHEME_HTTP, S = FWD_SCHEME_HTTPS;
    struct req r;

    r = (struct req){ .peer = "203.0.113.10", .trusted = "", .tls = true };
    check_scheme("TLS: https", &r, S);
    r = (struct req){ .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xfp = "http", .tls = true };
    check_scheme("TLS wins over X-Forwarded-Proto", &r, S);
    r = (struct req){ .peer = "203.0.113.10",
                      .trusted = "10.0.0.0/8",
                      .fwd = { "for=1.2.3.4;proto=https" },
                      .xfp = "https" };
    check_scheme("untrusted peer: http", &r, H);
    r = (struct req){ .peer = "10.1.2.3", .trusted = "", .xfp = "https" };
    check_scheme("empty trusted list: http", &r, H);
    r = (struct req){ .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xfp = "https" };
    check_scheme("trusted, X-Forwarded-Proto https", &r, S);
    r = (struct req){ .peer = "::ffff:10.1.2.3", .trusted = "10.0.0.0/8", .xfp = "HTTPS" };
    check_scheme("trusted mapped peer, HTTPS", &r, S);
    r = (struct req){ .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xfp = " https , http" };
    check_scheme("first comma element", &r, S);
    r = (struct req){ .peer = "10.1.2.3",
                      .trusted = "10.0.0.0/8",
                      .fwd = { "for=1.2.3.4;proto=https" },
                      .xfp = "http, https" };
    check_scheme("X-Forwarded-Proto before Forwarded", &r, H);
    r = (struct req){ .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xfp = "wss" };
    check_scheme("anything else: http", &r, H);
    r = (struct req){ .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xfp = "https\xc3\xa9, http" };
    check_scheme("UTF-8 X-Forwarded-Proto is read", &r, H);
    r = (struct req){ .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xfp = "https, \xc3\xa9" };
    check_scheme("UTF-8 after the first element", &r, S);
    r = (struct req){ .peer = "10.1.2.3",
                      .trusted = "10.0.0.0/8",
                      .fwd = { "for=1.2.3.4;proto=https" },
                      .xfp = "https\xff" };
    check_scheme("non-UTF-8 X-Forwarded-Proto: http, no fallback", &r, H);
    r = (struct req){
        .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .fwd = { "for=1.2.3.4;proto=https" }, .xfp = ""
    };
    check_scheme("empty X-Forwarded-Proto: Forwarded", &r, S);
    r = (struct req){ .peer = "10.1.2.3",
                      .trusted = "10.0.0.0/8",
                      .fwd = { "for=1.2.3.4;proto=https" },
                      .xfp = " ,https" };
    check_scheme("empty first element: Forwarded", &r, S);
    r = (struct req){ .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xfp = " ,https" };
    check_scheme("empty first element, no Forwarded: http", &r, H);
    r = (struct req){ .peer = "10.1.2.3",
                      .trusted = "10.0.0.0/8",
                      .fwd = { "for=1.2.3.4;proto=\"HTTPS\", for=5.6.7.8;proto=http" } };
    check_scheme("proto= of the first Forwarded entry", &r, S);
    r = (struct req){ .peer = "10.1.2.3",
                      .trusted = "10.0.0.0/8",
                      .fwd = { "for=1.2.3.4, for=5.6.7.8;proto=https" } };
    check_scheme("first entry without proto=: http", &r, H);
    r = (struct req){ .peer = "10.1.2.3",
                      .trusted = "10.0.0.0/8",
                      .fwd = { "for=1.2.3.4;proto=https, for=5.6.7.8;proto=https;proto=https" } };
    check_scheme("malformed Forwarded: http", &r, H);
    r = (struct req){ .peer = "10.1.2.3", .trusted = "10.0.0.0/8" };
    check_scheme("trusted, no headers: http", &r, H);
}

/* ---- rendering ---- */

static void test_render_limits(void)
{
    struct req r = {
        .peer = "10.1.2.3", .trusted = "10.0.0.0/8", .xff = { "198.51.100.10" }, .host = "a.b"
    };
    struct built b;
    char buf[64];

    build(&r, &b);
    fwd_normalize(&b.in, &chain);
    TAP_INT_EQ(fwd_render_xff(chain.hop, chain.n, NULL, 0), 23, "measure X-Forwarded-For");
    TAP_INT_EQ(fwd_render_xff(chain.hop, chain.n, buf, 24), 23, "exact fit with the NUL");
    TAP_STR_EQ(buf, "198.51.100.10, 10.1.2.3", "  value");
    TAP_INT_EQ(fwd_render_xff(chain.hop, chain.n, buf, 23), -1, "no room for the NUL: -1");
    TAP_INT_EQ(fwd_render_xff(chain.hop, chain.n, buf, 5), -1, "too small: -1");
    TAP_INT_EQ(fwd_render_forwarded(chain.hop, chain.n, NULL, 0),
               (long long)strlen("for=198.51.100.10, for=10.1.2.3;proto=http;host=a.b"),
               "measure Forwarded");
    TAP_INT_EQ(fwd_render_forwarded(chain.hop, chain.n, buf, 20), -1, "Forwarded too small: -1");
    TAP_INT_EQ(fwd_render_xff(chain.hop, 0, buf, sizeof buf), -1, "empty chain: -1");
    TAP_INT_EQ(fwd_render_forwarded(chain.hop, 0, buf, sizeof buf), -1, "empty Forwarded: -1");
    TAP_INT_EQ(fwd_render_real_ip(chain.hop, 0, buf, sizeof buf), -1, "empty X-Real-IP: -1");

    struct fwd_str bad_host = { "a\r\nb", 4 };
    TAP_INT_EQ(
        fwd_render_forwarded_generated(chain.hop, chain.n, false, &bad_host, buf, sizeof buf), -1,
        "host with CR LF cannot be written");
    chain.hop[chain.n - 1].host = (struct fwd_value){ "h\x80", 2, 0 };
    TAP_INT_EQ(fwd_render_forwarded(chain.hop, chain.n, buf, sizeof buf), -1,
               "host with a byte above 0x7e cannot be written");

    /* the documented maximum sizes hold for the longest addresses */
    static struct fwd_entry hop[FWD_CHAIN_MAX];
    static char big[FWD_GENERATED_MAX(300)];
    char real_ip[FWD_REAL_IP_MAX];
    for (size_t i = 0; i < FWD_CHAIN_MAX; i++) {
        memset(&hop[i], 0, sizeof hop[i]);
        hop[i].node.ip = addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    }
    TAP_INT_EQ(fwd_render_xff(hop, FWD_CHAIN_MAX, big, FWD_XFF_MAX), 64 * 39 + 63 * 2,
               "64 longest IPv6 addresses fit FWD_XFF_MAX");
    TAP_INT_EQ(fwd_render_real_ip(hop, FWD_CHAIN_MAX, real_ip, sizeof real_ip), 39,
               "X-Real-IP fits FWD_REAL_IP_MAX");
    static char host[301];
    memset(host, '"', 300);
    struct fwd_str h = { host, 300 };
    TAP_OK(fwd_render_forwarded_generated(hop, FWD_CHAIN_MAX, true, &h, big, sizeof big) > 0,
           "worst generated Forwarded fits FWD_GENERATED_MAX");
}

static void test_render_nodes(void)
{
    const char *in = "for=unknown, for=\"unknown:8\", for=_x, for=\"_x:_y\", for=\"1.2.3.4:_y\"";
    check_fwd_ok(in, "for=unknown, for=\"unknown:8\", for=_x, for=\"_x:_y\", for=\"1.2.3.4:_y\"",
                 5);

    char buf[128];
    struct fwd_entry hop[2];
    memset(hop, 0, sizeof hop);
    hop[0].node.kind = FWD_NODE_UNKNOWN;
    TAP_INT_EQ(fwd_render_xff(hop, 1, buf, sizeof buf), -1, "X-Forwarded-For of unknown: -1");
    TAP_INT_EQ(fwd_render_real_ip(hop, 1, buf, sizeof buf), -1, "X-Real-IP of unknown: -1");
    TAP_INT_EQ(fwd_render_forwarded_generated(hop, 1, false, NULL, buf, sizeof buf), -1,
               "generated Forwarded of unknown: -1");
    hop[0].node.kind = FWD_NODE_IP;
    hop[0].node.ip = addr("::ffff:192.0.2.9");
    hop[1].node.ip = addr("2001:db8::1");
    hop[1].node.port_kind = FWD_PORT_NUM;
    hop[1].node.port = 443;
    fwd_render_forwarded(hop, 2, buf, sizeof buf);
    TAP_STR_EQ(buf, "for=192.0.2.9, for=\"[2001:db8::1]:443\"", "mapped shown as IPv4; v6 port");
    fwd_render_forwarded_generated(hop, 2, false, NULL, buf, sizeof buf);
    TAP_STR_EQ(buf, "for=192.0.2.9, for=\"[2001:db8::1]\";proto=http",
               "generated: ports dropped, no host");
}

static void test_warning_texts(void)
{
    for (unsigned bit = 1; bit <= FWD_WARN_ALL; bit <<= 1)
        TAP_OK(fwd_warning_text(bit)[0] != '\0', "every warning has a text");
    TAP_STR_EQ(fwd_warning_text(FWD_WARN_INCONSISTENT),
               "Incoming Forwarded header is inconsistent with X-Forwarded-* headers; falling "
               "back to X-Forwarded-For",
               "rpxy's wording");
    TAP_STR_EQ(fwd_warning_text(0), "", "no text for 0");
}

int main(void)
{
    test_spec_examples();
    test_untrusted();
    test_trusted_chains();
    test_both_headers();
    test_ipv6_and_ports();
    test_quoting();
    test_truncation();
    test_forwarded_parser();
    test_xff_parser();
    test_forwarded_first();
    test_scheme();
    test_render_limits();
    test_render_nodes();
    test_warning_texts();
    return tap_done();
}
