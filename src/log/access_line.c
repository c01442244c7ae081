/* The access-log message: fields, escaping, query redaction, truncation.
 * It is written for every request, so the common case (printable ASCII
 * fields, a line that fits) takes no per-byte branch and no printf. */
#include "log/access_line.h"
#include "log/alog_out.h"
#include "log/log.h"
#include "util/utf8.h"

#include <string.h>

#define ALOG_REDACTED "<redacted>"
#define ALOG_ELLIPSIS "..."

/* The end of a run that does not fit: what fits of it, then nothing more. */
void alog_run_cut(struct alog_out *o, const char *p, size_t n)
{
    (void)n;
    size_t room = o->limit - o->len;
    memcpy(o->buf + o->len, p, room);
    o->len += room;
    alog_stop(o);
}

/* ASCII text of our own (separators, phrases). */
static void alog_lit(struct alog_out *o, const char *s)
{
    alog_run(o, s, strlen(s));
}

/* Writes the decimal digits of v (at most 10) to out, two at a time;
 * returns their count. */
static size_t alog_dec(char *out, unsigned v)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    size_t n = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5 : 6;
    for (unsigned rest = v / 1000000; rest > 0; rest /= 10)
        n++;
    size_t i = n;
    for (; v >= 10; v /= 100) {
        i -= 2;
        memcpy(out + i, pairs + 2 * (v % 100), 2);
    }
    if (i > 0)
        out[0] = (char)('0' + v);
    return n;
}

void alog_uint(struct alog_out *o, unsigned v)
{
    if (o->limit - o->len >= 10) {
        o->len += alog_dec(o->buf + o->len, v);
        return;
    }
    char d[10];
    alog_run(o, d, alog_dec(d, v));
}

static void alog_escape_byte(struct alog_out *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
    alog_put(o, e, sizeof e);
}

/* One unit of client bytes at u[0] (n >= 1): a printable ASCII byte, a
 * valid UTF-8 sequence other than a C1 control, or an escape. Returns the
 * bytes consumed. */
static size_t alog_text_unit(struct alog_out *o, const unsigned char *u, size_t n)
{
    if (u[0] >= 0x20 && u[0] < 0x7f) {
        alog_put(o, (const char *)u, 1);
        return 1;
    }
    size_t seq = u[0] < 0x80 ? 0 : utf8_seq_len(u, n);
    if (seq == 0 || (seq == 2 && u[0] == 0xc2 && u[1] < 0xa0)) {
        alog_escape_byte(o, u[0]);
        return 1;
    }
    alog_put(o, (const char *)u, seq);
    return seq;
}

/* alog_text past its first run of printable ASCII. Not inlined (nor is
 * alog_text_other): alog_text, called for every field, stays a short fast
 * path without the register saves of the loop (~90 instructions a line). */
__attribute__((noinline)) static void alog_text_rest(struct alog_out *o, const unsigned char *u,
                                                     size_t n)
{
    while (n > 0 && !o->full) {
        if (n <= o->limit - o->len) {
            size_t i = alog_copy_plain(o->buf + o->len, u, n, false);
            o->len += i;
            u += i;
            n -= i;
            if (n == 0)
                break;
        }
        size_t k = alog_text_unit(o, u, n);
        u += k;
        n -= k;
    }
}

/* Raw bytes, or JSON: the formats other than rpxy's line. */
__attribute__((noinline)) static void alog_text_other(struct alog_out *o, const char *s, size_t n)
{
    if (o->esc == ALOG_ESC_JSON)
        alog_json_text(o, (const unsigned char *)s, n);
    else
        alog_run(o, s, n);
}

/* Client-supplied bytes, escaped as o->esc says. For rpxy's line, runs of
 * printable ASCII are copied eight bytes at a time while the rest of the
 * field fits; anything else goes unit by unit. */
static inline void alog_text(struct alog_out *o, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (o->esc != ALOG_ESC_LINE) {
        alog_text_other(o, s, n);
        return;
    }
    size_t i = alog_plain_head(o, u, n, false);
    if (i < n)
        alog_text_rest(o, u + i, n - i);
}

static void alog_str_text(struct alog_out *o, struct alog_str s)
{
    if (s.ptr)
        alog_text(o, s.ptr, s.len);
}

/* s with its query redacted when redact is set (SPEC 13.2). */
static void alog_query_in(struct alog_out *o, const char *s, size_t n, bool redact)
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
                ALOG_LIT(o, "=" ALOG_REDACTED);
            } else {
                ALOG_LIT(o, ALOG_REDACTED);
            }
        }
        if (!amp)
            break;
        ALOG_LIT(o, "&");
        p = amp + 1;
    }
}

static inline void alog_client_in(struct alog_out *o, const struct alog_fields *f)
{
    struct ip_addr a = ip_unmap(f->client_ip);
    char ip[46];
    if (a.family != 4 && a.family != 6)
        return;
    if (a.family == 4 && o->limit - o->len >= 16) { /* "255.255.255.255." */
        char *p = o->buf + o->len;
        for (int i = 0; i < 4; i++) {
            p += alog_dec(p, a.bytes[i]);
            *p++ = '.';
        }
        o->len = (size_t)(p - 1 - o->buf); /* the last '.' dropped */
    } else {
        if (a.family == 6)
            ALOG_LIT(o, "[");
        alog_run(o, ip, ip_format(&a, ip));
    }
    if (a.family == 6)
        ALOG_LIT(o, "]:");
    else
        ALOG_LIT(o, ":");
    alog_uint(o, f->client_port);
}

static void alog_status(struct alog_out *o, unsigned status)
{
    if (status == 0)
        return;
    const char *reason = alog_reason(status);
    alog_uint(o, status);
    ALOG_LIT(o, " ");
    alog_lit(o, reason ? reason : "<unknown status code>");
}

const char *alog_version_text(enum alog_version v)
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
    ALOG_LIT(o, " <- ");
    if (f->has_client)
        alog_client_in(o, f);
    ALOG_LIT(o, " -- ");
    alog_str_text(o, f->method);
    ALOG_LIT(o, " ");
    /* an absolute URI always has a path: http's PathAndQuery shows "" as "/" */
    if (pq_len == 0 && has_scheme)
        ALOG_LIT(o, "/");
    else
        alog_query_in(o, pq, pq_len, redact);
    ALOG_LIT(o, " ");
    alog_lit(o, alog_version_text(f->version));
    ALOG_LIT(o, " -- ");
    alog_status(o, f->status);
    ALOG_LIT(o, " -- ");
    if (has_scheme && f->host.ptr && f->host.len > 0) {
        alog_str_text(o, f->scheme);
        ALOG_LIT(o, "://");
        alog_str_text(o, f->host);
    }
    if (path_len == 0 && has_scheme)
        ALOG_LIT(o, "/");
    else if (pq)
        alog_text(o, pq, path_len);
    ALOG_LIT(o, " \"");
    alog_str_text(o, f->user_agent);
    ALOG_LIT(o, "\", \"");
    alog_str_text(o, f->xff);
    ALOG_LIT(o, "\"");
    if (f->forwarded.ptr && f->forwarded.len > 0) {
        ALOG_LIT(o, " \"");
        alog_str_text(o, f->forwarded);
        ALOG_LIT(o, "\"");
    }
    ALOG_LIT(o, " \"");
    alog_query_in(o, f->upstream.ptr, f->upstream.ptr ? f->upstream.len : 0, redact);
    ALOG_LIT(o, "\"");
}

/* For access_json.c; the line's own calls above stay static, so that the
 * compiler may inline and specialize them (the line is on every request). */
void alog_query(struct alog_out *o, const char *s, size_t n, bool redact)
{
    alog_query_in(o, s, n, redact);
}

void alog_client(struct alog_out *o, const struct alog_fields *f)
{
    alog_client_in(o, f);
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
        alog_query_in(o, job->s, job->len, true);
}

/* Renders job into buf; when it does not fit, renders it again leaving room
 * for the ellipsis (truncation is rare, so the common case is one pass). */
static size_t alog_render(const struct alog_job *job, enum alog_esc esc, char *buf, size_t cap,
                          bool *truncated)
{
    if (truncated)
        *truncated = cap == 0;
    if (cap == 0)
        return 0;
    struct alog_out o = { .buf = buf, .limit = cap - 1, .esc = esc };
    alog_emit(&o, job);
    if (o.full) {
        size_t dots = sizeof ALOG_ELLIPSIS - 1;
        o = (struct alog_out){ .buf = buf,
                               .limit = cap - 1 > dots ? cap - 1 - dots : 0,
                               .esc = esc };
        alog_emit(&o, job);
        o.limit = cap - 1;
        o.full = false;
        ALOG_LIT(&o, ALOG_ELLIPSIS);
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
    return alog_render(&job, ALOG_ESC_LINE, buf, cap, truncated);
}

void alog_write(const struct alog_fields *f, bool redact_query)
{
    size_t cap;
    char *p = log_access_begin(&cap);
    if (p)
        log_access_end(alog_format(f, redact_query, p, cap, NULL));
}

size_t alog_redact_query(const char *s, size_t len, char *buf, size_t cap, bool *truncated)
{
    struct alog_job job = { .s = s, .len = len };
    return alog_render(&job, ALOG_ESC_RAW, buf, cap, truncated);
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
