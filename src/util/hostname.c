/* Host name validation with the rules rpxy applies to `server_name`. */
#include "util/hostname.h"

#include <stdbool.h>

static bool is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

const char *hostname_check(const char *s, size_t len)
{
    if (len < 1 || len > 253)
        return "must be 1-253 characters long";
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] >= 0x80)
            return "must be ASCII (use punycode for internationalized names)";
    }

    size_t start = 0;
    for (;;) {
        size_t end = start;
        while (end < len && s[end] != '.')
            end++;
        size_t n = end - start;
        if (n < 1 || n > 63)
            return "each label must be 1-63 characters long";
        if (!is_alnum((unsigned char)s[start]) || !is_alnum((unsigned char)s[end - 1]))
            return "label must start and end with an alphanumeric character";
        for (size_t i = start + 1; i + 1 < end; i++) {
            if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
                return "label may contain only alphanumerics and '-'";
        }
        if (end == len)
            return NULL;
        start = end + 1;
    }
}
