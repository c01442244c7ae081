/* State shared by the main thread and the workers: the published runtime
 * and listener set, connection counters and the per-IP table. Workers take
 * references to the runtime/listeners only under `lock`, and only when the
 * generation changed, so the request path takes no lock. */
#ifndef RPXY_CORE_SERVER_H
#define RPXY_CORE_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

struct runtime;
struct tls_sni_table;
struct worker;

/* One listening address: a socket per worker (SO_REUSEPORT). */
struct lset_entry {
    struct ip_addr addr;
    uint16_t port;
    bool tls;
    bool udp; /* QUIC (HTTP/3) on the TLS port */
    int *fds; /* n_workers */
};

struct lset {
    atomic_long refs;
    size_t n;
    struct lset_entry *entries;
    size_t n_workers;
};

struct server {
    pthread_mutex_t lock;
    struct runtime *runtime;   /* under lock; the server holds one reference */
    struct lset *lset;         /* under lock; the server holds one reference */
    struct tls_sni_table *tls; /* under lock: certificates for new handshakes, or NULL */
    atomic_uint generation;    /* bumped after each publish */
    atomic_bool draining;      /* graceful shutdown: stop accepting, close idle */
    atomic_bool force_stop;    /* drain deadline passed: close everything */

    atomic_long clients; /* connections counted against max_clients */
    pthread_mutex_t per_ip_lock;
    struct per_ip_table *per_ip;

    struct worker **workers;
    size_t n_workers;
};

extern struct server g_server;

/* Publishes rt and ls (taking over the caller's references; either may be
 * NULL to keep the current one) and wakes every worker. */
void server_publish(struct runtime *rt, struct lset *ls);

/* Publishes the certificate set (taking over the caller's reference) and
 * wakes every worker. */
void server_publish_tls(struct tls_sni_table *t);

/* The current runtime/listener set/certificate set with a new reference
 * (worker side); NULL when none was published. */
struct runtime *server_acquire_runtime(void);
struct lset *server_acquire_lset(void);
struct tls_sni_table *server_acquire_tls(void);

void lset_unref(struct lset *ls);

/* A max_clients slot (SPEC 11: an h1/h2 connection, an h3 request stream).
 * Returns false (nothing taken) when max are taken already. */
bool server_client_acquire(uint32_t max);
void server_client_release(void);

/* Per-IP connection slots (max_clients_per_ip). Returns false when ip has
 * `limit` connections already (limit 0 = no limit, always true). */
bool server_ip_acquire(const struct ip_addr *ip, uint32_t limit);
void server_ip_release(const struct ip_addr *ip, uint32_t limit);

#endif
