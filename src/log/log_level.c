/* Log level names and the RUST_LOG / RPXY_LOG environment variables. */
#include "log/log.h"

#include <stdlib.h>

static const char *const level_names[] = {
    [LOG_ERROR] = "error", [LOG_WARN] = "warn",   [LOG_INFO] = "info",
    [LOG_DEBUG] = "debug", [LOG_TRACE] = "trace",
};

/* ASCII-only on purpose: strcasecmp follows the locale (Turkish 'I'). */
static bool ascii_case_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (x != y)
            return false;
        if (x == '\0')
            return true;
    }
}

int log_level_parse(const char *s, enum log_level *out)
{
    if (!s)
        return -1;
    for (int l = LOG_ERROR; l <= LOG_TRACE; l++) {
        if (ascii_case_eq(s, level_names[l])) {
            *out = (enum log_level)l;
            return 0;
        }
    }
    return -1;
}

enum log_level log_level_from_env(void)
{
    const char *v = getenv("RUST_LOG");
    enum log_level level;

    if (!v)
        v = getenv("RPXY_LOG");
    return log_level_parse(v, &level) == 0 ? level : LOG_INFO;
}
