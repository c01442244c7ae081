/* Unit tests for src/log/access_json.c. */
#include "../json_valid.h"
#include "../tap.h"
#include "alog_fixture.h"
#include "log/access_json.h"
#include "log/access_line.h"
#include "util/ipaddr.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "{\"time\":\"t\""

/* The whole line as the log writes it (a "time" of "t"), in a static buffer. */
static const char *line_of(const struct alog_fields *f, bool redact, size_t cap, bool *trunc)
{
    static char buf[65536];
    memcpy(buf, PREFIX, sizeof PREFIX - 1);
    alog_json_format(f, redact, buf + sizeof PREFIX - 1, cap, trunc);
    return buf;
}

static bool valid(const char *line)
{
    return json_valid_object(line, strlen(line));
}

/* The user_agent member of the line of a request with user agent ua. */
static const char *ua_member(const char *ua, size_t len)
{
    static char member[4096];
    struct alog_fields f = example();
    f.user_agent = (struct alog_str){ ua, len };
    const char *line = line_of(&f, false, 4096, NULL);
    const char *at = strstr(line, ",\"user_agent\":");
    const char *end = at ? strstr(at, ",\"xff\":") : NULL;
    if (!end)
        return "";
    snprintf(member, sizeof member, "%.*s", (int)(end - at - 14), at + 14);
    return member;
}

static void test_example(void)
{
    struct alog_fields f = example();
    bool trunc = true;
    const char *line = line_of(&f, false, 4096, &trunc);
    TAP_STR_EQ(line,
               PREFIX
               ",\"host\":\"example.com\",\"client\":\"192.168.1.1:8080\",\"method\":\"GET\","
               "\"path\":\"/path?query=value\",\"version\":\"HTTP/1.1\",\"status\":200,"
               "\"reason\":\"OK\",\"target\":\"https://example.com/path\","
               "\"user_agent\":\"Mozilla/5.0\",\"xff\":\"10.0.0.1\",\"forwarded\":\"\","
               "\"upstream\":\"https://backend.example.com/path?query=value\"}",
               "the SPEC 13.1 example as JSON");
    TAP_OK(!trunc, "not truncated");
    TAP_OK(valid(line), "valid JSON");

    line = line_of(&f, true, 4096, NULL);
    TAP_OK(strstr(line, "\"path\":\"/path?query=<redacted>\"") &&
               strstr(line, "\"upstream\":\"https://backend.example.com/path?query=<redacted>\""),
           "redaction: path and upstream");
    TAP_OK(strstr(line, "\"target\":\"https://example.com/path\"") != NULL,
           "redaction: the target has no query anyway");
}

static void test_fields(void)
{
    struct alog_fields f = { 0 };
    const char *line = line_of(&f, false, 4096, NULL);
    TAP_STR_EQ(line,
               PREFIX ",\"host\":\"\",\"client\":\"\",\"method\":\"\",\"path\":\"\","
                      "\"version\":\"HTTP/1.0\",\"status\":null,\"reason\":null,\"target\":\"\","
                      "\"user_agent\":\"\",\"xff\":\"\",\"forwarded\":\"\",\"upstream\":\"\"}",
               "all fields empty: every key still there, status null");

    f = example();
    f.status = 425;
    f.version = ALOG_HTTP_2;
    f.client_ip = addr("2001:db8::1");
    f.client_port = 443;
    f.forwarded = S("for=1.2.3.4;proto=https");
    f.path_and_query = S("");
    line = line_of(&f, false, 4096, NULL);
    TAP_OK(strstr(line, "\"status\":425,\"reason\":\"<unknown status code>\"") != NULL,
           "a code without a name: rpxy's reason text");
    TAP_OK(strstr(line, "\"client\":\"[2001:db8::1]:443\"") != NULL, "IPv6 client in brackets");
    TAP_OK(strstr(line, "\"version\":\"HTTP/2.0\"") != NULL, "HTTP/2.0");
    TAP_OK(strstr(line, "\"forwarded\":\"for=1.2.3.4;proto=https\"") != NULL, "forwarded");
    TAP_OK(strstr(line, "\"path\":\"/\"") && strstr(line, "\"target\":\"https://example.com/\""),
           "an absolute URI with an empty path shows \"/\"");

    f = example();
    f.scheme = S("");
    f.path_and_query = S("/a/b?c=d");
    line = line_of(&f, false, 4096, NULL);
    TAP_OK(strstr(line, "\"target\":\"/a/b\"") != NULL, "origin form: the target is the path");
    TAP_OK(valid(line), "valid JSON");
}

static void test_escaping(void)
{
    char in[2], want[16];
    int bad = 0;
    for (int c = 0; c < 0x20; c++) {
        in[0] = (char)c;
        snprintf(want, sizeof want, "\"\\u00%02x\"", c);
        if (strcmp(ua_member(in, 1), want) != 0)
            bad++;
    }
    TAP_INT_EQ(bad, 0, "every byte 0x00-0x1f is \\u00XX");
    TAP_STR_EQ(ua_member("\x7f", 1), "\"\\u007f\"", "DEL is \\u007f");
    TAP_STR_EQ(ua_member("a\"b\\c", 5), "\"a\\\"b\\\\c\"", "quote and backslash");
    TAP_STR_EQ(ua_member("\"\"\"\"\\\\\\\\x", 9), "\"\\\"\\\"\\\"\\\"\\\\\\\\\\\\\\\\x\"",
               "quotes and backslashes in a word");
    TAP_STR_EQ(ua_member("\xc2\x80\xc2\x9f\xc2\xa0", 6), "\"\\u0080\\u009f\xc2\xa0\"",
               "C1 controls as \\u0080-\\u009f, U+00A0 kept");
    TAP_STR_EQ(ua_member("\xff\xc3(\xc0\x80\xed\xa0\x80", 8),
               "\"\\u00ff\\u00c3(\\u00c0\\u0080\\u00ed\\u00a0\\u0080\"",
               "invalid UTF-8 (stray, cut, overlong, surrogate): \\u00XX per byte");
    TAP_STR_EQ(ua_member("\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80", 9),
               "\"\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80\"", "valid UTF-8 kept as it is");
    TAP_STR_EQ(ua_member("Mozilla/5.0 (X11; Linux x86_64)", 31),
               "\"Mozilla/5.0 (X11; Linux x86_64)\"", "printable ASCII copied");

    /* every byte value at every offset of a word */
    bad = 0;
    for (int c = 0; c < 256; c++) {
        for (int at = 0; at < 17; at++) {
            char ua[24];
            memset(ua, 'a', sizeof ua);
            ua[at] = (char)c;
            struct alog_fields f = example();
            f.user_agent = (struct alog_str){ ua, sizeof ua };
            if (!valid(line_of(&f, false, 4096, NULL)))
                bad++;
        }
    }
    TAP_INT_EQ(bad, 0, "every byte at every offset: valid JSON");
}

/* A user agent of n bytes cycling through every byte value. */
static char *mixed(size_t n)
{
    char *s = malloc(n);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(i * 7 + (i >> 8));
    return s;
}

static bool ends_with(const char *s, size_t n, const char *tail)
{
    size_t t = strlen(tail);
    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

/* Whether line is full cut: a prefix of it, then "..." closing the string
 * cut or nothing (a member left out), then ,"truncated":true}. */
static bool cut_of(const char *line, const char *full)
{
    size_t n = strlen(line);
    if (!ends_with(line, n, ",\"truncated\":true}"))
        return false;
    n -= 18;
    if (ends_with(line, n, "...\""))
        n -= 4;
    return strncmp(line, full, n) == 0;
}

static void test_cut(void)
{
    char *ua = mixed(12000);
    struct alog_fields f = example();
    f.user_agent = (struct alog_str){ ua, 12000 };
    f.forwarded = S("for=1.2.3.4");
    bool trunc = false;
    const char *line = line_of(&f, false, 8192, &trunc);
    size_t len = strlen(line) - (sizeof PREFIX - 1);
    TAP_OK(trunc && len <= 8191, "8 KiB: cut, within the buffer");
    TAP_OK(valid(line), "8 KiB: the cut line is valid JSON");
    TAP_OK(strstr(line, "...\",\"truncated\":true}") != NULL,
           "8 KiB: the user agent ends with ..., then truncated:true");
    TAP_OK(strstr(line, "\"xff\"") == NULL && strstr(line, "\"status\":200") != NULL,
           "8 KiB: the fields before are kept, those after left out");
    TAP_OK(len > 8191 - 32, "8 KiB: the cut is near the end");

    /* every cap, on escapes, multi-byte sequences and plain text */
    int bad = 0, bad_prefix = 0;
    static char full[65536];
    f.user_agent = (struct alog_str){ ua, 600 };
    strcpy(full, line_of(&f, false, sizeof full, NULL));
    for (size_t cap = 2; cap < 1200; cap++) {
        line = line_of(&f, cap % 3 == 0, cap, &trunc);
        if (!valid(line) || strlen(line) - (sizeof PREFIX - 1) >= cap) {
            bad++;
            printf("# cap %zu: %s\n", cap, line);
        }
        if (cap % 3 != 0 && trunc && cap > 64 && !cut_of(line, full))
            bad_prefix++;
    }
    TAP_INT_EQ(bad, 0, "every cap 2-1199: valid JSON within the buffer");
    TAP_INT_EQ(bad_prefix, 0, "every cap: the cut line begins like the whole line");
    f.user_agent = S("ua");
    line = line_of(&f, false, sizeof full, &trunc);
    TAP_OK(!trunc && valid(line), "a short line is not cut");
    free(ua);
}

int main(void)
{
    test_example();
    test_fields();
    test_escaping();
    test_cut();
    return tap_done();
}
