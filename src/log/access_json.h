/* The access log as JSON (ours, beyond rpxy: access_log_format = "json"):
 * the fields of SPEC 13.1, one object per line, in this order:
 *
 *   {"time":"2026-06-13T00:00:00.000000Z","host":"example.com",
 *    "client":"192.168.1.1:8080","method":"GET","path":"/a?b=c",
 *    "version":"HTTP/1.1","status":200,"reason":"OK",
 *    "target":"https://example.com/a","user_agent":"curl/8.0",
 *    "xff":"10.0.0.1","forwarded":"","upstream":"http://10.0.0.2/a?b=c"}
 *
 * "time" is written by the log (log_access_begin_json). Every value is what
 * rpxy's line shows for the field ({path_and_query} is "path"), except that
 * every key is always there: "forwarded" is "" when absent, "status" and
 * "reason" are null when there is no status; "reason" of a code without a
 * name is "<unknown status code>". redact_query applies to "path" and
 * "upstream" as in the line.
 *
 * Strings: '"' and '\' are written \" and \\; bytes 0x00-0x1f and 0x7f, and
 * the C1 controls U+0080-U+009F, as \u00XX (lower-case hex digits); a byte
 * that is not part of valid UTF-8 as \u00XX of its value (so it reads as
 * the Latin-1 character of that byte, and no byte is lost); other valid
 * UTF-8 as it is. A line therefore is valid UTF-8 and holds no control byte.
 *
 * A line longer than the log's 8 KiB is cut at a unit boundary inside the
 * string being written, which then ends with "..."; the later fields are
 * left out and "truncated":true ends the object (a member that is not a
 * string is left out whole rather than cut). */
#ifndef RPXY_LOG_ACCESS_JSON_H
#define RPXY_LOG_ACCESS_JSON_H

#include "log/access_line.h"

#include <stdbool.h>
#include <stddef.h>

/* Formats the members of f after "time" (",\"host\":...}") into buf (cap
 * bytes, NUL-terminated when cap > 0), cut as above when longer than cap - 1
 * (*truncated, may be NULL, tells); a buffer too small for
 * ",\"truncated\":true}" gets just "}" (nothing at all when cap is 1). Returns the bytes written,
 * NUL excluded. Nothing is allocated. */
size_t alog_json_format(const struct alog_fields *f, bool redact_query, char *buf, size_t cap,
                        bool *truncated);

/* Formats f straight into the access log as one JSON line; nothing when
 * access lines are off. */
void alog_json_write(const struct alog_fields *f, bool redact_query);

#endif
