#include "acme/registry.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "util/base64url.h"

void acme_dir_url_normalize(const char *dir_url, char *out, size_t cap)
{
    size_t n = 0;
    for (; dir_url[n] && n + 2 < cap; n++)
        out[n] = (char)tolower((unsigned char)dir_url[n]);
    out[n] = '\0';
    const char *host = strstr(out, "://");
    host = host ? host + 3 : out;
    if (!strchr(host, '/') && !strchr(host, '?') && !strchr(host, '#') && n + 1 < cap) {
        out[n] = '/';
        out[n + 1] = '\0';
    }
}

void acme_registry_hash(const char *a, const char *b, char *out)
{
    unsigned char md[32];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char zero = 0;
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(c, a, strlen(a)) != 1 || EVP_DigestUpdate(c, &zero, 1) != 1 ||
        EVP_DigestUpdate(c, b, strlen(b)) != 1 || EVP_DigestFinal_ex(c, md, NULL) != 1)
        memset(md, 0, sizeof(md));
    EVP_MD_CTX_free(c);
    b64url_encode(md, sizeof(md), out);
}

int acme_registry_account_path(const struct cfg_acme *acme, char *out, size_t cap)
{
    char url[2048], contact[1024], h[48];
    acme_dir_url_normalize(acme->dir_url, url, sizeof(url));
    snprintf(contact, sizeof(contact), "mailto:%s", acme->email);
    acme_registry_hash(contact, url, h);
    int n = snprintf(out, cap, "%s/accounts/cached_account_%s", acme->registry_path, h);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int acme_registry_cert_path(const struct cfg_acme *acme, const char *domain, char *out, size_t cap)
{
    char url[2048], h[48];
    acme_dir_url_normalize(acme->dir_url, url, sizeof(url));
    acme_registry_hash(domain, url, h);
    int n = snprintf(out, cap, "%s/%s/cached_cert_%s", acme->registry_path, domain, h);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int acme_in_use(const struct cfg *cfg)
{
    if (!cfg->acme.enabled)
        return 0;
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (cfg->apps[i].tls.enabled && cfg->apps[i].tls.acme)
            return 1;
    return 0;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *path)
{
    char buf[4096];
    int n = snprintf(buf, sizeof(buf), "%s", path);
    if (n <= 0 || (size_t)n >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(buf, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Creates dir and writes and deletes a probe file in it. */
static int probe_dir(const char *dir)
{
    if (make_dirs(dir) < 0)
        return -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char probe[4200];
    snprintf(probe, sizeof(probe), "%s/.write_test_%ld_%lld%09ld", dir, (long)getpid(),
             (long long)ts.tv_sec, ts.tv_nsec);
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int ok = write(fd, "ok", 2) == 2;
    int e = errno;
    close(fd);
    unlink(probe);
    if (!ok) {
        errno = e ? e : EIO;
        return -1;
    }
    return 0;
}

int acme_registry_check(const struct cfg *cfg, char *err, size_t errlen)
{
    const char *reg = cfg->acme.registry_path;
    struct stat st;
    if (stat(reg, &st) == 0 && !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "Invalid acme registry path");
        return -1;
    }
    char dir[4200];
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const struct cfg_app *app = &cfg->apps[i];
        if (!app->tls.enabled || !app->tls.acme)
            continue;
        snprintf(dir, sizeof(dir), "%s/accounts", reg);
        int r = probe_dir(dir);
        if (r == 0) {
            snprintf(dir, sizeof(dir), "%s/%s", reg, app->server_name);
            r = probe_dir(dir);
        }
        if (r < 0) {
            snprintf(err, errlen, "Cannot write certificates for domain '%s' to '%s': %s",
                     app->server_name, reg, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int acme_registry_write(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    char dir[4096], tmp[4200];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (make_dirs(dir) < 0) {
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
            return -1;
        }
    }
    mode_t mode = 0600;
    struct stat st;
    if (stat(path, &st) == 0)
        mode = st.st_mode & 07777;
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    const char *p = data;
    size_t left = len;
    int e = 0;
    while (left && !e) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            e = n < 0 ? errno : EIO;
        else {
            p += n;
            left -= (size_t)n;
        }
    }
    if (!e && fchmod(fd, mode) < 0)
        e = errno;
    if (!e && fsync(fd) < 0)
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) < 0)
        e = errno;
    if (e) {
        unlink(tmp);
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

char *acme_registry_read(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad || n > max) {
        free(buf);
        errno = bad ? EIO : EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
