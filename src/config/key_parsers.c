/* Parsers for the keys whose values need more than a type check. Each one
 * reports its own located errors (rpxy's texts where SPEC gives them). */
#include "config/key_parsers.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "net/cdn_ranges.h"
#include "util/hostname.h"
#include "util/strdist.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void lower_in_place(char *s)
{
    for (; s && *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Calls each(ld, value) for a string or every string of an array. */
static int each_string(struct cfg_loader *ld, const struct toml_keyval *kv, const char *what,
                       bool allow_single, size_t *count)
{
    if (kv->val.type == TOML_STRING && allow_single) {
        *count = 1;
        return 0;
    }
    if (kv->val.type != TOML_ARRAY)
        return ld_type_error(ld, kv, what);
    const struct toml_array *a = kv->val.u.arr;
    for (size_t i = 0; i < a->n; i++) {
        if (a->items[i].type != TOML_STRING) {
            size_t mark = ld_path_push(ld, kv->key, 0);
            ld_path_push(ld, NULL, (long)i);
            ld_error(ld, a->items[i].line, a->items[i].col, NULL, "expected a string, got %s",
                     toml_type_name(a->items[i].type));
            ld_path_pop(ld, mark);
            return -1;
        }
    }
    *count = a->n;
    return 0;
}

static const struct toml_value *string_at(const struct toml_keyval *kv, size_t i)
{
    return kv->val.type == TOML_STRING ? &kv->val : &kv->val.u.arr->items[i];
}

static int parse_listen_list(struct cfg_loader *ld, const struct toml_keyval *kv,
                             struct ip_addr **out, size_t *n_out, int family)
{
    size_t n;
    if (each_string(ld, kv, "a string or an array of strings", true, &n) < 0)
        return -1;
    const char *name = family == 4 ? "listen_address_v4" : "listen_address_v6";
    if (n == 0) {
        ld_error(ld, kv->val.line, kv->val.col, kv->key, "%s must not be an empty array", name);
        return -1;
    }
    struct ip_addr *list = ld_alloc(ld, n * sizeof(*list));
    if (!list)
        return -1;
    size_t used = 0;
    bool wildcard = false;
    for (size_t i = 0; i < n; i++) {
        const struct toml_value *v = string_at(kv, i);
        const char *s = v->u.str.ptr;
        size_t len = v->u.str.len;
        if (family == 6 && len >= 2 && s[0] == '[' && s[len - 1] == ']') {
            s++;
            len -= 2;
        }
        struct ip_addr a;
        const char *why = NULL;
        if (ip_parse(s, len, &a, &why) < 0 || a.family != family) {
            ld_error(ld, v->line, v->col, kv->key, "Invalid %s '%s': %s", name, v->u.str.ptr,
                     why ? why : (family == 4 ? "not an IPv4 address" : "not an IPv6 address"));
            return -1;
        }
        static const uint8_t zero[16];
        if (memcmp(a.bytes, zero, family == 4 ? 4 : 16) == 0)
            wildcard = true;
        bool dup = false;
        for (size_t j = 0; j < used; j++)
            if (memcmp(&list[j], &a, sizeof(a)) == 0)
                dup = true;
        if (!dup)
            list[used++] = a;
    }
    if (wildcard && used > 1) {
        ld_error(ld, kv->val.line, kv->val.col, kv->key,
                 "%s must not contain the wildcard address '%s' when multiple addresses are "
                 "specified",
                 name, family == 4 ? "0.0.0.0" : "::");
        return -1;
    }
    *out = list;
    *n_out = used;
    return 0;
}

int cfg_parse_listen_v4(struct cfg_loader *ld, const struct toml_keyval *kv, void *field, void *obj)
{
    struct cfg *c = obj;
    return parse_listen_list(ld, kv, &c->listen_v4, &c->n_listen_v4, 4);
}

int cfg_parse_listen_v6(struct cfg_loader *ld, const struct toml_keyval *kv, void *field, void *obj)
{
    struct cfg *c = obj;
    return parse_listen_list(ld, kv, &c->listen_v6, &c->n_listen_v6, 6);
}

static int add_cidr(struct cfg_loader *ld, struct ip_cidr *list, size_t *used,
                    const struct ip_cidr *net)
{
    for (size_t j = 0; j < *used; j++)
        if (memcmp(&list[j], net, sizeof(*net)) == 0)
            return 0;
    list[(*used)++] = *net;
    return 0;
}

int cfg_parse_trusted_forwarded(struct cfg_loader *ld, const struct toml_keyval *kv, void *field,
                                void *obj)
{
    struct cfg *c = obj;
    size_t n;
    if (each_string(ld, kv, "a string or an array of strings", true, &n) < 0)
        return -1;
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        const struct toml_value *v = string_at(kv, i);
        const struct cdn_alias *alias = cdn_alias_find(v->u.str.ptr, v->u.str.len);
        cap += alias ? alias->n : 1;
    }
    struct ip_cidr *list = cap ? ld_alloc(ld, cap * sizeof(*list)) : NULL;
    if (cap && !list)
        return -1;
    size_t used = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const struct toml_value *v = string_at(kv, i);
        const struct cdn_alias *alias = cdn_alias_find(v->u.str.ptr, v->u.str.len);
        if (alias) {
            for (size_t j = 0; j < alias->n; j++) {
                struct ip_cidr net;
                const char *why;
                if (ip_cidr_parse(alias->cidrs[j], strlen(alias->cidrs[j]), &net, &why) == 0)
                    add_cidr(ld, list, &used, &net);
            }
            continue;
        }
        const char *s = v->u.str.ptr;
        size_t len = v->u.str.len;
        while (len && is_space(*s)) {
            s++;
            len--;
        }
        while (len && is_space(s[len - 1]))
            len--;
        struct ip_cidr net;
        struct ip_addr bare;
        const char *why = NULL, *why_bare;
        if (ip_cidr_parse(s, len, &net, &why) < 0) {
            /* Text that is not even an address reads better as "unknown alias". */
            if (!memchr(s, '/', len) && ip_parse(s, len, &bare, &why_bare) < 0)
                why = "not a CIDR and not a known alias";
            ld_error(ld, v->line, v->col, kv->key,
                     "invalid trusted proxy entry `%s`: %s (expected a CIDR such as "
                     "10.0.0.0/8, or one of cloudflare, fastly, cloudfront)",
                     v->u.str.ptr, why);
            rc = -1;
            continue;
        }
        add_cidr(ld, list, &used, &net);
    }
    c->trusted_forwarded_proxies = list;
    c->n_trusted_forwarded_proxies = used;
    return rc;
}

int cfg_parse_proxy_protocol_trusted(struct cfg_loader *ld, const struct toml_keyval *kv,
                                     void *field, void *obj)
{
    struct cfg_proxy_protocol *pp = obj;
    size_t n;
    if (each_string(ld, kv, "an array of CIDR strings", false, &n) < 0)
        return -1;
    if (n == 0) {
        ld_error(ld, kv->val.line, kv->val.col, kv->key,
                 "tcp_recv_proxy_protocol.trusted_proxies must not be empty");
        return -1;
    }
    struct ip_cidr *list = ld_alloc(ld, n * sizeof(*list));
    if (!list)
        return -1;
    size_t used = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const struct toml_value *v = string_at(kv, i);
        struct ip_cidr net;
        const char *why = NULL;
        if (ip_cidr_parse(v->u.str.ptr, v->u.str.len, &net, &why) < 0) {
            ld_error(ld, v->line, v->col, kv->key, "Invalid CIDR in trusted_proxies: %s: %s",
                     v->u.str.ptr, why);
            rc = -1;
            continue;
        }
        add_cidr(ld, list, &used, &net);
    }
    pp->trusted_proxies = list;
    pp->n_trusted_proxies = used;
    return rc;
}

/* "<digits>[k|K|m|M|g|G]", whitespace allowed around and between. */
static int parse_size_text(const char *s, size_t len, uint64_t *out, bool *overflow)
{
    size_t i = 0;
    while (i < len && is_space(s[i]))
        i++;
    while (len > i && is_space(s[len - 1]))
        len--;
    if (i == len || !isdigit((unsigned char)s[i]))
        return -1;
    uint64_t v = 0;
    *overflow = false;
    for (; i < len && isdigit((unsigned char)s[i]); i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            *overflow = true;
        else
            v = v * 10 + d;
    }
    while (i < len && is_space(s[i]))
        i++;
    uint64_t mult = 1;
    if (i < len) {
        switch (s[i]) {
        case 'k':
        case 'K': mult = 1024ull; break;
        case 'm':
        case 'M': mult = 1024ull * 1024; break;
        case 'g':
        case 'G': mult = 1024ull * 1024 * 1024; break;
        default: return -1;
        }
        if (++i != len)
            return -1;
    }
    if (v && v > UINT64_MAX / mult)
        *overflow = true;
    *out = v * mult;
    return 0;
}

int cfg_parse_body_size(struct cfg_loader *ld, const struct toml_keyval *kv, void *field, void *obj)
{
    uint64_t *out = field;
    if (kv->val.type == TOML_INTEGER) {
        if (kv->val.u.i < 0) {
            ld_error(ld, kv->val.line, kv->val.col, kv->key,
                     "request_max_body_size must not be negative, got %" PRId64, kv->val.u.i);
            return -1;
        }
        *out = (uint64_t)kv->val.u.i;
        return 0;
    }
    if (kv->val.type != TOML_STRING)
        return ld_type_error(ld, kv, "an integer or a string such as \"64M\"");
    const char *s = kv->val.u.str.ptr;
    size_t len = kv->val.u.str.len;
    size_t b = 0, e = len;
    while (b < e && is_space(s[b]))
        b++;
    while (e > b && is_space(s[e - 1]))
        e--;
    if (b == e) {
        ld_error(ld, kv->val.line, kv->val.col, kv->key,
                 "request_max_body_size must not be an empty string");
        return -1;
    }
    if (e - b == 9 && strncasecmp(s + b, "unlimited", 9) == 0) {
        *out = 0;
        return 0;
    }
    bool overflow = false;
    if (parse_size_text(s, len, out, &overflow) < 0) {
        ld_error(ld, kv->val.line, kv->val.col, kv->key,
                 "request_max_body_size has invalid format: \"%s\" (expected bytes with an "
                 "optional k, m or g suffix, or \"unlimited\")",
                 s);
        return -1;
    }
    if (overflow) {
        ld_error(ld, kv->val.line, kv->val.col, kv->key,
                 "request_max_body_size value \"%s\" overflows u64", s);
        return -1;
    }
    return 0;
}

int cfg_parse_sticky_secret(struct cfg_loader *ld, const struct toml_keyval *kv, void *field,
                            void *obj)
{
    if (kv->val.type != TOML_STRING)
        return ld_type_error(ld, kv, "a string");
    *(char **)field = ld_strdup(ld, kv->val.u.str.ptr, kv->val.u.str.len);
    return 0;
}

int cfg_parse_server_name(struct cfg_loader *ld, const struct toml_keyval *kv, void *field,
                          void *obj)
{
    if (kv->val.type != TOML_STRING)
        return ld_type_error(ld, kv, "a string");
    const char *why = hostname_check(kv->val.u.str.ptr, kv->val.u.str.len);
    if (why) {
        ld_error(ld, kv->val.line, kv->val.col, kv->key, "Invalid server_name \"%s\": %s",
                 kv->val.u.str.ptr, why);
        return -1;
    }
    char *s = ld_strdup(ld, kv->val.u.str.ptr, kv->val.u.str.len);
    lower_in_place(s);
    *(char **)field = s;
    return 0;
}

static bool is_regname_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* host, host:port, [v6], [v6]:port, optionally followed by a path, which rpxy
 * accepts and ignores. */
int cfg_parse_location(struct cfg_loader *ld, const struct toml_keyval *kv, void *field, void *obj)
{
    struct cfg_upstream *up = obj;
    if (kv->val.type != TOML_STRING)
        return ld_type_error(ld, kv, "a string");
    const char *s = kv->val.u.str.ptr;
    size_t len = kv->val.u.str.len;
    int line = kv->val.line, col = kv->val.col;
    if (strstr(s, "://")) {
        ld_error(ld, line, col, kv->key,
                 "Upstream uri is invalid: write the location without a scheme (\"%s\"); use "
                 "`tls = true` for https",
                 s);
        return -1;
    }
    size_t end = 0;
    while (end < len && s[end] != '/' && s[end] != '?' && s[end] != '#')
        end++;
    const char *host = s;
    size_t host_len;
    const char *rest;
    if (end > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', end);
        struct ip_addr a;
        const char *why;
        if (!close || ip_parse(s + 1, (size_t)(close - s - 1), &a, &why) < 0 || a.family != 6) {
            ld_error(ld, line, col, kv->key, "Upstream uri is invalid: bad IPv6 literal in \"%s\"",
                     s);
            return -1;
        }
        host = s + 1;
        host_len = (size_t)(close - s - 1);
        rest = close + 1;
    } else {
        const char *colon = memchr(s, ':', end);
        host_len = colon ? (size_t)(colon - s) : end;
        rest = s + host_len;
        for (size_t i = 0; i < host_len; i++) {
            if (!is_regname_char((unsigned char)s[i])) {
                ld_error(ld, line, col, kv->key,
                         "Upstream uri is invalid: character '%c' not allowed in host \"%s\"",
                         isprint((unsigned char)s[i]) ? s[i] : '?', s);
                return -1;
            }
        }
    }
    if (host_len == 0) {
        ld_error(ld, line, col, kv->key, "Upstream uri is invalid: no host in \"%s\"", s);
        return -1;
    }
    up->port_given = false;
    if (rest < s + end) {
        if (*rest != ':') {
            ld_error(ld, line, col, kv->key, "Upstream uri is invalid: \"%s\"", s);
            return -1;
        }
        rest++;
        uint32_t port = 0;
        size_t digits = 0;
        while (rest < s + end && isdigit((unsigned char)*rest) && digits < 6) {
            port = port * 10 + (uint32_t)(*rest - '0');
            rest++;
            digits++;
        }
        if (digits == 0 || rest != s + end || port == 0 || port > 65535) {
            ld_error(ld, line, col, kv->key,
                     "Upstream uri is invalid: port must be 1-65535 in \"%s\"", s);
            return -1;
        }
        up->port = (uint16_t)port;
        up->port_given = true;
    }
    if (end < len && s[end] != '/') {
        ld_error(ld, line, col, kv->key, "Upstream uri is invalid: \"%s\"", s);
        return -1;
    }
    if (end < len && end + 1 < len)
        ld_warn(ld, line, col, kv->key,
                "the path in \"%s\" is ignored: only host and port are used (use replace_path "
                "to rewrite paths)",
                s);
    up->location = ld_strdup(ld, s, len);
    up->host = ld_strdup(ld, host, host_len);
    lower_in_place(up->host);
    return 0;
}

static const char *const upstream_option_names[] = {
    "keep_original_host",    "set_upstream_host",    "upgrade_insecure_requests",
    "force_http11_upstream", "force_http2_upstream", "forwarded_header",
};

int cfg_parse_upstream_options(struct cfg_loader *ld, const struct toml_keyval *kv, void *field,
                               void *obj)
{
    size_t n;
    if (each_string(ld, kv, "an array of strings", false, &n) < 0)
        return -1;
    unsigned bits = 0;
    int rc = 0;
    const size_t n_names = sizeof(upstream_option_names) / sizeof(upstream_option_names[0]);
    for (size_t i = 0; i < n; i++) {
        const struct toml_value *v = string_at(kv, i);
        size_t j = 0;
        while (j < n_names && strcmp(v->u.str.ptr, upstream_option_names[j]) != 0)
            j++;
        if (j < n_names) {
            bits |= 1u << j;
            continue;
        }
        const char *close = strdist_suggest(v->u.str.ptr, upstream_option_names, n_names);
        if (close)
            ld_error(ld, v->line, v->col, kv->key,
                     "unknown upstream option \"%s\" (did you mean \"%s\"?)", v->u.str.ptr, close);
        else
            ld_error(ld, v->line, v->col, kv->key,
                     "unknown upstream option \"%s\" (known: keep_original_host, "
                     "set_upstream_host, upgrade_insecure_requests, force_http11_upstream, "
                     "force_http2_upstream, forwarded_header)",
                     v->u.str.ptr);
        rc = -1;
    }
    *(unsigned *)field = bits;
    return rc;
}

static const char *const lb_names[] = { "none", "round_robin", "random", "sticky",
                                        "primary_backup" };

const char *cfg_lb_name(enum cfg_lb lb)
{
    return (size_t)lb < sizeof(lb_names) / sizeof(lb_names[0]) ? lb_names[lb] : "?";
}

int cfg_parse_load_balance(struct cfg_loader *ld, const struct toml_keyval *kv, void *field,
                           void *obj)
{
    if (kv->val.type != TOML_STRING)
        return ld_type_error(ld, kv, "a string");
    const size_t n = sizeof(lb_names) / sizeof(lb_names[0]);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kv->val.u.str.ptr, lb_names[i]) == 0) {
            *(enum cfg_lb *)field = (enum cfg_lb)i;
            return 0;
        }
    }
    const char *close = strdist_suggest(kv->val.u.str.ptr, lb_names, n);
    if (close)
        ld_error(ld, kv->val.line, kv->val.col, kv->key,
                 "unknown load_balance \"%s\" (did you mean \"%s\"?)", kv->val.u.str.ptr, close);
    else
        ld_error(ld, kv->val.line, kv->val.col, kv->key,
                 "unknown load_balance \"%s\" (known: none, round_robin, random, sticky, "
                 "primary_backup)",
                 kv->val.u.str.ptr);
    return -1;
}

int cfg_parse_health_check(struct cfg_loader *ld, const struct toml_keyval *kv, void *field,
                           void *obj)
{
    struct cfg_health_check *hc = field;
    if (kv->val.type == TOML_BOOL) {
        static const struct toml_table empty = { 0 };
        size_t mark = ld_path_push(ld, kv->key, 0);
        int rc = ld_read_section(ld, &cfg_health_check_section, &empty, hc);
        ld_path_pop(ld, mark);
        hc->enabled = kv->val.u.b;
        return rc;
    }
    if (kv->val.type != TOML_TABLE)
        return ld_type_error(ld, kv, "true, false or a table");
    size_t mark = ld_path_push(ld, kv->key, 0);
    int rc = ld_read_section(ld, &cfg_health_check_section, kv->val.u.tab, hc);
    ld_path_pop(ld, mark);
    return rc;
}

int cfg_parse_acme_challenge(struct cfg_loader *ld, const struct toml_keyval *kv, void *field,
                             void *obj)
{
    if (kv->val.type != TOML_STRING)
        return ld_type_error(ld, kv, "a string");
    if (strcmp(kv->val.u.str.ptr, "tls-alpn-01") == 0)
        *(bool *)field = false;
    else if (strcmp(kv->val.u.str.ptr, "http-01") == 0)
        *(bool *)field = true;
    else {
        ld_error(ld, kv->val.line, kv->val.col, kv->key,
                 "unknown ACME challenge \"%s\" (expected \"tls-alpn-01\" or \"http-01\")",
                 kv->val.u.str.ptr);
        return -1;
    }
    return 0;
}

int cfg_parse_health_type(struct cfg_loader *ld, const struct toml_keyval *kv, void *field,
                          void *obj)
{
    if (kv->val.type != TOML_STRING)
        return ld_type_error(ld, kv, "a string");
    if (strcmp(kv->val.u.str.ptr, "tcp") == 0)
        *(enum cfg_health_type *)field = CFG_HEALTH_TCP;
    else if (strcmp(kv->val.u.str.ptr, "http") == 0)
        *(enum cfg_health_type *)field = CFG_HEALTH_HTTP;
    else {
        ld_error(ld, kv->val.line, kv->val.col, kv->key,
                 "Unknown health_check type: \"%s\" (expected \"tcp\" or \"http\")",
                 kv->val.u.str.ptr);
        return -1;
    }
    return 0;
}

int cfg_parse_access_log_format(struct cfg_loader *ld, const struct toml_keyval *kv, void *field,
                                void *obj)
{
    if (kv->val.type != TOML_STRING)
        return ld_type_error(ld, kv, "a string");
    if (strcmp(kv->val.u.str.ptr, "rpxy") == 0)
        *(enum cfg_access_log_format *)field = CFG_ALOG_RPXY;
    else if (strcmp(kv->val.u.str.ptr, "json") == 0)
        *(enum cfg_access_log_format *)field = CFG_ALOG_JSON;
    else {
        ld_error(ld, kv->val.line, kv->val.col, kv->key,
                 "unknown access_log_format \"%s\" (expected \"rpxy\" or \"json\")",
                 kv->val.u.str.ptr);
        return -1;
    }
    return 0;
}
