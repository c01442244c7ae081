#include "log/request_debug.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log/log.h"

static bool show_credentials;

void request_debug_show_credentials(bool show)
{
    show_credentials = show;
}

struct out {
    char *p;
    size_t cap, len;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || o->len + n + 4 > o->cap) { /* room for "..." and NUL */
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* A value as Rust's Debug shows a header value: quoted, `"` and `\`
 * escaped, bytes outside printable ASCII as \xNN. */
static void put_quoted(struct out *o, const char *v, size_t n)
{
    put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        char esc[5];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(o, esc, 2);
        } else if (c < 0x20 || c > 0x7e) {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            put(o, esc, 4);
        } else {
            put(o, (const char *)&c, 1);
        }
    }
    put(o, "\"", 1);
}

static bool is_credential(const char *name, size_t n)
{
    return (n == 13 && strncasecmp(name, "authorization", 13) == 0) ||
           (n == 19 && strncasecmp(name, "proxy-authorization", 19) == 0) ||
           (n == 6 && strncasecmp(name, "cookie", 6) == 0);
}

static void put_lower(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
        put(o, &c, 1);
    }
}

/* The field lines of head after its request line, as {"name": "value", ...}. */
static void put_headers(struct out *o, const char *head, size_t len)
{
    const char *end = head + len, *line = memchr(head, '\n', len);
    put(o, "{", 1);
    bool first = true;
    for (line = line ? line + 1 : end; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t n = eol ? (size_t)(eol - line) : (size_t)(end - line);
        if (n && line[n - 1] == '\r')
            n--;
        const char *colon = memchr(line, ':', n);
        if (colon) {
            size_t nl = (size_t)(colon - line);
            const char *v = colon + 1;
            size_t vl = n - nl - 1;
            while (vl && (*v == ' ' || *v == '\t'))
                v++, vl--;
            if (!first)
                put(o, ", ", 2);
            first = false;
            put(o, "\"", 1);
            put_lower(o, line, nl);
            put(o, "\": ", 3);
            if (!show_credentials && is_credential(line, nl))
                put(o, "\"<redacted>\"", 12);
            else
                put_quoted(o, v, vl);
        }
        line = eol ? eol + 1 : end;
    }
    put(o, "}", 1);
}

size_t request_debug_format(char *out, size_t cap, const char *uri, size_t uri_len,
                            const char *version, const char *head, size_t head_len)
{
    struct out o = { out, cap, 0, false };
    const char *sp = memchr(head, ' ', head_len);
    size_t method_len = sp ? (size_t)(sp - head) : 0;
    puts_(&o, "Request to be forwarded: [uri ");
    put(&o, uri, uri_len);
    puts_(&o, ", method: ");
    put(&o, head, method_len);
    puts_(&o, ", version ");
    puts_(&o, version);
    puts_(&o, ", headers ");
    put_headers(&o, head, head_len);
    puts_(&o, "]");
    if (o.full && cap >= 4) {
        memcpy(out + (o.len < cap - 4 ? o.len : cap - 4), "...", 3);
        o.len = (o.len < cap - 4 ? o.len : cap - 4) + 3;
    }
    if (cap)
        out[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len;
}

void request_debug_log(const char *scheme, const char *authority, size_t authority_len,
                       const char *path, size_t path_len, const char *version, const char *head,
                       size_t head_len)
{
    if (!log_enabled(LOG_DEBUG))
        return;
    char uri[8192 + 400];
    int n = snprintf(uri, sizeof(uri), "%s://%.*s%.*s", scheme, (int)authority_len, authority,
                     (int)path_len, path);
    size_t uri_len = n < 0 ? 0 : (size_t)n < sizeof(uri) ? (size_t)n : sizeof(uri) - 1;
    static _Thread_local char line[8192]; /* the log keeps 8 KiB of a message */
    size_t len = request_debug_format(line, sizeof(line), uri, uri_len, version, head, head_len);
    log_msg(LOG_DEBUG, "%.*s", (int)len, line);
}
