/* Forwarding headers and the trust boundary (SPEC section 5): parse
 * X-Forwarded-For and RFC 7239 Forwarded, normalise the chain of hops against
 * `trusted_forwarded_proxies`, render X-Forwarded-For, X-Real-IP and
 * Forwarded, and decide the client-visible scheme. Pure functions: no I/O, no
 * allocation. Files: forwarded_value.c (parameter values), forwarded_parse.c
 * (the two parsers), forwarded_chain.c (normalisation, scheme),
 * forwarded_render.c (output).
 *
 * Input header values are passed as field lines ({p, len}, not
 * NUL-terminated), in the order received; an absent header is zero lines.
 * Parsed entries point into those lines (and into the authoritative host), so
 * they are valid only as long as the caller's buffers are.
 *
 * Readings of the SPEC where it leaves room (rpxy 0.13.2 behaviour unless
 * said otherwise):
 *  - Several field lines are read as if joined by ", "; a quoted-string may
 *    not run across the end of a field line (unterminated quote: failure).
 *  - Forwarded: bytes other than HTAB and 0x20-0x7E fail (rpxy cannot read
 *    such a value). Parameter values are a quoted-string or else taken
 *    verbatim (rpxy does not check the token characters, and proxies send
 *    `host=a.example:8080` unquoted). A parameter without '=' is ignored like
 *    an unknown one. Nodes follow RFC 7239 section 6: IPv4,
 *    "[" IPv6 "]", "unknown" (any case) or "_obf", with an optional port
 *    (1-5 digits <= 65535, or "_obf"); an IPv6 address without brackets is a
 *    failure, quoting is not required.
 *  - X-Forwarded-For items: IPv4, IPv6, IPv4:port, [IPv6] or [IPv6]:port;
 *    the port is checked and dropped. Anything else (quotes, "unknown",
 *    "_obf") is a failure. (rpxy's own parser also takes quoted items here
 *    and unbracketed IPv6 in Forwarded; SPEC 5.6 and RFC 7239 do not.)
 *  - A failing X-Forwarded-For makes the chain [peer] even when Forwarded is
 *    fine (rpxy parses X-Forwarded-For first and gives up on its error); so
 *    does a first X-Forwarded-Proto line with a byte outside HTAB/0x20-0x7E
 *    while X-Forwarded-For is present.
 *  - The last X-Forwarded-For hop carries proto= = the first
 *    X-Forwarded-Proto line, trimmed (compared with Forwarded's last proto=
 *    case-insensitively, and shown in a regenerated Forwarded).
 *  - "Normalized value" of 5.3: the final chain rendered entry by entry, each
 *    hop keeping what its source said (from Forwarded: node with port,
 *    proto=, host=, by=; from X-Forwarded-For: the address, plus proto= on
 *    the hop the previous proxy added), then rpxy's own hop
 *    `for=<peer>;proto=<http|https>[;host=<authoritative host>]`.
 *    Example: `for=198.51.100.10;proto=https, for=10.1.2.3;proto=http;host=a`.
 *  - Chains are bounded: FWD_CHAIN_MAX hops including the peer. Of a longer
 *    incoming chain only the last FWD_CHAIN_MAX - 1 hops are kept (with a
 *    warning); the trust boundary is found from the right, so the result is
 *    rpxy's unless more than 63 trailing hops are trusted. Both headers'
 *    full lengths are still compared, their addresses only over that tail.
 *  - Client-visible scheme (5.7): the first X-Forwarded-Proto line must be
 *    valid UTF-8 (else http); its first comma element, trimmed, decides if
 *    non-empty; else proto= of the first Forwarded entry (the whole header
 *    must parse, else http).
 *  - Logging: the caller logs fwd_warning_text() of each warning bit, with
 *    ": <why>" appended for the two parse-failure warnings (rpxy's form).
 */
#ifndef RPXY_PROXY_FORWARDED_H
#define RPXY_PROXY_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/ipaddr.h"

#define FWD_CHAIN_MAX 64 /* hops in a chain, rpxy's peer included */
#define FWD_NODE_MAX 256 /* longest for= node once unquoted */
/* Buffer sizes that always suffice, terminating NUL included. An address is
 * at most 39 characters (IPv6, RFC 5952; mapped addresses print as IPv4). */
#define FWD_REAL_IP_MAX 46
#define FWD_XFF_MAX (FWD_CHAIN_MAX * (39 + 2))
/* fwd_render_forwarded_generated(): per hop `for="[v6]", ` (49), then
 * `;proto=https;host=` and the host, quoted and escaped at worst. */
#define FWD_GENERATED_MAX(host_len) (FWD_CHAIN_MAX * 49 + 20 + 2 * (size_t)(host_len) + 1)

/* A span of caller-owned bytes. */
struct fwd_str {
    const char *p;
    size_t len;
};

/* A Forwarded parameter value. p == NULL: absent. quoted: p..p+len is the
 * inside of a quoted-string, in which "\x" stands for x. */
struct fwd_value {
    const char *p;
    uint32_t len;
    uint8_t quoted;
};

enum fwd_node_kind { FWD_NODE_IP, FWD_NODE_UNKNOWN, FWD_NODE_OBF };
enum fwd_port_kind { FWD_PORT_NONE, FWD_PORT_NUM, FWD_PORT_OBF };

/* The for= node of a hop. */
struct fwd_node {
    struct ip_addr ip;     /* FWD_NODE_IP: the address, IPv4-mapped ones unmapped */
    uint8_t kind;          /* enum fwd_node_kind */
    uint8_t port_kind;     /* enum fwd_port_kind */
    uint16_t port;         /* FWD_PORT_NUM */
    struct fwd_value text; /* the for= value as received, for the obfuscated
                              identifier and port (see fwd_node_obf) */
};

/* One hop: a Forwarded entry, an X-Forwarded-For item or rpxy's own hop. */
struct fwd_entry {
    struct fwd_node node;
    struct fwd_value proto, host, by;
};

/* Everything the trust decision needs from a request. */
struct fwd_input {
    struct ip_addr peer;           /* immediate peer, after PROXY protocol */
    const struct ip_cidr *trusted; /* trusted_forwarded_proxies */
    size_t ntrusted;
    const struct fwd_str *xff;       /* X-Forwarded-For field lines */
    size_t nxff;                     /* 0: header absent */
    const struct fwd_str *forwarded; /* Forwarded field lines */
    size_t nforwarded;               /* 0: header absent */
    const struct fwd_str *xfp;       /* first X-Forwarded-Proto line, or NULL */
    bool tls;                        /* arrived over TLS/QUIC */
    const struct fwd_str *host;      /* authoritative host (4.9 step 2), or NULL */
};

/* Warnings of fwd_normalize(), logged by the caller at WARN. */
enum fwd_warning {
    FWD_WARN_PARSE_FAILED = 1u << 0,      /* chain is [peer]; see why */
    FWD_WARN_FORWARDED_INVALID = 1u << 1, /* X-Forwarded-For used; see why */
    FWD_WARN_INCONSISTENT = 1u << 2,      /* X-Forwarded-For used */
    FWD_WARN_NON_IP_HOP = 1u << 3,        /* chain is [peer] */
    FWD_WARN_TRUNCATED = 1u << 4,         /* only the last 63 hops read */
};
#define FWD_WARN_ALL 0x1fu

/* The normalised chain (SPEC 5.6): hop[0] is the client (X-Real-IP),
 * hop[n - 1] rpxy's own hop for the peer. Every hop is an IP address. */
struct fwd_chain {
    struct fwd_entry hop[FWD_CHAIN_MAX];
    size_t n;          /* 1..FWD_CHAIN_MAX */
    bool peer_trusted; /* peer inside trusted_forwarded_proxies */
    unsigned warnings; /* enum fwd_warning bits */
    const char *why;   /* static parse-failure reason, or NULL */
};

enum fwd_scheme { FWD_SCHEME_HTTP, FWD_SCHEME_HTTPS };

/* --- values (forwarded_value.c) --- */

/* Next byte of v's text from position *i, advancing *i over an escape;
 * returns the byte (0-255) or -1 at the end. */
static inline int fwd_value_next(const struct fwd_value *v, size_t *i)
{
    if (*i >= v->len)
        return -1;
    if (v->quoted && v->p[*i] == '\\' && *i + 1 < v->len)
        (*i)++;
    return (unsigned char)v->p[(*i)++];
}

/* Copies v's text (unescaped) into out, at most cap bytes. Returns the full
 * length of the text, which may exceed cap. */
size_t fwd_value_decode(const struct fwd_value *v, char *out, size_t cap);

/* Is v present and its text equal to s[0..n), ignoring ASCII case? */
bool fwd_value_eq_nocase(const struct fwd_value *v, const char *s, size_t n);

/* Is the text of v non-empty and made of RFC 7230 tchars only? */
bool fwd_value_is_token(const struct fwd_value *v);

/* --- parsing (forwarded_parse.c) --- */

/* Parses X-Forwarded-For field lines. The last min(total, cap) items are
 * stored in order in out (IP nodes, no port; out may be NULL if cap is 0).
 * Returns 0 with *total = number of items, or -1 with a static reason in
 * *why (why may be NULL). */
int fwd_parse_xff(const struct fwd_str *lines, size_t nlines, struct fwd_entry *out, size_t cap,
                  size_t *total, const char **why);

/* Parses Forwarded field lines (RFC 7239); like fwd_parse_xff(), the last
 * min(total, cap) entries are stored in out. Returns 0 or -1 with *why. */
int fwd_parse_forwarded(const struct fwd_str *lines, size_t nlines, struct fwd_entry *out,
                        size_t cap, size_t *total, const char **why);

/* Parses Forwarded field lines completely and stores the first entry in
 * *first. Returns 1, 0 when there is no entry, or -1 with *why. */
int fwd_parse_forwarded_first(const struct fwd_str *lines, size_t nlines, struct fwd_entry *first,
                              const char **why);

/* Unquotes a parsed node's text into buf and points *id at its obfuscated
 * identifier and *port at its obfuscated port (each {buf.., 0} if none). */
void fwd_node_obf(const struct fwd_node *node, char buf[FWD_NODE_MAX], struct fwd_str *id,
                  struct fwd_str *port);

/* --- trust and normalisation (forwarded_chain.c) --- */

/* Is ip inside one of the n networks? */
bool fwd_ip_trusted(const struct ip_addr *ip, const struct ip_cidr *nets, size_t n);

/* Computes the chain of SPEC 5.6 into *out (caller-owned; it borrows from
 * in's strings). Never fails: at worst the chain is [peer]. */
void fwd_normalize(const struct fwd_input *in, struct fwd_chain *out);

/* The client-visible scheme of SPEC 5.7 (sticky Secure flag, cache key). */
enum fwd_scheme fwd_client_scheme(const struct fwd_input *in);

/* The WARN line for one warning bit (rpxy's wording), "" for others. */
const char *fwd_warning_text(unsigned warning);

/* --- rendering (forwarded_render.c) ---
 * Each writes the value and a NUL into out (cap bytes) and returns its
 * length without the NUL, or -1 if it does not fit or cannot be written.
 * With out == NULL (cap 0) they only return the length needed. */

/* X-Forwarded-For: `ip, ip, ip` (IPv6 RFC 5952 without brackets). Fails on a
 * hop that is not an address. At most FWD_XFF_MAX - 1 for a chain. */
ssize_t fwd_render_xff(const struct fwd_entry *hop, size_t n, char *out, size_t cap);

/* X-Real-IP: the address of hop[0]. At most FWD_REAL_IP_MAX - 1. */
ssize_t fwd_render_real_ip(const struct fwd_entry *hop, size_t n, char *out, size_t cap);

/* Forwarded replacing an incoming one (SPEC 5.3/5.4): `for=<node>` then
 * `;proto=`, `;host=`, `;by=` as each hop has them, hops joined by ", ".
 * Its length is below 80 * n + 2 * (bytes of the Forwarded lines, of the
 * X-Forwarded-Proto line and of the host); or measure it with out == NULL.
 * Also -1 for a host with a byte outside HTAB/0x20-0x7E: the caller then
 * keeps the incoming header as received (WARN, SPEC 5.3). */
ssize_t fwd_render_forwarded(const struct fwd_entry *hop, size_t n, char *out, size_t cap);

/* Forwarded generated by `forwarded_header` (SPEC 5.5): `for=<address>` per
 * hop, the last one with `;proto=<http|https>` and `;host=<host>` (host may
 * be NULL). At most FWD_GENERATED_MAX(host length) - 1. */
ssize_t fwd_render_forwarded_generated(const struct fwd_entry *hop, size_t n, bool tls,
                                       const struct fwd_str *host, char *out, size_t cap);

#endif
