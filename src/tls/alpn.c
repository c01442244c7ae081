#include "tls/alpn.h"

#include <string.h>

int tls_alpn_wire(const char *list, unsigned char *out, size_t cap)
{
    size_t n = 0;

    while (*list != '\0') {
        const char *comma = strchr(list, ',');
        size_t len = comma ? (size_t)(comma - list) : strlen(list);
        if (len == 0 || len > 255 || n + 1 + len > cap)
            return -1;
        out[n++] = (unsigned char)len;
        memcpy(out + n, list, len);
        n += len;
        list += len + (comma ? 1 : 0);
    }
    return n > 0 ? (int)n : -1;
}
