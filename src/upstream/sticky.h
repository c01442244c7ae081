/* Sticky sessions (SPEC 7.4): server-ids, the sealed `rpxy_sticky_token`
 * cookie value and its Set-Cookie line, byte-compatible with rpxy.
 *
 * server-id of upstream i = base64url-no-pad(SHA-256("<uri>&index=<i>")),
 * where <uri> is the canonical upstream URI (sticky_upstream_uri()).
 *
 * token = base64url-no-pad(0x01 || nonce[12] || AES-256-GCM(expiry_be64 ||
 * server-id) || tag[16]), key = the 32-byte sticky_cookie_secret, AAD =
 * "rpxy-sticky-v1" 0 "rpxy_sticky_token" 0 <domain> 0 <path> 0.
 *
 * Crypto runs on one EVP_CIPHER_CTX per thread, created on first use and
 * re-keyed only when the secret differs from the previous call's; nothing else
 * is allocated per call. Outputs go to caller buffers. Opening never reports an error to the
 * client: any unacceptable token is "no valid cookie", with a short reason for the debug log. */
#ifndef RPXY_UPSTREAM_STICKY_H
#define RPXY_UPSTREAM_STICKY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STICKY_COOKIE_NAME "rpxy_sticky_token"
#define STICKY_LIFETIME_S 300
#define STICKY_KEY_LEN 32
/* A server-id is the base64url text of a SHA-256 digest. */
#define STICKY_SERVER_ID_LEN 43
/* Payload bounds inside a token (bytes after the 8-byte expiry). */
#define STICKY_PAYLOAD_MIN 1
#define STICKY_PAYLOAD_MAX 256
/* Decoded token bounds: 1 + 12 + 16 + 8 + payload. */
#define STICKY_RAW_MIN 38
#define STICKY_RAW_MAX 293
/* Token text bounds (base64url of STICKY_RAW_MIN / STICKY_RAW_MAX bytes). */
#define STICKY_TOKEN_MIN 51
#define STICKY_TOKEN_MAX 391
/* Length of the tokens this module issues (43-byte server-ids). */
#define STICKY_TOKEN_LEN 107

/* One sticky route: the key, the cookie scope and the server-ids of its
 * upstream group, in config order. Built once per config snapshot. */
struct sticky_route {
    uint8_t key[STICKY_KEY_LEN];
    char *domain; /* server_name in lower case; owned */
    char *path;   /* route path as written ("/" for the default route); owned */
    uint8_t *aad; /* owned */
    size_t aad_len;
    char (*ids)[STICKY_SERVER_ID_LEN + 1]; /* NUL-terminated server-ids; owned */
    size_t n_ids;
};

/* Writes the canonical upstream URI "<http|https>://<location>", adding a "/"
 * path when location has none (the location is kept byte for byte: host case,
 * an explicit default port and any path stay as written, as rpxy's
 * `http::Uri` display does). out gets a NUL when it fits. Returns the length
 * of the URI, or -1 if out (cap bytes) cannot hold it and its NUL. */
long sticky_upstream_uri(bool tls, const char *location, char *out, size_t cap);

/* Computes the server-id of the upstream with canonical URI uri[0..uri_len)
 * at position index of its group into out (43 characters + NUL).
 * Returns 0, or -1 if the digest failed. */
int sticky_server_id(const char *uri, size_t uri_len, size_t index,
                     char out[STICKY_SERVER_ID_LEN + 1]);

/* Builds r for the route `path` (NULL = default route, "/") of the app named
 * server_name, whose upstreams have the canonical URIs uris[0..n), in config
 * order. Strings are copied (domain and path are C strings, so they cannot
 * hold the NUL bytes rpxy refuses in them). Returns 0, or -1 with *why set;
 * r then owns nothing. */
int sticky_route_init(struct sticky_route *r, const uint8_t key[STICKY_KEY_LEN],
                      const char *server_name, const char *path, const char *const *uris, size_t n,
                      const char **why);

/* Releases what r owns and wipes the key. */
void sticky_route_free(struct sticky_route *r);

/* Seals payload id[0..id_len) (1..256 bytes) with expiry `expires` (Unix
 * seconds) under key and aad, writing the token text and a NUL to out.
 * Returns the token length, or -1 (bad payload length, cap too small, RNG or
 * cipher failure). */
long sticky_seal_raw(const uint8_t key[STICKY_KEY_LEN], const uint8_t *aad, size_t aad_len,
                     const uint8_t *id, size_t id_len, int64_t expires, char *out, size_t cap);

/* Opens token[0..len): base64url without padding, decoded length within
 * STICKY_RAW_MIN..MAX, version byte 0x01, authentic under key and aad,
 * embedded expiry > now, payload valid UTF-8. Copies the payload to id_out.
 * Returns the payload length, or -1 with a debug reason in *why (may be NULL). */
long sticky_open_raw(const uint8_t key[STICKY_KEY_LEN], const uint8_t *aad, size_t aad_len,
                     const char *token, size_t len, int64_t now, uint8_t id_out[STICKY_PAYLOAD_MAX],
                     const char **why);

/* Issues the token for upstream `index` of r, valid until `expires`, into out
 * (STICKY_TOKEN_LEN + 1 bytes suffice). Returns its length or -1. */
long sticky_seal(const struct sticky_route *r, size_t index, int64_t expires, char *out,
                 size_t cap);

/* Opens a cookie value for route r at time now. Returns the index of the
 * upstream it names, or -1 ("no valid cookie") with a debug reason in *why
 * (may be NULL). */
long sticky_open(const struct sticky_route *r, const char *token, size_t len, int64_t now,
                 const char **why);

/* Writes the Set-Cookie value
 *   rpxy_sticky_token=<token>; expires=<Www, DD-Mon-YYYY HH:MM:SS GMT>;
 *   Max-Age=<expires - now>; path=<path>; domain=<domain>; HttpOnly;
 *   SameSite=Lax[; Secure]
 * (one line) and a NUL into out; secure when the client-visible scheme is
 * https. Returns the length, or -1 if it does not fit or `expires` lies
 * outside years 0000-9999. */
long sticky_set_cookie(const struct sticky_route *r, const char *token, size_t token_len,
                       int64_t expires, int64_t now, bool secure, char *out, size_t cap);

/* Frees the calling thread's cipher context and wipes its copy of the key
 * (call at worker-thread exit; the next use creates a new one). */
void sticky_thread_cleanup(void);

#endif
