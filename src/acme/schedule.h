/* When to talk to the CA again (SPEC 10): renew at two thirds of a
 * certificate's lifetime, and after a failed order wait 1 s, 2 s, 4 s, ...
 * capped at 2^16 s. */
#ifndef RPXY_ACME_SCHEDULE_H
#define RPXY_ACME_SCHEDULE_H

#include <openssl/x509.h>
#include <stdint.h>
#include <time.h>

#define ACME_BACKOFF_CAP_S (1u << 16)

/* not_after - (not_after - not_before) / 3, in Unix seconds; 0 when the
 * dates cannot be read (renew now). */
time_t acme_renew_at(const X509 *leaf);

/* The wait after the n-th failure in a row (n >= 1), in seconds. */
uint32_t acme_backoff_s(unsigned failures);

#endif
