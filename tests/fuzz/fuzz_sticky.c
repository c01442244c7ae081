/* libFuzzer target for src/upstream/sticky.c and src/upstream/cookie.c:
 * open the input as a token (a forged token must never open), split it as
 * Cookie field values (one per line) and check the rebuilt header, seal it as
 * a payload and open it back, and format a Set-Cookie value with an expiry
 * taken from its first 8 bytes. */
#include "upstream/cookie.h"
#include "upstream/sticky.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed "now" (2023-06-08T10:43:20Z): seeds sealed for it stay valid. */
#define FUZZ_NOW 1686221000LL
#define FUZZ_MAX_FIELDS 16

static const uint8_t fuzz_key[STICKY_KEY_LEN] = "fuzz-sticky-key-0123456789abcdef";
static const char *const fuzz_group[] = { "http://10.0.0.1:8080/", "http://10.0.0.2:8080/",
                                          "https://backend.example.com/" };

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_sticky: %s\n", what);
        abort();
    }
}

static const struct sticky_route *fuzz_route(void)
{
    static struct sticky_route route;
    static bool ready;
    if (!ready) {
        const char *why = NULL;
        check(sticky_route_init(&route, fuzz_key, "example.com", "/api", fuzz_group, 3, &why) == 0,
              "route init");
        ready = true;
    }
    return &route;
}

/* Reference UTF-8 check by decoding code points (independent of the module's
 * byte-range table). */
static bool ref_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len;
        if (s[i] < 0x80) {
            i++;
            continue;
        } else if ((s[i] & 0xe0) == 0xc0) {
            cp = s[i] & 0x1fu;
            len = 2;
        } else if ((s[i] & 0xf0) == 0xe0) {
            cp = s[i] & 0x0fu;
            len = 3;
        } else if ((s[i] & 0xf8) == 0xf0) {
            cp = s[i] & 0x07u;
            len = 4;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3fu);
        }
        static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static void fuzz_open(const uint8_t *data, size_t size)
{
    const struct sticky_route *r = fuzz_route();
    const char *why = NULL;
    long idx = sticky_open(r, (const char *)data, size, FUZZ_NOW, &why);
    /* A seed may carry a real token; anything else must be refused. */
    check(idx == -1 ? why != NULL && why[0] != '\0' : idx >= 0 && idx < 3, "open result");
}

static void fuzz_cookie(const uint8_t *data, size_t size)
{
    struct cookie_field fields[FUZZ_MAX_FIELDS];
    size_t n = 0, start = 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n' && n + 1 < FUZZ_MAX_FIELDS) {
            fields[n++] = (struct cookie_field){ (const char *)data + start, i - start };
            start = i + 1;
        }
    }
    fields[n++] = (struct cookie_field){ (const char *)data + start, size - start };

    size_t cap = cookie_rest_max(fields, n);
    char *out = malloc(cap); /* exact size, so ASan sees any overrun */
    check(out != NULL, "out of memory");
    struct cookie_take_result res;
    check(cookie_take(fields, n, STICKY_COOKIE_NAME, out, cap, &res) == 0, "bound too small");
    if (res.found == COOKIE_FOUND_NONE) {
        free(out);
        return;
    }
    check(res.rest_len < cap && out[res.rest_len] == '\0', "rest length");
    if (res.found == COOKIE_FOUND_ONE) {
        bool inside = false;
        for (size_t f = 0; f < n; f++)
            if (res.value >= fields[f].ptr &&
                res.value + res.value_len <= fields[f].ptr + fields[f].len)
                inside = true;
        check(inside, "value outside the input");
        check(res.value_len == 0 || !blank(res.value[0]), "value starts with a blank");
    }
    /* The rebuilt value: pairs separated by "; ", none empty, none padded,
     * none sticky. */
    size_t i = 0;
    while (i < res.rest_len) {
        size_t j = i;
        while (j < res.rest_len && out[j] != ';')
            j++;
        check(j > i && !blank(out[i]) && !blank(out[j - 1]), "empty or padded pair");
        check(!cookie_is_named(out + i, j - i, STICKY_COOKIE_NAME), "sticky cookie forwarded");
        if (j < res.rest_len) {
            check(j + 2 < res.rest_len && out[j + 1] == ' ', "separator");
            j += 2;
        }
        i = j;
    }
    /* Splitting the result again finds nothing and changes nothing. */
    struct cookie_field again = { out, res.rest_len };
    struct cookie_take_result res2;
    check(cookie_take(&again, 1, STICKY_COOKIE_NAME, NULL, 0, &res2) == 0 &&
              res2.found == COOKIE_FOUND_NONE,
          "second pass found a sticky cookie");
    free(out);
}

static void fuzz_seal(const uint8_t *data, size_t size)
{
    static const uint8_t aad[] = "fuzz\0aad\0";
    if (size < STICKY_PAYLOAD_MIN || size > STICKY_PAYLOAD_MAX)
        return;
    char tok[STICKY_TOKEN_MAX + 1];
    uint8_t id[STICKY_PAYLOAD_MAX];
    long n = sticky_seal_raw(fuzz_key, aad, sizeof aad, data, size, FUZZ_NOW + 1, tok, sizeof tok);
    check(n >= STICKY_TOKEN_MIN && n <= STICKY_TOKEN_MAX, "seal length");
    long got = sticky_open_raw(fuzz_key, aad, sizeof aad, tok, (size_t)n, FUZZ_NOW, id, NULL);
    if (ref_utf8(data, size))
        check(got == (long)size && memcmp(id, data, size) == 0, "round trip");
    else
        check(got == -1, "non-UTF-8 payload accepted");
    check(sticky_open_raw(fuzz_key, aad, sizeof aad, tok, (size_t)n, FUZZ_NOW + 1, id, NULL) == -1,
          "expired token accepted");
}

static void fuzz_set_cookie(const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | data[i];
    int64_t t = (int64_t)(u >> 1) * ((u & 1) ? -1 : 1);
    /* keep the magnitude in reach of the calendar now and then */
    if (data[0] & 0x80)
        t %= 400LL * 366 * 86400;
    char out[512];
    long n = sticky_set_cookie(fuzz_route(), "T", 1, t, t, size & 1, out, sizeof out);
    bool in_range = t >= -62167219200LL && t <= 253402300799LL;
    check(in_range ? n > 0 && (size_t)n == strlen(out) : n == -1, "set-cookie range");
    if (n > 0)
        check(strstr(out, " GMT; Max-Age=0; path=/api; domain=example.com; HttpOnly") != NULL,
              "set-cookie shape");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_open(data, size);
    fuzz_cookie(data, size);
    fuzz_seal(data, size);
    fuzz_set_cookie(data, size);
    return 0;
}
