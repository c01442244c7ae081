/* Parsers for X-Forwarded-For and RFC 7239 Forwarded field lines. Both keep
 * the last `cap` hops of a chain in a ring and put them in order at the end,
 * so a chain of any length is read in bounded memory. */
#include "proxy/forwarded.h"

#include <string.h>

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static struct fwd_str trim(const char *p, size_t len)
{
    while (len > 0 && is_ows(p[0])) {
        p++;
        len--;
    }
    while (len > 0 && is_ows(p[len - 1]))
        len--;
    return (struct fwd_str){ p, len };
}

/* Does s[0..n) equal the lower-case literal lit, ignoring ASCII case? */
static bool eq_nocase(const char *s, size_t n, const char *lit)
{
    size_t i = 0;

    for (; i < n && lit[i]; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + ('a' - 'A'));
        if (c != lit[i])
            return false;
    }
    return i == n && lit[i] == '\0';
}

/* Index of the first c in p[from..len), or len. */
static size_t find_char(const char *p, size_t from, size_t len, char c)
{
    while (from < len && p[from] != c)
        from++;
    return from;
}

/* Index of the first delim in p[from..len) outside quoted-strings, or len;
 * *open tells whether p[len - 1] ends inside a quoted-string. */
static size_t find_delim(const char *p, size_t from, size_t len, char delim, bool *open)
{
    bool quoted = false, escaped = false;

    for (size_t i = from; i < len; i++) {
        if (escaped)
            escaped = false;
        else if (quoted && p[i] == '\\')
            escaped = true;
        else if (p[i] == '"')
            quoted = !quoted;
        else if (p[i] == delim && !quoted)
            return i;
    }
    *open = quoted;
    return len;
}

/* port = 1*5DIGIT, at most 65535 */
static int parse_port(const char *s, size_t n, uint16_t *out)
{
    unsigned v = 0;

    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

/* obfnode / obfport = "_" 1*(ALPHA / DIGIT / "." / "_" / "-") */
static bool is_obf(const char *s, size_t n)
{
    if (n < 2 || s[0] != '_')
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static const char *parse_node_port(const char *s, size_t n, bool forwarded, struct fwd_node *node)
{
    if (parse_port(s, n, &node->port) == 0) {
        node->port_kind = FWD_PORT_NUM;
        return NULL;
    }
    if (forwarded && n > 0 && s[0] == '_') {
        if (!is_obf(s, n))
            return "invalid obfuscated port";
        node->port_kind = FWD_PORT_OBF;
        return NULL;
    }
    return "invalid port";
}

/* Parses a node: "[" IPv6 "]" [":" port], or name [":" port]. forwarded:
 * RFC 7239 (names unknown and _obf, obfuscated ports, IPv6 only in
 * brackets); else X-Forwarded-For (addresses only, bare IPv6 allowed).
 * Fills node except node->text; returns NULL or the reason. */
static const char *parse_node(const char *s, size_t n, bool forwarded, struct fwd_node *node)
{
    node->kind = FWD_NODE_IP;
    node->port_kind = FWD_PORT_NONE;
    node->port = 0;

    if (n > 0 && s[0] == '[') {
        size_t close = find_char(s, 1, n, ']');
        if (close == n || ip_parse(s + 1, close - 1, &node->ip, NULL) < 0 || node->ip.family != 6)
            return "invalid IPv6 address";
        node->ip = ip_unmap(node->ip);
        if (close + 1 == n)
            return NULL;
        if (s[close + 1] != ':')
            return "invalid node";
        return parse_node_port(s + close + 2, n - close - 2, forwarded, node);
    }

    size_t colon = find_char(s, 0, n, ':');
    if (colon < n && find_char(s, colon + 1, n, ':') < n) {
        if (forwarded)
            return "IPv6 address without brackets";
        if (ip_parse(s, n, &node->ip, NULL) < 0)
            return "invalid IP address";
        node->ip = ip_unmap(node->ip);
        return NULL;
    }
    if (forwarded && eq_nocase(s, colon, "unknown")) {
        node->kind = FWD_NODE_UNKNOWN;
    } else if (forwarded && colon > 0 && s[0] == '_') {
        if (!is_obf(s, colon))
            return "invalid obfuscated identifier";
        node->kind = FWD_NODE_OBF;
    } else if (ip_parse(s, colon, &node->ip, NULL) < 0 || node->ip.family != 4) {
        return "invalid IP address";
    }
    if (colon == n)
        return NULL;
    return parse_node_port(s + colon + 1, n - colon - 1, forwarded, node);
}

/* --- the ring of the last cap hops --- */

static void ring_store(struct fwd_entry *out, size_t cap, size_t index, const struct fwd_entry *e)
{
    if (cap > 0)
        out[index % cap] = *e;
}

static void reverse(struct fwd_entry *a, size_t lo, size_t hi)
{
    for (; lo + 1 < hi; lo++, hi--) {
        struct fwd_entry t = a[lo];
        a[lo] = a[hi - 1];
        a[hi - 1] = t;
    }
}

/* After total stores, puts the ring in chain order (oldest first). */
static void ring_finish(struct fwd_entry *out, size_t cap, size_t total)
{
    if (cap == 0 || total <= cap || total % cap == 0)
        return;
    size_t oldest = total % cap;
    reverse(out, 0, oldest);
    reverse(out, oldest, cap);
    reverse(out, 0, cap);
}

/* --- X-Forwarded-For --- */

int fwd_parse_xff(const struct fwd_str *lines, size_t nlines, struct fwd_entry *out, size_t cap,
                  size_t *total, const char **why)
{
    size_t count = 0;

    for (size_t l = 0; l < nlines; l++) {
        const char *p = lines[l].p;
        size_t len = lines[l].len;
        for (size_t pos = 0; pos <= len;) {
            size_t end = find_char(p, pos, len, ',');
            struct fwd_str item = trim(p + pos, end - pos);
            pos = end + 1;
            if (item.len == 0)
                continue;
            struct fwd_entry e;
            memset(&e, 0, sizeof e);
            if (parse_node(item.p, item.len, false, &e.node) != NULL) {
                if (why)
                    *why = "X-Forwarded-For item is not an IP address";
                return -1;
            }
            e.node.port_kind = FWD_PORT_NONE; /* a port is checked, not kept */
            e.node.port = 0;
            ring_store(out, cap, count++, &e);
        }
    }
    ring_finish(out, cap, count);
    *total = count;
    return 0;
}

/* --- Forwarded --- */

/* Reads a parameter value: a quoted-string, or else the text as it is. */
static const char *parse_value(struct fwd_str v, struct fwd_value *out)
{
    if (v.len > UINT32_MAX)
        return "parameter value too long";
    if (v.len == 0 || v.p[0] != '"') {
        *out = (struct fwd_value){ v.p, (uint32_t)v.len, 0 };
        return NULL;
    }
    if (v.len < 2 || v.p[v.len - 1] != '"')
        return "unterminated quoted-string";
    const char *in = v.p + 1;
    size_t n = v.len - 2;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '\\' && ++i == n)
            return "unterminated quoted-string";
    }
    *out = (struct fwd_value){ in, (uint32_t)n, 1 };
    return NULL;
}

static const char *parse_for(struct fwd_node *node)
{
    char buf[FWD_NODE_MAX];
    size_t n = fwd_value_decode(&node->text, buf, sizeof buf);

    if (n >= sizeof buf)
        return "for= node too long";
    return parse_node(buf, n, true, node);
}

static const char *const param_names[] = { "for", "proto", "host", "by" };
static const char *const param_dups[] = { "duplicate for= parameter", "duplicate proto= parameter",
                                          "duplicate host= parameter", "duplicate by= parameter" };

/* Parses one entry: parameters split on ';' outside quoted-strings. */
static const char *parse_entry(const char *s, size_t n, struct fwd_entry *e)
{
    memset(e, 0, sizeof *e);
    struct fwd_value *slots[] = { &e->node.text, &e->proto, &e->host, &e->by };

    for (size_t pos = 0; pos <= n;) {
        bool open = false;
        size_t end = find_delim(s, pos, n, ';', &open);
        struct fwd_str param = trim(s + pos, end - pos);
        pos = end + 1;
        size_t eq = find_char(param.p, 0, param.len, '=');
        if (eq == param.len)
            continue; /* empty, or no '=': ignored */
        struct fwd_str key = trim(param.p, eq);
        struct fwd_str val = trim(param.p + eq + 1, param.len - eq - 1);
        size_t k = 0;
        while (k < 4 && !eq_nocase(key.p, key.len, param_names[k]))
            k++;
        if (k == 4)
            continue; /* unknown parameter */
        if (slots[k]->p)
            return param_dups[k];
        const char *why = parse_value(val, slots[k]);
        if (!why && k == 0)
            why = parse_for(&e->node);
        if (why)
            return why;
    }
    if (!e->node.text.p)
        return "entry without for=";
    return NULL;
}

/* Walks the entries of several field lines. */
struct entry_cursor {
    const struct fwd_str *lines;
    size_t nlines;
    size_t line; /* current line */
    size_t pos;  /* next byte in it; 0 before the line is checked */
};

/* Reads the next non-empty entry into *e. Returns 1, 0 at the end, or -1
 * with *why. */
static int next_entry(struct entry_cursor *c, struct fwd_entry *e, const char **why)
{
    while (c->line < c->nlines) {
        const char *p = c->lines[c->line].p;
        size_t len = c->lines[c->line].len;
        if (c->pos > len) {
            c->line++;
            c->pos = 0;
            continue;
        }
        if (c->pos == 0) {
            for (size_t i = 0; i < len; i++) {
                unsigned char b = (unsigned char)p[i];
                if ((b < 0x20 && b != '\t') || b > 0x7e) {
                    *why = "invalid byte in Forwarded";
                    return -1;
                }
            }
        }
        bool open = false;
        size_t end = find_delim(p, c->pos, len, ',', &open);
        if (open) {
            *why = "unterminated quoted-string";
            return -1;
        }
        struct fwd_str item = trim(p + c->pos, end - c->pos);
        c->pos = end + 1;
        if (item.len == 0)
            continue;
        *why = parse_entry(item.p, item.len, e);
        return *why ? -1 : 1;
    }
    return 0;
}

int fwd_parse_forwarded(const struct fwd_str *lines, size_t nlines, struct fwd_entry *out,
                        size_t cap, size_t *total, const char **why)
{
    struct entry_cursor c = { lines, nlines, 0, 0 };
    struct fwd_entry e;
    const char *reason = NULL;
    size_t count = 0;
    int rc;

    while ((rc = next_entry(&c, &e, &reason)) > 0)
        ring_store(out, cap, count++, &e);
    if (rc < 0) {
        if (why)
            *why = reason;
        return -1;
    }
    ring_finish(out, cap, count);
    *total = count;
    return 0;
}

int fwd_parse_forwarded_first(const struct fwd_str *lines, size_t nlines, struct fwd_entry *first,
                              const char **why)
{
    struct entry_cursor c = { lines, nlines, 0, 0 };
    struct fwd_entry e;
    const char *reason = NULL;
    size_t count = 0;
    int rc;

    while ((rc = next_entry(&c, &e, &reason)) > 0) {
        if (count++ == 0)
            *first = e;
    }
    if (rc < 0) {
        if (why)
            *why = reason;
        return -1;
    }
    return count > 0;
}

void fwd_node_obf(const struct fwd_node *node, char buf[FWD_NODE_MAX], struct fwd_str *id,
                  struct fwd_str *port)
{
    size_t n = 0;

    if (node->text.p)
        n = fwd_value_decode(&node->text, buf, FWD_NODE_MAX);
    if (n > FWD_NODE_MAX)
        n = FWD_NODE_MAX;
    *id = (struct fwd_str){ buf, 0 };
    *port = (struct fwd_str){ buf, 0 };
    if (node->kind == FWD_NODE_OBF)
        id->len = find_char(buf, 0, n, ':');
    if (node->port_kind == FWD_PORT_OBF) {
        size_t k = n;
        while (k > 0 && buf[k - 1] != ':')
            k--;
        *port = (struct fwd_str){ buf + k, n - k };
    }
}
