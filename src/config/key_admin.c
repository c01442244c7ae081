/* admin_listen = "IP:PORT" (ours): where the admin listener serves /metrics
 * and /healthz. */
#include <string.h>

#include "config/key_parsers.h"

static int bad(struct cfg_loader *ld, const struct toml_keyval *kv, const char *why)
{
    ld_error(ld, kv->val.line, kv->val.col, kv->key,
             "expected \"IP:PORT\" such as \"127.0.0.1:9901\" or \"[::1]:9901\", got \"%s\"%s%s",
             kv->val.u.str.ptr, why ? ": " : "", why ? why : "");
    return -1;
}

int cfg_parse_admin_listen(struct cfg_loader *ld, const struct toml_keyval *kv, void *field,
                           void *obj)
{
    struct cfg *c = obj;
    if (kv->val.type != TOML_STRING)
        return ld_type_error(ld, kv, "a string");
    const char *s = kv->val.u.str.ptr, *end = s + kv->val.u.str.len;
    const char *host = s, *host_end, *port;
    if (s < end && s[0] == '[') {
        host = s + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (!host_end || host_end + 1 >= end || host_end[1] != ':')
            return bad(ld, kv, NULL);
        port = host_end + 2;
    } else {
        host_end = memchr(s, ':', (size_t)(end - s));
        if (!host_end || memchr(host_end + 1, ':', (size_t)(end - host_end - 1)))
            return bad(ld, kv, NULL); /* no port, or IPv6 without brackets */
        port = host_end + 1;
    }
    unsigned long p = 0;
    if (port == end || end - port > 5)
        return bad(ld, kv, "bad port");
    for (const char *d = port; d < end; d++) {
        if (*d < '0' || *d > '9')
            return bad(ld, kv, "bad port");
        p = p * 10 + (unsigned long)(*d - '0');
    }
    if (p < 1 || p > 65535)
        return bad(ld, kv, "port out of range 1-65535");
    const char *why = NULL;
    if (ip_parse(host, (size_t)(host_end - host), &c->admin_addr, &why) < 0)
        return bad(ld, kv, why);
    if ((c->admin_addr.family == 6) != (s[0] == '['))
        return bad(ld, kv, "IPv6 addresses go in brackets");
    c->admin_port = (uint16_t)p;
    return 0;
}
