/* The trust boundary: chain normalisation against trusted_forwarded_proxies
 * (SPEC 5.6) and the client-visible scheme (SPEC 5.7). */
#include "proxy/forwarded.h"
#include "util/utf8.h"

#include <string.h>

#define INCOMING_MAX (FWD_CHAIN_MAX - 1) /* incoming hops kept; the peer is appended */
_Static_assert(INCOMING_MAX == 63, "update the FWD_WARN_TRUNCATED text");

static struct fwd_str trim(struct fwd_str s)
{
    while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* Could rpxy read the value as text (HTAB and 0x20-0x7E only)? */
static bool is_visible_ascii(const struct fwd_str *s)
{
    for (size_t i = 0; i < s->len; i++) {
        unsigned char b = (unsigned char)s->p[i];
        if ((b < 0x20 && b != '\t') || b > 0x7e)
            return false;
    }
    return true;
}

bool fwd_ip_trusted(const struct ip_addr *ip, const struct ip_cidr *nets, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ip_cidr_contains(&nets[i], ip))
            return true;
    }
    return false;
}

static bool hop_trusted(const struct fwd_entry *e, const struct fwd_input *in)
{
    return e->node.kind == FWD_NODE_IP && fwd_ip_trusted(&e->node.ip, in->trusted, in->ntrusted);
}

static bool same_ip(const struct fwd_node *a, const struct fwd_node *b)
{
    if (a->kind != FWD_NODE_IP || b->kind != FWD_NODE_IP || a->ip.family != b->ip.family)
        return false;
    return memcmp(a->ip.bytes, b->ip.bytes, a->ip.family == 4 ? 4 : 16) == 0;
}

/* rpxy's own hop: for=<peer>;proto=<listener scheme>[;host=<host>]. */
static void set_peer_hop(struct fwd_entry *e, const struct ip_addr *peer,
                         const struct fwd_input *in)
{
    memset(e, 0, sizeof *e);
    e->node.kind = FWD_NODE_IP;
    e->node.ip = *peer;
    e->proto = in->tls ? (struct fwd_value){ "https", 5, 0 } : (struct fwd_value){ "http", 4, 0 };
    if (in->host)
        e->host = (struct fwd_value){ in->host->p ? in->host->p : "", (uint32_t)in->host->len, 0 };
}

/* May Forwarded (tf hops, f) stand for X-Forwarded-For (tx hops, x)? Both
 * hold their last `kept` hops. Same length, same addresses, and the same
 * proto= on the last hop when both have one. */
static bool consistent(const struct fwd_entry *f, size_t tf, const struct fwd_entry *x, size_t tx,
                       size_t kept)
{
    if (tf != tx)
        return false;
    for (size_t i = 0; i < kept; i++) {
        if (!same_ip(&f[i].node, &x[i].node))
            return false;
    }
    if (kept == 0)
        return true;
    const struct fwd_value *fp = &f[kept - 1].proto, *xp = &x[kept - 1].proto;
    return !fp->p || !xp->p || fwd_value_eq_nocase(fp, xp->p, xp->len);
}

/* Reads the incoming chain (SPEC 5.6 steps 1-2) into out->hop: its last
 * INCOMING_MAX hops, in order. Returns 0 with *total = the number of incoming
 * hops (maybe more than kept), or -1 when the headers must be ignored. */
static int read_incoming(const struct fwd_input *in, struct fwd_chain *out, size_t *total)
{
    struct fwd_entry fwd[INCOMING_MAX];
    struct fwd_entry *hop = out->hop;
    size_t tx = 0, tf = 0;
    const char *why = NULL;

    if (in->nxff > 0) {
        if (in->xfp && !is_visible_ascii(in->xfp)) {
            out->why = "invalid byte in X-Forwarded-Proto";
            return -1;
        }
        if (fwd_parse_xff(in->xff, in->nxff, hop, INCOMING_MAX, &tx, &out->why) < 0)
            return -1;
        size_t kept = tx < INCOMING_MAX ? tx : INCOMING_MAX;
        if (kept > 0 && in->xfp) {
            struct fwd_str proto = trim(*in->xfp);
            hop[kept - 1].proto =
                (struct fwd_value){ proto.p ? proto.p : "", (uint32_t)proto.len, 0 };
        }
        *total = tx;
    }
    if (in->nforwarded > 0) {
        struct fwd_entry *dst = in->nxff > 0 ? fwd : hop;
        if (fwd_parse_forwarded(in->forwarded, in->nforwarded, dst, INCOMING_MAX, &tf, &why) < 0) {
            out->why = why;
            if (in->nxff == 0)
                return -1;
            out->warnings |= FWD_WARN_FORWARDED_INVALID;
        } else if (in->nxff == 0) {
            *total = tf;
        } else if (consistent(fwd, tf, hop, tx, tx < INCOMING_MAX ? tx : INCOMING_MAX)) {
            memcpy(hop, fwd, (tf < INCOMING_MAX ? tf : INCOMING_MAX) * sizeof *hop);
            *total = tf;
        } else {
            out->warnings |= FWD_WARN_INCONSISTENT;
        }
    }
    return 0;
}

void fwd_normalize(const struct fwd_input *in, struct fwd_chain *out)
{
    struct ip_addr peer = ip_unmap(in->peer);
    struct fwd_entry *hop = out->hop;
    size_t total = 0, n;

    out->n = 0;
    out->warnings = 0;
    out->why = NULL;
    out->peer_trusted = fwd_ip_trusted(&peer, in->trusted, in->ntrusted);
    if (!out->peer_trusted)
        goto peer_only;
    if (read_incoming(in, out, &total) < 0) {
        out->warnings |= FWD_WARN_PARSE_FAILED;
        goto peer_only;
    }
    if (total == 0)
        goto peer_only;
    if (total > INCOMING_MAX)
        out->warnings |= FWD_WARN_TRUNCATED;
    n = total < INCOMING_MAX ? total : INCOMING_MAX;
    set_peer_hop(&hop[n++], &peer, in);

    /* Keep the last untrusted hop and the trusted ones after it. */
    size_t boundary = n;
    while (boundary > 0 && hop_trusted(&hop[boundary - 1], in))
        boundary--;
    if (boundary > 1) {
        memmove(hop, hop + boundary - 1, (n - boundary + 1) * sizeof *hop);
        n -= boundary - 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (hop[i].node.kind != FWD_NODE_IP) {
            out->warnings |= FWD_WARN_NON_IP_HOP;
            goto peer_only;
        }
    }
    out->n = n;
    return;

peer_only:
    set_peer_hop(&hop[0], &peer, in);
    out->n = 1;
}

enum fwd_scheme fwd_client_scheme(const struct fwd_input *in)
{
    struct ip_addr peer = ip_unmap(in->peer);
    struct fwd_entry first;

    if (in->tls)
        return FWD_SCHEME_HTTPS;
    if (!fwd_ip_trusted(&peer, in->trusted, in->ntrusted))
        return FWD_SCHEME_HTTP;
    if (in->xfp) {
        if (!utf8_valid(in->xfp->p, in->xfp->len))
            return FWD_SCHEME_HTTP;
        struct fwd_str v = *in->xfp;
        size_t comma = 0;
        while (comma < v.len && v.p[comma] != ',')
            comma++;
        v.len = comma;
        v = trim(v);
        if (v.len > 0) {
            struct fwd_value text = { v.p, (uint32_t)v.len, 0 };
            return fwd_value_eq_nocase(&text, "https", 5) ? FWD_SCHEME_HTTPS : FWD_SCHEME_HTTP;
        }
    }
    if (in->nforwarded > 0 &&
        fwd_parse_forwarded_first(in->forwarded, in->nforwarded, &first, NULL) == 1 &&
        fwd_value_eq_nocase(&first.proto, "https", 5))
        return FWD_SCHEME_HTTPS;
    return FWD_SCHEME_HTTP;
}

const char *fwd_warning_text(unsigned warning)
{
    switch (warning) {
    case FWD_WARN_PARSE_FAILED:
        return "Ignoring incoming forwarding headers from trusted proxy due to parse failure";
    case FWD_WARN_FORWARDED_INVALID:
        return "Ignoring invalid Forwarded header and falling back to X-Forwarded-For";
    case FWD_WARN_INCONSISTENT:
        return "Incoming Forwarded header is inconsistent with X-Forwarded-* headers; falling "
               "back to X-Forwarded-For";
    case FWD_WARN_NON_IP_HOP:
        return "Normalized forwarding chain contains non-IP hops; falling back to peer-only "
               "forwarding view";
    case FWD_WARN_TRUNCATED:
        return "Incoming forwarding chain has more than 63 hops; only the last 63 are used";
    default: return "";
    }
}
