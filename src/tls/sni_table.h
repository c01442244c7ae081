/* The certificate set served for new handshakes: one OpenSSL context per
 * app that has a usable certificate, found by the client's SNI. Built by the
 * main thread (tls/cert_store.c), published through core/server.c, read by
 * workers; reference-counted, never changed after publishing. A handshake in
 * progress holds its own reference to the context it uses (OpenSSL's), so a
 * table can go while connections made with it live on. */
#ifndef RPXY_TLS_SNI_TABLE_H
#define RPXY_TLS_SNI_TABLE_H

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct tls_site {
    char *server_name; /* lower-case */
    SSL_CTX *ctx;
    bool mtls;
    unsigned char digest[32]; /* of the files the context was built from */
};

struct tls_sni_table {
    atomic_long refs;
    size_t n;
    struct tls_site *sites; /* sorted by server_name */
};

/* An empty table with one reference; NULL when out of memory. */
struct tls_sni_table *sni_table_new(size_t cap);

/* Adds a site, taking a reference to ctx. Keep calling in any order; call
 * sni_table_seal() once before publishing. Returns 0 or -1. */
int sni_table_add(struct tls_sni_table *t, const char *server_name, SSL_CTX *ctx, bool mtls,
                  const unsigned char digest[32]);
void sni_table_seal(struct tls_sni_table *t);

const struct tls_site *sni_table_find(const struct tls_sni_table *t, const char *name);

static inline void sni_table_ref(struct tls_sni_table *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void sni_table_unref(struct tls_sni_table *t);

#endif
