/* Unit tests for src/upstream/sticky.c and src/upstream/cookie.c. */
#include "../tap.h"
#include "upstream/cookie.h"
#include "upstream/sticky.h"
#include "util/base64url.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* 2023-06-08T10:43:20Z, a fixed "now" */
#define NOW 1686221000LL

static const uint8_t key_a[32] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t key_b[32] = { 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                   7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7 };

static const char *const group[] = { "http://10.0.0.1:8080/", "http://10.0.0.2:8080/",
                                     "https://backend.example.com/" };

static void init_route(struct sticky_route *r, const uint8_t *key, const char *sn, const char *path,
                       const char *const *uris, size_t n)
{
    const char *why = NULL;
    if (sticky_route_init(r, key, sn, path, uris, n, &why) != 0) {
        printf("# sticky_route_init: %s\n", why ? why : "?");
        exit(1);
    }
}

static void test_server_id(void)
{
    char id[STICKY_SERVER_ID_LEN + 1], uri[64];
    const char *u = "https://www.rust-lang.org/";

    TAP_INT_EQ(sticky_server_id(u, strlen(u), 0, id), 0, "server-id computed");
    TAP_STR_EQ(id, "eGsjoPbactQ1eUJjafYjPT3ekYZQkaqJnHdA_FMSkgM",
               "server-id: SPEC vector, index 0");
    sticky_server_id(u, strlen(u), 1, id);
    TAP_STR_EQ(id, "tNVXFJ9eNCT2mFgKbYq35XgH5q93QZtfU8piUiiDxVA", "server-id: index 1");

    long n = sticky_upstream_uri(true, "www.rust-lang.org", uri, sizeof uri);
    TAP_STR_EQ(uri, "https://www.rust-lang.org/", "canonical URI: '/' path added");
    TAP_INT_EQ(n, 26, "canonical URI length");
    sticky_server_id(uri, (size_t)n, 0, id);
    TAP_STR_EQ(id, "eGsjoPbactQ1eUJjafYjPT3ekYZQkaqJnHdA_FMSkgM", "location + tls -> SPEC vector");

    sticky_upstream_uri(false, "Example.COM:80", uri, sizeof uri);
    TAP_STR_EQ(uri, "http://Example.COM:80/", "canonical URI keeps host case and default port");
    sticky_upstream_uri(false, "[::1]:8080", uri, sizeof uri);
    TAP_STR_EQ(uri, "http://[::1]:8080/", "canonical URI: IPv6 literal");
    sticky_upstream_uri(false, "host:8080/base", uri, sizeof uri);
    TAP_STR_EQ(uri, "http://host:8080/base", "canonical URI keeps a written path");
    sticky_upstream_uri(true, "host/", uri, sizeof uri);
    TAP_STR_EQ(uri, "https://host/", "canonical URI: '/' path kept");
    TAP_INT_EQ(sticky_upstream_uri(false, "a", uri, 9), -1, "canonical URI: no room for NUL");
    TAP_INT_EQ(sticky_upstream_uri(false, "a", uri, 10), 9, "canonical URI: exact room");

    char id80[STICKY_SERVER_ID_LEN + 1], id_plain[STICKY_SERVER_ID_LEN + 1];
    sticky_server_id("http://example.com:80/", 22, 0, id80);
    sticky_server_id("http://example.com/", 19, 0, id_plain);
    TAP_OK(strcmp(id80, id_plain) != 0, "explicit :80 gives another server-id (as rpxy)");
    sticky_server_id("http://Example.com/", 19, 0, id80);
    TAP_OK(strcmp(id80, id_plain) != 0, "host case changes the server-id (as rpxy)");
}

static void test_route_init(void)
{
    struct sticky_route r;
    static const char aad[] = "rpxy-sticky-v1\0rpxy_sticky_token\0example.com\0/App/Sub\0";

    init_route(&r, key_a, "Example.COM", "/App/Sub", group, COUNT(group));
    TAP_STR_EQ(r.domain, "example.com", "route: domain lower-cased");
    TAP_STR_EQ(r.path, "/App/Sub", "route: path case kept");
    TAP_INT_EQ(r.aad_len, sizeof aad - 1, "route: AAD length");
    TAP_OK(memcmp(r.aad, aad, sizeof aad - 1) == 0, "route: AAD bytes");
    TAP_INT_EQ(r.n_ids, 3, "route: one id per upstream");
    char id[STICKY_SERVER_ID_LEN + 1];
    sticky_server_id(group[2], strlen(group[2]), 2, id);
    TAP_STR_EQ(r.ids[2], id, "route: id of upstream 2 uses index 2");
    sticky_route_free(&r);

    init_route(&r, key_a, "example.com", NULL, group, 1);
    TAP_STR_EQ(r.path, "/", "route: default route path is /");
    sticky_route_free(&r);

    const char *why = NULL;
    TAP_INT_EQ(sticky_route_init(&r, key_a, "example.com", NULL, group, 0, &why), -1,
               "route: empty group refused");
    TAP_OK(why != NULL, "route: reason given");
}

/* Decodes tok, applies f to the raw bytes, re-encodes into out. */
static void reencode(const char *tok, void (*f)(uint8_t *, long *, size_t), size_t arg, char *out)
{
    uint8_t raw[STICKY_RAW_MAX + 8];
    long n = b64url_decode(tok, strlen(tok), raw, sizeof raw, NULL);
    f(raw, &n, arg);
    b64url_encode(raw, (size_t)n, out);
}

static void flip(uint8_t *raw, long *n, size_t pos)
{
    raw[pos] ^= 0x01;
}

static void set_version(uint8_t *raw, long *n, size_t v)
{
    raw[0] = (uint8_t)v;
}

static void test_seal_open(void)
{
    struct sticky_route r;
    char tok[STICKY_TOKEN_MAX + 1], tok2[STICKY_TOKEN_MAX + 3]; /* room for quotes */
    const char *why = NULL;
    int64_t exp = NOW + STICKY_LIFETIME_S;

    init_route(&r, key_a, "example.com", "/api", group, COUNT(group));
    for (size_t i = 0; i < COUNT(group); i++) {
        long n = sticky_seal(&r, i, exp, tok, sizeof tok);
        TAP_INT_EQ(n, STICKY_TOKEN_LEN, "seal: token is 107 characters");
        TAP_INT_EQ(sticky_open(&r, tok, (size_t)n, NOW, &why), (long)i, "open: round trip");
    }
    TAP_INT_EQ(sticky_seal(&r, 3, exp, tok, sizeof tok), -1, "seal: index out of range");
    TAP_INT_EQ(sticky_seal(&r, 0, exp, tok, STICKY_TOKEN_LEN), -1, "seal: no room for NUL");
    TAP_INT_EQ(sticky_seal(&r, 0, exp, tok, STICKY_TOKEN_LEN + 1), STICKY_TOKEN_LEN,
               "seal: exact room");

    sticky_seal(&r, 1, exp, tok, sizeof tok);
    sticky_seal(&r, 1, exp, tok2, sizeof tok2);
    TAP_OK(strcmp(tok, tok2) != 0, "seal: fresh nonce each time");

    /* Layout, checked with OpenSSL directly rather than through the module. */
    uint8_t raw[STICKY_RAW_MAX], plain[64];
    long rn = b64url_decode(tok, strlen(tok), raw, sizeof raw, NULL);
    TAP_INT_EQ(rn, 80, "token: 80 bytes decoded");
    TAP_INT_EQ(raw[0], 1, "token: version byte 0x01");
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    static const char aad[] = "rpxy-sticky-v1\0rpxy_sticky_token\0example.com\0/api\0";
    int ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key_a, raw + 1) == 1 &&
             EVP_DecryptUpdate(c, NULL, &l1, (const uint8_t *)aad, sizeof aad - 1) == 1 &&
             EVP_DecryptUpdate(c, plain, &l1, raw + 13, 51) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, raw + 64) == 1 &&
             EVP_DecryptFinal_ex(c, plain + l1, &l2) == 1;
    EVP_CIPHER_CTX_free(c);
    TAP_OK(ok && l1 + l2 == 51, "token: AES-256-GCM with the documented AAD");
    static const uint8_t be[8] = { 0, 0, 0, 0, 0x64, 0x81, 0xb1, 0xf4 }; /* NOW + 300 */
    TAP_OK(memcmp(plain, be, 8) == 0, "token: expiry as big-endian seconds");
    TAP_OK(memcmp(plain + 8, r.ids[1], STICKY_SERVER_ID_LEN) == 0, "token: payload = server-id");

    /* expiry */
    TAP_INT_EQ(sticky_open(&r, tok, strlen(tok), exp - 1, NULL), 1, "open: one second left");
    TAP_INT_EQ(sticky_open(&r, tok, strlen(tok), exp, &why), -1, "open: expiry == now refused");
    TAP_STR_EQ(why, "token expired", "open: expired reason");
    long n = sticky_seal(&r, 0, -5, tok2, sizeof tok2);
    TAP_OK(n > 0 && sticky_open(&r, tok2, (size_t)n, NOW, NULL) == -1,
           "open: negative expiry refused");

    /* wrong secret, other domain, other path */
    struct sticky_route other;
    init_route(&other, key_b, "example.com", "/api", group, COUNT(group));
    TAP_INT_EQ(sticky_open(&other, tok, strlen(tok), NOW, &why), -1, "open: wrong secret refused");
    TAP_OK(strstr(why, "authenticate") != NULL, "open: wrong secret reason");
    sticky_route_free(&other);
    init_route(&other, key_a, "www.example.com", "/api", group, COUNT(group));
    TAP_INT_EQ(sticky_open(&other, tok, strlen(tok), NOW, NULL), -1, "open: other domain refused");
    sticky_route_free(&other);
    init_route(&other, key_a, "example.com", "/Api", group, COUNT(group));
    TAP_INT_EQ(sticky_open(&other, tok, strlen(tok), NOW, NULL), -1, "open: other path refused");
    sticky_route_free(&other);
    init_route(&other, key_a, "EXAMPLE.com", "/api", group, COUNT(group));
    TAP_INT_EQ(sticky_open(&other, tok, strlen(tok), NOW, NULL), 1,
               "open: server_name case does not matter");
    sticky_route_free(&other);

    /* payload not in the group: same key and scope, other upstream list */
    static const char *const moved[] = { "http://10.0.0.9:8080/", "http://10.0.0.2:8080/" };
    init_route(&other, key_a, "example.com", "/api", moved, COUNT(moved));
    sticky_seal(&r, 0, exp, tok2, sizeof tok2);
    TAP_INT_EQ(sticky_open(&other, tok2, strlen(tok2), NOW, &why), -1,
               "open: server-id of a removed upstream refused");
    TAP_STR_EQ(why, "token names no upstream of this route", "open: not-in-group reason");
    TAP_INT_EQ(sticky_open(&other, tok, strlen(tok), NOW, NULL), 1,
               "open: unchanged upstream at the same index still valid");
    sticky_route_free(&other);
    static const char *const swapped[] = { "http://10.0.0.2:8080/", "http://10.0.0.1:8080/" };
    init_route(&other, key_a, "example.com", "/api", swapped, COUNT(swapped));
    TAP_INT_EQ(sticky_open(&other, tok, strlen(tok), NOW, NULL), -1,
               "open: upstream moved to another index refused");
    sticky_route_free(&other);

    /* tampering: every byte position */
    int bad = 0;
    for (size_t pos = 0; pos < 80; pos++) {
        reencode(tok, flip, pos, tok2);
        if (sticky_open(&r, tok2, strlen(tok2), NOW, NULL) != -1)
            bad++;
    }
    TAP_INT_EQ(bad, 0, "open: a flipped bit at any of the 80 byte positions is refused");
    for (size_t pos = 0; pos < strlen(tok); pos++) {
        strcpy(tok2, tok);
        tok2[pos] = tok2[pos] == 'A' ? 'B' : 'A';
        if (sticky_open(&r, tok2, strlen(tok2), NOW, NULL) != -1)
            bad++;
    }
    TAP_INT_EQ(bad, 0, "open: any changed character is refused");

    /* version */
    reencode(tok, set_version, 2, tok2);
    TAP_INT_EQ(sticky_open(&r, tok2, strlen(tok2), NOW, &why), -1, "open: version 2 refused");
    TAP_STR_EQ(why, "unknown token version", "open: version reason");
    reencode(tok, set_version, 0, tok2);
    TAP_INT_EQ(sticky_open(&r, tok2, strlen(tok2), NOW, NULL), -1, "open: version 0 refused");

    /* bad base64 */
    strcpy(tok2, tok);
    tok2[10] = '+';
    TAP_INT_EQ(sticky_open(&r, tok2, strlen(tok2), NOW, &why), -1, "open: '+' refused");
    TAP_STR_EQ(why, "token is not base64url without padding", "open: base64 reason");
    strcpy(tok2, tok);
    tok2[10] = '/';
    TAP_INT_EQ(sticky_open(&r, tok2, strlen(tok2), NOW, NULL), -1, "open: '/' refused");
    strcpy(tok2, tok);
    tok2[106] = '=';
    TAP_INT_EQ(sticky_open(&r, tok2, strlen(tok2), NOW, NULL), -1, "open: '=' refused");
    snprintf(tok2, sizeof tok2, "%s=", tok);
    TAP_INT_EQ(sticky_open(&r, tok2, strlen(tok2), NOW, NULL), -1, "open: padding refused");
    snprintf(tok2, sizeof tok2, " %s", tok);
    TAP_INT_EQ(sticky_open(&r, tok2, strlen(tok2), NOW, NULL), -1, "open: leading space refused");
    snprintf(tok2, sizeof tok2, "\"%s\"", tok);
    TAP_INT_EQ(sticky_open(&r, tok2, strlen(tok2), NOW, NULL), -1, "open: quoted value refused");
    TAP_INT_EQ(sticky_open(&r, tok, strlen(tok) - 1, NOW, NULL), -1, "open: truncated refused");
    TAP_INT_EQ(sticky_open(&r, tok, 0, NOW, NULL), -1, "open: empty refused");
    TAP_INT_EQ(sticky_open(&r, "backend1", 8, NOW, NULL), -1, "open: old plaintext refused");
    TAP_INT_EQ(sticky_open(&r, r.ids[0], STICKY_SERVER_ID_LEN, NOW, NULL), -1,
               "open: bare server-id refused");

    /* length bounds */
    uint8_t big[STICKY_RAW_MAX + 1];
    memset(big, 1, sizeof big);
    b64url_encode(big, STICKY_RAW_MIN - 1, tok2);
    TAP_INT_EQ(sticky_open(&r, tok2, strlen(tok2), NOW, &why), -1, "open: 37 bytes refused");
    TAP_STR_EQ(why, "token length out of bounds", "open: too-short reason");
    b64url_encode(big, STICKY_RAW_MIN, tok2);
    TAP_INT_EQ(strlen(tok2), STICKY_TOKEN_MIN, "bounds: 38 bytes are 51 characters");
    TAP_INT_EQ(sticky_open(&r, tok2, strlen(tok2), NOW, &why), -1, "open: 38 junk bytes refused");
    TAP_OK(strstr(why, "authenticate") != NULL, "open: 38 bytes pass the length check");
    char longtok[STICKY_TOKEN_MAX + 8];
    b64url_encode(big, STICKY_RAW_MAX + 1, longtok);
    TAP_INT_EQ(sticky_open(&r, longtok, strlen(longtok), NOW, &why), -1, "open: 294 bytes refused");
    TAP_STR_EQ(why, "token length out of bounds", "open: too-long reason");

    sticky_route_free(&r);
}

static void test_raw(void)
{
    static const uint8_t aad[] = "test\0aad\0";
    char tok[STICKY_TOKEN_MAX + 1];
    uint8_t id[STICKY_PAYLOAD_MAX], payload[STICKY_PAYLOAD_MAX + 1];
    const char *why = NULL;

    memset(payload, 'a', sizeof payload);
    long n = sticky_seal_raw(key_a, aad, sizeof aad, payload, 256, NOW + 1, tok, sizeof tok);
    TAP_INT_EQ(n, STICKY_TOKEN_MAX, "raw: 256-byte payload gives the longest token");
    TAP_INT_EQ(sticky_open_raw(key_a, aad, sizeof aad, tok, (size_t)n, NOW, id, NULL), 256,
               "raw: longest token opens");
    TAP_INT_EQ(sticky_seal_raw(key_a, aad, sizeof aad, payload, 257, NOW + 1, tok, sizeof tok), -1,
               "raw: 257-byte payload refused");
    TAP_INT_EQ(sticky_seal_raw(key_a, aad, sizeof aad, payload, 0, NOW + 1, tok, sizeof tok), -1,
               "raw: empty payload refused");
    n = sticky_seal_raw(key_a, aad, sizeof aad, (const uint8_t *)"x", 1, NOW + 1, tok, sizeof tok);
    TAP_INT_EQ(n, STICKY_TOKEN_MIN, "raw: 1-byte payload gives the shortest token");
    TAP_INT_EQ(sticky_open_raw(key_a, aad, sizeof aad, tok, (size_t)n, NOW, id, NULL), 1,
               "raw: shortest token opens");
    TAP_INT_EQ(sticky_open_raw(key_a, aad, sizeof aad - 1, tok, (size_t)n, NOW, id, NULL), -1,
               "raw: AAD one byte shorter refused");
    n = sticky_seal_raw(key_a, NULL, 0, (const uint8_t *)"x", 1, NOW + 1, tok, sizeof tok);
    TAP_INT_EQ(sticky_open_raw(key_a, NULL, 0, tok, (size_t)n, NOW, id, NULL), 1,
               "raw: empty AAD works");

    static const uint8_t not_utf8[] = { 0xff, 0xfe };
    n = sticky_seal_raw(key_a, aad, sizeof aad, not_utf8, 2, NOW + 1, tok, sizeof tok);
    TAP_INT_EQ(sticky_open_raw(key_a, aad, sizeof aad, tok, (size_t)n, NOW, id, &why), -1,
               "raw: non-UTF-8 payload refused");
    TAP_STR_EQ(why, "token payload is not UTF-8", "raw: UTF-8 reason");
    static const uint8_t surrogate[] = { 0xed, 0xa0, 0x80 };
    n = sticky_seal_raw(key_a, aad, sizeof aad, surrogate, 3, NOW + 1, tok, sizeof tok);
    TAP_INT_EQ(sticky_open_raw(key_a, aad, sizeof aad, tok, (size_t)n, NOW, id, NULL), -1,
               "raw: encoded surrogate refused");
    static const uint8_t overlong[] = { 0xc0, 0xaf };
    n = sticky_seal_raw(key_a, aad, sizeof aad, overlong, 2, NOW + 1, tok, sizeof tok);
    TAP_INT_EQ(sticky_open_raw(key_a, aad, sizeof aad, tok, (size_t)n, NOW, id, NULL), -1,
               "raw: overlong form refused");
    static const uint8_t utf8[] = { 'b', 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80 };
    n = sticky_seal_raw(key_a, aad, sizeof aad, utf8, sizeof utf8, NOW + 1, tok, sizeof tok);
    TAP_INT_EQ(sticky_open_raw(key_a, aad, sizeof aad, tok, (size_t)n, NOW, id, NULL), 7,
               "raw: multi-byte UTF-8 payload accepted");
    TAP_OK(memcmp(id, utf8, sizeof utf8) == 0, "raw: payload bytes returned");

    /* the expiry is signed: the largest and a negative one */
    n = sticky_seal_raw(key_a, aad, sizeof aad, (const uint8_t *)"x", 1, INT64_MAX, tok,
                        sizeof tok);
    TAP_INT_EQ(sticky_open_raw(key_a, aad, sizeof aad, tok, (size_t)n, INT64_MAX - 1, id, NULL), 1,
               "raw: expiry INT64_MAX");
    n = sticky_seal_raw(key_a, aad, sizeof aad, (const uint8_t *)"x", 1, -100, tok, sizeof tok);
    TAP_INT_EQ(sticky_open_raw(key_a, aad, sizeof aad, tok, (size_t)n, -101, id, NULL), 1,
               "raw: negative expiry read as signed (later than now)");
    TAP_INT_EQ(sticky_open_raw(key_a, aad, sizeof aad, tok, (size_t)n, -100, id, NULL), -1,
               "raw: negative expiry read as signed (reached)");
}

struct cookie_case {
    const char *what;
    const char *fields[4];
    enum cookie_found found;
    const char *value; /* when ONE */
    const char *rest;  /* when not NONE; "" = remove the header */
};

static const struct cookie_case cookie_cases[] = {
    { "middle", { "a=1; rpxy_sticky_token=TOK; b=2" }, COOKIE_FOUND_ONE, "TOK", "a=1; b=2" },
    { "spaces and tabs",
      { "  a=1 ;\trpxy_sticky_token=TOK\t;  b=2  " },
      COOKIE_FOUND_ONE,
      "TOK",
      "a=1; b=2" },
    { "no spaces", { "a=1;rpxy_sticky_token=TOK;b=2" }, COOKIE_FOUND_ONE, "TOK", "a=1; b=2" },
    { "empty pairs dropped",
      { ";a=1;; ;b=2; rpxy_sticky_token=T;" },
      COOKIE_FOUND_ONE,
      "T",
      "a=1; b=2" },
    { "several candidates",
      { "rpxy_sticky_token=one; session=keep; rpxy_sticky_token=two" },
      COOKIE_FOUND_SEVERAL,
      NULL,
      "session=keep" },
    { "several candidates, nothing else",
      { "rpxy_sticky_token=one", "rpxy_sticky_token=one" },
      COOKIE_FOUND_SEVERAL,
      NULL,
      "" },
    { "only the sticky cookie", { "rpxy_sticky_token=T" }, COOKIE_FOUND_ONE, "T", "" },
    { "only the sticky cookie and blanks",
      { " ; rpxy_sticky_token=T ; ", " " },
      COOKIE_FOUND_ONE,
      "T",
      "" },
    { "several fields",
      { "a=1", "rpxy_sticky_token=T", "b=2; c=3" },
      COOKIE_FOUND_ONE,
      "T",
      "a=1; b=2; c=3" },
    { "value blanks skipped", { "rpxy_sticky_token=  T; x=y" }, COOKIE_FOUND_ONE, "T", "x=y" },
    { "empty value", { "x=1; rpxy_sticky_token=" }, COOKIE_FOUND_ONE, "", "x=1" },
    { "value with '='", { "rpxy_sticky_token=a=b" }, COOKIE_FOUND_ONE, "a=b", "" },
    { "pair kept verbatim", { "a = 1 ;b=\"q; r\"" }, COOKIE_FOUND_NONE, NULL, NULL },
    { "no candidate", { "a=1; b=2" }, COOKIE_FOUND_NONE, NULL, NULL },
    { "longer name", { "rpxy_sticky_token_shadow=x; s=k" }, COOKIE_FOUND_NONE, NULL, NULL },
    { "name without '='", { "rpxy_sticky_token; a=1" }, COOKIE_FOUND_NONE, NULL, NULL },
    { "name case matters", { "RPXY_STICKY_TOKEN=x" }, COOKIE_FOUND_NONE, NULL, NULL },
    { "space before '='", { "rpxy_sticky_token =x" }, COOKIE_FOUND_NONE, NULL, NULL },
    { "empty field", { "" }, COOKIE_FOUND_NONE, NULL, NULL },
    { "no fields", { NULL }, COOKIE_FOUND_NONE, NULL, NULL },
};

static void test_cookie_take(void)
{
    for (size_t i = 0; i < COUNT(cookie_cases); i++) {
        const struct cookie_case *c = &cookie_cases[i];
        struct cookie_field fields[4];
        size_t n = 0;
        while (n < 4 && c->fields[n]) {
            fields[n].ptr = c->fields[n];
            fields[n].len = strlen(c->fields[n]);
            n++;
        }
        char out[256], what[160];
        struct cookie_take_result res;
        memset(out, '#', sizeof out);
        size_t cap = cookie_rest_max(fields, n);
        int rc = cookie_take(fields, n, STICKY_COOKIE_NAME, out, cap, &res);
        snprintf(what, sizeof what, "cookie: %s: result", c->what);
        TAP_OK(rc == 0 && res.found == c->found, what);
        if (c->found == COOKIE_FOUND_NONE) {
            snprintf(what, sizeof what, "cookie: %s: header untouched", c->what);
            TAP_OK(out[0] == '#', what);
            continue;
        }
        snprintf(what, sizeof what, "cookie: %s: forwarded", c->what);
        TAP_STR_EQ(out, c->rest, what);
        TAP_INT_EQ(res.rest_len, strlen(c->rest), what);
        if (c->found == COOKIE_FOUND_ONE) {
            char v[64];
            snprintf(v, sizeof v, "%.*s", (int)res.value_len, res.value);
            snprintf(what, sizeof what, "cookie: %s: value", c->what);
            TAP_STR_EQ(v, c->value, what);
        }
    }

    struct cookie_field f = { "a=1;b=2;c=3; rpxy_sticky_token=x", 32 };
    struct cookie_take_result res;
    char out[64];
    TAP_INT_EQ(cookie_take(&f, 1, STICKY_COOKIE_NAME, out, 14, &res), 0, "cookie: exact room");
    TAP_STR_EQ(out, "a=1; b=2; c=3", "cookie: exact room output");
    TAP_INT_EQ(cookie_take(&f, 1, STICKY_COOKIE_NAME, out, 13, &res), -1, "cookie: short buffer");
    TAP_OK(cookie_rest_max(&f, 1) >= 14, "cookie: bound covers the output");
    struct cookie_field dense = { "a;b;c;d;e;f;g", 13 };
    TAP_OK(cookie_rest_max(&dense, 1) >= strlen("a; b; c; d; e; f; g") + 1,
           "cookie: bound covers dense pairs");

    TAP_OK(cookie_is_named("rpxy_sticky_token=x; Path=/", 27, STICKY_COOKIE_NAME),
           "cookie: Set-Cookie line recognised");
    TAP_OK(!cookie_is_named("rpxy_sticky_token", 17, STICKY_COOKIE_NAME),
           "cookie: name alone is not ours");
    TAP_OK(cookie_is_named("rpxy_sticky_token=", 18, STICKY_COOKIE_NAME),
           "cookie: empty value is ours");
}

static void test_set_cookie(void)
{
    struct sticky_route r;
    char out[512];

    init_route(&r, key_a, "Example.COM", "/path", group, 1);
    long n = sticky_set_cookie(&r, "test_value", 10, 1686221173, 1686221000, true, out, sizeof out);
    TAP_STR_EQ(out,
               "rpxy_sticky_token=test_value; expires=Thu, 08-Jun-2023 10:46:13 GMT; Max-Age=173; "
               "path=/path; domain=example.com; HttpOnly; SameSite=Lax; Secure",
               "set-cookie: https");
    TAP_INT_EQ(n, (long)strlen(out), "set-cookie: length");
    sticky_set_cookie(&r, "test_value", 10, 1686221173, 1686221000, false, out, sizeof out);
    TAP_STR_EQ(out,
               "rpxy_sticky_token=test_value; expires=Thu, 08-Jun-2023 10:46:13 GMT; Max-Age=173; "
               "path=/path; domain=example.com; HttpOnly; SameSite=Lax",
               "set-cookie: http");
    sticky_route_free(&r);

    init_route(&r, key_a, "app.example.com", NULL, group, 1);
    sticky_set_cookie(&r, "T", 1, NOW + 300, NOW + 1, false, out, sizeof out);
    TAP_STR_EQ(out,
               "rpxy_sticky_token=T; expires=Thu, 08-Jun-2023 10:48:20 GMT; Max-Age=299; path=/; "
               "domain=app.example.com; HttpOnly; SameSite=Lax",
               "set-cookie: default route, Max-Age 299 a second later");

    static const struct {
        int64_t t;
        const char *date;
    } dates[] = {
        { 0, "Thu, 01-Jan-1970 00:00:00 GMT" },
        { -1, "Wed, 31-Dec-1969 23:59:59 GMT" },
        { 951782400, "Tue, 29-Feb-2000 00:00:00 GMT" },
        { 1709208000, "Thu, 29-Feb-2024 12:00:00 GMT" },
        { 4102444799, "Thu, 31-Dec-2099 23:59:59 GMT" },
        { 253402300799, "Fri, 31-Dec-9999 23:59:59 GMT" },
        { -62167219200, "Sat, 01-Jan-0000 00:00:00 GMT" },
    };
    for (size_t i = 0; i < COUNT(dates); i++) {
        char want[200];
        snprintf(want, sizeof want,
                 "rpxy_sticky_token=T; expires=%s; Max-Age=0; path=/; "
                 "domain=app.example.com; HttpOnly; SameSite=Lax",
                 dates[i].date);
        sticky_set_cookie(&r, "T", 1, dates[i].t, dates[i].t, false, out, sizeof out);
        TAP_STR_EQ(out, want, dates[i].date);
    }
    TAP_INT_EQ(sticky_set_cookie(&r, "T", 1, 253402300800, NOW, false, out, sizeof out), -1,
               "set-cookie: year 10000 refused");
    TAP_INT_EQ(sticky_set_cookie(&r, "T", 1, -62167219201, NOW, false, out, sizeof out), -1,
               "set-cookie: year -1 refused");

    /* cross-check the calendar against gmtime_r over 400 years of samples */
    int mismatches = 0;
    for (int64_t t = -2208988800LL; t < 10413792000LL; t += 86399 * 37 + 12345) {
        char want[64], cookie[256];
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(want, sizeof want, "expires=%a, %d-%b-%Y %H:%M:%S GMT;", &tm);
        sticky_set_cookie(&r, "T", 1, t, t, false, cookie, sizeof cookie);
        if (!strstr(cookie, want))
            mismatches++;
    }
    TAP_INT_EQ(mismatches, 0, "set-cookie: dates agree with gmtime_r");

    n = sticky_set_cookie(&r, "T", 1, NOW + 300, NOW, false, out, sizeof out);
    TAP_INT_EQ(sticky_set_cookie(&r, "T", 1, NOW + 300, NOW, false, out, (size_t)n), -1,
               "set-cookie: no room for NUL");
    TAP_INT_EQ(sticky_set_cookie(&r, "T", 1, NOW + 300, NOW, false, out, (size_t)n + 1), n,
               "set-cookie: exact room");
    sticky_route_free(&r);
}

/* Set-Cookie -> browser -> Cookie header -> upstream pick, end to end. */
static void test_end_to_end(void)
{
    struct sticky_route r;
    char tok[STICKY_TOKEN_LEN + 1], set[512], cookie[600], rest[700];

    init_route(&r, key_a, "example.com", "/api", group, COUNT(group));
    long n = sticky_seal(&r, 2, NOW + STICKY_LIFETIME_S, tok, sizeof tok);
    sticky_set_cookie(&r, tok, (size_t)n, NOW + STICKY_LIFETIME_S, NOW, true, set, sizeof set);
    size_t pair = strcspn(set, ";");
    snprintf(cookie, sizeof cookie, "session=abc; %.*s; theme=dark", (int)pair, set);
    struct cookie_field f = { cookie, strlen(cookie) };
    struct cookie_take_result res;
    TAP_INT_EQ(cookie_take(&f, 1, STICKY_COOKIE_NAME, rest, sizeof rest, &res), 0,
               "e2e: cookie taken");
    TAP_STR_EQ(rest, "session=abc; theme=dark", "e2e: other cookies forwarded");
    TAP_INT_EQ(sticky_open(&r, res.value, res.value_len, NOW + 10, NULL), 2,
               "e2e: cookie leads to upstream 2");
    TAP_INT_EQ(sticky_open(&r, res.value, res.value_len, NOW + 300, NULL), -1,
               "e2e: cookie stale after 300 s");
    sticky_route_free(&r);
}

struct thread_arg {
    const struct sticky_route *r;
    const char *tok;
    long got;
};

static void *open_in_thread(void *p)
{
    struct thread_arg *a = p;
    a->got = sticky_open(a->r, a->tok, strlen(a->tok), NOW, NULL);
    sticky_thread_cleanup();
    return NULL;
}

/* The per-thread context re-keys only when the key changes: alternate. */
static void test_key_switch(void)
{
    struct sticky_route ra, rb;
    char ta[STICKY_TOKEN_LEN + 1], tb[STICKY_TOKEN_LEN + 1];
    init_route(&ra, key_a, "example.com", "/", group, COUNT(group));
    init_route(&rb, key_b, "example.com", "/", group, COUNT(group));
    int bad = 0;
    for (int i = 0; i < 8; i++) {
        sticky_seal(&ra, (size_t)i % 3, NOW + 300, ta, sizeof ta);
        sticky_seal(&rb, (size_t)(i + 1) % 3, NOW + 300, tb, sizeof tb);
        if (sticky_open(&rb, ta, strlen(ta), NOW, NULL) != -1 ||
            sticky_open(&ra, ta, strlen(ta), NOW, NULL) != i % 3 ||
            sticky_open(&ra, tb, strlen(tb), NOW, NULL) != -1 ||
            sticky_open(&rb, tb, strlen(tb), NOW, NULL) != (i + 1) % 3)
            bad++;
    }
    TAP_INT_EQ(bad, 0, "keys: alternating secrets in one thread");
    sticky_route_free(&ra);
    sticky_route_free(&rb);
}

static void test_threads(void)
{
    struct sticky_route r;
    char tok[STICKY_TOKEN_LEN + 1];
    init_route(&r, key_a, "example.com", "/", group, COUNT(group));
    sticky_seal(&r, 1, NOW + 300, tok, sizeof tok);
    struct thread_arg a = { &r, tok, -2 };
    pthread_t th;
    pthread_create(&th, NULL, open_in_thread, &a);
    pthread_join(th, NULL);
    TAP_INT_EQ(a.got, 1, "threads: token sealed here opens in another thread");
    sticky_thread_cleanup();
    TAP_INT_EQ(sticky_open(&r, tok, strlen(tok), NOW, NULL), 1,
               "threads: context re-created after cleanup");
    sticky_route_free(&r);
}

int main(void)
{
    test_server_id();
    test_route_init();
    test_seal_open();
    test_raw();
    test_cookie_take();
    test_set_cookie();
    test_end_to_end();
    test_key_switch();
    test_threads();
    sticky_thread_cleanup();
    return tap_done();
}
