/* libFuzzer target for the X-Forwarded-For parser and the chain
 * normalisation (src/proxy/forwarded_*.c). The input, split at '\n' into
 * field lines, is parsed; whatever parses must render (`ip, ip`) to text that
 * parses back to the same addresses and is a fixed point. The lines then go
 * through fwd_normalize() as X-Forwarded-For of a trusted peer (the first
 * line doubling as X-Forwarded-Proto), whose chain must be well-formed. */
#include "proxy/forwarded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_xff: %s\n", what);
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

/* Renders n hops as X-Forwarded-For and reads them back. */
static void round_trip(const struct fwd_entry *e, size_t n)
{
    static struct fwd_entry again[FWD_CHAIN_MAX];
    static char text[FWD_XFF_MAX], text2[FWD_XFF_MAX];
    size_t total = 0;

    ssize_t len = fwd_render_xff(e, n, text, sizeof text);
    check(len > 0 && (size_t)len == strlen(text), "X-Forwarded-For does not fit FWD_XFF_MAX");
    check(fwd_render_xff(e, n, NULL, 0) == len, "measure and render differ");
    struct fwd_str line = { text, (size_t)len };
    check(fwd_parse_xff(&line, 1, again, FWD_CHAIN_MAX, &total, NULL) == 0,
          "rendering does not parse");
    check(total == n, "rendering has another item count");
    for (size_t i = 0; i < n; i++) {
        check(again[i].node.kind == FWD_NODE_IP && ip_eq(&again[i].node.ip, &e[i].node.ip),
              "rendering parses to other addresses");
        struct ip_addr u = ip_unmap(e[i].node.ip);
        check(ip_eq(&u, &e[i].node.ip), "IPv4-mapped address kept mapped");
    }
    check(fwd_render_xff(again, n, text2, sizeof text2) == len &&
              memcmp(text, text2, (size_t)len) == 0,
          "rendering is not a fixed point");
    check(fwd_render_real_ip(e, n, text2, FWD_REAL_IP_MAX) > 0, "X-Real-IP does not fit");
}

/* A trusted peer forwarding these lines: the chain must be sound. */
static void normalize(const struct fwd_str *lines, size_t n, int variant)
{
    static struct fwd_chain chain;
    static const char *const nets_text[] = { "10.0.0.0/8", "2001:db8::/32", "0.0.0.0/0", "::/0" };
    struct ip_cidr nets[4];
    struct fwd_input in;

    for (size_t i = 0; i < 4; i++)
        check(ip_cidr_parse(nets_text[i], strlen(nets_text[i]), &nets[i], NULL) == 0, "cidr");
    memset(&in, 0, sizeof in);
    check(ip_parse("10.0.0.1", 8, &in.peer, NULL) == 0, "peer");
    in.trusted = variant & 1 ? nets + 2 : nets; /* everything trusted, or two networks */
    in.ntrusted = 2;
    in.xff = lines;
    in.nxff = n;
    in.xfp = variant & 2 ? &lines[0] : NULL;
    fwd_normalize(&in, &chain);

    check(chain.n >= 1 && chain.n <= FWD_CHAIN_MAX, "chain length");
    check((chain.warnings & ~FWD_WARN_ALL) == 0, "unknown warning");
    check(ip_eq(&chain.hop[chain.n - 1].node.ip, &in.peer), "last hop is not the peer");
    if (chain.n > 1) {
        /* the first hop is untrusted, every later one trusted; or all are */
        for (size_t i = 1; i < chain.n; i++)
            check(fwd_ip_trusted(&chain.hop[i].node.ip, in.trusted, in.ntrusted),
                  "untrusted hop right of the boundary");
    }
    round_trip(chain.hop, chain.n);
    check(fwd_render_forwarded(chain.hop, chain.n, NULL, 0) > 0, "Forwarded does not render");
    (void)fwd_client_scheme(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fwd_entry e[FWD_CHAIN_MAX];
    struct fwd_str lines[MAX_LINES];
    size_t n = split_lines(data, size, lines), total = 0;
    const char *why = NULL;

    int rc = fwd_parse_xff(lines, n, e, FWD_CHAIN_MAX, &total, &why);
    check(rc == 0 || (rc == -1 && why && why[0]), "failure without a reason");
    if (rc == 0 && total > 0)
        round_trip(e, total < FWD_CHAIN_MAX ? total : FWD_CHAIN_MAX);
    normalize(lines, n, (int)(size % 4));
    return 0;
}
