/* Reading the ACME server's JSON answers (RFC 8555 section 7): directory,
 * order, authorization and problem documents. Pure functions over a byte
 * buffer (no I/O), so that hostile or malformed answers can be fuzzed: every
 * field is checked for its type, every string copied with a bound, and a
 * document that lacks what the flow needs is an error with a reason. */
#ifndef RPXY_ACME_JSON_H
#define RPXY_ACME_JSON_H

#include <stddef.h>

#define ACME_URL_MAX 1024
#define ACME_TOKEN_MAX 256
#define ACME_AUTHZ_MAX 8 /* authorizations per order we accept (one per name) */

struct acme_directory {
    char new_nonce[ACME_URL_MAX];
    char new_account[ACME_URL_MAX];
    char new_order[ACME_URL_MAX];
};

enum acme_status {
    ACME_ST_UNKNOWN,
    ACME_ST_PENDING,
    ACME_ST_READY,
    ACME_ST_PROCESSING,
    ACME_ST_VALID,
    ACME_ST_INVALID,
    ACME_ST_OTHER, /* expired, deactivated, revoked */
};

struct acme_order {
    enum acme_status status;
    size_t n_authz;
    char authz[ACME_AUTHZ_MAX][ACME_URL_MAX];
    char finalize[ACME_URL_MAX];
    char certificate[ACME_URL_MAX]; /* "" until the order is valid */
};

struct acme_challenge_ref {
    char url[ACME_URL_MAX]; /* "" when the authorization offers none of this type */
    char token[ACME_TOKEN_MAX];
    enum acme_status status;
    char error[256]; /* the challenge's problem detail, if any */
};

struct acme_authz {
    enum acme_status status;
    char identifier[256];
    struct acme_challenge_ref tls_alpn; /* tls-alpn-01 */
    struct acme_challenge_ref http;     /* http-01 */
};

/* Each returns 0, or -1 with a reason in err. */
int acme_json_directory(const char *body, size_t len, struct acme_directory *d, char *err,
                        size_t errlen);
int acme_json_order(const char *body, size_t len, struct acme_order *o, char *err, size_t errlen);
int acme_json_authz(const char *body, size_t len, struct acme_authz *a, char *err, size_t errlen);

/* A problem document (RFC 7807) as "type: detail" into out; when the body is
 * no problem document, out says so. Returns 0 when it is one. */
int acme_json_problem(const char *body, size_t len, char *out, size_t cap);

/* "pending", "valid", ... */
const char *acme_status_name(enum acme_status s);

#endif
