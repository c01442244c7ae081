/* libFuzzer target for the PROXY protocol parser (src/net/proxy_header.c).
 * Whatever the input, the parser reads only the bytes it is given (the
 * input is copied to a buffer of exactly its size), a header it accepts is
 * no longer than the input and the protocol's maximum, every strict prefix
 * of an accepted header only asks for more, and appending bytes to an
 * accepted header changes nothing. */
#include "net/proxy_header.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_proxy_header: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > PROXY_HEADER_MAX + 64)
        return 0;
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    struct proxy_header h, again;
    long n = proxy_header_parse(copy, size, &h);
    check(n <= (long)size, "consumed more than it was given");
    if (n > 0) {
        check(n <= (long)PROXY_HEADER_MAX, "a header longer than the protocol allows");
        check(h.version == 1 || h.version == 2, "an accepted header has a version");
        check(h.version != 1 || n <= PROXY_V1_MAX, "a v1 header over 107 bytes");
        check(!h.has_address || h.src.family == 4 || h.src.family == 6, "a bad family");
        check(proxy_header_parse(copy, (size_t)n, &again) == n &&
                  memcmp(&h, &again, sizeof(h)) == 0,
              "the header alone parses the same");
        for (long i = 0; i < n; i++)
            check(proxy_header_parse(copy, (size_t)i, &again) == 0, "a prefix was judged");
    } else if (n < 0) {
        check(proxy_header_strerror(n)[0] != '\0', "an error without a message");
    }
    free(copy);
    return 0;
}
