/* Cache-Control and friends: tolerant readers of untrusted field values. */
#include "cache/cache_control.h"

#include <string.h>
#include <strings.h>

#define DELTA_CAP 2147483648LL /* RFC 9111 1.2.2 */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

void cc_init(struct cc_directives *d)
{
    memset(d, 0, sizeof(*d));
    d->max_age = d->s_maxage = d->min_fresh = d->max_stale = CC_ABSENT;
}

bool cc_list_next(const char *v, size_t n, size_t *pos, const char **el, size_t *el_len)
{
    size_t i = *pos;
    if (i > n)
        return false;
    size_t start = i;
    bool quoted = false;
    for (; i < n; i++) {
        if (v[i] == '"')
            quoted = !quoted;
        else if (v[i] == '\\' && quoted && i + 1 < n)
            i++;
        else if (v[i] == ',' && !quoted)
            break;
    }
    size_t end = i;
    while (start < end && is_ows(v[start]))
        start++;
    while (end > start && is_ows(v[end - 1]))
        end--;
    *el = v + start;
    *el_len = end - start;
    *pos = i + 1;
    return true;
}

bool cc_list_has(const char *v, size_t n, const char *tok, size_t tok_len)
{
    size_t pos = 0;
    const char *el;
    size_t len;
    while (cc_list_next(v, n, &pos, &el, &len))
        if (len == tok_len && strncasecmp(el, tok, tok_len) == 0)
            return true;
    return false;
}

int64_t cc_delta_seconds(const char *v, size_t n)
{
    if (n == 0)
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        if (x < DELTA_CAP)
            x = x * 10 + (v[i] - '0');
    }
    return x < DELTA_CAP ? x : DELTA_CAP;
}

/* A directive's numeric argument: malformed reads 0 (stale), quotes allowed. */
static int64_t directive_seconds(const char *v, size_t n)
{
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    int64_t x = cc_delta_seconds(v, n);
    return x < 0 ? 0 : x;
}

static void set_seconds(int64_t *slot, int64_t x)
{
    *slot = *slot == CC_ABSENT || *slot == x ? x : 0;
}

#define IS(lit) (name_len == sizeof(lit) - 1 && strncasecmp(name, lit, sizeof(lit) - 1) == 0)

static void directive(struct cc_directives *d, const char *name, size_t name_len, const char *arg,
                      size_t arg_len, bool has_arg)
{
    if (IS("no-store"))
        d->no_store = true;
    else if (IS("no-cache"))
        d->no_cache = true; /* a field-qualified no-cache counts as plain */
    else if (IS("private"))
        d->private_ = true;
    else if (IS("public"))
        d->public_ = true;
    else if (IS("must-revalidate"))
        d->must_revalidate = true;
    else if (IS("proxy-revalidate"))
        d->proxy_revalidate = true;
    else if (IS("immutable"))
        d->immutable = true;
    else if (IS("only-if-cached"))
        d->only_if_cached = true;
    else if (IS("max-age"))
        set_seconds(&d->max_age, directive_seconds(arg, arg_len));
    else if (IS("s-maxage"))
        set_seconds(&d->s_maxage, directive_seconds(arg, arg_len));
    else if (IS("min-fresh"))
        set_seconds(&d->min_fresh, directive_seconds(arg, arg_len));
    else if (IS("max-stale"))
        set_seconds(&d->max_stale, has_arg ? directive_seconds(arg, arg_len) : CC_UNBOUNDED);
}

void cc_parse(struct cc_directives *d, const char *v, size_t n)
{
    size_t pos = 0;
    const char *el;
    size_t len;
    while (cc_list_next(v, n, &pos, &el, &len)) {
        const char *eq = memchr(el, '=', len);
        size_t name_len = eq ? (size_t)(eq - el) : len;
        while (name_len && is_ows(el[name_len - 1]))
            name_len--;
        const char *arg = eq ? eq + 1 : el + len;
        size_t arg_len = (size_t)(el + len - arg);
        while (arg_len && is_ows(*arg)) {
            arg++;
            arg_len--;
        }
        if (name_len)
            directive(d, el, name_len, arg, arg_len, eq != NULL);
    }
}

/* ---- dates ---- */

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static int month_of(const char *p)
{
    for (int m = 0; m < 12; m++)
        if (strncmp(p, months + 3 * m, 3) == 0)
            return m + 1;
    return 0;
}

static int digits(const char *p, size_t n)
{
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        x = x * 10 + (p[i] - '0');
    }
    return x;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "HH:MM:SS" */
static bool hms(const char *p, int *h, int *mi, int *s)
{
    if (p[2] != ':' || p[5] != ':')
        return false;
    *h = digits(p, 2);
    *mi = digits(p + 3, 2);
    *s = digits(p + 6, 2);
    return *h >= 0 && *h < 24 && *mi >= 0 && *mi < 60 && *s >= 0 && *s <= 60;
}

static int64_t compose(int y, int mon, int d, int h, int mi, int s)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (y < 1970 || mon < 1 || d < 1 || d > mdays[mon - 1])
        return -1; /* before the epoch reads as malformed: in the past either way */
    return days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + s;
}

int64_t cc_http_date(const char *v, size_t n)
{
    while (n && is_ows(*v)) {
        v++;
        n--;
    }
    while (n && is_ows(v[n - 1]))
        n--;
    int h, mi, s;
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    if (n == 29 && v[3] == ',' && v[4] == ' ' && v[7] == ' ' && v[11] == ' ' && v[16] == ' ' &&
        v[25] == ' ' && memcmp(v + 26, "GMT", 3) == 0 && hms(v + 17, &h, &mi, &s))
        return compose(digits(v + 12, 4), month_of(v + 8), digits(v + 5, 2), h, mi, s);
    /* asctime: "Sun Nov  6 08:49:37 1994" */
    if (n == 24 && v[3] == ' ' && v[7] == ' ' && v[10] == ' ' && v[19] == ' ' &&
        hms(v + 11, &h, &mi, &s)) {
        int d = v[8] == ' ' ? digits(v + 9, 1) : digits(v + 8, 2);
        return compose(digits(v + 20, 4), month_of(v + 4), d, h, mi, s);
    }
    /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
    const char *comma = memchr(v, ',', n);
    if (comma && (size_t)(v + n - comma) == 24) {
        const char *p = comma + 2;
        if (comma[1] == ' ' && p[2] == '-' && p[6] == '-' && p[9] == ' ' && p[18] == ' ' &&
            memcmp(p + 19, "GMT", 3) == 0 && hms(p + 10, &h, &mi, &s)) {
            int y = digits(p + 7, 2);
            if (y < 0)
                return -1;
            y += y < 70 ? 2000 : 1900; /* RFC 9110 5.6.7: 50 years rule, simplified */
            return compose(y, month_of(p + 3), digits(p, 2), h, mi, s);
        }
    }
    return -1;
}

/* ---- entity tags ---- */

static void strip_weak(const char **t, size_t *n)
{
    if (*n >= 2 && (*t)[0] == 'W' && (*t)[1] == '/') {
        *t += 2;
        *n -= 2;
    }
}

bool cc_etag_match(const char *inm, size_t inm_len, const char *etag, size_t etag_len)
{
    if (!etag_len)
        return false;
    strip_weak(&etag, &etag_len);
    size_t pos = 0;
    const char *el;
    size_t len;
    while (cc_list_next(inm, inm_len, &pos, &el, &len)) {
        if (len == 1 && el[0] == '*')
            return true;
        strip_weak(&el, &len);
        if (len == etag_len && len >= 2 && el[0] == '"' && memcmp(el, etag, len) == 0)
            return true;
    }
    return false;
}
