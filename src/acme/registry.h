/* The ACME registry on disk (SPEC 10), laid out as rpxy lays it out:
 *   <registry>/accounts/cached_account_<H(mailto:<email>, dir_url)>
 *   <registry>/<domain>/cached_cert_<H(<domain>, dir_url)>
 * where H(a, b) = base64url-no-pad(SHA-256(a 0x00 b)) and dir_url is the
 * normalised URL (lower case, "/" path when it has none). New directories
 * are made 0700 and new files 0600; an existing file keeps its mode.
 *
 * Two rpxy quirks are fixed here: the registry path is used as written by
 * both the writer and the reader (rpxy lower-cases it in one of them only),
 * and the normalised dir_url names the same file for both. */
#ifndef RPXY_ACME_REGISTRY_H
#define RPXY_ACME_REGISTRY_H

#include <stddef.h>

struct cfg;
struct cfg_acme;

/* The dir_url that goes into file names: lower-cased, "https://host" ->
 * "https://host/". */
void acme_dir_url_normalize(const char *dir_url, char *out, size_t cap);

/* H(a, b) into out (44 bytes at least). */
void acme_registry_hash(const char *a, const char *b, char *out);

/* Paths into out; return 0, or -1 when they do not fit. */
int acme_registry_account_path(const struct cfg_acme *acme, char *out, size_t cap);
int acme_registry_cert_path(const struct cfg_acme *acme, const char *domain, char *out, size_t cap);

/* Does cfg use ACME at all (the section and an app with tls.acme)? */
int acme_in_use(const struct cfg *cfg);

/* The start-up checks of SPEC 10: the registry is a directory (or absent),
 * and for every ACME domain <registry>/accounts and <registry>/<domain> can
 * be made and written. Returns 0, or -1 with rpxy's message in err. */
int acme_registry_check(const struct cfg *cfg, char *err, size_t errlen);

/* Writes data to path through a temporary file and a rename, so a full disk
 * or a crash never leaves a half-written file in place of a good one. Mode
 * 0600, or the mode of the file it replaces. Returns 0, or -1 with err. */
int acme_registry_write(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* Reads a whole file of at most max bytes (malloc'd, NUL-terminated). NULL
 * with errno set (ENOENT when absent, EFBIG when too large). */
char *acme_registry_read(const char *path, size_t max, size_t *len);

#endif
