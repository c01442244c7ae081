/* HTTPS requests to the ACME server with libcurl, on the ACME thread only.
 * The server's certificate is verified against the system store, which
 * SSL_CERT_FILE / SSL_CERT_DIR can replace (as for OpenSSL). Every request
 * is bounded: connect and total timeouts, a response-body cap, and a stop
 * flag that aborts a transfer at once when the proxy stops or reloads. */
#ifndef RPXY_ACME_HTTP_H
#define RPXY_ACME_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define ACME_BODY_MAX (256u * 1024) /* largest answer we read (a chain is a few KiB) */
#define ACME_CONNECT_TIMEOUT_S 10
#define ACME_REQUEST_TIMEOUT_S 30

struct acme_http;

struct acme_resp {
    long status;
    char *body; /* NUL-terminated; malloc'd */
    size_t len;
    char nonce[256];
    char location[1024];
    char content_type[128];
};

/* A client whose transfers stop when *stop becomes true. NULL when out of
 * memory. */
struct acme_http *acme_http_new(atomic_bool *stop);
void acme_http_free(struct acme_http *h);

/* GET (body NULL), HEAD (head true) or POST of a JOSE body. Returns 0 with
 * r filled (release with acme_resp_free) whatever the status, or -1 with a
 * message in err (no connection, TLS failure, timeout, body too large). */
int acme_http_request(struct acme_http *h, const char *url, const char *body, bool head,
                      struct acme_resp *r, char *err, size_t errlen);

void acme_resp_free(struct acme_resp *r);

#endif
