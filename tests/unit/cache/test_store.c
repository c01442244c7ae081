/* Unit tests for src/cache/key.c, entry.c, index.c and fill.c: the key,
 * Vary matching, the shared index (hits, evictions, LRU, key locks, reuse
 * across reloads) and both tiers of storing. */
#include "../tap.h"
#include "cache/entry.h"
#include "cache/fill.h"
#include "cache/index.h"
#include "cache/key.h"

#include <dirent.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOW 1700000000000LL
#define F(n, v)                                                                                    \
    {                                                                                              \
        n, sizeof(n) - 1, v, sizeof(v) - 1                                                         \
    }

static char dir[256];

static void keys(void)
{
    char k[64];
    long n = cache_key(true, "A.test:8443", 11, "/p?q", 4, k, sizeof(k));
    TAP_OK(n == 23 && memcmp(k, "https://A.test:8443/p?q", 23) == 0, "https key, host verbatim");
    n = cache_key(false, "a", 1, "/", 1, k, sizeof(k));
    TAP_OK(n == 9 && memcmp(k, "http://a/", 9) == 0, "http key");
    TAP_INT_EQ(cache_key(false, NULL, 0, "/", 1, k, sizeof(k)), -1, "no authority: bypass");
    TAP_INT_EQ(cache_key(false, "a", 1, "/long", 5, k, 8), -1, "no room");
}

static struct cache_entry *entry(const char *key, enum cache_method m, const struct http_field *req,
                                 size_t nreq, const struct http_field *res, size_t nres)
{
    struct cache_resp_facts facts;
    policy_read_response(&facts, 200, res, nres);
    struct cache_entry_input in = {
        .key = key,
        .key_len = strlen(key),
        .host = "h",
        .host_len = 1,
        .method = m,
        .req_fields = req,
        .n_req_fields = nreq,
        .status = 200,
        .fields = res,
        .n_fields = nres,
        .facts = &facts,
        .response_ms = NOW,
    };
    return cache_entry_new(&in);
}

static void vary(void)
{
    const struct http_field res[] = { F("cache-control", "max-age=60"),
                                      F("Vary", "Accept-Language, , X-A"), F("date", "x"),
                                      F("content-length", "3"), F("etag", "\"t\"") };
    const struct http_field req[] = { F("accept-language", "en"), F("x-a", "1"), F("X-A", "2") };
    struct cache_entry *e = entry("k", CACHE_GET, req, 3, res, 5);
    TAP_INT_EQ(e->n_vary, 2, "two Vary names, the empty one skipped");
    TAP_INT_EQ(e->n_fields, 3, "Date and Content-Length are not stored");
    TAP_OK(e->etag && e->etag_len == 3, "ETag kept for conditionals");
    TAP_OK(cache_entry_vary_matches(e, req, 3), "same values");
    const struct http_field fr[] = { F("Accept-Language", "fr"), F("x-a", "1"), F("x-a", "2") };
    TAP_OK(!cache_entry_vary_matches(e, fr, 3), "another value");
    const struct http_field joined[] = { F("accept-language", "en"), F("x-a", "1, 2") };
    TAP_OK(cache_entry_vary_matches(e, joined, 2), "lines joined with ', ' compare equal");
    const struct http_field one[] = { F("accept-language", "en"), F("x-a", "1") };
    TAP_OK(!cache_entry_vary_matches(e, one, 2), "a missing line");
    const struct http_field none[] = { F("x-a", "1"), F("x-a", "2") };
    TAP_OK(!cache_entry_vary_matches(e, none, 2), "a field absent now");
    cache_entry_unref(e);
    const struct http_field res2[] = { F("vary", "accept") };
    e = entry("k", CACHE_GET, NULL, 0, res2, 1);
    TAP_OK(cache_entry_vary_matches(e, NULL, 0), "absent then, absent now");
    const struct http_field acc[] = { F("accept", "x") };
    TAP_OK(!cache_entry_vary_matches(e, acc, 1), "absent then, present now");
    cache_entry_unref(e);
    char many[200] = "a";
    for (int i = 1; i <= CACHE_VARY_MAX; i++)
        strcat(many, ",a");
    const struct http_field res3[] = { { "vary", 4, many, strlen(many) } };
    TAP_OK(entry("k", CACHE_GET, acc, 1, res3, 1) == NULL, "too many Vary names: not stored");
}

static struct cfg_cache table(uint64_t entries, uint64_t each, uint64_t mem)
{
    return (struct cfg_cache){ .enabled = true,
                               .cache_dir = dir,
                               .max_cache_entry = entries,
                               .max_cache_each_size = each,
                               .max_cache_each_size_on_memory = mem };
}

static const struct http_field fresh[] = { F("cache-control", "max-age=60") };

static void store(struct cache *c, const char *key, enum cache_method m, const char *body)
{
    struct cache_fill *f = cache_fill_begin(c, entry(key, m, NULL, 0, fresh, 1), -1);
    if (body)
        cache_fill_body(f, body, strlen(body));
    cache_entry_unref(cache_fill_commit(f));
}

static enum cache_lookup find(struct cache *c, const char *key, enum cache_method m,
                              struct cache_key_lock *lock, struct cache_entry **hit)
{
    struct cache_req_facts req;
    policy_read_request(&req, m, NULL, 0);
    struct cache_query q = {
        .key = key,
        .key_len = strlen(key),
        .host = "h",
        .host_len = 1,
        .req = &req,
        .now_ms = NOW + 1000,
    };
    return cache_lookup(c, &q, lock, hit);
}

static size_t dir_files(void)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *de; d && (de = readdir(d));)
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void index_ops(void)
{
    char err[256];
    struct cfg_cache t = table(2, 100, 100);
    struct cache *c = cache_open(&t, err, sizeof(err));
    TAP_OK(c != NULL, "open");
    struct cache_entry *hit;
    TAP_INT_EQ(find(c, "a", CACHE_GET, NULL, &hit), CACHE_MISS, "empty: miss");
    store(c, "a", CACHE_GET, "A");
    store(c, "b", CACHE_GET, "B");
    TAP_INT_EQ(find(c, "a", CACHE_GET, NULL, &hit), CACHE_HIT, "hit");
    TAP_OK(hit->body_len == 1 && hit->body[0] == 'A', "memory body");
    store(c, "c", CACHE_GET, "C"); /* evicts b, the least recently used */
    TAP_INT_EQ(cache_count(c), 2, "at most max_cache_entry");
    struct cache_entry *h2;
    TAP_INT_EQ(find(c, "b", CACHE_GET, NULL, &h2), CACHE_MISS, "LRU victim gone");
    TAP_INT_EQ(find(c, "c", CACHE_GET, NULL, &h2), CACHE_HIT, "newest kept");
    cache_entry_unref(h2);
    store(c, "d", CACHE_GET, "D"); /* evicts a, while a hit still holds it */
    TAP_OK(hit->body[0] == 'A', "an evicted entry lives on while served");
    cache_entry_unref(hit);
    TAP_INT_EQ(find(c, "d", CACHE_HEAD, NULL, &hit), CACHE_MISS, "other method: miss");
    TAP_INT_EQ(find(c, "d", CACHE_GET, NULL, &hit), CACHE_MISS, "... and evicted");
    TAP_INT_EQ(cache_count(c), 1, "one left");

    struct cache_key_lock l1, l2;
    TAP_INT_EQ(find(c, "x", CACHE_GET, &l1, &hit), CACHE_MISS, "lock taken");
    TAP_INT_EQ(find(c, "x", CACHE_GET, &l2, &hit), CACHE_LOCKED, "second asker waits");
    TAP_INT_EQ(find(c, "x", CACHE_GET, NULL, &hit), CACHE_MISS, "without lock: miss");
    TAP_INT_EQ(find(c, "y", CACHE_GET, &l2, &hit), CACHE_MISS, "another key's lock");
    cache_unlock(c, &l1);
    TAP_INT_EQ(find(c, "x", CACHE_GET, &l1, &hit), CACHE_MISS, "released: taken again");
    cache_unlock(c, &l1);
    cache_unlock(c, &l2);

    struct cache *same = cache_carry(c, &t, err, sizeof(err));
    TAP_OK(same == c, "an unchanged table keeps the cache");
    cache_unref(same);
    struct cfg_cache t2 = table(3, 100, 100);
    struct cache *other = cache_carry(c, &t2, err, sizeof(err));
    TAP_OK(other && other != c && cache_count(other) == 0, "a changed table: a new, empty one");
    TAP_OK(cache_retired(c) && !cache_retired(other), "the replaced one is retired");
    store(c, "late", CACHE_GET, "L");
    struct cache_entry *late;
    TAP_INT_EQ(find(c, "late", CACHE_GET, NULL, &late), CACHE_MISS,
               "a retired cache stores nothing more");
    cache_unref(other);
    cache_unref(c);
}

static void shards(void)
{
    char err[256], key[32];
    struct cfg_cache t = table(4096, 100, 100);
    struct cache *c = cache_open(&t, err, sizeof(err));
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        store(c, key, CACHE_GET, "x");
    }
    TAP_INT_EQ(cache_count(c), 4096, "sharded: at most max_cache_entry");
    struct cache_entry *hit;
    TAP_INT_EQ(find(c, "k0", CACHE_GET, NULL, &hit), CACHE_MISS, "sharded: the oldest evicted");
    TAP_INT_EQ(find(c, "k4999", CACHE_GET, NULL, &hit), CACHE_HIT, "sharded: the newest kept");
    cache_entry_unref(hit);
    int kept = 0;
    for (int i = 4000; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        if (find(c, key, CACHE_GET, NULL, &hit) == CACHE_HIT) {
            kept++;
            cache_entry_unref(hit);
        }
    }
    TAP_INT_EQ(kept, 1000, "sharded: the last thousand all kept");
    cache_unref(c);
}

static void files(void)
{
    char err[256];
    struct cfg_cache t = table(10, 20, 4);
    struct cache *c = cache_open(&t, err, sizeof(err));
    store(c, "small", CACHE_GET, "1234");
    TAP_INT_EQ(dir_files(), 0, "at the memory limit: memory");
    store(c, "big", CACHE_GET, "12345");
    TAP_INT_EQ(dir_files(), 1, "over it: a file");
    struct cache_entry *hit;
    TAP_INT_EQ(find(c, "big", CACHE_GET, NULL, &hit), CACHE_HIT, "file hit");
    TAP_OK(hit->path && !hit->body, "file tier");
    unsigned char md[32];
    SHA256((const unsigned char *)"12345", 5, md);
    TAP_OK(memcmp(md, hit->sha256, 32) == 0, "digest of the body");
    const char *base = strrchr(hit->path, '/') + 1;
    unsigned long long pid, nanos, seq;
    char b64[64];
    TAP_OK(sscanf(base, "%43[A-Za-z0-9_-]-%llu-%llu-%llu", b64, &pid, &nanos, &seq) == 4 &&
               strlen(b64) == 43 && pid == (unsigned long long)getpid(),
           "file name <base64url(SHA-256(key))>-<pid>-<nanos>-<seq>");
    cache_drop(c, hit);
    TAP_INT_EQ(dir_files(), 0, "dropped: file deleted");
    cache_entry_unref(hit);

    struct cache_fill *f = cache_fill_begin(c, entry("over", CACHE_GET, NULL, 0, fresh, 1), -1);
    TAP_INT_EQ(cache_fill_body(f, "0123456789", 10), 0, "10 bytes: file");
    TAP_INT_EQ(dir_files(), 1, "a temporary file");
    TAP_INT_EQ(cache_fill_body(f, "01234567890", 11), -1, "past max_cache_each_size: stops");
    cache_fill_abort(f);
    TAP_INT_EQ(dir_files(), 0, "aborted: temporary file removed");
    TAP_OK(cache_fill_begin(c, entry("cl", CACHE_GET, NULL, 0, fresh, 1), 21) == NULL,
           "a known length over the cap is not even started");
    f = cache_fill_begin(c, entry("failed", CACHE_GET, NULL, 0, fresh, 1), -1);
    cache_fill_body(f, "0123456789012345678901", 22);
    cache_entry_unref(cache_fill_commit(f));
    TAP_INT_EQ(find(c, "failed", CACHE_GET, NULL, &hit), CACHE_MISS,
               "a failed fill commits nothing");
    store(c, "head", CACHE_HEAD, NULL);
    TAP_INT_EQ(find(c, "head", CACHE_HEAD, NULL, &hit), CACHE_HIT, "HEAD entry, no body");
    TAP_OK(hit->body_len == 0 && hit->content_length == NULL, "no length of its own");
    cache_entry_unref(hit);
    cache_unref(c);
    TAP_INT_EQ(dir_files(), 0, "last reference: files gone");
}

static void bad_dirs(void)
{
    char err[256], path[300];
    snprintf(path, sizeof(path), "%s/file", dir);
    FILE *fp = fopen(path, "w");
    fclose(fp);
    snprintf(path, sizeof(path), "%s/file/sub", dir);
    struct cfg_cache t = table(1, 1, 1);
    t.cache_dir = path;
    TAP_OK(cache_open(&t, err, sizeof(err)) == NULL && strstr(err, "cannot create"),
           "a directory under a file cannot be created");
    t.cache_dir = "/";
    TAP_OK(cache_open(&t, err, sizeof(err)) == NULL, "refuses to wipe /");
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/rpxy-test-cache-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    keys();
    vary();
    index_ops();
    shards();
    files();
    bad_dirs();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return tap_done();
}
