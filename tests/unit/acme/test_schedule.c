/* Unit tests for src/acme/schedule.c: renewal at two thirds of the
 * lifetime, backoff 1, 2, 4, ... capped at 2^16 s. */
#include "../tap.h"
#include "acme/schedule.h"

int main(void)
{
    TAP_INT_EQ(acme_backoff_s(1), 1, "first failure: 1 s");
    TAP_INT_EQ(acme_backoff_s(2), 2, "then 2 s");
    TAP_INT_EQ(acme_backoff_s(3), 4, "then 4 s");
    TAP_INT_EQ(acme_backoff_s(17), 65536, "2^16 s");
    TAP_INT_EQ(acme_backoff_s(18), 65536, "capped");
    TAP_INT_EQ(acme_backoff_s(1000), 65536, "capped for ever");

    X509 *x = X509_new();
    ASN1_TIME_set(X509_getm_notBefore(x), 1700000000);
    ASN1_TIME_set(X509_getm_notAfter(x), 1700000000 + 90 * 86400);
    TAP_INT_EQ((long long)acme_renew_at(x), 1700000000LL + 60 * 86400, "day 60 of 90");
    ASN1_TIME_set(X509_getm_notAfter(x), 1700000009);
    TAP_INT_EQ((long long)acme_renew_at(x), 1700000006LL, "6 s into a 9 s certificate");
    ASN1_TIME_set(X509_getm_notAfter(x), 1600000000);
    TAP_INT_EQ((long long)acme_renew_at(x), 0, "dates the wrong way round: renew now");
    X509_free(x);
    return tap_done();
}
