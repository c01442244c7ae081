/* Unit tests for src/util/hostname.c. */
#include "../tap.h"
#include "util/hostname.h"

#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define R_LENGTH "must be 1-253 characters long"
#define R_ASCII "must be ASCII (use punycode for internationalized names)"
#define R_LABEL_LEN "each label must be 1-63 characters long"
#define R_EDGE "label must start and end with an alphanumeric character"
#define R_CHARS "label may contain only alphanumerics and '-'"

static const char *const good[] = {
    "a",
    "A",
    "0",
    "localhost",
    "example.com",
    "EXAMPLE.COM",
    "Www.Example.Com",
    "www.example.com",
    "sub-domain.example.co.uk",
    "a-b.c-d",
    "a--b",
    "xn--bcher-kva.example",
    "123.example",
    "1a.2b.3c",
    "a.b.c.d.e.f.g",
    "192.168.0.1",
    "1.2.3.4",
    "999.999.999.999", /* not an address, but a valid host name by these rules */
    "1",
};

struct bad {
    const char *in;
    const char *why;
};

static const struct bad bad[] = {
    { "", R_LENGTH },
    { "bücher.example", R_ASCII },
    { "\x80", R_ASCII },
    { "-\xc3\xa9", R_ASCII },
    { "example.com\xff", R_ASCII },
    { "example.com.", R_LABEL_LEN },
    { ".example.com", R_LABEL_LEN },
    { "a..b", R_LABEL_LEN },
    { ".", R_LABEL_LEN },
    { "..", R_LABEL_LEN },
    { "*.example.com", R_EDGE },
    { "*", R_EDGE },
    { "-a.com", R_EDGE },
    { "a-.com", R_EDGE },
    { "example.-com", R_EDGE },
    { "example.com-", R_EDGE },
    { "-", R_EDGE },
    { "_dmarc.example.com", R_EDGE },
    { "::1", R_EDGE },
    { "[::1]", R_EDGE },
    { "[2001:db8::1]", R_EDGE },
    { " example.com", R_EDGE },
    { "example.com ", R_EDGE },
    { "example.com\n", R_EDGE },
    { "2001:db8::1", R_CHARS },
    { "fe80::1", R_CHARS },
    { "a_b.com", R_CHARS },
    { "www.a_b.com", R_CHARS },
    { "a b", R_CHARS },
    { "a*b.example", R_CHARS },
    { "host:8080", R_CHARS },
    { "a/b", R_CHARS },
    { "a@b", R_CHARS },
};

static char what[512];

static const char *label(const char *fmt, const char *s)
{
    char esc[300];
    size_t n = 0;
    for (; *s && n + 5 < sizeof esc; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            n += (size_t)snprintf(esc + n, sizeof esc - n, "\\x%02x", (unsigned char)*s);
        else
            esc[n++] = *s;
    }
    esc[n] = '\0';
    snprintf(what, sizeof what, fmt, esc);
    return what;
}

static void fill(char *buf, size_t n, char c)
{
    memset(buf, c, n);
    buf[n] = '\0';
}

static void test_lengths(void)
{
    char buf[400];

    fill(buf, 63, 'a');
    TAP_OK(hostname_check(buf, 63) == NULL, "63-character label");
    fill(buf, 64, 'a');
    TAP_STR_EQ(hostname_check(buf, 64), R_LABEL_LEN, "64-character label");
    strcpy(buf, "www.");
    fill(buf + 4, 64, 'b');
    strcat(buf, ".com");
    TAP_STR_EQ(hostname_check(buf, strlen(buf)), R_LABEL_LEN, "64-character middle label");

    /* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
    fill(buf, 253, 'c');
    buf[63] = buf[127] = buf[191] = '.';
    TAP_INT_EQ(strlen(buf), 253, "253-character name built");
    TAP_OK(hostname_check(buf, 253) == NULL, "253 characters accepted");
    fill(buf, 254, 'c');
    buf[63] = buf[127] = buf[191] = '.';
    TAP_STR_EQ(hostname_check(buf, 254), R_LENGTH, "254 characters rejected");
    fill(buf, 300, 'd');
    TAP_STR_EQ(hostname_check(buf, 300), R_LENGTH, "length checked before labels");
    /* 127 single-character labels: 253 bytes */
    for (int i = 0; i < 127; i++) {
        buf[2 * i] = 'x';
        buf[2 * i + 1] = '.';
    }
    buf[253] = '\0';
    TAP_OK(hostname_check(buf, 253) == NULL, "127 one-character labels");
}

static void test_len_param(void)
{
    TAP_OK(hostname_check("example.com!", 11) == NULL, "only len bytes are read");
    TAP_OK(hostname_check("a.b", 1) == NULL, "prefix of a name");
    TAP_STR_EQ(hostname_check("a.b", 2), R_LABEL_LEN, "prefix ending in a dot");
    TAP_STR_EQ(hostname_check("a\0b", 3), R_CHARS, "embedded NUL");
    TAP_STR_EQ(hostname_check("\0", 1), R_EDGE, "lone NUL");
    TAP_STR_EQ(hostname_check(NULL, 0), R_LENGTH, "NULL with zero length");
}

int main(void)
{
    for (size_t i = 0; i < COUNT(good); i++) {
        const char *r = hostname_check(good[i], strlen(good[i]));
        TAP_OK(r == NULL, label("accept %s", good[i]));
        if (r)
            printf("#   reason: %s\n", r);
    }
    for (size_t i = 0; i < COUNT(bad); i++)
        TAP_STR_EQ(hostname_check(bad[i].in, strlen(bad[i].in)), bad[i].why,
                   label("reject \"%s\"", bad[i].in));
    test_lengths();
    test_len_param();
    return tap_done();
}
