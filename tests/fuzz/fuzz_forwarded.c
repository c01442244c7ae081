/* libFuzzer target for the Forwarded parser and renderer
 * (src/proxy/forwarded_*.c). The input, split at '\n' into field lines, is
 * parsed; whatever parses must render to a value that parses back to the
 * same entries, and that rendering must be a fixed point. The same lines
 * then go through fwd_normalize() as the Forwarded header of a trusted peer:
 * the chain must be well-formed and every rendering of it must read back. */
#include "proxy/forwarded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_forwarded: %s\n", what);
        abort();
    }
}

static size_t split_lines(const uint8_t *data, size_t size, struct fwd_str *lines)
{
    const char *p = (const char *)data;
    size_t n = 0, start = 0;

    for (size_t i = 0; i <= size; i++) {
        if (i == size || (p[i] == '\n' && n + 1 < MAX_LINES)) {
            lines[n++] = (struct fwd_str){ p + start, i - start };
            start = i + 1;
        }
    }
    return n;
}

static int ip_eq(const struct ip_addr *a, const struct ip_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, a->family == 4 ? 4 : 16) == 0;
}

static int value_eq(const struct fwd_value *a, const struct fwd_value *b)
{
    size_t i = 0, j = 0;
    int x, y;

    if (!a->p || !b->p)
        return !a->p && !b->p;
    do {
        x = fwd_value_next(a, &i);
        y = fwd_value_next(b, &j);
        if (x != y)
            return 0;
    } while (x >= 0);
    return 1;
}

static int node_eq(const struct fwd_node *a, const struct fwd_node *b)
{
    char abuf[FWD_NODE_MAX], bbuf[FWD_NODE_MAX];
    struct fwd_str aid, aport, bid, bport;

    if (a->kind != b->kind || a->port_kind != b->port_kind)
        return 0;
    if (a->kind == FWD_NODE_IP && !ip_eq(&a->ip, &b->ip))
        return 0;
    if (a->port_kind == FWD_PORT_NUM && a->port != b->port)
        return 0;
    fwd_node_obf(a, abuf, &aid, &aport);
    fwd_node_obf(b, bbuf, &bid, &bport);
    return aid.len == bid.len && memcmp(aid.p, bid.p, aid.len) == 0 && aport.len == bport.len &&
           memcmp(aport.p, bport.p, aport.len) == 0;
}

static int entry_eq(const struct fwd_entry *a, const struct fwd_entry *b)
{
    return node_eq(&a->node, &b->node) && value_eq(&a->proto, &b->proto) &&
           value_eq(&a->host, &b->host) && value_eq(&a->by, &b->by);
}

/* Renders n entries, checks the rendering reads back to them and is a fixed
 * point. Returns the rendered length. */
static size_t round_trip(const struct fwd_entry *e, size_t n)
{
    static struct fwd_entry again[FWD_CHAIN_MAX];
    ssize_t len = fwd_render_forwarded(e, n, NULL, 0);
    check(len > 0, "parsed entries do not render");

    char *text = malloc((size_t)len + 1), *text2 = malloc((size_t)len + 1);
    check(text && text2, "out of memory");
    check(fwd_render_forwarded(e, n, text, (size_t)len) == -1, "rendered without room for NUL");
    check(fwd_render_forwarded(e, n, text, (size_t)len + 1) == len, "measure and render differ");
    check(strlen(text) == (size_t)len, "rendering contains NUL");

    struct fwd_str line = { text, (size_t)len };
    size_t total = 0;
    const char *why = NULL;
    check(fwd_parse_forwarded(&line, 1, again, FWD_CHAIN_MAX, &total, &why) == 0,
          "rendering does not parse");
    check(total == n, "rendering has another entry count");
    for (size_t i = 0; i < n; i++)
        check(entry_eq(&e[i], &again[i]), "rendering parses to other entries");
    check(fwd_render_forwarded(again, n, text2, (size_t)len + 1) == len &&
              memcmp(text, text2, (size_t)len) == 0,
          "rendering is not a fixed point");
    free(text);
    free(text2);
    return (size_t)len;
}

/* A trusted peer forwarding these lines: the chain must be sound. */
static void normalize(const struct fwd_str *lines, size_t n, int v6)
{
    static struct fwd_chain chain;
    static struct fwd_entry xff[FWD_CHAIN_MAX];
    static char buf[FWD_GENERATED_MAX(1) + 8192];
    struct ip_cidr nets[2];
    struct fwd_str host = { "h", 1 };
    struct fwd_input in;

    check(ip_cidr_parse("10.0.0.0/8", 10, &nets[0], NULL) == 0, "cidr");
    check(ip_cidr_parse("2001:db8::/32", 13, &nets[1], NULL) == 0, "cidr");
    memset(&in, 0, sizeof in);
    check(ip_parse(v6 ? "2001:db8::1" : "10.0.0.1", v6 ? 11 : 8, &in.peer, NULL) == 0, "peer");
    in.trusted = nets;
    in.ntrusted = 2;
    in.forwarded = lines;
    in.nforwarded = n;
    in.xfp = &lines[0];
    in.tls = v6;
    in.host = &host;
    fwd_normalize(&in, &chain);

    check(chain.n >= 1 && chain.n <= FWD_CHAIN_MAX, "chain length");
    check(chain.peer_trusted, "peer not trusted");
    check((chain.warnings & ~FWD_WARN_ALL) == 0, "unknown warning");
    for (size_t i = 0; i < chain.n; i++)
        check(chain.hop[i].node.kind == FWD_NODE_IP, "non-IP hop in the chain");
    check(ip_eq(&chain.hop[chain.n - 1].node.ip, &in.peer), "last hop is not the peer");
    if (chain.warnings & (FWD_WARN_PARSE_FAILED | FWD_WARN_NON_IP_HOP))
        check(chain.n == 1, "fallback chain is not the peer alone");

    ssize_t len = fwd_render_xff(chain.hop, chain.n, buf, FWD_XFF_MAX);
    check(len > 0, "X-Forwarded-For does not fit FWD_XFF_MAX");
    struct fwd_str line = { buf, (size_t)len };
    size_t total = 0;
    check(fwd_parse_xff(&line, 1, xff, FWD_CHAIN_MAX, &total, NULL) == 0 && total == chain.n,
          "X-Forwarded-For does not read back");
    for (size_t i = 0; i < chain.n; i++)
        check(ip_eq(&xff[i].node.ip, &chain.hop[i].node.ip), "X-Forwarded-For reads back other");
    check(fwd_render_real_ip(chain.hop, chain.n, buf, FWD_REAL_IP_MAX) > 0, "X-Real-IP");
    check(fwd_render_forwarded_generated(chain.hop, chain.n, in.tls, &host, buf,
                                         FWD_GENERATED_MAX(1)) > 0,
          "generated Forwarded does not fit FWD_GENERATED_MAX");
    size_t flen = round_trip(chain.hop, chain.n);
    size_t in_bytes = lines[0].len + host.len;
    for (size_t i = 0; i < n; i++)
        in_bytes += lines[i].len;
    check(flen < 80 * chain.n + 2 * in_bytes, "Forwarded longer than documented");
    (void)fwd_client_scheme(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fwd_entry e[FWD_CHAIN_MAX], tail[3];
    struct fwd_str lines[MAX_LINES];
    size_t n = split_lines(data, size, lines), total = 0, tail_total = 0;
    const char *why = NULL;
    struct fwd_entry first;

    int rc = fwd_parse_forwarded(lines, n, e, FWD_CHAIN_MAX, &total, &why);
    int frc = fwd_parse_forwarded_first(lines, n, &first, NULL);
    int trc = fwd_parse_forwarded(lines, n, tail, 3, &tail_total, NULL);
    check(rc == 0 || rc == -1, "return value");
    check(rc == 0 || (why && why[0]), "failure without a reason");
    check(trc == rc, "result depends on the capacity");
    check(frc == (rc < 0 ? -1 : total > 0), "first-entry parse disagrees");
    if (rc == 0) {
        size_t kept = total < FWD_CHAIN_MAX ? total : FWD_CHAIN_MAX;
        check(tail_total == total, "count depends on the capacity");
        if (total > 0 && total <= FWD_CHAIN_MAX)
            check(entry_eq(&first, &e[0]), "first entry differs");
        for (size_t i = 0; i < 3 && i < kept; i++)
            check(entry_eq(&tail[(total < 3 ? total : 3) - 1 - i], &e[kept - 1 - i]),
                  "ring keeps other entries");
        if (kept > 0)
            round_trip(e, kept);
    }
    normalize(lines, n, size % 2);
    return 0;
}
