/* The storing side of the two tiers. */
#include "cache/fill.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"

struct cache_fill {
    struct cache *c;
    struct cache_entry *e;
    uint64_t len;
    char *mem; /* memory tier, until it outgrows it */
    size_t cap;
    int fd; /* file tier: the temporary file, or -1 */
    char *path, *tmp;
    EVP_MD_CTX *sha;
    bool failed;
};

struct cache_fill *cache_fill_begin(struct cache *c, struct cache_entry *e, int64_t expect)
{
    const struct cfg_cache *t = cache_settings(c);
    if (expect >= 0 && (uint64_t)expect > t->max_cache_each_size) {
        cache_entry_unref(e);
        return NULL;
    }
    struct cache_fill *f = calloc(1, sizeof(*f));
    if (!f) {
        cache_entry_unref(e);
        return NULL;
    }
    f->c = c;
    cache_ref(c);
    f->e = e;
    f->fd = -1;
    if (expect > 0 && (uint64_t)expect <= t->max_cache_each_size_on_memory) {
        f->mem = malloc((size_t)expect);
        f->cap = f->mem ? (size_t)expect : 0;
    }
    return f;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Moves the body from memory to a new temporary file. */
static int spill(struct cache_fill *f)
{
    f->path = cache_file_name(f->c, f->e->key, f->e->key_len);
    size_t n = f->path ? strlen(f->path) + 5 : 0;
    f->tmp = n ? malloc(n) : NULL;
    f->sha = EVP_MD_CTX_new();
    if (!f->tmp || !f->sha || !EVP_DigestInit_ex(f->sha, EVP_sha256(), NULL))
        return -1;
    snprintf(f->tmp, n, "%s.tmp", f->path);
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        log_warn("Cache: cannot create %s: %s", f->tmp, strerror(errno));
        return -1;
    }
    if (f->len && (write_all(f->fd, f->mem, (size_t)f->len) < 0 ||
                   !EVP_DigestUpdate(f->sha, f->mem, (size_t)f->len)))
        return -1;
    free(f->mem);
    f->mem = NULL;
    f->cap = 0;
    return 0;
}

static int to_memory(struct cache_fill *f, const char *p, size_t n)
{
    if (f->len + n > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < f->len + n)
            cap *= 2;
        char *m = realloc(f->mem, cap);
        if (!m)
            return -1;
        f->mem = m;
        f->cap = cap;
    }
    memcpy(f->mem + f->len, p, n);
    return 0;
}

int cache_fill_body(struct cache_fill *f, const char *p, size_t n)
{
    const struct cfg_cache *t = cache_settings(f->c);
    if (f->failed || f->len + n > t->max_cache_each_size) {
        f->failed = true;
        return -1;
    }
    if (f->fd < 0 && f->len + n > t->max_cache_each_size_on_memory && spill(f) < 0) {
        f->failed = true;
        return -1;
    }
    int rc = f->fd >= 0 ? (write_all(f->fd, p, n) < 0 || !EVP_DigestUpdate(f->sha, p, n) ? -1 : 0)
                        : to_memory(f, p, n);
    if (rc < 0) {
        if (f->fd >= 0)
            log_warn("Cache: cannot write %s: %s; not storing it", f->tmp, strerror(errno));
        f->failed = true;
        return -1;
    }
    f->len += n;
    return 0;
}

static void fill_free(struct cache_fill *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmp && f->fd >= 0)
        unlink(f->tmp);
    EVP_MD_CTX_free(f->sha);
    free(f->mem);
    free(f->path);
    free(f->tmp);
    cache_entry_unref(f->e);
    cache_unref(f->c);
    free(f);
}

void cache_fill_abort(struct cache_fill *f)
{
    if (f)
        fill_free(f);
}

struct cache_entry *cache_fill_commit(struct cache_fill *f)
{
    if (f->failed || cache_retired(f->c)) {
        fill_free(f);
        return NULL;
    }
    struct cache_entry *e = f->e;
    if (f->fd < 0) {
        cache_entry_set_body(e, f->mem, NULL, f->len, NULL);
        f->mem = NULL;
    } else {
        unsigned char md[CACHE_SHA256_LEN];
        unsigned int mdl = 0;
        int rc = close(f->fd);
        f->fd = -1;
        if (rc < 0 || !EVP_DigestFinal_ex(f->sha, md, &mdl) || rename(f->tmp, f->path) < 0) {
            unlink(f->tmp);
            fill_free(f);
            return NULL;
        }
        cache_entry_set_body(e, NULL, f->path, f->len, md);
        f->path = NULL;
    }
    f->e = NULL;
    cache_entry_ref(e);
    cache_insert(f->c, e);
    fill_free(f);
    return e;
}
