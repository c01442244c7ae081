/* The debug line of SPEC 13.3, one per forwarded request:
 *   Request to be forwarded: [uri <upstream uri>, method: <m>, version <v>,
 *   headers {"name": "value", ...}]
 * with the values of authorization, proxy-authorization and cookie shown as
 * "<redacted>" unless RPXY_UNSAFE_DEBUG_HEADERS is enabled. */
#ifndef RPXY_LOG_REQUEST_DEBUG_H
#define RPXY_LOG_REQUEST_DEBUG_H

#include <stdbool.h>
#include <stddef.h>

/* Set once at start-up from RPXY_UNSAFE_DEBUG_HEADERS. */
void request_debug_show_credentials(bool show);

/* Formats the line into out (cap bytes, NUL-terminated, truncated with
 * "..." when it does not fit) from the upstream URI parts and the HTTP/1.1
 * request head (request line, field lines, empty line) that is forwarded.
 * Returns the length. */
size_t request_debug_format(char *out, size_t cap, const char *uri, size_t uri_len,
                            const char *version, const char *head, size_t head_len);

/* Logs it at debug level (a no-op below). */
void request_debug_log(const char *scheme, const char *authority, size_t authority_len,
                       const char *path, size_t path_len, const char *version, const char *head,
                       size_t head_len);

#endif
