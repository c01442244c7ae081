/* The access-log message (SPEC 13.1), without timestamp or newline:
 *
 *   {host} <- {client} -- {method} {path_and_query} {version} -- {status} --
 *   {target} "{user_agent}", "{xff}"{forwarded_part} "{upstream}"
 *
 * (one line). Fields come from the client, so the line is made safe to store:
 * bytes 0x00-0x1f and 0x7f, bytes that do not form valid UTF-8 and the C1
 * controls U+0080-U+009F are written as "\xHH" (lower-case hex digits), one
 * escape per byte. A line can therefore never hold a newline or a terminal
 * control sequence (other Unicode, bidi controls included, is kept).
 * Everything else, '"' and '\' included, is written as is, as rpxy does; so a
 * literal "\x0a" sent by a client reads like an escape. Differences from rpxy
 * only for such bytes: rpxy prints a tab raw, and prints an empty
 * User-Agent, X-Forwarded-For or Forwarded when the value is not visible
 * ASCII; we print the value with the escaping above.
 *
 * With redact_query (SPEC 13.2) the query of {path_and_query} and {upstream}
 * is masked segment by segment: "k=v" -> "k=<redacted>", a non-empty segment
 * without '=' -> "<redacted>", empty segments stay empty; the path and a bare
 * trailing '?' are kept. No URL-decoding. */
#ifndef RPXY_LOG_ACCESS_LINE_H
#define RPXY_LOG_ACCESS_LINE_H

#include "util/ipaddr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A byte string that need not be NUL-terminated; ptr NULL means empty. */
struct alog_str {
    const char *ptr;
    size_t len;
};

enum alog_version {
    ALOG_HTTP_10,
    ALOG_HTTP_11,
    ALOG_HTTP_2,
    ALOG_HTTP_3,
};

struct alog_fields {
    /* URI host (":port" when the URI names one), else the Host header as sent */
    struct alog_str host;
    bool has_client;          /* false: {client} is empty */
    struct ip_addr client_ip; /* IPv4-mapped IPv6 is shown as IPv4 */
    uint16_t client_port;
    struct alog_str method;
    /* request target as received; may be empty ("/" is shown when the URI
     * has a scheme, as http's PathAndQuery does) */
    struct alog_str path_and_query;
    enum alog_version version;
    unsigned status; /* 0: none, {status} is empty */
    /* scheme of the request URI (h2, h3, absolute-form h1), empty otherwise;
     * {target} is "{scheme}://{host}{path}" only when scheme and host are both
     * non-empty, else the path of path_and_query alone */
    struct alog_str scheme;
    struct alog_str user_agent;
    struct alog_str xff;       /* outgoing X-Forwarded-For if forwarded, else incoming */
    struct alog_str forwarded; /* incoming Forwarded; empty: the part is omitted */
    struct alog_str upstream;  /* full upstream URI; empty if not forwarded */
};

/* Formats the message of f into buf (cap bytes, NUL-terminated when cap > 0).
 * A line longer than cap - 1 is cut at a character or escape boundary and
 * ends with "..."; *truncated (may be NULL) tells. Returns the number of bytes
 * written, NUL excluded. Nothing is allocated. */
size_t alog_format(const struct alog_fields *f, bool redact_query, char *buf, size_t cap,
                   bool *truncated);

/* Formats the message of f straight into the access log (log_access_begin),
 * as alog_format would; nothing when access lines are off. */
void alog_write(const struct alog_fields *f, bool redact_query);

/* Writes s[0..len) with its query redacted (13.2) into buf, as is (no
 * escaping; a cut may fall inside a UTF-8 sequence), NUL-terminated when
 * cap > 0, ending with "..." when cut (*truncated, may be NULL, tells).
 * Returns the bytes written, NUL excluded. */
size_t alog_redact_query(const char *s, size_t len, char *buf, size_t cap, bool *truncated);

/* Canonical reason phrase of a status code, as the Rust http crate (1.4)
 * spells it ("Non Authoritative Information", "Payload Too Large", ...), or
 * NULL for a code it does not name (425, 306, 509, 600, ...); such codes are
 * logged as "<code> <unknown status code>". Static storage. */
const char *alog_reason(unsigned status);

#endif
