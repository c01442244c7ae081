/* The access log as JSON: string escaping, the members, the 8 KiB cut. */
#include "log/access_json.h"
#include "log/alog_out.h"
#include "log/log.h"
#include "util/utf8.h"

#include <string.h>

#define JSON_CUT_END "...\""
#define JSON_TRUNCATED ",\"truncated\":true}"
/* room kept, once a line is cut, to close the string and the object */
#define JSON_RESERVE (sizeof JSON_CUT_END - 1 + sizeof JSON_TRUNCATED - 1)

static void json_u00(struct alog_out *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
    alog_put(o, e, sizeof e);
}

/* One unit at u[0] (n >= 1): an escape, a printable ASCII byte or a valid
 * UTF-8 sequence. Returns the bytes consumed. */
static size_t json_unit(struct alog_out *o, const unsigned char *u, size_t n)
{
    if (u[0] == '"' || u[0] == '\\') {
        char e[2] = { '\\', (char)u[0] };
        alog_put(o, e, sizeof e);
        return 1;
    }
    if (u[0] >= 0x20 && u[0] < 0x7f) {
        alog_put(o, (const char *)u, 1);
        return 1;
    }
    size_t seq = u[0] < 0x80 ? 0 : utf8_seq_len(u, n);
    if (seq == 2 && u[0] == 0xc2 && u[1] < 0xa0) {
        json_u00(o, u[1]); /* a C1 control: the code point is the second byte */
        return 2;
    }
    if (seq == 0) {
        json_u00(o, u[0]);
        return 1;
    }
    alog_put(o, (const char *)u, seq);
    return seq;
}

/* alog_json_text past its first run that needs no escaping; not inlined,
 * so that the common case (the whole field is plain) stays short. */
__attribute__((noinline)) static void json_text_rest(struct alog_out *o, const unsigned char *u,
                                                     size_t n)
{
    while (n > 0 && !o->full) {
        if (n <= o->limit - o->len) {
            size_t i = alog_copy_plain(o->buf + o->len, u, n, true);
            o->len += i;
            u += i;
            n -= i;
            if (n == 0)
                break;
        }
        size_t k = json_unit(o, u, n);
        u += k;
        n -= k;
    }
}

void alog_json_text(struct alog_out *o, const unsigned char *u, size_t n)
{
    size_t i = alog_plain_head(o, u, n, true);
    if (i < n)
        json_text_rest(o, u + i, n - i);
}

/* The writer: an alog_out plus where the cut fell. */
struct json_out {
    struct alog_out o;
    bool in_string; /* the cut fell inside a string value */
};

/* Starts a member (key is ",\"name\":" and, for a string, the opening
 * quote). Nothing more is written once the line is full; a member whose key
 * does not fit is taken back. */
static bool json_key(struct json_out *j, const char *key, size_t len)
{
    if (j->o.full)
        return false;
    size_t at = j->o.len;
    alog_run(&j->o, key, len);
    if (!j->o.full)
        return true;
    j->o.len = j->o.limit = at;
    return false;
}

#define JSON_KEY(j, lit) json_key((j), (lit), sizeof(lit) - 1)

/* Ends a member that must not be cut (a number, null, our own text): when
 * it did not fit, it is taken back whole (at: where its key began). */
static void json_whole(struct json_out *j, size_t at)
{
    if (j->o.full)
        j->o.len = j->o.limit = at;
}

/* Ends a string value: its closing quote, or the cut. */
static void json_close(struct json_out *j)
{
    if (!j->o.full)
        ALOG_LIT(&j->o, "\"");
    if (j->o.full)
        j->in_string = true;
}

static void json_str(struct json_out *j, const char *key, size_t key_len, struct alog_str s)
{
    if (!json_key(j, key, key_len))
        return;
    if (s.ptr)
        alog_json_text(&j->o, (const unsigned char *)s.ptr, s.len);
    json_close(j);
}

#define JSON_STR(j, lit, s) json_str((j), (lit), sizeof(lit) - 1, (s))

/* A string value we write ourselves (ASCII, no escaping needed), whole. */
static void json_own(struct json_out *j, const char *key, size_t key_len, const char *v)
{
    size_t at = j->o.len;
    if (!json_key(j, key, key_len))
        return;
    alog_run(&j->o, v, strlen(v));
    ALOG_LIT(&j->o, "\"");
    json_whole(j, at);
}

static void json_client(struct json_out *j, const struct alog_fields *f)
{
    size_t at = j->o.len;
    if (!JSON_KEY(j, ",\"client\":\""))
        return;
    if (f->has_client)
        alog_client(&j->o, f);
    ALOG_LIT(&j->o, "\"");
    json_whole(j, at);
}

static void json_status(struct json_out *j, unsigned status)
{
    size_t at = j->o.len;
    if (status == 0) {
        if (JSON_KEY(j, ",\"status\":null,\"reason\":null"))
            json_whole(j, at);
        return;
    }
    if (!JSON_KEY(j, ",\"status\":"))
        return;
    const char *reason = alog_reason(status);
    if (!reason)
        reason = "<unknown status code>";
    alog_uint(&j->o, status);
    ALOG_LIT(&j->o, ",\"reason\":\"");
    alog_run(&j->o, reason, strlen(reason));
    ALOG_LIT(&j->o, "\"");
    json_whole(j, at);
}

/* A value that may hold a redacted query ("path", "upstream"). */
static void json_query(struct json_out *j, const char *key, size_t key_len, struct alog_str s,
                       bool redact)
{
    if (!json_key(j, key, key_len))
        return;
    alog_query(&j->o, s.ptr, s.ptr ? s.len : 0, redact);
    json_close(j);
}

static void json_members(struct json_out *j, const struct alog_fields *f, bool redact)
{
    bool has_scheme = f->scheme.ptr && f->scheme.len > 0;
    const char *pq = f->path_and_query.ptr;
    size_t pq_len = pq ? f->path_and_query.len : 0;
    const char *qmark = pq ? memchr(pq, '?', pq_len) : NULL;
    size_t path_len = qmark ? (size_t)(qmark - pq) : pq_len;

    JSON_STR(j, ",\"host\":\"", f->host);
    json_client(j, f);
    JSON_STR(j, ",\"method\":\"", f->method);
    /* an absolute URI always has a path: http's PathAndQuery shows "" as "/" */
    if (pq_len == 0 && has_scheme)
        json_own(j, ",\"path\":\"", sizeof ",\"path\":\"" - 1, "/");
    else
        json_query(j, ",\"path\":\"", sizeof ",\"path\":\"" - 1, f->path_and_query, redact);
    json_own(j, ",\"version\":\"", sizeof ",\"version\":\"" - 1, alog_version_text(f->version));
    json_status(j, f->status);
    if (JSON_KEY(j, ",\"target\":\"")) {
        if (has_scheme && f->host.ptr && f->host.len > 0) {
            alog_json_text(&j->o, (const unsigned char *)f->scheme.ptr, f->scheme.len);
            ALOG_LIT(&j->o, "://");
            alog_json_text(&j->o, (const unsigned char *)f->host.ptr, f->host.len);
        }
        if (path_len == 0 && has_scheme)
            ALOG_LIT(&j->o, "/");
        else if (pq)
            alog_json_text(&j->o, (const unsigned char *)pq, path_len);
        json_close(j);
    }
    JSON_STR(j, ",\"user_agent\":\"", f->user_agent);
    JSON_STR(j, ",\"xff\":\"", f->xff);
    JSON_STR(j, ",\"forwarded\":\"", f->forwarded);
    json_query(j, ",\"upstream\":\"", sizeof ",\"upstream\":\"" - 1, f->upstream, redact);
}

/* Renders f into buf; when it does not fit, renders it again with room kept
 * to close the cut string and the object (the common case is one pass). */
size_t alog_json_format(const struct alog_fields *f, bool redact_query, char *buf, size_t cap,
                        bool *truncated)
{
    if (truncated)
        *truncated = cap == 0;
    if (cap == 0)
        return 0;
    struct json_out j = { .o = { .buf = buf, .limit = cap - 1, .esc = ALOG_ESC_JSON } };
    json_members(&j, f, redact_query);
    ALOG_LIT(&j.o, "}");
    if (j.o.full) {
        size_t keep = cap - 1 > JSON_RESERVE ? cap - 1 - JSON_RESERVE : 0;
        j = (struct json_out){ .o = { .buf = buf, .limit = keep, .esc = ALOG_ESC_JSON } };
        json_members(&j, f, redact_query);
        j.o.limit = cap - 1;
        j.o.full = false;
        if (j.in_string)
            ALOG_LIT(&j.o, JSON_CUT_END);
        ALOG_LIT(&j.o, JSON_TRUNCATED);
        if (j.o.full) { /* cap too small for anything: close the object at least */
            j.o = (struct alog_out){ .buf = buf, .limit = cap - 1 };
            ALOG_LIT(&j.o, "}");
        }
        if (truncated)
            *truncated = true;
    }
    buf[j.o.len] = '\0';
    return j.o.len;
}

void alog_json_write(const struct alog_fields *f, bool redact_query)
{
    size_t cap;
    char *p = log_access_begin_json(&cap);
    if (p)
        log_access_end(alog_json_format(f, redact_query, p, cap, NULL));
}
