/* Rendering of X-Forwarded-For, X-Real-IP and Forwarded (SPEC 5.1, 5.4,
 * 5.5) into caller buffers. */
#include "proxy/forwarded.h"

#include <string.h>

/* An output buffer that counts what does not fit (and, with p == NULL,
 * only counts). bad: the value cannot be written at all. */
struct out {
    char *p;
    size_t cap;
    size_t len;
    bool bad;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->p && o->len <= o->cap && n <= o->cap - o->len)
        memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_char(struct out *o, char c)
{
    put(o, &c, 1);
}

static ssize_t finish(struct out *o)
{
    if (o->bad)
        return -1;
    if (!o->p)
        return (ssize_t)o->len;
    if (o->len >= o->cap)
        return -1;
    o->p[o->len] = '\0';
    return (ssize_t)o->len;
}

static void put_ip(struct out *o, const struct ip_addr *ip)
{
    char text[46];
    struct ip_addr a = ip_unmap(*ip);

    put(o, text, ip_format(&a, text));
}

static void put_port(struct out *o, uint16_t port)
{
    char digits[5];
    size_t n = 0;

    do {
        digits[sizeof digits - ++n] = (char)('0' + port % 10);
        port /= 10;
    } while (port > 0);
    put(o, digits + sizeof digits - n, n);
}

/* for= node (SPEC 5.4): IPv4 and names bare, IPv6 bracketed, quoted when
 * IPv6 or with a port. */
static void put_node(struct out *o, const struct fwd_node *node)
{
    bool v6 = node->kind == FWD_NODE_IP && ip_unmap(node->ip).family == 6;
    bool quote = v6 || node->port_kind != FWD_PORT_NONE;
    char buf[FWD_NODE_MAX];
    struct fwd_str id = { buf, 0 }, obfport = { buf, 0 };

    if (node->kind == FWD_NODE_OBF || node->port_kind == FWD_PORT_OBF)
        fwd_node_obf(node, buf, &id, &obfport);
    if (quote)
        put_char(o, '"');
    switch (node->kind) {
    case FWD_NODE_IP:
        if (v6)
            put_char(o, '[');
        put_ip(o, &node->ip);
        if (v6)
            put_char(o, ']');
        break;
    case FWD_NODE_UNKNOWN: put(o, "unknown", 7); break;
    case FWD_NODE_OBF: put(o, id.p, id.len); break;
    default: o->bad = true; break;
    }
    if (node->port_kind == FWD_PORT_NUM) {
        put_char(o, ':');
        put_port(o, node->port);
    } else if (node->port_kind == FWD_PORT_OBF) {
        put_char(o, ':');
        put(o, obfport.p, obfport.len);
    }
    if (quote)
        put_char(o, '"');
}

/* A parameter value: bare if all tchars, else a quoted-string with '\' and
 * '"' escaped. Control bytes and bytes above 0x7e cannot be written. */
static void put_value(struct out *o, const struct fwd_value *v)
{
    bool token = fwd_value_is_token(v);
    size_t i = 0;
    int c;

    if (!token)
        put_char(o, '"');
    while ((c = fwd_value_next(v, &i)) >= 0) {
        if ((c < 0x20 && c != '\t') || c > 0x7e)
            o->bad = true;
        if (c == '\\' || c == '"')
            put_char(o, '\\');
        put_char(o, (char)c);
    }
    if (!token)
        put_char(o, '"');
}

static void put_param(struct out *o, const char *name, size_t name_len, const struct fwd_value *v)
{
    if (!v->p)
        return;
    put(o, name, name_len);
    put_value(o, v);
}

ssize_t fwd_render_xff(const struct fwd_entry *hop, size_t n, char *out, size_t cap)
{
    struct out o = { out, cap, 0, n == 0 };

    for (size_t i = 0; i < n; i++) {
        if (hop[i].node.kind != FWD_NODE_IP)
            o.bad = true;
        if (i > 0)
            put(&o, ", ", 2);
        put_ip(&o, &hop[i].node.ip);
    }
    return finish(&o);
}

ssize_t fwd_render_real_ip(const struct fwd_entry *hop, size_t n, char *out, size_t cap)
{
    struct out o = { out, cap, 0, n == 0 || hop[0].node.kind != FWD_NODE_IP };

    if (n > 0)
        put_ip(&o, &hop[0].node.ip);
    return finish(&o);
}

ssize_t fwd_render_forwarded(const struct fwd_entry *hop, size_t n, char *out, size_t cap)
{
    struct out o = { out, cap, 0, n == 0 };

    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            put(&o, ", ", 2);
        put(&o, "for=", 4);
        put_node(&o, &hop[i].node);
        put_param(&o, ";proto=", 7, &hop[i].proto);
        put_param(&o, ";host=", 6, &hop[i].host);
        put_param(&o, ";by=", 4, &hop[i].by);
    }
    return finish(&o);
}

ssize_t fwd_render_forwarded_generated(const struct fwd_entry *hop, size_t n, bool tls,
                                       const struct fwd_str *host, char *out, size_t cap)
{
    struct out o = { out, cap, 0, n == 0 };

    for (size_t i = 0; i < n; i++) {
        struct fwd_node node;
        memset(&node, 0, sizeof node);
        node.kind = hop[i].node.kind;
        node.ip = hop[i].node.ip;
        if (node.kind != FWD_NODE_IP)
            o.bad = true;
        if (i > 0)
            put(&o, ", ", 2);
        put(&o, "for=", 4);
        put_node(&o, &node);
    }
    if (n > 0) {
        put(&o, tls ? ";proto=https" : ";proto=http", tls ? 12 : 11);
        if (host) {
            struct fwd_value v = { host->p ? host->p : "", (uint32_t)host->len, 0 };
            put_param(&o, ";host=", 6, &v);
        }
    }
    return finish(&o);
}
