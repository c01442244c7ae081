#include "tls/sni_table.h"

#include <stdlib.h>
#include <string.h>

struct tls_sni_table *sni_table_new(size_t cap)
{
    struct tls_sni_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->sites = calloc(cap ? cap : 1, sizeof(*t->sites));
    if (!t->sites) {
        free(t);
        return NULL;
    }
    atomic_init(&t->refs, 1);
    return t;
}

int sni_table_add(struct tls_sni_table *t, const char *server_name, SSL_CTX *ctx, bool mtls,
                  const unsigned char digest[32])
{
    char *name = strdup(server_name);
    if (!name || SSL_CTX_up_ref(ctx) != 1) {
        free(name);
        return -1;
    }
    struct tls_site *s = &t->sites[t->n++];
    s->server_name = name;
    s->ctx = ctx;
    s->mtls = mtls;
    memcpy(s->digest, digest, sizeof(s->digest));
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct tls_site *)a)->server_name,
                  ((const struct tls_site *)b)->server_name);
}

void sni_table_seal(struct tls_sni_table *t)
{
    qsort(t->sites, t->n, sizeof(*t->sites), by_name);
}

const struct tls_site *sni_table_find(const struct tls_sni_table *t, const char *name)
{
    struct tls_site key = { .server_name = (char *)name };
    return bsearch(&key, t->sites, t->n, sizeof(*t->sites), by_name);
}

void sni_table_unref(struct tls_sni_table *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->sites[i].server_name);
        SSL_CTX_free(t->sites[i].ctx);
    }
    free(t->sites);
    free(t);
}
