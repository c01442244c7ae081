#include "cache/key.h"

#include <string.h>

long cache_key(bool https, const char *host, size_t host_len, const char *target, size_t target_len,
               char *out, size_t cap)
{
    const char *scheme = https ? "https://" : "http://";
    size_t sl = strlen(scheme);
    if (!host || !host_len || sl + host_len + target_len > cap)
        return -1;
    memcpy(out, scheme, sl);
    memcpy(out + sl, host, host_len);
    if (target_len)
        memcpy(out + sl + host_len, target, target_len);
    return (long)(sl + host_len + target_len);
}
