/* Unit tests for src/util/base64url.c. */
#include "../tap.h"
#include "util/base64url.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct vector {
    const char *raw;
    size_t raw_len;
    const char *enc;
};

static const struct vector vectors[] = {
    /* RFC 4648 section 10, without padding */
    { "", 0, "" },
    { "f", 1, "Zg" },
    { "fo", 2, "Zm8" },
    { "foo", 3, "Zm9v" },
    { "foob", 4, "Zm9vYg" },
    { "fooba", 5, "Zm9vYmE" },
    { "foobar", 6, "Zm9vYmFy" },
    /* RFC 4648 section 9 examples, '+' -> '-' */
    { "\x14\xfb\x9c\x03\xd9\x7e", 6, "FPucA9l-" },
    { "\x14\xfb\x9c\x03\xd9", 5, "FPucA9k" },
    { "\x14\xfb\x9c\x03", 4, "FPucAw" },
    /* the two characters that differ from standard base64 */
    { "\xfb\xff", 2, "-_8" },
    { "\xfb\xef\xbe", 3, "----" },
    { "\xff\xff\xff", 3, "____" },
    { "\xff", 1, "_w" },
    { "\xff\xfe", 2, "__4" },
    { "\x00", 1, "AA" },
    { "\x00\x00\x00", 3, "AAAA" },
    { "hello world", 11, "aGVsbG8gd29ybGQ" },
};

struct bad {
    const char *in;
    size_t len;
    const char *why;
};

static const struct bad bad_inputs[] = {
    { "Zg==", 4, "padding not allowed" },       { "Zg=", 3, "padding not allowed" },
    { "=", 1, "padding not allowed" },          { "Zm9vYmE=", 8, "padding not allowed" },
    { "Zm9v=Zm9", 8, "padding not allowed" },   { "Zm9v+A", 6, "invalid character" },
    { "Zm9v/A", 6, "invalid character" },       { "+/8", 3, "invalid character" },
    { " Zg", 3, "invalid character" },          { "Zg ", 3, "invalid character" },
    { "Zg\n", 3, "invalid character" },         { "Zm 9v", 5, "invalid character" },
    { "Zm9v\tYg", 7, "invalid character" },     { "Zm9v\0", 5, "invalid character" },
    { "Zm.v", 4, "invalid character" },         { "\x80\x81", 2, "invalid character" },
    { "Zm9v\xc3\xa9", 6, "invalid character" }, { "Z", 1, "invalid length" },
    { "Zm9vY", 5, "invalid length" },           { "Zm9vYmFyZ", 9, "invalid length" },
    { "Zh", 2, "non-zero trailing bits" },      { "Zm9", 3, "non-zero trailing bits" },
    { "Zm9vYh", 6, "non-zero trailing bits" },  { "Zm9vYmF", 7, "non-zero trailing bits" },
    { "__", 2, "non-zero trailing bits" },      { "___", 3, "non-zero trailing bits" },
};

/* Bit-at-a-time reference encoder, to cross-check the real one. */
static size_t ref_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < n; i++) {
        for (int b = 7; b >= 0; b--) {
            acc = acc << 1 | ((in[i] >> b) & 1u);
            if (++bits == 6) {
                out[o++] = alphabet[acc];
                acc = bits = 0;
            }
        }
    }
    if (bits)
        out[o++] = alphabet[acc << (6 - bits)];
    out[o] = '\0';
    return o;
}

static uint32_t rng_state = 2463534242u;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static char what[256];

static const char *label(const char *fmt, const char *s)
{
    char esc[128];
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

static void test_encoded_len(void)
{
    static const size_t want[] = { 0, 2, 3, 4, 6, 7, 8, 10, 11, 12 };
    for (size_t n = 0; n < COUNT(want); n++)
        TAP_INT_EQ(b64url_encoded_len(n), want[n], "encoded length");
    TAP_INT_EQ(b64url_encoded_len(32), 43, "32 bytes -> 43 chars (sticky secret)");
    TAP_INT_EQ(b64url_encoded_len(80), 107, "80 bytes -> 107 chars (sticky token)");
}

static void test_vectors(void)
{
    for (size_t i = 0; i < COUNT(vectors); i++) {
        const struct vector *v = &vectors[i];
        char enc[64];
        uint8_t dec[64];
        const char *why = "unset";

        memset(enc, 'X', sizeof enc);
        size_t n = b64url_encode((const uint8_t *)v->raw, v->raw_len, enc);
        TAP_INT_EQ(n, strlen(v->enc), label("encode length -> %s", v->enc));
        TAP_STR_EQ(enc, v->enc, label("encode -> %s", v->enc));

        long d = b64url_decode(v->enc, strlen(v->enc), dec, sizeof dec, &why);
        TAP_INT_EQ(d, (long)v->raw_len, label("decode length of %s", v->enc));
        TAP_OK(d == (long)v->raw_len && memcmp(dec, v->raw, v->raw_len) == 0,
               label("decode bytes of %s", v->enc));
        TAP_STR_EQ(why, "unset", label("why untouched on success: %s", v->enc));
    }
}

static void test_bad(void)
{
    for (size_t i = 0; i < COUNT(bad_inputs); i++) {
        const struct bad *b = &bad_inputs[i];
        uint8_t out[64];
        const char *why = NULL;
        long d = b64url_decode(b->in, b->len, out, sizeof out, &why);
        TAP_INT_EQ(d, -1, label("reject \"%s\"", b->in));
        TAP_STR_EQ(why, b->why, label("reason for \"%s\"", b->in));
    }

    uint8_t out[8];
    const char *why = NULL;
    TAP_INT_EQ(b64url_decode("Zm9vYmFy", 8, out, 5, &why), -1, "capacity one short");
    TAP_STR_EQ(why, "output buffer too small", "capacity reason");
    TAP_INT_EQ(b64url_decode("Zm9vYmFy", 8, out, 6, &why), 6, "exact capacity");
    TAP_INT_EQ(b64url_decode("Zm9vYg", 6, out, 3, &why), -1, "partial group needs room too");
    TAP_INT_EQ(b64url_decode("", 0, NULL, 0, &why), 0, "empty input, no buffer");
    TAP_INT_EQ(b64url_decode("Zm9vYg", 6, out, sizeof out, NULL), 4, "NULL why on success");
    TAP_INT_EQ(b64url_decode("Zg==", 4, out, sizeof out, NULL), -1, "NULL why on failure");
    TAP_INT_EQ(b64url_decode("Zm9vYmFy", 4, out, sizeof out, &why), 3, "decode honours len");
}

/* Every byte value, in every position of a 4-character group. */
static void test_alphabet(void)
{
    int failures = 0;
    for (int c = 0; c < 256; c++) {
        bool in_alphabet = c != 0 && strchr(alphabet, c) != NULL;
        for (int pos = 0; pos < 4; pos++) {
            char in[4] = { 'A', 'A', 'A', 'A' };
            uint8_t out[3];
            const char *why = NULL;
            in[pos] = (char)c;
            long d = b64url_decode(in, 4, out, sizeof out, &why);
            if ((d == 3) != in_alphabet) {
                printf("# byte 0x%02x at %d: got %ld (%s)\n", c, pos, d, why ? why : "");
                failures++;
            }
            if (in_alphabet && d == 3) {
                unsigned v = (unsigned)(strchr(alphabet, c) - alphabet);
                unsigned want = v << (18 - 6 * pos);
                unsigned got = (unsigned)out[0] << 16 | (unsigned)out[1] << 8 | out[2];
                if (got != want)
                    failures++;
            }
        }
    }
    TAP_INT_EQ(failures, 0, "exactly the 64 url-safe characters decode, to their values");
}

/* Every 2- and 3-character input: accepted exactly when canonical, i.e. when
 * re-encoding gives back the same text. */
static void test_canonical_exhaustive(void)
{
    int failures = 0, accepted = 0;
    for (int a = 0; a < 64; a++) {
        for (int b = 0; b < 64; b++) {
            for (int c = -1; c < 64; c++) {
                char in[3] = { alphabet[a], alphabet[b], c >= 0 ? alphabet[c] : 0 };
                size_t len = c >= 0 ? 3 : 2;
                uint8_t out[2];
                char back[4];
                const char *why = NULL;
                long d = b64url_decode(in, len, out, sizeof out, &why);
                bool canonical = c >= 0 ? (c & 3) == 0 : (b & 15) == 0;
                if ((d >= 0) != canonical) {
                    failures++;
                    continue;
                }
                if (d < 0) {
                    if (strcmp(why, "non-zero trailing bits") != 0)
                        failures++;
                    continue;
                }
                accepted++;
                if (d != (long)len - 1 || b64url_encode(out, (size_t)d, back) != len ||
                    memcmp(back, in, len) != 0)
                    failures++;
            }
        }
    }
    TAP_INT_EQ(failures, 0, "2- and 3-character inputs: accepted iff canonical");
    TAP_INT_EQ(accepted, 64 * 4 + 64 * 64 * 16, "count of canonical short inputs");
}

static void test_round_trip(void)
{
    for (size_t n = 0; n <= 64; n++) {
        int failures = 0;
        for (int rep = 0; rep < 50; rep++) {
            uint8_t raw[64], dec[64];
            char enc[90], ref[90];
            for (size_t i = 0; i < n; i++)
                raw[i] = (uint8_t)(rep == 0 ? 0xff : rep == 1 ? 0 : rng());
            memset(enc, 'X', sizeof enc);
            size_t e = b64url_encode(raw, n, enc);
            ref_encode(raw, n, ref);
            const char *why = NULL;
            if (e != b64url_encoded_len(n) || enc[e] != '\0' || strcmp(enc, ref) != 0)
                failures++;
            /* exactly n bytes of room is enough */
            long d = b64url_decode(enc, e, dec, n, &why);
            if (d != (long)n || memcmp(dec, raw, n) != 0)
                failures++;
            if (n > 0 && b64url_decode(enc, e, dec, n - 1, &why) != -1)
                failures++;
        }
        char msg[64];
        snprintf(msg, sizeof msg, "round trip of %zu-byte inputs", n);
        TAP_INT_EQ(failures, 0, msg);
    }

    int failures = 0;
    for (unsigned v = 0; v < 65536; v++) {
        uint8_t raw[2] = { (uint8_t)(v >> 8), (uint8_t)v }, dec[2];
        char enc[4];
        const char *why;
        size_t e = b64url_encode(raw, 2, enc);
        if (b64url_decode(enc, e, dec, 2, &why) != 2 || memcmp(raw, dec, 2) != 0)
            failures++;
        e = b64url_encode(raw, 1, enc);
        if (b64url_decode(enc, e, dec, 1, &why) != 1 || dec[0] != raw[0])
            failures++;
    }
    TAP_INT_EQ(failures, 0, "every 1- and 2-byte input round trips");
}

int main(void)
{
    test_encoded_len();
    test_vectors();
    test_bad();
    test_alphabet();
    test_canonical_exhaustive();
    test_round_trip();
    return tap_done();
}
