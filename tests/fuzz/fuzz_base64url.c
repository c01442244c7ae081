/* libFuzzer target for src/util/base64url.c: decode arbitrary input (strict
 * decoding means whatever decodes re-encodes to the same text), and encode
 * the input as bytes then decode it back. */
#include "util/base64url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_base64url: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *why = NULL;

    /* exact-size buffers so ASan catches any overrun */
    size_t cap = size / 4 * 3 + (size % 4 > 1 ? size % 4 - 1 : 0);
    uint8_t *dec = malloc(cap ? cap : 1);
    char *enc = malloc(b64url_encoded_len(size) + 1);
    check(dec && enc, "out of memory");

    long d = b64url_decode(s, size, dec, cap, &why);
    if (d >= 0) {
        check((size_t)d == cap, "decoded length");
        check(b64url_encoded_len((size_t)d) == size, "encoded length of decoded bytes");
        size_t e = b64url_encode(dec, (size_t)d, enc);
        check(e == size && memcmp(enc, s, size) == 0, "decode then encode is not identity");
        if (d > 0)
            check(b64url_decode(s, size, dec, cap - 1, &why) == -1, "short buffer accepted");
    } else {
        check(d == -1 && why != NULL && why[0] != '\0', "failure without a reason");
    }

    size_t e = b64url_encode(data, size, enc);
    check(e == b64url_encoded_len(size) && enc[e] == '\0', "encoded length");
    uint8_t *back = malloc(size ? size : 1);
    check(back != NULL, "out of memory");
    d = b64url_decode(enc, e, back, size, &why);
    check(d == (long)size && memcmp(back, data, size) == 0, "encode then decode is not identity");

    free(back);
    free(enc);
    free(dec);
    return 0;
}
