#include "acme/schedule.h"

#include <openssl/asn1.h>

/* Unix seconds of an ASN1_TIME, or -1. */
static int64_t unix_time(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    return (int64_t)timegm(&tm);
}

time_t acme_renew_at(const X509 *leaf)
{
    int64_t before = unix_time(X509_get0_notBefore(leaf));
    int64_t after = unix_time(X509_get0_notAfter(leaf));
    if (before < 0 || after < 0 || after < before)
        return 0;
    return (time_t)(after - (after - before) / 3);
}

uint32_t acme_backoff_s(unsigned failures)
{
    if (failures == 0)
        return 0;
    if (failures > 17)
        return ACME_BACKOFF_CAP_S;
    uint32_t s = 1u << (failures - 1);
    return s > ACME_BACKOFF_CAP_S ? ACME_BACKOFF_CAP_S : s;
}
