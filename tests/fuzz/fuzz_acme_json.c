/* libFuzzer target for src/acme/json.c: whatever an ACME server answers is
 * read as a directory, an order, an authorization and a problem document;
 * each either fails with a reason or yields bounded, NUL-terminated fields. */
#include "acme/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_acme_json: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy so ASan catches any over-read */
    char *body = malloc(size ? size : 1);
    check(body != NULL, "out of memory");
    memcpy(body, data, size);
    char err[256], problem[300];
    struct acme_directory d;
    if (acme_json_directory(body, size, &d, err, sizeof(err)) == 0)
        check(d.new_nonce[0] && d.new_account[0] && d.new_order[0], "directory without URLs");
    else
        check(err[0] != '\0', "directory error without a reason");
    struct acme_order o;
    if (acme_json_order(body, size, &o, err, sizeof(err)) == 0)
        check(o.n_authz >= 1 && o.n_authz <= ACME_AUTHZ_MAX && o.finalize[0] &&
                  o.status != ACME_ST_UNKNOWN,
              "order accepted without what the flow needs");
    struct acme_authz a;
    if (acme_json_authz(body, size, &a, err, sizeof(err)) == 0) {
        check(a.identifier[0] != '\0', "authorization without identifier");
        check(!a.tls_alpn.url[0] ||
                  strspn(a.tls_alpn.token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789-_") == strlen(a.tls_alpn.token),
              "token outside base64url");
    }
    acme_json_problem(body, size, problem, sizeof(problem));
    for (const char *p = problem; *p; p++)
        check((unsigned char)*p >= 0x20 && *p != 0x7f, "control character in a problem text");
    free(body);
    return 0;
}
