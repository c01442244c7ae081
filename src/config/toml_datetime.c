/* TOML parser: offset date-times, local date-times, local dates and local
 * times (RFC 3339 with TOML's relaxations: ' ' or 't' separator, 'z'). */
#include "config/toml_internal.h"

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* The value of the k digits at the cursor + at, or -1 if they are not all
 * digits. */
static int digits_at(const struct tp_parser *p, size_t at, size_t k)
{
    int v = 0;

    for (size_t i = 0; i < k; i++) {
        int c = tp_peek_at(p, at + i);
        if (!is_digit(c))
            return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

bool tp_looks_like_datetime(const struct tp_parser *p)
{
    return (digits_at(p, 0, 4) >= 0 && tp_peek_at(p, 4) == '-') ||
           (digits_at(p, 0, 2) >= 0 && tp_peek_at(p, 2) == ':');
}

/* Reads k digits at the cursor, failing with "expected <what>". */
static bool read_field(struct tp_parser *p, size_t k, const char *what, int *out)
{
    for (size_t i = 0; i < k; i++) {
        if (!is_digit(tp_peek_at(p, i))) {
            tp_advance(p, i);
            return tp_fail_unexpected(p, "expected %s", what);
        }
    }
    *out = digits_at(p, 0, k);
    tp_advance(p, k);
    return true;
}

static bool expect_char(struct tp_parser *p, char c, const char *what)
{
    if (tp_peek(p) != c)
        return tp_fail_unexpected(p, "expected %s", what);
    tp_advance(p, 1);
    return true;
}

static bool in_range(struct tp_parser *p, const struct tp_mark *at, const char *name, int v, int lo,
                     int hi)
{
    if (v < lo || v > hi)
        return tp_fail(p, at, "%s %02d is out of range (%02d-%02d)", name, v, lo, hi);
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

static bool parse_date(struct tp_parser *p, struct toml_datetime *dt)
{
    struct tp_mark month_at, day_at;

    if (!read_field(p, 4, "a 4-digit year", &dt->year) ||
        !expect_char(p, '-', "'-' after the year"))
        return false;
    month_at = p->at;
    if (!read_field(p, 2, "a 2-digit month", &dt->month) ||
        !expect_char(p, '-', "'-' after the month"))
        return false;
    day_at = p->at;
    if (!read_field(p, 2, "a 2-digit day", &dt->day))
        return false;
    if (!in_range(p, &month_at, "month", dt->month, 1, 12))
        return false;
    int last = days_in_month(dt->year, dt->month);
    if (dt->day < 1 || dt->day > last)
        return tp_fail(p, &day_at, "day %02d is out of range for %04d-%02d (01-%02d)", dt->day,
                       dt->year, dt->month, last);
    return true;
}

static bool parse_time(struct tp_parser *p, struct toml_datetime *dt)
{
    struct tp_mark hour_at = p->at, minute_at, second_at;

    if (!read_field(p, 2, "a 2-digit hour", &dt->hour) ||
        !expect_char(p, ':', "':' after the hour"))
        return false;
    minute_at = p->at;
    if (!read_field(p, 2, "a 2-digit minute", &dt->minute) ||
        !expect_char(p, ':', "':' after the minute (seconds are required)"))
        return false;
    second_at = p->at;
    if (!read_field(p, 2, "a 2-digit second", &dt->second))
        return false;
    if (!in_range(p, &hour_at, "hour", dt->hour, 0, 23) ||
        !in_range(p, &minute_at, "minute", dt->minute, 0, 59) ||
        /* 60 is a leap second, which RFC 3339 and TOML allow */
        !in_range(p, &second_at, "second", dt->second, 0, 60))
        return false;
    if (tp_peek(p) != '.')
        return true;
    tp_advance(p, 1);
    if (!is_digit(tp_peek(p)))
        return tp_fail_unexpected(p, "expected a digit after the decimal point in the time");
    /* keep 9 digits (nanoseconds); further ones are truncated */
    while (is_digit(tp_peek(p))) {
        if (dt->frac_digits < 9) {
            dt->nanosecond = dt->nanosecond * 10 + (tp_peek(p) - '0');
            dt->frac_digits++;
        }
        tp_advance(p, 1);
    }
    for (int i = dt->frac_digits; i < 9; i++)
        dt->nanosecond *= 10;
    return true;
}

static bool parse_offset(struct tp_parser *p, struct toml_datetime *dt)
{
    int c = tp_peek(p), hours, minutes;
    struct tp_mark hour_at, minute_at;

    if (c == 'Z' || c == 'z') {
        dt->offset_z = true;
        tp_advance(p, 1);
        return true;
    }
    tp_advance(p, 1);
    hour_at = p->at;
    if (!read_field(p, 2, "a 2-digit offset hour", &hours) ||
        !expect_char(p, ':', "':' in the time offset"))
        return false;
    minute_at = p->at;
    if (!read_field(p, 2, "a 2-digit offset minute", &minutes))
        return false;
    if (!in_range(p, &hour_at, "offset hour", hours, 0, 23) ||
        !in_range(p, &minute_at, "offset minute", minutes, 0, 59))
        return false;
    dt->offset_minutes = (c == '-' ? -1 : 1) * (hours * 60 + minutes);
    return true;
}

bool tp_parse_datetime(struct tp_parser *p, struct toml_value *out)
{
    struct toml_datetime *dt = &out->u.dt;
    int c;

    if (tp_peek_at(p, 2) == ':') {
        out->type = TOML_TIME_LOCAL;
        return parse_time(p, dt);
    }
    out->type = TOML_DATE_LOCAL;
    if (!parse_date(p, dt))
        return false;
    c = tp_peek(p);
    /* a space separates date and time only if a time follows */
    if (c != 'T' && c != 't' && !(c == ' ' && is_digit(tp_peek_at(p, 1))))
        return true;
    tp_advance(p, 1);
    out->type = TOML_DATETIME_LOCAL;
    if (!parse_time(p, dt))
        return false;
    c = tp_peek(p);
    if (c != 'Z' && c != 'z' && c != '+' && c != '-')
        return true;
    out->type = TOML_DATETIME;
    return parse_offset(p, dt);
}
