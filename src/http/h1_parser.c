/* Strict HTTP/1.1 request and response head parsers: see h1_parser.h.
 *
 * One pass over the bytes with table-driven character classes; the field
 * lines are stored first, then the few fields that matter for framing are
 * interpreted from the stored array (a pass over pointers, not bytes). */
#include "http/h1_parser.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ---- character classes, computed at compile time ---- */

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c) (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')
#define IS_HEXC(c) (IS_DIGIT(c) || (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'f'))
#define IS_VCHAR_OBS(c) ((c) > 0x20 && (c) != 0x7f)
/* a request-target never holds a fragment (RFC 9112 3.2) nor raw non-ASCII */
#define IS_TARGETC(c) ((c) > 0x20 && (c) < 0x7f && (c) != '#')
#define IS_TCHAR(c)                                                                                \
    (IS_DIGIT(c) || IS_ALPHA(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' ||         \
     (c) == '&' || (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' ||          \
     (c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define IS_HOSTC(c)                                                                                \
    (IS_DIGIT(c) || IS_ALPHA(c) || (c) == '-' || (c) == '.' || (c) == '_' || (c) == '~' ||         \
     (c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || (c) == ')' ||          \
     (c) == '*' || (c) == '+' || (c) == ',' || (c) == ';' || (c) == '=')

#define CLASS_OF(c)                                                                                \
    (((c) < 0x80 && IS_TCHAR(c) ? H1_C_TOKEN : 0u) |                                               \
     ((c) == '\t' || (c) == ' ' || IS_VCHAR_OBS(c) ? H1_C_VALUE : 0u) |                            \
     (IS_TARGETC(c) ? H1_C_TARGET : 0u) | ((c) < 0x80 && IS_HOSTC(c) ? H1_C_HOST : 0u) |           \
     ((c) < 0x80 && IS_HEXC(c) ? H1_C_HEX : 0u) |                                                  \
     ((c) == '\t' || (c) == ' ' || (IS_VCHAR_OBS(c) && (c) != '"' && (c) != '\\') ? H1_C_QDTEXT    \
                                                                                  : 0u))
#define CLS4(c) CLASS_OF(c), CLASS_OF((c) + 1), CLASS_OF((c) + 2), CLASS_OF((c) + 3)
#define CLS16(c) CLS4(c), CLS4((c) + 4), CLS4((c) + 8), CLS4((c) + 12)
#define CLS64(c) CLS16(c), CLS16((c) + 16), CLS16((c) + 32), CLS16((c) + 48)

const unsigned char h1_char_class[256] = { CLS64(0), CLS64(64), CLS64(128), CLS64(192) };

#define CLS(c) h1_char_class[(unsigned char)(c)]

static inline bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* s[0..n) equals lit, ignoring ASCII case. lit holds only lower-case
 * letters, digits, '-' and '/', ':' (for "http://"); s is a token, a field
 * value or a request target, none of which holds the control bytes
 * (0x0d, 0x10-0x11, 0x0f, 0x1a) that OR 0x20 would also map onto those. */
static bool ieq(const char *s, size_t n, const char *lit, size_t lit_len)
{
    if (n != lit_len)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != lit[i])
            return false;
    return true;
}

/* First byte at or after p (and before end) outside class cls; one bounds
 * check per 8 bytes. */
static inline const char *skip_class(const char *p, const char *end, unsigned cls)
{
    while (end - p >= 8) {
        if (!(CLS(p[0]) & cls))
            return p;
        if (!(CLS(p[1]) & cls))
            return p + 1;
        if (!(CLS(p[2]) & cls))
            return p + 2;
        if (!(CLS(p[3]) & cls))
            return p + 3;
        if (!(CLS(p[4]) & cls))
            return p + 4;
        if (!(CLS(p[5]) & cls))
            return p + 5;
        if (!(CLS(p[6]) & cls))
            return p + 6;
        if (!(CLS(p[7]) & cls))
            return p + 7;
        p += 8;
    }
    while (p < end && (CLS(*p) & cls))
        p++;
    return p;
}

#define IEQ(s, n, lit) ieq((s), (n), lit, sizeof(lit) - 1)

/* ---- field lines ---- */

enum { FL_OK, FL_MORE, FL_ERROR, FL_TOO_MANY };

/* Field lines from *pp up to end, through the empty line. Stores up to cap
 * headers in hdr (if not NULL). On FL_OK *pp is past the final CRLF. */
static int scan_fields(const char **pp, const char *end, struct http_field *hdr, size_t cap,
                       size_t *num, const char **why)
{
    const char *p = *pp;
    size_t n = 0;

    for (;;) {
        if (p == end)
            return FL_MORE;
        unsigned char c = (unsigned char)*p;
        if (!(CLS(c) & H1_C_TOKEN)) {
            if (c == '\r') {
                if (p + 1 == end)
                    return FL_MORE;
                if (p[1] != '\n') {
                    *why = "bare CR";
                    return FL_ERROR;
                }
                *pp = p + 2;
                *num = n;
                return FL_OK;
            }
            if (is_ows((char)c))
                *why = n == 0 ? "whitespace before first field line" : "obs-fold in field line";
            else if (c == '\n')
                *why = "bare LF";
            else if (c == ':')
                *why = "empty field name";
            else
                *why = "invalid character in field name";
            return FL_ERROR;
        }
        if (n == cap)
            return FL_TOO_MANY;

        const char *name = p;
        p = skip_class(p + 1, end, H1_C_TOKEN);
        if (p == end)
            return FL_MORE;
        if (*p != ':') {
            if (is_ows(*p))
                *why = "whitespace between field name and colon";
            else if (*p == '\r' || *p == '\n')
                *why = "field line without colon";
            else
                *why = "invalid character in field name";
            return FL_ERROR;
        }
        const char *name_end = p++;

        while (p < end && is_ows(*p))
            p++;
        const char *value = p;
        p = skip_class(p, end, H1_C_VALUE);
        if (p == end)
            return FL_MORE;
        if (*p != '\r') {
            *why = *p == '\n' ? "bare LF" : "invalid character in field value";
            return FL_ERROR;
        }
        if (p + 1 == end)
            return FL_MORE;
        if (p[1] != '\n') {
            *why = "bare CR";
            return FL_ERROR;
        }
        const char *value_end = p;
        while (value_end > value && is_ows(value_end[-1]))
            value_end--;
        if (hdr) {
            hdr[n].name = name;
            hdr[n].name_len = (size_t)(name_end - name);
            hdr[n].value = value;
            hdr[n].value_len = (size_t)(value_end - value);
        }
        n++;
        p += 2;
    }
}

int h1_parse_fields(const char *buf, size_t len, size_t max_len, struct http_field *headers,
                    size_t max_headers, size_t *num_headers, const char **why)
{
    size_t max = max_len < INT_MAX ? max_len : INT_MAX;
    bool full = len >= max;
    const char *end = buf + (full ? max : len);
    const char *p = buf;
    size_t n = 0;

    if (num_headers)
        *num_headers = 0;
    switch (scan_fields(&p, end, headers, headers ? max_headers : SIZE_MAX, &n, why)) {
    case FL_OK:
        if (num_headers)
            *num_headers = n;
        return (int)(p - buf);
    case FL_MORE:
        if (!full)
            return H1_INCOMPLETE;
        *why = "field section too large";
        return H1_ERROR;
    case FL_TOO_MANY: *why = "too many fields"; return H1_ERROR;
    default: return H1_ERROR;
    }
}

/* ---- field values that matter ---- */

/* Next element of a comma-separated list in *pp..end, trimmed of OWS (it may
 * be empty). Returns false when the list is exhausted. */
static bool list_next(const char **pp, const char *end, const char **elem, size_t *elem_len)
{
    const char *p = *pp;
    if (p == NULL)
        return false;
    while (p < end && is_ows(*p))
        p++;
    const char *s = p;
    while (p < end && *p != ',')
        p++;
    const char *e = p;
    while (e > s && is_ows(e[-1]))
        e--;
    *elem = s;
    *elem_len = (size_t)(e - s);
    *pp = p < end ? p + 1 : NULL;
    return true;
}

static bool all_token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(CLS(s[i]) & H1_C_TOKEN))
            return false;
    return n > 0;
}

/* uri-host [":" port] (RFC 9110 7.2, RFC 3986 3.2.2). need_host: the host may
 * not be empty; need_port: ":" and at least one digit are required. */
static bool authority_ok(const char *s, size_t n, bool need_host, bool need_port)
{
    const char *p = s, *e = s + n;

    if (p < e && *p == '[') {
        const char *ip = ++p;
        while (p < e && ((CLS(*p) & H1_C_HEX) || *p == ':' || *p == '.'))
            p++;
        if (p == e || *p != ']' || p == ip)
            return false;
        p++;
    } else {
        for (;;) {
            p = skip_class(p, e, H1_C_HOST);
            if (p == e || *p != '%')
                break;
            if (e - p < 3 || !(CLS(p[1]) & H1_C_HEX) || !(CLS(p[2]) & H1_C_HEX))
                return false;
            p += 3;
        }
        if (need_host && p == s)
            return false;
    }
    if (p == e)
        return !need_port;
    if (*p++ != ':')
        return false;
    if (p == e)
        return !need_port;
    unsigned port = 0;
    for (; p < e; p++) {
        if (!IS_DIGIT(*p))
            return false;
        port = port * 10 + (unsigned)(*p - '0');
        if (port > 65535)
            return false;
    }
    return true;
}

/* Content-Length: 1*DIGIT, or a list of identical ones. Returns 0, -1 if
 * invalid, -2 if the list holds different values. */
static int parse_content_length(const char *s, size_t n, uint64_t *out)
{
    const char *p = s, *e = s + n;
    bool have = false;
    uint64_t first = 0;

    for (;;) {
        if (p == e || !IS_DIGIT(*p))
            return -1;
        uint64_t v = 0;
        do {
            unsigned d = (unsigned)(*p - '0');
            if (v > ((uint64_t)INT64_MAX - d) / 10)
                return -1;
            v = v * 10 + d;
            p++;
        } while (p < e && IS_DIGIT(*p));
        if (have && v != first)
            return -2;
        have = true;
        first = v;
        while (p < e && is_ows(*p))
            p++;
        if (p == e)
            break;
        if (*p++ != ',')
            return -1;
        while (p < e && is_ows(*p))
            p++;
    }
    *out = first;
    return 0;
}

/* What the interesting fields of a head say. */
struct framing {
    unsigned flags;
    size_t hosts;
    const char *host;
    size_t host_len;
    bool cl_seen;
    uint64_t cl;
    unsigned te_chunked;  /* "chunked" elements in Transfer-Encoding */
    bool te_other;        /* a coding other than chunked */
    bool te_last_chunked; /* the last coding is chunked */
};

/* Interprets the stored fields. request: Host, Expect and TE matter;
 * skip_framing: Content-Length and Transfer-Encoding are ignored (tunnels).
 * Returns NULL or the reason of an error. */
static const char *scan_semantics(const struct http_field *h, size_t n, bool request,
                                  bool skip_framing, struct framing *f)
{
    const char *el;
    size_t el_len;

    for (size_t i = 0; i < n; i++, h++) {
        const char *v = h->value, *ve = h->value + h->value_len, *it = v;
        switch (h->name_len) {
        case 2:
            if (request && IEQ(h->name, 2, "te"))
                while (list_next(&it, ve, &el, &el_len))
                    if (IEQ(el, el_len, "trailers"))
                        f->flags |= H1_F_TE_TRAILERS;
            break;
        case 4:
            if (request && IEQ(h->name, 4, "host")) {
                if (++f->hosts > 1)
                    return "multiple Host fields";
                if (!authority_ok(v, h->value_len, false, false))
                    return "invalid Host";
                f->host = v;
                f->host_len = h->value_len;
            }
            break;
        case 6:
            if (request && IEQ(h->name, 6, "expect"))
                while (list_next(&it, ve, &el, &el_len))
                    if (el_len > 0)
                        f->flags |= IEQ(el, el_len, "100-continue") ? H1_F_EXPECT_CONTINUE
                                                                    : H1_F_EXPECT_OTHER;
            break;
        case 7:
            if (IEQ(h->name, 7, "upgrade"))
                f->flags |= H1_F_UPGRADE;
            break;
        case 10:
            if (IEQ(h->name, 10, "connection"))
                while (list_next(&it, ve, &el, &el_len)) {
                    if (IEQ(el, el_len, "close"))
                        f->flags |= H1_F_CONN_CLOSE;
                    else if (IEQ(el, el_len, "keep-alive"))
                        f->flags |= H1_F_CONN_KEEP_ALIVE;
                    else if (IEQ(el, el_len, "upgrade"))
                        f->flags |= H1_F_CONN_UPGRADE;
                }
            break;
        case 14:
            if (!skip_framing && IEQ(h->name, 14, "content-length")) {
                uint64_t cl = 0;
                int rc = parse_content_length(v, h->value_len, &cl);
                if (rc == -1)
                    return "invalid Content-Length";
                if (rc == -2 || (f->cl_seen && cl != f->cl))
                    return "conflicting Content-Length values";
                f->cl_seen = true;
                f->cl = cl;
                f->flags |= H1_F_CONTENT_LENGTH;
            }
            break;
        case 17:
            if (!skip_framing && IEQ(h->name, 17, "transfer-encoding")) {
                f->flags |= H1_F_TRANSFER_ENCODING;
                while (list_next(&it, ve, &el, &el_len)) {
                    if (el_len == 0)
                        continue;
                    if (!all_token(el, el_len))
                        return "invalid Transfer-Encoding";
                    f->te_last_chunked = IEQ(el, el_len, "chunked");
                    if (f->te_last_chunked)
                        f->te_chunked++;
                    else
                        f->te_other = true;
                }
            }
            break;
        default: break;
        }
    }
    return NULL;
}

/* ---- start lines ---- */

/* Checks byte i of "HTTP/d.d". */
static bool version_byte_ok(int i, char c)
{
    if (i < 5)
        return c == "HTTP/"[i];
    if (i == 6)
        return c == '.';
    return IS_DIGIT(c);
}

static int req_fail(struct h1_request *req, int status, const char *why)
{
    req->err_status = status;
    req->err_reason = why;
    return H1_ERROR;
}

static int res_fail(struct h1_response *res, const char *why)
{
    res->err_status = 502;
    res->err_reason = why;
    return H1_ERROR;
}

/* Sets the form, authority and path of a parsed request target. */
static int classify_target(struct h1_request *req)
{
    const char *t = req->target, *e = t + req->target_len;

    if (req->method_len == 7 && memcmp(req->method, "CONNECT", 7) == 0) {
        if (!authority_ok(t, req->target_len, true, true))
            return req_fail(req, 400, "CONNECT target is not host:port");
        req->form = H1_TARGET_AUTHORITY;
        req->authority = t;
        req->authority_len = req->target_len;
        return 0;
    }
    if (t[0] == '/') {
        req->form = H1_TARGET_ORIGIN;
        req->path = t;
        req->path_len = req->target_len;
        return 0;
    }
    if (req->target_len == 1 && t[0] == '*') {
        if (req->method_len != 7 || memcmp(req->method, "OPTIONS", 7) != 0)
            return req_fail(req, 400, "asterisk-form target without OPTIONS");
        req->form = H1_TARGET_ASTERISK;
        req->path = t;
        req->path_len = 1;
        return 0;
    }

    const char *a;
    if (req->target_len >= 7 && IEQ(t, 7, "http://"))
        a = t + 7;
    else if (req->target_len >= 8 && IEQ(t, 8, "https://"))
        a = t + 8;
    else
        return req_fail(req, 400, "invalid request target");
    const char *s = a;
    while (s < e && *s != '/' && *s != '?')
        s++;
    if (!authority_ok(a, (size_t)(s - a), true, false))
        return req_fail(req, 400, "invalid authority in request target");
    if (s < e && *s == '?')
        return req_fail(req, 400, "absolute-form target with a query but no path");
    req->form = H1_TARGET_ABSOLUTE;
    req->authority = a;
    req->authority_len = (size_t)(s - a);
    if (s < e) {
        req->path = s;
        req->path_len = (size_t)(e - s);
    } else {
        req->path = "/";
        req->path_len = 1;
    }
    return 0;
}

int h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim,
                     struct http_field *headers, struct h1_request *req)
{
    memset(req, 0, sizeof(*req));
    size_t max_head = lim->max_head < INT_MAX ? lim->max_head : INT_MAX;
    size_t cap = lim->max_start_line;
    bool head_full = len >= max_head; /* running out of the window is the 431 */
    const char *end = buf + (head_full ? max_head : len);
    const char *p = buf;

#define REQ_MORE()                                                                                 \
    (head_full ? req_fail(req, 431, "request header section too large") : H1_INCOMPLETE)
#define REQ_LINE_MORE(q)                                                                           \
    ((size_t)((q)-line) >= cap ? req_fail(req, 414, "request line too long") : REQ_MORE())

    /* RFC 9112 2.2: empty lines before the request line are ignored */
    while (p < end && (*p == '\r' || *p == '\n')) {
        if (*p == '\n')
            return req_fail(req, 400, "bare LF");
        if (p + 1 == end)
            return REQ_MORE();
        if (p[1] != '\n')
            return req_fail(req, 400, "bare CR");
        p += 2;
    }

    /* content bytes of the request line lie below line + cap */
    const char *line = p;
    const char *cend = (size_t)(end - line) > cap ? line + cap : end;
    const char *q = p;

    q = skip_class(q, cend, H1_C_TOKEN);
    if (q == cend)
        return REQ_LINE_MORE(q);
    if (*q != ' ' || q == p)
        return req_fail(req, 400, "invalid method");
    req->method = p;
    req->method_len = (size_t)(q - p);

    p = ++q;
    q = skip_class(q, cend, H1_C_TARGET);
    if (q == cend)
        return REQ_LINE_MORE(q);
    if (*q != ' ')
        return req_fail(req, 400,
                        *q == '\r' || *q == '\n' ? "missing HTTP version"
                                                 : "invalid character in request target");
    if (q == p)
        return req_fail(req, 400, "empty request target");
    req->target = p;
    req->target_len = (size_t)(q - p);

    p = ++q;
    for (int i = 0; i < 8; i++, q++) {
        if ((size_t)(q - line) >= cap)
            return req_fail(req, 414, "request line too long");
        if (q == end)
            return REQ_MORE();
        if (!version_byte_ok(i, *q))
            return req_fail(req, 400, "invalid HTTP version");
    }
    if (q == end)
        return REQ_MORE();
    if (*q != '\r')
        return req_fail(req, 400, *q == '\n' ? "bare LF" : "invalid HTTP version");
    if (q + 1 == end)
        return REQ_MORE();
    if (q[1] != '\n')
        return req_fail(req, 400, "bare CR");
    if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
        return req_fail(req, 505, "HTTP version not supported");
    req->minor_version = p[7] - '0';
    p = q + 2;

    if (classify_target(req) != 0)
        return H1_ERROR;

    const char *why = NULL;
    size_t n = 0;
    switch (scan_fields(&p, end, headers, lim->max_headers, &n, &why)) {
    case FL_OK: break;
    case FL_MORE: return REQ_MORE();
    case FL_TOO_MANY: return req_fail(req, 431, "too many header fields");
    default: return req_fail(req, 400, why);
    }
#undef REQ_MORE
#undef REQ_LINE_MORE
    req->num_headers = n;

    struct framing f = { 0 };
    why = scan_semantics(headers, n, true, false, &f);
    if (why)
        return req_fail(req, 400, why);
    if (f.hosts == 0 && req->minor_version == 1)
        return req_fail(req, 400, "missing Host");
    req->host = f.host;
    req->host_len = f.host_len;

    if (f.flags & H1_F_TRANSFER_ENCODING) {
        if (req->minor_version == 0)
            return req_fail(req, 400, "Transfer-Encoding in HTTP/1.0 request");
        if (f.cl_seen)
            return req_fail(req, 400, "Content-Length and Transfer-Encoding both present");
        if (f.te_chunked > 1)
            return req_fail(req, 400, "chunked applied more than once");
        if (f.te_chunked == 1 && !f.te_last_chunked)
            return req_fail(req, 400, "chunked is not the final transfer coding");
        if (f.te_other)
            return req_fail(req, 501, "unsupported transfer coding");
        if (f.te_chunked == 0)
            return req_fail(req, 400, "empty Transfer-Encoding");
        req->body = H1_BODY_CHUNKED;
    } else if (f.cl_seen) {
        req->body = H1_BODY_LENGTH;
        req->content_length = f.cl;
    }

    if (req->minor_version == 0)
        f.flags &= ~(H1_F_EXPECT_CONTINUE | H1_F_EXPECT_OTHER);
    bool keep = req->minor_version == 1
                    ? !(f.flags & H1_F_CONN_CLOSE)
                    : (f.flags & (H1_F_CONN_CLOSE | H1_F_CONN_KEEP_ALIVE)) == H1_F_CONN_KEEP_ALIVE;
    req->flags = f.flags | (keep ? H1_F_KEEP_ALIVE : 0);
    return (int)(p - buf);
}

int h1_parse_response(const char *buf, size_t len, const struct h1_limits *lim, unsigned req_flags,
                      struct http_field *headers, struct h1_response *res)
{
    memset(res, 0, sizeof(*res));
    size_t max_head = lim->max_head < INT_MAX ? lim->max_head : INT_MAX;
    size_t cap = lim->max_start_line;
    bool head_full = len >= max_head;
    const char *end = buf + (head_full ? max_head : len);
    const char *line = buf, *q = buf;

#define RES_MORE() (head_full ? res_fail(res, "response header section too large") : H1_INCOMPLETE)
#define RES_NEED(q)                                                                                \
    do {                                                                                           \
        if ((size_t)((q)-line) >= cap)                                                             \
            return res_fail(res, "status line too long");                                          \
        if ((q) == end)                                                                            \
            return RES_MORE();                                                                     \
    } while (0)

    for (int i = 0; i < 8; i++, q++) {
        RES_NEED(q);
        if (!version_byte_ok(i, *q))
            return res_fail(res, "invalid status line");
    }
    if (line[5] != '1' || (line[7] != '0' && line[7] != '1'))
        return res_fail(res, "unsupported HTTP version");
    res->minor_version = line[7] - '0';
    RES_NEED(q);
    if (*q++ != ' ')
        return res_fail(res, "invalid status line");
    int status = 0;
    for (int i = 0; i < 3; i++, q++) {
        RES_NEED(q);
        if (!IS_DIGIT(*q))
            return res_fail(res, "invalid status code");
        status = status * 10 + (*q - '0');
    }
    if (status < 100 || status > 599)
        return res_fail(res, "invalid status code");
    res->status = status;

    if (q == end)
        return RES_MORE();
    if (*q == ' ') {
        /* reason-phrase: its bytes lie below line + cap, the CR may sit there */
        if ((size_t)(q - line) >= cap)
            return res_fail(res, "status line too long");
        const char *r = ++q;
        const char *cend = (size_t)(end - line) > cap ? line + cap : end;
        q = skip_class(q, cend, H1_C_VALUE);
        if (q == end)
            return RES_MORE();
        if (*q != '\r') {
            if ((size_t)(q - line) >= cap && (CLS(*q) & H1_C_VALUE))
                return res_fail(res, "status line too long");
            return res_fail(res, *q == '\n' ? "bare LF" : "invalid character in reason phrase");
        }
        res->reason_phrase = r;
        res->reason_phrase_len = (size_t)(q - r);
    } else if (*q != '\r') {
        return res_fail(res, *q == '\n' ? "bare LF" : "invalid status code");
    }
    if (q + 1 == end)
        return RES_MORE();
    if (q[1] != '\n')
        return res_fail(res, "bare CR");
    const char *p = q + 2;
#undef RES_NEED

    if (status == 101 && !(req_flags & H1_REQ_UPGRADE))
        return res_fail(res, "101 response to a request without Upgrade");
    bool tunnel = status == 101 || ((req_flags & H1_REQ_CONNECT) && status / 100 == 2);
    bool bodyless = (req_flags & H1_REQ_HEAD) || status < 200 || status == 204 || status == 304;

    const char *why = NULL;
    size_t n = 0;
    switch (scan_fields(&p, end, headers, lim->max_headers, &n, &why)) {
    case FL_OK: break;
    case FL_MORE: return RES_MORE();
    case FL_TOO_MANY: return res_fail(res, "too many header fields");
    default: return res_fail(res, why);
    }
#undef RES_MORE
    res->num_headers = n;

    struct framing f = { 0 };
    why = scan_semantics(headers, n, false, tunnel, &f);
    if (why)
        return res_fail(res, why);
    res->content_length = f.cl;

    if (tunnel) {
        res->body = H1_BODY_TUNNEL;
    } else {
        if (f.flags & H1_F_TRANSFER_ENCODING) {
            if (res->minor_version == 0)
                return res_fail(res, "Transfer-Encoding in HTTP/1.0 response");
            if (f.te_chunked > 1)
                return res_fail(res, "chunked applied more than once");
            if (f.te_chunked == 0 && !f.te_other)
                return res_fail(res, "empty Transfer-Encoding");
        }
        if (bodyless)
            res->body = H1_BODY_NONE;
        else if (f.flags & H1_F_TRANSFER_ENCODING) /* RFC 9112 6.3 rules 3 and 4 */
            res->body = f.te_last_chunked ? H1_BODY_CHUNKED : H1_BODY_CLOSE;
        else if (f.cl_seen)
            res->body = H1_BODY_LENGTH;
        else
            res->body = H1_BODY_CLOSE;
    }

    bool keep = res->minor_version == 1
                    ? !(f.flags & H1_F_CONN_CLOSE)
                    : (f.flags & (H1_F_CONN_CLOSE | H1_F_CONN_KEEP_ALIVE)) == H1_F_CONN_KEEP_ALIVE;
    if (res->body == H1_BODY_CLOSE || res->body == H1_BODY_TUNNEL)
        keep = false;
    res->flags = f.flags | (keep ? H1_F_KEEP_ALIVE : 0);
    return (int)(p - buf);
}
