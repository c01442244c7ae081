#include "http/trailer_filter.h"

#include <string.h>
#include <strings.h>

/* Framing, routing and connection control, authentication, request
 * modifiers, response controls, content description, and the forwarding
 * fields whose values the proxy itself vouches for. */
static const char *const refused[] = {
    "age",
    "authorization",
    "cache-control",
    "connection",
    "content-encoding",
    "content-length",
    "content-location",
    "content-range",
    "content-type",
    "cookie",
    "date",
    "expect",
    "expires",
    "forwarded",
    "host",
    "http2-settings",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "keep-alive",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "range",
    "retry-after",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "vary",
    "via",
    "www-authenticate",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-proto",
    "x-forwarded-ssl",
    "x-original-uri",
    "x-real-ip",
};

bool trailer_field_allowed(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (strlen(refused[i]) == len && strncasecmp(name, refused[i], len) == 0)
            return false;
    return true;
}

size_t trailer_filter(const char *in, size_t len, char *out, size_t *dropped)
{
    size_t at = 0, kept = 0;
    *dropped = 0;
    while (at < len) {
        const char *line = in + at;
        const char *eol = memchr(line, '\n', len - at);
        size_t line_len = eol ? (size_t)(eol - line) + 1 : len - at;
        const char *colon = memchr(line, ':', line_len);
        size_t name_len = colon ? (size_t)(colon - line) : line_len;
        if (colon && trailer_field_allowed(line, name_len)) {
            memmove(out + kept, line, line_len);
            kept += line_len;
        } else {
            (*dropped)++;
        }
        at += line_len;
    }
    return kept;
}
