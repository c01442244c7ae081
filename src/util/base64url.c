/* base64url without padding (RFC 4648 section 5), strict decoding. */
#include "util/base64url.h"

#include <limits.h>

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

size_t b64url_encoded_len(size_t n)
{
    static const size_t extra[3] = { 0, 2, 3 };
    return n / 3 * 4 + extra[n % 3];
}

size_t b64url_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0, i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

long b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap, const char **why)
{
    const char *err = NULL;

    for (size_t i = 0; i < len && !err; i++) {
        if (in[i] == '=')
            err = "padding not allowed";
        else if (b64url_value((unsigned char)in[i]) < 0)
            err = "invalid character";
    }
    if (!err && len % 4 == 1)
        err = "invalid length";

    static const size_t extra[4] = { 0, 0, 1, 2 };
    size_t need = len / 4 * 3 + extra[len % 4];
    if (!err && need > (size_t)LONG_MAX)
        err = "input too long";
    if (!err && need > cap)
        err = "output buffer too small";
    if (!err && len % 4 != 0) {
        /* The bits past the last whole byte must be zero, or two encodings
         * would decode to the same bytes. */
        int last = b64url_value((unsigned char)in[len - 1]);
        if ((len % 4 == 2 && (last & 0x0f)) || (len % 4 == 3 && (last & 0x03)))
            err = "non-zero trailing bits";
    }
    if (err) {
        if (why)
            *why = err;
        return -1;
    }

    size_t o = 0, i = 0;
    for (; i + 4 <= len; i += 4) {
        uint32_t v = (uint32_t)b64url_value((unsigned char)in[i]) << 18 |
                     (uint32_t)b64url_value((unsigned char)in[i + 1]) << 12 |
                     (uint32_t)b64url_value((unsigned char)in[i + 2]) << 6 |
                     (uint32_t)b64url_value((unsigned char)in[i + 3]);
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    if (len - i >= 2) {
        uint32_t v = (uint32_t)b64url_value((unsigned char)in[i]) << 18 |
                     (uint32_t)b64url_value((unsigned char)in[i + 1]) << 12;
        if (len - i == 3)
            v |= (uint32_t)b64url_value((unsigned char)in[i + 2]) << 6;
        out[o++] = (uint8_t)(v >> 16);
        if (len - i == 3)
            out[o++] = (uint8_t)(v >> 8);
    }
    return (long)o;
}
