/* The access-log message: fields, escaping, query redaction, truncation. */
#include "log/access_line.h"
#include "util/utf8.h"

#include <stdio.h>
#include <string.h>

#define ALOG_REDACTED "<redacted>"
#define ALOG_ELLIPSIS "..."

/* An output buffer written in units that are never split: an escape, a UTF-8
 * sequence, or a single ASCII byte. Once a unit does not fit, `full` is set
 * and everything after it is dropped. */
struct alog_out {
    char *buf;
    size_t limit; /* bytes that may be written, NUL excluded */
    size_t len;
    bool full;
    bool escape; /* escape control bytes and invalid UTF-8 */
};

static void alog_put(struct alog_out *o, const char *p, size_t n)
{
    if (o->full)
        return;
    if (n > o->limit - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

/* Bytes that may be cut anywhere (ASCII, or raw output): copies what fits. */
static void alog_run(struct alog_out *o, const char *p, size_t n)
{
    if (o->full)
        return;
    size_t room = o->limit - o->len;
    size_t take = n < room ? n : room;
    memcpy(o->buf + o->len, p, take);
    o->len += take;
    if (take < n)
        o->full = true;
}

/* ASCII text of our own (separators, phrases). */
static void alog_lit(struct alog_out *o, const char *s)
{
    alog_run(o, s, strlen(s));
}

static void alog_escape_byte(struct alog_out *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
    alog_put(o, e, sizeof e);
}

/* Client-supplied bytes: copied, or escaped when o->escape says so. */
static void alog_text(struct alog_out *o, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!o->escape) {
        alog_run(o, s, n);
        return;
    }
    size_t i = 0;
    while (i < n && !o->full) {
        size_t start = i;
        while (i < n && u[i] >= 0x20 && u[i] < 0x7f)
            i++;
        alog_run(o, s + start, i - start);
        if (i == n)
            break;
        size_t seq = u[i] < 0x80 ? 0 : utf8_seq_len(u + i, n - i);
        bool c1 = seq == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0;
        if (seq == 0 || c1) {
            alog_escape_byte(o, u[i]);
            i++;
        } else {
            alog_put(o, s + i, seq);
            i += seq;
        }
    }
}

static void alog_str_text(struct alog_out *o, struct alog_str s)
{
    if (s.ptr)
        alog_text(o, s.ptr, s.len);
}

/* s with its query redacted when redact is set (SPEC 13.2). */
static void alog_query(struct alog_out *o, const char *s, size_t n, bool redact)
{
    const char *q = s ? memchr(s, '?', n) : NULL;
    if (!redact || !q) {
        if (s)
            alog_text(o, s, n);
        return;
    }
    size_t head = (size_t)(q - s) + 1;
    alog_text(o, s, head);
    const char *p = s + head, *end = s + n;
    if (p == end)
        return; /* a bare trailing '?' */
    for (;;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *seg_end = amp ? amp : end;
        if (seg_end > p) {
            const char *eq = memchr(p, '=', (size_t)(seg_end - p));
            if (eq) {
                alog_text(o, p, (size_t)(eq - p));
                alog_lit(o, "=" ALOG_REDACTED);
            } else {
                alog_lit(o, ALOG_REDACTED);
            }
        }
        if (!amp)
            break;
        alog_lit(o, "&");
        p = amp + 1;
    }
}

static void alog_client(struct alog_out *o, const struct alog_fields *f)
{
    struct ip_addr a = ip_unmap(f->client_ip);
    char ip[46], port[8];
    if (a.family != 4 && a.family != 6)
        return;
    ip_format(&a, ip);
    snprintf(port, sizeof port, ":%u", (unsigned)f->client_port);
    if (a.family == 6)
        alog_lit(o, "[");
    alog_lit(o, ip);
    if (a.family == 6)
        alog_lit(o, "]");
    alog_lit(o, port);
}

static void alog_status(struct alog_out *o, unsigned status)
{
    if (status == 0)
        return;
    char code[16];
    const char *reason = alog_reason(status);
    snprintf(code, sizeof code, "%u ", status);
    alog_lit(o, code);
    alog_lit(o, reason ? reason : "<unknown status code>");
}

static const char *alog_version_text(enum alog_version v)
{
    switch (v) {
    case ALOG_HTTP_10: return "HTTP/1.0";
    case ALOG_HTTP_11: return "HTTP/1.1";
    case ALOG_HTTP_2: return "HTTP/2.0";
    case ALOG_HTTP_3: return "HTTP/3.0";
    }
    return "HTTP/1.1";
}

static void alog_line(struct alog_out *o, const struct alog_fields *f, bool redact)
{
    bool has_scheme = f->scheme.ptr && f->scheme.len > 0;
    const char *pq = f->path_and_query.ptr;
    size_t pq_len = pq ? f->path_and_query.len : 0;
    const char *qmark = pq ? memchr(pq, '?', pq_len) : NULL;
    size_t path_len = qmark ? (size_t)(qmark - pq) : pq_len;

    alog_str_text(o, f->host);
    alog_lit(o, " <- ");
    if (f->has_client)
        alog_client(o, f);
    alog_lit(o, " -- ");
    alog_str_text(o, f->method);
    alog_lit(o, " ");
    /* an absolute URI always has a path: http's PathAndQuery shows "" as "/" */
    if (pq_len == 0 && has_scheme)
        alog_lit(o, "/");
    else
        alog_query(o, pq, pq_len, redact);
    alog_lit(o, " ");
    alog_lit(o, alog_version_text(f->version));
    alog_lit(o, " -- ");
    alog_status(o, f->status);
    alog_lit(o, " -- ");
    if (has_scheme && f->host.ptr && f->host.len > 0) {
        alog_str_text(o, f->scheme);
        alog_lit(o, "://");
        alog_str_text(o, f->host);
    }
    if (path_len == 0 && has_scheme)
        alog_lit(o, "/");
    else if (pq)
        alog_text(o, pq, path_len);
    alog_lit(o, " \"");
    alog_str_text(o, f->user_agent);
    alog_lit(o, "\", \"");
    alog_str_text(o, f->xff);
    alog_lit(o, "\"");
    if (f->forwarded.ptr && f->forwarded.len > 0) {
        alog_lit(o, " \"");
        alog_str_text(o, f->forwarded);
        alog_lit(o, "\"");
    }
    alog_lit(o, " \"");
    alog_query(o, f->upstream.ptr, f->upstream.ptr ? f->upstream.len : 0, redact);
    alog_lit(o, "\"");
}

/* What to render: the whole line of f, or s[0..len) redacted. */
struct alog_job {
    const struct alog_fields *f;
    bool redact;
    const char *s;
    size_t len;
};

static void alog_emit(struct alog_out *o, const struct alog_job *job)
{
    if (job->f)
        alog_line(o, job->f, job->redact);
    else
        alog_query(o, job->s, job->len, true);
}

/* Renders job into buf; when it does not fit, renders it again leaving room
 * for the ellipsis (truncation is rare, so the common case is one pass). */
static size_t alog_render(const struct alog_job *job, bool escape, char *buf, size_t cap,
                          bool *truncated)
{
    if (truncated)
        *truncated = cap == 0;
    if (cap == 0)
        return 0;
    struct alog_out o = { .buf = buf, .limit = cap - 1, .escape = escape };
    alog_emit(&o, job);
    if (o.full) {
        size_t dots = sizeof ALOG_ELLIPSIS - 1;
        o = (struct alog_out){ .buf = buf,
                               .limit = cap - 1 > dots ? cap - 1 - dots : 0,
                               .escape = escape };
        alog_emit(&o, job);
        o.limit = cap - 1;
        o.full = false;
        alog_lit(&o, ALOG_ELLIPSIS);
        if (truncated)
            *truncated = true;
    }
    buf[o.len] = '\0';
    return o.len;
}

size_t alog_format(const struct alog_fields *f, bool redact_query, char *buf, size_t cap,
                   bool *truncated)
{
    struct alog_job job = { .f = f, .redact = redact_query };
    return alog_render(&job, true, buf, cap, truncated);
}

size_t alog_redact_query(const char *s, size_t len, char *buf, size_t cap, bool *truncated)
{
    struct alog_job job = { .s = s, .len = len };
    return alog_render(&job, false, buf, cap, truncated);
}

const char *alog_reason(unsigned status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 208: return "Already Reported";
    case 226: return "IM Used";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    }
    return NULL;
}
