/* libFuzzer target for the access-log message (src/log/access_line.c). The
 * input is a header (output size, redaction, client address, version,
 * status) and eight length-prefixed fields, each copied to a heap block of
 * its exact size so that the word-at-a-time copy cannot read past a field
 * unnoticed. The message is formatted into a buffer large enough for any
 * line and into one of the size the input asks for; both must hold no
 * control byte and be valid UTF-8, and the small one must be the large one,
 * or a cut of it on a unit boundary followed by "...". The same fields as a
 * JSON line (access_json.c), whole and cut, must be one valid JSON object,
 * the cut one a prefix of the whole one closed by ,"truncated":true}. */
#include "../unit/json_valid.h"
#include "log/access_json.h"
#include "log/access_line.h"
#include "util/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELDS 8
#define FULL_CAP 65536 /* 8 fields of 255 bytes, 12 output bytes each at most */
#define HEADER 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_access_line: %s\n", what);
        abort();
    }
}

/* No control byte (C0, DEL, or C1 as UTF-8) and valid UTF-8. */
static void check_clean(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        check(c >= 0x20 && c != 0x7f, "control byte in the line");
        check(!(c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0),
              "C1 control in the line");
    }
    check(utf8_valid(s, n), "line is not valid UTF-8");
}

#define JSON_PREFIX "{\"time\":\"t\""
#define JSON_TRUNCATED ",\"truncated\":true}"

/* The JSON line of f, whole and in cap bytes. */
static void check_json(const struct alog_fields *f, bool redact, size_t cap)
{
    static char full[sizeof JSON_PREFIX + 2 * FULL_CAP], cut[sizeof JSON_PREFIX + 2 * FULL_CAP];
    const size_t pre = sizeof JSON_PREFIX - 1;
    bool trunc = true;

    memcpy(full, JSON_PREFIX, pre);
    size_t n = alog_json_format(f, redact, full + pre, sizeof full - pre, &trunc);
    check(!trunc && strlen(full + pre) == n, "JSON: the large buffer holds any line");
    check(json_valid_object(full, pre + n), "JSON: the whole line is valid");
    if (cap < 2)
        return;
    memcpy(cut, JSON_PREFIX, pre);
    size_t m = alog_json_format(f, redact, cut + pre, cap, &trunc);
    check(m < cap && strlen(cut + pre) == m, "JSON: within the buffer, NUL-terminated");
    check(json_valid_object(cut, pre + m), "JSON: the cut line is valid");
    if (!trunc) {
        check(m == n && memcmp(cut, full, pre + n) == 0, "JSON: not cut: the whole line");
        return;
    }
    size_t t = sizeof JSON_TRUNCATED - 1;
    if (m < t) {
        check(m == 1 && cut[pre] == '}', "JSON: too small a buffer: just }");
        return;
    }
    check(memcmp(cut + pre + m - t, JSON_TRUNCATED, t) == 0, "JSON: cut: ends truncated:true");
    size_t keep = pre + m - t;
    if (keep >= pre + 4 && memcmp(cut + keep - 4, "...\"", 4) == 0)
        keep -= 4;
    check(memcmp(cut, full, keep) == 0, "JSON: cut: a prefix of the whole line");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char full[FULL_CAP], cut[FULL_CAP];
    char *blocks[FIELDS] = { 0 };
    struct alog_str strs[FIELDS] = { 0 };
    struct alog_fields f = { 0 };

    if (size < HEADER)
        return 0;
    size_t cap = (size_t)data[0] << 8 | data[1];
    bool redact = data[2] & 1;
    f.has_client = data[2] & 2;
    f.client_ip.family = data[3] & 1 ? 6 : 4;
    memcpy(f.client_ip.bytes, data + 4, 16);
    f.client_port = (uint16_t)(data[20] << 8 | data[21]);
    f.version = (enum alog_version)(data[22] % 4);
    f.status = data[23] < 200 ? 100u + data[23] * 3u : data[23] * 1000003u;
    size_t at = HEADER;
    for (int i = 0; i < FIELDS && at < size; i++) {
        size_t len = data[at++];
        if (len > size - at)
            len = size - at;
        blocks[i] = malloc(len ? len : 1);
        check(blocks[i] != NULL, "out of memory");
        memcpy(blocks[i], data + at, len);
        strs[i] = (struct alog_str){ blocks[i], len };
        at += len;
    }
    f.host = strs[0];
    f.method = strs[1];
    f.path_and_query = strs[2];
    f.scheme = strs[3];
    f.user_agent = strs[4];
    f.xff = strs[5];
    f.forwarded = strs[6];
    f.upstream = strs[7];

    bool trunc = true;
    size_t n = alog_format(&f, redact, full, sizeof full, &trunc);
    check(!trunc && n < sizeof full && strlen(full) == n, "the large buffer holds any line");
    check_clean(full, n);

    if (cap >= 4) {
        size_t m = alog_format(&f, redact, cut, cap, &trunc);
        check(m < cap && strlen(cut) == m, "within the buffer, NUL-terminated");
        check_clean(cut, m);
        if (!trunc) {
            check(m == n && memcmp(cut, full, n) == 0, "not cut: the whole line");
        } else {
            check(m >= 3 && memcmp(cut + m - 3, "...", 3) == 0, "cut: ends with ...");
            check(memcmp(cut, full, m - 3) == 0, "cut: a prefix of the whole line");
            check(cap - 1 - m < 4, "cut: no shorter than the last whole unit");
        }
    }
    check_json(&f, redact, cap);
    for (int i = 0; i < FIELDS; i++)
        free(blocks[i]);
    return 0;
}
